/*
 * The daemon's resolvers (resolve.c): one evdns base for addresses, one
 * c-ares channel for service records. The backends' side is in driver.h
 * (gw_dns_base, gw_resolve_srv).
 */
#ifndef SG_RESOLVE_H
#define SG_RESOLVE_H

struct event_base;

/*
 * Start both on base, with these name servers ("addr" or "addr:port",
 * NULL or empty: /etc/resolv.conf's). -1 when one is not an address.
 */
int resolve_init(struct event_base *base, const char *const *nameservers);
/* Frees both; waiting SRV queries are dropped without their callback. */
void resolve_shutdown(void);

#endif
