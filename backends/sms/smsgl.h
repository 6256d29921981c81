/*
 * The gammu line's two halves (smsgl.c on the loop, smsglw.c in the
 * worker thread) and what they share; see smsgl.c.
 */
#ifndef SG_SMSGL_H
#define SG_SMSGL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <gammu.h>

#include "driver.h"
#include "smsline.h"

struct event;

/* A message handed to the worker, then awaiting its status reports (loop side). */
struct smsgl_sending {
	struct smsgl_sending *next;
	uint64_t qid;
	char *user, *to, *xmpp_id;
	bool receipt;
	int *refs;
	size_t nrefs;
	char *states; /* awaiting reports: 'p' (pending) or 'd' (delivered) per part */
	time_t sent;  /* all parts out, awaiting reports; 0 while sending */
};

#define BACKOFF_MIN 2
#define BACKOFF_MAX 300
#define SEND_WAIT 60  /* seconds for the modem to acknowledge a part */
#define INFO_EVERY 60 /* seconds between signal/operator readings */

enum job_kind { JOB_SEND, JOB_DELETE };

struct smsgl_job {
	struct smsgl_job *next;
	enum job_kind kind;
	uint64_t qid;
	GSM_MultiSMSMessage *sms; /* SEND */
	int skip;                 /* SEND: parts acknowledged before */
	int folder, location;     /* DELETE */
};

enum note_kind { N_STATE, N_LOG, N_PART, N_SENT, N_UNSENT, N_INCOMING, N_REPORT, N_INFO };

struct smsgl_note {
	struct smsgl_note *next;
	enum note_kind kind;
	enum smsl_state state;  /* STATE */
	enum gw_send_status st; /* UNSENT: RETRY or FAILED */
	char *text;             /* STATE/UNSENT why, LOG line, INFO operator */
	uint64_t qid;           /* PART, SENT, UNSENT */
	int ref;                /* PART */
	int signal;             /* INFO */
	GSM_SMSMessage *sms;    /* INCOMING, REPORT */
};

struct smsgl_held {
	int folder, location;
};

struct smsgl {
	struct smsl_line *line;
	char *name; /* the worker's copy of the line's name, for its logs */
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct smsgl_job *jobs, **jobs_tail;
	struct smsgl_note *notes, **notes_tail;
	atomic_bool stopping;
	atomic_llong busy_since; /* when the worker entered a gammu call; 0: not in one */
	int efd;
	struct event *ev;

	/* worker only */
	GSM_StateMachine *sm;
	INI_Section *ini;
	char *gammurc, *device, *connection, *model, *debug_log;
	int poll_s;
	int send_status, send_ref;
	struct smsgl_held *held;
	size_t nheld;
	struct smsgl_job *current; /* the job in hand */

	/* loop only */
	struct event *watchdog;
	GSM_StateMachine **abandoned; /* of cancelled workers: freed at stop, never used */
	size_t nabandoned;
	long modem_timeout;
	struct smsgl_sending *sending;
	/* Status reports read while the XMPP link is down: a receipt would be lost. */
	struct smsgl_note *deferred, **deferred_tail;
	struct smsreceipt *receipts;
	long receipt_age; /* seconds a status report is awaited */
};

/* Loop -> worker: queue a job (owned by the queue from then on). */
void smsgl_push_job(struct smsgl *, struct smsgl_job *);
void smsgl_job_free(struct smsgl_job *);
/* The worker thread's body; arg is the struct smsgl. */
void *smsgl_worker(void *arg);

/*
 * Status reports awaited across restarts (smsglrc.c): what the aggregation
 * needs is kept in the store (settings of the gateway's own JID, scope
 * "line:NAME", key "receipt:QID") from the moment every part is out until
 * the outcome is told or receipt_age has passed.
 */
/* Every part of s is out: track it, and store it when a receipt is wanted (0, or -1). */
int smsgl_await(struct smsgl *, struct smsgl_sending *);
/* A report changed part `part` of s (still undecided): store the new state. */
void smsgl_await_part(struct smsgl *, struct smsgl_sending *, size_t part);
/* s is decided or given up: forget it in the store. */
void smsgl_await_done(struct smsgl *, struct smsgl_sending *);
/* At start: track again what was awaited; forget what is older than receipt_age. */
void smsgl_await_load(struct smsgl *);
/* Forget what was awaited longer than receipt_age (loop side list and store). */
void smsgl_await_expire(struct smsgl *, time_t now);
/* Frees s (not unlinked from g->sending). */
void smsgl_sending_free(struct smsgl_sending *);

#endif
