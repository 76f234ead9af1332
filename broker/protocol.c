/*
 * protocol.c: the MQTT side of a connection: cut the input into packets,
 * check each one, hand it to its handler, keep the keepalive, and settle
 * the session and the will when the connection ends.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "broker.h"
#include "log.h"
#include "mqtt_codec.h"

/* Protocol errors close the connection and are logged once, at info. */
static int
mqtt_malformed(struct client *c, const char *what)
{
	c->broker->stats.malformed++;
	client_close(c, what);
	return -1;
}

int
mqtt_send_ack(struct client *c, int type, uint16_t id)
{
	struct mqtt_packet p;
	uint8_t buf[8];
	size_t n;

	memset(&p, 0, sizeof(p));
	p.type = type;
	p.ack.id = id;
	if ((n = mqtt_encode(buf, sizeof(buf), c->level, &p)) == 0)
		return -1;
	return client_send(c, buf, n);
}

static int
mqtt_dispatch(struct client *c, const struct mqtt_packet *p)
{
	if (c->state == CS_WAIT_CONNECT) {
		if (p->type != MQTT_CONNECT)
			return mqtt_malformed(c, "MQTT-3.1.0-1 first packet "
			    "is not CONNECT");
		return handle_connect(c, p);
	}
	switch (p->type) {
	case MQTT_CONNECT:
		return mqtt_malformed(c, "MQTT-3.1.0-2 second CONNECT");
	case MQTT_PUBLISH:
		return handle_publish(c, p);
	case MQTT_PUBACK:
		return handle_puback(c, p);
	case MQTT_PUBREC:
		return handle_pubrec(c, p);
	case MQTT_PUBREL:
		return handle_pubrel(c, p);
	case MQTT_PUBCOMP:
		return handle_pubcomp(c, p);
	case MQTT_SUBSCRIBE:
		return handle_subscribe(c, p);
	case MQTT_UNSUBSCRIBE:
		return handle_unsubscribe(c, p);
	case MQTT_PINGREQ:
		return mqtt_send_ack(c, MQTT_PINGRESP, 0);
	case MQTT_DISCONNECT:
		handle_disconnect(c);
		return -1;
	default:
		return mqtt_malformed(c, "unexpected packet type");
	}
}

/*
 * Handle every complete packet in the input buffer.  Returns 0, or -1
 * when the client was closed.
 */
int
mqtt_input(struct client *c)
{
	struct mqtt_frame fr;
	struct mqtt_packet p;
	struct mqtt_error err;
	enum mqtt_status st;
	const uint8_t *buf;
	size_t len, hl;
	char why[160];

	while (c->state != CS_CLOSED && !c->paused && c->in != NULL &&
	    (len = evbuffer_get_length(c->in)) > 0) {
		/* The fixed header alone says how long the packet is. */
		hl = len < MQTT_MAX_HEADER ? len : MQTT_MAX_HEADER;
		buf = evbuffer_pullup(c->in, hl);
		st = mqtt_frame(buf, hl, c->broker->lim.max_packet, &fr);
		if (st == MQTT_NEED_MORE && (fr.total_len == 0 ||
		    fr.total_len > len))
			return 0;
		if (st == MQTT_TOO_BIG) {
			snprintf(why, sizeof(why), "%s of %zu bytes is over "
			    "mqtt.max_packet_size", mqtt_type_name(fr.type),
			    fr.total_len);
			return mqtt_malformed(c, why);
		}
		if (st == MQTT_MALFORMED)
			return mqtt_malformed(c, "MQTT-2.2.3 bad remaining "
			    "length");
		/* The whole packet, contiguous, for the decoder. */
		buf = evbuffer_pullup(c->in, fr.total_len);
		(void)mqtt_frame(buf, fr.total_len, 0, &fr);
		st = mqtt_decode(&fr, MQTT_FROM_CLIENT, c->level, &p, &err);
		if (st == MQTT_BAD_VERSION) {
			handle_connect(c, NULL);
			return -1;
		}
		if (st != MQTT_OK)
			return mqtt_malformed(c, err.reason);
		if (mqtt_dispatch(c, &p) == -1 || c->state == CS_CLOSED)
			return -1;
		evbuffer_drain(c->in, fr.total_len);
	}
	return 0;
}

/* The keepalive: 1.5 times the interval without a packet (3.1.2.10). */
void
mqtt_timer(struct client *c)
{
	int64_t limit, idle;

	if (c->keepalive == 0)
		return;
	limit = (int64_t)c->keepalive * 1500;
	idle = broker_now_ms(c->broker) - c->last_rx_ms;
	if (idle >= limit) {
		client_close(c, "MQTT-3.1.2-24 keepalive timed out");
		return;
	}
	client_timer_set(c, limit - idle);
}

/* All output written: room for queued messages, and reading resumes. */
void
mqtt_output_drained(struct client *c)
{
	if (c->paused)
		client_pause(c, false);
	if (c->session != NULL && c->state == CS_ACTIVE &&
	    !TAILQ_EMPTY(&c->session->queue))
		session_pump(c->broker, c->session);
}

/*
 * Wills are published by the reaper, at a safe point of the loop: a close
 * can happen in the middle of routing another message.
 */
static void
broker_will_later(struct broker *b, struct msg *will)
{
	struct queued *q;

	if ((q = calloc(1, sizeof(*q))) == NULL) {
		log_warnx("out of memory: will on %s lost", will->topic);
		return;
	}
	q->msg = msg_ref(will);
	TAILQ_INSERT_TAIL(&b->wills, q, entry);
	event_active(b->ev_reap, 0, 0);
}

/*
 * The connection is going away: publish the will unless the client said
 * DISCONNECT (MQTT-3.1.2-8, -10), and keep or drop the session.
 */
void
mqtt_client_closed(struct client *c)
{
	struct broker *b = c->broker;
	struct session *s = c->session;
	struct msg *will = c->will;

	if (c->state == CS_ACTIVE)
		b->stats.connected--;
	c->will = NULL;
	c->session = NULL;
	if (s != NULL && s->client == c) {
		s->client = NULL;
		if (s->clean) {
			/* The id was the session's; nothing logs it later. */
			c->id = NULL;
			c->id_borrowed = false;
			session_free(b, s);
		}
		else
			s->expires_ms = broker_now_ms(b) +
			    b->lim.session_expiry_ms;
	}
	if (will != NULL) {
		if (!c->graceful)
			broker_will_later(b, will);
		msg_unref(will);
	}
}

void
mqtt_client_release(struct client *c)
{
	msg_unref(c->will);
	if (!c->id_borrowed)
		free(c->id);
	free(c->username);
}
