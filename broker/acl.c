/*
 * acl.c: authorization decisions from a mosquitto-style acl_file.
 *
 * The file becomes three rule sets: global rules, one set per user (an
 * array sorted by name, found with bsearch) and patterns.  Each set keeps
 * its deny rules first, so a check scans the denies of the sets that
 * apply, then stops at the first grant.
 *
 * Patterns are not expanded into per-client strings: the matcher reads %u
 * and %c in place and compares the client's values against the topic, so
 * a check allocates nothing.  That relies on substituted values holding
 * no "/", "+" or "#", which acl_value_safe() guarantees; with those the
 * levels of a pattern are the levels of its expansion.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"
#include "acl.h"
#include "topic.h"

#define ACL_DENY	0x0	/* a rule granting nothing denies */
#define ACL_READWRITE	(ACL_READ | ACL_WRITE)

#define ACL_SUBST_U	0x1	/* a pattern uses %u */
#define ACL_SUBST_C	0x2	/* a pattern uses %c */

#define ACL_QUOTE_MAX	80	/* bytes of a file's text quoted in errors */

struct acl_rule {
	char		*filter;	/* owned, NUL-terminated */
	size_t		 len;
	unsigned	 access;	/* enum acl_access bits; ACL_DENY */
	unsigned	 subst;		/* ACL_SUBST_* of a pattern */
};

struct acl_set {
	struct acl_rule	*rule;		/* owned; denies first after load */
	size_t		 n;
	size_t		 cap;
	size_t		 ndeny;
};

struct acl_user {
	char		*name;		/* owned */
	size_t		 seq;		/* order in the file, to merge blocks */
	struct acl_set	 rules;
};

struct acl {
	struct acl_set	 global;	/* topic lines before any user line */
	struct acl_set	 patterns;
	struct acl_user	*user;		/* owned; sorted by name, unique */
	size_t		 nusers;
	size_t		 usercap;	/* while loading */
};

/* One file being read. */
struct acl_parse {
	const char	*path;
	size_t		 line;
	size_t		 errors;
	struct acl	*acl;
	/*
	 * Where topic lines go.  It may point into acl->user, which only
	 * acl_user_add() moves, and that resets it.
	 */
	struct acl_set	*cur;
};

/* One client's values for %u and %c, and which of them may be used. */
struct acl_subst {
	const char	*u;		/* NULL for anonymous clients */
	size_t		 ulen;
	const char	*c;
	size_t		 clen;
	unsigned	 safe;		/* ACL_SUBST_* */
};

/* A position in a filter or topic name, handing out one level at a time. */
struct acl_cursor {
	const char	*p;
	const char	*end;
	bool		 done;
};

enum acl_usable {
	ACL_USE,			/* substitute and match */
	ACL_SKIP,			/* does not apply to this client */
	ACL_UNSAFE,			/* needs a value that is unsafe */
};

