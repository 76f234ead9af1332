/*
 * psk_hs.c: TLS-PSK connections per second against one MQTT broker, for
 * tests/bench/psk_bench.sh.
 *
 * Each thread runs full connections back to back, never resuming: TCP
 * connect, a TLS 1.2 PSK-AES128-GCM-SHA256 or TLS 1.3 external-PSK
 * (TLS_AES_128_GCM_SHA256) handshake, MQTT CONNECT, the CONNACK (which
 * proves the server finished its side), DISCONNECT, close.  Identities
 * come from the broker's own identity file and rotate, so the server
 * looks a different one up each time.  A connection counts only if the
 * PSK was really used and the CONNACK says 0.
 *
 *	psk_hs -p PORT -f FILE -v 1.2|1.3 [-c THREADS] [-t SECONDS]
 *	    [-w WARMUP] [-n COUNT] [-P PID]
 *
 * -n COUNT runs COUNT connections in all, counted from the first (no
 * warm-up), and ends when they are done or -t is up: a fixed amount of
 * work, for counting a server's instructions under valgrind.  -P PID:
 * the server, whose CPU use over the measured seconds is reported
 * (percent of one core).
 *
 * Prints one line of "key value" pairs, as tests/bench/tls_hs does:
 *	rate R ok N failed F seconds S server_cpu C client_cpu C
 * (server_cpu "-" without -P) and exits 0 when something succeeded and
 * nothing failed.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <err.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "bench_client.h"

#define MAX_IDS		1000000
#define MAX_THREADS	64

struct ident {
	char		 id[129];
	uint8_t		 key[64];
	size_t		 keylen;
	SSL_SESSION	*sess;		/* TLS 1.3: the external PSK */
};

static struct ident	*ids;
static size_t		 nids;
static int		 port, version = TLS1_2_VERSION;
static atomic_bool	 counting, stopping;
static atomic_ulong	 next_id, ok, failed, started;
static unsigned long	 opt_n;		/* -n: connections in all */
static pid_t		 server_pid;	/* -P */
static int		 ex_idx;

