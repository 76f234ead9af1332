/*
 * mqtt_bench_client.h: the MQTT client engine of tests/bench/mqtt_bench:
 * MQTT 3.1.1 connections over TCP or TLS 1.3 on an epoll loop with
 * non-blocking sockets, packets built and parsed by the broker's codec
 * (broker/mqtt_codec.c).  The scenarios (mqtt_bench_msgs.c,
 * mqtt_bench_conns.c) drive it and give it the hooks declared at the end.
 */
#ifndef MQTT_BENCH_CLIENT_H
#define MQTT_BENCH_CLIENT_H

#include <sys/queue.h>
#include <sys/types.h>
#include <netinet/in.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "mqtt_codec.h"

#define BENCH_EVENTS		512	/* epoll events per wait */
#define BENCH_READ_CHUNK	16384	/* one TLS record */
#define BENCH_READ_BUDGET	(1024 * 1024)	/* per wake-up */
#define BENCH_OUT_HIGH		(256 * 1024)	/* publisher stops above */
#define BENCH_STALL_SECS	1.0	/* no delivery: count as lost */
#define BENCH_SETUP_SECS	60.0	/* connecting and subscribing */
#define BENCH_IDLE_SECS		180.0	/* opening the idle connections */
#define BENCH_MAX_THREADS	16
#define BENCH_KEEPALIVE		60

enum mode { M_TPUT, M_LATENCY, M_HANDSHAKE, M_IDLE };

enum conn_state {
	C_CONNECTING,		/* TCP connect in progress */
	C_TLS,			/* TLS handshake */
	C_CONNACK,		/* CONNECT sent */
	C_SUBACK,		/* SUBSCRIBE sent */
	C_READY,
	C_CLOSING,		/* DISCONNECT sent, reading until EOF */
	C_DEAD,			/* closed, freed at the end of the turn */
};

enum conn_role { R_PUB, R_SUB, R_PROBE };

/* A contiguous byte buffer: data at p[off .. off + len). */
struct buf {
	uint8_t		*p;
	size_t		 off;
	size_t		 len;
	size_t		 cap;
};

/* One topic of the throughput mode: a publisher and its subscribers. */
struct topic {
	char		 name[64];
	size_t		 name_len;
	struct conn	*pub;
	unsigned	 nsubs;
	uint64_t	 sent;		/* PUBLISHes written */
	uint64_t	 delivered;	/* PUBLISHes its subscribers got */
	uint64_t	 lost;		/* deliveries given up on */
	double		 last_progress;
};

struct loop;

struct conn {
	struct loop	*loop;
	int		 fd;
	SSL		*ssl;
	enum conn_state	 state;
	enum conn_role	 role;
	struct topic	*topic;
	unsigned	 idx;
	uint32_t	 armed;		/* epoll events registered */
	int		 err;		/* connect(2) failed at once */
	bool		 want_write;	/* TLS needs the socket writable */
	bool		 dirty;
	LIST_ENTRY(conn) entry;		/* the loop's list of all */
	struct conn	*next_dirty;
	struct conn	*next_dead;
	struct buf	 in, out;
	unsigned	 unacked;	/* QoS 1 PUBLISHes without PUBACK */
	uint16_t	 next_id;
};

/*
 * One event loop.  Only the handshake mode runs several (one per
 * thread); the counters the main thread reads meanwhile are atomic.
 */
struct loop {
	unsigned	 id;		/* thread number */
	int		 ep;
	LIST_HEAD(, conn) all;		/* every conn not yet freed */
	struct conn	*dirty;		/* output to flush this turn */
	struct conn	*dead;		/* to free at the end of the turn */
	unsigned	 slots;		/* idle: connections to open in all */
	unsigned	 inprogress;	/* opened and not yet ready */
	unsigned	 nready;
	unsigned	 nclosing;
	unsigned	 opened;
	bool		 no_more;	/* socket() failed: fd limit */
	_Atomic bool	 stop;
	_Atomic uint64_t done;		/* handshakes completed */
	_Atomic uint64_t failed;
	pthread_t	 thread;
};

struct opts {
	enum mode	 mode;
	const char	*host;
	int		 port;
	bool		 tls;
	unsigned	 pubs;
	unsigned	 subs;
	uint8_t		 qos;
	size_t		 size;
	double		 time;
	double		 warmup;
	unsigned	 window;
	unsigned	 e2e;
	unsigned	 rate;
	unsigned	 conc;
	unsigned	 conns;
	unsigned	 threads;
	uint16_t	 keepalive;
	pid_t		 pid;
};

/* mqtt_bench_client.c: the options, the TLS context, the broker. */
extern struct opts	 opt;
extern SSL_CTX		*ctx;
extern struct sockaddr_in addr;
extern unsigned long	 run_id;
extern int		 timer_tag;	/* epoll data of the latency timer */

void		 die(const char *, ...)
		    __attribute__((format(printf, 1, 2), noreturn));
void		 warnlimit(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
int64_t		 now_ns(void);
double		 broker_cpu(void);
long		 broker_rss_kb(void);
void		 tls_init(void);
struct conn	*conn_open(struct loop *, enum conn_role, struct topic *,
		    unsigned);
void		 conn_publish(struct conn *, const uint8_t *, size_t, bool);
void		 conn_close(struct conn *, bool);
void		 conn_destroy(struct conn *);
void		 loop_init(struct loop *, unsigned, unsigned);
void		 loop_once(struct loop *, int, struct conn *, int);
void		 loop_end_turn(struct loop *);
void		 loop_close_all(struct loop *);

/* The scenarios' hooks, called by the engine. */
/* mqtt_bench_msgs.c */
void		 mode_publish(struct conn *, const struct mqtt_publish *);
void		 tput_pump(void);
void		 latency_tick(struct conn *, int);
/* mqtt_bench_conns.c */
void		 mode_ready(struct conn *);
void		 mode_failed(struct conn *);

#endif /* MQTT_BENCH_CLIENT_H */
