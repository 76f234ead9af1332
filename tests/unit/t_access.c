/*
 * t_access.c: listener access rule tests.  Rule syntax and semantics
 * follow EMQX (emqx_schema access_rules_converter/validator, esockd_access
 * and esockd_cidr); the order test is esockd's own access_match case.
 * Refused rules must log one error naming the listener, the rule and the
 * reason.  Random networks are checked against a bit-by-bit matcher.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "broker/access.h"

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))
#define LISTENER	"ssl:default"
#define RANDOM_RULES	20000

struct probe {
	const char	*rule;
	const char	*addr;		/* "unix" for an AF_UNIX client */
	bool		 allowed;
};

struct bad {
	const char	*rule;
	const char	*why;
};

static char	 logged[4096];

/* --- helpers ------------------------------------------------------------- */

static void
sa_of(const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_un	*sun = (struct sockaddr_un *)ss;

	memset(ss, 0, sizeof(*ss));
	if (strcmp(s, "unix") == 0) {
		sun->sun_family = AF_UNIX;
		strncpy(sun->sun_path, "/tmp/x", sizeof(sun->sun_path) - 1);
	} else if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(1883);
	} else {
		if (inet_pton(AF_INET6, s, &sin6->sin6_addr) != 1)
			fail_msg("test address %s", s);
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(1883);
	}
}

static bool
allowed(const struct access_rules *ar, const char *addr)
{
	struct sockaddr_storage	 ss;

	sa_of(addr, &ss);
	return access_allowed(ar, (struct sockaddr *)&ss);
}

/* access_rules_new() with stderr caught in logged[]. */
static struct access_rules *
new_logged_for(const char *const *rules, size_t n, const char *listener)
{
	struct access_rules	*ar;
	FILE			*tmp;
	size_t			 len;
	int			 saved;

	assert_non_null(tmp = tmpfile());
	fflush(stderr);
	assert_true((saved = dup(STDERR_FILENO)) != -1);
	assert_true(dup2(fileno(tmp), STDERR_FILENO) != -1);
	ar = access_rules_new(rules, n, listener);
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) != -1);
	close(saved);
	rewind(tmp);
	len = fread(logged, 1, sizeof(logged) - 1, tmp);
	logged[len] = '\0';
	fclose(tmp);
	return ar;
}

static struct access_rules *
new_logged(const char *const *rules, size_t n)
{
	return new_logged_for(rules, n, LISTENER);
}

static struct access_rules *
new_ok(const char *const *rules, size_t n)
{
	struct access_rules	*ar;

	ar = new_logged(rules, n);
	if (ar == NULL)
		fail_msg("refused: %s", logged);
	assert_string_equal(logged, "");
	return ar;
}

static void
check_probes(const struct probe *p, size_t n)
{
	struct access_rules	*ar;
	size_t			 i;

	for (i = 0; i < n; i++) {
		ar = new_ok(&p[i].rule, 1);
		if (allowed(ar, p[i].addr) != p[i].allowed)
			fail_msg("\"%s\" with %s: want %s", p[i].rule,
			    p[i].addr, p[i].allowed ? "allow" : "deny");
		access_rules_free(ar);
	}
}

/* xorshift64*: the same sequence on every run. */
static uint64_t
rnd(void)
{
	static uint64_t	 x = 0x9e3779b97f4a7c15ULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	return x * 0x2545f4914f6cdd1dULL;
}

static bool
same_bits(const uint8_t *a, const uint8_t *b, unsigned int bits)
{
	unsigned int	 i;

	for (i = 0; i < bits; i++)
		if (((a[i / 8] >> (7 - i % 8)) & 1) !=
		    ((b[i / 8] >> (7 - i % 8)) & 1))
			return false;
	return true;
}

/* --- tests --------------------------------------------------------------- */

