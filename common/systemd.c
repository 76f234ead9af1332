/*
 * systemd.c: readiness notification and socket activation, the two
 * protocols of sd_notify(3) and sd_listen_fds(3), without libsystemd.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "systemd.h"

#define SYSTEMD_FDS_START	3	/* SD_LISTEN_FDS_START */
#define SYSTEMD_FDS_MAX		64	/* what this process takes */

/* Descriptors already handed to a listener, by index from fd 3. */
static uint64_t systemd_taken;

int
systemd_notify(const char *state)
{
	struct sockaddr_un sun;
	const char *path;
	socklen_t salen;
	size_t len;
	int fd, rc = -1;

	if ((path = getenv("NOTIFY_SOCKET")) == NULL || *path == '\0')
		return 0;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len < 2 ||
	    len >= sizeof(sun.sun_path)) {
		log_warnx("NOTIFY_SOCKET=%s: not a socket path", path);
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, len);
	/* "@name" is in the abstract namespace: a NUL, no terminator. */
	if (path[0] == '@') {
		sun.sun_path[0] = '\0';
		salen = offsetof(struct sockaddr_un, sun_path) + len;
	} else
		salen = offsetof(struct sockaddr_un, sun_path) + len + 1;
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("NOTIFY_SOCKET %s: socket", path);
		return -1;
	}
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, salen) == -1)
		log_warn("NOTIFY_SOCKET %s: %s", path, state);
	else
		rc = 0;
	close(fd);
	return rc;
}

/* The i-th colon-separated name of names into buf; -1 if there is none. */
static int
systemd_fdname(const char *names, long i, char *buf, size_t len)
{
	const char *end;

	for (; i > 0; i--)
		if ((names = strchr(names, ':')) == NULL)
			return -1;
		else
			names++;
	if ((end = strchr(names, ':')) == NULL)
		end = names + strlen(names);
	if ((size_t)(end - names) >= len)
		return -1;
	memcpy(buf, names, end - names);
	buf[end - names] = '\0';
	return 0;
}

static bool
systemd_is_listener(int fd)
{
	int v = 0;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == -1 || !v)
		return false;
	len = sizeof(v);
	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) == 0 &&
	    v == SOCK_STREAM;
}

static bool
systemd_same_addr(int fd, const struct sockaddr *addr, socklen_t addrlen)
{
	struct sockaddr_storage ss;
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)addr;
	const struct sockaddr_in *b4 = (const struct sockaddr_in *)&ss;
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)addr;
	const struct sockaddr_in6 *b6 = (const struct sockaddr_in6 *)&ss;
	socklen_t len = sizeof(ss);

	(void)addrlen;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1 ||
	    ss.ss_family != addr->sa_family)
		return false;
	if (addr->sa_family == AF_INET)
		return a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	if (addr->sa_family == AF_INET6)
		return a6->sin6_port == b6->sin6_port &&
		    memcmp(&a6->sin6_addr, &b6->sin6_addr,
		    sizeof(a6->sin6_addr)) == 0;
	return false;
}

static long
systemd_env_num(const char *var)
{
	const char *s;
	char *ep;
	long v;

	if ((s = getenv(var)) == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtol(s, &ep, 10);
	return *ep != '\0' || errno != 0 || v < 0 ? -1 : v;
}

int
systemd_listen_fd(const char *name, const struct sockaddr *addr,
    socklen_t addrlen)
{
	const char *names = getenv("LISTEN_FDNAMES");
	char want[256], got[256], *p;
	long n, i;
	int pass, fd;

	/* The variables are for the process systemd started, not a child. */
	if (systemd_env_num("LISTEN_PID") != (long)getpid() ||
	    (n = systemd_env_num("LISTEN_FDS")) <= 0)
		return -1;
	if (n > SYSTEMD_FDS_MAX)
		n = SYSTEMD_FDS_MAX;
	if (strlen(name) >= sizeof(want))
		return -1;
	strcpy(want, name);
	for (p = want; *p != '\0'; p++)
		if (*p == ':')
			*p = '.';
	/* A name that matches wins over an address that does. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < n; i++) {
			fd = SYSTEMD_FDS_START + i;
			if ((systemd_taken & (1ULL << i)) ||
			    !systemd_is_listener(fd))
				continue;
			if (pass == 0 && (names == NULL ||
			    systemd_fdname(names, i, got, sizeof(got)) == -1 ||
			    strcmp(got, want) != 0))
				continue;
			if (pass == 1 && !systemd_same_addr(fd, addr, addrlen))
				continue;
			if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1 ||
			    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) |
			    O_NONBLOCK) == -1) {
				log_warn("%s: socket-activated fd %d", name,
				    fd);
				return -1;
			}
			systemd_taken |= 1ULL << i;
			return fd;
		}
	}
	return -1;
}
