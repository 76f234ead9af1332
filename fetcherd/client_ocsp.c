/*
 * client_ocsp.c: the OCSP status of client certificates, fetched when a
 * broker asks (request.c has verified the chain) and published as
 * snap_ocsp records until they expire.
 *
 * The responder is the listener's ocsp.client_responder_url when one is
 * set, else each OCSP URL of the certificate's AIA in turn.  An answer is
 * verified by common/revcheck.c (signer, CertID, times) through
 * ocsp_fetch(); a verified good, revoked or unknown is published with
 * expires = min(now + client_cache_ttl, nextUpdate).  When no responder
 * gives a verified answer the record says FAILED for
 * CLIENT_OCSP_RETRY_S, so brokers stop waiting and apply their policy,
 * and the next request after that tries again.
 *
 * The cache is an array of entries sorted by certificate id: found by
 * binary search, published in order.  An entry holds its certificates
 * only while a fetch runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "chain.h"
#include "fetcherd.h"
#include "log.h"
#include "ocsp.h"
#include "revcheck.h"
#include "snapshot.h"

#define CLIENT_OCSP_RETRY_S	60	/* a FAILED record lives this long */
#define CLIENT_OCSP_MAX		200000	/* certificates cached */
#define CLIENT_OCSP_SWEEP_MS	30000	/* expired records go this often */
#define CLIENT_OCSP_FIRST_CAP	64

/* One client certificate's status; owned by the cache. */
struct cocsp {
	struct fetcherd		*f;		/* not owned */
	struct snap_ocsp	 rec;		/* status 0: none yet */
	X509			*leaf, *issuer;	/* while fetching */
	char			**urls;		/* responders, in order */
	size_t			 nurls, url_i;
	char			 subject[256];
	bool			 in_flight;
};

struct cocsp_cache {
	struct cocsp		**v;		/* sorted by rec.cert_id */
	size_t			 n, cap;
	struct event		*sweep;
	bool			 url_logged;	/* no responder: said once */
};

static int64_t	 cocsp_now(void);
static size_t	 cocsp_pos(struct cocsp_cache *, const uint8_t *, bool *);
static struct cocsp *cocsp_insert(struct fetcherd *, const uint8_t *);
static void	 cocsp_release(struct cocsp *);
static void	 cocsp_free(struct cocsp *);
static int	 cocsp_urls(struct cocsp *);
static void	 cocsp_failed(struct cocsp *);
static void	 cocsp_next(struct cocsp *, const char *);
static void	 cocsp_fetch(struct cocsp *);
static void	 cocsp_done_cb(void *, const struct ocsp_fetch_result *);
static void	 cocsp_sweep_cb(evutil_socket_t, short, void *);

static int64_t
cocsp_now(void)
{
	return (int64_t)time(NULL);
}

