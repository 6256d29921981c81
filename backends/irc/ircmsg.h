/*
 * IRC lines: parsing what a server sends, building what we send, and the
 * server's rules we must honour (CASEMAPPING and the other ISUPPORT tokens).
 *
 * Grammar: RFC 1459/2812 with IRCv3 message tags. Limits follow IRCv3: the
 * tag section (from '@' to the space after it) is at most 8191 bytes, the
 * rest of the line at most 512 bytes with its CR LF (or ISUPPORT LINELEN).
 *
 * No function here touches a socket or the log: the driver decides what to
 * do with a line that is refused, with the error code to say why.
 */
#ifndef SG_IRCMSG_H
#define SG_IRCMSG_H

#include <stdbool.h>
#include <stddef.h>

#define IRCMSG_MAX_PARAMS 15
#define IRCMSG_TAGS_MAX 8191        /* server tag section, '@' and space included */
#define IRCMSG_CLIENT_TAGS_MAX 4094 /* what we send, '@' and space included */
#define IRCMSG_LINELEN 512          /* body of a line, CR LF included */

enum ircmsg_err {
	IRCMSG_OK = 0,
	IRCMSG_ERR_EMPTY,           /* nothing but a line ending or spaces */
	IRCMSG_ERR_NUL,             /* a NUL byte in the line */
	IRCMSG_ERR_CRLF,            /* CR or LF inside the line (or a parameter) */
	IRCMSG_ERR_TAGS_TOO_LONG,   /* tag section over IRCMSG_TAGS_MAX */
	IRCMSG_ERR_TOO_LONG,        /* body over the line length */
	IRCMSG_ERR_TRUNCATED,       /* tags or source with no command after them */
	IRCMSG_ERR_BAD_TAG,         /* a tag with an empty or invalid key */
	IRCMSG_ERR_BAD_SOURCE,      /* ":" with no source name */
	IRCMSG_ERR_BAD_COMMAND,     /* not letters, nor a 3-digit numeric */
	IRCMSG_ERR_BAD_PARAM,       /* builder: a parameter that cannot be sent */
	IRCMSG_ERR_TOO_MANY_PARAMS, /* builder: more than IRCMSG_MAX_PARAMS */
};

/* A readable reason ("line too long"), static. */
const char *ircmsg_strerror(enum ircmsg_err);

struct ircmsg_tag {
	const char *key;   /* with its '+' client prefix and vendor, if any */
	const char *value; /* unescaped; "" when absent (IRCv3: same thing). May
	                    * contain CR/LF after unescaping: never echo it raw. */
};

/*
 * A parsed line. Every string points into one buffer owned by the message;
 * all are NUL-terminated and live until ircmsg_clear().
 */
struct ircmsg {
	struct ircmsg_tag *tags; /* in line order; a repeated key: the last wins */
	size_t ntags;
	const char *source;  /* full prefix without ':', or NULL */
	const char *nick;    /* source up to '!' or '@' (a server name too) */
	const char *user;    /* between '!' and '@', or NULL */
	const char *host;    /* after '@', or NULL */
	const char *command; /* letters upper-cased, or 3 digits */
	int numeric;         /* 0..999 for a numeric reply, -1 otherwise */
	const char *params[IRCMSG_MAX_PARAMS];
	size_t nparams;
	bool trailing; /* the last parameter came after " :" */
	char *buf_;    /* private */
};

/*
 * Parse one line of len bytes (CR LF, LF or a lone CR at the end are
 * accepted and dropped). linelen is the server's LINELEN, 0 for 512.
 * On success msg holds the result (free with ircmsg_clear()); on error msg is
 * left empty and needs no clear. A 15th parameter takes the rest of the line
 * (RFC 2812), so a line never has "too many" parameters.
 */
enum ircmsg_err ircmsg_parse(struct ircmsg *msg, const char *line, size_t len, size_t linelen);
/* Free what ircmsg_parse() allocated; msg may be reused. Safe on a zeroed msg. */
void ircmsg_clear(struct ircmsg *msg);
/* Value of the tag key (last one wins), NULL when absent. Points into msg. */
const char *ircmsg_tag(const struct ircmsg *msg, const char *key);
/* Parameter i, or NULL when the line has fewer. */
const char *ircmsg_param(const struct ircmsg *msg, size_t i);
/* Parameters from index from on, separated by one space, as IRC shows them ("" when none).
 * Caller frees. */
char *ircmsg_params_join(const struct ircmsg *msg, size_t from);

/* ---- Building lines to send ---- */

/* Replace CR and LF in the last parameter by spaces instead of refusing. */
#define IRCMSG_STRIP_CRLF 0x01
/* Always put ':' before the last parameter (texts: PRIVMSG, NOTICE, TOPIC). */
#define IRCMSG_FORCE_TRAILING 0x02

