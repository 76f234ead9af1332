/*
 * mqtt_codec.c: MQTT packet framing and decoding, the lists a decoded
 * packet holds, and the tables the encoder (mqtt_encode.c) shares.
 *
 * Pure functions over caller-owned buffers (see mqtt_codec.h).  Reading
 * goes through struct rd, which never runs past the packet and keeps the
 * first error.  What differs between packet types, properties and
 * protocol levels is kept in tables: mqtt_kinds, mqtt_prop_defs (both
 * shared with the encoder, see mqtt_codec_int.h), mqtt_rcs, mqtt_lverrs.
 */
#include <stddef.h>
#include <string.h>

#include "mqtt_codec.h"
#include "mqtt_codec_int.h"

/* A statement id and the log line that starts with it, as two arguments. */
#define STMT(id, text)	(id), id " " text

#define SUBOPT_RESERVED5	0xc0

#define BY_CLIENT		0x01
#define BY_SERVER		0x02
#define BOTH			(BY_CLIENT | BY_SERVER)

struct rd {
	const uint8_t		*p;
	size_t			 left;
	uint8_t			 level;
	enum mqtt_dir		 dir;
	uint8_t			 flags;		/* fixed header bits 3-0 */
	bool			 hdr_minimal;	/* Remaining Length */
	bool			 bad_version;
	struct mqtt_error	 err;
};

enum pcheck {
	C_ANY,
	C_BOOL,		/* 0 or 1 */
	C_NONZERO,
	C_TOPIC		/* a topic name: not empty, no wildcard */
};

/* A property as read from a block already checked (raw_next()). */
struct rawprop {
	uint8_t		 id;
	uint32_t	 num;
	struct mqtt_str	 a;
	struct mqtt_str	 b;
};

/* Errors whose statement number differs between 3.1.1 and 5.0. */
enum lverr {
	LE_UTF8,
	LE_NUL,
	LE_FLAGS,
	LE_ID,
	LE_ID_SERVER,
	LE_ID_ACK,
	LE_ID_SUBACK,
	LE_SUB_EMPTY,
	LE_SUB_BITS,
	LE_WILL_WILDCARD,
	LE_SUBACK_EMPTY
};

enum utf8 {
	UTF8_OK,
	UTF8_NUL,
	UTF8_BAD
};

static enum utf8 utf8_check(const uint8_t *, size_t);
static uint16_t	 be16(const uint8_t *);
static bool	 raw_next(const uint8_t **, size_t *, struct rawprop *);

static bool	 rd_set(struct rd *, uint8_t, const char *, const char *);
static bool	 rd_bad(struct rd *, const char *, const char *);
static bool	 rd_proto(struct rd *, const char *, const char *);
static bool	 rd_lverr(struct rd *, enum lverr);
static bool	 rd_short(struct rd *);
static bool	 rd_u8(struct rd *, uint8_t *);
static bool	 rd_u16(struct rd *, uint16_t *);
static bool	 rd_u32(struct rd *, uint32_t *);
static bool	 rd_varint(struct rd *, uint32_t *);
static bool	 rd_id(struct rd *, uint16_t *, enum lverr);
static bool	 rd_bin(struct rd *, struct mqtt_bin *);
static bool	 rd_str(struct rd *, struct mqtt_str *);
static bool	 rd_end(struct rd *);
static bool	 rd_code(struct rd *, uint8_t, uint8_t *);
static bool	 rd_prop(struct rd *, struct mqtt_props *, unsigned int);
static bool	 rd_props(struct rd *, struct mqtt_props *, unsigned int);

static bool	 dec_connect(struct rd *, struct mqtt_packet *);
static bool	 dec_connect_flags(struct rd *, struct mqtt_connect *,
		    uint8_t);
static bool	 dec_connect_payload(struct rd *, struct mqtt_connect *);
static bool	 dec_connack(struct rd *, struct mqtt_packet *);
static bool	 dec_publish(struct rd *, struct mqtt_packet *);
static bool	 dec_ack(struct rd *, struct mqtt_packet *);
static bool	 dec_subopt(struct rd *, struct mqtt_str, uint8_t);
static bool	 dec_subscribe(struct rd *, struct mqtt_packet *);
static bool	 dec_unsubscribe(struct rd *, struct mqtt_packet *);
static bool	 dec_suback(struct rd *, struct mqtt_packet *);
static bool	 dec_unsuback(struct rd *, struct mqtt_packet *);
static bool	 dec_empty(struct rd *, struct mqtt_packet *);
static bool	 dec_disconnect(struct rd *, struct mqtt_packet *);
static bool	 dec_kind(struct rd *, const struct mqtt_frame *,
		    struct mqtt_packet *);

/* CONNECT protocol names and the levels this codec decodes for each. */
static const struct {
	const char	*name;
	size_t		 len;
	uint8_t		 level;
} mqtt_protocols[] = {
	{ "MQIsdp",	6,	MQTT_LEVEL_31 },
	{ "MQTT",	4,	MQTT_LEVEL_311 },
	{ "MQTT",	4,	MQTT_LEVEL_5 },
};

const struct mqtt_kind mqtt_kinds[MQTT_NKINDS] = {
	[MQTT_CONNECT] =	{ "CONNECT", 0x0, BY_CLIENT, BY_CLIENT,
				  dec_connect, NULL, NULL },
	[MQTT_CONNACK] =	{ "CONNACK", 0x0, BY_SERVER, BY_SERVER,
				  dec_connack, NULL, NULL },
	[MQTT_PUBLISH] =	{ "PUBLISH", 0x0, BOTH, BOTH,
				  dec_publish, NULL, NULL },
	[MQTT_PUBACK] =		{ "PUBACK", 0x0, BOTH, BOTH,
				  dec_ack, NULL, NULL },
	[MQTT_PUBREC] =		{ "PUBREC", 0x0, BOTH, BOTH,
				  dec_ack, NULL, NULL },
	[MQTT_PUBREL] =		{ "PUBREL", 0x2, BOTH, BOTH,
				  dec_ack, STMT("MQTT-3.6.1-1",
				  "PUBREL flags are not 0010") },
	[MQTT_PUBCOMP] =	{ "PUBCOMP", 0x0, BOTH, BOTH,
				  dec_ack, NULL, NULL },
	[MQTT_SUBSCRIBE] =	{ "SUBSCRIBE", 0x2, BY_CLIENT, BY_CLIENT,
				  dec_subscribe, STMT(
				  "MQTT-3.8.1-1",
				  "SUBSCRIBE flags are not 0010") },
	[MQTT_SUBACK] =		{ "SUBACK", 0x0, BY_SERVER, BY_SERVER,
				  dec_suback, NULL, NULL },
	[MQTT_UNSUBSCRIBE] =	{ "UNSUBSCRIBE", 0x2, BY_CLIENT, BY_CLIENT,
				  dec_unsubscribe, STMT(
				  "MQTT-3.10.1-1",
				  "UNSUBSCRIBE flags are not 0010") },
	[MQTT_UNSUBACK] =	{ "UNSUBACK", 0x0, BY_SERVER, BY_SERVER,
				  dec_unsuback, NULL, NULL },
	[MQTT_PINGREQ] =	{ "PINGREQ", 0x0, BY_CLIENT, BY_CLIENT,
				  dec_empty, NULL, NULL },
	[MQTT_PINGRESP] =	{ "PINGRESP", 0x0, BY_SERVER, BY_SERVER,
				  dec_empty, NULL, NULL },
	[MQTT_DISCONNECT] =	{ "DISCONNECT", 0x0, BY_CLIENT, BOTH,
				  dec_disconnect, STMT(
				  "MQTT-3.14.1-1",
				  "DISCONNECT reserved flags are set") },
	[MQTT_AUTH] =		{ "AUTH", 0x0, 0, BOTH,
				  dec_disconnect, STMT(
				  "MQTT-3.15.1-1",
				  "AUTH reserved flags are set") },
};

