/*
 * t_snapshot_damaged.c: damaged snapshot files, and what is no snapshot
 * file, refused by snapshot_open and snapshot_from_buffer with their
 * reason: truncated and longer images, bad identification, sections out
 * of place, records out of order or holding what their state forbids,
 * every bit flipped, misaligned buffers, directories, FIFOs, files too
 * large.  The round trips are in t_snapshot.c.
 *
 * A damaged header field is resealed (checksum recomputed) so that the
 * check for that field, not the checksum, is what refuses it.  Every
 * refused image is tried both as an exact-size heap buffer (ASan sees a
 * read past its end) and as a file in the temporary directory.  Damage
 * that is one field set to a value is listed in tables of pokes.
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
#include <unistd.h>

#include "ipc_testutil.h"
#include "log.h"
#include "snapshot.h"
#include "testutil.h"

#define HDR(b)		((struct snap_header *)(void *)(b))
#define REC(b, i)	((struct snap_staple *)(void *)((b) + \
			    HDR(b)->staple_off) + (i))
#define CRL(b, i)	((struct snap_crl *)(void *)((b) + \
			    HDR(b)->crl_off) + (i))
#define OCSP(b, i)	((struct snap_ocsp *)(void *)((b) + \
			    HDR(b)->ocsp_off) + (i))

static char	 tmpdir[] = "/tmp/t_snapshot_damaged.XXXXXX";
static char	 snap_path[PATH_MAX];	/* tmpdir/snapshot */
static char	 bad_path[PATH_MAX];	/* where refused images go */

/*
 * A valid image the damage tests start from: 3 staples, 3 CRL records (two
 * of one issuer), 2 client OCSP records.
 */
static uint8_t	*base;
static size_t	 base_len;

/* --- helpers ------------------------------------------------------------- */

static uint8_t *
base_copy(void)
{
	return copy_bytes(base, base_len);
}

static void
reseal(uint8_t *b, size_t len)
{
	assert_int_equal(snapshot_checksum(b, len, HDR(b)->checksum), 0);
}

static void *
from_buffer(const void *b, size_t len, char *err, size_t errlen)
{
	return snapshot_from_buffer(b, len, err, errlen);
}

/* Open the file at path (arg). */
static void *
open_path(const void *path, char *err, size_t errlen)
{
	return snapshot_open(path, err, errlen);
}

/* Refused from a buffer of exactly len bytes, with why in the reason. */
static void
expect_bad_buf(const uint8_t *b, size_t len, const char *why)
{
	expect_refused_buffer(from_buffer, "snapshot ", b, len, why);
}

/* The same, and refused as a file too, its path in the reason. */
static void
expect_bad(const uint8_t *b, size_t len, const char *why)
{
	char	 err[512];

	expect_bad_buf(b, len, why);
	write_file(bad_path, b, len, 0644);
	err[0] = '\0';
	errno = 0;
	expect_refused_open(snapshot_open(bad_path, err, sizeof(err)), err,
	    bad_path, len, why);
	unlink(bad_path);
}

/* Reseal b, expect it refused for why, free it. */
static void
expect_bad_sealed(uint8_t *b, const char *why)
{
	reseal(b, base_len);
	expect_bad(b, base_len, why);
	free(b);
}

/* Reseal b, expect it accepted, free it. */
static void
expect_ok_sealed(uint8_t *b)
{
	struct snapshot	*s;
	char		 err[256];

	reseal(b, base_len);
	if ((s = snapshot_from_buffer(b, base_len, err, sizeof(err))) == NULL)
		fail_msg("refused: %s", err);
	snapshot_close(s);
	free(b);
}

/*
 * One field of a copy of base set to a value: of the header, or of record
 * rec of a section.
 */
enum sect { S_HDR, S_STAPLE, S_CRL, S_OCSP };
struct poke {
	enum sect	 sect;
	int		 rec;
	size_t		 off;		/* of the field in its struct */
	size_t		 size;		/* 1, 4 or 8 bytes */
	uint64_t	 val;		/* truncated to size */
	const char	*why;		/* refused for that; NULL: accepted */
};
#define FIELD(type, f)	offsetof(type, f), sizeof(((type *)0)->f)
#define HEADER(f)	S_HDR, 0, FIELD(struct snap_header, f)
#define STAPLE(i, f)	S_STAPLE, i, FIELD(struct snap_staple, f)
#define CRLREC(i, f)	S_CRL, i, FIELD(struct snap_crl, f)
#define OCSPREC(i, f)	S_OCSP, i, FIELD(struct snap_ocsp, f)
/* Byte k of the array field f. */
#define CRLBYTE(i, f, k) S_CRL, i, offsetof(struct snap_crl, f) + (k), 1
#define OCSPBYTE(i, f, k) S_OCSP, i, offsetof(struct snap_ocsp, f) + (k), 1

