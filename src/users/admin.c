/*
 * The core's own commands, offered on every gateway JID through the
 * command framework (so each is an XEP-0050 command and a text command):
 * XEP-0133 service administration for admins, and register / unregister
 * for users whose client has no XEP-0077 interface.
 */
#include "config.h"

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "core.h"
#include "form.h"
#include "jid.h"
#include "rooms.h"
#include "stanza.h"
#include "store.h"
#include "users.h"

#define NS_ADMIN "http://jabber.org/protocol/admin"

/* ---- read-only reports ---- */

/* The n strings joined with newlines. Caller frees. */
static char *
join_lines(const char *const *lines, size_t n)
{
	size_t len = 1;
	char *text;

	for (size_t i = 0; i < n; i++)
		len += strlen(lines[i]) + 1;
	text = xcalloc(1, len);
	for (size_t i = 0; i < n; i++) {
		strcat(text, lines[i]);
		if (i + 1 < n)
			strcat(text, "\n");
	}
	return text;
}

static void
result_one(struct gw_cmd *cmd, const char *var, const char *label, const char *value)
{
	struct gw_field fields[] = {
	        {"FORM_TYPE", GW_FIELD_HIDDEN, NULL, NULL, 0, NULL, NS_ADMIN},
	        {var, GW_FIELD_TEXT, label, NULL, 0, NULL, NULL},
	        GW_FIELDS_END,
	};
	struct gw_values *v = gw_values_new();
	struct gw_form form = {label, NULL, fields, v};

	gw_values_add(v, "FORM_TYPE", NS_ADMIN);
	gw_values_add(v, var, value);
	gw_cmd_result(cmd, &form);
	gw_cmd_note(cmd, GW_NOTE_INFO, "%s: %s", label, value);
	gw_values_free(v);
}

static void
result_list(struct gw_cmd *cmd, const char *var, const char *label, struct gw_values *v)
{
	struct gw_field fields[] = {
	        {"FORM_TYPE", GW_FIELD_HIDDEN, NULL, NULL, 0, NULL, NS_ADMIN},
	        {var, GW_FIELD_TEXT_MULTI, label, NULL, 0, NULL, NULL},
	        GW_FIELDS_END,
	};
	struct gw_form form = {label, NULL, fields, v};
	size_t n = 0;
	const char *const *items = gw_values_getv(v, var, &n);
	char *text = join_lines(items, n);

	gw_values_add(v, "FORM_TYPE", NS_ADMIN);
	gw_cmd_result(cmd, &form);
	gw_cmd_note(cmd, GW_NOTE_INFO, "%s (%zu):%s%s", label, n, n ? "\n" : " none", text);
	free(text);
}

static enum gw_cmd_status
registered_num(struct gw_cmd *cmd, int stage, const struct gw_values *in)
{
	char n[32];

	(void)stage;
	(void)in;
	snprintf(n, sizeof(n), "%ld", store_user_count(core.store, gw_cmd_net(cmd)->drv->name));
	result_one(cmd, "registeredusersnum", "Number of registered users", n);
	return GW_CMD_DONE;
}

static int
list_user_cb(const struct store_user *u, void *arg)
{
	char *line = xasprintf("%s%s", u->jid, u->disabled ? " (disabled)" : "");

	gw_values_add(arg, "registereduserjids", line);
	free(line);
	return 0;
}

static enum gw_cmd_status
registered_list(struct gw_cmd *cmd, int stage, const struct gw_values *in)
{
	struct gw_values *v = gw_values_new();

	(void)stage;
	(void)in;
	store_user_foreach(core.store, gw_cmd_net(cmd)->drv->name, list_user_cb, v);
	result_list(cmd, "registereduserjids", "Registered users", v);
	gw_values_free(v);
	return GW_CMD_DONE;
}

static enum gw_cmd_status
online_num(struct gw_cmd *cmd, int stage, const struct gw_values *in)
{
	char n[32];

	(void)stage;
	(void)in;
	snprintf(n, sizeof(n), "%zu", gateway_online_count(gw_cmd_net(cmd)));
	result_one(cmd, "onlineusersnum", "Number of online users", n);
	return GW_CMD_DONE;
}

static void
add_online_cb(const char *user, void *arg)
{
	gw_values_add(arg, "onlineuserjids", user);
}

