/*
 * The router (gateway.c): one gw_net per enabled backend, created, started,
 * stopped and freed here; every stanza on a link is routed from here.
 */
#ifndef SG_GATEWAY_H
#define SG_GATEWAY_H

int gateway_create_all(void);
void gateway_start_all(void);
void gateway_stop_all(void);
void gateway_free_all(void);

#endif
