/*
 * crl_ingest.c: may this CRL be trusted, and what does it list?  The one
 * place that says so (the rules are written out in crl_ingest.h).
 *
 * Why not just d2i_X509_CRL() and X509_CRL_verify(): for a CRL of a
 * million entries OpenSSL's decoder makes some ten objects per entry,
 * ~490 MB and as long as `openssl crl -noout` takes, and as long again
 * to free them.  So the work is split:
 *   - a small DER walker finds the parts of the CertificateList (crl_split);
 *   - OpenSSL decodes a copy without the revokedCertificates (crl_headers):
 *     issuer, times and extensions are read by OpenSSL's own code;
 *   - the signature is verified by OpenSSL (ASN1_item_verify) over the
 *     tbsCertList exactly as received, as X509_CRL_verify would;
 *   - only then are the entries read, by the walker, straight into the
 *     table's records, and sorted by a radix sort.
 * The walker is strict (definite lengths, no trailing bytes, the tags the
 * grammar of RFC 5280 5.1 allows) and bounds-checked on every step; the
 * fuzzer drives it through crl_ingest_entries() too, since it cannot sign.
 *
 * The order of the checks matters for the log: the signature comes first,
 * so a forged CRL is reported as forged and never for its dates.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crl_ingest.h"
#include "crl_table.h"

/* DER tags of RFC 5280's CertificateList grammar. */
#define DER_BOOLEAN	0x01
#define DER_INTEGER	0x02
#define DER_BITSTRING	0x03
#define DER_OCTETSTRING	0x04
#define DER_OID		0x06
#define DER_ENUMERATED	0x0a
#define DER_UTCTIME	0x17
#define DER_GENTIME	0x18
#define DER_SEQUENCE	0x30
#define DER_CTX0	0xa0		/* [0] EXPLICIT, constructed */
#define DER_HIGH_TAG	0x1f		/* multi-byte tags: none here */
#define DER_LONG_LEN	0x80
#define DER_LEN_OCTETS	4		/* lengths up to 4 GiB */
#define DER_MIN_ENTRY	2		/* bytes: an empty SEQUENCE */

#define CRL_SORT_SMALL	32		/* insertion sort below this */
#define CRL_REASON_UNSPECIFIED	0	/* CRLReason unspecified */
#define CRL_KEY_BYTES	(1 + CRL_SERIAL_MAX)	/* length, then serial */

/* Extension OIDs (content octets) that entries may carry. */
static const uint8_t oid_reason[] = { 0x55, 0x1d, 0x15 };
static const uint8_t oid_hold[] = { 0x55, 0x1d, 0x17 };
static const uint8_t oid_invalidity[] = { 0x55, 0x1d, 0x18 };
static const uint8_t oid_cert_issuer[] = { 0x55, 0x1d, 0x1d };

/* One DER element inside a buffer; nothing owned. */
struct der {
	const uint8_t	*p;		/* the element: tag, length, content */
	size_t		 len;
	const uint8_t	*c;		/* its content */
	size_t		 clen;
	uint8_t		 tag;
};

/* The parts of a CertificateList, pointing into the caller's bytes. */
struct crl_parts {
	struct der	 tbs;		/* tbsCertList, as signed */
	struct der	 tbs_alg;	/* tbsCertList.signature */
	struct der	 alg;		/* signatureAlgorithm */
	struct der	 sig;		/* signatureValue */
	struct der	 revoked;	/* revokedCertificates; len 0: none */
};

