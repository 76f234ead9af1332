/*
 * fuzz_ocsp_response.c: libFuzzer target for common/revcheck.c.
 *
 * The input is what an OCSP responder sends back.  It is checked as the
 * response for two fixed certificates of a fixed issuer, at a fixed time,
 * so that the seeds in corpus/fuzz_ocsp_response (real `openssl ocsp`
 * answers about them, signed by the issuer or by its delegated responder)
 * stay valid and the fuzzer starts deep inside the checks.  Beyond not
 * crashing or leaking, a result must be coherent: a verified response is
 * within the size cap, inside its validity window and names a status; a
 * refusal says why; OpenSSL's error queue is left empty either way.
 *
 * The certificates were made once with the openssl command; their keys
 * were thrown away after the seeds were signed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "revcheck.h"

#define CHECK(x)	do { if (!(x)) __builtin_trap(); } while (0)
#define FUZZ_NOW	((time_t)1795228054)	/* seeds' thisUpdate + 1 h */

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* CN=fuzz issuer, self-signed, P-256, valid 2026-2126. */
static const char issuer_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBYDCCAQWgAwIBAgIBATAKBggqhkjOPQQDAjAWMRQwEgYDVQQDDAtmdXp6IGlz\n"
	"c3VlcjAgFw0yNjExMjEwMTI3MzRaGA8yMTI2MTAyODAxMjczNFowFjEUMBIGA1UE\n"
	"AwwLZnV6eiBpc3N1ZXIwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAASZ2Q6p41mw\n"
	"g7Oo+gvn56UK0HayWXwK6w3H97tnNFJtDKchy84QrtqpeMQHtivXv4MS2oi8OGac\n"
	"4OuVI8oc0R7eo0IwQDAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwIBBjAd\n"
	"BgNVHQ4EFgQUNNtxGQOVVmnkrSChIbquqgSBNV8wCgYIKoZIzj0EAwIDSQAwRgIh\n"
	"AN+8ZigjkB/OJbDOfKJp96xLRd3Sp0etFU8luw68r4SnAiEA00MKRHzxBs5IPq38\n"
	"VHxfGXaNcMYJkX2Bg5SYrWy3wCE=\n"
	"-----END CERTIFICATE-----\n";

/* CN=fuzz leaf, serial 0x1001: good in the seeds. */
static const char leaf_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBsTCCAVegAwIBAgICEAEwCgYIKoZIzj0EAwIwFjEUMBIGA1UEAwwLZnV6eiBp\n"
	"c3N1ZXIwIBcNMjYxMTIxMDEyNzM0WhgPMjEyNjEwMjgwMTI3MzRaMBQxEjAQBgNV\n"
	"BAMMCWZ1enogbGVhZjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABKskUxv7IAP+\n"
	"nh+Q6cLEyafmjkLSiUeq2LlO610vI4GvFARe6m/RCesDnStNprsvgdRjW7zvh2Bt\n"
	"8nsV4swy0oGjgZQwgZEwDAYDVR0TAQH/BAIwADAOBgNVHQ8BAf8EBAMCB4AwHQYD\n"
	"VR0OBBYEFCIPWXevxWFH/9sfbIO+oDi780pxMB8GA1UdIwQYMBaAFDTbcRkDlVZp\n"
	"5K0goSG6rqoEgTVfMDEGCCsGAQUFBwEBBCUwIzAhBggrBgEFBQcwAYYVaHR0cDov\n"
	"LzEyNy4wLjAuMTo4ODg4MAoGCCqGSM49BAMCA0gAMEUCIHuueUGzpVp+PdRnwA4P\n"
	"B78fOVhlLtr9tgj4tQ75vtvqAiEAglcCONcRirYDUeAv9qqgHa9uIr0ia3n/wNCW\n"
	"IRqum4A=\n"
	"-----END CERTIFICATE-----\n";

