/*
 * conf.c: check a parsed configuration (conf_parse.c) against a key table,
 * fill in defaults, and answer lookups.
 *
 * After validation, besides what conf.h says of leaves, an object node has
 * str set to its full dotted path and key to the first table entry below
 * it; the getters use them to tell a missing key from a misspelled one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf.h"
#include "conf_parse.h"
#include "log.h"
#include "xmalloc.h"

#define CONF_MAX_SEGS	(CONF_MAX_DEPTH + 2)	/* path segments of a node */

/* Validation and defaults: the path being visited, as segments. */
struct checker {
	const struct conf_key	*keys;
	struct conf_errors	*errs;
	const char		*segs[CONF_MAX_SEGS];
	size_t			 nsegs;
};

/* How key_find compares a path with table names. */
enum key_mode {
	KEY_EXACT,	/* the path is a table key */
	KEY_BELOW,	/* the path is an object holding table keys */
};

struct unit {
	const char	*name;
	int64_t		 mult;
};

static const struct unit duration_units[] = {
	{ "ms", 1 }, { "s", 1000 }, { "m", 60 * 1000 },
	{ "h", 3600 * 1000 }, { "d", 86400 * 1000 }, { NULL, 0 },
};

static const struct unit size_units[] = {
	{ "B", 1 }, { "KB", 1024 }, { "MB", 1024 * 1024 },
	{ "GB", 1024 * 1024 * 1024 }, { NULL, 0 },
};

/* Key table. */

/*
 * Compare the n segments of a path with a table name in which "*" matches
 * any one segment.  Return 0 for an exact match, 1 when the name goes on
 * below the path, or -1 when they differ.
 */
static int
pattern_match(const char *pat, const char *const *segs, size_t n)
{
	const char *s;
	size_t i;

	for (i = 0; i < n; i++) {
		if (pat == NULL)
			return -1;
		if (pat[0] == '*' && (pat[1] == '.' || pat[1] == '\0'))
			pat++;
		else {
			for (s = segs[i]; *s != '\0' && *s == *pat; s++)
				pat++;
			if (*s != '\0' || (*pat != '.' && *pat != '\0'))
				return -1;
		}
		pat = *pat == '.' ? pat + 1 : NULL;
	}
	return pat != NULL;
}

/* The first entry from keys on that matches the path as mode says. */
static const struct conf_key *
key_find(const struct conf_key *keys, const char *const *segs, size_t n,
    enum key_mode mode)
{
	int left;

	for (; keys->name != NULL; keys++) {
		left = pattern_match(keys->name, segs, n);
		if ((mode == KEY_EXACT && left == 0) ||
		    (mode == KEY_BELOW && left > 0))
			return keys;
	}
	return NULL;
}

/* The idx-th segment of a table name, or NULL; *len is its length. */
static const char *
name_seg(const char *name, size_t idx, size_t *len)
{
	const char *dot;

	for (; idx > 0 && name != NULL; idx--)
		name = (name = strchr(name, '.')) != NULL ? name + 1 : NULL;
	if (name == NULL)
		return NULL;
	dot = strchr(name, '.');
	*len = dot != NULL ? (size_t)(dot - name) : strlen(name);
	return name;
}

/*
 * Split a dotted path in place into at most CONF_MAX_SEGS segments.
 * Return the count, or -1 for an empty segment or too many.
 */
static int
split_path(char *s, const char **segs)
{
	int i, n = 0;

	for (;;) {
		if (n == CONF_MAX_SEGS)
			return -1;
		segs[n++] = s;
		if ((s = strchr(s, '.')) == NULL)
			break;
		*s++ = '\0';
	}
	for (i = 0; i < n; i++)
		if (*segs[i] == '\0')
			return -1;
	return n;
}

const struct conf_key *
conf_key_match(const struct conf_key *keys, const char *path)
{
	const struct conf_key *k = NULL;
	const char *segs[CONF_MAX_SEGS];
	char *copy;
	int n;

	copy = xstrdup(path);
	if ((n = split_path(copy, segs)) != -1)
		k = key_find(keys, segs, n, KEY_EXACT);
	free(copy);
	return k;
}

