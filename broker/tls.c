/*
 * tls.c: build a listener's SSL_CTX from its ssl_options block.
 *
 * Everything that can be wrong with certificates, keys, versions or cipher
 * names is found here, at start-up or on `-t`, and named with the listener
 * and the file, so that no handshake ever meets a half-configured context.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/buffer.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "broker.h"
#include "log.h"
#include "ossl.h"
#include "xmalloc.h"

static const struct {
	const char	*name;
	int		 version;
} tls_versions[] = {
	{ "tlsv1", TLS1_VERSION },
	{ "tlsv1.1", TLS1_1_VERSION },
	{ "tlsv1.2", TLS1_2_VERSION },
	{ "tlsv1.3", TLS1_3_VERSION },
};
#define NVERSIONS (sizeof(tls_versions) / sizeof(tls_versions[0]))

/*
 * A private key that others can read is a key that is already shared;
 * refuse it as OpenBSD's daemons do, so the mistake is found before use.
 */
static int
tls_key_mode_ok(const char *listener, const char *path)
{
	struct stat st;

	if (stat(path, &st) == -1) {
		log_err("%s: keyfile %s: %s", listener, path, strerror(errno));
		return -1;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		log_err("%s: keyfile %s is accessible by group or others "
		    "(mode %03o); chmod 600 it", listener, path,
		    (unsigned)(st.st_mode & 0777));
		return -1;
	}
	return 0;
}

static int
tls_load_pairs(SSL_CTX *ctx, const struct conf_node *so, const char *name)
{
	size_t i, n = conf_len(so, "certfile");
	const char *cert, *key;

	if (n == 0 || conf_len(so, "keyfile") != n) {
		log_err("%s: ssl_options.certfile and keyfile must name the "
		    "same number of files (%zu and %zu)", name, n,
		    conf_len(so, "keyfile"));
		return -1;
	}
	/* OpenSSL keeps one certificate per key type; the handshake picks. */
	for (i = 0; i < n; i++) {
		cert = conf_item(so, "certfile", i);
		key = conf_item(so, "keyfile", i);
		if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
			log_err("%s: certfile %s: %s", name, cert, ossl_error());
			return -1;
		}
		if (tls_key_mode_ok(name, key) == -1)
			return -1;
		if (SSL_CTX_use_PrivateKey_file(ctx, key,
		    SSL_FILETYPE_PEM) != 1) {
			log_err("%s: keyfile %s: %s", name, key, ossl_error());
			return -1;
		}
		if (SSL_CTX_check_private_key(ctx) != 1) {
			log_err("%s: keyfile %s does not match certfile %s: %s",
			    name, key, cert, ossl_error());
			return -1;
		}
	}
	return 0;
}

static int
tls_set_versions(SSL_CTX *ctx, const struct conf_node *so, const char *name)
{
	bool want[NVERSIONS] = { false };
	size_t i, j, n = conf_len(so, "versions");
	int lo = -1, hi = -1;
	long opts = 0;
	const char *v;

	for (i = 0; i < n; i++) {
		v = conf_item(so, "versions", i);
		for (j = 0; j < NVERSIONS; j++)
			if (strcmp(v, tls_versions[j].name) == 0)
				break;
		if (j == NVERSIONS) {
			log_err("%s: ssl_options.versions: unknown version "
			    "\"%s\" (tlsv1.3, tlsv1.2, tlsv1.1, tlsv1)",
			    name, v);
			return -1;
		}
		want[j] = true;
		if (lo == -1 || (int)j < lo)
			lo = j;
		if (hi == -1 || (int)j > hi)
			hi = j;
	}
	/* A gap in the list ("tlsv1.3", "tlsv1.1") is honoured too. */
	for (j = lo; (int)j <= hi; j++)
		if (!want[j])
			opts |= tls_versions[j].version == TLS1_1_VERSION ?
			    SSL_OP_NO_TLSv1_1 : SSL_OP_NO_TLSv1_2;
	if (SSL_CTX_set_min_proto_version(ctx, tls_versions[lo].version) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, tls_versions[hi].version) != 1) {
		log_err("%s: ssl_options.versions: %s", name, ossl_error());
		return -1;
	}
	SSL_CTX_set_options(ctx, opts);
	/* OpenSSL 3 refuses TLS < 1.2 at security level 1 and above. */
	if (tls_versions[lo].version < TLS1_2_VERSION)
		SSL_CTX_set_security_level(ctx, 0);
	return 0;
}