/* Each poke in turn on a fresh copy of base, resealed, and checked. */
static void
expect_pokes(const struct poke *p, size_t n)
{
	uint8_t		*b, *at;
	uint32_t	 v32;
	size_t		 i;

	for (i = 0; i < n; i++, p++) {
		b = base_copy();
		switch (p->sect) {
		case S_HDR:
			at = b;
			break;
		case S_STAPLE:
			at = (uint8_t *)REC(b, p->rec);
			break;
		case S_CRL:
			at = (uint8_t *)CRL(b, p->rec);
			break;
		default:
			at = (uint8_t *)OCSP(b, p->rec);
			break;
		}
		at += p->off;
		v32 = (uint32_t)p->val;
		if (p->size == 1)
			*at = (uint8_t)p->val;
		else if (p->size == 4)
			memcpy(at, &v32, 4);
		else if (p->size == 8)
			memcpy(at, &p->val, 8);
		else
			fail_msg("poke %zu: a field of %zu bytes", i, p->size);
		if (p->why != NULL)
			expect_bad_sealed(b, p->why);
		else
			expect_ok_sealed(b);
	}
}
#define EXPECT_POKES(a)	expect_pokes((a), sizeof(a) / sizeof((a)[0]))

/* --- set-up -------------------------------------------------------------- */

static int
setup(void **state)
{
	struct snap_writer	*w;
	struct snap_crl		 c;
	struct snap_ocsp	 o;
	uint8_t			 id[SNAP_ID_LEN], der[300];
	size_t			 i;

	(void)state;
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(snap_path, sizeof(snap_path), "%s/%s", tmpdir, SNAP_FILE);
	snprintf(bad_path, sizeof(bad_path), "%s/bad", tmpdir);

	/* GOOD (200 bytes), FAILED, GOOD (100 bytes), in id order. */
	if ((w = snap_writer_new()) == NULL)
		return -1;
	for (i = 0; i < sizeof(der); i++)
		der[i] = (uint8_t)i;
	memset(id, 0x10, sizeof(id));
	snap_writer_staple(w, id, SNAP_STAPLE_GOOD, 1, 2, 3, der, 200);
	memset(id, 0x20, sizeof(id));
	snap_writer_staple(w, id, SNAP_STAPLE_FAILED, 0, 0, 3, NULL, 0);
	memset(id, 0x30, sizeof(id));
	snap_writer_staple(w, id, SNAP_STAPLE_GOOD, 1, 2, 3, der + 200, 100);
	/* CRLs: (0x40, 0x01) OK, (0x40, 0x02) FAILED, (0x50, 0x01) OK. */
	memset(&c, 0, sizeof(c));
	memset(c.issuer_id, 0x40, SNAP_ID_LEN);
	memset(c.dp_id, 0x01, SNAP_ID_LEN);
	memset(c.table_id, 0xaa, SNAP_ID_LEN);
	c.state = SNAP_CRL_OK;
	c.count = 10;
	c.this_update = 1;
	c.next_update = 2;
	c.fetched_at = 3;
	snap_writer_crl(w, &c);
	memset(c.issuer_id, 0x50, SNAP_ID_LEN);
	snap_writer_crl(w, &c);
	memset(c.issuer_id, 0x40, SNAP_ID_LEN);
	memset(c.dp_id, 0x02, SNAP_ID_LEN);
	memset(c.table_id, 0, SNAP_ID_LEN);
	c.state = SNAP_CRL_FAILED;
	c.count = 0;
	snap_writer_crl(w, &c);
	/* Client OCSP: 0x60 GOOD, 0x70 REVOKED (keyCompromise). */
	memset(&o, 0, sizeof(o));
	memset(o.cert_id, 0x60, SNAP_ID_LEN);
	o.status = SNAP_OCSP_GOOD;
	o.reason = -1;
	snap_writer_ocsp(w, &o);
	memset(o.cert_id, 0x70, SNAP_ID_LEN);
	o.status = SNAP_OCSP_REVOKED;
	o.revoked_at = NOW - 10;
	o.reason = 1;
	snap_writer_ocsp(w, &o);
	if (snap_writer_publish(w, tmpdir, 5, NOW) == -1)
		return -1;
	snap_writer_free(w);
	base = read_all(snap_path, &base_len);
	unlink(snap_path);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	free(base);
	unlink(snap_path);
	unlink(bad_path);
	return remove_tmpdir(tmpdir, 0);
}

