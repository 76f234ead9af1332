/*
 * t_crl_lookup.c: lookups in CRL tables written by crl_table_write and
 * opened by crl_table_open: skewed tables (shared prefixes, counting
 * serials, every length, crowded buckets) checked against bsearch along
 * with the size of the reader's index, a table changed under its reader,
 * lookups by certificate, and serials taken from ASN1_INTEGERs.
 *
 * The last test writes, opens and searches a table of 1,000,000 entries
 * and prints how long each step took; nothing is asserted about times.
 * tests/bench/crl_mtls_bench.sh reads its "lookup, median of N" lines.
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

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "crl_table.h"
#include "crl_testutil.h"
#include "ipc_testutil.h"
#include "log.h"
#include "testutil.h"

#define NBIG		1000000
#define NLOOKUPS	100000

/* --- set-up -------------------------------------------------------------- */

static int
setup(void **state)
{
	(void)state;
	return crl_dir_make("t_crl_lookup");
}

static int
teardown(void **state)
{
	(void)state;
	return remove_tmpdir(crl_dir, 1);
}

/* --- lookups on skewed tables ----------------------------------------- */

/*
 * What a lookup must find, the slow way: the key without its leading zero
 * bytes, searched for in the sorted v[0..n) by bsearch.
 */
static const struct crl_entry *
ref_lookup(const struct crl_entry *v, size_t n, const uint8_t *key,
    size_t len)
{
	struct crl_entry	 k;

	while (len > 1 && key[0] == 0) {
		key++;
		len--;
	}
	if (len == 0 || len > CRL_SERIAL_MAX || n == 0)
		return NULL;
	memset(&k, 0, sizeof(k));
	set_serial(&k, key, len);
	return bsearch(&k, v, n, sizeof(*v), entry_qsort_cmp);
}

/* The lookup of key agrees with ref_lookup (entries compared by value). */
static void
expect_same(const struct crl_table *t, const struct crl_entry *v, size_t n,
    const uint8_t *key, size_t len)
{
	const struct crl_entry	*r, *want;

	r = crl_table_lookup(t, key, len);
	want = ref_lookup(v, n, key, len);
	if ((r == NULL) != (want == NULL))
		fail_msg("key of %zu bytes: %s, expected %s", len,
		    r ? "found" : "not found", want ? "found" : "not");
	if (r != NULL)
		assert_memory_equal(r, want, sizeof(*r));
}

/*
 * Write v[0..n) (sorted in place by the writer), open it, and check that
 * every entry is found and that its neighbours (last byte one up or
 * down, one byte shorter or longer, a leading zero), its bit-flips and
 * random keys are found exactly when listed.  Unless max_bucket is 0,
 * the index must leave no more than that many entries to one bucket:
 * else it would be right, but no faster than a binary search.
 */
