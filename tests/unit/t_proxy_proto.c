/*
 * t_proxy_proto.c: PROXY protocol v1/v2 decoder tests.
 *
 * Every input is copied into a buffer of exactly its size, so that ASan
 * sees any read past the length given.  Every good header is also fed in
 * every shorter prefix, which must all ask for more; every bad one must
 * never look good in any prefix, and once refused stay refused.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/proxy_proto.h"

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))
#define STRLEN(s)	(sizeof(s) - 1)

/* MQTT bytes that follow a header and must not be consumed. */
#define TRAILER		"\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c"

static const uint8_t v2sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

struct bad {
	const char	*s;
	size_t		 n;		/* 0: strlen(s) */
	const char	*why;		/* a part of the reason */
};

/* --- helpers ------------------------------------------------------------- */

static enum proxy_status
parse_exact(const void *p, size_t n, struct proxy_result *r)
{
	enum proxy_status	 st;
	uint8_t			*b;

	b = malloc(n == 0 ? 1 : n);
	assert_non_null(b);
	if (n > 0)
		memcpy(b, p, n);
	st = proxy_parse(b, n, r);
	free(b);
	return st;
}

static void
assert_no_addrs(const struct proxy_result *r)
{
	assert_int_equal(r->src.ss_family, AF_UNSPEC);
	assert_int_equal(r->dst.ss_family, AF_UNSPEC);
}

static void
assert_unset(const struct proxy_result *r)
{
	assert_false(r->local);
	assert_no_addrs(r);
}

/* hdr[0..n) starts with a good header of hlen bytes. */
static void
check_good(const void *hdr, size_t n, size_t hlen, struct proxy_result *r)
{
	struct proxy_result	 p;
	enum proxy_status	 st;
	size_t			 k;

	for (k = 0; k < hlen; k++) {
		st = parse_exact(hdr, k, &p);
		if (st != PROXY_NEED_MORE)
			fail_msg("prefix %zu of %zu: status %d (%s)", k, hlen,
			    st, p.reason ? p.reason : "-");
		assert_null(p.reason);
		assert_unset(&p);
		assert_true(p.len == 0 || p.len == hlen);
	}
	for (k = hlen; k <= n; k++) {
		st = parse_exact(hdr, k, r);
		if (st != PROXY_OK)
			fail_msg("%zu bytes: status %d (%s)", k, st,
			    r->reason ? r->reason : "-");
		assert_int_equal(r->len, hlen);
		assert_null(r->reason);
	}
}

static void
check_bad_one(const struct bad *b)
{
	struct proxy_result	 r;
	enum proxy_status	 st;
	size_t			 n, k;
	bool			 refused = false;

	n = b->n ? b->n : strlen(b->s);
	for (k = 0; k <= n; k++) {
		st = parse_exact(b->s, k, &r);
		if (st == PROXY_OK)
			fail_msg("\"%.*s\": prefix %zu accepted", (int)n, b->s,
			    k);
		if (refused && st != PROXY_MALFORMED)
			fail_msg("\"%.*s\": prefix %zu no longer refused",
			    (int)n, b->s, k);
		if (st == PROXY_MALFORMED) {
			refused = true;
			assert_non_null(r.reason);
			assert_int_equal(r.len, 0);
			assert_unset(&r);
		}
	}
	if (!refused)
		fail_msg("\"%.*s\": not refused", (int)n, b->s);
	if (strstr(r.reason, b->why) == NULL)
		fail_msg("\"%.*s\": want \"%s\", got \"%s\"", (int)n, b->s,
		    b->why, r.reason);
}

static void
check_bad(const struct bad *b, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		check_bad_one(&b[i]);
}

/* Refused with exactly k bytes, and asked for more before. */
static void
check_refused_at(const void *p, size_t n, size_t k)
{
	struct proxy_result	 r;
	size_t			 i;

	for (i = 0; i < k; i++)
		assert_int_equal(parse_exact(p, i, &r), PROXY_NEED_MORE);
	for (i = k; i <= n; i++)
		assert_int_equal(parse_exact(p, i, &r), PROXY_MALFORMED);
}

