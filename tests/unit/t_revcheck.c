/*
 * t_revcheck.c: OCSP response verification and the staple validity window.
 *
 * The PKI and every response are made here with OpenSSL's API, at a fixed
 * NOW years in the past: every certificate has expired by the wall clock,
 * so a check that looked at the real time instead of the "now" it is given
 * fails these tests.  Each response is copied into a buffer of exactly its
 * size so that ASan sees a read past the end, and every call must leave
 * OpenSSL's error queue empty.
 *
 * The PKI:
 *   root (self-signed) -> ca (the issuer of most tests) -> leaf
 *                               ca -> resp (id-kp-OCSPSigning)
 *                               ca -> resp_noeku, resp_expired
 *                               ca -> subca -> resp_sub (OCSPSigning)
 *   root -> rleaf, root -> rresp_noeku      (issuer self-signed)
 *   other (self-signed) -> other_resp (OCSPSigning), other_leaf (leaf's
 *   serial)
 *   rogue (self-signed, OCSPSigning)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "revcheck.h"

#define NOW		((time_t)1700000000)	/* 2023-11-14 */
#define HOUR		3600
#define DAY		86400
#define LEAF_SERIAL	0x1001
#define BIG_SINGLES	300	/* SingleResponses to pass 20 KiB */

/* cert_new() kinds */
#define K_CA		0x01
#define K_OCSP		0x02	/* id-kp-OCSPSigning */
#define K_EXPIRED	0x04	/* notAfter an hour before NOW */

struct pki {
	EVP_PKEY	*root_key, *ca_key, *other_key, *rogue_key;
	EVP_PKEY	*resp_key, *subca_key, *leaf_key;
	X509		*root, *ca, *leaf, *resp, *resp_noeku, *resp_expired;
	X509		*subca, *resp_sub, *rleaf, *rresp_noeku;
	X509		*other, *other_resp, *other_leaf, *rogue;
};

static struct pki pki;

/* --- making the PKI ------------------------------------------------------ */

static EVP_PKEY *
key_new(void)
{
	EVP_PKEY *k;

	k = EVP_EC_gen("P-256");
	assert_non_null(k);
	return k;
}

static void
ext_add(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
}

/* A certificate for key named cn, signed by ikey (self-signed if !issuer). */
static X509 *
cert_new(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
    long serial, int kind)
{
	X509_NAME *name;
	X509 *x;
	time_t now = NOW;

	assert_non_null(x = X509_new());
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), serial),
	    1);
	assert_non_null(name = X509_NAME_new());
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0), 1);
	assert_int_equal(X509_set_subject_name(x, name), 1);
	assert_int_equal(X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : name), 1);
	X509_NAME_free(name);
	assert_non_null(X509_time_adj_ex(X509_getm_notBefore(x), -30, 0,
	    &now));
	if (kind & K_EXPIRED)
		assert_non_null(X509_time_adj_ex(X509_getm_notAfter(x), 0,
		    -HOUR, &now));
	else
		assert_non_null(X509_time_adj_ex(X509_getm_notAfter(x), 365, 0,
		    &now));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	if (issuer == NULL)
		issuer = x;
	ext_add(x, issuer, NID_subject_key_identifier, "hash");
	if (issuer != x)
		ext_add(x, issuer, NID_authority_key_identifier,
		    "keyid:always");
	if (kind & K_CA) {
		ext_add(x, issuer, NID_basic_constraints, "critical,CA:TRUE");
		ext_add(x, issuer, NID_key_usage,
		    "critical,keyCertSign,cRLSign");
	} else {
		ext_add(x, issuer, NID_basic_constraints, "critical,CA:FALSE");
		ext_add(x, issuer, NID_key_usage, "critical,digitalSignature");
	}
	if (kind & K_OCSP)
		ext_add(x, issuer, NID_ext_key_usage, "OCSPSigning");
	assert_true(X509_sign(x, ikey, EVP_sha256()) > 0);
	return x;
}

