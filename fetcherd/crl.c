/*
 * crl.c: keeping the CRLs that client certificates are checked against:
 * those of crl_cache.urls (fetched at start and refreshed), those of
 * crl_cache.files (re-read when they change), and those of the
 * distribution points brokers ask for (request.c checks they may).
 *
 * Each source is verified by crl_ingest.c, becomes an immutable table
 * file in the runtime directory (and, after the snapshot that names it is
 * out, in the data directory), and is published as one snap_crl record
 * keyed (issuer, source).  A download that fails, does not verify or is
 * older never replaces the CRL in use; an unchanged CRL costs a 304.  A
 * source asked for by a broker that never succeeded is published FAILED,
 * so the broker stops waiting and applies its policy.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "crl_ingest.h"
#include "crl_table.h"
#include "fetcherd.h"
#include "http.h"
#include "log.h"
#include "schedule.h"
#include "snapshot.h"
#include "xmalloc.h"

#define CRL_ACCEPT	"application/pkix-crl, application/x-pkcs7-crl, " \
			"application/x-pem-file;q=0.9, */*;q=0.5"
#define CRL_FILE_PREFIX	"file:"		/* dp_id of a local file */
/* CRL servers often sit behind a redirect (CDNs); http.c keeps to
 * http(s) on every hop. */
#define CRL_MAX_REDIRECTS	HTTP_MAX_REDIRECTS

static int64_t	 crl_now_ms(void);
static uint32_t	 crl_random(void);
static void	 crl_dp_id(const char *, const char *, uint8_t *);
static bool	 crl_orphan(const struct crl_source *);
static struct crl_source *crl_find(struct fetcherd *, const uint8_t *);
static struct crl_source *crl_source_new(struct fetcherd *, const char *,
		    const char *, const uint8_t *);
static void	 crl_source_free(struct crl_source *);
static void	 crl_drop(struct crl_source *);
static int	 crl_adopt(struct crl_source *, const char *, const char *);
static struct crl_source *crl_get(struct fetcherd *, const char *,
		    const char *);
static void	 crl_schedule(struct crl_source *, int64_t);
static void	 crl_checked(struct crl_source *);
static void	 crl_failed(struct crl_source *, const char *);
static void	 crl_validators(struct crl_source *, const char *,
		    const char *);
static void	 crl_fresh(struct crl_source *);
static int	 crl_store(struct crl_source *, struct crl_ingest_result *);
static void	 crl_take(struct crl_source *, const uint8_t *, size_t,
		    const char *, const char *);
static void	 crl_fetch(struct crl_source *);
static void	 crl_http_done_cb(void *, const struct http_result *);
static int	 crl_read_all(int, size_t, uint8_t **, size_t *);
static void	 crl_file_read(struct crl_source *, bool);
static void	 crl_timer_cb(evutil_socket_t, short, void *);
static void	 crl_tick_cb(evutil_socket_t, short, void *);
static int	 crl_restore_table(struct fetcherd *, struct crl_source *,
		    const struct snap_crl *);

static int64_t
crl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t
crl_random(void)
{
	uint32_t r = 0;

	(void)RAND_bytes((unsigned char *)&r, sizeof(r));
	return r;
}

/* SHA-256 of the URL as written, or of "file:" + path. */
static void
crl_dp_id(const char *url, const char *path, uint8_t *id)
{
	EVP_MD_CTX *ctx;
	unsigned int n;

	if (url != NULL) {
		EVP_Digest(url, strlen(url), id, &n, EVP_sha256(), NULL);
		return;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, CRL_FILE_PREFIX,
	    strlen(CRL_FILE_PREFIX)) != 1 ||
	    EVP_DigestUpdate(ctx, path, strlen(path)) != 1 ||
	    EVP_DigestFinal_ex(ctx, id, &n) != 1)
		fatalx("SHA-256 failed");
	EVP_MD_CTX_free(ctx);
}

/*
 * A CRL restored from the data directory whose URL is not known: only a
 * request whose chain verifies may name a URL, and the data directory is
 * not trusted with that.  It is served until its nextUpdate (at most
 * CRL_ORPHAN_TTL_S), then dropped, and the next broker request for its
 * URL brings it back.
 */
static bool
crl_orphan(const struct crl_source *s)
{
	return s->url == NULL && s->path == NULL;
}

