/*
 * users/: what the gateway does for one user of a network. accounts.c
 * (registration, sessions, subscriptions), presence.c (what contacts and
 * the gateway show), roster.c (XEP-0356, XEP-0144), delivery.c (the durable
 * queues of SPEC section 7), services.c (disco, version, ping, caps),
 * vcard.c (the gateway's vCard and avatar),
 * register.c (XEP-0077), admin.c (XEP-0133 commands). Above core/ and
 * xmpp/; the router (gateway.c) calls in, nothing here calls up.
 */
#ifndef SG_USERS_H
#define SG_USERS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <strophe.h>

#include "core.h"
#include "store.h"

/* accounts.c */
/* Registers user: stores it and starts the XEP-0100 subscription flow. */
int accounts_register(struct gw_net *, const char *user);
/* Unregisters: removes everything and unsubscribes the gateway and contacts. */
int accounts_unregister(struct gw_net *, const char *user);
/* Disables or re-enables a registered user (store and memory). */
int accounts_set_disabled(struct gw_net *, const char *user, bool disabled);
/* Ends a user's session with this gateway (admin command): rooms left, unavailable sent. */
void accounts_end_session(struct gw_net *, const char *user);
/*
 * Stores the submitted registration fields of user (settings, and secrets
 * sealed); a field not submitted, or an empty secret, keeps what is stored.
 */
void accounts_save_fields(struct gw_net *, const char *user, const struct gw_field *fields,
                          const struct gw_values *);
/* A resource of user said available / went away (NULL: all of them). */
void accounts_resource_available(struct gw_net *, const char *user, const char *resource);
void accounts_resource_gone(struct gw_net *, const char *user, const char *resource);
/* A subscription request or answer from user to the gateway (address NULL) or a contact. */
void accounts_subscription(struct gw_net *, const char *type, const char *user,
                           const char *address);
void accounts_load_disabled(struct gw_net *);

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
/*
 * Suggests a contact to user's clients (XEP-0144 roster item exchange), for
 * when the roster cannot be written; false when the user turned it off.
 */
bool roster_suggest(struct gw_net *, const char *user, const char *address, const char *name);
/*
 * Pushes the gateway and every stored contact of user into the roster, or,
 * without the grant, suggests them all in one XEP-0144 message (*suggested
 * true). How many contacts; -1 when the user turned it off.
 */
long roster_sync(struct gw_net *, const char *user, bool *suggested);
void roster_forget(struct gw_net *);

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
/* The gateway's available presence to user, unless sent in the last seconds. */
void gateway_greet(struct gw_net *, const char *user);
/* The gateway's own presence to `to` (bare or full), with caps; type NULL = available. */
void presence_gateway(struct gw_net *, const char *to, const char *type);

/* services.c */
/* Handles the service iqs; false when iq is not one of them. */
bool services_handle_iq(struct gw_net *, xmpp_stanza_t *iq, const char *user, const char *target);
/*
 * Adds XEP-0115 caps to a presence from the gateway (and the XEP-0153
 * avatar hash) / from a contact.
 */
void services_add_caps(struct gw_net *, xmpp_stanza_t *presence);
void services_add_contact_caps(struct gw_net *, xmpp_stanza_t *presence);
/* Computes the caps and loads the avatar; again after a reload (net->section is the new one). */
void services_init(struct gw_net *);
void services_free(struct gw_net *);

/* vcard.c: the gateway JID's vCard (XEP-0054) and avatar (XEP-0153) */
/* Loads the avatar the config names (or the installed one); none when it cannot. */
void vcard_init(struct gw_net *);
void vcard_free(struct gw_net *);
/* Answers a vcard-temp iq to the gateway JID (q: its child); false when q is no vCard. */
bool vcard_handle_iq(struct gw_net *, xmpp_stanza_t *iq, xmpp_stanza_t *q);
/* Adds <x xmlns='vcard-temp:x:update'><photo>hash</photo></x> to a gateway's presence. */
void vcard_add_update(struct gw_net *, xmpp_stanza_t *presence);

/* register.c */
void register_handle_iq(struct gw_net *, xmpp_stanza_t *iq, const char *user);

