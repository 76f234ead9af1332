/*
 * chain.c: certificate chain files and issuers, shared by both daemons.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "chain.h"
#include "log.h"
#include "ossl.h"

#define CHAIN_PEM_MAX	(1024 * 1024)		/* largest file read */
#define CHAIN_KEY_MARK	"PRIVATE KEY-----"	/* any PEM private key */

/* All of path, NUL-terminated, malloc'ed; at most CHAIN_PEM_MAX bytes. */
static int
chain_read_file(const char *path, char **buf, size_t *len)
{
	FILE *fp;
	char *b = NULL;
	size_t n;
	int rc = -1;

	*buf = NULL;
	if ((fp = fopen(path, "r")) == NULL) {
		log_warn("%s", path);
		return -1;
	}
	if ((b = malloc(CHAIN_PEM_MAX + 1)) == NULL) {
		log_warn("%s", path);
		goto fail;
	}
	n = fread(b, 1, CHAIN_PEM_MAX + 1, fp);
	if (ferror(fp)) {
		log_warn("%s", path);
		goto fail;
	}
	if (n > CHAIN_PEM_MAX) {
		log_warnx("%s: larger than %d bytes", path, CHAIN_PEM_MAX);
		goto fail;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	b = NULL;
	rc = 0;
fail:
	free(b);
	fclose(fp);
	return rc;
}

/*
 * Certificates only: a file that holds a private key is refused, and its
 * bytes wiped before anything is parsed, so that a certfile the fetcher
 * reads can never hand it a key.
 */
int
chain_load(const char *path, X509 **leaf, STACK_OF(X509) **chain)
{
	BIO *bio = NULL;
	X509 *x;
	char *buf = NULL;
	size_t len = 0;
	unsigned long e;
	int rc = -1;

	*leaf = NULL;
	*chain = NULL;
	if (chain_read_file(path, &buf, &len) == -1)
		return -1;
	/* memmem: a NUL byte must not hide what follows it. */
	if (memmem(buf, len, CHAIN_KEY_MARK, strlen(CHAIN_KEY_MARK)) != NULL) {
		log_warnx("%s holds a private key: give the fetcher the "
		    "certificates alone", path);
		goto fail;
	}
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL ||
	    (*chain = sk_X509_new_null()) == NULL) {
		log_warnx("%s: %s", path, ossl_error());
		goto fail;
	}
	ERR_clear_error();
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (*leaf == NULL)
			*leaf = x;
		else if (!sk_X509_push(*chain, x)) {
			X509_free(x);
			log_warnx("%s: out of memory", path);
			goto fail;
		}
	}
	/* The end of the file reads as "no start line"; anything else not. */
	e = ERR_peek_last_error();
	if (ERR_GET_LIB(e) != ERR_LIB_PEM ||
	    ERR_GET_REASON(e) != PEM_R_NO_START_LINE) {
		log_warnx("%s: bad certificate: %s", path, ossl_error());
		goto fail;
	}
	ERR_clear_error();
	if (*leaf == NULL) {
		log_warnx("%s: no certificate", path);
		goto fail;
	}
	rc = 0;
fail:
	if (rc == -1) {
		X509_free(*leaf);
		sk_X509_pop_free(*chain, X509_free);
		*leaf = NULL;
		*chain = NULL;
	}
	BIO_free(bio);
	OPENSSL_cleanse(buf, len);	/* whatever it held, it is gone */
	free(buf);
	return rc;
}

static X509 *
chain_issuer_file(const char *label, const char *path, X509 *leaf)
{
	X509 *x = NULL;
	BIO *bio;

	if ((bio = BIO_new_file(path, "r")) != NULL) {
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		BIO_free(bio);
	}
	ERR_clear_error();
	if (x == NULL || X509_check_issued(x, leaf) != X509_V_OK) {
		log_err("%s: ocsp.issuer_pem %s %s", label, path, x == NULL ?
		    "cannot be read" : "did not issue the certificate");
		X509_free(x);
		return NULL;
	}
	return x;
}

X509 *
chain_issuer(const char *label, const char *issuer_pem, X509 *leaf,
    STACK_OF(X509) *rest)
{
	X509 *x;
	int i;

	if (issuer_pem != NULL && *issuer_pem != '\0')
		return chain_issuer_file(label, issuer_pem, leaf);
	for (i = 0; i < sk_X509_num(rest); i++) {
		x = sk_X509_value(rest, i);
		if (X509_check_issued(x, leaf) == X509_V_OK) {
			X509_up_ref(x);
			return x;
		}
	}
	log_err("%s: the certificate file holds no issuer of its "
	    "certificate; add the chain or set ssl_options.ocsp.issuer_pem",
	    label);
	return NULL;
}

int
chain_cert_id(X509 *x, uint8_t id[32])
{
	unsigned char *der = NULL;
	unsigned int mdlen;
	int len, rc;

	if ((len = i2d_X509(x, &der)) <= 0)
		return -1;
	rc = EVP_Digest(der, len, id, &mdlen, EVP_sha256(), NULL) == 1 ?
	    0 : -1;
	OPENSSL_free(der);
	return rc;
}
