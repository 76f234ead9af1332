/*
 * crl_table.c: the reader's side of a CRL table file (layout in
 * ipc_proto.h, API in crl_table.h).  The broker maps a table read-only and
 * shared, checks all of it once, builds a bucket index next to it, and
 * then looks serials up in place, without allocating.
 *
 * A table is named after the SHA-256 of its content, and a snapshot names
 * the table it means by that same hash, so a reader that finds the hash
 * right knows it has the file fetcherd wrote for that snapshot.  The
 * bytes are still checked as if an attacker had written them.  Checking a
 * table of a million entries (32 MB) costs one pass for the SHA-256 and
 * one for the order of the entries, some 50-100 ms, once per table: the
 * broker keeps a table mapped for as long as snapshots name it.
 *
 * A plain binary search over a million entries takes some 20 dependent
 * reads across 32 MB, most of them cache misses: 0.8-1.1 us a lookup on a
 * loaded machine.  So once the entries are checked, one more pass builds
 * an index (crlt_index): per serial length, the entries of that length,
 * the leading bits they all share, and buckets on the bits that follow,
 * a few entries each when serials are spread as real ones are (random,
 * RFC 5280 4.1.2.2).  A lookup reads its bucket's bounds and searches
 * the few entries between them.  Whatever the serials, the index only
 * narrows the search: serials crowded into one bucket are found by binary
 * search inside it, as before.
 *
 * The index is derived from the checked entries, in the reader's own
 * memory, not read from the file: it is right by construction, with no
 * bounds of an attacker's to check, and the file format stays as it was.
 * It costs a pass over the entries at open (a few ms for a million) and
 * 4 bytes per 8 to 16 entries (CRLT_FILL), private to each reader: 256
 * KiB for a million serials of one length.
 *
 * The fuzz build (-DFUZZING) computes the SHA-256 but skips comparing it
 * to the id, so that inputs given to crl_table_open() reach the checks of
 * the structure; crl_table_from_buffer() has no id to compare anyway.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "crl_table.h"
#include "mapfile.h"

/* Entries are read in place, so their byte order must be the host's. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
    "CRL tables are little-endian; this reader reads them in place");
/* The entries follow the header unpadded and must stay 8-byte aligned. */
_Static_assert(sizeof(struct crl_table_header) % 8 == 0, "header size");
_Static_assert(sizeof(struct crl_entry) % 8 == 0, "entry size");

#define CRLT_MAX_FILE	(sizeof(struct crl_table_header) + \
			    (uint64_t)CRL_TABLE_MAX_ENTRIES * \
			    sizeof(struct crl_entry))

/*
 * The index: at most CRLT_FILL entries per bucket on average (for serials
 * spread evenly past their shared bits), at most 2^CRLT_BITS_MAX buckets
 * per serial length, a power of two: 4 bytes per 8.5 to 16 entries (256
 * KiB for a million of one length).  A bucket of 16 entries is 512 bytes
 * next to each other, which a lookup asks the CPU to fetch all at once
 * (up to CRLT_PREFETCH entries) before its binary search reads them, so
 * that it waits for about one miss, not four in a row.  Measured on a
 * million entries: the prefetch saves some 90 ns of 370; 8 per bucket is
 * no faster with it, and 4 or 2 were some 10 % faster without it, for an
 * index four or eight times larger.
 */
#define CRLT_FILL	16
#define CRLT_BITS_MAX	20
#define CRLT_PREFETCH	32

/*
 * The entries of one serial length: [start, end).  They all share their
 * first skip bits; the bits bits after those pick a serial's bucket k,
 * whose entries are [buckets[first + k], buckets[first + k + 1]).
 * skip + bits never exceed the length's bits, and skip % 8 + bits <= 32
 * (crlt_bucket reads a 32-bit window).
 */
struct crlt_len {
	uint32_t			 start;
	uint32_t			 end;
	uint32_t			 first;
	uint8_t				 skip;
	uint8_t				 bits;
};

/*
 * A validated table.  The header is copied and the bounds are kept here
 * once checked, so that what a lookup reads stays inside what was checked
 * even if the file's bytes were to change under the mapping: the index
 * (owned, built from the checked entries) holds positions <= count only.
 */
struct crl_table {
	const uint8_t			*base;	/* mapping or caller's buffer */
	size_t				 len;
	int				 mapped; /* munmap base at close */
	struct crl_table_header		 hdr;
	const struct crl_entry		*entries;
	size_t				 count;
	struct crlt_len			 lens[CRL_SERIAL_MAX + 1];
	uint32_t			*buckets;	/* owned */
};

