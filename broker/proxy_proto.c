/*
 * proxy_proto.c: PROXY protocol header decoding, versions 1 and 2, as
 * HAProxy's doc/proxy-protocol.txt specifies them.  See proxy_proto.h for
 * what is accepted and what the result means.
 *
 * The bytes come from the network before anything is known about the
 * peer, so every read is bounded by the caller's length, v1 never looks
 * past 107 bytes and v2 never past its 16-byte header plus the length it
 * declares.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <string.h>

#include "proxy_proto.h"

#define V1_SIG		"PROXY "
#define V1_SIG_LEN	(sizeof(V1_SIG) - 1)
#define V1_IPV4_MAX	15		/* "255.255.255.255" */
#define V1_IPV6_MAX	45		/* INET6_ADDRSTRLEN - 1 */
#define V1_PORT_MAX	5		/* "65535" */

#define V2_SIG_LEN	12
#define V2_VER_CMD	12		/* offset: version, command */
#define V2_FAM		13		/* offset: family, transport */
#define V2_LEN		14		/* offset: 16-bit length */
#define V2_VERSION	2		/* high nibble of ver_cmd */
#define V2_CMD_LOCAL	0x0		/* low nibble of ver_cmd */
#define V2_CMD_PROXY	0x1
#define V2_AF_UNSPEC	0x0		/* high nibble of fam */
#define V2_AF_INET	0x1
#define V2_AF_INET6	0x2
#define V2_AF_UNIX	0x3
#define V2_TP_UNSPEC	0x0		/* low nibble of fam */
#define V2_TP_STREAM	0x1
#define V2_TP_DGRAM	0x2
#define V2_ADDR_INET	12		/* 2 x 4 address + 2 x 2 port */
#define V2_ADDR_INET6	36		/* 2 x 16 address + 2 x 2 port */
#define V2_TLV_HDR	3		/* type, 16-bit length */

static const uint8_t v2_sig[V2_SIG_LEN] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* The field classes of a v1 line, for checking a field still arriving. */
enum v1_class {
	V1_IPV4,
	V1_IPV6,
	V1_PORT
};

/* A v1 line being read: buf[0..len) is all we may look at. */
struct v1_cursor {
	const uint8_t	*buf;
	size_t		 len;		/* at most PROXY_V1_MAX */
	bool		 capped;	/* len is the limit: no more may come */
	size_t		 off;		/* next byte to read */
	const char	*reason;	/* set on PROXY_MALFORMED */
};

static enum proxy_status v1_fail(struct v1_cursor *, const char *);
static enum proxy_status v1_end(struct v1_cursor *);
static enum proxy_status prefix_status(const uint8_t *, size_t,
		    const char *);
static enum proxy_status v1_literal(struct v1_cursor *, const char *,
		    const char *);
static enum proxy_status v1_proto(struct v1_cursor *, int *);
static bool	 v1_in_class(enum v1_class, uint8_t);
static enum proxy_status v1_field(struct v1_cursor *, enum v1_class,
		    size_t, char *);
static enum proxy_status v1_addr(struct v1_cursor *, int,
		    struct sockaddr_storage *);
static enum proxy_status v1_port(struct v1_cursor *,
		    struct sockaddr_storage *);
static enum proxy_status v1_tcp(struct v1_cursor *, int,
		    struct proxy_result *);
static enum proxy_status v1_unknown(struct v1_cursor *);
static enum proxy_status v1_parse(const uint8_t *, size_t,
		    struct proxy_result *);
static uint16_t	 get16(const uint8_t *);
static void	 set_inet(struct sockaddr_storage *, const uint8_t *,
		    const uint8_t *);
static void	 set_inet6(struct sockaddr_storage *, const uint8_t *,
		    const uint8_t *);
static enum proxy_status v2_tlvs(const uint8_t *, size_t,
		    struct proxy_result *);
static enum proxy_status v2_fail(struct proxy_result *, const char *);
static enum proxy_status v2_parse(const uint8_t *, size_t,
		    struct proxy_result *);
static void	 clear(struct proxy_result *);

/* --- version 1 ----------------------------------------------------------- */

static enum proxy_status
v1_fail(struct v1_cursor *v, const char *reason)
{
	v->reason = reason;
	return PROXY_MALFORMED;
}

/*
 * The bytes ran out in the middle of the line.  Either more may come, or
 * all 107 bytes allowed are here and the line has not ended within them.
 */
static enum proxy_status
v1_end(struct v1_cursor *v)
{
	if (v->capped)
		return v1_fail(v, "v1 header longer than 107 bytes");
	return PROXY_NEED_MORE;
}

