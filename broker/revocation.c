/*
 * revocation.c: the broker's side of the snapshot: load it (at start-up,
 * on fetcherd's note, or when the file changes), re-verify each staple
 * once against its issuer, and serve the current staple in the TLS status
 * callback without any work per handshake beyond a copy.
 *
 * A stapling listener accepts only once fetcherd has said something about
 * each of its certificates (a staple, or that it could not get one),
 * bounded by ocsp.startup_wait, so that the first handshake after a cold
 * start is stapled; a Must-Staple certificate (RFC 7633) waits for a valid
 * staple, bounded by ocsp.must_staple_wait.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "broker.h"
#include "chain.h"
#include "log.h"
#include "notify.h"
#include "ossl.h"
#include "revcheck.h"
#include "snapshot.h"
#include "xmalloc.h"

#define TLSFEATURE_STATUS_REQUEST	5	/* RFC 7633 */

static void staple_free(struct staple *);

/* Does the certificate demand a staple (TLS Feature status_request)? */
static bool
staple_must(X509 *leaf)
{
	TLS_FEATURE *feat;
	bool must = false;
	int i;

	if ((feat = X509_get_ext_d2i(leaf, NID_tlsfeature, NULL,
	    NULL)) == NULL)
		return false;
	for (i = 0; i < sk_ASN1_INTEGER_num(feat); i++)
		if (ASN1_INTEGER_get(sk_ASN1_INTEGER_value(feat, i)) ==
		    TLSFEATURE_STATUS_REQUEST)
			must = true;
	TLS_FEATURE_free(feat);
	return must;
}

/* The SSL_CTX's own X509 for this leaf: the status callback sees that. */
static X509 *
staple_ctx_cert(SSL_CTX *ctx, X509 *leaf)
{
	X509 *x;
	int rc;

	for (rc = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_FIRST); rc == 1;
	    rc = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_NEXT)) {
		x = SSL_CTX_get0_certificate(ctx);
		if (x != NULL && X509_cmp(x, leaf) == 0)
			return x;
	}
	ERR_clear_error();
	return NULL;
}

static struct staple *
staple_new(struct listener *l, const struct conf_node *ocsp,
    const char *certfile)
{
	struct staple *s;
	STACK_OF(X509) *chain = NULL;

	s = xcalloc(1, sizeof(*s));
	s->listener = l;
	s->certfile = xstrdup(certfile);
	if (chain_load(certfile, &s->leaf, &chain) == -1) {
		log_err("%s: certfile %s: %s", l->name, certfile,
		    ossl_error());
		goto fail;
	}
	if ((s->issuer = chain_issuer(l->name, conf_str(ocsp, "issuer_pem"),
	    s->leaf, chain)) == NULL || chain_cert_id(s->leaf, s->id) == -1)
		goto fail;
	s->ctx_cert = staple_ctx_cert(l->ctx, s->leaf);
	s->must_staple = staple_must(s->leaf);
	if (s->must_staple)
		log_notice("%s: %s is Must-Staple (RFC 7633)", l->name,
		    certfile);
	sk_X509_pop_free(chain, X509_free);
	return s;
fail:
	sk_X509_pop_free(chain, X509_free);
	staple_free(s);
	return NULL;
}

static void
staple_free(struct staple *s)
{
	if (s == NULL)
		return;
	X509_free(s->leaf);
	X509_free(s->issuer);
	free(s->certfile);
	free(s);
}

/* Serve the staple of the certificate this handshake uses, if valid. */
static int
staple_status_cb(SSL *ssl, void *arg)
{
	struct listener *l = arg;
	X509 *x = SSL_get_certificate(ssl);	/* not owned */
	struct staple *s = NULL;
	unsigned char *copy;
	size_t i;

	for (i = 0; i < l->nstaples; i++)
		if (l->staples[i]->ctx_cert == x) {
			s = l->staples[i];
			break;
		}
	if (s == NULL || s->der == NULL ||
	    !revcheck_ocsp_times_valid(s->this_update, s->next_update,
	    time(NULL))) {
		if (s != NULL && s->der != NULL && !s->expired_logged) {
			log_warnx("%s: staple of %s is past its nextUpdate; "
			    "handshakes go without one", l->name, s->certfile);
			s->expired_logged = true;
		}
		return SSL_TLSEXT_ERR_NOACK;
	}
	/* OpenSSL frees what it is given, so each handshake gets a copy. */
	if ((copy = OPENSSL_memdup(s->der, s->der_len)) == NULL)
		return SSL_TLSEXT_ERR_NOACK;
	SSL_set_tlsext_status_ocsp_resp(ssl, copy, s->der_len);
	return SSL_TLSEXT_ERR_OK;
}

