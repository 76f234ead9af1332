/*
 * snapshot_write.c: the writer's side of a snapshot file (layout in
 * ipc_proto.h), used by fetcherd, the only writer.
 *
 * The writer keeps its records in memory, each kind sorted by its key as
 * they are added, and each publication writes a whole new file next to
 * the old one and renames it into place: a reader never sees a half-written
 * file, and one that has the old file mapped keeps it until it switches.
 * The file holds staples (a few per listener), one small record per CRL
 * and one per client certificate asked about, so rewriting all of it is
 * cheap; the revoked serials of a CRL, which can be millions, live in
 * table files of their own (crl_table_write.c), written once.
 *
 * Publications happen at run time, so allocation failures are returned,
 * not fatal.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "log.h"
#include "snapshot.h"
#include "writefile.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
    "snapshot files are little-endian; this writer writes host order");
/* Sections follow each other unpadded and must stay 8-byte aligned. */
_Static_assert(sizeof(struct snap_header) % 8 == 0, "header size");
_Static_assert(sizeof(struct snap_staple) % 8 == 0, "record size");
_Static_assert(sizeof(struct snap_crl) % 8 == 0, "record size");
_Static_assert(sizeof(struct snap_ocsp) % 8 == 0, "record size");

#define SNAP_TMP	".snapshot.XXXXXX"

/* One record and the DER it owns (GOOD only; NULL otherwise). */
struct snap_wrec {
	struct snap_staple	 rec;	/* der_off is set at publication */
	uint8_t			*der;
};

/*
 * Fixed-size records that own nothing (CRL, client OCSP), kept sorted by
 * cmp exactly as they will be written.
 */
struct snap_rarr {
	uint8_t		*v;	/* n records of sz bytes */
	size_t		 n;
	size_t		 cap;
	size_t		 sz;
	int		(*cmp)(const void *, const void *);
};

struct snap_writer {
	struct snap_wrec	*recs;	/* staples, sorted by rec.cert_id */
	size_t			 n;
	size_t			 cap;
	struct snap_rarr	 crls;	/* by (issuer_id, dp_id) */
	struct snap_rarr	 ocsp;	/* by cert_id */
};

static size_t	 snap_writer_find(const struct snap_writer *,
		    const uint8_t *, int *);
static int	 snap_writer_grow(struct snap_writer *);
static int	 snap_crl_order(const void *, const void *);
static int	 snap_ocsp_order(const void *, const void *);
static int	 snap_rarr_put(struct snap_rarr *, const void *);
static const char *snap_hex8(const uint8_t *, char *, size_t);
static uint8_t	*snap_image(const struct snap_writer *, const char *,
		    uint64_t, int64_t, size_t *);
static int	 snap_write_file(const char *, const uint8_t *, size_t);

struct snap_writer *
snap_writer_new(void)
{
	struct snap_writer	*w;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		log_warn("calloc");
		return NULL;
	}
	w->crls.sz = sizeof(struct snap_crl);
	w->crls.cmp = snap_crl_order;
	w->ocsp.sz = sizeof(struct snap_ocsp);
	w->ocsp.cmp = snap_ocsp_order;
	return w;
}

void
snap_writer_free(struct snap_writer *w)
{
	size_t	 i;

	if (w == NULL)
		return;
	for (i = 0; i < w->n; i++)
		free(w->recs[i].der);
	free(w->recs);
	free(w->crls.v);
	free(w->ocsp.v);
	free(w);
}

