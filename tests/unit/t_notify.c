/*
 * t_notify.c: IPC message encoding and checking (notes, fetch requests
 * carrying a real certificate chain made here with OpenSSL, status
 * replies), then real nng sockets in a temporary directory: a note
 * published by notify_pub reaches notify_sub, whichever starts first;
 * garbage from a raw PUB socket is dropped; stale and foreign socket
 * files; the ping request; fetch requests from notify_req answered by
 * notify_rep_poll's handler, one at a time, across a restart of fetcherd,
 * and bad requests and bad replies in both directions.
 *
 * nng pub/sub delivers only to subscribers connected at the time, and the
 * connection is made in the background, so the tests publish again every
 * few milliseconds until the note arrives, for at most WAIT_MS.
 *
 * "t_notify --seeds DIR" writes a fetch request of each kind and a status
 * reply into DIR for the fuzz corpus and exits.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "notify.h"
#include "testutil.h"

#define WAIT_MS		5000
#define STEP_MS		10

static char	 tmpdir[] = "/tmp/t_notify.XXXXXX";
static char	 sock_path[PATH_MAX];	/* tmpdir/IPC_NOTIFY_SOCK */
static char	 req_path[PATH_MAX];	/* tmpdir/IPC_REQUEST_SOCK */
static char	 notify_url[PATH_MAX + 8];
static char	 req_url[PATH_MAX + 8];

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

static struct ipc_note_published
good_note(uint64_t gen)
{
	struct ipc_note_published	 n;

	assert_int_equal(ipc_note_encode(&n, sizeof(n), gen), sizeof(n));
	return n;
}

static long
elapsed_ms(const struct timespec *t0)
{
	struct timespec	 t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 +
	    (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* A PUB socket of the test's own, on the notify endpoint. */
static nng_socket
raw_pub(void)
{
	nng_socket	 s;

	assert_int_equal(nng_pub0_open(&s), 0);
	assert_int_equal(nng_listen(s, notify_url, NULL, 0), 0);
	return s;
}

static void
raw_send(nng_socket s, const void *buf, size_t len)
{
	assert_int_equal(nng_send(s, (void *)(uintptr_t)buf, len, 0), 0);
}

/*
 * Publish gen (through p, or raw on r) until sub reports it, watching its
 * fd as the broker's event loop would.  Returns how many messages were
 * dropped as bad on the way.
 */
static int
deliver(struct notify_pub *p, nng_socket *r, struct notify_sub *sub,
    uint64_t gen)
{
	struct ipc_note_published	 note = good_note(gen);
	struct pollfd			 pfd;
	struct timespec			 t0;
	uint64_t			 got;
	int				 rc, bad = 0;

	pfd.fd = notify_sub_fd(sub);
	pfd.events = POLLIN;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (elapsed_ms(&t0) < WAIT_MS) {
		if (p != NULL)
			assert_int_equal(notify_publish(p, gen), 0);
		else
			raw_send(*r, &note, sizeof(note));
		if (poll(&pfd, 1, STEP_MS) != 1)
			continue;
		while ((rc = notify_sub_recv(sub, &got)) != 0) {
			if (rc == -1) {
				bad++;
				continue;
			}
			/* Repeats of an earlier one may still be on the way. */
			if (got < gen)
				continue;
			assert_int_equal(got, gen);
			/* Drain the repeats. */
			while ((rc = notify_sub_recv(sub, &got)) == 1)
				assert_int_equal(got, gen);
			assert_int_equal(rc, 0);
			return bad;
		}
	}
	fail_msg("generation %llu not received in %d ms",
	    (unsigned long long)gen, WAIT_MS);
	return -1;
}

/* --- a small PKI: CA, intermediate, leaf (P-256, made once) -------------- */

static EVP_PKEY	*ca_key, *int_key, *leaf_key;
static X509	*ca, *inter, *leaf;
static STACK_OF(X509) *rest;	/* inter, ca */

#define CRL_URL		"http://crl.example.com/intermediate.crl"

/* A certificate for cn, signed by issuer_key (self-signed if issuer NULL). */
static X509 *
make_cert(const char *cn, X509 *issuer, EVP_PKEY *issuer_key, EVP_PKEY *key,
    long serial, const char *comment)
{
	X509_EXTENSION	*ext;
	X509_NAME	*name;
	X509		*x;

	assert_non_null(x = X509_new());
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), serial),
	    1);
	assert_non_null(name = X509_get_subject_name(x));	/* get0 */
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0), 1);
	assert_int_equal(X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : name), 1);		/* copied */
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	if (comment != NULL) {
		assert_non_null(ext = X509V3_EXT_conf_nid(NULL, NULL,
		    NID_netscape_comment, comment));
		assert_int_equal(X509_add_ext(x, ext, -1), 1);	/* copied */
		X509_EXTENSION_free(ext);
	}
	assert_true(X509_sign(x, issuer_key, EVP_sha256()) > 0);
	return x;
}

