/*
 * Ad-hoc commands. configure: on the gateway the user's defaults, on a
 * channel's address that channel's settings (ircpersist.c), on a server's
 * (or a person's) address the settings for that server. disconnect, info
 * and certificate (the client certificate for SASL EXTERNAL) on an
 * address; the admins' disconnect-user on the gateway.
 */
#include "config.h"

#include <ctype.h>
#include <iconv.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ircdrv.h"

/* ---- commands ---- */

/* The passwords configure keeps sealed, which "forget" removes. */
static const char *const secret_vars[] = {"sasl_password", "nickserv_password", "server_password",
                                          NULL};

static const struct gw_field configure_fields[] = {
        {"nick", GW_FIELD_TEXT, "Nickname", "Your nickname on this server.", 0, NULL, NULL},
        {"username", GW_FIELD_TEXT, "Username", "The user name (ident) part of your address.", 0,
         NULL, NULL},
        {"realname", GW_FIELD_TEXT, "Real name", "Shown by WHOIS.", 0, NULL, NULL},
        {"sasl_password", GW_FIELD_PRIVATE, "SASL password",
         "Logs you in to your services account (SASL PLAIN) when the server offers it.",
         GW_FIELD_SECRET, NULL, NULL},
        {"sasl_account", GW_FIELD_TEXT, "SASL account",
         "Account name for SASL (default: the nick).", 0, NULL, NULL},
        {"nickserv_password", GW_FIELD_PRIVATE, "NickServ password",
         "Sent to NickServ (IDENTIFY) after connecting when SASL did not log you in.",
         GW_FIELD_SECRET, NULL, NULL},
        {"server_password", GW_FIELD_PRIVATE, "Server password", "Sent with PASS, if set.",
         GW_FIELD_SECRET, NULL, NULL},
        {"tls_ports", GW_FIELD_TEXT, "TLS ports", "Tried first, separated by spaces.", 0, NULL,
         NULL},
        {"ports", GW_FIELD_TEXT, "Plain ports", "Tried after the TLS ports; empty: never.", 0, NULL,
         NULL},
        {"verify_cert", GW_FIELD_BOOL, "Verify the certificate",
         "Refuse a TLS connection whose certificate is not trusted.", 0, NULL, NULL},
        {"tls_fingerprint", GW_FIELD_TEXT, "Pinned certificate fingerprint",
         "SHA-256 of the server's certificate (hex, colons optional): trusted even when "
         "self-signed; any other certificate is refused. Empty: none.",
         0, NULL, NULL},
        {"after_connect", GW_FIELD_TEXT_MULTI, "After-connect commands",
         "Raw IRC lines sent once connected, one per line.", 0, NULL, NULL},
        {"fallback_encoding", GW_FIELD_TEXT, "Encoding",
         "Charset of this server's text that is not UTF-8 (e.g. CP1252, KOI8-R); a channel may "
         "have its own.",
         0, NULL, NULL},
        {"throttle_burst", GW_FIELD_TEXT, "Throttle: lines at once",
         "Lines sent at once before the throttle applies (0: no line limit).", 0, NULL, NULL},
        {"throttle_interval_ms", GW_FIELD_TEXT, "Throttle: milliseconds per line",
         "After the burst, one line per this many milliseconds.", 0, NULL, NULL},
        {"throttle_byte_burst", GW_FIELD_TEXT, "Throttle: bytes at once",
         "Bytes sent at once before the byte throttle applies (0: no byte limit).", 0, NULL, NULL},
        {"throttle_byte_rate", GW_FIELD_TEXT, "Throttle: bytes per second",
         "After the byte burst, this many bytes per second.", 0, NULL, NULL},
        {"forget", GW_FIELD_LIST_MULTI, "Forget stored passwords",
         "The passwords checked here are removed from the gateway (an empty password field "
         "keeps the stored one).",
         0, secret_vars, NULL},
        GW_FIELDS_END,
};

