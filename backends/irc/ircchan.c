/*
 * Channels as rooms: the members of each channel with their prefix modes
 * (roles and affiliations, Biboumi's mapping), and what the server tells
 * about them (JOIN, NAMES, PART, KICK, QUIT, NICK, AWAY, MODE, TOPIC),
 * turned into gw_room_*() calls.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ircdrv.h"

/* ---- channels and members ---- */

struct ircd_chan *
ircd_chan_find(struct ircd_conn *c, const char *name)
{
	for (struct ircd_chan *ch = c->chans; ch; ch = ch->next)
		if (ircmsg_casecmp(c->isup.casemap, ch->name, name) == 0)
			return ch;
	return NULL;
}

struct ircd_chan *
ircd_chan_add(struct ircd_conn *c, const char *name, const char *room)
{
	struct ircd_chan *ch = xcalloc(1, sizeof(*ch));

	ch->name = xstrdup(name);
	ch->room = xstrdup(room);
	ch->next = c->chans;
	c->chans = ch;
	return ch;
}

void
ircd_chan_free(struct ircd_chan *ch)
{
	for (size_t i = 0; i < ch->nm; i++) {
		free(ch->m[i].nick);
		free(ch->m[i].userhost);
	}
	ircd_bans_free(ch, "You are not in the channel any more.");
	ircd_chan_modes_known(ch);
	free(ch->m);
	free(ch->name);
	free(ch->room);
	free(ch->key);
	free(ch->topic);
	free(ch->topic_by);
	free(ch->encoding);
	free(ch);
}

void
ircd_chan_remove(struct ircd_conn *c, struct ircd_chan *ch)
{
	for (struct ircd_chan **pp = &c->chans; *pp; pp = &(*pp)->next)
		if (*pp == ch) {
			*pp = ch->next;
			ircd_chan_free(ch);
			return;
		}
}

static struct ircd_member *
member_find(struct ircd_conn *c, struct ircd_chan *ch, const char *nick)
{
	for (size_t i = 0; i < ch->nm; i++)
		if (ircmsg_casecmp(c->isup.casemap, ch->m[i].nick, nick) == 0)
			return &ch->m[i];
	return NULL;
}

struct ircd_member *
ircd_member_find(struct ircd_conn *c, struct ircd_chan *ch, const char *nick)
{
	return member_find(c, ch, nick);
}

static struct ircd_member *
member_add(struct ircd_conn *c, struct ircd_chan *ch, const char *nick)
{
	struct ircd_member *m = member_find(c, ch, nick);

	if (m != NULL)
		return m;
	ch->m = xreallocarray(ch->m, ch->nm + 1, sizeof(*ch->m));
	m = &ch->m[ch->nm++];
	memset(m, 0, sizeof(*m));
	m->nick = xstrdup(nick);
	return m;
}

static void
member_del(struct ircd_chan *ch, struct ircd_member *m)
{
	free(m->nick);
	free(m->userhost);
	*m = ch->m[--ch->nm];
}

/* Adds or removes a prefix mode, keeping PREFIX order (highest first). */
static void
member_mode(struct ircd_conn *c, struct ircd_member *m, char mode, bool on)
{
	char *p = strchr(m->modes, mode);
	size_t n = strlen(m->modes);

	if (!on) {
		if (p)
			memmove(p, p + 1, strlen(p));
		return;
	}
	if (p || n + 1 >= sizeof(m->modes))
		return;
	m->modes[n] = mode;
	m->modes[n + 1] = '\0';
	/* Few letters: an insertion sort by rank. */
	for (size_t i = n; i > 0; i--) {
		char a = m->modes[i - 1], b = m->modes[i];

		if (ircmsg_isupport_prefix_rank(&c->isup, a) <=
		    ircmsg_isupport_prefix_rank(&c->isup, b))
			break;
		m->modes[i - 1] = b;
		m->modes[i] = a;
	}
}

/* Biboumi's mapping: q owner, a/o admin, h/v member; q/a/o/h moderate. */
static void
member_occupant(const struct ircd_member *m, struct gw_occupant *o)
{
	memset(o, 0, sizeof(*o));
	o->nick = m->nick;
	o->show = m->away ? GW_SHOW_AWAY : GW_SHOW_ONLINE;
	o->role = GW_ROLE_PARTICIPANT;
	o->affiliation = GW_AFF_NONE;
	switch (m->modes[0]) {
	case 'q':
		o->affiliation = GW_AFF_OWNER;
		o->role = GW_ROLE_MODERATOR;
		break;
	case 'a':
	case 'o':
		o->affiliation = GW_AFF_ADMIN;
		o->role = GW_ROLE_MODERATOR;
		break;
	case 'h':
		o->affiliation = GW_AFF_MEMBER;
		o->role = GW_ROLE_MODERATOR;
		break;
	case 'v':
		o->affiliation = GW_AFF_MEMBER;
		break;
	default:
		break;
	}
}

