/*
 * session.c: MQTT sessions: the table by client id, the in-flight window
 * of QoS 1 and 2 messages, the queue behind it, and delivery.
 *
 * A message for a session goes out at once when the client is online, the
 * window has room and nothing is queued before it; otherwise it waits in
 * the queue (mqtt.max_mqueue_len, oldest QoS 0 dropped first).  The queue
 * drains as acknowledgements free the window and as the client's socket
 * drains, so a slow reader never makes the broker buffer without bound.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "log.h"
#include "mqtt_codec.h"
#include "siphash.h"
#include "topic.h"

/* Above this much unsent output a client counts as slow. */
#define SESSION_OUT_HIGH	(256 * 1024)

static size_t
session_slot(struct broker *b, const char *id)
{
	return siphash13(b->session_key, id, strlen(id)) &
	    (b->session_slots - 1);
}

struct session *
session_find(struct broker *b, const char *id)
{
	struct session *s;

	if (b->session_slots == 0)
		return NULL;
	for (s = b->sessions[session_slot(b, id)]; s != NULL; s = s->hnext)
		if (strcmp(s->id, id) == 0)
			return s;
	return NULL;
}

static int
session_grow(struct broker *b)
{
	struct session **old = b->sessions, **tab, *s, *next;
	size_t i, oldslots = b->session_slots;
	size_t slots = oldslots ? oldslots * 2 : 1024;

	if ((tab = calloc(slots, sizeof(*tab))) == NULL)
		return -1;
	b->sessions = tab;
	b->session_slots = slots;
	for (i = 0; i < oldslots; i++)
		for (s = old[i]; s != NULL; s = next) {
			next = s->hnext;
			s->hnext = tab[session_slot(b, s->id)];
			tab[session_slot(b, s->id)] = s;
		}
	free(old);
	return 0;
}

/* A new, empty session in the table; NULL on ENOMEM. */
struct session *
session_new(struct broker *b, const char *id, bool clean)
{
	struct session *s;
	size_t slot;

	if (b->nsessions >= b->session_slots && session_grow(b) == -1)
		return NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if ((s->id = strdup(id)) == NULL) {
		free(s);
		return NULL;
	}
	s->clean = clean;
	s->next_id = 1;
	TAILQ_INIT(&s->flights);
	TAILQ_INIT(&s->queue);
	slot = session_slot(b, id);
	s->hnext = b->sessions[slot];
	b->sessions[slot] = s;
	b->nsessions++;
	return s;
}

static void
session_unlink(struct broker *b, struct session *s)
{
	struct session **pp;

	for (pp = &b->sessions[session_slot(b, s->id)]; *pp != NULL;
	    pp = &(*pp)->hnext)
		if (*pp == s) {
			*pp = s->hnext;
			b->nsessions--;
			return;
		}
}

void
session_free(struct broker *b, struct session *s)
{
	struct flight *f;
	struct queued *q;

	if (s == NULL)
		return;
	session_unlink(b, s);
	topic_unsubscribe_all(b->topics, s);
	while ((f = TAILQ_FIRST(&s->flights)) != NULL) {
		TAILQ_REMOVE(&s->flights, f, entry);
		msg_unref(f->msg);
		free(f);
	}
	while ((q = TAILQ_FIRST(&s->queue)) != NULL) {
		TAILQ_REMOVE(&s->queue, q, entry);
		msg_unref(q->msg);
		free(q);
	}
	free(s->rx_qos2);
	free(s->username);
	free(s->id);
	free(s);
}

/* The next packet id not in flight (MQTT-2.3.1-2). */
static uint16_t
session_next_id(struct session *s)
{
	struct flight *f;
	uint16_t id;

	for (;;) {
		id = s->next_id++;
		if (s->next_id == 0)
			s->next_id = 1;
		TAILQ_FOREACH(f, &s->flights, entry)
			if (f->id == id)
				break;
		if (f == NULL)
			return id;
	}
}

/* Write one PUBLISH: header from the stack, payload shared. */
static int
session_send_publish(struct client *c, struct msg *m, uint8_t qos,
    bool retain, uint16_t id, bool dup)
{
	struct mqtt_publish p;
	uint8_t hdr[MQTT_MAX_HEADER + 2 + MQTT_MAX_STRING + 2];
	size_t n;

	memset(&p, 0, sizeof(p));
	p.dup = dup;
	p.qos = qos;
	p.retain = retain;
	p.topic.s = m->topic;
	p.topic.len = m->topic_len;
	p.id = id;
	p.payload = m->payload;
	p.payload_len = m->payload_len;
	if ((n = mqtt_encode_publish_header(hdr, sizeof(hdr), c->level,
	    &p)) == 0 || client_send(c, hdr, n) == -1 ||
	    client_send_msg_payload(c, m) == -1)
		return -1;
	c->broker->stats.msgs_out++;
	return 0;
}

static int
session_send_new(struct broker *b, struct session *s, struct msg *m,
    uint8_t qos, bool retain)
{
	struct flight *f;

	if (qos == 0)
		return session_send_publish(s->client, m, 0, retain, 0, false);
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	f->msg = msg_ref(m);
	f->qos = qos;
	f->id = session_next_id(s);
	f->state = qos == 1 ? FL_PUBACK : FL_PUBREC;
	TAILQ_INSERT_TAIL(&s->flights, f, entry);
	s->nflights++;
	(void)b;
	return session_send_publish(s->client, m, qos, retain, f->id, false);
}

