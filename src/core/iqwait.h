/*
 * iqs the core sends and waits on (iqwait.c): the callback runs once, with
 * the reply (result or error) or NULL when none came in time.
 */
#ifndef SG_IQWAIT_H
#define SG_IQWAIT_H

#include <stdbool.h>
#include <strophe.h>

struct gw_net;
struct iqwait;

/* reply is valid during the call only; NULL: timed out. */
typedef void (*iqwait_cb)(void *arg, xmpp_stanza_t *reply);

/*
 * Sends iq (its 'to' and type set; id and 'from' are set here) on net's
 * link and waits up to timeout seconds. NULL when the link is down: cb is
 * then never called. iq is not released.
 */
struct iqwait *iqwait_send(struct gw_net *, xmpp_stanza_t *iq, int timeout, iqwait_cb, void *arg);
/* Forgets the iq: its callback will not run. */
void iqwait_cancel(struct iqwait *);
/* A result or error iq arrived: true when it was ours (its callback ran, or a spoof dropped). */
bool iqwait_dispatch(struct gw_net *, xmpp_stanza_t *iq);
/* Every iq still waiting is answered NULL (its callback runs). */
void iqwait_shutdown(void);

#endif
