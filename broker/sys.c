/*
 * sys.c: the $SYS/broker/... topics, as mosquitto publishes them:
 * retained, refreshed every sys_topics.sys_msg_interval.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "broker.h"
#include "log.h"
#include "retain.h"
#include "topic.h"

static void
sys_one(struct broker *b, const char *topic, const char *value)
{
	struct msg *m;

	if ((m = msg_new(topic, strlen(topic), value, strlen(value), 0,
	    true)) == NULL)
		return;
	broker_route(b, m);
	msg_unref(m);
}

static void
sys_num(struct broker *b, const char *topic, uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	sys_one(b, topic, buf);
}

void
sys_publish(struct broker *b)
{
	struct broker_stats *st = &b->stats;
	char buf[64];

	sys_one(b, "$SYS/broker/version", "staplemq " STAPLEMQ_VERSION);
	snprintf(buf, sizeof(buf), "%lld seconds",
	    (long long)((broker_now_ms(b) - b->start_ms) / 1000));
	sys_one(b, "$SYS/broker/uptime", buf);
	sys_num(b, "$SYS/broker/clients/connected", st->connected);
	sys_num(b, "$SYS/broker/clients/total", b->nsessions);
	sys_num(b, "$SYS/broker/messages/received", st->msgs_in);
	sys_num(b, "$SYS/broker/messages/sent", st->msgs_out);
	sys_num(b, "$SYS/broker/publish/messages/dropped", st->dropped);
	sys_num(b, "$SYS/broker/bytes/received", st->bytes_in);
	sys_num(b, "$SYS/broker/bytes/sent", st->bytes_out);
	sys_num(b, "$SYS/broker/subscriptions/count",
	    topic_tree_subscriptions(b->topics));
	sys_num(b, "$SYS/broker/retained messages/count",
	    retain_count(b->retained));
}