static void
check_lookups(struct crl_entry *v, size_t n, size_t max_bucket)
{
	struct crl_table_header	 h;
	struct crl_table	*t;
	struct crl_entry	 k;
	uint8_t			 id[SNAP_ID_LEN], key[CRL_SERIAL_MAX + 2];
	char			 path[PATH_MAX];
	size_t			 i, len, bit, bytes, largest;

	make_tmpl(&h);
	assert_int_equal(crl_table_write(crl_dir, &h, v, n, id), 0);
	t = open_ok(id);
	crl_table_index_stats(t, &bytes, &largest);
	if (max_bucket > 0 && largest > max_bucket)
		fail_msg("%zu entries in a bucket (index of %zu bytes), "
		    "expected %zu at most", largest, bytes, max_bucket);
	for (i = 0; i < n; i++) {
		len = v[i].serial_len;
		expect_same(t, v, n, v[i].serial, len);
		assert_non_null(crl_table_lookup(t, v[i].serial, len));
		memcpy(key, v[i].serial, len);
		key[len - 1]++;
		expect_same(t, v, n, key, len);
		key[len - 1] -= 2;
		expect_same(t, v, n, key, len);
		key[len - 1]++;
		expect_same(t, v, n, key, len - 1);
		key[len] = (uint8_t)i;
		expect_same(t, v, n, key, len + 1);
		key[0] = 0;
		memcpy(key + 1, v[i].serial, len);
		expect_same(t, v, n, key, len + 1);
		/* One bit flipped, every seventh bit in turn. */
		for (bit = i % 7; bit < 8 * len; bit += 7) {
			memcpy(key, v[i].serial, len);
			key[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
			expect_same(t, v, n, key, len);
		}
	}
	for (i = 0; i < 2000; i++) {
		random_entry(&k);
		expect_same(t, v, n, k.serial, k.serial_len);
	}
	crl_table_close(t);
	table_path(id, path, sizeof(path));
	unlink(path);
}
/*
 * The index narrows the search by bits after those all serials of a
 * length share: serials that share all but their last bits, or crowd
 * into a bucket, must be found all the same.
 */
static void
t_lookup_shared_prefix(void **state)
{
	struct crl_entry	*v;
	size_t			 pre;

	(void)state;
	/* Sharing 0 to 15 of 16 bytes; 13 and more: sequential tails. */
	for (pre = 0; pre <= 15; pre++) {
		v = gen_prefixed(3000, pre);
		check_lookups(v, 3000, 48);
		free(v);
	}
}

/* Counting serials 1..n, as small CAs issue them: lengths 1 to 3. */
static void
t_lookup_sequential(void **state)
{
	struct crl_entry	*v;
	uint8_t			 s[3];
	size_t			 n = 70000, i, len;

	(void)state;
	assert_non_null(v = calloc(n, sizeof(*v)));
	for (i = 0; i < n; i++) {
		s[0] = (uint8_t)((i + 1) >> 16);
		s[1] = (uint8_t)((i + 1) >> 8);
		s[2] = (uint8_t)(i + 1);
		for (len = 3; len > 1 && s[3 - len] == 0; len--)
			;
		set_serial(&v[i], s + 3 - len, len);
	}
	check_lookups(v, n, 16);
	free(v);
}

/*
 * Every length 1..CRL_SERIAL_MAX, all with the top bit set, with the
 * smallest and largest such serial of each length: the index's windows
 * at both ends of the serial.
 */
static void
t_lookup_mixed_lengths(void **state)
{
	struct crl_entry	*v;
	uint8_t			 s[CRL_SERIAL_MAX];
	size_t			 n = 0, max = 20 * 300, len, i, j;

	(void)state;
	assert_non_null(v = calloc(max, sizeof(*v)));
	for (len = 1; len <= CRL_SERIAL_MAX; len++) {
		/* 1 byte: 0x80..0xff only, fewer than 300. */
		for (i = 0; i < (len == 1 ? 128 : 300); i++) {
			for (j = 0; j < len; j++)
				s[j] = (uint8_t)rng();
			s[0] = (uint8_t)(0x80 | (len == 1 ? i : s[0]));
			if (i == 0)			/* 80 00 .. 00 */
				memset(s + 1, 0, len - 1);
			if (i == 1)			/* ff ff .. ff */
				memset(s, 0xff, len);
			set_serial(&v[n], s, len);
			v[n].reason = (uint8_t)(len % 11);
			n++;
		}
	}
	/* Drop the duplicates random bytes gave among 2-byte serials. */
	qsort(v, n, sizeof(*v), entry_qsort_cmp);
	for (i = 1, j = 1; i < n; i++)
		if (crl_entry_cmp(&v[j - 1], &v[i]) != 0)
			v[j++] = v[i];
	shuffle(v, j);
	check_lookups(v, j, 48);
	free(v);
}

/*
 * Adversarial spreads: all but one serial in one bucket; two clusters
 * at both ends of the range; 20-byte serials that differ in their last
 * byte alone.
 */
static void
t_lookup_crowded(void **state)
{
	struct crl_entry	*v;
	uint8_t			 s[CRL_SERIAL_MAX];
	size_t			 n = 5000, i;

	(void)state;
	v = gen_prefixed(n, 12);
	memset(s, 0, sizeof(s));
	s[0] = 0x01;			/* the outlier: skip is 0 bits */
	set_serial(&v[17], s, 16);
	check_lookups(v, n, 0);
	free(v);

	v = gen_prefixed(n, 10);
	for (i = 0; i < n; i += 2)
		v[i].serial[0] = 0xff;	/* 5a ... and ff ... */
	check_lookups(v, n, 0);
	free(v);

	assert_non_null(v = calloc(256, sizeof(*v)));
	memset(s, 0xc3, sizeof(s));
	for (i = 0; i < 256; i++) {
		s[CRL_SERIAL_MAX - 1] = (uint8_t)i;
		set_serial(&v[i], s, CRL_SERIAL_MAX);
	}
	check_lookups(v, 256, 16);
	free(v);
}

/*
 * Lookups read only where the index says, and the index holds positions
 * from the checked entries: entries changed after the open (the file
 * changed under the mapping) give wrong answers, never a read outside
 * (ASan watches the exact-size buffer).
 */
static void
t_lookup_changed_under(void **state)
{
	struct crl_table_header	 h;
	const struct crl_entry	*r, *e;
	struct crl_table	*t;
	struct crl_entry	*v, k;
	uint8_t			 id[SNAP_ID_LEN], *b;
	char			 path[PATH_MAX], err[256];
	size_t			 n = 2000, len, i, j;

	(void)state;
	make_tmpl(&h);
	v = gen_entries(n);
	assert_int_equal(crl_table_write(crl_dir, &h, v, n, id), 0);
	table_path(id, path, sizeof(path));
	b = read_all(path, &len);
	unlink(path);
	if ((t = crl_table_from_buffer(b, len, err, sizeof(err))) == NULL)
		fail_msg("%s", err);
	e = ENT(b, 0);
	for (i = 0; i < len - sizeof(h); i++)
		b[sizeof(h) + i] = (uint8_t)rng();
	for (j = 0; j < n; j++)
		if (j % 3 != 2)
			ENT(b, j)->serial_len = (uint8_t)(j % 3 ? 0 : 255);
	for (i = 0; i < 20000; i++) {
		random_entry(&k);
		r = crl_table_lookup(t, i < n ? v[i].serial : k.serial,
		    i < n ? v[i].serial_len : k.serial_len);
		assert_true(r == NULL || (r >= e && r < e + n));
	}
	crl_table_close(t);
	free(b);
	free(v);
}

/* A self-signed certificate with this serial (bn: its sign too). */
static X509 *
make_cert(const BIGNUM *bn)
{
	EVP_PKEY	*key;
	X509_NAME	*name;
	ASN1_INTEGER	*ai;
	X509		*x;

	assert_non_null(key = EVP_EC_gen("P-256"));
	assert_non_null(x = X509_new());
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_non_null(ai = BN_to_ASN1_INTEGER(bn, NULL));
	assert_int_equal(X509_set_serialNumber(x, ai), 1);	/* copied */
	ASN1_INTEGER_free(ai);
	assert_non_null(name = X509_get_subject_name(x));	/* get0 */
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"t_crl_table", -1, -1, 0), 1);
	assert_int_equal(X509_set_issuer_name(x, name), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	EVP_PKEY_free(key);
	return x;
}

