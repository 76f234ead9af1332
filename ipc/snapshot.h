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
 * the file size, every section inside the file and not overlapping the
 * header, records sorted by cert_id without duplicates, every (der_off,
 * der_len) inside the blob area and <= SNAP_MAX_DER, states known,
 * reserved fields zero, and the SHA-256 checksum.
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

/* snapshot_write.c: writing */
struct snap_writer *snap_writer_new(void);
void		 snap_writer_free(struct snap_writer *);
/* Add or replace the record of cert_id; der copied (GOOD only). */
int		 snap_writer_staple(struct snap_writer *,
		    const uint8_t cert_id[SNAP_ID_LEN], enum snap_staple_state,
		    int64_t this_update, int64_t next_update, int64_t fetched_at,
		    const uint8_t *der, size_t der_len);
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
