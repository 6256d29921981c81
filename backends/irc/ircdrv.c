/*
 * The IRC gateway: the gw_driver. Addresses (SPEC section 5):
 *
 *   #chan%irc.server.net   a channel (a room)
 *   nick%irc.server.net    a person (a private chat)
 *   irc.server.net         the server: what is sent to it goes out as raw
 *                          IRC lines; what it says comes back from it
 *   #chan, nick            the same on the fixed_server, when it is set
 *
 * One connection per (user, IRC server) carries all the user's channels
 * and chats (ircconn.c); ircproto.c turns what the server says into gw_*()
 * calls. docs/irc-engine.md describes the design and what is missing.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "ircdrv.h"
#include "ircsplit.h"

static const struct gw_option irc_options[] = {
        {"tls_ports", GW_OPT_PORTS, "6697", 0, 0, GW_OPT_RELOADABLE,
         "Ports tried first, with TLS and certificate verification."},
        {"ports", GW_OPT_PORTS, "6667", 0, 0, GW_OPT_RELOADABLE,
         "Plain ports, tried after the TLS ones (empty: never)."},
        {"fixed_server", GW_OPT_STRING, NULL, 0, 0, 0,
         "Serve only this IRC server: channels are then #chan@gateway and people nick@gateway."},
        {"realname", GW_OPT_STRING, NULL, 0, 0, GW_OPT_RELOADABLE,
         "Real name sent at registration (default: the nick)."},
        {"verify_cert", GW_OPT_BOOL, "yes", 0, 0, GW_OPT_RELOADABLE,
         "Verify IRC servers' TLS certificates (users may turn it off per server)."},
        {"ca_file", GW_OPT_PATH, NULL, 0, 0, 0,
         "Extra CA certificates (PEM) trusted for IRC servers, besides the system's."},
        {"fallback_encoding", GW_OPT_STRING, "CP1252", 0, 0, GW_OPT_RELOADABLE,
         "Charset of IRC text that is not valid UTF-8 (any iconv name)."},
        {"presence_interval", GW_OPT_DURATION, "60s", 0, 86400, GW_OPT_RELOADABLE,
         "How often the presence of contacts and private chats is asked (ISON) from servers "
         "without MONITOR (0: never)."},
        {"throttle_burst", GW_OPT_INT, "5", 0, 1000, GW_OPT_RELOADABLE,
         "Lines sent at once to an IRC server before the throttle applies (0: no limit)."},
        {"throttle_interval_ms", GW_OPT_INT, "1000", 0, 60000, GW_OPT_RELOADABLE,
         "Then one line every this many milliseconds."},
        {"throttle_byte_burst", GW_OPT_INT, "1536", 0, 1000000, GW_OPT_RELOADABLE,
         "Bytes sent at once before the byte throttle applies (0: no byte limit)."},
        {"throttle_byte_rate", GW_OPT_INT, "512", 0, 1000000, GW_OPT_RELOADABLE,
         "Then this many bytes per second."},
        {"identd", GW_OPT_INT, "0", 0, 65535, 0,
         "Port of an RFC 1413 ident responder answering for the IRC connections with their "
         "username (0: none; IRC servers ask port 113)."},
        GW_OPTIONS_END,
};

/* [irc.server.NAME]: what the admin sets for one IRC server (NAME as in the addresses). */
static const struct gw_option server_options[] = {
        {"tls_fingerprint", GW_OPT_STRING, NULL, 0, 0, GW_OPT_RELOADABLE,
         "SHA-256 fingerprint of the server's TLS certificate (hex, colons optional): a match is "
         "trusted even when self-signed, a mismatch refused (users may set their own)."},
        {"client_cert", GW_OPT_PATH, NULL, 0, 0, GW_OPT_RELOADABLE,
         "Client certificate (PEM) presented to this server for SASL EXTERNAL, unless the user "
         "made one with the certificate command."},
        {"client_key", GW_OPT_PATH, NULL, 0, 0, GW_OPT_RELOADABLE,
         "Private key (PEM) of client_cert (default: in the client_cert file)."},
        {"webirc_password", GW_OPT_SECRET, NULL, 0, 0, GW_OPT_RELOADABLE,
         "WEBIRC password the server gave the gateway: each user then shows a host and an "
         "address of their own (hashed from the JID) instead of the gateway's."},
        GW_OPTIONS_END,
};

