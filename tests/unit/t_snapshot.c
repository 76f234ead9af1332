/*
 * t_snapshot.c: snapshot files written by snap_writer and read back by
 * snapshot_open and snapshot_from_buffer: round trips and lookups of the
 * three kinds of records (staples, CRLs, client OCSP), and atomic
 * publication.  Damaged files, and what is no file, are refused in
 * t_snapshot_damaged.c.
 *
 * "t_snapshot --seeds DIR" writes a few valid snapshots into DIR for the
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

#include "ipc_testutil.h"
#include "log.h"
#include "snapshot.h"
#include "testutil.h"

#define NMANY		1000
#define HDR(b)		((struct snap_header *)(void *)(b))
#define NISSUERS	40	/* issuer i has 1 + i % 4 distribution points */

static char	 tmpdir[] = "/tmp/t_snapshot.XXXXXX";
static char	 snap_path[PATH_MAX];	/* tmpdir/snapshot */

/* --- helpers ------------------------------------------------------------- */

static void
make_id(int i, uint8_t id[SNAP_ID_LEN])
{
	char	 name[32];

	snprintf(name, sizeof(name), "cert-%d", i);
	snap_cert_id((const uint8_t *)name, strlen(name), id);
}

/* A DER-like body whose bytes and length depend on i. */
static size_t
make_der(int i, uint8_t *der, size_t max)
{
	size_t	 n = 1 + ((size_t)i * 37) % 2000, k;

	if (n > max)
		n = max;
	for (k = 0; k < n; k++)
		der[k] = (uint8_t)(i + k * 7);
	return n;
}

static enum snap_staple_state
make_state(int i)
{
	switch (i % 3) {
	case 0:
		return SNAP_STAPLE_GOOD;
	case 1:
		return SNAP_STAPLE_FAILED;
	default:
		return SNAP_STAPLE_REVOKED;
	}
}

/* Add record i as the round trips expect to find it. */
static void
add_rec(struct snap_writer *w, int i)
{
	uint8_t			 id[SNAP_ID_LEN], der[2048];
	enum snap_staple_state	 st = make_state(i);
	size_t			 n = 0;

	make_id(i, id);
	if (st == SNAP_STAPLE_GOOD)
		n = make_der(i, der, sizeof(der));
	assert_int_equal(snap_writer_staple(w, id, st, NOW - i, NOW + i,
	    NOW - 2 * i, st == SNAP_STAPLE_GOOD ? der : NULL, n), 0);
}

static void
check_rec(const struct snapshot *s, int i)
{
	const struct snap_staple	*r;
	const uint8_t			*d;
	uint8_t				 id[SNAP_ID_LEN], der[2048];
	size_t				 len, n;

	make_id(i, id);
	if ((r = snapshot_staple(s, id)) == NULL)
		fail_msg("record %d not found", i);
	assert_memory_equal(r->cert_id, id, SNAP_ID_LEN);
	assert_int_equal(r->state, make_state(i));
	assert_int_equal(r->this_update, NOW - i);
	assert_int_equal(r->next_update, NOW + i);
	assert_int_equal(r->fetched_at, NOW - 2 * i);
	assert_int_equal(r->reserved, 0);
	d = snapshot_staple_der(s, r, &len);
	if (make_state(i) != SNAP_STAPLE_GOOD) {
		assert_null(d);
		assert_int_equal(len, 0);
		assert_int_equal(r->der_len, 0);
		return;
	}
	n = make_der(i, der, sizeof(der));
	assert_non_null(d);
	assert_int_equal(len, n);
	assert_memory_equal(d, der, n);
}

