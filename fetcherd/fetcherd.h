/*
 * fetcherd.h: staplemq-fetcherd's structures and prototypes, by file.
 */
#ifndef STAPLEMQ_FETCHERD_H
#define STAPLEMQ_FETCHERD_H

#include <sys/queue.h>

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "conf.h"
#include "daemon.h"

/*
 * One server certificate to keep a staple for.  Owns its strings; comes
 * from an ssl listener with ocsp.enable_ocsp_stapling = true.
 */
struct target {
	TAILQ_ENTRY(target)	 entry;
	char			*listener;	/* "ssl:default" */
	char			*certfile;	/* chain, never the key */
	char			*issuer_pem;	/* NULL: from the chain */
	char			*responder_url;	/* NULL: from the AIA */
	int64_t			 refresh_ms;
	int64_t			 timeout_ms;
};
TAILQ_HEAD(target_head, target);

struct fetcherd {
	struct daemon_opts	 opts;
	struct event_base	*base;
	struct conf		*conf;
	struct target_head	 targets;
	struct event		*ev_sig[DAEMON_NSIGNALS];
};

/* fetcherd_conf.c */
int	fetcherd_conf_check(const struct conf *);
int	targets_create(const struct conf *, struct target_head *);
void	targets_free(struct target_head *);

#endif