static struct crl_source *
crl_find(struct fetcherd *f, const uint8_t *dp_id)
{
	struct crl_source *s;

	TAILQ_FOREACH(s, &f->crls, entry)
		if (memcmp(s->dp_id, dp_id, SNAP_ID_LEN) == 0)
			return s;
	return NULL;
}

/*
 * A new source for url or path (or neither: a restored orphan with this
 * dp_id), at the end of the list.  NULL on failure (logged): a broker's
 * request fails alone, nothing is fatal here.
 */
static struct crl_source *
crl_source_new(struct fetcherd *f, const char *url, const char *path,
    const uint8_t *dp_id)
{
	struct crl_source *s;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->timer = evtimer_new(f->base, crl_timer_cb, s)) == NULL) {
		log_warnx("%s: out of memory", url ? url : path ? path : "CRL");
		free(s);
		return NULL;
	}
	s->f = f;
	if (dp_id != NULL)
		memcpy(s->dp_id, dp_id, SNAP_ID_LEN);
	snprintf(s->name, sizeof(s->name), "(restored CRL %02x%02x%02x%02x)",
	    s->dp_id[0], s->dp_id[1], s->dp_id[2], s->dp_id[3]);
	s->label = s->name;
	if ((url != NULL || path != NULL) && crl_adopt(s, url, path) == -1) {
		crl_source_free(s);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&f->crls, s, entry);
	return s;
}

/* Give a source (new, or a restored orphan) its URL or path. */
static int
crl_adopt(struct crl_source *s, const char *url, const char *path)
{
	char *copy;

	if ((copy = strdup(url != NULL ? url : path)) == NULL) {
		log_warnx("%s: out of memory", url != NULL ? url : path);
		return -1;
	}
	if (url != NULL)
		s->url = copy;
	else
		s->path = copy;
	s->label = copy;
	s->restored_at = 0;
	crl_dp_id(url, path, s->dp_id);
	return 0;
}

static void
crl_source_free(struct crl_source *s)
{
	if (s == NULL)
		return;
	if (s->timer != NULL)
		event_free(s->timer);
	free(s->url);
	free(s->path);
	free(s->etag);
	free(s->last_modified);
	free(s->unsaved);
	free(s);
}

/*
 * Take s off the list.  A fetch still running holds s as its argument:
 * s is then only marked, and its callback frees it.
 */
static void
crl_drop(struct crl_source *s)
{
	TAILQ_REMOVE(&s->f->crls, s, entry);
	if (s->in_flight) {
		s->dead = true;
		evtimer_del(s->timer);
		return;
	}
	crl_source_free(s);
}

/* The source of url or path, made if there is none yet. */
static struct crl_source *
crl_get(struct fetcherd *f, const char *url, const char *path)
{
	struct crl_source *s;
	uint8_t id[SNAP_ID_LEN];

	crl_dp_id(url, path, id);
	if ((s = crl_find(f, id)) == NULL)
		return crl_source_new(f, url, path, NULL);
	if (crl_orphan(s) && crl_adopt(s, url, path) == -1)
		return NULL;
	return s;
}

static void
crl_schedule(struct crl_source *s, int64_t at_ms)
{
	int64_t ms = at_ms - crl_now_ms();
	struct timeval tv;

	if (s->f->opts.diag_check || s->url == NULL)
		return;
	if (ms < 0)
		ms = 0;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(s->timer, &tv);
	log_debug("%s: next fetch in %llds", s->label, (long long)(ms / 1000));
}

/* --check counts configured sources that reached a final answer. */
static void
crl_checked(struct crl_source *s)
{
	struct fetcherd *f = s->f;

	if (!f->opts.diag_check || s->checked ||
	    (s->origin & (CRL_FROM_URL | CRL_FROM_FILE)) == 0)
		return;
	s->checked = true;
	if (--f->pending_checks == 0)
		event_base_loopbreak(f->base);
}

static void
crl_failed(struct crl_source *s, const char *why)
{
	bool first = !s->failed;

	s->n_fail++;
	s->failures++;
	s->failed = true;
	snprintf(s->last_error, sizeof(s->last_error), "%s", why);
	log_warnx("%s: %s%s", s->label, why, s->have ?
	    "; the CRL in use is kept" : "");
	/* Brokers waiting for a CRL that never came stop waiting. */
	if (first && !s->have)
		publish_soon(s->f);
	crl_checked(s);
	crl_schedule(s, sched_backoff(crl_now_ms(), s->failures,
	    s->f->rev.crl_refresh_ms, crl_random()));
}