static void
usage(void)
{
	fprintf(stderr, "usage: psk_hs -p PORT -f FILE -v 1.2|1.3 "
	    "[-c THREADS] [-t SECONDS] [-w WARMUP] [-n COUNT] [-P PID]\n");
	exit(2);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "identity:hex" lines, as staplemq and mosquitto read them. */
static void
load_ids(const char *path)
{
	FILE	*fp;
	char	 line[512], *sep, *h;
	size_t	 i, cap = 1024;

	if ((fp = fopen(path, "r")) == NULL)
		err(1, "%s", path);
	if ((ids = calloc(cap, sizeof(*ids))) == NULL)
		err(1, "calloc");
	while (fgets(line, sizeof(line), fp) != NULL && nids < MAX_IDS) {
		line[strcspn(line, "\r\n")] = '\0';
		if ((sep = strchr(line, ':')) == NULL ||
		    (size_t)(sep - line) >= sizeof(ids->id))
			continue;
		if (nids == cap) {
			cap *= 2;
			if ((ids = realloc(ids, cap * sizeof(*ids))) == NULL)
				err(1, "realloc");
			memset(ids + nids, 0, (cap - nids) * sizeof(*ids));
		}
		memcpy(ids[nids].id, line, (size_t)(sep - line));
		for (h = sep + 1, i = 0; h[0] && h[1] && i < 64; h += 2, i++)
			ids[nids].key[i] = (uint8_t)(hexval(h[0]) << 4 |
			    hexval(h[1]));
		ids[nids].keylen = i;
		nids++;
	}
	fclose(fp);
	if (nids == 0)
		errx(1, "%s: no identities", path);
}

static unsigned int
psk12_cb(SSL *ssl, const char *hint, char *id, unsigned int max_id,
    unsigned char *psk, unsigned int max_psk)
{
	struct ident	*e = SSL_get_ex_data(ssl, ex_idx);

	(void)hint;
	if (e == NULL || strlen(e->id) >= max_id || e->keylen > max_psk)
		return 0;
	strcpy(id, e->id);
	memcpy(psk, e->key, e->keylen);
	return (unsigned int)e->keylen;
}

static int
psk13_cb(SSL *ssl, const EVP_MD *md, const unsigned char **id,
    size_t *idlen, SSL_SESSION **sess)
{
	struct ident	*e = SSL_get_ex_data(ssl, ex_idx);

	*sess = NULL;
	if (e == NULL || (md != NULL && md != EVP_sha256()))
		return 1;
	SSL_SESSION_up_ref(e->sess);
	*id = (const unsigned char *)e->id;
	*idlen = strlen(e->id);
	*sess = e->sess;
	return 1;
}

/* TLS 1.3 external PSKs, built once: SHA-256, as RFC 8446 defaults. */
static void
make_sessions(SSL_CTX *ctx)
{
	static const unsigned char aes128[] = { 0x13, 0x01 };
	const SSL_CIPHER	*c;
	SSL			*ssl;
	size_t			 i;

	if ((ssl = SSL_new(ctx)) == NULL ||
	    (c = SSL_CIPHER_find(ssl, aes128)) == NULL)
		errx(1, "TLS_AES_128_GCM_SHA256 missing");
	for (i = 0; i < nids; i++)
		if ((ids[i].sess = SSL_SESSION_new()) == NULL ||
		    !SSL_SESSION_set1_master_key(ids[i].sess, ids[i].key,
		    ids[i].keylen) ||
		    !SSL_SESSION_set_cipher(ids[i].sess, c) ||
		    !SSL_SESSION_set_protocol_version(ids[i].sess,
		    TLS1_3_VERSION))
			errx(1, "SSL_SESSION for %s", ids[i].id);
	SSL_free(ssl);
}

static SSL_CTX *
make_ctx(void)
{
	SSL_CTX	*ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		errx(1, "SSL_CTX_new");
	SSL_CTX_set_min_proto_version(ctx, version);
	SSL_CTX_set_max_proto_version(ctx, version);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	/* Full handshakes only: nothing to resume. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	if (version == TLS1_2_VERSION) {
		if (!SSL_CTX_set_cipher_list(ctx, "PSK-AES128-GCM-SHA256"))
			errx(1, "PSK-AES128-GCM-SHA256 missing");
		SSL_CTX_set_psk_client_callback(ctx, psk12_cb);
	} else {
		if (!SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256"))
			errx(1, "TLS_AES_128_GCM_SHA256 missing");
		SSL_CTX_set_psk_use_session_callback(ctx, psk13_cb);
		make_sessions(ctx);
	}
	return ctx;
}

static int
read_full(SSL *ssl, uint8_t *buf, size_t len)
{
	size_t	 got = 0;
	int	 n;

	while (got < len) {
		if ((n = SSL_read(ssl, buf + got, (int)(len - got))) <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/* One full connection; 0 when it worked end to end. */
static int
one(SSL_CTX *ctx, unsigned thread, unsigned long n)
{
	struct sockaddr_in	 sin;
	struct ident		*e;
	struct timeval		 tmo = { 30, 0 };
	uint8_t			 pkt[64], ack[4];
	size_t			 len;
	SSL			*ssl = NULL;
	int			 fd, on = 1, rc = -1;

	e = &ids[atomic_fetch_add(&next_id, 1) % nids];
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	/* A server that stops answering ends the connection, not the run. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		goto done;
	if ((ssl = SSL_new(ctx)) == NULL || !SSL_set_fd(ssl, fd) ||
	    !SSL_set_ex_data(ssl, ex_idx, e) || SSL_connect(ssl) != 1)
		goto done;
	/* The PSK, not a certificate, must have carried the handshake. */
	if (version == TLS1_3_VERSION ? !SSL_session_reused(ssl) :
	    strncmp(SSL_get_cipher_name(ssl), "PSK-", 4) != 0)
		goto done;
	/* CONNECT, client id "pT-N". */
	len = bench_mqtt_connect(pkt, sizeof(pkt), 'p', thread, n);
	if (SSL_write(ssl, pkt, (int)len) != (int)len ||
	    read_full(ssl, ack, sizeof(ack)) == -1 || ack[0] != 0x20 ||
	    ack[3] != 0)
		goto done;
	(void)SSL_write(ssl, "\xe0\0", 2);
	rc = 0;
done:
	SSL_free(ssl);
	close(fd);
	ERR_clear_error();
	return rc;
}

static void *
worker(void *arg)
{
	unsigned	 thread = (unsigned)(uintptr_t)arg;
	unsigned long	 n;
	SSL_CTX		*ctx = make_ctx();
	int		 rc;

	for (n = 0; !atomic_load(&stopping); n++) {
		if (opt_n > 0 && atomic_fetch_add(&started, 1) >= opt_n)
			break;
		rc = one(ctx, thread, n);
		if (!atomic_load(&counting))
			continue;
		if (rc == 0)
			atomic_fetch_add(&ok, 1);
		else
			atomic_fetch_add(&failed, 1);
	}
	SSL_CTX_free(ctx);
	return NULL;
}

int
main(int argc, char **argv)
{
	pthread_t	 th[MAX_THREADS];
	const char	*file = NULL;
	double		 secs = 3, warm = 1, took, t0, c0, c1;
	unsigned long long k0, k1;
	int		 ch, threads = 1, i;

	while ((ch = getopt(argc, argv, "c:f:n:p:t:v:w:P:")) != -1) {
		switch (ch) {
		case 'c':
			threads = atoi(optarg);
			break;
		case 'f':
			file = optarg;
			break;
		case 'n':
			opt_n = strtoul(optarg, NULL, 10);
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'P':
			server_pid = (pid_t)atoi(optarg);
			break;
		case 't':
			secs = atof(optarg);
			break;
		case 'v':
			if (strcmp(optarg, "1.3") == 0)
				version = TLS1_3_VERSION;
			else if (strcmp(optarg, "1.2") != 0)
				usage();
			break;
		case 'w':
			warm = atof(optarg);
			break;
		default:
			usage();
		}
	}
	if (file == NULL || port <= 0 || port > 65535 || threads < 1 ||
	    threads > MAX_THREADS || secs <= 0 || warm < 0)
		usage();
	load_ids(file);
	if ((ex_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL)) == -1)
		errx(1, "SSL_get_ex_new_index");
	if (opt_n > 0) {
		/* A fixed amount of work: everything counts. */
		warm = 0;
		atomic_store(&counting, true);
	}
	for (i = 0; i < threads; i++)
		if (pthread_create(&th[i], NULL, worker,
		    (void *)(uintptr_t)i) != 0)
			errx(1, "pthread_create");
	bench_sleep_s(warm);
	k0 = bench_proc_ticks(&server_pid, server_pid > 0);
	c0 = bench_self_cpu_s();
	t0 = bench_now_s();
	atomic_store(&counting, true);
	if (opt_n > 0) {
		while (atomic_load(&ok) + atomic_load(&failed) < opt_n &&
		    bench_now_s() - t0 < secs)
			bench_sleep_s(0.01);
	} else
		bench_sleep_s(secs);
	atomic_store(&counting, false);
	took = bench_now_s() - t0;
	k1 = bench_proc_ticks(&server_pid, server_pid > 0);
	c1 = bench_self_cpu_s();
	atomic_store(&stopping, true);
	for (i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	printf("rate %.1f ok %lu failed %lu seconds %.2f ",
	    (double)atomic_load(&ok) / took, atomic_load(&ok),
	    atomic_load(&failed), took);
	bench_print_cpu(server_pid > 0, k1 - k0, c1 - c0, took);
	return atomic_load(&ok) > 0 && atomic_load(&failed) == 0 ? 0 : 1;
}
