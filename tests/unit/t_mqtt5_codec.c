/*
 * t_mqtt5_codec.c: unit tests for the MQTT 5.0 side of broker/mqtt_codec.c
 * (3.1.1 is in t_mqtt_codec.c; the helpers both use in mqtt_testutil.c).
 *
 * Spec vectors are written out byte by byte; malformed ones are named
 * after the normative statement they break (test_mqtt_3_3_2_14_... breaks
 * [MQTT-3.3.2-14]) and check that the decoder reports that statement.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "broker/mqtt_codec.h"
#include "mqtt_testutil.h"

/* --- MQTT 5.0: spec-shaped vectors --------------------------------------- */

/* CONNECT with properties, will properties, user name and password. */
static const uint8_t v5_connect[] = {
	CONNECT_VH5(0xee),
	0x0f,					/* property length */
	0x11, 0x00, 0x00, 0x00, 0x78,		/* session expiry 120 */
	0x21, 0x00, 0x14,			/* receive maximum 20 */
	0x26, 0x00, 0x01, 'k', 0x00, 0x01, 'v',	/* user k=v */
	0x00, 0x03, 'c', 'i', 'd',
	0x0e,					/* will property length */
	0x01, 0x01,				/* payload format 1 */
	0x03, 0x00, 0x04, 't', 'e', 'x', 't',	/* content type */
	0x18, 0x00, 0x00, 0x00, 0x0a,		/* will delay 10 */
	0x00, 0x03, 'a', '/', 'w',
	0x00, 0x02, 'h', 'i',
	0x00, 0x01, 'u',
	0x00, 0x02, 'p', 'w',
};

static void
test_v5_spec_connect(void **state)
{
	struct mqtt_packet	 pkt;
	struct mqtt_connect	*c = &pkt.connect;
	struct mqtt_prop_iter	 it;
	struct mqtt_user_prop	 u;
	uint8_t			 buf[128];
	size_t			 n;

	(void)state;
	n = build(buf, sizeof(buf), 0x10, v5_connect, sizeof(v5_connect));
	assert_int_equal(decode(buf, n, C2S, 0, &pkt, NULL), MQTT_OK);
	assert_int_equal(c->level, 5);
	assert_true(c->clean);
	assert_int_equal(c->props.present, MQTT_PROP_BIT(0x11) |
	    MQTT_PROP_BIT(0x21) | MQTT_PROP_BIT(0x26));
	assert_int_equal(c->props.session_expiry, 120);
	assert_int_equal(c->props.receive_maximum, 20);
	assert_int_equal(c->props.user_count, 1);
	mqtt_user_first(&it, &c->props);
	assert_true(mqtt_user_next(&it, &u));
	assert_str(u.name, "k");
	assert_str(u.value, "v");
	assert_false(mqtt_user_next(&it, &u));
	assert_str(c->client_id, "cid");
	assert_true(c->will);
	assert_int_equal(c->will_qos, 1);
	assert_true(c->will_retain);
	assert_int_equal(c->will_props.present, MQTT_PROP_BIT(0x01) |
	    MQTT_PROP_BIT(0x03) | MQTT_PROP_BIT(0x18));
	assert_int_equal(c->will_props.payload_format, 1);
	assert_str(c->will_props.content_type, "text");
	assert_int_equal(c->will_props.will_delay, 10);
	assert_str(c->will_topic, "a/w");
	assert_bin(c->will_payload, "hi");
	assert_str(c->username, "u");
	assert_bin(c->password, "pw");
	/* Properties are written in identifier order: the same bytes. */
	expect_encoding(L5, &pkt, buf, n);
}

/* A server PUBLISH with every PUBLISH property, two subscription ids. */
static const uint8_t v5_publish[] = {
	0x00, 0x03, 'a', '/', 'b', 0x00, 0x07,
	0x2c,
	0x01, 0x01,
	0x02, 0x00, 0x00, 0x01, 0x2c,
	0x03, 0x00, 0x02, 'j', 's',
	0x08, 0x00, 0x03, 'r', '/', 'x',
	0x09, 0x00, 0x02, 0xab, 0xcd,
	0x23, 0x00, 0x02,
	0x0b, 0x05,
	0x0b, 0x80, 0x01,
	0x26, 0x00, 0x01, 'a', 0x00, 0x01, 'b',
	0x26, 0x00, 0x01, 'c', 0x00, 0x00,
	'x', 'y',
};

static void
test_v5_spec_publish(void **state)
{
	struct mqtt_packet	 pkt;
	struct mqtt_props	*pr = &pkt.publish.props;
	struct mqtt_prop_iter	 it;
	struct mqtt_user_prop	 u;
	uint8_t			 buf[128];
	uint32_t		 sid;
	size_t			 n;

	(void)state;
	n = build(buf, sizeof(buf), 0x32, v5_publish, sizeof(v5_publish));
	assert_int_equal(decode(buf, n, S2C, L5, &pkt, NULL), MQTT_OK);
	assert_str(pkt.publish.topic, "a/b");
	assert_int_equal(pkt.publish.id, 7);
	assert_int_equal(pr->payload_format, 1);
	assert_int_equal(pr->message_expiry, 300);
	assert_str(pr->content_type, "js");
	assert_str(pr->response_topic, "r/x");
	assert_int_equal(pr->correlation_data.len, 2);
	assert_memory_equal(pr->correlation_data.p, "\xab\xcd", 2);
	assert_int_equal(pr->topic_alias, 2);
	assert_int_equal(pr->subscription_id, 5);
	assert_int_equal(pr->sub_id_count, 2);
	mqtt_subid_first(&it, pr);
	assert_true(mqtt_subid_next(&it, &sid));
	assert_int_equal(sid, 5);
	assert_true(mqtt_subid_next(&it, &sid));
	assert_int_equal(sid, 128);
	assert_false(mqtt_subid_next(&it, &sid));
	assert_int_equal(pr->user_count, 2);
	mqtt_user_first(&it, pr);
	assert_true(mqtt_user_next(&it, &u));
	assert_str(u.name, "a");
	assert_str(u.value, "b");
	assert_true(mqtt_user_next(&it, &u));
	assert_str(u.name, "c");
	assert_str(u.value, "");
	assert_false(mqtt_user_next(&it, &u));
	assert_int_equal(pkt.publish.payload_len, 2);
	expect_encoding(L5, &pkt, buf, n);
	/* The same from a client breaks MQTT-3.3.4-6. */
	expect_bad_lv(L5, 0x32, v5_publish, sizeof(v5_publish), C2S,
	    "MQTT-3.3.4-6", PROTO);
}

