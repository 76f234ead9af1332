/*
 * mqtt_bench.c: the load generator of `make bench` (tests/bench/run.sh).
 *
 * MQTT 3.1.1 clients over TCP or TLS 1.3 on one epoll loop with
 * non-blocking sockets; packets are built and parsed by the broker's own
 * pure codec (broker/mqtt_codec.c), so the bench speaks exactly the
 * protocol the broker is tested against.  It measures one broker at a
 * time and prints one line of key=value pairs on stdout for run.sh to
 * parse; diagnostics go to stderr.  Every mode is bounded in time (an
 * alarm ends a run that hangs) and exits non-zero when the measurement
 * could not be made.
 *
 *   mqtt_bench tput      -p PORT [-T] -P topics -S subs -q qos -s size
 *   mqtt_bench latency   -p PORT -r rate -s size
 *   mqtt_bench handshake -p PORT -T -c concurrency [-j threads]
 *   mqtt_bench idle      -p PORT [-T] -n conns -c concurrency --pid PID
 *   mqtt_bench ports N   print N free TCP ports of 127.0.0.1
 *   mqtt_bench wait      -p PORT   wait until something listens there
 *
 * Common: -t seconds measured, -W seconds of warm-up before, --pid PID of
 * the broker (its CPU use over the measurement is reported).
 *
 * This file: the options, the helpers for run.sh (ports, wait) and main.
 * The client engine is mqtt_bench_client.c; the scenarios are
 * mqtt_bench_msgs.c (tput, latency) and mqtt_bench_conns.c (handshake,
 * idle); clocks and CPU time come from bench_client.c.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_client.h"
#include "mqtt_bench_client.h"
#include "mqtt_bench_scenarios.h"

/* --- helpers for run.sh ------------------------------------------------ */

/* Print n distinct ports that nothing listens on right now. */
static int
mode_ports(unsigned n)
{
	struct sockaddr_in sin;
	socklen_t len;
	int fds[64];
	unsigned i;

	if (n == 0 || n > 64)
		die("ports: 1 to 64");
	for (i = 0; i < n; i++) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(sin);
		/* All held open until printed, so no two are the same. */
		if ((fds[i] = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
		    bind(fds[i], (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
		    getsockname(fds[i], (struct sockaddr *)&sin, &len) == -1)
			die("ports: %s", strerror(errno));
		printf("%s%u", i ? " " : "", ntohs(sin.sin_port));
	}
	printf("\n");
	for (i = 0; i < n; i++)
		close(fds[i]);
	return 0;
}

/* Wait until something accepts on the port, for up to opt.time. */
static int
mode_wait(void)
{
	double end = bench_now_s() + opt.time;
	int fd;

	while (bench_now_s() < end) {
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
			die("socket: %s", strerror(errno));
		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
			close(fd);
			return 0;
		}
		close(fd);
		bench_sleep_s(0.02);
	}
	return 1;
}

/* --- main -------------------------------------------------------------- */

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: mqtt_bench tput|latency|handshake|idle|wait [options]\n"
	    "       mqtt_bench ports N\n"
	    "  -H host  -p port  -T (TLS 1.3)  -t secs  -W warm-up secs\n"
	    "  -P topics  -S subscribers per topic  -q qos  -s payload\n"
	    "  -w QoS 1 window  -e end-to-end window  -r latency rate\n"
	    "  -c concurrent connects  -n idle conns  -j threads\n"
	    "  --pid broker pid\n");
	exit(2);
}

static unsigned
num(const char *s, unsigned lo, unsigned hi)
{
	char *ep;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &ep, 10);
	if (*s == '\0' || *ep != '\0' || errno != 0 || v < lo || v > hi)
		die("bad number \"%s\" (%u to %u)", s, lo, hi);
	return v;
}

static double
secs(const char *s)
{
	char *ep;
	double v;

	v = strtod(s, &ep);
	if (*s == '\0' || *ep != '\0' || v < 0 || v > 3600)
		die("bad duration \"%s\"", s);
	return v;
}

static void
parse_opts(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'x' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "H:p:Tt:W:P:S:q:s:w:e:r:c:n:j:",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'H': opt.host = optarg; break;
		case 'p': opt.port = num(optarg, 1, 65535); break;
		case 'T': opt.tls = true; break;
		case 't': opt.time = secs(optarg); break;
		case 'W': opt.warmup = secs(optarg); break;
		case 'P': opt.pubs = num(optarg, 1, 10000); break;
		case 'S': opt.subs = num(optarg, 1, 10000); break;
		case 'q': opt.qos = num(optarg, 0, 1); break;
		case 's': opt.size = num(optarg, 1, 1 << 20); break;
		case 'w': opt.window = num(optarg, 1, 65535); break;
		case 'e': opt.e2e = num(optarg, 1, 1 << 20); break;
		case 'r': opt.rate = num(optarg, 1, 1000000); break;
		case 'c': opt.conc = num(optarg, 1, 100000); break;
		case 'n': opt.conns = num(optarg, 1, 1000000); break;
		case 'j': opt.threads = num(optarg, 1, BENCH_MAX_THREADS);
			break;
		case 'x': opt.pid = num(optarg, 1, INT_MAX); break;
		default: usage();
		}
	}
}

int
main(int argc, char **argv)
{
	const char *m;

	if (argc < 2)
		usage();
	m = argv[1];
	if (strcmp(m, "ports") == 0)
		return mode_ports(argc == 3 ? num(argv[2], 1, 64) : 0);
	argc--;
	argv++;
	parse_opts(argc, argv);
	if (optind != argc || opt.port == 0)
		usage();
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons(opt.port);
	if (inet_pton(AF_INET, opt.host, &addr.sin_addr) != 1)
		die("bad IPv4 address %s", opt.host);
	if (strcmp(m, "wait") == 0)
		return mode_wait();
	signal(SIGPIPE, SIG_IGN);
	/* Whatever happens, the run ends. */
	alarm((unsigned)(opt.warmup + opt.time + BENCH_SETUP_SECS +
	    BENCH_IDLE_SECS));
	run_id = ((unsigned long)getpid() << 16) ^ (unsigned long)now_ns();
	if (opt.tls)
		tls_init();
	if (strcmp(m, "tput") == 0) {
		opt.mode = M_TPUT;
		return mode_tput();
	}
	if (strcmp(m, "latency") == 0) {
		opt.mode = M_LATENCY;
		return mode_latency();
	}
	if (strcmp(m, "handshake") == 0) {
		opt.mode = M_HANDSHAKE;
		return mode_handshake();
	}
	if (strcmp(m, "idle") == 0) {
		opt.mode = M_IDLE;
		opt.keepalive = 0;
		return mode_idle();
	}
	usage();
}