static int
pki_setup(void **state)
{
	EVP_PKEY *k;

	(void)state;
	pki.root_key = key_new();
	pki.ca_key = key_new();
	pki.other_key = key_new();
	pki.rogue_key = key_new();
	pki.resp_key = key_new();
	pki.subca_key = key_new();
	pki.leaf_key = key_new();
	k = pki.leaf_key;

	pki.root = cert_new("root", pki.root_key, NULL, pki.root_key, 1, K_CA);
	pki.ca = cert_new("ca", pki.ca_key, pki.root, pki.root_key, 2, K_CA);
	pki.leaf = cert_new("leaf", k, pki.ca, pki.ca_key, LEAF_SERIAL, 0);
	pki.resp = cert_new("resp", pki.resp_key, pki.ca, pki.ca_key, 0x10,
	    K_OCSP);
	pki.resp_noeku = cert_new("resp-noeku", pki.resp_key, pki.ca,
	    pki.ca_key, 0x11, 0);
	pki.resp_expired = cert_new("resp-expired", pki.resp_key, pki.ca,
	    pki.ca_key, 0x12, K_OCSP | K_EXPIRED);
	pki.subca = cert_new("subca", pki.subca_key, pki.ca, pki.ca_key, 0x13,
	    K_CA);
	pki.resp_sub = cert_new("resp-sub", pki.resp_key, pki.subca,
	    pki.subca_key, 0x14, K_OCSP);
	pki.rleaf = cert_new("rleaf", k, pki.root, pki.root_key, 0x20, 0);
	pki.rresp_noeku = cert_new("rresp-noeku", pki.resp_key, pki.root,
	    pki.root_key, 0x21, 0);
	pki.other = cert_new("other", pki.other_key, NULL, pki.other_key, 3,
	    K_CA);
	pki.other_resp = cert_new("other-resp", pki.resp_key, pki.other,
	    pki.other_key, 0x30, K_OCSP);
	pki.other_leaf = cert_new("other-leaf", k, pki.other, pki.other_key,
	    LEAF_SERIAL, 0);
	pki.rogue = cert_new("rogue", pki.rogue_key, NULL, pki.rogue_key, 4,
	    K_OCSP);
	return 0;
}

static int
pki_teardown(void **state)
{
	X509 **certs[] = {
		&pki.root, &pki.ca, &pki.leaf, &pki.resp, &pki.resp_noeku,
		&pki.resp_expired, &pki.subca, &pki.resp_sub, &pki.rleaf,
		&pki.rresp_noeku, &pki.other, &pki.other_resp,
		&pki.other_leaf, &pki.rogue
	};
	EVP_PKEY **keys[] = {
		&pki.root_key, &pki.ca_key, &pki.other_key, &pki.rogue_key,
		&pki.resp_key, &pki.subca_key, &pki.leaf_key
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(certs) / sizeof(certs[0]); i++) {
		X509_free(*certs[i]);
		*certs[i] = NULL;
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		EVP_PKEY_free(*keys[i]);
		*keys[i] = NULL;
	}
	return 0;
}

/* --- making responses ---------------------------------------------------- */

static ASN1_TIME *
asn1_time(time_t t)
{
	ASN1_TIME *a;

	assert_non_null(a = ASN1_TIME_set(NULL, t));
	return a;
}

/* A CertID for serial under issuer, without a certificate to hand. */
static OCSP_CERTID *
cid_serial(X509 *issuer, long serial, const EVP_MD *md)
{
	ASN1_INTEGER *sn;
	OCSP_CERTID *cid;

	assert_non_null(sn = ASN1_INTEGER_new());
	assert_int_equal(ASN1_INTEGER_set(sn, serial), 1);
	cid = OCSP_cert_id_new(md, X509_get_subject_name(issuer),
	    X509_get0_pubkey_bitstr(issuer), sn);
	assert_non_null(cid);
	ASN1_INTEGER_free(sn);
	return cid;
}

/* Add a SingleResponse (takes cid); next 0: no nextUpdate. */
static void
single_add(OCSP_BASICRESP *bs, OCSP_CERTID *cid, int status, int reason,
    time_t thisupd, time_t nextupd)
{
	ASN1_TIME *t, *n = NULL, *rev = NULL;

	t = asn1_time(thisupd);
	if (nextupd != 0)
		n = asn1_time(nextupd);
	if (status == V_OCSP_CERTSTATUS_REVOKED)
		rev = asn1_time(NOW - 10 * DAY);
	assert_non_null(OCSP_basic_add1_status(bs, cid, status, reason, rev,
	    t, n));
	ASN1_TIME_free(t);
	ASN1_TIME_free(n);
	ASN1_TIME_free(rev);
	OCSP_CERTID_free(cid);
}

/* Our leaf's SingleResponse, with thisUpdate/nextUpdate around NOW. */
static void
single_leaf(OCSP_BASICRESP *bs, int status, int reason)
{
	single_add(bs, OCSP_cert_to_id(EVP_sha1(), pki.leaf, pki.ca), status,
	    reason, NOW - HOUR, NOW + DAY);
}