static void
test_v5_spec_subscribe(void **state)
{
	struct mqtt_packet	 pkt;
	struct mqtt_filter_iter	 it;
	struct mqtt_filter	 f;
	uint8_t			 buf[64];
	size_t			 n;

	(void)state;
	n = build(buf, sizeof(buf), 0x82, BYTES(0x00, 0x01,
	    0x09, 0x0b, 0x0a, 0x26, 0x00, 0x01, 'k', 0x00, 0x01, 'v',
	    0x00, 0x03, 'a', '/', 'b', 0x2d,
	    0x00, 0x0a, '$', 's', 'h', 'a', 'r', 'e', '/', 'g', '/', 't',
	    0x02));
	assert_int_equal(decode(buf, n, C2S, L5, &pkt, NULL), MQTT_OK);
	assert_int_equal(pkt.subscribe.props.subscription_id, 10);
	assert_int_equal(pkt.subscribe.props.user_count, 1);
	assert_int_equal(pkt.subscribe.count, 2);
	mqtt_filter_first(&it, &pkt);
	assert_true(mqtt_filter_next(&it, &f));
	assert_str(f.topic, "a/b");
	/* QoS 1, no local, retain as published, retain handling 2. */
	assert_int_equal(f.options & MQTT_SUBOPT_QOS_MASK, 1);
	assert_true(f.options & MQTT_SUBOPT_NO_LOCAL);
	assert_true(f.options & MQTT_SUBOPT_RETAIN_AS_PUBLISHED);
	assert_int_equal((f.options & MQTT_SUBOPT_RETAIN_HANDLING) >> 4, 2);
	assert_true(mqtt_filter_next(&it, &f));
	assert_str(f.topic, "$share/g/t");
	assert_int_equal(f.options, 2);
	expect_encoding(L5, &pkt, buf, n);
}

static void
test_v5_spec_server_packets(void **state)
{
	struct mqtt_packet	 pkt;

	(void)state;
	/* CONNACK: session present, success, three properties. */
	assert_int_equal(decode(BYTES(0x20, 0x0a, 0x01, 0x00, 0x07,
	    0x13, 0x00, 0x1e, 0x24, 0x01, 0x25, 0x00), S2C, L5, &pkt, NULL),
	    MQTT_OK);
	assert_true(pkt.connack.session_present);
	assert_int_equal(pkt.connack.props.server_keepalive, 30);
	assert_int_equal(pkt.connack.props.maximum_qos, 1);
	assert_int_equal(pkt.connack.props.retain_available, 0);
	assert_true(pkt.connack.props.present &
	    MQTT_PROP_BIT(MQTT_PROP_RETAIN_AVAILABLE));
	expect_encoding(L5, &pkt, BYTES(0x20, 0x0a, 0x01, 0x00, 0x07,
	    0x13, 0x00, 0x1e, 0x24, 0x01, 0x25, 0x00));
	/* SUBACK with a reason string. */
	assert_int_equal(decode(BYTES(0x90, 0x0a, 0x00, 0x05, 0x04,
	    0x1f, 0x00, 0x01, 'r', 0x01, 0x8f, 0xa2), S2C, L5, &pkt, NULL),
	    MQTT_OK);
	assert_int_equal(pkt.suback.id, 5);
	assert_str(pkt.suback.props.reason_string, "r");
	assert_int_equal(pkt.suback.count, 3);
	assert_memory_equal(pkt.suback.codes, "\x01\x8f\xa2", 3);
	expect_encoding(L5, &pkt, BYTES(0x90, 0x0a, 0x00, 0x05, 0x04,
	    0x1f, 0x00, 0x01, 'r', 0x01, 0x8f, 0xa2));
	/* UNSUBACK has reason codes in 5.0. */
	assert_int_equal(decode(BYTES(0xb0, 0x05, 0x00, 0x05, 0x00, 0x00,
	    0x11), S2C, L5, &pkt, NULL), MQTT_OK);
	assert_int_equal(pkt.suback.count, 2);
	assert_memory_equal(pkt.suback.codes, "\x00\x11", 2);
	expect_encoding(L5, &pkt, BYTES(0xb0, 0x05, 0x00, 0x05, 0x00, 0x00,
	    0x11));
	/* UNSUBSCRIBE with empty properties. */
	assert_int_equal(decode(BYTES(0xa2, 0x08, 0x00, 0x05, 0x00,
	    0x00, 0x03, 'a', '/', 'b'), C2S, L5, &pkt, NULL), MQTT_OK);
	assert_int_equal(pkt.subscribe.count, 1);
	expect_encoding(L5, &pkt, BYTES(0xa2, 0x08, 0x00, 0x05, 0x00,
	    0x00, 0x03, 'a', '/', 'b'));
}

/* Reason code and properties may be left out from the end (3.4.2.1). */
static void
test_v5_ack_short_forms(void **state)
{
	struct mqtt_packet	 pkt;

	(void)state;
	assert_int_equal(decode(BYTES(0x40, 0x02, 0x00, 0x01), C2S, L5, &pkt,
	    NULL), MQTT_OK);
	assert_int_equal(pkt.ack.code, MQTT_RC_SUCCESS);
	expect_encoding(L5, &pkt, BYTES(0x40, 0x02, 0x00, 0x01));
	assert_int_equal(decode(BYTES(0x40, 0x03, 0x00, 0x01, 0x10), C2S, L5,
	    &pkt, NULL), MQTT_OK);
	assert_int_equal(pkt.ack.code, MQTT_RC_NO_MATCHING_SUBSCRIBERS);
	expect_encoding(L5, &pkt, BYTES(0x40, 0x03, 0x00, 0x01, 0x10));
	/* Empty properties spelt out: same packet, written shorter. */
	assert_int_equal(decode(BYTES(0x40, 0x04, 0x00, 0x01, 0x00, 0x00),
	    C2S, L5, &pkt, NULL), MQTT_OK);
	expect_encoding(L5, &pkt, BYTES(0x40, 0x02, 0x00, 0x01));
	assert_int_equal(decode(BYTES(0x40, 0x09, 0x00, 0x01, 0x97, 0x05,
	    0x1f, 0x00, 0x02, 'n', 'o'), C2S, L5, &pkt, NULL), MQTT_OK);
	assert_int_equal(pkt.ack.code, MQTT_RC_QUOTA_EXCEEDED);
	assert_str(pkt.ack.props.reason_string, "no");
	expect_encoding(L5, &pkt, BYTES(0x40, 0x09, 0x00, 0x01, 0x97, 0x05,
	    0x1f, 0x00, 0x02, 'n', 'o'));
	/* PUBREL 0x92 (packet identifier not found), from either side. */
	assert_int_equal(decode(BYTES(0x62, 0x03, 0x00, 0x01, 0x92), S2C, L5,
	    &pkt, NULL), MQTT_OK);
	assert_int_equal(pkt.ack.code, MQTT_RC_PACKET_ID_NOT_FOUND);
	/* Bytes after the properties. */
	expect_bad_lv(L5, 0x40, BYTES(0x00, 0x01, 0x10, 0x00, 0xff), C2S,
	    NULL, MAL);
}

