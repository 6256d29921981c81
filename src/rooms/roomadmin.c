/*
 * What a room occupant asks of the room beyond talking (XEP-0045): muc#admin
 * role and affiliation changes and lists (sections 8 and 9), the muc#owner
 * configuration form (section 10), and
 * invitations (section 7.8.2 mediated, and XEP-0249 direct ones sent to a
 * network address). rooms.c keeps the memberships; this file turns the
 * requests into the driver's room operations.
 *
 * Someone named in a request becomes, for the driver, either an occupant's
 * nick (an in-room JID or a nick attribute) or an address of the network
 * (a JID of the gateway). Invitations to other XMPP users are the core's:
 * the room forwards them itself, as a MUC service would.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "component.h"
#include "core.h"
#include "form.h"
#include "jid.h"
#include "rooms.h"
#include "stanza.h"
#include "xmltext.h"

#define NS_MUC_USER "http://jabber.org/protocol/muc#user"
#define NS_MUC_ADMIN "http://jabber.org/protocol/muc#admin"
#define NS_MUC_OWNER "http://jabber.org/protocol/muc#owner"
#define NS_CONFERENCE "jabber:x:conference"

static const char *const role_names[] = {"none", "visitor", "participant", "moderator"};
static const char *const aff_names[] = {"none", "outcast", "member", "admin", "owner"};

static int
name_index(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

/* An address typed as a JID localpart, normalised when the driver can (caller frees). */
static char *
local_address(struct gw_net *net, const char *local)
{
	char *typed = jid_unescape(local), *out = NULL, *why = NULL;

	if (net->drv->normalize == NULL || net->drv->normalize(net, typed, &out, &why) == -1) {
		free(why);
		return typed; /* a ban mask ("nick!*@host") is no address to type */
	}
	free(typed);
	return out;
}

/*
 * Who a JID names, seen from room: *nick (an in-room JID) or *address (a
 * JID of the gateway), both caller frees. 1: found; 0: a JID elsewhere (an
 * XMPP user); -1: not a JID, or nobody this room can name.
 */
static int
target_of(struct gw_net *net, const char *room, const char *s, char **nick, char **address)
{
	struct jid j;
	int r = -1;

	*nick = *address = NULL;
	if (s == NULL || jid_parse(s, &j) == -1)
		return -1;
	if (strcmp(j.domain, net->jid) != 0)
		r = 0;
	else if (j.local != NULL) {
		char *a = local_address(net, j.local);

		/* An in-room JID: of this room, or of another room of the gateway. */
		if (j.resource &&
		    (strcmp(a, room) == 0 || (net->drv->is_room && net->drv->is_room(net, a)))) {
			*nick = xstrdup(j.resource);
			r = 1;
		} else if (j.resource == NULL) {
			*address = a;
			a = NULL;
			r = 1;
		}
		free(a);
	}
	jid_clear(&j);
	return r;
}

/* True when the sender's resource is in the room; otherwise answers with an error. */
static bool
check_joined(struct gw_net *net, xmpp_stanza_t *st, const char *user, const char *room)
{
	const char *from = xmpp_stanza_get_from(st);
	const char *slash = from ? strchr(from, '/') : NULL;

	if (slash && rooms_resource_joined(net, user, slash + 1, room))
		return true;
	gateway_send_release(
	        net, stanza_error_reply(st, GW_ERR_NOT_ACCEPTABLE, "You are not in this room."));
	return false;
}

static char *
text_of(xmpp_stanza_t *el, const char *name)
{
	char *t = stanza_child_text(el, name), *copy = t ? xstrdup(t) : NULL;

	if (t)
		xmpp_free(component_ctx(), t);
	return copy;
}

/* ---- muc#admin ---- */

struct admin_item {
	char *nick, *address, *reason;
	int role, aff; /* -1 when not asked */
};

static void
admin_items_free(struct admin_item *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].nick);
		free(v[i].address);
		free(v[i].reason);
	}
	free(v);
}

