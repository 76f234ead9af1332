/*
 * mqtt_testutil.h: helpers shared by the MQTT codec unit tests
 * (t_mqtt_codec.c for 3.1.1, t_mqtt5_codec.c for 5.0).  They fail the
 * running cmocka test on any error.
 */
#ifndef STAPLEMQ_MQTT_TESTUTIL_H
#define STAPLEMQ_MQTT_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

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

/* A buffer to build packets in. */
extern uint8_t	 scratch[4096];

/* Frame buf, which must hold exactly one packet, and decode it. */
enum mqtt_status decode(const uint8_t *buf, size_t len, enum mqtt_dir dir,
	    uint8_t level, struct mqtt_packet *pkt, struct mqtt_error *err);
/* Write rem as a variable byte integer; returns its length. */
size_t	 put_len(uint8_t *out, size_t rem);
/* Prepend a fixed header to body; returns the packet length. */
size_t	 build(uint8_t *out, size_t size, uint8_t first, const uint8_t *body,
	    size_t n);
/* err cites stmt (NULL: none), and its reason starts with it. */
void	 check_error(const struct mqtt_error *err, const char *stmt);
/*
 * The packet first+body must be refused at level, citing stmt (NULL:
 * none) and, unless code is 0, with that 5.0 reason code.
 */
void	 expect_bad_lv(uint8_t level, uint8_t first, const uint8_t *body,
	    size_t n, enum mqtt_dir dir, const char *stmt, uint8_t code);
/* The same at 3.1.1, with either reason code. */
void	 expect_bad(uint8_t first, const uint8_t *body, size_t n,
	    enum mqtt_dir dir, const char *stmt);
/* The packet first+body must decode at level, into *pkt. */
void	 expect_ok_lv(uint8_t level, uint8_t first, const uint8_t *body,
	    size_t n, enum mqtt_dir dir, struct mqtt_packet *pkt);
/* The same at 3.1.1. */
void	 expect_ok(uint8_t first, const uint8_t *body, size_t n,
	    enum mqtt_dir dir, struct mqtt_packet *pkt);
/* s (b) must hold exactly the bytes of want. */
void	 assert_str(struct mqtt_str s, const char *want);
void	 assert_bin(struct mqtt_bin b, const char *want);
/* s as a string (binary) field, not copied. */
struct mqtt_str	 str(const char *s);
struct mqtt_bin	 bin(const char *s);
/*
 * Encode in, check the size function, the exact fit and the one-short
 * refusal, then decode it back into *out.  Returns the length.
 */
size_t	 roundtrip(const struct mqtt_packet *in, enum mqtt_dir dir,
	    uint8_t level, uint8_t *buf, size_t size, struct mqtt_packet *out);
/* Encoding pkt must give exactly want[0..n). */
void	 expect_encoding(uint8_t level, const struct mqtt_packet *pkt,
	    const uint8_t *want, size_t n);

#endif