/* Records 0..n-1, added in a shuffled order. */
static void
add_shuffled(struct snap_writer *w, int n)
{
	int	*order, i, j, t;

	assert_non_null(order = malloc(sizeof(*order) * (size_t)(n + 1)));
	for (i = 0; i < n; i++)
		order[i] = i;
	srand(42);
	for (i = n - 1; i > 0; i--) {
		j = rand() % (i + 1);
		t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (i = 0; i < n; i++)
		add_rec(w, order[i]);
	free(order);
}

static struct snapshot *
open_ok(const char *path)
{
	struct snapshot	*s;
	char		 err[512];

	if ((s = snapshot_open(path, err, sizeof(err))) == NULL)
		fail_msg("%s", err);
	return s;
}

static void
publish_n(const char *dir, int n, uint64_t gen)
{
	struct snap_writer	*w;

	assert_non_null(w = snap_writer_new());
	add_shuffled(w, n);
	assert_int_equal(snap_writer_publish(w, dir, gen, NOW), 0);
	snap_writer_free(w);
}

/* --- making CRL and client OCSP records ---------------------------------- */

static void
make_named_id(const char *prefix, int i, int j, uint8_t id[SNAP_ID_LEN])
{
	char	 name[64];

	snprintf(name, sizeof(name), "%s-%d-%d", prefix, i, j);
	snap_cert_id((const uint8_t *)name, strlen(name), id);
}

static int
ndps_of(int issuer)
{
	return 1 + issuer % 4;
}

/* CRL record (issuer i, distribution point j) as the round trips expect. */
static struct snap_crl
make_crl(int i, int j)
{
	struct snap_crl	 c;

	memset(&c, 0, sizeof(c));
	make_named_id("issuer", i, 0, c.issuer_id);
	make_named_id("dp", i, j, c.dp_id);
	c.fetched_at = NOW - j;
	if ((i + j) % 3 == 2) {
		c.state = SNAP_CRL_FAILED;
		return c;
	}
	c.state = SNAP_CRL_OK;
	c.this_update = NOW - 100 * i;
	c.next_update = j == 1 ? 0 : NOW + 100 * j;
	c.count = (uint64_t)i * 1000 + (uint64_t)j;
	make_named_id("table", i, j, c.table_id);
	return c;
}

static void
check_crl(const struct snapshot *s, int i, int j)
{
	const struct snap_crl	*r;
	struct snap_crl		 c = make_crl(i, j);

	if ((r = snapshot_crl(s, c.issuer_id, c.dp_id)) == NULL)
		fail_msg("CRL record %d/%d not found", i, j);
	assert_memory_equal(r, &c, sizeof(c));
}

/* Issuers 0..nissuers-1 with their distribution points, in random order. */
static void
add_crls(struct snap_writer *w, int nissuers)
{
	struct snap_crl	 c;
	int		*order, n = 0, i, j, k, t;

	assert_non_null(order = malloc(sizeof(*order) * 4 *
	    (size_t)(nissuers + 1)));
	for (i = 0; i < nissuers; i++)
		for (j = 0; j < ndps_of(i); j++)
			order[n++] = i * 4 + j;
	srand(7);
	for (k = n - 1; k > 0; k--) {
		j = rand() % (k + 1);
		t = order[k];
		order[k] = order[j];
		order[j] = t;
	}
	for (k = 0; k < n; k++) {
		c = make_crl(order[k] / 4, order[k] % 4);
		assert_int_equal(snap_writer_crl(w, &c), 0);
	}
	free(order);
}

static int
ncrls_of(int nissuers)
{
	int	 i, n = 0;

	for (i = 0; i < nissuers; i++)
		n += ndps_of(i);
	return n;
}

/* Client OCSP record i: the four statuses in turn, every reason. */
static struct snap_ocsp
make_ocsp(int i)
{
	struct snap_ocsp	 o;

	memset(&o, 0, sizeof(o));
	make_named_id("client", i, 0, o.cert_id);
	o.status = SNAP_OCSP_GOOD + i % 4;
	o.this_update = NOW - i;
	o.next_update = NOW + 3600 + i;
	o.expires = NOW + 600 + i;
	o.reason = -1;
	if (o.status == SNAP_OCSP_REVOKED) {
		o.revoked_at = NOW - 86400 - i;
		o.reason = (i / 4) % 12 - 1;
	}
	return o;
}

static void
check_ocsp(const struct snapshot *s, int i)
{
	const struct snap_ocsp	*r;
	struct snap_ocsp	 o = make_ocsp(i);

	if ((r = snapshot_ocsp(s, o.cert_id)) == NULL)
		fail_msg("OCSP record %d not found", i);
	assert_memory_equal(r, &o, sizeof(o));
}

static void
add_ocsps(struct snap_writer *w, int n)
{
	struct snap_ocsp	 o;
	int			 i;

	/* Backwards: every insertion lands at the front. */
	for (i = n - 1; i >= 0; i--) {
		o = make_ocsp(i);
		assert_int_equal(snap_writer_ocsp(w, &o), 0);
	}
}

/* Staples 0..n-1, CRLs of nissuers issuers and nocsp client records. */
static void
publish_mixed(const char *dir, int n, int nissuers, int nocsp, uint64_t gen)
{
	struct snap_writer	*w;

	assert_non_null(w = snap_writer_new());
	add_shuffled(w, n);
	add_crls(w, nissuers);
	add_ocsps(w, nocsp);
	assert_int_equal(snap_writer_publish(w, dir, gen, NOW), 0);
	snap_writer_free(w);
}

/* --- set-up -------------------------------------------------------------- */

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(snap_path, sizeof(snap_path), "%s/%s", tmpdir, SNAP_FILE);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(snap_path);
	return remove_tmpdir(tmpdir, 0);
}

/* --- round trips --------------------------------------------------------- */