/* Sign bs, free it, and return the DER OCSPResponse (malloc'ed). */
static uint8_t *
resp_der(OCSP_BASICRESP *bs, X509 *signer, EVP_PKEY *key,
    unsigned long flags, size_t *len)
{
	OCSP_RESPONSE *r;
	uint8_t *der = NULL, *p;
	int n;

	assert_int_equal(OCSP_basic_sign(bs, signer, key, EVP_sha256(), NULL,
	    flags), 1);
	assert_non_null(r = OCSP_response_create(
	    OCSP_RESPONSE_STATUS_SUCCESSFUL, bs));
	OCSP_BASICRESP_free(bs);
	assert_true((n = i2d_OCSP_RESPONSE(r, NULL)) > 0);
	assert_non_null(der = p = malloc(n));
	assert_int_equal(i2d_OCSP_RESPONSE(r, &p), n);
	OCSP_RESPONSE_free(r);
	*len = n;
	return der;
}

static OCSP_BASICRESP *
bs_new(void)
{
	OCSP_BASICRESP *bs;

	assert_non_null(bs = OCSP_BASICRESP_new());
	return bs;
}

/* A response about the leaf alone, signed by the delegated responder. */
static uint8_t *
resp_leaf(int status, int reason, size_t *len)
{
	OCSP_BASICRESP *bs = bs_new();

	single_leaf(bs, status, reason);
	return resp_der(bs, pki.resp, pki.resp_key, 0, len);
}

/* --- checking ------------------------------------------------------------ */

/* revcheck_ocsp on an exact-size copy; the error queue must stay empty. */
static int
check_at(const uint8_t *der, size_t len, X509 *cert, X509 *issuer,
    STACK_OF(X509) *untrusted, time_t now, struct revcheck_result *r)
{
	uint8_t *copy;
	int rc;

	assert_non_null(copy = malloc(len == 0 ? 1 : len));
	if (len > 0)
		memcpy(copy, der, len);
	ERR_clear_error();
	rc = revcheck_ocsp(copy, len, cert, issuer, untrusted, now, r);
	free(copy);
	assert_int_equal(ERR_peek_error(), 0);
	if (rc == 0) {
		assert_string_equal(r->reason, "");
		assert_int_not_equal(r->status, REVCHECK_UNVERIFIED);
		assert_int_equal(r->response_status, 0);
	} else {
		assert_int_equal(rc, -1);
		assert_true(r->reason[0] != '\0');
		assert_int_equal(r->status, REVCHECK_UNVERIFIED);
	}
	return rc;
}

static int
check(const uint8_t *der, size_t len, struct revcheck_result *r)
{
	return check_at(der, len, pki.leaf, pki.ca, NULL, NOW, r);
}

