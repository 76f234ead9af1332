/*
 * snapshot.c: the reader's side of a snapshot file (layout in
 * ipc_proto.h).  The broker maps the file read-only and shared, checks all
 * of it once here, and then looks staples, CRL records and client OCSP
 * statuses up in place without allocating.
 *
 * The bytes were written by another process and are checked as if an
 * attacker had written them: every size, offset and count is compared in
 * 64-bit arithmetic against what is really there, and no path aborts.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "mapfile.h"
#include "snapshot.h"

/* Records are read in place, so their byte order must be the host's. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
    "snapshot files are little-endian; this reader reads them in place");

#define SNAP_ALIGN	8	/* of the file start and of every section */
#define SNAP_NSECT	4	/* staple, crl, ocsp, blob */
#define SNAP_REASON_MAX	10	/* CRLReason aACompromise, RFC 5280 5.3.1 */
#define CKSUM_OFF	offsetof(struct snap_header, checksum)
#define CKSUM_LEN	sizeof(((struct snap_header *)0)->checksum)

/*
 * A validated snapshot.  The counts and section bounds are copied out of
 * the header once validated and used from here on, so that what a lookup
 * reads stays inside what was checked even if the file's bytes were to
 * change under the mapping.
 */
struct snapshot {
	const uint8_t			*base;	/* mapping or caller's buffer */
	size_t				 len;
	int				 mapped; /* munmap base at close */
	uint64_t			 generation;
	const struct snap_staple	*staples;
	size_t				 nstaples;
	const struct snap_crl		*crls;
	size_t				 ncrls;
	const struct snap_ocsp		*ocsp;
	size_t				 nocsp;
	const uint8_t			*blob;
	size_t				 bloblen;
};

static const struct ipc_file_kind snap_kind = {
	.magic = SNAP_MAGIC,
	.version = SNAP_VERSION,
	.header_len = sizeof(struct snap_header),
	.file_len_off = offsetof(struct snap_header, file_len),
	.max_len = SNAP_MAX_FILE,
};

/* A section as the header describes it: n records of sz bytes at off. */
struct snap_section {
	const char	*what;
	uint64_t	 off;
	uint64_t	 n;
	uint64_t	 sz;
};

static void	 snap_err(char *, size_t, const char *, const char *, ...)
		    __attribute__((format(printf, 4, 5)));
static int	 snap_check_header(const uint8_t *, size_t, const char *,
		    char *, size_t);
static int	 snap_check_section(const struct snap_section *, uint64_t,
		    const char *, char *, size_t);
static int	 snap_check_layout(const struct snap_header *, const char *,
		    char *, size_t);
static int	 snap_check_staple(const struct snap_staple *, size_t,
		    uint64_t, const char *, char *, size_t);
static int	 snap_check_staples(const struct snapshot *, const char *,
		    char *, size_t);
static int	 snap_check_crls(const struct snapshot *, const char *,
		    char *, size_t);
static int	 snap_check_ocsps(const struct snapshot *, const char *,
		    char *, size_t);
static int	 snap_crl_cmp(const uint8_t *, const uint8_t *,
		    const struct snap_crl *);
static struct snapshot *snap_validate(const uint8_t *, size_t, const char *,
		    char *, size_t);

/* "snapshot NAME: reason", one line; err may be NULL. */
static void
snap_err(char *err, size_t errlen, const char *name, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	ipc_verr(err, errlen, "snapshot", name, fmt, ap);
	va_end(ap);
}

/*
 * SHA-256 of buf with the checksum field read as zeros, in one pass.
 * Returns 0, or -1 if OpenSSL fails (out of memory).
 */
int
snapshot_checksum(const void *buf, size_t len, uint8_t out[SNAP_ID_LEN])
{
	static const uint8_t	 zero[CKSUM_LEN];
	const uint8_t		*p = buf;
	EVP_MD_CTX		*ctx;
	unsigned int		 n;
	int			 rc = -1;

	if (len < sizeof(struct snap_header))
		return -1;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		goto fail;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, p, CKSUM_OFF) != 1 ||
	    EVP_DigestUpdate(ctx, zero, CKSUM_LEN) != 1 ||
	    EVP_DigestUpdate(ctx, p + CKSUM_OFF + CKSUM_LEN,
	    len - CKSUM_OFF - CKSUM_LEN) != 1 ||
	    EVP_DigestFinal_ex(ctx, out, &n) != 1 || n != SNAP_ID_LEN)
		goto fail;
	rc = 0;
 fail:
	EVP_MD_CTX_free(ctx);
	return rc;
}

