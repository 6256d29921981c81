/*
 * The values of the config: text checks, JIDs, the option types, secret
 * files, and the checks of a whole section (conf_int.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "conf_int.h"

/*
 * NULL when s is UTF-8 without control characters (C0, DEL, C1); otherwise
 * what is wrong.
 */
const char *
conf_text_problem(const char *s)
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
	if (conf_text_problem(buf) != NULL) {
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
				conf_error(p, v->line, o->name,
				           "%s is given too (line %d): give one", fkey,
				           v->file_line);
			else
				conf_error(p, v->file_line, fkey,
				           "%s is given too (line %d): give one", o->name, v->line);
			free(fkey);
			return -1;
		}
		if (*v->file == '\0') {
			conf_error(p, v->file_line, fkey, "needs a path");
			free(fkey);
			return -1;
		}
		char *path = resolve_path(p->cfg, v->file);

		if (read_secret(path, &v->str, &why) == -1) {
			conf_error(p, v->file_line, fkey, "%s", why);
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
				conf_error(p, s->line, o->name, "[%s] needs %s (or %s_file = PATH)",
				           s->full, o->name, o->name);
			else
				conf_error(p, s->line, o->name, "[%s] needs this key", s->full);
			return -1;
		}
		text = o->def;
	}
	if (parse_value(p->cfg, o, text, v, &why) == -1) {
		if (line)
			conf_error(p, line, o->name, "%s", why);
		else
			conf_error(p, s->line, o->name, "built-in default: %s (a bug)", why);
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
	if (key != NULL && (i = conf_opt_index(s, key)) != -1 && s->vals[i].line)
		line = s->vals[i].line;
	conf_error(p, line, key, "%s", why ? why : "invalid");
	free(why);
}

void
conf_load_section(struct parse *p, struct gw_section *s)
{
	bool ok = true;

	for (size_t i = 0; i < s->nopts; i++)
		if (load_value(p, s, i) == -1)
			ok = false;
	if (s->parent != NULL && conf_find_section(p->cfg, s->parent) == NULL)
		conf_error(p, s->line, NULL, "[%s] has no [%s] section to belong to", s->full,
		           s->parent);
	if (!ok)
		return;
	if (s->core != NULL && s->core->check != NULL)
		run_check(p, s, s->core->check);
	if (s->driver != NULL && s->parent == NULL) {
		const char *key = NULL;
		char *why = NULL;

		if (conf_check_backend(s, &key, &why) == -1) {
			int i = conf_opt_index(s, key);

			conf_error(p, i != -1 && s->vals[i].line ? s->vals[i].line : s->line, key,
			           "%s", why);
			free(why);
			return;
		}
		if (s->driver->check_config != NULL && s->driver->check_config(s, &why) == -1) {
			conf_error(p, s->line, NULL, "[%s]: %s", s->full, why ? why : "invalid");
			free(why);
		}
	} else if (s->driver != NULL && s->driver->check_subsection != NULL) {
		char *why = NULL;

		if (s->driver->check_subsection(s, &why) == -1) {
			conf_error(p, s->line, NULL, "[%s]: %s", s->full, why ? why : "invalid");
			free(why);
		}
	}
}

/* Two components cannot share a domain: the XMPP server knows one of each. */
void
conf_check_jids_differ(struct parse *p)
{
	struct config *cfg = p->cfg;

	for (size_t i = 0; i < cfg->nsections; i++) {
		const struct gw_section *a = cfg->sections[i];
		int ia, ib;

		if (a->driver == NULL || a->parent != NULL ||
		    (ia = conf_opt_index(a, "jid")) == -1 || a->vals[ia].str == NULL)
			continue;
		for (size_t j = 0; j < i; j++) {
			const struct gw_section *b = cfg->sections[j];

			if (b->driver == NULL || b->parent != NULL ||
			    (ib = conf_opt_index(b, "jid")) == -1 || b->vals[ib].str == NULL)
				continue;
			if (strcasecmp(a->vals[ia].str, b->vals[ib].str) == 0) {
				conf_error(p, a->vals[ia].line, "jid",
				           "[%s] has this jid too (line %d)", b->full,
				           b->vals[ib].line);
				break;
			}
		}
	}
}
