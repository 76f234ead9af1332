/*
 * t_crl_ingest.c: CRL verification and table extraction (fetcherd/
 * crl_ingest.c).
 *
 * The CAs and every CRL are made here with OpenSSL's API (EC keys), at a
 * fixed NOW in the past, so a check that looked at the wall clock instead
 * of the "now" it is given fails.  Each CRL is copied into a buffer of
 * exactly its size so that ASan sees a read past the end, and every call
 * must leave OpenSSL's error queue as it found it.
 *
 * T_CRL_BIG (environment) sets the entries of the large CRL (1000000);
 * its ingest time is printed, not asserted.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crl_table.h"
#include "fetcherd/crl_ingest.h"
#include "testutil.h"

#define NOW		INT64_C(1700000000)	/* 2023-11-14 */
#define HOUR		3600
#define DAY		86400
#define NO_NEXT		INT64_MIN		/* crl_spec.next_off */
#define BIG_DEFAULT	1000000
#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

/* crl_spec.ext */
#define E_DELTA		0x0001	/* deltaCRLIndicator */
#define E_UNKNOWN_CRIT	0x0002	/* a critical extension nobody knows */
#define E_UNKNOWN	0x0004	/* the same, not critical */
#define E_IDP		0x0008	/* issuingDistributionPoint, critical */
#define E_IDP_INDIRECT	0x0010	/* ... with indirectCRL */
#define E_ENTRY_CRIT	0x0020	/* an entry with an unknown critical ext */
#define E_ENTRY_ISSUER	0x0040	/* an entry with a certificateIssuer */
#define E_FRESHEST_CRIT	0x0080	/* freshestCRL marked critical */
#define E_AKID_CRIT	0x0100	/* authorityKeyIdentifier, critical */

struct entry_spec {
	const char	*serial;	/* hex */
	int		 reason;	/* -1: no reason code */
	int64_t		 revoked_off;	/* from NOW */
};

struct crl_spec {
	X509			*issuer;	/* the name; NULL: ca */
	EVP_PKEY		*key;		/* signs; NULL: ca_key */
	int64_t			 this_off;	/* from NOW */
	int64_t			 next_off;	/* from NOW; NO_NEXT */
	const char		*number;	/* hex; NULL: none */
	unsigned		 ext;
	const struct entry_spec	*entries;
	size_t			 n;
};

struct blob {
	uint8_t		*p;
	size_t		 len;
};

static EVP_PKEY		*ca_key, *other_key, *noku_key;
static X509		*ca, *other_ca, *noku_ca, *ca_old;
static STACK_OF(X509)	*cas;		/* ca, noku_ca */
static STACK_OF(X509)	*cas_rollover;	/* ca_old (same name), ca */

static const struct entry_spec three[] = {
	{ "1001", 1, -DAY },		/* keyCompromise */
	{ "0A", -1, -2 * DAY },		/* no reason */
	{ "00FF00", 4, -HOUR },		/* superseded */
};

/* --- making CAs and CRLs ------------------------------------------------ */

static EVP_PKEY *
key_new(void)
{
	EVP_PKEY *k;

	assert_non_null(k = EVP_EC_gen("P-256"));
	return k;
}

static void
ext_add(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	assert_non_null(ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value));
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
}

/* A self-signed CA named cn; ku is its keyUsage value. */
static X509 *
ca_new(const char *cn, EVP_PKEY *key, const char *ku, long serial)
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
	assert_int_equal(X509_set_issuer_name(x, name), 1);
	X509_NAME_free(name);
	assert_non_null(X509_time_adj_ex(X509_getm_notBefore(x), -30, 0,
	    &now));
	assert_non_null(X509_time_adj_ex(X509_getm_notAfter(x), 365, 0,
	    &now));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	ext_add(x, NID_basic_constraints, "critical,CA:TRUE");
	ext_add(x, NID_key_usage, ku);
	ext_add(x, NID_subject_key_identifier, "hash");
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	return x;
}

static ASN1_INTEGER *
int_from_hex(const char *hex)
{
	ASN1_INTEGER *ai;
	BIGNUM *bn = NULL;

	assert_true(BN_hex2bn(&bn, hex) > 0);
	assert_non_null(ai = BN_to_ASN1_INTEGER(bn, NULL));
	BN_free(bn);
	return ai;
}

static ASN1_TIME *
time_at(int64_t t)
{
	ASN1_TIME *at;

	assert_non_null(at = ASN1_TIME_set(NULL, (time_t)t));
	return at;
}

