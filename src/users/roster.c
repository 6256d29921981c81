/*
 * Contacts written straight into users' rosters (XEP-0356, privileged
 * entity). A server that grants this gateway roster "set" (or "both") for
 * its domain says so in a <privilege/> message when the component
 * connects. From then on the gateway itself (at registration) and each new
 * contact of a user of that domain are pushed into the user's roster with
 * subscription "both", under a group named after the gateway: no request
 * for the user to approve, one per contact, on every device. Where there is
 * no grant or the server refuses the push, the gateway suggests the
 * contact with a XEP-0144 roster item exchange, which Gajim and others
 * offer to add in one click, and the XEP-0100 subscription flow runs as
 * before for the clients that ignore suggestions. The user turns both the
 * pushes and the suggestions off with the setting "roster" = "no".
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "component.h"
#include "core.h"
#include "iqwait.h"
#include "stanza.h"
#include "store.h"
#include "strmap.h"
#include "users.h"

/* Version 2 (Prosody's mod_privilege) and 1 (ejabberd 23.01): roster grants read alike. */
#define NS_PRIVILEGE "urn:xmpp:privilege:2"
#define NS_PRIVILEGE_1 "urn:xmpp:privilege:1"
#define NS_ROSTER "jabber:iq:roster"
#define NS_ROSTERX "http://jabber.org/protocol/rosterx"
#define PUSH_TIMEOUT 30

/* 0: never said; GRANT_BROKEN: announced, but the server fails the writes. */
enum grant { GRANT_NONE = 1, GRANT_GET, GRANT_SET, GRANT_BOTH, GRANT_BROKEN };

struct push {
	struct gw_net *net;
	char *user, *address, *name; /* address NULL: the gateway's own item */
};

static struct strmap *
grants(struct gw_net *net)
{
	if (net->roster_grants == NULL)
		net->roster_grants = strmap_new();
	return net->roster_grants;
}

bool
roster_privilege_message(struct gw_net *net, xmpp_stanza_t *msg, const char *domain)
{
	xmpp_stanza_t *priv = stanza_child(msg, "privilege", NS_PRIVILEGE);
	enum grant g = GRANT_NONE;

	if (priv == NULL)
		priv = stanza_child(msg, "privilege", NS_PRIVILEGE_1);

	if (priv == NULL)
		return false;
	for (xmpp_stanza_t *p = xmpp_stanza_get_children(priv); p; p = xmpp_stanza_get_next(p)) {
		const char *access = xmpp_stanza_get_attribute(p, "access");
		const char *type = xmpp_stanza_get_attribute(p, "type");

		if (!xmpp_stanza_is_tag(p) || strcmp(xmpp_stanza_get_name(p), "perm") != 0 ||
		    access == NULL || strcmp(access, "roster") != 0 || type == NULL)
			continue;
		g = strcmp(type, "both") == 0  ? GRANT_BOTH
		    : strcmp(type, "set") == 0 ? GRANT_SET
		    : strcmp(type, "get") == 0 ? GRANT_GET
		                               : GRANT_NONE;
	}
	strmap_put(grants(net), domain, (void *)(intptr_t)g);
	log_info("%s: %s %s this gateway write its users' rosters (XEP-0356)", net->drv->name,
	         domain, g == GRANT_SET || g == GRANT_BOTH ? "lets" : "does not let");
	return true;
}

static const char *
domain_of(const char *bare)
{
	const char *at = strchr(bare, '@');

	return at ? at + 1 : bare;
}

bool
roster_granted(struct gw_net *net, const char *user)
{
	intptr_t g =
	        net->roster_grants ? (intptr_t)strmap_get(net->roster_grants, domain_of(user)) : 0;

	return g == GRANT_SET || g == GRANT_BOTH;
}

static bool
wanted(struct gw_net *net, const char *user)
{
	char *v = gw_setting_get(net, user, "", "roster");
	bool off = v &&
	           (strcasecmp(v, "no") == 0 || strcmp(v, "0") == 0 || strcasecmp(v, "false") == 0);

	free(v);
	return !off;
}

static void
push_free(struct push *p)
{
	free(p->user);
	free(p->address);
	free(p->name);
	free(p);
}

/*
 * Whether an error answer to a push says the server cannot write rosters
 * for this gateway at all (ejabberd 23.01 fails every privileged write
 * with internal-server-error, ejabberd#3942), not that one item was wrong.
 */
static bool
refused_for_all(xmpp_stanza_t *reply)
{
	static const char *const conditions[] = {
	        "internal-server-error",   "forbidden", "not-allowed", "service-unavailable",
	        "feature-not-implemented", NULL};
	xmpp_stanza_t *err = stanza_child(reply, "error", NULL), *c;

	for (c = err ? xmpp_stanza_get_children(err) : NULL; c; c = xmpp_stanza_get_next(c)) {
		if (!xmpp_stanza_is_tag(c))
			continue;
		for (const char *const *k = conditions; *k; k++)
			if (strcmp(xmpp_stanza_get_name(c), *k) == 0)
				return true;
	}
	return false;
}

/* The next writes for that domain would fail alike: they are not tried until a new grant. */
static void
grant_broken(struct gw_net *net, const char *user)
{
	const char *domain = domain_of(user);

	if (!roster_granted(net, user))
		return;
	strmap_put(grants(net), domain, (void *)(intptr_t)GRANT_BROKEN);
	log_warnx("%s: %s announced roster access (XEP-0356) but fails the writes: its users' "
	          "contacts come as suggestions and subscription requests until it announces "
	          "the grant again",
	          net->drv->name, domain);
}

