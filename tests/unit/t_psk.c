/*
 * t_psk.c: the TLS-PSK identity file and its table: good files, every
 * kind of bad line (named by file and line, never quoting the secret),
 * other separators, loose modes, a 100,000-identity table (load and
 * lookup times printed, not asserted), and the wiping of secrets.
 *
 * explicit_bzero is defined here, so psk.c's calls land in this file
 * (an executable's definition wins over libc's): the test sees what is
 * wiped without reading freed memory.  FORTIFY builds call the _chk form.
 */
#undef _FORTIFY_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker/psk.h"
#include "log.h"
#include "testutil.h"
#include "xmalloc.h"

#define KEY_A	"8c701116e9127c57a99d5563709af3de" \
		"aca75563e2c4dd0865701ae839fb6d79"
#define KEY_B	"d1e617d3b963757bfc21dad3fea16971" \
		"6c3a2f053f23decaea5cdfaabd04bfc4"
#define KEY_C	"00112233445566778899AABBCCDDEEFF"
#define BIG_N	100000

static char	 tmpdir[] = "/tmp/t_psk.XXXXXX";
static char	*psk_path;		/* the file every test writes */

/* --- the explicit_bzero hook -------------------------------------------- */

#define MAX_WIPES	64

static struct {
	const char	*p;
	size_t		 len;
} wipes[MAX_WIPES];
static size_t	 nwipes;
static bool	 recording;
static void	*(*volatile wipe_memset)(void *, int, size_t) = memset;

void	__explicit_bzero_chk(void *, size_t, size_t);

void
explicit_bzero(void *p, size_t len)
{
	if (recording && nwipes < MAX_WIPES) {
		wipes[nwipes].p = p;
		wipes[nwipes].len = len;
		nwipes++;
	}
	wipe_memset(p, 0, len);
}

void
__explicit_bzero_chk(void *p, size_t len, size_t destlen)
{
	(void)destlen;
	explicit_bzero(p, len);
}

static void
wipes_start(void)
{
	nwipes = 0;
	recording = true;
}

/* Was [p, p + len) inside one recorded wipe? */
static bool
wiped(const void *p, size_t len)
{
	const char	*c = p;
	size_t		 i;

	for (i = 0; i < nwipes; i++)
		if (c >= wipes[i].p && c + len <= wipes[i].p + wipes[i].len)
			return true;
	return false;
}

/* --- helpers ------------------------------------------------------------ */

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	xasprintf(&psk_path, "%s/init.psk", tmpdir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(psk_path);
	rmdir(tmpdir);
	FREE(psk_path);
	return 0;
}

static struct psk_table *
load_logged(const char *text, mode_t mode, const char *sep, char **logged)
{
	struct psk_table	*t;
	int			 saved;

	write_file(psk_path, text, strlen(text), mode);
	stderr_to_log(&saved);
	t = psk_load(psk_path, sep);
	*logged = stderr_back(saved);
	return t;
}

/* text must load, silently. */
static struct psk_table *
load(const char *text, const char *sep)
{
	struct psk_table	*t;
	char			*logged;

	t = load_logged(text, 0600, sep, &logged);
	assert_non_null(t);
	assert_string_equal(logged, "");
	free(logged);
	return t;
}

/*
 * text must be refused with "PATH:LINE: why" in the log and no trace of
 * any test key.
 */
static void
refused(const char *text, int line, const char *why)
{
	struct psk_table	*t;
	char			*logged, *want;

	t = load_logged(text, 0600, ":", &logged);
	assert_null(t);
	xasprintf(&want, "%s:%d: %s", psk_path, line, why);
	if (strstr(logged, want) == NULL)
		fail_msg("want \"%s\" in:\n%s", want, logged);
	assert_null(strstr(logged, KEY_A));
	assert_null(strstr(logged, KEY_B));
	assert_null(strstr(logged, "8c701116e912"));
	assert_null(strstr(logged, "d1e617d3b963"));
	free(want);
	free(logged);
}

static void
assert_secret(const struct psk_entry *e, const char *hex)
{
	size_t		 i;
	unsigned	 byte;

	assert_non_null(e);
	assert_int_equal(e->secret_len, strlen(hex) / 2);
	for (i = 0; i < e->secret_len; i++) {
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &byte), 1);
		assert_int_equal(e->secret[i], byte);
	}
}

/* --- tests --------------------------------------------------------------- */

