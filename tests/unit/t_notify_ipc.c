/*
 * t_notify_ipc.c: the IPC messages over real nng sockets in a temporary
 * directory: a note published by notify_pub reaches notify_sub, whichever
 * starts first; garbage from a raw PUB socket is dropped; stale and
 * foreign socket files; the ping request; fetch requests from notify_req
 * answered by notify_rep_poll's handler, one at a time, across a restart
 * of fetcherd, and bad requests and bad replies in both directions.  The
 * encoding and checking of the messages are t_notify's.
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
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "notify.h"
#include "notify_testutil.h"
#include "testutil.h"

#define WAIT_MS		5000
#define STEP_MS		10

static char	 tmpdir[] = "/tmp/t_notify_ipc.XXXXXX";
static char	 sock_path[PATH_MAX];	/* tmpdir/IPC_NOTIFY_SOCK */
static char	 req_path[PATH_MAX];	/* tmpdir/IPC_REQUEST_SOCK */
static char	 notify_url[PATH_MAX + 8];
static char	 req_url[PATH_MAX + 8];

/* --- helpers ------------------------------------------------------------- */

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
			/* Repeats of an earlier one may still be on the way. */
			if (got < gen)
				continue;
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

/* --- set-up -------------------------------------------------------------- */

static int
setup(void **state)
{
	(void)state;
	pki_make();
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(sock_path, sizeof(sock_path), "%s/%s", tmpdir,
	    IPC_NOTIFY_SOCK);
	snprintf(req_path, sizeof(req_path), "%s/%s", tmpdir,
	    IPC_REQUEST_SOCK);
	snprintf(notify_url, sizeof(notify_url), "ipc://%s", sock_path);
	snprintf(req_url, sizeof(req_url), "ipc://%s", req_path);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	pki_free();
	unlink(sock_path);
	unlink(req_path);
	if (rmdir(tmpdir) == -1) {
		fprintf(stderr, "rmdir %s: %s\n", tmpdir, strerror(errno));
		return -1;
	}
	return 0;
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
	int				 saved, rc;

	(void)state;
	r = raw_pub();
	assert_non_null(s = notify_sub_open(tmpdir));
	assert_int_equal(deliver(NULL, &r, s, 1), 0);

	/* Connected now: pipes keep order, so these arrive in turn. */
	raw_send(r, "hello", 5);
	n = good_note(2);
	n.hdr.version = 3;
	raw_send(r, &n, sizeof(n));
	raw_send(r, "", 0);
	n = good_note(3);
	n.hdr.type = IPC_REP_PONG;	/* well formed, but not a note */
	raw_send(r, &n, sizeof(n));
	stderr_to_log(&saved);
	assert_int_equal(deliver(NULL, &r, s, 4), 4);
	logged = stderr_back(saved);
	if (strstr(logged, "dropped a message of 5 bytes: too short") ==
	    NULL || strstr(logged, "version 3, expected 2") == NULL ||
	    strstr(logged, "type 300") == NULL)
		fail_msg("log: %s", logged);
	free(logged);
	/* Nothing but late repeats of the last good note. */
	while ((rc = notify_sub_recv(s, &g)) == 1)
		assert_int_equal(g, 4);
	assert_int_equal(rc, 0);

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
	assert_null(notify_req_open(dir));
	logged = stderr_back(saved);
	assert_non_null(strstr(logged, "path too long"));
	free(logged);
	notify_pub_close(NULL);
	notify_sub_close(NULL);
	notify_rep_close(NULL);
	notify_req_close(NULL);
}

/* --- ping ---------------------------------------------------------------- */

struct responder {
	struct notify_rep	*rep;
	atomic_int		 stop;
	atomic_int		 answered;
	uint32_t		(*handler)(void *, int, const void *, size_t);
	void			*arg;
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
			    notify_rep_poll(r->rep, 77, r->handler, r->arg));
	}
	return NULL;
}

