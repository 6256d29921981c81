/*
 * The driver interface: the one header a backend includes.
 *
 * Three call directions (STYLE.md):
 *   core -> driver   through the operations of `struct gw_driver`;
 *   driver -> core   through the gw_*() functions declared below;
 *   core -> XMPP     through the component module (never seen from here).
 *
 * A backend never builds a stanza and never sees a JID: it deals in
 * "addresses", the unescaped localparts of the gateway's JIDs ("+1555…",
 * "#chan%irc.example.net", "alice@example.com"), and in users, the bare JIDs
 * of the XMPP users it serves. Escaping (XEP-0106), routing, queues, forms and
 * stanzas are the core's business.
 *
 * Strings passed to a driver operation are owned by the core and valid for
 * the duration of the call; copy what you keep. Strings passed to a gw_*()
 * function are copied by the core unless a comment says otherwise.
 */
#ifndef SG_DRIVER_H
#define SG_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "log.h"
#include "xmalloc.h"

struct event_base;
struct evdns_base;
struct gw_net;     /* one enabled backend: its component, config and state */
struct gw_cmd;     /* one running ad-hoc or text command */
struct gw_values;  /* submitted form values */
struct gw_section; /* one parsed config section */

/* ---- Errors shown to XMPP users (XEP-0100's mapping, RFC 6120 names) ---- */

enum gw_error {
	GW_ERR_NONE = 0,
	GW_ERR_BAD_REQUEST,
	GW_ERR_CONFLICT,
	GW_ERR_FORBIDDEN,
	GW_ERR_INTERNAL,
	GW_ERR_ITEM_NOT_FOUND,
	GW_ERR_JID_MALFORMED,
	GW_ERR_NOT_ACCEPTABLE,
	GW_ERR_NOT_ALLOWED,
	GW_ERR_NOT_AUTHORIZED,
	GW_ERR_RECIPIENT_UNAVAILABLE,
	GW_ERR_REGISTRATION_REQUIRED,
	GW_ERR_REMOTE_SERVER_NOT_FOUND,
	GW_ERR_REMOTE_SERVER_TIMEOUT,
	GW_ERR_RESOURCE_CONSTRAINT,
	GW_ERR_SERVICE_UNAVAILABLE,
	GW_ERR_POLICY_VIOLATION,
};

/* ---- Configuration options (one declarative table per section) ---- */

enum gw_opt_type {
	GW_OPT_STRING,
	GW_OPT_SECRET, /* a string that may also be given as <name>_file = PATH */
	GW_OPT_INT,
	GW_OPT_BOOL,  /* yes/no, true/false, on/off, 1/0 */
	GW_OPT_LIST,  /* words separated by spaces or commas; empty = none */
	GW_OPT_PORTS, /* a list of port numbers 1..65535; empty = none */
	GW_OPT_JID,   /* a domain or bare JID, checked for syntax */
	GW_OPT_PATH,
	GW_OPT_DURATION, /* seconds, or with a suffix: 30s, 5m, 2h, 1d */
};

#define GW_OPT_REQUIRED 0x01   /* no default: the section needs it */
#define GW_OPT_RELOADABLE 0x02 /* SIGHUP applies a new value */

struct gw_option {
	const char *name;
	enum gw_opt_type type;
	const char *def; /* default as written in the file; NULL = unset */
	long min, max;   /* bounds for INT/DURATION (and list lengths); 0,0 = none */
	unsigned flags;
	const char *help; /* one sentence: for -n, the example config, the man page */
};
#define GW_OPTIONS_END                                                                             \
	{                                                                                          \
		NULL, 0, NULL, 0, 0, 0, NULL                                                       \
	}

/*
 * Subsections such as [sms.line.office]: kind "line" under the driver's
 * section. Each has its own option table.
 */
struct gw_subsection {
	const char *kind;
	const struct gw_option *options;
	const char *help;
};
#define GW_SUBSECTIONS_END                                                                         \
	{                                                                                          \
		NULL, NULL, NULL                                                                   \
	}

/*
 * Reading parsed values. A key that was not in the file yields its default.
 * Returned strings belong to the config and live until the next reload.
 */
const struct gw_section *gw_net_section(struct gw_net *);
/* Subsections of a kind, in file order; *n gets the count. */
const struct gw_section *const *gw_net_subsections(struct gw_net *, const char *kind, size_t *n);
const char *gw_section_name(const struct gw_section *); /* "office" for [sms.line.office] */
const char *gw_section_kind(const struct gw_section *); /* "line" there; NULL for [sms] */
const char *gw_conf_str(const struct gw_section *, const char *key); /* NULL when unset */
long gw_conf_int(const struct gw_section *, const char *key);        /* also DURATION */
bool gw_conf_bool(const struct gw_section *, const char *key);
/* LIST and PORTS: a NULL-terminated vector; never NULL (empty vector). */
const char *const *gw_conf_list(const struct gw_section *, const char *key);