static const struct gw_subsection irc_subsections[] = {
        {"server", server_options, "Settings for one IRC server: [irc.server.irc.example.net]."},
        GW_SUBSECTIONS_END,
};

static int
irc_check_subsection(const struct gw_section *sec, char **why)
{
	const char *fp = gw_conf_str(sec, "tls_fingerprint");
	char buf[65], *err = NULL;

	if (fp != NULL && *fp != '\0' && ircd_fingerprint_parse(fp, buf) == -1) {
		*why = xasprintf("[irc.server.%s] tls_fingerprint: not a SHA-256 fingerprint "
		                 "(64 hex digits, colons optional)",
		                 gw_section_name(sec));
		return -1;
	}
	if (ircd_client_files_check(gw_conf_str(sec, "client_cert"), gw_conf_str(sec, "client_key"),
	                            &err) == -1) {
		*why = xasprintf("[irc.server.%s] %s", gw_section_name(sec), err);
		free(err);
		return -1;
	}
	return 0;
}

const char *
ircd_server_conf(struct gw_net *net, const char *server, const char *key)
{
	size_t n;
	const struct gw_section *const *secs = gw_net_subsections(net, "server", &n);

	for (size_t i = 0; i < n; i++)
		if (strcasecmp(gw_section_name(secs[i]), server) == 0)
			return gw_conf_str(secs[i], key);
	return NULL;
}

static const struct gw_field irc_registration[] = {
        {"nick", GW_FIELD_TEXT, "Default nickname",
         "Used on IRC servers where you set no nickname of your own, unless a room join asks "
         "for another.",
         0, NULL, NULL},
        GW_FIELDS_END,
};

struct ircd_net *
ircd_priv(struct gw_net *net)
{
	return gw_net_priv(net);
}

static const char *
fixed_server(struct gw_net *net)
{
	const char *f = gw_conf_str(gw_net_section(net), "fixed_server");

	return f && *f ? f : NULL;
}

const char *
ircd_fixed_server(struct ircd_net *in)
{
	return fixed_server(in->net);
}

/* ---- settings: the user's per-server value, else the config's ---- */

char *
ircd_conf_value(struct gw_net *net, const char *key)
{
	const struct gw_section *sec = gw_net_section(net);

	if (strcmp(key, "tls_ports") == 0 || strcmp(key, "ports") == 0) {
		const char *const *v = gw_conf_list(sec, key);
		size_t len = 1;
		char *out;

		for (size_t i = 0; v[i]; i++)
			len += strlen(v[i]) + 1;
		out = xcalloc(1, len);
		for (size_t i = 0; v[i]; i++) {
			if (i)
				strcat(out, " ");
			strcat(out, v[i]);
		}
		return out;
	}
	if (strcmp(key, "verify_cert") == 0)
		return xstrdup(gw_conf_bool(sec, key) ? "yes" : "no");
	if (strncmp(key, "throttle_", 9) == 0)
		return xasprintf("%ld", gw_conf_int(sec, key));
	if (strcmp(key, "realname") == 0 || strcmp(key, "fallback_encoding") == 0)
		return xstrdup_or_null(gw_conf_str(sec, key));
	return NULL;
}

char *
ircd_setting_for(struct gw_net *net, const char *user, const char *server, const char *key)
{
	char *v = gw_setting_get(net, user, server, key);
	const char *admin;

	if (v != NULL)
		return v;
	if (strcmp(key, "tls_fingerprint") == 0 &&
	    (admin = ircd_server_conf(net, server, key)) != NULL)
		return xstrdup(admin);
	return ircd_conf_value(net, key);
}

char *
ircd_setting(struct ircd_conn *c, const char *key)
{
	return ircd_setting_for(c->in->net, c->user, c->server, key);
}

const char *
ircd_fallback_encoding(struct ircd_conn *c)
{
	if (c->encoding && *c->encoding)
		return c->encoding; /* the user's for this server */
	return gw_conf_str(gw_net_section(c->in->net), "fallback_encoding");
}