/* Removes the passwords the user checked in "forget"; how many. -1: the store failed. */
static int
forget_secrets(struct gw_net *net, const char *user, const char *server, const struct gw_values *in)
{
	size_t n;
	const char *const *v = gw_values_getv(in, "forget", &n);

	for (size_t i = 0; i < n; i++)
		if (gw_secret_set(net, user, server, v[i], NULL) == -1)
			return -1;
	return (int)n;
}

static bool
ports_ok(const char *s)
{
	char *copy = xstrdup(s), *save = NULL;
	bool ok = true;

	for (char *w = strtok_r(copy, " ,\t", &save); w && ok; w = strtok_r(NULL, " ,\t", &save)) {
		char *end;
		long p = strtol(w, &end, 10);

		ok = *end == '\0' && p >= 1 && p <= 65535;
	}
	free(copy);
	return ok;
}

static bool
charset_ok(const char *name)
{
	iconv_t cd = iconv_open("UTF-8", name);

	if (cd == (iconv_t)-1)
		return false;
	iconv_close(cd);
	return true;
}

static enum gw_cmd_status configure_user(struct gw_cmd *, int, const struct gw_values *);
static enum gw_cmd_status configure_chan(struct gw_cmd *, int, const struct gw_values *,
                                         const char *chan, const char *server);

/* What applies when the user sets nothing: the admin's pin for this server, else [irc]'s. */
static char *
server_default(struct gw_net *net, const char *server, const char *key)
{
	const char *admin;
	char fp[65];

	if (strcmp(key, "tls_fingerprint") == 0 &&
	    (admin = ircd_server_conf(net, server, key)) != NULL &&
	    ircd_fingerprint_parse(admin, fp) == 0)
		return xstrdup(fp);
	return ircd_conf_value(net, key);
}

/* The throttle fields and their largest values (as the [irc] options allow). */
static const struct {
	const char *var;
	unsigned long max;
} throttle_max[] = {
        {"throttle_burst", 1000},
        {"throttle_interval_ms", 60000},
        {"throttle_byte_burst", 1000000},
        {"throttle_byte_rate", 1000000},
};

static bool
uint_ok(const char *s, unsigned long max)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	return errno == 0 && *end == '\0' && v <= max;
}

/* Checks every submitted value before anything is saved; false: a note says what is wrong. */
static bool
form_ok(struct gw_cmd *cmd, const struct gw_values *in)
{
	const char *v;
	char fp[65];

	if ((v = gw_values_get(in, "tls_fingerprint")) != NULL && *v != '\0' &&
	    ircd_fingerprint_parse(v, fp) == -1) {
		gw_cmd_note(cmd, GW_NOTE_ERROR,
		            "The certificate fingerprint is a SHA-256: 64 hex digits, colons "
		            "optional. Nothing was saved.");
		return false;
	}
	if ((v = gw_values_get(in, "fallback_encoding")) != NULL && *v && !charset_ok(v)) {
		gw_cmd_note(cmd, GW_NOTE_ERROR, "Unknown encoding: %s (try CP1252 or KOI8-R).", v);
		return false;
	}
	for (size_t i = 0; i < sizeof(throttle_max) / sizeof(throttle_max[0]); i++)
		if ((v = gw_values_get(in, throttle_max[i].var)) != NULL && *v != '\0' &&
		    !uint_ok(v, throttle_max[i].max)) {
			gw_cmd_note(cmd, GW_NOTE_ERROR,
			            "%s is a whole number from 0 to %lu. Nothing was saved.",
			            throttle_max[i].var, throttle_max[i].max);
			return false;
		}
	if (((v = gw_values_get(in, "ports")) != NULL && !ports_ok(v)) ||
	    ((v = gw_values_get(in, "tls_ports")) != NULL && !ports_ok(v))) {
		gw_cmd_note(cmd, GW_NOTE_ERROR,
		            "Ports are numbers from 1 to 65535. Nothing was saved.");
		return false;
	}
	return true;
}