static void	 crl_fail(struct crl_ingest_result *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static int	 der_get(const uint8_t **, const uint8_t *, struct der *);
static int	 der_peek(const uint8_t *, const uint8_t *);
static int	 der_expect(const uint8_t **, const uint8_t *, uint8_t,
		    struct der *);
static size_t	 der_len_size(size_t);
static uint8_t	*der_put_len(uint8_t *, size_t);
static int	 der_digits(const uint8_t *, size_t, int *);
static int64_t	 days_from_civil(int64_t, int, int);
static int	 der_time(const struct der *, int64_t *);
static int	 asn1_time(const ASN1_TIME *, int64_t *);
static bool	 crl_is_space(uint8_t);
static int	 crl_unpem(const uint8_t *, size_t, uint8_t **, long *,
		    struct crl_ingest_result *);
static int	 crl_split(const uint8_t *, size_t, struct crl_parts *,
		    struct crl_ingest_result *);
static X509_CRL	*crl_headers(const struct crl_parts *,
		    struct crl_ingest_result *);
static int	 crl_verify(X509_CRL *, const struct crl_parts *, X509 *);
static int	 crl_issuer(X509_CRL *, const struct crl_parts *,
		    STACK_OF(X509) *, struct crl_ingest_result *);
static int	 crl_extensions(X509_CRL *, struct crl_ingest_result *);
static int	 crl_times(X509_CRL *, int64_t, struct crl_ingest_result *);
static int	 crl_number(X509_CRL *, const struct crl_table_header *,
		    struct crl_ingest_result *);
static bool	 oid_is(const struct der *, const uint8_t *, size_t);
static int	 entry_exts(const struct der *, int *,
		    struct crl_ingest_result *);
static int	 entry_read(const struct der *, struct crl_entry *,
		    struct crl_ingest_result *);
static unsigned	 entry_key(const struct crl_entry *, size_t);
static void	 entry_swap(struct crl_entry *, struct crl_entry *);
static void	 crl_sort_small(struct crl_entry *, size_t);
static void	 crl_sort(struct crl_entry *, size_t, size_t);
static void	 crl_dedupe(struct crl_ingest_result *);

static void
crl_fail(struct crl_ingest_result *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
}

/* --- the DER walker ------------------------------------------------------ */

/*
 * The element at *pp, which must end by end; *pp moves past it.  Definite
 * lengths only (DER), in at most DER_LEN_OCTETS octets.  0 or -1.
 */
static int
der_get(const uint8_t **pp, const uint8_t *end, struct der *e)
{
	const uint8_t *p = *pp;
	size_t n, len, i;

	if (end - p < 2)
		return -1;
	e->p = p;
	e->tag = *p++;
	if ((e->tag & DER_HIGH_TAG) == DER_HIGH_TAG)
		return -1;
	n = *p++;
	if (n & DER_LONG_LEN) {
		n &= ~(size_t)DER_LONG_LEN;
		if (n == 0 || n > DER_LEN_OCTETS || (size_t)(end - p) < n)
			return -1;
		for (len = 0, i = 0; i < n; i++)
			len = len << 8 | *p++;
	} else
		len = n;
	if (len > (size_t)(end - p))
		return -1;
	e->c = p;
	e->clen = len;
	e->len = (size_t)(p - e->p) + len;
	*pp = p + len;
	return 0;
}

/* The tag at p, or -1 at the end. */
static int
der_peek(const uint8_t *p, const uint8_t *end)
{
	return p < end ? *p : -1;
}

static int
der_expect(const uint8_t **pp, const uint8_t *end, uint8_t tag,
    struct der *e)
{
	if (der_get(pp, end, e) == -1 || e->tag != tag)
		return -1;
	return 0;
}

static size_t
der_len_size(size_t len)
{
	size_t n = 1;

	if (len < DER_LONG_LEN)
		return 1;
	for (; len > 0; len >>= 8)
		n++;
	return n;
}

static uint8_t *
der_put_len(uint8_t *o, size_t len)
{
	size_t n = der_len_size(len) - 1, i;

	if (n == 0) {
		*o++ = (uint8_t)len;
		return o;
	}
	*o++ = (uint8_t)(DER_LONG_LEN | n);
	for (i = n; i > 0; i--)
		*o++ = (uint8_t)(len >> (8 * (i - 1)));
	return o;
}

/* n decimal digits at p into *v; -1 if one is not a digit. */
static int
der_digits(const uint8_t *p, size_t n, int *v)
{
	size_t i;

	for (*v = 0, i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		*v = *v * 10 + (p[i] - '0');
	}
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/*
 * A revocationDate in the forms RFC 5280 4.1.2.5 allows: UTCTime
 * YYMMDDHHMMSSZ (years 1950-2049) or GeneralizedTime YYYYMMDDHHMMSSZ.
 */
static int
der_time(const struct der *t, int64_t *out)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	const uint8_t *p = t->c;
	int y, mo, d, h, mi, s, ylen;

	ylen = t->tag == DER_UTCTIME ? 2 : 4;
	if ((t->tag != DER_UTCTIME && t->tag != DER_GENTIME) ||
	    t->clen != (size_t)ylen + 11 || p[t->clen - 1] != 'Z' ||
	    der_digits(p, ylen, &y) == -1 ||
	    der_digits(p + ylen, 2, &mo) == -1 ||
	    der_digits(p + ylen + 2, 2, &d) == -1 ||
	    der_digits(p + ylen + 4, 2, &h) == -1 ||
	    der_digits(p + ylen + 6, 2, &mi) == -1 ||
	    der_digits(p + ylen + 8, 2, &s) == -1)
		return -1;
	if (ylen == 2)
		y += y < 50 ? 2000 : 1900;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 ||
	    mi > 59 || s > 59 || (mo == 2 && d == 29 &&
	    (y % 4 != 0 || (y % 100 == 0 && y % 400 != 0))))
		return -1;
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
	return 0;
}

