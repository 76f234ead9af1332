/*
 * retain.c: the retained-message store, a trie of topic levels with the
 * message of a topic on the node of its last level.
 *
 * Children are found two ways.  One hash table for the whole store holds
 * every node keyed by (parent, level), so that a literal level costs one
 * lookup however wide its parent is and a leaf needs no table of its own.
 * Each node also lists its children, so that "+" and "#" can enumerate
 * them.  Nodes that hold neither a message nor children are freed at once:
 * the store never outgrows the topics it holds, whatever the churn.
 *
 * Topic names come from clients, so levels are hashed with SipHash-1-3
 * under a random key: nobody can aim many levels at one bucket.  Nothing
 * recurses: a 65535-byte topic has up to 32768 levels.  Matching keeps its
 * place through parent and sibling pointers instead of a stack, and builds
 * the name it reports in a buffer in the store, so it allocates nothing.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "retain.h"
#include "siphash.h"
#include "topic.h"

#define RETAIN_HTAB_MIN	16	/* fewest slots; a power of two */

struct retain_node {
	struct retain_node	*hnext;		/* hash chain */
	uint64_t		 hv;		/* of (parent, level) */
	struct retain_node	*parent;	/* NULL for the root */
	struct retain_node	*child;		/* first child or NULL */
	struct retain_node	*next;		/* next sibling or NULL */
	struct retain_node	**prevp;	/* what points at us */
	void			*msg;		/* the caller's, or NULL */
	uint16_t		 len;
	char			 level[];	/* len bytes, no NUL */
};

struct retain_store {
	struct retain_node	*root;		/* no level, no message */
	struct retain_node	**slot;		/* every other node */
	size_t			  mask;		/* slots - 1 */
	size_t			  nodes;	/* in the table */
	size_t			  count;	/* nodes with a message */
	uint64_t		  key[2];	/* SipHash key */
	unsigned long		  fail_after;	/* test hook */
	size_t			  buflen;	/* retain_match's name */
	char			  buf[TOPIC_MAX_LEN + 1];
};

static uint64_t	retain_hash(const struct retain_store *,
		    const struct retain_node *, const char *, size_t);
static void	retain_seed(struct retain_store *);
static void	*retain_calloc(struct retain_store *, size_t, size_t);
static void	retain_resize(struct retain_store *, size_t);
static struct retain_node *retain_find_hv(const struct retain_store *,
		    const struct retain_node *, const char *, size_t, uint64_t);
static struct retain_node *retain_find(const struct retain_store *,
		    const struct retain_node *, const char *, size_t);
static struct retain_node *retain_node_new(struct retain_store *,
		    struct retain_node *, const char *, size_t, uint64_t);
static void	retain_prune(struct retain_store *, struct retain_node *);
static struct retain_node *retain_lookup(const struct retain_store *,
		    const char *, size_t);
static struct retain_node *retain_make(struct retain_store *, const char *,
		    size_t);
static void	retain_push(struct retain_store *, const struct retain_node *);
static void	retain_pop(struct retain_store *, const struct retain_node *);
static struct retain_node *retain_skip(const struct retain_store *,
		    struct retain_node *, bool);
static struct retain_node *retain_first(const struct retain_store *,
		    struct retain_node *, const char *, size_t, bool);
static int	retain_report(struct retain_store *,
		    const struct retain_node *, int (*)(void *, const char *,
		    size_t, void *), void *);
static int	retain_subtree(struct retain_store *, struct retain_node *,
		    bool, int (*)(void *, const char *, size_t, void *),
		    void *);
static struct retain_node *retain_up(struct retain_store *,
		    struct retain_node *, const char *, size_t *, bool);

/* --- hashing ------------------------------------------------------------- */

/*
 * The hash of a level, with the parent folded into the key so that equal
 * levels under different parents spread over the table.
 */
static uint64_t
retain_hash(const struct retain_store *s, const struct retain_node *parent,
    const char *p, size_t len)
{
	uint64_t key[2];

	key[0] = s->key[0];
	key[1] = s->key[1] ^ (uint64_t)(uintptr_t)parent;
	return siphash13(key, p, len);
}