/* Refused, with why among the words of the reason. */
static void
refused(const uint8_t *der, size_t len, X509 *cert, X509 *issuer,
    const char *why)
{
	struct revcheck_result r;

	assert_int_equal(check_at(der, len, cert, issuer, NULL, NOW, &r), -1);
	if (strstr(r.reason, why) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", r.reason, why);
}

/* --- statuses ------------------------------------------------------------ */

static void
t_good(void **state)
{
	struct revcheck_result r;
	uint8_t *der;
	size_t len;

	(void)state;
	der = resp_leaf(V_OCSP_CERTSTATUS_GOOD, 0, &len);
	assert_int_equal(check(der, len, &r), 0);
	assert_int_equal(r.status, REVCHECK_GOOD);
	assert_int_equal(r.this_update, NOW - HOUR);
	assert_int_equal(r.next_update, NOW + DAY);
	assert_int_equal(r.revoked_at, 0);
	assert_int_equal(r.revocation_reason, -1);
	assert_string_equal(revcheck_status_name(r.status), "good");
	free(der);
}

static void
t_revoked(void **state)
{
	struct revcheck_result r;
	uint8_t *der;
	size_t len;

	(void)state;
	der = resp_leaf(V_OCSP_CERTSTATUS_REVOKED,
	    OCSP_REVOKED_STATUS_KEYCOMPROMISE, &len);
	assert_int_equal(check(der, len, &r), 0);
	assert_int_equal(r.status, REVCHECK_REVOKED);
	assert_int_equal(r.revoked_at, NOW - 10 * DAY);
	assert_int_equal(r.revocation_reason,
	    OCSP_REVOKED_STATUS_KEYCOMPROMISE);
	assert_string_equal(revcheck_reason_name(r.revocation_reason),
	    "keyCompromise");
	assert_string_equal(revcheck_status_name(r.status), "revoked");
	free(der);

	/* No reason given. */
	der = resp_leaf(V_OCSP_CERTSTATUS_REVOKED, OCSP_REVOKED_STATUS_NOSTATUS,
	    &len);
	assert_int_equal(check(der, len, &r), 0);
	assert_int_equal(r.status, REVCHECK_REVOKED);
	assert_int_equal(r.revocation_reason, -1);
	free(der);
}

static void
t_unknown(void **state)
{
	struct revcheck_result r;
	uint8_t *der;
	size_t len;

	(void)state;
	der = resp_leaf(V_OCSP_CERTSTATUS_UNKNOWN, 0, &len);
	assert_int_equal(check(der, len, &r), 0);
	assert_int_equal(r.status, REVCHECK_UNKNOWN);
	assert_string_equal(revcheck_status_name(r.status), "unknown");
	free(der);
}

static void
t_response_status(void **state)
{
	static const struct {
		int		 status;
		const char	*reason;
	} tab[] = {
		{ OCSP_RESPONSE_STATUS_MALFORMEDREQUEST,
		    "responder said malformedRequest" },
		{ OCSP_RESPONSE_STATUS_INTERNALERROR,
		    "responder said internalError" },
		{ OCSP_RESPONSE_STATUS_TRYLATER, "responder said tryLater" },
		{ OCSP_RESPONSE_STATUS_SIGREQUIRED,
		    "responder said sigRequired" },
		{ OCSP_RESPONSE_STATUS_UNAUTHORIZED,
		    "responder said unauthorized" },
	};
	struct revcheck_result r;
	OCSP_RESPONSE *resp;
	uint8_t *der, *p;
	size_t i;
	int n;

	(void)state;
	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		assert_non_null(resp = OCSP_response_create(tab[i].status,
		    NULL));
		n = i2d_OCSP_RESPONSE(resp, NULL);
		assert_non_null(der = p = malloc(n));
		assert_int_equal(i2d_OCSP_RESPONSE(resp, &p), n);
		OCSP_RESPONSE_free(resp);
		assert_int_equal(check(der, n, &r), -1);
		assert_string_equal(r.reason, tab[i].reason);
		assert_int_equal(r.response_status, tab[i].status);
		free(der);
	}
	/* The demo responder's tryLater, byte for byte. */
	assert_int_equal(check((const uint8_t *)"\x30\x03\x0a\x01\x03", 5, &r),
	    -1);
	assert_string_equal(r.reason, "responder said tryLater");
	/* successful without a response body */
	assert_int_equal(check((const uint8_t *)"\x30\x03\x0a\x01\x00", 5, &r),
	    -1);
	assert_string_equal(r.reason, "not a basic OCSP response");
	assert_string_equal(revcheck_response_status_name(4), "(unused 4)");
	assert_string_equal(revcheck_response_status_name(7),
	    "an unknown responseStatus");
	assert_string_equal(revcheck_response_status_name(-1),
	    "an unknown responseStatus");
}

/* --- who signed ---------------------------------------------------------- */

static void
t_signed_by_issuer(void **state)
{
	struct revcheck_result r;
	OCSP_BASICRESP *bs;
	uint8_t *der;
	size_t len;

	(void)state;
	/* Responder ID by name, no certificates in the response. */
	bs = bs_new();
	single_leaf(bs, V_OCSP_CERTSTATUS_GOOD, 0);
	der = resp_der(bs, pki.ca, pki.ca_key, OCSP_NOCERTS, &len);
	assert_int_equal(check(der, len, &r), 0);
	assert_int_equal(r.status, REVCHECK_GOOD);
	free(der);

	/* Responder ID by key hash, the issuer's certificate included. */
	bs = bs_new();
	single_leaf(bs, V_OCSP_CERTSTATUS_GOOD, 0);
	der = resp_der(bs, pki.ca, pki.ca_key, OCSP_RESPID_KEY, &len);
	assert_int_equal(check(der, len, &r), 0);
	free(der);

	/* A self-signed issuer answering for its own leaf. */
	bs = bs_new();
	single_add(bs, OCSP_cert_to_id(NULL, pki.rleaf, pki.root),
	    V_OCSP_CERTSTATUS_GOOD, 0, NOW - HOUR, NOW + DAY);
	der = resp_der(bs, pki.root, pki.root_key, 0, &len);
	assert_int_equal(check_at(der, len, pki.rleaf, pki.root, NULL, NOW,
	    &r), 0);
	free(der);
}

static void
t_delegated(void **state)
{
	struct revcheck_result r;
	OCSP_BASICRESP *bs;
	STACK_OF(X509) *untrusted;
	uint8_t *der;
	size_t len;

	(void)state;
	/* resp_leaf() is signed by the delegated responder: see t_good. */
	bs = bs_new();
	single_leaf(bs, V_OCSP_CERTSTATUS_GOOD, 0);
	der = resp_der(bs, pki.resp, pki.resp_key, OCSP_RESPID_KEY, &len);
	assert_int_equal(check(der, len, &r), 0);
	free(der);

	/* Responder certificate left out: found only among untrusted. */
	bs = bs_new();
	single_leaf(bs, V_OCSP_CERTSTATUS_GOOD, 0);
	der = resp_der(bs, pki.resp, pki.resp_key, OCSP_NOCERTS, &len);
	refused(der, len, pki.leaf, pki.ca, "responder certificate not found");
	assert_non_null(untrusted = sk_X509_new_null());
	assert_true(sk_X509_push(untrusted, pki.other) > 0);
	assert_true(sk_X509_push(untrusted, pki.resp) > 0);
	assert_int_equal(check_at(der, len, pki.leaf, pki.ca, untrusted, NOW,
	    &r), 0);
	sk_X509_free(untrusted);
	free(der);
}

