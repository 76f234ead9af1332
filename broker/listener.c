/*
 * listener.c: the listening sockets of the tcp and ssl listeners, and the
 * accept path with its connection limit.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/listener.h>

#include "access.h"
#include "broker.h"
#include "log.h"
#include "systemd.h"
#include "xmalloc.h"

/*
 * "0.0.0.0:1883", "[::]:8883", "127.0.0.1:0" or a bare port (all IPv4
 * addresses).  Returns 0, or -1 for text that is no address.
 */
int
listener_parse_bind(const char *bind, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	char host[64];
	const char *port, *end;
	char *ep;
	unsigned long p;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	if (bind[0] == '[') {
		if ((end = strchr(bind, ']')) == NULL || end[1] != ':')
			return -1;
		hl = end - bind - 1;
		port = end + 2;
		bind++;
	} else if ((port = strrchr(bind, ':')) != NULL) {
		hl = port - bind;
		port++;
	} else {
		hl = 0;
		port = bind;
		bind = "0.0.0.0";
		hl = strlen(bind);
	}
	if (hl == 0 || hl >= sizeof(host) || *port == '\0')
		return -1;
	errno = 0;
	p = strtoul(port, &ep, 10);
	if (*ep != '\0' || errno != 0 || p > 65535)
		return -1;
	memcpy(host, bind, hl);
	host[hl] = '\0';
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(p);
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(p);
		*len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

static int
listener_rules(struct listener *l, const struct conf_node *ln)
{
	const char **rules;
	size_t i, n = conf_len(ln, "access_rules");

	rules = xcalloc(n, sizeof(*rules));
	for (i = 0; i < n; i++)
		rules[i] = conf_item(ln, "access_rules", i);
	l->rules = access_rules_new(rules, n, l->name);
	free(rules);
	return l->rules == NULL ? -1 : 0;
}

struct listener *
listener_new(const struct conf_node *ln, const char *kind, const char *name)
{
	struct listener *l;
	const char *bind = conf_str(ln, "bind");

	l = xcalloc(1, sizeof(*l));
	xasprintf(&l->name, "%s:%s", kind, name);
	l->tls = strcmp(kind, "ssl") == 0;
	if (listener_parse_bind(bind, &l->addr, &l->addrlen) == -1) {
		log_err("%s: bind \"%s\" is not an address:port", l->name,
		    bind);
		goto fail;
	}
	l->backlog = conf_num(ln, "tcp_options.backlog");
	l->recbuf = conf_num(ln, "tcp_options.recbuf");
	l->sndbuf = conf_num(ln, "tcp_options.sndbuf");
	l->nodelay = conf_bool(ln, "tcp_options.nodelay");
	l->max_conns = conf_num(ln, "max_connections");
	l->proxy_protocol = conf_bool(ln, "proxy_protocol");
	l->proxy_timeout_ms = conf_num(ln, "proxy_protocol_timeout");
	l->allow_anonymous = conf_bool(ln, "allow_anonymous");
	if (listener_rules(l, ln) == -1)
		goto fail;
	if (l->tls) {
		l->handshake_ms = conf_num(ln, "ssl_options.handshake_timeout");
		if ((l->ctx = tls_ctx_new(conf_find(ln, "ssl_options"),
		    l->name)) == NULL || staples_create(l, ln) == -1)
			goto fail;
		clientcheck_listener(l, ln);
		if ((l->crl_check || l->ocsp_client) && strcmp(conf_str(ln,
		    "ssl_options.verify"), "verify_peer") != 0) {
			log_err("%s: enable_crl_check and ocsp.client_check "
			    "need ssl_options.verify = verify_peer", l->name);
			goto fail;
		}
	}
	return l;
fail:
	listener_free(l);
	return NULL;
}

void
listener_free(struct listener *l)
{
	if (l == NULL)
		return;
	access_rules_free(l->rules);
	staples_free(l);
	if (l->evl != NULL)
		evconnlistener_free(l->evl);
	SSL_CTX_free(l->ctx);
	free(l->psk_suites);
	free(l->name);
	free(l);
}

static void
listener_tune(struct listener *l, int fd)
{
	int on = 1;

	/* Failures only cost performance; the connection still works. */
	if (l->nodelay)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	/* 0 leaves the kernel's autotuning alone: it is nearly always best. */
	if (l->recbuf > 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &l->recbuf,
		    sizeof(l->recbuf));
	if (l->sndbuf > 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &l->sndbuf,
		    sizeof(l->sndbuf));
}

static void
listener_accept_cb(struct evconnlistener *evl, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener *l = arg;
	struct client *c;

	(void)evl;
	(void)salen;
	if (l->nconns >= l->max_conns) {
		l->refused++;
		log_info("%s: connection refused: max_connections %lld "
		    "reached", l->name, (long long)l->max_conns);
		close(fd);
		return;
	}
	/* Behind a proxy the rules apply to the address it reports. */
	if (!l->proxy_protocol && l->rules != NULL &&
	    !access_allowed(l->rules, sa)) {
		l->denied++;
		log_info("%s: connection denied by access_rules", l->name);
		close(fd);
		return;
	}
	listener_tune(l, fd);
	if ((c = client_new(l, fd, sa)) == NULL)
		close(fd);
	else
		log_debug("%s: connection from %s", l->name, c->peer);
}

static void
listener_error_cb(struct evconnlistener *evl, void *arg)
{
	struct listener *l = arg;

	(void)evl;
	/* EMFILE and friends: log and keep listening; accept retries. */
	log_warn("%s: accept", l->name);
}

int
listener_start(struct listener *l, struct broker *b)
{
	char host[INET6_ADDRSTRLEN];
	unsigned flags;
	int port, fd;

	l->broker = b;
	/* Stapling listeners bind now but accept once staples are in. */
	l->accepting = !l->stapling;
	flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC |
	    LEV_OPT_REUSEABLE | (l->stapling ? LEV_OPT_DISABLED : 0);
	/* A socket systemd passed (staplemq-broker.socket) is bound already. */
	if ((fd = systemd_listen_fd(l->name, (struct sockaddr *)&l->addr,
	    l->addrlen)) != -1) {
		log_notice("%s: socket-activated (fd %d)", l->name, fd);
		if ((l->evl = evconnlistener_new(b->base, listener_accept_cb,
		    l, flags, 0, fd)) == NULL)
			close(fd);
	} else
		l->evl = evconnlistener_new_bind(b->base, listener_accept_cb,
		    l, flags, l->backlog, (struct sockaddr *)&l->addr,
		    l->addrlen);
	if (l->evl == NULL) {
		log_warn("%s: cannot listen", l->name);
		return -1;
	}
	evconnlistener_set_error_cb(l->evl, listener_error_cb);
	if (l->addr.ss_family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&l->addr)->sin_addr,
		    host, sizeof(host));
		port = ntohs(((struct sockaddr_in *)&l->addr)->sin_port);
	} else {
		inet_ntop(AF_INET6,
		    &((struct sockaddr_in6 *)&l->addr)->sin6_addr, host,
		    sizeof(host));
		port = ntohs(((struct sockaddr_in6 *)&l->addr)->sin6_port);
	}
	log_notice("%s: listening on %s%s%s:%d", l->name,
	    l->addr.ss_family == AF_INET6 ? "[" : "", host,
	    l->addr.ss_family == AF_INET6 ? "]" : "", port);
	return 0;
}

