/*
 * t_topic.c: topic validation and subscription tree tests.  Validation
 * tests are named after the MQTT 3.1.1 statement they check; the matching
 * tables come from the examples of section 4.7 and are also run through a
 * brute-force matcher, which the randomized test then trusts.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/topic.h"
#include "testutil.h"

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))
#define FILTER_MAX	80

struct vcase {
	const char	*s;
	const char	*why;		/* NULL if valid */
};

struct mcase {
	const char	*filter;
	const char	*name;
	bool		 match;
};

struct hit {
	void		*sub;
	uint8_t		 qos;
	char		 filter[FILTER_MAX];
};

struct hits {
	struct hit	*h;
	size_t		 n;
	size_t		 cap;
};

/* Subscribers are opaque: addresses in this array stand for clients. */
static char clients[64];

/* --- helpers ------------------------------------------------------------- */

static void
check_names(const struct vcase *c, size_t n)
{
	size_t		 i;
	const char	*why;

	for (i = 0; i < n; i++) {
		why = topic_name_check(c[i].s, strlen(c[i].s), 0);
		if (c[i].why == NULL && why != NULL)
			fail_msg("name \"%s\": %s", c[i].s, why);
		if (c[i].why != NULL && (why == NULL ||
		    strcmp(why, c[i].why) != 0))
			fail_msg("name \"%s\": want %s, got %s", c[i].s,
			    c[i].why, why == NULL ? "valid" : why);
		assert_int_equal(topic_name_valid(c[i].s, strlen(c[i].s), 0),
		    c[i].why == NULL);
	}
}

static void
check_filters(const struct vcase *c, size_t n)
{
	size_t		 i;
	const char	*why;

	for (i = 0; i < n; i++) {
		why = topic_filter_check(c[i].s, strlen(c[i].s), 0);
		if (c[i].why == NULL && why != NULL)
			fail_msg("filter \"%s\": %s", c[i].s, why);
		if (c[i].why != NULL && (why == NULL ||
		    strcmp(why, c[i].why) != 0))
			fail_msg("filter \"%s\": want %s, got %s", c[i].s,
			    c[i].why, why == NULL ? "valid" : why);
		assert_int_equal(topic_filter_valid(c[i].s, strlen(c[i].s),
		    0), c[i].why == NULL);
	}
}

static void
collect(void *sub, uint8_t qos, const char *filter, size_t len, void *arg)
{
	struct hits	*hs = arg;
	struct hit	*h;

	if (hs->n == hs->cap) {
		hs->cap = hs->cap == 0 ? 16 : hs->cap * 2;
		hs->h = realloc(hs->h, hs->cap * sizeof(*hs->h));
		assert_non_null(hs->h);
	}
	assert_true(len < FILTER_MAX);
	h = &hs->h[hs->n++];
	h->sub = sub;
	h->qos = qos;
	memcpy(h->filter, filter, len);
	h->filter[len] = '\0';
}

static void
count_cb(void *sub, uint8_t qos, const char *filter, size_t len, void *arg)
{
	(void)sub;
	(void)qos;
	(void)filter;
	(void)len;
	(*(size_t *)arg)++;
}

static size_t
match_count(struct topic_tree *t, const char *name)
{
	size_t	 n = 0, ret;

	ret = topic_match(t, name, strlen(name), count_cb, &n);
	assert_int_equal(ret, n);
	return n;
}

static int
sub(struct topic_tree *t, const char *filter, void *who, uint8_t qos)
{
	return topic_subscribe(t, filter, strlen(filter), who, qos, NULL);
}

static bool
unsub(struct topic_tree *t, const char *filter, void *who)
{
	return topic_unsubscribe(t, filter, strlen(filter), who);
}

static void
check_table(const struct mcase *c, size_t n)
{
	struct topic_tree	*t;
	size_t			 i, got;

	for (i = 0; i < n; i++) {
		assert_true(topic_filter_valid(c[i].filter,
		    strlen(c[i].filter), 0));
		assert_true(topic_name_valid(c[i].name, strlen(c[i].name), 0));
		assert_non_null(t = topic_tree_new());
		assert_int_equal(sub(t, c[i].filter, &clients[0], 1), 0);
		got = match_count(t, c[i].name);
		if (got != (c[i].match ? 1 : 0))
			fail_msg("\"%s\" vs \"%s\": %zu matches", c[i].filter,
			    c[i].name, got);
		if (bf_match(c[i].filter, strlen(c[i].filter), c[i].name,
		    strlen(c[i].name)) != c[i].match)
			fail_msg("brute force: \"%s\" vs \"%s\"", c[i].filter,
			    c[i].name);
		assert_true(unsub(t, c[i].filter, &clients[0]));
		assert_int_equal(topic_tree_nodes(t), 0);
		topic_tree_free(t);
	}
}

static int
hit_cmp(const void *a, const void *b)
{
	const struct hit	*x = a, *y = b;
	int			 r;

	if (x->sub != y->sub)
		return (char *)x->sub < (char *)y->sub ? -1 : 1;
	if ((r = strcmp(x->filter, y->filter)) != 0)
		return r;
	return (int)x->qos - (int)y->qos;
}

