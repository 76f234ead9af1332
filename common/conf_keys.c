/*
 * conf_keys.c: every key of staplemq.conf, in one table.
 *
 * Both daemons read the same file and each takes its part, so both must
 * accept every key; the users column says which daemon acts on it.  The
 * table is the single source for validation, defaults, `--keys` and the
 * README's configuration reference (a test compares the two).
 */
#include <stddef.h>

#include "conf.h"

#define B	CONF_BROKER
#define F	CONF_FETCHERD
#define BF	CONF_BOTH
#define R	CONF_RELOAD

#define MS(x)	((int64_t)(x) * 1000)
#define DAY	MS(86400)

/* The keys EMQX 5 gives every tcp and ssl listener. */
#define LISTENER_KEYS(kind, port)					\
	{ "listeners." kind ".*.enable", CONF_BOOL, "true", 0, 0, NULL,	\
	    B, 0, "serve this listener" },				\
	{ "listeners." kind ".*.bind", CONF_STRING, "\"0.0.0.0:" port "\"", \
	    0, 0, NULL, B, 0,						\
	    "address:port to listen on; [::]:port for IPv6" },		\
	{ "listeners." kind ".*.max_connections", CONF_INT, "1024000",	\
	    1, 100000000, NULL, B, 0,					\
	    "connections accepted at once; more are refused" },	\
	{ "listeners." kind ".*.access_rules", CONF_STRLIST,		\
	    "[\"allow all\"]", 0, 1024, NULL, B, 0,			\
	    "\"allow|deny all|ADDR|NET/LEN\", first match wins" },	\
	{ "listeners." kind ".*.proxy_protocol", CONF_BOOL, "false", 0, 0, \
	    NULL, B, 0, "expect a PROXY protocol v1/v2 header" },	\
	{ "listeners." kind ".*.proxy_protocol_timeout", CONF_DURATION,	\
	    "3s", 1, MS(3600), NULL, B, 0,			\
	    "time allowed for the PROXY header" },			\
	{ "listeners." kind ".*.tcp_options.backlog", CONF_INT, "1024",	\
	    1, 65535, NULL, B, 0, "listen(2) backlog" },		\
	{ "listeners." kind ".*.tcp_options.buffer", CONF_SIZE, "4KB",	\
	    512, 16 * 1024 * 1024, NULL, B, 0,				\
	    "accepted for EMQX compatibility; reads use 16KB" },	\
	{ "listeners." kind ".*.tcp_options.recbuf", CONF_SIZE, "0",	\
	    0, 64 * 1024 * 1024, NULL, B, 0,				\
	    "SO_RCVBUF; 0: the kernel's autotuning" },			\
	{ "listeners." kind ".*.tcp_options.sndbuf", CONF_SIZE, "0",	\
	    0, 64 * 1024 * 1024, NULL, B, 0,				\
	    "SO_SNDBUF; 0: the kernel's autotuning" },			\
	{ "listeners." kind ".*.tcp_options.nodelay", CONF_BOOL, "true", \
	    0, 0, NULL, B, 0, "disable Nagle's algorithm (TCP_NODELAY)" }, \
	{ "listeners." kind ".*.allow_anonymous", CONF_BOOL, "true", 0, 0, \
	    NULL, B, 0, "accept clients that give no user name" }

