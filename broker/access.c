/*
 * access.c: listener access rules by client address (see access.h).
 *
 * Rules are compiled once into masked integers in host order, IPv4 as one
 * 32-bit word and IPv6 as two 64-bit words, so that checking a connection
 * costs an AND and a compare or two per rule and allocates nothing.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"

#include "access.h"

/* Longer than any address with a prefix ("ffff:...:255.255.255.255/128"). */
#define ACCESS_TARGET_MAX	64
#define ACCESS_MAPPED_BITS	96	/* ::ffff:0:0/96 holds IPv4 */

enum access_kind {
	ACCESS_ALL,
	ACCESS_V4,
	ACCESS_V6,
	ACCESS_OTHER			/* a client only "all" matches */
};

/* Whether an item gave a verb, for items after it that do not. */
enum access_verb {
	ACCESS_VERB_NONE,
	ACCESS_VERB_DENY,
	ACCESS_VERB_ALLOW
};

/*
 * A compiled rule.  A client address is kept in the same form, as the
 * rule that matches just it, so that matching compares like with like.
 */
struct access_rule {
	enum access_kind	 kind;
	bool			 allow;
	uint32_t		 net4;		/* already masked */
	uint32_t		 mask4;
	uint64_t		 net6[2];	/* high word first */
	uint64_t		 mask6[2];
};

struct access_rules {
	struct access_rule	*rule;		/* owned; n of them */
	size_t			 n;
};

static bool	 is_blank(char);
static size_t	 next_word(const char *, size_t, size_t *);
static uint64_t	 get64(const uint8_t *);
static uint64_t	 mask64(unsigned int);
static void	 set_v4(struct access_rule *, const uint8_t *, unsigned int);
static void	 set_v6(struct access_rule *, const uint8_t *, unsigned int);
static const char *parse_prefix(const char *, unsigned int, unsigned int *);
static const char *parse_target(const char *, size_t, struct access_rule *);
static const char *parse_item(const char *, size_t, enum access_verb *,
		    struct access_rule *);
static const char *parse_string(struct access_rules *, const char *);
static size_t	 count_items(const char *const *, size_t);
static void	 client_key(const struct sockaddr *, struct access_rule *);
static bool	 rule_matches(const struct access_rule *,
		    const struct access_rule *);

/* --- compiling ----------------------------------------------------------- */

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * The next blank-separated word of s[0..len) from *pos: returns its
 * length (0 at the end) and leaves *pos at its first byte.
 */
static size_t
next_word(const char *s, size_t len, size_t *pos)
{
	size_t	 i = *pos, n = 0;

	while (i < len && is_blank(s[i]))
		i++;
	*pos = i;
	while (i + n < len && !is_blank(s[i + n]))
		n++;
	return n;
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t	 v = 0;
	int		 i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* The top bits of a 64-bit word; shifting by 64 is undefined in C. */
static uint64_t
mask64(unsigned int bits)
{
	if (bits == 0)
		return 0;
	if (bits >= 64)
		return UINT64_MAX;
	return UINT64_MAX << (64 - bits);
}

static void
set_v4(struct access_rule *r, const uint8_t *a, unsigned int bits)
{
	uint32_t	 v;

	v = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 |
	    (uint32_t)a[2] << 8 | a[3];
	r->kind = ACCESS_V4;
	r->mask4 = bits == 0 ? 0 : UINT32_MAX << (32 - bits);
	r->net4 = v & r->mask4;
}

static void
set_v6(struct access_rule *r, const uint8_t *a, unsigned int bits)
{
	r->kind = ACCESS_V6;
	r->mask6[0] = mask64(bits);
	r->mask6[1] = bits > 64 ? mask64(bits - 64) : 0;
	r->net6[0] = get64(a) & r->mask6[0];
	r->net6[1] = get64(a + 8) & r->mask6[1];
}

/* "8", "24", "128": decimal, no sign, at most max. */
static const char *
parse_prefix(const char *s, unsigned int max, unsigned int *bits)
{
	unsigned int	 v = 0;
	size_t		 i;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i == 3)
			return "bad prefix length";
		v = v * 10 + (unsigned int)(s[i] - '0');
	}
	if (i == 0)
		return "bad prefix length";
	if (v > max)
		return "prefix length out of range";
	*bits = v;
	return NULL;
}

/* "all", an address, or address/prefix into r. */
static const char *
parse_target(const char *s, size_t len, struct access_rule *r)
{
	char		 buf[ACCESS_TARGET_MAX];
	struct in_addr	 a4;
	struct in6_addr	 a6;
	char		*slash;
	unsigned int	 bits, max;
	const char	*why;

	if (len == 3 && memcmp(s, "all", 3) == 0) {
		r->kind = ACCESS_ALL;
		return NULL;
	}
	if (len >= sizeof(buf))
		return "bad address";
	memcpy(buf, s, len);
	buf[len] = '\0';
	if ((slash = strchr(buf, '/')) != NULL)
		*slash = '\0';

	if (inet_pton(AF_INET, buf, &a4) == 1)
		max = 32;
	else if (inet_pton(AF_INET6, buf, &a6) == 1)
		max = 128;
	else
		return "bad address";
	bits = max;
	if (slash != NULL && (why = parse_prefix(slash + 1, max, &bits)))
		return why;

	if (max == 32)
		set_v4(r, (const uint8_t *)&a4, bits);
	else if (IN6_IS_ADDR_V4MAPPED(&a6) && bits >= ACCESS_MAPPED_BITS)
		set_v4(r, a6.s6_addr + 12, bits - ACCESS_MAPPED_BITS);
	else
		set_v6(r, a6.s6_addr, bits);
	return NULL;
}