static void
test_v5_disconnect_auth(void **state)
{
	struct mqtt_packet	 pkt;

	(void)state;
	assert_int_equal(decode(BYTES(0xe0, 0x00), C2S, L5, &pkt, NULL),
	    MQTT_OK);
	assert_int_equal(pkt.disconnect.code, 0);
	expect_encoding(L5, &pkt, BYTES(0xe0, 0x00));
	assert_int_equal(decode(BYTES(0xe0, 0x01, 0x04), C2S, L5, &pkt,
	    NULL), MQTT_OK);
	assert_int_equal(pkt.disconnect.code, MQTT_RC_DISCONNECT_WITH_WILL);
	expect_encoding(L5, &pkt, BYTES(0xe0, 0x01, 0x04));
	/* From the server too, in 5.0 only. */
	assert_int_equal(decode(BYTES(0xe0, 0x07, 0x8e, 0x05, 0x1f, 0x00,
	    0x02, 'x', 'y'), S2C, L5, &pkt, NULL), MQTT_OK);
	assert_int_equal(pkt.disconnect.code, MQTT_RC_SESSION_TAKEN_OVER);
	assert_str(pkt.disconnect.props.reason_string, "xy");
	expect_encoding(L5, &pkt, BYTES(0xe0, 0x07, 0x8e, 0x05, 0x1f, 0x00,
	    0x02, 'x', 'y'));
	expect_bad_lv(L4, 0xe0, NULL, 0, S2C, NULL, 0);
	/* A client may set the session expiry on DISCONNECT. */
	expect_ok_lv(L5, 0xe0, BYTES(0x00, 0x05, 0x11, 0x00, 0x00, 0x00,
	    0x01), C2S, &pkt);
	assert_int_equal(pkt.disconnect.props.session_expiry, 1);
	expect_bad_lv(L5, 0xe0, BYTES(0x00, 0x00, 0xff), C2S, NULL, MAL);

	/* AUTH: empty is success; otherwise code, properties, method. */
	assert_int_equal(decode(BYTES(0xf0, 0x00), C2S, L5, &pkt, NULL),
	    MQTT_OK);
	assert_int_equal(pkt.type, MQTT_AUTH);
	expect_encoding(L5, &pkt, BYTES(0xf0, 0x00));
	assert_int_equal(decode(BYTES(0xf0, 0x0a, 0x18, 0x08, 0x15, 0x00,
	    0x05, 'S', 'C', 'R', 'A', 'M'), S2C, L5, &pkt, NULL), MQTT_OK);
	assert_int_equal(pkt.disconnect.code, MQTT_RC_CONTINUE_AUTH);
	assert_str(pkt.disconnect.props.auth_method, "SCRAM");
	expect_encoding(L5, &pkt, BYTES(0xf0, 0x0a, 0x18, 0x08, 0x15, 0x00,
	    0x05, 'S', 'C', 'R', 'A', 'M'));
	/* AUTH does not exist before 5.0. */
	expect_bad_lv(L4, 0xf0, NULL, 0, C2S, NULL, 0);
	memset(&pkt, 0, sizeof(pkt));
	pkt.type = MQTT_AUTH;
	assert_int_equal(mqtt_packet_size(L4, &pkt), 0);
}

/* In 5.0 a password may come without a user name (3.1.2.9). */
static void
test_v5_connect_password_without_username(void **state)
{
	struct mqtt_packet	 pkt;

	(void)state;
	expect_ok_lv(L5, 0x10, BYTES(CONNECT_VH5(0x42), 0x00, 0x00, 0x00,
	    0x00, 0x01, 'p'), C2S, &pkt);
	assert_false(pkt.connect.has_username);
	assert_true(pkt.connect.has_password);
	assert_bin(pkt.connect.password, "p");
}

/* An empty topic name stands for a Topic Alias (3.3.2.3.4). */
static void
test_v5_publish_topic_alias(void **state)
{
	struct mqtt_packet	 pkt;

	(void)state;
	expect_ok_lv(L5, 0x30, BYTES(0x00, 0x00, 0x03, 0x23, 0x00, 0x01, 'p'),
	    C2S, &pkt);
	assert_int_equal(pkt.publish.topic.len, 0);
	assert_int_equal(pkt.publish.props.topic_alias, 1);
	assert_int_equal(pkt.publish.payload_len, 1);
	expect_bad_lv(L5, 0x30, BYTES(0x00, 0x00, 0x00, 'p'), C2S, NULL,
	    PROTO);
}

static void
test_v5_user_properties_repeat_in_order(void **state)
{
	struct mqtt_packet	 pkt;
	struct mqtt_prop_iter	 it;
	struct mqtt_user_prop	 u;

	(void)state;
	expect_ok_lv(L5, 0x30, BYTES(0x00, 0x01, 't', 0x0e,
	    0x26, 0x00, 0x01, 'a', 0x00, 0x01, '2',
	    0x26, 0x00, 0x01, 'a', 0x00, 0x01, '1'), C2S, &pkt);
	assert_int_equal(pkt.publish.props.user_count, 2);
	mqtt_user_first(&it, &pkt.publish.props);
	assert_true(mqtt_user_next(&it, &u));
	assert_str(u.value, "2");
	assert_true(mqtt_user_next(&it, &u));
	assert_str(u.value, "1");
	assert_false(mqtt_user_next(&it, &u));
}

/*
 * A broker forwarding a PUBLISH keeps the user properties in order
 * (MQTT-3.3.2-17/18) from the received block, while changing the expiry
 * and adding the subscriber's subscription identifier.
 */
static void
test_v5_forward_publish(void **state)
{
	struct mqtt_packet	 in, out, back;
	struct mqtt_prop_iter	 it;
	struct mqtt_user_prop	 u;
	uint8_t			 buf[128];
	uint32_t		 sid;

	(void)state;
	expect_ok_lv(L5, 0x30, BYTES(0x00, 0x01, 't', 0x17,
	    0x26, 0x00, 0x01, 'z', 0x00, 0x01, '1',
	    0x03, 0x00, 0x01, 'c',
	    0x02, 0x00, 0x00, 0x00, 0x3c,
	    0x26, 0x00, 0x01, 'a', 0x00, 0x01, '2', 'p'), C2S, &in);
	out = in;
	out.publish.props.message_expiry = 50;
	out.publish.props.present |= MQTT_PROP_BIT(MQTT_PROP_SUBSCRIPTION_ID);
	out.publish.props.subscription_id = 9;
	roundtrip(&out, S2C, L5, buf, sizeof(buf), &back);
	assert_int_equal(back.publish.props.message_expiry, 50);
	assert_str(back.publish.props.content_type, "c");
	mqtt_subid_first(&it, &back.publish.props);
	assert_true(mqtt_subid_next(&it, &sid));
	assert_int_equal(sid, 9);
	assert_false(mqtt_subid_next(&it, &sid));
	mqtt_user_first(&it, &back.publish.props);
	assert_true(mqtt_user_next(&it, &u));
	assert_str(u.name, "z");
	assert_true(mqtt_user_next(&it, &u));
	assert_str(u.name, "a");
	assert_false(mqtt_user_next(&it, &u));
	assert_int_equal(back.publish.payload_len, 1);
	/* Header alone, properties included. */
	assert_int_equal(mqtt_publish_header_size(L5, &out.publish) + 1,
	    mqtt_packet_size(L5, &out));
}