static void
t_delegated_refused(void **state)
{
	OCSP_BASICRESP *bs;
	X509 *trusted;
	uint8_t *der;
	size_t len;

	(void)state;
	/* Certified by the issuer, but not for OCSP signing. */
	bs = bs_new();
	single_leaf(bs, V_OCSP_CERTSTATUS_GOOD, 0);
	der = resp_der(bs, pki.resp_noeku, pki.resp_key, 0, &len);
	refused(der, len, pki.leaf, pki.ca, "lacks id-kp-OCSPSigning");
	free(der);

	/*
	 * The same under a self-signed issuer that is even marked trusted
	 * for OCSP signing, as a "TRUSTED CERTIFICATE" file can say: that
	 * is what OCSP_basic_verify() falls back to without OCSP_NOEXPLICIT.
	 */
	assert_non_null(trusted = X509_dup(pki.root));
	assert_int_equal(X509_add1_trust_object(trusted,
	    OBJ_nid2obj(NID_OCSP_sign)), 1);
	bs = bs_new();
	single_add(bs, OCSP_cert_to_id(NULL, pki.rleaf, pki.root),
	    V_OCSP_CERTSTATUS_GOOD, 0, NOW - HOUR, NOW + DAY);
	der = resp_der(bs, pki.rresp_noeku, pki.resp_key, 0, &len);
	refused(der, len, pki.rleaf, pki.root, "lacks id-kp-OCSPSigning");
	refused(der, len, pki.rleaf, trusted, "lacks id-kp-OCSPSigning");
	X509_free(trusted);
	free(der);

	/* Certified for OCSP signing, by another CA. */
	bs = bs_new();
	single_leaf(bs, V_OCSP_CERTSTATUS_GOOD, 0);
	der = resp_der(bs, pki.other_resp, pki.resp_key, 0, &len);
	refused(der, len, pki.leaf, pki.ca, "not issued by");
	free(der);

	/* Certified through a sub-CA of the issuer, the sub-CA included. */
	bs = bs_new();
	single_leaf(bs, V_OCSP_CERTSTATUS_GOOD, 0);
	assert_int_equal(OCSP_basic_add1_cert(bs, pki.subca), 1);
	der = resp_der(bs, pki.resp_sub, pki.resp_key, 0, &len);
	refused(der, len, pki.leaf, pki.ca, "not issued by");
	free(der);

	/* Certified by the issuer, expired at NOW. */
	bs = bs_new();
	single_leaf(bs, V_OCSP_CERTSTATUS_GOOD, 0);
	der = resp_der(bs, pki.resp_expired, pki.resp_key, 0, &len);
	refused(der, len, pki.leaf, pki.ca, "expired or not yet valid");
	free(der);

	/* A key nobody certified, its self-signed certificate included. */
	bs = bs_new();
	single_leaf(bs, V_OCSP_CERTSTATUS_GOOD, 0);
	der = resp_der(bs, pki.rogue, pki.rogue_key, 0, &len);
	refused(der, len, pki.leaf, pki.ca, "not issued by");
	free(der);
}

static void
t_bad_signature(void **state)
{
	OCSP_BASICRESP *bs;
	uint8_t *der;
	size_t i, len;

	(void)state;
	/* No certificates: the signature is the last thing in the DER. */
	bs = bs_new();
	single_leaf(bs, V_OCSP_CERTSTATUS_GOOD, 0);
	der = resp_der(bs, pki.ca, pki.ca_key, OCSP_NOCERTS, &len);
	der[len - 1] ^= 0x01;
	refused(der, len, pki.leaf, pki.ca, "signature not verified");
	free(der);

	/* A status changed after signing (unknown made good). */
	der = resp_leaf(V_OCSP_CERTSTATUS_UNKNOWN, 0, &len);
	/* certStatus unknown is [2] IMPLICIT NULL: 82 00 becomes 80 00. */
	for (i = 0; i + 1 < len; i++)
		if (der[i] == 0x82 && der[i + 1] == 0x00)
			break;
	assert_true(i + 1 < len);
	der[i] = 0x80;
	refused(der, len, pki.leaf, pki.ca, "signature not verified");
	free(der);
}