/* An extension with an OID nobody knows and a DER NULL as its value. */
static X509_EXTENSION *
unknown_ext(int crit)
{
	static const unsigned char null_der[] = { 0x05, 0x00 };
	ASN1_OCTET_STRING *os;
	ASN1_OBJECT *obj;
	X509_EXTENSION *ext;

	assert_non_null(obj = OBJ_txt2obj("1.3.6.1.4.1.99999.7", 1));
	assert_non_null(os = ASN1_OCTET_STRING_new());
	assert_int_equal(ASN1_OCTET_STRING_set(os, null_der,
	    sizeof(null_der)), 1);
	assert_non_null(ext = X509_EXTENSION_create_by_OBJ(NULL, obj, crit,
	    os));
	ASN1_OBJECT_free(obj);
	ASN1_OCTET_STRING_free(os);
	return ext;
}

static X509_REVOKED *
revoked_new(const char *serial, int reason, int64_t when, unsigned ext)
{
	X509_REVOKED *r;
	ASN1_INTEGER *sn;
	ASN1_TIME *t;
	ASN1_ENUMERATED *e;
	X509_EXTENSION *x;
	GENERAL_NAMES *gens;
	GENERAL_NAME *gn;

	assert_non_null(r = X509_REVOKED_new());
	sn = int_from_hex(serial);
	assert_int_equal(X509_REVOKED_set_serialNumber(r, sn), 1);
	ASN1_INTEGER_free(sn);
	t = time_at(when);
	assert_int_equal(X509_REVOKED_set_revocationDate(r, t), 1);
	ASN1_TIME_free(t);
	if (reason >= 0) {
		assert_non_null(e = ASN1_ENUMERATED_new());
		assert_int_equal(ASN1_ENUMERATED_set(e, reason), 1);
		assert_int_equal(X509_REVOKED_add1_ext_i2d(r, NID_crl_reason,
		    e, 0, 0), 1);
		ASN1_ENUMERATED_free(e);
	}
	if (ext & E_ENTRY_CRIT) {
		x = unknown_ext(1);
		assert_int_equal(X509_REVOKED_add_ext(r, x, -1), 1);
		X509_EXTENSION_free(x);
	}
	if (ext & E_ENTRY_ISSUER) {
		assert_non_null(gens = sk_GENERAL_NAME_new_null());
		assert_non_null(gn = GENERAL_NAME_new());
		gn->type = GEN_DIRNAME;
		assert_non_null(gn->d.dirn = X509_NAME_dup(
		    X509_get_subject_name(other_ca)));
		assert_true(sk_GENERAL_NAME_push(gens, gn) > 0);
		assert_int_equal(X509_REVOKED_add1_ext_i2d(r,
		    NID_certificate_issuer, gens, 1, 0), 1);
		GENERAL_NAMES_free(gens);
	}
	return r;
}

static void
crl_exts(X509_CRL *crl, const struct crl_spec *s)
{
	ISSUING_DIST_POINT *idp;
	ASN1_INTEGER *ai;
	X509_EXTENSION *x;
	AUTHORITY_KEYID *akid;
	STACK_OF(DIST_POINT) *fresh;

	if (s->number != NULL) {
		ai = int_from_hex(s->number);
		assert_int_equal(X509_CRL_add1_ext_i2d(crl, NID_crl_number, ai,
		    0, 0), 1);
		ASN1_INTEGER_free(ai);
	}
	if (s->ext & E_DELTA) {
		ai = int_from_hex("01");
		assert_int_equal(X509_CRL_add1_ext_i2d(crl, NID_delta_crl, ai,
		    1, 0), 1);
		ASN1_INTEGER_free(ai);
	}
	if (s->ext & (E_UNKNOWN_CRIT | E_UNKNOWN)) {
		x = unknown_ext((s->ext & E_UNKNOWN_CRIT) != 0);
		assert_int_equal(X509_CRL_add_ext(crl, x, -1), 1);
		X509_EXTENSION_free(x);
	}
	if (s->ext & (E_IDP | E_IDP_INDIRECT)) {
		assert_non_null(idp = ISSUING_DIST_POINT_new());
		idp->onlyuser = 1;
		idp->indirectCRL = (s->ext & E_IDP_INDIRECT) != 0;
		assert_int_equal(X509_CRL_add1_ext_i2d(crl,
		    NID_issuing_distribution_point, idp, 1, 0), 1);
		ISSUING_DIST_POINT_free(idp);
	}
	if (s->ext & E_FRESHEST_CRIT) {
		assert_non_null(fresh = sk_DIST_POINT_new_null());
		assert_int_equal(X509_CRL_add1_ext_i2d(crl, NID_freshest_crl,
		    fresh, 1, 0), 1);
		sk_DIST_POINT_free(fresh);
	}
	if (s->ext & E_AKID_CRIT) {
		assert_non_null(akid = AUTHORITY_KEYID_new());
		assert_non_null(akid->keyid = ASN1_OCTET_STRING_new());
		assert_int_equal(ASN1_OCTET_STRING_set(akid->keyid,
		    (const unsigned char *)"0123456789abcdefghij", 20), 1);
		assert_int_equal(X509_CRL_add1_ext_i2d(crl,
		    NID_authority_key_identifier, akid, 1, 0), 1);
		AUTHORITY_KEYID_free(akid);
	}
}