/* Every property type and packet, built from fields and arrays. */
static void
test_v5_roundtrip_all_properties(void **state)
{
	static const struct mqtt_user_prop users[] = {
		{ { "x", 1 }, { "1", 1 } }, { { "y", 1 }, { "", 0 } },
	};
	static const uint32_t sids[] = { 1, 127, 128, 16383, 16384,
	    MQTT_MAX_REMAINING };
	static const uint8_t codes[] = { 0x00, 0x01, 0x02, 0x80, 0xa2 };
	struct mqtt_packet	 in, out;
	struct mqtt_props	*pr;
	struct mqtt_prop_iter	 it;
	struct mqtt_user_prop	 u;
	uint8_t			 buf[512];
	uint32_t		 sid;
	size_t			 i;

	(void)state;
	memset(&in, 0, sizeof(in));
	in.type = MQTT_CONNACK;
	in.connack.code = MQTT_RC_SUCCESS;
	pr = &in.connack.props;
	pr->present = MQTT_PROP_BIT(0x11) | MQTT_PROP_BIT(0x12) |
	    MQTT_PROP_BIT(0x13) | MQTT_PROP_BIT(0x15) | MQTT_PROP_BIT(0x16) |
	    MQTT_PROP_BIT(0x1a) | MQTT_PROP_BIT(0x1c) | MQTT_PROP_BIT(0x1f) |
	    MQTT_PROP_BIT(0x21) | MQTT_PROP_BIT(0x22) | MQTT_PROP_BIT(0x24) |
	    MQTT_PROP_BIT(0x25) | MQTT_PROP_BIT(0x27) | MQTT_PROP_BIT(0x28) |
	    MQTT_PROP_BIT(0x29) | MQTT_PROP_BIT(0x2a);
	pr->session_expiry = 0xffffffff;
	pr->assigned_client_id = str("auto-1");
	pr->server_keepalive = 65535;
	pr->auth_method = str("m");
	pr->auth_data = bin("d");
	pr->response_info = str("ri");
	pr->server_reference = str("sr");
	pr->reason_string = str("rs");
	pr->receive_maximum = 10;
	pr->topic_alias_maximum = 0;
	pr->maximum_qos = 1;
	pr->retain_available = 1;
	pr->maximum_packet_size = 1024;
	pr->wildcard_sub_available = 0;
	pr->sub_id_available = 1;
	pr->shared_sub_available = 0;
	pr->user = users;
	pr->user_count = 2;
	roundtrip(&in, S2C, L5, buf, sizeof(buf), &out);
	assert_int_equal(out.connack.props.present,
	    pr->present | MQTT_PROP_BIT(MQTT_PROP_USER));
	assert_int_equal(out.connack.props.session_expiry, 0xffffffff);
	assert_str(out.connack.props.assigned_client_id, "auto-1");
	assert_int_equal(out.connack.props.server_keepalive, 65535);
	assert_str(out.connack.props.auth_method, "m");
	assert_bin(out.connack.props.auth_data, "d");
	assert_str(out.connack.props.response_info, "ri");
	assert_str(out.connack.props.server_reference, "sr");
	assert_str(out.connack.props.reason_string, "rs");
	assert_int_equal(out.connack.props.receive_maximum, 10);
	assert_int_equal(out.connack.props.maximum_qos, 1);
	assert_int_equal(out.connack.props.retain_available, 1);
	assert_int_equal(out.connack.props.maximum_packet_size, 1024);
	assert_int_equal(out.connack.props.sub_id_available, 1);
	mqtt_user_first(&it, &out.connack.props);
	for (i = 0; mqtt_user_next(&it, &u); i++) {
		assert_int_equal(u.name.len, users[i].name.len);
		assert_memory_equal(u.name.s, users[i].name.s, u.name.len);
		assert_int_equal(u.value.len, users[i].value.len);
	}
	assert_int_equal(i, 2);

	/* Subscription identifiers of every varint length, server side. */
	memset(&in, 0, sizeof(in));
	in.type = MQTT_PUBLISH;
	in.publish.topic = str("t");
	in.publish.props.sub_ids = sids;
	in.publish.props.sub_id_count = sizeof(sids) / sizeof(sids[0]);
	roundtrip(&in, S2C, L5, buf, sizeof(buf), &out);
	assert_int_equal(out.publish.props.sub_id_count,
	    sizeof(sids) / sizeof(sids[0]));
	mqtt_subid_first(&it, &out.publish.props);
	for (i = 0; mqtt_subid_next(&it, &sid); i++)
		assert_int_equal(sid, sids[i]);
	assert_int_equal(i, sizeof(sids) / sizeof(sids[0]));

	/* SUBACK and UNSUBACK with codes and properties. */
	memset(&in, 0, sizeof(in));
	in.type = MQTT_SUBACK;
	in.suback.id = 3;
	in.suback.codes = codes;
	in.suback.count = sizeof(codes);
	in.suback.props.present = MQTT_PROP_BIT(MQTT_PROP_REASON_STRING);
	in.suback.props.reason_string = str("why");
	roundtrip(&in, S2C, L5, buf, sizeof(buf), &out);
	assert_int_equal(out.suback.count, sizeof(codes));
	assert_str(out.suback.props.reason_string, "why");
	in.type = MQTT_UNSUBACK;
	in.suback.codes = (const uint8_t *)"\x00\x11\x8f";
	in.suback.count = 3;
	roundtrip(&in, S2C, L5, buf, sizeof(buf), &out);
	assert_int_equal(out.suback.count, 3);

	/* Acks, each type, with a reason string. */
	for (i = MQTT_PUBACK; i <= MQTT_PUBCOMP; i++) {
		memset(&in, 0, sizeof(in));
		in.type = i;
		in.ack.id = 77;
		in.ack.code = i < MQTT_PUBREL ? 0x80 : 0x92;
		in.ack.props.present = MQTT_PROP_BIT(MQTT_PROP_REASON_STRING);
		in.ack.props.reason_string = str("r");
		roundtrip(&in, C2S, L5, buf, sizeof(buf), &out);
		assert_int_equal(out.ack.code, in.ack.code);
		assert_str(out.ack.props.reason_string, "r");
	}
}

