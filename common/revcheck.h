/*
 * revcheck.h: the rules that decide whether an OCSP response may be
 * trusted and stapled, shared by the fetcher (after each fetch) and the
 * broker (once per snapshot entry it loads, and at handshake time for the
 * validity window).
 *
 * Pure: no I/O, no globals, no logging, and nothing left allocated or on
 * OpenSSL's error queue when a call returns.  Every time is in seconds
 * since the epoch (time_t); the caller passes "now", so the same bytes
 * give the same verdict in a test, in the fetcher and in the broker.
 *
 * What revcheck_ocsp() accepts (ocspcheck's checks, RFC 6960 and 5019):
 *   - at most REVCHECK_MAX_DER bytes holding exactly one DER OCSPResponse;
 *   - responseStatus successful and a basic response;
 *   - signed by the issuer itself, or by a delegated responder that the
 *     issuer certified directly (no intermediate in between), that carries
 *     id-kp-OCSPSigning and that is valid at "now" (RFC 6960 4.2.2.2);
 *   - exactly one SingleResponse whose CertID names the certificate (its
 *     serial, the issuer's name and key hashes) in SHA-1, SHA-256, SHA-384
 *     or SHA-512, whichever the responder used;
 *   - thisUpdate < nextUpdate, thisUpdate at most REVCHECK_SKEW ahead of
 *     now, and nextUpdate present and after now: a response without
 *     nextUpdate is never stapled, nor one past it.
 * A revoked or unknown status is a verified answer: the call succeeds and
 * the caller decides what to do with it.
 */
#ifndef STAPLEMQ_REVCHECK_H
#define STAPLEMQ_REVCHECK_H

#include <stdint.h>
#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#define REVCHECK_MAX_DER	(20 * 1024)	/* bytes, ocspcheck's cap */
#define REVCHECK_SKEW		60		/* s a thisUpdate may lead */
#define REVCHECK_REASON_LEN	160		/* bytes of out->reason */

/* Zero is "unverified", so a zeroed or failed result never reads good. */
enum revcheck_status {
	REVCHECK_UNVERIFIED = 0,
	REVCHECK_GOOD,
	REVCHECK_REVOKED,
	REVCHECK_UNKNOWN
};

/*
 * What revcheck_ocsp() found.  Plain data, safe to copy.  On failure only
 * reason (and response_status, when the response parsed) are meaningful.
 */
struct revcheck_result {
	enum revcheck_status	 status;
	/* OCSPResponseStatus (0: successful); -1: did not parse that far */
	int			 response_status;
	time_t			 this_update;
	time_t			 next_update;
	/* REVOKED: revocationTime and CRLReason (-1: none given) */
	time_t			 revoked_at;	/* else 0 */
	int			 revocation_reason; /* else -1 */
	/* Why not, for the log; "" when verified. */
	char			 reason[REVCHECK_REASON_LEN];
};

/* revcheck.c */
/*
 * Verify der[0..len) as the OCSP response for cert, issued by issuer.
 * untrusted (may be NULL) adds certificates in which to look for a
 * delegated responder the response does not include; it confers no trust.
 * Returns 0 with out filled in, or -1 with out->reason saying why.  None of
 * the certificates is modified or kept.
 */
int		 revcheck_ocsp(const uint8_t *der, size_t len, X509 *cert,
		    X509 *issuer, STACK_OF(X509) *untrusted, time_t now,
		    struct revcheck_result *out);
/*
 * The "may I staple this now" rule, seconds:
 * this_update - REVCHECK_SKEW <= now < next_update, this_update < next_update.
 */
int		 revcheck_ocsp_times_valid(int64_t this_update,
		    int64_t next_update, int64_t now);
/* "good", "revoked", "unknown", "unverified"; never NULL. */
const char	*revcheck_status_name(int);
/* The RFC 6960 name of an OCSPResponseStatus ("tryLater"); never NULL. */
const char	*revcheck_response_status_name(int);
/* The RFC 5280 name of a CRLReason ("keyCompromise"); never NULL. */
const char	*revcheck_reason_name(int);

#endif
