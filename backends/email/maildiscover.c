/*
 * RFC 6186 discovery: up to four SRV lookups at once (_imaps, _imap,
 * _submissions, _submission under the address's domain), through the
 * daemon's resolver, and the pick of one URL per server.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maildiscover.h"

enum { Q_IMAPS, Q_IMAP, Q_SUBMISSIONS, Q_SUBMISSION, Q_MAX };

static const char *const service[Q_MAX] = {"_imaps._tcp", "_imap._tcp", "_submissions._tcp",
                                           "_submission._tcp"};

struct answer {
	struct mail_discover *d;
	struct gw_srv_query *q; /* NULL once answered (or never asked) */
	struct gw_srv_record *recs;
	size_t n;
};

struct mail_discover {
	struct answer a[Q_MAX];
	int left;
	char *why;
	mail_discover_cb *cb;
	void *arg;
};

static const struct gw_srv_record *
best(const struct gw_srv_record *r, size_t n)
{
	return n > 0 ? &r[0] : NULL;
}

char *
mail_srv_pick(const struct gw_srv_record *tls, size_t ntls, const char *tls_scheme,
              const struct gw_srv_record *starttls, size_t nstarttls, const char *starttls_scheme)
{
	const struct gw_srv_record *t = best(tls, ntls), *s = best(starttls, nstarttls);
	const char *scheme = tls_scheme;

	if (s && (t == NULL || s->priority < t->priority)) {
		t = s;
		scheme = starttls_scheme;
	}
	if (t == NULL)
		return NULL;
	return xasprintf("%s://%s:%u", scheme, t->target, t->port);
}

static void
records_free(struct answer *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->recs[i].target);
	free(a->recs);
	a->recs = NULL;
	a->n = 0;
}

static void
discover_free(struct mail_discover *d)
{
	for (int i = 0; i < Q_MAX; i++) {
		gw_resolve_cancel(d->a[i].q);
		records_free(&d->a[i]);
	}
	free(d->why);
	free(d);
}

static void
answered(void *arg, const struct gw_srv_record *recs, size_t n, const char *why)
{
	struct answer *a = arg;
	struct mail_discover *d = a->d;
	char *imap = NULL, *smtp = NULL;

	a->q = NULL;
	if (why && d->why == NULL)
		d->why = xstrdup(why);
	a->recs = xcalloc(n ? n : 1, sizeof(*a->recs));
	for (size_t i = 0; i < n; i++) {
		a->recs[i] = recs[i];
		a->recs[i].target = xstrdup(recs[i].target);
	}
	a->n = n;
	if (--d->left > 0)
		return;
	imap = mail_srv_pick(d->a[Q_IMAPS].recs, d->a[Q_IMAPS].n, "imaps", d->a[Q_IMAP].recs,
	                     d->a[Q_IMAP].n, "imap");
	smtp = mail_srv_pick(d->a[Q_SUBMISSIONS].recs, d->a[Q_SUBMISSIONS].n, "smtps",
	                     d->a[Q_SUBMISSION].recs, d->a[Q_SUBMISSION].n, "smtp");
	d->cb(d->arg, imap, smtp, d->why);
	free(imap);
	free(smtp);
	discover_free(d);
}

struct mail_discover *
mail_discover(const char *domain, bool imap, bool smtp, mail_discover_cb *cb, void *arg)
{
	struct mail_discover *d = xcalloc(1, sizeof(*d));

	d->cb = cb;
	d->arg = arg;
	for (int i = 0; i < Q_MAX; i++) {
		bool want = (i == Q_IMAPS || i == Q_IMAP) ? imap : smtp;

		d->a[i].d = d;
		if (want)
			d->left++;
	}
	/* Counted first: every answer comes in a later turn, but the count must be whole. */
	for (int i = 0; i < Q_MAX; i++) {
		bool want = (i == Q_IMAPS || i == Q_IMAP) ? imap : smtp;
		char *name;

		if (!want)
			continue;
		name = xasprintf("%s.%s", service[i], domain);
		d->a[i].q = gw_resolve_srv(name, answered, &d->a[i]);
		free(name);
	}
	return d;
}

void
mail_discover_cancel(struct mail_discover *d)
{
	if (d)
		discover_free(d);
}