/*
 * Build every enabled listener of the configuration into head (without
 * opening sockets).  Returns -1 after logging every broken listener.
 */
int
listeners_create(struct broker *b, struct listener_head *head)
{
	static const char *kinds[] = { "tcp", "ssl" };
	const struct conf_node *group, *ln;
	struct listener *l;
	size_t k, i;
	char path[32];
	int rc = 0;

	TAILQ_INIT(head);
	for (k = 0; k < 2; k++) {
		snprintf(path, sizeof(path), "listeners.%s", kinds[k]);
		if ((group = conf_find(b->conf->root, path)) == NULL)
			continue;
		for (i = 0; i < group->nkids; i++) {
			ln = group->kids[i];
			if (!conf_bool(ln, "enable"))
				continue;
			if ((l = listener_new(ln, kinds[k], ln->name)) == NULL)
				rc = -1;
			else
				TAILQ_INSERT_TAIL(head, l, entry);
			/* PSK is global, the listener knows only its block. */
			if (l != NULL && tls_psk_listener(l, b->conf) == -1)
				rc = -1;
		}
	}
	return rc;
}

void
listeners_free(struct listener_head *head)
{
	struct listener *l;

	while ((l = TAILQ_FIRST(head)) != NULL) {
		TAILQ_REMOVE(head, l, entry);
		listener_free(l);
	}
}

