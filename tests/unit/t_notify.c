/*
 * t_notify.c: IPC message encoding and checking, then real nng sockets in
 * a temporary directory: a note published by notify_pub reaches
 * notify_sub, whichever starts first; garbage from a raw PUB socket is
 * dropped; stale and foreign socket files; the ping request.
 *
 * nng pub/sub delivers only to subscribers connected at the time, and the
 * connection is made in the background, so the tests publish again every
 * few milliseconds until the note arrives, for at most WAIT_MS.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/reqrep0/req.h>

#include "log.h"
#include "notify.h"

#define WAIT_MS		5000
#define STEP_MS		10

static char	 tmpdir[] = "/tmp/t_notify.XXXXXX";
static char	 sock_path[PATH_MAX];	/* tmpdir/IPC_NOTIFY_SOCK */
static char	 req_path[PATH_MAX];	/* tmpdir/IPC_REQUEST_SOCK */
static char	 notify_url[PATH_MAX + 8];
static char	 req_url[PATH_MAX + 8];
static char	 log_path[PATH_MAX];

/* --- helpers ------------------------------------------------------------- */

/* Checked from a heap buffer of exactly len bytes, for ASan. */
static int
check_exact(const void *msg, size_t len, const char **why)
{
	uint8_t	*b;
	int	 type;

	assert_non_null(b = malloc(len > 0 ? len : 1));
	memcpy(b, msg, len);
	type = ipc_msg_check(b, len, why);
	free(b);
	return type;
}

static void
expect_bad(const void *msg, size_t len, const char *want)
{
	const char	*why = NULL;

	if (check_exact(msg, len, &why) != -1)
		fail_msg("%zu bytes accepted, expected \"%s\"", len, want);
	assert_non_null(why);
	if (strstr(why, want) == NULL)
		fail_msg("%zu bytes: expected \"%s\", got \"%s\"", len, want,
		    why);
}

static struct ipc_note_published
good_note(uint64_t gen)
{
	struct ipc_note_published	 n;

	assert_int_equal(ipc_note_encode(&n, sizeof(n), gen), sizeof(n));
	return n;
}

