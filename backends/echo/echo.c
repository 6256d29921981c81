/*
 * The echo network: a real driver on the driver interface, for tests, the
 * demo and the benchmarks.
 *
 * A chat message to anyone@echo.<domain> comes back from that address
 * (with a receipt when asked, and the chat state mirrored), and every
 * contact shows available. Rooms are addresses starting with '#', shared
 * by every user who joins them: a message in a room reaches every
 * occupant, the sender included.
 *
 * A few bodies steer it, so failure paths can be shown:
 *   /delay N text    answer after N seconds, then the receipt (when asked)
 *                    and the chat state active, as a contact who wrote back
 *   /fail            refuse the message for good (the user is told)
 *   /retry N text    ask the core to retry N times before taking it
 *   /pending text    take it, and confirm one second later
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "driver.h"

struct echo_member {
	char *user, *nick;
};

struct echo_room {
	struct echo_room *next;
	char *name, *subject;
	struct echo_member *members;
	size_t n;
};

struct echo_net {
	struct echo_room *rooms;
	unsigned long echoed;
};

/* A reply scheduled for later (/delay) or a send confirmed later (/pending). */
struct later {
	struct gw_net *net;
	struct event *ev;
	char *user, *from, *body;
	char *receipt_id; /* non-NULL: the answer is followed by a receipt for it */
	uint64_t qid;     /* non-zero: confirm this queued message */
};

static const struct gw_option echo_options[] = {
        {"bot_nick", GW_OPT_STRING, "echo", 0, 0, GW_OPT_RELOADABLE,
         "Nickname of the bot that sits in every echo room."},
        GW_OPTIONS_END,
};

static const struct gw_field echo_registration[] = {
        {"nick", GW_FIELD_TEXT, "Nickname", "The nickname shown in echo rooms by default.", 0, NULL,
         NULL},
        {"password", GW_FIELD_PRIVATE, "Password",
         "Not needed by the echo network; it is stored "
         "encrypted, to show how a real network's password is kept.",
         GW_FIELD_SECRET, NULL, NULL},
        GW_FIELDS_END,
};

static struct echo_net *
priv(struct gw_net *net)
{
	return gw_net_priv(net);
}

static void
later_free(struct later *l)
{
	event_free(l->ev);
	free(l->user);
	free(l->from);
	free(l->body);
	free(l->receipt_id);
	free(l);
}

static void
echo_back(struct gw_net *net, const char *user, const char *from, const char *body)
{
	char *prefix = gw_setting_get(net, user, "", "prefix");
	char *text = xasprintf("%s%s", prefix ? prefix : "", body);
	struct gw_inmsg in = {.user = user, .from = from, .body = text, .kind = GW_MSG_CHAT};

	if (gw_deliver(net, &in) == 0)
		priv(net)->echoed++;
	free(text);
	free(prefix);
}

static void
later_cb(evutil_socket_t fd, short what, void *arg)
{
	struct later *l = arg;

	(void)fd;
	(void)what;
	if (l->qid)
		gw_send_done(l->net, l->qid, GW_SEND_DONE, NULL);
	if (l->body && l->qid == 0) {
		echo_back(l->net, l->user, l->from, l->body);
		if (l->receipt_id)
			gw_receipt(l->net, l->user, l->from, l->receipt_id);
		gw_chat_state(l->net, l->user, l->from, GW_CS_ACTIVE);
	} else if (l->body)
		echo_back(l->net, l->user, l->from, l->body);
	later_free(l);
}

static struct later *
schedule(struct gw_net *net, int seconds, const char *user, const char *from, const char *body,
         uint64_t qid)
{
	struct later *l = xcalloc(1, sizeof(*l));
	struct timeval tv = {seconds, 0};

	l->net = net;
	l->user = xstrdup(user);
	l->from = xstrdup(from);
	l->body = xstrdup_or_null(body);
	l->qid = qid;
	l->ev = evtimer_new(gw_event_base(), later_cb, l);
	evtimer_add(l->ev, &tv);
	return l;
}

/* ---- rooms ---- */

static struct echo_room *
room_find(struct gw_net *net, const char *name)
{
	for (struct echo_room *r = priv(net)->rooms; r; r = r->next)
		if (strcasecmp(r->name, name) == 0)
			return r;
	return NULL;
}

static struct echo_member *
member_find(struct echo_room *r, const char *user)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->members[i].user, user) == 0)
			return &r->members[i];
	return NULL;
}

static bool
nick_taken(struct echo_room *r, const char *nick, const char *bot)
{
	if (strcasecmp(nick, bot) == 0)
		return true;
	for (size_t i = 0; i < r->n; i++)
		if (strcasecmp(r->members[i].nick, nick) == 0)
			return true;
	return false;
}

static const char *
bot_nick(struct gw_net *net)
{
	return gw_conf_str(gw_net_section(net), "bot_nick");
}

static bool
echo_is_room(struct gw_net *net, const char *address)
{
	(void)net;
	return address[0] == '#';
}

