/*
 * One retry schedule per conversation (a user and an address of one
 * network), so that its messages keep their order while the network cannot
 * take them. Each message retried on its own schedule (its own attempts,
 * its own jitter) would go out in the order the timers fire, and a message
 * sent while older ones wait would overtake them: so the first message of a
 * conversation to be retried sets when the conversation is tried again,
 * every later one (retried, or new) waits for that same moment, and the
 * scan then hands them to the driver together, oldest first.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "strmap.h"
#include "users.h"

struct backoff {
	struct strmap *until; /* "user\x1fpeer" -> (time_t *) when it is tried again */
};

struct backoff *
backoff_new(void)
{
	struct backoff *b = xcalloc(1, sizeof(*b));

	b->until = strmap_new();
	return b;
}

void
backoff_free(struct backoff *b)
{
	if (b == NULL)
		return;
	strmap_free(b->until, free);
	free(b);
}

/* A user's JID never holds \x1f (stringprep forbids controls). */
static char *
conv_key(const char *user, const char *peer)
{
	return xconcat(user, "\x1f", peer ? peer : "", (char *)NULL);
}

time_t
backoff_until(const struct backoff *b, const char *user, const char *peer)
{
	char *key = conv_key(user, peer);
	time_t *t = strmap_get(b->until, key);

	free(key);
	return t ? *t : 0;
}

time_t
backoff_join(struct backoff *b, const char *user, const char *peer, time_t when, time_t now)
{
	char *key = conv_key(user, peer);
	time_t *t = strmap_get(b->until, key);

	if (t == NULL) {
		t = xmalloc(sizeof(*t));
		*t = when;
		strmap_put(b->until, key, t);
	} else if (*t <= now)
		*t = when; /* the last schedule is over: this one starts the next */
	free(key);
	return *t;
}

struct prune {
	struct backoff *b;
	time_t now;
	char **keys;
	size_t n;
};

static void
collect_cb(const char *key, void *value, void *arg)
{
	struct prune *p = arg;

	if (*(time_t *)value <= p->now) {
		p->keys = xreallocarray(p->keys, p->n + 1, sizeof(*p->keys));
		p->keys[p->n++] = xstrdup(key);
	}
}

void
backoff_prune(struct backoff *b, time_t now)
{
	struct prune p = {b, now, NULL, 0};

	if (strmap_count(b->until) == 0)
		return;
	strmap_foreach(b->until, collect_cb, &p);
	for (size_t i = 0; i < p.n; i++) {
		free(strmap_del(b->until, p.keys[i]));
		free(p.keys[i]);
	}
	free(p.keys);
}
