/*
 * XEP-0045 rooms on top of a driver's room operations.
 *
 * The driver sees one membership per (user, room); the core fans it out to
 * every resource of the user that joined, and replays the occupant list
 * and subject to a resource that joins a room the user is already in.
 * A persistent room (the driver's room_persistent) keeps the membership
 * with no resource in it: its messages are still recorded.
 *
 * Each resource's membership is also in the store (room_members), so that
 * a restart is invisible: at start-up the room comes back "restoring",
 * the driver rejoins, the stored resources are still occupants meanwhile
 * (their self-pings answered, their messages accepted and held), and once
 * the network says joined they get the room's state again and the held
 * messages go out in the order they came. The occupants' nicks are saved
 * too (a setting of the membership, a few seconds after they change), so
 * that those who left while the gateway was down get an unavailable
 * presence: the client, which still shows them, has no ghosts.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "component.h"
#include "core.h"
#include "iqwait.h"
#include "jid.h"
#include "rooms.h"
#include "stanza.h"
#include "store.h"
#include "strmap.h"
#include "users.h"
#include "xmltext.h"

#define NS_MUC "http://jabber.org/protocol/muc"
#define NS_MUC_USER "http://jabber.org/protocol/muc#user"

/*
 * JOINING: a client asked, the driver is joining. RESTORING: rebuilt from the
 * store at start-up; its resources think they are in, the driver is
 * rejoining. JOINED: the network says we are in.
 */
enum room_state { ROOM_JOINING, ROOM_RESTORING, ROOM_JOINED };

#define CHECK_TIMEOUT 30 /* seconds a restored resource has to answer disco#info */
#define OCC_SAVE_DELAY 2 /* seconds: a channel's joins and parts are saved together */
/* The setting (scope: the room) of the occupants' nicks, one a line. */
#define OCC_KEY "room_occupants"

/* One of the user's resources in the room. */
struct member {
	char *resource;
	int hist_max;      /* history asked for on join (-1: default) */
	time_t hist_since; /* 0, or the oldest message wanted */
	bool unsure;       /* restored at start-up: not yet known to be online */
	bool checking;     /* its disco#info is out */
	bool restored;     /* restored at start-up: the ghosts go when its join completes */
};

struct occupant {
	char *nick, *address;
	char *occupant_id; /* XEP-0421, fixed when the occupant appears: nick changes keep it */
	enum gw_role role;
	enum gw_affiliation aff;
	enum gw_show show;
};

struct room {
	char *user, *room, *nick;
	enum room_state state;
	struct member *res;
	size_t nres;
	int64_t *held; /* queue ids of messages to the room held while restoring, ascending */
	size_t nheld;
	struct occupant *occ;
	size_t nocc;
	char *subject, *subject_by;
	bool archived;     /* the driver has its messages recorded (history_room_archived) */
	bool rejoin;       /* restored at start-up, room_join not called yet */
	struct sent *sent; /* the user's messages not yet reflected, oldest first */
	size_t nsent;
	char **gone; /* restored: the occupants saved before the restart, then those not back */
	size_t ngone;
	bool occ_dirty; /* the occupants changed since they were saved */
};

/*
 * A message the user sent to the room, kept until the network reflects it:
 * XEP-0045 (7.4) wants the reflection to carry the sender's id and XEP-0359
 * its origin-id, else clients show the message twice.
 */
struct sent {
	char *id, *origin_id, *body;
	time_t when;
};

#define SENT_MAX 32  /* per room: a network that never reflects cannot grow it */
#define SENT_TTL 300 /* seconds a reflection is waited for */

struct rooms {
	struct strmap *map;    /* "user\x1froom" -> struct room */
	struct event *ev_save; /* saves the changed occupant lists */
	struct gw_net *net;
};

static const char *const role_names[] = {"none", "visitor", "participant", "moderator"};
static const char *const aff_names[] = {"none", "outcast", "member", "admin", "owner"};

static char *
room_key(const char *user, const char *room)
{
	return xconcat(user, "\x1f", room, (char *)NULL);
}

static struct room *
room_get(struct gw_net *net, const char *user, const char *room)
{
	char *k = room_key(user, room);
	struct room *r = strmap_get(net->rooms->map, k);

	free(k);
	return r;
}

static void
sent_clear(struct sent *s)
{
	free(s->id);
	free(s->origin_id);
	free(s->body);
}

static void
sent_drop(struct room *r, size_t i)
{
	sent_clear(&r->sent[i]);
	memmove(&r->sent[i], &r->sent[i + 1], (r->nsent - i - 1) * sizeof(*r->sent));
	r->nsent--;
}

/* Remembers msg's id and origin-id (copied) until its reflection comes back. */
static void
sent_push(struct room *r, xmpp_stanza_t *msg)
{
	const char *id = xmpp_stanza_get_id(msg);
	xmpp_stanza_t *oid = stanza_child(msg, "origin-id", "urn:xmpp:sid:0");
	const char *origin_id = oid ? xmpp_stanza_get_attribute(oid, "id") : NULL;
	char *body = stanza_child_text(msg, "body");
	time_t now = time(NULL);
	struct sent *s;

	if (body == NULL || (id == NULL && origin_id == NULL)) {
		if (body)
			xmpp_free(component_ctx(), body);
		return;
	}
	while (r->nsent > 0 && (r->nsent >= SENT_MAX || now - r->sent[0].when > SENT_TTL))
		sent_drop(r, 0);
	r->sent = xreallocarray(r->sent, r->nsent + 1, sizeof(*r->sent));
	s = &r->sent[r->nsent++];
	s->id = id ? xstrdup(id) : NULL;
	s->origin_id = origin_id ? xstrdup(origin_id) : NULL;
	s->body = xmltext_clean(body, strlen(body), 64 * 1024);
	s->when = now;
	xmpp_free(component_ctx(), body);
}

/*
 * The oldest sent message whose text is clean (the reflection's), taken off
 * the list; the caller frees it with sent_clear. false if none matches (the
 * network changed the text, or it is someone else's message).
 */
static bool
sent_take(struct room *r, const char *clean, struct sent *out)
{
	for (size_t i = 0; i < r->nsent; i++)
		if (strcmp(r->sent[i].body, clean) == 0) {
			*out = r->sent[i];
			memmove(&r->sent[i], &r->sent[i + 1],
			        (r->nsent - i - 1) * sizeof(*r->sent));
			r->nsent--;
			return true;
		}
	return false;
}