/* The same certificate after a trip through DER, as a peer's arrives. */
static X509 *
der_trip(X509 *x)
{
	const unsigned char	*p;
	unsigned char		*der = NULL;
	X509			*y;
	int			 len;

	assert_true((len = i2d_X509(x, &der)) > 0);
	p = der;
	assert_non_null(y = d2i_X509(NULL, &p, len));
	OPENSSL_free(der);
	X509_free(x);
	return y;
}

static void
t_lookup_cert(void **state)
{
	struct crl_table_header	 h;
	const struct crl_entry	*r;
	struct crl_table	*t;
	struct crl_entry	 e[3];
	BIGNUM			*bn = NULL;
	X509			*x;
	uint8_t			 id[SNAP_ID_LEN];
	char			 path[PATH_MAX];

	(void)state;
	make_tmpl(&h);
	memset(e, 0, sizeof(e));
	/* 0x80ff: DER spells it 00 80 ff, OpenSSL keeps 80 ff. */
	set_serial(&e[0], (const uint8_t *)"\x80\xff", 2);
	set_serial(&e[1], (const uint8_t *)"\x05", 1);
	set_serial(&e[2], (const uint8_t *)"\x00", 1);
	e[0].reason = 1;
	assert_int_equal(crl_table_write(crl_dir, &h, e, 3, id), 0);
	t = open_ok(id);

	assert_int_equal(BN_hex2bn(&bn, "80FF"), 4);
	x = der_trip(make_cert(bn));
	assert_non_null(r = crl_table_lookup_cert(t, x));
	assert_int_equal(r->reason, 1);
	X509_free(x);
	/* Negative: the magnitude is listed, the certificate is not. */
	BN_set_negative(bn, 1);
	x = der_trip(make_cert(bn));
	assert_int_equal(ASN1_STRING_type(X509_get0_serialNumber(x)),
	    V_ASN1_NEG_INTEGER);
	assert_null(crl_table_lookup_cert(t, x));
	X509_free(x);
	BN_set_word(bn, 5);
	BN_set_negative(bn, 1);
	x = der_trip(make_cert(bn));
	assert_null(crl_table_lookup_cert(t, x));
	X509_free(x);
	BN_set_word(bn, 5);
	x = der_trip(make_cert(bn));
	assert_non_null(crl_table_lookup_cert(t, x));
	X509_free(x);
	/* 0, and one that is not listed. */
	BN_zero(bn);
	x = der_trip(make_cert(bn));
	assert_ptr_equal(crl_table_lookup_cert(t, x),
	    crl_table_lookup(t, (const uint8_t *)"\x00", 1));
	X509_free(x);
	BN_set_word(bn, 6);
	x = der_trip(make_cert(bn));
	assert_null(crl_table_lookup_cert(t, x));
	X509_free(x);
	BN_free(bn);
	crl_table_close(t);
	table_path(id, path, sizeof(path));
	unlink(path);
}

