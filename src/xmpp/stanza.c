/* Stanza builders; see stanza.h. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "component.h"
#include "stanza.h"

static xmpp_ctx_t *
ctx(void)
{
	return component_ctx();
}

xmpp_stanza_t *
stanza_add_child(xmpp_stanza_t *parent, const char *name, const char *ns)
{
	xmpp_stanza_t *c = xmpp_stanza_new(ctx());

	xmpp_stanza_set_name(c, name);
	if (ns)
		xmpp_stanza_set_ns(c, ns);
	xmpp_stanza_add_child_ex(parent, c, 0);
	return c;
}

void
stanza_add_delay(xmpp_stanza_t *parent, const char *from, time_t when)
{
	char stamp[32];
	struct tm tm;
	xmpp_stanza_t *delay = stanza_add_child(parent, "delay", "urn:xmpp:delay");

	gmtime_r(&when, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	xmpp_stanza_set_attribute(delay, "stamp", stamp);
	xmpp_stanza_set_attribute(delay, "from", from);
}

xmpp_stanza_t *
stanza_add_text_child(xmpp_stanza_t *parent, const char *name, const char *ns, const char *text)
{
	xmpp_stanza_t *c = stanza_add_child(parent, name, ns);
	xmpp_stanza_t *t = xmpp_stanza_new(ctx());

	xmpp_stanza_set_text(t, text ? text : "");
	xmpp_stanza_add_child_ex(c, t, 0);
	return c;
}

xmpp_stanza_t *
stanza_child(xmpp_stanza_t *parent, const char *name, const char *ns)
{
	for (xmpp_stanza_t *c = xmpp_stanza_get_children(parent); c; c = xmpp_stanza_get_next(c)) {
		const char *n = xmpp_stanza_get_name(c), *cns;

		if (n == NULL || strcmp(n, name) != 0)
			continue;
		cns = xmpp_stanza_get_ns(c);
		if (ns == NULL || (cns && strcmp(cns, ns) == 0))
			return c;
	}
	return NULL;
}

char *
stanza_child_text(xmpp_stanza_t *parent, const char *name)
{
	xmpp_stanza_t *c = stanza_child(parent, name, NULL);

	return c ? xmpp_stanza_get_text(c) : NULL;
}

static const struct {
	const char *condition, *type;
} errors[] = {
        [GW_ERR_NONE] = {"undefined-condition", "cancel"},
        [GW_ERR_BAD_REQUEST] = {"bad-request", "modify"},
        [GW_ERR_CONFLICT] = {"conflict", "cancel"},
        [GW_ERR_FORBIDDEN] = {"forbidden", "auth"},
        [GW_ERR_INTERNAL] = {"internal-server-error", "wait"},
        [GW_ERR_ITEM_NOT_FOUND] = {"item-not-found", "cancel"},
        [GW_ERR_JID_MALFORMED] = {"jid-malformed", "modify"},
        [GW_ERR_NOT_ACCEPTABLE] = {"not-acceptable", "modify"},
        [GW_ERR_NOT_ALLOWED] = {"not-allowed", "cancel"},
        [GW_ERR_NOT_AUTHORIZED] = {"not-authorized", "auth"},
        [GW_ERR_RECIPIENT_UNAVAILABLE] = {"recipient-unavailable", "wait"},
        [GW_ERR_REGISTRATION_REQUIRED] = {"registration-required", "auth"},
        [GW_ERR_REMOTE_SERVER_NOT_FOUND] = {"remote-server-not-found", "cancel"},
        [GW_ERR_REMOTE_SERVER_TIMEOUT] = {"remote-server-timeout", "wait"},
        [GW_ERR_RESOURCE_CONSTRAINT] = {"resource-constraint", "wait"},
        [GW_ERR_SERVICE_UNAVAILABLE] = {"service-unavailable", "cancel"},
        [GW_ERR_POLICY_VIOLATION] = {"policy-violation", "modify"},
};

const char *
stanza_error_condition(enum gw_error e)
{
	return (size_t)e < sizeof(errors) / sizeof(errors[0]) ? errors[e].condition
	                                                      : "undefined-condition";
}

const char *
stanza_error_type(enum gw_error e)
{
	return (size_t)e < sizeof(errors) / sizeof(errors[0]) ? errors[e].type : "cancel";
}

xmpp_stanza_t *
stanza_error_reply(xmpp_stanza_t *request, enum gw_error e, const char *text)
{
	xmpp_stanza_t *reply = xmpp_stanza_new(ctx()), *err;
	const char *id = xmpp_stanza_get_id(request);

	xmpp_stanza_set_name(reply, xmpp_stanza_get_name(request));
	xmpp_stanza_set_type(reply, "error");
	if (id)
		xmpp_stanza_set_id(reply, id);
	if (xmpp_stanza_get_to(request))
		xmpp_stanza_set_from(reply, xmpp_stanza_get_to(request));
	if (xmpp_stanza_get_from(request))
		xmpp_stanza_set_to(reply, xmpp_stanza_get_from(request));
	err = stanza_add_child(reply, "error", NULL);
	xmpp_stanza_set_type(err, stanza_error_type(e));
	stanza_add_child(err, stanza_error_condition(e), "urn:ietf:params:xml:ns:xmpp-stanzas");
	if (text) {
		xmpp_stanza_t *t = stanza_add_text_child(
		        err, "text", "urn:ietf:params:xml:ns:xmpp-stanzas", text);
		xmpp_stanza_set_attribute(t, "xml:lang", "en");
	}
	return reply;
}

xmpp_stanza_t *
stanza_iq_result(xmpp_stanza_t *request, xmpp_stanza_t *child)
{
	xmpp_stanza_t *reply = xmpp_iq_new(ctx(), "result", xmpp_stanza_get_id(request));

	if (xmpp_stanza_get_to(request))
		xmpp_stanza_set_from(reply, xmpp_stanza_get_to(request));
	if (xmpp_stanza_get_from(request))
		xmpp_stanza_set_to(reply, xmpp_stanza_get_from(request));
	if (child)
		xmpp_stanza_add_child(reply, child);
	return reply;
}

char *
stanza_new_id(void)
{
	static unsigned long counter;
	static unsigned int salt;

	static const char hex[] = "0123456789abcdef";
	char buf[3 + 8 + 1 + 16 + 1], *p = buf + sizeof(buf) - 1;
	unsigned long n;

	if (salt == 0)
		salt = arc4random() | 1;
	/* "sg-%08x-%lx" by hand: this runs for every stanza that has no id. */
	*p = '\0';
	n = ++counter;
	do
		*--p = hex[n & 0xf];
	while ((n >>= 4) != 0);
	*--p = '-';
	for (int i = 0; i < 8; i++)
		*--p = hex[(salt >> (4 * i)) & 0xf];
	memcpy(p - 3, "sg-", 3);
	return xstrdup(p - 3);
}