static void	acl_error(struct acl_parse *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static char	*acl_trim(char *);
static char	*acl_word(char **);
static int	acl_access_word(const char *, unsigned *);
static unsigned	acl_subst_flags(const char *, size_t);
static struct acl_rule *acl_set_slot(struct acl_set *);
static void	acl_set_add(struct acl_set *, const char *, unsigned,
		    unsigned);
static void	acl_set_free(struct acl_set *);
static void	acl_set_finish(struct acl_set *);
static void	acl_user_add(struct acl_parse *, const char *);
static void	acl_parse_rule(struct acl_parse *, const char *, char *,
		    bool);
static void	acl_parse_line(struct acl_parse *, char *, size_t);
static int	acl_user_cmp(const void *, const void *);
static int	acl_user_key_cmp(const void *, const void *);
static void	acl_finish(struct acl *);
static const struct acl_set *acl_user_find(const struct acl *,
		    const char *);
static bool	acl_value_safe(const char *);
static void	acl_subst_init(struct acl_subst *, const char *,
		    const char *);
static enum acl_usable acl_usable(const struct acl_subst *,
		    const struct acl_rule *);
static void	acl_cursor_init(struct acl_cursor *, const char *, size_t);
static bool	acl_cursor_next(struct acl_cursor *, const char **,
		    size_t *);
static bool	acl_is_level(const char *, size_t, char);
static bool	acl_level_eq(const char *, size_t, const struct acl_subst *,
		    const char *, size_t);
static bool	acl_covers(const char *, size_t, const struct acl_subst *,
		    const char *, size_t);
static bool	acl_set_denies(const struct acl_set *,
		    const struct acl_subst *, const char *, size_t);
static bool	acl_set_grants(const struct acl_set *,
		    const struct acl_subst *, const char *, size_t, unsigned);

/* --- loading ------------------------------------------------------------- */

/*
 * Log one error as "FILE:LINE: message" and count it.  The function name
 * logged is acl_load's: the reader wants the loader, not this helper.
 */
static void
acl_error(struct acl_parse *p, const char *fmt, ...)
{
	char	 msg[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_emit(LOG_LVL_ERROR, "acl_load", 0, "%s:%zu: %s", p->path, p->line,
	    msg);
	p->errors++;
}

/* Strip blanks (and the line end) from both ends of s, in place. */
static char *
acl_trim(char *s)
{
	char	*e;

	s += strspn(s, " \t\r\n");
	e = s + strlen(s);
	while (e > s && strchr(" \t\r\n", e[-1]) != NULL)
		e--;
	*e = '\0';
	return s;
}

/*
 * Cut the next blank-separated word from *s, which must be trimmed, and
 * leave *s at the text after it with its leading blanks skipped.
 */
static char *
acl_word(char **s)
{
	char	*w = *s;
	size_t	 n;

	n = strcspn(w, " \t");
	*s = w + n;
	if (**s != '\0') {
		**s = '\0';
		(*s)++;
		*s += strspn(*s, " \t");
	}
	return w;
}

static int
acl_access_word(const char *w, unsigned *access)
{
	static const struct {
		const char	*name;
		unsigned	 access;
	} words[] = {
		{ "read", ACL_READ },
		{ "write", ACL_WRITE },
		{ "readwrite", ACL_READWRITE },
		{ "deny", ACL_DENY },
	};
	size_t	 i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(w, words[i].name) == 0) {
			*access = words[i].access;
			return 0;
		}
	return -1;
}

/*
 * Which substitutions a pattern uses.  This scan and acl_level_eq() must
 * agree: "%" followed by "u" or "c" is a substitution, any other "%" is
 * itself.
 */
static unsigned
acl_subst_flags(const char *s, size_t len)
{
	unsigned	 flags = 0;
	size_t		 i;

	for (i = 0; i + 1 < len; i++) {
		if (s[i] != '%')
			continue;
		if (s[i + 1] == 'u')
			flags |= ACL_SUBST_U;
		else if (s[i + 1] == 'c')
			flags |= ACL_SUBST_C;
		else
			continue;
		i++;
	}
	return flags;
}

/* A new, uninitialized rule at the end of set. */
static struct acl_rule *
acl_set_slot(struct acl_set *set)
{
	if (set->n == set->cap) {
		set->cap = set->cap == 0 ? 8 : set->cap * 2;
		set->rule = xreallocarray(set->rule, set->cap,
		    sizeof(*set->rule));
	}
	return &set->rule[set->n++];
}

static void
acl_set_add(struct acl_set *set, const char *filter, unsigned access,
    unsigned subst)
{
	struct acl_rule	*r;

	r = acl_set_slot(set);
	r->filter = xstrdup(filter);
	r->len = strlen(filter);
	r->access = access;
	r->subst = subst;
}

static void
acl_set_free(struct acl_set *set)
{
	size_t	 i;

	for (i = 0; i < set->n; i++)
		free(set->rule[i].filter);
	FREE(set->rule);
	set->n = set->cap = set->ndeny = 0;
}

/* Move the deny rules to the front; their order does not matter. */
static void
acl_set_finish(struct acl_set *set)
{
	struct acl_rule	 tmp;
	size_t		 i;

	set->ndeny = 0;
	for (i = 0; i < set->n; i++) {
		if (set->rule[i].access != ACL_DENY)
			continue;
		tmp = set->rule[set->ndeny];
		set->rule[set->ndeny++] = set->rule[i];
		set->rule[i] = tmp;
	}
}

/* A user line: later topic lines go to a new block, merged at the end. */
static void
acl_user_add(struct acl_parse *p, const char *name)
{
	struct acl	*acl = p->acl;
	struct acl_user	*u;

	if (acl->nusers == acl->usercap) {
		acl->usercap = acl->usercap == 0 ? 8 : acl->usercap * 2;
		acl->user = xreallocarray(acl->user, acl->usercap,
		    sizeof(*acl->user));
	}
	u = &acl->user[acl->nusers];
	memset(u, 0, sizeof(*u));
	u->name = xstrdup(name);
	u->seq = acl->nusers++;
	p->cur = &u->rules;
}

/* "topic" or "pattern": rest is the trimmed text after the keyword. */
static void
acl_parse_rule(struct acl_parse *p, const char *kw, char *rest,
    bool pattern)
{
	const char	*why;
	char		*first;
	unsigned	 access = ACL_READWRITE;

	if (*rest == '\0') {
		acl_error(p, "%s without a topic filter", kw);
		return;
	}
	first = acl_word(&rest);
	if (*rest != '\0') {
		/* Two words or more: the first one must say the access. */
		if (acl_access_word(first, &access) == -1) {
			acl_error(p, "bad access word \"%.*s\" (read, write, "
			    "readwrite or deny)", ACL_QUOTE_MAX, first);
			return;
		}
	} else if (acl_access_word(first, &access) == 0) {
		acl_error(p, "%s %s without a topic filter", kw, first);
		return;
	} else
		rest = first;

	if ((why = topic_filter_check(rest, strlen(rest), 0)) != NULL) {
		acl_error(p, "invalid topic filter \"%.*s\" (%s)",
		    ACL_QUOTE_MAX, rest, why);
		return;
	}
	if (pattern)
		acl_set_add(&p->acl->patterns, rest, access,
		    acl_subst_flags(rest, strlen(rest)));
	else
		acl_set_add(p->cur, rest, access, 0);
}

/* One line of n bytes as getline() returned it. */
static void
acl_parse_line(struct acl_parse *p, char *line, size_t n)
{
	char	*s, *kw;

	if (strlen(line) != n) {
		acl_error(p, "NUL byte in line");
		return;
	}
	s = acl_trim(line);
	if (*s == '\0' || *s == '#')
		return;
	kw = acl_word(&s);
	if (strcmp(kw, "user") == 0) {
		if (*s == '\0')
			acl_error(p, "user without a name");
		else
			acl_user_add(p, s);
	} else if (strcmp(kw, "topic") == 0)
		acl_parse_rule(p, kw, s, false);
	else if (strcmp(kw, "pattern") == 0)
		acl_parse_rule(p, kw, s, true);
	else
		acl_error(p, "unknown keyword \"%.*s\" (user, topic or "
		    "pattern)", ACL_QUOTE_MAX, kw);
}

static int
acl_user_cmp(const void *a, const void *b)
{
	const struct acl_user	*ua = a, *ub = b;
	int			 c;

	if ((c = strcmp(ua->name, ub->name)) != 0)
		return c;
	return ua->seq < ub->seq ? -1 : ua->seq > ub->seq;
}

/* Sort the users, merge blocks of the same name, put denies first. */
static void
acl_finish(struct acl *acl)
{
	struct acl_user	*keep, *u;
	size_t		 i, n = 0, j;

	if (acl->nusers > 0)
		qsort(acl->user, acl->nusers, sizeof(*acl->user),
		    acl_user_cmp);
	for (i = 0; i < acl->nusers; i++) {
		u = &acl->user[i];
		keep = n > 0 ? &acl->user[n - 1] : NULL;
		if (keep == NULL || strcmp(keep->name, u->name) != 0) {
			acl->user[n++] = *u;
			continue;
		}
		/* The filters move to the kept block; free the husk. */
		for (j = 0; j < u->rules.n; j++)
			*acl_set_slot(&keep->rules) = u->rules.rule[j];
		free(u->rules.rule);
		free(u->name);
	}
	acl->nusers = n;
	for (i = 0; i < acl->nusers; i++)
		acl_set_finish(&acl->user[i].rules);
	acl_set_finish(&acl->global);
	acl_set_finish(&acl->patterns);
}

struct acl *
acl_load(const char *path)
{
	struct acl_parse	 p;
	FILE			*fp;
	char			*line = NULL;
	size_t			 cap = 0;
	ssize_t			 n;

	if ((fp = fopen(path, "r")) == NULL) {
		log_err("%s: %s", path, strerror(errno));
		return NULL;
	}
	memset(&p, 0, sizeof(p));
	p.path = path;
	p.acl = xcalloc(1, sizeof(*p.acl));
	p.cur = &p.acl->global;
	while ((n = getline(&line, &cap, fp)) != -1) {
		p.line++;
		acl_parse_line(&p, line, (size_t)n);
	}
	if (ferror(fp)) {
		log_err("%s: read error: %s", path, strerror(errno));
		p.errors++;
	}
	free(line);
	fclose(fp);
	if (p.errors > 0) {
		acl_free(p.acl);
		return NULL;
	}
	acl_finish(p.acl);
	if (p.acl->global.n == 0 && p.acl->patterns.n == 0 &&
	    p.acl->nusers == 0)
		log_warnx("%s: no rules: every client is denied everything",
		    path);
	return p.acl;
}

void
acl_free(struct acl *acl)
{
	size_t	 i;

	if (acl == NULL)
		return;
	acl_set_free(&acl->global);
	acl_set_free(&acl->patterns);
	for (i = 0; i < acl->nusers; i++) {
		free(acl->user[i].name);
		acl_set_free(&acl->user[i].rules);
	}
	free(acl->user);
	free(acl);
}

/* --- matching ------------------------------------------------------------ */

static void
acl_cursor_init(struct acl_cursor *c, const char *s, size_t len)
{
	c->p = s;
	c->end = s + len;
	c->done = false;
}

/* The next level; "a/" has two levels and "" has one, both empty. */
static bool
acl_cursor_next(struct acl_cursor *c, const char **lvl, size_t *len)
{
	const char	*slash;

	if (c->done)
		return false;
	*lvl = c->p;
	if ((slash = memchr(c->p, '/', (size_t)(c->end - c->p))) == NULL) {
		*len = (size_t)(c->end - c->p);
		c->done = true;
	} else {
		*len = (size_t)(slash - c->p);
		c->p = slash + 1;
	}
	return true;
}

static bool
acl_is_level(const char *lvl, size_t len, char ch)
{
	return len == 1 && lvl[0] == ch;
}

/*
 * Is the rule level tl, with %u and %c read from sub (NULL: no
 * substitution), equal to the level s?
 */
static bool
acl_level_eq(const char *tl, size_t tlen, const struct acl_subst *sub,
    const char *s, size_t slen)
{
	const char	*v;
	size_t		 i = 0, j = 0, vlen;

	if (sub == NULL)
		return tlen == slen && memcmp(tl, s, tlen) == 0;
	while (i < tlen) {
		v = NULL;
		if (tl[i] == '%' && i + 1 < tlen) {
			if (tl[i + 1] == 'u') {
				v = sub->u;
				vlen = sub->ulen;
			} else if (tl[i + 1] == 'c') {
				v = sub->c;
				vlen = sub->clen;
			}
		}
		if (v != NULL) {
			if (slen - j < vlen || memcmp(s + j, v, vlen) != 0)
				return false;
			i += 2;
			j += vlen;
		} else {
			if (j == slen || s[j] != tl[i])
				return false;
			i++;
			j++;
		}
	}
	return j == slen;
}

/*
 * Does rule filter r (with substitutions from sub, or none) match every
 * topic that request s matches?  Walks both level by level: "#" in r
 * takes whatever is left of s, including nothing ("a/#" covers "a"); "+"
 * in r takes any one level of s, "+" included; a wildcard in s must meet
 * the same wildcard in r.
 */
static bool
acl_covers(const char *r, size_t rlen, const struct acl_subst *sub,
    const char *s, size_t slen)
{
	struct acl_cursor	 rc, sc;
	const char		*rl, *sl;
	size_t			 rll, sll;

	/* MQTT-4.7.2-1: a leading wildcard never reaches "$" topics. */
	if (slen > 0 && s[0] == '$' && rlen > 0 &&
	    (r[0] == '+' || r[0] == '#'))
		return false;
	acl_cursor_init(&rc, r, rlen);
	acl_cursor_init(&sc, s, slen);
	while (acl_cursor_next(&rc, &rl, &rll)) {
		if (acl_is_level(rl, rll, '#'))
			return true;
		if (!acl_cursor_next(&sc, &sl, &sll))
			return false;
		if (acl_is_level(sl, sll, '#'))
			return false;
		if (acl_is_level(rl, rll, '+'))
			continue;
		if (acl_is_level(sl, sll, '+'))
			return false;
		if (!acl_level_eq(rl, rll, sub, sl, sll))
			return false;
	}
	return !acl_cursor_next(&sc, &sl, &sll);
}

bool
acl_filter_covers(const char *outer, size_t outer_len, const char *inner,
    size_t inner_len)
{
	return acl_covers(outer, outer_len, NULL, inner, inner_len);
}

/*
 * May v be put into a pattern?  "/", "+" and "#" would change the levels
 * of the pattern; a leading "$" would reach "$SYS"-like topics from "%u/#"
 * and an empty value would make "%u/#" into "/#", shared by all such
 * clients.  Refusing costs the client access, never widens it.
 */
static bool
acl_value_safe(const char *v)
{
	return v != NULL && v[0] != '\0' && v[0] != '$' &&
	    strpbrk(v, "/+#") == NULL;
}

static void
acl_subst_init(struct acl_subst *sub, const char *username,
    const char *client_id)
{
	memset(sub, 0, sizeof(*sub));
	sub->u = username;
	sub->c = client_id;
	if (acl_value_safe(username)) {
		sub->ulen = strlen(username);
		sub->safe |= ACL_SUBST_U;
	}
	if (acl_value_safe(client_id)) {
		sub->clen = strlen(client_id);
		sub->safe |= ACL_SUBST_C;
	}
}

static enum acl_usable
acl_usable(const struct acl_subst *sub, const struct acl_rule *r)
{
	if ((r->subst & ACL_SUBST_U) && sub->u == NULL)
		return ACL_SKIP;
	if ((r->subst & ~sub->safe) != 0) {
		log_debug("not substituting user \"%s\" client \"%s\" into "
		    "pattern \"%s\"", sub->u != NULL ? sub->u : "",
		    sub->c != NULL ? sub->c : "", r->filter);
		return ACL_UNSAFE;
	}
	return ACL_USE;
}

/*
 * Does a deny rule of set cover the request?  sub is NULL for sets that
 * substitute nothing.  A pattern that needs an unsafe value counts as a
 * match: it was meant to keep this client out of something and we cannot
 * tell what.
 */
static bool
acl_set_denies(const struct acl_set *set, const struct acl_subst *sub,
    const char *topic, size_t len)
{
	const struct acl_rule	*r;
	size_t			 i;

	for (i = 0; i < set->ndeny; i++) {
		r = &set->rule[i];
		if (sub != NULL && r->subst != 0) {
			switch (acl_usable(sub, r)) {
			case ACL_SKIP:
				continue;
			case ACL_UNSAFE:
				return true;
			case ACL_USE:
				break;
			}
		}
		if (acl_covers(r->filter, r->len, r->subst != 0 ? sub : NULL,
		    topic, len))
			return true;
	}
	return false;
}

/* Does a grant of set give this access to the request? */
static bool
acl_set_grants(const struct acl_set *set, const struct acl_subst *sub,
    const char *topic, size_t len, unsigned access)
{
	const struct acl_rule	*r;
	size_t			 i;

	for (i = set->ndeny; i < set->n; i++) {
		r = &set->rule[i];
		if ((r->access & access) == 0)
			continue;
		if (sub != NULL && r->subst != 0 &&
		    acl_usable(sub, r) != ACL_USE)
			continue;
		if (acl_covers(r->filter, r->len, r->subst != 0 ? sub : NULL,
		    topic, len))
			return true;
	}
	return false;
}

static int
acl_user_key_cmp(const void *key, const void *elem)
{
	const struct acl_user	*u = elem;

	return strcmp(key, u->name);
}

static const struct acl_set *
acl_user_find(const struct acl *acl, const char *username)
{
	const struct acl_user	*u;

	if (username == NULL || acl->nusers == 0)
		return NULL;
	u = bsearch(username, acl->user, acl->nusers, sizeof(*acl->user),
	    acl_user_key_cmp);
	return u != NULL ? &u->rules : NULL;
}

bool
acl_check(const struct acl *acl, const char *username,
    const char *client_id, const char *topic, size_t topic_len,
    enum acl_access access)
{
	const struct acl_set	*user;
	struct acl_subst	 sub;

	if (acl == NULL || (access != ACL_READ && access != ACL_WRITE))
		return false;
	user = acl_user_find(acl, username);
	acl_subst_init(&sub, username, client_id);

	/* All denies first: a matching one wins wherever it comes from. */
	if (acl_set_denies(&acl->global, NULL, topic, topic_len) ||
	    (user != NULL && acl_set_denies(user, NULL, topic, topic_len)) ||
	    acl_set_denies(&acl->patterns, &sub, topic, topic_len))
		return false;
	return acl_set_grants(&acl->global, NULL, topic, topic_len, access) ||
	    (user != NULL &&
	    acl_set_grants(user, NULL, topic, topic_len, access)) ||
	    acl_set_grants(&acl->patterns, &sub, topic, topic_len, access);
}
