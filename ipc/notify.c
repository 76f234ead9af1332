/*
 * notify.c: the nng side of ipc_proto.h.  fetcherd publishes a note with
 * the generation it just published; the broker subscribes and watches the
 * socket's receive fd, so nothing blocks either daemon.  fetcherd also
 * answers requests on a REP socket: pings, so that tools and tests can ask
 * it which generation is current, and the broker's requests to fetch a
 * CRL or a client certificate's OCSP status, which fetcherd answers at
 * once with a status while the data follows in a snapshot.
 *
 * The data itself lives in the snapshot file: a lost note costs only
 * latency (the broker also looks at the file once a second), so notes are
 * neither retried nor acknowledged.  A fetch request is resent by nng
 * until it is answered.  What arrives is checked byte for byte before it
 * is believed, in both directions.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "log.h"
#include "notify.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
    "IPC messages are little-endian; this code encodes host order");

#define SUN_PATH_LEN	sizeof(((struct sockaddr_un *)0)->sun_path)
#define NOTIFY_MODE	0660	/* the broker's group may connect */
#define NOTIFY_REQ_REDIAL_MIN_MS 100	/* then doubling, up to: */
#define NOTIFY_REQ_REDIAL_MAX_MS 1000

/* An ipc:// endpoint: the socket file and the URL naming it. */
struct notify_addr {
	char	 path[SUN_PATH_LEN];
	char	 url[sizeof("ipc://") + SUN_PATH_LEN];
};

struct notify_pub {
	nng_socket		 sock;
	struct notify_addr	 addr;
	int			 listening; /* addr.path is ours to unlink */
};

struct notify_sub {
	nng_socket		 sock;
	int			 fd;	/* nng's, not ours to close */
};

struct notify_rep {
	nng_socket		 sock;
	int			 fd;	/* nng's, not ours to close */
	struct notify_addr	 addr;
	int			 listening; /* addr.path is ours to unlink */
};

/*
 * The broker's end of the request socket.  busy is the broker thread's
 * alone; send_failed is set by nng's thread (notify_req_sent_cb).
 */
struct notify_req {
	nng_socket		 sock;
	nng_aio			*aio;	/* sends while fetcherd is away */
	int			 fd;	/* nng's, not ours to close */
	int			 busy;	/* a request awaits its reply */
	atomic_int		 send_failed;
	struct notify_addr	 addr;
};

static size_t	 ipc_type_size(int);
static void	 ipc_hdr_fill(struct ipc_hdr *, enum ipc_type, size_t);
static size_t	 ipc_msg_encode(void *, size_t, enum ipc_type, uint64_t);
static int	 ipc_status_known(uint32_t);
static int	 ipc_url_ok(const uint8_t *, size_t);
static int	 ipc_check_fetch(const uint8_t *, size_t, int, const char **);
static int	 ipc_check_status(const uint8_t *, const char **);
static size_t	 ipc_chain_sizes(X509 *, STACK_OF(X509) *,
		    int[IPC_MAX_CHAIN_CERTS]);
static int	 notify_addr(struct notify_addr *, const char *, const char *);
static int	 notify_unlink_stale(const char *);
static int	 notify_listen(nng_socket, const struct notify_addr *);
static int	 notify_recv(nng_socket, const char *, enum ipc_type,
		    uint64_t *);
static void	 notify_req_sent_cb(void *);
static int	 notify_rep_one(struct notify_rep *, uint64_t,
		    uint32_t (*)(void *, int, const void *, size_t), void *);

/* --- pure encoding and checking ------------------------------------------ */

/*
 * The size of a message of this type: exact, or for a fetch request the
 * fixed part, which ipc_check_fetch() completes.  0 for an unknown type.
 */
static size_t
ipc_type_size(int type)
{
	switch (type) {
	case IPC_NOTE_PUBLISHED:
		return sizeof(struct ipc_note_published);
	case IPC_REQ_PING:
		return sizeof(struct ipc_hdr);
	case IPC_REQ_CRL:
	case IPC_REQ_OCSP:
		return sizeof(struct ipc_req_fetch);
	case IPC_REP_PONG:
		return sizeof(struct ipc_rep_pong);
	case IPC_REP_STATUS:
		return sizeof(struct ipc_rep_status);
	default:
		return 0;
	}
}

static void
ipc_hdr_fill(struct ipc_hdr *h, enum ipc_type type, size_t length)
{
	memset(h, 0, sizeof(*h));
	h->magic = IPC_MAGIC;
	h->version = IPC_VERSION;
	h->type = (uint16_t)type;
	h->length = (uint32_t)length;
}