/* --- damaged files ------------------------------------------------------- */

static void
t_base_ok(void **state)
{
	struct snapshot	*s;
	uint8_t		*b = base_copy();
	char		 err[256];

	(void)state;
	if ((s = snapshot_from_buffer(b, base_len, err, sizeof(err))) == NULL)
		fail_msg("%s", err);
	assert_int_equal(snapshot_nstaples(s), 3);
	assert_int_equal(snapshot_ncrls(s), 3);
	assert_int_equal(snapshot_nocsp(s), 2);
	assert_int_equal(snapshot_generation(s), 5);
	assert_int_equal(snapshot_crls_of(s, CRL(b, 0)->issuer_id, NULL), 2);
	assert_int_equal(snapshot_crls_of(s, CRL(b, 2)->issuer_id, NULL), 1);
	assert_ptr_equal(snapshot_ocsp(s, OCSP(b, 1)->cert_id), OCSP(b, 1));
	snapshot_close(s);
	free(b);
}

static void
t_truncated(void **state)
{
	size_t	 n;

	(void)state;
	for (n = 0; n < base_len; n++)
		expect_bad_buf(base, n, n < sizeof(struct snap_header) ?
		    "too short" : "file_len");
	expect_bad(base, 0, "too short (0 bytes)");
	expect_bad(base, 1, "too short");
	expect_bad(base, sizeof(struct snap_header) - 1, "too short");
	expect_bad(base, sizeof(struct snap_header), "file_len");
	expect_bad(base, base_len / 2, "file_len");
	expect_bad(base, base_len - 1, "file_len");
}

static void
t_longer(void **state)
{
	uint8_t	*b;

	(void)state;
	assert_non_null(b = calloc(1, base_len + 8));
	memcpy(b, base, base_len);
	expect_bad(b, base_len + 8, "file_len");
	free(b);
}

static void
t_bad_ident(void **state)
{
	static const struct poke	 pokes[] = {
		/* A version 1 file (fetcherd not yet upgraded) says so. */
		{ HEADER(version), 1, "version 1, expected 2" },
		{ HEADER(version), 3, "version 3, expected 2" },
		{ HEADER(version), 0, "version 0, expected 2" },
		{ HEADER(header_len), 103, "header_len 103, expected 104" },
		{ HEADER(header_len), 96,	/* version 1's */
		    "header_len 96, expected 104" },
		{ HEADER(header_len), 112, "header_len 112" },
		{ HEADER(file_len), UINT64_MAX, "file_len" },
	};
	uint8_t	*b;

	(void)state;
	b = base_copy();
	b[0] = 'X';
	expect_bad_sealed(b, "bad magic");
	EXPECT_POKES(pokes);
	b = base_copy();
	HDR(b)->file_len++;
	expect_bad_sealed(b, "file_len");
	b = base_copy();
	HDR(b)->checksum[31] ^= 1;
	expect_bad(b, base_len, "checksum mismatch");
	free(b);
	/* Not resealed after a change elsewhere. */
	b = base_copy();
	HDR(b)->generation++;
	expect_bad(b, base_len, "checksum mismatch");
	free(b);
}