/* Where id is or would go in the sorted array; *found says which. */
static size_t
cocsp_pos(struct cocsp_cache *c, const uint8_t *id, bool *found)
{
	size_t lo = 0, hi = c->n, mid;
	int cmp;

	*found = false;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		cmp = memcmp(c->v[mid]->rec.cert_id, id, SNAP_ID_LEN);
		if (cmp == 0) {
			*found = true;
			return mid;
		}
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* A new entry for id, in its place.  NULL when full or out of memory. */
static struct cocsp *
cocsp_insert(struct fetcherd *f, const uint8_t *id)
{
	struct cocsp_cache *c = f->cocsp;
	struct cocsp **nv, *e;
	size_t pos, cap;
	bool found;

	pos = cocsp_pos(c, id, &found);
	if (found)
		return c->v[pos];
	if (c->n >= CLIENT_OCSP_MAX)
		return NULL;
	if (c->n == c->cap) {
		cap = c->cap == 0 ? CLIENT_OCSP_FIRST_CAP : c->cap * 2;
		if ((nv = reallocarray(c->v, cap, sizeof(*nv))) == NULL)
			return NULL;
		c->v = nv;
		c->cap = cap;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->f = f;
	memcpy(e->rec.cert_id, id, SNAP_ID_LEN);
	memmove(&c->v[pos + 1], &c->v[pos], (c->n - pos) * sizeof(*c->v));
	c->v[pos] = e;
	c->n++;
	return e;
}

/* What a fetch held: the certificates and the URLs. */
static void
cocsp_release(struct cocsp *e)
{
	size_t i;

	X509_free(e->leaf);
	X509_free(e->issuer);
	e->leaf = e->issuer = NULL;
	for (i = 0; i < e->nurls; i++)
		free(e->urls[i]);
	free(e->urls);
	e->urls = NULL;
	e->nurls = e->url_i = 0;
}

static void
cocsp_free(struct cocsp *e)
{
	if (e == NULL)
		return;
	cocsp_release(e);
	free(e);
}

/* The configured responder, else the AIA's.  0, or -1 (no memory). */
static int
cocsp_urls(struct cocsp *e)
{
	STACK_OF(OPENSSL_STRING) *aia;
	const char *conf = e->f->rev.ocsp_url;
	int i, n;

	if (conf != NULL) {
		if ((e->urls = calloc(1, sizeof(*e->urls))) == NULL ||
		    (e->urls[0] = strdup(conf)) == NULL)
			return -1;
		e->nurls = 1;
		return 0;
	}
	if ((aia = X509_get1_ocsp(e->leaf)) == NULL)
		return 0;
	n = sk_OPENSSL_STRING_num(aia);
	if ((e->urls = calloc((size_t)n, sizeof(*e->urls))) == NULL) {
		X509_email_free(aia);
		return -1;
	}
	for (i = 0; i < n; i++)
		if ((e->urls[e->nurls] = strdup(sk_OPENSSL_STRING_value(aia,
		    i))) != NULL)
			e->nurls++;
	X509_email_free(aia);
	return 0;
}

/* No verified answer: FAILED for a while, so brokers stop waiting. */
static void
cocsp_failed(struct cocsp *e)
{
	uint8_t id[SNAP_ID_LEN];

	memcpy(id, e->rec.cert_id, SNAP_ID_LEN);
	memset(&e->rec, 0, sizeof(e->rec));
	memcpy(e->rec.cert_id, id, SNAP_ID_LEN);
	e->rec.expires = cocsp_now() + CLIENT_OCSP_RETRY_S;
	e->rec.status = SNAP_OCSP_FAILED;
	e->rec.reason = -1;
	cocsp_release(e);
	publish_soon(e->f);
}

/* The responder just tried did not do: the next one, or FAILED. */
static void
cocsp_next(struct cocsp *e, const char *why)
{
	log_warnx("%s: %s: %s", e->subject, e->nurls > 0 ?
	    e->urls[e->url_i] : "(no responder)", why);
	if (++e->url_i < e->nurls) {
		cocsp_fetch(e);
		return;
	}
	log_warnx("%s: no verified OCSP answer; brokers apply their policy "
	    "for %ds", e->subject, CLIENT_OCSP_RETRY_S);
	cocsp_failed(e);
}

static void
cocsp_fetch(struct cocsp *e)
{
	struct ocsp_query q;

	q.cert = e->leaf;
	q.issuer = e->issuer;
	q.url = e->urls[e->url_i];
	q.cafile = e->f->rev.ocsp_cafile;
	q.timeout_ms = e->f->rev.ocsp_timeout_ms;
	if (ocsp_fetch(e->f->http, &q, cocsp_done_cb, e) == -1) {
		cocsp_next(e, "cannot start the request");
		return;
	}
	e->in_flight = true;
}

static void
cocsp_done_cb(void *arg, const struct ocsp_fetch_result *r)
{
	struct cocsp *e = arg;
	int64_t now = cocsp_now(), ttl = e->f->rev.ocsp_ttl_ms / 1000;

	e->in_flight = false;
	if (r->error != NULL) {
		cocsp_next(e, r->error);
		return;
	}
	switch (r->check.status) {
	case REVCHECK_GOOD:
		e->rec.status = SNAP_OCSP_GOOD;
		break;
	case REVCHECK_REVOKED:
		e->rec.status = SNAP_OCSP_REVOKED;
		log_info("%s: revoked (%s) according to %s", e->subject,
		    revcheck_reason_name(r->check.revocation_reason),
		    r->url);
		break;
	case REVCHECK_UNKNOWN:
		e->rec.status = SNAP_OCSP_UNKNOWN;
		log_info("%s: unknown to %s", e->subject, r->url);
		break;
	default:
		cocsp_next(e, "unverified answer");
		return;
	}
	e->rec.this_update = r->check.this_update;
	e->rec.next_update = r->check.next_update;
	e->rec.expires = now + ttl < e->rec.next_update ? now + ttl :
	    e->rec.next_update;
	e->rec.revoked_at = e->rec.status == SNAP_OCSP_REVOKED ?
	    r->check.revoked_at : 0;
	e->rec.reason = e->rec.status == SNAP_OCSP_REVOKED ?
	    r->check.revocation_reason : -1;
	cocsp_release(e);
	publish_soon(e->f);
}

/*
 * A broker asks about leaf, issued by issuer (a verified chain): a
 * current answer is kept, a running fetch is joined, else one starts.
 */
enum ipc_status
client_ocsp_request(struct fetcherd *f, X509 *leaf, X509 *issuer)
{
	struct cocsp_cache *c = f->cocsp;
	struct cocsp *e;
	uint8_t id[SNAP_ID_LEN];
	size_t pos;
	bool found;

	if (c == NULL || chain_cert_id(leaf, id) == -1)
		return IPC_ST_REFUSED;
	pos = cocsp_pos(c, id, &found);
	if (found && (c->v[pos]->in_flight || (c->v[pos]->rec.status != 0 &&
	    c->v[pos]->rec.expires > cocsp_now())))
		return IPC_ST_ACCEPTED;
	if ((e = cocsp_insert(f, id)) == NULL) {
		log_warnx("%d client certificates cached, no more are taken",
		    CLIENT_OCSP_MAX);
		return IPC_ST_RATE_LIMITED;
	}
	cocsp_release(e);
	X509_NAME_oneline(X509_get_subject_name(leaf), e->subject,
	    sizeof(e->subject));
	X509_up_ref(leaf);
	e->leaf = leaf;
	X509_up_ref(issuer);
	e->issuer = issuer;
	if (cocsp_urls(e) == -1) {
		log_warnx("%s: out of memory", e->subject);
		cocsp_failed(e);
		return IPC_ST_ACCEPTED;
	}
	if (e->nurls == 0) {
		if (!c->url_logged)
			log_warnx("%s: no OCSP URL in its AIA and no "
			    "ocsp.client_responder_url is set",
			    e->subject);
		c->url_logged = true;
		cocsp_failed(e);
		return IPC_ST_ACCEPTED;
	}
	log_debug("%s: asking %s", e->subject, e->urls[0]);
	cocsp_fetch(e);
	return IPC_ST_ACCEPTED;
}

/* The records that have not expired. */
int
client_ocsp_publish(struct fetcherd *f, struct snap_writer *w, int64_t now)
{
	struct cocsp_cache *c = f->cocsp;
	size_t i;

	for (i = 0; c != NULL && i < c->n; i++)
		if (c->v[i]->rec.status != 0 && c->v[i]->rec.expires > now &&
		    snap_writer_ocsp(w, &c->v[i]->rec) == -1)
			return -1;
	return 0;
}

/* Expired records leave memory and the next snapshot. */
static void
cocsp_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fetcherd *f = arg;
	struct cocsp_cache *c = f->cocsp;
	int64_t now = cocsp_now();
	size_t i, k;

	(void)fd;
	(void)what;
	for (i = 0, k = 0; i < c->n; i++) {
		if (!c->v[i]->in_flight && c->v[i]->rec.expires <= now) {
			cocsp_free(c->v[i]);
			continue;
		}
		c->v[k++] = c->v[i];
	}
	if (k != c->n) {
		log_debug("%zu client OCSP answers expired", c->n - k);
		c->n = k;
		publish_soon(f);
	}
}

int
client_ocsp_start(struct fetcherd *f)
{
	struct timeval tv;

	if (f->cocsp == NULL && (f->cocsp = calloc(1,
	    sizeof(*f->cocsp))) == NULL)
		return -1;
	if (f->opts.diag_check || f->cocsp->sweep != NULL)
		return 0;
	if ((f->cocsp->sweep = event_new(f->base, -1, EV_PERSIST,
	    cocsp_sweep_cb, f)) == NULL)
		return -1;
	tv.tv_sec = CLIENT_OCSP_SWEEP_MS / 1000;
	tv.tv_usec = (CLIENT_OCSP_SWEEP_MS % 1000) * 1000;
	return event_add(f->cocsp->sweep, &tv);
}

/* At exit, after http_free(): no fetch is running any more. */
void
client_ocsp_free(struct fetcherd *f)
{
	struct cocsp_cache *c = f->cocsp;
	size_t i;

	if (c == NULL)
		return;
	if (c->sweep != NULL)
		event_free(c->sweep);
	for (i = 0; i < c->n; i++)
		cocsp_free(c->v[i]);
	free(c->v);
	free(c);
	f->cocsp = NULL;
}

/*
 * At start: the persisted answers that are still current (a FAILED one
 * is not: the next request tries again).  Returns how many.
 */
int
client_ocsp_restore(struct fetcherd *f, const struct snapshot *snap,
    int64_t now)
{
	const struct snap_ocsp *rec;
	struct cocsp *e;
	size_t i;
	int n = 0;

	if (f->cocsp == NULL && client_ocsp_start(f) == -1)
		return 0;
	for (i = 0; i < snapshot_nocsp(snap); i++) {
		rec = snapshot_ocsp_at(snap, i);
		if (rec->status == SNAP_OCSP_FAILED || rec->expires <= now ||
		    rec->next_update <= now ||
		    (e = cocsp_insert(f, rec->cert_id)) == NULL)
			continue;
		e->rec = *rec;
		snprintf(e->subject, sizeof(e->subject), "(restored)");
		n++;
	}
	if (n > 0)
		log_info("restored %d client OCSP answer%s", n,
		    n == 1 ? "" : "s");
	return n;
}