#define P(type, check, where, field) \
	{ (type), (check), (where), offsetof(struct mqtt_props, field) }

/* 5.0 properties: type, value rule, packets (2.2.2.2, Table 2.4). */
const struct mqtt_prop_def mqtt_prop_defs[MQTT_NPROPS] = {
	[MQTT_PROP_PAYLOAD_FORMAT] = P(P_BYTE, C_BOOL,
	    IN(MQTT_PUBLISH) | IN_WILL, payload_format),
	[MQTT_PROP_MESSAGE_EXPIRY] = P(P_U32, C_ANY,
	    IN(MQTT_PUBLISH) | IN_WILL, message_expiry),
	[MQTT_PROP_CONTENT_TYPE] = P(P_STR, C_ANY,
	    IN(MQTT_PUBLISH) | IN_WILL, content_type),
	[MQTT_PROP_RESPONSE_TOPIC] = P(P_STR, C_TOPIC,
	    IN(MQTT_PUBLISH) | IN_WILL, response_topic),
	[MQTT_PROP_CORRELATION_DATA] = P(P_BIN, C_ANY,
	    IN(MQTT_PUBLISH) | IN_WILL, correlation_data),
	[MQTT_PROP_SUBSCRIPTION_ID] = P(P_VARINT, C_NONZERO,
	    IN(MQTT_PUBLISH) | IN(MQTT_SUBSCRIBE), subscription_id),
	[MQTT_PROP_SESSION_EXPIRY] = P(P_U32, C_ANY,
	    IN(MQTT_CONNECT) | IN(MQTT_CONNACK) | IN(MQTT_DISCONNECT),
	    session_expiry),
	[MQTT_PROP_ASSIGNED_CLIENT_ID] = P(P_STR, C_ANY,
	    IN(MQTT_CONNACK), assigned_client_id),
	[MQTT_PROP_SERVER_KEEPALIVE] = P(P_U16, C_ANY,
	    IN(MQTT_CONNACK), server_keepalive),
	[MQTT_PROP_AUTH_METHOD] = P(P_STR, C_ANY,
	    IN(MQTT_CONNECT) | IN(MQTT_CONNACK) | IN(MQTT_AUTH), auth_method),
	[MQTT_PROP_AUTH_DATA] = P(P_BIN, C_ANY,
	    IN(MQTT_CONNECT) | IN(MQTT_CONNACK) | IN(MQTT_AUTH), auth_data),
	[MQTT_PROP_REQUEST_PROBLEM_INFO] = P(P_BYTE, C_BOOL,
	    IN(MQTT_CONNECT), request_problem_info),
	[MQTT_PROP_WILL_DELAY] = P(P_U32, C_ANY,
	    IN_WILL, will_delay),
	[MQTT_PROP_REQUEST_RESPONSE_INFO] = P(P_BYTE, C_BOOL,
	    IN(MQTT_CONNECT), request_response_info),
	[MQTT_PROP_RESPONSE_INFO] = P(P_STR, C_ANY,
	    IN(MQTT_CONNACK), response_info),
	[MQTT_PROP_SERVER_REFERENCE] = P(P_STR, C_ANY,
	    IN(MQTT_CONNACK) | IN(MQTT_DISCONNECT), server_reference),
	[MQTT_PROP_REASON_STRING] = P(P_STR, C_ANY,
	    IN(MQTT_CONNACK) | IN_ACKS | IN(MQTT_SUBACK) | IN(MQTT_UNSUBACK) |
	    IN(MQTT_DISCONNECT) | IN(MQTT_AUTH), reason_string),
	[MQTT_PROP_RECEIVE_MAXIMUM] = P(P_U16, C_NONZERO,
	    IN(MQTT_CONNECT) | IN(MQTT_CONNACK), receive_maximum),
	[MQTT_PROP_TOPIC_ALIAS_MAXIMUM] = P(P_U16, C_ANY,
	    IN(MQTT_CONNECT) | IN(MQTT_CONNACK), topic_alias_maximum),
	[MQTT_PROP_TOPIC_ALIAS] = P(P_U16, C_NONZERO,
	    IN(MQTT_PUBLISH), topic_alias),
	[MQTT_PROP_MAXIMUM_QOS] = P(P_BYTE, C_BOOL,
	    IN(MQTT_CONNACK), maximum_qos),
	[MQTT_PROP_RETAIN_AVAILABLE] = P(P_BYTE, C_BOOL,
	    IN(MQTT_CONNACK), retain_available),
	[MQTT_PROP_USER] = P(P_PAIR, C_ANY,
	    IN(MQTT_CONNECT) | IN(MQTT_CONNACK) | IN(MQTT_PUBLISH) | IN_WILL |
	    IN_ACKS | IN(MQTT_SUBSCRIBE) | IN(MQTT_SUBACK) |
	    IN(MQTT_UNSUBSCRIBE) | IN(MQTT_UNSUBACK) | IN(MQTT_DISCONNECT) |
	    IN(MQTT_AUTH), user_count),
	[MQTT_PROP_MAXIMUM_PACKET_SIZE] = P(P_U32, C_NONZERO,
	    IN(MQTT_CONNECT) | IN(MQTT_CONNACK), maximum_packet_size),
	[MQTT_PROP_WILDCARD_SUB_AVAILABLE] = P(P_BYTE, C_BOOL,
	    IN(MQTT_CONNACK), wildcard_sub_available),
	[MQTT_PROP_SUB_ID_AVAILABLE] = P(P_BYTE, C_BOOL,
	    IN(MQTT_CONNACK), sub_id_available),
	[MQTT_PROP_SHARED_SUB_AVAILABLE] = P(P_BYTE, C_BOOL,
	    IN(MQTT_CONNACK), shared_sub_available),
};

