/*
 * notify_testutil.h: what t_notify (message encoding and checking) and
 * t_notify_ipc (the nng transport) share: a good note, and a small PKI (a
 * CA, an intermediate and a leaf, P-256, made by pki_make) with the fetch
 * requests built from it.  Like testutil.h, the helpers fail the running
 * cmocka test on any error.
 */
#ifndef STAPLEMQ_NOTIFY_TESTUTIL_H
#define STAPLEMQ_NOTIFY_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "notify.h"

#define CRL_URL		"http://crl.example.com/intermediate.crl"

/* Made by pki_make, freed by pki_free. */
extern EVP_PKEY	*ca_key, *int_key, *leaf_key;
extern X509	*ca, *inter, *leaf;
extern STACK_OF(X509) *rest;	/* inter, ca */

/* A note for generation gen. */
struct ipc_note_published good_note(uint64_t gen);

/* A certificate for cn, signed by issuer_key (self-signed if issuer NULL). */
X509	*make_cert(const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
	    EVP_PKEY *key, long serial, const char *comment);
void	 pki_make(void);
void	 pki_free(void);
/* The CN of a certificate, into buf. */
void	 cn_of(X509 *x, char *buf, int len);
/* A CRL request for leaf + rest into a buffer of exactly its size. */
uint8_t	*crl_request(size_t *len);
/*
 * A fetch request from parts: type, url (url_len bytes), then the chain
 * bytes as given; length, url_len and chain_len filled in.  Into buf.
 */
size_t	 build_fetch(uint8_t *buf, int type, const char *url,
	    size_t url_len, const uint8_t *chain, size_t chain_len);

#endif
