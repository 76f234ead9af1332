/*
 * t_conf.c: the configuration parser, checker, defaults and getters, with
 * a key table of the test's own that covers DESIGN.md's reference config.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conf.h"
#include "xmalloc.h"

#define L	"listeners.ssl.*."
#define SO	L "ssl_options."
#define MS(s)	((int64_t)(s) * 1000)

static const struct conf_key tkeys[] = {
	{ .name = L "bind", .type = CONF_STRING, .def = "\"0.0.0.0:8883\"" },
	{ .name = L "max_connections", .type = CONF_INT, .def = "512000",
	    .min = 1, .max = 10000000 },
	{ .name = L "access_rules", .type = CONF_STRLIST,
	    .def = "[\"allow all\"]" },
	{ .name = L "proxy_protocol", .type = CONF_BOOL, .def = "false" },
	{ .name = L "proxy_protocol_timeout", .type = CONF_DURATION,
	    .def = "3s" },
	{ .name = L "tcp_options.backlog", .type = CONF_INT, .def = "1024",
	    .min = 1, .max = 65535 },
	{ .name = L "tcp_options.buffer", .type = CONF_SIZE, .def = "4KB" },
	{ .name = SO "keyfile", .type = CONF_STRING },
	{ .name = SO "certfile", .type = CONF_STRING },
	{ .name = SO "cacertfile", .type = CONF_STRING },
	{ .name = SO "verify", .type = CONF_ENUM, .def = "verify_none",
	    .choices = "verify_peer|verify_none" },
	{ .name = SO "versions", .type = CONF_STRLIST,
	    .def = "[\"tlsv1.3\", \"tlsv1.2\"]", .min = 1, .max = 4 },
	{ .name = SO "enable_crl_check", .type = CONF_BOOL, .def = "false" },
	{ .name = SO "ocsp.enable_ocsp_stapling", .type = CONF_BOOL,
	    .def = "false" },
	{ .name = SO "ocsp.issuer_pem", .type = CONF_STRING },
	{ .name = SO "ocsp.responder_url", .type = CONF_STRING },
	{ .name = SO "ocsp.refresh_interval", .type = CONF_DURATION,
	    .def = "5m", .min = MS(60), .max = MS(86400) },
	{ .name = SO "ocsp.refresh_http_timeout", .type = CONF_DURATION,
	    .def = "15s" },
	{ .name = "node.runtime_dir", .type = CONF_STRING,
	    .def = "\"/run/staplemq\"" },
	{ .name = "node.data_dir", .type = CONF_STRING,
	    .def = "\"/var/lib/staplemq\"" },
	{ .name = "node.user", .type = CONF_STRING },
	{ .name = "node.group", .type = CONF_STRING },
	{ .name = "crl_cache.refresh_interval", .type = CONF_DURATION,
	    .def = "15m" },
	{ .name = "crl_cache.http_timeout", .type = CONF_DURATION,
	    .def = "15s" },
	{ .name = "psk_authentication.enable", .type = CONF_BOOL,
	    .def = "false" },
	{ .name = "psk_authentication.init_file", .type = CONF_STRING },
	{ .name = "psk_authentication.separator", .type = CONF_STRING,
	    .def = "\":\"" },
	{ .name = "mqtt.max_inflight", .type = CONF_INT, .def = "32",
	    .min = 1, .max = 65535 },
	{ .name = "mqtt.max_packet_size", .type = CONF_SIZE, .def = "1MB",
	    .min = 1024 },
	{ .name = "mqtt.offset", .type = CONF_INT },
	{ .name = "log.level", .type = CONF_ENUM, .def = "warning",
	    .choices = "error|warning|notice|info|debug" },
	{ .name = "log.to", .type = CONF_STR_OR_LIST, .def = "console" },
	{ .name = NULL },
};

/* DESIGN.md, section Configuration, verbatim. */
static const char reference[] =
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
"  runtime_dir = \"/run/staplemq\"      # snapshot files and nng sockets "
"(tmpfs)\n"
"  data_dir = \"/var/lib/staplemq\"     # persisted staples and CRLs\n"
"  user = \"staplemq\"                  # the broker drops to this user "
"after start-up\n"
"  group = \"staplemq\"\n"
"}\n"
"crl_cache { refresh_interval = 15m, http_timeout = 15s }\n"
"psk_authentication { enable = true, init_file = \"data/init.psk\", "
"separator = \":\" }\n";

/* Helpers. */

static struct conf *
parse(const char *text, struct conf_errors *errs)
{
	return conf_parse("t.conf", text, strlen(text), tkeys, errs);
}

/* Parse text that must be valid; print the errors if it is not. */
static struct conf *
good(const char *text)
{
	struct conf_errors errs = { NULL, 0 };
	struct conf *cf;
	size_t i;

	cf = parse(text, &errs);
	for (i = 0; i < errs.n; i++)
		print_error("unexpected: %s\n", errs.msg[i]);
	assert_non_null(cf);
	assert_int_equal(errs.n, 0);
	return cf;
}

/* text must fail with exactly the n messages that follow. */
static void
bad_with(const struct conf_key *keys, const char *text, size_t len,
    size_t n, ...)
{
	struct conf_errors errs = { NULL, 0 };
	struct conf *cf;
	va_list ap;
	size_t i;

	cf = conf_parse("t.conf", text, len, keys, &errs);
	assert_null(cf);
	va_start(ap, n);
	for (i = 0; i < errs.n; i++)
		if (i >= n || strcmp(errs.msg[i], va_arg(ap, char *)) != 0)
			break;
	va_end(ap);
	if (i < errs.n || errs.n != n)
		for (i = 0; i < errs.n; i++)
			print_error("got: %s\n", errs.msg[i]);
	assert_int_equal(errs.n, n);
	va_start(ap, n);
	for (i = 0; i < n; i++)
		assert_string_equal(errs.msg[i], va_arg(ap, const char *));
	va_end(ap);
	conf_errors_free(&errs);
	assert_null(errs.msg);
	assert_int_equal(errs.n, 0);
}

#define bad(text, ...)							\
	bad_with(tkeys, (text), strlen(text),				\
	    sizeof((const char *[]){ __VA_ARGS__ }) / sizeof(char *),	\
	    __VA_ARGS__)

