/*
 * Status reports a gammu line awaits, kept across restarts (see smsgl.h).
 *
 * A status report may come hours after the text, and the daemon may stop
 * or be killed meanwhile. Once every part of a text that asked for a
 * receipt is out, the aggregation's state goes to the store, one setting
 * per text (user: the gateway's own JID, scope "line:NAME", key
 * "receipt:QID"):
 *
 *     1 SENT USER TO REF,REF,... STATES XMPP_ID
 *
 * SENT is a Unix time, STATES one letter per part ('p' pending, 'd'
 * delivered) and XMPP_ID the rest of the value (it may hold spaces). Each
 * report that changes a part rewrites it; the outcome (one receipt, or one
 * error) deletes it. At start-up every stored text is tracked again, so a
 * report for a part sent before the restart still counts; what is older
 * than receipt_age is deleted instead.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smsgl.h"

#define KEY_PREFIX "receipt:"

static char *
key_of(uint64_t qid)
{
	return xasprintf(KEY_PREFIX "%" PRIu64, qid);
}

static char *
scope_of(struct smsl_line *l)
{
	return xasprintf("line:%s", l->name);
}

/* Writes (or with value NULL deletes) the record of qid. */
static int
put(struct smsgl *g, uint64_t qid, const char *value)
{
	struct smsl_line *l = g->line;
	char *scope = scope_of(l), *key = key_of(qid);
	int r = gw_setting_set(l->net, gw_net_jid(l->net), scope, key, value);

	if (r == -1)
		log_warnx("sms: line %s: the awaited receipt of message %" PRIu64
		          " could not be %s in the store",
		          l->name, qid, value ? "written" : "deleted");
	free(key);
	free(scope);
	return r;
}

static int
store(struct smsgl *g, struct smsgl_sending *s)
{
	/* 16 bytes hold any int, its comma and a NUL. */
	char *refs = xcalloc(s->nrefs ? s->nrefs : 1, 16), *v;
	size_t off = 0;
	int r;

	for (size_t i = 0; i < s->nrefs; i++)
		off += (size_t)snprintf(refs + off, 16, "%s%d", i ? "," : "", s->refs[i]);
	v = xasprintf("1 %lld %s %s %s %s %s", (long long)s->sent, s->user, s->to, refs, s->states,
	              s->xmpp_id ? s->xmpp_id : "");
	r = put(g, s->qid, v);
	free(v);
	free(refs);
	return r;
}

static void
track(struct smsgl *g, struct smsgl_sending *s)
{
	enum smsreceipt_state *st = xcalloc(s->nrefs ? s->nrefs : 1, sizeof(*st));

	for (size_t i = 0; i < s->nrefs; i++)
		st[i] = s->states[i] == 'd' ? SMSRECEIPT_DELIVERED : SMSRECEIPT_PENDING;
	smsreceipt_track_states(g->receipts, g->line->name, s->qid, s->refs, st, s->nrefs, s->sent);
	free(st);
}

int
smsgl_await(struct smsgl *g, struct smsgl_sending *s)
{
	free(s->states);
	s->states = xmalloc(s->nrefs + 1);
	memset(s->states, 'p', s->nrefs);
	s->states[s->nrefs] = '\0';
	track(g, s);
	if (store(g, s) == -1)
		return -1;
	log_debug("sms: line %s: message %" PRIu64 ": awaiting %zu status report(s)", g->line->name,
	          s->qid, s->nrefs);
	return 0;
}

void
smsgl_await_part(struct smsgl *g, struct smsgl_sending *s, size_t part)
{
	if (s->states == NULL || part >= s->nrefs)
		return;
	s->states[part] = 'd';
	if (store(g, s) == 0)
		log_debug("sms: line %s: message %" PRIu64 ": part %zu of %zu delivered",
		          g->line->name, s->qid, part + 1, s->nrefs);
}

void
smsgl_await_done(struct smsgl *g, struct smsgl_sending *s)
{
	if (s->states != NULL)
		put(g, s->qid, NULL);
}

/*
 * One stored record back into s (fields allocated); 0, or -1 when it is
 * not one of ours or damaged.
 */
