/*
 * fetcherd_conf.c: the fetcher's part of the configuration: which server
 * certificates need a staple, where their issuer and responder are, and
 * how often to refresh; and for client certificates, which CAs their CRLs
 * and chains must verify against and where CRLs and OCSP answers come
 * from.  It reads certificate chains, never a key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* x joins the CAs unless the same certificate is there: rc owns it. */
static int
revconf_add_ca(struct revconf *rc, X509 *x)
{
	int i;

	for (i = 0; i < sk_X509_num(rc->cas); i++)
		if (X509_cmp(sk_X509_value(rc->cas, i), x) == 0) {
			X509_free(x);
			return 0;
		}
	/* The store takes its own reference; the stack keeps ours. */
	if (X509_STORE_add_cert(rc->store, x) != 1 || !sk_X509_push(rc->cas,
	    x)) {
		X509_free(x);
		return -1;
	}
	return 0;
}

/* Every certificate of one cacertfile (a file with a key is refused). */
static int
revconf_cafile(struct revconf *rc, const char *label, const char *path)
{
	STACK_OF(X509) *rest = NULL;
	X509 *leaf = NULL, *x;
	int ret = 0;

	if (chain_load(path, &leaf, &rest) == -1) {
		log_err("%s: cacertfile %s: cannot read its certificates",
		    label, path);
		return -1;
	}
	if (revconf_add_ca(rc, leaf) == -1)
		ret = -1;
	while ((x = sk_X509_shift(rest)) != NULL)
		if (revconf_add_ca(rc, x) == -1)
			ret = -1;
	sk_X509_free(rest);
	if (ret == -1)
		log_err("%s: cacertfile %s: out of memory", label, path);
	return ret;
}

static bool
revconf_http_url(const char *u)
{
	return strncasecmp(u, "http://", 7) == 0 ||
	    strncasecmp(u, "https://", 8) == 0;
}

/* The client OCSP settings of one listener with client_check = leaf. */
static void
revconf_ocsp(struct revconf *rc, const struct conf_node *ln,
    const char *label)
{
	const char *url = conf_str(ln, "ssl_options.ocsp.client_responder_url");
	int64_t ttl = conf_num(ln, "ssl_options.ocsp.client_cache_ttl");

	if (!rc->ocsp || ttl < rc->ocsp_ttl_ms)
		rc->ocsp_ttl_ms = ttl;
	if (!rc->ocsp) {
		rc->ocsp_timeout_ms = conf_num(ln,
		    "ssl_options.ocsp.refresh_http_timeout");
		rc->ocsp_cafile = nonempty_dup(conf_str(ln,
		    "ssl_options.ocsp.responder_cafile"));
	}
	rc->ocsp = true;
	if (*url == '\0')
		return;
	if (rc->ocsp_url == NULL)
		rc->ocsp_url = xstrdup(url);
	else if (strcmp(rc->ocsp_url, url) != 0)
		log_warnx("%s: ocsp.client_responder_url %s differs from the "
		    "one of an earlier listener; fetcherd asks %s for all "
		    "client certificates", label, url, rc->ocsp_url);
}

/* Each enabled ssl listener that checks client certificates. */
static int
revconf_listeners(const struct conf *conf, struct revconf *rc)
{
	const struct conf_node *ssl, *ln;
	const char *ca;
	char *label;
	bool crl, ocsp;
	size_t i;
	int ret = 0;

	if ((ssl = conf_find(conf->root, "listeners.ssl")) == NULL)
		return 0;
	for (i = 0; i < ssl->nkids; i++) {
		ln = ssl->kids[i];
		crl = conf_bool(ln, "ssl_options.enable_crl_check");
		ocsp = strcmp(conf_str(ln, "ssl_options.ocsp.client_check"),
		    "leaf") == 0;
		if (!conf_bool(ln, "enable") || (!crl && !ocsp))
			continue;
		xasprintf(&label, "ssl:%s", ln->name);
		rc->crl |= crl;
		if (crl && strcmp(conf_str(ln, "ssl_options.crl_check"),
		    "chain") == 0)
			rc->crl_chain = true;
		if (ocsp)
			revconf_ocsp(rc, ln, label);
		ca = conf_str(ln, "ssl_options.cacertfile");
		if (*ca == '\0') {
			log_err("%s: checking client certificates needs "
			    "ssl_options.cacertfile", label);
			ret = -1;
		} else if (revconf_cafile(rc, label, ca) == -1)
			ret = -1;
		free(label);
	}
	return ret;
}

