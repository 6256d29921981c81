/*
 * XEP-0363 HTTP upload on behalf of a driver: a file from the foreign
 * network (an email attachment) is put on the user's own server's upload
 * service, and the user is shown a link (XEP-0066) instead of the bytes.
 *
 * Each step is asynchronous: find the service of the user's domain
 * (disco#items on the domain, disco#info on the domain and each item;
 * the answer is cached per domain), ask it for a slot (an iq with
 * <request/>), PUT the bytes to the slot's URL with libevent's HTTP client
 * (https verified against the system's CAs and the URL's host name), then
 * hand the GET URL to the driver. Whatever fails, the driver hears why
 * and shows the file another way.
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/ssl.h>

#include "component.h"
#include "core.h"
#include "iqwait.h"
#include "log.h"
#include "stanza.h"
#include "strmap.h"
#include "upload.h"
#include "xmalloc.h"

#define NS_UPLOAD "urn:xmpp:http:upload:0"
#define NS_DISCO_INFO "http://jabber.org/protocol/disco#info"
#define NS_DISCO_ITEMS "http://jabber.org/protocol/disco#items"
#define IQ_TIMEOUT 30    /* seconds for each disco or slot answer */
#define HTTP_TIMEOUT 120 /* seconds of silence on the PUT connection */
#define FOUND_TTL 86400  /* a found service is asked again after a day */
#define NONE_TTL 600     /* a server without one, after ten minutes */
#define MAX_ITEMS 32     /* disco items looked at */
#define MAX_URL 4096

enum svc_state { SVC_LOOKING, SVC_FOUND, SVC_NONE };

struct service {
	char *domain;
	enum svc_state state;
	char *jid;         /* SVC_FOUND */
	uint64_t max_size; /* 0: the service names no limit */
	time_t since;
	int asked; /* disco#info answers still awaited */
	struct gw_upload *waiters;
};

struct gw_upload {
	struct gw_net *net;
	char *user, *filename, *type;
	char *data;
	size_t len;
	gw_upload_cb done;
	void *arg;
	struct service *svc;
	struct gw_upload *next_waiter;
	struct iqwait *iq;
	struct evhttp_connection *conn;
	struct evhttp_request *req;
	char *get_url;
	char *why; /* set when failed */
	struct event *finish;
	struct gw_upload *prev, *next; /* all uploads */
};

static struct strmap *services; /* domain -> struct service */
static struct gw_upload *uploads;
static SSL_CTX *tls;

static void request_slot(struct gw_upload *);

/* ---- ending an upload, always from the loop ---- */

static void
upload_free(struct gw_upload *up)
{
	if (up->iq)
		iqwait_cancel(up->iq);
	/* Frees a request still pending on it, without calling back. */
	if (up->conn)
		evhttp_connection_free(up->conn);
	if (up->finish)
		event_free(up->finish);
	if (up->prev)
		up->prev->next = up->next;
	else
		uploads = up->next;
	if (up->next)
		up->next->prev = up->prev;
	free(up->user);
	free(up->filename);
	free(up->type);
	free(up->data);
	free(up->get_url);
	free(up->why);
	free(up);
}

static void
finish_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gw_upload *up = arg;
	gw_upload_cb done = up->done;
	void *cbarg = up->arg;
	char *url = up->get_url, *why = up->why;

	(void)fd;
	(void)what;
	up->get_url = up->why = NULL;
	upload_free(up);
	if (done)
		done(cbarg, url, url ? NULL : why);
	free(url);
	free(why);
}

/*
 * The outcome is reported from a fresh loop turn: never inside gw_upload()
 * or inside a libevent HTTP callback that still uses the connection.
 */
static void
finish(struct gw_upload *up, const char *why)
{
	static const struct timeval now = {0, 0};

	if (up->finish)
		return;
	if (why) {
		free(up->get_url);
		up->get_url = NULL;
		up->why = xstrdup(why);
		log_info("upload: %s for %s not uploaded: %s", up->filename, up->user, why);
	}
	up->finish = evtimer_new(core.base, finish_cb, up);
	evtimer_add(up->finish, &now);
}

/* ---- finding the service ---- */

