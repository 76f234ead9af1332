/*
 * mqtt_bench_conns.c: the scenarios of tests/bench/mqtt_bench that open
 * connections: TLS handshakes per second, and the broker's memory per
 * idle connection.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "bench_client.h"
#include "mqtt_bench_client.h"
#include "mqtt_bench_scenarios.h"

/* --- TLS handshakes and idle connections ------------------------------ */

static void
hs_open(struct loop *l)
{
	if (l->no_more || atomic_load(&l->stop))
		return;
	if (opt.mode == M_IDLE && l->opened >= l->slots)
		return;
	if (conn_open(l, R_PROBE, NULL, l->opened) == NULL)
		l->no_more = true;
}

static void *
hs_thread(void *arg)
{
	struct loop *l = arg;
	unsigned i;
	double end;

	for (i = 0; i < opt.conc; i++)
		hs_open(l);
	while (!atomic_load(&l->stop))
		loop_once(l, 50, NULL, -1);
	/*
	 * Stopped: no new connections; those under way finish as the row
	 * says (CONNACK, DISCONNECT, close) rather than being cut.
	 */
	end = bench_now_s() + 5;
	while (l->inprogress > 0 && bench_now_s() < end)
		loop_once(l, 50, NULL, -1);
	loop_close_all(l);
	close(l->ep);
	return NULL;
}

int
mode_handshake(void)
{
	struct loop loops[BENCH_MAX_THREADS];
	double t0, t1, c0, c1, s0, s1;
	uint64_t d0 = 0, d1 = 0, f = 0;
	unsigned i;

	if (!opt.tls)
		die("handshake needs -T (TLS)");
	if (opt.threads < 1 || opt.threads > BENCH_MAX_THREADS)
		die("-j must be 1 to %d", BENCH_MAX_THREADS);
	opt.conc = (opt.conc + opt.threads - 1) / opt.threads;
	for (i = 0; i < opt.threads; i++) {
		loop_init(&loops[i], i, 0);
		if (pthread_create(&loops[i].thread, NULL, hs_thread,
		    &loops[i]) != 0)
			die("pthread_create failed");
	}
	bench_sleep_s(opt.warmup);
	t0 = bench_now_s();
	c0 = broker_cpu();
	s0 = bench_self_cpu_s();
	for (i = 0; i < opt.threads; i++)
		d0 += atomic_load(&loops[i].done);
	bench_sleep_s(opt.time);
	t1 = bench_now_s();
	c1 = broker_cpu();
	s1 = bench_self_cpu_s();
	for (i = 0; i < opt.threads; i++) {
		d1 += atomic_load(&loops[i].done);
		atomic_store(&loops[i].stop, true);
	}
	for (i = 0; i < opt.threads; i++) {
		pthread_join(loops[i].thread, NULL);
		f += atomic_load(&loops[i].failed);
	}
	if (d1 == 0)
		die("no handshake completed (%llu failed)",
		    (unsigned long long)f);
	printf("mode=handshake rate=%.0f done=%llu failed=%llu secs=%.3f "
	    "broker_cpu=%.0f self_cpu=%.0f\n", (d1 - d0) / (t1 - t0),
	    (unsigned long long)(d1 - d0), (unsigned long long)f, t1 - t0,
	    c0 >= 0 && c1 >= 0 ? 100 * (c1 - c0) / (t1 - t0) : -1,
	    100 * (s1 - s0) / (t1 - t0));
	return f > d1 ? 1 : 0;
}

int
mode_idle(void)
{
	struct loop l;
	long before, after;
	double end, t0;
	unsigned i;

	if (opt.pid <= 0)
		die("idle needs --pid");
	loop_init(&l, 0, opt.conns);
	/* The broker's own idle footprint, before any connection. */
	if ((before = broker_rss_kb()) < 0)
		die("cannot read VmRSS of pid %d", (int)opt.pid);
	t0 = bench_now_s();
	end = t0 + BENCH_IDLE_SECS;
	for (i = 0; i < opt.conc && i < opt.conns; i++)
		hs_open(&l);
	while ((l.inprogress > 0 || (!l.no_more && l.opened < opt.conns)) &&
	    bench_now_s() < end)
		loop_once(&l, 100, NULL, -1);
	/* Let the broker finish with handshake-time buffers. */
	end = bench_now_s() + opt.warmup;
	while (bench_now_s() < end)
		loop_once(&l, 100, NULL, -1);
	if ((after = broker_rss_kb()) < 0)
		die("cannot read VmRSS of pid %d", (int)opt.pid);
	printf("mode=idle conns=%u wanted=%u failed=%llu rss_before_kb=%ld "
	    "rss_after_kb=%ld per_conn_bytes=%.0f secs=%.1f\n", l.nready,
	    opt.conns, (unsigned long long)atomic_load(&l.failed), before,
	    after, l.nready ? (after - before) * 1024.0 / l.nready : 0,
	    bench_now_s() - t0);
	fflush(stdout);
	i = l.nready;
	loop_close_all(&l);
	close(l.ep);
	return i > 0 ? 0 : 1;
}

/* Handshake: done, close, open the next one.  Idle: keep it. */
void
mode_ready(struct conn *c)
{
	if (opt.mode == M_HANDSHAKE) {
		atomic_fetch_add(&c->loop->done, 1);
		conn_close(c, true);
		hs_open(c->loop);
	} else if (opt.mode == M_IDLE)
		hs_open(c->loop);
}

void
mode_failed(struct conn *c)
{
	if (opt.mode == M_HANDSHAKE || opt.mode == M_IDLE)
		hs_open(c->loop);
}