static const struct conf_node *
listener(const struct conf *cf, const char *name)
{
	char *path;
	const struct conf_node *n;

	xasprintf(&path, "listeners.ssl.%s", name);
	n = conf_find(cf->root, path);
	free(path);
	assert_non_null(n);
	assert_int_equal(n->vtype, CONF_V_OBJECT);
	return n;
}

/* Syntax. */

static void
t_empty(void **state)
{
	struct conf *cf;

	(void)state;
	cf = good("");
	assert_int_equal(cf->nkeys, sizeof(tkeys) / sizeof(tkeys[0]) - 1);
	assert_string_equal(cf->file, "t.conf");
	conf_free(cf);
	cf = good("\n\n  # only a comment\n// another\n\n");
	assert_int_equal(conf_num(cf->root, "mqtt.max_inflight"), 32);
	conf_free(cf);
	conf_free(NULL);
}

static void
t_reference(void **state)
{
	const struct conf_node *l, *n;
	struct conf *cf;

	(void)state;
	cf = good(reference);
	l = listener(cf, "default");
	assert_string_equal(conf_str(l, "bind"), "0.0.0.0:8883");
	n = conf_find(l, "bind");
	assert_int_equal(n->line, 2);
	assert_true(n->quoted);
	assert_ptr_equal(n->key, &tkeys[0]);
	assert_string_equal(n->file, "t.conf");
	assert_int_equal(conf_num(l, "max_connections"), 512000);
	assert_int_equal(conf_len(l, "access_rules"), 1);
	assert_string_equal(conf_item(l, "access_rules", 0), "allow all");
	assert_false(conf_bool(l, "proxy_protocol"));
	assert_int_equal(conf_num(l, "proxy_protocol_timeout"), 3000);
	assert_int_equal(conf_num(l, "tcp_options.backlog"), 1024);
	assert_int_equal(conf_num(l, "tcp_options.buffer"), 4096);
	assert_string_equal(conf_str(l, "ssl_options.keyfile"),
	    "etc/certs/key.pem");
	assert_string_equal(conf_str(l, "ssl_options.verify"), "verify_peer");
	assert_int_equal(conf_num(l, "ssl_options.verify"), 0);
	assert_false(conf_find(l, "ssl_options.verify")->quoted);
	assert_int_equal(conf_len(l, "ssl_options.versions"), 2);
	assert_string_equal(conf_item(l, "ssl_options.versions", 1),
	    "tlsv1.2");
	assert_true(conf_bool(l, "ssl_options.enable_crl_check"));
	n = conf_find(l, "ssl_options.ocsp");
	assert_true(conf_bool(n, "enable_ocsp_stapling"));
	assert_string_equal(conf_str(n, "responder_url"),
	    "http://ocsp.example.com:9877");
	assert_int_equal(conf_num(n, "refresh_interval"), MS(300));
	assert_int_equal(conf_num(n, "refresh_http_timeout"), MS(15));
	assert_int_equal(conf_find(n, "refresh_http_timeout")->line, 21);
	assert_string_equal(conf_str(cf->root, "node.user"), "staplemq");
	assert_string_equal(conf_str(cf->root, "node.data_dir"),
	    "/var/lib/staplemq");
	assert_int_equal(conf_num(cf->root, "crl_cache.refresh_interval"),
	    MS(900));
	assert_int_equal(conf_num(cf->root, "crl_cache.http_timeout"), MS(15));
	assert_true(conf_bool(cf->root, "psk_authentication.enable"));
	assert_string_equal(conf_str(cf->root, "psk_authentication.init_file"),
	    "data/init.psk");
	assert_string_equal(conf_str(cf->root, "psk_authentication.separator"),
	    ":");
	assert_int_equal(conf_find(cf->root,
	    "psk_authentication.separator")->line, 32);
	conf_free(cf);
}

static void
t_separators(void **state)
{
	struct conf *cf;

	(void)state;
	cf = good("node.user = a\nnode.group : b\nmqtt { max_inflight = 3 }\n"
	    "crl_cache = { http_timeout = 2s, }\n"
	    "psk_authentication:{enable=yes,separator=\"-\",},log.level=info,"
	    "\n\nmqtt.offset=-4\r\n");
	assert_string_equal(conf_str(cf->root, "node.user"), "a");
	assert_string_equal(conf_str(cf->root, "node.group"), "b");
	assert_int_equal(conf_num(cf->root, "mqtt.max_inflight"), 3);
	assert_int_equal(conf_num(cf->root, "crl_cache.http_timeout"), 2000);
	assert_true(conf_bool(cf->root, "psk_authentication.enable"));
	assert_string_equal(conf_str(cf->root, "psk_authentication.separator"),
	    "-");
	assert_string_equal(conf_str(cf->root, "log.level"), "info");
	assert_int_equal(conf_num(cf->root, "mqtt.offset"), -4);
	conf_free(cf);

	/* JSON: braces around the root, quoted keys. */
	cf = good("\xef\xbb\xbf{ \"node\": { \"user\": \"j\" },\n"
	    "\"log\": { \"to\": [\"a\", \"b\"] } }\n");
	assert_string_equal(conf_str(cf->root, "node.user"), "j");
	assert_int_equal(conf_len(cf->root, "log.to"), 2);
	conf_free(cf);
	cf = good("\"node\".user = q\nnode.\"group\" = r");
	assert_string_equal(conf_str(cf->root, "node.user"), "q");
	assert_string_equal(conf_str(cf->root, "node.group"), "r");
	conf_free(cf);
}

static void
t_dotted_equals_blocks(void **state)
{
	static const char *texts[] = {
	    "listeners.ssl.x.ssl_options.ocsp.refresh_interval = 2m\n"
	    "listeners.ssl.x.tcp_options.backlog = 7\n",
	    "listeners { ssl { x { ssl_options { ocsp { "
	    "refresh_interval = 2m } }, tcp_options { backlog = 7 } } } }\n",
	    "listeners.ssl { x.ssl_options { ocsp.refresh_interval = 2m }\n"
	    "x.tcp_options = { backlog = 7 } }\n",
	};
	const struct conf_node *l;
	struct conf *cf;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		cf = good(texts[i]);
		l = listener(cf, "x");
		assert_int_equal(conf_num(l,
		    "ssl_options.ocsp.refresh_interval"), MS(120));
		assert_int_equal(conf_num(l, "tcp_options.backlog"), 7);
		assert_int_equal(conf_find(cf->root,
		    "listeners.ssl")->nkids, 1);
		conf_free(cf);
	}
}