/* The same for the few times OpenSSL decoded (thisUpdate, nextUpdate). */
static int
asn1_time(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*out = days_from_civil((int64_t)tm.tm_year + 1900, tm.tm_mon + 1,
	    tm.tm_mday) * 86400 + tm.tm_hour * 3600 + tm.tm_min * 60 +
	    tm.tm_sec;
	return 0;
}

/* --- the CertificateList ------------------------------------------------- */

static bool
crl_is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * A PEM CRL ("-----BEGIN X509 CRL-----", text before it allowed) into
 * DER (*der, OPENSSL_malloc'ed); nothing but blanks after it.
 */
static int
crl_unpem(const uint8_t *buf, size_t len, uint8_t **der, long *dlen,
    struct crl_ingest_result *out)
{
	char *name = NULL, *header = NULL, *rest;
	unsigned char *data = NULL;
	BIO *bio;
	long n, i;
	int rc = -1;

	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		crl_fail(out, "out of memory");
		return -1;
	}
	if (PEM_read_bio(bio, &name, &header, &data, dlen) != 1)
		crl_fail(out, "not a DER or PEM CRL");
	else if (strcmp(name, PEM_STRING_X509_CRL) != 0)
		crl_fail(out, "a PEM \"%.40s\", not an X509 CRL", name);
	else {
		n = BIO_get_mem_data(bio, &rest);
		for (i = 0; i < n && crl_is_space((uint8_t)rest[i]); i++)
			;
		if (i < n)
			crl_fail(out, "more than one PEM block");
		else
			rc = 0;
	}
	if (rc == 0) {
		*der = data;
		data = NULL;
	}
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(data);
	BIO_free(bio);
	return rc;
}

/*
 * CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm,
 * signatureValue }, and in tbsCertList: version?, signature, issuer,
 * thisUpdate, nextUpdate?, revokedCertificates?, [0] crlExtensions?.
 * Nothing else, nothing after.  The two algorithm identifiers must be the
 * same bytes (RFC 5280 5.1.1.2).
 */
static int
crl_split(const uint8_t *der, size_t len, struct crl_parts *cp,
    struct crl_ingest_result *out)
{
	const uint8_t *p = der, *end = der + len, *q, *qe;
	struct der outer, e;
	int tag;

	memset(cp, 0, sizeof(*cp));
	if (der_expect(&p, end, DER_SEQUENCE, &outer) == -1) {
		crl_fail(out, "not a DER or PEM CRL");
		return -1;
	}
	if (p != end) {
		crl_fail(out, "%zu bytes after the DER CRL", (size_t)(end - p));
		return -1;
	}
	q = outer.c;
	qe = q + outer.clen;
	if (der_expect(&q, qe, DER_SEQUENCE, &cp->tbs) == -1 ||
	    der_expect(&q, qe, DER_SEQUENCE, &cp->alg) == -1 ||
	    der_expect(&q, qe, DER_BITSTRING, &cp->sig) == -1 || q != qe)
		goto bad;
	q = cp->tbs.c;
	qe = q + cp->tbs.clen;
	if (der_peek(q, qe) == DER_INTEGER && der_get(&q, qe, &e) == -1)
		goto bad;
	if (der_expect(&q, qe, DER_SEQUENCE, &cp->tbs_alg) == -1 ||
	    der_expect(&q, qe, DER_SEQUENCE, &e) == -1 ||
	    der_get(&q, qe, &e) == -1 ||
	    (e.tag != DER_UTCTIME && e.tag != DER_GENTIME))
		goto bad;
	if (((tag = der_peek(q, qe)) == DER_UTCTIME || tag == DER_GENTIME) &&
	    der_get(&q, qe, &e) == -1)
		goto bad;
	if (der_peek(q, qe) == DER_SEQUENCE &&
	    der_get(&q, qe, &cp->revoked) == -1)
		goto bad;
	if (der_peek(q, qe) == DER_CTX0 && der_get(&q, qe, &e) == -1)
		goto bad;
	if (q != qe)
		goto bad;
	if (cp->alg.len != cp->tbs_alg.len ||
	    memcmp(cp->alg.p, cp->tbs_alg.p, cp->alg.len) != 0) {
		crl_fail(out, "the two signature algorithms differ");
		return -1;
	}
	return 0;
bad:
	crl_fail(out, "not a well-formed CRL");
	return -1;
}