/* ---- addresses ---- */

/*
 * Splits an address into target (channel or nick; NULL for the server
 * itself) and server. Returns 0, or -1 when it is not an IRC address.
 */
int
ircd_addr_split(struct gw_net *net, const char *address, char **target, char **server)
{
	const char *pct = strchr(address, '%');
	const char *fixed = fixed_server(net);

	*target = *server = NULL;
	if (pct != NULL) {
		if (pct == address || pct[1] == '\0')
			return -1;
		*target = xstrndup(address, (size_t)(pct - address));
		*server = xstrdup(pct + 1);
	} else if (fixed != NULL && strcasecmp(address, fixed) != 0) {
		*target = xstrdup(address);
		*server = xstrdup(fixed);
	} else if (*address != '\0')
		*server = xstrdup(address);
	else
		return -1;
	return 0;
}

static bool
is_channel_name(const char *s)
{
	return s && *s && strchr("#&+!", *s) != NULL;
}

static bool
irc_is_room(struct gw_net *net, const char *address)
{
	char *t, *s;
	bool r;

	if (ircd_addr_split(net, address, &t, &s) == -1)
		return false;
	r = is_channel_name(t);
	free(t);
	free(s);
	return r;
}

static int
irc_normalize(struct gw_net *net, const char *typed, char **out, char **why)
{
	char *a = xstrdup(typed), *t = NULL, *s = NULL;

	for (char *p = a; *p; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch <= ' ' || ch == ',' || ch == 0x7f || ch == '@' || ch == '/') {
			*why = xstrdup(
			        "An IRC address has no spaces, commas, '@' or '/': "
			        "#channel%irc.server.net, nick%irc.server.net or irc.server.net.");
			free(a);
			return -1;
		}
		*p = (char)tolower(ch);
	}
	if (ircd_addr_split(net, a, &t, &s) == -1 ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789.-:[]_") != strlen(s)) {
		*why = xstrdup(
		        "Not an IRC address: use #channel%irc.server.net, nick%irc.server.net "
		        "or irc.server.net.");
		free(t);
		free(s);
		free(a);
		return -1;
	}
	free(t);
	free(s);
	*out = a;
	return 0;
}

/* ---- rooms ---- */

static void
irc_room_join(struct gw_net *net, const char *user, const char *room, const char *nick,
              const char *password)
{
	char *target, *server;
	struct ircd_conn *c;
	struct ircd_chan *ch;

	if (ircd_addr_split(net, room, &target, &server) == -1 || !is_channel_name(target)) {
		gw_room_join_failed(net, user, room, GW_ERR_ITEM_NOT_FOUND, "Not an IRC channel.");
		goto out;
	}
	c = ircd_conn_get(ircd_priv(net), user, server);
	ch = ircd_chan_find(c, target);
	if (ch != NULL) {
		xstrset(&ch->room, room);
		if (ch->joined)
			ircd_chan_report_joined(c, ch); /* already on IRC: the core asks again */
		goto out;
	}
	ch = ircd_chan_add(c, target, room);
	ircd_chan_load(c, ch);
	/*
	 * The key comes with the join presence (MUC password); a join without
	 * one (the rejoin at start-up, or a client that joined before) uses the
	 * key kept from the last join.
	 */
	if (password && *password)
		ircd_chan_key_keep(c, ch, password);
	else
		ch->key = ircd_chan_key_get(net, user, target, server);
	if (c->state == IRCD_READY)
		ircd_send_join(c, ch);
	else
		ircd_conn_start(c, nick);
out:
	free(target);
	free(server);
}

static void
irc_room_leave(struct gw_net *net, const char *user, const char *room, const char *reason)
{
	char *target, *server;
	struct ircd_conn *c;
	struct ircd_chan *ch;

	if (ircd_addr_split(net, room, &target, &server) == -1 || target == NULL)
		goto out;
	if ((c = ircd_conn_find(ircd_priv(net), user, server)) == NULL ||
	    (ch = ircd_chan_find(c, target)) == NULL)
		goto out;
	if (c->state == IRCD_READY) {
		if (reason && *reason)
			ircd_sendf(c, false, "PART", ch->name, reason, NULL);
		else
			ircd_sendf(c, false, "PART", ch->name, NULL);
	}
	/* Left for good: its key is kept only for a persistent channel. */
	if (!ch->persistent && ch->key)
		ircd_chan_key_keep(c, ch, NULL);
	ircd_chan_remove(c, ch);
	ircd_conn_maybe_close(c);
out:
	free(target);
	free(server);
}

