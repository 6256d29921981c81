/*
 * Commands as chat text, for clients without XEP-0050: the same command
 * tables, sessions and stages as commands.c, with forms shown as text and
 * filled in with "var=value" lines (JMP's ad-hoc bot, Slidge; PEERS.md).
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SG_COMMANDS_INTERNAL
#include "commands.h"

#define TEXT_MAX COMMANDS_TEXT_MAX

/* ---- A growing string ---- */

struct sbuf {
	char *s;
	size_t len, cap;
};

static void sb_printf(struct sbuf *, const char *, ...) SG_PRINTF(2, 3);

static void
sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (b->len + (size_t)n + 1 > b->cap) {
		b->cap = (b->len + (size_t)n + 1) * 2;
		b->s = xreallocarray(b->s, b->cap, 1);
	}
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* The text, without trailing newlines; "Done." when empty. Made safe for
 * XML, as notes and values may come from a foreign network. Caller frees. */
static char *
sb_finish(struct sbuf *b)
{
	char *out;

	while (b->len > 0 && b->s[b->len - 1] == '\n')
		b->s[--b->len] = '\0';
	if (b->len == 0) {
		free(b->s);
		return xstrdup("Done.");
	}
	out = form_clean(b->s, 0, true);
	free(b->s);
	return out;
}

/* ---- Showing forms and outcomes ---- */

static size_t
count_inputs(const struct gw_form *form)
{
	const struct gw_field *f;
	size_t n = 0;

	for (f = form->fields; f->var != NULL; f++)
		n += form_field_is_input(f);
	return n;
}

static const struct gw_field *
only_input(const struct gw_form *form)
{
	const struct gw_field *f;

	if (count_inputs(form) != 1)
		return NULL;
	for (f = form->fields; !form_field_is_input(f); f++)
		;
	return f;
}

/* The value of f as shown: a list, yes/no, or the text lines. */
static void
show_value(struct sbuf *b, const struct gw_field *f, const struct gw_values *v, bool result)
{
	const char *const *vals;
	size_t n, i;

	if (f->flags & GW_FIELD_SECRET) {
		sb_printf(b, "%s",
		          gw_values_has(v, f->var) && !result ? "(set, hidden)" : "(hidden)");
		return;
	}
	vals = gw_values_getv(v, f->var, &n);
	if (n == 0) {
		sb_printf(b, "(not set)");
		return;
	}
	if (f->type == GW_FIELD_BOOL) {
		sb_printf(b, "%s",
		          strcmp(vals[0], "1") == 0 || strcasecmp(vals[0], "true") == 0 ? "yes"
		                                                                        : "no");
		return;
	}
	if (f->type == GW_FIELD_TEXT_MULTI && n > 1) {
		for (i = 0; i < n; i++)
			sb_printf(b, "\n    %s", vals[i]);
		return;
	}
	for (i = 0; i < n; i++)
		sb_printf(b, "%s%s", i > 0 ? ", " : "", vals[i]);
}

/* A form as text; values is what it shows (current, else defaults). */
static void
show_form(struct sbuf *b, const struct gw_form *form, const struct gw_values *values, bool result,
          bool can_go_back)
{
	const struct gw_field *f;
	size_t i;

	if (form->title != NULL)
		sb_printf(b, "%s\n", form->title);
	if (form->instructions != NULL)
		sb_printf(b, "%s\n", form->instructions);
	for (f = form->fields; f->var != NULL; f++) {
		if (f->type == GW_FIELD_HIDDEN)
			continue;
		if (f->type == GW_FIELD_FIXED) {
			sb_printf(b, "%s\n",
			          f->def != NULL     ? f->def
			          : f->label != NULL ? f->label
			                             : "");
			continue;
		}
		if (result) {
			sb_printf(b, "%s: ", form_field_name(f));
		} else {
			sb_printf(b, "- %s", f->var);
			if (f->label != NULL && strcasecmp(f->label, f->var) != 0)
				sb_printf(b, " (%s)", f->label);
			if (f->flags & GW_FIELD_REQUIRED)
				sb_printf(b, ", required");
			if (f->type == GW_FIELD_BOOL)
				sb_printf(b, ", yes/no");
			if (f->type == GW_FIELD_LIST_MULTI)
				sb_printf(b, ", one or more, separated by commas");
			sb_printf(b, ": ");
		}
		show_value(b, f, values, result);
		sb_printf(b, "\n");
		if (!result && f->desc != NULL)
			sb_printf(b, "    %s\n", f->desc);
		if (!result && f->options != NULL &&
		    (f->type == GW_FIELD_LIST || f->type == GW_FIELD_LIST_MULTI)) {
			sb_printf(b, "    choices:");
			for (i = 0; f->options[i] != NULL; i++)
				sb_printf(b, " %zu) %s", i + 1, f->options[i]);
			sb_printf(b, "\n");
		}
	}
	if (result)
		return;
	if ((f = only_input(form)) != NULL) {
		sb_printf(b, "Reply with the value%s%s, or \"cancel\".\n",
		          gw_values_get(values, f->var) != NULL &&
		                          *gw_values_get(values, f->var) != '\0'
		                  ? ", \"ok\" to keep it"
		                  : "",
		          can_go_back ? ", \"back\"" : "");
		return;
	}
	for (f = form->fields; f->var != NULL && !form_field_is_input(f); f++)
		;
	sb_printf(b,
	          "Reply with lines such as \"%s=value\", \"ok\" to keep these values%s, "
	          "or \"cancel\".\n",
	          f->var != NULL ? f->var : "var", can_go_back ? ", \"back\"" : "");
}

