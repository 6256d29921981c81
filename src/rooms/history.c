/*
 * Room history: every room message a user sees is recorded (per user and
 * room, in the loop's group transaction: never one transaction per line),
 * replayed when a resource joins (XEP-0045 history), and served through
 * XEP-0313 queries on the room's JID, paged with XEP-0059.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "component.h"
#include "conf.h"
#include "core.h"
#include "form.h"
#include "jid.h"
#include "rooms.h"
#include "stanza.h"
#include "store.h"
#include "users.h"

#define NS_MAM "urn:xmpp:mam:2"
#define NS_RSM "http://jabber.org/protocol/rsm"
#define NS_FORWARD "urn:xmpp:forward:0"
#define PAGE_DEFAULT 50
#define PAGE_MAX 250

bool
history_enabled(struct gw_net *net)
{
	return net->drv->room_join != NULL && gw_conf_bool(net->section, "history");
}

bool
history_room_archived(struct gw_net *net, const char *user, const char *room)
{
	/* Not history_enabled(): history_record() checks it, so a reload applies at once. */
	return net->drv->room_archived == NULL || net->drv->room_archived(net, user, room);
}

/* How far the network's clock and ours may disagree on when a replayed message was said. */
#define HISTORY_REPLAY_SKEW 300

bool
history_holds(struct gw_net *net, const char *user, const char *room, const char *uid, time_t stamp)
{
	if (!history_enabled(net) || uid == NULL || stamp == 0)
		return false;
	return store_archive_has_uid(core.store, net->drv->name, user, room, uid,
	                             stamp - HISTORY_REPLAY_SKEW, stamp + HISTORY_REPLAY_SKEW) == 1;
}

int64_t
history_record(struct gw_net *net, const char *user, const char *room, const char *nick,
               const char *body, const char *uid, time_t stamp)
{
	int64_t id = 0;

	if (!history_enabled(net))
		return 0;
	delivery_txn();
	if (store_archive_add(core.store, net->drv->name, user, room, stamp, nick, body, uid,
	                      &id) == -1)
		return 0;
	return id;
}

/* XEP-0082 date-time ("2026-11-21T07:00:00Z", fractions and offsets allowed); 0 if bad. */
static time_t
parse_stamp(const char *s)
{
	struct tm tm;
	const char *p;
	time_t t;
	int sign, hh, mm;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || (p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return 0;
	t = timegm(&tm);
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	if (*p == 'Z' && p[1] == '\0')
		return t;
	if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &hh, &mm) == 2) {
		sign = *p == '+' ? 1 : -1;
		return t - sign * (hh * 3600 + mm * 60);
	}
	return 0;
}

/*
 * A room message as the archive gives it back; with_delay for history on
 * join (MAM puts the delay on <forwarded/> instead).
 */
static xmpp_stanza_t *
archived_message(struct gw_net *net, const char *room, const char *to,
                 const struct store_archive_row *row, bool with_delay)
{
	/* An empty nick is the room itself speaking. */
	char *from = gateway_address_jid(net, room, *row->nick ? row->nick : NULL);
	char *rj = gateway_address_jid(net, room, NULL);
	char id[32];
	xmpp_stanza_t *m, *sid;

	snprintf(id, sizeof(id), "%" PRId64, row->id);
	m = stanza_message("groupchat", from, to, NULL, row->body);
	sid = stanza_add_child(m, "stanza-id", "urn:xmpp:sid:0");
	xmpp_stanza_set_attribute(sid, "id", id);
	xmpp_stanza_set_attribute(sid, "by", rj);
	if (with_delay)
		stanza_add_delay(m, rj, row->stamp);
	free(from);
	free(rj);
	return m;
}

/* Rows collected newest first, to be sent oldest first. */
struct rows {
	struct store_archive_row *v;
	size_t n;
};

