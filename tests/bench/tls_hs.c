/*
 * tls_hs.c: full TLS handshakes per second against one server, for
 * tests/bench/stapling_bench.sh and tests/bench/crl_mtls_bench.sh.
 *
 * -conc connections at a time, spread over -threads epoll loops with
 * non-blocking sockets; each connection is a TCP connect, a full TLS 1.3
 * (or 1.2) handshake, never resumed (no session cache, no ticket kept),
 * then either a close (the handshake alone) or, with -mqtt, an MQTT 3.1.1
 * CONNECT, the CONNACK (which proves the server finished its side: a
 * TLS 1.3 client is done before the server has seen its certificate),
 * DISCONNECT and a close; then the next connection starts.  The server's
 * certificate is not verified (the client still checks its
 * CertificateVerify signature), as in tests/bench/mqtt_bench.c.
 *
 *	tls_hs -connect HOST:PORT [-time S] [-warmup S] [-conc N]
 *	    [-threads T] [-tls1_2 | -tls1_3] [-status] [-cert FILE -key FILE]
 *	    [-sigalgs LIST] [-groups LIST] [-mqtt] [-first [-wait S]] [-once]
 *	    [-timeout S] [-pid PID[,PID...]] [-ppid PID] [-n COUNT]
 *
 * -status sends status_request in every ClientHello and counts the
 * handshakes whose server sent a staple (an OCSPResponse whose status is
 * "successful"; the first staple of each thread is fully parsed, the
 * others are counted by length, to keep the client's cost flat).
 * -first waits (up to -wait seconds, default 30) until the port accepts a
 * TCP connection, runs one handshake alone at once, and only then starts
 * the load: the "first" fields say whether that very first handshake was
 * stapled and when it connected and finished (CLOCK_REALTIME, ns, for a
 * script that noted when it started the server).  -once stops after it.
 * -pid: the server's processes, whose CPU use over the measured seconds
 * is reported (percent of one core, summed); -ppid PID: that process and
 * its children as they are when the measurement starts (nginx's master
 * and the workers it forked).  -n COUNT starts COUNT connections in all
 * and ends when they are done (or -time is up): a fixed amount of work,
 * for profiling a server (valgrind --tool=callgrind); "total" counts
 * them.
 *
 * Prints one line of "key value" pairs on stdout:
 *	rate ok failed seconds total stapled share first first_connect_ns
 *	first_done_ns server_cpu client_cpu
 * rate/ok/failed count the measured seconds only (after -warmup);
 * total/stapled/share count every handshake from the first one on.
 * Diagnostics go to stderr.  Exit 0 when something was measured, 1 when
 * nothing succeeded (or the first handshake failed), 2 on usage errors.
 * Every run is bounded: an alarm ends one that hangs.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <netdb.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/ssl.h>

#include "bench_client.h"

#define MAX_THREADS	16
#define MAX_CONC	4096
#define MAX_PIDS	32
#define EVENTS		256
#define TICK_MS		50	/* the loops look at deadlines this often */
#define DRAIN_MS	3000	/* finishing what is in flight, at most */

enum phase { P_WARMUP, P_COUNTING, P_STOP };

enum state {
	S_FREE,
	S_CONNECTING,		/* TCP connect in progress */
	S_TLS,			/* handshake */
	S_CONNECT,		/* writing MQTT CONNECT */
	S_CONNACK,		/* reading the CONNACK */
};

struct conn {
	int		 fd;
	SSL		*ssl;
	enum state	 state;
	uint32_t	 events;	/* epoll interest now */
	int64_t		 deadline;	/* ms, CLOCK_MONOTONIC */
	bool		 stapled;
	bool		 parse_staple;	/* parse this one fully */
	uint8_t		 pkt[64];
	size_t		 pktlen;
	uint8_t		 ack[4];
	size_t		 got;
	unsigned long	 n;
	struct worker	*w;
};