/*
 * Compare the n bytes at p with the literal lit: PROXY_OK if they begin
 * with all of it, PROXY_NEED_MORE if they are a proper prefix of it,
 * PROXY_MALFORMED if they differ.
 */
static enum proxy_status
prefix_status(const uint8_t *p, size_t n, const char *lit)
{
	size_t	 want = strlen(lit);

	if (memcmp(p, lit, n < want ? n : want) != 0)
		return PROXY_MALFORMED;
	return n < want ? PROXY_NEED_MORE : PROXY_OK;
}

/* Consume lit, or say why not. */
static enum proxy_status
v1_literal(struct v1_cursor *v, const char *lit, const char *reason)
{
	switch (prefix_status(v->buf + v->off, v->len - v->off, lit)) {
	case PROXY_OK:
		v->off += strlen(lit);
		return PROXY_OK;
	case PROXY_NEED_MORE:
		return v1_end(v);
	default:
		return v1_fail(v, reason);
	}
}

/*
 * The protocol word and the space after it: *af becomes AF_INET,
 * AF_INET6, or AF_UNSPEC for "UNKNOWN" (whose space is optional, so it is
 * left for v1_unknown()).
 */
static enum proxy_status
v1_proto(struct v1_cursor *v, int *af)
{
	static const struct {
		const char	*word;
		int		 af;
	} protos[] = {
		{ "TCP4 ", AF_INET },
		{ "TCP6 ", AF_INET6 },
		{ "UNKNOWN", AF_UNSPEC },
	};
	enum proxy_status	 st;
	bool			 partial = false;
	size_t			 i;

	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
		st = prefix_status(v->buf + v->off, v->len - v->off,
		    protos[i].word);
		if (st == PROXY_OK) {
			v->off += strlen(protos[i].word);
			*af = protos[i].af;
			return PROXY_OK;
		}
		if (st == PROXY_NEED_MORE)
			partial = true;
	}
	if (partial)
		return v1_end(v);
	return v1_fail(v, "v1 protocol is not TCP4, TCP6 or UNKNOWN");
}

static bool
v1_in_class(enum v1_class class, uint8_t c)
{
	if (c >= '0' && c <= '9')
		return true;
	switch (class) {
	case V1_IPV4:
		return c == '.';
	case V1_IPV6:
		return c == '.' || c == ':' || (c >= 'a' && c <= 'f') ||
		    (c >= 'A' && c <= 'F');
	default:
		return false;
	}
}

/*
 * Read one field of class into out (max + 1 bytes, NUL-terminated).  The
 * field ends at the first byte outside its class, which is left for the
 * caller's separator check.  A field that is still arriving is refused as
 * soon as it grows too long or, for a port, starts with a zero.
 */
static enum proxy_status
v1_field(struct v1_cursor *v, enum v1_class class, size_t max, char *out)
{
	size_t	 n = 0;
	uint8_t	 c;

	while (v->off + n < v->len) {
		c = v->buf[v->off + n];
		if (!v1_in_class(class, c))
			break;
		if (n == max)
			return v1_fail(v, class == V1_PORT ?
			    "v1 port too long" : "v1 address too long");
		if (class == V1_PORT && n == 1 && out[0] == '0')
			return v1_fail(v, "v1 port has a leading zero");
		out[n++] = (char)c;
	}
	if (v->off + n == v->len)
		return v1_end(v);
	if (n == 0)
		return v1_fail(v, "v1 field empty or not a number/address");
	out[n] = '\0';
	v->off += n;
	return PROXY_OK;
}

static enum proxy_status
v1_addr(struct v1_cursor *v, int af, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	char			 s[V1_IPV6_MAX + 1];
	enum proxy_status	 st;
	int			 ok;

	if (af == AF_INET) {
		st = v1_field(v, V1_IPV4, V1_IPV4_MAX, s);
		if (st != PROXY_OK)
			return st;
		sin->sin_family = AF_INET;
		ok = inet_pton(AF_INET, s, &sin->sin_addr);
	} else {
		st = v1_field(v, V1_IPV6, V1_IPV6_MAX, s);
		if (st != PROXY_OK)
			return st;
		sin6->sin6_family = AF_INET6;
		ok = inet_pton(AF_INET6, s, &sin6->sin6_addr);
	}
	if (ok != 1)
		return v1_fail(v, af == AF_INET ? "v1 bad IPv4 address" :
		    "v1 bad IPv6 address");
	return PROXY_OK;
}

