/*
 * One IRC connection per (user, IRC server): asynchronous DNS, TCP and TLS
 * on libevent bufferevents, the throttled send queue, keepalive, and the
 * state machine that reconnects with backoff.
 *
 *   IDLE -> RESOLVING -> CONNECTING -> REGISTERING -> READY
 *                 \            \             \          |
 *                  `------------`-------------`---> WAITING -> RESOLVING ...
 *   any -> CLOSED (freed from the loop, never inside a callback)
 *
 * Addresses are tried in order for each port, TLS ports first (SPEC
 * section 4); a failed round backs off 1, 2, 4 ... 300 seconds.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "ircdrv.h"

#define CONNECT_TIMEOUT 20  /* seconds for TCP and TLS */
#define REGISTER_TIMEOUT 60 /* seconds from connected to 001 */
#define PING_AFTER 90       /* quiet seconds before we PING */
#define PING_TIMEOUT 180    /* quiet seconds before the server is declared gone */
#define BACKOFF_MAX 300
#define READ_MAX (64 * 1024) /* a "line" longer than this is an attack */
#define LINGER 5             /* seconds an unused connection stays (a join retried) */

static const char *const state_names[] = {
        [IRCD_IDLE] = "idle",
        [IRCD_RESOLVING] = "resolving",
        [IRCD_CONNECTING] = "connecting",
        [IRCD_REGISTERING] = "registering",
        [IRCD_READY] = "ready",
        [IRCD_WAITING] = "waiting",
        [IRCD_CLOSED] = "closed",
};

static void try_next(struct ircd_conn *);
static void resolve(struct ircd_conn *);

const char *
ircd_state_name(enum ircd_state s)
{
	return state_names[s];
}

void
ircd_set_state(struct ircd_conn *c, enum ircd_state s)
{
	if (c->state == s)
		return;
	log_debug("irc: %s on %s: %s -> %s", c->user, c->server, state_names[c->state],
	          state_names[s]);
	c->state = s;
}

static void
timer_in(struct event *ev, int seconds)
{
	struct timeval tv = {seconds, 0};

	evtimer_add(ev, &tv);
}

/* ---- lookup ---- */

struct ircd_conn *
ircd_conn_find(struct ircd_net *in, const char *user, const char *server)
{
	for (struct ircd_conn *c = in->conns; c; c = c->next)
		if (c->state != IRCD_CLOSED && strcmp(c->user, user) == 0 &&
		    strcasecmp(c->server, server) == 0)
			return c;
	return NULL;
}

static void timer_cb(evutil_socket_t, short, void *);
static void free_cb(evutil_socket_t, short, void *);
static void linger_cb(evutil_socket_t, short, void *);

struct ircd_conn *
ircd_conn_get(struct ircd_net *in, const char *user, const char *server)
{
	struct ircd_conn *c = ircd_conn_find(in, user, server);

	if (c != NULL)
		return c;
	c = xcalloc(1, sizeof(*c));
	c->in = in;
	c->user = xstrdup(user);
	c->server = xstrdup(server);
	c->state = IRCD_IDLE;
	c->q_tail = &c->q;
	c->held_tail = &c->held;
	c->ev_timer = evtimer_new(gw_event_base(), timer_cb, c);
	c->ev_send = evtimer_new(gw_event_base(), ircd_send_cb, c);
	c->ev_free = event_new(gw_event_base(), -1, 0, free_cb, c);
	c->ev_linger = evtimer_new(gw_event_base(), linger_cb, c);
	ircmsg_isupport_init(&c->isup);
	c->next = in->conns;
	in->conns = c;
	return c;
}

/* ---- settings read at each start ---- */

static unsigned
setting_uint(struct ircd_conn *c, const char *key, unsigned def)
{
	char *v = ircd_setting(c, key);
	unsigned r = def;

	if (v != NULL && *v != '\0')
		r = (unsigned)strtoul(v, NULL, 10);
	free(v);
	return r;
}

static void
add_ports(struct ircd_conn *c, const char *list, bool tls)
{
	char *copy = xstrdup(list ? list : ""), *save = NULL;

	for (char *w = strtok_r(copy, " ,\t", &save); w; w = strtok_r(NULL, " ,\t", &save)) {
		long p = strtol(w, NULL, 10);

		if (p < 1 || p > 65535)
			continue;
		c->ports = xreallocarray(c->ports, c->nports + 1, sizeof(*c->ports));
		c->ports[c->nports].port = (unsigned short)p;
		c->ports[c->nports].tls = tls;
		c->nports++;
	}
	free(copy);
}