static bool
session_can_send(struct broker *b, struct session *s, uint8_t qos)
{
	if (s->client == NULL || s->client->state != CS_ACTIVE)
		return false;
	if (client_pending(s->client) > SESSION_OUT_HIGH)
		return false;
	return qos == 0 || s->nflights < b->lim.max_inflight;
}

/*
 * Make room in a full queue: the oldest QoS 0 message goes first, then
 * the oldest of any QoS.  Returns 0 with room made, or -1 when the new
 * message itself is the one to drop (QoS 0 into a queue without any).
 */
static int
session_queue_make_room(struct broker *b, struct session *s, uint8_t qos)
{
	struct queued *q;

	if (s->nqueued < b->lim.max_mqueue_len)
		return 0;
	if (s->nqueued_qos0 == 0 && qos == 0)
		return -1;
	TAILQ_FOREACH(q, &s->queue, entry)
		if (q->qos == 0 || s->nqueued_qos0 == 0)
			break;
	TAILQ_REMOVE(&s->queue, q, entry);
	s->nqueued--;
	if (q->qos == 0)
		s->nqueued_qos0--;
	msg_unref(q->msg);
	free(q);
	b->stats.dropped++;
	return 0;
}

static void
session_enqueue(struct broker *b, struct session *s, struct msg *m,
    uint8_t qos, bool retain)
{
	struct queued *q;

	if (qos == 0 && s->client == NULL && !b->lim.mqueue_store_qos0)
		return;
	if (session_queue_make_room(b, s, qos) == -1 ||
	    (q = calloc(1, sizeof(*q))) == NULL) {
		b->stats.dropped++;
		log_debug("%s: queue full, message on %s dropped", s->id,
		    m->topic);
		return;
	}
	q->msg = msg_ref(m);
	q->qos = qos;
	q->retain = retain;
	TAILQ_INSERT_TAIL(&s->queue, q, entry);
	s->nqueued++;
	if (qos == 0)
		s->nqueued_qos0++;
}

void
session_deliver(struct broker *b, struct session *s, struct msg *m,
    uint8_t qos, bool retain)
{
	/* Order is kept: nothing overtakes what is already queued. */
	if (TAILQ_EMPTY(&s->queue) && session_can_send(b, s, qos)) {
		if (session_send_new(b, s, m, qos, retain) == -1)
			client_close(s->client, "out of memory");
		return;
	}
	session_enqueue(b, s, m, qos, retain);
}

/* Send queued messages while the window and the socket have room. */
void
session_pump(struct broker *b, struct session *s)
{
	struct queued *q;

	while ((q = TAILQ_FIRST(&s->queue)) != NULL &&
	    session_can_send(b, s, q->qos)) {
		TAILQ_REMOVE(&s->queue, q, entry);
		s->nqueued--;
		if (q->qos == 0)
			s->nqueued_qos0--;
		if (session_send_new(b, s, q->msg, q->qos, q->retain) == -1)
			client_close(s->client, "out of memory");
		msg_unref(q->msg);
		free(q);
	}
}

/*
 * After a reconnect to a persistent session: everything unacknowledged
 * goes again, PUBLISH with DUP set and PUBREL as it was (MQTT-4.4.0-1).
 */
void
session_resend(struct broker *b, struct session *s)
{
	struct flight *f;

	TAILQ_FOREACH(f, &s->flights, entry) {
		if (f->state == FL_PUBCOMP) {
			if (mqtt_send_ack(s->client, MQTT_PUBREL, f->id) == -1)
				return;
		} else if (session_send_publish(s->client, f->msg, f->qos,
		    false, f->id, true) == -1)
			return;
	}
	session_pump(b, s);
}

/*
 * An acknowledgement for id arrived, expected in state want.  PUBREC moves
 * the message to PUBCOMP; PUBACK and PUBCOMP free its slot.  Returns 0, or
 * -1 when no message waits for that acknowledgement (a protocol error the
 * caller ignores, as the peer may be repeating itself after a reconnect).
 */
int
session_ack(struct broker *b, struct session *s, uint16_t id,
    enum flight_state want)
{
	struct flight *f;

	TAILQ_FOREACH(f, &s->flights, entry)
		if (f->id == id)
			break;
	if (f == NULL || f->state != want)
		return -1;
	if (want == FL_PUBREC) {
		f->state = FL_PUBCOMP;
		return mqtt_send_ack(s->client, MQTT_PUBREL, id);
	}
	TAILQ_REMOVE(&s->flights, f, entry);
	s->nflights--;
	msg_unref(f->msg);
	free(f);
	session_pump(b, s);
	return 0;
}

/* Drop persistent sessions whose client stayed away too long. */
void
sessions_expire(struct broker *b)
{
	struct session *s, *next;
	int64_t now = broker_now_ms(b);
	size_t i;

	for (i = 0; i < b->session_slots; i++)
		for (s = b->sessions[i]; s != NULL; s = next) {
			next = s->hnext;
			if (s->client == NULL && s->expires_ms <= now) {
				log_info("%s: session expired", s->id);
				session_free(b, s);
			}
		}
}

void
sessions_free(struct broker *b)
{
	size_t i;

	for (i = 0; i < b->session_slots; i++)
		while (b->sessions[i] != NULL)
			session_free(b, b->sessions[i]);
	free(b->sessions);
	b->sessions = NULL;
	b->session_slots = 0;
}