/*
 * OpenSSL's decoding of the CRL without its entries: the same bytes with
 * revokedCertificates cut out of tbsCertList and the two lengths around
 * it rewritten.  Its signature no longer verifies; crl_verify() checks the
 * original.
 */
static X509_CRL *
crl_headers(const struct crl_parts *cp, struct crl_ingest_result *out)
{
	const uint8_t *cut = cp->revoked.p, *tend = cp->tbs.c + cp->tbs.clen;
	const unsigned char *p;
	size_t tlen, olen, total, before;
	uint8_t *buf, *o;
	X509_CRL *crl;

	tlen = cp->tbs.clen - cp->revoked.len;
	olen = 1 + der_len_size(tlen) + tlen + cp->alg.len + cp->sig.len;
	total = 1 + der_len_size(olen) + olen;
	if ((buf = malloc(total)) == NULL) {
		crl_fail(out, "out of memory");
		return NULL;
	}
	before = cut != NULL ? (size_t)(cut - cp->tbs.c) : cp->tbs.clen;
	o = buf;
	*o++ = DER_SEQUENCE;
	o = der_put_len(o, olen);
	*o++ = DER_SEQUENCE;
	o = der_put_len(o, tlen);
	memcpy(o, cp->tbs.c, before);
	o += before;
	if (cut != NULL) {
		memcpy(o, cut + cp->revoked.len,
		    (size_t)(tend - cut) - cp->revoked.len);
		o += (size_t)(tend - cut) - cp->revoked.len;
	}
	memcpy(o, cp->alg.p, cp->alg.len);
	o += cp->alg.len;
	memcpy(o, cp->sig.p, cp->sig.len);
	p = buf;
	if ((crl = d2i_X509_CRL(NULL, &p, (long)total)) == NULL ||
	    p != buf + total) {
		X509_CRL_free(crl);
		crl = NULL;
		crl_fail(out, "not a well-formed CRL");
	}
	free(buf);
	return crl;
}

/*
 * Does ca's key verify the signature over tbsCertList as received?  The
 * bytes go to ASN1_item_verify() as an ANY holding a SEQUENCE, which
 * OpenSSL encodes verbatim: nothing is copied or re-encoded.
 */
static int
crl_verify(X509_CRL *crl, const struct crl_parts *cp, X509 *ca)
{
	const ASN1_BIT_STRING *sig;
	const X509_ALGOR *alg;
	ASN1_STRING tbs;
	ASN1_TYPE any;

	X509_CRL_get0_signature(crl, &sig, &alg);	/* not owned */
	memset(&tbs, 0, sizeof(tbs));
	tbs.type = V_ASN1_SEQUENCE;
	tbs.length = (int)cp->tbs.len;
	tbs.data = (unsigned char *)cp->tbs.p;		/* borrowed */
	memset(&any, 0, sizeof(any));
	any.type = V_ASN1_SEQUENCE;
	any.value.sequence = &tbs;
	return ASN1_item_verify(ASN1_ITEM_rptr(ASN1_ANY), alg, sig, &any,
	    X509_get0_pubkey(ca)) == 1 ? 0 : -1;
}

/*
 * Find the CA that signed the CRL: same subject as the CRL's issuer,
 * allowed to sign CRLs, and the signature verifies with its key.  Several
 * CAs may share a name (a key rollover): each is tried.
 */
static int
crl_issuer(X509_CRL *crl, const struct crl_parts *cp, STACK_OF(X509) *cas,
    struct crl_ingest_result *out)
{
	X509_NAME *name = X509_CRL_get_issuer(crl);	/* not owned */
	unsigned char *der = NULL;
	unsigned int mdlen;
	X509 *ca, *found = NULL;
	int i, named = 0, unfit = 0, len;

