/*
 * Unit tests for src/commands/commands.c and src/commands/textcmd.c: a multi-stage command
 * driven through XEP-0050 iqs and through chat text.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "form.h"
#include "unit.h"

#define ALICE "alice@example.org"
#define ALICE_PHONE ALICE "/phone"
#define ALICE_LAPTOP ALICE "/laptop"
#define ADMIN "root@example.org"
#define ADMIN_FULL ADMIN "/desk"
#define STRANGER "eve@example.net"
#define GW "irc.example.org"

static xmpp_ctx_t *ctx;
static struct gw_net *net = (struct gw_net *)&ctx; /* opaque: never dereferenced */
static struct gw_values *store;                    /* alice's settings */
static int data_frees;
static char last_announce[256];

/* ---- The core functions the framework needs, faked ---- */

bool
gw_user_is_registered(struct gw_net *n, const char *user)
{
	return strcmp(user, ALICE) == 0 || strcmp(user, ADMIN) == 0;
}

static bool admin_demoted;

bool
gw_user_is_admin(struct gw_net *n, const char *user)
{
	return strcmp(user, ADMIN) == 0 && !admin_demoted;
}

/* ---- Commands under test ---- */

static const char *const colours[] = {"red", "green", "blue", NULL};

static const struct gw_field settings_fields[] = {
        {"nick", GW_FIELD_TEXT, "Nickname", NULL, GW_FIELD_REQUIRED, NULL, NULL},
        {"colour", GW_FIELD_LIST, "Colour", NULL, 0, colours, NULL},
        {"password", GW_FIELD_PRIVATE, "Password", NULL, GW_FIELD_SECRET, NULL, NULL},
        GW_FIELDS_END,
};

static const struct gw_field confirm_fields[] = {
        {"confirm", GW_FIELD_BOOL, "Save these settings?", NULL, GW_FIELD_REQUIRED, NULL, NULL},
        GW_FIELDS_END,
};

static void
count_free(void *p)
{
	data_frees++;
	gw_values_free(p);
}

/* configure: stage 0 shows the settings, 1 asks for confirmation, 2 saves. */
static enum gw_cmd_status
configure_step(struct gw_cmd *cmd, int stage, const struct gw_values *in)
{
	struct gw_form form = {"Settings", "Change what you like.", settings_fields, store};
	struct gw_form confirm = {"Confirm", NULL, confirm_fields, NULL};
	struct gw_form result = {"Saved", NULL, settings_fields, NULL};
	struct gw_values *pending;

	ck_assert_str_eq(gw_cmd_user(cmd), gw_cmd_is_admin(cmd) ? ADMIN : ALICE);
	ck_assert_ptr_eq(gw_cmd_net(cmd), net);
	switch (stage) {
	case 0:
		gw_cmd_form(cmd, &form);
		return GW_CMD_NEXT;
	case 1:
		gw_cmd_set_data(cmd, gw_values_dup(in), count_free);
		gw_cmd_note(cmd, GW_NOTE_INFO, "Nickname will be %s.", gw_values_get(in, "nick"));
		gw_cmd_form(cmd, &confirm);
		return GW_CMD_NEXT;
	default:
		pending = gw_cmd_data(cmd);
		ck_assert_ptr_nonnull(pending);
		if (strcmp(gw_values_get(in, "confirm"), "1") != 0) {
			gw_cmd_note(cmd, GW_NOTE_WARN, "Nothing saved.");
			return GW_CMD_DONE;
		}
		form_merge(store, pending, settings_fields);
		result.current = store;
		gw_cmd_result(cmd, &result);
		gw_cmd_note(cmd, GW_NOTE_INFO, "Settings saved.");
		return GW_CMD_DONE;
	}
}

static enum gw_cmd_status
shutdown_step(struct gw_cmd *cmd, int stage, const struct gw_values *in)
{
	ck_assert(gw_cmd_is_admin(cmd));
	gw_cmd_note(cmd, GW_NOTE_INFO, "Shutting down (not really).");
	return GW_CMD_DONE;
}

static const struct gw_field announce_fields[] = {
        {"text", GW_FIELD_TEXT_MULTI, "Message", NULL, GW_FIELD_REQUIRED, NULL, NULL},
        GW_FIELDS_END,
};

