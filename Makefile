# staplemq: an MQTT broker that staples OCSP and checks client revocation.
#
# Build knobs (make VAR=value):
#   CC, CFLAGS, LDFLAGS  compiler and extra flags
#   BUILD                output directory (build; build-asan for `make asan`)
#   SANITIZE=1           ASan + UBSan instrumentation
#   PREFIX, DESTDIR      install locations (/usr/local, empty)
#   UNITDIR, SYSUSERSDIR, TMPFILESDIR  systemd files (/lib/systemd/system,
#                        /usr/lib/sysusers.d, /usr/lib/tmpfiles.d)
#   FUZZ_TIME            seconds per fuzz target for `make fuzz` (20)
#   PYTEST_ARGS          extra arguments for the integration tests
#
# Targets: all (default), run, test (alias check), unit, integration, asan,
# fuzz, bench, install, clean.

PREFIX	?= /usr/local
SBINDIR	?= $(PREFIX)/sbin
MANDIR	?= $(PREFIX)/share/man
UNITDIR	?= /lib/systemd/system
SYSUSERSDIR ?= /usr/lib/sysusers.d
TMPFILESDIR ?= /usr/lib/tmpfiles.d
BUILD	?= build
FUZZ_TIME ?= 20
PYTHON	= /usr/bin/python3

CC	?= cc
WARN	= -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
	  -Wmissing-prototypes -Wmissing-declarations -Wformat=2 -Wundef \
	  -Wvla -Wimplicit-fallthrough
# STAPLEMQ_TEST_HOOKS: sandbox checks that run only when their environment
# variable is set (common/sandbox.c); the integration tests use them.
DEFS	= -D_GNU_SOURCE -DSTAPLEMQ_VERSION=\"$(VERSION)\" -DSTAPLEMQ_TEST_HOOKS
VERSION	= 0.1.0
ifeq ($(SANITIZE),1)
OPT	= -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	  -fno-sanitize-recover=undefined
LDSAN	= -fsanitize=address,undefined
else
OPT	= -O2 -g -D_FORTIFY_SOURCE=2 -fstack-protector-strong
endif
INCS	= -I. -Icommon -Iipc
ALL_CFLAGS = -std=c11 $(OPT) $(WARN) $(DEFS) $(INCS) $(CFLAGS) -MMD -MP

# nng ships no pkg-config file on Debian 12.
NNG_LIBS := $(shell pkg-config --libs nng 2>/dev/null || echo -lnng)
SSL_LIBS := $(shell pkg-config --libs libssl libcrypto)
EV_LIBS	 := $(shell pkg-config --libs libevent_core)
CURL_LIBS := $(shell pkg-config --libs libcurl)
SECCOMP_LIBS := $(shell pkg-config --libs libseccomp)

IPC_SRCS = ipc/snapshot.c ipc/snapshot_write.c ipc/notify.c ipc/crl_table.c \
	ipc/crl_table_write.c ipc/mapfile.c ipc/writefile.c
COMMON_SRCS = common/log.c common/conf.c common/conf_parse.c common/conf_keys.c \
	common/xmalloc.c common/daemon.c common/ossl.c common/siphash.c \
	common/chain.c common/revcheck.c common/sandbox.c common/systemd.c
BROKER_SRCS = broker/main.c broker/broker_conf.c broker/listener.c \
	broker/tls.c broker/client.c broker/protocol.c broker/handle_connect.c \
	broker/handle_publish.c broker/handle_subscribe.c broker/msg.c \
	broker/session.c broker/sys.c broker/mqtt_codec.c broker/mqtt_encode.c \
	broker/topic.c \
	broker/retain.c broker/acl.c broker/passwd.c broker/proxy_proto.c \
	broker/access.c broker/revocation.c broker/clientcheck.c \
	broker/psk.c broker/tls_psk.c broker/secrecy.c
PASSWD_SRCS = broker/passwd_main.c broker/passwd.c broker/secrecy.c common/log.c \
	common/xmalloc.c
FETCHERD_SRCS = fetcherd/main.c fetcherd/fetcherd_conf.c fetcherd/staple.c \
	fetcherd/publish.c fetcherd/http.c fetcherd/ocsp.c fetcherd/schedule.c \
	fetcherd/crl.c fetcherd/crl_ingest.c fetcherd/request.c \
	fetcherd/client_ocsp.c

# Unit tests: t_NAME is built from tests/unit/t_NAME.c, T_NAME_SRCS and
# the helpers they share (tests/unit/testutil.c).
UNIT_TESTS = t_conf t_conf_keys t_mqtt_codec t_mqtt5_codec t_topic t_retain t_acl \
	t_passwd t_proxy_proto t_access t_snapshot t_notify t_notify_ipc t_revcheck \
	t_schedule t_crl_table t_crl_lookup t_crl_ingest t_psk t_sandbox t_systemd \
	t_snapshot_damaged
T_conf_SRCS = common/conf.c common/conf_parse.c common/log.c common/xmalloc.c
T_conf_keys_SRCS = common/conf.c common/conf_parse.c common/conf_keys.c common/log.c \
	common/xmalloc.c
