/*
 * request.c: what brokers ask for on the REP socket: "fetch the CRL at
 * this URL" and "get the OCSP status of this client certificate", each
 * with the client's certificate chain.
 *
 * A broker that was taken over must not turn fetcherd into an open proxy,
 * so nothing is fetched unless the chain verifies against the CAs of the
 * listeners that check client certificates (X509_verify_cert, purpose
 * sslclient, now) and, for a CRL, the URL is a CRL distribution point of
 * the client certificate (or of one of its CAs with crl_check = chain).
 * Requests are limited by a token bucket of crl_cache.request_rate a
 * second (burst REQUEST_BURST times that); refusals are logged once per
 * URL (or certificate) per REQUEST_LOG_INTERVAL_S.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "fetcherd.h"
#include "log.h"
#include "notify.h"
#include "schedule.h"
#include "xmalloc.h"

#define REQUEST_BURST		5	/* times request_rate */
#define REQUEST_LOG_INTERVAL_S	60	/* one line per URL this often */
#define REQUEST_LOG_SLOTS	64	/* URLs remembered for that */

/* When a refusal about one URL or certificate was last logged. */
struct request_logged {
	uint8_t			 id[SNAP_ID_LEN];
	int64_t			 at;
};

/* The REP socket and what goes with it; owned by struct fetcherd. */
struct request {
	struct notify_rep	*rep;
	struct event		*ev;
	struct sched_bucket	 bucket;
	int64_t			 limited_logged;	/* s */
	uint64_t		 n_limited;
	struct request_logged	 logged[REQUEST_LOG_SLOTS];
};

static int64_t	 request_now_ms(void);
static bool	 request_log_due(struct request *, const uint8_t *);
static void	 request_refused(struct fetcherd *, X509 *, const char *,
		    const char *);
static STACK_OF(X509) *request_verify(struct fetcherd *, STACK_OF(X509) *,
		    const char **);
static bool	 request_cert_names(X509 *, const char *);
static int	 request_which_cert(STACK_OF(X509) *, const char *, bool);
static int	 request_name_id(const X509_NAME *, uint8_t *);
static enum ipc_status request_crl(struct fetcherd *, const char *, size_t,
		    STACK_OF(X509) *);
static enum ipc_status request_ocsp(struct fetcherd *, STACK_OF(X509) *);
static uint32_t	 request_handle_cb(void *, int, const void *, size_t);
static void	 request_read_cb(evutil_socket_t, short, void *);

static int64_t
request_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Log about id now?  Remembers it; the oldest slot makes room. */
static bool
request_log_due(struct request *r, const uint8_t *id)
{
	int64_t now = request_now_ms() / 1000;
	size_t i, old = 0;

	for (i = 0; i < REQUEST_LOG_SLOTS; i++) {
		if (memcmp(r->logged[i].id, id, SNAP_ID_LEN) == 0) {
			if (now - r->logged[i].at < REQUEST_LOG_INTERVAL_S)
				return false;
			r->logged[i].at = now;
			return true;
		}
		if (r->logged[i].at < r->logged[old].at)
			old = i;
	}
	memcpy(r->logged[old].id, id, SNAP_ID_LEN);
	r->logged[old].at = now;
	return true;
}

/* what: the URL asked for, or "OCSP" for a status request. */
static void
request_refused(struct fetcherd *f, X509 *leaf, const char *what,
    const char *why)
{
	uint8_t id[SNAP_ID_LEN];
	unsigned int n;
	char subject[256] = "(no certificate)";

	if (leaf != NULL)
		X509_NAME_oneline(X509_get_subject_name(leaf), subject,
		    sizeof(subject));
	EVP_Digest(what, strlen(what), id, &n, EVP_sha256(), NULL);
	if (request_log_due(f->req, id))
		log_warnx("%s: %s: request refused: %s", subject, what, why);
}

/*
 * chain (leaf first, as the broker sent it) verified against the CAs:
 * the verified chain (leaf to trust anchor, the caller's), or NULL with
 * *why set.
 */
