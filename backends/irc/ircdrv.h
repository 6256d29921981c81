/*
 * The IRC driver's own shared declarations, between its files:
 *
 *   ircdrv.c   the gw_driver: options, addresses, the operations, commands
 *   ircconn.c  one connection: DNS, TCP/TLS, keepalive, the state
 *              machine, reconnection
 *   ircsend.c  the send queue behind the throttle; what follows 001
 *   ircproto.c what the server says: registration, CAP/SASL, messages,
 *              numerics, the dispatcher
 *   ircchan.c  channels and their members as rooms and occupants
 *   ircadmin.c invitations, bans and the ban list, affiliations
 *   ircwatch.c presence of people outside channels (MONITOR, ISON, AWAY)
 *   ircsasl.c  logging in: SASL EXTERNAL/PLAIN, NickServ, the account
 *   irctls.c   TLS trust: pinned fingerprints, client certificates (CertFP)
 *   ircident.c who the server sees: WEBIRC, the identd responder
 *   ircpersist.c  per-channel settings, persistent channels
 *   irccmd.c   the ad-hoc commands
 *
 * Nothing here is seen by the core; every name starts with ircd_.
 */
#ifndef SG_IRCDRV_H
#define SG_IRCDRV_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "driver.h"
#include "ircbucket.h"
#include "ircmsg.h"

#include <event2/util.h>

struct bufferevent;
struct event;
struct evdns_base;
struct evdns_getaddrinfo_request;
struct evutil_addrinfo;
struct evconnlistener;
struct ircd_identq;
struct ssl_ctx_st;
struct ssl_st;

#define IRCD_LIST_KEEP 600     /* seconds a LIST result answers disco#items (and its pages) */
#define IRCD_JOIN_TIMEOUT 60   /* seconds for a JOIN to be answered */
#define IRCD_KEEPALIVE_TICK 30 /* seconds between keepalive checks when ready */
#define IRCD_REACTED_KEEP 32   /* reactions remembered per connection, not to send them twice */

/* The states of one IRC connection; ircd_set_state() logs every change. */
enum ircd_state {
	IRCD_IDLE,        /* not connected and not trying (new, or given up) */
	IRCD_RESOLVING,   /* asynchronous DNS */
	IRCD_CONNECTING,  /* TCP, then TLS, to one address and port */
	IRCD_REGISTERING, /* CAP, SASL, NICK/USER until 001 */
	IRCD_READY,       /* registered: channels and messages flow */
	IRCD_WAITING,     /* lost or failed: the reconnect timer runs */
	IRCD_CLOSED,      /* closed for good; freed from the loop */
};

/* IRCv3 capabilities we ask for when the server offers them. */
enum ircd_cap {
	IRCD_CAP_MULTI_PREFIX = 1u << 0,
	IRCD_CAP_MESSAGE_TAGS = 1u << 1,
	IRCD_CAP_SERVER_TIME = 1u << 2,
	IRCD_CAP_ECHO_MESSAGE = 1u << 3,
	IRCD_CAP_AWAY_NOTIFY = 1u << 4,
	IRCD_CAP_ACCOUNT_NOTIFY = 1u << 5,
	IRCD_CAP_EXTENDED_JOIN = 1u << 6,
	IRCD_CAP_CAP_NOTIFY = 1u << 7,
	IRCD_CAP_BATCH = 1u << 8,
	IRCD_CAP_SASL = 1u << 9,
	IRCD_CAP_USERHOST_IN_NAMES = 1u << 10,
	IRCD_CAP_CHGHOST = 1u << 11,
	IRCD_CAP_SETNAME = 1u << 12,
};

/* SASL mechanisms, in the order they are tried. */
enum ircd_sasl {
	IRCD_SASL_NONE,
	IRCD_SASL_EXTERNAL, /* the TLS client certificate (CertFP) */
	IRCD_SASL_PLAIN,    /* account and password */
};

struct ircd_member {
	char *nick;
	char *userhost; /* "user@host" when the server told (JOIN, WHO, userhost-in-names) */
	char modes[16]; /* prefix modes held ("ov"), in PREFIX order */
	bool away;
};

