/*
 * The daemon's name resolution, on the loop. Addresses (the XMPP server,
 * IRC servers, upload services) go through one libevent evdns base;
 * service records (RFC 2782 SRV, which evdns cannot ask for: RFC 6186
 * mail servers) through one c-ares channel whose sockets are watched by
 * libevent events and whose timeouts by one timer. Both use the name
 * servers of [dns] nameservers, else those of /etc/resolv.conf.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <ares.h>
#include <arpa/nameser.h>
#include <event2/dns.h>
#include <event2/event.h>

#include "core.h"
#include "resolve.h"

#define SRV_MAX 16 /* records kept per answer: more is a misconfigured zone */

struct sock_watch {
	ares_socket_t fd;
	struct event *ev;
	struct sock_watch *next;
};

struct gw_srv_query {
	gw_srv_cb *cb;
	void *arg;
	bool cancelled; /* the caller lost interest: free when c-ares answers */
	bool answered;  /* c-ares answered: the result waits in a later turn */
	struct gw_srv_record recs[SRV_MAX];
	size_t n;
	char *why;
	struct event *deliver;
	struct gw_srv_query *prev, *next; /* every query not yet freed */
};

static struct {
	struct event_base *base;
	struct evdns_base *evdns;
	ares_channel channel;
	bool ares_ok;
	struct sock_watch *socks;
	struct event *timer;
	struct gw_srv_query *queries;
} R;

static void process_timeouts(void);

static void
sock_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)arg;
	ares_process_fd(R.channel, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
	                (what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	process_timeouts();
}

/* c-ares says which of its sockets it waits on, and for what. */
static void
sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
	struct sock_watch **pw, *w;

	(void)data;
	for (pw = &R.socks; *pw && (*pw)->fd != fd; pw = &(*pw)->next)
		;
	w = *pw;
	if (w) {
		event_free(w->ev);
		if (!readable && !writable) {
			*pw = w->next;
			free(w);
			return;
		}
	} else {
		if (!readable && !writable)
			return;
		w = xcalloc(1, sizeof(*w));
		w->fd = fd;
		w->next = R.socks;
		R.socks = w;
	}
	w->ev = event_new(R.base, fd,
	                  EV_PERSIST | (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0),
	                  sock_cb, NULL);
	event_add(w->ev, NULL);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	ares_process_fd(R.channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	process_timeouts();
}

/* Retries and timeouts are c-ares's: wake it when its next one is due. */
static void
process_timeouts(void)
{
	struct timeval tv, *next;

	if (!R.ares_ok)
		return;
	next = ares_timeout(R.channel, NULL, &tv);
	if (next)
		evtimer_add(R.timer, next);
	else
		evtimer_del(R.timer);
}

static void
query_free(struct gw_srv_query *q)
{
	if (q->prev)
		q->prev->next = q->next;
	else
		R.queries = q->next;
	if (q->next)
		q->next->prev = q->prev;
	for (size_t i = 0; i < q->n; i++)
		free(q->recs[i].target);
	free(q->why);
	if (q->deliver)
		event_free(q->deliver);
	free(q);
}

static void
deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gw_srv_query *q = arg;

	(void)fd;
	(void)what;
	if (!q->cancelled)
		q->cb(q->arg, q->recs, q->n, q->why);
	query_free(q);
}

/* RFC 2782: the lowest priority first; among equals, the heaviest first. */
static int
srv_order(const void *a, const void *b)
{
	const struct gw_srv_record *x = a, *y = b;

	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return (int)y->weight - (int)x->weight;
}

static void
answer_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct gw_srv_query *q = arg;
	struct ares_srv_reply *list = NULL;
	static const struct timeval now;

	(void)timeouts;
	q->answered = true;
	if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) {
		/* Shutting down: nobody is left to answer. */
		query_free(q);
		return;
	}
	if (status == ARES_SUCCESS)
		status = ares_parse_srv_reply(abuf, alen, &list);
	if (status == ARES_SUCCESS) {
		for (struct ares_srv_reply *r = list; r && q->n < SRV_MAX; r = r->next) {
			/* A target of "." says the service is not offered (RFC 2782). */
			if (r->host == NULL || r->host[0] == '\0' || strcmp(r->host, ".") == 0)
				continue;
			q->recs[q->n].target = xstrdup(r->host);
			q->recs[q->n].port = r->port;
			q->recs[q->n].priority = r->priority;
			q->recs[q->n].weight = r->weight;
			q->n++;
		}
		ares_free_data(list);
		qsort(q->recs, q->n, sizeof(q->recs[0]), srv_order);
	} else if (status == ARES_ENOTFOUND || status == ARES_ENODATA)
		q->n = 0; /* no such records: an answer, not a failure */
	else
		q->why = xstrdup(ares_strerror(status));
	/* c-ares may answer inside ares_query(): the caller hears it in a later turn. */
	q->deliver = evtimer_new(R.base, deliver_cb, q);
	evtimer_add(q->deliver, &now);
}

