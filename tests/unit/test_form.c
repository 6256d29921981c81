/* Unit tests for src/commands/form.c: rendering, parsing, validation, merging. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "unit.h"

static xmpp_ctx_t *ctx;

static const char *const colours[] = {"red", "green", "blue", NULL};

static const struct gw_field fields[] = {
        {"FORM_TYPE", GW_FIELD_HIDDEN, NULL, NULL, 0, NULL, "urn:example:settings"},
        {"intro", GW_FIELD_FIXED, NULL, NULL, 0, NULL, "Your settings."},
        {"nick", GW_FIELD_TEXT, "Nickname", "Shown to others", GW_FIELD_REQUIRED, NULL, NULL},
        {"password", GW_FIELD_PRIVATE, "Password", NULL, GW_FIELD_SECRET, NULL, NULL},
        {"after", GW_FIELD_TEXT_MULTI, "Commands after connecting", NULL, 0, NULL, NULL},
        {"tls", GW_FIELD_BOOL, "Use TLS", NULL, 0, NULL, "1"},
        {"colour", GW_FIELD_LIST, "Colour", NULL, 0, colours, "red"},
        {"extras", GW_FIELD_LIST_MULTI, "Extras", NULL, 0, colours, NULL},
        {"owner", GW_FIELD_JID, "Owner", NULL, 0, NULL, NULL},
        GW_FIELDS_END,
};

static void
setup(void)
{
	xmpp_initialize();
	ctx = xmpp_ctx_new(NULL, NULL);
}

static void
teardown(void)
{
	xmpp_ctx_free(ctx);
	xmpp_shutdown();
}

static xmpp_stanza_t *
parse(const char *xml)
{
	xmpp_stanza_t *s = xmpp_stanza_new_from_string(ctx, xml);

	ck_assert_ptr_nonnull(s);
	return s;
}

static xmpp_stanza_t *
field_el(xmpp_stanza_t *x, const char *var)
{
	xmpp_stanza_t *c;
	const char *v;

	for (c = xmpp_stanza_get_children(x); c != NULL; c = xmpp_stanza_get_next(c))
		if (xmpp_stanza_is_tag(c) && strcmp(xmpp_stanza_get_name(c), "field") == 0 &&
		    (v = xmpp_stanza_get_attribute(c, "var")) != NULL && strcmp(v, var) == 0)
			return c;
	return NULL;
}

static int
count_children(xmpp_stanza_t *s, const char *name)
{
	xmpp_stanza_t *c;
	int n = 0;

	for (c = xmpp_stanza_get_children(s); c != NULL; c = xmpp_stanza_get_next(c))
		n += xmpp_stanza_is_tag(c) && strcmp(xmpp_stanza_get_name(c), name) == 0;
	return n;
}

static char *
first_value(xmpp_stanza_t *field)
{
	xmpp_stanza_t *v = xmpp_stanza_get_child_by_name(field, "value");

	return v != NULL ? xmpp_stanza_get_text(v) : NULL;
}

/* Submit xml (the fields only) and return the values; why when NULL. */
static struct gw_values *
submit(const char *inner, char **why)
{
	char *xml = xasprintf("<x xmlns='jabber:x:data' type='submit'>%s</x>", inner);
	xmpp_stanza_t *x = parse(xml);
	struct gw_values *v = form_parse_submit(x, fields, why);

	xmpp_stanza_release(x);
	free(xml);
	return v;
}