struct ircd_conn *
ircd_room_conn(struct gw_net *net, const char *user, const char *room, struct ircd_chan **chp)
{
	char *target, *server;
	struct ircd_conn *c = NULL;

	*chp = NULL;
	if (ircd_addr_split(net, room, &target, &server) == 0 && target != NULL &&
	    (c = ircd_conn_find(ircd_priv(net), user, server)) != NULL)
		*chp = ircd_chan_find(c, target);
	free(target);
	free(server);
	return *chp ? c : NULL;
}

static void
irc_room_set_nick(struct gw_net *net, const char *user, const char *room, const char *nick)
{
	struct ircd_chan *ch;
	struct ircd_conn *c = ircd_room_conn(net, user, room, &ch);

	char *clean;

	if (c == NULL)
		return;
	clean = ircd_nick_clean(nick);
	if (c->state == IRCD_READY)
		ircd_sendf(c, false, "NICK", clean, NULL);
	else
		xstrset(&c->want_nick, clean);
	free(clean);
}

static void
irc_room_set_subject(struct gw_net *net, const char *user, const char *room, const char *subject)
{
	struct ircd_chan *ch;
	struct ircd_conn *c = ircd_room_conn(net, user, room, &ch);

	if (c != NULL && c->state == IRCD_READY)
		ircd_sendf(c, false, "TOPIC", ch->name, subject, NULL);
}

static void
irc_room_chat_state(struct gw_net *net, const char *user, const char *room, enum gw_chatstate cs)
{
	struct ircd_chan *ch;
	struct ircd_conn *c = ircd_room_conn(net, user, room, &ch);

	if (c != NULL && ch->joined)
		ircd_typing_send(c, ch->name, cs);
}

/* Typing in a private chat; a chat with a channel's occupant has no nick here: dropped. */
static void
irc_chat_state(struct gw_net *net, const char *user, const char *to, enum gw_chatstate cs)
{
	char *target = NULL, *server = NULL;
	struct ircd_conn *c;

	if (ircd_addr_split(net, to, &target, &server) == 0 && target && !is_channel_name(target) &&
	    (c = ircd_conn_find(ircd_priv(net), user, server)) != NULL)
		ircd_typing_send(c, target, cs);
	free(target);
	free(server);
}

/* XEP-0045 roles as IRC: none kicks; visitor, participant, moderator are -ov, +v, +o. */
static void
irc_room_set_role(struct gw_net *net, const char *user, const char *room, const char *nick,
                  enum gw_role role, const char *reason)
{
	struct ircd_chan *ch;
	struct ircd_conn *c = ircd_room_conn(net, user, room, &ch);

	if (c == NULL || c->state != IRCD_READY)
		return;
	switch (role) {
	case GW_ROLE_NONE:
		ircd_sendf(c, false, "KICK", ch->name, nick, reason && *reason ? reason : nick,
		           NULL);
		break;
	case GW_ROLE_VISITOR:
		ircd_sendf(c, false, "MODE", ch->name, "-ov", nick, nick, NULL);
		break;
	case GW_ROLE_PARTICIPANT:
		ircd_sendf(c, false, "MODE", ch->name, "+v", nick, NULL);
		break;
	case GW_ROLE_MODERATOR:
		ircd_sendf(c, false, "MODE", ch->name, "+o", nick, NULL);
		break;
	}
}

/* ---- messages ---- */

