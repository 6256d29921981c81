/*
 * What an occupant asks of a channel beyond talking, and the answers:
 *
 *   invitations     room_invite -> INVITE nick #chan; 341 and 443 (and a
 *                   401 for the nick just invited) are told in the room
 *   bans            affiliation outcast -> MODE +b nick!*@host (the host
 *                   when the server told it, else *) and KICK; none lifts
 *                   the bans of that nick or mask (-b)
 *   the ban list    muc#admin outcast list -> MODE #chan +b, 367/368 as
 *                   items whose addresses are the masks ("mask%server")
 *   affiliations    member +v, admin +o, owner +q where the server has it
 *   configuration   the muc#owner form: +m, -t, +i, +k, -s, +l read from
 *                   324 (MODE #chan) and set as MODE changes
 *
 * The channel keeps the bans it has seen (ban list, MODE +b/-b), so a kick
 * of the user that follows a ban of a mask matching them is a ban (301).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "ircdrv.h"

static void room_notice(struct ircd_conn *c, struct ircd_chan *ch, const char *fmt, ...)
        SG_PRINTF(3, 4);

/* A line from the room itself, in the room (IRC text rules applied). */
static void
room_notice(struct ircd_conn *c, struct ircd_chan *ch, const char *fmt, ...)
{
	va_list ap;
	char *raw, *text;

	va_start(ap, fmt);
	if (vasprintf(&raw, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	text = ircd_text_in(c, raw);
	gw_room_message(c->in->net, c->user, ch->room, NULL, text, NULL, 0);
	free(text);
	free(raw);
}

/*
 * The IRC nick or mask an address names on this connection's server
 * ("bob%irc.example.net" -> "bob"); NULL (with a room message) when it is
 * on another server. Caller frees.
 */
static char *
address_target(struct ircd_conn *c, struct ircd_chan *ch, const char *address)
{
	char *target = NULL, *server = NULL;

	if (ircd_addr_split(c->in->net, address, &target, &server) == -1 || target == NULL ||
	    strcasecmp(server, c->server) != 0) {
		room_notice(c, ch, "%s is not someone on %s.", address, c->server);
		free(target);
		target = NULL;
	}
	free(server);
	return target;
}

/* ---- invitations ---- */

void
ircd_room_invite(struct gw_net *net, const char *user, const char *room, const char *nick,
                 const char *address, const char *reason)
{
	struct ircd_chan *ch;
	struct ircd_conn *c = ircd_room_conn(net, user, room, &ch);
	char *target;

	(void)reason; /* IRC's INVITE carries none */
	if (c == NULL || c->state != IRCD_READY)
		return;
	target = nick ? xstrdup(nick) : address_target(c, ch, address);
	if (target == NULL)
		return;
	if (!ircd_name_ok(target) || strpbrk(target, "!@*?,") != NULL ||
	    ircmsg_isupport_is_channel(&c->isup, target)) {
		room_notice(c, ch, "%s is not an IRC nick.", target);
		free(target);
		return;
	}
	xstrset(&ch->inviting, target);
	ircd_sendf(c, false, "INVITE", target, ch->name, NULL);
	free(target);
}

bool
ircd_invite_failed(struct ircd_conn *c, const char *nick, const char *why)
{
	for (struct ircd_chan *ch = c->chans; ch; ch = ch->next)
		if (ch->inviting && ch->core_joined &&
		    ircmsg_casecmp(c->isup.casemap, ch->inviting, nick) == 0) {
			room_notice(c, ch, "Cannot invite %s: %s", nick, why);
			free(ch->inviting);
			ch->inviting = NULL;
			return true;
		}
	return false;
}

/* ---- bans ---- */

/* IRC wildcard match ('*', '?'), case-insensitive by casemap; one backtrack point, O(n*m). */
bool
ircd_mask_match(enum ircmsg_casemap casemap, const char *mask, const char *s)
{
	char *m = xstrdup(mask), *t = xstrdup(s);
	const char *p = m, *q = t, *star = NULL, *back = NULL;
	bool ok;

	ircmsg_casefold(casemap, m);
	ircmsg_casefold(casemap, t);
	while (*q) {
		if (*p == '*') {
			star = p++;
			back = q;
		} else if (*p == '?' || *p == *q) {
			p++;
			q++;
		} else if (star) {
			p = star + 1;
			q = ++back;
		} else
			break;
	}
	while (*p == '*')
		p++;
	ok = *q == '\0' && *p == '\0';
	free(m);
	free(t);
	return ok;
}

static void
ban_add(struct ircd_ban **v, size_t *n, const char *mask, const char *by)
{
	/* A server that lists bans without end: the first IRCD_BANS_MAX are kept. */
	if (*n >= IRCD_BANS_MAX)
		return;
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[*n].mask = xstrdup(mask);
	(*v)[*n].by = xstrdup_or_null(by);
	(*n)++;
}

static void
bans_clear(struct ircd_ban **v, size_t *n)
{
	for (size_t i = 0; i < *n; i++) {
		free((*v)[i].mask);
		free((*v)[i].by);
	}
	free(*v);
	*v = NULL;
	*n = 0;
}

void
ircd_ban_seen(struct ircd_conn *c, struct ircd_chan *ch, const char *mask, const char *by, bool on)
{
	if (!ircd_name_ok(mask))
		return;
	for (size_t i = 0; i < ch->nbans; i++)
		if (ircmsg_casecmp(c->isup.casemap, ch->bans[i].mask, mask) == 0) {
			if (on)
				return;
			free(ch->bans[i].mask);
			free(ch->bans[i].by);
			ch->bans[i] = ch->bans[--ch->nbans];
			return;
		}
	if (on)
		ban_add(&ch->bans, &ch->nbans, mask, by);
}

bool
ircd_banned_me(struct ircd_conn *c, struct ircd_chan *ch)
{
	char *me;
	bool hit = false;

	if (c->nick == NULL)
		return false;
	me = xasprintf("%s!%s@%s", c->nick, c->self_user ? c->self_user : "*",
	               c->self_host ? c->self_host : "*");
	for (size_t i = 0; i < ch->nbans && !hit; i++)
		hit = ircd_mask_match(c->isup.casemap, ch->bans[i].mask, me);
	free(me);
	return hit;
}

/*
 * Seconds a ban list may take: a server that never ends it with 368 (or
 * drops the request) must not leave the client's request waiting for ever.
 */
#define BANLIST_WAIT 20

static void
banreqs_fail(struct ircd_chan *ch, enum gw_error e, const char *why)
{
	for (size_t i = 0; i < ch->nbanreqs; i++)
		gw_items_done(ch->banreqs[i], e, why);
	free(ch->banreqs);
	ch->banreqs = NULL;
	ch->nbanreqs = 0;
	if (ch->banlist_timer)
		evtimer_del(ch->banlist_timer);
}

static void
banlist_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ircd_chan *ch = arg;

	(void)fd;
	(void)what;
	log_info("irc: %s: the server did not end its ban list (368) within %d s", ch->name,
	         BANLIST_WAIT);
	bans_clear(&ch->newbans, &ch->nnewbans);
	ch->banlist_sent = false;
	banreqs_fail(ch, GW_ERR_REMOTE_SERVER_TIMEOUT,
	             "The IRC server did not finish sending the ban list.");
}

void
ircd_bans_free(struct ircd_chan *ch, const char *why)
{
	for (size_t i = 0; i < ch->ncfgreqs; i++)
		gw_room_config_done(ch->cfgreqs[i], NULL, GW_ERR_ITEM_NOT_FOUND, why);
	free(ch->cfgreqs);
	ch->cfgreqs = NULL;
	ch->ncfgreqs = 0;
	banreqs_fail(ch, GW_ERR_ITEM_NOT_FOUND, why);
	if (ch->banlist_timer)
		event_free(ch->banlist_timer);
	ch->banlist_timer = NULL;
	bans_clear(&ch->bans, &ch->nbans);
	bans_clear(&ch->newbans, &ch->nnewbans);
	free(ch->inviting);
	ch->inviting = NULL;
}

/* The mask that bans nick: nick!*@host when the host is known, else nick!*@*. Caller frees. */
static char *
ban_mask(struct ircd_conn *c, struct ircd_chan *ch, const char *nick)
{
	struct ircd_member *mem = ircd_member_find(c, ch, nick);
	const char *at = mem && mem->userhost ? strchr(mem->userhost, '@') : NULL;

	return xasprintf("%s!*@%s", nick, at && at[1] ? at + 1 : "*");
}

/* Lifts the bans known for a nick (or the ban of a mask); none known: the mask it would get. */
static void
unban(struct ircd_conn *c, struct ircd_chan *ch, const char *nick, const char *mask)
{
	char *pattern = nick ? xasprintf("%s!*", nick) : NULL;
	bool sent = false;

	for (size_t i = 0; nick && i < ch->nbans; i++)
		if (ircd_mask_match(c->isup.casemap, pattern, ch->bans[i].mask)) {
			ircd_sendf(c, false, "MODE", ch->name, "-b", ch->bans[i].mask, NULL);
			sent = true;
		}
	if (!sent) {
		char *m = mask ? xstrdup(mask) : ban_mask(c, ch, nick);

		ircd_sendf(c, false, "MODE", ch->name, "-b", m, NULL);
		free(m);
	}
	free(pattern);
}

void
ircd_room_set_affiliation(struct gw_net *net, const char *user, const char *room, const char *nick,
                          const char *address, enum gw_affiliation aff, const char *reason)
{
	struct ircd_chan *ch;
	struct ircd_conn *c = ircd_room_conn(net, user, room, &ch);
	char *target, *mask = NULL;
	const char *who;
	char mode[3] = {'+', 'v', '\0'};

	if (c == NULL || c->state != IRCD_READY)
		return;
	target = nick ? xstrdup(nick) : address_target(c, ch, address);
	if (target == NULL)
		return;
	/* A target with '!' or '@' is a mask (from the ban list); otherwise a nick. */
	if (strpbrk(target, "!@") != NULL) {
		mask = target;
		target = NULL;
	} else if (!ircd_name_ok(target) || ircmsg_isupport_is_channel(&c->isup, target)) {
		room_notice(c, ch, "%s is not an IRC nick.", target);
		free(target);
		return;
	}
	who = target ? target : mask;
	switch (aff) {
	case GW_AFF_OUTCAST: {
		char *m = mask ? xstrdup(mask) : ban_mask(c, ch, target);

		ircd_sendf(c, false, "MODE", ch->name, "+b", m, NULL);
		if (target && ircd_member_find(c, ch, target) != NULL)
			ircd_sendf(c, false, "KICK", ch->name, target,
			           reason && *reason ? reason : "Banned", NULL);
		free(m);
		break;
	}
	case GW_AFF_NONE:
		if (mask != NULL || ircd_member_find(c, ch, target) == NULL)
			unban(c, ch, target, mask);
		else
			ircd_sendf(c, false, "MODE", ch->name, "-ov", target, target, NULL);
		break;
	case GW_AFF_OWNER:
	case GW_AFF_ADMIN:
	case GW_AFF_MEMBER:
		if (target == NULL) {
			room_notice(c, ch, "Only a nick can be a member, admin or owner, not %s.",
			            who);
			break;
		}
		mode[1] = aff == GW_AFF_MEMBER ? 'v' : 'o';
		if (aff == GW_AFF_OWNER && strchr(c->isup.prefix_modes, 'q'))
			mode[1] = 'q';
		ircd_sendf(c, false, "MODE", ch->name, mode, target, NULL);
		break;
	}
	free(target);
	free(mask);
}

/* ---- lists ---- */

/* The address of a ban mask on this server. Caller frees. */
static char *
mask_address(struct ircd_conn *c, const char *mask)
{
	return ircd_fixed_server(c->in) ? xstrdup(mask) : xasprintf("%s%%%s", mask, c->server);
}

static bool
has_affiliation(const struct ircd_member *m, enum gw_affiliation aff)
{
	switch (m->modes[0]) {
	case 'q':
		return aff == GW_AFF_OWNER;
	case 'a':
	case 'o':
		return aff == GW_AFF_ADMIN;
	case 'h':
	case 'v':
		return aff == GW_AFF_MEMBER;
	default:
		return false;
	}
}

void
ircd_room_list_affiliation(struct gw_net *net, const char *user, const char *room,
                           enum gw_affiliation aff, struct gw_items *it)
{
	struct ircd_chan *ch;
	struct ircd_conn *c = ircd_room_conn(net, user, room, &ch);

	if (c == NULL || c->state != IRCD_READY || !ch->joined) {
		gw_items_done(it, GW_ERR_NOT_ACCEPTABLE, "You are not in this channel.");
		return;
	}
	if (aff != GW_AFF_OUTCAST) {
		/* Members, admins, owners: who holds the matching prefix mode now. */
		for (size_t i = 0; i < ch->nm; i++)
			if (has_affiliation(&ch->m[i], aff)) {
				char *a = ircd_nick_address(c, ch->m[i].nick);

				gw_items_add_affiliation(it, a, aff, ch->m[i].nick, NULL);
				free(a);
			}
		gw_items_done(it, GW_ERR_NONE, NULL);
		return;
	}
	ch->banreqs = xreallocarray(ch->banreqs, ch->nbanreqs + 1, sizeof(*ch->banreqs));
	ch->banreqs[ch->nbanreqs++] = it;
	if (!ch->banlist_sent) {
		static const struct timeval wait = {BANLIST_WAIT, 0};

		ch->banlist_sent = true;
		ircd_sendf(c, false, "MODE", ch->name, "+b", NULL);
		if (ch->banlist_timer == NULL)
			ch->banlist_timer = evtimer_new(gw_event_base(), banlist_timeout_cb, ch);
		evtimer_add(ch->banlist_timer, &wait);
	}
}

/* 368: the list is complete; every waiting request gets it. */
static void
banlist_end(struct ircd_conn *c, struct ircd_chan *ch)
{
	bans_clear(&ch->bans, &ch->nbans);
	ch->bans = ch->newbans;
	ch->nbans = ch->nnewbans;
	ch->newbans = NULL;
	ch->nnewbans = 0;
	ch->banlist_sent = false;
	if (ch->banlist_timer)
		evtimer_del(ch->banlist_timer);
	for (size_t r = 0; r < ch->nbanreqs; r++) {
		for (size_t i = 0; i < ch->nbans; i++) {
			char *a = mask_address(c, ch->bans[i].mask);
			char *why = ch->bans[i].by ? xasprintf("set by %s", ch->bans[i].by) : NULL;

			gw_items_add_affiliation(ch->banreqs[r], a, GW_AFF_OUTCAST, NULL, why);
			free(why);
			free(a);
		}
		gw_items_done(ch->banreqs[r], GW_ERR_NONE, NULL);
	}
	free(ch->banreqs);
	ch->banreqs = NULL;
	ch->nbanreqs = 0;
}

/* ---- configuration (muc#owner) ---- */

#define CFG(v) "muc#roomconfig_" v

const struct gw_field ircd_room_config[] = {
        {"FORM_TYPE", GW_FIELD_HIDDEN, NULL, NULL, 0, NULL,
         "http://jabber.org/protocol/muc#roomconfig"},
        {CFG("moderatedroom"), GW_FIELD_BOOL, "Moderated (+m)",
         "Only voiced people and operators may speak.", 0, NULL, NULL},
        {CFG("changesubject"), GW_FIELD_BOOL, "Anyone may change the topic (-t)", NULL, 0, NULL,
         NULL},
        {CFG("membersonly"), GW_FIELD_BOOL, "Invite only (+i)", NULL, 0, NULL, NULL},
        {CFG("passwordprotectedroom"), GW_FIELD_BOOL, "Key needed to join (+k)", NULL, 0, NULL,
         NULL},
        {CFG("roomsecret"), GW_FIELD_PRIVATE, "Key", "The channel key (MUC password).", 0, NULL,
         NULL},
        {CFG("publicroom"), GW_FIELD_BOOL, "Listed (not +s)", "Shown in the server's channel list.",
         0, NULL, NULL},
        {CFG("maxusers"), GW_FIELD_TEXT, "Member limit (+l)", "A number; empty: no limit.", 0, NULL,
         NULL},
        GW_FIELDS_END,
};

static const char *
yes(bool b)
{
	return b ? "1" : "0";
}

/* 324: me #chan +modes [args]: the form's values, for every request waiting. */
static void
config_answer(struct ircd_conn *c, struct ircd_chan *ch, const struct ircmsg *m)
{
	struct gw_values *v = gw_values_new();
	const char *modes = m->params[2];
	const char *key = NULL, *limit = NULL;
	size_t arg = 3;

	for (const char *p = modes; *p; p++) {
		char type = ircmsg_isupport_mode_type(&c->isup, *p);
		const char *a = NULL;

		if (*p == '+')
			continue;
		if (type == 'B' || type == 'C')
			a = arg < m->nparams ? m->params[arg++] : NULL;
		if (*p == 'k')
			key = a ? a : "";
		else if (*p == 'l')
			limit = a ? a : "";
	}
	gw_values_add(v, CFG("moderatedroom"), yes(strchr(modes, 'm') != NULL));
	gw_values_add(v, CFG("changesubject"), yes(strchr(modes, 't') == NULL));
	gw_values_add(v, CFG("membersonly"), yes(strchr(modes, 'i') != NULL));
	gw_values_add(v, CFG("passwordprotectedroom"), yes(key != NULL));
	if (key && *key && strcmp(key, "*") != 0) {
		char *k = ircd_text_in(c, key);

		gw_values_add(v, CFG("roomsecret"), k);
		free(k);
	}
	gw_values_add(v, CFG("publicroom"), yes(strchr(modes, 's') == NULL && !strchr(modes, 'p')));
	if (limit && strspn(limit, "0123456789") == strlen(limit))
		gw_values_add(v, CFG("maxusers"), limit);
	for (size_t i = 0; i < ch->ncfgreqs; i++)
		gw_room_config_done(ch->cfgreqs[i], v, GW_ERR_NONE, NULL);
	free(ch->cfgreqs);
	ch->cfgreqs = NULL;
	ch->ncfgreqs = 0;
	gw_values_free(v);
}

void
ircd_room_config_get(struct gw_net *net, const char *user, const char *room, struct gw_reply *rp)
{
	struct ircd_chan *ch;
	struct ircd_conn *c = ircd_room_conn(net, user, room, &ch);

	if (c == NULL || c->state != IRCD_READY || !ch->joined) {
		gw_room_config_done(rp, NULL, GW_ERR_NOT_ACCEPTABLE,
		                    "You are not in this channel.");
		return;
	}
	ch->cfgreqs = xreallocarray(ch->cfgreqs, ch->ncfgreqs + 1, sizeof(*ch->cfgreqs));
	ch->cfgreqs[ch->ncfgreqs++] = rp;
	if (ch->ncfgreqs == 1)
		ircd_sendf(c, false, "MODE", ch->name, NULL);
}

/* One MODE change when var was submitted; on is the value that sets the mode. */
static void
config_flag(struct ircd_conn *c, struct ircd_chan *ch, const struct gw_values *v, const char *var,
            char mode, bool set_when_true)
{
	const char *val = gw_values_get(v, var);
	char change[3] = {'+', mode, '\0'};

	if (val == NULL)
		return;
	if ((strcmp(val, "1") == 0) != set_when_true)
		change[0] = '-';
	ircd_sendf(c, false, "MODE", ch->name, change, NULL);
}

enum gw_error
ircd_room_config_set(struct gw_net *net, const char *user, const char *room,
                     const struct gw_values *v, char **why)
{
	struct ircd_chan *ch;
	struct ircd_conn *c = ircd_room_conn(net, user, room, &ch);
	const char *limit = gw_values_get(v, CFG("maxusers"));
	const char *key = gw_values_get(v, CFG("roomsecret"));
	const char *keyed = gw_values_get(v, CFG("passwordprotectedroom"));

	if (c == NULL || c->state != IRCD_READY || !ch->joined) {
		*why = xstrdup("You are not in this channel.");
		return GW_ERR_NOT_ACCEPTABLE;
	}
	if (limit && *limit && strcmp(limit, "none") != 0 &&
	    (strspn(limit, "0123456789") != strlen(limit) || strlen(limit) > 6)) {
		*why = xstrdup("The member limit is a number (or empty for none).");
		return GW_ERR_BAD_REQUEST;
	}
	if (keyed && strcmp(keyed, "1") == 0 && (key == NULL || *key == '\0') && ch->key == NULL) {
		*why = xstrdup("A key is needed to protect the channel with one.");
		return GW_ERR_BAD_REQUEST;
	}
	if (key && strpbrk(key, " ,") != NULL) {
		*why = xstrdup("A channel key has no spaces or commas.");
		return GW_ERR_BAD_REQUEST;
	}
	/* The server's answers come back as MODE lines in the room (or 482 if we are no operator).
	 */
	config_flag(c, ch, v, CFG("moderatedroom"), 'm', true);
	config_flag(c, ch, v, CFG("changesubject"), 't', false);
	config_flag(c, ch, v, CFG("membersonly"), 'i', true);
	config_flag(c, ch, v, CFG("publicroom"), 's', false);
	if (keyed && strcmp(keyed, "0") == 0)
		ircd_sendf(c, false, "MODE", ch->name, "-k", ch->key ? ch->key : "*", NULL);
	else if (key && *key)
		ircd_sendf(c, false, "MODE", ch->name, "+k", key, NULL);
	if (limit && (*limit == '\0' || strcmp(limit, "none") == 0 || strcmp(limit, "0") == 0))
		ircd_sendf(c, false, "MODE", ch->name, "-l", NULL);
	else if (limit)
		ircd_sendf(c, false, "MODE", ch->name, "+l", limit, NULL);
	return GW_ERR_NONE;
}

bool
ircd_admin_numeric(struct ircd_conn *c, const struct ircmsg *m)
{
	struct ircd_chan *ch;

	switch (m->numeric) {
	case 341: /* me nick #chan */
		if (m->nparams >= 3 && (ch = ircd_chan_find(c, m->params[2])) != NULL &&
		    ch->core_joined) {
			room_notice(c, ch, "%s has been invited to %s.", m->params[1], ch->name);
			free(ch->inviting);
			ch->inviting = NULL;
			return true;
		}
		return false;
	case 443: /* me nick #chan :is already on channel */
		if (m->nparams >= 4 && (ch = ircd_chan_find(c, m->params[2])) != NULL &&
		    ch->core_joined) {
			room_notice(c, ch, "Cannot invite %s: %s", m->params[1], m->params[3]);
			free(ch->inviting);
			ch->inviting = NULL;
			return true;
		}
		return false;
	case 352: /* me #chan user host server nick flags :hops realname */
		if (m->nparams >= 6 && (ch = ircd_chan_find(c, m->params[1])) != NULL) {
			struct ircd_member *mem = ircd_member_find(c, ch, m->params[5]);

			if (mem) {
				free(mem->userhost);
				mem->userhost = xasprintf("%s@%s", m->params[2], m->params[3]);
			}
		}
		return true;
	case 324: /* me #chan +modes [args] */
		if (m->nparams >= 3 && (ch = ircd_chan_find(c, m->params[1])) != NULL) {
			ch->modes[0] = '\0';
			for (const char *p = m->params[2]; *p; p++)
				ircd_chan_set_mode(ch, *p, true);
			ch->modes_known = true;
			ircd_chan_modes_known(ch);
			if (ch->ncfgreqs > 0)
				config_answer(c, ch, m);
			return true;
		}
		return false;
	case 367: /* me #chan mask [by [when]] */
		if (m->nparams >= 3 && (ch = ircd_chan_find(c, m->params[1])) != NULL &&
		    ch->banlist_sent) {
			/* A mask becomes a JID's localpart: one that could not is left out. */
			if (ircd_name_ok(m->params[2]))
				ban_add(&ch->newbans, &ch->nnewbans, m->params[2],
				        m->nparams >= 4 ? m->params[3] : NULL);
			return true;
		}
		return false;
	case 368:
		if (m->nparams >= 2 && (ch = ircd_chan_find(c, m->params[1])) != NULL &&
		    ch->banlist_sent) {
			banlist_end(c, ch);
			return true;
		}
		return false;
	default:
		return false;
	}
}