static void
t_bad_sections(void **state)
{
	static const struct poke	 pokes[] = {
		/* Staple section. */
		{ HEADER(staple_off), 0,
		    "staple section at 0 outside the file" },
		{ HEADER(staple_off), 8,	/* inside the header */
		    "outside the file" },
		{ HEADER(staple_off), 100,
		    "staple section at 100 not 8-byte aligned" },
		{ HEADER(staple_off), UINT32_MAX - 7, "outside the file" },
		{ HEADER(n_staples), UINT32_MAX, "past the end" },
		/* Blob area. */
		{ HEADER(blob_off), 0, "blob section at 0 outside the file" },
		{ HEADER(blob_off), UINT32_MAX & ~7u, "blob section" },
		{ HEADER(blob_len), UINT32_MAX,	/* off + len wraps 32 bits */
		    "past the end" },
		{ HEADER(blob_off), 64, "outside the file" },
	};
	uint32_t	 n32wrap;
	uint8_t		*b;

	(void)state;
	EXPECT_POKES(pokes);
	/* Staple section. */
	b = base_copy();
	HDR(b)->staple_off = (uint32_t)(base_len + 15) & ~7u;
	expect_bad_sealed(b, "outside the file");
	b = base_copy();
	HDR(b)->n_staples = (uint32_t)((base_len - HDR(b)->staple_off) /
	    sizeof(struct snap_staple) + 1);
	expect_bad_sealed(b, "past the end");
	b = base_copy();
	HDR(b)->n_staples++;		/* runs into the CRL section */
	expect_bad_sealed(b, "staple and crl sections overlap");
	/* A count whose size wraps 32 bits around to a small number. */
	n32wrap = (uint32_t)((UINT64_C(1) << 32) / sizeof(struct snap_staple)
	    + 1);
	assert_true((uint32_t)(HDR(base)->staple_off +
	    n32wrap * (uint32_t)sizeof(struct snap_staple)) < base_len);
	b = base_copy();
	HDR(b)->n_staples = n32wrap;
	expect_bad_sealed(b, "past the end");

	/* Blob area. */
	b = base_copy();
	HDR(b)->blob_off += 4;
	expect_bad_sealed(b, "blob section");
	b = base_copy();
	HDR(b)->blob_len++;
	expect_bad_sealed(b, "past the end");

	/* Overlaps, both ways, and with the header. */
	b = base_copy();
	HDR(b)->blob_off = HDR(b)->staple_off;
	expect_bad_sealed(b, "staple and blob sections overlap");
	b = base_copy();
	HDR(b)->blob_off = HDR(b)->staple_off + 8;
	HDR(b)->blob_len = 8;
	expect_bad_sealed(b, "staple and blob sections overlap");
	b = base_copy();
	HDR(b)->staple_off = HDR(b)->blob_off;
	HDR(b)->n_staples = 1;
	expect_bad_sealed(b, "staple and blob sections overlap");
}

/*
 * The CRL and client OCSP sections are held to the same rules as the
 * staple section: aligned, after the header, inside the file, counts
 * that cannot wrap, and no overlap with any other section.
 */
static void
check_new_section(size_t offoff, size_t noff, size_t recsz, const char *what)
{
	char		 why[128];
	uint32_t	 n32wrap, *off, *n;
	uint8_t		*b;

#define SECT(b)	(off = (uint32_t *)(void *)((b) + offoff), \
		    n = (uint32_t *)(void *)((b) + noff))
	b = base_copy();
	SECT(b);
	*off = 0;
	snprintf(why, sizeof(why), "%s section at 0 outside the file", what);
	expect_bad_sealed(b, why);
	b = base_copy();
	SECT(b);
	*off = 16;			/* inside the header */
	expect_bad_sealed(b, "outside the file");
	b = base_copy();
	SECT(b);
	*off += 4;
	snprintf(why, sizeof(why), "%s section at %u not 8-byte aligned",
	    what, *off);
	expect_bad_sealed(b, why);
	b = base_copy();
	SECT(b);
	*off = (uint32_t)(base_len + 15) & ~7u;
	expect_bad_sealed(b, "outside the file");
	b = base_copy();
	SECT(b);
	*off = UINT32_MAX - 7;
	expect_bad_sealed(b, "outside the file");
	b = base_copy();
	SECT(b);
	*n = (uint32_t)((base_len - *off) / recsz + 1);
	expect_bad_sealed(b, "past the end");
	b = base_copy();
	SECT(b);
	*n = UINT32_MAX;
	expect_bad_sealed(b, "past the end");
	/* A count whose size wraps 32 bits around to a small number. */
	n32wrap = (uint32_t)((UINT64_C(1) << 32) / recsz + 1);
	b = base_copy();
	SECT(b);
	assert_true((uint32_t)(*off + n32wrap * (uint32_t)recsz) < base_len);
	*n = n32wrap;
	expect_bad_sealed(b, "past the end");
	/* One record more runs into the next section. */
	b = base_copy();
	SECT(b);
	(*n)++;
	expect_bad_sealed(b, "sections overlap");
	/* Moved onto each other section in turn. */
	b = base_copy();
	SECT(b);
	*off = HDR(b)->staple_off;
	snprintf(why, sizeof(why), "staple and %s sections overlap", what);
	expect_bad_sealed(b, why);
	b = base_copy();
	SECT(b);
	*off = HDR(b)->blob_off;
	*n = 1;
	snprintf(why, sizeof(why), "%s and blob sections overlap", what);
	expect_bad_sealed(b, why);
	b = base_copy();
	SECT(b);
	*off = strcmp(what, "crl") == 0 ? HDR(b)->ocsp_off - 8 :
	    HDR(b)->crl_off + 8;
	expect_bad_sealed(b, "crl and ocsp sections overlap");
	/* Empty, anywhere in the file, even inside the blob: fine. */
	b = base_copy();
	SECT(b);
	*n = 0;
	*off = HDR(b)->blob_off + 8;
	expect_ok_sealed(b);
