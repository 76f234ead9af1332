/*
 * t_conf_keys.c: the real key table of staplemq.conf: its defaults
 * type-check, the reference blocks of DESIGN.md and the sample file
 * validate, and typos get the suggestion an operator needs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "conf.h"

/* DESIGN.md's reference blocks, verbatim. */
static const char design_conf[] =
"listeners.ssl.default {\n"
"  bind = \"0.0.0.0:8883\"\n"
"  max_connections = 512000\n"
"  access_rules = [\"allow all\"]\n"
"  proxy_protocol = false\n"
"  proxy_protocol_timeout = 3s\n"
"  tcp_options.backlog = 1024\n"
"  tcp_options.buffer = 4KB\n"
"  ssl_options {\n"
"    keyfile = \"etc/certs/key.pem\"\n"
"    certfile = \"etc/certs/cert.pem\"\n"
"    cacertfile = \"etc/certs/cacert.pem\"\n"
"    verify = verify_peer\n"
"    versions = [\"tlsv1.3\", \"tlsv1.2\"]\n"
"    enable_crl_check = true\n"
"    ocsp {\n"
"      enable_ocsp_stapling = true\n"
"      issuer_pem = \"etc/certs/ocsp-issuer.pem\"\n"
"      responder_url = \"http://ocsp.example.com:9877\"\n"
"      refresh_interval = 5m\n"
"      refresh_http_timeout = 15s\n"
"    }\n"
"  }\n"
"}\n"
"node {\n"
"  runtime_dir = \"/run/staplemq\"      # snapshot files and nng sockets (tmpfs)\n"
"  data_dir = \"/var/lib/staplemq\"     # persisted staples and CRLs\n"
"  user = \"staplemq\"                  # the broker drops to this user after start-up\n"
"  group = \"staplemq\"\n"
"}\n"
"crl_cache { refresh_interval = 15m, http_timeout = 15s }\n"
"psk_authentication { enable = true, init_file = \"data/init.psk\", separator = \":\" }\n";

/* The EMQX documentation's ssl listener (seeds), with dotted keys. */
static const char emqx_conf[] =
"listeners.ssl.default {\n"
"  bind = \"0.0.0.0:8883\"\n"
"  access_rules = [\n"
"    \"allow all\"\n"
"  ]\n"
"  proxy_protocol = false\n"
"  proxy_protocol_timeout = 3s\n"
"  ssl_options.keyfile = \"etc/certs/key.pem\"\n"
"  ssl_options.certfile = \"etc/certs/cert.pem\"\n"
"  ssl_options.cacertfile = \"etc/certs/cacert.pem\"\n"
"  # to verify client certs\n"
"  ssl_options.verify = verify_peer\n"
"  ssl_options.versions = [\"tlsv1.3\", \"tlsv1.2\", \"tlsv1.1\", \"tlsv1\"]\n"
"  tcp_options.backlog = 1024\n"
"  tcp_options.buffer = 4KB\n"
"}\n";

static struct conf *
parse(const char *text, struct conf_errors *errs)
{
	memset(errs, 0, sizeof(*errs));
	return conf_parse("test.conf", text, strlen(text), conf_keys, errs);
}

static void
test_empty_file_gets_every_default(void **state)
{
	struct conf_errors errs;
	struct conf *c;

	(void)state;
	c = parse("", &errs);
	assert_non_null(c);
	assert_int_equal(errs.n, 0);
	assert_string_equal(conf_str(c->root, "log.level"), "info");
	assert_string_equal(conf_str(c->root, "node.runtime_dir"),
	    "/run/staplemq");
	assert_int_equal(conf_num(c->root, "crl_cache.refresh_interval"),
	    15 * 60 * 1000);
	assert_false(conf_bool(c->root, "psk_authentication.enable"));
	assert_null(conf_find(c->root, "listeners.ssl"));
	conf_free(c);
}

