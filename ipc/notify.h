/*
 * notify.h: the nng side of ipc_proto.h.  fetcherd publishes "generation N
 * is published" notes on a PUB socket and answers requests on a REP
 * socket; the broker subscribes and watches the socket's receive file
 * descriptor from its libevent loop, so nothing ever blocks.  Both sockets
 * live in node.runtime_dir as ipc:// endpoints.
 */
#ifndef STAPLEMQ_NOTIFY_H
#define STAPLEMQ_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "ipc_proto.h"

struct notify_pub;
struct notify_sub;
struct notify_rep;

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

/* notify.c: fetcherd answers requests */
/* Listen on runtime_dir/IPC_REQUEST_SOCK (mode 0660); NULL logged. */
struct notify_rep *notify_rep_open(const char *runtime_dir);
/* The fd that becomes readable when a request may be waiting. */
int	notify_rep_fd(struct notify_rep *);
/*
 * Answer every waiting IPC_REQ_PING with current_generation, without
 * blocking; bad requests are logged and get no reply.  Returns the number
 * answered.
 */
int	notify_rep_poll(struct notify_rep *, uint64_t current_generation);
void	notify_rep_close(struct notify_rep *);

/* notify.c: tools and tests */
/*
 * Ping fetcherd on runtime_dir/IPC_REQUEST_SOCK and wait up to timeout_ms
 * for its IPC_REP_PONG.  0 with *generation set, or -1 logged.
 */
int	notify_ping(const char *runtime_dir, int timeout_ms,
	    uint64_t *generation);

#endif
