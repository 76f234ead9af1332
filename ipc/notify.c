/*
 * notify.c: the nng side of ipc_proto.h.  fetcherd publishes a note with
 * the generation it just published; the broker subscribes and watches the
 * socket's receive fd, so nothing blocks either daemon.  fetcherd also
 * answers pings on a REP socket, so that tools and tests can ask it which
 * generation is current.
 *
 * The data itself lives in the snapshot file: a lost note costs only
 * latency (the broker also looks at the file once a second), so nothing
 * here retries or acknowledges.  What arrives is checked byte for byte
 * before the generation is believed.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "log.h"
#include "notify.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
    "IPC messages are little-endian; this code encodes host order");

#define SUN_PATH_LEN	sizeof(((struct sockaddr_un *)0)->sun_path)
#define NOTIFY_MODE	0660	/* the broker's group may connect */

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

static size_t	 ipc_type_size(int);
static int	 notify_addr(struct notify_addr *, const char *, const char *);
static int	 notify_unlink_stale(const char *);
static int	 notify_listen(nng_socket, const struct notify_addr *);
static size_t	 ipc_msg_encode(void *, size_t, enum ipc_type, uint64_t);
static int	 notify_recv(nng_socket, const char *, enum ipc_type,
		    uint64_t *);

/* --- pure encoding and checking ------------------------------------------ */

/* The exact size of a message of this type, or 0 for an unknown type. */
static size_t
ipc_type_size(int type)
{
	switch (type) {
	case IPC_NOTE_PUBLISHED:
		return sizeof(struct ipc_note_published);
	case IPC_REQ_PING:
		return sizeof(struct ipc_hdr);
	case IPC_REP_PONG:
		return sizeof(struct ipc_rep_pong);
	default:
		return 0;
	}
}

/* A header plus, for the types that carry one, a generation. */
static size_t
ipc_msg_encode(void *buf, size_t len, enum ipc_type type, uint64_t generation)
{
	struct ipc_hdr	 h;
	size_t		 sz = ipc_type_size(type);

	if (sz == 0 || len < sz)
		return 0;
	memset(&h, 0, sizeof(h));
	h.magic = IPC_MAGIC;
	h.version = IPC_VERSION;
	h.type = (uint16_t)type;
	h.length = (uint32_t)sz;
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
	if (len != sz) {
		*why = "wrong size for its type";
		return -1;
	}
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
 * Answer every request waiting, without blocking.  A request that fails
 * its checks gets no reply: the requester times out.  Returns the number
 * of requests answered.
 */
int
notify_rep_poll(struct notify_rep *r, uint64_t current_generation)
{
	struct ipc_rep_pong	 pong;
	int			 rc, rv, answered = 0;

	while ((rc = notify_recv(r->sock, "request", IPC_REQ_PING,
	    NULL)) != 0) {
		if (rc == -1)
			continue;
		ipc_msg_encode(&pong, sizeof(pong), IPC_REP_PONG,
		    current_generation);
		if ((rv = nng_send(r->sock, &pong, sizeof(pong),
		    NNG_FLAG_NONBLOCK)) != 0) {
			log_warnx("%s: reply: %s", r->addr.url,
			    nng_strerror(rv));
			continue;
		}
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
