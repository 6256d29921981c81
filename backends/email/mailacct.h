/*
 * One registered user's mail account, and what the files of this backend
 * share. emaildrv.c is the driver (options, registration, commands,
 * sending); mailimap.c watches and fetches the INBOX.
 *
 * Stored per user (scope "", the registration form's fields): email, imap,
 * smtp, username, name, password (secret); settings signature, quotes
 * (trim|keep), seen (yes|no), paused (yes|no). Scope "imap": uidvalidity,
 * last_uid, the mailbox state delivery resumes from. Scope "sent": one key
 * per Message-ID the gateway sent, "address\x1fxmpp id", so a bounce finds
 * its conversation.
 */
#ifndef SG_MAILACCT_H
#define SG_MAILACCT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <curl/curl.h>

#include "driver.h"

struct mcurl;
struct event;

enum acct_imap_state {
	IMAP_OFF,     /* paused, or not started */
	IMAP_QUEUED,  /* waits for one of the CONNECTING_MAX connection slots */
	IMAP_CONNECT, /* curl opens the connection (TLS, login) */
	IMAP_BUSY,    /* a command of the check cycle runs (SELECT, FETCH, STORE) */
	IMAP_IDLE,    /* IDLE runs: the server pushes new mail */
	IMAP_POLL,    /* no IDLE on this server: checked every poll_interval */
	IMAP_WAIT,    /* connection lost or refused: retried with backoff */
};

struct acct {
	struct gw_net *net;
	char *user;
	/* From the registration (reloaded on re-registration). */
	char *email, *name, *imap, *smtp, *login, *password;

	enum acct_imap_state state;
	bool logged_in;   /* contacts show available; unchanged while connecting */
	char *last_error; /* what the last failure said, for `status` */
	time_t connected_at, last_check;
	int backoff; /* seconds before the next reconnection */

	/* The one IMAP connection: curl logged in (CONNECT_ONLY); we speak IMAP on it. */
	CURL *easy;
	struct event *rd_ev, *timer;
	char *in; /* bytes received, not yet a whole response; NULL when none */
	size_t in_len, in_cap;
	unsigned tag;    /* number of the last tag sent */
	int step;        /* mailimap.c's command in flight */
	bool slot;       /* holds one of the CONNECTING_MAX slots (mailimap.c) */
	bool want_check; /* new mail announced (or "check now") while busy */
	long replay;     /* "fetch N": how many recent mails to deliver again */

	struct cycle *cycle; /* mailimap.c's state of the check cycle */
	int64_t uidvalidity, uidnext, last_uid;
	unsigned long delivered, bounces;
};

struct verify;
struct outgoing;

struct email_net {
	struct mcurl *mc;
	struct acct **accts;
	size_t naccts;
	unsigned connecting; /* accounts holding a connection slot (mailimap.c) */
	bool stopping;       /* email_stop: queued accounts are not started any more */
	unsigned long sent, refused;
	struct verify *discovering; /* registrations whose servers are looked up in DNS */
	struct outgoing *outgoing;  /* mails being submitted, or copied to Sent (emaildrv.c) */
};

struct email_net *email_priv(struct gw_net *);
struct acct *acct_find(struct gw_net *, const char *user);
/* Common curl options: TLS required and verified, the section's ca_file, timeouts. */
void mail_curl_common(struct gw_net *, CURL *, const char *login, const char *password);
/* A new easy handle for url with those options (never NULL). */
CURL *mail_easy_new(struct gw_net *, const char *url, const char *login, const char *password);

/* mailimap.c */
void acct_imap_start(struct acct *); /* connects, checks, then idles or polls */
void acct_imap_stop(struct acct *);  /* closes the connection, stops the timers */
void acct_imap_free(struct acct *);  /* stop, and free what mailimap.c holds */
/* Look for new mail now (the `check` command). */
void acct_imap_check(struct acct *);
/* Deliver the last n mails of the INBOX again (n <= 50). */
void acct_imap_replay(struct acct *, long n);
const char *acct_imap_state_name(enum acct_imap_state);

#endif
