/*
 * Incoming mail through GMime: headers decoded (RFC 2047, charsets), the
 * readable text picked from the MIME tree (text/plain first, HTML turned
 * into text when it is all there is), attachments listed, delivery status
 * notifications recognised. Bounded everywhere: depth, parts, text size.
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "driver.h"
#include "mailparse.h"

struct walk {
	const struct mail_parse_opts *opts;
	struct mail_in *out;
	char *plain, *html;
	unsigned parts;
	GMimeMessage *returned; /* a bounce's message/rfc822 part */
	char *returned_headers; /* a bounce's text/rfc822-headers part */
	char *status;           /* a bounce's message/delivery-status text */
	size_t kept;            /* attachment bytes kept so far (keep_attachments) */
};

/* Valid UTF-8 (GLib's check) with controls but \n and \t removed, at most max bytes, whole
 * characters. */
static char *
clean_text(const char *in, size_t max, bool *cut)
{
	gchar *valid = g_utf8_make_valid(in, -1);
	size_t o = 0;
	char *out = xmalloc(strlen(valid) + 1);

	for (const gchar *p = valid; *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		size_t n = (size_t)(g_utf8_next_char(p) - p);

		if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
			continue;
		if (o + n > max) {
			if (cut)
				*cut = true;
			break;
		}
		memcpy(out + o, p, n);
		o += n;
	}
	out[o] = '\0';
	g_free(valid);
	return out;
}

/* The decoded text of a text part, converted to UTF-8 by GMime. Caller frees. */
static char *
part_text(GMimeTextPart *tp)
{
	char *t, *r;

	if (!GMIME_IS_TEXT_PART(tp)) {
		/* message/delivery-status and the like: the decoded bytes, at most 64 KiB. */
		GMimeDataWrapper *w =
		        GMIME_IS_PART(tp) ? g_mime_part_get_content(GMIME_PART(tp)) : NULL;
		GMimeStream *mem;
		GByteArray *bytes;

		if (w == NULL)
			return xstrdup("");
		mem = g_mime_stream_mem_new();
		g_mime_data_wrapper_write_to_stream(w, mem);
		bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
		/* An empty stream's array may have no data at all. */
		r = bytes->len == 0 ? xstrdup("")
		                    : xstrndup((const char *)bytes->data,
		                               bytes->len > 65536 ? 65536 : bytes->len);
		g_object_unref(mem);
		return r;
	}
	t = g_mime_text_part_get_text(tp);
	r = t ? xstrdup(t) : xstrdup("");
	g_free(t);
	return r;
}

/*
 * The decoded size of a part (at most bound, when bound is not 0); with
 * data not NULL, also its decoded bytes when they fit in budget (caller
 * frees *data; NULL when they did not fit or there are none).
 */
static size_t
part_content(GMimePart *p, size_t bound, size_t budget, char **data)
{
	GMimeDataWrapper *w = g_mime_part_get_content(p);
	GMimeStream *out;
	gint64 n;

	if (data)
		*data = NULL;
	if (w == NULL)
		return 0;
	out = data ? g_mime_stream_mem_new() : g_mime_stream_null_new();
	n = g_mime_data_wrapper_write_to_stream(w, out);
	if (n > 0 && data && (size_t)n <= budget) {
		GByteArray *bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out));

		if (bytes->len > 0) {
			*data = xmalloc(bytes->len);
			memcpy(*data, bytes->data, bytes->len);
		}
	}
	g_object_unref(out);
	if (n < 0)
		return 0;
	return bound && (size_t)n > bound ? bound : (size_t)n;
}

static void walk_object(struct walk *, GMimeObject *, int depth);

static void
walk_multipart(struct walk *w, GMimeMultipart *mp, int depth)
{
	int n = g_mime_multipart_get_count(mp);

	for (int i = 0; i < n; i++)
		walk_object(w, g_mime_multipart_get_part(mp, i), depth + 1);
}