/* Queues one PRIVMSG line, with an optional client tag; the throttle sends it. */
static bool
queue_text(struct ircd_conn *c, const char *command, const char *dest, const char *text,
           uint64_t qid, const struct ircmsg_tag *tag)
{
	const char *params[2] = {dest, text};
	struct ircmsg_out o;
	char *line;
	size_t len;

	memset(&o, 0, sizeof(o));
	o.tags = tag;
	o.ntags = tag ? 1 : 0;
	o.command = command;
	o.params = params;
	o.nparams = 2;
	o.flags = IRCMSG_FORCE_TRAILING;
	o.linelen = (size_t)c->isup.linelen;
	if (ircmsg_format(&o, &line, &len) != IRCMSG_OK)
		return false;
	ircd_queue(c, line, len, qid, false);
	return true;
}

/* A raw line to the server: parsed, then rebuilt (so it stays one valid line). */
static enum gw_send_status
send_raw(struct ircd_conn *c, uint64_t qid, const char *body, char **why)
{
	char *copy = xstrdup(body), *save = NULL;
	char **lines = NULL;
	size_t n = 0, len = strlen(copy);
	enum gw_send_status st = GW_SEND_PENDING;

	while (len > 0 && strchr("\r\n \t", copy[len - 1]))
		copy[--len] = '\0';
	if (strpbrk(copy, "\r\n") != NULL) {
		/* One message, one command: a line break never smuggles a second one. */
		*why = xstrdup("a message to the server is one IRC command, on one line");
		free(copy);
		return GW_SEND_FAILED;
	}
	for (char *l = strtok_r(copy, "\r\n", &save); l; l = strtok_r(NULL, "\r\n", &save)) {
		struct ircmsg m;
		struct ircmsg_out o;
		char *line;
		size_t linelen;
		enum ircmsg_err e;

		if (strspn(l, " \t") == strlen(l))
			continue;
		if (*l == '/')
			l++; /* "/join #x" as a client would take it */
		if ((e = ircmsg_parse(&m, l, strlen(l), 0)) != IRCMSG_OK) {
			*why = xasprintf("not an IRC command (%s)", ircmsg_strerror(e));
			st = GW_SEND_FAILED;
			break;
		}
		memset(&o, 0, sizeof(o));
		o.command = m.command;
		o.params = m.params;
		o.nparams = m.nparams;
		e = ircmsg_format(&o, &line, &linelen);
		ircmsg_clear(&m);
		if (e != IRCMSG_OK) {
			*why = xasprintf("not an IRC command (%s)", ircmsg_strerror(e));
			st = GW_SEND_FAILED;
			break;
		}
		lines = xreallocarray(lines, n + 1, sizeof(*lines));
		lines[n++] = line;
	}
	/* Nothing goes unless every line is valid. */
	for (size_t i = 0; i < n; i++) {
		if (st == GW_SEND_PENDING)
			ircd_queue(c, lines[i], strlen(lines[i]), i + 1 == n ? qid : 0, false);
		else
			free(lines[i]);
	}
	free(lines);
	free(copy);
	if (st == GW_SEND_PENDING && n == 0)
		st = GW_SEND_DONE;
	return st;
}

/*
 * The +draft/reply tag naming the message a room message replies to
 * (XEP-0461), when the server takes client tags and the room knows its
 * msgid; *msgid (caller frees) holds its value.
 */
static bool
reply_tag(struct ircd_conn *c, const struct ircd_chan *ch, const char *reply_to,
          struct ircmsg_tag *tag, char **msgid)
{
	*msgid = NULL;
	if (ch == NULL || reply_to == NULL || !(c->caps & IRCD_CAP_MESSAGE_TAGS))
		return false;
	*msgid = gw_room_network_id(c->in->net, c->user, ch->room, reply_to);
	tag->key = "+draft/reply";
	tag->value = *msgid;
	return *msgid != NULL;
}