static struct hit *
hit_find(struct hits *hs, void *who, const char *filter)
{
	size_t	 i;

	for (i = 0; i < hs->n; i++)
		if (hs->h[i].sub == who && strcmp(hs->h[i].filter, filter) == 0)
			return &hs->h[i];
	return NULL;
}

/* --- validation ---------------------------------------------------------- */

static void
test_mqtt_4_7_3_1_empty(void **state)
{
	(void)state;
	assert_string_equal(topic_name_check("", 0, 0), TOPIC_ERR_EMPTY);
	assert_string_equal(topic_filter_check("", 0, 0), TOPIC_ERR_EMPTY);
	assert_false(topic_name_valid("x", 0, 0));
	/* A single separator is not empty: two empty levels. */
	assert_true(topic_name_valid("/", 1, 0));
	assert_true(topic_filter_valid("/", 1, 0));
}

static void
test_mqtt_4_7_3_2_nul(void **state)
{
	(void)state;
	assert_string_equal(topic_name_check("a\0b", 3, 0), TOPIC_ERR_NUL);
	assert_string_equal(topic_name_check("\0", 1, 0), TOPIC_ERR_NUL);
	assert_string_equal(topic_filter_check("a/\0", 3, 0), TOPIC_ERR_NUL);
	assert_string_equal(topic_filter_check("+/\0/#", 5, 0),
	    TOPIC_ERR_NUL);
	/* The length is what counts, not a terminator. */
	assert_true(topic_name_valid("ab\0", 2, 0));
}

static void
test_mqtt_4_7_3_3_length(void **state)
{
	char	*s;

	(void)state;
	assert_non_null(s = malloc(TOPIC_MAX_LEN + 1));
	memset(s, 'a', TOPIC_MAX_LEN + 1);
	assert_true(topic_name_valid(s, TOPIC_MAX_LEN, 0));
	assert_true(topic_filter_valid(s, TOPIC_MAX_LEN, 0));
	assert_string_equal(topic_name_check(s, TOPIC_MAX_LEN + 1, 0),
	    TOPIC_ERR_LENGTH);
	assert_string_equal(topic_filter_check(s, TOPIC_MAX_LEN + 1, 0),
	    TOPIC_ERR_LENGTH);
	free(s);
}

static void
test_mqtt_3_3_2_2_no_wildcard_in_name(void **state)
{
	static const struct vcase c[] = {
		{ "#", TOPIC_ERR_WILDCARD },
		{ "+", TOPIC_ERR_WILDCARD },
		{ "sport/#", TOPIC_ERR_WILDCARD },
		{ "sport/+/player1", TOPIC_ERR_WILDCARD },
		{ "a+b", TOPIC_ERR_WILDCARD },
		{ "a#", TOPIC_ERR_WILDCARD },
		{ "$SYS/#", TOPIC_ERR_WILDCARD },
		{ "sport/tennis/player1", NULL },
	};

	(void)state;
	check_names(c, NITEMS(c));
}

static void
test_mqtt_4_7_1_2_hash_last_level(void **state)
{
	static const struct vcase c[] = {
		{ "#", NULL },
		{ "sport/#", NULL },
		{ "sport/tennis/#", NULL },
		{ "/#", NULL },
		{ "//#", NULL },
		{ "+/#", NULL },
		{ "$SYS/#", NULL },
		{ "sport/tennis#", TOPIC_ERR_HASH },
		{ "sport/tennis/#/ranking", TOPIC_ERR_HASH },
		{ "#/", TOPIC_ERR_HASH },
		{ "#/a", TOPIC_ERR_HASH },
		{ "##", TOPIC_ERR_HASH },
		{ "a#", TOPIC_ERR_HASH },
		{ "a/#b", TOPIC_ERR_HASH },
		{ "a/b#/c", TOPIC_ERR_HASH },
	};

	(void)state;
	check_filters(c, NITEMS(c));
}

static void
test_mqtt_4_7_1_3_plus_whole_level(void **state)
{
	static const struct vcase c[] = {
		{ "+", NULL },
		{ "+/tennis/#", NULL },
		{ "sport/+/player1", NULL },
		{ "/+", NULL },
		{ "+/", NULL },
		{ "+/+", NULL },
		{ "+//+", NULL },
		{ "sport+", TOPIC_ERR_PLUS },
		{ "+sport", TOPIC_ERR_PLUS },
		{ "a/+b/c", TOPIC_ERR_PLUS },
		{ "a/b+/c", TOPIC_ERR_PLUS },
		{ "++", TOPIC_ERR_PLUS },
		{ "+#", TOPIC_ERR_PLUS },
		{ "a/++", TOPIC_ERR_PLUS },
	};

	(void)state;
	check_filters(c, NITEMS(c));
}