/* crl_cache.urls and crl_cache.files, and the limits. */
static int
revconf_crl_cache(const struct conf *conf, struct revconf *rc)
{
	const struct conf_node *r = conf->root;
	size_t i;
	int ret = 0;

	rc->ncrl_urls = conf_len(r, "crl_cache.urls");
	rc->crl_urls = xcalloc(rc->ncrl_urls + 1, sizeof(*rc->crl_urls));
	for (i = 0; i < rc->ncrl_urls; i++) {
		rc->crl_urls[i] = xstrdup(conf_item(r, "crl_cache.urls", i));
		if (!revconf_http_url(rc->crl_urls[i]) ||
		    strlen(rc->crl_urls[i]) > IPC_MAX_URL) {
			log_err("crl_cache.urls: %s: only http and https URLs "
			    "of up to %d bytes", rc->crl_urls[i], IPC_MAX_URL);
			ret = -1;
		}
	}
	rc->ncrl_files = conf_len(r, "crl_cache.files");
	rc->crl_files = xcalloc(rc->ncrl_files + 1, sizeof(*rc->crl_files));
	for (i = 0; i < rc->ncrl_files; i++)
		rc->crl_files[i] = xstrdup(conf_item(r, "crl_cache.files", i));
	rc->crl_refresh_ms = conf_num(r, "crl_cache.refresh_interval");
	rc->crl_timeout_ms = conf_num(r, "crl_cache.http_timeout");
	rc->crl_max_size = (size_t)conf_num(r, "crl_cache.max_size");
	rc->request_rate = conf_num(r, "crl_cache.request_rate");
	if ((rc->ncrl_urls > 0 || rc->ncrl_files > 0) &&
	    sk_X509_num(rc->cas) == 0)
		log_warnx("crl_cache: no ssl listener checks client "
		    "certificates, so no CA can verify the CRLs: set "
		    "enable_crl_check and cacertfile on one");
	return ret;
}

/*
 * Client certificate revocation: the CAs (the union of the cacertfile of
 * every enabled ssl listener with enable_crl_check or ocsp.client_check =
 * leaf), and the CRL and OCSP settings.  0, or -1 logged; rc is filled
 * either way and must be freed.
 */
int
revconf_load(const struct conf *conf, struct revconf *rc)
{
	int ret = 0;

	memset(rc, 0, sizeof(*rc));
	if ((rc->cas = sk_X509_new_null()) == NULL ||
	    (rc->store = X509_STORE_new()) == NULL)
		fatalx("out of memory");
	if (revconf_listeners(conf, rc) == -1)
		ret = -1;
	if (revconf_crl_cache(conf, rc) == -1)
		ret = -1;
	return ret;
}

void
revconf_free(struct revconf *rc)
{
	size_t i;

	sk_X509_pop_free(rc->cas, X509_free);
	X509_STORE_free(rc->store);
	free(rc->ocsp_url);
	free(rc->ocsp_cafile);
	for (i = 0; i < rc->ncrl_urls; i++)
		free(rc->crl_urls[i]);
	free(rc->crl_urls);
	for (i = 0; i < rc->ncrl_files; i++)
		free(rc->crl_files[i]);
	free(rc->crl_files);
	memset(rc, 0, sizeof(*rc));
}

int
fetcherd_conf_check(const struct conf *conf)
{
	struct target_head head;
	struct revconf rc;
	int ret;

	ret = targets_create(conf, &head);
	targets_free(&head);
	if (revconf_load(conf, &rc) == -1)
		ret = -1;
	revconf_free(&rc);
	return ret;
}
