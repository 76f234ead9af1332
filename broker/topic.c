/*
 * topic.c: topic name and filter validation and the subscription tree that
 * maps a published topic name to the subscriptions it matches.
 *
 * The tree is a trie of topic levels.  Rather than a table per node, one
 * hash table for the whole tree holds every node keyed by (parent, level):
 * a leaf costs no table of its own and there is one resize policy.  The
 * "+" and "#" children are in that table too, so that freeing is a walk of
 * the table, but matching reaches them through n->plus and n->hash.
 *
 * Subscriptions hang off the node of their filter and are indexed twice
 * more: by (node, subscriber), so that resubscribing and unsubscribing cost
 * O(1) even when a million clients share a filter, and per subscriber
 * (struct topic_owner), so that dropping a client costs what it holds.
 *
 * Level bytes come from clients, so levels are hashed with SipHash-1-3
 * under a random key: nobody can aim many levels at one bucket.  Nothing
 * recurses, so filters with tens of thousands of levels do not threaten
 * the stack.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "siphash.h"
#include "topic.h"

#define TOPIC_HTAB_MIN	16	/* fewest slots; a power of two */

struct topic_hlink {
	struct topic_hlink	*next;		/* bucket chain */
	uint64_t		 hv;
};

/* A chained hash table of intrusive links; slots are a power of two. */
struct topic_htab {
	struct topic_hlink	**slot;
	size_t			  mask;		/* slots - 1 */
	size_t			  count;
};

/*
 * Every indexed struct starts with its link, so a link converts back to
 * its struct and free(link) frees the struct.
 */
struct topic_node {
	struct topic_hlink	 link;		/* in edges, by parent+level */
	struct topic_node	*parent;	/* NULL for the root */
	struct topic_node	*plus;		/* the "+" child or NULL */
	struct topic_node	*hash;		/* the "#" child or NULL */
	struct topic_sub	*subs;		/* to the filter ending here */
	char			*filter;	/* owned copy while subs */
	size_t			 nchildren;	/* wildcard children too */
	uint16_t		 filterlen;
	uint16_t		 len;
	char			 level[];	/* len bytes, no NUL */
};

struct topic_owner {
	struct topic_hlink	 link;		/* in owners, by subscriber */
	void			*subscriber;	/* the caller's */
	struct topic_sub	*subs;		/* all of the subscriber's */
};

struct topic_sub {
	struct topic_hlink	 link;		/* in subs, by (node, who) */
	void			*subscriber;	/* the caller's */
	struct topic_node	*node;
	struct topic_owner	*owner;
	struct topic_sub	*next;		/* node->subs */
	struct topic_sub	**prevp;
	struct topic_sub	*onext;		/* owner->subs */
	struct topic_sub	**oprevp;
	uint8_t			 qos;
};

struct topic_tree {
	struct topic_node	*root;		/* no level, never indexed */
	struct topic_htab	 edges;		/* topic_node */
	struct topic_htab	 subs;		/* topic_sub */
	struct topic_htab	 owners;	/* topic_owner */
	uint64_t		 key[2];	/* SipHash key */
	unsigned long		 fail_after;	/* test hook */
};

static uint64_t	topic_level_hash(const struct topic_tree *,
		    const struct topic_node *, const char *, size_t);
static uint64_t	topic_mix(uint64_t);
static uint64_t	topic_ptr_hash(const struct topic_tree *, const void *,
		    const void *);
static void	topic_seed(struct topic_tree *);
static void	*topic_calloc(struct topic_tree *, size_t, size_t);
static int	topic_htab_init(struct topic_htab *);
static int	topic_htab_resize(struct topic_tree *, struct topic_htab *,
		    size_t);
static void	topic_htab_insert(struct topic_tree *, struct topic_htab *,
		    struct topic_hlink *);
static void	topic_htab_remove(struct topic_tree *, struct topic_htab *,
		    struct topic_hlink *);
static void	topic_htab_free(struct topic_htab *, bool);
static struct topic_node *topic_edge_find(const struct topic_tree *,
		    const struct topic_node *, const char *, size_t, uint64_t);