static void
add_attachment(struct walk *w, GMimePart *p)
{
	struct mail_in *m = w->out;
	const char *name = g_mime_part_get_filename(p);
	GMimeContentType *ct = g_mime_object_get_content_type(GMIME_OBJECT(p));
	char *type = ct ? g_mime_content_type_get_mime_type(ct) : NULL;
	bool cut = false;

	if (m->natt >= 64) {
		m->truncated = true;
		g_free(type);
		return;
	}
	m->att = xreallocarray(m->att, m->natt + 1, sizeof(*m->att));
	m->att[m->natt].filename = clean_text(name && *name ? name : "attachment", 255, &cut);
	for (char *c = m->att[m->natt].filename; *c; c++)
		if (*c == '\n' || *c == '\t')
			*c = ' ';
	m->att[m->natt].content_type = xstrdup(type ? type : "application/octet-stream");
	if (w->opts->keep_attachments) {
		size_t budget = w->opts->max_size ? w->opts->max_size - w->kept : SIZE_MAX;

		m->att[m->natt].size =
		        part_content(p, w->opts->max_size, budget, &m->att[m->natt].data);
		if (m->att[m->natt].data)
			w->kept += m->att[m->natt].size;
	} else {
		m->att[m->natt].data = NULL;
		m->att[m->natt].size = part_content(p, w->opts->max_size, 0, NULL);
	}
	m->natt++;
	g_free(type);
}

static void
walk_object(struct walk *w, GMimeObject *obj, int depth)
{
	GMimeContentType *ct;

	if (obj == NULL)
		return;
	if (depth > MAIL_MAX_DEPTH || ++w->parts > MAIL_MAX_PARTS) {
		w->out->truncated = true;
		return;
	}
	ct = g_mime_object_get_content_type(obj);
	if (GMIME_IS_MULTIPART(obj)) {
		walk_multipart(w, GMIME_MULTIPART(obj), depth);
		return;
	}
	if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));

		if (w->out->is_bounce && w->returned == NULL && inner) {
			w->returned = inner;
			return;
		}
		return; /* a forwarded mail: not walked into for the text */
	}
	if (!GMIME_IS_PART(obj))
		return;
	if (w->out->is_bounce && ct &&
	    g_mime_content_type_is_type(ct, "message", "delivery-status")) {
		char *s = part_text((GMimeTextPart *)obj);

		free(w->status);
		w->status = s;
		return;
	}
	if (w->out->is_bounce && ct && g_mime_content_type_is_type(ct, "text", "rfc822-headers")) {
		free(w->returned_headers);
		w->returned_headers = part_text((GMimeTextPart *)obj);
		return;
	}
	if (GMIME_IS_TEXT_PART(obj) && !g_mime_part_is_attachment(GMIME_PART(obj))) {
		if (g_mime_content_type_is_type(ct, "text", "plain") && w->plain == NULL) {
			w->plain = part_text(GMIME_TEXT_PART(obj));
			return;
		}
		if (g_mime_content_type_is_type(ct, "text", "html") && w->html == NULL) {
			w->html = part_text(GMIME_TEXT_PART(obj));
			return;
		}
	}
	add_attachment(w, GMIME_PART(obj));
}

/* "<id@host>" to "id@host"; NULL when empty. Caller frees. */
static char *
bare_id(const char *v)
{
	char *id, *s;
	bool cut = false;

	if (v == NULL)
		return NULL;
	while (*v == ' ' || *v == '\t' || *v == '<')
		v++;
	s = clean_text(v, 998, &cut);
	s[strcspn(s, "> \t\n")] = '\0';
	if (*s == '\0') {
		free(s);
		return NULL;
	}
	id = s;
	return id;
}

static char *
first_reference(GMimeMessage *msg)
{
	const char *refs = g_mime_object_get_header(GMIME_OBJECT(msg), "References");
	GMimeReferences *r;
	char *first = NULL;

	if (refs == NULL)
		return NULL;
	r = g_mime_references_parse(NULL, refs);
	if (r && g_mime_references_length(r) > 0)
		first = bare_id(g_mime_references_get_message_id(r, 0));
	if (r)
		g_mime_references_free(r);
	return first;
}