/* ---- Forms (XEP-0004), used by registration and commands ---- */

enum gw_field_type {
	GW_FIELD_TEXT,       /* text-single */
	GW_FIELD_PRIVATE,    /* text-private */
	GW_FIELD_TEXT_MULTI, /* text-multi */
	GW_FIELD_BOOL,       /* boolean */
	GW_FIELD_LIST,       /* list-single */
	GW_FIELD_LIST_MULTI, /* list-multi */
	GW_FIELD_JID,        /* jid-single */
	GW_FIELD_FIXED,      /* fixed: a line of text, no value to submit */
	GW_FIELD_HIDDEN,     /* hidden */
};

#define GW_FIELD_REQUIRED 0x01
/* Stored encrypted, never shown back: a form shows it empty and an empty or
 * absent submission keeps the stored value. */
#define GW_FIELD_SECRET 0x02

struct gw_field {
	const char *var;
	enum gw_field_type type;
	const char *label;
	const char *desc;
	unsigned flags;
	const char *const *options; /* LIST/LIST_MULTI: NULL-terminated values */
	const char *def;            /* value shown when nothing is stored */
};
#define GW_FIELDS_END                                                                              \
	{                                                                                          \
		NULL, 0, NULL, NULL, 0, NULL, NULL                                                 \
	}

/*
 * A form to show. Fields and current values are copied by the core when the
 * form is handed over, so they may live on the caller's stack.
 */
struct gw_form {
	const char *title;
	const char *instructions;
	const struct gw_field *fields;   /* ends with var == NULL */
	const struct gw_values *current; /* values to pre-fill, or NULL */
};

/* Submitted values. First value of var, or NULL when absent. */
const char *gw_values_get(const struct gw_values *, const char *var);
/* All values of var (list-multi, text-multi); *n gets the count. */
const char *const *gw_values_getv(const struct gw_values *, const char *var, size_t *n);
bool gw_values_has(const struct gw_values *, const char *var);
/* Values a driver builds (to pre-fill a form). Free with gw_values_free(). */
struct gw_values *gw_values_new(void);
void gw_values_add(struct gw_values *, const char *var, const char *value);
void gw_values_free(struct gw_values *);

/*
 * A registration waiting for the driver's verify_registration verdict:
 * GW_ERR_NONE stores it and answers the user; an error answers with why
 * (may be NULL) and stores nothing. Frees the request.
 */
struct gw_check;
void gw_check_done(struct gw_check *, enum gw_error, const char *why);
/* Before gw_check_done: store this value of var instead of the submitted one (found servers). */
void gw_check_set(struct gw_check *, const char *var, const char *value);

/* ---- Commands (XEP-0050, and the same as text sent to the gateway) ---- */

enum gw_access {
	GW_ACCESS_ANYONE,     /* anyone allowed to use the gateway */
	GW_ACCESS_REGISTERED, /* registered users */
	GW_ACCESS_ADMIN,      /* JIDs listed in [xmpp] admins */
};

/* Where a command is offered: on the gateway JID, or on an address's JID. */
#define GW_SCOPE_GATEWAY 0x01
#define GW_SCOPE_ADDRESS 0x02

enum gw_cmd_status {
	GW_CMD_NEXT,  /* a form was set with gw_cmd_form(): wait for the next stage */
	GW_CMD_DONE,  /* finished; notes and a result form may have been set */
	GW_CMD_ERROR, /* failed; a note of type error says why */
};

struct gw_command {
	const char *node; /* XEP-0050 node */
	const char *name; /* shown in command lists */
	const char *word; /* text command: first word of a chat message */
	const char *help; /* one line for `help` */
	enum gw_access access;
	unsigned scope;
	/*
	 * Stage 0 is the first call (in is NULL unless the text command carried
	 * arguments as "var=value"); stage N+1 follows the submission of the
	 * form set at stage N. Cancellation never reaches the step: the
	 * framework frees the session (and its data).
	 */
	enum gw_cmd_status (*step)(struct gw_cmd *, int stage, const struct gw_values *in);
};
#define GW_COMMANDS_END                                                                            \
	{                                                                                          \
		NULL, NULL, NULL, NULL, 0, 0, NULL                                                 \
	}

enum gw_note { GW_NOTE_INFO, GW_NOTE_WARN, GW_NOTE_ERROR };

struct gw_net *gw_cmd_net(struct gw_cmd *);
const char *gw_cmd_user(struct gw_cmd *);   /* the requester's bare JID */
const char *gw_cmd_target(struct gw_cmd *); /* the address it runs on; NULL on the gateway */
bool gw_cmd_is_admin(struct gw_cmd *);
/* Per-session data, freed with free_fn when the session ends. */
void gw_cmd_set_data(struct gw_cmd *, void *data, void (*free_fn)(void *));
void *gw_cmd_data(struct gw_cmd *);
void gw_cmd_form(struct gw_cmd *, const struct gw_form *);   /* ask for the next stage */
void gw_cmd_result(struct gw_cmd *, const struct gw_form *); /* a result form (read-only) */
void gw_cmd_note(struct gw_cmd *, enum gw_note, const char *fmt, ...) SG_PRINTF(3, 4);