static void
t_empty(void **state)
{
	struct snapshot	*s;
	struct stat	 st;
	uint8_t		 id[SNAP_ID_LEN];

	(void)state;
	publish_n(tmpdir, 0, 7);
	assert_int_equal(stat(snap_path, &st), 0);
	assert_int_equal(st.st_size, sizeof(struct snap_header));
	s = open_ok(snap_path);
	assert_int_equal(snapshot_generation(s), 7);
	assert_int_equal(snapshot_nstaples(s), 0);
	assert_null(snapshot_staple_at(s, 0));
	make_id(0, id);
	assert_null(snapshot_staple(s, id));
	assert_int_equal(snapshot_ncrls(s), 0);
	assert_null(snapshot_crl_at(s, 0));
	assert_null(snapshot_crl(s, id, id));
	assert_int_equal(snapshot_crls_of(s, id, NULL), 0);
	assert_int_equal(snapshot_nocsp(s), 0);
	assert_null(snapshot_ocsp_at(s, 0));
	assert_null(snapshot_ocsp(s, id));
	snapshot_close(s);
	unlink(snap_path);
}

static void
t_one(void **state)
{
	struct snapshot	*s;

	(void)state;
	publish_n(tmpdir, 1, 1);
	s = open_ok(snap_path);
	assert_int_equal(snapshot_nstaples(s), 1);
	check_rec(s, 0);
	assert_ptr_equal(snapshot_staple_at(s, 0), snapshot_staple(s,
	    snapshot_staple_at(s, 0)->cert_id));
	snapshot_close(s);
	unlink(snap_path);
}

/* 1000 records added in random order: sorted, all found, misses missed. */
static void
t_many(void **state)
{
	const struct snap_staple	*a, *b;
	struct snapshot			*s;
	uint8_t				 id[SNAP_ID_LEN];
	size_t				 i;

	(void)state;
	publish_n(tmpdir, NMANY, 3);
	s = open_ok(snap_path);
	assert_int_equal(snapshot_nstaples(s), NMANY);
	for (i = 1; i < NMANY; i++) {
		a = snapshot_staple_at(s, i - 1);
		b = snapshot_staple_at(s, i);
		assert_true(memcmp(a->cert_id, b->cert_id, SNAP_ID_LEN) < 0);
	}
	assert_null(snapshot_staple_at(s, NMANY));
	for (i = 0; i < NMANY; i++)
		check_rec(s, (int)i);
	for (i = NMANY; i < 2 * NMANY; i++) {
		make_id((int)i, id);
		assert_null(snapshot_staple(s, id));
	}
	memset(id, 0, sizeof(id));
	assert_null(snapshot_staple(s, id));
	memset(id, 0xff, sizeof(id));
	assert_null(snapshot_staple(s, id));
	snapshot_close(s);
	unlink(snap_path);
}

static void
t_replace(void **state)
{
	const struct snap_staple	*r;
	struct snap_writer		*w;
	struct snapshot			*s;
	const uint8_t			*d;
	uint8_t				 id[SNAP_ID_LEN], other[SNAP_ID_LEN];
	uint8_t				*b;
	size_t				 len;

	(void)state;
	make_id(1, id);
	make_id(2, other);
	assert_non_null(w = snap_writer_new());
	assert_int_equal(snap_writer_staple(w, id, SNAP_STAPLE_GOOD, 1, 2, 3,
	    (const uint8_t *)"first", 5), 0);
	assert_int_equal(snap_writer_staple(w, other, SNAP_STAPLE_FAILED, 0,
	    0, 0, NULL, 0), 0);
	assert_int_equal(snap_writer_staple(w, id, SNAP_STAPLE_GOOD, 4, 5, 6,
	    (const uint8_t *)"second!", 7), 0);
	assert_int_equal(snap_writer_publish(w, tmpdir, 1, NOW), 0);
	s = open_ok(snap_path);
	assert_int_equal(snapshot_nstaples(s), 2);
	assert_non_null(r = snapshot_staple(s, id));
	assert_int_equal(r->this_update, 4);
	d = snapshot_staple_der(s, r, &len);
	assert_int_equal(len, 7);
	assert_memory_equal(d, "second!", 7);
	snapshot_close(s);
	/* The replaced DER is gone from the blob area, not just unused. */
	b = read_all(snap_path, &len);
	assert_int_equal(HDR(b)->blob_len, 7);
	free(b);

	/* GOOD to REVOKED: no DER left; a DER given with it is ignored. */
	assert_int_equal(snap_writer_staple(w, id, SNAP_STAPLE_REVOKED, 7, 8,
	    9, (const uint8_t *)"ignored", 7), 0);
	assert_int_equal(snap_writer_publish(w, tmpdir, 2, NOW), 0);
	s = open_ok(snap_path);
	assert_int_equal(snapshot_nstaples(s), 2);
	assert_non_null(r = snapshot_staple(s, id));
	assert_int_equal(r->state, SNAP_STAPLE_REVOKED);
	assert_int_equal(r->der_len, 0);
	assert_null(snapshot_staple_der(s, r, &len));
	assert_int_equal(len, 0);
	snapshot_close(s);
	snap_writer_free(w);
	unlink(snap_path);
}