static enum gw_cmd_status
configure(struct gw_cmd *cmd, int stage, const struct gw_values *in)
{
	struct gw_net *net = gw_cmd_net(cmd);
	const char *user = gw_cmd_user(cmd), *target = gw_cmd_target(cmd);
	char *t = NULL, *server = NULL;
	enum gw_cmd_status r = GW_CMD_DONE;
	bool given = false;

	if (target == NULL)
		return configure_user(cmd, stage, in);
	if (ircd_addr_split(net, target, &t, &server) == -1) {
		gw_cmd_note(cmd, GW_NOTE_ERROR, "Run this command on an IRC server's address.");
		return GW_CMD_ERROR;
	}
	if (t && strchr("#&+!", *t)) {
		r = configure_chan(cmd, stage, in, t, server);
		goto out;
	}
	for (const struct gw_field *f = configure_fields; f->var && in; f++)
		given |= gw_values_has(in, f->var);
	if (stage == 0 && !given) {
		struct gw_values *cur = gw_values_new();
		char *title = xasprintf("Settings for %s", server);
		struct gw_form form = {title,
		                       "Changes apply at the next connection to this server.",
		                       configure_fields, cur};

		for (const struct gw_field *f = configure_fields; f->var; f++) {
			char *v;

			if (f->flags & GW_FIELD_SECRET)
				continue;
			v = ircd_setting_for(net, user, server, f->var);
			if (v && strcmp(f->var, "verify_cert") == 0)
				xstrset(&v, strcasecmp(v, "no") == 0 ? "0" : "1");
			if (v && strcmp(f->var, "after_connect") == 0) {
				char *save = NULL;

				for (char *l = strtok_r(v, "\n", &save); l;
				     l = strtok_r(NULL, "\n", &save))
					gw_values_add(cur, f->var, l);
			} else
				gw_values_add(cur, f->var, v ? v : "");
			free(v);
		}
		gw_cmd_form(cmd, &form);
		gw_values_free(cur);
		free(title);
		r = GW_CMD_NEXT;
		goto out;
	}
	if (!form_ok(cmd, in)) {
		r = GW_CMD_ERROR;
		goto out;
	}
	for (const struct gw_field *f = configure_fields; f->var; f++) {
		const char *v = gw_values_get(in, f->var);
		char *value = NULL, *def;
		int rc = 0;

		if (!gw_values_has(in, f->var) || strcmp(f->var, "forget") == 0)
			continue;
		if (f->flags & GW_FIELD_SECRET) {
			if (v && *v)
				rc = gw_secret_set(net, user, server, f->var, v);
		} else {
			if (strcmp(f->var, "after_connect") == 0) {
				size_t n, len = 1;
				const char *const *vv = gw_values_getv(in, f->var, &n);

				for (size_t i = 0; i < n; i++)
					len += strlen(vv[i]) + 1;
				value = xcalloc(1, len);
				for (size_t i = 0; i < n; i++) {
					if (i)
						strcat(value, "\n");
					strcat(value, vv[i]);
				}
			} else if (strcmp(f->var, "verify_cert") == 0)
				value = xstrdup(
				        v && (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0)
				                ? "yes"
				                : "no");
			else
				value = xstrdup(v ? v : "");
			if (strcmp(f->var, "tls_fingerprint") == 0 && *value != '\0') {
				char fp[65];

				/* One spelling: lower-case, no colons. */
				if (ircd_fingerprint_parse(value, fp) == 0)
					xstrset(&value, fp);
			}

			/* A value equal to the gateway's default is not kept: config changes apply.
			 */
			def = server_default(net, server, f->var);
			if ((def && strcmp(def, value) == 0) || (def == NULL && *value == '\0'))
				rc = gw_setting_set(net, user, server, f->var, NULL);
			else
				rc = gw_setting_set(net, user, server, f->var, value);
			free(def);
			free(value);
		}
		if (rc == -1) {
			gw_cmd_note(cmd, GW_NOTE_ERROR, "The settings could not be saved.");
			r = GW_CMD_ERROR;
			goto out;
		}
	}
	switch (forget_secrets(net, user, server, in)) {
	case -1:
		gw_cmd_note(cmd, GW_NOTE_ERROR, "The settings could not be saved.");
		r = GW_CMD_ERROR;
		goto out;
	case 0:
		break;
	default:
		gw_cmd_note(cmd, GW_NOTE_INFO, "The checked passwords are forgotten.");
	}
	gw_cmd_note(cmd, GW_NOTE_INFO, "Saved; they apply at the next connection to %s.", server);
out:
	free(t);
	free(server);
	return r;
}