static int
collect_row(const struct store_archive_row *row, void *arg)
{
	struct rows *r = arg;

	r->v = xreallocarray(r->v, r->n + 1, sizeof(*r->v));
	r->v[r->n] = *row;
	r->v[r->n].nick = xstrdup(row->nick);
	r->v[r->n].body = xstrdup(row->body);
	r->v[r->n].uid = xstrdup_or_null(row->uid);
	r->n++;
	return 0;
}

static void
rows_free(struct rows *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free((char *)r->v[i].nick);
		free((char *)r->v[i].body);
		free((char *)r->v[i].uid);
	}
	free(r->v);
}

void
history_send_on_join(struct gw_net *net, const char *user, const char *room, const char *full_jid,
                     int maxstanzas, time_t since)
{
	struct store_archive_query q = {0};
	struct rows rows = {NULL, 0};

	if (!history_enabled(net) || maxstanzas == 0)
		return;
	if (maxstanzas < 0) {
		/* The user's own default (scope "", driver.h), else the section's. */
		char *v = gw_setting_get(net, user, "", "history_join"), *end = NULL;
		long n = v ? strtol(v, &end, 10) : -1;

		q.limit = v && *v && *end == '\0' && n >= 0 && n <= 1000
		                  ? (int)n
		                  : (int)gw_conf_int(net->section, "history_join");
		free(v);
	} else
		q.limit = maxstanzas;
	if (q.limit == 0)
		return;
	q.start = since;
	q.newest_first = true;
	store_archive_query(core.store, net->drv->name, user, room, &q, collect_row, &rows);
	for (size_t i = rows.n; i-- > 0;)
		gateway_send_release(net, archived_message(net, room, full_jid, &rows.v[i], true));
	rows_free(&rows);
}

/* The MAM form a client fills in (XEP-0313 section 4.1). */
static const struct gw_field mam_fields[] = {
        {"FORM_TYPE", GW_FIELD_HIDDEN, NULL, NULL, 0, NULL, NS_MAM},
        {"start", GW_FIELD_TEXT, "From", "XEP-0082 date-time", 0, NULL, NULL},
        {"end", GW_FIELD_TEXT, "Until", "XEP-0082 date-time", 0, NULL, NULL},
        {"after-id", GW_FIELD_TEXT, "After the message with this id", NULL, 0, NULL, NULL},
        {"before-id", GW_FIELD_TEXT, "Before the message with this id", NULL, 0, NULL, NULL},
        {"with", GW_FIELD_JID, "With", NULL, 0, NULL, NULL},
        GW_FIELDS_END,
};

static void
mam_form(struct gw_net *net, xmpp_stanza_t *iq)
{
	xmpp_stanza_t *query = xmpp_stanza_new(component_ctx()), *x;
	struct gw_form form = {"Archive search", NULL, mam_fields, NULL};

	xmpp_stanza_set_name(query, "query");
	xmpp_stanza_set_ns(query, NS_MAM);
	x = form_to_stanza(component_ctx(), &form, "form");
	xmpp_stanza_add_child(query, x);
	xmpp_stanza_release(x);
	gateway_send_release(net, stanza_iq_result(iq, query));
	xmpp_stanza_release(query);
}

/* Rows of one occupant ('with' on a room: its in-room JID), up to want of them. */
struct with_filter {
	struct rows *rows;
	const char *nick;
	size_t want;
};

static int
collect_with(const struct store_archive_row *row, void *arg)
{
	struct with_filter *w = arg;

	if (strcmp(row->nick, w->nick) != 0)
		return 0;
	collect_row(row, w->rows);
	return w->rows->n >= w->want;
}

static int
stop_at_first(const struct store_archive_row *row, void *arg)
{
	(void)row;
	(void)arg;
	return 1;
}

