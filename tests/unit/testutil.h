/*
 * testutil.h: helpers the unit tests share.  They fail the running cmocka
 * test on any error, so callers need not check; they need libc and cmocka
 * only, so that every test can link them.
 */
#ifndef STAPLEMQ_TESTUTIL_H
#define STAPLEMQ_TESTUTIL_H

#include <sys/types.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* testutil.c */
/*
 * Send stderr to a temporary file until stderr_back(); *saved keeps the
 * real one.  One capture at a time.
 */
void	 stderr_to_log(int *saved);
/* Put stderr back; what was logged meanwhile, NUL-terminated, to free. */
char	*stderr_back(int saved);
/*
 * logged must be exactly n lines, the i-th ending in prefix followed by
 * the i-th string of ap (for "... error fn: PATH:" then "LINE: message").
 */
void	 expect_log_lines(char *logged, const char *prefix, size_t n,
	    va_list ap);
/* The whole content of path, to free; *len its size. */
uint8_t	*read_all(const char *path, size_t *len);
/*
 * Replace path with a new file of buf[0..len) and this mode, set by
 * fchmod so the umask does not apply; a file there before is unlinked
 * first, so one of a mode that forbids writing is replaced too.
 */
void	 write_file(const char *path, const void *buf, size_t len,
	    mode_t mode);
/* How many entries of dir have a name that starts with prefix. */
int	 count_files(const char *dir, const char *prefix);
/* Seconds on the monotonic clock since t0. */
double	 seconds_since(const struct timespec *t0);
/*
 * Does the MQTT topic filter f match the name n?  The rules of 4.7 read
 * literally, level by level: the oracle the matchers are checked against.
 */
bool	 bf_match(const char *f, size_t flen, const char *n, size_t nlen);

#endif