static void
t_good_file(void **state)
{
	struct psk_table	*t;
	const struct psk_entry	*e;

	(void)state;
	t = load("# devices\n"
	    "alice:" KEY_A "\n"
	    "\n"
	    "   # indented comment\n"
	    "bob:" KEY_B "\r\n"
	    "dev 7:" KEY_C "  \t\n"
	    "x:00\n"
	    "last:" KEY_C, ":");
	assert_int_equal(psk_count(t), 5);
	assert_secret(psk_find(t, "alice", 5), KEY_A);
	assert_secret(psk_find(t, "bob", 3), KEY_B);
	assert_secret(e = psk_find(t, "dev 7", 5), KEY_C);
	assert_string_equal(e->identity, "dev 7");
	assert_int_equal(e->identity_len, 5);
	assert_int_equal(e->line, 6);
	assert_secret(psk_find(t, "x", 1), "00");
	assert_secret(psk_find(t, "last", 4), KEY_C);
	/* misses */
	assert_null(psk_find(t, "carol", 5));
	assert_null(psk_find(t, "alic", 4));
	assert_null(psk_find(t, "alice ", 6));
	assert_null(psk_find(t, "Alice", 5));
	assert_null(psk_find(t, "alice", 0));
	assert_null(psk_find(t, "bob\0", 4));
	psk_free(t);
}

static void
t_empty_file(void **state)
{
	struct psk_table	*t;

	(void)state;
	t = load("", ":");
	assert_int_equal(psk_count(t), 0);
	assert_null(psk_find(t, "alice", 5));
	psk_free(t);
	t = load("# nothing yet\n\n", ":");
	assert_int_equal(psk_count(t), 0);
	psk_free(t);
}

static void
t_bad_lines(void **state)
{
	char	 longid[PSK_IDENTITY_MAX + 2], line[512];

	(void)state;
	refused("alice" KEY_A "\n", 1, "no separator \":\"");
	refused("alice:" KEY_A "\nbob;" KEY_B "\n", 2, "no separator");
	refused("alice:8c701116e9127c57a99d5563709af3de"
	    "aca75563e2c4dd0865701ae839fb6d7g\n", 1,
	    "secret is not hexadecimal");
	refused("alice:00 " KEY_C "0\n", 1, "secret is not hexadecimal");
	refused("alice:0x" KEY_C "\n", 1, "secret is not hexadecimal");
	refused("alice:" KEY_A "0\n", 1,
	    "secret has an odd number of hex digits");
	refused("alice:\n", 1, "empty secret");
	refused(":" KEY_A "\n", 1, "empty identity");
	refused(" alice:" KEY_A "\n", 1,
	    "identity starts or ends with a blank");
	refused("alice :" KEY_A "\n", 1,
	    "identity starts or ends with a blank");
	refused("ali\x01" "ce:" KEY_A "\n", 1, "control character in identity");
	refused("alice:" KEY_A KEY_B KEY_A "\n", 1,
	    "secret longer than 64 bytes");
	/* 128 bytes are fine, 129 are not */
	memset(longid, 'i', sizeof(longid));
	longid[PSK_IDENTITY_MAX] = '\0';
	snprintf(line, sizeof(line), "%s:" KEY_A "\n", longid);
	psk_free(load(line, ":"));
	longid[PSK_IDENTITY_MAX] = 'i';
	longid[PSK_IDENTITY_MAX + 1] = '\0';
	snprintf(line, sizeof(line), "%s:" KEY_A "\n", longid);
	refused(line, 1, "identity longer than 128 bytes");
	/* 64 bytes are fine */
	psk_free(load("alice:" KEY_A KEY_B "\n", ":"));
}

static void
t_nul_byte(void **state)
{
	static const char text[] = "alice:" KEY_A "\nb\0b:" KEY_B "\n";
	struct psk_table	*t;
	char			*logged, *want;
	int			 saved;

	(void)state;
	write_file(psk_path, text, sizeof(text) - 1, 0600);
	stderr_to_log(&saved);
	t = psk_load(psk_path, ":");
	logged = stderr_back(saved);
	assert_null(t);
	xasprintf(&want, "%s:2: NUL byte in line", psk_path);
	assert_non_null(strstr(logged, want));
	free(want);
	free(logged);
}

/* Every bad line is reported, not only the first. */
static void
t_every_error(void **state)
{
	struct psk_table	*t;
	char			*logged, *want;
	int			 i;

	(void)state;
	t = load_logged("a:" KEY_A "\nb" KEY_B "\nc:1\nd:zz\ne:" KEY_C "\n",
	    0600, ":", &logged);
	assert_null(t);
	for (i = 2; i <= 4; i++) {
		xasprintf(&want, "%s:%d: ", psk_path, i);
		assert_non_null(strstr(logged, want));
		free(want);
	}
	xasprintf(&want, "%s:5: ", psk_path);
	assert_null(strstr(logged, want));
	free(want);
	free(logged);
}

static void
t_duplicates(void **state)
{
	(void)state;
	refused("alice:" KEY_A "\nbob:" KEY_B "\nalice:" KEY_B "\n", 3,
	    "duplicate identity (first on line 1)");
	/* the same key twice is still two entries for one identity */
	refused("bob:" KEY_B "\nbob:" KEY_B "\n", 2,
	    "duplicate identity (first on line 1)");
}