static void
t_header_values(void **state)
{
	struct snap_header	*h;
	uint8_t			*b;
	size_t			 len;

	(void)state;
	publish_mixed(tmpdir, 10, 5, 7, 123456789012ULL);
	b = read_all(snap_path, &len);
	h = HDR(b);
	assert_memory_equal(h->magic, SNAP_MAGIC, 8);
	assert_int_equal(h->version, SNAP_VERSION);
	assert_int_equal(h->header_len, sizeof(*h));
	assert_int_equal(h->generation, 123456789012ULL);
	assert_int_equal(h->created, NOW);
	assert_int_equal(h->file_len, len);
	/* Header, staples, CRLs, client OCSP, blob: back to back. */
	assert_int_equal(h->n_staples, 10);
	assert_int_equal(h->n_crls, ncrls_of(5));
	assert_int_equal(h->n_ocsp, 7);
	assert_int_equal(h->staple_off, sizeof(*h));
	assert_int_equal(h->crl_off, h->staple_off +
	    10 * sizeof(struct snap_staple));
	assert_int_equal(h->ocsp_off, h->crl_off +
	    h->n_crls * sizeof(struct snap_crl));
	assert_int_equal(h->blob_off, h->ocsp_off +
	    7 * sizeof(struct snap_ocsp));
	assert_int_equal(h->staple_off % 8, 0);
	assert_int_equal(h->crl_off % 8, 0);
	assert_int_equal(h->ocsp_off % 8, 0);
	assert_int_equal(h->blob_off % 8, 0);
	assert_int_equal(h->blob_off + h->blob_len, len);
	free(b);
	unlink(snap_path);
}

static void
t_writer_refuses(void **state)
{
	struct snap_writer	*w;
	uint8_t			 id[SNAP_ID_LEN], *big;
	int			 saved;
	char			*logged;

	(void)state;
	make_id(0, id);
	assert_non_null(big = calloc(1, SNAP_MAX_DER + 1));
	assert_non_null(w = snap_writer_new());
	stderr_to_log(&saved);
	assert_int_equal(snap_writer_staple(w, id, SNAP_STAPLE_GOOD, 0, 0, 0,
	    NULL, 0), -1);
	assert_int_equal(snap_writer_staple(w, id, SNAP_STAPLE_GOOD, 0, 0, 0,
	    big, 0), -1);
	assert_int_equal(snap_writer_staple(w, id, SNAP_STAPLE_GOOD, 0, 0, 0,
	    big, SNAP_MAX_DER + 1), -1);
	assert_int_equal(snap_writer_staple(w, id, (enum snap_staple_state)4,
	    0, 0, 0, NULL, 0), -1);
	logged = stderr_back(saved);
	assert_non_null(strstr(logged, "unknown staple state 4"));
	free(logged);
	/* The largest DER is fine. */
	assert_int_equal(snap_writer_staple(w, id, SNAP_STAPLE_GOOD, 0, 0, 0,
	    big, SNAP_MAX_DER), 0);
	snap_writer_free(w);
	snap_writer_free(NULL);
	snapshot_close(NULL);
	free(big);
}

/* --- CRL and client OCSP records ----------------------------------------- */

/*
 * NISSUERS issuers with 1 to 4 distribution points each, added in random
 * order: sorted by (issuer, dp), every record found, misses missed.
 */
static void
t_crl_round_trip(void **state)
{
	const struct snap_crl	*a, *b;
	struct snapshot		*s;
	struct snap_crl		 c;
	size_t			 i, n = (size_t)ncrls_of(NISSUERS);
	int			 k, j;

	(void)state;
	publish_mixed(tmpdir, 3, NISSUERS, 0, 9);
	s = open_ok(snap_path);
	assert_int_equal(snapshot_nstaples(s), 3);
	assert_int_equal(snapshot_ncrls(s), n);
	assert_int_equal(snapshot_nocsp(s), 0);
	for (i = 1; i < n; i++) {
		a = snapshot_crl_at(s, i - 1);
		b = snapshot_crl_at(s, i);
		assert_true(memcmp(a, b, 2 * SNAP_ID_LEN) < 0);
	}
	assert_null(snapshot_crl_at(s, n));
	assert_null(snapshot_crl_at(s, SIZE_MAX));
	for (k = 0; k < NISSUERS; k++)
		for (j = 0; j < ndps_of(k); j++)
			check_crl(s, k, j);
	/* The record found is the one in the array, not a copy. */
	for (i = 0; i < n; i++) {
		a = snapshot_crl_at(s, i);
		assert_ptr_equal(snapshot_crl(s, a->issuer_id, a->dp_id), a);
	}
	/* A known issuer with an unknown dp, and the other way round. */
	for (k = 0; k < NISSUERS; k++) {
		c = make_crl(k, ndps_of(k));
		assert_null(snapshot_crl(s, c.issuer_id, c.dp_id));
		c = make_crl(k + NISSUERS, 0);
		assert_null(snapshot_crl(s, c.issuer_id, c.dp_id));
		/* The dp of one issuer is not the dp of another. */
		c = make_crl(k, 0);
		make_named_id("issuer", (k + 1) % NISSUERS, 0, c.issuer_id);
		assert_null(snapshot_crl(s, c.issuer_id, c.dp_id));
	}
	memset(&c, 0, sizeof(c));
	assert_null(snapshot_crl(s, c.issuer_id, c.dp_id));
	memset(&c, 0xff, sizeof(c));
	assert_null(snapshot_crl(s, c.issuer_id, c.dp_id));
	snapshot_close(s);
	unlink(snap_path);
}

