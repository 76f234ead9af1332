/*
 * ocsp.h: fetching the OCSP response for one server certificate and
 * verifying it (common/revcheck.c), plus the certificate plumbing around
 * it: the chain file, the issuer, the responder URL.  Never a private key.
 *
 * A fetch asks as RFC 5019 says: a SHA-1 CertID, no nonce (responders
 * and caches may then answer from a cache), GET when the whole URL fits in
 * OCSP_GET_MAX bytes, else POST; the answer is capped at REVCHECK_MAX_DER.
 */
#ifndef STAPLEMQ_OCSP_H
#define STAPLEMQ_OCSP_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "revcheck.h"

#define OCSP_GET_MAX	255		/* bytes of a GET URL, RFC 5019 5 */

struct http;

enum ocsp_fetch_method {
	OCSP_FETCH_GET,
	OCSP_FETCH_POST
};

/* What to fetch: cert's status from url, as issued by issuer. */
struct ocsp_query {
	X509			*cert;
	X509			*issuer;
	const char		*url;
	const char		*cafile;	/* https: NULL = system CAs */
	int64_t			 timeout_ms;
};

/*
 * What a fetch found.  Everything pointed to belongs to the fetch and
 * lives only until the done callback returns.
 */
struct ocsp_fetch_result {
	const char		*url;		/* the responder, as given */
	enum ocsp_fetch_method	 method;
	long			 http_status;	/* 0: no HTTP answer */
	/* NULL: verified, check holds status and times; else why not. */
	const char		*error;
	struct revcheck_result	 check;
	const uint8_t		*der;		/* as received; NULL: none */
	size_t			 der_len;
	int64_t			 max_age;	/* Cache-Control, s; -1: none */
	int64_t			 age;		/* Age, s; -1: none */
	int64_t			 elapsed_ms;
};

/* ocsp.c */
/*
 * Fetch and verify cert's OCSP response from url, issued by issuer.  The
 * certificates are referenced, not copied, until the callback has
 * returned; the caller may free its own references at once.  0: done()
 * will be called exactly once (see http.h); -1: refused, logged.
 */
int		 ocsp_fetch(struct http *, const struct ocsp_query *,
		    void (*done)(void *, const struct ocsp_fetch_result *),
		    void *arg);
/* "GET" or "POST". */
const char	*ocsp_method_name(enum ocsp_fetch_method);

#endif