static enum gw_cmd_status
announce_step(struct gw_cmd *cmd, int stage, const struct gw_values *in)
{
	struct gw_form form = {"Announce", NULL, announce_fields, NULL};
	const char *const *lines;
	size_t n;

	if (stage == 0) {
		gw_cmd_form(cmd, &form);
		return GW_CMD_NEXT;
	}
	lines = gw_values_getv(in, "text", &n);
	snprintf(last_announce, sizeof(last_announce), "%zu:%s", n, n > 0 ? lines[0] : "");
	gw_cmd_note(cmd, GW_NOTE_INFO, "Announced to everyone.");
	return GW_CMD_DONE;
}

static enum gw_cmd_status
info_step(struct gw_cmd *cmd, int stage, const struct gw_values *in)
{
	ck_assert_ptr_nonnull(gw_cmd_target(cmd));
	gw_cmd_note(cmd, GW_NOTE_INFO, "About %s.", gw_cmd_target(cmd));
	/* A result of several lines, one of them a warning (as SMS's `lines`). */
	if (strcmp(gw_cmd_target(cmd), "+1777") == 0) {
		gw_cmd_note(cmd, GW_NOTE_WARN, "Second line.");
		gw_cmd_note(cmd, GW_NOTE_INFO, "Third line.");
	}
	return GW_CMD_DONE;
}

static enum gw_cmd_status
broken_step(struct gw_cmd *cmd, int stage, const struct gw_values *in)
{
	return GW_CMD_NEXT; /* without a form: the framework must cope */
}

static const struct gw_command core_cmds[] = {
        {"shutdown", "Shut down", "shutdown", "stop the gateway", GW_ACCESS_ADMIN, GW_SCOPE_GATEWAY,
         shutdown_step},
        {"announce", "Announce", "announce", "message every user", GW_ACCESS_ADMIN,
         GW_SCOPE_GATEWAY, announce_step},
        GW_COMMANDS_END,
};

static const struct gw_command drv_cmds[] = {
        {"configure", "Configure", "configure", "change your settings", GW_ACCESS_REGISTERED,
         GW_SCOPE_GATEWAY, configure_step},
        {"info", "Information", "info", "about this contact", GW_ACCESS_ANYONE, GW_SCOPE_ADDRESS,
         info_step},
        {"broken", "Broken", "broken", "a buggy command", GW_ACCESS_ANYONE, GW_SCOPE_GATEWAY,
         broken_step},
        GW_COMMANDS_END,
};

static const struct gw_driver drv = {
        .name = "test",
        .commands = drv_cmds,
};

static void
setup(void)
{
	xmpp_initialize();
	ctx = xmpp_ctx_new(NULL, NULL);
	commands_init();
	commands_add_core(core_cmds);
	store = gw_values_new();
	gw_values_add(store, "nick", "alice");
	gw_values_add(store, "colour", "green");
	gw_values_add(store, "password", "hunter2");
	data_frees = 0;
	last_announce[0] = '\0';
	admin_demoted = false;
}

static void
teardown(void)
{
	commands_shutdown();
	gw_values_free(store);
	xmpp_ctx_free(ctx);
	xmpp_shutdown();
}

/* ---- iq helpers ---- */

/* Send a command iq; inner goes inside <command>. Returns the reply. */
static xmpp_stanza_t *
run_iq(const char *full, const char *to, const char *target, const char *node, const char *action,
       const char *sid, const char *inner)
{
	char *user = xstrdup(full), *slash, *xml;
	xmpp_stanza_t *iq, *r;

	if ((slash = strchr(user, '/')) != NULL)
		*slash = '\0';
	xml = xasprintf("<iq type='set' id='q1' from='%s' to='%s'>"
	                "<command xmlns='" COMMANDS_NS "' node='%s'%s%s%s%s%s%s>%s</command></iq>",
	                full, to, node, action ? " action='" : "", action ? action : "",
	                action ? "'" : "", sid ? " sessionid='" : "", sid ? sid : "",
	                sid ? "'" : "", inner ? inner : "");
	iq = xmpp_stanza_new_from_string(ctx, xml);
	ck_assert_ptr_nonnull(iq);
	r = commands_handle_iq(net, &drv, ctx, iq, user, full, target);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(xmpp_stanza_get_id(r), "q1");
	ck_assert_str_eq(xmpp_stanza_get_to(r), full);
	ck_assert_str_eq(xmpp_stanza_get_from(r), to);
	xmpp_stanza_release(iq);
	free(xml);
	free(user);
	return r;
}

static xmpp_stanza_t *
command_of(xmpp_stanza_t *r)
{
	xmpp_stanza_t *c = xmpp_stanza_get_child_by_name_and_ns(r, "command", COMMANDS_NS);

	ck_assert_ptr_nonnull(c);
	return c;
}

