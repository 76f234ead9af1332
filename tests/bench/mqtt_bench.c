/*
 * mqtt_bench.c: the load generator of `make bench` (tests/bench/run.sh).
 *
 * MQTT 3.1.1 clients over TCP or TLS 1.3 on one epoll loop with
 * non-blocking sockets; packets are built and parsed by the broker's own
 * pure codec (broker/mqtt_codec.c), so the bench speaks exactly the
 * protocol the broker is tested against.  It measures one broker at a
 * time and prints one line of key=value pairs on stdout for run.sh to
 * parse; diagnostics go to stderr.  Every mode is bounded in time (an
 * alarm ends a run that hangs) and exits non-zero when the measurement
 * could not be made.
 *
 *   mqtt_bench tput      -p PORT [-T] -P topics -S subs -q qos -s size
 *   mqtt_bench latency   -p PORT -r rate -s size
 *   mqtt_bench handshake -p PORT -T -c concurrency [-j threads]
 *   mqtt_bench idle      -p PORT [-T] -n conns -c concurrency --pid PID
 *   mqtt_bench ports N   print N free TCP ports of 127.0.0.1
 *   mqtt_bench wait      -p PORT   wait until something listens there
 *
 * Common: -t seconds measured, -W seconds of warm-up before, --pid PID of
 * the broker (its CPU use over the measurement is reported).
 */
#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "mqtt_codec.h"

#define BENCH_EVENTS		512	/* epoll events per wait */
#define BENCH_READ_CHUNK	16384	/* one TLS record */
#define BENCH_READ_BUDGET	(1024 * 1024)	/* per wake-up */
#define BENCH_OUT_HIGH		(256 * 1024)	/* publisher stops above */
#define BENCH_STALL_SECS	1.0	/* no delivery: count as lost */
#define BENCH_SETUP_SECS	60.0	/* connecting and subscribing */
#define BENCH_IDLE_SECS		180.0	/* opening the idle connections */
#define BENCH_MAX_THREADS	16
#define BENCH_KEEPALIVE		60

enum mode { M_TPUT, M_LATENCY, M_HANDSHAKE, M_IDLE };

enum conn_state {
	C_CONNECTING,		/* TCP connect in progress */
	C_TLS,			/* TLS handshake */
	C_CONNACK,		/* CONNECT sent */
	C_SUBACK,		/* SUBSCRIBE sent */
	C_READY,
	C_CLOSING,		/* DISCONNECT sent, reading until EOF */
	C_DEAD,			/* closed, freed at the end of the turn */
};

enum conn_role { R_PUB, R_SUB, R_PROBE };

/* A contiguous byte buffer: data at p[off .. off + len). */
struct buf {
	uint8_t		*p;
	size_t		 off;
	size_t		 len;
	size_t		 cap;
};

/* One topic of the throughput mode: a publisher and its subscribers. */
struct topic {
	char		 name[64];
	size_t		 name_len;
	struct conn	*pub;
	unsigned	 nsubs;
	uint64_t	 sent;		/* PUBLISHes written */
	uint64_t	 delivered;	/* PUBLISHes its subscribers got */
	uint64_t	 lost;		/* deliveries given up on */
	double		 last_progress;
};

struct loop;

struct conn {
	struct loop	*loop;
	int		 fd;
	SSL		*ssl;
	enum conn_state	 state;
	enum conn_role	 role;
	struct topic	*topic;
	unsigned	 idx;
	uint32_t	 armed;		/* epoll events registered */
	int		 err;		/* connect(2) failed at once */
	bool		 want_write;	/* TLS needs the socket writable */
	bool		 dirty;
	LIST_ENTRY(conn) entry;		/* the loop's list of all */
	struct conn	*next_dirty;
	struct conn	*next_dead;
	struct buf	 in, out;
	unsigned	 unacked;	/* QoS 1 PUBLISHes without PUBACK */
	uint16_t	 next_id;
};

/*
 * One event loop.  Only the handshake mode runs several (one per
 * thread); the counters the main thread reads meanwhile are atomic.
 */
struct loop {
	unsigned	 id;		/* thread number */
	int		 ep;
	LIST_HEAD(, conn) all;		/* every conn not yet freed */
	struct conn	*dirty;		/* output to flush this turn */
	struct conn	*dead;		/* to free at the end of the turn */
	unsigned	 slots;		/* idle: connections to open in all */
	unsigned	 inprogress;	/* opened and not yet ready */
	unsigned	 nready;
	unsigned	 nclosing;
	unsigned	 opened;
	bool		 no_more;	/* socket() failed: fd limit */
	_Atomic bool	 stop;
	_Atomic uint64_t done;		/* handshakes completed */
	_Atomic uint64_t failed;
	pthread_t	 thread;
};

struct opts {
	enum mode	 mode;
	const char	*host;
	int		 port;
	bool		 tls;
	unsigned	 pubs;
	unsigned	 subs;
	uint8_t		 qos;
	size_t		 size;
	double		 time;
	double		 warmup;
	unsigned	 window;
	unsigned	 e2e;
	unsigned	 rate;
	unsigned	 conc;
	unsigned	 conns;
	unsigned	 threads;
	uint16_t	 keepalive;
	pid_t		 pid;
};

static struct opts	 opt = {
	.host = "127.0.0.1",
	.pubs = 1,
	.subs = 1,
	.size = 64,
	.time = 3,
	.warmup = 1,
	.window = 32,
	.e2e = 256,
	.rate = 1000,
	.conc = 64,
	.conns = 10000,
	.threads = 1,
	.keepalive = BENCH_KEEPALIVE,
};
static SSL_CTX		*ctx;
static struct sockaddr_in addr;
static unsigned long	 run_id;
static _Atomic unsigned	 errors_logged;
static int		 timer_tag;	/* epoll data of the latency timer */

