/*
 * t_acl.c: the acl_file parser, its error messages, and the decisions:
 * global, per-user and pattern rules, anonymous clients, deny precedence,
 * access kinds, subscriptions to wildcard filters and the refusal to
 * substitute dangerous user names and client identifiers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/acl.h"
#include "log.h"
#include "testutil.h"
#include "xmalloc.h"

static char	 tmpdir[] = "/tmp/t_acl.XXXXXX";
static char	*acl_path;		/* the file every test writes */

/* Helpers. */

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	xasprintf(&acl_path, "%s/t.acl", tmpdir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(acl_path);
	rmdir(tmpdir);
	FREE(acl_path);
	return 0;
}

/* acl_load(path) with stderr in a file; *logged gets what was written. */
static struct acl *
load_path_logged(const char *path, char **logged)
{
	struct acl	*acl;
	int		 saved;

	stderr_to_log(&saved);
	acl = acl_load(path);
	*logged = stderr_back(saved);
	return acl;
}

static struct acl *
load_logged(const char *text, size_t len, char **logged)
{
	write_file(acl_path, text, len, 0644);
	return load_path_logged(acl_path, logged);
}

/* text must load without a word logged. */
static struct acl *
load(const char *text)
{
	struct acl	*acl;
	char		*logged;

	acl = load_logged(text, strlen(text), &logged);
	if (*logged != '\0')
		print_error("unexpected: %s", logged);
	assert_string_equal(logged, "");
	free(logged);
	assert_non_null(acl);
	return acl;
}

/*
 * text (len bytes) must fail with exactly the n errors that follow, each
 * "LINE: message", logged as "... error acl_load: PATH:LINE: message".
 */
static void
bad_len(const char *text, size_t len, size_t n, ...)
{
	va_list	 ap;
	char	*logged, *prefix;

	assert_null(load_logged(text, len, &logged));
	xasprintf(&prefix, " error acl_load: %s:", acl_path);
	va_start(ap, n);
	expect_log_lines(logged, prefix, n, ap);
	va_end(ap);
	free(prefix);
	free(logged);
}

#define bad(text, ...)							\
	bad_len((text), strlen(text),					\
	    sizeof((const char *[]){ __VA_ARGS__ }) / sizeof(char *),	\
	    __VA_ARGS__)

static bool
can(const struct acl *acl, const char *user, const char *cid,
    const char *topic, enum acl_access access)
{
	return acl_check(acl, user, cid, topic, strlen(topic), access);
}

#define R(acl, u, c, t)	can((acl), (u), (c), (t), ACL_READ)
#define W(acl, u, c, t)	can((acl), (u), (c), (t), ACL_WRITE)

static bool
covers(const char *outer, const char *inner)
{
	return acl_filter_covers(outer, strlen(outer), inner, strlen(inner));
}

/* Parsing. */

static void
t_good_file(void **state)
{
	struct acl	*acl;

	(void)state;
	acl = load(
	    "# global rules\n"
	    "\n"
	    "   \t\n"
	    "topic read $SYS/#\n"
	    "  topic\twrite  \t public/in   \r\n"
	    "topic public/both\n"
	    "topic readwrite with space/x\n"
	    "  # an indented comment\n"
	    "user alice\n"
	    "topic alice/#\n"
	    "topic deny alice/secret\n"
	    "user bob smith\n"
	    "topic read bob/#\n"
	    "pattern write clients/%c/out\n"
	    "pattern read users/%u/#\n");

	assert_true(R(acl, NULL, "c1", "$SYS/broker/uptime"));
	assert_false(W(acl, NULL, "c1", "$SYS/broker/uptime"));
	assert_true(W(acl, NULL, "c1", "public/in"));
	assert_false(R(acl, NULL, "c1", "public/in"));
	assert_true(R(acl, NULL, "c1", "public/both"));
	assert_true(W(acl, NULL, "c1", "public/both"));
	assert_true(W(acl, NULL, "c1", "with space/x"));
	assert_true(W(acl, "alice", "c1", "alice/x"));
	assert_false(R(acl, "alice", "c1", "alice/secret"));
	assert_true(R(acl, "bob smith", "c1", "bob/x"));
	assert_false(R(acl, "bob", "c1", "bob/x"));
	assert_true(W(acl, "bob", "c9", "clients/c9/out"));
	assert_true(R(acl, "bob", "c9", "users/bob/inbox"));
	assert_false(R(acl, "bob", "c9", "users/alice/inbox"));
	acl_free(acl);
}