	X509_NAME_oneline(name, out->issuer, sizeof(out->issuer));
	for (i = 0; found == NULL && i < sk_X509_num(cas); i++) {
		ca = sk_X509_value(cas, i);
		if (X509_NAME_cmp(X509_get_subject_name(ca), name) != 0)
			continue;
		named++;
		/* UINT32_MAX when the CA has no keyUsage: any use. */
		if ((X509_get_key_usage(ca) & KU_CRL_SIGN) == 0) {
			unfit++;
			continue;
		}
		if (crl_verify(crl, cp, ca) == 0)
			found = ca;
	}
	if (found == NULL) {
		if (named == 0)
			crl_fail(out, "issuer %s is not among the configured "
			    "CAs", out->issuer);
		else if (unfit == named)
			crl_fail(out, "issuer %s may not sign CRLs (keyUsage)",
			    out->issuer);
		else
			crl_fail(out, "signature does not verify with the key "
			    "of %s", out->issuer);
		return -1;
	}
	/* The CA's own subject, as DER: what brokers key CRLs by. */
	if ((len = i2d_X509_NAME(X509_get_subject_name(found), &der)) <= 0 ||
	    EVP_Digest(der, (size_t)len, out->issuer_id, &mdlen,
	    EVP_sha256(), NULL) != 1) {
		OPENSSL_free(der);
		crl_fail(out, "cannot hash the issuer name");
		return -1;
	}
	OPENSSL_free(der);
	return 0;
}

/* Full, direct CRLs only, and no critical extension we do not know. */
static int
crl_extensions(X509_CRL *crl, struct crl_ingest_result *out)
{
	ISSUING_DIST_POINT *idp;
	X509_EXTENSION *ext;
	int i, nid, crit;

	for (i = 0; i < X509_CRL_get_ext_count(crl); i++) {
		ext = X509_CRL_get_ext(crl, i);		/* not owned */
		nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
		if (nid == NID_delta_crl) {
			crl_fail(out, "a delta CRL (deltaCRLIndicator); only "
			    "full CRLs are used");
			return -1;
		}
		if (!X509_EXTENSION_get_critical(ext))
			continue;
		if (nid != NID_crl_number &&
		    nid != NID_authority_key_identifier &&
		    nid != NID_issuer_alt_name &&
		    nid != NID_issuing_distribution_point) {
			crl_fail(out, "unknown critical extension %s",
			    nid == NID_undef ? "(unnamed)" : OBJ_nid2sn(nid));
			return -1;
		}
	}
	idp = X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point,
	    &crit, NULL);
	if (idp == NULL && crit != -1) {
		crl_fail(out, "malformed or repeated "
		    "issuingDistributionPoint");
		return -1;
	}
	if (idp != NULL && idp->indirectCRL) {
		ISSUING_DIST_POINT_free(idp);
		crl_fail(out, "an indirect CRL; only CRLs of their own "
		    "issuer are used");
		return -1;
	}
	ISSUING_DIST_POINT_free(idp);
	return 0;
}

static int
crl_times(X509_CRL *crl, int64_t now, struct crl_ingest_result *out)
{
	const ASN1_TIME *nu = X509_CRL_get0_nextUpdate(crl);

	if (asn1_time(X509_CRL_get0_lastUpdate(crl), &out->this_update) ==
	    -1) {
		crl_fail(out, "unreadable thisUpdate");
		return -1;
	}
	if (out->this_update > now + CRL_INGEST_SKEW) {
		crl_fail(out, "thisUpdate is %llds in the future",
		    (long long)(out->this_update - now));
		return -1;
	}
	out->next_update = 0;
	if (nu == NULL)
		return 0;
	if (asn1_time(nu, &out->next_update) == -1) {
		crl_fail(out, "unreadable nextUpdate");
		return -1;
	}
	if (out->next_update <= out->this_update) {
		crl_fail(out, "nextUpdate is not after thisUpdate");
		return -1;
	}
	out->expired = now >= out->next_update;
	return 0;
}

/*
 * The CRL number, and the rule that a CRL never goes backwards.  Numbers
 * are compared as unsigned magnitudes: longer is larger, then memcmp.
 */
