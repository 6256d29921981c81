/*
 * Loading and validating the config file; see conf.h.
 *
 * libinih splits lines into keys and values, and strips comments. It only
 * reports the first syntax error and knows nothing of our sections, so the
 * line reader below screens every line first: it counts lines, handles
 * section headers itself, reports malformed and overlong lines, and hands
 * inih only key lines and list continuations. Values are collected as
 * written, then checked against the option tables once the whole file is
 * read, so that every problem is reported with its line.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "conf.h"

struct conf_value {
	char *raw;     /* as written, continuation lines joined by a space; NULL: not given */
	int line;      /* line of the key; 0: not given */
	char *file;    /* SECRET: the PATH of <key>_file, as written */
	int file_line; /* its line; 0: not given */
	bool bad;      /* given, but already reported as wrong */
	/* The value in effect, once loaded. */
	char *str;   /* text: the value, the secret read, the resolved path; NULL: unset */
	long num;    /* INT, DURATION (seconds), BOOL (0/1) */
	char **list; /* LIST, PORTS: NULL-terminated; never NULL once loaded */
};

struct gw_section {
	char *full;                           /* "sms.line.office" */
	char *name;                           /* "office"; "sms" for a section */
	char *parent;                         /* "sms" for a subsection; NULL */
	char *kind;                           /* "line" for a subsection; NULL */
	int line;                             /* header line; 0: not in the file */
	const struct gw_driver *driver;       /* a backend or one of its subsections */
	const struct conf_core_section *core; /* a core section */
	const struct gw_option **opts;        /* nopts entries */
	size_t nopts;
	struct conf_value *vals; /* parallel to opts */
};

struct conf_kind {
	const char *section, *kind; /* point into the sections */
	const struct gw_section **v;
	size_t n;
};

struct config {
	char *path;
	char *dir; /* absolute directory of path: relative paths start there */
	struct gw_section **sections;
	size_t nsections;
	struct conf_kind *kinds;
	size_t nkinds;
};

enum parse_state { P_NONE, P_SKIP, P_IN };

struct parse {
	struct config *cfg;
	const struct gw_driver *const *drivers;
	size_t ndrivers;
	const char *buf;
	size_t len, pos;
	int lineno;
	bool cont;     /* the line handed to inih continues the previous value */
	bool have_key; /* a key line since the last section header */
	enum parse_state state;
	struct gw_section *cur;
	struct conf_value *last; /* what a continuation extends; NULL: nothing */
	const struct gw_option *last_opt;
	bool last_file;
	int last_err_line;
	struct config_error *errs;
	size_t nerrs, aerrs;
};

static const char *const empty_list[] = {NULL};

/* ---- Errors ---- */

static char *vformat(const char *, va_list) SG_PRINTF(1, 0);

/* Caller frees. */
static char *
vformat(const char *fmt, va_list ap)
{
	va_list copy;
	char *s;
	int n;

	va_copy(copy, ap);
	n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n < 0)
		fatalx("config: cannot format an error message");
	s = xmalloc((size_t)n + 1);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

static void add_error(struct parse *, int line, const char *key, const char *fmt, ...)
        SG_PRINTF(4, 5);

static void
add_error(struct parse *p, int line, const char *key, const char *fmt, ...)
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
	e->msg = vformat(fmt, ap);
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

struct err_order {
	int line;
	size_t i;
};

