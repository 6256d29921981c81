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

/* Values from a NULL-ended list of var, value pairs; the caller frees them. */
static struct gw_values *
values_of(const char *const *pairs)
{
	struct gw_values *v = gw_values_new();

	for (; pairs[0] != NULL; pairs += 2)
		gw_values_add(v, pairs[0], pairs[1]);
	return v;
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

/* Submits INNER (the fields only), which must be valid; the values are the caller's. */
static struct gw_values *
accepted(const char *inner)
{
	char *why = NULL;
	struct gw_values *v = submit(inner, &why);

	ck_assert_msg(v != NULL, "%s", why);
	return v;
}

/* Submits INNER and merges what it sets into STORED. */
static void
merge_submitted(struct gw_values *stored, const char *inner)
{
	struct gw_values *sub = accepted(inner);

	form_merge(stored, sub, fields);
	gw_values_free(sub);
}

/* Submitting INNER is refused, and the reason has NEEDLE. */
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

/* The settings form rendered as TYPE ("form" or "result") with alice's values. */
static xmpp_stanza_t *
render_settings(const char *type)
{
	struct gw_values *cur = values_of((const char *const[]){
	        "nick", "alice", "password", "hunter2", "after", "JOIN #a\nJOIN #b", "tls", "0",
	        "extras", "red", "extras", "blue", NULL});
	struct gw_form form = {"Settings", "Fill this in", fields, cur};
	xmpp_stanza_t *x;

	x = form_to_stanza(ctx, &form, type);
	gw_values_free(cur);
	return x;
}

START_TEST(render_form)
{
	xmpp_stanza_t *x = render_settings("form"), *f;
	char *t;

	ck_assert_str_eq(xmpp_stanza_get_ns(x), FORM_NS);
	ck_assert_str_eq(xmpp_stanza_get_type(x), "form");
	t = xmpp_stanza_get_text(xmpp_stanza_get_child_by_name(x, "title"));
	ck_assert_str_eq(t, "Settings");
	xmpp_free(ctx, t);
	f = field_el(x, "nick");
	ck_assert_str_eq(xmpp_stanza_get_attribute(f, "label"), "Nickname");
	ck_assert_ptr_nonnull(xmpp_stanza_get_child_by_name(f, "required"));
	ck_assert_ptr_nonnull(xmpp_stanza_get_child_by_name(f, "desc"));
	xmpp_stanza_release(x);

	/* A result form has no <required/> and no options. */
	x = render_settings("result");
	ck_assert_str_eq(xmpp_stanza_get_type(x), "result");
	ck_assert_ptr_null(xmpp_stanza_get_child_by_name(field_el(x, "nick"), "required"));
	ck_assert_int_eq(count_children(field_el(x, "colour"), "option"), 0);
	xmpp_stanza_release(x);
}
END_TEST

/* Each field of the rendered settings form: its type, the first value shown (NULL: not
 * checked), and how many values and options it has (-1: not checked). */
static const struct rendered {
	const char *var, *type, *first_value;
	int values, options;
} rendered[] = {
        {"FORM_TYPE", "hidden", "urn:example:settings", -1, -1},
        {"intro", "fixed", NULL, -1, -1},
        {"nick", "text-single", "alice", -1, -1},
        {"password", "text-private", NULL, 0, -1}, /* a secret is never shown */
        {"after", "text-multi", NULL, 2, -1},
        {"tls", "boolean", "0", -1, -1},
        {"colour", "list-single", "red", -1, 3}, /* the default, nothing stored */
        {"extras", "list-multi", NULL, 2, 3},
        {"owner", "jid-single", NULL, 0, -1},
};

START_TEST(render_every_type)
{
	const struct rendered *want = &rendered[_i];
	xmpp_stanza_t *x = render_settings("form");
	xmpp_stanza_t *f = field_el(x, want->var);
	char *t;

	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq(xmpp_stanza_get_type(f), want->type);
	if (want->first_value != NULL) {
		t = first_value(f);
		ck_assert_pstr_eq(t, want->first_value);
		xmpp_free(ctx, t);
	}
	if (want->values >= 0)
		ck_assert_int_eq(count_children(f, "value"), want->values);
	if (want->options >= 0)
		ck_assert_int_eq(count_children(f, "option"), want->options);
	xmpp_stanza_release(x);
}
END_TEST

/* What form_to_stanza shows, submitted back, reads as the same values. */
START_TEST(round_trip)
{
	struct gw_values *cur = values_of((const char *const[]){
	        "nick", "alice", "after", "JOIN #a\nJOIN #b", "tls", "1", "colour", "green",
	        "extras", "red", "extras", "blue", "owner", "bob@example.org/phone", NULL});
	struct gw_values *got;
	struct gw_form form = {NULL, NULL, fields, cur};
	xmpp_stanza_t *x;
	const char *const *v;
	char *why = NULL;
	size_t n;

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
	char *xml;
	size_t i;

	for (i = 0; i < 4; i++) {
		xml = xasprintf("<field var='nick'><value>a</value></field>"
		                "<field var='tls'><value>%s</value></field>",
		                in[i]);
		v = accepted(xml);
		ck_assert_str_eq(gw_values_get(v, "tls"), want[i]);
		gw_values_free(v);
		free(xml);
	}
	expect_error("<field var='nick'><value>a</value></field>"
	             "<field var='tls'><value>maybe</value></field>",
	             "Use TLS");
}
END_TEST

START_TEST(validation_errors)
{
	struct gw_values *v;

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
	v = accepted("<field var='FORM_TYPE' type='hidden'><value>urn:x</value></field>"
	             "<field var='nick'><value>a</value></field>"
	             "<field var='bogus'><value>x</value></field>"
	             "<field var='intro'><value>x</value></field>");
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
	struct gw_values *stored = values_of((const char *const[]){
	        "nick", "alice", "password", "hunter2", "tls", "1", "colour", "blue", NULL});

	/* Only nick and an empty password: the rest stays. */
	merge_submitted(stored, "<field var='nick'><value>bob</value></field>"
	                        "<field var='password'><value/></field>");
	ck_assert_str_eq(gw_values_get(stored, "nick"), "bob");
	ck_assert_str_eq(gw_values_get(stored, "password"), "hunter2");
	ck_assert_str_eq(gw_values_get(stored, "tls"), "1");
	ck_assert_str_eq(gw_values_get(stored, "colour"), "blue");

	/* A new secret replaces the stored one; false is kept as "0". */
	merge_submitted(stored, "<field var='nick'><value>bob</value></field>"
	                        "<field var='password'><value>s3cret</value></field>"
	                        "<field var='tls'><value>false</value></field>");
	ck_assert_str_eq(gw_values_get(stored, "password"), "s3cret");
	ck_assert_str_eq(gw_values_get(stored, "tls"), "0");

	/* A list-multi sent empty is cleared, not kept. */
	gw_values_add(stored, "extras", "red");
	merge_submitted(stored,
	                "<field var='nick'><value>bob</value></field><field var='extras'/>");
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
	tcase_add_test(tc, render_form);
	tcase_add_loop_test(tc, render_every_type, 0, UNIT_ROWS(rendered));
	unit_tests(tc, round_trip, boolean_normalised, validation_errors, partial_submission,
	           cancel_and_not_submit, merge_partial_keeps_secret, required_secret_after_merge,
	           values_api, copy_is_deep, clean_text, render_dirty);
	return s;
}

int
main(void)
{
	return unit_run(form_suite());
}
