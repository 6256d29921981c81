/* Receipt aggregation for multipart SMS; see smsreceipt.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "smsreceipt.h"

struct rpart {
	int ref;
	enum smsreceipt_state state;
};

struct rmsg {
	struct rmsg *next; /* most recent first */
	char *line;
	uint64_t id;
	time_t sent;
	uint64_t seq; /* tracking order: breaks ties between equal send times */
	struct rpart *parts;
	size_t nparts, delivered;
};

struct smsreceipt {
	time_t max_age;
	struct rmsg *msgs;
	size_t nmsgs;
	uint64_t seq;
};

struct smsreceipt *
smsreceipt_new(time_t max_age)
{
	struct smsreceipt *r = xcalloc(1, sizeof(*r));

	r->max_age = max_age;
	return r;
}

static void
rmsg_free(struct rmsg *m)
{
	free(m->line);
	free(m->parts);
	free(m);
}

void
smsreceipt_free(struct smsreceipt *r)
{
	struct rmsg *m;

	if (r == NULL)
		return;
	while ((m = r->msgs) != NULL) {
		r->msgs = m->next;
		rmsg_free(m);
	}
	free(r);
}

void
smsreceipt_track(struct smsreceipt *r, const char *line, uint64_t id, const int *refs, size_t n,
                 time_t sent)
{
	smsreceipt_track_states(r, line, id, refs, NULL, n, sent);
}

void
smsreceipt_track_states(struct smsreceipt *r, const char *line, uint64_t id, const int *refs,
                        const enum smsreceipt_state *states, size_t n, time_t sent)
{
	struct rmsg *m = xcalloc(1, sizeof(*m)), **mp;
	size_t i;

	m->line = xstrdup(line);
	m->id = id;
	m->sent = sent;
	m->seq = ++r->seq;
	m->nparts = n;
	m->parts = xcalloc(n ? n : 1, sizeof(*m->parts));
	for (i = 0; i < n; i++) {
		m->parts[i].ref = refs[i];
		if (states && states[i] == SMSRECEIPT_DELIVERED) {
			m->parts[i].state = SMSRECEIPT_DELIVERED;
			m->delivered++;
		}
	}
	/* Keep the list newest first, by send time (a restart may track old messages late). */
	for (mp = &r->msgs; *mp && (*mp)->sent > sent; mp = &(*mp)->next)
		;
	m->next = *mp;
	*mp = m;
	r->nmsgs++;
}

static void
unlink_msg(struct smsreceipt *r, struct rmsg *m)
{
	struct rmsg **mp;

	for (mp = &r->msgs; *mp != m; mp = &(*mp)->next)
		;
	*mp = m->next;
	r->nmsgs--;
	rmsg_free(m);
}

int
smsreceipt_report(struct smsreceipt *r, const char *line, int ref, enum smsreceipt_state st,
                  const char *why, struct smsreceipt_outcome *out)
{
	struct rmsg *m;
	struct rpart *pt = NULL;
	size_t i;

	memset(out, 0, sizeof(*out));
	/* Finished messages are removed, so the first match is the most recent unfinished use. */
	for (m = r->msgs; m && pt == NULL; m = m->next) {
		if (strcmp(m->line, line) != 0)
			continue;
		for (i = 0; i < m->nparts; i++)
			if (m->parts[i].ref == ref &&
			    (pt == NULL || pt->state != SMSRECEIPT_PENDING))
				pt = &m->parts[i];
		if (pt)
			break;
	}
	if (pt == NULL || pt->state != SMSRECEIPT_PENDING || st == SMSRECEIPT_PENDING)
		return 0;
	pt->state = st;
	if (st == SMSRECEIPT_DELIVERED && ++m->delivered < m->nparts) {
		out->id = m->id;
		out->changed = 1;
		out->part = (size_t)(pt - m->parts);
		return 0;
	}
	out->id = m->id;
	out->state = st;
	if (st == SMSRECEIPT_FAILED) {
		if (m->nparts > 1)
			out->why = xasprintf("part %zu of %zu was not delivered: %s",
			                     (size_t)(pt - m->parts) + 1, m->nparts,
			                     why ? why : "the network gave no reason");
		else
			out->why = xstrdup(why ? why : "the network gave no reason");
	}
	unlink_msg(r, m);
	return 1;
}

size_t
smsreceipt_expire(struct smsreceipt *r, time_t now)
{
	struct rmsg *m, *next;
	size_t n = 0;

	for (m = r->msgs; m; m = next) {
		next = m->next;
		if (now - m->sent > r->max_age) {
			unlink_msg(r, m);
			n++;
		}
	}
	return n;
}

int
smsreceipt_forget(struct smsreceipt *r, uint64_t id)
{
	struct rmsg *m;

	for (m = r->msgs; m; m = m->next)
		if (m->id == id) {
			unlink_msg(r, m);
			return 1;
		}
	return 0;
}

size_t
smsreceipt_pending(const struct smsreceipt *r)
{
	return r->nmsgs;
}

enum smsreceipt_state
smsreceipt_tp_status(int st, const char **why)
{
	static const struct {
		int st;
		const char *why;
	} reasons[] = {
	        {0x20, "congestion, still trying"},
	        {0x21, "the phone is busy, still trying"},
	        {0x22, "no response from the phone, still trying"},
	        {0x23, "service rejected, still trying"},
	        {0x24, "quality of service not available, still trying"},
	        {0x25, "error in the phone, still trying"},
	        {0x40, "remote procedure error"},
	        {0x41, "incompatible destination"},
	        {0x42, "connection rejected by the phone"},
	        {0x43, "the number cannot be reached"},
	        {0x44, "quality of service not available"},
	        {0x45, "no interworking available"},
	        {0x46, "the message expired before it could be delivered"},
	        {0x47, "deleted by the sender"},
	        {0x48, "deleted by the SMS centre"},
	        {0x49, "the message does not exist"},
	        {0x60, "network congestion: the SMS centre gave up"},
	        {0x61, "the phone stayed busy: the SMS centre gave up"},
	        {0x62, "no response from the phone: the SMS centre gave up"},
	        {0x63, "service rejected: the SMS centre gave up"},
	        {0x64, "quality of service not available: the SMS centre gave up"},
	        {0x65, "error in the phone: the SMS centre gave up"},
	};
	size_t i;

	*why = NULL;
	if (st >= 0 && st <= 0x1F)
		return SMSRECEIPT_DELIVERED; /* received, forwarded, or replaced */
	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].st == st)
			*why = reasons[i].why;
	if (st >= 0x20 && st <= 0x3F) {
		if (*why == NULL)
			*why = "temporary error, still trying";
		return SMSRECEIPT_PENDING;
	}
	if (*why == NULL)
		*why = st >= 0x60 && st <= 0x7F ? "temporary error: the SMS centre gave up"
		                                : "permanent error";
	return SMSRECEIPT_FAILED;
}
