/*
 * t_retain.c: retained-message store tests.  Tests of a spec statement are
 * named after it.  The matching tables are also run through a brute-force
 * matcher, which the randomized test then trusts to check the store, its
 * messages and its node count after every step of a random history.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/retain.h"
#include "broker/topic.h"
#include "testutil.h"

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))
#define RESULT_MAX	1024

struct mcase {
	const char	*filter;
	const char	*want;		/* sorted topics, each followed by | */
};

/* What a match reported. */
struct hits {
	char		**topic;
	void		**msg;
	size_t		  n;
	size_t		  cap;
	size_t		  stop_after;	/* 0: never stop */
	int		  stop_value;
	const struct retain_store *store;
};

/* Messages are opaque: addresses in this array stand for them. */
static char msgs[64];
static size_t released;		/* by release() */

/* The topics of the matching tables; msgs[i] is stored for topic i. */
static const char *table_topics[] = {
	"a", "a/b", "a/b/c", "a/c", "a//b", "a/", "a/$x", "/a", "/", "//",
	"b", "b/b/c", "$SYS", "$SYS/broker/load", "$SYS/a", "$other/a", "$",
};

/* --- helpers ------------------------------------------------------------- */

static int
set(struct retain_store *s, const char *topic, void *msg, void **old)
{
	return retain_set(s, topic, strlen(topic), msg, old);
}

/* Set a topic that must be new. */
static void
put(struct retain_store *s, const char *topic, void *msg)
{
	void	*old = &old;

	assert_int_equal(set(s, topic, msg, &old), 0);
	assert_null(old);
}

/* Clear a topic that must hold msg. */
static void
clear(struct retain_store *s, const char *topic, void *msg)
{
	void	*old = NULL;

	assert_int_equal(set(s, topic, NULL, &old), 0);
	assert_ptr_equal(old, msg);
}

static void *
get(const struct retain_store *s, const char *topic)
{
	return retain_get(s, topic, strlen(topic));
}

static void
hits_reset(struct hits *h)
{
	size_t	 i;

	for (i = 0; i < h->n; i++)
		free(h->topic[i]);
	h->n = 0;
}

static void
hits_free(struct hits *h)
{
	hits_reset(h);
	free(h->topic);
	free(h->msg);
}

static int
collect(void *arg, const char *topic, size_t len, void *msg)
{
	struct hits	*h = arg;

	/* The name is whole, terminated, and names msg. */
	assert_int_equal(strlen(topic), len);
	assert_true(topic_name_valid(topic, len, 0));
	assert_non_null(msg);
	if (h->store != NULL)
		assert_ptr_equal(retain_get(h->store, topic, len), msg);
	if (h->n == h->cap) {
		h->cap = h->cap == 0 ? 16 : h->cap * 2;
		h->topic = realloc(h->topic, h->cap * sizeof(*h->topic));
		h->msg = realloc(h->msg, h->cap * sizeof(*h->msg));
		assert_non_null(h->topic);
		assert_non_null(h->msg);
	}
	assert_non_null(h->topic[h->n] = strdup(topic));
	h->msg[h->n++] = msg;
	if (h->stop_after != 0 && h->n == h->stop_after)
		return h->stop_value;
	return 0;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char * const *)a, *(char * const *)b);
}

/* Sort v and write it to out, each name followed by "|". */
static void
join_sorted(char **v, size_t n, char *out, size_t outlen)
{
	size_t	 i;

	if (n > 0)
		qsort(v, n, sizeof(*v), str_cmp);
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		assert_true(strlen(out) + strlen(v[i]) + 2 <= outlen);
		strcat(out, v[i]);
		strcat(out, "|");
	}
}

static int
count_cb(void *arg, const char *topic, size_t len, void *msg)
{
	(void)topic;
	(void)len;
	(void)msg;
	(*(size_t *)arg)++;
	return 0;
}

/* Match and return the sorted result in out. */
static void
match(struct retain_store *s, const char *filter, char *out, size_t outlen)
{
	struct hits	 h = { .store = s };

	assert_int_equal(retain_match(s, filter, strlen(filter), collect, &h),
	    0);
	join_sorted(h.topic, h.n, out, outlen);
	hits_free(&h);
}

static struct retain_store *
table_store(void)
{
	struct retain_store	*s;
	size_t			 i;

	assert_non_null(s = retain_new());
	for (i = 0; i < NITEMS(table_topics); i++)
		put(s, table_topics[i], &msgs[i]);
	assert_int_equal(retain_count(s), NITEMS(table_topics));
	return s;
}

