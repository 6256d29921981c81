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
struct smsgl_sending;

#define BACKOFF_MIN 2
#define BACKOFF_MAX 300
#define SEND_WAIT 60  /* seconds for the modem to acknowledge a part */
#define INFO_EVERY 60 /* seconds between signal/operator readings */
#define RECEIPT_AGE (3 * 24 * 3600)

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
	struct smsreceipt *receipts;
};

/* Loop -> worker: queue a job (owned by the queue from then on). */
void smsgl_push_job(struct smsgl *, struct smsgl_job *);
void smsgl_job_free(struct smsgl_job *);
/* The worker thread's body; arg is the struct smsgl. */
void *smsgl_worker(void *arg);

#endif
