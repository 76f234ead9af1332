/*
 * t_mqtt_codec.c: unit tests for broker/mqtt_codec.c, MQTT 3.1.1 (5.0 is
 * in t_mqtt5_codec.c; the helpers both use in mqtt_testutil.c).
 *
 * Spec vectors are written out byte by byte; malformed ones are named
 * after the normative statement they break (test_mqtt_3_3_2_2_... breaks
 * [MQTT-3.3.2-2]) and check that the decoder reports that statement.
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

/* Vectors shared with the integration tests; run from tests/unit. */
#define VECTOR_FILE	"../data/mqtt/malformed.txt"

/* --- framing ------------------------------------------------------------ */

static void
test_frame_need_more_short(void **state)
{
	struct mqtt_frame	 f;
	const uint8_t		 b[] = { 0x30, 0x80, 0x80 };

	(void)state;
	assert_int_equal(mqtt_frame(NULL, 0, 0, &f), MQTT_NEED_MORE);
	assert_int_equal(f.total_len, 0);
	assert_int_equal(mqtt_frame(b, 1, 0, &f), MQTT_NEED_MORE);
	assert_int_equal(f.total_len, 0);
	/* The length has not ended yet. */
	assert_int_equal(mqtt_frame(b, 2, 0, &f), MQTT_NEED_MORE);
	assert_int_equal(mqtt_frame(b, 3, 0, &f), MQTT_NEED_MORE);
	assert_int_equal(f.total_len, 0);
}

/* Each boundary of the variable byte integer (2.2.3, Table 2.4). */
static void
test_frame_remaining_length_boundaries(void **state)
{
	static const struct {
		size_t	 rem;
		size_t	 hdr;
	} cases[] = {
		{ 0, 2 }, { 127, 2 }, { 128, 3 }, { 16383, 3 },
		{ 16384, 4 }, { 2097151, 4 }, { 2097152, 5 },
		{ 268435455, 5 },
	};
	struct mqtt_frame	 f;
	uint8_t			 hdr[8], *full;
	size_t			 i, n, rem;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rem = cases[i].rem;
		hdr[0] = 0x30;
		n = 1 + put_len(hdr + 1, rem);
		assert_int_equal(n, cases[i].hdr);
		/* The header alone: the size is known, the body is not in. */
		assert_int_equal(mqtt_frame(hdr, n, 0, &f), rem == 0 ?
		    MQTT_OK : MQTT_NEED_MORE);
		assert_int_equal(f.hdr_len, cases[i].hdr);
		assert_int_equal(f.rem_len, rem);
		assert_int_equal(f.total_len, n + rem);
		if (rem == 0 || rem > 2097152)
			continue;
		/* Up to 2 MB, check the whole packet too, one byte short. */
		full = calloc(1, n + rem + 1);
		assert_non_null(full);
		memcpy(full, hdr, n);
		assert_int_equal(mqtt_frame(full, n + rem - 1, 0, &f),
		    MQTT_NEED_MORE);
		assert_int_equal(mqtt_frame(full, n + rem + 1, 0, &f), MQTT_OK);
		assert_int_equal(f.total_len, n + rem);
		assert_ptr_equal(f.body, full + n);
		free(full);
	}
}

/* A fifth length byte is never valid (2.2.3). */
static void
test_frame_five_byte_length_malformed(void **state)
{
	struct mqtt_frame	 f;

	(void)state;
	assert_int_equal(mqtt_frame(BYTES(0x30, 0xff, 0xff, 0xff, 0xff, 0x01),
	    0, &f), MQTT_MALFORMED);
	/* Known as soon as the fourth byte says "more". */
	assert_int_equal(mqtt_frame(BYTES(0x30, 0x80, 0x80, 0x80, 0x80), 0,
	    &f), MQTT_MALFORMED);
	assert_int_equal(mqtt_frame(BYTES(0x30, 0xff, 0xff, 0xff, 0x7f), 0,
	    &f), MQTT_NEED_MORE);
	assert_int_equal(f.rem_len, MQTT_MAX_REMAINING);
}

/* 3.1.1 has no minimal-encoding rule (5.0's MQTT-1.5.5-1 is later). */
static void
test_frame_non_minimal_length_accepted(void **state)
{
	struct mqtt_packet	 pkt;
	struct mqtt_frame	 f;

	(void)state;
	assert_int_equal(mqtt_frame(BYTES(0xc0, 0x80, 0x80, 0x00), 0, &f),
	    MQTT_OK);
	assert_int_equal(f.hdr_len, 4);
	assert_int_equal(f.rem_len, 0);
	assert_int_equal(mqtt_decode(&f, C2S, L4, &pkt, NULL), MQTT_OK);
	assert_int_equal(pkt.type, MQTT_PINGREQ);
}

static void
test_frame_too_big_before_body(void **state)
{
	struct mqtt_frame	 f;

	(void)state;
	/* 3 bytes of a 1003-byte PUBLISH, cap 100: refused now. */
	assert_int_equal(mqtt_frame(BYTES(0x30, 0xe8, 0x07), 100, &f),
	    MQTT_TOO_BIG);
	assert_int_equal(f.type, MQTT_PUBLISH);
	assert_int_equal(f.total_len, 1003);
	/* The largest length, 5 bytes in: refused before any body. */
	assert_int_equal(mqtt_frame(BYTES(0x30, 0xff, 0xff, 0xff, 0x7f),
	    1024 * 1024, &f), MQTT_TOO_BIG);
	/* The cap itself is allowed. */
	assert_int_equal(mqtt_frame(BYTES(0x30, 0x62), 100, &f),
	    MQTT_NEED_MORE);
	assert_int_equal(f.total_len, 100);
	assert_int_equal(mqtt_frame(BYTES(0x30, 0x63), 100, &f),
	    MQTT_TOO_BIG);
	assert_int_equal(mqtt_frame(BYTES(0xc0, 0x00), 2, &f), MQTT_OK);
	assert_int_equal(mqtt_frame(BYTES(0xc0, 0x00), 1, &f), MQTT_TOO_BIG);
}

/* Spec-shaped packets, one of each type, used by the stream tests. */
static const uint8_t v_connect[] = {
	0x10, 0x22, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0xce, 0x00, 0x0a,
	0x00, 0x03, 'c', 'i', 'd', 0x00, 0x03, 'a', '/', 'w',
	0x00, 0x02, 'h', 'i', 0x00, 0x04, 'u', 's', 'e', 'r',
	0x00, 0x02, 'p', 'w',
};
static const uint8_t v_publish[] = {
	0x32, 0x0c, 0x00, 0x03, 'a', '/', 'b', 0x00, 0x0a,
	'h', 'e', 'l', 'l', 'o',
};
static const uint8_t v_subscribe[] = {
	0x82, 0x0e, 0x00, 0x0a, 0x00, 0x03, 'a', '/', 'b', 0x01,
	0x00, 0x03, 'c', '/', 'd', 0x02,
};
static const uint8_t v_unsubscribe[] = {
	0xa2, 0x0c, 0x00, 0x0a, 0x00, 0x03, 'a', '/', 'b',
	0x00, 0x03, 'c', '/', 'd',
};
static const uint8_t v_puback[] = { 0x40, 0x02, 0x00, 0x0a };
static const uint8_t v_pubrec[] = { 0x50, 0x02, 0x00, 0x0a };
static const uint8_t v_pubrel[] = { 0x62, 0x02, 0x00, 0x0a };
static const uint8_t v_pubcomp[] = { 0x70, 0x02, 0x00, 0x0a };
static const uint8_t v_pingreq[] = { 0xc0, 0x00 };
static const uint8_t v_disconnect[] = { 0xe0, 0x00 };

static const struct {
	const uint8_t	*b;
	size_t		 n;
} client_vectors[] = {
	{ v_connect, sizeof(v_connect) },
	{ v_publish, sizeof(v_publish) },
	{ v_subscribe, sizeof(v_subscribe) },
	{ v_unsubscribe, sizeof(v_unsubscribe) },
	{ v_puback, sizeof(v_puback) },
	{ v_pubrec, sizeof(v_pubrec) },
	{ v_pubrel, sizeof(v_pubrel) },
	{ v_pubcomp, sizeof(v_pubcomp) },
	{ v_pingreq, sizeof(v_pingreq) },
	{ v_disconnect, sizeof(v_disconnect) },
};
#define NCLIENT	(sizeof(client_vectors) / sizeof(client_vectors[0]))

