/*
 * client.c: one connection's life: PROXY header, TLS handshake, buffered
 * reads and writes over plain TCP or TLS, timers, and deferred free.
 *
 * TLS is driven on the non-blocking socket directly (not with
 * bufferevent_openssl) so that a handshake can later pause while the
 * fetcher finds revocation data (SSL_set_retry_verify).  Output is queued
 * and flushed once per loop iteration for all clients that have some, so a
 * fan-out of one message costs one write per receiver, not one per packet.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <openssl/err.h>

#include "access.h"
#include "broker.h"
#include "log.h"
#include "ossl.h"
#include "proxy_proto.h"

#define CLIENT_READ_CHUNK	16384	/* one TLS record */
#define CLIENT_READ_BUDGET	(256 * 1024) /* per wake-up, for fairness */
#define CLIENT_OUT_HIGH		(1024 * 1024) /* stop reading above */
#define CLIENT_PROXY_PEEK	1024	/* longest PROXY header taken */
#define CLIENT_PROXY_RETRY_MS	5	/* partial header: look again */

static void client_read_cb(evutil_socket_t, short, void *);
static void client_write_cb(evutil_socket_t, short, void *);
static void client_timer_cb(evutil_socket_t, short, void *);
static void client_flush(struct client *);
static void client_proxy_read(struct client *);
static void client_msg_cleanup(const void *, size_t, void *);

/* Append v in decimal at p; returns the end. */
static char *
put_dec(char *p, unsigned int v)
{
	char tmp[10];
	int n = 0;

	do
		tmp[n++] = '0' + v % 10;
	while ((v /= 10) != 0);
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

/*
 * "a.b.c.d:port" or "[v6]:port".  Every connection pays for this, and
 * printf and glibc's inet_ntop (itself printf) were 0.2 % of a TLS
 * handshake: IPv4, the common case, is formatted by hand.
 */
static void
client_peer_name(struct client *c, const struct sockaddr *sa)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	const uint8_t *a = (const uint8_t *)&sin->sin_addr;
	char *p = c->peer;
	int i;

	if (sa->sa_family == AF_INET) {
		for (i = 0; i < 4; i++) {
			p = put_dec(p, a[i]);
			*p++ = i < 3 ? '.' : ':';
		}
		*put_dec(p, ntohs(sin->sin_port)) = '\0';
	} else if (sa->sa_family == AF_INET6) {
		*p++ = '[';
		if (inet_ntop(AF_INET6, &sin6->sin6_addr, p,
		    INET6_ADDRSTRLEN) == NULL)
			strcpy(p, "?");
		p += strlen(p);
		*p++ = ']';
		*p++ = ':';
		*put_dec(p, ntohs(sin6->sin6_port)) = '\0';
	} else
		strcpy(c->peer, "?:0");
}

/*
 * The input and output buffers exist only while they hold bytes: an idle
 * connection has none, and the memory of one connection's buffers is
 * reused by the next busy one.  Besides OpenSSL's, this is most of what
 * an idle connection would cost.
 */
static void
client_bufs_release(struct client *c)
{
	if (c->in != NULL && evbuffer_get_length(c->in) == 0) {
		evbuffer_free(c->in);
		c->in = NULL;
	}
	if (c->out != NULL && evbuffer_get_length(c->out) == 0) {
		evbuffer_free(c->out);
		c->out = NULL;
	}
}

static int
client_bufs(struct client *c)
{
	if (c->in == NULL && (c->in = evbuffer_new()) == NULL)
		return -1;
	if (c->out == NULL && (c->out = evbuffer_new()) == NULL)
		return -1;
	return 0;
}

/*
 * Most writes go out at once; the write event is made the first time
 * one would block, so idle connections never pay for it.
 */
static void
client_want_write(struct client *c)
{
	if (c->ev_write == NULL && (c->ev_write = event_new(c->broker->base,
	    c->fd, EV_WRITE, client_write_cb, c)) == NULL) {
		client_close(c, "out of memory");
		return;
	}
	event_add(c->ev_write, NULL);
}

/* Re-arm the one timer of a client for ms from now. */
void
client_timer_set(struct client *c, int64_t ms)
{
	struct timeval tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(c->ev_timer, &tv);
}