static void
echo_room_join(struct gw_net *net, const char *user, const char *room, const char *nick,
               const char *password)
{
	struct echo_room *r = room_find(net, room);
	struct gw_occupant o = {NULL, GW_ROLE_PARTICIPANT, GW_AFF_NONE, NULL, GW_SHOW_ONLINE, NULL};

	(void)password;
	if (r == NULL) {
		r = xcalloc(1, sizeof(*r));
		r->name = xstrdup(room);
		r->subject =
		        xasprintf("Echo room %s: every message is seen by everyone here.", room);
		r->next = priv(net)->rooms;
		priv(net)->rooms = r;
	}
	if (nick_taken(r, nick, bot_nick(net))) {
		gw_room_join_failed(net, user, room, GW_ERR_CONFLICT,
		                    "That nickname is in use here.");
		return;
	}
	/* The newcomer sees the bot and everyone present; they all see the newcomer. */
	o.nick = bot_nick(net);
	o.role = GW_ROLE_MODERATOR;
	o.affiliation = GW_AFF_OWNER;
	gw_room_occupant(net, user, room, &o);
	o.role = GW_ROLE_PARTICIPANT;
	o.affiliation = GW_AFF_NONE;
	for (size_t i = 0; i < r->n; i++) {
		o.nick = r->members[i].nick;
		gw_room_occupant(net, user, room, &o);
		o.nick = nick;
		gw_room_occupant(net, r->members[i].user, room, &o);
	}
	r->members = xreallocarray(r->members, r->n + 1, sizeof(*r->members));
	r->members[r->n].user = xstrdup(user);
	r->members[r->n].nick = xstrdup(nick);
	r->n++;
	gw_room_subject(net, user, room, bot_nick(net), r->subject);
	gw_room_joined(net, user, room, nick);
}

static void
echo_room_leave(struct gw_net *net, const char *user, const char *room, const char *reason)
{
	struct echo_room *r = room_find(net, room);
	struct echo_member *m = r ? member_find(r, user) : NULL;

	if (m == NULL)
		return;
	for (size_t i = 0; i < r->n; i++)
		if (&r->members[i] != m)
			gw_room_left(net, r->members[i].user, room, m->nick, GW_LEAVE_PART, NULL,
			             reason);
	free(m->user);
	free(m->nick);
	*m = r->members[--r->n];
}

static void
echo_room_set_nick(struct gw_net *net, const char *user, const char *room, const char *nick)
{
	struct echo_room *r = room_find(net, room);
	struct echo_member *m = r ? member_find(r, user) : NULL;
	char *old;

	if (m == NULL)
		return;
	if (nick_taken(r, nick, bot_nick(net))) {
		gw_room_message(net, user, room, bot_nick(net), "That nickname is in use here.",
		                NULL, 0);
		return;
	}
	old = m->nick;
	m->nick = xstrdup(nick);
	for (size_t i = 0; i < r->n; i++)
		gw_room_nick(net, r->members[i].user, room, old, nick);
	free(old);
}

static void
echo_room_set_subject(struct gw_net *net, const char *user, const char *room, const char *subject)
{
	struct echo_room *r = room_find(net, room);
	struct echo_member *m = r ? member_find(r, user) : NULL;

	if (m == NULL)
		return;
	free(r->subject);
	r->subject = xstrdup(subject);
	for (size_t i = 0; i < r->n; i++)
		gw_room_subject(net, r->members[i].user, room, m->nick, subject);
}

static enum gw_send_status
room_send(struct gw_net *net, const struct gw_outmsg *msg, char **why)
{
	struct echo_room *r = room_find(net, msg->to);
	struct echo_member *m = r ? member_find(r, msg->user) : NULL;
	char id[32];

	if (m == NULL) {
		*why = xstrdup("You are not in this room.");
		return GW_SEND_FAILED;
	}
	snprintf(id, sizeof(id), "echo-%llu", (unsigned long long)msg->qid);
	for (size_t i = 0; i < r->n; i++)
		gw_room_message(net, r->members[i].user, msg->to, m->nick, msg->body, id, 0);
	priv(net)->echoed++;
	return GW_SEND_DONE;
}

/* ---- chats ---- */