/* Every proper prefix of a valid packet needs more; the whole is OK. */
static void
test_frame_need_more_every_split(void **state)
{
	struct mqtt_frame	 f;
	struct mqtt_packet	 pkt;
	uint8_t			 buf[64];
	size_t			 i, k, n;

	(void)state;
	for (i = 0; i < NCLIENT; i++) {
		n = client_vectors[i].n;
		for (k = 0; k < n; k++) {
			assert_int_equal(mqtt_frame(client_vectors[i].b, k, 0,
			    &f), MQTT_NEED_MORE);
			/* Once the header is in, the total is known. */
			if (k >= 2)
				assert_int_equal(f.total_len, n);
		}
		/* Whole, and followed by the start of the next packet. */
		memcpy(buf, client_vectors[i].b, n);
		buf[n] = 0x30;
		assert_int_equal(mqtt_frame(buf, n, 0, &f), MQTT_OK);
		assert_int_equal(mqtt_frame(buf, n + 1, 0, &f), MQTT_OK);
		assert_int_equal(f.total_len, n);
		assert_int_equal(mqtt_decode(&f, C2S, L4, &pkt, NULL),
		    MQTT_OK);
	}
}

/* The vectors back to back, fed in chunks of every size from 1 to 9. */
static void
test_frame_stream_reassembly(void **state)
{
	struct mqtt_frame	 f;
	struct mqtt_packet	 pkt;
	uint8_t			 stream[512], buf[512];
	size_t			 i, chunk, total = 0, fed, have, got;
	enum mqtt_status	 st;

	(void)state;
	for (i = 0; i < NCLIENT; i++) {
		memcpy(stream + total, client_vectors[i].b,
		    client_vectors[i].n);
		total += client_vectors[i].n;
	}
	for (chunk = 1; chunk <= 9; chunk++) {
		fed = have = got = 0;
		while (fed < total || have > 0) {
			st = mqtt_frame(buf, have, 0, &f);
			if (st == MQTT_NEED_MORE) {
				assert_true(fed < total);
				i = total - fed < chunk ? total - fed : chunk;
				memcpy(buf + have, stream + fed, i);
				have += i;
				fed += i;
				continue;
			}
			assert_int_equal(st, MQTT_OK);
			assert_int_equal(mqtt_decode(&f, C2S, L4, &pkt, NULL),
			    MQTT_OK);
			assert_int_equal(f.total_len, client_vectors[got].n);
			got++;
			memmove(buf, buf + f.total_len, have - f.total_len);
			have -= f.total_len;
		}
		assert_int_equal(got, NCLIENT);
	}
}

/* --- spec vectors, client to server -------------------------------------- */

static void
test_spec_connect(void **state)
{
	struct mqtt_packet	 pkt;
	struct mqtt_connect	*c = &pkt.connect;

	(void)state;
	assert_int_equal(decode(v_connect, sizeof(v_connect), C2S, 0, &pkt,
	    NULL), MQTT_OK);
	assert_int_equal(pkt.type, MQTT_CONNECT);
	assert_int_equal(c->level, 4);
	assert_true(c->clean);
	assert_int_equal(c->keepalive, 10);
	assert_str(c->client_id, "cid");
	assert_true(c->will);
	assert_int_equal(c->will_qos, 1);
	assert_false(c->will_retain);
	assert_str(c->will_topic, "a/w");
	assert_bin(c->will_payload, "hi");
	assert_true(c->has_username);
	assert_str(c->username, "user");
	assert_true(c->has_password);
	assert_bin(c->password, "pw");
	/* Zero-copy: fields point into the buffer. */
	assert_ptr_equal(c->client_id.s, (const char *)v_connect + 14);
	expect_encoding(L4, &pkt, v_connect, sizeof(v_connect));
}

static void
test_spec_connect_minimal(void **state)
{
	struct mqtt_packet	 pkt;

	(void)state;
	/* Empty client id: allowed by the codec, policy is the broker's. */
	expect_ok(0x10, BYTES(CONNECT_VH(0x02), 0x00, 0x00), C2S, &pkt);
	assert_int_equal(pkt.connect.client_id.len, 0);
	assert_false(pkt.connect.will);
	assert_false(pkt.connect.has_username);
	assert_false(pkt.connect.has_password);
	assert_int_equal(pkt.connect.keepalive, 60);
}

/* MQTT 3.1 ("MQIsdp", level 3) decodes like 3.1.1. */
static void
test_spec_connect_mqisdp(void **state)
{
	struct mqtt_packet	 pkt, out;
	uint8_t			 buf[64];

	(void)state;
	expect_ok(0x10, BYTES(0x00, 0x06, 'M', 'Q', 'I', 's', 'd', 'p', 0x03,
	    0x02, 0x00, 0x0a, 0x00, 0x01, 'x'), C2S, &pkt);
	assert_int_equal(pkt.connect.level, MQTT_LEVEL_31);
	assert_str(pkt.connect.client_id, "x");
	roundtrip(&pkt, C2S, MQTT_LEVEL_31, buf, sizeof(buf), &out);
	assert_int_equal(out.connect.level, MQTT_LEVEL_31);
	assert_memory_equal(buf + 4, "MQIsdp", 6);
}

static void
test_spec_publish(void **state)
{
	struct mqtt_packet	 pkt;
	struct mqtt_publish	*p = &pkt.publish;

	(void)state;
	assert_int_equal(decode(v_publish, sizeof(v_publish), C2S, L4, &pkt,
	    NULL), MQTT_OK);
	assert_int_equal(pkt.type, MQTT_PUBLISH);
	assert_int_equal(p->qos, 1);
	assert_false(p->dup);
	assert_false(p->retain);
	assert_str(p->topic, "a/b");
	assert_int_equal(p->id, 10);
	assert_int_equal(p->payload_len, 5);
	assert_memory_equal(p->payload, "hello", 5);
	assert_ptr_equal(p->payload, v_publish + 9);
	expect_encoding(L4, &pkt, v_publish, sizeof(v_publish));
}

/* QoS 0 has no packet identifier: what follows the topic is payload. */
static void
test_spec_publish_qos0_flags(void **state)
{
	struct mqtt_packet	 pkt;

	(void)state;
	expect_ok(0x31, BYTES(0x00, 0x01, 't', 0x00, 0x0a), C2S, &pkt);
	assert_int_equal(pkt.publish.qos, 0);
	assert_true(pkt.publish.retain);
	assert_int_equal(pkt.publish.id, 0);
	assert_int_equal(pkt.publish.payload_len, 2);
	/* Empty payload, QoS 2, DUP. */
	expect_ok(0x3c, BYTES(0x00, 0x01, 't', 0x12, 0x34), C2S, &pkt);
	assert_int_equal(pkt.publish.qos, 2);
	assert_true(pkt.publish.dup);
	assert_int_equal(pkt.publish.id, 0x1234);
	assert_int_equal(pkt.publish.payload_len, 0);
}

static void
test_spec_subscribe(void **state)
{
	struct mqtt_packet	 pkt;
	struct mqtt_filter_iter	 it;
	struct mqtt_filter	 f;

	(void)state;
	assert_int_equal(decode(v_subscribe, sizeof(v_subscribe), C2S, L4,
	    &pkt, NULL), MQTT_OK);
	assert_int_equal(pkt.type, MQTT_SUBSCRIBE);
	assert_int_equal(pkt.subscribe.id, 10);
	assert_int_equal(pkt.subscribe.count, 2);
	mqtt_filter_first(&it, &pkt);
	assert_true(mqtt_filter_next(&it, &f));
	assert_str(f.topic, "a/b");
	assert_int_equal(f.options, 1);
	assert_true(mqtt_filter_next(&it, &f));
	assert_str(f.topic, "c/d");
	assert_int_equal(f.options, 2);
	assert_false(mqtt_filter_next(&it, &f));
	expect_encoding(L4, &pkt, v_subscribe, sizeof(v_subscribe));
}

static void
test_spec_unsubscribe(void **state)
{
	struct mqtt_packet	 pkt;
	struct mqtt_filter_iter	 it;
	struct mqtt_filter	 f;

	(void)state;
	assert_int_equal(decode(v_unsubscribe, sizeof(v_unsubscribe), C2S,
	    L4, &pkt, NULL), MQTT_OK);
	assert_int_equal(pkt.type, MQTT_UNSUBSCRIBE);
	assert_int_equal(pkt.subscribe.id, 10);
	assert_int_equal(pkt.subscribe.count, 2);
	mqtt_filter_first(&it, &pkt);
	assert_true(mqtt_filter_next(&it, &f));
	assert_str(f.topic, "a/b");
	assert_int_equal(f.options, 0);
	assert_true(mqtt_filter_next(&it, &f));
	assert_str(f.topic, "c/d");
	assert_false(mqtt_filter_next(&it, &f));
	expect_encoding(L4, &pkt, v_unsubscribe, sizeof(v_unsubscribe));
}

