/*
 * The store's outage (issue 12 §1): PostgreSQL went away under the
 * gateway. The foreign links stay up; what cannot be stored is refused
 * with an error (delivery.c, aftercommit.c, the drivers); this file makes
 * the outage visible and ends it:
 *
 *   - every second it asks the store whether it knows itself unreachable,
 *     and if so lets it try to reconnect (the store's own backoff decides
 *     whether an attempt is due, and logs each one);
 *   - on the change to unreachable every online user of every gateway is
 *     told once: a chat message from the gateway's JID and its presence
 *     "dnd" with a status saying why (a user logging in meanwhile gets that
 *     presence too: presence_gateway() asks outage_status());
 *   - on the change back they are told once more, the gateway's presence
 *     is available again, the queues are scanned and the deletes that
 *     failed meanwhile are done.
 *
 * The store notices the loss at its next statement, so an idle gateway
 * learns of an outage when it next has something to store.
 */
#include "config.h"

#include <time.h>

#include <event2/event.h>

#include "core.h"
#include "stanza.h"
#include "store.h"
#include "users.h"

#define STATUS_DOWN "Degraded: the gateway cannot reach its database"

static struct event *ev_watch;
static bool down;
static time_t down_since;

const char *
outage_status(void)
{
	return down ? STATUS_DOWN : NULL;
}

static void
tell_user(const char *user, void *arg)
{
	struct gw_net *net = arg;
	const char *text =
	        down ? "This gateway cannot reach its database right now. Messages you send "
	               "meanwhile may be refused (each one with an error), and messages from "
	               "the other side may be refused or wait. Nothing already accepted is "
	               "lost. You will be told when the service is back."
	             : "This gateway's database is reachable again: the service is back to "
	               "normal. Messages that were refused meanwhile can be sent again.";

	presence_gateway(net, user, NULL); /* dnd with STATUS_DOWN while down */
	gateway_send_release(net, stanza_message("chat", net->jid, user, NULL, text));
}

static void
changed(void)
{
	if (down) {
		down_since = time(NULL);
		log_warnx("store: unreachable: telling the online users the service is degraded");
	} else
		log_info("store: reachable again after %lld s: telling the online users",
		         (long long)(time(NULL) - down_since));
	for (size_t i = 0; i < core.nnets; i++) {
		gateway_foreach_online(core.nets[i], tell_user, core.nets[i]);
		if (!down && core.nets[i]->delivery)
			delivery_rescan(core.nets[i]);
	}
}

static void
watch_cb(evutil_socket_t fd, short what, void *arg)
{
	bool now_down;

	(void)fd;
	(void)what;
	(void)arg;
	now_down = store_unreachable(core.store) && store_reconnect(core.store) == -1;
	if (now_down != down) {
		down = now_down;
		changed();
	}
	if (!down)
		aftercommit_retry_deletes();
}

void
outage_start(void)
{
	struct timeval tv = {1, 0};

	ev_watch = event_new(core.base, -1, EV_PERSIST, watch_cb, NULL);
	event_add(ev_watch, &tv);
}

void
outage_stop(void)
{
	if (ev_watch)
		event_free(ev_watch);
	ev_watch = NULL;
}