static void
test_valid_names(void **state)
{
	static const struct vcase c[] = {
		{ "/", NULL },
		{ "//", NULL },
		{ "/finance", NULL },
		{ "finance/", NULL },
		{ "a//b", NULL },
		{ " ", NULL },
		{ "with space/ and\ttab", NULL },
		{ "$SYS/broker/uptime", NULL },
		{ "$", NULL },
		{ "a$b", NULL },
		{ "caf\xc3\xa9/\xe2\x82\xac", NULL },
	};

	(void)state;
	check_names(c, NITEMS(c));
	check_filters(c, NITEMS(c));
}

static void
test_max_levels(void **state)
{
	char		 s[2 * 200];
	size_t		 i;

	(void)state;
	/* "a/a/.../a" with 128 levels is 255 bytes. */
	for (i = 0; i < sizeof(s); i++)
		s[i] = i % 2 ? '/' : 'a';
	assert_true(topic_name_valid(s, 2 * TOPIC_MAX_LEVELS - 1,
	    TOPIC_MAX_LEVELS));
	assert_string_equal(topic_name_check(s, 2 * TOPIC_MAX_LEVELS + 1,
	    TOPIC_MAX_LEVELS), TOPIC_ERR_LEVELS);
	assert_true(topic_name_valid(s, sizeof(s) - 1, 0));
	/* Trailing and leading separators add empty levels. */
	assert_true(topic_name_valid("a/b", 3, 2));
	assert_string_equal(topic_name_check("a/b/", 4, 2), TOPIC_ERR_LEVELS);
	assert_string_equal(topic_name_check("/a/b", 4, 2), TOPIC_ERR_LEVELS);
	assert_true(topic_name_valid("a", 1, 1));
	assert_string_equal(topic_name_check("/", 1, 1), TOPIC_ERR_LEVELS);
	/* Wildcard levels count like any other. */
	assert_true(topic_filter_valid("a/#", 3, 2));
	assert_string_equal(topic_filter_check("a/+/#", 5, 2),
	    TOPIC_ERR_LEVELS);
	s[2 * TOPIC_MAX_LEVELS] = '#';
	assert_true(topic_filter_valid(s, 2 * TOPIC_MAX_LEVELS - 1,
	    TOPIC_MAX_LEVELS));
	assert_string_equal(topic_filter_check(s, 2 * TOPIC_MAX_LEVELS + 1,
	    TOPIC_MAX_LEVELS), TOPIC_ERR_LEVELS);
}

/* --- matching ------------------------------------------------------------ */

static void
test_mqtt_4_7_1_2_hash_matching(void **state)
{
	static const struct mcase c[] = {
		{ "sport/tennis/player1/#", "sport/tennis/player1", true },
		{ "sport/tennis/player1/#", "sport/tennis/player1/ranking",
		    true },
		{ "sport/tennis/player1/#",
		    "sport/tennis/player1/score/wimbledon", true },
		{ "sport/tennis/player1/#", "sport/tennis/player2", false },
		{ "sport/tennis/player1/#", "sport/tennis", false },
		{ "sport/#", "sport", true },
		{ "sport/#", "sport/", true },
		{ "sport/#", "sports", false },
		{ "sport/#", "Sport/tennis", false },
		{ "#", "sport", true },
		{ "#", "/", true },
		{ "#", "a/b/c/d/e", true },
		{ "/#", "/", true },
		{ "/#", "/finance", true },
		{ "/#", "finance", false },
		{ "a/b/#", "a", false },
	};

	(void)state;
	check_table(c, NITEMS(c));
}

static void
test_mqtt_4_7_1_3_plus_matching(void **state)
{
	static const struct mcase c[] = {
		{ "sport/tennis/+", "sport/tennis/player1", true },
		{ "sport/tennis/+", "sport/tennis/player2", true },
		{ "sport/tennis/+", "sport/tennis/player1/ranking", false },
		{ "sport/+", "sport", false },
		{ "sport/+", "sport/", true },
		{ "+/+", "/finance", true },
		{ "/+", "/finance", true },
		{ "+", "/finance", false },
		{ "+", "finance", true },
		{ "+/tennis/#", "sport/tennis/player1", true },
		{ "+/tennis/#", "sport/tennis", true },
		{ "+/tennis/#", "sport/golf", false },
		{ "sport/+/player1", "sport/tennis/player1", true },
		{ "sport/+/player1", "sport//player1", true },
		{ "sport/+/player1", "sport/player1", false },
		{ "+/+/+", "a/b/c", true },
		{ "+/+/+", "a/b", false },
		{ "+/+/+", "//", true },
	};

	(void)state;
	check_table(c, NITEMS(c));
}

static void
test_mqtt_4_7_2_1_dollar_topics(void **state)
{
	static const struct mcase c[] = {
		{ "#", "$SYS/monitor/Clients", false },
		{ "#", "$", false },
		{ "+", "$SYS", false },
		{ "+/monitor/Clients", "$SYS/monitor/Clients", false },
		{ "+/#", "$SYS/x", false },
		{ "$SYS/#", "$SYS/monitor/Clients", true },
		{ "$SYS/#", "$SYS/x", true },
		{ "$SYS/#", "$SYS", true },
		{ "$SYS/monitor/+", "$SYS/monitor/Clients", true },
		{ "$SYS/+/Clients", "$SYS/monitor/Clients", true },
		{ "$", "$", true },
		/* Only the first character of the name counts. */
		{ "a/#", "a/$SYS", true },
		{ "+/+", "a/$b", true },
		{ "#", "a$", true },
		{ "+", "a$", true },
	};

	(void)state;
	check_table(c, NITEMS(c));
}