/* ---- Messages ---- */

enum gw_send_status {
	GW_SEND_DONE,      /* taken by the network: the core forgets the message */
	GW_SEND_PENDING,   /* the driver will call gw_send_done() later */
	GW_SEND_RETRY,     /* not now (network unreachable): the core retries with backoff */
	GW_SEND_FAILED,    /* never: the core tells the user, with why */
	GW_SEND_FORBIDDEN, /* never for this user (no line of theirs): as FAILED, error forbidden */
};

/* A message from XMPP, already durable in the core's queue. */
struct gw_outmsg {
	uint64_t qid;            /* queue id: give it back to gw_send_done() */
	const char *user;        /* sender's bare JID */
	const char *resource;    /* sender's resource; NULL if unknown (after a restart) */
	const char *to;          /* normalised address */
	const char *to_resource; /* resource of the destination JID (an in-room nick), or NULL */
	const char *body;        /* UTF-8, may contain newlines; never NULL */
	const char *subject;     /* the message's <subject/>, one line, or NULL */
	const char *thread;      /* the message's <thread/> (XEP-0201), one line, or NULL */
	const char *xmpp_id;     /* the client's stanza id, for receipts; may be NULL */
	bool groupchat;          /* to a room the user has joined */
	bool want_receipt;       /* XEP-0184 request */
	bool correction;         /* XEP-0308: it corrects the sender's previous message */
	/*
	 * XEP-0461: the id of the message this replies to, as the client
	 * named it (in a room: its stanza-id; gw_room_network_id() maps it), or NULL.
	 */
	const char *reply_to;
	int attempts; /* earlier tries of this message */
};

enum gw_msg_kind { GW_MSG_CHAT, GW_MSG_NORMAL, GW_MSG_HEADLINE };

/* A message for XMPP. */
struct gw_inmsg {
	const char *user;          /* recipient's bare JID */
	const char *from;          /* address: becomes the sender JID's localpart */
	const char *from_resource; /* optional resource of the sender JID */
	const char *body;          /* need not be clean: the core sanitises */
	const char *subject;       /* optional */
	const char *thread;        /* optional: the conversation's <thread/> (XEP-0201) */
	const char *id; /* stable id from the network, for XEP-0359 and dedup; optional */
	time_t stamp;   /* 0 = now; otherwise shown as delayed (XEP-0203) */
	enum gw_msg_kind kind;
	bool want_receipt;    /* the network wants to know when the user got it */
	const char *oob_url;  /* optional: a file's link, sent as XEP-0066 (body = the link) */
	const char *oob_desc; /* optional: what the link is (the file's name) */
	/*
	 * The driver keeps its own copy until gw_when_committed() says the
	 * message is stored, and hands it over again if not (an SMS left on
	 * the modem): when the commit fails the core forgets the message
	 * instead of sending it from memory, so it is not shown twice.
	 */
	bool keeps_copy;
};

/*
 * Queue a message for the user. It is in the store when this returns 0, and
 * is delivered (to the bare JID when no resource is online) as soon as the
 * component link is up. -1: the store failed (logged); the driver must not
 * drop the foreign copy.
 */
int gw_deliver(struct gw_net *, const struct gw_inmsg *);
/*
 * What gw_deliver() returned 0 for is written in the loop turn's
 * transaction, committed once the turn's work is done. cb(arg, true) runs
 * once that commit succeeded: only then may the driver acknowledge the
 * message on its network (delete the SMS, ...). cb(arg, false): the commit
 * failed, nothing of the turn is stored; keep the foreign copy. Always
 * called later from the loop, never from inside this call.
 */
void gw_when_committed(struct gw_net *, void (*cb)(void *arg, bool stored), void *arg);
/* Report the outcome of a GW_SEND_PENDING message; why may be NULL. */
void gw_send_done(struct gw_net *, uint64_t qid, enum gw_send_status, const char *why);
/* The network confirmed delivery of the message the client sent with xmpp_id. */
void gw_receipt(struct gw_net *, const char *user, const char *from, const char *xmpp_id);
/*
 * The network says a sent message finally failed: an error from `from`, to
 * the user's resource that sent it (NULL: unknown, to each one online).
 */
void gw_message_failed(struct gw_net *, const char *user, const char *resource, const char *from,
                       const char *xmpp_id, enum gw_error, const char *why);

#define GW_REACTIONS_MAX 16 /* XEP-0444 reactions of one user to one message, at most */

/* XEP-0085 chat states. */
enum gw_chatstate { GW_CS_ACTIVE, GW_CS_COMPOSING, GW_CS_PAUSED, GW_CS_INACTIVE, GW_CS_GONE };
void gw_chat_state(struct gw_net *, const char *user, const char *from, enum gw_chatstate);

