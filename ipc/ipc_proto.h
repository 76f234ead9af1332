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

#include <stddef.h>
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
#define SNAP_VERSION		2
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
	uint32_t	crl_off;	/* struct snap_crl[n_crls] */
	uint32_t	n_crls;
	uint32_t	ocsp_off;	/* struct snap_ocsp[n_ocsp] */
	uint32_t	n_ocsp;
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

/*
 * One CRL in use, sorted by (issuer_id, dp_id) in memcmp order.  The
 * revoked serials live in a separate, immutable table file named after
 * its own SHA-256 (CRL_TABLE_NAME), so a snapshot that only refreshes a
 * staple does not rewrite a CRL of a million entries.
 */
enum snap_crl_state {
	SNAP_CRL_OK = 1,		/* the table holds the verified CRL */
	SNAP_CRL_FAILED = 2,		/* asked for, never fetched: no table */
};

struct snap_crl {
	uint8_t		issuer_id[SNAP_ID_LEN];	/* SHA-256 of the issuer's
						 * subject name, DER */
	uint8_t		dp_id[SNAP_ID_LEN];	/* SHA-256 of the source: the
						 * distribution point URL, or
						 * "file:" + path */
	int64_t		this_update;		/* unix seconds */
	int64_t		next_update;		/* 0: none given */
	int64_t		fetched_at;
	uint64_t	count;			/* entries in the table */
	uint8_t		table_id[SNAP_ID_LEN];	/* SHA-256 of the table file */
	uint32_t	state;			/* enum snap_crl_state */
	uint32_t	reserved;		/* 0 */
};

/* The OCSP status of a client certificate, sorted by cert_id. */
enum snap_ocsp_status {
	SNAP_OCSP_GOOD = 1,
	SNAP_OCSP_REVOKED = 2,
	SNAP_OCSP_UNKNOWN = 3,		/* the responder does not know it */
	SNAP_OCSP_FAILED = 4,		/* no verified answer could be had */
};

struct snap_ocsp {
	uint8_t		cert_id[SNAP_ID_LEN];	/* SHA-256 of the leaf DER */
	int64_t		this_update;
	int64_t		next_update;
	int64_t		expires;		/* fetched + client_cache_ttl,
						 * never past next_update */
	int64_t		revoked_at;		/* REVOKED only, else 0 */
	uint32_t	status;			/* enum snap_ocsp_status */
	int32_t		reason;			/* CRLReason, -1: none */
};

/*
 * A CRL table file, runtime_dir/crl-<64 hex digits of its SHA-256>.tbl:
 * this header, then count entries sorted by serial (shorter serials
 * first, then memcmp), strictly increasing.  Serials are the positive
 * magnitude as DER carries it, without leading zero bytes; RFC 5280
 * allows at most 20 octets.
 */
#define CRL_TABLE_MAGIC		"STMQCRLT"
#define CRL_TABLE_PREFIX	"crl-"
#define CRL_TABLE_SUFFIX	".tbl"
#define CRL_SERIAL_MAX		20
#define CRL_TABLE_MAX_ENTRIES	(16u * 1024 * 1024)

struct crl_table_header {
	char		magic[8];	/* CRL_TABLE_MAGIC */
	uint32_t	version;	/* SNAP_VERSION */
	uint32_t	header_len;	/* sizeof(struct crl_table_header) */
	uint64_t	count;
	uint64_t	file_len;
	int64_t		this_update;
	int64_t		next_update;
	uint8_t		issuer_id[SNAP_ID_LEN];
	uint8_t		crl_number[CRL_SERIAL_MAX];	/* big-endian */
	uint8_t		crl_number_len;			/* 0: none */
	uint8_t		pad[3];				/* 0 */
};

struct crl_entry {
	uint8_t		serial_len;		/* 1 .. CRL_SERIAL_MAX */
	uint8_t		serial[CRL_SERIAL_MAX];	/* left-aligned, rest 0 */
	uint8_t		reason;			/* CRLReason; 255: none */
	uint8_t		pad[2];			/* 0 */
	int64_t		revoked_at;		/* unix seconds */
};

/*
 * Every file header above starts with these three fields, so that a
 * reader can tell what a file is and its version before reading the rest.
 */
struct ipc_file_ident {
	char		magic[8];
	uint32_t	version;
	uint32_t	header_len;
};

_Static_assert(offsetof(struct snap_header, version) ==
    offsetof(struct ipc_file_ident, version) &&
    offsetof(struct snap_header, header_len) ==
    offsetof(struct ipc_file_ident, header_len), "snap_header ident");
_Static_assert(offsetof(struct crl_table_header, version) ==
    offsetof(struct ipc_file_ident, version) &&
    offsetof(struct crl_table_header, header_len) ==
    offsetof(struct ipc_file_ident, header_len), "crl table header ident");
_Static_assert(sizeof(struct snap_header) == 104, "snap_header layout");
_Static_assert(sizeof(struct snap_crl) == 136, "snap_crl layout");
_Static_assert(sizeof(struct snap_ocsp) == 72, "snap_ocsp layout");
_Static_assert(sizeof(struct crl_table_header) == 104, "crl table header");
_Static_assert(sizeof(struct crl_entry) == 32, "crl_entry layout");
_Static_assert(sizeof(struct snap_staple) == 72, "snap_staple layout");

/* --- nng messages -------------------------------------------------------- */

#define IPC_VERSION		2
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
	IPC_REQ_CRL = 201,		/* struct ipc_req_fetch + url + chain */
	IPC_REQ_OCSP = 202,		/* struct ipc_req_fetch + chain */
	IPC_REP_PONG = 300,		/* struct ipc_rep_pong */
	IPC_REP_STATUS = 301,		/* struct ipc_rep_status */
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

/*
 * "Fetch the CRL at this URL" / "get the OCSP status of this client
 * certificate".  Followed by url_len bytes of URL (no NUL; 0 for OCSP:
 * fetcherd uses ocsp.client_responder_url or the AIA), then chain_len
 * bytes of certificates, each a 4-byte length and DER, leaf first.
 * fetcherd acts only when the chain verifies against the configured CAs
 * and the URL is in one of its certificates: a broker that was taken
 * over must not make it an open proxy.
 */
struct ipc_req_fetch {
	struct ipc_hdr	hdr;
	uint32_t	url_len;	/* <= IPC_MAX_URL */
	uint32_t	chain_len;
};

#define IPC_MAX_URL		2048
#define IPC_MAX_CHAIN_CERTS	8

/* fetcherd's immediate answer to a fetch request; the data follows in a
 * snapshot. */
enum ipc_status {
	IPC_ST_ACCEPTED = 0,		/* fetching (or already had it) */
	IPC_ST_REFUSED = 1,		/* chain or URL not acceptable */
	IPC_ST_RATE_LIMITED = 2,
	IPC_ST_MALFORMED = 3,
};

struct ipc_rep_status {
	struct ipc_hdr	hdr;
	uint32_t	status;		/* enum ipc_status */
	uint32_t	reserved;	/* 0 */
};

_Static_assert(sizeof(struct ipc_hdr) == 16, "ipc_hdr layout");
_Static_assert(sizeof(struct ipc_req_fetch) == 24, "req_fetch layout");
_Static_assert(sizeof(struct ipc_rep_status) == 24, "rep_status layout");
_Static_assert(sizeof(struct ipc_note_published) == 24, "note layout");
_Static_assert(sizeof(struct ipc_rep_pong) == 24, "pong layout");

#endif
