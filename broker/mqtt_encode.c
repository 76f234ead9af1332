/*
 * mqtt_encode.c: MQTT packet encoding, for mqtt_packet_size(),
 * mqtt_encode() and the PUBLISH header functions (see mqtt_codec.h).
 *
 * Writing goes through struct wr, which only counts when it has no
 * buffer, so one function per packet type gives both the exact size and
 * the bytes.  The functions are kept in mqtt_encoders; which packet types
 * exist at a level, their fixed-header flags and the property table come
 * from mqtt_codec.c (mqtt_codec_int.h).
 */
#include <stddef.h>
#include <string.h>

#include "mqtt_codec.h"
#include "mqtt_codec_int.h"

struct wr {
	uint8_t			*p;		/* NULL: count only */
	size_t			 len;
	bool			 bad;		/* cannot be encoded */
};

static void	 wr_mem(struct wr *, const void *, size_t);
static void	 wr_skip(struct wr *, size_t);
static void	 wr_u8(struct wr *, uint8_t);
static void	 wr_u16(struct wr *, uint16_t);
static void	 wr_u32(struct wr *, uint32_t);
static void	 wr_varint(struct wr *, uint32_t);
static void	 wr_bin(struct wr *, const void *, size_t);
static void	 wr_prop(struct wr *, uint8_t, const struct mqtt_props *);
static void	 wr_props_body(struct wr *, const struct mqtt_props *,
		    unsigned int);
static size_t	 props_len(const struct mqtt_props *, unsigned int, bool *);
static void	 wr_props(struct wr *, const struct mqtt_props *,
		    unsigned int);

static void	 enc_connect(struct wr *, uint8_t, const struct mqtt_packet *);
static void	 enc_connack(struct wr *, uint8_t, const struct mqtt_packet *);
static void	 enc_publish_vh(struct wr *, uint8_t,
		    const struct mqtt_publish *);
static void	 enc_publish(struct wr *, uint8_t, const struct mqtt_packet *);
static void	 enc_ack(struct wr *, uint8_t, const struct mqtt_packet *);
static void	 enc_subscribe(struct wr *, uint8_t,
		    const struct mqtt_packet *);
static void	 enc_suback(struct wr *, uint8_t, const struct mqtt_packet *);
static void	 enc_empty(struct wr *, uint8_t, const struct mqtt_packet *);
static void	 enc_disconnect(struct wr *, uint8_t,
		    const struct mqtt_packet *);
static bool	 enc_body(struct wr *, uint8_t, const struct mqtt_packet *);
static uint8_t	 first_byte(const struct mqtt_packet *);
static size_t	 put_fixed(uint8_t *, uint8_t, size_t);

/* One per packet type in mqtt_kinds; the body after the fixed header. */
static void (*const mqtt_encoders[MQTT_NKINDS])(struct wr *, uint8_t,
    const struct mqtt_packet *) = {
	[MQTT_CONNECT] =	enc_connect,
	[MQTT_CONNACK] =	enc_connack,
	[MQTT_PUBLISH] =	enc_publish,
	[MQTT_PUBACK] =		enc_ack,
	[MQTT_PUBREC] =		enc_ack,
	[MQTT_PUBREL] =		enc_ack,
	[MQTT_PUBCOMP] =	enc_ack,
	[MQTT_SUBSCRIBE] =	enc_subscribe,
	[MQTT_SUBACK] =		enc_suback,
	[MQTT_UNSUBSCRIBE] =	enc_subscribe,
	[MQTT_UNSUBACK] =	enc_suback,
	[MQTT_PINGREQ] =	enc_empty,
	[MQTT_PINGRESP] =	enc_empty,
	[MQTT_DISCONNECT] =	enc_disconnect,
	[MQTT_AUTH] =		enc_disconnect,
};

/* --- writing ------------------------------------------------------------ */

/* Everything counts towards the Remaining Length, which is capped. */
static void
wr_mem(struct wr *w, const void *src, size_t n)
{
	if (n > MQTT_MAX_REMAINING - w->len) {
		w->bad = true;
		return;
	}
	if (w->p != NULL && n > 0)
		memcpy(w->p + w->len, src, n);
	w->len += n;
}

/* Count bytes the caller sends itself (a PUBLISH payload). */
static void
wr_skip(struct wr *w, size_t n)
{
	if (n > MQTT_MAX_REMAINING - w->len) {
		w->bad = true;
		return;
	}
	w->len += n;
}