static void
pki_make(void)
{
	assert_non_null(ca_key = EVP_EC_gen("P-256"));
	assert_non_null(int_key = EVP_EC_gen("P-256"));
	assert_non_null(leaf_key = EVP_EC_gen("P-256"));
	ca = make_cert("t_notify CA", NULL, ca_key, ca_key, 1, NULL);
	inter = make_cert("t_notify intermediate", ca, ca_key, int_key, 2,
	    NULL);
	leaf = make_cert("client-1", inter, int_key, leaf_key, 3, NULL);
	assert_non_null(rest = sk_X509_new_null());
	assert_int_equal(sk_X509_push(rest, inter), 1);	/* rest borrows */
	assert_int_equal(sk_X509_push(rest, ca), 2);
}

static void
pki_free(void)
{
	sk_X509_free(rest);
	X509_free(leaf);
	X509_free(inter);
	X509_free(ca);
	EVP_PKEY_free(leaf_key);
	EVP_PKEY_free(int_key);
	EVP_PKEY_free(ca_key);
}

/* The CN of a certificate, into buf. */
static void
cn_of(X509 *x, char *buf, int len)
{
	buf[0] = '\0';
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName,
	    buf, len);
}

/* A CRL request for leaf + rest into a buffer of exactly its size. */
static uint8_t *
crl_request(size_t *len)
{
	uint8_t	 buf[IPC_MAX_MSG], *b;

	assert_true((*len = ipc_req_fetch_encode(buf, sizeof(buf),
	    IPC_REQ_CRL, CRL_URL, leaf, rest)) > 0);
	assert_non_null(b = malloc(*len));
	memcpy(b, buf, *len);
	return b;
}

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

/*
 * A fetch request from parts: type, url (url_len bytes), then the chain
 * bytes as given; length, url_len and chain_len filled in.  Into buf.
 */
