/*
 * tls_psk.c: TLS-PSK on the ssl listeners: the OpenSSL callbacks that
 * find an identity's key (TLS 1.2 PSK and RSA-PSK suites, TLS 1.3
 * external PSKs), the proof that a handshake really used it, and the
 * identity table's import at start-up and on SIGHUP.
 *
 * psk_authentication.enable is global, as in EMQX: when it is on, every
 * ssl listener takes PSK clients next to its certificate clients.  The
 * table hangs off the broker and handshakes look identities up in
 * whatever table is current, so a reload counts from the next handshake;
 * the clients of identities it removes or re-keys are closed.
 *
 * The identity a callback found is kept on the SSL (ex_data, freed with
 * it) and lent to the client as c->psk_identity.  It counts only once
 * tls_psk_identity() has checked that the finished handshake used it:
 * a TLS 1.3 client may offer a PSK that the server then ignores.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "broker.h"
#include "log.h"
#include "ossl.h"
#include "psk.h"

#define TLS_PSK_LOG_MAX	64	/* bytes of a peer's identity logged */

/*
 * The session id context of PSK sessions, which no listener uses.  TLS
 * 1.2: neither the session cache nor a ticket can then resume a PSK
 * session, which would skip the identity lookup and so a reload that
 * removed it.  TLS 1.3: OpenSSL refuses a PSK on a verify_peer listener
 * whose context is empty.
 */
#define TLS_PSK_SID_CTX		"staplemq:psk:never-resumed"

static int tls_psk_ssl_idx = -1;	/* SSL: identity (char *), owned */
static int tls_psk_sess_idx = -1;	/* SSL_SESSION: &tls_psk_mark */
static const char tls_psk_mark = 'P';	/* "built by tls_psk_find_cb" */

/* TLS_AES_128_GCM_SHA256: RFC 8446's default for external PSKs. */
static const unsigned char tls_psk_aes128gcm[] = { 0x13, 0x01 };

static void
tls_psk_ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
    long argl, void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	free(ptr);
}

static int
tls_psk_indexes(void)
{
	if (tls_psk_ssl_idx == -1)
		tls_psk_ssl_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL,
		    tls_psk_ex_free);
	/* The mark is static: dup'ed sessions share it, nobody frees it. */
	if (tls_psk_sess_idx == -1)
		tls_psk_sess_idx = SSL_SESSION_get_ex_new_index(0, NULL, NULL,
		    NULL, NULL);
	if (tls_psk_ssl_idx == -1 || tls_psk_sess_idx == -1) {
		log_err("SSL ex_data index: %s", ossl_error());
		return -1;
	}
	return 0;
}

/* --- handshake callbacks ------------------------------------------------ */

/*
 * The entry for a peer's identity, or NULL (logged when it is text: TLS
 * 1.3 tickets come through here too and are not worth a line each).
 */
static const struct psk_entry *
tls_psk_lookup(struct client *c, const void *id, size_t len)
{
	const struct psk_entry	*e;
	const unsigned char	*p = id;
	char			 shown[TLS_PSK_LOG_MAX + 1];
	size_t			 i, n;

	if ((e = psk_find(c->broker->psk, id, len)) != NULL)
		return e;
	n = len < TLS_PSK_LOG_MAX ? len : TLS_PSK_LOG_MAX;
	for (i = 0; i < n; i++) {
		if (p[i] < 0x20 || p[i] >= 0x7f)
			return NULL;
		shown[i] = (char)p[i];
	}
	shown[n] = '\0';
	log_info("%s: %s: unknown PSK identity \"%s%s\"", c->listener->name,
	    c->peer, shown, len > n ? "..." : "");
	return NULL;
}

/* Keep a copy of e's identity on the SSL and lend it to the client. */
static int
tls_psk_note(struct client *c, SSL *ssl, const struct psk_entry *e)
{
	char	*id, *old;

	if ((id = strdup(e->identity)) == NULL)
		return -1;
	/* After a HelloRetryRequest the callbacks run a second time. */
	old = SSL_get_ex_data(ssl, tls_psk_ssl_idx);
	if (SSL_set_ex_data(ssl, tls_psk_ssl_idx, id) != 1) {
		free(id);
		return -1;
	}
	free(old);
	c->psk_identity = id;
	return 0;
}