/* The Message-ID named in the returned headers of a bounce. */
static char *
returned_id(struct walk *w)
{
	if (w->returned)
		return bare_id(g_mime_message_get_message_id(w->returned));
	if (w->returned_headers) {
		for (char *p = w->returned_headers; p && *p;
		     p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
			if (strncasecmp(p, "Message-ID:", 11) == 0)
				return bare_id(p + 11);
	}
	return NULL;
}

/* "Status: 5.1.1" and "Diagnostic-Code: ..." of a delivery-status part, readable. */
static char *
bounce_reason(struct walk *w)
{
	char *status = NULL, *diag = NULL, *rcpt = NULL, *r;

	for (char *p = w->status; p && *p;) {
		char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char **slot = strncasecmp(p, "Status:", 7) == 0             ? &status
		              : strncasecmp(p, "Diagnostic-Code:", 16) == 0 ? &diag
		              : strncasecmp(p, "Final-Recipient:", 16) == 0 ? &rcpt
		                                                            : NULL;

		if (slot && *slot == NULL) {
			const char *v = strchr(p, ':') + 1;

			while (*v == ' ')
				v++;
			*slot = xstrndup(v, len - (size_t)(v - p));
			(*slot)[strcspn(*slot, "\r")] = '\0';
		}
		p = nl ? nl + 1 : NULL;
	}
	r = xasprintf("the mail bounced%s%s%s%s%s%s", rcpt ? " for " : "", rcpt ? rcpt : "",
	              status ? ": " : "", status ? status : "", diag ? " " : "", diag ? diag : "");
	free(status);
	free(diag);
	free(rcpt);
	return r;
}

int
mail_parse(const char *raw, size_t len, const struct mail_parse_opts *opts, struct mail_in *out,
           char **why)
{
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeMessage *msg;
	struct walk w = {.opts = opts, .out = out};
	InternetAddressList *from;
	GDateTime *date;
	GMimeContentType *ct;
	const char *subject;
	bool too_big = opts->max_size && len > opts->max_size;
	bool cut = false;

	memset(out, 0, sizeof(*out));
	stream = g_mime_stream_mem_new_with_buffer(raw, len);
	parser = g_mime_parser_new_with_stream(stream);
	g_object_unref(stream);
	msg = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	if (msg == NULL) {
		*why = xstrdup("not a mail message");
		out->text = xstrdup("");
		return -1;
	}
	from = g_mime_message_get_from(msg);
	if (from && internet_address_list_length(from) > 0) {
		InternetAddress *ia = internet_address_list_get_address(from, 0);

		if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
			const char *addr =
			        internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
			const char *name = internet_address_get_name(ia);

			if (addr && *addr && strchr(addr, '@')) {
				out->from_addr = clean_text(addr, 254, &cut);
				for (char *c = strrchr(out->from_addr, '@'); c && *c; c++)
					*c = (char)tolower((unsigned char)*c);
			}
			if (name && *name)
				out->from_name = clean_text(name, 255, &cut);
		}
	}
	subject = g_mime_message_get_subject(msg);
	if (subject && *subject) {
		out->subject = clean_text(subject, 1024, &cut);
		for (char *c = out->subject; *c; c++)
			if (*c == '\n' || *c == '\t')
				*c = ' ';
	}
	out->message_id = bare_id(g_mime_message_get_message_id(msg));
	out->in_reply_to = bare_id(g_mime_object_get_header(GMIME_OBJECT(msg), "In-Reply-To"));
	out->thread = first_reference(msg);
	if (out->thread == NULL && out->in_reply_to)
		out->thread = xstrdup(out->in_reply_to);
	if (out->thread == NULL && out->message_id)
		out->thread = xstrdup(out->message_id);
	date = g_mime_message_get_date(msg);
	if (date)
		out->date = (time_t)g_date_time_to_unix(date);
	ct = g_mime_object_get_content_type(g_mime_message_get_mime_part(msg));
	if (ct && g_mime_content_type_is_type(ct, "multipart", "report")) {
		const char *rt = g_mime_content_type_get_parameter(ct, "report-type");

		out->is_bounce = rt && strcasecmp(rt, "delivery-status") == 0;
	}
	if (too_big) {
		out->text =
		        xasprintf("(This mail is %zu bytes, over this gateway's limit of %zu: only "
		                  "its headers are shown. Read it in your mail client.)",
		                  len, opts->max_size);
		out->truncated = true;
		g_object_unref(msg);
		return 0;
	}
	walk_object(&w, g_mime_message_get_mime_part(msg), 0);
	{
		char *text;

		if (w.plain)
			text = opts->trim_quotes ? mail_trim_quotes(w.plain) : xstrdup(w.plain);
		else if (w.html) {
			char *t = mail_html_to_text(w.html, strlen(w.html));

			text = opts->trim_quotes ? mail_trim_quotes(t) : xstrdup(t);
			free(t);
		} else
			text = xstrdup("");
		out->text = clean_text(text, MAIL_MAX_TEXT, &out->truncated);
		free(text);
		/* Trailing blank lines. */
		for (size_t n = strlen(out->text);
		     n > 0 && (out->text[n - 1] == '\n' || out->text[n - 1] == ' ');)
			out->text[--n] = '\0';
	}
	if (out->is_bounce) {
		out->bounce_of = returned_id(&w);
		out->bounce_reason = bounce_reason(&w);
	}
	free(w.plain);
	free(w.html);
	free(w.status);
	free(w.returned_headers);
	g_object_unref(msg);
	return 0;
}