static void
t_errors(void **state)
{
	(void)state;
	bad("topic reed a/b\n", "1: bad access word \"reed\" (read, write, "
	    "readwrite or deny)");
	bad("# fine\n"
	    "topic\n"
	    "topic read\n"
	    "  topic   deny   \n"
	    "pattern\n"
	    "pattern write\n"
	    "topic a/#/b\n"
	    "pattern read a+/x\n"
	    "topic write #/\n"
	    "user\n"
	    "user   \t\n"
	    "users alice\n"
	    "topic fine/after/errors\n"
	    "toppic x\n"
	    "pattern readonly x\n",
	    "2: topic without a topic filter",
	    "3: topic read without a topic filter",
	    "4: topic deny without a topic filter",
	    "5: pattern without a topic filter",
	    "6: pattern write without a topic filter",
	    "7: invalid topic filter \"a/#/b\" (MQTT-4.7.1-2)",
	    "8: invalid topic filter \"a+/x\" (MQTT-4.7.1-3)",
	    "9: invalid topic filter \"#/\" (MQTT-4.7.1-2)",
	    "10: user without a name",
	    "11: user without a name",
	    "12: unknown keyword \"users\" (user, topic or pattern)",
	    "14: unknown keyword \"toppic\" (user, topic or pattern)",
	    "15: bad access word \"readonly\" (read, write, readwrite or "
	    "deny)");
	/* A NUL would hide the rest of the line from a C string parser. */
	bad_len("topic a\ntopic b\0/#\n", 18, 1, "2: NUL byte in line");
}

static void
t_missing_file(void **state)
{
	char	*logged;

	(void)state;
	assert_null(load_path_logged("/nonexistent/t.acl", &logged));
	assert_non_null(strstr(logged, " error acl_load: /nonexistent/t.acl: "
	    "No such file or directory\n"));
	free(logged);
}

static void
t_empty_file(void **state)
{
	struct acl	*acl;
	char		*logged;

	(void)state;
	acl = load_logged("# nothing\n\n", 11, &logged);
	assert_non_null(acl);
	assert_non_null(strstr(logged, "no rules: every client is denied"));
	free(logged);
	assert_false(R(acl, NULL, "c", "a"));
	assert_false(W(acl, "u", "c", "a"));
	acl_free(acl);
}

static void
t_null(void **state)
{
	struct acl	*acl;

	(void)state;
	acl_free(NULL);
	assert_false(acl_check(NULL, "u", "c", "a", 1, ACL_READ));
	acl = load("topic #\n");
	assert_true(acl_check(acl, "u", "c", "a", 1, ACL_READ));
	assert_false(acl_check(acl, "u", "c", "a", 1,
	    (enum acl_access)(ACL_READ | ACL_WRITE)));
	assert_false(acl_check(acl, "u", "c", "a", 1, (enum acl_access)0));
	acl_free(acl);
}

/* Decisions. */

static void
t_user_rules(void **state)
{
	struct acl	*acl;

	(void)state;
	acl = load(
	    "user alice\n"
	    "topic alice/#\n"
	    "user bob\n"
	    "topic read shared/+\n"
	    "user alice\n"
	    "topic write shared/alice\n");
	assert_true(W(acl, "alice", "c", "alice/a/b"));
	assert_true(W(acl, "alice", "c", "alice"));
	assert_true(W(acl, "alice", "c", "shared/alice"));
	assert_false(R(acl, "alice", "c", "shared/alice"));
	assert_true(R(acl, "bob", "c", "shared/alice"));
	assert_false(W(acl, "bob", "c", "shared/alice"));
	assert_false(R(acl, "bob", "c", "alice/x"));
	assert_false(R(acl, "carol", "c", "alice/x"));
	assert_false(R(acl, NULL, "c", "alice/x"));
	/* Names are exact: no prefix, case or trailing blank games. */
	assert_false(R(acl, "Alice", "c", "alice/x"));
	assert_false(R(acl, "alic", "c", "alice/x"));
	assert_false(R(acl, "alice ", "c", "alice/x"));
	acl_free(acl);
}