static enum gw_send_status
echo_send(struct gw_net *net, const struct gw_outmsg *msg, char **why)
{
	const char *body = msg->body;
	int n;
	char *rest;

	if (msg->groupchat)
		return room_send(net, msg, why);
	if (msg->to_resource && echo_is_room(net, msg->to)) {
		/* A private message to someone in a room: it comes back from them. */
		struct gw_inmsg in = {.user = msg->user,
		                      .from = msg->to,
		                      .from_resource = msg->to_resource,
		                      .body = body,
		                      .kind = GW_MSG_CHAT};

		gw_deliver(net, &in);
		return GW_SEND_DONE;
	}
	if (strcmp(body, "/fail") == 0) {
		*why = xstrdup("the echo network was asked to fail");
		return GW_SEND_FAILED;
	}
	if (sscanf(body, "/retry %d", &n) == 1 && msg->attempts < n) {
		*why = xasprintf("asked to retry %d times", n);
		return GW_SEND_RETRY;
	}
	if (strncmp(body, "/retry ", 7) == 0 && (rest = strchr(body + 7, ' ')) != NULL)
		body = rest + 1;
	if (sscanf(body, "/delay %d", &n) == 1 && n >= 0 && n <= 3600 &&
	    (rest = strchr(body + 7, ' ')) != NULL) {
		struct later *l = schedule(net, n, msg->user, msg->to, rest + 1, 0);

		if (msg->want_receipt)
			l->receipt_id = xstrdup_or_null(msg->xmpp_id);
		return GW_SEND_DONE;
	}
	if (strncmp(body, "/pending ", 9) == 0) {
		schedule(net, 1, msg->user, msg->to, body + 9, msg->qid);
		return GW_SEND_PENDING;
	}
	echo_back(net, msg->user, msg->to, body);
	if (msg->want_receipt)
		gw_receipt(net, msg->user, msg->to, msg->xmpp_id);
	return GW_SEND_DONE;
}

static void
echo_chat_state(struct gw_net *net, const char *user, const char *to, enum gw_chatstate cs)
{
	gw_chat_state(net, user, to, cs);
}

/* Every echo contact answers at once, so each is always there. */
static enum gw_show
echo_contact_presence(struct gw_net *net, const char *user, const char *address, char **status)
{
	(void)net;
	(void)user;
	(void)address;
	(void)status;
	return GW_SHOW_ONLINE;
}

/* ---- commands ---- */

static const struct gw_field configure_fields[] = {
        {"prefix", GW_FIELD_TEXT, "Prefix", "Text put before every echoed message.", 0, NULL, NULL},
        GW_FIELDS_END,
};

static enum gw_cmd_status
configure(struct gw_cmd *cmd, int stage, const struct gw_values *in)
{
	struct gw_net *net = gw_cmd_net(cmd);
	const char *user = gw_cmd_user(cmd);

	if (stage == 0 && !gw_values_has(in, "prefix")) {
		struct gw_values *cur = gw_values_new();
		char *prefix = gw_setting_get(net, user, "", "prefix");
		struct gw_form form = {"Echo settings", "How the echo network answers you.",
		                       configure_fields, cur};

		gw_values_add(cur, "prefix", prefix ? prefix : "");
		gw_cmd_form(cmd, &form);
		gw_values_free(cur);
		free(prefix);
		return GW_CMD_NEXT;
	}
	if (gw_setting_set(net, user, "", "prefix", gw_values_get(in, "prefix")) == -1) {
		gw_cmd_note(cmd, GW_NOTE_ERROR, "The settings could not be saved.");
		return GW_CMD_ERROR;
	}
	gw_cmd_note(cmd, GW_NOTE_INFO, "Saved.");
	return GW_CMD_DONE;
}

static const struct gw_command echo_commands[] = {
        {"configure", "Echo settings", "configure", "change how the echo network answers you",
         GW_ACCESS_REGISTERED, GW_SCOPE_GATEWAY, configure},
        GW_COMMANDS_END,
};

/* ---- lifecycle ---- */

static void
echo_stop(struct gw_net *net)
{
	struct echo_net *e = priv(net);
	struct echo_room *r, *next;

	for (r = e->rooms; r; r = next) {
		next = r->next;
		for (size_t i = 0; i < r->n; i++) {
			free(r->members[i].user);
			free(r->members[i].nick);
		}
		free(r->members);
		free(r->name);
		free(r->subject);
		free(r);
	}
	e->rooms = NULL;
}

static int
echo_reload(struct gw_net *net)
{
	(void)net;
	return 0; /* bot_nick is read where it is used */
}

static void
echo_stats(struct gw_net *net, void (*line)(const char *, void *), void *arg)
{
	char buf[64];
	size_t rooms = 0;

	for (struct echo_room *r = priv(net)->rooms; r; r = r->next)
		rooms++;
	snprintf(buf, sizeof(buf), "echo: %lu messages echoed, %zu rooms", priv(net)->echoed,
	         rooms);
	line(buf, arg);
}

const struct gw_driver echo_driver = {
        .name = "echo",
        .type = "echo",
        .description = "Echo test network",
        .options = echo_options,
        .registration = echo_registration,
        .commands = echo_commands,
        .prompt = "Any name",
        .prompt_desc = "Any name gives a contact that echoes what you send; "
                       "a name starting with # is a room.",
        .priv_size = sizeof(struct echo_net),
        .stop = echo_stop,
        .reload = echo_reload,
        .send = echo_send,
        .chat_state = echo_chat_state,
        .contact_presence = echo_contact_presence,
        .contact_features = GW_CONTACT_RECEIPTS,
        .is_room = echo_is_room,
        .room_join = echo_room_join,
        .room_leave = echo_room_leave,
        .room_set_nick = echo_room_set_nick,
        .room_set_subject = echo_room_set_subject,
        .stats = echo_stats,
};