static void
check_addr(const struct sockaddr_storage *ss, int af, const char *addr,
    uint16_t port)
{
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)ss;
	char				 s[INET6_ADDRSTRLEN];

	assert_int_equal(ss->ss_family, af);
	if (af == AF_INET) {
		assert_non_null(inet_ntop(af, &sin->sin_addr, s, sizeof(s)));
		assert_int_equal(ntohs(sin->sin_port), port);
	} else {
		assert_non_null(inet_ntop(af, &sin6->sin6_addr, s, sizeof(s)));
		assert_int_equal(ntohs(sin6->sin6_port), port);
	}
	assert_string_equal(s, addr);
}

/* A v2 header: signature, ver_cmd, fam, length, then body. */
static size_t
v2(uint8_t *out, uint8_t ver_cmd, uint8_t fam, const void *body,
    size_t blen)
{
	memcpy(out, v2sig, sizeof(v2sig));
	out[12] = ver_cmd;
	out[13] = fam;
	out[14] = (uint8_t)(blen >> 8);
	out[15] = (uint8_t)blen;
	if (blen > 0)
		memcpy(out + 16, body, blen);
	return 16 + blen;
}

/* --- version 1 ----------------------------------------------------------- */

static void
t_v1_tcp4(void **state)
{
	static const char	 s[] =
	    "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n" TRAILER;
	struct proxy_result	 r;
	size_t			 hlen = (size_t)(strchr(s, '\n') - s) + 1;

	(void)state;
	check_good(s, STRLEN(s), hlen, &r);
	assert_int_equal(r.version, 1);
	assert_false(r.local);
	check_addr(&r.src, AF_INET, "192.168.0.1", 56324);
	check_addr(&r.dst, AF_INET, "192.168.0.11", 443);
}

static void
t_v1_tcp4_edges(void **state)
{
	static const char	 s[] =
	    "PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n";
	struct proxy_result	 r;

	(void)state;
	check_good(s, STRLEN(s), STRLEN(s), &r);
	check_addr(&r.src, AF_INET, "0.0.0.0", 0);
	check_addr(&r.dst, AF_INET, "255.255.255.255", 65535);
}

static void
t_v1_tcp6(void **state)
{
	static const char	 s[] =
	    "PROXY TCP6 2001:db8::1 ::FFFF:10.0.0.1 1 8883\r\n" TRAILER;
	struct proxy_result	 r;
	size_t			 hlen = (size_t)(strchr(s, '\n') - s) + 1;

	(void)state;
	check_good(s, STRLEN(s), hlen, &r);
	assert_int_equal(r.version, 1);
	assert_false(r.local);
	check_addr(&r.src, AF_INET6, "2001:db8::1", 1);
	check_addr(&r.dst, AF_INET6, "::ffff:10.0.0.1", 8883);
}

/* The spec's longest TCP6 line, 104 bytes. */
static void
t_v1_tcp6_longest(void **state)
{
	static const char	 s[] = "PROXY TCP6 "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	struct proxy_result	 r;

	(void)state;
	assert_int_equal(STRLEN(s), 104);
	check_good(s, STRLEN(s), STRLEN(s), &r);
	check_addr(&r.src, AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	    65535);
}

static void
t_v1_unknown(void **state)
{
	static const char	 bare[] = "PROXY UNKNOWN\r\n" TRAILER;
	/* The spec's worst case: exactly 107 bytes. */
	static const char	 full[] = "PROXY UNKNOWN "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	static const char	 junk[] = "PROXY UNKNOWN whatever\t\x01\xff\r\n";
	struct proxy_result	 r;

	(void)state;
	check_good(bare, STRLEN(bare), 15, &r);
	assert_int_equal(r.version, 1);
	assert_true(r.local);
	assert_no_addrs(&r);

	assert_int_equal(STRLEN(full), PROXY_V1_MAX);
	check_good(full, STRLEN(full), STRLEN(full), &r);
	assert_true(r.local);

	check_good(junk, STRLEN(junk), STRLEN(junk), &r);
	assert_true(r.local);
}

