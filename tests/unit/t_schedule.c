/*
 * t_schedule.c: refresh and backoff arithmetic of fetcherd/schedule.c.
 *
 * Table-driven: every row is a boundary of the policy in schedule.h, with
 * rnd 0 (no jitter) and UINT32_MAX (the most jitter).  All times are in
 * milliseconds, around a fixed now.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fetcherd/schedule.h"

#define N	INT64_C(1700000000000)		/* now */
#define S	INT64_C(1000)
#define M	(60 * S)
#define H	(60 * M)
#define D	(24 * H)
#define RMAX	UINT32_MAX
#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

/* The most jitter there is on a delay (>= 10 ms): just under a tenth. */
#define MOST_JITTER(d)	((d) / SCHED_JITTER_DIV - 1)

static void
t_next_refresh(void **state)
{
	static const struct {
		const char	*what;
		int64_t		 this_update, next_update, refresh;
		uint32_t	 rnd;
		int64_t		 want;		/* minus N */
	} tab[] = {
		{ "7 days, refresh 1h", N, N + 7 * D, H, 0, H },
		{ "7 days, refresh 1h, jitter", N, N + 7 * D, H, RMAX,
		    H - MOST_JITTER(H) },
		{ "1h, refresh 1d: midpoint", N, N + H, D, 0, 30 * M },
		{ "1h, refresh 1d: midpoint, jitter", N, N + H, D, RMAX,
		    30 * M - MOST_JITTER(30 * M) },
		{ "2h, refresh 1h: both at once", N, N + 2 * H, H, 0, H },
		{ "2h, refresh 1h + 1ms", N, N + 2 * H, H + 1, 0, H },
		{ "2h, refresh 1h - 1ms", N, N + 2 * H, H - 1, 0, H - 1 },
		{ "thisUpdate in the past, midpoint ahead", N - 2 * H,
		    N + 4 * H, D, 0, H },
		{ "midpoint passed: half what is left", N - 6 * D, N + D, D,
		    0, 12 * H },
		{ "midpoint passed, jitter", N - 6 * D, N + D, D, RMAX,
		    12 * H - MOST_JITTER(12 * H) },
		{ "midpoint exactly now: half", N - H, N + H, D, 0, 30 * M },
		{ "close: safety margin wins", N - H, N + 90 * S, H, 0,
		    30 * S },
		{ "close: safety margin, jitter", N - H, N + 90 * S, H, RMAX,
		    30 * S },
		{ "closer: minimum interval", N - H, N + 20 * S, H, 0,
		    SCHED_MIN_INTERVAL_MS },
		{ "closer than the minimum", N - H, N + 5 * S, H, 0,
		    SCHED_MIN_INTERVAL_MS },
		{ "nextUpdate is now", N - H, N, H, 0, SCHED_MIN_INTERVAL_MS },
		{ "nextUpdate passed", N - D, N - 1, H, 0,
		    SCHED_MIN_INTERVAL_MS },
		{ "nextUpdate long passed", N - 9 * D, N - 8 * D, H, RMAX,
		    SCHED_MIN_INTERVAL_MS },
		{ "thisUpdate after nextUpdate", N + 2 * H, N + H, D, 0,
		    30 * M },
		{ "thisUpdate in the future, midpoint", N + 60 * S,
		    N + 60 * S + 2 * H, D, 0, 60 * S + H },
		{ "10 years, refresh 1d", N, N + 3650 * D, D, 0, D },
		{ "refresh 1s: minimum interval", N, N + D, S, 0,
		    SCHED_MIN_INTERVAL_MS },
		{ "refresh 0", N, N + D, 0, 0, SCHED_MIN_INTERVAL_MS },
		{ "refresh negative", N, N + D, -H, 0, SCHED_MIN_INTERVAL_MS },
		{ "safety vs midpoint", N - 10 * M, N + 100 * S, H, 0,
		    40 * S },
	};
	size_t i;
	int64_t got;

	(void)state;
	for (i = 0; i < NITEMS(tab); i++) {
		got = sched_next_refresh(N, tab[i].this_update,
		    tab[i].next_update, tab[i].refresh, tab[i].rnd);
		if (got != N + tab[i].want)
			fail_msg("%s: now+%lld, want now+%lld", tab[i].what,
			    (long long)(got - N), (long long)tab[i].want);
	}
}

