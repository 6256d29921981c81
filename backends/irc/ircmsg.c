/*
 * IRC line parser and builder; CASEMAPPING and ISUPPORT. See ircmsg.h.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "driver.h"
#include "ircmsg.h"

const char *
ircmsg_strerror(enum ircmsg_err e)
{
	switch (e) {
	case IRCMSG_OK:
		return "no error";
	case IRCMSG_ERR_EMPTY:
		return "empty line";
	case IRCMSG_ERR_NUL:
		return "NUL byte in line";
	case IRCMSG_ERR_CRLF:
		return "CR or LF inside a line";
	case IRCMSG_ERR_TAGS_TOO_LONG:
		return "message tags too long";
	case IRCMSG_ERR_TOO_LONG:
		return "line too long";
	case IRCMSG_ERR_TRUNCATED:
		return "no command";
	case IRCMSG_ERR_BAD_TAG:
		return "malformed message tag";
	case IRCMSG_ERR_BAD_SOURCE:
		return "empty source";
	case IRCMSG_ERR_BAD_COMMAND:
		return "malformed command";
	case IRCMSG_ERR_BAD_PARAM:
		return "parameter cannot be sent";
	case IRCMSG_ERR_TOO_MANY_PARAMS:
		return "too many parameters";
	}
	return "unknown error";
}

/* Tag keys: optional '+', then letters, digits, '-', and '.', '/' for vendors. */
static bool
tag_key_ok(const char *k, size_t n)
{
	size_t i = 0;

	if (n > 0 && k[0] == '+')
		i = 1;
	if (i == n)
		return false;
	for (; i < n; i++) {
		unsigned char c = (unsigned char)k[i];
		if (!isalnum(c) && c != '-' && c != '.' && c != '/' && c != '_')
			return false;
	}
	return true;
}

/* IRCv3 tag value unescaping, in place; the result is never longer. */
static void
tag_unescape(char *s)
{
	char *w = s;

	for (; *s != '\0'; s++) {
		if (*s != '\\') {
			*w++ = *s;
			continue;
		}
		s++;
		switch (*s) {
		case '\0':
			s--; /* a lone trailing backslash is dropped */
			break;
		case ':':
			*w++ = ';';
			break;
		case 's':
			*w++ = ' ';
			break;
		case 'r':
			*w++ = '\r';
			break;
		case 'n':
			*w++ = '\n';
			break;
		default:
			*w++ = *s; /* "\\" and any other escaped char stand for themselves */
			break;
		}
	}
	*w = '\0';
}

static enum ircmsg_err
parse_tags(struct ircmsg *msg, char *p)
{
	size_t n = 1;
	char *q, *seg, *eq;

	for (q = p; *q != '\0'; q++)
		if (*q == ';')
			n++;
	msg->tags = xcalloc(n, sizeof(*msg->tags));
	while (p != NULL) {
		seg = p;
		p = strchr(p, ';');
		if (p != NULL)
			*p++ = '\0';
		if (*seg == '\0')
			continue; /* "a;;b" and a trailing ';' carry nothing */
		eq = strchr(seg, '=');
		if (eq != NULL)
			*eq++ = '\0';
		if (!tag_key_ok(seg, strlen(seg)))
			return IRCMSG_ERR_BAD_TAG;
		if (eq != NULL)
			tag_unescape(eq);
		msg->tags[msg->ntags].key = seg;
		msg->tags[msg->ntags].value = eq != NULL ? eq : "";
		msg->ntags++;
	}
	return IRCMSG_OK;
}

static void
split_source(struct ircmsg *msg, char *copy)
{
	char *bang = strchr(copy, '!');
	char *at = strchr(copy, '@');

	msg->nick = copy;
	if (at != NULL) {
		*at = '\0';
		msg->host = at + 1;
	}
	if (bang != NULL && (at == NULL || bang < at)) {
		*bang = '\0';
		msg->user = bang + 1;
	}
}

