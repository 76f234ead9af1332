/*
 * daemon.c: command line, configuration reporting, PID file and detaching,
 * shared by both daemons so that they behave the same to an operator.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "daemon.h"
#include "log.h"

static void __attribute__((noreturn))
daemon_usage(const char *prog, bool fetcherd, int code)
{
	FILE *f = code == 0 ? stdout : stderr;

	fprintf(f, "usage: %s [-dft] [-c file] [-p pidfile]%s\n"
	    "  -c file     configuration file (default %s)\n"
	    "  -t          check the configuration and exit\n"
	    "  -f          stay in the foreground\n"
	    "  -d          log at debug level\n"
	    "  -p pidfile  write the process id to pidfile\n",
	    prog, fetcherd ? " [--check [--publish]]" : "",
	    DAEMON_DEFAULT_CONF);
	if (fetcherd)
		fprintf(f, "  --check     fetch everything once, print what was "
		    "found, exit non-zero on a problem\n"
		    "  --publish   with --check, also publish the results\n");
	fprintf(f, "  --keys      print every configuration key\n"
	    "  --version   print the version\n"
	    "  --help      print this help\n");
	exit(code);
}

void
daemon_opts_parse(struct daemon_opts *o, int argc, char **argv,
    bool fetcherd)
{
	enum { OPT_CHECK = 256, OPT_PUBLISH, OPT_KEYS, OPT_VERSION, OPT_HELP };
	static const struct option longopts[] = {
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "publish", no_argument, NULL, OPT_PUBLISH },
		{ "keys", no_argument, NULL, OPT_KEYS },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	o->conf_path = DAEMON_DEFAULT_CONF;
	while ((ch = getopt_long(argc, argv, "c:dfp:t", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->conf_path = optarg;
			break;
		case 'd':
			o->debug = true;
			break;
		case 'f':
			o->foreground = true;
			break;
		case 'p':
			o->pid_file = optarg;
			break;
		case 't':
			o->test_conf = true;
			break;
		case OPT_CHECK:
		case OPT_PUBLISH:
			if (!fetcherd)
				daemon_usage(o->prog, fetcherd, 2);
			if (ch == OPT_CHECK)
				o->diag_check = true;
			else
				o->publish = true;
			break;
		case OPT_KEYS:
			daemon_keys_print();
			exit(0);
		case OPT_VERSION:
			printf("%s %s\n", o->prog, STAPLEMQ_VERSION);
			exit(0);
		case OPT_HELP:
			daemon_usage(o->prog, fetcherd, 0);
		default:
			daemon_usage(o->prog, fetcherd, 2);
		}
	}
	if (optind != argc || (o->publish && !o->diag_check))
		daemon_usage(o->prog, fetcherd, 2);
	/* --check is a foreground diagnostic by definition. */
	if (o->diag_check)
		o->foreground = true;
}

struct conf *
daemon_conf_load(const char *path)
{
	struct conf_errors errs = { 0 };
	struct conf *conf;
	size_t i;

	if ((conf = conf_load(path, conf_keys, &errs)) == NULL)
		for (i = 0; i < errs.n; i++)
			log_err("%s", errs.msg[i]);
	conf_errors_free(&errs);
	return conf;
}

int
daemon_conf_test(const struct daemon_opts *o,
    int (*check)(const struct conf *))
{
	struct conf_errors errs = { 0 };
	struct conf *conf;
	size_t i;
	int rc = 1;

	if ((conf = conf_load(o->conf_path, conf_keys, &errs)) == NULL) {
		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msg[i]);
		goto done;
	}
	/* The daemon's own checks (files, certificates) log their errors. */
	if (check != NULL && check(conf) == -1)
		goto done;
	printf("%s: configuration OK\n", o->conf_path);
	rc = 0;
done:
	conf_errors_free(&errs);
	conf_free(conf);
	return rc;
}

void
daemon_log_apply(const struct daemon_opts *o, const struct conf *conf)
{
	enum log_level level = LOG_LVL_INFO;

	if (log_level_parse(conf_str(conf->root, "log.level"), &level) == -1)
		level = LOG_LVL_INFO;
	if (o->debug)
		level = LOG_LVL_DEBUG;
	/* Detached daemons have no stderr to write to. */
	log_init(o->prog, level, strcmp(conf_str(conf->root, "log.to"),
	    "syslog") == 0 || !o->foreground);
}

int
daemon_pidfile_write(const char *path)
{
	char buf[32];
	int fd, n;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1) {
		log_warn("%s", path);
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (write(fd, buf, n) != n) {
		log_warn("%s", path);
		close(fd);
		return -1;
	}
	return close(fd);
}

void
daemon_pidfile_remove(const char *path)
{
	if (path != NULL && unlink(path) == -1 && errno != ENOENT)
		log_warn("%s", path);
}

int
daemon_detach(void)
{
	/* Keep the working directory: relative paths in the file use it. */
	if (daemon(1, 0) == -1) {
		log_warn("daemon");
		return -1;
	}
	return 0;
}

/* Print the key table as the markdown table README.md carries. */
void
daemon_keys_print(void)
{
	const struct conf_key *k;
	const char *who, *c;

	printf("| key | type | default | used by | meaning |\n");
	printf("| --- | --- | --- | --- | --- |\n");
	for (k = conf_keys; k->name != NULL; k++) {
		who = k->users == CONF_BOTH ? "both" :
		    k->users == CONF_BROKER ? "broker" : "fetcherd";
		printf("| `%s` | %s", k->name, conf_type_name(k->type));
		/* "a|b" would split the markdown cell. */
		for (c = k->choices; c != NULL && *c != '\0'; c++)
			printf("%s%c", c == k->choices ? ": " : "",
			    *c == '|' ? '/' : *c);
		printf(" | %s%s%s | %s | %s%s |\n",
		    k->def ? "`" : "", k->def ? k->def : "(required)",
		    k->def ? "`" : "", who, k->doc,
		    (k->flags & CONF_RELOAD) ? "" : " (restart)");
	}
}

int
daemon_signals_add(struct event_base *base, event_callback_fn cb, void *arg,
    struct event **evs)
{
	static const int sigs[DAEMON_NSIGNALS] = { SIGINT, SIGTERM, SIGHUP };
	int i;

	/* A peer that goes away must not kill the process. */
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < DAEMON_NSIGNALS; i++) {
		if ((evs[i] = evsignal_new(base, sigs[i], cb, arg)) == NULL ||
		    evsignal_add(evs[i], NULL) == -1) {
			log_err("cannot handle signal %d", sigs[i]);
			return -1;
		}
	}
	return 0;
}

void
daemon_signals_free(struct event **evs)
{
	int i;

	for (i = 0; i < DAEMON_NSIGNALS; i++)
		if (evs[i] != NULL) {
			event_free(evs[i]);
			evs[i] = NULL;
		}
}