/* --- which certificate --------------------------------------------------- */

static void
t_other_serial(void **state)
{
	OCSP_BASICRESP *bs;
	uint8_t *der;
	size_t len;

	(void)state;
	bs = bs_new();
	single_add(bs, cid_serial(pki.ca, LEAF_SERIAL + 1, EVP_sha1()),
	    V_OCSP_CERTSTATUS_GOOD, 0, NOW - HOUR, NOW + DAY);
	der = resp_der(bs, pki.resp, pki.resp_key, 0, &len);
	refused(der, len, pki.leaf, pki.ca, "no answer for this certificate");
	free(der);
}

static void
t_other_issuer(void **state)
{
	OCSP_BASICRESP *bs;
	uint8_t *der;
	size_t len;

	(void)state;
	/* Same serial, another CA, signed by that CA's own responder. */
	bs = bs_new();
	single_add(bs, OCSP_cert_to_id(NULL, pki.other_leaf, pki.other),
	    V_OCSP_CERTSTATUS_GOOD, 0, NOW - HOUR, NOW + DAY);
	der = resp_der(bs, pki.other_resp, pki.resp_key, 0, &len);
	refused(der, len, pki.leaf, pki.ca, "no answer for this certificate");
	/* ... valid for its own certificate, though. */
	{
		struct revcheck_result r;

		assert_int_equal(check_at(der, len, pki.other_leaf, pki.other,
		    NULL, NOW, &r), 0);
	}
	free(der);

	/* Same serial, another CA, signed by our responder. */
	bs = bs_new();
	single_add(bs, OCSP_cert_to_id(NULL, pki.other_leaf, pki.other),
	    V_OCSP_CERTSTATUS_GOOD, 0, NOW - HOUR, NOW + DAY);
	der = resp_der(bs, pki.resp, pki.resp_key, 0, &len);
	refused(der, len, pki.leaf, pki.ca, "no answer for this certificate");
	refused(der, len, pki.other_leaf, pki.other, "not issued by");
	free(der);

	/* The issuer given did not issue the certificate. */
	der = resp_leaf(V_OCSP_CERTSTATUS_GOOD, 0, &len);
	refused(der, len, pki.leaf, pki.other, "did not issue");
	free(der);
}

static void
t_many_singles(void **state)
{
	struct revcheck_result r;
	OCSP_BASICRESP *bs;
	uint8_t *der;
	size_t len;
	long i;

	(void)state;
	/* Ours, good, in the middle of revoked neighbours. */
	bs = bs_new();
	for (i = 1; i <= 3; i++)
		single_add(bs, cid_serial(pki.ca, LEAF_SERIAL - i, EVP_sha1()),
		    V_OCSP_CERTSTATUS_REVOKED, 1, NOW - HOUR, NOW + HOUR);
	single_leaf(bs, V_OCSP_CERTSTATUS_GOOD, 0);
	for (i = 1; i <= 3; i++)
		single_add(bs, cid_serial(pki.ca, LEAF_SERIAL + i,
		    EVP_sha256()), V_OCSP_CERTSTATUS_REVOKED, 1, NOW - HOUR,
		    NOW + HOUR);
	der = resp_der(bs, pki.resp, pki.resp_key, 0, &len);
	assert_int_equal(check(der, len, &r), 0);
	assert_int_equal(r.status, REVCHECK_GOOD);
	assert_int_equal(r.next_update, NOW + DAY);
	free(der);

	/* Ours twice, in two hash algorithms: ambiguous. */
	bs = bs_new();
	single_leaf(bs, V_OCSP_CERTSTATUS_GOOD, 0);
	single_add(bs, OCSP_cert_to_id(EVP_sha256(), pki.leaf, pki.ca),
	    V_OCSP_CERTSTATUS_REVOKED, 1, NOW - HOUR, NOW + DAY);
	der = resp_der(bs, pki.resp, pki.resp_key, 0, &len);
	refused(der, len, pki.leaf, pki.ca, "2 answers for this certificate");
	free(der);

	/* Past 20 KiB. */
	bs = bs_new();
	single_leaf(bs, V_OCSP_CERTSTATUS_GOOD, 0);
	for (i = 1; i <= BIG_SINGLES; i++)
		single_add(bs, cid_serial(pki.ca, 0x100000 + i, EVP_sha1()),
		    V_OCSP_CERTSTATUS_GOOD, 0, NOW - HOUR, NOW + DAY);
	der = resp_der(bs, pki.resp, pki.resp_key, 0, &len);
	assert_true(len > REVCHECK_MAX_DER);
	refused(der, len, pki.leaf, pki.ca, "(limit 20480)");
	free(der);
}

