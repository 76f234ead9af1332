/*
 * clientcheck.c: revocation checks of client certificates, from the CRL
 * tables and OCSP answers fetcherd publishes in the snapshot.
 *
 * In the handshake: a certificate the snapshot says is revoked fails with
 * the certificate_revoked alert.  One whose status is not known yet
 * pauses its own handshake while the broker asks fetcherd, and the
 * handshake resumes, to succeed or fail with that alert, once a snapshot
 * decides or crl_cache.fetch_timeout passes; other clients go on.
 *
 * The pause: OpenSSL 3.0's server side ignores SSL_set_retry_verify (the
 * handshake then completes as if verified), so checking listeners run
 * their handshakes as OpenSSL async jobs (SSL_MODE_ASYNC) and the verify
 * callback pauses its job (ASYNC_pause_job): SSL_do_handshake returns
 * SSL_ERROR_WANT_ASYNC and the next call carries on inside the callback.
 * A job runs on a small stack of OpenSSL's (32 KiB), so the callback
 * only judges: requests and log lines are made outside it.  A paused job
 * owns memory that SSL_free does not release: clientcheck_abort() ends it.
 *
 * After the handshake: every new snapshot is checked against the
 * certificates of live sessions, and a client whose certificate was
 * revoked meanwhile is disconnected.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/async.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "broker.h"
#include "crl_table.h"
#include "log.h"
#include "notify.h"
#include "snapshot.h"

#define REQ_BUF_MAX	(32 * 1024)	/* one encoded fetch request */
#define REQ_QUEUE_MAX	4096		/* requests waiting for the socket */
/*
 * OpenSSL has no "revocation status unknown" error: this is the one it
 * turns into the certificate_unknown alert (RFC 8446 6.2), which says so
 * to the device; X509_V_ERR_UNABLE_TO_GET_CRL would say unknown_ca.
 */
#define ERR_STATUS_UNKNOWN	X509_V_ERR_OCSP_VERIFY_NEEDED

static bool async_pool;		/* ASYNC_init_thread() done */

enum rev_status {
	REV_GOOD,		/* checked: not revoked */
	REV_REVOKED,
	REV_PENDING,		/* not in the snapshot yet: ask fetcherd */
	REV_UNKNOWN,		/* fetcherd could not tell, or it is stale */
};

/* What the snapshot knows a certificate by: see keys_make(). */
struct rev_keys {
	uint8_t		 issuer[SNAP_ID_LEN];	/* SHA-256, issuer's DER name */
	uint8_t		 dp[SNAP_ID_LEN];	/* SHA-256 of its CRL URL */
	uint8_t		 cert[SNAP_ID_LEN];	/* SHA-256 of its DER (OCSP) */
	bool		 issuer_ok;
	bool		 has_dp;
	bool		 cert_ok;
};

struct rev_result {
	enum rev_status	 status;
	const char	*why;		/* for the log */
	bool		 want_crl;	/* PENDING: ask for the leaf's CRL */
	bool		 want_ocsp;	/* PENDING: ask for OCSP */
};

static void
sha256(const void *p, size_t len, uint8_t out[SNAP_ID_LEN])
{
	unsigned int n;

	EVP_Digest(p, len, out, &n, EVP_sha256(), NULL);
}

static int
name_id(const X509_NAME *name, uint8_t id[SNAP_ID_LEN])
{
	unsigned char *der = NULL;
	int len;

	if ((len = i2d_X509_NAME(name, &der)) <= 0)
		return -1;
	sha256(der, len, id);
	OPENSSL_free(der);
	return 0;
}

/*
 * The first http(s) URI of the certificate's CRL Distribution Points:
 * the one fetcherd is asked for and the key the CRL is published under.
 * Points into the certificate's extension data (cached by OpenSSL).
 */
