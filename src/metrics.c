/*
 * /metrics in the Prometheus text format ([metrics] listen), served by
 * libevent's evhttp on the daemon's loop: it answers whatever the XMPP
 * server, the networks or the users do. Every figure is read when scraped
 * (counters the core keeps anyway, two cheap store queries per network
 * and direction); nothing is collected in between.
 */
#include "config.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "component.h"
#include "core.h"
#include "metrics.h"
#include "rooms.h"
#include "store.h"
#include "users.h"

static struct evhttp *http;

static const struct {
	const char *label;
	enum store_dir dir;
} directions[] = {{"to_network", STORE_TO_NET}, {"to_xmpp", STORE_TO_XMPP}};

static void
family(struct evbuffer *b, const char *name, const char *type, const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Label values are our own names and JIDs: no quote, backslash or newline to escape. */
static void
per_net(struct evbuffer *b, const char *name, const char *type, const char *help,
        double (*value)(struct gw_net *))
{
	family(b, name, type, help);
	for (size_t i = 0; i < core.nnets; i++)
		evbuffer_add_printf(b, "%s{network=\"%s\"} %.17g\n", name, core.nets[i]->drv->name,
		                    value(core.nets[i]));
}

static double
component_up(struct gw_net *net)
{
	return net->comp && component_is_online(net->comp) ? 1 : 0;
}

static double
component_connects_total(struct gw_net *net)
{
	return net->comp ? (double)component_connects(net->comp) : 0;
}

static double
users_registered(struct gw_net *net)
{
	long n = store_user_count(core.store, net->drv->name);

	return n < 0 ? 0 : (double)n;
}

static double
users_online(struct gw_net *net)
{
	return (double)gateway_online_count(net);
}

static double
rooms_joined(struct gw_net *net)
{
	return (double)rooms_count(net);
}

static double
messages_failed(struct gw_net *net)
{
	return (double)net->msgs_failed;
}

static void
per_direction(struct evbuffer *b)
{
	time_t now = time(NULL);

	family(b, "stanzagate_messages_relayed_total", "counter",
	       "Messages handed to the other side, per network and direction.");
	for (size_t i = 0; i < core.nnets; i++) {
		struct gw_net *net = core.nets[i];

		evbuffer_add_printf(
		        b,
		        "stanzagate_messages_relayed_total{network=\"%s\",direction=\"to_"
		        "network\"} %lu\n"
		        "stanzagate_messages_relayed_total{network=\"%s\",direction=\"to_"
		        "xmpp\"} %lu\n",
		        net->drv->name, net->msgs_to_net, net->drv->name, net->msgs_to_xmpp);
	}
	family(b, "stanzagate_queue_messages", "gauge",
	       "Messages in the durable queue (held ones for offline users included).");
	for (size_t i = 0; i < core.nnets; i++)
		for (size_t d = 0; d < 2; d++) {
			long n = delivery_queued(core.nets[i], directions[d].dir);

			evbuffer_add_printf(
			        b,
			        "stanzagate_queue_messages{network=\"%s\",direction=\"%s\"} "
			        "%ld\n",
			        core.nets[i]->drv->name, directions[d].label, n < 0 ? 0 : n);
		}
	family(b, "stanzagate_queue_oldest_age_seconds", "gauge",
	       "Age of the oldest message waiting for delivery (not held); 0 when none.");
	for (size_t i = 0; i < core.nnets; i++)
		for (size_t d = 0; d < 2; d++) {
			time_t t = store_queue_oldest(core.store, directions[d].dir,
			                              core.nets[i]->drv->name);

			evbuffer_add_printf(b,
			                    "stanzagate_queue_oldest_age_seconds{network=\"%s\","
			                    "direction=\"%s\"} %lld\n",
			                    core.nets[i]->drv->name, directions[d].label,
			                    t > 0 && now > t ? (long long)(now - t) : 0LL);
		}
	family(b, "stanzagate_stanzas_total", "counter",
	       "Stanzas on the component link, per network and direction.");
	for (size_t i = 0; i < core.nnets; i++) {
		unsigned long in = 0, out = 0;

		if (core.nets[i]->comp)
			component_counters(core.nets[i]->comp, &in, &out);
		evbuffer_add_printf(
		        b,
		        "stanzagate_stanzas_total{network=\"%s\",direction=\"in\"} %lu\n"
		        "stanzagate_stanzas_total{network=\"%s\",direction=\"out\"} %lu\n",
		        core.nets[i]->drv->name, in, core.nets[i]->drv->name, out);
	}
}

static void
foreign_links(struct evbuffer *b)
{
	family(b, "stanzagate_network_links", "gauge",
	       "The networks' own connections (IRC servers, IMAP sessions, modem lines) up, and "
	       "down (connecting or waiting to reconnect).");
	for (size_t i = 0; i < core.nnets; i++) {
		struct gw_net *net = core.nets[i];
		unsigned up = 0, down = 0;

		if (net->drv->links == NULL || !net->started)
			continue;
		net->drv->links(net, &up, &down);
		evbuffer_add_printf(b,
		                    "stanzagate_network_links{network=\"%s\",state=\"up\"} %u\n"
		                    "stanzagate_network_links{network=\"%s\",state=\"down\"} %u\n",
		                    net->drv->name, up, net->drv->name, down);
	}
}

static size_t
open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	size_t n = 0;

	if (d == NULL)
		return 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n > 3 ? n - 3 : 0; /* ".", ".." and the directory's own descriptor */
}