/* All the distribution points of one issuer, and only those. */
static void
t_crls_of(void **state)
{
	const struct snap_crl	*r;
	struct snapshot		*s;
	struct snap_crl		 c;
	uint8_t			 id[SNAP_ID_LEN];
	size_t			 first, n, i, total = 0;
	int			 k, j, seen;

	(void)state;
	publish_mixed(tmpdir, 0, NISSUERS, 0, 9);
	s = open_ok(snap_path);
	for (k = 0; k < NISSUERS; k++) {
		c = make_crl(k, 0);
		first = SIZE_MAX;
		n = snapshot_crls_of(s, c.issuer_id, &first);
		assert_int_equal(n, ndps_of(k));
		total += n;
		/* The run is bounded by other issuers (or the ends). */
		if (first > 0)
			assert_true(memcmp(snapshot_crl_at(s, first - 1)->
			    issuer_id, c.issuer_id, SNAP_ID_LEN) < 0);
		if (first + n < snapshot_ncrls(s))
			assert_true(memcmp(snapshot_crl_at(s, first + n)->
			    issuer_id, c.issuer_id, SNAP_ID_LEN) > 0);
		/* Each of the issuer's dps exactly once, sorted by dp. */
		for (j = 0; j < ndps_of(k); j++) {
			c = make_crl(k, j);
			seen = 0;
			for (i = first; i < first + n; i++) {
				r = snapshot_crl_at(s, i);
				assert_memory_equal(r->issuer_id, c.issuer_id,
				    SNAP_ID_LEN);
				if (i > first)
					assert_true(memcmp(r[-1].dp_id,
					    r->dp_id, SNAP_ID_LEN) < 0);
				if (memcmp(r->dp_id, c.dp_id, SNAP_ID_LEN) == 0)
					seen++;
			}
			assert_int_equal(seen, 1);
		}
		/* first may be NULL. */
		assert_int_equal(snapshot_crls_of(s, c.issuer_id, NULL),
		    ndps_of(k));
	}
	assert_int_equal(total, snapshot_ncrls(s));
	/* Unknown issuers: none, first where one would be. */
	for (k = NISSUERS; k < 2 * NISSUERS; k++) {
		make_named_id("issuer", k, 0, id);
		assert_int_equal(snapshot_crls_of(s, id, &first), 0);
		assert_true(first <= snapshot_ncrls(s));
		if (first > 0)
			assert_true(memcmp(snapshot_crl_at(s, first - 1)->
			    issuer_id, id, SNAP_ID_LEN) < 0);
		if (first < snapshot_ncrls(s))
			assert_true(memcmp(snapshot_crl_at(s, first)->
			    issuer_id, id, SNAP_ID_LEN) > 0);
	}
	memset(id, 0, sizeof(id));
	assert_int_equal(snapshot_crls_of(s, id, &first), 0);
	assert_int_equal(first, 0);
	memset(id, 0xff, sizeof(id));
	assert_int_equal(snapshot_crls_of(s, id, &first), 0);
	assert_int_equal(first, snapshot_ncrls(s));
	snapshot_close(s);
	unlink(snap_path);
}

