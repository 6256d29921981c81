/*
 * rooms/: XEP-0045 rooms on top of a driver's room operations. rooms.c
 * (joins, occupants, messages), roomadmin.c (muc#admin, muc#owner,
 * invitations), roominfo.c (disco#info), occupantid.c (XEP-0421),
 * history.c (the rooms' archive, XEP-0313). Above core/ and xmpp/, beside
 * users/; the router (gateway.c) calls in.
 */
#ifndef SG_ROOMS_H
#define SG_ROOMS_H

#include <stdbool.h>
#include <stdint.h>
#include <strophe.h>
#include <time.h>

#include "core.h"

/* rooms.c */
/* roominfo.c: answers a room's disco#info iq, once the driver's room_info has told. */
void roominfo_ask(struct gw_net *, xmpp_stanza_t *iq, const char *user, const char *room);
/* What the user's membership of a room shows; false when not joined (rooms.c). */
struct roominfo_view {
	size_t occupants;
	const char *subject; /* valid until the loop turns */
	bool archived;
};
bool rooms_view(struct gw_net *, const char *user, const char *room, struct roominfo_view *);
/* occupantid.c: the XEP-0421 id of identity in room (caller frees). */
char *occupant_id(struct gw_net *, const char *room, const char *identity);

void rooms_init(struct gw_net *);
void rooms_free(struct gw_net *);
/* A presence to room@gw/nick; false when it is not about a room. */
bool rooms_handle_presence(struct gw_net *, xmpp_stanza_t *pres, const char *user,
                           const char *resource, const char *room, const char *nick);
/* A groupchat message to room@gw. */
void rooms_handle_groupchat(struct gw_net *, xmpp_stanza_t *msg, const char *user,
                            const char *resource, const char *room);
/* True when the user's resource is in room (for private messages from inside a room). */
bool rooms_resource_joined(struct gw_net *, const char *user, const char *resource,
                           const char *room);
/* Calls fn for each occupant the user sees in room. */
void rooms_foreach_occupant(struct gw_net *, const char *user, const char *room,
                            void (*fn)(const char *nick, enum gw_role, enum gw_affiliation, void *),
                            void *arg);
/* iqs to a room or to an in-room JID (disco#info, self-ping); false when not handled. */
bool rooms_handle_iq(struct gw_net *, xmpp_stanza_t *iq, const char *user, const char *room,
                     const char *nick);
/* roomadmin.c: muc#admin and muc#owner iqs (q: the query element), invitations. */
void roomadmin_handle_iq(struct gw_net *, xmpp_stanza_t *iq, xmpp_stanza_t *q, const char *user,
                         const char *room);
void roomadmin_handle_owner(struct gw_net *, xmpp_stanza_t *iq, xmpp_stanza_t *q, const char *user,
                            const char *room);
/* A message to a room's bare JID: true when it carried invitations (handled). */
bool roomadmin_handle_invite(struct gw_net *, xmpp_stanza_t *msg, const char *user,
                             const char *room);
/* A message to an address with a XEP-0249 invitation to a room here: true when handled. */
bool roomadmin_handle_direct_invite(struct gw_net *, xmpp_stanza_t *msg, const char *user,
                                    const char *address);
/* A MAM (XEP-0313) query on a room's archive (history.c). */
void history_handle_iq(struct gw_net *, xmpp_stanza_t *iq, const char *user, const char *room);
/* Records a room message; returns its archive id (0 when not recorded). */
/*
 * Whether the room's archive (history on) already holds the network's
 * message uid said at stamp (give or take HISTORY_REPLAY_SKEW seconds).
 */
bool history_holds(struct gw_net *, const char *user, const char *room, const char *uid,
                   time_t stamp);
int64_t history_record(struct gw_net *, const char *user, const char *room, const char *nick,
                       const char *body, const char *uid, time_t stamp);
/* Sends to one resource the history it asked for when joining. */
void history_send_on_join(struct gw_net *, const char *user, const char *room, const char *full_jid,
                          int maxstanzas, time_t since);
bool history_enabled(struct gw_net *);
/* Whether the driver has this user's messages in room recorded (when history is on). */
bool history_room_archived(struct gw_net *, const char *user, const char *room);
/* The resource went offline: it leaves all rooms. NULL resource: all of them. */
void rooms_resource_gone(struct gw_net *, const char *user, const char *resource);
/* Stopping for a restart: the occupant lists that changed are saved now. */
void rooms_save(struct gw_net *);
/* Stopping for good: tell every occupant resource (332) and forget the memberships. */
void rooms_shutdown(struct gw_net *);
/*
 * Start-up: the memberships in the store come back as restoring rooms and
 * the driver rejoins them (after its start()).
 */
void rooms_restore(struct gw_net *);
/* The component is online: restored resources are asked whether they still are. */
void rooms_online(struct gw_net *);
/*
 * A message with queue id qid to room: true when the room is restoring and
 * holds it (the driver gets it from delivery_release() once rejoined).
 */
bool rooms_hold_message(struct gw_net *, const char *user, const char *room, int64_t qid);
size_t rooms_count(struct gw_net *);

#endif
