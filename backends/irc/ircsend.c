/*
 * What goes to an IRC server: the per-connection queue behind the token
 * bucket (ircbucket), and what happens once registered (after-connect
 * commands, channels joined again, held messages sent).
 */
#include "config.h"

#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "ircdrv.h"

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
timer_in(struct event *ev, int seconds)
{
	struct timeval tv = {seconds, 0};

	evtimer_add(ev, &tv);
}

/* ---- sending ---- */

static void
line_free(struct ircd_line *l)
{
	free(l->text);
	free(l);
}

/*
 * A copy of line (len bytes) for the log, with what follows the command (or
 * NickServ's command word) replaced by "<hidden>" when the line carries a
 * secret: PASS, AUTHENTICATE, OPER, WEBIRC, anything to NickServ
 * (IDENTIFY, REGISTER...). The line may start with tags and a source (an
 * echo). Caller frees.
 */
char *
ircd_redacted(const char *line, size_t len)
{
	static const char *const secret[] = {"PASS ", "AUTHENTICATE ", "OPER ", "WEBIRC "};
	char *out = xmalloc(len + sizeof("<hidden>")), *l = out, *p;

	memcpy(out, line, len);
	out[len] = '\0';
	if (*l == '@' && (p = strchr(l, ' ')) != NULL)
		l = p + 1;
	if (*l == ':' && (p = strchr(l, ' ')) != NULL)
		l = p + 1;
	for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
		if (strncasecmp(l, secret[i], strlen(secret[i])) == 0) {
			strcpy(l + strlen(secret[i]), "<hidden>");
			return out;
		}
	if (strncasecmp(l, "PRIVMSG NickServ ", 17) == 0 || strncasecmp(l, "NS ", 3) == 0 ||
	    strncasecmp(l, "NICKSERV ", 9) == 0) {
		p = l + strcspn(l, " ") + 1;
		if (strncasecmp(p, "NickServ ", 9) == 0)
			p += 9;
		p += *p == ':';
		p += strcspn(p, " ");
		if (*p == ' ')
			strcpy(p + 1, "<hidden>");
	}
	return out;
}

static void
write_line(struct ircd_conn *c, const char *text, size_t len)
{
	char esc[600];

	if (c->bev == NULL)
		return;
	bufferevent_write(c->bev, text, len);
	c->in->lines_out++;
	if (log_get_verbosity() >= 2) {
		char *copy = ircd_redacted(text, len >= 2 ? len - 2 : len);

		log_trace("irc: %s -> %s: %s", c->user, c->server,
		          log_escape(esc, sizeof(esc), copy));
		free(copy);
	}
}

/* Sends what the throttle allows; a timer takes the rest. */
static void
flush(struct ircd_conn *c)
{
	while (c->q != NULL && c->bev != NULL &&
	       (c->state == IRCD_READY || c->state == IRCD_REGISTERING)) {
		struct ircd_line *l = c->q;
		uint64_t now = now_ms(), wait = ircbucket_wait(&c->bucket, now, l->len);

		if (wait > 0) {
			struct timeval tv = {(time_t)(wait / 1000),
			                     (suseconds_t)(wait % 1000) * 1000};

			evtimer_add(c->ev_send, &tv);
			return;
		}
		ircbucket_take(&c->bucket, now, l->len);
		write_line(c, l->text, l->len);
		c->q = l->next;
		if (c->q == NULL)
			c->q_tail = &c->q;
		if (l->qid != 0 && l->qid != c->sending_qid)
			gw_send_done(c->in->net, l->qid, GW_SEND_DONE, NULL);
		line_free(l);
	}
}

void
ircd_send_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	flush(arg);
}

/* ---- the order of the queue ---- */

/*
 * A word of a line we queued (no tags or source: those are the server's):
 * word 0 is the command, 1 its first parameter (a trailing one without its
 * colon). Copied into buf (NUL-terminated, cut to size); "" when absent.
 */
