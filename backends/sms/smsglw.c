/*
 * The gammu line's worker thread: it owns the GSM_StateMachine and nothing
 * else. It connects (with backoff), sends, polls the phone's memory and
 * deletes what the loop released; everything it learns goes to the loop as
 * notes. See smsgl.c.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smsgl.h"

#if defined(__SANITIZE_ADDRESS__)
#define SMSGL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SMSGL_ASAN 1
#endif
#endif
#ifdef SMSGL_ASAN
#include <sanitizer/asan_interface.h>
#endif

/* ---- the queues ---- */

static void
post(struct smsgl *g, struct smsgl_note *n)
{
	uint64_t one = 1;

	pthread_mutex_lock(&g->mu);
	*g->notes_tail = n;
	g->notes_tail = &n->next;
	pthread_mutex_unlock(&g->mu);
	if (write(g->efd, &one, sizeof(one)) == -1 && errno != EAGAIN)
		abort();
}

static struct smsgl_note *
note_new(enum note_kind kind)
{
	struct smsgl_note *n = xcalloc(1, sizeof(*n));

	n->kind = kind;
	return n;
}

static void post_log(struct smsgl *, const char *, ...) SG_PRINTF(2, 3);

static void
post_log(struct smsgl *g, const char *fmt, ...)
{
	struct smsgl_note *n = note_new(N_LOG);
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
	struct smsgl_note *n = note_new(N_STATE);

	n->state = st;
	n->text = xstrdup_or_null(why);
	post(g, n);
}

void
smsgl_push_job(struct smsgl *g, struct smsgl_job *j)
{
	pthread_mutex_lock(&g->mu);
	*g->jobs_tail = j;
	g->jobs_tail = &j->next;
	pthread_cond_signal(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

void
smsgl_job_free(struct smsgl_job *j)
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
do_send(struct smsgl *g, struct smsgl_job *j)
{
	GSM_SMSC smsc;
	GSM_Error err = ERR_NONE;
	struct smsgl_note *n;

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
	n->text = err == ERR_UNKNOWN
	                  ? xasprintf("the network refused the SMS (status %d)", g->send_status)
	                  : xasprintf("the modem: %s", GSM_ErrorString(err));
	post(g, n);
	return !link_lost(err);
}

static bool
do_delete(struct smsgl *g, struct smsgl_job *j)
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
			struct smsgl_note *n;

			if (is_held(g, p->Folder, p->Location))
				continue;
			/* Both stay on the phone until the loop has stored what they brought. */
			if (p->PDU == SMS_Status_Report)
				n = note_new(N_REPORT);
			else if (p->PDU == SMS_Deliver)
				n = note_new(N_INCOMING);
			else
				continue; /* drafts and sent copies are not ours */
			g->held = xreallocarray(g->held, g->nheld + 1, sizeof(*g->held));
			g->held[g->nheld].folder = p->Folder;
			g->held[g->nheld++].location = p->Location;
			n->sms = xmalloc(sizeof(*p));
			memcpy(n->sms, p, sizeof(*p));
			post(g, n);
		}
	}
	return true;
}

static void
read_info(struct smsgl *g)
{
	GSM_SignalQuality sig;
	GSM_NetworkInfo net;
	struct smsgl_note *n = note_new(N_INFO);

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
	struct smsgl_job *j;

	pthread_mutex_lock(&g->mu);
	j = g->jobs;
	g->jobs = NULL;
	g->jobs_tail = &g->jobs;
	pthread_mutex_unlock(&g->mu);
	while (j) {
		struct smsgl_job *next = j->next;

		if (j->kind == JOB_SEND) {
			struct smsgl_note *n = note_new(N_UNSENT);

			n->qid = j->qid;
			n->st = GW_SEND_RETRY;
			n->text = xstrdup(why);
			post(g, n);
			smsgl_job_free(j);
		} else {
			smsgl_job_free(j); /* what is not deleted is read again */
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

/* An unplugged USB modem takes its device node with it: no need to wait for gammu's timeouts. */
static bool
device_gone(struct smsgl *g)
{
	GSM_Config *cfg = GSM_GetConfig(g->sm, 0);
	struct stat st;

	return cfg && cfg->Device && stat(cfg->Device, &st) == -1 && errno == ENOENT;
}

/*
 * Around each gammu call the thread may be cancelled: libgammu can wait
 * forever on a modem that stopped answering, and the loop's watchdog then
 * cancels this thread (it holds no lock there) and starts another.
 */
static void
busy(struct smsgl *g)
{
	g->busy_since = time(NULL);
	pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
}

static void
idle(struct smsgl *g)
{
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	g->busy_since = 0;
}

/*
 * Run when the watchdog cancels the thread. Cancellation unwinds the frames
 * below without AddressSanitizer seeing their scopes end; their stale poison
 * would fail the thread's own exit. Clear it (dead stack, below this frame).
 */
static void
cancelled(void *arg)
{
#ifdef SMSGL_ASAN
	pthread_attr_t a;
	void *addr;
	size_t size;
	char here;

	if (pthread_getattr_np(pthread_self(), &a) != 0)
		return;
	if (pthread_attr_getstack(&a, &addr, &size) == 0 && &here > (char *)addr)
		__asan_unpoison_memory_region(addr, (size_t)(&here - (char *)addr));
	pthread_attr_destroy(&a);
#endif
	(void)arg;
}

static void
work(struct smsgl *g)
{
	int backoff = BACKOFF_MIN;
	time_t next_poll = 0, next_info = 0;

	while (!g->stopping) {
		GSM_Error err;
		struct smsgl_job *j;
		bool ok = true;

		if (g->sm == NULL) {
			busy(g);
			err = connect_phone(g);
			idle(g);
			if (err != ERR_NONE) {
				char *why =
				        xasprintf("cannot reach the modem: %s (next try in %d s)",
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
		if (device_gone(g)) {
			post_state(g, SMSL_DOWN, "the modem's device is gone");
			disconnect_phone(g);
			drop_sends(g, "the modem's device is gone");
			continue;
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
			g->current = j; /* the watchdog frees it if this thread is cancelled */
			busy(g);
			ok = j->kind == JOB_SEND ? do_send(g, j) : do_delete(g, j);
			idle(g);
			g->current = NULL;
			smsgl_job_free(j);
		} else if (time(NULL) >= next_poll) {
			busy(g);
			ok = read_phone(g);
			idle(g);
			next_poll = time(NULL) + g->poll_s;
			if (ok && time(NULL) >= next_info) {
				busy(g);
				read_info(g);
				idle(g);
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
}

void *
smsgl_worker(void *arg)
{
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	pthread_cleanup_push(cancelled, NULL);
	work(arg);
	pthread_cleanup_pop(0);
	return NULL;
}
