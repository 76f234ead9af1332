/*
 * fuzz_mqtt_codec.c: libFuzzer target for broker/mqtt_codec.c.
 *
 * The input is a byte stream as a client would send it: frame and decode
 * each packet in turn, once starting at level 4 (3.1.1) and once at 5
 * (5.0); a CONNECT switches to its own level.  Every frame is also
 * decoded as if a server had sent it, to reach the client-side decoders.
 *
 * A packet that decodes is encoded again and decoded again, and must come
 * back the same.  Before 5.0 the body must also come out byte for byte
 * (only a non-minimal Remaining Length may differ).  In 5.0 the encoder
 * may order properties differently and drop what may be left out, so
 * there the bytes may shrink but re-encoding must then be a fixed point.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/mqtt_codec.h"

#define CHECK(x)	do { if (!(x)) __builtin_trap(); } while (0)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static size_t	 minimal_hdr(size_t);
static bool	 same_str(struct mqtt_str, struct mqtt_str);
static bool	 same_bin(struct mqtt_bin, struct mqtt_bin);
static bool	 same_filters(const struct mqtt_packet *,
		    const struct mqtt_packet *);
static bool	 same_users(const struct mqtt_props *,
		    const struct mqtt_props *);
static bool	 same_subids(const struct mqtt_props *,
		    const struct mqtt_props *);
static bool	 same_props(const struct mqtt_props *,
		    const struct mqtt_props *);
static bool	 same_packet(const struct mqtt_packet *,
		    const struct mqtt_packet *);
static void	 check_publish_header(const struct mqtt_publish *, uint8_t,
		    const uint8_t *, size_t);
static void	 roundtrip(const struct mqtt_frame *, enum mqtt_dir, uint8_t,
		    const struct mqtt_packet *);
static enum mqtt_status decode_one(const struct mqtt_frame *,
		    enum mqtt_dir, uint8_t, struct mqtt_packet *);
static void	 run_stream(const uint8_t *, size_t, uint8_t);

static size_t
minimal_hdr(size_t rem)
{
	if (rem < 128)
		return 2;
	if (rem < 16384)
		return 3;
	if (rem < 2097152)
		return 4;
	return 5;
}

static bool
same_str(struct mqtt_str a, struct mqtt_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.s, b.s, a.len) == 0);
}

static bool
same_bin(struct mqtt_bin a, struct mqtt_bin b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static bool
same_filters(const struct mqtt_packet *a, const struct mqtt_packet *b)
{
	struct mqtt_filter_iter	 ia, ib;
	struct mqtt_filter	 fa, fb;
	size_t			 n = 0;

	if (a->subscribe.id != b->subscribe.id ||
	    a->subscribe.count != b->subscribe.count)
		return false;
	mqtt_filter_first(&ia, a);
	mqtt_filter_first(&ib, b);
	while (mqtt_filter_next(&ia, &fa)) {
		if (!mqtt_filter_next(&ib, &fb) ||
		    !same_str(fa.topic, fb.topic) || fa.options != fb.options)
			return false;
		n++;
	}
	return n == a->subscribe.count && !mqtt_filter_next(&ib, &fb);
}

static bool
same_users(const struct mqtt_props *a, const struct mqtt_props *b)
{
	struct mqtt_prop_iter	 ia, ib;
	struct mqtt_user_prop	 ua, ub;

	mqtt_user_first(&ia, a);
	mqtt_user_first(&ib, b);
	while (mqtt_user_next(&ia, &ua))
		if (!mqtt_user_next(&ib, &ub) ||
		    !same_str(ua.name, ub.name) ||
		    !same_str(ua.value, ub.value))
			return false;
	return !mqtt_user_next(&ib, &ub);
}

static bool
same_subids(const struct mqtt_props *a, const struct mqtt_props *b)
{
	struct mqtt_prop_iter	 ia, ib;
	uint32_t		 va, vb;

	mqtt_subid_first(&ia, a);
	mqtt_subid_first(&ib, b);
	while (mqtt_subid_next(&ia, &va))
		if (!mqtt_subid_next(&ib, &vb) || va != vb)
			return false;
	return !mqtt_subid_next(&ib, &vb);
}

static bool
same_props(const struct mqtt_props *a, const struct mqtt_props *b)
{
	return a->present == b->present &&
	    a->payload_format == b->payload_format &&
	    a->message_expiry == b->message_expiry &&
	    same_str(a->content_type, b->content_type) &&
	    same_str(a->response_topic, b->response_topic) &&
	    same_bin(a->correlation_data, b->correlation_data) &&
	    a->subscription_id == b->subscription_id &&
	    a->session_expiry == b->session_expiry &&
	    same_str(a->assigned_client_id, b->assigned_client_id) &&
	    a->server_keepalive == b->server_keepalive &&
	    same_str(a->auth_method, b->auth_method) &&
	    same_bin(a->auth_data, b->auth_data) &&
	    a->request_problem_info == b->request_problem_info &&
	    a->will_delay == b->will_delay &&
	    a->request_response_info == b->request_response_info &&
	    same_str(a->response_info, b->response_info) &&
	    same_str(a->server_reference, b->server_reference) &&
	    same_str(a->reason_string, b->reason_string) &&
	    a->receive_maximum == b->receive_maximum &&
	    a->topic_alias_maximum == b->topic_alias_maximum &&
	    a->topic_alias == b->topic_alias &&
	    a->maximum_qos == b->maximum_qos &&
	    a->retain_available == b->retain_available &&
	    a->maximum_packet_size == b->maximum_packet_size &&
	    a->wildcard_sub_available == b->wildcard_sub_available &&
	    a->sub_id_available == b->sub_id_available &&
	    a->shared_sub_available == b->shared_sub_available &&
	    a->user_count == b->user_count &&
	    a->sub_id_count == b->sub_id_count &&
	    same_users(a, b) && same_subids(a, b);
}

static bool
same_packet(const struct mqtt_packet *a, const struct mqtt_packet *b)
{
	const struct mqtt_connect	*ca = &a->connect, *cb = &b->connect;
	const struct mqtt_publish	*pa = &a->publish, *pb = &b->publish;

	if (a->type != b->type)
		return false;
	switch (a->type) {
	case MQTT_CONNECT:
		return ca->level == cb->level && ca->clean == cb->clean &&
		    ca->keepalive == cb->keepalive &&
		    same_str(ca->client_id, cb->client_id) &&
		    ca->will == cb->will && ca->will_qos == cb->will_qos &&
		    ca->will_retain == cb->will_retain &&
		    same_str(ca->will_topic, cb->will_topic) &&
		    same_bin(ca->will_payload, cb->will_payload) &&
		    ca->has_username == cb->has_username &&
		    same_str(ca->username, cb->username) &&
		    ca->has_password == cb->has_password &&
		    same_bin(ca->password, cb->password) &&
		    same_props(&ca->props, &cb->props) &&
		    same_props(&ca->will_props, &cb->will_props);
	case MQTT_CONNACK:
		return a->connack.session_present ==
		    b->connack.session_present &&
		    a->connack.code == b->connack.code &&
		    same_props(&a->connack.props, &b->connack.props);
	case MQTT_PUBLISH:
		return pa->dup == pb->dup && pa->qos == pb->qos &&
		    pa->retain == pb->retain &&
		    same_str(pa->topic, pb->topic) && pa->id == pb->id &&
		    pa->payload_len == pb->payload_len &&
		    (pa->payload_len == 0 ||
		    memcmp(pa->payload, pb->payload, pa->payload_len) == 0) &&
		    same_props(&pa->props, &pb->props);
	case MQTT_PUBACK:
	case MQTT_PUBREC:
	case MQTT_PUBREL:
	case MQTT_PUBCOMP:
		return a->ack.id == b->ack.id && a->ack.code == b->ack.code &&
		    same_props(&a->ack.props, &b->ack.props);
	case MQTT_SUBSCRIBE:
	case MQTT_UNSUBSCRIBE:
		return same_filters(a, b) &&
		    same_props(&a->subscribe.props, &b->subscribe.props);
	case MQTT_SUBACK:
	case MQTT_UNSUBACK:
		return a->suback.id == b->suback.id &&
		    a->suback.count == b->suback.count &&
		    (a->suback.count == 0 || memcmp(a->suback.codes,
		    b->suback.codes, a->suback.count) == 0) &&
		    same_props(&a->suback.props, &b->suback.props);
	case MQTT_DISCONNECT:
	case MQTT_AUTH:
		return a->disconnect.code == b->disconnect.code &&
		    same_props(&a->disconnect.props, &b->disconnect.props);
	default:
		return true;
	}
}

/* Header and payload written apart must equal the whole packet. */
static void
check_publish_header(const struct mqtt_publish *p, uint8_t level,
    const uint8_t *whole, size_t n)
{
	uint8_t	*hdr;
	size_t	 h;

	h = mqtt_publish_header_size(level, p);
	CHECK(h > 0 && h + p->payload_len == n);
	CHECK((hdr = malloc(h)) != NULL);
	CHECK(mqtt_encode_publish_header(hdr, h - 1, level, p) == 0);
	CHECK(mqtt_encode_publish_header(hdr, h, level, p) == h);
	CHECK(memcmp(hdr, whole, h) == 0);
	CHECK(memcmp(whole + h, p->payload, p->payload_len) == 0);
	free(hdr);
}

