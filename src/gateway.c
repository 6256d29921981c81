/*
 * The router: every stanza that arrives on a network's component link goes
 * to the module that handles it (rooms, queues, commands, registration,
 * services), and the networks' lifecycle: create, start, stop, free, and
 * the start-up probes. It calls the modules below it; none calls back.
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include <event2/event.h>

#include "commands.h"
#include "component.h"
#include "conf.h"
#include "core.h"
#include "drivers.h"
#include "gateway.h"
#include "iqwait.h"
#include "jid.h"
#include "rooms.h"
#include "stanza.h"
#include "store.h"
#include "strmap.h"
#include "users.h"

static void
handle_presence(struct gw_net *net, xmpp_stanza_t *st, const struct jid *from, const char *user,
                const struct jid *to, const char *address)
{
	const char *type = xmpp_stanza_get_type(st);

	if (address && to->resource && type == NULL && gateway_user_disabled(net, user) &&
	    stanza_child(st, "x", "http://jabber.org/protocol/muc")) {
		gateway_send_release(
		        net, stanza_error_reply(st, GW_ERR_FORBIDDEN,
		                                "Your account on this gateway is disabled."));
		return;
	}
	if (address && to->resource && net->drv->is_room && net->drv->is_room(net, address) &&
	    rooms_handle_presence(net, st, user, from->resource, address, to->resource))
		return;
	if (type == NULL && stanza_child(st, "x", "http://jabber.org/protocol/muc")) {
		xmpp_stanza_t *e =
		        stanza_error_reply(st, GW_ERR_SERVICE_UNAVAILABLE,
		                           net->drv->is_room ? "This address is not a room."
		                                             : "This network has no rooms.");
		gateway_send_release(net, e);
		return;
	}
	if (type && (strcmp(type, "subscribe") == 0 || strcmp(type, "subscribed") == 0 ||
	             strcmp(type, "unsubscribe") == 0 || strcmp(type, "unsubscribed") == 0)) {
		accounts_subscription(net, type, user, address);
		return;
	}
	if (type && strcmp(type, "probe") == 0) {
		if (address == NULL && gw_user_is_registered(net, user))
			presence_gateway(net, xmpp_stanza_get_from(st), NULL);
		else if (address != NULL)
			presence_probe(net, xmpp_stanza_get_from(st), user, address);
		return;
	}
	if (type && strcmp(type, "error") == 0) {
		/* A presence we sent bounced: that resource is gone. */
		if (from->resource)
			accounts_resource_gone(net, user, from->resource);
		return;
	}
	if (from->resource == NULL) {
		/* The answer to a start-up probe of a user who is offline. */
		if (type && strcmp(type, "unavailable") == 0)
			presence_user_offline(net, user);
		return;
	}
	if (type && strcmp(type, "unavailable") == 0) {
		accounts_resource_gone(net, user, from->resource);
		rooms_resource_gone(net, user, from->resource);
	} else if (type == NULL && core_domain_allowed(user))
		accounts_resource_available(net, user, from->resource);
}

static bool
driver_has_address_commands(const struct gw_driver *drv)
{
	for (const struct gw_command *c = drv->commands; c && c->node; c++)
		if (c->scope & GW_SCOPE_ADDRESS)
			return true;
	return false;
}

