/*
 * mapfile.c: mapping the files fetcherd writes (snapshots, CRL tables)
 * and checking what identifies them, the same way for each kind.  The
 * reasons are bare ("too short (3 bytes)"): each reader puts its own
 * "snapshot PATH: " or "crl table PATH: " in front.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mapfile.h"

#define IPC_FILE_ALIGN	8	/* of every header and record */

static void	 map_why(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* One reason into why (may be NULL), errno kept. */
static void
map_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list	 ap;
	int	 save = errno;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	errno = save;
}

/*
 * The size is checked on the open fd, before mapping, so that a huge file
 * is never mapped; the readers check it again on the mapping.
 */
const void *
ipc_map(const char *path, size_t minlen, size_t maxlen, size_t *len,
    char *why, size_t whylen)
{
	struct stat	 st;
	void		*map = MAP_FAILED;
	int		 fd, save;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1) {
		map_why(why, whylen, "open: %s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		map_why(why, whylen, "fstat: %s", strerror(errno));
		goto done;
	}
	errno = EINVAL;
	if (!S_ISREG(st.st_mode)) {
		map_why(why, whylen, "not a regular file");
		goto done;
	}
	if (st.st_size < (off_t)minlen) {
		map_why(why, whylen, "too short (%jd bytes)",
		    (intmax_t)st.st_size);
		goto done;
	}
	if ((uintmax_t)st.st_size > maxlen) {
		map_why(why, whylen, "too large (%jd bytes, limit %zu)",
		    (intmax_t)st.st_size, maxlen);
		goto done;
	}
	if ((map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd,
	    0)) == MAP_FAILED) {
		map_why(why, whylen, "mmap: %s", strerror(errno));
		goto done;
	}
	*len = (size_t)st.st_size;
 done:
	save = errno;
	close(fd);
	errno = save;
	return map == MAP_FAILED ? NULL : map;
}

void
ipc_unmap(const void *map, size_t len)
{
	if (map != NULL)
		munmap((void *)(uintptr_t)map, len);
}

/*
 * The size and alignment first: only then may the header be read in
 * place.  file_len sits at a different offset in each kind of header.
 */
int
ipc_check_ident(const void *buf, size_t len, const struct ipc_file_kind *k,
    char *why, size_t whylen)
{
	const struct ipc_file_ident	*h = buf;
	uint64_t			 file_len;

	if (len < k->header_len) {
		map_why(why, whylen, "too short (%zu bytes)", len);
		return -1;
	}
	if (len > k->max_len) {
		map_why(why, whylen, "too large (%zu bytes, limit %" PRIu64
		    ")", len, k->max_len);
		return -1;
	}
	if ((uintptr_t)buf % IPC_FILE_ALIGN != 0) {
		map_why(why, whylen, "buffer not %d-byte aligned",
		    IPC_FILE_ALIGN);
		return -1;
	}
	if (memcmp(h->magic, k->magic, sizeof(h->magic)) != 0) {
		map_why(why, whylen, "bad magic");
		return -1;
	}
	if (h->version != k->version) {
		map_why(why, whylen, "version %" PRIu32 ", expected %" PRIu32,
		    h->version, k->version);
		return -1;
	}
	if (h->header_len != k->header_len) {
		map_why(why, whylen, "header_len %" PRIu32 ", expected %zu",
		    h->header_len, k->header_len);
		return -1;
	}
	memcpy(&file_len, (const uint8_t *)buf + k->file_len_off,
	    sizeof(file_len));
	if (file_len != len) {
		map_why(why, whylen, "file_len %" PRIu64 ", file is %zu bytes",
		    file_len, len);
		return -1;
	}
	return 0;
}

void
ipc_verr(char *err, size_t errlen, const char *kind, const char *name,
    const char *fmt, va_list ap)
{
	char	 why[160];
	int	 save = errno;

	if (err == NULL || errlen == 0)
		return;
	vsnprintf(why, sizeof(why), fmt, ap);
	snprintf(err, errlen, "%s %s: %s", kind, name, why);
	errno = save;
}

int
ipc_all_zero(const void *p, size_t n)
{
	const uint8_t	*b = p;
	size_t		 i;

	for (i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}