/* Issuers whose ids differ only in their last byte, at both ends. */
static void
t_crls_of_edges(void **state)
{
	struct snap_writer	*w;
	struct snapshot		*s;
	struct snap_crl		 c;
	uint8_t			 id[SNAP_ID_LEN];
	size_t			 first;
	int			 k, j;

	(void)state;
	assert_non_null(w = snap_writer_new());
	memset(&c, 0, sizeof(c));
	c.state = SNAP_CRL_FAILED;
	/* Issuers 00..00, 00..01, 00..02 and ff..ff, 3 dps each. */
	for (k = 0; k < 4; k++)
		for (j = 2; j >= 0; j--) {
			memset(c.issuer_id, k == 3 ? 0xff : 0, SNAP_ID_LEN);
			if (k < 3)
				c.issuer_id[SNAP_ID_LEN - 1] = (uint8_t)k;
			memset(c.dp_id, 0, SNAP_ID_LEN);
			c.dp_id[0] = (uint8_t)(j * 0x7f);
			assert_int_equal(snap_writer_crl(w, &c), 0);
		}
	assert_int_equal(snap_writer_publish(w, tmpdir, 1, NOW), 0);
	snap_writer_free(w);
	s = open_ok(snap_path);
	assert_int_equal(snapshot_ncrls(s), 12);
	for (k = 0; k < 4; k++) {
		memset(id, k == 3 ? 0xff : 0, SNAP_ID_LEN);
		if (k < 3)
			id[SNAP_ID_LEN - 1] = (uint8_t)k;
		assert_int_equal(snapshot_crls_of(s, id, &first), 3);
		assert_int_equal(first, 3 * (size_t)k);
		assert_int_equal(snapshot_crl_at(s, first)->dp_id[0], 0);
		assert_int_equal(snapshot_crl_at(s, first + 2)->dp_id[0], 0xfe);
	}
	id[0] = 0x80;
	assert_int_equal(snapshot_crls_of(s, id, &first), 0);
	assert_int_equal(first, 9);
	snapshot_close(s);
	unlink(snap_path);

	/* With no CRL record at all. */
	publish_mixed(tmpdir, 2, 0, 2, 2);
	s = open_ok(snap_path);
	assert_int_equal(snapshot_ncrls(s), 0);
	assert_null(snapshot_crl_at(s, 0));
	first = 5;
	assert_int_equal(snapshot_crls_of(s, id, &first), 0);
	assert_int_equal(first, 0);
	assert_null(snapshot_crl(s, id, id));
	snapshot_close(s);
	unlink(snap_path);
}

static void
t_ocsp_round_trip(void **state)
{
	const struct snap_ocsp	*a, *b;
	struct snapshot		*s;
	uint8_t			 id[SNAP_ID_LEN];
	size_t			 i;

	(void)state;
	publish_mixed(tmpdir, 5, 2, NMANY, 4);
	s = open_ok(snap_path);
	assert_int_equal(snapshot_nstaples(s), 5);
	assert_int_equal(snapshot_ncrls(s), ncrls_of(2));
	assert_int_equal(snapshot_nocsp(s), NMANY);
	for (i = 1; i < NMANY; i++) {
		a = snapshot_ocsp_at(s, i - 1);
		b = snapshot_ocsp_at(s, i);
		assert_true(memcmp(a->cert_id, b->cert_id, SNAP_ID_LEN) < 0);
	}
	assert_null(snapshot_ocsp_at(s, NMANY));
	for (i = 0; i < NMANY; i++)
		check_ocsp(s, (int)i);
	for (i = 0; i < 5; i++)
		check_rec(s, (int)i);
	check_crl(s, 1, 1);
	/* Misses, and staple ids are not client ids. */
	for (i = NMANY; i < 2 * NMANY; i++) {
		make_named_id("client", (int)i, 0, id);
		assert_null(snapshot_ocsp(s, id));
	}
	make_id(0, id);
	assert_null(snapshot_ocsp(s, id));
	memset(id, 0, sizeof(id));
	assert_null(snapshot_ocsp(s, id));
	memset(id, 0xff, sizeof(id));
	assert_null(snapshot_ocsp(s, id));
	snapshot_close(s);
	unlink(snap_path);
}

/* Add or replace, for both kinds: the last value of a key wins. */
static void
t_records_replace(void **state)
{
	const struct snap_crl	*rc;
	const struct snap_ocsp	*ro;
	struct snap_writer	*w;
	struct snapshot		*s;
	struct snap_crl		 c;
	struct snap_ocsp	 o;

	(void)state;
	assert_non_null(w = snap_writer_new());
	add_crls(w, 3);
	add_ocsps(w, 3);
	/* The same key again: FAILED becomes OK, GOOD becomes REVOKED. */
	c = make_crl(1, 1);
	assert_int_equal(c.state, SNAP_CRL_FAILED);
	c.state = SNAP_CRL_OK;
	c.count = 77;
	memset(c.table_id, 0x77, SNAP_ID_LEN);
	c.reserved = 5;		/* zeroed by the writer */
	assert_int_equal(snap_writer_crl(w, &c), 0);
	o = make_ocsp(0);
	assert_int_equal(o.status, SNAP_OCSP_GOOD);
	o.status = SNAP_OCSP_REVOKED;
	o.revoked_at = 12345;
	o.reason = 4;
	assert_int_equal(snap_writer_ocsp(w, &o), 0);
	assert_int_equal(snap_writer_publish(w, tmpdir, 1, NOW), 0);
	s = open_ok(snap_path);
	assert_int_equal(snapshot_ncrls(s), ncrls_of(3));
	assert_int_equal(snapshot_nocsp(s), 3);
	assert_non_null(rc = snapshot_crl(s, c.issuer_id, c.dp_id));
	assert_int_equal(rc->state, SNAP_CRL_OK);
	assert_int_equal(rc->count, 77);
	assert_int_equal(rc->reserved, 0);
	assert_int_equal(rc->table_id[0], 0x77);
	assert_non_null(ro = snapshot_ocsp(s, o.cert_id));
	assert_memory_equal(ro, &o, sizeof(o));
	check_crl(s, 0, 0);
	check_crl(s, 2, 2);
	check_ocsp(s, 1);
	check_ocsp(s, 2);
	snapshot_close(s);

	/* And back to FAILED: the table is gone from the record. */
	c.state = SNAP_CRL_FAILED;
	c.count = 0;
	memset(c.table_id, 0, SNAP_ID_LEN);
	assert_int_equal(snap_writer_crl(w, &c), 0);
	assert_int_equal(snap_writer_publish(w, tmpdir, 2, NOW), 0);
	s = open_ok(snap_path);
	assert_non_null(rc = snapshot_crl(s, c.issuer_id, c.dp_id));
	assert_int_equal(rc->state, SNAP_CRL_FAILED);
	assert_int_equal(snapshot_ncrls(s), ncrls_of(3));
	snapshot_close(s);
	snap_writer_free(w);
	unlink(snap_path);
}

