/*
 * mqtt_codec.h: MQTT packet framing, decoding and encoding.
 *
 * A pure codec: no I/O, no globals, no logging, no allocation.  It depends
 * on libc alone so that the unit test and the fuzz target link it by
 * itself.
 *
 * Receiving is two steps.  mqtt_frame() finds the next packet in a byte
 * stream and says how long it is (or that more bytes are needed, or that
 * the packet is too big, before its body arrives).  mqtt_decode() then
 * checks the whole packet against the specification and fills a struct
 * mqtt_packet.
 *
 * Lifetime: decoding copies nothing.  Strings, binary fields, payloads and
 * lists in a decoded packet point into the caller's buffer and are valid
 * only while those bytes are; a caller that keeps a field past the packet
 * (a will message, a retained payload, a client id) copies it.  Strings
 * are not NUL-terminated: print them with "%.*s".
 *
 * Sending: fill a struct mqtt_packet, call mqtt_packet_size() for the exact
 * size, then mqtt_encode().  A PUBLISH can also be written without its
 * payload (mqtt_encode_publish_header()), so a payload shared by many
 * subscribers is sent from where it lies instead of being copied.  The
 * encoder checks only what the wire format cannot carry (a string over
 * 65535 bytes, QoS 3, a packet over 256 MB, a property the packet type
 * has no room for); the content is the caller's.
 *
 * Protocol levels: 3 (3.1, "MQIsdp"), 4 (3.1.1) and 5 (5.0) are decoded
 * and encoded.  3 and 4 differ only in CONNECT's protocol name; 5 adds
 * properties and reason codes.  A CONNECT with any other level is
 * reported as MQTT_BAD_VERSION so the broker can answer CONNACK 0x01.
 * Errors cite the statement numbers of the level being decoded: the same
 * rule is MQTT-1.5.3-1 in 3.1.1 and MQTT-1.5.4-1 in 5.0.
 *
 * What the codec leaves to its callers, because it needs state or policy:
 * CONNECT first and only once (MQTT-3.1.0-1/2), client id length and
 * characters (MQTT-3.1.3-5..9), topic filter syntax and levels
 * (MQTT-4.7.1-2/3, broker/topic.c), matching acknowledgements to packet
 * identifiers, topic alias mappings, receive maximum and payload format
 * checks (5.0), and any size limit other than max_packet.
 */
#ifndef STAPLEMQ_MQTT_CODEC_H
#define STAPLEMQ_MQTT_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MQTT_LEVEL_31		3	/* MQTT 3.1, protocol name "MQIsdp" */
#define MQTT_LEVEL_311		4	/* MQTT 3.1.1 */
#define MQTT_LEVEL_5		5	/* MQTT 5.0 */

#define MQTT_MAX_REMAINING	268435455	/* four-byte length, 2.2.3 */
#define MQTT_MAX_HEADER		5		/* type byte + four bytes */
#define MQTT_MAX_STRING		65535		/* two-byte length prefix */

enum mqtt_type {
	MQTT_CONNECT = 1,
	MQTT_CONNACK,
	MQTT_PUBLISH,
	MQTT_PUBACK,
	MQTT_PUBREC,
	MQTT_PUBREL,
	MQTT_PUBCOMP,
	MQTT_SUBSCRIBE,
	MQTT_SUBACK,
	MQTT_UNSUBSCRIBE,
	MQTT_UNSUBACK,
	MQTT_PINGREQ,
	MQTT_PINGRESP,
	MQTT_DISCONNECT,
	MQTT_AUTH			/* 5.0 only */
};

/*
 * What mqtt_frame() and mqtt_decode() found.  MQTT_BAD_VERSION comes only
 * from decoding a CONNECT whose protocol name is right but whose level is
 * not 3, 4 or 5: answer CONNACK 0x01 and close (MQTT-3.1.2-2).
 */
enum mqtt_status {
	MQTT_OK,
	MQTT_NEED_MORE,			/* frame: the packet is incomplete */
	MQTT_MALFORMED,			/* close the connection */
	MQTT_TOO_BIG,			/* frame: total exceeds max_packet */
	MQTT_BAD_VERSION		/* decode: unsupported CONNECT level */
};

/* Which side sent the bytes being decoded. */
enum mqtt_dir {
	MQTT_FROM_CLIENT,		/* the broker's view */
	MQTT_FROM_SERVER		/* a client's view (tests, bench) */
};