static void
t_sha256_certid(void **state)
{
	struct revcheck_result r;
	OCSP_BASICRESP *bs;
	uint8_t *der;
	size_t len;

	(void)state;
	bs = bs_new();
	single_add(bs, OCSP_cert_to_id(EVP_sha256(), pki.leaf, pki.ca),
	    V_OCSP_CERTSTATUS_REVOKED, 1, NOW - HOUR, NOW + DAY);
	der = resp_der(bs, pki.resp, pki.resp_key, 0, &len);
	assert_int_equal(check(der, len, &r), 0);
	assert_int_equal(r.status, REVCHECK_REVOKED);
	free(der);

	/* A CertID in a hash we do not recompute (MD5) names nobody. */
	bs = bs_new();
	single_add(bs, OCSP_cert_to_id(EVP_md5(), pki.leaf, pki.ca),
	    V_OCSP_CERTSTATUS_GOOD, 0, NOW - HOUR, NOW + DAY);
	der = resp_der(bs, pki.resp, pki.resp_key, 0, &len);
	refused(der, len, pki.leaf, pki.ca, "no answer for this certificate");
	free(der);
}

/* --- times --------------------------------------------------------------- */

/* A response about the leaf with these times, signed by the responder. */
static uint8_t *
resp_times(time_t thisupd, time_t nextupd, size_t *len)
{
	OCSP_BASICRESP *bs = bs_new();

	single_add(bs, OCSP_cert_to_id(NULL, pki.leaf, pki.ca),
	    V_OCSP_CERTSTATUS_GOOD, 0, thisupd, nextupd);
	return resp_der(bs, pki.resp, pki.resp_key, 0, len);
}

static void
t_times(void **state)
{
	static const struct {
		time_t		 thisupd, nextupd;
		const char	*why;		/* NULL: accepted */
	} tab[] = {
		{ NOW + REVCHECK_SKEW, NOW + DAY, NULL },
		{ NOW + REVCHECK_SKEW + 1, NOW + DAY, "in the future" },
		{ NOW + DAY, NOW + 2 * DAY, "in the future" },
		{ NOW - DAY, 0, "no nextUpdate" },
		{ NOW - DAY, NOW - 1, "expired" },
		{ NOW - DAY, NOW, "expired" },
		{ NOW - DAY, NOW + 1, NULL },
		{ NOW - 10, NOW - 10, "not before nextUpdate" },
		{ NOW + 10, NOW + 10, "not before nextUpdate" },
		{ NOW + 20, NOW + 10, "not before nextUpdate" },
		{ NOW, NOW + 1, NULL },
	};
	struct revcheck_result r;
	uint8_t *der;
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		der = resp_times(tab[i].thisupd, tab[i].nextupd, &len);
		if (tab[i].why == NULL) {
			assert_int_equal(check(der, len, &r), 0);
			assert_int_equal(r.this_update, tab[i].thisupd);
			assert_int_equal(r.next_update, tab[i].nextupd);
		} else
			refused(der, len, pki.leaf, pki.ca, tab[i].why);
		free(der);
	}
}