static void
report_member(struct ircd_conn *c, struct ircd_chan *ch, const struct ircd_member *m)
{
	struct gw_occupant o;
	char *address = ircd_nick_address(c, m->nick), *self = NULL;

	member_occupant(m, &o);
	o.address = address;
	/* user@host names someone across nick changes (their occupant-id). */
	if (ircd_is_me(c, m->nick) && c->self_user && c->self_host)
		o.identity = self = xasprintf("%s@%s", c->self_user, c->self_host);
	else
		o.identity = m->userhost;
	gw_room_occupant(c->in->net, c->user, ch->room, &o);
	free(address);
	free(self);
}

static void
chan_info(const struct ircd_chan *ch, struct gw_room_info *info)
{
	memset(info, 0, sizeof(*info));
	info->persistent = ch->persistent;
	info->membersonly = strchr(ch->modes, 'i') != NULL;
	info->moderated = strchr(ch->modes, 'm') != NULL;
	info->password = strchr(ch->modes, 'k') != NULL;
	info->hidden = strchr(ch->modes, 's') != NULL || strchr(ch->modes, 'p') != NULL;
}

/*
 * A channel's modes are asked for (MODE #chan) only when a client wants
 * its disco#info, not at every join: ngircd delays a client's next
 * command by a second after each MODE, which a JOIN storm would pay.
 * From then on MODE changes keep them.
 */
void
ircd_room_info(struct gw_net *net, const char *user, const char *room, struct gw_info_request *rq)
{
	struct ircd_chan *ch;
	struct ircd_conn *c = ircd_room_conn(net, user, room, &ch);
	struct gw_room_info info;

	if (c == NULL || !ch->joined || c->state != IRCD_READY) {
		gw_room_info_done(rq, NULL);
		return;
	}
	if (ch->modes_known) {
		chan_info(ch, &info);
		gw_room_info_done(rq, &info);
		return;
	}
	ch->inforeqs = xreallocarray(ch->inforeqs, ch->ninforeqs + 1, sizeof(*ch->inforeqs));
	ch->inforeqs[ch->ninforeqs++] = rq;
	if (ch->ninforeqs == 1)
		ircd_sendf(c, false, "MODE", ch->name, NULL);
}

/* The modes are the channel's now (324), or never will be (it goes): answer who waits. */
void
ircd_chan_modes_known(struct ircd_chan *ch)
{
	struct gw_room_info info;

	chan_info(ch, &info);
	for (size_t i = 0; i < ch->ninforeqs; i++)
		gw_room_info_done(ch->inforeqs[i], ch->modes_known ? &info : NULL);
	free(ch->inforeqs);
	ch->inforeqs = NULL;
	ch->ninforeqs = 0;
}

/* Keeps the channel's mode letters (no prefix or list modes) as the server says them. */
void
ircd_chan_set_mode(struct ircd_chan *ch, char mode, bool on)
{
	char *p = strchr(ch->modes, mode);
	size_t n = strlen(ch->modes);

	if (mode == '\0' || mode == '+' || mode == '-')
		return;
	if (!on && p)
		memmove(p, p + 1, strlen(p));
	else if (on && !p && n + 1 < sizeof(ch->modes)) {
		ch->modes[n] = mode;
		ch->modes[n + 1] = '\0';
	}
}

void
ircd_chan_report_joined(struct ircd_conn *c, struct ircd_chan *ch)
{
	for (size_t i = 0; i < ch->nm; i++)
		report_member(c, ch, &ch->m[i]);
	if (ch->topic)
		gw_room_subject(c->in->net, c->user, ch->room, ch->topic_by, ch->topic);
	ch->core_joined = true;
	gw_room_joined(c->in->net, c->user, ch->room, c->nick);
}

/* ---- channel events ---- */