/* Reads every item first: one that cannot be done refuses the whole request. */
static enum gw_error
admin_items_parse(struct gw_net *net, const char *room, xmpp_stanza_t *q, struct admin_item **out,
                  size_t *n, const char **why)
{
	struct admin_item *v = NULL;

	*n = 0;
	for (xmpp_stanza_t *el = xmpp_stanza_get_children(q); el; el = xmpp_stanza_get_next(el)) {
		const char *name = xmpp_stanza_get_name(el);
		struct admin_item it = {NULL, NULL, NULL, -1, -1};

		if (name == NULL || strcmp(name, "item") != 0)
			continue;
		it.role = name_index(role_names, 4, xmpp_stanza_get_attribute(el, "role"));
		it.aff = name_index(aff_names, 5, xmpp_stanza_get_attribute(el, "affiliation"));
		if (xmpp_stanza_get_attribute(el, "nick"))
			it.nick = xstrdup(xmpp_stanza_get_attribute(el, "nick"));
		else if (target_of(net, room, xmpp_stanza_get_attribute(el, "jid"), &it.nick,
		                   &it.address) != 1) {
			*why = "Name an occupant (nick) or someone of this network (a JID of this "
			       "gateway).";
			goto bad;
		}
		if ((it.role == -1) == (it.aff == -1)) {
			*why = "Each item changes either a role or an affiliation.";
			goto bad;
		}
		if (it.role != -1 && it.nick == NULL) {
			*why = "A role belongs to an occupant: name them by nick.";
			goto bad;
		}
		it.reason = text_of(el, "reason");
		v = xreallocarray(v, *n + 1, sizeof(*v));
		v[(*n)++] = it;
		continue;
	bad:
		free(it.nick);
		free(it.address);
		admin_items_free(v, *n);
		return GW_ERR_BAD_REQUEST;
	}
	*out = v;
	return GW_ERR_NONE;
}

static void
admin_set(struct gw_net *net, xmpp_stanza_t *iq, xmpp_stanza_t *q, const char *user,
          const char *room)
{
	struct admin_item *v = NULL;
	size_t n = 0;
	const char *why = NULL;
	enum gw_error e = admin_items_parse(net, room, q, &v, &n, &why);

	for (size_t i = 0; e == GW_ERR_NONE && i < n; i++)
		if ((v[i].role != -1 && net->drv->room_set_role == NULL) ||
		    (v[i].aff != -1 && net->drv->room_set_affiliation == NULL)) {
			e = GW_ERR_NOT_ALLOWED;
			why = v[i].role != -1 ? "Roles cannot be changed here."
			                      : "Affiliations cannot be changed here.";
		}
	if (e != GW_ERR_NONE) {
		gateway_send_release(net, stanza_error_reply(iq, e, why));
		admin_items_free(v, n);
		return;
	}
	/* The network's answer comes back as occupant changes, or a message saying why not. */
	for (size_t i = 0; i < n; i++)
		if (v[i].role != -1)
			net->drv->room_set_role(net, user, room, v[i].nick, (enum gw_role)v[i].role,
			                        v[i].reason);
		else
			net->drv->room_set_affiliation(net, user, room, v[i].nick, v[i].address,
			                               (enum gw_affiliation)v[i].aff, v[i].reason);
	gateway_send_release(net, stanza_iq_result(iq, NULL));
	admin_items_free(v, n);
}

struct role_list {
	xmpp_stanza_t *query;
	int role;
};

static void
role_item_cb(const char *nick, enum gw_role role, enum gw_affiliation aff, void *arg)
{
	struct role_list *rl = arg;
	xmpp_stanza_t *item;

	if ((int)role != rl->role)
		return;
	item = stanza_add_child(rl->query, "item", NULL);
	xmpp_stanza_set_attribute(item, "nick", nick);
	xmpp_stanza_set_attribute(item, "role", role_names[role]);
	xmpp_stanza_set_attribute(item, "affiliation", aff_names[aff]);
}

/* A role list (sections 8.5, 8.8) is what the room shows: answered from the occupants. */
static void
role_list(struct gw_net *net, xmpp_stanza_t *iq, const char *user, const char *room, int role)
{
	struct role_list rl = {xmpp_stanza_new(component_ctx()), role};

	xmpp_stanza_set_name(rl.query, "query");
	xmpp_stanza_set_ns(rl.query, NS_MUC_ADMIN);
	rooms_foreach_occupant(net, user, room, role_item_cb, &rl);
	gateway_send_release(net, stanza_iq_result(iq, rl.query));
	xmpp_stanza_release(rl.query);
}

