/*
 * Parsing the config text (conf_int.h).
 *
 * libinih splits lines into keys and values, and strips comments. It only
 * reports the first syntax error and knows nothing of our sections, so the
 * line reader below screens every line first: it counts lines, handles
 * section headers itself, reports malformed and overlong lines, and hands
 * inih only key lines and list continuations. Values are collected as
 * written and checked once the whole file is read (conf_value.c), so that
 * every problem is reported with its line.
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "conf.h"
#include "conf_int.h"

struct err_order {
	int line;
	size_t i;
};

void
conf_error(struct parse *p, int line, const char *key, const char *fmt, ...)
{
	char kbuf[128];
	struct config_error *e;
	va_list ap;

	if (p->nerrs == p->aerrs) {
		p->aerrs = p->aerrs ? p->aerrs * 2 : 8;
		p->errs = xreallocarray(p->errs, p->aerrs, sizeof(*p->errs));
	}
	e = &p->errs[p->nerrs++];
	e->file = xstrdup(p->cfg->path);
	e->line = line;
	e->key = key ? xstrdup(log_escape(kbuf, sizeof(kbuf), key)) : NULL;
	va_start(ap, fmt);
	e->msg = xvasprintf(fmt, ap);
	va_end(ap);
	p->last_err_line = line;
}

void
config_errors_free(struct config_error *errs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(errs[i].file);
		free(errs[i].key);
		free(errs[i].msg);
	}
	free(errs);
}

char *
config_error_format(const struct config_error *e)
{
	char line[24] = "";

	if (e->line > 0)
		snprintf(line, sizeof(line), ":%d", e->line);
	if (e->key != NULL)
		return xasprintf("%s%s: %s: %s", e->file, line, e->key, e->msg);
	return xasprintf("%s%s: %s", e->file, line, e->msg);
}

static int
err_cmp(const void *a, const void *b)
{
	const struct err_order *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* File order, and the order found within a line. */
void
conf_sort_errors(struct config_error *errs, size_t n)
{
	struct err_order *o = xcalloc(n, sizeof(*o));
	struct config_error *copy = xcalloc(n, sizeof(*copy));

	for (size_t i = 0; i < n; i++) {
		o[i].line = errs[i].line;
		o[i].i = i;
	}
	qsort(o, n, sizeof(*o), err_cmp);
	memcpy(copy, errs, n * sizeof(*errs));
	for (size_t i = 0; i < n; i++)
		errs[i] = copy[o[i].i];
	free(copy);
	free(o);
}

static const struct gw_driver *
find_driver(const struct parse *p, const char *name)
{
	for (size_t i = 0; i < p->ndrivers; i++)
		if (p->drivers[i] != NULL && strcmp(p->drivers[i]->name, name) == 0)
			return p->drivers[i];
	return NULL;
}

static bool
known_backend(const char *name)
{
	for (const char *const *k = conf_known_backends; *k; k++)
		if (strcmp(*k, name) == 0)
			return true;
	return false;
}

/* Frees list and returns "list, name". */
static char *
append_name(char *list, const char *name)
{
	char *n = *list ? xasprintf("%s, %s", list, name) : xstrdup(name);

	free(list);
	return n;
}

/* "xmpp, storage, log, echo" */
static char *
section_names(const struct parse *p)
{
	char *out = xstrdup(conf_core_sections[0].name);

	for (const struct conf_core_section *c = conf_core_sections + 1; c->name; c++)
		out = append_name(out, c->name);
	for (size_t i = 0; i < p->ndrivers; i++)
		out = append_name(out, p->drivers[i]->name);
	return out;
}