/* Whether id names a message of the room's archive (XEP-0313: else item-not-found). */
static bool
archive_has(struct gw_net *net, const char *user, const char *room, int64_t id)
{
	struct store_archive_query q = {0};

	q.after_id = id - 1;
	q.before_id = id + 1;
	q.limit = 1;
	return store_archive_query(core.store, net->drv->name, user, room, &q, stop_at_first,
	                           NULL) == 1;
}

/*
 * The nick a 'with' asks for (caller frees): the resource of an in-room
 * JID of this room. NULL with *none when it names someone else, NULL
 * alone for the room's bare JID (everything).
 */
static char *
with_nick(struct gw_net *net, const char *room, const char *with, bool *none)
{
	struct jid j;
	char *rj = gateway_address_jid(net, room, NULL), *bare = NULL, *nick = NULL;

	if (jid_parse(with, &j) == 0) {
		bare = jid_make(j.local, j.domain, NULL);
		if (strcasecmp(bare, rj) != 0)
			*none = true;
		else if (j.resource)
			nick = xstrdup(j.resource);
		jid_clear(&j);
	} else
		*none = true;
	free(bare);
	free(rj);
	return nick;
}

static int64_t
parse_id(const char *s, bool *bad)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || v <= 0)
		*bad = true;
	return (int64_t)v;
}