static int
crl_number(X509_CRL *crl, const struct crl_table_header *prev,
    struct crl_ingest_result *out)
{
	ASN1_INTEGER *num;
	const unsigned char *p;
	size_t len, plen;
	int crit, c;

	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, &crit, NULL);
	if (num == NULL && crit != -1) {
		crl_fail(out, "malformed or repeated CRL number");
		return -1;
	}
	if (num != NULL) {
		p = ASN1_STRING_get0_data(num);
		len = (size_t)ASN1_STRING_length(num);
		for (; len > 0 && *p == 0; p++, len--)
			;
		if (ASN1_STRING_type(num) == V_ASN1_NEG_INTEGER ||
		    len > CRL_SERIAL_MAX) {
			ASN1_INTEGER_free(num);
			crl_fail(out, "CRL number negative or longer than %d "
			    "octets", CRL_SERIAL_MAX);
			return -1;
		}
		memcpy(out->number, p, len);
		out->number_len = len;
		ASN1_INTEGER_free(num);
	}
	if (prev == NULL)
		return 0;
	plen = prev->crl_number_len > CRL_SERIAL_MAX ? CRL_SERIAL_MAX :
	    prev->crl_number_len;
	if (out->number_len == 0 || plen == 0) {
		/* Without two numbers, the dates are all there is. */
		if (out->this_update < prev->this_update) {
			crl_fail(out, "older than the CRL in use (thisUpdate "
			    "%lld < %lld)", (long long)out->this_update,
			    (long long)prev->this_update);
			return -1;
		}
		return 0;
	}
	c = out->number_len != plen ? (out->number_len < plen ? -1 : 1) :
	    memcmp(out->number, prev->crl_number, plen);
	if (c < 0) {
		crl_fail(out, "CRL number lower than the one in use");
		return -1;
	}
	out->unchanged = c == 0;
	return 0;
}

/* --- the entries ---------------------------------------------------------- */

static bool
oid_is(const struct der *oid, const uint8_t *want, size_t len)
{
	return oid->clen == len && memcmp(oid->c, want, len) == 0;
}

/*
 * crlEntryExtensions: SEQUENCE OF SEQUENCE { OID, BOOLEAN DEFAULT FALSE,
 * OCTET STRING }.  *reason gets the CRLReason (left alone without one).
 * A certificateIssuer (an indirect CRL) or a critical extension we do not
 * know refuses the whole CRL (RFC 5280 5.3).
 */
static int
entry_exts(const struct der *exts, int *reason, struct crl_ingest_result *out)
{
	const uint8_t *p = exts->c, *end = exts->c + exts->clen, *q, *qe;
	struct der ext, oid, v, val;
	bool crit;

	while (p < end) {
		if (der_expect(&p, end, DER_SEQUENCE, &ext) == -1)
			goto bad;
		q = ext.c;
		qe = q + ext.clen;
		crit = false;
		if (der_expect(&q, qe, DER_OID, &oid) == -1)
			goto bad;
		if (der_peek(q, qe) == DER_BOOLEAN) {
			if (der_get(&q, qe, &v) == -1 || v.clen != 1)
				goto bad;
			crit = v.c[0] != 0;
		}
		if (der_expect(&q, qe, DER_OCTETSTRING, &v) == -1 || q != qe)
			goto bad;
		if (oid_is(&oid, oid_cert_issuer, sizeof(oid_cert_issuer))) {
			crl_fail(out, "an entry has a certificateIssuer (an "
			    "indirect CRL)");
			return -1;
		}
		if (oid_is(&oid, oid_reason, sizeof(oid_reason))) {
			q = v.c;
			if (der_expect(&q, v.c + v.clen, DER_ENUMERATED,
			    &val) == -1 || q != v.c + v.clen ||
			    val.clen != 1 || (val.c[0] & 0x80)) {
				crl_fail(out, "an entry has a malformed "
				    "reason code");
				return -1;
			}
			/* Undefined codes: revoked, for no known reason. */
			*reason = val.c[0] <= CRL_TABLE_REASON_MAX ? val.c[0] :
			    CRL_REASON_UNSPECIFIED;
		} else if (crit && !oid_is(&oid, oid_hold, sizeof(oid_hold)) &&
		    !oid_is(&oid, oid_invalidity, sizeof(oid_invalidity))) {
			crl_fail(out, "an entry has an unknown critical "
			    "extension");
			return -1;
		}
	}
	return 0;
bad:
	crl_fail(out, "an entry has malformed extensions");
	return -1;
}

/*
 * One revokedCertificates entry: SEQUENCE { INTEGER, Time, extensions? }
 * into e.  0, 1 when its serial cannot be held by a table (skipped), -1
 * when the CRL must be refused.
 */