static const struct conf_node *
listener_block(const struct conf *conf, const struct listener *l)
{
	char path[256];
	const char *colon = strchr(l->name, ':');

	snprintf(path, sizeof(path), "listeners.%.*s.%s",
	    (int)(colon - l->name), l->name, colon + 1);
	return conf_find(conf->root, path);
}

/*
 * Move what a freshly built listener holds (TLS context, staples, rules,
 * limits) into the running one, whose socket and clients stay.  The old
 * context lives on in the connections that use it: OpenSSL counts them.
 */
static void
listener_adopt(struct listener *l, struct listener *nl,
    const struct conf_node *ln)
{
	struct access_rules *rules = l->rules;
	struct staple **staples = l->staples;
	size_t i, nstaples = l->nstaples;
	SSL_CTX *ctx = l->ctx;
	char *suites = l->psk_suites;

	l->rules = nl->rules;
	l->ctx = nl->ctx;
	l->staples = nl->staples;
	l->nstaples = nl->nstaples;
	l->psk_suites = nl->psk_suites;
	l->max_conns = nl->max_conns;
	l->proxy_timeout_ms = nl->proxy_timeout_ms;
	l->allow_anonymous = nl->allow_anonymous;
	l->handshake_ms = nl->handshake_ms;
	l->recbuf = nl->recbuf;
	l->sndbuf = nl->sndbuf;
	l->nodelay = nl->nodelay;
	l->startup_wait_ms = nl->startup_wait_ms;
	l->must_staple_wait_ms = nl->must_staple_wait_ms;
	for (i = 0; i < l->nstaples; i++)
		l->staples[i]->listener = l;
	/* Callbacks were registered with the scratch listener. */
	if (l->ctx != NULL) {
		SSL_CTX_set_tlsext_status_arg(l->ctx, l);
		clientcheck_listener(l, ln);
	}
	nl->rules = rules;
	nl->ctx = ctx;
	nl->staples = staples;
	nl->nstaples = nstaples;
	nl->psk_suites = suites;
}

/*
 * SIGHUP: every running listener takes its new settings, certificates
 * and keys.  A new, removed or moved listener needs a restart (logged).
 * The configuration was checked whole before (broker_conf_check).
 */
void
listeners_reload(struct broker *b, const struct conf *conf)
{
	const struct conf_node *ln;
	struct listener *l, *nl;
	struct broker tmp;
	struct listener_head fresh;

	TAILQ_FOREACH(l, &b->listeners, entry) {
		if ((ln = listener_block(conf, l)) == NULL ||
		    !conf_bool(ln, "enable")) {
			log_notice("%s: removed from the configuration: it "
			    "stops at the next restart", l->name);
			continue;
		}
		if ((nl = listener_new(ln, l->tls ? "ssl" : "tcp",
		    strchr(l->name, ':') + 1)) == NULL)
			continue;
		if (tls_psk_listener(nl, conf) == -1 ||
		    nl->addrlen != l->addrlen ||
		    memcmp(&nl->addr, &l->addr, l->addrlen) != 0) {
			if (nl->addrlen != l->addrlen || memcmp(&nl->addr,
			    &l->addr, l->addrlen) != 0)
				log_notice("%s: bind changed: takes effect at "
				    "the next restart", l->name);
			listener_free(nl);
			continue;
		}
		listener_adopt(l, nl, ln);
		listener_free(nl);
		log_info("%s: reloaded", l->name);
	}
	/* Listeners only the new file has: say what a restart would do. */
	memset(&tmp, 0, sizeof(tmp));
	tmp.conf = (struct conf *)conf;
	if (listeners_create(&tmp, &fresh) == 0)
		TAILQ_FOREACH(nl, &fresh, entry) {
			TAILQ_FOREACH(l, &b->listeners, entry)
				if (strcmp(l->name, nl->name) == 0)
					break;
			if (l == NULL)
				log_notice("%s: new: takes effect at the next "
				    "restart", nl->name);
		}
	listeners_free(&fresh);
	revocation_reapply(b);
}