static enum ircmsg_err
parse_command(struct ircmsg *msg, char *cmd)
{
	size_t i, n = strlen(cmd);

	if (n == 3 && isdigit((unsigned char)cmd[0]) && isdigit((unsigned char)cmd[1]) &&
	    isdigit((unsigned char)cmd[2])) {
		msg->numeric = (cmd[0] - '0') * 100 + (cmd[1] - '0') * 10 + (cmd[2] - '0');
		msg->command = cmd;
		return IRCMSG_OK;
	}
	if (n == 0)
		return IRCMSG_ERR_BAD_COMMAND;
	for (i = 0; i < n; i++) {
		if (!isalpha((unsigned char)cmd[i]))
			return IRCMSG_ERR_BAD_COMMAND;
		cmd[i] = (char)toupper((unsigned char)cmd[i]);
	}
	msg->command = cmd;
	return IRCMSG_OK;
}

enum ircmsg_err
ircmsg_parse(struct ircmsg *msg, const char *line, size_t len, size_t linelen)
{
	enum ircmsg_err err;
	char *buf, *p, *sp, *cmd;
	bool had_tags = false;

	memset(msg, 0, sizeof(*msg));
	msg->numeric = -1;
	if (linelen == 0)
		linelen = IRCMSG_LINELEN;

	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (memchr(line, '\0', len) != NULL)
		return IRCMSG_ERR_NUL;
	if (memchr(line, '\r', len) != NULL || memchr(line, '\n', len) != NULL)
		return IRCMSG_ERR_CRLF;

	/* Second half: a copy of the source to split into nick/user/host. */
	buf = xmalloc(2 * len + 2);
	memcpy(buf, line, len);
	buf[len] = '\0';
	msg->buf_ = buf;
	p = buf;

	if (*p == '@') {
		sp = strchr(p, ' ');
		if ((sp != NULL ? (size_t)(sp - p) + 1 : len) > IRCMSG_TAGS_MAX) {
			err = IRCMSG_ERR_TAGS_TOO_LONG;
			goto fail;
		}
		if (sp == NULL) {
			err = IRCMSG_ERR_TRUNCATED;
			goto fail;
		}
		*sp = '\0';
		if ((err = parse_tags(msg, p + 1)) != IRCMSG_OK)
			goto fail;
		p = sp + 1;
		had_tags = true;
	}
	while (*p == ' ')
		p++;
	if ((size_t)(buf + len - p) + 2 > linelen) {
		err = IRCMSG_ERR_TOO_LONG;
		goto fail;
	}
	if (*p == '\0') {
		err = had_tags ? IRCMSG_ERR_TRUNCATED : IRCMSG_ERR_EMPTY;
		goto fail;
	}

	if (*p == ':') {
		p++;
		sp = strchr(p, ' ');
		if (sp == p) {
			err = IRCMSG_ERR_BAD_SOURCE;
			goto fail;
		}
		if (sp == NULL) {
			err = *p == '\0' ? IRCMSG_ERR_BAD_SOURCE : IRCMSG_ERR_TRUNCATED;
			goto fail;
		}
		*sp = '\0';
		msg->source = p;
		memcpy(buf + len + 1, p, (size_t)(sp - p) + 1);
		split_source(msg, buf + len + 1);
		p = sp + 1;
		while (*p == ' ')
			p++;
		if (*p == '\0') {
			err = IRCMSG_ERR_TRUNCATED;
			goto fail;
		}
	}

	cmd = p;
	while (*p != '\0' && *p != ' ')
		p++;
	if (*p != '\0')
		*p++ = '\0';
	if ((err = parse_command(msg, cmd)) != IRCMSG_OK)
		goto fail;

	for (;;) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		if (*p == ':') {
			msg->params[msg->nparams++] = p + 1;
			msg->trailing = true;
			break;
		}
		if (msg->nparams == IRCMSG_MAX_PARAMS - 1) {
			/* RFC 2812: the 15th parameter is the rest of the line. */
			msg->params[msg->nparams++] = p;
			msg->trailing = true;
			break;
		}
		msg->params[msg->nparams++] = p;
		while (*p != '\0' && *p != ' ')
			p++;
		if (*p != '\0')
			*p++ = '\0';
	}
	return IRCMSG_OK;

fail:
	ircmsg_clear(msg);
	return err;
}

void
ircmsg_clear(struct ircmsg *msg)
{
	free(msg->tags);
	free(msg->buf_);
	memset(msg, 0, sizeof(*msg));
	msg->numeric = -1;
}