/* CONNACK return codes (3.1.1, 3.2.2.3). */
#define MQTT_CONNACK_ACCEPTED		0x00
#define MQTT_CONNACK_BAD_VERSION	0x01
#define MQTT_CONNACK_ID_REJECTED	0x02
#define MQTT_CONNACK_UNAVAILABLE	0x03
#define MQTT_CONNACK_BAD_LOGIN		0x04
#define MQTT_CONNACK_NOT_AUTHORIZED	0x05

/* SUBACK return code for a refused subscription (3.9.3). */
#define MQTT_SUBACK_FAILURE		0x80

/* Subscription options byte (3.8.3.1); 3.1.1 has only the QoS bits. */
#define MQTT_SUBOPT_QOS_MASK		0x03
#define MQTT_SUBOPT_NO_LOCAL		0x04	/* 5.0 */
#define MQTT_SUBOPT_RETAIN_AS_PUBLISHED	0x08	/* 5.0 */
#define MQTT_SUBOPT_RETAIN_HANDLING	0x30	/* 5.0, values 0-2 << 4 */

/* 5.0 reason codes (2.4, Table 2.6). */
#define MQTT_RC_SUCCESS			0x00	/* also QoS 0 granted */
#define MQTT_RC_GRANTED_QOS1		0x01
#define MQTT_RC_GRANTED_QOS2		0x02
#define MQTT_RC_DISCONNECT_WITH_WILL	0x04
#define MQTT_RC_NO_MATCHING_SUBSCRIBERS	0x10
#define MQTT_RC_NO_SUBSCRIPTION_EXISTED	0x11
#define MQTT_RC_CONTINUE_AUTH		0x18
#define MQTT_RC_REAUTHENTICATE		0x19
#define MQTT_RC_UNSPECIFIED		0x80
#define MQTT_RC_MALFORMED		0x81
#define MQTT_RC_PROTOCOL_ERROR		0x82
#define MQTT_RC_IMPL_SPECIFIC		0x83
#define MQTT_RC_UNSUPPORTED_VERSION	0x84
#define MQTT_RC_CLIENT_ID_INVALID	0x85
#define MQTT_RC_BAD_LOGIN		0x86
#define MQTT_RC_NOT_AUTHORIZED		0x87
#define MQTT_RC_SERVER_UNAVAILABLE	0x88
#define MQTT_RC_SERVER_BUSY		0x89
#define MQTT_RC_BANNED			0x8a
#define MQTT_RC_SERVER_SHUTTING_DOWN	0x8b
#define MQTT_RC_BAD_AUTH_METHOD		0x8c
#define MQTT_RC_KEEPALIVE_TIMEOUT	0x8d
#define MQTT_RC_SESSION_TAKEN_OVER	0x8e
#define MQTT_RC_TOPIC_FILTER_INVALID	0x8f
#define MQTT_RC_TOPIC_NAME_INVALID	0x90
#define MQTT_RC_PACKET_ID_IN_USE	0x91
#define MQTT_RC_PACKET_ID_NOT_FOUND	0x92
#define MQTT_RC_RECEIVE_MAX_EXCEEDED	0x93
#define MQTT_RC_TOPIC_ALIAS_INVALID	0x94
#define MQTT_RC_PACKET_TOO_LARGE	0x95
#define MQTT_RC_MESSAGE_RATE_TOO_HIGH	0x96
#define MQTT_RC_QUOTA_EXCEEDED		0x97
#define MQTT_RC_ADMIN_ACTION		0x98
#define MQTT_RC_PAYLOAD_FORMAT_INVALID	0x99
#define MQTT_RC_RETAIN_NOT_SUPPORTED	0x9a
#define MQTT_RC_QOS_NOT_SUPPORTED	0x9b
#define MQTT_RC_USE_ANOTHER_SERVER	0x9c
#define MQTT_RC_SERVER_MOVED		0x9d
#define MQTT_RC_SHARED_SUBS_UNSUPPORTED	0x9e
#define MQTT_RC_CONNECTION_RATE_EXCEEDED 0x9f
#define MQTT_RC_MAX_CONNECT_TIME	0xa0
#define MQTT_RC_SUB_IDS_UNSUPPORTED	0xa1
#define MQTT_RC_WILDCARD_SUBS_UNSUPPORTED 0xa2

