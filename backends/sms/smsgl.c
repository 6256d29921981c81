/*
 * A line driven by libgammu in a worker thread of ours (SPEC 9: gammu's
 * calls block on the serial line, seconds at a time).
 *
 * The worker owns the GSM_StateMachine and nothing else: it connects (with
 * backoff), sends, polls the phone's memory, deletes. The loop owns every
 * decision. They talk through two queues under one mutex: jobs (loop ->
 * worker, a condition variable wakes the worker) and notes (worker -> loop,
 * an eventfd wakes the loop).
 *
 * Reliability: each part's message reference is recorded in the store (a
 * setting of the sender, scope "line:NAME", key "sent:QID") as soon as the
 * modem acknowledges it, and the queue entry stays PENDING until every part
 * is out; a message retried after a restart skips the parts already
 * acknowledged. An SMS leaves the phone's memory only once the message it
 * belongs to is in the core's store.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>
#include <gammu.h>

#include "driver.h"
#include "smsgammu.h"
#include "smsline.h"

#define BACKOFF_MIN 2
#define BACKOFF_MAX 300
#define SEND_WAIT 60     /* seconds for the modem to acknowledge a part */
#define INFO_EVERY 60    /* seconds between signal/operator readings */
#define RECEIPT_AGE (3 * 24 * 3600)

enum job_kind { JOB_SEND, JOB_DELETE };

struct job {
	struct job *next;
	enum job_kind kind;
	uint64_t qid;
	GSM_MultiSMSMessage *sms; /* SEND */
	int skip;                 /* SEND: parts acknowledged before */
	int folder, location;     /* DELETE */
};

enum note_kind { N_STATE, N_LOG, N_PART, N_SENT, N_UNSENT, N_INCOMING, N_REPORT, N_INFO };

struct note {
	struct note *next;
	enum note_kind kind;
	enum smsl_state state;   /* STATE */
	enum gw_send_status st;  /* UNSENT: RETRY or FAILED */
	char *text;              /* STATE/UNSENT why, LOG line, INFO operator */
	uint64_t qid;            /* PART, SENT, UNSENT */
	int ref;                 /* PART */
	int signal;              /* INFO */
	GSM_SMSMessage *sms;     /* INCOMING, REPORT */
};

/* A message handed to the worker (loop side). */
struct sending {
	struct sending *next;
	uint64_t qid;
	char *user, *to, *xmpp_id;
	bool receipt;
	int *refs;
	size_t nrefs;
	time_t sent; /* all parts out, awaiting reports; 0 while sending */
};

struct held {
	int folder, location;
};

struct smsgl {
	struct smsl_line *line;
	char *name; /* the worker's copy of the line's name, for its logs */
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *jobs, **jobs_tail;
	struct note *notes, **notes_tail;
	atomic_bool stopping;
	int efd;
	struct event *ev;

	/* worker only */
	GSM_StateMachine *sm;
	INI_Section *ini;
	char *gammurc, *device, *connection, *model, *debug_log;
	int poll_s;
	int send_status, send_ref;
	struct held *held;
	size_t nheld;

	/* loop only */
	struct sending *sending;
	struct smsreceipt *receipts;
};

static struct smsgl *
impl(struct smsl_line *l)
{
	return l->impl;
}

/* ---- the queues ---- */

static void
post(struct smsgl *g, struct note *n)
{
	uint64_t one = 1;

	pthread_mutex_lock(&g->mu);
	*g->notes_tail = n;
	g->notes_tail = &n->next;
	pthread_mutex_unlock(&g->mu);
	if (write(g->efd, &one, sizeof(one)) == -1 && errno != EAGAIN)
		abort();
}

static struct note *
note_new(enum note_kind kind)
{
	struct note *n = xcalloc(1, sizeof(*n));

	n->kind = kind;
	return n;
}

static void post_log(struct smsgl *, const char *, ...) SG_PRINTF(2, 3);

static void
post_log(struct smsgl *g, const char *fmt, ...)
{
	struct note *n = note_new(N_LOG);
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&n->text, fmt, ap) == -1)
		abort();
	va_end(ap);
	post(g, n);
}

static void
post_state(struct smsgl *g, enum smsl_state st, const char *why)
{
	struct note *n = note_new(N_STATE);

	n->state = st;
	n->text = xstrdup_or_null(why);
	post(g, n);
}