struct worker {
	pthread_t	 th;
	unsigned	 id;
	int		 epfd;
	struct conn	*conns;
	int		 nconns;
	unsigned long	 seq;
	bool		 single;	/* one connection, no next one */
	bool		 restart;	/* a connection ended: start another */
	bool		 parsed_one;	/* a staple of this thread was parsed */
	/* measured seconds */
	unsigned long	 ok, failed;
	/* from the first handshake on */
	unsigned long	 total, stapled;
	char		 lasterr[256];
};

static struct sockaddr_storage	 addr;
static socklen_t		 addrlen;
static SSL_CTX			*ctx;
static int			 ex_idx;
static bool			 opt_status, opt_mqtt;
static double			 opt_timeout = 10;
static _Atomic int		 phase = P_WARMUP;
static pid_t			 pids[MAX_PIDS];
static int			 npids;
static pid_t			 ppid;		/* -ppid: and its children */
static unsigned long		 opt_n;		/* -n: connections in all */
static atomic_ulong		 started, finished;

static void
usage(void)
{
	fprintf(stderr, "usage: tls_hs -connect HOST:PORT [-time S] "
	    "[-warmup S] [-conc N] [-threads T]\n"
	    "    [-tls1_2 | -tls1_3] [-status] [-cert FILE -key FILE] "
	    "[-sigalgs LIST] [-groups LIST]\n"
	    "    [-mqtt] [-first [-wait S]] [-once] [-timeout S] "
	    "[-pid PID[,PID...]] [-ppid PID] [-n COUNT]\n");
	exit(2);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long
real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* -ppid: the process and its children, now. */
static void
find_children(void)
{
	char path[300], buf[512], *p;
	struct dirent *de;
	DIR *d;
	FILE *fp;
	int pp;

	if (ppid <= 0 || npids >= MAX_PIDS)
		return;
	pids[npids++] = ppid;
	if ((d = opendir("/proc")) == NULL)
		return;
	while ((de = readdir(d)) != NULL && npids < MAX_PIDS) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		if ((fp = fopen(path, "r")) == NULL)
			continue;
		if (fgets(buf, sizeof(buf), fp) != NULL &&
		    (p = strrchr(buf, ')')) != NULL &&
		    sscanf(p + 2, "%*c %d", &pp) == 1 && pp == (int)ppid)
			pids[npids++] = (pid_t)atoi(de->d_name);
		fclose(fp);
	}
	closedir(d);
}

/* --- TLS ----------------------------------------------------------------- */

/*
 * The staple, if any: counted when the server sent one.  A full parse
 * (status successful, one basic response) on the first of each thread;
 * a staple that does not parse counts as none.
 */
static int
status_cb(SSL *ssl, void *arg)
{
	struct conn *c = SSL_get_ex_data(ssl, ex_idx);
	const unsigned char *p;
	OCSP_RESPONSE *resp;
	OCSP_BASICRESP *basic;
	long len;

	(void)arg;
	if (c == NULL)
		return 1;
	len = SSL_get_tlsext_status_ocsp_resp(ssl, &p);
	if (len <= 0 || p == NULL)
		return 1;	/* none: the handshake goes on */
	if (!c->parse_staple) {
		c->stapled = true;
		return 1;
	}
	if ((resp = d2i_OCSP_RESPONSE(NULL, &p, len)) == NULL) {
		fprintf(stderr, "tls_hs: a staple that does not parse\n");
		return 1;
	}
	if (OCSP_response_status(resp) == OCSP_RESPONSE_STATUS_SUCCESSFUL &&
	    (basic = OCSP_response_get1_basic(resp)) != NULL) {
		c->stapled = OCSP_resp_count(basic) >= 1;
		OCSP_BASICRESP_free(basic);
	} else
		fprintf(stderr, "tls_hs: a staple with status %d\n",
		    OCSP_response_status(resp));
	OCSP_RESPONSE_free(resp);
	return 1;
}