static void
t_v1_too_long(void **state)
{
	char			 s[PROXY_V1_MAX + 2];
	struct proxy_result	 r;

	(void)state;
	/* 108 bytes with the CRLF at the end. */
	memset(s, 'f', sizeof(s));
	memcpy(s, "PROXY UNKNOWN ", 14);
	s[PROXY_V1_MAX - 1] = '\r';
	s[PROXY_V1_MAX] = '\n';
	assert_int_equal(parse_exact(s, PROXY_V1_MAX + 1, &r),
	    PROXY_MALFORMED);
	assert_non_null(strstr(r.reason, "107"));
	/* 107 bytes and no end yet is already too long. */
	assert_int_equal(parse_exact(s, PROXY_V1_MAX - 1, &r),
	    PROXY_NEED_MORE);
	assert_int_equal(parse_exact(s, PROXY_V1_MAX, &r), PROXY_MALFORMED);
	/* Without any CRLF at all. */
	memset(s, 'f', sizeof(s));
	memcpy(s, "PROXY UNKNOWN ", 14);
	assert_int_equal(parse_exact(s, sizeof(s), &r), PROXY_MALFORMED);
	assert_non_null(strstr(r.reason, "107"));
}

static void
t_v1_bad_syntax(void **state)
{
	static const struct bad	 b[] = {
		{ "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", 0, "not a PROXY" },
		{ "PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n", 0, "protocol" },
		{ "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", 0, "protocol" },
		{ "PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n", 0, "protocol" },
		{ "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", 0, "protocol" },
		{ "PROXY\tTCP4 1.2.3.4 5.6.7.8 1 2\r\n", 0, "not a PROXY" },
		{ "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n", 0, "empty" },
		{ "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", 0, "empty" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8  1 2\r\n", 0, "empty" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 1  2\r\n", 0, "empty" },
		{ "PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n", 0, "one space" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", 0, "CRLF" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", 0, "CRLF" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n", 0, "CRLF" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", 0, "CRLF" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", 0, "one space" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8\r\n", 0, "one space" },
		{ "PROXY TCP4\r\n", 0, "protocol" },
		{ "PROXY TCP4 \r\n", 0, "empty" },
		{ "PROXY UNKNOWNX\r\n", 0, "junk after UNKNOWN" },
		{ "PROXY UNKNOWN\n", 0, "junk after UNKNOWN" },
		{ "PROXY UNKNOWN \n", 0, "bare LF" },
		{ "PROXY UNKNOWN a\rb\r\n", 0, "bare CR" },
		{ "PROXY UNKNOWN\r\r\n", 0, "junk after UNKNOWN" },
	};

	(void)state;
	check_bad(b, NITEMS(b));
}

static void
t_v1_bad_addresses(void **state)
{
	static const struct bad	 b[] = {
		{ "PROXY TCP4 256.1.1.1 5.6.7.8 1 2\r\n", 0, "IPv4" },
		{ "PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", 0, "IPv4" },
		{ "PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n", 0, "IPv4" },
		{ "PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n", 0, "IPv4" },
		{ "PROXY TCP4 1..3.4 5.6.7.8 1 2\r\n", 0, "IPv4" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8. 1 2\r\n", 0, "IPv4" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.1000 1 2\r\n", 0, "IPv4" },
		{ "PROXY TCP4 1.2.3.4 1111.2222.3333.4444 1 2\r\n", 0,
		    "too long" },
		{ "PROXY TCP4 ::1 5.6.7.8 1 2\r\n", 0, "empty" },
		{ "PROXY TCP4 1.2.3.4x 5.6.7.8 1 2\r\n", 0, "one space" },
		{ "PROXY TCP4 localhost 5.6.7.8 1 2\r\n", 0, "empty" },
		{ "PROXY TCP6 1.2.3.4 ::1 1 2\r\n", 0, "IPv6" },
		{ "PROXY TCP6 ::1 ::g 1 2\r\n", 0, "one space" },
		{ "PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n", 0, "IPv6" },
		{ "PROXY TCP6 ::1::2 ::1 1 2\r\n", 0, "IPv6" },
		{ "PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n", 0, "one space" },
		{ "PROXY TCP6 [::1] ::1 1 2\r\n", 0, "empty" },
		{ "PROXY TCP6 "
		    "0000:0000:0000:0000:0000:0000:0000:0000:0000:0000 ::1 1 2"
		    "\r\n", 0, "too long" },
	};

	(void)state;
	check_bad(b, NITEMS(b));
}

