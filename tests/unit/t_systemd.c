/*
 * t_systemd.c: common/systemd.c against real sockets: readiness sent to a
 * datagram socket (path and abstract), and socket activation descriptors
 * matched by name, then by address, each handed out once.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/systemd.h"

/* A datagram socket bound to name ("@..." abstract); returns the fd. */
static int
t_dgram(const char *name)
{
	struct sockaddr_un sun;
	socklen_t len;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, name);
	len = offsetof(struct sockaddr_un, sun_path) + strlen(name);
	if (name[0] == '@')
		sun.sun_path[0] = '\0';
	else
		len++;
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, len), 0);
	return fd;
}

static void
t_expect(int fd, const char *want)
{
	char buf[64];
	ssize_t n;

	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	assert_int_equal(n, (ssize_t)strlen(want));
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

static void
t_notify(void **state)
{
	char path[64], abstract[64];
	int fd;

	(void)state;
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(systemd_notify("READY=1"), 0);	/* no systemd */

	snprintf(path, sizeof(path), "/tmp/t_systemd.%d", (int)getpid());
	unlink(path);
	fd = t_dgram(path);
	setenv("NOTIFY_SOCKET", path, 1);
	assert_int_equal(systemd_notify("READY=1"), 0);
	t_expect(fd, "READY=1");
	close(fd);
	unlink(path);

	snprintf(abstract, sizeof(abstract), "@t_systemd.%d", (int)getpid());
	fd = t_dgram(abstract);
	setenv("NOTIFY_SOCKET", abstract, 1);
	assert_int_equal(systemd_notify("STOPPING=1"), 0);
	t_expect(fd, "STOPPING=1");
	close(fd);

	setenv("NOTIFY_SOCKET", "relative/path", 1);
	assert_int_equal(systemd_notify("READY=1"), -1);
	unsetenv("NOTIFY_SOCKET");
}

/* A TCP socket on 127.0.0.1 moved to descriptor at; listening or not. */
static void
t_tcp_at(int at, bool listening, struct sockaddr_in *sin)
{
	socklen_t len = sizeof(*sin);
	int fd;

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)sin, sizeof(*sin)), 0);
	if (listening)
		assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)sin, &len), 0);
	if (fd != at) {
		assert_int_equal(dup2(fd, at), at);
		close(fd);
	}
}

static void
t_listen_fds(void **state)
{
	struct sockaddr_in a3, a4, a5, a6, other;
	char pid[32];

	(void)state;
	t_tcp_at(3, true, &a3);
	t_tcp_at(4, true, &a4);
	t_tcp_at(5, true, &a5);
	t_tcp_at(6, false, &a6);	/* bound, not listening: never taken */
	memset(&other, 0, sizeof(other));
	other.sin_family = AF_INET;
	other.sin_port = htons(1);

	snprintf(pid, sizeof(pid), "%d", (int)getpid() + 1);
	setenv("LISTEN_PID", pid, 1);	/* for another process */
	setenv("LISTEN_FDS", "4", 1);
	setenv("LISTEN_FDNAMES", "tcp.default:ssl.x:unknown:tcp.idle", 1);
	assert_int_equal(systemd_listen_fd("tcp:default",
	    (struct sockaddr *)&other, sizeof(other)), -1);

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("LISTEN_PID", pid, 1);
	/* By name, whatever the address says. */
	assert_int_equal(systemd_listen_fd("ssl:x",
	    (struct sockaddr *)&other, sizeof(other)), 4);
	assert_int_equal(systemd_listen_fd("tcp:default",
	    (struct sockaddr *)&a5, sizeof(a5)), 3);
	/* Handed out once. */
	assert_int_equal(systemd_listen_fd("tcp:default",
	    (struct sockaddr *)&other, sizeof(other)), -1);
	/* By address when no name matches. */
	assert_int_equal(systemd_listen_fd("tcp:other",
	    (struct sockaddr *)&a5, sizeof(a5)), 5);
	/* A name that matches a socket that does not listen. */
	assert_int_equal(systemd_listen_fd("tcp:idle",
	    (struct sockaddr *)&a6, sizeof(a6)), -1);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	close(3);
	close(4);
	close(5);
	close(6);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_notify),
		cmocka_unit_test(t_listen_fds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
