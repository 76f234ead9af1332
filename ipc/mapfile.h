/*
 * mapfile.h: what the readers of the files in ipc_proto.h (snapshots, CRL
 * tables) do alike: map a file read-only and shared, and check the
 * header's identity (magic, version, header_len, file_len) before
 * anything else in it is read.
 */
#ifndef STAPLEMQ_MAPFILE_H
#define STAPLEMQ_MAPFILE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "ipc_proto.h"

/* A kind of file: how a reader tells one, and how large it may be. */
struct ipc_file_kind {
	const char	*magic;		/* 8 bytes, no NUL */
	uint32_t	 version;
	size_t		 header_len;	/* sizeof its header: the least size */
	size_t		 file_len_off;	/* offsetof its header's file_len */
	uint64_t	 max_len;	/* readers refuse more */
};

/* mapfile.c */
/*
 * Map path read-only and shared (MAP_SHARED: readers share one copy)
 * after checking, before mapping, that it is a regular file of minlen to
 * maxlen bytes.  O_NONBLOCK keeps a FIFO put in the file's place from
 * blocking the open; the fd is closed before returning.  Returns the
 * mapping and its size in *len, or NULL with a one-line reason (without
 * the path) in why and errno that of the failing call (ENOENT: no such
 * file), or EINVAL for a file of the wrong type or size.
 */
const void	*ipc_map(const char *path, size_t minlen, size_t maxlen,
		    size_t *len, char *why, size_t whylen);
/* Undo ipc_map(); NULL is ignored. */
void		 ipc_unmap(const void *, size_t);
/*
 * Check buf[0..len) is at least a header and at most max_len bytes,
 * 8-byte aligned (records are then read in place as structs), and that
 * its header has this kind's magic, version and header_len and a
 * file_len of len.  0, or -1 with a one-line reason in why.
 */
int		 ipc_check_ident(const void *buf, size_t len,
		    const struct ipc_file_kind *, char *why, size_t whylen);
/*
 * "KIND NAME: reason" into err (one line; err may be NULL), errno kept:
 * the readers' error messages.
 */
void		 ipc_verr(char *err, size_t errlen, const char *kind,
		    const char *name, const char *fmt, va_list);
/* Are the n bytes at p all 0 (padding, unused ids)? */
int		 ipc_all_zero(const void *p, size_t n);

#endif