const char *
conf_type_name(enum conf_type type)
{
	switch (type) {
	case CONF_BOOL:
		return "bool";
	case CONF_INT:
		return "int";
	case CONF_DURATION:
		return "duration";
	case CONF_SIZE:
		return "size";
	case CONF_STRING:
		return "string";
	case CONF_ENUM:
		return "enum";
	case CONF_STRLIST:
		return "list";
	case CONF_STR_OR_LIST:
		return "string or list";
	}
	return "unknown";
}

/*
 * Levenshtein distance between a and b, or SIZE_MAX when it must exceed
 * limit.  The length check first keeps a huge typed name cheap; table
 * names are short, so the two rows usually fit on the stack.
 */
static size_t
distance(const char *a, size_t alen, const char *b, size_t blen,
    size_t limit)
{
	size_t rows[2][64], *prev = rows[0], *cur = rows[1], *t, i, j, d;
	bool heap = blen >= 64;

	if ((alen > blen ? alen - blen : blen - alen) > limit)
		return SIZE_MAX;
	if (heap) {
		prev = xcalloc(blen + 1, sizeof(*prev));
		cur = xcalloc(blen + 1, sizeof(*cur));
	}
	for (j = 0; j <= blen; j++)
		prev[j] = j;
	for (i = 1; i <= alen; i++) {
		cur[0] = i;
		for (j = 1; j <= blen; j++) {
			d = prev[j - 1] + (a[i - 1] != b[j - 1]);
			if (prev[j] + 1 < d)
				d = prev[j] + 1;
			if (cur[j - 1] + 1 < d)
				d = cur[j - 1] + 1;
			cur[j] = d;
		}
		t = prev;
		prev = cur;
		cur = t;
	}
	d = prev[blen];
	if (heap) {
		free(prev);
		free(cur);
	}
	return d;
}

/*
 * The nearest known name for the last segment of the path in c, among the
 * table keys under the same parent: within 2 edits, or a third of the name
 * for long ones, but never half of it ("foo" is not a typo of "log").
 */
static bool
suggest(const struct checker *c, const char **best, size_t *blen)
{
	const struct conf_key *k;
	const char *typed = c->segs[c->nsegs - 1], *cand, *prev = NULL;
	size_t tlen = strlen(typed), clen = 0, plen = 0, limit, d;
	size_t bestd = SIZE_MAX;

	for (k = c->keys; k->name != NULL; k++) {
		if (pattern_match(k->name, c->segs, c->nsegs - 1) <= 0)
			continue;
		cand = name_seg(k->name, c->nsegs - 1, &clen);
		if (cand == NULL || (clen == 1 && *cand == '*'))
			continue;
		/* Keys under one block come together: try each name once. */
		if (prev != NULL && plen == clen &&
		    memcmp(prev, cand, clen) == 0)
			continue;
		prev = cand;
		plen = clen;
		limit = clen / 3 > 2 ? clen / 3 : 2;
		if (limit > clen / 2)
			limit = clen / 2;
		d = distance(typed, tlen, cand, clen, limit);
		if (d <= limit && d < bestd) {
			bestd = d;
			*best = cand;
			*blen = clen;
		}
	}
	return bestd != SIZE_MAX;
}

static void
unknown_key(const struct checker *c, const struct conf_node *n,
    const char *path)
{
	const char *best;
	size_t blen;

	if (suggest(c, &best, &blen))
		conf_err(c->errs, n->file, n->line, NULL,
		    "unknown key %s, did you mean %.*s?", path, (int)blen,
		    best);
	else
		conf_err(c->errs, n->file, n->line, NULL, "unknown key %s",
		    path);
}

/* Validation. */

/* "expected ..." text for a key's type; caller frees. */
static char *
expect_text(const struct conf_key *k)
{
	char *s;

	switch (k->type) {
	case CONF_BOOL:
		return xstrdup("true or false");
	case CONF_INT:
		return xstrdup("an integer like 10");
	case CONF_DURATION:
		return xstrdup("a duration like 15s");
	case CONF_SIZE:
		return xstrdup("a size like 4KB");
	case CONF_ENUM:
		xasprintf(&s, "one of %s", k->choices != NULL ?
		    k->choices : "");
		return s;
	case CONF_STRLIST:
		return xstrdup("a list like [\"a\", \"b\"]");
	case CONF_STR_OR_LIST:
		return xstrdup("a string or a list like [\"a\", \"b\"]");
	case CONF_STRING:
		break;
	}
	return xstrdup("a string");
}