static size_t
build_fetch(uint8_t *buf, int type, const char *url, size_t url_len,
    const uint8_t *chain, size_t chain_len)
{
	struct ipc_req_fetch	 f;

	memset(&f, 0, sizeof(f));
	f.hdr.magic = IPC_MAGIC;
	f.hdr.version = IPC_VERSION;
	f.hdr.type = (uint16_t)type;
	f.hdr.length = (uint32_t)(sizeof(f) + url_len + chain_len);
	f.url_len = (uint32_t)url_len;
	f.chain_len = (uint32_t)chain_len;
	memcpy(buf, &f, sizeof(f));
	memcpy(buf + sizeof(f), url, url_len);
	memcpy(buf + sizeof(f) + url_len, chain, chain_len);
	return sizeof(f) + url_len + chain_len;
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
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(sock_path, sizeof(sock_path), "%s/%s", tmpdir,
	    IPC_NOTIFY_SOCK);
	snprintf(req_path, sizeof(req_path), "%s/%s", tmpdir,
	    IPC_REQUEST_SOCK);
	snprintf(notify_url, sizeof(notify_url), "ipc://%s", sock_path);
	snprintf(req_url, sizeof(req_url), "ipc://%s", req_path);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	pki_free();
	unlink(sock_path);
	unlink(req_path);
	if (rmdir(tmpdir) == -1) {
		fprintf(stderr, "rmdir %s: %s\n", tmpdir, strerror(errno));
		return -1;
	}
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

/* --- pub/sub over ipc:// ------------------------------------------------- */

static void
t_pubsub(void **state)
{
	struct notify_pub	*p;
	struct notify_sub	*s;
	struct stat		 st;
	uint64_t		 g;

	(void)state;
	assert_non_null(p = notify_pub_open(tmpdir));
	assert_int_equal(lstat(sock_path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0660);
	assert_non_null(s = notify_sub_open(tmpdir));
	assert_true(notify_sub_fd(s) >= 0);
	assert_int_equal(notify_sub_recv(s, &g), 0);
	assert_int_equal(deliver(p, NULL, s, 42), 0);
	assert_int_equal(deliver(p, NULL, s, 43), 0);
	notify_sub_close(s);
	notify_pub_close(p);
	/* The publisher removes its socket file. */
	assert_int_equal(lstat(sock_path, &st), -1);
	assert_int_equal(errno, ENOENT);
}

/* The broker may start first: nng keeps redialling until fetcherd is up. */
static void
t_sub_first(void **state)
{
	struct notify_pub	*p;
	struct notify_sub	*s;
	uint64_t		 g;

	(void)state;
	assert_non_null(s = notify_sub_open(tmpdir));
	assert_int_equal(notify_sub_recv(s, &g), 0);
	usleep(200 * 1000);	/* a few failed dials */
	assert_non_null(p = notify_pub_open(tmpdir));
	assert_int_equal(deliver(p, NULL, s, 42), 0);

	/* fetcherd restarts: the subscriber reconnects by itself. */
	notify_pub_close(p);
	assert_non_null(p = notify_pub_open(tmpdir));
	assert_int_equal(deliver(p, NULL, s, 44), 0);
	notify_pub_close(p);
	notify_sub_close(s);
}

/* Whatever a PUB socket sends, only checked notes come out. */
static void
t_garbage(void **state)
{
	struct ipc_note_published	 n;
	struct notify_sub		*s;
	nng_socket			 r;
	uint64_t			 g;
	uint8_t				*big;
	char				*logged;
	int				 saved, rc;

	(void)state;
	r = raw_pub();
	assert_non_null(s = notify_sub_open(tmpdir));
	assert_int_equal(deliver(NULL, &r, s, 1), 0);

	/* Connected now: pipes keep order, so these arrive in turn. */
	raw_send(r, "hello", 5);
	n = good_note(2);
	n.hdr.version = 3;
	raw_send(r, &n, sizeof(n));
	raw_send(r, "", 0);
	n = good_note(3);
	n.hdr.type = IPC_REP_PONG;	/* well formed, but not a note */
	raw_send(r, &n, sizeof(n));
	stderr_to_log(&saved);
	assert_int_equal(deliver(NULL, &r, s, 4), 4);
	logged = stderr_back(saved);
	if (strstr(logged, "dropped a message of 5 bytes: too short") ==
	    NULL || strstr(logged, "version 3, expected 2") == NULL ||
	    strstr(logged, "type 300") == NULL)
		fail_msg("log: %s", logged);
	free(logged);
	/* Nothing but late repeats of the last good note. */
	while ((rc = notify_sub_recv(s, &g)) == 1)
		assert_int_equal(g, 4);
	assert_int_equal(rc, 0);

	/* Over IPC_MAX_MSG: nng drops it (and the pipe), never hands it on. */
	assert_non_null(big = calloc(1, IPC_MAX_MSG + 1));
	raw_send(r, big, IPC_MAX_MSG + 1);
	free(big);
	stderr_to_log(&saved);
	assert_int_equal(deliver(NULL, &r, s, 5), 0);
	logged = stderr_back(saved);
	assert_null(strstr(logged, "dropped"));
	free(logged);

	notify_sub_close(s);
	nng_close(r);
	unlink(sock_path);
}

/* --- socket files -------------------------------------------------------- */

/* A socket file left by a process that died is replaced. */
static void
t_stale_socket(void **state)
{
	struct sockaddr_un	 sun;
	struct notify_pub	*p;
	struct notify_sub	*s;
	int			 fd;

	(void)state;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_true(strlen(sock_path) < sizeof(sun.sun_path));
	memcpy(sun.sun_path, sock_path, strlen(sock_path));
	assert_true((fd = socket(AF_UNIX, SOCK_STREAM, 0)) != -1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	assert_int_equal(access(sock_path, F_OK), 0);

	assert_non_null(p = notify_pub_open(tmpdir));
	assert_non_null(s = notify_sub_open(tmpdir));
	assert_int_equal(deliver(p, NULL, s, 42), 0);
	notify_sub_close(s);
	notify_pub_close(p);
}

/* A live endpoint is not stolen; a file that is not a socket is kept. */
static void
t_socket_in_use(void **state)
{
	struct notify_pub	*p, *q;
	char			*logged;
	int			 saved, fd;

	(void)state;
	assert_non_null(p = notify_pub_open(tmpdir));
	stderr_to_log(&saved);
	q = notify_pub_open(tmpdir);
	logged = stderr_back(saved);
	assert_null(q);
	assert_non_null(strstr(logged, "in use by another process"));
	free(logged);
	assert_int_equal(access(sock_path, F_OK), 0);
	notify_pub_close(p);

	assert_true((fd = open(sock_path, O_WRONLY | O_CREAT, 0644)) != -1);
	close(fd);
	stderr_to_log(&saved);
	q = notify_pub_open(tmpdir);
	logged = stderr_back(saved);
	assert_null(q);
	assert_non_null(strstr(logged, "exists and is not a socket"));
	free(logged);
	assert_int_equal(access(sock_path, F_OK), 0);
	unlink(sock_path);
}

static void
t_bad_dir(void **state)
{
	char	 dir[300], *logged;
	int	 saved;

	(void)state;
	stderr_to_log(&saved);
	assert_null(notify_pub_open("/nonexistent/staplemq"));
	memset(dir, 'a', sizeof(dir) - 1);
	dir[0] = '/';
	dir[sizeof(dir) - 1] = '\0';
	assert_null(notify_pub_open(dir));
	assert_null(notify_sub_open(dir));
	assert_null(notify_rep_open(dir));
	assert_null(notify_req_open(dir));
	logged = stderr_back(saved);
	assert_non_null(strstr(logged, "path too long"));
	free(logged);
	notify_pub_close(NULL);
	notify_sub_close(NULL);
	notify_rep_close(NULL);
	notify_req_close(NULL);
}

/* --- ping ---------------------------------------------------------------- */

struct responder {
	struct notify_rep	*rep;
	atomic_int		 stop;
	atomic_int		 answered;
	uint32_t		(*handler)(void *, int, const void *, size_t);
	void			*arg;
};

/* fetcherd's side: its event loop, reduced to poll(). */
static void *
responder_run(void *arg)
{
	struct responder	*r = arg;
	struct pollfd		 pfd;

	pfd.fd = notify_rep_fd(r->rep);
	pfd.events = POLLIN;
	while (!atomic_load(&r->stop)) {
		if (poll(&pfd, 1, STEP_MS) == 1)
			atomic_fetch_add(&r->answered,
			    notify_rep_poll(r->rep, 77, r->handler, r->arg));
	}
	return NULL;
}

/* A request over a raw REQ socket; 1 if a reply came within ms. */
static int
raw_request(const void *msg, size_t len, int ms)
{
	nng_socket	 s;
	void		*buf = NULL;
	size_t		 sz = 0;
	int		 rv;

	assert_int_equal(nng_req0_open(&s), 0);
	assert_int_equal(nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, ms), 0);
	assert_int_equal(nng_dial(s, req_url, NULL, 0), 0);
	assert_int_equal(nng_send(s, (void *)(uintptr_t)msg, len, 0), 0);
	rv = nng_recv(s, &buf, &sz, NNG_FLAG_ALLOC);
	if (rv == 0)
		nng_free(buf, sz);
	else
		assert_int_equal(rv, NNG_ETIMEDOUT);
	nng_close(s);
	return rv == 0;
}

static void
t_ping(void **state)
{
	struct responder	 r;
	struct stat		 st;
	pthread_t		 th;
	uint64_t		 g = 0;
	char			*logged;
	int			 saved;

	(void)state;
	/* Nobody listening: a bounded wait, then -1. */
	stderr_to_log(&saved);
	assert_int_equal(notify_ping(tmpdir, 200, &g), -1);
	logged = stderr_back(saved);
	assert_non_null(strstr(logged, req_url));
	free(logged);

	memset(&r, 0, sizeof(r));
	assert_non_null(r.rep = notify_rep_open(tmpdir));
	assert_int_equal(lstat(req_path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0660);
	assert_int_equal(notify_rep_poll(r.rep, 1, NULL, NULL), 0);
	assert_int_equal(pthread_create(&th, NULL, responder_run, &r), 0);

	assert_int_equal(notify_ping(tmpdir, WAIT_MS, &g), 0);
	assert_int_equal(g, 77);

	/* A bad request is answered too (IPC_ST_MALFORMED), and logged. */
	stderr_to_log(&saved);
	assert_int_equal(raw_request("junk", 4, WAIT_MS), 1);
	assert_int_equal(notify_ping(tmpdir, WAIT_MS, &g), 0);
	logged = stderr_back(saved);
	assert_non_null(strstr(logged, "too short"));
	free(logged);

	atomic_store(&r.stop, 1);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(atomic_load(&r.answered), 3);
	notify_rep_close(r.rep);
	assert_int_equal(access(req_path, F_OK), -1);
}

/* --- fetch requests over ipc:// ------------------------------------------ */

/* What fetcherd's handler saw, and what it answers. */
struct fetch_seen {
	atomic_int	 calls;
	atomic_int	 answer;	/* enum ipc_status, or not one */
	int		 type;
	char		 url[IPC_MAX_URL + 1];
	int		 ncerts;
	char		 leaf_cn[64];
};

static uint32_t
fetch_handler(void *arg, int type, const void *msg, size_t len)
{
	struct fetch_seen	*seen = arg;
	STACK_OF(X509)		*chain;
	const char		*url;
	size_t			 ulen;

	if (ipc_req_fetch_decode(msg, len, &url, &ulen, &chain) == -1)
		return IPC_ST_MALFORMED;
	seen->type = type;
	memcpy(seen->url, url != NULL ? url : "", ulen);
	seen->url[ulen] = '\0';
	seen->ncerts = sk_X509_num(chain);
	cn_of(sk_X509_value(chain, 0), seen->leaf_cn, sizeof(seen->leaf_cn));
	sk_X509_pop_free(chain, X509_free);
	atomic_fetch_add(&seen->calls, 1);
	return (uint32_t)atomic_load(&seen->answer);
}

static void
start_responder(struct responder *r, pthread_t *th, struct fetch_seen *seen)
{
	atomic_store(&r->stop, 0);
	r->handler = seen != NULL ? fetch_handler : NULL;
	r->arg = seen;
	assert_int_equal(pthread_create(th, NULL, responder_run, r), 0);
}

static void
stop_responder(struct responder *r, pthread_t th)
{
	atomic_store(&r->stop, 1);
	assert_int_equal(pthread_join(th, NULL), 0);
}

/* Wait for the reply as the broker's loop would: 1 or -1, and status. */
static int
wait_reply(struct notify_req *q, uint32_t *status)
{
	struct pollfd	 pfd;
	struct timespec	 t0;
	int		 rc;

	pfd.fd = notify_req_fd(q);
	pfd.events = POLLIN;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (elapsed_ms(&t0) < WAIT_MS) {
		if (poll(&pfd, 1, STEP_MS) != 1)
			continue;
		if ((rc = notify_req_recv(q, status)) != 0)
			return rc;
	}
	fail_msg("no reply in %d ms", WAIT_MS);
	return 0;
}

static void
send_ok(struct notify_req *q, const void *msg, size_t len)
{
	assert_int_equal(notify_req_send(q, msg, len), 0);
}

/*
 * The broker starts first: its request waits in nng until fetcherd
 * listens.  Then requests one at a time, a second one refused (1) while
 * the first awaits its reply, and every status comes back.
 */
static void
t_reqrep(void **state)
{
	struct fetch_seen	 seen;
	struct responder	 r;
	struct notify_req	*q;
	pthread_t		 th;
	uint8_t			 ocsp[IPC_MAX_MSG], *crl;
	uint64_t		 g;
	uint32_t		 st;
	size_t			 crl_len, ocsp_len;
	char			*logged;
	int			 saved;

	(void)state;
	memset(&seen, 0, sizeof(seen));
	memset(&r, 0, sizeof(r));
	crl = crl_request(&crl_len);
	assert_true((ocsp_len = ipc_req_fetch_encode(ocsp, sizeof(ocsp),
	    IPC_REQ_OCSP, NULL, leaf, rest)) > 0);

	assert_non_null(q = notify_req_open(tmpdir));
	assert_true(notify_req_fd(q) >= 0);
	assert_int_equal(notify_req_recv(q, &st), 0);	/* nothing sent */
	send_ok(q, crl, crl_len);			/* nobody there yet */
	assert_int_equal(notify_req_send(q, ocsp, ocsp_len), 1);
	assert_int_equal(notify_req_recv(q, &st), 0);
	usleep(200 * 1000);

	atomic_store(&seen.answer, IPC_ST_ACCEPTED);
	assert_non_null(r.rep = notify_rep_open(tmpdir));
	start_responder(&r, &th, &seen);
	assert_int_equal(wait_reply(q, &st), 1);
	assert_int_equal(st, IPC_ST_ACCEPTED);
	assert_int_equal(seen.type, IPC_REQ_CRL);
	assert_string_equal(seen.url, CRL_URL);
	assert_int_equal(seen.ncerts, 3);
	assert_string_equal(seen.leaf_cn, "client-1");

	/* Connected now: the next request goes out at once. */
	atomic_store(&seen.answer, IPC_ST_RATE_LIMITED);
	send_ok(q, ocsp, ocsp_len);
	assert_int_equal(wait_reply(q, &st), 1);
	assert_int_equal(st, IPC_ST_RATE_LIMITED);
	assert_int_equal(seen.type, IPC_REQ_OCSP);
	assert_string_equal(seen.url, "");

	/* fetcherd busy elsewhere: the second request must wait. */
	stop_responder(&r, th);
	atomic_store(&seen.answer, IPC_ST_REFUSED);
	send_ok(q, crl, crl_len);
	assert_int_equal(notify_req_send(q, ocsp, ocsp_len), 1);
	usleep(100 * 1000);
	assert_int_equal(notify_req_recv(q, &st), 0);
	assert_int_equal(notify_req_send(q, ocsp, ocsp_len), 1);
	start_responder(&r, &th, &seen);
	assert_int_equal(wait_reply(q, &st), 1);
	assert_int_equal(st, IPC_ST_REFUSED);
	assert_int_equal(seen.type, IPC_REQ_CRL);
	send_ok(q, ocsp, ocsp_len);			/* the queued one */
	assert_int_equal(wait_reply(q, &st), 1);
	assert_int_equal(seen.type, IPC_REQ_OCSP);

	/* Pings are still answered on the same endpoint. */
	assert_int_equal(notify_ping(tmpdir, WAIT_MS, &g), 0);
	assert_int_equal(g, 77);

	/* A handler that answers something that is no status: refused. */
	atomic_store(&seen.answer, 99);
	stderr_to_log(&saved);
	send_ok(q, crl, crl_len);
	assert_int_equal(wait_reply(q, &st), 1);
	logged = stderr_back(saved);
	assert_int_equal(st, IPC_ST_REFUSED);
	assert_non_null(strstr(logged, "handler answered 99"));
	free(logged);

	stop_responder(&r, th);
	notify_req_close(q);
	notify_rep_close(r.rep);
	free(crl);
}

/* A request over a raw REQ socket: the reply's status, or -1 for none. */
static int
raw_status(const void *msg, size_t len)
{
	nng_socket	 s;
	const char	*why;
	void		*buf = NULL;
	size_t		 sz = 0;
	int		 rv, st = -1;

	assert_int_equal(nng_req0_open(&s), 0);
	assert_int_equal(nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, WAIT_MS), 0);
	assert_int_equal(nng_dial(s, req_url, NULL, 0), 0);
	assert_int_equal(nng_send(s, (void *)(uintptr_t)msg, len, 0), 0);
	if ((rv = nng_recv(s, &buf, &sz, NNG_FLAG_ALLOC)) == 0) {
		if (ipc_msg_check(buf, sz, &why) == IPC_REP_STATUS)
			st = (int)ipc_msg_status(buf);
		nng_free(buf, sz);
	}
	nng_close(s);
	return st;
}

/*
 * Whatever arrives, fetcherd answers, and only checked requests reach the
 * handler.
 */
static void
t_rep_malformed(void **state)
{
	struct ipc_note_published	 note = good_note(1);
	struct fetch_seen		 seen;
	struct responder		 r;
	pthread_t			 th;
	uint8_t				 buf[IPC_MAX_MSG], *crl;
	size_t				 len;
	char				*logged;
	int				 saved;

	(void)state;
	memset(&seen, 0, sizeof(seen));
	memset(&r, 0, sizeof(r));
	atomic_store(&seen.answer, IPC_ST_ACCEPTED);
	assert_non_null(r.rep = notify_rep_open(tmpdir));
	start_responder(&r, &th, &seen);
	crl = crl_request(&len);

	stderr_to_log(&saved);
	assert_int_equal(raw_status("junk", 4), IPC_ST_MALFORMED);
	assert_int_equal(raw_status(&note, sizeof(note)), IPC_ST_MALFORMED);
	memcpy(buf, crl, len);
	buf[len - 1] ^= 0xff;			/* still well formed */
	buf[sizeof(struct ipc_req_fetch)] = ' ';	/* a space in the URL */
	assert_int_equal(raw_status(buf, len), IPC_ST_MALFORMED);
	len = build_fetch(buf, IPC_REQ_OCSP, "", 0, (const uint8_t *)"", 0);
	assert_int_equal(raw_status(buf, len), IPC_ST_MALFORMED);
	logged = stderr_back(saved);
	if (strstr(logged, "malformed request of 4 bytes: too short") ==
	    NULL || strstr(logged, "type 100 is not a request") == NULL ||
	    strstr(logged, "not printable") == NULL ||
	    strstr(logged, "no certificate") == NULL)
		fail_msg("log: %s", logged);
	free(logged);
	assert_int_equal(atomic_load(&seen.calls), 0);

	/*
	 * A checked request whose certificate does not parse: the handler
	 * decides (this one says MALFORMED).
	 */
	len = build_fetch(buf, IPC_REQ_OCSP, "", 0,
	    (const uint8_t *)"\x01\x00\x00\x00\x30", 5);
	assert_int_equal(raw_status(buf, len), IPC_ST_MALFORMED);
	free(crl);
	crl = crl_request(&len);
	assert_int_equal(raw_status(crl, len), IPC_ST_ACCEPTED);
	assert_int_equal(atomic_load(&seen.calls), 1);
	stop_responder(&r, th);

	/* Without a handler, fetch requests are refused. */
	start_responder(&r, &th, NULL);
	assert_int_equal(raw_status(crl, len), IPC_ST_REFUSED);
	stop_responder(&r, th);
	notify_rep_close(r.rep);
	free(crl);
}

/*
 * A request that fetcherd took but did not answer is sent again: every
 * NOTIFY_REQ_RESEND_MS while the connection stays up, and at once on the
 * new connection when fetcherd died and a new one listens.
 */
static void
t_req_resend(void **state)
{
	struct fetch_seen	 seen;
	struct responder	 r;
	struct notify_req	*q;
	struct timespec		 t0;
	nng_socket		 raw;
	pthread_t		 th;
	uint8_t			*crl;
	void			*buf = NULL;
	uint32_t		 st;
	size_t			 len, sz = 0;
	double			 ms;

	(void)state;
	memset(&seen, 0, sizeof(seen));
	memset(&r, 0, sizeof(r));
	crl = crl_request(&len);
	assert_int_equal(nng_rep0_open(&raw), 0);
	assert_int_equal(nng_socket_set_ms(raw, NNG_OPT_RECVTIMEO, WAIT_MS),
	    0);
	assert_int_equal(nng_listen(raw, req_url, NULL, 0), 0);
	assert_non_null(q = notify_req_open(tmpdir));
	send_ok(q, crl, len);
	assert_int_equal(nng_recv(raw, &buf, &sz, NNG_FLAG_ALLOC), 0);
	assert_int_equal(sz, len);
	assert_memory_equal(buf, crl, len);
	nng_free(buf, sz);
	/* Not answered, still connected: here it is again. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(nng_recv(raw, &buf, &sz, NNG_FLAG_ALLOC), 0);
	ms = (double)elapsed_ms(&t0);
	assert_memory_equal(buf, crl, len);
	nng_free(buf, sz);
	if (ms < NOTIFY_REQ_RESEND_MS * 0.8 || ms > NOTIFY_REQ_RESEND_MS * 2)
		fail_msg("resent after %.0f ms, expected about %d", ms,
		    NOTIFY_REQ_RESEND_MS);
	assert_int_equal(notify_req_recv(q, &st), 0);

	/* Now fetcherd dies without a word; a new one answers. */
	nng_close(raw);
	unlink(req_path);
	atomic_store(&seen.answer, IPC_ST_ACCEPTED);
	assert_non_null(r.rep = notify_rep_open(tmpdir));
	start_responder(&r, &th, &seen);
	assert_int_equal(notify_req_send(q, crl, len), 1);
	assert_int_equal(wait_reply(q, &st), 1);
	assert_int_equal(st, IPC_ST_ACCEPTED);
	assert_int_equal(atomic_load(&seen.calls), 1);
	assert_string_equal(seen.url, CRL_URL);
	stop_responder(&r, th);
	notify_req_close(q);
	notify_rep_close(r.rep);
	free(crl);
}

/*
 * A request still waiting for fetcherd is dropped at close (ASan: no leak
 * of the message nng holds).
 */
static void
t_req_close_pending(void **state)
{
	struct notify_req	*q;
	uint8_t			*crl;
	uint32_t		 st;
	size_t			 len;

	(void)state;
	crl = crl_request(&len);
	assert_non_null(q = notify_req_open(tmpdir));
	send_ok(q, crl, len);
	assert_int_equal(notify_req_send(q, crl, len), 1);
	usleep(50 * 1000);
	assert_int_equal(notify_req_recv(q, &st), 0);
	notify_req_close(q);
	free(crl);
}

/* Replies that are not a status are dropped, and end the request. */
static void
t_req_bad_reply(void **state)
{
	struct ipc_rep_status	 bad;
	struct ipc_rep_pong	 pong;
	struct notify_req	*q;
	nng_socket		 raw;
	uint8_t			*crl;
	void			*buf = NULL;
	uint32_t		 st;
	size_t			 len, sz = 0;
	char			*logged;
	int			 saved, k;

	(void)state;
	crl = crl_request(&len);
	assert_int_equal(nng_rep0_open(&raw), 0);
	assert_int_equal(nng_socket_set_ms(raw, NNG_OPT_RECVTIMEO, WAIT_MS),
	    0);
	assert_int_equal(nng_listen(raw, req_url, NULL, 0), 0);
	assert_non_null(q = notify_req_open(tmpdir));
	memset(&pong, 0, sizeof(pong));
	pong.hdr.magic = IPC_MAGIC;
	pong.hdr.version = IPC_VERSION;
	pong.hdr.type = IPC_REP_PONG;
	pong.hdr.length = sizeof(pong);
	ipc_rep_status_encode(&bad, sizeof(bad), IPC_ST_ACCEPTED);
	bad.status = 7;

	stderr_to_log(&saved);
	for (k = 0; k < 4; k++) {
		send_ok(q, crl, len);
		assert_int_equal(nng_recv(raw, &buf, &sz, NNG_FLAG_ALLOC), 0);
		nng_free(buf, sz);
		if (k == 0)
			raw_send(raw, "junk", 4);
		else if (k == 1)
			raw_send(raw, &pong, sizeof(pong));
		else if (k == 2)
			raw_send(raw, &bad, sizeof(bad));
		else {
			ipc_rep_status_encode(&bad, sizeof(bad),
			    IPC_ST_ACCEPTED);
			raw_send(raw, &bad, sizeof(bad));
		}
		/* -1 for the three bad ones; the request is over anyway. */
		assert_int_equal(wait_reply(q, &st), k < 3 ? -1 : 1);
	}
	logged = stderr_back(saved);
	if (strstr(logged, "dropped a reply of 4 bytes: too short") == NULL ||
	    strstr(logged, "type 300, expected 301") == NULL ||
	    strstr(logged, "unknown status") == NULL)
		fail_msg("log: %s", logged);
	free(logged);
	assert_int_equal(st, IPC_ST_ACCEPTED);
	notify_req_close(q);
	nng_close(raw);
	unlink(req_path);
	free(crl);
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
		cmocka_unit_test(t_pubsub),
		cmocka_unit_test(t_sub_first),
		cmocka_unit_test(t_garbage),
		cmocka_unit_test(t_stale_socket),
		cmocka_unit_test(t_socket_in_use),
		cmocka_unit_test(t_bad_dir),
		cmocka_unit_test(t_ping),
		cmocka_unit_test(t_reqrep),
		cmocka_unit_test(t_rep_malformed),
		cmocka_unit_test(t_req_resend),
		cmocka_unit_test(t_req_bad_reply),
		cmocka_unit_test(t_req_close_pending),
	};

	log_init("t_notify", LOG_LVL_INFO, false);
	if (argc == 3 && strcmp(argv[1], "--seeds") == 0)
		return write_seeds(argv[2]);
	return cmocka_run_group_tests(tests, setup, teardown);
}