/* Keep the validators of the download now in use; NULL: none. */
static void
crl_validators(struct crl_source *s, const char *etag, const char *lm)
{
	/* NULL on failure: the next download is simply unconditional. */
	char *e = etag != NULL ? strdup(etag) : NULL;
	char *l = lm != NULL ? strdup(lm) : NULL;

	free(s->etag);
	free(s->last_modified);
	s->etag = e;
	s->last_modified = l;
}

/* The CRL in use is still the current one (a 304, the same number). */
static void
crl_fresh(struct crl_source *s)
{
	int64_t now = crl_now_ms();

	s->fetched_at = now / 1000;
	s->n_ok++;
	s->failures = 0;
	s->failed = false;
	log_debug("%s: unchanged", s->label);
	publish_soon(s->f);
	crl_checked(s);
	crl_schedule(s, sched_crl_refresh(now, s->hdr.next_update * 1000,
	    s->f->rev.crl_refresh_ms, crl_random()));
}

/*
 * The verified CRL r becomes the table in use: written to the runtime
 * directory now (what the next snapshot names), its entries kept for the
 * data directory's copy (crl_persist).  --check without --publish writes
 * nothing.  0, or -1 logged.
 */
static int
crl_store(struct crl_source *s, struct crl_ingest_result *r)
{
	struct fetcherd *f = s->f;
	struct crl_table_header h;
	uint8_t id[SNAP_ID_LEN];

	crl_ingest_header(r, &h);
	memset(id, 0, sizeof(id));
	if ((!f->opts.diag_check || f->opts.publish) &&
	    crl_table_write(conf_str(f->conf->root, "node.runtime_dir"), &h,
	    r->entries, r->n, id) == -1)
		return -1;
	s->have = true;
	s->hdr = h;
	memcpy(s->table_id, id, SNAP_ID_LEN);
	free(s->unsaved);
	s->unsaved = r->entries;	/* ours now */
	s->to_save = true;
	r->entries = NULL;
	r->n = 0;
	return 0;
}

static void
crl_take(struct crl_source *s, const uint8_t *buf, size_t len,
    const char *etag, const char *lm)
{
	struct crl_ingest_result r;
	int64_t now = crl_now_ms();
	uint8_t old[SNAP_ID_LEN];
	bool was = s->have, saved = !s->to_save;

	memcpy(old, s->table_id, SNAP_ID_LEN);
	if (crl_ingest(buf, len, s->f->rev.cas, now / 1000, s->have ?
	    &s->hdr : NULL, &r) == -1) {
		crl_failed(s, r.reason);
		return;
	}
	if (r.unchanged) {
		crl_validators(s, etag, lm);
		crl_fresh(s);
		return;
	}
	if (crl_store(s, &r) == -1) {
		crl_ingest_result_free(&r);
		crl_failed(s, "cannot write its table");
		return;
	}
	crl_validators(s, etag, lm);
	snprintf(s->issuer, sizeof(s->issuer), "%s", r.issuer);
	s->skipped = r.skipped;
	s->fetched_at = now / 1000;
	s->n_ok++;
	s->failures = 0;
	s->failed = false;
	s->last_error[0] = '\0';
	if (was && memcmp(old, s->table_id, SNAP_ID_LEN) == 0) {
		/* No CRL number, the same CRL: the same table. */
		log_debug("%s: unchanged", s->label);
		if (saved) {
			FREE(s->unsaved);
			s->to_save = false;
		}
	} else
		log_info("%s: %s CRL of %s, %llu entr%s, next update %lld",
		    s->label, was ? "new" : "verified", s->issuer,
		    (unsigned long long)s->hdr.count,
		    s->hdr.count == 1 ? "y" : "ies",
		    (long long)s->hdr.next_update);
	if (r.skipped > 0)
		log_warnx("%s: %zu entries skipped: serials negative or longer "
		    "than %d octets, which RFC 5280 allows no certificate",
		    s->label, r.skipped, CRL_SERIAL_MAX);
	if (r.expired)
		log_warnx("%s: the CRL is past its nextUpdate; its issuer has "
		    "not published the next one", s->label);
	if (s->want_known && memcmp(s->want_issuer, s->hdr.issuer_id,
	    SNAP_ID_LEN) != 0)
		log_warnx("%s: the CRL is issued by %s, not by the issuer of "
		    "the certificate that names it", s->label, s->issuer);
	crl_ingest_result_free(&r);
	publish_soon(s->f);
	crl_checked(s);
	crl_schedule(s, sched_crl_refresh(now, s->hdr.next_update * 1000,
	    s->f->rev.crl_refresh_ms, crl_random()));
}