/* 5.0 reason codes each packet type may carry. */
static const uint8_t rc_connack[] = {
	0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
	0x8a, 0x8c, 0x90, 0x95, 0x97, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9f,
};
static const uint8_t rc_puback[] = {
	0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99,
};
static const uint8_t rc_pubrel[] = { 0x00, 0x92 };
static const uint8_t rc_suback[] = {
	0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1,
	0xa2,
};
static const uint8_t rc_unsuback[] = {
	0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91,
};
static const uint8_t rc_disconnect[] = {
	0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8d, 0x8e,
	0x8f, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b,
	0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2,
};
static const uint8_t rc_auth[] = { 0x00, 0x18, 0x19 };

static const struct {
	const uint8_t	*codes;
	size_t		 n;
	const char	*stmt;
	const char	*reason;
} mqtt_rcs[] = {
	[MQTT_CONNACK] = { rc_connack, sizeof(rc_connack),
	    STMT("MQTT-3.2.2-8", "invalid CONNACK reason code") },
	[MQTT_PUBACK] = { rc_puback, sizeof(rc_puback),
	    STMT("MQTT-3.4.2-1", "invalid PUBACK reason code") },
	[MQTT_PUBREC] = { rc_puback, sizeof(rc_puback),
	    STMT("MQTT-3.5.2-1", "invalid PUBREC reason code") },
	[MQTT_PUBREL] = { rc_pubrel, sizeof(rc_pubrel),
	    STMT("MQTT-3.6.2-1", "invalid PUBREL reason code") },
	[MQTT_PUBCOMP] = { rc_pubrel, sizeof(rc_pubrel),
	    STMT("MQTT-3.7.2-1", "invalid PUBCOMP reason code") },
	[MQTT_SUBACK] = { rc_suback, sizeof(rc_suback),
	    STMT("MQTT-3.9.3-2", "invalid SUBACK reason code") },
	[MQTT_UNSUBACK] = { rc_unsuback, sizeof(rc_unsuback),
	    STMT("MQTT-3.11.3-2", "invalid UNSUBACK reason code") },
	[MQTT_DISCONNECT] = { rc_disconnect, sizeof(rc_disconnect),
	    STMT("MQTT-3.14.2-1", "invalid DISCONNECT reason code") },
	[MQTT_AUTH] = { rc_auth, sizeof(rc_auth),
	    STMT("MQTT-3.15.2-1", "invalid AUTH reason code") },
};

static const struct {
	uint8_t		 code;
	const char	*stmt4;
	const char	*reason4;
	const char	*stmt5;
	const char	*reason5;
} mqtt_lverrs[] = {
	[LE_UTF8] = { MQTT_RC_MALFORMED,
	    STMT("MQTT-1.5.3-1", "string is not well-formed UTF-8"),
	    STMT("MQTT-1.5.4-1", "string is not well-formed UTF-8") },
	[LE_NUL] = { MQTT_RC_MALFORMED,
	    STMT("MQTT-1.5.3-2", "string contains U+0000"),
	    STMT("MQTT-1.5.4-2", "string contains U+0000") },
	[LE_FLAGS] = { MQTT_RC_MALFORMED,
	    STMT("MQTT-2.2.2-2", "invalid fixed header flags"),
	    STMT("MQTT-2.1.3-1", "invalid fixed header flags") },
	[LE_ID] = { MQTT_RC_PROTOCOL_ERROR,
	    STMT("MQTT-2.3.1-1", "packet identifier is 0"),
	    STMT("MQTT-2.2.1-3", "packet identifier is 0") },
	[LE_ID_SERVER] = { MQTT_RC_PROTOCOL_ERROR,
	    STMT("MQTT-2.3.1-1", "packet identifier is 0"),
	    STMT("MQTT-2.2.1-4", "packet identifier is 0") },
	[LE_ID_ACK] = { MQTT_RC_PROTOCOL_ERROR,
	    STMT("MQTT-2.3.1-6", "acknowledges packet identifier 0"),
	    STMT("MQTT-2.2.1-5", "acknowledges packet identifier 0") },
	[LE_ID_SUBACK] = { MQTT_RC_PROTOCOL_ERROR,
	    STMT("MQTT-2.3.1-7", "acknowledges packet identifier 0"),
	    STMT("MQTT-2.2.1-6", "acknowledges packet identifier 0") },
	[LE_SUB_EMPTY] = { MQTT_RC_PROTOCOL_ERROR,
	    STMT("MQTT-3.8.3-3", "SUBSCRIBE has no topic filter"),
	    STMT("MQTT-3.8.3-2", "SUBSCRIBE has no topic filter") },
	[LE_SUB_BITS] = { MQTT_RC_MALFORMED,
	    STMT("MQTT-3.8.3-4", "reserved subscription option bits are set"),
	    STMT("MQTT-3.8.3-5", "reserved subscription option bits are set") },
	[LE_WILL_WILDCARD] = { MQTT_RC_MALFORMED,
	    STMT("MQTT-4.7.1-1", "will topic contains a wildcard"),
	    STMT("MQTT-4.7.0-1", "will topic contains a wildcard") },
	[LE_SUBACK_EMPTY] = { MQTT_RC_PROTOCOL_ERROR,
	    STMT("MQTT-3.8.4-5", "SUBACK has no return code"),
	    STMT("MQTT-3.8.4-6", "SUBACK has no reason code") },
};

/* --- helpers ------------------------------------------------------------ */

/*
 * Classify s as well-formed UTF-8 (RFC 3629: shortest form, no
 * surrogates, nothing above U+10FFFF) and free of U+0000.  The second
 * byte's range depends on the lead byte; later ones are all 80..BF.
 */
static enum utf8
utf8_check(const uint8_t *s, size_t len)
{
	size_t	 i, k, n;
	uint8_t	 c, lo, hi;

	for (i = 0; i < len; i += n + 1) {
		c = s[i];
		if (c < 0x80) {
			if (c == 0)
				return UTF8_NUL;
			n = 0;
			continue;
		}
		lo = 0x80;
		hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf)
			n = 1;
		else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			if (c == 0xe0)
				lo = 0xa0;	/* overlong */
			else if (c == 0xed)
				hi = 0x9f;	/* surrogates */
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			if (c == 0xf0)
				lo = 0x90;	/* overlong */
			else if (c == 0xf4)
				hi = 0x8f;	/* above U+10FFFF */
		} else
			return UTF8_BAD;
		if (len - i - 1 < n || s[i + 1] < lo || s[i + 1] > hi)
			return UTF8_BAD;
		for (k = 2; k <= n; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return UTF8_BAD;
	}
	return UTF8_OK;
}

bool
mqtt_utf8_valid(const char *s, size_t len)
{
	return utf8_check((const uint8_t *)s, len) == UTF8_OK;
}

bool
mqtt_topic_has_wildcard(const char *s, size_t len)
{
	if (len == 0)
		return false;
	return memchr(s, '+', len) != NULL || memchr(s, '#', len) != NULL;
}