static void
handle_message(struct gw_net *net, xmpp_stanza_t *st, const struct jid *from, const char *user,
               const struct jid *to, const char *address)
{
	const char *type = xmpp_stanza_get_type(st);
	char *body;

	if (type && strcmp(type, "error") == 0) {
		delivery_bounced(net, st);
		return;
	}
	/* The server's own announcement of what it grants (XEP-0356): from a bare domain. */
	if (from->local == NULL && from->resource == NULL && address == NULL &&
	    roster_privilege_message(net, st, from->domain))
		return;
	if (!core_domain_allowed(user)) {
		gateway_send_release(
		        net, stanza_error_reply(st, GW_ERR_FORBIDDEN,
		                                "This gateway does not serve your server."));
		return;
	}
	if (address != NULL && gateway_user_disabled(net, user)) {
		gateway_send_release(
		        net, stanza_error_reply(st, GW_ERR_FORBIDDEN,
		                                "Your account on this gateway is disabled."));
		return;
	}
	if (address == NULL) {
		char *reply;

		body = xmpp_message_get_body(st);
		if (body == NULL)
			return;
		reply = commands_handle_text(net, net->drv, user, xmpp_stanza_get_from(st), NULL,
		                             body);
		if (reply == NULL && strlen(body) > COMMANDS_TEXT_MAX)
			reply = xasprintf("This message is too long to be a command or an answer "
			                  "(at most %d characters).",
			                  COMMANDS_TEXT_MAX);
		if (reply == NULL)
			reply = xstrdup("Unknown command. Send \"help\" for the list of commands.");
		gateway_send_release(net, stanza_message("chat", net->jid, xmpp_stanza_get_from(st),
		                                         NULL, reply));
		free(reply);
		xmpp_free(component_ctx(), body);
		return;
	}
	if (type && strcmp(type, "groupchat") == 0) {
		rooms_handle_groupchat(net, st, user, from->resource, address);
		return;
	}
	if (to->resource == NULL && net->drv->is_room && net->drv->is_room(net, address)
	            ? roomadmin_handle_invite(net, st, user, address)
	            : roomadmin_handle_direct_invite(net, st, user, address))
		return;
	if (driver_has_address_commands(net->drv) && (body = xmpp_message_get_body(st)) != NULL) {
		/* "!word" on an address runs a command (and answers a waiting form). */
		char *reply = commands_handle_text(net, net->drv, user, xmpp_stanza_get_from(st),
		                                   address, body);

		xmpp_free(component_ctx(), body);
		if (reply != NULL) {
			char *from_jid = gateway_address_jid(net, address, NULL);

			gateway_send_release(net,
			                     stanza_message("chat", from_jid,
			                                    xmpp_stanza_get_from(st), NULL, reply));
			free(from_jid);
			free(reply);
			return;
		}
	}
	if ((net->drv->flags & GW_DRIVER_NEEDS_REGISTRATION) && !gw_user_is_registered(net, user)) {
		gateway_send_release(net, stanza_error_reply(st, GW_ERR_REGISTRATION_REQUIRED,
		                                             "Register with this gateway first."));
		return;
	}
	delivery_from_xmpp(net, st, user, from->resource, address, to->resource, false);
}

static void
handle_iq(struct gw_net *net, xmpp_stanza_t *st, const char *user, const char *address,
          const char *to_resource)
{
	const char *type = xmpp_stanza_get_type(st);
	xmpp_stanza_t *child = xmpp_stanza_get_children(st);
	const char *ns;

	if (type == NULL || (strcmp(type, "get") != 0 && strcmp(type, "set") != 0)) {
		iqwait_dispatch(net, st); /* the answer to an iq we sent, if one waits */
		return;
	}
	while (child && xmpp_stanza_get_name(child) == NULL)
		child = xmpp_stanza_get_next(child);
	ns = child ? xmpp_stanza_get_ns(child) : NULL;
	if (ns == NULL) {
		gateway_send_release(net, stanza_error_reply(st, GW_ERR_BAD_REQUEST, NULL));
		return;
	}
	if (strcmp(ns, "http://jabber.org/protocol/commands") == 0 && strcmp(type, "set") == 0) {
		xmpp_stanza_t *reply;

		/* commands.h: who may use the gateway at all is checked before calling in. */
		if (!core_domain_allowed(user)) {
			gateway_send_release(
			        net,
			        stanza_error_reply(st, GW_ERR_FORBIDDEN,
			                           "This gateway does not serve your server."));
			return;
		}
		reply = commands_handle_iq(net, net->drv, component_ctx(), st, user,
		                           xmpp_stanza_get_from(st), address);

		if (reply)
			gateway_send_release(net, reply);
		return;
	}
	if (address == NULL && strcmp(ns, "jabber:iq:register") == 0) {
		register_handle_iq(net, st, user);
		return;
	}
	if (address && net->drv->is_room && net->drv->is_room(net, address) &&
	    rooms_handle_iq(net, st, user, address, to_resource))
		return;
	if (services_handle_iq(net, st, user, address))
		return;
	gateway_send_release(net, stanza_error_reply(st, GW_ERR_SERVICE_UNAVAILABLE, NULL));
}

/* Lower-cases the ASCII letters of a bare JID's localpart, for use as a key. */
static char *
user_key(const struct jid *j)
{
	char *k = jid_make(j->local, j->domain, NULL);

	for (char *p = k; *p && *p != '@'; p++)
		*p = (char)tolower((unsigned char)*p);
	return k;
}