static bool
valid_sub_name(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!(*s == '-' || *s == '_' || *s == '.' || (*s >= '0' && *s <= '9') ||
		      (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
			return false;
	return true;
}

/* A header [name] on the current line: enter that section, or skip its keys. */
static void
open_section(struct parse *p, char *name)
{
	char esc[160], *dot, *kind = NULL, *sub = NULL;
	const struct gw_driver *drv;
	const struct conf_core_section *core;
	struct gw_section *s;

	p->state = P_SKIP;
	p->cur = NULL;
	log_escape(esc, sizeof(esc), name);
	if (*name == '\0') {
		conf_error(p, p->lineno, NULL, "empty section name []");
		return;
	}
	if ((s = conf_find_section(p->cfg, name)) != NULL) {
		conf_error(p, p->lineno, NULL, "[%s] again: it was already opened at line %d", esc,
		           s->line);
		return;
	}
	if ((dot = strchr(name, '.')) != NULL) {
		*dot = '\0';
		kind = dot + 1;
		if ((dot = strchr(kind, '.')) != NULL) {
			*dot = '\0';
			sub = dot + 1;
		}
	}
	if ((core = conf_find_core(name)) != NULL && kind == NULL) {
		s = conf_section_new(p->cfg, NULL, NULL, name, p->lineno);
		s->core = core;
		conf_add_options(s, core->options);
	} else if ((drv = find_driver(p, name)) != NULL) {
		const struct gw_subsection *ss = drv->subsections;
		char kesc[64];

		if (kind == NULL) {
			s = conf_section_new(p->cfg, NULL, NULL, name, p->lineno);
			s->driver = drv;
			conf_add_options(s, conf_backend_options);
			conf_add_options(s, drv->options);
			goto done;
		}
		log_escape(kesc, sizeof(kesc), kind);
		if (sub == NULL) {
			conf_error(
			        p, p->lineno, NULL,
			        "[%s]: a subsection is written [%s.KIND.NAME], e.g. [%s.%s.main]",
			        esc, drv->name, drv->name, ss && ss->kind ? ss->kind : "line");
			return;
		}
		while (ss != NULL && ss->kind != NULL && strcmp(ss->kind, kind) != 0)
			ss++;
		if (ss == NULL || ss->kind == NULL) {
			char *known = xstrdup("");

			for (ss = drv->subsections; ss && ss->kind; ss++)
				known = append_name(known, ss->kind);
			if (*known)
				conf_error(p, p->lineno, NULL,
				           "[%s]: unknown kind of subsection '%s' (%s has: %s)",
				           esc, kesc, drv->name, known);
			else
				conf_error(p, p->lineno, NULL, "[%s]: %s has no subsections", esc,
				           drv->name);
			free(known);
			return;
		}
		if (!valid_sub_name(sub)) {
			conf_error(p, p->lineno, NULL,
			           "[%s]: a subsection name is letters, digits, '-', '_' or '.'",
			           esc);
			return;
		}
		s = conf_section_new(p->cfg, name, kind, sub, p->lineno);
		s->driver = drv;
		conf_add_options(s, ss->options);
	} else if (known_backend(name)) {
		conf_error(p, p->lineno, NULL,
		           "[%s]: this build has no %s backend (configure --disable-%s?)", esc,
		           name, name);
		return;
	} else {
		char *known = section_names(p);

		conf_error(p, p->lineno, NULL, "unknown section [%s] (this build knows: %s)", esc,
		           known);
		free(known);
		return;
	}
done:
	conf_section_alloc(s);
	p->state = P_IN;
	p->cur = s;
}

static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[65];

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

/* The closest key of the section, if close enough to be a typo. Static. */
static const char *
suggest(const struct gw_section *s, const char *key)
{
	const char *best = NULL;
	size_t bestd = 3;

	for (size_t i = 0; i < s->nopts; i++) {
		size_t d = edit_distance(key, s->opts[i]->name);

		if (d < bestd && d < strlen(key)) {
			bestd = d;
			best = s->opts[i]->name;
		}
	}
	return best;
}

static void
key_value(struct parse *p, const char *name, const char *value)
{
	struct gw_section *s = p->cur;
	const char *problem, *hint;
	struct conf_value *v;
	bool file = false;
	size_t nlen;
	int i;

	p->last = NULL;
	if (p->state == P_NONE) {
		conf_error(p, p->lineno, name, "key outside any section: start with [xmpp]");
		return;
	}
	if (p->state == P_SKIP)
		return;
	if ((i = conf_opt_index(s, name)) == -1 && (nlen = strlen(name)) > 5 &&
	    strcmp(name + nlen - 5, "_file") == 0) {
		char *base = xstrndup(name, nlen - 5);

		i = conf_opt_index(s, base);
		free(base);
		if (i != -1 && s->opts[i]->type != GW_OPT_SECRET)
			i = -1;
		file = i != -1;
	}
	if (i == -1) {
		if ((hint = suggest(s, name)) != NULL)
			conf_error(p, p->lineno, name, "unknown key in [%s] (did you mean %s?)",
			           s->full, hint);
		else
			conf_error(p, p->lineno, name, "unknown key in [%s]", s->full);
		return;
	}
	v = &s->vals[i];
	if (file ? v->file_line : v->line) {
		conf_error(p, p->lineno, name, "given twice (first at line %d)",
		           file ? v->file_line : v->line);
		return;
	}
	if (file) {
		v->file_line = p->lineno;
		v->file = xstrdup(value);
	} else {
		v->line = p->lineno;
		v->raw = xstrdup(value);
	}
	if ((problem = conf_text_problem(value)) != NULL) {
		v->bad = true;
		conf_error(p, p->lineno, name, "%s", problem);
		return;
	}
	p->last = v;
	p->last_opt = s->opts[i];
	p->last_file = file;
}

/* An indented line after a key: more words for a list. */
static void
continuation(struct parse *p, const char *value)
{
	const struct gw_option *o = p->last_opt;
	struct conf_value *v = p->last;
	const char *problem;
	char *joined;
	size_t n;

	if (v == NULL || v->bad || *value == '\0')
		return; /* the key line was already reported */
	if (p->last_file || (o->type != GW_OPT_LIST && o->type != GW_OPT_PORTS)) {
		conf_error(p, p->lineno, p->last_file ? NULL : o->name,
		           "an indented line continues the value above, and only lists continue: "
		           "remove the indentation, or join the lines");
		return;
	}
	if ((problem = conf_text_problem(value)) != NULL) {
		v->bad = true;
		conf_error(p, p->lineno, o->name, "%s", problem);
		return;
	}
	/* inih leaves inline comments on continuation lines. */
	for (n = 1; value[n] != '\0'; n++)
		if (value[n] == ';' && (value[n - 1] == ' ' || value[n - 1] == '\t'))
			break;
	joined = xasprintf("%s %.*s", v->raw, (int)n, value);
	free(v->raw);
	v->raw = joined;
}

static int
on_key(void *arg, const char *section, const char *name, const char *value)
{
	struct parse *p = arg;

	(void)section; /* sections are tracked by the reader */
	if (p->cont)
		continuation(p, value);
	else
		key_value(p, name, value);
	return 1;
}

/* A line inih accepts as a key: a name, then "=" or ":" before any " ;". */
static bool
key_line_ok(struct parse *p, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '=' || s[i] == ':')
			break;
		if (s[i] == ';' && i > 0 && (s[i - 1] == ' ' || s[i - 1] == '\t'))
			i = n;
	}
	if (i >= n) {
		conf_error(p, p->lineno, NULL, "expected key = value, a [section] or a comment");
		return false;
	}
	while (i > 0 && (s[i - 1] == ' ' || s[i - 1] == '\t'))
		i--;
	if (i == 0) {
		conf_error(p, p->lineno, NULL, "a value without a key name");
		return false;
	}
	return true;
}