static int
entry_read(const struct der *ent, struct crl_entry *e,
    struct crl_ingest_result *out)
{
	const uint8_t *p = ent->c, *end = ent->c + ent->clen;
	struct der sn, when, exts;
	struct asn1_string_st ai;
	int reason = CRL_TABLE_REASON_NONE;

	memset(&exts, 0, sizeof(exts));
	if (der_expect(&p, end, DER_INTEGER, &sn) == -1 || sn.clen == 0 ||
	    der_get(&p, end, &when) == -1 ||
	    (when.tag != DER_UTCTIME && when.tag != DER_GENTIME)) {
		crl_fail(out, "an entry is malformed");
		return -1;
	}
	if (p < end && (der_expect(&p, end, DER_SEQUENCE, &exts) == -1 ||
	    p != end)) {
		crl_fail(out, "an entry is malformed");
		return -1;
	}
	if (exts.p != NULL && entry_exts(&exts, &reason, out) == -1)
		return -1;
	/*
	 * A stack ASN1_INTEGER over the content octets, as OpenSSL's own
	 * decoder would make it (magnitude, sign in the type), so that
	 * crl_serial_set() decides what a table holds, in one place.
	 */
	memset(&ai, 0, sizeof(ai));
	ai.type = (sn.c[0] & 0x80) ? V_ASN1_NEG_INTEGER : V_ASN1_INTEGER;
	ai.data = (unsigned char *)sn.c;
	ai.length = (int)sn.clen;
	if (ai.type == V_ASN1_INTEGER && sn.clen > 1 && sn.c[0] == 0) {
		ai.data++;
		ai.length--;
	}
	if (ai.type == V_ASN1_NEG_INTEGER || crl_serial_set(e, &ai) == -1) {
		memset(e, 0, sizeof(*e));
		return 1;
	}
	e->reason = (uint8_t)reason;
	/* Unreadable: still revoked, since when is unknown. */
	if (der_time(&when, &e->revoked_at) == -1)
		e->revoked_at = 0;
	return 0;
}

int
crl_ingest_entries(const uint8_t *der, size_t len,
    struct crl_ingest_result *out)
{
	const uint8_t *p = der, *end = der + len;
	struct der ent;
	size_t n = 0;
	int rc;

	out->entries = NULL;
	out->n = 0;
	/* Count first: one allocation of the exact size. */
	while (p < end) {
		if (der_expect(&p, end, DER_SEQUENCE, &ent) == -1) {
			crl_fail(out, "malformed revokedCertificates");
			return -1;
		}
		if (++n > CRL_TABLE_MAX_ENTRIES) {
			crl_fail(out, "more than %u entries",
			    CRL_TABLE_MAX_ENTRIES);
			return -1;
		}
	}
	if (n == 0)
		return 0;
	if ((out->entries = calloc(n, sizeof(*out->entries))) == NULL) {
		crl_fail(out, "out of memory for %zu entries", n);
		return -1;
	}
	for (p = der; p < end; ) {
		(void)der_get(&p, end, &ent);	/* checked above */
		if ((rc = entry_read(&ent, &out->entries[out->n], out)) == -1)
			goto fail;
		if (rc == 1)
			out->skipped++;
		else
			out->n++;
	}
	crl_sort(out->entries, out->n, 0);
	crl_dedupe(out);
	return 0;
fail:
	free(out->entries);
	out->entries = NULL;
	out->n = 0;
	return -1;
}

/*
 * Byte d of an entry's sort key: its serial length, then its serial.  The
 * serial is left-aligned and zero-padded, so comparing the keys byte by
 * byte orders entries as a table wants them (crl_entry_cmp).
 */
static unsigned
entry_key(const struct crl_entry *e, size_t d)
{
	return d == 0 ? e->serial_len : e->serial[d - 1];
}

static void
entry_swap(struct crl_entry *a, struct crl_entry *b)
{
	struct crl_entry t = *a;

	*a = *b;
	*b = t;
}

static void
crl_sort_small(struct crl_entry *a, size_t n)
{
	struct crl_entry t;
	size_t i, j;

	for (i = 1; i < n; i++) {
		t = a[i];
		for (j = i; j > 0 && crl_entry_cmp(&a[j - 1], &t) > 0; j--)
			a[j] = a[j - 1];
		a[j] = t;
	}
}