static enum gw_cmd_status
online_list(struct gw_cmd *cmd, int stage, const struct gw_values *in)
{
	struct gw_values *v = gw_values_new();

	(void)stage;
	(void)in;
	gateway_foreach_online(gw_cmd_net(cmd), add_online_cb, v);
	result_list(cmd, "onlineuserjids", "Online users", v);
	gw_values_free(v);
	return GW_CMD_DONE;
}

/* ---- commands that act on users ---- */

static const struct gw_field user_fields[] = {
        {"FORM_TYPE", GW_FIELD_HIDDEN, NULL, NULL, 0, NULL, NS_ADMIN},
        {"accountjids", GW_FIELD_TEXT_MULTI, "The users (bare JIDs, one per line)", NULL,
         GW_FIELD_REQUIRED, NULL, NULL},
        GW_FIELDS_END,
};

enum user_action { ACT_DELETE, ACT_DISABLE, ACT_ENABLE, ACT_END_SESSION };

static enum gw_cmd_status
act_on_users(struct gw_cmd *cmd, int stage, const struct gw_values *in, enum user_action act,
             const char *title)
{
	struct gw_net *net = gw_cmd_net(cmd);
	const char *const *lines, *const *list;
	struct gw_values *jids;
	size_t nlines = 0, n = 0, done = 0;

	if (stage == 0 && !gw_values_has(in, "accountjids")) {
		struct gw_form form = {title, "Which users?", user_fields, NULL};

		gw_cmd_form(cmd, &form);
		return GW_CMD_NEXT;
	}
	jids = gw_values_new();
	lines = gw_values_getv(in, "accountjids", &nlines);
	/*
	 * One JID per line, or several on a line: a text command gives them as
	 * "accountjids=a@x b@x" or "a@x, b@x". A line copied from
	 * registered-list keeps its "(disabled)" mark, which is skipped.
	 */
	for (size_t l = 0; l < nlines; l++) {
		char *copy = xstrdup(lines[l]), *save = NULL;

		for (char *t = strtok_r(copy, " \t,", &save); t; t = strtok_r(NULL, " \t,", &save))
			if (strcmp(t, "(disabled)") != 0)
				gw_values_add(jids, "jid", t);
		free(copy);
	}
	list = gw_values_getv(jids, "jid", &n);
	for (size_t i = 0; i < n; i++) {
		char *bare = jid_bare(list[i]);
		struct store_user u;
		int found;

		if (bare == NULL) {
			gw_cmd_note(cmd, GW_NOTE_WARN, "Not a JID: %s", list[i]);
			continue;
		}
		/* Users are kept under their lower-cased bare JID (as the server prepares it). */
		for (char *p = bare; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		found = store_user_get(core.store, net->drv->name, bare, &u);
		if (found == 1)
			store_user_free_fields(&u);
		if (found != 1 && act != ACT_END_SESSION) {
			gw_cmd_note(cmd, GW_NOTE_WARN, "Not registered: %s", bare);
			free(bare);
			continue;
		}
		switch (act) {
		case ACT_DELETE:
			accounts_unregister(net, bare);
			break;
		case ACT_DISABLE:
			accounts_set_disabled(net, bare, true);
			accounts_end_session(net, bare);
			break;
		case ACT_ENABLE:
			accounts_set_disabled(net, bare, false);
			break;
		case ACT_END_SESSION:
			accounts_end_session(net, bare);
			break;
		}
		log_info("%s: admin %s: %s %s", net->drv->name, gw_cmd_user(cmd), title, bare);
		done++;
		free(bare);
	}
	gw_cmd_note(cmd, GW_NOTE_INFO, "%s: done for %zu of %zu users.", title, done, n);
	gw_values_free(jids);
	return GW_CMD_DONE;
}

static enum gw_cmd_status
delete_user(struct gw_cmd *cmd, int stage, const struct gw_values *in)
{
	return act_on_users(cmd, stage, in, ACT_DELETE, "Delete users");
}

static enum gw_cmd_status
disable_user(struct gw_cmd *cmd, int stage, const struct gw_values *in)
{
	return act_on_users(cmd, stage, in, ACT_DISABLE, "Disable users");
}

static enum gw_cmd_status
reenable_user(struct gw_cmd *cmd, int stage, const struct gw_values *in)
{
	return act_on_users(cmd, stage, in, ACT_ENABLE, "Re-enable users");
}

static enum gw_cmd_status
end_session(struct gw_cmd *cmd, int stage, const struct gw_values *in)
{
	return act_on_users(cmd, stage, in, ACT_END_SESSION, "End user sessions");
}

/* ---- announce, stats, reload ---- */

static const struct gw_field announce_fields[] = {
        {"FORM_TYPE", GW_FIELD_HIDDEN, NULL, NULL, 0, NULL, NS_ADMIN},
        {"subject", GW_FIELD_TEXT, "Subject", NULL, 0, NULL, NULL},
        {"body", GW_FIELD_TEXT_MULTI, "Message", NULL, GW_FIELD_REQUIRED, NULL, NULL},
        GW_FIELDS_END,
};

struct announce {
	struct gw_net *net;
	const char *subject;
	char *body;
	size_t sent;
};

static void
announce_cb(const char *user, void *arg)
{
	struct announce *a = arg;
	xmpp_stanza_t *m = stanza_message("headline", a->net->jid, user, NULL, a->body);

	if (a->subject && *a->subject)
		stanza_add_text_child(m, "subject", NULL, a->subject);
	gateway_send_release(a->net, m);
	a->sent++;
}

static enum gw_cmd_status
announce(struct gw_cmd *cmd, int stage, const struct gw_values *in)
{
	struct announce a = {gw_cmd_net(cmd), NULL, NULL, 0};
	const char *const *lines;
	size_t n = 0;

	if (stage == 0 && !gw_values_has(in, "body")) {
		struct gw_form form = {"Announcement", "Sent to every online user of this gateway.",
		                       announce_fields, NULL};

		gw_cmd_form(cmd, &form);
		return GW_CMD_NEXT;
	}
	lines = gw_values_getv(in, "body", &n);
	a.body = join_lines(lines, n);
	a.subject = gw_values_get(in, "subject");
	gateway_foreach_online(a.net, announce_cb, &a);
	free(a.body);
	gw_cmd_note(cmd, GW_NOTE_INFO, "Announcement sent to %zu online users.", a.sent);
	return GW_CMD_DONE;
}

static void
stats_line(const char *text, void *arg)
{
	gw_values_add(arg, "stats", text);
}

static enum gw_cmd_status
stats(struct gw_cmd *cmd, int stage, const struct gw_values *in)
{
	struct gw_net *net = gw_cmd_net(cmd);
	struct gw_values *v = gw_values_new();
	char line[256];

	(void)stage;
	(void)in;
	snprintf(line, sizeof(line), "uptime: %lld s", (long long)(time(NULL) - core.started));
	stats_line(line, v);
	snprintf(line, sizeof(line), "registered users: %ld",
	         store_user_count(core.store, net->drv->name));
	stats_line(line, v);
	snprintf(line, sizeof(line), "online users: %zu", gateway_online_count(net));
	stats_line(line, v);
	snprintf(line, sizeof(line), "rooms joined: %zu", rooms_count(net));
	stats_line(line, v);
	snprintf(line, sizeof(line),
	         "messages relayed to the network: %lu, to XMPP: %lu, failed: %lu",
	         net->msgs_to_net, net->msgs_to_xmpp, net->msgs_failed);
	stats_line(line, v);
	snprintf(line, sizeof(line), "queued to the network: %ld, to XMPP: %ld",
	         delivery_queued(net, STORE_TO_NET), delivery_queued(net, STORE_TO_XMPP));
	stats_line(line, v);
	if (net->drv->stats)
		net->drv->stats(net, stats_line, v);
	result_list(cmd, "stats", "Statistics", v);
	gw_values_free(v);
	return GW_CMD_DONE;
}

static enum gw_cmd_status
reload(struct gw_cmd *cmd, int stage, const struct gw_values *in)
{
	(void)stage;
	(void)in;
	/* The same path as SIGHUP, run from the loop once this reply is out. */
	kill(getpid(), SIGHUP);
	gw_cmd_note(cmd, GW_NOTE_INFO, "Reloading the configuration; the log tells what changed.");
	return GW_CMD_DONE;
}

/* ---- registration for clients without XEP-0077 ---- */

static enum gw_cmd_status
register_cmd(struct gw_cmd *cmd, int stage, const struct gw_values *in)
{
	struct gw_net *net = gw_cmd_net(cmd);
	const char *user = gw_cmd_user(cmd);
	static const struct gw_field none[] = {GW_FIELDS_END};
	const struct gw_field *fields = net->drv->registration ? net->drv->registration : none;

	if (!core_domain_allowed(user)) {
		gw_cmd_note(cmd, GW_NOTE_ERROR,
		            "Only users of this server's domains may register.");
		return GW_CMD_ERROR;
	}
	if (gateway_user_disabled(net, user)) {
		gw_cmd_note(cmd, GW_NOTE_ERROR,
		            "An administrator has disabled your account on this gateway.");
		return GW_CMD_ERROR;
	}
	if (stage == 0 && fields[0].var != NULL && in == NULL) {
		struct gw_form form = {"Register", "Fill in and submit to register.", fields, NULL};

		gw_cmd_form(cmd, &form);
		return GW_CMD_NEXT;
	}
	for (const struct gw_field *f = fields; f->var; f++) {
		const char *val = in ? gw_values_get(in, f->var) : NULL;

		if ((f->flags & GW_FIELD_REQUIRED) && (val == NULL || *val == '\0')) {
			gw_cmd_note(cmd, GW_NOTE_ERROR, "The field \"%s\" is required.",
			            f->label ? f->label : f->var);
			return GW_CMD_ERROR;
		}
	}
	if (net->drv->check_registration && in) {
		char *why = NULL;
		enum gw_error e = net->drv->check_registration(net, user, in, &why);

		if (e != GW_ERR_NONE) {
			gw_cmd_note(cmd, GW_NOTE_ERROR, "%s", why ? why : "Registration refused.");
			free(why);
			return GW_CMD_ERROR;
		}
	}
	if (net->drv->verify_registration && in) {
		/* A mail account is tried before it is stored, as by XEP-0077; the
		 * network's answer comes later, as a message. */
		register_verify(net, user, gw_values_dup(in));
		gw_cmd_note(cmd, GW_NOTE_INFO,
		            "Checking your account with %s; the result follows as a message from "
		            "this gateway.",
		            net->drv->description);
		return GW_CMD_DONE;
	}
	if (in)
		accounts_save_fields(net, user, fields, in);
	if (accounts_register(net, user) == -1) {
		gw_cmd_note(cmd, GW_NOTE_ERROR, "The gateway's store failed; try again later.");
		return GW_CMD_ERROR;
	}
	/* The loop's group transaction may hold the writes: durable before the answer. */
	delivery_flush_all();
	gw_cmd_note(cmd, GW_NOTE_INFO, "You are registered with %s.", net->drv->description);
	return GW_CMD_DONE;
}

static enum gw_cmd_status
unregister_cmd(struct gw_cmd *cmd, int stage, const struct gw_values *in)
{
	(void)stage;
	(void)in;
	if (accounts_unregister(gw_cmd_net(cmd), gw_cmd_user(cmd)) == -1) {
		gw_cmd_note(cmd, GW_NOTE_ERROR, "The gateway's store failed; try again later.");
		return GW_CMD_ERROR;
	}
	delivery_flush_all();
	gw_cmd_note(cmd, GW_NOTE_INFO, "You are no longer registered; your settings are deleted.");
	return GW_CMD_DONE;
}

static const struct gw_field roster_fields[] = {
        {"roster", GW_FIELD_BOOL, "Keep this gateway's contacts in my roster", NULL, 0, NULL, NULL},
        GW_FIELDS_END,
};

/*
 * The gateway and the user's contacts written into their roster (XEP-0356),
 * or suggested where the server does not allow that (XEP-0144): roster.c.
 */
static enum gw_cmd_status
roster_cmd(struct gw_cmd *cmd, int stage, const struct gw_values *in)
{
	struct gw_net *net = gw_cmd_net(cmd);
	const char *user = gw_cmd_user(cmd);
	const char *want = gw_values_get(in, "roster");
	bool suggested;
	long n;

	if (stage == 0 && want == NULL) {
		struct gw_values *cur = gw_values_new();
		char *v = gw_setting_get(net, user, "", "roster");
		struct gw_form form = {
		        "Contacts in your roster",
		        roster_granted(net, user)
		                ? "Your server lets this gateway write your roster: "
		                  "contacts appear there without a request to accept."
		                : "Your server does not let this gateway write your "
		                  "roster (XEP-0356): contacts come as suggestions your "
		                  "client may offer to add (XEP-0144) and as requests to "
		                  "accept.",
		        roster_fields, cur};

		gw_values_add(cur, "roster", v && strcmp(v, "no") == 0 ? "0" : "1");
		free(v);
		gw_cmd_form(cmd, &form);
		gw_values_free(cur);
		return GW_CMD_NEXT;
	}
	if (want && (strcmp(want, "0") == 0 || strcasecmp(want, "false") == 0 ||
	             strcasecmp(want, "no") == 0)) {
		gw_setting_set(net, user, "", "roster", "no");
		gw_cmd_note(cmd, GW_NOTE_INFO,
		            "New contacts will come as requests to accept; your roster stays as it "
		            "is.");
		return GW_CMD_DONE;
	}
	gw_setting_set(net, user, "", "roster", "yes");
	n = roster_sync(net, user, &suggested);
	if (suggested)
		gw_cmd_note(cmd, GW_NOTE_WARN,
		            "Your server does not let this gateway write your roster (XEP-0356): "
		            "the gateway and %ld contact%s were suggested to your client instead "
		            "(XEP-0144), which may offer to add them; new contacts also come as "
		            "requests to accept.",
		            n, n == 1 ? "" : "s");
	else
		gw_cmd_note(cmd, GW_NOTE_INFO,
		            "The gateway and %ld contact%s written to your roster.", n,
		            n == 1 ? "" : "s");
	return GW_CMD_DONE;
}

static const struct gw_command core_commands[] = {
        {"register", "Register with this gateway", "register",
         "register with this gateway (fields as name=value)", GW_ACCESS_ANYONE, GW_SCOPE_GATEWAY,
         register_cmd},
        {"unregister", "Unregister from this gateway", "unregister",
         "unregister and delete your settings", GW_ACCESS_REGISTERED, GW_SCOPE_GATEWAY,
         unregister_cmd},
        {"roster", "Contacts in your roster", "roster",
         "write the gateway's contacts into your roster (roster=no: stop)", GW_ACCESS_REGISTERED,
         GW_SCOPE_GATEWAY, roster_cmd},
        {NS_ADMIN "#get-registered-users-num", "Number of registered users", "registered-count",
         "how many users are registered", GW_ACCESS_ADMIN, GW_SCOPE_GATEWAY, registered_num},
        {NS_ADMIN "#get-registered-users-list", "List registered users", "registered-list",
         "list registered users", GW_ACCESS_ADMIN, GW_SCOPE_GATEWAY, registered_list},
        {NS_ADMIN "#get-online-users-num", "Number of online users", "online-count",
         "how many users are online", GW_ACCESS_ADMIN, GW_SCOPE_GATEWAY, online_num},
        {NS_ADMIN "#get-online-users-list", "List online users", "online-list", "list online users",
         GW_ACCESS_ADMIN, GW_SCOPE_GATEWAY, online_list},
        {NS_ADMIN "#delete-user", "Delete users", "delete-user", "delete users: accountjids=JID",
         GW_ACCESS_ADMIN, GW_SCOPE_GATEWAY, delete_user},
        {NS_ADMIN "#disable-user", "Disable users", "disable-user",
         "disable users: accountjids=JID", GW_ACCESS_ADMIN, GW_SCOPE_GATEWAY, disable_user},
        {NS_ADMIN "#reenable-user", "Re-enable users", "enable-user",
         "re-enable users: accountjids=JID", GW_ACCESS_ADMIN, GW_SCOPE_GATEWAY, reenable_user},
        {NS_ADMIN "#end-user-session", "End user sessions", "end-session",
         "end users' sessions: accountjids=JID", GW_ACCESS_ADMIN, GW_SCOPE_GATEWAY, end_session},
        {NS_ADMIN "#announce", "Send an announcement", "announce",
         "send an announcement to online users: body=TEXT", GW_ACCESS_ADMIN, GW_SCOPE_GATEWAY,
         announce},
        {"stats", "Statistics", "stats", "gateway statistics", GW_ACCESS_ADMIN, GW_SCOPE_GATEWAY,
         stats},
        {"reload", "Reload the configuration", "reload", "reload the configuration file",
         GW_ACCESS_ADMIN, GW_SCOPE_GATEWAY, reload},
        GW_COMMANDS_END,
};

void
admin_init(void)
{
	commands_add_core(core_commands);
}