/* 5.0 property identifiers (2.2.2.2, Table 2.4). */
#define MQTT_PROP_PAYLOAD_FORMAT		0x01
#define MQTT_PROP_MESSAGE_EXPIRY		0x02
#define MQTT_PROP_CONTENT_TYPE			0x03
#define MQTT_PROP_RESPONSE_TOPIC		0x08
#define MQTT_PROP_CORRELATION_DATA		0x09
#define MQTT_PROP_SUBSCRIPTION_ID		0x0b
#define MQTT_PROP_SESSION_EXPIRY		0x11
#define MQTT_PROP_ASSIGNED_CLIENT_ID		0x12
#define MQTT_PROP_SERVER_KEEPALIVE		0x13
#define MQTT_PROP_AUTH_METHOD			0x15
#define MQTT_PROP_AUTH_DATA			0x16
#define MQTT_PROP_REQUEST_PROBLEM_INFO		0x17
#define MQTT_PROP_WILL_DELAY			0x18
#define MQTT_PROP_REQUEST_RESPONSE_INFO		0x19
#define MQTT_PROP_RESPONSE_INFO			0x1a
#define MQTT_PROP_SERVER_REFERENCE		0x1c
#define MQTT_PROP_REASON_STRING			0x1f
#define MQTT_PROP_RECEIVE_MAXIMUM		0x21
#define MQTT_PROP_TOPIC_ALIAS_MAXIMUM		0x22
#define MQTT_PROP_TOPIC_ALIAS			0x23
#define MQTT_PROP_MAXIMUM_QOS			0x24
#define MQTT_PROP_RETAIN_AVAILABLE		0x25
#define MQTT_PROP_USER				0x26
#define MQTT_PROP_MAXIMUM_PACKET_SIZE		0x27
#define MQTT_PROP_WILDCARD_SUB_AVAILABLE	0x28
#define MQTT_PROP_SUB_ID_AVAILABLE		0x29
#define MQTT_PROP_SHARED_SUB_AVAILABLE		0x2a

/* The bit for property id in mqtt_props.present. */
#define MQTT_PROP_BIT(id)		((uint64_t)1 << (id))

/*
 * One packet located by mqtt_frame().  body points into the caller's
 * buffer at the variable header; rem_len bytes follow it.
 */
struct mqtt_frame {
	uint8_t		 type;		/* bits 7-4 of the first byte */
	uint8_t		 flags;		/* bits 3-0 of the first byte */
	size_t		 hdr_len;	/* fixed header, 2 to 5 bytes */
	size_t		 rem_len;	/* Remaining Length */
	size_t		 total_len;	/* hdr_len + rem_len */
	const uint8_t	*body;
};

/*
 * Why a packet was refused.  stmt is the normative statement it breaks
 * ("MQTT-3.3.2-2"), or NULL where the specification numbers none (a
 * length that does not add up); reason is one line for the log and starts
 * with stmt when there is one.  Both are static strings.  code is the 5.0
 * reason code to close with (CONNACK or DISCONNECT): MQTT_RC_MALFORMED or
 * MQTT_RC_PROTOCOL_ERROR, as 4.13 and the packet's section classify it.
 * property is the 5.0 property involved, or 0.
 */
struct mqtt_error {
	const char	*stmt;
	const char	*reason;
	uint8_t		 code;
	uint8_t		 property;
};

/* A UTF-8 string (1.5.3) or binary field; not NUL-terminated. */
struct mqtt_str {
	const char	*s;
	size_t		 len;
};

struct mqtt_bin {
	const uint8_t	*p;
	size_t		 len;
};

struct mqtt_user_prop {
	struct mqtt_str	 name;
	struct mqtt_str	 value;
};

/*
 * MQTT 5.0 properties (2.2.2); all zero at levels 3 and 4.  present has
 * MQTT_PROP_BIT(id) set for each property in the packet, and its value is
 * in the field named after it; strings point into the packet.
 *
 * Two properties may repeat: User Property, anywhere, and Subscription
 * Identifier, in a PUBLISH from the server.  Walk them with
 * mqtt_user_first/next and mqtt_subid_first/next, which read, in order:
 *  - user props: the user array when set, else the received block (raw),
 *    which forwards a PUBLISH's user properties unaltered and in order
 *    (MQTT-3.3.2-17/18) without copying them;
 *  - subscription ids: the sub_ids array when set, else all those of a
 *    received block when it has several, else subscription_id when its
 *    bit is present.
 * A decoded packet has raw/raw_len set, the arrays NULL, the counts set
 * and subscription_id holding the first identifier.  The encoder writes
 * the single-valued properties in identifier order, then the repeated
 * ones; it refuses a property the packet type cannot hold.
 */