static void
t_parse_good(void **state)
{
	static const struct probe	 p[] = {
		{ "allow all", "1.2.3.4", true },
		{ "deny all", "1.2.3.4", false },
		{ "deny all", "::1", false },
		{ "deny all", "unix", false },
		{ "deny 10.0.0.0/8", "10.255.0.1", false },
		{ "deny 10.0.0.0/8", "9.255.255.255", true },
		{ "deny 10.0.0.0/8", "11.0.0.0", true },
		{ "deny 192.168.1.5", "192.168.1.5", false },
		{ "deny 192.168.1.5", "192.168.1.4", true },
		{ "deny 192.168.1.5/32", "192.168.1.5", false },
		{ "deny 192.168.1.5/31", "192.168.1.4", false },
		{ "deny 192.168.1.5/31", "192.168.1.6", true },
		{ "deny 0.0.0.0/0", "255.255.255.255", false },
		{ "deny 0.0.0.0/0", "0.0.0.0", false },
		{ "deny 2001:db8::/32", "2001:db8:ffff::1", false },
		{ "deny 2001:db8::/32", "2001:db9::", true },
		{ "deny 2001:db8::/64", "2001:db8::ffff:ffff:ffff:ffff",
		    false },
		{ "deny 2001:db8::/64", "2001:db8:0:1::", true },
		{ "deny 2001:db8::/65", "2001:db8::7fff:ffff:ffff:ffff",
		    false },
		{ "deny 2001:db8::/65", "2001:db8::8000:0:0:0", true },
		{ "deny 2001:db8::1/127", "2001:db8::", false },
		{ "deny 2001:db8::1/127", "2001:db8::2", true },
		{ "deny ::1", "::1", false },
		{ "deny ::1", "::2", true },
		{ "deny ::1/128", "::1", false },
		{ "deny ::/0", "ffff::1", false },
		{ "deny 10.0.0.0/08", "10.1.1.1", false },
		/* Blanks around and between the words. */
		{ "  deny\t \t10.0.0.0/8 \t", "10.1.1.1", false },
		/* Host bits are cleared, as esockd_cidr:parse(S, true). */
		{ "deny 10.1.2.3/8", "10.200.0.0", false },
		{ "deny 2001:db8::1/32", "2001:db8:1::", false },
		/* Several rules in one string, as EMQX. */
		{ "allow 10.0.1.0/24, deny all", "10.0.1.9", true },
		{ "allow 10.0.1.0/24, deny all", "10.0.2.9", false },
		{ "allow 10.0.1.0/24,deny all", "10.0.2.9", false },
		/* Several addresses for one verb (beyond EMQX). */
		{ "deny 10.0.0.1, 10.0.0.2", "10.0.0.1", false },
		{ "deny 10.0.0.1, 10.0.0.2", "10.0.0.2", false },
		{ "deny 10.0.0.1, 10.0.0.2", "10.0.0.3", true },
		{ "deny 10.0.0.1,10.0.0.2,::1", "::1", false },
		{ "deny 10.0.0.1, all", "8.8.8.8", false },
		{ "deny 10.0.0.1, allow 10.0.0.2, 10.0.0.3, deny all",
		    "10.0.0.3", true },
		{ "deny 10.0.0.1, allow 10.0.0.2, 10.0.0.3, deny all",
		    "10.0.0.4", false },
	};

	(void)state;
	check_probes(p, NITEMS(p));
}

