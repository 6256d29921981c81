/* XEP-0004 data forms and submitted values; see form.h. */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "form.h"

/* ---- Values ---- */

struct value_entry {
	char *var;
	char **vals; /* NULL-terminated */
	size_t n;
};

struct gw_values {
	struct value_entry *v;
	size_t n, cap;
};

struct gw_values *
gw_values_new(void)
{
	return xcalloc(1, sizeof(struct gw_values));
}

static void
entry_clear(struct value_entry *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		free(e->vals[i]);
	free(e->vals);
	e->vals = NULL;
	e->n = 0;
}

void
gw_values_free(struct gw_values *vs)
{
	size_t i;

	if (vs == NULL)
		return;
	for (i = 0; i < vs->n; i++) {
		entry_clear(&vs->v[i]);
		free(vs->v[i].var);
	}
	free(vs->v);
	free(vs);
}

static struct value_entry *
entry_find(const struct gw_values *vs, const char *var)
{
	size_t i;

	if (vs == NULL || var == NULL)
		return NULL;
	for (i = 0; i < vs->n; i++)
		if (strcmp(vs->v[i].var, var) == 0)
			return &vs->v[i];
	return NULL;
}

static struct value_entry *
entry_get(struct gw_values *vs, const char *var)
{
	struct value_entry *e = entry_find(vs, var);

	if (e != NULL)
		return e;
	if (vs->n == vs->cap) {
		vs->cap = vs->cap ? vs->cap * 2 : 8;
		vs->v = xreallocarray(vs->v, vs->cap, sizeof(*vs->v));
	}
	e = &vs->v[vs->n++];
	e->var = xstrdup(var);
	e->vals = xcalloc(1, sizeof(char *));
	e->n = 0;
	return e;
}

static void
entry_push(struct value_entry *e, const char *value)
{
	e->vals = xreallocarray(e->vals, e->n + 2, sizeof(char *));
	e->vals[e->n++] = xstrdup(value);
	e->vals[e->n] = NULL;
}

void
gw_values_add(struct gw_values *vs, const char *var, const char *value)
{
	struct value_entry *e;

	if (vs == NULL || var == NULL)
		return;
	e = entry_get(vs, var);
	if (value != NULL)
		entry_push(e, value);
}

void
gw_values_set(struct gw_values *vs, const char *var, const char *const *vals, size_t n)
{
	struct value_entry *e;
	size_t i;

	if (vs == NULL || var == NULL)
		return;
	e = entry_get(vs, var);
	entry_clear(e);
	e->vals = xcalloc(1, sizeof(char *));
	for (i = 0; i < n; i++)
		entry_push(e, vals[i]);
}

void
gw_values_remove(struct gw_values *vs, const char *var)
{
	struct value_entry *e = entry_find(vs, var);
	size_t i;

	if (e == NULL)
		return;
	i = (size_t)(e - vs->v);
	entry_clear(e);
	free(e->var);
	memmove(&vs->v[i], &vs->v[i + 1], (vs->n - i - 1) * sizeof(*vs->v));
	vs->n--;
}

const char *
gw_values_get(const struct gw_values *vs, const char *var)
{
	struct value_entry *e = entry_find(vs, var);

	return e != NULL && e->n > 0 ? e->vals[0] : NULL;
}

const char *const *
gw_values_getv(const struct gw_values *vs, const char *var, size_t *n)
{
	static const char *const empty[] = {NULL};
	struct value_entry *e = entry_find(vs, var);

	if (e == NULL) {
		if (n != NULL)
			*n = 0;
		return empty;
	}
	if (n != NULL)
		*n = e->n;
	return (const char *const *)e->vals;
}

bool
gw_values_has(const struct gw_values *vs, const char *var)
{
	return entry_find(vs, var) != NULL;
}

struct gw_values *
gw_values_dup(const struct gw_values *vs)
{
	struct gw_values *d = gw_values_new();
	size_t i;

	if (vs == NULL)
		return d;
	for (i = 0; i < vs->n; i++)
		gw_values_set(d, vs->v[i].var, (const char *const *)vs->v[i].vals, vs->v[i].n);
	return d;
}

size_t
gw_values_count(const struct gw_values *vs)
{
	return vs != NULL ? vs->n : 0;
}

const char *
gw_values_var(const struct gw_values *vs, size_t i)
{
	return vs != NULL && i < vs->n ? vs->v[i].var : NULL;
}

