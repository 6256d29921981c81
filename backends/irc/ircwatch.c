/*
 * Presence of IRC people outside channels: the user's contacts on a server
 * (nick%server in the roster) and the other side of each private chat are
 * watched while the connection is up, and their JIDs show online, away or
 * offline.
 *
 *   MONITOR (ISUPPORT MONITOR): MONITOR + nicks; 730/731 say who comes and
 *   goes. Without it (ngircd): ISON every presence_interval seconds, and
 *   at once for a new private chat; 303 lists who is online.
 *   Away: AWAY lines (away-notify, for people sharing a channel) and the
 *   301 a server answers a private message to someone away with.
 *   Channels tell too: a JOIN or NICK shows someone online, a QUIT gone.
 *   What was last told also answers the core's contact_presence (probes).
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "ircdrv.h"

#define WATCH_LINE 400 /* bytes of nicks in one MONITOR or ISON line */

static struct ircd_watch *
watch_find(struct ircd_conn *c, const char *nick)
{
	for (size_t i = 0; i < c->nwatch; i++)
		if (ircmsg_casecmp(c->isup.casemap, c->watch[i].nick, nick) == 0)
			return &c->watch[i];
	return NULL;
}

static bool
watch_new(struct ircd_conn *c, const char *nick)
{
	struct ircd_watch *w;

	if (watch_find(c, nick) != NULL || !ircd_name_ok(nick) ||
	    ircmsg_isupport_is_channel(&c->isup, nick) || strpbrk(nick, ",!@*?") != NULL ||
	    ircd_is_me(c, nick))
		return false;
	c->watch = xreallocarray(c->watch, c->nwatch + 1, sizeof(*c->watch));
	w = &c->watch[c->nwatch++];
	memset(w, 0, sizeof(*w));
	w->nick = xstrdup(nick);
	return true;
}

/* Tells the user when what they see of nick changes. */
static void
tell(struct ircd_conn *c, struct ircd_watch *w, enum gw_show show, const char *away)
{
	char *addr, *status = NULL;

	if (w->told && w->show == show &&
	    (show != GW_SHOW_AWAY || strcmp(w->away ? w->away : "", away ? away : "") == 0))
		return;
	w->told = true;
	w->show = show;
	free(w->away);
	w->away = show == GW_SHOW_AWAY && away ? xstrdup(away) : NULL;
	addr = ircd_nick_address(c, w->nick);
	if (w->away)
		status = ircd_text_in(c, w->away);
	gw_presence(c->in->net, c->user, addr, show, status);
	free(status);
	free(addr);
}

/* Sends command with as many nicks per line as fit; ISON lines are remembered. */
static void
send_nicks(struct ircd_conn *c, const char *command, const char *sep, char **nicks, size_t n)
{
	size_t i = 0;

	while (i < n) {
		char buf[WATCH_LINE + 64];
		size_t len = 0;

		buf[0] = '\0';
		for (; i < n && len + strlen(nicks[i]) + 1 < WATCH_LINE; i++)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s",
			                        len ? sep : "", nicks[i]);
		if (len == 0) {
			i++; /* a nick longer than a line: not a real one */
			continue;
		}
		if (strcmp(command, "ISON") == 0) {
			c->ison_out = xreallocarray(c->ison_out, c->nison_out + 1, sizeof(char *));
			c->ison_out[c->nison_out++] = xstrdup(buf);
			ircd_sendf(c, false, "ISON", buf, NULL);
		} else
			ircd_sendf(c, false, "MONITOR", "+", buf, NULL);
	}
}

static bool
monitoring(struct ircd_conn *c)
{
	return c->isup.monitor >= 0;
}

static void
ison_all(struct ircd_conn *c)
{
	char **nicks;

	if (c->state != IRCD_READY || c->nwatch == 0 || c->nison_out > 0)
		return; /* an answer is still due: no pile-up on a slow server */
	nicks = xreallocarray(NULL, c->nwatch, sizeof(char *));
	for (size_t i = 0; i < c->nwatch; i++)
		nicks[i] = c->watch[i].nick;
	send_nicks(c, "ISON", " ", nicks, c->nwatch);
	free(nicks);
}

