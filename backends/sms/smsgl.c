/*
 * A line driven by libgammu in a worker thread of ours (SPEC 9: gammu's
 * calls block on the serial line, seconds at a time).
 *
 * The worker (smsglw.c) owns the GSM_StateMachine and nothing else: it
 * connects (with backoff), sends, polls the phone's memory, deletes. The
 * loop (this file) owns every decision. They talk through two queues under one mutex: jobs (loop ->
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "smsgammu.h"
#include "smsgl.h"

#define STOP_WAIT 3 /* seconds a stopping line waits for its thread */

static struct smsgl *
impl(struct smsl_line *l)
{
	return l->impl;
}

/* ---- loop side ---- */

static struct smsgl_sending *
sending_take(struct smsgl *g, uint64_t qid, bool remove)
{
	for (struct smsgl_sending **pp = &g->sending; *pp; pp = &(*pp)->next)
		if ((*pp)->qid == qid) {
			struct smsgl_sending *s = *pp;

			if (remove)
				*pp = s->next;
			return s;
		}
	return NULL;
}

void
smsgl_sending_free(struct smsgl_sending *s)
{
	free(s->user);
	free(s->to);
	free(s->xmpp_id);
	free(s->refs);
	free(s->states);
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
store_refs(struct smsl_line *l, struct smsgl_sending *s, bool clear)
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
	struct smsgl_sending *s = sending_take(g, o->id, true);

	if (s == NULL)
		return;
	smsl_outcome(g->line, s->user, s->to, s->xmpp_id, s->receipt, o->state, o->why);
	smsgl_await_done(g, s);
	smsgl_sending_free(s);
}

static void
handle(struct smsgl *g, struct smsgl_note *n)
{
	struct smsl_line *l = g->line;
	struct smsgl_sending *s;

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
		/* The awaited receipt is stored before the queue entry goes. */
		if ((s = sending_take(g, n->qid, false)) != NULL && s->receipt) {
			s->sent = time(NULL);
			smsgl_await(g, s);
		}
		gw_send_done(l->net, n->qid, GW_SEND_DONE, NULL);
		if (s != NULL) {
			store_refs(l, s, true);
			log_debug("sms: line %s: message %" PRIu64 " to %s sent in %zu part(s)",
			          l->name, n->qid, s->to, s->nrefs);
			if (!s->receipt)
				smsgl_sending_free(sending_take(g, n->qid, true));
		}
		break;
	case N_UNSENT:
		if ((s = sending_take(g, n->qid, true)) != NULL) {
			if (n->st == GW_SEND_FAILED)
				store_refs(l, s, true);
			smsgl_sending_free(s);
		}
		gw_send_done(l->net, n->qid, n->st, n->text);
		break;
	case N_INCOMING: {
		struct smsgammu_in in;
		char *why = NULL;
		uint64_t tok =
		        (uint64_t)(unsigned)n->sms->Folder << 32 | (unsigned)n->sms->Location;

		if (smsgammu_incoming(n->sms, l->name, smsl_country(l->net), tok, &in, &why) ==
		    -1) {
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
		uint64_t tok =
		        (uint64_t)(unsigned)n->sms->Folder << 32 | (unsigned)n->sms->Location;

		if (smsgammu_status(n->sms, &ref, &st, &why) == 0) {
			if (smsreceipt_report(g->receipts, l->name, ref, st, why, &o) == 1) {
				tracked_outcome(g, &o);
				free(o.why);
			} else if (o.changed && (s = sending_take(g, o.id, false)) != NULL) {
				smsgl_await_part(g, s, o.part);
			} else if (!o.changed) {
				log_debug("sms: line %s: status report for reference %d: nothing "
				          "awaits it",
				          l->name, ref);
			}
		} else {
			log_debug("sms: line %s: unreadable status report skipped", l->name);
		}
		/* The report leaves the phone once what it changed is stored. */
		l->ops->release(l, &tok, 1);
		break;
	}
	}
}

static void
note_free(struct smsgl_note *n)
{
	free(n->text);
	free(n->sms);
	free(n);
}

/*
 * Reports wait (on the phone too: they are released once handled) while the
 * XMPP link is down, so the outcome they decide is not sent into the void.
 */
static void
deferred_flush(struct smsgl *g)
{
	struct smsgl_note *n;

	if (g->deferred == NULL || !gw_net_online(g->line->net))
		return;
	n = g->deferred;
	g->deferred = NULL;
	g->deferred_tail = &g->deferred;
	while (n) {
		struct smsgl_note *next = n->next;

		handle(g, n);
		note_free(n);
		n = next;
	}
}