static void
roundtrip(const struct mqtt_frame *f, enum mqtt_dir dir, uint8_t level,
    const struct mqtt_packet *pkt)
{
	struct mqtt_packet	 again;
	struct mqtt_frame	 f2;
	struct mqtt_error	 err;
	uint8_t			*out, *out2;
	size_t			 n, hdr;

	if (pkt->type == MQTT_CONNECT)
		level = pkt->connect.level;
	n = mqtt_packet_size(level, pkt);
	hdr = minimal_hdr(f->rem_len);
	if (level == MQTT_LEVEL_5)
		CHECK(n > 0 && n <= f->total_len);
	else
		CHECK(n == hdr + f->rem_len);
	/* Exactly n bytes, so ASan sees any overrun. */
	CHECK((out = malloc(n)) != NULL);
	CHECK(mqtt_encode(out, n - 1, level, pkt) == 0);
	CHECK(mqtt_encode(out, n, level, pkt) == n);
	CHECK(out[0] == (f->type << 4 | f->flags));
	if (level != MQTT_LEVEL_5)
		CHECK(memcmp(out + hdr, f->body, f->rem_len) == 0);
	if (pkt->type == MQTT_PUBLISH)
		check_publish_header(&pkt->publish, level, out, n);

	CHECK(mqtt_frame(out, n, 0, &f2) == MQTT_OK);
	CHECK(f2.total_len == n);
	CHECK(mqtt_decode(&f2, dir, level, &again, &err) == MQTT_OK);
	CHECK(same_packet(pkt, &again));

	/* What the encoder wrote, it writes again the same. */
	CHECK(mqtt_packet_size(level, &again) == n);
	CHECK((out2 = malloc(n)) != NULL);
	CHECK(mqtt_encode(out2, n, level, &again) == n);
	CHECK(memcmp(out, out2, n) == 0);
	free(out2);
	free(out);
}