/* The writer refuses what readers would refuse, and says why. */
static void
t_writer_refuses_records(void **state)
{
	struct snap_writer	*w;
	struct snapshot		*s;
	struct snap_crl		 c;
	struct snap_ocsp	 o;
	char			*logged;
	int			 saved;

	(void)state;
	assert_non_null(w = snap_writer_new());
	stderr_to_log(&saved);
	c = make_crl(0, 0);
	c.state = 3;
	assert_int_equal(snap_writer_crl(w, &c), -1);
	c = make_crl(0, 0);
	memset(c.table_id, 0, SNAP_ID_LEN);
	assert_int_equal(snap_writer_crl(w, &c), -1);
	c = make_crl(0, 0);
	c.count = (uint64_t)CRL_TABLE_MAX_ENTRIES + 1;
	assert_int_equal(snap_writer_crl(w, &c), -1);
	c = make_crl(0, 2);
	c.count = 1;
	assert_int_equal(snap_writer_crl(w, &c), -1);
	c = make_crl(0, 2);
	c.table_id[5] = 1;
	assert_int_equal(snap_writer_crl(w, &c), -1);
	o = make_ocsp(0);
	o.status = 0;
	assert_int_equal(snap_writer_ocsp(w, &o), -1);
	o = make_ocsp(0);
	o.status = 5;
	assert_int_equal(snap_writer_ocsp(w, &o), -1);
	o = make_ocsp(0);
	o.revoked_at = 1;
	assert_int_equal(snap_writer_ocsp(w, &o), -1);
	o = make_ocsp(0);
	o.reason = 0;
	assert_int_equal(snap_writer_ocsp(w, &o), -1);
	o = make_ocsp(1);
	assert_int_equal(o.status, SNAP_OCSP_REVOKED);
	o.reason = 11;
	assert_int_equal(snap_writer_ocsp(w, &o), -1);
	logged = stderr_back(saved);
	if (strstr(logged, "unknown state 3") == NULL ||
	    strstr(logged, "OK without a table_id") == NULL ||
	    strstr(logged, "count 16777217 over") == NULL ||
	    strstr(logged, "table in a FAILED record") == NULL ||
	    strstr(logged, "unknown status 5") == NULL ||
	    strstr(logged, "not REVOKED") == NULL ||
	    strstr(logged, "unknown reason 11") == NULL ||
	    strstr(logged, "issuer ") == NULL ||
	    strstr(logged, "certificate ") == NULL)
		fail_msg("log: %s", logged);
	free(logged);
	/* Nothing was added. */
	assert_int_equal(snap_writer_publish(w, tmpdir, 1, NOW), 0);
	s = open_ok(snap_path);
	assert_int_equal(snapshot_ncrls(s), 0);
	assert_int_equal(snapshot_nocsp(s), 0);
	snapshot_close(s);
	snap_writer_free(w);
	unlink(snap_path);
}

/* --- publication --------------------------------------------------------- */

