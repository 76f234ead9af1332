/*
 * fetcherd.h: staplemq-fetcherd's structures and prototypes, by file.
 */
#ifndef STAPLEMQ_FETCHERD_H
#define STAPLEMQ_FETCHERD_H

#include <sys/queue.h>

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>
#include <openssl/x509.h>

#include "conf.h"
#include "daemon.h"
#include "ipc_proto.h"

/* glibc's <sys/queue.h> lacks it; the BSD definition. */
#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

struct cocsp_cache;
struct http;
struct notify_pub;
struct ocsp_fetch_result;
struct request;
struct snap_writer;
struct snapshot;

/*
 * One server certificate to keep a staple for.  Owns its strings; comes
 * from an ssl listener with ocsp.enable_ocsp_stapling = true.
 */
struct target {
	TAILQ_ENTRY(target)	 entry;
	struct fetcherd		*f;		/* not owned */
	char			*listener;	/* "ssl:default" */
	char			*certfile;	/* chain, never the key */
	char			*issuer_pem;	/* NULL: from the chain */
	char			*responder_url;	/* NULL: from the AIA */
	char			*cafile;	/* https responders */
	int64_t			 refresh_ms;
	int64_t			 timeout_ms;

	/* Loaded from the files (targets_create) */
	X509			*leaf;
	X509			*issuer;
	char			*subject;	/* for the log and --check */
	char			*serial;	/* hex */
	uint8_t			 id[SNAP_ID_LEN];
	char			**urls;		/* responders, tried in order */
	size_t			 nurls;

	/* State (staple.c) */
	enum snap_staple_state	 state;		/* 0: nothing known yet */
	uint8_t			*der;		/* last good response */
	size_t			 der_len;
	int64_t			 this_update, next_update;	/* unix s */
	int64_t			 fetched_at;
	size_t			 url_i;		/* responder being tried */
	unsigned		 failures;	/* in a row */
	uint64_t		 n_ok, n_fail;
	char			 last_error[256];
	long			 last_http;	/* HTTP status of last try */
	const char		*last_url;
	const char		*last_method;
	bool			 in_flight;
	bool			 checked;	/* --check: done */
	struct event		*timer;
};
TAILQ_HEAD(target_head, target);

/*
 * What the configuration says about client certificate revocation
 * (fetcherd_conf.c).  Owns everything; replaced whole on SIGHUP.
 */
struct revconf {
	/* The CAs of the listeners that check client certificates. */
	STACK_OF(X509)		*cas;
	X509_STORE		*store;		/* the same, for chains */
	bool			 crl;		/* some enable_crl_check */
	bool			 crl_chain;	/* some crl_check = chain */
	bool			 ocsp;		/* some client_check = leaf */
	char			*ocsp_url;	/* NULL: the AIA */
	char			*ocsp_cafile;	/* https responders */
	int64_t			 ocsp_ttl_ms;	/* the least client_cache_ttl */
	int64_t			 ocsp_timeout_ms;
	char			**crl_urls;	/* crl_cache.urls */
	size_t			 ncrl_urls;
	char			**crl_files;	/* crl_cache.files */
	size_t			 ncrl_files;
	int64_t			 crl_refresh_ms;
	int64_t			 crl_timeout_ms;
	size_t			 crl_max_size;
	int64_t			 request_rate;	/* a second */
};

/* Where a CRL source comes from; one source may have several. */
#define CRL_FROM_URL	0x1		/* crl_cache.urls */
#define CRL_FROM_FILE	0x2		/* crl_cache.files */
#define CRL_FROM_DEMAND	0x4		/* a broker asked for it */

/*
 * One CRL to keep: a URL or a local file, published as one snap_crl
 * record keyed (issuer_id, dp_id).  Owns its strings and, until the data
 * directory has a copy of its table, the table's entries.
 */
struct crl_source {
	TAILQ_ENTRY(crl_source)	 entry;
	struct fetcherd		*f;		/* not owned */
	char			*url;		/* NULL: a file */
	char			*path;		/* NULL: a URL */
	const char		*label;		/* url, path or name */
	char			 name[48];	/* a restored orphan's label */
	uint8_t			 dp_id[SNAP_ID_LEN];
	unsigned		 origin;	/* CRL_FROM_* */
	int64_t			 asked_at;	/* DEMAND: last request, s */
	bool			 want_known;	/* want_issuer is set */
	uint8_t			 want_issuer[SNAP_ID_LEN]; /* of the
							    * certificate
							    * naming it */