static STACK_OF(X509) *
request_verify(struct fetcherd *f, STACK_OF(X509) *chain, const char **why)
{
	STACK_OF(X509) *untrusted = NULL, *out = NULL;
	X509_STORE_CTX *ctx = NULL;
	int i;

	*why = "out of memory";
	if ((untrusted = sk_X509_new_null()) == NULL ||
	    (ctx = X509_STORE_CTX_new()) == NULL)
		goto done;
	/* References stay with chain; untrusted is only a view. */
	for (i = 1; i < sk_X509_num(chain); i++)
		if (!sk_X509_push(untrusted, sk_X509_value(chain, i)))
			goto done;
	if (X509_STORE_CTX_init(ctx, f->rev.store, sk_X509_value(chain, 0),
	    untrusted) != 1 ||
	    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT) != 1)
		goto done;
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx),
	    time(NULL));
	if (X509_verify_cert(ctx) != 1) {
		*why = X509_verify_cert_error_string(
		    X509_STORE_CTX_get_error(ctx));
		goto done;
	}
	if ((out = X509_STORE_CTX_get1_chain(ctx)) == NULL)
		goto done;
	*why = NULL;
	if (sk_X509_num(out) < 2) {
		*why = "the certificate is itself a trusted CA";
		sk_X509_pop_free(out, X509_free);
		out = NULL;
	}
done:
	X509_STORE_CTX_free(ctx);
	sk_X509_free(untrusted);
	ERR_clear_error();
	return out;
}

/* Is url, byte for byte, a fullName URI of x's CRL distribution points? */
static bool
request_cert_names(X509 *x, const char *url)
{
	STACK_OF(DIST_POINT) *dps;
	GENERAL_NAMES *names;
	GENERAL_NAME *gn;
	DIST_POINT *dp;
	size_t len = strlen(url);
	bool found = false;
	int i, j;

	dps = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
	for (i = 0; !found && i < sk_DIST_POINT_num(dps); i++) {
		dp = sk_DIST_POINT_value(dps, i);
		if (dp->distpoint == NULL || dp->distpoint->type != 0)
			continue;
		names = dp->distpoint->name.fullname;
		for (j = 0; !found && j < sk_GENERAL_NAME_num(names); j++) {
			gn = sk_GENERAL_NAME_value(names, j);
			found = gn->type == GEN_URI &&
			    (size_t)ASN1_STRING_length(
			    gn->d.uniformResourceIdentifier) == len &&
			    memcmp(ASN1_STRING_get0_data(
			    gn->d.uniformResourceIdentifier), url, len) == 0;
		}
	}
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	return found;
}

/*
 * Which certificate of the verified chain names url: the leaf (0), or
 * with chain any but the trust anchor.  -1: none.
 */
static int
request_which_cert(STACK_OF(X509) *verified, const char *url, bool chain)
{
	int i, n = chain ? sk_X509_num(verified) - 1 : 1;

	for (i = 0; i < n; i++)
		if (request_cert_names(sk_X509_value(verified, i), url))
			return i;
	return -1;
}

/* SHA-256 of a name's DER, as brokers key CRLs by it. */
static int
request_name_id(const X509_NAME *name, uint8_t *id)
{
	unsigned char *der = NULL;
	unsigned int n;
	int len;

	if ((len = i2d_X509_NAME(name, &der)) <= 0)
		return -1;
	EVP_Digest(der, (size_t)len, id, &n, EVP_sha256(), NULL);
	OPENSSL_free(der);
	return 0;
}

static enum ipc_status
request_crl(struct fetcherd *f, const char *url, size_t url_len,
    STACK_OF(X509) *chain)
{
	STACK_OF(X509) *verified = NULL;
	X509 *leaf = sk_X509_value(chain, 0);
	char u[IPC_MAX_URL + 1];
	const char *why = NULL;
	uint8_t issuer[SNAP_ID_LEN];
	enum ipc_status st = IPC_ST_REFUSED;
	int i;

	if (url_len == 0 || url_len > IPC_MAX_URL ||
	    memchr(url, '\0', url_len) != NULL) {
		request_refused(f, leaf, "(bad URL)", "not a URL");
		return IPC_ST_REFUSED;
	}
	memcpy(u, url, url_len);
	u[url_len] = '\0';
	if (!f->rev.crl)
		why = "no listener has enable_crl_check";
	else if (strncasecmp(u, "http://", 7) != 0 &&
	    strncasecmp(u, "https://", 8) != 0)
		why = "only http and https CRLs are fetched";
	else
		verified = request_verify(f, chain, &why);
	if (verified == NULL)
		st = IPC_ST_REFUSED;	/* why says why */
	else if ((i = request_which_cert(verified, u, f->rev.crl_chain)) ==
	    -1)
		why = f->rev.crl_chain ? "not a CRL distribution point of the "
		    "certificate or its CAs" : "not a CRL distribution point "
		    "of the certificate";
	else if (request_name_id(X509_get_issuer_name(sk_X509_value(verified,
	    i)), issuer) == -1)
		why = "unreadable issuer name";
	else if (crl_demand(f, u, issuer) == -1)
		st = IPC_ST_RATE_LIMITED;
	else
		st = IPC_ST_ACCEPTED;
	if (st == IPC_ST_REFUSED)
		request_refused(f, leaf, u, why);
	sk_X509_pop_free(verified, X509_free);
	return st;
}