_Static_assert(CRL_TABLE_MAX_ENTRIES <= UINT32_MAX, "uint32_t positions");
_Static_assert(CRLT_BITS_MAX + 7 <= 32, "a 32-bit window holds a bucket");

static const struct ipc_file_kind crlt_kind = {
	.magic = CRL_TABLE_MAGIC,
	.version = SNAP_VERSION,
	.header_len = sizeof(struct crl_table_header),
	.file_len_off = offsetof(struct crl_table_header, file_len),
	.max_len = CRLT_MAX_FILE,
};

static void	 crlt_err(char *, size_t, const char *, const char *, ...)
		    __attribute__((format(printf, 4, 5)));
static int	 crlt_check_ident(const uint8_t *, size_t, const char *,
		    char *, size_t);
static int	 crlt_check_header(const struct crl_table_header *,
		    const char *, char *, size_t);
static int	 crlt_check_entries(const struct crl_entry *, size_t,
		    const char *, char *, size_t);
static uint32_t	 crlt_bucket(const uint8_t *, size_t, const struct crlt_len *);
static size_t	 crlt_len_start(const struct crl_entry *, size_t, size_t);
static unsigned int crlt_shared_bits(const uint8_t *, const uint8_t *,
		    size_t);
static int	 crlt_index(struct crl_table *);
static struct crl_table *crlt_validate(const uint8_t *, size_t,
		    const uint8_t *, const char *, char *, size_t);

/* "crl table NAME: reason", one line; err may be NULL. */
static void
crlt_err(char *err, size_t errlen, const char *name, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	ipc_verr(err, errlen, "crl table", name, fmt, ap);
	va_end(ap);
}

void
crl_table_name(const uint8_t id[SNAP_ID_LEN], char *buf, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	char			*p;
	size_t			 i;

	if (len < CRL_TABLE_NAME_LEN + 1) {
		if (len > 0)
			buf[0] = '\0';
		return;
	}
	p = buf;
	memcpy(p, CRL_TABLE_PREFIX, strlen(CRL_TABLE_PREFIX));
	p += strlen(CRL_TABLE_PREFIX);
	for (i = 0; i < SNAP_ID_LEN; i++) {
		*p++ = hex[id[i] >> 4];
		*p++ = hex[id[i] & 0xf];
	}
	memcpy(p, CRL_TABLE_SUFFIX, sizeof(CRL_TABLE_SUFFIX));
}

int
crl_entry_cmp(const struct crl_entry *a, const struct crl_entry *b)
{
	if (a->serial_len != b->serial_len)
		return a->serial_len < b->serial_len ? -1 : 1;
	return memcmp(a->serial, b->serial, a->serial_len);
}

int
crl_entry_check(const struct crl_entry *e, char *why, size_t whylen)
{
	if (e->serial_len < 1 || e->serial_len > CRL_SERIAL_MAX) {
		snprintf(why, whylen, "serial_len %u not in 1..%d",
		    (unsigned int)e->serial_len, CRL_SERIAL_MAX);
		return -1;
	}
	/* One serial, one spelling: else a lookup could miss it. */
	if (e->serial_len > 1 && e->serial[0] == 0) {
		snprintf(why, whylen, "serial with a leading zero byte");
		return -1;
	}
	if (!ipc_all_zero(e->serial + e->serial_len,
	    CRL_SERIAL_MAX - e->serial_len)) {
		snprintf(why, whylen, "serial padding not zero");
		return -1;
	}
	if (e->reason > CRL_TABLE_REASON_MAX &&
	    e->reason != CRL_TABLE_REASON_NONE) {
		snprintf(why, whylen, "unknown reason %u",
		    (unsigned int)e->reason);
		return -1;
	}
	if (!ipc_all_zero(e->pad, sizeof(e->pad))) {
		snprintf(why, whylen, "pad not zero");
		return -1;
	}
	return 0;
}

/*
 * What identifies the file and its size: checked before the SHA-256, so
 * that a file of another version or a truncated one says so.  The count
 * is bounded before it is multiplied, so the product cannot wrap.
 */