/* Where id is, or would be inserted; *found says which. */
static size_t
snap_writer_find(const struct snap_writer *w, const uint8_t *id, int *found)
{
	size_t	 lo = 0, hi = w->n, mid;
	int	 c;

	*found = 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = memcmp(id, w->recs[mid].rec.cert_id, SNAP_ID_LEN);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static int
snap_writer_grow(struct snap_writer *w)
{
	struct snap_wrec	*r;
	size_t			 cap;

	if (w->n < w->cap)
		return 0;
	cap = w->cap == 0 ? 16 : w->cap * 2;
	if ((r = reallocarray(w->recs, cap, sizeof(*r))) == NULL) {
		log_warn("reallocarray");
		return -1;
	}
	w->recs = r;
	w->cap = cap;
	return 0;
}

/*
 * Add or replace the record of cert_id.  der is copied for a GOOD record
 * (1..SNAP_MAX_DER bytes) and ignored otherwise.  On failure (-1, logged)
 * the writer is unchanged.
 */
int
snap_writer_staple(struct snap_writer *w, const uint8_t cert_id[SNAP_ID_LEN],
    enum snap_staple_state state, int64_t this_update, int64_t next_update,
    int64_t fetched_at, const uint8_t *der, size_t der_len)
{
	struct snap_wrec	*r;
	uint8_t			*copy = NULL;
	size_t			 i;
	int			 found;

	switch (state) {
	case SNAP_STAPLE_GOOD:
		if (der == NULL || der_len == 0 || der_len > SNAP_MAX_DER) {
			log_warnx("GOOD staple with %zu bytes of DER (1..%d)",
			    der_len, SNAP_MAX_DER);
			return -1;
		}
		if ((copy = malloc(der_len)) == NULL) {
			log_warn("malloc");
			return -1;
		}
		memcpy(copy, der, der_len);
		break;
	case SNAP_STAPLE_REVOKED:
	case SNAP_STAPLE_FAILED:
		der_len = 0;
		break;
	default:
		log_warnx("unknown staple state %d", (int)state);
		return -1;
	}

	i = snap_writer_find(w, cert_id, &found);
	if (!found) {
		if (snap_writer_grow(w) == -1) {
			free(copy);
			return -1;
		}
		memmove(&w->recs[i + 1], &w->recs[i],
		    (w->n - i) * sizeof(w->recs[0]));
		w->n++;
	} else
		free(w->recs[i].der);
	r = &w->recs[i];
	memset(r, 0, sizeof(*r));
	memcpy(r->rec.cert_id, cert_id, SNAP_ID_LEN);
	r->rec.this_update = this_update;
	r->rec.next_update = next_update;
	r->rec.fetched_at = fetched_at;
	r->rec.state = state;
	r->rec.der_len = (uint32_t)der_len;
	r->der = copy;
	return 0;
}

static int
snap_crl_order(const void *a, const void *b)
{
	const struct snap_crl	*x = a, *y = b;
	int			 c;

	if ((c = memcmp(x->issuer_id, y->issuer_id, SNAP_ID_LEN)) != 0)
		return c;
	return memcmp(x->dp_id, y->dp_id, SNAP_ID_LEN);
}

static int
snap_ocsp_order(const void *a, const void *b)
{
	const struct snap_ocsp	*x = a, *y = b;

	return memcmp(x->cert_id, y->cert_id, SNAP_ID_LEN);
}

/*
 * Add rec, or replace the record with the same key, keeping the array
 * sorted (binary search, then one memmove).  -1 logged if out of memory;
 * the array is then unchanged.
 */
static int
snap_rarr_put(struct snap_rarr *a, const void *rec)
{
	uint8_t	*v;
	size_t	 lo = 0, hi = a->n, mid, cap;
	int	 c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = a->cmp(rec, a->v + mid * a->sz);
		if (c == 0) {
			memcpy(a->v + mid * a->sz, rec, a->sz);
			return 0;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (a->n == a->cap) {
		cap = a->cap == 0 ? 16 : a->cap * 2;
		if ((v = reallocarray(a->v, cap, a->sz)) == NULL) {
			log_warn("reallocarray");
			return -1;
		}
		a->v = v;
		a->cap = cap;
	}
	memmove(a->v + (lo + 1) * a->sz, a->v + lo * a->sz,
	    (a->n - lo) * a->sz);
	memcpy(a->v + lo * a->sz, rec, a->sz);
	a->n++;
	return 0;
}

/* The first 8 bytes of an id in hex, enough to tell records apart in logs. */
static const char *
snap_hex8(const uint8_t *id, char *buf, size_t len)
{
	snprintf(buf, len, "%02x%02x%02x%02x%02x%02x%02x%02x", id[0], id[1],
	    id[2], id[3], id[4], id[5], id[6], id[7]);
	return buf;
}

/*
 * Add or replace the record of (issuer_id, dp_id).  reserved is the
 * writer's business and is zeroed; a record the reader would refuse is
 * refused here (-1, logged), so the mistake shows in fetcherd and not as
 * a snapshot every broker rejects.
 */
int
snap_writer_crl(struct snap_writer *w, const struct snap_crl *rec)
{
	struct snap_crl	 r = *rec;
	char		 why[96], h1[20], h2[20];

	r.reserved = 0;
	if (snap_crl_check(&r, why, sizeof(why)) == -1) {
		log_warnx("CRL record of issuer %s, dp %s: %s",
		    snap_hex8(r.issuer_id, h1, sizeof(h1)),
		    snap_hex8(r.dp_id, h2, sizeof(h2)), why);
		return -1;
	}
	return snap_rarr_put(&w->crls, &r);
}

/* Add or replace the client OCSP record of cert_id; checked as above. */
int
snap_writer_ocsp(struct snap_writer *w, const struct snap_ocsp *rec)
{
	char	 why[96], h[20];

	if (snap_ocsp_check(rec, why, sizeof(why)) == -1) {
		log_warnx("OCSP record of certificate %s: %s",
		    snap_hex8(rec->cert_id, h, sizeof(h)), why);
		return -1;
	}
	return snap_rarr_put(&w->ocsp, rec);
}

/*
 * The whole file image, checksum included: header, the staple, CRL and
 * client OCSP records, then the blob area.  Header and record sizes are
 * multiples of 8, so every section starts 8-byte aligned as readers
 * require.  Returns a buffer of *lenp bytes to free, or NULL logged.
 */
static uint8_t *
snap_image(const struct snap_writer *w, const char *dir, uint64_t generation,
    int64_t now, size_t *lenp)
{
	struct snap_header	*h;
	struct snap_staple	*out;
	uint8_t			*buf, *blob;
	uint64_t		 bloblen = 0, len, crl_off, ocsp_off, blob_off;
	uint32_t		 off = 0;
	size_t			 i;

	for (i = 0; i < w->n; i++)
		bloblen += w->recs[i].rec.der_len;
	crl_off = sizeof(*h) + (uint64_t)w->n * sizeof(*out);
	ocsp_off = crl_off + (uint64_t)w->crls.n * w->crls.sz;
	blob_off = ocsp_off + (uint64_t)w->ocsp.n * w->ocsp.sz;
	len = blob_off + bloblen;
	if (len > SNAP_MAX_FILE) {
		log_warnx("%s/%s: %zu staples, %zu CRLs and %zu client OCSP "
		    "records take %llu bytes, over the limit of %u", dir,
		    SNAP_FILE, w->n, w->crls.n, w->ocsp.n,
		    (unsigned long long)len, SNAP_MAX_FILE);
		return NULL;
	}
	if ((buf = calloc(1, len)) == NULL) {
		log_warn("%s/%s: calloc %llu", dir, SNAP_FILE,
		    (unsigned long long)len);
		return NULL;
	}
	h = (struct snap_header *)buf;
	memcpy(h->magic, SNAP_MAGIC, sizeof(h->magic));
	h->version = SNAP_VERSION;
	h->header_len = sizeof(*h);
	h->generation = generation;
	h->created = now;
	h->file_len = len;
	/* All below SNAP_MAX_FILE, so they fit 32 bits. */
	h->staple_off = sizeof(*h);
	h->n_staples = (uint32_t)w->n;
	h->crl_off = (uint32_t)crl_off;
	h->n_crls = (uint32_t)w->crls.n;
	h->ocsp_off = (uint32_t)ocsp_off;
	h->n_ocsp = (uint32_t)w->ocsp.n;
	h->blob_off = (uint32_t)blob_off;
	h->blob_len = (uint32_t)bloblen;
	if (w->crls.n > 0)
		memcpy(buf + crl_off, w->crls.v, w->crls.n * w->crls.sz);
	if (w->ocsp.n > 0)
		memcpy(buf + ocsp_off, w->ocsp.v, w->ocsp.n * w->ocsp.sz);

	out = (struct snap_staple *)(buf + h->staple_off);
	blob = buf + h->blob_off;
	for (i = 0; i < w->n; i++) {
		out[i] = w->recs[i].rec;
		if (w->recs[i].der == NULL)
			continue;
		out[i].der_off = off;
		memcpy(blob + off, w->recs[i].der, out[i].der_len);
		off += out[i].der_len;
	}
	if (snapshot_checksum(buf, len, h->checksum) == -1) {
		log_warnx("%s/%s: SHA-256 failed", dir, SNAP_FILE);
		free(buf);
		return NULL;
	}
	*lenp = len;
	return buf;
}

/*
 * dir/.snapshot.XXXXXX, mode 0644, written, fsynced, renamed over
 * dir/SNAP_FILE.  Until the rename, any failure removes the temporary
 * file; after it, the new file is in place and only the fsync of dir can
 * fail (then the rename may not survive a crash).
 */
static int
snap_write_file(const char *dir, const uint8_t *buf, size_t len)
{
	char	 tmp[PATH_MAX], path[PATH_MAX];
	int	 fd = -1, n;

	n = snprintf(tmp, sizeof(tmp), "%s/%s", dir, SNAP_TMP);
	if (n < 0 || (size_t)n >= sizeof(tmp) ||
	    (n = snprintf(path, sizeof(path), "%s/%s", dir, SNAP_FILE)) < 0 ||
	    (size_t)n >= sizeof(path)) {
		log_warnx("%s: path too long", dir);
		return -1;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		log_warn("mkstemp %s", tmp);
		return -1;
	}
	if (fchmod(fd, 0644) == -1) {
		log_warn("fchmod %s", tmp);
		goto fail;
	}
	if (ipc_write_all(fd, buf, len) == -1) {
		log_warn("write %s", tmp);
		goto fail;
	}
	if (fsync(fd) == -1) {
		log_warn("fsync %s", tmp);
		goto fail;
	}
	n = close(fd);
	fd = -1;
	if (n == -1) {
		log_warn("close %s", tmp);
		goto fail;
	}
	if (rename(tmp, path) == -1) {
		log_warn("rename %s to %s", tmp, path);
		goto fail;
	}
	/* Make the rename itself durable. */
	return ipc_fsync_dir(dir);

 fail:
	if (fd != -1)
		close(fd);
	if (unlink(tmp) == -1)
		log_warn("unlink %s", tmp);
	return -1;
}

int
snap_writer_publish(struct snap_writer *w, const char *dir,
    uint64_t generation, int64_t now)
{
	uint8_t	*buf;
	size_t	 len = 0;
	int	 rc;

	if ((buf = snap_image(w, dir, generation, now, &len)) == NULL)
		return -1;
	rc = snap_write_file(dir, buf, len);
	free(buf);
	if (rc == 0)
		log_debug("%s/%s: generation %llu, %zu staples, %zu CRLs, "
		    "%zu client OCSP, %zu bytes", dir, SNAP_FILE,
		    (unsigned long long)generation, w->n, w->crls.n,
		    w->ocsp.n, len);
	return rc;
}

/*
 * SHA-256 cannot fail short of OpenSSL being out of memory; an id made of
 * anything else would match the wrong record, so that is fatal.
 */
void
snap_cert_id(const uint8_t *der, size_t len, uint8_t id[SNAP_ID_LEN])
{
	unsigned int	 n;

	if (EVP_Digest(der, len, id, &n, EVP_sha256(), NULL) != 1 ||
	    n != SNAP_ID_LEN)
		fatalx("SHA-256 of a certificate failed");
}
