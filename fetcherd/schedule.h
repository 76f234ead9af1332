/*
 * schedule.h: when to fetch a staple again, after a success or a failure.
 *
 * Pure arithmetic on times in milliseconds since the epoch (the unit of the
 * configuration's durations; revcheck's seconds are multiplied by 1000 by
 * the caller).  No I/O, no clock: the caller passes now and rnd, any
 * 32-bit random number (arc4random()), so every result can be tested.
 * Inputs are real times, far from the limits of int64_t.
 *
 * The policy (STYLE.md habit 9, nginx and haproxy's timing):
 *   - after a verified response, refresh at the midpoint of its validity,
 *     or refresh_interval from now if that comes first; once the midpoint
 *     has passed (an old response, from a cache or from disk), halve the
 *     time left instead, so that each retry still comes before nextUpdate;
 *   - take up to a SCHED_JITTER_DIV-th of the delay off, by rnd, so that
 *     targets loaded together do not fetch together forever;
 *   - never sooner than SCHED_MIN_INTERVAL_MS from now (a responder that
 *     keeps sending the same short-lived answer is not hammered), and no
 *     later than SCHED_SAFETY_MS before nextUpdate when that is possible;
 *   - after a failure, retry after 30 s, 60 s, 120 s ... doubling up to
 *     refresh_interval or SCHED_BACKOFF_MAX_MS, whichever is less;
 *   - honour the responder's Cache-Control max-age (RFC 5019 6.2): do not
 *     ask again before it ends, as the answer would be the same, unless
 *     that would pass the midpoint of validity.
 *
 * CRLs (sched_crl_refresh) are asked for again every refresh_interval
 * (crl_cache.refresh_interval, 15 min by default: a conditional request
 * that usually costs a 304), or at their nextUpdate when that comes first,
 * spread over SCHED_CRL_SPREAD_MS after it so that fetchers do not all
 * ask the same second; a CRL already past its nextUpdate (its issuer is
 * late) every SCHED_CRL_LATE_MS.  The midpoint rule of staples does not
 * apply: a CRL's issuer publishes the next one on its own schedule, and
 * what is listed stays listed.
 *
 * Requests from brokers are limited by a token bucket (sched_bucket_take):
 * rate tokens a second, at most burst saved up.
 */
#ifndef STAPLEMQ_SCHEDULE_H
#define STAPLEMQ_SCHEDULE_H

#include <stdint.h>

#define SCHED_MS_PER_S		1000
#define SCHED_MIN_INTERVAL_MS	(10 * SCHED_MS_PER_S)	/* soonest refetch */
#define SCHED_SAFETY_MS		(60 * SCHED_MS_PER_S)	/* before nextUpdate */
#define SCHED_JITTER_DIV	10			/* up to 10% early */
#define SCHED_BACKOFF_FIRST_MS	(30 * SCHED_MS_PER_S)	/* first retry */
#define SCHED_BACKOFF_MAX_MS	(3600 * SCHED_MS_PER_S)	/* retries cap */
#define SCHED_MAX_AGE_MAX_S	(366 * 86400)		/* larger: a year */
#define SCHED_CRL_LATE_MS	(60 * SCHED_MS_PER_S)	/* issuer is late */
#define SCHED_CRL_SPREAD_MS	(30 * SCHED_MS_PER_S)	/* after nextUpdate */
#define SCHED_MILLI		1000			/* milli-tokens */

/* A token bucket; zeroed, it starts full at the first take. */
struct sched_bucket {
	int64_t		 milli;		/* tokens saved, in thousandths */
	int64_t		 last_ms;	/* when they were counted; 0: never */
};

/* schedule.c */
/*
 * When to fetch again after a verified response valid from this_update to
 * next_update.  Returns an absolute time, >= now + SCHED_MIN_INTERVAL_MS.
 */
int64_t	sched_next_refresh(int64_t now, int64_t this_update,
	    int64_t next_update, int64_t refresh_interval, uint32_t rnd);
/*
 * When to try again after failures consecutive failures (the one that
 * just happened included; 0 counts as 1).  Returns an absolute time,
 * >= now + SCHED_MIN_INTERVAL_MS.
 */
int64_t	sched_backoff(int64_t now, unsigned failures,
	    int64_t refresh_interval, uint32_t rnd);
/*
 * planned (from sched_next_refresh) moved no earlier than the end of the
 * response's HTTP freshness: Cache-Control max-age minus Age, both in
 * seconds (max_age < 0: no max-age; age < 0: no Age header), counted from
 * now, when it was received.  Never past the midpoint of this_update ..
 * next_update, never earlier than planned.
 */
int64_t	sched_from_cache_headers(int64_t planned, int64_t now,
	    int64_t max_age, int64_t age, int64_t this_update,
	    int64_t next_update);
/*
 * When to fetch a CRL again after a verified download (or a 304) of one
 * valid until next_update (0: it gives none).  Returns an absolute time,
 * >= now + SCHED_MIN_INTERVAL_MS.
 */
int64_t	sched_crl_refresh(int64_t now, int64_t next_update,
	    int64_t refresh_interval, uint32_t rnd);
/*
 * Take one token from b at now: 1 if there was one, 0 if not.  rate
 * tokens come each second (>= 1), up to burst (>= 1) saved.  A clock that
 * goes back adds nothing.
 */
int	sched_bucket_take(struct sched_bucket *b, int64_t now, int64_t rate,
	    int64_t burst);

#endif
