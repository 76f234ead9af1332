/*
 * ipc_testutil.c: what the tests of snapshots and CRL tables share (see
 * ipc_testutil.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc_testutil.h"

uint8_t *
copy_bytes(const void *b, size_t len)
{
	uint8_t	*c;

	assert_non_null(c = malloc(len > 0 ? len : 1));
	memcpy(c, b, len);
	return c;
}

void
expect_refused_buffer(image_reader rd, const char *prefix, const uint8_t *b,
    size_t len, const char *why)
{
	uint8_t	*copy;
	void	*opened;
	char	 err[512];

	copy = copy_bytes(b, len);
	err[0] = '\0';
	errno = 0;
	opened = rd(copy, len, err, sizeof(err));
	if (opened != NULL)
		fail_msg("%zu bytes accepted, expected \"%s\"", len, why);
	if (strstr(err, why) == NULL)
		fail_msg("%zu bytes: expected \"%s\", got \"%s\"", len, why,
		    err);
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(err, prefix));
	assert_null(strchr(err, '\n'));
	free(copy);
}

void
expect_refused_open(const void *opened, const char *err, const char *path,
    size_t len, const char *why)
{
	int	 e = errno;

	if (opened != NULL)
		fail_msg("file of %zu bytes accepted, expected \"%s\"", len,
		    why);
	if (strstr(err, why) == NULL || strstr(err, path) == NULL)
		fail_msg("file of %zu bytes: expected \"%s\", got \"%s\"", len,
		    why, err);
	assert_int_equal(e, EINVAL);
}

void
expect_unaligned_refused(image_reader rd, const uint8_t *b, size_t len)
{
	uint8_t	*m;
	char	 err[256];
	int	 k;

	assert_non_null(m = malloc(len + 8));
	for (k = 1; k < 8; k++) {
		memcpy(m + k, b, len);
		assert_null(rd(m + k, len, err, sizeof(err)));
		assert_non_null(strstr(err, "not 8-byte aligned"));
	}
	free(m);
}

void
expect_not_regular(image_opener op, const void *arg, const char *path)
{
	char	 err[512];

	assert_int_equal(mkdir(path, 0755), 0);
	assert_null(op(arg, err, sizeof(err)));
	assert_non_null(strstr(err, "not a regular file"));
	assert_int_equal(errno, EINVAL);
	rmdir(path);
	assert_int_equal(mkfifo(path, 0644), 0);
	assert_null(op(arg, err, sizeof(err)));
	assert_non_null(strstr(err, "not a regular file"));
	unlink(path);
}

void
expect_missing(image_opener op, const void *arg, const char *path)
{
	char	 err[512];

	errno = 0;
	assert_null(op(arg, err, sizeof(err)));
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "No such file"));
	/* A too small err buffer is still terminated; none is fine. */
	assert_null(op(arg, err, 8));
	assert_int_equal(strlen(err), 7);
	assert_null(op(arg, NULL, 0));
}

int
rename_in(const char *dir, const char *from, const char *to)
{
	char	 f[PATH_MAX], t[PATH_MAX];

	snprintf(f, sizeof(f), "%s/%s", dir, from);
	snprintf(t, sizeof(t), "%s/%s", dir, to);
	if (rename(f, t) == -1) {
		perror(t);
		return 1;
	}
	return 0;
}

void
empty_dir(const char *dir)
{
	struct dirent	*de;
	DIR		*d;
	char		 p[PATH_MAX];

	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (unlink(p) == -1)
			rmdir(p);
	}
	closedir(d);
}

int
remove_tmpdir(const char *dir, int empty)
{
	if (empty)
		empty_dir(dir);
	if (rmdir(dir) == -1) {
		fprintf(stderr, "rmdir %s: %s\n", dir, strerror(errno));
		return -1;
	}
	return 0;
}