static void
room_free(void *p)
{
	struct room *r = p;

	for (size_t i = 0; i < r->nres; i++)
		free(r->res[i].resource);
	for (size_t i = 0; i < r->nocc; i++) {
		free(r->occ[i].nick);
		free(r->occ[i].address);
		free(r->occ[i].occupant_id);
	}
	for (size_t i = 0; i < r->nsent; i++)
		sent_clear(&r->sent[i]);
	free(r->sent);
	for (size_t i = 0; i < r->ngone; i++)
		free(r->gone[i]);
	free(r->gone);
	free(r->res);
	free(r->held);
	free(r->occ);
	free(r->user);
	free(r->room);
	free(r->nick);
	free(r->subject);
	free(r->subject_by);
	free(r);
}

/* ---- the memberships in the store ---- */

static void
stored_add(struct gw_net *net, const struct room *r, const char *resource)
{
	delivery_txn();
	if (store_member_add(core.store, net->drv->name, r->user, r->room, r->nick, resource) == -1)
		log_warnx("%s: %s: could not record the membership of %s", net->drv->name, r->user,
		          r->room);
}

/* resource NULL: the whole room. */
static void
stored_remove(struct gw_net *net, const struct room *r, const char *resource)
{
	delivery_txn();
	store_member_remove(core.store, net->drv->name, r->user, r->room, resource);
}

/* Deletes the membership; the messages it held fail (the user is told). */
static void
room_delete(struct gw_net *net, struct room *r)
{
	char *k = room_key(r->user, r->room);
	int64_t *held = r->held;
	size_t nheld = r->nheld;

	stored_remove(net, r, NULL);
	store_setting_set(core.store, net->drv->name, r->user, r->room, OCC_KEY, NULL);
	strmap_del(net->rooms->map, k);
	free(k);
	r->held = NULL;
	room_free(r);
	delivery_release(net, held, nheld, "you are not in this room");
	free(held);
}

static void occ_timer_cb(evutil_socket_t, short, void *);

void
rooms_init(struct gw_net *net)
{
	net->rooms = xcalloc(1, sizeof(*net->rooms));
	net->rooms->map = strmap_new();
	net->rooms->net = net;
	if (core.base != NULL)
		net->rooms->ev_save = evtimer_new(core.base, occ_timer_cb, net->rooms);
}

void
rooms_free(struct gw_net *net)
{
	if (net->rooms == NULL)
		return;
	if (net->rooms->ev_save)
		event_free(net->rooms->ev_save);
	strmap_free(net->rooms->map, room_free);
	free(net->rooms);
	net->rooms = NULL;
}

size_t
rooms_count(struct gw_net *net)
{
	return strmap_count(net->rooms->map);
}

static struct member *
find_member(struct room *r, const char *resource)
{
	for (size_t i = 0; i < r->nres; i++)
		if (strcmp(r->res[i].resource, resource) == 0)
			return &r->res[i];
	return NULL;
}

static bool
has_resource(struct room *r, const char *resource)
{
	return find_member(r, resource) != NULL;
}

/*
 * What history a join asks for (XEP-0045 section 7.2.15): maxstanzas,
 * maxchars="0" for none, seconds or since for a start.
 */
static void
history_request(xmpp_stanza_t *x, int *max, time_t *since)
{
	xmpp_stanza_t *h = x ? stanza_child(x, "history", NULL) : NULL;
	const char *v;
	struct tm tm;

	*max = -1;
	*since = 0;
	if (h == NULL)
		return;
	if ((v = xmpp_stanza_get_attribute(h, "maxstanzas")) != NULL)
		*max = atoi(v) < 0 ? 0 : atoi(v);
	if ((v = xmpp_stanza_get_attribute(h, "maxchars")) != NULL && atoi(v) == 0)
		*max = 0;
	if ((v = xmpp_stanza_get_attribute(h, "seconds")) != NULL)
		*since = time(NULL) - atol(v);
	memset(&tm, 0, sizeof(tm));
	if ((v = xmpp_stanza_get_attribute(h, "since")) != NULL &&
	    strptime(v, "%Y-%m-%dT%H:%M:%S", &tm) != NULL)
		*since = timegm(&tm);
}

/* The member for resource, added if new (x: its join's <x/>, for the history it wants). */
static struct member *
add_resource(struct room *r, const char *resource, xmpp_stanza_t *x)
{
	struct member *m = find_member(r, resource);

	if (m != NULL)
		return m;
	r->res = xreallocarray(r->res, r->nres + 1, sizeof(*r->res));
	m = &r->res[r->nres++];
	memset(m, 0, sizeof(*m));
	m->resource = xstrdup(resource);
	history_request(x, &m->hist_max, &m->hist_since);
	return m;
}

/* Forgets resource, in memory and in the store. */
static void
remove_resource(struct gw_net *net, struct room *r, const char *resource)
{
	struct member *m = find_member(r, resource);

	if (m == NULL)
		return;
	stored_remove(net, r, resource);
	free(m->resource);
	*m = r->res[--r->nres];
}

static struct occupant *
find_occupant(struct room *r, const char *nick)
{
	for (size_t i = 0; i < r->nocc; i++)
		if (strcmp(r->occ[i].nick, nick) == 0)
			return &r->occ[i];
	return NULL;
}

static void
drop_occupant(struct room *r, const char *nick)
{
	struct occupant *o = find_occupant(r, nick);

	if (o == NULL)
		return;
	free(o->nick);
	free(o->address);
	free(o->occupant_id);
	*o = r->occ[--r->nocc];
}

/* The full JID of one of the user's resources. */
static char *
resource_jid(const struct room *r, size_t i)
{
	return xconcat(r->user, "/", r->res[i].resource, (char *)NULL);
}

static bool
room_nonanonymous(struct gw_net *net)
{
	return net->drv->rooms_nonanonymous;
}

/*
 * The real JID shown for nick in a non-anonymous room (caller frees), or
 * NULL: the user's own is the resource's full JID (to), another
 * occupant's the JID of its address.
 */
static char *
real_jid(struct gw_net *net, const struct room *r, const char *to, const char *nick,
         const struct occupant *o)
{
	if (strcmp(nick, r->nick) == 0)
		return xstrdup(to);
	if (o == NULL || o->address == NULL)
		return NULL;
	return gateway_address_jid(net, o->address, NULL);
}

/* XEP-0421: who sent a presence or message, as an id that survives nick changes. */
static void
add_occupant_id(struct gw_net *net, const struct room *r, xmpp_stanza_t *st, const char *nick,
                const struct occupant *o)
{
	char *id = o && o->occupant_id ? NULL : occupant_id(net, r->room, nick);

	xmpp_stanza_set_attribute(stanza_add_child(st, "occupant-id", "urn:xmpp:occupant-id:0"),
	                          "id", id ? id : o->occupant_id);
	free(id);
}