#undef SECT
}

static void
t_bad_new_sections(void **state)
{
	struct snapshot	*s;
	uint8_t		*b;
	char		 err[256];

	(void)state;
	check_new_section(offsetof(struct snap_header, crl_off),
	    offsetof(struct snap_header, n_crls), sizeof(struct snap_crl),
	    "crl");
	check_new_section(offsetof(struct snap_header, ocsp_off),
	    offsetof(struct snap_header, n_ocsp), sizeof(struct snap_ocsp),
	    "ocsp");
	/* Empty sections at the very end of the file are fine too. */
	b = base_copy();
	HDR(b)->n_crls = 0;
	HDR(b)->crl_off = (uint32_t)base_len & ~7u;
	HDR(b)->n_ocsp = 0;
	HDR(b)->ocsp_off = HDR(b)->crl_off;
	reseal(b, base_len);
	if ((s = snapshot_from_buffer(b, base_len, err, sizeof(err))) == NULL)
		fail_msg("%s", err);
	assert_int_equal(snapshot_ncrls(s), 0);
	assert_int_equal(snapshot_nocsp(s), 0);
	assert_int_equal(snapshot_nstaples(s), 3);
	snapshot_close(s);
	free(b);
}

static void
t_bad_records(void **state)
{
	static const struct poke	 pokes[] = {
		{ STAPLE(0, der_off), UINT32_MAX,	/* off + len wraps */
		    "outside the blob area" },
		{ STAPLE(0, der_len), SNAP_MAX_DER + 1,
		    "der_len 20481 over 20480" },
		{ STAPLE(0, der_len), UINT32_MAX, "over 20480" },
		{ STAPLE(0, der_len), 0, "record 0: GOOD without DER" },
		{ STAPLE(1, der_len), 10,
		    "record 1: DER in a record that is not GOOD" },
		{ STAPLE(1, der_off), 10, "not GOOD" },
		{ STAPLE(0, state), SNAP_STAPLE_REVOKED,	/* keeps DER */
		    "not GOOD" },
		{ STAPLE(0, state), 0, "record 0: unknown state 0" },
		{ STAPLE(2, state), 4, "record 2: unknown state 4" },
		{ STAPLE(1, state), UINT32_MAX, "unknown state 4294967295" },
		{ STAPLE(2, reserved), 1, "record 2: reserved field not zero" },
	};
	struct snap_staple	 t;
	uint8_t			*b;

	(void)state;
	b = base_copy();
	t = *REC(b, 0);
	*REC(b, 0) = *REC(b, 1);
	*REC(b, 1) = t;
	expect_bad_sealed(b, "record 1: not sorted");
	b = base_copy();
	*REC(b, 2) = *REC(b, 0);
	expect_bad_sealed(b, "record 2: not sorted");
	b = base_copy();
	*REC(b, 1) = *REC(b, 0);
	expect_bad_sealed(b, "record 1: duplicate cert_id");
	b = base_copy();
	*REC(b, 2) = *REC(b, 1);
	expect_bad_sealed(b, "record 2: duplicate cert_id");

	b = base_copy();
	REC(b, 0)->der_off = HDR(b)->blob_len;
	expect_bad_sealed(b, "record 0: DER at");
	b = base_copy();
	REC(b, 2)->der_len++;		/* the last DER ends the blob */
	expect_bad_sealed(b, "outside the blob area");
	EXPECT_POKES(pokes);
}

