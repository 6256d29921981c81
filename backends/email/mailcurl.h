/*
 * libcurl's multi-socket API on the daemon's libevent loop: every mail
 * transfer (SMTP submission, IMAP commands, APPEND) runs through one
 * multi handle per gateway, so nothing blocks and a slow server delays
 * only its own transfers.
 */
#ifndef SG_MAILCURL_H
#define SG_MAILCURL_H

#include <curl/curl.h>

struct event_base;
struct mcurl;

/* Called once when a transfer ends; the easy handle is out of the multi and is the callee's. */
typedef void (*mcurl_done_fn)(CURL *easy, CURLcode rc, void *arg);

struct mcurl *mcurl_new(struct event_base *);
/* Ends every transfer still running (their callbacks are not called) and frees. */
void mcurl_free(struct mcurl *);
/* Starts easy; done is called later, never from inside this call. */
void mcurl_add(struct mcurl *, CURL *easy, mcurl_done_fn done, void *arg);
/*
 * The same for a CURLOPT_CONNECT_ONLY handle: after done(rc == CURLE_OK)
 * it stays in the multi, so curl_easy_send()/curl_easy_recv() can use the
 * connection curl opened (TLS and login done); mcurl_cancel() ends it.
 */
void mcurl_add_connect(struct mcurl *, CURL *easy, mcurl_done_fn done, void *arg);
/* Stops a running transfer without calling its callback; easy stays the caller's. */
void mcurl_cancel(struct mcurl *, CURL *easy);
/* Transfers running now. */
unsigned mcurl_running(const struct mcurl *);

#endif
