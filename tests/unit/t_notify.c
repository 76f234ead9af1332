/*
 * t_notify.c: IPC message encoding and checking (notes, fetch requests
 * carrying a real certificate chain made here with OpenSSL, status
 * replies).  The same messages over real nng sockets are t_notify_ipc's.
 *
 * "t_notify --seeds DIR" writes a fetch request of each kind and a status
 * reply into DIR for the fuzz corpus and exits.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "notify.h"
#include "notify_testutil.h"
#include "testutil.h"

/* --- helpers ------------------------------------------------------------- */

/* Checked from a heap buffer of exactly len bytes, for ASan. */
static int
check_exact(const void *msg, size_t len, const char **why)
{
	uint8_t	*b;
	int	 type;

	assert_non_null(b = malloc(len > 0 ? len : 1));
	memcpy(b, msg, len);
	type = ipc_msg_check(b, len, why);
	free(b);
	return type;
}

static void
expect_bad(const void *msg, size_t len, const char *want)
{
	const char	*why = NULL;

	if (check_exact(msg, len, &why) != -1)
		fail_msg("%zu bytes accepted, expected \"%s\"", len, want);
	assert_non_null(why);
	if (strstr(why, want) == NULL)
		fail_msg("%zu bytes: expected \"%s\", got \"%s\"", len, want,
		    why);
}

/* --- fetch requests, read and written ------------------------------------ */

/* The fields of a fetch request in a buffer, read and written unaligned. */
static struct ipc_req_fetch
get_fetch(const uint8_t *b)
{
	struct ipc_req_fetch	 f;

	memcpy(&f, b, sizeof(f));
	return f;
}

static void
put_fetch(uint8_t *b, const struct ipc_req_fetch *f)
{
	memcpy(b, f, sizeof(*f));
}

/* Append one (length, bytes) piece to a chain being built. */
static size_t
chain_add(uint8_t *chain, size_t off, uint32_t n, const void *der,
    size_t der_len)
{
	memcpy(chain + off, &n, sizeof(n));
	memcpy(chain + off + sizeof(n), der, der_len);
	return off + sizeof(n) + der_len;
}

static size_t
der_of(X509 *x, uint8_t *buf)
{
	unsigned char	*p = buf;
	int		 n;

	assert_true((n = i2d_X509(x, &p)) > 0);
	return (size_t)n;
}

/* Decoded back: the URL, and the same certificates in the same order. */
static void
expect_decoded(const uint8_t *msg, size_t len, const char *url,
    size_t ncerts)
{
	STACK_OF(X509)	*chain;
	const char	*u;
	uint8_t		*b;
	size_t		 ulen, i;

	assert_non_null(b = malloc(len));
	memcpy(b, msg, len);
	assert_int_equal(ipc_req_fetch_decode(b, len, &u, &ulen, &chain), 0);
	if (url == NULL) {
		assert_null(u);
		assert_int_equal(ulen, 0);
	} else {
		assert_int_equal(ulen, strlen(url));
		assert_memory_equal(u, url, ulen);
		assert_true(u >= (const char *)b && u + ulen <=
		    (const char *)b + len);
	}
	assert_int_equal(sk_X509_num(chain), ncerts);
	for (i = 0; i < ncerts; i++)
		assert_int_equal(X509_cmp(sk_X509_value(chain, (int)i),
		    i == 0 ? leaf : sk_X509_value(rest, (int)i - 1)), 0);
	sk_X509_pop_free(chain, X509_free);
	free(b);
}

/* Not decoded: -1, and the outputs cleared. */
static void
expect_undecodable(const uint8_t *msg, size_t len)
{
	STACK_OF(X509)	*chain = (void *)1;
	const char	*u = "x";
	size_t		 ulen = 1;

	assert_int_equal(ipc_req_fetch_decode(msg, len, &u, &ulen, &chain),
	    -1);
	assert_null(chain);
	assert_null(u);
	assert_int_equal(ulen, 0);
}

