/*
 * staple.c: keeping one staple per server certificate fresh: fetch from
 * each responder in turn, keep the last good response until its
 * nextUpdate, withdraw it when the responder says revoked, back off on
 * failure, and publish every change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "fetcherd.h"
#include "log.h"
#include "ocsp.h"
#include "revcheck.h"
#include "schedule.h"

static void staple_timer_cb(evutil_socket_t, short, void *);

static int64_t
staple_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t
staple_random(void)
{
	uint32_t r = 0;

	(void)RAND_bytes((unsigned char *)&r, sizeof(r));
	return r;
}

static void
staple_schedule(struct target *t, int64_t at_ms)
{
	int64_t ms = at_ms - staple_now_ms();
	struct timeval tv;

	if (t->f->opts.diag_check)
		return;
	if (ms < 0)
		ms = 0;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(t->timer, &tv);
	log_debug("%s: %s: next fetch in %llds", t->listener, t->subject,
	    (long long)(ms / 1000));
}

/* --check counts targets that reached a final answer. */
static void
staple_checked(struct target *t)
{
	struct fetcherd *f = t->f;

	if (!f->opts.diag_check || t->checked)
		return;
	t->checked = true;
	if (--f->pending_checks == 0)
		event_base_loopbreak(f->base);
}

static void
staple_drop_der(struct target *t)
{
	free(t->der);
	t->der = NULL;
	t->der_len = 0;
}

static void
staple_failed(struct target *t, const char *why)
{
	int64_t now = staple_now_ms();

	t->n_fail++;
	t->failures++;
	snprintf(t->last_error, sizeof(t->last_error), "%s", why);
	log_warnx("%s: %s: %s: %s", t->listener, t->subject,
	    t->last_url ? t->last_url : "(no responder)", why);
	/* The next responder of the AIA list gets its turn at once. */
	if (t->url_i + 1 < t->nurls) {
		t->url_i++;
		staple_fetch(t);
		return;
	}
	t->url_i = 0;
	if (t->state == 0) {
		t->state = SNAP_STAPLE_FAILED;
		publish_soon(t->f);
	} else if (t->state == SNAP_STAPLE_GOOD &&
	    now / 1000 >= t->next_update) {
		log_err("%s: %s: the staple expired and no fresh one came; "
		    "handshakes go without one", t->listener, t->subject);
		t->state = SNAP_STAPLE_FAILED;
		staple_drop_der(t);
		publish_soon(t->f);
	}
	staple_checked(t);
	staple_schedule(t, sched_backoff(now, t->failures, t->refresh_ms,
	    staple_random()));
}

static void
staple_good(struct target *t, const struct ocsp_fetch_result *r)
{
	uint8_t *copy;
	bool was = t->state == SNAP_STAPLE_GOOD;

	if ((copy = malloc(r->der_len)) == NULL) {
		staple_failed(t, "out of memory");
		return;
	}
	memcpy(copy, r->der, r->der_len);
	staple_drop_der(t);
	t->der = copy;
	t->der_len = r->der_len;
	t->state = SNAP_STAPLE_GOOD;
	t->this_update = r->check.this_update;
	t->next_update = r->check.next_update;
	t->fetched_at = staple_now_ms() / 1000;
	if (!was)
		log_info("%s: %s: staple fetched from %s, good until %lld",
		    t->listener, t->subject, t->last_url,
		    (long long)t->next_update);
	else
		log_debug("%s: %s: staple refreshed", t->listener, t->subject);
	publish_soon(t->f);
}

static void
staple_done_cb(void *arg, const struct ocsp_fetch_result *r)
{
	struct target *t = arg;
	int64_t now = staple_now_ms();

	t->in_flight = false;
	if (t->f->stopping)
		return;
	t->last_http = r->http_status;
	t->last_method = ocsp_method_name(r->method);
	if (r->error != NULL) {
		staple_failed(t, r->error);
		return;
	}
	switch (r->check.status) {
	case REVCHECK_GOOD:
		staple_good(t, r);
		break;
	case REVCHECK_REVOKED:
		/* An emergency for the operator: say so at error level. */
		log_err("%s: %s (serial %s) is REVOKED according to %s; the "
		    "staple is withdrawn", t->listener, t->subject, t->serial,
		    t->last_url);
		t->state = SNAP_STAPLE_REVOKED;
		staple_drop_der(t);
		snprintf(t->last_error, sizeof(t->last_error), "revoked");
		publish_soon(t->f);
		break;
	default:
		staple_failed(t, "the responder does not know the "
		    "certificate (unknown)");
		return;
	}
	t->n_ok++;
	t->failures = 0;
	t->url_i = 0;
	staple_checked(t);
	/* RFC 5019: no refetch before the responder's max-age is over. */
	staple_schedule(t, sched_from_cache_headers(sched_next_refresh(now,
	    t->this_update * 1000, t->next_update * 1000, t->refresh_ms,
	    staple_random()), now, r->max_age, r->age, t->this_update * 1000,
	    t->next_update * 1000));
}

void
staple_fetch(struct target *t)
{
	struct ocsp_query q;

	if (t->in_flight)
		return;
	if (t->nurls == 0) {
		t->last_url = NULL;
		staple_failed(t, "no responder: set ocsp.responder_url or "
		    "use a certificate with an OCSP URL in its AIA");
		return;
	}
	t->last_url = t->urls[t->url_i];
	t->in_flight = true;
	q.cert = t->leaf;
	q.issuer = t->issuer;
	q.url = t->last_url;
	q.cafile = t->cafile;
	q.timeout_ms = t->timeout_ms;
	if (ocsp_fetch(t->f->http, &q, staple_done_cb, t) == -1) {
		t->in_flight = false;
		staple_failed(t, "cannot start the request");
	}
}

static void
staple_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	staple_fetch(arg);
}

/* Fetch every target now; each reschedules itself from then on. */
int
staples_start(struct fetcherd *f)
{
	struct target *t;

	f->pending_checks = 0;
	TAILQ_FOREACH(t, &f->targets, entry) {
		t->f = f;
		if (t->timer == NULL && (t->timer = evtimer_new(f->base,
		    staple_timer_cb, t)) == NULL)
			return -1;
		f->pending_checks++;
	}
	TAILQ_FOREACH(t, &f->targets, entry)
		staple_fetch(t);
	return 0;
}

void
staples_stop(struct fetcherd *f)
{
	struct target *t;

	TAILQ_FOREACH(t, &f->targets, entry)
		if (t->timer != NULL) {
			event_free(t->timer);
			t->timer = NULL;
		}
}

/*
 * After a reload: targets that are the same certificate keep what they
 * had (their staple, their counters); new ones start from nothing.
 */
void
staples_adopt(struct target_head *to, struct target_head *from)
{
	struct target *n, *o;

	TAILQ_FOREACH(n, to, entry)
		TAILQ_FOREACH(o, from, entry) {
			if (memcmp(n->id, o->id, SNAP_ID_LEN) != 0 ||
			    o->state == 0)
				continue;
			n->state = o->state;
			n->der = o->der;
			n->der_len = o->der_len;
			o->der = NULL;
			n->this_update = o->this_update;
			n->next_update = o->next_update;
			n->fetched_at = o->fetched_at;
			n->n_ok = o->n_ok;
			n->n_fail = o->n_fail;
			break;
		}
}
