/*
 * log.c: leveled logging to stderr or syslog, one line per event.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *log_progname = "staplemq";
static enum log_level log_level = LOG_LVL_INFO;
static bool log_syslog;

static const struct {
	const char	*name;
	int		 prio;
} log_levels[] = {
	[LOG_LVL_ERROR] = { "error", LOG_ERR },
	[LOG_LVL_WARNING] = { "warning", LOG_WARNING },
	[LOG_LVL_NOTICE] = { "notice", LOG_NOTICE },
	[LOG_LVL_INFO] = { "info", LOG_INFO },
	[LOG_LVL_DEBUG] = { "debug", LOG_DEBUG },
};

void
log_init(const char *progname, enum log_level level, bool to_syslog)
{
	log_progname = progname;
	log_level = level;
	if (log_syslog && !to_syslog)
		closelog();
	log_syslog = to_syslog;
	if (to_syslog)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_setlevel(enum log_level level)
{
	log_level = level;
}

enum log_level
log_getlevel(void)
{
	return log_level;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	size_t i;

	for (i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
		if (strcasecmp(s, log_levels[i].name) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	return -1;
}

void
log_vemit(enum log_level level, const char *func, int errnum,
    const char *fmt, va_list ap)
{
	char msg[2048];
	char ts[32];
	struct timespec now;
	struct tm tm;
	int n;

	if (level > log_level)
		return;
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		return;
	/* Truncated messages still get their errno text appended. */
	if (errnum != 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(errnum));

	if (log_syslog) {
		syslog(log_levels[level].prio, "%s %s: %s",
		    log_levels[level].name, func, msg);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ %s[%d] %s %s: %s\n", ts,
	    now.tv_nsec / 1000000, log_progname, (int)getpid(),
	    log_levels[level].name, func, msg);
}

void
log_emit(enum log_level level, const char *func, int errnum,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(level, func, errnum, fmt, ap);
	va_end(ap);
}

void
fatal_emit(const char *func, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_ERROR, func, errnum, fmt, ap);
	va_end(ap);
	exit(1);
}