struct ircd_chan {
	struct ircd_chan *next;
	char *name; /* "#chan" as we JOIN it */
	char *room; /* the core's address for it, exactly as room_join gave it */
	char *key;
	char modes[32];   /* the channel's own modes set ("ntk"), from 324 and MODE */
	bool modes_known; /* a 324 came: modes is the channel's */
	struct gw_info_request **inforeqs; /* disco#info waiting for that 324 */
	size_t ninforeqs;
	bool joined;      /* the server confirmed our JOIN */
	bool core_joined; /* gw_room_joined() was called for this membership */
	time_t join_sent; /* when our JOIN went out, until the server confirms */
	struct ircd_member *m;
	size_t nm;
	char *topic, *topic_by;

	struct ircd_ban *bans; /* ban masks known (ban list, MODE +b/-b) */
	size_t nbans;
	struct ircd_ban *newbans; /* the ban list (367) being received */
	size_t nnewbans;
	struct gw_items **banreqs; /* muc#admin outcast lists waiting for 368 */
	size_t nbanreqs;
	bool banlist_sent;
	struct event *banlist_timer; /* a server that never sends 368 gets BANLIST_WAIT s */
	char *inviting;              /* nick of our last INVITE here, until the server answers */
	struct gw_reply **cfgreqs;   /* muc#owner forms waiting for 324 */
	size_t ncfgreqs;
	/* The user's settings for this channel (ircpersist.c), read when it is added. */
	bool persistent; /* stays joined while no resource is in it */
	bool archived;   /* its messages are recorded */
	char *encoding;  /* for text that is not UTF-8; NULL: the server's fallback */
};

struct ircd_ban {
	char *mask, *by;
};

/* A line waiting for the throttle; qid != 0 on a message's last line. */
struct ircd_line {
	struct ircd_line *next;
	char *text; /* with CR LF */
	size_t len;
	uint64_t qid;
	uint64_t round; /* talk: its turn among the targets (queue_insert, ircsend.c) */
};

/*
 * A private line sent for a message from XMPP, kept a while: the 401 (no
 * such nick) that answers it fails that message (ircd_sent_refused).
 */
struct ircd_sent {
	char *nick;     /* the line's target */
	char *xmpp_id;  /* the client's stanza id (owned) */
	char *resource; /* the client's resource that sent it, or NULL */
	time_t at;      /* when it was queued */
};
#define IRCD_SENT_KEEP 32 /* private lines remembered */
#define IRCD_SENT_AGE 120 /* seconds a 401 may take to answer one */

/* A message from XMPP held until the connection is registered. */
struct ircd_held {
	struct ircd_held *next;
	uint64_t qid;
	char *to, *to_resource, *body;
	bool groupchat;
	bool correction; /* XEP-0308: sent with a "* " prefix */
	char *reply_to;  /* XEP-0461: the stanza-id replied to, or NULL */
	char *xmpp_id;   /* the client's stanza id, or NULL */
	char *resource;  /* the client's resource, or NULL (after a restart) */
};

/* A channel message of ours waiting for the server's echo (echo-message). */
struct ircd_echo {
	struct ircd_echo *next;
	char *chan;  /* the channel it went to */
	char *body;  /* as the client wrote it: the reflection carries it whole */
	size_t left; /* lines still to be echoed */
};

/* A disco#items request for the server's channels, waiting for LIST. */
struct ircd_list {
	struct ircd_list *next;
	struct gw_items *it;
};

/* The server's channels as LIST gave them, kept IRCD_LIST_KEEP seconds for paging. */
struct ircd_chanlist {
	char **addr, **name;
	size_t n;
	time_t when;             /* complete (323) at; 0 while LIST runs or never did */
	bool running;            /* a LIST is out */
	struct event *ev_expire; /* forgets the channels IRCD_LIST_KEEP after the LIST */
};

/* Someone whose presence the user sees: a contact, or the other side of a private chat. */
struct ircd_watch {
	char *nick;
	enum gw_show show; /* GW_SHOW_OFFLINE, ONLINE or AWAY as last told */
	bool told;         /* show was told since the connection was registered */
	char *away;        /* the away message */
};

/* One port to try: TLS ports first, then plain ones. */
struct ircd_port {
	unsigned short port;
	bool tls;
};

struct ircd_net;

struct ircd_conn {
	struct ircd_conn *next;
	struct ircd_net *in;
	char *user;   /* bare JID */
	char *server; /* host name as in the addresses */
	enum ircd_state state;
	bool ever_ready; /* registered at least once: a loss reconnects */
	bool queries;    /* private chats happened: stay up without channels */
	int failures;    /* consecutive failed rounds, for the backoff */
	int nick_tries;  /* nicks refused during this registration */

