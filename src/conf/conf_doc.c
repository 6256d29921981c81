/*
 * The documentation generated from the option tables: the example config
 * and the stanzagate.conf(5) fragment (conf.h). Both walk the sections in
 * the same order: the core's, then each driver's with its subsections.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "conf.h"

#define WRAP 76

/* "integer, 1..65535, default 5347, reloadable" Caller frees. */
static char *
describe(const struct gw_option *o)
{
	char *range = NULL, *def, *out;
	const char *reload = o->flags & GW_OPT_RELOADABLE ? "reloadable" : "needs a restart";

	if (o->min != 0 || o->max != 0) {
		const char *unit = o->type == GW_OPT_DURATION                          ? " seconds"
		                   : o->type == GW_OPT_LIST || o->type == GW_OPT_PORTS ? " items"
		                                                                       : "";

		if (o->max < o->min)
			range = xasprintf(", at least %ld%s", o->min, unit);
		else
			range = xasprintf(", %ld..%ld%s", o->min, o->max, unit);
	}
	if (o->flags & GW_OPT_REQUIRED)
		def = xstrdup("required");
	else if (o->def == NULL)
		def = xstrdup("unset by default");
	else if (*o->def == '\0')
		def = xstrdup("empty by default");
	else
		def = xasprintf("default %s", o->def);
	if (o->type == GW_OPT_SECRET)
		out = xasprintf("secret, also as %s_file = PATH, %s, %s", o->name, def, reload);
	else
		out = xasprintf("%s%s, %s, %s", conf_type_name(o->type), range ? range : "", def,
		                reload);
	free(range);
	free(def);
	return out;
}

/* text as comment lines of at most WRAP columns, each starting with "# ". */
static void
comment(FILE *f, const char *text)
{
	while (*text) {
		size_t n = strlen(text), cut = n;

		if (n > WRAP - 2) {
			cut = WRAP - 2;
			while (cut > 0 && text[cut] != ' ')
				cut--;
			if (cut == 0)
				cut = strcspn(text, " ");
		}
		fprintf(f, "# %.*s\n", (int)cut, text);
		text += cut;
		while (*text == ' ')
			text++;
	}
}

/* What to show for a key that has no default. Static. */
static const char *
example_value(const struct gw_option *o, const char *section)
{
	static char buf[128];

	if (o->def != NULL)
		return o->def;
	if (strcmp(o->name, "jid") == 0 && o->type == GW_OPT_JID) {
		snprintf(buf, sizeof(buf), "%s.example.org", section);
		return buf;
	}
	if (o->type == GW_OPT_SECRET)
		return "change-me";
	return "";
}

static void
example_options(FILE *f, const char *section, const struct gw_option *t, const char *prefix)
{
	for (; t != NULL && t->name != NULL; t++) {
		char *d = describe(t);
		const char *v = example_value(t, section);

		fputc('\n', f);
		comment(f, t->help ? t->help : "");
		comment(f, d);
		fprintf(f, "%s%s =%s%s\n", prefix, t->name, *v ? " " : "", v);
		free(d);
	}
}

void
config_write_example(FILE *f, const struct gw_driver *const *drivers, size_t n)
{
	fputs("# stanzagate.conf: configuration of the stanzagate XMPP gateway.\n"
	      "#\n"
	      "# Generated from the option tables (genconf example); see stanzagate.conf(5).\n"
	      "# Every key is shown commented out at its default. Syntax: INI,\n"
	      "# \"key = value\"; lines starting with # or ; are comments, and \" ;\"\n"
	      "# starts a comment after a value; values are not quoted. A list may\n"
	      "# continue on indented lines.\n"
	      "# Relative paths start from this file's directory.\n"
	      "#\n"
	      "# A backend is enabled by its section: uncomment [echo], [irc]... and give\n"
	      "# its jid and secret as declared for that component on the XMPP server.\n",
	      f);
	for (const struct conf_core_section *c = conf_core_sections; c->name; c++) {
		fprintf(f, "\n[%s]\n", c->name);
		comment(f, c->help);
		example_options(f, c->name, c->options, "#");
	}
	for (size_t i = 0; i < n; i++) {
		const struct gw_driver *d = drivers[i];

		fprintf(f, "\n\n# ---- %s ----\n", d->description ? d->description : d->name);
		comment(f, "Absent: this backend is off. Uncomment the section to enable it.");
		fprintf(f, "#[%s]\n", d->name);
		example_options(f, d->name, conf_backend_options, "#");
		example_options(f, d->name, d->options, "#");
		for (const struct gw_subsection *s = d->subsections; s && s->kind; s++) {
			fprintf(f, "\n# One [%s.%s.NAME] per %s (NAME: letters, digits, - _ .).\n",
			        d->name, s->kind, s->kind);
			if (s->help)
				comment(f, s->help);
			fprintf(f, "#[%s.%s.example]\n", d->name, s->kind);
			example_options(f, d->name, s->options, "#");
		}
	}
}

/*
 * roff text: escapes backslashes and a leading dot or quote; a dash that
 * starts a word is an option's minus sign (-v), any other a hyphen.
 */
static void
roff(FILE *f, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", f);
	for (const char *c = s; *c; c++) {
		if (*c == '\\')
			fputs("\\e", f);
		else if (*c == '-' && (c == s || c[-1] == ' '))
			fputs("\\-", f);
		else
			fputc(*c, f);
	}
}

static void
man_options(FILE *f, const struct gw_option *t)
{
	for (; t != NULL && t->name != NULL; t++) {
		char *d = describe(t);

		fputs(".TP\n\\fB", f);
		roff(f, t->name);
		fputs("\\fR (", f);
		roff(f, d);
		fputs(")\n", f);
		if (t->help) {
			roff(f, t->help);
			fputc('\n', f);
		}
		free(d);
	}
}

static void
man_section(FILE *f, const char *title, const char *help)
{
	fputs(".SS \"[", f);
	roff(f, title);
	fputs("]\"\n", f);
	if (help != NULL && *help) {
		roff(f, help);
		fputc('\n', f);
	}
}

void
config_write_man(FILE *f, const struct gw_driver *const *drivers, size_t n)
{
	fputs(".\\\" Generated from the option tables by genconf man; do not edit.\n"
	      ".SH SECTIONS AND KEYS\n"
	      "Each key is listed with its type, its default, and whether SIGHUP applies a new\n"
	      "value (reloadable) or the daemon must be restarted.\n",
	      f);
	for (const struct conf_core_section *c = conf_core_sections; c->name; c++) {
		man_section(f, c->name, c->help);
		man_options(f, c->options);
	}
	for (size_t i = 0; i < n; i++) {
		const struct gw_driver *d = drivers[i];
		char *help = xasprintf("%s. Present: the backend is enabled.",
		                       d->description ? d->description : d->name);

		man_section(f, d->name, help);
		free(help);
		man_options(f, conf_backend_options);
		man_options(f, d->options);
		for (const struct gw_subsection *s = d->subsections; s && s->kind; s++) {
			char *title = xasprintf("%s.%s.NAME", d->name, s->kind);

			man_section(f, title, s->help);
			free(title);
			man_options(f, s->options);
		}
	}
}