static int
err_cmp(const void *a, const void *b)
{
	const struct err_order *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* File order, and the order found within a line. */
static void
sort_errors(struct config_error *errs, size_t n)
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

/* ---- Text checks ---- */

/*
 * NULL when s is UTF-8 without control characters (C0, DEL, C1); otherwise
 * what is wrong.
 */
static const char *
text_problem(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	while (*u) {
		unsigned c = *u, n, cp;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return "control character in the value";
			u++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return "invalid UTF-8 in the value";
		}
		for (unsigned i = 1; i <= n; i++) {
			if ((u[i] & 0xc0) != 0x80)
				return "invalid UTF-8 in the value";
			cp = (cp << 6) | (u[i] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return "invalid UTF-8 in the value";
		if (cp >= 0x80 && cp <= 0x9f)
			return "control character in the value";
		u += n + 1;
	}
	return NULL;
}

int
conf_check_jid(const char *s, bool domain_only, const char **why)
{
	const char *at, *d;
	size_t label = 0;

	if (s == NULL || *s == '\0') {
		*why = "empty";
		return -1;
	}
	if (strchr(s, '/') != NULL) {
		*why = "a bare JID has no /resource";
		return -1;
	}
	at = strchr(s, '@');
	if (at != NULL) {
		if (domain_only) {
			*why = "it has a localpart (before the @)";
			return -1;
		}
		if (at == s || at - s > 1023) {
			*why = "the localpart (before the @) is empty or too long";
			return -1;
		}
		for (const char *c = s; c < at; c++) {
			if ((unsigned char)*c <= 0x20 || *c == 0x7f || strchr("\"&':<>", *c)) {
				*why = "the localpart has a forbidden character (space \" & ' : < "
				       ">)";
				return -1;
			}
		}
		d = at + 1;
	} else {
		d = s;
	}
	if (*d == '\0' || strlen(d) > 1023) {
		*why = "the domain is empty or too long";
		return -1;
	}
	if (*d == '[') { /* an IPv6 literal */
		size_t n = strspn(d + 1, "0123456789abcdefABCDEF:.");

		if (d[1 + n] != ']' || d[2 + n] != '\0' || n < 2) {
			*why = "a bad IPv6 address literal";
			return -1;
		}
		return 0;
	}
	for (const char *c = d; *c; c++) {
		unsigned char u = (unsigned char)*c;

		if (u == '.') {
			if (label == 0) {
				*why = "the domain has an empty label (.. or a dot at an end)";
				return -1;
			}
			label = 0;
			continue;
		}
		if (u < 0x80 && !(u == '-' || u == '_' || (u >= '0' && u <= '9') ||
		                  (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z'))) {
			*why = u == '@' ? "more than one @"
			                : "the domain has a forbidden character";
			return -1;
		}
		if (++label > 63) {
			*why = "a label of the domain is longer than 63 bytes";
			return -1;
		}
	}
	if (label == 0) {
		*why = "the domain has an empty label (.. or a dot at an end)";
		return -1;
	}
	return 0;
}

const char *
conf_type_name(enum gw_opt_type t)
{
	switch (t) {
	case GW_OPT_STRING:
		return "string";
	case GW_OPT_SECRET:
		return "secret";
	case GW_OPT_INT:
		return "integer";
	case GW_OPT_BOOL:
		return "boolean";
	case GW_OPT_LIST:
		return "list";
	case GW_OPT_PORTS:
		return "ports";
	case GW_OPT_JID:
		return "JID";
	case GW_OPT_PATH:
		return "path";
	case GW_OPT_DURATION:
		return "duration";
	}
	return "?";
}

/* ---- Sections ---- */

static void
section_free(struct gw_section *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nopts; i++) {
		struct conf_value *v = &s->vals[i];

		free(v->raw);
		free(v->file);
		if (v->str != NULL && s->opts[i]->type == GW_OPT_SECRET)
			explicit_bzero(v->str, strlen(v->str));
		free(v->str);
		if (v->list != NULL)
			for (char **w = v->list; *w; w++)
				free(*w);
		free(v->list);
	}
	free(s->vals);
	free(s->opts);
	free(s->full);
	free(s->name);
	free(s->parent);
	free(s->kind);
	free(s);
}

static void
add_options(struct gw_section *s, const struct gw_option *t)
{
	size_t n = 0;

	while (t != NULL && t[n].name != NULL)
		n++;
	s->opts = xreallocarray(s->opts, s->nopts + n, sizeof(*s->opts));
	for (size_t i = 0; i < n; i++)
		s->opts[s->nopts++] = &t[i];
}

/* A new section, appended to the config. parent, kind: NULL for a section. */
static struct gw_section *
section_new(struct config *cfg, const char *parent, const char *kind, const char *name, int line)
{
	struct gw_section *s = xcalloc(1, sizeof(*s));

	s->parent = xstrdup_or_null(parent);
	s->kind = xstrdup_or_null(kind);
	s->name = xstrdup(name);
	s->full = parent ? xasprintf("%s.%s.%s", parent, kind, name) : xstrdup(name);
	s->line = line;
	cfg->sections = xreallocarray(cfg->sections, cfg->nsections + 1, sizeof(*cfg->sections));
	cfg->sections[cfg->nsections++] = s;
	return s;
}

static void
section_alloc_values(struct gw_section *s)
{
	s->vals = xcalloc(s->nopts ? s->nopts : 1, sizeof(*s->vals));
}

static struct gw_section *
find_section(const struct config *cfg, const char *full)
{
	for (size_t i = 0; i < cfg->nsections; i++)
		if (strcmp(cfg->sections[i]->full, full) == 0)
			return cfg->sections[i];
	return NULL;
}

static const struct gw_driver *
find_driver(const struct parse *p, const char *name)
{
	for (size_t i = 0; i < p->ndrivers; i++)
		if (p->drivers[i] != NULL && strcmp(p->drivers[i]->name, name) == 0)
			return p->drivers[i];
	return NULL;
}

static const struct conf_core_section *
find_core(const char *name)
{
	for (const struct conf_core_section *c = conf_core_sections; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
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
		add_error(p, p->lineno, NULL, "empty section name []");
		return;
	}
	if ((s = find_section(p->cfg, name)) != NULL) {
		add_error(p, p->lineno, NULL, "[%s] again: it was already opened at line %d", esc,
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
	if ((core = find_core(name)) != NULL && kind == NULL) {
		s = section_new(p->cfg, NULL, NULL, name, p->lineno);
		s->core = core;
		add_options(s, core->options);
	} else if ((drv = find_driver(p, name)) != NULL) {
		const struct gw_subsection *ss = drv->subsections;
		char kesc[64];

		if (kind == NULL) {
			s = section_new(p->cfg, NULL, NULL, name, p->lineno);
			s->driver = drv;
			add_options(s, conf_backend_options);
			add_options(s, drv->options);
			goto done;
		}
		log_escape(kesc, sizeof(kesc), kind);
		if (sub == NULL) {
			add_error(p, p->lineno, NULL,
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
				add_error(p, p->lineno, NULL,
				          "[%s]: unknown kind of subsection '%s' (%s has: %s)", esc,
				          kesc, drv->name, known);
			else
				add_error(p, p->lineno, NULL, "[%s]: %s has no subsections", esc,
				          drv->name);
			free(known);
			return;
		}
		if (!valid_sub_name(sub)) {
			add_error(p, p->lineno, NULL,
			          "[%s]: a subsection name is letters, digits, '-', '_' or '.'",
			          esc);
			return;
		}
		s = section_new(p->cfg, name, kind, sub, p->lineno);
		s->driver = drv;
		add_options(s, ss->options);
	} else if (known_backend(name)) {
		add_error(p, p->lineno, NULL,
		          "[%s]: this build has no %s backend (configure --disable-%s?)", esc, name,
		          name);
		return;
	} else {
		char *known = section_names(p);

		add_error(p, p->lineno, NULL, "unknown section [%s] (this build knows: %s)", esc,
		          known);
		free(known);
		return;
	}
done:
	section_alloc_values(s);
	p->state = P_IN;
	p->cur = s;
}

/* ---- Lines and keys ---- */

static int
opt_index(const struct gw_section *s, const char *key)
{
	for (size_t i = 0; i < s->nopts; i++)
		if (strcmp(s->opts[i]->name, key) == 0)
			return (int)i;
	return -1;
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
		add_error(p, p->lineno, name, "key outside any section: start with [xmpp]");
		return;
	}
	if (p->state == P_SKIP)
		return;
	if ((i = opt_index(s, name)) == -1 && (nlen = strlen(name)) > 5 &&
	    strcmp(name + nlen - 5, "_file") == 0) {
		char *base = xstrndup(name, nlen - 5);

		i = opt_index(s, base);
		free(base);
		if (i != -1 && s->opts[i]->type != GW_OPT_SECRET)
			i = -1;
		file = i != -1;
	}
	if (i == -1) {
		if ((hint = suggest(s, name)) != NULL)
			add_error(p, p->lineno, name, "unknown key in [%s] (did you mean %s?)",
			          s->full, hint);
		else
			add_error(p, p->lineno, name, "unknown key in [%s]", s->full);
		return;
	}
	v = &s->vals[i];
	if (file ? v->file_line : v->line) {
		add_error(p, p->lineno, name, "given twice (first at line %d)",
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
	if ((problem = text_problem(value)) != NULL) {
		v->bad = true;
		add_error(p, p->lineno, name, "%s", problem);
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
		add_error(p, p->lineno, p->last_file ? NULL : o->name,
		          "an indented line continues the value above, and only lists continue: "
		          "remove the indentation, or join the lines");
		return;
	}
	if ((problem = text_problem(value)) != NULL) {
		v->bad = true;
		add_error(p, p->lineno, o->name, "%s", problem);
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
		add_error(p, p->lineno, NULL, "expected key = value, a [section] or a comment");
		return false;
	}
	while (i > 0 && (s[i - 1] == ' ' || s[i - 1] == '\t'))
		i--;
	if (i == 0) {
		add_error(p, p->lineno, NULL, "a value without a key name");
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
		add_error(p, p->lineno, NULL, "a section header must end with ]");
		return;
	}
	for (const char *t = close + 1; t < s + n; t++) {
		if (*t == ';' || *t == '#')
			break;
		if (*t != ' ' && *t != '\t') {
			p->state = P_SKIP;
			add_error(p, p->lineno, NULL, "text after the section header's ]");
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
		add_error(p, p->lineno, NULL, "NUL byte in the line");
		return out;
	}
	if (n > max) {
		add_error(p, p->lineno, NULL,
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

/* ---- Values ---- */

static bool
has_bounds(const struct gw_option *o)
{
	return o->min != 0 || o->max != 0;
}

/* max < min means no upper bound. */
static bool
in_bounds(const struct gw_option *o, long v)
{
	if (!has_bounds(o))
		return true;
	return v >= o->min && (o->max < o->min || v <= o->max);
}

static char *
bounds_text(const struct gw_option *o, const char *unit)
{
	if (o->max < o->min)
		return xasprintf("at least %ld%s", o->min, unit);
	return xasprintf("between %ld and %ld%s", o->min, o->max, unit);
}

static int
parse_long(const char *s, long *out)
{
	char *end;

	if (*s == '\0' || !(*s == '-' || *s == '+' || (*s >= '0' && *s <= '9')))
		return -1;
	errno = 0;
	*out = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	return 0;
}

/* Seconds, or with suffixes: 30s, 5m, 2h, 1d, 1h30m. */
static int
parse_duration(const char *s, long *out)
{
	long total = 0;

	if (*s == '\0')
		return -1;
	while (*s) {
		long n = 0, unit;

		if (*s < '0' || *s > '9')
			return -1;
		for (; *s >= '0' && *s <= '9'; s++) {
			if (n > (LONG_MAX - 9) / 10)
				return -1;
			n = n * 10 + (*s - '0');
		}
		switch (*s) {
		case 's':
		case '\0':
			unit = 1;
			break;
		case 'm':
			unit = 60;
			break;
		case 'h':
			unit = 3600;
			break;
		case 'd':
			unit = 86400;
			break;
		default:
			return -1;
		}
		if (*s)
			s++;
		if (n > (LONG_MAX - total) / unit)
			return -1;
		total += n * unit;
	}
	*out = total;
	return 0;
}

static int
parse_bool(const char *s, long *out)
{
	static const char *const yes[] = {"yes", "true", "on", "1", NULL};
	static const char *const no[] = {"no", "false", "off", "0", NULL};

	for (int i = 0; yes[i]; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

/* Words separated by spaces, tabs or commas. Caller frees. */
static char **
split_words(const char *s, size_t *n)
{
	char **v = xcalloc(1, sizeof(*v));

	*n = 0;
	for (;;) {
		size_t len;

		s += strspn(s, " \t,");
		if (*s == '\0')
			break;
		len = strcspn(s, " \t,");
		v = xreallocarray(v, *n + 2, sizeof(*v));
		v[(*n)++] = xstrndup(s, len);
		v[*n] = NULL;
		s += len;
	}
	return v;
}

static char *
resolve_path(const struct config *cfg, const char *path)
{
	if (path[0] == '/')
		return xstrdup(path);
	return xasprintf("%s/%s", cfg->dir, path);
}

/*
 * Reads a secret file into *out (caller frees). Returns 0, or -1 with *why
 * (caller frees).
 */
static int
read_secret(const char *path, char **out, char **why)
{
	char buf[CONF_MAX_SECRET + 1];
	struct stat st;
	ssize_t r;
	size_t n = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		*why = xasprintf("cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		*why = xasprintf("cannot read %s: %s", path,
		                 S_ISDIR(st.st_mode) ? strerror(EISDIR) : "not a regular file");
		close(fd);
		return -1;
	}
	while (n < sizeof(buf) && (r = read(fd, buf + n, sizeof(buf) - n)) != 0) {
		if (r == -1) {
			if (errno == EINTR)
				continue;
			*why = xasprintf("cannot read %s: %s", path, strerror(errno));
			close(fd);
			explicit_bzero(buf, sizeof(buf));
			return -1;
		}
		n += (size_t)r;
	}
	close(fd);
	if (n > CONF_MAX_SECRET) {
		*why = xasprintf("%s is longer than %d bytes", path, CONF_MAX_SECRET);
		explicit_bzero(buf, sizeof(buf));
		return -1;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	if (n == 0 || memchr(buf, '\0', n) != NULL) {
		*why = xasprintf("%s %s", path, n ? "has a NUL byte" : "is empty");
		explicit_bzero(buf, sizeof(buf));
		return -1;
	}
	buf[n] = '\0';
	if (text_problem(buf) != NULL) {
		*why = xasprintf("%s has a control character or invalid UTF-8 (the value is "
		                 "the whole file but its final newline)",
		                 path);
		explicit_bzero(buf, sizeof(buf));
		return -1;
	}
	*out = xstrdup(buf);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

/*
 * Turns text (from the file, or the default; NULL: unset) into v's value.
 * Returns 0, or -1 with *why (caller frees).
 */
static int
parse_value(const struct config *cfg, const struct gw_option *o, const char *text,
            struct conf_value *v, char **why)
{
	const char *reason;
	char *b;
	size_t n;

	v->list = NULL;
	if (text == NULL) {
		if (o->type == GW_OPT_LIST || o->type == GW_OPT_PORTS)
			v->list = xcalloc(1, sizeof(*v->list));
		return 0;
	}
	if (*text == '\0' && o->type != GW_OPT_LIST && o->type != GW_OPT_PORTS) {
		if (o->type == GW_OPT_STRING || o->type == GW_OPT_PATH || o->type == GW_OPT_JID ||
		    o->type == GW_OPT_SECRET) {
			if (!(o->flags & GW_OPT_REQUIRED))
				return 0; /* "key =" unsets an optional string */
		}
		*why = xstrdup("needs a value");
		return -1;
	}
	switch (o->type) {
	case GW_OPT_STRING:
	case GW_OPT_SECRET:
		v->str = xstrdup(text);
		return 0;
	case GW_OPT_PATH:
		v->str = resolve_path(cfg, text);
		return 0;
	case GW_OPT_JID:
		if (conf_check_jid(text, false, &reason) == -1) {
			*why = xasprintf("'%s' is not a JID: %s", text, reason);
			return -1;
		}
		v->str = xstrdup(text);
		return 0;
	case GW_OPT_INT:
		if (parse_long(text, &v->num) == -1) {
			*why = xasprintf("'%s' is not an integer", text);
			return -1;
		}
		if (!in_bounds(o, v->num)) {
			b = bounds_text(o, "");
			*why = xasprintf("%ld is out of range: must be %s", v->num, b);
			free(b);
			return -1;
		}
		break;
	case GW_OPT_DURATION:
		if (parse_duration(text, &v->num) == -1) {
			*why = xasprintf("'%s' is not a duration (seconds, or 30s, 5m, 2h, 1d)",
			                 text);
			return -1;
		}
		if (!in_bounds(o, v->num)) {
			b = bounds_text(o, " seconds");
			*why = xasprintf("%s is out of range: must be %s", text, b);
			free(b);
			return -1;
		}
		break;
	case GW_OPT_BOOL:
		if (parse_bool(text, &v->num) == -1) {
			*why = xasprintf("'%s' is not a boolean (yes/no, true/false, on/off, 1/0)",
			                 text);
			return -1;
		}
		break;
	case GW_OPT_LIST:
	case GW_OPT_PORTS:
		v->list = split_words(text, &n);
		for (size_t i = 0; o->type == GW_OPT_PORTS && i < n; i++) {
			long port;

			if (parse_long(v->list[i], &port) == -1 || port < 1 || port > 65535) {
				*why = xasprintf("'%s' is not a port (1..65535)", v->list[i]);
				return -1;
			}
		}
		if (!in_bounds(o, (long)n)) {
			b = bounds_text(o, "");
			*why = xasprintf("has %zu items: must have %s", n, b);
			free(b);
			return -1;
		}
		break;
	}
	v->str = xstrdup(text);
	return 0;
}

/* One key of a section, once the file is read. Returns 0 or -1 (reported). */
static int
load_value(struct parse *p, struct gw_section *s, size_t i)
{
	const struct gw_option *o = s->opts[i];
	struct conf_value *v = &s->vals[i];
	const char *text = v->raw;
	char *why = NULL, *fkey;
	int line = v->line;

	if (v->bad)
		return -1;
	if (o->type == GW_OPT_SECRET && v->file_line) {
		fkey = xasprintf("%s_file", o->name);
		if (v->line) {
			if (v->line > v->file_line)
				add_error(p, v->line, o->name,
				          "%s is given too (line %d): give one", fkey,
				          v->file_line);
			else
				add_error(p, v->file_line, fkey,
				          "%s is given too (line %d): give one", o->name, v->line);
			free(fkey);
			return -1;
		}
		if (*v->file == '\0') {
			add_error(p, v->file_line, fkey, "needs a path");
			free(fkey);
			return -1;
		}
		char *path = resolve_path(p->cfg, v->file);

		if (read_secret(path, &v->str, &why) == -1) {
			add_error(p, v->file_line, fkey, "%s", why);
			free(why);
			free(path);
			free(fkey);
			return -1;
		}
		free(path);
		free(fkey);
		return 0;
	}
	if (!line) {
		if (o->flags & GW_OPT_REQUIRED) {
			if (o->type == GW_OPT_SECRET)
				add_error(p, s->line, o->name, "[%s] needs %s (or %s_file = PATH)",
				          s->full, o->name, o->name);
			else
				add_error(p, s->line, o->name, "[%s] needs this key", s->full);
			return -1;
		}
		text = o->def;
	}
	if (parse_value(p->cfg, o, text, v, &why) == -1) {
		if (line)
			add_error(p, line, o->name, "%s", why);
		else
			add_error(p, s->line, o->name, "built-in default: %s (a bug)", why);
		free(why);
		return -1;
	}
	return 0;
}

static void
run_check(struct parse *p, struct gw_section *s, conf_check_fn check)
{
	const char *key = NULL;
	char *why = NULL;
	int line = s->line, i;

	if (check(s, &key, &why) == 0)
		return;
	if (key != NULL && (i = opt_index(s, key)) != -1 && s->vals[i].line)
		line = s->vals[i].line;
	add_error(p, line, key, "%s", why ? why : "invalid");
	free(why);
}

static void
load_section(struct parse *p, struct gw_section *s)
{
	bool ok = true;

	for (size_t i = 0; i < s->nopts; i++)
		if (load_value(p, s, i) == -1)
			ok = false;
	if (s->parent != NULL && find_section(p->cfg, s->parent) == NULL)
		add_error(p, s->line, NULL, "[%s] has no [%s] section to belong to", s->full,
		          s->parent);
	if (!ok)
		return;
	if (s->core != NULL && s->core->check != NULL)
		run_check(p, s, s->core->check);
	if (s->driver != NULL && s->parent == NULL) {
		const char *key = NULL;
		char *why = NULL;

		if (conf_check_backend(s, &key, &why) == -1) {
			int i = opt_index(s, key);

			add_error(p, i != -1 && s->vals[i].line ? s->vals[i].line : s->line, key,
			          "%s", why);
			free(why);
			return;
		}
		if (s->driver->check_config != NULL && s->driver->check_config(s, &why) == -1) {
			add_error(p, s->line, NULL, "[%s]: %s", s->full, why ? why : "invalid");
			free(why);
		}
	}
}

/* Two components cannot share a domain: the XMPP server knows one of each. */
static void
check_jids_differ(struct parse *p)
{
	struct config *cfg = p->cfg;

	for (size_t i = 0; i < cfg->nsections; i++) {
		const struct gw_section *a = cfg->sections[i];
		int ia, ib;

		if (a->driver == NULL || a->parent != NULL || (ia = opt_index(a, "jid")) == -1 ||
		    a->vals[ia].str == NULL)
			continue;
		for (size_t j = 0; j < i; j++) {
			const struct gw_section *b = cfg->sections[j];

			if (b->driver == NULL || b->parent != NULL ||
			    (ib = opt_index(b, "jid")) == -1 || b->vals[ib].str == NULL)
				continue;
			if (strcasecmp(a->vals[ia].str, b->vals[ib].str) == 0) {
				add_error(p, a->vals[ia].line, "jid",
				          "[%s] has this jid too (line %d)", b->full,
				          b->vals[ib].line);
				break;
			}
		}
	}
}

static void
build_kinds(struct config *cfg)
{
	for (size_t i = 0; i < cfg->nsections; i++) {
		const struct gw_section *s = cfg->sections[i];

		if (s->parent != NULL || s->driver == NULL || s->driver->subsections == NULL)
			continue;
		for (const struct gw_subsection *ss = s->driver->subsections; ss->kind; ss++) {
			struct conf_kind *k;

			cfg->kinds =
			        xreallocarray(cfg->kinds, cfg->nkinds + 1, sizeof(*cfg->kinds));
			k = &cfg->kinds[cfg->nkinds++];
			k->section = s->name;
			k->kind = ss->kind;
			k->v = NULL;
			k->n = 0;
			for (size_t j = 0; j < cfg->nsections; j++) {
				const struct gw_section *c = cfg->sections[j];

				if (c->parent && strcmp(c->parent, s->name) == 0 &&
				    strcmp(c->kind, ss->kind) == 0) {
					k->v = xreallocarray(k->v, k->n + 1, sizeof(*k->v));
					k->v[k->n++] = c;
				}
			}
		}
	}
}

/* ---- Loading ---- */

static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char cwd[PATH_MAX], *d;

	if (slash == path)
		return xstrdup("/");
	d = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".");
	if (*d != '/' && getcwd(cwd, sizeof(cwd)) != NULL) {
		char *abs = strcmp(d, ".") == 0 ? xstrdup(cwd) : xasprintf("%s/%s", cwd, d);

		free(d);
		d = abs;
	}
	return d;
}

static struct config *
finish(struct parse *p, struct config_error **errs, size_t *nerrs)
{
	*errs = NULL;
	*nerrs = 0;
	if (p->nerrs > 0) {
		sort_errors(p->errs, p->nerrs);
		*errs = p->errs;
		*nerrs = p->nerrs;
		config_free(p->cfg);
		return NULL;
	}
	free(p->errs);
	build_kinds(p->cfg);
	return p->cfg;
}

struct config *
config_load_buffer(const char *path, const char *buf, size_t len,
                   const struct gw_driver *const *drivers, size_t n, struct config_error **errs,
                   size_t *nerrs)
{
	struct parse p = {0};
	int r;

	p.cfg = xcalloc(1, sizeof(*p.cfg));
	p.cfg->path = xstrdup(path);
	p.cfg->dir = dir_of(path);
	p.drivers = drivers;
	p.ndrivers = n;
	p.buf = buf;
	p.len = len;
	r = ini_parse_stream(reader, &p, on_key, &p);
	if (r > 0 && p.last_err_line != r)
		add_error(&p, r, NULL, "syntax error");
	else if (r < 0)
		add_error(&p, 0, NULL, "cannot parse (out of memory?)");
	/* Core sections not in the file take their defaults. */
	for (const struct conf_core_section *c = conf_core_sections; c->name; c++) {
		if (find_section(p.cfg, c->name) == NULL) {
			struct gw_section *s = section_new(p.cfg, NULL, NULL, c->name, 0);

			s->core = c;
			add_options(s, c->options);
			section_alloc_values(s);
		}
	}
	for (size_t i = 0; i < p.cfg->nsections; i++)
		load_section(&p, p.cfg->sections[i]);
	check_jids_differ(&p);
	return finish(&p, errs, nerrs);
}

struct config *
config_load(const char *path, const struct gw_driver *const *drivers, size_t n,
            struct config_error **errs, size_t *nerrs)
{
	struct config *cfg;
	struct stat st;
	char *buf = NULL;
	const char *why = NULL;
	size_t len = 0;
	ssize_t r;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		why = strerror(errno);
	} else if (fstat(fd, &st) == -1) {
		why = strerror(errno);
	} else if (S_ISDIR(st.st_mode)) {
		why = strerror(EISDIR);
	} else if (!S_ISREG(st.st_mode)) {
		why = "not a regular file";
	} else if (st.st_size > CONF_MAX_FILE) {
		why = "larger than 1 MiB: not a config file";
	} else {
		buf = xmalloc((size_t)st.st_size + 1);
		while (len < (size_t)st.st_size + 1 &&
		       (r = read(fd, buf + len, (size_t)st.st_size + 1 - len)) != 0) {
			if (r == -1 && errno == EINTR)
				continue;
			if (r == -1) {
				why = strerror(errno);
				break;
			}
			len += (size_t)r;
		}
		if (why == NULL && len > (size_t)st.st_size)
			why = "changed while being read";
	}
	if (fd != -1)
		close(fd);
	if (why != NULL) {
		*errs = xcalloc(1, sizeof(**errs));
		(*errs)->file = xstrdup(path);
		(*errs)->msg = xasprintf("cannot read the config: %s", why);
		*nerrs = 1;
		free(buf);
		return NULL;
	}
	cfg = config_load_buffer(path, buf, len, drivers, n, errs, nerrs);
	free(buf);
	return cfg;
}

void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->nsections; i++)
		section_free(cfg->sections[i]);
	for (size_t i = 0; i < cfg->nkinds; i++)
		free(cfg->kinds[i].v);
	free(cfg->kinds);
	free(cfg->sections);
	free(cfg->path);
	free(cfg->dir);
	free(cfg);
}

/* ---- Reading ---- */

const struct gw_section *
config_section(const struct config *cfg, const char *name)
{
	return find_section(cfg, name);
}

const struct gw_section *const *
config_subsections(const struct config *cfg, const char *section, const char *kind, size_t *n)
{
	static const struct gw_section *const none[] = {NULL};

	for (size_t i = 0; i < cfg->nkinds; i++) {
		if (strcmp(cfg->kinds[i].section, section) == 0 &&
		    strcmp(cfg->kinds[i].kind, kind) == 0 && cfg->kinds[i].n > 0) {
			*n = cfg->kinds[i].n;
			return cfg->kinds[i].v;
		}
	}
	*n = 0;
	return none;
}

const char *
config_path(const struct config *cfg)
{
	return cfg->path;
}

int
config_section_line(const struct gw_section *s)
{
	return s->line;
}

const char *
gw_section_name(const struct gw_section *s)
{
	return s->name;
}

static const struct conf_value *
lookup(const struct gw_section *s, const char *key, const struct gw_option **opt)
{
	int i;

	if (s == NULL)
		return NULL;
	if ((i = opt_index(s, key)) == -1) {
		log_warnx("config: [%s] has no key %s (a bug)", s->full, key);
		return NULL;
	}
	*opt = s->opts[i];
	return &s->vals[i];
}

const char *
gw_conf_str(const struct gw_section *s, const char *key)
{
	const struct gw_option *o;
	const struct conf_value *v = lookup(s, key, &o);

	return v ? v->str : NULL;
}

long
gw_conf_int(const struct gw_section *s, const char *key)
{
	const struct gw_option *o;
	const struct conf_value *v = lookup(s, key, &o);

	return v ? v->num : 0;
}

bool
gw_conf_bool(const struct gw_section *s, const char *key)
{
	const struct gw_option *o;
	const struct conf_value *v = lookup(s, key, &o);

	return v ? v->num != 0 : false;
}

const char *const *
gw_conf_list(const struct gw_section *s, const char *key)
{
	const struct gw_option *o;
	const struct conf_value *v = lookup(s, key, &o);

	if (v == NULL || v->list == NULL) {
		if (v != NULL)
			log_warnx("config: %s is not a list (a bug)", key);
		return empty_list;
	}
	return (const char *const *)v->list;
}

/* ---- Reload ---- */

static bool
strs_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool
values_equal(const struct gw_option *o, const struct conf_value *a, const struct conf_value *b)
{
	switch (o->type) {
	case GW_OPT_INT:
	case GW_OPT_DURATION:
	case GW_OPT_BOOL:
		return a->num == b->num;
	case GW_OPT_LIST:
	case GW_OPT_PORTS:
		for (size_t i = 0;; i++) {
			if (!strs_equal(a->list[i], b->list[i]))
				return false;
			if (a->list[i] == NULL)
				return true;
		}
	default:
		return strs_equal(a->str, b->str);
	}
}

static bool
has_unreloadable(const struct gw_section *s)
{
	for (size_t i = 0; i < s->nopts; i++)
		if (!(s->opts[i]->flags & GW_OPT_RELOADABLE))
			return true;
	return false;
}

static void
push(char ***v, size_t *n, char *s)
{
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = s;
}

char **
config_unreloadable_changes(const struct config *old, const struct config *nw, size_t *n)
{
	char **out = NULL;

	*n = 0;
	for (size_t i = 0; i < old->nsections; i++) {
		const struct gw_section *a = old->sections[i], *b = find_section(nw, a->full);

		if (b == NULL) {
			if (has_unreloadable(a))
				push(&out, n, xstrdup(a->full));
			continue;
		}
		for (size_t j = 0; j < a->nopts; j++) {
			const struct gw_option *o = a->opts[j];
			int k = opt_index(b, o->name);

			if (o->flags & GW_OPT_RELOADABLE)
				continue;
			if (k == -1 || !values_equal(o, &a->vals[j], &b->vals[k]))
				push(&out, n, xasprintf("%s.%s", a->full, o->name));
		}
	}
	for (size_t i = 0; i < nw->nsections; i++) {
		const struct gw_section *b = nw->sections[i];

		if (find_section(old, b->full) == NULL && has_unreloadable(b))
			push(&out, n, xstrdup(b->full));
	}
	return out;
}