/* TLS 1.2 (PSK-*, RSA-PSK-*, DHE-PSK-*, ECDHE-PSK-*): the key itself. */
static unsigned int
tls_psk_server_cb(SSL *ssl, const char *identity, unsigned char *psk,
    unsigned int max)
{
	struct client		*c = SSL_get_app_data(ssl);
	const struct psk_entry	*e;

	/* TLS 1.3 identities went to tls_psk_find_cb first. */
	if (c == NULL || identity == NULL || SSL_version(ssl) >= TLS1_3_VERSION)
		return 0;
	if ((e = tls_psk_lookup(c, identity, strlen(identity))) == NULL ||
	    e->secret_len > max || tls_psk_note(c, ssl, e) == -1)
		return 0;
	if (SSL_SESSION_set1_id_context(SSL_get_session(ssl),
	    (const unsigned char *)TLS_PSK_SID_CTX,
	    sizeof(TLS_PSK_SID_CTX) - 1) != 1)
		return 0;
	/* OpenSSL copies the key out and cleanses psk. */
	memcpy(psk, e->secret, e->secret_len);
	return (unsigned int)e->secret_len;
}

/*
 * The handshake hash of TLS 1.3 suites, by the low byte of their id
 * (0x13, xx), learnt from OpenSSL's own table the first time a handshake
 * asks, so that the hello callback can check every suite a client offers
 * for the price of a byte each (SSL_CIPHER_find() and
 * SSL_CIPHER_get_handshake_digest() cost about 1,000 instructions a
 * suite).  A suite's hash is a fact of the library, the same on every
 * listener and after every reload; the broker is single-threaded.
 */
enum tls_psk_md {
	TLS_PSK_MD_UNSEEN = 0,
	TLS_PSK_MD_SHA256,	/* the hash of an external PSK */
	TLS_PSK_MD_OTHER,	/* a TLS 1.3 suite the PSK cannot use */
	TLS_PSK_MD_NONE		/* not a TLS 1.3 suite OpenSSL knows */
};
static unsigned char tls_psk_md13[256];

static enum tls_psk_md
tls_psk_md(SSL *ssl, uint16_t id)
{
	const unsigned char	 b[2] = { id >> 8, id & 0xff };
	const SSL_CIPHER	*c;
	const EVP_MD		*md;
	unsigned char		*k = &tls_psk_md13[b[1]];

	if (b[0] != 0x13)
		return TLS_PSK_MD_NONE;
	if (*k == TLS_PSK_MD_UNSEEN) {
		if ((c = SSL_CIPHER_find(ssl, b)) == NULL ||
		    SSL_CIPHER_get_kx_nid(c) != NID_kx_any)
			*k = TLS_PSK_MD_NONE;
		else if ((md = SSL_CIPHER_get_handshake_digest(c)) != NULL &&
		    EVP_MD_get_type(md) == NID_sha256)
			*k = TLS_PSK_MD_SHA256;
		else
			*k = TLS_PSK_MD_OTHER;
	}
	return (enum tls_psk_md)*k;
}

/*
 * The cipher of a TLS 1.3 PSK session: its hash must be the one the
 * server picked (else OpenSSL ignores the PSK); SHA-256 is what clients
 * assume of an external PSK (RFC 8446 4.2.11), hence the hello callback.
 */
static const SSL_CIPHER *
tls_psk_cipher(SSL *ssl)
{
	const SSL_CIPHER	*c = SSL_get_pending_cipher(ssl);

	if (c != NULL && tls_psk_md(ssl, SSL_CIPHER_get_protocol_id(c)) ==
	    TLS_PSK_MD_SHA256)
		return c;
	return SSL_CIPHER_find(ssl, tls_psk_aes128gcm);
}

/*
 * TLS 1.3: a session carrying the key.  Returns 1 with *sessp NULL for an
 * identity that is not ours (it may be a ticket), 0 to fail the handshake.
 */