/* A request over a raw REQ socket; 1 if a reply came within ms. */
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
	assert_int_equal(notify_rep_poll(r.rep, 1, NULL, NULL), 0);
	assert_int_equal(pthread_create(&th, NULL, responder_run, &r), 0);

	assert_int_equal(notify_ping(tmpdir, WAIT_MS, &g), 0);
	assert_int_equal(g, 77);

	/* A bad request is answered too (IPC_ST_MALFORMED), and logged. */
	stderr_to_log(&saved);
	assert_int_equal(raw_request("junk", 4, WAIT_MS), 1);
	assert_int_equal(notify_ping(tmpdir, WAIT_MS, &g), 0);
	logged = stderr_back(saved);
	assert_non_null(strstr(logged, "too short"));
	free(logged);

	atomic_store(&r.stop, 1);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(atomic_load(&r.answered), 3);
	notify_rep_close(r.rep);
	assert_int_equal(access(req_path, F_OK), -1);
}

/* --- fetch requests over ipc:// ------------------------------------------ */

/* What fetcherd's handler saw, and what it answers. */
struct fetch_seen {
	atomic_int	 calls;
	atomic_int	 answer;	/* enum ipc_status, or not one */
	int		 type;
	char		 url[IPC_MAX_URL + 1];
	int		 ncerts;
	char		 leaf_cn[64];
};

static uint32_t
fetch_handler(void *arg, int type, const void *msg, size_t len)
{
	struct fetch_seen	*seen = arg;
	STACK_OF(X509)		*chain;
	const char		*url;
	size_t			 ulen;

	if (ipc_req_fetch_decode(msg, len, &url, &ulen, &chain) == -1)
		return IPC_ST_MALFORMED;
	seen->type = type;
	memcpy(seen->url, url != NULL ? url : "", ulen);
	seen->url[ulen] = '\0';
	seen->ncerts = sk_X509_num(chain);
	cn_of(sk_X509_value(chain, 0), seen->leaf_cn, sizeof(seen->leaf_cn));
	sk_X509_pop_free(chain, X509_free);
	atomic_fetch_add(&seen->calls, 1);
	return (uint32_t)atomic_load(&seen->answer);
}

static void
start_responder(struct responder *r, pthread_t *th, struct fetch_seen *seen)
{
	atomic_store(&r->stop, 0);
	r->handler = seen != NULL ? fetch_handler : NULL;
	r->arg = seen;
	assert_int_equal(pthread_create(th, NULL, responder_run, r), 0);
}

static void
stop_responder(struct responder *r, pthread_t th)
{
	atomic_store(&r->stop, 1);
	assert_int_equal(pthread_join(th, NULL), 0);
}

/* Wait for the reply as the broker's loop would: 1 or -1, and status. */
static int
wait_reply(struct notify_req *q, uint32_t *status)
{
	struct pollfd	 pfd;
	struct timespec	 t0;
	int		 rc;

	pfd.fd = notify_req_fd(q);
	pfd.events = POLLIN;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (elapsed_ms(&t0) < WAIT_MS) {
		if (poll(&pfd, 1, STEP_MS) != 1)
			continue;
		if ((rc = notify_req_recv(q, status)) != 0)
			return rc;
	}
	fail_msg("no reply in %d ms", WAIT_MS);
	return 0;
}

static void
send_ok(struct notify_req *q, const void *msg, size_t len)
{
	assert_int_equal(notify_req_send(q, msg, len), 0);
}

/*
 * The broker starts first: its request waits in nng until fetcherd
 * listens.  Then requests one at a time, a second one refused (1) while
 * the first awaits its reply, and every status comes back.
 */