/*
 * A presence from room/nick to one resource. codes: status codes ending
 * with 0. self adds 110. new_nick for 303.
 */
static xmpp_stanza_t *
occupant_presence(struct gw_net *net, struct room *r, const char *to, const char *nick,
                  const struct occupant *o, const char *type, const int *codes,
                  const char *new_nick, const char *reason)
{
	char *from = gateway_address_jid(net, r->room, nick);
	xmpp_stanza_t *p = stanza_presence(from, to, type);
	xmpp_stanza_t *x = stanza_add_child(p, "x", NS_MUC_USER);
	xmpp_stanza_t *item = stanza_add_child(x, "item", NULL);

	xmpp_stanza_set_attribute(item, "affiliation", aff_names[o ? o->aff : GW_AFF_NONE]);
	xmpp_stanza_set_attribute(item, "role",
	                          type ? "none" : role_names[o ? o->role : GW_ROLE_PARTICIPANT]);
	if (room_nonanonymous(net)) {
		char *real = real_jid(net, r, to, nick, o);

		if (real)
			xmpp_stanza_set_attribute(item, "jid", real);
		free(real);
	}
	if (new_nick)
		xmpp_stanza_set_attribute(item, "nick", new_nick);
	if (reason)
		stanza_add_text_child(item, "reason", NULL, reason);
	if (type == NULL && o && o->show != GW_SHOW_ONLINE && o->show != GW_SHOW_OFFLINE) {
		static const char *const shows[GW_SHOW_UNKNOWN + 1] = {NULL, NULL,  "away",
		                                                       "xa", "dnd", "chat"};

		if (shows[o->show])
			stanza_add_text_child(p, "show", NULL, shows[o->show]);
	}
	add_occupant_id(net, r, p, nick, o);
	for (; codes && *codes; codes++) {
		char c[8];

		snprintf(c, sizeof(c), "%d", *codes);
		xmpp_stanza_set_attribute(stanza_add_child(x, "status", NULL), "code", c);
	}
	free(from);
	return p;
}

/* Sends a presence about nick to every joined resource of the user. */
static void
broadcast_presence(struct gw_net *net, struct room *r, const char *nick, const struct occupant *o,
                   const char *type, const int *codes, const char *new_nick, const char *reason)
{
	for (size_t i = 0; i < r->nres; i++) {
		char *to = resource_jid(r, i);

		gateway_send_release(
		        net, occupant_presence(net, r, to, nick, o, type, codes, new_nick, reason));
		free(to);
	}
}

static void
send_subject(struct gw_net *net, struct room *r, const char *to)
{
	char *from = gateway_address_jid(net, r->room, r->subject_by);
	char *rj = gateway_address_jid(net, r->room, NULL);
	xmpp_stanza_t *m = stanza_message("groupchat", r->subject_by ? from : rj, to, NULL, NULL);

	stanza_add_text_child(m, "subject", NULL, r->subject ? r->subject : "");
	gateway_send_release(net, m);
	free(from);
	free(rj);
}

/*
 * The status codes of a join's self-presence (XEP-0045 section 7.2.2),
 * ending with 0: 110, 100 when everyone's real JID is shown, 170 when the
 * room's messages are recorded, 210 when the network gave another nick.
 */
static void
join_codes(struct gw_net *net, const struct room *r, bool nick_changed, int codes[5])
{
	size_t n = 0;

	codes[n++] = 110;
	if (room_nonanonymous(net))
		codes[n++] = 100;
	if (r->archived && history_enabled(net))
		codes[n++] = 170;
	if (nick_changed)
		codes[n++] = 210;
	codes[n] = 0;
}

/* What a resource sees when its join completes: occupants, itself, history, the subject. */
static void
send_join_to(struct gw_net *net, struct room *r, const char *resource, bool nick_changed)
{
	char *to = xconcat(r->user, "/", resource, (char *)NULL);
	int self_codes[5];
	struct occupant *self = find_occupant(r, r->nick);
	struct occupant fallback = {r->nick,     NULL,          NULL, GW_ROLE_PARTICIPANT,
	                            GW_AFF_NONE, GW_SHOW_ONLINE};

	join_codes(net, r, nick_changed, self_codes);
	for (size_t i = 0; i < r->nocc; i++)
		if (strcmp(r->occ[i].nick, r->nick) != 0)
			gateway_send_release(net,
			                     occupant_presence(net, r, to, r->occ[i].nick,
			                                       &r->occ[i], NULL, NULL, NULL, NULL));
	gateway_send_release(net, occupant_presence(net, r, to, r->nick, self ? self : &fallback,
	                                            NULL, self_codes, NULL, NULL));
	{
		struct member *m = find_member(r, resource);

		if (m != NULL)
			history_send_on_join(net, r->user, r->room, to, m->hist_max, m->hist_since);
	}
	send_subject(net, r, to);
	free(to);
}

static void occ_send_gone(struct gw_net *, struct room *, struct member *);

/* A resource's join is complete: it is recorded and sees the room. */
static void
join_completed(struct gw_net *net, struct room *r, const char *resource, bool nick_changed)
{
	struct member *m = find_member(r, resource);

	stored_add(net, r, resource);
	send_join_to(net, r, resource, nick_changed);
	if (m != NULL)
		occ_send_gone(net, r, m);
}

static void
send_self_unavailable(struct gw_net *net, struct room *r, const char *resource, int code)
{
	char *to = xconcat(r->user, "/", resource, (char *)NULL);
	int codes[] = {110, code, 0};

	gateway_send_release(net, occupant_presence(net, r, to, r->nick, find_occupant(r, r->nick),
	                                            "unavailable", codes, NULL, NULL));
	free(to);
}

static void
join_error(struct gw_net *net, const char *user, const char *resource, const char *room,
           const char *nick, enum gw_error e, const char *why)
{
	char *from = gateway_address_jid(net, room, nick);
	char *to = xconcat(user, "/", resource, (char *)NULL);
	xmpp_stanza_t *p = stanza_presence(from, to, "error");
	xmpp_stanza_t *err = stanza_add_child(p, "error", NULL);

	xmpp_stanza_set_type(err, stanza_error_type(e));
	stanza_add_child(err, stanza_error_condition(e), "urn:ietf:params:xml:ns:xmpp-stanzas");
	if (why)
		stanza_add_text_child(err, "text", "urn:ietf:params:xml:ns:xmpp-stanzas", why);
	gateway_send_release(net, p);
	free(from);
	free(to);
}