/* ---- the user's defaults and a channel's settings ---- */

static const struct gw_field user_fields[] = {
        {"nick", GW_FIELD_TEXT, "Default nickname",
         "Used on IRC servers where you set no nickname of your own, unless a room join asks "
         "for another.",
         0, NULL, NULL},
        {"history_join", GW_FIELD_TEXT, "History on join",
         "How many messages of a channel's history are sent when you join it (0 to 1000), when "
         "your client does not say.",
         0, NULL, NULL},
        {"record_history", GW_FIELD_BOOL, "Record history",
         "Record the messages of your channels (each channel may say otherwise).", 0, NULL, NULL},
        GW_FIELDS_END,
};

static const struct gw_field chan_fields[] = {
        {"persistent", GW_FIELD_BOOL, "Persistent",
         "Stay in this channel while none of your clients is in it (what is said is recorded "
         "for you), and join it again when the gateway restarts.",
         0, NULL, NULL},
        {"record_history", GW_FIELD_BOOL, "Record history",
         "Record this channel's messages for the history sent on join and archive searches.", 0,
         NULL, NULL},
        {"encoding", GW_FIELD_TEXT, "Encoding",
         "Charset of this channel's text that is not UTF-8 (e.g. ISO-8859-1, CP1251); empty: "
         "the server's fallback.",
         0, NULL, NULL},
        GW_FIELDS_END,
};

/* Whether any field of the form was given (a text command's name=value). */
static bool
any_given(const struct gw_field *fields, const struct gw_values *in)
{
	bool given = false;

	for (const struct gw_field *f = fields; f->var && in; f++)
		given |= gw_values_has(in, f->var);
	return given;
}

/*
 * Stores the given fields of a form in scope; a value equal to its default
 * (defs, by field) is deleted so that a later change of the default applies.
 * Bools are kept as yes/no. 0, or -1 with a note.
 */
static int
store_fields(struct gw_cmd *cmd, const struct gw_field *fields, const char *const *defs,
             const struct gw_values *in, const char *scope)
{
	struct gw_net *net = gw_cmd_net(cmd);

	for (size_t i = 0; fields[i].var; i++) {
		const struct gw_field *f = &fields[i];
		const char *v = gw_values_get(in, f->var);
		char *value;
		int rc;

		if (!gw_values_has(in, f->var))
			continue;
		if (f->type == GW_FIELD_BOOL)
			value = xstrdup(ircd_yes(v, false) ? "yes" : "no");
		else
			value = xstrdup(v ? v : "");
		if ((defs[i] && strcmp(defs[i], value) == 0) || *value == '\0')
			rc = gw_setting_set(net, gw_cmd_user(cmd), scope, f->var, NULL);
		else
			rc = gw_setting_set(net, gw_cmd_user(cmd), scope, f->var, value);
		free(value);
		if (rc == -1) {
			gw_cmd_note(cmd, GW_NOTE_ERROR, "The settings could not be saved.");
			return -1;
		}
	}
	return 0;
}

