/*
 * A user's account and session on one gateway: registration and its
 * removal, the resources that are online (and what each arrival or
 * departure sets off: the driver, presence, the queues, the rooms),
 * administrators' disabling, and the XEP-0100 subscription flow for the
 * gateway and its contacts.
 */
#include "config.h"

#include <string.h>

#include "core.h"
#include "rooms.h"
#include "stanza.h"
#include "store.h"
#include "strmap.h"
#include "users.h"

void
accounts_resource_available(struct gw_net *net, const char *user, const char *resource)
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
		if (gw_user_is_registered(net, user))
			gateway_greet(net, user);
		presence_user_online(net, user);
		delivery_user_available(net, user);
	}
}

void
accounts_resource_gone(struct gw_net *net, const char *user, const char *resource)
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

void
accounts_save_fields(struct gw_net *net, const char *user, const struct gw_field *fields,
                     const struct gw_values *v)
{
	for (const struct gw_field *f = fields; f->var; f++) {
		const char *val = gw_values_get(v, f->var);

		if (val == NULL || f->type == GW_FIELD_FIXED)
			continue; /* not submitted: keep what is stored */
		if (f->flags & GW_FIELD_SECRET) {
			if (*val) /* an empty password field keeps the stored one */
				gw_secret_set(net, user, "", f->var, val);
		} else
			gw_setting_set(net, user, "", f->var, val);
	}
}

int
accounts_register(struct gw_net *net, const char *user)
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
accounts_unregister(struct gw_net *net, const char *user)
{
	void *a[2] = {net, (void *)user};

	rooms_resource_gone(net, user, NULL);
	accounts_resource_gone(net, user, NULL);
	store_contact_foreach(core.store, net->drv->name, user, unsubscribe_contact_cb, a);
	if (net->drv->user_removed)
		net->drv->user_removed(net, user);
	if (store_user_remove(core.store, net->drv->name, user) == -1)
		return -1;
	strmap_del(net->disabled, user);
	presence_gateway(net, user, "unavailable");
	gateway_send_release(net, stanza_presence(net->jid, user, "unsubscribed"));
	gateway_send_release(net, stanza_presence(net->jid, user, "unsubscribe"));
	return 0;
}

int
accounts_set_disabled(struct gw_net *net, const char *user, bool disabled)
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
accounts_end_session(struct gw_net *net, const char *user)
{
	rooms_resource_gone(net, user, NULL);
	accounts_resource_gone(net, user, NULL);
	presence_goodbye(net, user);
	presence_gateway(net, user, "unavailable");
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
	if (store_contact_set(core.store, net->drv->name, user, address, name, STORE_SUB_NONE) ==
	    -1)
		return;
	/* Written into the roster, else suggested (XEP-0144) and asked for (XEP-0100). */
	if (!roster_add(net, user, address, name)) {
		roster_suggest(net, user, address, name);
		gateway_ask_subscription(net, user, address, name);
	}
}

/* Subscription requests and answers from a user to the gateway or a contact. */
void
accounts_subscription(struct gw_net *net, const char *type, const char *user, const char *address)
{
	const char *name = net->drv->name;
	char *to = gateway_address_jid(net, address, NULL);

	if (strcmp(type, "subscribe") == 0) {
		/* Contacts of a registered user, and the gateway itself, accept at once. */
		bool ok = address == NULL ? gw_user_is_registered(net, user)
		                          : core_domain_allowed(user);

		gateway_send_release(net,
		                     stanza_presence(to, user, ok ? "subscribed" : "unsubscribed"));
		if (ok && address != NULL) {
			enum store_sub sub = STORE_SUB_NONE;
			char *n = NULL;

			bool known =
			        store_contact_get(core.store, name, user, address, &sub, &n) == 1;

			if (!known)
				gateway_send_release(net, stanza_presence(to, user, "subscribe"));
			/* The name stays: a later roster sync writes it again. */
			store_contact_set(core.store, name, user, address, n, STORE_SUB_BOTH);
			free(n);
			if (!known && net->drv->contact_changed)
				net->drv->contact_changed(net, user, address, true);
		}
		if (ok && address == NULL)
			gateway_greet(net, user);
		else if (ok)
			presence_tell(net, user, user, address, true);
	} else if (strcmp(type, "unsubscribe") == 0 || strcmp(type, "unsubscribed") == 0) {
		if (address != NULL && strcmp(type, "unsubscribe") == 0) {
			store_contact_remove(core.store, name, user, address);
			gateway_send_release(net, stanza_presence(to, user, "unsubscribed"));
			if (net->drv->contact_changed)
				net->drv->contact_changed(net, user, address, false);
		}
	} else if (strcmp(type, "subscribed") == 0 && address != NULL) {
		enum store_sub sub;
		char *n = NULL;

		store_contact_get(core.store, name, user, address, &sub, &n);
		store_contact_set(core.store, name, user, address, n, STORE_SUB_BOTH);
		free(n);
	}
	free(to);
}

/* Disabled users are kept in memory: the message path checks every message. */
void
accounts_load_disabled(struct gw_net *net)
{
	store_user_foreach(core.store, net->drv->name, load_disabled_cb, net);
}