static const char *
crl_url(X509 *x, char *buf, size_t len)
{
	STACK_OF(DIST_POINT) *dps = X509_get_ext_d2i(x,
	    NID_crl_distribution_points, NULL, NULL);
	const char *found = NULL;
	int i, j;

	for (i = 0; dps != NULL && found == NULL &&
	    i < sk_DIST_POINT_num(dps); i++) {
		DIST_POINT *dp = sk_DIST_POINT_value(dps, i);

		if (dp->distpoint == NULL || dp->distpoint->type != 0)
			continue;
		for (j = 0; j < sk_GENERAL_NAME_num(
		    dp->distpoint->name.fullname); j++) {
			GENERAL_NAME *gn = sk_GENERAL_NAME_value(
			    dp->distpoint->name.fullname, j);
			const ASN1_STRING *u;

			if (gn->type != GEN_URI)
				continue;
			u = gn->d.uniformResourceIdentifier;
			if ((strncmp((const char *)ASN1_STRING_get0_data(u),
			    "http://", 7) == 0 || strncmp((const char *)
			    ASN1_STRING_get0_data(u), "https://", 8) == 0) &&
			    (size_t)ASN1_STRING_length(u) < len) {
				memcpy(buf, ASN1_STRING_get0_data(u),
				    ASN1_STRING_length(u));
				buf[ASN1_STRING_length(u)] = '\0';
				found = buf;
				break;
			}
		}
	}
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	return found;
}

/* A table of the current snapshot, mapped once and kept while used. */
static const struct crl_table *
table_get(struct broker *b, const uint8_t id[SNAP_ID_LEN])
{
	struct crl_table *t;
	char err[256];
	size_t i;

	for (i = 0; i < b->ntables; i++)
		if (memcmp(b->table_ids[i], id, SNAP_ID_LEN) == 0)
			return b->tables[i];
	if (b->ntables == BROKER_MAX_TABLES)
		return NULL;
	if ((t = crl_table_open(b->snap_dir, id, err, sizeof(err))) == NULL) {
		log_warnx("%s", err);
		return NULL;
	}
	memcpy(b->table_ids[b->ntables], id, SNAP_ID_LEN);
	b->tables[b->ntables++] = t;
	return t;
}

/* Drop mapped tables the new snapshot no longer references. */
static void
tables_prune(struct broker *b)
{
	size_t i = 0;

	while (i < b->ntables) {
		size_t j, n = snapshot_ncrls(b->snap);
		bool used = false;

		for (j = 0; j < n && !used; j++)
			used = memcmp(snapshot_crl_at(b->snap, j)->table_id,
			    b->table_ids[i], SNAP_ID_LEN) == 0;
		if (used) {
			i++;
			continue;
		}
		crl_table_close(b->tables[i]);
		b->ntables--;
		b->tables[i] = b->tables[b->ntables];
		memcpy(b->table_ids[i], b->table_ids[b->ntables], SNAP_ID_LEN);
	}
}

/*
 * CRL tables hold positive serials of at most 20 octets (RFC 5280);
 * fetcherd skips longer ones, so such a certificate cannot be cleared.
 */
static bool
serial_checkable(X509 *x)
{
	const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
	const unsigned char *p = ASN1_STRING_get0_data(sn);
	int len = ASN1_STRING_length(sn);

	if (ASN1_STRING_type(sn) == V_ASN1_NEG_INTEGER)
		return false;
	while (len > 1 && *p == 0) {
		p++;
		len--;
	}
	return len >= 1 && len <= CRL_SERIAL_MAX;
}

/* One CRL record's verdict on x. */
static enum rev_status
crl_record_check(struct broker *b, const struct snap_crl *rec, X509 *x,
    time_t now, const char **why)
{
	const struct crl_table *t;

	if (rec->state != SNAP_CRL_OK) {
		*why = "fetcherd could not get the CRL";
		return REV_UNKNOWN;
	}
	if (!serial_checkable(x)) {
		*why = "its serial number cannot be checked against a CRL";
		return REV_UNKNOWN;
	}
	if ((t = table_get(b, rec->table_id)) == NULL) {
		*why = "the CRL table cannot be read";
		return REV_UNKNOWN;
	}
	if (crl_table_lookup_cert(t, x) != NULL) {
		*why = "listed in the CRL";
		return REV_REVOKED;
	}
	/* One late CRL must not refuse every device: stale_grace. */
	if (rec->next_update != 0 &&
	    now > rec->next_update + b->crl_policy.stale_grace_s) {
		*why = "the CRL is past its nextUpdate";
		return REV_UNKNOWN;
	}
	return REV_GOOD;
}

/*
 * x against its own CRL (the one its distribution point names) or, when
 * it names none, against every CRL of its issuer.
 */
