/*
 * What a user's contacts on a network show: the answer to the probes the
 * user's server sends them (the user logs in), the changes a driver pushes
 * (gw_presence(), gw_contacts_changed()), every contact told again when a
 * restarted gateway learns that the user is online, and unavailable from
 * each when the gateway goes away. What a contact shows is the driver's
 * (contact_presence); an available contact carries the network's caps.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "core.h"
#include "stanza.h"
#include "store.h"
#include "strmap.h"
#include "users.h"
#include "xmltext.h"

static const char *const show_names[GW_SHOW_UNKNOWN + 1] = {
        [GW_SHOW_AWAY] = "away",
        [GW_SHOW_XA] = "xa",
        [GW_SHOW_DND] = "dnd",
        [GW_SHOW_CHAT] = "chat",
};

/* The presence from `from` (a JID) to `to`; GW_SHOW_UNKNOWN sends nothing. */
static void
send_show(struct gw_net *net, const char *from, const char *to, enum gw_show show,
          const char *status, bool contact)
{
	xmpp_stanza_t *p;

	if (show == GW_SHOW_UNKNOWN)
		return;
	p = stanza_presence(from, to, show == GW_SHOW_OFFLINE ? "unavailable" : NULL);
	if (show_names[show])
		stanza_add_text_child(p, "show", NULL, show_names[show]);
	if (status) {
		char *clean = xmltext_clean(status, strlen(status), 1024);

		stanza_add_text_child(p, "status", NULL, clean);
		free(clean);
	}
	if (show != GW_SHOW_OFFLINE) {
		if (contact)
			services_add_contact_caps(net, p);
		else
			services_add_caps(net, p);
	}
	gateway_send_release(net, p);
}

void
gw_presence(struct gw_net *net, const char *user, const char *from, enum gw_show show,
            const char *status)
{
	char *fjid = from ? gateway_address_jid(net, from, NULL) : xstrdup(net->jid);

	send_show(net, fjid, user, show, status, from != NULL);
	free(fjid);
}

void
presence_tell(struct gw_net *net, const char *to, const char *user, const char *address, bool asked)
{
	enum gw_show show;
	char *status = NULL, *from;

	if (net->drv->is_room && net->drv->is_room(net, address))
		show = GW_SHOW_UNKNOWN; /* a room's presence is its occupants' */
	else if (net->drv->contact_presence)
		show = net->drv->contact_presence(net, user, address, &status);
	else
		/* Nothing known: an explicit question gets "reachable", nothing else is said. */
		show = asked ? GW_SHOW_ONLINE : GW_SHOW_UNKNOWN;
	if (!asked && show == GW_SHOW_UNKNOWN) {
		free(status);
		return;
	}
	from = gateway_address_jid(net, address, NULL);
	if (show == GW_SHOW_UNKNOWN)
		show = GW_SHOW_OFFLINE; /* a probe is answered (RFC 6121 section 4.3.2) */
	send_show(net, from, to, show, status, true);
	free(from);
	free(status);
}

void
presence_probe(struct gw_net *net, const char *to, const char *user, const char *address)
{
	/* A user the gateway does not serve now sees its contacts offline. */
	if (!core_domain_allowed(user) || gateway_user_disabled(net, user)) {
		char *from = gateway_address_jid(net, address, NULL);

		send_show(net, from, to, GW_SHOW_OFFLINE, NULL, true);
		free(from);
		return;
	}
	presence_tell(net, to, user, address, true);
}

struct sweep {
	struct gw_net *net;
	const char *user;
	bool goodbye;
};

static int
sweep_cb(const char *address, const char *name, enum store_sub sub, void *arg)
{
	struct sweep *s = arg;

	(void)name;
	(void)sub;
	if (s->goodbye) {
		char *from = gateway_address_jid(s->net, address, NULL);

		send_show(s->net, from, s->user, GW_SHOW_OFFLINE, NULL, true);
		free(from);
	} else
		presence_tell(s->net, s->user, s->user, address, false);
	return 0;
}

void
gw_contacts_changed(struct gw_net *net, const char *user)
{
	struct sweep s = {net, user, false};

	/* An offline user's server drops presence; its next login probes. */
	if (net->drv->contact_presence == NULL || !gw_user_is_online(net, user))
		return;
	store_contact_foreach(core.store, net->drv->name, user, sweep_cb, &s);
}

void
presence_goodbye(struct gw_net *net, const char *user)
{
	struct sweep s = {net, user, true};

	store_contact_foreach(core.store, net->drv->name, user, sweep_cb, &s);
}

void
presence_probe_sent(struct gw_net *net, const char *user)
{
	strmap_put(net->probed, user, (void *)1);
}

void
presence_user_online(struct gw_net *net, const char *user)
{
	/*
	 * Answering the start-up probe: the user's server probed the contacts
	 * at login, before this gateway (re)started, so they are told now. A
	 * login sends the server's own probes, which need nothing more.
	 */
	if (strmap_del(net->probed, user) != NULL)
		gw_contacts_changed(net, user);
}

void
presence_user_offline(struct gw_net *net, const char *user)
{
	strmap_del(net->probed, user);
}

/* ---- the gateway's own presence ---- */

/* The gateway's own presence to a user, with caps. type NULL = available. */
void
presence_gateway(struct gw_net *net, const char *to, const char *type)
{
	xmpp_stanza_t *p = stanza_presence(net->jid, to, type);

	if (type == NULL) {
		if (outage_status() != NULL) {
			stanza_add_text_child(p, "show", NULL, "dnd");
			stanza_add_text_child(p, "status", NULL, outage_status());
		}
		services_add_caps(net, p);
		if (strchr(to, '/') == NULL)
			strmap_put(net->greeted, to, (void *)(intptr_t)time(NULL));
	} else if (strchr(to, '/') == NULL)
		strmap_del(net->greeted, to);
	gateway_send_release(net, p);
}

/* True when the user got the gateway's available presence in the last seconds. */
static bool
greeted_recently(struct gw_net *net, const char *user)
{
	intptr_t when = (intptr_t)strmap_get(net->greeted, user);

	return when != 0 && time(NULL) - (time_t)when < 10;
}

void
gateway_greet(struct gw_net *net, const char *user)
{
	if (!greeted_recently(net, user))
		presence_gateway(net, user, NULL);
}