static void
assert_result(xmpp_stanza_t *r, const char *status)
{
	char *buf = NULL;
	size_t len;

	if (strcmp(xmpp_stanza_get_type(r), "result") != 0) {
		xmpp_stanza_to_text(r, &buf, &len);
		ck_abort_msg("not a result: %s", buf);
	}
	ck_assert_str_eq(xmpp_stanza_get_attribute(command_of(r), "status"), status);
}

/* The reply is an error with cond (and app condition, and text containing
 * needle, when not NULL). */
static void
assert_error(xmpp_stanza_t *r, const char *cond, const char *app, const char *needle)
{
	xmpp_stanza_t *e = xmpp_stanza_get_child_by_name(r, "error"), *t;
	char *text;

	ck_assert_str_eq(xmpp_stanza_get_type(r), "error");
	ck_assert_ptr_nonnull(e);
	/* XEP-0050's table of error types */
	ck_assert_str_eq(xmpp_stanza_get_type(e),
	                 strcmp(cond, "bad-request") == 0 ? "modify" : "cancel");
	ck_assert_ptr_nonnull(xmpp_stanza_get_child_by_name_and_ns(
	        e, cond, "urn:ietf:params:xml:ns:xmpp-stanzas"));
	if (app != NULL)
		ck_assert_ptr_nonnull(xmpp_stanza_get_child_by_name_and_ns(e, app, COMMANDS_NS));
	if (needle != NULL) {
		t = xmpp_stanza_get_child_by_name(e, "text");
		ck_assert_ptr_nonnull(t);
		text = xmpp_stanza_get_text(t);
		ck_assert_msg(strstr(text, needle) != NULL, "'%s' lacks '%s'", text, needle);
		xmpp_free(ctx, text);
	}
}

static char *
session_of(xmpp_stanza_t *r)
{
	const char *sid = xmpp_stanza_get_attribute(command_of(r), "sessionid");

	ck_assert_ptr_nonnull(sid);
	return xstrdup(sid);
}

/* FULL sends ACTION to NODE on the gateway (in session SID, with INNER inside <command>) and
 * the reply is an error (see assert_error). */
static void
iq_fails(const char *full, const char *node, const char *action, const char *sid, const char *inner,
         const char *cond, const char *app, const char *needle)
{
	xmpp_stanza_t *r = run_iq(full, GW, NULL, node, action, sid, inner);

	assert_error(r, cond, app, needle);
	xmpp_stanza_release(r);
}

/* The same, and the reply is a result with STATUS. */
static void
iq_status(const char *full, const char *node, const char *action, const char *sid,
          const char *inner, const char *status)
{
	xmpp_stanza_t *r = run_iq(full, GW, NULL, node, action, sid, inner);

	assert_result(r, status);
	xmpp_stanza_release(r);
}

/* FULL executes NODE on the gateway; returns the new session's id (the caller's). */
static char *
start(const char *full, const char *node)
{
	xmpp_stanza_t *r = run_iq(full, GW, NULL, node, "execute", NULL, NULL);
	char *sid;

	assert_result(r, "executing");
	sid = session_of(r);
	xmpp_stanza_release(r);
	return sid;
}

static xmpp_stanza_t *
form_of(xmpp_stanza_t *r)
{
	return xmpp_stanza_get_child_by_name_and_ns(command_of(r), "x", FORM_NS);
}

static const char *
form_value(xmpp_stanza_t *x, const char *var)
{
	static char buf[256];
	xmpp_stanza_t *f, *v;
	char *t;

	for (f = xmpp_stanza_get_children(x); f != NULL; f = xmpp_stanza_get_next(f)) {
		if (!xmpp_stanza_is_tag(f) || xmpp_stanza_get_attribute(f, "var") == NULL ||
		    strcmp(xmpp_stanza_get_attribute(f, "var"), var) != 0)
			continue;
		if ((v = xmpp_stanza_get_child_by_name(f, "value")) == NULL)
			return NULL;
		t = xmpp_stanza_get_text(v);
		snprintf(buf, sizeof(buf), "%s", t != NULL ? t : "");
		xmpp_free(ctx, t);
		return buf;
	}
	return NULL;
}

static bool
has_action(xmpp_stanza_t *r, const char *action)
{
	xmpp_stanza_t *a = xmpp_stanza_get_child_by_name(command_of(r), "actions");

	return a != NULL && xmpp_stanza_get_child_by_name(a, action) != NULL;
}