enum gw_send_status
ircd_send_now(struct ircd_conn *c, const struct ircd_held *h, char **why)
{
	struct gw_net *net = c->in->net;
	char *target = NULL, *server = NULL, **parts, *msgid = NULL;
	const char *to = h->to, *to_resource = h->to_resource, *body = h->body;
	const char *dest, *text = body;
	struct ircd_chan *ch = NULL;
	struct ircmsg_tag tag;
	bool groupchat = h->groupchat, tagged;
	unsigned flags = 0;
	uint64_t qid = h->qid;
	size_t room, n;
	enum gw_send_status st = GW_SEND_PENDING;

	if (ircd_addr_split(net, to, &target, &server) == -1) {
		*why = xstrdup("not an IRC address");
		st = GW_SEND_FAILED;
		goto out;
	}
	if (target == NULL) {
		st = send_raw(c, qid, body, why);
		goto out;
	}
	if (groupchat) {
		if ((ch = ircd_chan_find(c, target)) == NULL) {
			*why = xstrdup("you are not in this channel");
			st = GW_SEND_FAILED;
			goto out;
		}
		dest = ch->name;
	} else if (to_resource && is_channel_name(target)) {
		dest = to_resource;
		c->queries = true;
		ircd_watch_add(c, dest);
	} else {
		dest = target;
		c->queries = true;
		ircd_watch_add(c, dest);
	}
	if (strncmp(body, "/me ", 4) == 0) {
		flags |= IRCSPLIT_ACTION;
		text = body + 4;
	}
	room = ircsplit_room("PRIVMSG", dest,
	                     ircsplit_source_len(c->nick, c->self_user, c->self_host),
	                     (size_t)c->isup.linelen);
	/* IRC has no edit: a correction is a new line, marked as one (the reflection is not). */
	if (h->correction) {
		char *marked = xasprintf("* %s", text);

		parts = ircsplit(marked, room, flags, &n);
		free(marked);
	} else
		parts = ircsplit(text, room, flags, &n);
	if (parts == NULL) {
		*why = xstrdup("the destination's name leaves no room for text");
		st = GW_SEND_FAILED;
		goto out;
	}
	tagged = reply_tag(c, ch, h->reply_to, &tag, &msgid);
	for (size_t i = 0; i < n; i++) {
		if (!queue_text(c, "PRIVMSG", dest, parts[i], i + 1 == n ? qid : 0,
		                tagged && i == 0 ? &tag : NULL)) {
			*why = xstrdup("the message could not be formatted");
			st = i == 0 ? GW_SEND_FAILED : GW_SEND_DONE;
			break;
		}
		/* Each line to a nick may come back as a 401: it names this message. */
		if (!groupchat)
			ircd_sent_note(c, dest, h->resource, h->xmpp_id);
	}
	ircsplit_free(parts);
	if (n == 0)
		st = GW_SEND_DONE;
	/* Without echo-message the server does not show us our own line. */
	if (groupchat && n > 0 && (c->caps & IRCD_CAP_ECHO_MESSAGE))
		ircd_echo_expect(c, ch->name, body, n);
	else if (groupchat && n > 0)
		gw_room_message(net, c->user, ch->room, c->nick, body, NULL, 0);
out:
	free(msgid);
	free(target);
	free(server);
	return st;
}

static enum gw_send_status
irc_send(struct gw_net *net, const struct gw_outmsg *msg, char **why)
{
	char *target, *server;
	struct ircd_conn *c;
	enum gw_send_status st;

	if (ircd_addr_split(net, msg->to, &target, &server) == -1) {
		*why = xstrdup("not an IRC address");
		return GW_SEND_FAILED;
	}
	free(target);
	c = ircd_conn_get(ircd_priv(net), msg->user, server);
	free(server);
	if (c->state != IRCD_READY) {
		struct ircd_held *h = xcalloc(1, sizeof(*h));

		/* Held until registered; a failed attempt hands it back to the core's retries. */
		h->qid = msg->qid;
		h->to = xstrdup(msg->to);
		h->to_resource = xstrdup_or_null(msg->to_resource);
		h->body = xstrdup(msg->body);
		h->groupchat = msg->groupchat;
		h->correction = msg->correction;
		h->reply_to = xstrdup_or_null(msg->reply_to);
		h->xmpp_id = xstrdup_or_null(msg->xmpp_id);
		h->resource = xstrdup_or_null(msg->resource);
		*c->held_tail = h;
		c->held_tail = &h->next;
		ircd_conn_start(c, NULL);
		return GW_SEND_PENDING;
	}
	c->sending_qid = msg->qid;
	{
		/* The message as ircd_send_now() takes it; nothing of it is freed here. */
		struct ircd_held now = {
		        .qid = msg->qid,
		        .to = (char *)msg->to,
		        .to_resource = (char *)msg->to_resource,
		        .body = (char *)msg->body,
		        .groupchat = msg->groupchat,
		        .correction = msg->correction,
		        .reply_to = (char *)msg->reply_to,
		        .xmpp_id = (char *)msg->xmpp_id,
		        .resource = (char *)msg->resource,
		};

		st = ircd_send_now(c, &now, why);
	}
	c->sending_qid = 0;
	if (st == GW_SEND_PENDING) {
		bool queued = false;

		for (struct ircd_line *l = c->q; l; l = l->next)
			queued |= l->qid == msg->qid;
		if (!queued)
			st = GW_SEND_DONE;
	}
	return st;
}