static int
tls_psk_find_cb(SSL *ssl, const unsigned char *identity, size_t len,
    SSL_SESSION **sessp)
{
	struct client		*c = SSL_get_app_data(ssl);
	const struct psk_entry	*e;
	const SSL_CIPHER	*cipher;
	SSL_SESSION		*sess = NULL;

	*sessp = NULL;
	if (c == NULL || (e = tls_psk_lookup(c, identity, len)) == NULL)
		return 1;
	if ((cipher = tls_psk_cipher(ssl)) == NULL ||
	    (sess = SSL_SESSION_new()) == NULL ||
	    SSL_SESSION_set1_master_key(sess, e->secret, e->secret_len) != 1 ||
	    SSL_SESSION_set_cipher(sess, cipher) != 1 ||
	    SSL_SESSION_set_protocol_version(sess, TLS1_3_VERSION) != 1 ||
	    SSL_SESSION_set_ex_data(sess, tls_psk_sess_idx,
	    (void *)&tls_psk_mark) != 1 ||
	    SSL_set_session_id_context(ssl,
	    (const unsigned char *)TLS_PSK_SID_CTX,
	    sizeof(TLS_PSK_SID_CTX) - 1) != 1 ||
	    tls_psk_note(c, ssl, e) == -1) {
		log_warnx("%s: %s: PSK session: %s", c->listener->name,
		    c->peer, ossl_error());
		SSL_SESSION_free(sess);	/* cleanses the key */
		return 0;
	}
	/* As for TLS 1.2 (TLS_PSK_SID_CTX): no ticket outlives a reload. */
	SSL_set_num_tickets(ssl, 0);
	*sessp = sess;			/* OpenSSL owns it now */
	return 1;
}

/* Does the pre_shared_key extension name an identity of ours? */
static bool
tls_psk_offered(const struct psk_table *t, const unsigned char *p,
    size_t len)
{
	size_t	 ids, n;

	if (len < 2 || (ids = (size_t)p[0] << 8 | p[1]) > len - 2)
		return false;
	for (p += 2; ids >= 2; p += 2 + n + 4, ids -= 2 + n + 4) {
		n = (size_t)p[0] << 8 | p[1];
		if (2 + n + 4 > ids)
			return false;
		if (psk_find(t, p + 2, n) != NULL)
			return true;
	}
	return false;
}

/*
 * Could the server pick a TLS 1.3 suite without SHA-256?  Only if the
 * client offers one: when all it offers hash with SHA-256, whatever the
 * listener's order and the client's, the pick can carry the PSK.
 */
static bool
tls_psk_other_hash(SSL *ssl)
{
	const unsigned char	*p;
	size_t			 len, i;

	len = SSL_client_hello_get0_ciphers(ssl, &p);	/* ssl's */
	for (i = 0; i + 1 < len; i += 2)
		if (p[i] == 0x13 && tls_psk_md(ssl, (uint16_t)(p[i] << 8 |
		    p[i + 1])) == TLS_PSK_MD_OTHER)
			return true;
	return false;
}

/*
 * Before the server picks a TLS 1.3 suite: when the client offers one of
 * our identities, pick among the SHA-256 suites, whatever the order of
 * preference, or the PSK would be ignored.  SSL_set_ciphersuites()
 * rebuilds and sorts the handshake's whole cipher list (as much work as
 * the rest of what the broker does per connection), so it runs only when
 * the client offers a suite the PSK cannot use.
 */
static int
tls_psk_hello_cb(SSL *ssl, int *alert, void *arg)
{
	struct client		*c = SSL_get_app_data(ssl);
	const unsigned char	*p;
	size_t			 len;

	(void)alert;
	(void)arg;
	if (c == NULL || c->listener->psk_suites == NULL ||
	    SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_psk, &p, &len) != 1 ||
	    !tls_psk_other_hash(ssl) ||
	    !tls_psk_offered(c->broker->psk, p, len))
		return SSL_CLIENT_HELLO_SUCCESS;
	if (SSL_set_ciphersuites(ssl, c->listener->psk_suites) != 1)
		ERR_clear_error();
	return SSL_CLIENT_HELLO_SUCCESS;
}