const struct conf_key conf_keys[] = {
	{ "log.level", CONF_ENUM, "info", 0, 0,
	    "debug|info|notice|warning|error", BF, R,
	    "lowest level that is logged" },
	{ "log.to", CONF_ENUM, "stderr", 0, 0, "stderr|syslog", BF, R,
	    "where log lines go (syslog facility daemon)" },

	{ "node.runtime_dir", CONF_STRING, "\"/run/staplemq\"", 0, 0, NULL,
	    BF, 0, "snapshot files and nng sockets (tmpfs)" },
	{ "node.data_dir", CONF_STRING, "\"/var/lib/staplemq\"", 0, 0, NULL,
	    BF, 0, "persisted staples and CRLs" },
	{ "node.user", CONF_STRING, "\"staplemq\"", 0, 0, NULL, B, 0,
	    "user the broker runs as when started as root" },
	{ "node.fetcher_user", CONF_STRING, "\"staplemq-fetch\"", 0, 0, NULL,
	    F, 0, "user fetcherd runs as when started as root" },
	{ "node.group", CONF_STRING, "\"staplemq\"", 0, 0, NULL, BF, 0,
	    "group both run as when started as root" },
	{ "node.sandbox", CONF_BOOL, "true", 0, 0, NULL, BF, 0,
	    "drop root and install the seccomp filter; false: neither "
	    "(logged as an error)" },

	LISTENER_KEYS("tcp", "1883"),
	LISTENER_KEYS("ssl", "8883"),
	{ "listeners.ssl.*.ssl_options.certfile", CONF_STR_OR_LIST, NULL,
	    1, 8, NULL, BF, 0,
	    "certificate chain (PEM); an array for several keys" },
	{ "listeners.ssl.*.ssl_options.keyfile", CONF_STR_OR_LIST, NULL,
	    1, 8, NULL, B, 0,
	    "private key (PEM, mode 0600), paired with certfile" },
	{ "listeners.ssl.*.ssl_options.cacertfile", CONF_STRING, "\"\"",
	    0, 0, NULL, BF, 0, "CAs that client certificates chain to" },
	{ "listeners.ssl.*.ssl_options.verify", CONF_ENUM, "verify_none",
	    0, 0, "verify_none|verify_peer", B, 0,
	    "ask for and verify client certificates" },
	{ "listeners.ssl.*.ssl_options.fail_if_no_peer_cert", CONF_BOOL,
	    "false", 0, 0, NULL, B, 0,
	    "with verify_peer, refuse clients without a certificate" },
	{ "listeners.ssl.*.ssl_options.versions", CONF_STRLIST,
	    "[\"tlsv1.3\", \"tlsv1.2\"]", 1, 4, NULL, B, 0,
	    "TLS versions: tlsv1.3, tlsv1.2, tlsv1.1, tlsv1" },
	{ "listeners.ssl.*.ssl_options.ciphers", CONF_STR_OR_LIST, "[]",
	    0, 256, NULL, B, 0,
	    "TLS 1.2 cipher and TLS 1.3 suite names; empty: OpenSSL's" },
	{ "listeners.ssl.*.ssl_options.handshake_timeout", CONF_DURATION,
	    "15s", 1, MS(3600), NULL, B, 0,
	    "time allowed for the TLS handshake" },
	{ "listeners.ssl.*.ssl_options.honor_cipher_order", CONF_BOOL,
	    "true", 0, 0, NULL, B, 0,
	    "prefer the server's cipher order" },
	{ "listeners.ssl.*.ssl_options.reuse_sessions", CONF_BOOL,
	    "true", 0, 0, NULL, B, 0,
	    "resume TLS sessions (tickets, session cache); off where "
	    "client revocation is checked" },
	{ "listeners.ssl.*.ssl_options.client_renegotiation", CONF_BOOL,
	    "false", 0, 0, NULL, B, 0,
	    "allow client-initiated renegotiation (TLS 1.2)" },
	{ "listeners.ssl.*.ssl_options.enable_crl_check", CONF_BOOL,
	    "false", 0, 0, NULL, BF, 0,
	    "check client certificates against their CRLs" },
	{ "listeners.ssl.*.ssl_options.crl_check", CONF_ENUM, "leaf", 0, 0,
	    "leaf|chain", BF, 0,
	    "with enable_crl_check: the client certificate, or its CAs too" },
	{ "listeners.ssl.*.ssl_options.ocsp.client_check", CONF_ENUM, "off",
	    0, 0, "off|leaf", BF, 0,
	    "check client certificates with OCSP" },
	{ "listeners.ssl.*.ssl_options.ocsp.client_responder_url",
	    CONF_STRING, "\"\"", 0, 0, NULL, F, 0,
	    "responder for client certificates; empty: their AIA" },
	{ "listeners.ssl.*.ssl_options.ocsp.client_cache_ttl", CONF_DURATION,
	    "1h", MS(60), DAY, NULL, F, 0,
	    "how long a client OCSP answer is used (never past nextUpdate)" },
	{ "listeners.ssl.*.ssl_options.ocsp.enable_ocsp_stapling",
	    CONF_BOOL, "false", 0, 0, NULL, BF, 0,
	    "staple an OCSP response for each server certificate" },
	{ "listeners.ssl.*.ssl_options.ocsp.issuer_pem", CONF_STRING,
	    "\"\"", 0, 0, NULL, F, 0,
	    "issuer of the server certificate; empty: from the chain" },
	{ "listeners.ssl.*.ssl_options.ocsp.responder_url", CONF_STRING,
	    "\"\"", 0, 0, NULL, F, 0,
	    "OCSP responder; empty: the certificate's AIA" },
	{ "listeners.ssl.*.ssl_options.ocsp.refresh_interval",
	    CONF_DURATION, "5m", MS(60), DAY, NULL, F, 0,
	    "longest time between two fetches of a staple" },
	{ "listeners.ssl.*.ssl_options.ocsp.startup_wait", CONF_DURATION,
	    "10s", 0, MS(3600), NULL, B, 0,
	    "at start, wait this long for staples before accepting" },
	{ "listeners.ssl.*.ssl_options.ocsp.must_staple_wait", CONF_DURATION,
	    "30s", 0, MS(3600), NULL, B, 0,
	    "Must-Staple certificates: wait this long for a valid staple" },
	{ "listeners.ssl.*.ssl_options.ocsp.responder_cafile", CONF_STRING,
	    "\"\"", 0, 0, NULL, F, 0,
	    "CAs for https responders; empty: the system's" },
	{ "listeners.ssl.*.ssl_options.ocsp.refresh_http_timeout",
	    CONF_DURATION, "15s", MS(1), MS(300), NULL, F, 0,
	    "time allowed for one OCSP request" },

	{ "mqtt.max_packet_size", CONF_SIZE, "1MB", 16, 256 * 1024 * 1024,
	    NULL, B, R, "largest packet accepted; larger ones close" },
	{ "mqtt.max_clientid_len", CONF_INT, "65535", 23, 65535, NULL, B, R,
	    "longest client id accepted" },
	{ "mqtt.max_topic_levels", CONF_INT, "128", 1, 65535, NULL, B, R,
	    "most levels in a topic name or filter" },
	{ "mqtt.max_qos_allowed", CONF_INT, "2", 0, 2, NULL, B, R,
	    "highest QoS granted and delivered" },
	{ "mqtt.retain_available", CONF_BOOL, "true", 0, 0, NULL, B, R,
	    "accept retained messages" },
	{ "mqtt.wildcard_subscription", CONF_BOOL, "true", 0, 0, NULL, B, R,
	    "accept filters with + and #" },
	{ "mqtt.max_inflight", CONF_INT, "32", 1, 65535, NULL, B, R,
	    "QoS 1 and 2 messages unacknowledged per client" },
	{ "mqtt.max_mqueue_len", CONF_INT, "1000", 1, 10000000, NULL, B, R,
	    "messages queued per client; oldest QoS 0 dropped first" },
	{ "mqtt.mqueue_store_qos0", CONF_BOOL, "true", 0, 0, NULL, B, R,
	    "queue QoS 0 messages for offline clients too" },
	{ "mqtt.session_expiry_interval", CONF_DURATION, "2h", MS(1),
	    DAY * 365, NULL, B, R,
	    "how long a persistent session outlives its client" },
	{ "mqtt.idle_timeout", CONF_DURATION, "15s", 100, MS(3600), NULL,
	    B, R, "time allowed between connecting and CONNECT" },
	{ "mqtt.peer_cert_as_username", CONF_ENUM, "disabled", 0, 0,
	    "disabled|cn|dn|crt|pem|md5", B, R,
	    "take the user name from the client certificate" },
	{ "mqtt.peer_cert_as_clientid", CONF_ENUM, "disabled", 0, 0,
	    "disabled|cn|dn|crt|pem|md5", B, R,
	    "take the client id from the client certificate" },
	{ "authentication.password_file", CONF_STRING, "\"\"", 0, 0, NULL,
	    B, R, "user:PBKDF2 hash lines (staplemq-passwd), mode 0600" },
	{ "authorization.acl_file", CONF_STRING, "\"\"", 0, 0, NULL, B, R,
	    "mosquitto acl_file rules; empty: everything allowed" },
	{ "sys_topics.sys_msg_interval", CONF_DURATION, "1m", MS(1), DAY,
	    NULL, B, R, "how often $SYS/broker/... is published" },

	{ "crl_cache.refresh_interval", CONF_DURATION, "15m", MS(60), DAY,
	    NULL, F, 0, "longest time between two fetches of a CRL" },
	{ "crl_cache.http_timeout", CONF_DURATION, "15s", MS(1), MS(300),
	    NULL, F, 0, "time allowed for one CRL download" },
	{ "crl_cache.urls", CONF_STRLIST, "[]", 0, 1024, NULL, F, 0,
	    "CRLs fetched at start and refreshed" },
	{ "crl_cache.files", CONF_STRLIST, "[]", 0, 1024, NULL, F, 0,
	    "local CRL files (DER or PEM), re-read when they change" },
	{ "crl_cache.max_size", CONF_SIZE, "64MB", 1024, 1024 * 1024 * 1024,
	    NULL, F, 0, "largest CRL accepted" },
	{ "crl_cache.fetch_timeout", CONF_DURATION, "10s", 100, MS(300),
	    NULL, B, 0, "how long a new client waits for its CRL or OCSP" },
	{ "crl_cache.max_waiting", CONF_INT, "4096", 1, 1000000, NULL, B, 0,
	    "handshakes that may wait for revocation data at once "
	    "(32 KiB each)" },
	{ "crl_cache.stale_grace", CONF_DURATION, "1h", 0, DAY * 30, NULL,
	    B, 0, "a CRL past its nextUpdate is still used this long" },
	{ "crl_cache.fail_open", CONF_BOOL, "false", 0, 0, NULL, B, 0,
	    "accept (with a warning) when revocation status is unknown" },
	{ "crl_cache.request_rate", CONF_INT, "20", 1, 100000, NULL, F, 0,
	    "on-demand fetches per second fetcherd accepts from brokers" },

	{ "psk_authentication.enable", CONF_BOOL, "false", 0, 0, NULL, B, 0,
	    "accept TLS-PSK clients on every ssl listener" },
	{ "psk_authentication.init_file", CONF_STRING, "\"\"", 0, 0, NULL,
	    B, R, "identity<separator>hex-secret lines (mode 0600), "
	    "re-read on SIGHUP" },
	{ "psk_authentication.separator", CONF_STRING, "\":\"", 0, 0, NULL,
	    B, R, "separator between identity and secret" },
	{ "psk_authentication.chunk_size", CONF_INT, "50", 1, 100000, NULL,
	    B, R, "EMQX's import batch; accepted, no effect here" },

	{ NULL, 0, NULL, 0, 0, NULL, 0, 0, NULL }
};