static void
t_bad_crl_records(void **state)
{
	static const struct poke	 pokes[] = {
		/* Order: by issuer, then by distribution point. */
		{ CRLBYTE(2, issuer_id, 0), 0x3f,	/* below 0x40.. */
		    "crl record 2: not sorted" },
		{ CRLBYTE(1, dp_id, 0), 0x00,	/* dp below the first */
		    "crl record 1: not sorted" },
		/* States. */
		{ CRLREC(0, state), 0, "crl record 0: unknown state 0" },
		{ CRLREC(2, state), 3, "crl record 2: unknown state 3" },
		{ CRLREC(1, state), UINT32_MAX,
		    "crl record 1: unknown state 4294967295" },
		{ CRLREC(2, reserved), 1,
		    "crl record 2: reserved field not zero" },
		{ CRLREC(0, reserved), 0x80000000u,
		    "crl record 0: reserved field not zero" },
		/* An OK record names its table; a FAILED one has none. */
		{ CRLREC(2, count), (uint64_t)CRL_TABLE_MAX_ENTRIES + 1,
		    "crl record 2: count 16777217 over 16777216" },
		{ CRLREC(2, count), UINT64_MAX, "crl record 2: count" },
		{ CRLREC(1, count), 1,
		    "crl record 1: table in a FAILED record" },
		{ CRLBYTE(1, table_id, SNAP_ID_LEN - 1), 1,
		    "crl record 1: table in a FAILED record" },
		{ CRLREC(0, state), SNAP_CRL_FAILED,	/* keeps its table */
		    "crl record 0: table in a FAILED record" },
		{ CRLREC(1, state), SNAP_CRL_OK,	/* with no table */
		    "crl record 1: OK without a table_id" },
	};
	struct snap_crl	 t;
	uint8_t		*b;

	(void)state;
	/* Order: by issuer, then by distribution point; no duplicates. */
	b = base_copy();
	t = *CRL(b, 1);
	*CRL(b, 1) = *CRL(b, 2);
	*CRL(b, 2) = t;
	expect_bad_sealed(b, "crl record 2: not sorted by (issuer_id, dp_id)");
	b = base_copy();
	t = *CRL(b, 0);
	*CRL(b, 0) = *CRL(b, 1);	/* same issuer, dps reversed */
	*CRL(b, 1) = t;
	expect_bad_sealed(b, "crl record 1: not sorted");
	b = base_copy();
	*CRL(b, 1) = *CRL(b, 0);
	expect_bad_sealed(b, "crl record 1: duplicate (issuer_id, dp_id)");
	b = base_copy();
	memcpy(CRL(b, 2)->issuer_id, CRL(b, 1)->issuer_id, SNAP_ID_LEN);
	memcpy(CRL(b, 2)->dp_id, CRL(b, 1)->dp_id, SNAP_ID_LEN);
	expect_bad_sealed(b, "crl record 2: duplicate");
	b = base_copy();
	memset(CRL(b, 0)->table_id, 0, SNAP_ID_LEN);
	expect_bad_sealed(b, "crl record 0: OK without a table_id");
	EXPECT_POKES(pokes);

	/* What is not checked: times, an OK table of 0 or the most entries. */
	b = base_copy();
	CRL(b, 0)->count = 0;
	CRL(b, 2)->count = CRL_TABLE_MAX_ENTRIES;
	CRL(b, 0)->next_update = 0;
	CRL(b, 0)->this_update = INT64_MIN;
	expect_ok_sealed(b);
}