static const char *
line_word(const struct ircd_line *l, int word, char *buf, size_t size)
{
	const char *p = l->text, *end = l->text + l->len;
	size_t n = 0;

	for (int i = 0; i < word && p < end; i++) {
		while (p < end && *p != ' ' && *p != '\r')
			p++;
		while (p < end && *p == ' ')
			p++;
	}
	if (p < end && *p == ':' && word > 0)
		p++;
	while (p < end && *p != ' ' && *p != '\r' && n + 1 < size)
		buf[n++] = *p++;
	buf[n] = '\0';
	return buf;
}

static bool
command_in(const struct ircd_line *l, const char *const *set)
{
	char cmd[16];

	line_word(l, 0, cmd, sizeof(cmd));
	for (; *set; set++)
		if (strcasecmp(cmd, *set) == 0)
			return true;
	return false;
}

/* Talk, which a backlog of can be long: PRIVMSG and NOTICE. */
static bool
is_talk(const struct ircd_line *l)
{
	static const char *const talk[] = {"PRIVMSG", "NOTICE", NULL};

	return command_in(l, talk);
}

/*
 * Lines of our own that a user waits on (a join, a nick, a channel's
 * modes or members): they go before queued talk.
 */
static bool
is_control(const struct ircd_line *l)
{
	static const char *const control[] = {"JOIN", "PART", "MODE", "NICK", "WHO", NULL};

	return l->qid == 0 && command_in(l, control);
}

/* Whether two lines name a common target (comma lists, the server's casemapping). */
static bool
same_target(const struct ircd_conn *c, const struct ircd_line *a, const struct ircd_line *b)
{
	char ta[IRCMSG_LINELEN], tb[IRCMSG_LINELEN], *sa = NULL, *sb;

	line_word(a, 1, ta, sizeof(ta));
	line_word(b, 1, tb, sizeof(tb));
	for (char *x = strtok_r(ta, ",", &sa); x; x = strtok_r(NULL, ",", &sa)) {
		char copy[IRCMSG_LINELEN];

		memcpy(copy, tb, sizeof(copy));
		sb = NULL;
		for (char *y = strtok_r(copy, ",", &sb); y; y = strtok_r(NULL, ",", &sb))
			if (ircmsg_casecmp(c->isup.casemap, x, y) == 0)
				return true;
	}
	return false;
}

/*
 * What a control line l may not overtake: another control line, a command
 * the user typed (it has a queue id), any line to l's own target (a PART
 * never overtakes what was said in the channel).
 */
static bool
blocks(const struct ircd_conn *c, const struct ircd_line *q, const struct ircd_line *l)
{
	return is_control(q) || (q->qid != 0 && !is_talk(q)) || same_target(c, q, l);
}

/*
 * Where talk l goes: the targets take turns. Its round is one past the
 * last line queued to its own target, or the round being sent when its
 * target has nothing queued; it goes after every talk of an earlier or
 * equal round and every line it may not overtake (blocks(): any line to
 * its target, a control line, a command the user typed); our own
 * housekeeping (ISON, LIST) may wait. So a room's lines no longer wait
 * behind a backlog of private messages to someone else (after a restart:
 * the messages of the killed process sent again), and what goes to one
 * target keeps its order.
 */
static struct ircd_line **
talk_slot(struct ircd_conn *c, struct ircd_line *l)
{
	struct ircd_line **slot = &c->q;
	uint64_t round = 0;
	bool first = true, mine = false;

	for (struct ircd_line *q = c->q; q; q = q->next) {
		if (!is_talk(q))
			continue;
		if (first || (!mine && q->round < round))
			round = q->round;
		first = false;
		if (same_target(c, q, l)) {
			round = q->round + 1;
			mine = true;
		}
	}
	l->round = round;
	for (struct ircd_line **pp = &c->q; *pp; pp = &(*pp)->next)
		if (blocks(c, *pp, l) || (is_talk(*pp) && (*pp)->round <= round))
			slot = &(*pp)->next;
	return slot;
}

/*
 * Queues l. Once registered, a control line goes before the talk (and our
 * own housekeeping, ISON, LIST...) waiting in the throttle: a JOIN no
 * longer waits behind a backlog of private messages, and what goes to one
 * target keeps its order; talk to different targets takes turns
 * (talk_slot). Registration keeps the plain order.
 */
