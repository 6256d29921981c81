/* The backends compiled into this build (drivers.c). */
#ifndef SG_DRIVERS_H
#define SG_DRIVERS_H

#include <stddef.h>

#include "driver.h"

extern const struct gw_driver *const gw_drivers[];
extern const size_t gw_ndrivers;

#endif