const char *
mqtt_type_name(unsigned int type)
{
	if (type >= NELEM(mqtt_kinds) || mqtt_kinds[type].name == NULL)
		return "reserved";
	return mqtt_kinds[type].name;
}

size_t
mqtt_varint_len(size_t n)
{
	if (n < 128)
		return 1;
	if (n < 16384)
		return 2;
	if (n < 2097152)
		return 3;
	return 4;
}

static uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/*
 * Step over one property of a block.  The decoder has checked received
 * blocks; the bounds checks keep a hand-made one from reading past its
 * end.  Returns false at the end or at anything it cannot parse.
 */
static bool
raw_next(const uint8_t **pp, size_t *leftp, struct rawprop *rp)
{
	const uint8_t	*p = *pp;
	size_t		 left = *leftp, need, i;
	uint8_t		 type;

	if (left == 0 || p[0] >= NELEM(mqtt_prop_defs))
		return false;
	memset(rp, 0, sizeof(*rp));
	rp->id = p[0];
	type = mqtt_prop_defs[rp->id].type;
	p++;
	left--;
	switch (type) {
	case P_BYTE:
		need = 1;
		break;
	case P_U16:
		need = 2;
		break;
	case P_U32:
		need = 4;
		break;
	case P_VARINT:
		for (i = 0; i < left && i < 4; i++) {
			rp->num |= (uint32_t)(p[i] & 0x7f) << (7 * i);
			if ((p[i] & 0x80) == 0)
				break;
		}
		if (i == left || i == 4)
			return false;
		need = i + 1;
		break;
	case P_STR:
	case P_BIN:
	case P_PAIR:
		if (left < 2 || left - 2 < be16(p))
			return false;
		rp->a.s = (const char *)p + 2;
		rp->a.len = be16(p);
		need = 2 + rp->a.len;
		if (type != P_PAIR)
			break;
		if (left - need < 2 || left - need - 2 < be16(p + need))
			return false;
		rp->b.s = (const char *)p + need + 2;
		rp->b.len = be16(p + need);
		need += 2 + rp->b.len;
		break;
	default:
		return false;
	}
	if (left < need)
		return false;
	*pp = p + need;
	*leftp = left - need;
	return true;
}

/* --- framing ------------------------------------------------------------ */

enum mqtt_status
mqtt_frame(const uint8_t *buf, size_t len, size_t max_packet,
    struct mqtt_frame *out)
{
	size_t	 i, rem = 0;

	memset(out, 0, sizeof(*out));
	if (len < 2)
		return MQTT_NEED_MORE;
	/* Up to four length bytes, seven bits each, least significant first. */
	for (i = 1;; i++) {
		if (i >= len)
			return MQTT_NEED_MORE;
		rem |= (size_t)(buf[i] & 0x7f) << (7 * (i - 1));
		if ((buf[i] & 0x80) == 0)
			break;
		if (i == 4)
			return MQTT_MALFORMED;
	}
	out->type = buf[0] >> 4;
	out->flags = buf[0] & 0x0f;
	out->hdr_len = i + 1;
	out->rem_len = rem;
	out->total_len = out->hdr_len + rem;
	if (max_packet != 0 && out->total_len > max_packet)
		return MQTT_TOO_BIG;
	if (len < out->total_len)
		return MQTT_NEED_MORE;
	out->body = buf + out->hdr_len;
	return MQTT_OK;
}

/* --- reading ------------------------------------------------------------ */

/* Record the first error only: later ones are consequences of it. */
static bool
rd_set(struct rd *r, uint8_t code, const char *stmt, const char *reason)
{
	if (r->err.reason == NULL) {
		r->err.stmt = stmt;
		r->err.reason = reason;
		r->err.code = code;
	}
	return false;
}

static bool
rd_bad(struct rd *r, const char *stmt, const char *reason)
{
	return rd_set(r, MQTT_RC_MALFORMED, stmt, reason);
}

static bool
rd_proto(struct rd *r, const char *stmt, const char *reason)
{
	return rd_set(r, MQTT_RC_PROTOCOL_ERROR, stmt, reason);
}

static bool
rd_lverr(struct rd *r, enum lverr e)
{
	if (r->level == MQTT_LEVEL_5)
		return rd_set(r, mqtt_lverrs[e].code, mqtt_lverrs[e].stmt5,
		    mqtt_lverrs[e].reason5);
	return rd_set(r, mqtt_lverrs[e].code, mqtt_lverrs[e].stmt4,
	    mqtt_lverrs[e].reason4);
}

static bool
rd_short(struct rd *r)
{
	return rd_bad(r, NULL, "a field runs past the remaining length");
}

static bool
rd_u8(struct rd *r, uint8_t *v)
{
	if (r->left < 1)
		return rd_short(r);
	*v = r->p[0];
	r->p++;
	r->left--;
	return true;
}

static bool
rd_u16(struct rd *r, uint16_t *v)
{
	if (r->left < 2)
		return rd_short(r);
	*v = be16(r->p);
	r->p += 2;
	r->left -= 2;
	return true;
}

static bool
rd_u32(struct rd *r, uint32_t *v)
{
	if (r->left < 4)
		return rd_short(r);
	*v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 |
	    (uint32_t)r->p[2] << 8 | r->p[3];
	r->p += 4;
	r->left -= 4;
	return true;
}

/* A 5.0 variable byte integer, which must be minimal (MQTT-1.5.5-1). */
static bool
rd_varint(struct rd *r, uint32_t *v)
{
	size_t	 i;
	uint8_t	 b;

	*v = 0;
	for (i = 0; i < 4; i++) {
		if (!rd_u8(r, &b))
			return false;
		*v |= (uint32_t)(b & 0x7f) << (7 * i);
		if ((b & 0x80) != 0)
			continue;
		/* A last byte of 0 after others adds nothing: too long. */
		if (i > 0 && b == 0)
			return rd_bad(r, STMT("MQTT-1.5.5-1",
			    "variable byte integer is not minimal"));
		return true;
	}
	return rd_bad(r, NULL, "variable byte integer runs past four bytes");
}

/* A packet identifier, which is never 0; e says which rule. */
static bool
rd_id(struct rd *r, uint16_t *id, enum lverr e)
{
	if (!rd_u16(r, id))
		return false;
	if (*id == 0)
		return rd_lverr(r, e);
	return true;
}

static bool
rd_bin(struct rd *r, struct mqtt_bin *b)
{
	uint16_t	 n;

	if (!rd_u16(r, &n))
		return false;
	if (r->left < n)
		return rd_short(r);
	b->p = r->p;
	b->len = n;
	r->p += n;
	r->left -= n;
	return true;
}