struct client *
client_new(struct listener *l, int fd, const struct sockaddr *sa)
{
	struct broker *b = l->broker;
	struct client *c;

	/*
	 * The read and timer events live in the same allocation: every
	 * connection has them, and idle connections dominate the memory.
	 */
	if ((c = calloc(1, sizeof(*c) + 2 * event_get_struct_event_size())) ==
	    NULL)
		goto fail;
	c->ev_read = (struct event *)(c + 1);
	c->ev_timer = (struct event *)((char *)c->ev_read +
	    event_get_struct_event_size());
	c->fd = fd;
	c->broker = b;
	c->listener = l;
	c->last_rx_ms = broker_now_ms(b);
	client_peer_name(c, sa);
	if (event_assign(c->ev_read, b->base, fd, EV_READ | EV_PERSIST,
	    client_read_cb, c) == -1 ||
	    evtimer_assign(c->ev_timer, b->base, client_timer_cb, c) == -1)
		goto fail;
	c->assigned = true;
	if (l->tls) {
		if ((c->ssl = SSL_new(l->ctx)) == NULL ||
		    SSL_set_fd(c->ssl, fd) != 1) {
			log_warnx("%s: %s: SSL_new: %s", l->name, c->peer,
			    ossl_error());
			goto fail;
		}
		SSL_set_accept_state(c->ssl);
		SSL_set_app_data(c->ssl, c);
		c->state = CS_TLS_HANDSHAKE;
		client_timer_set(c, l->handshake_ms);
	} else {
		c->state = CS_WAIT_CONNECT;
		client_timer_set(c, b->lim.idle_timeout_ms);
	}
	if (l->proxy_protocol) {
		c->state = CS_PROXY;
		client_timer_set(c, l->proxy_timeout_ms);
	}
	if (event_add(c->ev_read, NULL) == -1)
		goto fail;
	TAILQ_INSERT_TAIL(&b->clients, c, entry);
	l->nconns++;
	b->stats.clients_total++;
	return c;
fail:
	if (c == NULL)
		log_warn("%s: client", l->name);
	client_destroy(c);
	return NULL;
}

/* Free everything of a client; only from the reaper or client_new. */
void
client_destroy(struct client *c)
{
	if (c == NULL)
		return;
	if (c->assigned) {
		event_del(c->ev_read);
		event_del(c->ev_timer);
	}
	if (c->ev_write != NULL)
		event_free(c->ev_write);
	if (c->in != NULL)
		evbuffer_free(c->in);
	if (c->out != NULL)
		evbuffer_free(c->out);
	clientcheck_abort(c);
	SSL_free(c->ssl);
	sk_X509_pop_free(c->chain, X509_free);
	free(c->rev_url);
	free(c->rev_keys);
	if (c->fd != -1)
		close(c->fd);
	mqtt_client_release(c);
	free(c);
}

/* In the TLS handshake, running or paused: no application data yet. */
static bool
client_in_handshake(const struct client *c)
{
	return c->state == CS_TLS_HANDSHAKE || c->state == CS_REV_WAIT;
}

/*
 * Close a client.  It stays allocated until the reaper runs at the end of
 * this loop iteration, so callers up the stack may still look at it.
 * Pending output is attempted once (a CONNACK refusal must reach the peer).
 */
void
client_close(struct client *c, const char *why)
{
	struct broker *b = c->broker;

	/*
	 * The last flush below may fail and close again: that inner call
	 * must return, or a peer that resets with output pending makes the
	 * recursion overflow the stack.
	 */
	if (c->state == CS_CLOSED || c->closing)
		return;
	c->closing = true;
	if (why != NULL)
		log_info("%s: %s%s%s: closing: %s", c->listener->name, c->peer,
		    c->id ? " " : "", c->id ? c->id : "", why);
	if (c->out != NULL && evbuffer_get_length(c->out) > 0 &&
	    !client_in_handshake(c))
		client_flush(c);
	if (c->ssl != NULL && !client_in_handshake(c))
		(void)SSL_shutdown(c->ssl);
	ERR_clear_error();
	mqtt_client_closed(c);
	c->state = CS_CLOSED;
	event_del(c->ev_read);
	if (c->ev_write != NULL)
		event_del(c->ev_write);
	event_del(c->ev_timer);
	if (c->dirty) {
		TAILQ_REMOVE(&b->dirty, c, dirty_entry);
		c->dirty = false;
	}
	TAILQ_REMOVE(&b->clients, c, entry);
	c->listener->nconns--;
	TAILQ_INSERT_TAIL(&b->dead, c, entry);
	event_active(b->ev_reap, 0, 0);
}

/* Queue bytes for the peer; flushed at the end of this loop iteration. */
int
client_send(struct client *c, const void *data, size_t len)
{
	struct broker *b = c->broker;

	if (c->state == CS_CLOSED || client_bufs(c) == -1)
		return -1;
	if (evbuffer_add(c->out, data, len) == -1)
		return -1;
	b->stats.bytes_out += len;
	if (!c->dirty) {
		c->dirty = true;
		TAILQ_INSERT_TAIL(&b->dirty, c, dirty_entry);
		event_active(b->ev_flush, 0, 0);
	}
	return 0;
}