/* A port into ss, whose family v1_addr() has already set. */
static enum proxy_status
v1_port(struct v1_cursor *v, struct sockaddr_storage *ss)
{
	char			 s[V1_PORT_MAX + 1];
	enum proxy_status	 st;
	unsigned long		 port = 0;
	size_t			 i;

	if ((st = v1_field(v, V1_PORT, V1_PORT_MAX, s)) != PROXY_OK)
		return st;
	/* At most five digits: no overflow, and strtoul's sign is avoided. */
	for (i = 0; s[i] != '\0'; i++)
		port = port * 10 + (unsigned long)(s[i] - '0');
	if (port > 65535)
		return v1_fail(v, "v1 port out of range");
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
	return PROXY_OK;
}

/* "src dst sport dport\r\n" after "TCP4 " or "TCP6 ". */
static enum proxy_status
v1_tcp(struct v1_cursor *v, int af, struct proxy_result *out)
{
	static const char	*space = "v1 fields not separated by one space";
	enum proxy_status	 st;

	if ((st = v1_addr(v, af, &out->src)) != PROXY_OK ||
	    (st = v1_literal(v, " ", space)) != PROXY_OK ||
	    (st = v1_addr(v, af, &out->dst)) != PROXY_OK ||
	    (st = v1_literal(v, " ", space)) != PROXY_OK ||
	    (st = v1_port(v, &out->src)) != PROXY_OK ||
	    (st = v1_literal(v, " ", space)) != PROXY_OK ||
	    (st = v1_port(v, &out->dst)) != PROXY_OK)
		return st;
	return v1_literal(v, "\r\n", "v1 line does not end in CRLF");
}

/*
 * After "UNKNOWN": CRLF at once, or a space and anything up to CRLF,
 * which the spec tells receivers to ignore.  A lone CR or LF in it is
 * refused: it would hide where the header ends.
 */
static enum proxy_status
v1_unknown(struct v1_cursor *v)
{
	size_t	 i;

	if (v->off == v->len)
		return v1_end(v);
	if (v->buf[v->off] != ' ')
		return v1_literal(v, "\r\n", "v1 junk after UNKNOWN");
	for (i = v->off + 1; i < v->len; i++) {
		if (v->buf[i] == '\n')
			return v1_fail(v, "v1 line has a bare LF");
		if (v->buf[i] != '\r')
			continue;
		if (i + 1 == v->len)
			break;
		if (v->buf[i + 1] != '\n')
			return v1_fail(v, "v1 line has a bare CR");
		v->off = i + 2;
		return PROXY_OK;
	}
	return v1_end(v);
}

/* buf begins with all of "PROXY ". */
static enum proxy_status
v1_parse(const uint8_t *buf, size_t len, struct proxy_result *out)
{
	struct v1_cursor	 v;
	enum proxy_status	 st;
	int			 af;

	v.buf = buf;
	v.len = len < PROXY_V1_MAX ? len : PROXY_V1_MAX;
	v.capped = len >= PROXY_V1_MAX;
	v.off = V1_SIG_LEN;
	v.reason = NULL;

	if ((st = v1_proto(&v, &af)) == PROXY_OK) {
		if (af == AF_UNSPEC)
			st = v1_unknown(&v);
		else
			st = v1_tcp(&v, af, out);
	}
	if (st == PROXY_OK) {
		out->len = v.off;
		out->local = af == AF_UNSPEC;
	}
	out->reason = v.reason;
	return st;
}

/* --- version 2 ----------------------------------------------------------- */

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Addresses and ports arrive in network order, as sockaddrs keep them. */
static void
set_inet(struct sockaddr_storage *ss, const uint8_t *addr,
    const uint8_t *port)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;

	sin->sin_family = AF_INET;
	memcpy(&sin->sin_addr, addr, 4);
	memcpy(&sin->sin_port, port, 2);
}

static void
set_inet6(struct sockaddr_storage *ss, const uint8_t *addr,
    const uint8_t *port)
{
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	sin6->sin6_family = AF_INET6;
	memcpy(&sin6->sin6_addr, addr, 16);
	memcpy(&sin6->sin6_port, port, 2);
}

/* Each TLV in p[0..n) must fit; their contents are not needed. */
static enum proxy_status
v2_tlvs(const uint8_t *p, size_t n, struct proxy_result *out)
{
	size_t	 tlen;

	while (n > 0) {
		if (n < V2_TLV_HDR)
			return v2_fail(out, "v2 TLV header truncated");
		tlen = get16(p + 1);
		if (tlen > n - V2_TLV_HDR)
			return v2_fail(out, "v2 TLV longer than the header");
		p += V2_TLV_HDR + tlen;
		n -= V2_TLV_HDR + tlen;
	}
	return PROXY_OK;
}