/* "got ..." text for a node; caller frees. */
static char *
got_text(const struct conf_node *n)
{
	if (n->vtype == CONF_V_OBJECT)
		return xstrdup("an object");
	if (n->vtype == CONF_V_ARRAY)
		return xstrdup("a list");
	return conf_snip(n->str);
}

static void
type_error(const struct checker *c, const struct conf_node *n,
    const struct conf_key *k, const char *path, const char *extra)
{
	char *want, *got;

	want = expect_text(k);
	got = got_text(n);
	conf_err(c->errs, n->file, n->line, path, "expected %s, got %s%s",
	    want, got, extra);
	free(want);
	free(got);
}

/*
 * Decimal digits at *sp into *v, advancing *sp.  Return 0, -1 when there
 * are none, or -2 on overflow.
 */
static int
conv_digits(const char **sp, int64_t *v)
{
	const char *s = *sp;
	int64_t x = 0;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (x > (INT64_MAX - (*s - '0')) / 10)
			return -2;
		x = x * 10 + (*s - '0');
	}
	*sp = s;
	*v = x;
	return 0;
}

static int
conv_int(const char *s, int64_t *v)
{
	bool neg = *s == '-';
	int r;

	if (neg)
		s++;
	if ((r = conv_digits(&s, v)) != 0)
		return r;
	if (*s != '\0')
		return -1;
	if (neg)
		*v = -*v;
	return 0;
}

/* Digits and a unit from units (none: times bare); see conv_digits. */
static int
conv_unit(const char *s, const struct unit *units, bool icase,
    int64_t bare, int64_t *v)
{
	const struct unit *u;
	int64_t mult = bare;
	int r;

	if ((r = conv_digits(&s, v)) != 0)
		return r;
	if (*s != '\0') {
		for (u = units; u->name != NULL; u++)
			if ((icase ? strcasecmp(s, u->name) :
			    strcmp(s, u->name)) == 0)
				break;
		if (u->name == NULL)
			return -1;
		mult = u->mult;
	}
	if (*v > INT64_MAX / mult)
		return -2;
	*v *= mult;
	return 0;
}

static int
conv_bool(const char *s, int64_t *v)
{
	static const char *yes[] = { "true", "on", "yes" };
	static const char *no[] = { "false", "off", "no" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(s, yes[i]) == 0 || strcmp(s, no[i]) == 0) {
			*v = strcmp(s, yes[i]) == 0;
			return 0;
		}
	}
	return -1;
}

/* The index of s among "a|b|c". */
static int
conv_enum(const char *s, const char *choices, int64_t *v)
{
	const char *bar;
	size_t len, slen = strlen(s);
	int64_t i;

	for (i = 0; choices != NULL; i++) {
		bar = strchr(choices, '|');
		len = bar != NULL ? (size_t)(bar - choices) : strlen(choices);
		if (len == slen && memcmp(s, choices, len) == 0) {
			*v = i;
			return 0;
		}
		choices = bar != NULL ? bar + 1 : NULL;
	}
	return -1;
}

/* A bound written the way a user would: 5m, 4KB, 10.  Caller frees. */
static char *
bound_text(const struct conf_key *k, int64_t v)
{
	const struct unit *units = NULL, *u, *best = NULL;
	char *s;

	if (k->type == CONF_DURATION)
		units = duration_units;
	else if (k->type == CONF_SIZE)
		units = size_units;
	for (u = units; u != NULL && u->name != NULL; u++)
		if (v % u->mult == 0)
			best = u;
	if (best == NULL)
		xasprintf(&s, "%lld", (long long)v);
	else
		xasprintf(&s, "%lld%s", (long long)(v / best->mult),
		    best->name);
	return s;
}

/*
 * min and max bound the value (or a list's length) unless both are 0;
 * a max of 0 alone leaves it unbounded above, so a table can say "at
 * least 1" without inventing a ceiling.
 */