void
mail_in_free(struct mail_in *m)
{
	free(m->from_addr);
	free(m->from_name);
	free(m->subject);
	free(m->message_id);
	free(m->in_reply_to);
	free(m->thread);
	free(m->text);
	for (size_t i = 0; i < m->natt; i++) {
		free(m->att[i].filename);
		free(m->att[i].content_type);
		free(m->att[i].data);
	}
	free(m->att);
	free(m->bounce_of);
	free(m->bounce_reason);
	memset(m, 0, sizeof(*m));
}

/* ---- HTML to text ---- */

static const struct {
	const char *name;
	const char *text;
} entities[] = {
        {"amp", "&"},         {"lt", "<"},        {"gt", ">"},         {"quot", "\""},
        {"apos", "'"},        {"nbsp", " "},      {"mdash", "\u2014"}, {"ndash", "\u2013"},
        {"hellip", "\u2026"}, {"copy", "\u00a9"},
};

static void
put_utf8(struct strbuf *b, unsigned long cp)
{
	char u[4];
	size_t n;

	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = 0xfffd;
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	strbuf_add(b, u, n);
}

static bool
tag_is(const char *tag, size_t len, const char *name)
{
	size_t n = strlen(name);

	return len >= n && strncasecmp(tag, name, n) == 0 &&
	       (len == n || !isalnum((unsigned char)tag[n]));
}

char *
mail_html_to_text(const char *html, size_t len)
{
	struct strbuf b = {0};
	const char *p = html, *end = html + len;
	bool space = true;
	const char *skip_until = NULL; /* inside <script> or <style> */
	char *href = NULL;

	while (p < end) {
		if (*p == '<') {
			const char *close = memchr(p, '>', (size_t)(end - p));
			const char *tag = p + 1;
			bool closing;
			size_t tl;

			if (close == NULL)
				break;
			closing = *tag == '/';
			if (closing)
				tag++;
			tl = (size_t)(close - tag);
			if (skip_until) {
				if (closing && tag_is(tag, tl, skip_until))
					skip_until = NULL;
				p = close + 1;
				continue;
			}
			if (!closing && (tag_is(tag, tl, "script") || tag_is(tag, tl, "style") ||
			                 tag_is(tag, tl, "head")))
				skip_until = tag_is(tag, tl, "script")  ? "script"
				             : tag_is(tag, tl, "style") ? "style"
				                                        : "head";
			else if (tag_is(tag, tl, "br") || tag_is(tag, tl, "p") ||
			         tag_is(tag, tl, "div") || tag_is(tag, tl, "tr") ||
			         tag_is(tag, tl, "li") || tag_is(tag, tl, "h1") ||
			         tag_is(tag, tl, "h2") || tag_is(tag, tl, "h3") ||
			         tag_is(tag, tl, "blockquote") || tag_is(tag, tl, "table")) {
				strbuf_add(&b, "\n", 1);
				space = true;
			} else if (!closing && tag_is(tag, tl, "a")) {
				const char *h = NULL;

				for (const char *q = tag; q + 5 < close; q++)
					if (strncasecmp(q, "href=", 5) == 0) {
						h = q + 5;
						break;
					}
				free(href);
				href = NULL;
				if (h) {
					char quote = (*h == '"' || *h == '\'') ? *h++ : ' ';
					const char *he = h;

					while (he < close && *he != quote && *he != '>')
						he++;
					if (he > h && (size_t)(he - h) < 2048)
						href = xstrndup(h, (size_t)(he - h));
				}
			} else if (closing && tag_is(tag, tl, "a") && href) {
				if (strncasecmp(href, "mailto:", 7) != 0 && href[0] != '#') {
					strbuf_add(&b, " <", 2);
					strbuf_add(&b, href, strlen(href));
					strbuf_add(&b, ">", 1);
				}
				free(href);
				href = NULL;
			}
			p = close + 1;
			continue;
		}
		if (skip_until) {
			p++;
			continue;
		}
		if (*p == '&') {
			const char *semi =
			        memchr(p, ';', (size_t)(end - p) < 12 ? (size_t)(end - p) : 12);
			bool done = false;

			if (semi && p[1] == '#') {
				unsigned long cp = p[2] == 'x' || p[2] == 'X'
				                           ? strtoul(p + 3, NULL, 16)
				                           : strtoul(p + 2, NULL, 10);

				put_utf8(&b, cp);
				done = true;
			} else if (semi) {
				for (size_t i = 0; i < sizeof(entities) / sizeof(entities[0]); i++)
					if ((size_t)(semi - p - 1) == strlen(entities[i].name) &&
					    strncmp(p + 1, entities[i].name,
					            strlen(entities[i].name)) == 0) {
						strbuf_add(&b, entities[i].text,
						           strlen(entities[i].text));
						done = true;
						break;
					}
			}
			if (done) {
				space = false;
				p = semi + 1;
				continue;
			}
		}
		if (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') {
			if (!space)
				strbuf_add(&b, " ", 1);
			space = true;
			p++;
			continue;
		}
		strbuf_add(&b, p, 1);
		space = false;
		p++;
		if (b.len > 4 * MAIL_MAX_TEXT)
			break;
	}
	free(href);

	{
		/* Collapse runs of blank lines and trim line starts. */
		char *out = xmalloc(b.len + 1), *o = out;
		int newlines = 2;

		for (size_t i = 0; i < b.len; i++) {
			char c = b.p[i];

			if (c == '\n') {
				while (o > out && o[-1] == ' ')
					o--;
				if (newlines < 2)
					*o++ = '\n';
				newlines++;
				continue;
			}
			if (c == ' ' && newlines > 0)
				continue;
			newlines = 0;
			*o++ = c;
		}
		*o = '\0';
		free(b.p);
		return out;
	}
}

