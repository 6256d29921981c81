/*
 * The daemon's shared state and the core-internal interfaces between its
 * modules. Backends never include this (they see only driver.h).
 *
 *   gateway.c   one gw_net per enabled backend: stanza routing, presence,
 *               subscriptions, the gw_* accessors drivers call
 *   presence.c  what contacts show: probes, changes, goodbyes
 *   services.c  disco, version, ping, jabber:iq:gateway, caps
 *   items.c     lists a driver answers later, paged (XEP-0059)
 *   upload.c    XEP-0363 uploads through the user's server, for drivers
 *   iqwait.c    iqs the core sends and waits on
 *   register.c  XEP-0077 in-band registration
 *   delivery.c  the durable queues of SPEC section 7, both directions
 *   rooms.c     XEP-0045 rooms on top of a driver's room operations
 *   roomadmin.c muc#admin requests and invitations, for rooms.c
 *   admin.c     XEP-0133 administration commands (through commands.c)
 *   daemon.c    command line, start-up, signals, shutdown
 */
#ifndef SG_CORE_H
#define SG_CORE_H

#include <stdbool.h>
#include <strophe.h>
#include <time.h>

#include "driver.h"

struct config;
struct store;
struct component;
struct strmap;
struct delivery;
struct rooms;

struct gw_net {
	const struct gw_driver *drv;
	const struct gw_section *section; /* refreshed on reload */
	char *jid;
	struct component *comp;
	void *priv;
	bool started;

	struct strmap *online;  /* bare JID -> struct online_user */
	struct strmap *greeted; /* bare JID -> (intptr_t) when our available presence went */
	struct strmap *disabled; /* bare JIDs an admin disabled */
	struct strmap *probed;   /* bare JIDs the start-up probes asked, not answered yet */
	struct delivery *delivery;
	struct rooms *rooms;
	char *caps_ver;         /* XEP-0115 verification string of the gateway JID */
	char *contact_caps_ver; /* the same for every contact's JID */

	struct strmap *roster_grants; /* domain -> XEP-0356 roster grant (roster.c) */
	unsigned long msgs_to_net, msgs_to_xmpp, msgs_failed;
	struct event *ev_announce; /* start-up presence to registered users, in batches */
	char **announce_users;
	char **announce_from; /* the probe's sender: NULL for the gateway, else a contact's JID */
	size_t announce_n, announce_next;
	bool announce_waiting; /* a batch's barrier is out */
};

struct core {
	struct event_base *base;
	struct config *cfg;
	char *config_path;
	struct store *store;
	struct gw_net **nets;
	size_t nnets;
	time_t started;
	bool shutting_down;
};

extern struct core core;

/* roster.c (XEP-0356) */
/* A <privilege/> message from domain's server: its grants noted (true), else false. */
bool roster_privilege_message(struct gw_net *, xmpp_stanza_t *msg, const char *domain);
/* Whether user's server lets this gateway write their roster. */
bool roster_granted(struct gw_net *, const char *user);
/*
 * Writes the gateway (address NULL) or a contact into user's roster, with
 * subscription both; false when not granted, turned off or the link is
 * down (the caller asks by subscription instead). A refused push falls
 * back to that by itself.
 */
bool roster_add(struct gw_net *, const char *user, const char *address, const char *name);
/* Pushes the gateway and every stored contact of user: how many contacts, -1 when not granted. */
long roster_sync(struct gw_net *, const char *user);
void roster_forget(struct gw_net *);

/* gateway.c */
int gateway_create_all(void);
void gateway_start_all(void);
void gateway_stop_all(void);
void gateway_free_all(void);
struct gw_net *gateway_by_name(const char *name);
/* Sends stanza on net's link (not released). -1 while offline. */
int gateway_send(struct gw_net *, xmpp_stanza_t *);
/* Sends and releases; stanzas that may be lost while offline (presence, iq replies). */
void gateway_send_release(struct gw_net *, xmpp_stanza_t *);
/* The JID for an address: escaped localpart @ gateway, optional resource. Caller frees. */
char *gateway_address_jid(struct gw_net *, const char *address, const char *resource);
bool core_domain_allowed(const char *bare_jid);
bool core_is_admin(const char *bare_jid);
/* Registers user: stores it and starts the XEP-0100 subscription flow. */
int gateway_register_user(struct gw_net *, const char *user);
/* Unregisters: removes everything and unsubscribes the gateway and contacts. */
int gateway_unregister_user(struct gw_net *, const char *user);
/* Whether an administrator disabled user's account on this gateway. */
bool gateway_user_disabled(struct gw_net *, const char *user);
/* Disables or re-enables a registered user (store and memory). */
int gateway_set_disabled(struct gw_net *, const char *user, bool disabled);
/* Ends a user's session with this gateway (admin command): rooms left, unavailable sent. */
void gateway_end_session(struct gw_net *, const char *user);
size_t gateway_online_count(struct gw_net *);
/* Asks user to accept the gateway (address NULL) or a contact in their roster (XEP-0100). */
void gateway_ask_subscription(struct gw_net *, const char *user, const char *address,
                              const char *name);