/* A header plus, for the types that carry one, a generation. */
static size_t
ipc_msg_encode(void *buf, size_t len, enum ipc_type type, uint64_t generation)
{
	struct ipc_hdr	 h;
	size_t		 sz = ipc_type_size(type);

	if (sz == 0 || len < sz)
		return 0;
	ipc_hdr_fill(&h, type, sz);
	/* memcpy: buf need not be aligned. */
	memcpy(buf, &h, sizeof(h));
	if (sz > sizeof(h))
		memcpy((uint8_t *)buf + sizeof(h), &generation,
		    sizeof(generation));
	return sz;
}

/* Returns sizeof(struct ipc_note_published), or 0 if len is too small. */
size_t
ipc_note_encode(void *buf, size_t len, uint64_t generation)
{
	return ipc_msg_encode(buf, len, IPC_NOTE_PUBLISHED, generation);
}

static int
ipc_status_known(uint32_t status)
{
	switch (status) {
	case IPC_ST_ACCEPTED:
	case IPC_ST_REFUSED:
	case IPC_ST_RATE_LIMITED:
	case IPC_ST_MALFORMED:
		return 1;
	default:
		return 0;
	}
}

size_t
ipc_rep_status_encode(void *buf, size_t len, uint32_t status)
{
	struct ipc_rep_status	 r;

	if (len < sizeof(r) || !ipc_status_known(status))
		return 0;
	memset(&r, 0, sizeof(r));
	ipc_hdr_fill(&r.hdr, IPC_REP_STATUS, sizeof(r));
	r.status = status;
	memcpy(buf, &r, sizeof(r));
	return sizeof(r);
}

uint32_t
ipc_msg_status(const void *buf)
{
	struct ipc_rep_status	 r;

	memcpy(&r, buf, sizeof(r));
	return r.status;
}

/*
 * A URL as fetcherd may log and fetch it: printable ASCII, no space.  A
 * URL in a certificate is percent-encoded, so nothing real is refused,
 * and no request can put a line break or a NUL into a log line.
 */
static int
ipc_url_ok(const uint8_t *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (p[i] < 0x21 || p[i] > 0x7e)
			return 0;
	return 1;
}

/*
 * The variable part of a fetch request of len bytes (len is at least the
 * fixed part).  Sizes are added in 64 bits, so no field can wrap the sum;
 * the walk of the chain reads each 4-byte length only once it knows the
 * 4 bytes are there, and ends exactly at chain_len or fails.
 */
static int
ipc_check_fetch(const uint8_t *buf, size_t len, int type, const char **why)
{
	struct ipc_req_fetch	 f;
	const uint8_t		*chain;
	uint32_t		 n;
	size_t			 off = 0, ncerts = 0;

	memcpy(&f, buf, sizeof(f));
	if (f.url_len > IPC_MAX_URL) {
		*why = "URL too long";
		return -1;
	}
	if (type == IPC_REQ_CRL && f.url_len == 0) {
		*why = "CRL request without a URL";
		return -1;
	}
	if (f.chain_len == 0) {
		*why = "no certificate";
		return -1;
	}
	if ((uint64_t)sizeof(f) + f.url_len + f.chain_len != len) {
		*why = "url_len and chain_len do not add up to the message "
		    "size";
		return -1;
	}
	if (!ipc_url_ok(buf + sizeof(f), f.url_len)) {
		*why = "URL with a byte that is not printable ASCII";
		return -1;
	}
	chain = buf + sizeof(f) + f.url_len;
	while (off < f.chain_len) {
		if (++ncerts > IPC_MAX_CHAIN_CERTS) {
			*why = "more certificates than IPC_MAX_CHAIN_CERTS";
			return -1;
		}
		if (f.chain_len - off < sizeof(n)) {
			*why = "certificate length cut short";
			return -1;
		}
		memcpy(&n, chain + off, sizeof(n));
		off += sizeof(n);
		if (n == 0) {
			*why = "empty certificate";
			return -1;
		}
		if (n > f.chain_len - off) {
			*why = "certificate past the end of the chain";
			return -1;
		}
		off += n;
	}
	return 0;
}

static int
ipc_check_status(const uint8_t *buf, const char **why)
{
	struct ipc_rep_status	 r;

	memcpy(&r, buf, sizeof(r));
	if (r.reserved != 0) {
		*why = "status reserved field not zero";
		return -1;
	}
	if (!ipc_status_known(r.status)) {
		*why = "unknown status";
		return -1;
	}
	return 0;
}