static void
test_spec_acks_and_empty(void **state)
{
	static const struct {
		const uint8_t	*b;
		enum mqtt_type	 type;
	} v[] = {
		{ v_puback, MQTT_PUBACK }, { v_pubrec, MQTT_PUBREC },
		{ v_pubrel, MQTT_PUBREL }, { v_pubcomp, MQTT_PUBCOMP },
	};
	struct mqtt_packet	 pkt;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		/* Both directions carry these. */
		assert_int_equal(decode(v[i].b, 4, C2S, L4, &pkt, NULL),
		    MQTT_OK);
		assert_int_equal(pkt.type, v[i].type);
		assert_int_equal(pkt.ack.id, 10);
		expect_encoding(L4, &pkt, v[i].b, 4);
		assert_int_equal(decode(v[i].b, 4, S2C, L4, &pkt, NULL),
		    MQTT_OK);
	}
	assert_int_equal(decode(v_pingreq, 2, C2S, L4, &pkt, NULL), MQTT_OK);
	assert_int_equal(pkt.type, MQTT_PINGREQ);
	expect_encoding(L4, &pkt, v_pingreq, 2);
	assert_int_equal(decode(v_disconnect, 2, C2S, L4, &pkt, NULL),
	    MQTT_OK);
	assert_int_equal(pkt.type, MQTT_DISCONNECT);
	expect_encoding(L4, &pkt, v_disconnect, 2);
}

/* --- spec vectors, server to client -------------------------------------- */

static void
test_spec_connack(void **state)
{
	struct mqtt_packet	 pkt;
	uint8_t			 code;

	(void)state;
	assert_int_equal(decode(BYTES(0x20, 0x02, 0x01, 0x00), S2C, L4, &pkt,
	    NULL), MQTT_OK);
	assert_int_equal(pkt.type, MQTT_CONNACK);
	assert_true(pkt.connack.session_present);
	assert_int_equal(pkt.connack.code, MQTT_CONNACK_ACCEPTED);
	expect_encoding(L4, &pkt, BYTES(0x20, 0x02, 0x01, 0x00));
	for (code = 1; code <= 5; code++) {
		memset(&pkt, 0, sizeof(pkt));
		pkt.type = MQTT_CONNACK;
		pkt.connack.code = code;
		expect_encoding(L4, &pkt, BYTES(0x20, 0x02, 0x00, code));
	}
}

static void
test_spec_suback_unsuback_pingresp(void **state)
{
	struct mqtt_packet	 pkt;

	(void)state;
	assert_int_equal(decode(BYTES(0x90, 0x06, 0x00, 0x0a, 0x00, 0x01, 0x02,
	    0x80), S2C, L4, &pkt, NULL), MQTT_OK);
	assert_int_equal(pkt.type, MQTT_SUBACK);
	assert_int_equal(pkt.suback.id, 10);
	assert_int_equal(pkt.suback.count, 4);
	assert_memory_equal(pkt.suback.codes, "\x00\x01\x02\x80", 4);
	expect_encoding(L4, &pkt, BYTES(0x90, 0x06, 0x00, 0x0a, 0x00, 0x01,
	    0x02, 0x80));

	assert_int_equal(decode(BYTES(0xb0, 0x02, 0x00, 0x0a), S2C, L4, &pkt,
	    NULL), MQTT_OK);
	assert_int_equal(pkt.type, MQTT_UNSUBACK);
	assert_int_equal(pkt.suback.id, 10);
	expect_encoding(L4, &pkt, BYTES(0xb0, 0x02, 0x00, 0x0a));

	assert_int_equal(decode(BYTES(0xd0, 0x00), S2C, L4, &pkt, NULL),
	    MQTT_OK);
	assert_int_equal(pkt.type, MQTT_PINGRESP);
	expect_encoding(L4, &pkt, BYTES(0xd0, 0x00));
}

/* --- round trips --------------------------------------------------------- */

static void
test_roundtrip_connect(void **state)
{
	struct mqtt_packet	 in, out;
	uint8_t			 buf[128];
	size_t			 i;

	(void)state;
	for (i = 0; i < 8; i++) {
		memset(&in, 0, sizeof(in));
		in.type = MQTT_CONNECT;
		in.connect.clean = i & 1;
		in.connect.keepalive = 65535;
		in.connect.client_id = str("client-\xc3\xa9");
		in.connect.will = (i & 2) != 0;
		if (in.connect.will) {
			in.connect.will_qos = 2;
			in.connect.will_retain = true;
			in.connect.will_topic = str("dev/1/status");
			in.connect.will_payload = bin("offline");
		}
		in.connect.has_username = (i & 4) != 0;
		in.connect.username = str("alice");
		in.connect.has_password = in.connect.has_username;
		in.connect.password = bin("\x01\x02secret");
		roundtrip(&in, C2S, L4, buf, sizeof(buf), &out);
		assert_int_equal(out.connect.level, L4);
		assert_int_equal(out.connect.clean, in.connect.clean);
		assert_int_equal(out.connect.keepalive, 65535);
		assert_str(out.connect.client_id, "client-\xc3\xa9");
		assert_int_equal(out.connect.will, in.connect.will);
		if (in.connect.will) {
			assert_int_equal(out.connect.will_qos, 2);
			assert_true(out.connect.will_retain);
			assert_str(out.connect.will_topic, "dev/1/status");
			assert_bin(out.connect.will_payload, "offline");
		}
		assert_int_equal(out.connect.has_username,
		    in.connect.has_username);
		if (in.connect.has_username) {
			assert_str(out.connect.username, "alice");
			assert_bin(out.connect.password, "\x01\x02secret");
		}
	}
}

static void
test_roundtrip_publish(void **state)
{
	struct mqtt_packet	 in, out;
	uint8_t			 buf[128];
	uint8_t			 qos;

	(void)state;
	for (qos = 0; qos <= 2; qos++) {
		memset(&in, 0, sizeof(in));
		in.type = MQTT_PUBLISH;
		in.publish.qos = qos;
		in.publish.dup = qos > 0;
		in.publish.retain = qos != 1;
		in.publish.topic = str("sensors/\xe6\xb8\xa9/t");
		in.publish.id = qos > 0 ? 65535 : 0;
		in.publish.payload = (const uint8_t *)"\x00\xff payload";
		in.publish.payload_len = 10;
		roundtrip(&in, C2S, L4, buf, sizeof(buf), &out);
		assert_int_equal(out.publish.qos, qos);
		assert_int_equal(out.publish.dup, in.publish.dup);
		assert_int_equal(out.publish.retain, in.publish.retain);
		assert_str(out.publish.topic, "sensors/\xe6\xb8\xa9/t");
		assert_int_equal(out.publish.id, in.publish.id);
		assert_int_equal(out.publish.payload_len, 10);
		assert_memory_equal(out.publish.payload, "\x00\xff payload",
		    10);
		/* The server sends the same packet. */
		roundtrip(&in, S2C, L4, buf, sizeof(buf), &out);
	}
}

/* Header then payload from elsewhere gives the same bytes as one write. */
static void
test_publish_header_separate(void **state)
{
	struct mqtt_publish	 p;
	struct mqtt_packet	 pkt;
	uint8_t			 whole[512], split[512];
	size_t			 n, h, plen;
	static uint8_t		 payload[300];

	(void)state;
	memset(payload, 'x', sizeof(payload));
	for (plen = 0; plen < sizeof(payload); plen += 37) {
		memset(&p, 0, sizeof(p));
		p.qos = 1;
		p.id = 7;
		p.topic = str("a/b");
		p.payload = payload;
		p.payload_len = plen;
		memset(&pkt, 0, sizeof(pkt));
		pkt.type = MQTT_PUBLISH;
		pkt.publish = p;
		n = mqtt_encode(whole, sizeof(whole), L4, &pkt);
		assert_true(n > 0);
		h = mqtt_publish_header_size(L4, &p);
		assert_int_equal(h + plen, n);
		assert_int_equal(mqtt_encode_publish_header(split, h - 1, L4,
		    &p), 0);
		assert_int_equal(mqtt_encode_publish_header(split,
		    sizeof(split), L4, &p), h);
		memcpy(split + h, payload, plen);
		assert_memory_equal(whole, split, n);
	}
	/* The payload pointer is not read. */
	p.payload = NULL;
	p.payload_len = 100000;
	h = mqtt_publish_header_size(L4, &p);
	assert_int_equal(h, 1 + 3 + 5 + 2);
	assert_int_equal(mqtt_encode_publish_header(split, sizeof(split), L4,
	    &p), h);
	assert_memory_equal(split, "\x32\xa7\x8d\x06", 4);
}

