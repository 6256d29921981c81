/*
 * Email address normalisation; see mailaddr.h. Parsed by hand rather than
 * with GMime's address parser: that one is lenient by design (it repairs
 * what it can), while a contact address must be refused with a reason the
 * user can act on. Every loop is bounded by MAX_TYPED.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "driver.h"
#include "mailaddr.h"

#define MAX_TYPED 1024 /* bytes of typed input we accept at all */
#define MAX_ADDR 254   /* RFC 5321 path limit minus the <> */
#define MAX_LOCAL 64
#define MAX_LABEL 63

static int
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* atext of RFC 5322 plus '.', ASCII only (no SMTPUTF8 for now). */
static int
local_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return 0;
	return strchr("<>()[]\\,;:\"@", c) == NULL;
}

static int
refuse(char **why, char *buf, const char *reason)
{
	free(buf);
	*why = xstrdup(reason);
	return -1;
}

/* Checks and canonicalises addr (owned, modified in place) into *out. */
static int
check_addr(char *addr, char **out, char **why)
{
	char *at, *dom, *p, *label;
	size_t llen, dlen;

	for (p = addr; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20 || c == 0x7f)
			return refuse(why, addr,
			              "the address holds a control character or line break");
		if (c == ' ' || c == '\t')
			return refuse(why, addr, "the address holds a space");
		if (c == '<' || c == '>')
			return refuse(why, addr, "the address holds '<' or '>'");
	}
	at = strrchr(addr, '@');
	if (at == NULL) {
		/* "bob%example.net": the old source-route habit, '%' for '@'. */
		at = strrchr(addr, '%');
		if (at == NULL)
			return refuse(why, addr, "no '@' in the address");
		*at = '@';
	}
	if (strlen(addr) > MAX_ADDR)
		return refuse(why, addr, "the address is longer than 254 bytes");
	llen = (size_t)(at - addr);
	dom = at + 1;
	dlen = strlen(dom);
	if (llen == 0)
		return refuse(why, addr, "empty local part (nothing before '@')");
	if (dlen == 0)
		return refuse(why, addr, "empty domain (nothing after '@')");
	if (llen > MAX_LOCAL)
		return refuse(why, addr, "the local part is longer than 64 bytes");
	for (p = addr; p < at; p++) {
		if (!local_char((unsigned char)*p))
			return refuse(why, addr,
			              "the local part holds a character an address cannot hold");
	}
	if (addr[0] == '.' || at[-1] == '.' || memmem(addr, llen, "..", 2) != NULL)
		return refuse(why, addr, "the local part has a misplaced dot");
	/* Domain: LDH labels; single labels ("localhost") are fine. */
	label = dom;
	for (p = dom;; p++) {
		if (*p == '.' || *p == '\0') {
			size_t n = (size_t)(p - label);
			if (n == 0)
				return refuse(why, addr, "the domain has an empty label");
			if (n > MAX_LABEL)
				return refuse(why, addr, "a domain label is longer than 63 bytes");
			if (label[0] == '-' || p[-1] == '-')
				return refuse(why, addr, "a domain label starts or ends with '-'");
			if (*p == '\0')
				break;
			label = p + 1;
			continue;
		}
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
		else if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
			return refuse(why, addr,
			              "the domain holds a character a domain cannot hold");
	}
	*out = addr;
	return 0;
}

int
mail_addr_normalize(const char *typed, char **out, char **why)
{
	const char *s, *e, *lt;
	char *buf, *q;
	size_t n;

	*out = NULL;
	*why = NULL;
	if (typed == NULL || strnlen(typed, MAX_TYPED + 1) > MAX_TYPED) {
		*why = xstrdup("the address is far too long");
		return -1;
	}
	s = typed;
	while (is_space((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && is_space((unsigned char)e[-1]))
		e--;
	n = (size_t)(e - s);

	if (n >= 7 && strncasecmp(s, "mailto:", 7) == 0) {
		const char *qm;

		s += 7;
		qm = memchr(s, '?', (size_t)(e - s));
		if (qm)
			e = qm; /* ?subject=… and friends: not part of the address */
		buf = q = xmalloc((size_t)(e - s) + 1);
		while (s < e) {
			if (*s == '%') {
				int hi = s + 1 < e ? hexval((unsigned char)s[1]) : -1;
				int lo = s + 2 < e ? hexval((unsigned char)s[2]) : -1;
				if (hi < 0 || lo < 0)
					return refuse(why, buf,
					              "a bad %-escape in the mailto: address");
				if (hi == 0 && lo == 0)
					return refuse(why, buf,
					              "the address holds a control character or "
					              "line break");
				*q++ = (char)(hi * 16 + lo);
				s += 3;
			} else
				*q++ = *s++;
		}
		*q = '\0';
		return check_addr(buf, out, why);
	}

	/*
	 * "Name <addr>": the first '<' outside a quoted string starts the
	 * address ("\"a <b>\" <addr>" is fine); nothing may follow the '>'.
	 */
	lt = NULL;
	for (const char *p = s; p < e && lt == NULL; p++) {
		if (*p == '"') {
			for (p++; p < e && *p != '"'; p++) {
				if (*p == '\\' && p + 1 < e)
					p++;
			}
			if (p >= e)
				return refuse(why, NULL, "an unclosed '\"'");
		} else if (*p == '<')
			lt = p;
	}
	if (lt != NULL) {
		if (e[-1] != '>')
			return refuse(why, NULL, "'<' without a closing '>' at the end");
		s = lt + 1;
		e--;
		while (s < e && is_space((unsigned char)*s))
			s++;
		while (e > s && is_space((unsigned char)e[-1]))
			e--;
	}
	return check_addr(xstrndup(s, (size_t)(e - s)), out, why);
}