static void
poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ircd_conn *c = arg;
	long secs = gw_conf_int(gw_net_section(c->in->net), "presence_interval");
	struct timeval tv = {secs > 0 ? secs : 60, 0};

	(void)fd;
	(void)what;
	if (c->state != IRCD_READY)
		return;
	if (c->nison_out > 0 && c->ison_stale) {
		/* Unanswered for a whole interval (refused, or lost): ask again. */
		for (size_t i = 0; i < c->nison_out; i++)
			free(c->ison_out[i]);
		c->nison_out = 0;
	}
	c->ison_stale = c->nison_out > 0;
	ison_all(c);
	evtimer_add(c->ev_watch, &tv);
}

static void
contact_cb(const char *address, void *arg)
{
	struct ircd_conn *c = arg;
	char *target, *server;

	if (ircd_addr_split(c->in->net, address, &target, &server) == 0 && target != NULL &&
	    strcasecmp(server, c->server) == 0)
		watch_new(c, target);
	free(target);
	free(server);
}

void
ircd_watch_start(struct ircd_conn *c)
{
	long secs = gw_conf_int(gw_net_section(c->in->net), "presence_interval");

	c->watch_on = true;
	gw_foreach_contact(c->in->net, c->user, contact_cb, c);
	for (size_t i = 0; i < c->nison_out; i++)
		free(c->ison_out[i]);
	c->nison_out = 0;
	if (c->nwatch > 0 && monitoring(c)) {
		char **nicks = xreallocarray(NULL, c->nwatch, sizeof(char *));
		size_t n = c->nwatch;

		for (size_t i = 0; i < n; i++)
			nicks[i] = c->watch[i].nick;
		if (c->isup.monitor > 0 && n > (size_t)c->isup.monitor)
			n = (size_t)c->isup.monitor; /* the server's limit */
		send_nicks(c, "MONITOR", ",", nicks, n);
		free(nicks);
		return;
	}
	ison_all(c);
	if (secs > 0) {
		struct timeval tv = {secs, 0};

		if (c->ev_watch == NULL)
			c->ev_watch = evtimer_new(gw_event_base(), poll_cb, c);
		evtimer_add(c->ev_watch, &tv);
	}
}

void
ircd_watch_add(struct ircd_conn *c, const char *nick)
{
	if (!watch_new(c, nick) || !c->watch_on)
		return; /* before the end of the MOTD: ircd_watch_start() asks for it */
	if (monitoring(c)) {
		ircd_sendf(c, false, "MONITOR", "+", nick, NULL);
		return;
	}
	/* At once, not at the next poll: the chat shows whether nick is there. */
	c->ison_out = xreallocarray(c->ison_out, c->nison_out + 1, sizeof(char *));
	c->ison_out[c->nison_out++] = xstrdup(nick);
	ircd_sendf(c, false, "ISON", nick, NULL);
}

void
ircd_contact_changed(struct gw_net *net, const char *user, const char *address, bool added)
{
	char *target, *server;
	struct ircd_conn *c;
	struct ircd_watch *w;

	if (ircd_addr_split(net, address, &target, &server) == -1 || target == NULL ||
	    (c = ircd_conn_find(ircd_priv(net), user, server)) == NULL) {
		free(target);
		free(server);
		return; /* watched from the next connection on, if ever */
	}
	if (added)
		ircd_watch_add(c, target);
	else if ((w = watch_find(c, target)) != NULL) {
		if (monitoring(c) && c->watch_on)
			ircd_sendf(c, false, "MONITOR", "-", w->nick, NULL);
		free(w->nick);
		free(w->away);
		*w = c->watch[--c->nwatch];
	}
	free(target);
	free(server);
}

enum gw_show
ircd_contact_presence(struct gw_net *net, const char *user, const char *address, char **status)
{
	char *target, *server;
	struct ircd_conn *c;
	struct ircd_watch *w;
	enum gw_show show = GW_SHOW_UNKNOWN;

	if (ircd_addr_split(net, address, &target, &server) == -1)
		return GW_SHOW_UNKNOWN;
	c = ircd_conn_find(ircd_priv(net), user, server);
	if (c == NULL || c->state != IRCD_READY) {
		/* Watched only on a connection: without one nobody is seen. */
		*status = xasprintf("Not connected to %s", server);
		show = GW_SHOW_OFFLINE;
	} else if (target == NULL) {
		*status = xasprintf("Connected as %s", c->nick);
		show = GW_SHOW_ONLINE;
	} else if ((w = watch_find(c, target)) != NULL && w->told) {
		show = w->show;
		if (w->away)
			*status = ircd_text_in(c, w->away);
	}
	free(target);
	free(server);
	return show;
}

