/*
 * secrecy.h: files of secrets (PSKs, password hashes) must be private.
 */
#ifndef STAPLEMQ_SECRECY_H
#define STAPLEMQ_SECRECY_H

#include <sys/stat.h>

/*
 * The open file fd (named path in messages) is a regular file that
 * neither group nor others may touch, as bgpd's check_file_secrecy()
 * wants.  fd, not path, so that the checked file is the one read.  0 with
 * its stat in *st, or -1 logged.
 */
int	file_secrecy(const char *path, int fd, struct stat *st);

#endif
