/*
 * What the config module's files share (conf.c, conf_parse.c,
 * conf_value.c); nothing outside them includes this.
 */
#ifndef SG_CONF_INT_H
#define SG_CONF_INT_H

#include <stdbool.h>
#include <stddef.h>

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

/* ---- conf.c: sections ---- */

/* A new section, appended to the config. parent, kind: NULL for a section. */
struct gw_section *conf_section_new(struct config *, const char *parent, const char *kind,
                                    const char *name, int line);
/* Appends an option table (ends with name == NULL; may be NULL). */
void conf_add_options(struct gw_section *, const struct gw_option *);
/* Allocates the values, once every table is added. */
void conf_section_alloc(struct gw_section *);
struct gw_section *conf_find_section(const struct config *, const char *full);
const struct conf_core_section *conf_find_core(const char *name);
/* Index of key in the section's options, or -1. */
int conf_opt_index(const struct gw_section *, const char *key);

/* ---- conf_parse.c: the text ---- */

/* Reads p->buf into sections and raw values, reporting what is wrong. */
void conf_parse_text(struct parse *);
/* Records a problem; key (escaped here) may be NULL. */
void conf_error(struct parse *, int line, const char *key, const char *fmt, ...) SG_PRINTF(4, 5);
/* Sorts by line, keeping the order found within a line. */
void conf_sort_errors(struct config_error *, size_t);

/* ---- conf_value.c: the values ---- */

/* NULL when s is UTF-8 without control characters; otherwise what is wrong. Static. */
const char *conf_text_problem(const char *s);
/* Checks and converts every value of the section, then runs its checks. */
void conf_load_section(struct parse *, struct gw_section *);
/* Reports two backends given the same jid. */
void conf_check_jids_differ(struct parse *);

#endif