/* CN=fuzz revoked, serial 0x1002: revoked (keyCompromise) in the seeds. */
static const char revoked_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBszCCAVqgAwIBAgICEAIwCgYIKoZIzj0EAwIwFjEUMBIGA1UEAwwLZnV6eiBp\n"
	"c3N1ZXIwIBcNMjYxMTIxMDEyNzM0WhgPMjEyNjEwMjgwMTI3MzRaMBcxFTATBgNV\n"
	"BAMMDGZ1enogcmV2b2tlZDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABE0FpuU4\n"
	"ouMf1RsP0A8a+4BBLrJ/M2hKiONajRfeRL5F9b7oGbyDuaZuBgcyuO8V975nauzV\n"
	"yPkk07EfrGrd4aOjgZQwgZEwDAYDVR0TAQH/BAIwADAOBgNVHQ8BAf8EBAMCB4Aw\n"
	"HQYDVR0OBBYEFPoDvyDUnvXbJhLWeOhL98QnMLqrMB8GA1UdIwQYMBaAFDTbcRkD\n"
	"lVZp5K0goSG6rqoEgTVfMDEGCCsGAQUFBwEBBCUwIzAhBggrBgEFBQcwAYYVaHR0\n"
	"cDovLzEyNy4wLjAuMTo4ODg4MAoGCCqGSM49BAMCA0cAMEQCIBMSSqrR60vydd3i\n"
	"Xn+qfSZKtBgVgJHOP3HgoqvLRP2/AiBx/WCp0SbLlpv2lVMox/VjNyvrI1B2/fCA\n"
	"RU6MnvksPQ==\n"
	"-----END CERTIFICATE-----\n";

/* CN=fuzz resp, the delegated responder (id-kp-OCSPSigning). */
static const char resp_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBkzCCATmgAwIBAgIBEDAKBggqhkjOPQQDAjAWMRQwEgYDVQQDDAtmdXp6IGlz\n"
	"c3VlcjAgFw0yNjExMjEwMTI3MzRaGA8yMTI2MTAyODAxMjczNFowFDESMBAGA1UE\n"
	"AwwJZnV6eiByZXNwMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEDqdGkK1Ma2Ih\n"
	"bImanNMjzeINhB1aZVzyj1zhh0/2+OkmebtX89SpOFTIqHtix5PFyy5QbOLVZAPJ\n"
	"r+yxaDODJKN4MHYwDAYDVR0TAQH/BAIwADAOBgNVHQ8BAf8EBAMCB4AwFgYDVR0l\n"
	"AQH/BAwwCgYIKwYBBQUHAwkwHQYDVR0OBBYEFLR4DA4FFzDytdXVvJZZfq1XwdM1\n"
	"MB8GA1UdIwQYMBaAFDTbcRkDlVZp5K0goSG6rqoEgTVfMAoGCCqGSM49BAMCA0gA\n"
	"MEUCIEnFQ9DBuNW4/pm0ov0IFuNAtzIwxAfltoWulD4k6eI9AiEAnKwCByBxtkph\n"
	"KeZzOG5CbVcrCJ6+y9QD4+KGUOD5QVs=\n"
	"-----END CERTIFICATE-----\n";

static X509		*issuer, *leaf, *revoked;
static STACK_OF(X509)	*untrusted;

static X509	*fuzz_cert(const char *);
static void	 fuzz_init(void);
static void	 fuzz_check(const uint8_t *, size_t, X509 *, STACK_OF(X509) *);

static X509 *
fuzz_cert(const char *pem)
{
	BIO *b;
	X509 *x;

	CHECK((b = BIO_new_mem_buf(pem, -1)) != NULL);
	CHECK((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL);
	BIO_free(b);
	return x;
}

/* Made once and kept for the whole run. */
static void
fuzz_init(void)
{
	if (issuer != NULL)
		return;
	issuer = fuzz_cert(issuer_pem);
	leaf = fuzz_cert(leaf_pem);
	revoked = fuzz_cert(revoked_pem);
	CHECK((untrusted = sk_X509_new_null()) != NULL);
	CHECK(sk_X509_push(untrusted, fuzz_cert(resp_pem)) > 0);
}

static void
fuzz_check(const uint8_t *data, size_t size, X509 *cert,
    STACK_OF(X509) *extra)
{
	struct revcheck_result r;
	int rc;

	rc = revcheck_ocsp(data, size, cert, issuer, extra, FUZZ_NOW, &r);
	CHECK(ERR_peek_error() == 0);
	CHECK(memchr(r.reason, '\0', sizeof(r.reason)) != NULL);
	if (rc == 0) {
		CHECK(size <= REVCHECK_MAX_DER);
		CHECK(r.reason[0] == '\0');
		CHECK(r.status == REVCHECK_GOOD ||
		    r.status == REVCHECK_REVOKED ||
		    r.status == REVCHECK_UNKNOWN);
		CHECK(r.response_status == 0);
		CHECK(revcheck_ocsp_times_valid(r.this_update, r.next_update,
		    FUZZ_NOW));
		if (r.status != REVCHECK_REVOKED)
			CHECK(r.revoked_at == 0 && r.revocation_reason == -1);
	} else {
		CHECK(rc == -1);
		CHECK(r.reason[0] != '\0');
		CHECK(r.status == REVCHECK_UNVERIFIED);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_init();
	fuzz_check(data, size, leaf, NULL);
	fuzz_check(data, size, revoked, untrusted);
	return 0;
}
