/*
 * main.c: staplemq-fetcherd start-up, signals and the event loop.
 *
 * The fetcher is the only process that reaches the network.  It reads
 * certificate chains and the CA certificates, never a private key.  It
 * keeps staples for the server certificates (staple.c), the CRLs client
 * certificates are checked against (crl.c) and their OCSP answers
 * (client_ocsp.c), and answers the brokers' requests (request.c).
 */
#include <sys/stat.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "fetcherd.h"
#include "http.h"
#include "log.h"
#include "revcheck.h"
#include "sandbox.h"
#include "systemd.h"

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

/*
 * The runtime and data directories, created and, when started as root,
 * given to node.fetcher_user:node.group with mode 0750: the broker's
 * group reads the snapshots and connects to the sockets, nobody else.
 */
static int
fetcherd_dirs(struct fetcherd *f)
{
	const char *dirs[2] = { conf_str(f->conf->root, "node.runtime_dir"),
	    conf_str(f->conf->root, "node.data_dir") };
	int i;

	for (i = 0; i < 2; i++)
		if (fetcherd_mkdirs(dirs[i]) == -1 || priv_sandbox_chown(
		    f->conf, SANDBOX_FETCHERD, dirs[i]) == -1)
			return -1;
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
fetcherd_crls_log(struct fetcherd *f)
{
	size_t i;

	for (i = 0; i < f->rev.ncrl_urls; i++)
		log_info("CRL %s, refresh %llds", f->rev.crl_urls[i],
		    (long long)(f->rev.crl_refresh_ms / 1000));
	for (i = 0; i < f->rev.ncrl_files; i++)
		log_info("CRL file %s", f->rev.crl_files[i]);
	if (f->rev.crl || f->rev.ocsp)
		log_info("client certificates: %d CA%s, CRL %s, OCSP %s",
		    sk_X509_num(f->rev.cas), sk_X509_num(f->rev.cas) == 1 ?
		    "" : "s", f->rev.crl ? "on" : "off", f->rev.ocsp ?
		    (f->rev.ocsp_url ? f->rev.ocsp_url : "from AIA") : "off");
}

static void
fetcherd_reload(struct fetcherd *f)
{
	struct target_head targets;
	struct revconf rev;
	struct conf *conf;
	int ok;

	log_notice("reloading %s", f->opts.conf_path);
	TAILQ_INIT(&targets);
	memset(&rev, 0, sizeof(rev));
	ok = (conf = daemon_conf_load(f->opts.conf_path)) != NULL;
	if (ok && targets_create(conf, &targets) == -1)
		ok = 0;
	if (ok && revconf_load(conf, &rev) == -1)
		ok = 0;
	if (!ok) {
		targets_free(&targets);
		revconf_free(&rev);
		log_err("%s is not valid; still running on the previous "
		    "configuration", f->opts.conf_path);
		conf_free(conf);
		return;
	}
	/* Same certificates keep their staples; the rest start afresh. */
	staples_adopt(&targets, &f->targets);
	staples_stop(f);
	targets_free(&f->targets);
	TAILQ_INIT(&f->targets);
	TAILQ_CONCAT(&f->targets, &targets, entry);
	conf_free(f->conf);
	f->conf = conf;
	/* The CRL and OCSP caches stay; the same sources keep their CRL. */
	revconf_free(&f->rev);
	f->rev = rev;
	daemon_log_apply(&f->opts, f->conf);
	fetcherd_targets_log(f);
	fetcherd_crls_log(f);
	if (staples_start(f) == -1)
		log_err("cannot schedule the staple targets");
	if (crl_configure(f) == -1 || crl_start(f) == -1)
		log_err("cannot schedule the CRL sources");
	publish_soon(f);
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

static const char *
fetcherd_time(int64_t t, char *buf, size_t len)
{
	struct tm tm;
	time_t tt = t;

	if (t == 0)
		return "-";
	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* A CRL number as hex, "-" when there is none. */
static const char *
fetcherd_hex(const uint8_t *p, size_t len, char *buf, size_t size)
{
	size_t i;

	if (len == 0 || size < 2 * len + 1)
		return "-";
	for (i = 0; i < len; i++)
		snprintf(buf + 2 * i, size - 2 * i, "%02X", p[i]);
	return buf;
}

/* The CRL sources of --check, one line each; returns the good ones. */
static int
fetcherd_check_crls(struct fetcherd *f, int *n)
{
	struct crl_source *s;
	char tu[32], nu[32], num[2 * CRL_SERIAL_MAX + 1];
	int64_t now = time(NULL);
	int good = 0;
	bool ok, late;

	printf("%-48s %-40s %-4s %-10s %-20s %-20s %-8s %s\n", "CRL SOURCE",
	    "ISSUER", "HTTP", "NUMBER", "THIS UPDATE", "NEXT UPDATE",
	    "ENTRIES", "RESULT");
	*n = 0;
	TAILQ_FOREACH(s, &f->crls, entry) {
		if ((s->origin & (CRL_FROM_URL | CRL_FROM_FILE)) == 0)
			continue;
		(*n)++;
		late = s->have && s->hdr.next_update != 0 &&
		    now >= s->hdr.next_update;
		ok = s->have && !s->failed && !late;
		good += ok;
		printf("%-48s %-40s %-4ld %-10s %-20s %-20s %-8llu %s\n",
		    s->label, s->have ? s->issuer : "-", s->last_http,
		    s->have ? fetcherd_hex(s->hdr.crl_number,
		    s->hdr.crl_number_len, num, sizeof(num)) : "-",
		    fetcherd_time(s->have ? s->hdr.this_update : 0, tu,
		    sizeof(tu)), fetcherd_time(s->have ?
		    s->hdr.next_update : 0, nu, sizeof(nu)),
		    (unsigned long long)(s->have ? s->hdr.count : 0),
		    ok ? "verified" : late && !s->failed ?
		    "verified, but past its nextUpdate" : s->last_error);
	}
	printf("%d CRL source%s, %d verified\n", *n, *n == 1 ? "" : "s",
	    good);
	return good;
}

/*
 * --check: fetch every target and every configured CRL once,
 * concurrently, and print what came back; exit 0 only when every
 * certificate has a good, verified staple and every CRL verified.
 */
static int
fetcherd_check(struct fetcherd *f)
{
	struct target *t;
	char tu[32], nu[32];
	int n = 0, good = 0, ncrl = 0, crl_good = 0;

	if (staples_start(f) == -1 || crl_start(f) == -1)
		return 2;
	if (f->pending_checks > 0)
		event_base_dispatch(f->base);
	if (!TAILQ_EMPTY(&f->targets) || TAILQ_EMPTY(&f->crls))
		printf("%-32s %-20s %-40s %-4s %-6s %-7s %-20s %-20s %s\n",
		    "CERTIFICATE", "SERIAL", "RESPONDER", "HTTP", "METHOD",
		    "STATUS", "THIS UPDATE", "NEXT UPDATE", "RESULT");
	TAILQ_FOREACH(t, &f->targets, entry) {
		n++;
		if (t->state == SNAP_STAPLE_GOOD && t->failures == 0)
			good++;
		printf("%-32s %-20s %-40s %-4ld %-6s %-7s %-20s %-20s %s\n",
		    t->subject, t->serial, t->last_url ? t->last_url : "-",
		    t->last_http, t->last_method ? t->last_method : "-",
		    t->state == SNAP_STAPLE_GOOD ? "good" :
		    t->state == SNAP_STAPLE_REVOKED ? "revoked" : "-",
		    fetcherd_time(t->state == SNAP_STAPLE_GOOD ?
		    t->this_update : 0, tu, sizeof(tu)),
		    fetcherd_time(t->state == SNAP_STAPLE_GOOD ?
		    t->next_update : 0, nu, sizeof(nu)),
		    t->state == SNAP_STAPLE_GOOD && t->failures == 0 ?
		    "verified" : t->last_error);
	}
	if (!TAILQ_EMPTY(&f->targets) || TAILQ_EMPTY(&f->crls))
		printf("%d certificate%s, %d good\n", n, n == 1 ? "" : "s",
		    good);
	if (!TAILQ_EMPTY(&f->crls))
		crl_good = fetcherd_check_crls(f, &ncrl);
	if (f->opts.publish && good + crl_good > 0 && publish_now(f) == -1)
		return 1;
	return good == n && crl_good == ncrl ? 0 : 1;
}

static void
fetcherd_free(struct fetcherd *f)
{
	/*
	 * Fetches still running end first: their callbacks ("cancelled")
	 * still find their targets, sources and timers.
	 */
	f->stopping = true;
	http_free(f->http);
	f->http = NULL;
	request_close(f);
	publish_close(f);
	staples_stop(f);
	targets_free(&f->targets);
	crl_free_all(f);
	client_ocsp_free(f);
	revconf_free(&f->rev);
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
	TAILQ_INIT(&f.crls);
	f.opts.prog = "staplemq-fetcherd";
	log_init(f.opts.prog, LOG_LVL_INFO, false);
	daemon_opts_parse(&f.opts, argc, argv, true);
	if (f.opts.test_conf)
		return daemon_conf_test(&f.opts, fetcherd_conf_check);

	if ((f.conf = daemon_conf_load(f.opts.conf_path)) == NULL)
		fatalx("%s: configuration not valid", f.opts.conf_path);
	daemon_log_apply(&f.opts, f.conf);
	/* Before any thread: Landlock binds only the thread that asks. */
	if (sandbox_early(f.conf, SANDBOX_FETCHERD) == -1)
		fatalx("cannot set up the sandbox");
	if (targets_create(f.conf, &f.targets) == -1)
		fatalx("cannot set up the staple targets");
	if (revconf_load(f.conf, &f.rev) == -1)
		fatalx("cannot set up client certificate checks");
	if ((f.base = event_base_new()) == NULL ||
	    (f.http = http_new(f.base)) == NULL)
		fatalx("cannot set up the event loop");
	if (crl_configure(&f) == -1)
		fatalx("cannot set up the CRL sources");
	if (f.opts.diag_check) {
		if (f.opts.publish && fetcherd_dirs(&f) == -1)
			goto done;
		/* Responders' answers are parsed under the sandbox too. */
		if (sandbox_enter(f.conf, SANDBOX_FETCHERD) == -1) {
			rc = 2;
			goto done;
		}
		rc = fetcherd_check(&f);
		goto done;
	}
	if (fetcherd_dirs(&f) == -1)
		goto done;
	if (daemon_signals_add(f.base, fetcherd_signal_cb, &f, f.ev_sig) == -1)
		goto done;
	if (!f.opts.foreground && (daemon_detach() == -1 ||
	    event_reinit(f.base) == -1))
		goto done;
	if (f.opts.pid_file != NULL &&
	    daemon_pidfile_write(f.opts.pid_file) == -1)
		goto done;
	/*
	 * Certificates are read; narrow before the first fetch.  The nng
	 * sockets come after, so that they belong to the unprivileged user.
	 */
	if (sandbox_enter(f.conf, SANDBOX_FETCHERD) == -1) {
		log_err("cannot enter the sandbox; not starting");
		daemon_pidfile_remove(f.opts.pid_file);
		goto done;
	}
	if (publish_open(&f) == -1 || client_ocsp_start(&f) == -1)
		goto done;
	fetcherd_targets_log(&f);
	fetcherd_crls_log(&f);
	/*
	 * Persisted staples, CRLs and OCSP answers first: brokers staple
	 * and check clients before any server answers.
	 */
	publish_restore(&f);
	if (staples_start(&f) == -1 || crl_start(&f) == -1 ||
	    request_open(&f) == -1)
		goto done;
	(void)systemd_notify("READY=1");
	log_notice("%s %s started", f.opts.prog, STAPLEMQ_VERSION);
	event_base_dispatch(f.base);
	(void)systemd_notify("STOPPING=1");
	rc = 0;
	log_notice("stopped");
	daemon_pidfile_remove(f.opts.pid_file);
done:
	fetcherd_free(&f);
	return rc;
}