static void
retain_seed(struct retain_store *s)
{
	/* Without getrandom the key still varies with time and layout. */
	siphash_key(s->key);
}

/* --- nodes --------------------------------------------------------------- */

static void *
retain_calloc(struct retain_store *s, size_t nmemb, size_t size)
{
	if (s->fail_after != 0 && --s->fail_after == 0) {
		errno = ENOMEM;
		return NULL;
	}
	return calloc(nmemb, size);
}

/*
 * Rehash into nslots slots.  Failing leaves the table as it was, which
 * only costs longer or emptier chains: neither growing nor shrinking may
 * make an insert or a delete fail.
 */
static void
retain_resize(struct retain_store *s, size_t nslots)
{
	struct retain_node	**ns, *n, *next;
	size_t			  i;

	if ((ns = retain_calloc(s, nslots, sizeof(*ns))) == NULL)
		return;
	for (i = 0; i <= s->mask; i++) {
		for (n = s->slot[i]; n != NULL; n = next) {
			next = n->hnext;
			n->hnext = ns[n->hv & (nslots - 1)];
			ns[n->hv & (nslots - 1)] = n;
		}
	}
	free(s->slot);
	s->slot = ns;
	s->mask = nslots - 1;
}

/* The child of parent with level lvl, given the hash of that pair. */
static struct retain_node *
retain_find_hv(const struct retain_store *s, const struct retain_node *parent,
    const char *lvl, size_t len, uint64_t hv)
{
	struct retain_node	*n;

	for (n = s->slot[hv & s->mask]; n != NULL; n = n->hnext)
		if (n->hv == hv && n->parent == parent && n->len == len &&
		    memcmp(n->level, lvl, len) == 0)
			return n;
	return NULL;
}

static struct retain_node *
retain_find(const struct retain_store *s, const struct retain_node *parent,
    const char *lvl, size_t len)
{
	/* Most lookups that fail do so under a leaf: spare them the hash. */
	if (parent->child == NULL)
		return NULL;
	return retain_find_hv(s, parent, lvl, len,
	    retain_hash(s, parent, lvl, len));
}

static struct retain_node *
retain_node_new(struct retain_store *s, struct retain_node *parent,
    const char *lvl, size_t len, uint64_t hv)
{
	struct retain_node	*n, **b;

	if ((n = retain_calloc(s, 1, sizeof(*n) + len)) == NULL)
		return NULL;
	n->hv = hv;
	n->parent = parent;
	n->len = len;
	memcpy(n->level, lvl, len);
	if ((n->next = parent->child) != NULL)
		n->next->prevp = &n->next;
	parent->child = n;
	n->prevp = &parent->child;
	b = &s->slot[hv & s->mask];
	n->hnext = *b;
	*b = n;
	if (++s->nodes > s->mask + 1)
		retain_resize(s, (s->mask + 1) * 2);
	return n;
}

/*
 * Free n and its ancestors while they hold neither a message nor
 * children.  Shrinking the table at a quarter full keeps churn from
 * holding peak memory.
 */
static void
retain_prune(struct retain_store *s, struct retain_node *n)
{
	struct retain_node	*parent, **pp;

	while (n != s->root && n->msg == NULL && n->child == NULL) {
		parent = n->parent;
		if ((*n->prevp = n->next) != NULL)
			n->next->prevp = n->prevp;
		for (pp = &s->slot[n->hv & s->mask]; *pp != n;
		    pp = &(*pp)->hnext)
			;
		*pp = n->hnext;
		s->nodes--;
		free(n);
		n = parent;
	}
	if (s->mask + 1 > RETAIN_HTAB_MIN && s->nodes < (s->mask + 1) / 4)
		retain_resize(s, (s->mask + 1) / 2);
}

/* Return the node of a valid topic name, or NULL if it has none. */
static struct retain_node *
retain_lookup(const struct retain_store *s, const char *t, size_t len)
{
	struct retain_node	*n = s->root;
	const char		*lvl, *e, *end = t + len;

	for (lvl = t; n != NULL; lvl = e + 1) {
		if ((e = memchr(lvl, '/', end - lvl)) == NULL)
			e = end;
		n = retain_find(s, n, lvl, e - lvl);
		if (e == end)
			break;
	}
	return n;
}