/* ---- Field tables ---- */

const struct gw_field *
form_field(const struct gw_field *fields, const char *var)
{
	if (fields == NULL || var == NULL)
		return NULL;
	for (; fields->var != NULL; fields++)
		if (strcmp(fields->var, var) == 0)
			return fields;
	return NULL;
}

const char *
form_field_name(const struct gw_field *f)
{
	return f->label != NULL && *f->label != '\0' ? f->label : f->var;
}

bool
form_field_is_input(const struct gw_field *f)
{
	return f->type != GW_FIELD_FIXED && f->type != GW_FIELD_HIDDEN;
}

static const char *
field_type_name(enum gw_field_type t)
{
	switch (t) {
	case GW_FIELD_TEXT:
		return "text-single";
	case GW_FIELD_PRIVATE:
		return "text-private";
	case GW_FIELD_TEXT_MULTI:
		return "text-multi";
	case GW_FIELD_BOOL:
		return "boolean";
	case GW_FIELD_LIST:
		return "list-single";
	case GW_FIELD_LIST_MULTI:
		return "list-multi";
	case GW_FIELD_JID:
		return "jid-single";
	case GW_FIELD_FIXED:
		return "fixed";
	case GW_FIELD_HIDDEN:
		return "hidden";
	}
	return "text-single";
}

/* ---- Clean text ---- */

/* Length of the valid UTF-8 sequence at p (not U+FFFE/U+FFFF), or 0. */
static size_t
utf8_seq(const unsigned char *p)
{
	size_t n, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) ||
	    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))
		return 0;
	if (p[0] == 0xef && p[1] == 0xbf && (p[2] == 0xbe || p[2] == 0xbf))
		return 0;
	return n;
}

char *
form_clean(const char *s, size_t max, bool multiline)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t cap = strlen(s) * 3 + 4, len = 0, n;
	char *out = xmalloc(cap + 4);

	while (*p != '\0') {
		n = utf8_seq(p);
		if (max > 0 && len + (n ? n : 3) > max) {
			memcpy(out + len, "\xe2\x80\xa6", 3); /* … */
			len += 3;
			break;
		}
		if (n == 0) {
			memcpy(out + len, "\xef\xbf\xbd", 3);
			len += 3;
			p++;
			continue;
		}
		if (n == 1 &&
		    (*p == 0x7f || (*p < 0x20 && *p != '\t' && !(multiline && *p == '\n')))) {
			p++;
			continue;
		}
		memcpy(out + len, p, n);
		len += n;
		p += n;
	}
	out[len] = '\0';
	return out;
}

/* ---- Rendering ---- */

static xmpp_stanza_t *
new_elem(xmpp_ctx_t *ctx, const char *name)
{
	xmpp_stanza_t *s = xmpp_stanza_new(ctx);

	if (s == NULL)
		fatalx("libstrophe: out of memory");
	xmpp_stanza_set_name(s, name);
	return s;
}

/* Append <name>text</name> to parent. */
static void
add_text_child(xmpp_stanza_t *parent, const char *name, const char *text)
{
	xmpp_ctx_t *ctx = xmpp_stanza_get_context(parent);
	xmpp_stanza_t *e = new_elem(ctx, name);
	xmpp_stanza_t *t;

	char *clean;

	if (text != NULL && *text != '\0') {
		t = xmpp_stanza_new(ctx);
		if (t == NULL)
			fatalx("libstrophe: out of memory");
		clean = form_clean(text, 0, true);
		xmpp_stanza_set_text(t, clean);
		free(clean);
		xmpp_stanza_add_child_ex(e, t, 0);
	}
	xmpp_stanza_add_child_ex(parent, e, 0);
}

/* One <value/> per line of text (text-multi). */
static void
add_lines(xmpp_stanza_t *field, const char *text)
{
	const char *p = text, *nl;
	char *line;

	for (;;) {
		nl = strchr(p, '\n');
		line = nl != NULL ? xstrndup(p, (size_t)(nl - p)) : xstrdup(p);
		if (*line != '\0' && line[strlen(line) - 1] == '\r')
			line[strlen(line) - 1] = '\0';
		add_text_child(field, "value", line);
		free(line);
		if (nl == NULL)
			break;
		p = nl + 1;
	}
}