static void
t_parse_bad(void **state)
{
	static const struct bad	 b[] = {
		{ "", "empty rule" },
		{ " \t ", "empty rule" },
		{ "allow", "no address after allow or deny" },
		{ "deny ", "no address after allow or deny" },
		{ "permit all", "unknown verb" },
		{ "Allow all", "unknown verb" },
		{ "DENY all", "unknown verb" },
		{ "allowall", "no allow or deny" },
		{ "10.0.0.1", "no allow or deny" },
		{ "all", "no allow or deny" },
		{ "allow 10.0.0.0/33", "prefix length out of range" },
		{ "allow ::/129", "prefix length out of range" },
		{ "allow 10.0.0.0/", "bad prefix length" },
		{ "allow 10.0.0.0/-1", "bad prefix length" },
		{ "allow 10.0.0.0/+8", "bad prefix length" },
		{ "allow 10.0.0.0/8x", "bad prefix length" },
		{ "allow 10.0.0.0/8/8", "bad prefix length" },
		{ "allow 10.0.0.0/0008", "bad prefix length" },
		{ "allow ::/0x10", "bad prefix length" },
		{ "allow /8", "bad address" },
		{ "allow 256.0.0.0", "bad address" },
		{ "allow 10.0.0", "bad address" },
		{ "allow 010.0.0.1", "bad address" },
		{ "allow host.example", "bad address" },
		{ "allow fe80::1%eth0", "bad address" },
		{ "allow [::1]", "bad address" },
		{ "allow ALL", "bad address" },
		{ "allow all0", "bad address" },
		{ "allow 1111:2222:3333:4444:5555:6666:7777:8888:9999:0000:"
		    "aaaa:bbbb:cccc:dddd", "bad address" },
		{ "allow 10.0.0.1 10.0.0.2", "unexpected text" },
		{ "allow 10.0.0.0/ 8", "unexpected text" },
		{ "allow all deny all", "unexpected text" },
		{ "allow all,", "empty rule" },
		{ ",allow all", "empty rule" },
		{ "allow 10.0.0.1,,10.0.0.2", "empty rule" },
		{ "allow 10.0.0.1, , 10.0.0.2", "empty rule" },
		{ "allow 10.0.0.1, alow 10.0.0.2", "unknown verb" },
		{ "allow 10.0.0.1; deny all", "unexpected text" },
	};
	struct access_rules	*ar;
	char			 want[256];
	size_t			 i;

	(void)state;
	for (i = 0; i < NITEMS(b); i++) {
		ar = new_logged(&b[i].rule, 1);
		if (ar != NULL)
			fail_msg("\"%s\" accepted", b[i].rule);
		snprintf(want, sizeof(want), "error access_rules_new: "
		    "listener " LISTENER ": access rule \"%s\": ", b[i].rule);
		if (strstr(logged, want) == NULL ||
		    strstr(logged, b[i].why) == NULL)
			fail_msg("\"%s\": want \"%s...%s\", logged \"%s\"",
			    b[i].rule, want, b[i].why, logged);
		/* One line, one event. */
		assert_ptr_equal(strchr(logged, '\n'),
		    logged + strlen(logged) - 1);
	}
}

/* A bad rule anywhere refuses the whole list, and names that rule. */
static void
t_parse_bad_in_list(void **state)
{
	static const char	*rules[] = {
		"allow 10.0.0.0/8", "deny 192.168.1.0/24", "deny 300.1.1.1",
		"deny all",
	};
	static const char	*null_rule[] = { "allow all", NULL };

	(void)state;
	assert_null(new_logged(rules, NITEMS(rules)));
	assert_non_null(strstr(logged, "\"deny 300.1.1.1\": bad address"));
	assert_null(strstr(logged, "192.168"));
	assert_null(new_logged(null_rule, NITEMS(null_rule)));
	assert_non_null(strstr(logged, "empty rule"));
	assert_null(new_logged_for(rules, NITEMS(rules), NULL));
	assert_non_null(strstr(logged, "listener ?: access rule"));
}

