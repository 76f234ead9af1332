/*
 * revcheck.c: may this OCSP response be trusted and stapled?  The one
 * place that says so, for both daemons (see revcheck.h for the rules).
 *
 * Signature and responder checks are OpenSSL's OCSP_basic_verify() run
 * with everything that could widen trust switched off (no chain through
 * the certificates the response carries, none of them trusted, no fallback
 * to a root's OCSP trust settings), after our own check of who signed:
 * that one gives the log a precise reason, and keeps the rule of RFC 6960
 * 4.2.2.2 here, in words, rather than in OpenSSL's flags and fallbacks.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "revcheck.h"

/* CertID hash algorithms we can recompute; the responder picks one. */
static const int revcheck_id_nids[] = {
	NID_sha1, NID_sha256, NID_sha384, NID_sha512
};
#define REVCHECK_NIDS	(sizeof(revcheck_id_nids) / sizeof(revcheck_id_nids[0]))

/* Our CertID in each algorithm, made when a SingleResponse uses it. */
struct revcheck_ids {
	OCSP_CERTID	*id[REVCHECK_NIDS];
};

static const char *const revcheck_rstatus[] = {
	"successful", "malformedRequest", "internalError", "tryLater",
	"(unused 4)", "sigRequired", "unauthorized"
};

static const char *const revcheck_crl_reasons[] = {
	"unspecified", "keyCompromise", "cACompromise", "affiliationChanged",
	"superseded", "cessationOfOperation", "certificateHold",
	"(unused 7)", "removeFromCRL", "privilegeWithdrawn", "aACompromise"
};

static void	 revcheck_fail(struct revcheck_result *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static int	 revcheck_time(const ASN1_GENERALIZEDTIME *, time_t *);
static int	 revcheck_valid_at(X509 *, time_t);
static int	 revcheck_delegated(X509 *, X509 *, time_t,
		    struct revcheck_result *);
static int	 revcheck_signer(OCSP_BASICRESP *, X509 *, STACK_OF(X509) *,
		    time_t, X509 **, struct revcheck_result *);
static int	 revcheck_signature(OCSP_BASICRESP *, X509 *, X509 *, time_t,
		    struct revcheck_result *);
static int	 revcheck_id_matches(struct revcheck_ids *,
		    const OCSP_CERTID *, X509 *, X509 *);
static OCSP_SINGLERESP *revcheck_single(OCSP_BASICRESP *, X509 *, X509 *,
		    struct revcheck_result *);
static int	 revcheck_status(OCSP_SINGLERESP *, time_t,
		    struct revcheck_result *);

static void
revcheck_fail(struct revcheck_result *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
}

/* An ASN.1 time as seconds since the epoch; -1 if it does not parse. */
static int
revcheck_time(const ASN1_GENERALIZEDTIME *t, time_t *out)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	if ((*out = timegm(&tm)) == (time_t)-1)
		return -1;
	return 0;
}

/* Is x within its validity period at now?  1 yes, 0 no or unreadable. */
static int
revcheck_valid_at(X509 *x, time_t now)
{
	time_t t = now;

	return X509_cmp_time(X509_get0_notBefore(x), &t) < 0 &&
	    X509_cmp_time(X509_get0_notAfter(x), &t) > 0;
}

/*
 * May signer, which is not the issuer, answer for the issuer's
 * certificates?  Only if the issuer certified it directly, for
 * id-kp-OCSPSigning, and it is valid at now (RFC 6960 4.2.2.2).  Names and
 * key identifiers are checked here; the issuer's signature on it, with the
 * chain, in revcheck_signature().
 */
static int
revcheck_delegated(X509 *signer, X509 *issuer, time_t now,
    struct revcheck_result *out)
{
	uint32_t xflags;

