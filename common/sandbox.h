/*
 * sandbox.h: what each daemon gives up once it has opened what it needs.
 *
 * The order is the one of STYLE.md habit 8: open listeners, keys and the
 * snapshot; drop root to node.user (broker) or node.fetcher_user
 * (fetcherd) and node.group; install a seccomp filter; then run.  Every
 * step is checked and a failure stops the start: a daemon never runs
 * without its sandbox unless node.sandbox = false says so, and then it
 * says so at error level on every start.
 */
#ifndef STAPLEMQ_SANDBOX_H
#define STAPLEMQ_SANDBOX_H

#include <sys/types.h>

#include <stdbool.h>

#include "conf.h"

enum sandbox_role {
	SANDBOX_BROKER,		/* accepts only: new sockets AF_UNIX */
	SANDBOX_FETCHERD,	/* reaches out: AF_INET and AF_INET6 too */
};

/* The user and group a daemon runs as once it drops root. */
struct sandbox_ids {
	uid_t		 uid;
	gid_t		 gid;
	const char	*user;		/* both point into the configuration */
	const char	*group;
};

/* sandbox.c */
/* node.sandbox: false switches everything here off, loudly. */
bool	sandbox_enabled(const struct conf *);
/*
 * Look up the user and group role runs as.  -1 logged for a name that
 * does not exist or that is root.
 */
int	priv_sandbox_ids(const struct conf *, enum sandbox_role,
	    struct sandbox_ids *);
/*
 * Give path, a directory of role's, to its user and node.group with mode
 * 0750.  Does something only as root with the sandbox on.  -1 logged.
 */
int	priv_sandbox_chown(const struct conf *, enum sandbox_role,
	    const char *path);
/*
 * Call before any thread exists.  Landlock network rules where the
 * kernel has them (Linux 6.7): the broker may not connect a TCP socket,
 * fetcherd may not bind one.  A kernel without them is logged, not fatal:
 * seccomp is the required layer, this one closes what seccomp cannot see
 * (a TCP socket the broker already holds).  -1 logged on a real failure.
 */
int	sandbox_early(const struct conf *, enum sandbox_role);
/*
 * Drop root (when running as root) and install role's seccomp filter on
 * every thread.  -1 logged: the caller must not run.
 */
int	sandbox_enter(const struct conf *, enum sandbox_role);
/* Build and load role's seccomp filter alone; -1 logged (unit tests). */
int	sandbox_seccomp(enum sandbox_role);

#endif
