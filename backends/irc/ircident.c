/*
 * What an IRC server may learn of who is behind a connection, beyond NICK
 * and USER:
 *
 * - WEBIRC (the admin's [irc.server.NAME] webirc_password): sent first, it
 *   gives the server a host name and an address per XMPP user, so that
 *   bans and connection limits apply to one user, not to the gateway.
 *   Both are derived from HMAC-SHA256(webirc_password, bare JID): the host
 *   "<16 hex>.<the JID's domain>" (".xmpp" when the domain would not fit
 *   or is not a plain host name), the address an IPv6 unique-local one
 *   (fd00::/8). Stable for a user, not reversible without the password.
 * - identd ([irc] identd = PORT): an RFC 1413 responder. A query
 *   "<our port> , <server's port>" from the address of one of our IRC
 *   connections is answered with that connection's username; anything
 *   else gets an ERROR. One query per connection, 30 s to ask it, at
 *   most 128 open at once.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ircdrv.h"

#define IDENTD_TIMEOUT 30 /* seconds for a query to arrive */
#define IDENTD_LINE_MAX 1000
#define IDENTD_QUERIES_MAX 128 /* open queries; more are closed at once */

/* ---- WEBIRC ---- */

static bool
host_name_ok(const char *s)
{
	if (*s == '\0' || *s == '.' || *s == '-')
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' ||
		      *p == '-'))
			return false;
	return true;
}

int
ircd_webirc_identity(const char *password, const char *user, char host[80], char ip[48])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;
	const char *domain = strchr(user, '@');
	size_t n = 0;

	if (HMAC(EVP_sha256(), password, (int)strlen(password), (const unsigned char *)user,
	         strlen(user), md, &len) == NULL ||
	    len < 23)
		return -1;
	for (unsigned i = 0; i < 8; i++)
		n += (size_t)snprintf(host + n, 80 - n, "%02x", md[i]);
	domain = domain ? domain + 1 : "";
	/* A host name is at most 63 bytes on most servers (HOSTLEN). */
	if (host_name_ok(domain) && n + 1 + strlen(domain) <= 63)
		snprintf(host + n, 80 - n, ".%s", domain);
	else
		snprintf(host + n, 80 - n, ".xmpp");
	snprintf(ip, 48, "fd%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x",
	         md[8], md[9], md[10], md[11], md[12], md[13], md[14], md[15], md[16], md[17],
	         md[18], md[19], md[20], md[21], md[22]);
	return 0;
}

void
ircd_webirc(struct ircd_conn *c)
{
	const char *pw = ircd_server_conf(c->in->net, c->server, "webirc_password");
	char host[80], ip[48];

	if (pw == NULL || *pw == '\0')
		return;
	if (ircd_webirc_identity(pw, c->user, host, ip) == -1) {
		log_warnx("irc: %s: cannot compute the WEBIRC host for %s", c->user, c->server);
		return;
	}
	ircd_sendf(c, true, "WEBIRC", pw, PACKAGE_NAME, host, ip, NULL);
	log_info("irc: %s: WEBIRC to %s as %s (%s)", c->user, c->server, host, ip);
}

/* ---- identd ---- */

struct ircd_identq {
	struct ircd_identq *next; /* in ircd_net.identqs: freed at stop */
	struct ircd_net *in;
	struct bufferevent *bev;
	struct sockaddr_storage from;
};

static void
identq_free(struct ircd_identq *q)
{
	for (struct ircd_identq **pp = &q->in->identqs; *pp; pp = &(*pp)->next)
		if (*pp == q) {
			*pp = q->next;
			break;
		}
	bufferevent_free(q->bev);
	free(q);
}

static bool
same_host(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
		              &((const struct sockaddr_in *)b)->sin_addr,
		              sizeof(struct in_addr)) == 0;
	if (a->sa_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		              &((const struct sockaddr_in6 *)b)->sin6_addr,
		              sizeof(struct in6_addr)) == 0;
	return false;
}

static unsigned
port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return 0;
}

/* The connection from our port ours to the asker's port theirs, or NULL. */
static struct ircd_conn *
identd_find(struct ircd_net *in, const struct sockaddr_storage *asker, unsigned ours,
            unsigned theirs)
{
	for (struct ircd_conn *c = in->conns; c; c = c->next) {
		struct sockaddr_storage local, peer;
		socklen_t ll = sizeof(local), pl = sizeof(peer);
		evutil_socket_t fd;

		if (c->bev == NULL || c->state == IRCD_CLOSED ||
		    (fd = bufferevent_getfd(c->bev)) == -1)
			continue;
		if (getsockname(fd, (struct sockaddr *)&local, &ll) == -1 ||
		    getpeername(fd, (struct sockaddr *)&peer, &pl) == -1)
			continue;
		if (port_of(&local) == ours && port_of(&peer) == theirs &&
		    same_host((const struct sockaddr *)&peer, (const struct sockaddr *)asker))
			return c;
	}
	return NULL;
}

