/*
 * XEP-0114 component links on libstrophe, driven by libevent; see
 * component.h for the traps this file exists to contain.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include "component.h"
#include "driver.h"
#include "stanza.h"
#include "log.h"
#include "xmalloc.h"

enum comp_state {
	COMP_IDLE,       /* not started, or stopped */
	COMP_RESOLVING,  /* waiting for the server's address */
	COMP_CONNECTING, /* TCP connect and handshake under way */
	COMP_ONLINE,     /* handshake accepted */
	COMP_BACKOFF,    /* waiting before the next attempt */
	COMP_CLOSING,    /* our stream is closed; reading until the server closes its side */
};

static const char *const state_names[] = {
        [COMP_IDLE] = "idle",
        [COMP_RESOLVING] = "resolving",
        [COMP_CONNECTING] = "connecting",
        [COMP_ONLINE] = "online",
        [COMP_BACKOFF] = "waiting to reconnect",
        [COMP_CLOSING] = "closing",
};

struct barrier {
	struct barrier *next;
	unsigned long seq;
	void (*cb)(void *, bool);
	void *arg;
};

struct component {
	char *jid, *secret, *server;
	unsigned short port;
	int reconnect_max;
	struct component_cbs cbs;
	void *arg;

	enum comp_state state;
	xmpp_conn_t *conn;
	bool sm_workaround_done;
	int fd;          /* the connection's socket, -1 when none */
	int placeholder; /* keeps a low descriptor for the next socket */
	struct event *ev_io, *ev_retry;
	struct evdns_getaddrinfo_request *dns_req;
	char addr[INET6_ADDRSTRLEN];
	int backoff; /* seconds before the next attempt */

	struct strbuf out; /* stanzas of this loop turn, handed over by flush_cb() */
	struct barrier *barriers, **barriers_tail;
	unsigned long barrier_seq;
	unsigned long stanzas_in, stanzas_out;
	unsigned long connects; /* handshakes accepted since start */
};

static struct event_base *base;
static struct evdns_base *dns;
static xmpp_ctx_t *ctx;
static xmpp_log_t strophe_log;
static struct event *ev_flush, *ev_tick;

/* Few components exist; the sockopt callback finds its own by connection. */
#define MAX_COMPONENTS 16
static struct component *components[MAX_COMPONENTS];

static void comp_set_state(struct component *, enum comp_state);
static void comp_connect(struct component *);
static void comp_schedule_retry(struct component *);
static void retry_cb(evutil_socket_t, short, void *);
static void flush_soon(void);

/* libstrophe's log, into ours: its debug output only at -vv. */
static void
strophe_log_cb(void *ud, xmpp_log_level_t level, const char *area, const char *msg)
{
	char buf[512];

	switch (level) {
	case XMPP_LEVEL_ERROR:
		log_warnx("libstrophe %s: %s", area, log_escape(buf, sizeof(buf), msg));
		break;
	case XMPP_LEVEL_WARN:
		log_info("libstrophe %s: %s", area, log_escape(buf, sizeof(buf), msg));
		break;
	default:
		if (log_get_verbosity() >= 2) {
			/* Traces show stanzas: a registration form's password among them. */
			char *safe = log_redact_xml(msg);

			log_trace("libstrophe %s: %s", area, log_escape(buf, sizeof(buf), safe));
			free(safe);
		}
		break;
	}
}

/*
 * libstrophe formats every log line it makes, whatever the level, before
 * its handler sees it: a "RECV:"/"SENT:" line with the whole stanza for
 * every stanza in and out, about a fifth of the gateway's work per relayed
 * message. Only a NULL handler skips that, so the handler is installed
 * only at -vv (verbosity 2), where those traces are wanted. Below it, what
 * libstrophe would have said of a lost link, conn_cb() says itself.
 */
static void
strophe_log_sync(void)
{
	strophe_log.handler = log_get_verbosity() >= 2 ? strophe_log_cb : NULL;
}

/* Gives libstrophe a turn: reads what is readable, writes what is queued. */
static void
run_strophe(void)
{
	strophe_log_sync();
	xmpp_run_once(ctx, 0);
}