/*
 * The header is copied out before it is looked at, so buf need not be
 * aligned, and nothing past len is read.  *why is a string constant, or
 * for a version mismatch a per-thread buffer that the next call in the
 * same thread overwrites.
 */
int
ipc_msg_check(const void *buf, size_t len, const char **why)
{
	static _Thread_local char	 vwhy[48];
	struct ipc_hdr			 h;
	const char			*ignored;
	size_t				 sz;

	if (why == NULL)
		why = &ignored;
	if (len < sizeof(h)) {
		*why = "too short";
		return -1;
	}
	if (len > IPC_MAX_MSG) {
		*why = "too long";
		return -1;
	}
	memcpy(&h, buf, sizeof(h));
	if (h.magic != IPC_MAGIC) {
		*why = "bad magic";
		return -1;
	}
	if (h.version != IPC_VERSION) {
		snprintf(vwhy, sizeof(vwhy), "version %u, expected %d",
		    (unsigned int)h.version, IPC_VERSION);
		*why = vwhy;
		return -1;
	}
	if (h.reserved != 0) {
		*why = "reserved field not zero";
		return -1;
	}
	if (h.length != len) {
		*why = "length field differs from the message size";
		return -1;
	}
	if ((sz = ipc_type_size(h.type)) == 0) {
		*why = "unknown type";
		return -1;
	}
	if (h.type == IPC_REQ_CRL || h.type == IPC_REQ_OCSP) {
		if (len < sz) {
			*why = "too short for its type";
			return -1;
		}
		if (ipc_check_fetch(buf, len, h.type, why) == -1)
			return -1;
	} else if (len != sz) {
		*why = "wrong size for its type";
		return -1;
	} else if (h.type == IPC_REP_STATUS &&
	    ipc_check_status(buf, why) == -1)
		return -1;
	*why = NULL;
	return h.type;
}

uint64_t
ipc_msg_generation(const void *buf)
{
	uint64_t	 g;

	memcpy(&g, (const uint8_t *)buf + sizeof(struct ipc_hdr), sizeof(g));
	return g;
}

/*
 * The DER sizes of the chain's certificates into der_len[], and their
 * count; 0 if there are too many or one cannot be encoded.
 */
static size_t
ipc_chain_sizes(X509 *leaf, STACK_OF(X509) *rest,
    int der_len[IPC_MAX_CHAIN_CERTS])
{
	size_t	 n, i;

	n = 1 + (rest != NULL ? (size_t)sk_X509_num(rest) : 0);
	if (leaf == NULL || n > IPC_MAX_CHAIN_CERTS)
		return 0;
	for (i = 0; i < n; i++)
		if ((der_len[i] = i2d_X509(i == 0 ? leaf :
		    sk_X509_value(rest, (int)i - 1), NULL)) <= 0)
			return 0;
	return n;
}

/*
 * The whole size is known before a byte is written, so a request that
 * does not fit leaves buf as it was.
 */
size_t
ipc_req_fetch_encode(uint8_t *buf, size_t len, enum ipc_type type,
    const char *url, X509 *leaf, STACK_OF(X509) *rest)
{
	struct ipc_req_fetch	 f;
	unsigned char		*p;
	int			 der_len[IPC_MAX_CHAIN_CERTS];
	uint32_t		 n32;
	size_t			 ulen, n, i, off, total;

	ulen = url != NULL ? strlen(url) : 0;
	if ((type != IPC_REQ_CRL && type != IPC_REQ_OCSP) ||
	    (type == IPC_REQ_CRL && ulen == 0) || ulen > IPC_MAX_URL ||
	    !ipc_url_ok((const uint8_t *)url, ulen))
		return 0;
	if ((n = ipc_chain_sizes(leaf, rest, der_len)) == 0)
		return 0;
	total = sizeof(f) + ulen;
	for (i = 0; i < n; i++)
		total += sizeof(n32) + (size_t)der_len[i];
	if (total > len || total > IPC_MAX_MSG)
		return 0;

	memset(&f, 0, sizeof(f));
	ipc_hdr_fill(&f.hdr, type, total);
	f.url_len = (uint32_t)ulen;
	f.chain_len = (uint32_t)(total - sizeof(f) - ulen);
	memcpy(buf, &f, sizeof(f));
	if (ulen > 0)
		memcpy(buf + sizeof(f), url, ulen);
	off = sizeof(f) + ulen;
	for (i = 0; i < n; i++) {
		n32 = (uint32_t)der_len[i];
		memcpy(buf + off, &n32, sizeof(n32));
		off += sizeof(n32);
		p = buf + off;
		/* Same certificate, same size as measured above. */
		if (i2d_X509(i == 0 ? leaf : sk_X509_value(rest, (int)i - 1),
		    &p) != der_len[i])
			return 0;
		off += (size_t)der_len[i];
	}
	return total;
}