/* The encoder refuses what the packet type cannot hold. */
static void
test_v5_encode_refuses_misplaced_properties(void **state)
{
	static const uint32_t two[] = { 1, 2 };
	struct mqtt_packet	 pkt;
	char			*big;

	(void)state;
	memset(&pkt, 0, sizeof(pkt));
	pkt.type = MQTT_CONNACK;
	pkt.connack.props.present = MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS);
	pkt.connack.props.topic_alias = 1;
	assert_int_equal(mqtt_packet_size(L5, &pkt), 0);
	/* At 3.1.1 there are no properties to refuse. */
	assert_int_equal(mqtt_packet_size(L4, &pkt), 4);
	/* Bits with no property behind them. */
	pkt.connack.props.present = MQTT_PROP_BIT(0x04);
	assert_int_equal(mqtt_packet_size(L5, &pkt), 0);
	pkt.connack.props.present = MQTT_PROP_BIT(63);
	assert_int_equal(mqtt_packet_size(L5, &pkt), 0);
	pkt.connack.props.present = 0;
	pkt.connack.props.sub_ids = two;
	pkt.connack.props.sub_id_count = 1;
	assert_int_equal(mqtt_packet_size(L5, &pkt), 0);

	/* One subscription identifier in a SUBSCRIBE, and in range. */
	memset(&pkt, 0, sizeof(pkt));
	pkt.type = MQTT_SUBSCRIBE;
	pkt.subscribe.id = 1;
	pkt.subscribe.props.sub_ids = two;
	pkt.subscribe.props.sub_id_count = 2;
	assert_int_equal(mqtt_packet_size(L5, &pkt), 0);
	pkt.subscribe.props.sub_id_count = 1;
	assert_int_equal(mqtt_packet_size(L5, &pkt), 2 + 2 + 1 + 2);
	pkt.subscribe.props.sub_ids = NULL;
	pkt.subscribe.props.present =
	    MQTT_PROP_BIT(MQTT_PROP_SUBSCRIPTION_ID);
	pkt.subscribe.props.subscription_id = MQTT_MAX_REMAINING + 1;
	assert_int_equal(mqtt_packet_size(L5, &pkt), 0);

	/* User property strings are capped like any other. */
	big = calloc(1, MQTT_MAX_STRING + 1);
	assert_non_null(big);
	{
		struct mqtt_user_prop	 u = { { big, MQTT_MAX_STRING + 1 },
					       { "v", 1 } };

		memset(&pkt, 0, sizeof(pkt));
		pkt.type = MQTT_DISCONNECT;
		pkt.disconnect.props.user = &u;
		pkt.disconnect.props.user_count = 1;
		assert_int_equal(mqtt_packet_size(L5, &pkt), 0);
		u.name.len = MQTT_MAX_STRING;
		assert_int_equal(mqtt_packet_size(L5, &pkt),
		    1 + 3 + 1 + 3 + 1 + 2 + 65535 + 2 + 1);
	}
	free(big);
}

/* --- MQTT 5.0: malformed and protocol errors ---------------------------- */

/* MQTT-1.5.5-1: variable byte integers use the fewest bytes. */
static void
test_mqtt_1_5_5_1_non_minimal_varint(void **state)
{
	struct mqtt_packet	 pkt;
	struct mqtt_error	 err;
	uint8_t			 buf[64];
	size_t			 n;

	(void)state;
	/* Fixed header: fine at 3.1.1, not at 5.0. */
	assert_int_equal(decode(BYTES(0xc0, 0x80, 0x00), C2S, L4, &pkt, &err),
	    MQTT_OK);
	assert_int_equal(decode(BYTES(0xc0, 0x80, 0x00), C2S, L5, &pkt, &err),
	    MQTT_MALFORMED);
	check_error(&err, "MQTT-1.5.5-1");
	/* A 5.0 CONNECT learns its level first. */
	buf[0] = 0x10;
	buf[1] = 0x80 | 13;
	buf[2] = 0x00;
	memcpy(buf + 3, (const uint8_t[]){ CONNECT_VH5(0x02), 0x00, 0x00,
	    0x00 }, 13);
	assert_int_equal(decode(buf, 16, C2S, 0, &pkt, &err), MQTT_MALFORMED);
	check_error(&err, "MQTT-1.5.5-1");
	/* Property length, subscription identifier. */
	expect_bad_lv(L5, 0x30, BYTES(0x00, 0x01, 't', 0x80, 0x00), C2S,
	    "MQTT-1.5.5-1", MAL);
	expect_bad_lv(L5, 0x82, BYTES(0x00, 0x01, 0x03, 0x0b, 0x85, 0x00,
	    0x00, 0x01, 'a', 0x00), C2S, "MQTT-1.5.5-1", MAL);
	/* Five bytes never. */
	n = build(buf, sizeof(buf), 0x30, BYTES(0x00, 0x01, 't',
	    0xff, 0xff, 0xff, 0xff, 0x7f));
	assert_int_equal(decode(buf, n, C2S, L5, &pkt, &err), MQTT_MALFORMED);
	check_error(&err, NULL);
}

/* MQTT-1.5.4-1/2: the 5.0 numbers for the UTF-8 rules. */
static void
test_mqtt_1_5_4_utf8(void **state)
{
	struct mqtt_packet	 pkt;
	struct mqtt_error	 err;
	size_t			 n;

	(void)state;
	expect_bad_lv(L5, 0x30, BYTES(0x00, 0x01, 0xc0, 0x00), C2S,
	    "MQTT-1.5.4-1", MAL);
	/* In a property string and a user property value. */
	n = build(scratch, sizeof(scratch), 0x30, BYTES(0x00, 0x01, 't',
	    0x04, 0x03, 0x00, 0x01, 0x00));
	assert_int_equal(decode(scratch, n, C2S, L5, &pkt, &err),
	    MQTT_MALFORMED);
	check_error(&err, "MQTT-1.5.4-2");
	assert_int_equal(err.property, MQTT_PROP_CONTENT_TYPE);
	expect_bad_lv(L5, 0x30, BYTES(0x00, 0x01, 't', 0x07,
	    0x26, 0x00, 0x01, 'k', 0x00, 0x01, 0xed), C2S, "MQTT-1.5.4-1",
	    MAL);
}

/* MQTT-2.1.3-1: the 5.0 number for reserved fixed-header flags. */
static void
test_mqtt_2_1_3_1_fixed_header_flags(void **state)
{
	(void)state;
	expect_bad_lv(L5, 0x41, BYTES(0x00, 0x01), C2S, "MQTT-2.1.3-1", MAL);
	expect_bad_lv(L5, 0xc8, NULL, 0, C2S, "MQTT-2.1.3-1", MAL);
	expect_bad_lv(L5, 0x61, BYTES(0x00, 0x01), C2S, "MQTT-3.6.1-1", MAL);
}

/* MQTT-3.15.1-1: AUTH reserved flags. */
static void
test_mqtt_3_15_1_1_auth_flags(void **state)
{
	(void)state;
	expect_bad_lv(L5, 0xf1, NULL, 0, C2S, "MQTT-3.15.1-1", MAL);
}

/* MQTT-2.2.2-1: no properties is a property length of 0, not nothing. */
static void
test_mqtt_2_2_2_1_property_length_missing(void **state)
{
	(void)state;
	expect_bad_lv(L5, 0x30, BYTES(0x00, 0x01, 't'), C2S, "MQTT-2.2.2-1",
	    MAL);
	expect_bad_lv(L5, 0x10, BYTES(CONNECT_VH5(0x02)), C2S,
	    "MQTT-2.2.2-1", MAL);
	expect_bad_lv(L5, 0x20, BYTES(0x00, 0x00), S2C, "MQTT-2.2.2-1", MAL);
	expect_bad_lv(L5, 0x82, BYTES(0x00, 0x01), C2S, "MQTT-2.2.2-1", MAL);
	expect_bad_lv(L5, 0x90, BYTES(0x00, 0x01), S2C, "MQTT-2.2.2-1", MAL);
	/* An AUTH with a reason code carries properties (its method). */
	expect_bad_lv(L5, 0xf0, BYTES(0x18), C2S, "MQTT-2.2.2-1", MAL);
}

