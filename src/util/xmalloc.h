/*
 * Allocation helpers: they never return NULL; running out of memory is
 * fatal (STYLE.md). Everything they return is owned by the caller and freed
 * with free().
 */
#ifndef SG_XMALLOC_H
#define SG_XMALLOC_H

#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include "log.h"

void *xmalloc(size_t);
void *xcalloc(size_t, size_t);
void *xreallocarray(void *, size_t, size_t);
char *xstrdup(const char *);
/* xstrdup(), but NULL stays NULL. */
char *xstrdup_or_null(const char *);
char *xstrndup(const char *, size_t);
char *xasprintf(const char *, ...) SG_PRINTF(1, 2);
/* The same with a va_list (which it consumes). */
char *xvasprintf(const char *, va_list) SG_PRINTF(1, 0);
/*
 * The strings up to the NULL, joined: xconcat(user, "/", resource, NULL).
 * For hot paths, where xasprintf's format parsing is most of the cost.
 */
char *xconcat(const char *, ...) __attribute__((sentinel));
/* A growing string: {NULL, 0, 0} is empty; p is NUL-terminated once used. */
struct strbuf {
	char *p;
	size_t len, cap;
};
void strbuf_add(struct strbuf *, const char *s, size_t n);
/* Frees *p and sets it to a copy of s (or NULL). */
void xstrset(char **p, const char *s);

#endif