/*
 * Set up stapling for an ssl listener whose ocsp.enable_ocsp_stapling is
 * on: one staple per certificate, and the status callback.
 */
int
staples_create(struct listener *l, const struct conf_node *ln)
{
	const struct conf_node *ocsp = conf_find(ln, "ssl_options.ocsp");
	size_t i, n = conf_len(ln, "ssl_options.certfile");
	int rc = 0;

	if (!conf_bool(ocsp, "enable_ocsp_stapling"))
		return 0;
	l->stapling = true;
	l->startup_wait_ms = conf_num(ocsp, "startup_wait");
	l->must_staple_wait_ms = conf_num(ocsp, "must_staple_wait");
	l->staples = xcalloc(n, sizeof(*l->staples));
	for (i = 0; i < n; i++) {
		if ((l->staples[l->nstaples] = staple_new(l, ocsp,
		    conf_item(ln, "ssl_options.certfile", i))) == NULL)
			rc = -1;
		else
			l->nstaples++;
	}
	SSL_CTX_set_tlsext_status_cb(l->ctx, staple_status_cb);
	SSL_CTX_set_tlsext_status_arg(l->ctx, l);
	return rc;
}

void
staples_free(struct listener *l)
{
	size_t i;

	for (i = 0; i < l->nstaples; i++)
		staple_free(l->staples[i]);
	free(l->staples);
	l->staples = NULL;
	l->nstaples = 0;
}

/*
 * Take what the snapshot says about one certificate.  A GOOD response is
 * verified again here, once per snapshot, so a corrupted or forged file
 * can never put an unverified staple on the wire.
 */
static void
staple_apply(struct staple *s, const struct snapshot *snap, time_t now)
{
	const struct snap_staple *rec = snapshot_staple(snap, s->id);
	struct revcheck_result res;
	const uint8_t *der;
	size_t len;
	bool had = s->der != NULL;

	s->der = NULL;
	s->known = rec != NULL;
	if (rec == NULL)
		return;
	switch (rec->state) {
	case SNAP_STAPLE_GOOD:
		der = snapshot_staple_der(snap, rec, &len);
		if (revcheck_ocsp(der, len, s->leaf, s->issuer, NULL, now,
		    &res) == -1 || res.status != REVCHECK_GOOD) {
			log_err("%s: staple of %s from the snapshot does not "
			    "verify (%s); not served", s->listener->name,
			    s->certfile, res.reason[0] ? res.reason : "not good");
			return;
		}
		s->der = der;
		s->der_len = len;
		s->this_update = res.this_update;
		s->next_update = res.next_update;
		s->expired_logged = false;
		if (!had)
			log_info("%s: stapling %s (next update %lld)",
			    s->listener->name, s->certfile,
			    (long long)res.next_update);
		break;
	case SNAP_STAPLE_REVOKED:
		log_err("%s: %s is REVOKED by its responder; no staple is "
		    "served", s->listener->name, s->certfile);
		break;
	default:
		if (had || !s->failed_logged)
			log_warnx("%s: no staple for %s yet: fetcherd could "
			    "not get one", s->listener->name, s->certfile);
		s->failed_logged = true;
		break;
	}
}

/* Is a waiting stapling listener ready to accept? */
static bool
listener_staples_ready(const struct listener *l, bool must_only)
{
	size_t i;

	for (i = 0; i < l->nstaples; i++) {
		if (l->staples[i]->must_staple && l->staples[i]->der == NULL)
			return false;
		if (!must_only && !l->staples[i]->known)
			return false;
	}
	return true;
}

static void
listener_open(struct listener *l, const char *why)
{
	if (l->accepting || l->evl == NULL)
		return;
	l->accepting = true;
	evconnlistener_enable(l->evl);
	log_notice("%s: accepting connections (%s)", l->name, why);
}

/* Open listeners whose staples are in, or whose wait is over. */
void
revocation_listeners_check(struct broker *b)
{
	struct listener *l;
	int64_t waited;
	size_t i;

	TAILQ_FOREACH(l, &b->listeners, entry) {
		if (l->accepting || !l->stapling)
			continue;
		waited = broker_now_ms(b) - b->start_ms;
		if (listener_staples_ready(l, false)) {
			listener_open(l, "staples ready");
			continue;
		}
		if (waited >= l->must_staple_wait_ms ||
		    (waited >= l->startup_wait_ms &&
		    listener_staples_ready(l, true))) {
			for (i = 0; i < l->nstaples; i++)
				if (l->staples[i]->must_staple &&
				    l->staples[i]->der == NULL)
					log_err("%s: %s is Must-Staple and has "
					    "NO valid staple: clients will "
					    "refuse it", l->name,
					    l->staples[i]->certfile);
			listener_open(l, "gave up waiting for staples");
		}
	}
}

