/*
 * passwd.h: the password file, its PBKDF2 hashes and the checks made on
 * CONNECT.  Shared by the broker and the staplemq-passwd tool.
 *
 * File format, one user per line; blank lines and lines whose first
 * non-blank character is "#" are ignored:
 *
 *	USERNAME:$pbkdf2-sha256$ITERATIONS$SALT$HASH
 *
 * SALT and HASH are standard base64 with padding and no newlines; HASH is
 * PBKDF2-HMAC-SHA256 of the password, PASSWD_HASH_LEN bytes.  A user name
 * is what passwd_user_valid() accepts; leading blanks on a line are not
 * part of it.  A user listed twice is an error, not "last one wins": two
 * entries mean an edit went wrong and we cannot tell which password the
 * operator meant.
 *
 * The file is refused when its mode lets the group or others in (as
 * bgpd(8) does): hashes invite offline guessing.
 *
 * Ownership: struct passwd_db owns its names and hashes and zeroes the
 * hashes when freed.  It is immutable after passwd_load(), so concurrent
 * passwd_check() calls are fine.
 */
#ifndef STAPLEMQ_PASSWD_H
#define STAPLEMQ_PASSWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PASSWD_SCHEME		"$pbkdf2-sha256$"
#define PASSWD_ITER_DEFAULT	100000
#define PASSWD_ITER_MIN		1000
#define PASSWD_ITER_MAX		10000000	/* ~8 CPU seconds per check */
#define PASSWD_SALT_LEN		16		/* what passwd_hash() makes */
#define PASSWD_SALT_MIN		8		/* what files may hold */
#define PASSWD_SALT_MAX		64
#define PASSWD_HASH_LEN		32		/* SHA-256 output */
#define PASSWD_USER_MAX		65535		/* MQTT string limit */
#define PASSWD_HASH_BUFSZ	128		/* fits any passwd_hash() */

struct passwd_db;

/*
 * Read the file at path.  Returns the database, or NULL after logging
 * every error with log_err(), as "FILE:LINE: message" for bad lines.
 * An empty file is valid and lets nobody in.
 */
struct passwd_db *passwd_load(const char *path);
void		 passwd_free(struct passwd_db *);
size_t		 passwd_count(const struct passwd_db *);

/*
 * Is len bytes of password (binary, as MQTT allows) right for user?
 * Compares in constant time.  A user not in the file (or NULL) costs one
 * PBKDF2 all the same, so the time taken does not tell who exists.
 * XXX A file mixing iteration counts still lets timing tell users apart;
 * unknown users are charged the count of the file's first entry.
 */
bool		 passwd_check(const struct passwd_db *, const char *user,
		    const uint8_t *password, size_t len);

/*
 * Hash len bytes of password with a fresh random salt of PASSWD_SALT_LEN
 * bytes and write "$pbkdf2-sha256$ITERATIONS$SALT$HASH" with its NUL to
 * out, which PASSWD_HASH_BUFSZ bytes always fit.  iterations must be in
 * [PASSWD_ITER_MIN, PASSWD_ITER_MAX].  Returns 0, or -1 after logging.
 */
int		 passwd_hash(const uint8_t *password, size_t len,
		    unsigned iterations, char *out, size_t outlen);

/*
 * May user appear in the file?  1 to PASSWD_USER_MAX bytes; no ":" or
 * control characters (newlines included); not starting with "#"; not
 * starting or ending with a space, which the loader would strip.
 */
bool		 passwd_user_valid(const char *user);

/*
 * If the NUL-terminated line is an entry (not blank, not a comment, has a
 * ":"), return where its user name starts and set *len to its length;
 * else NULL.  The tool uses this to find the lines it replaces, so that
 * it agrees with passwd_load() on every line.
 */
const char	*passwd_line_user(const char *line, size_t *len);

#endif /* STAPLEMQ_PASSWD_H */