/* ---- Files (XEP-0363) ---- */

struct gw_upload;
/* url: the link to show (NULL on failure); why: readable, on failure. Both valid during the call.
 */
typedef void (*gw_upload_cb)(void *arg, const char *url, const char *why);
/*
 * Puts a file (data copied) on the HTTP upload service of the user's own
 * XMPP server, found by disco and remembered per domain, and calls done
 * exactly once from a later loop turn: with the link (give it to the user
 * as gw_inmsg.oob_url), or with why it could not (no service, too big,
 * refused, unreachable). gw_upload_cancel() before that: done never runs.
 */
struct gw_upload *gw_upload(struct gw_net *, const char *user, const char *filename,
                            const char *content_type, const void *data, size_t len,
                            gw_upload_cb done, void *arg);
void gw_upload_cancel(struct gw_upload *);

/* ---- Contacts and presence ---- */

/*
 * GW_SHOW_UNKNOWN: the driver has not learned it yet (an IRC nick before the
 * server answered MONITOR or ISON); nothing is said until it calls
 * gw_presence().
 */
enum gw_show {
	GW_SHOW_OFFLINE,
	GW_SHOW_ONLINE,
	GW_SHOW_AWAY,
	GW_SHOW_XA,
	GW_SHOW_DND,
	GW_SHOW_CHAT,
	GW_SHOW_UNKNOWN,
};
/*
 * Presence of an address (or of the gateway itself, from == NULL). An
 * available contact carries the network's XEP-0115 caps (contact_features).
 */
void gw_presence(struct gw_net *, const char *user, const char *from, enum gw_show,
                 const char *status);
/*
 * What every contact of the user shows may have changed (the user's SMS
 * line or mail account went up or down): when the user is online, the core
 * asks contact_presence for each stored contact and tells the user.
 */
void gw_contacts_changed(struct gw_net *, const char *user);
/* gw_driver.contact_features: what a contact's JID supports (its disco#info and caps). */
#define GW_CONTACT_RECEIPTS 0x01 /* the network confirms delivery: gw_receipt() (XEP-0184) */
/* Make the address a contact of the user: stored, and a subscription request sent (or a
 * roster item written). name NULL: the contact is named by its address. */
void gw_contact_add(struct gw_net *, const char *user, const char *address, const char *name);
/* Calls fn with the address of each stored contact of the user on this network. */
void gw_foreach_contact(struct gw_net *, const char *user,
                        void (*fn)(const char *address, void *arg), void *arg);

/* ---- Rooms (XEP-0045) ---- */

enum gw_role { GW_ROLE_NONE, GW_ROLE_VISITOR, GW_ROLE_PARTICIPANT, GW_ROLE_MODERATOR };
enum gw_affiliation {
	GW_AFF_NONE,
	GW_AFF_OUTCAST,
	GW_AFF_MEMBER,
	GW_AFF_ADMIN,
	GW_AFF_OWNER,
};

struct gw_occupant {
	const char *nick;
	enum gw_role role;
	enum gw_affiliation affiliation;
	/*
	 * Optional: the occupant's own address on the network (IRC:
	 * "nick%server"), whose JID is its real JID in a non-anonymous room.
	 */
	const char *address;
	enum gw_show show; /* GW_SHOW_ONLINE unless the network says away */
	/*
	 * Optional: what names the occupant across nick changes (IRC: user@host);
	 * the core hashes it with the room into the occupant-id (XEP-0421).
	 * NULL: the nick.
	 */
	const char *identity;
};

/*
 * What a room is, as room_info tells it (disco#info, XEP-0045 section
 * 6.4): zero is temporary, open, unmoderated, unsecured and public.
 */
struct gw_room_info {
	bool persistent;  /* the room outlives its last occupant */
	bool membersonly; /* invitation needed (IRC +i) */
	bool moderated;   /* only those with voice speak (IRC +m) */
	bool password;    /* a password is needed (IRC +k) */
	bool hidden;      /* not listed (IRC +s, +p) */
};

enum gw_leave {
	GW_LEAVE_PART,     /* left by choice */
	GW_LEAVE_KICK,     /* status 307 */
	GW_LEAVE_BAN,      /* status 301 */
	GW_LEAVE_SHUTDOWN, /* status 332: connection to the network lost */
};

/*
 * The user's join of `room` completed with nick: the core now sends
 * self-presence (110) to every resource that asked to join. Send the
 * occupants (gw_room_occupant) and the subject before this.
 */
void gw_room_joined(struct gw_net *, const char *user, const char *room, const char *nick);
/* The join failed: the resources that asked get an error presence. */
void gw_room_join_failed(struct gw_net *, const char *user, const char *room, enum gw_error,
                         const char *why);
/* An occupant appeared or changed (role, show). */
void gw_room_occupant(struct gw_net *, const char *user, const char *room,
                      const struct gw_occupant *);