static void
service_settled(struct service *s, enum svc_state state, const char *jid, uint64_t max)
{
	struct gw_upload *up, *next;

	s->state = state;
	s->since = time(NULL);
	free(s->jid);
	s->jid = jid ? xstrdup(jid) : NULL;
	s->max_size = max;
	if (state == SVC_FOUND)
		log_info("upload: %s offers file upload at %s (up to %" PRIu64 " bytes)", s->domain,
		         jid, max);
	for (up = s->waiters, s->waiters = NULL; up; up = next) {
		next = up->next_waiter;
		up->next_waiter = NULL;
		if (state == SVC_FOUND)
			request_slot(up);
		else
			finish(up, "your server offers no file upload (XEP-0363)");
	}
}

/* The max-file-size field of the upload form in a disco#info answer, 0 when absent. */
static uint64_t
form_max_size(xmpp_stanza_t *query)
{
	for (xmpp_stanza_t *x = xmpp_stanza_get_children(query); x; x = xmpp_stanza_get_next(x)) {
		const char *name = xmpp_stanza_get_name(x), *ns = xmpp_stanza_get_ns(x);

		if (name == NULL || strcmp(name, "x") != 0 || ns == NULL ||
		    strcmp(ns, "jabber:x:data") != 0)
			continue;
		for (xmpp_stanza_t *f = xmpp_stanza_get_children(x); f;
		     f = xmpp_stanza_get_next(f)) {
			const char *var = xmpp_stanza_get_attribute(f, "var");
			char *v;
			uint64_t n;

			if (var == NULL || strcmp(var, "max-file-size") != 0)
				continue;
			v = stanza_child_text(f, "value");
			n = v ? strtoull(v, NULL, 10) : 0;
			if (v)
				xmpp_free(component_ctx(), v);
			return n;
		}
	}
	return 0;
}

static bool
offers_upload(xmpp_stanza_t *query)
{
	for (xmpp_stanza_t *c = xmpp_stanza_get_children(query); c; c = xmpp_stanza_get_next(c)) {
		const char *name = xmpp_stanza_get_name(c), *var;

		if (name && strcmp(name, "feature") == 0 &&
		    (var = xmpp_stanza_get_attribute(c, "var")) && strcmp(var, NS_UPLOAD) == 0)
			return true;
	}
	return false;
}

struct info_ask {
	struct service *s;
	char *jid;
};

static void
info_cb(void *arg, xmpp_stanza_t *reply)
{
	struct info_ask *ask = arg;
	struct service *s = ask->s;
	const char *type = reply ? xmpp_stanza_get_type(reply) : NULL;
	xmpp_stanza_t *q = reply ? stanza_child(reply, "query", NS_DISCO_INFO) : NULL;

	s->asked--;
	if (s->state == SVC_LOOKING && type && strcmp(type, "result") == 0 && q && offers_upload(q))
		service_settled(s, SVC_FOUND, ask->jid, form_max_size(q));
	else if (s->state == SVC_LOOKING && s->asked == 0)
		service_settled(s, SVC_NONE, NULL, 0);
	free(ask->jid);
	free(ask);
}

static void
ask_info(struct gw_net *net, struct service *s, const char *jid)
{
	xmpp_stanza_t *iq = xmpp_iq_new(component_ctx(), "get", NULL);
	struct info_ask *ask = xcalloc(1, sizeof(*ask));

	xmpp_stanza_set_to(iq, jid);
	stanza_add_child(iq, "query", NS_DISCO_INFO);
	ask->s = s;
	ask->jid = xstrdup(jid);
	if (iqwait_send(net, iq, IQ_TIMEOUT, info_cb, ask))
		s->asked++;
	else {
		free(ask->jid);
		free(ask);
	}
	xmpp_stanza_release(iq);
}

struct items_ask {
	struct gw_net *net;
	struct service *s;
};

static void
items_cb(void *arg, xmpp_stanza_t *reply)
{
	struct items_ask *ask = arg;
	struct service *s = ask->s;
	xmpp_stanza_t *q = reply ? stanza_child(reply, "query", NS_DISCO_ITEMS) : NULL;
	int n = 0;

	/* The domain itself was asked alongside; its answer may have settled it already. */
	s->asked--;
	for (xmpp_stanza_t *c = q ? xmpp_stanza_get_children(q) : NULL; c && n < MAX_ITEMS;
	     c = xmpp_stanza_get_next(c)) {
		const char *name = xmpp_stanza_get_name(c),
		           *jid = xmpp_stanza_get_attribute(c, "jid");

		if (s->state != SVC_LOOKING)
			break;
		if (name && strcmp(name, "item") == 0 && jid && strchr(jid, '@') == NULL &&
		    strchr(jid, '/') == NULL) {
			ask_info(ask->net, s, jid);
			n++;
		}
	}
	if (s->state == SVC_LOOKING && s->asked == 0)
		service_settled(s, SVC_NONE, NULL, 0);
	free(ask);
}

