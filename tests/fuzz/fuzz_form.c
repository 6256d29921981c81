/*
 * libFuzzer target: arbitrary bytes parsed as a stanza, then validated as a
 * data form submission against a table with every field type. Whatever the
 * input, nothing may crash or leak.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"

static const char *const opts[] = {"a", "b", "c", NULL};

static const struct gw_field fields[] = {
        {"FORM_TYPE", GW_FIELD_HIDDEN, NULL, NULL, 0, NULL, "urn:x"},
        {"fixed", GW_FIELD_FIXED, "Fixed", NULL, 0, NULL, NULL},
        {"text", GW_FIELD_TEXT, "Text", NULL, GW_FIELD_REQUIRED, NULL, NULL},
        {"private", GW_FIELD_PRIVATE, "Private", NULL, GW_FIELD_SECRET | GW_FIELD_REQUIRED, NULL,
         NULL},
        {"multi", GW_FIELD_TEXT_MULTI, "Multi", NULL, 0, NULL, NULL},
        {"bool", GW_FIELD_BOOL, "Bool", NULL, 0, NULL, "0"},
        {"list", GW_FIELD_LIST, "List", NULL, 0, opts, NULL},
        {"lmulti", GW_FIELD_LIST_MULTI, "List multi", NULL, 0, opts, NULL},
        {"jid", GW_FIELD_JID, "JID", NULL, 0, NULL, NULL},
        GW_FIELDS_END,
};

static xmpp_ctx_t *ctx;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_values *v, *stored;
	xmpp_stanza_t *x, *out;
	struct gw_form form = {"t", "i", fields, NULL};
	char *s, *why = NULL;

	if (ctx == NULL) {
		xmpp_initialize();
		ctx = xmpp_ctx_new(NULL, NULL);
	}
	s = xmalloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	x = xmpp_stanza_new_from_string(ctx, s);
	free(s);
	if (x == NULL)
		return 0;
	v = form_parse_submit(x, fields, &why);
	free(why);
	why = NULL;
	gw_values_free(v);
	v = form_parse_partial(x, fields, &why);
	free(why);
	why = NULL;
	if (v != NULL) {
		/* What was accepted must merge, check and render back. */
		stored = gw_values_new();
		gw_values_add(stored, "private", "kept");
		form_merge(stored, v, fields);
		if (form_check_required(stored, fields, &why) < 0)
			free(why);
		form.current = stored;
		out = form_to_stanza(ctx, &form, "form");
		xmpp_stanza_release(out);
		gw_values_free(stored);
		gw_values_free(v);
	}
	xmpp_stanza_release(x);
	return 0;
}