/* Shows a form pre-filled from scope, defs where nothing is stored. */
static void
show_fields(struct gw_cmd *cmd, const char *title, const char *instructions,
            const struct gw_field *fields, const char *const *defs, const char *scope)
{
	struct gw_values *cur = gw_values_new();
	struct gw_form form = {title, instructions, fields, cur};

	for (size_t i = 0; fields[i].var; i++) {
		char *v = gw_setting_get(gw_cmd_net(cmd), gw_cmd_user(cmd), scope, fields[i].var);
		const char *shown = v ? v : defs[i] ? defs[i] : "";

		if (fields[i].type == GW_FIELD_BOOL)
			shown = ircd_yes(shown, false) ? "1" : "0";
		gw_values_add(cur, fields[i].var, shown);
		free(v);
	}
	gw_cmd_form(cmd, &form);
	gw_values_free(cur);
}

static enum gw_cmd_status
configure_user(struct gw_cmd *cmd, int stage, const struct gw_values *in)
{
	struct gw_net *net = gw_cmd_net(cmd);
	char *join = xasprintf("%ld", gw_conf_int(gw_net_section(net), "history_join"));
	const char *defs[] = {NULL, join, "yes"};
	const char *hj;
	enum gw_cmd_status r = GW_CMD_DONE;

	if (stage == 0 && !any_given(user_fields, in)) {
		show_fields(cmd, "Your IRC settings",
		            "Defaults for every IRC server and channel; each may say otherwise.",
		            user_fields, defs, "");
		r = GW_CMD_NEXT;
		goto out;
	}
	if ((hj = gw_values_get(in, "history_join")) != NULL && *hj) {
		char *end;
		long n = strtol(hj, &end, 10);

		if (*end != '\0' || n < 0 || n > 1000) {
			gw_cmd_note(cmd, GW_NOTE_ERROR,
			            "History on join is a number of messages from 0 to 1000.");
			r = GW_CMD_ERROR;
			goto out;
		}
	}
	if (store_fields(cmd, user_fields, defs, in, "") == -1) {
		r = GW_CMD_ERROR;
		goto out;
	}
	gw_cmd_note(cmd, GW_NOTE_INFO, "Saved.");
out:
	free(join);
	return r;
}

static enum gw_cmd_status
configure_chan(struct gw_cmd *cmd, int stage, const struct gw_values *in, const char *chan,
               const char *server)
{
	struct gw_net *net = gw_cmd_net(cmd);
	const char *user = gw_cmd_user(cmd), *enc = gw_values_get(in, "encoding");
	const char *defs[] = {"no", ircd_archived_default(net, user) ? "yes" : "no", NULL};
	char *scope = ircd_chan_scope(chan, server), *title;
	struct ircd_conn *c = ircd_conn_find(ircd_priv(net), user, server);
	struct ircd_chan *ch = c ? ircd_chan_find(c, chan) : NULL;
	bool was_persistent;
	enum gw_cmd_status r = GW_CMD_DONE;

	if (stage == 0 && !any_given(chan_fields, in)) {
		title = xasprintf("Settings for %s on %s", chan, server);
		show_fields(cmd, title, NULL, chan_fields, defs, scope);
		free(title);
		r = GW_CMD_NEXT;
		goto out;
	}
	if (enc && *enc && !charset_ok(enc)) {
		gw_cmd_note(cmd, GW_NOTE_ERROR, "Unknown encoding: %s (try ISO-8859-1 or CP1251).",
		            enc);
		r = GW_CMD_ERROR;
		goto out;
	}
	{
		char *v = gw_setting_get(net, user, scope, "persistent");

		was_persistent = ircd_yes(v, false);
		free(v);
	}
	if (store_fields(cmd, chan_fields, defs, in, scope) == -1) {
		r = GW_CMD_ERROR;
		goto out;
	}
	if (ch != NULL) {
		ircd_chan_load(c, ch);
		/*
		 * What the join at start-up needs; the nick is forgotten when no
		 * longer persistent, the key stays while the user is in it.
		 */
		gw_setting_set(net, user, scope, "nick", ch->persistent ? c->nick : NULL);
		gw_secret_set(net, user, scope, "key", ch->key);
		/* The core re-reads them; a room nobody is in and no longer kept is left. */
		gw_room_changed(net, user, ch->room);
	} else {
		char *v = gw_setting_get(net, user, scope, "persistent");

		if (ircd_yes(v, false) && !was_persistent)
			gw_room_open(net, user, gw_cmd_target(cmd), c ? c->nick : NULL, NULL);
		free(v);
	}
	gw_cmd_note(cmd, GW_NOTE_INFO, "Saved.");
out:
	free(scope);
	return r;
}