static void
queue_insert(struct ircd_conn *c, struct ircd_line *l)
{
	struct ircd_line **slot = c->q_tail;

	if (c->state == IRCD_READY && is_control(l)) {
		slot = &c->q;
		for (struct ircd_line **pp = &c->q; *pp; pp = &(*pp)->next)
			if (blocks(c, *pp, l))
				slot = &(*pp)->next;
	} else if (c->state == IRCD_READY && is_talk(l))
		slot = talk_slot(c, l);
	l->next = *slot;
	*slot = l;
	if (l->next == NULL)
		c->q_tail = &l->next;
}

void
ircd_queue(struct ircd_conn *c, char *line, size_t len, uint64_t qid, bool now)
{
	struct ircd_line *l;

	if (now) {
		ircbucket_take(&c->bucket, now_ms(), len);
		write_line(c, line, len);
		free(line);
		return;
	}
	l = xcalloc(1, sizeof(*l));
	l->text = line;
	l->len = len;
	l->qid = qid;
	queue_insert(c, l);
	if (!evtimer_pending(c->ev_send, NULL))
		flush(c);
}

void
ircd_sendf(struct ircd_conn *c, bool now, const char *command, ...)
{
	const char *params[IRCMSG_MAX_PARAMS + 1];
	struct ircmsg_out o;
	size_t n = 0, len;
	char *line;
	enum ircmsg_err e;
	va_list ap;

	va_start(ap, command);
	for (const char *p; n < IRCMSG_MAX_PARAMS && (p = va_arg(ap, const char *)) != NULL;)
		params[n++] = p;
	va_end(ap);
	memset(&o, 0, sizeof(o));
	o.command = command;
	o.params = params;
	o.nparams = n;
	o.flags = IRCMSG_STRIP_CRLF;
	e = ircmsg_format(&o, &line, &len);
	if (e != IRCMSG_OK) {
		log_warnx("irc: %s: %s line not sent: %s", c->user, command, ircmsg_strerror(e));
		return;
	}
	ircd_queue(c, line, len, 0, now);
}

/* ---- registered ---- */

static void
held_free(struct ircd_held *h)
{
	free(h->to);
	free(h->to_resource);
	free(h->body);
	free(h->reply_to);
	free(h->xmpp_id);
	free(h->resource);
	free(h);
}

void
ircd_conn_ready(struct ircd_conn *c)
{
	struct ircd_held *h, *next;

	evtimer_del(c->ev_timer);
	ircd_set_state(c, IRCD_READY);
	c->ever_ready = true;
	c->failures = 0;
	/* Registration had the server's own grace: the throttle starts full. */
	ircbucket_reset(&c->bucket);
	free(c->last_error);
	c->last_error = NULL;
	timer_in(c->ev_timer, IRCD_KEEPALIVE_TICK);
	log_info("irc: %s: registered on %s as %s", c->user, c->server, c->nick);
	{
		/* The server's JID shows the connection's state (a subscribed user sees it). */
		char *status = xasprintf("Connected as %s", c->nick);

		gw_presence(c->in->net, c->user, c->server, GW_SHOW_ONLINE, status);
		free(status);
	}
	if (c->after_connect && *c->after_connect) {
		char *copy = xstrdup(c->after_connect), *save = NULL;

		for (char *l = strtok_r(copy, "\r\n", &save); l;
		     l = strtok_r(NULL, "\r\n", &save)) {
			struct ircmsg m;
			struct ircmsg_out o;
			char *line;
			size_t len;

			if (ircmsg_parse(&m, l, strlen(l), 0) != IRCMSG_OK)
				continue;
			memset(&o, 0, sizeof(o));
			o.command = m.command;
			o.params = m.params;
			o.nparams = m.nparams;
			if (ircmsg_format(&o, &line, &len) == IRCMSG_OK)
				ircd_queue(c, line, len, 0, false);
			ircmsg_clear(&m);
		}
		free(copy);
	}
	ircd_lists_send(c);
	for (struct ircd_chan *ch = c->chans; ch; ch = ch->next)
		ircd_send_join(c, ch);
	h = c->held;
	c->held = NULL;
	c->held_tail = &c->held;
	for (; h; h = next) {
		char *why = NULL;
		enum gw_send_status st;

		next = h->next;
		c->sending_qid = h->qid;
		st = ircd_send_now(c, h, &why);
		c->sending_qid = 0;
		if (st == GW_SEND_PENDING) {
			bool still = false;

			for (struct ircd_line *l = c->q; l; l = l->next)
				still |= l->qid == h->qid;
			st = still ? GW_SEND_PENDING : GW_SEND_DONE;
		}
		if (st != GW_SEND_PENDING)
			gw_send_done(c->in->net, h->qid, st, why);
		free(why);
		held_free(h);
	}
}