int
ipc_req_fetch_decode(const void *msg, size_t len, const char **url,
    size_t *url_len, STACK_OF(X509) **chain)
{
	struct ipc_req_fetch	 f;
	const uint8_t		*b = msg, *c, *p;
	STACK_OF(X509)		*sk = NULL;
	X509			*x;
	uint32_t		 n;
	size_t			 off;
	int			 type;

	*chain = NULL;
	*url = NULL;
	*url_len = 0;
	type = ipc_msg_check(msg, len, NULL);
	if (type != IPC_REQ_CRL && type != IPC_REQ_OCSP)
		return -1;
	memcpy(&f, msg, sizeof(f));
	if ((sk = sk_X509_new_null()) == NULL)
		goto fail;
	/* ipc_msg_check() walked this chain: every length is inside. */
	c = b + sizeof(f) + f.url_len;
	for (off = 0; off < f.chain_len; off += n) {
		memcpy(&n, c + off, sizeof(n));
		off += sizeof(n);
		p = c + off;
		if ((x = d2i_X509(NULL, &p, (long)n)) == NULL)
			goto fail;
		/* Pushed first, so that the stack owns it either way. */
		if (sk_X509_push(sk, x) == 0) {
			X509_free(x);
			goto fail;
		}
		if (p != c + off + n)
			goto fail;
	}
	*url = f.url_len > 0 ? (const char *)(b + sizeof(f)) : NULL;
	*url_len = f.url_len;
	*chain = sk;
	return 0;

 fail:
	sk_X509_pop_free(sk, X509_free);
	ERR_clear_error();
	return -1;
}

/* --- endpoints ----------------------------------------------------------- */

static int
notify_addr(struct notify_addr *a, const char *dir, const char *name)
{
	int	 n;

	n = snprintf(a->path, sizeof(a->path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(a->path)) {
		log_warnx("%s/%s: path too long for a unix socket", dir, name);
		return -1;
	}
	snprintf(a->url, sizeof(a->url), "ipc://%s", a->path);
	return 0;
}

/*
 * nng refuses to listen where a socket file is left from a process that
 * died.  Remove it, but only if it is a socket and no one answers on it:
 * a second fetcherd must not steal the live one's endpoint.
 */
static int
notify_unlink_stale(const char *path)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	int			 s, rc;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		log_warn("lstat %s", path);
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		log_warnx("%s exists and is not a socket", path);
		return -1;
	}
	/* notify_addr() made path fit. */
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strnlen(path, sizeof(sun.sun_path) - 1));
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("socket");
		return -1;
	}
	rc = connect(s, (struct sockaddr *)&sun, sizeof(sun));
	close(s);
	if (rc == 0) {
		log_warnx("%s is in use by another process", path);
		return -1;
	}
	if (errno != ECONNREFUSED) {
		log_warn("connect %s", path);
		return -1;
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		log_warn("unlink %s", path);
		return -1;
	}
	log_debug("removed stale socket %s", path);
	return 0;
}

/*
 * Listen on a's socket file and give it mode 0660.  Who may connect is
 * decided by the socket file's mode and by the runtime directory's: the
 * chmod follows the bind, so the directory must not be open to others.
 */
static int
notify_listen(nng_socket sock, const struct notify_addr *a)
{
	int	 rv;

	if (notify_unlink_stale(a->path) == -1)
		return -1;
	if ((rv = nng_listen(sock, a->url, NULL, 0)) != 0) {
		log_warnx("listen %s: %s", a->url, nng_strerror(rv));
		return -1;
	}
	if (chmod(a->path, NOTIFY_MODE) == -1) {
		log_warn("chmod %s", a->path);
		/* Ours, just bound; the caller's close leaves it alone. */
		unlink(a->path);
		return -1;
	}
	return 0;
}

/* --- fetcherd: publisher ------------------------------------------------- */

struct notify_pub *
notify_pub_open(const char *runtime_dir)
{
	struct notify_pub	*p;
	int			 rv;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		log_warn("calloc");
		return NULL;
	}
	if (notify_addr(&p->addr, runtime_dir, IPC_NOTIFY_SOCK) == -1)
		goto fail;
	if ((rv = nng_pub0_open(&p->sock)) != 0) {
		log_warnx("%s: pub socket: %s", p->addr.url, nng_strerror(rv));
		goto fail;
	}
	if (notify_listen(p->sock, &p->addr) == -1)
		goto fail;
	p->listening = 1;
	return p;

 fail:
	notify_pub_close(p);
	return NULL;
}