	if (X509_check_issued(issuer, signer) != X509_V_OK) {
		revcheck_fail(out, "responder certificate not issued by the "
		    "certificate's issuer");
		return -1;
	}
	/* Without the extension, OpenSSL reports every purpose as allowed. */
	xflags = X509_get_extension_flags(signer);
	if ((xflags & EXFLAG_XKUSAGE) == 0 ||
	    (X509_get_extended_key_usage(signer) & XKU_OCSP_SIGN) == 0) {
		revcheck_fail(out, "responder certificate lacks "
		    "id-kp-OCSPSigning");
		return -1;
	}
	if ((xflags & EXFLAG_KUSAGE) != 0 && (X509_get_key_usage(signer) &
	    (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)) == 0) {
		revcheck_fail(out, "responder certificate's key usage "
		    "forbids signing");
		return -1;
	}
	if (!revcheck_valid_at(signer, now)) {
		revcheck_fail(out, "responder certificate expired or not yet "
		    "valid");
		return -1;
	}
	return 0;
}

/*
 * The certificate the responder ID names (get0 into *signer), if it may
 * answer for the issuer's certificates.  The issuer is looked at first,
 * then untrusted, then the certificates the response carries.
 */
static int
revcheck_signer(OCSP_BASICRESP *bs, X509 *issuer, STACK_OF(X509) *untrusted,
    time_t now, X509 **signer, struct revcheck_result *out)
{
	STACK_OF(X509) *cands;
	int i, rc = -1;

	*signer = NULL;
	if ((cands = sk_X509_new_null()) == NULL ||
	    !sk_X509_push(cands, issuer)) {
		revcheck_fail(out, "out of memory");
		goto fail;
	}
	for (i = 0; i < sk_X509_num(untrusted); i++)
		if (!sk_X509_push(cands, sk_X509_value(untrusted, i))) {
			revcheck_fail(out, "out of memory");
			goto fail;
		}
	/* Searches cands, then the certificates in the response. */
	if (!OCSP_resp_get0_signer(bs, signer, cands) || *signer == NULL) {
		revcheck_fail(out, "responder certificate not found");
		goto fail;
	}
	if (X509_cmp(*signer, issuer) != 0 &&
	    revcheck_delegated(*signer, issuer, now, out) == -1)
		goto fail;
	rc = 0;
fail:
	sk_X509_free(cands);	/* the stack only; it held get0 pointers */
	if (rc == -1)
		*signer = NULL;
	return rc;
}

/*
 * The signature, with signer's key, and signer's certificate against a
 * store that holds the issuer alone, checked at now: no chain through the
 * response's certificates (NOCHAIN), none of them trusted (NOINTERN takes
 * the signer only from what we pass), no fallback to the root's trust
 * settings (NOEXPLICIT), and a store anchor that is not self-signed
 * (PARTIAL_CHAIN).  OpenSSL then also requires every SingleResponse to be
 * about the issuer's certificates.
 */
static int
revcheck_signature(OCSP_BASICRESP *bs, X509 *signer, X509 *issuer,
    time_t now, struct revcheck_result *out)
{
	STACK_OF(X509) *certs = NULL;
	X509_STORE *store = NULL;
	const char *data = NULL, *why;
	unsigned long e;
	int flags = 0, rc = -1;

	if ((certs = sk_X509_new_null()) == NULL ||
	    !sk_X509_push(certs, signer) ||
	    (store = X509_STORE_new()) == NULL ||
	    !X509_STORE_add_cert(store, issuer)) {	/* takes a reference */
		revcheck_fail(out, "out of memory");
		goto fail;
	}
	/* Inherited by the context OCSP_basic_verify() makes. */
	X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store), now);
	if (OCSP_basic_verify(bs, certs, store, OCSP_NOINTERN | OCSP_NOCHAIN |
	    OCSP_NOEXPLICIT | OCSP_PARTIAL_CHAIN) != 1) {
		e = ERR_peek_last_error_data(&data, &flags);
		if ((why = ERR_reason_error_string(e)) == NULL)
			why = "OpenSSL gave no reason";
		if ((flags & ERR_TXT_STRING) == 0 || data == NULL)
			data = "";
		revcheck_fail(out, "signature not verified: %s%s%s", why,
		    data[0] != '\0' ? ": " : "", data);
		goto fail;
	}
	rc = 0;