/* A fetch request that passes ipc_msg_check, with DER that does not. */
static void
expect_bad_der(const uint8_t *msg, size_t len)
{
	int	 type;

	type = check_exact(msg, len, NULL);
	assert_true(type == IPC_REQ_CRL || type == IPC_REQ_OCSP);
	expect_undecodable(msg, len);
}

/* --- set-up -------------------------------------------------------------- */

static int
setup(void **state)
{
	(void)state;
	pki_make();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	pki_free();
	return 0;
}

/* --- encoding and checking ----------------------------------------------- */

static void
t_round_trip(void **state)
{
	struct ipc_note_published	 n;
	uint8_t				 buf[sizeof(n) + 1];
	const char			*why = "x";
	uint64_t			 gens[] = { 0, 1, 42, UINT64_MAX };
	size_t				 i;

	(void)state;
	for (i = 0; i < sizeof(gens) / sizeof(gens[0]); i++) {
		n = good_note(gens[i]);
		assert_int_equal(n.hdr.magic, IPC_MAGIC);
		assert_int_equal(n.hdr.version, IPC_VERSION);
		assert_int_equal(n.hdr.type, IPC_NOTE_PUBLISHED);
		assert_int_equal(n.hdr.length, sizeof(n));
		assert_int_equal(n.hdr.reserved, 0);
		assert_int_equal(check_exact(&n, sizeof(n), &why),
		    IPC_NOTE_PUBLISHED);
		assert_null(why);
		assert_int_equal(ipc_msg_generation(&n), gens[i]);
	}
	/* The wire bytes: little-endian, "STMQ" first. */
	n = good_note(0x0102030405060708ULL);
	assert_memory_equal(&n, "STMQ\x02\x00\x64\x00\x18\x00\x00\x00"
	    "\x00\x00\x00\x00\x08\x07\x06\x05\x04\x03\x02\x01", sizeof(n));
	/* Any alignment. */
	assert_int_equal(ipc_note_encode(buf + 1, sizeof(n), 7), sizeof(n));
	assert_int_equal(ipc_msg_check(buf + 1, sizeof(n), &why),
	    IPC_NOTE_PUBLISHED);
	assert_int_equal(ipc_msg_generation(buf + 1), 7);
	/* Too small a buffer: nothing written. */
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(ipc_note_encode(buf, sizeof(n) - 1, 7), 0);
	assert_int_equal(buf[0], 0xaa);
}

/* Ping and pong are checked by the same rules. */
static void
t_other_types(void **state)
{
	struct ipc_rep_pong	 pong;
	struct ipc_hdr		 ping;
	const char		*why;

	(void)state;
	memset(&ping, 0, sizeof(ping));
	ping.magic = IPC_MAGIC;
	ping.version = IPC_VERSION;
	ping.type = IPC_REQ_PING;
	ping.length = sizeof(ping);
	assert_int_equal(check_exact(&ping, sizeof(ping), &why), IPC_REQ_PING);

	memset(&pong, 0, sizeof(pong));
	pong.hdr = ping;
	pong.hdr.type = IPC_REP_PONG;
	pong.hdr.length = sizeof(pong);
	pong.generation = 99;
	assert_int_equal(check_exact(&pong, sizeof(pong), &why),
	    IPC_REP_PONG);
	assert_int_equal(ipc_msg_generation(&pong), 99);

	/* A ping with a body, a pong without one. */
	pong.hdr.type = IPC_REQ_PING;
	expect_bad(&pong, sizeof(pong), "wrong size for its type");
	ping.type = IPC_REP_PONG;
	expect_bad(&ping, sizeof(ping), "wrong size for its type");
	ping.type = IPC_NOTE_PUBLISHED;
	expect_bad(&ping, sizeof(ping), "wrong size for its type");
}

