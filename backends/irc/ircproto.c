/*
 * What an IRC server says, turned into calls of the driver interface:
 * registration (CAP LS 302, NICK/USER, nick collisions; SASL and NickServ
 * are ircsasl.c's),
 * ISUPPORT, channels (JOIN, NAMES, PART, KICK, QUIT, NICK, MODE, TOPIC),
 * messages and CTCP, and the numerics the user should read.
 *
 * Every line is parsed with ircmsg_parse() (a malformed one is logged,
 * escaped, and skipped) and every text is passed through irctext_to_xmpp()
 * before it reaches a gw_*() function.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ircdrv.h"
#include "irctext.h"
#include "ircutf8.h"

/* ---- helpers ---- */

char *
ircd_nick_address(struct ircd_conn *c, const char *nick)
{
	char *n = xstrdup(nick), *a;

	ircmsg_casefold(IRCMSG_CASEMAP_ASCII, n);
	if (ircd_fixed_server(c->in) != NULL)
		return n; /* fixed_server: nick@gateway */
	a = xasprintf("%s%%%s", n, c->server);
	free(n);
	return a;
}

char *
ircd_text_in(struct ircd_conn *c, const char *s)
{
	return ircd_chan_text_in(c, NULL, s);
}

char *
ircd_chan_text_in(struct ircd_conn *c, const struct ircd_chan *ch, const char *s)
{
	const char *enc = ch && ch->encoding ? ch->encoding : ircd_fallback_encoding(c);

	return irctext_to_xmpp(s ? s : "", s ? strlen(s) : 0, enc, 0);
}

void
ircd_server_message(struct ircd_conn *c, const char *fmt, ...)
{
	va_list ap;
	char *raw, *text;
	struct gw_inmsg in;

	va_start(ap, fmt);
	if (vasprintf(&raw, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	text = ircd_text_in(c, raw);
	memset(&in, 0, sizeof(in));
	in.user = c->user;
	in.from = c->server;
	in.body = text;
	in.kind = GW_MSG_CHAT;
	gw_deliver(c->in->net, &in);
	free(text);
	free(raw);
}

/*
 * A private message the gateway could not store (its database is down):
 * IRC has no error for that, so the sender gets a NOTICE naming the
 * message, rather than silence. The quote is cut on a UTF-8 boundary.
 */
static void
refused_notice(struct ircd_conn *c, const char *nick, const char *text)
{
	size_t n = strlen(text);
	char *t;

	if (n > 80) {
		n = 80;
		while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80)
			n--;
	}
	t = xasprintf("[gateway] Not delivered to %s: the gateway cannot store messages right "
	              "now; please send it again later: \"%.*s%s\"",
	              c->nick, (int)n, text, text[n] ? "..." : "");
	ircd_sendf(c, false, "NOTICE", nick, t, NULL);
	free(t);
}

/* A notice in every joined room (from the room itself). */
static void
rooms_notice(struct ircd_conn *c, const char *text)
{
	for (struct ircd_chan *ch = c->chans; ch; ch = ch->next)
		if (ch->core_joined)
			gw_room_message(c->in->net, c->user, ch->room, NULL, text, NULL, 0);
}

/* server-time: only a stamp worth showing (older than a few seconds) is kept. */
/*
 * When a line was said (server-time), for a delay (XEP-0203): 0 for now.
 * History replayed in a chathistory batch is always delayed; a live line
 * only when it is more than 10 s old (a clock a little off is not a delay).
 */
static time_t
msg_stamp(const struct ircd_conn *c, const struct ircmsg *m)
{
	const char *t = ircmsg_tag(m, "time");
	struct tm tm;
	time_t when;

	if (t == NULL)
		return 0;
	memset(&tm, 0, sizeof(tm));
	if (strptime(t, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
		return 0;
	when = timegm(&tm);
	return ircd_is_history(c, m) || when < time(NULL) - 10 ? when : 0;
}

bool
ircd_is_me(struct ircd_conn *c, const char *nick)
{
	return nick && c->nick && ircmsg_casecmp(c->isup.casemap, nick, c->nick) == 0;
}

/*
 * Whether a nick or channel name from the server can become part of a JID:
 * valid UTF-8, no controls, spaces or DEL. A real server never sends
 * anything else; a line that does is skipped.
 */
bool
ircd_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 200 || !ircutf8_valid(s, n))
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= ' ' || *p == 0x7f)
			return false;
	return true;
}