static bool
rd_str(struct rd *r, struct mqtt_str *s)
{
	struct mqtt_bin	 b;

	if (!rd_bin(r, &b))
		return false;
	switch (utf8_check(b.p, b.len)) {
	case UTF8_OK:
		break;
	case UTF8_NUL:
		return rd_lverr(r, LE_NUL);
	case UTF8_BAD:
		return rd_lverr(r, LE_UTF8);
	}
	s->s = (const char *)b.p;
	s->len = b.len;
	return true;
}

static bool
rd_end(struct rd *r)
{
	if (r->left != 0)
		return rd_bad(r, NULL, "bytes left after the last field");
	return true;
}

/* A 5.0 reason code, one of those its packet type allows. */
static bool
rd_code(struct rd *r, uint8_t type, uint8_t *code)
{
	if (!rd_u8(r, code))
		return false;
	if (memchr(mqtt_rcs[type].codes, *code, mqtt_rcs[type].n) == NULL)
		return rd_proto(r, mqtt_rcs[type].stmt, mqtt_rcs[type].reason);
	return true;
}

/*
 * One property into pr, for a packet of context ctx (IN() bits).  Wrong
 * identifiers and types are malformed (2.2.2.2); repeats and bad values
 * are protocol errors (2.2.2.2, 3.x.2.x).
 */
static bool
rd_prop(struct rd *r, struct mqtt_props *pr, unsigned int ctx)
{
	const struct mqtt_prop_def	*d;
	void				*dst;
	struct mqtt_str			 name, value;
	uint8_t				 id;
	uint32_t			 v = 0;
	uint16_t			 v16;
	uint8_t				 v8;

	if (!rd_u8(r, &id))
		return false;
	r->err.property = id;
	if (id >= NELEM(mqtt_prop_defs) ||
	    (d = &mqtt_prop_defs[id])->type == P_NONE)
		return rd_bad(r, NULL, "unknown property identifier");
	if ((d->where & ctx) == 0)
		return rd_bad(r, NULL, "property not allowed in this packet");
	if ((pr->present & MQTT_PROP_BIT(id)) && id != MQTT_PROP_USER &&
	    !(id == MQTT_PROP_SUBSCRIPTION_ID && ctx == IN(MQTT_PUBLISH)))
		return rd_proto(r, NULL, "property included more than once");
	dst = (char *)pr + d->off;
	switch (d->type) {
	case P_BYTE:
		if (!rd_u8(r, &v8))
			return false;
		*(uint8_t *)dst = v8;
		v = v8;
		break;
	case P_U16:
		if (!rd_u16(r, &v16))
			return false;
		*(uint16_t *)dst = v16;
		v = v16;
		break;
	case P_U32:
		if (!rd_u32(r, &v))
			return false;
		*(uint32_t *)dst = v;
		break;
	case P_VARINT:
		if (!rd_varint(r, &v))
			return false;
		/* Keep the first; mqtt_subid_next() walks the rest. */
		if (pr->sub_id_count++ == 0)
			*(uint32_t *)dst = v;
		break;
	case P_STR:
		if (!rd_str(r, &name))
			return false;
		*(struct mqtt_str *)dst = name;
		if (d->check == C_TOPIC && name.len == 0)
			return rd_proto(r, STMT("MQTT-4.7.3-1",
			    "response topic is empty"));
		if (d->check == C_TOPIC &&
		    mqtt_topic_has_wildcard(name.s, name.len))
			return rd_proto(r, STMT("MQTT-3.3.2-14",
			    "response topic contains a wildcard"));
		break;
	case P_BIN:
		if (!rd_bin(r, (struct mqtt_bin *)dst))
			return false;
		break;
	case P_PAIR:
		if (!rd_str(r, &name) || !rd_str(r, &value))
			return false;
		pr->user_count++;
		break;
	}
	if (d->check == C_BOOL && v > 1)
		return rd_proto(r, NULL, "property value is neither 0 nor 1");
	if (d->check == C_NONZERO && v == 0)
		return rd_proto(r, NULL, "property value is 0");
	pr->present |= MQTT_PROP_BIT(id);
	r->err.property = 0;
	return true;
}

/* A 5.0 property block: its length, then properties up to that length. */
static bool
rd_props(struct rd *r, struct mqtt_props *pr, unsigned int ctx)
{
	uint32_t	 len;
	size_t		 rest;

	if (r->left == 0)
		return rd_bad(r, STMT("MQTT-2.2.2-1",
		    "property length is missing"));
	if (!rd_varint(r, &len))
		return false;
	if (len > r->left)
		return rd_short(r);
	pr->raw = r->p;
	pr->raw_len = len;
	/* Fence reads at the block's end, then give back what follows. */
	rest = r->left - len;
	r->left = len;
	while (r->left > 0)
		if (!rd_prop(r, pr, ctx))
			return false;
	r->left = rest;
	if ((pr->present & MQTT_PROP_BIT(MQTT_PROP_AUTH_DATA)) &&
	    !(pr->present & MQTT_PROP_BIT(MQTT_PROP_AUTH_METHOD)))
		return rd_proto(r, NULL,
		    "authentication data without a method");
	return true;
}

/* --- decoding ----------------------------------------------------------- */

static bool
dec_connect(struct rd *r, struct mqtt_packet *pkt)
{
	struct mqtt_connect	*c = &pkt->connect;
	struct mqtt_bin		 name;
	uint8_t			 flags;
	size_t			 i;
	bool			 known = false;

	if (!rd_bin(r, &name) || !rd_u8(r, &c->level))
		return false;
	for (i = 0; i < NELEM(mqtt_protocols); i++) {
		if (name.len != mqtt_protocols[i].len ||
		    memcmp(name.p, mqtt_protocols[i].name, name.len) != 0)
			continue;
		known = true;
		if (c->level == mqtt_protocols[i].level)
			break;
	}
	if (!known)
		return rd_bad(r, STMT("MQTT-3.1.2-1",
		    "protocol name is not \"MQTT\""));
	/* A right name at a level we do not speak is answered, not dropped. */
	if (i == NELEM(mqtt_protocols)) {
		r->bad_version = true;
		return rd_set(r, MQTT_RC_UNSUPPORTED_VERSION, STMT(
		    "MQTT-3.1.2-2", "unsupported protocol level"));
	}
	r->level = c->level;
	if (r->level == MQTT_LEVEL_5 && !r->hdr_minimal)
		return rd_bad(r, STMT("MQTT-1.5.5-1",
		    "remaining length is not minimal"));
	if (!rd_u8(r, &flags) || !rd_u16(r, &c->keepalive))
		return false;
	if (!dec_connect_flags(r, c, flags))
		return false;
	if (r->level == MQTT_LEVEL_5 &&
	    !rd_props(r, &c->props, IN(MQTT_CONNECT)))
		return false;
	return dec_connect_payload(r, c);
}