	/* What this connection uses, read from settings when it starts. */
	char *nick, *want_nick, *username, *realname;
	char *pass, *sasl_pass, *after_connect;
	char *nickserv_pass; /* IDENTIFY after 001 when SASL did not log us in */
	char *pin;           /* pinned SHA-256 of the server certificate (64 hex), or NULL */
	struct ircd_port *ports;
	size_t nports, port_i;
	bool verify;
	bool client_cert; /* this TLS connection presents a client certificate */
	bool pin_told;    /* the user was told of a pinned-fingerprint mismatch */
	char *encoding;   /* fallback for text that is not UTF-8; NULL: the config's */

	struct evdns_getaddrinfo_request *dnsreq;
	struct evutil_addrinfo *ai, *ai_cur;
	struct bufferevent *bev;
	struct event *ev_timer; /* connect/registration timeout, keepalive, reconnect */
	struct event *ev_send;  /* the throttle's next line */
	struct event *ev_free;
	struct event *ev_linger; /* closes a connection nothing uses any more */
	char *last_error;

	struct ircbucket bucket;
	struct ircd_line *q, **q_tail;
	uint64_t sending_qid; /* the message being sent now by ircd_send() */

	unsigned caps_offered, caps;
	bool cap_negotiating, sasl_running;
	char *sasl_mechs;         /* the server's "sasl=" list, or NULL when not given */
	enum ircd_sasl sasl_mech; /* the mechanism being tried */
	bool sasl_tried;          /* a SASL exchange took place on this connection */
	char *account;            /* services account we are logged in to (900), or NULL */
	struct ircmsg_isupport isup;
	char *self_user, *self_host;
	time_t last_rx;
	bool ping_out;

	struct ircd_chan *chans;
	struct ircd_held *held, **held_tail;
	struct ircd_list *lists;
	struct ircd_chanlist chanlist;

	struct ircd_echo *echoes;         /* oldest first */
	char *reacted[IRCD_REACTED_KEEP]; /* "msgid\x1femoji" sent (a ring): a set is sent once */
	size_t reacted_next;
	struct ircd_sent sent[IRCD_SENT_KEEP]; /* a ring, oldest at sent_next */
	size_t sent_next;
	char *sent_failed;      /* the id a 401 failed last: its other lines' 401s add nothing */
	char **history_batches; /* references of the open chathistory batches */
	size_t nhistory_batches;

	struct ircd_watch *watch;
	size_t nwatch;
	char **ison_out; /* ISON queries sent, oldest first, each the nicks asked */
	size_t nison_out;
	bool ison_stale;        /* ISON answers were still due at the last poll */
	struct event *ev_watch; /* the ISON poll */
	bool watch_on;          /* watching since the end of the MOTD (ISUPPORT known) */
};

/* A closed connection's bufferevent, kept until its QUIT is written. */
struct ircd_quitting {
	struct ircd_quitting *next;
	struct ircd_net *in;
	struct bufferevent *bev;
};

struct ircd_net {
	struct gw_net *net;
	struct ircd_conn *conns;
	struct ircd_quitting *quitting; /* freed by ircd_quitting_free_all at stop */
	struct evdns_base *dns;
	struct ssl_ctx_st *ssl; /* verifies certificates */
	struct ssl_ctx_st *ssl_noverify;
	unsigned long lines_in, lines_out, bad_lines;
	bool stopping;
	struct evconnlistener *identd[2]; /* IPv4, IPv6; NULL when off */
	struct ircd_identq *identqs;      /* identd queries being answered */
};

/* ---- ircdrv.c ---- */
struct ircd_net *ircd_priv(struct gw_net *);
/* The config's value of key as text (ports joined by spaces), or NULL. Caller frees. */
char *ircd_conf_value(struct gw_net *, const char *key);
/* The user's setting for server, else the config's. Caller frees. */
char *ircd_setting_for(struct gw_net *, const char *user, const char *server, const char *key);
/*
 * Splits an address into *target (channel or nick; NULL for the server
 * itself) and *server (both caller frees). 0, or -1: not an IRC address.
 */