static void
test_levels_literal(void **state)
{
	static const struct mcase c[] = {
		/* 4.7.3: case-sensitive, spaces allowed */
		{ "ACCOUNTS", "Accounts", false },
		{ "Accounts payable", "Accounts payable", true },
		/* Empty levels are levels. */
		{ "a//b", "a/b", false },
		{ "a/b", "a//b", false },
		{ "a//b", "a//b", true },
		{ "/a", "a", false },
		{ "a", "/a", false },
		{ "a/", "a", false },
		{ "a", "a/", false },
		{ "/", "/", true },
		{ "//", "/", false },
		{ "a/b/c", "a/b/c", true },
		{ "a/b/c", "a/b/cd", false },
		{ "a/b/cd", "a/b/c", false },
		{ "abcdefghijklmnopq/r", "abcdefghijklmnopq/r", true },
		{ "abcdefghijklmnopq/r", "abcdefghijklmnopr/r", false },
	};

	(void)state;
	check_table(c, NITEMS(c));
}

static void
test_match_reports_filter(void **state)
{
	struct topic_tree	*t;
	struct hits		 hs = { 0 };

	(void)state;
	assert_non_null(t = topic_tree_new());
	assert_int_equal(sub(t, "a/+/c", &clients[1], 2), 0);
	assert_int_equal(topic_match(t, "a/b/c", 5, collect, &hs), 1);
	assert_ptr_equal(hs.h[0].sub, &clients[1]);
	assert_int_equal(hs.h[0].qos, 2);
	assert_string_equal(hs.h[0].filter, "a/+/c");
	assert_int_equal(match_count(t, "a/b"), 0);
	free(hs.h);
	topic_tree_free(t);
}

/* MQTT-3.3.5-1: every matching filter is reported; the caller takes max. */
static void
test_mqtt_3_3_5_1_overlapping(void **state)
{
	struct topic_tree	*t;
	struct hits		 hs = { 0 };
	struct hit		*h;
	void			*a = &clients[1], *b = &clients[2];
	uint8_t			 maxq = 0;
	size_t			 i;

	(void)state;
	assert_non_null(t = topic_tree_new());
	assert_int_equal(sub(t, "a/+", a, 1), 0);
	assert_int_equal(sub(t, "a/#", a, 2), 0);
	assert_int_equal(sub(t, "a/b", a, 0), 0);
	assert_int_equal(sub(t, "#", a, 0), 0);
	assert_int_equal(sub(t, "a/b", b, 1), 0);
	assert_int_equal(sub(t, "a/c", b, 2), 0);
	assert_int_equal(topic_match(t, "a/b", 3, collect, &hs), 5);
	assert_non_null(h = hit_find(&hs, a, "a/+"));
	assert_int_equal(h->qos, 1);
	assert_non_null(h = hit_find(&hs, a, "a/#"));
	assert_int_equal(h->qos, 2);
	assert_non_null(h = hit_find(&hs, a, "a/b"));
	assert_int_equal(h->qos, 0);
	assert_non_null(h = hit_find(&hs, a, "#"));
	assert_non_null(h = hit_find(&hs, b, "a/b"));
	assert_int_equal(h->qos, 1);
	for (i = 0; i < hs.n; i++)
		if (hs.h[i].sub == a && hs.h[i].qos > maxq)
			maxq = hs.h[i].qos;
	assert_int_equal(maxq, 2);
	free(hs.h);
	topic_tree_free(t);
}

/* --- subscribe and unsubscribe ------------------------------------------- */

static void
test_mqtt_3_8_4_3_resubscribe_replaces(void **state)
{
	struct topic_tree	*t;
	struct hits		 hs = { 0 };
	bool			 existed;

	(void)state;
	assert_non_null(t = topic_tree_new());
	assert_int_equal(topic_subscribe(t, "a/+", 3, &clients[1], 0,
	    &existed), 0);
	assert_false(existed);
	assert_int_equal(topic_subscribe(t, "a/+", 3, &clients[2], 1,
	    &existed), 0);
	assert_false(existed);
	assert_int_equal(topic_subscribe(t, "a/+", 3, &clients[1], 2,
	    &existed), 0);
	assert_true(existed);
	assert_int_equal(topic_tree_subscriptions(t), 2);
	assert_int_equal(topic_tree_subscribers(t), 2);
	assert_int_equal(topic_match(t, "a/x", 3, collect, &hs), 2);
	assert_int_equal(hit_find(&hs, &clients[1], "a/+")->qos, 2);
	assert_int_equal(hit_find(&hs, &clients[2], "a/+")->qos, 1);
	free(hs.h);
	topic_tree_free(t);
}