/* The last resource left: the driver leaves the room, unless it keeps it. */
static void
leave_if_empty(struct gw_net *net, struct room *r)
{
	if (r->nres > 0)
		return;
	if (net->drv->room_persistent && net->drv->room_persistent(net, r->user, r->room))
		return;
	if (net->drv->room_leave)
		net->drv->room_leave(net, r->user, r->room, NULL);
	room_delete(net, r);
}

/* A membership in state joining, with no resource yet. */
static struct room *
room_new(struct gw_net *net, const char *user, const char *room, const char *nick)
{
	struct room *r = xcalloc(1, sizeof(*r));
	char *k = room_key(user, room);

	r->user = xstrdup(user);
	r->room = xstrdup(room);
	r->nick = xstrdup(nick);
	r->state = ROOM_JOINING;
	r->archived = history_room_archived(net, user, room);
	strmap_put(net->rooms->map, k, r);
	free(k);
	return r;
}

bool
rooms_handle_presence(struct gw_net *net, xmpp_stanza_t *pres, const char *user,
                      const char *resource, const char *room, const char *nick)
{
	const char *type = xmpp_stanza_get_type(pres);
	struct room *r = room_get(net, user, room);
	xmpp_stanza_t *x = stanza_child(pres, "x", NS_MUC);

	if (resource == NULL)
		return false;
	if (type && (strcmp(type, "unavailable") == 0 || strcmp(type, "error") == 0)) {
		if (r == NULL || !has_resource(r, resource))
			return r != NULL;
		if (strcmp(type, "unavailable") == 0)
			send_self_unavailable(net, r, resource, 0);
		remove_resource(net, r, resource);
		leave_if_empty(net, r);
		return true;
	}
	if (type != NULL)
		return false; /* subscriptions to a room JID: not ours to handle */
	if (r == NULL) {
		char *password = NULL;

		if (x == NULL)
			return false;
		if (!core_domain_allowed(user)) {
			join_error(net, user, resource, room, nick, GW_ERR_FORBIDDEN,
			           "This gateway does not serve your server.");
			return true;
		}
		if (!jid_resource_valid(nick)) {
			join_error(net, user, resource, room, nick, GW_ERR_JID_MALFORMED,
			           "That nickname cannot be used here.");
			return true;
		}
		password = stanza_child_text(x, "password");
		r = room_new(net, user, room, nick);
		add_resource(r, resource, x);
		net->drv->room_join(net, user, room, nick, password);
		if (password)
			xmpp_free(component_ctx(), password);
		return true;
	}
	if (!has_resource(r, resource)) {
		if (x == NULL)
			return false;
		add_resource(r, resource, x);
		/* One nick per user and room: a later resource gets the current one (210). */
		if (r->state == ROOM_JOINED)
			join_completed(net, r, resource, strcmp(nick, r->nick) != 0);
		return true;
	}
	if (x != NULL && strcmp(nick, r->nick) == 0) {
		/*
		 * A join from a resource that is in already: a client that came back
		 * (or restored after our restart) and does not know. It gets the room.
		 */
		struct member *m = find_member(r, resource);

		m->unsure = false;
		history_request(x, &m->hist_max, &m->hist_since);
		if (r->state == ROOM_JOINED)
			join_completed(net, r, resource, false);
		return true;
	}
	if (strcmp(nick, r->nick) != 0 && r->state == ROOM_JOINED) {
		if (net->drv->room_set_nick)
			net->drv->room_set_nick(net, user, room, nick);
		else
			join_error(net, user, resource, room, nick, GW_ERR_NOT_ALLOWED,
			           "This network does not allow nickname changes.");
	}
	return true;
}

void
rooms_handle_groupchat(struct gw_net *net, xmpp_stanza_t *msg, const char *user,
                       const char *resource, const char *room)
{
	struct room *r = room_get(net, user, room);
	xmpp_stanza_t *subject;

	if (r == NULL || resource == NULL || !has_resource(r, resource) ||
	    r->state == ROOM_JOINING) {
		gateway_send_release(net, stanza_error_reply(msg, GW_ERR_NOT_ACCEPTABLE,
		                                             "You are not in this room."));
		return;
	}
	subject = stanza_child(msg, "subject", NULL);
	if (subject && stanza_child(msg, "body", NULL) == NULL) {
		char *text = xmpp_stanza_get_text(subject);

		if (net->drv->room_set_subject)
			net->drv->room_set_subject(net, user, room, text ? text : "");
		else
			gateway_send_release(
			        net, stanza_error_reply(msg, GW_ERR_FORBIDDEN,
			                                "The subject cannot be changed here."));
		if (text)
			xmpp_free(component_ctx(), text);
		return;
	}
	sent_push(r, msg);
	delivery_from_xmpp(net, msg, user, resource, room, NULL, true);
}

bool
rooms_view(struct gw_net *net, const char *user, const char *room, struct roominfo_view *view)
{
	struct room *r = room_get(net, user, room);

	if (r == NULL || r->state != ROOM_JOINED)
		return false;
	view->occupants = r->nocc;
	view->subject = r->subject;
	view->archived = r->archived;
	return true;
}

bool
rooms_resource_joined(struct gw_net *net, const char *user, const char *resource, const char *room)
{
	struct room *r = room_get(net, user, room);

	return r && resource && has_resource(r, resource);
}

void
rooms_foreach_occupant(struct gw_net *net, const char *user, const char *room,
                       void (*fn)(const char *nick, enum gw_role, enum gw_affiliation, void *),
                       void *arg)
{
	struct room *r = room_get(net, user, room);

	for (size_t i = 0; r && i < r->nocc; i++)
		fn(r->occ[i].nick, r->occ[i].role, r->occ[i].aff, arg);
}