/*
 * Return the node of a valid topic name, adding the missing levels; NULL
 * means ENOMEM, and whatever was added has been pruned again.
 */
static struct retain_node *
retain_make(struct retain_store *s, const char *t, size_t len)
{
	struct retain_node	*n = s->root, *c;
	const char		*lvl, *e, *end = t + len;
	uint64_t		 hv;

	for (lvl = t;; lvl = e + 1) {
		if ((e = memchr(lvl, '/', end - lvl)) == NULL)
			e = end;
		hv = retain_hash(s, n, lvl, e - lvl);
		if ((c = retain_find_hv(s, n, lvl, e - lvl, hv)) == NULL &&
		    (c = retain_node_new(s, n, lvl, e - lvl, hv)) == NULL) {
			retain_prune(s, n);
			return NULL;
		}
		n = c;
		if (e == end)
			return n;
	}
}

/* --- the store ----------------------------------------------------------- */

struct retain_store *
retain_new(void)
{
	struct retain_store	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if ((s->root = calloc(1, sizeof(*s->root))) == NULL ||
	    (s->slot = calloc(RETAIN_HTAB_MIN, sizeof(*s->slot))) == NULL)
		goto fail;
	s->mask = RETAIN_HTAB_MIN - 1;
	retain_seed(s);
	return s;
fail:
	free(s->root);
	free(s);
	return NULL;
}

/* Every node but the root is in the table: free them from there. */
void
retain_free(struct retain_store *s, void (*release)(void *))
{
	struct retain_node	*n, *next;
	size_t			 i;

	if (s == NULL)
		return;
	for (i = 0; i <= s->mask; i++) {
		for (n = s->slot[i]; n != NULL; n = next) {
			next = n->hnext;
			if (n->msg != NULL && release != NULL)
				release(n->msg);
			free(n);
		}
	}
	free(s->slot);
	free(s->root);
	free(s);
}

int
retain_set(struct retain_store *s, const char *topic, size_t len, void *msg,
    void **old)
{
	struct retain_node	*n;

	*old = NULL;
	/* Also what keeps every name within s->buf. */
	if (topic_name_check(topic, len, 0) != NULL) {
		errno = EINVAL;
		return -1;
	}
	if (msg == NULL) {
		/* MQTT-3.3.1-10/11: an empty payload clears the topic. */
		if ((n = retain_lookup(s, topic, len)) != NULL &&
		    n->msg != NULL) {
			*old = n->msg;
			n->msg = NULL;
			s->count--;
			retain_prune(s, n);
		}
		return 0;
	}
	if ((n = retain_make(s, topic, len)) == NULL)
		return -1;
	if ((*old = n->msg) == NULL)
		s->count++;
	n->msg = msg;
	return 0;
}

void *
retain_get(const struct retain_store *s, const char *topic, size_t len)
{
	struct retain_node	*n;

	if (topic_name_check(topic, len, 0) != NULL ||
	    (n = retain_lookup(s, topic, len)) == NULL)
		return NULL;
	return n->msg;
}

size_t
retain_count(const struct retain_store *s)
{
	return s->count;
}

size_t
retain_nodes(const struct retain_store *s)
{
	return s->nodes;
}

void
retain_fail_alloc(struct retain_store *s, unsigned long nth)
{
	s->fail_after = nth;
}

/* --- matching ------------------------------------------------------------ */

/*
 * s->buf holds the name of the node being visited.  Every node is a level
 * prefix of a stored, checked name, so it fits.
 */
static void
retain_push(struct retain_store *s, const struct retain_node *n)
{
	if (n->parent != s->root)
		s->buf[s->buflen++] = '/';
	memcpy(s->buf + s->buflen, n->level, n->len);
	s->buflen += n->len;
}

static void
retain_pop(struct retain_store *s, const struct retain_node *n)
{
	s->buflen -= n->len + (n->parent != s->root);
}

/*
 * The first of n and its later siblings that a wildcard may enter: with
 * dollar set, a wildcard first level skips names starting with "$"
 * (MQTT-4.7.2-1).
 */