fail:
	X509_STORE_free(store);
	sk_X509_free(certs);	/* the stack only */
	return rc;
}

/*
 * Is theirs the CertID of cert under issuer, in the hash the responder
 * chose?  Ours is made once per algorithm and kept in ids.
 */
static int
revcheck_id_matches(struct revcheck_ids *ids, const OCSP_CERTID *theirs,
    X509 *cert, X509 *issuer)
{
	ASN1_OBJECT *md_oid = NULL;
	const EVP_MD *md;
	size_t i;
	int nid;

	/* get0_info takes a non-const CertID but only reads it. */
	if (!OCSP_id_get0_info(NULL, &md_oid, NULL, NULL,
	    (OCSP_CERTID *)theirs) || md_oid == NULL)
		return 0;
	nid = OBJ_obj2nid(md_oid);
	for (i = 0; i < REVCHECK_NIDS; i++)
		if (revcheck_id_nids[i] == nid)
			break;
	if (i == REVCHECK_NIDS)
		return 0;
	if (ids->id[i] == NULL) {
		if ((md = EVP_get_digestbynid(nid)) == NULL)
			return 0;
		if ((ids->id[i] = OCSP_cert_to_id(md, cert, issuer)) == NULL)
			return 0;
	}
	/* Compares the algorithm, both hashes and the serial. */
	return OCSP_id_cmp(ids->id[i], theirs) == 0;
}

/* The one SingleResponse about cert (get0), or NULL. */
static OCSP_SINGLERESP *
revcheck_single(OCSP_BASICRESP *bs, X509 *cert, X509 *issuer,
    struct revcheck_result *out)
{
	struct revcheck_ids ids;
	OCSP_SINGLERESP *one, *found = NULL;
	int i, n, matches = 0;
	size_t k;

	memset(&ids, 0, sizeof(ids));
	n = OCSP_resp_count(bs);
	for (i = 0; i < n; i++) {
		if ((one = OCSP_resp_get0(bs, i)) == NULL)
			continue;
		if (revcheck_id_matches(&ids, OCSP_SINGLERESP_get0_id(one),
		    cert, issuer)) {
			found = one;
			matches++;
		}
	}
	for (k = 0; k < REVCHECK_NIDS; k++)
		OCSP_CERTID_free(ids.id[k]);
	if (matches == 0) {
		revcheck_fail(out, "no answer for this certificate among %d",
		    n);
		return NULL;
	}
	if (matches > 1) {
		revcheck_fail(out, "%d answers for this certificate", matches);
		return NULL;
	}
	return found;
}

/* Status and times of our SingleResponse into out, and the time rules. */
static int
revcheck_status(OCSP_SINGLERESP *one, time_t now, struct revcheck_result *out)
{
	ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
	int st, reason = -1;

	st = OCSP_single_get0_status(one, &reason, &rev, &thisupd, &nextupd);
	if (revcheck_time(thisupd, &out->this_update) == -1) {
		revcheck_fail(out, "thisUpdate missing or unreadable");
		return -1;
	}
	if (nextupd == NULL) {
		revcheck_fail(out, "no nextUpdate: never stapled");
		return -1;
	}
	if (revcheck_time(nextupd, &out->next_update) == -1) {
		revcheck_fail(out, "nextUpdate unreadable");
		return -1;
	}
	if (out->this_update >= out->next_update) {
		revcheck_fail(out, "thisUpdate is not before nextUpdate");
		return -1;
	}
	if (out->next_update <= now) {
		revcheck_fail(out, "expired: nextUpdate was %lld s ago",
		    (long long)now - (long long)out->next_update);
		return -1;
	}
	if (!revcheck_ocsp_times_valid(out->this_update, out->next_update,
	    now)) {
		revcheck_fail(out, "thisUpdate %lld s in the future",
		    (long long)out->this_update - (long long)now);
		return -1;
	}
	switch (st) {
	case V_OCSP_CERTSTATUS_GOOD:
		out->status = REVCHECK_GOOD;
		break;
	case V_OCSP_CERTSTATUS_REVOKED:
		if (revcheck_time(rev, &out->revoked_at) == -1) {
			revcheck_fail(out, "revocationTime unreadable");
			return -1;
		}
		out->revocation_reason = reason;
		out->status = REVCHECK_REVOKED;
		break;
	case V_OCSP_CERTSTATUS_UNKNOWN:
		out->status = REVCHECK_UNKNOWN;
		break;
	default:
		revcheck_fail(out, "certStatus unreadable");
		return -1;
	}
	return 0;
}

