/*
 * The config module's core: loading a file, its sections, reading values,
 * and what a reload cannot apply (conf.h). The text is parsed in
 * conf_parse.c, the values checked in conf_value.c (conf_int.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "conf_int.h"

static const char *const empty_list[] = {NULL};

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

void
conf_add_options(struct gw_section *s, const struct gw_option *t)
{
	size_t n = 0;

	while (t != NULL && t[n].name != NULL)
		n++;
	s->opts = xreallocarray(s->opts, s->nopts + n, sizeof(*s->opts));
	for (size_t i = 0; i < n; i++)
		s->opts[s->nopts++] = &t[i];
}

/* A new section, appended to the config. parent, kind: NULL for a section. */
struct gw_section *
conf_section_new(struct config *cfg, const char *parent, const char *kind, const char *name,
                 int line)
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

void
conf_section_alloc(struct gw_section *s)
{
	s->vals = xcalloc(s->nopts ? s->nopts : 1, sizeof(*s->vals));
}

struct gw_section *
conf_find_section(const struct config *cfg, const char *full)
{
	for (size_t i = 0; i < cfg->nsections; i++)
		if (strcmp(cfg->sections[i]->full, full) == 0)
			return cfg->sections[i];
	return NULL;
}

const struct conf_core_section *
conf_find_core(const char *name)
{
	for (const struct conf_core_section *c = conf_core_sections; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

int
conf_opt_index(const struct gw_section *s, const char *key)
{
	for (size_t i = 0; i < s->nopts; i++)
		if (strcmp(s->opts[i]->name, key) == 0)
			return (int)i;
	return -1;
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
		conf_sort_errors(p->errs, p->nerrs);
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

	p.cfg = xcalloc(1, sizeof(*p.cfg));
	p.cfg->path = xstrdup(path);
	p.cfg->dir = dir_of(path);
	p.drivers = drivers;
	p.ndrivers = n;
	p.buf = buf;
	p.len = len;
	conf_parse_text(&p);
	/* Core sections not in the file take their defaults. */
	for (const struct conf_core_section *c = conf_core_sections; c->name; c++) {
		if (conf_find_section(p.cfg, c->name) == NULL) {
			struct gw_section *s = conf_section_new(p.cfg, NULL, NULL, c->name, 0);

			s->core = c;
			conf_add_options(s, c->options);
			conf_section_alloc(s);
		}
	}
	for (size_t i = 0; i < p.cfg->nsections; i++)
		conf_load_section(&p, p.cfg->sections[i]);
	conf_check_jids_differ(&p);
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
	return conf_find_section(cfg, name);
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

const char *
gw_section_kind(const struct gw_section *s)
{
	return s->kind;
}

static const struct conf_value *
lookup(const struct gw_section *s, const char *key, const struct gw_option **opt)
{
	int i;

	if (s == NULL)
		return NULL;
	if ((i = conf_opt_index(s, key)) == -1) {
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
		const struct gw_section *a = old->sections[i], *b = conf_find_section(nw, a->full);

		if (b == NULL) {
			if (has_unreloadable(a))
				push(&out, n, xstrdup(a->full));
			continue;
		}
		for (size_t j = 0; j < a->nopts; j++) {
			const struct gw_option *o = a->opts[j];
			int k = conf_opt_index(b, o->name);

			if (o->flags & GW_OPT_RELOADABLE)
				continue;
			if (k == -1 || !values_equal(o, &a->vals[j], &b->vals[k]))
				push(&out, n, xasprintf("%s.%s", a->full, o->name));
		}
	}
	for (size_t i = 0; i < nw->nsections; i++) {
		const struct gw_section *b = nw->sections[i];

		if (conf_find_section(old, b->full) == NULL && has_unreloadable(b))
			push(&out, n, xstrdup(b->full));
	}
	return out;
}