/* Whatever rnd is, the jitter stays within its tenth and the bounds. */
static void
t_next_refresh_jitter(void **state)
{
	static const uint32_t fixed[] = {
		0, 1, 2, 0x7fffffff, 0x80000000, 0xfffffffe, RMAX
	};
	uint32_t rnd = 12345;
	int64_t got, lo, prev = INT64_MAX;
	size_t i;

	(void)state;
	lo = N + H - H / SCHED_JITTER_DIV;
	for (i = 0; i < NITEMS(fixed); i++) {
		got = sched_next_refresh(N, N, N + 7 * D, H, fixed[i]);
		assert_true(got > lo && got <= N + H);
		assert_true(got <= prev);	/* more rnd, earlier */
		prev = got;
	}
	for (i = 0; i < 10000; i++) {
		rnd = rnd * 1664525 + 1013904223;
		got = sched_next_refresh(N, N, N + 7 * D, H, rnd);
		assert_true(got > lo && got <= N + H);
		got = sched_next_refresh(N, N - H, N + 150 * S, D, rnd);
		assert_true(got >= N + SCHED_MIN_INTERVAL_MS &&
		    got <= N + 150 * S - SCHED_SAFETY_MS);
	}
}

static void
t_backoff(void **state)
{
	static const struct {
		unsigned	 failures;
		int64_t		 refresh;
		uint32_t	 rnd;
		int64_t		 want;		/* minus N */
	} tab[] = {
		{ 0, D, 0, 30 * S },
		{ 1, D, 0, 30 * S },
		{ 2, D, 0, 60 * S },
		{ 3, D, 0, 120 * S },
		{ 4, D, 0, 240 * S },
		{ 5, D, 0, 480 * S },
		{ 6, D, 0, 960 * S },
		{ 7, D, 0, 1920 * S },
		{ 8, D, 0, H },			/* 3840 s, capped at 1 h */
		{ 9, D, 0, H },
		{ 64, D, 0, H },
		{ 65, D, 0, H },
		{ UINT32_MAX, D, 0, H },
		{ 1, D, RMAX, 30 * S - MOST_JITTER(30 * S) },
		{ 8, D, RMAX, H - MOST_JITTER(H) },
		{ 4, 5 * M, 0, 240 * S },
		{ 5, 5 * M, 0, 5 * M },		/* capped at refresh */
		{ 6, 5 * M, 0, 5 * M },
		{ 5, 5 * M, RMAX, 5 * M - MOST_JITTER(5 * M) },
		{ 1, 20 * S, 0, 20 * S },
		{ 1, 5 * S, 0, SCHED_MIN_INTERVAL_MS },
		{ 1, 0, 0, SCHED_MIN_INTERVAL_MS },
		{ 3, -1, RMAX, SCHED_MIN_INTERVAL_MS },
		{ 1, 11 * S, RMAX, SCHED_MIN_INTERVAL_MS },
		{ 2, 2 * H, 0, 60 * S },
		{ 9, 2 * H, 0, H },
	};
	size_t i;
	int64_t got;

	(void)state;
	for (i = 0; i < NITEMS(tab); i++) {
		got = sched_backoff(N, tab[i].failures, tab[i].refresh,
		    tab[i].rnd);
		if (got != N + tab[i].want)
			fail_msg("row %zu (%u failures): now+%lld, want "
			    "now+%lld", i, tab[i].failures,
			    (long long)(got - N), (long long)tab[i].want);
	}
}