static enum mqtt_status
decode_one(const struct mqtt_frame *f, enum mqtt_dir dir, uint8_t level,
    struct mqtt_packet *pkt)
{
	struct mqtt_error	 err;
	enum mqtt_status	 st;

	st = mqtt_decode(f, dir, level, pkt, &err);
	if (st == MQTT_OK) {
		CHECK(err.reason == NULL && err.stmt == NULL);
		roundtrip(f, dir, level, pkt);
	} else {
		CHECK(st == MQTT_MALFORMED || st == MQTT_BAD_VERSION);
		CHECK(err.reason != NULL);
		/* The log line starts with the statement id. */
		if (err.stmt != NULL)
			CHECK(strncmp(err.reason, err.stmt,
			    strlen(err.stmt)) == 0);
		if (st == MQTT_BAD_VERSION)
			CHECK(f->type == MQTT_CONNECT);
	}
	return st;
}

/* Frame and decode a client's byte stream, starting at level. */
static void
run_stream(const uint8_t *data, size_t size, uint8_t level)
{
	struct mqtt_frame	 f, fcap;
	struct mqtt_packet	 pkt;
	enum mqtt_status	 st, st_cap;
	size_t			 cap;

	while (size > 0) {
		st = mqtt_frame(data, size, 0, &f);
		/* A cap only ever turns a known size into TOO_BIG (0: none). */
		cap = data[0];
		if (st == MQTT_OK || (st == MQTT_NEED_MORE && f.total_len)) {
			if (cap != 0 && f.total_len > cap)
				st_cap = MQTT_TOO_BIG;
			else
				st_cap = st;
			CHECK(mqtt_frame(data, size, cap, &fcap) == st_cap);
			CHECK(fcap.total_len == f.total_len);
		}
		if (st != MQTT_OK)
			break;
		if (decode_one(&f, MQTT_FROM_CLIENT, level, &pkt) == MQTT_OK &&
		    pkt.type == MQTT_CONNECT)
			level = pkt.connect.level;
		(void)decode_one(&f, MQTT_FROM_SERVER, level, &pkt);
		data += f.total_len;
		size -= f.total_len;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	(void)mqtt_utf8_valid((const char *)data, size);
	run_stream(data, size, MQTT_LEVEL_311);
	run_stream(data, size, MQTT_LEVEL_5);
	return 0;
}
