/*
 * ipc_proto.h: the contract between staplemq-fetcherd (the only writer)
 * and staplemq-broker (a reader): the snapshot files and the nng messages.
 *
 * Everything here crosses a trust boundary: a reader checks every size,
 * offset, count and checksum before it uses a byte, as if an attacker had
 * written it.  No pointers, only offsets; all integers little-endian;
 * every struct has a fixed size checked by _Static_assert below.
 *
 * *** Any change to a layout or meaning here: bump IPC_VERSION (messages)
 * *** or SNAP_VERSION (files), and readers refuse the other version.
 */
#ifndef STAPLEMQ_IPC_PROTO_H
#define STAPLEMQ_IPC_PROTO_H

#include <stdint.h>

/* --- files in node.runtime_dir (and node.data_dir for the copy) -------- */

/*
 * The current snapshot is the file SNAP_FILE, replaced atomically by
 * rename(2) on each publication; a reader that has it mapped keeps its old
 * mapping until it chooses to switch.  The same file is copied to the
 * data directory so that either process restarts with staples at once.
 */
#define SNAP_FILE		"snapshot"
#define SNAP_MAGIC		"STMQSNAP"	/* 8 bytes, no NUL */
#define SNAP_VERSION		1
#define SNAP_MAX_FILE		(64u * 1024 * 1024)	/* readers refuse more */
#define SNAP_MAX_DER		(20 * 1024)	/* one OCSP response */
#define SNAP_ID_LEN		32		/* SHA-256 */

/*
 * The snapshot header, at offset 0.  The sections follow at the given
 * offsets, each a packed array of fixed-size records, then the blob area
 * holding variable-size data (DER) addressed by (off, len) relative to
 * blob_off.  checksum is SHA-256 over the whole file with the checksum
 * field itself zeroed.
 */
struct snap_header {
	char		magic[8];	/* SNAP_MAGIC */
	uint32_t	version;	/* SNAP_VERSION */
	uint32_t	header_len;	/* sizeof(struct snap_header) */
	uint64_t	generation;	/* increases with each publication */
	int64_t		created;	/* unix seconds */
	uint64_t	file_len;	/* the whole file */
	uint32_t	staple_off;	/* struct snap_staple[n_staples] */
	uint32_t	n_staples;
	uint32_t	reserved_off;	/* 0: room for CRL and client OCSP */
	uint32_t	n_reserved;	/* 0 */
	uint32_t	blob_off;
	uint32_t	blob_len;
	uint8_t		checksum[32];
};

/* What fetcherd knows about one server certificate's staple. */
enum snap_staple_state {
	SNAP_STAPLE_GOOD = 1,		/* der holds a verified "good" response */
	SNAP_STAPLE_REVOKED = 2,	/* the responder said revoked: no staple */
	SNAP_STAPLE_FAILED = 3,		/* never fetched successfully yet */
};

/*
 * One record per server certificate, sorted by cert_id (memcmp order) so
 * that a reader finds one in O(log n).  der_len is 0 unless state is GOOD.
 */
struct snap_staple {
	uint8_t		cert_id[SNAP_ID_LEN];	/* SHA-256 of the leaf DER */
	int64_t		this_update;		/* unix seconds */
	int64_t		next_update;
	int64_t		fetched_at;
	uint32_t	state;			/* enum snap_staple_state */
	uint32_t	der_off;		/* in the blob area */
	uint32_t	der_len;		/* <= SNAP_MAX_DER */
	uint32_t	reserved;		/* 0 */
};

_Static_assert(sizeof(struct snap_header) == 96, "snap_header layout");
_Static_assert(sizeof(struct snap_staple) == 72, "snap_staple layout");

/* --- nng messages -------------------------------------------------------- */

#define IPC_VERSION		1
#define IPC_MAGIC		0x514d5453u	/* "STMQ" little-endian */
#define IPC_NOTIFY_SOCK		"notify.sock"	/* fetcherd PUB, broker SUB */
#define IPC_REQUEST_SOCK	"request.sock"	/* broker REQ, fetcherd REP */
#define IPC_MAX_MSG		(64 * 1024)

/*
 * Message types, in blocks: 1xx notes fetcherd publishes, 2xx requests the
 * broker makes, 3xx replies.
 */
enum ipc_type {
	IPC_NOTE_PUBLISHED = 100,	/* struct ipc_note_published */
	IPC_REQ_PING = 200,		/* struct ipc_hdr alone */
	IPC_REP_PONG = 300,		/* struct ipc_rep_pong */
};

/* Every message starts with this; length is the whole message. */
struct ipc_hdr {
	uint32_t	magic;		/* IPC_MAGIC */
	uint16_t	version;	/* IPC_VERSION */
	uint16_t	type;		/* enum ipc_type */
	uint32_t	length;
	uint32_t	reserved;	/* 0 */
};

/* "Snapshot generation N is published": the data is in the file. */
struct ipc_note_published {
	struct ipc_hdr	hdr;
	uint64_t	generation;
};

/* fetcherd's answer to a ping: its latest published generation. */
struct ipc_rep_pong {
	struct ipc_hdr	hdr;
	uint64_t	generation;
};

_Static_assert(sizeof(struct ipc_hdr) == 16, "ipc_hdr layout");
_Static_assert(sizeof(struct ipc_note_published) == 24, "note layout");
_Static_assert(sizeof(struct ipc_rep_pong) == 24, "pong layout");

#endif
