/*
 * Unit tests of src/xmpp/stanza.c: the RFC 6120 condition and type of every
 * gw_error, error and result replies (addresses swapped, id kept), and the
 * message and presence builders, read back as the XML that goes out.
 */
#include "config.h"

#include <check.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "component.h"
#include "log.h"
#include "stanza.h"
#include "unit.h"

#define NS_STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"

static struct event_base *base;

/* The builders take their libstrophe context from the component module. */
static void
setup(void)
{
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	component_global_init(base);
	ck_assert_ptr_nonnull(component_ctx());
}

static void
teardown(void)
{
	component_global_shutdown();
	event_base_free(base);
}

static xmpp_stanza_t *
parse(const char *xml)
{
	xmpp_stanza_t *s = xmpp_stanza_new_from_string(component_ctx(), xml);

	ck_assert_ptr_nonnull(s);
	return s;
}

/* The stanza as it would be written to the stream. Caller frees with free(). */
static char *
text(xmpp_stanza_t *s)
{
	char *buf, *out;
	size_t len;

	ck_assert_int_eq(xmpp_stanza_to_text(s, &buf, &len), XMPP_EOK);
	out = strdup(buf);
	xmpp_free(component_ctx(), buf);
	return out;
}

#define ATTR_EQ(st, name, want) ck_assert_str_eq(xmpp_stanza_get_attribute(st, name), want)
#define NO_ATTR(st, name) ck_assert_ptr_null(xmpp_stanza_get_attribute(st, name))

/* ST is a NAME stanza with this type, id, from and to (NULL: the attribute is absent). */
static void
stanza_is(xmpp_stanza_t *st, const char *name, const char *type, const char *id, const char *from,
          const char *to)
{
	ck_assert_str_eq(xmpp_stanza_get_name(st), name);
	ck_assert_pstr_eq(xmpp_stanza_get_attribute(st, "type"), type);
	ck_assert_pstr_eq(xmpp_stanza_get_attribute(st, "id"), id);
	ck_assert_pstr_eq(xmpp_stanza_get_attribute(st, "from"), from);
	ck_assert_pstr_eq(xmpp_stanza_get_attribute(st, "to"), to);
}

static const struct {
	enum gw_error e;
	const char *condition, *type;
} mapping[] = {
        {GW_ERR_NONE, "undefined-condition", "cancel"},
        {GW_ERR_BAD_REQUEST, "bad-request", "modify"},
        {GW_ERR_CONFLICT, "conflict", "cancel"},
        {GW_ERR_FORBIDDEN, "forbidden", "auth"},
        {GW_ERR_INTERNAL, "internal-server-error", "wait"},
        {GW_ERR_ITEM_NOT_FOUND, "item-not-found", "cancel"},
        {GW_ERR_JID_MALFORMED, "jid-malformed", "modify"},
        {GW_ERR_NOT_ACCEPTABLE, "not-acceptable", "modify"},
        {GW_ERR_NOT_ALLOWED, "not-allowed", "cancel"},
        {GW_ERR_NOT_AUTHORIZED, "not-authorized", "auth"},
        {GW_ERR_RECIPIENT_UNAVAILABLE, "recipient-unavailable", "wait"},
        {GW_ERR_REGISTRATION_REQUIRED, "registration-required", "auth"},
        {GW_ERR_REMOTE_SERVER_NOT_FOUND, "remote-server-not-found", "cancel"},
        {GW_ERR_REMOTE_SERVER_TIMEOUT, "remote-server-timeout", "wait"},
        {GW_ERR_RESOURCE_CONSTRAINT, "resource-constraint", "wait"},
        {GW_ERR_SERVICE_UNAVAILABLE, "service-unavailable", "cancel"},
        {GW_ERR_POLICY_VIOLATION, "policy-violation", "modify"},
};
#define NMAPPING (sizeof(mapping) / sizeof(mapping[0]))