static struct topic_node *topic_node_new(struct topic_tree *,
		    struct topic_node *, const char *, size_t, uint64_t);
static void	topic_node_drop_filter(struct topic_node *);
static void	topic_node_prune(struct topic_tree *, struct topic_node *);
static struct topic_node *topic_node_walk(struct topic_tree *, const char *,
		    size_t, bool);
static struct topic_sub *topic_sub_find(const struct topic_tree *,
		    const struct topic_node *, const void *);
static void	topic_sub_free(struct topic_tree *, struct topic_sub *);
static struct topic_owner *topic_owner_find(const struct topic_tree *,
		    const void *);
static struct topic_owner *topic_owner_get(struct topic_tree *, void *);
static void	topic_owner_prune(struct topic_tree *, struct topic_owner *);
static struct topic_node *topic_wild(const struct topic_tree *,
		    const struct topic_node *, struct topic_node *, bool);
static size_t	topic_report(const struct topic_node *, void (*)(void *,
		    uint8_t, const char *, size_t, void *), void *);
static struct topic_node *topic_match_up(const struct topic_tree *,
		    const struct topic_node *, const char *, size_t *, bool);

/* --- validation ---------------------------------------------------------- */

const char *
topic_name_check(const char *s, size_t len, unsigned max_levels)
{
	size_t	 i, levels = 1;

	if (len == 0)
		return TOPIC_ERR_EMPTY;
	if (len > TOPIC_MAX_LEN)
		return TOPIC_ERR_LENGTH;
	for (i = 0; i < len; i++) {
		switch (s[i]) {
		case '\0':
			return TOPIC_ERR_NUL;
		case '+':
		case '#':
			return TOPIC_ERR_WILDCARD;
		case '/':
			levels++;
			break;
		default:
			break;
		}
	}
	if (max_levels != 0 && levels > max_levels)
		return TOPIC_ERR_LEVELS;
	return NULL;
}

const char *
topic_filter_check(const char *s, size_t len, unsigned max_levels)
{
	size_t	 i, levels = 1;

	if (len == 0)
		return TOPIC_ERR_EMPTY;
	if (len > TOPIC_MAX_LEN)
		return TOPIC_ERR_LENGTH;
	for (i = 0; i < len; i++) {
		switch (s[i]) {
		case '\0':
			return TOPIC_ERR_NUL;
		case '#':
			/* A whole level, and the last one. */
			if (i + 1 != len || (i > 0 && s[i - 1] != '/'))
				return TOPIC_ERR_HASH;
			break;
		case '+':
			if ((i > 0 && s[i - 1] != '/') ||
			    (i + 1 < len && s[i + 1] != '/'))
				return TOPIC_ERR_PLUS;
			break;
		case '/':
			levels++;
			break;
		default:
			break;
		}
	}
	if (max_levels != 0 && levels > max_levels)
		return TOPIC_ERR_LEVELS;
	return NULL;
}

bool
topic_name_valid(const char *s, size_t len, unsigned max_levels)
{
	return topic_name_check(s, len, max_levels) == NULL;
}

bool
topic_filter_valid(const char *s, size_t len, unsigned max_levels)
{
	return topic_filter_check(s, len, max_levels) == NULL;
}

/* --- hashing ------------------------------------------------------------- */

/*
 * SipHash-1-3 of a level.  The parent is folded into the key so that equal
 * levels under different parents spread over the table.  Blocks are read
 * in host order: the value only has to be stable within this process.
 */
static uint64_t
topic_level_hash(const struct topic_tree *t, const struct topic_node *parent,
    const char *p, size_t len)
{
	uint64_t key[2];

	key[0] = t->key[0];
	key[1] = t->key[1] ^ (uint64_t)(uintptr_t)parent;
	return siphash13(key, p, len);
}