static void
discover(struct gw_net *net, struct service *s)
{
	xmpp_stanza_t *iq = xmpp_iq_new(component_ctx(), "get", NULL);
	struct items_ask *ask = xcalloc(1, sizeof(*ask));

	s->state = SVC_LOOKING;
	s->asked = 0;
	log_debug("upload: looking for %s's upload service", s->domain);
	xmpp_stanza_set_to(iq, s->domain);
	stanza_add_child(iq, "query", NS_DISCO_ITEMS);
	ask->net = net;
	ask->s = s;
	if (iqwait_send(net, iq, IQ_TIMEOUT, items_cb, ask))
		s->asked++;
	else
		free(ask);
	xmpp_stanza_release(iq);
	ask_info(net, s, s->domain);
	if (s->asked == 0)
		service_settled(s, SVC_NONE, NULL, 0); /* offline: asked again next time */
}

/* ---- the PUT ---- */

static void
put_done(struct evhttp_request *req, void *arg)
{
	struct gw_upload *up = arg;
	int code = req ? evhttp_request_get_response_code(req) : 0;

	up->req = NULL; /* libevent frees it after this callback */
	if (code == 200 || code == 201) {
		log_info("upload: %s for %s (%zu bytes) at %s", up->filename, up->user, up->len,
		         up->get_url);
		finish(up, NULL);
	} else if (code != 0) {
		const char *line = evhttp_request_get_response_code_line(req);
		char *why = xasprintf("the upload service answered HTTP %d%s%s", code,
		                      line ? " " : "", line ? line : "");

		finish(up, why);
		free(why);
	} else if (!up->finish)
		finish(up, "the upload service could not be reached");
}

static void
put_error(enum evhttp_request_error e, void *arg)
{
	struct gw_upload *up = arg;

	up->req = NULL;
	finish(up, e == EVREQ_HTTP_TIMEOUT ? "the upload service did not answer in time"
	                                   : "the connection to the upload service failed");
}

static SSL_CTX *
tls_ctx(void)
{
	if (tls == NULL) {
		tls = SSL_CTX_new(TLS_client_method());
		if (tls == NULL)
			return NULL;
		SSL_CTX_set_min_proto_version(tls, TLS1_2_VERSION);
		SSL_CTX_set_verify(tls, SSL_VERIFY_PEER, NULL);
		if (SSL_CTX_set_default_verify_paths(tls) != 1)
			log_warnx("upload: the system's CA certificates could not be loaded");
	}
	return tls;
}

/* A slot header XEP-0363 allows through, without CR/LF; false for any other. */
static bool
header_allowed(const char *name, const char *value)
{
	return (strcasecmp(name, "Authorization") == 0 || strcasecmp(name, "Cookie") == 0 ||
	        strcasecmp(name, "Expires") == 0) &&
	       strpbrk(value, "\r\n") == NULL;
}