/* ---- registration, CAP and SASL ---- */

static const struct {
	const char *name;
	unsigned bit;
} cap_names[] = {
        {"multi-prefix", IRCD_CAP_MULTI_PREFIX},
        {"message-tags", IRCD_CAP_MESSAGE_TAGS},
        {"server-time", IRCD_CAP_SERVER_TIME},
        {"echo-message", IRCD_CAP_ECHO_MESSAGE},
        {"away-notify", IRCD_CAP_AWAY_NOTIFY},
        {"account-notify", IRCD_CAP_ACCOUNT_NOTIFY},
        {"extended-join", IRCD_CAP_EXTENDED_JOIN},
        {"cap-notify", IRCD_CAP_CAP_NOTIFY},
        {"batch", IRCD_CAP_BATCH},
        {"sasl", IRCD_CAP_SASL},
        {"userhost-in-names", IRCD_CAP_USERHOST_IN_NAMES},
        {"chghost", IRCD_CAP_CHGHOST},
        {"setname", IRCD_CAP_SETNAME},
};
#define NCAPS (sizeof(cap_names) / sizeof(cap_names[0]))

/* Bits of the capability names in list ("a b=c -d"); *off gets the '-' ones. */
static unsigned
cap_bits(const char *list, unsigned *off)
{
	char *copy = xstrdup(list ? list : ""), *save = NULL;
	unsigned bits = 0;

	if (off)
		*off = 0;
	for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		bool minus = *w == '-';

		if (minus)
			w++;
		w[strcspn(w, "=")] = '\0';
		for (size_t i = 0; i < NCAPS; i++)
			if (strcmp(w, cap_names[i].name) == 0) {
				if (minus && off)
					*off |= cap_names[i].bit;
				else
					bits |= cap_names[i].bit;
			}
	}
	free(copy);
	return bits;
}

static void
cap_request(struct ircd_conn *c, unsigned want)
{
	char buf[512];
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < NCAPS; i++)
		if (want & cap_names[i].bit)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", n ? " " : "",
			                      cap_names[i].name);
	ircd_sendf(c, true, "CAP", "REQ", buf, NULL);
}

void
ircd_cap_end(struct ircd_conn *c)
{
	if (!c->cap_negotiating)
		return;
	c->cap_negotiating = false;
	ircd_sendf(c, true, "CAP", "END", NULL);
}

void
ircd_register(struct ircd_conn *c)
{
	c->nick_tries = 0;
	xstrset(&c->nick, c->want_nick);
	ircd_echo_free(c); /* what the last connection waited for will not come */
	ircd_batches_free(c);
	c->cap_negotiating = true;
	ircd_webirc(c); /* first of all, when configured */
	ircd_sendf(c, true, "CAP", "LS", "302", NULL);
	if (c->pass && *c->pass)
		ircd_sendf(c, true, "PASS", c->pass, NULL);
	ircd_sendf(c, true, "NICK", c->nick, NULL);
	ircd_sendf(c, true, "USER", c->username, "0", "*", c->realname, NULL);
}

static void
on_cap(struct ircd_conn *c, const struct ircmsg *m)
{
	const char *sub = ircmsg_param(m, 1);
	const char *last = m->nparams > 2 ? m->params[m->nparams - 1] : "";
	unsigned off, bits;

	if (sub == NULL)
		return;
	bits = cap_bits(last, &off);
	if (strcmp(sub, "LS") == 0 || strcmp(sub, "NEW") == 0)
		ircd_sasl_mechs(c, last);
	if (strcmp(sub, "LS") == 0) {
		c->caps_offered |= bits;
		if (m->nparams > 3 && strcmp(m->params[2], "*") == 0)
			return; /* more LS lines follow */
		if (c->state != IRCD_REGISTERING)
			return;
		bits = c->caps_offered;
		if (!ircd_sasl_wanted(c))
			bits &= ~(unsigned)IRCD_CAP_SASL;
		if (bits)
			cap_request(c, bits);
		else
			ircd_cap_end(c);
	} else if (strcmp(sub, "ACK") == 0) {
		c->caps = (c->caps | bits) & ~off;
		if (c->state == IRCD_REGISTERING && (c->caps & IRCD_CAP_SASL) && !c->sasl_running &&
		    !c->sasl_tried)
			ircd_sasl_begin(c);
		else if (!c->sasl_running)
			ircd_cap_end(c);
	} else if (strcmp(sub, "NAK") == 0) {
		ircd_cap_end(c);
	} else if (strcmp(sub, "NEW") == 0) {
		c->caps_offered |= bits;
		bits &= ~(c->caps | IRCD_CAP_SASL);
		if (bits)
			cap_request(c, bits);
	} else if (strcmp(sub, "DEL") == 0) {
		c->caps &= ~bits;
		c->caps_offered &= ~bits;
	}
}