static void
t_reqrep(void **state)
{
	struct fetch_seen	 seen;
	struct responder	 r;
	struct notify_req	*q;
	pthread_t		 th;
	uint8_t			 ocsp[IPC_MAX_MSG], *crl;
	uint64_t		 g;
	uint32_t		 st;
	size_t			 crl_len, ocsp_len;
	char			*logged;
	int			 saved;

	(void)state;
	memset(&seen, 0, sizeof(seen));
	memset(&r, 0, sizeof(r));
	crl = crl_request(&crl_len);
	assert_true((ocsp_len = ipc_req_fetch_encode(ocsp, sizeof(ocsp),
	    IPC_REQ_OCSP, NULL, leaf, rest)) > 0);

	assert_non_null(q = notify_req_open(tmpdir));
	assert_true(notify_req_fd(q) >= 0);
	assert_int_equal(notify_req_recv(q, &st), 0);	/* nothing sent */
	send_ok(q, crl, crl_len);			/* nobody there yet */
	assert_int_equal(notify_req_send(q, ocsp, ocsp_len), 1);
	assert_int_equal(notify_req_recv(q, &st), 0);
	usleep(200 * 1000);

	atomic_store(&seen.answer, IPC_ST_ACCEPTED);
	assert_non_null(r.rep = notify_rep_open(tmpdir));
	start_responder(&r, &th, &seen);
	assert_int_equal(wait_reply(q, &st), 1);
	assert_int_equal(st, IPC_ST_ACCEPTED);
	assert_int_equal(seen.type, IPC_REQ_CRL);
	assert_string_equal(seen.url, CRL_URL);
	assert_int_equal(seen.ncerts, 3);
	assert_string_equal(seen.leaf_cn, "client-1");

	/* Connected now: the next request goes out at once. */
	atomic_store(&seen.answer, IPC_ST_RATE_LIMITED);
	send_ok(q, ocsp, ocsp_len);
	assert_int_equal(wait_reply(q, &st), 1);
	assert_int_equal(st, IPC_ST_RATE_LIMITED);
	assert_int_equal(seen.type, IPC_REQ_OCSP);
	assert_string_equal(seen.url, "");

	/* fetcherd busy elsewhere: the second request must wait. */
	stop_responder(&r, th);
	atomic_store(&seen.answer, IPC_ST_REFUSED);
	send_ok(q, crl, crl_len);
	assert_int_equal(notify_req_send(q, ocsp, ocsp_len), 1);
	usleep(100 * 1000);
	assert_int_equal(notify_req_recv(q, &st), 0);
	assert_int_equal(notify_req_send(q, ocsp, ocsp_len), 1);
	start_responder(&r, &th, &seen);
	assert_int_equal(wait_reply(q, &st), 1);
	assert_int_equal(st, IPC_ST_REFUSED);
	assert_int_equal(seen.type, IPC_REQ_CRL);
	send_ok(q, ocsp, ocsp_len);			/* the queued one */
	assert_int_equal(wait_reply(q, &st), 1);
	assert_int_equal(seen.type, IPC_REQ_OCSP);

	/* Pings are still answered on the same endpoint. */
	assert_int_equal(notify_ping(tmpdir, WAIT_MS, &g), 0);
	assert_int_equal(g, 77);

	/* A handler that answers something that is no status: refused. */
	atomic_store(&seen.answer, 99);
	stderr_to_log(&saved);
	send_ok(q, crl, crl_len);
	assert_int_equal(wait_reply(q, &st), 1);
	logged = stderr_back(saved);
	assert_int_equal(st, IPC_ST_REFUSED);
	assert_non_null(strstr(logged, "handler answered 99"));
	free(logged);

	stop_responder(&r, th);
	notify_req_close(q);
	notify_rep_close(r.rep);
	free(crl);
}

/* A request over a raw REQ socket: the reply's status, or -1 for none. */
static int
raw_status(const void *msg, size_t len)
{
	nng_socket	 s;
	const char	*why;
	void		*buf = NULL;
	size_t		 sz = 0;
	int		 rv, st = -1;

	assert_int_equal(nng_req0_open(&s), 0);
	assert_int_equal(nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, WAIT_MS), 0);
	assert_int_equal(nng_dial(s, req_url, NULL, 0), 0);
	assert_int_equal(nng_send(s, (void *)(uintptr_t)msg, len, 0), 0);
	if ((rv = nng_recv(s, &buf, &sz, NNG_FLAG_ALLOC)) == 0) {
		if (ipc_msg_check(buf, sz, &why) == IPC_REP_STATUS)
			st = (int)ipc_msg_status(buf);
		nng_free(buf, sz);
	}
	nng_close(s);
	return st;
}

/*
 * Whatever arrives, fetcherd answers, and only checked requests reach the
 * handler.
 */
