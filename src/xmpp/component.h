/*
 * The XMPP link: one XEP-0114 component connection per enabled gateway,
 * all in one libstrophe context driven from the libevent loop.
 *
 * libstrophe's traps (SPEC section 9) are handled here and nowhere else:
 * its stream-management crash in component mode, select() aborting on a
 * descriptor >= 1024, blocking DNS, no reconnection, silent drops while
 * offline. Callers learn whether a stanza went out (component_send() is -1
 * while offline) and can ask for a barrier: a callback once the server has
 * processed everything sent before it.
 */
#ifndef SG_COMPONENT_H
#define SG_COMPONENT_H

#include <stdbool.h>
#include <strophe.h>

struct event_base;
struct evdns_base;
struct component;

struct component_cbs {
	void (*stanza)(void *arg, xmpp_stanza_t *stanza); /* every stanza received */
	void (*online)(void *arg);                        /* handshake done */
	void (*offline)(void *arg);                       /* link lost (reconnect pending) */
};

/* Creates the shared libstrophe context; library logs go to ours. */
void component_global_init(struct event_base *);
void component_global_shutdown(void);
xmpp_ctx_t *component_ctx(void);
/* The daemon's asynchronous resolver, or NULL when none is configured. */

/*
 * A component for jid, connecting to server:port (a name is resolved
 * asynchronously). Strings are copied. reconnect_max: the longest backoff
 * between attempts, in seconds.
 */
struct component *component_new(const char *jid, const char *secret, const char *server,
                                unsigned short port, int reconnect_max,
                                const struct component_cbs *cbs, void *arg);
void component_start(struct component *);
/* Flushes what is queued and closes the stream. */
void component_stop(struct component *);
void component_free(struct component *);

bool component_is_online(const struct component *);
/* Stanzas written but not yet on the socket (back-pressure for bulk sends). */
size_t component_send_queue_len(const struct component *);
const char *component_jid(const struct component *);
/* Sends stanza (not released; the caller keeps its reference). -1 when offline: nothing sent. */
int component_send(struct component *, xmpp_stanza_t *stanza);
/*
 * Calls cb(arg, true) once the server has processed every stanza sent
 * before this call, or cb(arg, false) if the link drops first. -1 when
 * offline (cb is not called).
 */
int component_barrier(struct component *, void (*cb)(void *arg, bool done), void *arg);
/* The longest backoff between attempts, in seconds (reloadable). */
void component_set_reconnect_max(struct component *, int seconds);
/* Bytes sent and received, stanzas in each direction (for stats). */
void component_counters(const struct component *, unsigned long *in, unsigned long *out);
/* Handshakes the XMPP server accepted since start: reconnects are this minus one. */
unsigned long component_connects(const struct component *);

#endif