static void
check_table(const struct mcase *c, size_t n)
{
	struct retain_store	*s;
	char			 got[RESULT_MAX], bf[RESULT_MAX];
	char			*v[NITEMS(table_topics)];
	const char		*t;
	size_t			 i, j, nv;

	s = table_store();
	for (i = 0; i < n; i++) {
		assert_true(topic_filter_valid(c[i].filter,
		    strlen(c[i].filter), 0));
		match(s, c[i].filter, got, sizeof(got));
		if (strcmp(got, c[i].want) != 0)
			fail_msg("\"%s\": want \"%s\", got \"%s\"",
			    c[i].filter, c[i].want, got);
		/* The brute-force matcher must agree with the table. */
		for (j = nv = 0; j < NITEMS(table_topics); j++) {
			t = table_topics[j];
			if (bf_match(c[i].filter, strlen(c[i].filter), t,
			    strlen(t)))
				v[nv++] = (char *)t;
		}
		join_sorted(v, nv, bf, sizeof(bf));
		if (strcmp(bf, c[i].want) != 0)
			fail_msg("brute force \"%s\": want \"%s\", got \"%s\"",
			    c[i].filter, c[i].want, bf);
	}
	retain_free(s, NULL);
}

/* --- storing ------------------------------------------------------------- */

static void
test_empty_store(void **state)
{
	struct retain_store	*s;
	char			 got[RESULT_MAX];

	(void)state;
	assert_non_null(s = retain_new());
	assert_int_equal(retain_count(s), 0);
	assert_int_equal(retain_nodes(s), 0);
	assert_null(get(s, "a"));
	match(s, "#", got, sizeof(got));
	assert_string_equal(got, "");
	match(s, "+", got, sizeof(got));
	assert_string_equal(got, "");
	match(s, "a", got, sizeof(got));
	assert_string_equal(got, "");
	retain_free(s, NULL);
	retain_free(NULL, NULL);
}

static void
test_set_get_replace(void **state)
{
	struct retain_store	*s;
	void			*old;

	(void)state;
	assert_non_null(s = retain_new());
	put(s, "sport/tennis/player1", &msgs[0]);
	assert_int_equal(retain_count(s), 1);
	assert_int_equal(retain_nodes(s), 3);
	assert_ptr_equal(get(s, "sport/tennis/player1"), &msgs[0]);
	assert_null(get(s, "sport/tennis"));
	assert_null(get(s, "sport"));
	assert_null(get(s, "sport/tennis/player1/x"));
	assert_null(get(s, "sport/tennis/player2"));

	/* MQTT-3.3.1-5: a new retained message replaces the old one. */
	assert_int_equal(set(s, "sport/tennis/player1", &msgs[1], &old), 0);
	assert_ptr_equal(old, &msgs[0]);
	assert_ptr_equal(get(s, "sport/tennis/player1"), &msgs[1]);
	assert_int_equal(retain_count(s), 1);
	assert_int_equal(retain_nodes(s), 3);

	/* An inner level can hold a message of its own. */
	put(s, "sport/tennis", &msgs[2]);
	put(s, "sport", &msgs[3]);
	assert_int_equal(retain_count(s), 3);
	assert_int_equal(retain_nodes(s), 3);
	assert_ptr_equal(get(s, "sport/tennis"), &msgs[2]);
	assert_ptr_equal(get(s, "sport"), &msgs[3]);
	assert_ptr_equal(get(s, "sport/tennis/player1"), &msgs[1]);

	/* The length counts, not a terminator. */
	assert_ptr_equal(retain_get(s, "sport/tennis/player1xyz", 20),
	    &msgs[1]);
	assert_int_equal(retain_set(s, "sport/x", 5, &msgs[4], &old), 0);
	assert_ptr_equal(get(s, "sport"), &msgs[4]);
	assert_ptr_equal(old, &msgs[3]);
	retain_free(s, NULL);
}

static void
test_mqtt_3_3_1_10_empty_payload_clears(void **state)
{
	struct retain_store	*s;
	void			*old = &old;

	(void)state;
	assert_non_null(s = retain_new());
	put(s, "a/b/c", &msgs[0]);
	put(s, "a", &msgs[1]);
	put(s, "x", &msgs[2]);
	assert_int_equal(retain_nodes(s), 4);

	/* Clearing what is not stored is no error and changes nothing. */
	assert_int_equal(set(s, "a/b", NULL, &old), 0);
	assert_null(old);
	assert_int_equal(set(s, "q/r", NULL, &old), 0);
	assert_null(old);
	assert_int_equal(set(s, "a/b/c/d", NULL, &old), 0);
	assert_null(old);
	assert_int_equal(retain_count(s), 3);
	assert_int_equal(retain_nodes(s), 4);

	/* An inner node stays while a deeper topic needs it. */
	clear(s, "a", &msgs[1]);
	assert_null(get(s, "a"));
	assert_int_equal(retain_count(s), 2);
	assert_int_equal(retain_nodes(s), 4);
	clear(s, "a", NULL);

	/* The last topic below takes its empty ancestors with it. */
	clear(s, "a/b/c", &msgs[0]);
	assert_int_equal(retain_count(s), 1);
	assert_int_equal(retain_nodes(s), 1);
	clear(s, "x", &msgs[2]);
	assert_int_equal(retain_count(s), 0);
	assert_int_equal(retain_nodes(s), 0);

	/* And the store works as new afterwards. */
	put(s, "a/b/c", &msgs[3]);
	assert_ptr_equal(get(s, "a/b/c"), &msgs[3]);
	assert_int_equal(retain_nodes(s), 3);
	clear(s, "a/b/c", &msgs[3]);
	assert_int_equal(retain_nodes(s), 0);
	retain_free(s, NULL);
}