static void
t_v1_bad_ports(void **state)
{
	static const struct bad	 b[] = {
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", 0, "range" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n", 0, "range" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 123456 2\r\n", 0, "too long" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n", 0, "leading zero" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 1 00\r\n", 0, "leading zero" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n", 0, "empty" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n", 0, "empty" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 1a 2\r\n", 0, "one space" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 0x10 2\r\n", 0, "one space" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 1 2x\r\n", 0, "CRLF" },
	};

	(void)state;
	check_bad(b, NITEMS(b));
}

/* A field still arriving is refused as soon as it cannot become valid. */
static void
t_v1_early(void **state)
{
	static const char	 port0[] = "PROXY TCP4 1.2.3.4 5.6.7.8 01";
	static const char	 addr[] = "PROXY TCP4 1.2.3.4a";
	static const char	 proto[] = "PROXY TCX";
	static const char	 sig[] = "PROXX";

	(void)state;
	check_refused_at(port0, STRLEN(port0), STRLEN(port0));
	check_refused_at(addr, STRLEN(addr), STRLEN(addr));
	check_refused_at(proto, STRLEN(proto), STRLEN(proto));
	check_refused_at(sig, STRLEN(sig), STRLEN(sig));
}

/* --- version 2 ----------------------------------------------------------- */

static void
t_v2_tcp4(void **state)
{
	static const uint8_t	 body[] = {
		192, 168, 0, 1,		/* src */
		10, 0, 0, 1,		/* dst */
		0xdc, 0x04,		/* 56324 */
		0x22, 0xb3,		/* 8883 */
	};
	uint8_t			 b[64];
	struct proxy_result	 r;
	size_t			 n;

	(void)state;
	n = v2(b, 0x21, 0x11, body, sizeof(body));
	memcpy(b + n, TRAILER, STRLEN(TRAILER));
	check_good(b, n + STRLEN(TRAILER), n, &r);
	assert_int_equal(r.len, 28);
	assert_int_equal(r.version, 2);
	assert_false(r.local);
	check_addr(&r.src, AF_INET, "192.168.0.1", 56324);
	check_addr(&r.dst, AF_INET, "10.0.0.1", 8883);
}

static void
t_v2_tcp6(void **state)
{
	uint8_t			 body[36], b[64];
	struct proxy_result	 r;
	size_t			 n;

	(void)state;
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::5", body), 1);
	assert_int_equal(inet_pton(AF_INET6, "::ffff:192.0.2.1", body + 16),
	    1);
	body[32] = 0x00;
	body[33] = 0x01;
	body[34] = 0xff;
	body[35] = 0xff;
	n = v2(b, 0x21, 0x21, body, sizeof(body));
	check_good(b, n, n, &r);
	assert_int_equal(r.len, 52);
	assert_false(r.local);
	check_addr(&r.src, AF_INET6, "2001:db8::5", 1);
	check_addr(&r.dst, AF_INET6, "::ffff:192.0.2.1", 65535);
}

static void
t_v2_local(void **state)
{
	static const uint8_t	 junk[5] = { 1, 2, 3, 4, 5 };
	uint8_t			 b[64];
	struct proxy_result	 r;
	size_t			 n;

	(void)state;
	/* HAProxy's health check. */
	n = v2(b, 0x20, 0x00, NULL, 0);
	memcpy(b + n, TRAILER, STRLEN(TRAILER));
	check_good(b, n + STRLEN(TRAILER), 16, &r);
	assert_true(r.local);
	assert_int_equal(r.version, 2);
	assert_no_addrs(&r);
	/* LOCAL ignores whatever family and body it carries. */
	n = v2(b, 0x20, 0xff, junk, sizeof(junk));
	check_good(b, n, n, &r);
	assert_true(r.local);
	n = v2(b, 0x20, 0x11, junk, sizeof(junk));
	check_good(b, n, n, &r);
	assert_true(r.local);
}