/* The murmur3 finalizer: enough for pointers, which clients do not pick. */
static uint64_t
topic_mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static uint64_t
topic_ptr_hash(const struct topic_tree *t, const void *a, const void *b)
{
	return topic_mix(topic_mix(t->key[0] ^ (uintptr_t)a) ^ (uintptr_t)b);
}

static void
topic_seed(struct topic_tree *t)
{
	/* Without getrandom the key still varies with time and layout. */
	siphash_key(t->key);
}

/* --- hash tables --------------------------------------------------------- */

static void *
topic_calloc(struct topic_tree *t, size_t nmemb, size_t size)
{
	if (t->fail_after != 0 && --t->fail_after == 0) {
		errno = ENOMEM;
		return NULL;
	}
	return calloc(nmemb, size);
}

static int
topic_htab_init(struct topic_htab *h)
{
	if ((h->slot = calloc(TOPIC_HTAB_MIN, sizeof(*h->slot))) == NULL)
		return -1;
	h->mask = TOPIC_HTAB_MIN - 1;
	h->count = 0;
	return 0;
}

static int
topic_htab_resize(struct topic_tree *t, struct topic_htab *h, size_t nslots)
{
	struct topic_hlink	**ns, *l, *next;
	size_t			  i;

	if ((ns = topic_calloc(t, nslots, sizeof(*ns))) == NULL)
		return -1;
	for (i = 0; i <= h->mask; i++) {
		for (l = h->slot[i]; l != NULL; l = next) {
			next = l->next;
			l->next = ns[l->hv & (nslots - 1)];
			ns[l->hv & (nslots - 1)] = l;
		}
	}
	free(h->slot);
	h->slot = ns;
	h->mask = nslots - 1;
	return 0;
}

/* Inserting cannot fail: a table that cannot grow gets longer chains. */
static void
topic_htab_insert(struct topic_tree *t, struct topic_htab *h,
    struct topic_hlink *l)
{
	struct topic_hlink	**b = &h->slot[l->hv & h->mask];

	l->next = *b;
	*b = l;
	if (++h->count > h->mask + 1)
		(void)topic_htab_resize(t, h, (h->mask + 1) * 2);
}

/* Shrinking at a quarter full keeps churn from holding peak memory. */
static void
topic_htab_remove(struct topic_tree *t, struct topic_htab *h,
    struct topic_hlink *l)
{
	struct topic_hlink	**pp;

	for (pp = &h->slot[l->hv & h->mask]; *pp != l; pp = &(*pp)->next)
		;
	*pp = l->next;
	h->count--;
	if (h->mask + 1 > TOPIC_HTAB_MIN && h->count < (h->mask + 1) / 4)
		(void)topic_htab_resize(t, h, (h->mask + 1) / 2);
}

/* Free every entry and the slots; nodes also own their filter copy. */
static void
topic_htab_free(struct topic_htab *h, bool nodes)
{
	struct topic_hlink	*l, *next;
	size_t			 i;

	if (h->slot == NULL)
		return;
	for (i = 0; i <= h->mask; i++) {
		for (l = h->slot[i]; l != NULL; l = next) {
			next = l->next;
			if (nodes)
				free(((struct topic_node *)l)->filter);
			free(l);
		}
	}
	free(h->slot);
	h->slot = NULL;
}

/* --- nodes --------------------------------------------------------------- */

static struct topic_node *
topic_edge_find(const struct topic_tree *t, const struct topic_node *parent,
    const char *lvl, size_t len, uint64_t hv)
{
	struct topic_hlink	*l;
	struct topic_node	*n;

	for (l = t->edges.slot[hv & t->edges.mask]; l != NULL; l = l->next) {
		n = (struct topic_node *)l;
		if (l->hv == hv && n->parent == parent && n->len == len &&
		    memcmp(n->level, lvl, len) == 0)
			return n;
	}
	return NULL;
}

