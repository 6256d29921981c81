/*
 * The daemon's shared state, one gw_net per network, and what every module
 * above asks of it. Backends never include this (they see only driver.h).
 *
 *   net.c       the gw_net accessors drivers call (driver.h), settings and
 *               secrets, who is online (read), sending on the link
 *   items.c     lists a driver answers later, paged (XEP-0059)
 *   upload.c    XEP-0363 uploads through the user's server, for drivers
 *   iqwait.c    iqs the core sends and waits on (iqwait.h)
 *   resolve.c   DNS on the loop (resolve.h); drivers.c the compiled-in table
 *
 * The layers above: users/ (users.h), rooms/ (rooms.h), the router
 * (gateway.c, gateway.h) and the daemon; docs/architecture.md draws them.
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

	struct strmap *online;   /* bare JID -> struct online_user */
	struct strmap *greeted;  /* bare JID -> (intptr_t) when our available presence went */
	struct strmap *disabled; /* bare JIDs an admin disabled */
	struct strmap *probed;   /* bare JIDs the start-up probes asked, not answered yet */
	struct delivery *delivery;
	struct rooms *rooms;
	char *caps_ver;         /* XEP-0115 verification string of the gateway JID */
	char *contact_caps_ver; /* the same for every contact's JID */
	unsigned char *avatar;  /* the gateway's avatar (vcard.c), NULL: none */
	size_t avatar_len;
	const char *avatar_mime; /* static */
	char *avatar_sha1;       /* hex, for XEP-0153's <photo/> */

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
	bool stop_for_good; /* SIGUSR2: rooms are left (332) and forgotten, not kept */
};

extern struct core core;

/* The resources of one user that told this gateway they are available. */
struct online_user {
	char **resources;
	size_t n;
};
void online_user_free(void *);

/* net.c */
struct gw_net *gateway_by_name(const char *name);
/* Sends stanza on net's link (not released). -1 while offline. */
int gateway_send(struct gw_net *, xmpp_stanza_t *);
/* Sends and releases; stanzas that may be lost while offline (presence, iq replies). */
void gateway_send_release(struct gw_net *, xmpp_stanza_t *);
/* The JID for an address: escaped localpart @ gateway, optional resource. Caller frees. */
char *gateway_address_jid(struct gw_net *, const char *address, const char *resource);
bool core_domain_allowed(const char *bare_jid);
bool core_is_admin(const char *bare_jid);
/* Whether an administrator disabled user's account on this gateway. */
bool gateway_user_disabled(struct gw_net *, const char *user);
size_t gateway_online_count(struct gw_net *);
/* Asks user to accept the gateway (address NULL) or a contact in their roster (XEP-0100). */
void gateway_ask_subscription(struct gw_net *, const char *user, const char *address,
                              const char *name);
void gateway_foreach_online(struct gw_net *, void (*fn)(const char *user, void *), void *);
/* Calls fn with the full JID of each available resource of user. */
void gateway_foreach_resource(struct gw_net *, const char *user,
                              void (*fn)(const char *full_jid, void *), void *);

/* items.c */
/* A list the driver answers (disco#items, muc#admin): query is the answer's element (taken). */
struct gw_items *items_new(struct gw_net *, xmpp_stanza_t *iq, xmpp_stanza_t *query);

#endif