static void
t_v2_proxy_local(void **state)
{
	static const uint8_t	 fams[] = {
		0x00,		/* UNSPEC */
		0x01,		/* UNSPEC, STREAM */
		0x10,		/* INET, UNSPEC */
		0x12,		/* UDP4 */
		0x22,		/* UDP6 */
		0x31,		/* UNIX STREAM */
		0x32,		/* UNIX DGRAM */
	};
	uint8_t			 body[216], b[300];
	struct proxy_result	 r;
	size_t			 i, n;

	(void)state;
	memset(body, 0xab, sizeof(body));
	for (i = 0; i < NITEMS(fams); i++) {
		n = v2(b, 0x21, fams[i], body, sizeof(body));
		check_good(b, n, n, &r);
		assert_true(r.local);
		assert_no_addrs(&r);
		n = v2(b, 0x21, fams[i], NULL, 0);
		check_good(b, n, n, &r);
		assert_true(r.local);
	}
}

static void
t_v2_tlvs(void **state)
{
	static const uint8_t	 body[] = {
		127, 0, 0, 1, 127, 0, 0, 2, 0x07, 0x5b, 0x07, 0x5b,
		0x01, 0x00, 0x04, 'm', 'q', 't', 't',		/* ALPN */
		0x02, 0x00, 0x0b, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
		'.', 'c', 'o', 'm',				/* AUTHORITY */
		0x20, 0x00, 0x00,				/* empty SSL */
		0x04, 0x00, 0x03, 0x00, 0x00, 0x00,		/* NOOP */
		0xee, 0x00, 0x01, 0x42,				/* custom */
	};
	uint8_t			 b[128];
	struct proxy_result	 r;
	size_t			 n;

	(void)state;
	n = v2(b, 0x21, 0x11, body, sizeof(body));
	memcpy(b + n, TRAILER, STRLEN(TRAILER));
	check_good(b, n + STRLEN(TRAILER), n, &r);
	assert_int_equal(r.len, 16 + sizeof(body));
	check_addr(&r.src, AF_INET, "127.0.0.1", 1883);
	check_addr(&r.dst, AF_INET, "127.0.0.2", 1883);
}

static void
t_v2_bad_tlvs(void **state)
{
	static const uint8_t	 overrun[] = {
		127, 0, 0, 1, 127, 0, 0, 2, 0x07, 0x5b, 0x07, 0x5b,
		0x01, 0x00, 0x05, 'm', 'q', 't', 't',
	};
	/* A second TLV of which only two of the three header bytes came. */
	static const uint8_t	 cut_header[] = {
		127, 0, 0, 1, 127, 0, 0, 2, 0x07, 0x5b, 0x07, 0x5b,
		0x01, 0x00, 0x01, 'm', 0x04, 0x00,
	};
	static const uint8_t	 huge[] = {
		127, 0, 0, 1, 127, 0, 0, 2, 0x07, 0x5b, 0x07, 0x5b,
		0x01, 0xff, 0xff,
	};
	uint8_t			 b[64];
	struct proxy_result	 r;
	size_t			 n;

	(void)state;
	n = v2(b, 0x21, 0x11, overrun, sizeof(overrun));
	check_refused_at(b, n, n);
	assert_int_equal(parse_exact(b, n, &r), PROXY_MALFORMED);
	assert_non_null(strstr(r.reason, "TLV"));
	n = v2(b, 0x21, 0x11, cut_header, sizeof(cut_header));
	check_refused_at(b, n, n);
	assert_int_equal(parse_exact(b, n, &r), PROXY_MALFORMED);
	assert_non_null(strstr(r.reason, "TLV"));
	n = v2(b, 0x21, 0x11, huge, sizeof(huge));
	check_refused_at(b, n, n);
}

