/*
 * snapshot.h: writing (fetcherd) and reading (broker) snapshot files; the
 * layout is in ipc_proto.h.
 *
 * A reader maps the file read-only (MAP_SHARED, so N brokers share one
 * copy in the page cache), validates all of it once, and then looks
 * records up without allocating.  A published file is never written again:
 * the writer creates a temporary file in the same directory, fsyncs it and
 * renames it over SNAP_FILE.
 */
#ifndef STAPLEMQ_SNAPSHOT_H
#define STAPLEMQ_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipc_proto.h"

struct snapshot;
struct snap_writer;

/* snapshot.c: reading */
/*
 * Map and validate path.  Returns the snapshot, or NULL with a one-line
 * reason in err (ENOENT leaves errno set so callers can tell "none yet").
 * Validation: size bounds, magic, version, header_len, file_len equal to
 * the file size, the SHA-256 checksum, every section (staples, CRLs,
 * client OCSP, blob) aligned, inside the file and overlapping neither the
 * header nor another section, records strictly sorted by their key
 * (cert_id; issuer_id then dp_id for CRLs), every (der_off, der_len)
 * inside the blob area and <= SNAP_MAX_DER, states known, reserved fields
 * zero, and the fields snap_crl_check and snap_ocsp_check look at.
 */
struct snapshot	*snapshot_open(const char *path, char *err, size_t errlen);
/*
 * Validate a buffer in memory (the fuzz target and tests use this).  In
 * place, nothing copied: the buffer must be 8-byte aligned and stay alive
 * and unchanged until snapshot_close().
 */
struct snapshot	*snapshot_from_buffer(const void *, size_t, char *err,
		    size_t errlen);
void		 snapshot_close(struct snapshot *);
uint64_t	 snapshot_generation(const struct snapshot *);
size_t		 snapshot_nstaples(const struct snapshot *);
const struct snap_staple *snapshot_staple_at(const struct snapshot *,
		    size_t);
/* The record for a certificate (SHA-256 of its DER), or NULL: O(log n). */
const struct snap_staple *snapshot_staple(const struct snapshot *,
		    const uint8_t id[SNAP_ID_LEN]);
/* The DER of a GOOD record (validated at open), with its length. */
const uint8_t	*snapshot_staple_der(const struct snapshot *,
		    const struct snap_staple *, size_t *len);
/*
 * SHA-256 of a whole file image with its checksum field read as zeros:
 * what the header's checksum holds.  0, or -1 (len < header, OpenSSL).
 */
int		 snapshot_checksum(const void *, size_t,
		    uint8_t out[SNAP_ID_LEN]);

/*
 * One record's own fields, as the reader checks them (the writer refuses
 * what a reader would refuse): 0, or -1 with a reason in why.  CRL: state
 * known, reserved 0, OK names a table (table_id not all zero, count <=
 * CRL_TABLE_MAX_ENTRIES), FAILED none (count 0, table_id all zero).
 * OCSP: status known, revoked_at 0 and reason -1 unless REVOKED, reason
 * -1..10.
 */
int		 snap_crl_check(const struct snap_crl *, char *why,
		    size_t whylen);
int		 snap_ocsp_check(const struct snap_ocsp *, char *why,
		    size_t whylen);

/* CRL records (layout in ipc_proto.h), found in O(log n). */
size_t		 snapshot_ncrls(const struct snapshot *);
const struct snap_crl *snapshot_crl_at(const struct snapshot *, size_t);
const struct snap_crl *snapshot_crl(const struct snapshot *,
		    const uint8_t issuer_id[SNAP_ID_LEN],
		    const uint8_t dp_id[SNAP_ID_LEN]);
/*
 * All records of one issuer: their count, the first index in *first (may
 * be NULL); O(log n).  They are snapshot_crl_at(first .. first+count-1).
 */
size_t		 snapshot_crls_of(const struct snapshot *,
		    const uint8_t issuer_id[SNAP_ID_LEN], size_t *first);
/* The OCSP status of a client certificate (SHA-256 of its DER). */
const struct snap_ocsp *snapshot_ocsp(const struct snapshot *,
		    const uint8_t cert_id[SNAP_ID_LEN]);
size_t		 snapshot_nocsp(const struct snapshot *);
const struct snap_ocsp *snapshot_ocsp_at(const struct snapshot *, size_t);

/* snapshot_write.c: writing */
struct snap_writer *snap_writer_new(void);
void		 snap_writer_free(struct snap_writer *);
/* Add or replace the record of cert_id; der copied (GOOD only). */
int		 snap_writer_staple(struct snap_writer *,
		    const uint8_t cert_id[SNAP_ID_LEN], enum snap_staple_state,
		    int64_t this_update, int64_t next_update, int64_t fetched_at,
		    const uint8_t *der, size_t der_len);
/* Add or replace a CRL record (key: issuer_id, dp_id); copied. */
int		 snap_writer_crl(struct snap_writer *, const struct snap_crl *);
/* Add or replace a client OCSP record (key: cert_id); copied. */
int		 snap_writer_ocsp(struct snap_writer *,
		    const struct snap_ocsp *);
/*
 * Write the file dir/SNAP_FILE atomically (temporary file, fsync, rename,
 * fsync of dir) with this generation, mode 0644.  Returns 0 or -1 (logged
 * with log_warn, naming the path).
 */
int		 snap_writer_publish(struct snap_writer *, const char *dir,
		    uint64_t generation, int64_t now);

/* SHA-256 of a certificate's DER: the id records are keyed by. */
void		 snap_cert_id(const uint8_t *der, size_t len,
		    uint8_t id[SNAP_ID_LEN]);

#endif