int ircd_addr_split(struct gw_net *, const char *address, char **target, char **server);
/* The user's setting for a server, the server's config default otherwise. Caller frees. */
char *ircd_setting(struct ircd_conn *, const char *key);
const char *ircd_fallback_encoding(struct ircd_conn *);
/* The fixed_server option, or NULL. */
const char *ircd_fixed_server(struct ircd_net *);
/* Sends a message that was held; returns what send() would. */
enum gw_send_status ircd_send_now(struct ircd_conn *, const struct ircd_held *, char **why);

/*
 * The admin's value of key for one IRC server ([irc.server.NAME]), or NULL.
 * Belongs to the config.
 */
const char *ircd_server_conf(struct gw_net *, const char *server, const char *key);

/* ---- ircsasl.c ---- */
/* Keeps the mechanisms of a "sasl=A,B" value in a CAP LS/NEW list. */
void ircd_sasl_mechs(struct ircd_conn *, const char *caplist);
/* Whether there is a mechanism to try (a client certificate, a password). */
bool ircd_sasl_wanted(struct ircd_conn *);
/* The sasl capability was acknowledged: start the first mechanism. */
void ircd_sasl_begin(struct ircd_conn *);
void ircd_on_authenticate(struct ircd_conn *, const struct ircmsg *);
/* 903 (ok) or 902/904-907: the next mechanism, or the end of CAP negotiation. */
void ircd_sasl_done(struct ircd_conn *, const struct ircmsg *, bool ok);
/* After 001: IDENTIFY with NickServ when SASL did not log us in and a password is set. */
void ircd_nickserv_identify(struct ircd_conn *);
/* 900 / 901: the account we are logged in to, told to the user. */
void ircd_on_account(struct ircd_conn *, const struct ircmsg *);

/* ---- irctls.c ---- */
/* A new SSL for the connection: trust (verify, pin), SNI, client certificate. NULL on error. */
struct ssl_st *ircd_tls_new(struct ircd_conn *);
/*
 * After the handshake: with a pinned fingerprint, whether the server's
 * certificate matches. 0, or -1 with why (naming both fingerprints) filled.
 */
int ircd_tls_check_pin(struct ircd_conn *, struct ssl_st *, char *why, size_t len);
/* "AB:cd:..." or "abcd..." into 64 lower-case hex digits. 0, or -1: not a SHA-256. */
int ircd_fingerprint_parse(const char *in, char out[65]);
/*
 * The user's client certificate for server: its fingerprint into fp (64 hex)
 * when there is one. create: make one when there is none; renew: replace it.
 * Returns 1 (there is one), 0 (none), -1 (error: cannot create or store).
 */
int ircd_client_cert(struct gw_net *, const char *user, const char *server, bool create, bool renew,
                     char fp[65]);
/* The admin's client_cert/client_key files hold a certificate and its key? 0, or -1 with why. */
int ircd_client_files_check(const char *cert, const char *key, char **why);
/* Forgets the user's generated client certificate for server. 0 or -1. */
int ircd_client_cert_remove(struct gw_net *, const char *user, const char *server);

/* ---- ircident.c ---- */
/* WEBIRC before registration, when the admin set a webirc_password for the server. */
void ircd_webirc(struct ircd_conn *);
/*
 * The host name and IPv6 address WEBIRC gives for user (a bare JID), from
 * HMAC-SHA256(password, user): "<16 hex>.<domain>" (".xmpp" when the domain
 * is not a plain host name or would pass 63 bytes) and "fdxx:...". 0 or -1.
 */
int ircd_webirc_identity(const char *password, const char *user, char host[80], char ip[48]);
/* The RFC 1413 responder on port (0: none). 0, or -1 (logged) when it cannot listen. */
int ircd_identd_start(struct ircd_net *, unsigned port);
void ircd_identd_stop(struct ircd_net *);
/* An RFC 1413 query "<port> , <port>" (no line ending). 0, or -1: malformed. */
int ircd_identd_parse(const char *line, unsigned *ours, unsigned *theirs);

/* ---- ircconn.c ---- */
struct ircd_conn *ircd_conn_find(struct ircd_net *, const char *user, const char *server);
/* Finds or creates the connection (IDLE). */
struct ircd_conn *ircd_conn_get(struct ircd_net *, const char *user, const char *server);
/* Starts connecting if it is idle; nick is the nick to ask for (may be NULL). */
void ircd_conn_start(struct ircd_conn *, const char *nick);
/* QUIT (when connected), then freed from the loop. */
void ircd_conn_close(struct ircd_conn *, const char *reason);
/* Frees the bufferevents whose QUIT was still being written. */
void ircd_quitting_free_all(struct ircd_net *);
/*
 * The user's rooms on it are left for good (persistent ones too: no rejoin
 * follows), told why; then closed with QUIT quit.
 */