static void
wr_u8(struct wr *w, uint8_t v)
{
	wr_mem(w, &v, 1);
}

static void
wr_u16(struct wr *w, uint16_t v)
{
	uint8_t	 b[2];

	b[0] = v >> 8;
	b[1] = v & 0xff;
	wr_mem(w, b, 2);
}

static void
wr_u32(struct wr *w, uint32_t v)
{
	uint8_t	 b[4];

	b[0] = v >> 24;
	b[1] = (v >> 16) & 0xff;
	b[2] = (v >> 8) & 0xff;
	b[3] = v & 0xff;
	wr_mem(w, b, 4);
}

static void
wr_varint(struct wr *w, uint32_t v)
{
	uint8_t	 b[4];
	size_t	 n = 0;

	if (v > MQTT_MAX_REMAINING) {
		w->bad = true;
		return;
	}
	do {
		b[n] = v & 0x7f;
		v >>= 7;
		if (v > 0)
			b[n] |= 0x80;
		n++;
	} while (v > 0);
	wr_mem(w, b, n);
}

/* A string or binary field with its two-byte length. */
static void
wr_bin(struct wr *w, const void *p, size_t n)
{
	if (n > MQTT_MAX_STRING) {
		w->bad = true;
		return;
	}
	wr_u16(w, (uint16_t)n);
	wr_mem(w, p, n);
}

/* One single-valued property, from its field. */
static void
wr_prop(struct wr *w, uint8_t id, const struct mqtt_props *pr)
{
	const struct mqtt_prop_def	*d = &mqtt_prop_defs[id];
	const void			*src = (const char *)pr + d->off;
	const struct mqtt_str		*s;
	const struct mqtt_bin		*b;

	wr_u8(w, id);
	switch (d->type) {
	case P_BYTE:
		wr_u8(w, *(const uint8_t *)src);
		break;
	case P_U16:
		wr_u16(w, *(const uint16_t *)src);
		break;
	case P_U32:
		wr_u32(w, *(const uint32_t *)src);
		break;
	case P_STR:
		s = src;
		wr_bin(w, s->s, s->len);
		break;
	case P_BIN:
		b = src;
		wr_bin(w, b->p, b->len);
		break;
	default:
		w->bad = true;
		break;
	}
}

static void
wr_props_body(struct wr *w, const struct mqtt_props *pr, unsigned int ctx)
{
	struct mqtt_prop_iter	 it;
	struct mqtt_user_prop	 u;
	uint32_t		 sid;
	size_t			 id, n = 0;

	for (id = 0; id < 64; id++) {
		if (!(pr->present & MQTT_PROP_BIT(id)) ||
		    id == MQTT_PROP_USER || id == MQTT_PROP_SUBSCRIPTION_ID)
			continue;
		if (id >= NELEM(mqtt_prop_defs) ||
		    (mqtt_prop_defs[id].where & ctx) == 0) {
			w->bad = true;
			return;
		}
		wr_prop(w, (uint8_t)id, pr);
	}
	mqtt_subid_first(&it, pr);
	while (mqtt_subid_next(&it, &sid)) {
		wr_u8(w, MQTT_PROP_SUBSCRIPTION_ID);
		wr_varint(w, sid);
		n++;
	}
	if (n > 0 && ((mqtt_prop_defs[MQTT_PROP_SUBSCRIPTION_ID].where &
	    ctx) == 0 || (n > 1 && ctx != IN(MQTT_PUBLISH))))
		w->bad = true;
	mqtt_user_first(&it, pr);
	while (mqtt_user_next(&it, &u)) {
		if ((mqtt_prop_defs[MQTT_PROP_USER].where & ctx) == 0)
			w->bad = true;
		wr_u8(w, MQTT_PROP_USER);
		wr_bin(w, u.name.s, u.name.len);
		wr_bin(w, u.value.s, u.value.len);
	}
}

/* Length of the property block's contents; *bad if it cannot be encoded. */
static size_t
props_len(const struct mqtt_props *pr, unsigned int ctx, bool *bad)
{
	struct wr	 m = { NULL, 0, false };

	wr_props_body(&m, pr, ctx);
	if (m.bad)
		*bad = true;
	return m.len;
}