/* Each failure waits at least as long as the one before. */
static void
t_backoff_monotonic(void **state)
{
	int64_t got, prev = 0;
	unsigned f;

	(void)state;
	for (f = 1; f < 100; f++) {
		got = sched_backoff(N, f, D, 0);
		assert_true(got >= prev);
		assert_true(got <= N + SCHED_BACKOFF_MAX_MS);
		prev = got;
	}
}

static void
t_cache_headers(void **state)
{
	static const struct {
		const char	*what;
		int64_t		 planned, max_age, age;	/* planned - N */
		int64_t		 this_update, next_update;
		int64_t		 want;			/* minus N */
	} tab[] = {
		{ "no max-age", 5 * M, -1, -1, N, N + 7 * D, 5 * M },
		{ "max-age=0", 5 * M, 0, -1, N, N + 7 * D, 5 * M },
		{ "max-age ends before planned", H, 600, -1, N, N + 7 * D, H },
		{ "max-age ends with planned", H, 3600, -1, N, N + 7 * D, H },
		{ "max-age moves it later", 5 * M, 3600, -1, N, N + 7 * D,
		    H },
		{ "max-age would pass the midpoint", 5 * M, 7200, -1, N,
		    N + H, 30 * M },
		{ "Age counts", 5 * M, 3600, 3000, N, N + 7 * D, 10 * M },
		{ "Age past max-age", 5 * M, 3600, 3600, N, N + 7 * D, 5 * M },
		{ "Age larger", 5 * M, 3600, 99999, N, N + 7 * D, 5 * M },
		{ "Age 0", 5 * M, 3600, 0, N, N + 7 * D, H },
		{ "huge max-age: midpoint", 5 * M, INT64_MAX, -1, N,
		    N + 7 * D, 84 * H },
		{ "huge max-age and Age", 5 * M, INT64_MAX, INT64_MAX, N,
		    N + 7 * D, 5 * M },
		{ "midpoint passed already", 12 * H, D, -1, N - 6 * D, N + D,
		    12 * H },
		{ "thisUpdate after nextUpdate", 5 * M, D, -1, N + D, N + H,
		    5 * M },
	};
	size_t i;
	int64_t got;

	(void)state;
	for (i = 0; i < NITEMS(tab); i++) {
		got = sched_from_cache_headers(N + tab[i].planned, N,
		    tab[i].max_age, tab[i].age, tab[i].this_update,
		    tab[i].next_update);
		if (got != N + tab[i].want)
			fail_msg("%s: now+%lld, want now+%lld", tab[i].what,
			    (long long)(got - N), (long long)tab[i].want);
	}
}

static void
t_crl_refresh(void **state)
{
	static const struct {
		const char	*what;
		int64_t		 next_update, refresh;
		uint32_t	 rnd;
		int64_t		 want;		/* minus N */
	} tab[] = {
		{ "7 days, refresh 15m", N + 7 * D, 15 * M, 0, 15 * M },
		{ "7 days, refresh 15m, jitter", N + 7 * D, 15 * M, RMAX,
		    15 * M - MOST_JITTER(15 * M) },
		{ "no nextUpdate", 0, 15 * M, 0, 15 * M },
		{ "no nextUpdate, jitter", 0, 15 * M, RMAX,
		    15 * M - MOST_JITTER(15 * M) },
		{ "nextUpdate first", N + 5 * M, 15 * M, 0, 5 * M },
		{ "nextUpdate first, spread", N + 5 * M, 15 * M, RMAX,
		    5 * M + SCHED_CRL_SPREAD_MS - 1 },
		{ "nextUpdate with refresh", N + 15 * M, 15 * M, 0, 15 * M },
		{ "nextUpdate just after jittered refresh", N + 15 * M - 1,
		    15 * M, RMAX, 15 * M - MOST_JITTER(15 * M) },
		{ "nextUpdate in 1s: minimum interval", N + S, 15 * M, 0,
		    SCHED_MIN_INTERVAL_MS },
		{ "nextUpdate now: issuer late", N, 15 * M, 0,
		    SCHED_CRL_LATE_MS },
		{ "nextUpdate passed: issuer late", N - D, 15 * M, RMAX,
		    SCHED_CRL_LATE_MS },
		{ "late, short refresh wins", N - D, 30 * S, 0, 30 * S },
		{ "refresh 0", N + D, 0, 0, SCHED_MIN_INTERVAL_MS },
		{ "refresh negative", 0, -H, 0, SCHED_MIN_INTERVAL_MS },
		{ "refresh 1d, nextUpdate 1h", N + H, D, 0, H },
	};
	size_t i;
	int64_t got;

	(void)state;
	for (i = 0; i < NITEMS(tab); i++) {
		got = sched_crl_refresh(N, tab[i].next_update, tab[i].refresh,
		    tab[i].rnd);
		if (got != N + tab[i].want)
			fail_msg("%s: now+%lld, want now+%lld", tab[i].what,
			    (long long)(got - N), (long long)tab[i].want);
	}
}