static void
test_invalid_arguments(void **state)
{
	static const char *bad_names[] = {
		"a/+", "+", "#", "a/#", "a+b", "$SYS/#",
	};
	static const char *bad_filters[] = {
		"a/#/b", "a#", "a+", "#/", "++",
	};
	struct retain_store	*s;
	char			*big;
	void			*old;
	size_t			 i, called = 0;

	(void)state;
	assert_non_null(s = retain_new());
	put(s, "a", &msgs[0]);
	for (i = 0; i < NITEMS(bad_names); i++) {
		old = &old;
		errno = 0;
		assert_int_equal(set(s, bad_names[i], &msgs[1], &old), -1);
		assert_int_equal(errno, EINVAL);
		assert_null(old);
		errno = 0;
		assert_int_equal(set(s, bad_names[i], NULL, &old), -1);
		assert_int_equal(errno, EINVAL);
		assert_null(get(s, bad_names[i]));
	}
	assert_int_equal(retain_set(s, "", 0, &msgs[1], &old), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(retain_set(s, "a\0b", 3, &msgs[1], &old), -1);
	assert_int_equal(errno, EINVAL);
	assert_null(retain_get(s, "", 0));
	assert_null(retain_get(s, "a\0", 2));

	/* MQTT-4.7.3-3: the limit is what keeps names in the buffer. */
	assert_non_null(big = malloc(TOPIC_MAX_LEN + 1));
	memset(big, 'a', TOPIC_MAX_LEN + 1);
	errno = 0;
	assert_int_equal(retain_set(s, big, TOPIC_MAX_LEN + 1, &msgs[1], &old),
	    -1);
	assert_int_equal(errno, EINVAL);
	assert_null(retain_get(s, big, TOPIC_MAX_LEN + 1));
	free(big);

	for (i = 0; i < NITEMS(bad_filters); i++) {
		errno = 0;
		assert_int_equal(retain_match(s, bad_filters[i],
		    strlen(bad_filters[i]), count_cb, &called), -1);
		assert_int_equal(errno, EINVAL);
	}
	assert_int_equal(retain_match(s, "", 0, count_cb, &called), -1);
	assert_int_equal(called, 0);
	assert_int_equal(retain_count(s), 1);
	assert_int_equal(retain_nodes(s), 1);
	retain_free(s, NULL);
}

static void
test_empty_levels_are_distinct(void **state)
{
	static const char *t[] = {
		"a//b", "a/b", "/a", "a", "a/", "/", "//", "a//", "/a/",
	};
	struct retain_store	*s;
	size_t			 i;

	(void)state;
	assert_non_null(s = retain_new());
	for (i = 0; i < NITEMS(t); i++)
		put(s, t[i], &msgs[i]);
	assert_int_equal(retain_count(s), NITEMS(t));
	for (i = 0; i < NITEMS(t); i++)
		assert_ptr_equal(get(s, t[i]), &msgs[i]);
	assert_null(get(s, "a///b"));
	assert_null(get(s, "///"));
	for (i = 0; i < NITEMS(t); i++) {
		clear(s, t[i], &msgs[i]);
		assert_null(get(s, t[i]));
		assert_int_equal(retain_count(s), NITEMS(t) - i - 1);
	}
	assert_int_equal(retain_nodes(s), 0);
	retain_free(s, NULL);
}

/* --- matching ------------------------------------------------------------ */

static void
test_match_exact(void **state)
{
	static const struct mcase c[] = {
		{ "a", "a|" },
		{ "a/b", "a/b|" },
		{ "a/b/c", "a/b/c|" },
		{ "a/c", "a/c|" },
		{ "a/x", "" },
		{ "a/b/c/d", "" },
		{ "x", "" },
		{ "A", "" },
		{ "b/b", "" },
		{ "$SYS", "$SYS|" },
		{ "$SYS/broker/load", "$SYS/broker/load|" },
		{ "$", "$|" },
		{ "a/$x", "a/$x|" },
	};

	(void)state;
	check_table(c, NITEMS(c));
}

static void
test_match_plus(void **state)
{
	static const struct mcase c[] = {
		{ "+", "a|b|" },
		{ "a/+", "a/|a/$x|a/b|a/c|" },
		{ "a/+/c", "a/b/c|" },
		{ "+/b/c", "a/b/c|b/b/c|" },
		{ "+/+", "/|/a|a/|a/$x|a/b|a/c|" },
		{ "+/+/+", "//|a//b|a/b/c|b/b/c|" },
		{ "+/+/+/+", "" },
		{ "a/+/+", "a//b|a/b/c|" },
		{ "+/a", "/a|" },
		{ "+/c", "a/c|" },
		{ "a/b/+", "a/b/c|" },
		{ "b/+", "" },
		{ "b/+/c", "b/b/c|" },
	};

	(void)state;
	check_table(c, NITEMS(c));
}

static void
test_mqtt_4_7_1_2_hash(void **state)
{
	static const struct mcase c[] = {
		{ "#", "/|//|/a|a|a/|a/$x|a//b|a/b|a/b/c|a/c|b|b/b/c|" },
		/* "a/#" also matches the parent level "a". */
		{ "a/#", "a|a/|a/$x|a//b|a/b|a/b/c|a/c|" },
		{ "a/b/#", "a/b|a/b/c|" },
		{ "a/b/c/#", "a/b/c|" },
		{ "a/b/c/d/#", "" },
		{ "b/#", "b|b/b/c|" },
		{ "b/b/#", "b/b/c|" },
		{ "x/#", "" },
		{ "+/#", "/|//|/a|a|a/|a/$x|a//b|a/b|a/b/c|a/c|b|b/b/c|" },
		{ "+/b/#", "a/b|a/b/c|b/b/c|" },
		{ "a/+/#", "a/|a/$x|a//b|a/b|a/b/c|a/c|" },
		{ "+/+/#", "/|//|/a|a/|a/$x|a//b|a/b|a/b/c|a/c|b/b/c|" },
	};

	(void)state;
	check_table(c, NITEMS(c));
}

static void
test_mqtt_4_7_2_1_dollar(void **state)
{
	static const struct mcase c[] = {
		/* A wildcard first level never enters a "$" topic... */
		{ "+/broker/load", "" },
		{ "+/a", "/a|" },
		{ "+", "a|b|" },
		/* ...but a literal one does, and wildcards after it. */
		{ "$SYS/#", "$SYS|$SYS/a|$SYS/broker/load|" },
		{ "$SYS/+", "$SYS/a|" },
		{ "$SYS/+/load", "$SYS/broker/load|" },
		{ "$other/#", "$other/a|" },
		{ "$/#", "$|" },
		/* "$" is only special at the start of the name. */
		{ "a/+", "a/|a/$x|a/b|a/c|" },
	};

	(void)state;
	check_table(c, NITEMS(c));
}

static void
test_match_empty_levels(void **state)
{
	static const struct mcase c[] = {
		{ "/", "/|" },
		{ "//", "//|" },
		{ "/a", "/a|" },
		{ "a/", "a/|" },
		{ "a//b", "a//b|" },
		{ "/#", "/|//|/a|" },
		{ "/+", "/|/a|" },
		{ "+/", "/|a/|" },
		{ "//#", "/|//|" },
		{ "/+/#", "/|//|/a|" },
		{ "a/+/b", "a//b|" },
		{ "+//+", "//|a//b|" },
		{ "a//", "" },
		{ "///", "" },
	};

	(void)state;
	check_table(c, NITEMS(c));
}

/* A non-zero return ends the walk wherever it is, and is passed on. */
static void
test_match_cb_stops(void **state)
{
	static const char *filters[] = {
		"#", "a/#", "+/+", "+", "a/+/#", "a/b/c",
	};
	struct retain_store	*s;
	struct hits		 h = { 0 };
	char			 got[RESULT_MAX];
	size_t			 i, k, all;
	int			 rv;

	(void)state;
	s = table_store();
	h.store = s;
	for (i = 0; i < NITEMS(filters); i++) {
		assert_int_equal(retain_match(s, filters[i],
		    strlen(filters[i]), collect, &h), 0);
		all = h.n;
		assert_true(all > 0);
		hits_reset(&h);
		for (k = 1; k <= all; k++) {
			h.stop_after = k;
			h.stop_value = (int)k * 10;
			rv = retain_match(s, filters[i], strlen(filters[i]),
			    collect, &h);
			assert_int_equal(rv, (int)k * 10);
			assert_int_equal(h.n, k);
			hits_reset(&h);
		}
		/* A negative value is passed on too. */
		h.stop_after = 1;
		h.stop_value = -5;
		assert_int_equal(retain_match(s, filters[i],
		    strlen(filters[i]), collect, &h), -5);
		hits_reset(&h);
		h.stop_after = 0;
	}
	hits_free(&h);
	/* A stopped walk leaves nothing behind for the next one. */
	match(s, "a/b/#", got, sizeof(got));
	assert_string_equal(got, "a/b|a/b/c|");
	retain_free(s, NULL);
}

/* The callback sees each message once, with its own name. */
static void
test_match_reports_messages(void **state)
{
	struct retain_store	*s;
	struct hits		 h = { 0 };
	size_t			 i, j;

	(void)state;
	s = table_store();
	h.store = s;
	assert_int_equal(retain_match(s, "#", 1, collect, &h), 0);
	for (i = 0; i < h.n; i++) {
		for (j = 0; j < NITEMS(table_topics); j++)
			if (strcmp(table_topics[j], h.topic[i]) == 0)
				break;
		assert_true(j < NITEMS(table_topics));
		assert_ptr_equal(h.msg[i], &msgs[j]);
		for (j = 0; j < i; j++)
			assert_ptr_not_equal(h.msg[j], h.msg[i]);
	}
	/* A filter need not be NUL-terminated either. */
	hits_reset(&h);
	assert_int_equal(retain_match(s, "a/b/c", 3, collect, &h), 0);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.topic[0], "a/b");
	hits_free(&h);
	retain_free(s, NULL);
}