/* RFC 6120 section 8.3.3: the defined stanza error conditions. */
static const char *const rfc6120_conditions[] = {
        "bad-request",
        "conflict",
        "feature-not-implemented",
        "forbidden",
        "gone",
        "internal-server-error",
        "item-not-found",
        "jid-malformed",
        "not-acceptable",
        "not-allowed",
        "not-authorized",
        "policy-violation",
        "recipient-unavailable",
        "redirect",
        "registration-required",
        "remote-server-not-found",
        "remote-server-timeout",
        "resource-constraint",
        "service-unavailable",
        "subscription-required",
        "undefined-condition",
        "unexpected-request",
};

START_TEST(error_mapping)
{
	/* The table covers every gw_error: the last one is GW_ERR_POLICY_VIOLATION. */
	ck_assert_int_eq(mapping[NMAPPING - 1].e, GW_ERR_POLICY_VIOLATION);
	for (size_t i = 0; i < NMAPPING; i++) {
		const char *c = stanza_error_condition(mapping[i].e);
		const char *t = stanza_error_type(mapping[i].e);
		int defined = 0;

		ck_assert_int_eq(mapping[i].e, (int)i);
		ck_assert_str_eq(c, mapping[i].condition);
		ck_assert_str_eq(t, mapping[i].type);
		for (size_t k = 0; k < sizeof(rfc6120_conditions) / sizeof(rfc6120_conditions[0]);
		     k++)
			defined |= strcmp(c, rfc6120_conditions[k]) == 0;
		ck_assert_msg(defined, "%s is not an RFC 6120 condition", c);
		ck_assert(strcmp(t, "auth") == 0 || strcmp(t, "cancel") == 0 ||
		          strcmp(t, "continue") == 0 || strcmp(t, "modify") == 0 ||
		          strcmp(t, "wait") == 0);
	}
	/* A value outside the enum does not read past the table. */
	ck_assert_str_eq(stanza_error_condition((enum gw_error)(NMAPPING + 5)),
	                 "undefined-condition");
	ck_assert_str_eq(stanza_error_type((enum gw_error)(NMAPPING + 5)), "cancel");
	ck_assert_str_eq(stanza_error_condition((enum gw_error) - 1), "undefined-condition");
	ck_assert_str_eq(stanza_error_type((enum gw_error) - 1), "cancel");
}
END_TEST

START_TEST(error_reply_iq)
{
	xmpp_stanza_t *req = parse("<iq type='set' id='q1' from='alice@example.com/phone' "
	                           "to='gw.example.com'><query xmlns='jabber:iq:register'/></iq>");

	for (size_t i = 0; i < NMAPPING; i++) {
		xmpp_stanza_t *r = stanza_error_reply(req, mapping[i].e, "Nope <&>"), *err, *cond,
		              *t;
		char *out, *msg;

		stanza_is(r, "iq", "error", "q1", "gw.example.com", "alice@example.com/phone");
		err = xmpp_stanza_get_child_by_name(r, "error");
		ck_assert_ptr_nonnull(err);
		ATTR_EQ(err, "type", mapping[i].type);
		cond = xmpp_stanza_get_child_by_name(err, mapping[i].condition);
		ck_assert_ptr_nonnull(cond);
		ck_assert_str_eq(xmpp_stanza_get_ns(cond), NS_STANZAS);
		t = xmpp_stanza_get_child_by_name(err, "text");
		ck_assert_ptr_nonnull(t);
		ck_assert_str_eq(xmpp_stanza_get_ns(t), NS_STANZAS);
		ATTR_EQ(t, "xml:lang", "en");
		msg = xmpp_stanza_get_text(t);
		ck_assert_str_eq(msg, "Nope <&>");
		xmpp_free(component_ctx(), msg);
		/* The text is escaped on the wire. */
		out = text(r);
		ck_assert_ptr_nonnull(strstr(out, "Nope &lt;&amp;&gt;"));
		free(out);
		xmpp_stanza_release(r);
	}
	xmpp_stanza_release(req);
}
END_TEST