static bool
has_note(xmpp_stanza_t *r, const char *type, const char *needle)
{
	xmpp_stanza_t *n;
	char *t;
	bool found = false;

	for (n = xmpp_stanza_get_children(command_of(r)); n != NULL; n = xmpp_stanza_get_next(n)) {
		if (!xmpp_stanza_is_tag(n) || strcmp(xmpp_stanza_get_name(n), "note") != 0 ||
		    strcmp(xmpp_stanza_get_attribute(n, "type"), type) != 0)
			continue;
		t = xmpp_stanza_get_text(n);
		found |= t != NULL && strstr(t, needle) != NULL;
		xmpp_free(ctx, t);
	}
	return found;
}

#define SUBMIT(fields) "<x xmlns='jabber:x:data' type='submit'>" fields "</x>"
#define FIELD(var, val) "<field var='" var "'><value>" val "</value></field>"

/* ---- XEP-0050 ---- */

START_TEST(iq_multi_stage)
{
	xmpp_stanza_t *r;
	char *sid;

	r = run_iq(ALICE_PHONE, GW, NULL, "configure", "execute", NULL, NULL);
	assert_result(r, "executing");
	sid = session_of(r);
	ck_assert(has_action(r, "next"));
	ck_assert(!has_action(r, "prev"));
	ck_assert_str_eq(xmpp_stanza_get_type(form_of(r)), "form");
	ck_assert_str_eq(form_value(form_of(r), "nick"), "alice");
	ck_assert_ptr_null(form_value(form_of(r), "password")); /* secret never shown */
	xmpp_stanza_release(r);

	/* A partial form: only the nick, the password sent empty. */
	r = run_iq(ALICE_PHONE, GW, NULL, "configure", "next", sid,
	           SUBMIT(FIELD("nick", "bob") "<field var='password'/>"));
	assert_result(r, "executing");
	ck_assert(has_action(r, "prev"));
	ck_assert(has_note(r, "info", "Nickname will be bob."));
	ck_assert_ptr_nonnull(form_of(r));
	xmpp_stanza_release(r);

	r = run_iq(ALICE_PHONE, GW, NULL, "configure", "complete", sid,
	           SUBMIT(FIELD("confirm", "true")));
	assert_result(r, "completed");
	ck_assert(has_note(r, "info", "Settings saved."));
	ck_assert_str_eq(xmpp_stanza_get_type(form_of(r)), "result");
	ck_assert_str_eq(form_value(form_of(r), "nick"), "bob");
	xmpp_stanza_release(r);
	ck_assert_int_eq(data_frees, 1);

	/* Nothing omitted was reset (Biboumi's bug), the secret was kept. */
	ck_assert_str_eq(gw_values_get(store, "nick"), "bob");
	ck_assert_str_eq(gw_values_get(store, "colour"), "green");
	ck_assert_str_eq(gw_values_get(store, "password"), "hunter2");

	/* The session is over (XEP-0050: session-expired). */
	iq_fails(ALICE_PHONE, "configure", "next", sid, SUBMIT(""), "not-allowed",
	         "session-expired", NULL);
	free(sid);
}
END_TEST

START_TEST(iq_prev)
{
	xmpp_stanza_t *r;
	char *sid;

	r = run_iq(ALICE_PHONE, GW, NULL, "configure", NULL, NULL, NULL);
	sid = session_of(r);
	xmpp_stanza_release(r);
	iq_status(ALICE_PHONE, "configure", "next", sid, SUBMIT(FIELD("nick", "x")), "executing");
	r = run_iq(ALICE_PHONE, GW, NULL, "configure", "prev", sid, NULL);
	assert_result(r, "executing");
	ck_assert_str_eq(form_value(form_of(r), "nick"), "alice");
	ck_assert(!has_action(r, "prev"));
	xmpp_stanza_release(r);
	iq_fails(ALICE_PHONE, "configure", "prev", sid, NULL, "bad-request", "bad-action", NULL);
	free(sid);
}
END_TEST