/*
 * An occupant left; by and reason optional. If nick is the user's own, the
 * user is out of the room (every resource is told). GW_LEAVE_SHUTDOWN of the
 * user's own nick (the network link was lost) tells every resource (332) but
 * keeps the membership as joining: the driver then calls gw_room_joined()
 * when it has rejoined, or gw_room_join_failed() when it gives up.
 */
void gw_room_left(struct gw_net *, const char *user, const char *room, const char *nick,
                  enum gw_leave, const char *by, const char *reason);
void gw_room_nick(struct gw_net *, const char *user, const char *room, const char *old_nick,
                  const char *new_nick);
/* A message in the room (also the user's own, reflected). id and stamp optional. */
void gw_room_message(struct gw_net *, const char *user, const char *room, const char *nick,
                     const char *body, const char *id, time_t stamp);
void gw_room_subject(struct gw_net *, const char *user, const char *room, const char *nick,
                     const char *subject);
/*
 * A room message that replies to another (XEP-0461): reply_id is the
 * network's id of the message replied to (IRC msgid). As gw_room_message(),
 * with a <reply/> naming that message as the client knows it (its stanza-id)
 * when the room's messages name it; otherwise a plain message.
 */
void gw_room_reply(struct gw_net *, const char *user, const char *room, const char *nick,
                   const char *body, const char *id, time_t stamp, const char *reply_id);
/*
 * An occupant reacted (XEP-0444) with emoji to the message whose network
 * id is target: sent to every resource (and not recorded) when the room
 * names that message; dropped otherwise.
 */
void gw_room_reaction(struct gw_net *, const char *user, const char *room, const char *nick,
                      const char *target, const char *emoji);
/*
 * The network's id of a room message the client names by stanza_id (a
 * reply's or reaction's target): the archive's record of it when the room
 * is recorded (among its last GW_ROOM_IDS_RECENT messages), the id itself
 * otherwise. NULL: unknown. Caller frees.
 */
char *gw_room_network_id(struct gw_net *, const char *user, const char *room,
                         const char *stanza_id);
#define GW_ROOM_IDS_RECENT 5000
/*
 * A message the network replays from its own history (IRC chanhistory on
 * join), id and stamp as it gave them: as gw_room_message(), unless the
 * room's archive already holds that id (said within minutes of stamp), so
 * what the user has from the gateway's archive is not shown twice.
 */
void gw_room_history(struct gw_net *, const char *user, const char *room, const char *nick,
                     const char *body, const char *id, time_t stamp);
/* An occupant's chat state (XEP-0085, typing): to every resource, never stored. */
void gw_room_chat_state(struct gw_net *, const char *user, const char *room, const char *nick,
                        enum gw_chatstate);
/*
 * Someone of the network (from: an address, e.g. "nick%server") invites the
 * user to room: a mediated invitation (XEP-0045 section 7.8.2) from the
 * room's JID, with a readable body for clients that show no invitations.
 */
void gw_room_invited(struct gw_net *, const char *user, const char *room, const char *from,
                     const char *reason);

/*
 * A room's configuration (muc#owner, XEP-0045 section 10) asked for: the
 * driver answers once, now or later, with the current values of the fields
 * of its room_config table (or an error with why); the core shows the form.
 */
struct gw_reply;
/* room_info's answer (info NULL: nothing known beyond the defaults); rq is freed. */
struct gw_info_request;
void gw_room_info_done(struct gw_info_request *rq, const struct gw_room_info *info);
void gw_room_config_done(struct gw_reply *, const struct gw_values *current, enum gw_error,
                         const char *why);

/*
 * Persistent rooms (the driver's room_persistent says which). The user's
 * membership of such a room outlives its last resource: the core keeps it
 * with no resource in it (room_leave is not called), so the driver stays in
 * the room on the network and what is said there is recorded for history;
 * a resource that joins later gets the occupants, the history and the
 * subject as from any joined room.
 *
 * gw_room_open(): a membership with no resource, as if a client had joined
 * and left a persistent room (the driver's start-up, or a room made
 * persistent while the user is not in it). The core creates it, unless it
 * exists, and calls room_join with nick and password (may be NULL); the driver answers
 * with gw_room_joined() or gw_room_join_failed() as for any join.
 *
 * gw_room_changed(): the driver's answers to room_persistent or
 * room_archived for this membership may have changed. The core asks
 * room_archived again and, when no resource is in the room and it is no
 * longer persistent, ends the membership (room_leave is called).
 */
void gw_room_open(struct gw_net *, const char *user, const char *room, const char *nick,
                  const char *password);
void gw_room_changed(struct gw_net *, const char *user, const char *room);
/*
 * Whether the membership is being restored after a restart: the core
 * called room_join at start-up for rooms its users were in, and their
 * clients still think they are. A driver that cannot reach the network
 * yet keeps waiting (as for a persistent room) instead of failing the
 * join; the core holds the messages to the room meanwhile.
 */
