/*
 * JIDs: splitting, and XEP-0106 escaping of localparts.
 *
 * Addresses of foreign networks become JID localparts through jid_escape()
 * ("alice@example.com" -> "alice\40example.com"); a JID's localpart becomes
 * an address again through jid_unescape(). All returned strings are owned by
 * the caller.
 */
#ifndef SG_JID_H
#define SG_JID_H

#include <stdbool.h>
#include <stddef.h>

struct jid {
	char *local; /* NULL when absent */
	char *domain;
	char *resource; /* NULL when absent */
};

/* Splits s into j (fields caller-owned; free with jid_clear). 0, or -1 when s is not a JID. */
int jid_parse(const char *s, struct jid *j);
void jid_clear(struct jid *j);
/* "local@domain" or "domain"; the domain is lower-cased. Caller frees; NULL if malformed. */
char *jid_bare(const char *s);
/* Builds local@domain/resource; local and resource may be NULL. Caller frees. */
char *jid_make(const char *local, const char *domain, const char *resource);

/* XEP-0106: escapes the characters a localpart cannot hold. Caller frees. */
char *jid_escape(const char *address);
/*
 * XEP-0106 reverse. Only the escapes XEP-0106 defines are decoded (\20 \22
 * \26 \27 \2f \3a \3c \3e \40 \5c); any other backslash stays as is.
 * Caller frees.
 */
char *jid_unescape(const char *local);

/* A syntactically acceptable JID localpart / domain (length, forbidden characters, UTF-8). */
bool jid_local_valid(const char *local);
bool jid_domain_valid(const char *domain);
/* A usable resource (or MUC nick): non-empty UTF-8 without control characters. */
bool jid_resource_valid(const char *resource);

#endif