static void
test_unsubscribe(void **state)
{
	struct topic_tree	*t;

	(void)state;
	assert_non_null(t = topic_tree_new());
	assert_int_equal(sub(t, "a/b", &clients[1], 1), 0);
	assert_int_equal(sub(t, "a/b", &clients[2], 1), 0);
	assert_int_equal(sub(t, "a/+", &clients[1], 1), 0);
	assert_false(unsub(t, "a/c", &clients[1]));
	assert_false(unsub(t, "a/b", &clients[3]));
	assert_false(unsub(t, "a/#", &clients[1]));
	assert_false(unsub(t, "a/b/", &clients[1]));
	assert_false(unsub(t, "a", &clients[1]));
	assert_false(unsub(t, "a/#/b", &clients[1]));
	assert_false(unsub(t, "", &clients[1]));
	assert_int_equal(match_count(t, "a/b"), 3);
	assert_true(unsub(t, "a/b", &clients[1]));
	assert_false(unsub(t, "a/b", &clients[1]));
	assert_int_equal(match_count(t, "a/b"), 2);
	assert_true(unsub(t, "a/+", &clients[1]));
	assert_int_equal(topic_tree_subscribers(t), 1);
	assert_int_equal(match_count(t, "a/b"), 1);
	assert_true(unsub(t, "a/b", &clients[2]));
	assert_int_equal(match_count(t, "a/b"), 0);
	assert_int_equal(topic_tree_nodes(t), 0);
	assert_int_equal(topic_tree_subscriptions(t), 0);
	assert_int_equal(topic_tree_subscribers(t), 0);
	topic_tree_free(t);
}

static void
test_subscribe_rejects_invalid(void **state)
{
	struct topic_tree	*t;
	static const char	*bad[] = { "", "a/#/b", "a+", "#a", "a\0" };
	size_t			 i;

	(void)state;
	assert_non_null(t = topic_tree_new());
	for (i = 0; i < NITEMS(bad); i++) {
		errno = 0;
		assert_int_equal(topic_subscribe(t, bad[i],
		    i == 4 ? 2 : strlen(bad[i]), &clients[1], 0, NULL), -1);
		assert_int_equal(errno, EINVAL);
	}
	assert_int_equal(topic_tree_nodes(t), 0);
	assert_int_equal(topic_tree_subscribers(t), 0);
	topic_tree_free(t);
}

static void
test_prune_empty_nodes(void **state)
{
	struct topic_tree	*t;

	(void)state;
	assert_non_null(t = topic_tree_new());
	assert_int_equal(sub(t, "a/b/c", &clients[1], 0), 0);
	assert_int_equal(topic_tree_nodes(t), 3);
	assert_int_equal(sub(t, "a/b", &clients[1], 0), 0);
	assert_int_equal(topic_tree_nodes(t), 3);
	assert_int_equal(sub(t, "a/+/#", &clients[2], 0), 0);
	assert_int_equal(topic_tree_nodes(t), 5);
	assert_true(unsub(t, "a/b/c", &clients[1]));
	assert_int_equal(topic_tree_nodes(t), 4);
	/* An inner node without subscriptions stays while it has children. */
	assert_int_equal(sub(t, "a", &clients[1], 0), 0);
	assert_true(unsub(t, "a", &clients[1]));
	assert_int_equal(topic_tree_nodes(t), 4);
	assert_int_equal(match_count(t, "a"), 0);
	assert_int_equal(match_count(t, "a/b"), 2);
	assert_true(unsub(t, "a/+/#", &clients[2]));
	assert_int_equal(topic_tree_nodes(t), 2);
	assert_true(unsub(t, "a/b", &clients[1]));
	assert_int_equal(topic_tree_nodes(t), 0);
	assert_int_equal(match_count(t, "a/b"), 0);
	topic_tree_free(t);
}

static void
test_unsubscribe_all(void **state)
{
	struct topic_tree	*t;
	static const char	*f[] = { "a", "a/b", "a/+", "#", "+/#", "/",
	    "$SYS/#", "a//b" };
	size_t			 i;

	(void)state;
	assert_non_null(t = topic_tree_new());
	for (i = 0; i < NITEMS(f); i++) {
		assert_int_equal(sub(t, f[i], &clients[1], 1), 0);
		if (i % 2 == 0)
			assert_int_equal(sub(t, f[i], &clients[2], 1), 0);
	}
	assert_int_equal(sub(t, "b/c", &clients[2], 1), 0);
	assert_int_equal(topic_unsubscribe_all(t, &clients[3]), 0);
	assert_int_equal(match_count(t, "a/b"), 6);
	assert_int_equal(topic_unsubscribe_all(t, &clients[1]), NITEMS(f));
	assert_int_equal(topic_unsubscribe_all(t, &clients[1]), 0);
	assert_int_equal(topic_tree_subscriptions(t), NITEMS(f) / 2 + 1);
	assert_int_equal(topic_tree_subscribers(t), 1);
	assert_int_equal(match_count(t, "a/b"), 2);
	assert_int_equal(match_count(t, "b/c"), 2);
	assert_int_equal(match_count(t, "$SYS/x"), 1);
	/* Subscribing again after unsubscribe_all works. */
	assert_int_equal(sub(t, "a/b", &clients[1], 1), 0);
	assert_int_equal(match_count(t, "a/b"), 3);
	assert_int_equal(topic_unsubscribe_all(t, &clients[1]), 1);
	assert_int_equal(topic_unsubscribe_all(t, &clients[2]),
	    NITEMS(f) / 2 + 1);
	assert_int_equal(topic_tree_nodes(t), 0);
	assert_int_equal(topic_tree_subscriptions(t), 0);
	assert_int_equal(topic_tree_subscribers(t), 0);
	topic_tree_free(t);
}