static void
t_bad_fields(void **state)
{
	struct ipc_note_published	 n;
	uint16_t			 types[] = { 0, 1, 99, 101, 199, 203,
					    299, 302, 0xffff };
	size_t				 i;

	(void)state;
	n = good_note(1);
	n.hdr.magic ^= 1;
	expect_bad(&n, sizeof(n), "bad magic");
	n = good_note(1);
	n.hdr.magic = 0x53544d51;	/* the other byte order */
	expect_bad(&n, sizeof(n), "bad magic");

	n = good_note(1);
	n.hdr.version = 3;
	expect_bad(&n, sizeof(n), "version 3, expected 2");
	n.hdr.version = 1;
	expect_bad(&n, sizeof(n), "version 1, expected 2");
	n.hdr.version = 0;
	expect_bad(&n, sizeof(n), "version 0, expected 2");
	n.hdr.version = 0xffff;
	expect_bad(&n, sizeof(n), "version 65535, expected 2");

	n = good_note(1);
	n.hdr.reserved = 1;
	expect_bad(&n, sizeof(n), "reserved field not zero");
	n.hdr.reserved = 0x80000000u;
	expect_bad(&n, sizeof(n), "reserved field not zero");

	n = good_note(1);
	n.hdr.length = sizeof(n) - 1;
	expect_bad(&n, sizeof(n), "length field differs");
	n.hdr.length = sizeof(n) + 1;
	expect_bad(&n, sizeof(n), "length field differs");
	n.hdr.length = 0;
	expect_bad(&n, sizeof(n), "length field differs");
	n.hdr.length = UINT32_MAX;
	expect_bad(&n, sizeof(n), "length field differs");

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		n = good_note(1);
		n.hdr.type = types[i];
		expect_bad(&n, sizeof(n), "unknown type");
	}
}

static void
t_truncated(void **state)
{
	struct ipc_note_published	 n = good_note(5);
	size_t				 k;

	(void)state;
	expect_bad(&n, 0, "too short");
	for (k = 1; k < sizeof(struct ipc_hdr); k++)
		expect_bad(&n, k, "too short");
	/* A whole header claiming 24 bytes, in fewer. */
	for (k = sizeof(struct ipc_hdr); k < sizeof(n); k++)
		expect_bad(&n, k, "length field differs");
	/* Truncated and relabelled: the size is still wrong for a note. */
	n.hdr.length = sizeof(struct ipc_hdr);
	expect_bad(&n, sizeof(struct ipc_hdr), "wrong size for its type");
}

static void
t_oversized(void **state)
{
	struct ipc_note_published	 n = good_note(5);
	struct ipc_hdr			 h;
	uint8_t				*b;

	(void)state;
	assert_non_null(b = calloc(1, IPC_MAX_MSG + 1));
	memcpy(b, &n, sizeof(n));
	memcpy(&h, b, sizeof(h));
	h.length = IPC_MAX_MSG + 1;
	memcpy(b, &h, sizeof(h));
	expect_bad(b, IPC_MAX_MSG + 1, "too long");
	/* At the limit it is the type's size that refuses it. */
	h.length = IPC_MAX_MSG;
	memcpy(b, &h, sizeof(h));
	expect_bad(b, IPC_MAX_MSG, "wrong size for its type");
	/* A note with trailing bytes. */
	h.length = sizeof(n) + 8;
	memcpy(b, &h, sizeof(h));
	expect_bad(b, sizeof(n) + 8, "wrong size for its type");
	free(b);
}

/* --- fetch requests and status replies ----------------------------------- */