/*
 * An IRC nick from what the user gave (a MUC nick may be "Alice Smith"):
 * letters, digits and []\`_^{|}- only, not starting with a digit or '-'.
 * Caller frees.
 */
char *
ircd_nick_clean(const char *in)
{
	char *out = xmalloc(strlen(in) + 2), *o = out;

	for (const char *p = in; *p; p++) {
		unsigned char ch = (unsigned char)*p;

		if ((ch < 128 && isalnum(ch)) || strchr("[]\\`_^{|}-", ch))
			*o++ = (char)ch;
	}
	*o = '\0';
	if (*out == '\0' || isdigit((unsigned char)*out) || *out == '-') {
		memmove(out + 1, out, strlen(out) + 1);
		*out = 'x';
	}
	return out;
}

static void
load_settings(struct ircd_conn *c, const char *nick)
{
	char *v;

	free(c->ports);
	c->ports = NULL;
	c->nports = 0;
	free(c->pin);
	c->pin = NULL;
	v = ircd_setting(c, "tls_fingerprint");
	if (v != NULL && *v != '\0') {
		char fp[65];

		/* Checked when saved; a bad stored value pins nothing that could match. */
		c->pin = xstrdup(ircd_fingerprint_parse(v, fp) == 0 ? fp : "(invalid)");
	}
	free(v);
	v = ircd_setting(c, "tls_ports");
	add_ports(c, v, true);
	free(v);
	/* A pinned certificate is asked for: never fall back to plain text. */
	if (c->pin == NULL) {
		v = ircd_setting(c, "ports");
		add_ports(c, v, false);
		free(v);
	}
	v = ircd_setting(c, "verify_cert");
	c->verify = v == NULL || strcasecmp(v, "no") != 0;
	free(v);
	free(c->encoding);
	c->encoding = ircd_setting(c, "fallback_encoding");
	if (c->want_nick == NULL || !c->ever_ready) {
		/* This server's nick, else the room join's, else the registration's. */
		v = ircd_setting(c, "nick");
		if (v == NULL || *v == '\0') {
			free(v);
			v = xstrdup_or_null(nick);
		}
		if (v == NULL || *v == '\0') {
			free(v);
			v = gw_setting_get(c->in->net, c->user, "", "nick");
		}
		if (v == NULL || *v == '\0') {
			free(v);
			v = xstrndup(c->user, strcspn(c->user, "@"));
		}
		free(c->want_nick);
		c->want_nick = ircd_nick_clean(v);
		free(v);
	}
	free(c->username);
	c->username = ircd_setting(c, "username");
	if (c->username == NULL || *c->username == '\0')
		xstrset(&c->username, c->want_nick);
	free(c->realname);
	c->realname = ircd_setting(c, "realname");
	if (c->realname == NULL || *c->realname == '\0')
		xstrset(&c->realname, c->want_nick);
	free(c->pass);
	c->pass = gw_secret_get(c->in->net, c->user, c->server, "server_password");
	free(c->sasl_pass);
	c->sasl_pass = gw_secret_get(c->in->net, c->user, c->server, "sasl_password");
	free(c->nickserv_pass);
	c->nickserv_pass = gw_secret_get(c->in->net, c->user, c->server, "nickserv_password");
	free(c->after_connect);
	c->after_connect = ircd_setting(c, "after_connect");
	ircbucket_init(&c->bucket, setting_uint(c, "throttle_burst", IRCBUCKET_BURST),
	               setting_uint(c, "throttle_interval_ms", IRCBUCKET_INTERVAL_MS),
	               setting_uint(c, "throttle_byte_burst", IRCBUCKET_BYTE_BURST),
	               setting_uint(c, "throttle_byte_rate", IRCBUCKET_BYTE_RATE));
}