/* ---- the channel list (disco#items on the server's address) ---- */

static void
irc_list_items(struct gw_net *net, const char *user, const char *address, struct gw_items *it)
{
	char *target, *server;
	struct ircd_conn *c;
	struct ircd_list *l, **pp;

	if (ircd_addr_split(net, address, &target, &server) == -1 || target != NULL) {
		gw_items_done(it, GW_ERR_NONE, NULL); /* a channel or a person: nothing under it */
		free(target);
		free(server);
		return;
	}
	c = ircd_conn_get(ircd_priv(net), user, server);
	free(server);
	if (c->chanlist.when != 0 && time(NULL) - c->chanlist.when < IRCD_LIST_KEEP) {
		/* Kept from a recent LIST: the core pages it (RSM). */
		ircd_chanlist_answer(c, it);
		return;
	}
	l = xcalloc(1, sizeof(*l));
	l->it = it;
	for (pp = &c->lists; *pp; pp = &(*pp)->next)
		;
	*pp = l;
	if (c->state == IRCD_READY)
		ircd_lists_send(c);
	else
		ircd_conn_start(c, NULL);
}

/* ---- users ---- */

struct offline_check {
	struct gw_net *net;
	char *user;
};

static void
close_user(struct gw_net *net, const char *user, bool only_idle)
{
	for (struct ircd_conn *c = ircd_priv(net)->conns; c; c = c->next)
		if (c->state != IRCD_CLOSED && strcmp(c->user, user) == 0 &&
		    (!only_idle || c->chans == NULL))
			/* Persistent rooms the core kept end with the connection. */
			ircd_conn_end(c, "You left the gateway", NULL);
}

static void
offline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct offline_check *oc = arg;

	(void)fd;
	(void)what;
	if (ircd_priv(oc->net) != NULL && !gw_user_is_online(oc->net, oc->user))
		close_user(oc->net, oc->user, true);
	free(oc->user);
	free(oc);
}

static void
irc_user_unavailable(struct gw_net *net, const char *user, const char *resource)
{
	struct offline_check *oc = xcalloc(1, sizeof(*oc));
	struct timeval zero = {0, 0};

	(void)resource;
	/* The core removes the resource after this call: look once it has. */
	oc->net = net;
	oc->user = xstrdup(user);
	event_base_once(gw_event_base(), -1, EV_TIMEOUT, offline_cb, oc, &zero);
}

static void
irc_user_removed(struct gw_net *net, const char *user)
{
	close_user(net, user, false);
}

/* ---- lifecycle ---- */