/*
 * MSD radix sort (American flag sort) on the key from byte d on: in
 * place, one pass per key byte over each bucket, and no comparisons
 * until buckets are small.  A million random 16-byte serials sort in
 * three passes; sequential ones skip the bytes they share in one count.
 */
static void
crl_sort(struct crl_entry *a, size_t n, size_t d)
{
	size_t count[256], next[256], end[256], i, b, k;

	for (;;) {
		if (n < CRL_SORT_SMALL) {
			crl_sort_small(a, n);
			return;
		}
		if (d >= CRL_KEY_BYTES)
			return;		/* all equal from here on */
		memset(count, 0, sizeof(count));
		for (i = 0; i < n; i++)
			count[entry_key(&a[i], d)]++;
		if (count[entry_key(&a[0], d)] != n)
			break;
		d++;			/* one bucket: the next byte */
	}
	for (b = 0, k = 0; b < 256; b++) {
		next[b] = k;
		k += count[b];
		end[b] = k;
	}
	for (b = 0; b < 256; b++)
		while (next[b] < end[b]) {
			k = entry_key(&a[next[b]], d);
			if (k == b)
				next[b]++;
			else
				entry_swap(&a[next[b]], &a[next[k]++]);
		}
	for (b = 0, k = 0; b < 256; k += count[b], b++)
		if (count[b] > 1)
			crl_sort(a + k, count[b], d + 1);
}

/* A serial listed twice stays once, with its earliest revocation. */
static void
crl_dedupe(struct crl_ingest_result *out)
{
	struct crl_entry *e = out->entries;
	size_t i, k;

	for (i = 1, k = 0; i < out->n; i++) {
		if (crl_entry_cmp(&e[k], &e[i]) != 0) {
			e[++k] = e[i];
			continue;
		}
		out->duplicates++;
		if (e[i].revoked_at < e[k].revoked_at)
			e[k] = e[i];
	}
	if (out->n > 0)
		out->n = k + 1;
}

/* --- the whole ------------------------------------------------------------ */

int
crl_ingest(const uint8_t *buf, size_t len, STACK_OF(X509) *cas, int64_t now,
    const struct crl_table_header *prev, struct crl_ingest_result *out)
{
	struct crl_parts cp;
	X509_CRL *crl = NULL;
	uint8_t *pem_der = NULL;
	long pem_len = 0;
	size_t i;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	ERR_set_mark();
	if (len == 0 || len > INT32_MAX) {
		crl_fail(out, "%s", len == 0 ? "empty" : "too large");
		goto fail;
	}
	for (i = 0; i < len && crl_is_space(buf[i]); i++)
		;
	if (buf[i == len ? 0 : i] != DER_SEQUENCE) {
		if (crl_unpem(buf, len, &pem_der, &pem_len, out) == -1)
			goto fail;
		buf = pem_der;
		len = (size_t)pem_len;
	}
	if (crl_split(buf, len, &cp, out) == -1 ||
	    (crl = crl_headers(&cp, out)) == NULL ||
	    crl_issuer(crl, &cp, cas, out) == -1 ||
	    crl_extensions(crl, out) == -1 ||
	    crl_times(crl, now, out) == -1 ||
	    crl_number(crl, prev, out) == -1)
		goto fail;
	if (!out->unchanged && cp.revoked.p != NULL &&
	    crl_ingest_entries(cp.revoked.c, cp.revoked.clen, out) == -1)
		goto fail;
	rc = 0;
fail:
	if (rc == -1) {
		crl_ingest_result_free(out);
		out->n = out->skipped = out->duplicates = 0;
		out->unchanged = out->expired = false;
	}
	X509_CRL_free(crl);
	OPENSSL_free(pem_der);
	/* Pure: the caller's error queue is as it was. */
	ERR_pop_to_mark();
	return rc;
}

void
crl_ingest_header(const struct crl_ingest_result *r,
    struct crl_table_header *h)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, CRL_TABLE_MAGIC, sizeof(h->magic));
	h->version = SNAP_VERSION;
	h->header_len = sizeof(*h);
	h->count = r->n;
	h->this_update = r->this_update;
	h->next_update = r->next_update;
	memcpy(h->issuer_id, r->issuer_id, SNAP_ID_LEN);
	memcpy(h->crl_number, r->number, r->number_len);
	h->crl_number_len = (uint8_t)r->number_len;
}

void
crl_ingest_result_free(struct crl_ingest_result *r)
{
	if (r == NULL)
		return;
	free(r->entries);
	r->entries = NULL;
}