/*
 * What identifies the file and its size: checked before the checksum so
 * that a file of another version or a truncated one says so.
 */
static int
snap_check_header(const uint8_t *buf, size_t len, const char *name,
    char *err, size_t errlen)
{
	char	 why[160];

	if (ipc_check_ident(buf, len, &snap_kind, why, sizeof(why)) == -1) {
		snap_err(err, errlen, name, "%s", why);
		return -1;
	}
	return 0;
}

/*
 * A section of n records of size sz at off: 8-byte aligned, after the
 * header, inside the file.  The count is checked by division, so a huge n
 * cannot wrap the product around.
 */
static int
snap_check_section(const struct snap_section *sec, uint64_t flen,
    const char *name, char *err, size_t errlen)
{
	if (sec->off % SNAP_ALIGN != 0) {
		snap_err(err, errlen, name, "%s section at %" PRIu64
		    " not %d-byte aligned", sec->what, sec->off, SNAP_ALIGN);
		return -1;
	}
	if (sec->off < sizeof(struct snap_header) || sec->off > flen) {
		snap_err(err, errlen, name, "%s section at %" PRIu64
		    " outside the file", sec->what, sec->off);
		return -1;
	}
	if (sec->n > (flen - sec->off) / sec->sz) {
		snap_err(err, errlen, name, "%s section of %" PRIu64
		    " x %" PRIu64 " bytes at %" PRIu64 " past the end of the "
		    "file", sec->what, sec->n, sec->sz, sec->off);
		return -1;
	}
	return 0;
}

/*
 * Every section inside the file, and no two overlapping: a byte belongs
 * to one section at most, so a record can never be read as another kind.
 * Empty sections overlap nothing.  The products cannot overflow once
 * snap_check_section() has bounded each count by the file size.
 */
static int
snap_check_layout(const struct snap_header *h, const char *name, char *err,
    size_t errlen)
{
	const struct snap_section	 sec[SNAP_NSECT] = {
		{ "staple", h->staple_off, h->n_staples,
		    sizeof(struct snap_staple) },
		{ "crl", h->crl_off, h->n_crls, sizeof(struct snap_crl) },
		{ "ocsp", h->ocsp_off, h->n_ocsp, sizeof(struct snap_ocsp) },
		{ "blob", h->blob_off, h->blob_len, 1 },
	};
	uint64_t			 a0, a1, b0, b1;
	size_t				 i, j;

	for (i = 0; i < SNAP_NSECT; i++)
		if (snap_check_section(&sec[i], h->file_len, name, err,
		    errlen) == -1)
			return -1;
	for (i = 0; i < SNAP_NSECT; i++) {
		a0 = sec[i].off;
		a1 = a0 + sec[i].n * sec[i].sz;
		for (j = i + 1; j < SNAP_NSECT; j++) {
			b0 = sec[j].off;
			b1 = b0 + sec[j].n * sec[j].sz;
			if (a0 < a1 && b0 < b1 && a0 < b1 && b0 < a1) {
				snap_err(err, errlen, name, "%s and %s "
				    "sections overlap", sec[i].what,
				    sec[j].what);
				return -1;
			}
		}
	}
	return 0;
}

static int
snap_check_staple(const struct snap_staple *r, size_t i, uint64_t bloblen,
    const char *name, char *err, size_t errlen)
{
	if (r->reserved != 0) {
		snap_err(err, errlen, name, "staple record %zu: reserved field "
		    "not zero", i);
		return -1;
	}
	switch (r->state) {
	case SNAP_STAPLE_GOOD:
		break;
	case SNAP_STAPLE_REVOKED:
	case SNAP_STAPLE_FAILED:
		if (r->der_off != 0 || r->der_len != 0) {
			snap_err(err, errlen, name, "staple record %zu: DER in "
			    "a record that is not GOOD", i);
			return -1;
		}
		return 0;
	default:
		snap_err(err, errlen, name, "staple record %zu: unknown state %"
		    PRIu32, i, r->state);
		return -1;
	}
	if (r->der_len == 0) {
		snap_err(err, errlen, name, "staple record %zu: GOOD without "
		    "DER", i);
		return -1;
	}
	if (r->der_len > SNAP_MAX_DER) {
		snap_err(err, errlen, name, "staple record %zu: der_len %"
		    PRIu32 " over %d", i, r->der_len, SNAP_MAX_DER);
		return -1;
	}
	if ((uint64_t)r->der_off + r->der_len > bloblen) {
		snap_err(err, errlen, name, "staple record %zu: DER at %" PRIu32
		    "+%" PRIu32 " outside the blob area (%" PRIu64 " bytes)",
		    i, r->der_off, r->der_len, bloblen);
		return -1;
	}
	return 0;
}

