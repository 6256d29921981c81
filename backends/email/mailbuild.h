/*
 * Outgoing mail: a chat message turned into a MIME message by GMime
 * (UTF-8, quoted-printable or base64 as needed). Every header value comes
 * from XMPP text: CR and LF never reach a header (they are folded to
 * spaces before GMime sees them).
 */
#ifndef SG_MAILBUILD_H
#define SG_MAILBUILD_H

#include <stddef.h>
#include <time.h>

struct mail_out {
	const char *from_addr; /* the user's address */
	const char *from_name; /* display name, or NULL */
	const char *to_addr;   /* the contact's address */
	const char *subject;   /* NULL or empty: the body's first line, cut at 78 characters */
	const char *body;      /* UTF-8 text */
	const char *signature; /* appended after "-- \n", or NULL */
	const char *thread;    /* the XMPP <thread>: a Message-ID (no <>) this continues, or NULL */
	const char *in_reply_to; /* Message-ID (no <>) being answered, or NULL (then thread) */
	const char *domain;      /* right-hand side of the generated Message-ID */
	time_t date;             /* 0: now */
};

/*
 * Builds the message. Returns its bytes (CRLF line ends, NUL-terminated;
 * *len without the NUL) and *message_id (without <>); the caller frees
 * both. NULL when an address is unusable (*message_id untouched).
 * g_mime_init() must have been called.
 */
char *mail_build(const struct mail_out *, size_t *len, char **message_id);

#endif