static SSL_CTX *
make_ctx(int version, const char *cert, const char *key,
    const char *sigalgs, const char *groups)
{
	SSL_CTX *c;

	if ((c = SSL_CTX_new(TLS_client_method())) == NULL)
		errx(1, "SSL_CTX_new");
	if (SSL_CTX_set_min_proto_version(c, version) != 1 ||
	    SSL_CTX_set_max_proto_version(c, version) != 1)
		errx(1, "TLS version");
	/* Full handshakes only: nothing is kept to resume. */
	SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
	SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
	if (sigalgs != NULL && SSL_CTX_set1_sigalgs_list(c, sigalgs) != 1)
		errx(1, "-sigalgs %s: not accepted", sigalgs);
	if (groups != NULL && SSL_CTX_set1_groups_list(c, groups) != 1)
		errx(1, "-groups %s: not accepted", groups);
	if (cert != NULL) {
		if (SSL_CTX_use_certificate_chain_file(c, cert) != 1)
			errx(1, "-cert %s: cannot load", cert);
		if (SSL_CTX_use_PrivateKey_file(c, key ? key : cert,
		    SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(c) != 1)
			errx(1, "-key %s: cannot load or does not match",
			    key ? key : cert);
	}
	if (opt_status) {
		SSL_CTX_set_tlsext_status_type(c, TLSEXT_STATUSTYPE_ocsp);
		SSL_CTX_set_tlsext_status_cb(c, status_cb);
	}
	return c;
}

/* --- one connection ---------------------------------------------------- */

static void
set_events(struct conn *c, uint32_t ev)
{
	struct epoll_event e;

	if (c->events == ev)
		return;
	memset(&e, 0, sizeof(e));
	e.events = ev;
	e.data.ptr = c;
	if (epoll_ctl(c->w->epfd, c->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD,
	    c->fd, &e) == -1)
		err(1, "epoll_ctl");
	c->events = ev;
}

static void
conn_free(struct conn *c)
{
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	if (c->fd != -1)
		close(c->fd);	/* also leaves the epoll set */
	c->ssl = NULL;
	c->fd = -1;
	c->events = 0;
	c->state = S_FREE;
	ERR_clear_error();
}

static void conn_start(struct conn *, int);

/*
 * A connection is over: count it; the loop starts the next one (not from
 * here, which may be deep in conn_start() already).
 */
static void
conn_done(struct conn *c, bool ok, const char *why)
{
	struct worker *w = c->w;
	int ph = atomic_load(&phase);

	if (ok && opt_mqtt)
		(void)SSL_write(c->ssl, "\xe0\0", 2);	/* DISCONNECT */
	if (!ok) {
		unsigned long e = ERR_peek_last_error();
		char buf[160] = "";

		if (e != 0)
			ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(w->lasterr, sizeof(w->lasterr), "%s%s%s", why,
		    buf[0] ? ": " : "", buf);
	}
	if (ph != P_STOP) {
		if (ok) {
			w->total++;
			if (c->stapled)
				w->stapled++;
			if (c->parse_staple && c->stapled)
				w->parsed_one = true;
		}
		if (ph == P_COUNTING) {
			if (ok)
				w->ok++;
			else
				w->failed++;
		}
	}
	conn_free(c);
	if (!w->single)
		atomic_fetch_add(&finished, 1);
	if (ph != P_STOP && !w->single)
		w->restart = true;
}

static void
conn_fail(struct conn *c, const char *why)
{
	conn_done(c, false, why);
}

/* Drive SSL after it said "want": wait for the right readiness. */
static bool
ssl_wait(struct conn *c, int rc, const char *what)
{
	switch (SSL_get_error(c->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		set_events(c, EPOLLIN);
		return true;
	case SSL_ERROR_WANT_WRITE:
		set_events(c, EPOLLOUT);
		return true;
	case SSL_ERROR_ZERO_RETURN:
		conn_fail(c, what[0] == 'h' ? "handshake: closed by the server"
		    : "closed by the server before CONNACK");
		return false;
	case SSL_ERROR_SYSCALL:
		conn_fail(c, errno ? strerror(errno) :
		    "connection closed by the server");
		return false;
	default:
		conn_fail(c, what);
		return false;
	}
}

/* Step the connection as far as it goes without blocking. */
static void
conn_step(struct conn *c)
{
	int rc, soerr;
	socklen_t sl = sizeof(soerr);

	switch (c->state) {
	case S_CONNECTING:
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1)
			soerr = errno;
		if (soerr != 0) {
			errno = soerr;
			conn_fail(c, soerr == ECONNREFUSED ?
			    "connection refused" : strerror(soerr));
			return;
		}
		c->state = S_TLS;
		/* FALLTHROUGH */
	case S_TLS:
		if ((rc = SSL_connect(c->ssl)) != 1) {
			ssl_wait(c, rc, "handshake");
			return;
		}
		if (!opt_mqtt) {
			conn_done(c, true, NULL);
			return;
		}
		c->state = S_CONNECT;
		/* FALLTHROUGH */
	case S_CONNECT:
		if ((rc = SSL_write(c->ssl, c->pkt, (int)c->pktlen)) <= 0) {
			ssl_wait(c, rc, "CONNECT");
			return;
		}
		c->state = S_CONNACK;
		c->got = 0;
		/* FALLTHROUGH */
	case S_CONNACK:
		while (c->got < sizeof(c->ack)) {
			rc = SSL_read(c->ssl, c->ack + c->got,
			    (int)(sizeof(c->ack) - c->got));
			if (rc <= 0) {
				ssl_wait(c, rc, "CONNACK");
				return;
			}
			c->got += (size_t)rc;
		}
		if (c->ack[0] != 0x20 || c->ack[1] != 2 || c->ack[3] != 0) {
			conn_fail(c, "CONNACK refused or malformed");
			return;
		}
		conn_done(c, true, NULL);
		return;
	case S_FREE:
		return;
	}
}

/* A new connection; fd >= 0: one connected already (blocking). */
static void
conn_start(struct conn *c, int fd)
{
	struct worker *w = c->w;
	int on = 1;

	if (opt_n > 0 && !w->single &&
	    atomic_fetch_add(&started, 1) >= opt_n) {
		c->state = S_FREE;	/* -n: that was the last one */
		return;
	}
	c->n = w->seq++;
	c->stapled = false;
	c->parse_staple = !w->parsed_one;
	c->deadline = now_ms() + (int64_t)(opt_timeout * 1000);
	c->events = 0;
	if (fd >= 0) {
		c->fd = fd;
		if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1)
			err(1, "fcntl");
	} else if ((c->fd = socket(addr.ss_family, SOCK_STREAM |
	    SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		/* Out of descriptors: count a failure, retry next tick. */
		snprintf(w->lasterr, sizeof(w->lasterr), "socket: %s",
		    strerror(errno));
		if (atomic_load(&phase) == P_COUNTING)
			w->failed++;
		c->state = S_FREE;
		return;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if ((c->ssl = SSL_new(ctx)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1
	    || SSL_set_ex_data(c->ssl, ex_idx, c) != 1)
		errx(1, "SSL_new");
	SSL_set_connect_state(c->ssl);
	if (opt_mqtt)		/* client id hT-N */
		c->pktlen = bench_mqtt_connect(c->pkt, sizeof(c->pkt), 'h',
		    w->id, c->n);
	c->state = S_CONNECTING;
	if (fd >= 0) {
		c->state = S_TLS;
		conn_step(c);
		return;
	}
	if (connect(c->fd, (struct sockaddr *)&addr, addrlen) == -1) {
		if (errno != EINPROGRESS) {
			conn_fail(c, strerror(errno));
			return;
		}
		set_events(c, EPOLLOUT);
		return;
	}
	conn_step(c);
}

/* --- the loops ----------------------------------------------------------- */

static void
worker_expire(struct worker *w)
{
	int64_t t = now_ms();
	int i;

	for (i = 0; i < w->nconns; i++) {
		struct conn *c = &w->conns[i];

		if (c->state == S_FREE && atomic_load(&phase) != P_STOP)
			conn_start(c, -1);	/* socket() failed before */
		else if (c->state != S_FREE && t >= c->deadline)
			conn_fail(c, "timed out");
	}
}

/*
 * After the measurement, connections in flight are finished (not
 * counted, none started) for up to DRAIN_MS rather than cut: a client
 * that closes right after its CONNECT is not what is measured here (and
 * staplemq-broker 0.1.0 crashed on one: client_close() flushed the
 * CONNACK, the write failed and closed the client again, recursively,
 * until the stack overflowed).
 */
static bool
worker_drained(struct worker *w, int64_t *drain_end)
{
	int i;

	if (*drain_end == 0)
		*drain_end = now_ms() + DRAIN_MS;
	if (now_ms() >= *drain_end)
		return true;
	for (i = 0; i < w->nconns; i++)
		if (w->conns[i].state != S_FREE)
			return false;
	return true;
}

static void
worker_loop(struct worker *w, bool until_one)
{
	struct epoll_event ev[EVENTS];
	int64_t next_tick = now_ms() + TICK_MS, drain_end = 0;
	int i, n;

	for (;;) {
		if (!until_one && atomic_load(&phase) == P_STOP &&
		    worker_drained(w, &drain_end))
			break;
		if (until_one && w->conns[0].state == S_FREE)
			break;
		if (w->restart && atomic_load(&phase) != P_STOP) {
			w->restart = false;
			for (i = 0; i < w->nconns; i++)
				if (w->conns[i].state == S_FREE)
					conn_start(&w->conns[i], -1);
		}
		n = epoll_wait(w->epfd, ev, EVENTS, w->restart ? 0 : TICK_MS);
		if (n == -1 && errno != EINTR)
			err(1, "epoll_wait");
		for (i = 0; i < n; i++)
			conn_step(ev[i].data.ptr);
		if (now_ms() >= next_tick) {
			if (until_one) {
				if (now_ms() >= w->conns[0].deadline)
					conn_fail(&w->conns[0], "timed out");
			} else
				worker_expire(w);
			next_tick = now_ms() + TICK_MS;
		}
	}
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	int i;

	for (i = 0; i < w->nconns; i++)
		conn_start(&w->conns[i], -1);
	worker_loop(w, false);
	for (i = 0; i < w->nconns; i++)
		if (w->conns[i].state != S_FREE)
			conn_free(&w->conns[i]);
	return NULL;
}

static void
worker_init(struct worker *w, unsigned id, int nconns)
{
	int i;

	memset(w, 0, sizeof(*w));
	w->id = id;
	w->nconns = nconns;
	if ((w->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		err(1, "epoll_create1");
	if ((w->conns = calloc((size_t)nconns, sizeof(*w->conns))) == NULL)
		err(1, "calloc");
	for (i = 0; i < nconns; i++) {
		w->conns[i].fd = -1;
		w->conns[i].w = w;
	}
}

/*
 * The first handshake: connect (a refused connect is retried every 5 ms)
 * until the port takes the connection, then the handshake on it, alone.
 */
static int
first_handshake(double wait_s, long long *connect_ns, long long *done_ns,
    bool *stapled)
{
	struct worker w;
	double end = bench_now_s() + wait_s;
	int fd;

	for (;;) {
		if ((fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC,
		    0)) == -1)
			err(1, "socket");
		if (connect(fd, (struct sockaddr *)&addr, addrlen) == 0)
			break;
		close(fd);
		if (bench_now_s() >= end) {
			fprintf(stderr, "tls_hs: nothing accepts on the port "
			    "after %.0fs\n", wait_s);
			return -1;
		}
		usleep(5000);
	}
	*connect_ns = real_ns();
	worker_init(&w, 999, 1);
	w.single = true;
	conn_start(&w.conns[0], fd);
	worker_loop(&w, true);
	*done_ns = real_ns();
	*stapled = w.stapled > 0;
	close(w.epfd);
	free(w.conns);
	if (w.total == 0) {
		fprintf(stderr, "tls_hs: the first handshake failed: %s\n",
		    w.lasterr);
		return -1;
	}
	return 0;
}

static void
parse_pids(const char *s)
{
	char *dup, *tok, *save = NULL;

	if ((dup = strdup(s)) == NULL)
		err(1, "strdup");
	for (tok = strtok_r(dup, ",", &save); tok != NULL && npids < MAX_PIDS;
	    tok = strtok_r(NULL, ",", &save))
		if (atoi(tok) > 0)
			pids[npids++] = (pid_t)atoi(tok);
	free(dup);
}

static void
parse_target(const char *s)
{
	struct addrinfo hints, *res;
	char host[256], *colon;
	int rc;

	if (strlen(s) >= sizeof(host))
		usage();
	strcpy(host, s);
	if ((colon = strrchr(host, ':')) == NULL)
		usage();
	*colon = '\0';
	if (host[0] == '[' && colon[-1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, colon + 1, &hints, &res)) != 0)
		errx(2, "-connect %s: %s", s, gai_strerror(rc));
	memcpy(&addr, res->ai_addr, res->ai_addrlen);
	addrlen = res->ai_addrlen;
	freeaddrinfo(res);
}

int
main(int argc, char **argv)
{
	struct worker w[MAX_THREADS];
	const char *cert = NULL, *key = NULL, *sigalgs = NULL, *groups = NULL;
	const char *target = NULL;
	double secs = 3, warm = 1, wait_s = 30, t0, t1, c0, c1;
	unsigned long long k0, k1;
	long long fconn = 0, fdone = 0;
	unsigned long ok = 0, failed = 0, total = 0, stapled = 0;
	int conc = 32, threads = 2, version = TLS1_3_VERSION, i, per;
	bool first = false, once = false, fstapled = false;
	const char *lasterr = "";

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

#define ARG()	do { if (v == NULL) usage(); i++; } while (0)
		if (strcmp(a, "-connect") == 0) {
			ARG();
			target = v;
		} else if (strcmp(a, "-time") == 0) {
			ARG();
			secs = atof(v);
		} else if (strcmp(a, "-warmup") == 0) {
			ARG();
			warm = atof(v);
		} else if (strcmp(a, "-conc") == 0) {
			ARG();
			conc = atoi(v);
		} else if (strcmp(a, "-threads") == 0) {
			ARG();
			threads = atoi(v);
		} else if (strcmp(a, "-tls1_2") == 0) {
			version = TLS1_2_VERSION;
		} else if (strcmp(a, "-tls1_3") == 0) {
			version = TLS1_3_VERSION;
		} else if (strcmp(a, "-status") == 0) {
			opt_status = true;
		} else if (strcmp(a, "-cert") == 0) {
			ARG();
			cert = v;
		} else if (strcmp(a, "-key") == 0) {
			ARG();
			key = v;
		} else if (strcmp(a, "-sigalgs") == 0) {
			ARG();
			sigalgs = v;
		} else if (strcmp(a, "-groups") == 0) {
			ARG();
			groups = v;
		} else if (strcmp(a, "-mqtt") == 0) {
			opt_mqtt = true;
		} else if (strcmp(a, "-first") == 0) {
			first = true;
		} else if (strcmp(a, "-once") == 0) {
			first = once = true;
		} else if (strcmp(a, "-wait") == 0) {
			ARG();
			wait_s = atof(v);
		} else if (strcmp(a, "-timeout") == 0) {
			ARG();
			opt_timeout = atof(v);
		} else if (strcmp(a, "-pid") == 0) {
			ARG();
			parse_pids(v);
		} else if (strcmp(a, "-n") == 0) {
			ARG();
			opt_n = strtoul(v, NULL, 10);
		} else if (strcmp(a, "-ppid") == 0) {
			ARG();
			ppid = (pid_t)atoi(v);
		} else
			usage();
#undef ARG
	}
	if (target == NULL || secs <= 0 || warm < 0 || conc < 1 ||
	    conc > MAX_CONC || threads < 1 || threads > MAX_THREADS ||
	    wait_s <= 0 || opt_timeout <= 0 || (key != NULL && cert == NULL))
		usage();
	if (threads > conc)
		threads = conc;
	parse_target(target);
	signal(SIGPIPE, SIG_IGN);
	/* A run that hangs ends here, whatever it was waiting for. */
	alarm((unsigned)(wait_s + opt_timeout + warm + secs + 30));
	if ((ex_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL)) == -1)
		errx(1, "SSL_get_ex_new_index");
	ctx = make_ctx(version, cert, key, sigalgs, groups);

	if (first) {
		if (first_handshake(wait_s, &fconn, &fdone, &fstapled) == -1)
			return 1;
		total = 1;
		stapled = fstapled;
	}
	if (once) {
		printf("rate 0 ok 0 failed 0 seconds 0 total %lu stapled %lu "
		    "share %.4f first %s first_connect_ns %lld first_done_ns "
		    "%lld server_cpu - client_cpu -\n", total, stapled,
		    (double)stapled / (double)total,
		    !opt_status ? "-" : fstapled ? "yes" : "no", fconn, fdone);
		return 0;
	}

	per = conc / threads;
	for (i = 0; i < threads; i++) {
		worker_init(&w[i], (unsigned)i, per + (i < conc % threads));
		if (pthread_create(&w[i].th, NULL, worker_main, &w[i]) != 0)
			errx(1, "pthread_create");
	}
	bench_sleep_s(warm);
	find_children();
	k0 = bench_proc_ticks(pids, npids);
	c0 = bench_self_cpu_s();
	t0 = bench_now_s();
	atomic_store(&phase, P_COUNTING);
	if (opt_n > 0) {
		/* Until the COUNT connections are done, or the time is up. */
		while (atomic_load(&finished) < opt_n &&
		    bench_now_s() - t0 < secs)
			bench_sleep_s(0.01);
	} else
		bench_sleep_s(secs);
	atomic_store(&phase, P_STOP);
	t1 = bench_now_s();
	k1 = bench_proc_ticks(pids, npids);
	c1 = bench_self_cpu_s();
	for (i = 0; i < threads; i++) {
		pthread_join(w[i].th, NULL);
		ok += w[i].ok;
		failed += w[i].failed;
		total += w[i].total;
		stapled += w[i].stapled;
		if (w[i].lasterr[0])
			lasterr = w[i].lasterr;
		close(w[i].epfd);
		free(w[i].conns);
	}
	if (failed > 0)
		fprintf(stderr, "tls_hs: %lu of %lu failed, last: %s\n", failed,
		    ok + failed, lasterr);
	printf("rate %.1f ok %lu failed %lu seconds %.2f total %lu stapled %lu "
	    "share %.4f first %s first_connect_ns %lld first_done_ns %lld ",
	    (double)ok / (t1 - t0), ok, failed, t1 - t0, total,
	    stapled, total ? (double)stapled / (double)total : 0.0,
	    !first || !opt_status ? "-" : fstapled ? "yes" : "no", fconn,
	    fdone);
	bench_print_cpu(npids > 0, k1 - k0, c1 - c0, t1 - t0);
	if (ok == 0) {
		fprintf(stderr, "tls_hs: nothing succeeded%s%s\n",
		    lasterr[0] ? ", last error: " : "", lasterr);
		return 1;
	}
	return 0;
}
