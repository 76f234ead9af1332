/*
 * fetcherd_conf.c: the fetcher's part of the configuration: which server
 * certificates need a staple, where their issuer and responder are, and
 * how often to refresh.  It reads certificate chains, never a key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fetcherd.h"
#include "log.h"
#include "xmalloc.h"

static char *
nonempty_dup(const char *s)
{
	return s == NULL || *s == '\0' ? NULL : xstrdup(s);
}

static int
target_add(struct target_head *head, const struct conf_node *ln,
    const char *certfile)
{
	struct target *t;

	if (access(certfile, R_OK) == -1) {
		log_warn("ssl:%s: certfile %s", ln->name, certfile);
		return -1;
	}
	t = xcalloc(1, sizeof(*t));
	xasprintf(&t->listener, "ssl:%s", ln->name);
	t->certfile = xstrdup(certfile);
	t->issuer_pem = nonempty_dup(conf_str(ln,
	    "ssl_options.ocsp.issuer_pem"));
	t->responder_url = nonempty_dup(conf_str(ln,
	    "ssl_options.ocsp.responder_url"));
	t->refresh_ms = conf_num(ln, "ssl_options.ocsp.refresh_interval");
	t->timeout_ms = conf_num(ln, "ssl_options.ocsp.refresh_http_timeout");
	TAILQ_INSERT_TAIL(head, t, entry);
	return 0;
}

/* One target per certificate of every stapling ssl listener. */
int
targets_create(const struct conf *conf, struct target_head *head)
{
	const struct conf_node *ssl, *ln;
	size_t i, j;
	int rc = 0;

	TAILQ_INIT(head);
	if ((ssl = conf_find(conf->root, "listeners.ssl")) == NULL)
		return 0;
	for (i = 0; i < ssl->nkids; i++) {
		ln = ssl->kids[i];
		if (!conf_bool(ln, "enable") ||
		    !conf_bool(ln, "ssl_options.ocsp.enable_ocsp_stapling"))
			continue;
		for (j = 0; j < conf_len(ln, "ssl_options.certfile"); j++)
			if (target_add(head, ln, conf_item(ln,
			    "ssl_options.certfile", j)) == -1)
				rc = -1;
	}
	return rc;
}

void
targets_free(struct target_head *head)
{
	struct target *t;

	while ((t = TAILQ_FIRST(head)) != NULL) {
		TAILQ_REMOVE(head, t, entry);
		free(t->listener);
		free(t->certfile);
		free(t->issuer_pem);
		free(t->responder_url);
		free(t);
	}
}

int
fetcherd_conf_check(const struct conf *conf)
{
	struct target_head head;
	int rc;

	rc = targets_create(conf, &head);
	targets_free(&head);
	return rc;
}