static enum ipc_status
request_ocsp(struct fetcherd *f, STACK_OF(X509) *chain)
{
	STACK_OF(X509) *verified = NULL;
	X509 *leaf = sk_X509_value(chain, 0);
	const char *why = NULL;
	enum ipc_status st = IPC_ST_REFUSED;

	if (!f->rev.ocsp)
		why = "no listener has ocsp.client_check = leaf";
	else if ((verified = request_verify(f, chain, &why)) != NULL)
		st = client_ocsp_request(f, sk_X509_value(verified, 0),
		    sk_X509_value(verified, 1));
	if (why != NULL)
		request_refused(f, leaf, "OCSP", why);
	sk_X509_pop_free(verified, X509_free);
	return st;
}

/*
 * notify_rep_poll()'s handler: one request that passed ipc_msg_check(),
 * its answer (enum ipc_status).
 */
static uint32_t
request_handle_cb(void *arg, int type, const void *msg, size_t len)
{
	struct fetcherd *f = arg;
	struct request *r = f->req;
	STACK_OF(X509) *chain = NULL;
	const char *url = NULL;
	size_t url_len = 0;
	int64_t now = request_now_ms();
	enum ipc_status st;

	if ((type != IPC_REQ_CRL && type != IPC_REQ_OCSP) ||
	    ipc_req_fetch_decode(msg, len, &url, &url_len, &chain) == -1 ||
	    sk_X509_num(chain) < 1) {
		log_warnx("a malformed request from a broker");
		sk_X509_pop_free(chain, X509_free);
		return IPC_ST_MALFORMED;
	}
	if (!sched_bucket_take(&r->bucket, now, f->rev.request_rate,
	    REQUEST_BURST * f->rev.request_rate)) {
		r->n_limited++;
		if (now / 1000 - r->limited_logged >= REQUEST_LOG_INTERVAL_S) {
			log_warnx("brokers ask for more than %lld fetches a "
			    "second (crl_cache.request_rate): %llu refused so "
			    "far", (long long)f->rev.request_rate,
			    (unsigned long long)r->n_limited);
			r->limited_logged = now / 1000;
		}
		st = IPC_ST_RATE_LIMITED;
	} else if (type == IPC_REQ_CRL)
		st = request_crl(f, url, url_len, chain);
	else
		st = request_ocsp(f, chain);
	sk_X509_pop_free(chain, X509_free);
	return st;
}

static void
request_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fetcherd *f = arg;

	(void)fd;
	(void)what;
	(void)notify_rep_poll(f->req->rep, f->generation, request_handle_cb,
	    f);
}

/* Listen on runtime_dir/IPC_REQUEST_SOCK and answer from the loop. */
int
request_open(struct fetcherd *f)
{
	struct request *r;

	r = xcalloc(1, sizeof(*r));
	f->req = r;
	if ((r->rep = notify_rep_open(conf_str(f->conf->root,
	    "node.runtime_dir"))) == NULL)
		return -1;
	if ((r->ev = event_new(f->base, notify_rep_fd(r->rep),
	    EV_READ | EV_PERSIST, request_read_cb, f)) == NULL ||
	    event_add(r->ev, NULL) == -1) {
		log_warnx("cannot watch the request socket");
		return -1;
	}
	return 0;
}

void
request_close(struct fetcherd *f)
{
	struct request *r = f->req;

	if (r == NULL)
		return;
	if (r->ev != NULL)
		event_free(r->ev);
	notify_rep_close(r->rep);
	free(r);
	f->req = NULL;
}