/* MQTT-2.2.1-3..6: the 5.0 numbers for packet identifier 0. */
static void
test_mqtt_2_2_1_packet_id_zero(void **state)
{
	(void)state;
	expect_bad_lv(L5, 0x32, BYTES(0x00, 0x01, 't', 0x00, 0x00, 0x00), C2S,
	    "MQTT-2.2.1-3", PROTO);
	expect_bad_lv(L5, 0x32, BYTES(0x00, 0x01, 't', 0x00, 0x00, 0x00), S2C,
	    "MQTT-2.2.1-4", PROTO);
	expect_bad_lv(L5, 0x82, BYTES(0x00, 0x00, 0x00, 0x00, 0x01, 'a',
	    0x00), C2S, "MQTT-2.2.1-3", PROTO);
	expect_bad_lv(L5, 0xa2, BYTES(0x00, 0x00, 0x00, 0x00, 0x01, 'a'),
	    C2S, "MQTT-2.2.1-3", PROTO);
	expect_bad_lv(L5, 0x40, BYTES(0x00, 0x00), C2S, "MQTT-2.2.1-5",
	    PROTO);
	expect_bad_lv(L5, 0x90, BYTES(0x00, 0x00, 0x00, 0x00), S2C,
	    "MQTT-2.2.1-6", PROTO);
	expect_bad_lv(L5, 0xb0, BYTES(0x00, 0x00, 0x00, 0x00), S2C,
	    "MQTT-2.2.1-6", PROTO);
}

/* 2.2.2.2: identifiers, types, places and repeats of properties. */
static void
test_v5_property_rules(void **state)
{
	struct mqtt_packet	 pkt;
	struct mqtt_error	 err;
	size_t			 n;

	(void)state;
	/* Unknown identifiers are malformed. */
	expect_bad_lv(L5, 0x30, BYTES(0x00, 0x01, 't', 0x02, 0x04, 0x00),
	    C2S, NULL, MAL);
	expect_bad_lv(L5, 0x30, BYTES(0x00, 0x01, 't', 0x02, 0x2b, 0x00),
	    C2S, NULL, MAL);
	expect_bad_lv(L5, 0x30, BYTES(0x00, 0x01, 't', 0x02, 0x00, 0x00),
	    C2S, NULL, MAL);
	expect_bad_lv(L5, 0x30, BYTES(0x00, 0x01, 't', 0x02, 0xff, 0x00),
	    C2S, NULL, MAL);
	/* So are those the packet has no place for. */
	n = build(scratch, sizeof(scratch), 0x30, BYTES(0x00, 0x01, 't',
	    0x05, 0x11, 0x00, 0x00, 0x00, 0x01));
	assert_int_equal(decode(scratch, n, C2S, L5, &pkt, &err),
	    MQTT_MALFORMED);
	assert_int_equal(err.code, MAL);
	assert_int_equal(err.property, MQTT_PROP_SESSION_EXPIRY);
	expect_bad_lv(L5, 0x10, BYTES(CONNECT_VH5(0x02), 0x05,
	    0x18, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00), C2S, NULL, MAL);
	expect_bad_lv(L5, 0x10, BYTES(CONNECT_VH5(0x06), 0x00, 0x00, 0x00,
	    0x05, 0x11, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't', 0x00, 0x00),
	    C2S, NULL, MAL);
	expect_bad_lv(L5, 0x30, BYTES(0x00, 0x01, 't', 0x04,
	    0x1f, 0x00, 0x01, 'r'), C2S, NULL, MAL);
	expect_bad_lv(L5, 0xa2, BYTES(0x00, 0x01, 0x02, 0x0b, 0x01,
	    0x00, 0x01, 'a'), C2S, NULL, MAL);
	/* Repeats are protocol errors, but for user props and sub ids. */
	expect_bad_lv(L5, 0x30, BYTES(0x00, 0x01, 't', 0x0a,
	    0x02, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x02), C2S,
	    NULL, PROTO);
	expect_bad_lv(L5, 0x30, BYTES(0x00, 0x01, 't', 0x06,
	    0x23, 0x00, 0x01, 0x23, 0x00, 0x01), C2S, NULL, PROTO);
	expect_bad_lv(L5, 0x82, BYTES(0x00, 0x01, 0x04, 0x0b, 0x01, 0x0b,
	    0x02, 0x00, 0x01, 'a', 0x00), C2S, NULL, PROTO);
	/* Values of 0 or 1 only. */
	expect_bad_lv(L5, 0x30, BYTES(0x00, 0x01, 't', 0x02, 0x01, 0x02),
	    C2S, NULL, PROTO);
	expect_bad_lv(L5, 0x10, BYTES(CONNECT_VH5(0x02), 0x02, 0x17, 0x02,
	    0x00, 0x00), C2S, NULL, PROTO);
	expect_bad_lv(L5, 0x10, BYTES(CONNECT_VH5(0x02), 0x02, 0x19, 0x05,
	    0x00, 0x00), C2S, NULL, PROTO);
	expect_bad_lv(L5, 0x20, BYTES(0x00, 0x00, 0x02, 0x24, 0x02), S2C,
	    NULL, PROTO);
	expect_bad_lv(L5, 0x20, BYTES(0x00, 0x00, 0x02, 0x25, 0x02), S2C,
	    NULL, PROTO);
	expect_bad_lv(L5, 0x20, BYTES(0x00, 0x00, 0x02, 0x28, 0x02), S2C,
	    NULL, PROTO);
	expect_bad_lv(L5, 0x20, BYTES(0x00, 0x00, 0x02, 0x29, 0x02), S2C,
	    NULL, PROTO);
	expect_bad_lv(L5, 0x20, BYTES(0x00, 0x00, 0x02, 0x2a, 0x02), S2C,
	    NULL, PROTO);
	/* Values that must not be 0. */
	expect_bad_lv(L5, 0x10, BYTES(CONNECT_VH5(0x02), 0x03, 0x21, 0x00,
	    0x00, 0x00, 0x00), C2S, NULL, PROTO);
	expect_bad_lv(L5, 0x20, BYTES(0x00, 0x00, 0x05, 0x27, 0x00, 0x00,
	    0x00, 0x00), S2C, NULL, PROTO);
	expect_bad_lv(L5, 0x30, BYTES(0x00, 0x01, 't', 0x03, 0x23, 0x00,
	    0x00), C2S, NULL, PROTO);
	expect_bad_lv(L5, 0x82, BYTES(0x00, 0x01, 0x02, 0x0b, 0x00,
	    0x00, 0x01, 'a', 0x00), C2S, NULL, PROTO);
	/* A value running past its block, a block past the packet. */
	expect_bad_lv(L5, 0x30, BYTES(0x00, 0x01, 't', 0x02, 0x02, 0x00,
	    0x00, 0x00), C2S, NULL, MAL);
	expect_bad_lv(L5, 0x30, BYTES(0x00, 0x01, 't', 0x05, 0x01), C2S,
	    NULL, MAL);
	/* Authentication data needs a method (3.1.2.11.10). */
	expect_bad_lv(L5, 0x10, BYTES(CONNECT_VH5(0x02), 0x04, 0x16, 0x00,
	    0x01, 'x', 0x00, 0x00), C2S, NULL, PROTO);
}

