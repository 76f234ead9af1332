/*
 * systemd.h: the two small protocols a daemon speaks with systemd, done
 * here rather than by linking libsystemd: readiness (sd_notify(3)) and
 * socket activation (sd_listen_fds(3)).  Both are no-ops outside systemd.
 */
#ifndef STAPLEMQ_SYSTEMD_H
#define STAPLEMQ_SYSTEMD_H

#include <sys/socket.h>

/* systemd.c */
/*
 * Send state ("READY=1", "STOPPING=1", ...) to $NOTIFY_SOCKET over an
 * AF_UNIX datagram.  0 when sent or when there is no $NOTIFY_SOCKET, -1
 * logged.
 */
int	systemd_notify(const char *state);
/*
 * A listening stream socket passed by socket activation ($LISTEN_PID,
 * $LISTEN_FDS, $LISTEN_FDNAMES) whose FileDescriptorName= is name (":" in
 * name read as ".", since systemd forbids ":" in the names) or, failing
 * that, whose bound address is addr.  Each descriptor is handed out once.
 * Returns the descriptor (close-on-exec, non-blocking) or -1 when there
 * is none.
 */
int	systemd_listen_fd(const char *name, const struct sockaddr *addr,
	    socklen_t addrlen);

#endif
