/*
 * notify_testutil.c: helpers t_notify and t_notify_ipc share (see
 * notify_testutil.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "notify.h"
#include "notify_testutil.h"

struct ipc_note_published
good_note(uint64_t gen)
{
	struct ipc_note_published	 n;

	assert_int_equal(ipc_note_encode(&n, sizeof(n), gen), sizeof(n));
	return n;
}

/* --- a small PKI: CA, intermediate, leaf (P-256, made once) -------------- */

EVP_PKEY	*ca_key, *int_key, *leaf_key;
X509	*ca, *inter, *leaf;
STACK_OF(X509) *rest;	/* inter, ca */

/* A certificate for cn, signed by issuer_key (self-signed if issuer NULL). */
X509 *
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

void
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

void
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
void
cn_of(X509 *x, char *buf, int len)
{
	buf[0] = '\0';
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName,
	    buf, len);
}

/* A CRL request for leaf + rest into a buffer of exactly its size. */
uint8_t *
crl_request(size_t *len)
{
	uint8_t	 buf[IPC_MAX_MSG], *b;

	assert_true((*len = ipc_req_fetch_encode(buf, sizeof(buf),
	    IPC_REQ_CRL, CRL_URL, leaf, rest)) > 0);
	assert_non_null(b = malloc(*len));
	memcpy(b, buf, *len);
	return b;
}

/*
 * A fetch request from parts: type, url (url_len bytes), then the chain
 * bytes as given; length, url_len and chain_len filled in.  Into buf.
 */
size_t
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
