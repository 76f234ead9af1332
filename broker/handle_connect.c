/*
 * handle_connect.c: CONNECT and CONNACK: protocol level, client id rules,
 * authentication (password file, certificate fields, anonymous), the will,
 * session take-over and resumption; and DISCONNECT.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "acl.h"
#include "broker.h"
#include "log.h"
#include "mqtt_codec.h"
#include "passwd.h"
#include "topic.h"

static int
connect_ack(struct client *c, bool present, uint8_t code)
{
	struct mqtt_packet p;
	uint8_t buf[8];
	size_t n;

	memset(&p, 0, sizeof(p));
	p.type = MQTT_CONNACK;
	p.connack.session_present = present;
	p.connack.code = code;
	if ((n = mqtt_encode(buf, sizeof(buf), c->level ? c->level :
	    MQTT_LEVEL_311, &p)) == 0)
		return -1;
	return client_send(c, buf, n);
}

/* Refuse with a CONNACK code and close (MQTT-3.2.2-5). */
static int
connect_refuse(struct client *c, uint8_t code, const char *why)
{
	(void)connect_ack(c, false, code);
	client_close(c, why);
	return -1;
}

/* "staplemq-" and 16 random hex digits, for an empty client id. */
static char *
connect_assign_id(void)
{
	uint8_t r[8];
	char *id;
	int i;

	if (RAND_bytes(r, sizeof(r)) != 1 || (id = malloc(26)) == NULL)
		return NULL;
	memcpy(id, "staplemq-", 9);
	for (i = 0; i < 8; i++)
		snprintf(id + 9 + 2 * i, 3, "%02x", r[i]);
	return id;
}

static int
connect_client_id(struct client *c, const struct mqtt_connect *cn)
{
	const struct mqtt_limits *lim = &c->broker->lim;
	const char *psk = tls_psk_identity(c);
	char *mapped;

	/* A PSK session has no certificate: its identity is the CN. */
	if (psk != NULL && strcmp(lim->cert_as_clientid, "cn") == 0) {
		if ((c->id = strdup(psk)) == NULL)
			return connect_refuse(c, MQTT_CONNACK_UNAVAILABLE,
			    "out of memory");
		return 0;
	}
	if (strcmp(lim->cert_as_clientid, "disabled") != 0 && c->ssl != NULL &&
	    (mapped = tls_peer_cert_field(c->ssl, lim->cert_as_clientid)) !=
	    NULL) {
		c->id = mapped;
		return 0;
	}
	if (cn->client_id.len == 0) {
		if (!cn->clean)
			return connect_refuse(c, MQTT_CONNACK_ID_REJECTED,
			    "MQTT-3.1.3-8 empty client id without clean "
			    "session");
		if ((c->id = connect_assign_id()) == NULL)
			return connect_refuse(c, MQTT_CONNACK_UNAVAILABLE,
			    "cannot assign a client id");
		return 0;
	}
	if (cn->client_id.len > lim->max_clientid_len)
		return connect_refuse(c, MQTT_CONNACK_ID_REJECTED,
		    "MQTT-3.1.3-9 client id longer than "
		    "mqtt.max_clientid_len");
	if (memchr(cn->client_id.s, '\0', cn->client_id.len) != NULL ||
	    (c->id = strndup(cn->client_id.s, cn->client_id.len)) == NULL)
		return connect_refuse(c, MQTT_CONNACK_ID_REJECTED,
		    "client id refused");
	return 0;
}

/*
 * Who the client is: the PSK identity its handshake proved (whatever
 * CONNECT says, as mosquitto's use_identity_as_username), else a
 * certificate field when peer_cert_as_username asks, else the CONNECT
 * username checked against the password file.
 */
static int
connect_authenticate(struct client *c, const struct mqtt_connect *cn)
{
	struct broker *b = c->broker;
	const char *as = b->lim.cert_as_username;
	const char *psk = tls_psk_identity(c);

	if (psk != NULL) {
		if ((c->username = strdup(psk)) == NULL)
			return connect_refuse(c, MQTT_CONNACK_UNAVAILABLE,
			    "out of memory");
		return 0;
	}
	if (strcmp(as, "disabled") != 0 && c->ssl != NULL &&
	    (c->username = tls_peer_cert_field(c->ssl, as)) != NULL)
		return 0;
	if (!cn->has_username) {
		if (!c->listener->allow_anonymous)
			return connect_refuse(c, MQTT_CONNACK_NOT_AUTHORIZED,
			    "anonymous clients are not allowed here");
		return 0;
	}
	if ((c->username = strndup(cn->username.s, cn->username.len)) == NULL)
		return connect_refuse(c, MQTT_CONNACK_UNAVAILABLE,
		    "out of memory");
	if (b->passwd != NULL && (!cn->has_password ||
	    !passwd_check(b->passwd, c->username, cn->password.p,
	    cn->password.len)))
		return connect_refuse(c, MQTT_CONNACK_BAD_LOGIN,
		    "bad user name or password");
	return 0;
}