const char *
ircmsg_tag(const struct ircmsg *msg, const char *key)
{
	size_t i;

	for (i = msg->ntags; i > 0; i--)
		if (strcmp(msg->tags[i - 1].key, key) == 0)
			return msg->tags[i - 1].value;
	return NULL;
}

const char *
ircmsg_param(const struct ircmsg *msg, size_t i)
{
	return i < msg->nparams ? msg->params[i] : NULL;
}

char *
ircmsg_params_join(const struct ircmsg *msg, size_t from)
{
	size_t len = 0;
	char *all;

	for (size_t i = from; i < msg->nparams; i++)
		len += strlen(msg->params[i]) + 1;
	all = xmalloc(len + 1);
	all[0] = '\0';
	for (size_t i = from; i < msg->nparams; i++) {
		strcat(all, msg->params[i]);
		if (i + 1 < msg->nparams)
			strcat(all, " ");
	}
	return all;
}

/* ---- Builder ---- */

static void
sb_addc(struct strbuf *b, char c)
{
	strbuf_add(b, &c, 1);
}

static bool
command_ok(const char *cmd)
{
	size_t i, n;

	if (cmd == NULL || (n = strlen(cmd)) == 0)
		return false;
	if (n == 3 && isdigit((unsigned char)cmd[0]) && isdigit((unsigned char)cmd[1]) &&
	    isdigit((unsigned char)cmd[2]))
		return true;
	for (i = 0; i < n; i++)
		if (!isalpha((unsigned char)cmd[i]))
			return false;
	return true;
}

static enum ircmsg_err
add_tags(struct strbuf *b, const struct ircmsg_tag *tags, size_t ntags)
{
	size_t i, start = b->len;
	const char *v;

	sb_addc(b, '@');
	for (i = 0; i < ntags; i++) {
		if (tags[i].key == NULL || !tag_key_ok(tags[i].key, strlen(tags[i].key)))
			return IRCMSG_ERR_BAD_TAG;
		if (i > 0)
			sb_addc(b, ';');
		strbuf_add(b, tags[i].key, strlen(tags[i].key));
		if (tags[i].value == NULL || tags[i].value[0] == '\0')
			continue;
		sb_addc(b, '=');
		for (v = tags[i].value; *v != '\0'; v++) {
			switch (*v) {
			case ';':
				strbuf_add(b, "\\:", 2);
				break;
			case ' ':
				strbuf_add(b, "\\s", 2);
				break;
			case '\\':
				strbuf_add(b, "\\\\", 2);
				break;
			case '\r':
				strbuf_add(b, "\\r", 2);
				break;
			case '\n':
				strbuf_add(b, "\\n", 2);
				break;
			default:
				sb_addc(b, *v);
			}
		}
	}
	sb_addc(b, ' ');
	if (b->len - start > IRCMSG_CLIENT_TAGS_MAX)
		return IRCMSG_ERR_TAGS_TOO_LONG;
	return IRCMSG_OK;
}

enum ircmsg_err
ircmsg_format(const struct ircmsg_out *o, char **out, size_t *outlen)
{
	struct strbuf b = {NULL, 0, 0};
	enum ircmsg_err err = IRCMSG_OK;
	size_t i, body, linelen = o->linelen != 0 ? o->linelen : IRCMSG_LINELEN;
	const char *p, *q;

	*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	if (!command_ok(o->command))
		return IRCMSG_ERR_BAD_COMMAND;
	if (o->nparams > IRCMSG_MAX_PARAMS)
		return IRCMSG_ERR_TOO_MANY_PARAMS;
	if (o->ntags > 0 && (err = add_tags(&b, o->tags, o->ntags)) != IRCMSG_OK)
		goto fail;
	body = b.len;
	strbuf_add(&b, o->command, strlen(o->command));

	for (i = 0; i < o->nparams; i++) {
		p = o->params[i];
		if (p == NULL) {
			err = IRCMSG_ERR_BAD_PARAM;
			goto fail;
		}
		sb_addc(&b, ' ');
		if (i + 1 < o->nparams) {
			if (*p == '\0' || *p == ':' || strpbrk(p, " \r\n") != NULL) {
				err = strpbrk(p, "\r\n") != NULL ? IRCMSG_ERR_CRLF
				                                 : IRCMSG_ERR_BAD_PARAM;
				goto fail;
			}
			strbuf_add(&b, p, strlen(p));
			continue;
		}
		if (strpbrk(p, "\r\n") != NULL && !(o->flags & IRCMSG_STRIP_CRLF)) {
			err = IRCMSG_ERR_CRLF;
			goto fail;
		}
		if (*p == '\0' || *p == ':' || strpbrk(p, " \r\n") != NULL ||
		    (o->flags & IRCMSG_FORCE_TRAILING))
			sb_addc(&b, ':');
		/* Each run of CR/LF becomes one space. */
		while (*p != '\0') {
			q = p + strcspn(p, "\r\n");
			strbuf_add(&b, p, (size_t)(q - p));
			if (*q == '\0')
				break;
			sb_addc(&b, ' ');
			p = q + strspn(q, "\r\n");
		}
	}
	if (b.len - body + 2 > linelen) {
		err = IRCMSG_ERR_TOO_LONG;
		goto fail;
	}
	strbuf_add(&b, "\r\n", 2);
	*out = b.p;
	if (outlen != NULL)
		*outlen = b.len;
	return IRCMSG_OK;

fail:
	free(b.p);
	return err;
}