bool
rooms_handle_iq(struct gw_net *net, xmpp_stanza_t *iq, const char *user, const char *room,
                const char *nick)
{
	xmpp_stanza_t *q = xmpp_stanza_get_children(iq);
	const char *ns;
	struct room *r = room_get(net, user, room);

	while (q && xmpp_stanza_get_name(q) == NULL)
		q = xmpp_stanza_get_next(q);
	ns = q ? xmpp_stanza_get_ns(q) : NULL;
	if (ns == NULL)
		return false;
	if (nick && strcmp(ns, "urn:xmpp:ping") == 0) {
		/* XEP-0410: a ping to one's own in-room JID says whether one is still joined. */
		const char *from = xmpp_stanza_get_from(iq);
		const char *slash = from ? strchr(from, '/') : NULL;

		if (r && slash && has_resource(r, slash + 1) && strcmp(nick, r->nick) == 0)
			gateway_send_release(net, stanza_iq_result(iq, NULL));
		else
			gateway_send_release(net, stanza_error_reply(iq, GW_ERR_NOT_ACCEPTABLE,
			                                             "You are not in this room."));
		return true;
	}
	if (nick == NULL && strcmp(ns, "urn:xmpp:mam:2") == 0) {
		history_handle_iq(net, iq, user, room);
		return true;
	}
	if (nick == NULL && strcmp(ns, NS_MUC "#admin") == 0) {
		roomadmin_handle_iq(net, iq, q, user, room);
		return true;
	}
	if (nick == NULL && strcmp(ns, NS_MUC "#owner") == 0) {
		roomadmin_handle_owner(net, iq, q, user, room);
		return true;
	}
	if (nick == NULL && strcmp(xmpp_stanza_get_type(iq), "get") == 0 &&
	    strcmp(ns, "http://jabber.org/protocol/disco#info") == 0) {
		roominfo_ask(net, iq, user, room);
		return true;
	}
	return false;
}

struct collect {
	const char *user;
	char **keys;
	size_t n;
};

static void
collect_cb(const char *key, void *value, void *arg)
{
	struct collect *c = arg;
	struct room *r = value;

	if (c->user && strcmp(r->user, c->user) != 0)
		return;
	c->keys = xreallocarray(c->keys, c->n + 1, sizeof(char *));
	c->keys[c->n++] = xstrdup(key);
}

void
rooms_resource_gone(struct gw_net *net, const char *user, const char *resource)
{
	struct collect c = {user, NULL, 0};

	strmap_foreach(net->rooms->map, collect_cb, &c);
	for (size_t i = 0; i < c.n; i++) {
		struct room *r = strmap_get(net->rooms->map, c.keys[i]);

		if (r != NULL) {
			if (resource)
				remove_resource(net, r, resource);
			else
				while (r->nres > 0) {
					send_self_unavailable(net, r, r->res[0].resource, 0);
					remove_resource(net, r, r->res[0].resource);
				}
			leave_if_empty(net, r);
		}
		free(c.keys[i]);
	}
	free(c.keys);
}

static void
shutdown_cb(const char *key, void *value, void *arg)
{
	struct gw_net *net = arg;
	struct room *r = value;

	(void)key;
	for (size_t i = 0; i < r->nres; i++)
		send_self_unavailable(net, r, r->res[i].resource, 332);
	stored_remove(net, r, NULL);
	store_setting_set(core.store, net->drv->name, r->user, r->room, OCC_KEY, NULL);
}

void
rooms_shutdown(struct gw_net *net)
{
	strmap_foreach(net->rooms->map, shutdown_cb, net);
}

/* ---- the occupants in the store ---- */

/* Writes the nicks of r's occupants, one a line. */
static void
occ_save(struct gw_net *net, struct room *r)
{
	size_t len = 1, off = 0;
	char *v;

	for (size_t i = 0; i < r->nocc; i++)
		len += strlen(r->occ[i].nick) + 1;
	v = xmalloc(len);
	for (size_t i = 0; i < r->nocc; i++)
		off += (size_t)sprintf(v + off, "%s\n", r->occ[i].nick);
	v[off] = '\0';
	delivery_txn();
	if (store_setting_set(core.store, net->drv->name, r->user, r->room, OCC_KEY, v) == -1)
		log_warnx("%s: %s: could not save the occupants of %s", net->drv->name, r->user,
		          r->room);
	free(v);
	r->occ_dirty = false;
}

static void
occ_save_cb(const char *key, void *value, void *arg)
{
	struct room *r = value;

	(void)key;
	if (r->occ_dirty && r->state == ROOM_JOINED)
		occ_save(arg, r);
}

static void
occ_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rooms *rs = arg;

	(void)fd;
	(void)what;
	strmap_foreach(rs->map, occ_save_cb, rs->net);
}

/* r's occupants changed: saved a moment later (a NAMES of thousands is one write). */
static void
occ_changed(struct gw_net *net, struct room *r)
{
	struct timeval tv = {OCC_SAVE_DELAY, 0};

	r->occ_dirty = true;
	if (net->rooms->ev_save && !evtimer_pending(net->rooms->ev_save, NULL))
		evtimer_add(net->rooms->ev_save, &tv);
}

/* The saved nicks of a restored room, into r->gone. */
static void
occ_load(struct gw_net *net, struct room *r)
{
	char *v = NULL, *save = NULL;

	if (store_setting_get(core.store, net->drv->name, r->user, r->room, OCC_KEY, &v) != 1)
		return;
	for (char *n = strtok_r(v, "\n", &save); n; n = strtok_r(NULL, "\n", &save)) {
		r->gone = xreallocarray(r->gone, r->ngone + 1, sizeof(*r->gone));
		r->gone[r->ngone++] = xstrdup(n);
	}
	free(v);
}

/*
 * Rejoined: r->gone keeps the saved occupants that are not back. Our own
 * nick, old (the join asked for it) or new, is never one of them.
 */
static void
occ_find_gone(struct room *r, const char *old_nick)
{
	size_t n = 0;

	for (size_t i = 0; i < r->ngone; i++) {
		bool back = strcmp(r->gone[i], r->nick) == 0 || strcmp(r->gone[i], old_nick) == 0;

		for (size_t j = 0; j < r->nocc && !back; j++)
			back = strcmp(r->occ[j].nick, r->gone[i]) == 0;
		if (back)
			free(r->gone[i]);
		else
			r->gone[n++] = r->gone[i];
	}
	r->ngone = n;
}

/* A restored resource sees the room again: the occupants who left meanwhile leave. */
static void
occ_send_gone(struct gw_net *net, struct room *r, struct member *m)
{
	char *to;

	if (!m->restored)
		return;
	m->restored = false;
	to = xconcat(r->user, "/", m->resource, (char *)NULL);
	for (size_t i = 0; i < r->ngone; i++)
		if (find_occupant(r, r->gone[i]) == NULL)
			gateway_send_release(net,
			                     occupant_presence(net, r, to, r->gone[i], NULL,
			                                       "unavailable", NULL, NULL, NULL));
	free(to);
}

void
rooms_save(struct gw_net *net)
{
	if (net->rooms != NULL)
		strmap_foreach(net->rooms->map, occ_save_cb, net);
}

