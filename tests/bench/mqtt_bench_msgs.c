/*
 * mqtt_bench_msgs.c: the scenarios of tests/bench/mqtt_bench that send
 * messages through the broker: throughput (tput) and latency.
 */
#include <sys/epoll.h>
#include <sys/timerfd.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_client.h"
#include "mqtt_codec.h"
#include "mqtt_bench_client.h"
#include "mqtt_bench_scenarios.h"

/* Throughput and latency state (one loop, one thread). */
static struct topic	*topics;
static uint8_t		*payload;
static bool		 publishing;
static uint64_t		 total_recv, total_sent, stalls;
static int64_t		 measure_from_ns;	/* latency samples from */
static int64_t		*samples;
static size_t		 nsamples, max_samples;

/* One PUBLISH of the payload on c, counted; stamped in the latency mode. */
static void
publish_one(struct conn *c)
{
	conn_publish(c, payload, opt.size, opt.mode == M_LATENCY);
	c->topic->sent++;
	total_sent++;
}

/* A PUBLISH from the broker (acknowledged already): count it. */
void
mode_publish(struct conn *c, const struct mqtt_publish *pub)
{
	struct topic *t = c->topic;
	int64_t sent_ns, d;

	total_recv++;
	if (t != NULL) {
		t->delivered++;
		t->last_progress = bench_now_s();
	}
	if (opt.mode != M_LATENCY || pub->payload_len < sizeof(sent_ns))
		return;
	memcpy(&sent_ns, pub->payload, sizeof(sent_ns));
	if (sent_ns < measure_from_ns || nsamples >= max_samples)
		return;
	d = now_ns() - sent_ns;
	samples[nsamples++] = d;
}

/* --- throughput ------------------------------------------------------ */

/*
 * Whether topic t's publisher may send another message.  Two windows:
 * QoS 1 PUBLISHes without PUBACK (the broker's acknowledgement), and
 * messages not yet received by every subscriber (end to end), so that
 * neither broker is measured filling its queues faster than it empties
 * them; both keep the pipeline full.  A publisher whose messages stopped
 * arriving for a second writes them off as lost and goes on.
 */
static bool
tput_may_publish(struct topic *t, double tnow)
{
	struct conn *c = t->pub;
	int64_t want, got;

	if (!publishing || c == NULL || c->state != C_READY)
		return false;
	if (opt.qos > 0 && c->unacked >= opt.window)
		return false;
	if (c->out.len > BENCH_OUT_HIGH)
		return false;
	want = (int64_t)(t->sent * t->nsubs);
	got = (int64_t)(t->delivered + t->lost);
	if (want - got < (int64_t)opt.e2e * t->nsubs)
		return true;
	if (tnow - t->last_progress > BENCH_STALL_SECS) {
		t->lost += want - got;
		t->last_progress = tnow;
		stalls++;
		return true;
	}
	return false;
}

void
tput_pump(void)
{
	double tnow = bench_now_s();
	unsigned i;

	for (i = 0; i < opt.pubs; i++)
		while (tput_may_publish(&topics[i], tnow))
			publish_one(topics[i].pub);
}

/* Run the loop until every connection is ready or setup time is over. */
static void
setup_wait(struct loop *l, unsigned want)
{
	double end = bench_now_s() + BENCH_SETUP_SECS;

	while (l->nready < want) {
		if (atomic_load(&l->failed) > 0)
			die("could not connect every client (%u of %u)",
			    l->nready, want);
		if (bench_now_s() > end)
			die("clients not ready after %.0fs (%u of %u)",
			    BENCH_SETUP_SECS, l->nready, want);
		loop_once(l, 100, NULL, -1);
	}
}

static void
run_until(struct loop *l, double end, struct conn *pub, int tfd)
{
	double t;

	while ((t = bench_now_s()) < end) {
		if (atomic_load(&l->failed) > 0)
			die("a connection failed during the measurement");
		/* Short waits: the stall check needs turns. */
		loop_once(l, end - t > 0.1 ? 100 : (int)((end - t) * 1000) + 1,
		    pub, tfd);
	}
}

static void
topics_init(void)
{
	unsigned i;

	if ((topics = calloc(opt.pubs, sizeof(*topics))) == NULL ||
	    (payload = calloc(1, opt.size)) == NULL)
		die("out of memory");
	memset(payload, 'x', opt.size);
	for (i = 0; i < opt.pubs; i++) {
		topics[i].name_len = snprintf(topics[i].name,
		    sizeof(topics[i].name), "bench/%lx/%u", run_id, i);
		topics[i].nsubs = opt.subs;
	}
}

/* Subscribers first, all subscribed, then the publishers. */
static void
clients_open(struct loop *l)
{
	unsigned i, j, n = 0;

	for (i = 0; i < opt.pubs; i++)
		for (j = 0; j < opt.subs; j++, n++)
			if (conn_open(l, R_SUB, &topics[i], n) == NULL)
				die("cannot open subscriber %u", n);
	setup_wait(l, n);
	for (i = 0; i < opt.pubs; i++)
		if ((topics[i].pub = conn_open(l, R_PUB, &topics[i], i)) ==
		    NULL)
			die("cannot open publisher %u", i);
	setup_wait(l, n + opt.pubs);
}

