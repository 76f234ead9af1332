/*
 * t_passwd.c: password hashing and checking, the file parser and its
 * error messages, the mode check, and duplicate users (an error).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker/passwd.h"
#include "log.h"
#include "testutil.h"
#include "xmalloc.h"

#define FAST	PASSWD_ITER_MIN		/* keep the tests quick */

/* Independent: Python's hashlib.pbkdf2_hmac, 1000 iterations. */
#define VEC_HORSE	"$pbkdf2-sha256$1000$c2FsdHNhbHRzYWx0c2FsdA==$" \
			"BBs+1+PaslLtBPULUr8/lQicvVuHiEPMz0i8MjLCbzM="
#define VEC_SALT8	"$pbkdf2-sha256$1000$MTIzNDU2Nzg=$" \
			"vm3+4ul5CLiIrsI+XuwtC1oWzR40HL+7/WcG3n0drJI="
#define GOOD_HASH	VEC_HORSE

static char	 tmpdir[] = "/tmp/t_passwd.XXXXXX";
static char	*pw_path;		/* the file every test writes */

/* Helpers. */

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	xasprintf(&pw_path, "%s/users", tmpdir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(pw_path);
	rmdir(tmpdir);
	FREE(pw_path);
	return 0;
}

static struct passwd_db *
load_path_logged(const char *path, char **logged)
{
	struct passwd_db	*db;
	int			 saved;

	stderr_to_log(&saved);
	db = passwd_load(path);
	*logged = stderr_back(saved);
	return db;
}

/* text must load, silently. */
static struct passwd_db *
load(const char *text)
{
	struct passwd_db	*db;
	char			*logged;

	write_file(pw_path, text, strlen(text), 0600);
	db = load_path_logged(pw_path, &logged);
	if (*logged != '\0')
		print_error("unexpected: %s", logged);
	assert_string_equal(logged, "");
	free(logged);
	assert_non_null(db);
	return db;
}

/*
 * text (len bytes, mode 0600) must fail with exactly the n errors that
 * follow, each "LINE: message" logged as
 * "... error passwd_load: PATH:LINE: message".
 */