struct ircmsg_out {
	const struct ircmsg_tag *tags; /* client tags to send; may be NULL */
	size_t ntags;
	const char *command; /* letters or a 3-digit numeric */
	const char *const *params;
	size_t nparams;
	unsigned flags;
	size_t linelen; /* 0: 512 */
};

/*
 * Format a line with its CR LF. Every parameter but the last must be
 * non-empty, without space, CR, LF, and not start with ':'; the last one gets
 * a ':' when it is empty, has a space or starts with ':'. CR or LF in the
 * last parameter is refused unless IRCMSG_STRIP_CRLF; in any other parameter
 * or a tag key it is always refused, so text can never become a second
 * command. Tag values are escaped. A line over the length limit is refused
 * (split the text first: ircsplit.h). On IRCMSG_OK *out is a new string the
 * caller frees and *outlen (may be NULL) its length; on error *out is NULL.
 */
enum ircmsg_err ircmsg_format(const struct ircmsg_out *o, char **out, size_t *outlen);
/* Same, no tags, parameters as a NULL-terminated argument list, strict. */
enum ircmsg_err ircmsg_build(char **out, const char *command, ...) __attribute__((sentinel));

/* ---- Case mapping ---- */

enum ircmsg_casemap {
	IRCMSG_CASEMAP_RFC1459,        /* A-Z [ ] \ ~ fold to a-z { } | ^ */
	IRCMSG_CASEMAP_STRICT_RFC1459, /* A-Z [ ] \ fold to a-z { } | */
	IRCMSG_CASEMAP_ASCII,          /* A-Z only */
};

/*
 * "rfc1459", "strict-rfc1459", "ascii"; "rfc7613" maps to ascii (it folds
 * ASCII the same way; non-ASCII nicks then compare byte for byte).
 * Returns 0, or -1 for an unknown name (*out untouched).
 */
int ircmsg_casemap_parse(const char *name, enum ircmsg_casemap *out);
int ircmsg_tolower(enum ircmsg_casemap, int c);
/* strcmp() after folding both: 0 when equal under the mapping. */
int ircmsg_casecmp(enum ircmsg_casemap, const char *a, const char *b);
/* Fold s in place. */
void ircmsg_casefold(enum ircmsg_casemap, char *s);
/*
 * Whether the nick of a source ("nick!user@host", or just "nick") is nick
 * under the mapping.
 */
bool ircmsg_nick_eq(enum ircmsg_casemap, const char *source, const char *nick);

/* ---- ISUPPORT (numeric 005) ---- */

struct ircmsg_isupport {
	char prefix_modes[16]; /* "ov", highest first */
	char prefix_chars[16]; /* "@+", same order */
	char chantypes[16];    /* "#&" */
	char chanmodes[4][64]; /* types A (lists), B, C, D */
	char network[64];      /* NETWORK, "" when not told */
	char statusmsg[16];    /* STATUSMSG, "" when not told */
	enum ircmsg_casemap casemap;
	int nicklen; /* NICKLEN */
	int linelen; /* LINELEN, 512 unless told */
	int monitor; /* MONITOR: -1 not offered, 0 no limit, else limit */
};

/* RFC 1459 defaults: PREFIX=(ov)@+ CHANTYPES=#& CASEMAPPING=rfc1459 NICKLEN=9. */
void ircmsg_isupport_init(struct ircmsg_isupport *);
/*
 * Apply one token ("PREFIX=(qaohv)~&@%+", "-PREFIX" resets). Unknown tokens
 * are ignored. Returns 0, or -1 for a malformed value of a known token (the
 * previous value stays).
 */
int ircmsg_isupport_token(struct ircmsg_isupport *, const char *token);
/* Apply every token of a 005 reply; returns how many were malformed. */
int ircmsg_isupport_apply(struct ircmsg_isupport *, const struct ircmsg *msg);
/* Mode letter for a prefix char ('@' -> 'o'), 0 when it is none. */
char ircmsg_isupport_prefix_mode(const struct ircmsg_isupport *, char prefix);
/* Rank of a prefix char or mode letter: 0 is the highest; -1 when neither. */
int ircmsg_isupport_prefix_rank(const struct ircmsg_isupport *, char c);
/* Whether name starts with one of CHANTYPES. */
bool ircmsg_isupport_is_channel(const struct ircmsg_isupport *, const char *name);
/*
 * Type of a channel mode letter: 'A' list, 'B' always a parameter,
 * 'C' a parameter when set, 'D' never, 'P' a PREFIX mode; 0 when unknown.
 */
char ircmsg_isupport_mode_type(const struct ircmsg_isupport *, char mode);

#endif
