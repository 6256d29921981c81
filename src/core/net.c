/*
 * The gw_net object and what every layer above asks of it: the accessors
 * drivers call (driver.h), the settings and secrets in the store, who is
 * online (read only: users/accounts.c keeps it), and sending on the
 * network's component link. Nothing here acts on other modules.
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include "component.h"
#include "conf.h"
#include "core.h"
#include "jid.h"
#include "stanza.h"
#include "store.h"
#include "strmap.h"

struct core core;

void
online_user_free(void *p)
{
	struct online_user *u = p;

	for (size_t i = 0; i < u->n; i++)
		free(u->resources[i]);
	free(u->resources);
	free(u);
}

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
	const char *const *domains =
	        gw_conf_list(config_section(core.cfg, "xmpp"), "allowed_domains");
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
gateway_foreach_resource(struct gw_net *net, const char *user, void (*fn)(const char *, void *),
                         void *arg)
{
	struct online_user *u = strmap_get(net->online, user);

	for (size_t i = 0; u && i < u->n; i++) {
		char *full = xasprintf("%s/%s", user, u->resources[i]);

		fn(full, arg);
		free(full);
	}
}

bool
gateway_user_disabled(struct gw_net *net, const char *user)
{
	return strmap_get(net->disabled, user) != NULL;
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
gw_foreach_contact(struct gw_net *net, const char *user, void (*fn)(const char *address, void *arg),
                   void *arg)
{
	struct contact_walk w = {fn, arg};

	store_contact_foreach(core.store, net->drv->name, user, contact_walk_cb, &w);
}