static void
bad_len(const char *text, size_t len, size_t n, ...)
{
	va_list	 ap;
	char	*logged, *prefix;

	write_file(pw_path, text, len, 0600);
	assert_null(load_path_logged(pw_path, &logged));
	xasprintf(&prefix, " error passwd_load: %s:", pw_path);
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
check(const struct passwd_db *db, const char *user, const char *pw)
{
	return passwd_check(db, user, (const uint8_t *)pw, strlen(pw));
}

static char *
hash(const char *pw, unsigned iter)
{
	char	*out;

	out = xmalloc(PASSWD_HASH_BUFSZ);
	assert_int_equal(passwd_hash((const uint8_t *)pw, strlen(pw), iter,
	    out, PASSWD_HASH_BUFSZ), 0);
	return out;
}

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Hashing. */

static void
t_hash_format(void **state)
{
	char		*a, *b, *logged, small[64];
	unsigned	 iter;
	int		 saved, n, salt, sep;

	(void)state;
	a = hash("secret", FAST);
	b = hash("secret", FAST);
	/* $pbkdf2-sha256$1000$ + 24 + $ + 44. */
	assert_int_equal(strlen(a), 15 + 4 + 1 + 24 + 1 + 44);
	assert_int_equal(sscanf(a, "$pbkdf2-sha256$%u$%n%*24[A-Za-z0-9+/=]%n"
	    "$", &iter, &salt, &sep), 1);
	assert_int_equal(iter, FAST);
	assert_int_equal(sep - salt, 24);
	assert_true(a[sep] == '$');
	assert_true(strchr(a, '\n') == NULL);
	/* Fresh salt every time. */
	assert_string_not_equal(a, b);
	free(a);
	free(b);
	a = hash("x", PASSWD_ITER_DEFAULT);
	assert_int_equal(strncmp(a, "$pbkdf2-sha256$100000$", 22), 0);
	free(a);

	stderr_to_log(&saved);
	n = passwd_hash((const uint8_t *)"x", 1, FAST, small, sizeof(small));
	assert_int_equal(n, -1);
	assert_int_equal(small[0], '\0');
	assert_int_equal(passwd_hash((const uint8_t *)"x", 1,
	    PASSWD_ITER_MIN - 1, small, sizeof(small)), -1);
	assert_int_equal(passwd_hash((const uint8_t *)"x", 1,
	    PASSWD_ITER_MAX + 1, small, sizeof(small)), -1);
	logged = stderr_back(saved);
	assert_non_null(strstr(logged, "passwd_hash: output buffer of 64 "
	    "bytes too small"));
	assert_non_null(strstr(logged, "passwd_hash: iterations 999 out of "
	    "range 1000..10000000"));
	free(logged);
}

static void
t_round_trip(void **state)
{
	struct passwd_db	*db;
	char			*text, *ha, *hb, *hc;
	static const uint8_t	 bin[] = { 's', 0, 'c', 0xff };

	(void)state;
	ha = hash("alice's secret", FAST);
	hb = hash("", FAST);
	hc = xmalloc(PASSWD_HASH_BUFSZ);
	assert_int_equal(passwd_hash(bin, sizeof(bin), FAST + 1, hc,
	    PASSWD_HASH_BUFSZ), 0);
	xasprintf(&text, "alice:%s\nbob:%s\ncarol:%s\n", ha, hb, hc);
	db = load(text);
	assert_int_equal(passwd_count(db), 3);
	assert_true(check(db, "alice", "alice's secret"));
	assert_true(check(db, "bob", ""));
	assert_true(passwd_check(db, "carol", bin, sizeof(bin)));
	/* Wrong passwords, prefixes and extensions. */
	assert_false(check(db, "alice", "alice's secreT"));
	assert_false(check(db, "alice", "alice's secre"));
	assert_false(check(db, "alice", "alice's secret "));
	assert_false(check(db, "alice", ""));
	assert_false(check(db, "bob", "x"));
	assert_false(passwd_check(db, "carol", bin, sizeof(bin) - 1));
	assert_false(passwd_check(db, "carol", bin + 1, sizeof(bin) - 1));
	/*
	 * Not a test of ours but worth knowing: HMAC pads short keys with
	 * zeros, so PBKDF2 cannot tell a password from itself plus NULs.
	 */
	assert_true(passwd_check(db, "carol", (const uint8_t *)"s\0c\xff\0",
	    sizeof(bin) + 1));
	assert_false(check(db, "carol", "s"));
	/* One user's password is not another's. */
	assert_false(check(db, "bob", "alice's secret"));
	/* Unknown users, and names that are near misses. */
	assert_false(check(db, "dave", "alice's secret"));
	assert_false(check(db, "Alice", "alice's secret"));
	assert_false(check(db, "alice ", "alice's secret"));
	assert_false(check(db, "", ""));
	assert_false(check(db, NULL, ""));
	passwd_free(db);
	free(text);
	free(ha);
	free(hb);
	free(hc);
}

/* Hashes made elsewhere (Python's hashlib) verify here. */
static void
t_known_vectors(void **state)
{
	struct passwd_db	*db;

	(void)state;
	db = load("horse:" VEC_HORSE "\nshort salt:" VEC_SALT8 "\n");
	assert_true(check(db, "horse", "correct horse"));
	assert_false(check(db, "horse", "correct horse battery"));
	assert_true(check(db, "short salt", "pw"));
	passwd_free(db);
}

/*
 * An unknown user costs a PBKDF2 like a known one.  Coarse on purpose
 * (minimum of several runs, a wide margin) so that a busy machine or a
 * sanitizer build does not make it flaky: without the dummy work the
 * ratio would be below 1%.
 */
static void
t_unknown_user_timing(void **state)
{
	struct passwd_db	*db;
	char			*h, *text;
	double			 t, known = 1e9, unknown = 1e9;
	int			 i;

	(void)state;
	h = hash("pw", 50000);
	xasprintf(&text, "alice:%s\n", h);
	db = load(text);
	for (i = 0; i < 5; i++) {
		t = now();
		assert_false(check(db, "alice", "wrong"));
		t = now() - t;
		known = t < known ? t : known;
		t = now();
		assert_false(check(db, "nobody", "wrong"));
		t = now() - t;
		unknown = t < unknown ? t : unknown;
	}
	if (unknown < known / 3)
		print_error("known %.6fs unknown %.6fs\n", known, unknown);
	assert_true(unknown >= known / 3);
	passwd_free(db);
	free(text);
	free(h);
}

/* Parsing. */

static void
t_comments_and_blanks(void **state)
{
	struct passwd_db	*db;

	(void)state;
	db = load(
	    "# users\n"
	    "\n"
	    "   \t\n"
	    "  # indented comment\n"
	    "  alice:" GOOD_HASH "  \r\n"
	    "bob smith:" GOOD_HASH "\r\n"
	    "carol:" GOOD_HASH);
	assert_int_equal(passwd_count(db), 3);
	assert_true(check(db, "alice", "correct horse"));
	assert_true(check(db, "bob smith", "correct horse"));
	assert_true(check(db, "carol", "correct horse"));
	assert_false(check(db, "  alice", "correct horse"));
	passwd_free(db);

	db = load("");
	assert_int_equal(passwd_count(db), 0);
	assert_false(check(db, "alice", "correct horse"));
	passwd_free(db);
}

static void
t_malformed(void **state)
{
	(void)state;
	bad("# fine\n"
	    "alice\n"
	    ":" GOOD_HASH "\n"
	    "bob:$pbkdf2-sha512$1000$c2FsdHNhbHRzYWx0c2FsdA==$AAAA\n"
	    "bob:$pbkdf2-sha256$1000$c2FsdHNhbHRzYWx0c2FsdA==\n"
	    "bob:$pbkdf2-sha256$999$c2FsdHNhbHRzYWx0c2FsdA==$AAAA\n"
	    "bob:$pbkdf2-sha256$10000001$c2FsdHNhbHRzYWx0c2FsdA==$AAAA\n"
	    "bob:$pbkdf2-sha256$01000$c2FsdHNhbHRzYWx0c2FsdA==$AAAA\n"
	    "bob:$pbkdf2-sha256$1e3$c2FsdHNhbHRzYWx0c2FsdA==$AAAA\n"
	    "bob:$pbkdf2-sha256$$c2FsdHNhbHRzYWx0c2FsdA==$AAAA\n"
	    "bob:$pbkdf2-sha256$1000$c2FsdHNhbHRzYWx0c2FsdA=$"
	    "BBs+1+PaslLtBPULUr8/lQicvVuHiEPMz0i8MjLCbzM=\n"
	    "bob:$pbkdf2-sha256$1000$c2Fs!HNhbHRzYWx0c2FsdA==$"
	    "BBs+1+PaslLtBPULUr8/lQicvVuHiEPMz0i8MjLCbzM=\n"
	    "bob:$pbkdf2-sha256$1000$c2FsdA==$"
	    "BBs+1+PaslLtBPULUr8/lQicvVuHiEPMz0i8MjLCbzM=\n"
	    "bob:$pbkdf2-sha256$1000$c2FsdHNhbHRzYWx0c2FsdA==$"
	    "BBs+1+PaslLtBPULUr8/lQicvVuHiEPMz0i8MjLC\n"
	    "bob:$pbkdf2-sha256$1000$c2FsdHNhbHRzYWx0c2FsdA==$"
	    "BBs+1+PaslLtBPULUr8/lQicvVuHiEPMz0i8MjLCbzM=$x\n"
	    "bob:$pbkdf2-sha256$1000$c2FsdHNhbHRzYWx0c2FsdA==$"
	    "BBs+1+PaslLtBPULUr8/lQicvVuHiEPMz0i8MjLCbz==\n"
	    "bob :" GOOD_HASH "\n"
	    "b\tb:" GOOD_HASH "\n"
	    "dave:" GOOD_HASH "\n",
	    "2: want USER:HASH",
	    "3: invalid user name \"\"",
	    "4: user \"bob\": unknown hash scheme (want $pbkdf2-sha256$)",
	    "5: user \"bob\": want $pbkdf2-sha256$ITERATIONS$SALT$HASH",
	    "6: user \"bob\": iterations not a number in 1000..10000000",
	    "7: user \"bob\": iterations not a number in 1000..10000000",
	    "8: user \"bob\": iterations not a number in 1000..10000000",
	    "9: user \"bob\": iterations not a number in 1000..10000000",
	    "10: user \"bob\": iterations not a number in 1000..10000000",
	    "11: user \"bob\": salt not base64 of 8 to 64 bytes",
	    "12: user \"bob\": salt not base64 of 8 to 64 bytes",
	    "13: user \"bob\": salt not base64 of 8 to 64 bytes",
	    "14: user \"bob\": hash not base64 of 32 bytes",
	    "15: user \"bob\": hash not base64 of 32 bytes",
	    "16: user \"bob\": hash not base64 of 32 bytes",
	    "17: invalid user name \"bob \"",
	    "18: invalid user name \"b\tb\"");
	/* A NUL would hide the rest of the line from a C string parser. */
	bad_len("a:" GOOD_HASH "\nb\0:" GOOD_HASH "\n",
	    2 * (2 + strlen(GOOD_HASH) + 1) + 1, 1, "2: NUL byte in line");
}

/* Duplicates are an error, reported on the later line(s). */
static void
t_duplicates(void **state)
{
	(void)state;
	bad("alice:" GOOD_HASH "\n"
	    "bob:" GOOD_HASH "\n"
	    "# a comment\n"
	    "alice:" VEC_SALT8 "\n"
	    "bob:" GOOD_HASH "\n"
	    "alice:" GOOD_HASH "\n",
	    "4: duplicate user \"alice\" (first on line 1)",
	    "6: duplicate user \"alice\" (first on line 1)",
	    "5: duplicate user \"bob\" (first on line 2)");
}

static void
t_loose_mode(void **state)
{
	static const mode_t	 loose[] = {
		0640, 0604, 0620, 0602, 0610, 0601, 0644, 0666, 0660,
	};
	static const mode_t	 tight[] = { 0600, 0400, 0200 };
	struct passwd_db	*db;
	char			*logged, *want;
	const char		*text = "alice:" GOOD_HASH "\n";
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(loose) / sizeof(loose[0]); i++) {
		write_file(pw_path, text, strlen(text), loose[i]);
		assert_null(load_path_logged(pw_path, &logged));
		xasprintf(&want, " error file_secrecy: %s: mode %04o lets "
		    "group or others in; chmod 600 %s\n", pw_path,
		    (unsigned)loose[i], pw_path);
		if (strstr(logged, want) == NULL)
			print_error("want: %sgot:  %s", want, logged);
		assert_non_null(strstr(logged, want));
		free(want);
		free(logged);
	}
	for (i = 0; i < sizeof(tight) / sizeof(tight[0]); i++) {
		write_file(pw_path, text, strlen(text), tight[i]);
		/* Root reads 0200 files too; others would see EACCES. */
		if (geteuid() != 0 && (tight[i] & 0400) == 0)
			continue;
		db = load_path_logged(pw_path, &logged);
		assert_string_equal(logged, "");
		assert_non_null(db);
		passwd_free(db);
		free(logged);
	}

	assert_null(load_path_logged(tmpdir, &logged));
	assert_non_null(strstr(logged, "not a regular file"));
	free(logged);
	assert_null(load_path_logged("/nonexistent/users", &logged));
	assert_non_null(strstr(logged, " error passwd_load: "
	    "/nonexistent/users: No such file or directory\n"));
	free(logged);
}