enum ircmsg_err
ircmsg_build(char **out, const char *command, ...)
{
	const char *params[IRCMSG_MAX_PARAMS + 1];
	struct ircmsg_out o = {0};
	const char *p;
	va_list ap;
	size_t n = 0;

	va_start(ap, command);
	while ((p = va_arg(ap, const char *)) != NULL) {
		if (n == IRCMSG_MAX_PARAMS) {
			va_end(ap);
			*out = NULL;
			return IRCMSG_ERR_TOO_MANY_PARAMS;
		}
		params[n++] = p;
	}
	va_end(ap);
	o.command = command;
	o.params = params;
	o.nparams = n;
	return ircmsg_format(&o, out, NULL);
}

/* ---- Case mapping ---- */

int
ircmsg_casemap_parse(const char *name, enum ircmsg_casemap *out)
{
	if (strcasecmp(name, "rfc1459") == 0)
		*out = IRCMSG_CASEMAP_RFC1459;
	else if (strcasecmp(name, "strict-rfc1459") == 0)
		*out = IRCMSG_CASEMAP_STRICT_RFC1459;
	else if (strcasecmp(name, "ascii") == 0 || strcasecmp(name, "rfc7613") == 0)
		*out = IRCMSG_CASEMAP_ASCII;
	else
		return -1;
	return 0;
}

int
ircmsg_tolower(enum ircmsg_casemap cm, int c)
{
	if (c >= 'A' && c <= 'Z')
		return c + ('a' - 'A');
	if (cm == IRCMSG_CASEMAP_ASCII)
		return c;
	switch (c) {
	case '[':
		return '{';
	case ']':
		return '}';
	case '\\':
		return '|';
	case '~':
		return cm == IRCMSG_CASEMAP_RFC1459 ? '^' : c;
	}
	return c;
}

int
ircmsg_casecmp(enum ircmsg_casemap cm, const char *a, const char *b)
{
	int ca, cb;

	for (;; a++, b++) {
		ca = ircmsg_tolower(cm, (unsigned char)*a);
		cb = ircmsg_tolower(cm, (unsigned char)*b);
		if (ca != cb || ca == '\0')
			return ca - cb;
	}
}

void
ircmsg_casefold(enum ircmsg_casemap cm, char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)ircmsg_tolower(cm, (unsigned char)*s);
}

bool
ircmsg_nick_eq(enum ircmsg_casemap cm, const char *source, const char *nick)
{
	size_t n = strcspn(source, "!@");
	size_t i;

	if (strlen(nick) != n)
		return false;
	for (i = 0; i < n; i++)
		if (ircmsg_tolower(cm, (unsigned char)source[i]) !=
		    ircmsg_tolower(cm, (unsigned char)nick[i]))
			return false;
	return true;
}

/* ---- ISUPPORT ---- */

