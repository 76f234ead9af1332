/*
 * crl_table_write.c: the writer's side of CRL table files (layout in
 * ipc_proto.h, API in crl_table.h), used by fetcherd.
 *
 * A table is written once to a temporary file, hashed as it is written,
 * fsynced and renamed to the name its SHA-256 gives it: the name says
 * what the file holds, so a file of that name already there holds the
 * same and is kept, a reader never sees a half-written table, and a
 * snapshot can refer to a table by its hash alone.
 *
 * Writing happens at run time, so failures are returned (logged, naming
 * the path), never fatal.
 */
#include <sys/stat.h>

#include <dirent.h>
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
#include "log.h"
#include "writefile.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
    "CRL tables are little-endian; this writer writes host order");
/* Entries are written as they lie in memory: no implicit padding. */
_Static_assert(sizeof(struct crl_entry) == 1 + CRL_SERIAL_MAX + 1 + 2 + 8,
    "crl_entry has no implicit padding");

#define CRLT_TMP	".crl-XXXXXX"
#define CRLT_TMP_LEN	(sizeof(CRLT_TMP) - 1)
#define CRLT_TMP_AGE	60	/* seconds before a temporary file is stale */
#define CRLT_MODE	0644	/* every broker may map it */

static int	 crlt_qsort_cmp(const void *, const void *);
static const char *crlt_hex(const uint8_t *, size_t, char *, size_t);
static int	 crlt_magnitude(const ASN1_INTEGER *, uint8_t *, uint8_t *);
static int	 crlt_prepare(const char *, const struct crl_table_header *,
		    struct crl_entry *, size_t, struct crl_table_header *);
static int	 crlt_write_all(int, const void *, size_t, EVP_MD_CTX *);
static int	 crlt_write_tmp(int, const char *,
		    const struct crl_table_header *, const struct crl_entry *,
		    uint8_t *);
static int	 crlt_install(const char *, const char *, uint64_t,
		    const uint8_t *);
static int	 crlt_hexval(char);
static int	 crlt_parse_name(const char *, uint8_t *);
static int	 crlt_is_tmp_name(const char *);
static int	 crlt_kept(const uint8_t *, const uint8_t (*)[SNAP_ID_LEN],
		    size_t);

static int
crlt_qsort_cmp(const void *a, const void *b)
{
	return crl_entry_cmp(a, b);
}

/* Up to 20 bytes in hex for a log line. */
static const char *
crlt_hex(const uint8_t *p, size_t n, char *buf, size_t len)
{
	size_t	 i;

	buf[0] = '\0';
	for (i = 0; i < n && 2 * i + 2 < len; i++)
		snprintf(buf + 2 * i, len - 2 * i, "%02x", p[i]);
	return buf;
}

/*
 * The magnitude of a non-negative INTEGER without leading zero bytes (0
 * is the one byte 0) into out[CRL_SERIAL_MAX], zero-padded, and its
 * length.  -1 if negative, empty, not an INTEGER or too long.
 */
static int
crlt_magnitude(const ASN1_INTEGER *ai, uint8_t *out, uint8_t *outlen)
{
	const unsigned char	*p;
	int			 len;

	if (ai == NULL || ASN1_STRING_type(ai) != V_ASN1_INTEGER)
		return -1;
	p = ASN1_STRING_get0_data(ai);
	if ((len = ASN1_STRING_length(ai)) <= 0)
		return -1;
	while (len > 1 && p[0] == 0) {
		p++;
		len--;
	}
	if (len > CRL_SERIAL_MAX)
		return -1;
	memset(out, 0, CRL_SERIAL_MAX);
	memcpy(out, p, (size_t)len);
	*outlen = (uint8_t)len;
	return 0;
}

int
crl_serial_set(struct crl_entry *e, const ASN1_INTEGER *ai)
{
	return crlt_magnitude(ai, e->serial, &e->serial_len);
}

int
crl_number_set(struct crl_table_header *h, const ASN1_INTEGER *ai)
{
	return crlt_magnitude(ai, h->crl_number, &h->crl_number_len);
}

/*
 * The header to write, from the caller's template, and the entries
 * sorted and checked: refused (-1, logged) if a reader would refuse them,
 * so a mistake shows here rather than as a table no broker can open.
 */
static int
crlt_prepare(const char *dir, const struct crl_table_header *tmpl,
    struct crl_entry *entries, size_t n, struct crl_table_header *h)
{
	char	 why[96], hex[2 * CRL_SERIAL_MAX + 1];
	size_t	 i;

