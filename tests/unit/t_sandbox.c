/*
 * t_sandbox.c: the seccomp filters of common/sandbox.c, each loaded in a
 * child process (a filter cannot be taken back), which then tries what
 * its role may and may not do.  The child reports the first check that
 * failed through a pipe.
 */
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/sandbox.h"

#if defined(__SANITIZE_ADDRESS__)
#define T_SANITIZER	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define T_SANITIZER	1
#endif
#endif
#ifndef T_SANITIZER
#define T_SANITIZER	0
#endif

static char t_failed[256];

#define CHECK(cond, ...) do {						\
	if (!(cond) && t_failed[0] == '\0')				\
		snprintf(t_failed, sizeof(t_failed), __VA_ARGS__);	\
} while (0)

/* 0 if the call worked (and closes what it made), else its errno. */
static int
t_socket(int domain, int type)
{
	int fd;

	if ((fd = socket(domain, type, 0)) == -1)
		return errno;
	close(fd);
	return 0;
}

static int
t_socketpair(int domain)
{
	int sv[2];

	if (socketpair(domain, SOCK_STREAM, 0, sv) == -1)
		return errno;
	close(sv[0]);
	close(sv[1]);
	return 0;
}

static void *
t_thread(void *arg)
{
	return arg;
}

static void
t_common(void)
{
	char *argv[] = { "/bin/true", NULL };
	unsigned char rnd[16];
	pthread_t th;
	void *out = NULL;
	int sv[2], one = 1;

	CHECK(t_socket(AF_UNIX, SOCK_STREAM) == 0, "socket(AF_UNIX)");
	CHECK(t_socket(AF_UNIX, SOCK_DGRAM) == 0, "socket(AF_UNIX, DGRAM)");
	CHECK(t_socketpair(AF_UNIX) == 0, "socketpair(AF_UNIX)");
	CHECK(t_socket(AF_PACKET, SOCK_RAW) == EPERM, "socket(AF_PACKET)");
	CHECK(t_socket(AF_NETLINK, SOCK_RAW) == EPERM, "socket(AF_NETLINK)");
	CHECK(t_socket(AF_MAX + 5, SOCK_STREAM) == EPERM, "socket(AF_MAX+5)");
	CHECK(execve(argv[0], argv, NULL) == -1 && errno == EPERM, "execve");
	CHECK(unshare(CLONE_NEWUSER) == -1 && errno == EPERM, "unshare");
	CHECK(unshare(CLONE_NEWNET) == -1 && errno == EPERM, "unshare net");
	CHECK(setuid(getuid()) == -1 && errno == EPERM, "setuid");
	CHECK(chroot("/") == -1 && errno == EPERM, "chroot");
	if (!T_SANITIZER)
		CHECK(ptrace(PTRACE_TRACEME, 0, NULL, NULL) == -1 &&
		    errno == EPERM, "ptrace");
	/* glibc creates threads with clone3, then clone on ENOSYS. */
	CHECK(pthread_create(&th, NULL, t_thread, &one) == 0 &&
	    pthread_join(th, &out) == 0 && out == &one, "pthread_create");
	CHECK(getrandom(rnd, sizeof(rnd), 0) == (ssize_t)sizeof(rnd),
	    "getrandom");
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "pair");
	CHECK(write(sv[0], "x", 1) == 1, "write on a pair");
	close(sv[0]);
	close(sv[1]);
}

static void
t_broker(void)
{
	int fd;

	CHECK(t_socket(AF_INET, SOCK_STREAM) == EPERM, "socket(AF_INET)");
	CHECK(t_socket(AF_INET, SOCK_DGRAM) == EPERM, "socket(AF_INET, DGRAM)");
	CHECK(t_socket(AF_INET6, SOCK_STREAM) == EPERM, "socket(AF_INET6)");
	CHECK(t_socketpair(AF_INET) == EPERM, "socketpair(AF_INET)");
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) != -1) {
		/* The kernel would say EOPNOTSUPP; the filter says EPERM. */
		CHECK(setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &fd,
		    sizeof(fd)) == -1 && errno == EPERM,
		    "TCP_FASTOPEN_CONNECT");
		CHECK(sendto(fd, "x", 1, MSG_FASTOPEN, NULL, 0) == -1 &&
		    errno == EPERM, "sendto MSG_FASTOPEN");
		close(fd);
	}
}

static void
t_fetcherd(void)
{
	struct addrinfo hints, *res = NULL;

	CHECK(t_socket(AF_INET, SOCK_STREAM) == 0, "socket(AF_INET)");
	CHECK(t_socket(AF_INET, SOCK_DGRAM) == 0, "socket(AF_INET, DGRAM)");
	CHECK(t_socket(AF_INET6, SOCK_STREAM) == 0 ||
	    t_socket(AF_INET6, SOCK_STREAM) == EAFNOSUPPORT,
	    "socket(AF_INET6)");
	/* No AF_NETLINK: glibc's AI_ADDRCONFIG check must cope. */
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_ADDRCONFIG;
	hints.ai_socktype = SOCK_STREAM;
	CHECK(getaddrinfo("localhost", "80", &hints, &res) == 0,
	    "getaddrinfo localhost");
	if (res != NULL)
		freeaddrinfo(res);
}

/* Load role's filter in a child, run the checks, report. */
static void
t_run(enum sandbox_role role)
{
	char buf[sizeof(t_failed)] = "";
	int p[2], status;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	if ((pid = fork()) == 0) {
		close(p[0]);
		if (sandbox_seccomp(role) == -1)
			snprintf(t_failed, sizeof(t_failed), "filter load");
		else {
			t_common();
			if (role == SANDBOX_BROKER)
				t_broker();
			else
				t_fetcherd();
		}
		n = write(p[1], t_failed, strlen(t_failed));
		_exit(n < 0 ? 2 : 0);
	}
	assert_true(pid > 0);
	close(p[1]);
	n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	if (n > 0) {
		buf[n] = '\0';
		fail_msg("check failed under the filter: %s", buf);
	}
}

static void
t_broker_filter(void **state)
{
	(void)state;
	t_run(SANDBOX_BROKER);
}

static void
t_fetcherd_filter(void **state)
{
	(void)state;
	t_run(SANDBOX_FETCHERD);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_broker_filter),
		cmocka_unit_test(t_fetcherd_filter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