/* Set an attribute from text that may be dirty. */
static void
set_attr(xmpp_stanza_t *e, const char *name, const char *value)
{
	char *clean = form_clean(value, 0, false);

	xmpp_stanza_set_attribute(e, name, clean);
	free(clean);
}

static void
render_field(xmpp_stanza_t *x, const struct gw_field *f, const struct gw_values *cur, bool result)
{
	xmpp_ctx_t *ctx = xmpp_stanza_get_context(x);
	xmpp_stanza_t *fe = new_elem(ctx, "field"), *opt;
	const char *const *vals;
	const char *single = NULL;
	size_t n = 0, i;
	bool have;

	xmpp_stanza_set_attribute(fe, "type", field_type_name(f->type));
	if (f->type == GW_FIELD_FIXED) {
		if (f->var != NULL && *f->var != '\0')
			set_attr(fe, "var", f->var);
		if (f->def != NULL && f->label != NULL)
			set_attr(fe, "label", f->label);
		add_text_child(fe, "value", f->def != NULL ? f->def : f->label);
		xmpp_stanza_add_child_ex(x, fe, 0);
		return;
	}
	set_attr(fe, "var", f->var);
	if (f->label != NULL && f->type != GW_FIELD_HIDDEN)
		set_attr(fe, "label", f->label);
	if (f->desc != NULL && f->type != GW_FIELD_HIDDEN)
		add_text_child(fe, "desc", f->desc);
	if (!result && (f->flags & GW_FIELD_REQUIRED))
		add_text_child(fe, "required", NULL);
	if (!result && (f->type == GW_FIELD_LIST || f->type == GW_FIELD_LIST_MULTI) &&
	    f->options != NULL) {
		for (i = 0; f->options[i] != NULL; i++) {
			opt = new_elem(ctx, "option");
			set_attr(opt, "label", f->options[i]);
			add_text_child(opt, "value", f->options[i]);
			xmpp_stanza_add_child_ex(fe, opt, 0);
		}
	}
	if (!(f->flags & GW_FIELD_SECRET)) {
		have = gw_values_has(cur, f->var);
		vals = gw_values_getv(cur, f->var, &n);
		if (!have && f->def != NULL) {
			single = f->def;
		} else if (n > 0 &&
		           (f->type == GW_FIELD_TEXT_MULTI || f->type == GW_FIELD_LIST_MULTI)) {
			for (i = 0; i < n; i++) {
				if (f->type == GW_FIELD_TEXT_MULTI)
					add_lines(fe, vals[i]);
				else
					add_text_child(fe, "value", vals[i]);
			}
		} else if (n > 0) {
			single = vals[0];
		}
		if (single != NULL) {
			if (f->type == GW_FIELD_TEXT_MULTI)
				add_lines(fe, single);
			else
				add_text_child(fe, "value", single);
		}
	}
	xmpp_stanza_add_child_ex(x, fe, 0);
}

xmpp_stanza_t *
form_to_stanza(xmpp_ctx_t *ctx, const struct gw_form *form, const char *type)
{
	xmpp_stanza_t *x = new_elem(ctx, "x");
	const struct gw_field *f;
	bool result = type != NULL && strcmp(type, "result") == 0;

	xmpp_stanza_set_ns(x, FORM_NS);
	xmpp_stanza_set_type(x, type != NULL ? type : "form");
	if (form->title != NULL)
		add_text_child(x, "title", form->title);
	if (form->instructions != NULL)
		add_text_child(x, "instructions", form->instructions);
	for (f = form->fields; f != NULL && f->var != NULL; f++)
		render_field(x, f, form->current, result);
	return x;
}

/* ---- Validation ---- */

/* Syntax of a JID (RFC 7622), without stringprep: lengths, forbidden
 * characters in the localpart, a domain made of labels. */