/* Leaving subscriptions in the tree: freeing must release them (ASan). */
static void
test_free_populated(void **state)
{
	struct topic_tree	*t;

	(void)state;
	topic_tree_free(NULL);
	assert_non_null(t = topic_tree_new());
	assert_int_equal(sub(t, "a/b/c", &clients[1], 0), 0);
	assert_int_equal(sub(t, "a/+/#", &clients[2], 0), 0);
	assert_int_equal(sub(t, "#", &clients[2], 0), 0);
	topic_tree_free(t);
}

/*
 * Fail each allocation of a subscribe in turn: the call either succeeds
 * or returns -1 with the tree exactly as before.
 */
static void
test_alloc_failure(void **state)
{
	struct topic_tree	*t;
	unsigned long		 nth;
	size_t			 nodes, subs, owners, failed = 0;
	int			 rv;

	(void)state;
	assert_non_null(t = topic_tree_new());
	assert_int_equal(sub(t, "a/b", &clients[1], 0), 0);
	assert_int_equal(sub(t, "x/y", &clients[2], 0), 0);
	for (nth = 1; nth < 32; nth++) {
		nodes = topic_tree_nodes(t);
		subs = topic_tree_subscriptions(t);
		owners = topic_tree_subscribers(t);
		topic_tree_fail_alloc(t, nth);
		rv = sub(t, "a/b/c/d/e", &clients[3], 1);
		topic_tree_fail_alloc(t, 0);
		if (rv == -1) {
			failed++;
			assert_int_equal(errno, ENOMEM);
			assert_int_equal(topic_tree_nodes(t), nodes);
			assert_int_equal(topic_tree_subscriptions(t), subs);
			assert_int_equal(topic_tree_subscribers(t), owners);
			assert_int_equal(match_count(t, "a/b/c/d/e"), 0);
			assert_int_equal(match_count(t, "a/b"), 1);
		} else {
			assert_int_equal(match_count(t, "a/b/c/d/e"), 1);
			assert_true(unsub(t, "a/b/c/d/e", &clients[3]));
		}
		/* A second subscriber on an existing filter. */
		topic_tree_fail_alloc(t, nth);
		rv = sub(t, "a/b", &clients[4], 1);
		topic_tree_fail_alloc(t, 0);
		if (rv == -1) {
			failed++;
			assert_int_equal(match_count(t, "a/b"), 1);
		} else
			assert_true(unsub(t, "a/b", &clients[4]));
		assert_int_equal(topic_tree_nodes(t), 4);
		assert_int_equal(topic_tree_subscriptions(t), 2);
		assert_int_equal(topic_tree_subscribers(t), 2);
	}
	/* nodes c, d, e, owner, filter, sub; then owner, sub */
	assert_int_equal(failed, 6 + 2);
	topic_unsubscribe_all(t, &clients[1]);
	topic_unsubscribe_all(t, &clients[2]);
	assert_int_equal(topic_tree_nodes(t), 0);
	topic_tree_free(t);
}

/* Deep filters must not use stack in proportion to their depth. */
static void
test_deep_topics(void **state)
{
	struct topic_tree	*t;
	char			*s;
	size_t			 len = TOPIC_MAX_LEN;

	(void)state;
	assert_non_null(t = topic_tree_new());
	assert_non_null(s = malloc(len));
	memset(s, '/', len);
	assert_int_equal(topic_subscribe(t, s, len, &clients[1], 0, NULL),
	    0);
	assert_int_equal(topic_tree_nodes(t), len + 1);
	s[len - 1] = '+';
	assert_int_equal(topic_subscribe(t, s, len, &clients[1], 0, NULL),
	    0);
	s[len - 1] = '#';
	assert_int_equal(topic_subscribe(t, s, len, &clients[1], 0, NULL),
	    0);
	s[len - 1] = '/';
	/* Levels: the "/" filter 65536, "+" and "#" filters 65535 each. */
	assert_int_equal(topic_match(t, s, len, count_cb, &(size_t){ 0 }), 2);
	assert_int_equal(topic_match(t, s, len - 1, count_cb,
	    &(size_t){ 0 }), 2);
	/* "#" also matches its parent level. */
	assert_int_equal(topic_match(t, s, len - 2, count_cb,
	    &(size_t){ 0 }), 1);
	assert_int_equal(topic_match(t, s, len - 3, count_cb,
	    &(size_t){ 0 }), 0);
	assert_int_equal(topic_unsubscribe_all(t, &clients[1]), 3);
	assert_int_equal(topic_tree_nodes(t), 0);
	free(s);
	topic_tree_free(t);
}

