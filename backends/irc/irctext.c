/*
 * IRC -> XMPP text: charset, formatting, XML-safe characters; CTCP.
 * See irctext.h.
 */
#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "driver.h"
#include "irctext.h"
#include "ircutf8.h"

/* ---- Charset ---- */

static char *
decode_latin1(const char *in, size_t len, size_t *outlen)
{
	char *out = xmalloc(2 * len + 1);
	size_t i, o = 0;

	for (i = 0; i < len; i++)
		o += ircutf8_encode((unsigned char)in[i], out + o);
	out[o] = '\0';
	*outlen = o;
	return out;
}

static char *
decode_iconv(iconv_t cd, const char *in, size_t len, size_t *outlen)
{
	size_t cap = 4 * len + 16, used = 0, inleft = len, outleft, r;
	char *out = xmalloc(cap), *ip = (char *)in, *op;

	for (;;) {
		op = out + used;
		outleft = cap - used - 1;
		r = iconv(cd, inleft > 0 ? &ip : NULL, &inleft, &op, &outleft);
		used = (size_t)(op - out);
		if (r != (size_t)-1) {
			if (inleft == 0)
				break;
			continue;
		}
		if (errno == E2BIG) {
			cap *= 2;
			out = xreallocarray(out, cap, 1);
			continue;
		}
		/* EILSEQ or EINVAL: a byte the charset cannot map. */
		if (cap - used - 1 < 4) {
			cap *= 2;
			out = xreallocarray(out, cap, 1);
		}
		used += ircutf8_encode(0xfffd, out + used);
		ip++;
		inleft--;
		iconv(cd, NULL, NULL, NULL, NULL);
		if (inleft == 0)
			break;
	}
	out[used] = '\0';
	*outlen = used;
	return out;
}

char *
irctext_decode(const char *in, size_t len, const char *fallback, size_t *outlen)
{
	size_t dummy, n;
	iconv_t cd;
	char *out;

	if (outlen == NULL)
		outlen = &dummy;
	if (ircutf8_valid(in, len)) {
		out = xmalloc(len + 1);
		memcpy(out, in, len);
		out[len] = '\0';
		*outlen = len;
		return out;
	}
	if (fallback == NULL || *fallback == '\0')
		fallback = IRCTEXT_FALLBACK;
	if (strcasecmp(fallback, "latin1") == 0 || strcasecmp(fallback, "ISO-8859-1") == 0)
		return decode_latin1(in, len, outlen);
	cd = iconv_open("UTF-8", fallback);
	if (cd == (iconv_t)-1)
		return decode_latin1(in, len, outlen);
	out = decode_iconv(cd, in, len, &n);
	iconv_close(cd);
	*outlen = n;
	return out;
}

/* ---- Formatting and XML characters ---- */

bool
irctext_xml_char_ok(uint32_t cp)
{
	if (cp < 0x20)
		return cp == '\t' || cp == '\n';
	if (cp >= 0x7f && cp <= 0x9f)
		return false;
	if (cp >= 0xd800 && cp <= 0xdfff)
		return false;
	if (cp == 0xfffe || cp == 0xffff)
		return false;
	return cp <= 0x10ffff;
}

#define ST_BOLD 0x01
#define ST_ITALIC 0x02
#define ST_STRIKE 0x04
#define ST_MONO 0x08

static const struct {
	unsigned bit;
	char mark;
} marks[] = {
        {ST_BOLD, '*'},
        {ST_ITALIC, '_'},
        {ST_STRIKE, '~'},
        {ST_MONO, '`'},
};
#define NMARKS (sizeof(marks) / sizeof(marks[0]))

static size_t
skip_digits(const char *s, size_t n, size_t max)
{
	size_t i = 0;

	while (i < n && i < max && isdigit((unsigned char)s[i]))
		i++;
	return i;
}

