/*
 * The mail servers a domain publishes in DNS (RFC 6186 SRV records, with
 * RFC 8314's implicit-TLS names), for a registration that leaves the IMAP
 * or SMTP server empty.
 */
#ifndef SG_MAILDISCOVER_H
#define SG_MAILDISCOVER_H

#include <stdbool.h>

#include "driver.h"

/*
 * The URL of the best record, NULL when there is none (newly allocated).
 * tls are the implicit-TLS service's records (_imaps, _submissions) and
 * become tls_scheme://; starttls the STARTTLS service's (_imap,
 * _submission) and become starttls_scheme://. The lowest priority wins;
 * on a tie implicit TLS (RFC 8314 §5.1), then the heaviest. Both lists are
 * sorted as gw_resolve_srv() gives them.
 */
char *mail_srv_pick(const struct gw_srv_record *tls, size_t ntls, const char *tls_scheme,
                    const struct gw_srv_record *starttls, size_t nstarttls,
                    const char *starttls_scheme);

struct mail_discover;
/*
 * imap, smtp: the URLs found for what was asked (NULL: none published);
 * why: set when a lookup failed (readable). Valid during the call only.
 */
typedef void mail_discover_cb(void *arg, const char *imap, const char *smtp, const char *why);
/* Looks up what is asked for domain; cb runs once, in a later loop turn, unless cancelled. */
struct mail_discover *mail_discover(const char *domain, bool imap, bool smtp, mail_discover_cb *cb,
                                    void *arg);
void mail_discover_cancel(struct mail_discover *);

#endif