int
revcheck_ocsp(const uint8_t *der, size_t len, X509 *cert, X509 *issuer,
    STACK_OF(X509) *untrusted, time_t now, struct revcheck_result *out)
{
	OCSP_RESPONSE *resp = NULL;
	OCSP_BASICRESP *bs = NULL;
	OCSP_SINGLERESP *one;
	X509 *signer;
	const unsigned char *p = der;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->response_status = -1;
	out->revocation_reason = -1;
	/* Leave the caller's error queue as we found it. */
	ERR_set_mark();
	if (der == NULL || cert == NULL || issuer == NULL) {
		revcheck_fail(out, "nothing to check");
		goto fail;
	}
	if (len == 0 || len > REVCHECK_MAX_DER) {
		revcheck_fail(out, "response of %zu bytes (limit %d)", len,
		    REVCHECK_MAX_DER);
		goto fail;
	}
	if (X509_check_issued(issuer, cert) != X509_V_OK) {
		revcheck_fail(out, "the issuer given did not issue the "
		    "certificate");
		goto fail;
	}
	if ((resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len)) == NULL) {
		revcheck_fail(out, "not an OCSPResponse");
		goto fail;
	}
	if (p != der + len) {
		revcheck_fail(out, "%zu bytes after the OCSPResponse",
		    len - (size_t)(p - der));
		goto fail;
	}
	out->response_status = OCSP_response_status(resp);
	if (out->response_status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		revcheck_fail(out, "responder said %s",
		    revcheck_response_status_name(out->response_status));
		goto fail;
	}
	if ((bs = OCSP_response_get1_basic(resp)) == NULL) {
		revcheck_fail(out, "not a basic OCSP response");
		goto fail;
	}
	if ((one = revcheck_single(bs, cert, issuer, out)) == NULL)
		goto fail;
	if (revcheck_signer(bs, issuer, untrusted, now, &signer, out) == -1 ||
	    revcheck_signature(bs, signer, issuer, now, out) == -1)
		goto fail;
	if (revcheck_status(one, now, out) == -1)
		goto fail;
	rc = 0;
fail:
	if (rc == -1) {
		out->status = REVCHECK_UNVERIFIED;
		if (out->reason[0] == '\0')
			revcheck_fail(out, "not verified");
	}
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	ERR_pop_to_mark();
	return rc;
}

int
revcheck_ocsp_times_valid(int64_t this_update, int64_t next_update,
    int64_t now)
{
	if (this_update >= next_update || now >= next_update)
		return 0;
	/* this_update - SKEW <= now, without overflow at either extreme. */
	if (this_update > now &&
	    (uint64_t)this_update - (uint64_t)now > REVCHECK_SKEW)
		return 0;
	return 1;
}

const char *
revcheck_status_name(int st)
{
	switch (st) {
	case REVCHECK_GOOD:
		return "good";
	case REVCHECK_REVOKED:
		return "revoked";
	case REVCHECK_UNKNOWN:
		return "unknown";
	default:
		return "unverified";
	}
}

const char *
revcheck_response_status_name(int st)
{
	if (st < 0 || (size_t)st >= sizeof(revcheck_rstatus) /
	    sizeof(revcheck_rstatus[0]))
		return "an unknown responseStatus";
	return revcheck_rstatus[st];
}

const char *
revcheck_reason_name(int reason)
{
	if (reason < 0)
		return "(no reason given)";
	if ((size_t)reason >= sizeof(revcheck_crl_reasons) /
	    sizeof(revcheck_crl_reasons[0]))
		return "(unknown reason)";
	return revcheck_crl_reasons[reason];
}