START_TEST(iq_cancel)
{
	xmpp_stanza_t *r;
	char *sid;

	sid = start(ALICE_PHONE, "configure");
	iq_status(ALICE_PHONE, "configure", "next", sid, SUBMIT(FIELD("nick", "x")), "executing");
	r = run_iq(ALICE_PHONE, GW, NULL, "configure", "cancel", sid, NULL);
	assert_result(r, "canceled");
	ck_assert_ptr_null(form_of(r));
	xmpp_stanza_release(r);
	ck_assert_int_eq(data_frees, 1);
	ck_assert_str_eq(gw_values_get(store, "nick"), "alice");
	iq_fails(ALICE_PHONE, "configure", "next", sid, SUBMIT(""), "not-allowed",
	         "session-expired", NULL);
	free(sid);

	/* A data form of type cancel cancels too. */
	sid = start(ALICE_PHONE, "configure");
	iq_status(ALICE_PHONE, "configure", "next", sid, "<x xmlns='jabber:x:data' type='cancel'/>",
	          "canceled");
	free(sid);
}
END_TEST

START_TEST(iq_expired)
{
	char *sid;

	sid = start(ALICE_PHONE, "configure");
	iq_status(ALICE_PHONE, "configure", "next", sid, SUBMIT(FIELD("nick", "x")), "executing");
	commands_expire(time(NULL) + COMMANDS_SESSION_TTL + 1);
	ck_assert_int_eq(data_frees, 1);
	iq_fails(ALICE_PHONE, "configure", "next", sid, SUBMIT(FIELD("confirm", "1")),
	         "not-allowed", "session-expired", "expired");
	ck_assert_str_eq(gw_values_get(store, "nick"), "alice");
	free(sid);

	/* Not yet expired: kept. */
	sid = start(ALICE_PHONE, "configure");
	commands_expire(time(NULL) + COMMANDS_SESSION_TTL - 60);
	iq_status(ALICE_PHONE, "configure", "next", sid, SUBMIT(FIELD("nick", "x")), "executing");
	free(sid);
}
END_TEST

START_TEST(iq_other_full_jid)
{
	char *sid;

	sid = start(ALICE_PHONE, "configure");
	iq_fails(ALICE_LAPTOP, "configure", "next", sid, SUBMIT(FIELD("nick", "x")), "forbidden",
	         NULL, "another client");
	iq_fails(ADMIN_FULL, "configure", "cancel", sid, NULL, "forbidden", NULL, NULL);
	/* The owner can still go on. */
	iq_status(ALICE_PHONE, "configure", "next", sid, SUBMIT(FIELD("nick", "x")), "executing");
	free(sid);
}
END_TEST

START_TEST(iq_unknown_and_malformed)
{
	xmpp_stanza_t *r, *iq;

	iq_fails(ALICE_PHONE, "nope", "execute", NULL, NULL, "item-not-found", NULL, NULL);
	/* info is offered on addresses only */
	iq_fails(ALICE_PHONE, "info", "execute", NULL, NULL, "item-not-found", NULL, NULL);
	r = run_iq(STRANGER "/x", "%2B1555@sms.example.org", "+1555", "info", NULL, NULL, NULL);
	assert_result(r, "completed");
	ck_assert(has_note(r, "info", "About +1555."));
	xmpp_stanza_release(r);
	iq_fails(ALICE_PHONE, "configure", "jump", NULL, NULL, "bad-request", "malformed-action",
	         NULL);
	iq_fails(ALICE_PHONE, "configure", "next", "0123", NULL, "bad-request", "bad-sessionid",
	         NULL);

	iq = xmpp_stanza_new_from_string(ctx, "<iq type='get' id='q1' from='a@b/c' to='gw'>"
	                                      "<command xmlns='" COMMANDS_NS "'/></iq>");
	r = commands_handle_iq(net, &drv, ctx, iq, "a@b", "a@b/c", NULL);
	assert_error(r, "bad-request", NULL, NULL);
	xmpp_stanza_release(r);
	xmpp_stanza_release(iq);

	/* A step asking for a stage without a form ends with an error note. */
	r = run_iq(ALICE_PHONE, GW, NULL, "broken", NULL, NULL, NULL);
	assert_result(r, "completed");
	ck_assert(has_note(r, "error", "internal error"));
	xmpp_stanza_release(r);
}
END_TEST

START_TEST(iq_bad_payload_keeps_session)
{
	char *sid;

	sid = start(ALICE_PHONE, "configure");
	iq_fails(ALICE_PHONE, "configure", "next", sid, SUBMIT(FIELD("colour", "purple")),
	         "bad-request", "bad-payload", "'purple' is not a choice");
	iq_fails(ALICE_PHONE, "configure", "next", sid, SUBMIT(FIELD("nick", "")), "bad-request",
	         "bad-payload", "'Nickname' is required");
	iq_status(ALICE_PHONE, "configure", "next", sid, SUBMIT(FIELD("colour", "red")),
	          "executing");
	free(sid);
}
END_TEST