static void
update_io_events(struct component *c)
{
	short what = EV_READ | EV_PERSIST;

	if (c->fd == -1 || c->ev_io == NULL)
		return;
	/* Writable matters while connecting and while libstrophe holds unsent data. */
	if (c->state == COMP_CONNECTING || (c->conn && xmpp_conn_send_queue_len(c->conn) > 0))
		what |= EV_WRITE;
	if (event_get_events(c->ev_io) != what) {
		event_del(c->ev_io);
		event_assign(c->ev_io, base, c->fd, what, event_get_callback(c->ev_io), c);
		event_add(c->ev_io, NULL);
	}
}

static void
io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct component *c = arg;

	/*
	 * ACK at once what we read. The answer to a barrier is the last thing
	 * the server sends before the next user's message; with our ACK
	 * delayed, the server's Nagle holds that message for ~40 ms. Linux
	 * clears TCP_QUICKACK after use, hence on every wake-up.
	 */
	if (what & EV_READ) {
		int on = 1;

		setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &on, sizeof(on));
	}
	run_strophe();
	/* The callbacks run_strophe() fired may have closed our socket. */
	if (c->fd != -1)
		update_io_events(c);
}

/*
 * Hands the turn's stanzas to libstrophe as one piece: it writes each
 * piece with its own send(), which was one system call per stanza.
 */
static void
out_flush(struct component *c)
{
	if (c->out.len == 0)
		return;
	if (c->state == COMP_ONLINE)
		xmpp_send_raw(c->conn, c->out.p, c->out.len);
	c->out.len = 0;
	if (c->out.cap > 64 * 1024) {
		/* A burst's buffer is not kept for ever. */
		free(c->out.p);
		c->out = (struct strbuf){NULL, 0, 0};
	}
}

/* Flushes every component's queue once per loop iteration, after all sends. */
static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	for (size_t i = 0; i < MAX_COMPONENTS; i++)
		if (components[i])
			out_flush(components[i]);
	run_strophe();
	/*
	 * That run wrote the turn's stanzas, and may have read the answer to
	 * the barrier among them, which io_cb() then never sees: send its ACK
	 * now (TCP_QUICKACK sends one that is pending), or the server's Nagle
	 * holds the next user's message until our delayed ACK, ~40 ms.
	 */
	for (size_t i = 0; i < MAX_COMPONENTS; i++) {
		struct component *c = components[i];
		int on = 1;

		if (c && c->state == COMP_ONLINE && c->fd != -1)
			setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &on, sizeof(on));
	}
}

static void
flush_soon(void)
{
	if (!event_pending(ev_flush, EV_TIMEOUT, NULL))
		event_active(ev_flush, EV_TIMEOUT, 0);
}

/* libstrophe's own timers (connect timeout, keepalive) need a regular turn. */
static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	run_strophe();
}

void
component_global_init(struct event_base *b)
{
	struct timeval second = {1, 0};

	base = b;
	xmpp_initialize();
	strophe_log.userdata = NULL;
	strophe_log_sync();
	ctx = xmpp_ctx_new(NULL, &strophe_log);
	if (ctx == NULL)
		fatalx("libstrophe: cannot create a context");
	/* Stanza traces cost a serialisation per stanza: only at -vv. */
	xmpp_ctx_set_verbosity(ctx, log_get_verbosity() >= 2 ? 1 : 0);
	dns = gw_dns_base();
	ev_flush = event_new(base, -1, 0, flush_cb, NULL);
	ev_tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
	event_add(ev_tick, &second);
}

void
component_global_shutdown(void)
{
	if (ev_flush)
		event_free(ev_flush);
	if (ev_tick)
		event_free(ev_tick);
	ev_flush = ev_tick = NULL;
	dns = NULL;
	if (ctx)
		xmpp_ctx_free(ctx);
	ctx = NULL;
	xmpp_shutdown();
}

xmpp_ctx_t *
component_ctx(void)
{
	return ctx;
}

static void
comp_set_state(struct component *c, enum comp_state s)
{
	if (c->state == s)
		return;
	log_debug("component %s: %s -> %s", c->jid, state_names[c->state], state_names[s]);
	c->state = s;
}

static int
open_placeholder(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd == -1)
		log_warn("open /dev/null");
	return fd;
}

/*
 * Called by libstrophe right after it creates the socket: the one place
 * its descriptor is visible. A descriptor select() cannot hold would abort
 * the process inside libstrophe, so refuse it.
 */
