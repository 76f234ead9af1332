/*
 * mqtt_testutil.c: helpers shared by the MQTT codec unit tests
 * (t_mqtt_codec.c, t_mqtt5_codec.c); see mqtt_testutil.h.
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

uint8_t	 scratch[4096];

/* Frame buf, which must hold exactly one packet, and decode it. */
enum mqtt_status
decode(const uint8_t *buf, size_t len, enum mqtt_dir dir, uint8_t level,
    struct mqtt_packet *pkt, struct mqtt_error *err)
{
	struct mqtt_frame	 f;

	assert_int_equal(mqtt_frame(buf, len, 0, &f), MQTT_OK);
	assert_int_equal(f.total_len, len);
	return mqtt_decode(&f, dir, level, pkt, err);
}

/* Write rem as a variable byte integer; returns its length. */
size_t
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
size_t
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

void
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
void
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

void
expect_bad(uint8_t first, const uint8_t *body, size_t n, enum mqtt_dir dir,
    const char *stmt)
{
	expect_bad_lv(L4, first, body, n, dir, stmt, 0);
}

void
expect_ok_lv(uint8_t level, uint8_t first, const uint8_t *body, size_t n,
    enum mqtt_dir dir, struct mqtt_packet *pkt)
{
	struct mqtt_error	 err;
	size_t			 len;

	len = build(scratch, sizeof(scratch), first, body, n);
	assert_int_equal(decode(scratch, len, dir, level, pkt, &err),
	    MQTT_OK);
}

void
expect_ok(uint8_t first, const uint8_t *body, size_t n, enum mqtt_dir dir,
    struct mqtt_packet *pkt)
{
	expect_ok_lv(L4, first, body, n, dir, pkt);
}

void
assert_str(struct mqtt_str s, const char *want)
{
	assert_int_equal(s.len, strlen(want));
	assert_memory_equal(s.s, want, s.len);
}

void
assert_bin(struct mqtt_bin b, const char *want)
{
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.p, want, b.len);
}

struct mqtt_str
str(const char *s)
{
	struct mqtt_str	 r = { s, strlen(s) };

	return r;
}

struct mqtt_bin
bin(const char *s)
{
	struct mqtt_bin	 r = { (const uint8_t *)s, strlen(s) };

	return r;
}

/*
 * Encode in, check the size function, the exact fit and the one-short
 * refusal, then decode it back into *out.  Returns the length.
 */
size_t
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
void
expect_encoding(uint8_t level, const struct mqtt_packet *pkt,
    const uint8_t *want, size_t n)
{
	uint8_t	 buf[256];

	assert_int_equal(mqtt_packet_size(level, pkt), n);
	assert_int_equal(mqtt_encode(buf, sizeof(buf), level, pkt), n);
	assert_memory_equal(buf, want, n);
}