/* 433 and friends: during registration, try another nick. */
static void
nick_in_use(struct ircd_conn *c, const struct ircmsg *m)
{
	const char *bad = ircmsg_param(m, 1);
	size_t max = c->isup.nicklen > 0 ? (size_t)c->isup.nicklen : 9;
	char *next;

	if (c->state != IRCD_REGISTERING) {
		char *text = xasprintf("The nickname %s cannot be used: %s", bad ? bad : "",
		                       m->params[m->nparams - 1]);

		rooms_notice(c, text);
		if (c->chans == NULL)
			ircd_server_message(c, "%s", text);
		free(text);
		return;
	}
	if (++c->nick_tries > 10) {
		ircd_conn_lost(c, "the server refused every nickname tried");
		return;
	}
	next = xasprintf("%s_", c->nick ? c->nick : "xmpp");
	if (strlen(next) > max) {
		next[max - 1] = (char)('0' + arc4random_uniform(10));
		next[max] = '\0';
	}
	xstrset(&c->nick, next);
	free(next);
	ircd_sendf(c, true, "NICK", c->nick, NULL);
}

/* ---- messages ---- */

static void
ctcp_reply(struct ircd_conn *c, const char *to, const char *cmd, const char *args)
{
	char *r = irctext_ctcp_build(cmd, args);

	if (r != NULL && to != NULL)
		ircd_sendf(c, false, "NOTICE", to, r, NULL);
	free(r);
}

/* Answers VERSION, PING, TIME; true when the text was such a request. */
static bool
ctcp_request(struct ircd_conn *c, const struct ircmsg *m, const struct irctext_ctcp *ct)
{
	char *args = xstrndup(ct->args ? ct->args : "", ct->args_len);
	char buf[64];
	time_t now = time(NULL);
	struct tm tm;

	switch (ct->kind) {
	case IRCTEXT_CTCP_VERSION:
		ctcp_reply(c, m->nick, "VERSION",
		           PACKAGE_NAME " " PACKAGE_VERSION " (XMPP gateway)");
		break;
	case IRCTEXT_CTCP_PING:
		ctcp_reply(c, m->nick, "PING", args);
		break;
	case IRCTEXT_CTCP_TIME:
		gmtime_r(&now, &tm);
		strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S +0000", &tm);
		ctcp_reply(c, m->nick, "TIME", buf);
		break;
	default:
		free(args);
		return false;
	}
	free(args);
	return true;
}