/* Called for levels of valid filters only, where "+" is a wildcard. */
static struct topic_node *
topic_node_new(struct topic_tree *t, struct topic_node *parent,
    const char *lvl, size_t len, uint64_t hv)
{
	struct topic_node	*n;

	if ((n = topic_calloc(t, 1, sizeof(*n) + len)) == NULL)
		return NULL;
	n->link.hv = hv;
	n->parent = parent;
	n->len = len;
	memcpy(n->level, lvl, len);
	if (len == 1 && lvl[0] == '+')
		parent->plus = n;
	else if (len == 1 && lvl[0] == '#')
		parent->hash = n;
	parent->nchildren++;
	topic_htab_insert(t, &t->edges, &n->link);
	return n;
}

/* The filter text is kept only to report it with subscriptions. */
static void
topic_node_drop_filter(struct topic_node *n)
{
	if (n != NULL && n->subs == NULL) {
		free(n->filter);
		n->filter = NULL;
		n->filterlen = 0;
	}
}

/*
 * Free n and its ancestors while they hold neither subscriptions nor
 * children, so that the tree never outgrows what is subscribed.
 */
static void
topic_node_prune(struct topic_tree *t, struct topic_node *n)
{
	struct topic_node	*parent;

	while (n != NULL && n != t->root && n->subs == NULL &&
	    n->nchildren == 0) {
		parent = n->parent;
		if (parent->plus == n)
			parent->plus = NULL;
		else if (parent->hash == n)
			parent->hash = NULL;
		parent->nchildren--;
		topic_htab_remove(t, &t->edges, &n->link);
		free(n->filter);
		free(n);
		n = parent;
	}
}

/*
 * Return the node of a valid filter, or NULL if it has none.  With create
 * set, missing levels are added; NULL then means ENOMEM and whatever was
 * added has been pruned again.
 */
static struct topic_node *
topic_node_walk(struct topic_tree *t, const char *f, size_t len, bool create)
{
	struct topic_node	*n = t->root, *c;
	const char		*lvl, *e, *end = f + len;
	uint64_t		 hv;

	for (lvl = f;; lvl = e + 1) {
		if ((e = memchr(lvl, '/', end - lvl)) == NULL)
			e = end;
		hv = topic_level_hash(t, n, lvl, e - lvl);
		if ((c = topic_edge_find(t, n, lvl, e - lvl, hv)) == NULL) {
			if (!create)
				return NULL;
			if ((c = topic_node_new(t, n, lvl, e - lvl, hv)) ==
			    NULL) {
				topic_node_prune(t, n);
				return NULL;
			}
		}
		n = c;
		if (e == end)
			return n;
	}
}

/* --- subscriptions ------------------------------------------------------- */

static struct topic_sub *
topic_sub_find(const struct topic_tree *t, const struct topic_node *n,
    const void *subscriber)
{
	struct topic_hlink	*l;
	struct topic_sub	*s;
	uint64_t		 hv = topic_ptr_hash(t, n, subscriber);

	for (l = t->subs.slot[hv & t->subs.mask]; l != NULL; l = l->next) {
		s = (struct topic_sub *)l;
		if (l->hv == hv && s->node == n && s->subscriber == subscriber)
			return s;
	}
	return NULL;
}

/* Unlink and free s; the caller prunes its node and owner. */
static void
topic_sub_free(struct topic_tree *t, struct topic_sub *s)
{
	struct topic_node	*n = s->node;

	if ((*s->prevp = s->next) != NULL)
		s->next->prevp = s->prevp;
	if ((*s->oprevp = s->onext) != NULL)
		s->onext->oprevp = s->oprevp;
	topic_htab_remove(t, &t->subs, &s->link);
	free(s);
	topic_node_drop_filter(n);
}

static struct topic_owner *
topic_owner_find(const struct topic_tree *t, const void *subscriber)
{
	struct topic_hlink	*l;
	struct topic_owner	*o;
	uint64_t		 hv = topic_ptr_hash(t, subscriber, NULL);

	for (l = t->owners.slot[hv & t->owners.mask]; l != NULL;
	    l = l->next) {
		o = (struct topic_owner *)l;
		if (l->hv == hv && o->subscriber == subscriber)
			return o;
	}
	return NULL;
}