static ASN1_INTEGER *
raw_integer(const void *bytes, int len)
{
	ASN1_INTEGER	*ai;

	assert_non_null(ai = ASN1_INTEGER_new());
	assert_int_equal(ASN1_STRING_set(ai, bytes, len), 1);
	return ai;
}

/* Serials and CRL numbers from ASN1_INTEGERs: the canonical magnitude. */
static void
t_serial_set(void **state)
{
	struct crl_table_header	 h;
	struct crl_entry	 e, before;
	ASN1_ENUMERATED		*en;
	ASN1_INTEGER		*ai;
	uint8_t			 b[32];

	(void)state;
	memset(&e, 0xa5, sizeof(e));
	e.reason = 3;
	e.revoked_at = 77;
	before = e;
	ai = raw_integer("\x00\x00\x12\x34", 4);
	assert_int_equal(crl_serial_set(&e, ai), 0);
	assert_int_equal(e.serial_len, 2);
	assert_memory_equal(e.serial, "\x12\x34\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
	    "\0\0\0\0", CRL_SERIAL_MAX);
	/* Nothing but the serial is touched. */
	assert_int_equal(e.reason, 3);
	assert_int_equal(e.revoked_at, 77);
	assert_memory_equal(e.pad, before.pad, sizeof(e.pad));
	ASN1_INTEGER_free(ai);

	ai = raw_integer("\x00", 1);
	assert_int_equal(crl_serial_set(&e, ai), 0);
	assert_int_equal(e.serial_len, 1);
	assert_int_equal(e.serial[0], 0);
	ASN1_INTEGER_free(ai);
	assert_non_null(ai = ASN1_INTEGER_new());
	assert_int_equal(ASN1_INTEGER_set_int64(ai, 0), 1);
	assert_int_equal(crl_serial_set(&e, ai), 0);
	assert_int_equal(e.serial_len, 1);
	ASN1_INTEGER_free(ai);

	/* 20 bytes; 21 with a zero in front; 21 significant. */
	memset(b, 0xff, sizeof(b));
	ai = raw_integer(b, CRL_SERIAL_MAX);
	assert_int_equal(crl_serial_set(&e, ai), 0);
	assert_int_equal(e.serial_len, CRL_SERIAL_MAX);
	ASN1_INTEGER_free(ai);
	b[0] = 0;
	ai = raw_integer(b, CRL_SERIAL_MAX + 1);
	assert_int_equal(crl_serial_set(&e, ai), 0);
	assert_int_equal(e.serial_len, CRL_SERIAL_MAX);
	ASN1_INTEGER_free(ai);
	b[0] = 1;
	ai = raw_integer(b, CRL_SERIAL_MAX + 1);
	assert_int_equal(crl_serial_set(&e, ai), -1);
	ASN1_INTEGER_free(ai);

	/* Negative, empty, not an INTEGER, none. */
	assert_non_null(ai = ASN1_INTEGER_new());
	assert_int_equal(ASN1_INTEGER_set_int64(ai, -5), 1);
	assert_int_equal(crl_serial_set(&e, ai), -1);
	ASN1_INTEGER_free(ai);
	ai = raw_integer("", 0);
	assert_int_equal(crl_serial_set(&e, ai), -1);
	ASN1_INTEGER_free(ai);
	assert_non_null(en = ASN1_ENUMERATED_new());
	assert_int_equal(ASN1_ENUMERATED_set(en, 5), 1);
	assert_int_equal(crl_serial_set(&e, en), -1);
	ASN1_ENUMERATED_free(en);
	assert_int_equal(crl_serial_set(&e, NULL), -1);

	/* CRL numbers by the same rules. */
	memset(&h, 0, sizeof(h));
	memset(h.crl_number, 0xa5, sizeof(h.crl_number));
	ai = raw_integer("\x00\x07", 2);
	assert_int_equal(crl_number_set(&h, ai), 0);
	assert_int_equal(h.crl_number_len, 1);
	assert_memory_equal(h.crl_number, "\x07\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
	    "\0\0\0\0\0", CRL_SERIAL_MAX);
	ASN1_INTEGER_free(ai);
	assert_non_null(ai = ASN1_INTEGER_new());
	assert_int_equal(ASN1_INTEGER_set_int64(ai, -1), 1);
	assert_int_equal(crl_number_set(&h, ai), -1);
	ASN1_INTEGER_free(ai);
}