static void
test_roundtrip_acks(void **state)
{
	static const enum mqtt_type types[] = {
		MQTT_PUBACK, MQTT_PUBREC, MQTT_PUBREL, MQTT_PUBCOMP,
	};
	struct mqtt_packet	 in, out;
	uint8_t			 buf[16];
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		memset(&in, 0, sizeof(in));
		in.type = types[i];
		in.ack.id = (uint16_t)(0x0101 * (i + 1));
		assert_int_equal(roundtrip(&in, C2S, L4, buf, sizeof(buf),
		    &out), 4);
		assert_int_equal(out.ack.id, in.ack.id);
		roundtrip(&in, S2C, L4, buf, sizeof(buf), &out);
		assert_int_equal(out.ack.id, in.ack.id);
	}
}

static void
test_roundtrip_subscribe_unsubscribe(void **state)
{
	static const struct mqtt_filter filters[] = {
		{ { "a/+/c", 5 }, 0 },
		{ { "#", 1 }, 1 },
		{ { "$SYS/x", 6 }, 2 },
	};
	struct mqtt_packet	 in, out;
	struct mqtt_filter_iter	 it;
	struct mqtt_filter	 f;
	uint8_t			 buf[128];
	size_t			 i;

	(void)state;
	memset(&in, 0, sizeof(in));
	in.type = MQTT_SUBSCRIBE;
	in.subscribe.id = 42;
	in.subscribe.filters = filters;
	in.subscribe.count = 3;
	roundtrip(&in, C2S, L4, buf, sizeof(buf), &out);
	assert_int_equal(out.subscribe.id, 42);
	assert_int_equal(out.subscribe.count, 3);
	assert_null(out.subscribe.filters);
	mqtt_filter_first(&it, &out);
	for (i = 0; mqtt_filter_next(&it, &f); i++) {
		assert_int_equal(f.topic.len, filters[i].topic.len);
		assert_memory_equal(f.topic.s, filters[i].topic.s, f.topic.len);
		assert_int_equal(f.options, filters[i].options);
	}
	assert_int_equal(i, 3);

	in.type = MQTT_UNSUBSCRIBE;
	roundtrip(&in, C2S, L4, buf, sizeof(buf), &out);
	assert_int_equal(out.type, MQTT_UNSUBSCRIBE);
	assert_int_equal(out.subscribe.count, 3);
	mqtt_filter_first(&it, &out);
	for (i = 0; mqtt_filter_next(&it, &f); i++) {
		assert_memory_equal(f.topic.s, filters[i].topic.s, f.topic.len);
		assert_int_equal(f.options, 0);
	}
	assert_int_equal(i, 3);

	/* A decoded packet re-encodes from its raw list. */
	assert_int_equal(mqtt_encode(scratch, sizeof(scratch), L4, &out),
	    mqtt_packet_size(L4, &in));
	assert_memory_equal(scratch, buf, mqtt_packet_size(L4, &in));
}

static void
test_roundtrip_server_packets(void **state)
{
	static const uint8_t codes[] = { 0x00, 0x01, 0x02, 0x80, 0x01 };
	struct mqtt_packet	 in, out;
	uint8_t			 buf[64];

	(void)state;
	memset(&in, 0, sizeof(in));
	in.type = MQTT_CONNACK;
	in.connack.code = MQTT_CONNACK_NOT_AUTHORIZED;
	roundtrip(&in, S2C, L4, buf, sizeof(buf), &out);
	assert_false(out.connack.session_present);
	assert_int_equal(out.connack.code, MQTT_CONNACK_NOT_AUTHORIZED);

	memset(&in, 0, sizeof(in));
	in.type = MQTT_SUBACK;
	in.suback.id = 9;
	in.suback.codes = codes;
	in.suback.count = sizeof(codes);
	roundtrip(&in, S2C, L4, buf, sizeof(buf), &out);
	assert_int_equal(out.suback.id, 9);
	assert_int_equal(out.suback.count, sizeof(codes));
	assert_memory_equal(out.suback.codes, codes, sizeof(codes));

	memset(&in, 0, sizeof(in));
	in.type = MQTT_UNSUBACK;
	in.suback.id = 9;
	assert_int_equal(roundtrip(&in, S2C, L4, buf, sizeof(buf), &out), 4);
	assert_int_equal(out.suback.id, 9);

	memset(&in, 0, sizeof(in));
	in.type = MQTT_PINGRESP;
	assert_int_equal(roundtrip(&in, S2C, L4, buf, sizeof(buf), &out), 2);
	in.type = MQTT_PINGREQ;
	assert_int_equal(roundtrip(&in, C2S, L4, buf, sizeof(buf), &out), 2);
	in.type = MQTT_DISCONNECT;
	assert_int_equal(roundtrip(&in, C2S, L4, buf, sizeof(buf), &out), 2);
}

/* Encoded PUBLISH sizes across every Remaining Length boundary. */
static void
test_encode_remaining_length_boundaries(void **state)
{
	static const struct {
		size_t	 rem;
		size_t	 hdr;
	} cases[] = {
		{ 127, 2 }, { 128, 3 }, { 16383, 3 }, { 16384, 4 },
		{ 2097151, 4 }, { 2097152, 5 }, { 268435455, 5 },
	};
	struct mqtt_packet	 pkt, out;
	struct mqtt_frame	 f;
	uint8_t			*buf;
	size_t			 i, n, vh = 2 + 1;	/* topic "t", QoS 0 */

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&pkt, 0, sizeof(pkt));
		pkt.type = MQTT_PUBLISH;
		pkt.publish.topic = str("t");
		pkt.publish.payload_len = cases[i].rem - vh;
		assert_int_equal(mqtt_publish_header_size(L4, &pkt.publish),
		    cases[i].hdr + vh);
		if (cases[i].rem > 2097152)
			continue;
		buf = calloc(1, cases[i].hdr + cases[i].rem);
		assert_non_null(buf);
		pkt.publish.payload = buf + cases[i].hdr + vh;
		n = mqtt_encode(buf, cases[i].hdr + cases[i].rem, L4, &pkt);
		assert_int_equal(n, cases[i].hdr + cases[i].rem);
		assert_int_equal(mqtt_frame(buf, n, 0, &f), MQTT_OK);
		assert_int_equal(f.hdr_len, cases[i].hdr);
		assert_int_equal(f.rem_len, cases[i].rem);
		assert_int_equal(mqtt_decode(&f, C2S, L4, &out, NULL),
		    MQTT_OK);
		assert_int_equal(out.publish.payload_len, cases[i].rem - vh);
		free(buf);
	}
	/* One past the largest Remaining Length cannot be encoded. */
	pkt.publish.payload = NULL;
	pkt.publish.payload_len = MQTT_MAX_REMAINING - vh + 1;
	assert_int_equal(mqtt_publish_header_size(L4, &pkt.publish), 0);
	assert_int_equal(mqtt_packet_size(L4, &pkt), 0);
	pkt.publish.payload_len = (size_t)-1;
	assert_int_equal(mqtt_packet_size(L4, &pkt), 0);
}

/* What the wire cannot carry is refused, not truncated. */
static void
test_encode_unencodable(void **state)
{
	struct mqtt_packet	 pkt;
	char			*big;
	uint8_t			 buf[16];

	(void)state;
	big = malloc(MQTT_MAX_STRING + 1);
	assert_non_null(big);
	memset(big, 'a', MQTT_MAX_STRING + 1);
	memset(&pkt, 0, sizeof(pkt));
	pkt.type = MQTT_PUBLISH;
	pkt.publish.topic.s = big;
	pkt.publish.topic.len = MQTT_MAX_STRING;
	assert_int_equal(mqtt_packet_size(L4, &pkt), 1 + 3 + 2 + 65535);
	pkt.publish.topic.len = MQTT_MAX_STRING + 1;
	assert_int_equal(mqtt_packet_size(L4, &pkt), 0);
	assert_int_equal(mqtt_publish_header_size(L4, &pkt.publish), 0);
	free(big);

	pkt.publish.topic = str("t");
	pkt.publish.qos = 3;
	assert_int_equal(mqtt_packet_size(L4, &pkt), 0);

	memset(&pkt, 0, sizeof(pkt));
	pkt.type = MQTT_CONNECT;
	pkt.connect.will = true;
	pkt.connect.will_qos = 3;
	assert_int_equal(mqtt_packet_size(L4, &pkt), 0);

	/* Reserved types. */
	pkt.type = 0;
	assert_int_equal(mqtt_packet_size(L4, &pkt), 0);
	pkt.type = 15;
	assert_int_equal(mqtt_packet_size(L4, &pkt), 0);
	assert_int_equal(mqtt_encode(buf, sizeof(buf), L4, &pkt), 0);
}