static void
on_privmsg(struct ircd_conn *c, const struct ircmsg *m, bool notice)
{
	const char *target = ircmsg_param(m, 0), *text = ircmsg_param(m, 1);
	struct ircd_chan *ch = NULL;
	struct irctext_ctcp ct;
	enum irctext_ctcp_kind kind;
	char *body;
	bool server_src = m->user == NULL && (m->nick == NULL || strchr(m->nick, '.') != NULL);

	if (target == NULL || text == NULL)
		return;
	kind = irctext_ctcp_parse(text, strlen(text), &ct);
	if (kind != IRCTEXT_CTCP_NONE && kind != IRCTEXT_CTCP_ACTION) {
		if (!notice && !ircd_is_me(c, m->nick))
			ctcp_request(c, m, &ct);
		return; /* replies and unknown CTCP are not shown */
	}
	while (*target && strchr(c->isup.statusmsg, *target) && target[1])
		target++; /* "@#chan": a message to the channel's operators */
	if (ircmsg_isupport_is_channel(&c->isup, target))
		ch = ircd_chan_find(c, target); /* its encoding decodes the text */
	if (kind == IRCTEXT_CTCP_ACTION) {
		char *raw = xstrndup(ct.args ? ct.args : "", ct.args_len);
		char *t = ircd_chan_text_in(c, ch, raw);

		body = xasprintf("/me %s", t);
		free(t);
		free(raw);
	} else
		body = ircd_chan_text_in(c, ch, text);
	if (ircmsg_isupport_is_channel(&c->isup, target) && ircd_is_me(c, m->nick) &&
	    (c->caps & IRCD_CAP_ECHO_MESSAGE)) {
		bool swallow;
		char *whole = ircd_echo_take(c, target, &swallow);

		if (swallow) {
			free(body);
			return; /* an earlier line of a message: its last one reflects it whole */
		}
		if (whole) {
			free(body);
			body = whole;
		}
	}
	if (ircmsg_isupport_is_channel(&c->isup, target)) {
		if (ch != NULL && ch->core_joined && m->nick && ircd_is_history(c, m))
			gw_room_history(c->in->net, c->user, ch->room, m->nick, body,
			                ircmsg_tag(m, "msgid"), msg_stamp(c, m));
		else if (ch != NULL && ch->core_joined && m->nick)
			gw_room_reply(c->in->net, c->user, ch->room, m->nick, body,
			              ircmsg_tag(m, "msgid"), msg_stamp(c, m),
			              ircmsg_tag(m, "+draft/reply"));
	} else if (c->state != IRCD_READY) {
		/* "Looking up your hostname" and the like: not worth a message each connection. */
		char esc[300];

		log_debug("irc: %s: %s says: %s", c->user, c->server,
		          log_escape(esc, sizeof(esc), body));
	} else if (server_src) {
		ircd_server_message(c, "%s", body);
	} else if (!ircd_is_me(c, m->nick)) {
		char *from = ircd_nick_address(c, m->nick);
		struct gw_inmsg in;

		memset(&in, 0, sizeof(in));
		in.user = c->user;
		in.from = from;
		in.body = body;
		in.id = ircmsg_tag(m, "msgid");
		in.stamp = msg_stamp(c, m);
		in.kind = GW_MSG_CHAT;
		c->queries = true;
		ircd_watch_add(c, m->nick);
		/* Never an automatic answer to a NOTICE (RFC 2812 3.3.2). */
		if (gw_deliver(c->in->net, &in) == -1 && !notice)
			refused_notice(c, m->nick, text);
		free(from);
	}
	free(body);
}

/* ---- numerics ---- */

static void
join_failed(struct ircd_conn *c, const struct ircmsg *m, enum gw_error e)
{
	struct ircd_chan *ch = m->nparams >= 2 ? ircd_chan_find(c, m->params[1]) : NULL;
	char *why;

	if (ch == NULL || ch->core_joined)
		return;
	why = ircd_text_in(c, m->params[m->nparams - 1]);
	if (m->numeric == 475 && ch->key)
		ircd_chan_key_keep(c, ch, NULL); /* a wrong key is not tried again */
	gw_room_join_failed(c->in->net, c->user, ch->room, e, why);
	free(why);
	ircd_chan_remove(c, ch);
	ircd_conn_maybe_close(c);
}

/* A numeric the user should read, from the server's address. */
static void
numeric_to_user(struct ircd_conn *c, const struct ircmsg *m)
{
	char *all = ircmsg_params_join(m, 1);

	if (*all)
		ircd_server_message(c, "%s", all);
	free(all);
}