static void
crl_check(struct broker *b, X509 *x, const struct rev_keys *k,
    time_t now, struct rev_result *r)
{
	const struct snap_crl *rec;
	const char *why = NULL;
	enum rev_status st, worst = REV_GOOD;
	size_t first, n, i;

	if (!k->issuer_ok) {
		r->status = REV_UNKNOWN;
		r->why = "unreadable issuer name";
		return;
	}
	if (k->has_dp) {
		rec = b->snap ? snapshot_crl(b->snap, k->issuer, k->dp) : NULL;
		if (rec == NULL) {
			r->status = REV_PENDING;
			r->want_crl = true;
			r->why = "its CRL was never fetched";
			return;
		}
		r->status = crl_record_check(b, rec, x, now, &r->why);
		return;
	}
	n = b->snap ? snapshot_crls_of(b->snap, k->issuer, &first) : 0;
	if (n == 0) {
		r->status = REV_UNKNOWN;
		r->why = "no CRL distribution point and no CRL of its issuer";
		return;
	}
	for (i = 0; i < n; i++) {
		st = crl_record_check(b, snapshot_crl_at(b->snap, first + i),
		    x, now, &why);
		if (st == REV_REVOKED || worst == REV_GOOD) {
			worst = st;
			r->why = why;
		}
		if (st == REV_REVOKED)
			break;
	}
	r->status = worst;
}

static void
ocsp_check(struct broker *b, const struct rev_keys *k, time_t now,
    struct rev_result *r)
{
	const struct snap_ocsp *rec = NULL;

	if (k->cert_ok && b->snap != NULL)
		rec = snapshot_ocsp(b->snap, k->cert);
	if (rec == NULL || rec->expires <= now) {
		r->status = REV_PENDING;
		r->want_ocsp = true;
		r->why = "no current OCSP answer";
		return;
	}
	switch (rec->status) {
	case SNAP_OCSP_GOOD:
		r->status = now < rec->next_update ? REV_GOOD : REV_UNKNOWN;
		r->why = r->status == REV_GOOD ? NULL : "OCSP answer expired";
		break;
	case SNAP_OCSP_REVOKED:
		r->status = REV_REVOKED;
		r->why = "revoked according to OCSP";
		break;
	case SNAP_OCSP_UNKNOWN:
		r->status = REV_UNKNOWN;
		r->why = "the OCSP responder does not know it";
		break;
	default:
		r->status = REV_UNKNOWN;
		r->why = "no OCSP answer could be had";
		break;
	}
}

/* Revoked beats pending beats unknown beats good. */
static void
merge(struct rev_result *into, const struct rev_result *r)
{
	static const int rank[] = { [REV_GOOD] = 0, [REV_UNKNOWN] = 1,
	    [REV_PENDING] = 2, [REV_REVOKED] = 3 };

	into->want_crl |= r->want_crl;
	into->want_ocsp |= r->want_ocsp;
	if (rank[r->status] > rank[into->status]) {
		into->status = r->status;
		into->why = r->why;
	}
}

/*
 * What the snapshot knows certificates by, worked out once per handshake
 * (not again for each snapshot, or each resumption of a paused
 * handshake): the leaf's and, with crl_check = chain, its CAs'.  The
 * leaf's CRL URL goes to c->rev_url, for the request.  -1 out of memory.
 */
static int
keys_make(struct client *c, const struct listener *l, STACK_OF(X509) *chain)
{
	char url[IPC_MAX_URL];
	unsigned char *der = NULL;
	struct rev_keys *k;
	X509 *x;
	int i, n, len;

	n = l->crl_chain ? sk_X509_num(chain) - 1 : 1;
	free(c->rev_keys);
	if ((c->rev_keys = k = calloc(n > 0 ? n : 1, sizeof(*k))) == NULL)
		return -1;
	c->rev_nkeys = n;
	for (i = 0; i < n; i++) {
		x = sk_X509_value(chain, i);
		k[i].issuer_ok = name_id(X509_get_issuer_name(x),
		    k[i].issuer) == 0;
		/* Only the leaf is checked against the CRL it names. */
		if (i == 0 && crl_url(x, url, sizeof(url)) != NULL) {
			k[i].has_dp = true;
			sha256(url, strlen(url), k[i].dp);
			free(c->rev_url);
			c->rev_url = strdup(url);
		}
	}
	if (l->ocsp_client && (len = i2d_X509(sk_X509_value(chain, 0),
	    &der)) > 0) {
		sha256(der, len, k[0].cert);
		k[0].cert_ok = true;
		OPENSSL_free(der);
	}
	return 0;
}

/* The verdict on the verified chain of c (leaf first), from its keys. */
static void
check_chain(struct broker *b, const struct client *c,
    struct rev_result *out)
{
	const struct listener *l = c->listener;
	struct rev_result r;
	time_t now = time(NULL);
	int i;

