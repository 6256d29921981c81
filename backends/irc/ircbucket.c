/*
 * Token buckets as GCRA. See ircbucket.h.
 *
 * A bucket of capacity B regaining one token every T is the same as a clock
 * tat that each message pushes T forward (from now if it lags behind); a
 * message may go when tat + T - now <= B * T.
 */
#include "ircbucket.h"

void
ircbucket_init(struct ircbucket *b, unsigned burst, unsigned interval_ms, unsigned byte_burst,
               unsigned byte_rate)
{
	b->burst = interval_ms != 0 ? burst : 0;
	b->interval_ms = interval_ms;
	b->byte_burst = byte_rate != 0 ? byte_burst : 0;
	b->byte_rate = byte_rate;
	ircbucket_reset(b);
}

void
ircbucket_init_default(struct ircbucket *b)
{
	ircbucket_init(b, IRCBUCKET_BURST, IRCBUCKET_INTERVAL_MS, IRCBUCKET_BYTE_BURST,
	               IRCBUCKET_BYTE_RATE);
}

void
ircbucket_set_rate(struct ircbucket *b, unsigned burst, unsigned interval_ms)
{
	b->burst = interval_ms != 0 ? burst : 0;
	b->interval_ms = interval_ms;
}

void
ircbucket_reset(struct ircbucket *b)
{
	b->tat_ms = 0;
	b->tat_us = 0;
}

static uint64_t
max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* Microseconds of byte credit a line of len bytes costs. */
static uint64_t
byte_cost_us(const struct ircbucket *b, size_t len)
{
	return ((uint64_t)len * 1000000u + b->byte_rate - 1) / b->byte_rate;
}

uint64_t
ircbucket_wait(const struct ircbucket *b, uint64_t now_ms, size_t len)
{
	uint64_t wait = 0, tat, limit, now_us = now_ms * 1000, w;

	if (b->burst != 0) {
		tat = max64(b->tat_ms, now_ms) + b->interval_ms;
		limit = now_ms + (uint64_t)b->burst * b->interval_ms;
		if (tat > limit)
			wait = tat - limit;
	}
	if (b->byte_burst != 0) {
		tat = max64(b->tat_us, now_us);
		limit = (uint64_t)b->byte_burst * 1000000u / b->byte_rate;
		if (byte_cost_us(b, len) > limit) {
			/* Bigger than the whole bucket: wait until it is full. */
			w = tat > now_us ? tat - now_us : 0;
		} else {
			tat += byte_cost_us(b, len);
			w = tat > now_us + limit ? tat - now_us - limit : 0;
		}
		w = (w + 999) / 1000;
		if (w > wait)
			wait = w;
	}
	return wait;
}

void
ircbucket_take(struct ircbucket *b, uint64_t now_ms, size_t len)
{
	if (b->burst != 0)
		b->tat_ms = max64(b->tat_ms, now_ms) + b->interval_ms;
	if (b->byte_burst != 0)
		b->tat_us = max64(b->tat_us, now_ms * 1000) + byte_cost_us(b, len);
}

bool
ircbucket_try(struct ircbucket *b, uint64_t now_ms, size_t len)
{
	if (ircbucket_wait(b, now_ms, len) != 0)
		return false;
	ircbucket_take(b, now_ms, len);
	return true;
}