static void
t_fetch_round_trip(void **state)
{
	struct ipc_req_fetch	 f;
	uint8_t			 buf[IPC_MAX_MSG + 1], der[4096], *b;
	const char		*why = "x";
	uint32_t		 n;
	size_t			 len, off, dlen, k;

	(void)state;
	/* CRL: URL and the whole chain. */
	b = crl_request(&len);
	assert_int_equal(check_exact(b, len, &why), IPC_REQ_CRL);
	assert_null(why);
	f = get_fetch(b);
	assert_int_equal(f.hdr.magic, IPC_MAGIC);
	assert_int_equal(f.hdr.version, IPC_VERSION);
	assert_int_equal(f.hdr.type, IPC_REQ_CRL);
	assert_int_equal(f.hdr.length, len);
	assert_int_equal(f.hdr.reserved, 0);
	assert_int_equal(f.url_len, strlen(CRL_URL));
	assert_int_equal(f.chain_len, len - sizeof(f) - strlen(CRL_URL));
	assert_memory_equal(b + sizeof(f), CRL_URL, strlen(CRL_URL));
	/* Then (length, DER) for leaf, intermediate, CA. */
	off = sizeof(f) + f.url_len;
	for (k = 0; k < 3; k++) {
		dlen = der_of(k == 0 ? leaf : sk_X509_value(rest, (int)k - 1),
		    der);
		memcpy(&n, b + off, sizeof(n));
		assert_int_equal(n, dlen);
		assert_memory_equal(b + off + 4, der, dlen);
		off += 4 + dlen;
	}
	assert_int_equal(off, len);
	expect_decoded(b, len, CRL_URL, 3);
	/*
	 * Into an unaligned buffer of exactly its size, then one too small:
	 * nothing written.
	 */
	assert_int_equal(ipc_req_fetch_encode(buf + 1, len, IPC_REQ_CRL,
	    CRL_URL, leaf, rest), len);
	assert_memory_equal(buf + 1, b, len);
	assert_int_equal(ipc_msg_check(buf + 1, len, &why), IPC_REQ_CRL);
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(ipc_req_fetch_encode(buf, len - 1, IPC_REQ_CRL,
	    CRL_URL, leaf, rest), 0);
	assert_int_equal(buf[0], 0xaa);
	assert_int_equal(buf[len - 2], 0xaa);
	free(b);

	/* OCSP: no URL (NULL or ""), the leaf alone or with its chain. */
	len = ipc_req_fetch_encode(buf, sizeof(buf), IPC_REQ_OCSP, NULL, leaf,
	    NULL);
	assert_true(len > 0);
	assert_int_equal(check_exact(buf, len, &why), IPC_REQ_OCSP);
	assert_int_equal(get_fetch(buf).url_len, 0);
	expect_decoded(buf, len, NULL, 1);
	len = ipc_req_fetch_encode(buf, sizeof(buf), IPC_REQ_OCSP, "", leaf,
	    rest);
	assert_int_equal(check_exact(buf, len, &why), IPC_REQ_OCSP);
	expect_decoded(buf, len, NULL, 3);
	/* OCSP with the responder URL the broker found. */
	len = ipc_req_fetch_encode(buf, sizeof(buf), IPC_REQ_OCSP,
	    "http://ocsp.example.com", leaf, rest);
	assert_int_equal(check_exact(buf, len, &why), IPC_REQ_OCSP);
	expect_decoded(buf, len, "http://ocsp.example.com", 3);
}