void
ircd_on_join(struct ircd_conn *c, const struct ircmsg *m)
{
	const char *name = ircmsg_param(m, 0);
	struct ircd_chan *ch = name ? ircd_chan_find(c, name) : NULL;
	struct ircd_member *mem;

	if (ch == NULL || m->nick == NULL)
		return;
	if (ircd_is_me(c, m->nick)) {
		ch->joined = true;
		xstrset(&c->self_user, m->user);
		xstrset(&c->self_host, m->host);
		for (size_t i = 0; i < ch->nm; i++) {
			free(ch->m[i].nick);
			free(ch->m[i].userhost);
		}
		ch->nm = 0;
		member_add(c, ch, m->nick);
		return;
	}
	mem = member_add(c, ch, m->nick);
	if (m->user && m->host) {
		free(mem->userhost);
		mem->userhost = xasprintf("%s@%s", m->user, m->host);
	}
	ircd_watch_seen(c, m->nick, true);
	if (ch->core_joined)
		report_member(c, ch, mem);
}

void
ircd_on_names(struct ircd_conn *c, const struct ircmsg *m)
{
	struct ircd_chan *ch = m->nparams >= 4 ? ircd_chan_find(c, m->params[2]) : NULL;
	char *copy, *save = NULL;

	if (ch == NULL)
		return;
	copy = xstrdup(m->params[3]);
	for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		struct ircd_member *mem;
		char *p = w, *uh;

		while (*p && ircmsg_isupport_prefix_mode(&c->isup, *p) != 0)
			p++;
		uh = strchr(p, '!'); /* userhost-in-names */
		if (uh)
			*uh++ = '\0';
		if (!ircd_name_ok(p))
			continue;
		mem = member_add(c, ch, p);
		if (uh && strchr(uh, '@') && ircd_name_ok(uh))
			xstrset(&mem->userhost, uh);
		for (char *q = w; q < p; q++)
			member_mode(c, mem, ircmsg_isupport_prefix_mode(&c->isup, *q), true);
		if (ch->core_joined)
			report_member(c, ch, mem);
	}
	free(copy);
}

void
ircd_on_names_end(struct ircd_conn *c, const struct ircmsg *m)
{
	struct ircd_chan *ch = m->nparams >= 2 ? ircd_chan_find(c, m->params[1]) : NULL;

	if (ch != NULL && ch->joined && !ch->core_joined)
		ircd_chan_report_joined(c, ch);
}

void
ircd_set_topic(struct ircd_conn *c, struct ircd_chan *ch, const char *topic, const char *by)
{
	free(ch->topic);
	ch->topic = ircd_chan_text_in(c, ch, topic);
	xstrset(&ch->topic_by, by);
	if (ch->core_joined)
		gw_room_subject(c->in->net, c->user, ch->room, by, ch->topic);
}

void
ircd_on_part(struct ircd_conn *c, const struct ircmsg *m, bool kick)
{
	struct ircd_chan *ch = m->nparams ? ircd_chan_find(c, m->params[0]) : NULL;
	const char *who = kick ? ircmsg_param(m, 1) : m->nick;
	const char *reason = ircmsg_param(m, kick ? 2 : 1);
	struct ircd_member *mem;
	char *r;

	if (ch == NULL || who == NULL)
		return;
	/*
	 * Our PART of a membership already left, echoed after a JOIN for a new
	 * one went out: the new one is not ours to end.
	 */
	if (!kick && !ch->joined && ircd_is_me(c, who))
		return;
	r = reason ? ircd_text_in(c, reason) : NULL;
	if (ircd_is_me(c, who)) {
		/* Kicked after a ban of a mask that matches us: banned (301). */
		if (ch->core_joined)
			gw_room_left(c->in->net, c->user, ch->room, c->nick,
			             !kick                   ? GW_LEAVE_PART
			             : ircd_banned_me(c, ch) ? GW_LEAVE_BAN
			                                     : GW_LEAVE_KICK,
			             m->nick, r);
		ircd_chan_remove(c, ch);
		free(r);
		ircd_conn_maybe_close(c);
		return;
	}
	mem = member_find(c, ch, who);
	if (mem != NULL) {
		if (ch->core_joined)
			gw_room_left(c->in->net, c->user, ch->room, mem->nick,
			             kick ? GW_LEAVE_KICK : GW_LEAVE_PART, m->nick, r);
		member_del(ch, mem);
	}
	free(r);
}

