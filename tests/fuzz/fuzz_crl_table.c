/*
 * fuzz_crl_table.c: libFuzzer target for the CRL table reader
 * (ipc/crl_table.c), which the broker runs on table files fetcherd wrote.
 *
 * Each input is validated twice: from a buffer of exactly its size (so
 * that ASan sees any read past its end) and as a file opened through
 * crl_table_open(), which the fuzz build (-DFUZZING) lets past the
 * SHA-256 comparison so that mutated files reach the structure checks;
 * both must give the same verdict.  A table the reader accepts must then
 * be safe and right to use: every entry valid, strictly increasing, found
 * by its serial with or without leading zeros, by a certificate of that
 * serial but never by a negative one; a lookup of bytes taken from the
 * input, or of an entry's serial one off in its last byte or with a bit
 * flipped, agrees with a linear scan (the reader's bucket index must
 * only narrow the search); and the index stays small (about 4 bytes per
 * 16 entries, crl_table.c).
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/x509.h>

#include "crl_table.h"

#define CHECK(x)	do { if (!(x)) __builtin_trap(); } while (0)
#define HDR_LEN		sizeof(struct crl_table_header)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void	 cleanup(void);
static int	 open_as_file(const uint8_t *, size_t);
static const struct crl_entry *scan(const struct crl_entry *, size_t,
		    const uint8_t *, size_t);
static void	 check_entries(const struct crl_table *,
		    const struct crl_entry *, size_t);
static void	 check_cert(const struct crl_table *,
		    const struct crl_entry *);

static char	 dir[] = "/tmp/fuzz_crl_table.XXXXXX";
static char	 path[PATH_MAX];
static uint8_t	 id[SNAP_ID_LEN];	/* any: FUZZING skips the compare */
static X509	*cert;			/* reused for its serial */

static void
cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

/* The input as dir/crl-<id>.tbl, opened: 1 accepted, 0 refused. */
static int
open_as_file(const uint8_t *data, size_t size)
{
	struct crl_table	*t;
	char			 name[CRL_TABLE_NAME_LEN + 1], err[256];
	int			 fd;

	if (path[0] == '\0') {
		if (mkdtemp(dir) == NULL)
			abort();
		atexit(cleanup);
		crl_table_name(id, name, sizeof(name));
		snprintf(path, sizeof(path), "%s/%s", dir, name);
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1 ||
	    (size > 0 && write(fd, data, size) != (ssize_t)size))
		abort();
	close(fd);
	err[0] = '\0';
	if ((t = crl_table_open(dir, id, err, sizeof(err))) == NULL) {
		CHECK(err[0] != '\0' && strchr(err, '\n') == NULL);
		return 0;
	}
	crl_table_close(t);
	return 1;
}

/* What a lookup must find, the slow way. */
static const struct crl_entry *
scan(const struct crl_entry *e, size_t n, const uint8_t *key, size_t len)
{
	size_t	 i;

	while (len > 1 && key[0] == 0) {
		key++;
		len--;
	}
	for (i = 0; i < n; i++)
		if (e[i].serial_len == len &&
		    memcmp(e[i].serial, key, len) == 0)
			return &e[i];
	return NULL;
}

static void
check_entries(const struct crl_table *t, const struct crl_entry *e,
    size_t n)
{
	uint8_t	 key[CRL_SERIAL_MAX + 3];
	char	 why[128];
	size_t	 i, len, bytes, largest;

	/* Per serial length, 2^bits + 1 buckets with 2^bits <= 2 n / 17. */
	crl_table_index_stats(t, &bytes, &largest);
	CHECK(largest <= n);
	CHECK(bytes <= 4 * (n / 8 + 1 + 2 * CRL_SERIAL_MAX));
	for (i = 0; i < n; i++) {
		CHECK(crl_entry_check(&e[i], why, sizeof(why)) == 0);
		if (i > 0)
			CHECK(crl_entry_cmp(&e[i - 1], &e[i]) < 0);
		CHECK(crl_table_lookup(t, e[i].serial, e[i].serial_len) ==
		    &e[i]);
		memset(key, 0, 3);
		memcpy(key + 3, e[i].serial, e[i].serial_len);
		CHECK(crl_table_lookup(t, key, e[i].serial_len + 3) == &e[i]);
		len = e[i].serial_len;
		memcpy(key, e[i].serial, len);
		key[len - 1]++;
		CHECK(crl_table_lookup(t, key, len) == scan(e, n, key, len));
		key[len - 1] -= 2;
		CHECK(crl_table_lookup(t, key, len) == scan(e, n, key, len));
		key[len - 1]++;
		key[i % len] ^= (uint8_t)(0x80 >> (i % 8));
		CHECK(crl_table_lookup(t, key, len) == scan(e, n, key, len));
	}
}

/* A certificate with the entry's serial is found; negated, never. */
static void
check_cert(const struct crl_table *t, const struct crl_entry *e)
{
	ASN1_INTEGER	*ai;
	BIGNUM		*bn;

	if (cert == NULL && (cert = X509_new()) == NULL)
		abort();
	if ((bn = BN_bin2bn(e->serial, e->serial_len, NULL)) == NULL ||
	    (ai = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
	    X509_set_serialNumber(cert, ai) != 1)
		abort();
	ASN1_INTEGER_free(ai);
	CHECK(crl_table_lookup_cert(t, cert) == e);
	if (!BN_is_zero(bn)) {
		BN_set_negative(bn, 1);
		if ((ai = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
		    X509_set_serialNumber(cert, ai) != 1)
			abort();
		ASN1_INTEGER_free(ai);
		CHECK(crl_table_lookup_cert(t, cert) == NULL);
	}
	BN_free(bn);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct crl_table_header	*h;
	const struct crl_entry		*e;
	struct crl_table		*t;
	uint8_t				*b;
	char				 err[256];
	size_t				 n, k;

	/* malloc: exact size for ASan, and aligned as the reader needs. */
	if ((b = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	if (size > 0)
		memcpy(b, data, size);
	err[0] = '\0';
	t = crl_table_from_buffer(b, size, err, sizeof(err));
	CHECK(open_as_file(data, size) == (t != NULL));
	if (t == NULL) {
		CHECK(err[0] != '\0' && strchr(err, '\n') == NULL);
		free(b);
		return 0;
	}
	h = crl_table_header(t);
	n = (size - HDR_LEN) / sizeof(struct crl_entry);
	CHECK(h->count == n && h->file_len == size);
	CHECK(h->crl_number_len <= CRL_SERIAL_MAX);
	e = (const struct crl_entry *)(b + HDR_LEN);
	check_entries(t, e, n);
	if (n > 0) {
		check_cert(t, &e[0]);
		check_cert(t, &e[n - 1]);
	}
	/* Keys from the input's last bytes, of every length up to 21. */
	for (k = 0; k <= CRL_SERIAL_MAX + 1 && k <= size; k++)
		CHECK(crl_table_lookup(t, data + size - k, k) ==
		    scan(e, n, data + size - k, k));
	crl_table_close(t);
	free(b);
	return 0;
}