/* What ipc_req_fetch_encode will not make. */
static void
t_fetch_encode_refuses(void **state)
{
	STACK_OF(X509)	*many;
	X509		*big;
	uint8_t		*buf;
	char		 url[IPC_MAX_URL + 2], *comment;
	size_t		 len;
	int		 i;

	(void)state;
	assert_non_null(buf = malloc(4 * IPC_MAX_MSG));
	/* A CRL needs its URL. */
	assert_int_equal(ipc_req_fetch_encode(buf, IPC_MAX_MSG, IPC_REQ_CRL,
	    NULL, leaf, rest), 0);
	assert_int_equal(ipc_req_fetch_encode(buf, IPC_MAX_MSG, IPC_REQ_CRL,
	    "", leaf, rest), 0);
	/* Only the two fetch types; a leaf is needed. */
	assert_int_equal(ipc_req_fetch_encode(buf, IPC_MAX_MSG, IPC_REQ_PING,
	    CRL_URL, leaf, rest), 0);
	assert_int_equal(ipc_req_fetch_encode(buf, IPC_MAX_MSG, IPC_REP_STATUS,
	    CRL_URL, leaf, rest), 0);
	assert_int_equal(ipc_req_fetch_encode(buf, IPC_MAX_MSG, IPC_REQ_CRL,
	    CRL_URL, NULL, rest), 0);
	/* URLs: IPC_MAX_URL bytes at most, printable, no space. */
	memset(url, 'a', sizeof(url));
	memcpy(url, "http://", 7);
	url[IPC_MAX_URL] = '\0';
	assert_true((len = ipc_req_fetch_encode(buf, IPC_MAX_MSG,
	    IPC_REQ_CRL, url, leaf, rest)) > 0);
	assert_int_equal(ipc_msg_check(buf, len, NULL), IPC_REQ_CRL);
	url[IPC_MAX_URL] = 'a';
	url[IPC_MAX_URL + 1] = '\0';
	assert_int_equal(ipc_req_fetch_encode(buf, IPC_MAX_MSG, IPC_REQ_CRL,
	    url, leaf, rest), 0);
	assert_int_equal(ipc_req_fetch_encode(buf, IPC_MAX_MSG, IPC_REQ_CRL,
	    "http://a b/", leaf, rest), 0);
	assert_int_equal(ipc_req_fetch_encode(buf, IPC_MAX_MSG, IPC_REQ_CRL,
	    "http://a/\r\nX: y", leaf, rest), 0);
	assert_int_equal(ipc_req_fetch_encode(buf, IPC_MAX_MSG, IPC_REQ_OCSP,
	    "http://\x7f/", leaf, NULL), 0);
	assert_int_equal(ipc_req_fetch_encode(buf, IPC_MAX_MSG, IPC_REQ_OCSP,
	    "http://\xc3\xa9/", leaf, NULL), 0);

	/* IPC_MAX_CHAIN_CERTS certificates in all, leaf included. */
	assert_non_null(many = sk_X509_new_null());
	for (i = 0; i < IPC_MAX_CHAIN_CERTS - 1; i++)
		assert_true(sk_X509_push(many, ca) > 0);	/* borrowed */
	assert_true((len = ipc_req_fetch_encode(buf, IPC_MAX_MSG,
	    IPC_REQ_OCSP, NULL, leaf, many)) > 0);
	assert_int_equal(ipc_msg_check(buf, len, NULL), IPC_REQ_OCSP);
	assert_true(sk_X509_push(many, ca) > 0);
	assert_int_equal(ipc_req_fetch_encode(buf, IPC_MAX_MSG, IPC_REQ_OCSP,
	    NULL, leaf, many), 0);
	sk_X509_free(many);

	/* Eight certificates of 9 KB each: over IPC_MAX_MSG, whatever len. */
	assert_non_null(comment = malloc(9001));
	memset(comment, 'c', 9000);
	comment[9000] = '\0';
	big = make_cert("big", inter, int_key, leaf_key, 9, comment);
	free(comment);
	assert_non_null(many = sk_X509_new_null());
	for (i = 0; i < IPC_MAX_CHAIN_CERTS - 1; i++)
		assert_true(sk_X509_push(many, big) > 0);
	assert_int_equal(ipc_req_fetch_encode(buf, 4 * IPC_MAX_MSG,
	    IPC_REQ_OCSP, NULL, big, many), 0);
	/* Six of them fit. */
	sk_X509_pop(many);
	sk_X509_pop(many);
	assert_true((len = ipc_req_fetch_encode(buf, 4 * IPC_MAX_MSG,
	    IPC_REQ_OCSP, NULL, big, many)) > 0);
	assert_true(len > 6 * 9000 && len <= IPC_MAX_MSG);
	assert_int_equal(ipc_msg_check(buf, len, NULL), IPC_REQ_OCSP);
	sk_X509_free(many);
	X509_free(big);
	free(buf);
}

