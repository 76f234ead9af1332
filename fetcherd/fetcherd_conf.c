/*
 * fetcherd_conf.c: the fetcher's part of the configuration: which server
 * certificates need a staple, where their issuer and responder are, and
 * how often to refresh.  It reads certificate chains, never a key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/x509v3.h>

#include "chain.h"
#include "fetcherd.h"
#include "log.h"
#include "xmalloc.h"

static char *
nonempty_dup(const char *s)
{
	return s == NULL || *s == '\0' ? NULL : xstrdup(s);
}

/* Responders: the configured one, else every OCSP URL of the AIA. */
static void
target_urls(struct target *t)
{
	STACK_OF(OPENSSL_STRING) *aia;
	int i;

	if (t->responder_url != NULL) {
		t->urls = xcalloc(1, sizeof(*t->urls));
		t->urls[t->nurls++] = xstrdup(t->responder_url);
		return;
	}
	if ((aia = X509_get1_ocsp(t->leaf)) == NULL)
		return;
	t->urls = xcalloc(sk_OPENSSL_STRING_num(aia), sizeof(*t->urls));
	for (i = 0; i < sk_OPENSSL_STRING_num(aia); i++)
		t->urls[t->nurls++] = xstrdup(sk_OPENSSL_STRING_value(aia, i));
	X509_email_free(aia);
}

static int
target_load(struct target *t)
{
	STACK_OF(X509) *rest = NULL;
	ASN1_INTEGER *sn;
	BIGNUM *bn = NULL;
	char buf[512], *hex;
	int rc = -1;

	/* Only the chain: the private key is none of the fetcher's business. */
	if (chain_load(t->certfile, &t->leaf, &rest) == -1) {
		log_err("%s: certfile %s: cannot read a certificate",
		    t->listener, t->certfile);
		goto done;
	}
	if ((t->issuer = chain_issuer(t->listener, t->issuer_pem, t->leaf,
	    rest)) == NULL || chain_cert_id(t->leaf, t->id) == -1)
		goto done;
	X509_NAME_oneline(X509_get_subject_name(t->leaf), buf, sizeof(buf));
	t->subject = xstrdup(buf);
	sn = X509_get_serialNumber(t->leaf);
	if ((bn = ASN1_INTEGER_to_BN(sn, NULL)) == NULL ||
	    (hex = BN_bn2hex(bn)) == NULL)
		goto done;
	t->serial = xstrdup(hex);
	OPENSSL_free(hex);
	target_urls(t);
	if (t->nurls == 0)
		log_warnx("%s: %s has no OCSP URL in its AIA and no "
		    "ocsp.responder_url is set", t->listener, t->certfile);
	rc = 0;
done:
	BN_free(bn);
	sk_X509_pop_free(rest, X509_free);
	return rc;
}

static void
target_free(struct target *t)
{
	size_t i;

	if (t == NULL)
		return;
	if (t->timer != NULL)
		event_free(t->timer);
	X509_free(t->leaf);
	X509_free(t->issuer);
	for (i = 0; i < t->nurls; i++)
		free(t->urls[i]);
	free(t->urls);
	free(t->der);
	free(t->subject);
	free(t->serial);
	free(t->listener);
	free(t->certfile);
	free(t->issuer_pem);
	free(t->responder_url);
	free(t->cafile);
	free(t);
}

static int
target_add(struct target_head *head, const struct conf_node *ln,
    const char *certfile)
{
	struct target *t;

	t = xcalloc(1, sizeof(*t));
	xasprintf(&t->listener, "ssl:%s", ln->name);
	t->certfile = xstrdup(certfile);
	t->issuer_pem = nonempty_dup(conf_str(ln,
	    "ssl_options.ocsp.issuer_pem"));
	t->responder_url = nonempty_dup(conf_str(ln,
	    "ssl_options.ocsp.responder_url"));
	t->cafile = nonempty_dup(conf_str(ln,
	    "ssl_options.ocsp.responder_cafile"));
	t->refresh_ms = conf_num(ln, "ssl_options.ocsp.refresh_interval");
	t->timeout_ms = conf_num(ln, "ssl_options.ocsp.refresh_http_timeout");
	if (target_load(t) == -1) {
		target_free(t);
		return -1;
	}
	TAILQ_INSERT_TAIL(head, t, entry);
	return 0;
}

/* One target per certificate of every stapling ssl listener. */
int
targets_create(const struct conf *conf, struct target_head *head)
{
	const struct conf_node *ssl, *ln;
	size_t i, j;
	int rc = 0;

	TAILQ_INIT(head);
	if ((ssl = conf_find(conf->root, "listeners.ssl")) == NULL)
		return 0;
	for (i = 0; i < ssl->nkids; i++) {
		ln = ssl->kids[i];
		if (!conf_bool(ln, "enable") ||
		    !conf_bool(ln, "ssl_options.ocsp.enable_ocsp_stapling"))
			continue;
		for (j = 0; j < conf_len(ln, "ssl_options.certfile"); j++)
			if (target_add(head, ln, conf_item(ln,
			    "ssl_options.certfile", j)) == -1)
				rc = -1;
	}
	return rc;
}

void
targets_free(struct target_head *head)
{
	struct target *t;

	while ((t = TAILQ_FIRST(head)) != NULL) {
		TAILQ_REMOVE(head, t, entry);
		target_free(t);
	}
}

int
fetcherd_conf_check(const struct conf *conf)
{
	struct target_head head;
	int rc;

	rc = targets_create(conf, &head);
	targets_free(&head);
	return rc;
}