static void
t_user_valid(void **state)
{
	char	*huge;
	size_t	 len;

	(void)state;
	assert_true(passwd_user_valid("alice"));
	assert_true(passwd_user_valid("a"));
	assert_true(passwd_user_valid("bob smith"));
	assert_true(passwd_user_valid("a#b"));
	assert_true(passwd_user_valid("\xc3\xa9t\xc3\xa9"));
	assert_false(passwd_user_valid(NULL));
	assert_false(passwd_user_valid(""));
	assert_false(passwd_user_valid("a:b"));
	assert_false(passwd_user_valid("a\nb"));
	assert_false(passwd_user_valid("a\r"));
	assert_false(passwd_user_valid("a\tb"));
	assert_false(passwd_user_valid("a\x7f"));
	assert_false(passwd_user_valid("#a"));
	assert_false(passwd_user_valid(" a"));
	assert_false(passwd_user_valid("a "));

	huge = xmalloc(PASSWD_USER_MAX + 2);
	memset(huge, 'u', PASSWD_USER_MAX + 1);
	huge[PASSWD_USER_MAX + 1] = '\0';
	assert_false(passwd_user_valid(huge));
	huge[PASSWD_USER_MAX] = '\0';
	assert_true(passwd_user_valid(huge));
	free(huge);

	assert_null(passwd_line_user("", &len));
	assert_null(passwd_line_user("  \n", &len));
	assert_null(passwd_line_user("# a:b\n", &len));
	assert_null(passwd_line_user("  # a:b\n", &len));
	assert_null(passwd_line_user("nocolon\n", &len));
	assert_string_equal(passwd_line_user("  al ice:x\n", &len),
	    "al ice:x\n");
	assert_int_equal(len, 6);
	assert_non_null(passwd_line_user(":x", &len));
	assert_int_equal(len, 0);
}

static void
t_null(void **state)
{
	(void)state;
	passwd_free(NULL);
	assert_int_equal(passwd_count(NULL), 0);
	assert_false(passwd_check(NULL, "alice", (const uint8_t *)"x", 1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_hash_format),
		cmocka_unit_test(t_round_trip),
		cmocka_unit_test(t_known_vectors),
		cmocka_unit_test(t_unknown_user_timing),
		cmocka_unit_test(t_comments_and_blanks),
		cmocka_unit_test(t_malformed),
		cmocka_unit_test(t_duplicates),
		cmocka_unit_test(t_loose_mode),
		cmocka_unit_test(t_user_valid),
		cmocka_unit_test(t_null),
	};

	log_init("t_passwd", LOG_LVL_INFO, false);
	return cmocka_run_group_tests(tests, setup, teardown);
}