void
ircd_throttle_for(struct ircd_conn *c, const char *version)
{
	/*
	 * ngIRCd parses 3 lines a second per client and keeps the rest in its
	 * buffer, never disconnecting for it (measured on 26.1: 30 short lines
	 * sent at once arrived over 9 s, 60 over 19 s, 12 lines of 417 bytes
	 * over 4 s). Where nobody chose a throttle, it gets that rate rather
	 * than the 1 line a second the strictest servers (hybrid) need: a user
	 * talking faster than 1 line a second no longer builds a backlog that
	 * a room's new line waits behind (after a restart: seconds of it).
	 */
	if (version == NULL || strncasecmp(version, "ngircd-", 7) != 0 ||
	    c->bucket.burst != IRCBUCKET_BURST || c->bucket.interval_ms != IRCBUCKET_INTERVAL_MS ||
	    setting_uint(c, "throttle_burst", IRCBUCKET_BURST) != IRCBUCKET_BURST ||
	    setting_uint(c, "throttle_interval_ms", IRCBUCKET_INTERVAL_MS) != IRCBUCKET_INTERVAL_MS)
		return;
	ircbucket_set_rate(&c->bucket, IRCBUCKET_NGIRCD_BURST, IRCBUCKET_NGIRCD_INTERVAL_MS);
	log_debug("irc: %s: %s is ngIRCd: %d lines a second", c->user, c->server,
	          (1000 + IRCBUCKET_NGIRCD_INTERVAL_MS / 2) / IRCBUCKET_NGIRCD_INTERVAL_MS);
}

/* ---- starting ---- */

void
ircd_conn_start(struct ircd_conn *c, const char *nick)
{
	if (c->state != IRCD_IDLE && c->state != IRCD_WAITING)
		return;
	load_settings(c, nick);
	if (c->nports == 0)
		xstrset(&c->last_error, "no port is configured (tls_ports and ports are empty)");
	/* From the loop, never inside the caller: a failure reports to the core. */
	ircd_set_state(c, IRCD_WAITING);
	timer_in(c->ev_timer, 0);
}

static void
dns_cb(int result, struct evutil_addrinfo *res, void *arg)
{
	struct ircd_conn *c;

	if (result == EVUTIL_EAI_CANCEL)
		return; /* the connection is being closed: arg may be gone */
	c = arg;
	c->dnsreq = NULL;
	if (result != 0 || res == NULL) {
		char *why =
		        xasprintf("cannot resolve %s: %s", c->server, evutil_gai_strerror(result));

		if (res)
			evutil_freeaddrinfo(res);
		xstrset(&c->last_error, why);
		free(why);
		ircd_conn_lost(c, c->last_error);
		return;
	}
	c->ai = res;
	c->ai_cur = res;
	c->port_i = 0;
	try_next(c);
}

static void
resolve(struct ircd_conn *c)
{
	struct evutil_addrinfo hints;
	struct evdns_getaddrinfo_request *req;

	ircd_set_state(c, IRCD_RESOLVING);
	if (c->ai) {
		evutil_freeaddrinfo(c->ai);
		c->ai = c->ai_cur = NULL;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	if (c->in->dns == NULL) {
		struct evutil_addrinfo *res = NULL;

		/* Without a resolver only numeric addresses work (no blocking here). */
		hints.ai_flags = EVUTIL_AI_NUMERICHOST;
		dns_cb(evutil_getaddrinfo(c->server, NULL, &hints, &res), res, c);
		return;
	}
	/* The callback may run before this returns (numeric hosts, /etc/hosts). */
	req = evdns_getaddrinfo(c->in->dns, c->server, NULL, &hints, dns_cb, c);
	if (c->state == IRCD_RESOLVING && c->ai == NULL)
		c->dnsreq = req;
}

/* ---- connecting ---- */

static void read_cb(struct bufferevent *, void *);
static void event_cb(struct bufferevent *, short, void *);

static void
drop_bev(struct ircd_conn *c)
{
	if (c->bev) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
}

static struct bufferevent *
new_tls_bev(struct ircd_conn *c)
{
	SSL *ssl = ircd_tls_new(c);

	if (ssl == NULL)
		return NULL;
	return bufferevent_openssl_socket_new(gw_event_base(), -1, ssl, BUFFEREVENT_SSL_CONNECTING,
	                                      BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
}

/* The next address of this port, or the first of the next port; lost when none is left. */
static void
advance(struct ircd_conn *c)
{
	if (c->ai_cur)
		c->ai_cur = c->ai_cur->ai_next;
	if (c->ai_cur == NULL) {
		c->port_i++;
		c->ai_cur = c->ai;
	}
	try_next(c);
}

static void
try_next(struct ircd_conn *c)
{
	struct ircd_port *p;
	struct sockaddr_storage ss;
	char addr[64] = "?";

	drop_bev(c);
	if (c->port_i >= c->nports || c->ai_cur == NULL) {
		char *why =
		        xasprintf("cannot connect to %s%s%s", c->server, c->last_error ? ": " : "",
		                  c->last_error ? c->last_error : "");

		ircd_conn_lost(c, why);
		free(why);
		return;
	}
	p = &c->ports[c->port_i];
	memcpy(&ss, c->ai_cur->ai_addr, c->ai_cur->ai_addrlen);
	if (ss.ss_family == AF_INET6) {
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(p->port);
		evutil_inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, addr,
		                 sizeof(addr));
	} else {
		((struct sockaddr_in *)&ss)->sin_port = htons(p->port);
		evutil_inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, addr,
		                 sizeof(addr));
	}
	ircd_set_state(c, IRCD_CONNECTING);
	log_info("irc: %s: connecting to %s (%s) port %u%s", c->user, c->server, addr, p->port,
	         p->tls ? " with TLS" : "");
	c->client_cert = false; /* set by ircd_tls_new() when one is presented */
	c->bev = p->tls ? new_tls_bev(c)
	                : bufferevent_socket_new(gw_event_base(), -1,
	                                         BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (c->bev == NULL) {
		xstrset(&c->last_error, "cannot create a socket");
		advance(c);
		return;
	}
	bufferevent_setcb(c->bev, read_cb, NULL, event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&ss,
	                               (int)c->ai_cur->ai_addrlen) == -1) {
		xstrset(&c->last_error, strerror(errno));
		advance(c);
		return;
	}
	timer_in(c->ev_timer, CONNECT_TIMEOUT);
}

