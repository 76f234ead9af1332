/*
 * broker_conf.c: the broker's checks of a configuration beyond the key
 * table: listeners that can actually be built (addresses, certificates,
 * keys, versions, ciphers), and settings this version cannot honour yet.
 */
#include <stdio.h>
#include <string.h>

#include "acl.h"
#include "broker.h"
#include "log.h"
#include "passwd.h"

/* Build every listener without opening it; used by -t and by reload. */
int
broker_conf_check(const struct conf *conf)
{
	struct broker tmp;
	int rc;

	memset(&tmp, 0, sizeof(tmp));
	tmp.conf = (struct conf *)conf;
	rc = listeners_create(&tmp, &tmp.listeners);
	listeners_free(&tmp.listeners);
	if (broker_auth_load(NULL, conf) == -1)
		rc = -1;
	return rc;
}

/*
 * Security settings that a later version enforces must never be ignored
 * quietly: say so loudly, once, at start-up.
 * XXX goes away as the revocation issue lands.
 */
void
broker_conf_warn_unsupported(const struct conf *conf)
{
	const struct conf_node *ssl, *ln;
	size_t i;

	if ((ssl = conf_find(conf->root, "listeners.ssl")) == NULL)
		return;
	for (i = 0; i < ssl->nkids; i++) {
		ln = ssl->kids[i];
		if (conf_bool(ln, "ssl_options.enable_crl_check"))
			log_err("ssl:%s: enable_crl_check is not supported by "
			    "this version; client certificates are NOT "
			    "checked for revocation", ln->name);
	}
}

void
broker_limits_load(struct mqtt_limits *lim, const struct conf *conf)
{
	const struct conf_node *r = conf->root;

	lim->max_packet = conf_num(r, "mqtt.max_packet_size");
	lim->max_clientid_len = conf_num(r, "mqtt.max_clientid_len");
	lim->max_topic_levels = conf_num(r, "mqtt.max_topic_levels");
	lim->max_qos = conf_num(r, "mqtt.max_qos_allowed");
	lim->retain_available = conf_bool(r, "mqtt.retain_available");
	lim->wildcard_subscription = conf_bool(r, "mqtt.wildcard_subscription");
	lim->max_inflight = conf_num(r, "mqtt.max_inflight");
	lim->max_mqueue_len = conf_num(r, "mqtt.max_mqueue_len");
	lim->mqueue_store_qos0 = conf_bool(r, "mqtt.mqueue_store_qos0");
	lim->session_expiry_ms = conf_num(r, "mqtt.session_expiry_interval");
	lim->idle_timeout_ms = conf_num(r, "mqtt.idle_timeout");
	/* These point into conf, which lives as long as the limits do. */
	lim->cert_as_username = conf_str(r, "mqtt.peer_cert_as_username");
	lim->cert_as_clientid = conf_str(r, "mqtt.peer_cert_as_clientid");
	lim->sys_interval_ms = conf_num(r, "sys_topics.sys_msg_interval");
}

/*
 * Load the password and ACL files into b, replacing what it had only when
 * both load; used at start-up and on SIGHUP.
 */
int
broker_auth_load(struct broker *b, const struct conf *conf)
{
	const char *pw = conf_str(conf->root, "authentication.password_file");
	const char *acl = conf_str(conf->root, "authorization.acl_file");
	struct passwd_db *db = NULL;
	struct acl *a = NULL;

	if (*pw != '\0' && (db = passwd_load(pw)) == NULL)
		return -1;
	if (*acl != '\0' && (a = acl_load(acl)) == NULL) {
		passwd_free(db);
		return -1;
	}
	if (b == NULL) {
		passwd_free(db);
		acl_free(a);
		return 0;
	}
	passwd_free(b->passwd);
	acl_free(b->acl);
	b->passwd = db;
	b->acl = a;
	return 0;
}