static void
check_bounds(const struct checker *c, const struct conf_node *n,
    const struct conf_key *k, const char *path, int64_t v)
{
	const char *what;
	char *lim;
	bool list = n->vtype == CONF_V_ARRAY;
	int64_t b;

	if (k->min == 0 && k->max == 0)
		return;
	if (v < k->min) {
		b = k->min;
		what = list ? "fewer than the minimum" : "is below the minimum";
	} else if (k->max != 0 && v > k->max) {
		b = k->max;
		what = list ? "more than the maximum" : "is above the maximum";
	} else
		return;
	lim = bound_text(k, b);
	if (list)
		conf_err(c->errs, n->file, n->line, path,
		    "the list has %lld items, %s %s", (long long)v, what, lim);
	else
		conf_err(c->errs, n->file, n->line, path, "%s %s %s", n->str,
		    what, lim);
	free(lim);
}

static void
check_scalar(const struct checker *c, struct conf_node *n,
    const struct conf_key *k, const char *path)
{
	char *s;
	int64_t v = 0;
	int r = 0;

	n->key = k;
	if (n->vtype != CONF_V_STRING) {
		type_error(c, n, k, path, "");
		return;
	}
	if (k->type == CONF_BOOL)
		r = conv_bool(n->str, &v);
	else if (k->type == CONF_INT)
		r = conv_int(n->str, &v);
	else if (k->type == CONF_DURATION)
		r = conv_unit(n->str, duration_units, false, 1000, &v);
	else if (k->type == CONF_SIZE)
		r = conv_unit(n->str, size_units, true, 1, &v);
	else if (k->type == CONF_ENUM)
		r = conv_enum(n->str, k->choices, &v);
	if (r == -1)
		type_error(c, n, k, path, "");
	else if (r == -2) {
		s = conf_snip(n->str);
		conf_err(c->errs, n->file, n->line, path, "%s is out of range",
		    s);
		free(s);
	} else {
		n->num = v;
		if (k->type == CONF_INT || k->type == CONF_DURATION ||
		    k->type == CONF_SIZE)
			check_bounds(c, n, k, path, v);
	}
}

static void
check_list(const struct checker *c, struct conf_node *n,
    const struct conf_key *k, const char *path)
{
	struct conf_node *item;
	size_t i;

	n->key = k;
	if (n->vtype == CONF_V_STRING && k->type == CONF_STR_OR_LIST) {
		/* One string stands for a list of one. */
		item = conf_node_new(CONF_V_STRING, NULL, n->file, n->line);
		item->str = n->str;
		item->quoted = n->quoted;
		n->str = NULL;
		n->quoted = false;
		n->vtype = CONF_V_ARRAY;
		conf_node_append(n, item);
	}
	if (n->vtype != CONF_V_ARRAY) {
		type_error(c, n, k, path, "");
		return;
	}
	for (i = 0; i < n->nkids; i++) {
		if (n->kids[i]->vtype != CONF_V_STRING) {
			type_error(c, n, k, path, n->kids[i]->vtype ==
			    CONF_V_OBJECT ? " of objects" : " of lists");
			return;
		}
		n->kids[i]->key = k;
	}
	n->num = (int64_t)n->nkids;
	check_bounds(c, n, k, path, n->num);
}

static void
check_leaf(const struct checker *c, struct conf_node *n,
    const struct conf_key *k, const char *path)
{
	if (k->type == CONF_STRLIST || k->type == CONF_STR_OR_LIST)
		check_list(c, n, k, path);
	else
		check_scalar(c, n, k, path);
}

/* Record an object's path and first table key, for the getters. */
static void
stamp_object(const struct checker *c, struct conf_node *obj)
{
	free(obj->str);
	obj->str = conf_join(NULL, c->segs, c->nsegs);
	obj->key = key_find(c->keys, c->segs, c->nsegs, KEY_BELOW);
}

/*
 * Check every member of obj against the table.  Recursion follows the
 * tree, whose depth the parser bounds.
 */