/* A reader keeps what it mapped; the writer leaves no temporary file. */
static void
t_atomic(void **state)
{
	struct snap_writer	*w;
	struct snapshot		*s1, *s2;
	const uint8_t		*d;
	struct stat		 st;
	uint8_t			 id[SNAP_ID_LEN];
	mode_t			 mask;
	size_t			 len;

	(void)state;
	make_id(0, id);
	assert_non_null(w = snap_writer_new());
	assert_int_equal(snap_writer_staple(w, id, SNAP_STAPLE_GOOD, 1, 2, 3,
	    (const uint8_t *)"old", 3), 0);
	mask = umask(077);	/* 0644 comes from fchmod, not the umask */
	assert_int_equal(snap_writer_publish(w, tmpdir, 1, NOW), 0);
	s1 = open_ok(snap_path);

	assert_int_equal(snap_writer_staple(w, id, SNAP_STAPLE_GOOD, 1, 2, 3,
	    (const uint8_t *)"newer", 5), 0);
	assert_int_equal(snap_writer_publish(w, tmpdir, 2, NOW), 0);
	umask(mask);
	s2 = open_ok(snap_path);

	assert_int_equal(snapshot_generation(s1), 1);
	d = snapshot_staple_der(s1, snapshot_staple(s1, id), &len);
	assert_int_equal(len, 3);
	assert_memory_equal(d, "old", 3);
	assert_int_equal(snapshot_generation(s2), 2);
	d = snapshot_staple_der(s2, snapshot_staple(s2, id), &len);
	assert_int_equal(len, 5);
	assert_memory_equal(d, "newer", 5);
	/* A record of one snapshot is not looked up in another. */
	assert_null(snapshot_staple_der(s2, snapshot_staple(s1, id), &len));
	assert_int_equal(len, 0);

	assert_int_equal(count_files(tmpdir, ".snapshot."), 0);
	assert_int_equal(stat(snap_path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	snapshot_close(s1);
	snapshot_close(s2);
	snap_writer_free(w);
	unlink(snap_path);
}

static void
t_publish_missing_dir(void **state)
{
	struct snap_writer	*w;
	char			 dir[PATH_MAX], *logged;
	int			 saved;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/missing", tmpdir);
	assert_non_null(w = snap_writer_new());
	add_rec(w, 0);
	stderr_to_log(&saved);
	assert_int_equal(snap_writer_publish(w, dir, 1, NOW), -1);
	logged = stderr_back(saved);
	if (strstr(logged, dir) == NULL)
		fail_msg("log does not name %s: %s", dir, logged);
	free(logged);
	assert_int_equal(count_files(tmpdir, ".snapshot."), 0);
	assert_int_equal(access(snap_path, F_OK), -1);
	snap_writer_free(w);
}

/*
 * The rename fails (a directory holds the name): the temporary file is
 * removed, even for root, and the log names both paths.
 */
static void
t_publish_rename_fails(void **state)
{
	struct snap_writer	*w;
	char			 inner[PATH_MAX + 8], *logged;
	int			 saved;

	(void)state;
	snprintf(inner, sizeof(inner), "%s/x", snap_path);
	assert_int_equal(mkdir(snap_path, 0755), 0);
	write_file(inner, "x", 1, 0644);
	assert_non_null(w = snap_writer_new());
	add_rec(w, 0);
	stderr_to_log(&saved);
	assert_int_equal(snap_writer_publish(w, tmpdir, 1, NOW), -1);
	logged = stderr_back(saved);
	if (strstr(logged, "rename") == NULL ||
	    strstr(logged, snap_path) == NULL)
		fail_msg("log: %s", logged);
	free(logged);
	assert_int_equal(count_files(tmpdir, ".snapshot."), 0);
	snap_writer_free(w);
	unlink(inner);
	assert_int_equal(rmdir(snap_path), 0);
}


/* --- fuzz seeds ---------------------------------------------------------- */

/* valid-N: N staples, the CRLs of N issuers, N client OCSP records. */
static int
write_seeds(const char *dir)
{
	char	 to[32];
	int	 n[] = { 0, 1, 3, 7 };
	size_t	 i;

	for (i = 0; i < sizeof(n) / sizeof(n[0]); i++) {
		publish_mixed(dir, n[i], n[i], n[i], i + 1);
		snprintf(to, sizeof(to), "valid-%d", n[i]);
		if (rename_in(dir, SNAP_FILE, to) != 0)
			return 1;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_empty),
		cmocka_unit_test(t_one),
		cmocka_unit_test(t_many),
		cmocka_unit_test(t_replace),
		cmocka_unit_test(t_header_values),
		cmocka_unit_test(t_writer_refuses),
		cmocka_unit_test(t_crl_round_trip),
		cmocka_unit_test(t_crls_of),
		cmocka_unit_test(t_crls_of_edges),
		cmocka_unit_test(t_ocsp_round_trip),
		cmocka_unit_test(t_records_replace),
		cmocka_unit_test(t_writer_refuses_records),
		cmocka_unit_test(t_atomic),
		cmocka_unit_test(t_publish_missing_dir),
		cmocka_unit_test(t_publish_rename_fails),
	};

	log_init("t_snapshot", LOG_LVL_INFO, false);
	if (argc == 3 && strcmp(argv[1], "--seeds") == 0)
		return write_seeds(argv[2]);
	return cmocka_run_group_tests(tests, setup, teardown);
}