/* Sign a CRL as s says; its DER (or PEM) in a buffer of exact size. */
static X509_CRL *
crl_make(const struct crl_spec *s)
{
	X509_CRL *crl;
	ASN1_TIME *t;
	size_t i;

	assert_non_null(crl = X509_CRL_new());
	assert_int_equal(X509_CRL_set_version(crl, 1), 1);
	assert_int_equal(X509_CRL_set_issuer_name(crl, X509_get_subject_name(
	    s->issuer != NULL ? s->issuer : ca)), 1);
	t = time_at(NOW + s->this_off);
	assert_int_equal(X509_CRL_set1_lastUpdate(crl, t), 1);
	ASN1_TIME_free(t);
	if (s->next_off != NO_NEXT) {
		t = time_at(NOW + s->next_off);
		assert_int_equal(X509_CRL_set1_nextUpdate(crl, t), 1);
		ASN1_TIME_free(t);
	}
	for (i = 0; i < s->n; i++)
		assert_int_equal(X509_CRL_add0_revoked(crl, revoked_new(
		    s->entries[i].serial, s->entries[i].reason,
		    NOW + s->entries[i].revoked_off, i == 0 ? s->ext : 0)), 1);
	crl_exts(crl, s);
	assert_true(X509_CRL_sign(crl, s->key != NULL ? s->key : ca_key,
	    EVP_sha256()) > 0);
	return crl;
}

static struct blob
crl_der(const struct crl_spec *s)
{
	X509_CRL *crl = crl_make(s);
	unsigned char *der = NULL;
	struct blob b;
	int n;

	assert_true((n = i2d_X509_CRL(crl, &der)) > 0);
	assert_non_null(b.p = malloc((size_t)n));
	memcpy(b.p, der, (size_t)n);
	b.len = (size_t)n;
	OPENSSL_free(der);
	X509_CRL_free(crl);
	return b;
}

static struct blob
crl_pem(const struct crl_spec *s, const char *after)
{
	X509_CRL *crl = crl_make(s);
	struct blob b;
	BIO *bio;
	char *p;
	long n;

	assert_non_null(bio = BIO_new(BIO_s_mem()));
	assert_int_equal(PEM_write_bio_X509_CRL(bio, crl), 1);
	if (after != NULL)
		assert_true(BIO_puts(bio, after) >= 0);
	n = BIO_get_mem_data(bio, &p);
	assert_true(n > 0);
	assert_non_null(b.p = malloc((size_t)n));
	memcpy(b.p, p, (size_t)n);
	b.len = (size_t)n;
	BIO_free(bio);
	X509_CRL_free(crl);
	return b;
}

/* --- checking ------------------------------------------------------------ */

static int
ingest(const struct blob *b, STACK_OF(X509) *with,
    const struct crl_table_header *prev, struct crl_ingest_result *r)
{
	int rc;

	rc = crl_ingest(b->p, b->len, with, NOW, prev, r);
	assert_int_equal(ERR_peek_error(), 0);
	assert_non_null(memchr(r->reason, '\0', sizeof(r->reason)));
	if (rc == 0)
		assert_string_equal(r->reason, "");
	else {
		assert_int_equal(rc, -1);
		assert_true(r->reason[0] != '\0');
		assert_null(r->entries);
		assert_int_equal(r->n, 0);
	}
	return rc;
}