struct mqtt_props {
	uint64_t	 present;
	uint8_t		 payload_format;		/* 0x01 */
	uint32_t	 message_expiry;		/* 0x02 */
	struct mqtt_str	 content_type;			/* 0x03 */
	struct mqtt_str	 response_topic;		/* 0x08 */
	struct mqtt_bin	 correlation_data;		/* 0x09 */
	uint32_t	 subscription_id;		/* 0x0b */
	uint32_t	 session_expiry;		/* 0x11 */
	struct mqtt_str	 assigned_client_id;		/* 0x12 */
	uint16_t	 server_keepalive;		/* 0x13 */
	struct mqtt_str	 auth_method;			/* 0x15 */
	struct mqtt_bin	 auth_data;			/* 0x16 */
	uint8_t		 request_problem_info;		/* 0x17 */
	uint32_t	 will_delay;			/* 0x18 */
	uint8_t		 request_response_info;		/* 0x19 */
	struct mqtt_str	 response_info;			/* 0x1a */
	struct mqtt_str	 server_reference;		/* 0x1c */
	struct mqtt_str	 reason_string;			/* 0x1f */
	uint16_t	 receive_maximum;		/* 0x21 */
	uint16_t	 topic_alias_maximum;		/* 0x22 */
	uint16_t	 topic_alias;			/* 0x23 */
	uint8_t		 maximum_qos;			/* 0x24 */
	uint8_t		 retain_available;		/* 0x25 */
	uint32_t	 maximum_packet_size;		/* 0x27 */
	uint8_t		 wildcard_sub_available;	/* 0x28 */
	uint8_t		 sub_id_available;		/* 0x29 */
	uint8_t		 shared_sub_available;		/* 0x2a */

	size_t		 user_count;			/* 0x26 */
	const struct mqtt_user_prop *user;
	size_t		 sub_id_count;			/* 0x0b */
	const uint32_t	*sub_ids;
	const uint8_t	*raw;
	size_t		 raw_len;
};

/* Walks the repeated properties; see mqtt_props. */
struct mqtt_prop_iter {
	const struct mqtt_props *props;
	size_t		 i;
	const uint8_t	*p;
	size_t		 left;
	bool		 single;
};

struct mqtt_connect {
	uint8_t		 level;		/* 3, 4 (or 5, see above) */
	bool		 clean;		/* CleanSession, 5.0 Clean Start */
	uint16_t	 keepalive;	/* seconds, 0 = none */
	struct mqtt_str	 client_id;	/* may be empty */
	bool		 will;
	uint8_t		 will_qos;
	bool		 will_retain;
	struct mqtt_str	 will_topic;
	struct mqtt_bin	 will_payload;
	bool		 has_username;
	struct mqtt_str	 username;
	bool		 has_password;
	struct mqtt_bin	 password;	/* binary; explicit_bzero any copy */
	struct mqtt_props props;	/* 5.0 */
	struct mqtt_props will_props;	/* 5.0 */
};

struct mqtt_connack {
	bool		 session_present;
	uint8_t		 code;		/* MQTT_CONNACK_*, 5.0 MQTT_RC_* */
	struct mqtt_props props;	/* 5.0 */
};

struct mqtt_publish {
	bool		 dup;
	uint8_t		 qos;
	bool		 retain;
	struct mqtt_str	 topic;
	uint16_t	 id;		/* QoS 1 and 2 only */
	struct mqtt_props props;	/* 5.0 */
	const uint8_t	*payload;
	size_t		 payload_len;
};

/*
 * PUBACK, PUBREC, PUBREL and PUBCOMP.  In 5.0 the encoder leaves out a
 * success code and empty properties, as 3.4.2.1 allows.
 */
struct mqtt_ack {
	uint16_t	 id;
	uint8_t		 code;		/* 5.0 reason code; 3.1.1: 0 */
	struct mqtt_props props;	/* 5.0 */
};

/*
 * A topic filter of SUBSCRIBE (with its options byte) or UNSUBSCRIBE
 * (options unused).
 */
struct mqtt_filter {
	struct mqtt_str	 topic;
	uint8_t		 options;	/* MQTT_SUBOPT_* */
};

/*
 * SUBSCRIBE and UNSUBSCRIBE.  The filters come either from an array (set
 * filters to count entries to encode) or, in a decoded packet, from the
 * list as received (raw/raw_len, count entries, already validated, filters
 * NULL).  Walk either form with mqtt_filter_first()/mqtt_filter_next().
 */
struct mqtt_subscribe {
	uint16_t	 id;
	struct mqtt_props props;	/* 5.0 */
	size_t		 count;
	const struct mqtt_filter *filters;
	const uint8_t	*raw;
	size_t		 raw_len;
};

/*
 * SUBACK and UNSUBACK: one return (3.1.1) or reason (5.0) code per filter.
 * A 3.1.1 UNSUBACK has none (count and codes are ignored).
 */
struct mqtt_suback {
	uint16_t	 id;
	struct mqtt_props props;	/* 5.0 */
	size_t		 count;
	const uint8_t	*codes;
};