static void
on_stanza(void *arg, xmpp_stanza_t *st)
{
	struct gw_net *net = arg;
	const char *name = xmpp_stanza_get_name(st);
	struct jid from, to;
	char *user = NULL, *address = NULL;

	if (jid_parse(xmpp_stanza_get_from(st), &from) == -1) {
		log_debug("%s: stanza without a valid sender dropped", net->drv->name);
		return;
	}
	if (jid_parse(xmpp_stanza_get_to(st), &to) == -1 || strcmp(to.domain, net->jid) != 0) {
		jid_clear(&from);
		if (strcmp(name, "iq") == 0 || strcmp(name, "message") == 0) {
			xmpp_stanza_t *e = stanza_error_reply(st, GW_ERR_ITEM_NOT_FOUND, NULL);

			gateway_send_release(net, e);
		}
		return;
	}
	user = user_key(&from);
	if (to.local) {
		char *typed = jid_unescape(to.local);
		char *why = NULL;

		if (net->drv->normalize && net->drv->normalize(net, typed, &address, &why) == -1) {
			if (strcmp(name, "presence") != 0)
				gateway_send_release(
				        net, stanza_error_reply(st, GW_ERR_ITEM_NOT_FOUND, why));
			free(why);
			free(typed);
			goto out;
		}
		if (address == NULL)
			address = typed;
		else
			free(typed);
	}
	if (strcmp(name, "message") == 0)
		handle_message(net, st, &from, user, &to, address);
	else if (strcmp(name, "presence") == 0)
		handle_presence(net, st, &from, user, &to, address);
	else if (strcmp(name, "iq") == 0)
		handle_iq(net, st, user, address, to.resource);
out:
	free(address);
	free(user);
	jid_clear(&from);
	jid_clear(&to);
}

/* ---- start-up presence, in batches so a large user base never stalls the loop ---- */

/* One start-up probe: to user, from the gateway or (address) from a contact. */
static void
announce_add(struct gw_net *net, const char *user, const char *address)
{
	if (net->announce_n % 1024 == 0) {
		net->announce_users =
		        xreallocarray(net->announce_users, net->announce_n + 1024, sizeof(char *));
		net->announce_from =
		        xreallocarray(net->announce_from, net->announce_n + 1024, sizeof(char *));
	}
	net->announce_from[net->announce_n] =
	        address ? gateway_address_jid(net, address, NULL) : NULL;
	net->announce_users[net->announce_n++] = xstrdup(user);
}

static int
collect_user_cb(const struct store_user *u, void *arg)
{
	if (!u->disabled)
		announce_add(arg, u->jid, NULL);
	return 0;
}

/*
 * A user with contacts but no registration (an SMS line's user) is not
 * subscribed to the gateway's JID: a contact asks instead.
 */
static int
collect_contact_user_cb(const char *user, const char *address, void *arg)
{
	announce_add(arg, user, address);
	return 0;
}

static void
announce_free(struct gw_net *net)
{
	net->announce_waiting = false;
	for (size_t i = 0; i < net->announce_n; i++) {
		free(net->announce_users[i]);
		free(net->announce_from[i]);
	}
	free(net->announce_users);
	free(net->announce_from);
	net->announce_users = net->announce_from = NULL;
	net->announce_n = net->announce_next = 0;
}

static void announce_cb(evutil_socket_t, short, void *);

/* The server has handled the last batch: the next one goes. */
static void
announce_barrier_cb(void *arg, bool done)
{
	struct gw_net *net = arg;

	net->announce_waiting = false;
	if (done)
		event_active(net->ev_announce, EV_TIMEOUT, 0);
	/* Link lost: on_online() starts over. */
}

static void
announce_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gw_net *net = arg;
	size_t end = net->announce_next + 200;

	(void)fd;
	(void)what;
	if (!component_is_online(net->comp) || net->announce_waiting)
		return;
	for (; net->announce_next < net->announce_n && net->announce_next < end;
	     net->announce_next++) {
		/*
		 * Only a probe: the users who answer it are online, and get the
		 * gateway's presence then (accounts_resource_available()).
		 */
		const char *from = net->announce_from[net->announce_next];

		gateway_send_release(net, stanza_presence(from ? from : net->jid,
		                                          net->announce_users[net->announce_next],
		                                          "probe"));
		presence_probe_sent(net, net->announce_users[net->announce_next]);
	}
	if (net->announce_next < net->announce_n) {
		/*
		 * Self-clocking: the next batch waits until the server has handled
		 * this one, so its backlog (which every other stanza queues behind)
		 * never exceeds one batch, whatever the server's speed.
		 */
		if (component_barrier(net->comp, announce_barrier_cb, net) == 0)
			net->announce_waiting = true;
	} else {
		log_info("%s: start-up probes sent to %zu users", net->drv->name, net->announce_n);
		announce_free(net);
	}
}

