/*
 * Who owns which line: the config's `users` are a line's initial set;
 * admins change it with assign/unassign, stored as a setting of the
 * gateway's own JID (scope "line:NAME", key "users"). A user's sending line
 * per contact is the user's setting (scope "contact:+NUMBER", key "line").
 * And the commands: lines, line, assign, unassign.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "driver.h"
#include "smsline.h"
#include "smsnum.h"

struct smsl_line *
smsl_line_find(struct gw_net *net, const char *name)
{
	size_t n;
	struct smsl_line *const *v = smsl_lines(net, &n);

	for (size_t i = 0; i < n; i++)
		if (strcasecmp(v[i]->name, name) == 0)
			return v[i];
	return NULL;
}

void
smsl_strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* The users of a line (caller frees with smsl_strv_free()). */
char **
smsl_line_users(struct smsl_line *l)
{
	char *scope = xasprintf("line:%s", l->name);
	char *stored = gw_setting_get(l->net, gw_net_jid(l->net), scope, "users");
	char **v = NULL;
	size_t n = 0;

	if (stored != NULL) {
		char *save = NULL;

		for (char *w = strtok_r(stored, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
			v = xreallocarray(v, n + 2, sizeof(*v));
			v[n++] = xstrdup(w);
		}
	} else {
		for (char **u = l->conf_users; *u; u++) {
			v = xreallocarray(v, n + 2, sizeof(*v));
			v[n++] = xstrdup(*u);
		}
	}
	if (v == NULL)
		v = xcalloc(1, sizeof(*v));
	v[n] = NULL;
	free(stored);
	free(scope);
	return v;
}

static bool
line_has_user(struct smsl_line *l, const char *user)
{
	char **v = smsl_line_users(l);
	bool found = false;

	for (size_t i = 0; v[i] && !found; i++)
		found = strcasecmp(v[i], user) == 0;
	smsl_strv_free(v);
	return found;
}

static int
line_users_store(struct smsl_line *l, char **v)
{
	char *scope = xasprintf("line:%s", l->name);
	size_t len = 1;
	char *s;
	int r;

	for (size_t i = 0; v[i]; i++)
		len += strlen(v[i]) + 1;
	s = xcalloc(1, len);
	for (size_t i = 0; v[i]; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, v[i]);
	}
	r = gw_setting_set(l->net, gw_net_jid(l->net), scope, "users", s);
	free(s);
	free(scope);
	return r;
}

/* The user's lines in config order; *n gets the count (caller frees the array). */
struct smsl_line **
smsl_user_lines(struct gw_net *net, const char *user, size_t *n)
{
	size_t nl;
	struct smsl_line *const *lines = smsl_lines(net, &nl);
	struct smsl_line **v = xcalloc(nl + 1, sizeof(*v));

	*n = 0;
	for (size_t i = 0; i < nl; i++)
		if (line_has_user(lines[i], user))
			v[(*n)++] = lines[i];
	return v;
}

/* The line the user texts `to` from: the chosen one, else the first. NULL: none. */
struct smsl_line *
smsl_line_for(struct gw_net *net, const char *user, const char *to)
{
	size_t n;
	struct smsl_line **v = smsl_user_lines(net, user, &n);
	struct smsl_line *l = n ? v[0] : NULL;
	char *scope = xasprintf("contact:%s", to);
	char *chosen = gw_setting_get(net, user, scope, "line");

	for (size_t i = 0; chosen && i < n; i++)
		if (strcasecmp(v[i]->name, chosen) == 0)
			l = v[i];
	free(chosen);
	free(scope);
	free(v);
	return l;
}

/* ---- commands ---- */

static void
describe_line(struct gw_cmd *cmd, struct smsl_line *l, bool admin)
{
	char sig[16] = "unknown";

	if (l->signal >= 0)
		snprintf(sig, sizeof(sig), "%d%%", l->signal);
	if (!admin) {
		gw_cmd_note(cmd, GW_NOTE_INFO, "%s %s (%s)", l->name, l->number ? l->number : "",
		            smsl_state_name(l->state));
		return;
	}
	{
		char **users = smsl_line_users(l);
		size_t len = 1;
		char *list;

		for (size_t i = 0; users[i]; i++)
			len += strlen(users[i]) + 1;
		list = xcalloc(1, len);
		for (size_t i = 0; users[i]; i++) {
			if (i)
				strcat(list, " ");
			strcat(list, users[i]);
		}
		gw_cmd_note(cmd, GW_NOTE_INFO,
		            "%s %s via %s: %s%s%s; signal %s; operator %s; users: %s; "
		            "%lu sent, %lu delivered, %lu failed, %lu received",
		            l->name, l->number ? l->number : "(no number)", l->ops->name,
		            smsl_state_name(l->state), l->state_why ? ": " : "",
		            l->state_why ? l->state_why : "", sig,
		            l->operator_name ? l->operator_name : "unknown",
		            *list ? list : "(none)", l->sent, l->delivered, l->failed, l->received);
		free(list);
		smsl_strv_free(users);
	}
}

