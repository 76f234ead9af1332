/*
 * chain.h: reading certificate chains and finding a certificate's issuer,
 * the same way in both daemons (they must agree on which certificate a
 * staple is for and who signed it).
 */
#ifndef STAPLEMQ_CHAIN_H
#define STAPLEMQ_CHAIN_H

#include <stdint.h>

#include <openssl/x509.h>

/* chain.c */
/*
 * Read a PEM file: the leaf and what follows it (both the caller's).
 * Refuses a file that holds a private key.  0, or -1 logged.
 */
int	 chain_load(const char *path, X509 **leaf, STACK_OF(X509) **chain);
/*
 * The issuer of leaf: the certificate in issuer_pem when that is set
 * (it must have issued leaf), else the first of rest that did.  Returns a
 * new reference, or NULL after logging with label (a listener name).
 */
X509	*chain_issuer(const char *label, const char *issuer_pem, X509 *leaf,
	    STACK_OF(X509) *rest);
/* SHA-256 of the DER: the id snapshots key staples by. */
int	 chain_cert_id(X509 *, uint8_t id[32]);

#endif
