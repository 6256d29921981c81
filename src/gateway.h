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
/*
 * net->section is the reloaded one: what the core derives from it (caps,
 * avatar) is made again and the driver told. -1 when the driver failed.
 */
struct gw_net;
int gateway_reload(struct gw_net *);

#endif