static void
t_separator(void **state)
{
	struct psk_table	*t;
	char			*logged;

	(void)state;
	/* split at the first occurrence; ":" is then part of identities */
	t = load("urn:dev:1|" KEY_A "\nbob|" KEY_B "\n", "|");
	assert_int_equal(psk_count(t), 2);
	assert_secret(psk_find(t, "urn:dev:1", 9), KEY_A);
	psk_free(t);
	t = load("alice;;" KEY_A "\nbob;;" KEY_B "\n", ";;");
	assert_secret(psk_find(t, "bob", 3), KEY_B);
	psk_free(t);
	t = load("alice = " KEY_A "\n", " = ");
	assert_secret(psk_find(t, "alice", 5), KEY_A);
	psk_free(t);
	/* the default separator in a file written for another one */
	t = load_logged("alice:" KEY_A "\n", 0600, ";", &logged);
	assert_null(t);
	assert_non_null(strstr(logged, ":1: no separator \";\""));
	assert_null(strstr(logged, KEY_A));
	free(logged);
	/* separators that cannot work */
	t = load_logged("alice:" KEY_A "\n", 0600, "", &logged);
	assert_null(t);
	assert_non_null(strstr(logged, "separator must be 1 to 16 bytes"));
	free(logged);
	t = load_logged("alice:" KEY_A "\n", 0600, "\n", &logged);
	assert_null(t);
	free(logged);
	t = load_logged("alice:" KEY_A "\n", 0600, "01234567890123456",
	    &logged);
	assert_null(t);
	free(logged);
}

static void
t_loose_mode(void **state)
{
	static const mode_t	 loose[] = { 0640, 0604, 0660, 0644, 0606,
	    0620, 0602, 0610 };
	struct psk_table	*t;
	char			*logged, *want;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(loose) / sizeof(loose[0]); i++) {
		t = load_logged("alice:" KEY_A "\n", loose[i], ":", &logged);
		assert_null(t);
		xasprintf(&want, "%s: mode %04o lets group or others in",
		    psk_path, (unsigned)loose[i]);
		if (strstr(logged, want) == NULL)
			fail_msg("want \"%s\" in:\n%s", want, logged);
		assert_null(strstr(logged, KEY_A));
		free(want);
		free(logged);
	}
	t = load_logged("alice:" KEY_A "\n", 0400, ":", &logged);
	assert_non_null(t);
	psk_free(t);
	free(logged);
}

static void
t_not_a_file(void **state)
{
	struct psk_table	*t;
	char			*logged, *missing;
	int			 saved;

	(void)state;
	stderr_to_log(&saved);
	t = psk_load(tmpdir, ":");
	logged = stderr_back(saved);
	assert_null(t);
	assert_true(strstr(logged, "not a regular file") != NULL ||
	    strstr(logged, "lets group or others in") != NULL);
	free(logged);
	xasprintf(&missing, "%s/missing", tmpdir);
	stderr_to_log(&saved);
	t = psk_load(missing, ":");
	logged = stderr_back(saved);
	assert_null(t);
	assert_non_null(strstr(logged, "No such file"));
	free(logged);
	free(missing);
}

static void
t_same_secret(void **state)
{
	struct psk_table	*t;

	(void)state;
	t = load("a:" KEY_A "\nb:" KEY_A "\nc:" KEY_B "\nd:" KEY_A "00\n",
	    ":");
	assert_true(psk_same_secret(psk_find(t, "a", 1), psk_find(t, "b", 1)));
	assert_false(psk_same_secret(psk_find(t, "a", 1),
	    psk_find(t, "c", 1)));
	assert_false(psk_same_secret(psk_find(t, "a", 1),
	    psk_find(t, "d", 1)));
	psk_free(t);
}

/* psk_free wipes every secret; the loader wipes the file it read. */
static void
t_wipe(void **state)
{
	static const char	 text[] = "alice:" KEY_A "\nbob:" KEY_B "\n";
	static const char	 bad[] = "alice:" KEY_A "\nbob\n";
	struct psk_table	*t;
	const struct psk_entry	*a, *b;
	const char		*ap, *bp;
	char			*logged;
	size_t			 i;
	bool			 file_wiped = false, ents_wiped;

	(void)state;
	write_file(psk_path, text, sizeof(text) - 1, 0600);
	wipes_start();
	t = psk_load(psk_path, ":");
	recording = false;
	assert_non_null(t);
	for (i = 0; i < nwipes; i++)
		if (wipes[i].len == sizeof(text) - 1)
			file_wiped = true;
	assert_true(file_wiped);
	a = psk_find(t, "alice", 5);
	b = psk_find(t, "bob", 3);
	assert_non_null(a);
	assert_non_null(b);
	ap = (const char *)a->secret;
	bp = (const char *)b->secret;
	wipes_start();
	psk_free(t);
	recording = false;
	assert_true(wiped(ap, PSK_SECRET_MAX));
	assert_true(wiped(bp, PSK_SECRET_MAX));
	/* a refused file is wiped too, and so is the entry it had parsed */
	wipes_start();
	assert_null(load_logged(bad, 0600, ":", &logged));
	recording = false;
	free(logged);
	for (i = 0, file_wiped = ents_wiped = false; i < nwipes; i++) {
		file_wiped = file_wiped || wipes[i].len == sizeof(bad) - 1;
		ents_wiped = ents_wiped ||
		    wipes[i].len == 2 * sizeof(struct psk_entry);
	}
	assert_true(file_wiped);
	assert_true(ents_wiped);
}