/*
 * SSL_get_error() needs an empty error queue before each call; clearing
 * it costs more than the check, and it is nearly always empty already.
 */
static void
tls_err_reset(void)
{
	if (ERR_peek_error() != 0)
		ERR_clear_error();
}

/*
 * Sort out a failed SSL_* call: 0 when it only has to wait (for which
 * event, noted on the client), -1 when the client was closed.
 */
static int
client_tls_error(struct client *c, int ret, const char *what, bool reading)
{
	char msg[512];

	switch (SSL_get_error(c->ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		/* A write waits for the read event (TLS 1.2 renegotiation). */
		if (!reading)
			c->tls_wants_read = true;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		if (reading)
			c->tls_wants_write = true;
		client_want_write(c);
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		client_close(c, "peer closed the TLS session");
		return -1;
	case SSL_ERROR_SYSCALL:
		client_close(c, errno && errno != EAGAIN ? strerror(errno) :
		    "peer closed the connection");
		ERR_clear_error();
		return -1;
	default:
		snprintf(msg, sizeof(msg), "TLS %s failed: %s", what,
		    ossl_error());
		client_close(c, msg);
		return -1;
	}
}

static void
client_handshake(struct client *c)
{
	int ret;

	tls_err_reset();
	ret = SSL_do_handshake(c->ssl);
	if (ret != 1 && SSL_get_error(c->ssl, ret) == SSL_ERROR_WANT_ASYNC_JOB) {
		/* crl_cache.max_waiting handshakes wait: this one cannot. */
		SSL_clear_mode(c->ssl, SSL_MODE_ASYNC);
		tls_err_reset();
		ret = SSL_do_handshake(c->ssl);
	}
	if (ret != 1 && SSL_get_error(c->ssl, ret) == SSL_ERROR_WANT_ASYNC) {
		clientcheck_hold(c);	/* paused in the verify callback */
		return;
	}
	clientcheck_done(c);
	if (ret != 1) {
		(void)client_tls_error(c, ret, "handshake", true);
		return;
	}
	log_debug("%s: %s: %s %s", c->listener->name, c->peer,
	    SSL_get_version(c->ssl), SSL_get_cipher_name(c->ssl));
	/* Only handshakes pause: reads and writes need no async job. */
	SSL_clear_mode(c->ssl, SSL_MODE_ASYNC);
	c->state = CS_WAIT_CONNECT;
	client_timer_set(c, c->broker->lim.idle_timeout_ms);
	/*
	 * Application data that came with the last handshake flight and sits
	 * in OpenSSL's buffer has no read event to announce it; what is still
	 * in the socket has (level-triggered), and reading it now would cost
	 * a pair of buffers and an EAGAIN for every client that sent nothing.
	 */
	if (SSL_has_pending(c->ssl))
		client_read_cb(c->fd, EV_READ, c);
}

/*
 * OpenSSL reads ahead (tls.c): bytes it holds have no read event to
 * announce them, so a client that stopped reading with some there (its
 * read budget spent) is read again on the next turn of the loop.
 */
static void
client_tls_reread(struct client *c)
{
	if (c->ssl != NULL && !c->paused && c->state != CS_CLOSED &&
	    SSL_has_pending(c->ssl))
		event_active(c->ev_read, EV_READ, 0);
}

/* Read what is available, up to a budget. Returns bytes, or -1 closed. */
static ssize_t
client_fill(struct client *c)
{
	struct evbuffer_iovec v;
	ssize_t n, total = 0;
	int err;

	if (client_bufs(c) == -1) {
		client_close(c, "out of memory");
		return -1;
	}
	while (total < CLIENT_READ_BUDGET) {
		if (evbuffer_reserve_space(c->in, CLIENT_READ_CHUNK, &v,
		    1) != 1) {
			client_close(c, "out of memory");
			return -1;
		}
		if (c->ssl != NULL) {
			tls_err_reset();
			n = SSL_read(c->ssl, v.iov_base, v.iov_len);
			if (n <= 0) {
				evbuffer_commit_space(c->in, &v, 0);
				err = SSL_get_error(c->ssl, n);
				/* What came before the close is handled first. */
				if (total > 0 && err != SSL_ERROR_WANT_READ &&
				    err != SSL_ERROR_WANT_WRITE) {
					c->eof = true;
					return total;
				}
				return client_tls_error(c, n, "read", true) ==
				    -1 ? -1 : total;
			}
		} else {
			n = read(c->fd, v.iov_base, v.iov_len);
			if (n <= 0) {
				evbuffer_commit_space(c->in, &v, 0);
				if (n == -1 && (errno == EAGAIN ||
				    errno == EINTR))
					return total;
				if (total > 0) {
					c->eof = true;
					return total;
				}
				client_close(c, n == 0 ?
				    "peer closed the connection" :
				    strerror(errno));
				return -1;
			}
		}
		v.iov_len = n;
		evbuffer_commit_space(c->in, &v, 1);
		total += n;
		/* A short plain read means the socket is empty. */
		if (c->ssl == NULL && (size_t)n < CLIENT_READ_CHUNK)
			break;
	}
	return total;
}

static void
client_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	ssize_t n;

	(void)fd;
	(void)what;
	if (c->state == CS_CLOSED || c->state == CS_REV_WAIT)
		return;
	if (c->state == CS_PROXY) {
		client_proxy_read(c);
		return;
	}
	if (c->state == CS_TLS_HANDSHAKE) {
		client_handshake(c);
		return;
	}
	if (c->tls_wants_read) {
		/* A TLS write was waiting for this. */
		c->tls_wants_read = false;
		client_flush(c);
		if (c->state == CS_CLOSED)
			return;
	}
	if ((n = client_fill(c)) <= 0)
		return;
	c->broker->stats.bytes_in += n;
	c->last_rx_ms = broker_now_ms(c->broker);
	if (mqtt_input(c) == 0 && client_pending(c) > CLIENT_OUT_HIGH)
		client_pause(c, true);
	client_bufs_release(c);
	if (c->eof && c->state != CS_CLOSED)
		client_close(c, "peer closed the connection");
	else
		client_tls_reread(c);
}

