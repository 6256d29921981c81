/*
 * Email addresses as contacts: what a person typed ("Bob <bob@Example.NET>",
 * "mailto:bob@example.net", "bob%example.net") to the canonical address
 * "bob@example.net" (domain lower-cased, local part kept as typed).
 */
#ifndef SG_MAILADDR_H
#define SG_MAILADDR_H

/*
 * Returns 0 with *out (caller frees), or -1 with *why (caller frees): a
 * readable reason (no '@', empty part, characters an address cannot hold,
 * longer than 254 bytes).
 */
int mail_addr_normalize(const char *typed, char **out, char **why);

#endif