static void
check_object(struct checker *c, struct conf_node *obj)
{
	const struct conf_key *k;
	struct conf_node *kid;
	char *path, *got;
	size_t i;
	bool below;

	stamp_object(c, obj);
	for (i = 0; i < obj->nkids && c->nsegs < CONF_MAX_SEGS; i++) {
		kid = obj->kids[i];
		c->segs[c->nsegs++] = kid->name;
		below = key_find(c->keys, c->segs, c->nsegs, KEY_BELOW) != NULL;
		if (kid->vtype == CONF_V_OBJECT && below) {
			check_object(c, kid);
			c->nsegs--;
			continue;
		}
		path = conf_join(NULL, c->segs, c->nsegs);
		if ((k = key_find(c->keys, c->segs, c->nsegs,
		    KEY_EXACT)) != NULL)
			check_leaf(c, kid, k, path);
		else if (below) {
			got = got_text(kid);
			conf_err(c->errs, kid->file, kid->line, path,
			    "expected an object ({ ... }), got %s", got);
			free(got);
		} else
			unknown_key(c, kid, path);
		free(path);
		c->nsegs--;
	}
}

/* Defaults. */

/*
 * Parse and check every default once.  A broken one is a bug in the
 * table, reported as "<defaults>:1: name: ...".  Return one template per
 * key, NULL for keys without a default.
 */
static struct conf_node **
defaults_parse(const struct checker *c, size_t nkeys)
{
	struct conf_node **tmpl;
	const struct conf_key *k;
	size_t i;

	tmpl = xcalloc(nkeys, sizeof(*tmpl));
	for (i = 0; i < nkeys; i++) {
		k = &c->keys[i];
		if (k->def == NULL ||
		    (tmpl[i] = conf_parse_default(k, c->errs)) == NULL)
			continue;
		check_leaf(c, tmpl[i], k, k->name);
	}
	return tmpl;
}

/*
 * Add tmpl under obj at the rest of a table name, pat.  Literal segments
 * are created unless a "*" follows them; a "*" visits every existing
 * object, so listener keys are added once per listener, and none appear
 * for a wildcard without instances.
 */
static void
defaults_add(struct checker *c, struct conf_node *obj, const char *pat,
    const struct conf_node *tmpl)
{
	struct conf_node *kid;
	const char *dot = strchr(pat, '.');
	size_t i, len = dot != NULL ? (size_t)(dot - pat) : strlen(pat);
	bool star = len == 1 && *pat == '*';

	if (dot == NULL) {
		if (!star && conf_node_kid(obj, pat, len) == NULL) {
			kid = conf_node_clone(tmpl);
			kid->name = xstrndup(pat, len);
			conf_node_append(obj, kid);
		}
		return;
	}
	if (c->nsegs == CONF_MAX_SEGS)
		return;
	for (i = 0; star && i < obj->nkids; i++) {
		if (obj->kids[i]->vtype != CONF_V_OBJECT)
			continue;
		c->segs[c->nsegs++] = obj->kids[i]->name;
		defaults_add(c, obj->kids[i], dot + 1, tmpl);
		c->nsegs--;
	}
	if (star)
		return;
	if ((kid = conf_node_kid(obj, pat, len)) == NULL) {
		if (strchr(dot + 1, '*') != NULL)
			return;
		kid = conf_node_new(CONF_V_OBJECT, xstrndup(pat, len),
		    CONF_DEFAULTS, 0);
		conf_node_append(obj, kid);
		c->segs[c->nsegs++] = kid->name;
		stamp_object(c, kid);
	} else
		c->segs[c->nsegs++] = kid->name;
	if (kid->vtype == CONF_V_OBJECT)
		defaults_add(c, kid, dot + 1, tmpl);
	c->nsegs--;
}

/* Public interface. */

static void
conf_toolarge(struct conf_errors *errs, const char *name)
{
	conf_err(errs, name, 0, NULL, "larger than the limit of %d bytes",
	    CONF_MAX_FILE);
}