static void
show_notes(struct sbuf *b, struct gw_cmd *s)
{
	size_t i;

	for (i = 0; i < s->nnotes; i++)
		sb_printf(b, "%s%s\n",
		          s->notes[i].type == GW_NOTE_ERROR  ? "Error: "
		          : s->notes[i].type == GW_NOTE_WARN ? "Warning: "
		                                             : "",
		          s->notes[i].text);
}

/* What a run produced, as text; ends the session unless st is NEXT. */
static char *
outcome(struct sbuf *b, struct gw_cmd *s, enum gw_cmd_status st)
{
	struct gw_values *shown;

	show_notes(b, s);
	if (st == GW_CMD_NEXT) {
		shown = cmd_shown_values(s);
		show_form(b, cmd_session_form(s), shown, false, s->nforms > 1);
		gw_values_free(shown);
	} else {
		if (s->result != NULL)
			show_form(b, &s->result->form, s->result->form.current, true, false);
		cmd_session_free(s);
	}
	return sb_finish(b);
}

/* ---- Reading replies ---- */

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* If line starts with f's var or label and then '=' or ':', the value. */
static const char *
match_key(const char *line, const char *key)
{
	size_t n;

	if (key == NULL || (n = strlen(key)) == 0 || strncasecmp(line, key, n) != 0)
		return NULL;
	line += n;
	while (*line == ' ' || *line == '\t')
		line++;
	if (*line != '=' && *line != ':')
		return NULL;
	line++;
	while (*line == ' ' || *line == '\t')
		line++;
	return line;
}

/* The input field a "key=value" line sets, with *value; NULL if none. */
static const struct gw_field *
line_field(const struct gw_form *form, const char *line, const char **value)
{
	const struct gw_field *f, *best = NULL;
	const char *v;
	size_t best_len = 0, len;

	for (f = form->fields; f->var != NULL; f++) {
		if (!form_field_is_input(f))
			continue;
		if ((v = match_key(line, f->var)) != NULL && (len = strlen(f->var)) > best_len) {
			best = f, best_len = len, *value = v;
		}
		if ((v = match_key(line, f->label)) != NULL &&
		    (len = strlen(f->label)) > best_len) {
			best = f, best_len = len, *value = v;
		}
	}
	return best;
}

/* Add what a person typed for f: option numbers become options, a
 * list-multi takes comma-separated choices. */
static void
add_typed(struct gw_values *raw, const struct gw_field *f, const char *typed)
{
	char *copy, *tok, *save = NULL, *t;
	size_t nopt = 0;
	unsigned long k;
	char *end;

	if (f->options != NULL)
		while (f->options[nopt] != NULL)
			nopt++;
	if (f->type != GW_FIELD_LIST && f->type != GW_FIELD_LIST_MULTI) {
		gw_values_add(raw, f->var, typed);
		return;
	}
	copy = xstrdup(typed);
	for (tok = strtok_r(copy, f->type == GW_FIELD_LIST_MULTI ? "," : "", &save); tok != NULL;
	     tok = strtok_r(NULL, f->type == GW_FIELD_LIST_MULTI ? "," : "", &save)) {
		t = trim(tok);
		if (*t == '\0' && f->type == GW_FIELD_LIST_MULTI)
			continue;
		k = strtoul(t, &end, 10);
		if (*t != '\0' && *end == '\0' && k >= 1 && k <= nopt) {
			size_t i;
			bool literal = false;

			for (i = 0; i < nopt; i++)
				literal |= strcmp(f->options[i], t) == 0;
			if (!literal)
				t = (char *)f->options[k - 1];
		}
		gw_values_add(raw, f->var, t);
	}
	if (!gw_values_has(raw, f->var))
		gw_values_set(raw, f->var, NULL, 0);
	free(copy);
}