static bool
jid_syntax_ok(const char *s)
{
	const char *at, *slash, *dom, *p;
	size_t dlen;

	if (s == NULL || *s == '\0' || strlen(s) > 3071)
		return false;
	slash = strchr(s, '/');
	at = strchr(s, '@');
	if (at != NULL && slash != NULL && at > slash)
		at = NULL; /* '@' in the resource */
	if (at != NULL) {
		if (at == s || at - s > 1023)
			return false;
		for (p = s; p < at; p++)
			if (strchr("\"&'/:<>@", *p) != NULL || isspace((unsigned char)*p) ||
			    (unsigned char)*p < 0x20)
				return false;
		dom = at + 1;
	} else {
		dom = s;
	}
	dlen = slash != NULL ? (size_t)(slash - dom) : strlen(dom);
	if (dlen == 0 || dlen > 1023 || dom[0] == '.' || dom[dlen - 1] == '.')
		return false;
	for (p = dom; p < dom + dlen; p++) {
		if (*p == '@' || (unsigned char)*p <= 0x20 || *p == 0x7f ||
		    strchr("\"&'/:<>\\", *p) != NULL) {
			/* ':' is allowed only in an IPv6 literal */
			if (*p == ':' && dom[0] == '[')
				continue;
			return false;
		}
		if (*p == '.' && p[1] == '.')
			return false;
	}
	if (slash != NULL && (slash[1] == '\0' || strlen(slash + 1) > 1023))
		return false;
	if (slash != NULL)
		for (p = slash + 1; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				return false;
	return true;
}

/* No control characters (tab allowed when allow_tab). */
static bool
clean_line(const char *s, bool allow_tab)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == 0x7f || (c < 0x20 && !(allow_tab && c == '\t')))
			return false;
	}
	return true;
}

static bool
is_option(const struct gw_field *f, const char *v)
{
	size_t i;

	if (f->options == NULL)
		return false;
	for (i = 0; f->options[i] != NULL; i++)
		if (strcmp(f->options[i], v) == 0)
			return true;
	return false;
}

static int
parse_bool(const char *v)
{
	static const char *const yes[] = {"1", "true", "yes", "on", NULL};
	static const char *const no[] = {"0", "false", "no", "off", "", NULL};
	size_t i;

	for (i = 0; yes[i] != NULL; i++)
		if (strcasecmp(v, yes[i]) == 0)
			return 1;
	for (i = 0; no[i] != NULL; i++)
		if (strcasecmp(v, no[i]) == 0)
			return 0;
	return -1;
}

static void
not_a_choice(const struct gw_field *f, const char *v, char **why)
{
	char *q = form_clean(v, 80, false);

	*why = xasprintf("'%s' is not a choice offered for '%s'.", q, form_field_name(f));
	free(q);
}

/* Validate one field's raw values into out; 0 or -1 with *why. */
static int
validate_field(const struct gw_field *f, const char *const *vals, size_t n, struct gw_values *out,
               char **why)
{
	const char *name = form_field_name(f);
	const char *v = n > 0 ? vals[0] : "";
	size_t i, total = 0;
	int b;

	switch (f->type) {
	case GW_FIELD_FIXED:
		return 0;
	case GW_FIELD_TEXT_MULTI:
		gw_values_set(out, f->var, NULL, 0);
		for (i = 0; i < n; i++) {
			const char *p = vals[i], *nl;
			char *line;

			total += strlen(vals[i]) + 1;
			if (total > FORM_MAX_MULTI) {
				*why = xasprintf("'%s' is too long (at most %d characters).", name,
				                 FORM_MAX_MULTI);
				return -1;
			}
			for (;;) {
				nl = strchr(p, '\n');
				line = nl != NULL ? xstrndup(p, (size_t)(nl - p)) : xstrdup(p);
				if (*line != '\0' && line[strlen(line) - 1] == '\r')
					line[strlen(line) - 1] = '\0';
				if (!clean_line(line, true)) {
					free(line);
					*why = xasprintf("'%s' contains control characters.", name);
					return -1;
				}
				gw_values_add(out, f->var, line);
				free(line);
				if (nl == NULL)
					break;
				p = nl + 1;
			}
		}
		return 0;
	case GW_FIELD_LIST_MULTI:
		gw_values_set(out, f->var, NULL, 0);
		for (i = 0; i < n; i++) {
			if (!is_option(f, vals[i])) {
				not_a_choice(f, vals[i], why);
				return -1;
			}
			gw_values_add(out, f->var, vals[i]);
		}
		return 0;
	default:
		break;
	}
	if (n > 1) {
		*why = xasprintf("'%s' takes a single value.", name);
		return -1;
	}
	if (strlen(v) > FORM_MAX_VALUE) {
		*why = xasprintf("'%s' is too long (at most %d characters).", name, FORM_MAX_VALUE);
		return -1;
	}
	switch (f->type) {
	case GW_FIELD_BOOL:
		if ((b = parse_bool(v)) < 0) {
			*why = xasprintf("'%s' must be true or false.", name);
			return -1;
		}
		v = b ? "1" : "0";
		break;
	case GW_FIELD_LIST:
		if (*v != '\0' && !is_option(f, v)) {
			not_a_choice(f, v, why);
			return -1;
		}
		break;
	case GW_FIELD_JID:
		if (*v != '\0' && !jid_syntax_ok(v)) {
			char *q = form_clean(v, 80, false);

			*why = xasprintf("'%s' is not a valid JID for '%s'.", q, name);
			free(q);
			return -1;
		}
		break;
	default: /* text-single, text-private, hidden */
		if (strchr(v, '\n') != NULL) {
			*why = xasprintf("'%s' must be a single line.", name);
			return -1;
		}
		if (!clean_line(v, false)) {
			*why = xasprintf("'%s' contains control characters.", name);
			return -1;
		}
		break;
	}
	gw_values_set(out, f->var, &v, 1);
	return 0;
}