/* The steps after parsing: check, then add defaults.  Return 0 or -1. */
static int
conf_check(struct conf *cf, struct conf_errors *errs)
{
	struct checker c;
	struct conf_node **tmpl;
	size_t i, nerr = errs->n;

	memset(&c, 0, sizeof(c));
	c.keys = cf->keys;
	c.errs = errs;
	check_object(&c, cf->root);
	if (errs->n > nerr)
		return -1;
	tmpl = defaults_parse(&c, cf->nkeys);
	for (i = 0; i < cf->nkeys && errs->n == nerr; i++) {
		if (tmpl[i] == NULL)
			continue;
		c.nsegs = 0;
		defaults_add(&c, cf->root, cf->keys[i].name, tmpl[i]);
	}
	for (i = 0; i < cf->nkeys; i++)
		conf_node_free(tmpl[i]);
	free(tmpl);
	return errs->n > nerr ? -1 : 0;
}

struct conf *
conf_parse(const char *name, const char *buf, size_t len,
    const struct conf_key *keys, struct conf_errors *errs)
{
	static const struct conf_key nokeys[] = { { .name = NULL } };
	struct conf_errors local = { NULL, 0 };
	struct conf *cf = NULL;
	const char *nul;
	size_t nerr;
	int line;

	if (name == NULL)
		name = "<config>";
	if (errs == NULL)
		errs = &local;
	nerr = errs->n;
	if (len > CONF_MAX_FILE) {
		conf_toolarge(errs, name);
		goto fail;
	}
	if (len > 0 && (nul = memchr(buf, '\0', len)) != NULL) {
		for (line = 1; buf < nul; buf++)
			line += *buf == '\n';
		conf_err(errs, name, line, NULL, "NUL byte in the file");
		goto fail;
	}
	cf = xcalloc(1, sizeof(*cf));
	cf->file = xstrdup(name);
	cf->keys = keys != NULL ? keys : nokeys;
	while (cf->keys[cf->nkeys].name != NULL)
		cf->nkeys++;
	cf->root = conf_node_new(CONF_V_OBJECT, NULL, cf->file, 1);
	if (conf_parse_text(cf->root, cf->file, buf, len, errs) == -1 ||
	    errs->n > nerr ||
	    conf_check(cf, errs) == -1)
		goto fail;
	conf_errors_free(&local);
	return cf;
fail:
	conf_free(cf);
	conf_errors_free(&local);
	return NULL;
}

struct conf *
conf_load(const char *path, const struct conf_key *keys,
    struct conf_errors *errs)
{
	struct conf_errors local = { NULL, 0 };
	struct conf *cf = NULL;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd;