static long
elapsed_ms(const struct timespec *t0)
{
	struct timespec	 t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 +
	    (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* A PUB socket of the test's own, on the notify endpoint. */
static nng_socket
raw_pub(void)
{
	nng_socket	 s;

	assert_int_equal(nng_pub0_open(&s), 0);
	assert_int_equal(nng_listen(s, notify_url, NULL, 0), 0);
	return s;
}

static void
raw_send(nng_socket s, const void *buf, size_t len)
{
	assert_int_equal(nng_send(s, (void *)(uintptr_t)buf, len, 0), 0);
}

/*
 * Publish gen (through p, or raw on r) until sub reports it, watching its
 * fd as the broker's event loop would.  Returns how many messages were
 * dropped as bad on the way.
 */
static int
deliver(struct notify_pub *p, nng_socket *r, struct notify_sub *sub,
    uint64_t gen)
{
	struct ipc_note_published	 note = good_note(gen);
	struct pollfd			 pfd;
	struct timespec			 t0;
	uint64_t			 got;
	int				 rc, bad = 0;

	pfd.fd = notify_sub_fd(sub);
	pfd.events = POLLIN;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (elapsed_ms(&t0) < WAIT_MS) {
		if (p != NULL)
			assert_int_equal(notify_publish(p, gen), 0);
		else
			raw_send(*r, &note, sizeof(note));
		if (poll(&pfd, 1, STEP_MS) != 1)
			continue;
		while ((rc = notify_sub_recv(sub, &got)) != 0) {
			if (rc == -1) {
				bad++;
				continue;
			}
			assert_int_equal(got, gen);
			/* Drain the repeats. */
			while ((rc = notify_sub_recv(sub, &got)) == 1)
				assert_int_equal(got, gen);
			assert_int_equal(rc, 0);
			return bad;
		}
	}
	fail_msg("generation %llu not received in %d ms",
	    (unsigned long long)gen, WAIT_MS);
	return -1;
}

static void
stderr_to_log(int *saved)
{
	int	 fd;

	fflush(stderr);
	assert_true((*saved = dup(STDERR_FILENO)) != -1);
	assert_true((fd = open(log_path, O_RDWR | O_CREAT | O_TRUNC,
	    0600)) != -1);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

/* Put stderr back; what was logged meanwhile, to free. */
static char *
stderr_back(int saved)
{
	struct stat	 st;
	char		*s;
	int		 fd;

	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	assert_true((fd = open(log_path, O_RDONLY)) != -1);
	assert_int_equal(fstat(fd, &st), 0);
	assert_non_null(s = calloc(1, (size_t)st.st_size + 1));
	assert_int_equal(read(fd, s, (size_t)st.st_size), st.st_size);
	close(fd);
	unlink(log_path);
	return s;
}

/* --- set-up -------------------------------------------------------------- */

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(sock_path, sizeof(sock_path), "%s/%s", tmpdir,
	    IPC_NOTIFY_SOCK);
	snprintf(req_path, sizeof(req_path), "%s/%s", tmpdir,
	    IPC_REQUEST_SOCK);
	snprintf(notify_url, sizeof(notify_url), "ipc://%s", sock_path);
	snprintf(req_url, sizeof(req_url), "ipc://%s", req_path);
	snprintf(log_path, sizeof(log_path), "%s/log", tmpdir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(sock_path);
	unlink(req_path);
	unlink(log_path);
	if (rmdir(tmpdir) == -1) {
		fprintf(stderr, "rmdir %s: %s\n", tmpdir, strerror(errno));
		return -1;
	}
	return 0;
}

/* --- encoding and checking ----------------------------------------------- */

static void
t_round_trip(void **state)
{
	struct ipc_note_published	 n;
	uint8_t				 buf[sizeof(n) + 1];
	const char			*why = "x";
	uint64_t			 gens[] = { 0, 1, 42, UINT64_MAX };
	size_t				 i;

	(void)state;
	for (i = 0; i < sizeof(gens) / sizeof(gens[0]); i++) {
		n = good_note(gens[i]);
		assert_int_equal(n.hdr.magic, IPC_MAGIC);
		assert_int_equal(n.hdr.version, IPC_VERSION);
		assert_int_equal(n.hdr.type, IPC_NOTE_PUBLISHED);
		assert_int_equal(n.hdr.length, sizeof(n));
		assert_int_equal(n.hdr.reserved, 0);
		assert_int_equal(check_exact(&n, sizeof(n), &why),
		    IPC_NOTE_PUBLISHED);
		assert_null(why);
		assert_int_equal(ipc_msg_generation(&n), gens[i]);
	}
	/* The wire bytes: little-endian, "STMQ" first. */
	n = good_note(0x0102030405060708ULL);
	assert_memory_equal(&n, "STMQ\x01\x00\x64\x00\x18\x00\x00\x00"
	    "\x00\x00\x00\x00\x08\x07\x06\x05\x04\x03\x02\x01", sizeof(n));
	/* Any alignment. */
	assert_int_equal(ipc_note_encode(buf + 1, sizeof(n), 7), sizeof(n));
	assert_int_equal(ipc_msg_check(buf + 1, sizeof(n), &why),
	    IPC_NOTE_PUBLISHED);
	assert_int_equal(ipc_msg_generation(buf + 1), 7);
	/* Too small a buffer: nothing written. */
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(ipc_note_encode(buf, sizeof(n) - 1, 7), 0);
	assert_int_equal(buf[0], 0xaa);
}

/* Ping and pong are checked by the same rules. */
static void
t_other_types(void **state)
{
	struct ipc_rep_pong	 pong;
	struct ipc_hdr		 ping;
	const char		*why;

	(void)state;
	memset(&ping, 0, sizeof(ping));
	ping.magic = IPC_MAGIC;
	ping.version = IPC_VERSION;
	ping.type = IPC_REQ_PING;
	ping.length = sizeof(ping);
	assert_int_equal(check_exact(&ping, sizeof(ping), &why), IPC_REQ_PING);

	memset(&pong, 0, sizeof(pong));
	pong.hdr = ping;
	pong.hdr.type = IPC_REP_PONG;
	pong.hdr.length = sizeof(pong);
	pong.generation = 99;
	assert_int_equal(check_exact(&pong, sizeof(pong), &why),
	    IPC_REP_PONG);
	assert_int_equal(ipc_msg_generation(&pong), 99);

	/* A ping with a body, a pong without one. */
	pong.hdr.type = IPC_REQ_PING;
	expect_bad(&pong, sizeof(pong), "wrong size for its type");
	ping.type = IPC_REP_PONG;
	expect_bad(&ping, sizeof(ping), "wrong size for its type");
	ping.type = IPC_NOTE_PUBLISHED;
	expect_bad(&ping, sizeof(ping), "wrong size for its type");
}

static void
t_bad_fields(void **state)
{
	struct ipc_note_published	 n;
	uint16_t			 types[] = { 0, 1, 99, 101, 199, 201,
					    299, 301, 0xffff };
	size_t				 i;

	(void)state;
	n = good_note(1);
	n.hdr.magic ^= 1;
	expect_bad(&n, sizeof(n), "bad magic");
	n = good_note(1);
	n.hdr.magic = 0x53544d51;	/* the other byte order */
	expect_bad(&n, sizeof(n), "bad magic");

	n = good_note(1);
	n.hdr.version = 2;
	expect_bad(&n, sizeof(n), "version 2, expected 1");
	n.hdr.version = 0;
	expect_bad(&n, sizeof(n), "version 0, expected 1");
	n.hdr.version = 0xffff;
	expect_bad(&n, sizeof(n), "version 65535, expected 1");

	n = good_note(1);
	n.hdr.reserved = 1;
	expect_bad(&n, sizeof(n), "reserved field not zero");
	n.hdr.reserved = 0x80000000u;
	expect_bad(&n, sizeof(n), "reserved field not zero");

	n = good_note(1);
	n.hdr.length = sizeof(n) - 1;
	expect_bad(&n, sizeof(n), "length field differs");
	n.hdr.length = sizeof(n) + 1;
	expect_bad(&n, sizeof(n), "length field differs");
	n.hdr.length = 0;
	expect_bad(&n, sizeof(n), "length field differs");
	n.hdr.length = UINT32_MAX;
	expect_bad(&n, sizeof(n), "length field differs");

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		n = good_note(1);
		n.hdr.type = types[i];
		expect_bad(&n, sizeof(n), "unknown type");
	}
}

static void
t_truncated(void **state)
{
	struct ipc_note_published	 n = good_note(5);
	size_t				 k;

	(void)state;
	expect_bad(&n, 0, "too short");
	for (k = 1; k < sizeof(struct ipc_hdr); k++)
		expect_bad(&n, k, "too short");
	/* A whole header claiming 24 bytes, in fewer. */
	for (k = sizeof(struct ipc_hdr); k < sizeof(n); k++)
		expect_bad(&n, k, "length field differs");
	/* Truncated and relabelled: the size is still wrong for a note. */
	n.hdr.length = sizeof(struct ipc_hdr);
	expect_bad(&n, sizeof(struct ipc_hdr), "wrong size for its type");
}

static void
t_oversized(void **state)
{
	struct ipc_note_published	 n = good_note(5);
	struct ipc_hdr			 h;
	uint8_t				*b;

	(void)state;
	assert_non_null(b = calloc(1, IPC_MAX_MSG + 1));
	memcpy(b, &n, sizeof(n));
	memcpy(&h, b, sizeof(h));
	h.length = IPC_MAX_MSG + 1;
	memcpy(b, &h, sizeof(h));
	expect_bad(b, IPC_MAX_MSG + 1, "too long");
	/* At the limit it is the type's size that refuses it. */
	h.length = IPC_MAX_MSG;
	memcpy(b, &h, sizeof(h));
	expect_bad(b, IPC_MAX_MSG, "wrong size for its type");
	/* A note with trailing bytes. */
	h.length = sizeof(n) + 8;
	memcpy(b, &h, sizeof(h));
	expect_bad(b, sizeof(n) + 8, "wrong size for its type");
	free(b);
}

/* --- pub/sub over ipc:// ------------------------------------------------- */

static void
t_pubsub(void **state)
{
	struct notify_pub	*p;
	struct notify_sub	*s;
	struct stat		 st;
	uint64_t		 g;

	(void)state;
	assert_non_null(p = notify_pub_open(tmpdir));
	assert_int_equal(lstat(sock_path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0660);
	assert_non_null(s = notify_sub_open(tmpdir));
	assert_true(notify_sub_fd(s) >= 0);
	assert_int_equal(notify_sub_recv(s, &g), 0);
	assert_int_equal(deliver(p, NULL, s, 42), 0);
	assert_int_equal(deliver(p, NULL, s, 43), 0);
	notify_sub_close(s);
	notify_pub_close(p);
	/* The publisher removes its socket file. */
	assert_int_equal(lstat(sock_path, &st), -1);
	assert_int_equal(errno, ENOENT);
}

/* The broker may start first: nng keeps redialling until fetcherd is up. */
static void
t_sub_first(void **state)
{
	struct notify_pub	*p;
	struct notify_sub	*s;
	uint64_t		 g;

	(void)state;
	assert_non_null(s = notify_sub_open(tmpdir));
	assert_int_equal(notify_sub_recv(s, &g), 0);
	usleep(200 * 1000);	/* a few failed dials */
	assert_non_null(p = notify_pub_open(tmpdir));
	assert_int_equal(deliver(p, NULL, s, 42), 0);

	/* fetcherd restarts: the subscriber reconnects by itself. */
	notify_pub_close(p);
	assert_non_null(p = notify_pub_open(tmpdir));
	assert_int_equal(deliver(p, NULL, s, 44), 0);
	notify_pub_close(p);
	notify_sub_close(s);
}

/* Whatever a PUB socket sends, only checked notes come out. */
static void
t_garbage(void **state)
{
	struct ipc_note_published	 n;
	struct notify_sub		*s;
	nng_socket			 r;
	uint64_t			 g;
	uint8_t				*big;
	char				*logged;
	int				 saved;

	(void)state;
	r = raw_pub();
	assert_non_null(s = notify_sub_open(tmpdir));
	assert_int_equal(deliver(NULL, &r, s, 1), 0);

	/* Connected now: pipes keep order, so these arrive in turn. */
	raw_send(r, "hello", 5);
	n = good_note(2);
	n.hdr.version = 2;
	raw_send(r, &n, sizeof(n));
	raw_send(r, "", 0);
	n = good_note(3);
	n.hdr.type = IPC_REP_PONG;	/* well formed, but not a note */
	raw_send(r, &n, sizeof(n));
	stderr_to_log(&saved);
	assert_int_equal(deliver(NULL, &r, s, 4), 4);
	logged = stderr_back(saved);
	if (strstr(logged, "dropped a message of 5 bytes: too short") ==
	    NULL || strstr(logged, "version 2, expected 1") == NULL ||
	    strstr(logged, "type 300") == NULL)
		fail_msg("log: %s", logged);
	free(logged);
	assert_int_equal(notify_sub_recv(s, &g), 0);

	/* Over IPC_MAX_MSG: nng drops it (and the pipe), never hands it on. */
	assert_non_null(big = calloc(1, IPC_MAX_MSG + 1));
	raw_send(r, big, IPC_MAX_MSG + 1);
	free(big);
	stderr_to_log(&saved);
	assert_int_equal(deliver(NULL, &r, s, 5), 0);
	logged = stderr_back(saved);
	assert_null(strstr(logged, "dropped"));
	free(logged);

	notify_sub_close(s);
	nng_close(r);
	unlink(sock_path);
}

/* --- socket files -------------------------------------------------------- */

/* A socket file left by a process that died is replaced. */
static void
t_stale_socket(void **state)
{
	struct sockaddr_un	 sun;
	struct notify_pub	*p;
	struct notify_sub	*s;
	int			 fd;

	(void)state;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_true(strlen(sock_path) < sizeof(sun.sun_path));
	memcpy(sun.sun_path, sock_path, strlen(sock_path));
	assert_true((fd = socket(AF_UNIX, SOCK_STREAM, 0)) != -1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	assert_int_equal(access(sock_path, F_OK), 0);

	assert_non_null(p = notify_pub_open(tmpdir));
	assert_non_null(s = notify_sub_open(tmpdir));
	assert_int_equal(deliver(p, NULL, s, 42), 0);
	notify_sub_close(s);
	notify_pub_close(p);
}

/* A live endpoint is not stolen; a file that is not a socket is kept. */
static void
t_socket_in_use(void **state)
{
	struct notify_pub	*p, *q;
	char			*logged;
	int			 saved, fd;

	(void)state;
	assert_non_null(p = notify_pub_open(tmpdir));
	stderr_to_log(&saved);
	q = notify_pub_open(tmpdir);
	logged = stderr_back(saved);
	assert_null(q);
	assert_non_null(strstr(logged, "in use by another process"));
	free(logged);
	assert_int_equal(access(sock_path, F_OK), 0);
	notify_pub_close(p);

	assert_true((fd = open(sock_path, O_WRONLY | O_CREAT, 0644)) != -1);
	close(fd);
	stderr_to_log(&saved);
	q = notify_pub_open(tmpdir);
	logged = stderr_back(saved);
	assert_null(q);
	assert_non_null(strstr(logged, "exists and is not a socket"));
	free(logged);
	assert_int_equal(access(sock_path, F_OK), 0);
	unlink(sock_path);
}

static void
t_bad_dir(void **state)
{
	char	 dir[300], *logged;
	int	 saved;

	(void)state;
	stderr_to_log(&saved);
	assert_null(notify_pub_open("/nonexistent/staplemq"));
	memset(dir, 'a', sizeof(dir) - 1);
	dir[0] = '/';
	dir[sizeof(dir) - 1] = '\0';
	assert_null(notify_pub_open(dir));
	assert_null(notify_sub_open(dir));
	assert_null(notify_rep_open(dir));
	logged = stderr_back(saved);
	assert_non_null(strstr(logged, "path too long"));
	free(logged);
	notify_pub_close(NULL);
	notify_sub_close(NULL);
	notify_rep_close(NULL);
}

/* --- ping ---------------------------------------------------------------- */

struct responder {
	struct notify_rep	*rep;
	atomic_int		 stop;
	atomic_int		 answered;
};

/* fetcherd's side: its event loop, reduced to poll(). */
static void *
responder_run(void *arg)
{
	struct responder	*r = arg;
	struct pollfd		 pfd;

	pfd.fd = notify_rep_fd(r->rep);
	pfd.events = POLLIN;
	while (!atomic_load(&r->stop)) {
		if (poll(&pfd, 1, STEP_MS) == 1)
			atomic_fetch_add(&r->answered,
			    notify_rep_poll(r->rep, 77));
	}
	return NULL;
}

/* A request over the raw REQ socket; 1 if a reply came within ms. */
static int
raw_request(const void *msg, size_t len, int ms)
{
	nng_socket	 s;
	void		*buf = NULL;
	size_t		 sz = 0;
	int		 rv;

	assert_int_equal(nng_req0_open(&s), 0);
	assert_int_equal(nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, ms), 0);
	assert_int_equal(nng_dial(s, req_url, NULL, 0), 0);
	assert_int_equal(nng_send(s, (void *)(uintptr_t)msg, len, 0), 0);
	rv = nng_recv(s, &buf, &sz, NNG_FLAG_ALLOC);
	if (rv == 0)
		nng_free(buf, sz);
	else
		assert_int_equal(rv, NNG_ETIMEDOUT);
	nng_close(s);
	return rv == 0;
}

static void
t_ping(void **state)
{
	struct responder	 r;
	struct stat		 st;
	pthread_t		 th;
	uint64_t		 g = 0;
	char			*logged;
	int			 saved;

	(void)state;
	/* Nobody listening: a bounded wait, then -1. */
	stderr_to_log(&saved);
	assert_int_equal(notify_ping(tmpdir, 200, &g), -1);
	logged = stderr_back(saved);
	assert_non_null(strstr(logged, req_url));
	free(logged);

	memset(&r, 0, sizeof(r));
	assert_non_null(r.rep = notify_rep_open(tmpdir));
	assert_int_equal(lstat(req_path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0660);
	assert_int_equal(notify_rep_poll(r.rep, 1), 0);
	assert_int_equal(pthread_create(&th, NULL, responder_run, &r), 0);

	assert_int_equal(notify_ping(tmpdir, WAIT_MS, &g), 0);
	assert_int_equal(g, 77);

	/* A bad request gets no answer; the next good one does. */
	stderr_to_log(&saved);
	assert_int_equal(raw_request("junk", 4, 300), 0);
	assert_int_equal(notify_ping(tmpdir, WAIT_MS, &g), 0);
	logged = stderr_back(saved);
	assert_non_null(strstr(logged, "too short"));
	free(logged);

	atomic_store(&r.stop, 1);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(atomic_load(&r.answered), 2);
	notify_rep_close(r.rep);
	assert_int_equal(access(req_path, F_OK), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_round_trip),
		cmocka_unit_test(t_other_types),
		cmocka_unit_test(t_bad_fields),
		cmocka_unit_test(t_truncated),
		cmocka_unit_test(t_oversized),
		cmocka_unit_test(t_pubsub),
		cmocka_unit_test(t_sub_first),
		cmocka_unit_test(t_garbage),
		cmocka_unit_test(t_stale_socket),
		cmocka_unit_test(t_socket_in_use),
		cmocka_unit_test(t_bad_dir),
		cmocka_unit_test(t_ping),
	};

	log_init("t_notify", LOG_LVL_INFO, false);
	return cmocka_run_group_tests(tests, setup, teardown);
}