static bool
empty_value(const struct gw_values *vs, const char *var)
{
	size_t n, i;
	const char *const *v = gw_values_getv(vs, var, &n);

	for (i = 0; i < n; i++)
		if (*v[i] != '\0')
			return false;
	return true;
}

static int
check_required(const struct gw_values *vs, const struct gw_field *fields, bool secrets, char **why)
{
	const struct gw_field *f;

	for (f = fields; f != NULL && f->var != NULL; f++) {
		if (!(f->flags & GW_FIELD_REQUIRED) || f->type == GW_FIELD_FIXED)
			continue;
		if (!secrets && (f->flags & GW_FIELD_SECRET))
			continue;
		if (f->type == GW_FIELD_BOOL ? !gw_values_has(vs, f->var)
		                             : empty_value(vs, f->var)) {
			*why = xasprintf("'%s' is required.", form_field_name(f));
			return -1;
		}
	}
	return 0;
}

struct gw_values *
form_validate(const struct gw_values *raw, const struct gw_field *fields, bool partial, char **why)
{
	struct gw_values *out = gw_values_new();
	const struct gw_field *f;
	const char *const *vals;
	size_t n;

	*why = NULL;
	for (f = fields; f != NULL && f->var != NULL; f++) {
		if (f->type == GW_FIELD_FIXED || !gw_values_has(raw, f->var))
			continue;
		vals = gw_values_getv(raw, f->var, &n);
		if (validate_field(f, vals, n, out, why) < 0)
			goto fail;
	}
	if (!partial && check_required(out, fields, false, why) < 0)
		goto fail;
	return out;
fail:
	gw_values_free(out);
	return NULL;
}

int
form_check_required(const struct gw_values *values, const struct gw_field *fields, char **why)
{
	*why = NULL;
	return check_required(values, fields, true, why);
}

bool
form_is_cancel(xmpp_stanza_t *x)
{
	const char *ns, *type;

	if (x == NULL || (ns = xmpp_stanza_get_ns(x)) == NULL || strcmp(ns, FORM_NS) != 0)
		return false;
	type = xmpp_stanza_get_type(x);
	return type != NULL && strcmp(type, "cancel") == 0;
}

