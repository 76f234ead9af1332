/*
 * ocsp.c: ask a responder for a server certificate's OCSP response and
 * verify the answer with common/revcheck.c; read the chain files and find
 * issuers and responder URLs.  The fetcher reads certificates, never keys.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "http.h"
#include "log.h"
#include "ocsp.h"
#include "ossl.h"
#include "revcheck.h"

#define OCSP_CONTENT_TYPE	"application/ocsp-request"
#define OCSP_ACCEPT		"application/ocsp-response"

/* One fetch: owned from ocsp_fetch() to ocsp_ctx_free(). */
struct ocsp_ctx {
	X509			*cert, *issuer;	/* up-ref'ed */
	char			*url;
	enum ocsp_fetch_method	 method;
	void			(*done)(void *,
				    const struct ocsp_fetch_result *);
	void			*arg;
	char			 why[64];
};

static void	 ocsp_ctx_free(struct ocsp_ctx *);
static int	 ocsp_request_der(X509 *, X509 *, uint8_t **, size_t *);
static char	*ocsp_get_url(const char *, const uint8_t *, size_t);
static void	 ocsp_http_done_cb(void *, const struct http_result *);

static void
ocsp_ctx_free(struct ocsp_ctx *c)
{
	if (c == NULL)
		return;
	X509_free(c->cert);
	X509_free(c->issuer);
	free(c->url);
	free(c);
}

/* The DER OCSPRequest for cert: one SHA-1 CertID, no nonce, unsigned. */
static int
ocsp_request_der(X509 *cert, X509 *issuer, uint8_t **der, size_t *len)
{
	OCSP_REQUEST *req = NULL;
	OCSP_CERTID *id = NULL;
	unsigned char *p = NULL;
	int n, rc = -1;

	*der = NULL;
	if ((req = OCSP_REQUEST_new()) == NULL ||
	    (id = OCSP_cert_to_id(EVP_sha1(), cert, issuer)) == NULL)
		goto fail;
	if (OCSP_request_add0_id(req, id) == NULL)
		goto fail;
	id = NULL;			/* req owns it now */
	if ((n = i2d_OCSP_REQUEST(req, &p)) <= 0)	/* allocates p */
		goto fail;
	*der = p;
	*len = (size_t)n;
	rc = 0;
fail:
	if (rc == -1)
		log_warnx("cannot make an OCSP request: %s", ossl_error());
	OCSP_CERTID_free(id);
	OCSP_REQUEST_free(req);
	return rc;
}

/*
 * url "/" base64(der), the base64 URL-escaped (RFC 5019 5), malloc'ed; NULL
 * when that would be longer than OCSP_GET_MAX (POST then), or when url
 * has a query that a path cannot follow.
 */
static char *
ocsp_get_url(const char *url, const uint8_t *der, size_t len)
{
	unsigned char b64[OCSP_GET_MAX + 1];
	char *out, *o;
	const char *sep;
	size_t n, need, i;

	if (strchr(url, '?') != NULL || len > (OCSP_GET_MAX / 4) * 3)
		return NULL;
	EVP_EncodeBlock(b64, der, (int)len);	/* NUL-terminated */
	sep = url[0] != '\0' && url[strlen(url) - 1] == '/' ? "" : "/";
	need = strlen(url) + strlen(sep);
	for (i = 0; b64[i] != '\0'; i++)
		need += strchr("+/=", b64[i]) != NULL ? 3 : 1;
	if (need > OCSP_GET_MAX || (out = malloc(need + 1)) == NULL)
		return NULL;
	n = (size_t)snprintf(out, need + 1, "%s%s", url, sep);
	for (o = out + n, i = 0; b64[i] != '\0'; i++) {
		if (strchr("+/=", b64[i]) != NULL)
			o += snprintf(o, out + need + 1 - o, "%%%02X", b64[i]);
		else
			*o++ = (char)b64[i];
	}
	*o = '\0';
	return out;
}

int
ocsp_fetch(struct http *h, const struct ocsp_query *q,
    void (*done)(void *, const struct ocsp_fetch_result *), void *arg)
{
	X509 *cert = q->cert, *issuer = q->issuer;
	const char *url = q->url;
	struct http_request req;
	struct ocsp_ctx *c = NULL;
	uint8_t *der = NULL;
	char *get = NULL;
	size_t len;
	int rc = -1;

	if (cert == NULL || issuer == NULL || url == NULL || done == NULL) {
		log_warnx("nothing to fetch");
		return -1;
	}
	if (ocsp_request_der(cert, issuer, &der, &len) == -1)
		goto fail;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->url = strdup(url)) == NULL) {
		log_warn("%s", url);
		goto fail;
	}
	/* Referenced, so the caller may drop its own at once. */
	X509_up_ref(cert);
	c->cert = cert;
	X509_up_ref(issuer);
	c->issuer = issuer;
	c->done = done;
	c->arg = arg;

	memset(&req, 0, sizeof(req));
	req.accept = OCSP_ACCEPT;
	req.timeout_ms = q->timeout_ms;
	req.max_size = REVCHECK_MAX_DER;
	req.cafile = q->cafile;
	if ((get = ocsp_get_url(url, der, len)) != NULL) {
		c->method = OCSP_FETCH_GET;
		req.url = get;
	} else {
		c->method = OCSP_FETCH_POST;
		req.url = url;
		req.post_body = der;
		req.post_len = len;
		req.content_type = OCSP_CONTENT_TYPE;
	}
	if (http_request(h, &req, ocsp_http_done_cb, c) == -1)
		goto fail;
	c = NULL;			/* ocsp_http_done_cb() frees it */
	rc = 0;
fail:
	ocsp_ctx_free(c);
	free(get);
	OPENSSL_free(der);
	return rc;
}

static void
ocsp_http_done_cb(void *arg, const struct http_result *res)
{
	struct ocsp_ctx *c = arg;
	struct ocsp_fetch_result r;

	memset(&r, 0, sizeof(r));
	r.url = c->url;
	r.method = c->method;
	r.http_status = res->status;
	r.max_age = res->max_age;
	r.age = res->age;
	r.elapsed_ms = res->elapsed_ms;
	r.check.status = REVCHECK_UNVERIFIED;
	if (res->error != NULL)
		r.error = res->error;
	else if (res->status != 200) {
		snprintf(c->why, sizeof(c->why), "HTTP status %ld",
		    res->status);
		r.error = c->why;
	} else {
		r.der = res->body;
		r.der_len = res->len;
		if (revcheck_ocsp(res->body, res->len, c->cert, c->issuer,
		    NULL, time(NULL), &r.check) == -1)
			r.error = r.check.reason;
	}
	c->done(c->arg, &r);
	ocsp_ctx_free(c);
}

const char *
ocsp_method_name(enum ocsp_fetch_method m)
{
	return m == OCSP_FETCH_GET ? "GET" : "POST";
}