static struct snapshot *
revocation_open(struct broker *b, struct stat *st, const char **dir)
{
	const char *dirs[2] = { conf_str(b->conf->root, "node.runtime_dir"),
	    conf_str(b->conf->root, "node.data_dir") };
	struct snapshot *snap;
	char path[4096], err[256];
	int i;

	/* The runtime copy is current; the data copy survives reboots. */
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", dirs[i], SNAP_FILE);
		if (stat(path, st) == -1)
			continue;
		if ((snap = snapshot_open(path, err, sizeof(err))) != NULL) {
			*dir = dirs[i];
			return snap;
		}
		log_warnx("%s; keeping the previous snapshot", err);
		return NULL;
	}
	return NULL;
}

/* Load the newest snapshot if it is newer than the one in use. */
void
revocation_load(struct broker *b)
{
	struct snapshot *snap;
	struct listener *l;
	struct stat st;
	time_t now = time(NULL);
	const char *dir = NULL;
	size_t i;

	if ((snap = revocation_open(b, &st, &dir)) == NULL)
		return;
	b->snap_ino = st.st_ino;
	b->snap_mtime = st.st_mtime;
	if (b->snap != NULL &&
	    snapshot_generation(snap) <= snapshot_generation(b->snap)) {
		snapshot_close(snap);
		return;
	}
	log_debug("snapshot generation %llu",
	    (unsigned long long)snapshot_generation(snap));
	TAILQ_FOREACH(l, &b->listeners, entry)
		for (i = 0; i < l->nstaples; i++)
			staple_apply(l->staples[i], snap, now);
	/* Staples now point into the new mapping; the old one can go. */
	snapshot_close(b->snap);
	b->snap = snap;
	snprintf(b->snap_dir, sizeof(b->snap_dir), "%s", dir);
	revocation_listeners_check(b);
	clientcheck_snapshot(b);
}

/* After a reload: the new staples learn what the current snapshot says. */
void
revocation_reapply(struct broker *b)
{
	struct listener *l;
	time_t now = time(NULL);
	size_t i;

	if (b->snap == NULL)
		return;
	TAILQ_FOREACH(l, &b->listeners, entry)
		for (i = 0; i < l->nstaples; i++)
			staple_apply(l->staples[i], b->snap, now);
}

static void
revocation_notify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct broker *b = arg;
	uint64_t gen;
	int rc, got = 0;

	(void)fd;
	(void)what;
	while ((rc = notify_sub_recv(b->notify, &gen)) != 0)
		if (rc == 1)
			got = 1;
	if (got)
		revocation_load(b);
}

/* Once a second: a changed file (a note may be lost), and the waits. */
void
revocation_tick(struct broker *b)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s",
	    conf_str(b->conf->root, "node.runtime_dir"), SNAP_FILE);
	if (stat(path, &st) == 0 && (st.st_ino != b->snap_ino ||
	    st.st_mtime != b->snap_mtime))
		revocation_load(b);
	revocation_listeners_check(b);
}

int
revocation_start(struct broker *b)
{
	struct listener *l;
	bool any = false, clients = false;

	TAILQ_FOREACH(l, &b->listeners, entry) {
		any |= l->stapling || l->crl_check || l->ocsp_client;
		clients |= l->crl_check || l->ocsp_client;
	}
	if (!any)
		return 0;
	if (clients && clientcheck_start(b) == -1)
		return -1;
	if ((b->notify = notify_sub_open(conf_str(b->conf->root,
	    "node.runtime_dir"))) == NULL)
		return -1;
	if ((b->ev_notify = event_new(b->base, notify_sub_fd(b->notify),
	    EV_READ | EV_PERSIST, revocation_notify_cb, b)) == NULL ||
	    event_add(b->ev_notify, NULL) == -1)
		return -1;
	revocation_load(b);
	return 0;
}

void
revocation_stop(struct broker *b)
{
	clientcheck_stop(b);
	if (b->ev_notify != NULL)
		event_free(b->ev_notify);
	b->ev_notify = NULL;
	notify_sub_close(b->notify);
	b->notify = NULL;
	snapshot_close(b->snap);
	b->snap = NULL;
}