/* Parse a reply to form into raw values, or NULL with *why. */
static struct gw_values *
parse_reply(const struct gw_form *form, char *body, char **why)
{
	struct gw_values *raw = gw_values_new();
	const struct gw_field *f, *cur = NULL, *one = only_input(form);
	const char *value;
	char *line, *save = NULL;
	bool first = true;

	if (one != NULL && line_field(form, body, &value) == NULL) {
		/* A form of one field takes the bare value. */
		if (one->type == GW_FIELD_TEXT_MULTI)
			gw_values_add(raw, one->var, body);
		else
			add_typed(raw, one, body);
		return raw;
	}
	for (line = strtok_r(body, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		line = trim(line);
		if ((f = line_field(form, line, &value)) != NULL) {
			cur = f;
			if (gw_values_has(raw, f->var) && f->type != GW_FIELD_TEXT_MULTI &&
			    f->type != GW_FIELD_LIST_MULTI) {
				gw_values_remove(raw, f->var); /* the last one wins */
			}
			add_typed(raw, f, value);
		} else if (cur != NULL && cur->type == GW_FIELD_TEXT_MULTI) {
			gw_values_add(raw, cur->var, line);
		} else if (*line != '\0' || first) {
			char *q = form_clean(line, 60, false);

			*why = xasprintf("I do not know which field \"%s\" is for.", q);
			free(q);
			gw_values_free(raw);
			return NULL;
		}
		first = false;
	}
	return raw;
}

/* Submit a typed reply to the waiting form, run the next stage, and say
 * what came of it after what b holds. An invalid reply keeps the session
 * at its stage; with show_again the form is shown after the reason. */
static char *
submit_text(struct gw_cmd *s, char *body, struct sbuf *b, bool show_again)
{
	const struct gw_form *form = cmd_session_form(s);
	struct gw_values *raw = NULL, *in = NULL, *merged;
	enum gw_cmd_status st;
	char *why = NULL;
	bool keep = strcasecmp(body, "ok") == 0 || strcasecmp(body, "done") == 0;

	if (keep)
		in = gw_values_new();
	else if ((raw = parse_reply(form, body, &why)) != NULL)
		in = form_validate(raw, form->fields, true, &why);
	gw_values_free(raw);
	merged = cmd_shown_values(s);
	if (in != NULL) {
		form_merge(merged, in, form->fields);
		if (form_check_required(merged, form->fields, &why) < 0) {
			gw_values_free(in);
			in = NULL;
		}
	}
	if (in == NULL) {
		gw_values_free(merged);
		sb_printf(b, "%s\n", why != NULL ? why : "Invalid reply.");
		free(why);
		if (show_again) {
			merged = cmd_shown_values(s);
			show_form(b, form, merged, false, s->nforms > 1);
			gw_values_free(merged);
			return sb_finish(b);
		}
		sb_printf(b, "Try again, or send \"cancel\".");
		return sb_finish(b);
	}
	gw_values_free(in);
	st = cmd_run(s, merged);
	gw_values_free(merged);
	return outcome(b, s, st);
}

/* ---- help ---- */

struct help_arg {
	struct sbuf *b;
	const char *prefix;
};

static void
help_line(const struct gw_command *c, void *arg)
{
	struct help_arg *h = arg;

	if (c->word == NULL)
		return;
	sb_printf(h->b, "%s%s — %s\n", h->prefix, c->word,
	          c->help != NULL   ? c->help
	          : c->name != NULL ? c->name
	                            : c->node);
}

static char *
help(struct gw_net *net, const struct gw_driver *drv, const char *user, const char *target)
{
	struct sbuf b = {NULL, 0, 0};
	struct help_arg h = {&b, target != NULL ? "!" : ""};

	sb_printf(&b, "Commands:\n");
	sb_printf(&b, "%shelp — list the commands you may run here\n", h.prefix);
	cmd_foreach_visible(net, drv, user, target, help_line, &h);
	sb_printf(&b, "A command that asks questions can be stopped with \"cancel\".");
	return sb_finish(&b);
}

/* ---- Arguments ("configure nick=foo realname=A B") ---- */

static bool
is_key_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.' || c == '#';
}