static void
push_job(struct smsgl *g, struct job *j)
{
	pthread_mutex_lock(&g->mu);
	*g->jobs_tail = j;
	g->jobs_tail = &j->next;
	pthread_cond_signal(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

static void
job_free(struct job *j)
{
	free(j->sms);
	free(j);
}

/* ---- worker ---- */

static void
sent_cb(GSM_StateMachine *sm, int status, int ref, void *data)
{
	struct smsgl *g = data;

	(void)sm;
	g->send_status = status;
	g->send_ref = ref;
}

static GSM_Error
connect_phone(struct smsgl *g)
{
	GSM_Config *cfg;
	GSM_Error err;

	g->sm = GSM_AllocStateMachine();
	if (g->sm == NULL)
		return ERR_MOREMEMORY;
	cfg = GSM_GetConfig(g->sm, 0);
	if (g->gammurc) {
		if (g->ini == NULL && (err = GSM_FindGammuRC(&g->ini, g->gammurc)) != ERR_NONE)
			return err;
		if ((err = GSM_ReadConfig(g->ini, cfg, 0)) != ERR_NONE)
			return err;
	} else {
		/* No file: gammu's defaults, then ours. */
		if ((err = GSM_ReadConfig(NULL, cfg, 0)) != ERR_NONE && err != ERR_USING_DEFAULTS)
			return err;
		free(cfg->Device);
		cfg->Device = strdup(g->device);
		free(cfg->Connection);
		cfg->Connection = strdup(g->connection);
		snprintf(cfg->Model, sizeof(cfg->Model), "%s", g->model ? g->model : "");
	}
	if (g->debug_log) {
		free(cfg->DebugFile);
		cfg->DebugFile = strdup(g->debug_log);
		snprintf(cfg->DebugLevel, sizeof(cfg->DebugLevel), "textall");
		cfg->UseGlobalDebugFile = FALSE;
	}
	GSM_SetConfigNum(g->sm, 1);
	if ((err = GSM_InitConnection(g->sm, 1)) != ERR_NONE)
		return err;
	/* After the connection: initialising it clears the callbacks. */
	GSM_SetSendSMSStatusCallback(g->sm, sent_cb, g);
	return ERR_NONE;
}

static void
disconnect_phone(struct smsgl *g)
{
	if (g->sm == NULL)
		return;
	if (GSM_IsConnected(g->sm))
		GSM_TerminateConnection(g->sm);
	GSM_FreeStateMachine(g->sm);
	g->sm = NULL;
	g->nheld = 0;
}

static bool
is_held(struct smsgl *g, int folder, int location)
{
	for (size_t i = 0; i < g->nheld; i++)
		if (g->held[i].folder == folder && g->held[i].location == location)
			return true;
	return false;
}

static void
unhold(struct smsgl *g, int folder, int location)
{
	for (size_t i = 0; i < g->nheld; i++)
		if (g->held[i].folder == folder && g->held[i].location == location) {
			g->held[i] = g->held[--g->nheld];
			return;
		}
}

/* Errors after which the modem is gone: reconnect. */
static bool
link_lost(GSM_Error err)
{
	switch (err) {
	case ERR_DEVICENOTEXIST:
	case ERR_DEVICEOPENERROR:
	case ERR_DEVICEREADERROR:
	case ERR_DEVICEWRITEERROR:
	case ERR_DEVICELOCKED:
	case ERR_NOTCONNECTED:
	case ERR_TIMEOUT:
		return true;
	default:
		return false;
	}
}

/* Returns false when the link was lost. */
static bool
do_send(struct smsgl *g, struct job *j)
{
	GSM_SMSC smsc;
	GSM_Error err = ERR_NONE;
	struct note *n;

	memset(&smsc, 0, sizeof(smsc));
	smsc.Location = 1;
	if (GSM_GetSMSC(g->sm, &smsc) != ERR_NONE)
		memset(&smsc, 0, sizeof(smsc));
	for (int i = j->skip; i < j->sms->Number; i++) {
		GSM_SMSMessage *p = &j->sms->SMS[i];
		time_t until = time(NULL) + SEND_WAIT;

		CopyUnicodeString(p->SMSC.Number, smsc.Number);
		p->SMSC.Location = 0;
		g->send_status = -1;
		if ((err = GSM_SendSMS(g->sm, p)) != ERR_NONE)
			goto unsent;
		while (g->send_status == -1 && time(NULL) < until && !g->stopping)
			GSM_ReadDevice(g->sm, TRUE);
		if (g->send_status != 0) {
			err = g->send_status == -1 ? ERR_TIMEOUT : ERR_UNKNOWN;
			goto unsent;
		}
		n = note_new(N_PART);
		n->qid = j->qid;
		n->ref = g->send_ref;
		post(g, n);
	}
	n = note_new(N_SENT);
	n->qid = j->qid;
	post(g, n);
	return true;
unsent:
	n = note_new(N_UNSENT);
	n->qid = j->qid;
	n->st = err == ERR_INVALIDDATA || err == ERR_NOTSUPPORTED ? GW_SEND_FAILED : GW_SEND_RETRY;
	n->text = err == ERR_UNKNOWN ? xasprintf("the network refused the SMS (status %d)",
	                                         g->send_status)
	                             : xasprintf("the modem: %s", GSM_ErrorString(err));
	post(g, n);
	return !link_lost(err);
}

static bool
do_delete(struct smsgl *g, struct job *j)
{
	GSM_SMSMessage s;
	GSM_Error err;

	memset(&s, 0, sizeof(s));
	s.Folder = j->folder;
	s.Location = j->location;
	err = GSM_DeleteSMS(g->sm, &s);
	if (err != ERR_NONE && err != ERR_EMPTY)
		post_log(g, "sms: line %s: deleting SMS %d/%d: %s", g->name, j->folder, j->location,
		         GSM_ErrorString(err));
	else
		unhold(g, j->folder, j->location);
	return !link_lost(err);
}

/* Incoming SMS and status reports in the phone's memory. */
static bool
read_phone(struct smsgl *g)
{
	GSM_MultiSMSMessage sms;
	gboolean start = TRUE;
	GSM_Error err;

	memset(&sms, 0, sizeof(sms));
	while (!g->stopping) {
		sms.Number = 0;
		err = GSM_GetNextSMS(g->sm, &sms, start);
		start = FALSE;
		if (err == ERR_EMPTY)
			return true;
		if (err != ERR_NONE) {
			if (err != ERR_NOTSUPPORTED && err != ERR_NOTIMPLEMENTED)
				post_log(g, "sms: line %s: reading SMS: %s", g->name,
				         GSM_ErrorString(err));
			return !link_lost(err);
		}
		for (int i = 0; i < sms.Number; i++) {
			GSM_SMSMessage *p = &sms.SMS[i];
			struct note *n;

			if (is_held(g, p->Folder, p->Location))
				continue;
			if (p->PDU == SMS_Status_Report) {
				n = note_new(N_REPORT);
			} else if (p->PDU == SMS_Deliver) {
				n = note_new(N_INCOMING);
				g->held = xreallocarray(g->held, g->nheld + 1, sizeof(*g->held));
				g->held[g->nheld].folder = p->Folder;
				g->held[g->nheld++].location = p->Location;
			} else {
				continue; /* drafts and sent copies are not ours */
			}
			n->sms = xmalloc(sizeof(*p));
			memcpy(n->sms, p, sizeof(*p));
			post(g, n);
			if (p->PDU == SMS_Status_Report) {
				/* Reports are read once: the loop keeps what matters. */
				GSM_DeleteSMS(g->sm, p);
			}
		}
	}
	return true;
}

static void
read_info(struct smsgl *g)
{
	GSM_SignalQuality sig;
	GSM_NetworkInfo net;
	struct note *n = note_new(N_INFO);

	n->signal = -1;
	if (GSM_GetSignalQuality(g->sm, &sig) == ERR_NONE)
		n->signal = sig.SignalPercent;
	memset(&net, 0, sizeof(net));
	if (GSM_GetNetworkInfo(g->sm, &net) == ERR_NONE) {
		size_t nu = smstext_ucs2be_len(net.NetworkName);

		n->text = nu ? smstext_from_ucs2be(net.NetworkName, nu) : xstrdup(net.NetworkCode);
	}
	post(g, n);
}

/* Give back every waiting send (the core retries them later); forget the deletions. */
static void
drop_sends(struct smsgl *g, const char *why)
{
	struct job *j;

	pthread_mutex_lock(&g->mu);
	j = g->jobs;
	g->jobs = NULL;
	g->jobs_tail = &g->jobs;
	pthread_mutex_unlock(&g->mu);
	while (j) {
		struct job *next = j->next;

		if (j->kind == JOB_SEND) {
			struct note *n = note_new(N_UNSENT);

			n->qid = j->qid;
			n->st = GW_SEND_RETRY;
			n->text = xstrdup(why);
			post(g, n);
			job_free(j);
		} else {
			job_free(j); /* what is not deleted is read again */
		}
		j = next;
	}
}

/* Sleep up to `seconds`, or until a job comes or the line stops. */
static void
nap(struct smsgl *g, int seconds)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += seconds;
	pthread_mutex_lock(&g->mu);
	while (!g->stopping && g->jobs == NULL)
		if (pthread_cond_timedwait(&g->cv, &g->mu, &ts) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&g->mu);
}

static void *
worker(void *arg)
{
	struct smsgl *g = arg;
	int backoff = BACKOFF_MIN;
	time_t next_poll = 0, next_info = 0;

	while (!g->stopping) {
		GSM_Error err;
		struct job *j;
		bool ok = true;

		if (g->sm == NULL) {
			if ((err = connect_phone(g)) != ERR_NONE) {
				char *why = xasprintf("cannot reach the modem: %s (next try in %d s)",
				                      GSM_ErrorString(err), backoff);

				post_state(g, SMSL_DOWN, why);
				free(why);
				disconnect_phone(g);
				drop_sends(g, "the modem is unreachable");
				nap(g, backoff);
				backoff = backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : backoff * 2;
				continue;
			}
			backoff = BACKOFF_MIN;
			next_poll = next_info = 0;
			post_state(g, SMSL_UP, NULL);
		}
		pthread_mutex_lock(&g->mu);
		j = g->jobs;
		if (j) {
			g->jobs = j->next;
			if (g->jobs == NULL)
				g->jobs_tail = &g->jobs;
		}
		pthread_mutex_unlock(&g->mu);
		if (j) {
			ok = j->kind == JOB_SEND ? do_send(g, j) : do_delete(g, j);
			job_free(j);
		} else if (time(NULL) >= next_poll) {
			ok = read_phone(g);
			next_poll = time(NULL) + g->poll_s;
			if (ok && time(NULL) >= next_info) {
				read_info(g);
				next_info = time(NULL) + INFO_EVERY;
			}
		} else {
			nap(g, (int)(next_poll - time(NULL)));
		}
		if (!ok) {
			post_state(g, SMSL_DOWN, "the modem went away");
			disconnect_phone(g);
			drop_sends(g, "the modem went away");
		}
	}
	disconnect_phone(g);
	return NULL;
}

/* ---- loop side ---- */

static struct sending *
sending_take(struct smsgl *g, uint64_t qid, bool remove)
{
	for (struct sending **pp = &g->sending; *pp; pp = &(*pp)->next)
		if ((*pp)->qid == qid) {
			struct sending *s = *pp;

			if (remove)
				*pp = s->next;
			return s;
		}
	return NULL;
}

static void
sending_free(struct sending *s)
{
	free(s->user);
	free(s->to);
	free(s->xmpp_id);
	free(s->refs);
	free(s);
}

static char *
refs_key(uint64_t qid)
{
	return xasprintf("sent:%" PRIu64, qid);
}

static char *
line_scope(struct smsl_line *l)
{
	return xasprintf("line:%s", l->name);
}

/* Record the references acknowledged so far: a restart skips those parts. */
static void
store_refs(struct smsl_line *l, struct sending *s, bool clear)
{
	char *scope = line_scope(l), *key = refs_key(s->qid);
	char *v = NULL;

	if (!clear) {
		size_t len = 1;

		v = xcalloc(1, s->nrefs * 4 + len);
		for (size_t i = 0; i < s->nrefs; i++)
			snprintf(v + strlen(v), 5, "%s%d", i ? " " : "", s->refs[i]);
	}
	if (gw_setting_set(l->net, s->user, scope, key, v) == -1)
		log_warnx("sms: line %s: the references of message %" PRIu64 " are not stored",
		          l->name, s->qid);
	free(v);
	free(key);
	free(scope);
}

static void
tracked_outcome(struct smsgl *g, const struct smsreceipt_outcome *o)
{
	struct sending *s = sending_take(g, o->id, true);

	if (s == NULL)
		return;
	smsl_outcome(g->line, s->user, s->to, s->xmpp_id, s->receipt, o->state, o->why);
	sending_free(s);
}

static void
handle(struct smsgl *g, struct note *n)
{
	struct smsl_line *l = g->line;
	struct sending *s;

	switch (n->kind) {
	case N_STATE:
		smsl_set_state(l, n->state, n->text);
		break;
	case N_LOG:
		log_warnx("%s", n->text);
		break;
	case N_INFO:
		l->signal = n->signal;
		free(l->operator_name);
		l->operator_name = n->text;
		n->text = NULL;
		break;
	case N_PART:
		if ((s = sending_take(g, n->qid, false)) != NULL) {
			s->refs = xreallocarray(s->refs, s->nrefs + 1, sizeof(*s->refs));
			s->refs[s->nrefs++] = n->ref;
			store_refs(l, s, false);
		}
		break;
	case N_SENT:
		gw_send_done(l->net, n->qid, GW_SEND_DONE, NULL);
		if ((s = sending_take(g, n->qid, false)) != NULL) {
			store_refs(l, s, true);
			log_debug("sms: line %s: message %" PRIu64 " to %s sent in %zu part(s)",
			          l->name, n->qid, s->to, s->nrefs);
			if (s->receipt) {
				s->sent = time(NULL);
				smsreceipt_track(g->receipts, l->name, s->qid, s->refs, s->nrefs,
				                 s->sent);
			} else
				sending_free(sending_take(g, n->qid, true));
		}
		break;
	case N_UNSENT:
		if ((s = sending_take(g, n->qid, true)) != NULL) {
			if (n->st == GW_SEND_FAILED)
				store_refs(l, s, true);
			sending_free(s);
		}
		gw_send_done(l->net, n->qid, n->st, n->text);
		break;
	case N_INCOMING: {
		struct smsgammu_in in;
		char *why = NULL;
		uint64_t tok = (uint64_t)(unsigned)n->sms->Folder << 32 | (unsigned)n->sms->Location;

		if (smsgammu_incoming(n->sms, l->name, smsl_country(l->net), tok, &in, &why) == -1) {
			log_warnx("sms: line %s: SMS %d/%d skipped: %s", l->name, n->sms->Folder,
			          n->sms->Location, why);
			free(why);
			l->ops->release(l, &tok, 1);
			break;
		}
		smsl_part(l, &in.in, in.flash);
		smsgammu_in_free(&in);
		break;
	}
	case N_REPORT: {
		int ref;
		enum smsreceipt_state st;
		const char *why;
		struct smsreceipt_outcome o;

		if (smsgammu_status(n->sms, &ref, &st, &why) == 0 &&
		    smsreceipt_report(g->receipts, l->name, ref, st, why, &o) == 1) {
			tracked_outcome(g, &o);
			free(o.why);
		}
		break;
	}
	}
}

static void
notes_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smsgl *g = arg;
	uint64_t v;
	struct note *n;

	(void)what;
	if (read(fd, &v, sizeof(v)) == -1 && errno != EAGAIN)
		log_warn("sms: line %s: eventfd", g->line->name);
	pthread_mutex_lock(&g->mu);
	n = g->notes;
	g->notes = NULL;
	g->notes_tail = &g->notes;
	pthread_mutex_unlock(&g->mu);
	while (n) {
		struct note *next = n->next;

		handle(g, n);
		free(n->text);
		free(n->sms);
		free(n);
		n = next;
	}
	smsreceipt_expire(g->receipts, time(NULL));
	/* Messages whose reports never came are forgotten with them. */
	for (struct sending **pp = &g->sending; *pp;) {
		struct sending *s = *pp;

		if (s->sent && time(NULL) - s->sent > RECEIPT_AGE) {
			*pp = s->next;
			sending_free(s);
		} else {
			pp = &s->next;
		}
	}
}