static void
t_merge_override(void **state)
{
	struct conf *cf;

	(void)state;
	cf = good("node { user = a, group = g }\nnode { user = b }\n"
	    "node.data_dir = d1\nnode { data_dir = d2 }\n");
	assert_string_equal(conf_str(cf->root, "node.user"), "b");
	assert_string_equal(conf_str(cf->root, "node.group"), "g");
	assert_string_equal(conf_str(cf->root, "node.data_dir"), "d2");
	assert_int_equal(conf_find(cf->root, "node.user")->line, 2);
	assert_int_equal(conf_find(cf->root, "node")->nkids, 4);
	conf_free(cf);

	/* A later object replaces a scalar, and a later list a list. */
	cf = good("mqtt = 5\nmqtt { max_inflight = 7 }\n"
	    "log.to = [a, b, c]\nlog.to = [d]\n");
	assert_int_equal(conf_num(cf->root, "mqtt.max_inflight"), 7);
	assert_int_equal(conf_len(cf->root, "log.to"), 1);
	assert_string_equal(conf_item(cf->root, "log.to", 0), "d");
	conf_free(cf);

	/* And a later scalar replaces an object, whatever it held. */
	bad("mqtt { max_inflight = 7 }\nmqtt = 5\n",
	    "t.conf:2: mqtt: expected an object ({ ... }), got \"5\"");
	cf = good("node { user = \"x\", bogus = 1 }\nnode = 3\nnode { }\n");
	assert_null(conf_str(cf->root, "node.user"));
	conf_free(cf);
}

static void
t_comments(void **state)
{
	struct conf *cf;

	(void)state;
	cf = good("# hash\n// slashes\nnode { # after brace\n"
	    "user = x//no space needed\n"
	    "group = \"a#b//c\" # quoted text keeps them\n"
	    "runtime_dir = /run/x # a path needs no quotes\n"
	    "} // end\n");
	assert_string_equal(conf_str(cf->root, "node.user"), "x");
	assert_string_equal(conf_str(cf->root, "node.group"), "a#b//c");
	assert_string_equal(conf_str(cf->root, "node.runtime_dir"), "/run/x");
	conf_free(cf);
	/* An unquoted URL ends at its "//", so it must be quoted. */
	bad("node.user = http://x\n", "t.conf:1: node.user: unexpected ':' "
	    "after the value (quote values that contain it)");
}

static void
t_escapes(void **state)
{
	struct conf *cf;

	(void)state;
	cf = good("node.user = \"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t "
	    "\\u0041\\u00e9\\u20AC\\ud83d\\ude00\"\n");
	assert_string_equal(conf_str(cf->root, "node.user"),
	    "q\" b\\ s/ \b\f\n\r\t A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	conf_free(cf);
	bad("node.user = \"a\\qb\"", "t.conf:1: node.user: invalid escape "
	    "\\q in a string");
	bad("\n\nnode.user = \"\\u0000\"", "t.conf:3: node.user: invalid "
	    "\\u escape (needs 4 hex digits, not U+0000 nor a lone surrogate)");
	bad("node.user = \"\\ud800x\"", "t.conf:1: node.user: invalid "
	    "\\u escape (needs 4 hex digits, not U+0000 nor a lone surrogate)");
	bad("node.user = \"\\udc00\"", "t.conf:1: node.user: invalid "
	    "\\u escape (needs 4 hex digits, not U+0000 nor a lone surrogate)");
	bad("node.user = \"\\u12\"", "t.conf:1: node.user: invalid "
	    "\\u escape (needs 4 hex digits, not U+0000 nor a lone surrogate)");
	bad("node.user = \"a\x01\"", "t.conf:1: node.user: control character "
	    "0x01 in a string");
	bad("node.user = \"a\\\x01\"", "t.conf:1: node.user: invalid "
	    "escape: \\ followed by 0x01 in a string");
	bad("\"node\\x\".user = 1", "t.conf:1: invalid escape \\x in a "
	    "string");
	bad("node.user = \"a\\\n\"", "t.conf:1: node.user: unterminated "
	    "string");
}

static void
t_arrays(void **state)
{
	const struct conf_node *l;
	struct conf *cf;

	(void)state;
	cf = good("listeners.ssl.a.ssl_options.versions = [\n"
	    "  \"tlsv1.3\"   # a comment\n"
	    "  tlsv1.2,\n"
	    "\n"
	    "  'x',\n"
	    "]\n"
	    "log.to = [ ]\n");
	l = listener(cf, "a");
	assert_int_equal(conf_len(l, "ssl_options.versions"), 3);
	assert_string_equal(conf_item(l, "ssl_options.versions", 0),
	    "tlsv1.3");
	assert_string_equal(conf_item(l, "ssl_options.versions", 1),
	    "tlsv1.2");
	assert_string_equal(conf_item(l, "ssl_options.versions", 2), "'x'");
	assert_null(conf_item(l, "ssl_options.versions", 3));
	assert_int_equal(conf_len(cf->root, "log.to"), 0);
	conf_free(cf);
	bad("log.to = [a b]", "t.conf:1: log.to: unexpected text after the "
	    "value (quote values that contain spaces)");
	bad("log.to = [a,,b]", "t.conf:1: log.to: missing value");
	bad("log.to = [[a]]", "t.conf:1: log.to: expected a string or a list "
	    "like [\"a\", \"b\"], got a list of lists");
	bad("log.to = [a }", "t.conf:1: log.to: unexpected '}' in a list");
	bad("log.to = [{a = 1}]", "t.conf:1: log.to: expected a string or a "
	    "list like [\"a\", \"b\"], got a list of objects");
}

/* Types and bounds. */

static int64_t
num_of(const char *text, const char *path)
{
	struct conf *cf;
	int64_t v;

	cf = good(text);
	v = conf_num(cf->root, path);
	conf_free(cf);
	return v;
}

static void
t_durations(void **state)
{
	static const struct {
		const char	*text;
		int64_t		 ms;
	} ok[] = {
		{ "500ms", 500 }, { "15s", MS(15) }, { "5m", MS(300) },
		{ "1h", MS(3600) }, { "1d", MS(86400) }, { "30", MS(30) },
		{ "\"2s\"", MS(2) }, { "0", 0 },
	};
	char *text;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		xasprintf(&text, "crl_cache.http_timeout = %s", ok[i].text);
		assert_int_equal(num_of(text, "crl_cache.http_timeout"),
		    ok[i].ms);
		free(text);
	}
	bad("crl_cache.http_timeout = 15x", "t.conf:1: crl_cache.http_timeout"
	    ": expected a duration like 15s, got \"15x\"");
	bad("crl_cache.http_timeout = s", "t.conf:1: crl_cache.http_timeout"
	    ": expected a duration like 15s, got \"s\"");
	bad("crl_cache.http_timeout = 15S", "t.conf:1: crl_cache.http_timeout"
	    ": expected a duration like 15s, got \"15S\"");
	bad("crl_cache.http_timeout = -5s", "t.conf:1: crl_cache.http_timeout"
	    ": expected a duration like 15s, got \"-5s\"");
	bad("crl_cache.http_timeout = 99999999999999999999s",
	    "t.conf:1: crl_cache.http_timeout: \"99999999999999999999s\" is "
	    "out of range");
	bad("crl_cache.http_timeout = 9223372036854775d",
	    "t.conf:1: crl_cache.http_timeout: \"9223372036854775d\" is out "
	    "of range");
	bad("crl_cache.http_timeout = []", "t.conf:1: crl_cache.http_timeout"
	    ": expected a duration like 15s, got a list");
	bad("listeners.ssl.a.ssl_options.ocsp.refresh_interval = 59s",
	    "t.conf:1: listeners.ssl.a.ssl_options.ocsp.refresh_interval: "
	    "59s is below the minimum 1m");
	bad("listeners.ssl.a.ssl_options.ocsp.refresh_interval = 2d",
	    "t.conf:1: listeners.ssl.a.ssl_options.ocsp.refresh_interval: "
	    "2d is above the maximum 1d");
}