static bool
listed(xmpp_stanza_t *q, const char *node)
{
	xmpp_stanza_t *i;

	for (i = xmpp_stanza_get_children(q); i != NULL; i = xmpp_stanza_get_next(i)) {
		if (strcmp(xmpp_stanza_get_attribute(i, "node"), node) == 0) {
			ck_assert_str_eq(xmpp_stanza_get_attribute(i, "jid"), GW);
			ck_assert_ptr_nonnull(xmpp_stanza_get_attribute(i, "name"));
			return true;
		}
	}
	return false;
}

static xmpp_stanza_t *
items_for(const char *user, const char *target)
{
	xmpp_stanza_t *q = xmpp_stanza_new(ctx);

	xmpp_stanza_set_name(q, "query");
	commands_disco_items(net, &drv, ctx, q, GW, user, target);
	return q;
}

static void expect_text(const char *user, const char *target, const char *body, const char *needle);

START_TEST(iq_admin_only)
{
	xmpp_stanza_t *r, *q;
	char *sid;

	iq_fails(ALICE_PHONE, "shutdown", "execute", NULL, NULL, "forbidden", NULL,
	         "administrators");
	iq_fails(STRANGER "/x", "configure", "execute", NULL, NULL, "forbidden", NULL, "register");
	r = run_iq(ADMIN_FULL, GW, NULL, "shutdown", "execute", NULL, NULL);
	assert_result(r, "completed");
	ck_assert(has_note(r, "info", "Shutting down"));
	xmpp_stanza_release(r);

	/* An admin demoted in the middle of a session is stopped. */
	sid = start(ADMIN_FULL, "announce");
	admin_demoted = true;
	iq_fails(ADMIN_FULL, "announce", "next", sid, SUBMIT(FIELD("text", "hi")), "forbidden",
	         NULL, "administrators");
	ck_assert_str_eq(last_announce, "");
	free(sid);
	expect_text(ADMIN, NULL, "help", "configure"); /* still registered */
	admin_demoted = false;
	expect_text(ADMIN, NULL, "announce", "Message");
	admin_demoted = true;
	expect_text(ADMIN, NULL, "hello", "administrators");
	admin_demoted = false;

	q = items_for(ALICE, NULL);
	ck_assert(listed(q, "configure"));
	ck_assert(!listed(q, "shutdown"));
	ck_assert(!listed(q, "announce"));
	ck_assert(!listed(q, "info"));
	xmpp_stanza_release(q);
	q = items_for(ADMIN, NULL);
	ck_assert(listed(q, "shutdown"));
	ck_assert(listed(q, "configure"));
	xmpp_stanza_release(q);
	q = items_for(STRANGER, NULL);
	ck_assert(!listed(q, "configure"));
	xmpp_stanza_release(q);
	q = items_for(STRANGER, "+1555");
	ck_assert(listed(q, "info"));
	ck_assert(!listed(q, "configure"));
	xmpp_stanza_release(q);

	ck_assert(commands_node_visible(net, &drv, ALICE, NULL, "configure"));
	ck_assert(!commands_node_visible(net, &drv, ALICE, NULL, "shutdown"));
	ck_assert(commands_node_visible(net, &drv, ADMIN, NULL, "shutdown"));
	ck_assert(!commands_node_visible(net, &drv, ADMIN, NULL, "info"));
	ck_assert(commands_node_visible(net, &drv, ADMIN, "+1555", "info"));
	ck_assert(!commands_node_visible(net, &drv, ADMIN, NULL, "nope"));
}
END_TEST

/* One client cannot pile up sessions without end: the oldest go. */
START_TEST(iq_session_cap)
{
	xmpp_stanza_t *r;
	char *first = NULL, *last = NULL;
	int i;

	for (i = 0; i < 40; i++) {
		r = run_iq(ALICE_PHONE, GW, NULL, "configure", "execute", NULL, NULL);
		assert_result(r, "executing");
		if (i == 0)
			first = session_of(r);
		if (i == 39)
			last = session_of(r);
		xmpp_stanza_release(r);
	}
	iq_fails(ALICE_PHONE, "configure", "next", first, SUBMIT(FIELD("nick", "x")), "not-allowed",
	         "session-expired", NULL);
	iq_status(ALICE_PHONE, "configure", "next", last, SUBMIT(FIELD("nick", "x")), "executing");
	free(first);
	free(last);
}
END_TEST