static int
connect_will(struct client *c, const struct mqtt_connect *cn)
{
	struct broker *b = c->broker;
	const char *why;

	if (!cn->will)
		return 0;
	if ((why = topic_name_check(cn->will_topic.s, cn->will_topic.len,
	    b->lim.max_topic_levels)) != NULL) {
		c->broker->stats.malformed++;
		client_close(c, why);
		return -1;
	}
	if (cn->will_retain && !b->lim.retain_available) {
		client_close(c, "retained will, but mqtt.retain_available "
		    "is false");
		return -1;
	}
	if (b->acl != NULL && !acl_check(b->acl, c->username, c->id,
	    cn->will_topic.s, cn->will_topic.len, ACL_WRITE))
		return connect_refuse(c, MQTT_CONNACK_NOT_AUTHORIZED,
		    "will topic not authorized");
	c->will = msg_new(cn->will_topic.s, cn->will_topic.len,
	    cn->will_payload.p, cn->will_payload.len,
	    cn->will_qos > b->lim.max_qos ? b->lim.max_qos : cn->will_qos,
	    cn->will_retain);
	if (c->will == NULL)
		return connect_refuse(c, MQTT_CONNACK_UNAVAILABLE,
		    "out of memory");
	return 0;
}

/* Take over or resume the session of this client id (MQTT-3.1.2-4..6). */
static int
connect_session(struct client *c, bool clean, bool *present)
{
	struct broker *b = c->broker;
	struct session *s = session_find(b, c->id);

	if (s != NULL && s->client != NULL) {
		log_info("%s: %s: client id %s taken over by %s",
		    s->client->listener->name, s->client->peer, c->id,
		    c->peer);
		client_close(s->client, "MQTT-3.1.4-2 session taken over");
		/* Closing a clean session's client freed it. */
		s = session_find(b, c->id);
	}
	if (s != NULL && (clean || s->clean)) {
		session_free(b, s);
		s = NULL;
	}
	*present = s != NULL;
	if (s == NULL && (s = session_new(b, c->id, clean)) == NULL)
		return connect_refuse(c, MQTT_CONNACK_UNAVAILABLE,
		    "out of memory");
	free(s->username);
	s->username = NULL;
	if (c->username != NULL && (s->username = strdup(c->username)) == NULL)
		return connect_refuse(c, MQTT_CONNACK_UNAVAILABLE,
		    "out of memory");
	s->client = c;
	c->session = s;
	/* One copy of the id per connection: the session's. */
	free(c->id);
	c->id = s->id;
	c->id_borrowed = true;
	return 0;
}

/* p is NULL for a CONNECT of a protocol level this broker cannot speak. */
int
handle_connect(struct client *c, const struct mqtt_packet *p)
{
	const struct mqtt_connect *cn;
	bool present;

	if (p == NULL)
		return connect_refuse(c, MQTT_CONNACK_BAD_VERSION,
		    "MQTT-3.1.2-2 unsupported protocol level");
	cn = &p->connect;
	c->level = cn->level;
	c->keepalive = cn->keepalive;
	if (connect_client_id(c, cn) == -1 ||
	    connect_authenticate(c, cn) == -1 ||
	    connect_will(c, cn) == -1 ||
	    connect_session(c, cn->clean, &present) == -1)
		return -1;
	c->state = CS_ACTIVE;
	c->broker->stats.connected++;
	if (connect_ack(c, present, MQTT_CONNACK_ACCEPTED) == -1) {
		client_close(c, "out of memory");
		return -1;
	}
	log_info("%s: %s: %s connected%s%s, keepalive %us%s",
	    c->listener->name, c->peer, c->id, c->username ? " as " : "",
	    c->username ? c->username : "", c->keepalive,
	    present ? ", session resumed" : "");
	if (c->keepalive > 0)
		client_timer_set(c, (int64_t)c->keepalive * 1500);
	else
		event_del(c->ev_timer);
	if (present)
		session_resend(c->broker, c->session);
	return 0;
}

/* DISCONNECT: a clean end; the will is discarded (MQTT-3.14.4-3). */
void
handle_disconnect(struct client *c)
{
	c->graceful = true;
	log_debug("%s: %s: %s disconnected", c->listener->name, c->peer,
	    c->id);
	client_close(c, NULL);
}
