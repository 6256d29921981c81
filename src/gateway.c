/*
 * One gw_net per enabled backend: its component link, the routing of every
 * stanza that arrives on it, who is online, the XEP-0100 subscription flow,
 * and the accessors drivers call (driver.h).
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
#include "iqwait.h"
#include "jid.h"
#include "stanza.h"
#include "store.h"
#include "strmap.h"

struct core core;

/* The resources of one user that told this gateway they are available. */
struct online_user {
	char **resources;
	size_t n;
};

static void
online_user_free(void *p)
{
	struct online_user *u = p;

	for (size_t i = 0; i < u->n; i++)
		free(u->resources[i]);
	free(u->resources);
	free(u);
}

/* ---- accessors for drivers ---- */

struct event_base *
gw_event_base(void)
{
	return core.base;
}

const char *
gw_net_jid(struct gw_net *net)
{
	return net->jid;
}

void *
gw_net_priv(struct gw_net *net)
{
	return net->priv;
}

void
gw_net_set_priv(struct gw_net *net, void *priv)
{
	net->priv = priv;
}

const struct gw_section *
gw_net_section(struct gw_net *net)
{
	return net->section;
}

const struct gw_section *const *
gw_net_subsections(struct gw_net *net, const char *kind, size_t *n)
{
	return config_subsections(core.cfg, net->drv->name, kind, n);
}

bool
gw_user_is_registered(struct gw_net *net, const char *user)
{
	struct store_user u;
	int r = store_user_get(core.store, net->drv->name, user, &u);

	if (r != 1)
		return false;
	r = !u.disabled;
	store_user_free_fields(&u);
	return r;
}

bool
gw_user_is_online(struct gw_net *net, const char *user)
{
	return strmap_get(net->online, user) != NULL;
}

bool
gw_user_is_admin(struct gw_net *net, const char *user)
{
	(void)net;
	return core_is_admin(user);
}

struct foreach_ctx {
	void (*fn)(const char *, void *);
	void *arg;
};

static int
foreach_user_cb(const struct store_user *u, void *arg)
{
	struct foreach_ctx *fc = arg;

	if (!u->disabled)
		fc->fn(u->jid, fc->arg);
	return 0;
}

void
gw_foreach_user(struct gw_net *net, void (*fn)(const char *, void *), void *arg)
{
	struct foreach_ctx fc = {fn, arg};

	store_user_foreach(core.store, net->drv->name, foreach_user_cb, &fc);
}

char *
gw_setting_get(struct gw_net *net, const char *user, const char *scope, const char *key)
{
	char *v = NULL;

	if (store_setting_get(core.store, net->drv->name, user, scope, key, &v) != 1)
		return NULL;
	return v;
}

int
gw_setting_set(struct gw_net *net, const char *user, const char *scope, const char *key,
               const char *value)
{
	return store_setting_set(core.store, net->drv->name, user, scope, key, value);
}

struct setting_walk {
	int (*fn)(const char *, const char *, void *);
	void *arg;
};

static int
setting_walk_cb(const char *key, const char *value, bool secret, void *arg)
{
	struct setting_walk *w = arg;

	return secret ? 0 : w->fn(key, value, w->arg);
}

int
gw_setting_foreach(struct gw_net *net, const char *user, const char *scope,
                   int (*fn)(const char *key, const char *value, void *arg), void *arg)
{
	struct setting_walk w = {fn, arg};

	return store_setting_foreach(core.store, net->drv->name, user, scope, setting_walk_cb, &w);
}

char *
gw_secret_get(struct gw_net *net, const char *user, const char *scope, const char *key)
{
	char *v = NULL;

	if (store_secret_get(core.store, net->drv->name, user, scope, key, &v) != 1)
		return NULL;
	return v;
}

int
gw_secret_set(struct gw_net *net, const char *user, const char *scope, const char *key,
              const char *value)
{
	return store_secret_set(core.store, net->drv->name, user, scope, key, value);
}

struct find_ctx {
	void (*fn)(const char *, const char *, const char *, void *);
	void *arg;
};

static int
setting_find_cb(const char *jid, const char *scope, const char *value, void *arg)
{
	struct find_ctx *fc = arg;

	fc->fn(jid, scope, value, fc->arg);
	return 0;
}

