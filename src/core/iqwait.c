/*
 * The iqs the core itself sends and waits on: a XEP-0363 slot request, the
 * disco of a user's server. Each gets a callback that runs exactly once,
 * with the reply or with NULL when none came in time; only a reply from
 * the JID the iq went to counts, so nobody else can answer for it.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "core.h"
#include "iqwait.h"
#include "log.h"
#include "stanza.h"
#include "strmap.h"
#include "xmalloc.h"

struct iqwait {
	char *id;
	char *peer; /* the iq's 'to' */
	struct event *timer;
	iqwait_cb cb;
	void *arg;
};

static struct strmap *waiting; /* id -> struct iqwait */

static void drop(void *);

static void
iqwait_free(struct iqwait *w)
{
	strmap_del(waiting, w->id);
	drop(w);
}

static void
timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct iqwait *w = arg;
	iqwait_cb cb = w->cb;
	void *cbarg = w->arg;

	(void)fd;
	(void)what;
	log_debug("iq %s to %s: no answer in time", w->id, w->peer);
	iqwait_free(w);
	cb(cbarg, NULL);
}

struct iqwait *
iqwait_send(struct gw_net *net, xmpp_stanza_t *iq, int timeout, iqwait_cb cb, void *arg)
{
	struct timeval tv = {timeout, 0};
	struct iqwait *w;
	char *id = stanza_new_id();

	xmpp_stanza_set_id(iq, id);
	xmpp_stanza_set_from(iq, net->jid);
	if (gateway_send(net, iq) == -1) {
		free(id);
		return NULL;
	}
	if (waiting == NULL)
		waiting = strmap_new();
	w = xcalloc(1, sizeof(*w));
	w->id = id;
	w->peer = xstrdup(xmpp_stanza_get_to(iq));
	w->cb = cb;
	w->arg = arg;
	w->timer = evtimer_new(core.base, timeout_cb, w);
	evtimer_add(w->timer, &tv);
	strmap_put(waiting, id, w);
	return w;
}

void
iqwait_cancel(struct iqwait *w)
{
	if (w)
		iqwait_free(w);
}

bool
iqwait_dispatch(struct gw_net *net, xmpp_stanza_t *iq)
{
	const char *id = xmpp_stanza_get_id(iq), *from = xmpp_stanza_get_from(iq);
	struct iqwait *w;
	iqwait_cb cb;
	void *arg;

	(void)net;
	if (waiting == NULL || id == NULL || (w = strmap_get(waiting, id)) == NULL)
		return false;
	if (from == NULL || strcasecmp(from, w->peer) != 0) {
		log_debug("iq %s: an answer from %s, not from %s, ignored", id, from ? from : "?",
		          w->peer);
		return true;
	}
	cb = w->cb;
	arg = w->arg;
	iqwait_free(w);
	cb(arg, iq);
	return true;
}

static void
drop(void *value)
{
	struct iqwait *w = value;

	event_free(w->timer);
	free(w->id);
	free(w->peer);
	free(w);
}

static void
first(const char *key, void *value, void *arg)
{
	struct iqwait **w = arg;

	(void)key;
	if (*w == NULL)
		*w = value;
}

void
iqwait_shutdown(void)
{
	/* Every waiter hears "no answer", so nothing it holds is left behind. */
	while (waiting && strmap_count(waiting) > 0) {
		struct iqwait *w = NULL;
		iqwait_cb cb;
		void *arg;

		strmap_foreach(waiting, first, &w);
		cb = w->cb;
		arg = w->arg;
		iqwait_free(w);
		cb(arg, NULL);
	}
	if (waiting)
		strmap_free(waiting, NULL);
	waiting = NULL;
}