/* ---- quoted replies ---- */

static bool
is_attribution(const char *line, size_t len)
{
	/* "On Mon, 7 Dec 2026, Bob wrote:", "Le ... a écrit :", "Am ... schrieb ...:" */
	if (len < 6 || len > 300)
		return false;
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\r'))
		len--;
	if (len == 0 || line[len - 1] != ':')
		return false;
	return (len > 7 && strncmp(line + len - 7, " wrote:", 7) == 0) ||
	       (len > 9 && strncmp(line + len - 9, " écrit :", 9) == 0) ||
	       (len > 8 && strncmp(line + len - 8, " écrit:", 8) == 0) ||
	       (len > 7 && strncmp(line + len - 7, "schrieb", 7) == 0) ||
	       strncmp(line, "On ", 3) == 0 || strncmp(line, "Le ", 3) == 0 ||
	       strncmp(line, "-----Original Message-----", 26) == 0;
}

char *
mail_trim_quotes(const char *text)
{
	struct strbuf b = {0};
	const char *p = text;
	size_t kept_before = 0;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		const char *next = nl ? nl + 1 : p + len;

		if (len > 0 && p[0] == '>') {
			p = next;
			continue;
		}
		if (is_attribution(p, len)) {
			/* Dropped only when a quote follows (possibly after blank lines). */
			const char *q = next;

			while (*q == '\n' || *q == '\r')
				q++;
			if (*q == '>') {
				p = next;
				continue;
			}
		}
		strbuf_add(&b, p, len);
		strbuf_add(&b, "\n", 1);
		kept_before = b.len;
		p = next;
	}
	(void)kept_before;
	if (b.p == NULL)
		return xstrdup("");
	/* Blank lines left where quotes were: at most one in a row, none at the end. */
	{
		char *out = xmalloc(b.len + 1), *o = out;
		int blank = 0;

		for (const char *s = b.p; *s;) {
			const char *nl = strchr(s, '\n');
			size_t len = nl ? (size_t)(nl - s) : strlen(s);
			bool empty = true;

			for (size_t i = 0; i < len; i++)
				if (s[i] != ' ' && s[i] != '\r')
					empty = false;
			if (!empty || blank++ == 0) {
				if (!empty)
					blank = 0;
				memcpy(o, s, len);
				o += len;
				*o++ = '\n';
			}
			s = nl ? nl + 1 : s + len;
		}
		while (o > out && (o[-1] == '\n' || o[-1] == ' '))
			o--;
		*o = '\0';
		free(b.p);
		return out;
	}
}