void ircd_conn_end(struct ircd_conn *, const char *why, const char *quit);
/* Close if nothing needs the connection any more. */
void ircd_conn_maybe_close(struct ircd_conn *);
/* The server went away or misbehaved: tell the user, reconnect or give up. */
void ircd_conn_lost(struct ircd_conn *, const char *why);
void ircd_set_state(struct ircd_conn *, enum ircd_state);
/* 004 named the server's software (version): its own send rate where nobody chose one. */
void ircd_throttle_for(struct ircd_conn *, const char *version);
/* A valid IRC nick made of what the user gave ("Alice Smith" -> "AliceSmith"). Caller frees. */
char *ircd_nick_clean(const char *);
const char *ircd_state_name(enum ircd_state);
/*
 * Queue a line built with ircmsg_build/format (taken: freed here). Lines go
 * through the throttle unless now is set (PONG, registration, QUIT).
 * qid: the queued message it completes, or 0.
 */
void ircd_queue(struct ircd_conn *, char *line, size_t len, uint64_t qid, bool now);
/* Builds and queues; a line that cannot be built is logged and dropped. */
void ircd_sendf(struct ircd_conn *, bool now, const char *command, ...) __attribute__((sentinel));
/* The connection was registered (001). */
void ircd_conn_ready(struct ircd_conn *);
void ircd_conn_free_all(struct ircd_net *);

/* ---- irccmd.c ---- */
extern const struct gw_command ircd_commands[];

/* ---- ircsend.c (the queue; ircd_queue, ircd_sendf, ircd_conn_ready above) ---- */
/* The throttle's timer. */
void ircd_send_cb(evutil_socket_t, short, void *);
/* Drops the queue and the held messages; report: RETRY each to the core. */
void ircd_fail_queue(struct ircd_conn *, const char *why, bool report);
/* Lines waiting for the throttle. */
size_t ircd_queue_length(const struct ircd_conn *);
/*
 * A private line to nick carried the message the client's resource (may be
 * NULL) sent with xmpp_id (may be NULL: nothing to remember).
 */
void ircd_sent_note(struct ircd_conn *, const char *nick, const char *resource,
                    const char *xmpp_id);
/*
 * A 401 (no such nick) for nick: fails the oldest message still
 * remembered as sent to it, with text, and returns true; false when none
 * is (the caller shows the numeric as before).
 */
bool ircd_sent_refused(struct ircd_conn *, const char *nick, const char *text);
void ircd_sent_free(struct ircd_conn *);
/*
 * A copy of a line (len bytes, no line ending) for the log, the secret it
 * may carry hidden (PASS, AUTHENTICATE, OPER, WEBIRC, to NickServ). Caller frees.
 */
char *ircd_redacted(const char *line, size_t len);

/* ---- ircchan.c ---- */
void ircd_on_join(struct ircd_conn *, const struct ircmsg *);
void ircd_on_names(struct ircd_conn *, const struct ircmsg *);
void ircd_on_names_end(struct ircd_conn *, const struct ircmsg *);
void ircd_on_part(struct ircd_conn *, const struct ircmsg *, bool kick);
void ircd_on_quit(struct ircd_conn *, const struct ircmsg *);
void ircd_on_nick(struct ircd_conn *, const struct ircmsg *);
void ircd_on_away(struct ircd_conn *, const struct ircmsg *);
void ircd_on_chghost(struct ircd_conn *, const struct ircmsg *);
void ircd_on_mode(struct ircd_conn *, const struct ircmsg *);
void ircd_set_topic(struct ircd_conn *, struct ircd_chan *, const char *topic, const char *by);

/* The connection and channel of a room of the user, or NULL. */
struct ircd_conn *ircd_room_conn(struct gw_net *, const char *user, const char *room,
                                 struct ircd_chan **);
/* The member of a channel named nick, or NULL. */
struct ircd_member *ircd_member_find(struct ircd_conn *, struct ircd_chan *, const char *nick);

