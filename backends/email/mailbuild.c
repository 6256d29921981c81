/*
 * Outgoing mail built with GMime 3; see mailbuild.h. GMime does the
 * encoding work (RFC 2047 words, quoted-printable or base64, folding); our
 * part is to hand it nothing it could turn into a second header: every
 * value from XMPP loses its control characters first.
 */
#include "config.h"

#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "driver.h"
#include "mailaddr.h"
#include "mailbuild.h"

#define SUBJECT_CHARS 78 /* code points kept from the first line */

/*
 * A header value from XMPP: invalid UTF-8 repaired, every control
 * character (CR and LF above all) a space, surrounding spaces dropped.
 * Caller frees.
 */
static char *
header_clean(const char *s)
{
	char *v = g_utf8_make_valid(s, -1);
	char *r, *p, *start, *end;

	for (p = v; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20 || c == 0x7f)
			*p = ' ';
	}
	start = v;
	while (*start == ' ')
		start++;
	end = start + strlen(start);
	while (end > start && end[-1] == ' ')
		end--;
	r = xstrndup(start, (size_t)(end - start));
	g_free(v);
	return r;
}

/*
 * A Message-ID from XMPP (normally without <>): cleaned, one pair of <>
 * dropped. NULL when nothing usable is left or it still holds what a
 * msg-id cannot (space, <, >): such an id is dropped rather than sent
 * broken. Caller frees.
 */
static char *
msgid_clean(const char *s)
{
	char *v, *r;
	size_t n;

	if (s == NULL || *s == '\0')
		return NULL;
	v = header_clean(s);
	n = strlen(v);
	if (n >= 2 && v[0] == '<' && v[n - 1] == '>') {
		r = xstrndup(v + 1, n - 2);
		free(v);
		v = r;
	}
	if (*v == '\0' || strpbrk(v, " <>") != NULL) {
		free(v);
		return NULL;
	}
	return v;
}

/* The body's first non-empty line, cut at SUBJECT_CHARS code points. Caller frees. */
static char *
subject_from_body(const char *body)
{
	const char *p = body, *eol, *cut;
	char *line, *r;
	long chars;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (*p != '\n')
			break;
		p++;
	}
	eol = p + strcspn(p, "\r\n");
	while (eol > p && (eol[-1] == ' ' || eol[-1] == '\t'))
		eol--;
	line = xstrndup(p, (size_t)(eol - p));
	chars = g_utf8_strlen(line, -1);
	if (chars <= SUBJECT_CHARS)
		return line;
	/* g_utf8_offset_to_pointer stays on a character boundary. */
	cut = g_utf8_offset_to_pointer(line, SUBJECT_CHARS);
	r = xmalloc((size_t)(cut - line) + sizeof("\xe2\x80\xa6"));
	memcpy(r, line, (size_t)(cut - line));
	memcpy(r + (cut - line), "\xe2\x80\xa6", sizeof("\xe2\x80\xa6"));
	free(line);
	return r;
}

/* The body with \r\n and lone \r made \n (GMime writes CRLF itself) and the signature. */
static char *
body_text(const char *body, const char *signature)
{
	struct strbuf b = {NULL, 0, 0};
	char *valid;
	const char *p;

	valid = g_utf8_make_valid(body, -1);
	for (p = valid; *p; p++) {
		if (*p == '\r') {
			strbuf_add(&b, "\n", 1);
			if (p[1] == '\n')
				p++;
		} else
			strbuf_add(&b, p, 1);
	}
	g_free(valid);
	if (signature != NULL && *signature != '\0') {
		if (b.len > 0 && b.p[b.len - 1] != '\n')
			strbuf_add(&b, "\n", 1);
		strbuf_add(&b, "-- \n", 4);
		valid = g_utf8_make_valid(signature, -1);
		strbuf_add(&b, valid, strlen(valid));
		g_free(valid);
	}
	if (b.p == NULL)
		strbuf_add(&b, "", 0);
	return b.p;
}

/*
 * The part's content: text as it is, UTF-8. Not g_mime_text_part_set_text(),
 * which converts to the "best" charset (ISO-8859-1 for "é") behind our back.
 */
static void
set_content(GMimeTextPart *part, const char *text)
{
	GMimeStream *st = g_mime_stream_mem_new_with_buffer(text, strlen(text));
	GMimeDataWrapper *w =
	        g_mime_data_wrapper_new_with_stream(st, GMIME_CONTENT_ENCODING_DEFAULT);

	g_mime_part_set_content(GMIME_PART(part), w);
	g_object_unref(w);
	g_object_unref(st);
}

/* text with every \n made \r\n (text has no \r left). Caller frees. */
static char *
crlf(const char *text)
{
	struct strbuf b = {NULL, 0, 0};
	const char *p;

	for (p = text; *p; p++) {
		if (*p == '\n')
			strbuf_add(&b, "\r\n", 2);
		else
			strbuf_add(&b, p, 1);
	}
	if (b.p == NULL)
		strbuf_add(&b, "", 0);
	return b.p;
}