void
ircmsg_isupport_init(struct ircmsg_isupport *is)
{
	memset(is, 0, sizeof(*is));
	strcpy(is->prefix_modes, "ov");
	strcpy(is->prefix_chars, "@+");
	strcpy(is->chantypes, "#&");
	strcpy(is->chanmodes[0], "b");
	strcpy(is->chanmodes[1], "k");
	strcpy(is->chanmodes[2], "l");
	strcpy(is->chanmodes[3], "imnpst");
	is->casemap = IRCMSG_CASEMAP_RFC1459;
	is->nicklen = 9;
	is->linelen = IRCMSG_LINELEN;
	is->monitor = -1;
}

static unsigned
hexval(char c)
{
	return isdigit((unsigned char)c) ? (unsigned)(c - '0')
	                                 : (unsigned)(tolower((unsigned char)c) - 'a' + 10);
}

/* ISUPPORT values escape bytes as \xHH. Returns -1 if it does not fit. */
static int
value_copy(char *dst, size_t size, const char *v)
{
	size_t n = 0;
	char c;

	for (; *v != '\0'; v++) {
		c = *v;
		if (c == '\\' && v[1] == 'x' && isxdigit((unsigned char)v[2]) &&
		    isxdigit((unsigned char)v[3])) {
			c = (char)(hexval(v[2]) * 16 + hexval(v[3]));
			v += 3;
			if (c == '\0')
				return -1;
		}
		if (n + 1 >= size)
			return -1;
		dst[n++] = c;
	}
	dst[n] = '\0';
	return 0;
}

static int
int_value(const char *v, long min, long max, int *out)
{
	char *end;
	long l;

	if (*v == '\0')
		return -1;
	l = strtol(v, &end, 10);
	if (*end != '\0' || l < min || l > max)
		return -1;
	*out = (int)l;
	return 0;
}

static int
set_prefix(struct ircmsg_isupport *is, const char *v)
{
	char buf[40];
	const char *close;
	size_t nm, nc;

	if (value_copy(buf, sizeof(buf), v) == -1)
		return -1;
	if (buf[0] == '\0') {
		is->prefix_modes[0] = is->prefix_chars[0] = '\0';
		return 0;
	}
	if (buf[0] != '(' || (close = strchr(buf, ')')) == NULL)
		return -1;
	nm = (size_t)(close - buf - 1);
	nc = strlen(close + 1);
	if (nm != nc || nm >= sizeof(is->prefix_modes))
		return -1;
	memcpy(is->prefix_modes, buf + 1, nm);
	is->prefix_modes[nm] = '\0';
	memcpy(is->prefix_chars, close + 1, nc);
	is->prefix_chars[nc] = '\0';
	return 0;
}

static int
set_chanmodes(struct ircmsg_isupport *is, const char *v)
{
	char groups[4][64];
	char buf[256];
	char *p = buf, *comma;
	int i;

	if (value_copy(buf, sizeof(buf), v) == -1)
		return -1;
	for (i = 0; i < 4; i++) {
		comma = p != NULL ? strchr(p, ',') : NULL;
		if (comma != NULL)
			*comma = '\0';
		if (p == NULL)
			groups[i][0] = '\0';
		else if (strlen(p) >= sizeof(groups[i]))
			return -1;
		else
			strcpy(groups[i], p);
		p = comma != NULL ? comma + 1 : NULL;
	}
	memcpy(is->chanmodes, groups, sizeof(groups));
	return 0;
}

