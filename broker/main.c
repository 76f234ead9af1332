/*
 * main.c: staplemq-broker start-up, signals and the event loop.
 *
 * Order matters: configuration, then every listener built and bound, then
 * detach, then drop root and install the sandbox (common/sandbox.c), then
 * run.  Anything that fails before the loop stops the start
 * with a clear error; nothing after it may stop the process.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "acl.h"
#include "broker.h"
#include "log.h"
#include "passwd.h"
#include "psk.h"
#include "retain.h"
#include "sandbox.h"
#include "siphash.h"
#include "systemd.h"
#include "topic.h"

static void
broker_reload(struct broker *b)
{
	struct conf *conf;
	struct psk_table *psk;

	log_notice("reloading %s", b->opts.conf_path);
	if ((conf = daemon_conf_load(b->opts.conf_path)) == NULL ||
	    broker_conf_check(conf) == -1) {
		log_err("%s is not valid; still running on the previous "
		    "configuration", b->opts.conf_path);
		conf_free(conf);
		return;
	}
	/* Read before anything changes, so a bad file changes nothing. */
	if (tls_psk_load(b, conf, &psk) == -1) {
		log_err("%s: PSK file not valid; still running on the previous "
		    "configuration", b->opts.conf_path);
		conf_free(conf);
		return;
	}
	if (broker_auth_load(b, conf) == -1) {
		log_err("%s: password or ACL file not valid; still running on "
		    "the previous configuration", b->opts.conf_path);
		psk_free(psk);
		conf_free(conf);
		return;
	}
	tls_psk_swap(b, psk);
	conf_free(b->conf);
	b->conf = conf;
	broker_limits_load(&b->lim, b->conf);
	daemon_log_apply(&b->opts, b->conf);
	listeners_reload(b, b->conf);
	log_notice("configuration reloaded");
}

static void
broker_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct broker *b = arg;

	(void)what;
	if (sig == SIGHUP) {
		broker_reload(b);
		return;
	}
	log_notice("caught signal %d, stopping", (int)sig);
	event_base_loopbreak(b->base);
}

/* -t: what broker_conf_check() covers, and the PSK identity file. */
static int
broker_conf_test(const struct conf *conf)
{
	int rc = broker_conf_check(conf);

	if (tls_psk_check(conf) == -1)
		rc = -1;
	return rc;
}

int64_t
broker_now_ms(struct broker *b)
{
	struct timeval tv;

	/* The loop's cached time: one clock read per iteration. */
	event_base_gettimeofday_cached(b->base, &tv);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Once a second: $SYS topics when due, expired sessions. */
static void
broker_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct broker *b = arg;
	int64_t now = broker_now_ms(b);

	(void)fd;
	(void)what;
	if (now >= b->next_sys_ms) {
		sys_publish(b);
		b->next_sys_ms = now + b->lim.sys_interval_ms;
	}
	sessions_expire(b);
	revocation_tick(b);
}

static int
broker_init(struct broker *b)
{
	struct timeval sec = { 1, 0 };

	TAILQ_INIT(&b->clients);
	TAILQ_INIT(&b->dirty);
	TAILQ_INIT(&b->dead);
	TAILQ_INIT(&b->wills);
	siphash_key(b->session_key);
	broker_limits_load(&b->lim, b->conf);
	if ((b->base = event_base_new()) == NULL ||
	    (b->topics = topic_tree_new()) == NULL ||
	    (b->retained = retain_new()) == NULL ||
	    (b->ev_flush = event_new(b->base, -1, 0, clients_flush_cb,
	    b)) == NULL ||
	    (b->ev_reap = event_new(b->base, -1, 0, clients_reap_cb,
	    b)) == NULL ||
	    (b->ev_tick = event_new(b->base, -1, EV_PERSIST, broker_tick_cb,
	    b)) == NULL || event_add(b->ev_tick, &sec) == -1)
		return -1;
	b->start_ms = broker_now_ms(b);
	b->next_sys_ms = b->start_ms + b->lim.sys_interval_ms;
	return broker_auth_load(b, b->conf);
}

