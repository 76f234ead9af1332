/*
 * crl_gen.c: make a large CRL for tests/bench/crl_bench.sh, signed by a
 * CA of the demo PKI.  `openssl ca -gencrl` reads its whole index.txt
 * through CONF and takes minutes for a million lines; this builds the
 * same kind of CRL (v2, CRL number, one reason code per entry, 16-octet
 * serials in no particular order, as `rand_serial` CAs make them) with
 * OpenSSL's API in seconds.
 *
 *     crl_gen CA.pem CA.key ENTRIES NUMBER OUT.der [SERIAL_HEX ...]
 *
 * The SERIAL_HEX arguments are revoked too (say, a real client of the
 * PKI, so the benchmark can check the table finds it).  thisUpdate is an
 * hour ago, nextUpdate a day ahead.  Exit 0, or 1 with a message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define GEN_HOUR	3600
#define GEN_DAY		86400
#define GEN_MIX		UINT64_C(0x9E3779B97F4A7C15)	/* golden ratio */
#define GEN_HIGH_BIT	(UINT64_C(1) << 62)		/* 8 octets, > 0 */

static void
die(const char *what)
{
	fprintf(stderr, "crl_gen: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static void *
pem_read(const char *path, int key)
{
	FILE *fp;
	void *p;

	if ((fp = fopen(path, "r")) == NULL)
		die(path);
	p = key ? (void *)PEM_read_PrivateKey(fp, NULL, NULL, NULL) :
	    (void *)PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	if (p == NULL)
		die(path);
	return p;
}

/* One entry: serial sn, revoked a day ago, reason keyCompromise. */
static void
add_entry(X509_CRL *crl, const ASN1_INTEGER *sn, const ASN1_TIME *when,
    ASN1_ENUMERATED *reason)
{
	X509_REVOKED *r;

	if ((r = X509_REVOKED_new()) == NULL ||
	    !X509_REVOKED_set_serialNumber(r, (ASN1_INTEGER *)sn) ||
	    !X509_REVOKED_set_revocationDate(r, (ASN1_TIME *)when) ||
	    !X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, reason, 0, 0) ||
	    !X509_CRL_add0_revoked(crl, r))
		die("cannot add an entry");
}

/* 16 octets from i: two 64-bit mixes side by side. */
static void
serial_of(uint64_t i, ASN1_INTEGER *sn, BIGNUM *bn)
{
	unsigned char b[16];
	uint64_t hi = (GEN_MIX * (i + 1)) | GEN_HIGH_BIT, lo = GEN_MIX *
	    (i + 7) ^ (i << 17);
	int k;

	for (k = 0; k < 8; k++) {
		b[k] = (unsigned char)(hi >> (56 - 8 * k));
		b[8 + k] = (unsigned char)(lo >> (56 - 8 * k));
	}
	if (BN_bin2bn(b, sizeof(b), bn) == NULL ||
	    BN_to_ASN1_INTEGER(bn, sn) == NULL)
		die("serial");
}

int
main(int argc, char **argv)
{
	X509 *ca;
	EVP_PKEY *key;
	X509_CRL *crl;
	ASN1_TIME *t;
	ASN1_INTEGER *sn, *num;
	ASN1_ENUMERATED *reason;
	BIGNUM *bn = NULL;
	unsigned long n, i;
	time_t now = time(NULL);
	FILE *out;
	int a;

	if (argc < 6) {
		fprintf(stderr, "usage: crl_gen CA.pem CA.key ENTRIES NUMBER "
		    "OUT.der [SERIAL_HEX ...]\n");
		return 1;
	}
	ca = pem_read(argv[1], 0);
	key = pem_read(argv[2], 1);
	n = strtoul(argv[3], NULL, 10);
	if ((crl = X509_CRL_new()) == NULL || !X509_CRL_set_version(crl, 1) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)))
		die("cannot make a CRL");
	if ((t = ASN1_TIME_set(NULL, now - GEN_HOUR)) == NULL ||
	    !X509_CRL_set1_lastUpdate(crl, t) ||
	    ASN1_TIME_set(t, now + GEN_DAY) == NULL ||
	    !X509_CRL_set1_nextUpdate(crl, t) ||
	    ASN1_TIME_set(t, now - GEN_DAY) == NULL)
		die("times");
	if ((reason = ASN1_ENUMERATED_new()) == NULL ||
	    !ASN1_ENUMERATED_set(reason, 1) ||
	    (sn = ASN1_INTEGER_new()) == NULL || (bn = BN_new()) == NULL)
		die("out of memory");
	for (i = 0; i < n; i++) {
		serial_of(i, sn, bn);
		add_entry(crl, sn, t, reason);
	}
	for (a = 6; a < argc; a++) {
		if (!BN_hex2bn(&bn, argv[a]) || !BN_to_ASN1_INTEGER(bn, sn))
			die(argv[a]);
		add_entry(crl, sn, t, reason);
	}
	if (!BN_dec2bn(&bn, argv[4]) || (num = BN_to_ASN1_INTEGER(bn,
	    NULL)) == NULL || !X509_CRL_add1_ext_i2d(crl, NID_crl_number, num,
	    0, 0))
		die("CRL number");
	if (!X509_CRL_sign(crl, key, EVP_sha256()))
		die("cannot sign");
	if ((out = fopen(argv[5], "wb")) == NULL)
		die(argv[5]);
	if (!i2d_X509_CRL_fp(out, crl) || fclose(out) != 0)
		die(argv[5]);
	ASN1_INTEGER_free(num);
	ASN1_INTEGER_free(sn);
	ASN1_ENUMERATED_free(reason);
	ASN1_TIME_free(t);
	BN_free(bn);
	X509_CRL_free(crl);
	EVP_PKEY_free(key);
	X509_free(ca);
	return 0;
}