static struct topic_owner *
topic_owner_get(struct topic_tree *t, void *subscriber)
{
	struct topic_owner	*o;

	if ((o = topic_owner_find(t, subscriber)) != NULL)
		return o;
	if ((o = topic_calloc(t, 1, sizeof(*o))) == NULL)
		return NULL;
	o->link.hv = topic_ptr_hash(t, subscriber, NULL);
	o->subscriber = subscriber;
	topic_htab_insert(t, &t->owners, &o->link);
	return o;
}

static void
topic_owner_prune(struct topic_tree *t, struct topic_owner *o)
{
	if (o != NULL && o->subs == NULL) {
		topic_htab_remove(t, &t->owners, &o->link);
		free(o);
	}
}

struct topic_tree *
topic_tree_new(void)
{
	struct topic_tree	*t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if ((t->root = calloc(1, sizeof(*t->root))) == NULL ||
	    topic_htab_init(&t->edges) == -1 ||
	    topic_htab_init(&t->subs) == -1 ||
	    topic_htab_init(&t->owners) == -1)
		goto fail;
	topic_seed(t);
	return t;
fail:
	topic_tree_free(t);
	return NULL;
}

void
topic_tree_free(struct topic_tree *t)
{
	if (t == NULL)
		return;
	topic_htab_free(&t->subs, false);
	topic_htab_free(&t->owners, false);
	topic_htab_free(&t->edges, true);
	free(t->root);
	free(t);
}

int
topic_subscribe(struct topic_tree *t, const char *filter, size_t len,
    void *subscriber, uint8_t qos, bool *existed)
{
	struct topic_node	*n;
	struct topic_owner	*o = NULL;
	struct topic_sub	*s;

	if (existed != NULL)
		*existed = false;
	if (topic_filter_check(filter, len, 0) != NULL) {
		errno = EINVAL;
		return -1;
	}
	if ((n = topic_node_walk(t, filter, len, true)) == NULL)
		return -1;
	if ((s = topic_sub_find(t, n, subscriber)) != NULL) {
		/* MQTT-3.8.4-3: the new subscription replaces the old. */
		s->qos = qos;
		if (existed != NULL)
			*existed = true;
		return 0;
	}
	if ((o = topic_owner_get(t, subscriber)) == NULL)
		goto fail;
	if (n->filter == NULL) {
		if ((n->filter = topic_calloc(t, 1, len)) == NULL)
			goto fail;
		memcpy(n->filter, filter, len);
		n->filterlen = len;
	}
	if ((s = topic_calloc(t, 1, sizeof(*s))) == NULL)
		goto fail;
	s->link.hv = topic_ptr_hash(t, n, subscriber);
	s->subscriber = subscriber;
	s->node = n;
	s->owner = o;
	s->qos = qos;
	if ((s->next = n->subs) != NULL)
		s->next->prevp = &s->next;
	n->subs = s;
	s->prevp = &n->subs;
	if ((s->onext = o->subs) != NULL)
		s->onext->oprevp = &s->onext;
	o->subs = s;
	s->oprevp = &o->subs;
	topic_htab_insert(t, &t->subs, &s->link);
	return 0;
fail:
	topic_owner_prune(t, o);
	topic_node_drop_filter(n);
	topic_node_prune(t, n);
	return -1;
}

bool
topic_unsubscribe(struct topic_tree *t, const char *filter, size_t len,
    void *subscriber)
{
	struct topic_node	*n;
	struct topic_owner	*o;
	struct topic_sub	*s;

	if (topic_filter_check(filter, len, 0) != NULL ||
	    (n = topic_node_walk(t, filter, len, false)) == NULL ||
	    (s = topic_sub_find(t, n, subscriber)) == NULL)
		return false;
	o = s->owner;
	topic_sub_free(t, s);
	topic_owner_prune(t, o);
	topic_node_prune(t, n);
	return true;
}