/* true when s starts with "key=" */
static bool
starts_pair(const char *s)
{
	const char *p = s;

	while (is_key_char(*p))
		p++;
	return p > s && *p == '=';
}

/* "a=1 b=two words" -> values a, b and the lines "a=1\nb=two words". */
static struct gw_values *
parse_args(char *args, struct sbuf *lines)
{
	struct gw_values *v = gw_values_new();
	char *p = args, *start, *eq, *key = NULL;
	struct sbuf val = {NULL, 0, 0};

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (*p == '\0' || starts_pair(p)) {
			if (key != NULL) {
				gw_values_add(v, key, val.s != NULL ? val.s : "");
				sb_printf(lines, "%s=%s\n", key, val.s != NULL ? val.s : "");
				free(key);
				key = NULL;
				free(val.s);
				val = (struct sbuf){NULL, 0, 0};
			}
			if (*p == '\0')
				break;
			eq = strchr(p, '=');
			key = xstrndup(p, (size_t)(eq - p));
			p = eq + 1;
			sb_printf(&val, "%s", "");
		}
		start = p;
		while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\n')
			p++;
		if (p > start)
			sb_printf(&val, "%s%.*s", val.len > 0 ? " " : "", (int)(p - start), start);
	}
	return v;
}

/* ---- Entry point ---- */

char *
commands_handle_text(struct gw_net *net, const struct gw_driver *drv, const char *user,
                     const char *full_from, const char *target, const char *body)
{
	struct sbuf b = {NULL, 0, 0}, lines = {NULL, 0, 0};
	const struct gw_command *c;
	struct gw_values *args = NULL;
	struct gw_cmd *s;
	enum gw_cmd_status st;
	char *copy, *p, *word, *rest, *out;
	const char *why;
	bool free_text = false;

	if (body == NULL || strlen(body) > TEXT_MAX)
		return NULL;
	copy = xstrdup(body);
	p = trim(copy);

	if ((s = cmd_text_session(net, user, target)) != NULL) {
		if ((why = cmd_denied(net, s->cmd, user)) != NULL) {
			/* Rights taken away since the session began. */
			cmd_session_free(s);
			free(copy);
			return xstrdup(why);
		}
		if (strcasecmp(p, "cancel") == 0 || strcasecmp(p, "abort") == 0) {
			sb_printf(&b, "Cancelled %s.",
			          s->cmd->word != NULL ? s->cmd->word : s->cmd->node);
			cmd_session_free(s);
			out = sb_finish(&b);
		} else if (strcasecmp(p, "back") == 0 || strcasecmp(p, "prev") == 0) {
			if (cmd_back(s) < 0)
				sb_printf(&b, "There is no previous step.\n");
			out = outcome(&b, s, GW_CMD_NEXT);
		} else {
			out = submit_text(s, p, &b, false);
		}
		free(copy);
		return out;
	}

	if (target != NULL) {
		if (*p != '!') {
			free(copy);
			return NULL;
		}
		p++;
	}
	word = p;
	while (*p != '\0' && !isspace((unsigned char)*p))
		p++;
	if (*p != '\0')
		*p++ = '\0';
	rest = trim(p);
	if (*word == '\0') {
		free(copy);
		return NULL;
	}
	if ((c = cmd_find_word(drv, target, word)) == NULL) {
		out = strcasecmp(word, "help") == 0 ? help(net, drv, user, target) : NULL;
		free(copy);
		return out;
	}
	if ((why = cmd_denied(net, c, user)) != NULL) {
		free(copy);
		return xstrdup(why);
	}
	s = cmd_session_new(net, drv, c, user, full_from, target, true);
	if (starts_pair(rest))
		args = parse_args(rest, &lines);
	else
		free_text = *rest != '\0';
	gw_values_free(args);
	/*
	 * The first stage runs without values, as over XEP-0050: the arguments
	 * are then a reply to the form it shows, checked against its fields
	 * (length, one line, choices…) like any reply. Handed to the step as
	 * they came, they skipped every check.
	 */
	st = cmd_run(s, NULL);
	if (st == GW_CMD_NEXT && (lines.s != NULL || free_text)) {
		/* Arguments fill in the first form at once: "configure nick=foo"
		 * works in one message. */
		show_notes(&b, s);
		out = submit_text(s, lines.s != NULL ? trim(lines.s) : rest, &b, true);
	} else {
		out = outcome(&b, s, st);
	}
	free(lines.s);
	free(copy);
	return out;
}