static void
t_rep_malformed(void **state)
{
	struct ipc_note_published	 note = good_note(1);
	struct fetch_seen		 seen;
	struct responder		 r;
	pthread_t			 th;
	uint8_t				 buf[IPC_MAX_MSG], *crl;
	size_t				 len;
	char				*logged;
	int				 saved;

	(void)state;
	memset(&seen, 0, sizeof(seen));
	memset(&r, 0, sizeof(r));
	atomic_store(&seen.answer, IPC_ST_ACCEPTED);
	assert_non_null(r.rep = notify_rep_open(tmpdir));
	start_responder(&r, &th, &seen);
	crl = crl_request(&len);

	stderr_to_log(&saved);
	assert_int_equal(raw_status("junk", 4), IPC_ST_MALFORMED);
	assert_int_equal(raw_status(&note, sizeof(note)), IPC_ST_MALFORMED);
	memcpy(buf, crl, len);
	buf[len - 1] ^= 0xff;			/* still well formed */
	buf[sizeof(struct ipc_req_fetch)] = ' ';	/* a space in the URL */
	assert_int_equal(raw_status(buf, len), IPC_ST_MALFORMED);
	len = build_fetch(buf, IPC_REQ_OCSP, "", 0, (const uint8_t *)"", 0);
	assert_int_equal(raw_status(buf, len), IPC_ST_MALFORMED);
	logged = stderr_back(saved);
	if (strstr(logged, "malformed request of 4 bytes: too short") ==
	    NULL || strstr(logged, "type 100 is not a request") == NULL ||
	    strstr(logged, "not printable") == NULL ||
	    strstr(logged, "no certificate") == NULL)
		fail_msg("log: %s", logged);
	free(logged);
	assert_int_equal(atomic_load(&seen.calls), 0);

	/*
	 * A checked request whose certificate does not parse: the handler
	 * decides (this one says MALFORMED).
	 */
	len = build_fetch(buf, IPC_REQ_OCSP, "", 0,
	    (const uint8_t *)"\x01\x00\x00\x00\x30", 5);
	assert_int_equal(raw_status(buf, len), IPC_ST_MALFORMED);
	free(crl);
	crl = crl_request(&len);
	assert_int_equal(raw_status(crl, len), IPC_ST_ACCEPTED);
	assert_int_equal(atomic_load(&seen.calls), 1);
	stop_responder(&r, th);

	/* Without a handler, fetch requests are refused. */
	start_responder(&r, &th, NULL);
	assert_int_equal(raw_status(crl, len), IPC_ST_REFUSED);
	stop_responder(&r, th);
	notify_rep_close(r.rep);
	free(crl);
}

/*
 * A request that fetcherd took but did not answer is sent again: every
 * NOTIFY_REQ_RESEND_MS while the connection stays up, and at once on the
 * new connection when fetcherd died and a new one listens.
 */
static void
t_req_resend(void **state)
{
	struct fetch_seen	 seen;
	struct responder	 r;
	struct notify_req	*q;
	struct timespec		 t0;
	nng_socket		 raw;
	pthread_t		 th;
	uint8_t			*crl;
	void			*buf = NULL;
	uint32_t		 st;
	size_t			 len, sz = 0;
	double			 ms;

	(void)state;
	memset(&seen, 0, sizeof(seen));
	memset(&r, 0, sizeof(r));
	crl = crl_request(&len);
	assert_int_equal(nng_rep0_open(&raw), 0);
	assert_int_equal(nng_socket_set_ms(raw, NNG_OPT_RECVTIMEO, WAIT_MS),
	    0);
	assert_int_equal(nng_listen(raw, req_url, NULL, 0), 0);
	assert_non_null(q = notify_req_open(tmpdir));
	send_ok(q, crl, len);
	assert_int_equal(nng_recv(raw, &buf, &sz, NNG_FLAG_ALLOC), 0);
	assert_int_equal(sz, len);
	assert_memory_equal(buf, crl, len);
	nng_free(buf, sz);
	/* Not answered, still connected: here it is again. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(nng_recv(raw, &buf, &sz, NNG_FLAG_ALLOC), 0);
	ms = (double)elapsed_ms(&t0);
	assert_memory_equal(buf, crl, len);
	nng_free(buf, sz);
	if (ms < NOTIFY_REQ_RESEND_MS * 0.8 || ms > NOTIFY_REQ_RESEND_MS * 2)
		fail_msg("resent after %.0f ms, expected about %d", ms,
		    NOTIFY_REQ_RESEND_MS);
	assert_int_equal(notify_req_recv(q, &st), 0);

	/* Now fetcherd dies without a word; a new one answers. */
	nng_close(raw);
	unlink(req_path);
	atomic_store(&seen.answer, IPC_ST_ACCEPTED);
	assert_non_null(r.rep = notify_rep_open(tmpdir));
	start_responder(&r, &th, &seen);
	assert_int_equal(notify_req_send(q, crl, len), 1);
	assert_int_equal(wait_reply(q, &st), 1);
	assert_int_equal(st, IPC_ST_ACCEPTED);
	assert_int_equal(atomic_load(&seen.calls), 1);
	assert_string_equal(seen.url, CRL_URL);
	stop_responder(&r, th);
	notify_req_close(q);
	notify_rep_close(r.rep);
	free(crl);
}