static int
crlt_check_ident(const uint8_t *buf, size_t len, const char *name,
    char *err, size_t errlen)
{
	const struct crl_table_header	*h;
	char				 why[160];

	if (ipc_check_ident(buf, len, &crlt_kind, why, sizeof(why)) == -1) {
		crlt_err(err, errlen, name, "%s", why);
		return -1;
	}
	h = (const struct crl_table_header *)buf;
	if (h->count > CRL_TABLE_MAX_ENTRIES) {
		crlt_err(err, errlen, name, "count %" PRIu64 " over %u",
		    h->count, CRL_TABLE_MAX_ENTRIES);
		return -1;
	}
	if (sizeof(*h) + h->count * sizeof(struct crl_entry) != len) {
		crlt_err(err, errlen, name, "count %" PRIu64 " does not "
		    "match a file of %zu bytes", h->count, len);
		return -1;
	}
	return 0;
}

/* The rest of the header: the CRL number's spelling, padding. */
static int
crlt_check_header(const struct crl_table_header *h, const char *name,
    char *err, size_t errlen)
{
	if (h->crl_number_len > CRL_SERIAL_MAX) {
		crlt_err(err, errlen, name, "crl_number_len %u over %d",
		    (unsigned int)h->crl_number_len, CRL_SERIAL_MAX);
		return -1;
	}
	if (!ipc_all_zero(h->crl_number + h->crl_number_len,
	    CRL_SERIAL_MAX - h->crl_number_len)) {
		crlt_err(err, errlen, name, "crl_number padding not zero");
		return -1;
	}
	if (!ipc_all_zero(h->pad, sizeof(h->pad))) {
		crlt_err(err, errlen, name, "header pad not zero");
		return -1;
	}
	return 0;
}

/* Each entry, and their order (strictly increasing), in one pass. */
static int
crlt_check_entries(const struct crl_entry *e, size_t n, const char *name,
    char *err, size_t errlen)
{
	char	 why[96];
	size_t	 i;
	int	 c;

	for (i = 0; i < n; i++) {
		if (crl_entry_check(&e[i], why, sizeof(why)) == -1) {
			crlt_err(err, errlen, name, "entry %zu: %s", i, why);
			return -1;
		}
		if (i == 0)
			continue;
		c = crl_entry_cmp(&e[i - 1], &e[i]);
		if (c == 0) {
			crlt_err(err, errlen, name, "entry %zu: duplicate "
			    "serial", i);
			return -1;
		}
		if (c > 0) {
			crlt_err(err, errlen, name, "entry %zu: not sorted",
			    i);
			return -1;
		}
	}
	return 0;
}

/*
 * The bucket of the serial s[0..len) (len: its length, the one l is
 * for): the l->bits bits after the first l->skip.  Bytes past len read as
 * 0, so that no byte outside the serial is read.
 */
static uint32_t
crlt_bucket(const uint8_t *s, size_t len, const struct crlt_len *l)
{
	uint32_t	 w = 0;
	size_t		 o = l->skip / 8, i;

	if (l->bits == 0)
		return 0;
	for (i = o; i < o + 4; i++)
		w = w << 8 | (i < len ? s[i] : 0);
	return (uint32_t)(w << (l->skip % 8)) >> (32 - l->bits);
}

