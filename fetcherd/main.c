/*
 * main.c: staplemq-fetcherd start-up, signals and the event loop.
 *
 * The fetcher is the only process that reaches the network.  It reads
 * certificate chains and the CA certificates, never a private key.
 */
#include <sys/stat.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "fetcherd.h"
#include "log.h"

/* Both directories belong to staplemq; create them like mkdir -p. */
static int
fetcherd_mkdirs(const char *path)
{
	char buf[4096], *p, c;

	if (strlen(path) >= sizeof(buf)) {
		log_err("%s: path too long", path);
		return -1;
	}
	strcpy(buf, path);
	for (p = buf + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (mkdir(buf, 0750) == -1 && errno != EEXIST) {
			log_warn("mkdir %s", buf);
			return -1;
		}
		if ((*p = c) == '\0')
			break;
	}
	return 0;
}

static void
fetcherd_targets_log(struct fetcherd *f)
{
	struct target *t;

	TAILQ_FOREACH(t, &f->targets, entry)
		log_info("%s: staple target %s, responder %s, refresh %llds",
		    t->listener, t->certfile,
		    t->responder_url ? t->responder_url : "(from AIA)",
		    (long long)(t->refresh_ms / 1000));
}

static void
fetcherd_reload(struct fetcherd *f)
{
	struct target_head targets;
	struct conf *conf;

	log_notice("reloading %s", f->opts.conf_path);
	if ((conf = daemon_conf_load(f->opts.conf_path)) == NULL ||
	    targets_create(conf, &targets) == -1) {
		if (conf != NULL)
			targets_free(&targets);
		log_err("%s is not valid; still running on the previous "
		    "configuration", f->opts.conf_path);
		conf_free(conf);
		return;
	}
	targets_free(&f->targets);
	TAILQ_INIT(&f->targets);
	TAILQ_CONCAT(&f->targets, &targets, entry);
	conf_free(f->conf);
	f->conf = conf;
	daemon_log_apply(&f->opts, f->conf);
	fetcherd_targets_log(f);
	log_notice("configuration reloaded");
}

static void
fetcherd_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct fetcherd *f = arg;

	(void)what;
	if (sig == SIGHUP) {
		fetcherd_reload(f);
		return;
	}
	log_notice("caught signal %d, stopping", (int)sig);
	event_base_loopbreak(f->base);
}

/*
 * --check: the diagnostic run.
 * XXX OCSP fetching arrives with the stapling issue; until then every
 * target is reported as not checked, and the exit code says so.
 */
static int
fetcherd_check(struct fetcherd *f)
{
	struct target *t;
	int n = 0;

	printf("%-16s %-40s %s\n", "LISTENER", "CERTIFICATE", "RESULT");
	TAILQ_FOREACH(t, &f->targets, entry) {
		printf("%-16s %-40s %s\n", t->listener, t->certfile,
		    "not checked: OCSP fetching is not in this version");
		n++;
	}
	printf("%d target%s, %d good\n", n, n == 1 ? "" : "s", 0);
	return n == 0 ? 0 : 1;
}

static void
fetcherd_free(struct fetcherd *f)
{
	targets_free(&f->targets);
	daemon_signals_free(f->ev_sig);
	if (f->base != NULL)
		event_base_free(f->base);
	conf_free(f->conf);
}

int
main(int argc, char **argv)
{
	struct fetcherd f;
	int rc = 1;

	memset(&f, 0, sizeof(f));
	TAILQ_INIT(&f.targets);
	f.opts.prog = "staplemq-fetcherd";
	log_init(f.opts.prog, LOG_LVL_INFO, false);
	daemon_opts_parse(&f.opts, argc, argv, true);
	if (f.opts.test_conf)
		return daemon_conf_test(&f.opts, fetcherd_conf_check);

	if ((f.conf = daemon_conf_load(f.opts.conf_path)) == NULL)
		fatalx("%s: configuration not valid", f.opts.conf_path);
	daemon_log_apply(&f.opts, f.conf);
	if (targets_create(f.conf, &f.targets) == -1)
		fatalx("cannot set up the staple targets");
	if (f.opts.diag_check) {
		rc = fetcherd_check(&f);
		goto done;
	}
	if (fetcherd_mkdirs(conf_str(f.conf->root, "node.runtime_dir")) == -1 ||
	    fetcherd_mkdirs(conf_str(f.conf->root, "node.data_dir")) == -1)
		goto done;
	if ((f.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	if (daemon_signals_add(f.base, fetcherd_signal_cb, &f, f.ev_sig) == -1)
		goto done;
	if (!f.opts.foreground && (daemon_detach() == -1 ||
	    event_reinit(f.base) == -1))
		goto done;
	if (f.opts.pid_file != NULL &&
	    daemon_pidfile_write(f.opts.pid_file) == -1)
		goto done;
	fetcherd_targets_log(&f);
	log_notice("%s %s started", f.opts.prog, STAPLEMQ_VERSION);
	event_base_dispatch(f.base);
	rc = 0;
	log_notice("stopped");
	daemon_pidfile_remove(f.opts.pid_file);
done:
	fetcherd_free(&f);
	return rc;
}