static void
t_sizes(void **state)
{
	static const struct {
		const char	*text;
		int64_t		 bytes;
	} ok[] = {
		{ "4KB", 4096 }, { "1MB", 1048576 }, { "5120", 5120 },
		{ "2kb", 2048 }, { "1gb", 1073741824 }, { "3000B", 3000 },
		{ "1Mb", 1048576 }, { "1025", 1025 },
	};
	char *text;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		xasprintf(&text, "mqtt.max_packet_size = %s", ok[i].text);
		assert_int_equal(num_of(text, "mqtt.max_packet_size"),
		    ok[i].bytes);
		free(text);
	}
	bad("mqtt.max_packet_size = 4XB", "t.conf:1: mqtt.max_packet_size: "
	    "expected a size like 4KB, got \"4XB\"");
	bad("mqtt.max_packet_size = KB", "t.conf:1: mqtt.max_packet_size: "
	    "expected a size like 4KB, got \"KB\"");
	bad("mqtt.max_packet_size = 9999999999999GB", "t.conf:1: "
	    "mqtt.max_packet_size: \"9999999999999GB\" is out of range");
	/* A min alone bounds below only; bounds print in the key's unit. */
	assert_int_equal(num_of("mqtt.max_packet_size = 1KB",
	    "mqtt.max_packet_size"), 1024);
	assert_int_equal(num_of("mqtt.max_packet_size = 9999GB",
	    "mqtt.max_packet_size"), 9999 * (int64_t)1073741824);
	bad("mqtt.max_packet_size = 1023", "t.conf:1: mqtt.max_packet_size: "
	    "1023 is below the minimum 1KB");
}

static void
t_bools(void **state)
{
	static const char *yes[] = { "true", "on", "yes", "\"true\"" };
	static const char *no[] = { "false", "off", "no" };
	char *text;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		xasprintf(&text, "psk_authentication.enable = %s", yes[i]);
		assert_int_equal(num_of(text, "psk_authentication.enable"), 1);
		free(text);
	}
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		xasprintf(&text, "psk_authentication.enable = %s", no[i]);
		assert_int_equal(num_of(text, "psk_authentication.enable"), 0);
		free(text);
	}
	bad("psk_authentication.enable = maybe", "t.conf:1: "
	    "psk_authentication.enable: expected true or false, got "
	    "\"maybe\"");
	bad("psk_authentication.enable = TRUE", "t.conf:1: "
	    "psk_authentication.enable: expected true or false, got \"TRUE\"");
}

static void
t_ints(void **state)
{
	(void)state;
	assert_int_equal(num_of("mqtt.max_inflight = 1", "mqtt.max_inflight"),
	    1);
	assert_int_equal(num_of("mqtt.max_inflight = 65535",
	    "mqtt.max_inflight"), 65535);
	assert_int_equal(num_of("mqtt.offset = -9223372036854775807",
	    "mqtt.offset"), -INT64_MAX);
	assert_int_equal(num_of("mqtt.offset = 0", "mqtt.offset"), 0);
	bad("mqtt.max_inflight = 0",
	    "t.conf:1: mqtt.max_inflight: 0 is below the minimum 1");
	bad("mqtt.max_inflight = 65536",
	    "t.conf:1: mqtt.max_inflight: 65536 is above the maximum 65535");
	bad("mqtt.max_inflight = -1",
	    "t.conf:1: mqtt.max_inflight: -1 is below the minimum 1");
	bad("mqtt.max_inflight = abc", "t.conf:1: mqtt.max_inflight: "
	    "expected an integer like 10, got \"abc\"");
	bad("mqtt.max_inflight = 1.5", "t.conf:1: mqtt.max_inflight: "
	    "expected an integer like 10, got \"1.5\"");
	bad("mqtt.max_inflight = -", "t.conf:1: mqtt.max_inflight: "
	    "expected an integer like 10, got \"-\"");
	bad("mqtt.offset = 9223372036854775808",
	    "t.conf:1: mqtt.offset: \"9223372036854775808\" is out of range");
	bad("listeners.ssl.a.ssl_options.versions = []",
	    "t.conf:1: listeners.ssl.a.ssl_options.versions: the list has 0 "
	    "items, fewer than the minimum 1");
	bad("listeners.ssl.a.ssl_options.versions = [a, b, c, d, e]",
	    "t.conf:1: listeners.ssl.a.ssl_options.versions: the list has 5 "
	    "items, more than the maximum 4");
}