static void
on_numeric(struct ircd_conn *c, const struct ircmsg *m)
{
	struct ircd_chan *ch;

	if (ircd_admin_numeric(c, m) || ircd_watch_numeric(c, m))
		return;
	switch (m->numeric) {
	case 1:
		if (m->nparams > 0)
			xstrset(&c->nick, m->params[0]);
		ircd_cap_end(c);
		ircd_nickserv_identify(c);
		ircd_conn_ready(c);
		break;
	case 5:
		ircmsg_isupport_apply(&c->isup, m);
		break;
	case 4:
		if (m->nparams >= 3)
			ircd_throttle_for(c, m->params[2]);
		break;
	case 2:
	case 3:
	case 42:
	case 250:
	case 251:
	case 252:
	case 253:
	case 254:
	case 255:
	case 265:
	case 266:
	case 372:
	case 375:
	case 396:
	case 324:
	case 329:
	case 315:
	case 352:
		break; /* welcome, statistics, MOTD: not worth a message each time */
	case 376:
	case 422:
		/* End of the MOTD: ISUPPORT is known, MONITOR or not. */
		if (!c->watch_on)
			ircd_watch_start(c);
		break;
	case 332:
		if (m->nparams >= 3 && (ch = ircd_chan_find(c, m->params[1])) != NULL)
			ircd_set_topic(c, ch, m->params[2], ch->topic_by);
		break;
	case 333:
		if (m->nparams >= 3 && (ch = ircd_chan_find(c, m->params[1])) != NULL) {
			char *by = xstrndup(m->params[2], strcspn(m->params[2], "!"));

			xstrset(&ch->topic_by, by);
			free(by);
		}
		break;
	case 331:
		break;
	case 353:
		ircd_on_names(c, m);
		break;
	case 366:
		ircd_on_names_end(c, m);
		break;
	case 432:
	case 433:
	case 436:
	case 437:
		nick_in_use(c, m);
		break;
	case 900:
	case 901:
		ircd_on_account(c, m);
		break;
	case 903:
		ircd_sasl_done(c, m, true);
		break;
	case 908:
		break; /* the mechanisms the server takes: 904 follows */
	case 902:
	case 904:
	case 905:
	case 906:
	case 907:
		ircd_sasl_done(c, m, false);
		break;
	case 321:
		break;
	case 322:
		/* me #chan users :topic, for the LIST running */
		if (m->nparams >= 3 && c->chanlist.running && ircd_name_ok(m->params[1])) {
			char *addr = ircd_fixed_server(c->in)
			                     ? xstrdup(m->params[1])
			                     : xasprintf("%s%%%s", m->params[1], c->server);
			char *topic = ircd_text_in(c, m->nparams >= 4 ? m->params[3] : "");
			char *name = xasprintf("%s (%s): %s", m->params[1], m->params[2], topic);

			ircmsg_casefold(IRCMSG_CASEMAP_ASCII, addr);
			ircd_chanlist_add(c, addr, name);
			free(name);
			free(topic);
			free(addr);
			if (c->chanlist.n >= IRCD_LIST_MAX) {
				/* A LIST that goes on for ever: answered with what came. */
				log_warnx("irc: %s: LIST from %s cut at %d channels", c->user,
				          c->server, IRCD_LIST_MAX);
				ircd_lists_end(c, GW_ERR_NONE, NULL);
				ircd_conn_maybe_close(c);
			}
		}
		break;
	case 323:
	case 263:
		if (c->chanlist.running) {
			if (m->numeric == 323)
				ircd_lists_end(c, GW_ERR_NONE, NULL);
			else
				ircd_lists_end(c, GW_ERR_RESOURCE_CONSTRAINT,
				               "The server is busy: try later.");
			ircd_conn_maybe_close(c);
		}
		break;
	case 401:
		/* No such nick: said in the room we invited it to, or in the chat with it. */
		if (m->nparams >= 3 && ircd_invite_failed(c, m->params[1], m->params[2]))
			break;
		if (m->nparams >= 3 && !ircmsg_isupport_is_channel(&c->isup, m->params[1]) &&
		    ircd_name_ok(m->params[1])) {
			char *t = ircd_text_in(c, m->params[2]);

			/* The message it answers fails; with none remembered, the chat says it. */
			if (!ircd_sent_refused(c, m->params[1], t)) {
				char *from = ircd_nick_address(c, m->params[1]);
				struct gw_inmsg in;

				memset(&in, 0, sizeof(in));
				in.user = c->user;
				in.from = from;
				in.body = t;
				in.kind = GW_MSG_CHAT;
				gw_deliver(c->in->net, &in);
				free(from);
			}
			free(t);
			break;
		}
		numeric_to_user(c, m);
		break;
	case 403:
	case 476:
		join_failed(c, m, GW_ERR_ITEM_NOT_FOUND);
		break;
	case 405:
	case 471:
		join_failed(c, m, GW_ERR_SERVICE_UNAVAILABLE);
		break;
	case 473:
		join_failed(c, m, GW_ERR_REGISTRATION_REQUIRED);
		break;
	case 474:
		join_failed(c, m, GW_ERR_FORBIDDEN);
		break;
	case 475:
		join_failed(c, m, GW_ERR_NOT_AUTHORIZED);
		break;
	case 477:
	case 480:
		join_failed(c, m, GW_ERR_NOT_ALLOWED);
		break;
	case 404:
	case 442:
	case 482:
		if (m->numeric == 404 && m->nparams >= 3)
			ircd_echo_refused(c, m->params[1]);
		if (m->nparams >= 3 && (ch = ircd_chan_find(c, m->params[1])) != NULL &&
		    ch->core_joined) {
			char *t = ircd_text_in(c, m->params[2]);

			gw_room_message(c->in->net, c->user, ch->room, NULL, t, NULL, 0);
			free(t);
			break;
		}
		numeric_to_user(c, m);
		break;
	default:
		numeric_to_user(c, m);
		break;
	}
}