static bool
hex6(const char *s, size_t n)
{
	size_t i;

	if (n < 6)
		return false;
	for (i = 0; i < 6; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* Length of the colour arguments after \x03 at s. */
static size_t
colour_len(const char *s, size_t n)
{
	size_t k = skip_digits(s, n, 2), k2;

	if (k > 0 && k < n && s[k] == ',' && (k2 = skip_digits(s + k + 1, n - k - 1, 2)) > 0)
		k += 1 + k2;
	return k;
}

/* Length of the hex colour arguments after \x04 at s. */
static size_t
hexcolour_len(const char *s, size_t n)
{
	if (!hex6(s, n))
		return 0;
	if (n > 7 && s[6] == ',' && hex6(s + 7, n - 7))
		return 13;
	return 6;
}

static bool
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/*
 * Emit plain[a..b) with style bits st as XEP-0393 spans. Markers are kept only
 * where a client would parse them: the span starts the text or follows
 * whitespace, its core is not empty, and holds no marker character itself.
 */
static void
emit_styled(char *out, size_t *o, const char *plain, size_t a, size_t b, unsigned st)
{
	size_t s = a, e = b, i;
	bool ok;

	while (s < e && is_ws(plain[s]))
		s++;
	while (e > s && is_ws(plain[e - 1]))
		e--;
	ok = st != 0 && s < e && (s == 0 || is_ws(plain[s - 1]));
	for (i = s; ok && i < e; i++)
		if (strchr("*_~`", plain[i]) != NULL || plain[i] == '\n')
			ok = false;
	memcpy(out + *o, plain + a, s - a);
	*o += s - a;
	for (i = 0; ok && i < NMARKS; i++)
		if (st & marks[i].bit)
			out[(*o)++] = marks[i].mark;
	memcpy(out + *o, plain + s, e - s);
	*o += e - s;
	for (i = NMARKS; ok && i > 0; i--)
		if (st & marks[i - 1].bit)
			out[(*o)++] = marks[i - 1].mark;
	memcpy(out + *o, plain + e, b - e);
	*o += b - e;
}

char *
irctext_to_xmpp(const char *in, size_t len, const char *fallback, unsigned flags)
{
	size_t n, i = 0, k, o = 0, a;
	char *dec, *plain, *out;
	unsigned char *style;
	unsigned st = 0;
	uint32_t cp;

	dec = irctext_decode(in, len, fallback, &n);
	plain = xmalloc(n + 1);
	style = xmalloc(n + 1);
	while (i < n) {
		k = ircutf8_decode(dec + i, n - i, &cp);
		if (k == 0) { /* cannot happen after decode; be safe anyway */
			i++;
			continue;
		}
		i += k;
		switch (cp) {
		case 0x02:
			st ^= ST_BOLD;
			continue;
		case 0x1d:
			st ^= ST_ITALIC;
			continue;
		case 0x1e:
			st ^= ST_STRIKE;
			continue;
		case 0x11:
			st ^= ST_MONO;
			continue;
		case 0x0f:
			st = 0;
			continue;
		case 0x03:
			i += colour_len(dec + i, n - i);
			continue;
		case 0x04:
			i += hexcolour_len(dec + i, n - i);
			continue;
		case 0x16: /* reverse */
		case 0x1f: /* underline */
			continue;
		}
		if (!irctext_xml_char_ok(cp))
			continue;
		memcpy(plain + o, dec + i - k, k);
		memset(style + o, (int)st, k);
		o += k;
	}
	plain[o] = '\0';
	free(dec);
	if (!(flags & IRCTEXT_STYLING)) {
		free(style);
		return plain;
	}

	/* Each run may gain two markers per style: 8 bytes at most. */
	n = o;
	out = xmalloc(n * 9 + 1);
	o = 0;
	for (a = 0; a < n; a = i) {
		for (i = a; i < n && style[i] == style[a]; i++)
			;
		emit_styled(out, &o, plain, a, i, style[a]);
	}
	out[o] = '\0';
	free(plain);
	free(style);
	return out;
}

/* ---- CTCP ---- */

enum irctext_ctcp_kind
irctext_ctcp_parse(const char *text, size_t len, struct irctext_ctcp *out)
{
	static const struct {
		const char *name;
		enum irctext_ctcp_kind kind;
	} known[] = {
	        {"ACTION", IRCTEXT_CTCP_ACTION},
	        {"VERSION", IRCTEXT_CTCP_VERSION},
	        {"PING", IRCTEXT_CTCP_PING},
	        {"TIME", IRCTEXT_CTCP_TIME},
	};
	size_t end, i, c;

	memset(out, 0, sizeof(*out));
	if (len < 2 || text[0] != '\001')
		return IRCTEXT_CTCP_NONE;
	end = text[len - 1] == '\001' ? len - 1 : len;
	for (c = 1; c < end && text[c] != ' '; c++)
		if (!isgraph((unsigned char)text[c]))
			return IRCTEXT_CTCP_NONE;
	if (c == 1)
		return IRCTEXT_CTCP_NONE;
	out->cmd = text + 1;
	out->cmd_len = c - 1;
	if (c < end) {
		out->args = text + c + 1;
		out->args_len = end - c - 1;
	} else {
		out->args = text + end;
		out->args_len = 0;
	}
	out->kind = IRCTEXT_CTCP_OTHER;
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (out->cmd_len == strlen(known[i].name) &&
		    strncasecmp(out->cmd, known[i].name, out->cmd_len) == 0)
			out->kind = known[i].kind;
	return out->kind;
}

char *
irctext_ctcp_build(const char *cmd, const char *args)
{
	size_t i, o = 0, n = strlen(cmd), na = args != NULL ? strlen(args) : 0;
	char *out;

	if (n == 0)
		return NULL;
	for (i = 0; i < n; i++)
		if (!isgraph((unsigned char)cmd[i]) || cmd[i] == '\001')
			return NULL;
	out = xmalloc(n + na + 4);
	out[o++] = '\001';
	memcpy(out + o, cmd, n);
	o += n;
	if (na > 0) {
		out[o++] = ' ';
		for (i = 0; i < na; i++)
			if (args[i] != '\001' && args[i] != '\r' && args[i] != '\n')
				out[o++] = args[i];
	}
	out[o++] = '\001';
	out[o] = '\0';
	return out;
}