static void
t_enum_string_lists(void **state)
{
	struct conf *cf;

	(void)state;
	cf = good("log.level = \"debug\"\nlog.to = syslog\n"
	    "node.user = 42\n");
	assert_string_equal(conf_str(cf->root, "log.level"), "debug");
	assert_int_equal(conf_num(cf->root, "log.level"), 4);
	assert_int_equal(conf_len(cf->root, "log.to"), 1);
	assert_string_equal(conf_item(cf->root, "log.to", 0), "syslog");
	assert_int_equal(conf_find(cf->root, "log.to")->vtype, CONF_V_ARRAY);
	assert_string_equal(conf_str(cf->root, "node.user"), "42");
	conf_free(cf);
	bad("listeners.ssl.x.ssl_options.verify = verify_all",
	    "t.conf:1: listeners.ssl.x.ssl_options.verify: expected one of "
	    "verify_peer|verify_none, got \"verify_all\"");
	bad("log.level = [info]", "t.conf:1: log.level: expected one of "
	    "error|warning|notice|info|debug, got a list");
	bad("node.user { a = 1 }",
	    "t.conf:1: node.user: expected a string, got an object");
	bad("node.user = [a]", "t.conf:1: node.user: expected a string, got "
	    "a list");
	bad("listeners.ssl.x.access_rules = \"allow all\"",
	    "t.conf:1: listeners.ssl.x.access_rules: expected a list like "
	    "[\"a\", \"b\"], got \"allow all\"");
	bad("node = 5", "t.conf:1: node: expected an object ({ ... }), got "
	    "\"5\"");
	bad("listeners.ssl.x = []", "t.conf:1: listeners.ssl.x: expected an "
	    "object ({ ... }), got a list");
	/* Long values are cut and control bytes shown, in messages. */
	bad("log.level = \"\\u0001aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaa\"", "t.conf:1: log.level: expected one of "
	    "error|warning|notice|info|debug, got \"\\x01aaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaa\"...");
}

/* Errors. */

static void
t_unknown_keys(void **state)
{
	(void)state;
	bad("listeners.ssl.default.ssl_options.ocsp.enable_ocps_stapling = "
	    "true", "t.conf:1: unknown key listeners.ssl.default.ssl_options."
	    "ocsp.enable_ocps_stapling, did you mean enable_ocsp_stapling?");
	bad("node.zzzzzz = 1", "t.conf:1: unknown key node.zzzzzz");
	bad("\nnode.usr = 1", "t.conf:2: unknown key node.usr, did you mean "
	    "user?");
	bad("node.uxxr = 1", "t.conf:1: unknown key node.uxxr, did you mean "
	    "user?");
	bad("node.uxxxr = 1", "t.conf:1: unknown key node.uxxxr");
	bad("mqtt.max_infligth = 1", "t.conf:1: unknown key "
	    "mqtt.max_infligth, did you mean max_inflight?");
	/* An unknown block is reported once, by its own name. */
	bad("listeners.ssl.x.ssl_optoins { keyfile = a, certfile = b }",
	    "t.conf:1: unknown key listeners.ssl.x.ssl_optoins, did you mean "
	    "ssl_options?");
	bad("foo.bar = 1", "t.conf:1: unknown key foo");
	bad("nodes { user = x }", "t.conf:1: unknown key nodes, did you mean "
	    "node?");
	bad("listeners.sll.x.bind = a", "t.conf:1: unknown key listeners.sll, "
	    "did you mean ssl?");
	bad("listeners.tcp.x.bind = a", "t.conf:1: unknown key listeners.tcp");
}

static void
t_long_names(void **state)
{
	static const struct conf_key longkeys[] = {
		{ .name = "a.this_is_a_rather_long_key_name_that_goes_on_"
		    "and_on_for_seventy_bytes", .type = CONF_BOOL },
		{ .name = NULL },
	};
	static const char text[] = "a.this_is_a_rather_long_key_name_that_"
	    "goes_on_and_on_four_seventy_bytes = true";

	(void)state;
	bad_with(longkeys, text, strlen(text), 1, "t.conf:1: unknown key "
	    "a.this_is_a_rather_long_key_name_that_goes_on_and_on_four_"
	    "seventy_bytes, did you mean this_is_a_rather_long_key_name_that_"
	    "goes_on_and_on_for_seventy_bytes?");
}

static void
t_error_lines_all_collected(void **state)
{
	(void)state;
	bad("node {\n"
	    "  user = a\n"
	    "  usr = b\n"
	    "}\n"
	    "mqtt {\n"
	    "  max_inflight = 0\n"
	    "\n"
	    "  max_packet_size = huge\n"
	    "}\n"
	    "bogus = 1\n",
	    "t.conf:3: unknown key node.usr, did you mean user?",
	    "t.conf:6: mqtt.max_inflight: 0 is below the minimum 1",
	    "t.conf:8: mqtt.max_packet_size: expected a size like 4KB, got "
	    "\"huge\"",
	    "t.conf:10: unknown key bogus");
	bad("a = 1\nb = 2\nc = 3\n", "t.conf:1: unknown key a",
	    "t.conf:2: unknown key b", "t.conf:3: unknown key c");
}