/* The buffer must hold the whole packet; nothing is written past it. */
static void
test_encode_buffer_too_small(void **state)
{
	struct mqtt_packet	 pkt;
	uint8_t			 buf[64];
	size_t			 n, k;

	(void)state;
	memset(&pkt, 0, sizeof(pkt));
	pkt.type = MQTT_PUBLISH;
	pkt.publish.topic = str("a/b");
	pkt.publish.payload = (const uint8_t *)"data";
	pkt.publish.payload_len = 4;
	n = mqtt_packet_size(L4, &pkt);
	for (k = 0; k < n; k++) {
		memset(buf, 0xee, sizeof(buf));
		assert_int_equal(mqtt_encode(buf, k, L4, &pkt), 0);
		assert_int_equal(buf[0], 0xee);
	}
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(mqtt_encode(buf, n, L4, &pkt), n);
	assert_int_equal(buf[n], 0xee);
}

/* --- UTF-8 (1.5.3) ------------------------------------------------------- */

static void
test_utf8_valid(void **state)
{
	static const char *good[] = {
		"", "plain ascii", "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80",
		"\xed\x9f\xbf", "\xee\x80\x80", "\xef\xbf\xbd",
		"\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf",
		/* Allowed through: controls, C1, non-characters, BOM. */
		"\x01\x1f\x7f", "\xc2\x80\xc2\x9f", "\xef\xbf\xbf",
		"\xef\xb7\x90", "\xef\xbb\xbf",
	};
	static const char *bad[] = {
		"\x80", "\xbf", "\xc0\x80", "\xc1\xbf", "\xc2",
		"\xc2\x41", "\xe0\x80\x80", "\xe0\x9f\xbf", "\xed\xa0\x80",
		"\xed\xbf\xbf", "\xe1\x80", "\xf0\x80\x80\x80",
		"\xf0\x8f\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",
		"\xf8\x88\x80\x80\x80", "\xfe", "\xff", "ok\xe2\x82",
		"\xe1\x80\x41", "\xf0\x90\x80\x41", "\xf1\x41\x80\x80",
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(mqtt_utf8_valid(good[i], strlen(good[i])));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(mqtt_utf8_valid(bad[i], strlen(bad[i])));
	assert_false(mqtt_utf8_valid("a\0b", 3));
	assert_true(mqtt_utf8_valid(NULL, 0));
}

static void
test_topic_has_wildcard(void **state)
{
	(void)state;
	assert_false(mqtt_topic_has_wildcard("a/b/c", 5));
	assert_true(mqtt_topic_has_wildcard("a/+/c", 5));
	assert_true(mqtt_topic_has_wildcard("a/#", 3));
	assert_true(mqtt_topic_has_wildcard("#", 1));
	/* Only the given length counts. */
	assert_false(mqtt_topic_has_wildcard("a/#", 2));
	assert_false(mqtt_topic_has_wildcard(NULL, 0));
}

/* MQTT-1.5.3-1: ill-formed UTF-8 in any string field closes. */
static void
test_mqtt_1_5_3_1_ill_formed_utf8(void **state)
{
	(void)state;
	/* Topic name: a surrogate, U+D800. */
	expect_bad(0x30, BYTES(0x00, 0x03, 0xed, 0xa0, 0x80), C2S,
	    "MQTT-1.5.3-1");
	/* Overlong '/'. */
	expect_bad(0x30, BYTES(0x00, 0x03, 'a', 0xc0, 0xaf), C2S,
	    "MQTT-1.5.3-1");
	/* Client identifier: truncated sequence. */
	expect_bad(0x10, BYTES(CONNECT_VH(0x02), 0x00, 0x02, 'a', 0xe2),
	    C2S, "MQTT-1.5.3-1");
	/* Will topic: above U+10FFFF. */
	expect_bad(0x10, BYTES(CONNECT_VH(0x06), 0x00, 0x00,
	    0x00, 0x04, 0xf4, 0x90, 0x80, 0x80, 0x00, 0x00), C2S,
	    "MQTT-1.5.3-1");
	/* User name: lone continuation byte. */
	expect_bad(0x10, BYTES(CONNECT_VH(0x82), 0x00, 0x00,
	    0x00, 0x01, 0x80), C2S, "MQTT-1.5.3-1");
	/* Topic filters. */
	expect_bad(0x82, BYTES(0x00, 0x01, 0x00, 0x01, 0xff, 0x00), C2S,
	    "MQTT-1.5.3-1");
	expect_bad(0xa2, BYTES(0x00, 0x01, 0x00, 0x01, 0xfe), C2S,
	    "MQTT-1.5.3-1");
}

/* MQTT-1.5.3-2: U+0000 in a string closes. */
static void
test_mqtt_1_5_3_2_null_character(void **state)
{
	(void)state;
	expect_bad(0x30, BYTES(0x00, 0x03, 'a', 0x00, 'b'), C2S,
	    "MQTT-1.5.3-2");
	expect_bad(0x10, BYTES(CONNECT_VH(0x02), 0x00, 0x01, 0x00), C2S,
	    "MQTT-1.5.3-2");
	expect_bad(0x82, BYTES(0x00, 0x01, 0x00, 0x02, 'a', 0x00, 0x00),
	    C2S, "MQTT-1.5.3-2");
	expect_bad(0xa2, BYTES(0x00, 0x01, 0x00, 0x01, 0x00), C2S,
	    "MQTT-1.5.3-2");
	/* Binary fields may hold zeros: will message and password. */
	{
		struct mqtt_packet	 pkt;

		expect_ok(0x10, BYTES(CONNECT_VH(0xc6), 0x00, 0x00,
		    0x00, 0x01, 't', 0x00, 0x01, 0x00, 0x00, 0x01, 'u',
		    0x00, 0x02, 0x00, 0x00), C2S, &pkt);
		assert_int_equal(pkt.connect.password.len, 2);
	}
}

/* MQTT-1.5.3-3: a BOM is kept, not stripped. */
static void
test_mqtt_1_5_3_3_bom_kept(void **state)
{
	struct mqtt_packet	 pkt;

	(void)state;
	expect_ok(0x30, BYTES(0x00, 0x04, 0xef, 0xbb, 0xbf, 't'), C2S, &pkt);
	assert_str(pkt.publish.topic, "\xef\xbb\xbft");
}

/* --- fixed header -------------------------------------------------------- */

/* MQTT-2.2.2-2: reserved flag bits must be as Table 2.2 lists them. */
static void
test_mqtt_2_2_2_2_fixed_header_flags(void **state)
{
	(void)state;
	expect_bad(0x11, BYTES(CONNECT_VH(0x02), 0x00, 0x00), C2S,
	    "MQTT-2.2.2-2");
	expect_bad(0x18, BYTES(CONNECT_VH(0x02), 0x00, 0x00), C2S,
	    "MQTT-2.2.2-2");
	expect_bad(0x42, BYTES(0x00, 0x01), C2S, "MQTT-2.2.2-2");
	expect_bad(0x51, BYTES(0x00, 0x01), C2S, "MQTT-2.2.2-2");
	expect_bad(0x78, BYTES(0x00, 0x01), C2S, "MQTT-2.2.2-2");
	expect_bad(0xc4, NULL, 0, C2S, "MQTT-2.2.2-2");
	expect_bad(0x21, BYTES(0x00, 0x00), S2C, "MQTT-2.2.2-2");
	expect_bad(0x92, BYTES(0x00, 0x01, 0x00), S2C, "MQTT-2.2.2-2");
	expect_bad(0xb2, BYTES(0x00, 0x01), S2C, "MQTT-2.2.2-2");
	expect_bad(0xd1, NULL, 0, S2C, "MQTT-2.2.2-2");
}

/* MQTT-3.6.1-1: PUBREL flags are 0010. */
static void
test_mqtt_3_6_1_1_pubrel_flags(void **state)
{
	(void)state;
	expect_bad(0x60, BYTES(0x00, 0x01), C2S, "MQTT-3.6.1-1");
	expect_bad(0x63, BYTES(0x00, 0x01), C2S, "MQTT-3.6.1-1");
	expect_bad(0x60, BYTES(0x00, 0x01), S2C, "MQTT-3.6.1-1");
}

/* MQTT-3.8.1-1: SUBSCRIBE flags are 0010. */
static void
test_mqtt_3_8_1_1_subscribe_flags(void **state)
{
	(void)state;
	expect_bad(0x80, BYTES(0x00, 0x01, 0x00, 0x01, 'a', 0x00), C2S,
	    "MQTT-3.8.1-1");
	expect_bad(0x8a, BYTES(0x00, 0x01, 0x00, 0x01, 'a', 0x00), C2S,
	    "MQTT-3.8.1-1");
}

/* MQTT-3.10.1-1: UNSUBSCRIBE flags are 0010. */
static void
test_mqtt_3_10_1_1_unsubscribe_flags(void **state)
{
	(void)state;
	expect_bad(0xa0, BYTES(0x00, 0x01, 0x00, 0x01, 'a'), C2S,
	    "MQTT-3.10.1-1");
	expect_bad(0xa3, BYTES(0x00, 0x01, 0x00, 0x01, 'a'), C2S,
	    "MQTT-3.10.1-1");
}

/* MQTT-3.14.1-1: DISCONNECT reserved bits are zero. */
static void
test_mqtt_3_14_1_1_disconnect_flags(void **state)
{
	(void)state;
	expect_bad(0xe1, NULL, 0, C2S, "MQTT-3.14.1-1");
	expect_bad(0xe8, NULL, 0, C2S, "MQTT-3.14.1-1");
}

/* Types 0 and 15 are reserved in 3.1.1; each side sends only its own. */
static void
test_reserved_and_wrong_direction_types(void **state)
{
	(void)state;
	expect_bad(0x00, NULL, 0, C2S, NULL);
	expect_bad(0xf0, NULL, 0, C2S, NULL);
	expect_bad(0xf0, NULL, 0, S2C, NULL);
	/* Server packets from a client. */
	expect_bad(0x20, BYTES(0x00, 0x00), C2S, NULL);
	expect_bad(0x90, BYTES(0x00, 0x01, 0x00), C2S, NULL);
	expect_bad(0xb0, BYTES(0x00, 0x01), C2S, NULL);
	expect_bad(0xd0, NULL, 0, C2S, NULL);
	/* Client packets from a server. */
	expect_bad(0x10, BYTES(CONNECT_VH(0x02), 0x00, 0x00), S2C, NULL);
	expect_bad(0x82, BYTES(0x00, 0x01, 0x00, 0x01, 'a', 0x00), S2C,
	    NULL);
	expect_bad(0xa2, BYTES(0x00, 0x01, 0x00, 0x01, 'a'), S2C, NULL);
	expect_bad(0xc0, NULL, 0, S2C, NULL);
	expect_bad(0xe0, NULL, 0, S2C, NULL);
}

/* Lengths that do not add up have no statement of their own (2.2.3). */
static void
test_length_mismatch(void **state)
{
	(void)state;
	expect_bad(0x40, BYTES(0x00, 0x01, 0x00), C2S, NULL);
	expect_bad(0x40, BYTES(0x00), C2S, NULL);
	expect_bad(0x62, NULL, 0, C2S, NULL);
	expect_bad(0xc0, BYTES(0x00), C2S, NULL);
	expect_bad(0xe0, BYTES(0x00), C2S, NULL);
	expect_bad(0xd0, BYTES(0x00), S2C, NULL);
	expect_bad(0x20, BYTES(0x00), S2C, NULL);
	expect_bad(0x20, BYTES(0x00, 0x00, 0x00), S2C, NULL);
	expect_bad(0xb0, BYTES(0x00, 0x01, 0x00), S2C, NULL);
	/* A string longer than the packet. */
	expect_bad(0x30, BYTES(0x00, 0x05, 'a', 'b'), C2S, NULL);
	/* SUBSCRIBE entry without its options byte. */
	expect_bad(0x82, BYTES(0x00, 0x01, 0x00, 0x01, 'a'), C2S, NULL);
	/* CONNECT: trailing bytes, truncated header. */
	expect_bad(0x10, BYTES(CONNECT_VH(0x02), 0x00, 0x00, 0x00), C2S,
	    NULL);
	expect_bad(0x10, BYTES(0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02),
	    C2S, NULL);
	/* QoS 1 PUBLISH with half a packet identifier. */
	expect_bad(0x32, BYTES(0x00, 0x01, 't', 0x00), C2S, NULL);
}

/* --- CONNECT (3.1) ------------------------------------------------------- */

/* MQTT-3.1.2-1: any protocol name but "MQTT" (and 3.1's "MQIsdp"). */
static void
test_mqtt_3_1_2_1_protocol_name(void **state)
{
	(void)state;
	expect_bad(0x10, BYTES(0x00, 0x04, 'M', 'Q', 'T', 'X', 0x04, 0x02,
	    0x00, 0x3c, 0x00, 0x00), C2S, "MQTT-3.1.2-1");
	expect_bad(0x10, BYTES(0x00, 0x04, 'm', 'q', 't', 't', 0x04, 0x02,
	    0x00, 0x3c, 0x00, 0x00), C2S, "MQTT-3.1.2-1");
	expect_bad(0x10, BYTES(0x00, 0x00, 0x04, 0x02, 0x00, 0x3c, 0x00,
	    0x00), C2S, "MQTT-3.1.2-1");
	expect_bad(0x10, BYTES(0x00, 0x05, 'M', 'Q', 'T', 'T', 'T', 0x04,
	    0x02, 0x00, 0x3c, 0x00, 0x00), C2S, "MQTT-3.1.2-1");
}

/*
 * MQTT-3.1.2-2: a level the codec does not decode is reported, with the
 * level, so the broker answers CONNACK 0x01 instead of dropping it.
 */
static void
test_mqtt_3_1_2_2_protocol_level(void **state)
{
	static const struct {
		const char	*name;
		uint8_t		 level;
	} cases[] = {
		{ "MQTT", 3 }, { "MQTT", 6 }, { "MQTT", 0 }, { "MQTT", 255 },
		{ "MQIsdp", 4 }, { "MQIsdp", 5 },
	};
	struct mqtt_packet	 pkt;
	struct mqtt_error	 err;
	uint8_t			 body[32], buf[40];
	size_t			 i, n, len;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = strlen(cases[i].name);
		body[0] = 0;
		body[1] = (uint8_t)n;
		memcpy(body + 2, cases[i].name, n);
		/* Whatever follows is not looked at. */
		memcpy(body + 2 + n, "\0\xff\x00\x3c\x00", 5);
		body[2 + n] = cases[i].level;
		len = build(buf, sizeof(buf), 0x10, body, 2 + n + 5);
		assert_int_equal(decode(buf, len, C2S, 0, &pkt, &err),
		    MQTT_BAD_VERSION);
		assert_int_equal(pkt.connect.level, cases[i].level);
		check_error(&err, "MQTT-3.1.2-2");
		assert_int_equal(err.code, MQTT_RC_UNSUPPORTED_VERSION);
	}
}