/* --- memory -------------------------------------------------------------- */

static void
release(void *msg)
{
	released++;
	free(msg);
}

static void
test_free_releases_messages(void **state)
{
	struct retain_store	*s;
	char			 topic[32], *m;
	void			*old;
	size_t			 i;

	(void)state;
	assert_non_null(s = retain_new());
	for (i = 0; i < 100; i++) {
		(void)snprintf(topic, sizeof(topic), "t/%zu/%zu", i % 7, i);
		assert_non_null(m = strdup(topic));
		assert_int_equal(set(s, topic, m, &old), 0);
		assert_null(old);
	}
	/* Replacing hands the old message back for the caller to free. */
	assert_non_null(m = strdup("new"));
	assert_int_equal(set(s, "t/0/0", m, &old), 0);
	assert_string_equal(old, "t/0/0");
	free(old);
	released = 0;
	retain_free(s, release);
	assert_int_equal(released, 100);
}

static void
test_churn_empties_store(void **state)
{
	struct retain_store	*s;
	char			 topic[64];
	size_t			 i, round, peak = 0;

	(void)state;
	assert_non_null(s = retain_new());
	for (round = 0; round < 5; round++) {
		for (i = 0; i < 5000; i++) {
			(void)snprintf(topic, sizeof(topic),
			    "dev/%zu/%zu/r%zu", i % 97, i, round);
			put(s, topic, &msgs[i % NITEMS(msgs)]);
		}
		assert_int_equal(retain_count(s), 5000);
		if (round == 0)
			peak = retain_nodes(s);
		/* The same shape never needs more nodes. */
		assert_int_equal(retain_nodes(s), peak);
		for (i = 0; i < 5000; i++) {
			(void)snprintf(topic, sizeof(topic),
			    "dev/%zu/%zu/r%zu", i % 97, i, round);
			clear(s, topic, &msgs[i % NITEMS(msgs)]);
		}
		assert_int_equal(retain_count(s), 0);
		assert_int_equal(retain_nodes(s), 0);
	}
	retain_free(s, NULL);
}