static void
wr_props(struct wr *w, const struct mqtt_props *pr, unsigned int ctx)
{
	size_t	 n;

	n = props_len(pr, ctx, &w->bad);
	if (w->bad)
		return;
	wr_varint(w, (uint32_t)n);
	wr_props_body(w, pr, ctx);
}

/* --- encoding ----------------------------------------------------------- */

static void
enc_connect(struct wr *w, uint8_t level, const struct mqtt_packet *pkt)
{
	const struct mqtt_connect	*c = &pkt->connect;
	uint8_t				 flags = 0;

	if (level == MQTT_LEVEL_31)
		wr_bin(w, "MQIsdp", 6);
	else
		wr_bin(w, "MQTT", 4);
	wr_u8(w, level);
	if (c->clean)
		flags |= CONNECT_CLEAN;
	if (c->will) {
		if (c->will_qos > 2)
			w->bad = true;
		flags |= CONNECT_WILL | (c->will_qos & 3) << 3;
		if (c->will_retain)
			flags |= CONNECT_WILL_RETAIN;
	}
	if (c->has_password)
		flags |= CONNECT_PASSWORD;
	if (c->has_username)
		flags |= CONNECT_USERNAME;
	wr_u8(w, flags);
	wr_u16(w, c->keepalive);
	if (level == MQTT_LEVEL_5)
		wr_props(w, &c->props, IN(MQTT_CONNECT));
	wr_bin(w, c->client_id.s, c->client_id.len);
	if (c->will) {
		if (level == MQTT_LEVEL_5)
			wr_props(w, &c->will_props, IN_WILL);
		wr_bin(w, c->will_topic.s, c->will_topic.len);
		wr_bin(w, c->will_payload.p, c->will_payload.len);
	}
	if (c->has_username)
		wr_bin(w, c->username.s, c->username.len);
	if (c->has_password)
		wr_bin(w, c->password.p, c->password.len);
}

static void
enc_connack(struct wr *w, uint8_t level, const struct mqtt_packet *pkt)
{
	wr_u8(w, pkt->connack.session_present ? 0x01 : 0x00);
	wr_u8(w, pkt->connack.code);
	if (level == MQTT_LEVEL_5)
		wr_props(w, &pkt->connack.props, IN(MQTT_CONNACK));
}

/* PUBLISH variable header: topic, packet identifier, properties. */
static void
enc_publish_vh(struct wr *w, uint8_t level, const struct mqtt_publish *p)
{
	if (p->qos > 2)
		w->bad = true;
	wr_bin(w, p->topic.s, p->topic.len);
	if (p->qos > 0)
		wr_u16(w, p->id);
	if (level == MQTT_LEVEL_5)
		wr_props(w, &p->props, IN(MQTT_PUBLISH));
}

static void
enc_publish(struct wr *w, uint8_t level, const struct mqtt_packet *pkt)
{
	enc_publish_vh(w, level, &pkt->publish);
	wr_mem(w, pkt->publish.payload, pkt->publish.payload_len);
}

/* In 5.0 the shortest form that says it all (3.4.2.1). */
static void
enc_ack(struct wr *w, uint8_t level, const struct mqtt_packet *pkt)
{
	const struct mqtt_ack	*a = &pkt->ack;
	size_t			 n;

	wr_u16(w, a->id);
	if (level != MQTT_LEVEL_5)
		return;
	n = props_len(&a->props, IN(pkt->type), &w->bad);
	if (a->code == MQTT_RC_SUCCESS && n == 0)
		return;
	wr_u8(w, a->code);
	if (n > 0)
		wr_props(w, &a->props, IN(pkt->type));
}

/* SUBSCRIBE and UNSUBSCRIBE. */
static void
enc_subscribe(struct wr *w, uint8_t level, const struct mqtt_packet *pkt)
{
	struct mqtt_filter_iter	 it;
	struct mqtt_filter	 f;
	size_t			 n = 0;

	wr_u16(w, pkt->subscribe.id);
	if (level == MQTT_LEVEL_5)
		wr_props(w, &pkt->subscribe.props, IN(pkt->type));
	mqtt_filter_first(&it, pkt);
	while (mqtt_filter_next(&it, &f)) {
		wr_bin(w, f.topic.s, f.topic.len);
		if (pkt->type == MQTT_SUBSCRIBE)
			wr_u8(w, f.options);
		n++;
	}
	if (n != pkt->subscribe.count)
		w->bad = true;
}