/*
 * One comma-separated item: "verb target", or "target" alone after an
 * earlier item of the same string gave *verb.
 */
static const char *
parse_item(const char *s, size_t len, enum access_verb *verb,
    struct access_rule *r)
{
	size_t	 pos = 0, w1, p1, w2, p2;

	w1 = next_word(s, len, &pos);
	p1 = pos;
	pos += w1;
	w2 = next_word(s, len, &pos);
	p2 = pos;
	pos += w2;
	if (w1 == 0)
		return "empty rule";
	if (next_word(s, len, &pos) != 0)
		return "unexpected text after the address";

	if (w1 == 5 && memcmp(s + p1, "allow", 5) == 0)
		*verb = ACCESS_VERB_ALLOW;
	else if (w1 == 4 && memcmp(s + p1, "deny", 4) == 0)
		*verb = ACCESS_VERB_DENY;
	else if (w2 != 0)
		return "unknown verb, want allow or deny";
	else if (*verb == ACCESS_VERB_NONE)
		return "no allow or deny before the address";
	else {
		/* A bare target continues the previous verb. */
		w2 = w1;
		p2 = p1;
	}
	if (w2 == 0)
		return "no address after allow or deny";
	r->allow = *verb == ACCESS_VERB_ALLOW;
	return parse_target(s + p2, w2, r);
}

static const char *
parse_string(struct access_rules *ar, const char *s)
{
	const char		*comma, *why;
	enum access_verb	 verb = ACCESS_VERB_NONE;
	size_t			 len;

	if (s == NULL)
		return "empty rule";
	for (;;) {
		comma = strchr(s, ',');
		len = comma != NULL ? (size_t)(comma - s) : strlen(s);
		if ((why = parse_item(s, len, &verb, &ar->rule[ar->n])) != NULL)
			return why;
		ar->n++;
		if (comma == NULL)
			return NULL;
		s = comma + 1;
	}
}

/* An upper bound: one item per string, plus one per comma. */
static size_t
count_items(const char *const *rules, size_t n)
{
	const char	*p;
	size_t		 i, count = 0;

	for (i = 0; i < n; i++) {
		count++;
		for (p = rules[i]; p != NULL && *p != '\0'; p++)
			if (*p == ',')
				count++;
	}
	return count;
}

struct access_rules *
access_rules_new(const char *const *rules, size_t n, const char *listener)
{
	struct access_rules	*ar;
	const char		*why;
	size_t			 i;

	ar = xcalloc(1, sizeof(*ar));
	ar->rule = xcalloc(count_items(rules, n) + 1, sizeof(*ar->rule));
	for (i = 0; i < n; i++) {
		if ((why = parse_string(ar, rules[i])) != NULL) {
			log_err("listener %s: access rule \"%s\": %s",
			    listener != NULL ? listener : "?",
			    rules[i] != NULL ? rules[i] : "", why);
			goto fail;
		}
	}
	return ar;
fail:
	access_rules_free(ar);
	return NULL;
}

void
access_rules_free(struct access_rules *ar)
{
	if (ar == NULL)
		return;
	free(ar->rule);
	free(ar);
}

/* --- matching ------------------------------------------------------------ */

/*
 * The client as a /32 or /128 "rule", IPv4-mapped IPv6 as IPv4.  The
 * address is copied out, so a caller's sockaddr need not be aligned.
 */
static void
client_key(const struct sockaddr *sa, struct access_rule *c)
{
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;

	memset(c, 0, sizeof(*c));
	c->kind = ACCESS_OTHER;
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		memcpy(&sin, sa, sizeof(sin));
		set_v4(c, (const uint8_t *)&sin.sin_addr, 32);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(&sin6, sa, sizeof(sin6));
		if (IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr))
			set_v4(c, sin6.sin6_addr.s6_addr + 12, 32);
		else
			set_v6(c, sin6.sin6_addr.s6_addr, 128);
	}
}

static bool
rule_matches(const struct access_rule *r, const struct access_rule *c)
{
	switch (r->kind) {
	case ACCESS_ALL:
		return true;
	case ACCESS_V4:
		return c->kind == ACCESS_V4 && (c->net4 & r->mask4) == r->net4;
	case ACCESS_V6:
		return c->kind == ACCESS_V6 &&
		    (c->net6[0] & r->mask6[0]) == r->net6[0] &&
		    (c->net6[1] & r->mask6[1]) == r->net6[1];
	default:
		return false;
	}
}

bool
access_allowed(const struct access_rules *ar, const struct sockaddr *sa)
{
	struct access_rule	 c;
	size_t			 i;

	if (ar == NULL)
		return true;
	client_key(sa, &c);
	for (i = 0; i < ar->n; i++)
		if (rule_matches(&ar->rule[i], &c))
			return ar->rule[i].allow;
	/* No rule matched: allow, as esockd does (see access.h). */
	return true;
}