/* Many users, listed in reverse: the sorted array and its search. */
static void
t_many_users(void **state)
{
	struct acl	*acl;
	FILE		*m;
	char		*text = NULL, name[32], topic[32];
	size_t		 len = 0;
	int		 i;

	(void)state;
	assert_non_null(m = open_memstream(&text, &len));
	for (i = 999; i >= 0; i--)
		fprintf(m, "user u%d\ntopic t/%d\n", i, i);
	assert_int_equal(fclose(m), 0);
	acl = load(text);
	free(text);
	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "u%d", i);
		snprintf(topic, sizeof(topic), "t/%d", i);
		assert_true(R(acl, name, "c", topic));
		snprintf(topic, sizeof(topic), "t/%d", (i + 1) % 1000);
		assert_false(R(acl, name, "c", topic));
	}
	assert_false(R(acl, "u1000", "c", "t/1"));
	assert_false(R(acl, "u", "c", "t/1"));
	acl_free(acl);
}

static void
t_global_rules(void **state)
{
	struct acl	*acl;

	(void)state;
	acl = load(
	    "topic read news/#\n"
	    "user alice\n"
	    "topic write alice/#\n");
	/* Before any user line: everyone, anonymous included. */
	assert_true(R(acl, NULL, "c", "news/today"));
	assert_true(R(acl, "alice", "c", "news/today"));
	assert_true(R(acl, "zed", "c", "news/today"));
	assert_false(W(acl, NULL, "c", "news/today"));
	assert_true(W(acl, "alice", "c", "alice/x"));
	/* A user's own rules do not leak to anonymous clients. */
	assert_false(W(acl, NULL, "c", "alice/x"));
	acl_free(acl);
}

static void
t_patterns(void **state)
{
	struct acl	*acl;

	(void)state;
	acl = load(
	    "pattern readwrite users/%u/#\n"
	    "pattern write devices/%c/state\n"
	    "pattern read mix/%u/%c\n"
	    "pattern read dev-%c/x\n"
	    "pattern read lit/%x/100%\n"
	    "topic read literal/%u\n");
	assert_true(W(acl, "alice", "c1", "users/alice/a/b"));
	assert_true(R(acl, "alice", "c1", "users/alice"));
	assert_false(R(acl, "alice", "c1", "users/bob/a"));
	assert_false(R(acl, "alice", "c1", "users/alic/a"));
	assert_false(R(acl, "alice", "c1", "users/alicex/a"));
	assert_true(W(acl, "alice", "c1", "devices/c1/state"));
	assert_false(R(acl, "alice", "c1", "devices/c1/state"));
	assert_false(W(acl, "alice", "c1", "devices/c2/state"));
	assert_true(R(acl, "alice", "c1", "mix/alice/c1"));
	assert_false(R(acl, "alice", "c1", "mix/c1/alice"));
	assert_true(R(acl, "alice", "c1", "dev-c1/x"));
	assert_false(R(acl, "alice", "c1", "dev-c/x"));
	assert_false(R(acl, "alice", "c1", "dev-c12/x"));
	/* Other "%" sequences are themselves. */
	assert_true(R(acl, "alice", "c1", "lit/%x/100%"));
	/* topic lines substitute nothing. */
	assert_true(R(acl, "alice", "c1", "literal/%u"));
	assert_false(R(acl, "alice", "c1", "literal/alice"));
	acl_free(acl);
}