static bool
dec_connect_flags(struct rd *r, struct mqtt_connect *c, uint8_t flags)
{
	c->clean = (flags & CONNECT_CLEAN) != 0;
	c->will = (flags & CONNECT_WILL) != 0;
	c->will_qos = (flags & CONNECT_WILL_QOS) >> 3;
	c->will_retain = (flags & CONNECT_WILL_RETAIN) != 0;
	c->has_password = (flags & CONNECT_PASSWORD) != 0;
	c->has_username = (flags & CONNECT_USERNAME) != 0;

	if (flags & CONNECT_RESERVED)
		return rd_bad(r, STMT("MQTT-3.1.2-3",
		    "reserved CONNECT flag is set"));
	if (!c->will && c->will_qos != 0)
		return rd_bad(r, STMT("MQTT-3.1.2-13",
		    "will QoS is set without the will flag"));
	if (!c->will && c->will_retain)
		return rd_bad(r, STMT("MQTT-3.1.2-15",
		    "will retain is set without the will flag"));
	if (c->will_qos == 3)
		return rd_bad(r, STMT("MQTT-3.1.2-14", "will QoS is 3"));
	/* 5.0 allows a password alone (3.1.2.9). */
	if (c->has_password && !c->has_username && r->level != MQTT_LEVEL_5)
		return rd_bad(r, STMT("MQTT-3.1.2-22",
		    "password flag is set without the user name flag"));
	return true;
}

/* Client identifier, will topic and message, user name, password. */
static bool
dec_connect_payload(struct rd *r, struct mqtt_connect *c)
{
	if (r->left == 0)
		return rd_bad(r, STMT("MQTT-3.1.3-3",
		    "client identifier is missing"));
	if (!rd_str(r, &c->client_id))
		return false;
	if (c->will) {
		if (r->left == 0)
			return rd_bad(r, STMT("MQTT-3.1.2-9",
			    "will topic is missing"));
		if (r->level == MQTT_LEVEL_5 &&
		    !rd_props(r, &c->will_props, IN_WILL))
			return false;
		if (!rd_str(r, &c->will_topic))
			return false;
		if (c->will_topic.len == 0)
			return rd_bad(r, STMT("MQTT-4.7.3-1",
			    "will topic is empty"));
		if (mqtt_topic_has_wildcard(c->will_topic.s,
		    c->will_topic.len))
			return rd_lverr(r, LE_WILL_WILDCARD);
		if (r->left == 0)
			return rd_bad(r, STMT("MQTT-3.1.2-9",
			    "will message is missing"));
		if (!rd_bin(r, &c->will_payload))
			return false;
	}
	if (c->has_username) {
		if (r->left == 0)
			return rd_bad(r, STMT("MQTT-3.1.2-19",
			    "user name is missing"));
		if (!rd_str(r, &c->username))
			return false;
	}
	if (c->has_password) {
		if (r->left == 0)
			return rd_bad(r, STMT("MQTT-3.1.2-21",
			    "password is missing"));
		if (!rd_bin(r, &c->password))
			return false;
	}
	return rd_end(r);
}

static bool
dec_connack(struct rd *r, struct mqtt_packet *pkt)
{
	struct mqtt_connack	*ca = &pkt->connack;
	uint8_t			 ackflags;
	bool			 v5 = r->level == MQTT_LEVEL_5;

	if (!v5 && r->left != 2)
		return rd_bad(r, NULL, "CONNACK remaining length is not 2");
	if (!rd_u8(r, &ackflags))
		return false;
	if (ackflags & 0xfe) {
		if (v5)
			return rd_bad(r, STMT("MQTT-3.2.2-1",
			    "reserved CONNACK flags are set"));
		return rd_bad(r, NULL, "reserved CONNACK flags are set");
	}
	ca->session_present = ackflags & 0x01;
	if (v5) {
		if (!rd_code(r, MQTT_CONNACK, &ca->code))
			return false;
		if (ca->code != MQTT_RC_SUCCESS && ca->session_present)
			return rd_proto(r, STMT("MQTT-3.2.2-6",
			    "session present on a refused connection"));
		if (!rd_props(r, &ca->props, IN(MQTT_CONNACK)))
			return false;
		return rd_end(r);
	}
	if (!rd_u8(r, &ca->code))
		return false;
	if (ca->code > MQTT_CONNACK_NOT_AUTHORIZED)
		return rd_bad(r, NULL, "reserved CONNACK return code");
	if (ca->code != MQTT_CONNACK_ACCEPTED && ca->session_present)
		return rd_bad(r, STMT("MQTT-3.2.2-4",
		    "session present on a refused connection"));
	return true;
}

static bool
dec_publish(struct rd *r, struct mqtt_packet *pkt)
{
	struct mqtt_publish	*p = &pkt->publish;
	bool			 v5 = r->level == MQTT_LEVEL_5;

	p->dup = (r->flags & PUBLISH_DUP) != 0;
	p->qos = (r->flags & PUBLISH_QOS) >> 1;
	p->retain = (r->flags & PUBLISH_RETAIN) != 0;
	if (p->qos == 3)
		return rd_bad(r, STMT("MQTT-3.3.1-4", "PUBLISH QoS is 3"));
	if (p->dup && p->qos == 0)
		return rd_bad(r, STMT("MQTT-3.3.1-2",
		    "DUP is set on a QoS 0 PUBLISH"));
	if (r->left < 2)
		return rd_bad(r, STMT("MQTT-3.3.2-1",
		    "topic name is missing"));
	if (!rd_str(r, &p->topic))
		return false;
	/* In 5.0 a Topic Alias may stand for the name; checked below. */
	if (p->topic.len == 0 && !v5)
		return rd_bad(r, STMT("MQTT-4.7.3-1", "topic name is empty"));
	if (mqtt_topic_has_wildcard(p->topic.s, p->topic.len))
		return rd_bad(r, STMT("MQTT-3.3.2-2",
		    "topic name contains a wildcard"));
	if (p->qos > 0 && !rd_id(r, &p->id,
	    r->dir == MQTT_FROM_SERVER ? LE_ID_SERVER : LE_ID))
		return false;
	if (v5) {
		if (!rd_props(r, &p->props, IN(MQTT_PUBLISH)))
			return false;
		if (p->topic.len == 0 && !(p->props.present &
		    MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS)))
			return rd_proto(r, NULL,
			    "topic name is empty and there is no topic alias");
		if (r->dir == MQTT_FROM_CLIENT && (p->props.present &
		    MQTT_PROP_BIT(MQTT_PROP_SUBSCRIPTION_ID)))
			return rd_proto(r, STMT("MQTT-3.3.4-6",
			    "subscription identifier from a client"));
	}
	p->payload = r->p;
	p->payload_len = r->left;
	r->p += r->left;
	r->left = 0;
	return true;
}

/*
 * PUBACK, PUBREC, PUBREL, PUBCOMP: a packet identifier, then in 5.0 a
 * reason code and properties, each of which may be left out from the end
 * (3.4.2.1: Remaining Length 2 means success without properties).
 */
