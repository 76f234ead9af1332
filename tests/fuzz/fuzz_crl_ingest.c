/*
 * fuzz_crl_ingest.c: libFuzzer target for fetcherd/crl_ingest.c.
 *
 * The input is what a CRL server sends back (or a local CRL file).  It is
 * ingested against one fixed CA at a fixed time, with no previous CRL and
 * with one, so that the seeds in corpus/fuzz_crl_ingest (CRLs that CA
 * signed: reasons, a 20-octet serial, a sharded CRL with an
 * issuingDistributionPoint, PEM, 200 entries with duplicates) stay valid
 * and the fuzzer starts deep inside the checks.  A mutated CRL no longer
 * verifies, so the same bytes also go to crl_ingest_entries(), the entry
 * parser, as if they were a revokedCertificates list (the entries-* seeds
 * are).
 *
 * Beyond not crashing or leaking: a result must be coherent (a refusal
 * says why and holds nothing; entries are strictly increasing and each
 * one passes crl_entry_check(), what a table reader accepts; the times
 * are those of an accepted CRL) and OpenSSL's error queue is left empty
 * either way.
 *
 * The CA and the seeds were made once with python3-cryptography; its key
 * was thrown away after the seeds were signed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "crl_table.h"
#include "fetcherd/crl_ingest.h"

#define CHECK(x)	do { if (!(x)) __builtin_trap(); } while (0)
#define FUZZ_NOW	INT64_C(1795226400)	/* seeds' thisUpdate + 1 h */

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* CN=fuzz crl CA, self-signed, P-256, keyCertSign + cRLSign, 2026-2126. */
static const char ca_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBPzCB5qADAgECAgEBMAoGCCqGSM49BAMCMBYxFDASBgNVBAMMC2Z1enogY3Js\n"
	"IENBMCAXDTI2MTEyMDAxMDAwMFoYDzIxMjYxMDI4MDEwMDAwWjAWMRQwEgYDVQQD\n"
	"DAtmdXp6IGNybCBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABEa0zMJj2QR3\n"
	"LT5HSP1ACMxo6R0UFyP0O7sL8VNwiTi+pYY/NNbdfSt+6DzTLKPdJXW7vyV8SdKD\n"
	"uVb9RpyfpFijIzAhMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgEGMAoG\n"
	"CCqGSM49BAMCA0gAMEUCIQCiHw2phwFTomyzWsiTGtgukK6a4ljkhbu9E3oiwEGk\n"
	"WAIgc4I4XrZlM66CbBxIFbQJqRfBLd9wLCbZg22LN9reG94=\n"
	"-----END CERTIFICATE-----\n";

static STACK_OF(X509)	*cas;

static void	 fuzz_init(void);
static void	 fuzz_entries_ok(const struct crl_ingest_result *);
static void	 fuzz_check(const uint8_t *, size_t,
		    const struct crl_table_header *);

/* Made once and kept for the whole run. */
static void
fuzz_init(void)
{
	BIO *b;
	X509 *x;

	if (cas != NULL)
		return;
	CHECK((b = BIO_new_mem_buf(ca_pem, -1)) != NULL);
	CHECK((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL);
	BIO_free(b);
	CHECK((cas = sk_X509_new_null()) != NULL);
	CHECK(sk_X509_push(cas, x) > 0);
}

static void
fuzz_entries_ok(const struct crl_ingest_result *r)
{
	const struct crl_entry *e;
	char why[128];
	size_t i;

	CHECK(r->n <= CRL_TABLE_MAX_ENTRIES);
	CHECK(r->n == 0 || r->entries != NULL);
	for (i = 0; i < r->n; i++) {
		e = &r->entries[i];
		/* What a table reader accepts, so crl_table_write() will. */
		CHECK(crl_entry_check(e, why, sizeof(why)) == 0);
		if (i > 0)
			CHECK(crl_entry_cmp(&r->entries[i - 1], e) < 0);
	}
}

static void
fuzz_check(const uint8_t *data, size_t size,
    const struct crl_table_header *prev)
{
	struct crl_ingest_result r;
	struct crl_table_header h;
	int rc;

	rc = crl_ingest(data, size, cas, FUZZ_NOW, prev, &r);
	CHECK(ERR_peek_error() == 0);
	CHECK(memchr(r.reason, '\0', sizeof(r.reason)) != NULL);
	if (rc == -1) {
		CHECK(r.reason[0] != '\0');
		CHECK(r.entries == NULL && r.n == 0);
		return;
	}
	CHECK(rc == 0 && r.reason[0] == '\0');
	CHECK(r.this_update <= FUZZ_NOW + CRL_INGEST_SKEW);
	CHECK(r.next_update == 0 || r.next_update > r.this_update);
	CHECK(r.number_len <= CRL_SERIAL_MAX);
	CHECK(!r.unchanged || (prev != NULL && r.n == 0));
	fuzz_entries_ok(&r);
	crl_ingest_header(&r, &h);
	CHECK(h.count == r.n);
	crl_ingest_result_free(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct crl_ingest_result r;
	struct crl_table_header prev;

	fuzz_init();
	fuzz_check(data, size, NULL);
	/* As if CRL number 5 of an hour ago were in use. */
	memset(&prev, 0, sizeof(prev));
	prev.crl_number[0] = 5;
	prev.crl_number_len = 1;
	prev.this_update = FUZZ_NOW - 3600;
	fuzz_check(data, size, &prev);

	memset(&r, 0, sizeof(r));
	if (crl_ingest_entries(data, size, &r) == 0)
		fuzz_entries_ok(&r);
	else
		CHECK(r.entries == NULL && r.n == 0 && r.reason[0] != '\0');
	crl_ingest_result_free(&r);
	CHECK(ERR_peek_error() == 0);
	return 0;
}