/* Throughput and latency state (one loop, one thread). */
static struct topic	*topics;
static uint8_t		*payload;
static bool		 publishing;
static uint64_t		 total_recv, total_sent, stalls;
static int64_t		 measure_from_ns;	/* latency samples from */
static int64_t		*samples;
static size_t		 nsamples, max_samples;

static void	conn_close(struct conn *, bool);
static void	conn_destroy(struct conn *);
static void	conn_flush(struct conn *);
static void	mode_ready(struct conn *);
static void	mode_failed(struct conn *);

static void __attribute__((format(printf, 1, 2), noreturn))
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "mqtt_bench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

/* The first few errors are worth reading; thousands are noise. */
static void __attribute__((format(printf, 1, 2)))
warnlimit(const char *fmt, ...)
{
	va_list ap;

	if (atomic_fetch_add(&errors_logged, 1) >= 5)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "mqtt_bench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double
now(void)
{
	return now_ns() / 1e9;
}

static void
sleep_secs(double s)
{
	struct timespec ts;

	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* CPU seconds (user + system) the broker has used, or -1. */
static double
broker_cpu(void)
{
	char path[64], line[1024], *p;
	unsigned long long ut, st;
	FILE *f;
	int i;

	if (opt.pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)opt.pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	p = fgets(line, sizeof(line), f);
	fclose(f);
	/* The command name may hold spaces; fields count from its ')'. */
	if (p == NULL || (p = strrchr(line, ')')) == NULL)
		return -1;
	for (i = 0; i < 12 && p != NULL; i++)
		p = strchr(p + 1, ' ');
	if (p == NULL || sscanf(p, " %llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / sysconf(_SC_CLK_TCK);
}

/* The broker's resident set in KiB, or -1. */
static long
broker_rss_kb(void)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)opt.pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static double
self_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Room for n more bytes after the data; compacts before it grows. */
static uint8_t *
buf_reserve(struct buf *b, size_t n)
{
	uint8_t *np;
	size_t cap;

	if (b->cap - b->off - b->len >= n)
		return b->p + b->off + b->len;
	if (b->off > 0) {
		memmove(b->p, b->p + b->off, b->len);
		b->off = 0;
		if (b->cap - b->len >= n)
			return b->p + b->len;
	}
	for (cap = b->cap ? b->cap : 4096; cap - b->len < n; cap *= 2)
		;
	if ((np = realloc(b->p, cap)) == NULL)
		die("out of memory");
	b->p = np;
	b->cap = cap;
	return b->p + b->len;
}

static void
buf_consume(struct buf *b, size_t n)
{
	b->off += n;
	b->len -= n;
	if (b->len == 0)
		b->off = 0;
}

/* Give an idle connection's memory back: idle mode holds thousands. */
static void
buf_release(struct buf *b)
{
	if (b->len > 0)
		return;
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static void
conn_arm(struct conn *c)
{
	struct epoll_event ev;
	uint32_t want = EPOLLIN;

	if (c->state == C_CONNECTING || c->want_write ||
	    (c->out.len > 0 && c->state != C_TLS))
		want |= EPOLLOUT;
	if (want == c->armed)
		return;
	ev.events = want;
	ev.data.ptr = c;
	if (epoll_ctl(c->loop->ep, EPOLL_CTL_MOD, c->fd, &ev) == -1)
		die("epoll_ctl: %s", strerror(errno));
	c->armed = want;
}

static void
conn_mark_dirty(struct conn *c)
{
	if (c->dirty)
		return;
	c->dirty = true;
	c->next_dirty = c->loop->dirty;
	c->loop->dirty = c;
}

/* Encode a packet at the end of c's output. */
static void
conn_send(struct conn *c, const struct mqtt_packet *p)
{
	size_t n = mqtt_packet_size(MQTT_LEVEL_311, p);

	if (n == 0 || mqtt_encode(buf_reserve(&c->out, n), n, MQTT_LEVEL_311,
	    p) != n)
		die("cannot encode %s", mqtt_type_name(p->type));
	c->out.len += n;
	conn_mark_dirty(c);
}

static void
conn_send_connect(struct conn *c)
{
	struct mqtt_packet p;
	char id[64];
	static const char *roles[] = { "pub", "sub", "probe" };

	/* Unique across threads: a repeated id would take a session over. */
	snprintf(id, sizeof(id), "bench-%lx-%u-%s-%u", run_id, c->loop->id,
	    roles[c->role], c->idx);
	memset(&p, 0, sizeof(p));
	p.type = MQTT_CONNECT;
	p.connect.level = MQTT_LEVEL_311;
	p.connect.clean = true;
	p.connect.keepalive = opt.keepalive;
	p.connect.client_id.s = id;
	p.connect.client_id.len = strlen(id);
	conn_send(c, &p);
	c->state = C_CONNACK;
}

static void
conn_send_subscribe(struct conn *c)
{
	struct mqtt_packet p;
	struct mqtt_filter f;

	memset(&p, 0, sizeof(p));
	memset(&f, 0, sizeof(f));
	f.topic.s = c->topic->name;
	f.topic.len = c->topic->name_len;
	f.options = opt.qos;
	p.type = MQTT_SUBSCRIBE;
	p.subscribe.id = 1;
	p.subscribe.count = 1;
	p.subscribe.filters = &f;
	conn_send(c, &p);
	c->state = C_SUBACK;
}

static void
conn_send_ack(struct conn *c, enum mqtt_type type, uint16_t id)
{
	struct mqtt_packet p;

	memset(&p, 0, sizeof(p));
	p.type = type;
	p.ack.id = id;
	conn_send(c, &p);
}

/*
 * One PUBLISH with the payload; the latency mode stamps the send time
 * into its first eight bytes.
 */
static void
conn_publish(struct conn *c)
{
	struct mqtt_publish pub;
	size_t hl, n;
	uint8_t *w;
	int64_t t;

	memset(&pub, 0, sizeof(pub));
	pub.qos = opt.qos;
	pub.topic.s = c->topic->name;
	pub.topic.len = c->topic->name_len;
	if (opt.qos > 0) {
		if (++c->next_id == 0)
			c->next_id = 1;
		pub.id = c->next_id;
		c->unacked++;
	}
	pub.payload = payload;
	pub.payload_len = opt.size;
	hl = mqtt_publish_header_size(MQTT_LEVEL_311, &pub);
	w = buf_reserve(&c->out, hl + opt.size);
	if ((n = mqtt_encode_publish_header(w, hl, MQTT_LEVEL_311,
	    &pub)) != hl)
		die("cannot encode PUBLISH");
	memcpy(w + hl, payload, opt.size);
	if (opt.mode == M_LATENCY) {
		t = now_ns();
		memcpy(w + hl, &t, sizeof(t));
	}
	c->out.len += hl + opt.size;
	c->topic->sent++;
	total_sent++;
	conn_mark_dirty(c);
}

/*
 * A non-blocking connect to the broker.  NULL when no socket can be made
 * (the fd limit): the caller stops opening.
 */
static struct conn *
conn_open(struct loop *l, enum conn_role role, struct topic *t, unsigned idx)
{
	struct epoll_event ev;
	struct conn *c;
	int fd, on = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		warnlimit("socket: %s", strerror(errno));
		return NULL;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if ((c = calloc(1, sizeof(*c))) == NULL)
		die("out of memory");
	c->loop = l;
	c->fd = fd;
	c->role = role;
	c->topic = t;
	c->idx = idx;
	c->state = C_CONNECTING;
	LIST_INSERT_HEAD(&l->all, c, entry);
	c->armed = EPOLLIN | EPOLLOUT;
	ev.events = c->armed;
	ev.data.ptr = c;
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) == -1)
		die("epoll_ctl: %s", strerror(errno));
	l->inprogress++;
	l->opened++;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == -1 &&
	    errno != EINPROGRESS) {
		/* Reported from the loop, as an asynchronous failure is. */
		c->err = errno;
	}
	return c;
}

/* A connection that will not get where it was going. */
static void
conn_fail(struct conn *c, const char *why)
{
	if (c->state == C_DEAD || c->state == C_CLOSING) {
		conn_destroy(c);
		return;
	}
	warnlimit("connection %u: %s", c->idx, why);
	atomic_fetch_add(&c->loop->failed, 1);
	if (c->state != C_READY)
		c->loop->inprogress--;
	conn_destroy(c);
	mode_failed(c);
}

/* TLS error after SSL_*: 0 to wait for the socket, -1 after failing. */
static int
conn_tls_error(struct conn *c, int ret, const char *what)
{
	char why[256];
	unsigned long e;

	switch (SSL_get_error(c->ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		return 0;
	case SSL_ERROR_WANT_WRITE:
		c->want_write = true;
		conn_arm(c);
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		conn_fail(c, "TLS session closed by the broker");
		return -1;
	case SSL_ERROR_SYSCALL:
		snprintf(why, sizeof(why), "TLS %s: %s", what,
		    errno ? strerror(errno) : "connection closed");
		conn_fail(c, why);
		return -1;
	default:
		e = ERR_get_error();
		snprintf(why, sizeof(why), "TLS %s: %s", what,
		    e ? ERR_error_string(e, NULL) : "failed");
		ERR_clear_error();
		conn_fail(c, why);
		return -1;
	}
}

static void
conn_tls_step(struct conn *c)
{
	int ret;

	c->want_write = false;
	ERR_clear_error();
	if ((ret = SSL_connect(c->ssl)) != 1) {
		if (conn_tls_error(c, ret, "handshake") == 0)
			conn_arm(c);
		return;
	}
	conn_send_connect(c);
	conn_arm(c);
}

static void
conn_connected(struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (c->err != 0)
		err = c->err;
	else if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		conn_fail(c, strerror(err));
		return;
	}
	c->want_write = false;
	if (!opt.tls) {
		conn_send_connect(c);
		conn_arm(c);
		return;
	}
	if ((c->ssl = SSL_new(ctx)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
		die("SSL_new failed");
	SSL_set_connect_state(c->ssl);
	c->state = C_TLS;
	conn_tls_step(c);
}

static void
on_publish(struct conn *c, const struct mqtt_publish *pub)
{
	struct topic *t = c->topic;
	int64_t sent_ns, d;

	if (pub->qos == 1)
		conn_send_ack(c, MQTT_PUBACK, pub->id);
	total_recv++;
	if (t != NULL) {
		t->delivered++;
		t->last_progress = now();
	}
	if (opt.mode != M_LATENCY || pub->payload_len < sizeof(sent_ns))
		return;
	memcpy(&sent_ns, pub->payload, sizeof(sent_ns));
	if (sent_ns < measure_from_ns || nsamples >= max_samples)
		return;
	d = now_ns() - sent_ns;
	samples[nsamples++] = d;
}

static void
conn_ready(struct conn *c)
{
	c->state = C_READY;
	c->loop->inprogress--;
	c->loop->nready++;
	mode_ready(c);
}

/* One packet from the broker.  Returns -1 when c failed. */
static int
conn_packet(struct conn *c, const struct mqtt_packet *p)
{
	char why[64];

	switch (p->type) {
	case MQTT_CONNACK:
		if (c->state != C_CONNACK)
			break;
		if (p->connack.code != MQTT_CONNACK_ACCEPTED) {
			snprintf(why, sizeof(why), "CONNACK refused, code %u",
			    p->connack.code);
			conn_fail(c, why);
			return -1;
		}
		if (c->role == R_SUB) {
			conn_send_subscribe(c);
			return 0;
		}
		conn_ready(c);
		return 0;
	case MQTT_SUBACK:
		if (c->state != C_SUBACK)
			break;
		if (p->suback.count != 1 ||
		    p->suback.codes[0] == MQTT_SUBACK_FAILURE) {
			conn_fail(c, "SUBSCRIBE refused");
			return -1;
		}
		conn_ready(c);
		return 0;
	case MQTT_PUBLISH:
		on_publish(c, &p->publish);
		return 0;
	case MQTT_PUBACK:
		if (c->unacked > 0)
			c->unacked--;
		return 0;
	case MQTT_PINGRESP:
		return 0;
	default:
		break;
	}
	snprintf(why, sizeof(why), "unexpected %s", mqtt_type_name(p->type));
	conn_fail(c, why);
	return -1;
}

/* Decode every complete packet of the input. */
static void
conn_parse(struct conn *c)
{
	struct mqtt_frame fr;
	struct mqtt_packet p;
	struct mqtt_error err;
	enum mqtt_status st;
	char why[160];

	while (c->state != C_DEAD && c->in.len > 0) {
		st = mqtt_frame(c->in.p + c->in.off, c->in.len, 0, &fr);
		if (st == MQTT_NEED_MORE)
			return;
		if (st == MQTT_OK)
			st = mqtt_decode(&fr, MQTT_FROM_SERVER, MQTT_LEVEL_311,
			    &p, &err);
		else
			err.reason = "bad remaining length";
		if (st != MQTT_OK) {
			snprintf(why, sizeof(why), "bad packet from the "
			    "broker: %s", err.reason);
			conn_fail(c, why);
			return;
		}
		if (conn_packet(c, &p) == -1)
			return;
		buf_consume(&c->in, fr.total_len);
	}
}

static void
conn_read(struct conn *c)
{
	size_t total = 0;
	ssize_t n;
	uint8_t *w;

	while (total < BENCH_READ_BUDGET && c->state != C_DEAD) {
		w = buf_reserve(&c->in, BENCH_READ_CHUNK);
		if (c->ssl != NULL) {
			ERR_clear_error();
			n = SSL_read(c->ssl, w, BENCH_READ_CHUNK);
			if (n <= 0) {
				(void)conn_tls_error(c, n, "read");
				break;
			}
		} else if ((n = read(c->fd, w, BENCH_READ_CHUNK)) <= 0) {
			if (n == -1 && (errno == EAGAIN || errno == EINTR))
				break;
			conn_fail(c, n == 0 ? "closed by the broker" :
			    strerror(errno));
			break;
		}
		c->in.len += n;
		total += n;
		/* Packets are handled as they come: acks go out sooner. */
		conn_parse(c);
		if (c->ssl == NULL && n < BENCH_READ_CHUNK)
			break;
	}
	if (c->state != C_DEAD && c->in.len == 0)
		buf_release(&c->in);
}

/* Write what the socket takes; the rest waits for EPOLLOUT. */
static void
conn_flush(struct conn *c)
{
	ssize_t n;
	size_t len;

	while (c->state != C_DEAD && c->state != C_TLS && c->out.len > 0) {
		if (c->ssl != NULL) {
			len = c->out.len > BENCH_READ_CHUNK ?
			    BENCH_READ_CHUNK : c->out.len;
			ERR_clear_error();
			n = SSL_write(c->ssl, c->out.p + c->out.off, len);
			if (n <= 0) {
				(void)conn_tls_error(c, n, "write");
				return;
			}
		} else if ((n = write(c->fd, c->out.p + c->out.off,
		    c->out.len)) == -1) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			conn_fail(c, strerror(errno));
			return;
		}
		buf_consume(&c->out, n);
	}
	if (c->state == C_DEAD)
		return;
	if (c->out.len == 0 && c->state == C_READY)
		buf_release(&c->out);
	conn_arm(c);
}

/* Close c's socket at once; the memory goes at the end of the turn. */
static void
conn_destroy(struct conn *c)
{
	if (c->state == C_DEAD)
		return;
	if (c->state == C_READY)
		c->loop->nready--;
	if (c->state == C_CLOSING)
		c->loop->nclosing--;
	c->state = C_DEAD;
	ERR_clear_error();
	SSL_free(c->ssl);
	c->ssl = NULL;
	close(c->fd);
	c->next_dead = c->loop->dead;
	c->loop->dead = c;
}

/*
 * Close c.  A clean close is a well-behaved device's: DISCONNECT and
 * close_notify, then its side of the socket shut, and the rest read
 * until the broker closes (a lingering close, as nginx does), because
 * closing with unread bytes would send a reset instead.
 */
static void
conn_close(struct conn *c, bool clean)
{
	struct mqtt_packet p;

	if (c->state == C_DEAD || c->state == C_CLOSING)
		return;
	if (!clean || c->state != C_READY) {
		conn_destroy(c);
		return;
	}
	memset(&p, 0, sizeof(p));
	p.type = MQTT_DISCONNECT;
	conn_send(c, &p);
	conn_flush(c);
	if (c->state == C_DEAD)
		return;
	if (c->ssl != NULL)
		(void)SSL_shutdown(c->ssl);
	ERR_clear_error();
	(void)shutdown(c->fd, SHUT_WR);
	buf_consume(&c->out, c->out.len);	/* can no longer go */
	c->want_write = false;
	c->loop->nready--;
	c->loop->nclosing++;
	c->state = C_CLOSING;
	conn_arm(c);
}

/* A closing connection: discard what comes until the broker closes. */
static void
conn_linger(struct conn *c)
{
	uint8_t scratch[BENCH_READ_CHUNK];
	ssize_t n;

	while ((n = read(c->fd, scratch, sizeof(scratch))) > 0)
		;
	if (n == 0 || (errno != EAGAIN && errno != EINTR))
		conn_destroy(c);
}

static void
conn_event(struct conn *c, uint32_t events)
{
	if (c->state == C_DEAD)
		return;
	if (c->state == C_CONNECTING) {
		if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			conn_connected(c);
		return;
	}
	if (c->state == C_TLS) {
		conn_tls_step(c);
		return;
	}
	if (c->state == C_CLOSING) {
		conn_linger(c);
		return;
	}
	if (events & EPOLLOUT) {
		c->want_write = false;
		conn_flush(c);
	}
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		conn_read(c);
}

/* Flush what this turn produced, then free what it closed. */
static void
loop_end_turn(struct loop *l)
{
	struct conn *c;

	while ((c = l->dirty) != NULL) {
		l->dirty = c->next_dirty;
		c->dirty = false;
		conn_flush(c);
	}
	while ((c = l->dead) != NULL) {
		l->dead = c->next_dead;
		LIST_REMOVE(c, entry);
		free(c->in.p);
		free(c->out.p);
		free(c);
	}
}

static void tput_pump(void);
static void latency_tick(struct conn *, int);

/* One epoll wait (up to ms), its events, and the end of the turn. */
static void
loop_once(struct loop *l, int ms, struct conn *pub, int tfd)
{
	struct epoll_event ev[BENCH_EVENTS];
	int i, n;

	if ((n = epoll_wait(l->ep, ev, BENCH_EVENTS, ms)) == -1) {
		if (errno == EINTR)
			return;
		die("epoll_wait: %s", strerror(errno));
	}
	for (i = 0; i < n; i++) {
		if (ev[i].data.ptr == &timer_tag)
			latency_tick(pub, tfd);
		else
			conn_event(ev[i].data.ptr, ev[i].events);
	}
	if (opt.mode == M_TPUT)
		tput_pump();
	loop_end_turn(l);
}

static void
loop_init(struct loop *l, unsigned id, unsigned slots)
{
	memset(l, 0, sizeof(*l));
	LIST_INIT(&l->all);
	l->id = id;
	l->slots = slots;
	if ((l->ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1: %s", strerror(errno));
}

/* --- throughput ------------------------------------------------------ */

/*
 * Whether topic t's publisher may send another message.  Two windows:
 * QoS 1 PUBLISHes without PUBACK (the broker's acknowledgement), and
 * messages not yet received by every subscriber (end to end), so that
 * neither broker is measured filling its queues faster than it empties
 * them; both keep the pipeline full.  A publisher whose messages stopped
 * arriving for a second writes them off as lost and goes on.
 */
static bool
tput_may_publish(struct topic *t, double tnow)
{
	struct conn *c = t->pub;
	int64_t want, got;

	if (!publishing || c == NULL || c->state != C_READY)
		return false;
	if (opt.qos > 0 && c->unacked >= opt.window)
		return false;
	if (c->out.len > BENCH_OUT_HIGH)
		return false;
	want = (int64_t)(t->sent * t->nsubs);
	got = (int64_t)(t->delivered + t->lost);
	if (want - got < (int64_t)opt.e2e * t->nsubs)
		return true;
	if (tnow - t->last_progress > BENCH_STALL_SECS) {
		t->lost += want - got;
		t->last_progress = tnow;
		stalls++;
		return true;
	}
	return false;
}

static void
tput_pump(void)
{
	double tnow = now();
	unsigned i;

	for (i = 0; i < opt.pubs; i++)
		while (tput_may_publish(&topics[i], tnow))
			conn_publish(topics[i].pub);
}

/* Run the loop until every connection is ready or setup time is over. */
static void
setup_wait(struct loop *l, unsigned want)
{
	double end = now() + BENCH_SETUP_SECS;

	while (l->nready < want) {
		if (atomic_load(&l->failed) > 0)
			die("could not connect every client (%u of %u)",
			    l->nready, want);
		if (now() > end)
			die("clients not ready after %.0fs (%u of %u)",
			    BENCH_SETUP_SECS, l->nready, want);
		loop_once(l, 100, NULL, -1);
	}
}

static void
run_until(struct loop *l, double end, struct conn *pub, int tfd)
{
	double t;

	while ((t = now()) < end) {
		if (atomic_load(&l->failed) > 0)
			die("a connection failed during the measurement");
		/* Short waits: the stall check needs turns. */
		loop_once(l, end - t > 0.1 ? 100 : (int)((end - t) * 1000) + 1,
		    pub, tfd);
	}
}

static void
topics_init(void)
{
	unsigned i;

	if ((topics = calloc(opt.pubs, sizeof(*topics))) == NULL ||
	    (payload = calloc(1, opt.size)) == NULL)
		die("out of memory");
	memset(payload, 'x', opt.size);
	for (i = 0; i < opt.pubs; i++) {
		topics[i].name_len = snprintf(topics[i].name,
		    sizeof(topics[i].name), "bench/%lx/%u", run_id, i);
		topics[i].nsubs = opt.subs;
	}
}

/* Subscribers first, all subscribed, then the publishers. */
static void
clients_open(struct loop *l)
{
	unsigned i, j, n = 0;

	for (i = 0; i < opt.pubs; i++)
		for (j = 0; j < opt.subs; j++, n++)
			if (conn_open(l, R_SUB, &topics[i], n) == NULL)
				die("cannot open subscriber %u", n);
	setup_wait(l, n);
	for (i = 0; i < opt.pubs; i++)
		if ((topics[i].pub = conn_open(l, R_PUB, &topics[i], i)) ==
		    NULL)
			die("cannot open publisher %u", i);
	setup_wait(l, n + opt.pubs);
}

static bool
clients_drained(void)
{
	unsigned i;

	for (i = 0; i < opt.pubs; i++)
		if (topics[i].delivered + topics[i].lost <
		    topics[i].sent * topics[i].nsubs ||
		    (topics[i].pub != NULL && topics[i].pub->state == C_READY &&
		    topics[i].pub->unacked > 0))
			return false;
	return true;
}

/*
 * Every connection of the loop says DISCONNECT and closes cleanly; those
 * the broker has not closed after two seconds are cut.
 */
static void
loop_close_all(struct loop *l)
{
	struct conn *c;
	double end = now() + 2;

	l->no_more = true;	/* a failure now opens no other */
	LIST_FOREACH(c, &l->all, entry)
		conn_close(c, true);
	loop_end_turn(l);
	while (l->nclosing > 0 && now() < end)
		loop_once(l, 50, NULL, -1);
	LIST_FOREACH(c, &l->all, entry)
		conn_destroy(c);
	loop_end_turn(l);
}

/* The end of a run: what was published arrives (for up to 5 seconds). */
static void
clients_close(struct loop *l, struct conn *pub, int tfd)
{
	double end = now() + 5;
	unsigned i;

	publishing = false;
	while (!clients_drained() && now() < end)
		loop_once(l, 50, pub, tfd);
	if (tfd != -1)
		close(tfd);
	loop_close_all(l);
	for (i = 0; i < opt.pubs; i++)
		topics[i].pub = NULL;
}

static int
mode_tput(void)
{
	struct loop l;
	double t0, t1, c0, c1, s0, s1, tnow;
	uint64_t r0, r1, p0, p1, lost = 0;
	unsigned i;

	loop_init(&l, 0, 0);
	topics_init();
	clients_open(&l);
	publishing = true;
	tnow = now();
	for (i = 0; i < opt.pubs; i++)
		topics[i].last_progress = tnow;
	run_until(&l, now() + opt.warmup, NULL, -1);
	t0 = now();
	r0 = total_recv;
	p0 = total_sent;
	c0 = broker_cpu();
	s0 = self_cpu();
	run_until(&l, t0 + opt.time, NULL, -1);
	t1 = now();
	r1 = total_recv;
	p1 = total_sent;
	c1 = broker_cpu();
	s1 = self_cpu();
	clients_close(&l, NULL, -1);
	for (i = 0; i < opt.pubs; i++)
		lost += topics[i].lost;
	printf("mode=tput rate=%.0f recv=%llu sent=%llu secs=%.3f "
	    "broker_cpu=%.0f self_cpu=%.0f stalls=%llu lost=%llu\n",
	    (r1 - r0) / (t1 - t0), (unsigned long long)(r1 - r0),
	    (unsigned long long)(p1 - p0), t1 - t0,
	    c0 >= 0 && c1 >= 0 ? 100 * (c1 - c0) / (t1 - t0) : -1,
	    100 * (s1 - s0) / (t1 - t0), (unsigned long long)stalls,
	    (unsigned long long)lost);
	return 0;
}

/* --- latency --------------------------------------------------------- */

/* The timer fired: send one PUBLISH per period elapsed (catch up). */
static void
latency_tick(struct conn *pub, int tfd)
{
	uint64_t n;

	if (read(tfd, &n, sizeof(n)) != sizeof(n))
		return;
	if (!publishing || pub == NULL || pub->state != C_READY)
		return;
	if (n > 100)
		n = 100;
	while (n-- > 0)
		conn_publish(pub);
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static double
percentile_us(double q)
{
	size_t i = (size_t)(q * (nsamples - 1) + 0.5);

	return samples[i] / 1e3;
}

static int
mode_latency(void)
{
	struct loop l;
	struct itimerspec its;
	struct epoll_event ev;
	uint64_t expected;
	int tfd;

	opt.pubs = opt.subs = 1;
	opt.qos = 0;
	if (opt.size < sizeof(int64_t))
		opt.size = sizeof(int64_t);
	max_samples = (size_t)(opt.rate * (opt.time + 1)) + 1024;
	if ((samples = calloc(max_samples, sizeof(*samples))) == NULL)
		die("out of memory");
	loop_init(&l, 0, 0);
	topics_init();
	clients_open(&l);
	if ((tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
	    TFD_CLOEXEC)) == -1)
		die("timerfd_create: %s", strerror(errno));
	memset(&its, 0, sizeof(its));
	its.it_interval.tv_nsec = 1000000000L / opt.rate;
	its.it_value = its.it_interval;
	if (timerfd_settime(tfd, 0, &its, NULL) == -1)
		die("timerfd_settime: %s", strerror(errno));
	ev.events = EPOLLIN;
	ev.data.ptr = &timer_tag;
	if (epoll_ctl(l.ep, EPOLL_CTL_ADD, tfd, &ev) == -1)
		die("epoll_ctl: %s", strerror(errno));
	publishing = true;
	measure_from_ns = now_ns() + (int64_t)(opt.warmup * 1e9);
	run_until(&l, now() + opt.warmup + opt.time, topics[0].pub, tfd);
	clients_close(&l, topics[0].pub, tfd);
	if (nsamples == 0)
		die("no message arrived");
	qsort(samples, nsamples, sizeof(*samples), cmp_i64);
	expected = (uint64_t)(opt.rate * opt.time);
	printf("mode=latency p50_us=%.1f p99_us=%.1f p999_us=%.1f "
	    "max_us=%.1f samples=%zu expected=%llu\n", percentile_us(0.50),
	    percentile_us(0.99), percentile_us(0.999),
	    percentile_us(1.0), nsamples, (unsigned long long)expected);
	return 0;
}

/* --- TLS handshakes and idle connections ------------------------------ */

static void
hs_open(struct loop *l)
{
	if (l->no_more || atomic_load(&l->stop))
		return;
	if (opt.mode == M_IDLE && l->opened >= l->slots)
		return;
	if (conn_open(l, R_PROBE, NULL, l->opened) == NULL)
		l->no_more = true;
}

static void *
hs_thread(void *arg)
{
	struct loop *l = arg;
	unsigned i;
	double end;

	for (i = 0; i < opt.conc; i++)
		hs_open(l);
	while (!atomic_load(&l->stop))
		loop_once(l, 50, NULL, -1);
	/*
	 * Stopped: no new connections; those under way finish as the row
	 * says (CONNACK, DISCONNECT, close) rather than being cut.
	 */
	end = now() + 5;
	while (l->inprogress > 0 && now() < end)
		loop_once(l, 50, NULL, -1);
	loop_close_all(l);
	close(l->ep);
	return NULL;
}

static int
mode_handshake(void)
{
	struct loop loops[BENCH_MAX_THREADS];
	double t0, t1, c0, c1, s0, s1;
	uint64_t d0 = 0, d1 = 0, f = 0;
	unsigned i;

	if (!opt.tls)
		die("handshake needs -T (TLS)");
	if (opt.threads < 1 || opt.threads > BENCH_MAX_THREADS)
		die("-j must be 1 to %d", BENCH_MAX_THREADS);
	opt.conc = (opt.conc + opt.threads - 1) / opt.threads;
	for (i = 0; i < opt.threads; i++) {
		loop_init(&loops[i], i, 0);
		if (pthread_create(&loops[i].thread, NULL, hs_thread,
		    &loops[i]) != 0)
			die("pthread_create failed");
	}
	sleep_secs(opt.warmup);
	t0 = now();
	c0 = broker_cpu();
	s0 = self_cpu();
	for (i = 0; i < opt.threads; i++)
		d0 += atomic_load(&loops[i].done);
	sleep_secs(opt.time);
	t1 = now();
	c1 = broker_cpu();
	s1 = self_cpu();
	for (i = 0; i < opt.threads; i++) {
		d1 += atomic_load(&loops[i].done);
		atomic_store(&loops[i].stop, true);
	}
	for (i = 0; i < opt.threads; i++) {
		pthread_join(loops[i].thread, NULL);
		f += atomic_load(&loops[i].failed);
	}
	if (d1 == 0)
		die("no handshake completed (%llu failed)",
		    (unsigned long long)f);
	printf("mode=handshake rate=%.0f done=%llu failed=%llu secs=%.3f "
	    "broker_cpu=%.0f self_cpu=%.0f\n", (d1 - d0) / (t1 - t0),
	    (unsigned long long)(d1 - d0), (unsigned long long)f, t1 - t0,
	    c0 >= 0 && c1 >= 0 ? 100 * (c1 - c0) / (t1 - t0) : -1,
	    100 * (s1 - s0) / (t1 - t0));
	return f > d1 ? 1 : 0;
}

static int
mode_idle(void)
{
	struct loop l;
	long before, after;
	double end, t0;
	unsigned i;

	if (opt.pid <= 0)
		die("idle needs --pid");
	loop_init(&l, 0, opt.conns);
	/* The broker's own idle footprint, before any connection. */
	if ((before = broker_rss_kb()) < 0)
		die("cannot read VmRSS of pid %d", (int)opt.pid);
	t0 = now();
	end = t0 + BENCH_IDLE_SECS;
	for (i = 0; i < opt.conc && i < opt.conns; i++)
		hs_open(&l);
	while ((l.inprogress > 0 || (!l.no_more && l.opened < opt.conns)) &&
	    now() < end)
		loop_once(&l, 100, NULL, -1);
	/* Let the broker finish with handshake-time buffers. */
	end = now() + opt.warmup;
	while (now() < end)
		loop_once(&l, 100, NULL, -1);
	if ((after = broker_rss_kb()) < 0)
		die("cannot read VmRSS of pid %d", (int)opt.pid);
	printf("mode=idle conns=%u wanted=%u failed=%llu rss_before_kb=%ld "
	    "rss_after_kb=%ld per_conn_bytes=%.0f secs=%.1f\n", l.nready,
	    opt.conns, (unsigned long long)atomic_load(&l.failed), before,
	    after, l.nready ? (after - before) * 1024.0 / l.nready : 0,
	    now() - t0);
	fflush(stdout);
	i = l.nready;
	loop_close_all(&l);
	close(l.ep);
	return i > 0 ? 0 : 1;
}

/* Handshake: done, close, open the next one.  Idle: keep it. */
static void
mode_ready(struct conn *c)
{
	if (opt.mode == M_HANDSHAKE) {
		atomic_fetch_add(&c->loop->done, 1);
		conn_close(c, true);
		hs_open(c->loop);
	} else if (opt.mode == M_IDLE)
		hs_open(c->loop);
}

static void
mode_failed(struct conn *c)
{
	if (opt.mode == M_HANDSHAKE || opt.mode == M_IDLE)
		hs_open(c->loop);
}

/* --- helpers for run.sh ------------------------------------------------ */

/* Print n distinct ports that nothing listens on right now. */
static int
mode_ports(unsigned n)
{
	struct sockaddr_in sin;
	socklen_t len;
	int fds[64];
	unsigned i;

	if (n == 0 || n > 64)
		die("ports: 1 to 64");
	for (i = 0; i < n; i++) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(sin);
		/* All held open until printed, so no two are the same. */
		if ((fds[i] = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
		    bind(fds[i], (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
		    getsockname(fds[i], (struct sockaddr *)&sin, &len) == -1)
			die("ports: %s", strerror(errno));
		printf("%s%u", i ? " " : "", ntohs(sin.sin_port));
	}
	printf("\n");
	for (i = 0; i < n; i++)
		close(fds[i]);
	return 0;
}

/* Wait until something accepts on the port, for up to opt.time. */
static int
mode_wait(void)
{
	double end = now() + opt.time;
	int fd;

	while (now() < end) {
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
			die("socket: %s", strerror(errno));
		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
			close(fd);
			return 0;
		}
		close(fd);
		sleep_secs(0.02);
	}
	return 1;
}

/* --- main -------------------------------------------------------------- */

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: mqtt_bench tput|latency|handshake|idle|wait [options]\n"
	    "       mqtt_bench ports N\n"
	    "  -H host  -p port  -T (TLS 1.3)  -t secs  -W warm-up secs\n"
	    "  -P topics  -S subscribers per topic  -q qos  -s payload\n"
	    "  -w QoS 1 window  -e end-to-end window  -r latency rate\n"
	    "  -c concurrent connects  -n idle conns  -j threads\n"
	    "  --pid broker pid\n");
	exit(2);
}

static unsigned
num(const char *s, unsigned lo, unsigned hi)
{
	char *ep;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &ep, 10);
	if (*s == '\0' || *ep != '\0' || errno != 0 || v < lo || v > hi)
		die("bad number \"%s\" (%u to %u)", s, lo, hi);
	return v;
}

static double
secs(const char *s)
{
	char *ep;
	double v;

	v = strtod(s, &ep);
	if (*s == '\0' || *ep != '\0' || v < 0 || v > 3600)
		die("bad duration \"%s\"", s);
	return v;
}

static void
parse_opts(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'x' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "H:p:Tt:W:P:S:q:s:w:e:r:c:n:j:",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'H': opt.host = optarg; break;
		case 'p': opt.port = num(optarg, 1, 65535); break;
		case 'T': opt.tls = true; break;
		case 't': opt.time = secs(optarg); break;
		case 'W': opt.warmup = secs(optarg); break;
		case 'P': opt.pubs = num(optarg, 1, 10000); break;
		case 'S': opt.subs = num(optarg, 1, 10000); break;
		case 'q': opt.qos = num(optarg, 0, 1); break;
		case 's': opt.size = num(optarg, 1, 1 << 20); break;
		case 'w': opt.window = num(optarg, 1, 65535); break;
		case 'e': opt.e2e = num(optarg, 1, 1 << 20); break;
		case 'r': opt.rate = num(optarg, 1, 1000000); break;
		case 'c': opt.conc = num(optarg, 1, 100000); break;
		case 'n': opt.conns = num(optarg, 1, 1000000); break;
		case 'j': opt.threads = num(optarg, 1, BENCH_MAX_THREADS);
			break;
		case 'x': opt.pid = num(optarg, 1, INT_MAX); break;
		default: usage();
		}
	}
}

