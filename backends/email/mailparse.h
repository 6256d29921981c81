/*
 * Incoming mail: one raw RFC 5322 message (as IMAP FETCH BODY.PEEK[] gives
 * it) parsed with GMime into what the XMPP user is shown. Everything here
 * is untrusted input: depth, part count, header size and decoded size are
 * bounded, bad charsets are replaced, and nothing is ever fatal.
 */
#ifndef SG_MAILPARSE_H
#define SG_MAILPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define MAIL_MAX_DEPTH 16   /* nested multiparts / message/rfc822 */
#define MAIL_MAX_PARTS 256  /* MIME parts looked at */
#define MAIL_MAX_TEXT 65536 /* bytes of text kept for the chat message */

struct mail_attachment {
	char *filename;     /* UTF-8, never NULL ("attachment" when unnamed) */
	char *content_type; /* "application/pdf" */
	size_t size;        /* decoded size in bytes (bounded by max_size) */
	char *data;         /* the decoded bytes (size of them), with keep_attachments; else NULL */
};

struct mail_in {
	char *from_addr;   /* "bob@example.net" (domain lower-cased), NULL if none */
	char *from_name;   /* display name, UTF-8, or NULL */
	char *subject;     /* UTF-8, decoded (RFC 2047), or NULL */
	char *message_id;  /* without <>, or NULL */
	char *in_reply_to; /* without <>, or NULL */
	char *thread;      /* thread root: first References id, else In-Reply-To, else message_id */
	time_t date;       /* from Date:, 0 if absent or unreadable */
	char *text;        /* readable UTF-8 text, never NULL, at most MAIL_MAX_TEXT bytes */
	struct mail_attachment *att;
	size_t natt;
	bool truncated; /* text or parts were cut by a bound */
	/* A delivery status notification (multipart/report; report-type=delivery-status). */
	bool is_bounce;
	char *bounce_of;     /* Message-ID (without <>) of the mail that bounced, or NULL */
	char *bounce_reason; /* readable: "5.1.1 <x@y>: user unknown", never NULL when is_bounce */
};

struct mail_parse_opts {
	size_t max_size;  /* mail bigger than this: headers only, text says so (0 = no bound) */
	bool trim_quotes; /* drop quoted replies ("> ...", "On ... wrote:") */
	bool keep_attachments; /* attachments' bytes kept, max_size of them in all */
};

/*
 * Parses raw (len bytes, need not be NUL-terminated) into *out, which the
 * caller frees with mail_in_free(). Returns 0; -1 only when raw is no mail
 * at all (then *why, caller frees, says why and *out is empty).
 * g_mime_init() must have been called.
 */
int mail_parse(const char *raw, size_t len, const struct mail_parse_opts *, struct mail_in *out,
               char **why);
void mail_in_free(struct mail_in *);

/* HTML to readable text (paragraphs, line breaks, links as "text <url>"). Caller frees. */
char *mail_html_to_text(const char *html, size_t len);
/* The text without quoted replies and their "On ... wrote:" line. Caller frees. */
char *mail_trim_quotes(const char *text);

#endif