static void
t_anonymous(void **state)
{
	struct acl	*acl;

	(void)state;
	acl = load(
	    "pattern read users/%u/#\n"
	    "pattern read both/%u/%c\n"
	    "pattern read clients/%c\n"
	    "pattern deny clients/%u\n");
	/* %u patterns do not apply: no "users//#" or "users/(null)". */
	assert_false(R(acl, NULL, "c1", "users//x"));
	assert_false(R(acl, NULL, "c1", "users/(null)/x"));
	assert_false(R(acl, NULL, "c1", "users/%u/x"));
	assert_false(R(acl, NULL, "c1", "both//c1"));
	/* %c ones do, and a %u deny does not shut them out. */
	assert_true(R(acl, NULL, "c1", "clients/c1"));
	assert_false(R(acl, NULL, "c1", "clients/c2"));
	/* With a name, the deny applies to that name's own level only. */
	assert_true(R(acl, "c1", "c2", "clients/c2"));
	assert_false(R(acl, "c2", "c2", "clients/c2"));
	acl_free(acl);
}

static void
t_deny_precedence(void **state)
{
	struct acl	*acl;

	(void)state;
	acl = load(
	    "topic read public/#\n"
	    "topic deny public/secret/#\n"
	    "user alice\n"
	    "topic public/secret/alice\n"
	    "topic deny public/nope\n"
	    "topic read private/#\n"
	    "pattern deny private/%u/locked\n"
	    "pattern deny +/blocked\n"
	    "topic readwrite x/blocked\n");
	assert_true(R(acl, "bob", "c", "public/a"));
	assert_false(R(acl, "bob", "c", "public/secret/a"));
	assert_false(R(acl, "bob", "c", "public/secret"));
	/* A global deny beats a user's grant, whatever the order. */
	assert_false(R(acl, "alice", "c", "public/secret/alice"));
	assert_false(W(acl, "alice", "c", "public/secret/alice"));
	/* A user's deny beats a global grant. */
	assert_false(R(acl, "alice", "c", "public/nope"));
	assert_true(R(acl, "bob", "c", "public/nope"));
	/* A pattern's deny beats a user's grant. */
	assert_true(R(acl, "alice", "c", "private/alice/open"));
	assert_false(R(acl, "alice", "c", "private/alice/locked"));
	assert_true(R(acl, "alice", "c", "private/bob/locked"));
	/* And a grant listed after the deny, in the same set. */
	assert_false(W(acl, "alice", "c", "x/blocked"));
	acl_free(acl);

	/* Deny first or last in the file makes no difference. */
	acl = load("topic deny a/b\ntopic a/#\n");
	assert_false(R(acl, NULL, "c", "a/b"));
	assert_true(R(acl, NULL, "c", "a/c"));
	acl_free(acl);
}

static void
t_access_kinds(void **state)
{
	struct acl	*acl;

	(void)state;
	acl = load(
	    "topic read r\n"
	    "topic write w\n"
	    "topic readwrite rw\n"
	    "topic both\n"
	    "topic read split\n"
	    "topic write split\n");
	assert_true(R(acl, "u", "c", "r"));
	assert_false(W(acl, "u", "c", "r"));
	assert_false(R(acl, "u", "c", "w"));
	assert_true(W(acl, "u", "c", "w"));
	assert_true(R(acl, "u", "c", "rw"));
	assert_true(W(acl, "u", "c", "rw"));
	assert_true(R(acl, "u", "c", "both"));
	assert_true(W(acl, "u", "c", "both"));
	assert_true(R(acl, "u", "c", "split"));
	assert_true(W(acl, "u", "c", "split"));
	assert_false(R(acl, "u", "c", "none"));
	assert_false(W(acl, "u", "c", "none"));
	acl_free(acl);
}

