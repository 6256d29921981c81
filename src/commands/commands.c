/*
 * XEP-0050 ad-hoc commands: sessions, lookup and access, the iq protocol and
 * the gw_cmd_*() functions of driver.h. The chat-text face is textcmd.c.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#define SG_COMMANDS_INTERNAL
#include "commands.h"

#define STANZAS_NS "urn:ietf:params:xml:ns:xmpp-stanzas"
/* At most this many live sessions per user: the oldest goes first. */
#define MAX_SESSIONS_PER_USER 16
/* Expired session ids remembered to answer session-expired, not bad-sessionid. */
#define TOMBSTONES 64
#define TOMBSTONE_TTL 3600

static struct gw_cmd *sessions;
static const struct gw_command *core_table;

static struct {
	char id[33];
	time_t when;
} tombstones[TOMBSTONES];
static size_t tombstone_next;

/* ---- Lookup and access ---- */

const char *
cmd_denied(struct gw_net *net, const struct gw_command *c, const char *user)
{
	switch (c->access) {
	case GW_ACCESS_ANYONE:
		return NULL;
	case GW_ACCESS_REGISTERED:
		return gw_user_is_registered(net, user)
		               ? NULL
		               : "You must register with this gateway to run this command.";
	case GW_ACCESS_ADMIN:
		return gw_user_is_admin(net, user)
		               ? NULL
		               : "Only administrators of this gateway may run this command.";
	}
	return "This command is not available.";
}

static bool
in_scope(const struct gw_command *c, const char *target)
{
	return (c->scope & (target != NULL ? GW_SCOPE_ADDRESS : GW_SCOPE_GATEWAY)) != 0;
}

/* The core's table, then the driver's; *t and *i start at 0. */
static const struct gw_command *
next_command(const struct gw_driver *drv, int *t, size_t *i)
{
	const struct gw_command *tab;

	for (; *t < 2; (*t)++, *i = 0) {
		tab = *t == 0 ? core_table : drv != NULL ? drv->commands : NULL;
		if (tab != NULL && tab[*i].node != NULL)
			return &tab[(*i)++];
	}
	return NULL;
}

void
cmd_foreach_visible(struct gw_net *net, const struct gw_driver *drv, const char *user,
                    const char *target, void (*fn)(const struct gw_command *, void *), void *arg)
{
	const struct gw_command *c;
	int t = 0;
	size_t i = 0;

	while ((c = next_command(drv, &t, &i)) != NULL)
		if (in_scope(c, target) && cmd_denied(net, c, user) == NULL)
			fn(c, arg);
}

static const struct gw_command *
find_node(const struct gw_driver *drv, const char *target, const char *node)
{
	const struct gw_command *c;
	int t = 0;
	size_t i = 0;

	while ((c = next_command(drv, &t, &i)) != NULL)
		if (in_scope(c, target) && strcmp(c->node, node) == 0)
			return c;
	return NULL;
}

bool
commands_node_visible(struct gw_net *net, const struct gw_driver *drv, const char *user,
                      const char *target, const char *node)
{
	const struct gw_command *c = find_node(drv, target, node);

	return c != NULL && cmd_denied(net, c, user) == NULL;
}

const struct gw_command *
cmd_find_word(const struct gw_driver *drv, const char *target, const char *word)
{
	const struct gw_command *c;
	int t = 0;
	size_t i = 0;

	while ((c = next_command(drv, &t, &i)) != NULL)
		if (in_scope(c, target) && c->word != NULL && strcasecmp(c->word, word) == 0)
			return c;
	return NULL;
}

/* ---- Sessions ---- */

static void tombstone(const char *id, time_t now);