void
ircd_on_quit(struct ircd_conn *c, const struct ircmsg *m)
{
	char *r;

	if (m->nick == NULL || ircd_is_me(c, m->nick))
		return;
	ircd_watch_seen(c, m->nick, false);
	r = m->nparams ? ircd_text_in(c, m->params[0]) : NULL;
	for (struct ircd_chan *ch = c->chans; ch; ch = ch->next) {
		struct ircd_member *mem = member_find(c, ch, m->nick);

		if (mem == NULL)
			continue;
		if (ch->core_joined)
			gw_room_left(c->in->net, c->user, ch->room, mem->nick, GW_LEAVE_PART, NULL,
			             r);
		member_del(ch, mem);
	}
	free(r);
}

void
ircd_on_nick(struct ircd_conn *c, const struct ircmsg *m)
{
	const char *to = ircmsg_param(m, 0);
	char *old;

	if (m->nick == NULL || to == NULL || !ircd_name_ok(to))
		return;
	old = xstrdup(m->nick);
	if (ircd_is_me(c, old)) {
		xstrset(&c->nick, to);
		xstrset(&c->want_nick, to);
	} else {
		ircd_watch_seen(c, old, false);
		ircd_watch_seen(c, to, true);
	}
	for (struct ircd_chan *ch = c->chans; ch; ch = ch->next) {
		struct ircd_member *mem = member_find(c, ch, old);

		if (mem == NULL)
			continue;
		xstrset(&mem->nick, to);
		if (ch->core_joined)
			gw_room_nick(c->in->net, c->user, ch->room, old, to);
	}
	free(old);
}

void
ircd_on_away(struct ircd_conn *c, const struct ircmsg *m)
{
	if (m->nick)
		ircd_watch_away(c, m->nick, m->nparams > 0 ? m->params[0] : NULL);
	for (struct ircd_chan *ch = c->chans; m->nick && ch; ch = ch->next) {
		struct ircd_member *mem = member_find(c, ch, m->nick);

		if (mem == NULL)
			continue;
		mem->away = m->nparams > 0;
		if (ch->core_joined)
			report_member(c, ch, mem);
	}
}

/*
 * CHGHOST new-user new-host: the member's user@host changes (ban matching);
 * the occupant is told again, so a client sees the presence update.
 */
void
ircd_on_chghost(struct ircd_conn *c, const struct ircmsg *m)
{
	if (m->nick == NULL || m->nparams < 2)
		return;
	if (ircd_is_me(c, m->nick)) {
		xstrset(&c->self_user, m->params[0]);
		xstrset(&c->self_host, m->params[1]);
	}
	for (struct ircd_chan *ch = c->chans; ch; ch = ch->next) {
		struct ircd_member *mem = member_find(c, ch, m->nick);

		if (mem == NULL)
			continue;
		free(mem->userhost);
		mem->userhost = xasprintf("%s@%s", m->params[0], m->params[1]);
		if (ch->core_joined)
			report_member(c, ch, mem);
	}
}

void
ircd_on_mode(struct ircd_conn *c, const struct ircmsg *m)
{
	struct ircd_chan *ch = m->nparams >= 2 ? ircd_chan_find(c, m->params[0]) : NULL;
	size_t arg = 2;
	bool on = true;
	char *text, *all;

	if (ch == NULL)
		return;
	for (const char *p = m->params[1]; *p; p++) {
		char type;
		const char *a = NULL;

		if (*p == '+' || *p == '-') {
			on = *p == '+';
			continue;
		}
		type = ircmsg_isupport_mode_type(&c->isup, *p);
		if (type == 'P' || type == 'A' || type == 'B' || (type == 'C' && on))
			a = arg < m->nparams ? m->params[arg++] : NULL;
		if (*p == 'b' && type == 'A' && a)
			ircd_ban_seen(c, ch, a, m->nick, on);
		if (type == 'B' || type == 'C' || type == 'D')
			ircd_chan_set_mode(ch, *p, on);
		/* The key changed while we are in: a rejoin after a restart needs the new one. */
		if (*p == 'k' && type == 'B' && ch->joined)
			ircd_chan_key_keep(c, ch, on ? a : NULL);
		if (type == 'P' && a) {
			struct ircd_member *mem = member_find(c, ch, a);

			if (mem) {
				member_mode(c, mem, *p, on);
				if (ch->core_joined)
					report_member(c, ch, mem);
			}
		}
	}
	if (!ch->core_joined)
		return;
	/* Shown in the room as IRC shows it. */
	all = ircmsg_params_join(m, 1);
	text = xasprintf("%s sets mode %s", m->nick ? m->nick : "The server", all);
	{
		char *clean = ircd_text_in(c, text);

		gw_room_message(c->in->net, c->user, ch->room, NULL, clean, NULL, 0);
		free(clean);
	}
	free(text);
	free(all);
}