static bool
clients_drained(void)
{
	unsigned i;

	for (i = 0; i < opt.pubs; i++)
		if (topics[i].delivered + topics[i].lost <
		    topics[i].sent * topics[i].nsubs ||
		    (topics[i].pub != NULL && topics[i].pub->state == C_READY &&
		    topics[i].pub->unacked > 0))
			return false;
	return true;
}

/* The end of a run: what was published arrives (for up to 5 seconds). */
static void
clients_close(struct loop *l, struct conn *pub, int tfd)
{
	double end = bench_now_s() + 5;
	unsigned i;

	publishing = false;
	while (!clients_drained() && bench_now_s() < end)
		loop_once(l, 50, pub, tfd);
	if (tfd != -1)
		close(tfd);
	loop_close_all(l);
	for (i = 0; i < opt.pubs; i++)
		topics[i].pub = NULL;
}

int
mode_tput(void)
{
	struct loop l;
	double t0, t1, c0, c1, s0, s1, tnow;
	uint64_t r0, r1, p0, p1, lost = 0;
	unsigned i;

	loop_init(&l, 0, 0);
	topics_init();
	clients_open(&l);
	publishing = true;
	tnow = bench_now_s();
	for (i = 0; i < opt.pubs; i++)
		topics[i].last_progress = tnow;
	run_until(&l, bench_now_s() + opt.warmup, NULL, -1);
	t0 = bench_now_s();
	r0 = total_recv;
	p0 = total_sent;
	c0 = broker_cpu();
	s0 = bench_self_cpu_s();
	run_until(&l, t0 + opt.time, NULL, -1);
	t1 = bench_now_s();
	r1 = total_recv;
	p1 = total_sent;
	c1 = broker_cpu();
	s1 = bench_self_cpu_s();
	clients_close(&l, NULL, -1);
	for (i = 0; i < opt.pubs; i++)
		lost += topics[i].lost;
	printf("mode=tput rate=%.0f recv=%llu sent=%llu secs=%.3f "
	    "broker_cpu=%.0f self_cpu=%.0f stalls=%llu lost=%llu\n",
	    (r1 - r0) / (t1 - t0), (unsigned long long)(r1 - r0),
	    (unsigned long long)(p1 - p0), t1 - t0,
	    c0 >= 0 && c1 >= 0 ? 100 * (c1 - c0) / (t1 - t0) : -1,
	    100 * (s1 - s0) / (t1 - t0), (unsigned long long)stalls,
	    (unsigned long long)lost);
	return 0;
}

/* --- latency --------------------------------------------------------- */

/* The timer fired: send one PUBLISH per period elapsed (catch up). */
void
latency_tick(struct conn *pub, int tfd)
{
	uint64_t n;

	if (read(tfd, &n, sizeof(n)) != sizeof(n))
		return;
	if (!publishing || pub == NULL || pub->state != C_READY)
		return;
	if (n > 100)
		n = 100;
	while (n-- > 0)
		publish_one(pub);
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static double
percentile_us(double q)
{
	size_t i = (size_t)(q * (nsamples - 1) + 0.5);

	return samples[i] / 1e3;
}

int
mode_latency(void)
{
	struct loop l;
	struct itimerspec its;
	struct epoll_event ev;
	uint64_t expected;
	int tfd;

	opt.pubs = opt.subs = 1;
	opt.qos = 0;
	if (opt.size < sizeof(int64_t))
		opt.size = sizeof(int64_t);
	max_samples = (size_t)(opt.rate * (opt.time + 1)) + 1024;
	if ((samples = calloc(max_samples, sizeof(*samples))) == NULL)
		die("out of memory");
	loop_init(&l, 0, 0);
	topics_init();
	clients_open(&l);
	if ((tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
	    TFD_CLOEXEC)) == -1)
		die("timerfd_create: %s", strerror(errno));
	memset(&its, 0, sizeof(its));
	its.it_interval.tv_nsec = 1000000000L / opt.rate;
	its.it_value = its.it_interval;
	if (timerfd_settime(tfd, 0, &its, NULL) == -1)
		die("timerfd_settime: %s", strerror(errno));
	ev.events = EPOLLIN;
	ev.data.ptr = &timer_tag;
	if (epoll_ctl(l.ep, EPOLL_CTL_ADD, tfd, &ev) == -1)
		die("epoll_ctl: %s", strerror(errno));
	publishing = true;
	measure_from_ns = now_ns() + (int64_t)(opt.warmup * 1e9);
	run_until(&l, bench_now_s() + opt.warmup + opt.time, topics[0].pub, tfd);
	clients_close(&l, topics[0].pub, tfd);
	if (nsamples == 0)
		die("no message arrived");
	qsort(samples, nsamples, sizeof(*samples), cmp_i64);
	expected = (uint64_t)(opt.rate * opt.time);
	printf("mode=latency p50_us=%.1f p99_us=%.1f p999_us=%.1f "
	    "max_us=%.1f samples=%zu expected=%llu\n", percentile_us(0.50),
	    percentile_us(0.99), percentile_us(0.999),
	    percentile_us(1.0), nsamples, (unsigned long long)expected);
	return 0;
}