/* A fresh random left-hand side: 128 bits from the kernel, in hex. */
static char *
random_id(const char *domain)
{
	unsigned char r[16];
	char hex[sizeof(r) * 2 + 1];
	size_t i;

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		fatal("getrandom");
	for (i = 0; i < sizeof(r); i++)
		snprintf(hex + 2 * i, 3, "%02x", r[i]);
	return xconcat(hex, "@", domain, NULL);
}

char *
mail_build(const struct mail_out *m, size_t *len, char **message_id)
{
	GMimeMessage *msg = NULL;
	GMimeTextPart *part;
	GMimeFormatOptions *fo;
	GMimeContentEncoding enc;
	GDateTime *dt;
	char *from = NULL, *to = NULL, *why = NULL, *name = NULL, *subject = NULL;
	char *text, *id, *domain, *thread, *reply, *hdr, *out = NULL, *s;

	if (m->from_addr == NULL || m->to_addr == NULL)
		return NULL;
	if (mail_addr_normalize(m->from_addr, &from, &why) == -1 ||
	    mail_addr_normalize(m->to_addr, &to, &why) == -1) {
		log_debug("mail_build: unusable address: %s", why);
		free(why);
		free(from);
		return NULL;
	}

	msg = g_mime_message_new(TRUE);
	if (m->from_name != NULL)
		name = header_clean(m->from_name);
	g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_FROM, name && *name ? name : NULL, from);
	g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_TO, NULL, to);

	if (m->subject != NULL && *m->subject != '\0')
		subject = header_clean(m->subject);
	if (subject == NULL || *subject == '\0') {
		free(subject);
		s = subject_from_body(m->body ? m->body : "");
		subject = header_clean(s);
		free(s);
	}
	g_mime_message_set_subject(msg, subject, "utf-8");

	dt = g_date_time_new_from_unix_utc(m->date ? (gint64)m->date : (gint64)time(NULL));
	g_mime_message_set_date(msg, dt);
	g_date_time_unref(dt);

	/*
	 * The configured domain, else the sender's: a Message-ID needs a
	 * right-hand side, and the address rules are the domain rules.
	 */
	domain = NULL;
	if (m->domain != NULL && *m->domain != '\0') {
		hdr = xconcat("x@", m->domain, NULL);
		if (mail_addr_normalize(hdr, &s, &why) == 0) {
			domain = xstrdup(strchr(s, '@') + 1);
			free(s);
		} else
			free(why);
		free(hdr);
	}
	if (domain == NULL)
		domain = xstrdup(strrchr(from, '@') + 1);
	id = random_id(domain);
	free(domain);
	g_mime_message_set_message_id(msg, id);
	g_mime_object_set_header(GMIME_OBJECT(msg), "MIME-Version", "1.0", NULL);

	thread = msgid_clean(m->thread);
	reply = msgid_clean(m->in_reply_to);
	if (reply != NULL || thread != NULL) {
		hdr = xconcat("<", reply ? reply : thread, ">", NULL);
		g_mime_object_set_header(GMIME_OBJECT(msg), "In-Reply-To", hdr, NULL);
		free(hdr);
		if (thread != NULL && reply != NULL && strcmp(thread, reply) != 0)
			hdr = xconcat("<", thread, "> <", reply, ">", NULL);
		else
			hdr = xconcat("<", thread ? thread : reply, ">", NULL);
		g_mime_object_set_header(GMIME_OBJECT(msg), "References", hdr, NULL);
		free(hdr);
	}
	free(thread);
	free(reply);

	part = g_mime_text_part_new_with_subtype("plain");
	text = body_text(m->body ? m->body : "", m->signature);
	set_content(part, text);
	g_mime_text_part_set_charset(part, "utf-8");
	enc = g_mime_part_get_best_content_encoding(GMIME_PART(part),
	                                            GMIME_ENCODING_CONSTRAINT_7BIT);
	if (enc == GMIME_CONTENT_ENCODING_BASE64) {
		/* base64 hides the line ends from the CRLF filter: encode canonical CRLF text. */
		s = crlf(text);
		set_content(part, s);
		free(s);
	}
	free(text);
	g_mime_part_set_content_encoding(GMIME_PART(part), enc);
	g_mime_message_set_mime_part(msg, GMIME_OBJECT(part));
	g_object_unref(part);

	fo = g_mime_format_options_new();
	g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
	s = g_mime_object_to_string(GMIME_OBJECT(msg), fo);
	g_mime_format_options_free(fo);
	*len = strlen(s);
	out = xstrndup(s, *len);
	g_free(s);
	*message_id = id;

	g_object_unref(msg);
	free(name);
	free(subject);
	free(from);
	free(to);
	return out;
}