/* ---- the private lines a 401 may answer ---- */

void
ircd_sent_note(struct ircd_conn *c, const char *nick, const char *resource, const char *xmpp_id)
{
	struct ircd_sent *s = &c->sent[c->sent_next];

	if (xmpp_id == NULL || *xmpp_id == '\0')
		return;
	free(s->nick);
	free(s->xmpp_id);
	free(s->resource);
	s->nick = xstrdup(nick);
	s->xmpp_id = xstrdup(xmpp_id);
	s->resource = xstrdup_or_null(resource);
	s->at = time(NULL);
	c->sent_next = (c->sent_next + 1) % IRCD_SENT_KEEP;
}

bool
ircd_sent_refused(struct ircd_conn *c, const char *nick, const char *text)
{
	time_t now = time(NULL);

	/* The server answers in order: the oldest line to this nick is the one refused. */
	for (size_t k = 0; k < IRCD_SENT_KEEP; k++) {
		struct ircd_sent *s = &c->sent[(c->sent_next + k) % IRCD_SENT_KEEP];
		char *from;
		bool again;

		if (s->nick == NULL || now - s->at > IRCD_SENT_AGE ||
		    ircmsg_casecmp(c->isup.casemap, s->nick, nick) != 0)
			continue;
		/* A long message went as several lines: one error for all of them. */
		again = c->sent_failed && strcmp(c->sent_failed, s->xmpp_id) == 0;
		if (!again) {
			from = ircd_nick_address(c, s->nick);
			gw_message_failed(c->in->net, c->user, s->resource, from, s->xmpp_id,
			                  GW_ERR_RECIPIENT_UNAVAILABLE, text);
			free(from);
			free(c->sent_failed);
			c->sent_failed = s->xmpp_id;
		} else
			free(s->xmpp_id);
		free(s->nick);
		free(s->resource);
		s->nick = s->xmpp_id = s->resource = NULL;
		return true;
	}
	return false;
}

void
ircd_sent_free(struct ircd_conn *c)
{
	for (size_t i = 0; i < IRCD_SENT_KEEP; i++) {
		free(c->sent[i].nick);
		free(c->sent[i].xmpp_id);
		free(c->sent[i].resource);
		c->sent[i].nick = c->sent[i].xmpp_id = c->sent[i].resource = NULL;
	}
	free(c->sent_failed);
	c->sent_failed = NULL;
}

void
ircd_fail_queue(struct ircd_conn *c, const char *why, bool report)
{
	struct ircd_line *l, *next;
	struct ircd_held *h, *hn;

	evtimer_del(c->ev_send);
	for (l = c->q; l; l = next) {
		next = l->next;
		if (l->qid && report)
			gw_send_done(c->in->net, l->qid, GW_SEND_RETRY, why);
		line_free(l);
	}
	c->q = NULL;
	c->q_tail = &c->q;
	for (h = c->held; h; h = hn) {
		hn = h->next;
		if (report)
			gw_send_done(c->in->net, h->qid, GW_SEND_RETRY, why);
		held_free(h);
	}
	c->held = NULL;
	c->held_tail = &c->held;
}

size_t
ircd_queue_length(const struct ircd_conn *c)
{
	size_t n = 0;

	for (const struct ircd_line *l = c->q; l; l = l->next)
		n++;
	return n;
}

static void chanlist_clear(struct ircd_chanlist *);