static void
tls_init(void)
{
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		die("SSL_CTX_new failed");
	/* TLS 1.3 only, every handshake a full one. */
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1)
		die("cannot set TLS 1.3");
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	/*
	 * No chain verification: the bench measures the broker's side of
	 * the handshake; the client still checks the CertificateVerify
	 * signature, which TLS 1.3 always requires.
	 */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
}

int
main(int argc, char **argv)
{
	const char *m;

	if (argc < 2)
		usage();
	m = argv[1];
	if (strcmp(m, "ports") == 0)
		return mode_ports(argc == 3 ? num(argv[2], 1, 64) : 0);
	argc--;
	argv++;
	parse_opts(argc, argv);
	if (optind != argc || opt.port == 0)
		usage();
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons(opt.port);
	if (inet_pton(AF_INET, opt.host, &addr.sin_addr) != 1)
		die("bad IPv4 address %s", opt.host);
	if (strcmp(m, "wait") == 0)
		return mode_wait();
	signal(SIGPIPE, SIG_IGN);
	/* Whatever happens, the run ends. */
	alarm((unsigned)(opt.warmup + opt.time + BENCH_SETUP_SECS +
	    BENCH_IDLE_SECS));
	run_id = ((unsigned long)getpid() << 16) ^ (unsigned long)now_ns();
	if (opt.tls)
		tls_init();
	if (strcmp(m, "tput") == 0) {
		opt.mode = M_TPUT;
		return mode_tput();
	}
	if (strcmp(m, "latency") == 0) {
		opt.mode = M_LATENCY;
		return mode_latency();
	}
	if (strcmp(m, "handshake") == 0) {
		opt.mode = M_HANDSHAKE;
		return mode_handshake();
	}
	if (strcmp(m, "idle") == 0) {
		opt.mode = M_IDLE;
		opt.keepalive = 0;
		return mode_idle();
	}
	usage();
}