static bool
dec_ack(struct rd *r, struct mqtt_packet *pkt)
{
	struct mqtt_ack	*a = &pkt->ack;
	uint8_t		 type = pkt->type;

	if (r->level != MQTT_LEVEL_5 && r->left != 2)
		return rd_bad(r, NULL,
		    "acknowledgement remaining length is not 2");
	if (!rd_id(r, &a->id, LE_ID_ACK))
		return false;
	if (r->level != MQTT_LEVEL_5 || r->left == 0)
		return true;
	if (!rd_code(r, type, &a->code))
		return false;
	if (r->left == 0)
		return true;
	if (!rd_props(r, &a->props, IN(type)))
		return false;
	return rd_end(r);
}

/* 5.0 subscription options (3.8.3.1); 3.1.1 has the QoS bits only. */
static bool
dec_subopt(struct rd *r, struct mqtt_str topic, uint8_t opt)
{
	if (r->level != MQTT_LEVEL_5) {
		if ((opt & ~MQTT_SUBOPT_QOS_MASK) != 0)
			return rd_lverr(r, LE_SUB_BITS);
		if ((opt & MQTT_SUBOPT_QOS_MASK) == 3)
			return rd_bad(r, STMT("MQTT-3.8.3-4",
			    "requested QoS is 3"));
		return true;
	}
	if (opt & SUBOPT_RESERVED5)
		return rd_lverr(r, LE_SUB_BITS);
	if ((opt & MQTT_SUBOPT_QOS_MASK) == 3)
		return rd_proto(r, NULL, "maximum QoS is 3");
	if ((opt & MQTT_SUBOPT_RETAIN_HANDLING) == 0x30)
		return rd_proto(r, NULL, "retain handling is 3");
	if ((opt & MQTT_SUBOPT_NO_LOCAL) && topic.len >= 7 &&
	    memcmp(topic.s, "$share/", 7) == 0)
		return rd_proto(r, STMT("MQTT-3.8.3-4",
		    "no local on a shared subscription"));
	return true;
}

static bool
dec_subscribe(struct rd *r, struct mqtt_packet *pkt)
{
	struct mqtt_subscribe	*s = &pkt->subscribe;
	struct mqtt_str		 topic;
	uint8_t			 opt;

	if (!rd_id(r, &s->id, LE_ID))
		return false;
	if (r->level == MQTT_LEVEL_5 &&
	    !rd_props(r, &s->props, IN(MQTT_SUBSCRIBE)))
		return false;
	if (r->left == 0)
		return rd_lverr(r, LE_SUB_EMPTY);
	s->raw = r->p;
	s->raw_len = r->left;
	while (r->left > 0) {
		if (!rd_str(r, &topic) || !rd_u8(r, &opt))
			return false;
		if (topic.len == 0)
			return rd_bad(r, STMT("MQTT-4.7.3-1",
			    "topic filter is empty"));
		if (!dec_subopt(r, topic, opt))
			return false;
		s->count++;
	}
	return true;
}

static bool
dec_unsubscribe(struct rd *r, struct mqtt_packet *pkt)
{
	struct mqtt_subscribe	*s = &pkt->subscribe;
	struct mqtt_str		 topic;

	if (!rd_id(r, &s->id, LE_ID))
		return false;
	if (r->level == MQTT_LEVEL_5 &&
	    !rd_props(r, &s->props, IN(MQTT_UNSUBSCRIBE)))
		return false;
	if (r->left == 0)
		return rd_proto(r, STMT("MQTT-3.10.3-2",
		    "UNSUBSCRIBE has no topic filter"));
	s->raw = r->p;
	s->raw_len = r->left;
	while (r->left > 0) {
		if (!rd_str(r, &topic))
			return false;
		if (topic.len == 0)
			return rd_bad(r, STMT("MQTT-4.7.3-1",
			    "topic filter is empty"));
		s->count++;
	}
	return true;
}

static bool
dec_suback(struct rd *r, struct mqtt_packet *pkt)
{
	struct mqtt_suback	*sa = &pkt->suback;
	size_t			 i;
	uint8_t			 c;

	if (!rd_id(r, &sa->id, LE_ID_SUBACK))
		return false;
	if (r->level == MQTT_LEVEL_5 &&
	    !rd_props(r, &sa->props, IN(MQTT_SUBACK)))
		return false;
	if (r->left == 0)
		return rd_lverr(r, LE_SUBACK_EMPTY);
	for (i = 0; i < r->left; i++) {
		c = r->p[i];
		if (r->level == MQTT_LEVEL_5 ?
		    memchr(rc_suback, c, sizeof(rc_suback)) == NULL :
		    c > 2 && c != MQTT_SUBACK_FAILURE)
			return rd_proto(r, STMT("MQTT-3.9.3-2",
			    "invalid SUBACK return code"));
	}
	sa->codes = r->p;
	sa->count = r->left;
	r->p += r->left;
	r->left = 0;
	return true;
}

static bool
dec_unsuback(struct rd *r, struct mqtt_packet *pkt)
{
	struct mqtt_suback	*sa = &pkt->suback;
	size_t			 i;

	if (r->level != MQTT_LEVEL_5) {
		if (r->left != 2)
			return rd_bad(r, NULL,
			    "UNSUBACK remaining length is not 2");
		return rd_id(r, &sa->id, LE_ID_SUBACK);
	}
	if (!rd_id(r, &sa->id, LE_ID_SUBACK) ||
	    !rd_props(r, &sa->props, IN(MQTT_UNSUBACK)))
		return false;
	if (r->left == 0)
		return rd_proto(r, NULL, "UNSUBACK has no reason code");
	for (i = 0; i < r->left; i++)
		if (memchr(rc_unsuback, r->p[i], sizeof(rc_unsuback)) == NULL)
			return rd_proto(r, STMT("MQTT-3.11.3-2",
			    "invalid UNSUBACK reason code"));
	sa->codes = r->p;
	sa->count = r->left;
	r->p += r->left;
	r->left = 0;
	return true;
}

/* PINGREQ, PINGRESP; DISCONNECT before 5.0. */
static bool
dec_empty(struct rd *r, struct mqtt_packet *pkt)
{
	(void)pkt;
	if (r->left != 0)
		return rd_bad(r, NULL, "remaining length is not 0");
	return true;
}

/*
 * DISCONNECT and AUTH.  In 5.0 both may be empty (success, no
 * properties); a DISCONNECT may also stop after its reason code
 * (3.14.2.2.1), an AUTH may not: it then needs its method (3.15.2.2.2).
 */