	/* The CRL in use (have), as its table holds it. */
	bool			 have;
	struct crl_table_header	 hdr;		/* times, number, issuer */
	uint8_t			 table_id[SNAP_ID_LEN];
	char			 issuer[256];
	int64_t			 fetched_at;
	int64_t			 restored_at;	/* from disk, URL unknown */
	bool			 to_save;	/* no data dir copy yet */
	struct crl_entry	*unsaved;	/* its entries until then */
	char			*etag, *last_modified; /* of that download */
	/* A file's identity when last read. */
	uint64_t		 st_dev, st_ino, st_size;
	int64_t			 st_mtime_ns;
	bool			 st_valid;

	/* Status, for logs and --check. */
	bool			 failed;	/* the last attempt failed */
	unsigned		 failures;	/* in a row */
	uint64_t		 n_ok, n_fail;
	char			 last_error[256];
	long			 last_http;
	size_t			 skipped;	/* of the CRL in use */
	bool			 in_flight;
	bool			 dead;		/* free when the fetch ends */
	bool			 checked;	/* --check: done */
	struct event		*timer;
};
TAILQ_HEAD(crl_source_head, crl_source);

/* A table file that was referenced by a snapshot, and when last. */
struct table_seen {
	uint8_t			 id[SNAP_ID_LEN];
	int64_t			 last;		/* unix s */
};

struct fetcherd {
	struct daemon_opts	 opts;
	struct event_base	*base;
	struct conf		*conf;
	struct target_head	 targets;
	struct event		*ev_sig[DAEMON_NSIGNALS];
	struct http		*http;
	struct notify_pub	*pub;
	uint64_t		 generation;	/* last published */
	struct event		*ev_publish;	/* coalesces publications */
	size_t			 pending_checks; /* --check */

	/* Client certificate revocation */
	struct revconf		 rev;
	struct crl_source_head	 crls;
	struct event		*crl_tick;	/* files, on-demand expiry */
	struct request		*req;		/* broker requests */
	struct cocsp_cache	*cocsp;		/* client OCSP answers */
	struct table_seen	*seen;		/* publish.c: table grace */
	size_t			 nseen;
	bool			 stopping;	/* cancelled fetches: no follow-up */
};

/* How long an on-demand CRL is kept without a new request. */
#define CRL_DEMAND_TTL_S	(24 * 3600)
/* How long a restored CRL whose URL is unknown is served at most. */
#define CRL_ORPHAN_TTL_S	(24 * 3600)
/* How often local CRL files are looked at (stat) for a change. */
#define CRL_FILE_POLL_MS	5000
/* Most CRL sources held; more on-demand requests are rate limited. */
#define CRL_MAX_SOURCES		4096
/* How long a table no snapshot names any more stays on disk. */
#define PUBLISH_TABLE_GRACE_S	60

/* fetcherd_conf.c */
int	fetcherd_conf_check(const struct conf *);
int	targets_create(const struct conf *, struct target_head *);
void	targets_free(struct target_head *);
int	revconf_load(const struct conf *, struct revconf *);
void	revconf_free(struct revconf *);

/* staple.c */
int	staples_start(struct fetcherd *);
void	staple_fetch(struct target *);
void	staples_stop(struct fetcherd *);
void	staples_adopt(struct target_head *, struct target_head *);

/* publish.c */
int	publish_open(struct fetcherd *);
void	publish_close(struct fetcherd *);
void	publish_soon(struct fetcherd *);
int	publish_now(struct fetcherd *);
void	publish_restore(struct fetcherd *);

/* crl.c */
int	crl_configure(struct fetcherd *);
int	crl_start(struct fetcherd *);
void	crl_stop(struct fetcherd *);
void	crl_free_all(struct fetcherd *);
int	crl_demand(struct fetcherd *, const char *url,
	    const uint8_t issuer_id[SNAP_ID_LEN]);
int	crl_publish(struct fetcherd *, struct snap_writer *, int64_t now);
void	crl_persist(struct fetcherd *);
size_t	crl_table_ids(struct fetcherd *, uint8_t (**)[SNAP_ID_LEN]);
int	crl_restore(struct fetcherd *, const struct snapshot *);
bool	crl_source_good(const struct crl_source *, int64_t now);

/* request.c */
int	request_open(struct fetcherd *);
void	request_close(struct fetcherd *);

/* client_ocsp.c */
int	client_ocsp_start(struct fetcherd *);
void	client_ocsp_free(struct fetcherd *);
enum ipc_status client_ocsp_request(struct fetcherd *, X509 *leaf,
	    X509 *issuer);
int	client_ocsp_publish(struct fetcherd *, struct snap_writer *,
	    int64_t now);
int	client_ocsp_restore(struct fetcherd *, const struct snapshot *,
	    int64_t now);

#endif
