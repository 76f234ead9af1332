/*
 * topic.h: MQTT topic name and filter validation (MQTT 3.1.1 and 5.0,
 * section 4.7) and the subscription tree.
 *
 * Ownership: the tree owns its nodes, its subscriptions and a copy of each
 * subscribed filter.  Subscribers are the caller's opaque pointers; the tree
 * never dereferences them and forgets them on unsubscribe.
 *
 * Duplicates: topic_match() reports a subscriber once per matching filter.
 * MQTT-3.3.5-1 wants at least one delivery at the maximum QoS of the
 * matching filters; the caller folds the reports, e.g. with a per-client
 * stamp (if (c->match_gen != gen) { c->match_gen = gen; c->match_qos = qos;
 * queue c; } else c->match_qos = MAX(c->match_qos, qos)), which needs no
 * allocation and no search.  The tree cannot do that cheaply because it
 * must not touch the subscribers.
 *
 * Not thread-safe.  Concurrent topic_match() calls on an unchanging tree are
 * fine; nothing may change the tree while a match is running, including
 * its callback.
 */
#ifndef STAPLEMQ_TOPIC_H
#define STAPLEMQ_TOPIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOPIC_MAX_LEN		65535	/* UTF-8 string limit: MQTT-4.7.3-3 */
#define TOPIC_MAX_LEVELS	128	/* default limit, as EMQX */

/*
 * Why a name or filter was refused, as returned by topic_name_check() and
 * topic_filter_check(): the statement id, or a name for local limits.
 * Compare with strcmp(); the pointers may differ between files.
 */
#define TOPIC_ERR_EMPTY		"MQTT-4.7.3-1"	/* zero length */
#define TOPIC_ERR_NUL		"MQTT-4.7.3-2"	/* contains U+0000 */
#define TOPIC_ERR_LENGTH	"MQTT-4.7.3-3"	/* over 65535 bytes */
#define TOPIC_ERR_WILDCARD	"MQTT-3.3.2-2"	/* wildcard in a name */
#define TOPIC_ERR_HASH		"MQTT-4.7.1-2"	/* misplaced "#" */
#define TOPIC_ERR_PLUS		"MQTT-4.7.1-3"	/* "+" not a whole level */
#define TOPIC_ERR_LEVELS	"max_topic_levels" /* too many levels */

struct topic_tree;

/*
 * Validation of len bytes at s, which need not be NUL-terminated.
 * max_levels limits the number of levels ("a/b" has 2); 0 means no limit.
 * The check functions return NULL if valid, else a TOPIC_ERR_* string for
 * the log.  UTF-8 well-formedness is the codec's job, not checked here.
 */
const char	*topic_name_check(const char *s, size_t len,
		    unsigned max_levels);
const char	*topic_filter_check(const char *s, size_t len,
		    unsigned max_levels);
bool		 topic_name_valid(const char *s, size_t len,
		    unsigned max_levels);
bool		 topic_filter_valid(const char *s, size_t len,
		    unsigned max_levels);

/*
 * topic_tree_new() returns an empty tree or NULL (errno set).  It reads 16
 * bytes from getentropy() for the hash key: create trees before a sandbox
 * forbids getrandom, or accept the weaker fallback key.
 * topic_tree_free() frees the tree and every subscription; NULL is fine.
 */
struct topic_tree *topic_tree_new(void);
void		 topic_tree_free(struct topic_tree *);

/*
 * Subscribe to a filter.  A subscriber holds at most one subscription per
 * identical filter: subscribing again replaces its QoS (MQTT-3.8.4-3) and
 * sets *existed (which may be NULL).  The filter is checked for structure
 * only (no level limit: use topic_filter_check() first).
 * Returns 0, or -1 with errno EINVAL (bad filter) or ENOMEM; on failure the
 * tree is as it was.
 */
int		 topic_subscribe(struct topic_tree *, const char *filter,
		    size_t len, void *subscriber, uint8_t qos, bool *existed);

/* Remove one subscription; returns whether it existed. */
bool		 topic_unsubscribe(struct topic_tree *, const char *filter,
		    size_t len, void *subscriber);

/*
 * Remove every subscription of a subscriber (on disconnect of a clean
 * session).  The tree keeps its own index per subscriber, so this costs
 * O(subscriptions of that subscriber) and the caller need not keep a list
 * of filters.  Returns how many were removed.
 */
size_t		 topic_unsubscribe_all(struct topic_tree *, void *subscriber);

/*
 * Call cb once per subscription whose filter matches the topic name, with
 * the subscriber, its QoS and the filter (not NUL-terminated, valid until
 * that subscription goes away).  name should have passed
 * topic_name_check(); wildcards in it match nothing but wildcard filters.
 * Allocates nothing; costs O(levels) plus the matches for ordinary
 * trees.  Returns the number of calls made.
 */
size_t		 topic_match(const struct topic_tree *, const char *name,
		    size_t len, void (*cb)(void *subscriber, uint8_t qos,
		    const char *filter, size_t filterlen, void *arg),
		    void *arg);

/* Counts, for statistics and tests: all three are 0 for an empty tree. */
size_t		 topic_tree_nodes(const struct topic_tree *);
size_t		 topic_tree_subscriptions(const struct topic_tree *);
size_t		 topic_tree_subscribers(const struct topic_tree *);

/*
 * Test hook: make the nth allocation from now by this tree fail once
 * (1 is the next one); 0 disarms.
 */
void		 topic_tree_fail_alloc(struct topic_tree *, unsigned long nth);

#endif /* STAPLEMQ_TOPIC_H */