static const char *
put(struct gw_upload *up, const char *url, xmpp_stanza_t *put_el)
{
	struct evhttp_uri *uri = evhttp_uri_parse(url);
	const char *scheme, *host, *path, *query;
	struct bufferevent *bev;
	struct evkeyvalq *h;
	char *target, *hostport;
	bool https;
	int port;

	if (uri == NULL)
		return "the upload service gave an unreadable URL";
	scheme = evhttp_uri_get_scheme(uri);
	host = evhttp_uri_get_host(uri);
	https = scheme && strcasecmp(scheme, "https") == 0;
	if (scheme == NULL || (!https && strcasecmp(scheme, "http") != 0) || host == NULL ||
	    *host == '\0') {
		evhttp_uri_free(uri);
		return "the upload service gave a URL that is not http(s)";
	}
	port = evhttp_uri_get_port(uri);
	if (port < 0)
		port = https ? 443 : 80;
	if (https) {
		SSL_CTX *ctx = tls_ctx();
		SSL *ssl = ctx ? SSL_new(ctx) : NULL;

		if (ssl == NULL) {
			evhttp_uri_free(uri);
			return "TLS is not available";
		}
		SSL_set_tlsext_host_name(ssl, host);
		SSL_set1_host(ssl, host);
		bev = bufferevent_openssl_socket_new(core.base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
		                                     BEV_OPT_CLOSE_ON_FREE |
		                                             BEV_OPT_DEFER_CALLBACKS);
		if (bev)
			bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	} else
		bev = bufferevent_socket_new(core.base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		evhttp_uri_free(uri);
		return "out of sockets";
	}
	up->conn = evhttp_connection_base_bufferevent_new(core.base, gw_dns_base(), bev, host,
	                                                  (unsigned short)port);
	evhttp_connection_set_timeout(up->conn, HTTP_TIMEOUT);
	evhttp_connection_set_retries(up->conn, 0);
	up->req = evhttp_request_new(put_done, up);
	evhttp_request_set_error_cb(up->req, put_error);
	h = evhttp_request_get_output_headers(up->req);
	hostport = (port == (https ? 443 : 80)) ? xstrdup(host) : xasprintf("%s:%d", host, port);
	evhttp_add_header(h, "Host", hostport);
	free(hostport);
	evhttp_add_header(h, "Content-Type", up->type);
	evhttp_add_header(h, "Connection", "close");
	for (xmpp_stanza_t *c = xmpp_stanza_get_children(put_el); c; c = xmpp_stanza_get_next(c)) {
		const char *name = xmpp_stanza_get_name(c),
		           *hname = xmpp_stanza_get_attribute(c, "name");
		char *value;

		if (name == NULL || strcmp(name, "header") != 0 || hname == NULL)
			continue;
		value = xmpp_stanza_get_text(c);
		if (value && header_allowed(hname, value))
			evhttp_add_header(h, hname, value);
		if (value)
			xmpp_free(component_ctx(), value);
	}
	evbuffer_add(evhttp_request_get_output_buffer(up->req), up->data, up->len);
	path = evhttp_uri_get_path(uri);
	query = evhttp_uri_get_query(uri);
	target = xasprintf("%s%s%s", path && *path ? path : "/", query ? "?" : "",
	                   query ? query : "");
	evhttp_uri_free(uri);
	if (evhttp_make_request(up->conn, up->req, EVHTTP_REQ_PUT, target) == -1) {
		up->req = NULL; /* freed by libevent on failure */
		free(target);
		return "the upload could not be started";
	}
	free(target);
	return NULL;
}

/* ---- the slot ---- */

static bool
url_ok(const char *url)
{
	return url && strlen(url) < MAX_URL && strpbrk(url, " \r\n\t") == NULL &&
	       (strncasecmp(url, "https://", 8) == 0 || strncasecmp(url, "http://", 7) == 0);
}

static void
slot_cb(void *arg, xmpp_stanza_t *reply)
{
	struct gw_upload *up = arg;
	const char *type = reply ? xmpp_stanza_get_type(reply) : NULL;
	xmpp_stanza_t *slot = reply ? stanza_child(reply, "slot", NS_UPLOAD) : NULL;
	xmpp_stanza_t *put_el = slot ? stanza_child(slot, "put", NULL) : NULL;
	xmpp_stanza_t *get_el = slot ? stanza_child(slot, "get", NULL) : NULL;
	const char *put_url = put_el ? xmpp_stanza_get_attribute(put_el, "url") : NULL;
	const char *get_url = get_el ? xmpp_stanza_get_attribute(get_el, "url") : NULL;
	const char *why;

	up->iq = NULL;
	if (reply == NULL) {
		finish(up, "the upload service did not answer");
		return;
	}
	if (type && strcmp(type, "error") == 0) {
		xmpp_stanza_t *err = stanza_child(reply, "error", NULL);
		char *text = err ? stanza_child_text(err, "text") : NULL;
		char *msg = xasprintf("the upload service refused%s%s", text ? ": " : "",
		                      text ? text : "");

		if (text)
			xmpp_free(component_ctx(), text);
		finish(up, msg);
		free(msg);
		return;
	}
	if (!url_ok(put_url) || !url_ok(get_url)) {
		finish(up, "the upload service gave no usable slot");
		return;
	}
	up->get_url = xstrdup(get_url);
	if ((why = put(up, put_url, put_el)) != NULL)
		finish(up, why);
}

