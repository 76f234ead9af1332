/*
 * t_crl_table.c: CRL table files written by crl_table_write and read back
 * by crl_table_open and crl_table_from_buffer: round trips (0, 1, 100000
 * entries), lookups by serial in their several forms, what the writer
 * refuses, content addressing, pruning, and every kind of damaged table
 * refused with its reason.  Lookups in skewed and large tables are in
 * t_crl_lookup.c.
 *
 * A damaged table is tried both as an exact-size heap buffer (ASan sees a
 * read past its end) and as a file named after the SHA-256 of its damaged
 * content, so that the check for the damaged field, not the checksum, is
 * what refuses it.  The bit flips are opened under the original name, so
 * there the checksum must refuse them.
 *
 * "t_crl_table --seeds DIR" writes a few valid tables into DIR for the
 * fuzz corpus and exits.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "crl_table.h"
#include "crl_testutil.h"
#include "ipc_testutil.h"
#include "log.h"
#include "testutil.h"

#define NMANY		100000
#define NBASE		5

/* A valid table of NBASE entries the damage tests start from. */
static uint8_t	*base;
static size_t	 base_len;
static uint8_t	 base_id[SNAP_ID_LEN];

/* --- helpers ------------------------------------------------------------- */

static void
sha256(const void *b, size_t len, uint8_t id[SNAP_ID_LEN])
{
	unsigned int	 n;

	assert_int_equal(EVP_Digest(b, len, id, &n, EVP_sha256(), NULL), 1);
}

static uint8_t *
base_copy(void)
{
	return copy_bytes(base, base_len);
}

static void *
from_buffer(const void *b, size_t len, char *err, size_t errlen)
{
	return crl_table_from_buffer(b, len, err, errlen);
}

/* Open the table named by id (arg) in crl_dir. */
static void *
open_id(const void *id, char *err, size_t errlen)
{
	return crl_table_open(crl_dir, id, err, errlen);
}

/* Refused from a buffer of exactly len bytes, with why in the reason. */
static void
expect_bad_buf(const uint8_t *b, size_t len, const char *why)
{
	expect_refused_buffer(from_buffer, "crl table ", b, len, why);
}

/*
 * Refused as the file named by id (NULL: by the SHA-256 of b, so that
 * the checksum is right), with why and the path in the reason.
 */
static void
expect_bad_file(const uint8_t *b, size_t len, const uint8_t *id,
    const char *why)
{
	uint8_t	 sum[SNAP_ID_LEN];
	char	 path[PATH_MAX], err[512];

	if (id == NULL) {
		sha256(b, len, sum);
		id = sum;
	}
	table_path(id, path, sizeof(path));
	write_file(path, b, len, 0644);
	err[0] = '\0';
	errno = 0;
	expect_refused_open(crl_table_open(crl_dir, id, err, sizeof(err)),
	    err, path, len, why);
	unlink(path);
}

static void
expect_bad(const uint8_t *b, size_t len, const char *why)
{
	expect_bad_buf(b, len, why);
	expect_bad_file(b, len, NULL, why);
}

/* Expect b refused for why, and free it. */
static void
expect_bad_free(uint8_t *b, const char *why)
{
	expect_bad(b, base_len, why);
	free(b);
}

/* Expect b accepted both ways, and free it. */
static void
expect_ok_free(uint8_t *b)
{
	struct crl_table	*t;
	uint8_t			 id[SNAP_ID_LEN];
	char			 err[512], path[PATH_MAX];

	if ((t = crl_table_from_buffer(b, base_len, err, sizeof(err))) ==
	    NULL)
		fail_msg("refused: %s", err);
	crl_table_close(t);
	sha256(b, base_len, id);
	table_path(id, path, sizeof(path));
	write_file(path, b, base_len, 0644);
	crl_table_close(open_ok(id));
	unlink(path);
	free(b);
}

/* The base entries: lengths 1, 1, 2, 3, 20; every kind of reason. */
static void
base_entries(struct crl_entry e[NBASE])
{
	static const uint8_t	 s20[CRL_SERIAL_MAX] = { 1, 2, 3, 4, 5, 6,
				    7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
				    19, 20 };

	memset(e, 0, NBASE * sizeof(*e));
	set_serial(&e[0], s20, sizeof(s20));
	set_serial(&e[1], (const uint8_t *)"\xff\xff\xff", 3);
	set_serial(&e[2], (const uint8_t *)"\x01\x00", 2);
	set_serial(&e[3], (const uint8_t *)"\x7f", 1);
	set_serial(&e[4], (const uint8_t *)"\x01", 1);
	e[0].reason = CRL_TABLE_REASON_NONE;
	e[1].reason = 1;
	e[2].reason = CRL_TABLE_REASON_MAX;
	e[3].reason = 0;
	e[4].reason = 4;
	e[0].revoked_at = NOW - 1;
	e[1].revoked_at = -1;
	e[4].revoked_at = INT64_MAX;
}