/* esockd's access_match case, and the same rules in other shapes. */
static void
t_first_match(void **state)
{
	static const char	*esockd[] = {
		"deny 192.168.1.1", "allow 192.168.1.0/24", "deny all",
	};
	static const char	*one[] = {
		"deny 192.168.1.1, allow 192.168.1.0/24, deny all",
	};
	static const char	*reversed[] = {
		"deny all", "allow 192.168.1.0/24", "deny 192.168.1.1",
	};
	static const char	*shadow[] = { "allow all", "deny 10.0.0.1" };
	static const char	*localhost[] = { "allow 127.0.0.1", "deny all" };
	struct access_rules	*ar;

	(void)state;
	ar = new_ok(esockd, NITEMS(esockd));
	assert_false(allowed(ar, "192.168.1.1"));
	assert_true(allowed(ar, "192.168.1.4"));
	assert_true(allowed(ar, "192.168.1.60"));
	assert_false(allowed(ar, "10.10.10.10"));
	access_rules_free(ar);

	ar = new_ok(one, NITEMS(one));
	assert_false(allowed(ar, "192.168.1.1"));
	assert_true(allowed(ar, "192.168.1.4"));
	assert_false(allowed(ar, "10.10.10.10"));
	access_rules_free(ar);

	ar = new_ok(reversed, NITEMS(reversed));
	assert_false(allowed(ar, "192.168.1.4"));
	access_rules_free(ar);

	ar = new_ok(shadow, NITEMS(shadow));
	assert_true(allowed(ar, "10.0.0.1"));
	access_rules_free(ar);

	ar = new_ok(localhost, NITEMS(localhost));
	assert_true(allowed(ar, "127.0.0.1"));
	assert_false(allowed(ar, "10.0.0.1"));
	access_rules_free(ar);
}

static void
t_families(void **state)
{
	static const struct probe	 p[] = {
		/* A dual-stack socket's IPv4 client meets IPv4 rules. */
		{ "deny 192.168.1.0/24", "::ffff:192.168.1.7", false },
		{ "deny 192.168.1.0/24", "::ffff:192.168.2.7", true },
		{ "deny 0.0.0.0/0", "::ffff:1.2.3.4", false },
		{ "deny 0.0.0.0/0", "::1", true },
		{ "deny 0.0.0.0/0", "::1.2.3.4", true },	/* compat */
		/* An IPv4-mapped rule is an IPv4 rule. */
		{ "deny ::ffff:192.168.1.5", "192.168.1.5", false },
		{ "deny ::ffff:192.168.1.5", "::ffff:192.168.1.5", false },
		{ "deny ::ffff:10.0.0.0/104", "10.9.9.9", false },
		{ "deny ::ffff:10.0.0.0/104", "11.9.9.9", true },
		{ "deny ::ffff:0.0.0.0/96", "8.8.8.8", false },
		/* Shorter than /96 it stays IPv6. */
		{ "deny ::ffff:0:0/95", "10.0.0.1", true },
		{ "deny ::/0", "1.2.3.4", true },
		{ "deny ::/0", "::ffff:1.2.3.4", true },
		{ "deny ::/0", "2001:db8::1", false },
		/* IPv6 rules do not meet IPv4 clients or the reverse. */
		{ "deny ::a00:1", "10.0.0.1", true },
		{ "deny 10.0.0.1", "::a00:1", true },
		/* Unix sockets: only "all" says anything about them. */
		{ "deny 0.0.0.0/0, ::/0", "unix", true },
		{ "deny all", "unix", false },
	};
	struct access_rules	*ar;
	const char		*deny = "deny all";

	(void)state;
	check_probes(p, NITEMS(p));
	ar = new_ok(&deny, 1);
	assert_false(access_allowed(ar, NULL));
	access_rules_free(ar);
}

/* No rules, or none that match: allowed, as esockd. */
static void
t_all_none(void **state)
{
	static const char	*def[] = { "allow all" };
	static const char	*denies[] = { "deny 10.0.0.0/8", "deny ::1" };
	static const char	*addrs[] = {
		"1.2.3.4", "10.0.0.1", "::1", "2001:db8::1", "::ffff:10.0.0.1",
		"unix",
	};
	struct access_rules	*empty, *all, *some;
	size_t			 i;

	(void)state;
	empty = new_ok(NULL, 0);
	all = new_ok(def, NITEMS(def));
	some = new_ok(denies, NITEMS(denies));
	for (i = 0; i < NITEMS(addrs); i++) {
		assert_true(allowed(NULL, addrs[i]));
		assert_true(allowed(empty, addrs[i]));
		assert_true(allowed(all, addrs[i]));
	}
	assert_false(allowed(some, "10.0.0.1"));
	assert_false(allowed(some, "::ffff:10.0.0.1"));
	assert_false(allowed(some, "::1"));
	assert_true(allowed(some, "1.2.3.4"));
	assert_true(allowed(some, "2001:db8::1"));
	assert_true(allowed(some, "unix"));
	assert_true(access_allowed(some, NULL));
	access_rules_free(empty);
	access_rules_free(all);
	access_rules_free(some);
	access_rules_free(NULL);
}