static int
sockopt_cb(xmpp_conn_t *conn, void *sockp)
{
	int fd = *(int *)sockp;

	if (fd >= FD_SETSIZE) {
		log_warnx("XMPP component socket got descriptor %d (limit %d): refusing it", fd,
		          FD_SETSIZE);
		return -1;
	}
	/*
	 * libstrophe writes each stanza with its own send(): without NODELAY,
	 * Nagle holds the second until the server's delayed ACK (~40 ms).
	 */
	{
		int on = 1;

		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	}
	for (size_t i = 0; i < MAX_COMPONENTS; i++) {
		struct component *c = components[i];

		if (c == NULL || c->conn != conn)
			continue;
		c->fd = fd;
		if (c->ev_io)
			event_free(c->ev_io);
		c->ev_io = event_new(base, fd, EV_READ | EV_WRITE | EV_PERSIST, io_cb, c);
		event_add(c->ev_io, NULL);
	}
	return 0;
}

/* The trap workaround's callback: make xmpp_connect_client() open nothing. */
static int
sockopt_refuse(xmpp_conn_t *conn, void *sockp)
{
	(void)conn;
	(void)sockp;
	return -1;
}

static void
barriers_fail(struct component *c)
{
	struct barrier *b, *next;

	for (b = c->barriers; b; b = next) {
		next = b->next;
		b->cb(b->arg, false);
		free(b);
	}
	c->barriers = NULL;
	c->barriers_tail = &c->barriers;
}

/* The condition's element name of the stream error the server sent. */
static const char *
stream_error_name(const xmpp_stream_error_t *se)
{
	xmpp_stanza_t *child = se->stanza ? xmpp_stanza_get_children(se->stanza) : NULL;

	for (; child; child = xmpp_stanza_get_next(child)) {
		const char *name = xmpp_stanza_get_name(child);

		if (name && strcmp(name, "text") != 0)
			return name;
	}
	return "undefined-condition";
}

static void
conn_cb(xmpp_conn_t *conn, xmpp_conn_event_t event, int error, xmpp_stream_error_t *se, void *arg)
{
	struct component *c = arg;

	(void)conn;
	switch (event) {
	case XMPP_CONN_CONNECT:
		log_info("component %s: connected to %s port %u", c->jid, c->addr, c->port);
		comp_set_state(c, COMP_ONLINE);
		c->connects++;
		c->backoff = 0;
		if (c->cbs.online)
			c->cbs.online(c->arg);
		break;
	case XMPP_CONN_DISCONNECT:
	case XMPP_CONN_FAIL:
	default:
		if (se != NULL &&
		    (se->type == XMPP_SE_NOT_AUTHORIZED || se->type == XMPP_SE_CONFLICT ||
		     se->type == XMPP_SE_HOST_UNKNOWN)) {
			/* Retrying cannot help: the operator must fix the config. */
			fatalx("component %s: the XMPP server refused it (%s)%s%s", c->jid,
			       se->type == XMPP_SE_NOT_AUTHORIZED ? "wrong secret"
			       : se->type == XMPP_SE_CONFLICT
			               ? "another component holds this name"
			               : "the server does not know this component name",
			       se->text ? ": " : "", se->text ? se->text : "");
		}
		if (c->state == COMP_IDLE || c->state == COMP_CLOSING) {
			log_debug("component %s: disconnected", c->jid);
			comp_set_state(c, COMP_IDLE);
			if (c->ev_io) {
				event_free(c->ev_io);
				c->ev_io = NULL;
			}
			c->fd = -1;
			barriers_fail(c);
			break;
		}
		if (c->state == COMP_ONLINE && se != NULL)
			log_warnx("component %s: connection lost: the XMPP server sent a stream "
			          "error (%s)%s%s",
			          c->jid, stream_error_name(se), se->text ? ": " : "",
			          se->text ? se->text : "");
		else if (c->state == COMP_ONLINE)
			log_warnx("component %s: connection lost%s%s", c->jid, error ? ": " : "",
			          error ? strerror(error) : "");
		else
			log_warnx("component %s: cannot connect to %s port %u%s%s", c->jid, c->addr,
			          c->port, error ? ": " : "", error ? strerror(error) : "");
		if (c->ev_io) {
			event_free(c->ev_io);
			c->ev_io = NULL;
		}
		c->fd = -1;
		if (c->placeholder == -1)
			c->placeholder = open_placeholder();
		{
			bool was_online = c->state == COMP_ONLINE;

			barriers_fail(c);
			if (c->state != COMP_IDLE)
				comp_schedule_retry(c);
			if (was_online && c->cbs.offline)
				c->cbs.offline(c->arg);
		}
		break;
	}
}

