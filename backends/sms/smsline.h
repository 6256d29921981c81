/*
 * A line: one modem (one phone number) of the SMS gateway, and the seam
 * between the driver (smsdrv.c: routing, users, commands) and the two ways
 * a line reaches its modem:
 *
 *   smsd.c    a running gammu-smsd owns the modem; we write its outbox and
 *             read its inbox and sent items (SQLite or PostgreSQL,
 *             smsdb.h), on the loop;
 *   smsgl.c   libgammu in a worker thread of ours.
 *
 * Everything here runs on the loop; smsgl.c keeps its thread behind its
 * own queue.
 */
#ifndef SG_SMSLINE_H
#define SG_SMSLINE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "driver.h"
#include "smsparts.h"
#include "smsreceipt.h"
#include "smstext.h"

enum smsl_state {
	SMSL_STARTING, /* connecting to the modem or the database */
	SMSL_UP,       /* sending and receiving */
	SMSL_DOWN,     /* unreachable: sends wait in the core's queue */
};

struct smsl_line;

struct smsl_ops {
	const char *name; /* "gammu", "smsd" */
	/* Open what the line needs; -1 with *why (caller frees) is fatal at start-up. */
	int (*start)(struct smsl_line *, char **why);
	void (*stop)(struct smsl_line *);
	/*
	 * Hand a text, already planned as `plan`, to the modem. Same contract as
	 * the driver's send: DONE, PENDING (gw_send_done later), RETRY, FAILED.
	 */
	enum gw_send_status (*send)(struct smsl_line *, const struct gw_outmsg *,
	                            const struct smstext_plan *, char **why);
	/* The parts with these tokens are safe in the core's store: delete them. */
	void (*release)(struct smsl_line *, const uint64_t *tokens, size_t n);
	/*
	 * Optional: the store could not keep the message of these parts (its
	 * database is down): hand them over again at a later poll. NULL: they
	 * wait on the line until the next start.
	 */
	void (*again)(struct smsl_line *, const uint64_t *tokens, size_t n);
};

struct smsl_line {
	struct gw_net *net;
	const struct gw_section *sec; /* valid during start() only: a reload frees it */
	char **conf_users;            /* `users` of the line's section, as last loaded */
	char *name;                   /* "office" */
	char *number;                 /* "+15550001111", may be NULL */
	const struct smsl_ops *ops;
	void *impl;

	enum smsl_state state;
	char *state_why;     /* why it is down, or NULL */
	int signal;          /* percent; -1 unknown */
	char *operator_name; /* network name; NULL unknown */

	unsigned long sent, delivered, failed, received, queued_retry;
	time_t rate_window; /* start of the current hour of the per-line limit */
	unsigned long rate_parts;
};

extern const struct smsl_ops smsd_ops;
extern const struct smsl_ops smsgl_ops;

/* The lines in config order (smsdrv.c); *n gets the count. */
struct smsl_line *const *smsl_lines(struct gw_net *, size_t *n);
struct smsl_line *smsl_line_find(struct gw_net *, const char *name);
const char *smsl_state_name(enum smsl_state);

/* Ownership (smscmd.c). Vectors are NULL-terminated; the caller frees them. */
char **smsl_line_users(struct smsl_line *); /* free with smsl_strv_free() */
void smsl_strv_free(char **);
/* The user's lines in config order (free the array only); *n gets the count. */
struct smsl_line **smsl_user_lines(struct gw_net *, const char *user, size_t *n);
/* The line the user texts `to` from: the chosen one, else the first; NULL: none. */
struct smsl_line *smsl_line_for(struct gw_net *, const char *user, const char *to);
extern const struct gw_command smsl_commands[];

/* The configured default country ("+1"). */
const char *smsl_country(struct gw_net *);
/* Change a line's state: logged, and shown to its users as the gateway's presence. */
void smsl_set_state(struct smsl_line *, enum smsl_state, const char *why);
/*
 * A received part (copied). Reassembled messages go to every user of the
 * line; parts are released (ops->release) once the message is stored.
 */
void smsl_part(struct smsl_line *, const struct smsparts_in *, bool flash);
/*
 * A whole message (already joined, e.g. by gammu-smsd) to every user of the
 * line; its parts (tokens) are released once it is stored. 0, or -1 when it
 * could not be stored (or the line has no user): the parts stay.
 */
int smsl_message(struct smsl_line *, const char *sender, const char *text, time_t stamp,
                 const uint64_t *tokens, size_t ntokens);
/*
 * What became of a sent message: DELIVERED sends the receipt the user
 * asked for (want_receipt), FAILED an error with why.
 */
void smsl_outcome(struct smsl_line *, const char *user, const char *to, const char *xmpp_id,
                  bool want_receipt, enum smsreceipt_state, const char *why);

/* Hex helpers for the smsd tables. Returns the bytes decoded, or -1. */
int smsl_unhex(const char *hex, unsigned char *out, size_t max);

#endif