static void
new_session_id(char out[33])
{
	unsigned char r[16];
	size_t i;

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		fatal("getrandom");
	for (i = 0; i < sizeof(r); i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
}

static bool
same_str(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void
clear_outputs(struct gw_cmd *s)
{
	size_t i;

	form_copy_free(s->pending);
	s->pending = NULL;
	form_copy_free(s->result);
	s->result = NULL;
	for (i = 0; i < s->nnotes; i++)
		free(s->notes[i].text);
	free(s->notes);
	s->notes = NULL;
	s->nnotes = 0;
}

struct gw_cmd *
cmd_session_new(struct gw_net *net, const struct gw_driver *drv, const struct gw_command *cmd,
                const char *user, const char *full, const char *target, bool text)
{
	struct gw_cmd *s, *oldest = NULL;
	char id[33];
	size_t n = 0;

	for (s = sessions; s != NULL; s = s->next) {
		if (s->net == net && strcmp(s->user, user) == 0 && !s->running) {
			n++;
			if (oldest == NULL || s->touched <= oldest->touched)
				oldest = s;
		}
	}
	if (n >= MAX_SESSIONS_PER_USER && oldest != NULL)
		cmd_session_free(oldest);

	new_session_id(id);
	s = xcalloc(1, sizeof(*s));
	s->id = xstrdup(id);
	s->net = net;
	s->drv = drv;
	s->cmd = cmd;
	s->user = xstrdup(user);
	s->full = xstrdup(full != NULL ? full : user);
	s->target = xstrdup_or_null(target);
	s->admin = gw_user_is_admin(net, user);
	s->text = text;
	s->touched = time(NULL);
	s->next = sessions;
	sessions = s;
	return s;
}

void
cmd_session_free(struct gw_cmd *s)
{
	struct gw_cmd **pp;
	size_t i;

	for (pp = &sessions; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	/* XEP-0050: a sessionid that was completed, canceled or timed out
	 * is answered with session-expired, not bad-sessionid. */
	if (!s->text)
		tombstone(s->id, time(NULL));
	if (s->data_free != NULL && s->data != NULL)
		s->data_free(s->data);
	clear_outputs(s);
	for (i = 0; i < s->nforms; i++)
		form_copy_free(s->forms[i]);
	free(s->forms);
	free(s->id);
	free(s->user);
	free(s->full);
	free(s->target);
	free(s);
}

static void
tombstone(const char *id, time_t now)
{
	snprintf(tombstones[tombstone_next].id, sizeof(tombstones[0].id), "%s", id);
	tombstones[tombstone_next].when = now;
	tombstone_next = (tombstone_next + 1) % TOMBSTONES;
}

static bool
was_expired(const char *id, time_t now)
{
	size_t i;

	for (i = 0; i < TOMBSTONES; i++)
		if (tombstones[i].id[0] != '\0' && now - tombstones[i].when < TOMBSTONE_TTL &&
		    strcmp(tombstones[i].id, id) == 0)
			return true;
	return false;
}

void
commands_expire(time_t now)
{
	struct gw_cmd *s, *next;
	char who[256];

	for (s = sessions; s != NULL; s = next) {
		next = s->next;
		if (s->running || now - s->touched < COMMANDS_SESSION_TTL)
			continue;
		log_debug("commands: session %s (%s) of %s expired", s->id, s->cmd->node,
		          log_escape(who, sizeof(who), s->user));
		cmd_session_free(s);
	}
}

struct gw_cmd *
cmd_text_session(struct gw_net *net, const char *user, const char *target)
{
	struct gw_cmd *s;

	commands_expire(time(NULL));
	for (s = sessions; s != NULL; s = s->next)
		if (s->text && s->net == net && strcmp(s->user, user) == 0 &&
		    same_str(s->target, target))
			return s;
	return NULL;
}

const struct gw_form *
cmd_session_form(struct gw_cmd *s)
{
	return s->nforms > 0 ? &s->forms[s->nforms - 1]->form : NULL;
}

struct gw_values *
cmd_shown_values(struct gw_cmd *s)
{
	const struct gw_form *form = cmd_session_form(s);
	struct gw_values *v;
	const struct gw_field *f;

	if (form == NULL)
		return gw_values_new();
	v = gw_values_dup(form->current);
	for (f = form->fields; f->var != NULL; f++)
		if (f->type != GW_FIELD_FIXED && f->def != NULL && !gw_values_has(v, f->var))
			gw_values_add(v, f->var, f->def);
	return v;
}

enum gw_cmd_status
cmd_run(struct gw_cmd *s, const struct gw_values *in)
{
	enum gw_cmd_status st;
	int stage = (int)s->nforms;

	clear_outputs(s);
	s->running = true;
	st = s->cmd->step(s, stage, in);
	s->running = false;
	s->touched = time(NULL);
	if (st == GW_CMD_NEXT && s->pending == NULL) {
		log_warnx("commands: %s stage %d asked for a next stage without a form",
		          s->cmd->node, stage);
		gw_cmd_note(s, GW_NOTE_ERROR, "The command failed (internal error).");
		st = GW_CMD_ERROR;
	}
	if (st == GW_CMD_NEXT) {
		s->forms = xreallocarray(s->forms, s->nforms + 1, sizeof(*s->forms));
		s->forms[s->nforms++] = s->pending;
		s->pending = NULL;
	} else if (st == GW_CMD_ERROR) {
		size_t i;
		bool said = false;

		for (i = 0; i < s->nnotes; i++)
			said |= s->notes[i].type == GW_NOTE_ERROR;
		if (!said)
			gw_cmd_note(s, GW_NOTE_ERROR, "The command failed.");
	}
	return st;
}

int
cmd_back(struct gw_cmd *s)
{
	if (s->nforms < 2)
		return -1;
	form_copy_free(s->forms[--s->nforms]);
	clear_outputs(s);
	s->touched = time(NULL);
	return 0;
}

void
commands_init(void)
{
	sessions = NULL;
	core_table = NULL;
	memset(tombstones, 0, sizeof(tombstones));
	tombstone_next = 0;
}

void
commands_shutdown(void)
{
	while (sessions != NULL)
		cmd_session_free(sessions);
	core_table = NULL;
}

void
commands_add_core(const struct gw_command *table)
{
	core_table = table;
}

/* ---- driver.h: gw_cmd_*() ---- */

struct gw_net *
gw_cmd_net(struct gw_cmd *s)
{
	return s->net;
}

const char *
gw_cmd_user(struct gw_cmd *s)
{
	return s->user;
}

const char *
gw_cmd_target(struct gw_cmd *s)
{
	return s->target;
}

bool
gw_cmd_is_admin(struct gw_cmd *s)
{
	return s->admin;
}

void
gw_cmd_set_data(struct gw_cmd *s, void *data, void (*free_fn)(void *))
{
	if (s->data != NULL && s->data != data && s->data_free != NULL)
		s->data_free(s->data);
	s->data = data;
	s->data_free = free_fn;
}

void *
gw_cmd_data(struct gw_cmd *s)
{
	return s->data;
}

void
gw_cmd_form(struct gw_cmd *s, const struct gw_form *form)
{
	form_copy_free(s->pending);
	s->pending = form_copy(form);
}

void
gw_cmd_result(struct gw_cmd *s, const struct gw_form *form)
{
	form_copy_free(s->result);
	s->result = form_copy(form);
}

void
gw_cmd_note(struct gw_cmd *s, enum gw_note type, const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	text = xvasprintf(fmt, ap);
	va_end(ap);
	s->notes = xreallocarray(s->notes, s->nnotes + 1, sizeof(*s->notes));
	s->notes[s->nnotes].type = type;
	s->notes[s->nnotes].text = text;
	s->nnotes++;
}

/* ---- Stanzas ---- */

static xmpp_stanza_t *
new_elem(xmpp_ctx_t *ctx, const char *name, const char *ns)
{
	xmpp_stanza_t *s = xmpp_stanza_new(ctx);

	if (s == NULL)
		fatalx("libstrophe: out of memory");
	xmpp_stanza_set_name(s, name);
	if (ns != NULL)
		xmpp_stanza_set_ns(s, ns);
	return s;
}

/* Append child to parent with text, made safe for XML: notes may carry
 * what a foreign network said. */
static void
add_text(xmpp_stanza_t *parent, xmpp_stanza_t *child, const char *text)
{
	xmpp_stanza_t *t = xmpp_stanza_new(xmpp_stanza_get_context(parent));
	char *clean = form_clean(text, 0, true);

	if (t == NULL)
		fatalx("libstrophe: out of memory");
	xmpp_stanza_set_text(t, clean);
	free(clean);
	xmpp_stanza_add_child_ex(child, t, 0);
	xmpp_stanza_add_child_ex(parent, child, 0);
}

/* An iq of type answering req: id kept, to and from swapped. */
static xmpp_stanza_t *
iq_reply(xmpp_ctx_t *ctx, xmpp_stanza_t *req, const char *type)
{
	xmpp_stanza_t *r = new_elem(ctx, "iq", NULL);
	const char *v;

	xmpp_stanza_set_type(r, type);
	if ((v = xmpp_stanza_get_id(req)) != NULL)
		xmpp_stanza_set_id(r, v);
	if ((v = xmpp_stanza_get_from(req)) != NULL)
		xmpp_stanza_set_to(r, v);
	if ((v = xmpp_stanza_get_to(req)) != NULL)
		xmpp_stanza_set_from(r, v);
	return r;
}

static const char *
error_type(const char *cond)
{
	if (strcmp(cond, "bad-request") == 0)
		return "modify";
	if (strcmp(cond, "internal-server-error") == 0)
		return "wait";
	return "cancel";
}

/* An error reply: cond (RFC 6120), an optional XEP-0050 condition, text. */
static xmpp_stanza_t *
iq_error(xmpp_ctx_t *ctx, xmpp_stanza_t *req, const char *cond, const char *app, const char *text)
{
	xmpp_stanza_t *r = iq_reply(ctx, req, "error"), *err, *c;

	if ((c = xmpp_stanza_get_child_by_name_and_ns(req, "command", COMMANDS_NS)) != NULL &&
	    (c = xmpp_stanza_copy(c)) != NULL)
		xmpp_stanza_add_child_ex(r, c, 0);
	err = new_elem(ctx, "error", NULL);
	xmpp_stanza_set_attribute(err, "type", error_type(cond));
	xmpp_stanza_add_child_ex(err, new_elem(ctx, cond, STANZAS_NS), 0);
	if (text != NULL) {
		c = new_elem(ctx, "text", STANZAS_NS);
		xmpp_stanza_set_attribute(c, "xml:lang", "en");
		add_text(err, c, text);
	}
	if (app != NULL)
		xmpp_stanza_add_child_ex(err, new_elem(ctx, app, COMMANDS_NS), 0);
	xmpp_stanza_add_child_ex(r, err, 0);
	return r;
}

static const char *
note_type(enum gw_note t)
{
	return t == GW_NOTE_ERROR ? "error" : t == GW_NOTE_WARN ? "warn" : "info";
}

/* The result iq for a session after a run that returned st (or canceled). */
static xmpp_stanza_t *
session_reply(xmpp_ctx_t *ctx, xmpp_stanza_t *req, struct gw_cmd *s, const char *status)
{
	xmpp_stanza_t *r = iq_reply(ctx, req, "result");
	xmpp_stanza_t *c = new_elem(ctx, "command", COMMANDS_NS), *a, *n;
	bool executing = strcmp(status, "executing") == 0;
	size_t i;

	xmpp_stanza_set_attribute(c, "node", s->cmd->node);
	xmpp_stanza_set_attribute(c, "sessionid", s->id);
	xmpp_stanza_set_attribute(c, "status", status);
	if (executing) {
		/* Whether the next stage is the last one is the step's secret:
		 * offer both, and treat them alike. */
		a = new_elem(ctx, "actions", NULL);
		xmpp_stanza_set_attribute(a, "execute", "next");
		if (s->nforms > 1)
			xmpp_stanza_add_child_ex(a, new_elem(ctx, "prev", NULL), 0);
		xmpp_stanza_add_child_ex(a, new_elem(ctx, "next", NULL), 0);
		xmpp_stanza_add_child_ex(a, new_elem(ctx, "complete", NULL), 0);
		xmpp_stanza_add_child_ex(c, a, 0);
	}
	/* One note: clients show only the first of several (XEP-0050 allows
	 * many, but profanity and others drop the rest), so the lines are joined
	 * and the note takes the most severe type among them. */
	if (s->nnotes > 0) {
		enum gw_note worst = GW_NOTE_INFO;
		size_t len = 0;
		char *text, *p;

		for (i = 0; i < s->nnotes; i++) {
			len += strlen(s->notes[i].text) + 1;
			if (s->notes[i].type > worst)
				worst = s->notes[i].type;
		}
		p = text = xmalloc(len);
		for (i = 0; i < s->nnotes; i++) {
			size_t l = strlen(s->notes[i].text);

			memcpy(p, s->notes[i].text, l);
			p += l;
			*p++ = i + 1 < s->nnotes ? '\n' : '\0';
		}
		n = new_elem(ctx, "note", NULL);
		xmpp_stanza_set_attribute(n, "type", note_type(worst));
		add_text(c, n, text);
		free(text);
	}
	if (executing && cmd_session_form(s) != NULL)
		xmpp_stanza_add_child_ex(c, form_to_stanza(ctx, cmd_session_form(s), "form"), 0);
	else if (!executing && s->result != NULL)
		xmpp_stanza_add_child_ex(c, form_to_stanza(ctx, &s->result->form, "result"), 0);
	xmpp_stanza_add_child_ex(r, c, 0);
	return r;
}

static xmpp_stanza_t *
run_and_reply(xmpp_ctx_t *ctx, xmpp_stanza_t *req, struct gw_cmd *s, const struct gw_values *in)
{
	enum gw_cmd_status st = cmd_run(s, in);
	xmpp_stanza_t *r =
	        session_reply(ctx, req, s, st == GW_CMD_NEXT ? "executing" : "completed");

	if (st != GW_CMD_NEXT)
		cmd_session_free(s);
	return r;
}

static struct gw_cmd *
find_session(const char *id)
{
	struct gw_cmd *s;

	for (s = sessions; s != NULL; s = s->next)
		if (!s->text && strcmp(s->id, id) == 0)
			return s;
	return NULL;
}

/* A submission to the waiting form: validated, merged over what was shown. */
static xmpp_stanza_t *
submit(xmpp_ctx_t *ctx, xmpp_stanza_t *req, xmpp_stanza_t *cmd, struct gw_cmd *s)
{
	const struct gw_form *form = cmd_session_form(s);
	xmpp_stanza_t *x = xmpp_stanza_get_child_by_name_and_ns(cmd, "x", FORM_NS), *r;
	struct gw_values *in, *merged;
	char *why = NULL;

	if (form == NULL)
		return iq_error(ctx, req, "bad-request", "bad-action", "Nothing to submit.");
	/* Without a form the client keeps every value shown. */
	in = x != NULL ? form_parse_partial(x, form->fields, &why) : gw_values_new();
	if (in == NULL) {
		r = iq_error(ctx, req, "bad-request", "bad-payload", why);
		free(why);
		return r;
	}
	merged = cmd_shown_values(s);
	form_merge(merged, in, form->fields);
	gw_values_free(in);
	if (form_check_required(merged, form->fields, &why) < 0) {
		gw_values_free(merged);
		r = iq_error(ctx, req, "bad-request", "bad-payload", why);
		free(why);
		return r;
	}
	r = run_and_reply(ctx, req, s, merged);
	gw_values_free(merged);
	return r;
}

xmpp_stanza_t *
commands_handle_iq(struct gw_net *net, const struct gw_driver *drv, xmpp_ctx_t *ctx,
                   xmpp_stanza_t *iq, const char *user, const char *full_from, const char *target)
{
	xmpp_stanza_t *cmd, *x, *r;
	const struct gw_command *c;
	const char *type, *node, *action, *sid, *why;
	struct gw_cmd *s;
	time_t now = time(NULL);
	char who[256];

	commands_expire(now);
	type = xmpp_stanza_get_type(iq);
	cmd = xmpp_stanza_get_child_by_name_and_ns(iq, "command", COMMANDS_NS);
	if (type == NULL || strcmp(type, "set") != 0 || cmd == NULL)
		return iq_error(ctx, iq, "bad-request", NULL, "Expected an iq set with a command.");
	node = xmpp_stanza_get_attribute(cmd, "node");
	action = xmpp_stanza_get_attribute(cmd, "action");
	sid = xmpp_stanza_get_attribute(cmd, "sessionid");
	if (action == NULL)
		action = "execute";
	if (node == NULL)
		return iq_error(ctx, iq, "bad-request", NULL, "The command has no node.");
	if (strcmp(action, "execute") != 0 && strcmp(action, "next") != 0 &&
	    strcmp(action, "complete") != 0 && strcmp(action, "prev") != 0 &&
	    strcmp(action, "cancel") != 0)
		return iq_error(ctx, iq, "bad-request", "malformed-action", "Unknown action.");

	if (sid == NULL) {
		if (strcmp(action, "execute") != 0)
			return iq_error(ctx, iq, "bad-request", "bad-sessionid",
			                "This action needs a session.");
		if ((c = find_node(drv, target, node)) == NULL)
			return iq_error(ctx, iq, "item-not-found", NULL, "No such command here.");
		if ((why = cmd_denied(net, c, user)) != NULL)
			return iq_error(ctx, iq, "forbidden", NULL, why);
		s = cmd_session_new(net, drv, c, user, full_from, target, false);
		log_debug("commands: %s runs %s (session %s)", log_escape(who, sizeof(who), user),
		          c->node, s->id);
		return run_and_reply(ctx, iq, s, NULL);
	}

	if ((s = find_session(sid)) == NULL) {
		if (was_expired(sid, now))
			return iq_error(ctx, iq, "not-allowed", "session-expired",
			                "This command session is over or has expired; run the "
			                "command again.");
		return iq_error(ctx, iq, "bad-request", "bad-sessionid",
		                "No such command session.");
	}
	if (full_from == NULL || strcmp(s->full, full_from) != 0)
		return iq_error(ctx, iq, "forbidden", NULL,
		                "This command session belongs to another client.");
	if (strcmp(s->cmd->node, node) != 0 || s->net != net || !same_str(s->target, target))
		return iq_error(ctx, iq, "bad-request", "bad-sessionid",
		                "This session runs another command.");
	/* Rights may have been taken away since the session began. */
	if ((why = cmd_denied(net, s->cmd, user)) != NULL) {
		cmd_session_free(s);
		return iq_error(ctx, iq, "forbidden", NULL, why);
	}
	s->touched = now;
	x = xmpp_stanza_get_child_by_name_and_ns(cmd, "x", FORM_NS);
	if (strcmp(action, "cancel") == 0 || form_is_cancel(x)) {
		clear_outputs(s);
		r = session_reply(ctx, iq, s, "canceled");
		cmd_session_free(s);
		return r;
	}
	if (strcmp(action, "prev") == 0) {
		if (cmd_back(s) < 0)
			return iq_error(ctx, iq, "bad-request", "bad-action",
			                "There is no previous stage.");
		return session_reply(ctx, iq, s, "executing");
	}
	return submit(ctx, iq, cmd, s);
}

struct disco_arg {
	xmpp_ctx_t *ctx;
	xmpp_stanza_t *query;
	const char *jid;
};

static void
disco_item(const struct gw_command *c, void *arg)
{
	struct disco_arg *d = arg;
	xmpp_stanza_t *item = new_elem(d->ctx, "item", NULL);

	xmpp_stanza_set_attribute(item, "jid", d->jid);
	xmpp_stanza_set_attribute(item, "node", c->node);
	xmpp_stanza_set_attribute(item, "name", c->name != NULL ? c->name : c->node);
	xmpp_stanza_add_child_ex(d->query, item, 0);
}

void
commands_disco_items(struct gw_net *net, const struct gw_driver *drv, xmpp_ctx_t *ctx,
                     xmpp_stanza_t *query, const char *to_jid, const char *user, const char *target)
{
	struct disco_arg d = {ctx, query, to_jid};

	cmd_foreach_visible(net, drv, user, target, disco_item, &d);
}