static void
t_v2_bad_version_command(void **state)
{
	static const uint8_t	 vc[] = {
		0x01, 0x11, 0x31, 0xf1, 0x00, 0x10,	/* version */
		0x22, 0x2f, 0x23,			/* command */
	};
	uint8_t			 b[64];
	struct proxy_result	 r;
	size_t			 i, n;

	(void)state;
	for (i = 0; i < NITEMS(vc); i++) {
		n = v2(b, vc[i], 0x11, "123456789012", 12);
		/* Refused on the 13th byte, without the rest. */
		check_refused_at(b, n, 13);
		assert_int_equal(parse_exact(b, n, &r), PROXY_MALFORMED);
		assert_int_equal(r.version, 2);
		assert_non_null(strstr(r.reason, i < 6 ? "version" :
		    "command"));
	}
}

static void
t_v2_bad_family(void **state)
{
	static const uint8_t	 fam[] = { 0x41, 0xf1, 0x13, 0x1f, 0x03 };
	uint8_t			 b[64];
	struct proxy_result	 r;
	size_t			 i, n;

	(void)state;
	for (i = 0; i < NITEMS(fam); i++) {
		n = v2(b, 0x21, fam[i], "123456789012", 12);
		check_refused_at(b, n, 14);
		assert_int_equal(parse_exact(b, n, &r), PROXY_MALFORMED);
		assert_non_null(strstr(r.reason, i < 2 ? "family" :
		    "transport"));
	}
}

/* A length too short for the addresses is refused on the 16th byte. */
static void
t_v2_short_length(void **state)
{
	static const uint8_t	 zero[36];
	uint8_t			 b[64];
	struct proxy_result	 r;
	size_t			 n;

	(void)state;
	n = v2(b, 0x21, 0x11, zero, 11);
	check_refused_at(b, n, 16);
	assert_int_equal(parse_exact(b, n, &r), PROXY_MALFORMED);
	assert_non_null(strstr(r.reason, "too short"));
	n = v2(b, 0x21, 0x21, zero, 35);
	check_refused_at(b, n, 16);
	n = v2(b, 0x21, 0x21, zero, 12);
	check_refused_at(b, n, 16);
	n = v2(b, 0x21, 0x11, NULL, 0);
	check_refused_at(b, n, 16);
}

/* Until the declared length is here: NEED_MORE, with the length told. */
static void
t_v2_truncated(void **state)
{
	/* Addresses, then three empty TLVs of type 0. */
	static const uint8_t	 zero[12 + 3 * 3];
	uint8_t			 b[64];
	struct proxy_result	 r;
	size_t			 n, k;

	(void)state;
	n = v2(b, 0x21, 0x11, zero, sizeof(zero));
	for (k = 16; k < n; k++) {
		assert_int_equal(parse_exact(b, k, &r), PROXY_NEED_MORE);
		assert_int_equal(r.len, 37);
		assert_int_equal(r.version, 2);
		assert_unset(&r);
	}
	for (k = 0; k < 16; k++) {
		assert_int_equal(parse_exact(b, k, &r), PROXY_NEED_MORE);
		assert_int_equal(r.len, 0);
	}
	/* The declared length bounds the header whatever follows. */
	memset(b + n, 0xff, sizeof(b) - n);
	assert_int_equal(parse_exact(b, sizeof(b), &r), PROXY_OK);
	assert_int_equal(r.len, 37);
}

static void
t_v2_max(void **state)
{
	static const uint8_t	 addr[] = {
		1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2,
	};
	struct proxy_result	 r;
	uint8_t			*b;
	size_t			 tlen;

	(void)state;
	b = malloc(PROXY_V2_MAX);
	assert_non_null(b);
	memset(b, 0x5a, PROXY_V2_MAX);
	memcpy(b, v2sig, sizeof(v2sig));
	b[12] = 0x21;
	b[13] = 0x11;
	b[14] = 0xff;
	b[15] = 0xff;
	memcpy(b + 16, addr, sizeof(addr));
	tlen = 65535 - sizeof(addr) - 3;
	b[28] = 0xe0;
	b[29] = (uint8_t)(tlen >> 8);
	b[30] = (uint8_t)tlen;
	assert_int_equal(proxy_parse(b, PROXY_V2_MAX, &r), PROXY_OK);
	assert_int_equal(r.len, PROXY_V2_MAX);
	assert_int_equal(proxy_parse(b, PROXY_V2_MAX - 1, &r),
	    PROXY_NEED_MORE);
	assert_int_equal(r.len, PROXY_V2_MAX);
	free(b);
}