/* The connection a command on an address is about, or NULL (a note says why). */
static struct ircd_conn *
cmd_conn(struct gw_cmd *cmd, char **server)
{
	struct gw_net *net = gw_cmd_net(cmd);
	const char *target = gw_cmd_target(cmd);
	char *t = NULL;
	struct ircd_conn *c;

	*server = NULL;
	if (target == NULL || ircd_addr_split(net, target, &t, server) == -1) {
		gw_cmd_note(cmd, GW_NOTE_ERROR, "Run this command on an IRC server's address.");
		return NULL;
	}
	free(t);
	c = ircd_conn_find(ircd_priv(net), gw_cmd_user(cmd), *server);
	if (c == NULL)
		gw_cmd_note(cmd, GW_NOTE_INFO, "You are not connected to %s.", *server);
	return c;
}

static enum gw_cmd_status
disconnect(struct gw_cmd *cmd, int stage, const struct gw_values *in)
{
	char *server;
	struct ircd_conn *c = cmd_conn(cmd, &server);

	(void)stage;
	(void)in;
	if (c != NULL) {
		ircd_conn_end(c, "Disconnected from the IRC server", "Disconnected by the user");
		gw_cmd_note(cmd, GW_NOTE_INFO, "Disconnected from %s.", server);
	}
	free(server);
	return GW_CMD_DONE;
}

static const struct gw_field disconnect_user_fields[] = {
        {"jid", GW_FIELD_JID, "User", "The user's bare JID.", GW_FIELD_REQUIRED, NULL, NULL},
        {"server", GW_FIELD_TEXT, "IRC server", "Only this server (empty: every server).", 0, NULL,
         NULL},
        {"reason", GW_FIELD_TEXT, "Reason", "Told to the user.", 0, NULL, NULL},
        GW_FIELDS_END,
};