static void
request_slot(struct gw_upload *up)
{
	struct service *s = up->svc;
	xmpp_stanza_t *iq, *req;
	char size[32];

	if (s->max_size && up->len > s->max_size) {
		char *why = xasprintf("the file (%zu bytes) is bigger than your server accepts "
		                      "(%" PRIu64 " bytes)",
		                      up->len, s->max_size);

		finish(up, why);
		free(why);
		return;
	}
	iq = xmpp_iq_new(component_ctx(), "get", NULL);
	xmpp_stanza_set_to(iq, s->jid);
	req = stanza_add_child(iq, "request", NS_UPLOAD);
	snprintf(size, sizeof(size), "%zu", up->len);
	xmpp_stanza_set_attribute(req, "filename", up->filename);
	xmpp_stanza_set_attribute(req, "size", size);
	xmpp_stanza_set_attribute(req, "content-type", up->type);
	up->iq = iqwait_send(up->net, iq, IQ_TIMEOUT, slot_cb, up);
	xmpp_stanza_release(iq);
	if (up->iq == NULL)
		finish(up, "the gateway is not connected to your server");
}

/* ---- the driver's entry points ---- */

/* A file name safe to hand on: no path, no controls, not empty. Caller frees. */
static char *
safe_name(const char *name)
{
	const char *base = name ? strrchr(name, '/') : NULL;
	char *out = xstrdup(base ? base + 1 : name ? name : "");

	for (char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == '\\' || *p == 0x7f)
			*p = '_';
	if (*out == '\0' || strcmp(out, ".") == 0 || strcmp(out, "..") == 0) {
		free(out);
		out = xstrdup("attachment");
	}
	return out;
}

struct gw_upload *
gw_upload(struct gw_net *net, const char *user, const char *filename, const char *content_type,
          const void *data, size_t len, gw_upload_cb done, void *arg)
{
	struct gw_upload *up = xcalloc(1, sizeof(*up));
	const char *at = strchr(user, '@');
	const char *domain = at ? at + 1 : user;
	struct service *s;
	time_t now = time(NULL);

	up->net = net;
	up->user = xstrdup(user);
	up->filename = safe_name(filename);
	up->type = xstrdup(content_type && *content_type && strpbrk(content_type, "\r\n") == NULL
	                           ? content_type
	                           : "application/octet-stream");
	up->data = xmalloc(len ? len : 1);
	memcpy(up->data, data, len);
	up->len = len;
	up->done = done;
	up->arg = arg;
	up->next = uploads;
	if (uploads)
		uploads->prev = up;
	uploads = up;
	if (services == NULL)
		services = strmap_new();
	if ((s = strmap_get(services, domain)) == NULL) {
		s = xcalloc(1, sizeof(*s));
		s->domain = xstrdup(domain);
		s->state = SVC_NONE;
		strmap_put(services, domain, s);
	}
	up->svc = s;
	if (s->state == SVC_FOUND && now - s->since < FOUND_TTL) {
		request_slot(up);
		return up;
	}
	if (s->state == SVC_NONE && s->since && now - s->since < NONE_TTL) {
		finish(up, "your server offers no file upload (XEP-0363)");
		return up;
	}
	up->next_waiter = s->waiters;
	s->waiters = up;
	if (s->state != SVC_LOOKING)
		discover(net, s);
	return up;
}

void
gw_upload_cancel(struct gw_upload *up)
{
	struct gw_upload **pp;

	if (up == NULL)
		return;
	for (pp = &up->svc->waiters; *pp; pp = &(*pp)->next_waiter)
		if (*pp == up) {
			*pp = up->next_waiter;
			break;
		}
	upload_free(up);
}

static void
service_free(void *value)
{
	struct service *s = value;

	free(s->domain);
	free(s->jid);
	free(s);
}

void
upload_shutdown(void)
{
	while (uploads)
		gw_upload_cancel(uploads);
	if (services)
		strmap_free(services, service_free);
	services = NULL;
	if (tls)
		SSL_CTX_free(tls);
	tls = NULL;
}