/*
 * Ask for the CRL, conditionally when one is in use: the validators of
 * the download that gave it, so an unchanged CRL costs a 304.
 */
static void
crl_fetch(struct crl_source *s)
{
	struct fetcherd *f = s->f;
	struct http_request req;

	if (s->in_flight)
		return;
	if (s->url == NULL) {
		if (s->path != NULL)
			crl_file_read(s, true);
		return;
	}
	memset(&req, 0, sizeof(req));
	req.url = s->url;
	req.accept = CRL_ACCEPT;
	req.timeout_ms = f->rev.crl_timeout_ms;
	req.max_size = f->rev.crl_max_size;
	req.max_redirects = CRL_MAX_REDIRECTS;
	if (s->have) {
		req.if_none_match = s->etag;
		req.if_modified_since = s->last_modified;
	}
	if (http_request(f->http, &req, crl_http_done_cb, s) == -1) {
		crl_failed(s, "cannot start the request");
		return;
	}
	s->in_flight = true;
}

static void
crl_http_done_cb(void *arg, const struct http_result *r)
{
	struct crl_source *s = arg;
	char why[64];

	s->in_flight = false;
	if (s->dead) {
		crl_source_free(s);
		return;
	}
	s->last_http = r->status;
	if (r->error != NULL)
		crl_failed(s, r->error);
	else if (r->status == 304 && s->have) {
		/* A 304 may update the validators (RFC 9110 15.4.5). */
		if (r->etag != NULL || r->last_modified != NULL)
			crl_validators(s, r->etag != NULL ? r->etag : s->etag,
			    r->last_modified != NULL ? r->last_modified :
			    s->last_modified);
		crl_fresh(s);
	} else if (r->status != 200) {
		snprintf(why, sizeof(why), "HTTP status %ld", r->status);
		crl_failed(s, why);
	} else
		crl_take(s, r->body, r->len, r->etag, r->last_modified);
}