/* The gateway's available presence to user, unless sent in the last seconds. */
void gateway_greet(struct gw_net *, const char *user);
void gateway_foreach_online(struct gw_net *, void (*fn)(const char *user, void *), void *);
/* Calls fn with the full JID of each available resource of user. */
void gateway_foreach_resource(struct gw_net *, const char *user,
                              void (*fn)(const char *full_jid, void *), void *);

/* presence.c: what contacts show */
/*
 * Tells `to` (the user's bare JID or a resource) what address shows, as the
 * driver says; asked: an explicit question (a probe, a subscription), which
 * gets an answer even when nothing is known.
 */
void presence_tell(struct gw_net *, const char *to, const char *user, const char *address,
                   bool asked);
/* A probe from `to` (a resource of user) to address. */
void presence_probe(struct gw_net *, const char *to, const char *user, const char *address);
/* Unavailable from every contact of user (the gateway or the user's session ends). */
void presence_goodbye(struct gw_net *, const char *user);
/* The start-up probe went to user / the user answered available / unavailable. */
void presence_probe_sent(struct gw_net *, const char *user);
void presence_user_online(struct gw_net *, const char *user);
void presence_user_offline(struct gw_net *, const char *user);

/* services.c */
/* Handles the service iqs; false when iq is not one of them. */
bool services_handle_iq(struct gw_net *, xmpp_stanza_t *iq, const char *user, const char *target);
/* Adds XEP-0115 caps to a presence from the gateway / from a contact. */
void services_add_caps(struct gw_net *, xmpp_stanza_t *presence);
void services_add_contact_caps(struct gw_net *, xmpp_stanza_t *presence);
void services_init(struct gw_net *);

/* items.c */
/* A list the driver answers (disco#items, muc#admin): query is the answer's element (taken). */
struct gw_items *items_new(struct gw_net *, xmpp_stanza_t *iq, xmpp_stanza_t *query);

/* register.c */
void register_handle_iq(struct gw_net *, xmpp_stanza_t *iq, const char *user);
/* A registration submitted through the ad-hoc command, for a driver that
 * verifies it with the network: checked as XEP-0077's is, the verdict told
 * to the user as a chat message from the gateway. Takes v. */
void register_verify(struct gw_net *, const char *user, struct gw_values *v);

/* delivery.c */
void delivery_init(struct gw_net *);
void delivery_free(struct gw_net *);
/* The link came up / went down. */
void delivery_online(struct gw_net *);
void delivery_offline(struct gw_net *);
/* A message stanza from an XMPP user to an address (chat or groupchat). */
void delivery_from_xmpp(struct gw_net *, xmpp_stanza_t *msg, const char *user,
                        const char *resource, const char *to, const char *to_resource,
                        bool groupchat);
/* The server bounced a message we sent (type=error with our id). */
void delivery_bounced(struct gw_net *, xmpp_stanza_t *err);
/* A user came online: held messages go again. */
void delivery_user_available(struct gw_net *, const char *user);
/* Commit the open transaction now (shutdown). */
void delivery_flush_all(void);
/* Opens the loop's group transaction (committed at the end of the iteration). */
void delivery_txn(void);
long delivery_queued(struct gw_net *, int dir);

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
                            void (*fn)(const char *nick, enum gw_role, enum gw_affiliation,
                                       void *),
                            void *arg);
/* iqs to a room or to an in-room JID (disco#info, self-ping); false when not handled. */
bool rooms_handle_iq(struct gw_net *, xmpp_stanza_t *iq, const char *user, const char *room,
                     const char *nick);
/* roomadmin.c: muc#admin and muc#owner iqs (q: the query element), invitations. */
void roomadmin_handle_iq(struct gw_net *, xmpp_stanza_t *iq, xmpp_stanza_t *q, const char *user,
                         const char *room);
void roomadmin_handle_owner(struct gw_net *, xmpp_stanza_t *iq, xmpp_stanza_t *q,
                            const char *user, const char *room);
/* A message to a room's bare JID: true when it carried invitations (handled). */
bool roomadmin_handle_invite(struct gw_net *, xmpp_stanza_t *msg, const char *user,
                             const char *room);
/* A message to an address with a XEP-0249 invitation to a room here: true when handled. */
bool roomadmin_handle_direct_invite(struct gw_net *, xmpp_stanza_t *msg, const char *user,
                                    const char *address);
/* A MAM (XEP-0313) query on a room's archive (history.c). */
void history_handle_iq(struct gw_net *, xmpp_stanza_t *iq, const char *user, const char *room);
/* Records a room message; returns its archive id (0 when not recorded). */
int64_t history_record(struct gw_net *, const char *user, const char *room, const char *nick,
                       const char *body, const char *uid, time_t stamp);
/* Sends to one resource the history it asked for when joining. */
void history_send_on_join(struct gw_net *, const char *user, const char *room,
                          const char *full_jid, int maxstanzas, time_t since);
bool history_enabled(struct gw_net *);
/* Whether the driver has this user's messages in room recorded (when history is on). */
bool history_room_archived(struct gw_net *, const char *user, const char *room);
/* The resource went offline: it leaves all rooms. NULL resource: all of them. */
void rooms_resource_gone(struct gw_net *, const char *user, const char *resource);
/* The link is going away: tell every occupant resource (332). */
void rooms_shutdown(struct gw_net *);
size_t rooms_count(struct gw_net *);

/* admin.c */
void admin_init(void);

#endif
