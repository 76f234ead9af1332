/*
 * ipc_testutil.h: helpers the tests of the files staplemq's processes
 * share (snapshots, CRL tables) have in common: a temporary directory,
 * copies of an image, and the checks that a damaged image is refused,
 * from a buffer and from a file.  Like testutil.h, they fail the running
 * cmocka test on any error; they need libc and cmocka only.
 */
#ifndef STAPLEMQ_IPC_TESTUTIL_H
#define STAPLEMQ_IPC_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* The clock the tests pretend to read. */
#define NOW		1700000000

/*
 * A reader of an image from a buffer (snapshot_from_buffer,
 * crl_table_from_buffer) as the checks below call it.
 */
typedef void	*(*image_reader)(const void *, size_t, char *, size_t);
/* An opener of a file, with arg telling it which (a path, a name). */
typedef void	*(*image_opener)(const void *arg, char *, size_t);

/* A heap copy of b[0..len). */
uint8_t	*copy_bytes(const void *b, size_t len);
/*
 * Refused by rd from a heap buffer of exactly len bytes (ASan sees a read
 * past its end), with why in the reason, which starts with prefix
 * somewhere, is one line, and errno EINVAL.
 */
void	 expect_refused_buffer(image_reader rd, const char *prefix,
	    const uint8_t *b, size_t len, const char *why);
/*
 * What an open of the file at path, len bytes, must have given when it
 * refuses it for why: NULL, why and path in err, errno EINVAL.  Call it
 * on the open itself, so that nothing comes between it and errno.
 */
void	 expect_refused_open(const void *opened, const char *err,
	    const char *path, size_t len, const char *why);
/* b[0..len) copied at each of the 7 misaligned addresses: refused. */
void	 expect_unaligned_refused(image_reader rd, const uint8_t *b,
	    size_t len);
/*
 * What is no regular file at path is refused by op(arg): a directory, a
 * FIFO (and the open does not wait for a writer); a missing one with
 * ENOENT and the path, even into a short err buffer or none.
 */
void	 expect_not_regular(image_opener op, const void *arg,
	    const char *path);
void	 expect_missing(image_opener op, const void *arg, const char *path);
/* Rename dir/from to dir/to: 0, or 1 (said on stderr). */
int	 rename_in(const char *dir, const char *from, const char *to);
/* Remove every file and empty directory dir holds. */
void	 empty_dir(const char *dir);
/*
 * Remove dir, first emptied when empty is set (else what a test left there
 * makes it fail): 0, or -1 (said on stderr).
 */
int	 remove_tmpdir(const char *dir, int empty);

#endif