/* ---- the dispatcher ---- */

void
ircd_handle_line(struct ircd_conn *c, const char *line, size_t len)
{
	struct ircmsg m;
	enum ircmsg_err e;
	char esc[600];
	const char *cmd;
	struct ircd_chan *ch;

	memset(&m, 0, sizeof(m));
	e = ircmsg_parse(&m, line, len, (size_t)c->isup.linelen);
	if (e == IRCMSG_ERR_EMPTY)
		return;
	if (e != IRCMSG_OK) {
		c->in->bad_lines++;
		log_warnx("irc: %s: bad line from %s skipped (%s): %s", c->user, c->server,
		          ircmsg_strerror(e), log_escape(esc, sizeof(esc), line));
		return;
	}
	if (log_get_verbosity() >= 2) {
		/* Our own IDENTIFY comes back with echo-message. */
		char *copy = ircd_redacted(line, len);

		log_trace("irc: %s <- %s: %s", c->user, c->server,
		          log_escape(esc, sizeof(esc), copy));
		free(copy);
	}
	cmd = m.command;
	if (m.nick && m.numeric < 0 && !ircd_name_ok(m.nick)) {
		c->in->bad_lines++;
		log_warnx("irc: %s: line with an impossible nick from %s skipped: %s", c->user,
		          c->server, log_escape(esc, sizeof(esc), line));
		ircmsg_clear(&m);
		return;
	}
	if (m.numeric >= 0)
		on_numeric(c, &m);
	else if (strcmp(cmd, "PING") == 0)
		ircd_sendf(c, true, "PONG", m.nparams ? m.params[0] : c->server, NULL);
	else if (strcmp(cmd, "PONG") == 0)
		c->ping_out = false;
	else if (strcmp(cmd, "PRIVMSG") == 0)
		on_privmsg(c, &m, false);
	else if (strcmp(cmd, "NOTICE") == 0)
		on_privmsg(c, &m, true);
	else if (strcmp(cmd, "JOIN") == 0)
		ircd_on_join(c, &m);
	else if (strcmp(cmd, "PART") == 0)
		ircd_on_part(c, &m, false);
	else if (strcmp(cmd, "KICK") == 0)
		ircd_on_part(c, &m, true);
	else if (strcmp(cmd, "QUIT") == 0)
		ircd_on_quit(c, &m);
	else if (strcmp(cmd, "NICK") == 0)
		ircd_on_nick(c, &m);
	else if (strcmp(cmd, "MODE") == 0)
		ircd_on_mode(c, &m);
	else if (strcmp(cmd, "TOPIC") == 0) {
		if (m.nparams >= 2 && (ch = ircd_chan_find(c, m.params[0])) != NULL)
			ircd_set_topic(c, ch, m.params[1], m.nick);
	} else if (strcmp(cmd, "AWAY") == 0)
		ircd_on_away(c, &m);
	else if (strcmp(cmd, "CAP") == 0)
		on_cap(c, &m);
	else if (strcmp(cmd, "TAGMSG") == 0)
		ircd_on_tagmsg(c, &m);
	else if (strcmp(cmd, "BATCH") == 0)
		ircd_on_batch(c, &m);
	else if (strcmp(cmd, "CHGHOST") == 0)
		ircd_on_chghost(c, &m);
	else if (strcmp(cmd, "INVITE") == 0 && m.nparams >= 2 && m.nick &&
	         ircd_name_ok(m.params[1])) {
		/* A mediated invitation from the room, from the inviter's address. */
		char *room = ircd_fixed_server(c->in) ? xstrdup(m.params[1])
		                                      : xasprintf("%s%%%s", m.params[1], c->server);
		char *from = ircd_nick_address(c, m.nick);

		ircmsg_casefold(IRCMSG_CASEMAP_ASCII, room);
		gw_room_invited(c->in->net, c->user, room, from, NULL);
		free(from);
		free(room);
	} else if (strcmp(cmd, "AUTHENTICATE") == 0)
		ircd_on_authenticate(c, &m);
	else if (strcmp(cmd, "ERROR") == 0) {
		char *why = ircd_text_in(c, m.nparams ? m.params[0] : "closed");

		ircmsg_clear(&m);
		ircd_conn_lost(c, why);
		free(why);
		return;
	}
	/* ACCOUNT, SETNAME, WALLOPS...: nothing to show. */
	ircmsg_clear(&m);
}
