/*
 * bench_client.c: clocks, CPU accounting and the MQTT CONNECT shared by
 * the TLS clients of tests/bench (psk_hs.c, tls_hs.c).
 */
#include <sys/resource.h>
#include <sys/time.h>

#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_client.h"

/* Seconds of CLOCK_MONOTONIC. */
double
bench_now_s(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleep S seconds, through signals; nothing when S <= 0. */
void
bench_sleep_s(double s)
{
	struct timespec	 ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* This process's CPU time so far (user + system, all threads), s. */
double
bench_self_cpu_s(void)
{
	struct rusage	 ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/*
 * utime + stime of the NPIDS processes PIDS, summed, in clock ticks;
 * a process that is gone (or whose stat does not parse) counts 0.
 */
unsigned long long
bench_proc_ticks(const pid_t *pids, int npids)
{
	unsigned long long	 sum = 0, ut, st;
	char			 path[64], buf[1024], *p;
	FILE			*fp;
	int			 i;

	for (i = 0; i < npids; i++) {
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pids[i]);
		if ((fp = fopen(path, "r")) == NULL)
			continue;
		/* After the command name, which may hold anything. */
		if (fgets(buf, sizeof(buf), fp) != NULL &&
		    (p = strrchr(buf, ')')) != NULL &&
		    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
		    "%*u %llu %llu", &ut, &st) == 2)
			sum += ut + st;
		fclose(fp);
	}
	return sum;
}

/*
 * The end of a result line: "server_cpu S client_cpu C\n", each the
 * percent of one core over SECS seconds: S from TICKS of the server's
 * processes ("-" without a server), C from SELF_S of this process.
 */
void
bench_print_cpu(bool server, unsigned long long ticks, double self_s,
    double secs)
{
	printf("server_cpu ");
	if (server)
		printf("%.1f", (double)ticks / (double)sysconf(_SC_CLK_TCK) /
		    secs * 100);
	else
		printf("-");
	printf(" client_cpu %.1f\n", self_s / secs * 100);
}

/*
 * An MQTT 3.1.1 CONNECT into PKT (SIZE >= 64 bytes): clean session,
 * keepalive 60, client id TAG THREAD "-" N.  Returns its length.
 */
size_t
bench_mqtt_connect(uint8_t *pkt, size_t size, char tag, unsigned thread,
    unsigned long n)
{
	int	 idlen;

	if (size < 64)
		errx(1, "%s: a buffer of %zu bytes", __func__, size);
	/* At most 1 + 10 + 1 + 20 characters: it fits. */
	idlen = snprintf((char *)pkt + 14, size - 14, "%c%u-%lu", tag, thread,
	    n);
	pkt[0] = 0x10;
	pkt[1] = (uint8_t)(12 + idlen);
	memcpy(pkt + 2, "\0\4MQTT\4\2\0\74", 10);
	pkt[12] = 0;
	pkt[13] = (uint8_t)idlen;
	return 14 + (size_t)idlen;
}