/* Append one cipher name to the TLS 1.2 list or the TLS 1.3 suites. */
static int
tls_cipher_add(const char *name, const char *c, char **list, char **suites)
{
	char **dst = strncmp(c, "TLS_", 4) == 0 ? suites : list;
	char *s;
	SSL_CTX *probe;
	int ok;

	/*
	 * EMQX's PSK example lists RSA-PSK-RC4-SHA, which RFC 7465 forbids
	 * and OpenSSL 3 lacks: drop RC4 names loudly so the block still loads.
	 */
	if (strstr(c, "RC4") != NULL) {
		log_warnx("%s: ssl_options.ciphers: \"%s\" skipped: RC4 is "
		    "prohibited (RFC 7465)", name, c);
		return 0;
	}
	/* OpenSSL skips unknown TLS 1.2 names silently; check each one. */
	if ((probe = SSL_CTX_new(TLS_method())) == NULL)
		return -1;
	ok = dst == suites ? SSL_CTX_set_ciphersuites(probe, c) :
	    SSL_CTX_set_cipher_list(probe, c);
	SSL_CTX_free(probe);
	ERR_clear_error();
	if (ok != 1) {
		log_err("%s: ssl_options.ciphers: unknown cipher \"%s\"",
		    name, c);
		return -1;
	}
	xasprintf(&s, "%s%s%s", *dst ? *dst : "", *dst ? ":" : "", c);
	free(*dst);
	*dst = s;
	return 0;
}

static int
tls_set_ciphers(SSL_CTX *ctx, const struct conf_node *so, const char *name)
{
	char *list = NULL, *suites = NULL, *item, *tok, *save;
	size_t i, n = conf_len(so, "ciphers");
	int rc = -1;

	/* EMQX accepts both an array and one comma-separated string. */
	for (i = 0; i < n; i++) {
		item = xstrdup(conf_item(so, "ciphers", i));
		for (tok = strtok_r(item, ", :", &save); tok != NULL;
		    tok = strtok_r(NULL, ", :", &save))
			if (tls_cipher_add(name, tok, &list, &suites) == -1) {
				free(item);
				goto done;
			}
		free(item);
	}
	if (list != NULL && SSL_CTX_set_cipher_list(ctx, list) != 1) {
		log_err("%s: ssl_options.ciphers: %s", name, ossl_error());
		goto done;
	}
	if (suites != NULL && SSL_CTX_set_ciphersuites(ctx, suites) != 1) {
		log_err("%s: ssl_options.ciphers: %s", name, ossl_error());
		goto done;
	}
	rc = 0;
done:
	free(list);
	free(suites);
	return rc;
}

static int
tls_set_verify(SSL_CTX *ctx, const struct conf_node *so, const char *name)
{
	const char *ca = conf_str(so, "cacertfile");
	STACK_OF(X509_NAME) *names;
	int mode = SSL_VERIFY_NONE;

	if (ca != NULL && *ca != '\0') {
		if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
			log_err("%s: cacertfile %s: %s", name, ca,
			    ossl_error());
			return -1;
		}
		/* The CA names tell clients which certificate to send. */
		if ((names = SSL_load_client_CA_file(ca)) != NULL)
			SSL_CTX_set_client_CA_list(ctx, names); /* owns names */
		ERR_clear_error();
	}
	if (strcmp(conf_str(so, "verify"), "verify_peer") == 0) {
		if (ca == NULL || *ca == '\0') {
			log_err("%s: verify = verify_peer needs "
			    "ssl_options.cacertfile", name);
			return -1;
		}
		mode = SSL_VERIFY_PEER;
		if (conf_bool(so, "fail_if_no_peer_cert"))
			mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
	}
	SSL_CTX_set_verify(ctx, mode, NULL);
	return 0;
}