struct gw_srv_query *
gw_resolve_srv(const char *name, gw_srv_cb *cb, void *arg)
{
	struct gw_srv_query *q = xcalloc(1, sizeof(*q));
	static const struct timeval now;

	q->cb = cb;
	q->arg = arg;
	q->next = R.queries;
	if (q->next)
		q->next->prev = q;
	R.queries = q;
	if (!R.ares_ok) {
		q->answered = true;
		q->why = xstrdup("the daemon has no resolver for service records");
		q->deliver = evtimer_new(R.base, deliver_cb, q);
		evtimer_add(q->deliver, &now);
		return q;
	}
	ares_query(R.channel, name, ns_c_in, ns_t_srv, answer_cb, q);
	process_timeouts();
	return q;
}

void
gw_resolve_cancel(struct gw_srv_query *q)
{
	if (q == NULL)
		return;
	if (q->answered && q->deliver) {
		query_free(q);
		return;
	}
	q->cancelled = true;
	q->cb = NULL;
}

struct evdns_base *
gw_dns_base(void)
{
	return R.evdns;
}

/* "host" or "host:port", IPv6 as "[addr]:port" (evdns's and c-ares's own syntax). */
static int
set_nameservers(const char *const *servers)
{
	char *csv = NULL;

	if (servers == NULL || *servers == NULL)
		return 0;
	evdns_base_clear_nameservers_and_suspend(R.evdns);
	for (const char *const *s = servers; *s; s++) {
		char *next;

		if (evdns_base_nameserver_ip_add(R.evdns, *s) != 0) {
			log_warnx("dns: nameserver '%s' is not an address[:port]", *s);
			free(csv);
			return -1;
		}
		next = csv ? xasprintf("%s,%s", csv, *s) : xstrdup(*s);
		free(csv);
		csv = next;
	}
	evdns_base_resume(R.evdns);
	if (R.ares_ok && ares_set_servers_ports_csv(R.channel, csv) != ARES_SUCCESS) {
		log_warnx("dns: c-ares refused the name servers '%s'", csv);
		free(csv);
		return -1;
	}
	free(csv);
	return 0;
}

int
resolve_init(struct event_base *base, const char *const *nameservers)
{
	struct ares_options opts;
	int rc;

	memset(&R, 0, sizeof(R));
	R.base = base;
	/* /etc/hosts and the search list stay, even when the name servers are given. */
	R.evdns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	if (R.evdns == NULL) {
		log_warnx("no DNS resolver configured: servers must be given as addresses");
		return 0;
	}
	rc = ares_library_init(ARES_LIB_INIT_ALL);
	if (rc == ARES_SUCCESS) {
		memset(&opts, 0, sizeof(opts));
		opts.sock_state_cb = sock_state_cb;
		/* 2 + 4 + 8 s: c-ares's default (4 tries from 5 s) keeps a form waiting 75 s. */
		opts.timeout = 2000;
		opts.tries = 3;
		rc = ares_init_options(&R.channel, &opts,
		                       ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS |
		                               ARES_OPT_TRIES);
	}
	if (rc == ARES_SUCCESS) {
		R.ares_ok = true;
		R.timer = evtimer_new(base, timer_cb, NULL);
	} else
		log_warnx("dns: c-ares: %s: no service records (SRV) can be looked up",
		          ares_strerror(rc));
	return set_nameservers(nameservers);
}

void
resolve_shutdown(void)
{
	if (R.ares_ok) {
		/* Answers every waiting query with ARES_EDESTRUCTION: each frees itself. */
		ares_destroy(R.channel);
		ares_library_cleanup();
		event_free(R.timer);
	}
	/* Answered, waiting for their turn that will not come. */
	while (R.queries)
		query_free(R.queries);
	while (R.socks) {
		struct sock_watch *w = R.socks;

		R.socks = w->next;
		event_free(w->ev);
		free(w);
	}
	if (R.evdns)
		evdns_base_free(R.evdns, 0);
	memset(&R, 0, sizeof(R));
}