static void
tls_error(struct ircd_conn *c, char *buf, size_t len)
{
	unsigned long e;
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;

	buf[0] = '\0';
	if (vr != X509_V_OK) {
		snprintf(buf, len, "certificate not trusted: %s",
		         X509_verify_cert_error_string(vr));
		while (bufferevent_get_openssl_error(c->bev) != 0)
			;
		return;
	}
	while ((e = bufferevent_get_openssl_error(c->bev)) != 0)
		if (buf[0] == '\0')
			ERR_error_string_n(e, buf, len);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct ircd_conn *c = arg;
	char why[256];
	bool tls = c->port_i < c->nports && c->ports[c->port_i].tls;

	if (what & BEV_EVENT_CONNECTED) {
		evtimer_del(c->ev_timer);
		if (tls && ircd_tls_check_pin(c, bufferevent_openssl_get_ssl(bev), why,
		                              sizeof(why)) == -1) {
			log_warnx("irc: %s: %s port %u: %s", c->user, c->server,
			          c->ports[c->port_i].port, why);
			/* Rooms waiting for a rejoin hear nothing more: tell the user, once. */
			if (c->ever_ready && !c->pin_told)
				ircd_server_message(c, "Reconnecting to %s refused: %s", c->server,
				                    why);
			c->pin_told = true;
			xstrset(&c->last_error, why);
			advance(c);
			return;
		}
		c->pin_told = false;
		{
			/*
			 * Lines leave once per loop turn already (the bufferevent
			 * writes what the turn queued): Nagle would only hold each
			 * turn's lines behind the server's delayed ACK, ~40 ms.
			 */
			int on = 1;
			evutil_socket_t fd = bufferevent_getfd(bev);

			if (fd != -1 &&
			    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == -1)
				log_debug("irc: %s: TCP_NODELAY: %s", c->server, strerror(errno));
		}
		ircd_set_state(c, IRCD_REGISTERING);
		log_info("irc: %s: connected to %s%s", c->user, c->server, tls ? " (TLS)" : "");
		c->last_rx = time(NULL);
		c->caps = c->caps_offered = 0;
		ircmsg_isupport_init(&c->isup);
		ircbucket_reset(&c->bucket);
		timer_in(c->ev_timer, REGISTER_TIMEOUT);
		ircd_register(c);
		return;
	}
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	why[0] = '\0';
	if (tls)
		tls_error(c, why, sizeof(why));
	if (why[0] == '\0')
		snprintf(why, sizeof(why), "%s",
		         (what & BEV_EVENT_EOF)
		                 ? "connection closed by the server"
		                 : evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	if (c->state == IRCD_CONNECTING) {
		log_info("irc: %s: %s port %u: %s", c->user, c->server, c->ports[c->port_i].port,
		         why);
		xstrset(&c->last_error, why);
		evtimer_del(c->ev_timer);
		advance(c);
		return;
	}
	ircd_conn_lost(c, why);
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct ircd_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;
	size_t len;

	c->last_rx = time(NULL);
	c->ping_out = false;
	while (c->bev == bev && c->state != IRCD_CLOSED &&
	       (line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF)) != NULL) {
		c->in->lines_in++;
		ircd_handle_line(c, line, len);
		free(line);
	}
	if (c->bev == bev && evbuffer_get_length(in) > READ_MAX)
		ircd_conn_lost(c, "the server sent a line that never ends");
}