static void
t_filter_covers(void **state)
{
	(void)state;
	/* Names against filters: the plain match. */
	assert_true(covers("a/b", "a/b"));
	assert_false(covers("a/b", "a/c"));
	assert_false(covers("a/b", "a"));
	assert_false(covers("a", "a/b"));
	assert_true(covers("a/+", "a/b"));
	assert_false(covers("a/+", "a"));
	assert_false(covers("a/+", "a/b/c"));
	assert_true(covers("a/+", "a/"));
	assert_true(covers("+/+", "/x"));
	assert_true(covers("a/#", "a"));
	assert_true(covers("a/#", "a/b/c"));
	assert_true(covers("#", "a/b"));
	assert_true(covers("#", "/"));
	assert_false(covers("a/b/#", "a"));
	assert_true(covers("", ""));
	assert_false(covers("", "a"));
	/* MQTT-4.7.2-1. */
	assert_false(covers("#", "$SYS/x"));
	assert_false(covers("+/x", "$SYS/x"));
	assert_true(covers("$SYS/#", "$SYS/x"));
	assert_true(covers("$SYS/+", "$SYS/x"));
	assert_true(covers("a/+", "a/$x"));

	/* Filters against filters. */
	assert_true(covers("sensors/#", "sensors/+/temp"));
	assert_true(covers("sensors/#", "sensors/#"));
	assert_true(covers("sensors/#", "sensors/a/#"));
	assert_true(covers("#", "#"));
	assert_true(covers("#", "+/#"));
	assert_true(covers("+/+", "+/+"));
	assert_true(covers("+/x", "+/x"));
	assert_true(covers("+/+", "a/+"));
	assert_true(covers("a/+/c", "a/+/c"));
	assert_false(covers("a/+/c", "a/+/+"));
	assert_false(covers("a/+", "a/#"));
	assert_false(covers("a/+/#", "a/#"));
	assert_false(covers("a/b", "a/+"));
	assert_false(covers("sensors/+/temp", "sensors/#"));
	assert_false(covers("sensors/x/#", "sensors/+/temp"));
	assert_false(covers("a/#", "+/b"));
	assert_false(covers("a/+", "+"));
	assert_false(covers("$SYS/#", "#"));
	assert_false(covers("$SYS/#", "+/x"));
	assert_false(covers("#", "$SYS/#"));
	assert_true(covers("$SYS/#", "$SYS/#"));
	/* Lengths, not NULs, end the strings. */
	assert_true(acl_filter_covers("a/b/c", 3, "a/bxyz", 3));
	assert_false(acl_filter_covers("a/+", 3, "a/b/c", 5));
}

static void
t_subscribe(void **state)
{
	struct acl	*acl;

	(void)state;
	acl = load(
	    "topic read sensors/#\n"
	    "topic deny sensors/secret/#\n"
	    "topic write cmd/#\n"
	    "pattern read home/%u/+/temp\n");
	assert_true(R(acl, "u", "c", "sensors/+/temp"));
	assert_true(R(acl, "u", "c", "sensors/#"));
	assert_true(R(acl, "u", "c", "sensors"));
	assert_false(R(acl, "u", "c", "#"));
	assert_false(R(acl, "u", "c", "+/temp"));
	/* Covered by the deny: refused outright. */
	assert_false(R(acl, "u", "c", "sensors/secret/#"));
	assert_false(R(acl, "u", "c", "sensors/secret/+"));
	/* Only overlapping the deny: granted, filtered per message. */
	assert_true(R(acl, "u", "c", "sensors/+/x"));
	assert_false(R(acl, "u", "c", "sensors/secret/x"));
	/* write grants no subscription. */
	assert_false(R(acl, "u", "c", "cmd/#"));
	assert_true(W(acl, "u", "c", "cmd/a"));
	/* Patterns cover filters too. */
	assert_true(R(acl, "u", "c", "home/u/+/temp"));
	assert_false(R(acl, "u", "c", "home/u/#"));
	assert_false(R(acl, "u", "c", "home/+/+/temp"));
	acl_free(acl);
}

