/*
 * A room's disco#info (XEP-0045 section 6.4): the identity, the features
 * that are true of it, as the driver's room_info says (anonymity,
 * persistence, who may enter and speak, a password, listing), and a
 * muc#roominfo form with what the user's membership shows (subject,
 * occupant count), for rooms.c.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "component.h"
#include "core.h"
#include "form.h"
#include "rooms.h"
#include "stanza.h"

#define NS_ROOMINFO "http://jabber.org/protocol/muc#roominfo"

static void
add_feature(xmpp_stanza_t *query, const char *var)
{
	xmpp_stanza_set_attribute(stanza_add_child(query, "feature", NULL), "var", var);
}

/* The features of info, each with its XEP-0045 opposite. */
static void
add_room_features(xmpp_stanza_t *query, const struct gw_room_info *info)
{
	add_feature(query, info->persistent ? "muc_persistent" : "muc_temporary");
	add_feature(query, info->membersonly ? "muc_membersonly" : "muc_open");
	add_feature(query, info->moderated ? "muc_moderated" : "muc_unmoderated");
	add_feature(query, info->password ? "muc_passwordprotected" : "muc_unsecured");
	add_feature(query, info->hidden ? "muc_hidden" : "muc_public");
}

static const struct gw_field roominfo_fields[] = {
        {"FORM_TYPE", GW_FIELD_HIDDEN, NULL, NULL, 0, NULL, NS_ROOMINFO},
        {"muc#roominfo_description", GW_FIELD_TEXT, "Description", NULL, 0, NULL, NULL},
        {"muc#roominfo_subject", GW_FIELD_TEXT, "Subject", NULL, 0, NULL, NULL},
        {"muc#roominfo_occupants", GW_FIELD_TEXT, "Number of occupants", NULL, 0, NULL, NULL},
        GW_FIELDS_END,
};

/* The muc#roominfo form (XEP-0045 section 15.5.4) of what the membership shows. */
static void
add_roominfo_form(xmpp_stanza_t *query, const struct roominfo_view *view)
{
	struct gw_values *v = gw_values_new();
	struct gw_form form = {NULL, NULL, roominfo_fields, v};
	xmpp_stanza_t *x;
	char n[24];

	/* An IRC channel has one text for both: its topic. */
	if (view->subject && *view->subject) {
		gw_values_add(v, "muc#roominfo_description", view->subject);
		gw_values_add(v, "muc#roominfo_subject", view->subject);
	}
	snprintf(n, sizeof(n), "%zu", view->occupants);
	gw_values_add(v, "muc#roominfo_occupants", n);
	x = form_to_stanza(component_ctx(), &form, "result");
	xmpp_stanza_add_child(query, x);
	xmpp_stanza_release(x);
	gw_values_free(v);
}

/* A disco#info waiting for the driver's room_info. */
struct gw_info_request {
	struct gw_net *net;
	xmpp_stanza_t *iq; /* the request (a copy) */
	char *user, *room;
};

void
gw_room_info_done(struct gw_info_request *rq, const struct gw_room_info *known)
{
	struct gw_net *net = rq->net;
	xmpp_stanza_t *query = xmpp_stanza_new(component_ctx()), *id;
	struct gw_room_info info;
	struct roominfo_view view;
	bool joined = rooms_view(net, rq->user, rq->room, &view);
	static const char *const features[] = {
	        "http://jabber.org/protocol/muc",
	        "http://jabber.org/protocol/disco#info",
	        /* A reflection keeps the sender's id (XEP-0045 7.4, rooms.c). */
	        "http://jabber.org/protocol/muc#stable_id",
	        "urn:xmpp:sid:0",
	        "urn:xmpp:occupant-id:0",
	        NULL,
	};

	if (known)
		info = *known;
	else
		memset(&info, 0, sizeof(info));
	xmpp_stanza_set_name(query, "query");
	xmpp_stanza_set_ns(query, "http://jabber.org/protocol/disco#info");
	id = stanza_add_child(query, "identity", NULL);
	xmpp_stanza_set_attribute(id, "category", "conference");
	xmpp_stanza_set_attribute(id, "type", "text");
	xmpp_stanza_set_attribute(id, "name", rq->room);
	for (const char *const *f = features; *f; f++)
		add_feature(query, *f);
	add_feature(query, net->drv->rooms_nonanonymous ? "muc_nonanonymous" : "muc_semianonymous");
	add_room_features(query, &info);
	/* Only a room whose messages are recorded has an archive to query. */
	if (history_enabled(net) &&
	    (joined ? view.archived : history_room_archived(net, rq->user, rq->room)))
		add_feature(query, "urn:xmpp:mam:2");
	if (joined)
		add_roominfo_form(query, &view);
	gateway_send_release(net, stanza_iq_result(rq->iq, query));
	xmpp_stanza_release(query);
	xmpp_stanza_release(rq->iq);
	free(rq->user);
	free(rq->room);
	free(rq);
}

void
roominfo_ask(struct gw_net *net, xmpp_stanza_t *iq, const char *user, const char *room)
{
	struct gw_info_request *rq = xcalloc(1, sizeof(*rq));

	rq->net = net;
	rq->iq = xmpp_stanza_copy(iq);
	rq->user = xstrdup(user);
	rq->room = xstrdup(room);
	if (net->drv->room_info)
		net->drv->room_info(net, user, room, rq);
	else
		gw_room_info_done(rq, NULL);
}