	if (errs == NULL)
		errs = &local;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		conf_err(errs, path, 0, NULL, "cannot read: %s",
		    strerror(errno));
		goto fail;
	}
	for (;;) {
		/* Read one byte past the limit to notice a larger file. */
		if (len == cap) {
			if (cap > CONF_MAX_FILE) {
				conf_toolarge(errs, path);
				goto fail;
			}
			cap = cap == 0 ? 8192 : cap * 2;
			if (cap > CONF_MAX_FILE + 1)
				cap = CONF_MAX_FILE + 1;
			buf = xreallocarray(buf, cap, 1);
		}
		if ((n = read(fd, buf + len, cap - len)) == -1) {
			if (errno == EINTR)
				continue;
			conf_err(errs, path, 0, NULL, "cannot read: %s",
			    strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += n;
	}
	cf = conf_parse(path, buf, len, keys, errs);
fail:
	if (fd != -1)
		close(fd);
	free(buf);
	conf_errors_free(&local);
	return cf;
}

void
conf_free(struct conf *cf)
{
	if (cf == NULL)
		return;
	conf_node_free(cf->root);
	free(cf->file);
	free(cf);
}

void
conf_errors_free(struct conf_errors *errs)
{
	size_t i;

	if (errs == NULL)
		return;
	for (i = 0; i < errs->n; i++)
		free(errs->msg[i]);
	free(errs->msg);
	errs->msg = NULL;
	errs->n = 0;
}

/* Getters. */

/*
 * The table entry for path below base when it is absent from the tree.
 * base->str and base->key (stamp_object) give the full path and where the
 * table entries below base start.  A path the table does not know is a
 * typo in the calling code: fatal.  So is a block where want_leaf.
 */
static const struct conf_key *
lookup_key(const struct conf_node *base, const char *path, bool want_leaf)
{
	const struct conf_key *k;
	const char *segs[CONF_MAX_SEGS];
	const char *pre;
	char *full;
	int n;

	if (base->vtype != CONF_V_OBJECT || base->key == NULL)
		return NULL;
	pre = base->str != NULL ? base->str : "";
	xasprintf(&full, "%s%s%s", pre, *pre != '\0' ? "." : "", path);
	n = split_path(full, segs);
	k = n == -1 ? NULL : key_find(base->key, segs, n, KEY_EXACT);
	if (k == NULL && (want_leaf || n == -1 ||
	    key_find(base->key, segs, n, KEY_BELOW) == NULL))
		fatalx("%s%s%s: not a configuration key%s", pre,
		    *pre != '\0' ? "." : "", path, want_leaf ? " with a value" :
		    "");
	free(full);
	return k;
}

/*
 * Walk a dotted path below base.  Return the node or NULL when absent;
 * *kp is the path's table entry when it is a leaf.
 */
static const struct conf_node *
lookup(const struct conf_node *base, const char *path, bool want_leaf,
    const struct conf_key **kp)
{
	const struct conf_node *cur = base;
	const char *s = path, *dot;
	size_t len;

	*kp = NULL;
	if (base == NULL || path == NULL)
		return NULL;
	for (;;) {
		dot = strchr(s, '.');
		len = dot != NULL ? (size_t)(dot - s) : strlen(s);
		if (cur->vtype != CONF_V_OBJECT ||
		    (cur = conf_node_kid(cur, s, len)) == NULL)
			break;
		if (dot == NULL) {
			if (cur->vtype != CONF_V_OBJECT)
				*kp = cur->key;
			else if (want_leaf)
				fatalx("%s: is a block, not a value", path);
			return cur;
		}
		s = dot + 1;
	}
	*kp = lookup_key(base, path, want_leaf);
	return NULL;
}

/* A typed getter's check: the key's type must be one in mask. */
static void
want_type(const struct conf_key *k, const char *path, unsigned mask,
    const char *what)
{
	if (k != NULL && (mask & (1U << k->type)) == 0)
		fatalx("%s: is a %s key, read as %s", path,
		    conf_type_name(k->type), what);
}

#define T(t)		(1U << (t))
#define CONF_SCALARS	(T(CONF_BOOL) | T(CONF_INT) | T(CONF_DURATION) | \
			    T(CONF_SIZE) | T(CONF_STRING) | T(CONF_ENUM))
#define CONF_LISTS	(T(CONF_STRLIST) | T(CONF_STR_OR_LIST))

const struct conf_node *
conf_find(const struct conf_node *base, const char *path)
{
	const struct conf_key *k;

	return lookup(base, path, false, &k);
}

bool
conf_bool(const struct conf_node *base, const char *path)
{
	const struct conf_node *n;
	const struct conf_key *k;

	n = lookup(base, path, true, &k);
	want_type(k, path, T(CONF_BOOL), "a bool");
	return n != NULL && n->num != 0;
}

int64_t
conf_num(const struct conf_node *base, const char *path)
{
	const struct conf_node *n;
	const struct conf_key *k;

	n = lookup(base, path, true, &k);
	want_type(k, path, CONF_SCALARS & ~T(CONF_STRING), "a number");
	return n != NULL ? n->num : 0;
}

const char *
conf_str(const struct conf_node *base, const char *path)
{
	const struct conf_node *n;
	const struct conf_key *k;

	n = lookup(base, path, true, &k);
	want_type(k, path, CONF_SCALARS, "a string");
	return n != NULL && n->vtype == CONF_V_STRING ? n->str : NULL;
}

size_t
conf_len(const struct conf_node *base, const char *path)
{
	const struct conf_node *n;
	const struct conf_key *k;

	n = lookup(base, path, true, &k);
	want_type(k, path, CONF_LISTS, "a list");
	return n != NULL && n->vtype == CONF_V_ARRAY ? n->nkids : 0;
}

const char *
conf_item(const struct conf_node *base, const char *path, size_t i)
{
	const struct conf_node *n;
	const struct conf_key *k;

	n = lookup(base, path, true, &k);
	want_type(k, path, CONF_LISTS, "a list");
	if (n == NULL || n->vtype != CONF_V_ARRAY || i >= n->nkids)
		return NULL;
	return n->kids[i]->str;
}