static void
t_malformed(void **state)
{
	(void)state;
	bad("node.user = \"abc", "t.conf:1: node.user: unterminated string");
	bad("node.user = \"abc\nnode.group = x\"",
	    "t.conf:1: node.user: unterminated string");
	bad("node {\n  user = a\n", "t.conf:1: node: unterminated block (no "
	    "closing '}')");
	bad("x {\nnode {\n  user = a\n}\n", "t.conf:1: x: unterminated block "
	    "(no closing '}')");
	bad("log.to = [a,\n b\n", "t.conf:1: log.to: unterminated array (no "
	    "closing ']')");
	bad("node.user =\nnode.group = b", "t.conf:1: node.user: missing "
	    "value");
	bad("node.user = # nothing\n", "t.conf:1: node.user: missing value");
	bad("node.user", "t.conf:1: node.user: missing value");
	bad("node { user }", "t.conf:1: node.user: missing value");
	bad("node.user = a b", "t.conf:1: node.user: unexpected text after "
	    "the value (quote values that contain spaces)");
	bad("node { user = a } mqtt { }", "t.conf:1: node: unexpected text "
	    "after the value (quote values that contain spaces)");
	bad("listeners.ssl.x.bind = 0.0.0.0:8883", "t.conf:1: "
	    "listeners.ssl.x.bind: unexpected ':' after the value (quote "
	    "values that contain it)");
	bad("= 5", "t.conf:1: expected a key, got '='");
	bad("node { = 5 }", "t.conf:1: node: expected a key, got '='");
	bad("node. = 5", "t.conf:1: expected a key after '.', got ' '");
	bad("a..b = 5", "t.conf:1: expected a key after '.', got '.'");
	bad("node.", "t.conf:1: expected a key after '.', got end of file");
	bad("node {\n  user.\n}", "t.conf:2: node: expected a key after '.', "
	    "got newline");
	bad("node.user 5", "t.conf:1: node.user: expected '=', ':' or '{' "
	    "after the key, got '5'");
	bad("\n}", "t.conf:2: unexpected '}'");
	bad("node { user = a ]", "t.conf:1: node: unexpected ']'");
	bad("node.user = ${x}", "t.conf:1: node.user: substitutions (${...}) "
	    "are not supported");
	bad("node.user = +1", "t.conf:1: node.user: unexpected '+'");
	bad("node.user += a", "t.conf:1: node.user: expected '=', ':' or '{' "
	    "after the key, got '+'");
	bad("include \"other.conf\"", "t.conf:1: include is not supported");
	bad("node.user = a,,", "t.conf:1: expected a key, got ','");
	bad("\"\" = 1", "t.conf:1: a quoted key may not be empty nor contain "
	    "'.' or control characters");
	bad("node.\"a.b\" = 1", "t.conf:1: a quoted key may not be empty nor "
	    "contain '.' or control characters");
	bad("{ node.user = a } x", "t.conf:1: unexpected text after the "
	    "closing '}'");
	bad("node.user = a\x01", "t.conf:1: node.user: unexpected 0x01 after "
	    "the value (quote values that contain it)");
	bad("node.user = \x7f", "t.conf:1: node.user: unexpected 0x7f");
}

static void
t_nul_and_size(void **state)
{
	static const char nul[] = "node.user = a\nnode.group = \"b\0\"\n";
	char *big;

	(void)state;
	bad_with(tkeys, nul, sizeof(nul) - 1, 1,
	    "t.conf:2: NUL byte in the file");
	bad_with(tkeys, "\0", 1, 1, "t.conf:1: NUL byte in the file");
	big = xmalloc(CONF_MAX_FILE + 1);
	memset(big, '\n', CONF_MAX_FILE + 1);
	bad_with(tkeys, big, CONF_MAX_FILE + 1, 1,
	    "t.conf: larger than the limit of 16777216 bytes");
	/* Exactly the limit is fine. */
	conf_free(conf_parse("t.conf", big, CONF_MAX_FILE, tkeys, NULL));
	free(big);
}

static char *
repeat(const char *s, size_t n, const char *tail)
{
	char *buf, *p;
	size_t len = strlen(s);

	p = buf = xmalloc(len * n + strlen(tail) + 1);
	while (n-- > 0) {
		memcpy(p, s, len);
		p += len;
	}
	strcpy(p, tail);
	return buf;
}

/* Expect "t.conf:1: " path ": " msg, path being n segments seg. */
static void
bad_path(const struct conf_key *keys, const char *text, const char *seg,
    size_t n, const char *msg)
{
	char *path, *want;

	path = repeat(seg, n - 1, "");
	xasprintf(&want, "t.conf:1: %s%.*s: %s", path,
	    (int)strcspn(seg, "."), seg, msg);
	bad_with(keys, text, strlen(text), 1, want);
	free(want);
	free(path);
}

static void
t_depth(void **state)
{
	struct conf_key deep[2];
	char *text, *name, *line, *whole;

	(void)state;
	/* CONF_MAX_DEPTH objects deep is fine, one more is not. */
	memset(deep, 0, sizeof(deep));
	name = repeat("a.", CONF_MAX_DEPTH, "v");
	deep[0].name = name;
	deep[0].type = CONF_INT;
	line = repeat(" }", CONF_MAX_DEPTH, "");
	text = repeat("a { ", CONF_MAX_DEPTH, "v = 1");
	xasprintf(&whole, "%s%s", text, line);
	free(text);
	free(line);
	text = whole;
	conf_free(conf_parse("t.conf", text, strlen(text), deep, NULL));
	text[strlen(text) - 2] = '\0';
	bad_with(deep, text, strlen(text), 1, "t.conf:1: a: unterminated "
	    "block (no closing '}')");
	free(text);
	text = repeat("a { ", CONF_MAX_DEPTH + 1, "v = 1");
	bad_path(deep, text, "a.", CONF_MAX_DEPTH + 1,
	    "nesting deeper than 32 levels");
	free(text);

	/* The same with dotted keys. */
	text = repeat("a.", CONF_MAX_DEPTH, "v = 1");
	conf_free(conf_parse("t.conf", text, strlen(text), deep, NULL));
	free(text);
	text = repeat("a.", CONF_MAX_DEPTH + 1, "v = 1");
	bad_with(deep, text, strlen(text), 1, "t.conf:1: nesting deeper "
	    "than 32 levels");
	free(text);
	text = repeat("a.", 500000, "v = 1");
	bad_with(deep, text, strlen(text), 1, "t.conf:1: nesting deeper "
	    "than 32 levels");
	free(text);

	/* Arrays count too; a deep pile must not exhaust the stack. */
	text = repeat("[", 100000, "");
	xasprintf(&line, "log.to = %s", text);
	bad(line, "t.conf:1: log.to: nesting deeper than 32 levels");
	free(line);
	free(text);
	text = repeat("{", 100000, "");
	bad(text, "t.conf:1: expected a key, got '{'");
	free(text);
	text = repeat("x={", 100000, "");
	bad_path(tkeys, text, "x.", CONF_MAX_DEPTH + 1,
	    "nesting deeper than 32 levels");
	free(text);
	text = repeat("x=[", 100000, "");
	bad(text, "t.conf:1: x: unexpected '=' after the value (quote values "
	    "that contain it)");
	free(text);
	free(name);
}

/* Defaults and getters. */

