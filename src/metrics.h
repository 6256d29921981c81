/*
 * The Prometheus endpoint (metrics.c): GET /metrics on [metrics] listen.
 */
#ifndef SG_METRICS_H
#define SG_METRICS_H

struct event_base;

/* Serve on listen ("addr:port"; NULL or empty: off). -1 when it cannot listen (logged). */
int metrics_start(struct event_base *base, const char *listen);
void metrics_stop(void);

#endif
