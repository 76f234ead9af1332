/*
 * retain.h: the retained-message store (MQTT 3.1.1 and 5.0, section
 * 3.3.1.3).  It keeps the last retained message of each topic name and
 * finds them again for the filter of a new subscription.
 *
 * Ownership: the store owns its nodes, which hold the topic levels.
 * Messages are the caller's opaque pointers: the store never dereferences
 * them, hands back the one it drops (retain_set's *old) and passes each one
 * it still holds to release() in retain_free().
 *
 * Not thread-safe.  retain_match() writes a name buffer in the store, so
 * even matches must not overlap, and its callback must neither change the
 * store nor match on it.
 */
#ifndef STAPLEMQ_RETAIN_H
#define STAPLEMQ_RETAIN_H

#include <stddef.h>

struct retain_store;

/*
 * retain_new() returns an empty store or NULL (errno set).  Like
 * topic_tree_new() it reads 16 bytes from getentropy() for its hash key:
 * create stores before a sandbox forbids getrandom.
 * retain_free() passes every message still stored to release (unless
 * release is NULL) and frees the store; NULL is fine.
 */
struct retain_store *retain_new(void);
void		 retain_free(struct retain_store *, void (*release)(void *msg));

/*
 * Make msg the retained message of a topic name of len bytes (which need
 * not be NUL-terminated), replacing any.  A NULL msg deletes the topic, as
 * a retained PUBLISH with an empty payload does (MQTT-3.3.1-10/11).
 * *old, which must not be NULL, receives the message that was stored, or
 * NULL; the caller releases it.  The name is checked for structure only
 * (topic_name_check() without a level limit): apply max_topic_levels first.
 * Returns 0, or -1 with errno EINVAL (bad name) or ENOMEM; on failure *old
 * is NULL and the store is as it was.  Deleting never runs out of memory.
 */
int		 retain_set(struct retain_store *, const char *topic,
		    size_t len, void *msg, void **old);

/* The message retained for a topic name, or NULL (also for a bad name). */
void		*retain_get(const struct retain_store *, const char *topic,
		    size_t len);

/*
 * Call cb for every stored topic that the filter matches under the rules
 * of 4.7: "+" is one level, "#" any number including none ("a/#" matches
 * "a"), and a filter starting with a wildcard level matches no topic that
 * starts with "$" (MQTT-4.7.2-1).  cb gets the whole topic name, which is
 * NUL-terminated and valid until cb returns, and the message.  The order
 * is unspecified.
 *
 * Allocates nothing and does not recurse.  A filter without wildcards
 * costs O(levels); "+" visits the children of the nodes it reaches; "#"
 * visits the subtree under it.
 *
 * Returns 0 once every match has been reported, the first non-zero value
 * returned by cb (which ends the walk), or -1 with errno EINVAL if the
 * filter is invalid; cb should stop with positive values to keep them
 * apart.
 */
int		 retain_match(struct retain_store *, const char *filter,
		    size_t len, int (*cb)(void *arg, const char *topic,
		    size_t topic_len, void *msg), void *arg);

/*
 * Counts, for statistics and tests: stored topics, and trie nodes (the
 * distinct level prefixes of stored topics).  Both are 0 for an empty
 * store.
 */
size_t		 retain_count(const struct retain_store *);
size_t		 retain_nodes(const struct retain_store *);

/*
 * Test hook: make the nth allocation from now by this store fail once
 * (1 is the next one); 0 disarms.
 */
void		 retain_fail_alloc(struct retain_store *, unsigned long nth);

#endif /* STAPLEMQ_RETAIN_H */