bool gw_room_restoring(struct gw_net *, const char *user, const char *room);

/* ---- Lists of addresses (XEP-0030 disco#items on an address) ---- */

struct gw_items; /* a disco#items request waiting for the driver's answer */

/* Adds an address (shown as its JID) with an optional name to the answer. */
void gw_items_add(struct gw_items *, const char *address, const char *name);
/*
 * An entry of a muc#admin list (the room's outcasts...): address shown as
 * its JID (on IRC a ban mask, "nick!*@host%server"), with an optional nick
 * and reason.
 */
void gw_items_add_affiliation(struct gw_items *, const char *address, enum gw_affiliation,
                              const char *nick, const char *reason);
/*
 * Sends the answer (GW_ERR_NONE) or an error with why; frees the request.
 * The core pages the items (XEP-0059 RSM: max, after, before, index, count)
 * from what was added, so a driver adds its whole list every time.
 */
void gw_items_done(struct gw_items *, enum gw_error, const char *why);

/* ---- Per-user storage ---- */

/*
 * Settings of a user on this network. scope "" is the user's own (the
 * registration fields live there); a driver uses other scopes for its own
 * things ("irc.libera.chat", "#chan%irc.libera.chat", "line:office").
 * Secrets are encrypted at rest. Getters return a copy the caller frees, or
 * NULL when unset. Setters return 0, or -1 when the store failed; a NULL
 * value deletes.
 */
char *gw_setting_get(struct gw_net *, const char *user, const char *scope, const char *key);
int gw_setting_set(struct gw_net *, const char *user, const char *scope, const char *key,
                   const char *value);
/*
 * Calls fn for every plain setting (not the secrets) of the user in scope,
 * by key; fn returning non-zero stops the walk. Do not change the scope's
 * settings from fn: collect, then change. Returns 0, or -1.
 */
int gw_setting_foreach(struct gw_net *, const char *user, const char *scope,
                       int (*fn)(const char *key, const char *value, void *arg), void *arg);
char *gw_secret_get(struct gw_net *, const char *user, const char *scope, const char *key);
int gw_secret_set(struct gw_net *, const char *user, const char *scope, const char *key,
                  const char *value);
/*
 * Calls fn for every plain setting named key on this network, whoever the
 * user (registered or not) and whatever the scope: how a driver finds at
 * start-up what its users asked to keep (IRC's persistent channels). The
 * strings are the core's, valid during the call.
 */
void gw_setting_find(struct gw_net *, const char *key,
                     void (*fn)(const char *user, const char *scope, const char *value, void *arg),
                     void *arg);
/*
 * Settings the core itself reads, in the user's own scope "":
 *   history_join   messages of room history sent on join when the client
 *                  does not say how many (overrides the section's history_join).
 */

bool gw_user_is_registered(struct gw_net *, const char *user);
bool gw_user_is_online(struct gw_net *, const char *user); /* any available resource */
bool gw_user_is_admin(struct gw_net *, const char *user);
/* Calls fn for every registered (and not disabled) user of this network. */
void gw_foreach_user(struct gw_net *, void (*fn)(const char *user, void *arg), void *arg);

/* ---- The rest of the core a driver may use ---- */

struct event_base *gw_event_base(void);
/*
 * The daemon's evdns base for addresses ([dns] nameservers, else
 * /etc/resolv.conf), or NULL when none could be set up. Shared: cancel
 * your requests, never free it.
 */
struct evdns_base *gw_dns_base(void);

/* ---- Service records (RFC 2782 SRV) ---- */

struct gw_srv_record {
	char *target; /* host name, without the final dot */
	unsigned port, priority, weight;
};
struct gw_srv_query;
/*
 * recs: the usable records, lowest priority first (heaviest first among
 * equals); n == 0 with why NULL: the name has none (or only "."); why set:
 * the lookup failed (readable). All valid during the call only.
 */
typedef void gw_srv_cb(void *arg, const struct gw_srv_record *recs, size_t n, const char *why);
/*
 * Looks up the SRV records of name (e.g. "_imaps._tcp.example.com") on the
 * loop; cb runs exactly once, from a later loop turn, unless the query is
 * cancelled first.
 */
struct gw_srv_query *gw_resolve_srv(const char *name, gw_srv_cb *cb, void *arg);
void gw_resolve_cancel(struct gw_srv_query *);
const char *gw_net_jid(struct gw_net *); /* the gateway's domain, e.g. "irc.example.org" */
/*
 * The gateway's link to the XMPP server is up. While it is down, messages
 * and receipts wait in the durable queue, and the latest chat state of each
 * conversation in memory (notices.c).
 */
bool gw_net_online(struct gw_net *);
/* The driver's private state: priv_size zeroed bytes the core allocated (see the lifecycle). */
void *gw_net_priv(struct gw_net *);

/* ---- The driver ---- */

/* gw_driver.flags */
#define GW_DRIVER_NEEDS_REGISTRATION 0x01 /* messages need a registered user */