/* All of fd, at most max bytes, into a malloc'ed buffer. */
static int
crl_read_all(int fd, size_t max, uint8_t **buf, size_t *len)
{
	uint8_t *b = NULL, *nb;
	size_t cap = 0, n = 0;
	ssize_t r;

	for (;;) {
		if (n == cap) {
			cap = cap == 0 ? 65536 : cap * 2;
			if (cap > max + 1)
				cap = max + 1;
			if (n == cap || (nb = realloc(b, cap)) == NULL) {
				free(b);
				errno = n == cap ? EFBIG : ENOMEM;
				return -1;
			}
			b = nb;
		}
		if ((r = read(fd, b + n, cap - n)) == -1) {
			if (errno == EINTR)
				continue;
			free(b);
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*buf = b;
	*len = n;
	return 0;
}

/*
 * A local CRL file: read when it changed since the last read (device,
 * inode, size and mtime), or always with force.  A file that cannot be
 * read, or does not verify, is reported once per change.
 */
static void
crl_file_read(struct crl_source *s, bool force)
{
	struct fetcherd *f = s->f;
	struct stat st;
	uint8_t *buf = NULL;
	size_t len;
	char why[300];
	int fd;

	if (stat(s->path, &st) == -1) {
		if (force || s->st_valid) {
			s->st_valid = false;
			snprintf(why, sizeof(why), "%s", strerror(errno));
			crl_failed(s, why);
		}
		return;
	}
	if (!force && s->st_valid && s->st_dev == (uint64_t)st.st_dev &&
	    s->st_ino == (uint64_t)st.st_ino &&
	    s->st_size == (uint64_t)st.st_size &&
	    s->st_mtime_ns == (int64_t)st.st_mtim.tv_sec * 1000000000 +
	    st.st_mtim.tv_nsec)
		return;
	s->st_valid = true;
	s->st_dev = (uint64_t)st.st_dev;
	s->st_ino = (uint64_t)st.st_ino;
	s->st_size = (uint64_t)st.st_size;
	s->st_mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 +
	    st.st_mtim.tv_nsec;
	if (!S_ISREG(st.st_mode)) {
		crl_failed(s, "not a regular file");
		return;
	}
	if ((fd = open(s->path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    crl_read_all(fd, f->rev.crl_max_size, &buf, &len) == -1) {
		snprintf(why, sizeof(why), "%s", errno == EFBIG ?
		    "larger than crl_cache.max_size" : strerror(errno));
		if (fd != -1)
			close(fd);
		crl_failed(s, why);
		return;
	}
	close(fd);
	crl_take(s, buf, len, NULL, NULL);
	free(buf);
}

static void
crl_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	crl_fetch(arg);
}

/*
 * Every CRL_FILE_POLL_MS: local files that changed are read again;
 * on-demand sources nobody asked for in CRL_DEMAND_TTL_S, and restored
 * orphans past their time, are dropped.
 */
static void
crl_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fetcherd *f = arg;
	struct crl_source *s, *next;
	int64_t now = crl_now_ms() / 1000;
	bool changed = false;

	(void)fd;
	(void)what;
	TAILQ_FOREACH_SAFE(s, &f->crls, entry, next) {
		if (s->path != NULL)
			crl_file_read(s, false);
		if ((s->origin & CRL_FROM_DEMAND) &&
		    now - s->asked_at > CRL_DEMAND_TTL_S) {
			s->origin &= ~CRL_FROM_DEMAND;
			log_info("%s: not asked for in %ds, dropped", s->label,
			    CRL_DEMAND_TTL_S);
		}
		if (s->origin == 0 && (!crl_orphan(s) ||
		    !crl_source_good(s, now))) {
			crl_drop(s);
			changed = true;
		}
	}
	if (changed)
		publish_soon(f);
}

/*
 * Match the sources to the configuration (at start and on SIGHUP): the
 * same URL or file keeps its state; a new one is made; one no longer
 * configured is dropped unless a broker asked for it.  0, or -1 logged.
 */
int
crl_configure(struct fetcherd *f)
{
	struct crl_source *s, *next;
	size_t i;
	int rc = 0;

	TAILQ_FOREACH(s, &f->crls, entry)
		s->origin &= ~(CRL_FROM_URL | CRL_FROM_FILE);
	for (i = 0; i < f->rev.ncrl_urls; i++) {
		if ((s = crl_get(f, f->rev.crl_urls[i], NULL)) == NULL)
			rc = -1;
		else
			s->origin |= CRL_FROM_URL;
	}
	for (i = 0; i < f->rev.ncrl_files; i++) {
		if ((s = crl_get(f, NULL, f->rev.crl_files[i])) == NULL)
			rc = -1;
		else
			s->origin |= CRL_FROM_FILE;
	}
	TAILQ_FOREACH_SAFE(s, &f->crls, entry, next)
		if (s->origin == 0 && !crl_orphan(s))
			crl_drop(s);
	return rc;
}

/*
 * Fetch every configured URL now (conditionally, when a CRL is in use)
 * and look at every file; start the tick.  --check counts them first.
 */
int
crl_start(struct fetcherd *f)
{
	struct crl_source *s, *next;
	struct timeval tv;

	if (!f->opts.diag_check && f->crl_tick == NULL) {
		if ((f->crl_tick = event_new(f->base, -1, EV_PERSIST,
		    crl_tick_cb, f)) == NULL)
			return -1;
		tv.tv_sec = CRL_FILE_POLL_MS / 1000;
		tv.tv_usec = (CRL_FILE_POLL_MS % 1000) * 1000;
		if (event_add(f->crl_tick, &tv) == -1)
			return -1;
	}
	TAILQ_FOREACH(s, &f->crls, entry) {
		s->checked = false;
		if (f->opts.diag_check &&
		    (s->origin & (CRL_FROM_URL | CRL_FROM_FILE)))
			f->pending_checks++;
	}
	TAILQ_FOREACH_SAFE(s, &f->crls, entry, next) {
		if (s->path != NULL)
			crl_file_read(s, !s->have);
		else if (s->origin & CRL_FROM_URL)
			crl_fetch(s);
	}
	return 0;
}

void
crl_stop(struct fetcherd *f)
{
	struct crl_source *s;

	if (f->crl_tick != NULL)
		event_free(f->crl_tick);
	f->crl_tick = NULL;
	TAILQ_FOREACH(s, &f->crls, entry)
		evtimer_del(s->timer);
}

/* At exit, after http_free(): no fetch is running any more. */
void
crl_free_all(struct fetcherd *f)
{
	struct crl_source *s;

	crl_stop(f);
	while ((s = TAILQ_FIRST(&f->crls)) != NULL) {
		TAILQ_REMOVE(&f->crls, s, entry);
		crl_source_free(s);
	}
}

/*
 * A broker asked for the CRL at url, named by a certificate of a chain
 * that verified (request.c); issuer_id is that certificate's issuer.  A
 * known source is only marked as asked for; a new one is fetched now.
 * 1: new, 0: known, -1: no room (CRL_MAX_SOURCES) or no memory.
 */
int
crl_demand(struct fetcherd *f, const char *url,
    const uint8_t issuer_id[SNAP_ID_LEN])
{
	struct crl_source *s;
	uint8_t id[SNAP_ID_LEN];
	size_t n = 0;
	int rc = 0;

	crl_dp_id(url, NULL, id);
	if ((s = crl_find(f, id)) == NULL) {
		TAILQ_FOREACH(s, &f->crls, entry)
			n++;
		if (n >= CRL_MAX_SOURCES) {
			log_warnx("%s: already %zu CRLs, no more are taken",
			    url, n);
			return -1;
		}
		if ((s = crl_source_new(f, url, NULL, NULL)) == NULL)
			return -1;
		rc = 1;
	} else if (crl_orphan(s)) {
		/* Restored without its URL: now known, refreshed from now on. */
		if (crl_adopt(s, url, NULL) == -1)
			return -1;
		rc = 1;
	}
	s->origin |= CRL_FROM_DEMAND;
	s->asked_at = crl_now_ms() / 1000;
	if (!s->want_known) {
		memcpy(s->want_issuer, issuer_id, SNAP_ID_LEN);
		s->want_known = true;
		/* Now its failure can be published under that issuer. */
		if (s->failed && !s->have)
			publish_soon(f);
	}
	if (rc == 1 || (!s->have && !s->in_flight && s->n_fail == 0)) {
		log_info("%s: fetching on demand", url);
		crl_fetch(s);
	}
	return rc;
}

/* Is s's CRL one to publish now: verified, and not a stale orphan. */
bool
crl_source_good(const struct crl_source *s, int64_t now)
{
	if (!s->have)
		return false;
	if (!crl_orphan(s))
		return true;
	if (s->hdr.next_update != 0 && now >= s->hdr.next_update)
		return false;
	return now < s->restored_at + CRL_ORPHAN_TTL_S;
}

/* The snap_crl records of every source.  0, or -1 (no memory). */
int
crl_publish(struct fetcherd *f, struct snap_writer *w, int64_t now)
{
	struct crl_source *s;
	struct snap_crl rec;

	TAILQ_FOREACH(s, &f->crls, entry) {
		memset(&rec, 0, sizeof(rec));
		memcpy(rec.dp_id, s->dp_id, SNAP_ID_LEN);
		if (crl_source_good(s, now)) {
			memcpy(rec.issuer_id, s->hdr.issuer_id, SNAP_ID_LEN);
			rec.this_update = s->hdr.this_update;
			rec.next_update = s->hdr.next_update;
			rec.fetched_at = s->fetched_at;
			rec.count = s->hdr.count;
			memcpy(rec.table_id, s->table_id, SNAP_ID_LEN);
			rec.state = SNAP_CRL_OK;
			if (snap_writer_crl(w, &rec) == -1)
				return -1;
			/* Under the issuer the broker asked for, too. */
			if (!s->want_known || memcmp(s->want_issuer,
			    s->hdr.issuer_id, SNAP_ID_LEN) == 0)
				continue;
			memset(&rec, 0, sizeof(rec));
			memcpy(rec.dp_id, s->dp_id, SNAP_ID_LEN);
		} else if (!s->failed || !s->want_known)
			continue;
		memcpy(rec.issuer_id, s->want_issuer, SNAP_ID_LEN);
		rec.state = SNAP_CRL_FAILED;
		if (snap_writer_crl(w, &rec) == -1)
			return -1;
	}
	return 0;
}

/*
 * The data directory's copy of each new table, once the snapshot that
 * names it is out: it is what a restart starts from, so its failure is
 * only logged.
 */
void
crl_persist(struct fetcherd *f)
{
	const char *dir = conf_str(f->conf->root, "node.data_dir");
	struct crl_source *s;
	uint8_t id[SNAP_ID_LEN];

	TAILQ_FOREACH(s, &f->crls, entry) {
		if (!s->to_save)
			continue;
		if (crl_table_write(dir, &s->hdr, s->unsaved, s->hdr.count,
		    id) == 0 && memcmp(id, s->table_id, SNAP_ID_LEN) != 0)
			log_warnx("%s: the table in %s differs from the one "
			    "published", s->label, dir);
		free(s->unsaved);
		s->unsaved = NULL;
		s->to_save = false;
	}
}

/* The tables in use now (malloc'ed into *ids); their number. */
size_t
crl_table_ids(struct fetcherd *f, uint8_t (**ids)[SNAP_ID_LEN])
{
	struct crl_source *s;
	size_t n = 0;

	*ids = NULL;
	TAILQ_FOREACH(s, &f->crls, entry)
		n += s->have;
	if (n == 0 || (*ids = calloc(n, SNAP_ID_LEN)) == NULL)
		return 0;
	n = 0;
	TAILQ_FOREACH(s, &f->crls, entry)
		if (s->have)
			memcpy((*ids)[n++], s->table_id, SNAP_ID_LEN);
	return n;
}

/*
 * A persisted record's table, validated (crl_table_open: size, order,
 * checksum), read and written again into the runtime directory, where it
 * must come out with the same checksum.  0, or -1 logged.
 */
static int
crl_restore_table(struct fetcherd *f, struct crl_source *s,
    const struct snap_crl *rec)
{
	const char *data = conf_str(f->conf->root, "node.data_dir");
	struct crl_table_header h;
	struct crl_table *t;
	uint8_t id[SNAP_ID_LEN], *buf = NULL;
	char err[256], name[CRL_TABLE_NAME_LEN + 1], path[4096];
	size_t len = 0;
	int fd = -1, rc = -1;

	if ((t = crl_table_open(data, rec->table_id, err,
	    sizeof(err))) == NULL) {
		log_warnx("%s: not restored: %s", s->label, err);
		return -1;
	}
	h = *crl_table_header(t);
	crl_table_close(t);
	if (h.count != rec->count || memcmp(h.issuer_id, rec->issuer_id,
	    SNAP_ID_LEN) != 0) {
		log_warnx("%s: not restored: the table does not match its "
		    "record", s->label);
		return -1;
	}
	/* The entries follow the header (ipc_proto.h). */
	crl_table_name(rec->table_id, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/%s", data, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    crl_read_all(fd, h.file_len, &buf, &len) == -1 ||
	    len != h.file_len) {
		log_warn("%s: not restored: %s", s->label, path);
		goto done;
	}
	if (crl_table_write(conf_str(f->conf->root, "node.runtime_dir"), &h,
	    (struct crl_entry *)(buf + h.header_len), h.count, id) == -1 ||
	    memcmp(id, rec->table_id, SNAP_ID_LEN) != 0) {
		log_warnx("%s: not restored: %s changed", s->label, path);
		goto done;
	}
	s->have = true;
	s->hdr = h;
	memcpy(s->table_id, id, SNAP_ID_LEN);
	s->fetched_at = rec->fetched_at;
	snprintf(s->issuer, sizeof(s->issuer), "(restored)");
	rc = 0;
done:
	if (fd != -1)
		close(fd);
	free(buf);
	return rc;
}

/*
 * At start: the verified CRLs of the persisted snapshot, so brokers
 * check clients before any CRL server answers.  Returns how many.
 */
int
crl_restore(struct fetcherd *f, const struct snapshot *snap)
{
	const struct snap_crl *rec;
	struct crl_source *s;
	int64_t now = crl_now_ms() / 1000;
	size_t i;
	int n = 0;

	for (i = 0; i < snapshot_ncrls(snap); i++) {
		rec = snapshot_crl_at(snap, i);
		if (rec->state != SNAP_CRL_OK)
			continue;
		if ((s = crl_find(f, rec->dp_id)) != NULL && s->have)
			continue;
		if (s == NULL) {
			if ((s = crl_source_new(f, NULL, NULL,
			    rec->dp_id)) == NULL)
				continue;
			s->restored_at = now;
		}
		if (crl_restore_table(f, s, rec) == -1) {
			if (crl_orphan(s))
				crl_drop(s);
			continue;
		}
		if (crl_orphan(s) && !crl_source_good(s, now)) {
			crl_drop(s);
			continue;
		}
		n++;
	}
	if (n > 0)
		log_info("restored %d CRL%s from the data directory", n,
		    n == 1 ? "" : "s");
	return n;
}