static void
t_defaults(void **state)
{
	const struct conf_node *a, *b, *n;
	struct conf *cf;

	(void)state;
	cf = good("");
	assert_string_equal(conf_str(cf->root, "node.runtime_dir"),
	    "/run/staplemq");
	assert_null(conf_str(cf->root, "node.user"));
	assert_int_equal(conf_num(cf->root, "crl_cache.refresh_interval"),
	    MS(900));
	assert_int_equal(conf_num(cf->root, "mqtt.max_packet_size"), 1048576);
	assert_string_equal(conf_str(cf->root, "psk_authentication.separator"),
	    ":");
	assert_string_equal(conf_str(cf->root, "log.level"), "warning");
	assert_int_equal(conf_num(cf->root, "log.level"), 1);
	assert_int_equal(conf_len(cf->root, "log.to"), 1);
	assert_string_equal(conf_item(cf->root, "log.to", 0), "console");
	/* No listener, so no listener keys. */
	assert_null(conf_find(cf->root, "listeners"));
	assert_null(conf_find(cf->root, "listeners.ssl"));
	n = conf_find(cf->root, "node.runtime_dir");
	assert_string_equal(n->file, "<defaults>");
	assert_ptr_equal(n->key, conf_key_match(tkeys, "node.runtime_dir"));
	conf_free(cf);

	cf = good("listeners.ssl.a.bind = \"127.0.0.1:1\"\n"
	    "listeners.ssl.b { max_connections = 5\n"
	    "  ssl_options.ocsp.refresh_interval = 1h }\n");
	a = listener(cf, "a");
	b = listener(cf, "b");
	assert_string_equal(conf_str(a, "bind"), "127.0.0.1:1");
	assert_string_equal(conf_str(b, "bind"), "0.0.0.0:8883");
	assert_int_equal(conf_num(a, "max_connections"), 512000);
	assert_int_equal(conf_num(b, "max_connections"), 5);
	assert_int_equal(conf_num(a, "ssl_options.ocsp.refresh_interval"),
	    MS(300));
	assert_int_equal(conf_num(b, "ssl_options.ocsp.refresh_interval"),
	    MS(3600));
	assert_int_equal(conf_num(a, "tcp_options.buffer"), 4096);
	assert_int_equal(conf_len(b, "ssl_options.versions"), 2);
	assert_string_equal(conf_item(b, "ssl_options.versions", 0),
	    "tlsv1.3");
	assert_string_equal(conf_str(b, "ssl_options.verify"), "verify_none");
	assert_false(conf_bool(a, "ssl_options.ocsp.enable_ocsp_stapling"));
	assert_null(conf_str(a, "ssl_options.keyfile"));
	assert_null(conf_find(a, "ssl_options.ocsp.issuer_pem"));
	assert_int_equal(conf_len(a, "access_rules"), 1);
	/* The same through the root. */
	assert_int_equal(conf_num(cf->root,
	    "listeners.ssl.b.tcp_options.backlog"), 1024);
	assert_null(conf_find(cf->root, "listeners.ssl.c"));
	assert_int_equal(conf_find(cf->root, "listeners.ssl")->nkids, 2);
	conf_free(cf);
}

static void
t_broken_default(void **state)
{
	static const struct conf_key broken[] = {
		{ .name = "a.b", .type = CONF_DURATION, .def = "abc" },
		{ .name = "a.c", .type = CONF_INT, .def = "5 6" },
		{ .name = "a.*.d", .type = CONF_INT, .def = "0", .min = 1 },
		{ .name = "a.e", .type = CONF_STRING, .def = "\"x" },
		{ .name = NULL },
	};

	(void)state;
	bad_with(broken, "", 0, 4,
	    "<defaults>:1: a.b: expected a duration like 15s, got \"abc\"",
	    "<defaults>:1: a.c: unexpected text after the default",
	    "<defaults>:1: a.*.d: 0 is below the minimum 1",
	    "<defaults>:1: a.e: unterminated string");
}

static void
t_getters(void **state)
{
	struct conf *cf;
	const struct conf_node *n;

	(void)state;
	cf = good(reference);
	n = conf_find(cf->root, "listeners.ssl.default.ssl_options");
	assert_non_null(n);
	assert_string_equal(conf_str(n, "ocsp.issuer_pem"),
	    "etc/certs/ocsp-issuer.pem");
	assert_null(conf_find(NULL, "node.user"));
	assert_false(conf_bool(NULL, "node.user"));
	assert_int_equal(conf_num(NULL, "x"), 0);
	assert_null(conf_str(NULL, "x"));
	assert_int_equal(conf_len(NULL, "x"), 0);
	assert_null(conf_item(NULL, "x", 0));
	/* Absent but known keys read as nothing. */
	assert_null(conf_find(cf->root, "listeners.ssl.other"));
	assert_null(conf_find(cf->root, "listeners.ssl.other.bind"));
	assert_int_equal(conf_num(cf->root, "mqtt.offset"), 0);
	conf_free(cf);

	assert_ptr_equal(conf_key_match(tkeys, "node.user"), &tkeys[20]);
	assert_ptr_equal(conf_key_match(tkeys, "listeners.ssl.x.bind"),
	    &tkeys[0]);
	assert_ptr_equal(conf_key_match(tkeys,
	    "listeners.ssl.x.ssl_options.ocsp.issuer_pem"), &tkeys[14]);
	assert_null(conf_key_match(tkeys, "listeners.ssl.x"));
	assert_null(conf_key_match(tkeys, "node.user.x"));
	assert_null(conf_key_match(tkeys, "node..user"));
	assert_null(conf_key_match(tkeys, ""));
	assert_null(conf_key_match(tkeys, "listeners.ssl..bind"));
	assert_null(conf_key_match(tkeys, "a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a."
	    "a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a"));
	assert_string_equal(conf_type_name((enum conf_type)99), "unknown");
	assert_string_equal(conf_type_name(CONF_BOOL), "bool");
	assert_string_equal(conf_type_name(CONF_INT), "int");
	assert_string_equal(conf_type_name(CONF_DURATION), "duration");
	assert_string_equal(conf_type_name(CONF_SIZE), "size");
	assert_string_equal(conf_type_name(CONF_STRING), "string");
	assert_string_equal(conf_type_name(CONF_ENUM), "enum");
	assert_string_equal(conf_type_name(CONF_STRLIST), "list");
	assert_string_equal(conf_type_name(CONF_STR_OR_LIST),
	    "string or list");
}

