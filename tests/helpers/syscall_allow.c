/*
 * syscall_allow.c: run a command under an allow-list of system calls,
 * everything else failing with EPERM, as systemd's SystemCallFilter= with
 * SystemCallErrorNumber=EPERM does.  The integration tests expand a
 * unit's SystemCallFilter= lines into such a list and run the daemons
 * under it, since systemd is not PID 1 where they run.
 *
 * usage: syscall_allow LISTFILE COMMAND [ARG...]
 * LISTFILE holds one system call name per line; names this libseccomp
 * does not know are skipped, as systemd skips them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <seccomp.h>

int
main(int argc, char **argv)
{
	scmp_filter_ctx ctx;
	char line[128];
	FILE *fp;
	int nr, rv;

	if (argc < 3) {
		fprintf(stderr, "usage: syscall_allow LISTFILE COMMAND "
		    "[ARG...]\n");
		return 2;
	}
	if ((fp = fopen(argv[1], "r")) == NULL) {
		perror(argv[1]);
		return 2;
	}
	if ((ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM))) == NULL) {
		fprintf(stderr, "seccomp_init failed\n");
		return 2;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, " \t\r\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if ((nr = seccomp_syscall_resolve_name(line)) ==
		    __NR_SCMP_ERROR)
			continue;
		/* Pseudo numbers of calls this architecture lacks: skip. */
		if ((rv = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0)) != 0 &&
		    nr >= 0) {
			fprintf(stderr, "%s: %s\n", line, strerror(-rv));
			return 2;
		}
	}
	fclose(fp);
	if ((rv = seccomp_load(ctx)) != 0) {
		fprintf(stderr, "seccomp_load: %s\n", strerror(-rv));
		return 2;
	}
	seccomp_release(ctx);
	execvp(argv[2], argv + 2);
	perror(argv[2]);
	return 127;
}