void
gw_setting_find(struct gw_net *net, const char *key,
                void (*fn)(const char *, const char *, const char *, void *), void *arg)
{
	struct find_ctx fc = {fn, arg};

	store_setting_find(core.store, net->drv->name, key, setting_find_cb, &fc);
}

/* ---- helpers ---- */

static bool
list_has_ci(const char *const *list, const char *s)
{
	for (; list && *list; list++)
		if (strcasecmp(*list, s) == 0)
			return true;
	return false;
}

bool
core_domain_allowed(const char *bare)
{
	const char *const *domains = gw_conf_list(config_section(core.cfg, "xmpp"), "allowed_domains");
	const char *at = strchr(bare, '@');

	if (domains == NULL || domains[0] == NULL)
		return true;
	return list_has_ci(domains, at ? at + 1 : bare) || core_is_admin(bare);
}

bool
core_is_admin(const char *bare)
{
	return list_has_ci(gw_conf_list(config_section(core.cfg, "xmpp"), "admins"), bare);
}

struct gw_net *
gateway_by_name(const char *name)
{
	for (size_t i = 0; i < core.nnets; i++)
		if (strcmp(core.nets[i]->drv->name, name) == 0)
			return core.nets[i];
	return NULL;
}

int
gateway_send(struct gw_net *net, xmpp_stanza_t *st)
{
	return component_send(net->comp, st);
}

void
gateway_send_release(struct gw_net *net, xmpp_stanza_t *st)
{
	component_send(net->comp, st);
	xmpp_stanza_release(st);
}

bool
gw_net_online(struct gw_net *net)
{
	return net->comp != NULL && component_is_online(net->comp);
}

char *
gateway_address_jid(struct gw_net *net, const char *address, const char *resource)
{
	char *local = address ? jid_escape(address) : NULL;
	char *j = jid_make(local, net->jid, resource);

	free(local);
	return j;
}

