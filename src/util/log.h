/*
 * Logging, in the OpenSMTPD/tmux manner: one place that knows whether we
 * log to stderr or syslog, and how verbose we are.
 *
 * log_warn() appends strerror(errno); log_warnx() does not. fatal() and
 * fatalx() log and exit(1). Text that came from a foreign network must go
 * through log_escape() before it is logged.
 */
#ifndef SG_LOG_H
#define SG_LOG_H

#include <stdarg.h>
#include <stddef.h>

#define SG_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* to_stderr: 1 logs to stderr (foreground), 0 to syslog. */
void log_init(int to_stderr, int verbosity, const char *ident);
void log_set_verbosity(int verbosity);
int log_get_verbosity(void);

void log_warn(const char *, ...) SG_PRINTF(1, 2);
void log_warnx(const char *, ...) SG_PRINTF(1, 2);
void log_info(const char *, ...) SG_PRINTF(1, 2);
void log_debug(const char *, ...) SG_PRINTF(1, 2);
/* Verbosity 2 and more (-vv): protocol traces. */
void log_trace(const char *, ...) SG_PRINTF(1, 2);
void fatal(const char *, ...) SG_PRINTF(1, 2) __attribute__((noreturn));
void fatalx(const char *, ...) SG_PRINTF(1, 2) __attribute__((noreturn));
void log_vmsg(int level, const char *fmt, va_list ap) SG_PRINTF(2, 0);
void log_vmsg_fixed(int level, const char *fmt, ...) SG_PRINTF(2, 3);

/*
 * Escape untrusted text for a log line into buf (always NUL-terminated):
 * control characters (C0, DEL, C1) and bytes that are not UTF-8 become
 * \xNN, a backslash is doubled; the result is cut at len-1 without
 * splitting an escape or a character. Returns buf.
 */
char *log_escape(char *buf, size_t len, const char *s);
/*
 * A copy of a protocol trace (XML) with secrets hidden: the values of
 * data-form fields whose name says password, secret or key, and the text
 * of <password/> elements, become "[hidden]". Caller frees.
 */
char *log_redact_xml(const char *s);

#endif
