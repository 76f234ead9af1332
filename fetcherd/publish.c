/*
 * publish.c: turning the state of the staple targets, the CRL sources
 * and the client OCSP cache into a snapshot: written to the runtime
 * directory (what brokers map) and announced over nng, then copied, with
 * the new CRL tables, to the data directory (what a restart starts from).
 * Changes within one loop iteration are published once.  CRL tables no
 * snapshot has named for PUBLISH_TABLE_GRACE_S are removed from both
 * directories: a broker that has just read the previous snapshot still
 * finds the tables it names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crl_table.h"
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
	free(f->seen);
	f->seen = NULL;
	f->nseen = 0;
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

/* id was named by a snapshot at now. */
static void
publish_seen(struct fetcherd *f, const uint8_t *id, int64_t now)
{
	struct table_seen *n;
	size_t i;

	for (i = 0; i < f->nseen; i++)
		if (memcmp(f->seen[i].id, id, SNAP_ID_LEN) == 0) {
			f->seen[i].last = now;
			return;
		}
	/* Out of memory: the table is not protected, and that is all. */
	if ((n = reallocarray(f->seen, f->nseen + 1, sizeof(*n))) == NULL)
		return;
	f->seen = n;
	memcpy(f->seen[f->nseen].id, id, SNAP_ID_LEN);
	f->seen[f->nseen++].last = now;
}

/*
 * Remove the table files that no snapshot has named for
 * PUBLISH_TABLE_GRACE_S, from both directories.
 */
static void
publish_prune(struct fetcherd *f, int64_t now)
{
	uint8_t (*ids)[SNAP_ID_LEN], (*keep)[SNAP_ID_LEN];
	size_t i, k, n;

	n = crl_table_ids(f, &ids);
	for (i = 0; i < n; i++)
		publish_seen(f, ids[i], now);
	free(ids);
	for (i = 0, k = 0; i < f->nseen; i++)
		if (now - f->seen[i].last <= PUBLISH_TABLE_GRACE_S)
			f->seen[k++] = f->seen[i];
	f->nseen = k;
	if (k > 0 && (keep = calloc(k, SNAP_ID_LEN)) == NULL)
		return;			/* prune next time */
	for (i = 0; i < k; i++)
		memcpy(keep[i], f->seen[i].id, SNAP_ID_LEN);
	crl_tables_prune(conf_str(f->conf->root, "node.runtime_dir"),
	    k > 0 ? (const uint8_t (*)[SNAP_ID_LEN])keep : NULL, k);
	crl_tables_prune(conf_str(f->conf->root, "node.data_dir"),
	    k > 0 ? (const uint8_t (*)[SNAP_ID_LEN])keep : NULL, k);
	if (k > 0)
		free(keep);
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
	if (crl_publish(f, w, now) == -1 ||
	    client_ocsp_publish(f, w, now) == -1)
		goto done;
	if (snap_writer_publish(w, conf_str(f->conf->root,
	    "node.runtime_dir"), gen, now) == -1)
		goto done;
	f->generation = gen;
	if (f->pub != NULL && notify_publish(f->pub, gen) == -1)
		log_warnx("cannot announce snapshot generation %llu",
		    (unsigned long long)gen);
	log_debug("published snapshot generation %llu",
	    (unsigned long long)gen);
	/*
	 * The persisted copy is a convenience, its failure only logged:
	 * the tables it names first, then the snapshot.
	 */
	crl_persist(f);
	(void)snap_writer_publish(w, conf_str(f->conf->root, "node.data_dir"),
	    gen, now);
	publish_prune(f, now);
	rc = 0;
done:
	snap_writer_free(w);
	return rc;
}

/*
 * At start: take the persisted staples that still verify and are still
 * valid, so brokers can staple before any responder answers; and the
 * CRLs whose tables are intact and the client OCSP answers not expired,
 * so brokers check clients at once.
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
	if (n > 0)
		log_info("restored %d staple%s from %s", n, n == 1 ? "" : "s",
		    path);
	n += crl_restore(f, snap);
	n += client_ocsp_restore(f, snap, time(NULL));
	snapshot_close(snap);
	if (n > 0)
		(void)publish_now(f);
}