	if (n > CRL_TABLE_MAX_ENTRIES) {
		log_warnx("%s: %zu CRL entries, over the limit of %u", dir, n,
		    CRL_TABLE_MAX_ENTRIES);
		return -1;
	}
	if (tmpl->crl_number_len > CRL_SERIAL_MAX) {
		log_warnx("%s: crl_number_len %u over %d", dir,
		    (unsigned int)tmpl->crl_number_len, CRL_SERIAL_MAX);
		return -1;
	}
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, CRL_TABLE_MAGIC, sizeof(h->magic));
	h->version = SNAP_VERSION;
	h->header_len = sizeof(*h);
	h->count = n;
	h->file_len = sizeof(*h) + (uint64_t)n * sizeof(*entries);
	h->this_update = tmpl->this_update;
	h->next_update = tmpl->next_update;
	memcpy(h->issuer_id, tmpl->issuer_id, sizeof(h->issuer_id));
	memcpy(h->crl_number, tmpl->crl_number, tmpl->crl_number_len);
	h->crl_number_len = tmpl->crl_number_len;

	if (n > 0)
		qsort(entries, n, sizeof(*entries), crlt_qsort_cmp);
	for (i = 0; i < n; i++) {
		if (crl_entry_check(&entries[i], why, sizeof(why)) == -1) {
			log_warnx("%s: CRL entry of serial %s: %s", dir,
			    crlt_hex(entries[i].serial, CRL_SERIAL_MAX, hex,
			    sizeof(hex)), why);
			return -1;
		}
		if (i > 0 && crl_entry_cmp(&entries[i - 1], &entries[i]) ==
		    0) {
			log_warnx("%s: duplicate CRL entry of serial %s", dir,
			    crlt_hex(entries[i].serial, entries[i].serial_len,
			    hex, sizeof(hex)));
			return -1;
		}
	}
	return 0;
}

/* write(2) all of p, and hash it on the way. */
static int
crlt_write_all(int fd, const void *buf, size_t len, EVP_MD_CTX *ctx)
{
	if (EVP_DigestUpdate(ctx, buf, len) != 1) {
		errno = ENOMEM;
		return -1;
	}
	return ipc_write_all(fd, buf, len);
}

/*
 * Header and entries into the temporary file fd (named tmp, for logs),
 * fsynced; id receives the SHA-256 of what was written.  0, or -1 logged.
 */
static int
crlt_write_tmp(int fd, const char *tmp, const struct crl_table_header *h,
    const struct crl_entry *entries, uint8_t *id)
{
	EVP_MD_CTX	*ctx;
	unsigned int	 n;
	int		 rc = -1;

	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		log_warnx("%s: SHA-256 failed", tmp);
		goto fail;
	}
	if (fchmod(fd, CRLT_MODE) == -1) {
		log_warn("fchmod %s", tmp);
		goto fail;
	}
	if (crlt_write_all(fd, h, sizeof(*h), ctx) == -1 ||
	    (h->count > 0 && crlt_write_all(fd, entries,
	    h->count * sizeof(*entries), ctx) == -1)) {
		log_warn("write %s", tmp);
		goto fail;
	}
	if (EVP_DigestFinal_ex(ctx, id, &n) != 1 || n != SNAP_ID_LEN) {
		log_warnx("%s: SHA-256 failed", tmp);
		goto fail;
	}
	if (fsync(fd) == -1) {
		log_warn("fsync %s", tmp);
		goto fail;
	}
	rc = 0;
 fail:
	EVP_MD_CTX_free(ctx);
	return rc;
}

/*
 * Give the written temporary file its content-addressed name.  A regular
 * file of that name and size is the same content (its name is its
 * SHA-256) and is kept: brokers may have it mapped, and there is nothing
 * to gain in replacing it; the temporary file goes.  Anything else of
 * that name (a file cut short by a crash of the file system) is replaced.
 * 0, or -1 logged; the caller removes tmp on -1.
 */
static int
crlt_install(const char *dir, const char *tmp, uint64_t file_len,
    const uint8_t *id)
{
	struct stat	 st;
	char		 name[CRL_TABLE_NAME_LEN + 1], path[PATH_MAX];
	int		 n;

	crl_table_name(id, name, sizeof(name));
	n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		log_warnx("%s/%s: path too long", dir, name);
		return -1;
	}
	if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size == file_len) {
		if (unlink(tmp) == -1)
			log_warn("unlink %s", tmp);
		log_debug("%s: already there, kept", path);
		return 0;
	}
	if (rename(tmp, path) == -1) {
		log_warn("rename %s to %s", tmp, path);
		return -1;
	}
	/* Renamed: the table is in place, only durability is left. */
	(void)ipc_fsync_dir(dir);
	return 0;
}

