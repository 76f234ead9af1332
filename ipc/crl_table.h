/*
 * crl_table.h: the revoked-serial tables of CRLs (layout in ipc_proto.h).
 *
 * fetcherd turns each verified CRL into one table file, named after the
 * SHA-256 of its content so that it is written once and never changed;
 * brokers map it read-only (all of them share one copy), index it once
 * when they open it, and look serials up without allocating.  The broker
 * never parses a CRL: this table is all it sees.
 */
#ifndef STAPLEMQ_CRL_TABLE_H
#define STAPLEMQ_CRL_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/asn1.h>
#include <openssl/x509.h>

#include "ipc_proto.h"

#define CRL_TABLE_REASON_MAX	10	/* aACompromise, RFC 5280 5.3.1 */
#define CRL_TABLE_REASON_NONE	255	/* crl_entry.reason: none given */
#define CRL_TABLE_NAME_LEN	72	/* "crl-" + 64 hex digits + ".tbl" */

struct crl_table;

/* crl_table.c: reading */
/*
 * Map dir/crl-<hex of id>.tbl and validate it: regular file, size equal
 * to header_len + count * sizeof(struct crl_entry) = file_len, magic,
 * version, count <= CRL_TABLE_MAX_ENTRIES, the file's SHA-256 equal to
 * id, crl_number_len <= CRL_SERIAL_MAX with zero padding, pad bytes 0,
 * every entry as crl_entry_check() says, entries strictly increasing.
 * NULL with a one-line reason in err (errno ENOENT: no such table).
 */
struct crl_table *crl_table_open(const char *dir,
		    const uint8_t id[SNAP_ID_LEN], char *err, size_t errlen);
/*
 * The same checks on a buffer, validated in place (fuzzing, tests), but
 * the SHA-256: there is no id to compare it to.  buf must be 8-byte
 * aligned and stay unchanged until crl_table_close().
 */
struct crl_table *crl_table_from_buffer(const void *, size_t, char *err,
		    size_t errlen);
void		 crl_table_close(struct crl_table *);
const struct crl_table_header *crl_table_header(const struct crl_table *);
/*
 * Is this serial (positive magnitude, big-endian, leading zeros allowed:
 * they are skipped; 0 is found as the one byte 0) in the table?  Returns
 * the entry or NULL: a bucket of the index, then a binary search in it,
 * so O(log n) whatever the serials, and a few reads when they are spread
 * as CAs draw them; nothing allocated.
 */
const struct crl_entry *crl_table_lookup(const struct crl_table *,
		    const uint8_t *serial, size_t len);
/* The same for a certificate's serialNumber; NULL if not listed. */
const struct crl_entry *crl_table_lookup_cert(const struct crl_table *,
		    X509 *);
/*
 * The lookup index the reader built at open (crl_table.c): its size in
 * bytes, and the most entries one bucket holds, which a lookup searches
 * (tests and diagnostics).
 */
void		 crl_table_index_stats(const struct crl_table *,
		    size_t *bytes, size_t *largest);
/*
 * The table order: shorter serials first, then memcmp; 0 for the same
 * serial.  Both entries must have a serial_len of 1..CRL_SERIAL_MAX.
 */
int		 crl_entry_cmp(const struct crl_entry *,
		    const struct crl_entry *);
/*
 * One entry's own fields as the reader checks them (the writer refuses
 * what a reader would): serial_len 1..CRL_SERIAL_MAX, no leading zero
 * byte (the serial 0 is the one byte 0), serial and pad bytes past it 0,
 * reason 0..CRL_TABLE_REASON_MAX or CRL_TABLE_REASON_NONE.  0, or -1
 * with why.
 */
int		 crl_entry_check(const struct crl_entry *, char *why,
		    size_t whylen);
/*
 * The file name of a table: "crl-<64 hex>.tbl" into buf (>= 73 bytes,
 * CRL_TABLE_NAME_LEN + 1; a smaller buf gets "").
 */
void		 crl_table_name(const uint8_t id[SNAP_ID_LEN], char *buf,
		    size_t len);

/* crl_table_write.c: writing (fetcherd) */
/*
 * Sort entries in place, refuse duplicates and any entry or header the
 * reader would refuse (-1), and write the table atomically as
 * dir/crl-<hex>.tbl (temporary file, fsync, rename), mode 0644; id
 * receives its SHA-256.  The header's magic, version, header_len, count
 * and file_len come from here; tmpl gives the rest.  A file of that name
 * already there is the same content and is kept.  0, or -1 logged naming
 * the path.
 */
int		 crl_table_write(const char *dir,
		    const struct crl_table_header *tmpl,
		    struct crl_entry *entries, size_t n,
		    uint8_t id[SNAP_ID_LEN]);
/*
 * Fill e's serial (serial_len, serial and its zero padding; nothing else)
 * from an ASN1_INTEGER: the magnitude without leading zero bytes.  -1 if
 * negative, empty or longer than CRL_SERIAL_MAX: the caller must then
 * refuse the whole CRL, never skip the entry (that would fail open).
 */
int		 crl_serial_set(struct crl_entry *e, const ASN1_INTEGER *);
/* The same for a header's crl_number and crl_number_len. */
int		 crl_number_set(struct crl_table_header *,
		    const ASN1_INTEGER *);
/*
 * Remove the table files (crl-<64 hex>.tbl) in dir that none of the ids
 * in keep[] names, and temporary files (.crl-XXXXXX) older than a minute
 * that a writer left when it died.  A broker that has a table mapped
 * keeps its mapping; one that has yet to open a table named by the
 * snapshot it is loading must find it, so keep[] holds the tables of
 * the snapshot just published and of the one before.  Failures logged.
 */
void		 crl_tables_prune(const char *dir,
		    const uint8_t (*keep)[SNAP_ID_LEN], size_t nkeep);

#endif