xmpp_stanza_t *
stanza_message(const char *type, const char *from, const char *to, const char *id, const char *body)
{
	char *gen = id ? NULL : stanza_new_id();
	xmpp_stanza_t *m = xmpp_message_new(ctx(), type, to, id ? id : gen);

	xmpp_stanza_set_from(m, from);
	if (body)
		xmpp_message_set_body(m, body);
	free(gen);
	return m;
}

xmpp_stanza_t *
stanza_presence(const char *from, const char *to, const char *type)
{
	xmpp_stanza_t *p = xmpp_presence_new(ctx());

	xmpp_stanza_set_from(p, from);
	xmpp_stanza_set_to(p, to);
	if (type)
		xmpp_stanza_set_type(p, type);
	return p;
}

/* ---- rendering ---- */

/* s with & < > (and " in attributes) as entities. */
static void
put_escaped(struct strbuf *r, const char *s, bool attr)
{
	const char *run = s;

	for (; *s; s++) {
		const char *ent;

		switch (*s) {
		case '&':
			ent = "&amp;";
			break;
		case '<':
			ent = "&lt;";
			break;
		case '>':
			ent = "&gt;";
			break;
		case '"':
			ent = attr ? "&quot;" : NULL;
			break;
		default:
			ent = NULL;
		}
		if (ent == NULL)
			continue;
		strbuf_add(r, run, (size_t)(s - run));
		strbuf_add(r, ent, strlen(ent));
		run = s + 1;
	}
	strbuf_add(r, run, (size_t)(s - run));
}

#define PUT(r, lit) strbuf_add((r), (lit), sizeof(lit) - 1)

/* -1: no name; -2: more attributes than fit here. */
static int
render(struct strbuf *r, xmpp_stanza_t *st)
{
	const char *name, *attrs[64];
	int n;

	if (xmpp_stanza_is_text(st)) {
		const char *t = xmpp_stanza_get_text_ptr(st);

		if (t)
			put_escaped(r, t, false);
		return 0;
	}
	if ((name = xmpp_stanza_get_name(st)) == NULL)
		return -1;
	if (xmpp_stanza_get_attribute_count(st) > 32)
		return -2;
	PUT(r, "<");
	strbuf_add(r, name, strlen(name));
	n = xmpp_stanza_get_attributes(st, attrs, 64);
	for (int i = 0; i + 1 < n; i += 2) {
		PUT(r, " ");
		strbuf_add(r, attrs[i], strlen(attrs[i]));
		PUT(r, "=\"");
		put_escaped(r, attrs[i + 1], true);
		PUT(r, "\"");
	}
	if (xmpp_stanza_get_children(st) == NULL) {
		PUT(r, "/>");
		return 0;
	}
	PUT(r, ">");
	for (xmpp_stanza_t *c = xmpp_stanza_get_children(st); c; c = xmpp_stanza_get_next(c)) {
		int e = render(r, c);

		if (e != 0)
			return e;
	}
	PUT(r, "</");
	strbuf_add(r, name, strlen(name));
	PUT(r, ">");
	return 0;
}

int
stanza_render(xmpp_stanza_t *st, struct strbuf *out)
{
	size_t start = out->len;
	int e = render(out, st);

	if (e == -2) {
		/* An element with very many attributes: libstrophe's renderer. */
		char *buf;
		size_t n;

		out->len = start;
		if (xmpp_stanza_to_text(st, &buf, &n) != XMPP_EOK)
			return -1;
		strbuf_add(out, buf, n);
		xmpp_free(xmpp_stanza_get_context(st), buf);
		e = 0;
	}
	if (e != 0) {
		out->len = start;
		if (out->p)
			out->p[start] = '\0';
		return -1;
	}
	return 0;
}