/* ---- Text ---- */

static char *
say(const char *user, const char *target, const char *body)
{
	return commands_handle_text(net, &drv, user, user, target, body);
}

static void
expect_text(const char *user, const char *target, const char *body, const char *needle)
{
	char *out = say(user, target, body);

	ck_assert_msg(out != NULL, "'%s' was not taken as a command", body);
	ck_assert_msg(strstr(out, needle) != NULL, "reply to '%s' lacks '%s':\n%s", body, needle,
	              out);
	free(out);
}

static void
expect_not_text(const char *user, const char *target, const char *body, const char *needle)
{
	char *out = say(user, target, body);

	ck_assert_ptr_nonnull(out);
	ck_assert_msg(strstr(out, needle) == NULL, "reply to '%s' has '%s':\n%s", body, needle,
	              out);
	free(out);
}

/* Several notes reach the client as one (clients show only the first). */
START_TEST(iq_notes_joined)
{
	xmpp_stanza_t *r, *n;
	int notes = 0;
	char *t;

	r = run_iq(STRANGER "/x", "%2B1777@sms.example.org", "+1777", "info", NULL, NULL, NULL);
	assert_result(r, "completed");
	for (n = xmpp_stanza_get_children(command_of(r)); n != NULL; n = xmpp_stanza_get_next(n))
		if (xmpp_stanza_is_tag(n) && strcmp(xmpp_stanza_get_name(n), "note") == 0) {
			notes++;
			ck_assert_str_eq(xmpp_stanza_get_attribute(n, "type"), "warn");
			t = xmpp_stanza_get_text(n);
			ck_assert_str_eq(t, "About +1777.\nSecond line.\nThird line.");
			xmpp_free(ctx, t);
		}
	ck_assert_int_eq(notes, 1);
	xmpp_stanza_release(r);
	/* The text path shows every line too. */
	expect_text(ALICE, "+1777", "!info", "Third line.");
}
END_TEST

START_TEST(text_help)
{
	expect_text(ALICE, NULL, "help", "configure — change your settings");
	expect_not_text(ALICE, NULL, "help", "shutdown");
	expect_not_text(ALICE, NULL, "HELP", "info");
	expect_text(ADMIN, NULL, "help", "shutdown — stop the gateway");
	ck_assert_ptr_null(say(ALICE, NULL, "hello there"));
	ck_assert_ptr_null(say(ALICE, NULL, ""));
	/* On an address only !-prefixed bodies are commands. */
	ck_assert_ptr_null(say(ALICE, "+1555", "help"));
	ck_assert_ptr_null(say(ALICE, "+1555", "info"));
	expect_text(ALICE, "+1555", "!help", "!info — about this contact");
	expect_text(ALICE, "+1555", "!info", "About +1555.");
	/* Refused commands say why. */
	expect_text(ALICE, NULL, "shutdown", "administrators");
	expect_text(STRANGER, NULL, "configure", "register");
}
END_TEST

START_TEST(text_walk)
{
	expect_text(ALICE, NULL, "configure", "nick (Nickname), required: alice");
	expect_text(ALICE, NULL, "configure", ""); /* answered by the session: not a new one */
	ck_assert_int_eq(data_frees, 0);
	/* A bad value keeps the session at its stage. */
	expect_text(ALICE, NULL, "colour=purple", "'purple' is not a choice");
	expect_text(ALICE, NULL, "frobnicate: 3", "do not know");
	/* Options by number, "var: value" lines, label as key. */
	expect_text(ALICE, NULL, "Nickname: carol\ncolour=3", "Save these settings?");
	expect_text(ALICE, NULL, "back", "nick (Nickname)");
	expect_text(ALICE, NULL, "nick=carol\ncolour: 3", "Nickname will be carol.");
	expect_text(ALICE, NULL, "maybe", "must be true or false");
	expect_text(ALICE, NULL, "yes", "Settings saved.");
	ck_assert_str_eq(gw_values_get(store, "nick"), "carol");
	ck_assert_str_eq(gw_values_get(store, "colour"), "blue");
	ck_assert_str_eq(gw_values_get(store, "password"), "hunter2");
	ck_assert_int_eq(data_frees, 2); /* the first replaced after "back" */
	/* The session is over: bodies are messages again. */
	ck_assert_ptr_null(say(ALICE, NULL, "nick=zed"));
}
END_TEST

