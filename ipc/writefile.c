/*
 * writefile.c: writing the files fetcherd publishes (snapshots, CRL
 * tables): whole writes and the fsync of their directory.  The steps
 * around them (temporary name, mode, rename) differ per kind of file and
 * stay with each writer.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "log.h"
#include "writefile.h"

int
ipc_write_all(int fd, const void *buf, size_t len)
{
	const unsigned char	*p = buf;
	ssize_t			 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
ipc_fsync_dir(const char *dir)
{
	int	 fd, rc = -1;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_warn("open %s", dir);
		return -1;
	}
	if (fsync(fd) == -1)
		log_warn("fsync %s", dir);
	else
		rc = 0;
	close(fd);
	return rc;
}