static void
pushed_cb(void *arg, xmpp_stanza_t *reply)
{
	struct push *p = arg;
	const char *type = reply ? xmpp_stanza_get_type(reply) : NULL;

	if (type && strcmp(type, "result") == 0) {
		if (p->address) {
			store_contact_set(core.store, p->net->drv->name, p->user, p->address,
			                  p->name, STORE_SUB_BOTH);
			presence_tell(p->net, p->user, p->user, p->address, true);
		} else {
			gateway_greet(p->net, p->user);
			/* Subscribed now: the user's server answers with their presence. */
			gateway_send_release(p->net,
			                     stanza_presence(p->net->jid, p->user, "probe"));
		}
	} else {
		log_info("%s: %s's server %s the roster push for %s: asking by subscription",
		         p->net->drv->name, p->user, reply ? "refused" : "did not answer",
		         p->address ? p->address : "the gateway");
		if (reply && refused_for_all(reply))
			grant_broken(p->net, p->user);
		if (p->address)
			roster_suggest(p->net, p->user, p->address, p->name);
		gateway_ask_subscription(p->net, p->user, p->address, p->name);
	}
	push_free(p);
}

bool
roster_add(struct gw_net *net, const char *user, const char *address, const char *name)
{
	xmpp_stanza_t *iq, *q, *item;
	struct push *p;
	char *jid;

	if (!roster_granted(net, user) || !wanted(net, user))
		return false;
	jid = address ? gateway_address_jid(net, address, NULL) : xstrdup(net->jid);
	iq = xmpp_iq_new(component_ctx(), "set", NULL);
	xmpp_stanza_set_to(iq, user);
	q = stanza_add_child(iq, "query", NS_ROSTER);
	item = stanza_add_child(q, "item", NULL);
	xmpp_stanza_set_attribute(item, "jid", jid);
	xmpp_stanza_set_attribute(item, "subscription", "both");
	if (name && *name)
		xmpp_stanza_set_attribute(item, "name", name);
	else if (address == NULL)
		xmpp_stanza_set_attribute(item, "name", net->drv->description);
	stanza_add_text_child(item, "group", NULL, net->drv->description);
	p = xcalloc(1, sizeof(*p));
	p->net = net;
	p->user = xstrdup(user);
	p->address = address ? xstrdup(address) : NULL;
	p->name = name ? xstrdup(name) : NULL;
	free(jid);
	if (iqwait_send(net, iq, PUSH_TIMEOUT, pushed_cb, p) == NULL) {
		/* The link is down: the subscription request waits for nothing better. */
		xmpp_stanza_release(iq);
		push_free(p);
		return false;
	}
	xmpp_stanza_release(iq);
	return true;
}

/* The item for the gateway (address NULL) or a contact, as roster_add() writes it. */
static void
suggestion_item(struct gw_net *net, xmpp_stanza_t *x, const char *address, const char *name)
{
	xmpp_stanza_t *item = stanza_add_child(x, "item", NULL);
	char *jid = address ? gateway_address_jid(net, address, NULL) : xstrdup(net->jid);

	xmpp_stanza_set_attribute(item, "action", "add");
	xmpp_stanza_set_attribute(item, "jid", jid);
	if (name && *name)
		xmpp_stanza_set_attribute(item, "name", name);
	else if (address == NULL)
		xmpp_stanza_set_attribute(item, "name", net->drv->description);
	stanza_add_text_child(item, "group", NULL, net->drv->description);
	free(jid);
}

/*
 * A suggestion goes to the bare JID: the gateway does not know which of the
 * user's clients read XEP-0144 (section 3 allows this), and the server hands
 * a message without a body to those online, or keeps it for the next login.
 */
static xmpp_stanza_t *
suggestion_new(struct gw_net *net, const char *user, xmpp_stanza_t **x)
{
	xmpp_stanza_t *msg = stanza_message(NULL, net->jid, user, NULL, NULL);

	*x = stanza_add_child(msg, "x", NS_ROSTERX);
	return msg;
}

bool
roster_suggest(struct gw_net *net, const char *user, const char *address, const char *name)
{
	xmpp_stanza_t *x, *msg;

	if (!wanted(net, user))
		return false;
	msg = suggestion_new(net, user, &x);
	suggestion_item(net, x, address, name);
	gateway_send_release(net, msg);
	return true;
}

struct sync {
	struct gw_net *net;
	const char *user;
	xmpp_stanza_t *x; /* the suggestion being filled, NULL: pushes */
	size_t n;
};

static int
sync_cb(const char *address, const char *name, enum store_sub sub, void *arg)
{
	struct sync *s = arg;

	(void)sub;
	if (s->x) {
		suggestion_item(s->net, s->x, address, name);
		s->n++;
	} else if (roster_add(s->net, s->user, address, name))
		s->n++;
	return 0;
}

long
roster_sync(struct gw_net *net, const char *user, bool *suggested)
{
	struct sync s = {net, user, NULL, 0};
	xmpp_stanza_t *msg = NULL;

	*suggested = false;
	if (!wanted(net, user))
		return -1;
	if (roster_granted(net, user))
		roster_add(net, user, NULL, NULL);
	else {
		/* One message with every item: a client offers them as one list. */
		msg = suggestion_new(net, user, &s.x);
		suggestion_item(net, s.x, NULL, NULL);
		*suggested = true;
	}
	store_contact_foreach(core.store, net->drv->name, user, sync_cb, &s);
	if (msg)
		gateway_send_release(net, msg);
	return (long)s.n;
}

void
roster_forget(struct gw_net *net)
{
	strmap_free(net->roster_grants, NULL);
	net->roster_grants = NULL;
}