static void
process(struct evbuffer *b)
{
	struct rusage ru;
	struct rlimit rl;
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	getrusage(RUSAGE_SELF, &ru);
	family(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
	evbuffer_add_printf(b, "process_resident_memory_bytes %ld\n", rss * sysconf(_SC_PAGESIZE));
	family(b, "process_cpu_seconds_total", "counter", "User and system CPU time in seconds.");
	evbuffer_add_printf(b, "process_cpu_seconds_total %.6f\n",
	                    (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	                            (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	family(b, "process_start_time_seconds", "gauge", "Start time since the epoch, in seconds.");
	evbuffer_add_printf(b, "process_start_time_seconds %lld\n", (long long)core.started);
	family(b, "process_open_fds", "gauge", "Open file descriptors.");
	evbuffer_add_printf(b, "process_open_fds %zu\n", open_fds());
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		family(b, "process_max_fds", "gauge", "Limit of open file descriptors.");
		evbuffer_add_printf(b, "process_max_fds %llu\n", (unsigned long long)rl.rlim_cur);
	}
}

static void
metrics_write(struct evbuffer *b)
{
	unsigned long commits;
	double secs;

	family(b, "stanzagate_info", "gauge", "The running version.");
	evbuffer_add_printf(b, "stanzagate_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
	per_net(b, "stanzagate_component_up", "gauge",
	        "1 while the gateway's component link to the XMPP server is up.", component_up);
	per_net(b, "stanzagate_component_connects_total", "counter",
	        "Handshakes the XMPP server accepted (reconnects are this minus one).",
	        component_connects_total);
	per_net(b, "stanzagate_users_registered", "gauge", "Registered users.", users_registered);
	per_net(b, "stanzagate_users_online", "gauge",
	        "Registered users with an available resource.", users_online);
	per_net(b, "stanzagate_rooms_joined", "gauge", "Rooms (channels) users are in.",
	        rooms_joined);
	per_net(b, "stanzagate_messages_failed_total", "counter",
	        "Messages that finally failed (the user was told).", messages_failed);
	per_direction(b);
	foreign_links(b);
	store_commit_stats(core.store, &commits, &secs);
	family(b, "stanzagate_store_commit_seconds", "summary",
	       "Time of the store's commits (each holds a loop turn's writes).");
	evbuffer_add_printf(b, "stanzagate_store_commit_seconds_count %lu\n", commits);
	evbuffer_add_printf(b, "stanzagate_store_commit_seconds_sum %.6f\n", secs);
	process(b);
}

static void
metrics_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer *b;

	(void)arg;
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET &&
	    evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
		evhttp_send_error(req, 405, "Only GET");
		return;
	}
	b = evbuffer_new();
	metrics_write(b);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	                  "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

static void
other_cb(struct evhttp_request *req, void *arg)
{
	(void)arg;
	evhttp_send_error(req, 404, "Only /metrics is served here");
}

int
metrics_start(struct event_base *base, const char *listen)
{
	struct sockaddr_storage ss;
	struct evconnlistener *l;
	int len = (int)sizeof(ss);

	if (listen == NULL || *listen == '\0')
		return 0;
	if (evutil_parse_sockaddr_port(listen, (struct sockaddr *)&ss, &len) == -1) {
		log_warnx("metrics: listen = %s: not an address:port", listen);
		return -1;
	}
	l = evconnlistener_new_bind(
	        base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	        16, (struct sockaddr *)&ss, len);
	if (l == NULL) {
		log_warn("metrics: cannot listen on %s", listen);
		return -1;
	}
	http = evhttp_new(base);
	/* A scrape is one small request: a client that holds its connection gets cut. */
	evhttp_set_timeout(http, 30);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_cb(http, "/metrics", metrics_cb, NULL);
	evhttp_set_gencb(http, other_cb, NULL);
	if (evhttp_bind_listener(http, l) == NULL) {
		evconnlistener_free(l);
		evhttp_free(http);
		http = NULL;
		log_warnx("metrics: cannot serve on %s", listen);
		return -1;
	}
	log_info("metrics: serving /metrics on %s", listen);
	return 0;
}

void
metrics_stop(void)
{
	if (http)
		evhttp_free(http);
	http = NULL;
}