/* Barrier iqs come back to us; everything else goes to the owner. */
static int
stanza_cb(xmpp_conn_t *conn, xmpp_stanza_t *stanza, void *arg)
{
	struct component *c = arg;
	const char *name = xmpp_stanza_get_name(stanza);
	const char *id = xmpp_stanza_get_id(stanza);
	const char *from = xmpp_stanza_get_from(stanza);

	(void)conn;
	/*
	 * What the server still sends after we closed our stream is handled
	 * (stored), not dropped: it considers it delivered. Once idle, the
	 * owner may be gone.
	 */
	if (name == NULL || strcmp(name, "handshake") == 0 ||
	    (c->state != COMP_ONLINE && c->state != COMP_CLOSING))
		return 1;
	c->stanzas_in++;
	if (strcmp(name, "iq") == 0 && id && strncmp(id, "sgb-", 4) == 0 && from &&
	    strcmp(from, c->jid) == 0) {
		unsigned long seq = strtoul(id + 4, NULL, 10);

		while (c->barriers && c->barriers->seq <= seq) {
			struct barrier *b = c->barriers;

			c->barriers = b->next;
			if (c->barriers == NULL)
				c->barriers_tail = &c->barriers;
			b->cb(b->arg, true);
			free(b);
		}
		return 1;
	}
	if (c->cbs.stanza)
		c->cbs.stanza(c->arg, stanza);
	return 1;
}

struct component *
component_new(const char *jid, const char *secret, const char *server, unsigned short port,
              int reconnect_max, const struct component_cbs *cbs, void *arg)
{
	struct component *c = xcalloc(1, sizeof(*c));

	c->jid = xstrdup(jid);
	c->secret = xstrdup(secret);
	c->server = xstrdup(server);
	c->port = port;
	c->reconnect_max = reconnect_max > 0 ? reconnect_max : 60;
	c->cbs = *cbs;
	c->arg = arg;
	c->fd = -1;
	/* Taken now, while descriptors are low, and given up at each connect. */
	c->placeholder = open_placeholder();
	c->barriers_tail = &c->barriers;
	c->conn = xmpp_conn_new(ctx);
	xmpp_conn_set_jid(c->conn, c->jid);
	xmpp_conn_set_pass(c->conn, c->secret);
	xmpp_handler_add(c->conn, stanza_cb, NULL, NULL, NULL, c);
	for (size_t i = 0; i < MAX_COMPONENTS; i++)
		if (components[i] == NULL) {
			components[i] = c;
			break;
		}
	c->ev_retry = evtimer_new(base, retry_cb, c);
	return c;
}

/*
 * libstrophe 0.12 never allocates its stream-management state in
 * component mode and then dereferences it. A client connect attempt that
 * our sockopt callback refuses allocates it and leaves the connection
 * disconnected (SPEC section 9).
 */
static void
sm_workaround(struct component *c)
{
	if (c->sm_workaround_done)
		return;
	xmpp_conn_set_sockopt_callback(c->conn, sockopt_refuse);
	xmpp_connect_client(c->conn, "127.0.0.1", 1, NULL, NULL);
	c->sm_workaround_done = true;
	if (!xmpp_conn_is_disconnected(c->conn))
		log_warnx("component %s: libstrophe workaround left the connection open", c->jid);
}

static void
connect_addr(struct component *c)
{
	sm_workaround(c);
	xmpp_conn_set_sockopt_callback(c->conn, sockopt_cb);
	comp_set_state(c, COMP_CONNECTING);
	/* The socket libstrophe is about to create takes this low number. */
	if (c->placeholder != -1) {
		close(c->placeholder);
		c->placeholder = -1;
	}
	strophe_log_sync();
	if (xmpp_connect_component(c->conn, c->addr, c->port, conn_cb, c) != XMPP_EOK) {
		log_warnx("component %s: cannot start connecting to %s port %u", c->jid, c->addr,
		          c->port);
		c->placeholder = open_placeholder();
		comp_schedule_retry(c);
		return;
	}
	c->placeholder = open_placeholder();
	if (c->fd == -1)
		log_warnx("component %s: libstrophe did not report its socket", c->jid);
}