/* No TLS 1.3 tickets, no TLS 1.2 tickets or session cache: no resumption. */
void
tls_ctx_no_resumption(SSL_CTX *ctx)
{
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
}

SSL_CTX *
tls_ctx_new(const struct conf_node *so, const char *name)
{
	SSL_CTX *ctx;
	long opts = SSL_OP_NO_COMPRESSION;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		log_err("%s: SSL_CTX_new: %s", name, ossl_error());
		return NULL;
	}
	if (conf_bool(so, "honor_cipher_order"))
		opts |= SSL_OP_CIPHER_SERVER_PREFERENCE;
	if (conf_bool(so, "client_renegotiation"))
		opts |= SSL_OP_ALLOW_CLIENT_RENEGOTIATION;
	SSL_CTX_set_options(ctx, opts);
	/* Resumed sessions must come back to the listener that made them. */
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)name,
	    strlen(name) > SSL_MAX_SID_CTX_LENGTH ? SSL_MAX_SID_CTX_LENGTH :
	    strlen(name));
	if (!conf_bool(so, "reuse_sessions"))
		tls_ctx_no_resumption(ctx);
	/*
	 * Whole socket reads, not a 5-byte header and then the record: a
	 * quarter fewer system calls per connection.  client.c re-reads
	 * what OpenSSL holds when it stops reading.
	 */
	SSL_CTX_set_read_ahead(ctx, 1);
	/* DHE suites (DHE-PSK among them) need parameters. */
	SSL_CTX_set_dh_auto(ctx, 1);
	/* Idle connections give their read and write buffers back. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS |
	    SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* Every step runs, so that -t reports every mistake at once. */
	if ((tls_load_pairs(ctx, so, name) |
	    tls_set_versions(ctx, so, name) |
	    tls_set_ciphers(ctx, so, name) |
	    tls_set_verify(ctx, so, name)) != 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/*
 * A field of the verified client certificate, for EMQX's
 * peer_cert_as_username and peer_cert_as_clientid: "cn", "dn", "crt"
 * (DER, base64), "pem" or "md5" (of the DER, hex).  Returns a new string,
 * or NULL when there is no certificate or no such field.
 */
char *
tls_peer_cert_field(SSL *ssl, const char *kind)
{
	X509 *cert = SSL_get0_peer_certificate(ssl);	/* not owned */
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen, i;
	char *out = NULL;
	BIO *bio = NULL;
	BUF_MEM *mem;
	int len;

	if (cert == NULL)
		return NULL;
	if (strcmp(kind, "cn") == 0) {
		char cn[256];

		if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert),
		    NID_commonName, cn, sizeof(cn)) <= 0)
			return NULL;
		return strdup(cn);
	}
	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	if (strcmp(kind, "dn") == 0)
		X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0,
		    XN_FLAG_RFC2253);
	else if (strcmp(kind, "pem") == 0)
		PEM_write_bio_X509(bio, cert);
	else if ((len = i2d_X509(cert, &der)) > 0) {
		if (strcmp(kind, "md5") == 0) {
			if (EVP_Digest(der, len, md, &mdlen, EVP_md5(),
			    NULL) == 1)
				for (i = 0; i < mdlen; i++)
					BIO_printf(bio, "%02x", md[i]);
		} else {
			BIO *b64 = BIO_new(BIO_f_base64());

			if (b64 != NULL) {
				BIO_set_flags(b64, BIO_FLAGS_BASE64_NO_NL);
				BIO_push(b64, bio);
				BIO_write(b64, der, len);
				(void)BIO_flush(b64);
				BIO_pop(b64);
				BIO_free(b64);
			}
		}
	}
	BIO_get_mem_ptr(bio, &mem);
	if (mem != NULL && mem->length > 0)
		out = strndup(mem->data, mem->length);
	OPENSSL_free(der);
	BIO_free(bio);
	ERR_clear_error();
	return out;
}