/* The gateway's own presence to a user, with caps. type NULL = available. */
static void
send_gateway_presence(struct gw_net *net, const char *to, const char *type)
{
	xmpp_stanza_t *p = stanza_presence(net->jid, to, type);

	if (type == NULL) {
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

/* ---- who is online ---- */

static void
online_add(struct gw_net *net, const char *user, const char *resource)
{
	struct online_user *u = strmap_get(net->online, user);
	bool first = u == NULL;

	/* An administrator ended a disabled user's session: it stays ended. */
	if (u == NULL && gateway_user_disabled(net, user))
		return;
	if (u == NULL) {
		u = xcalloc(1, sizeof(*u));
		strmap_put(net->online, user, u);
	}
	for (size_t i = 0; i < u->n; i++)
		if (strcmp(u->resources[i], resource) == 0)
			return;
	u->resources = xreallocarray(u->resources, u->n + 1, sizeof(*u->resources));
	u->resources[u->n++] = xstrdup(resource);
	log_debug("%s: %s/%s available", net->drv->name, user, resource);
	if (net->drv->user_available)
		net->drv->user_available(net, user, resource);
	if (first) {
		/*
		 * The user's presence (or the answer to our probe): the gateway
		 * answers in kind, unless the subscription flow just did.
		 */
		if (gw_user_is_registered(net, user) && !greeted_recently(net, user))
			send_gateway_presence(net, user, NULL);
		presence_user_online(net, user);
		delivery_user_available(net, user);
	}
}

static void
online_remove(struct gw_net *net, const char *user, const char *resource)
{
	struct online_user *u = strmap_get(net->online, user);

	if (u == NULL)
		return;
	for (size_t i = 0; i < u->n; i++) {
		if (resource && strcmp(u->resources[i], resource) != 0)
			continue;
		log_debug("%s: %s/%s unavailable", net->drv->name, user, u->resources[i]);
		if (net->drv->user_unavailable)
			net->drv->user_unavailable(net, user, u->resources[i]);
		free(u->resources[i]);
		u->resources[i--] = u->resources[--u->n];
	}
	if (u->n == 0)
		online_user_free(strmap_del(net->online, user));
}

size_t
gateway_online_count(struct gw_net *net)
{
	return strmap_count(net->online);
}

struct online_iter {
	void (*fn)(const char *, void *);
	void *arg;
};

static void
online_iter_cb(const char *key, void *value, void *arg)
{
	struct online_iter *it = arg;

	(void)value;
	it->fn(key, it->arg);
}

void
gateway_foreach_online(struct gw_net *net, void (*fn)(const char *, void *), void *arg)
{
	struct online_iter it = {fn, arg};

	strmap_foreach(net->online, online_iter_cb, &it);
}

void
gateway_foreach_resource(struct gw_net *net, const char *user,
                         void (*fn)(const char *, void *), void *arg)
{
	struct online_user *u = strmap_get(net->online, user);

	for (size_t i = 0; u && i < u->n; i++) {
		char *full = xasprintf("%s/%s", user, u->resources[i]);

		fn(full, arg);
		free(full);
	}
}

/* ---- registration and subscriptions (XEP-0100) ---- */

int
gateway_register_user(struct gw_net *net, const char *user)
{
	struct store_user u;
	int existed = store_user_get(core.store, net->drv->name, user, &u);

	if (existed == 1)
		store_user_free_fields(&u);
	if (store_user_add(core.store, net->drv->name, user) == -1)
		return -1;
	if (existed != 1) {
		/*
		 * The gateway goes into the user's roster: written there where the
		 * server lets it (XEP-0356), else asked for (XEP-0100 section 4.1).
		 */
		if (!roster_add(net, user, NULL, NULL))
			gateway_ask_subscription(net, user, NULL, NULL);
		if (net->drv->user_registered)
			net->drv->user_registered(net, user);
	}
	return 0;
}

static int
unsubscribe_contact_cb(const char *address, const char *name, enum store_sub sub, void *arg)
{
	void **a = arg;
	struct gw_net *net = a[0];
	const char *user = a[1];
	char *from = gateway_address_jid(net, address, NULL);

	(void)name;
	(void)sub;
	gateway_send_release(net, stanza_presence(from, user, "unavailable"));
	gateway_send_release(net, stanza_presence(from, user, "unsubscribed"));
	gateway_send_release(net, stanza_presence(from, user, "unsubscribe"));
	free(from);
	return 0;
}

int
gateway_unregister_user(struct gw_net *net, const char *user)
{
	void *a[2] = {net, (void *)user};

	rooms_resource_gone(net, user, NULL);
	online_remove(net, user, NULL);
	store_contact_foreach(core.store, net->drv->name, user, unsubscribe_contact_cb, a);
	if (net->drv->user_removed)
		net->drv->user_removed(net, user);
	if (store_user_remove(core.store, net->drv->name, user) == -1)
		return -1;
	strmap_del(net->disabled, user);
	send_gateway_presence(net, user, "unavailable");
	gateway_send_release(net, stanza_presence(net->jid, user, "unsubscribed"));
	gateway_send_release(net, stanza_presence(net->jid, user, "unsubscribe"));
	return 0;
}

bool
gateway_user_disabled(struct gw_net *net, const char *user)
{
	return strmap_get(net->disabled, user) != NULL;
}

int
gateway_set_disabled(struct gw_net *net, const char *user, bool disabled)
{
	if (store_user_set_disabled(core.store, net->drv->name, user, disabled) == -1)
		return -1;
	if (disabled)
		strmap_put(net->disabled, user, (void *)1);
	else
		strmap_del(net->disabled, user);
	return 0;
}

static int
load_disabled_cb(const struct store_user *u, void *arg)
{
	struct gw_net *net = arg;

	if (u->disabled)
		strmap_put(net->disabled, u->jid, (void *)1);
	return 0;
}

void
gateway_end_session(struct gw_net *net, const char *user)
{
	rooms_resource_gone(net, user, NULL);
	online_remove(net, user, NULL);
	presence_goodbye(net, user);
	send_gateway_presence(net, user, "unavailable");
}

void
gw_contact_add(struct gw_net *net, const char *user, const char *address, const char *name)
{
	enum store_sub sub;
	char *old_name = NULL;
	int r = store_contact_get(core.store, net->drv->name, user, address, &sub, &old_name);

	free(old_name);
	if (r == 1)
		return;
	/* Named as the network writes it: clients that show a JID as it is
	 * (profanity, poezio) would show bob\40example.com@mail.gw instead. */
	if (name == NULL || *name == '\0')
		name = address;
	if (store_contact_set(core.store, net->drv->name, user, address, name, STORE_SUB_NONE) == -1)
		return;
	if (!roster_add(net, user, address, name))
		gateway_ask_subscription(net, user, address, name);
}

void
gateway_ask_subscription(struct gw_net *net, const char *user, const char *address,
                         const char *name)
{
	char *from = address ? gateway_address_jid(net, address, NULL) : xstrdup(net->jid);
	xmpp_stanza_t *p = stanza_presence(from, user, "subscribe");

	if (name)
		stanza_add_text_child(p, "nick", "http://jabber.org/protocol/nick", name);
	gateway_send_release(net, p);
	free(from);
}

void
gateway_greet(struct gw_net *net, const char *user)
{
	if (!greeted_recently(net, user))
		send_gateway_presence(net, user, NULL);
}

struct contact_walk {
	void (*fn)(const char *address, void *arg);
	void *arg;
};

static int
contact_walk_cb(const char *address, const char *name, enum store_sub sub, void *arg)
{
	struct contact_walk *w = arg;

	(void)name;
	(void)sub;
	w->fn(address, w->arg);
	return 0;
}

void
gw_foreach_contact(struct gw_net *net, const char *user,
                   void (*fn)(const char *address, void *arg), void *arg)
{
	struct contact_walk w = {fn, arg};

	store_contact_foreach(core.store, net->drv->name, user, contact_walk_cb, &w);
}

/* Subscription requests and answers from a user to the gateway or a contact. */
static void
handle_subscription(struct gw_net *net, const char *type, const char *user, const char *address)
{
	const char *name = net->drv->name;
	char *to = gateway_address_jid(net, address, NULL);

	if (strcmp(type, "subscribe") == 0) {
		/* Contacts of a registered user, and the gateway itself, accept at once. */
		bool ok = address == NULL ? gw_user_is_registered(net, user)
		                          : core_domain_allowed(user);

		gateway_send_release(net, stanza_presence(to, user, ok ? "subscribed" : "unsubscribed"));
		if (ok && address != NULL) {
			enum store_sub sub = STORE_SUB_NONE;
			char *n = NULL;

			bool known = store_contact_get(core.store, name, user, address, &sub, &n) == 1;

			if (!known)
				gateway_send_release(net, stanza_presence(to, user, "subscribe"));
			free(n);
			store_contact_set(core.store, name, user, address, NULL, STORE_SUB_BOTH);
			if (!known && net->drv->contact_changed)
				net->drv->contact_changed(net, user, address, true);
		}
		if (ok && address == NULL) {
			if (!greeted_recently(net, user))
				send_gateway_presence(net, user, NULL);
		} else if (ok)
			presence_tell(net, user, user, address, true);
	} else if (strcmp(type, "unsubscribe") == 0 || strcmp(type, "unsubscribed") == 0) {
		if (address != NULL && strcmp(type, "unsubscribe") == 0) {
			store_contact_remove(core.store, name, user, address);
			gateway_send_release(net, stanza_presence(to, user, "unsubscribed"));
			if (net->drv->contact_changed)
				net->drv->contact_changed(net, user, address, false);
		}
	} else if (strcmp(type, "subscribed") == 0 && address != NULL) {
		store_contact_set(core.store, name, user, address, NULL, STORE_SUB_BOTH);
	}
	free(to);
}

static void
handle_presence(struct gw_net *net, xmpp_stanza_t *st, const struct jid *from, const char *user,
                const struct jid *to, const char *address)
{
	const char *type = xmpp_stanza_get_type(st);

	if (address && to->resource && type == NULL && gateway_user_disabled(net, user) &&
	    stanza_child(st, "x", "http://jabber.org/protocol/muc")) {
		gateway_send_release(net, stanza_error_reply(st, GW_ERR_FORBIDDEN,
		                                             "Your account on this gateway is disabled."));
		return;
	}
	if (address && to->resource && net->drv->is_room && net->drv->is_room(net, address) &&
	    rooms_handle_presence(net, st, user, from->resource, address, to->resource))
		return;
	if (type == NULL && stanza_child(st, "x", "http://jabber.org/protocol/muc")) {
		xmpp_stanza_t *e = stanza_error_reply(st, GW_ERR_SERVICE_UNAVAILABLE,
		                                      net->drv->is_room ? "This address is not a room."
		                                                        : "This network has no rooms.");
		gateway_send_release(net, e);
		return;
	}
	if (type && (strcmp(type, "subscribe") == 0 || strcmp(type, "subscribed") == 0 ||
	             strcmp(type, "unsubscribe") == 0 || strcmp(type, "unsubscribed") == 0)) {
		handle_subscription(net, type, user, address);
		return;
	}
	if (type && strcmp(type, "probe") == 0) {
		if (address == NULL && gw_user_is_registered(net, user))
			send_gateway_presence(net, xmpp_stanza_get_from(st), NULL);
		else if (address != NULL)
			presence_probe(net, xmpp_stanza_get_from(st), user, address);
		return;
	}
	if (type && strcmp(type, "error") == 0) {
		/* A presence we sent bounced: that resource is gone. */
		if (from->resource)
			online_remove(net, user, from->resource);
		return;
	}
	if (from->resource == NULL) {
		/* The answer to a start-up probe of a user who is offline. */
		if (type && strcmp(type, "unavailable") == 0)
			presence_user_offline(net, user);
		return;
	}
	if (type && strcmp(type, "unavailable") == 0) {
		online_remove(net, user, from->resource);
		rooms_resource_gone(net, user, from->resource);
	} else if (type == NULL && core_domain_allowed(user))
		online_add(net, user, from->resource);
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
		gateway_send_release(net, stanza_error_reply(st, GW_ERR_FORBIDDEN,
		                                             "This gateway does not serve your server."));
		return;
	}
	if (address != NULL && gateway_user_disabled(net, user)) {
		gateway_send_release(net, stanza_error_reply(st, GW_ERR_FORBIDDEN,
		                                             "Your account on this gateway is disabled."));
		return;
	}
	if (address == NULL) {
		char *reply;

		body = xmpp_message_get_body(st);
		if (body == NULL)
			return;
		reply = commands_handle_text(net, net->drv, user, xmpp_stanza_get_from(st), NULL, body);
		if (reply == NULL && strlen(body) > COMMANDS_TEXT_MAX)
			reply = xasprintf("This message is too long to be a command or an answer "
			                  "(at most %d characters).", COMMANDS_TEXT_MAX);
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
	if (to->resource == NULL && net->drv->is_room && net->drv->is_room(net, address) ?
	            roomadmin_handle_invite(net, st, user, address) :
	            roomadmin_handle_direct_invite(net, st, user, address))
		return;
	if (driver_has_address_commands(net->drv) && (body = xmpp_message_get_body(st)) != NULL) {
		/* "!word" on an address runs a command (and answers a waiting form). */
		char *reply = commands_handle_text(net, net->drv, user, xmpp_stanza_get_from(st),
		                                   address, body);

		xmpp_free(component_ctx(), body);
		if (reply != NULL) {
			char *from_jid = gateway_address_jid(net, address, NULL);

			gateway_send_release(net, stanza_message("chat", from_jid,
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
			gateway_send_release(net, stanza_error_reply(st, GW_ERR_FORBIDDEN,
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
				gateway_send_release(net, stanza_error_reply(st, GW_ERR_ITEM_NOT_FOUND, why));
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
		net->announce_users = xreallocarray(net->announce_users, net->announce_n + 1024,
		                                    sizeof(char *));
		net->announce_from = xreallocarray(net->announce_from, net->announce_n + 1024,
		                                   sizeof(char *));
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
		 * gateway's presence then (online_add()).
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
		log_info("%s: start-up probes sent to %zu users", net->drv->name,
		         net->announce_n);
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
		/* Kept in memory: the message path checks it for every message. */
		net->disabled = strmap_new();
		store_user_foreach(core.store, drv->name, load_disabled_cb, net);
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
	send_gateway_presence(arg, user, "unavailable");
}

void
gateway_stop_all(void)
{
	for (size_t i = 0; i < core.nnets; i++) {
		struct gw_net *net = core.nets[i];

		if (component_is_online(net->comp)) {
			rooms_shutdown(net);
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
		free(net->caps_ver);
		free(net->contact_caps_ver);
		free(net->jid);
		free(net);
	}
	free(core.nets);
	core.nets = NULL;
	core.nnets = 0;
}
