/*
 * What IRCv3 adds on top of the plain protocol, where a server offers it:
 *
 *   echo-message   our channel messages come back from the server; the room
 *                  reflection waits for the echo of a message's last line
 *                  and carries the whole body, so the core gives it the
 *                  client's ids (XEP-0359 origin-id) instead of guessing;
 *   batch          a "chathistory" batch (InspIRCd's chanhistory on join) is
 *                  history: its lines are delayed (XEP-0203) by their time;
 *   message-tags   the +typing client tag on TAGMSG, both ways, as XEP-0085
 *                  chat states in rooms and private chats; +draft/react on
 *                  TAGMSG as XEP-0444 reactions in rooms, both ways
 *                  (+draft/reply on PRIVMSG, XEP-0461, is in ircproto.c and
 *                  ircdrv.c: it rides on the message itself).
 *
 * Without the capability nothing here runs and the driver behaves as on
 * ngIRCd: it reflects a message itself, and typing is not sent.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "ircdrv.h"

/* Echoes waited for, per connection: a server that never echoes cannot grow the list. */
#define ECHO_MAX 64
/* Batches open at once: more are not history we track. */
#define BATCH_MAX 8

/* ---- echo-message ---- */

static void
echo_unlink(struct ircd_echo **pp)
{
	struct ircd_echo *e = *pp;

	*pp = e->next;
	free(e->chan);
	free(e->body);
	free(e);
}

void
ircd_echo_expect(struct ircd_conn *c, const char *chan, const char *body, size_t lines)
{
	struct ircd_echo *e, **pp;
	size_t n = 0;

	for (e = c->echoes; e; e = e->next)
		n++;
	if (n >= ECHO_MAX)
		echo_unlink(&c->echoes); /* the oldest was never echoed */
	e = xcalloc(1, sizeof(*e));
	e->chan = xstrdup(chan);
	e->body = xstrdup(body);
	e->left = lines;
	for (pp = &c->echoes; *pp; pp = &(*pp)->next)
		;
	*pp = e;
}

static struct ircd_echo **
echo_find(struct ircd_conn *c, const char *chan)
{
	struct ircd_echo **pp;

	for (pp = &c->echoes; *pp; pp = &(*pp)->next)
		if (ircmsg_casecmp(c->isup.casemap, (*pp)->chan, chan) == 0)
			return pp;
	return NULL;
}

char *
ircd_echo_take(struct ircd_conn *c, const char *chan, bool *swallow)
{
	struct ircd_echo **pp = echo_find(c, chan);
	char *body;

	*swallow = false;
	if (pp == NULL)
		return NULL; /* said by another client of ours (a bouncer), or after-connect */
	if (--(*pp)->left > 0) {
		*swallow = true;
		return NULL;
	}
	body = (*pp)->body;
	(*pp)->body = NULL;
	echo_unlink(pp);
	return body;
}

void
ircd_echo_refused(struct ircd_conn *c, const char *chan)
{
	struct ircd_echo **pp = echo_find(c, chan);

	if (pp != NULL)
		echo_unlink(pp);
}

void
ircd_echo_free(struct ircd_conn *c)
{
	while (c->echoes)
		echo_unlink(&c->echoes);
}

/* ---- batch ---- */

void
ircd_on_batch(struct ircd_conn *c, const struct ircmsg *m)
{
	const char *ref = ircmsg_param(m, 0), *type = ircmsg_param(m, 1);

	if (ref == NULL || (*ref != '+' && *ref != '-') || ref[1] == '\0')
		return;
	if (*ref == '-') {
		for (size_t i = 0; i < c->nhistory_batches; i++)
			if (strcmp(c->history_batches[i], ref + 1) == 0) {
				free(c->history_batches[i]);
				c->history_batches[i] = c->history_batches[--c->nhistory_batches];
				return;
			}
		return;
	}
	if (type == NULL || c->nhistory_batches >= BATCH_MAX ||
	    (strcmp(type, "chathistory") != 0 && strcmp(type, "draft/chathistory") != 0))
		return;
	c->history_batches = xreallocarray(c->history_batches, c->nhistory_batches + 1,
	                                   sizeof(*c->history_batches));
	c->history_batches[c->nhistory_batches++] = xstrdup(ref + 1);
}

bool
ircd_is_history(const struct ircd_conn *c, const struct ircmsg *m)
{
	const char *ref = ircmsg_tag(m, "batch");

	for (size_t i = 0; ref && i < c->nhistory_batches; i++)
		if (strcmp(c->history_batches[i], ref) == 0)
			return true;
	return false;
}

void
ircd_batches_free(struct ircd_conn *c)
{
	for (size_t i = 0; i < c->nhistory_batches; i++)
		free(c->history_batches[i]);
	free(c->history_batches);
	c->history_batches = NULL;
	c->nhistory_batches = 0;
}

/* ---- +typing ---- */