static SSL_CTX *
tls_ctx(struct gw_net *net, bool verify)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	const char *ca = gw_conf_str(gw_net_section(net), "ca_file");

	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (!verify) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
		return ctx;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_set_default_verify_paths(ctx) != 1)
		log_warnx("irc: the system's CA certificates could not be loaded");
	if (ca && *ca && SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		log_warnx("irc: cannot load CA certificates from %s", ca);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static int
irc_start(struct gw_net *net)
{
	struct ircd_net *in = ircd_priv(net);

	in->net = net;
	in->ssl = tls_ctx(net, true);
	in->ssl_noverify = tls_ctx(net, false);
	if (in->ssl == NULL || in->ssl_noverify == NULL) {
		if (in->ssl)
			SSL_CTX_free(in->ssl);
		if (in->ssl_noverify)
			SSL_CTX_free(in->ssl_noverify);
		return -1;
	}
	if (ircd_identd_start(in, (unsigned)gw_conf_int(gw_net_section(net), "identd")) == -1) {
		SSL_CTX_free(in->ssl);
		SSL_CTX_free(in->ssl_noverify);
		return -1;
	}
	in->dns = gw_dns_base();
	ircd_persist_restore(net);
	return 0;
}

static void
irc_stop(struct gw_net *net)
{
	struct ircd_net *in = ircd_priv(net);

	in->stopping = true;
	for (struct ircd_conn *c = in->conns; c; c = c->next)
		ircd_conn_close(c, "Gateway shutting down");
	ircd_conn_free_all(in);
	ircd_quitting_free_all(in);
	ircd_identd_stop(in);
	SSL_CTX_free(in->ssl);
	SSL_CTX_free(in->ssl_noverify);
}

static int
irc_reload(struct gw_net *net)
{
	(void)net;
	return 0; /* settings are read at each connection */
}

static void
irc_stats(struct gw_net *net, void (*line)(const char *, void *), void *arg)
{
	struct ircd_net *in = ircd_priv(net);
	size_t n[IRCD_CLOSED + 1] = {0}, chans = 0;
	char buf[256];

	for (struct ircd_conn *c = in->conns; c; c = c->next) {
		n[c->state]++;
		for (struct ircd_chan *ch = c->chans; ch; ch = ch->next)
			chans++;
	}
	snprintf(buf, sizeof(buf),
	         "irc: %zu connections ready, %zu connecting, %zu waiting to reconnect; "
	         "%zu channels; %lu lines in, %lu out, %lu malformed",
	         n[IRCD_READY], n[IRCD_RESOLVING] + n[IRCD_CONNECTING] + n[IRCD_REGISTERING],
	         n[IRCD_WAITING], chans, in->lines_in, in->lines_out, in->bad_lines);
	line(buf, arg);
}

static void
irc_links(struct gw_net *net, unsigned *up, unsigned *down)
{
	for (struct ircd_conn *c = ircd_priv(net)->conns; c; c = c->next) {
		if (c->state == IRCD_READY)
			(*up)++;
		else if (c->state != IRCD_IDLE && c->state != IRCD_CLOSED)
			(*down)++;
	}
}

const struct gw_driver irc_driver = {
        .name = "irc",
        .type = "irc",
        .description = "IRC gateway",
        .options = irc_options,
        .subsections = irc_subsections,
        .registration = irc_registration,
        .commands = ircd_commands,
        .prompt = "IRC channel, nick or server",
        .prompt_desc = "#channel%irc.server.net for a channel, nick%irc.server.net for a person, "
                       "irc.server.net for the server itself.",
        .normalize = irc_normalize,
        .priv_size = sizeof(struct ircd_net),
        .start = irc_start,
        .stop = irc_stop,
        .reload = irc_reload,
        .check_subsection = irc_check_subsection,
        .user_unavailable = irc_user_unavailable,
        .user_removed = irc_user_removed,
        .contact_changed = ircd_contact_changed,
        .contact_presence = ircd_contact_presence,
        .send = irc_send,
        .chat_state = irc_chat_state,
        .is_room = irc_is_room,
        .room_join = irc_room_join,
        .room_leave = irc_room_leave,
        .room_set_nick = irc_room_set_nick,
        .room_set_subject = irc_room_set_subject,
        .room_chat_state = irc_room_chat_state,
        .room_react = ircd_room_react,
        .room_set_role = irc_room_set_role,
        .room_invite = ircd_room_invite,
        .room_set_affiliation = ircd_room_set_affiliation,
        .room_list_affiliation = ircd_room_list_affiliation,
        .room_config = ircd_room_config,
        .room_config_get = ircd_room_config_get,
        .room_config_set = ircd_room_config_set,
        .room_persistent = ircd_room_persistent,
        .room_archived = ircd_room_archived,
        .room_info = ircd_room_info,
        .rooms_nonanonymous = true,
        .list_items = irc_list_items,
        .stats = irc_stats,
        .links = irc_links,
};