void
history_handle_iq(struct gw_net *net, xmpp_stanza_t *iq, const char *user, const char *room)
{
	xmpp_stanza_t *query = stanza_child(iq, "query", NS_MAM), *x, *set, *fin, *rset;
	const char *queryid = query ? xmpp_stanza_get_attribute(query, "queryid") : NULL;
	struct store_archive_query q = {0};
	struct gw_values *v = NULL;
	struct rows rows = {NULL, 0};
	bool bad = false, last_page = false, complete, none = false;
	char *text, *why = NULL, *nick = NULL;
	int max = PAGE_DEFAULT;

	if (!history_enabled(net)) {
		gateway_send_release(net, stanza_error_reply(iq, GW_ERR_SERVICE_UNAVAILABLE,
		                                             "History is not recorded here."));
		return;
	}
	if (strcmp(xmpp_stanza_get_type(iq), "get") == 0) {
		mam_form(net, iq);
		return;
	}
	if ((x = stanza_child(query, "x", "jabber:x:data")) != NULL) {
		v = form_parse_partial(x, mam_fields, &why);
		if (v == NULL) {
			gateway_send_release(net, stanza_error_reply(iq, GW_ERR_BAD_REQUEST, why));
			free(why);
			return;
		}
		q.start = parse_stamp(gw_values_get(v, "start"));
		q.end = parse_stamp(gw_values_get(v, "end"));
		bad |= gw_values_get(v, "start") && q.start == 0;
		bad |= gw_values_get(v, "end") && q.end == 0;
		q.after_id = parse_id(gw_values_get(v, "after-id"), &bad);
		q.before_id = parse_id(gw_values_get(v, "before-id"), &bad);
		if (gw_values_get(v, "with"))
			nick = with_nick(net, room, gw_values_get(v, "with"), &none);
	}
	if ((set = stanza_child(query, "set", NS_RSM)) != NULL) {
		xmpp_stanza_t *before = stanza_child(set, "before", NULL);

		if ((text = stanza_child_text(set, "max")) != NULL) {
			max = atoi(text);
			xmpp_free(component_ctx(), text);
		}
		if ((text = stanza_child_text(set, "after")) != NULL) {
			q.after_id = parse_id(text, &bad);
			xmpp_free(component_ctx(), text);
		}
		if (before != NULL) {
			/* An empty <before/> asks for the last page. */
			text = xmpp_stanza_get_text(before);
			if (text == NULL || *text == '\0')
				last_page = true;
			else
				q.before_id = parse_id(text, &bad);
			if (text)
				xmpp_free(component_ctx(), text);
		}
	}
	gw_values_free(v);
	if (bad) {
		gateway_send_release(
		        net, stanza_error_reply(iq, GW_ERR_BAD_REQUEST,
		                                "A date or an id of the query is not valid."));
		free(nick);
		return;
	}
	if ((q.after_id && !archive_has(net, user, room, q.after_id)) ||
	    (q.before_id && !archive_has(net, user, room, q.before_id))) {
		gateway_send_release(net,
		                     stanza_error_reply(iq, GW_ERR_ITEM_NOT_FOUND,
		                                        "No message of this room has that id."));
		free(nick);
		return;
	}
	if (max < 0 || max > PAGE_MAX)
		max = PAGE_MAX;
	/* One more than asked tells whether the page is the last one. */
	q.limit = max + 1;
	q.newest_first = last_page || q.before_id != 0;
	if (max > 0 && nick) {
		/* The store does not filter by nick: read on until a page is full. */
		struct with_filter w = {&rows, nick, (size_t)q.limit};

		q.limit = 0;
		store_archive_query(core.store, net->drv->name, user, room, &q, collect_with, &w);
	} else if (max > 0 && !none)
		store_archive_query(core.store, net->drv->name, user, room, &q, collect_row, &rows);
	free(nick);
	complete = rows.n <= (size_t)max;
	if (!complete) {
		/* Drop the probe row: it belongs to the next page. */
		rows.n--;
		free((char *)rows.v[rows.n].nick);
		free((char *)rows.v[rows.n].body);
		free((char *)rows.v[rows.n].uid);
	}
	if (q.newest_first)
		for (size_t i = 0; i < rows.n / 2; i++) {
			struct store_archive_row t = rows.v[i];

			rows.v[i] = rows.v[rows.n - 1 - i];
			rows.v[rows.n - 1 - i] = t;
		}
	for (size_t i = 0; i < rows.n; i++) {
		xmpp_stanza_t *wrapper =
		        stanza_message(NULL, net->jid, xmpp_stanza_get_from(iq), NULL, NULL);
		xmpp_stanza_t *result = stanza_add_child(wrapper, "result", NS_MAM);
		xmpp_stanza_t *fwd = stanza_add_child(result, "forwarded", NS_FORWARD);
		xmpp_stanza_t *inner =
		        archived_message(net, room, xmpp_stanza_get_from(iq), &rows.v[i], false);
		char id[32], *rj = gateway_address_jid(net, room, NULL);

		snprintf(id, sizeof(id), "%" PRId64, rows.v[i].id);
		xmpp_stanza_set_from(wrapper, rj);
		if (queryid)
			xmpp_stanza_set_attribute(result, "queryid", queryid);
		xmpp_stanza_set_attribute(result, "id", id);
		stanza_add_delay(fwd, rj, rows.v[i].stamp);
		/* Inside <forwarded/> it would otherwise inherit the forward namespace. */
		xmpp_stanza_set_ns(inner, "jabber:client");
		xmpp_stanza_add_child(fwd, inner);
		xmpp_stanza_release(inner);
		gateway_send_release(net, wrapper);
		free(rj);
	}
	fin = xmpp_stanza_new(component_ctx());
	xmpp_stanza_set_name(fin, "fin");
	xmpp_stanza_set_ns(fin, NS_MAM);
	/* Complete: no more in the direction of the query; said on that last page only. */
	if (complete)
		xmpp_stanza_set_attribute(fin, "complete", "true");
	rset = stanza_add_child(fin, "set", NS_RSM);
	if (rows.n > 0) {
		char first[32], last[32];

		snprintf(first, sizeof(first), "%" PRId64, rows.v[0].id);
		snprintf(last, sizeof(last), "%" PRId64, rows.v[rows.n - 1].id);
		stanza_add_text_child(rset, "first", NULL, first);
		stanza_add_text_child(rset, "last", NULL, last);
	}
	gateway_send_release(net, stanza_iq_result(iq, fin));
	xmpp_stanza_release(fin);
	rows_free(&rows);
}