/* Whatever rnd is: between the jittered interval and nextUpdate + spread. */
static void
t_crl_refresh_bounds(void **state)
{
	uint32_t rnd = 777;
	int64_t got;
	size_t i;

	(void)state;
	for (i = 0; i < 10000; i++) {
		rnd = rnd * 1664525 + 1013904223;
		got = sched_crl_refresh(N, N + 7 * D, 15 * M, rnd);
		assert_true(got > N + 15 * M - 15 * M / SCHED_JITTER_DIV &&
		    got <= N + 15 * M);
		got = sched_crl_refresh(N, N + 2 * M, 15 * M, rnd);
		assert_true(got >= N + 2 * M &&
		    got < N + 2 * M + SCHED_CRL_SPREAD_MS);
	}
}

static void
t_bucket(void **state)
{
	struct sched_bucket b = { 0, 0 };
	int i, n;

	(void)state;
	/* Starts full: burst at once, then nothing. */
	for (i = 0; i < 10; i++)
		assert_int_equal(sched_bucket_take(&b, N, 2, 10), 1);
	assert_int_equal(sched_bucket_take(&b, N, 2, 10), 0);
	/* 2 a second: one every 500 ms. */
	assert_int_equal(sched_bucket_take(&b, N + 499, 2, 10), 0);
	assert_int_equal(sched_bucket_take(&b, N + 500, 2, 10), 1);
	assert_int_equal(sched_bucket_take(&b, N + 500, 2, 10), 0);
	/* A long pause refills to burst, no more. */
	for (n = 0; sched_bucket_take(&b, N + D, 2, 10) == 1; n++)
		assert_true(n < 100);
	assert_int_equal(n, 10);
	/* The clock going back adds nothing and loses nothing. */
	assert_int_equal(sched_bucket_take(&b, N, 2, 10), 0);
	assert_int_equal(sched_bucket_take(&b, N + D + 500, 2, 10), 1);
	/* Nonsense rates and bursts act as 1. */
	memset(&b, 0, sizeof(b));
	assert_int_equal(sched_bucket_take(&b, N, 0, 0), 1);
	assert_int_equal(sched_bucket_take(&b, N + 999, 0, 0), 0);
	assert_int_equal(sched_bucket_take(&b, N + 1000, 0, 0), 1);
	/* Huge pauses and rates do not overflow. */
	memset(&b, 0, sizeof(b));
	assert_int_equal(sched_bucket_take(&b, 1, 100000, 500000), 1);
	assert_int_equal(sched_bucket_take(&b, INT64_MAX / 2, 100000,
	    500000), 1);
	assert_true(b.milli == 500000 * INT64_C(1000) - 1000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_next_refresh),
		cmocka_unit_test(t_next_refresh_jitter),
		cmocka_unit_test(t_backoff),
		cmocka_unit_test(t_backoff_monotonic),
		cmocka_unit_test(t_cache_headers),
		cmocka_unit_test(t_crl_refresh),
		cmocka_unit_test(t_crl_refresh_bounds),
		cmocka_unit_test(t_bucket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