/* IRCv3 +typing values: "active" is typing, "paused" stopped, "done" gave up or sent. */
static const char *
typing_value(enum gw_chatstate cs)
{
	switch (cs) {
	case GW_CS_COMPOSING:
		return "active";
	case GW_CS_PAUSED:
		return "paused";
	default:
		return "done";
	}
}

static enum gw_chatstate
typing_state(const char *v)
{
	if (strcmp(v, "active") == 0)
		return GW_CS_COMPOSING;
	if (strcmp(v, "paused") == 0)
		return GW_CS_PAUSED;
	return GW_CS_ACTIVE;
}

/* Queues TAGMSG target with its client tags (through the throttle). */
static void
queue_tagmsg(struct ircd_conn *c, const char *target, const struct ircmsg_tag *tags, size_t n)
{
	const char *params[1] = {target};
	struct ircmsg_out o;
	char *line;
	size_t len;

	memset(&o, 0, sizeof(o));
	o.tags = tags;
	o.ntags = n;
	o.command = "TAGMSG";
	o.params = params;
	o.nparams = 1;
	o.linelen = (size_t)c->isup.linelen;
	if (ircmsg_format(&o, &line, &len) == IRCMSG_OK)
		ircd_queue(c, line, len, 0, false);
}

void
ircd_typing_send(struct ircd_conn *c, const char *target, enum gw_chatstate cs)
{
	struct ircmsg_tag tag = {"+typing", typing_value(cs)};

	/* Typing is worth nothing late: not queued behind a burst's worth of lines. */
	if (c->state != IRCD_READY || !(c->caps & IRCD_CAP_MESSAGE_TAGS) ||
	    ircd_queue_length(c) >= IRCBUCKET_BURST)
		return;
	queue_tagmsg(c, target, &tag, 1);
}

/* ---- +draft/react ---- */

/* Whether emoji was sent to msgid before (remembered if not). */
static bool
reacted_before(struct ircd_conn *c, const char *msgid, const char *emoji)
{
	char *key = xconcat(msgid, "\x1f", emoji, (char *)NULL);

	for (size_t i = 0; i < IRCD_REACTED_KEEP; i++)
		if (c->reacted[i] && strcmp(c->reacted[i], key) == 0) {
			free(key);
			return true;
		}
	free(c->reacted[c->reacted_next]);
	c->reacted[c->reacted_next] = key;
	c->reacted_next = (c->reacted_next + 1) % IRCD_REACTED_KEEP;
	return false;
}

void
ircd_reacted_free(struct ircd_conn *c)
{
	for (size_t i = 0; i < IRCD_REACTED_KEEP; i++) {
		free(c->reacted[i]);
		c->reacted[i] = NULL;
	}
}

/*
 * An XMPP client sends the whole set each time; IRCv3 has no "unreact",
 * so only what was added goes out, and a reaction taken back stays.
 */
void
ircd_room_react(struct gw_net *net, const char *user, const char *room, const char *id,
                const char *const *emoji, size_t n)
{
	struct ircd_chan *ch;
	struct ircd_conn *c = ircd_room_conn(net, user, room, &ch);
	char *msgid;

	if (c == NULL || c->state != IRCD_READY || !(c->caps & IRCD_CAP_MESSAGE_TAGS) ||
	    (msgid = gw_room_network_id(net, user, room, id)) == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		struct ircmsg_tag tags[2] = {{"+draft/reply", msgid}, {"+draft/react", emoji[i]}};

		if (*emoji[i] != '\0' && !reacted_before(c, msgid, emoji[i]))
			queue_tagmsg(c, ch->name, tags, 2);
	}
	free(msgid);
}

/* A TAGMSG in a channel: typing, or a reaction to one of its messages. */
static void
chan_tagmsg(struct ircd_conn *c, const struct ircmsg *m, struct ircd_chan *ch)
{
	const char *typing = ircmsg_tag(m, "+typing"), *react = ircmsg_tag(m, "+draft/react");
	const char *to = ircmsg_tag(m, "+draft/reply");

	if (typing)
		gw_room_chat_state(c->in->net, c->user, ch->room, m->nick, typing_state(typing));
	if (react && *react && to && *to)
		gw_room_reaction(c->in->net, c->user, ch->room, m->nick, to, react);
}

void
ircd_on_tagmsg(struct ircd_conn *c, const struct ircmsg *m)
{
	const char *target = ircmsg_param(m, 0), *typing = ircmsg_tag(m, "+typing");
	struct ircd_chan *ch;
	char *from;

	if (target == NULL || m->nick == NULL || ircd_is_me(c, m->nick))
		return;
	if (ircmsg_isupport_is_channel(&c->isup, target)) {
		if ((ch = ircd_chan_find(c, target)) != NULL && ch->core_joined)
			chan_tagmsg(c, m, ch);
		return;
	}
	if (typing == NULL)
		return;
	if (m->user == NULL)
		return; /* a server's */
	from = ircd_nick_address(c, m->nick);
	gw_chat_state(c->in->net, c->user, from, typing_state(typing));
	free(from);
}
