/*
 * handle_publish.c: PUBLISH from clients with the QoS 1 and 2 flows,
 * the acknowledgements of what the broker sent, and routing a message to
 * every matching session.
 *
 * QoS 2 is delivered onward when the PUBLISH arrives, and its packet id
 * is remembered until PUBREL, so a repeated PUBLISH is acknowledged but
 * not delivered twice (method B of 4.3.3).
 */
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "broker.h"
#include "log.h"
#include "mqtt_codec.h"
#include "retain.h"
#include "topic.h"

#define RX_QOS2_BYTES	(65536 / 8)

static bool
pubrec_seen(struct session *s, uint16_t id)
{
	return s->rx_qos2 != NULL && (s->rx_qos2[id >> 3] & (1 << (id & 7)));
}

static int
pubrec_mark(struct session *s, uint16_t id, bool on)
{
	if (s->rx_qos2 == NULL) {
		if (!on)
			return 0;
		if ((s->rx_qos2 = calloc(1, RX_QOS2_BYTES)) == NULL)
			return -1;
	}
	if (on)
		s->rx_qos2[id >> 3] |= 1 << (id & 7);
	else
		s->rx_qos2[id >> 3] &= ~(1 << (id & 7));
	return 0;
}

static void
route_match_cb(void *subscriber, uint8_t qos, const char *filter,
    size_t flen, void *arg)
{
	struct broker *b = arg;
	struct session *s = subscriber, **grown;

	(void)filter;
	(void)flen;
	/* Overlapping filters: one delivery at the highest QoS (3.3.5). */
	if (s->match_gen == b->match_gen) {
		if (qos > s->match_qos)
			s->match_qos = qos;
		return;
	}
	if (b->nmatched == b->matched_cap) {
		grown = reallocarray(b->matched, b->matched_cap ?
		    b->matched_cap * 2 : 64, sizeof(*grown));
		if (grown == NULL) {
			b->stats.dropped++;
			return;
		}
		b->matched = grown;
		b->matched_cap = b->matched_cap ? b->matched_cap * 2 : 64;
	}
	s->match_gen = b->match_gen;
	s->match_qos = qos;
	b->matched[b->nmatched++] = s;
}

/* Deliver m to every session with a matching subscription. */
void
broker_route(struct broker *b, struct msg *m)
{
	struct session *s;
	size_t i;

	if (m->retain && b->lim.retain_available) {
		struct msg *old = NULL;

		if (retain_set(b->retained, m->topic, m->topic_len,
		    m->payload_len > 0 ? msg_ref(m) : NULL, (void **)&old) ==
		    -1) {
			if (m->payload_len > 0)
				msg_unref(m);
			log_warnx("cannot retain a message on %s", m->topic);
		}
		msg_unref(old);
	}
	b->match_gen++;
	b->nmatched = 0;
	topic_match(b->topics, m->topic, m->topic_len, route_match_cb, b);
	/* Delivery may close clients; the tree is not touched meanwhile. */
	for (i = 0; i < b->nmatched; i++) {
		s = b->matched[i];
		/* A wide subscription may still cover a denied topic. */
		if (b->acl != NULL && !acl_check(b->acl, s->username, s->id,
		    m->topic, m->topic_len, ACL_READ))
			continue;
		session_deliver(b, s, m, m->qos < s->match_qos ? m->qos :
		    s->match_qos, false);
	}
	b->nmatched = 0;
}

static bool
publish_allowed(struct client *c, const struct mqtt_publish *pub)
{
	struct broker *b = c->broker;

	/* Clients do not write the broker's own statistics. */
	if (pub->topic.len > 0 && pub->topic.s[0] == '$')
		return false;
	return b->acl == NULL || acl_check(b->acl, c->username, c->id,
	    pub->topic.s, pub->topic.len, ACL_WRITE);
}

int
handle_publish(struct client *c, const struct mqtt_packet *p)
{
	const struct mqtt_publish *pub = &p->publish;
	struct broker *b = c->broker;
	struct session *s = c->session;
	const char *why;
	struct msg *m;
	bool deliver = true;

	if ((why = topic_name_check(pub->topic.s, pub->topic.len,
	    b->lim.max_topic_levels)) != NULL) {
		b->stats.malformed++;
		client_close(c, why);
		return -1;
	}
	if (pub->retain && !b->lim.retain_available) {
		client_close(c, "retained PUBLISH, but mqtt.retain_available "
		    "is false");
		return -1;
	}
	b->stats.msgs_in++;
	if (pub->qos == 2 && pubrec_seen(s, pub->id))
		deliver = false;	/* a repeat: acknowledge only */
	if (deliver && !publish_allowed(c, pub)) {
		b->stats.pub_denied++;
		log_info("%s: %s: %s: PUBLISH to %.*s not authorized, dropped",
		    c->listener->name, c->peer, c->id, (int)pub->topic.len,
		    pub->topic.s);
		deliver = false;
	}
	if (deliver) {
		if ((m = msg_new(pub->topic.s, pub->topic.len, pub->payload,
		    pub->payload_len, pub->qos > b->lim.max_qos ?
		    b->lim.max_qos : pub->qos, pub->retain)) == NULL) {
			client_close(c, "out of memory");
			return -1;
		}
		broker_route(b, m);
		msg_unref(m);
		if (c->state == CS_CLOSED)
			return -1;
	}
	if (pub->qos == 1)
		return mqtt_send_ack(c, MQTT_PUBACK, pub->id);
	if (pub->qos == 2) {
		if (pubrec_mark(s, pub->id, true) == -1) {
			client_close(c, "out of memory");
			return -1;
		}
		return mqtt_send_ack(c, MQTT_PUBREC, pub->id);
	}
	return 0;
}

int
handle_pubrel(struct client *c, const struct mqtt_packet *p)
{
	/* PUBCOMP even for an unknown id: the peer may be retrying. */
	(void)pubrec_mark(c->session, p->ack.id, false);
	return mqtt_send_ack(c, MQTT_PUBCOMP, p->ack.id);
}

int
handle_puback(struct client *c, const struct mqtt_packet *p)
{
	(void)session_ack(c->broker, c->session, p->ack.id, FL_PUBACK);
	return 0;
}

int
handle_pubrec(struct client *c, const struct mqtt_packet *p)
{
	if (session_ack(c->broker, c->session, p->ack.id, FL_PUBREC) == -1 &&
	    c->state != CS_CLOSED)
		/* Unknown id: release it so the peer can forget it too. */
		return mqtt_send_ack(c, MQTT_PUBREL, p->ack.id);
	return 0;
}

int
handle_pubcomp(struct client *c, const struct mqtt_packet *p)
{
	(void)session_ack(c->broker, c->session, p->ack.id, FL_PUBCOMP);
	return 0;
}
