/*
 * Ad-hoc commands: XEP-0050 on every gateway JID and address JID, and the
 * same commands as chat text (Slidge, JMP's ad-hoc bot; PEERS.md).
 *
 * The commands themselves are `struct gw_command` tables (driver.h): the
 * core's own (help, XEP-0133 administration…) registered once with
 * commands_add_core(), and each driver's `gw_driver.commands`. A command is
 * offered where its scope says (the gateway JID when target is NULL, an
 * address JID otherwise) to those its access allows.
 *
 * A run of a command is a session (`struct gw_cmd`): XEP-0050 sessions are
 * keyed by a random sessionid and bound to the requester's full JID; text
 * sessions are one per (user, net, target). Both expire after
 * COMMANDS_SESSION_TTL seconds without activity.
 *
 * The framework hands each stage complete values: the submission merged
 * over the values the form was shown with (form_merge()), so a client that
 * submits only the fields it changed resets nothing.
 *
 * This module needs from the core (driver.h): gw_user_is_registered() and
 * gw_user_is_admin(). Who may use the gateway at all (allowed_domains) is
 * the caller's check, made before calling in.
 */
#ifndef SG_COMMANDS_H
#define SG_COMMANDS_H

#include <time.h>

#include <strophe.h>

#include "driver.h"

#define COMMANDS_NS "http://jabber.org/protocol/commands"
#define COMMANDS_SESSION_TTL 600
/* Longest body taken as a command or a form reply (SPEC 8). */
#define COMMANDS_TEXT_MAX 65536

void commands_init(void);
/* Frees every session (their data through its free_fn); forgets the core
 * table. */
void commands_shutdown(void);

/*
 * The core's own commands, offered on every gateway alongside the driver's.
 * table (ending with GW_COMMANDS_END) is kept by reference: it must stay
 * valid until commands_shutdown(). A later call replaces the earlier table.
 */
void commands_add_core(const struct gw_command *table);

/*
 * Handle <iq type='set'><command xmlns='http://jabber.org/protocol/commands'
 * node=… action=… sessionid=…/></iq>. net/drv: the gateway; user: the
 * requester's bare JID; full_from: its full JID (sessions are bound to it);
 * target: the unescaped address the iq was sent to, NULL for the gateway
 * JID. iq is only read. Returns the complete reply (result, or error with
 * text), to/from/id swapped from the request, which the caller sends and
 * releases.
 */
xmpp_stanza_t *commands_handle_iq(struct gw_net *net, const struct gw_driver *drv, xmpp_ctx_t *ctx,
                                  xmpp_stanza_t *iq, const char *user, const char *full_from,
                                  const char *target);

/*
 * Fill a disco#items <query node='http://jabber.org/protocol/commands'/>
 * with one <item jid=to_jid node=… name=…/> per command this user may run
 * here. The query stays the caller's.
 */
void commands_disco_items(struct gw_net *net, const struct gw_driver *drv, xmpp_ctx_t *ctx,
                          xmpp_stanza_t *query, const char *to_jid, const char *user,
                          const char *target);

/*
 * Whether node is a command this user may run here: the core answers a
 * disco#info on that node (identity automation/command-node, features
 * COMMANDS_NS and jabber:x:data) when true, item-not-found otherwise.
 */
bool commands_node_visible(struct gw_net *net, const struct gw_driver *drv, const char *user,
                           const char *target, const char *node);

/*
 * A chat message body sent to the gateway JID (target NULL) or to an
 * address. Returns the reply text (caller frees), or NULL when the body is
 * not a command and the caller treats it as an ordinary message.
 *
 * On the gateway JID the first word names the command ("configure
 * nick=foo"; "help" lists what this user may run, unless a table has its
 * own "help" word); on an address it must be prefixed with '!' ("!help"),
 * so that ordinary texts to a contact are never taken for commands.
 * Arguments ("var=value …", or free text for a form of one field) fill in
 * the command's first form at once. While a text session waits for a form,
 * every body from that user to that JID answers it: "var=value" or
 * "var: value" lines, a bare value when the form has one field, "ok" to
 * keep the values shown, "back", or "cancel". The reply is safe for XML.
 */
char *commands_handle_text(struct gw_net *net, const struct gw_driver *drv, const char *user,
                           const char *full_from, const char *target, const char *body);

/* Drop sessions idle since before now - COMMANDS_SESSION_TTL (the core
 * calls it every minute; sessions also expire when next looked up). */
void commands_expire(time_t now);

#endif

/* ---- Shared by commands.c and textcmd.c only; drivers use driver.h ---- */
#ifdef SG_COMMANDS_INTERNAL

#include <stdbool.h>

#include "form.h"

struct cmd_note {
	enum gw_note type;
	char *text;
};

struct gw_cmd {
	char *id; /* XEP-0050 sessionid */
	struct gw_net *net;
	const struct gw_driver *drv;
	const struct gw_command *cmd;
	char *user;   /* bare JID */
	char *full;   /* full JID that started it */
	char *target; /* NULL on the gateway JID */
	bool admin;
	bool text;    /* a chat session */
	bool running; /* inside step(): expiry leaves it alone */
	time_t touched;

	void *data;
	void (*data_free)(void *);

	/* forms[i] was set at stage i; its submission runs stage i + 1, so
	 * the next stage to run is nforms. */
	struct form_copy **forms;
	size_t nforms;

	/* What the running step produced. */
	struct form_copy *pending; /* gw_cmd_form() */
	struct form_copy *result;  /* gw_cmd_result() */
	struct cmd_note *notes;
	size_t nnotes;

	struct gw_cmd *next;
};

/* NULL when user may run c, else a sentence saying why not (static). */
const char *cmd_denied(struct gw_net *, const struct gw_command *, const char *user);
/* Call fn for each command in scope for target that user may run. */
void cmd_foreach_visible(struct gw_net *, const struct gw_driver *, const char *user,
                         const char *target, void (*fn)(const struct gw_command *, void *arg),
                         void *arg);
/* The command whose text word is word (case-insensitive) in scope for
 * target, whatever the access; NULL when none. */
const struct gw_command *cmd_find_word(const struct gw_driver *, const char *target,
                                       const char *word);
/* A new session, linked in; strings are copied. */
struct gw_cmd *cmd_session_new(struct gw_net *, const struct gw_driver *, const struct gw_command *,
                               const char *user, const char *full, const char *target, bool text);
/* Unlink and free a session with its data. */
void cmd_session_free(struct gw_cmd *);
/* The live text session of (net, user, target), or NULL (expired ones go). */
struct gw_cmd *cmd_text_session(struct gw_net *, const char *user, const char *target);
/* The form waiting for a submission, or NULL. */
const struct gw_form *cmd_session_form(struct gw_cmd *);
/* The values the waiting form was shown with (current, else defaults);
 * caller frees. */
struct gw_values *cmd_shown_values(struct gw_cmd *);
/* Run the next stage with in (may be NULL); afterwards a NEXT has pushed
 * the new form; the step's notes and result stay until the next run.
 * A NEXT without a form becomes an error. */
enum gw_cmd_status cmd_run(struct gw_cmd *, const struct gw_values *in);
/* Go back to the previous form; -1 when there is none. */
int cmd_back(struct gw_cmd *);

#endif /* SG_COMMANDS_INTERNAL */
