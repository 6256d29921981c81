/* Reassembly of concatenated SMS; see smsparts.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "smsparts.h"
#include "smstext.h"

struct part {
	unsigned char *text; /* UTF-16BE, NULL while missing */
	size_t nunits;
	bool have;
};

struct group {
	struct group *next; /* arrival order, oldest first */
	char *line, *sender;
	unsigned ref, total;
	bool ref16;
	time_t first;       /* when the first part arrived (for the timeout) */
	time_t stamp;       /* earliest SMSC stamp */
	struct part *parts; /* total entries, index seq - 1 */
	unsigned have;
	uint64_t *tokens;
	size_t ntokens;
};

/* A delivered group, remembered for a while to recognise late copies. */
struct done {
	char *line, *sender;
	unsigned ref, total;
	bool ref16;
	time_t at;
	uint32_t *hash; /* per seq: hash of the part's text, 0 when it never came */
};

struct ready {
	struct ready *next;
	struct smsparts_msg *msg;
};

struct smsparts {
	size_t max_groups;
	time_t timeout;
	struct group *groups;
	size_t ngroups;
	struct done *done; /* ring of max_groups entries */
	size_t done_next;
	struct ready *ready, **ready_tail;
};

struct smsparts *
smsparts_new(size_t max_groups, time_t timeout)
{
	struct smsparts *p = xcalloc(1, sizeof(*p));

	p->max_groups = max_groups ? max_groups : 1;
	p->timeout = timeout;
	p->done = xcalloc(p->max_groups, sizeof(*p->done));
	p->ready_tail = &p->ready;
	return p;
}

static void
group_free(struct group *g)
{
	unsigned i;

	for (i = 0; i < g->total; i++)
		free(g->parts[i].text);
	free(g->parts);
	free(g->tokens);
	free(g->line);
	free(g->sender);
	free(g);
}

void
smsparts_msg_free(struct smsparts_msg *m)
{
	if (m == NULL)
		return;
	free(m->line);
	free(m->sender);
	free(m->text);
	free(m->tokens);
	free(m);
}

void
smsparts_free(struct smsparts *p)
{
	struct group *g;
	struct ready *r;
	size_t i;

	if (p == NULL)
		return;
	while ((g = p->groups) != NULL) {
		p->groups = g->next;
		group_free(g);
	}
	while ((r = p->ready) != NULL) {
		p->ready = r->next;
		smsparts_msg_free(r->msg);
		free(r);
	}
	for (i = 0; i < p->max_groups; i++) {
		free(p->done[i].line);
		free(p->done[i].sender);
		free(p->done[i].hash);
	}
	free(p->done);
	free(p);
}

static void
push_ready(struct smsparts *p, struct smsparts_msg *m)
{
	struct ready *r = xcalloc(1, sizeof(*r));

	r->msg = m;
	*p->ready_tail = r;
	p->ready_tail = &r->next;
}

struct smsparts_msg *
smsparts_next(struct smsparts *p)
{
	struct ready *r = p->ready;
	struct smsparts_msg *m;

	if (r == NULL)
		return NULL;
	p->ready = r->next;
	if (p->ready == NULL)
		p->ready_tail = &p->ready;
	m = r->msg;
	free(r);
	return m;
}

static size_t
clamp_units(size_t n)
{
	return n > SMSPARTS_MAX_UNITS ? SMSPARTS_MAX_UNITS : n;
}

/* Append a string's UTF-8 to a growing buffer. */
static void
buf_add(char **buf, size_t *len, const char *s)
{
	size_t n = strlen(s);

	*buf = xreallocarray(*buf, *len + n + 1, 1);
	memcpy(*buf + *len, s, n + 1);
	*len += n;
}

/* Turn a group into a message: runs of present parts decoded together, markers for gaps. */
static struct smsparts_msg *
group_message(struct group *g)
{
	struct smsparts_msg *m = xcalloc(1, sizeof(*m));
	unsigned i = 0, j, k;
	size_t len = 0, n;
	unsigned char *run;
	char *s;

	m->text = xstrdup("");
	while (i < g->total) {
		if (g->parts[i].have) {
			for (j = i, n = 0; j < g->total && g->parts[j].have; j++)
				n += g->parts[j].nunits;
			run = xmalloc(2 * n + 2);
			for (k = i, n = 0; k < j; k++) {
				memcpy(run + 2 * n, g->parts[k].text, 2 * g->parts[k].nunits);
				n += g->parts[k].nunits;
			}
			s = smstext_from_ucs2be(run, n);
			buf_add(&m->text, &len, s);
			free(s);
			free(run);
		} else {
			for (j = i; j < g->total && !g->parts[j].have; j++)
				;
			m->missing += j - i;
			s = j - i == 1 ? xasprintf("[…part %u of %u missing…]", i + 1, g->total)
			               : xasprintf("[…parts %u–%u of %u missing…]", i + 1, j,
			                           g->total);
			buf_add(&m->text, &len, s);
			free(s);
		}
		i = j;
	}
	m->line = g->line;
	m->sender = g->sender;
	m->stamp = g->stamp;
	m->total = g->total;
	m->tokens = g->tokens;
	m->ntokens = g->ntokens;
	g->line = g->sender = NULL;
	g->tokens = NULL;
	return m;
}

static bool
same_key(const char *line, const char *sender, unsigned ref, bool ref16, unsigned total,
         const struct smsparts_in *in)
{
	return ref == in->ref && ref16 == in->ref16 && total == in->total &&
	       strcmp(line, in->line) == 0 && strcmp(sender, in->sender) == 0;
}