	memset(out, 0, sizeof(*out));
	out->status = REV_GOOD;
	/* The root checks nothing: it is trusted as configured. */
	for (i = 0; l->crl_check && i < c->rev_nkeys; i++) {
		memset(&r, 0, sizeof(r));
		crl_check(b, sk_X509_value(c->chain, i), &c->rev_keys[i],
		    now, &r);
		/* Only the leaf's CRL is fetched on demand. */
		if (i > 0 && r.status == REV_PENDING)
			r.status = REV_UNKNOWN;
		merge(out, &r);
	}
	if (l->ocsp_client) {
		memset(&r, 0, sizeof(r));
		ocsp_check(b, &c->rev_keys[0], now, &r);
		merge(out, &r);
	}
}

static void
subject_serial(X509 *x, char *buf, size_t len)
{
	char name[256];
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;

	X509_NAME_oneline(X509_get_subject_name(x), name, sizeof(name));
	snprintf(buf, len, "%s serial %s", name, hex ? hex : "?");
	OPENSSL_free(hex);
	BN_free(bn);
}

/* Log a refusal once, with who, which issuer and why. */
static void
log_refusal(const struct client *c, X509 *x, const char *what,
    const char *why)
{
	char who[512], issuer[256];

	subject_serial(x, who, sizeof(who));
	X509_NAME_oneline(X509_get_issuer_name(x), issuer, sizeof(issuer));
	log_notice("%s: %s: %s (issuer %s) %s: %s", c->listener->name,
	    c->peer, who, issuer, what, why);
}

/* Queue a request for fetcherd; sent one at a time (REQ sockets). */
static void
request_queue(struct broker *b, enum ipc_type type, const char *url,
    STACK_OF(X509) *chain)
{
	uint8_t *buf;
	size_t n, i;
	X509 *leaf = sk_X509_value(chain, 0);
	STACK_OF(X509) *rest;
	int j;

	if (b->req == NULL || b->nreqs >= REQ_QUEUE_MAX)
		return;
	if ((buf = malloc(REQ_BUF_MAX)) == NULL)
		return;
	/* The root stays home: fetcherd has the CAs. */
	if ((rest = sk_X509_new_null()) == NULL) {
		free(buf);
		return;
	}
	for (j = 1; j < sk_X509_num(chain) - 1; j++)
		sk_X509_push(rest, sk_X509_value(chain, j));
	n = ipc_req_fetch_encode(buf, REQ_BUF_MAX, type, url, leaf, rest);
	sk_X509_free(rest);
	/* Many devices share one CRL: ask once. */
	for (i = 0; n != 0 && i < b->nreqs; i++)
		if (b->reqs[i].len == n && memcmp(b->reqs[i].buf, buf, n) == 0)
			n = 0;
	if (n == 0) {
		free(buf);
		return;
	}
	b->reqs[b->nreqs].buf = buf;
	b->reqs[b->nreqs].len = n;
	b->nreqs++;
	clientcheck_request_pump(b);
}

void
clientcheck_request_pump(struct broker *b)
{
	int rc;

	while (b->nreqs > 0) {
		rc = notify_req_send(b->req, b->reqs[0].buf, b->reqs[0].len);
		if (rc == 1)
			return;		/* one in flight: wait for its reply */
		free(b->reqs[0].buf);
		b->nreqs--;
		memmove(&b->reqs[0], &b->reqs[1], b->nreqs *
		    sizeof(b->reqs[0]));
		if (rc == 0)
			return;
	}
}

static void
clientcheck_reply_cb(evutil_socket_t fd, short what, void *arg)
{
	struct broker *b = arg;
	uint32_t status;
	int rc;

	(void)fd;
	(void)what;
	while ((rc = notify_req_recv(b->req, &status)) != 0) {
		if (rc == 1 && status != IPC_ST_ACCEPTED)
			log_warnx("fetcherd refused a revocation request "
			    "(status %u)", status);
		clientcheck_request_pump(b);
	}
}

/* Note the verdict for clientcheck_log(): logging is kept off the job. */
static void
verdict(struct client *c, const char *what, const char *why)
{
	c->rev_what = what;
	c->rev_why = why;
}

/*
 * Wait inside the handshake for fetcherd's answer.  false when this
 * handshake cannot wait (no job: crl_cache.max_waiting handshakes wait
 * already), or must not.
 */
static bool
pause_for(struct client *c, const struct rev_result *r)
{
	if (c->rev_abort || c->rev_timed_out)
		return false;
	c->rev_want_crl |= r->want_crl;
	c->rev_want_ocsp |= r->want_ocsp;
	if (ASYNC_get_current_job() == NULL)
		return false;
	return ASYNC_pause_job() == 1 && !c->rev_abort;
}