/* Refused, and the reason says so. */
static void
refused(const struct crl_spec *s, const struct crl_table_header *prev,
    const char *why)
{
	struct crl_ingest_result r;
	struct blob b = crl_der(s);

	assert_int_equal(ingest(&b, cas, prev, &r), -1);
	if (strstr(r.reason, why) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", r.reason, why);
	free(b.p);
}

static void
accepted(const struct crl_spec *s, const struct crl_table_header *prev,
    struct crl_ingest_result *r)
{
	struct blob b = crl_der(s);

	if (ingest(&b, cas, prev, r) != 0)
		fail_msg("refused: %s", r->reason);
	free(b.p);
}

static void
issuer_id_of(X509 *x, uint8_t id[SNAP_ID_LEN])
{
	unsigned char *der = NULL;
	unsigned int n;
	int len;

	assert_true((len = i2d_X509_NAME(X509_get_subject_name(x), &der)) >
	    0);
	assert_int_equal(EVP_Digest(der, (size_t)len, id, &n, EVP_sha256(),
	    NULL), 1);
	OPENSSL_free(der);
}

static void
entry_is(const struct crl_entry *e, const char *hex, int reason,
    int64_t revoked_at)
{
	BIGNUM *bn = NULL;
	uint8_t want[CRL_SERIAL_MAX + 8];
	int n;

	assert_true(BN_hex2bn(&bn, hex) > 0);
	n = BN_bn2bin(bn, want);
	BN_free(bn);
	assert_int_equal(e->serial_len, n);
	assert_memory_equal(e->serial, want, (size_t)n);
	assert_int_equal(e->reason, reason < 0 ? CRL_TABLE_REASON_NONE : reason);
	assert_int_equal(e->revoked_at, revoked_at);
}

/* The three entries of three[], in table order. */
static void
three_entries(const struct crl_ingest_result *r)
{
	assert_int_equal(r->n, 3);
	entry_is(&r->entries[0], "0A", -1, NOW - 2 * DAY);
	entry_is(&r->entries[1], "1001", 1, NOW - DAY);
	entry_is(&r->entries[2], "00FF00", 4, NOW - HOUR);
}

static struct crl_spec
spec_good(void)
{
	struct crl_spec s = {
		.this_off = -HOUR, .next_off = 6 * DAY, .number = "05",
		.entries = three, .n = NITEMS(three),
	};

	return s;
}

/* --- tests --------------------------------------------------------------- */

static void
t_good_der(void **state)
{
	struct crl_spec s = spec_good();
	struct crl_ingest_result r;
	uint8_t id[SNAP_ID_LEN];
	char dir[] = "/tmp/t_crl_ingest.XXXXXX";
	struct crl_table_header h;
	struct crl_table *t;
	const struct crl_entry *e;
	uint8_t tid[SNAP_ID_LEN], sn[] = { 0x10, 0x01 }, nope[] = { 0x0b };
	char err[256], name[80], path[200];

	(void)state;
	accepted(&s, NULL, &r);
	three_entries(&r);
	issuer_id_of(ca, id);
	assert_memory_equal(r.issuer_id, id, SNAP_ID_LEN);
	assert_non_null(strstr(r.issuer, "CN=test CA"));
	assert_int_equal(r.this_update, NOW - HOUR);
	assert_int_equal(r.next_update, NOW + 6 * DAY);
	assert_int_equal(r.number_len, 1);
	assert_int_equal(r.number[0], 5);
	assert_false(r.unchanged);
	assert_false(r.expired);
	assert_int_equal(r.skipped, 0);

	/* What it gives makes a table that brokers can open and search. */
	crl_ingest_header(&r, &h);
	assert_int_equal(h.count, 3);
	assert_int_equal(h.crl_number_len, 1);
	assert_non_null(mkdtemp(dir));
	assert_int_equal(crl_table_write(dir, &h, r.entries, r.n, tid), 0);
	assert_non_null(t = crl_table_open(dir, tid, err, sizeof(err)));
	assert_non_null(e = crl_table_lookup(t, sn, sizeof(sn)));
	assert_int_equal(e->reason, 1);
	assert_null(crl_table_lookup(t, nope, sizeof(nope)));
	assert_int_equal(crl_table_header(t)->this_update, NOW - HOUR);
	crl_table_close(t);
	crl_table_name(tid, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
	crl_ingest_result_free(&r);
}

static void
t_good_pem(void **state)
{
	struct crl_spec s = spec_good();
	struct crl_ingest_result r;
	struct blob b;

	(void)state;
	b = crl_pem(&s, NULL);
	assert_int_equal(ingest(&b, cas, NULL, &r), 0);
	three_entries(&r);
	crl_ingest_result_free(&r);
	free(b.p);
	/* Leading text and trailing blank lines are allowed ... */
	b = crl_pem(&s, "\n\r\n  \n");
	assert_int_equal(ingest(&b, cas, NULL, &r), 0);
	crl_ingest_result_free(&r);
	free(b.p);
	/* ... a second block or anything else after it is not. */
	b = crl_pem(&s, "-----BEGIN X509 CRL-----\nAAAA\n"
	    "-----END X509 CRL-----\n");
	assert_int_equal(ingest(&b, cas, NULL, &r), -1);
	assert_non_null(strstr(r.reason, "more than one"));
	free(b.p);
	b = crl_pem(&s, "x");
	assert_int_equal(ingest(&b, cas, NULL, &r), -1);
	free(b.p);
}

static void
t_der_trailing(void **state)
{
	struct crl_spec s = spec_good();
	struct crl_ingest_result r;
	struct blob b = crl_der(&s);
	uint8_t *p;

	(void)state;
	assert_non_null(p = malloc(b.len + 1));
	memcpy(p, b.p, b.len);
	p[b.len] = 0;
	free(b.p);
	b.p = p;
	b.len++;
	assert_int_equal(ingest(&b, cas, NULL, &r), -1);
	assert_non_null(strstr(r.reason, "after the DER"));
	free(b.p);
}

static void
t_wrong_signer(void **state)
{
	struct crl_spec s = spec_good();

	(void)state;
	s.key = other_key;		/* ca's name, another key */
	refused(&s, NULL, "signature does not verify");
}

static void
t_issuer_unknown(void **state)
{
	struct crl_spec s = spec_good();

	(void)state;
	s.issuer = other_ca;
	s.key = other_key;
	refused(&s, NULL, "not among the configured CAs");
}

static void
t_issuer_may_not_sign_crls(void **state)
{
	struct crl_spec s = spec_good();

	(void)state;
	s.issuer = noku_ca;
	s.key = noku_key;
	refused(&s, NULL, "may not sign CRLs");
}

/* Two CAs of one name (a key rollover): the one whose key verifies. */
static void
t_rollover(void **state)
{
	struct crl_spec s = spec_good();
	struct crl_ingest_result r;
	struct blob b = crl_der(&s);

	(void)state;
	assert_int_equal(ingest(&b, cas_rollover, NULL, &r), 0);
	three_entries(&r);
	crl_ingest_result_free(&r);
	free(b.p);
}

static void
t_times(void **state)
{
	struct crl_spec s = spec_good();
	struct crl_ingest_result r;

	(void)state;
	s.this_off = CRL_INGEST_SKEW + 1;
	refused(&s, NULL, "in the future");
	s.this_off = CRL_INGEST_SKEW;		/* skew allowed */
	accepted(&s, NULL, &r);
	crl_ingest_result_free(&r);
	s.this_off = -HOUR;
	s.next_off = -2 * HOUR;
	refused(&s, NULL, "nextUpdate is not after thisUpdate");
	s.next_off = -HOUR;
	refused(&s, NULL, "nextUpdate is not after thisUpdate");
	/* Past nextUpdate: still what the CA says, and brokers judge. */
	s.this_off = -2 * DAY;
	s.next_off = -DAY;
	accepted(&s, NULL, &r);
	assert_true(r.expired);
	assert_int_equal(r.next_update, NOW - DAY);
	crl_ingest_result_free(&r);
}

/* RFC 5280 wants nextUpdate; without it, the refresh interval rules. */
static void
t_no_next_update(void **state)
{
	struct crl_spec s = spec_good();
	struct crl_ingest_result r;

	(void)state;
	s.next_off = NO_NEXT;
	accepted(&s, NULL, &r);
	assert_int_equal(r.next_update, 0);
	assert_false(r.expired);
	three_entries(&r);
	crl_ingest_result_free(&r);
}

static void
t_crl_number(void **state)
{
	struct crl_spec s = spec_good();
	struct crl_ingest_result r;
	struct crl_table_header prev;

	(void)state;
	s.number = "0100";
	accepted(&s, NULL, &r);
	crl_ingest_header(&r, &prev);
	crl_ingest_result_free(&r);
	assert_int_equal(prev.crl_number_len, 2);

	s.number = "FF";		/* shorter: lower */
	refused(&s, &prev, "lower");
	s.number = "00FF";
	refused(&s, &prev, "lower");
	s.number = "0100";		/* equal: the same CRL again */
	accepted(&s, &prev, &r);
	assert_true(r.unchanged);
	assert_int_equal(r.n, 0);
	assert_null(r.entries);
	assert_int_equal(r.this_update, NOW - HOUR);
	crl_ingest_result_free(&r);
	s.number = "0101";
	accepted(&s, &prev, &r);
	assert_false(r.unchanged);
	three_entries(&r);
	crl_ingest_result_free(&r);
	s.number = "010000000000000000000000000000000000000000"; /* 21 */
	refused(&s, NULL, "longer than");
	s.number = "-01";
	refused(&s, NULL, "negative");

	/* No numbers to compare: an older thisUpdate is refused. */
	s.number = NULL;
	prev.this_update = NOW;
	refused(&s, &prev, "older than");
	prev.this_update = NOW - HOUR;
	accepted(&s, &prev, &r);
	assert_false(r.unchanged);
	crl_ingest_result_free(&r);
	prev.crl_number_len = 0;
	s.number = "01";
	prev.this_update = NOW;
	refused(&s, &prev, "older than");
}

static void
t_delta_refused(void **state)
{
	struct crl_spec s = spec_good();

	(void)state;
	s.ext = E_DELTA;
	refused(&s, NULL, "delta CRL");
}

static void
t_extensions(void **state)
{
	struct crl_spec s = spec_good();
	struct crl_ingest_result r;

	(void)state;
	s.ext = E_UNKNOWN_CRIT;
	refused(&s, NULL, "unknown critical extension");
	s.ext = E_FRESHEST_CRIT;
	refused(&s, NULL, "unknown critical extension freshestCRL");
	s.ext = E_UNKNOWN;
	accepted(&s, NULL, &r);
	three_entries(&r);
	crl_ingest_result_free(&r);
	s.ext = E_IDP | E_AKID_CRIT;
	accepted(&s, NULL, &r);
	three_entries(&r);
	crl_ingest_result_free(&r);
	s.ext = E_IDP_INDIRECT;
	refused(&s, NULL, "indirect");
	s.ext = E_ENTRY_CRIT;
	refused(&s, NULL, "unknown critical");
	s.ext = E_ENTRY_ISSUER;
	refused(&s, NULL, "certificateIssuer");
}

static void
t_long_serial_skipped(void **state)
{
	static const struct entry_spec e[] = {
		{ "01", 0, -HOUR },
		/* 21 octets: no certificate may carry it */
		{ "0102030405060708090A0B0C0D0E0F101112131415", 1, -HOUR },
		/* 20 octets, the most there is */
		{ "7102030405060708090A0B0C0D0E0F1011121314", 2, -HOUR },
		{ "-05", 1, -HOUR },	/* negative */
	};
	struct crl_spec s = spec_good();
	struct crl_ingest_result r;

	(void)state;
	s.entries = e;
	s.n = NITEMS(e);
	accepted(&s, NULL, &r);
	assert_int_equal(r.skipped, 2);
	assert_int_equal(r.n, 2);
	entry_is(&r.entries[0], "01", 0, NOW - HOUR);
	entry_is(&r.entries[1], "7102030405060708090A0B0C0D0E0F1011121314",
	    2, NOW - HOUR);
	crl_ingest_result_free(&r);
}

/* Codes RFC 5280 does not define still revoke: as unspecified. */
static void
t_reasons(void **state)
{
	static const struct entry_spec e[] = {
		{ "01", 0, -HOUR },	/* unspecified */
		{ "02", 7, -HOUR },	/* unused value 7 */
		{ "03", 10, -HOUR },	/* aACompromise */
		{ "04", 11, -HOUR },	/* not defined */
		{ "05", 100, -HOUR },
	};
	struct crl_spec s = spec_good();
	struct crl_ingest_result r;
	char why[128];
	size_t i;

	(void)state;
	s.entries = e;
	s.n = NITEMS(e);
	accepted(&s, NULL, &r);
	assert_int_equal(r.n, 5);
	entry_is(&r.entries[0], "01", 0, NOW - HOUR);
	entry_is(&r.entries[1], "02", 7, NOW - HOUR);
	entry_is(&r.entries[2], "03", 10, NOW - HOUR);
	entry_is(&r.entries[3], "04", 0, NOW - HOUR);
	entry_is(&r.entries[4], "05", 0, NOW - HOUR);
	for (i = 0; i < r.n; i++)
		assert_int_equal(crl_entry_check(&r.entries[i], why,
		    sizeof(why)), 0);
	crl_ingest_result_free(&r);
}

static void
t_duplicates(void **state)
{
	static const struct entry_spec e[] = {
		{ "22", 1, -HOUR },
		{ "11", -1, -HOUR },
		{ "22", 4, -DAY },	/* earlier: kept */
		{ "22", 5, -HOUR },
	};
	struct crl_spec s = spec_good();
	struct crl_ingest_result r;

	(void)state;
	s.entries = e;
	s.n = NITEMS(e);
	accepted(&s, NULL, &r);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.duplicates, 2);
	entry_is(&r.entries[0], "11", -1, NOW - HOUR);
	entry_is(&r.entries[1], "22", 4, NOW - DAY);
	crl_ingest_result_free(&r);
}

static void
t_empty_crl(void **state)
{
	struct crl_spec s = spec_good();
	struct crl_ingest_result r;

	(void)state;
	s.n = 0;
	accepted(&s, NULL, &r);
	assert_int_equal(r.n, 0);
	assert_null(r.entries);
	crl_ingest_result_free(&r);
}

/* Every prefix of a good CRL, and bytes that are no CRL at all. */
static void
t_truncated_and_garbage(void **state)
{
	struct crl_spec s = spec_good();
	struct crl_ingest_result r;
	struct blob der = crl_der(&s), pem = crl_pem(&s, NULL), b;
	uint8_t junk[4096];
	size_t len, i;

	(void)state;
	for (len = 0; len < der.len; len++) {
		assert_non_null(b.p = malloc(len + 1));
		memcpy(b.p, der.p, len);
		b.len = len;
		assert_int_equal(ingest(&b, cas, NULL, &r), -1);
		free(b.p);
	}
	/* PEM cut short: up to where only blanks would be missing. */
	for (len = 0; len + 2 < pem.len; len += 7) {
		assert_non_null(b.p = malloc(len + 1));
		memcpy(b.p, pem.p, len);
		b.len = len;
		assert_int_equal(ingest(&b, cas, NULL, &r), -1);
		free(b.p);
	}
	/* Each byte of the signed part changed: never accepted. */
	for (i = 0; i < der.len; i += 3) {
		assert_non_null(b.p = malloc(der.len));
		memcpy(b.p, der.p, der.len);
		b.p[i] ^= 0x41;
		b.len = der.len;
		if (ingest(&b, cas, NULL, &r) == 0) {
			/* Only an unsigned byte may change harmlessly. */
			three_entries(&r);
			crl_ingest_result_free(&r);
		}
		free(b.p);
	}
	srandom(7);
	for (len = 1; len <= sizeof(junk); len *= 2) {
		for (i = 0; i < len; i++)
			junk[i] = (uint8_t)random();
		junk[0] = 0x30;
		b.p = junk;
		b.len = len;
		assert_int_equal(ingest(&b, cas, NULL, &r), -1);
	}
	b.p = (uint8_t *)"-----BEGIN X509 CRL-----\n";
	b.len = strlen((char *)b.p);
	assert_int_equal(ingest(&b, cas, NULL, &r), -1);
	free(der.p);
	free(pem.p);
}

/* The caller's pending OpenSSL errors are left alone. */
static void
t_error_queue_kept(void **state)
{
	struct crl_ingest_result r;
	uint8_t junk[] = { 0x30, 0x03, 0x02, 0x01 };

	(void)state;
	ERR_raise(ERR_LIB_X509, X509_R_CERT_ALREADY_IN_HASH_TABLE);
	assert_int_equal(crl_ingest(junk, sizeof(junk), cas, NOW, NULL, &r),
	    -1);
	assert_int_equal(ERR_GET_REASON(ERR_get_error()),
	    X509_R_CERT_ALREADY_IN_HASH_TABLE);
	assert_int_equal(ERR_peek_error(), 0);
}

/* A CRL the size of a large fleet's: how long the ingest takes. */
static void
t_big(void **state)
{
	const char *env = getenv("T_CRL_BIG");
	size_t n = env != NULL ? strtoul(env, NULL, 10) : BIG_DEFAULT, i;
	struct crl_ingest_result r;
	struct timespec t0;
	X509_CRL *crl;
	X509_REVOKED *rv;
	ASN1_INTEGER *sn;
	ASN1_TIME *t;
	ASN1_ENUMERATED *e;
	unsigned char *der = NULL;
	int len;

	(void)state;
	assert_non_null(crl = X509_CRL_new());
	assert_int_equal(X509_CRL_set_version(crl, 1), 1);
	assert_int_equal(X509_CRL_set_issuer_name(crl,
	    X509_get_subject_name(ca)), 1);
	t = time_at(NOW - HOUR);
	assert_int_equal(X509_CRL_set1_lastUpdate(crl, t), 1);
	ASN1_TIME_free(t);
	t = time_at(NOW + DAY);
	assert_int_equal(X509_CRL_set1_nextUpdate(crl, t), 1);
	ASN1_TIME_free(t);
	assert_non_null(e = ASN1_ENUMERATED_new());
	assert_int_equal(ASN1_ENUMERATED_set(e, 1), 1);
	assert_non_null(sn = ASN1_INTEGER_new());
	assert_non_null(t = time_at(NOW - DAY));
	for (i = 0; i < n; i++) {
		assert_non_null(rv = X509_REVOKED_new());
		/* 16-octet serials in no particular order, as CAs make. */
		assert_int_equal(ASN1_INTEGER_set_uint64(sn,
		    (UINT64_C(0x9E3779B97F4A7C15) * (i + 1)) | (UINT64_C(1) <<
		    62)), 1);
		assert_int_equal(X509_REVOKED_set_serialNumber(rv, sn), 1);
		assert_int_equal(X509_REVOKED_set_revocationDate(rv, t), 1);
		assert_int_equal(X509_REVOKED_add1_ext_i2d(rv, NID_crl_reason,
		    e, 0, 0), 1);
		assert_int_equal(X509_CRL_add0_revoked(crl, rv), 1);
	}
	ASN1_TIME_free(t);
	ASN1_INTEGER_free(sn);
	ASN1_ENUMERATED_free(e);
	assert_true(X509_CRL_sign(crl, ca_key, EVP_sha256()) > 0);
	assert_true((len = i2d_X509_CRL(crl, &der)) > 0);
	X509_CRL_free(crl);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (crl_ingest(der, (size_t)len, cas, NOW, NULL, &r) != 0)
		fail_msg("refused: %s", r.reason);
	printf("# %zu-entry CRL (%d bytes): ingested in %.3f s\n", n, len,
	    seconds_since(&t0));
	assert_int_equal(r.n, n);
	for (i = 1; i < r.n; i++)
		assert_true(crl_entry_cmp(&r.entries[i - 1], &r.entries[i]) <
		    0);
	crl_ingest_result_free(&r);
	OPENSSL_free(der);
}

static void
t_result_free_null(void **state)
{
	(void)state;
	crl_ingest_result_free(NULL);
}

/* --- setup --------------------------------------------------------------- */

static int
setup(void **state)
{
	(void)state;
	ca_key = key_new();
	other_key = key_new();
	noku_key = key_new();
	ca = ca_new("test CA", ca_key, "critical,keyCertSign,cRLSign", 1);
	ca_old = ca_new("test CA", other_key, "critical,keyCertSign,cRLSign",
	    2);
	other_ca = ca_new("other CA", other_key,
	    "critical,keyCertSign,cRLSign", 3);
	noku_ca = ca_new("no crl CA", noku_key, "critical,keyCertSign", 4);
	assert_non_null(cas = sk_X509_new_null());
	assert_true(sk_X509_push(cas, ca) > 0);
	assert_true(sk_X509_push(cas, noku_ca) > 0);
	assert_non_null(cas_rollover = sk_X509_new_null());
	assert_true(sk_X509_push(cas_rollover, ca_old) > 0);
	assert_true(sk_X509_push(cas_rollover, ca) > 0);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	sk_X509_free(cas);
	sk_X509_free(cas_rollover);
	X509_free(ca);
	X509_free(ca_old);
	X509_free(other_ca);
	X509_free(noku_ca);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(other_key);
	EVP_PKEY_free(noku_key);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_good_der),
		cmocka_unit_test(t_good_pem),
		cmocka_unit_test(t_der_trailing),
		cmocka_unit_test(t_wrong_signer),
		cmocka_unit_test(t_issuer_unknown),
		cmocka_unit_test(t_issuer_may_not_sign_crls),
		cmocka_unit_test(t_rollover),
		cmocka_unit_test(t_times),
		cmocka_unit_test(t_no_next_update),
		cmocka_unit_test(t_crl_number),
		cmocka_unit_test(t_delta_refused),
		cmocka_unit_test(t_extensions),
		cmocka_unit_test(t_long_serial_skipped),
		cmocka_unit_test(t_reasons),
		cmocka_unit_test(t_duplicates),
		cmocka_unit_test(t_empty_crl),
		cmocka_unit_test(t_truncated_and_garbage),
		cmocka_unit_test(t_error_queue_kept),
		cmocka_unit_test(t_result_free_null),
		cmocka_unit_test(t_big),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