/* Write out as much of c->out as the socket takes. */
static void
client_flush(struct client *c)
{
	size_t len;
	int n;

	while (c->out != NULL && (len = evbuffer_get_length(c->out)) > 0) {
		if (c->ssl != NULL) {
			if (len > CLIENT_READ_CHUNK)
				len = CLIENT_READ_CHUNK;
			tls_err_reset();
			n = SSL_write(c->ssl, evbuffer_pullup(c->out, len),
			    len);
			if (n <= 0) {
				(void)client_tls_error(c, n, "write", false);
				return;
			}
		} else {
			n = evbuffer_write(c->out, c->fd);
			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR) {
					client_want_write(c);
					return;
				}
				client_close(c, strerror(errno));
				return;
			}
			continue;
		}
		evbuffer_drain(c->out, n);
	}
	client_bufs_release(c);
	mqtt_output_drained(c);
}

static void
client_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;

	(void)fd;
	(void)what;
	if (c->state == CS_CLOSED || c->state == CS_REV_WAIT)
		return;
	if (c->state == CS_TLS_HANDSHAKE) {
		client_handshake(c);
		return;
	}
	if (c->tls_wants_write) {
		/* A TLS read was waiting for the socket to drain. */
		c->tls_wants_write = false;
		client_read_cb(fd, EV_READ, c);
		if (c->state == CS_CLOSED)
			return;
	}
	client_flush(c);
}

static void
client_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	int64_t left;

	(void)fd;
	(void)what;
	switch (c->state) {
	case CS_PROXY:
		if (c->proxy_retry) {
			c->proxy_retry = false;
			left = c->listener->proxy_timeout_ms -
			    (broker_now_ms(c->broker) - c->last_rx_ms);
			if (left > 0) {
				event_add(c->ev_read, NULL);
				client_timer_set(c, left);
				break;
			}
		}
		client_close(c, "no PROXY protocol header in time");
		break;
	case CS_TLS_HANDSHAKE:
		client_close(c, "TLS handshake timed out");
		break;
	case CS_REV_WAIT:
		clientcheck_timeout(c);
		break;
	case CS_WAIT_CONNECT:
		client_close(c, "no CONNECT in time");
		break;
	default:
		mqtt_timer(c);
		break;
	}
}

/*
 * A handshake paused for revocation data goes on, in its own read
 * callback (not in the caller's walk of the client list, which the
 * CONNECT that may follow could change): the verify callback judges
 * again.  What the peer sent meanwhile waits in the socket.
 */
void
client_resume(struct client *c)
{
	c->state = CS_TLS_HANDSHAKE;
	client_timer_set(c, c->listener->handshake_ms);
	event_add(c->ev_read, NULL);
	event_active(c->ev_read, EV_READ, 0);
}