/* Run fn(base, path) in a child, which must die with status 1. */
static void
dies(void (*fn)(const struct conf_node *, const char *),
    const struct conf_node *base, const char *path)
{
	pid_t pid;
	int status, fd;

	fflush(NULL);
	if ((pid = fork()) == 0) {
		if ((fd = open("/dev/null", O_WRONLY)) != -1)
			dup2(fd, STDERR_FILENO);
		fn(base, path);
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
}

static void
call_find(const struct conf_node *b, const char *p)
{
	(void)conf_find(b, p);
}

static void
call_bool(const struct conf_node *b, const char *p)
{
	(void)conf_bool(b, p);
}

static void
call_num(const struct conf_node *b, const char *p)
{
	(void)conf_num(b, p);
}

static void
call_str(const struct conf_node *b, const char *p)
{
	(void)conf_str(b, p);
}

static void
call_len(const struct conf_node *b, const char *p)
{
	(void)conf_len(b, p);
}

static void
t_getter_misuse(void **state)
{
	struct conf *cf;
	const struct conf_node *l;

	(void)state;
	cf = good("listeners.ssl.x.bind = a\nnode.user = u\n");
	l = listener(cf, "x");
	/* Misspelled paths, present or not. */
	dies(call_num, cf->root, "mqtt.max_inflite");
	dies(call_find, cf->root, "nodes");
	dies(call_str, l, "ssl_options.keyfil");
	dies(call_str, l, "ssl_options..keyfile");
	dies(call_find, l, "ssl_options.ocsp.x");
	dies(call_str, cf->root, "node.user.x");
	/* Wrong type, or a block read as a value. */
	dies(call_bool, cf->root, "mqtt.max_inflight");
	dies(call_num, cf->root, "node.user");
	dies(call_str, l, "access_rules");
	dies(call_len, cf->root, "node.user");
	dies(call_num, cf->root, "node");
	dies(call_str, l, "ssl_options.ocsp");
	conf_free(cf);
}

static void
t_no_name_no_errs(void **state)
{
	struct conf_errors errs = { NULL, 0 };

	(void)state;
	/* Without a name, messages say <config>; errors append. */
	assert_null(conf_parse(NULL, "x = 1", 5, tkeys, &errs));
	assert_null(conf_parse(NULL, "y = 1", 5, tkeys, &errs));
	assert_int_equal(errs.n, 2);
	assert_string_equal(errs.msg[0], "<config>:1: unknown key x");
	assert_string_equal(errs.msg[1], "<config>:1: unknown key y");
	conf_errors_free(&errs);
	/* Without a list, errors are dropped; without a table, all unknown. */
	assert_null(conf_parse("t.conf", "x = 1", 5, tkeys, NULL));
	assert_null(conf_parse("t.conf", "x = 1", 5, NULL, NULL));
	conf_free(conf_parse("t.conf", NULL, 0, NULL, NULL));
	assert_null(conf_load("/nonexistent/staplemq.conf", tkeys, NULL));
}

static void
t_load(void **state)
{
	struct conf_errors errs = { NULL, 0 };
	struct conf *cf;
	char path[] = "/tmp/t_conf.XXXXXX", *msg;
	int fd;

	(void)state;
	assert_true((fd = mkstemp(path)) != -1);
	assert_int_equal(write(fd, reference, strlen(reference)),
	    (ssize_t)strlen(reference));
	close(fd);
	cf = conf_load(path, tkeys, &errs);
	assert_non_null(cf);
	assert_string_equal(cf->file, path);
	assert_string_equal(conf_find(cf->root, "node.user")->file, path);
	conf_free(cf);
	assert_true((fd = open(path, O_WRONLY | O_APPEND)) != -1);
	assert_int_equal(write(fd, "bogus = 1\n", 10), 10);
	close(fd);
	assert_null(conf_load(path, tkeys, &errs));
	assert_int_equal(errs.n, 1);
	xasprintf(&msg, "%s:33: unknown key bogus", path);
	assert_string_equal(errs.msg[0], msg);
	free(msg);
	conf_errors_free(&errs);
	unlink(path);

	assert_null(conf_load(path, tkeys, &errs));
	assert_int_equal(errs.n, 1);
	xasprintf(&msg, "%s: cannot read: No such file or directory", path);
	assert_string_equal(errs.msg[0], msg);
	free(msg);
	conf_errors_free(&errs);
	assert_null(conf_load("/", tkeys, &errs));
	assert_string_equal(errs.msg[0], "/: cannot read: Is a directory");
	conf_errors_free(&errs);

	/* A file over the limit is refused without being parsed. */
	strcpy(path, "/tmp/t_conf.XXXXXX");
	assert_true((fd = mkstemp(path)) != -1);
	assert_int_equal(ftruncate(fd, CONF_MAX_FILE + 1), 0);
	close(fd);
	assert_null(conf_load(path, tkeys, &errs));
	assert_int_equal(errs.n, 1);
	xasprintf(&msg, "%s: larger than the limit of 16777216 bytes", path);
	assert_string_equal(errs.msg[0], msg);
	free(msg);
	conf_errors_free(&errs);
	unlink(path);
	conf_errors_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_empty),
		cmocka_unit_test(t_reference),
		cmocka_unit_test(t_separators),
		cmocka_unit_test(t_dotted_equals_blocks),
		cmocka_unit_test(t_merge_override),
		cmocka_unit_test(t_comments),
		cmocka_unit_test(t_escapes),
		cmocka_unit_test(t_arrays),
		cmocka_unit_test(t_durations),
		cmocka_unit_test(t_sizes),
		cmocka_unit_test(t_bools),
		cmocka_unit_test(t_ints),
		cmocka_unit_test(t_enum_string_lists),
		cmocka_unit_test(t_unknown_keys),
		cmocka_unit_test(t_long_names),
		cmocka_unit_test(t_error_lines_all_collected),
		cmocka_unit_test(t_malformed),
		cmocka_unit_test(t_nul_and_size),
		cmocka_unit_test(t_depth),
		cmocka_unit_test(t_defaults),
		cmocka_unit_test(t_broken_default),
		cmocka_unit_test(t_getters),
		cmocka_unit_test(t_getter_misuse),
		cmocka_unit_test(t_no_name_no_errs),
		cmocka_unit_test(t_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
