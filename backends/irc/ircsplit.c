/*
 * Outgoing text splitter. See ircsplit.h for the policy.
 */
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "ircsplit.h"
#include "ircutf8.h"

#define ACTION_OPEN "\001ACTION "
#define ACTION_OPEN_LEN (sizeof(ACTION_OPEN) - 1)

size_t
ircsplit_source_len(const char *nick, const char *user, const char *host)
{
	return strlen(nick) + 1 + (user != NULL ? strlen(user) : IRCSPLIT_USERLEN) + 1 +
	       (host != NULL ? strlen(host) : IRCSPLIT_HOSTLEN);
}

size_t
ircsplit_room(const char *command, const char *target, size_t source_len, size_t linelen)
{
	/* ':' source ' ' command ' ' target ' ' ':' payload CR LF */
	size_t overhead = 1 + source_len + 1 + strlen(command) + 1 + strlen(target) + 2 + 2;

	if (linelen == 0)
		linelen = 512;
	return overhead >= linelen ? 0 : linelen - overhead;
}

/* Valid UTF-8 copy of body without \x01 (and without NUL, by construction). */
static char *
clean_copy(const char *body, size_t *outlen)
{
	size_t n = strlen(body), i = 0, k, o = 0;
	char *out = xmalloc(3 * n + 1);
	uint32_t cp;

	while (i < n) {
		if ((k = ircutf8_decode(body + i, n - i, &cp)) == 0) {
			o += ircutf8_encode(0xfffd, out + o);
			i++;
			continue;
		}
		if (cp != 0x01) {
			memcpy(out + o, body + i, k);
			o += k;
		}
		i += k;
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

struct parts {
	char **v;
	size_t n, cap;
};

static void
emit(struct parts *p, const char *s, size_t len, unsigned flags)
{
	char *part;

	if (p->n + 2 > p->cap) {
		p->cap = p->cap != 0 ? p->cap * 2 : 8;
		p->v = xreallocarray(p->v, p->cap, sizeof(*p->v));
	}
	if (flags & IRCSPLIT_ACTION) {
		part = xmalloc(ACTION_OPEN_LEN + len + 2);
		memcpy(part, ACTION_OPEN, ACTION_OPEN_LEN);
		memcpy(part + ACTION_OPEN_LEN, s, len);
		part[ACTION_OPEN_LEN + len] = '\001';
		part[ACTION_OPEN_LEN + len + 1] = '\0';
	} else
		part = xstrndup(s, len);
	p->v[p->n++] = part;
	p->v[p->n] = NULL;
}

static bool
blank(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return false;
	return true;
}

static void
split_line(struct parts *p, const char *s, size_t len, size_t room, unsigned flags)
{
	size_t cut, i;

	while (len > room) {
		/* s is valid UTF-8: back up over continuation bytes. */
		cut = room;
		while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
			cut--;
		for (i = cut; i > room / 2; i--) {
			if (s[i - 1] == ' ') {
				cut = i;
				break;
			}
		}
		emit(p, s, cut, flags);
		s += cut;
		len -= cut;
	}
	if (len > 0)
		emit(p, s, len, flags);
}

char **
ircsplit(const char *body, size_t room, unsigned flags, size_t *n)
{
	struct parts p = {NULL, 0, 0};
	size_t len, eol;
	char *clean, *s;

	*n = 0;
	if (flags & IRCSPLIT_ACTION) {
		if (room < ACTION_OPEN_LEN + 1)
			return NULL;
		room -= ACTION_OPEN_LEN + 1;
	}
	if (room < 4)
		return NULL;

	clean = clean_copy(body, &len);
	s = clean;
	while (len > 0) {
		eol = strcspn(s, "\r\n");
		if (!blank(s, eol))
			split_line(&p, s, eol, room, flags);
		if (eol < len && s[eol] == '\r' && eol + 1 < len && s[eol + 1] == '\n')
			eol++;
		if (eol < len)
			eol++;
		s += eol;
		len -= eol;
	}
	free(clean);
	if (p.v == NULL)
		p.v = xcalloc(1, sizeof(*p.v));
	*n = p.n;
	return p.v;
}

void
ircsplit_free(char **parts)
{
	char **p;

	if (parts == NULL)
		return;
	for (p = parts; *p != NULL; p++)
		free(*p);
	free(parts);
}