/*
 * The certificate verification of listeners that check revocation:
 * OpenSSL's own chain verification first, then the snapshot, waiting
 * (paused) for fetcherd when the snapshot cannot tell yet.
 */
static int
clientcheck_verify_cb(X509_STORE_CTX *ctx, void *arg)
{
	struct listener *l = arg;
	struct broker *b = l->broker;
	SSL *ssl = X509_STORE_CTX_get_ex_data(ctx,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	struct client *c = ssl ? SSL_get_app_data(ssl) : NULL;
	struct rev_result r;
	STACK_OF(X509) *chain;

	if (X509_verify_cert(ctx) != 1 || c == NULL)
		return 0;
	chain = X509_STORE_CTX_get0_chain(ctx);	/* not owned */
	/* Kept for the checks of live sessions and the requests. */
	sk_X509_pop_free(c->chain, X509_free);
	if ((c->chain = X509_chain_up_ref(chain)) == NULL ||
	    keys_make(c, l, chain) == -1) {
		X509_STORE_CTX_set_error(ctx, X509_V_ERR_OUT_OF_MEM);
		return 0;
	}
	for (;;) {
		check_chain(b, c, &r);
		if (r.status != REV_PENDING || !pause_for(c, &r))
			break;
	}
	if (c->rev_abort) {
		X509_STORE_CTX_set_error(ctx, X509_V_ERR_UNSPECIFIED);
		return 0;
	}
	if (r.status == REV_PENDING)
		r.why = c->rev_timed_out ? "no revocation data within "
		    "crl_cache.fetch_timeout" : "too many handshakes are "
		    "already waiting for revocation data";
	switch (r.status) {
	case REV_GOOD:
		if (c->rev_asked)
			verdict(c, "accepted", "revocation status known: good");
		return 1;
	case REV_REVOKED:
		verdict(c, "refused", r.why);
		b->stats.revoked_refused++;
		X509_STORE_CTX_set_error(ctx, X509_V_ERR_CERT_REVOKED);
		return 0;
	default:
		if (b->crl_policy.fail_open) {
			verdict(c, "accepted (crl_cache.fail_open)", r.why);
			return 1;
		}
		verdict(c, "refused", r.why);
		b->stats.revoked_refused++;
		X509_STORE_CTX_set_error(ctx, ERR_STATUS_UNKNOWN);
		return 0;
	}
}

/* Ask fetcherd, once, for what the verify callback found missing. */
static void
ask(struct client *c)
{
	if (c->rev_asked || c->chain == NULL)
		return;
	c->rev_asked = true;
	if (c->rev_want_crl && c->rev_url != NULL)
		request_queue(c->broker, IPC_REQ_CRL, c->rev_url, c->chain);
	if (c->rev_want_ocsp)
		request_queue(c->broker, IPC_REQ_OCSP, NULL, c->chain);
}

/*
 * The handshake is over: log the verdict the verify callback noted, and
 * ask for what a handshake that could not wait was missing, so that the
 * device's next attempt finds it.
 */
void
clientcheck_done(struct client *c)
{
	ask(c);
	if (c->rev_what == NULL || c->chain == NULL)
		return;
	log_refusal(c, sk_X509_value(c->chain, 0), c->rev_what, c->rev_why);
	c->rev_what = c->rev_why = NULL;
}

/* Set up an ssl listener that checks client certificates. */
void
clientcheck_listener(struct listener *l, const struct conf_node *ln)
{
	l->crl_check = conf_bool(ln, "ssl_options.enable_crl_check");
	l->crl_chain = strcmp(conf_str(ln, "ssl_options.crl_check"),
	    "chain") == 0;
	l->ocsp_client = strcmp(conf_str(ln, "ssl_options.ocsp.client_check"),
	    "leaf") == 0;
	if (!l->crl_check && !l->ocsp_client)
		return;
	SSL_CTX_set_cert_verify_callback(l->ctx, clientcheck_verify_cb, l);
	/* Handshakes as async jobs, so that one can pause: see above. */
	SSL_CTX_set_mode(l->ctx, SSL_MODE_ASYNC);
	/*
	 * A resumed session skips certificate verification, and with it
	 * this check: a device revoked after its first handshake could come
	 * back on its ticket.  No tickets, no session cache, no resumption.
	 * (It also saves re-encoding the client chain into every ticket.)
	 */
	tls_ctx_no_resumption(l->ctx);
}

/*
 * The handshake paused in the verify callback: ask fetcherd (once) and
 * hold the client, not reading it, until a snapshot decides or the wait
 * is over.
 */
void
clientcheck_hold(struct client *c)
{
	if (!c->rev_asked) {
		ask(c);
		client_timer_set(c, c->broker->crl_policy.fetch_timeout_ms);
		log_debug("%s: %s: handshake paused for revocation data",
		    c->listener->name, c->peer);
	}
	c->state = CS_REV_WAIT;
	event_del(c->ev_read);
	if (c->ev_write != NULL)
		event_del(c->ev_write);
}

/*
 * End a paused handshake before its SSL is freed: its job would leak.
 * The verify callback sees rev_abort and fails the handshake.
 */
void
clientcheck_abort(struct client *c)
{
	if (c->ssl == NULL || !SSL_waiting_for_async(c->ssl))
		return;
	c->rev_abort = true;
	(void)SSL_do_handshake(c->ssl);
	ERR_clear_error();
}

/* Re-judge one client against the current snapshot. */
static void
clientcheck_one(struct broker *b, struct client *c, bool timed_out)
{
	struct rev_result r;
	X509 *leaf = sk_X509_value(c->chain, 0);

	check_chain(b, c, &r);
	if (c->state == CS_REV_WAIT) {
		/* The verify callback judges again as the handshake goes on. */
		if (r.status == REV_PENDING && !timed_out)
			return;
		c->rev_timed_out = timed_out;
		client_resume(c);
		return;
	}
	if (r.status != REV_REVOKED)
		return;		/* live sessions are cut only when revoked */
	log_refusal(c, leaf, "disconnected: revoked while connected", r.why);
	b->stats.revoked_disconnected++;
	client_close(c, "certificate revoked");
}

/* The wait of a paused handshake is over. */
void
clientcheck_timeout(struct client *c)
{
	clientcheck_one(c->broker, c, true);
}

/* A new snapshot: held clients may go on, revoked ones must go. */
void
clientcheck_snapshot(struct broker *b)
{
	struct client *c, *next;

	tables_prune(b);
	for (c = TAILQ_FIRST(&b->clients); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->chain != NULL && (c->listener->crl_check ||
		    c->listener->ocsp_client) && c->state != CS_CLOSED)
			clientcheck_one(b, c, false);
	}
}