static enum gw_send_status
smsgl_send(struct smsl_line *l, const struct gw_outmsg *msg, const struct smstext_plan *plan,
           char **why)
{
	struct smsgl *g = impl(l);
	struct job *j;
	struct sending *s;
	struct smstext_plan p2;
	char *scope, *key, *done;

	(void)plan;
	if (sending_take(g, msg->qid, false) != NULL)
		return GW_SEND_PENDING; /* the worker has it */
	j = xcalloc(1, sizeof(*j));
	j->kind = JOB_SEND;
	j->qid = msg->qid;
	j->sms = xmalloc(sizeof(*j->sms));
	if (smsgammu_encode(msg->body, msg->to, msg->want_receipt, j->sms, &p2, why) == -1) {
		job_free(j);
		return GW_SEND_FAILED;
	}
	smstext_plan_free(&p2);
	s = xcalloc(1, sizeof(*s));
	s->qid = msg->qid;
	s->user = xstrdup(msg->user);
	s->to = xstrdup(msg->to);
	s->xmpp_id = xstrdup_or_null(msg->xmpp_id);
	s->receipt = msg->want_receipt;
	/* Parts the modem took before a restart are not sent again. */
	scope = line_scope(l);
	key = refs_key(msg->qid);
	if ((done = gw_setting_get(l->net, msg->user, scope, key)) != NULL) {
		char *save = NULL;

		for (char *w = strtok_r(done, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
			s->refs = xreallocarray(s->refs, s->nrefs + 1, sizeof(*s->refs));
			s->refs[s->nrefs++] = atoi(w);
		}
		log_info("sms: line %s: message %" PRIu64 ": %zu of %d part(s) were sent before a "
		         "restart",
		         l->name, msg->qid, s->nrefs, j->sms->Number);
	}
	free(done);
	free(key);
	free(scope);
	j->skip = (int)s->nrefs;
	s->next = g->sending;
	g->sending = s;
	push_job(g, j);
	return GW_SEND_PENDING;
}

static void
smsgl_release(struct smsl_line *l, const uint64_t *tokens, size_t n)
{
	struct smsgl *g = impl(l);

	for (size_t i = 0; i < n; i++) {
		struct job *j = xcalloc(1, sizeof(*j));

		j->kind = JOB_DELETE;
		j->folder = (int)(tokens[i] >> 32);
		j->location = (int)(tokens[i] & 0xFFFFFFFF);
		push_job(g, j);
	}
}

static int
smsgl_start(struct smsl_line *l, char **why)
{
	struct smsgl *g = xcalloc(1, sizeof(*g));
	const struct gw_section *sec = l->sec;
	int e;

	l->impl = g;
	g->line = l;
	g->name = xstrdup(l->name);
	g->gammurc = xstrdup_or_null(gw_conf_str(sec, "gammurc"));
	g->device = xstrdup_or_null(gw_conf_str(sec, "device"));
	g->connection = xstrdup_or_null(gw_conf_str(sec, "connection"));
	g->model = xstrdup_or_null(gw_conf_str(sec, "model"));
	g->debug_log = xstrdup_or_null(gw_conf_str(sec, "gammu_log"));
	g->poll_s = (int)gw_conf_int(gw_net_section(l->net), "poll_interval");
	g->receipts = smsreceipt_new(RECEIPT_AGE);
	g->jobs_tail = &g->jobs;
	g->notes_tail = &g->notes;
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	if ((g->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		*why = xasprintf("eventfd: %s", strerror(errno));
		return -1;
	}
	g->ev = event_new(gw_event_base(), g->efd, EV_READ | EV_PERSIST, notes_cb, g);
	event_add(g->ev, NULL);
	if ((e = pthread_create(&g->thread, NULL, worker, g)) != 0) {
		*why = xasprintf("cannot start the line's thread: %s", strerror(e));
		return -1;
	}
	g->started = true;
	return 0;
}

static void
smsgl_stop(struct smsl_line *l)
{
	struct smsgl *g = impl(l);

	if (g == NULL)
		return;
	if (g->started) {
		pthread_mutex_lock(&g->mu);
		g->stopping = true;
		pthread_cond_signal(&g->cv);
		pthread_mutex_unlock(&g->mu);
		pthread_join(g->thread, NULL);
	}
	while (g->jobs) {
		struct job *j = g->jobs;

		g->jobs = j->next;
		job_free(j);
	}
	while (g->notes) {
		struct note *n = g->notes;

		g->notes = n->next;
		free(n->text);
		free(n->sms);
		free(n);
	}
	while (g->sending) {
		struct sending *s = g->sending;

		g->sending = s->next;
		sending_free(s);
	}
	if (g->ev)
		event_free(g->ev);
	if (g->efd >= 0)
		close(g->efd);
	if (g->ini)
		INI_Free(g->ini);
	smsreceipt_free(g->receipts);
	pthread_mutex_destroy(&g->mu);
	pthread_cond_destroy(&g->cv);
	free(g->held);
	free(g->name);
	free(g->gammurc);
	free(g->device);
	free(g->connection);
	free(g->model);
	free(g->debug_log);
	free(g);
	l->impl = NULL;
}

const struct smsl_ops smsgl_ops = {
	.name = "gammu",
	.start = smsgl_start,
	.stop = smsgl_stop,
	.send = smsgl_send,
	.release = smsgl_release,
};