static void
admin_get(struct gw_net *net, xmpp_stanza_t *iq, xmpp_stanza_t *q, const char *user,
          const char *room)
{
	xmpp_stanza_t *item = stanza_child(q, "item", NULL), *query;
	int aff = item ? name_index(aff_names, 5, xmpp_stanza_get_attribute(item, "affiliation"))
	               : -1;
	int role = item ? name_index(role_names, 4, xmpp_stanza_get_attribute(item, "role")) : -1;

	if (aff == -1 && role != -1) {
		role_list(net, iq, user, room, role);
		return;
	}
	if (aff == -1) {
		gateway_send_release(
		        net,
		        stanza_error_reply(iq, GW_ERR_BAD_REQUEST,
		                           "Ask for the list of one affiliation or one role."));
		return;
	}
	if (net->drv->room_list_affiliation == NULL) {
		gateway_send_release(net, stanza_error_reply(iq, GW_ERR_NOT_ALLOWED,
		                                             "This network keeps no such list."));
		return;
	}
	query = xmpp_stanza_new(component_ctx());
	xmpp_stanza_set_name(query, "query");
	xmpp_stanza_set_ns(query, NS_MUC_ADMIN);
	net->drv->room_list_affiliation(net, user, room, (enum gw_affiliation)aff,
	                                items_new(net, iq, query));
}

void
roomadmin_handle_iq(struct gw_net *net, xmpp_stanza_t *iq, xmpp_stanza_t *q, const char *user,
                    const char *room)
{
	if (!check_joined(net, iq, user, room))
		return;
	if (strcmp(xmpp_stanza_get_type(iq), "set") == 0)
		admin_set(net, iq, q, user, room);
	else
		admin_get(net, iq, q, user, room);
}

/* ---- muc#owner ---- */

struct gw_reply {
	struct gw_net *net;
	xmpp_stanza_t *iq; /* the request (a copy) */
	char *room;
};

void
gw_room_config_done(struct gw_reply *rp, const struct gw_values *current, enum gw_error e,
                    const char *why)
{
	if (e == GW_ERR_NONE) {
		char *title = xasprintf("Configuration of %s", rp->room);
		struct gw_form f = {title, NULL, rp->net->drv->room_config, current};
		xmpp_stanza_t *query = xmpp_stanza_new(component_ctx());
		xmpp_stanza_t *x = form_to_stanza(component_ctx(), &f, "form");

		xmpp_stanza_set_name(query, "query");
		xmpp_stanza_set_ns(query, NS_MUC_OWNER);
		xmpp_stanza_add_child(query, x);
		xmpp_stanza_release(x);
		gateway_send_release(rp->net, stanza_iq_result(rp->iq, query));
		xmpp_stanza_release(query);
		free(title);
	} else
		gateway_send_release(rp->net, stanza_error_reply(rp->iq, e, why));
	xmpp_stanza_release(rp->iq);
	free(rp->room);
	free(rp);
}

static void
owner_set(struct gw_net *net, xmpp_stanza_t *iq, xmpp_stanza_t *q, const char *user,
          const char *room)
{
	xmpp_stanza_t *x = stanza_child(q, "x", FORM_NS);
	struct gw_values *v;
	char *why = NULL;
	enum gw_error e;

	if (x == NULL || form_is_cancel(x)) {
		/* A destroy request, or nothing to change. */
		gateway_send_release(net, x ? stanza_iq_result(iq, NULL)
		                            : stanza_error_reply(iq, GW_ERR_NOT_ALLOWED,
		                                                 "This room cannot be destroyed."));
		return;
	}
	if ((v = form_parse_partial(x, net->drv->room_config, &why)) == NULL) {
		gateway_send_release(net, stanza_error_reply(iq, GW_ERR_BAD_REQUEST, why));
		free(why);
		return;
	}
	e = net->drv->room_config_set(net, user, room, v, &why);
	gateway_send_release(net, e == GW_ERR_NONE ? stanza_iq_result(iq, NULL)
	                                           : stanza_error_reply(iq, e, why));
	free(why);
	gw_values_free(v);
}

void
roomadmin_handle_owner(struct gw_net *net, xmpp_stanza_t *iq, xmpp_stanza_t *q, const char *user,
                       const char *room)
{
	struct gw_reply *rp;

	if (!check_joined(net, iq, user, room))
		return;
	if (net->drv->room_config == NULL || net->drv->room_config_get == NULL ||
	    net->drv->room_config_set == NULL) {
		gateway_send_release(net,
		                     stanza_error_reply(iq, GW_ERR_NOT_ALLOWED,
		                                        "This room has nothing to configure."));
		return;
	}
	if (strcmp(xmpp_stanza_get_type(iq), "set") == 0) {
		owner_set(net, iq, q, user, room);
		return;
	}
	rp = xcalloc(1, sizeof(*rp));
	rp->net = net;
	rp->iq = xmpp_stanza_copy(iq);
	rp->room = xstrdup(room);
	net->drv->room_config_get(net, user, room, rp);
}

