/*
 * The configuration file (SPEC.md section 4): loading, validation against
 * the option tables, reading values, and the documentation generated from
 * the same tables (example config, man page).
 *
 * This header is conf.h, not config.h: every source file starts with
 * #include "config.h" for autoconf's header, and a src/config.h would
 * shadow it for the files in src/ (quoted includes search the including
 * file's directory first), silently dropping WITH_<NET> and HAVE_*.
 *
 * Syntax: INI as libinih reads it. "key = value" (or "key: value"); "#" or
 * ";" starts a comment line, " ;" an inline comment; keys are case-sensitive;
 * values are taken as written, without quoting, trimmed of spaces (so a
 * value cannot start with ";" nor hold " ;": give such a secret in a file).
 * A line is at most CONF_MAX_LINE bytes: a LIST or PORTS value continues on
 * the following indented lines that contain no "=" or ":".
 * Sections: [xmpp], [storage], [log], one [<driver>] per backend to enable,
 * and [<driver>.<kind>.<name>] subsections (e.g. [sms.line.office]).
 * Relative PATH values (and <key>_file of a SECRET) are taken relative to
 * the directory of the config file.
 *
 * Reading values (driver.h's gw_conf_*()): gw_conf_str() gives any key's
 * text (for INT, BOOL, DURATION, LIST and PORTS as written, or the
 * default), the secret itself for a SECRET read from <key>_file, and an
 * absolute path for a PATH; an optional string written "key =" is unset
 * (NULL). gw_conf_int() reads INT, DURATION (in seconds) and BOOL (0/1).
 * Bounds {min, max} apply to INT, DURATION (seconds) and the number of
 * items of LIST and PORTS; max < min means no upper bound. Asking for a key
 * the section's table lacks is a bug: it is logged and yields nothing.
 */
#ifndef SG_CONF_H
#define SG_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "driver.h"

/* The longest line libinih reads (its INI_MAX_LINE, less the NUL). */
#define CONF_MAX_LINE 199
/* Files larger than this are refused (a config file, a secret file). */
#define CONF_MAX_FILE (1024 * 1024)
#define CONF_MAX_SECRET 4096

struct config;

/* One problem found in a config file. Every string is owned by the error. */
struct config_error {
	char *file;
	int line;  /* 1-based; 0 when the problem is the file itself */
	char *key; /* the key at fault, or NULL (a section, a syntax error) */
	char *msg; /* one line, untrusted text escaped */
};

/*
 * Parses and validates path. drivers: the compiled-in drivers (array of n;
 * the config keeps the pointers, so they must outlive it: they are static).
 * Each backend section's driver->check_config is called (with the driver's
 * main section) once the section passed the option table.
 *
 * Returns the config (free with config_free()) and sets *errs = NULL,
 * *nerrs = 0; or returns NULL and sets *errs to EVERY problem found, sorted
 * by line (free with config_errors_free()).
 */
struct config *config_load(const char *path, const struct gw_driver *const *drivers, size_t n,
                           struct config_error **errs, size_t *nerrs);
/*
 * config_load() on text already in memory (len bytes, need not be
 * NUL-terminated, may contain anything): for the tests and the fuzzer. path
 * names the file in errors and anchors relative paths.
 */
struct config *config_load_buffer(const char *path, const char *buf, size_t len,
                                  const struct gw_driver *const *drivers, size_t n,
                                  struct config_error **errs, size_t *nerrs);
void config_errors_free(struct config_error *, size_t);
/* "FILE:LINE: KEY: MSG" on one line (parts left out when absent); caller frees. */
char *config_error_format(const struct config_error *);
void config_free(struct config *);

/*
 * The section [name] ("xmpp", "storage", "log", "echo", ...), or NULL when
 * absent. [xmpp], [storage] and [log] are always there, with their defaults
 * when the file has none. Owned by the config.
 */
const struct gw_section *config_section(const struct config *, const char *name);
/*
 * The subsections [section.kind.*] in file order; *n gets the count. Never
 * NULL (an empty vector when there are none). Owned by the config.
 */
const struct gw_section *const *config_subsections(const struct config *, const char *section,
                                                   const char *kind, size_t *n);
/* The path given to config_load(). Owned by the config. */
const char *config_path(const struct config *);
/* The header line of a section in the file, 0 when it came from defaults. */
int config_section_line(const struct gw_section *);

/*
 * What SIGHUP cannot apply: for a section in both configs, "section.key" for
 * every key without GW_OPT_RELOADABLE whose value differs ("xmpp.port",
 * "sms.line.office.number"); for a section in only one of them, its name
 * ("irc", "sms.line.shop") when it has any such key. A SECRET compares the
 * secret itself, wherever it was read from. Returns NULL when nothing
 * differs; otherwise a vector of *n strings: the caller frees each and the
 * vector.
 */
char **config_unreloadable_changes(const struct config *old, const struct config *nw, size_t *n);

/*
 * The example config: every section (core ones live, each driver's
 * commented out with one example subsection per kind), every key commented
 * out at its default, with its help, type, bounds and reloadability. The
 * result loads as is.
 */
void config_write_example(FILE *, const struct gw_driver *const *drivers, size_t n);
/* The same as a roff fragment for stanzagate.conf(5): one .SS per section. */
void config_write_man(FILE *, const struct gw_driver *const *drivers, size_t n);

/* ---- The core option tables (options_core.c), shared with the writers ---- */

/*
 * A check of a section beyond its option table, run once the table's checks
 * passed. Returns 0, or -1 with *key (static; NULL: the whole section) and
 * *why (caller frees).
 */
typedef int (*conf_check_fn)(const struct gw_section *, const char **key, char **why);

struct conf_core_section {
	const char *name; /* "xmpp" */
	const char *help;
	const struct gw_option *options;
	conf_check_fn check; /* may be NULL */
};

/* [xmpp], [storage], [log]; ends with name == NULL. */
extern const struct conf_core_section conf_core_sections[];
/* jid and secret, which every backend section starts with. */
extern const struct gw_option conf_backend_options[];
/* Checks of those two (the component jid is a bare domain). */
int conf_check_backend(const struct gw_section *, const char **key, char **why);
/* Backends this program knows by name, compiled in or not. NULL-terminated. */
extern const char *const conf_known_backends[];

/*
 * JID syntax (a light RFC 7622 check: lengths, forbidden characters, no
 * resource). domain_only refuses a localpart. Returns 0, or -1 with *why
 * (static).
 */
int conf_check_jid(const char *, bool domain_only, const char **why);
/* "string", "secret", "integer"... for the writers. Static. */
const char *conf_type_name(enum gw_opt_type);

/* The largest avatar accepted: it travels base64 in one vCard stanza. */
#define CONF_MAX_AVATAR (48 * 1024)
/*
 * Reads the image at path for a gateway's avatar: a PNG or JPEG file of at
 * most CONF_MAX_AVATAR bytes. Returns 0 with *data (caller frees), *len and
 * *mime (static, "image/png"); or -1 with *why (caller frees). data may be
 * NULL to check only.
 */
int conf_read_avatar(const char *path, unsigned char **data, size_t *len, const char **mime,
                     char **why);

#endif