START_TEST(render_every_type)
{
	struct gw_values *cur = gw_values_new();
	struct gw_form form = {"Settings", "Fill this in", fields, cur};
	xmpp_stanza_t *x, *f;
	char *t;

	gw_values_add(cur, "nick", "alice");
	gw_values_add(cur, "password", "hunter2");
	gw_values_add(cur, "after", "JOIN #a\nJOIN #b");
	gw_values_add(cur, "tls", "0");
	gw_values_add(cur, "extras", "red");
	gw_values_add(cur, "extras", "blue");
	x = form_to_stanza(ctx, &form, "form");
	ck_assert_str_eq(xmpp_stanza_get_ns(x), FORM_NS);
	ck_assert_str_eq(xmpp_stanza_get_type(x), "form");
	t = xmpp_stanza_get_text(xmpp_stanza_get_child_by_name(x, "title"));
	ck_assert_str_eq(t, "Settings");
	xmpp_free(ctx, t);

	f = field_el(x, "FORM_TYPE");
	ck_assert_str_eq(xmpp_stanza_get_type(f), "hidden");
	t = first_value(f);
	ck_assert_str_eq(t, "urn:example:settings");
	xmpp_free(ctx, t);

	f = field_el(x, "intro");
	ck_assert_str_eq(xmpp_stanza_get_type(f), "fixed");

	f = field_el(x, "nick");
	ck_assert_str_eq(xmpp_stanza_get_type(f), "text-single");
	ck_assert_str_eq(xmpp_stanza_get_attribute(f, "label"), "Nickname");
	ck_assert_ptr_nonnull(xmpp_stanza_get_child_by_name(f, "required"));
	ck_assert_ptr_nonnull(xmpp_stanza_get_child_by_name(f, "desc"));
	t = first_value(f);
	ck_assert_str_eq(t, "alice");
	xmpp_free(ctx, t);

	f = field_el(x, "password");
	ck_assert_str_eq(xmpp_stanza_get_type(f), "text-private");
	ck_assert_int_eq(count_children(f, "value"), 0); /* a secret is never shown */

	f = field_el(x, "after");
	ck_assert_str_eq(xmpp_stanza_get_type(f), "text-multi");
	ck_assert_int_eq(count_children(f, "value"), 2);

	f = field_el(x, "tls");
	ck_assert_str_eq(xmpp_stanza_get_type(f), "boolean");
	t = first_value(f);
	ck_assert_str_eq(t, "0");
	xmpp_free(ctx, t);

	f = field_el(x, "colour");
	ck_assert_str_eq(xmpp_stanza_get_type(f), "list-single");
	ck_assert_int_eq(count_children(f, "option"), 3);
	t = first_value(f); /* the default, nothing stored */
	ck_assert_str_eq(t, "red");
	xmpp_free(ctx, t);

	f = field_el(x, "extras");
	ck_assert_str_eq(xmpp_stanza_get_type(f), "list-multi");
	ck_assert_int_eq(count_children(f, "option"), 3);
	ck_assert_int_eq(count_children(f, "value"), 2);

	f = field_el(x, "owner");
	ck_assert_str_eq(xmpp_stanza_get_type(f), "jid-single");
	ck_assert_int_eq(count_children(f, "value"), 0);

	xmpp_stanza_release(x);

	/* A result form has no <required/> and no options. */
	x = form_to_stanza(ctx, &form, "result");
	ck_assert_str_eq(xmpp_stanza_get_type(x), "result");
	ck_assert_ptr_null(xmpp_stanza_get_child_by_name(field_el(x, "nick"), "required"));
	ck_assert_int_eq(count_children(field_el(x, "colour"), "option"), 0);
	xmpp_stanza_release(x);
	gw_values_free(cur);
}
END_TEST