static int
parse(const char *key, const char *value, struct smsgl_sending *s)
{
	char *copy = xstrdup(value), *save = NULL, *f[6], *rest, *w;
	int i, r = -1;
	size_t n;

	if (strncmp(key, KEY_PREFIX, strlen(KEY_PREFIX)) != 0)
		goto out;
	s->qid = strtoull(key + strlen(KEY_PREFIX), &w, 10);
	if (*w != '\0' || w == key + strlen(KEY_PREFIX))
		goto out;
	for (i = 0; i < 6; i++)
		if ((f[i] = strtok_r(i ? NULL : copy, " ", &save)) == NULL)
			goto out;
	rest = save ? save : "";
	if (strcmp(f[0], "1") != 0)
		goto out;
	s->sent = (time_t)strtoll(f[1], NULL, 10);
	n = strlen(f[5]);
	for (w = strtok_r(f[4], ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		s->refs = xreallocarray(s->refs, s->nrefs + 1, sizeof(*s->refs));
		s->refs[s->nrefs++] = atoi(w);
	}
	if (s->sent <= 0 || n != s->nrefs || n == 0 || strspn(f[5], "pd") != n)
		goto out;
	s->user = xstrdup(f[2]);
	s->to = xstrdup(f[3]);
	s->states = xstrdup(f[5]);
	s->xmpp_id = *rest ? xstrdup(rest) : NULL;
	s->receipt = true;
	r = 0;
out:
	free(copy);
	return r;
}

struct load {
	struct smsgl *g;
	time_t now;
	uint64_t *stale; /* to delete after the walk */
	size_t nstale, nloaded;
};

static int
load_cb(const char *key, const char *value, void *arg)
{
	struct load *ld = arg;
	struct smsgl *g = ld->g;
	struct smsgl_sending *s;

	if (strncmp(key, KEY_PREFIX, strlen(KEY_PREFIX)) != 0)
		return 0; /* the line's other settings */
	s = xcalloc(1, sizeof(*s));
	if (parse(key, value, s) == -1 || ld->now - s->sent > g->receipt_age) {
		if (s->user == NULL)
			log_warnx("sms: line %s: damaged awaited receipt %s deleted", g->line->name,
			          key);
		if (s->qid != 0) {
			ld->stale = xreallocarray(ld->stale, ld->nstale + 1, sizeof(*ld->stale));
			ld->stale[ld->nstale++] = s->qid;
		}
		smsgl_sending_free(s);
		return 0;
	}
	track(g, s);
	s->next = g->sending;
	g->sending = s;
	ld->nloaded++;
	return 0;
}

void
smsgl_await_load(struct smsgl *g)
{
	struct smsl_line *l = g->line;
	struct load ld = {g, time(NULL), NULL, 0, 0};
	char *scope = scope_of(l);

	if (gw_setting_foreach(l->net, gw_net_jid(l->net), scope, load_cb, &ld) == -1)
		log_warnx("sms: line %s: the awaited receipts could not be read from the store",
		          l->name);
	free(scope);
	for (size_t i = 0; i < ld.nstale; i++)
		put(g, ld.stale[i], NULL);
	if (ld.nloaded)
		log_info("sms: line %s: awaiting the status reports of %zu message(s) sent "
		         "before the restart",
		         l->name, ld.nloaded);
	if (ld.nstale)
		log_info("sms: line %s: %zu awaited receipt(s) older than %ld s forgotten", l->name,
		         ld.nstale, g->receipt_age);
	free(ld.stale);
}

void
smsgl_await_expire(struct smsgl *g, time_t now)
{
	size_t n = 0;

	smsreceipt_expire(g->receipts, now);
	for (struct smsgl_sending **pp = &g->sending; *pp;) {
		struct smsgl_sending *s = *pp;

		if (s->sent && now - s->sent > g->receipt_age) {
			*pp = s->next;
			smsgl_await_done(g, s);
			smsgl_sending_free(s);
			n++;
		} else {
			pp = &s->next;
		}
	}
	if (n)
		log_info("sms: line %s: %zu awaited receipt(s) older than %ld s forgotten",
		         g->line->name, n, g->receipt_age);
}
