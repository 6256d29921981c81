/* JID splitting and XEP-0106 escaping; see jid.h. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <string.h>

#include "jid.h"
#include "xmalloc.h"
#include "xmltext.h"

/* The characters XEP-0106 escapes, with their codes. */
static const struct {
	char c;
	const char *code;
} escapes[] = {
        {' ', "20"}, {'"', "22"}, {'&', "26"}, {'\'', "27"}, {'/', "2f"},
        {':', "3a"}, {'<', "3c"}, {'>', "3e"}, {'@', "40"},  {'\\', "5c"},
};
#define NESCAPES (sizeof(escapes) / sizeof(escapes[0]))

static const char *
escape_code(char c)
{
	for (size_t i = 0; i < NESCAPES; i++)
		if (escapes[i].c == c)
			return escapes[i].code;
	return NULL;
}

/* The character for a two-hex-digit code, or 0 when XEP-0106 has none. */
static char
escape_char(const char *p)
{
	for (size_t i = 0; i < NESCAPES; i++)
		if (tolower((unsigned char)p[0]) == escapes[i].code[0] &&
		    tolower((unsigned char)p[1]) == escapes[i].code[1])
			return escapes[i].c;
	return 0;
}

char *
jid_escape(const char *address)
{
	char *out = xmalloc(strlen(address) * 3 + 1), *o = out;

	for (const char *p = address; *p; p++) {
		const char *code = escape_code(*p);

		/*
		 * A backslash is escaped only where it would otherwise read as
		 * an escape sequence (XEP-0106 section 4.2), so "a\b" stays.
		 */
		if (code == NULL || (*p == '\\' && (p[1] == '\0' || escape_char(p + 1) == 0))) {
			*o++ = *p;
			continue;
		}
		*o++ = '\\';
		*o++ = code[0];
		*o++ = code[1];
	}
	*o = '\0';
	return out;
}

char *
jid_unescape(const char *local)
{
	char *out = xmalloc(strlen(local) + 1), *o = out;

	for (const char *p = local; *p; p++) {
		char c;

		if (*p == '\\' && p[1] && p[2] && (c = escape_char(p + 1)) != 0) {
			*o++ = c;
			p += 2;
		} else
			*o++ = *p;
	}
	*o = '\0';
	return out;
}

bool
jid_local_valid(const char *local)
{
	size_t n = strlen(local);

	if (n == 0 || n > 1023 || !utf8_valid(local, n))
		return false;
	for (const unsigned char *p = (const unsigned char *)local; *p; p++)
		if (*p < 0x21 || *p == 0x7f || strchr("\"&'/:<>@", *p))
			return false;
	return true;
}

/* An IPv6 literal domain (RFC 7622 section 3.2): "[address]" and nothing else. */
static bool
ipv6_literal_valid(const char *domain, size_t n)
{
	char addr[INET6_ADDRSTRLEN];
	struct in6_addr a;

	if (n < 3 || domain[n - 1] != ']' || n - 2 >= sizeof(addr))
		return false;
	memcpy(addr, domain + 1, n - 2);
	addr[n - 2] = '\0';
	return inet_pton(AF_INET6, addr, &a) == 1;
}

bool
jid_domain_valid(const char *domain)
{
	size_t n = strlen(domain);

	if (n == 0 || n > 1023 || !utf8_valid(domain, n) || domain[0] == '.')
		return false;
	if (domain[0] == '[')
		return ipv6_literal_valid(domain, n);
	for (const unsigned char *p = (const unsigned char *)domain; *p; p++)
		if (*p < 0x21 || *p == 0x7f || strchr("\"&'/:<>@\\", *p))
			return false;
	return true;
}

bool
jid_resource_valid(const char *resource)
{
	size_t n = strlen(resource);

	if (n == 0 || n > 1023 || !utf8_valid(resource, n))
		return false;
	for (const unsigned char *p = (const unsigned char *)resource; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

int
jid_parse(const char *s, struct jid *j)
{
	const char *slash, *at, *dom;

	memset(j, 0, sizeof(*j));
	if (s == NULL || *s == '\0')
		return -1;
	slash = strchr(s, '/');
	at = memchr(s, '@', slash ? (size_t)(slash - s) : strlen(s));
	dom = at ? at + 1 : s;
	if (at != NULL) {
		j->local = xstrndup(s, (size_t)(at - s));
		if (!jid_local_valid(j->local))
			goto bad;
	}
	j->domain = slash ? xstrndup(dom, (size_t)(slash - dom)) : xstrdup(dom);
	for (char *p = j->domain; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (!jid_domain_valid(j->domain))
		goto bad;
	if (slash != NULL) {
		if (!jid_resource_valid(slash + 1))
			goto bad;
		j->resource = xstrdup(slash + 1);
	}
	return 0;
bad:
	jid_clear(j);
	return -1;
}

void
jid_clear(struct jid *j)
{
	free(j->local);
	free(j->domain);
	free(j->resource);
	memset(j, 0, sizeof(*j));
}

char *
jid_bare(const char *s)
{
	struct jid j;
	char *out;

	if (jid_parse(s, &j) == -1)
		return NULL;
	out = jid_make(j.local, j.domain, NULL);
	jid_clear(&j);
	return out;
}

char *
jid_make(const char *local, const char *domain, const char *resource)
{
	return xconcat(local ? local : "", local ? "@" : "", domain, resource ? "/" : "",
	               resource ? resource : "", (char *)NULL);
}
