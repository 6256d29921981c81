/*
 * XEP-0004 data forms on libstrophe stanzas, and the value sets
 * (`struct gw_values`) that driver.h declares.
 *
 * A form is described by a `struct gw_field` table (driver.h); this module
 * renders it as <x xmlns='jabber:x:data'/>, parses and validates what a client
 * submits, and merges partial submissions over stored values so that an
 * omitted field keeps its value (Biboumi resets it, PEERS.md).
 *
 * Nothing here depends on the rest of the core: the fuzzers link it alone.
 */
#ifndef SG_FORM_H
#define SG_FORM_H

#include <stdbool.h>
#include <stddef.h>

#include <strophe.h>

#include "driver.h"

#define FORM_NS "jabber:x:data"

/* Longest value accepted for a single-line field, and for all the lines of a
 * text-multi field together (SPEC 8: oversized input is refused). */
#define FORM_MAX_VALUE 4096
#define FORM_MAX_MULTI 65536

/*
 * Render form as <x xmlns='jabber:x:data' type=type>. type is "form" (to be
 * filled in: <required/>, options) or "result" (read-only). Values come from
 * form->current, else from the field's def; a GW_FIELD_SECRET field is never
 * filled. A fixed field shows its def, else its label, as its text.
 * Returns a new stanza the caller releases.
 */
xmpp_stanza_t *form_to_stanza(xmpp_ctx_t *, const struct gw_form *form, const char *type);

/*
 * Parse and validate a submitted <x xmlns='jabber:x:data' type='submit'>
 * against fields (see form_validate() for the rules).
 * Returns new values the caller frees with gw_values_free(), or NULL:
 *   - with *why set (caller frees) to a readable sentence when the form is
 *     invalid or not a submission;
 *   - with *why == NULL when the client cancelled (type='cancel').
 * A required GW_FIELD_SECRET field may be submitted empty: it keeps its
 * stored value, so check it with form_check_required() after form_merge().
 */
struct gw_values *form_parse_submit(xmpp_stanza_t *x, const struct gw_field *fields, char **why);

/*
 * form_parse_submit() for a partial submission, to be merged over stored
 * values: a required field may be absent (check after form_merge() with
 * form_check_required()). Present and invalid is still an error.
 */
struct gw_values *form_parse_partial(xmpp_stanza_t *x, const struct gw_field *fields, char **why);

/* true when x is a data form of type 'cancel'. */
bool form_is_cancel(xmpp_stanza_t *x);

/*
 * Validate raw submitted values against fields and return them normalised
 * (caller frees), or NULL with *why (caller frees). partial: a required
 * field may be absent (see form_parse_partial()). Rules:
 *   - a var not in the table, a fixed field: ignored (hidden FORM_TYPE too);
 *   - required and empty, or missing (unless partial): an error (not for
 *     SECRET fields, which keep their stored value when left empty);
 *   - boolean: true/false/1/0 (also yes/no, on/off) become "1"/"0";
 *   - list-single / list-multi: every value is one of the options;
 *   - jid-single: a syntactically valid JID;
 *   - text-single, text-private, hidden: one line, no control characters;
 *   - text-multi: lines (a value holding newlines is split), no control
 *     characters but tabs;
 *   - single-valued fields take at most one value; sizes are bounded.
 * A field sent without a value reads as "" (boolean: "0").
 */
struct gw_values *form_validate(const struct gw_values *raw, const struct gw_field *fields,
                                bool partial, char **why);

/*
 * Apply a (possibly partial) submission to stored values: only the vars that
 * submitted carries change; a GW_FIELD_SECRET field submitted empty keeps
 * its stored value. fields limits the vars considered (fixed fields never
 * merge); NULL merges every submitted var. submitted is only read.
 */
void form_merge(struct gw_values *stored, const struct gw_values *submitted,
                const struct gw_field *fields);

/*
 * After a merge: every required field has a non-empty value. Returns 0, or
 * -1 with *why (caller frees).
 */
int form_check_required(const struct gw_values *values, const struct gw_field *fields, char **why);

/*
 * Text made safe for an XML stream: invalid UTF-8 (and U+FFFE/U+FFFF)
 * becomes U+FFFD, control characters other than newline and tab are
 * dropped (newlines too unless multiline). max > 0 cuts the result on a
 * character boundary at about max bytes and appends an ellipsis. Every
 * string form_to_stanza() writes goes through it. Caller frees.
 */
char *form_clean(const char *s, size_t max, bool multiline);

/* The field of var in fields, or NULL. */
const struct gw_field *form_field(const struct gw_field *fields, const char *var);
/* A field's name for people: its label, else its var. */
const char *form_field_name(const struct gw_field *);
/* A field the user fills in (not fixed, not hidden). */
bool form_field_is_input(const struct gw_field *);

/* ---- Values beyond driver.h ---- */

/* A deep copy; NULL gives an empty set. Caller frees with gw_values_free(). */
struct gw_values *gw_values_dup(const struct gw_values *);
/* Replace every value of var with the n given (n may be 0: present, empty). */
void gw_values_set(struct gw_values *, const char *var, const char *const *vals, size_t n);
/* Forget var entirely (gw_values_has() is then false). */
void gw_values_remove(struct gw_values *, const char *var);
/* Number of vars, and the i-th var (insertion order), for iteration. */
size_t gw_values_count(const struct gw_values *);
const char *gw_values_var(const struct gw_values *, size_t i);

/* ---- Deep copies of forms (gw_cmd_form() copies what a driver passes) ---- */

struct form_copy {
	struct gw_form form; /* points into this copy only */
	size_t nfields;
};

/* Copy title, instructions, every field with its strings and options, and
 * the current values. Caller frees with form_copy_free(). */
struct form_copy *form_copy(const struct gw_form *);
void form_copy_free(struct form_copy *);

#endif