struct gw_driver {
	const char *name;        /* config section and log tag: "irc" */
	const char *type;        /* disco gateway type: "irc", "sms", "smtp" */
	const char *description; /* disco identity name: "IRC gateway" */
	unsigned flags;

	const struct gw_option *options;         /* keys of [name] beyond jid/secret */
	const struct gw_subsection *subsections; /* may be NULL */
	const struct gw_field *registration;     /* XEP-0077 fields; NULL: none asked */
	const struct gw_command *commands;       /* may be NULL */

	/* jabber:iq:gateway (XEP-0100) */
	const char *prompt;      /* "Phone number" */
	const char *prompt_desc; /* a sentence */

	/*
	 * Turn what a person typed, or a JID's unescaped localpart, into the
	 * canonical address. Returns 0 with *out (caller frees), or -1 with
	 * *why (caller frees): a readable reason. NULL: addresses taken as is.
	 */
	int (*normalize)(struct gw_net *, const char *typed, char **out, char **why);

	/*
	 * Lifecycle. Before start(), the core allocates priv_size zeroed bytes
	 * of private state (gw_net_priv()); it frees them after stop(), and
	 * after a start() that failed: neither allocates or frees that block.
	 * start() runs once the config is loaded and the store is open
	 * (before the component link is up); -1 is fatal at start-up. stop()
	 * releases everything the state points to. reload() sees the new
	 * config; NULL means nothing of this driver is reloadable.
	 */
	size_t priv_size;
	int (*start)(struct gw_net *);
	void (*stop)(struct gw_net *);
	int (*reload)(struct gw_net *);
	/* Extra config checks beyond the option table (-n and start-up). */
	int (*check_config)(const struct gw_section *, char **why);
	/* The same for each subsection ([sms.line.NAME]; gw_section_kind() says which kind). */
	int (*check_subsection)(const struct gw_section *, char **why);

	/*
	 * Registration: check a submitted form before it is stored; return
	 * GW_ERR_NONE, or an error with *why. NULL accepts every form.
	 */
	enum gw_error (*check_registration)(struct gw_net *, const char *user,
	                                    const struct gw_values *, char **why);
	/*
	 * Registration that needs the network (logging in to a mail server):
	 * called once check_registration accepted the submission, with the
	 * submitted values (an empty secret means "keep the stored one"). The
	 * driver answers with gw_check_done(), now or later, exactly once;
	 * nothing is stored before. NULL: the submission is stored at once.
	 */
	void (*verify_registration)(struct gw_net *, const char *user, const struct gw_values *,
	                            struct gw_check *);
	void (*user_registered)(struct gw_net *, const char *user);
	void (*user_removed)(struct gw_net *, const char *user);

	/* A resource of the user became available / unavailable to the gateway. */
	void (*user_available)(struct gw_net *, const char *user, const char *resource);
	void (*user_unavailable)(struct gw_net *, const char *user, const char *resource);

	/*
	 * The user subscribed to a new contact (added) or unsubscribed from one:
	 * a network that tells presence starts or stops watching it. NULL:
	 * nothing to do. (gw_foreach_contact() lists the stored ones.)
	 */
	void (*contact_changed)(struct gw_net *, const char *user, const char *address, bool added);
	/*
	 * What a contact of the user shows now, with an optional *status
	 * (caller frees): asked when the user's server probes the contact (the
	 * user logs in), when the user subscribes to it, when a restarted
	 * gateway learns the user is online, and on gw_contacts_changed(). A
	 * change the driver learns by itself goes through gw_presence(). NULL:
	 * a probe is answered available and nothing else is said.
	 */
	enum gw_show (*contact_presence)(struct gw_net *, const char *user, const char *address,
	                                 char **status);
	/*
	 * GW_CONTACT_* bits; chat states (XEP-0085) are listed when the driver
	 * has chat_state. contact_type is the client type of a contact's disco
	 * identity ("sms", "phone"; NULL: "pc").
	 */
	unsigned contact_features;
	const char *contact_type;

	/* Deliver a queued message (chat or groupchat). why: caller frees. */
	enum gw_send_status (*send)(struct gw_net *, const struct gw_outmsg *, char **why);
	void (*chat_state)(struct gw_net *, const char *user, const char *to, enum gw_chatstate);