/* --- either -------------------------------------------------------------- */

/* Whatever is not a header is refused on the first byte that says so. */
static void
t_early_rejection(void **state)
{
	static const uint8_t	 connect[] = {
		0x10, 0x10, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02,
		0x00, 0x3c, 0x00, 0x04, 'a', 'b', 'c', 'd',
	};
	static const uint8_t	 hello[] = { 0x16, 0x03, 0x01, 0x02, 0x00 };
	static const uint8_t	 v2bad[] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x01 };
	static const char	 http[] = "GET / HTTP/1.1\r\n";
	static const char	 crp[] = "\r\nPROXY";
	struct proxy_result	 r;
	size_t			 k;

	(void)state;
	for (k = 1; k <= sizeof(connect); k++) {
		assert_int_equal(parse_exact(connect, k, &r),
		    PROXY_MALFORMED);
		assert_string_equal(r.reason, "not a PROXY protocol header");
		assert_int_equal(r.version, 0);
	}
	check_refused_at(connect, sizeof(connect), 1);
	check_refused_at(hello, sizeof(hello), 1);
	check_refused_at(http, STRLEN(http), 1);
	check_refused_at(v2bad, sizeof(v2bad), 5);
	check_refused_at(crp, STRLEN(crp), 3);
	/* Nothing yet is a valid beginning. */
	assert_int_equal(proxy_parse(NULL, 0, &r), PROXY_NEED_MORE);
	assert_int_equal(r.version, 0);
	assert_int_equal(r.len, 0);
	/* One byte is enough to know the version. */
	assert_int_equal(parse_exact("P", 1, &r), PROXY_NEED_MORE);
	assert_int_equal(r.version, 1);
	assert_int_equal(parse_exact("\r", 1, &r), PROXY_NEED_MORE);
	assert_int_equal(r.version, 2);
}

/* Headers back to back: each parse takes exactly one. */
static void
t_back_to_back(void **state)
{
	static const char	 s[] = "PROXY UNKNOWN\r\n"
	    "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n";
	struct proxy_result	 r;

	(void)state;
	assert_int_equal(parse_exact(s, STRLEN(s), &r), PROXY_OK);
	assert_int_equal(r.len, 15);
	assert_true(r.local);
	assert_int_equal(parse_exact(s + r.len, STRLEN(s) - r.len, &r),
	    PROXY_OK);
	assert_int_equal(r.len, STRLEN(s) - 15);
	check_addr(&r.src, AF_INET, "1.2.3.4", 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_v1_tcp4),
		cmocka_unit_test(t_v1_tcp4_edges),
		cmocka_unit_test(t_v1_tcp6),
		cmocka_unit_test(t_v1_tcp6_longest),
		cmocka_unit_test(t_v1_unknown),
		cmocka_unit_test(t_v1_too_long),
		cmocka_unit_test(t_v1_bad_syntax),
		cmocka_unit_test(t_v1_bad_addresses),
		cmocka_unit_test(t_v1_bad_ports),
		cmocka_unit_test(t_v1_early),
		cmocka_unit_test(t_v2_tcp4),
		cmocka_unit_test(t_v2_tcp6),
		cmocka_unit_test(t_v2_local),
		cmocka_unit_test(t_v2_proxy_local),
		cmocka_unit_test(t_v2_tlvs),
		cmocka_unit_test(t_v2_bad_tlvs),
		cmocka_unit_test(t_v2_bad_version_command),
		cmocka_unit_test(t_v2_bad_family),
		cmocka_unit_test(t_v2_short_length),
		cmocka_unit_test(t_v2_truncated),
		cmocka_unit_test(t_v2_max),
		cmocka_unit_test(t_early_rejection),
		cmocka_unit_test(t_back_to_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