/* Each record, and their order: strictly increasing cert_id. */
static int
snap_check_staples(const struct snapshot *s, const char *name, char *err,
    size_t errlen)
{
	size_t	 i;
	int	 c;

	for (i = 0; i < s->nstaples; i++) {
		if (snap_check_staple(&s->staples[i], i, s->bloblen, name,
		    err, errlen) == -1)
			return -1;
		if (i == 0)
			continue;
		c = memcmp(s->staples[i - 1].cert_id, s->staples[i].cert_id,
		    SNAP_ID_LEN);
		if (c == 0) {
			snap_err(err, errlen, name, "staple record %zu: "
			    "duplicate cert_id", i);
			return -1;
		}
		if (c > 0) {
			snap_err(err, errlen, name, "staple record %zu: not "
			    "sorted by cert_id", i);
			return -1;
		}
	}
	return 0;
}

/*
 * A CRL record's own fields; its order is the caller's.  A FAILED record
 * names no table, so a broker never opens one for it; an OK record names
 * one (the table itself is checked when it is opened).
 */
int
snap_crl_check(const struct snap_crl *r, char *why, size_t whylen)
{
	if (r->reserved != 0) {
		snprintf(why, whylen, "reserved field not zero");
		return -1;
	}
	switch (r->state) {
	case SNAP_CRL_OK:
		if (ipc_all_zero(r->table_id, SNAP_ID_LEN)) {
			snprintf(why, whylen, "OK without a table_id");
			return -1;
		}
		if (r->count > CRL_TABLE_MAX_ENTRIES) {
			snprintf(why, whylen, "count %" PRIu64 " over %u",
			    r->count, CRL_TABLE_MAX_ENTRIES);
			return -1;
		}
		return 0;
	case SNAP_CRL_FAILED:
		if (r->count != 0 || !ipc_all_zero(r->table_id, SNAP_ID_LEN)) {
			snprintf(why, whylen, "table in a FAILED record");
			return -1;
		}
		return 0;
	default:
		snprintf(why, whylen, "unknown state %" PRIu32, r->state);
		return -1;
	}
}

/*
 * A client OCSP record's own fields: a known status, and a revocation
 * time and reason only in a REVOKED record (reason -1: none given).
 */
int
snap_ocsp_check(const struct snap_ocsp *r, char *why, size_t whylen)
{
	switch (r->status) {
	case SNAP_OCSP_GOOD:
	case SNAP_OCSP_UNKNOWN:
	case SNAP_OCSP_FAILED:
		if (r->revoked_at != 0 || r->reason != -1) {
			snprintf(why, whylen, "revocation in a record that is "
			    "not REVOKED");
			return -1;
		}
		return 0;
	case SNAP_OCSP_REVOKED:
		if (r->reason < -1 || r->reason > SNAP_REASON_MAX) {
			snprintf(why, whylen, "unknown reason %" PRId32,
			    r->reason);
			return -1;
		}
		return 0;
	default:
		snprintf(why, whylen, "unknown status %" PRIu32, r->status);
		return -1;
	}
}

/* The order of CRL records: issuer_id, then dp_id, memcmp. */
static int
snap_crl_cmp(const uint8_t *issuer_id, const uint8_t *dp_id,
    const struct snap_crl *r)
{
	int	 c;

	if ((c = memcmp(issuer_id, r->issuer_id, SNAP_ID_LEN)) != 0)
		return c;
	return memcmp(dp_id, r->dp_id, SNAP_ID_LEN);
}

static int
snap_check_crls(const struct snapshot *s, const char *name, char *err,
    size_t errlen)
{
	const struct snap_crl	*r;
	char			 why[96];
	size_t			 i;
	int			 c;

	for (i = 0; i < s->ncrls; i++) {
		r = &s->crls[i];
		if (snap_crl_check(r, why, sizeof(why)) == -1) {
			snap_err(err, errlen, name, "crl record %zu: %s", i,
			    why);
			return -1;
		}
		if (i == 0)
			continue;
		c = snap_crl_cmp(r[-1].issuer_id, r[-1].dp_id, r);
		if (c == 0) {
			snap_err(err, errlen, name, "crl record %zu: duplicate "
			    "(issuer_id, dp_id)", i);
			return -1;
		}
		if (c > 0) {
			snap_err(err, errlen, name, "crl record %zu: not "
			    "sorted by (issuer_id, dp_id)", i);
			return -1;
		}
	}
	return 0;
}

