/* Logging to stderr or syslog; see log.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

#include "log.h"
#include "xmalloc.h"
#include "xmltext.h"

static int log_stderr = 1;
static int log_verbosity;

void
log_init(int to_stderr, int verbosity, const char *ident)
{
	log_stderr = to_stderr;
	log_verbosity = verbosity;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	tzset();
}

void
log_set_verbosity(int verbosity)
{
	log_verbosity = verbosity;
}

int
log_get_verbosity(void)
{
	return log_verbosity;
}

static const char *
level_name(int level)
{
	switch (level) {
	case LOG_CRIT:
	case LOG_ERR:
		return "error";
	case LOG_WARNING:
		return "warning";
	case LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

void
log_vmsg(int level, const char *fmt, va_list ap)
{
	int saved = errno;

	if (log_stderr) {
		struct timespec ts;
		struct tm tm;
		char stamp[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ld %s: ", stamp, ts.tv_nsec / 1000000L, level_name(level));
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		fflush(stderr);
	} else
		vsyslog(level, fmt, ap);
	errno = saved;
}

/* Formats fmt, then logs it with ": strerror(err)" appended. */
static void log_vmsg_errno(int level, int err, const char *fmt, va_list ap) SG_PRINTF(3, 0);

static void
log_vmsg_errno(int level, int err, const char *fmt, va_list ap)
{
	char buf[2048];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	log_vmsg_fixed(level, "%s: %s", buf, strerror(err));
}

void
log_vmsg_fixed(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vmsg_errno(LOG_WARNING, err, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (log_verbosity < 1)
		return;
	va_start(ap, fmt);
	log_vmsg(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
log_trace(const char *fmt, ...)
{
	va_list ap;

	if (log_verbosity < 2)
		return;
	va_start(ap, fmt);
	log_vmsg(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vmsg_errno(LOG_CRIT, err, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}

/*
 * Length of the printable UTF-8 character at p, or 0 when p starts a control
 * character (C0, DEL, C1), a backslash or bytes that are not UTF-8.
 */
static size_t
printable_len(const unsigned char *p)
{
	size_t len = p[0] < 0x80 ? 1 : p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : 2;

	if (p[0] < 0x20 || p[0] == 0x7f || p[0] == '\\')
		return 0;
	if (strnlen((const char *)p, len) < len || !utf8_valid((const char *)p, len))
		return 0;
	if (p[0] == 0xc2 && p[1] < 0xa0)
		return 0;
	return len;
}

char *
log_escape(char *buf, size_t len, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0, n;

	if (len == 0)
		return buf;
	while (p && *p) {
		if ((n = printable_len(p)) > 0) {
			/* Whole characters only, and room for the NUL. */
			if (o + n >= len)
				break;
			memcpy(buf + o, p, n);
			o += n;
			p += n;
			continue;
		}
		if (o + (*p == '\\' ? 2 : 4) >= len)
			break;
		buf[o++] = '\\';
		if (*p == '\\')
			buf[o++] = '\\';
		else {
			buf[o++] = 'x';
			buf[o++] = hex[*p >> 4];
			buf[o++] = hex[*p & 15];
		}
		p++;
	}
	buf[o] = '\0';
	return buf;
}

/* ---- secrets out of traces ---- */

static bool
secret_name(const char *name, size_t n)
{
	static const char *const words[] = {"pass", "secret", "key"};

	for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
		size_t k = strlen(words[w]);

		for (size_t i = 0; i + k <= n; i++)
			if (strncasecmp(name + i, words[w], k) == 0)
				return true;
	}
	return false;
}

/* Appends s[0..n) to out at *o. */
static void
emit(char *out, size_t *o, const char *s, size_t n)
{
	memcpy(out + *o, s, n);
	*o += n;
}

/* Hides the text of every <tag>...</tag> in [p, end): the copy goes to out. */
static const char *
hide_elements(const char *p, const char *end, const char *tag, char *out, size_t *o)
{
	char open[32], close[32];
	size_t lo, lc;

	lo = (size_t)snprintf(open, sizeof(open), "<%s>", tag);
	lc = (size_t)snprintf(close, sizeof(close), "</%s>", tag);
	while (p < end) {
		const char *a = memmem(p, (size_t)(end - p), open, lo), *b;

		if (a == NULL || (b = memmem(a + lo, (size_t)(end - a - lo), close, lc)) == NULL)
			break;
		emit(out, o, p, (size_t)(a - p) + lo);
		emit(out, o, "[hidden]", 8);
		p = b;
	}
	emit(out, o, p, (size_t)(end - p));
	return end;
}

char *
log_redact_xml(const char *s)
{
	size_t n = strlen(s), o = 0;
	/* "[hidden]" can be longer than what it hides: at most 8 more per element. */
	char *out = xmalloc(n * 2 + 64), *pw;
	const char *p = s, *end = s + n;

	while (p < end) {
		const char *f = strstr(p, "<field"), *tag_end, *var, *fend;
		size_t vn = 0;

		if (f == NULL)
			break;
		tag_end = strchr(f, '>');
		fend = tag_end ? strstr(tag_end, "</field>") : NULL;
		if (tag_end == NULL || fend == NULL || tag_end[-1] == '/') {
			emit(out, &o, p, (size_t)(f - p) + 6);
			p = f + 6;
			continue;
		}
		var = strstr(f, "var=");
		if (var && var < tag_end && (var[4] == '"' || var[4] == '\'')) {
			const char *q = strchr(var + 5, var[4]);

			if (q && q < tag_end)
				vn = (size_t)(q - (var + 5));
		}
		emit(out, &o, p, (size_t)(tag_end + 1 - p));
		if (vn && secret_name(var + 5, vn))
			hide_elements(tag_end + 1, fend, "value", out, &o);
		else
			emit(out, &o, tag_end + 1, (size_t)(fend - tag_end - 1));
		p = fend;
	}
	emit(out, &o, p, (size_t)(end - p));
	out[o] = '\0';
	/* XEP-0077's plain <password/>, anywhere. */
	pw = xmalloc(o * 2 + 64);
	n = 0;
	hide_elements(out, out + o, "password", pw, &n);
	pw[n] = '\0';
	free(out);
	return pw;
}