/* Admins: end a user's IRC connections (every server, or one), telling them why. */
static enum gw_cmd_status
disconnect_user(struct gw_cmd *cmd, int stage, const struct gw_values *in)
{
	struct gw_net *net = gw_cmd_net(cmd);
	const char *jid = gw_values_get(in, "jid"), *server = gw_values_get(in, "server");
	const char *reason = gw_values_get(in, "reason");
	char *user, *why;
	size_t n = 0;

	if (stage == 0 && (jid == NULL || *jid == '\0')) {
		struct gw_form form = {"Disconnect a user from IRC", NULL, disconnect_user_fields,
		                       NULL};

		gw_cmd_form(cmd, &form);
		return GW_CMD_NEXT;
	}
	if (jid == NULL || *jid == '\0' || strchr(jid, '@') == NULL) {
		gw_cmd_note(cmd, GW_NOTE_ERROR, "Give the user's bare JID (user@example.org).");
		return GW_CMD_ERROR;
	}
	/* Users are kept under their lower-cased bare JID. */
	user = xstrndup(jid, strcspn(jid, "/"));
	for (char *p = user; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	why = reason && *reason ? xasprintf("Disconnected by an administrator: %s", reason)
	                        : xstrdup("Disconnected by an administrator");
	for (struct ircd_conn *c = ircd_priv(net)->conns; c; c = c->next) {
		if (c->state == IRCD_CLOSED || strcmp(c->user, user) != 0 ||
		    (server && *server && strcasecmp(c->server, server) != 0))
			continue;
		ircd_server_message(c, "%s.", why);
		ircd_conn_end(c, why, "Disconnected by an administrator");
		n++;
	}
	log_info("irc: admin %s disconnected %s from %zu servers", gw_cmd_user(cmd), user, n);
	if (n == 0)
		gw_cmd_note(cmd, GW_NOTE_INFO, "%s has no IRC connection%s%s.", user,
		            server && *server ? " to " : "", server && *server ? server : "");
	else
		gw_cmd_note(cmd, GW_NOTE_INFO, "Disconnected %s from %zu IRC server%s.", user, n,
		            n == 1 ? "" : "s");
	free(why);
	free(user);
	return GW_CMD_DONE;
}

static enum gw_cmd_status
info(struct gw_cmd *cmd, int stage, const struct gw_values *in)
{
	char *server, caps[256] = "", chans[512] = "";
	struct ircd_conn *c = cmd_conn(cmd, &server);
	size_t n = 0, k = 0;
	static const char *const cap_names[] = {
	        "multi-prefix",      "message-tags",  "server-time", "echo-message", "away-notify",
	        "account-notify",    "extended-join", "cap-notify",  "batch",        "sasl",
	        "userhost-in-names", "chghost",       "setname",
	};

	(void)stage;
	(void)in;
	if (c == NULL) {
		free(server);
		return GW_CMD_DONE;
	}
	for (size_t i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
		if (c->caps & (1u << i) && n < sizeof(caps))
			n += (size_t)snprintf(caps + n, sizeof(caps) - n, "%s%s", n ? " " : "",
			                      cap_names[i]);
	for (struct ircd_chan *ch = c->chans; ch && k < sizeof(chans); ch = ch->next)
		k += (size_t)snprintf(chans + k, sizeof(chans) - k, "%s%s%s", k ? " " : "",
		                      ch->name, ch->persistent ? " (persistent)" : "");
	gw_cmd_note(cmd, GW_NOTE_INFO,
	            "%s: %s as %s, port %u%s%s%s; account: %s; capabilities: %s; channels: %s; "
	            "%zu lines waiting",
	            server, ircd_state_name(c->state), c->nick ? c->nick : "-",
	            c->port_i < c->nports ? c->ports[c->port_i].port : 0,
	            c->port_i < c->nports && c->ports[c->port_i].tls ? " with TLS" : "",
	            c->pin ? " (pinned certificate)" : "",
	            c->client_cert ? " and a client certificate" : "",
	            c->account ? c->account : "not logged in", *caps ? caps : "none",
	            *chans ? chans : "none", ircd_queue_length(c));
	free(server);
	return GW_CMD_DONE;
}

static const char *const cert_actions[] = {"show", "new", "remove", NULL};

static const struct gw_field cert_fields[] = {
        {"action", GW_FIELD_LIST, "Action",
         "show: keep this certificate; new: replace it (register the new fingerprint again); "
         "remove: stop presenting one.",
         0, cert_actions, "show"},
        GW_FIELDS_END,
};

/*
 * The client certificate for SASL EXTERNAL (CertFP): made on first use,
 * kept encrypted in the store; its fingerprint is what NickServ's CERT ADD
 * takes. A text command takes the action as "certificate action=remove".
 */
static enum gw_cmd_status
certificate(struct gw_cmd *cmd, int stage, const struct gw_values *in)
{
	struct gw_net *net = gw_cmd_net(cmd);
	const char *user = gw_cmd_user(cmd), *target = gw_cmd_target(cmd);
	const char *action = in ? gw_values_get(in, "action") : NULL;
	char *t = NULL, *server = NULL, fp[65], *text, *ns;
	enum gw_cmd_status r = GW_CMD_DONE;
	int rc;

	if (target == NULL || ircd_addr_split(net, target, &t, &server) == -1) {
		gw_cmd_note(cmd, GW_NOTE_ERROR, "Run this command on an IRC server's address.");
		return GW_CMD_ERROR;
	}
	if (action == NULL || *action == '\0')
		action = "show";
	if (strcmp(action, "remove") == 0) {
		if (ircd_client_cert_remove(net, user, server) == -1) {
			gw_cmd_note(cmd, GW_NOTE_ERROR, "The certificate could not be removed.");
			r = GW_CMD_ERROR;
		} else
			gw_cmd_note(cmd, GW_NOTE_INFO,
			            "No client certificate is presented to %s from the next "
			            "connection on.",
			            server);
		goto out;
	}
	if (strcmp(action, "show") != 0 && strcmp(action, "new") != 0) {
		gw_cmd_note(cmd, GW_NOTE_ERROR, "The action is show, new or remove.");
		r = GW_CMD_ERROR;
		goto out;
	}
	rc = ircd_client_cert(net, user, server, true, strcmp(action, "new") == 0, fp);
	if (rc != 1) {
		gw_cmd_note(cmd, GW_NOTE_ERROR,
		            "The client certificate could not be made or read.");
		r = GW_CMD_ERROR;
		goto out;
	}
	/* NickServ's address on this gateway, as a chat with it would use. */
	ns = ircd_fixed_server(ircd_priv(net))
	             ? xasprintf("nickserv@%s", gw_net_jid(net))
	             : xasprintf("nickserv%%%s@%s", server, gw_net_jid(net));
	text = xasprintf("Your client certificate for %s has the SHA-256 fingerprint %s. "
	                 "It is presented from the next TLS connection on, and SASL EXTERNAL "
	                 "logs you in once the fingerprint is added to your account: "
	                 "identified, send \"CERT ADD %s\" to NickServ (%s).",
	                 server, fp, fp, ns);
	free(ns);
	if (stage == 0 && in == NULL) {
		struct gw_values *cur = gw_values_new();
		char *title = xasprintf("Client certificate for %s", server);
		struct gw_form form = {title, text, cert_fields, cur};

		gw_values_add(cur, "action", "show");
		gw_cmd_form(cmd, &form);
		gw_values_free(cur);
		free(title);
		r = GW_CMD_NEXT;
	} else
		gw_cmd_note(cmd, GW_NOTE_INFO, "%s", text);
	free(text);
out:
	free(t);
	free(server);
	return r;
}

const struct gw_command ircd_commands[] = {
        {"configure", "Configure your IRC defaults", "configure",
         "your default nick, history on join and history recording", GW_ACCESS_ANYONE,
         GW_SCOPE_GATEWAY, configure},
        {"configure", "Configure", "configure",
         "on a channel: persistent, history recording, encoding; on a server: your nick, "
         "ports, TLS and passwords there",
         GW_ACCESS_ANYONE, GW_SCOPE_ADDRESS, configure},
        {"disconnect", "Disconnect from this IRC server", "disconnect",
         "leave every channel of this IRC server and close the connection", GW_ACCESS_ANYONE,
         GW_SCOPE_ADDRESS, disconnect},
        {"info", "IRC connection information", "info",
         "the state, nick, port, TLS and capabilities of your connection to this server",
         GW_ACCESS_ANYONE, GW_SCOPE_ADDRESS, info},
        {"certificate", "Client certificate (CertFP)", "certificate",
         "your TLS client certificate for this IRC server and its fingerprint, for SASL "
         "EXTERNAL (NickServ CERT ADD)",
         GW_ACCESS_ANYONE, GW_SCOPE_ADDRESS, certificate},
        {"disconnect-user", "Disconnect a user from IRC", "disconnect-user",
         "end a user's IRC connections: jid=JID [server=NAME] [reason=TEXT]", GW_ACCESS_ADMIN,
         GW_SCOPE_GATEWAY, disconnect_user},
        GW_COMMANDS_END,
};