/* --- listeners and clients ---------------------------------------------- */

static bool
tls_psk_kx(const SSL_CIPHER *c)
{
	switch (SSL_CIPHER_get_kx_nid(c)) {
	case NID_kx_psk:
	case NID_kx_rsa_psk:
	case NID_kx_dhe_psk:
	case NID_kx_ecdhe_psk:
		return true;
	default:
		return false;
	}
}

/*
 * The listener's TLS 1.3 suites with SHA-256, "A:B", or NULL; *tls12 says
 * whether any TLS 1.2 PSK suite is on.
 */
static char *
tls_psk_suites(SSL_CTX *ctx, bool *tls12)
{
	STACK_OF(SSL_CIPHER)	*sk = SSL_CTX_get_ciphers(ctx);	/* ctx's */
	const SSL_CIPHER	*c;
	const EVP_MD		*md;
	char			 buf[512];
	size_t			 used = 0, n;
	int			 i;

	*tls12 = false;
	for (i = 0; i < sk_SSL_CIPHER_num(sk); i++) {
		c = sk_SSL_CIPHER_value(sk, i);
		/* Only TLS 1.3 suites leave the key exchange open. */
		if (SSL_CIPHER_get_kx_nid(c) != NID_kx_any) {
			*tls12 = *tls12 || tls_psk_kx(c);
			continue;
		}
		if ((md = SSL_CIPHER_get_handshake_digest(c)) == NULL ||
		    EVP_MD_get_type(md) != NID_sha256)
			continue;
		n = strlen(SSL_CIPHER_get_name(c));
		if (used + n + 2 > sizeof(buf))
			break;
		if (used > 0)
			buf[used++] = ':';
		memcpy(buf + used, SSL_CIPHER_get_name(c), n);
		used += n;
	}
	buf[used] = '\0';
	return used > 0 ? strdup(buf) : NULL;
}

/*
 * Set up an ssl listener's context for PSK when psk_authentication is on;
 * says when the listener's versions and ciphers leave PSK clients out.
 * Returns 0, or -1 after logging.
 */
int
tls_psk_listener(struct listener *l, const struct conf *conf)
{
	bool	 tls12, v12, v13;
	int	 lo, hi;

	if (!l->tls || !conf_bool(conf->root, "psk_authentication.enable"))
		return 0;
	if (tls_psk_indexes() == -1)
		return -1;
	SSL_CTX_set_psk_server_callback(l->ctx, tls_psk_server_cb);
	SSL_CTX_set_psk_find_session_callback(l->ctx, tls_psk_find_cb);
	SSL_CTX_set_client_hello_cb(l->ctx, tls_psk_hello_cb, NULL);
	l->psk_suites = tls_psk_suites(l->ctx, &tls12);
	lo = SSL_CTX_get_min_proto_version(l->ctx);
	hi = SSL_CTX_get_max_proto_version(l->ctx);
	v13 = hi == 0 || hi >= TLS1_3_VERSION;
	v12 = (hi == 0 || hi >= TLS1_2_VERSION) && lo <= TLS1_2_VERSION &&
	    (SSL_CTX_get_options(l->ctx) & SSL_OP_NO_TLSv1_2) == 0;
	if (v13 && l->psk_suites == NULL)
		log_warnx("%s: no SHA-256 TLS 1.3 suite in "
		    "ssl_options.ciphers: TLS 1.3 PSK clients get the "
		    "certificate instead", l->name);
	if ((!v12 || !tls12) && (!v13 || l->psk_suites == NULL))
		log_warnx("%s: psk_authentication is on, but "
		    "ssl_options.versions and ciphers leave no PSK suite: PSK "
		    "clients cannot connect", l->name);
	return 0;
}

/*
 * The client's PSK identity if its finished handshake used that PSK, else
 * NULL (and the client forgets the identity it offered).
 */