START_TEST(error_reply_message)
{
	/* No id, no text: the reply has neither. */
	xmpp_stanza_t *req = parse("<message type='chat' from='alice@example.com/phone' "
	                           "to='+15551234567@sms.gw'><body>hi</body></message>");
	xmpp_stanza_t *r = stanza_error_reply(req, GW_ERR_RECIPIENT_UNAVAILABLE, NULL), *err;

	stanza_is(r, "message", "error", NULL, "+15551234567@sms.gw", "alice@example.com/phone");
	err = xmpp_stanza_get_child_by_name(r, "error");
	ATTR_EQ(err, "type", "wait");
	ck_assert_ptr_nonnull(stanza_child(err, "recipient-unavailable", NS_STANZAS));
	ck_assert_ptr_null(xmpp_stanza_get_child_by_name(err, "text"));
	xmpp_stanza_release(r);
	xmpp_stanza_release(req);

	/* A presence without from/to gets a reply without them. */
	req = parse("<presence id='p1'/>");
	r = stanza_error_reply(req, GW_ERR_NOT_ALLOWED, NULL);
	ck_assert_str_eq(xmpp_stanza_get_name(r), "presence");
	ATTR_EQ(r, "id", "p1");
	NO_ATTR(r, "from");
	NO_ATTR(r, "to");
	xmpp_stanza_release(r);
	xmpp_stanza_release(req);
}
END_TEST

START_TEST(iq_result)
{
	xmpp_stanza_t *req = parse("<iq type='get' id='v1' from='alice@example.com/phone' "
	                           "to='irc.gw'><query xmlns='jabber:iq:version'/></iq>");
	xmpp_stanza_t *child = xmpp_stanza_new(component_ctx()), *r;

	xmpp_stanza_set_name(child, "query");
	xmpp_stanza_set_ns(child, "jabber:iq:version");
	stanza_add_text_child(child, "name", NULL, "stanzagate");
	r = stanza_iq_result(req, child);
	stanza_is(r, "iq", "result", "v1", "irc.gw", "alice@example.com/phone");
	ck_assert_ptr_eq(stanza_child(r, "query", "jabber:iq:version"), child);
	/* The child is referenced, not stolen: the caller still releases its own. */
	xmpp_stanza_release(child);
	ck_assert_ptr_nonnull(stanza_child(r, "query", NULL));
	xmpp_stanza_release(r);

	r = stanza_iq_result(req, NULL);
	ck_assert_ptr_null(xmpp_stanza_get_children(r));
	xmpp_stanza_release(r);
	xmpp_stanza_release(req);
}
END_TEST

START_TEST(message)
{
	xmpp_stanza_t *m = stanza_message("chat", "#chan%irc.example.net@irc.gw/nick",
	                                  "alice@example.com", "m1", "a < b & \"c\"");
	char *body, *out;

	stanza_is(m, "message", "chat", "m1", "#chan%irc.example.net@irc.gw/nick",
	          "alice@example.com");
	body = stanza_child_text(m, "body");
	ck_assert_str_eq(body, "a < b & \"c\"");
	xmpp_free(component_ctx(), body);
	out = text(m);
	ck_assert_ptr_nonnull(strstr(out, "<body>a &lt; b &amp; "));
	free(out);
	xmpp_stanza_release(m);

	/* No body: no <body/>. */
	m = stanza_message("headline", "sms.gw", "alice@example.com", "m2", NULL);
	ATTR_EQ(m, "type", "headline");
	ck_assert_ptr_null(stanza_child(m, "body", NULL));
	ck_assert_ptr_null(stanza_child_text(m, "body"));
	xmpp_stanza_release(m);
}
END_TEST

START_TEST(message_generated_ids)
{
	xmpp_stanza_t *a = stanza_message("chat", "x@gw", "alice@example.com", NULL, "1");
	xmpp_stanza_t *b = stanza_message("chat", "x@gw", "alice@example.com", NULL, "2");
	const char *ida = xmpp_stanza_get_id(a), *idb = xmpp_stanza_get_id(b);
	char *n1 = stanza_new_id(), *n2 = stanza_new_id();

	ck_assert_ptr_nonnull(ida);
	ck_assert_ptr_nonnull(idb);
	ck_assert_str_ne(ida, idb);
	ck_assert_int_eq(strncmp(ida, "sg-", 3), 0);
	ck_assert_str_ne(n1, n2);
	ck_assert_str_ne(n1, ida);
	{
		/* "sg-" salt (8 hex digits) "-" counter (hex): consecutive counters. */
		unsigned int s1, s2;
		unsigned long c1, c2;
		int end = 0;

		ck_assert_int_eq(sscanf(n1, "sg-%8x-%lx%n", &s1, &c1, &end), 2);
		ck_assert_int_eq((int)strlen(n1), end);
		ck_assert_int_eq(n1[11], '-');
		ck_assert_int_eq(sscanf(n2, "sg-%8x-%lx", &s2, &c2), 2);
		ck_assert_uint_eq(s1, s2);
		ck_assert_uint_eq(c2, c1 + 1);
		ck_assert_int_eq(strspn(n1 + 3, "0123456789abcdef"), 8);
	}
	free(n1);
	free(n2);
	xmpp_stanza_release(a);
	xmpp_stanza_release(b);
}
END_TEST