/* --- set-up -------------------------------------------------------------- */

static int
setup(void **state)
{
	struct crl_table_header	 h;
	struct crl_entry	 e[NBASE];
	char			 path[PATH_MAX];

	(void)state;
	if (crl_dir_make("t_crl_table") == -1)
		return -1;
	make_tmpl(&h);
	base_entries(e);
	if (crl_table_write(crl_dir, &h, e, NBASE, base_id) == -1)
		return -1;
	table_path(base_id, path, sizeof(path));
	base = read_all(path, &base_len);
	unlink(path);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	free(base);
	return remove_tmpdir(crl_dir, 1);
}

/* --- round trips --------------------------------------------------------- */

static void
check_header(const struct crl_table *t, size_t n)
{
	const struct crl_table_header	*h = crl_table_header(t);
	struct crl_table_header		 tmpl;

	make_tmpl(&tmpl);
	assert_memory_equal(h->magic, CRL_TABLE_MAGIC, 8);
	assert_int_equal(h->version, SNAP_VERSION);
	assert_int_equal(h->header_len, sizeof(*h));
	assert_int_equal(h->count, n);
	assert_int_equal(h->file_len, sizeof(*h) +
	    n * sizeof(struct crl_entry));
	assert_int_equal(h->this_update, tmpl.this_update);
	assert_int_equal(h->next_update, tmpl.next_update);
	assert_memory_equal(h->issuer_id, tmpl.issuer_id, SNAP_ID_LEN);
	assert_int_equal(h->crl_number_len, 2);
	assert_memory_equal(h->crl_number, tmpl.crl_number, CRL_SERIAL_MAX);
	assert_memory_equal(h->pad, "\0\0\0", 3);
}

static void
t_empty(void **state)
{
	struct crl_table_header	 h;
	struct crl_table	*t;
	struct stat		 st;
	uint8_t			 id[SNAP_ID_LEN];
	char			 path[PATH_MAX];

	(void)state;
	make_tmpl(&h);
	assert_int_equal(crl_table_write(crl_dir, &h, NULL, 0, id), 0);
	table_path(id, path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, sizeof(struct crl_table_header));
	t = open_ok(id);
	check_header(t, 0);
	assert_null(crl_table_lookup(t, (const uint8_t *)"\x01", 1));
	assert_null(crl_table_lookup(t, (const uint8_t *)"\x00", 1));
	crl_table_close(t);
	unlink(path);
}

static void
t_one(void **state)
{
	struct crl_table_header	 h;
	const struct crl_entry	*r;
	struct crl_table	*t;
	struct crl_entry	 e;
	uint8_t			 id[SNAP_ID_LEN];
	char			 path[PATH_MAX];

	(void)state;
	make_tmpl(&h);
	memset(&e, 0, sizeof(e));
	set_serial(&e, (const uint8_t *)"\x12\x34", 2);
	e.reason = 1;
	e.revoked_at = NOW - 5;
	assert_int_equal(crl_table_write(crl_dir, &h, &e, 1, id), 0);
	t = open_ok(id);
	check_header(t, 1);
	assert_non_null(r = crl_table_lookup(t, (const uint8_t *)"\x12\x34",
	    2));
	assert_memory_equal(r, &e, sizeof(e));
	assert_null(crl_table_lookup(t, (const uint8_t *)"\x12", 1));
	assert_null(crl_table_lookup(t, (const uint8_t *)"\x12\x35", 2));
	assert_null(crl_table_lookup(t, (const uint8_t *)"\x12\x34\x00", 3));
	crl_table_close(t);
	table_path(id, path, sizeof(path));
	unlink(path);
}

/*
 * NMANY random entries in random order: written sorted (the caller's
 * array is sorted in place), each one found as it was, and misses missed.
 */
static void
t_many(void **state)
{
	struct crl_table_header	 h;
	const struct crl_entry	*r;
	struct crl_table	*t;
	struct crl_entry	*v, *copy, miss;
	uint8_t			 id[SNAP_ID_LEN];
	char			 path[PATH_MAX];
	size_t			 i, found = 0;

	(void)state;
	make_tmpl(&h);
	v = gen_entries(NMANY);
	assert_non_null(copy = malloc(NMANY * sizeof(*copy)));
	memcpy(copy, v, NMANY * sizeof(*copy));
	assert_int_equal(crl_table_write(crl_dir, &h, v, NMANY, id), 0);
	for (i = 1; i < NMANY; i++)
		assert_true(crl_entry_cmp(&v[i - 1], &v[i]) < 0);
	t = open_ok(id);
	check_header(t, NMANY);
	for (i = 0; i < NMANY; i++) {
		r = crl_table_lookup(t, copy[i].serial, copy[i].serial_len);
		if (r == NULL)
			fail_msg("entry %zu not found", i);
		assert_memory_equal(r, &copy[i], sizeof(*r));
	}
	/* Random serials: found exactly when they are in the set. */
	for (i = 0; i < NMANY; i++) {
		random_entry(&miss);
		r = crl_table_lookup(t, miss.serial, miss.serial_len);
		if (bsearch(&miss, v, NMANY, sizeof(*v), entry_qsort_cmp) !=
		    NULL) {
			assert_non_null(r);
			found++;
		} else
			assert_null(r);
	}
	/* Short serials collide often: some of those were hits. */
	assert_true(found > 0);
	crl_table_close(t);
	table_path(id, path, sizeof(path));
	unlink(path);
	free(v);
	free(copy);
}

