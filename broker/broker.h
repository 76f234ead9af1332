/*
 * broker.h: staplemq-broker's structures and prototypes, grouped by file.
 */
#ifndef STAPLEMQ_BROKER_H
#define STAPLEMQ_BROKER_H

#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "conf.h"
#include "daemon.h"

struct access_rules;
struct crl_table;
struct notify_req;
struct notify_sub;
struct snapshot;
struct acl;
struct passwd_db;
struct psk_table;
struct retain_store;
struct topic_tree;

/*
 * One server certificate that gets a staple.  Owns leaf and issuer; der
 * points into the broker's current snapshot mapping (NULL: none valid).
 */
struct staple {
	struct listener		*listener;	/* not owned */
	char			*certfile;
	X509			*ctx_cert;	/* the SSL_CTX's copy, not owned */
	X509			*leaf;
	X509			*issuer;
	uint8_t			 id[32];	/* SHA-256 of the leaf DER */
	bool			 must_staple;	/* RFC 7633 TLS Feature */
	bool			 known;		/* fetcherd has reported */
	bool			 failed_logged, expired_logged;
	const uint8_t		*der;
	size_t			 der_len;
	int64_t			 this_update, next_update;
};

/*
 * A listening socket.  Owns name, ctx, rules and the evconnlistener
 * (which owns the socket).  Built from the configuration at start-up.
 */
struct listener {
	TAILQ_ENTRY(listener)	 entry;
	char			*name;		/* "ssl:default" */
	bool			 tls;
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
	int			 backlog;
	int			 recbuf, sndbuf; /* 0: the kernel's */
	bool			 nodelay;
	bool			 proxy_protocol;
	int64_t			 proxy_timeout_ms;
	bool			 allow_anonymous;
	int64_t			 max_conns;
	int64_t			 nconns;
	uint64_t		 refused;	/* over max_connections */
	uint64_t		 denied;	/* by access_rules */
	int64_t			 handshake_ms;
	struct access_rules	*rules;
	SSL_CTX			*ctx;		/* tls only */
	bool			 stapling;
	bool			 accepting;	/* stapling listeners wait */
	bool			 crl_check;	/* enable_crl_check */
	bool			 crl_chain;	/* crl_check = chain */
	bool			 ocsp_client;	/* ocsp.client_check = leaf */
	int64_t			 startup_wait_ms, must_staple_wait_ms;
	struct staple		**staples;
	size_t			 nstaples;
	char			*psk_suites;	/* TLS 1.3 SHA-256, or NULL */
	struct evconnlistener	*evl;
	struct broker		*broker;	/* back pointer, not owned */
};
TAILQ_HEAD(listener_head, listener);

/*
 * A published message, shared by every queue and retained store that
 * holds it; freed when the last reference goes.  topic and payload point
 * into the same allocation.
 */
struct msg {
	unsigned		 refs;
	uint8_t			 qos;
	bool			 retain;
	uint16_t		 topic_len;
	size_t			 payload_len;
	char			*topic;		/* NUL-terminated */
	uint8_t			*payload;
};

/* An outgoing QoS 1 or 2 message waiting for its acknowledgement. */
enum flight_state {
	FL_PUBACK,		/* QoS 1 PUBLISH sent */
	FL_PUBREC,		/* QoS 2 PUBLISH sent */
	FL_PUBCOMP,		/* PUBREL sent */
};

struct flight {
	TAILQ_ENTRY(flight)	 entry;
	struct msg		*msg;		/* one reference */
	uint16_t		 id;
	uint8_t			 qos;
	enum flight_state	 state;
};
TAILQ_HEAD(flight_head, flight);

/* A message waiting for room in the in-flight window or for the client. */
struct queued {
	TAILQ_ENTRY(queued)	 entry;
	struct msg		*msg;		/* one reference */
	uint8_t			 qos;
	bool			 retain;	/* sent because of a subscribe */
};
TAILQ_HEAD(queued_head, queued);

/*
 * MQTT session state, keyed by client id.  Outlives its connection when
 * the client asked for a persistent session (CleanSession 0).  It is the
 * subscriber in the topic tree, so messages reach it while offline.
 */
struct session {
	struct session		*hnext;		/* hash chain */
	char			*id;
	char			*username;	/* of the last client, for ACLs */
	struct client		*client;	/* NULL while offline */
	int64_t			 expires_ms;	/* offline persistent only */
	struct flight_head	 flights;
	size_t			 nflights;
	struct queued_head	 queue;
	size_t			 nqueued;
	size_t			 nqueued_qos0;
	uint8_t			*rx_qos2;	/* bitmap of PUBREC'd ids */
	uint64_t		 match_gen;	/* routing dedup stamp */
	uint16_t		 next_id;
	uint8_t			 match_qos;
	bool			 clean;
};

enum client_state {
	CS_PROXY,		/* waiting for a PROXY protocol header */
	CS_TLS_HANDSHAKE,
	CS_REV_WAIT,		/* handshake paused: revocation unknown yet */
	CS_WAIT_CONNECT,
	CS_ACTIVE,
	CS_CLOSED,
};