static int
snap_check_ocsps(const struct snapshot *s, const char *name, char *err,
    size_t errlen)
{
	const struct snap_ocsp	*r;
	char			 why[96];
	size_t			 i;
	int			 c;

	for (i = 0; i < s->nocsp; i++) {
		r = &s->ocsp[i];
		if (snap_ocsp_check(r, why, sizeof(why)) == -1) {
			snap_err(err, errlen, name, "ocsp record %zu: %s", i,
			    why);
			return -1;
		}
		if (i == 0)
			continue;
		c = memcmp(r[-1].cert_id, r->cert_id, SNAP_ID_LEN);
		if (c == 0) {
			snap_err(err, errlen, name, "ocsp record %zu: "
			    "duplicate cert_id", i);
			return -1;
		}
		if (c > 0) {
			snap_err(err, errlen, name, "ocsp record %zu: not "
			    "sorted by cert_id", i);
			return -1;
		}
	}
	return 0;
}

/*
 * Validate buf[0..len) in place.  Returns a snapshot that points into buf
 * (not mapped: the caller sets that), or NULL with err set and errno
 * EINVAL (ENOMEM if out of memory).
 */
static struct snapshot *
snap_validate(const uint8_t *buf, size_t len, const char *name, char *err,
    size_t errlen)
{
	const struct snap_header	*h;
	struct snapshot			*s = NULL;
	uint8_t				 sum[SNAP_ID_LEN];

	if (snap_check_header(buf, len, name, err, errlen) == -1)
		goto invalid;
	h = (const struct snap_header *)buf;
	if (snapshot_checksum(buf, len, sum) == -1) {
		snap_err(err, errlen, name, "cannot compute SHA-256");
		errno = ENOMEM;
		return NULL;
	}
#ifndef FUZZING
	/*
	 * The fuzz build skips the comparison (but not the computation), so
	 * that mutated inputs reach the structure checks below.
	 */
	if (CRYPTO_memcmp(sum, h->checksum, sizeof(sum)) != 0) {
		snap_err(err, errlen, name, "checksum mismatch");
		goto invalid;
	}
#endif
	if (snap_check_layout(h, name, err, errlen) == -1)
		goto invalid;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snap_err(err, errlen, name, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	s->base = buf;
	s->len = len;
	s->generation = h->generation;
	s->staples = (const struct snap_staple *)(buf + h->staple_off);
	s->nstaples = h->n_staples;
	s->crls = (const struct snap_crl *)(buf + h->crl_off);
	s->ncrls = h->n_crls;
	s->ocsp = (const struct snap_ocsp *)(buf + h->ocsp_off);
	s->nocsp = h->n_ocsp;
	s->blob = buf + h->blob_off;
	s->bloblen = h->blob_len;
	if (snap_check_staples(s, name, err, errlen) == -1 ||
	    snap_check_crls(s, name, err, errlen) == -1 ||
	    snap_check_ocsps(s, name, err, errlen) == -1)
		goto invalid;
	return s;

 invalid:
	free(s);
	errno = EINVAL;
	return NULL;
}

/*
 * Map path read-only and shared (ipc_map) and validate it.  On failure
 * errno is that of the failing call (ENOENT: no snapshot yet), or EINVAL
 * for a file that is not a valid snapshot.
 *
 * XXX A validated mapping trusts fetcherd not to rewrite or truncate the
 * file in place: truncation would raise SIGBUS on access.  Lookups only
 * use bounds copied at validation, and snapshot_staple_der() checks a
 * record again, so changed bytes cannot make them read outside the map.
 */
struct snapshot *
snapshot_open(const char *path, char *err, size_t errlen)
{
	struct snapshot	*s;
	const void	*map;
	char		 why[160];
	size_t		 len;
	int		 save;

	if ((map = ipc_map(path, snap_kind.header_len, snap_kind.max_len,
	    &len, why, sizeof(why))) == NULL) {
		snap_err(err, errlen, path, "%s", why);
		return NULL;
	}
	if ((s = snap_validate(map, len, path, err, errlen)) == NULL) {
		save = errno;
		ipc_unmap(map, len);
		errno = save;
		return NULL;
	}
	s->mapped = 1;
	return s;
}

/*
 * Validate buf in place: nothing is copied, so the caller keeps buf alive
 * and unchanged until snapshot_close().  buf must be 8-byte aligned (any
 * malloc'd buffer is), since records are read as structs.
 */
struct snapshot *
snapshot_from_buffer(const void *buf, size_t len, char *err, size_t errlen)
{
	return snap_validate(buf, len, "(buffer)", err, errlen);
}

void
snapshot_close(struct snapshot *s)
{
	if (s == NULL)
		return;
	if (s->mapped)
		ipc_unmap(s->base, s->len);
	free(s);
}

uint64_t
snapshot_generation(const struct snapshot *s)
{
	return s->generation;
}

size_t
snapshot_nstaples(const struct snapshot *s)
{
	return s->nstaples;
}

/* The i-th record in cert_id order, or NULL past the end. */
const struct snap_staple *
snapshot_staple_at(const struct snapshot *s, size_t i)
{
	if (i >= s->nstaples)
		return NULL;
	return &s->staples[i];
}

const struct snap_staple *
snapshot_staple(const struct snapshot *s, const uint8_t id[SNAP_ID_LEN])
{
	size_t	 lo = 0, hi = s->nstaples, mid;
	int	 c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = memcmp(id, s->staples[mid].cert_id, SNAP_ID_LEN);
		if (c == 0)
			return &s->staples[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/*
 * The DER of a GOOD record of this snapshot, or NULL (and *len 0) for any
 * other record.  The record's fields are read once and checked again: it
 * costs three comparisons and keeps the read inside the blob area.
 */
const uint8_t *
snapshot_staple_der(const struct snapshot *s, const struct snap_staple *r,
    size_t *len)
{
	uint32_t	 state, off, n;

	*len = 0;
	if ((uintptr_t)r < (uintptr_t)s->staples ||
	    (uintptr_t)r >= (uintptr_t)(s->staples + s->nstaples))
		return NULL;
	state = r->state;
	off = r->der_off;
	n = r->der_len;
	if (state != SNAP_STAPLE_GOOD || n == 0 || n > SNAP_MAX_DER ||
	    (uint64_t)off + n > s->bloblen)
		return NULL;
	*len = n;
	return s->blob + off;
}

size_t
snapshot_ncrls(const struct snapshot *s)
{
	return s->ncrls;
}

/* The i-th CRL record in (issuer_id, dp_id) order, or NULL past the end. */
const struct snap_crl *
snapshot_crl_at(const struct snapshot *s, size_t i)
{
	if (i >= s->ncrls)
		return NULL;
	return &s->crls[i];
}

const struct snap_crl *
snapshot_crl(const struct snapshot *s, const uint8_t issuer_id[SNAP_ID_LEN],
    const uint8_t dp_id[SNAP_ID_LEN])
{
	size_t	 lo = 0, hi = s->ncrls, mid;
	int	 c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = snap_crl_cmp(issuer_id, dp_id, &s->crls[mid]);
		if (c == 0)
			return &s->crls[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/*
 * The records of one issuer are consecutive (the issuer is the major
 * key): two binary searches find where they start and end, O(log n)
 * however many distribution points the issuer has.  Returns how many
 * there are; *first (may be NULL) is the index of the first one, or of
 * where it would be when there are none.
 */
size_t
snapshot_crls_of(const struct snapshot *s,
    const uint8_t issuer_id[SNAP_ID_LEN], size_t *first)
{
	size_t	 lo = 0, hi = s->ncrls, mid, start;

	/* The first record whose issuer is not below issuer_id. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (memcmp(s->crls[mid].issuer_id, issuer_id, SNAP_ID_LEN) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	start = lo;
	/* The first record whose issuer is above it. */
	hi = s->ncrls;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (memcmp(s->crls[mid].issuer_id, issuer_id, SNAP_ID_LEN) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (first != NULL)
		*first = start;
	return lo - start;
}

size_t
snapshot_nocsp(const struct snapshot *s)
{
	return s->nocsp;
}

/* The i-th client OCSP record in cert_id order, or NULL past the end. */
const struct snap_ocsp *
snapshot_ocsp_at(const struct snapshot *s, size_t i)
{
	if (i >= s->nocsp)
		return NULL;
	return &s->ocsp[i];
}

const struct snap_ocsp *
snapshot_ocsp(const struct snapshot *s, const uint8_t cert_id[SNAP_ID_LEN])
{
	size_t	 lo = 0, hi = s->nocsp, mid;
	int	 c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = memcmp(cert_id, s->ocsp[mid].cert_id, SNAP_ID_LEN);
		if (c == 0)
			return &s->ocsp[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}
