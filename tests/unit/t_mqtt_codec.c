/*
 * t_mqtt_codec.c: unit tests for broker/mqtt_codec.c.
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

/* An array literal and its size, as two arguments. */
#define BYTES(...)	((const uint8_t[]){ __VA_ARGS__ }), \
			sizeof((const uint8_t[]){ __VA_ARGS__ })

/* CONNECT variable header for "MQTT" level 4, keep alive 60. */
#define CONNECT_VH(flags) \
	0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, (flags), 0x00, 0x3c

/* The same at level 5, before the property length. */
#define CONNECT_VH5(flags) \
	0x00, 0x04, 'M', 'Q', 'T', 'T', 0x05, (flags), 0x00, 0x3c

#define L4	MQTT_LEVEL_311
#define L5	MQTT_LEVEL_5
#define MAL	MQTT_RC_MALFORMED
#define PROTO	MQTT_RC_PROTOCOL_ERROR
#define C2S	MQTT_FROM_CLIENT
#define S2C	MQTT_FROM_SERVER

/* Vectors shared with the integration tests; run from tests/unit. */
#define VECTOR_FILE	"../data/mqtt/malformed.txt"

static uint8_t	 scratch[4096];

/* --- helpers ------------------------------------------------------------ */

/* Frame buf, which must hold exactly one packet, and decode it. */
static enum mqtt_status
decode(const uint8_t *buf, size_t len, enum mqtt_dir dir, uint8_t level,
    struct mqtt_packet *pkt, struct mqtt_error *err)
{
	struct mqtt_frame	 f;

	assert_int_equal(mqtt_frame(buf, len, 0, &f), MQTT_OK);
	assert_int_equal(f.total_len, len);
	return mqtt_decode(&f, dir, level, pkt, err);
}

/* Write rem as a variable byte integer; returns its length. */
static size_t
put_len(uint8_t *out, size_t rem)
{
	size_t	 i = 0;

	do {
		out[i] = rem & 0x7f;
		rem >>= 7;
		if (rem > 0)
			out[i] |= 0x80;
		i++;
	} while (rem > 0);
	return i;
}

/* Prepend a fixed header to body; returns the packet length. */
static size_t
build(uint8_t *out, size_t size, uint8_t first, const uint8_t *body,
    size_t n)
{
	size_t	 i;

	out[0] = first;
	i = 1 + put_len(out + 1, n);
	assert_true(i + n <= size);
	if (n > 0)
		memcpy(out + i, body, n);
	return i + n;
}

static void
check_error(const struct mqtt_error *err, const char *stmt)
{
	assert_non_null(err->reason);
	if (stmt == NULL) {
		assert_null(err->stmt);
		return;
	}
	assert_non_null(err->stmt);
	assert_string_equal(err->stmt, stmt);
	/* The log line names the statement first. */
	assert_int_equal(strncmp(err->reason, stmt, strlen(stmt)), 0);
	assert_int_equal(err->reason[strlen(stmt)], ' ');
}

/*
 * The packet first+body must be refused at level, citing stmt (NULL:
 * none) and, unless code is 0, with that 5.0 reason code.
 */
static void
expect_bad_lv(uint8_t level, uint8_t first, const uint8_t *body, size_t n,
    enum mqtt_dir dir, const char *stmt, uint8_t code)
{
	struct mqtt_packet	 pkt;
	struct mqtt_error	 err;
	size_t			 len;

	len = build(scratch, sizeof(scratch), first, body, n);
	assert_int_equal(decode(scratch, len, dir, level, &pkt, &err),
	    MQTT_MALFORMED);
	check_error(&err, stmt);
	if (code != 0)
		assert_int_equal(err.code, code);
	else
		assert_true(err.code == MQTT_RC_MALFORMED ||
		    err.code == MQTT_RC_PROTOCOL_ERROR);
}

static void
expect_bad(uint8_t first, const uint8_t *body, size_t n, enum mqtt_dir dir,
    const char *stmt)
{
	expect_bad_lv(L4, first, body, n, dir, stmt, 0);
}

static void
expect_ok_lv(uint8_t level, uint8_t first, const uint8_t *body, size_t n,
    enum mqtt_dir dir, struct mqtt_packet *pkt)
{
	struct mqtt_error	 err;
	size_t			 len;

	len = build(scratch, sizeof(scratch), first, body, n);
	assert_int_equal(decode(scratch, len, dir, level, pkt, &err),
	    MQTT_OK);
}

static void
expect_ok(uint8_t first, const uint8_t *body, size_t n, enum mqtt_dir dir,
    struct mqtt_packet *pkt)
{
	expect_ok_lv(L4, first, body, n, dir, pkt);
}

static void
assert_str(struct mqtt_str s, const char *want)
{
	assert_int_equal(s.len, strlen(want));
	assert_memory_equal(s.s, want, s.len);
}

static void
assert_bin(struct mqtt_bin b, const char *want)
{
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.p, want, b.len);
}

static struct mqtt_str
str(const char *s)
{
	struct mqtt_str	 r = { s, strlen(s) };

	return r;
}

static struct mqtt_bin
bin(const char *s)
{
	struct mqtt_bin	 r = { (const uint8_t *)s, strlen(s) };

	return r;
}

/*
 * Encode in, check the size function, the exact fit and the one-short
 * refusal, then decode it back into *out.  Returns the length.
 */
static size_t
roundtrip(const struct mqtt_packet *in, enum mqtt_dir dir, uint8_t level,
    uint8_t *buf, size_t size, struct mqtt_packet *out)
{
	struct mqtt_error	 err;
	size_t			 n;

	n = mqtt_packet_size(level, in);
	assert_true(n > 0 && n <= size);
	assert_int_equal(mqtt_encode(buf, n - 1, level, in), 0);
	assert_int_equal(mqtt_encode(buf, size, level, in), n);
	assert_int_equal(decode(buf, n, dir, level, out, &err), MQTT_OK);
	assert_int_equal(out->type, in->type);
	return n;
}

/* Encoding pkt must give exactly want[0..n). */
static void
expect_encoding(uint8_t level, const struct mqtt_packet *pkt,
    const uint8_t *want, size_t n)
{
	uint8_t	 buf[256];

	assert_int_equal(mqtt_packet_size(level, pkt), n);
	assert_int_equal(mqtt_encode(buf, sizeof(buf), level, pkt), n);
	assert_memory_equal(buf, want, n);
}

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
		cmocka_unit_test(test_vector_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