START_TEST(presence)
{
	xmpp_stanza_t *p = stanza_presence("+15551234567@sms.gw", "alice@example.com", NULL);

	ck_assert_str_eq(xmpp_stanza_get_name(p), "presence");
	ATTR_EQ(p, "from", "+15551234567@sms.gw");
	ATTR_EQ(p, "to", "alice@example.com");
	NO_ATTR(p, "type"); /* available */
	xmpp_stanza_release(p);

	p = stanza_presence("sms.gw", "alice@example.com", "subscribe");
	ATTR_EQ(p, "type", "subscribe");
	xmpp_stanza_release(p);
	p = stanza_presence("sms.gw", "alice@example.com", "unavailable");
	ATTR_EQ(p, "type", "unavailable");
	xmpp_stanza_release(p);
}
END_TEST

/* The next child that is an element or non-empty text. */
static xmpp_stanza_t *
significant(xmpp_stanza_t *c)
{
	while (c && xmpp_stanza_is_text(c) && *xmpp_stanza_get_text_ptr(c) == '\0')
		c = xmpp_stanza_get_next(c);
	return c;
}

/* The same XML: names, attributes (any order), text and children. */
static void
same_tree(xmpp_stanza_t *a, xmpp_stanza_t *b)
{
	const char *attrs[128];
	int n;

	ck_assert_int_eq(xmpp_stanza_is_text(a), xmpp_stanza_is_text(b));
	if (xmpp_stanza_is_text(a)) {
		ck_assert_str_eq(xmpp_stanza_get_text_ptr(a), xmpp_stanza_get_text_ptr(b));
		return;
	}
	ck_assert_str_eq(xmpp_stanza_get_name(a), xmpp_stanza_get_name(b));
	ck_assert_int_eq(xmpp_stanza_get_attribute_count(a), xmpp_stanza_get_attribute_count(b));
	n = xmpp_stanza_get_attributes(a, attrs, 128);
	for (int i = 0; i + 1 < n; i += 2)
		ck_assert_str_eq(xmpp_stanza_get_attribute(b, attrs[i]), attrs[i + 1]);
	a = significant(xmpp_stanza_get_children(a));
	b = significant(xmpp_stanza_get_children(b));
	while (a && b) {
		same_tree(a, b);
		a = significant(xmpp_stanza_get_next(a));
		b = significant(xmpp_stanza_get_next(b));
	}
	ck_assert_ptr_null(a);
	ck_assert_ptr_null(b);
}

/* Our rendering parses back to the same XML as libstrophe's own. */
static void
render_same(xmpp_stanza_t *st)
{
	char *theirs = text(st);
	struct strbuf mine = {NULL, 0, 0};
	xmpp_stanza_t *back, *want;

	ck_assert_int_eq(stanza_render(st, &mine), 0);
	ck_assert_uint_eq(mine.len, strlen(mine.p));
	back = parse(mine.p);
	want = parse(theirs);
	same_tree(back, want);
	free(mine.p);
	free(theirs);
	xmpp_stanza_release(back);
	xmpp_stanza_release(want);
}