void
ircd_lists_send(struct ircd_conn *c)
{
	/* One LIST at a time answers every request waiting for it. */
	if (c->lists == NULL || c->chanlist.running)
		return;
	chanlist_clear(&c->chanlist);
	c->chanlist.running = true;
	ircd_sendf(c, false, "LIST", NULL);
}

void
ircd_lists_fail(struct ircd_conn *c, const char *why)
{
	ircd_lists_end(c, GW_ERR_REMOTE_SERVER_TIMEOUT, why);
}

/* Forgets the channels (the expiry timer stays). */
static void
chanlist_clear(struct ircd_chanlist *cl)
{
	for (size_t i = 0; i < cl->n; i++) {
		free(cl->addr[i]);
		free(cl->name[i]);
	}
	free(cl->addr);
	free(cl->name);
	cl->addr = cl->name = NULL;
	cl->n = 0;
	cl->when = 0;
	cl->running = false;
}

void
ircd_chanlist_free(struct ircd_chanlist *cl)
{
	chanlist_clear(cl);
	if (cl->ev_expire)
		event_free(cl->ev_expire);
	cl->ev_expire = NULL;
}

/* A kept list nobody asked for in IRCD_LIST_KEEP seconds: its memory goes back. */
static void
chanlist_expire_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ircd_conn *c = arg;

	(void)fd;
	(void)what;
	if (!c->chanlist.running)
		chanlist_clear(&c->chanlist);
}

void
ircd_chanlist_add(struct ircd_conn *c, const char *addr, const char *name)
{
	struct ircd_chanlist *cl = &c->chanlist;

	if (cl->n % 256 == 0) {
		cl->addr = xreallocarray(cl->addr, cl->n + 256, sizeof(char *));
		cl->name = xreallocarray(cl->name, cl->n + 256, sizeof(char *));
	}
	cl->addr[cl->n] = xstrdup(addr);
	cl->name[cl->n] = xstrdup(name);
	cl->n++;
}

void
ircd_chanlist_answer(struct ircd_conn *c, struct gw_items *it)
{
	for (size_t i = 0; i < c->chanlist.n; i++)
		gw_items_add(it, c->chanlist.addr[i], c->chanlist.name[i]);
	gw_items_done(it, GW_ERR_NONE, NULL);
}

void
ircd_lists_end(struct ircd_conn *c, enum gw_error e, const char *why)
{
	struct ircd_list *l, *next;

	c->chanlist.running = false;
	if (e == GW_ERR_NONE) {
		struct timeval keep = {IRCD_LIST_KEEP, 0};

		c->chanlist.when = time(NULL);
		if (c->chanlist.ev_expire == NULL)
			c->chanlist.ev_expire = evtimer_new(gw_event_base(), chanlist_expire_cb, c);
		evtimer_add(c->chanlist.ev_expire, &keep);
	} else
		chanlist_clear(&c->chanlist);
	for (l = c->lists; l; l = next) {
		next = l->next;
		if (e == GW_ERR_NONE)
			ircd_chanlist_answer(c, l->it);
		else
			gw_items_done(l->it, e, why);
		free(l);
	}
	c->lists = NULL;
}

void
ircd_send_join(struct ircd_conn *c, struct ircd_chan *ch)
{
	ch->join_sent = time(NULL);
	if (ch->key)
		ircd_sendf(c, false, "JOIN", ch->name, ch->key, NULL);
	else
		ircd_sendf(c, false, "JOIN", ch->name, NULL);
}

void
ircd_check_joins(struct ircd_conn *c)
{
	struct ircd_chan *ch, *next;
	time_t now = time(NULL);

	for (ch = c->chans; ch; ch = next) {
		next = ch->next;
		if (ch->joined || ch->join_sent == 0 || now - ch->join_sent < IRCD_JOIN_TIMEOUT)
			continue;
		gw_room_join_failed(c->in->net, c->user, ch->room, GW_ERR_REMOTE_SERVER_TIMEOUT,
		                    "The IRC server did not answer the join.");
		ircd_chan_remove(c, ch);
	}
	ircd_conn_maybe_close(c);
}