static void
t_dollar_topics(void **state)
{
	struct acl	*acl;

	(void)state;
	acl = load("topic #\npattern +/%u\n");
	assert_true(W(acl, "u", "c", "a/b"));
	assert_false(R(acl, "u", "c", "$SYS/broker"));
	assert_false(R(acl, "u", "c", "$SYS/u"));
	assert_false(R(acl, "u", "c", "$SYS/#"));
	acl_free(acl);
	acl = load("topic read $SYS/#\n");
	assert_true(R(acl, "u", "c", "$SYS/broker"));
	assert_true(R(acl, "u", "c", "$SYS/+"));
	acl_free(acl);
}

/*
 * A user name or client id that would change a pattern's shape or reach
 * "$" topics is never substituted: grants needing it are skipped and
 * denies needing it deny.
 */
static void
t_substitution_safety(void **state)
{
	static const char *const evil[] = {
		"+", "#", "a/b", "alice/x", "a+", "x#", "", "$SYS",
	};
	struct acl	*acl;
	size_t		 i;

	(void)state;
	acl = load(
	    "pattern readwrite users/%u/#\n"
	    "pattern readwrite clients/%c/#\n"
	    "pattern read %u/#\n"
	    "topic read open/#\n");
	for (i = 0; i < sizeof(evil) / sizeof(evil[0]); i++) {
		/* As user name: no users/+/..., users/alice/x/..., etc. */
		assert_false(R(acl, evil[i], "c", "users/alice/x"));
		assert_false(W(acl, evil[i], "c", "users/a/b"));
		assert_false(R(acl, evil[i], "c", "users/x/x"));
		assert_false(R(acl, evil[i], "c", "users//x"));
		assert_false(R(acl, evil[i], "c", "$SYS/x"));
		assert_false(R(acl, evil[i], "c", "a/b/c"));
		/* As client id. */
		assert_false(W(acl, "u", evil[i], "clients/alice/x"));
		assert_false(W(acl, "u", evil[i], "clients/a/b"));
		assert_false(W(acl, "u", evil[i], "clients//x"));
		/* The other, safe value still works, as do plain rules. */
		assert_true(W(acl, "u", evil[i], "users/u/x"));
		assert_true(W(acl, evil[i], "c", "clients/c/x"));
		assert_true(R(acl, evil[i], evil[i], "open/x"));
	}
	/* The literal strings would have matched without the check. */
	assert_true(W(acl, "a", "c", "users/a/b"));
	assert_false(W(acl, "u", NULL, "clients//x"));
	acl_free(acl);

	/* A deny pattern that needs an unsafe value fails closed. */
	acl = load(
	    "topic #\n"
	    "pattern deny private/%c/#\n"
	    "pattern deny private/%u/#\n");
	assert_true(W(acl, "u", "c", "private/x"));
	assert_false(W(acl, "u", "c", "private/c/x"));
	assert_false(W(acl, "u", "c", "private/u/x"));
	assert_false(W(acl, "u", "a/b", "anything"));
	assert_false(W(acl, "u", "#", "anything"));
	assert_false(W(acl, "u", NULL, "anything"));
	assert_false(W(acl, "+", "c", "anything"));
	/* Anonymous: the %u deny is skipped, the %c one is safe. */
	assert_true(W(acl, NULL, "c", "anything"));
	assert_false(W(acl, NULL, "c", "private/c/1"));
	acl_free(acl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_good_file),
		cmocka_unit_test(t_errors),
		cmocka_unit_test(t_missing_file),
		cmocka_unit_test(t_empty_file),
		cmocka_unit_test(t_null),
		cmocka_unit_test(t_user_rules),
		cmocka_unit_test(t_many_users),
		cmocka_unit_test(t_global_rules),
		cmocka_unit_test(t_patterns),
		cmocka_unit_test(t_anonymous),
		cmocka_unit_test(t_deny_precedence),
		cmocka_unit_test(t_access_kinds),
		cmocka_unit_test(t_filter_covers),
		cmocka_unit_test(t_subscribe),
		cmocka_unit_test(t_dollar_topics),
		cmocka_unit_test(t_substitution_safety),
	};

	log_init("t_acl", LOG_LVL_INFO, false);
	return cmocka_run_group_tests(tests, setup, teardown);
}
