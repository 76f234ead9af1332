/*
 * log.h: OpenBSD-style logging shared by both daemons.
 *
 * One line per event: "LEVEL func: message".  The function name stands for
 * the subsystem, so callers write what the event concerns (client, file,
 * URL) and never repeat where it happened.
 */
#ifndef STAPLEMQ_LOG_H
#define STAPLEMQ_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum log_level {
	LOG_LVL_ERROR,
	LOG_LVL_WARNING,
	LOG_LVL_NOTICE,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

/* log.c */
void	log_init(const char *progname, enum log_level, bool to_syslog);
void	log_setlevel(enum log_level);
enum log_level log_getlevel(void);
int	log_level_parse(const char *, enum log_level *);
void	log_emit(enum log_level, const char *func, int errnum,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void	log_vemit(enum log_level, const char *func, int errnum,
	    const char *fmt, va_list) __attribute__((format(printf, 4, 0)));
/* fatal* exit(1); only for start-up and broken internal invariants. */
void	fatal_emit(const char *func, int errnum, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4), noreturn));

/* log_warn and fatal append strerror(errno); the "x" forms do not. */
#define log_err(...)	log_emit(LOG_LVL_ERROR, __func__, 0, __VA_ARGS__)
#define log_warn(...)	log_emit(LOG_LVL_WARNING, __func__, errno, __VA_ARGS__)
#define log_warnx(...)	log_emit(LOG_LVL_WARNING, __func__, 0, __VA_ARGS__)
#define log_notice(...)	log_emit(LOG_LVL_NOTICE, __func__, 0, __VA_ARGS__)
#define log_info(...)	log_emit(LOG_LVL_INFO, __func__, 0, __VA_ARGS__)
#define log_debug(...)	do {						\
	if (log_getlevel() >= LOG_LVL_DEBUG)				\
		log_emit(LOG_LVL_DEBUG, __func__, 0, __VA_ARGS__);	\
} while (0)
#define fatal(...)	fatal_emit(__func__, errno, __VA_ARGS__)
#define fatalx(...)	fatal_emit(__func__, 0, __VA_ARGS__)

#endif