/* Leading zeros, the serial 0, and serials too long to be listed. */
static void
t_lookup_forms(void **state)
{
	struct crl_table_header	 h;
	struct crl_table	*t;
	struct crl_entry	 e[3];
	uint8_t			 id[SNAP_ID_LEN], buf[64];
	char			 path[PATH_MAX];

	(void)state;
	make_tmpl(&h);
	memset(e, 0, sizeof(e));
	set_serial(&e[0], (const uint8_t *)"\x00", 1);	/* the serial 0 */
	set_serial(&e[1], (const uint8_t *)"\x80\x01", 2);
	memset(buf, 0xee, CRL_SERIAL_MAX);
	set_serial(&e[2], buf, CRL_SERIAL_MAX);
	assert_int_equal(crl_table_write(crl_dir, &h, e, 3, id), 0);
	t = open_ok(id);

	assert_non_null(crl_table_lookup(t, (const uint8_t *)"\x80\x01", 2));
	assert_non_null(crl_table_lookup(t, (const uint8_t *)"\x00\x80\x01",
	    3));
	memset(buf, 0, sizeof(buf));
	buf[62] = 0x80;
	buf[63] = 0x01;
	assert_non_null(crl_table_lookup(t, buf, 64));
	assert_ptr_equal(crl_table_lookup(t, buf, 64),
	    crl_table_lookup(t, buf + 62, 2));
	/* 0, however many zero bytes spell it. */
	assert_non_null(crl_table_lookup(t, buf, 1));
	assert_non_null(crl_table_lookup(t, buf, 20));
	assert_ptr_equal(crl_table_lookup(t, buf, 40),
	    crl_table_lookup(t, buf, 1));
	assert_null(crl_table_lookup(t, buf, 0));
	/* 20 bytes, with zeros in front: found; 21 significant: never. */
	memset(buf, 0, sizeof(buf));
	memset(buf + 10, 0xee, CRL_SERIAL_MAX);
	assert_non_null(crl_table_lookup(t, buf, 10 + CRL_SERIAL_MAX));
	buf[9] = 0x01;
	assert_null(crl_table_lookup(t, buf + 9, CRL_SERIAL_MAX + 1));
	/* Prefixes and extensions of a listed serial are other serials. */
	assert_null(crl_table_lookup(t, (const uint8_t *)"\x80", 1));
	assert_null(crl_table_lookup(t, (const uint8_t *)"\x80\x01\x00", 3));
	assert_null(crl_table_lookup(t, (const uint8_t *)"\x01", 1));
	crl_table_close(t);
	table_path(id, path, sizeof(path));
	unlink(path);
}

/* --- the writer refuses -------------------------------------------------- */

static void
expect_write_refused(struct crl_entry *e, size_t n, const char *why)
{
	struct crl_table_header	 h;
	uint8_t			 id[SNAP_ID_LEN];
	char			*logged;
	int			 saved;

	make_tmpl(&h);
	stderr_to_log(&saved);
	assert_int_equal(crl_table_write(crl_dir, &h, e, n, id), -1);
	logged = stderr_back(saved);
	if (strstr(logged, why) == NULL || strstr(logged, crl_dir) == NULL)
		fail_msg("expected \"%s\", log: %s", why, logged);
	free(logged);
	/* Nothing left behind. */
	assert_int_equal(count_files(crl_dir, CRL_TABLE_PREFIX), 0);
	assert_int_equal(count_files(crl_dir, ".crl-"), 0);
}

static void
t_duplicates(void **state)
{
	struct crl_entry	 e[NBASE + 1], *v;

	(void)state;
	base_entries(e);
	e[NBASE] = e[2];
	e[NBASE].reason = 7;	/* same serial, other details */
	expect_write_refused(e, NBASE + 1, "duplicate CRL entry of serial "
	    "0100");
	/* Far apart in a large input. */
	v = gen_entries(1000);
	v[999] = v[17];
	expect_write_refused(v, 1000, "duplicate CRL entry");
	free(v);
}

