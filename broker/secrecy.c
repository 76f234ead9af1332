/*
 * secrecy.c: the check every file of secrets passes before it is read.
 */
#include <sys/stat.h>

#include <errno.h>
#include <string.h>

#include "log.h"
#include "secrecy.h"

int
file_secrecy(const char *path, int fd, struct stat *st)
{
	if (fstat(fd, st) == -1) {
		log_err("%s: fstat: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		log_err("%s: not a regular file", path);
		return -1;
	}
	if ((st->st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		log_err("%s: mode %04o lets group or others in; chmod 600 %s",
		    path, (unsigned)(st->st_mode & 07777), path);
		return -1;
	}
	return 0;
}