/* The store as a string, to compare before and after a failure. */
static void
snapshot(struct retain_store *s, char *out, size_t outlen)
{
	size_t	 used;

	match(s, "#", out, outlen);
	used = strlen(out);
	(void)snprintf(out + used, outlen - used, "%zu/%zu", retain_count(s),
	    retain_nodes(s));
}

/*
 * Fail each allocation point of a set in turn: a failure reports ENOMEM
 * and leaves the store as it was.  The store stays too small to resize
 * (see the next test), so the points are the three new nodes.
 */
static void
test_enomem_leaves_store_intact(void **state)
{
	struct retain_store	*s;
	char			 topic[32], got[RESULT_MAX], before[RESULT_MAX];
	void			*old;
	size_t			 i, nth, failed = 0, worked = 0;
	int			 rv;

	(void)state;
	assert_non_null(s = retain_new());
	for (i = 1; i < 4; i++) {
		(void)snprintf(topic, sizeof(topic), "p%zu", i);
		put(s, topic, &msgs[i]);
	}
	put(s, "a/b", &msgs[20]);
	assert_int_equal(retain_nodes(s), 5);
	snapshot(s, before, sizeof(before));
	for (nth = 1; nth <= 8; nth++) {
		retain_fail_alloc(s, nth);
		old = &old;
		errno = 0;
		rv = set(s, "a/b/c/d/e", &msgs[30], &old);
		retain_fail_alloc(s, 0);
		assert_null(old);
		if (rv == 0) {
			worked++;
			assert_ptr_equal(get(s, "a/b/c/d/e"), &msgs[30]);
			assert_int_equal(retain_nodes(s), 8);
			clear(s, "a/b/c/d/e", &msgs[30]);
		} else {
			failed++;
			assert_int_equal(rv, -1);
			assert_int_equal(errno, ENOMEM);
			assert_null(get(s, "a/b/c/d/e"));
		}
		snapshot(s, got, sizeof(got));
		assert_string_equal(got, before);
	}
	/* Each node can fail; beyond them nothing can. */
	assert_int_equal(failed, 3);
	assert_int_equal(worked, 5);

	/* Replacing and clearing need no memory: the hook stays armed. */
	put(s, "a/b/c/d/e", &msgs[30]);
	retain_fail_alloc(s, 1);
	assert_int_equal(set(s, "a/b", &msgs[21], &old), 0);
	assert_ptr_equal(old, &msgs[20]);
	for (i = 1; i < 4; i++) {
		(void)snprintf(topic, sizeof(topic), "p%zu", i);
		clear(s, topic, &msgs[i]);
	}
	clear(s, "a/b/c/d/e", &msgs[30]);
	clear(s, "a/b", &msgs[21]);
	retain_fail_alloc(s, 0);
	assert_int_equal(retain_count(s), 0);
	assert_int_equal(retain_nodes(s), 0);
	retain_free(s, NULL);
}