static enum gw_cmd_status
cmd_lines(struct gw_cmd *cmd, int stage, const struct gw_values *in)
{
	struct gw_net *net = gw_cmd_net(cmd);
	size_t nl, n;
	struct smsl_line *const *lines = smsl_lines(net, &nl);
	struct smsl_line **v;

	(void)stage;
	(void)in;
	if (gw_cmd_is_admin(cmd)) {
		gw_cmd_note(cmd, GW_NOTE_INFO, "%zu line(s):", nl);
		for (size_t i = 0; i < nl; i++)
			describe_line(cmd, lines[i], true);
		return GW_CMD_DONE;
	}
	v = smsl_user_lines(net, gw_cmd_user(cmd), &n);
	if (n == 0)
		gw_cmd_note(cmd, GW_NOTE_INFO, "You have no SMS line on this gateway.");
	else
		gw_cmd_note(cmd, GW_NOTE_INFO, "Your line(s), the first is the default:");
	for (size_t i = 0; i < n; i++)
		describe_line(cmd, v[i], false);
	free(v);
	return GW_CMD_DONE;
}

static enum gw_cmd_status
cmd_line(struct gw_cmd *cmd, int stage, const struct gw_values *in)
{
	struct gw_net *net = gw_cmd_net(cmd);
	const char *user = gw_cmd_user(cmd);
	const char *target = gw_cmd_target(cmd);
	const char *contact = target ? target : gw_values_get(in, "contact");
	const char *name = gw_values_get(in, "line");
	size_t n;
	struct smsl_line **v = smsl_user_lines(net, user, &n);
	struct smsl_line *l = NULL;
	char *number = NULL, *why = NULL, *scope;
	enum gw_cmd_status st = GW_CMD_ERROR;

	if (n == 0) {
		gw_cmd_note(cmd, GW_NOTE_ERROR, "You have no SMS line on this gateway.");
		goto out;
	}
	if (stage == 0 && (name == NULL || contact == NULL)) {
		const char **opts = xcalloc(n + 1, sizeof(*opts));
		struct gw_field fields[] = {
		        {"contact", GW_FIELD_TEXT, "Contact", "The phone number.",
		         GW_FIELD_REQUIRED, NULL, NULL},
		        {"line", GW_FIELD_LIST, "Line",
		         "The line your texts to this contact go from.", GW_FIELD_REQUIRED, opts,
		         NULL},
		        GW_FIELDS_END,
		};
		struct gw_form form = {"SMS line for a contact", NULL, target ? fields + 1 : fields,
		                       NULL};

		for (size_t i = 0; i < n; i++)
			opts[i] = v[i]->name;
		gw_cmd_form(cmd, &form);
		free(opts);
		st = GW_CMD_NEXT;
		goto out;
	}
	if (contact == NULL || smsnum_normalize(contact, smsl_country(net), &number, &why) == -1) {
		gw_cmd_note(cmd, GW_NOTE_ERROR, "%s", why ? why : "Which contact?");
		goto out;
	}
	for (size_t i = 0; name && i < n; i++)
		if (strcasecmp(v[i]->name, name) == 0)
			l = v[i];
	if (l == NULL) {
		gw_cmd_note(cmd, GW_NOTE_ERROR, "%s is not one of your lines.",
		            name ? name : "That");
		goto out;
	}
	scope = xasprintf("contact:%s", number);
	if (gw_setting_set(net, user, scope, "line", l->name) == -1) {
		gw_cmd_note(cmd, GW_NOTE_ERROR, "The choice could not be saved.");
	} else {
		gw_cmd_note(cmd, GW_NOTE_INFO, "Texts to %s now go from line %s%s%s.", number,
		            l->name, l->number ? " " : "", l->number ? l->number : "");
		/* The contact now shows that line's state. */
		gw_contacts_changed(net, user);
		st = GW_CMD_DONE;
	}
	free(scope);
out:
	free(number);
	free(why);
	free(v);
	return st;
}