/* Sends JOIN (with the key) for a channel. */
void ircd_send_join(struct ircd_conn *, struct ircd_chan *);
/* Fails the joins the server never answered. */
void ircd_check_joins(struct ircd_conn *);
/* Sends LIST for the requests not sent yet. */
void ircd_lists_send(struct ircd_conn *);
/* Ends every pending list with an error. */
void ircd_lists_fail(struct ircd_conn *, const char *why);
/* LIST ended (323: GW_ERR_NONE, the list is kept) or failed: every waiting request is answered. */
void ircd_lists_end(struct ircd_conn *, enum gw_error, const char *why);
/* A channel of the LIST being received (322). */
void ircd_chanlist_add(struct ircd_conn *, const char *addr, const char *name);
/* Answers a disco#items request with the kept list. */
void ircd_chanlist_answer(struct ircd_conn *, struct gw_items *);
/* The channel list and its timer are freed (the connection goes). */
void ircd_chanlist_free(struct ircd_chanlist *);

/* ---- ircadmin.c ---- */
void ircd_room_invite(struct gw_net *, const char *user, const char *room, const char *nick,
                      const char *address, const char *reason);
void ircd_room_set_affiliation(struct gw_net *, const char *user, const char *room,
                               const char *nick, const char *address, enum gw_affiliation,
                               const char *reason);
void ircd_room_list_affiliation(struct gw_net *, const char *user, const char *room,
                                enum gw_affiliation, struct gw_items *);
extern const struct gw_field ircd_room_config[];
void ircd_room_config_get(struct gw_net *, const char *user, const char *room, struct gw_reply *);
enum gw_error ircd_room_config_set(struct gw_net *, const char *user, const char *room,
                                   const struct gw_values *, char **why);
/* A +b or -b seen in a MODE line. */
void ircd_ban_seen(struct ircd_conn *, struct ircd_chan *, const char *mask, const char *by,
                   bool on);
/* IRC wildcard matching ('*', '?') of s ("nick!user@host") against mask. */
bool ircd_mask_match(enum ircmsg_casemap, const char *mask, const char *s);
/* Whether a known ban of the channel matches our own nick!user@host. */
bool ircd_banned_me(struct ircd_conn *, struct ircd_chan *);
/* 324 (asked for a form), 341 (inviting), 443 (already there), 352, 367, 368; true when handled. */
bool ircd_admin_numeric(struct ircd_conn *, const struct ircmsg *);
/* 401 for a nick we just invited: told in that room; true when it was. */
bool ircd_invite_failed(struct ircd_conn *, const char *nick, const char *why);
/* Frees a channel's bans and answers its waiting ban lists and forms with why. */
void ircd_bans_free(struct ircd_chan *, const char *why);

/* ---- ircwatch.c ---- */
/* Registered and ISUPPORT known (end of MOTD): contacts on this server are watched. */
void ircd_watch_start(struct ircd_conn *);
/* The driver's contact_changed: a contact added is watched, one removed is not. */
void ircd_contact_changed(struct gw_net *, const char *user, const char *address, bool added);
/* The driver's contact_presence: what the watch last told, the server's connection state. */
enum gw_show ircd_contact_presence(struct gw_net *, const char *user, const char *address,
                                   char **status);
/* A private chat with nick: watch its presence too. */
void ircd_watch_add(struct ircd_conn *, const char *nick);
/* 303, 730, 731, 301; true when handled. */
bool ircd_watch_numeric(struct ircd_conn *, const struct ircmsg *);
/* Someone seen online or gone (JOIN, QUIT, NICK), or away (AWAY). */
void ircd_watch_seen(struct ircd_conn *, const char *nick, bool online);
void ircd_watch_away(struct ircd_conn *, const char *nick, const char *away);
/* Offline presence for everyone told online (the connection is going). */
void ircd_watch_stop(struct ircd_conn *);
void ircd_watch_free(struct ircd_conn *);

/* ---- ircpersist.c ---- */
/* The store scope of a channel's settings: "#chan%server" (caller frees). */
char *ircd_chan_scope(const char *chan, const char *server);
/* A channel's setting key, NULL when unset (caller frees). */
char *ircd_chan_setting(struct gw_net *, const char *user, const char *chan, const char *server,
                        const char *key);