int
ircmsg_isupport_token(struct ircmsg_isupport *is, const char *token)
{
	struct ircmsg_isupport def;
	char name[32];
	const char *eq, *v;
	size_t n;
	bool neg = false;
	int iv;

	if (*token == '-') {
		neg = true;
		token++;
	}
	eq = strchr(token, '=');
	n = eq != NULL ? (size_t)(eq - token) : strlen(token);
	if (n == 0 || n >= sizeof(name))
		return 0;
	memcpy(name, token, n);
	name[n] = '\0';
	v = eq != NULL ? eq + 1 : "";

	if (neg) {
		ircmsg_isupport_init(&def);
		if (strcmp(name, "PREFIX") == 0) {
			strcpy(is->prefix_modes, def.prefix_modes);
			strcpy(is->prefix_chars, def.prefix_chars);
		} else if (strcmp(name, "CHANTYPES") == 0)
			strcpy(is->chantypes, def.chantypes);
		else if (strcmp(name, "CHANMODES") == 0)
			memcpy(is->chanmodes, def.chanmodes, sizeof(def.chanmodes));
		else if (strcmp(name, "CASEMAPPING") == 0)
			is->casemap = def.casemap;
		else if (strcmp(name, "NICKLEN") == 0)
			is->nicklen = def.nicklen;
		else if (strcmp(name, "LINELEN") == 0)
			is->linelen = def.linelen;
		else if (strcmp(name, "NETWORK") == 0)
			is->network[0] = '\0';
		else if (strcmp(name, "STATUSMSG") == 0)
			is->statusmsg[0] = '\0';
		else if (strcmp(name, "MONITOR") == 0)
			is->monitor = -1;
		return 0;
	}

	if (strcmp(name, "PREFIX") == 0)
		return set_prefix(is, v);
	if (strcmp(name, "CHANTYPES") == 0)
		return value_copy(is->chantypes, sizeof(is->chantypes), v) == -1 ? -1 : 0;
	if (strcmp(name, "CHANMODES") == 0)
		return set_chanmodes(is, v);
	if (strcmp(name, "CASEMAPPING") == 0)
		return ircmsg_casemap_parse(v, &is->casemap);
	if (strcmp(name, "NICKLEN") == 0 || strcmp(name, "MAXNICKLEN") == 0) {
		if (int_value(v, 1, 4096, &iv) == -1)
			return -1;
		is->nicklen = iv;
		return 0;
	}
	if (strcmp(name, "LINELEN") == 0) {
		if (int_value(v, IRCMSG_LINELEN, 65536, &iv) == -1)
			return -1;
		is->linelen = iv;
		return 0;
	}
	if (strcmp(name, "NETWORK") == 0) {
		char tmp[sizeof(is->network)];
		if (value_copy(tmp, sizeof(tmp), v) == -1)
			return -1;
		strcpy(is->network, tmp);
		return 0;
	}
	if (strcmp(name, "STATUSMSG") == 0) {
		char tmp[sizeof(is->statusmsg)];
		if (value_copy(tmp, sizeof(tmp), v) == -1)
			return -1;
		strcpy(is->statusmsg, tmp);
		return 0;
	}
	if (strcmp(name, "MONITOR") == 0) {
		if (*v == '\0') {
			is->monitor = 0;
			return 0;
		}
		if (int_value(v, 0, 1000000, &iv) == -1)
			return -1;
		is->monitor = iv;
		return 0;
	}
	return 0;
}

int
ircmsg_isupport_apply(struct ircmsg_isupport *is, const struct ircmsg *msg)
{
	size_t i;
	int bad = 0;

	/* 005 <me> TOKEN... :are supported by this server */
	for (i = 1; i + 1 < msg->nparams; i++)
		if (ircmsg_isupport_token(is, msg->params[i]) == -1)
			bad++;
	return bad;
}

char
ircmsg_isupport_prefix_mode(const struct ircmsg_isupport *is, char prefix)
{
	const char *p;

	if (prefix == '\0' || (p = strchr(is->prefix_chars, prefix)) == NULL)
		return 0;
	return is->prefix_modes[p - is->prefix_chars];
}

int
ircmsg_isupport_prefix_rank(const struct ircmsg_isupport *is, char c)
{
	const char *p;

	if (c == '\0')
		return -1;
	if ((p = strchr(is->prefix_chars, c)) != NULL)
		return (int)(p - is->prefix_chars);
	if ((p = strchr(is->prefix_modes, c)) != NULL)
		return (int)(p - is->prefix_modes);
	return -1;
}

bool
ircmsg_isupport_is_channel(const struct ircmsg_isupport *is, const char *name)
{
	return name[0] != '\0' && strchr(is->chantypes, name[0]) != NULL;
}

char
ircmsg_isupport_mode_type(const struct ircmsg_isupport *is, char mode)
{
	int i;

	if (mode == '\0' || mode == ',')
		return 0;
	if (strchr(is->prefix_modes, mode) != NULL)
		return 'P';
	for (i = 0; i < 4; i++)
		if (strchr(is->chanmodes[i], mode) != NULL)
			return (char)('A' + i);
	return 0;
}