/* SUBACK, and UNSUBACK (which has no codes before 5.0). */
static void
enc_suback(struct wr *w, uint8_t level, const struct mqtt_packet *pkt)
{
	wr_u16(w, pkt->suback.id);
	if (level == MQTT_LEVEL_5)
		wr_props(w, &pkt->suback.props, IN(pkt->type));
	else if (pkt->type == MQTT_UNSUBACK)
		return;
	wr_mem(w, pkt->suback.codes, pkt->suback.count);
}

static void
enc_empty(struct wr *w, uint8_t level, const struct mqtt_packet *pkt)
{
	(void)w;
	(void)level;
	(void)pkt;
}

/* DISCONNECT and AUTH: in 5.0 the shortest form that says it all. */
static void
enc_disconnect(struct wr *w, uint8_t level, const struct mqtt_packet *pkt)
{
	const struct mqtt_disconnect	*d = &pkt->disconnect;
	size_t				 n;

	if (level != MQTT_LEVEL_5)
		return;
	n = props_len(&d->props, IN(pkt->type), &w->bad);
	if (d->code == MQTT_RC_SUCCESS && n == 0)
		return;
	wr_u8(w, d->code);
	if (n > 0 || pkt->type == MQTT_AUTH)
		wr_props(w, &d->props, IN(pkt->type));
}

static bool
enc_body(struct wr *w, uint8_t level, const struct mqtt_packet *pkt)
{
	if (mqtt_kind_of(pkt->type, level) == NULL)
		return false;
	mqtt_encoders[pkt->type](w, level, pkt);
	return !w->bad;
}

static uint8_t
first_byte(const struct mqtt_packet *pkt)
{
	const struct mqtt_publish	*p = &pkt->publish;
	uint8_t				 b = (uint8_t)(pkt->type << 4);

	if (pkt->type != MQTT_PUBLISH)
		return b | mqtt_kinds[pkt->type].flags;
	if (p->dup)
		b |= PUBLISH_DUP;
	if (p->retain)
		b |= PUBLISH_RETAIN;
	return b | (p->qos & 3) << 1;
}

/* Write the fixed header; returns its length. */
static size_t
put_fixed(uint8_t *buf, uint8_t first, size_t rem)
{
	size_t	 i = 1;

	buf[0] = first;
	do {
		buf[i] = rem & 0x7f;
		rem >>= 7;
		if (rem > 0)
			buf[i] |= 0x80;
		i++;
	} while (rem > 0);
	return i;
}

size_t
mqtt_packet_size(uint8_t level, const struct mqtt_packet *pkt)
{
	struct wr	 w = { NULL, 0, false };

	if (!enc_body(&w, level, pkt))
		return 0;
	return 1 + mqtt_varint_len(w.len) + w.len;
}

size_t
mqtt_encode(uint8_t *buf, size_t size, uint8_t level,
    const struct mqtt_packet *pkt)
{
	struct wr	 w = { NULL, 0, false };
	size_t		 hdr;

	if (!enc_body(&w, level, pkt))
		return 0;
	hdr = 1 + mqtt_varint_len(w.len);
	if (size < hdr || size - hdr < w.len)
		return 0;
	put_fixed(buf, first_byte(pkt), w.len);
	w.p = buf + hdr;
	w.len = 0;
	enc_body(&w, level, pkt);
	return hdr + w.len;
}

size_t
mqtt_publish_header_size(uint8_t level, const struct mqtt_publish *p)
{
	struct wr	 w = { NULL, 0, false };

	enc_publish_vh(&w, level, p);
	wr_skip(&w, p->payload_len);
	if (w.bad)
		return 0;
	return 1 + mqtt_varint_len(w.len) + w.len - p->payload_len;
}

size_t
mqtt_encode_publish_header(uint8_t *buf, size_t size, uint8_t level,
    const struct mqtt_publish *p)
{
	struct mqtt_packet	 pkt;
	struct wr		 w = { NULL, 0, false };
	size_t			 hdr, n;

	if ((n = mqtt_publish_header_size(level, p)) == 0 || n > size)
		return 0;
	memset(&pkt, 0, sizeof(pkt));
	pkt.type = MQTT_PUBLISH;
	pkt.publish = *p;
	enc_publish_vh(&w, level, p);
	hdr = put_fixed(buf, first_byte(&pkt), w.len + p->payload_len);
	w.p = buf + hdr;
	w.len = 0;
	enc_publish_vh(&w, level, p);
	return hdr + w.len;
}