static void
notes_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smsgl *g = arg;
	uint64_t v;
	struct smsgl_note *n;

	(void)what;
	if (read(fd, &v, sizeof(v)) == -1 && errno != EAGAIN)
		log_warn("sms: line %s: eventfd", g->line->name);
	pthread_mutex_lock(&g->mu);
	n = g->notes;
	g->notes = NULL;
	g->notes_tail = &g->notes;
	pthread_mutex_unlock(&g->mu);
	while (n) {
		struct smsgl_note *next = n->next;

		if (n->kind == N_REPORT && (g->deferred || !gw_net_online(g->line->net))) {
			log_debug("sms: line %s: a status report waits for the XMPP link",
			          g->line->name);
			n->next = NULL;
			*g->deferred_tail = n;
			g->deferred_tail = &n->next;
		} else {
			handle(g, n);
			note_free(n);
		}
		n = next;
	}
	deferred_flush(g);
	smsgl_await_expire(g, time(NULL));
}

static int start_thread(struct smsgl *, char **why);

/*
 * libgammu may wait forever on a modem that stopped answering in the middle
 * of a command. Then the worker is cancelled (at a point where it holds no
 * lock), what it had is given back to the core's queue, and a new worker
 * starts from scratch. The old state machine is set aside: its state is
 * unknown, so it is only freed (not closed) when the line stops.
 */
static void
watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smsgl *g = arg;
	struct smsl_line *l = g->line;
	long long since = g->busy_since;
	struct timespec ts;
	struct smsgl_job *j;
	char *why = NULL;

	(void)fd;
	(void)what;
	deferred_flush(g);
	smsgl_await_expire(g, time(NULL));
	if (!g->started || since == 0 || time(NULL) - since < g->modem_timeout)
		return;
	log_warnx("sms: line %s: the modem has not answered for %lld s: starting over", l->name,
	          (long long)time(NULL) - since);
	pthread_cancel(g->thread);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += STOP_WAIT;
	if (pthread_timedjoin_np(g->thread, NULL, &ts) != 0) {
		pthread_detach(g->thread);
		g->started = false;
		smsl_set_state(l, SMSL_DOWN, "the modem does not answer and its thread is stuck");
		return;
	}
	g->started = false;
	if (g->sm) {
		g->abandoned =
		        xreallocarray(g->abandoned, g->nabandoned + 1, sizeof(*g->abandoned));
		g->abandoned[g->nabandoned++] = g->sm;
	}
	g->sm = NULL;
	g->nheld = 0;
	g->busy_since = 0;
	if (g->current) {
		smsgl_job_free(g->current);
		g->current = NULL;
	}
	/* Every text not yet out goes back to the core's queue. */
	pthread_mutex_lock(&g->mu);
	j = g->jobs;
	g->jobs = NULL;
	g->jobs_tail = &g->jobs;
	pthread_mutex_unlock(&g->mu);
	while (j) {
		struct smsgl_job *next = j->next;

		smsgl_job_free(j);
		j = next;
	}
	for (struct smsgl_sending **pp = &g->sending; *pp;) {
		struct smsgl_sending *s = *pp;

		if (s->sent == 0) {
			*pp = s->next;
			gw_send_done(l->net, s->qid, GW_SEND_RETRY, "the modem stopped answering");
			smsgl_sending_free(s);
		} else {
			pp = &s->next;
		}
	}
	smsl_set_state(l, SMSL_DOWN, "the modem stopped answering");
	if (start_thread(g, &why) == -1) {
		log_warnx("sms: line %s: %s", l->name, why);
		free(why);
	}
}

static enum gw_send_status
smsgl_send(struct smsl_line *l, const struct gw_outmsg *msg, const struct smstext_plan *plan,
           char **why)
{
	struct smsgl *g = impl(l);
	struct smsgl_job *j;
	struct smsgl_sending *s;
	struct smstext_plan p2;
	char *scope, *key, *done;

	(void)plan;
	if ((s = sending_take(g, msg->qid, false)) != NULL)
		/* The worker has it, or it is out (stopped before the queue knew). */
		return s->sent ? GW_SEND_DONE : GW_SEND_PENDING;
	j = xcalloc(1, sizeof(*j));
	j->kind = JOB_SEND;
	j->qid = msg->qid;
	j->sms = xmalloc(sizeof(*j->sms));
	if (smsgammu_encode(msg->body, msg->to, msg->want_receipt, j->sms, &p2, why) == -1) {
		smsgl_job_free(j);
		return GW_SEND_FAILED;
	}
	smstext_plan_free(&p2);
	/*
	 * The concatenation reference comes from the queue id, so a text resumed
	 * after a restart carries the same one and the phone joins old and new
	 * parts.
	 */
	for (int i = 0; i < j->sms->Number; i++) {
		GSM_UDHHeader *u = &j->sms->SMS[i].UDH;

		if (u->Type == UDH_ConcatenatedMessages && u->Length >= 6) {
			u->Text[3] = (unsigned char)((msg->qid * 7 + 1) & 0xFF);
			u->ID8bit = u->Text[3];
		}
	}
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
	smsgl_push_job(g, j);
	return GW_SEND_PENDING;
}