static void
broker_free(struct broker *b)
{
	struct client *c;

	/* Sessions first: closing clients looks them up. */
	while ((c = TAILQ_FIRST(&b->clients)) != NULL)
		client_close(c, NULL);
	if (b->ev_reap != NULL)
		clients_reap_cb(-1, 0, b);
	sessions_free(b);
	revocation_stop(b);
	free(b->matched);
	if (b->retained != NULL)
		retain_free(b->retained, msg_unref_void);
	topic_tree_free(b->topics);
	passwd_free(b->passwd);
	acl_free(b->acl);
	psk_free(b->psk);
	if (b->ev_flush != NULL)
		event_free(b->ev_flush);
	if (b->ev_reap != NULL)
		event_free(b->ev_reap);
	if (b->ev_tick != NULL)
		event_free(b->ev_tick);
	listeners_free(&b->listeners);
	daemon_signals_free(b->ev_sig);
	if (b->base != NULL)
		event_base_free(b->base);
	conf_free(b->conf);
}

int
main(int argc, char **argv)
{
	struct broker b;
	struct listener *l;
	int rc = 1;

	memset(&b, 0, sizeof(b));
	TAILQ_INIT(&b.listeners);
	TAILQ_INIT(&b.clients);
	TAILQ_INIT(&b.dead);
	b.opts.prog = "staplemq-broker";
	log_init(b.opts.prog, LOG_LVL_INFO, false);
	daemon_opts_parse(&b.opts, argc, argv, false);
	if (b.opts.test_conf)
		return daemon_conf_test(&b.opts, broker_conf_test);

	if ((b.conf = daemon_conf_load(b.opts.conf_path)) == NULL)
		fatalx("%s: configuration not valid", b.opts.conf_path);
	daemon_log_apply(&b.opts, b.conf);
	/* Before nng starts its threads: Landlock binds only this one. */
	if (sandbox_early(b.conf, SANDBOX_BROKER) == -1)
		fatalx("cannot set up the sandbox");
	if (broker_init(&b) == -1)
		fatalx("cannot initialise the broker");
	if (listeners_create(&b, &b.listeners) == -1)
		fatalx("cannot set up the listeners");
	if (tls_psk_start(&b) == -1)
		fatalx("cannot load the PSK identities");
	if (TAILQ_EMPTY(&b.listeners))
		log_warnx("no listener is configured");
	TAILQ_FOREACH(l, &b.listeners, entry)
		if (listener_start(l, &b) == -1)
			goto done;
	if (revocation_start(&b) == -1) {
		log_err("cannot set up stapling");
		goto done;
	}
	if (daemon_signals_add(b.base, broker_signal_cb, &b, b.ev_sig) == -1)
		goto done;
	/* epoll does not survive fork(); reinit after detaching. */
	if (!b.opts.foreground && (daemon_detach() == -1 ||
	    event_reinit(b.base) == -1))
		goto done;
	if (b.opts.pid_file != NULL &&
	    daemon_pidfile_write(b.opts.pid_file) == -1)
		goto done;
	/* Listeners, keys and the snapshot are open: narrow, then run. */
	if (sandbox_enter(b.conf, SANDBOX_BROKER) == -1) {
		log_err("cannot enter the sandbox; not starting");
		daemon_pidfile_remove(b.opts.pid_file);
		goto done;
	}
	(void)systemd_notify("READY=1");
	log_notice("%s %s started", b.opts.prog, STAPLEMQ_VERSION);
	event_base_dispatch(b.base);
	(void)systemd_notify("STOPPING=1");
	rc = 0;
	log_notice("stopped");
	daemon_pidfile_remove(b.opts.pid_file);
done:
	broker_free(&b);
	return rc;
}