/* ---- timers ---- */

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ircd_conn *c = arg;
	time_t quiet = time(NULL) - c->last_rx;

	(void)fd;
	(void)what;
	switch (c->state) {
	case IRCD_CONNECTING:
		log_info("irc: %s: %s port %u: connection timed out", c->user, c->server,
		         c->ports[c->port_i].port);
		xstrset(&c->last_error, "connection timed out");
		advance(c);
		break;
	case IRCD_REGISTERING:
		ircd_conn_lost(c, "the server did not complete the registration");
		break;
	case IRCD_READY:
		if (quiet >= PING_TIMEOUT) {
			ircd_conn_lost(c, "ping timeout");
			return;
		}
		ircd_check_joins(c);
		if (c->state != IRCD_READY)
			break;
		if (quiet >= PING_AFTER && !c->ping_out) {
			ircd_sendf(c, true, "PING", c->server, NULL);
			c->ping_out = true;
		}
		timer_in(c->ev_timer, IRCD_KEEPALIVE_TICK);
		break;
	case IRCD_WAITING:
		resolve(c);
		break;
	default:
		break;
	}
}

/* ---- losing, closing, freeing ---- */

static void
reset_transport(struct ircd_conn *c)
{
	evtimer_del(c->ev_timer);
	if (c->dnsreq) {
		struct evdns_getaddrinfo_request *req = c->dnsreq;

		c->dnsreq = NULL;
		evdns_getaddrinfo_cancel(req);
	}
	drop_bev(c);
	if (c->ai) {
		evutil_freeaddrinfo(c->ai);
		c->ai = c->ai_cur = NULL;
	}
	c->caps = c->caps_offered = 0;
	c->cap_negotiating = c->sasl_running = c->sasl_tried = false;
	c->sasl_mech = IRCD_SASL_NONE;
	free(c->sasl_mechs);
	c->sasl_mechs = NULL;
	free(c->account);
	c->account = NULL;
	c->client_cert = false;
	c->ping_out = false;
}

void
ircd_conn_lost(struct ircd_conn *c, const char *why)
{
	struct ircd_chan *ch, *next;
	int delay;
	char esc[300];

	if (c->state == IRCD_CLOSED)
		return;
	log_info("irc: %s: connection to %s lost or failed: %s", c->user, c->server,
	         log_escape(esc, sizeof(esc), why));
	if (c->state == IRCD_READY)
		gw_presence(c->in->net, c->user, c->server, GW_SHOW_OFFLINE, why);
	reset_transport(c);
	ircd_fail_queue(c, why, true);
	ircd_lists_fail(c, why);
	ircd_watch_stop(c);
	for (ch = c->chans; ch; ch = next) {
		next = ch->next;
		ch->joined = false;
		if (ch->core_joined) {
			/* 332: the user is told; the membership is rejoined on reconnection. */
			ch->core_joined = false;
			gw_room_left(c->in->net, c->user, ch->room, c->nick ? c->nick : "",
			             GW_LEAVE_SHUTDOWN, NULL, why);
		} else if (!c->ever_ready && !ch->persistent &&
		           !gw_room_restoring(c->in->net, c->user, ch->room)) {
			/* Joined at start-up (persistent, or restored): waits for its server. */
			char *text =
			        xasprintf("Cannot connect to IRC server %s: %s", c->server, why);

			gw_room_join_failed(c->in->net, c->user, ch->room,
			                    GW_ERR_REMOTE_SERVER_NOT_FOUND, text);
			free(text);
			ircd_chan_remove(c, ch);
			continue;
		}
		for (size_t i = 0; i < ch->nm; i++)
			free(ch->m[i].nick);
		free(ch->m);
		ch->m = NULL;
		ch->nm = 0;
	}
	if (c->chans == NULL && !c->queries) {
		ircd_conn_close(c, NULL);
		return;
	}
	ircd_set_state(c, IRCD_WAITING);
	delay = 1 << (c->failures < 8 ? c->failures : 8);
	if (delay > BACKOFF_MAX)
		delay = BACKOFF_MAX;
	c->failures++;
	log_info("irc: %s: reconnecting to %s in %d s", c->user, c->server, delay);
	timer_in(c->ev_timer, delay);
}