static void
t_writer_refuses(void **state)
{
	struct crl_table_header	 h;
	struct crl_entry	 e[NBASE];
	uint8_t			 id[SNAP_ID_LEN];
	char			 dir[PATH_MAX], *logged;
	int			 saved;

	(void)state;
	base_entries(e);
	e[3].serial_len = 0;
	expect_write_refused(e, NBASE, "serial_len 0 not in 1..20");
	base_entries(e);
	e[3].serial_len = CRL_SERIAL_MAX + 1;
	expect_write_refused(e, NBASE, "serial_len 21");
	base_entries(e);
	set_serial(&e[1], (const uint8_t *)"\x00\x05", 2);
	expect_write_refused(e, NBASE, "leading zero");
	base_entries(e);
	e[4].serial[7] = 1;
	expect_write_refused(e, NBASE, "serial padding not zero");
	base_entries(e);
	e[2].reason = CRL_TABLE_REASON_MAX + 1;
	expect_write_refused(e, NBASE, "unknown reason 11");
	base_entries(e);
	e[2].reason = CRL_TABLE_REASON_NONE - 1;
	expect_write_refused(e, NBASE, "unknown reason 254");
	base_entries(e);
	e[0].pad[1] = 1;
	expect_write_refused(e, NBASE, "pad not zero");
	/* Too many: refused before the entries are looked at. */
	expect_write_refused(e, (size_t)CRL_TABLE_MAX_ENTRIES + 1,
	    "over the limit");

	/* A CRL number too long for the header. */
	base_entries(e);
	make_tmpl(&h);
	h.crl_number_len = CRL_SERIAL_MAX + 1;
	stderr_to_log(&saved);
	assert_int_equal(crl_table_write(crl_dir, &h, e, NBASE, id), -1);
	logged = stderr_back(saved);
	assert_non_null(strstr(logged, "crl_number_len 21"));
	free(logged);

	/* A directory that is not there: logged with the path. */
	snprintf(dir, sizeof(dir), "%s/missing", crl_dir);
	make_tmpl(&h);
	stderr_to_log(&saved);
	assert_int_equal(crl_table_write(dir, &h, e, NBASE, id), -1);
	logged = stderr_back(saved);
	if (strstr(logged, dir) == NULL)
		fail_msg("log does not name %s: %s", dir, logged);
	free(logged);
	assert_int_equal(count_files(crl_dir, ".crl-"), 0);
}

/*
 * The name is the content: the same entries in any order give the same
 * file, which is then kept as it is; other content, another name.
 */