static struct gw_values *
parse_submit(xmpp_stanza_t *x, const struct gw_field *fields, bool partial, char **why)
{
	struct gw_values *raw, *out;
	xmpp_stanza_t *c, *v;
	const char *name, *ns, *type, *var;
	char *t;

	*why = NULL;
	name = x != NULL ? xmpp_stanza_get_name(x) : NULL;
	ns = x != NULL ? xmpp_stanza_get_ns(x) : NULL;
	if (name == NULL || strcmp(name, "x") != 0 || ns == NULL || strcmp(ns, FORM_NS) != 0) {
		*why = xstrdup("No data form was submitted.");
		return NULL;
	}
	type = xmpp_stanza_get_type(x);
	if (type != NULL && strcmp(type, "cancel") == 0)
		return NULL;
	if (type == NULL || strcmp(type, "submit") != 0) {
		*why = xstrdup("The data form must be of type 'submit'.");
		return NULL;
	}
	raw = gw_values_new();
	for (c = xmpp_stanza_get_children(x); c != NULL; c = xmpp_stanza_get_next(c)) {
		if (!xmpp_stanza_is_tag(c) || (name = xmpp_stanza_get_name(c)) == NULL ||
		    strcmp(name, "field") != 0)
			continue;
		var = xmpp_stanza_get_attribute(c, "var");
		/* Unknown vars (FORM_TYPE among them) are ignored; a repeated
		 * field is ignored after its first occurrence. */
		if (var == NULL || form_field(fields, var) == NULL || gw_values_has(raw, var))
			continue;
		gw_values_set(raw, var, NULL, 0);
		for (v = xmpp_stanza_get_children(c); v != NULL; v = xmpp_stanza_get_next(v)) {
			if (!xmpp_stanza_is_tag(v) || (name = xmpp_stanza_get_name(v)) == NULL ||
			    strcmp(name, "value") != 0)
				continue;
			/* An empty <value/> has no text child: it reads as "". */
			t = xmpp_stanza_get_children(v) != NULL ? xmpp_stanza_get_text(v) : NULL;
			gw_values_add(raw, var, t != NULL ? t : "");
			if (t != NULL)
				xmpp_free(xmpp_stanza_get_context(v), t);
		}
	}
	out = form_validate(raw, fields, partial, why);
	gw_values_free(raw);
	return out;
}

struct gw_values *
form_parse_submit(xmpp_stanza_t *x, const struct gw_field *fields, char **why)
{
	return parse_submit(x, fields, false, why);
}

struct gw_values *
form_parse_partial(xmpp_stanza_t *x, const struct gw_field *fields, char **why)
{
	return parse_submit(x, fields, true, why);
}

void
form_merge(struct gw_values *stored, const struct gw_values *submitted,
           const struct gw_field *fields)
{
	const struct gw_field *f;
	const char *var;
	const char *const *vals;
	size_t i, n;

	for (i = 0; i < gw_values_count(submitted); i++) {
		var = gw_values_var(submitted, i);
		f = form_field(fields, var);
		if (fields != NULL && (f == NULL || f->type == GW_FIELD_FIXED))
			continue;
		if (f != NULL && (f->flags & GW_FIELD_SECRET) && empty_value(submitted, var))
			continue;
		vals = gw_values_getv(submitted, var, &n);
		gw_values_set(stored, var, vals, n);
	}
}

/* ---- Copies ---- */

struct form_copy *
form_copy(const struct gw_form *src)
{
	struct form_copy *c = xcalloc(1, sizeof(*c));
	struct gw_field *fields;
	const struct gw_field *f;
	size_t n = 0, i, k, no;
	char **opts;

	for (f = src->fields; f != NULL && f->var != NULL; f++)
		n++;
	fields = xcalloc(n + 1, sizeof(*fields));
	for (i = 0; i < n; i++) {
		f = &src->fields[i];
		fields[i].var = xstrdup(f->var);
		fields[i].type = f->type;
		fields[i].label = xstrdup_or_null(f->label);
		fields[i].desc = xstrdup_or_null(f->desc);
		fields[i].flags = f->flags;
		fields[i].def = xstrdup_or_null(f->def);
		if (f->options != NULL) {
			for (no = 0; f->options[no] != NULL; no++)
				;
			opts = xcalloc(no + 1, sizeof(char *));
			for (k = 0; k < no; k++)
				opts[k] = xstrdup(f->options[k]);
			fields[i].options = (const char *const *)opts;
		}
	}
	c->nfields = n;
	c->form.title = xstrdup_or_null(src->title);
	c->form.instructions = xstrdup_or_null(src->instructions);
	c->form.fields = fields;
	c->form.current = src->current != NULL ? gw_values_dup(src->current) : NULL;
	return c;
}

void
form_copy_free(struct form_copy *c)
{
	struct gw_field *fields;
	size_t i, k;

	if (c == NULL)
		return;
	fields = (struct gw_field *)c->form.fields;
	for (i = 0; i < c->nfields; i++) {
		free((char *)fields[i].var);
		free((char *)fields[i].label);
		free((char *)fields[i].desc);
		free((char *)fields[i].def);
		if (fields[i].options != NULL) {
			for (k = 0; fields[i].options[k] != NULL; k++)
				free((char *)fields[i].options[k]);
			free((char **)fields[i].options);
		}
	}
	free(fields);
	free((char *)c->form.title);
	free((char *)c->form.instructions);
	gw_values_free((struct gw_values *)c->form.current);
	free(c);
}