const char *
tls_psk_identity(struct client *c)
{
	const SSL_CIPHER	*cipher;
	SSL_SESSION		*sess;

	if (c->psk_identity == NULL || c->ssl == NULL ||
	    !SSL_is_init_finished(c->ssl))
		return NULL;
	if (SSL_version(c->ssl) >= TLS1_3_VERSION) {
		/* Our session, not a ticket offered after our identity. */
		sess = SSL_get_session(c->ssl);
		if (SSL_session_reused(c->ssl) && sess != NULL &&
		    SSL_SESSION_get_ex_data(sess, tls_psk_sess_idx) ==
		    &tls_psk_mark)
			return c->psk_identity;
	} else if ((cipher = SSL_get_current_cipher(c->ssl)) != NULL &&
	    tls_psk_kx(cipher) && !SSL_session_reused(c->ssl))
		return c->psk_identity;
	c->psk_identity = NULL;
	return NULL;
}

/* --- the table ------------------------------------------------------------ */

/*
 * Read the identity file of conf into *out (NULL when PSK is off or no
 * file is named).  b is NULL for -t; otherwise psk_authentication.enable
 * keeps its start-up value, as listeners are not rebuilt on SIGHUP.
 * Returns 0, or -1 after logging every error.
 */
int
tls_psk_load(struct broker *b, const struct conf *conf,
    struct psk_table **out)
{
	const struct conf_node	*r = conf->root;
	const char		*path;
	bool			 on;
	struct timespec		 t0, t1;
	long long		 ms;

	*out = NULL;
	path = conf_str(r, "psk_authentication.init_file");
	on = conf_bool(r, "psk_authentication.enable");
	if (b != NULL && on != b->psk_enabled) {
		log_warnx("psk_authentication.enable changes at restart; "
		    "PSK stays %s", b->psk_enabled ? "on" : "off");
		on = b->psk_enabled;
	}
	if (!on)
		return 0;
	if (*path == '\0') {
		log_warnx("psk_authentication.init_file is empty: no PSK "
		    "identity can connect");
		return 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((*out = psk_load(path, conf_str(r,
	    "psk_authentication.separator"))) == NULL)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (long long)(t1.tv_sec - t0.tv_sec) * 1000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000000;
	if (b != NULL)
		log_notice("%s: %zu PSK identities loaded in %lld ms", path,
		    psk_count(*out), ms);
	return 0;
}

/* -t: is the identity file of conf valid? */
int
tls_psk_check(const struct conf *conf)
{
	struct psk_table	*t;

	if (tls_psk_load(NULL, conf, &t) == -1)
		return -1;
	psk_free(t);
	return 0;
}

/* Start-up, after the listeners are built. */
int
tls_psk_start(struct broker *b)
{
	struct listener	*l;
	bool		 ssl = false;

	b->psk_enabled = conf_bool(b->conf->root, "psk_authentication.enable");
	if (!b->psk_enabled)
		return 0;
	TAILQ_FOREACH(l, &b->listeners, entry)
		ssl = ssl || l->tls;
	if (!ssl)
		log_warnx("psk_authentication is on, but no ssl listener "
		    "is: PSK needs TLS");
	return tls_psk_load(b, b->conf, &b->psk);
}

/*
 * Make t the table (the broker owns it from now on) and close the
 * clients whose identity it removed or gave another secret: the secret
 * they proved is no longer the one we hold.
 */
void
tls_psk_swap(struct broker *b, struct psk_table *t)
{
	struct client		*c, *next;
	const struct psk_entry	*o, *n;
	size_t			 closed = 0, len;

	if (!b->psk_enabled) {
		psk_free(t);
		return;
	}
	for (c = TAILQ_FIRST(&b->clients); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->psk_identity == NULL)
			continue;
		len = strlen(c->psk_identity);
		o = psk_find(b->psk, c->psk_identity, len);
		n = psk_find(t, c->psk_identity, len);
		if (o != NULL && n != NULL && psk_same_secret(o, n))
			continue;
		log_notice("%s: %s: PSK identity \"%s\" %s; disconnecting",
		    c->listener->name, c->peer, c->psk_identity,
		    n == NULL ? "removed" : "has a new secret");
		client_close(c, "PSK identity withdrawn by a reload");
		closed++;
	}
	psk_free(b->psk);
	b->psk = t;
	log_notice("%zu PSK identities in use; %zu clients disconnected",
	    psk_count(t), closed);
}