static void
dns_cb(int result, struct evutil_addrinfo *res, void *arg)
{
	struct component *c = arg;
	const void *a;

	c->dns_req = NULL;
	if (result != 0 || res == NULL) {
		log_warnx("component %s: cannot resolve %s: %s", c->jid, c->server,
		          evutil_gai_strerror(result));
		comp_schedule_retry(c);
		return;
	}
	a = res->ai_family == AF_INET6 ? (void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr
	                               : (void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr;
	evutil_inet_ntop(res->ai_family, a, c->addr, sizeof(c->addr));
	evutil_freeaddrinfo(res);
	connect_addr(c);
}

static void
comp_connect(struct component *c)
{
	struct in6_addr a6;
	struct in_addr a4;
	struct evutil_addrinfo hints;

	if (inet_pton(AF_INET, c->server, &a4) == 1 || inet_pton(AF_INET6, c->server, &a6) == 1) {
		snprintf(c->addr, sizeof(c->addr), "%s", c->server);
		connect_addr(c);
		return;
	}
	if (dns == NULL) {
		log_warnx("component %s: no resolver for %s", c->jid, c->server);
		comp_schedule_retry(c);
		return;
	}
	comp_set_state(c, COMP_RESOLVING);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	c->dns_req = evdns_getaddrinfo(dns, c->server, NULL, &hints, dns_cb, c);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	comp_connect(arg);
}

static void
comp_schedule_retry(struct component *c)
{
	struct timeval tv;
	int delay;

	comp_set_state(c, COMP_BACKOFF);
	c->backoff = c->backoff ? c->backoff * 2 : 1;
	if (c->backoff > c->reconnect_max)
		c->backoff = c->reconnect_max;
	/* Jitter of up to a quarter keeps many gateways from reconnecting in step. */
	delay = c->backoff * 1000;
	delay += (int)(arc4random_uniform((uint32_t)delay / 4 + 1));
	tv.tv_sec = delay / 1000;
	tv.tv_usec = (delay % 1000) * 1000;
	log_info("component %s: next attempt in %d.%03d s", c->jid, delay / 1000, delay % 1000);
	evtimer_add(c->ev_retry, &tv);
}

void
component_start(struct component *c)
{
	c->backoff = 0;
	comp_set_state(c, COMP_BACKOFF);
	comp_connect(c);
}

void
component_stop(struct component *c)
{
	enum comp_state was = c->state;

	evtimer_del(c->ev_retry);
	if (c->dns_req) {
		evdns_getaddrinfo_cancel(c->dns_req);
		c->dns_req = NULL;
	}
	if (was != COMP_ONLINE && was != COMP_CONNECTING) {
		comp_set_state(c, COMP_IDLE);
		return;
	}
	/*
	 * Close our side after what is queued, then keep reading until the
	 * server closes its side (libstrophe gives up after 2 s): what it
	 * still delivers is handled like any stanza.
	 */
	out_flush(c); /* the goodbyes */
	comp_set_state(c, was == COMP_ONLINE ? COMP_CLOSING : COMP_IDLE);
	xmpp_disconnect(c->conn);
	for (int i = 0; i < 300 && !xmpp_conn_is_disconnected(c->conn); i++)
		xmpp_run_once(ctx, 10);
	comp_set_state(c, COMP_IDLE);
}

void
component_free(struct component *c)
{
	if (c == NULL)
		return;
	barriers_fail(c);
	for (size_t i = 0; i < MAX_COMPONENTS; i++)
		if (components[i] == c)
			components[i] = NULL;
	if (c->ev_io)
		event_free(c->ev_io);
	if (c->ev_retry)
		event_free(c->ev_retry);
	if (c->conn)
		xmpp_conn_release(c->conn);
	if (c->placeholder != -1)
		close(c->placeholder);
	free(c->out.p);
	free(c->jid);
	free(c->secret);
	free(c->server);
	free(c);
}

size_t
component_send_queue_len(const struct component *c)
{
	return c->conn && c->state == COMP_ONLINE ? (size_t)xmpp_conn_send_queue_len(c->conn) : 0;
}

bool
component_is_online(const struct component *c)
{
	return c->state == COMP_ONLINE;
}

const char *
component_jid(const struct component *c)
{
	return c->jid;
}

/*
 * The largest stanza sent. An XMPP server closes a component's stream on a
 * bigger one (Prosody: component_stanza_size_limit, 512 KiB by default; the
 * stream error says not-well-formed), which would cut every user of the
 * gateway off for one answer too large.
 */
#define STANZA_OUT_MAX (448 * 1024)

/* The error that goes instead of an iq result too large to send. */
static void
render_too_large(struct component *c, xmpp_stanza_t *result, size_t len)
{
	char *text = xasprintf("The answer is too large to send (%zu KiB; the XMPP server "
	                       "takes %d KiB at most): ask for less, e.g. a smaller page.",
	                       len / 1024, STANZA_OUT_MAX / 1024);
	xmpp_stanza_t *err = stanza_error_reply(result, GW_ERR_RESOURCE_CONSTRAINT, text);

	/* stanza_error_reply() answers a request: this is our own answer, so swap back. */
	xmpp_stanza_set_to(err, xmpp_stanza_get_to(result));
	xmpp_stanza_set_from(err, xmpp_stanza_get_from(result));
	stanza_render(err, &c->out);
	xmpp_stanza_release(err);
	free(text);
}

int
component_send(struct component *c, xmpp_stanza_t *stanza)
{
	size_t before = c->out.len, len;

	if (c->state != COMP_ONLINE)
		return -1;
	/* Our renderer, not xmpp_send()'s (see stanza_render()), into the turn's piece. */
	if (stanza_render(stanza, &c->out) == -1) {
		log_warnx("component %s: a stanza without a name was not sent", c->jid);
		return -1;
	}
	if ((len = c->out.len - before) > STANZA_OUT_MAX) {
		const char *name = xmpp_stanza_get_name(stanza),
		           *type = xmpp_stanza_get_type(stanza);

		c->out.len = before;
		log_warnx(
		        "component %s: a %s of %zu bytes was not sent: the XMPP server would close "
		        "the link",
		        c->jid, name, len);
		if (strcmp(name, "iq") != 0 || type == NULL || strcmp(type, "result") != 0)
			return -1;
		render_too_large(c, stanza, len);
	}
	c->stanzas_out++;
	flush_soon();
	if (c->fd != -1 && c->ev_io && !(event_get_events(c->ev_io) & EV_WRITE))
		update_io_events(c);
	return 0;
}

int
component_barrier(struct component *c, void (*cb)(void *, bool), void *arg)
{
	struct barrier *b;
	xmpp_stanza_t *iq, *ping;
	char id[32];

	if (c->state != COMP_ONLINE)
		return -1;
	b = xcalloc(1, sizeof(*b));
	b->seq = ++c->barrier_seq;
	b->cb = cb;
	b->arg = arg;
	*c->barriers_tail = b;
	c->barriers_tail = &b->next;
	/*
	 * An iq to ourselves travels through the server behind everything we
	 * sent before it: when it comes back, all of that has been routed.
	 */
	snprintf(id, sizeof(id), "sgb-%lu", b->seq);
	iq = xmpp_iq_new(ctx, "get", id);
	xmpp_stanza_set_from(iq, c->jid);
	xmpp_stanza_set_to(iq, c->jid);
	ping = xmpp_stanza_new(ctx);
	xmpp_stanza_set_name(ping, "ping");
	xmpp_stanza_set_ns(ping, "urn:xmpp:ping");
	xmpp_stanza_add_child_ex(iq, ping, 0);
	component_send(c, iq);
	xmpp_stanza_release(iq);
	return 0;
}

void
component_set_reconnect_max(struct component *c, int seconds)
{
	c->reconnect_max = seconds > 0 ? seconds : 60;
}

void
component_counters(const struct component *c, unsigned long *in, unsigned long *out)
{
	*in = c->stanzas_in;
	*out = c->stanzas_out;
}

unsigned long
component_connects(const struct component *c)
{
	return c->connects;
}