/* ---- holding messages while restoring ---- */

bool
rooms_hold_message(struct gw_net *net, const char *user, const char *room, int64_t qid)
{
	struct room *r = room_get(net, user, room);
	size_t i;

	if (r == NULL || r->state != ROOM_RESTORING)
		return false;
	for (i = r->nheld; i > 0 && r->held[i - 1] >= qid; i--)
		if (r->held[i - 1] == qid)
			return true;
	r->held = xreallocarray(r->held, r->nheld + 1, sizeof(*r->held));
	memmove(&r->held[i + 1], &r->held[i], (r->nheld - i) * sizeof(*r->held));
	r->held[i] = qid;
	r->nheld++;
	return true;
}

/* The network has the room again: what was held goes, oldest first. */
static void
release_held(struct gw_net *net, struct room *r)
{
	int64_t *held = r->held;
	size_t n = r->nheld;

	r->held = NULL;
	r->nheld = 0;
	if (n > 0)
		log_info("%s: %s: %zu messages to %s sent now the room is joined again",
		         net->drv->name, r->user, n, r->room);
	delivery_release(net, held, n, NULL);
	free(held);
}

/* ---- restoring at start-up ---- */

static int
restore_cb(const char *user, const char *room, const char *nick, const char *resource, void *arg)
{
	struct gw_net *net = arg;
	struct room *r = room_get(net, user, room);
	struct member *m;

	if (r == NULL) {
		r = room_new(net, user, room, nick);
		r->state = ROOM_RESTORING;
		r->rejoin = true;
		occ_load(net, r);
	} else if (r->state == ROOM_JOINING) {
		r->state = ROOM_RESTORING; /* a persistent room the driver is joining already */
		if (r->ngone == 0)
			occ_load(net, r);
	}
	m = add_resource(r, resource, NULL);
	m->hist_max = 0; /* the client has seen the history already */
	m->unsure = true;
	m->restored = true;
	return 0;
}

static void
collect_rejoin_cb(const char *key, void *value, void *arg)
{
	struct collect *c = arg;
	struct room *r = value;

	if (!r->rejoin)
		return;
	r->rejoin = false;
	c->keys = xreallocarray(c->keys, c->n + 1, sizeof(char *));
	c->keys[c->n++] = xstrdup(key);
}

void
rooms_restore(struct gw_net *net)
{
	struct collect c = {NULL, NULL, 0};

	if (net->drv->room_join == NULL)
		return;
	if (store_member_foreach(core.store, net->drv->name, restore_cb, net) == -1)
		log_warnx("%s: the room memberships could not be read", net->drv->name);
	strmap_foreach(net->rooms->map, collect_rejoin_cb, &c);
	if (c.n > 0)
		log_info("%s: rejoining %zu rooms", net->drv->name, c.n);
	/* Collected first: the driver may answer (gw_room_joined) during room_join. */
	for (size_t i = 0; i < c.n; i++) {
		struct room *r = strmap_get(net->rooms->map, c.keys[i]);

		if (r != NULL) {
			/* Copies: the driver's answer may change or delete the room. */
			char *user = xstrdup(r->user), *room = xstrdup(r->room);
			char *nick = xstrdup(r->nick);

			net->drv->room_join(net, user, room, nick, NULL);
			free(user);
			free(room);
			free(nick);
		}
		free(c.keys[i]);
	}
	free(c.keys);
}

bool
gw_room_restoring(struct gw_net *net, const char *user, const char *room)
{
	struct room *r = room_get(net, user, room);

	return r != NULL && r->state == ROOM_RESTORING;
}

/*
 * Whether a restored resource is still online: a disco#info to it. Its
 * server answers an error for a resource that has gone (RFC 6120 8.5.3.2.1);
 * every client answers disco#info (XEP-0115 needs it).
 */
struct check {
	struct gw_net *net;
	char *user, *room, *resource;
};

static void
check_done_cb(void *arg, xmpp_stanza_t *reply)
{
	struct check *ck = arg;
	struct gw_net *net = ck->net;
	struct room *r = core.shutting_down ? NULL : room_get(net, ck->user, ck->room);
	struct member *m = r ? find_member(r, ck->resource) : NULL;
	const char *type = reply ? xmpp_stanza_get_type(reply) : NULL;

	if (m != NULL && m->checking) {
		m->checking = false;
		if (type && strcmp(type, "result") == 0) {
			m->unsure = false;
			if (r->state == ROOM_JOINED)
				join_completed(net, r, ck->resource, false);
		} else if (reply != NULL || component_is_online(net->comp)) {
			log_info("%s: %s/%s is gone: out of %s", net->drv->name, ck->user,
			         ck->resource, ck->room);
			remove_resource(net, r, ck->resource);
			leave_if_empty(net, r);
		}
		/* Else the link went down: asked again when it is back. */
	}
	free(ck->user);
	free(ck->room);
	free(ck->resource);
	free(ck);
}

static void
check_member(struct gw_net *net, struct room *r, struct member *m)
{
	char *to = xconcat(r->user, "/", m->resource, (char *)NULL);
	xmpp_stanza_t *iq = xmpp_iq_new(component_ctx(), "get", NULL);
	struct check *ck = xcalloc(1, sizeof(*ck));

	xmpp_stanza_set_to(iq, to);
	stanza_add_child(iq, "query", "http://jabber.org/protocol/disco#info");
	ck->net = net;
	ck->user = xstrdup(r->user);
	ck->room = xstrdup(r->room);
	ck->resource = xstrdup(m->resource);
	if (iqwait_send(net, iq, CHECK_TIMEOUT, check_done_cb, ck) != NULL)
		m->checking = true;
	else {
		free(ck->user);
		free(ck->room);
		free(ck->resource);
		free(ck);
	}
	xmpp_stanza_release(iq);
	free(to);
}

static void
check_room_cb(const char *key, void *value, void *arg)
{
	struct room *r = value;

	(void)key;
	for (size_t i = 0; i < r->nres; i++)
		if (r->res[i].unsure && !r->res[i].checking)
			check_member(arg, r, &r->res[i]);
}

void
rooms_online(struct gw_net *net)
{
	strmap_foreach(net->rooms->map, check_room_cb, net);
}

/* ---- driver -> core ---- */