static void
t_bad_ocsp_records(void **state)
{
	static const struct poke	 pokes[] = {
		{ OCSPBYTE(1, cert_id, SNAP_ID_LEN - 1), 0x5f,	/* 0x70.. */
		    NULL },
		{ OCSPBYTE(1, cert_id, 0), 0x5f, "ocsp record 1: not sorted" },
		{ OCSPREC(0, status), 0, "ocsp record 0: unknown status 0" },
		{ OCSPREC(1, status), 5, "ocsp record 1: unknown status 5" },
		{ OCSPREC(1, status), UINT32_MAX,
		    "unknown status 4294967295" },
		/* A revocation only in a REVOKED record. */
		{ OCSPREC(0, revoked_at), 1, "ocsp record 0: revocation in "
		    "a record that is not REVOKED" },
		{ OCSPREC(0, reason), 0,
		    "ocsp record 0: revocation in a record" },
		{ OCSPREC(1, status), SNAP_OCSP_GOOD,	/* keeps it */
		    "ocsp record 1: revocation in a record" },
		{ OCSPREC(1, status), SNAP_OCSP_UNKNOWN,
		    "ocsp record 1: revocation in a record" },
		{ OCSPREC(1, status), SNAP_OCSP_FAILED,
		    "ocsp record 1: revocation in a record" },
		{ OCSPREC(1, reason), 11, "ocsp record 1: unknown reason 11" },
		{ OCSPREC(1, reason), (uint64_t)-2,
		    "ocsp record 1: unknown reason -2" },
		{ OCSPREC(1, reason), (uint64_t)INT32_MIN,
		    "unknown reason -2147483648" },
		/* REVOKED with no reason given, or the last (aACompromise). */
		{ OCSPREC(1, reason), (uint64_t)-1, NULL },
		{ OCSPREC(1, reason), 10, NULL },
	};
	struct snap_ocsp	 t;
	uint8_t			*b;

	(void)state;
	b = base_copy();
	t = *OCSP(b, 0);
	*OCSP(b, 0) = *OCSP(b, 1);
	*OCSP(b, 1) = t;
	expect_bad_sealed(b, "ocsp record 1: not sorted by cert_id");
	b = base_copy();
	*OCSP(b, 1) = *OCSP(b, 0);
	expect_bad_sealed(b, "ocsp record 1: duplicate cert_id");
	EXPECT_POKES(pokes);
}

/*
 * Every bit of the file flipped in turn: always refused, and for the
 * fields not checked before the checksum, by the checksum.
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
			if (i < offsetof(struct snap_header, generation))
				expect_bad_buf(b, base_len, "");
			else if (i >= offsetof(struct snap_header, file_len) &&
			    i < offsetof(struct snap_header, staple_off))
				expect_bad_buf(b, base_len, "file_len");
			else
				expect_bad_buf(b, base_len,
				    "checksum mismatch");
			b[i] ^= (uint8_t)(1 << bit);
		}
	free(b);
	/* One file on disk, to go through the mapping too. */
	b = base_copy();
	b[base_len - 1] ^= 0x80;
	expect_bad(b, base_len, "checksum mismatch");
	free(b);
}

/* Records are read in place: a misaligned buffer is refused, not read. */
static void
t_unaligned_buffer(void **state)
{
	(void)state;
	expect_unaligned_refused(from_buffer, base, base_len);
}

/* --- not files ----------------------------------------------------------- */

static void
t_not_regular(void **state)
{
	char	 p[PATH_MAX];

	(void)state;
	/* A directory, and a FIFO (the open does not wait for a writer). */
	snprintf(p, sizeof(p), "%s/dir", tmpdir);
	expect_not_regular(open_path, p, p);
	/* Missing: ENOENT, so the caller can tell "no snapshot yet". */
	snprintf(p, sizeof(p), "%s/missing", tmpdir);
	expect_missing(open_path, p, p);
}

static void
t_too_large(void **state)
{
	uint8_t	*b;
	char	 err[512];
	int	 fd;

	(void)state;
	/* Sparse: costs no disk. */
	assert_true((fd = open(bad_path, O_WRONLY | O_CREAT | O_TRUNC,
	    0644)) != -1);
	assert_int_equal(ftruncate(fd, (off_t)SNAP_MAX_FILE + 1), 0);
	close(fd);
	assert_null(snapshot_open(bad_path, err, sizeof(err)));
	assert_non_null(strstr(err, "too large"));
	assert_int_equal(errno, EINVAL);
	unlink(bad_path);
	/* The reader's own limit, for a buffer. */
	assert_non_null(b = calloc(1, (size_t)SNAP_MAX_FILE + 1));
	memcpy(b, base, base_len);
	expect_bad_buf(b, (size_t)SNAP_MAX_FILE + 1, "too large");
	free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_base_ok),
		cmocka_unit_test(t_truncated),
		cmocka_unit_test(t_longer),
		cmocka_unit_test(t_bad_ident),
		cmocka_unit_test(t_bad_sections),
		cmocka_unit_test(t_bad_new_sections),
		cmocka_unit_test(t_bad_records),
		cmocka_unit_test(t_bad_crl_records),
		cmocka_unit_test(t_bad_ocsp_records),
		cmocka_unit_test(t_bit_flips),
		cmocka_unit_test(t_unaligned_buffer),
		cmocka_unit_test(t_not_regular),
		cmocka_unit_test(t_too_large),
	};

	log_init("t_snapshot_damaged", LOG_LVL_INFO, false);
	return cmocka_run_group_tests(tests, setup, teardown);
}