/* Every way the URL and the sizes of a fetch request can be wrong. */
static void
t_fetch_malformed(void **state)
{
	struct ipc_req_fetch	 f;
	uint8_t			 buf[IPC_MAX_MSG], chain[8192], der[4096];
	uint8_t			*b;
	char			 url[IPC_MAX_URL + 1];
	size_t			 len, dlen, clen, i;

	(void)state;
	dlen = der_of(leaf, der);
	clen = chain_add(chain, 0, (uint32_t)dlen, der, dlen);

	/* The URL. */
	memset(url, 'u', sizeof(url));
	len = build_fetch(buf, IPC_REQ_CRL, url, IPC_MAX_URL + 1, chain, clen);
	expect_bad(buf, len, "URL too long");
	len = build_fetch(buf, IPC_REQ_CRL, url, IPC_MAX_URL, chain, clen);
	assert_int_equal(check_exact(buf, len, NULL), IPC_REQ_CRL);
	len = build_fetch(buf, IPC_REQ_CRL, "", 0, chain, clen);
	expect_bad(buf, len, "CRL request without a URL");
	len = build_fetch(buf, IPC_REQ_OCSP, "", 0, chain, clen);
	assert_int_equal(check_exact(buf, len, NULL), IPC_REQ_OCSP);
	for (i = 0; i < 5; i++) {
		len = build_fetch(buf, IPC_REQ_CRL, i == 0 ? "http://a\nb" :
		    i == 1 ? "http://a\0b" : i == 2 ? "http://a b" :
		    i == 3 ? "http://a\x7f" : "http://a\x80", 10, chain, clen);
		expect_bad(buf, len, "not printable ASCII");
	}

	/* The sizes. */
	len = build_fetch(buf, IPC_REQ_OCSP, "", 0, chain, 0);
	expect_bad(buf, len, "no certificate");
	len = build_fetch(buf, IPC_REQ_CRL, CRL_URL, strlen(CRL_URL), chain, 0);
	expect_bad(buf, len, "no certificate");
	b = crl_request(&len);
	memcpy(buf, b, len);
	f = get_fetch(buf);
	f.url_len++;
	put_fetch(buf, &f);
	expect_bad(buf, len, "do not add up");
	f = get_fetch(b);
	f.chain_len--;
	put_fetch(buf, &f);
	expect_bad(buf, len, "do not add up");
	f = get_fetch(b);
	f.chain_len = UINT32_MAX;
	put_fetch(buf, &f);
	expect_bad(buf, len, "do not add up");
	/* Fields whose 32-bit sum wraps to the size: the URL bound first. */
	f = get_fetch(b);
	f.url_len = UINT32_MAX - 16;
	f.chain_len = (uint32_t)(len - sizeof(f) + 17);
	put_fetch(buf, &f);
	expect_bad(buf, len, "URL too long");
	/* Trailing bytes, the length field telling the truth. */
	f = get_fetch(b);
	f.hdr.length = (uint32_t)len + 1;
	put_fetch(buf, &f);
	buf[len] = 0;
	expect_bad(buf, len + 1, "do not add up");
	/* Cut short, the length field telling the truth. */
	for (i = sizeof(struct ipc_hdr); i < sizeof(f); i++) {
		f = get_fetch(b);
		memcpy(buf, b, len);
		f.hdr.length = (uint32_t)i;
		put_fetch(buf, &f);
		expect_bad(buf, i, "too short for its type");
	}
	for (i = sizeof(f); i < len; i += 37) {
		f = get_fetch(b);
		memcpy(buf, b, len);
		f.hdr.length = (uint32_t)i;
		put_fetch(buf, &f);
		expect_bad(buf, i, "do not add up");
	}
	free(b);
}

