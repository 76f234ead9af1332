/*
 * writefile.h: what the writers of the files in ipc_proto.h (fetcherd's
 * snapshot_write.c and crl_table_write.c) do alike to put a file in
 * place durably.
 */
#ifndef STAPLEMQ_WRITEFILE_H
#define STAPLEMQ_WRITEFILE_H

#include <stddef.h>

/* writefile.c */
/* write(2) all of buf, again on EINTR; 0, or -1 with errno (not logged). */
int	 ipc_write_all(int fd, const void *buf, size_t len);
/*
 * fsync dir, so that a rename or unlink in it survives a crash (data_dir;
 * a no-op cost on tmpfs).  0, or -1 logged.
 */
int	 ipc_fsync_dir(const char *dir);

#endif
