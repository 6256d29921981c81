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
struct ssl_ctx_st;

#define IRCD_LIST_MAX 1000     /* channels in one disco#items answer (no RSM paging yet) */
#define IRCD_JOIN_TIMEOUT 60   /* seconds for a JOIN to be answered */
#define IRCD_KEEPALIVE_TICK 30 /* seconds between keepalive checks when ready */

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
};

struct ircd_member {
	char *nick;
	char modes[16]; /* prefix modes held ("ov"), in PREFIX order */
	bool away;
};

struct ircd_chan {
	struct ircd_chan *next;
	char *name; /* "#chan" as we JOIN it */
	char *room; /* the core's address for it, exactly as room_join gave it */
	char *key;
	bool joined;      /* the server confirmed our JOIN */
	bool core_joined; /* gw_room_joined() was called for this membership */
	time_t join_sent; /* when our JOIN went out, until the server confirms */
	struct ircd_member *m;
	size_t nm;
	char *topic, *topic_by;
	/* The user's settings for this channel (ircpersist.c), read when it is added. */
	bool persistent; /* stays joined while no resource is in it */
	bool archived;   /* its messages are recorded */
	char *encoding;  /* for text that is not UTF-8; NULL: the server's fallback */
};

/* A line waiting for the throttle; qid != 0 on a message's last line. */
struct ircd_line {
	struct ircd_line *next;
	char *text; /* with CR LF */
	size_t len;
	uint64_t qid;
};

/* A message from XMPP held until the connection is registered. */
struct ircd_held {
	struct ircd_held *next;
	uint64_t qid;
	char *to, *to_resource, *body;
	bool groupchat;
};

/* A disco#items request for the server's channels (LIST), in order. */
struct ircd_list {
	struct ircd_list *next;
	struct gw_items *it;
	size_t n;
	bool sent;
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
	struct ircd_port *ports;
	size_t nports, port_i;
	bool verify;
	char *encoding; /* fallback for text that is not UTF-8; NULL: the config's */

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
	struct ircmsg_isupport isup;
	char *self_user, *self_host;
	time_t last_rx;
	bool ping_out;

	struct ircd_chan *chans;
	struct ircd_held *held, **held_tail;
	struct ircd_list *lists;
};

struct ircd_net {
	struct gw_net *net;
	struct ircd_conn *conns;
	struct evdns_base *dns;
	struct ssl_ctx_st *ssl; /* verifies certificates */
	struct ssl_ctx_st *ssl_noverify;
	unsigned long lines_in, lines_out, bad_lines;
	bool stopping;
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
enum gw_send_status ircd_send_now(struct ircd_conn *, uint64_t qid, const char *to,
                                  const char *to_resource, const char *body, bool groupchat,
                                  char **why);

/* ---- ircconn.c ---- */
struct ircd_conn *ircd_conn_find(struct ircd_net *, const char *user, const char *server);
/* Finds or creates the connection (IDLE). */
struct ircd_conn *ircd_conn_get(struct ircd_net *, const char *user, const char *server);
/* Starts connecting if it is idle; nick is the nick to ask for (may be NULL). */
void ircd_conn_start(struct ircd_conn *, const char *nick);
/* QUIT (when connected), then freed from the loop. */
void ircd_conn_close(struct ircd_conn *, const char *reason);
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

/* ---- ircchan.c ---- */
void ircd_on_join(struct ircd_conn *, const struct ircmsg *);
void ircd_on_names(struct ircd_conn *, const struct ircmsg *);
void ircd_on_names_end(struct ircd_conn *, const struct ircmsg *);
void ircd_on_part(struct ircd_conn *, const struct ircmsg *, bool kick);
void ircd_on_quit(struct ircd_conn *, const struct ircmsg *);
void ircd_on_nick(struct ircd_conn *, const struct ircmsg *);
void ircd_on_away(struct ircd_conn *, const struct ircmsg *);
void ircd_on_mode(struct ircd_conn *, const struct ircmsg *);
void ircd_set_topic(struct ircd_conn *, struct ircd_chan *, const char *topic, const char *by);

/* Sends JOIN (with the key) for a channel. */
void ircd_send_join(struct ircd_conn *, struct ircd_chan *);
/* Fails the joins the server never answered. */
void ircd_check_joins(struct ircd_conn *);
/* Sends LIST for the requests not sent yet. */
void ircd_lists_send(struct ircd_conn *);
/* Ends every pending list with an error. */
void ircd_lists_fail(struct ircd_conn *, const char *why);

/* ---- ircpersist.c ---- */
/* The store scope of a channel's settings: "#chan%server" (caller frees). */
char *ircd_chan_scope(const char *chan, const char *server);
/* A channel's setting key, NULL when unset (caller frees). */
char *ircd_chan_setting(struct gw_net *, const char *user, const char *chan, const char *server,
                        const char *key);
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
struct ircd_chan *ircd_chan_find(struct ircd_conn *, const char *name);
struct ircd_chan *ircd_chan_add(struct ircd_conn *, const char *name, const char *room);
void ircd_chan_free(struct ircd_chan *);
void ircd_chan_remove(struct ircd_conn *, struct ircd_chan *);
/* Tell the core every occupant, the subject and the join. */
void ircd_chan_report_joined(struct ircd_conn *, struct ircd_chan *);
/* Address of a nick on this connection's server: "nick%server" (caller frees). */
char *ircd_nick_address(struct ircd_conn *, const char *nick);
/* A message from the server's address to the user. */
void ircd_server_message(struct ircd_conn *, const char *fmt, ...) SG_PRINTF(2, 3);

#endif