/* DISCONNECT and AUTH (5.0 only); a 3.1.1 DISCONNECT is empty. */
struct mqtt_disconnect {
	uint8_t		 code;		/* MQTT_RC_* */
	struct mqtt_props props;
};

/* PINGREQ and PINGRESP have no fields. */
struct mqtt_packet {
	enum mqtt_type	 type;
	union {
		struct mqtt_connect	connect;
		struct mqtt_connack	connack;
		struct mqtt_publish	publish;
		struct mqtt_ack		ack;
		struct mqtt_subscribe	subscribe;	/* and UNSUBSCRIBE */
		struct mqtt_suback	suback;		/* and UNSUBACK */
		struct mqtt_disconnect	disconnect;	/* and AUTH */
	};
};

/* Walks the filters of a SUBSCRIBE or UNSUBSCRIBE; see mqtt_subscribe. */
struct mqtt_filter_iter {
	const struct mqtt_filter *filters;
	size_t		 i;
	size_t		 count;
	const uint8_t	*p;
	size_t		 left;
	bool		 options;
};

/* mqtt_codec.c */

/*
 * Find the packet at the start of buf[0..len).  max_packet caps the total
 * size including the fixed header (0: only the protocol's cap).  Returns
 * MQTT_OK with *out filled; MQTT_NEED_MORE (out->total_len is the full
 * size once the fixed header is complete, else 0); MQTT_TOO_BIG as soon as
 * the length is known, with out->type and out->total_len set;
 * MQTT_MALFORMED if the Remaining Length runs past four bytes.
 * Non-minimal lengths are accepted here, as 3.1.1 does not forbid them;
 * mqtt_decode() refuses them at level 5 (MQTT-1.5.5-1).
 */
enum mqtt_status mqtt_frame(const uint8_t *, size_t, size_t,
	    struct mqtt_frame *);

/*
 * Check and decode a framed packet sent in direction dir on a connection
 * at protocol level 3, 4 or 5 (ignored for CONNECT, which carries its
 * own; any other value decodes as 4).  On MQTT_OK *pkt is filled and
 * points into the frame's buffer.  On MQTT_MALFORMED or MQTT_BAD_VERSION
 * *err says why (err may be NULL); *pkt is then partly filled: after
 * MQTT_BAD_VERSION, only pkt->connect.level is meaningful.
 */
enum mqtt_status mqtt_decode(const struct mqtt_frame *, enum mqtt_dir,
	    uint8_t, struct mqtt_packet *, struct mqtt_error *);

/*
 * Exact encoded size of pkt at protocol level, or 0 if it cannot be
 * encoded.  mqtt_encode() writes it to buf and returns the bytes written,
 * or 0 if it does not fit in size bytes or cannot be encoded.
 */
size_t	mqtt_packet_size(uint8_t, const struct mqtt_packet *);
size_t	mqtt_encode(uint8_t *, size_t, uint8_t, const struct mqtt_packet *);

/*
 * The same for a PUBLISH without its payload: the fixed header (whose
 * Remaining Length counts payload_len), topic, packet id and properties.
 * Send payload_len bytes of payload after it.
 */
size_t	mqtt_publish_header_size(uint8_t, const struct mqtt_publish *);
size_t	mqtt_encode_publish_header(uint8_t *, size_t, uint8_t,
	    const struct mqtt_publish *);

/* Iterate the filters of a SUBSCRIBE or UNSUBSCRIBE packet. */
void	mqtt_filter_first(struct mqtt_filter_iter *,
	    const struct mqtt_packet *);
bool	mqtt_filter_next(struct mqtt_filter_iter *, struct mqtt_filter *);

/* Iterate user properties and subscription identifiers (5.0). */
void	mqtt_user_first(struct mqtt_prop_iter *, const struct mqtt_props *);
bool	mqtt_user_next(struct mqtt_prop_iter *, struct mqtt_user_prop *);
void	mqtt_subid_first(struct mqtt_prop_iter *, const struct mqtt_props *);
bool	mqtt_subid_next(struct mqtt_prop_iter *, uint32_t *);

/*
 * Well-formed UTF-8 without U+0000 (1.5.3).  U+0001..U+001F,
 * U+007F..U+009F and non-characters pass: the specification lets a
 * receiver refuse them (it SHOULD NOT send them) but does not require it,
 * and refusing them would break clients that do.
 */
bool	mqtt_utf8_valid(const char *, size_t);

/* Whether a topic contains '+' or '#' (forbidden in topic names). */
bool	mqtt_topic_has_wildcard(const char *, size_t);

/* "PUBLISH", or "reserved" for 0 and types beyond the table. */
const char *mqtt_type_name(unsigned int);

#endif