/* --- 1,000,000 entries --------------------------------------------------- */

static int
cmp_double(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * The median of NLOOKUPS lookups of random keys among keys[0..n), each
 * timed alone (t == NULL: the timing of nothing, the clock's own cost),
 * and in *mean the average over one timed run of NLOOKUPS more.
 */
static double
median_lookup_ns(const struct crl_table *t, const struct crl_entry *keys,
    size_t n, int expect_hit, double *mean)
{
	struct timespec		 t0, t1;
	const struct crl_entry	*r = NULL;
	struct crl_entry	 key;
	double			*ns;
	double			 med;
	size_t			 i, k, hits = 0;

	assert_non_null(ns = calloc(NLOOKUPS, sizeof(*ns)));
	for (i = 0; i < NLOOKUPS; i++) {
		k = rng() % n;
		key = keys[k];
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (t != NULL)
			r = crl_table_lookup(t, key.serial, key.serial_len);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (t != NULL && (r != NULL) != expect_hit)
			fail_msg("lookup %zu: %s", i, r ? "hit" : "miss");
		ns[i] = (double)(t1.tv_sec - t0.tv_sec) * 1e9 +
		    (double)(t1.tv_nsec - t0.tv_nsec);
	}
	qsort(ns, NLOOKUPS, sizeof(*ns), cmp_double);
	med = ns[NLOOKUPS / 2];
	free(ns);
	if (t == NULL)
		return med;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < NLOOKUPS; i++) {
		k = rng() % n;
		if (crl_table_lookup(t, keys[k].serial,
		    keys[k].serial_len) != NULL)
			hits++;
	}
	*mean = seconds_since(&t0) * 1e3 * 1e6 / NLOOKUPS;
	assert_int_equal(hits, expect_hit ? NLOOKUPS : 0);
	return med;
}

static void
t_one_million(void **state)
{
	struct crl_table_header	 h;
	struct crl_table	*t;
	struct crl_entry	*v, *keys, *misses;
	struct timespec		 t0;
	uint8_t			 id[SNAP_ID_LEN], *buf;
	char			 path[PATH_MAX], err[256];
	double			 ms_write, ms_open, ms_check, ms_sha;
	double			 hit, miss, clk, hit_mean, miss_mean;
	size_t			 len, i, m = 0, ibytes, ilargest;
	unsigned int		 n;

	(void)state;
	make_tmpl(&h);
	v = gen_entries(NBIG);
	assert_non_null(keys = malloc(NBIG * sizeof(*keys)));
	memcpy(keys, v, NBIG * sizeof(*keys));

	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(crl_table_write(crl_dir, &h, v, NBIG, id), 0);
	ms_write = seconds_since(&t0) * 1e3;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	t = open_ok(id);
	ms_open = seconds_since(&t0) * 1e3;
	crl_table_index_stats(t, &ibytes, &ilargest);

	/* The parts of the open: the structure alone, the SHA-256 alone. */
	table_path(id, path, sizeof(path));
	buf = read_all(path, &len);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	crl_table_close(crl_table_from_buffer(buf, len, err, sizeof(err)));
	ms_check = seconds_since(&t0) * 1e3;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(EVP_Digest(buf, len, id, &n, EVP_sha256(), NULL), 1);
	ms_sha = seconds_since(&t0) * 1e3;
	free(buf);

	/* Misses: random serials that are not in the table. */
	assert_non_null(misses = malloc(NBIG / 10 * sizeof(*misses)));
	while (m < NBIG / 10) {
		random_entry(&misses[m]);
		if (crl_table_lookup(t, misses[m].serial,
		    misses[m].serial_len) == NULL)
			m++;
	}
	clk = median_lookup_ns(NULL, keys, NBIG, 1, NULL);
	hit = median_lookup_ns(t, keys, NBIG, 1, &hit_mean);
	miss = median_lookup_ns(t, misses, m, 0, &miss_mean);
	for (i = 0; i < NBIG; i += 97)
		assert_non_null(crl_table_lookup(t, keys[i].serial,
		    keys[i].serial_len));

	printf("    %d entries, %zu bytes:\n", NBIG, len);
	printf("      write (sort, SHA-256, fsync, rename): %8.1f ms\n",
	    ms_write);
	printf("      open (map, SHA-256, validate):        %8.1f ms\n",
	    ms_open);
	printf("        of which validate alone:            %8.1f ms\n",
	    ms_check);
	printf("        of which SHA-256 alone:             %8.1f ms\n",
	    ms_sha);
	printf("      index built at open: %zu KiB, at most %zu entries "
	    "a bucket\n", (ibytes + 1023) / 1024, ilargest);
	printf("      lookup, median of %d (hits):      %8.0f ns "
	    "(mean of a run: %.0f ns)\n", NLOOKUPS, hit, hit_mean);
	printf("      lookup, median of %d (misses):    %8.0f ns "
	    "(mean of a run: %.0f ns)\n", NLOOKUPS, miss, miss_mean);
	printf("      (the clock itself, median:            %8.0f ns)\n",
	    clk);
	fflush(stdout);

	crl_table_close(t);
	unlink(path);
	free(v);
	free(keys);
	free(misses);
}


int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_lookup_shared_prefix),
		cmocka_unit_test(t_lookup_sequential),
		cmocka_unit_test(t_lookup_mixed_lengths),
		cmocka_unit_test(t_lookup_crowded),
		cmocka_unit_test(t_lookup_changed_under),
		cmocka_unit_test(t_lookup_cert),
		cmocka_unit_test(t_serial_set),
		cmocka_unit_test(t_one_million),
	};

	log_init("t_crl_lookup", LOG_LVL_INFO, false);
	return cmocka_run_group_tests(tests, setup, teardown);
}