static void
t_times_valid(void **state)
{
	static const struct {
		int64_t	 thisupd, nextupd, now;
		int	 valid;
	} tab[] = {
		{ 1000, 2000, 939, 0 },
		{ 1000, 2000, 940, 1 },
		{ 1000, 2000, 1000, 1 },
		{ 1000, 2000, 1999, 1 },
		{ 1000, 2000, 2000, 0 },
		{ 1000, 2000, 3000, 0 },
		{ 1000, 1000, 1000, 0 },
		{ 1000, 1001, 1000, 1 },
		{ 1001, 1000, 1000, 0 },
		{ 1030, 1040, 1000, 1 },
		{ 1060, 1100, 1000, 1 },
		{ 1061, 1100, 1000, 0 },
		{ INT64_MIN, INT64_MAX, 0, 1 },
		{ INT64_MIN, INT64_MAX, INT64_MAX - 1, 1 },
		{ INT64_MIN, INT64_MAX, INT64_MAX, 0 },
		{ INT64_MAX - 1, INT64_MAX, INT64_MIN, 0 },
		{ INT64_MAX - 1, INT64_MAX, INT64_MAX - 62, 0 },
		{ INT64_MAX - 1, INT64_MAX, INT64_MAX - 61, 1 },
		{ INT64_MIN, INT64_MIN + 1, INT64_MIN, 1 },
		{ 0, 1, INT64_MIN, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (revcheck_ocsp_times_valid(tab[i].thisupd, tab[i].nextupd,
		    tab[i].now) != tab[i].valid)
			fail_msg("row %zu: %lld %lld %lld should be %s", i,
			    (long long)tab[i].thisupd,
			    (long long)tab[i].nextupd, (long long)tab[i].now,
			    tab[i].valid ? "valid" : "invalid");
}

/* The result's window is the rule's window. */
static void
t_times_agree(void **state)
{
	struct revcheck_result r;
	uint8_t *der;
	size_t len;
	time_t now;

	(void)state;
	der = resp_times(NOW, NOW + HOUR, &len);
	for (now = NOW - 2 * REVCHECK_SKEW; now <= NOW + HOUR + 1; now += 15) {
		int rc = check_at(der, len, pki.leaf, pki.ca, NULL, now, &r);

		assert_int_equal(rc == 0, revcheck_ocsp_times_valid(NOW,
		    NOW + HOUR, now));
	}
	free(der);
}

/* --- hostile bytes ------------------------------------------------------- */

static void
t_trailing_garbage(void **state)
{
	uint8_t *der, *longer;
	size_t len;

	(void)state;
	der = resp_leaf(V_OCSP_CERTSTATUS_GOOD, 0, &len);
	assert_non_null(longer = malloc(len + 1));
	memcpy(longer, der, len);
	longer[len] = 0x00;
	refused(longer, len + 1, pki.leaf, pki.ca, "1 bytes after");
	free(longer);
	free(der);
}

static void
t_truncated(void **state)
{
	struct revcheck_result r;
	uint8_t *der;
	size_t len, k;

	(void)state;
	der = resp_leaf(V_OCSP_CERTSTATUS_GOOD, 0, &len);
	for (k = 0; k < len; k++)
		assert_int_equal(check(der, k, &r), -1);
	assert_int_equal(check(der, len, &r), 0);
	free(der);
}

static void
t_bad_arguments(void **state)
{
	struct revcheck_result r;
	uint8_t *der;
	size_t len;

	(void)state;
	der = resp_leaf(V_OCSP_CERTSTATUS_GOOD, 0, &len);
	assert_int_equal(revcheck_ocsp(NULL, len, pki.leaf, pki.ca, NULL, NOW,
	    &r), -1);
	assert_int_equal(revcheck_ocsp(der, len, NULL, pki.ca, NULL, NOW, &r),
	    -1);
	assert_int_equal(revcheck_ocsp(der, len, pki.leaf, NULL, NULL, NOW,
	    &r), -1);
	assert_int_equal(revcheck_ocsp(der, REVCHECK_MAX_DER + 1, pki.leaf,
	    pki.ca, NULL, NOW, &r), -1);
	assert_int_equal(r.status, REVCHECK_UNVERIFIED);
	free(der);
	assert_string_equal(revcheck_status_name(REVCHECK_UNVERIFIED),
	    "unverified");
	assert_string_equal(revcheck_status_name(42), "unverified");
	assert_string_equal(revcheck_reason_name(-1), "(no reason given)");
	assert_string_equal(revcheck_reason_name(10), "aACompromise");
	assert_string_equal(revcheck_reason_name(11), "(unknown reason)");
}

/* The error queue the caller had is the one it gets back. */
static void
t_error_queue_kept(void **state)
{
	struct revcheck_result r;

	(void)state;
	ERR_clear_error();
	ERR_raise(ERR_LIB_X509, X509_R_CERT_ALREADY_IN_HASH_TABLE);
	assert_int_equal(revcheck_ocsp((const uint8_t *)"\x30\x00", 2,
	    pki.leaf, pki.ca, NULL, NOW, &r), -1);
	assert_int_equal(ERR_GET_REASON(ERR_get_error()),
	    X509_R_CERT_ALREADY_IN_HASH_TABLE);
	assert_int_equal(ERR_get_error(), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_good),
		cmocka_unit_test(t_revoked),
		cmocka_unit_test(t_unknown),
		cmocka_unit_test(t_response_status),
		cmocka_unit_test(t_signed_by_issuer),
		cmocka_unit_test(t_delegated),
		cmocka_unit_test(t_delegated_refused),
		cmocka_unit_test(t_bad_signature),
		cmocka_unit_test(t_other_serial),
		cmocka_unit_test(t_other_issuer),
		cmocka_unit_test(t_many_singles),
		cmocka_unit_test(t_sha256_certid),
		cmocka_unit_test(t_times),
		cmocka_unit_test(t_times_valid),
		cmocka_unit_test(t_times_agree),
		cmocka_unit_test(t_trailing_garbage),
		cmocka_unit_test(t_truncated),
		cmocka_unit_test(t_bad_arguments),
		cmocka_unit_test(t_error_queue_kept),
	};

	return cmocka_run_group_tests(tests, pki_setup, pki_teardown);
}
