/*
 * The small notices a driver reports outside the message queue: XEP-0184
 * receipts and XEP-0085 chat states. Sent at once while the component link
 * is up. While it is down (libstrophe would drop them unsent), a receipt
 * waits in the durable queue like a message (it says a message was
 * delivered: losing it would make the user believe the contrary), and a
 * chat state waits in memory, only the latest of each conversation: it is
 * the contact's current state, which the user sees once the link is back;
 * the states before it no longer say anything, and a crash losing it costs
 * only a typing indicator (they carry no-store for the same reason).
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "core.h"
#include "stanza.h"
#include "strmap.h"
#include "users.h"

/* Conversations whose chat state is held, at most; the rest wait for the next one. */
#define HELD_STATES_MAX 10000

void
gw_receipt(struct gw_net *net, const char *user, const char *from, const char *xmpp_id)
{
	char *fj;
	xmpp_stanza_t *m;

	if (xmpp_id == NULL || user == NULL || from == NULL)
		return;
	if (!gw_net_online(net)) {
		if (delivery_queue_receipt(net, user, from, xmpp_id) == -1)
			log_warnx("%s: could not store a receipt for %s", net->drv->name, user);
		return;
	}
	fj = gateway_address_jid(net, from, NULL);
	m = stanza_message("chat", fj, user, NULL, NULL);
	xmpp_stanza_set_attribute(stanza_add_child(m, "received", "urn:xmpp:receipts"), "id",
	                          xmpp_id);
	gateway_send_release(net, m);
	free(fj);
}

void
delivery_add_chat_state(xmpp_stanza_t *m, enum gw_chatstate cs)
{
	static const char *const names[] = {"active", "composing", "paused", "inactive", "gone"};

	stanza_add_child(m, names[cs], "http://jabber.org/protocol/chatstates");
	stanza_add_child(m, "no-store", "urn:xmpp:hints");
}

static void
send_chat_state(struct gw_net *net, const char *user, const char *from, enum gw_chatstate cs)
{
	char *fj = gateway_address_jid(net, from, NULL);
	xmpp_stanza_t *m = stanza_message("chat", fj, user, NULL, NULL);

	delivery_add_chat_state(m, cs);
	gateway_send_release(net, m);
	free(fj);
}

void
gw_chat_state(struct gw_net *net, const char *user, const char *from, enum gw_chatstate cs)
{
	char *key;

	if (user == NULL || from == NULL || (unsigned)cs > GW_CS_GONE)
		return;
	if (gw_net_online(net)) {
		send_chat_state(net, user, from, cs);
		return;
	}
	if (net->held_states == NULL)
		net->held_states = strmap_new();
	/* A user's JID never holds \x1f (stringprep forbids controls). */
	key = xconcat(user, "\x1f", from, (char *)NULL);
	if (strmap_get(net->held_states, key) != NULL ||
	    strmap_count(net->held_states) < HELD_STATES_MAX)
		strmap_put(net->held_states, key, (void *)(intptr_t)(cs + 1));
	free(key);
}

static void
send_held_cb(const char *key, void *value, void *arg)
{
	struct gw_net *net = arg;
	const char *sep = strchr(key, '\x1f');
	char *user;

	if (sep == NULL)
		return;
	user = xstrndup(key, (size_t)(sep - key));
	send_chat_state(net, user, sep + 1, (enum gw_chatstate)((intptr_t)value - 1));
	free(user);
}

void
notices_online(struct gw_net *net)
{
	struct strmap *held = net->held_states;

	if (held == NULL)
		return;
	net->held_states = NULL;
	log_info("%s: %zu held chat states sent", net->drv->name, strmap_count(held));
	strmap_foreach(held, send_held_cb, net);
	strmap_free(held, NULL);
}

void
notices_free(struct gw_net *net)
{
	strmap_free(net->held_states, NULL);
	net->held_states = NULL;
}