/* FNV-1a over the part's text, never 0: tells a copy from a new text under a reused reference. */
static uint32_t
text_hash(const unsigned char *text, size_t nunits)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < 2 * nunits; i++)
		h = (h ^ text[i]) * 16777619u;
	return h | 1;
}

/* Remember a delivered group so that late copies of its parts are recognised. */
static void
remember(struct smsparts *p, const struct group *g, time_t now)
{
	struct done *d = &p->done[p->done_next];
	unsigned i;

	p->done_next = (p->done_next + 1) % p->max_groups;
	free(d->line);
	free(d->sender);
	free(d->hash);
	memset(d, 0, sizeof(*d));
	d->line = xstrdup(g->line);
	d->sender = xstrdup(g->sender);
	d->ref = g->ref;
	d->ref16 = g->ref16;
	d->total = g->total;
	d->at = now;
	d->hash = xcalloc(g->total, sizeof(*d->hash));
	for (i = 0; i < g->total; i++)
		if (g->parts[i].have)
			d->hash[i] = text_hash(g->parts[i].text, g->parts[i].nunits);
}

/* Unlink g from the waiting list and queue it as a message. */
static void
deliver(struct smsparts *p, struct group *g, time_t now)
{
	struct group **gp;

	for (gp = &p->groups; *gp != g; gp = &(*gp)->next)
		;
	*gp = g->next;
	p->ngroups--;
	remember(p, g, now);
	push_ready(p, group_message(g));
	group_free(g);
}

static void
single(struct smsparts *p, const struct smsparts_in *in)
{
	struct smsparts_msg *m = xcalloc(1, sizeof(*m));

	m->line = xstrdup(in->line);
	m->sender = xstrdup(in->sender);
	m->text = smstext_from_ucs2be(in->text, clamp_units(in->nunits));
	m->stamp = in->stamp;
	m->total = 1;
	m->tokens = xcalloc(1, sizeof(*m->tokens));
	m->tokens[0] = in->token;
	m->ntokens = 1;
	push_ready(p, m);
}

enum smsparts_result
smsparts_add(struct smsparts *p, const struct smsparts_in *in, time_t now)
{
	struct group *g, **tail;
	struct part *pt;
	size_t i;
	unsigned idx;

	/* Not concatenated, or a header we cannot place: the text alone, never lost. */
	if (in->total <= 1 || in->total > 255 || in->seq == 0 || in->seq > in->total) {
		single(p, in);
		return SMSPARTS_READY;
	}
	idx = in->seq - 1;
	for (g = p->groups; g; g = g->next)
		if (same_key(g->line, g->sender, g->ref, g->ref16, g->total, in))
			break;
	if (g == NULL) {
		for (i = 0; i < p->max_groups; i++) {
			struct done *d = &p->done[i];

			if (d->line && now - d->at <= p->timeout &&
			    same_key(d->line, d->sender, d->ref, d->ref16, d->total, in) &&
			    d->hash[idx] == text_hash(in->text, clamp_units(in->nunits)))
				return SMSPARTS_DUPLICATE;
		}
		if (p->ngroups >= p->max_groups)
			deliver(p, p->groups, now);
		g = xcalloc(1, sizeof(*g));
		g->line = xstrdup(in->line);
		g->sender = xstrdup(in->sender);
		g->ref = in->ref;
		g->ref16 = in->ref16;
		g->total = in->total;
		g->first = now;
		g->parts = xcalloc(in->total, sizeof(*g->parts));
		for (tail = &p->groups; *tail; tail = &(*tail)->next)
			;
		*tail = g;
		p->ngroups++;
	}
	pt = &g->parts[idx];
	if (pt->have) {
		if (pt->nunits == clamp_units(in->nunits) &&
		    memcmp(pt->text, in->text, 2 * pt->nunits) == 0)
			return SMSPARTS_DUPLICATE;
		/*
		 * Another text under the same key: the sender reused the reference
		 * for a new message. What waited is delivered as it is; this part
		 * starts the new message.
		 */
		deliver(p, g, now);
		return smsparts_add(p, in, now);
	}
	pt->have = true;
	pt->nunits = clamp_units(in->nunits);
	pt->text = xmalloc(2 * pt->nunits + 2);
	memcpy(pt->text, in->text, 2 * pt->nunits);
	g->have++;
	if (in->stamp && (g->stamp == 0 || in->stamp < g->stamp))
		g->stamp = in->stamp;
	g->tokens = xreallocarray(g->tokens, g->ntokens + 1, sizeof(*g->tokens));
	g->tokens[g->ntokens++] = in->token;
	if (g->have == g->total) {
		deliver(p, g, now);
		return SMSPARTS_READY;
	}
	return SMSPARTS_WAITING;
}

size_t
smsparts_expire(struct smsparts *p, time_t now)
{
	struct group *g, *next;
	size_t n = 0;

	for (g = p->groups; g; g = next) {
		next = g->next;
		if (now - g->first >= p->timeout) {
			deliver(p, g, now);
			n++;
		}
	}
	return n;
}

time_t
smsparts_deadline(const struct smsparts *p)
{
	const struct group *g;
	time_t t = 0;

	for (g = p->groups; g; g = g->next)
		if (t == 0 || g->first + p->timeout < t)
			t = g->first + p->timeout;
	return t;
}

size_t
smsparts_pending(const struct smsparts *p)
{
	return p->ngroups;
}