/* ---- invitations ---- */

/*
 * The room tells to of an invitation from inviter (a JID), as a MUC service
 * does (7.8.2); reason is clean text or NULL, body an optional readable line.
 */
static void
send_invite(struct gw_net *net, const char *room, const char *to, const char *inviter,
            const char *reason, const char *body)
{
	char *rj = gateway_address_jid(net, room, NULL);
	xmpp_stanza_t *m = stanza_message(NULL, rj, to, NULL, body);
	xmpp_stanza_t *inv =
	        stanza_add_child(stanza_add_child(m, "x", NS_MUC_USER), "invite", NULL);

	xmpp_stanza_set_attribute(inv, "from", inviter);
	if (reason)
		stanza_add_text_child(inv, "reason", NULL, reason);
	gateway_send_release(net, m);
	free(rj);
}

void
gw_room_invited(struct gw_net *net, const char *user, const char *room, const char *from,
                const char *reason)
{
	char *rj = gateway_address_jid(net, room, NULL);
	char *fj = gateway_address_jid(net, from, NULL);
	char *text = xasprintf("%s invites you to %s", from, rj);
	char *body = xmltext_clean(text, strlen(text), 2048);
	char *r = reason ? xmltext_clean(reason, strlen(reason), 1024) : NULL;

	send_invite(net, room, user, fj, r, body);
	free(r);
	free(body);
	free(text);
	free(fj);
	free(rj);
}

bool
roomadmin_handle_invite(struct gw_net *net, xmpp_stanza_t *msg, const char *user, const char *room)
{
	xmpp_stanza_t *x = stanza_child(msg, "x", NS_MUC_USER);
	xmpp_stanza_t *first = x ? stanza_child(x, "invite", NULL) : NULL;

	if (first == NULL)
		return false;
	if (!check_joined(net, msg, user, room))
		return true;
	for (xmpp_stanza_t *el = first; el; el = xmpp_stanza_get_next(el)) {
		const char *name = xmpp_stanza_get_name(el);
		const char *to = xmpp_stanza_get_attribute(el, "to");
		char *nick, *address, *reason;
		int r;

		if (name == NULL || strcmp(name, "invite") != 0)
			continue;
		r = target_of(net, room, to, &nick, &address);
		if (r == -1 || (r == 1 && net->drv->room_invite == NULL)) {
			free(nick);
			free(address);
			gateway_send_release(
			        net,
			        stanza_error_reply(
			                msg, r == -1 ? GW_ERR_JID_MALFORMED : GW_ERR_NOT_ALLOWED,
			                r == -1 ? "Invite an occupant, someone of this network, or "
			                          "an XMPP "
			                          "user by JID."
			                        : "This network has no invitations."));
			return true;
		}
		reason = text_of(el, "reason");
		if (r == 0)
			send_invite(net, room, to, user, reason, NULL);
		else
			net->drv->room_invite(net, user, room, nick, address, reason);
		free(reason);
		free(nick);
		free(address);
	}
	return true;
}

bool
roomadmin_handle_direct_invite(struct gw_net *net, xmpp_stanza_t *msg, const char *user,
                               const char *address)
{
	xmpp_stanza_t *x = stanza_child(msg, "x", NS_CONFERENCE);
	char *nick = NULL, *room = NULL;
	const char *reason = x ? xmpp_stanza_get_attribute(x, "reason") : NULL;
	const char *from = xmpp_stanza_get_from(msg);
	const char *slash = from ? strchr(from, '/') : NULL;

	if (x == NULL || net->drv->room_invite == NULL || net->drv->is_room == NULL)
		return false;
	/* XEP-0249 to someone of this network, for one of this gateway's rooms. */
	if (target_of(net, "", xmpp_stanza_get_attribute(x, "jid"), &nick, &room) != 1 ||
	    room == NULL || !net->drv->is_room(net, room)) {
		free(nick);
		free(room);
		return false;
	}
	if (slash && rooms_resource_joined(net, user, slash + 1, room))
		net->drv->room_invite(net, user, room, NULL, address, reason);
	else
		gateway_send_release(net,
		                     stanza_error_reply(msg, GW_ERR_NOT_ACCEPTABLE,
		                                        "Join the room before inviting to it."));
	free(room);
	return true;
}