/*
 * Table resizes that fail cost only chain length (or spare slots): the
 * set or clear that triggered them still works, and so does every later
 * lookup.
 */
static void
test_failed_resize_is_harmless(void **state)
{
	struct retain_store	*s;
	char			 topic[32];
	size_t			 i;

	(void)state;
	assert_non_null(s = retain_new());
	for (i = 0; i < 16; i++) {
		(void)snprintf(topic, sizeof(topic), "p%zu", i);
		put(s, topic, &msgs[i]);
	}
	/* The 17th node is allocation 1, growing the table is 2. */
	retain_fail_alloc(s, 2);
	put(s, "x", &msgs[40]);
	retain_fail_alloc(s, 0);
	for (i = 0; i < 16; i++) {
		(void)snprintf(topic, sizeof(topic), "p%zu", i);
		assert_ptr_equal(get(s, topic), &msgs[i]);
	}
	assert_ptr_equal(get(s, "x"), &msgs[40]);
	/* Grow for real, then fail every shrink on the way down. */
	for (i = 16; i < 200; i++) {
		(void)snprintf(topic, sizeof(topic), "p%zu", i);
		put(s, topic, &msgs[i % NITEMS(msgs)]);
	}
	for (i = 0; i < 200; i++) {
		retain_fail_alloc(s, 1);
		(void)snprintf(topic, sizeof(topic), "p%zu", i);
		clear(s, topic, &msgs[i % NITEMS(msgs)]);
		assert_ptr_equal(get(s, "x"), &msgs[40]);
	}
	retain_fail_alloc(s, 0);
	assert_int_equal(retain_nodes(s), 1);
	clear(s, "x", &msgs[40]);
	assert_int_equal(retain_nodes(s), 0);
	retain_free(s, NULL);
}

/* --- limits -------------------------------------------------------------- */

/*
 * The longest level, the most levels (65536 empty ones) and the most
 * levels a "+" filter can name (32768) must neither overflow the name
 * buffer nor the stack.
 */
static void
test_longest_and_deepest_topics(void **state)
{
	struct retain_store	*s;
	struct hits		 h = { 0 };
	char			*longest, *deepest, *as, *pluses;
	size_t			 i;

	(void)state;
	assert_non_null(longest = malloc(TOPIC_MAX_LEN + 1));
	assert_non_null(deepest = malloc(TOPIC_MAX_LEN + 1));
	assert_non_null(as = malloc(TOPIC_MAX_LEN + 1));
	assert_non_null(pluses = malloc(TOPIC_MAX_LEN + 1));
	memset(longest, 'x', TOPIC_MAX_LEN);
	memset(deepest, '/', TOPIC_MAX_LEN);
	for (i = 0; i < TOPIC_MAX_LEN; i++) {
		as[i] = i % 2 == 0 ? 'a' : '/';
		pluses[i] = i % 2 == 0 ? '+' : '/';
	}
	longest[TOPIC_MAX_LEN] = deepest[TOPIC_MAX_LEN] = '\0';
	as[TOPIC_MAX_LEN] = pluses[TOPIC_MAX_LEN] = '\0';

	assert_non_null(s = retain_new());
	put(s, longest, &msgs[0]);
	put(s, deepest, &msgs[1]);
	put(s, as, &msgs[2]);
	assert_int_equal(retain_nodes(s), 1 + 65536 + 32768);
	assert_ptr_equal(get(s, longest), &msgs[0]);
	assert_ptr_equal(get(s, deepest), &msgs[1]);
	assert_ptr_equal(get(s, as), &msgs[2]);

	h.store = s;
	assert_int_equal(retain_match(s, "#", 1, collect, &h), 0);
	assert_int_equal(h.n, 3);
	hits_reset(&h);
	assert_int_equal(retain_match(s, longest, TOPIC_MAX_LEN, collect, &h),
	    0);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.topic[0], longest);
	hits_reset(&h);
	assert_int_equal(retain_match(s, deepest, TOPIC_MAX_LEN, collect, &h),
	    0);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.topic[0], deepest);
	hits_reset(&h);
	assert_int_equal(retain_match(s, pluses, TOPIC_MAX_LEN, collect, &h),
	    0);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.topic[0], as);
	hits_reset(&h);
	assert_int_equal(retain_match(s, "/#", 2, collect, &h), 0);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.topic[0], deepest);
	hits_free(&h);

	clear(s, deepest, &msgs[1]);
	assert_int_equal(retain_nodes(s), 1 + 32768);
	/* Freed while deep, without recursion either. */
	put(s, deepest, &msgs[1]);
	retain_free(s, NULL);
	free(longest);
	free(deepest);
	free(as);
	free(pluses);
}