static void
header_line(struct parse *p, const char *s, size_t n)
{
	const char *close = memchr(s, ']', n), *a, *b;
	char *name;

	p->have_key = false;
	if (close == NULL) {
		p->state = P_SKIP;
		conf_error(p, p->lineno, NULL, "a section header must end with ]");
		return;
	}
	for (const char *t = close + 1; t < s + n; t++) {
		if (*t == ';' || *t == '#')
			break;
		if (*t != ' ' && *t != '\t') {
			p->state = P_SKIP;
			conf_error(p, p->lineno, NULL, "text after the section header's ]");
			return;
		}
	}
	for (a = s + 1; a < close && (*a == ' ' || *a == '\t'); a++)
		;
	for (b = close; b > a && (b[-1] == ' ' || b[-1] == '\t'); b--)
		;
	name = xstrndup(a, (size_t)(b - a));
	open_section(p, name);
	free(name);
}

/*
 * inih's line reader (fgets-like): hands inih one screened line at a time,
 * or an empty line for what was handled or reported here.
 */
static char *
reader(char *out, int num, void *arg)
{
	struct parse *p = arg;
	const char *line, *nl, *s, *end;
	size_t n, max;

	if (p->pos >= p->len)
		return NULL;
	line = p->buf + p->pos;
	nl = memchr(line, '\n', p->len - p->pos);
	n = nl ? (size_t)(nl - line) : p->len - p->pos;
	p->pos += n + (nl != NULL);
	p->lineno++;
	p->cont = false;
	out[0] = '\0';
	if (n > 0 && line[n - 1] == '\r')
		n--;
	if (p->lineno == 1 && n >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0) {
		line += 3;
		n -= 3;
	}
	max = num > 1 ? (size_t)num - 1 : 0;
	if (max > CONF_MAX_LINE)
		max = CONF_MAX_LINE;
	if (memchr(line, '\0', n) != NULL) {
		conf_error(p, p->lineno, NULL, "NUL byte in the line");
		return out;
	}
	if (n > max) {
		conf_error(p, p->lineno, NULL,
		           "line longer than %zu bytes (a list can continue on indented lines)",
		           max);
		return out;
	}
	end = line + n;
	for (s = line; s < end && (*s == ' ' || *s == '\t'); s++)
		;
	if (s == end || *s == '#' || *s == ';')
		return out;
	if (*s == '[') {
		header_line(p, s, (size_t)(end - s));
		return out;
	}
	if (s > line && p->have_key && memchr(s, '=', (size_t)(end - s)) == NULL &&
	    memchr(s, ':', (size_t)(end - s)) == NULL) {
		/* inih sees the indentation and continues the previous key. */
		memcpy(out, line, n);
		out[n] = '\0';
		p->cont = true;
		return out;
	}
	if (!key_line_ok(p, s, (size_t)(end - s)))
		return out;
	memcpy(out, s, (size_t)(end - s));
	out[end - s] = '\0';
	p->have_key = true;
	return out;
}

void
conf_parse_text(struct parse *p)
{
	int r = ini_parse_stream(reader, p, on_key, p);

	/* The reader hands inih only lines it accepts: this is a safety net. */
	if (r > 0 && p->last_err_line != r)
		conf_error(p, r, NULL, "syntax error");
	else if (r < 0)
		conf_error(p, 0, NULL, "cannot parse (out of memory?)");
}