void
gw_room_joined(struct gw_net *net, const char *user, const char *room, const char *nick)
{
	struct room *r = room_get(net, user, room);
	char *old_nick;
	bool nick_changed;

	if (r == NULL)
		return;
	/* r->nick is still the nick the join asked for. */
	nick_changed = strcmp(r->nick, nick) != 0;
	old_nick = r->nick;
	r->nick = xstrdup(nick);
	r->state = ROOM_JOINED;
	r->archived = history_room_archived(net, user, room);
	if (find_occupant(r, nick) == NULL) {
		struct gw_occupant self = {nick, GW_ROLE_PARTICIPANT, GW_AFF_NONE,
		                           NULL, GW_SHOW_ONLINE,      NULL};

		r->state = ROOM_JOINING; /* not broadcast: the join below sends it */
		gw_room_occupant(net, user, room, &self);
		r->state = ROOM_JOINED;
	}
	occ_find_gone(r, old_nick);
	free(old_nick);
	occ_changed(net, r);
	/* A restored resource not known to be online yet gets the room when it answers. */
	for (size_t i = 0; i < r->nres; i++)
		if (!r->res[i].unsure)
			join_completed(net, r, r->res[i].resource, nick_changed);
	release_held(net, r);
}

void
gw_room_join_failed(struct gw_net *net, const char *user, const char *room, enum gw_error e,
                    const char *why)
{
	struct room *r = room_get(net, user, room);

	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nres; i++)
		join_error(net, user, r->res[i].resource, room, r->nick, e, why);
	room_delete(net, r);
}

void
gw_room_occupant(struct gw_net *net, const char *user, const char *room,
                 const struct gw_occupant *occ)
{
	struct room *r = room_get(net, user, room);
	struct occupant *o;

	if (r == NULL || occ->nick == NULL || *occ->nick == '\0')
		return;
	o = find_occupant(r, occ->nick);
	if (o == NULL) {
		r->occ = xreallocarray(r->occ, r->nocc + 1, sizeof(*r->occ));
		o = &r->occ[r->nocc++];
		memset(o, 0, sizeof(*o));
		o->nick = xmltext_clean(occ->nick, strlen(occ->nick), 256);
		o->occupant_id = occupant_id(net, room, occ->identity ? occ->identity : occ->nick);
		occ_changed(net, r);
	}
	o->role = occ->role;
	o->aff = occ->affiliation;
	o->show = occ->show;
	xstrset(&o->address, occ->address);
	if (r->state == ROOM_JOINED) {
		int self_codes[] = {110, 0};

		broadcast_presence(net, r, o->nick, o, NULL,
		                   strcmp(o->nick, r->nick) == 0 ? self_codes : NULL, NULL, NULL);
	}
}

void
gw_room_left(struct gw_net *net, const char *user, const char *room, const char *nick,
             enum gw_leave how, const char *by, const char *reason)
{
	struct room *r = room_get(net, user, room);
	static const int how_codes[] = {[GW_LEAVE_PART] = 0,
	                                [GW_LEAVE_KICK] = 307,
	                                [GW_LEAVE_BAN] = 301,
	                                [GW_LEAVE_SHUTDOWN] = 332};
	int codes[3] = {0, 0, 0};
	char *clean_reason = reason ? xmltext_clean(reason, strlen(reason), 1024) : NULL;
	struct occupant *o;

	(void)by;
	if (r == NULL)
		goto out;
	o = find_occupant(r, nick);
	if (strcmp(nick, r->nick) == 0) {
		codes[0] = 110;
		codes[1] = how_codes[how];
		broadcast_presence(net, r, nick, o, "unavailable", codes, NULL, clean_reason);
		if (how == GW_LEAVE_SHUTDOWN) {
			/* The network link is gone, not the membership: the driver rejoins. */
			while (r->nocc > 0)
				drop_occupant(r, r->occ[0].nick);
			r->state = ROOM_JOINING;
			goto out;
		}
		room_delete(net, r);
		goto out;
	}
	codes[0] = how_codes[how];
	if (r->state == ROOM_JOINED)
		broadcast_presence(net, r, nick, o, "unavailable", codes, NULL, clean_reason);
	drop_occupant(r, nick);
	occ_changed(net, r);
out:
	free(clean_reason);
}

void
gw_room_nick(struct gw_net *net, const char *user, const char *room, const char *old_nick,
             const char *new_nick)
{
	struct room *r = room_get(net, user, room);
	struct occupant *o;
	bool self;
	int codes[3] = {303, 0, 0};

	if (r == NULL || (o = find_occupant(r, old_nick)) == NULL)
		return;
	self = strcmp(old_nick, r->nick) == 0;
	if (self)
		codes[1] = 110;
	if (r->state == ROOM_JOINED)
		broadcast_presence(net, r, old_nick, o, "unavailable", codes, new_nick, NULL);
	xstrset(&o->nick, new_nick);
	occ_changed(net, r);
	if (self) {
		xstrset(&r->nick, new_nick);
		delivery_txn();
		store_member_set_nick(core.store, net->drv->name, user, room, new_nick);
	}
	if (r->state == ROOM_JOINED) {
		int self_codes[] = {110, 0};

		broadcast_presence(net, r, new_nick, o, NULL, self ? self_codes : NULL, NULL, NULL);
	}
}

/* Whether the stanza-ids of the room's messages are archive ids (else the network's ids). */
static bool
ids_are_archive_ids(struct gw_net *net, const struct room *r)
{
	return r->archived && history_enabled(net);
}

/* The stanza-id the room's clients know the message of network id uid by, or NULL. */
static char *
stanza_id_of(struct gw_net *net, const struct room *r, const char *uid)
{
	int64_t aid;

	if (uid == NULL || *uid == '\0')
		return NULL;
	if (!ids_are_archive_ids(net, r))
		return xstrdup(uid);
	if (store_archive_find_uid(core.store, net->drv->name, r->user, r->room, uid,
	                           GW_ROOM_IDS_RECENT, &aid) != 1)
		return NULL;
	return xasprintf("%lld", (long long)aid);
}

char *
gw_room_network_id(struct gw_net *net, const char *user, const char *room, const char *stanza_id)
{
	struct room *r = room_get(net, user, room);
	char *uid = NULL, *end;
	long long aid;

	if (r == NULL || stanza_id == NULL || *stanza_id == '\0')
		return NULL;
	if (!ids_are_archive_ids(net, r))
		return xstrdup(stanza_id);
	aid = strtoll(stanza_id, &end, 10);
	if (*end != '\0' || aid <= 0 ||
	    store_archive_uid(core.store, net->drv->name, user, room, aid, &uid) != 1)
		return NULL;
	return uid;
}