/* A wide level: the table grows and shrinks back as it empties. */
static void
test_wide_level(void **state)
{
	struct retain_store	*s;
	char			 topic[32];
	size_t			 i, n;

	(void)state;
	assert_non_null(s = retain_new());
	for (i = 0; i < 50000; i++) {
		(void)snprintf(topic, sizeof(topic), "w/%zu", i);
		put(s, topic, &msgs[i % NITEMS(msgs)]);
	}
	put(s, "v/1", &msgs[0]);
	assert_int_equal(retain_nodes(s), 50003);
	for (i = 0; i < 50000; i += 997) {
		(void)snprintf(topic, sizeof(topic), "w/%zu", i);
		assert_ptr_equal(get(s, topic), &msgs[i % NITEMS(msgs)]);
	}
	n = 0;
	assert_int_equal(retain_match(s, "w/+", 3, count_cb, &n), 0);
	assert_int_equal(n, 50000);
	n = 0;
	assert_int_equal(retain_match(s, "+/1", 3, count_cb, &n), 0);
	assert_int_equal(n, 2);
	for (i = 0; i < 50000; i++) {
		(void)snprintf(topic, sizeof(topic), "w/%zu", i);
		clear(s, topic, &msgs[i % NITEMS(msgs)]);
	}
	assert_int_equal(retain_nodes(s), 2);
	assert_ptr_equal(get(s, "v/1"), &msgs[0]);
	retain_free(s, NULL);
}

/* --- randomized ---------------------------------------------------------- */

#define RND_TOPICS	400	/* the pool of names */
#define RND_STEPS	40000
#define RND_NAMELEN	32

struct model {
	char	 name[RND_NAMELEN];
	void	*msg;		/* NULL when not stored */
};

static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;
static char tokens[RND_STEPS];	/* a fresh message for every set */
static size_t random_hits;	/* proves the comparisons matter */

static uint64_t
rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static const char *
rnd_level(void)
{
	static const char *lvl[] = { "a", "b", "c", "", "$s", "$", "ab" };

	return lvl[rnd() % NITEMS(lvl)];
}

/* Names and filters of zero length are invalid: draw again. */
static void
rnd_name(char *out)
{
	size_t	 i, n;

	do {
		out[0] = '\0';
		n = 1 + rnd() % 4;
		for (i = 0; i < n; i++) {
			if (i > 0)
				strcat(out, "/");
			strcat(out, rnd_level());
		}
	} while (out[0] == '\0');
}

static void
rnd_filter(char *out)
{
	size_t	 i, n;

	do {
		out[0] = '\0';
		n = 1 + rnd() % 5;
		for (i = 0; i < n; i++) {
			if (i > 0)
				strcat(out, "/");
			if (i + 1 == n && rnd() % 4 == 0)
				strcat(out, "#");
			else if (rnd() % 3 == 0)
				strcat(out, "+");
			else
				strcat(out, rnd_level());
		}
	} while (out[0] == '\0');
}

/* The nodes a trie needs: distinct level prefixes of stored names. */
static size_t
model_nodes(const struct model *m, size_t nm)
{
	char	**pre, *p;
	size_t	  i, n = 0, distinct = 0;

	assert_non_null(pre = calloc(nm * 5, sizeof(*pre)));
	for (i = 0; i < nm; i++) {
		if (m[i].msg == NULL)
			continue;
		for (p = strchr(m[i].name, '/'); p != NULL;
		    p = strchr(p + 1, '/'))
			assert_non_null(pre[n++] = strndup(m[i].name,
			    p - m[i].name));
		assert_non_null(pre[n++] = strdup(m[i].name));
	}
	qsort(pre, n, sizeof(*pre), str_cmp);
	for (i = 0; i < n; i++)
		if (i == 0 || strcmp(pre[i], pre[i - 1]) != 0)
			distinct++;
	for (i = 0; i < n; i++)
		free(pre[i]);
	free(pre);
	return distinct;
}