static enum proxy_status
v2_fail(struct proxy_result *out, const char *reason)
{
	out->reason = reason;
	return PROXY_MALFORMED;
}

/*
 * buf begins with the whole signature.  Each byte is judged as soon as it
 * is there, so a bad version or command is refused without waiting for
 * the rest.
 */
static enum proxy_status
v2_parse(const uint8_t *buf, size_t len, struct proxy_result *out)
{
	const uint8_t	*a;
	size_t		 dlen, need = 0;
	int		 cmd, af = V2_AF_UNSPEC, tp = V2_TP_UNSPEC;

	if (len <= V2_VER_CMD)
		return PROXY_NEED_MORE;
	if (buf[V2_VER_CMD] >> 4 != V2_VERSION)
		return v2_fail(out, "v2 version is not 2");
	cmd = buf[V2_VER_CMD] & 0x0f;
	if (cmd != V2_CMD_LOCAL && cmd != V2_CMD_PROXY)
		return v2_fail(out, "v2 command is not LOCAL or PROXY");
	if (len <= V2_FAM)
		return PROXY_NEED_MORE;
	/* LOCAL discards the address block whatever its family says. */
	if (cmd == V2_CMD_PROXY) {
		af = buf[V2_FAM] >> 4;
		tp = buf[V2_FAM] & 0x0f;
		if (af > V2_AF_UNIX)
			return v2_fail(out, "v2 unknown address family");
		if (tp > V2_TP_DGRAM)
			return v2_fail(out, "v2 unknown transport");
		/* Like HAProxy, only TCP addresses are taken. */
		if (tp == V2_TP_STREAM && af == V2_AF_INET)
			need = V2_ADDR_INET;
		else if (tp == V2_TP_STREAM && af == V2_AF_INET6)
			need = V2_ADDR_INET6;
	}
	if (len < PROXY_V2_HDR)
		return PROXY_NEED_MORE;
	dlen = get16(buf + V2_LEN);
	if (dlen < need)
		return v2_fail(out, "v2 length too short for the addresses");
	out->len = PROXY_V2_HDR + dlen;
	if (len < out->len)
		return PROXY_NEED_MORE;

	a = buf + PROXY_V2_HDR;
	if (need == V2_ADDR_INET) {
		set_inet(&out->src, a, a + 8);
		set_inet(&out->dst, a + 4, a + 10);
	} else if (need == V2_ADDR_INET6) {
		set_inet6(&out->src, a, a + 32);
		set_inet6(&out->dst, a + 16, a + 34);
	} else {
		out->local = true;
		return PROXY_OK;
	}
	return v2_tlvs(a + need, dlen - need, out);
}

/* --- either -------------------------------------------------------------- */

static void
clear(struct proxy_result *out)
{
	memset(out, 0, sizeof(*out));
	out->src.ss_family = AF_UNSPEC;
	out->dst.ss_family = AF_UNSPEC;
}

enum proxy_status
proxy_parse(const uint8_t *buf, size_t len, struct proxy_result *out)
{
	struct proxy_result	 r;
	enum proxy_status	 st;
	size_t			 n;

	clear(&r);
	/* The first byte tells the versions apart ('P' against CR). */
	n = len < V2_SIG_LEN ? len : V2_SIG_LEN;
	if (len == 0)
		st = PROXY_NEED_MORE;
	else if (memcmp(buf, v2_sig, n) == 0) {
		r.version = 2;
		st = n < V2_SIG_LEN ? PROXY_NEED_MORE : v2_parse(buf, len, &r);
	} else if ((st = prefix_status(buf, len < V1_SIG_LEN ? len :
	    V1_SIG_LEN, V1_SIG)) != PROXY_MALFORMED) {
		r.version = 1;
		if (st == PROXY_OK)
			st = v1_parse(buf, len, &r);
	} else
		r.reason = "not a PROXY protocol header";

	/* Leave nothing half-filled behind an incomplete or bad header. */
	clear(out);
	out->version = r.version;
	switch (st) {
	case PROXY_OK:
		memcpy(out, &r, sizeof(*out));
		out->reason = NULL;
		break;
	case PROXY_NEED_MORE:
		out->len = r.len;
		break;
	default:
		out->reason = r.reason;
		break;
	}
	return st;
}