static void
test_listener_defaults_per_listener(void **state)
{
	struct conf_errors errs;
	struct conf *c;
	const struct conf_node *a, *b;

	(void)state;
	c = parse("listeners.tcp.a {}\nlisteners.ssl.b.ssl_options {\n"
	    "certfile = c.pem\nkeyfile = k.pem\n}\n", &errs);
	assert_non_null(c);
	a = conf_find(c->root, "listeners.tcp.a");
	b = conf_find(c->root, "listeners.ssl.b");
	assert_non_null(a);
	assert_non_null(b);
	assert_string_equal(conf_str(a, "bind"), "0.0.0.0:1883");
	assert_string_equal(conf_str(b, "bind"), "0.0.0.0:8883");
	assert_int_equal(conf_num(a, "tcp_options.buffer"), 4096);
	assert_int_equal(conf_len(b, "ssl_options.versions"), 2);
	assert_string_equal(conf_item(b, "ssl_options.versions", 0),
	    "tlsv1.3");
	assert_int_equal(conf_len(b, "ssl_options.certfile"), 1);
	assert_string_equal(conf_item(b, "ssl_options.certfile", 0), "c.pem");
	assert_string_equal(conf_str(b, "ssl_options.verify"), "verify_none");
	assert_int_equal(conf_num(b, "ssl_options.ocsp.refresh_interval"),
	    5 * 60 * 1000);
	conf_free(c);
}

static void
test_design_reference_validates(void **state)
{
	struct conf_errors errs;
	struct conf *c;
	const struct conf_node *l;

	(void)state;
	c = parse(design_conf, &errs);
	if (c == NULL && errs.n > 0)
		fail_msg("%s", errs.msg[0]);
	assert_non_null(c);
	l = conf_find(c->root, "listeners.ssl.default");
	assert_int_equal(conf_num(l, "max_connections"), 512000);
	assert_true(conf_bool(l, "ssl_options.ocsp.enable_ocsp_stapling"));
	assert_string_equal(conf_str(l, "ssl_options.ocsp.responder_url"),
	    "http://ocsp.example.com:9877");
	assert_true(conf_bool(c->root, "psk_authentication.enable"));
	assert_string_equal(conf_str(c->root, "psk_authentication.separator"),
	    ":");
	assert_int_equal(conf_num(c->root, "crl_cache.http_timeout"), 15000);
	conf_free(c);
}

static void
test_emqx_listener_validates(void **state)
{
	struct conf_errors errs;
	struct conf *c;

	(void)state;
	c = parse(emqx_conf, &errs);
	if (c == NULL && errs.n > 0)
		fail_msg("%s", errs.msg[0]);
	assert_non_null(c);
	assert_int_equal(conf_len(conf_find(c->root, "listeners.ssl.default"),
	    "ssl_options.versions"), 4);
	conf_free(c);
}

static void
test_sample_file_validates(void **state)
{
	struct conf_errors errs = { 0 };
	struct conf *c;

	(void)state;
	/* The unit tests run from tests/unit. */
	c = conf_load("../../etc/staplemq.conf", conf_keys, &errs);
	if (c == NULL && errs.n > 0)
		fail_msg("%s", errs.msg[0]);
	assert_non_null(c);
	conf_free(c);
	conf_errors_free(&errs);
}

static void
test_typo_gets_suggestion(void **state)
{
	struct conf_errors errs;
	struct conf *c;

	(void)state;
	c = parse("listeners.ssl.default.ssl_options.ocsp."
	    "enable_ocps_stapling = true\n", &errs);
	assert_null(c);
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.msg[0], "test.conf:1: unknown key "
	    "listeners.ssl.default.ssl_options.ocsp.enable_ocps_stapling, "
	    "did you mean enable_ocsp_stapling?");
	conf_errors_free(&errs);
}

static void
test_table_is_well_formed(void **state)
{
	const struct conf_key *k, *j;

	(void)state;
	for (k = conf_keys; k->name != NULL; k++) {
		assert_non_null(k->doc);
		assert_true(k->users != 0);
		assert_ptr_equal(conf_key_match(conf_keys, k->name), k);
		for (j = k + 1; j->name != NULL; j++)
			if (strcmp(k->name, j->name) == 0)
				fail_msg("duplicate key %s", k->name);
		if (k->type == CONF_ENUM)
			assert_non_null(k->choices);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_file_gets_every_default),
		cmocka_unit_test(test_listener_defaults_per_listener),
		cmocka_unit_test(test_design_reference_validates),
		cmocka_unit_test(test_emqx_listener_validates),
		cmocka_unit_test(test_sample_file_validates),
		cmocka_unit_test(test_typo_gets_suggestion),
		cmocka_unit_test(test_table_is_well_formed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