/*
 * Send the note to every subscriber connected now.  A broker that is not
 * connected misses it and finds the file by itself, so this never waits.
 */
int
notify_publish(struct notify_pub *p, uint64_t generation)
{
	struct ipc_note_published	 note;
	int				 rv;

	ipc_note_encode(&note, sizeof(note), generation);
	if ((rv = nng_send(p->sock, &note, sizeof(note),
	    NNG_FLAG_NONBLOCK)) != 0) {
		log_warnx("%s: generation %" PRIu64 ": %s", p->addr.url,
		    generation, nng_strerror(rv));
		return -1;
	}
	return 0;
}

void
notify_pub_close(struct notify_pub *p)
{
	if (p == NULL)
		return;
	/* A socket id of 0 was never opened. */
	if (nng_socket_id(p->sock) > 0)
		nng_close(p->sock);
	/* Not if the open failed: the file may be another process's. */
	if (p->listening && unlink(p->addr.path) == -1 && errno != ENOENT)
		log_warn("unlink %s", p->addr.path);
	free(p);
}

/* --- broker: subscriber -------------------------------------------------- */

struct notify_sub *
notify_sub_open(const char *runtime_dir)
{
	struct notify_sub	*s;
	struct notify_addr	 a;
	int			 rv;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_warn("calloc");
		return NULL;
	}
	s->fd = -1;
	if (notify_addr(&a, runtime_dir, IPC_NOTIFY_SOCK) == -1)
		goto fail;
	if ((rv = nng_sub0_open(&s->sock)) != 0) {
		log_warnx("%s: sub socket: %s", a.url, nng_strerror(rv));
		goto fail;
	}
	/* A larger message is dropped by nng before it is buffered. */
	if ((rv = nng_socket_set(s->sock, NNG_OPT_SUB_SUBSCRIBE, "", 0)) != 0 ||
	    (rv = nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ,
	    IPC_MAX_MSG)) != 0 ||
	    (rv = nng_socket_get_int(s->sock, NNG_OPT_RECVFD, &s->fd)) != 0) {
		log_warnx("%s: socket options: %s", a.url, nng_strerror(rv));
		goto fail;
	}
	/* Non-blocking: nng redials in the background until it listens. */
	if ((rv = nng_dial(s->sock, a.url, NULL, NNG_FLAG_NONBLOCK)) != 0) {
		log_warnx("dial %s: %s", a.url, nng_strerror(rv));
		goto fail;
	}
	return s;

 fail:
	notify_sub_close(s);
	return NULL;
}

int
notify_sub_fd(struct notify_sub *s)
{
	return s->fd;
}

/*
 * Take one message of the expected type without waiting.  1 with *gen
 * set; 0 when none is waiting; -1 for a message that was dropped (logged).
 * A socket error other than "none waiting" is logged and reported as 0,
 * so a caller that loops until 0 cannot spin on it.
 */
static int
notify_recv(nng_socket sock, const char *what, enum ipc_type want,
    uint64_t *gen)
{
	const char	*why;
	void		*buf = NULL;
	size_t		 sz = 0;
	int		 rv, type;

	rv = nng_recv(sock, &buf, &sz, NNG_FLAG_ALLOC | NNG_FLAG_NONBLOCK);
	if (rv == NNG_EAGAIN)
		return 0;
	if (rv != 0) {
		log_warnx("%s: receive: %s", what, nng_strerror(rv));
		return 0;
	}
	if ((type = ipc_msg_check(buf, sz, &why)) == -1) {
		log_warnx("%s: dropped a message of %zu bytes: %s", what, sz,
		    why);
		goto fail;
	}
	if (type != (int)want) {
		log_warnx("%s: dropped a message of type %d, expected %d",
		    what, type, (int)want);
		goto fail;
	}
	if (gen != NULL)
		*gen = ipc_msg_generation(buf);
	nng_free(buf, sz);
	return 1;

 fail:
	nng_free(buf, sz);
	return -1;
}

int
notify_sub_recv(struct notify_sub *s, uint64_t *generation)
{
	return notify_recv(s->sock, "notify", IPC_NOTE_PUBLISHED, generation);
}

void
notify_sub_close(struct notify_sub *s)
{
	if (s == NULL)
		return;
	if (nng_socket_id(s->sock) > 0)
		nng_close(s->sock);
	free(s);
}

/* --- broker: requests ---------------------------------------------------- */