/*
 * register.c: a registration submitted through the ad-hoc command, for a
 * driver that verifies it with the network: checked as XEP-0077's is, the
 * verdict told to the user as a chat message from the gateway. Takes v.
 */
void register_verify(struct gw_net *, const char *user, struct gw_values *v);

/* delivery.c */
void delivery_init(struct gw_net *);
void delivery_free(struct gw_net *);
/* The link came up / went down. */
void delivery_online(struct gw_net *);
void delivery_offline(struct gw_net *);
/* A message stanza from an XMPP user to an address (chat or groupchat). */
void delivery_from_xmpp(struct gw_net *, xmpp_stanza_t *msg, const char *user, const char *resource,
                        const char *to, const char *to_resource, bool groupchat);
/* Adds a chat state (XEP-0085) and the no-store hint to a message stanza. */
void delivery_add_chat_state(xmpp_stanza_t *msg, enum gw_chatstate);
/* The server bounced a message we sent (type=error with our id). */
void delivery_bounced(struct gw_net *, xmpp_stanza_t *err);
/* A user came online: held messages go again. */
void delivery_user_available(struct gw_net *, const char *user);
/*
 * Held messages (queue ids, in the order given) go to the driver now, or
 * with why fail (the user is told why).
 */
void delivery_release(struct gw_net *, const int64_t *qids, size_t n, const char *why);
/* Commit the open transaction now (shutdown). */
void delivery_flush_all(void);
/* Opens the loop's group transaction (committed at the end of the iteration). */
bool delivery_txn(void);
long delivery_queued(struct gw_net *, int dir);
/*
 * A receipt (XEP-0184) from `from` for the user's message xmpp_id, queued
 * durably to be sent when the link is up. 0, or -1 (the store failed).
 */
int delivery_queue_receipt(struct gw_net *, const char *user, const char *from,
                           const char *xmpp_id);

/*
 * backoff.c: one retry schedule per conversation (user, peer), so that its
 * messages keep their order while a network cannot take them.
 */
struct backoff;
struct backoff *backoff_new(void);
void backoff_free(struct backoff *);
/* When the conversation is tried again (maybe already past), or 0: it is not waiting. */
time_t backoff_until(const struct backoff *, const char *user, const char *peer);
/*
 * A message of the conversation is to be retried at when: returns the
 * moment the conversation is tried again (an earlier retry's, while it is
 * still to come), which the message is to take.
 */
time_t backoff_join(struct backoff *, const char *user, const char *peer, time_t when, time_t now);
/* Forgets the conversations whose moment has come (the scan handed them over). */
void backoff_prune(struct backoff *, time_t now);

/* notices.c: receipts and chat states (gw_receipt, gw_chat_state) */
/* The link came up: the chat states held while it was down go out. */
void notices_online(struct gw_net *);
void notices_free(struct gw_net *);
/* Scan the store for what is due at the next tick (the store is back). */
void delivery_rescan(struct gw_net *);
/* aftercommit.c found m not stored: its sender is told (an error). */
void delivery_fail_unstored(struct gw_net *, const struct store_msg *m);

/*
 * aftercommit.c: what waits for the group commit's outcome (see there).
 * delete: the queue row id is deleted now, in the open transaction when
 * in_txn; the scans skip it until that is committed (or, failed, until a
 * later delete is). unstored: m (copied) was written in the open
 * transaction and its driver has not taken it. done: the commit's
 * outcome; runs gw_when_committed()'s callbacks, tells the senders of the
 * unstored messages when it failed.
 */
void aftercommit_delete(int64_t id, bool in_txn);
bool aftercommit_deleted(int64_t id);
void aftercommit_unstored(struct gw_net *, const struct store_msg *m);
void aftercommit_done(bool committed);
/* Deletes that failed are done again when the store is reachable. */
void aftercommit_retry_deletes(void);
void aftercommit_free(void);

/*
 * outage.c: while the store is unreachable, users are told once that the
 * service is degraded (a message and the gateway's presence), the store
 * reconnects, and they are told once when it is back.
 */
void outage_start(void);
void outage_stop(void);
/* The gateway's status text during an outage (presence), or NULL. */
const char *outage_status(void);

/* admin.c */
void admin_init(void);

#endif
