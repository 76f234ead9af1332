/*
 * handle_subscribe.c: SUBSCRIBE and UNSUBSCRIBE, with the filter checks,
 * the broker's QoS ceiling, authorization, and the retained messages a
 * new subscription receives.
 */
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "broker.h"
#include "log.h"
#include "mqtt_codec.h"
#include "retain.h"
#include "topic.h"

#define SUB_MAX_FILTERS	1024	/* per packet; more is refused */

struct retained_send {
	struct client	*client;	/* outlives a close, not its session */
	uint8_t		 qos;
};

static int
subscribe_retained_cb(void *arg, const char *topic, size_t len, void *msg)
{
	struct retained_send *rs = arg;
	struct msg *m = msg;

	(void)topic;
	(void)len;
	if (rs->client->state == CS_CLOSED)
		return 1;
	/* A wide filter may cover topics this client may not read. */
	if (rs->client->broker->acl != NULL && !acl_check(
	    rs->client->broker->acl, rs->client->username, rs->client->id,
	    m->topic, m->topic_len, ACL_READ))
		return 0;
	/* Sent because of the subscription: retain flag set (3.3.1-8). */
	session_deliver(rs->client->broker, rs->client->session, m,
	    m->qos < rs->qos ? m->qos : rs->qos, true);
	return 0;
}

/* The SUBACK code for one filter: the granted QoS or 0x80. */
static uint8_t
subscribe_one(struct client *c, const struct mqtt_filter *f)
{
	struct broker *b = c->broker;
	uint8_t qos = f->options & MQTT_SUBOPT_QOS_MASK;
	const char *why;

	if ((why = topic_filter_check(f->topic.s, f->topic.len,
	    b->lim.max_topic_levels)) != NULL) {
		log_info("%s: %s: %s: SUBSCRIBE %.*s refused: %s",
		    c->listener->name, c->peer, c->id, (int)f->topic.len,
		    f->topic.s, why);
		return MQTT_SUBACK_FAILURE;
	}
	if (!b->lim.wildcard_subscription &&
	    mqtt_topic_has_wildcard(f->topic.s, f->topic.len)) {
		log_info("%s: %s: %s: SUBSCRIBE %.*s refused: "
		    "mqtt.wildcard_subscription is false", c->listener->name,
		    c->peer, c->id, (int)f->topic.len, f->topic.s);
		return MQTT_SUBACK_FAILURE;
	}
	if (b->acl != NULL && !acl_check(b->acl, c->username, c->id,
	    f->topic.s, f->topic.len, ACL_READ)) {
		b->stats.sub_denied++;
		log_info("%s: %s: %s: SUBSCRIBE %.*s not authorized",
		    c->listener->name, c->peer, c->id, (int)f->topic.len,
		    f->topic.s);
		return MQTT_SUBACK_FAILURE;
	}
	if (qos > b->lim.max_qos)
		qos = b->lim.max_qos;
	if (topic_subscribe(b->topics, f->topic.s, f->topic.len, c->session,
	    qos, NULL) == -1)
		return MQTT_SUBACK_FAILURE;
	return qos;
}

int
handle_subscribe(struct client *c, const struct mqtt_packet *p)
{
	struct broker *b = c->broker;
	struct mqtt_filter_iter it;
	struct mqtt_filter f;
	struct mqtt_packet ack;
	struct retained_send rs;
	uint8_t codes[SUB_MAX_FILTERS], *buf;
	size_t n = 0, i, len;
	int rc;

	if (p->subscribe.count > SUB_MAX_FILTERS) {
		client_close(c, "SUBSCRIBE with too many filters");
		return -1;
	}
	mqtt_filter_first(&it, p);
	while (mqtt_filter_next(&it, &f))
		codes[n++] = subscribe_one(c, &f);
	memset(&ack, 0, sizeof(ack));
	ack.type = MQTT_SUBACK;
	ack.suback.id = p->subscribe.id;
	ack.suback.count = n;
	ack.suback.codes = codes;
	len = mqtt_packet_size(c->level, &ack);
	if ((buf = malloc(len)) == NULL) {
		client_close(c, "out of memory");
		return -1;
	}
	rc = mqtt_encode(buf, len, c->level, &ack) == len ?
	    client_send(c, buf, len) : -1;
	free(buf);
	if (rc == -1) {
		client_close(c, "cannot send SUBACK");
		return -1;
	}
	/* Retained messages follow the SUBACK (MQTT-3.8.4-4 ordering). */
	rs.client = c;
	mqtt_filter_first(&it, p);
	for (i = 0; mqtt_filter_next(&it, &f); i++) {
		if (codes[i] == MQTT_SUBACK_FAILURE)
			continue;
		rs.qos = codes[i];
		if (retain_match(b->retained, f.topic.s, f.topic.len,
		    subscribe_retained_cb, &rs) != 0)
			break;
	}
	return c->state == CS_CLOSED ? -1 : 0;
}

int
handle_unsubscribe(struct client *c, const struct mqtt_packet *p)
{
	struct mqtt_filter_iter it;
	struct mqtt_filter f;

	mqtt_filter_first(&it, p);
	while (mqtt_filter_next(&it, &f))
		(void)topic_unsubscribe(c->broker->topics, f.topic.s,
		    f.topic.len, c->session);
	return mqtt_send_ack(c, MQTT_UNSUBACK, p->subscribe.id);
}