static void
t_content_addressed(void **state)
{
	struct crl_table_header	 h;
	struct crl_entry	 e[NBASE];
	struct stat		 st1, st2;
	uint8_t			 id1[SNAP_ID_LEN], id2[SNAP_ID_LEN];
	uint8_t			 sum[SNAP_ID_LEN], *b;
	char			 path[PATH_MAX], path2[PATH_MAX];
	mode_t			 mask;
	size_t			 len;

	(void)state;
	make_tmpl(&h);
	base_entries(e);
	mask = umask(077);	/* 0644 comes from fchmod, not the umask */
	assert_int_equal(crl_table_write(crl_dir, &h, e, NBASE, id1), 0);
	umask(mask);
	assert_memory_equal(id1, base_id, SNAP_ID_LEN);
	table_path(id1, path, sizeof(path));
	assert_int_equal(stat(path, &st1), 0);
	assert_int_equal(st1.st_mode & 07777, 0644);
	/* The name is the SHA-256 of the bytes. */
	b = read_all(path, &len);
	sha256(b, len, sum);
	assert_memory_equal(sum, id1, SNAP_ID_LEN);
	assert_int_equal(len, base_len);
	assert_memory_equal(b, base, len);
	free(b);

	/* Again, from another order, after a while: the file is kept. */
	usleep(20 * 1000);
	base_entries(e);
	shuffle(e, NBASE);
	assert_int_equal(crl_table_write(crl_dir, &h, e, NBASE, id2), 0);
	assert_memory_equal(id1, id2, SNAP_ID_LEN);
	assert_int_equal(stat(path, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	assert_int_equal(st1.st_mtim.tv_sec, st2.st_mtim.tv_sec);
	assert_int_equal(st1.st_mtim.tv_nsec, st2.st_mtim.tv_nsec);
	assert_int_equal(count_files(crl_dir, ".crl-"), 0);
	assert_int_equal(count_files(crl_dir, CRL_TABLE_PREFIX), 1);

	/* A file of that name cut short is replaced, not kept. */
	assert_int_equal(truncate(path, 104), 0);
	base_entries(e);
	assert_int_equal(crl_table_write(crl_dir, &h, e, NBASE, id2), 0);
	crl_table_close(open_ok(id1));

	/* Any change to the header or an entry: another name. */
	h.this_update++;
	base_entries(e);
	assert_int_equal(crl_table_write(crl_dir, &h, e, NBASE, id2), 0);
	assert_memory_not_equal(id1, id2, SNAP_ID_LEN);
	table_path(id2, path2, sizeof(path2));
	unlink(path2);
	make_tmpl(&h);
	base_entries(e);
	e[1].revoked_at++;
	assert_int_equal(crl_table_write(crl_dir, &h, e, NBASE, id2), 0);
	assert_memory_not_equal(id1, id2, SNAP_ID_LEN);
	table_path(id2, path2, sizeof(path2));
	unlink(path2);
	unlink(path);
}

/* --- damaged tables ------------------------------------------------------ */

static void
t_base_ok(void **state)
{
	const struct crl_entry	*r;
	struct crl_table	*t;
	uint8_t			*b = base_copy();
	char			 err[256];
	size_t			 i;

	(void)state;
	assert_int_equal(base_len, sizeof(struct crl_table_header) +
	    NBASE * sizeof(struct crl_entry));
	if ((t = crl_table_from_buffer(b, base_len, err, sizeof(err))) ==
	    NULL)
		fail_msg("%s", err);
	check_header(t, NBASE);
	/* Sorted: 01, 7f, 0100, ffffff, 0102..14. */
	assert_int_equal(ENT(b, 0)->serial[0], 0x01);
	assert_int_equal(ENT(b, 1)->serial[0], 0x7f);
	assert_int_equal(ENT(b, 2)->serial_len, 2);
	assert_int_equal(ENT(b, 3)->serial_len, 3);
	assert_int_equal(ENT(b, 4)->serial_len, 20);
	for (i = 0; i < NBASE; i++) {
		r = crl_table_lookup(t, ENT(b, i)->serial,
		    ENT(b, i)->serial_len);
		assert_ptr_equal(r, ENT(b, i));
	}
	crl_table_close(t);
	crl_table_close(NULL);
	free(b);
}

static void
t_truncated(void **state)
{
	size_t	 n;

	(void)state;
	for (n = 0; n < base_len; n++)
		expect_bad_buf(base, n, n < sizeof(struct crl_table_header) ?
		    "too short" : "file_len");
	/* As files: refused before the mapping when the size says so. */
	expect_bad_file(base, 0, NULL, "too short (0 bytes)");
	expect_bad_file(base, 1, NULL, "too short");
	expect_bad_file(base, 103, NULL, "too short");
	expect_bad_file(base, 105, NULL, "not a header and whole entries");
	expect_bad_file(base, base_len - 1, NULL, "not a header and whole");
	expect_bad_file(base, 104, NULL, "file_len");
	expect_bad_file(base, 104 + 32, NULL, "file_len");
	expect_bad_file(base, base_len - 32, NULL, "file_len");
	/* Under the name of the whole table. */
	expect_bad_file(base, base_len - 32, base_id, "file_len");
	expect_bad_file(base, base_len - 1, base_id, "not a header");
}

static void
t_longer(void **state)
{
	uint8_t	*b;

	(void)state;
	assert_non_null(b = calloc(1, base_len + 32));
	memcpy(b, base, base_len);
	expect_bad(b, base_len + 32, "file_len");
	free(b);
}

static void
t_bad_header(void **state)
{
	uint8_t	*b;

	(void)state;
	b = base_copy();
	b[7] = 'X';
	expect_bad_free(b, "bad magic");
	b = base_copy();
	memcpy(b, "STMQSNAP", 8);	/* a snapshot is not a table */
	expect_bad_free(b, "bad magic");
	b = base_copy();
	HDR(b)->version = 1;
	expect_bad_free(b, "version 1, expected 2");
	b = base_copy();
	HDR(b)->version = 3;
	expect_bad_free(b, "version 3, expected 2");
	b = base_copy();
	HDR(b)->header_len = 103;
	expect_bad_free(b, "header_len 103, expected 104");
	b = base_copy();
	HDR(b)->header_len = 0;
	expect_bad_free(b, "header_len 0, expected 104");
	b = base_copy();
	HDR(b)->file_len++;
	expect_bad_free(b, "file_len");
	b = base_copy();
	HDR(b)->file_len = UINT64_MAX;
	expect_bad_free(b, "file_len");
	b = base_copy();
	HDR(b)->count++;
	expect_bad_free(b, "count 6 does not match a file of 264 bytes");
	b = base_copy();
	HDR(b)->count--;
	expect_bad_free(b, "count 4 does not match");
	b = base_copy();
	HDR(b)->count = 0;
	expect_bad_free(b, "count 0 does not match");
	b = base_copy();
	HDR(b)->count = (uint64_t)CRL_TABLE_MAX_ENTRIES + 1;
	expect_bad_free(b, "count 16777217 over 16777216");
	/* A count whose size wraps 64 bits around to the right one. */
	b = base_copy();
	HDR(b)->count = NBASE + (UINT64_C(1) << 59);
	expect_bad_free(b, "over 16777216");
	b = base_copy();
	HDR(b)->count = UINT64_MAX;
	expect_bad_free(b, "over");

	b = base_copy();
	HDR(b)->crl_number_len = CRL_SERIAL_MAX + 1;
	expect_bad_free(b, "crl_number_len 21 over 20");
	b = base_copy();
	HDR(b)->crl_number_len = 255;
	expect_bad_free(b, "crl_number_len 255 over 20");
	b = base_copy();
	HDR(b)->crl_number[CRL_SERIAL_MAX - 1] = 1;
	expect_bad_free(b, "crl_number padding not zero");
	b = base_copy();
	HDR(b)->crl_number_len = 1;	/* the second byte is now padding */
	expect_bad_free(b, "crl_number padding not zero");
	b = base_copy();
	HDR(b)->pad[2] = 1;
	expect_bad_free(b, "header pad not zero");

	/* What is not checked: the times, the issuer, no CRL number. */
	b = base_copy();
	HDR(b)->this_update = INT64_MAX;
	HDR(b)->next_update = INT64_MIN;
	memset(HDR(b)->issuer_id, 0, SNAP_ID_LEN);
	memset(HDR(b)->crl_number, 0, CRL_SERIAL_MAX);
	HDR(b)->crl_number_len = 0;
	expect_ok_free(b);
}

static void
t_bad_entries(void **state)
{
	struct crl_entry	 t;
	uint8_t			*b;

	(void)state;
	/* Order: strictly increasing, by length and then by bytes. */
	b = base_copy();
	t = *ENT(b, 0);
	*ENT(b, 0) = *ENT(b, 1);
	*ENT(b, 1) = t;
	expect_bad_free(b, "entry 1: not sorted");
	b = base_copy();
	t = *ENT(b, 1);
	*ENT(b, 1) = *ENT(b, 2);	/* 2 bytes before 1 */
	*ENT(b, 2) = t;
	expect_bad_free(b, "entry 2: not sorted");
	b = base_copy();
	t = *ENT(b, 3);
	*ENT(b, 3) = *ENT(b, 4);
	*ENT(b, 4) = t;
	expect_bad_free(b, "entry 4: not sorted");
	b = base_copy();
	*ENT(b, 1) = *ENT(b, 0);
	expect_bad_free(b, "entry 1: duplicate serial");
	b = base_copy();
	*ENT(b, 4) = *ENT(b, 3);
	expect_bad_free(b, "entry 4: duplicate serial");
	/* Equal serials with other details are still duplicates. */
	b = base_copy();
	*ENT(b, 4) = *ENT(b, 3);
	ENT(b, 4)->revoked_at++;
	expect_bad_free(b, "entry 4: duplicate serial");

	b = base_copy();
	ENT(b, 0)->serial_len = 0;
	expect_bad_free(b, "entry 0: serial_len 0 not in 1..20");
	b = base_copy();
	ENT(b, 4)->serial_len = CRL_SERIAL_MAX + 1;
	expect_bad_free(b, "entry 4: serial_len 21 not in 1..20");
	b = base_copy();
	ENT(b, 2)->serial_len = 255;
	expect_bad_free(b, "entry 2: serial_len 255");
	b = base_copy();
	ENT(b, 3)->serial[0] = 0;	/* 00 ff ff */
	expect_bad_free(b, "entry 3: serial with a leading zero byte");
	b = base_copy();
	ENT(b, 0)->serial[0] = 0;	/* the serial 0 is fine... */
	expect_ok_free(b);
	b = base_copy();
	ENT(b, 2)->serial_len = 1;	/* 01 00 cut to 01: a duplicate */
	expect_bad_free(b, "entry 2: not sorted");
	b = base_copy();
	ENT(b, 0)->serial[CRL_SERIAL_MAX - 1] = 1;
	expect_bad_free(b, "entry 0: serial padding not zero");
	b = base_copy();
	ENT(b, 1)->reason = CRL_TABLE_REASON_MAX + 1;
	expect_bad_free(b, "entry 1: unknown reason 11");
	b = base_copy();
	ENT(b, 1)->reason = 254;
	expect_bad_free(b, "entry 1: unknown reason 254");
	b = base_copy();
	ENT(b, 2)->pad[0] = 1;
	expect_bad_free(b, "entry 2: pad not zero");
	b = base_copy();
	ENT(b, 4)->pad[1] = 0x80;
	expect_bad_free(b, "entry 4: pad not zero");
	/* Not checked: when, and the reasons that are known. */
	b = base_copy();
	ENT(b, 1)->revoked_at = INT64_MIN;
	ENT(b, 2)->reason = 7;
	expect_ok_free(b);
}

/*
 * Every bit of the file flipped in turn and opened under the original
 * name: always refused, and past the fields checked before the SHA-256,
 * by the SHA-256.
 */
static void
t_bit_flips(void **state)
{
	uint8_t	*b;
	size_t	 i;
	int	 bit;

	(void)state;
	b = base_copy();
	for (i = 0; i < base_len; i++)
		for (bit = 0; bit < 8; bit++) {
			b[i] ^= (uint8_t)(1 << bit);
			expect_bad_file(b, base_len, base_id,
			    i < offsetof(struct crl_table_header,
			    this_update) ? "" : "checksum mismatch");
			b[i] ^= (uint8_t)(1 << bit);
		}
	free(b);
}

/* Records are read in place: a misaligned buffer is refused, not read. */
static void
t_unaligned_buffer(void **state)
{
	(void)state;
	expect_unaligned_refused(from_buffer, base, base_len);
}

/* --- not tables ---------------------------------------------------------- */

static void
t_not_tables(void **state)
{
	uint8_t	 id[SNAP_ID_LEN];
	char	 p[PATH_MAX], err[512];
	int	 fd;

	(void)state;
	memset(id, 0x42, sizeof(id));
	table_path(id, p, sizeof(p));
	/* Missing: ENOENT, the path in the reason. */
	expect_missing(open_id, id, p);
	/* A directory, and a FIFO (the open must not wait for a writer). */
	expect_not_regular(open_id, id, p);

	/* Larger than any table may be: refused before it is mapped. */
	assert_true((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644)) != -1);
	assert_int_equal(ftruncate(fd, (off_t)(sizeof(struct crl_table_header)
	    + (uint64_t)(CRL_TABLE_MAX_ENTRIES + 1) *
	    sizeof(struct crl_entry))), 0);
	close(fd);
	assert_null(crl_table_open(crl_dir, id, err, sizeof(err)));
	assert_non_null(strstr(err, "too large"));
	assert_int_equal(errno, EINVAL);
	unlink(p);

	/* The right file under the wrong name. */
	write_file(p, base, base_len, 0644);
	assert_null(crl_table_open(crl_dir, id, err, sizeof(err)));
	assert_non_null(strstr(err, "checksum mismatch"));
	assert_int_equal(errno, EINVAL);
	unlink(p);

	/* A directory whose name leaves no room for the table's. */
	memset(p, 'a', sizeof(p) - 60);
	p[0] = '/';
	p[sizeof(p) - 60] = '\0';
	assert_null(crl_table_open(p, id, err, sizeof(err)));
	assert_non_null(strstr(err, "path too long"));

	/* The name, and a buffer too small for it. */
	crl_table_name(base_id, p, sizeof(p));
	assert_int_equal(strlen(p), CRL_TABLE_NAME_LEN);
	assert_int_equal(strncmp(p, "crl-", 4), 0);
	assert_string_equal(p + 68, ".tbl");
	crl_table_name(base_id, p, CRL_TABLE_NAME_LEN);
	assert_string_equal(p, "");
}

/* --- pruning ------------------------------------------------------------- */

static void
write_tbl(int64_t this_update, uint8_t id[SNAP_ID_LEN])
{
	struct crl_table_header	 h;
	struct crl_entry	 e[NBASE];

	make_tmpl(&h);
	h.this_update = this_update;
	base_entries(e);
	assert_int_equal(crl_table_write(crl_dir, &h, e, NBASE, id), 0);
}

static void
make_file(const char *name, time_t age)
{
	struct timespec	 ts[2];
	char		 p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", crl_dir, name);
	write_file(p, "x", 1, 0644);
	if (age > 0) {
		ts[0].tv_sec = ts[1].tv_sec = time(NULL) - age;
		ts[0].tv_nsec = ts[1].tv_nsec = 0;
		assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
	}
}

static int
exists(const char *name)
{
	char	 p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", crl_dir, name);
	return access(p, F_OK) == 0;
}

static void
t_prune(void **state)
{
	uint8_t	 ids[3][SNAP_ID_LEN], keep[2][SNAP_ID_LEN];
	char	 names[3][CRL_TABLE_NAME_LEN + 1];
	char	 upper[CRL_TABLE_NAME_LEN + 1];
	char	 p[PATH_MAX], *logged;
	size_t	 i;
	int	 saved;

	(void)state;
	for (i = 0; i < 3; i++) {
		write_tbl(NOW + (int64_t)i, ids[i]);
		crl_table_name(ids[i], names[i], sizeof(names[i]));
	}
	make_file(".crl-AAAAAA", 120);		/* left by a dead writer */
	make_file(".crl-BBBBBB", 0);		/* being written */
	make_file(".crl-CCCCCCC", 120);		/* not a name of ours */
	make_file("crl-xyz.tbl", 0);
	make_file("snapshot", 120);
	/* The name of a table, but in capitals: not one of ours either. */
	snprintf(upper, sizeof(upper), "%s", names[1]);
	for (i = 4; i < 68; i++)
		if (upper[i] >= 'a' && upper[i] <= 'f')
			upper[i] = (char)(upper[i] - 'a' + 'A');
	if (strcmp(upper, names[1]) != 0)
		make_file(upper, 0);
	/* A directory with an old temporary name is no file to remove. */
	snprintf(p, sizeof(p), "%s/.crl-DDDDDD", crl_dir);
	assert_int_equal(mkdir(p, 0755), 0);

	memcpy(keep[0], ids[0], SNAP_ID_LEN);
	memcpy(keep[1], ids[2], SNAP_ID_LEN);
	crl_tables_prune(crl_dir, (const uint8_t (*)[SNAP_ID_LEN])keep, 2);
	assert_true(exists(names[0]));
	assert_false(exists(names[1]));
	assert_true(exists(names[2]));
	assert_false(exists(".crl-AAAAAA"));
	assert_true(exists(".crl-BBBBBB"));
	assert_true(exists(".crl-CCCCCCC"));
	assert_true(exists("crl-xyz.tbl"));
	assert_true(exists("snapshot"));
	assert_true(exists(upper));
	assert_true(exists(".crl-DDDDDD"));
	/* What is kept still opens. */
	crl_table_close(open_ok(ids[0]));
	crl_table_close(open_ok(ids[2]));

	/* Keeping nothing removes every table. */
	crl_tables_prune(crl_dir, NULL, 0);
	assert_false(exists(names[0]));
	assert_false(exists(names[2]));
	/* Left: crl-xyz.tbl and upper, not names of ours. */
	assert_int_equal(count_files(crl_dir, CRL_TABLE_PREFIX), 2);
	assert_true(exists(upper));

	/* A directory that is not there: logged, nothing else. */
	snprintf(p, sizeof(p), "%s/missing", crl_dir);
	stderr_to_log(&saved);
	crl_tables_prune(p, NULL, 0);
	logged = stderr_back(saved);
	assert_non_null(strstr(logged, p));
	free(logged);
	empty_dir(crl_dir);
}

/* --- fuzz seeds ---------------------------------------------------------- */

/* v[0..n) as the table dir/name, then freed; 0, or 1 on failure. */
static int
write_seed(const char *dir, const char *name, struct crl_entry *v, size_t n)
{
	struct crl_table_header	 h;
	uint8_t			 id[SNAP_ID_LEN];
	char			 tbl[CRL_TABLE_NAME_LEN + 1];

	make_tmpl(&h);
	if (crl_table_write(dir, &h, v, n, id) == -1)
		return 1;
	free(v);
	crl_table_name(id, tbl, sizeof(tbl));
	return rename_in(dir, tbl, name);
}

/*
 * valid-N: N entries; valid-forms: the serial 0, 20 bytes, every reason;
 * valid-prefix: 16-byte serials sharing 12 bytes; valid-lengths: 5 of
 * every length (for the index's shared bits and windows).
 */
static int
write_seeds(const char *dir)
{
	struct crl_entry	*v, e[NBASE + 1];
	uint8_t			 s[CRL_SERIAL_MAX];
	char			 name[32];
	size_t			 n[] = { 0, 1, 7, 100 }, i, j, len;

	for (i = 0; i < sizeof(n) / sizeof(n[0]); i++) {
		v = gen_entries(n[i] > 0 ? n[i] : 1);
		snprintf(name, sizeof(name), "valid-%zu", n[i]);
		if (write_seed(dir, name, v, n[i]) != 0)
			return 1;
	}
	base_entries(e);
	memset(&e[NBASE], 0, sizeof(e[NBASE]));
	set_serial(&e[NBASE], (const uint8_t *)"\x00", 1);
	assert_non_null(v = malloc(sizeof(e)));
	memcpy(v, e, sizeof(e));
	if (write_seed(dir, "valid-forms", v, NBASE + 1) != 0 ||
	    write_seed(dir, "valid-prefix", gen_prefixed(100, 12), 100) != 0)
		return 1;
	assert_non_null(v = calloc(CRL_SERIAL_MAX * 5, sizeof(*v)));
	for (len = 1; len <= CRL_SERIAL_MAX; len++)
		for (i = 0; i < 5; i++) {
			for (j = 0; j < len; j++)
				s[j] = (uint8_t)rng();
			s[0] = (uint8_t)(0xa0 + i);
			set_serial(&v[(len - 1) * 5 + i], s, len);
		}
	return write_seed(dir, "valid-lengths", v, CRL_SERIAL_MAX * 5);
}

int
main(int argc, char *argv[])
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_empty),
		cmocka_unit_test(t_one),
		cmocka_unit_test(t_many),
		cmocka_unit_test(t_lookup_forms),
		cmocka_unit_test(t_duplicates),
		cmocka_unit_test(t_writer_refuses),
		cmocka_unit_test(t_content_addressed),
		cmocka_unit_test(t_base_ok),
		cmocka_unit_test(t_truncated),
		cmocka_unit_test(t_longer),
		cmocka_unit_test(t_bad_header),
		cmocka_unit_test(t_bad_entries),
		cmocka_unit_test(t_bit_flips),
		cmocka_unit_test(t_unaligned_buffer),
		cmocka_unit_test(t_not_tables),
		cmocka_unit_test(t_prune),
	};

	log_init("t_crl_table", LOG_LVL_INFO, false);
	if (argc == 3 && strcmp(argv[1], "--seeds") == 0)
		return write_seeds(argv[2]);
	return cmocka_run_group_tests(tests, setup, teardown);
}