T_mqtt_codec_SRCS = broker/mqtt_codec.c broker/mqtt_encode.c tests/unit/mqtt_testutil.c
T_mqtt5_codec_SRCS = $(T_mqtt_codec_SRCS)
T_topic_SRCS = broker/topic.c common/siphash.c
T_retain_SRCS = broker/retain.c broker/topic.c common/siphash.c
T_acl_SRCS = broker/acl.c broker/topic.c common/siphash.c common/log.c common/xmalloc.c
T_passwd_SRCS = broker/passwd.c broker/secrecy.c common/log.c common/xmalloc.c
T_proxy_proto_SRCS = broker/proxy_proto.c
T_access_SRCS = broker/access.c common/log.c common/xmalloc.c
T_snapshot_SRCS = ipc/snapshot.c ipc/snapshot_write.c ipc/mapfile.c \
	ipc/writefile.c common/log.c common/xmalloc.c tests/unit/ipc_testutil.c
T_snapshot_damaged_SRCS = $(T_snapshot_SRCS)
T_notify_SRCS = ipc/notify.c common/log.c common/xmalloc.c \
	tests/unit/notify_testutil.c
T_notify_ipc_SRCS = $(T_notify_SRCS)
T_revcheck_SRCS = common/revcheck.c common/log.c common/xmalloc.c
T_schedule_SRCS = fetcherd/schedule.c
T_crl_table_SRCS = ipc/crl_table.c ipc/crl_table_write.c ipc/mapfile.c \
	ipc/writefile.c common/log.c common/xmalloc.c tests/unit/ipc_testutil.c \
	tests/unit/crl_testutil.c
T_crl_lookup_SRCS = $(T_crl_table_SRCS)
T_crl_ingest_SRCS = fetcherd/crl_ingest.c ipc/crl_table.c \
	ipc/crl_table_write.c ipc/mapfile.c ipc/writefile.c common/log.c \
	common/xmalloc.c
T_psk_SRCS = broker/psk.c broker/secrecy.c common/siphash.c common/log.c common/xmalloc.c
T_sandbox_SRCS = common/sandbox.c common/conf.c common/conf_parse.c \
	common/conf_keys.c common/log.c common/xmalloc.c
T_systemd_SRCS = common/systemd.c common/log.c common/xmalloc.c

# Fuzz targets: tests/fuzz/NAME.c with F_NAME_SRCS, built by clang.
FUZZ_TARGETS = fuzz_conf fuzz_mqtt_codec fuzz_proxy_proto fuzz_snapshot \
	fuzz_ipc_msg fuzz_ocsp_response fuzz_crl_table fuzz_crl_ingest
F_fuzz_conf_SRCS = common/conf.c common/conf_parse.c common/conf_keys.c common/log.c \
	common/xmalloc.c
F_fuzz_mqtt_codec_SRCS = broker/mqtt_codec.c broker/mqtt_encode.c
F_fuzz_proxy_proto_SRCS = broker/proxy_proto.c
F_fuzz_snapshot_SRCS = ipc/snapshot.c ipc/mapfile.c common/log.c \
	common/xmalloc.c
F_fuzz_ipc_msg_SRCS = ipc/notify.c common/log.c common/xmalloc.c
F_fuzz_ocsp_response_SRCS = common/revcheck.c common/log.c common/xmalloc.c
F_fuzz_crl_table_SRCS = ipc/crl_table.c ipc/mapfile.c common/log.c \
	common/xmalloc.c
F_fuzz_crl_ingest_SRCS = fetcherd/crl_ingest.c ipc/crl_table.c \
	ipc/crl_table_write.c ipc/mapfile.c ipc/writefile.c common/log.c \
	common/xmalloc.c

OBJ	= $(BUILD)/obj
objs	= $(patsubst %.c,$(OBJ)/%.o,$(1))

BROKER	= $(BUILD)/staplemq-broker
FETCHERD = $(BUILD)/staplemq-fetcherd
PASSWD	= $(BUILD)/staplemq-passwd

.PHONY: all deps run test check unit integration asan fuzz bench install readme-keys \
	clean

all: $(BROKER) $(FETCHERD) $(PASSWD)

$(OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BROKER): $(call objs,$(BROKER_SRCS) $(COMMON_SRCS) $(IPC_SRCS))
	$(CC) $(LDSAN) $(LDFLAGS) -o $@ $^ $(SSL_LIBS) $(EV_LIBS) $(NNG_LIBS) \
	    $(SECCOMP_LIBS)

$(PASSWD): $(call objs,$(PASSWD_SRCS))
	$(CC) $(LDSAN) $(LDFLAGS) -o $@ $^ $(SSL_LIBS)

$(FETCHERD): $(call objs,$(FETCHERD_SRCS) $(COMMON_SRCS) $(IPC_SRCS))
	$(CC) $(LDSAN) $(LDFLAGS) -o $@ $^ $(SSL_LIBS) $(EV_LIBS) \
	    $(CURL_LIBS) $(NNG_LIBS) $(SECCOMP_LIBS)