/*
 * One connection.  Owns its socket, SSL, buffers, events, strings and
 * will message.  Freed by the reaper after client_close(), never in its
 * own callbacks.
 */
struct client {
	TAILQ_ENTRY(client)	 entry;		/* clients or dead list */
	TAILQ_ENTRY(client)	 dirty_entry;	/* has output to flush */
	struct broker		*broker;
	struct listener		*listener;
	int			 fd;
	SSL			*ssl;
	enum client_state	 state;
	char			 peer[INET6_ADDRSTRLEN + 8];
	struct evbuffer		*in, *out;
	struct event		*ev_read, *ev_write, *ev_timer;
	bool			 dirty;
	bool			 tls_wants_read;	/* a write waits */
	bool			 tls_wants_write;	/* a read waits */
	bool			 paused;	/* output over high water */
	bool			 proxy_retry;	/* partial PROXY header */
	STACK_OF(X509)		*chain;		/* verified, for re-checks */
	/* Revocation check in a paused handshake: see clientcheck.c */
	struct rev_keys		*rev_keys;	/* per checked certificate */
	int			 rev_nkeys;
	char			*rev_url;	/* the leaf's CRL URL */
	bool			 rev_want_crl;	/* its CRL to ask for */
	bool			 rev_want_ocsp;	/* OCSP answer to ask for */
	bool			 rev_asked;	/* requests queued */
	bool			 rev_timed_out;	/* crl_cache.fetch_timeout */
	bool			 rev_abort;	/* end the paused handshake */
	const char		*rev_what;	/* verdict to log, static */
	const char		*rev_why;
	bool			 eof;		/* peer closed after data */
	bool			 closing;	/* in client_close() */
	bool			 assigned;	/* ev_read, ev_timer set up */
	bool			 id_borrowed;	/* id is the session's */
	int64_t			 last_rx_ms;

	/* MQTT, once CONNECT is accepted */
	char			*id;
	char			*username;
	uint8_t			 level;
	uint16_t		 keepalive;
	bool			 graceful;	/* DISCONNECT received */
	/* Offered in the handshake; owned by ssl (ex_data), see tls_psk.c */
	const char		*psk_identity;
	struct msg		*will;
	struct session		*session;
};
TAILQ_HEAD(client_head, client);

/* Everything $SYS reports. */
struct broker_stats {
	uint64_t		 clients_total;
	uint64_t		 connected;
	uint64_t		 msgs_in, msgs_out;
	uint64_t		 bytes_in, bytes_out;
	uint64_t		 dropped;
	uint64_t		 pub_denied, sub_denied;
	uint64_t		 malformed;
	uint64_t		 revoked_refused;	/* in the handshake */
	uint64_t		 revoked_disconnected;	/* live sessions */
};

/* Revocation policy for client certificates (crl_cache.*). */
struct crl_policy {
	int64_t			 fetch_timeout_ms;
	int64_t			 stale_grace_s;
	bool			 fail_open;
};

/* A request for fetcherd waiting for the REQ socket. */
struct pending_req {
	uint8_t			*buf;
	size_t			 len;
};

#define BROKER_MAX_TABLES	256	/* CRL tables mapped at once */

/* The MQTT settings, read once from the configuration. */
struct mqtt_limits {
	size_t			 max_packet;
	size_t			 max_clientid_len;
	unsigned		 max_topic_levels;
	uint8_t			 max_qos;
	bool			 retain_available;
	bool			 wildcard_subscription;
	size_t			 max_inflight;
	size_t			 max_mqueue_len;
	bool			 mqueue_store_qos0;
	int64_t			 session_expiry_ms;
	int64_t			 idle_timeout_ms;
	const char		*cert_as_username;	/* disabled, cn, ... */
	const char		*cert_as_clientid;
	int64_t			 sys_interval_ms;
};

struct broker {
	struct daemon_opts	 opts;
	struct event_base	*base;
	struct conf		*conf;		/* current configuration */
	struct mqtt_limits	 lim;
	struct listener_head	 listeners;
	struct client_head	 clients;
	struct client_head	 dirty;
	struct client_head	 dead;
	struct event		*ev_flush, *ev_reap, *ev_tick;
	struct event		*ev_sig[DAEMON_NSIGNALS];
	struct topic_tree	*topics;
	struct retain_store	*retained;
	struct acl		*acl;		/* NULL: everything allowed */
	struct passwd_db	*passwd;	/* NULL: no password file */
	struct psk_table	*psk;		/* NULL: no PSK identity */
	bool			 psk_enabled;	/* at start-up */
	struct session		**sessions;	/* hash table by client id */
	size_t			 nsessions, session_slots;
	uint64_t		 session_key[2];
	uint64_t		 match_gen;
	struct queued_head	 wills;		/* published by the reaper */
	struct session		**matched;	/* routing scratch */
	size_t			 nmatched, matched_cap;
	struct snapshot		*snap;		/* current, mapped */
	char			 snap_dir[1024]; /* where snap was found */
	struct crl_table	*tables[BROKER_MAX_TABLES];
	uint8_t			 table_ids[BROKER_MAX_TABLES][32];
	size_t			 ntables;
	struct crl_policy	 crl_policy;
	struct notify_req	*req;
	struct event		*ev_req;
	struct pending_req	*reqs;
	size_t			 nreqs;
	uint64_t		 snap_ino;
	int64_t			 snap_mtime;
	struct notify_sub	*notify;
	struct event		*ev_notify;
	int64_t			 start_ms;
	int64_t			 next_sys_ms;
	struct broker_stats	 stats;
};