int
clientcheck_start(struct broker *b)
{
	b->crl_policy.fetch_timeout_ms = conf_num(b->conf->root,
	    "crl_cache.fetch_timeout");
	b->crl_policy.stale_grace_s = conf_num(b->conf->root,
	    "crl_cache.stale_grace") / 1000;
	b->crl_policy.fail_open = conf_bool(b->conf->root,
	    "crl_cache.fail_open");
	if (b->crl_policy.fail_open)
		log_warnx("crl_cache.fail_open is on: clients whose "
		    "revocation status is unknown are accepted");
	/*
	 * Paused handshakes are async jobs with 32 KiB stacks that OpenSSL
	 * keeps for reuse: bounded.  Once per process (not reloaded): a
	 * second call would replace, and leak, the pool.
	 */
	if (!async_pool) {
		async_pool = ASYNC_init_thread(conf_num(b->conf->root,
		    "crl_cache.max_waiting"), 0) == 1;
		ERR_clear_error();
	}
	if ((b->reqs = calloc(REQ_QUEUE_MAX, sizeof(*b->reqs))) == NULL ||
	    (b->req = notify_req_open(conf_str(b->conf->root,
	    "node.runtime_dir"))) == NULL)
		return -1;
	if ((b->ev_req = event_new(b->base, notify_req_fd(b->req),
	    EV_READ | EV_PERSIST, clientcheck_reply_cb, b)) == NULL ||
	    event_add(b->ev_req, NULL) == -1)
		return -1;
	return 0;
}

void
clientcheck_stop(struct broker *b)
{
	size_t i;

	if (b->ev_req != NULL)
		event_free(b->ev_req);
	b->ev_req = NULL;
	notify_req_close(b->req);
	b->req = NULL;
	for (i = 0; i < b->nreqs; i++)
		free(b->reqs[i].buf);
	b->nreqs = 0;
	free(b->reqs);
	b->reqs = NULL;
	for (i = 0; i < b->ntables; i++)
		crl_table_close(b->tables[i]);
	b->ntables = 0;
}