deps:
	@./etc/install-deps.sh

# --- tests ---------------------------------------------------------------

CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)
UNIT_BINS = $(addprefix $(BUILD)/tests/,$(UNIT_TESTS))

define unit_rule
$(BUILD)/tests/$(1): $(OBJ)/tests/unit/$(1).o $(OBJ)/tests/unit/testutil.o \
    $(call objs,$(T_$(1:t_%=%)_SRCS))
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDSAN) $$(LDFLAGS) -o $$@ $$^ $$(CMOCKA_LIBS) $$(SSL_LIBS) \
	    $$(NNG_LIBS) $$(SECCOMP_LIBS)
endef
$(foreach t,$(UNIT_TESTS),$(eval $(call unit_rule,$(t))))

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do \
		echo "== $$t"; (cd tests/unit && ../../$$t); done

# Helpers the integration tests run (tests/helpers/).
HELPERS	= $(BUILD)/tests/syscall_allow
$(BUILD)/tests/syscall_allow: $(OBJ)/tests/helpers/syscall_allow.o
	@mkdir -p $(dir $@)
	$(CC) $(LDSAN) $(LDFLAGS) -o $@ $^ $(SECCOMP_LIBS)

integration: all $(HELPERS)
	STAPLEMQ_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q \
	    -p no:cacheprovider tests/integration $(PYTEST_ARGS)

test: deps all unit integration
check: test

asan: deps
	$(MAKE) BUILD=build-asan SANITIZE=1 all unit integration

# --- fuzzing (clang + libFuzzer) ------------------------------------------

FUZZ_CFLAGS = -std=c11 -O1 -g -D_GNU_SOURCE -DFUZZING $(INCS) \
	-fsanitize=fuzzer,address,undefined -DSTAPLEMQ_VERSION=\"$(VERSION)\"
FUZZ_BINS = $(addprefix $(BUILD)/fuzz/,$(FUZZ_TARGETS))

define fuzz_rule
$(BUILD)/fuzz/$(1): tests/fuzz/$(1).c $(F_$(1)_SRCS)
	@mkdir -p $$(dir $$@)
	clang $$(FUZZ_CFLAGS) -o $$@ $$^ $$(SSL_LIBS) $$(NNG_LIBS)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_rule,$(t))))

fuzz: deps $(FUZZ_BINS)
	@set -e; for t in $(FUZZ_TARGETS); do \
		c=tests/fuzz/corpus/$$t; mkdir -p $(BUILD)/fuzz/work-$$t; \
		echo "== $$t ($(FUZZ_TIME)s)"; \
		$(BUILD)/fuzz/$$t -max_total_time=$(FUZZ_TIME) \
		    -print_final_stats=1 $(BUILD)/fuzz/work-$$t \
		    $$( [ -d $$c ] && echo $$c ); done

# --- running --------------------------------------------------------------

run: deps all
	./etc/run-demo.sh $(BUILD)

bench: deps all
	./tests/bench/run.sh $(BUILD)

UNITS	= staplemq-broker.service staplemq-broker.socket \
	  staplemq-fetcherd.service

# Units name /usr/local/sbin; they get $(SBINDIR).  Users, groups and
# directories are made by systemd-sysusers and systemd-tmpfiles (a package
# runs them in postinst); README "Deploying with systemd" has the steps.
install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)/etc/staplemq \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) \
	    $(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8
	install -m 755 $(BROKER) $(FETCHERD) $(PASSWD) $(DESTDIR)$(SBINDIR)/
	install -m 644 etc/staplemq.conf $(DESTDIR)/etc/staplemq/staplemq.conf.sample
	for u in $(UNITS); do \
		sed 's|/usr/local/sbin|$(SBINDIR)|g' systemd/$$u \
		    > $(DESTDIR)$(UNITDIR)/$$u && \
		chmod 644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; done
	install -m 644 systemd/staplemq.sysusers \
	    $(DESTDIR)$(SYSUSERSDIR)/staplemq.conf
	install -m 644 systemd/staplemq.tmpfiles \
	    $(DESTDIR)$(TMPFILESDIR)/staplemq.conf
	install -m 644 man/staplemq-broker.8 man/staplemq-fetcherd.8 \
	    $(DESTDIR)$(MANDIR)/man8/
	install -m 644 man/staplemq.conf.5 $(DESTDIR)$(MANDIR)/man5/

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# Regenerate README.md's configuration reference from the key table.
readme-keys: $(BROKER)
	@$(BROKER) --keys > $(BUILD)/keys.md
	@awk -v f=$(BUILD)/keys.md ' \
	    /^<!-- generated by/ { print; while ((getline l < f) > 0) print l; \
		skip = 1; next } \
	    /^<!-- end of generated table -->/ { skip = 0 } \
	    !skip { print }' README.md > $(BUILD)/README.md
	@mv $(BUILD)/README.md README.md
