/*
 * schedule.c: refresh and retry times of the staples, the one place that
 * decides them (the policy is written out in schedule.h).  Pure: libc only,
 * no clock, no randomness of its own.
 */
#include <stdint.h>

#include "schedule.h"

static int64_t	sched_min(int64_t, int64_t);
static int64_t	sched_max(int64_t, int64_t);
static int64_t	sched_jitter(int64_t, uint32_t);
static int64_t	sched_midpoint(int64_t, int64_t);
static int64_t	sched_spread(int64_t, uint32_t);

static int64_t
sched_min(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static int64_t
sched_max(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/*
 * rnd / 2^32 of a SCHED_JITTER_DIV-th of delay, rounded down, in
 * integers: 0 for rnd 0, just under delay / SCHED_JITTER_DIV for
 * UINT32_MAX.
 */
static int64_t
sched_jitter(int64_t delay, uint32_t rnd)
{
	uint64_t q;

	if (delay <= 0)
		return 0;
	q = (uint64_t)(delay / SCHED_JITTER_DIV);
	return (int64_t)((q >> 32) * rnd +
	    (((q & UINT32_MAX) * rnd) >> 32));
}

/* rnd / 2^32 of range (>= 0, < 2^32), rounded down. */
static int64_t
sched_spread(int64_t range, uint32_t rnd)
{
	return (int64_t)(((uint64_t)range * rnd) >> 32);
}

/* Halfway from this_update to next_update; without overflow. */
static int64_t
sched_midpoint(int64_t this_update, int64_t next_update)
{
	return this_update + (next_update - this_update) / 2;
}

int64_t
sched_next_refresh(int64_t now, int64_t this_update, int64_t next_update,
    int64_t refresh_interval, uint32_t rnd)
{
	int64_t delay, mid, t;

	delay = sched_max(refresh_interval, 0);
	if (next_update <= now)
		delay = 0;		/* already stale: soonest allowed */
	else {
		mid = this_update < next_update ?
		    sched_midpoint(this_update, next_update) : now;
		/* Past the midpoint: halve what is left instead. */
		delay = sched_min(delay, mid > now ? mid - now :
		    (next_update - now) / 2);
	}
	t = now + delay - sched_jitter(delay, rnd);
	if (next_update - SCHED_SAFETY_MS > now)
		t = sched_min(t, next_update - SCHED_SAFETY_MS);
	return sched_max(t, now + SCHED_MIN_INTERVAL_MS);
}

int64_t
sched_backoff(int64_t now, unsigned failures, int64_t refresh_interval,
    uint32_t rnd)
{
	int64_t cap, delay;
	unsigned i;

	cap = sched_max(sched_min(refresh_interval, SCHED_BACKOFF_MAX_MS),
	    SCHED_MIN_INTERVAL_MS);
	delay = SCHED_BACKOFF_FIRST_MS;
	for (i = 1; i < failures && delay < cap; i++)
		delay *= 2;
	delay = sched_min(delay, cap);
	delay -= sched_jitter(delay, rnd);
	return now + sched_max(delay, SCHED_MIN_INTERVAL_MS);
}

int64_t
sched_from_cache_headers(int64_t planned, int64_t now, int64_t max_age,
    int64_t age, int64_t this_update, int64_t next_update)
{
	int64_t fresh, until;

	if (max_age < 0 || this_update >= next_update)
		return planned;
	fresh = sched_min(max_age, SCHED_MAX_AGE_MAX_S) - sched_max(age, 0);
	if (fresh <= 0)
		return planned;
	until = sched_min(now + fresh * SCHED_MS_PER_S,
	    sched_midpoint(this_update, next_update));
	return sched_max(planned, until);
}

int64_t
sched_crl_refresh(int64_t now, int64_t next_update, int64_t refresh_interval,
    uint32_t rnd)
{
	int64_t delay, t;

	delay = sched_max(refresh_interval, 0);
	t = now + delay - sched_jitter(delay, rnd);
	if (next_update > 0 && next_update <= now)
		t = sched_min(t, now + SCHED_CRL_LATE_MS);
	else if (next_update > 0 && next_update < t)
		t = next_update + sched_spread(SCHED_CRL_SPREAD_MS, rnd);
	return sched_max(t, now + SCHED_MIN_INTERVAL_MS);
}

int
sched_bucket_take(struct sched_bucket *b, int64_t now, int64_t rate,
    int64_t burst)
{
	int64_t cap, elapsed;

	rate = sched_max(rate, 1);
	cap = sched_max(burst, 1) * SCHED_MILLI;
	if (b->last_ms == 0)
		b->milli = cap;
	else if ((elapsed = now - b->last_ms) > 0)
		/* elapsed capped: a long pause cannot overflow. */
		b->milli = sched_min(cap, b->milli +
		    sched_min(elapsed, cap) * rate);
	if (b->last_ms == 0 || now > b->last_ms)
		b->last_ms = now;
	if (b->milli < SCHED_MILLI)
		return 0;
	b->milli -= SCHED_MILLI;
	return 1;
}