/* main.c */
int64_t	broker_now_ms(struct broker *);

/* broker_conf.c */
int	broker_conf_check(const struct conf *);
void	broker_limits_load(struct mqtt_limits *, const struct conf *);
int	broker_auth_load(struct broker *, const struct conf *);

/* listener.c */
int	listener_parse_bind(const char *, struct sockaddr_storage *,
	    socklen_t *);
struct listener *listener_new(const struct conf_node *, const char *kind,
	    const char *name);
int	listener_start(struct listener *, struct broker *);
void	listener_free(struct listener *);
int	listeners_create(struct broker *, struct listener_head *);
void	listeners_free(struct listener_head *);
void	listeners_reload(struct broker *, const struct conf *);

/* tls.c */
SSL_CTX	*tls_ctx_new(const struct conf_node *ssl_options, const char *name);
void	tls_ctx_no_resumption(SSL_CTX *);
char	*tls_peer_cert_field(SSL *, const char *);

/* tls_psk.c */
int	tls_psk_listener(struct listener *, const struct conf *);
const char *tls_psk_identity(struct client *);
int	tls_psk_load(struct broker *, const struct conf *,
	    struct psk_table **);
int	tls_psk_check(const struct conf *);
int	tls_psk_start(struct broker *);
void	tls_psk_swap(struct broker *, struct psk_table *);

/* client.c */
struct client *client_new(struct listener *, int, const struct sockaddr *);
void	client_destroy(struct client *);
void	client_close(struct client *, const char *);
int	client_send(struct client *, const void *, size_t);
int	client_send_msg_payload(struct client *, struct msg *);
size_t	client_pending(const struct client *);
void	client_timer_set(struct client *, int64_t);
void	client_pause(struct client *, bool);
void	client_resume(struct client *);
void	clients_flush_cb(evutil_socket_t, short, void *);
void	clients_reap_cb(evutil_socket_t, short, void *);

/* protocol.c */
int	mqtt_input(struct client *);
void	mqtt_timer(struct client *);
void	mqtt_output_drained(struct client *);
void	mqtt_client_closed(struct client *);
void	mqtt_client_release(struct client *);
int	mqtt_send_ack(struct client *, int type, uint16_t id);

/* handle_connect.c */
struct mqtt_packet;
int	handle_connect(struct client *, const struct mqtt_packet *);
void	handle_disconnect(struct client *);

/* handle_publish.c */
int	handle_publish(struct client *, const struct mqtt_packet *);
int	handle_puback(struct client *, const struct mqtt_packet *);
int	handle_pubrec(struct client *, const struct mqtt_packet *);
int	handle_pubrel(struct client *, const struct mqtt_packet *);
int	handle_pubcomp(struct client *, const struct mqtt_packet *);
void	broker_route(struct broker *, struct msg *);

/* handle_subscribe.c */
int	handle_subscribe(struct client *, const struct mqtt_packet *);
int	handle_unsubscribe(struct client *, const struct mqtt_packet *);

/* msg.c */
struct msg *msg_new(const char *, size_t, const void *, size_t, uint8_t,
	    bool);
struct msg *msg_ref(struct msg *);
void	msg_unref(struct msg *);
void	msg_unref_void(void *);

/* session.c */
struct session *session_find(struct broker *, const char *);
struct session *session_new(struct broker *, const char *, bool);
void	session_free(struct broker *, struct session *);
void	session_deliver(struct broker *, struct session *, struct msg *,
	    uint8_t qos, bool retain);
void	session_pump(struct broker *, struct session *);
void	session_resend(struct broker *, struct session *);
int	session_ack(struct broker *, struct session *, uint16_t,
	    enum flight_state);
void	sessions_expire(struct broker *);
void	sessions_free(struct broker *);

/* revocation.c */
int	staples_create(struct listener *, const struct conf_node *);
void	staples_free(struct listener *);
int	revocation_start(struct broker *);
void	revocation_stop(struct broker *);
void	revocation_load(struct broker *);
void	revocation_reapply(struct broker *);
void	revocation_tick(struct broker *);
void	revocation_listeners_check(struct broker *);

/* clientcheck.c */
void	clientcheck_listener(struct listener *, const struct conf_node *);
void	clientcheck_hold(struct client *);
void	clientcheck_done(struct client *);
void	clientcheck_abort(struct client *);
void	clientcheck_timeout(struct client *);
void	clientcheck_snapshot(struct broker *);
void	clientcheck_request_pump(struct broker *);
int	clientcheck_start(struct broker *);
void	clientcheck_stop(struct broker *);

/* sys.c */
void	sys_publish(struct broker *);

#endif