static enum gw_cmd_status
assign(struct gw_cmd *cmd, int stage, const struct gw_values *in, bool add)
{
	struct gw_net *net = gw_cmd_net(cmd);
	size_t nl;
	struct smsl_line *const *lines = smsl_lines(net, &nl);
	const char *name = gw_values_get(in, "line");
	const char *who = gw_values_get(in, "user");
	struct smsl_line *l;
	char **users, **nv;
	size_t n = 0, k = 0;
	bool had = false;

	if (stage == 0 && (name == NULL || who == NULL)) {
		const char **opts = xcalloc(nl + 1, sizeof(*opts));
		struct gw_field fields[] = {
		        {"line", GW_FIELD_LIST, "Line", NULL, GW_FIELD_REQUIRED, opts, NULL},
		        {"user", GW_FIELD_JID, "User", "The user's bare JID.", GW_FIELD_REQUIRED,
		         NULL, NULL},
		        GW_FIELDS_END,
		};
		struct gw_form form = {add ? "Assign a line" : "Unassign a line", NULL, fields,
		                       NULL};

		for (size_t i = 0; i < nl; i++)
			opts[i] = lines[i]->name;
		gw_cmd_form(cmd, &form);
		free(opts);
		return GW_CMD_NEXT;
	}
	if (name == NULL || (l = smsl_line_find(net, name)) == NULL) {
		gw_cmd_note(cmd, GW_NOTE_ERROR, "No such line.");
		return GW_CMD_ERROR;
	}
	if (who == NULL || *who == '\0' || strchr(who, '@') == NULL || strchr(who, '/') ||
	    strchr(who, ' ')) {
		gw_cmd_note(cmd, GW_NOTE_ERROR, "A user is a bare JID, like alice@example.org.");
		return GW_CMD_ERROR;
	}
	users = smsl_line_users(l);
	while (users[n])
		n++;
	nv = xcalloc(n + 2, sizeof(*nv));
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(users[i], who) == 0) {
			had = true;
			if (!add)
				continue;
		}
		nv[k++] = users[i];
	}
	if (add && !had)
		nv[k++] = (char *)who;
	nv[k] = NULL;
	if ((add && had) || (!add && !had)) {
		gw_cmd_note(cmd, GW_NOTE_INFO, "%s %s a user of line %s.", who,
		            had ? "is already" : "is not", l->name);
	} else if (line_users_store(l, nv) == -1) {
		gw_cmd_note(cmd, GW_NOTE_ERROR, "The change could not be saved.");
		free(nv);
		smsl_strv_free(users);
		return GW_CMD_ERROR;
	} else {
		gw_cmd_note(cmd, GW_NOTE_INFO, "%s is %s a user of line %s.", who,
		            add ? "now" : "no longer", l->name);
		log_info("sms: %s %s %s %s line %s", gw_cmd_user(cmd),
		         add ? "assigned" : "unassigned", who, add ? "to" : "from", l->name);
		/* The user's contacts may now have a line, or another one. */
		gw_contacts_changed(net, who);
	}
	free(nv);
	smsl_strv_free(users);
	return GW_CMD_DONE;
}

static enum gw_cmd_status
cmd_assign(struct gw_cmd *cmd, int stage, const struct gw_values *in)
{
	return assign(cmd, stage, in, true);
}

static enum gw_cmd_status
cmd_unassign(struct gw_cmd *cmd, int stage, const struct gw_values *in)
{
	return assign(cmd, stage, in, false);
}

const struct gw_command smsl_commands[] = {
        {"lines", "SMS lines", "lines",
         "list your SMS lines (admins: every line, its state and users)", GW_ACCESS_ANYONE,
         GW_SCOPE_GATEWAY, cmd_lines},
        {"line", "Line for a contact", "line",
         "pick the line your texts to a contact go from: line contact=NUMBER line=NAME",
         GW_ACCESS_ANYONE, GW_SCOPE_GATEWAY | GW_SCOPE_ADDRESS, cmd_line},
        {"assign", "Assign a line to a user", "assign", "admin: assign line=NAME user=JID",
         GW_ACCESS_ADMIN, GW_SCOPE_GATEWAY, cmd_assign},
        {"unassign", "Unassign a line from a user", "unassign",
         "admin: unassign line=NAME user=JID", GW_ACCESS_ADMIN, GW_SCOPE_GATEWAY, cmd_unassign},
        GW_COMMANDS_END,
};