/* MQTT-3.3.2-14: the response topic is a topic name. */
static void
test_mqtt_3_3_2_14_response_topic_wildcard(void **state)
{
	(void)state;
	expect_bad_lv(L5, 0x30, BYTES(0x00, 0x01, 't', 0x06,
	    0x08, 0x00, 0x03, 'a', '/', '#'), C2S, "MQTT-3.3.2-14", PROTO);
	expect_bad_lv(L5, 0x10, BYTES(CONNECT_VH5(0x06), 0x00, 0x00, 0x00,
	    0x04, 0x08, 0x00, 0x01, '+', 0x00, 0x01, 't', 0x00, 0x00), C2S,
	    "MQTT-3.3.2-14", PROTO);
	expect_bad_lv(L5, 0x30, BYTES(0x00, 0x01, 't', 0x03,
	    0x08, 0x00, 0x00), C2S, "MQTT-4.7.3-1", PROTO);
}

/* MQTT-3.8.3-2: SUBSCRIBE needs a filter (5.0 number). */
static void
test_mqtt_3_8_3_2_subscribe_no_filters(void **state)
{
	(void)state;
	expect_bad_lv(L5, 0x82, BYTES(0x00, 0x01, 0x00), C2S, "MQTT-3.8.3-2",
	    PROTO);
	expect_bad_lv(L5, 0xa2, BYTES(0x00, 0x01, 0x00), C2S,
	    "MQTT-3.10.3-2", PROTO);
}

/* MQTT-3.8.3-5: bits 6 and 7 of the options are reserved. */
static void
test_mqtt_3_8_3_5_subscribe_reserved_bits(void **state)
{
	(void)state;
	expect_bad_lv(L5, 0x82, BYTES(0x00, 0x01, 0x00, 0x00, 0x01, 'a',
	    0x40), C2S, "MQTT-3.8.3-5", MAL);
	expect_bad_lv(L5, 0x82, BYTES(0x00, 0x01, 0x00, 0x00, 0x01, 'a',
	    0x81), C2S, "MQTT-3.8.3-5", MAL);
	/* QoS 3 and retain handling 3 are protocol errors (3.8.3.1). */
	expect_bad_lv(L5, 0x82, BYTES(0x00, 0x01, 0x00, 0x00, 0x01, 'a',
	    0x03), C2S, NULL, PROTO);
	expect_bad_lv(L5, 0x82, BYTES(0x00, 0x01, 0x00, 0x00, 0x01, 'a',
	    0x30), C2S, NULL, PROTO);
}

/* MQTT-3.8.3-4: no local on a shared subscription. */
static void
test_mqtt_3_8_3_4_no_local_shared(void **state)
{
	struct mqtt_packet	 pkt;

	(void)state;
	expect_bad_lv(L5, 0x82, BYTES(0x00, 0x01, 0x00, 0x00, 0x0a,
	    '$', 's', 'h', 'a', 'r', 'e', '/', 'g', '/', 't', 0x04), C2S,
	    "MQTT-3.8.3-4", PROTO);
	expect_ok_lv(L5, 0x82, BYTES(0x00, 0x01, 0x00, 0x00, 0x03,
	    'g', '/', 't', 0x04), C2S, &pkt);
}

/* MQTT-3.2.2-1/6/8: CONNACK flags, session present, reason code. */
static void
test_mqtt_3_2_2_connack_v5(void **state)
{
	(void)state;
	expect_bad_lv(L5, 0x20, BYTES(0x02, 0x00, 0x00), S2C, "MQTT-3.2.2-1",
	    MAL);
	expect_bad_lv(L5, 0x20, BYTES(0x01, 0x80, 0x00), S2C, "MQTT-3.2.2-6",
	    PROTO);
	/* 0x01 is a 3.1.1 return code, not a 5.0 reason code. */
	expect_bad_lv(L5, 0x20, BYTES(0x00, 0x01, 0x00), S2C, "MQTT-3.2.2-8",
	    PROTO);
}

/* MQTT-3.4.2-1, 3.5.2-1, 3.6.2-1, 3.7.2-1: acknowledgement codes. */
static void
test_mqtt_3_x_2_1_ack_reason_codes(void **state)
{
	(void)state;
	expect_bad_lv(L5, 0x40, BYTES(0x00, 0x01, 0x92), C2S, "MQTT-3.4.2-1",
	    PROTO);
	expect_bad_lv(L5, 0x50, BYTES(0x00, 0x01, 0x01), C2S, "MQTT-3.5.2-1",
	    PROTO);
	expect_bad_lv(L5, 0x62, BYTES(0x00, 0x01, 0x10), C2S, "MQTT-3.6.2-1",
	    PROTO);
	expect_bad_lv(L5, 0x70, BYTES(0x00, 0x01, 0x80), C2S, "MQTT-3.7.2-1",
	    PROTO);
}

/* MQTT-3.9.3-2, 3.11.3-2, 3.8.4-6: SUBACK and UNSUBACK codes. */
static void
test_mqtt_3_9_3_2_suback_codes_v5(void **state)
{
	(void)state;
	expect_bad_lv(L5, 0x90, BYTES(0x00, 0x01, 0x00, 0x03), S2C,
	    "MQTT-3.9.3-2", PROTO);
	expect_bad_lv(L5, 0x90, BYTES(0x00, 0x01, 0x00), S2C, "MQTT-3.8.4-6",
	    PROTO);
	expect_bad_lv(L5, 0xb0, BYTES(0x00, 0x01, 0x00, 0x02), S2C,
	    "MQTT-3.11.3-2", PROTO);
	expect_bad_lv(L5, 0xb0, BYTES(0x00, 0x01, 0x00), S2C, NULL, PROTO);
}

/* MQTT-3.14.2-1/2, 3.15.2-1: DISCONNECT and AUTH. */
static void
test_mqtt_3_14_2_disconnect_auth_v5(void **state)
{
	(void)state;
	expect_bad_lv(L5, 0xe0, BYTES(0x05), C2S, "MQTT-3.14.2-1", PROTO);
	expect_bad_lv(L5, 0xe0, BYTES(0x00, 0x05, 0x11, 0x00, 0x00, 0x00,
	    0x01), S2C, "MQTT-3.14.2-2", PROTO);
	expect_bad_lv(L5, 0xf0, BYTES(0x01, 0x00), C2S, "MQTT-3.15.2-1",
	    PROTO);
	/* AUTH properties without the method. */
	expect_bad_lv(L5, 0xf0, BYTES(0x18, 0x00), C2S, NULL, PROTO);
}