/* Every way the chain of a fetch request can be wrong. */
static void
t_fetch_malformed_chain(void **state)
{
	STACK_OF(X509)		*c;
	uint8_t			 buf[IPC_MAX_MSG], chain[8192], der[4096];
	const char		*u;
	size_t			 len, dlen, clen, i, ul;

	(void)state;
	dlen = der_of(leaf, der);
	clen = chain_add(chain, 0, 0, "", 0);
	len = build_fetch(buf, IPC_REQ_OCSP, "", 0, chain, clen);
	expect_bad(buf, len, "empty certificate");
	clen = chain_add(chain, 0, (uint32_t)dlen, der, dlen);
	clen = chain_add(chain, clen, 0, "", 0);
	len = build_fetch(buf, IPC_REQ_OCSP, "", 0, chain, clen);
	expect_bad(buf, len, "empty certificate");
	clen = chain_add(chain, 0, (uint32_t)dlen + 1, der, dlen);
	len = build_fetch(buf, IPC_REQ_OCSP, "", 0, chain, clen);
	expect_bad(buf, len, "certificate past the end of the chain");
	clen = chain_add(chain, 0, UINT32_MAX, der, dlen);
	len = build_fetch(buf, IPC_REQ_OCSP, "", 0, chain, clen);
	expect_bad(buf, len, "certificate past the end");
	/* 1 to 3 bytes after the last certificate: a length cut short. */
	for (i = 1; i < 4; i++) {
		clen = chain_add(chain, 0, (uint32_t)dlen, der, dlen);
		memset(chain + clen, 0, i);
		len = build_fetch(buf, IPC_REQ_OCSP, "", 0, chain, clen + i);
		expect_bad(buf, len, "certificate length cut short");
	}
	len = build_fetch(buf, IPC_REQ_OCSP, "", 0, chain, 3);
	expect_bad(buf, len, "certificate length cut short");
	/* IPC_MAX_CHAIN_CERTS pieces pass the check; one more does not. */
	for (clen = 0, i = 0; i < IPC_MAX_CHAIN_CERTS; i++)
		clen = chain_add(chain, clen, 1, "\x30", 1);
	len = build_fetch(buf, IPC_REQ_OCSP, "", 0, chain, clen);
	assert_int_equal(check_exact(buf, len, NULL), IPC_REQ_OCSP);
	expect_bad_der(buf, len);	/* "\x30" is no certificate */
	clen = chain_add(chain, clen, 1, "\x30", 1);
	len = build_fetch(buf, IPC_REQ_OCSP, "", 0, chain, clen);
	expect_bad(buf, len, "more certificates than IPC_MAX_CHAIN_CERTS");

	/* The DER itself, seen only by the decoder. */
	clen = chain_add(chain, 0, (uint32_t)dlen + 1, der, dlen);
	chain[clen++] = 0;		/* a byte the certificate leaves */
	len = build_fetch(buf, IPC_REQ_OCSP, "", 0, chain, clen);
	expect_bad_der(buf, len);
	clen = chain_add(chain, 0, (uint32_t)dlen - 1, der, dlen - 1);
	len = build_fetch(buf, IPC_REQ_OCSP, "", 0, chain, clen);
	expect_bad_der(buf, len);	/* cut short */
	clen = chain_add(chain, 0, (uint32_t)dlen, der, dlen);
	clen = chain_add(chain, clen, 5, "hello", 5);
	len = build_fetch(buf, IPC_REQ_OCSP, "", 0, chain, clen);
	expect_bad_der(buf, len);	/* a good leaf, then junk */
	clen = chain_add(chain, 0, (uint32_t)dlen, der, dlen);
	der[dlen / 2] ^= 0xff;
	memcpy(chain + 4 + dlen / 2, der + dlen / 2, 1);
	len = build_fetch(buf, IPC_REQ_OCSP, "", 0, chain, clen);
	/* Whatever a flipped byte does: no crash, no leak. */
	if (check_exact(buf, len, NULL) == IPC_REQ_OCSP &&
	    ipc_req_fetch_decode(buf, len, &u, &ul, &c) == 0)
		sk_X509_pop_free(c, X509_free);
	/* Not a fetch request at all. */
	len = ipc_note_encode(buf, sizeof(buf), 1);
	expect_undecodable(buf, len);
	expect_undecodable(buf, 3);
}

