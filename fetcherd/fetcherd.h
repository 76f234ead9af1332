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

struct http;
struct notify_pub;
struct ocsp_fetch_result;

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
	bool			 stopping;	/* cancelled fetches: no follow-up */
};

/* fetcherd_conf.c */
int	fetcherd_conf_check(const struct conf *);
int	targets_create(const struct conf *, struct target_head *);
void	targets_free(struct target_head *);

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

#endif
