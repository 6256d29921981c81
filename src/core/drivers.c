/*
 * The one list of compiled-in backends. A backend joins it here, behind its
 * automake conditional, and nowhere else.
 */
#include "config.h"

#include "drivers.h"

extern const struct gw_driver echo_driver;
#ifdef WITH_IRC_DRIVER
extern const struct gw_driver irc_driver;
#endif
#ifdef WITH_SMS_DRIVER
extern const struct gw_driver sms_driver;
#endif
#ifdef WITH_EMAIL_DRIVER
extern const struct gw_driver email_driver;
#endif

const struct gw_driver *const gw_drivers[] = {
        &echo_driver,
#ifdef WITH_IRC_DRIVER
        &irc_driver,
#endif
#ifdef WITH_SMS_DRIVER
        &sms_driver,
#endif
#ifdef WITH_EMAIL_DRIVER
        &email_driver,
#endif
};

const size_t gw_ndrivers = sizeof(gw_drivers) / sizeof(gw_drivers[0]);