START_TEST(render)
{
	xmpp_stanza_t *m = stanza_message("groupchat", "#c%irc.x@gw/n\"i'k", "a@b/r", "id&1",
	                                  "1 < 2 && 3 > 2 \"quoted\" 'single'");
	xmpp_stanza_t *big = xmpp_stanza_new(component_ctx());
	struct strbuf out = {NULL, 0, 0};
	char name[16];

	xmpp_stanza_set_attribute(stanza_add_child(m, "stanza-id", "urn:xmpp:sid:0"), "id", "7");
	stanza_add_child(m, "request", "urn:xmpp:receipts");
	stanza_add_text_child(m, "subject", NULL, "");
	render_same(m);

	/* exactly what goes on the wire for a small one */
	ck_assert_int_eq(stanza_render(m, &out), 0);
	ck_assert_ptr_nonnull(
	        strstr(out.p, "<body>1 &lt; 2 &amp;&amp; 3 &gt; 2 \"quoted\" 'single'</body>"));
	ck_assert_ptr_nonnull(strstr(out.p, " from=\"#c%irc.x@gw/n&quot;i'k\""));
	ck_assert_ptr_nonnull(strstr(out.p, "<request xmlns=\"urn:xmpp:receipts\"/>"));
	ck_assert_int_eq(strncmp(out.p, "<message ", 9), 0);
	ck_assert_str_eq(out.p + out.len - 10, "</message>");
	/* appended: a second stanza follows the first in the same buffer */
	ck_assert_int_eq(stanza_render(m, &out), 0);
	ck_assert_ptr_nonnull(strstr(out.p, "</message><message "));
	ck_assert_str_eq(out.p + out.len - 10, "</message>");

	/* parsed stanzas, with namespaces on every level, and UTF-8 */
	xmpp_stanza_release(m);
	m = parse(
	        "<iq type='result' id='x' xmlns='jabber:component:accept'><query "
	        "xmlns='http://jabber.org/protocol/disco#items'><item jid='a@b' name='caf\xc3\xa9 "
	        "&amp; &lt;tea&gt;'/></query></iq>");
	render_same(m);
	xmpp_stanza_release(m);

	/* an element with more attributes than the renderer keeps on its stack */
	xmpp_stanza_set_name(big, "x");
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "a%d", i);
		xmpp_stanza_set_attribute(big, name, "v<\"");
	}
	render_same(big);
	xmpp_stanza_release(big);

	/* a stanza without a name cannot be rendered, and leaves the buffer as it was */
	big = xmpp_stanza_new(component_ctx());
	{
		size_t before = out.len;

		ck_assert_int_eq(stanza_render(big, &out), -1);
		ck_assert_uint_eq(out.len, before);
		ck_assert_uint_eq(strlen(out.p), before);
	}
	xmpp_stanza_release(big);
	free(out.p);
}
END_TEST

START_TEST(children)
{
	xmpp_stanza_t *m = stanza_message("chat", "a@gw", "b@example.com", "c1", NULL);
	xmpp_stanza_t *a, *b, *t;
	char *s;

	a = stanza_add_child(m, "active", "http://jabber.org/protocol/chatstates");
	b = stanza_add_child(m, "x", "jabber:x:conference");
	t = stanza_add_text_child(m, "subject", NULL, NULL);
	ck_assert_ptr_eq(stanza_child(m, "active", NULL), a);
	ck_assert_ptr_eq(stanza_child(m, "active", "http://jabber.org/protocol/chatstates"), a);
	ck_assert_ptr_null(stanza_child(m, "active", "jabber:x:conference"));
	ck_assert_ptr_eq(stanza_child(m, "x", "jabber:x:conference"), b);
	ck_assert_ptr_null(stanza_child(m, "missing", NULL));
	ck_assert_ptr_eq(stanza_child(m, "subject", NULL), t);
	/* NULL text becomes an empty element, which has no text (NULL) to read back. */
	ck_assert_ptr_null(stanza_child_text(m, "subject"));
	s = text(m);
	ck_assert(strstr(s, "<subject/>") || strstr(s, "<subject></subject>"));
	free(s);
	xmpp_stanza_release(m);
}
END_TEST

static Suite *
stanza_suite(void)
{
	Suite *s = suite_create("stanza");
	TCase *tc = unit_tcase(s, "stanza");

	tcase_add_checked_fixture(tc, setup, teardown);
	unit_tests(tc, error_mapping, error_reply_iq, error_reply_message, iq_result, message,
	           message_generated_ids, presence, children, render);
	return s;
}

int
main(void)
{
	log_init(1, 0, "test_stanza");
	return unit_run(stanza_suite());
}
