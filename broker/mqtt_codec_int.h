/*
 * mqtt_codec_int.h: what mqtt_codec.c (framing, decoding, lists) and
 * mqtt_encode.c (encoding) share, private to the two.  The tables live in
 * mqtt_codec.c; they are constant, so the codec stays free of state.
 */
#ifndef STAPLEMQ_MQTT_CODEC_INT_H
#define STAPLEMQ_MQTT_CODEC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqtt_codec.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

#define CONNECT_RESERVED	0x01
#define CONNECT_CLEAN		0x02
#define CONNECT_WILL		0x04
#define CONNECT_WILL_QOS	0x18
#define CONNECT_WILL_RETAIN	0x20
#define CONNECT_PASSWORD	0x40
#define CONNECT_USERNAME	0x80

#define PUBLISH_DUP		0x08
#define PUBLISH_QOS		0x06
#define PUBLISH_RETAIN		0x01

/*
 * Where a property may appear: bit (1 << packet type), and bit 0, which
 * no packet type uses, for the will properties inside CONNECT.
 */
#define IN(t)			(1U << (t))
#define IN_WILL			IN(0)
#define IN_ACKS			(IN(MQTT_PUBACK) | IN(MQTT_PUBREC) | \
				 IN(MQTT_PUBREL) | IN(MQTT_PUBCOMP))

/* Table sizes: packet types 0-15, property identifiers 0-0x2a. */
#define MQTT_NKINDS		(MQTT_AUTH + 1)
#define MQTT_NPROPS		(MQTT_PROP_SHARED_SUB_AVAILABLE + 1)

struct rd;			/* mqtt_codec.c's reader */

/* What differs between packet types; the encoders have their own table. */
struct mqtt_kind {
	const char	*name;		/* NULL: reserved */
	uint8_t		 flags;		/* required fixed-header flags */
	uint8_t		 senders;	/* at levels 3 and 4 */
	uint8_t		 senders5;	/* at level 5; 0: not in 5.0 */
	bool		(*decode)(struct rd *, struct mqtt_packet *);
	const char	*flags_stmt;	/* NULL: the generic statement */
	const char	*flags_reason;
};

enum ptype {
	P_NONE,
	P_BYTE,
	P_U16,
	P_U32,
	P_VARINT,
	P_STR,
	P_BIN,
	P_PAIR
};

struct mqtt_prop_def {
	uint8_t		 type;		/* enum ptype */
	uint8_t		 check;		/* mqtt_codec.c's enum pcheck */
	uint16_t	 where;		/* IN() bits */
	size_t		 off;		/* field in struct mqtt_props */
};

/* mqtt_codec.c */
extern const struct mqtt_kind		mqtt_kinds[MQTT_NKINDS];
extern const struct mqtt_prop_def	mqtt_prop_defs[MQTT_NPROPS];
/* The kind of a packet type at a level; NULL if it has none there. */
const struct mqtt_kind *mqtt_kind_of(unsigned int, uint8_t);
/* Bytes of the variable byte integer for n (n <= MQTT_MAX_REMAINING). */
size_t		 mqtt_varint_len(size_t);

#endif /* STAPLEMQ_MQTT_CODEC_INT_H */