static void
on_online(void *arg)
{
	struct gw_net *net = arg;

	announce_free(net);
	strmap_free(net->probed, NULL);
	net->probed = strmap_new();
	store_user_foreach(core.store, net->drv->name, collect_user_cb, net);
	log_info("%s: online as %s; %zu registered users", net->drv->name, net->jid,
	         net->announce_n);
	store_contact_unregistered(core.store, net->drv->name, collect_contact_user_cb, net);
	event_active(net->ev_announce, EV_TIMEOUT, 0);
	rooms_online(net);
	delivery_online(net);
}

static void
on_offline(void *arg)
{
	delivery_offline(arg);
}

int
gateway_create_all(void)
{
	const struct gw_section *xmpp = config_section(core.cfg, "xmpp");

	for (size_t i = 0; i < gw_ndrivers; i++) {
		const struct gw_driver *drv = gw_drivers[i];
		const struct gw_section *sec = config_section(core.cfg, drv->name);
		struct gw_net *net;
		static const struct component_cbs cbs = {on_stanza, on_online, on_offline};

		if (sec == NULL)
			continue;
		net = xcalloc(1, sizeof(*net));
		net->drv = drv;
		net->section = sec;
		net->jid = xstrdup(gw_conf_str(sec, "jid"));
		net->online = strmap_new();
		net->greeted = strmap_new();
		net->probed = strmap_new();
		net->disabled = strmap_new();
		accounts_load_disabled(net);
		if (drv->priv_size)
			net->priv = xcalloc(1, drv->priv_size);
		net->comp = component_new(net->jid, gw_conf_str(sec, "secret"),
		                          gw_conf_str(xmpp, "server"),
		                          (unsigned short)gw_conf_int(xmpp, "port"),
		                          (int)gw_conf_int(xmpp, "reconnect_max"), &cbs, net);
		net->ev_announce = event_new(core.base, -1, 0, announce_cb, net);
		core.nets = xreallocarray(core.nets, core.nnets + 1, sizeof(*core.nets));
		core.nets[core.nnets++] = net;
		services_init(net);
		delivery_init(net);
		rooms_init(net);
		if (drv->start && drv->start(net) == -1) {
			log_warnx("%s: the backend failed to start", drv->name);
			return -1;
		}
		net->started = true;
		rooms_restore(net);
	}
	return 0;
}

void
gateway_start_all(void)
{
	for (size_t i = 0; i < core.nnets; i++)
		component_start(core.nets[i]->comp);
}

static void
say_goodbye(const char *user, void *arg)
{
	presence_goodbye(arg, user);
	presence_gateway(arg, user, "unavailable");
}

void
gateway_stop_all(void)
{
	for (size_t i = 0; i < core.nnets; i++) {
		struct gw_net *net = core.nets[i];

		if (component_is_online(net->comp)) {
			/* A restart keeps the rooms: the next start rejoins them unseen. */
			if (core.stop_for_good)
				rooms_shutdown(net);
			else
				rooms_save(net);
			gateway_foreach_online(net, say_goodbye, net);
		}
	}
	/* Drivers still run while the links close: late stanzas are stored. */
	for (size_t i = 0; i < core.nnets; i++)
		component_stop(core.nets[i]->comp);
	delivery_flush_all();
	for (size_t i = 0; i < core.nnets; i++) {
		struct gw_net *net = core.nets[i];

		if (net->started && net->drv->stop)
			net->drv->stop(net);
		net->started = false;
	}
	delivery_flush_all();
}

int
gateway_reload(struct gw_net *net)
{
	/* The caps cover [xmpp]'s contact addresses; the avatar may be new. */
	services_init(net);
	return net->drv->reload ? net->drv->reload(net) : 0;
}

void
gateway_free_all(void)
{
	for (size_t i = 0; i < core.nnets; i++) {
		struct gw_net *net = core.nets[i];

		rooms_free(net);
		/* Barriers still out call into delivery: the link goes first. */
		component_free(net->comp);
		delivery_free(net);
		announce_free(net);
		event_free(net->ev_announce);
		strmap_free(net->online, online_user_free);
		strmap_free(net->greeted, NULL);
		strmap_free(net->probed, NULL);
		strmap_free(net->disabled, NULL);
		roster_forget(net);
		services_free(net);
		free(net->priv);
		free(net->jid);
		free(net);
	}
	free(core.nets);
	core.nets = NULL;
	core.nnets = 0;
}