/* Bytes queued for the peer and not yet written. */
size_t
client_pending(const struct client *c)
{
	return c->out != NULL ? evbuffer_get_length(c->out) : 0;
}

/*
 * Stop reading a client whose output backs up (it does not read what it
 * asked for), and resume once the output has drained: memory stays
 * bounded by the high-water mark, not by what the peer sends.
 */
void
client_pause(struct client *c, bool pause)
{
	if (c->state == CS_CLOSED || c->paused == pause)
		return;
	c->paused = pause;
	if (pause)
		event_del(c->ev_read);
	else {
		event_add(c->ev_read, NULL);
		/* Packets that arrived meanwhile are still buffered. */
		if (c->in != NULL && evbuffer_get_length(c->in) > 0)
			(void)mqtt_input(c);
		client_tls_reread(c);
	}
}

/*
 * A message payload: large ones are referenced, not copied, so a fan-out
 * to many subscribers shares one copy until each socket has taken it.
 */
int
client_send_msg_payload(struct client *c, struct msg *m)
{
	if (m->payload_len == 0)
		return 0;
	if (m->payload_len < 1024 || c->ssl != NULL)
		return client_send(c, m->payload, m->payload_len);
	if (client_bufs(c) == -1)
		return -1;
	msg_ref(m);
	if (evbuffer_add_reference(c->out, m->payload, m->payload_len,
	    client_msg_cleanup, m) == -1) {
		msg_unref(m);
		return -1;
	}
	c->broker->stats.bytes_out += m->payload_len;
	return 0;
}

/*
 * PROXY protocol: the header is peeked, then exactly its bytes are read,
 * so that a TLS listener's OpenSSL finds the ClientHello on the socket.
 */
static void
client_proxy_read(struct client *c)
{
	uint8_t buf[CLIENT_PROXY_PEEK];
	struct proxy_result pr;
	ssize_t n;
	char why[160];

	n = recv(c->fd, buf, sizeof(buf), MSG_PEEK);
	if (n <= 0) {
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		client_close(c, n == 0 ? "peer closed the connection" :
		    strerror(errno));
		return;
	}
	switch (proxy_parse(buf, n, &pr)) {
	case PROXY_NEED_MORE:
		if ((size_t)n == sizeof(buf)) {
			client_close(c, "PROXY header too long");
			return;
		}
		/* Level-triggered: wait a moment instead of spinning. */
		event_del(c->ev_read);
		c->proxy_retry = true;
		client_timer_set(c, CLIENT_PROXY_RETRY_MS);
		return;
	case PROXY_MALFORMED:
		snprintf(why, sizeof(why), "bad PROXY header: %s",
		    pr.reason ? pr.reason : "malformed");
		client_close(c, why);
		return;
	case PROXY_OK:
		break;
	}
	if (recv(c->fd, buf, pr.len, 0) != (ssize_t)pr.len) {
		client_close(c, "cannot read the PROXY header");
		return;
	}
	if (!pr.local) {
		client_peer_name(c, (struct sockaddr *)&pr.src);
		if (c->listener->rules != NULL && !access_allowed(
		    c->listener->rules, (struct sockaddr *)&pr.src)) {
			c->listener->denied++;
			client_close(c, "denied by access_rules");
			return;
		}
	}
	if (c->ssl != NULL) {
		c->state = CS_TLS_HANDSHAKE;
		client_timer_set(c, c->listener->handshake_ms);
	} else {
		c->state = CS_WAIT_CONNECT;
		client_timer_set(c, c->broker->lim.idle_timeout_ms);
	}
}

static void
client_msg_cleanup(const void *data, size_t len, void *arg)
{
	(void)data;
	(void)len;
	msg_unref(arg);
}

/* Flush every client with pending output: once per loop iteration. */
void
clients_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct broker *b = arg;
	struct client *c;

	(void)fd;
	(void)what;
	while ((c = TAILQ_FIRST(&b->dirty)) != NULL) {
		TAILQ_REMOVE(&b->dirty, c, dirty_entry);
		c->dirty = false;
		client_flush(c);
	}
}

void
clients_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct broker *b = arg;
	struct client *c;
	struct queued *q;

	(void)fd;
	(void)what;

	while ((q = TAILQ_FIRST(&b->wills)) != NULL) {
		TAILQ_REMOVE(&b->wills, q, entry);
		broker_route(b, q->msg);
		msg_unref(q->msg);
		free(q);
	}
	while ((c = TAILQ_FIRST(&b->dead)) != NULL) {
		TAILQ_REMOVE(&b->dead, c, entry);
		client_destroy(c);
	}
}
