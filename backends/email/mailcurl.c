/*
 * The multi-socket glue: curl tells which sockets to watch and when its
 * timeout fires (CURLMOPT_SOCKETFUNCTION / TIMERFUNCTION); libevent tells
 * curl what happened (curl_multi_socket_action). Finished transfers are
 * collected after each action and handed to their callbacks.
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>

#include <event2/event.h>

#include "driver.h"
#include "mailcurl.h"

struct mcurl {
	CURLM *multi;
	struct event_base *base;
	struct event *timer;
	unsigned running;
};

struct job {
	mcurl_done_fn done;
	void *arg;
	bool keep; /* CONNECT_ONLY: stays in the multi after done */
	bool finished;
};

/* One watched socket: curl's per-socket pointer (curl_multi_assign). */
struct watch {
	struct event *ev;
	struct mcurl *mc;
};

static void
collect(struct mcurl *mc)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(mc->multi, &left)) != NULL) {
		CURL *easy;
		CURLcode rc;
		struct job *j = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		easy = msg->easy_handle;
		rc = msg->data.result;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&j);
		if (j && j->keep && rc == CURLE_OK) {
			if (!j->finished) {
				j->finished = true;
				j->done(easy, rc, j->arg);
			}
			continue;
		}
		curl_multi_remove_handle(mc->multi, easy);
		curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
		mc->running--;
		if (j && j->finished) {
			free(j);
			continue;
		}
		if (j) {
			mcurl_done_fn done = j->done;
			void *arg = j->arg;

			free(j);
			done(easy, rc, arg);
		}
	}
}

static void
event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mcurl *mc = arg;
	int flags = 0, still;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(mc->multi, fd, flags, &still);
	collect(mc);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mcurl *mc = arg;
	int still;

	(void)fd;
	(void)what;
	curl_multi_socket_action(mc->multi, CURL_SOCKET_TIMEOUT, 0, &still);
	collect(mc);
}

static int
socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct mcurl *mc = userp;
	struct watch *w = socketp;
	short kind = EV_PERSIST;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (w) {
			event_free(w->ev);
			free(w);
			curl_multi_assign(mc->multi, s, NULL);
		}
		return 0;
	}
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (w == NULL) {
		w = xcalloc(1, sizeof(*w));
		w->mc = mc;
		curl_multi_assign(mc->multi, s, w);
	} else
		event_free(w->ev);
	w->ev = event_new(mc->base, s, kind, event_cb, mc);
	event_add(w->ev, NULL);
	return 0;
}

static int
timerfunc_cb(CURLM *multi, long ms, void *userp)
{
	struct mcurl *mc = userp;
	struct timeval tv;

	(void)multi;
	if (ms < 0) {
		evtimer_del(mc->timer);
		return 0;
	}
	/* 0 means "now": still go through the loop, never act inside curl's call. */
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(mc->timer, &tv);
	return 0;
}

struct mcurl *
mcurl_new(struct event_base *base)
{
	struct mcurl *mc = xcalloc(1, sizeof(*mc));

	mc->base = base;
	mc->multi = curl_multi_init();
	if (mc->multi == NULL)
		fatalx("email: curl_multi_init failed");
	mc->timer = evtimer_new(base, timer_cb, mc);
	curl_multi_setopt(mc->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(mc->multi, CURLMOPT_SOCKETDATA, mc);
	curl_multi_setopt(mc->multi, CURLMOPT_TIMERFUNCTION, timerfunc_cb);
	curl_multi_setopt(mc->multi, CURLMOPT_TIMERDATA, mc);
	/* Several accounts on one server: keep their logged-in connections for reuse. */
	curl_multi_setopt(mc->multi, CURLMOPT_MAXCONNECTS, 4096L);
	return mc;
}

void
mcurl_add(struct mcurl *mc, CURL *easy, mcurl_done_fn done, void *arg)
{
	struct job *j = xcalloc(1, sizeof(*j));

	j->done = done;
	j->arg = arg;
	curl_easy_setopt(easy, CURLOPT_PRIVATE, (char *)j);
	if (curl_multi_add_handle(mc->multi, easy) != CURLM_OK)
		fatalx("email: curl_multi_add_handle failed");
	mc->running++;
}

void
mcurl_add_connect(struct mcurl *mc, CURL *easy, mcurl_done_fn done, void *arg)
{
	struct job *j;

	mcurl_add(mc, easy, done, arg);
	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&j);
	j->keep = true;
}

void
mcurl_cancel(struct mcurl *mc, CURL *easy)
{
	struct job *j = NULL;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&j);
	if (j == NULL)
		return; /* not running */
	curl_multi_remove_handle(mc->multi, easy);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
	free(j);
	mc->running--;
}

unsigned
mcurl_running(const struct mcurl *mc)
{
	return mc->running;
}

void
mcurl_free(struct mcurl *mc)
{
	if (mc == NULL)
		return;
	/* The owners of still-running transfers cancel them in their own stop paths. */
	curl_multi_cleanup(mc->multi);
	event_free(mc->timer);
	free(mc);
}