static bool
dec_disconnect(struct rd *r, struct mqtt_packet *pkt)
{
	struct mqtt_disconnect	*d = &pkt->disconnect;
	uint8_t			 type = pkt->type;

	if (r->level != MQTT_LEVEL_5 || r->left == 0)
		return dec_empty(r, pkt);
	if (!rd_code(r, type, &d->code))
		return false;
	if (r->left == 0 && type == MQTT_DISCONNECT)
		return true;
	if (!rd_props(r, &d->props, IN(type)))
		return false;
	if (type == MQTT_DISCONNECT && r->dir == MQTT_FROM_SERVER &&
	    (d->props.present & MQTT_PROP_BIT(MQTT_PROP_SESSION_EXPIRY)))
		return rd_proto(r, STMT("MQTT-3.14.2-2",
		    "session expiry interval from the server"));
	if (type == MQTT_AUTH &&
	    !(d->props.present & MQTT_PROP_BIT(MQTT_PROP_AUTH_METHOD)))
		return rd_proto(r, NULL, "AUTH without authentication method");
	return rd_end(r);
}

const struct mqtt_kind *
mqtt_kind_of(unsigned int type, uint8_t level)
{
	if (type >= NELEM(mqtt_kinds) || mqtt_kinds[type].name == NULL)
		return NULL;
	if (level != MQTT_LEVEL_5 && mqtt_kinds[type].senders == 0)
		return NULL;
	return &mqtt_kinds[type];
}

static bool
dec_kind(struct rd *r, const struct mqtt_frame *f, struct mqtt_packet *pkt)
{
	const struct mqtt_kind	*k;
	uint8_t			 senders;

	if ((k = mqtt_kind_of(f->type, r->level)) == NULL)
		return rd_bad(r, NULL, "reserved packet type");
	senders = r->level == MQTT_LEVEL_5 ? k->senders5 : k->senders;
	if (!(senders & (r->dir == MQTT_FROM_CLIENT ? BY_CLIENT : BY_SERVER)))
		return rd_proto(r, NULL, r->dir == MQTT_FROM_CLIENT ?
		    "packet type is not sent by clients" :
		    "packet type is not sent by servers");
	if (f->type != MQTT_PUBLISH && f->flags != k->flags) {
		if (k->flags_stmt != NULL)
			return rd_bad(r, k->flags_stmt, k->flags_reason);
		return rd_lverr(r, LE_FLAGS);
	}
	/* CONNECT checks this once it knows its level. */
	if (r->level == MQTT_LEVEL_5 && f->type != MQTT_CONNECT &&
	    !r->hdr_minimal)
		return rd_bad(r, STMT("MQTT-1.5.5-1",
		    "remaining length is not minimal"));
	return k->decode(r, pkt);
}

enum mqtt_status
mqtt_decode(const struct mqtt_frame *f, enum mqtt_dir dir, uint8_t level,
    struct mqtt_packet *pkt, struct mqtt_error *err)
{
	struct rd	 r;
	bool		 ok;

	memset(pkt, 0, sizeof(*pkt));
	memset(&r, 0, sizeof(r));
	r.p = f->body;
	r.left = f->rem_len;
	r.level = level == MQTT_LEVEL_5 || level == MQTT_LEVEL_31 ?
	    level : MQTT_LEVEL_311;
	r.dir = dir;
	r.flags = f->flags;
	r.hdr_minimal = f->hdr_len == 1 + mqtt_varint_len(f->rem_len);
	pkt->type = f->type;
	ok = dec_kind(&r, f, pkt);
	if (err != NULL) {
		*err = r.err;
		if (ok)
			memset(err, 0, sizeof(*err));
	}
	if (ok)
		return MQTT_OK;
	return r.bad_version ? MQTT_BAD_VERSION : MQTT_MALFORMED;
}

/* --- lists -------------------------------------------------------------- */

void
mqtt_filter_first(struct mqtt_filter_iter *it, const struct mqtt_packet *pkt)
{
	memset(it, 0, sizeof(*it));
	if (pkt->type != MQTT_SUBSCRIBE && pkt->type != MQTT_UNSUBSCRIBE)
		return;
	it->options = pkt->type == MQTT_SUBSCRIBE;
	it->filters = pkt->subscribe.filters;
	it->count = pkt->subscribe.count;
	it->p = pkt->subscribe.raw;
	it->left = pkt->subscribe.raw_len;
}

/*
 * The decoder has checked a received list already; the bounds checks
 * here keep a hand-made inconsistent one from reading past raw_len.
 */
bool
mqtt_filter_next(struct mqtt_filter_iter *it, struct mqtt_filter *f)
{
	size_t	 n, need;

	if (it->i >= it->count)
		return false;
	if (it->filters != NULL) {
		*f = it->filters[it->i++];
		return true;
	}
	if (it->left < 2)
		return false;
	n = be16(it->p);
	need = 2 + n + (it->options ? 1 : 0);
	if (it->left < need)
		return false;
	f->topic.s = (const char *)it->p + 2;
	f->topic.len = n;
	f->options = it->options ? it->p[2 + n] : 0;
	it->p += need;
	it->left -= need;
	it->i++;
	return true;
}

void
mqtt_user_first(struct mqtt_prop_iter *it, const struct mqtt_props *pr)
{
	memset(it, 0, sizeof(*it));
	it->props = pr;
	if (pr->user == NULL) {
		it->p = pr->raw;
		it->left = pr->raw_len;
	}
}

bool
mqtt_user_next(struct mqtt_prop_iter *it, struct mqtt_user_prop *u)
{
	struct rawprop	 rp;

	if (it->props->user != NULL) {
		if (it->i >= it->props->user_count)
			return false;
		*u = it->props->user[it->i++];
		return true;
	}
	while (raw_next(&it->p, &it->left, &rp)) {
		if (rp.id != MQTT_PROP_USER)
			continue;
		u->name = rp.a;
		u->value = rp.b;
		return true;
	}
	return false;
}

void
mqtt_subid_first(struct mqtt_prop_iter *it, const struct mqtt_props *pr)
{
	memset(it, 0, sizeof(*it));
	it->props = pr;
	if (pr->sub_ids != NULL)
		return;
	if (pr->raw != NULL && pr->sub_id_count > 1) {
		it->p = pr->raw;
		it->left = pr->raw_len;
	} else
		it->single = (pr->present &
		    MQTT_PROP_BIT(MQTT_PROP_SUBSCRIPTION_ID)) != 0;
}

bool
mqtt_subid_next(struct mqtt_prop_iter *it, uint32_t *id)
{
	struct rawprop	 rp;

	if (it->props->sub_ids != NULL) {
		if (it->i >= it->props->sub_id_count)
			return false;
		*id = it->props->sub_ids[it->i++];
		return true;
	}
	if (it->single) {
		it->single = false;
		*id = it->props->subscription_id;
		return true;
	}
	while (raw_next(&it->p, &it->left, &rp)) {
		if (rp.id != MQTT_PROP_SUBSCRIPTION_ID)
			continue;
		*id = rp.num;
		return true;
	}
	return false;
}