static struct retain_node *
retain_skip(const struct retain_store *s, struct retain_node *n, bool dollar)
{
	while (n != NULL && dollar && n->parent == s->root && n->len > 0 &&
	    n->level[0] == '$')
		n = n->next;
	return n;
}

/* The first child of n that a filter level other than "#" matches. */
static struct retain_node *
retain_first(const struct retain_store *s, struct retain_node *n,
    const char *lvl, size_t len, bool dollar)
{
	if (len == 1 && lvl[0] == '+')
		return retain_skip(s, n->child, dollar);
	return retain_find(s, n, lvl, len);
}

static int
retain_report(struct retain_store *s, const struct retain_node *n,
    int (*cb)(void *, const char *, size_t, void *), void *arg)
{
	if (n->msg == NULL)
		return 0;
	s->buf[s->buflen] = '\0';
	return cb(arg, s->buf, s->buflen, n->msg);
}

/* Report every message below top, depth first: the work of a "#". */
static int
retain_subtree(struct retain_store *s, struct retain_node *top, bool dollar,
    int (*cb)(void *, const char *, size_t, void *), void *arg)
{
	struct retain_node	*n, *next;
	int			 rv;

	n = retain_skip(s, top->child, dollar);
	while (n != NULL) {
		retain_push(s, n);
		if ((rv = retain_report(s, n, cb, arg)) != 0)
			return rv;
		if (n->child != NULL) {
			n = n->child;
			continue;
		}
		/* Leave n, and ancestors without a next sibling, up to top. */
		for (;;) {
			retain_pop(s, n);
			if ((next = retain_skip(s, n->next, dollar)) != NULL ||
			    n->parent == top)
				break;
			n = n->parent;
		}
		n = next;
	}
	return 0;
}

/*
 * Backtrack from n and return the next node to enter, already pushed:
 * the next sibling of a node that a "+" entered.  *p is the offset of the
 * filter level after the one n matched, and is rewound by one level per
 * step up.  A literal level cannot contain "+", so the last byte tells a
 * "+" from a literal, whose length is that of the node.  Returns NULL once
 * the root is left.
 */
static struct retain_node *
retain_up(struct retain_store *s, struct retain_node *n, const char *f,
    size_t *p, bool dollar)
{
	struct retain_node	*next;
	size_t			 end;
	bool			 plus;

	while (n != s->root) {
		end = *p - 1;
		plus = end > 0 && f[end - 1] == '+';
		retain_pop(s, n);
		if (plus && (next = retain_skip(s, n->next, dollar)) != NULL) {
			retain_push(s, next);
			return next;
		}
		*p = plus ? end - 1 : end - n->len;
		n = n->parent;
	}
	return NULL;
}

int
retain_match(struct retain_store *s, const char *f, size_t len,
    int (*cb)(void *, const char *, size_t, void *), void *arg)
{
	struct retain_node	*n = s->root, *c;
	const char		*e;
	size_t			 p = 0, q = 0;
	bool			 dollar;
	int			 rv;

	if (topic_filter_check(f, len, 0) != NULL) {
		errno = EINVAL;
		return -1;
	}
	dollar = f[0] == '+' || f[0] == '#';
	s->buflen = 0;
	while (n != NULL) {
		c = NULL;
		if (p > len) {
			/* Every level of the filter matched. */
			if ((rv = retain_report(s, n, cb, arg)) != 0)
				return rv;
		} else if (f[p] == '#') {
			/* "a/#" also matches "a": MQTT-4.7.1-2. */
			if ((rv = retain_report(s, n, cb, arg)) != 0 ||
			    (rv = retain_subtree(s, n, dollar, cb, arg)) != 0)
				return rv;
		} else {
			e = memchr(f + p, '/', len - p);
			q = e == NULL ? len : (size_t)(e - f);
			c = retain_first(s, n, f + p, q - p, dollar);
		}
		if (c != NULL) {
			retain_push(s, c);
			n = c;
			p = q + 1;
		} else
			n = retain_up(s, n, f, &p, dollar);
	}
	return 0;
}