/* Wildcards in a name (caller's bug) are literal and count once. */
static void
test_invalid_name_matches_once(void **state)
{
	struct topic_tree	*t;

	(void)state;
	assert_non_null(t = topic_tree_new());
	assert_int_equal(sub(t, "a/+", &clients[1], 0), 0);
	assert_int_equal(sub(t, "a/#", &clients[2], 0), 0);
	assert_int_equal(topic_match(t, "a/+", 3, count_cb, &(size_t){ 0 }),
	    2);
	assert_int_equal(topic_match(t, "a/#", 3, count_cb, &(size_t){ 0 }),
	    2);
	assert_int_equal(topic_match(t, "", 0, count_cb, &(size_t){ 0 }), 0);
	topic_tree_free(t);
}

/* --- randomized ---------------------------------------------------------- */

struct model {
	char		 filter[FILTER_MAX];
	size_t		 len;
	int		 who;
	uint8_t		 qos;
	bool		 live;
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static size_t random_hits;		/* proves the comparisons matter */

static uint32_t
rng(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

/* Few distinct levels so that filters and names collide often. */
static size_t
rand_topic(char *buf, bool filter)
{
	static const char	*lv[] = { "a", "b", "", "ab", "longerlevel0" };
	size_t			 i, n, len = 0;
	const char		*l;

	n = 1 + rng(5);
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf[len++] = '/';
		if (i == 0 && rng(8) == 0)
			l = "$S";
		else if (filter && i == n - 1 && rng(5) == 0)
			l = "#";
		else if (filter && rng(4) == 0)
			l = "+";
		else
			l = lv[rng(NITEMS(lv))];
		memcpy(buf + len, l, strlen(l));
		len += strlen(l);
	}
	/* One empty level is the empty topic, which is invalid. */
	if (len == 0)
		buf[len++] = 'a';
	buf[len] = '\0';
	return len;
}

static void
check_random_name(struct topic_tree *t, struct model *m, size_t nm)
{
	char		 name[FILTER_MAX];
	size_t		 len, i, nbf = 0;
	struct hits	 hs = { 0 };
	struct hit	*bf;

	len = rand_topic(name, false);
	assert_true(topic_name_valid(name, len, 0));
	topic_match(t, name, len, collect, &hs);
	assert_non_null(bf = calloc(nm + 1, sizeof(*bf)));
	for (i = 0; i < nm; i++) {
		if (!m[i].live ||
		    !bf_match(m[i].filter, m[i].len, name, len))
			continue;
		bf[nbf].sub = &clients[m[i].who];
		bf[nbf].qos = m[i].qos;
		memcpy(bf[nbf].filter, m[i].filter, m[i].len + 1);
		nbf++;
	}
	random_hits += nbf;
	if (hs.n != nbf)
		fail_msg("\"%s\": tree %zu matches, brute force %zu", name,
		    hs.n, nbf);
	if (nbf > 0) {
		qsort(hs.h, hs.n, sizeof(*hs.h), hit_cmp);
		qsort(bf, nbf, sizeof(*bf), hit_cmp);
	}
	for (i = 0; i < nbf; i++)
		if (hit_cmp(&hs.h[i], &bf[i]) != 0)
			fail_msg("\"%s\": tree has %s, brute force %s", name,
			    hs.h[i].filter, bf[i].filter);
	free(bf);
	free(hs.h);
}

static size_t
drop_client(struct topic_tree *t, struct model *m, size_t nm, int who)
{
	size_t	 i, dropped = 0;

	for (i = 0; i < nm; i++)
		if (m[i].live && m[i].who == who) {
			m[i].live = false;
			dropped++;
		}
	assert_int_equal(topic_unsubscribe_all(t, &clients[who]), dropped);
	return dropped;
}

static void
test_random_against_brute_force(void **state)
{
	struct topic_tree	*t;
	struct model		*m;
	size_t			 nm = 0, i, live = 0, ops;
	char			 f[FILTER_MAX];
	size_t			 len;
	int			 who;
	uint8_t			 qos;
	bool			 existed;

	(void)state;
	assert_non_null(m = calloc(8000, sizeof(*m)));
	assert_non_null(t = topic_tree_new());
	for (ops = 0; ops < 8000; ops++) {
		who = (int)rng(NITEMS(clients));
		if (rng(3) == 0 && live > 0) {
			/* unsubscribe a live one, or drop a whole client */
			i = rng((uint32_t)nm);
			if (!m[i].live)
				continue;
			if (rng(20) == 0)
				live -= drop_client(t, m, nm, m[i].who);
			else {
				assert_true(topic_unsubscribe(t, m[i].filter,
				    m[i].len, &clients[m[i].who]));
				m[i].live = false;
				live--;
			}
		} else {
			len = rand_topic(f, true);
			assert_true(topic_filter_valid(f, len, 0));
			qos = (uint8_t)rng(3);
			assert_int_equal(topic_subscribe(t, f, len,
			    &clients[who], qos, &existed), 0);
			for (i = 0; i < nm; i++)
				if (m[i].live && m[i].who == who &&
				    strcmp(m[i].filter, f) == 0)
					break;
			assert_int_equal(existed, i < nm);
			if (i == nm) {
				memcpy(m[nm].filter, f, len + 1);
				m[nm].len = len;
				m[nm].who = who;
				nm++;
				live++;
			}
			m[i].qos = qos;
			m[i].live = true;
		}
		assert_int_equal(topic_tree_subscriptions(t), live);
		if (ops % 4 == 0)
			check_random_name(t, m, nm);
	}
	for (i = 0; i < 2000; i++)
		check_random_name(t, m, nm);
	print_message("%zu subscriptions made, %zu matches compared\n", nm,
	    random_hits);
	assert_true(random_hits > 10 * nm);
	for (i = 0; i < nm; i++)
		if (m[i].live)
			assert_true(topic_unsubscribe(t, m[i].filter,
			    m[i].len, &clients[m[i].who]));
	assert_int_equal(topic_tree_nodes(t), 0);
	assert_int_equal(topic_tree_subscriptions(t), 0);
	assert_int_equal(topic_tree_subscribers(t), 0);
	topic_tree_free(t);
	free(m);
}

/*
 * Many clients with per-client filters and a shared one, as a fleet of
 * devices would have: subscriptions and removals stay cheap (a quadratic
 * path would not finish) and the tree empties.
 */
static void
test_many_subscriptions(void **state)
{
	struct topic_tree	*t;
	char			*who, f[64];
	size_t			 i, n = 100000;
	int			 len;

	(void)state;
	assert_non_null(who = malloc(n));
	assert_non_null(t = topic_tree_new());
	for (i = 0; i < n; i++) {
		len = snprintf(f, sizeof(f), "devices/%zu/cmd", i);
		assert_int_equal(topic_subscribe(t, f, len, &who[i], 1, NULL),
		    0);
		assert_int_equal(sub(t, "devices/+/status", &who[i], 0), 0);
		assert_int_equal(sub(t, "broadcast", &who[i], 0), 0);
	}
	assert_int_equal(topic_tree_subscriptions(t), 3 * n);
	/* devices, the ids, cmd under each, +, status, broadcast */
	assert_int_equal(topic_tree_nodes(t), 2 * n + 4);
	assert_int_equal(match_count(t, "devices/4242/cmd"), 1);
	assert_int_equal(match_count(t, "devices/4242/status"), n);
	assert_int_equal(match_count(t, "broadcast"), n);
	for (i = 0; i < n; i += 2)
		assert_true(unsub(t, "broadcast", &who[i]));
	assert_int_equal(match_count(t, "broadcast"), n / 2);
	for (i = 0; i < n; i++)
		assert_int_equal(topic_unsubscribe_all(t, &who[i]),
		    i % 2 ? 3 : 2);
	assert_int_equal(topic_tree_nodes(t), 0);
	assert_int_equal(topic_tree_subscribers(t), 0);
	topic_tree_free(t);
	free(who);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mqtt_4_7_3_1_empty),
		cmocka_unit_test(test_mqtt_4_7_3_2_nul),
		cmocka_unit_test(test_mqtt_4_7_3_3_length),
		cmocka_unit_test(test_mqtt_3_3_2_2_no_wildcard_in_name),
		cmocka_unit_test(test_mqtt_4_7_1_2_hash_last_level),
		cmocka_unit_test(test_mqtt_4_7_1_3_plus_whole_level),
		cmocka_unit_test(test_valid_names),
		cmocka_unit_test(test_max_levels),
		cmocka_unit_test(test_mqtt_4_7_1_2_hash_matching),
		cmocka_unit_test(test_mqtt_4_7_1_3_plus_matching),
		cmocka_unit_test(test_mqtt_4_7_2_1_dollar_topics),
		cmocka_unit_test(test_levels_literal),
		cmocka_unit_test(test_match_reports_filter),
		cmocka_unit_test(test_mqtt_3_3_5_1_overlapping),
		cmocka_unit_test(test_mqtt_3_8_4_3_resubscribe_replaces),
		cmocka_unit_test(test_unsubscribe),
		cmocka_unit_test(test_subscribe_rejects_invalid),
		cmocka_unit_test(test_prune_empty_nodes),
		cmocka_unit_test(test_unsubscribe_all),
		cmocka_unit_test(test_free_populated),
		cmocka_unit_test(test_alloc_failure),
		cmocka_unit_test(test_deep_topics),
		cmocka_unit_test(test_invalid_name_matches_once),
		cmocka_unit_test(test_random_against_brute_force),
		cmocka_unit_test(test_many_subscriptions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