/*
 * A request still waiting for fetcherd is dropped at close (ASan: no leak
 * of the message nng holds).
 */
static void
t_req_close_pending(void **state)
{
	struct notify_req	*q;
	uint8_t			*crl;
	uint32_t		 st;
	size_t			 len;

	(void)state;
	crl = crl_request(&len);
	assert_non_null(q = notify_req_open(tmpdir));
	send_ok(q, crl, len);
	assert_int_equal(notify_req_send(q, crl, len), 1);
	usleep(50 * 1000);
	assert_int_equal(notify_req_recv(q, &st), 0);
	notify_req_close(q);
	free(crl);
}

/* Replies that are not a status are dropped, and end the request. */
static void
t_req_bad_reply(void **state)
{
	struct ipc_rep_status	 bad;
	struct ipc_rep_pong	 pong;
	struct notify_req	*q;
	nng_socket		 raw;
	uint8_t			*crl;
	void			*buf = NULL;
	uint32_t		 st;
	size_t			 len, sz = 0;
	char			*logged;
	int			 saved, k;

	(void)state;
	crl = crl_request(&len);
	assert_int_equal(nng_rep0_open(&raw), 0);
	assert_int_equal(nng_socket_set_ms(raw, NNG_OPT_RECVTIMEO, WAIT_MS),
	    0);
	assert_int_equal(nng_listen(raw, req_url, NULL, 0), 0);
	assert_non_null(q = notify_req_open(tmpdir));
	memset(&pong, 0, sizeof(pong));
	pong.hdr.magic = IPC_MAGIC;
	pong.hdr.version = IPC_VERSION;
	pong.hdr.type = IPC_REP_PONG;
	pong.hdr.length = sizeof(pong);
	ipc_rep_status_encode(&bad, sizeof(bad), IPC_ST_ACCEPTED);
	bad.status = 7;

	stderr_to_log(&saved);
	for (k = 0; k < 4; k++) {
		send_ok(q, crl, len);
		assert_int_equal(nng_recv(raw, &buf, &sz, NNG_FLAG_ALLOC), 0);
		nng_free(buf, sz);
		if (k == 0)
			raw_send(raw, "junk", 4);
		else if (k == 1)
			raw_send(raw, &pong, sizeof(pong));
		else if (k == 2)
			raw_send(raw, &bad, sizeof(bad));
		else {
			ipc_rep_status_encode(&bad, sizeof(bad),
			    IPC_ST_ACCEPTED);
			raw_send(raw, &bad, sizeof(bad));
		}
		/* -1 for the three bad ones; the request is over anyway. */
		assert_int_equal(wait_reply(q, &st), k < 3 ? -1 : 1);
	}
	logged = stderr_back(saved);
	if (strstr(logged, "dropped a reply of 4 bytes: too short") == NULL ||
	    strstr(logged, "type 300, expected 301") == NULL ||
	    strstr(logged, "unknown status") == NULL)
		fail_msg("log: %s", logged);
	free(logged);
	assert_int_equal(st, IPC_ST_ACCEPTED);
	notify_req_close(q);
	nng_close(raw);
	unlink(req_path);
	free(crl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_pubsub),
		cmocka_unit_test(t_sub_first),
		cmocka_unit_test(t_garbage),
		cmocka_unit_test(t_stale_socket),
		cmocka_unit_test(t_socket_in_use),
		cmocka_unit_test(t_bad_dir),
		cmocka_unit_test(t_ping),
		cmocka_unit_test(t_reqrep),
		cmocka_unit_test(t_rep_malformed),
		cmocka_unit_test(t_req_resend),
		cmocka_unit_test(t_req_bad_reply),
		cmocka_unit_test(t_req_close_pending),
	};

	log_init("t_notify_ipc", LOG_LVL_INFO, false);
	return cmocka_run_group_tests(tests, setup, teardown);
}
