/*
 * testutil.c: helpers the unit tests share (see testutil.h): capturing
 * what the code under test logs, reading and writing whole files,
 * counting files in a directory, timing, and the brute-force MQTT topic
 * matcher.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

static FILE	*log_fp;	/* stderr between the two calls */

/* A file of its own, unnamed: nothing to clean up, whatever the test. */
void
stderr_to_log(int *saved)
{
	fflush(stderr);
	/* Left by a test that failed while capturing. */
	if (log_fp != NULL)
		fclose(log_fp);
	assert_true((*saved = dup(STDERR_FILENO)) != -1);
	assert_non_null(log_fp = tmpfile());
	assert_true(dup2(fileno(log_fp), STDERR_FILENO) != -1);
}

char *
stderr_back(int saved)
{
	struct stat	 st;
	char		*s;

	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) != -1);
	close(saved);
	assert_non_null(log_fp);
	assert_int_equal(fstat(fileno(log_fp), &st), 0);
	assert_non_null(s = calloc(1, (size_t)st.st_size + 1));
	assert_int_equal(pread(fileno(log_fp), s, (size_t)st.st_size, 0),
	    st.st_size);
	fclose(log_fp);
	log_fp = NULL;
	return s;
}

void
expect_log_lines(char *logged, const char *prefix, size_t n, va_list ap)
{
	const char	*want;
	char		*line, *next;
	size_t		 i, pl, wl, ll;

	pl = strlen(prefix);
	line = logged;
	for (i = 0; i < n; i++) {
		want = va_arg(ap, const char *);
		next = strchr(line, '\n');
		if (next == NULL) {
			print_error("missing: %s%s\nlog:\n%s", prefix, want,
			    logged);
			fail();
		}
		*next = '\0';
		wl = strlen(want);
		ll = strlen(line);
		if (ll < pl + wl || strcmp(line + ll - wl, want) != 0 ||
		    strncmp(line + ll - wl - pl, prefix, pl) != 0) {
			print_error("want: %s%s\ngot:  %s\n", prefix, want,
			    line);
			fail();
		}
		line = next + 1;
	}
	if (*line != '\0')
		print_error("extra: %s", line);
	assert_string_equal(line, "");
}

uint8_t *
read_all(const char *path, size_t *len)
{
	struct stat	 st;
	uint8_t		*b;
	int		 fd;

	assert_true((fd = open(path, O_RDONLY)) != -1);
	assert_int_equal(fstat(fd, &st), 0);
	assert_non_null(b = malloc(st.st_size > 0 ? (size_t)st.st_size : 1));
	assert_int_equal(read(fd, b, (size_t)st.st_size), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return b;
}

void
write_file(const char *path, const void *buf, size_t len, mode_t mode)
{
	int	 fd;

	unlink(path);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC,
	    0600)) != -1);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

int
count_files(const char *dir, const char *prefix)
{
	struct dirent	*de;
	DIR		*d;
	int		 n = 0;

	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

double
seconds_since(const struct timespec *t0)
{
	struct timespec	 t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

bool
bf_match(const char *f, size_t flen, const char *n, size_t nlen)
{
	size_t	 fi = 0, ni = 0, fe, ne;

	/* MQTT-4.7.2-1 */
	if (nlen > 0 && n[0] == '$' && (f[0] == '+' || f[0] == '#'))
		return false;
	for (;;) {
		for (fe = fi; fe < flen && f[fe] != '/'; fe++)
			;
		if (fe - fi == 1 && f[fi] == '#')
			return true;
		if (ni > nlen)
			return false;
		for (ne = ni; ne < nlen && n[ne] != '/'; ne++)
			;
		if (!(fe - fi == 1 && f[fi] == '+') && (fe - fi != ne - ni ||
		    memcmp(f + fi, n + ni, fe - fi) != 0))
			return false;
		fi = fe + 1;
		ni = ne + 1;
		if (fi > flen)
			return ni > nlen;
	}
}