/*
 * A send that found no pipe (fetcherd not connected yet) went to nng on
 * q->aio; if it fails there (the socket closing, nng out of memory) its
 * message is freed here, in an nng thread, and send_failed tells the
 * broker's thread that no reply will come.
 */
static void
notify_req_sent_cb(void *arg)
{
	struct notify_req	*q = arg;

	if (nng_aio_result(q->aio) == 0)
		return;
	nng_msg_free(nng_aio_get_msg(q->aio));
	nng_aio_set_msg(q->aio, NULL);
	atomic_store(&q->send_failed, 1);
}

struct notify_req *
notify_req_open(const char *runtime_dir)
{
	struct notify_req	*q;
	int			 rv;

	if ((q = calloc(1, sizeof(*q))) == NULL) {
		log_warn("calloc");
		return NULL;
	}
	q->fd = -1;
	if (notify_addr(&q->addr, runtime_dir, IPC_REQUEST_SOCK) == -1)
		goto fail;
	if ((rv = nng_req0_open(&q->sock)) != 0) {
		log_warnx("%s: req socket: %s", q->addr.url, nng_strerror(rv));
		goto fail;
	}
	if ((rv = nng_aio_alloc(&q->aio, notify_req_sent_cb, q)) != 0) {
		log_warnx("%s: aio: %s", q->addr.url, nng_strerror(rv));
		goto fail;
	}
	nng_aio_set_timeout(q->aio, NNG_DURATION_INFINITE);
	/* Redial soon after fetcherd (re)starts: a handshake may wait. */
	if ((rv = nng_socket_set_ms(q->sock, NNG_OPT_REQ_RESENDTIME,
	    NOTIFY_REQ_RESEND_MS)) != 0 ||
	    (rv = nng_socket_set_ms(q->sock, NNG_OPT_RECONNMINT,
	    NOTIFY_REQ_REDIAL_MIN_MS)) != 0 ||
	    (rv = nng_socket_set_ms(q->sock, NNG_OPT_RECONNMAXT,
	    NOTIFY_REQ_REDIAL_MAX_MS)) != 0 ||
	    (rv = nng_socket_set_size(q->sock, NNG_OPT_RECVMAXSZ,
	    IPC_MAX_MSG)) != 0 ||
	    (rv = nng_socket_get_int(q->sock, NNG_OPT_RECVFD, &q->fd)) != 0) {
		log_warnx("%s: socket options: %s", q->addr.url,
		    nng_strerror(rv));
		goto fail;
	}
	if ((rv = nng_dial(q->sock, q->addr.url, NULL,
	    NNG_FLAG_NONBLOCK)) != 0) {
		log_warnx("dial %s: %s", q->addr.url, nng_strerror(rv));
		goto fail;
	}
	return q;

 fail:
	notify_req_close(q);
	return NULL;
}

int
notify_req_fd(struct notify_req *q)
{
	return q->fd;
}

/*
 * The usual case is a pipe to fetcherd that takes the request at once.
 * With none (fetcherd starting or restarting), a non-blocking send fails
 * with NNG_EAGAIN; the request then goes to nng through q->aio, which
 * sends it when fetcherd connects, so the caller sees the same "sent" and
 * waits for the reply as it would for a slow fetcherd.  Either way nng
 * resends it every NOTIFY_REQ_RESEND_MS until it is answered, and at once
 * on a new connection when the old one dropped: fetcherd may see a
 * request twice, and answers each.
 */
int
notify_req_send(struct notify_req *q, const void *msg, size_t len)
{
	nng_msg	*m = NULL;
	int	 rv;

	if (q->busy && atomic_exchange(&q->send_failed, 0)) {
		log_warnx("%s: the last request was never sent",
		    q->addr.url);
		q->busy = 0;
	}
	if (q->busy)
		return 1;
	rv = nng_send(q->sock, (void *)(uintptr_t)msg, len,
	    NNG_FLAG_NONBLOCK);
	if (rv == 0) {
		q->busy = 1;
		return 0;
	}
	if (rv != NNG_EAGAIN) {
		log_warnx("%s: send: %s", q->addr.url, nng_strerror(rv));
		return -1;
	}
	/*
	 * A send handed to q->aio before has completed by now; wait for
	 * its callback to have run before the aio is used again.
	 */
	nng_aio_wait(q->aio);
	if ((rv = nng_msg_alloc(&m, 0)) != 0 ||
	    (rv = nng_msg_append(m, msg, len)) != 0) {
		log_warnx("%s: message: %s", q->addr.url, nng_strerror(rv));
		nng_msg_free(m);
		return -1;
	}
	atomic_store(&q->send_failed, 0);
	nng_aio_set_msg(q->aio, m);
	nng_send_aio(q->sock, q->aio);
	q->busy = 1;
	log_debug("%s: not connected, request queued", q->addr.url);
	return 0;
}