/* Many rules; the last decides. */
static void
t_many(void **state)
{
	char			 (*s)[32];
	const char		**rules;
	struct access_rules	*ar;
	size_t			 i, n = 1000;

	(void)state;
	assert_non_null(s = calloc(n, sizeof(*s)));
	assert_non_null(rules = calloc(n, sizeof(*rules)));
	for (i = 0; i < n; i++) {
		snprintf(s[i], sizeof(s[i]), "allow 10.%zu.%zu.0/24", i / 256,
		    i % 256);
		rules[i] = s[i];
	}
	snprintf(s[n - 1], sizeof(s[n - 1]), "deny all");
	ar = new_ok(rules, n);
	assert_true(allowed(ar, "10.0.0.7"));		/* rule 0 */
	assert_true(allowed(ar, "10.3.230.7"));		/* rule 998 */
	assert_false(allowed(ar, "10.3.231.7"));	/* was rule 999 */
	assert_false(allowed(ar, "11.0.0.1"));
	access_rules_free(ar);
	free(rules);
	free(s);
}

/* Random networks and clients against a bit-by-bit matcher. */
static void
t_random(void **state)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	struct access_rules	*ar;
	uint8_t			 net[16], cli[16];
	char			 addr[INET6_ADDRSTRLEN], rule[80];
	const char		*rp = rule;
	unsigned int		 bits, max, j;
	uint64_t		 r;
	size_t			 i;
	bool			 v4, want;

	(void)state;
	for (i = 0; i < RANDOM_RULES; i++) {
		r = rnd();
		v4 = r & 1;
		max = v4 ? 32 : 128;
		bits = (unsigned int)(rnd() % (max + 1));
		for (j = 0; j < 16; j++)
			net[j] = (uint8_t)rnd();
		/* Not the mapped range: it is an IPv4 rule (t_families). */
		if (!v4)
			net[0] |= 0x20;
		/* Half the clients share the rule's prefix. */
		memcpy(cli, net, sizeof(cli));
		for (j = (r & 2) ? bits : 0; j < max; j++)
			if (rnd() & 1)
				cli[j / 8] ^= (uint8_t)(0x80 >> (j % 8));
		want = same_bits(net, cli, bits);

		inet_ntop(v4 ? AF_INET : AF_INET6, net, addr, sizeof(addr));
		snprintf(rule, sizeof(rule), "deny %s/%u", addr, bits);
		assert_non_null(ar = access_rules_new(&rp, 1, LISTENER));
		memset(&ss, 0, sizeof(ss));
		if (v4) {
			sin->sin_family = AF_INET;
			memcpy(&sin->sin_addr, cli, 4);
		} else {
			sin6->sin6_family = AF_INET6;
			memcpy(&sin6->sin6_addr, cli, 16);
		}
		if (access_allowed(ar, (struct sockaddr *)&ss) == want)
			fail_msg("\"%s\": wrong for client %s", rule,
			    inet_ntop(v4 ? AF_INET : AF_INET6, cli, addr,
			    sizeof(addr)));
		access_rules_free(ar);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_parse_good),
		cmocka_unit_test(t_parse_bad),
		cmocka_unit_test(t_parse_bad_in_list),
		cmocka_unit_test(t_first_match),
		cmocka_unit_test(t_families),
		cmocka_unit_test(t_all_none),
		cmocka_unit_test(t_many),
		cmocka_unit_test(t_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