	/*
	 * Rooms. room_join is called when the user's first resource joins;
	 * the driver answers with gw_room_joined() or gw_room_join_failed(),
	 * now or later. room_leave is called when the last resource leaves.
	 * is_room tells a room's address from a contact's. NULL: the network
	 * has no rooms (joins get service-unavailable).
	 */
	bool (*is_room)(struct gw_net *, const char *address);
	void (*room_join)(struct gw_net *, const char *user, const char *room, const char *nick,
	                  const char *password);
	void (*room_leave)(struct gw_net *, const char *user, const char *room, const char *reason);
	void (*room_set_nick)(struct gw_net *, const char *user, const char *room,
	                      const char *nick);
	void (*room_set_subject)(struct gw_net *, const char *user, const char *room,
	                         const char *subject);
	/*
	 * The user's reactions (XEP-0444) to the room message named id (its
	 * stanza-id; gw_room_network_id() maps it): the whole set the user now
	 * shows, n <= GW_REACTIONS_MAX, each one clean UTF-8. NULL: dropped.
	 */
	void (*room_react)(struct gw_net *, const char *user, const char *room, const char *id,
	                   const char *const *emoji, size_t n);
	/* The user's chat state (XEP-0085) in a room, sent without a body. NULL: dropped. */
	void (*room_chat_state)(struct gw_net *, const char *user, const char *room,
	                        enum gw_chatstate);
	/*
	 * A muc#admin role change from the user (XEP-0045 section 8): role none
	 * kicks nick, visitor/participant/moderator take or give voice or
	 * operator rights where the network has them. The network's answer
	 * comes back as occupant changes (or a message saying why not).
	 * NULL: not-allowed.
	 */
	void (*room_set_role)(struct gw_net *, const char *user, const char *room, const char *nick,
	                      enum gw_role, const char *reason);
	/*
	 * Someone named in a room request is either an occupant (nick, from an
	 * in-room JID or a nick attribute) or an address of this network
	 * (address, from a JID of the gateway: "nick%server", or a ban mask
	 * from the outcast list); exactly one of the two is set.
	 *
	 * room_invite: a mediated invitation (XEP-0045 section 7.8.2) to
	 * someone on the network; invitations to other XMPP users are the
	 * core's. room_set_affiliation: a muc#admin affiliation change
	 * (outcast bans and kicks, none lifts a ban...). Answers and refusals
	 * come back as room messages and occupant changes. NULL: not-allowed.
	 */
	void (*room_invite)(struct gw_net *, const char *user, const char *room, const char *nick,
	                    const char *address, const char *reason);
	void (*room_set_affiliation)(struct gw_net *, const char *user, const char *room,
	                             const char *nick, const char *address, enum gw_affiliation,
	                             const char *reason);
	/*
	 * muc#owner: room_config lists the fields of the configuration form
	 * (muc#roomconfig_* vars; a hidden FORM_TYPE field with its value as
	 * def). room_config_get answers with gw_room_config_done();
	 * room_config_set gets a validated, possibly partial submission (only
	 * the vars present change) and returns GW_ERR_NONE or an error with
	 * *why (caller frees). NULL: not-allowed.
	 */
	const struct gw_field *room_config;
	void (*room_config_get)(struct gw_net *, const char *user, const char *room,
	                        struct gw_reply *);
	enum gw_error (*room_config_set)(struct gw_net *, const char *user, const char *room,
	                                 const struct gw_values *, char **why);
	/*
	 * The muc#admin list of an affiliation (outcast: the ban list): the
	 * driver adds entries with gw_items_add_affiliation() and calls
	 * gw_items_done(), now or later, exactly once. NULL: not-allowed.
	 */
	void (*room_list_affiliation)(struct gw_net *, const char *user, const char *room,
	                              enum gw_affiliation, struct gw_items *);
	/*
	 * Asked when the last resource leaves a room (or goes offline): true
	 * keeps the membership (see gw_room_open above). NULL: never.
	 */
	bool (*room_persistent)(struct gw_net *, const char *user, const char *room);
	/*
	 * Whether the room's messages are recorded for history and MAM (when
	 * the section's history is on): asked when the user's membership is
	 * created, when it is joined, and on gw_room_changed(). NULL: always.
	 */
	bool (*room_archived)(struct gw_net *, const char *user, const char *room);
	/*
	 * What the room is, for its disco#info: the driver answers with
	 * gw_room_info_done(), now or later, exactly once. NULL: the
	 * defaults of struct gw_room_info.
	 */
	void (*room_info)(struct gw_net *, const char *user, const char *room,
	                  struct gw_info_request *);
	/*
	 * Every occupant of the network's rooms carries its address (struct
	 * gw_occupant): the rooms are non-anonymous (status 100, real JIDs).
	 */
	bool rooms_nonanonymous;

	/*
	 * disco#items on an address without a node (the channels of an IRC
	 * server): the driver adds items and calls gw_items_done(), now or
	 * later, exactly once. NULL: an empty list.
	 */
	void (*list_items)(struct gw_net *, const char *user, const char *address,
	                   struct gw_items *);

	/* Lines of text for the admin `stats` command; NULL: none. */
	void (*stats)(struct gw_net *, void (*line)(const char *text, void *arg), void *arg);
	/*
	 * The network's own connections (IRC servers, IMAP sessions, modem
	 * lines) that are up, and those that should be but are not
	 * (connecting, waiting to reconnect), for the metrics; NULL: none.
	 */
	void (*links)(struct gw_net *, unsigned *up, unsigned *down);
};

#endif