int
crl_table_write(const char *dir, const struct crl_table_header *tmpl,
    struct crl_entry *entries, size_t n, uint8_t id[SNAP_ID_LEN])
{
	struct crl_table_header	 h;
	char			 tmp[PATH_MAX];
	int			 fd = -1, rc;

	if (crlt_prepare(dir, tmpl, entries, n, &h) == -1)
		return -1;
	rc = snprintf(tmp, sizeof(tmp), "%s/%s", dir, CRLT_TMP);
	if (rc < 0 || (size_t)rc >= sizeof(tmp)) {
		log_warnx("%s: path too long", dir);
		return -1;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		log_warn("mkstemp %s", tmp);
		return -1;
	}
	if (crlt_write_tmp(fd, tmp, &h, entries, id) == -1)
		goto fail;
	rc = close(fd);
	fd = -1;
	if (rc == -1) {
		log_warn("close %s", tmp);
		goto fail;
	}
	if (crlt_install(dir, tmp, h.file_len, id) == -1)
		goto fail;
	log_debug("%s: CRL table of %zu entries written", dir, n);
	return 0;

 fail:
	if (fd != -1)
		close(fd);
	if (unlink(tmp) == -1)
		log_warn("unlink %s", tmp);
	return -1;
}

/* Lowercase only: crl_table_name() writes no other. */
static int
crlt_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Is name "crl-<64 lowercase hex>.tbl"?  Then id receives the hash. */
static int
crlt_parse_name(const char *name, uint8_t *id)
{
	const char	*p;
	size_t		 plen = strlen(CRL_TABLE_PREFIX), i;
	int		 hi, lo;

	if (strlen(name) != CRL_TABLE_NAME_LEN ||
	    strncmp(name, CRL_TABLE_PREFIX, plen) != 0 ||
	    strcmp(name + plen + 2 * SNAP_ID_LEN, CRL_TABLE_SUFFIX) != 0)
		return 0;
	p = name + plen;
	for (i = 0; i < SNAP_ID_LEN; i++) {
		if ((hi = crlt_hexval(p[2 * i])) == -1 ||
		    (lo = crlt_hexval(p[2 * i + 1])) == -1)
			return 0;
		id[i] = (uint8_t)(hi << 4 | lo);
	}
	return 1;
}

/* Is name what mkostemp makes of CRLT_TMP? */
static int
crlt_is_tmp_name(const char *name)
{
	return strlen(name) == CRLT_TMP_LEN &&
	    strncmp(name, CRLT_TMP, CRLT_TMP_LEN - 6) == 0;
}

static int
crlt_kept(const uint8_t *id, const uint8_t (*keep)[SNAP_ID_LEN],
    size_t nkeep)
{
	size_t	 i;

	for (i = 0; i < nkeep; i++)
		if (memcmp(keep[i], id, SNAP_ID_LEN) == 0)
			return 1;
	return 0;
}

/*
 * One pass over dir.  Only regular files with our names are removed:
 * anything else there (the snapshot, sockets, another's files) is left.
 * A temporary file younger than CRLT_TMP_AGE may be a table being
 * written right now (fetcherd is single-threaded, but a second fetcherd
 * for --check may run), so it is left too.
 */
void
crl_tables_prune(const char *dir, const uint8_t (*keep)[SNAP_ID_LEN],
    size_t nkeep)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	uint8_t		 id[SNAP_ID_LEN];
	time_t		 now = time(NULL);
	int		 tbl, removed = 0;

	if ((d = opendir(dir)) == NULL) {
		log_warn("opendir %s", dir);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		tbl = crlt_parse_name(de->d_name, id);
		if (!tbl && !crlt_is_tmp_name(de->d_name))
			continue;
		if (tbl && crlt_kept(id, keep, nkeep))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == -1) {
			if (errno != ENOENT)
				log_warn("stat %s/%s", dir, de->d_name);
			continue;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		if (!tbl && st.st_mtime > now - CRLT_TMP_AGE)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == -1) {
			if (errno != ENOENT)
				log_warn("unlink %s/%s", dir, de->d_name);
			continue;
		}
		log_debug("removed %s/%s", dir, de->d_name);
		removed++;
	}
	closedir(d);
	if (removed > 0)
		(void)ipc_fsync_dir(dir);
}