int
ircd_identd_parse(const char *line, unsigned *ours, unsigned *theirs)
{
	unsigned long v[2];
	const char *p = line;
	char *end;

	if (strlen(line) > IDENTD_LINE_MAX)
		return -1;
	for (int i = 0; i < 2; i++) {
		p += strspn(p, " \t");
		if (*p < '0' || *p > '9')
			return -1;
		v[i] = strtoul(p, &end, 10);
		if (end - p > 5 || v[i] < 1 || v[i] > 65535)
			return -1;
		p = end + strspn(end, " \t");
		if (i == 0 && *p++ != ',')
			return -1;
	}
	if (*p != '\0')
		return -1;
	*ours = (unsigned)v[0];
	*theirs = (unsigned)v[1];
	return 0;
}

static void
identq_drained(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		identq_free(arg);
}

static void
identq_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	identq_free(arg);
}

static void identq_answer(struct ircd_identq *q, const char *fmt, ...) SG_PRINTF(2, 3);

static void
identq_answer(struct ircd_identq *q, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(bufferevent_get_output(q->bev), fmt, ap);
	va_end(ap);
	evbuffer_add(bufferevent_get_output(q->bev), "\r\n", 2);
	bufferevent_disable(q->bev, EV_READ);
	bufferevent_setcb(q->bev, NULL, identq_drained, identq_event, q);
}

static void
identq_read(struct bufferevent *bev, void *arg)
{
	struct ircd_identq *q = arg;
	struct evbuffer *buf = bufferevent_get_input(bev);
	char *line = evbuffer_readln(buf, NULL, EVBUFFER_EOL_ANY);
	unsigned ours, theirs;
	struct ircd_conn *c;

	if (line == NULL) {
		if (evbuffer_get_length(buf) > IDENTD_LINE_MAX)
			identq_free(q);
		return;
	}
	if (ircd_identd_parse(line, &ours, &theirs) == -1) {
		identq_answer(q, "0 , 0 : ERROR : INVALID-PORT");
		free(line);
		return;
	}
	free(line);
	c = identd_find(q->in, &q->from, ours, theirs);
	if (c == NULL) {
		identq_answer(q, "%u , %u : ERROR : NO-USER", ours, theirs);
		return;
	}
	log_info("irc: identd: %u , %u is %s on %s (%s)", ours, theirs, c->username, c->server,
	         c->user);
	identq_answer(q, "%u , %u : USERID : UNIX : %s", ours, theirs, c->username);
}

static void
identd_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
              void *arg)
{
	struct ircd_net *in = arg;
	struct ircd_identq *q;
	struct timeval tv = {IDENTD_TIMEOUT, 0};
	size_t open = 0;

	(void)l;
	for (q = in->identqs; q; q = q->next)
		open++;
	if (open >= IDENTD_QUERIES_MAX) {
		evutil_closesocket(fd);
		return;
	}
	q = xcalloc(1, sizeof(*q));
	q->in = in;
	q->next = q->in->identqs;
	q->in->identqs = q;
	memcpy(&q->from, sa, (size_t)salen < sizeof(q->from) ? (size_t)salen : sizeof(q->from));
	q->bev = bufferevent_socket_new(gw_event_base(), fd, BEV_OPT_CLOSE_ON_FREE);
	if (q->bev == NULL) {
		evutil_closesocket(fd);
		q->in->identqs = q->next;
		free(q);
		return;
	}
	bufferevent_setcb(q->bev, identq_read, NULL, identq_event, q);
	bufferevent_set_timeouts(q->bev, &tv, &tv);
	bufferevent_enable(q->bev, EV_READ);
}

int
ircd_identd_start(struct ircd_net *in, unsigned port)
{
	struct sockaddr_in a4;
	struct sockaddr_in6 a6;
	unsigned flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC;

	if (port == 0)
		return 0;
	memset(&a4, 0, sizeof(a4));
	a4.sin_family = AF_INET;
	a4.sin_port = htons((unsigned short)port);
	in->identd[0] = evconnlistener_new_bind(gw_event_base(), identd_accept, in, flags, 16,
	                                        (struct sockaddr *)&a4, sizeof(a4));
	if (in->identd[0] == NULL) {
		log_warn("irc: identd: cannot listen on port %u", port);
		return -1;
	}
	memset(&a6, 0, sizeof(a6));
	a6.sin6_family = AF_INET6;
	a6.sin6_port = htons((unsigned short)port);
	a6.sin6_addr = in6addr_any;
	/* IPv6 too when the host has it; IPv4 alone is enough otherwise. */
	in->identd[1] = evconnlistener_new_bind(gw_event_base(), identd_accept, in,
	                                        flags | LEV_OPT_BIND_IPV6ONLY, 16,
	                                        (struct sockaddr *)&a6, sizeof(a6));
	log_info("irc: identd listening on port %u (IPv4%s)", port, in->identd[1] ? ", IPv6" : "");
	return 0;
}

void
ircd_identd_stop(struct ircd_net *in)
{
	while (in->identqs)
		identq_free(in->identqs);
	for (size_t i = 0; i < 2; i++)
		if (in->identd[i]) {
			evconnlistener_free(in->identd[i]);
			in->identd[i] = NULL;
		}
}