static void
t_status(void **state)
{
	struct ipc_rep_status	 r;
	uint8_t			 buf[sizeof(r) + 1];
	const char		*why = "x";
	uint32_t		 st;

	(void)state;
	for (st = IPC_ST_ACCEPTED; st <= IPC_ST_MALFORMED; st++) {
		assert_int_equal(ipc_rep_status_encode(&r, sizeof(r), st),
		    sizeof(r));
		assert_int_equal(check_exact(&r, sizeof(r), &why),
		    IPC_REP_STATUS);
		assert_null(why);
		assert_int_equal(ipc_msg_status(&r), st);
	}
	/* The wire bytes. */
	assert_int_equal(ipc_rep_status_encode(&r, sizeof(r),
	    IPC_ST_RATE_LIMITED), sizeof(r));
	assert_memory_equal(&r, "STMQ\x02\x00\x2d\x01\x18\x00\x00\x00"
	    "\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00", sizeof(r));
	/* Unaligned; too small; unknown statuses are not encoded. */
	assert_int_equal(ipc_rep_status_encode(buf + 1, sizeof(r), 1),
	    sizeof(r));
	assert_int_equal(ipc_msg_check(buf + 1, sizeof(r), &why),
	    IPC_REP_STATUS);
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(ipc_rep_status_encode(buf, sizeof(r) - 1, 1), 0);
	assert_int_equal(ipc_rep_status_encode(buf, sizeof(buf), 4), 0);
	assert_int_equal(ipc_rep_status_encode(buf, sizeof(buf), UINT32_MAX),
	    0);
	assert_int_equal(buf[0], 0xaa);

	ipc_rep_status_encode(&r, sizeof(r), IPC_ST_ACCEPTED);
	r.status = 4;
	expect_bad(&r, sizeof(r), "unknown status");
	r.status = UINT32_MAX;
	expect_bad(&r, sizeof(r), "unknown status");
	ipc_rep_status_encode(&r, sizeof(r), IPC_ST_ACCEPTED);
	r.reserved = 1;
	expect_bad(&r, sizeof(r), "status reserved field not zero");
	ipc_rep_status_encode(&r, sizeof(r), IPC_ST_ACCEPTED);
	r.hdr.length = sizeof(r.hdr);
	expect_bad(&r, sizeof(r.hdr), "wrong size for its type");
	r.hdr.length = sizeof(r) - 1;
	expect_bad(&r, sizeof(r) - 1, "wrong size for its type");
}

/* --- fuzz seeds ---------------------------------------------------------- */

static int
write_seed(const char *dir, const char *name, const void *b, size_t len)
{
	char	 p[PATH_MAX];
	FILE	*f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if ((f = fopen(p, "w")) == NULL || fwrite(b, 1, len, f) != len) {
		perror(p);
		return 1;
	}
	return fclose(f) != 0;
}

static int
write_seeds(const char *dir)
{
	uint8_t		 buf[IPC_MAX_MSG];
	size_t		 len;
	int		 rc = 0;

	pki_make();
	len = ipc_req_fetch_encode(buf, sizeof(buf), IPC_REQ_CRL, CRL_URL,
	    leaf, rest);
	rc |= write_seed(dir, "req-crl", buf, len);
	len = ipc_req_fetch_encode(buf, sizeof(buf), IPC_REQ_OCSP, NULL, leaf,
	    NULL);
	rc |= write_seed(dir, "req-ocsp", buf, len);
	len = ipc_req_fetch_encode(buf, sizeof(buf), IPC_REQ_OCSP,
	    "http://ocsp.example.com/", leaf, rest);
	rc |= write_seed(dir, "req-ocsp-url", buf, len);
	len = ipc_rep_status_encode(buf, sizeof(buf), IPC_ST_RATE_LIMITED);
	rc |= write_seed(dir, "rep-status", buf, len);
	pki_free();
	return rc;
}

int
main(int argc, char *argv[])
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_round_trip),
		cmocka_unit_test(t_other_types),
		cmocka_unit_test(t_bad_fields),
		cmocka_unit_test(t_truncated),
		cmocka_unit_test(t_oversized),
		cmocka_unit_test(t_fetch_round_trip),
		cmocka_unit_test(t_fetch_encode_refuses),
		cmocka_unit_test(t_fetch_malformed),
		cmocka_unit_test(t_fetch_malformed_chain),
		cmocka_unit_test(t_status),
	};

	log_init("t_notify", LOG_LVL_INFO, false);
	if (argc == 3 && strcmp(argv[1], "--seeds") == 0)
		return write_seeds(argv[2]);
	return cmocka_run_group_tests(tests, setup, teardown);
}
