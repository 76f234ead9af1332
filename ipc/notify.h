/*
 * notify.h: the nng side of ipc_proto.h.  fetcherd publishes "generation N
 * is published" notes on a PUB socket and answers requests on a REP
 * socket; the broker subscribes, asks for CRLs and client OCSP statuses
 * on a REQ socket, and watches the sockets' receive file descriptors from
 * its libevent loop, so nothing ever blocks.  Both endpoints live in
 * node.runtime_dir as ipc:// sockets.
 */
#ifndef STAPLEMQ_NOTIFY_H
#define STAPLEMQ_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "ipc_proto.h"

struct notify_pub;
struct notify_sub;
struct notify_rep;
struct notify_req;

#define NOTIFY_REQ_RESEND_MS	2000	/* a request unanswered is resent */
#define NOTIFY_REP_SEND_MS	100	/* longest a reply may wait */
#define NOTIFY_REP_BATCH	64	/* requests answered per poll at most */

/* notify.c: pure encoding and checking (fuzzed) */
/* Encode a note; returns its size (sizeof(struct ipc_note_published)). */
size_t	ipc_note_encode(void *buf, size_t len, uint64_t generation);
/*
 * Check a received message: magic, version, reserved 0, length equal to
 * len, and the exact size of its type.  Returns the type, or -1 with a
 * reason in *why (static string; for a version mismatch "version N,
 * expected 1" in a per-thread buffer that the next call overwrites).
 */
int	ipc_msg_check(const void *buf, size_t len, const char **why);
/* The generation of a checked IPC_NOTE_PUBLISHED or IPC_REP_PONG. */
uint64_t ipc_msg_generation(const void *buf);
/*
 * For a fetch request (IPC_REQ_CRL, IPC_REQ_OCSP) ipc_msg_check also
 * checks the variable part: url_len <= IPC_MAX_URL, > 0 for a CRL, every
 * URL byte printable ASCII (0x21-0x7e: fetcherd logs it), chain_len > 0,
 * and the chain exactly 1..IPC_MAX_CHAIN_CERTS (4-byte length > 0, DER)
 * pieces; for IPC_REP_STATUS a known status and reserved 0.
 *
 * Encode a fetch request into buf: url (NULL or "" for OCSP; required for
 * a CRL), then leaf and the certificates of rest (may be NULL) as DER.
 * Returns its size, or 0 (nothing written) if it does not fit len or
 * IPC_MAX_MSG, or breaks a rule above.
 */
size_t	ipc_req_fetch_encode(uint8_t *buf, size_t len, enum ipc_type type,
	    const char *url, X509 *leaf, STACK_OF(X509) *rest);
/*
 * Decode a fetch request (checked again here): *url points into msg and
 * is url_len bytes, not NUL-terminated (NULL and 0 when there is none);
 * *chain receives the certificates, leaf first, each parsed from exactly
 * its length; the caller frees it (sk_X509_pop_free(chain, X509_free)).
 * 0, or -1 with *chain NULL.  The certificates are not verified.
 */
int	ipc_req_fetch_decode(const void *msg, size_t len, const char **url,
	    size_t *url_len, STACK_OF(X509) **chain);
/* An IPC_REP_STATUS; its size, or 0 if len is too small or status unknown. */
size_t	ipc_rep_status_encode(void *buf, size_t len, uint32_t status);
/* The status of a checked IPC_REP_STATUS. */
uint32_t ipc_msg_status(const void *buf);

/* notify.c: fetcherd */
/* Listen on runtime_dir/IPC_NOTIFY_SOCK (mode 0660); NULL logged. */
struct notify_pub *notify_pub_open(const char *runtime_dir);
int	notify_publish(struct notify_pub *, uint64_t generation);
void	notify_pub_close(struct notify_pub *);

/* notify.c: broker */
/*
 * Dial runtime_dir/IPC_NOTIFY_SOCK without waiting: nng redials in the
 * background until fetcherd is there.  NULL logged.
 */
struct notify_sub *notify_sub_open(const char *runtime_dir);
/* The fd that becomes readable when a note may be waiting. */
int	notify_sub_fd(struct notify_sub *);
/*
 * Take one waiting note without blocking: 1 with *generation set, 0 when
 * none is waiting, -1 for a message that failed ipc_msg_check (logged and
 * dropped; the caller just calls again).
 */
int	notify_sub_recv(struct notify_sub *, uint64_t *generation);
void	notify_sub_close(struct notify_sub *);

/* notify.c: broker asks fetcherd for CRLs and client OCSP statuses */
/*
 * Dial runtime_dir/IPC_REQUEST_SOCK without waiting (nng redials until
 * fetcherd is there) on a REQ socket that resends a request every
 * NOTIFY_REQ_RESEND_MS until it is answered, so a request survives a
 * restart of fetcherd.  NULL logged.
 */
struct notify_req *notify_req_open(const char *runtime_dir);
/* The fd that becomes readable when the reply may be waiting. */
int	notify_req_fd(struct notify_req *);
/*
 * Send a request made by ipc_req_fetch_encode, without blocking.  One
 * request at a time: 0 sent (or, while fetcherd is not connected, handed
 * to nng to send as soon as it is); 1 when a request still awaits its
 * reply (nothing sent: the caller queues msg and sends it after
 * notify_req_recv returned 1 or -1); -1 error (logged).
 */
int	notify_req_send(struct notify_req *, const void *msg, size_t len);
/*
 * Take the reply without blocking: 1 with *status set (enum ipc_status),
 * 0 when none is waiting, -1 for a reply that failed its checks (logged
 * and dropped).  After 1 or -1 the next request may be sent.
 */
int	notify_req_recv(struct notify_req *, uint32_t *status);
void	notify_req_close(struct notify_req *);

/* notify.c: fetcherd answers requests */
/* Listen on runtime_dir/IPC_REQUEST_SOCK (mode 0660); NULL logged. */
struct notify_rep *notify_rep_open(const char *runtime_dir);
/* The fd that becomes readable when a request may be waiting. */
int	notify_rep_fd(struct notify_rep *);
/*
 * Answer the waiting requests, without blocking, up to NOTIFY_REP_BATCH
 * per call (the fd stays readable while more wait, so a flood cannot
 * starve fetcherd's loop).  IPC_REQ_PING gets current_generation;
 * IPC_REQ_CRL and IPC_REQ_OCSP, once ipc_msg_check passed, go to handler
 * (NULL: refused), whose return (enum ipc_status; an unknown value is
 * logged and sent as IPC_ST_REFUSED) is sent in an IPC_REP_STATUS; msg is
 * nng's and lives only during the call.  Anything else is logged and
 * answered IPC_ST_MALFORMED, so a requester never waits for nothing.
 * Returns the number of replies sent.
 */
int	notify_rep_poll(struct notify_rep *, uint64_t current_generation,
	    uint32_t (*handler)(void *arg, int type, const void *msg,
	    size_t len), void *arg);
void	notify_rep_close(struct notify_rep *);

/* notify.c: tools and tests */
/*
 * Ping fetcherd on runtime_dir/IPC_REQUEST_SOCK and wait up to timeout_ms
 * for its IPC_REP_PONG.  0 with *generation set, or -1 logged.
 */
int	notify_ping(const char *runtime_dir, int timeout_ms,
	    uint64_t *generation);

#endif