static void
t_big(void **state)
{
	struct psk_table	*t, *small;
	struct timespec		 t0;
	char			*text, *p, id[32];
	size_t			 i, len, hits = 0;
	double			 load_s, hit_s, hot_s, miss_s, small_s;
	const size_t		 rounds = 1000000;

	(void)state;
	len = (size_t)BIG_N * (10 + 1 + 64 + 1) + 1;
	p = text = xmalloc(len);
	for (i = 0; i < BIG_N; i++)
		p += sprintf(p, "dev%07zu:%064zx\n", i, i * 2654435761u);
	write_file(psk_path, text, (size_t)(p - text), 0600);
	free(text);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	t = psk_load(psk_path, ":");
	load_s = seconds_since(&t0);
	assert_non_null(t);
	assert_int_equal(psk_count(t), BIG_N);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < rounds; i++) {
		snprintf(id, sizeof(id), "dev%07zu", (i * 7919) % BIG_N);
		hits += psk_find(t, id, 10) != NULL;
	}
	hit_s = seconds_since(&t0);
	assert_int_equal(hits, rounds);
	/* 1,000 of the 100,000, so that caches are not what is measured */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0, hits = 0; i < rounds; i++) {
		snprintf(id, sizeof(id), "dev%07zu", (i * 7919) % 1000 * 100);
		hits += psk_find(t, id, 10) != NULL;
	}
	hot_s = seconds_since(&t0);
	assert_int_equal(hits, rounds);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < rounds; i++) {
		snprintf(id, sizeof(id), "DEV%07zu", i % BIG_N);
		assert_null(psk_find(t, id, 10));
	}
	miss_s = seconds_since(&t0);
	assert_secret(psk_find(t, "dev0000001", 10),
	    "000000000000000000000000000000000000000000000000000000009e3779b1");

	/* the same lookups in a table of 1,000: the time per lookup holds */
	p = text = xmalloc(1000 * 80);
	for (i = 0; i < 1000; i++)
		p += sprintf(p, "dev%07zu:%064zx\n", i, i);
	write_file(psk_path, text, (size_t)(p - text), 0600);
	free(text);
	small = psk_load(psk_path, ":");
	assert_non_null(small);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0, hits = 0; i < rounds; i++) {
		snprintf(id, sizeof(id), "dev%07zu", (i * 7919) % 1000);
		hits += psk_find(small, id, 10) != NULL;
	}
	small_s = seconds_since(&t0);
	assert_int_equal(hits, rounds);

	printf("[ psk     ] %d identities loaded in %.1f ms\n", BIG_N,
	    load_s * 1e3);
	printf("[ psk     ] lookup, snprintf included: in 100,000: %.0f ns "
	    "hit, %.0f ns miss, %.0f ns hit among 1,000 of them; in 1,000: "
	    "%.0f ns hit\n", hit_s * 1e9 / rounds, miss_s * 1e9 / rounds,
	    hot_s * 1e9 / rounds, small_s * 1e9 / rounds);
	psk_free(small);
	psk_free(t);
}

static void
t_null(void **state)
{
	(void)state;
	psk_free(NULL);
	assert_int_equal(psk_count(NULL), 0);
	assert_null(psk_find(NULL, "alice", 5));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_good_file),
		cmocka_unit_test(t_empty_file),
		cmocka_unit_test(t_bad_lines),
		cmocka_unit_test(t_nul_byte),
		cmocka_unit_test(t_every_error),
		cmocka_unit_test(t_duplicates),
		cmocka_unit_test(t_separator),
		cmocka_unit_test(t_loose_mode),
		cmocka_unit_test(t_not_a_file),
		cmocka_unit_test(t_same_secret),
		cmocka_unit_test(t_wipe),
		cmocka_unit_test(t_big),
		cmocka_unit_test(t_null),
	};

	log_init("t_psk", LOG_LVL_INFO, false);
	return cmocka_run_group_tests(tests, setup, teardown);
}