/* The channel's stored key (a secret), NULL when none (caller frees). */
char *ircd_chan_key_get(struct gw_net *, const char *user, const char *chan, const char *server);
/* ch->key becomes key (copied; NULL: none) and is stored sealed, or forgotten. */
void ircd_chan_key_keep(struct ircd_conn *, struct ircd_chan *, const char *key);
/* Whether a stored yes/no value says yes; def when v is NULL or empty. */
bool ircd_yes(const char *v, bool def);
/* The default of record_history for the user's channels: their own, else yes. */
bool ircd_archived_default(struct gw_net *, const char *user);
/* Reads the channel's settings into ch. */
void ircd_chan_load(struct ircd_conn *, struct ircd_chan *);
/* The channel of room on the user's connection, or NULL (*cp too). */
struct ircd_chan *ircd_room_chan(struct gw_net *, const char *user, const char *room,
                                 struct ircd_conn **cp);
/* The driver's room_persistent and room_archived operations. */
bool ircd_room_persistent(struct gw_net *, const char *user, const char *room);
bool ircd_room_archived(struct gw_net *, const char *user, const char *room);
/* At start-up: the persistent channels of every user are joined again. */
void ircd_persist_restore(struct gw_net *);

/* ---- ircv3.c ---- */
/* A channel message of lines lines went out: its echo is the reflection. */
void ircd_echo_expect(struct ircd_conn *, const char *chan, const char *body, size_t lines);
/*
 * Our own line echoed in chan: the whole body (caller frees) when it was a
 * message's last line; NULL with *swallow when an earlier line (not shown),
 * NULL without it when we did not send it from here (shown as it is).
 */
char *ircd_echo_take(struct ircd_conn *, const char *chan, bool *swallow);
/* The server refused a line to chan (404): its echo will not come. */
void ircd_echo_refused(struct ircd_conn *, const char *chan);
void ircd_echo_free(struct ircd_conn *);
/* BATCH +ref type / -ref: chathistory batches are tracked. */
void ircd_on_batch(struct ircd_conn *, const struct ircmsg *);
/* Whether a line belongs to a chathistory batch (history replayed on join). */
bool ircd_is_history(const struct ircd_conn *, const struct ircmsg *);
void ircd_batches_free(struct ircd_conn *);
/* TAGMSG with +typing to target (a channel or nick); dropped when a burst of lines waits. */
void ircd_typing_send(struct ircd_conn *, const char *target, enum gw_chatstate);
void ircd_on_tagmsg(struct ircd_conn *, const struct ircmsg *);
/* The driver's room_react: each emoji not sent before as TAGMSG +draft/react. */
void ircd_room_react(struct gw_net *, const char *user, const char *room, const char *id,
                     const char *const *emoji, size_t n);
void ircd_reacted_free(struct ircd_conn *);

/* ---- ircproto.c ---- */
/* IRC text for XMPP: charset fallback, formatting and forbidden characters removed. */
char *ircd_text_in(struct ircd_conn *, const char *s);
/* The same with a channel's own fallback encoding, when it has one (ch may be NULL). */
char *ircd_chan_text_in(struct ircd_conn *, const struct ircd_chan *, const char *s);
/* Whether a nick or channel name from the server may become part of a JID. */
bool ircd_name_ok(const char *s);
/* Whether nick is ours on this connection. */
bool ircd_is_me(struct ircd_conn *, const char *nick);
/* One line from the server (without its line ending). */
void ircd_handle_line(struct ircd_conn *, const char *line, size_t len);
/* What to send once the socket is up: CAP LS, PASS, NICK, USER. */
void ircd_register(struct ircd_conn *);
/* CAP END, once, when negotiation is running. */
void ircd_cap_end(struct ircd_conn *);
struct ircd_chan *ircd_chan_find(struct ircd_conn *, const char *name);
struct ircd_chan *ircd_chan_add(struct ircd_conn *, const char *name, const char *room);
void ircd_chan_free(struct ircd_chan *);
void ircd_chan_remove(struct ircd_conn *, struct ircd_chan *);
/* Tell the core every occupant, the subject and the join. */
void ircd_chan_report_joined(struct ircd_conn *, struct ircd_chan *);
void ircd_room_info(struct gw_net *, const char *user, const char *room, struct gw_info_request *);
void ircd_chan_modes_known(struct ircd_chan *);
void ircd_chan_set_mode(struct ircd_chan *, char mode, bool on);
/* Address of a nick on this connection's server: "nick%server" (caller frees). */
char *ircd_nick_address(struct ircd_conn *, const char *nick);
/* A message from the server's address to the user. */
void ircd_server_message(struct ircd_conn *, const char *fmt, ...) SG_PRINTF(2, 3);

#endif