/* MQTT-3.1.2-3: the reserved connect flag is zero. */
static void
test_mqtt_3_1_2_3_connect_reserved_flag(void **state)
{
	(void)state;
	expect_bad(0x10, BYTES(CONNECT_VH(0x03), 0x00, 0x00), C2S,
	    "MQTT-3.1.2-3");
	expect_bad(0x10, BYTES(CONNECT_VH(0x01), 0x00, 0x00), C2S,
	    "MQTT-3.1.2-3");
}

/* MQTT-3.1.2-9: with the will flag, will topic and message follow. */
static void
test_mqtt_3_1_2_9_will_fields_missing(void **state)
{
	(void)state;
	expect_bad(0x10, BYTES(CONNECT_VH(0x06), 0x00, 0x00), C2S,
	    "MQTT-3.1.2-9");
	expect_bad(0x10, BYTES(CONNECT_VH(0x06), 0x00, 0x00,
	    0x00, 0x01, 't'), C2S, "MQTT-3.1.2-9");
}

/* MQTT-3.1.2-11/13: no will flag, so will QoS is 0. */
static void
test_mqtt_3_1_2_13_will_qos_without_will(void **state)
{
	(void)state;
	expect_bad(0x10, BYTES(CONNECT_VH(0x0a), 0x00, 0x00), C2S,
	    "MQTT-3.1.2-13");
	expect_bad(0x10, BYTES(CONNECT_VH(0x12), 0x00, 0x00), C2S,
	    "MQTT-3.1.2-13");
	expect_bad(0x10, BYTES(CONNECT_VH(0x1a), 0x00, 0x00), C2S,
	    "MQTT-3.1.2-13");
}

/* MQTT-3.1.2-14: will QoS 3. */
static void
test_mqtt_3_1_2_14_will_qos_3(void **state)
{
	(void)state;
	expect_bad(0x10, BYTES(CONNECT_VH(0x1e), 0x00, 0x00,
	    0x00, 0x01, 't', 0x00, 0x00), C2S, "MQTT-3.1.2-14");
}

/* MQTT-3.1.2-11/15: no will flag, so will retain is 0. */
static void
test_mqtt_3_1_2_15_will_retain_without_will(void **state)
{
	(void)state;
	expect_bad(0x10, BYTES(CONNECT_VH(0x22), 0x00, 0x00), C2S,
	    "MQTT-3.1.2-15");
}