/* MQTT-4.7.0-1: the 5.0 number for a wildcard in the will topic. */
static void
test_mqtt_4_7_0_1_will_topic_wildcard(void **state)
{
	(void)state;
	expect_bad_lv(L5, 0x10, BYTES(CONNECT_VH5(0x06), 0x00, 0x00, 0x00,
	    0x00, 0x00, 0x01, '#', 0x00, 0x00), C2S, "MQTT-4.7.0-1", MAL);
}

/* The 3.1.1 rules shared by 5.0 keep their numbers there. */
static void
test_v5_shared_rules(void **state)
{
	(void)state;
	expect_bad_lv(L5, 0x36, BYTES(0x00, 0x01, 't', 0x00, 0x01, 0x00),
	    C2S, "MQTT-3.3.1-4", MAL);
	expect_bad_lv(L5, 0x38, BYTES(0x00, 0x01, 't', 0x00), C2S,
	    "MQTT-3.3.1-2", MAL);
	expect_bad_lv(L5, 0x30, BYTES(0x00, 0x01, '+', 0x00), C2S,
	    "MQTT-3.3.2-2", MAL);
	expect_bad_lv(L5, 0x10, BYTES(CONNECT_VH5(0x03), 0x00, 0x00, 0x00),
	    C2S, "MQTT-3.1.2-3", MAL);
	expect_bad_lv(L5, 0x10, BYTES(CONNECT_VH5(0x1e), 0x00, 0x00, 0x00),
	    C2S, "MQTT-3.1.2-14", MAL);
	expect_bad_lv(L5, 0x10, BYTES(CONNECT_VH5(0x82), 0x00, 0x00, 0x00),
	    C2S, "MQTT-3.1.2-19", MAL);
	expect_bad_lv(L5, 0x10, BYTES(CONNECT_VH5(0x02), 0x00), C2S,
	    "MQTT-3.1.3-3", MAL);
}

/* A 5.0 session as a stream: CONNECT sets the level for what follows. */
static void
test_v5_need_more_every_split(void **state)
{
	struct mqtt_frame	 f;
	uint8_t			 buf[128];
	size_t			 k, n;

	(void)state;
	n = build(buf, sizeof(buf), 0x10, v5_connect, sizeof(v5_connect));
	for (k = 0; k < n; k++)
		assert_int_equal(mqtt_frame(buf, k, 0, &f), MQTT_NEED_MORE);
	assert_int_equal(mqtt_frame(buf, n, 0, &f), MQTT_OK);
	n = build(buf, sizeof(buf), 0x32, v5_publish, sizeof(v5_publish));
	for (k = 0; k < n; k++)
		assert_int_equal(mqtt_frame(buf, k, 0, &f), MQTT_NEED_MORE);
	assert_int_equal(mqtt_frame(buf, n, 0, &f), MQTT_OK);
}

/*
 * The iterators stay inside a hand-made block that does not parse, and
 * stop there, instead of reading past raw_len.
 */
static void
test_v5_iterators_bounded(void **state)
{
	static const uint8_t *blocks[] = {
		/* User property: name too long, value too long, no length. */
		(const uint8_t *)"\x26\x00\x05" "ab",
		(const uint8_t *)"\x26\x00\x01" "a" "\x00\x09" "b",
		(const uint8_t *)"\x26\x00",
		/* Subscription identifier cut short, or 5 bytes long. */
		(const uint8_t *)"\x0b\x80\x80",
		(const uint8_t *)"\x0b\xff\xff\xff\xff\x01",
		/* A cut four-byte value, an unknown id, one past the table. */
		(const uint8_t *)"\x02\x00\x00",
		(const uint8_t *)"\x04\x00",
		(const uint8_t *)"\x7f\x00",
	};
	static const size_t lens[] = { 5, 7, 2, 3, 6, 3, 2, 2 };
	struct mqtt_props	 pr;
	struct mqtt_prop_iter	 it;
	struct mqtt_user_prop	 u;
	uint32_t		 sid;
	uint8_t			*copy;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		/* An exact-size copy, so ASan sees any overread. */
		copy = malloc(lens[i]);
		assert_non_null(copy);
		memcpy(copy, blocks[i], lens[i]);
		memset(&pr, 0, sizeof(pr));
		pr.raw = copy;
		pr.raw_len = lens[i];
		pr.sub_id_count = 2;
		mqtt_user_first(&it, &pr);
		assert_false(mqtt_user_next(&it, &u));
		mqtt_subid_first(&it, &pr);
		assert_false(mqtt_subid_next(&it, &sid));
		free(copy);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v5_spec_connect),
		cmocka_unit_test(test_v5_spec_publish),
		cmocka_unit_test(test_v5_spec_subscribe),
		cmocka_unit_test(test_v5_spec_server_packets),
		cmocka_unit_test(test_v5_ack_short_forms),
		cmocka_unit_test(test_v5_disconnect_auth),
		cmocka_unit_test(test_v5_connect_password_without_username),
		cmocka_unit_test(test_v5_publish_topic_alias),
		cmocka_unit_test(test_v5_user_properties_repeat_in_order),
		cmocka_unit_test(test_v5_forward_publish),
		cmocka_unit_test(test_v5_roundtrip_all_properties),
		cmocka_unit_test(test_v5_encode_refuses_misplaced_properties),
		cmocka_unit_test(test_mqtt_1_5_5_1_non_minimal_varint),
		cmocka_unit_test(test_mqtt_1_5_4_utf8),
		cmocka_unit_test(test_mqtt_2_1_3_1_fixed_header_flags),
		cmocka_unit_test(test_mqtt_3_15_1_1_auth_flags),
		cmocka_unit_test(test_mqtt_2_2_2_1_property_length_missing),
		cmocka_unit_test(test_mqtt_2_2_1_packet_id_zero),
		cmocka_unit_test(test_v5_property_rules),
		cmocka_unit_test(test_mqtt_3_3_2_14_response_topic_wildcard),
		cmocka_unit_test(test_mqtt_3_8_3_2_subscribe_no_filters),
		cmocka_unit_test(test_mqtt_3_8_3_5_subscribe_reserved_bits),
		cmocka_unit_test(test_mqtt_3_8_3_4_no_local_shared),
		cmocka_unit_test(test_mqtt_3_2_2_connack_v5),
		cmocka_unit_test(test_mqtt_3_x_2_1_ack_reason_codes),
		cmocka_unit_test(test_mqtt_3_9_3_2_suback_codes_v5),
		cmocka_unit_test(test_mqtt_3_14_2_disconnect_auth_v5),
		cmocka_unit_test(test_mqtt_4_7_0_1_will_topic_wildcard),
		cmocka_unit_test(test_v5_shared_rules),
		cmocka_unit_test(test_v5_need_more_every_split),
		cmocka_unit_test(test_v5_iterators_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