static void
smsgl_release(struct smsl_line *l, const uint64_t *tokens, size_t n)
{
	struct smsgl *g = impl(l);

	for (size_t i = 0; i < n; i++) {
		struct smsgl_job *j = xcalloc(1, sizeof(*j));

		j->kind = JOB_DELETE;
		j->folder = (int)(tokens[i] >> 32);
		j->location = (int)(tokens[i] & 0xFFFFFFFF);
		smsgl_push_job(g, j);
	}
}

static int
smsgl_start(struct smsl_line *l, char **why)
{
	struct smsgl *g = xcalloc(1, sizeof(*g));
	const struct gw_section *sec = l->sec;
	l->impl = g;
	g->line = l;
	g->name = xstrdup(l->name);
	g->gammurc = xstrdup_or_null(gw_conf_str(sec, "gammurc"));
	g->device = xstrdup_or_null(gw_conf_str(sec, "device"));
	g->connection = xstrdup_or_null(gw_conf_str(sec, "connection"));
	g->model = xstrdup_or_null(gw_conf_str(sec, "model"));
	g->debug_log = xstrdup_or_null(gw_conf_str(sec, "gammu_log"));
	g->poll_s = (int)gw_conf_int(gw_net_section(l->net), "poll_interval");
	g->modem_timeout = gw_conf_int(gw_net_section(l->net), "modem_timeout");
	g->receipt_age = gw_conf_int(gw_net_section(l->net), "receipt_timeout");
	g->receipts = smsreceipt_new(g->receipt_age);
	g->jobs_tail = &g->jobs;
	g->notes_tail = &g->notes;
	g->deferred_tail = &g->deferred;
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	if ((g->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		*why = xasprintf("eventfd: %s", strerror(errno));
		return -1;
	}
	g->ev = event_new(gw_event_base(), g->efd, EV_READ | EV_PERSIST, notes_cb, g);
	event_add(g->ev, NULL);
	{
		struct timeval tv = {5, 0};

		g->watchdog = event_new(gw_event_base(), -1, EV_PERSIST, watchdog_cb, g);
		event_add(g->watchdog, &tv);
	}
	smsgl_await_load(g);
	return start_thread(g, why);
}

static int
start_thread(struct smsgl *g, char **why)
{
	sigset_t all, old;
	int e;

	/* Signals are the loop's: the worker blocks them all. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&g->thread, NULL, smsgl_worker, g);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0) {
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
	struct timespec ts;
	int r;

	if (g == NULL)
		return;
	if (g->started) {
		pthread_mutex_lock(&g->mu);
		g->stopping = true;
		pthread_cond_signal(&g->cv);
		pthread_mutex_unlock(&g->mu);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += STOP_WAIT;
		r = pthread_timedjoin_np(g->thread, NULL, &ts);
		if (r != 0 && g->busy_since != 0) {
			/* Stuck in a gammu call: cancel it there (it holds no lock). */
			pthread_cancel(g->thread);
			ts.tv_sec += STOP_WAIT;
			r = pthread_timedjoin_np(g->thread, NULL, &ts);
		}
		if (r != 0) {
			/* Still stuck: the thread and what it uses are left to exit(). */
			log_warnx("sms: line %s: the modem does not answer; not waiting for it",
			          l->name);
			pthread_detach(g->thread);
			l->impl = NULL;
			return;
		}
	}
	while (g->jobs) {
		struct smsgl_job *j = g->jobs;

		g->jobs = j->next;
		smsgl_job_free(j);
	}
	while (g->notes) {
		struct smsgl_note *n = g->notes;

		g->notes = n->next;
		note_free(n);
	}
	while (g->deferred) {
		struct smsgl_note *n = g->deferred;

		g->deferred = n->next;
		note_free(n);
	}
	while (g->sending) {
		struct smsgl_sending *s = g->sending;

		g->sending = s->next;
		smsgl_sending_free(s);
	}
	if (g->ev)
		event_free(g->ev);
	if (g->watchdog)
		event_free(g->watchdog);
	if (g->efd >= 0)
		close(g->efd);
	if (g->ini)
		INI_Free(g->ini);
	for (size_t i = 0; i < g->nabandoned; i++)
		GSM_FreeStateMachine(g->abandoned[i]);
	free(g->abandoned);
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
