/*
 * publish.c: turning the targets' state into a snapshot: written to the
 * runtime directory (what brokers map) and to the data directory (what a
 * restart starts from), then announced over nng.  Changes within one loop
 * iteration are published once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fetcherd.h"
#include "log.h"
#include "notify.h"
#include "revcheck.h"
#include "snapshot.h"

static void
publish_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)publish_now(arg);
}

int
publish_open(struct fetcherd *f)
{
	if ((f->pub = notify_pub_open(conf_str(f->conf->root,
	    "node.runtime_dir"))) == NULL)
		return -1;
	if ((f->ev_publish = event_new(f->base, -1, 0, publish_cb,
	    f)) == NULL)
		return -1;
	return 0;
}

void
publish_close(struct fetcherd *f)
{
	if (f->ev_publish != NULL)
		event_free(f->ev_publish);
	f->ev_publish = NULL;
	notify_pub_close(f->pub);
	f->pub = NULL;
}

void
publish_soon(struct fetcherd *f)
{
	if (f->ev_publish != NULL)
		event_active(f->ev_publish, 0, 0);
}

/*
 * Generations only grow, across restarts too: a broker ignores a snapshot
 * that is not newer than the one it has.
 */
static uint64_t
publish_generation(struct fetcherd *f)
{
	struct timespec ts;
	uint64_t us;

	clock_gettime(CLOCK_REALTIME, &ts);
	us = (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	return us > f->generation ? us : f->generation + 1;
}

int
publish_now(struct fetcherd *f)
{
	struct snap_writer *w;
	struct target *t;
	uint64_t gen = publish_generation(f);
	int64_t now = time(NULL);
	int rc = -1;

	if ((w = snap_writer_new()) == NULL)
		return -1;
	TAILQ_FOREACH(t, &f->targets, entry) {
		if (t->state == 0)
			continue;
		if (snap_writer_staple(w, t->id, t->state, t->this_update,
		    t->next_update, t->fetched_at, t->der, t->der_len) == -1)
			goto done;
	}
	if (snap_writer_publish(w, conf_str(f->conf->root,
	    "node.runtime_dir"), gen, now) == -1)
		goto done;
	/* The persisted copy is a convenience; its failure is only logged. */
	(void)snap_writer_publish(w, conf_str(f->conf->root, "node.data_dir"),
	    gen, now);
	f->generation = gen;
	if (f->pub != NULL && notify_publish(f->pub, gen) == -1)
		log_warnx("cannot announce snapshot generation %llu",
		    (unsigned long long)gen);
	log_debug("published snapshot generation %llu",
	    (unsigned long long)gen);
	rc = 0;
done:
	snap_writer_free(w);
	return rc;
}

/*
 * At start: take the persisted staples that still verify and are still
 * valid, so brokers can staple before any responder answers.
 */
void
publish_restore(struct fetcherd *f)
{
	const struct snap_staple *rec;
	struct revcheck_result res;
	struct snapshot *snap;
	struct target *t;
	const uint8_t *der;
	char path[4096], err[256];
	size_t len;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s",
	    conf_str(f->conf->root, "node.data_dir"), SNAP_FILE);
	if ((snap = snapshot_open(path, err, sizeof(err))) == NULL) {
		log_debug("%s", err);
		return;
	}
	f->generation = snapshot_generation(snap);
	TAILQ_FOREACH(t, &f->targets, entry) {
		if ((rec = snapshot_staple(snap, t->id)) == NULL ||
		    rec->state != SNAP_STAPLE_GOOD)
			continue;
		der = snapshot_staple_der(snap, rec, &len);
		if (revcheck_ocsp(der, len, t->leaf, t->issuer, NULL,
		    time(NULL), &res) == -1 || res.status != REVCHECK_GOOD ||
		    (t->der = malloc(len)) == NULL)
			continue;
		memcpy(t->der, der, len);
		t->der_len = len;
		t->state = SNAP_STAPLE_GOOD;
		t->this_update = res.this_update;
		t->next_update = res.next_update;
		t->fetched_at = rec->fetched_at;
		n++;
	}
	snapshot_close(snap);
	if (n > 0) {
		log_info("restored %d staple%s from %s", n, n == 1 ? "" : "s",
		    path);
		(void)publish_now(f);
	}
}