void
ircd_watch_seen(struct ircd_conn *c, const char *nick, bool online)
{
	struct ircd_watch *w = watch_find(c, nick);

	if (w == NULL)
		return;
	if (!online)
		tell(c, w, GW_SHOW_OFFLINE, NULL);
	else if (!w->told || w->show == GW_SHOW_OFFLINE)
		tell(c, w, GW_SHOW_ONLINE, NULL);
}

void
ircd_watch_away(struct ircd_conn *c, const char *nick, const char *away)
{
	struct ircd_watch *w = watch_find(c, nick);

	if (w != NULL)
		tell(c, w, away && *away ? GW_SHOW_AWAY : GW_SHOW_ONLINE, away);
}

/* 303: the nicks of the oldest ISON that are online. */
static void
ison_reply(struct ircd_conn *c, const char *online)
{
	char *asked = c->ison_out[0], *save = NULL;

	memmove(c->ison_out, c->ison_out + 1, (c->nison_out - 1) * sizeof(char *));
	c->nison_out--;
	for (char *n = strtok_r(asked, " ", &save); n; n = strtok_r(NULL, " ", &save)) {
		char *copy = xstrdup(online), *s2 = NULL;
		bool on = false;

		for (char *o = strtok_r(copy, " ", &s2); o && !on; o = strtok_r(NULL, " ", &s2))
			on = ircmsg_casecmp(c->isup.casemap, n, o) == 0;
		free(copy);
		ircd_watch_seen(c, n, on);
	}
	free(asked);
}

/* 730/731: "nick!user@host,nick2..." online, or nicks offline. */
static void
monitor_reply(struct ircd_conn *c, const char *list, bool online)
{
	char *copy = xstrdup(list), *save = NULL;

	for (char *n = strtok_r(copy, ",", &save); n; n = strtok_r(NULL, ",", &save)) {
		n[strcspn(n, "!")] = '\0';
		ircd_watch_seen(c, n, online);
	}
	free(copy);
}

bool
ircd_watch_numeric(struct ircd_conn *c, const struct ircmsg *m)
{
	const char *last = m->nparams > 1 ? m->params[m->nparams - 1] : "";

	switch (m->numeric) {
	case 303:
		if (c->nison_out == 0)
			return false; /* the user's own ISON: shown */
		ison_reply(c, last);
		return true;
	case 730:
	case 731:
		monitor_reply(c, last, m->numeric == 730);
		return true;
	case 732:
	case 733:
		return true;
	case 734:
		log_info("irc: %s: %s's MONITOR list is full", c->user, c->server);
		return true;
	case 301: /* me nick :away message */
		if (m->nparams >= 3 && watch_find(c, m->params[1]) != NULL) {
			ircd_watch_away(c, m->params[1], m->params[2]);
			return true;
		}
		return false;
	default:
		return false;
	}
}

void
ircd_watch_stop(struct ircd_conn *c)
{
	for (size_t i = 0; i < c->nwatch; i++)
		if (c->watch[i].told && c->watch[i].show != GW_SHOW_OFFLINE)
			tell(c, &c->watch[i], GW_SHOW_OFFLINE, NULL);
	for (size_t i = 0; i < c->nwatch; i++)
		c->watch[i].told = false; /* told again after a reconnection */
	for (size_t i = 0; i < c->nison_out; i++)
		free(c->ison_out[i]);
	c->nison_out = 0;
	if (c->ev_watch)
		evtimer_del(c->ev_watch);
	c->watch_on = false;
}

void
ircd_watch_free(struct ircd_conn *c)
{
	for (size_t i = 0; i < c->nwatch; i++) {
		free(c->watch[i].nick);
		free(c->watch[i].away);
	}
	free(c->watch);
	for (size_t i = 0; i < c->nison_out; i++)
		free(c->ison_out[i]);
	free(c->ison_out);
	if (c->ev_watch)
		event_free(c->ev_watch);
	c->watch = NULL;
	c->ison_out = NULL;
	c->nwatch = c->nison_out = 0;
	c->ev_watch = NULL;
}