/*
 * nng's REQ socket keeps only the reply to the request in flight (a late
 * reply to an older one is discarded by its id), so a reply taken here is
 * the answer to the last request sent.
 */
int
notify_req_recv(struct notify_req *q, uint32_t *status)
{
	const char	*why;
	void		*buf = NULL;
	size_t		 sz = 0;
	int		 rv, type, rc = -1;

	if (!q->busy)
		return 0;
	rv = nng_recv(q->sock, &buf, &sz, NNG_FLAG_ALLOC | NNG_FLAG_NONBLOCK);
	if (rv == NNG_EAGAIN)
		return 0;
	/* A reply or an error: either way this request is over. */
	q->busy = 0;
	if (rv != 0) {
		log_warnx("%s: receive: %s", q->addr.url, nng_strerror(rv));
		return -1;
	}
	if ((type = ipc_msg_check(buf, sz, &why)) == -1)
		log_warnx("%s: dropped a reply of %zu bytes: %s", q->addr.url,
		    sz, why);
	else if (type != IPC_REP_STATUS)
		log_warnx("%s: dropped a reply of type %d, expected %d",
		    q->addr.url, type, IPC_REP_STATUS);
	else {
		*status = ipc_msg_status(buf);
		rc = 1;
	}
	nng_free(buf, sz);
	return rc;
}

/*
 * The aio is stopped first: a pending send is cancelled and its message
 * freed by the callback before the socket and the aio go.
 */
void
notify_req_close(struct notify_req *q)
{
	if (q == NULL)
		return;
	if (q->aio != NULL)
		nng_aio_stop(q->aio);
	if (nng_socket_id(q->sock) > 0)
		nng_close(q->sock);
	nng_aio_free(q->aio);
	free(q);
}

/* --- fetcherd: requests -------------------------------------------------- */

struct notify_rep *
notify_rep_open(const char *runtime_dir)
{
	struct notify_rep	*r;
	int			 rv;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		log_warn("calloc");
		return NULL;
	}
	r->fd = -1;
	if (notify_addr(&r->addr, runtime_dir, IPC_REQUEST_SOCK) == -1)
		goto fail;
	if ((rv = nng_rep0_open(&r->sock)) != 0) {
		log_warnx("%s: rep socket: %s", r->addr.url, nng_strerror(rv));
		goto fail;
	}
	if ((rv = nng_socket_set_size(r->sock, NNG_OPT_RECVMAXSZ,
	    IPC_MAX_MSG)) != 0 ||
	    (rv = nng_socket_set_ms(r->sock, NNG_OPT_SENDTIMEO,
	    NOTIFY_REP_SEND_MS)) != 0 ||
	    (rv = nng_socket_get_int(r->sock, NNG_OPT_RECVFD, &r->fd)) != 0) {
		log_warnx("%s: socket options: %s", r->addr.url,
		    nng_strerror(rv));
		goto fail;
	}
	if (notify_listen(r->sock, &r->addr) == -1)
		goto fail;
	r->listening = 1;
	return r;

 fail:
	notify_rep_close(r);
	return NULL;
}

int
notify_rep_fd(struct notify_rep *r)
{
	return r->fd;
}

/*
 * Take one request and answer it.  1 answered; 0 none waiting (or a
 * receive error, logged: a caller looping until 0 cannot spin on it);
 * -1 the reply could not be sent (logged).
 */
