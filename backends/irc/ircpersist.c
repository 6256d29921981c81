/*
 * Per-channel settings and persistent channels.
 *
 * A channel's settings live in the store under the scope "#chan%server"
 * (whatever form of address the user joined with, fixed_server included):
 *
 *   persistent      "yes": the channel stays joined on IRC while none of
 *                   the user's resources is in it (the core keeps the
 *                   membership: driver.h, gw_room_open), and is joined
 *                   again when the gateway starts
 *   record_history  "yes"/"no": its messages are recorded; unset: the
 *                   user's own default (scope "", key record_history), else yes
 *   encoding        charset of its text that is not UTF-8; unset: the
 *                   server's fallback
 *   nick            the nick it is joined with at start-up
 *   key             (a secret) its key (+k): the MUC password it was
 *                   joined with, or the key an operator set since; kept
 *                   while the user is in the channel (or it is
 *                   persistent), so a rejoin after a restart has it
 *
 * They are read into struct ircd_chan when the channel is added, so the
 * core's questions (room_persistent, room_archived) cost no query.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ircdrv.h"

char *
ircd_chan_scope(const char *chan, const char *server)
{
	return xasprintf("%s%%%s", chan, server);
}

char *
ircd_chan_setting(struct gw_net *net, const char *user, const char *chan, const char *server,
                  const char *key)
{
	char *scope = ircd_chan_scope(chan, server);
	char *v = gw_setting_get(net, user, scope, key);

	free(scope);
	return v;
}

char *
ircd_chan_key_get(struct gw_net *net, const char *user, const char *chan, const char *server)
{
	char *scope = ircd_chan_scope(chan, server);
	char *v = gw_secret_get(net, user, scope, "key");

	free(scope);
	if (v != NULL && *v == '\0')
		xstrset(&v, NULL);
	return v;
}

void
ircd_chan_key_keep(struct ircd_conn *c, struct ircd_chan *ch, const char *key)
{
	char *scope = ircd_chan_scope(ch->name, c->server);

	if (key != ch->key)
		xstrset(&ch->key, key && *key ? key : NULL);
	if (gw_secret_set(c->in->net, c->user, scope, "key", ch->key) == -1)
		log_warnx(
		        "irc: %s: the key of %s could not be stored: a restart rejoins without it",
		        c->user, scope);
	free(scope);
}

bool
ircd_yes(const char *v, bool def)
{
	if (v == NULL || *v == '\0')
		return def;
	return strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0;
}

bool
ircd_archived_default(struct gw_net *net, const char *user)
{
	char *v = gw_setting_get(net, user, "", "record_history");
	bool r = ircd_yes(v, true);

	free(v);
	return r;
}

/* record_history of a channel: its own, else the user's default. */
static bool
chan_archived(struct gw_net *net, const char *user, const char *chan, const char *server)
{
	char *v = ircd_chan_setting(net, user, chan, server, "record_history");
	bool r = v && *v ? ircd_yes(v, true) : ircd_archived_default(net, user);

	free(v);
	return r;
}

void
ircd_chan_load(struct ircd_conn *c, struct ircd_chan *ch)
{
	struct gw_net *net = c->in->net;
	char *v = ircd_chan_setting(net, c->user, ch->name, c->server, "persistent");

	ch->persistent = ircd_yes(v, false);
	free(v);
	ch->archived = chan_archived(net, c->user, ch->name, c->server);
	free(ch->encoding);
	ch->encoding = ircd_chan_setting(net, c->user, ch->name, c->server, "encoding");
	if (ch->encoding && *ch->encoding == '\0')
		xstrset(&ch->encoding, NULL);
}

struct ircd_chan *
ircd_room_chan(struct gw_net *net, const char *user, const char *room, struct ircd_conn **cp)
{
	char *target, *server;
	struct ircd_conn *c = NULL;
	struct ircd_chan *ch = NULL;

	if (ircd_addr_split(net, room, &target, &server) == 0 && target != NULL &&
	    (c = ircd_conn_find(ircd_priv(net), user, server)) != NULL)
		ch = ircd_chan_find(c, target);
	free(target);
	free(server);
	if (cp)
		*cp = ch ? c : NULL;
	return ch;
}

bool
ircd_room_persistent(struct gw_net *net, const char *user, const char *room)
{
	struct ircd_chan *ch = ircd_room_chan(net, user, room, NULL);

	return ch != NULL && ch->persistent;
}

bool
ircd_room_archived(struct gw_net *net, const char *user, const char *room)
{
	struct ircd_chan *ch = ircd_room_chan(net, user, room, NULL);
	char *target, *server;
	bool r = true;

	if (ch != NULL)
		return ch->archived;
	/* Asked before the channel exists (the core creating the membership). */
	if (ircd_addr_split(net, room, &target, &server) == 0 && target != NULL)
		r = chan_archived(net, user, target, server);
	free(target);
	free(server);
	return r;
}

struct restore {
	struct gw_net *net;
	size_t n;
};

static void
restore_cb(const char *user, const char *scope, const char *value, void *arg)
{
	struct restore *rs = arg;
	const char *fixed = ircd_fixed_server(ircd_priv(rs->net));
	char *chan, *server, *nick, *room, *key;

	if (!ircd_yes(value, false) || ircd_addr_split(rs->net, scope, &chan, &server) == -1)
		return;
	if (chan != NULL && strchr(scope, '%') != NULL) {
		/* The address the user's client uses for it: fixed_server drops the server. */
		room = fixed && strcasecmp(server, fixed) == 0 ? xstrdup(chan) : xstrdup(scope);
		nick = gw_setting_get(rs->net, user, scope, "nick");
		key = gw_secret_get(rs->net, user, scope, "key");
		log_info("irc: %s: joining the persistent channel %s", user, scope);
		gw_room_open(rs->net, user, room, nick, key);
		rs->n++;
		free(nick);
		free(key);
		free(room);
	}
	free(chan);
	free(server);
}

void
ircd_persist_restore(struct gw_net *net)
{
	struct restore rs = {net, 0};

	gw_setting_find(net, "persistent", restore_cb, &rs);
	if (rs.n > 0)
		log_info("irc: %zu persistent channels to join", rs.n);
}