static void
room_message(struct gw_net *net, const char *user, const char *room, const char *nick,
             const char *body, const char *id, time_t stamp, const char *reply_sid)
{
	struct room *r = room_get(net, user, room);
	char *from, *clean, *rj, archive_id[32];
	const char *sid_value;
	struct sent own = {0};
	bool reflection;

	if (r == NULL || r->state != ROOM_JOINED || body == NULL)
		return;
	from = gateway_address_jid(net, room, nick);
	rj = gateway_address_jid(net, room, NULL);
	clean = xmltext_clean(body, strlen(body), 64 * 1024);
	/* The user's own message coming back: it keeps the ids the client gave it. */
	reflection = nick && strcmp(nick, r->nick) == 0 && sent_take(r, clean, &own);
	{
		/* nick NULL: the room itself speaks (mode changes, notices). */
		char *cnick = xmltext_clean(nick ? nick : "", nick ? strlen(nick) : 0, 256);
		int64_t aid =
		        r->archived ? history_record(net, user, room, cnick, clean, id, stamp) : 0;

		free(cnick);
		/* The archive id is the stable id (XEP-0359): MAM pages refer to it. */
		if (aid > 0) {
			snprintf(archive_id, sizeof(archive_id), "%lld", (long long)aid);
			sid_value = archive_id;
		} else
			sid_value = id;
	}
	for (size_t i = 0; i < r->nres; i++) {
		char *to = resource_jid(r, i);
		xmpp_stanza_t *m = stanza_message("groupchat", from, to,
		                                  reflection && own.id ? own.id : id, clean);

		if (nick)
			add_occupant_id(net, r, m, nick, find_occupant(r, nick));

		if (reply_sid)
			xmpp_stanza_set_attribute(stanza_add_child(m, "reply", "urn:xmpp:reply:0"),
			                          "id", reply_sid);
		if (reflection && own.origin_id) {
			xmpp_stanza_t *oid = stanza_add_child(m, "origin-id", "urn:xmpp:sid:0");

			xmpp_stanza_set_attribute(oid, "id", own.origin_id);
		}
		if (sid_value) {
			xmpp_stanza_t *sid = stanza_add_child(m, "stanza-id", "urn:xmpp:sid:0");

			xmpp_stanza_set_attribute(sid, "id", sid_value);
			xmpp_stanza_set_attribute(sid, "by", rj);
		}
		if (stamp)
			stanza_add_delay(m, rj, stamp);
		gateway_send_release(net, m);
		free(to);
	}
	if (reflection)
		sent_clear(&own);
	free(clean);
	free(from);
	free(rj);
}

void
gw_room_message(struct gw_net *net, const char *user, const char *room, const char *nick,
                const char *body, const char *id, time_t stamp)
{
	room_message(net, user, room, nick, body, id, stamp, NULL);
}

void
gw_room_reply(struct gw_net *net, const char *user, const char *room, const char *nick,
              const char *body, const char *id, time_t stamp, const char *reply_id)
{
	struct room *r = room_get(net, user, room);
	char *sid = r ? stanza_id_of(net, r, reply_id) : NULL;

	room_message(net, user, room, nick, body, id, stamp, sid);
	free(sid);
}

void
gw_room_reaction(struct gw_net *net, const char *user, const char *room, const char *nick,
                 const char *target, const char *emoji)
{
	struct room *r = room_get(net, user, room);
	char *sid, *from, *clean;

	if (r == NULL || r->state != ROOM_JOINED || nick == NULL || emoji == NULL ||
	    (sid = stanza_id_of(net, r, target)) == NULL)
		return;
	from = gateway_address_jid(net, room, nick);
	clean = xmltext_clean(emoji, strlen(emoji), 64);
	for (size_t i = 0; i < r->nres; i++) {
		char *to = resource_jid(r, i);
		xmpp_stanza_t *m = stanza_message("groupchat", from, to, NULL, NULL);
		xmpp_stanza_t *rs = stanza_add_child(m, "reactions", "urn:xmpp:reactions:0");

		xmpp_stanza_set_attribute(rs, "id", sid);
		stanza_add_text_child(rs, "reaction", NULL, clean);
		add_occupant_id(net, r, m, nick, find_occupant(r, nick));
		stanza_add_child(m, "store", "urn:xmpp:hints");
		gateway_send_release(net, m);
		free(to);
	}
	free(clean);
	free(from);
	free(sid);
}

void
gw_room_history(struct gw_net *net, const char *user, const char *room, const char *nick,
                const char *body, const char *id, time_t stamp)
{
	struct room *r = room_get(net, user, room);

	if (r == NULL || (r->archived && history_holds(net, user, room, id, stamp)))
		return; /* the user has it from our archive (history on join, MAM) */
	gw_room_message(net, user, room, nick, body, id, stamp);
}

void
gw_room_subject(struct gw_net *net, const char *user, const char *room, const char *nick,
                const char *subject)
{
	struct room *r = room_get(net, user, room);

	if (r == NULL)
		return;
	free(r->subject);
	r->subject = subject ? xmltext_clean(subject, strlen(subject), 4096) : NULL;
	xstrset(&r->subject_by, nick);
	if (r->state == ROOM_JOINED)
		for (size_t i = 0; i < r->nres; i++) {
			char *to = resource_jid(r, i);

			send_subject(net, r, to);
			free(to);
		}
}

void
gw_room_chat_state(struct gw_net *net, const char *user, const char *room, const char *nick,
                   enum gw_chatstate cs)
{
	struct room *r = room_get(net, user, room);
	char *from;

	if (r == NULL || r->state != ROOM_JOINED || nick == NULL || strcmp(nick, r->nick) == 0)
		return;
	from = gateway_address_jid(net, room, nick);
	for (size_t i = 0; i < r->nres; i++) {
		char *to = resource_jid(r, i);
		xmpp_stanza_t *m = stanza_message("groupchat", from, to, NULL, NULL);

		add_occupant_id(net, r, m, nick, find_occupant(r, nick));
		delivery_add_chat_state(m, cs);
		gateway_send_release(net, m);
		free(to);
	}
	free(from);
}

void
gw_room_open(struct gw_net *net, const char *user, const char *room, const char *nick,
             const char *password)
{
	if (net->drv->room_join == NULL || room_get(net, user, room) != NULL)
		return;
	room_new(net, user, room, nick && *nick ? nick : user);
	net->drv->room_join(net, user, room, nick, password);
}

void
gw_room_changed(struct gw_net *net, const char *user, const char *room)
{
	struct room *r = room_get(net, user, room);

	if (r == NULL)
		return;
	r->archived = history_room_archived(net, user, room);
	leave_if_empty(net, r);
}