START_TEST(text_cancel_and_expiry)
{
	expect_text(ALICE, NULL, "configure", "Settings");
	expect_text(ALICE, NULL, "ok", "Nickname will be alice.");
	expect_text(ALICE, NULL, "cancel", "Cancelled configure");
	ck_assert_int_eq(data_frees, 1);
	ck_assert_ptr_null(say(ALICE, NULL, "yes"));

	expect_text(ALICE, NULL, "configure", "Settings");
	commands_expire(time(NULL) + COMMANDS_SESSION_TTL + 1);
	ck_assert_ptr_null(say(ALICE, NULL, "nick=x"));
	ck_assert_str_eq(gw_values_get(store, "nick"), "alice");
}
END_TEST

START_TEST(text_args)
{
	/* Arguments fill in the first form at once. */
	expect_text(ALICE, NULL, "configure nick=dave colour=red", "Nickname will be dave.");
	expect_text(ALICE, NULL, "true", "Settings saved.");
	ck_assert_str_eq(gw_values_get(store, "nick"), "dave");
	ck_assert_str_eq(gw_values_get(store, "colour"), "red");

	/* Bad arguments show the reason and the form. */
	expect_text(ALICE, NULL, "configure colour=pink", "'pink' is not a choice");
	expect_text(ALICE, NULL, "cancel", "Cancelled");

	/* Free text fills a form of one field. */
	expect_text(ADMIN, NULL, "announce Server restarts at noon", "Announced");
	ck_assert_str_eq(last_announce, "1:Server restarts at noon");
	expect_text(ADMIN, NULL, "announce", "Reply with the value");
	expect_text(ADMIN, NULL, "line one\nline two", "Announced");
	ck_assert_str_eq(last_announce, "2:line one");
}
END_TEST

/* Odd input never crashes and never leaves a broken session. */
START_TEST(text_odd_input)
{
	static const char *const odd[] = {
	        "configure =x",
	        "configure a= b=",
	        "configure nick=",
	        "configure nick==x",
	        "configure   nick=a   b\n\ncolour=1",
	        "configure 9=9",
	        "configure colour=0",
	        "configure colour=4",
	        "configure colour=1,2",
	        "configure \xc3\xa9=\xc3\xa9",
	        "!configure",
	        "=",
	        ":",
	        "\n\n",
	        "configure\nnick=x",
	};
	char *out, *big;
	size_t i;

	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		out = say(ALICE, NULL, odd[i]);
		free(out);
		out = say(ALICE, NULL, odd[i]); /* as a reply to a waiting form */
		free(out);
		out = say(ALICE, NULL, "cancel");
		free(out);
	}
	big = xmalloc(100000);
	memset(big, 'a', 99999);
	big[99999] = '\0';
	ck_assert_ptr_null(say(ALICE, NULL, big)); /* too big to be a command */
	expect_text(ALICE, NULL, "configure", "Settings");
	memcpy(big, "nick=", 5);
	big[5000] = '\0';
	expect_text(ALICE, NULL, big, "too long");
	free(big);
	ck_assert_str_eq(gw_values_get(store, "nick"), "alice");
}
END_TEST

START_TEST(text_and_iq_sessions_apart)
{
	char *sid;

	/* A text session does not capture iqs, and an iq session no text. */
	sid = start(ALICE_PHONE, "configure");
	ck_assert_ptr_null(say(ALICE, NULL, "nick=x"));
	expect_text(ALICE, NULL, "configure", "Settings");
	iq_status(ALICE_PHONE, "configure", "next", sid, SUBMIT(FIELD("nick", "y")), "executing");
	free(sid);
	/* Shutdown frees every session with its data. */
	commands_shutdown();
	ck_assert_int_eq(data_frees, 1);
}
END_TEST

static Suite *
commands_suite(void)
{
	Suite *s = suite_create("commands");
	TCase *iq = unit_tcase(s, "xep0050"), *text = unit_tcase(s, "text");

	tcase_add_checked_fixture(iq, setup, teardown);
	unit_tests(iq, iq_multi_stage, iq_notes_joined, iq_prev, iq_cancel, iq_expired,
	           iq_other_full_jid, iq_unknown_and_malformed, iq_bad_payload_keeps_session,
	           iq_admin_only, iq_session_cap);
	tcase_add_checked_fixture(text, setup, teardown);
	unit_tests(text, text_help, text_walk, text_cancel_and_expiry, text_args, text_odd_input,
	           text_and_iq_sessions_apart);
	return s;
}

int
main(void)
{
	return unit_run(commands_suite());
}
