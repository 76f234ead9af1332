/*
 * daemon.h: what both daemons do the same way around their main loop:
 * command line, configuration loading and reporting, PID file, detaching.
 */
#ifndef STAPLEMQ_DAEMON_H
#define STAPLEMQ_DAEMON_H

#include <stdbool.h>

#include <event2/event.h>

#include "conf.h"

#define DAEMON_DEFAULT_CONF	"/etc/staplemq/staplemq.conf"

struct daemon_opts {
	const char	*prog;		/* staplemq-broker, staplemq-fetcherd */
	const char	*conf_path;
	const char	*pid_file;	/* NULL: none */
	bool		 test_conf;	/* -t */
	bool		 foreground;	/* -f */
	bool		 debug;		/* -d: log.level = debug */
	bool		 diag_check;	/* --check (fetcherd only) */
	bool		 publish;	/* --publish, with --check */
};

/* daemon.c */
/* Parse argv; exits for --help, --version, --keys and usage errors. */
void	daemon_opts_parse(struct daemon_opts *, int, char **, bool fetcherd);
/* Load the configuration; on failure log every error and return NULL. */
struct conf *daemon_conf_load(const char *path);
/* -t: print every error or "configuration OK"; returns the exit code. */
int	daemon_conf_test(const struct daemon_opts *,
	    int (*check)(const struct conf *));
/* Apply log.level and log.to (and -d). */
void	daemon_log_apply(const struct daemon_opts *, const struct conf *);
int	daemon_pidfile_write(const char *path);
void	daemon_pidfile_remove(const char *path);
int	daemon_detach(void);
void	daemon_keys_print(void);
/* SIGINT, SIGTERM and SIGHUP call cb; evs must hold DAEMON_NSIGNALS. */
#define DAEMON_NSIGNALS	3
int	daemon_signals_add(struct event_base *, event_callback_fn, void *,
	    struct event **evs);
void	daemon_signals_free(struct event **evs);

#endif