static void
check_random_filter(struct retain_store *s, const struct model *m,
    size_t nm, const char *filter)
{
	struct hits	 h = { .store = s };
	size_t		 i, j, nbf = 0, flen = strlen(filter);

	assert_true(topic_filter_valid(filter, flen, 0));
	assert_int_equal(retain_match(s, filter, flen, collect, &h), 0);
	for (i = 0; i < nm; i++) {
		if (m[i].msg == NULL || !bf_match(filter, flen, m[i].name,
		    strlen(m[i].name)))
			continue;
		nbf++;
		for (j = 0; j < h.n; j++)
			if (strcmp(h.topic[j], m[i].name) == 0)
				break;
		if (j == h.n)
			fail_msg("\"%s\": store misses \"%s\"", filter,
			    m[i].name);
		assert_ptr_equal(h.msg[j], m[i].msg);
	}
	/* Every brute-force match was found; reports are distinct names. */
	if (h.n != nbf)
		fail_msg("\"%s\": store %zu matches, brute force %zu", filter,
		    h.n, nbf);
	random_hits += nbf;
	hits_free(&h);
}

static void
test_random_against_brute_force(void **state)
{
	struct retain_store	*s;
	struct model		*m;
	char			 filter[64];
	void			*old, *msg;
	size_t			 i, j, step, nm = 0, count = 0, nomem = 0;
	int			 rv;

	(void)state;
	assert_non_null(m = calloc(RND_TOPICS, sizeof(*m)));
	for (i = 0; i < RND_TOPICS; i++) {
		rnd_name(m[nm].name);
		for (j = 0; j < nm; j++)
			if (strcmp(m[j].name, m[nm].name) == 0)
				break;
		if (j == nm)
			nm++;
	}
	assert_true(nm > 100);
	assert_non_null(s = retain_new());
	for (step = 0; step < RND_STEPS; step++) {
		i = rnd() % nm;
		msg = rnd() % 3 == 0 ? NULL : &tokens[step];
		/* Sometimes fail an allocation: the set changes nothing. */
		if (rnd() % 16 == 0)
			retain_fail_alloc(s, 1 + rnd() % 3);
		rv = set(s, m[i].name, msg, &old);
		retain_fail_alloc(s, 0);
		if (rv == -1) {
			assert_int_equal(errno, ENOMEM);
			assert_non_null(msg);
			assert_null(old);
			nomem++;
		} else {
			assert_int_equal(rv, 0);
			assert_ptr_equal(old, m[i].msg);
			if (old == NULL && msg != NULL)
				count++;
			else if (old != NULL && msg == NULL)
				count--;
			m[i].msg = msg;
		}
		assert_int_equal(retain_count(s), count);
		assert_ptr_equal(get(s, m[i].name), m[i].msg);
		if (step % 8 == 0) {
			rnd_filter(filter);
			check_random_filter(s, m, nm, filter);
		}
		if (step % 500 == 0)
			assert_int_equal(retain_nodes(s), model_nodes(m, nm));
	}
	for (i = 0; i < nm; i++)
		assert_ptr_equal(get(s, m[i].name), m[i].msg);
	assert_int_equal(retain_nodes(s), model_nodes(m, nm));
	print_message("%zu topics, %d steps, %zu matches checked, "
	    "%zu ENOMEM\n", nm, RND_STEPS, random_hits, nomem);
	assert_true(random_hits > 10 * (size_t)RND_STEPS / 8);
	assert_true(nomem > 0);
	/* Clear everything: nothing may remain. */
	for (i = 0; i < nm; i++)
		if (m[i].msg != NULL)
			clear(s, m[i].name, m[i].msg);
	assert_int_equal(retain_count(s), 0);
	assert_int_equal(retain_nodes(s), 0);
	retain_free(s, NULL);
	free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_store),
		cmocka_unit_test(test_set_get_replace),
		cmocka_unit_test(test_mqtt_3_3_1_10_empty_payload_clears),
		cmocka_unit_test(test_invalid_arguments),
		cmocka_unit_test(test_empty_levels_are_distinct),
		cmocka_unit_test(test_match_exact),
		cmocka_unit_test(test_match_plus),
		cmocka_unit_test(test_mqtt_4_7_1_2_hash),
		cmocka_unit_test(test_mqtt_4_7_2_1_dollar),
		cmocka_unit_test(test_match_empty_levels),
		cmocka_unit_test(test_match_cb_stops),
		cmocka_unit_test(test_match_reports_messages),
		cmocka_unit_test(test_free_releases_messages),
		cmocka_unit_test(test_churn_empties_store),
		cmocka_unit_test(test_enomem_leaves_store_intact),
		cmocka_unit_test(test_failed_resize_is_harmless),
		cmocka_unit_test(test_longest_and_deepest_topics),
		cmocka_unit_test(test_wide_level),
		cmocka_unit_test(test_random_against_brute_force),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