/* MQTT-3.1.2-19: the user name flag promises a user name. */
static void
test_mqtt_3_1_2_19_username_missing(void **state)
{
	(void)state;
	expect_bad(0x10, BYTES(CONNECT_VH(0x82), 0x00, 0x00), C2S,
	    "MQTT-3.1.2-19");
}

/* MQTT-3.1.2-21: the password flag promises a password. */
static void
test_mqtt_3_1_2_21_password_missing(void **state)
{
	(void)state;
	expect_bad(0x10, BYTES(CONNECT_VH(0xc2), 0x00, 0x00,
	    0x00, 0x01, 'u'), C2S, "MQTT-3.1.2-21");
}

/* MQTT-3.1.2-22: no password without a user name (3.1.1 only). */
static void
test_mqtt_3_1_2_22_password_without_username(void **state)
{
	(void)state;
	expect_bad(0x10, BYTES(CONNECT_VH(0x42), 0x00, 0x00,
	    0x00, 0x01, 'p'), C2S, "MQTT-3.1.2-22");
}

/* MQTT-3.1.3-3: the client identifier is always there. */
static void
test_mqtt_3_1_3_3_client_id_missing(void **state)
{
	(void)state;
	expect_bad(0x10, BYTES(CONNECT_VH(0x02)), C2S, "MQTT-3.1.3-3");
}

/* MQTT-4.7.1-1: a will topic is a topic name: no wildcards. */
static void
test_mqtt_4_7_1_1_will_topic_wildcard(void **state)
{
	(void)state;
	expect_bad(0x10, BYTES(CONNECT_VH(0x06), 0x00, 0x00,
	    0x00, 0x03, 'a', '/', '#', 0x00, 0x00), C2S, "MQTT-4.7.1-1");
	expect_bad(0x10, BYTES(CONNECT_VH(0x06), 0x00, 0x00,
	    0x00, 0x01, '+', 0x00, 0x00), C2S, "MQTT-4.7.1-1");
}

/* MQTT-4.7.3-1: topic names and filters are at least one character. */
static void
test_mqtt_4_7_3_1_empty_topic(void **state)
{
	(void)state;
	expect_bad(0x30, BYTES(0x00, 0x00, 'x'), C2S, "MQTT-4.7.3-1");
	expect_bad(0x10, BYTES(CONNECT_VH(0x06), 0x00, 0x00,
	    0x00, 0x00, 0x00, 0x00), C2S, "MQTT-4.7.3-1");
	expect_bad(0x82, BYTES(0x00, 0x01, 0x00, 0x00, 0x00), C2S,
	    "MQTT-4.7.3-1");
	expect_bad(0xa2, BYTES(0x00, 0x01, 0x00, 0x00), C2S, "MQTT-4.7.3-1");
}

/* --- PUBLISH (3.3) ------------------------------------------------------- */

/* MQTT-3.3.1-2: DUP is 0 on QoS 0. */
static void
test_mqtt_3_3_1_2_publish_dup_qos0(void **state)
{
	(void)state;
	expect_bad(0x38, BYTES(0x00, 0x01, 't'), C2S, "MQTT-3.3.1-2");
	expect_bad(0x39, BYTES(0x00, 0x01, 't'), S2C, "MQTT-3.3.1-2");
}

/* MQTT-3.3.1-4: both QoS bits set. */
static void
test_mqtt_3_3_1_4_publish_qos_3(void **state)
{
	(void)state;
	expect_bad(0x36, BYTES(0x00, 0x01, 't', 0x00, 0x01), C2S,
	    "MQTT-3.3.1-4");
	expect_bad(0x3f, BYTES(0x00, 0x01, 't', 0x00, 0x01), S2C,
	    "MQTT-3.3.1-4");
}

/* MQTT-3.3.2-1: the topic name is the first field. */
static void
test_mqtt_3_3_2_1_publish_topic_missing(void **state)
{
	(void)state;
	expect_bad(0x30, NULL, 0, C2S, "MQTT-3.3.2-1");
	expect_bad(0x30, BYTES(0x00), C2S, "MQTT-3.3.2-1");
}

/* MQTT-3.3.2-2: no wildcards in a topic name. */
static void
test_mqtt_3_3_2_2_publish_topic_wildcard(void **state)
{
	(void)state;
	expect_bad(0x30, BYTES(0x00, 0x03, 'a', '/', '+'), C2S,
	    "MQTT-3.3.2-2");
	expect_bad(0x30, BYTES(0x00, 0x01, '#'), C2S, "MQTT-3.3.2-2");
	expect_bad(0x32, BYTES(0x00, 0x05, 'a', '/', '#', '/', 'b', 0x00,
	    0x01), C2S, "MQTT-3.3.2-2");
	expect_bad(0x30, BYTES(0x00, 0x03, 'a', '+', 'b'), S2C,
	    "MQTT-3.3.2-2");
}

/* --- packet identifiers (2.3.1) ------------------------------------------ */

/* MQTT-2.3.1-1: SUBSCRIBE, UNSUBSCRIBE, PUBLISH QoS>0 have id != 0. */
static void
test_mqtt_2_3_1_1_packet_id_zero(void **state)
{
	(void)state;
	expect_bad(0x32, BYTES(0x00, 0x01, 't', 0x00, 0x00), C2S,
	    "MQTT-2.3.1-1");
	expect_bad(0x34, BYTES(0x00, 0x01, 't', 0x00, 0x00, 'p'), C2S,
	    "MQTT-2.3.1-1");
	expect_bad(0x82, BYTES(0x00, 0x00, 0x00, 0x01, 'a', 0x00), C2S,
	    "MQTT-2.3.1-1");
	expect_bad(0xa2, BYTES(0x00, 0x00, 0x00, 0x01, 'a'), C2S,
	    "MQTT-2.3.1-1");
}

/* MQTT-2.3.1-6: an acknowledgement carries its PUBLISH's id, never 0. */
static void
test_mqtt_2_3_1_6_ack_id_zero(void **state)
{
	(void)state;
	expect_bad(0x40, BYTES(0x00, 0x00), C2S, "MQTT-2.3.1-6");
	expect_bad(0x50, BYTES(0x00, 0x00), C2S, "MQTT-2.3.1-6");
	expect_bad(0x62, BYTES(0x00, 0x00), C2S, "MQTT-2.3.1-6");
	expect_bad(0x70, BYTES(0x00, 0x00), S2C, "MQTT-2.3.1-6");
}

/* MQTT-2.3.1-7: SUBACK and UNSUBACK carry their request's id. */
static void
test_mqtt_2_3_1_7_suback_id_zero(void **state)
{
	(void)state;
	expect_bad(0x90, BYTES(0x00, 0x00, 0x00), S2C, "MQTT-2.3.1-7");
	expect_bad(0xb0, BYTES(0x00, 0x00), S2C, "MQTT-2.3.1-7");
}

/* --- SUBSCRIBE and UNSUBSCRIBE (3.8, 3.10) -------------------------------- */

/* MQTT-3.8.3-3: at least one topic filter. */
static void
test_mqtt_3_8_3_3_subscribe_no_filters(void **state)
{
	(void)state;
	expect_bad(0x82, BYTES(0x00, 0x01), C2S, "MQTT-3.8.3-3");
}

/* MQTT-3.8.3-4: reserved bits of the requested QoS byte, and QoS 3. */
static void
test_mqtt_3_8_3_4_subscribe_reserved_qos_bits(void **state)
{
	uint8_t	 opt;

	(void)state;
	for (opt = 0x04; opt != 0; opt <<= 1)
		expect_bad(0x82, BYTES(0x00, 0x01, 0x00, 0x01, 'a', opt), C2S,
		    "MQTT-3.8.3-4");
	expect_bad(0x82, BYTES(0x00, 0x01, 0x00, 0x01, 'a', 0x03), C2S,
	    "MQTT-3.8.3-4");
	/* In the second entry too. */
	expect_bad(0x82, BYTES(0x00, 0x01, 0x00, 0x01, 'a', 0x01,
	    0x00, 0x01, 'b', 0x81), C2S, "MQTT-3.8.3-4");
}

/* MQTT-3.10.3-2: at least one topic filter. */
static void
test_mqtt_3_10_3_2_unsubscribe_no_filters(void **state)
{
	(void)state;
	expect_bad(0xa2, BYTES(0x00, 0x01), C2S, "MQTT-3.10.3-2");
}

/* --- server packets (client side) --------------------------------------- */

/* MQTT-3.2.2-4: a refusal never says "session present". */
static void
test_mqtt_3_2_2_4_connack_session_present_refused(void **state)
{
	(void)state;
	expect_bad(0x20, BYTES(0x01, 0x05), S2C, "MQTT-3.2.2-4");
}