/* What form_to_stanza shows, submitted back, reads as the same values. */
START_TEST(round_trip)
{
	struct gw_values *cur = gw_values_new(), *got;
	struct gw_form form = {NULL, NULL, fields, cur};
	xmpp_stanza_t *x;
	const char *const *v;
	char *why = NULL;
	size_t n;

	gw_values_add(cur, "nick", "alice");
	gw_values_add(cur, "after", "JOIN #a\nJOIN #b");
	gw_values_add(cur, "tls", "1");
	gw_values_add(cur, "colour", "green");
	gw_values_add(cur, "extras", "red");
	gw_values_add(cur, "extras", "blue");
	gw_values_add(cur, "owner", "bob@example.org/phone");
	x = form_to_stanza(ctx, &form, "form");
	xmpp_stanza_set_type(x, "submit");
	got = form_parse_submit(x, fields, &why);
	ck_assert_msg(got != NULL, "%s", why);
	ck_assert_str_eq(gw_values_get(got, "FORM_TYPE"), "urn:example:settings");
	ck_assert_str_eq(gw_values_get(got, "nick"), "alice");
	ck_assert_str_eq(gw_values_get(got, "tls"), "1");
	ck_assert_str_eq(gw_values_get(got, "colour"), "green");
	ck_assert_str_eq(gw_values_get(got, "owner"), "bob@example.org/phone");
	v = gw_values_getv(got, "after", &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(v[0], "JOIN #a");
	ck_assert_str_eq(v[1], "JOIN #b");
	ck_assert_ptr_null(v[2]);
	v = gw_values_getv(got, "extras", &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(v[1], "blue");
	ck_assert(!gw_values_has(got, "intro"));
	ck_assert_str_eq(gw_values_get(got, "password"), ""); /* shown empty */
	gw_values_free(got);
	xmpp_stanza_release(x);
	gw_values_free(cur);
}
END_TEST

START_TEST(boolean_normalised)
{
	static const char *const in[] = {"true", "false", "1", "0"};
	static const char *const want[] = {"1", "0", "1", "0"};
	struct gw_values *v;
	char *why = NULL, *xml;
	size_t i;

	for (i = 0; i < 4; i++) {
		xml = xasprintf("<field var='nick'><value>a</value></field>"
		                "<field var='tls'><value>%s</value></field>",
		                in[i]);
		v = submit(xml, &why);
		ck_assert_msg(v != NULL, "%s", why);
		ck_assert_str_eq(gw_values_get(v, "tls"), want[i]);
		gw_values_free(v);
		free(xml);
	}
	v = submit("<field var='nick'><value>a</value></field>"
	           "<field var='tls'><value>maybe</value></field>",
	           &why);
	ck_assert_ptr_null(v);
	ck_assert_ptr_nonnull(strstr(why, "Use TLS"));
	free(why);
}
END_TEST

static void
expect_error(const char *inner, const char *needle)
{
	char *why = NULL;
	struct gw_values *v = submit(inner, &why);

	ck_assert_msg(v == NULL, "accepted: %s", inner);
	ck_assert_ptr_nonnull(why);
	ck_assert_msg(strstr(why, needle) != NULL, "why '%s' lacks '%s'", why, needle);
	free(why);
}

START_TEST(validation_errors)
{
	struct gw_values *v;
	char *why = NULL;

	expect_error("", "'Nickname' is required");
	expect_error("<field var='nick'><value/></field>", "'Nickname' is required");
	expect_error("<field var='nick'><value>a</value><value>b</value></field>", "single value");
	expect_error("<field var='nick'><value>a&#10;b</value></field>", "single line");
	expect_error("<field var='nick'><value>a&#9;b</value></field>", "control");
	expect_error("<field var='nick'><value>a</value></field>"
	             "<field var='colour'><value>purple</value></field>",
	             "not a choice");
	expect_error("<field var='nick'><value>a</value></field>"
	             "<field var='extras'><value>red</value><value>pink</value></field>",
	             "'pink' is not a choice");
	expect_error("<field var='nick'><value>a</value></field>"
	             "<field var='owner'><value>not a jid@</value></field>",
	             "not a valid JID");
	expect_error("<field var='nick'><value>a</value></field>"
	             "<field var='owner'><value>a@b@c</value></field>",
	             "not a valid JID");

	/* Unknown vars are ignored; a fixed field cannot be set. */
	v = submit("<field var='FORM_TYPE' type='hidden'><value>urn:x</value></field>"
	           "<field var='nick'><value>a</value></field>"
	           "<field var='bogus'><value>x</value></field>"
	           "<field var='intro'><value>x</value></field>",
	           &why);
	ck_assert_msg(v != NULL, "%s", why);
	ck_assert(!gw_values_has(v, "bogus"));
	ck_assert(!gw_values_has(v, "intro"));
	ck_assert_str_eq(gw_values_get(v, "nick"), "a");
	gw_values_free(v);

	/* A too long value is refused. */
	{
		char *big = xmalloc(FORM_MAX_VALUE + 2), *inner;

		memset(big, 'a', FORM_MAX_VALUE + 1);
		big[FORM_MAX_VALUE + 1] = '\0';
		inner = xasprintf("<field var='nick'><value>%s</value></field>", big);
		expect_error(inner, "too long");
		free(inner);
		free(big);
	}
}
END_TEST

START_TEST(partial_submission)
{
	xmpp_stanza_t *x = parse("<x xmlns='jabber:x:data' type='submit'>"
	                         "<field var='colour'><value>blue</value></field></x>");
	struct gw_values *v;
	char *why = NULL;

	/* Strict: the required nick is missing. */
	ck_assert_ptr_null(form_parse_submit(x, fields, &why));
	ck_assert_ptr_nonnull(strstr(why, "Nickname"));
	free(why);
	/* Partial: fine, the merge decides. */
	v = form_parse_partial(x, fields, &why);
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(gw_values_get(v, "colour"), "blue");
	ck_assert(!gw_values_has(v, "nick"));
	gw_values_free(v);
	xmpp_stanza_release(x);
	/* Present and invalid is an error even when partial. */
	x = parse("<x xmlns='jabber:x:data' type='submit'>"
	          "<field var='colour'><value>mauve</value></field></x>");
	ck_assert_ptr_null(form_parse_partial(x, fields, &why));
	ck_assert_ptr_nonnull(strstr(why, "mauve"));
	free(why);
	xmpp_stanza_release(x);
}
END_TEST

START_TEST(cancel_and_not_submit)
{
	xmpp_stanza_t *x = parse("<x xmlns='jabber:x:data' type='cancel'/>");
	char *why = (char *)"unset";

	ck_assert(form_is_cancel(x));
	ck_assert_ptr_null(form_parse_submit(x, fields, &why));
	ck_assert_ptr_null(why);
	xmpp_stanza_release(x);

	x = parse("<x xmlns='jabber:x:data' type='form'/>");
	ck_assert(!form_is_cancel(x));
	ck_assert_ptr_null(form_parse_submit(x, fields, &why));
	ck_assert_ptr_nonnull(why);
	free(why);
	xmpp_stanza_release(x);

	x = parse("<y xmlns='jabber:x:data' type='submit'/>");
	ck_assert_ptr_null(form_parse_submit(x, fields, &why));
	ck_assert_ptr_nonnull(why);
	free(why);
	xmpp_stanza_release(x);
}
END_TEST

START_TEST(merge_partial_keeps_secret)
{
	struct gw_values *stored = gw_values_new(), *sub;
	char *why = NULL;

	gw_values_add(stored, "nick", "alice");
	gw_values_add(stored, "password", "hunter2");
	gw_values_add(stored, "tls", "1");
	gw_values_add(stored, "colour", "blue");

	/* Only nick and an empty password: the rest stays. */
	sub = submit("<field var='nick'><value>bob</value></field>"
	             "<field var='password'><value/></field>",
	             &why);
	ck_assert_msg(sub != NULL, "%s", why);
	form_merge(stored, sub, fields);
	gw_values_free(sub);
	ck_assert_str_eq(gw_values_get(stored, "nick"), "bob");
	ck_assert_str_eq(gw_values_get(stored, "password"), "hunter2");
	ck_assert_str_eq(gw_values_get(stored, "tls"), "1");
	ck_assert_str_eq(gw_values_get(stored, "colour"), "blue");

	/* A new secret replaces the stored one; false is kept as "0". */
	sub = submit("<field var='nick'><value>bob</value></field>"
	             "<field var='password'><value>s3cret</value></field>"
	             "<field var='tls'><value>false</value></field>",
	             &why);
	ck_assert_msg(sub != NULL, "%s", why);
	form_merge(stored, sub, fields);
	gw_values_free(sub);
	ck_assert_str_eq(gw_values_get(stored, "password"), "s3cret");
	ck_assert_str_eq(gw_values_get(stored, "tls"), "0");

	/* A list-multi sent empty is cleared, not kept. */
	gw_values_add(stored, "extras", "red");
	sub = submit("<field var='nick'><value>bob</value></field><field var='extras'/>", &why);
	ck_assert_msg(sub != NULL, "%s", why);
	form_merge(stored, sub, fields);
	gw_values_free(sub);
	ck_assert(gw_values_has(stored, "extras"));
	ck_assert_ptr_null(gw_values_get(stored, "extras"));
	gw_values_free(stored);
}
END_TEST

START_TEST(required_secret_after_merge)
{
	static const struct gw_field f2[] = {
	        {"pass", GW_FIELD_PRIVATE, "Password", NULL, GW_FIELD_REQUIRED | GW_FIELD_SECRET,
	         NULL, NULL},
	        GW_FIELDS_END,
	};
	struct gw_values *raw = gw_values_new(), *v, *stored = gw_values_new();
	char *why = NULL;

	gw_values_add(raw, "pass", "");
	v = form_validate(raw, f2, false, &why); /* empty secret: maybe kept */
	ck_assert_ptr_nonnull(v);
	form_merge(stored, v, f2);
	ck_assert_int_eq(form_check_required(stored, f2, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "Password"));
	free(why);
	gw_values_add(stored, "pass", "old");
	form_merge(stored, v, f2);
	ck_assert_int_eq(form_check_required(stored, f2, &why), 0);
	ck_assert_str_eq(gw_values_get(stored, "pass"), "old");
	gw_values_free(v);
	gw_values_free(raw);
	gw_values_free(stored);
}
END_TEST

START_TEST(values_api)
{
	struct gw_values *v = gw_values_new(), *d;
	size_t n;

	ck_assert(!gw_values_has(v, "a"));
	ck_assert_ptr_null(gw_values_get(v, "a"));
	ck_assert_ptr_null(gw_values_getv(v, "a", &n)[0]);
	ck_assert_uint_eq(n, 0);
	gw_values_add(v, "a", "1");
	gw_values_add(v, "a", "2");
	gw_values_add(v, "b", NULL); /* present, no value */
	d = gw_values_dup(v);
	gw_values_free(v);
	ck_assert_str_eq(gw_values_get(d, "a"), "1");
	ck_assert_str_eq(gw_values_getv(d, "a", &n)[1], "2");
	ck_assert_uint_eq(n, 2);
	ck_assert(gw_values_has(d, "b"));
	ck_assert_uint_eq(gw_values_count(d), 2);
	gw_values_remove(d, "a");
	ck_assert(!gw_values_has(d, "a"));
	ck_assert_str_eq(gw_values_var(d, 0), "b");
	gw_values_free(d);
	gw_values_free(NULL);
}
END_TEST

START_TEST(copy_is_deep)
{
	struct gw_field local[3];
	const char *opts[] = {"x", "y", NULL};
	struct gw_values *cur = gw_values_new();
	struct gw_form form = {"T", "I", local, cur};
	struct form_copy *c;

	memset(local, 0, sizeof(local));
	local[0] =
	        (struct gw_field){"one", GW_FIELD_LIST, "One", "d", GW_FIELD_REQUIRED, opts, "x"};
	local[1] = (struct gw_field){"two", GW_FIELD_TEXT, NULL, NULL, 0, NULL, NULL};
	gw_values_add(cur, "two", "val");
	c = form_copy(&form);
	memset(local, 0, sizeof(local));
	opts[0] = "changed";
	gw_values_free(cur);
	ck_assert_uint_eq(c->nfields, 2);
	ck_assert_str_eq(c->form.title, "T");
	ck_assert_str_eq(c->form.fields[0].var, "one");
	ck_assert_str_eq(c->form.fields[0].options[0], "x");
	ck_assert_ptr_null(c->form.fields[0].options[2]);
	ck_assert_ptr_null(c->form.fields[2].var);
	ck_assert_str_eq(gw_values_get(c->form.current, "two"), "val");
	form_copy_free(c);
}
END_TEST

START_TEST(clean_text)
{
	char *c;

	c = form_clean("ok \x01"
	               "bad\xff\xc3(\xed\xa0\x80\nline\ttab",
	               0, true);
	ck_assert_str_eq(
	        c,
	        "ok bad\xef\xbf\xbd\xef\xbf\xbd(\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\nline\ttab");
	free(c);
	c = form_clean("a\nb", 0, false);
	ck_assert_str_eq(c, "ab");
	free(c);
	/* Cut on a character boundary: é is two bytes. */
	c = form_clean("\xc3\xa9\xc3\xa9\xc3\xa9", 5, false);
	ck_assert_str_eq(c, "\xc3\xa9\xc3\xa9\xe2\x80\xa6");
	free(c);
	c = form_clean("\xef\xbf\xbf", 0, false); /* U+FFFF is not XML */
	ck_assert_str_eq(c, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	free(c);
}
END_TEST

/* A driver's dirty strings never reach the stanza as they are. */
START_TEST(render_dirty)
{
	static const struct gw_field f[] = {
	        {"info", GW_FIELD_TEXT,
	         "Lab\x02"
	         "el",
	         NULL, 0, NULL, NULL},
	        GW_FIELDS_END,
	};
	struct gw_values *cur = gw_values_new();
	struct gw_form form = {"Ti\x1btle", NULL, f, cur};
	xmpp_stanza_t *x;
	char *buf;
	size_t len;

	gw_values_add(cur, "info", "va\xfflue\x07");
	x = form_to_stanza(ctx, &form, "result");
	xmpp_stanza_to_text(x, &buf, &len);
	ck_assert_ptr_null(strchr(buf, 0x02));
	ck_assert_ptr_null(strchr(buf, 0x1b));
	ck_assert_ptr_null(strchr(buf, 0x07));
	ck_assert_ptr_nonnull(strstr(buf, "va\xef\xbf\xbdlue"));
	xmpp_free(ctx, buf);
	xmpp_stanza_release(x);
	gw_values_free(cur);
}
END_TEST

static Suite *
form_suite(void)
{
	Suite *s = suite_create("form");
	TCase *tc = unit_tcase(s, "core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, render_every_type);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, boolean_normalised);
	tcase_add_test(tc, validation_errors);
	tcase_add_test(tc, partial_submission);
	tcase_add_test(tc, cancel_and_not_submit);
	tcase_add_test(tc, merge_partial_keeps_secret);
	tcase_add_test(tc, required_secret_after_merge);
	tcase_add_test(tc, values_api);
	tcase_add_test(tc, copy_is_deep);
	tcase_add_test(tc, clean_text);
	tcase_add_test(tc, render_dirty);
	return s;
}

int
main(void)
{
	return unit_run(form_suite());
}