size_t
topic_unsubscribe_all(struct topic_tree *t, void *subscriber)
{
	struct topic_owner	*o;
	struct topic_node	*n;
	size_t			 count = 0;

	if ((o = topic_owner_find(t, subscriber)) == NULL)
		return 0;
	while (o->subs != NULL) {
		n = o->subs->node;
		topic_sub_free(t, o->subs);
		topic_node_prune(t, n);
		count++;
	}
	topic_owner_prune(t, o);
	return count;
}

/* --- matching ------------------------------------------------------------ */

/* A wildcard child, unless it is the root's and the name starts with "$". */
static struct topic_node *
topic_wild(const struct topic_tree *t, const struct topic_node *n,
    struct topic_node *w, bool dollar)
{
	/* MQTT-4.7.2-1 */
	return dollar && n == t->root ? NULL : w;
}

static size_t
topic_report(const struct topic_node *n, void (*cb)(void *, uint8_t,
    const char *, size_t, void *), void *arg)
{
	struct topic_sub	*s;
	size_t			 count = 0;

	for (s = n->subs; s != NULL; s = s->next, count++)
		cb(s->subscriber, s->qos, n->filter, n->filterlen, arg);
	return count;
}

/*
 * Backtrack from n and return the next node to enter: the "+" sibling of a
 * literal node we leave.  *p is the offset of the first level of the name
 * that n has not matched; siblings share it, and it is rewound by one level
 * per step up.  Returns NULL once the root is left.  Walking back through
 * parent pointers instead of keeping a stack keeps topic_match free of
 * allocation and of recursion whatever the depth.
 */
static struct topic_node *
topic_match_up(const struct topic_tree *t, const struct topic_node *n,
    const char *name, size_t *p, bool dollar)
{
	const struct topic_node	*from;
	struct topic_node	*plus;
	size_t			 k;

	while (n != t->root) {
		from = n;
		n = n->parent;
		plus = topic_wild(t, n, n->plus, dollar);
		if (plus != NULL && plus != from)
			return plus;
		/* Level of from ends at *p - 1; find where it starts. */
		for (k = *p - 1; k > 0 && name[k - 1] != '/'; k--)
			;
		*p = k;
	}
	return NULL;
}

size_t
topic_match(const struct topic_tree *t, const char *name, size_t len,
    void (*cb)(void *, uint8_t, const char *, size_t, void *), void *arg)
{
	const struct topic_node	*n = t->root;
	struct topic_node	*c;
	const char		*e;
	size_t			 p = 0, q, count = 0;
	bool			 dollar;

	if (len == 0)
		return 0;
	dollar = name[0] == '$';
	while (n != NULL) {
		/* "#" also matches the parent level: MQTT-4.7.1-2. */
		if ((c = topic_wild(t, n, n->hash, dollar)) != NULL)
			count += topic_report(c, cb, arg);
		if (p > len) {
			count += topic_report(n, cb, arg);
			n = topic_match_up(t, n, name, &p, dollar);
			continue;
		}
		e = memchr(name + p, '/', len - p);
		q = e == NULL ? len : (size_t)(e - name);
		/* Most walks end in leaves: spare them the hashing. */
		c = NULL;
		if (n->nchildren > 0)
			c = topic_edge_find(t, n, name + p, q - p,
			    topic_level_hash(t, n, name + p, q - p));
		/* A wildcard in an invalid name must not match twice. */
		if (c == NULL || c == n->plus || c == n->hash)
			c = topic_wild(t, n, n->plus, dollar);
		if (c != NULL) {
			n = c;
			p = q + 1;
		} else
			n = topic_match_up(t, n, name, &p, dollar);
	}
	return count;
}

/* --- accessors ----------------------------------------------------------- */

size_t
topic_tree_nodes(const struct topic_tree *t)
{
	return t->edges.count;
}

size_t
topic_tree_subscriptions(const struct topic_tree *t)
{
	return t->subs.count;
}

size_t
topic_tree_subscribers(const struct topic_tree *t)
{
	return t->owners.count;
}

void
topic_tree_fail_alloc(struct topic_tree *t, unsigned long nth)
{
	t->fail_after = nth;
}