/* CONNACK's reserved flag bits and return codes (3.2.2.1, 3.2.2.3). */
static void
test_connack_reserved(void **state)
{
	(void)state;
	expect_bad(0x20, BYTES(0x02, 0x00), S2C, NULL);
	expect_bad(0x20, BYTES(0x80, 0x00), S2C, NULL);
	expect_bad(0x20, BYTES(0x00, 0x06), S2C, NULL);
}

/* MQTT-3.9.3-2: SUBACK codes are 0, 1, 2 or 0x80. */
static void
test_mqtt_3_9_3_2_suback_reserved_code(void **state)
{
	(void)state;
	expect_bad(0x90, BYTES(0x00, 0x01, 0x03), S2C, "MQTT-3.9.3-2");
	expect_bad(0x90, BYTES(0x00, 0x01, 0x00, 0x81), S2C, "MQTT-3.9.3-2");
}

/* MQTT-3.8.4-5: one return code per filter, so at least one. */
static void
test_mqtt_3_8_4_5_suback_no_codes(void **state)
{
	(void)state;
	expect_bad(0x90, BYTES(0x00, 0x01), S2C, "MQTT-3.8.4-5");
}

/* --- misc ---------------------------------------------------------------- */

static void
test_type_names(void **state)
{
	(void)state;
	assert_string_equal(mqtt_type_name(MQTT_CONNECT), "CONNECT");
	assert_string_equal(mqtt_type_name(MQTT_PUBLISH), "PUBLISH");
	assert_string_equal(mqtt_type_name(MQTT_DISCONNECT), "DISCONNECT");
	assert_string_equal(mqtt_type_name(0), "reserved");
	assert_string_equal(mqtt_type_name(99), "reserved");
}

/* err is optional; a success clears it. */
static void
test_decode_error_optional(void **state)
{
	struct mqtt_packet	 pkt;
	struct mqtt_error	 err;

	(void)state;
	assert_int_equal(decode(BYTES(0x30, 0x03, 0x00, 0x01, '#'), C2S, L4,
	    &pkt, NULL), MQTT_MALFORMED);
	err.stmt = err.reason = "stale";
	assert_int_equal(decode(v_pingreq, 2, C2S, L4, &pkt, &err), MQTT_OK);
	assert_null(err.stmt);
	assert_null(err.reason);
}

/* Every vector in tests/data/mqtt/malformed.txt gets its verdict. */
static void
test_vector_file(void **state)
{
	struct mqtt_packet	 pkt;
	struct mqtt_error	 err;
	enum mqtt_status	 want;
	FILE			*fp;
	char			 line[512], expect[16], stmt[32], from[8];
	const char		*p;
	uint8_t			 buf[256];
	unsigned int		 byte;
	size_t			 len, count = 0;
	int			 level, off, n;

	(void)state;
	if ((fp = fopen(VECTOR_FILE, "r")) == NULL)
		fail_msg("%s: not found; run from tests/unit", VECTOR_FILE);
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		assert_int_equal(sscanf(line, "%15s %31s %d %7s%n", expect, stmt,
		    &level, from, &off), 4);
		for (p = line + off, len = 0;
		    sscanf(p, "%2x%n", &byte, &n) == 1; p += n) {
			assert_true(len < sizeof(buf));
			buf[len++] = (uint8_t)byte;
		}
		if (strcmp(expect, "ok") == 0)
			want = MQTT_OK;
		else if (strcmp(expect, "bad-version") == 0)
			want = MQTT_BAD_VERSION;
		else {
			assert_string_equal(expect, "malformed");
			want = MQTT_MALFORMED;
		}
		assert_int_equal(decode(buf, len, strcmp(from, "server") == 0 ?
		    S2C : C2S, (uint8_t)level, &pkt, &err), want);
		if (want != MQTT_OK)
			check_error(&err, strcmp(stmt, "-") == 0 ? NULL : stmt);
		count++;
	}
	fclose(fp);
	assert_true(count >= 60);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_need_more_short),
		cmocka_unit_test(test_frame_remaining_length_boundaries),
		cmocka_unit_test(test_frame_five_byte_length_malformed),
		cmocka_unit_test(test_frame_non_minimal_length_accepted),
		cmocka_unit_test(test_frame_too_big_before_body),
		cmocka_unit_test(test_frame_need_more_every_split),
		cmocka_unit_test(test_frame_stream_reassembly),
		cmocka_unit_test(test_spec_connect),
		cmocka_unit_test(test_spec_connect_minimal),
		cmocka_unit_test(test_spec_connect_mqisdp),
		cmocka_unit_test(test_spec_publish),
		cmocka_unit_test(test_spec_publish_qos0_flags),
		cmocka_unit_test(test_spec_subscribe),
		cmocka_unit_test(test_spec_unsubscribe),
		cmocka_unit_test(test_spec_acks_and_empty),
		cmocka_unit_test(test_spec_connack),
		cmocka_unit_test(test_spec_suback_unsuback_pingresp),
		cmocka_unit_test(test_roundtrip_connect),
		cmocka_unit_test(test_roundtrip_publish),
		cmocka_unit_test(test_publish_header_separate),
		cmocka_unit_test(test_roundtrip_acks),
		cmocka_unit_test(test_roundtrip_subscribe_unsubscribe),
		cmocka_unit_test(test_roundtrip_server_packets),
		cmocka_unit_test(test_encode_remaining_length_boundaries),
		cmocka_unit_test(test_encode_unencodable),
		cmocka_unit_test(test_encode_buffer_too_small),
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_topic_has_wildcard),
		cmocka_unit_test(test_mqtt_1_5_3_1_ill_formed_utf8),
		cmocka_unit_test(test_mqtt_1_5_3_2_null_character),
		cmocka_unit_test(test_mqtt_1_5_3_3_bom_kept),
		cmocka_unit_test(test_mqtt_2_2_2_2_fixed_header_flags),
		cmocka_unit_test(test_mqtt_3_6_1_1_pubrel_flags),
		cmocka_unit_test(test_mqtt_3_8_1_1_subscribe_flags),
		cmocka_unit_test(test_mqtt_3_10_1_1_unsubscribe_flags),
		cmocka_unit_test(test_mqtt_3_14_1_1_disconnect_flags),
		cmocka_unit_test(test_reserved_and_wrong_direction_types),
		cmocka_unit_test(test_length_mismatch),
		cmocka_unit_test(test_mqtt_3_1_2_1_protocol_name),
		cmocka_unit_test(test_mqtt_3_1_2_2_protocol_level),
		cmocka_unit_test(test_mqtt_3_1_2_3_connect_reserved_flag),
		cmocka_unit_test(test_mqtt_3_1_2_9_will_fields_missing),
		cmocka_unit_test(test_mqtt_3_1_2_13_will_qos_without_will),
		cmocka_unit_test(test_mqtt_3_1_2_14_will_qos_3),
		cmocka_unit_test(test_mqtt_3_1_2_15_will_retain_without_will),
		cmocka_unit_test(test_mqtt_3_1_2_19_username_missing),
		cmocka_unit_test(test_mqtt_3_1_2_21_password_missing),
		cmocka_unit_test(test_mqtt_3_1_2_22_password_without_username),
		cmocka_unit_test(test_mqtt_3_1_3_3_client_id_missing),
		cmocka_unit_test(test_mqtt_4_7_1_1_will_topic_wildcard),
		cmocka_unit_test(test_mqtt_4_7_3_1_empty_topic),
		cmocka_unit_test(test_mqtt_3_3_1_2_publish_dup_qos0),
		cmocka_unit_test(test_mqtt_3_3_1_4_publish_qos_3),
		cmocka_unit_test(test_mqtt_3_3_2_1_publish_topic_missing),
		cmocka_unit_test(test_mqtt_3_3_2_2_publish_topic_wildcard),
		cmocka_unit_test(test_mqtt_2_3_1_1_packet_id_zero),
		cmocka_unit_test(test_mqtt_2_3_1_6_ack_id_zero),
		cmocka_unit_test(test_mqtt_2_3_1_7_suback_id_zero),
		cmocka_unit_test(test_mqtt_3_8_3_3_subscribe_no_filters),
		cmocka_unit_test(test_mqtt_3_8_3_4_subscribe_reserved_qos_bits),
		cmocka_unit_test(test_mqtt_3_10_3_2_unsubscribe_no_filters),
		cmocka_unit_test(
		    test_mqtt_3_2_2_4_connack_session_present_refused),
		cmocka_unit_test(test_connack_reserved),
		cmocka_unit_test(test_mqtt_3_9_3_2_suback_reserved_code),
		cmocka_unit_test(test_mqtt_3_8_4_5_suback_no_codes),
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_decode_error_optional),
		cmocka_unit_test(test_vector_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
