/*
 * mqtt_bench_client.c: the MQTT client engine of tests/bench/mqtt_bench
 * (see mqtt_bench_client.h): buffers, connections from TCP connect through
 * TLS, CONNECT and SUBSCRIBE to a clean close, and the epoll loop.
 */
#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
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

#include "bench_client.h"
#include "mqtt_codec.h"
#include "mqtt_bench_client.h"

struct opts		 opt = {
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
SSL_CTX			*ctx;
struct sockaddr_in	 addr;
unsigned long		 run_id;
int			 timer_tag;	/* epoll data of the latency timer */
static _Atomic unsigned	 errors_logged;

static void	conn_flush(struct conn *);

void
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
void
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

int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* CPU seconds (user + system) the broker has used, or -1. */
double
broker_cpu(void)
{
	if (opt.pid <= 0 || (kill(opt.pid, 0) == -1 && errno == ESRCH))
		return -1;
	return (double)bench_proc_ticks(&opt.pid, 1) / sysconf(_SC_CLK_TCK);
}

/* The broker's resident set in KiB, or -1. */
long
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
 * One PUBLISH of SIZE bytes of PAYLOAD on c's topic; with STAMP (the
 * latency mode), the send time goes into its first eight bytes.
 */
void
conn_publish(struct conn *c, const uint8_t *payload, size_t size,
    bool stamp)
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
	pub.payload_len = size;
	hl = mqtt_publish_header_size(MQTT_LEVEL_311, &pub);
	w = buf_reserve(&c->out, hl + size);
	if ((n = mqtt_encode_publish_header(w, hl, MQTT_LEVEL_311,
	    &pub)) != hl)
		die("cannot encode PUBLISH");
	memcpy(w + hl, payload, size);
	if (stamp) {
		t = now_ns();
		memcpy(w + hl, &t, sizeof(t));
	}
	c->out.len += hl + size;
	conn_mark_dirty(c);
}

/*
 * A non-blocking connect to the broker.  NULL when no socket can be made
 * (the fd limit): the caller stops opening.
 */
struct conn *
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
		if (p->publish.qos == 1)
			conn_send_ack(c, MQTT_PUBACK, p->publish.id);
		mode_publish(c, &p->publish);
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
void
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
void
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
void
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

/* One epoll wait (up to ms), its events, and the end of the turn. */
void
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

void
loop_init(struct loop *l, unsigned id, unsigned slots)
{
	memset(l, 0, sizeof(*l));
	LIST_INIT(&l->all);
	l->id = id;
	l->slots = slots;
	if ((l->ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1: %s", strerror(errno));
}

/*
 * Every connection of the loop says DISCONNECT and closes cleanly; those
 * the broker has not closed after two seconds are cut.
 */
void
loop_close_all(struct loop *l)
{
	struct conn *c;
	double end = bench_now_s() + 2;

	l->no_more = true;	/* a failure now opens no other */
	LIST_FOREACH(c, &l->all, entry)
		conn_close(c, true);
	loop_end_turn(l);
	while (l->nclosing > 0 && bench_now_s() < end)
		loop_once(l, 50, NULL, -1);
	LIST_FOREACH(c, &l->all, entry)
		conn_destroy(c);
	loop_end_turn(l);
}

void
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