/* Frees a quitting bufferevent and takes it off its network's list. */
static void
quitting_free(struct ircd_quitting *q)
{
	struct ircd_quitting **pp = &q->in->quitting;

	while (*pp != q)
		pp = &(*pp)->next;
	*pp = q->next;
	bufferevent_free(q->bev);
	free(q);
}

void
ircd_quitting_free_all(struct ircd_net *in)
{
	while (in->quitting)
		quitting_free(in->quitting);
}

static void
quit_drained_cb(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		quitting_free(arg);
}

static void
quit_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	quitting_free(arg);
}

/* The socket closes once the QUIT is written, or when the gateway stops. */
static void
quit_then_free(struct ircd_net *in, struct bufferevent *bev)
{
	struct ircd_quitting *q = xcalloc(1, sizeof(*q));

	q->in = in;
	q->bev = bev;
	q->next = in->quitting;
	in->quitting = q;
	bufferevent_setcb(bev, NULL, quit_drained_cb, quit_event_cb, q);
	bufferevent_disable(bev, EV_READ);
}

void
ircd_conn_close(struct ircd_conn *c, const char *reason)
{
	if (c->state == IRCD_CLOSED)
		return;
	if (c->state == IRCD_READY && !c->in->stopping)
		gw_presence(c->in->net, c->user, c->server, GW_SHOW_OFFLINE, "Disconnected");
	if (c->bev && (c->state == IRCD_READY || c->state == IRCD_REGISTERING)) {
		struct bufferevent *bev = c->bev;

		/* QUIT goes out; the socket closes once it is written. */
		ircd_sendf(c, true, "QUIT", reason ? reason : "Leaving", NULL);
		if (!c->in->stopping) {
			c->bev = NULL;
			quit_then_free(c->in, bev);
		}
	}
	reset_transport(c);
	ircd_fail_queue(c, "the connection was closed", !c->in->stopping);
	ircd_lists_fail(c, "the connection was closed");
	ircd_watch_stop(c);
	ircd_set_state(c, IRCD_CLOSED);
	event_active(c->ev_free, EV_TIMEOUT, 0);
}

static bool
unused(const struct ircd_conn *c)
{
	return c->chans == NULL && c->held == NULL && c->q == NULL && c->lists == NULL &&
	       !c->queries;
}

static void
linger_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ircd_conn *c = arg;

	(void)fd;
	(void)what;
	if (unused(c))
		ircd_conn_close(c, NULL);
}

void
ircd_conn_end(struct ircd_conn *c, const char *why, const char *quit)
{
	for (struct ircd_chan *ch = c->chans; ch; ch = ch->next)
		if (ch->core_joined) {
			ch->core_joined = false;
			gw_room_left(c->in->net, c->user, ch->room, c->nick ? c->nick : "",
			             GW_LEAVE_PART, NULL, why);
		}
	ircd_conn_close(c, quit);
}

void
ircd_conn_maybe_close(struct ircd_conn *c)
{
	/* Not at once: a join refused for its key is often retried with it. */
	if (unused(c) && c->state != IRCD_CLOSED)
		timer_in(c->ev_linger, LINGER);
}

static void
conn_free(struct ircd_conn *c)
{
	struct ircd_chan *ch, *next;

	reset_transport(c);
	ircd_fail_queue(c, NULL, false);
	for (ch = c->chans; ch; ch = next) {
		next = ch->next;
		ircd_chan_free(ch);
	}
	event_free(c->ev_timer);
	event_free(c->ev_send);
	event_free(c->ev_free);
	event_free(c->ev_linger);
	ircd_watch_free(c);
	ircd_echo_free(c);
	ircd_batches_free(c);
	ircd_reacted_free(c);
	ircd_sent_free(c);
	ircd_chanlist_free(&c->chanlist);
	free(c->user);
	free(c->server);
	free(c->nick);
	free(c->want_nick);
	free(c->username);
	free(c->realname);
	free(c->pass);
	free(c->sasl_pass);
	free(c->nickserv_pass);
	free(c->pin);
	free(c->after_connect);
	free(c->encoding);
	free(c->ports);
	free(c->last_error);
	free(c->self_user);
	free(c->self_host);
	free(c);
}

static void
free_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ircd_conn *c = arg, **pp;

	(void)fd;
	(void)what;
	for (pp = &c->in->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	conn_free(c);
}

void
ircd_conn_free_all(struct ircd_net *in)
{
	struct ircd_conn *c, *next;

	for (c = in->conns; c; c = next) {
		next = c->next;
		conn_free(c);
	}
	in->conns = NULL;
}