static int
notify_rep_one(struct notify_rep *r, uint64_t gen,
    uint32_t (*handler)(void *, int, const void *, size_t), void *arg)
{
	union {
		struct ipc_rep_pong	pong;
		struct ipc_rep_status	status;
	}			 reply;
	const char		*why;
	void			*buf = NULL;
	size_t			 sz = 0, rlen;
	uint32_t		 st;
	int			 rv, type;

	rv = nng_recv(r->sock, &buf, &sz, NNG_FLAG_ALLOC | NNG_FLAG_NONBLOCK);
	if (rv == NNG_EAGAIN)
		return 0;
	if (rv != 0) {
		log_warnx("%s: receive: %s", r->addr.url, nng_strerror(rv));
		return 0;
	}
	switch ((type = ipc_msg_check(buf, sz, &why))) {
	case IPC_REQ_PING:
		rlen = ipc_msg_encode(&reply, sizeof(reply), IPC_REP_PONG, gen);
		break;
	case IPC_REQ_CRL:
	case IPC_REQ_OCSP:
		st = handler != NULL ? handler(arg, type, buf, sz) :
		    IPC_ST_REFUSED;
		if (!ipc_status_known(st)) {
			log_warnx("%s: handler answered %" PRIu32 ", not a "
			    "status: refused", r->addr.url, st);
			st = IPC_ST_REFUSED;
		}
		rlen = ipc_rep_status_encode(&reply, sizeof(reply), st);
		break;
	case -1:
		log_warnx("%s: malformed request of %zu bytes: %s",
		    r->addr.url, sz, why);
		rlen = ipc_rep_status_encode(&reply, sizeof(reply),
		    IPC_ST_MALFORMED);
		break;
	default:
		log_warnx("%s: a message of type %d is not a request",
		    r->addr.url, type);
		rlen = ipc_rep_status_encode(&reply, sizeof(reply),
		    IPC_ST_MALFORMED);
		break;
	}
	nng_free(buf, sz);
	/*
	 * Blocking, bounded by NNG_OPT_SENDTIMEO: a non-blocking send fails
	 * while nng still carries the previous reply (1 in ~300 measured).
	 */
	if ((rv = nng_send(r->sock, &reply, rlen, 0)) != 0) {
		log_warnx("%s: reply: %s", r->addr.url, nng_strerror(rv));
		return -1;
	}
	return 1;
}

/*
 * Answer the requests waiting, at most NOTIFY_REP_BATCH, without
 * blocking.  Returns the number of replies sent.
 */
int
notify_rep_poll(struct notify_rep *r, uint64_t current_generation,
    uint32_t (*handler)(void *, int, const void *, size_t), void *arg)
{
	int	 i, rc, answered = 0;

	for (i = 0; i < NOTIFY_REP_BATCH; i++) {
		if ((rc = notify_rep_one(r, current_generation, handler,
		    arg)) == 0)
			break;
		if (rc == 1)
			answered++;
	}
	return answered;
}

void
notify_rep_close(struct notify_rep *r)
{
	if (r == NULL)
		return;
	if (nng_socket_id(r->sock) > 0)
		nng_close(r->sock);
	if (r->listening && unlink(r->addr.path) == -1 && errno != ENOENT)
		log_warn("unlink %s", r->addr.path);
	free(r);
}

/* --- tools and tests: ping ----------------------------------------------- */

/*
 * Ask fetcherd for its current generation, waiting up to timeout_ms for
 * it to be there and to answer.  0 with *gen set, or -1 logged.
 */
int
notify_ping(const char *runtime_dir, int timeout_ms, uint64_t *gen)
{
	struct notify_addr	 a;
	struct ipc_hdr		 ping;
	nng_socket		 sock = NNG_SOCKET_INITIALIZER;
	const char		*why;
	void			*buf = NULL;
	size_t			 sz = 0;
	int			 rv, rc = -1;

	if (notify_addr(&a, runtime_dir, IPC_REQUEST_SOCK) == -1)
		return -1;
	if ((rv = nng_req0_open(&sock)) != 0) {
		log_warnx("%s: req socket: %s", a.url, nng_strerror(rv));
		return -1;
	}
	if ((rv = nng_socket_set_ms(sock, NNG_OPT_SENDTIMEO,
	    timeout_ms)) != 0 ||
	    (rv = nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO,
	    timeout_ms)) != 0 ||
	    (rv = nng_socket_set_size(sock, NNG_OPT_RECVMAXSZ,
	    IPC_MAX_MSG)) != 0 ||
	    (rv = nng_dial(sock, a.url, NULL, NNG_FLAG_NONBLOCK)) != 0) {
		log_warnx("%s: %s", a.url, nng_strerror(rv));
		goto fail;
	}
	ipc_msg_encode(&ping, sizeof(ping), IPC_REQ_PING, 0);
	if ((rv = nng_send(sock, &ping, sizeof(ping), 0)) != 0 ||
	    (rv = nng_recv(sock, &buf, &sz, NNG_FLAG_ALLOC)) != 0) {
		log_warnx("%s: ping: %s", a.url, nng_strerror(rv));
		goto fail;
	}
	if (ipc_msg_check(buf, sz, &why) != IPC_REP_PONG) {
		log_warnx("%s: bad reply to a ping: %s", a.url,
		    why != NULL ? why : "not a pong");
		goto fail;
	}
	*gen = ipc_msg_generation(buf);
	rc = 0;

 fail:
	if (buf != NULL)
		nng_free(buf, sz);
	nng_close(sock);
	return rc;
}