/* The first of the sorted e[0..n) with a serial_len of len or more. */
static size_t
crlt_len_start(const struct crl_entry *e, size_t n, size_t len)
{
	size_t	 lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (e[mid].serial_len < len)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* How many leading bits a[0..len) and b[0..len) have in common. */
static unsigned int
crlt_shared_bits(const uint8_t *a, const uint8_t *b, size_t len)
{
	size_t		 i;
	unsigned int	 n = 0;
	uint8_t		 x;

	for (i = 0; i < len && a[i] == b[i]; i++)
		n += 8;
	if (i < len)
		for (x = a[i] ^ b[i]; (x & 0x80) == 0; x <<= 1)
			n++;
	return n;
}

/*
 * Build t's index from its entries, which must have been checked (sorted,
 * serial_len 1..CRL_SERIAL_MAX).  Entries of one length are sorted by
 * memcmp and share their first skip bits, so the bits after those grow
 * with the position: one pass gives each bucket its first entry.  0, or
 * -1 out of memory.
 */
static int
crlt_index(struct crl_table *t)
{
	const struct crl_entry	*e = t->entries;
	struct crlt_len		*l;
	size_t			 len, i, n, nb, total = 0;
	uint32_t		 k, j, *b;
	unsigned int		 bits, max;

	for (len = 1; len <= CRL_SERIAL_MAX; len++) {
		l = &t->lens[len];
		l->start = (uint32_t)crlt_len_start(e, t->count, len);
		l->end = (uint32_t)crlt_len_start(e, t->count, len + 1);
		if ((n = l->end - l->start) == 0)
			continue;
		l->skip = (uint8_t)crlt_shared_bits(e[l->start].serial,
		    e[l->end - 1].serial, len);
		max = (unsigned int)(8 * len - l->skip);
		if (max > CRLT_BITS_MAX)
			max = CRLT_BITS_MAX;
		for (bits = 0; bits < max && (n >> bits) > CRLT_FILL; bits++)
			;
		l->bits = (uint8_t)bits;
		l->first = (uint32_t)total;
		total += ((size_t)1 << bits) + 1;
	}
	if (total == 0)
		return 0;
	if ((t->buckets = calloc(total, sizeof(*t->buckets))) == NULL)
		return -1;
	for (len = 1; len <= CRL_SERIAL_MAX; len++) {
		l = &t->lens[len];
		if (l->start == l->end)
			continue;
		b = t->buckets + l->first;
		nb = (size_t)1 << l->bits;
		for (i = l->start, j = 0; i < l->end; i++) {
			k = crlt_bucket(e[i].serial, len, l);
			while (j <= k)
				b[j++] = (uint32_t)i;
		}
		while (j <= nb)
			b[j++] = l->end;
	}
	return 0;
}

/*
 * Validate buf[0..len) in place, and its SHA-256 against id unless id is
 * NULL.  Returns a table pointing into buf (not mapped: the caller sets
 * that), or NULL with err set and errno EINVAL (ENOMEM if out of memory).
 */
static struct crl_table *
crlt_validate(const uint8_t *buf, size_t len, const uint8_t *id,
    const char *name, char *err, size_t errlen)
{
	const struct crl_table_header	*h;
	struct crl_table		*t;
	uint8_t				 sum[SNAP_ID_LEN];
	unsigned int			 n;

	if (crlt_check_ident(buf, len, name, err, errlen) == -1)
		goto invalid;
	h = (const struct crl_table_header *)buf;
	if (id != NULL) {
		if (EVP_Digest(buf, len, sum, &n, EVP_sha256(), NULL) != 1 ||
		    n != SNAP_ID_LEN) {
			crlt_err(err, errlen, name, "cannot compute SHA-256");
			errno = ENOMEM;
			return NULL;
		}
#ifndef FUZZING
		if (CRYPTO_memcmp(sum, id, SNAP_ID_LEN) != 0) {
			crlt_err(err, errlen, name, "checksum mismatch");
			goto invalid;
		}
#endif
	}
	if (crlt_check_header(h, name, err, errlen) == -1 ||
	    crlt_check_entries((const struct crl_entry *)(buf + sizeof(*h)),
	    h->count, name, err, errlen) == -1)
		goto invalid;
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		crlt_err(err, errlen, name, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	t->base = buf;
	t->len = len;
	t->hdr = *h;
	t->entries = (const struct crl_entry *)(buf + sizeof(*h));
	t->count = h->count;
	if (crlt_index(t) == -1) {
		crlt_err(err, errlen, name, "out of memory");
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	return t;

 invalid:
	errno = EINVAL;
	return NULL;
}

/*
 * Map dir/crl-<hex of id>.tbl read-only and shared (ipc_map: the size is
 * checked before mapping, so a huge file is never mapped) and validate
 * it.  On failure errno is that of the failing call (ENOENT: no such
 * table), or EINVAL for a file that is not a valid table.
 *
 * XXX As with snapshots, a mapping trusts fetcherd never to truncate a
 * published table (that would raise SIGBUS); lookups use only the bounds
 * copied at validation, so changed bytes cannot make them read outside.
 */
struct crl_table *
crl_table_open(const char *dir, const uint8_t id[SNAP_ID_LEN], char *err,
    size_t errlen)
{
	struct crl_table	*t;
	const void		*map;
	char			 name[CRL_TABLE_NAME_LEN + 1], path[PATH_MAX];
	char			 why[160];
	size_t			 len;
	int			 n, save;

	crl_table_name(id, name, sizeof(name));
	n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		crlt_err(err, errlen, name, "path too long in %s", dir);
		errno = ENAMETOOLONG;
		return NULL;
	}
	if ((map = ipc_map(path, crlt_kind.header_len, crlt_kind.max_len,
	    &len, why, sizeof(why))) == NULL) {
		crlt_err(err, errlen, path, "%s", why);
		return NULL;
	}
	/* A size no table can have, said as such before the header is read. */
	if ((len - sizeof(struct crl_table_header)) %
	    sizeof(struct crl_entry) != 0) {
		crlt_err(err, errlen, path, "size %zu is not a header and "
		    "whole entries", len);
		errno = EINVAL;
		goto fail;
	}
	if ((t = crlt_validate(map, len, id, path, err, errlen)) == NULL)
		goto fail;
	t->mapped = 1;
	return t;

 fail:
	save = errno;
	ipc_unmap(map, len);
	errno = save;
	return NULL;
}

/*
 * Validate buf in place, with every check but the SHA-256 (there is no id
 * to compare it to): nothing is copied, so the caller keeps buf alive and
 * unchanged until crl_table_close().  buf must be 8-byte aligned.
 */
struct crl_table *
crl_table_from_buffer(const void *buf, size_t len, char *err, size_t errlen)
{
	return crlt_validate(buf, len, NULL, "(buffer)", err, errlen);
}

void
crl_table_close(struct crl_table *t)
{
	if (t == NULL)
		return;
	if (t->mapped)
		ipc_unmap(t->base, t->len);
	free(t->buckets);
	free(t);
}

/* The header as validated (a copy: stable whatever the file does). */
const struct crl_table_header *
crl_table_header(const struct crl_table *t)
{
	return &t->hdr;
}

/*
 * Leading zero bytes are skipped, but the serial 0 keeps one byte, as the
 * writer spells it.  The key is at most CRL_SERIAL_MAX bytes; its length
 * picks the entries of that length, its bits its bucket among them, and
 * a binary search the entry in the bucket (a bucket too large to be worth
 * prefetching is one a skewed table crowded: the search still finds its
 * entry, in O(log n)).  Every position read comes from the index, which
 * holds none past count.
 */
const struct crl_entry *
crl_table_lookup(const struct crl_table *t, const uint8_t *serial,
    size_t len)
{
	const struct crl_entry	*e;
	const struct crlt_len	*l;
	const uint32_t		*b;
	size_t			 lo, hi, mid;
	int			 c;

	while (len > 1 && serial[0] == 0) {
		serial++;
		len--;
	}
	if (len == 0 || len > CRL_SERIAL_MAX)
		return NULL;
	l = &t->lens[len];
	if (l->start == l->end)
		return NULL;
	b = t->buckets + l->first + crlt_bucket(serial, len, l);
	lo = b[0];
	hi = b[1];
	if (hi - lo <= CRLT_PREFETCH)
		for (mid = lo; mid < hi; mid++)
			__builtin_prefetch(t->entries[mid].serial);
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		e = &t->entries[mid];
		if ((c = memcmp(serial, e->serial, len)) == 0)
			return e;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

void
crl_table_index_stats(const struct crl_table *t, size_t *bytes,
    size_t *largest)
{
	const struct crlt_len	*l;
	size_t			 len, k, n = 0, max = 0;

	for (len = 1; len <= CRL_SERIAL_MAX; len++) {
		l = &t->lens[len];
		if (l->start == l->end)
			continue;
		for (k = 0; k < (size_t)1 << l->bits; k++)
			if (t->buckets[l->first + k + 1] -
			    t->buckets[l->first + k] > max)
				max = t->buckets[l->first + k + 1] -
				    t->buckets[l->first + k];
		n += ((size_t)1 << l->bits) + 1;
	}
	*bytes = n * sizeof(*t->buckets);
	*largest = max;
}

/*
 * OpenSSL keeps an INTEGER as its magnitude (big-endian, no sign byte)
 * and marks a negative one by its type.  A negative serial is not valid
 * (RFC 5280 4.1.2.2) and no table can list one: it never matches.
 */
const struct crl_entry *
crl_table_lookup_cert(const struct crl_table *t, X509 *x)
{
	const ASN1_INTEGER	*sn;	/* get0: owned by x */
	int			 len;

	if ((sn = X509_get0_serialNumber(x)) == NULL ||
	    ASN1_STRING_type(sn) != V_ASN1_INTEGER ||
	    (len = ASN1_STRING_length(sn)) <= 0)
		return NULL;
	return crl_table_lookup(t, ASN1_STRING_get0_data(sn), (size_t)len);
}
