#!/bin/sh
# crl_mtls_bench.sh [BUILD]: client certificates checked against a CRL of
# 1,000,000 entries: what the check costs staplemq-broker, and staplemq
# next to mosquitto (Debian's, `crlfile`) with the same CRL, on 127.0.0.1.
#
# The demo PKI (etc/demo-pki.sh) with its responder (etc/demo-responder.py,
# which serves DIR/crl/); tests/bench/crl_gen.c replaces the intermediate
# CA's CRL (crl/intermediate.crl, the URL the client certificates' CRL
# distribution point names) by one of CRL_BENCH_ENTRIES entries signed by
# the intermediate, plus the demo's revoked client; the good client is
# not in it.  Connections come from tests/bench/tls_hs: TCP connect, full
# TLS 1.3 handshake (never resumed) with the good client's certificate
# (ECDSA P-256, chain with the intermediate), MQTT CONNECT, CONNACK,
# DISCONNECT: the CONNACK is where an mTLS connection is really done.
#
# staplemq: one broker with two ssl listeners on the same certificate,
# both verify_peer + fail_if_no_peer_cert: "crl" (enable_crl_check) and
# "nocrl" (reuse_sessions = false: a checking listener issues no session
# tickets, and two tickets cost more than the check); fetcherd with
# crl_cache.urls naming the CRL.  mosquitto: one listener,
# require_certificate, cafile the CA bundle, crlfile the same CRL in PEM,
# tls_version tlsv1.3.  Measured:
#   - handshakes/s, CRL check on vs off (target >= 0.95), and vs
#     mosquitto (no target); the cells take turns, every other round in
#     the opposite order, BENCH_REPEAT rounds; the rates shown are
#     medians, the on/off ratio the median of each round's own ratio
#     (paired() below);
#   - the broker's private memory (Private_Clean + Private_Dirty of
#     /proc/PID/smaps_rollup) before fetcherd publishes the CRL and after
#     it has used it, with a second broker using it too (target: grows by
#     at most 1 MiB): the table is meant to be shared by N brokers, and
#     Linux counts a file page that only one process maps as that
#     process's Private_Clean, so a lone broker's growth (shown, info) is
#     the table's page-cache pages, not memory of its own; with what the
#     growth is made of;
#   - the median table lookup of 1,000,000 entries, as the unit test
#     t_crl_lookup prints it, median of BENCH_COLD runs (target < 1 us);
#   - fetcherd's ingest (--check --publish: download, verify, table,
#     publish) against `openssl crl -noout` parsing the same file, as
#     tests/bench/crl_bench.sh does (target <= 1.5);
#   - start-up (from exec until the port takes a connection, and until
#     the first CONNACK) and memory after start, staplemq (with the CRL
#     persisted and fetcherd up) and mosquitto, BENCH_COLD starts each;
#   - with valgrind installed, the broker's instructions per mTLS
#     connection with and without the CRL check (callgrind): its cost
#     without the noise of a shared machine; no target.
# Every cell is bounded in time.  This is a report, not a test: it exits
# 0 when every cell was measured (whatever the results); non-zero when
# the bench could not run (build, PKI, CRL, responder, a server that does
# not start, or a reference cell, mosquitto or openssl, that fails).  A
# staplemq cell that fails is a MISS.  tests/bench/run.sh may call it; it
# also runs on its own (about 3 minutes on 2 shared cores).
#
# Knobs (environment):
#   BENCH_TIME          seconds measured per handshake cell         (2)
#   BENCH_WARMUP        seconds of load before each measurement     (0.5)
#   BENCH_REPEAT        handshake rounds, the median is kept        (7)
#   BENCH_COLD          starts of each broker, and ingest runs      (3)
#   BENCH_CALLGRIND     0: no instruction counts                    (1)
#   BENCH_CALLGRIND_N   connections counted under callgrind         (100)
#   BENCH_CONC          connections in flight                       (32)
#   BENCH_THREADS       generator threads                           (2)
#   CRL_BENCH_ENTRIES   entries of the CRL                          (1000000)
#   BENCH_KEEP=1        keep the temporary directory (configs, logs)
#   MOSQUITTO           the mosquitto binary     (/usr/sbin/mosquitto)
#   CC                  the compiler of the helpers                 (cc)
set -eu
ME=crl_mtls_bench
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$ROOT"
BUILD=$(cd "${1:-build}" && pwd -P)
BENCH_TIME=${BENCH_TIME:-2}
BENCH_WARMUP=${BENCH_WARMUP:-0.5}
BENCH_REPEAT=${BENCH_REPEAT:-7}
BENCH_COLD=${BENCH_COLD:-3}
BENCH_CALLGRIND=${BENCH_CALLGRIND:-1}
BENCH_CALLGRIND_N=${BENCH_CALLGRIND_N:-100}
BENCH_CONC=${BENCH_CONC:-32}
BENCH_THREADS=${BENCH_THREADS:-2}
CRL_BENCH_ENTRIES=${CRL_BENCH_ENTRIES:-1000000}
ENTRIES=$CRL_BENCH_ENTRIES
BENCH_KEEP=${BENCH_KEEP:-0}
MOSQUITTO=${MOSQUITTO:-/usr/sbin/mosquitto}
CC=${CC:-cc}
BROKER=$BUILD/staplemq-broker
FETCHERD=$BUILD/staplemq-fetcherd
GEN=$BUILD/bench/tls_hs
CRLGEN=$BUILD/bench/crl_gen
TCRL=$BUILD/tests/t_crl_lookup
PYTHON=/usr/bin/python3

need seconds BENCH_TIME BENCH_WARMUP
need counts BENCH_REPEAT BENCH_COLD BENCH_CONC BENCH_THREADS \
    CRL_BENCH_ENTRIES BENCH_CALLGRIND_N
[ -x "$BROKER" ] && [ -x "$FETCHERD" ] ||
    die "$BROKER or $FETCHERD is missing; run make first"
[ -x "$MOSQUITTO" ] || die "$MOSQUITTO is missing (apt-get install mosquitto)"

bench_cc "$GEN" tests/bench/tls_hs.c tests/bench/bench_client.c ||
    die "cannot build the generator"
$CC -O2 -o "$CRLGEN" tests/bench/crl_gen.c -lcrypto ||
    die "cannot build crl_gen"
# The lookup row comes from the unit test (cmocka); without it, a MISS.
make -s BUILD="$BUILD" "$TCRL" >/dev/null 2>&1 ||
    note "cannot build $TCRL (cmocka missing?): no lookup measurement"

# --- temporary directory, processes, cleanup --------------------------------

bench_begin staplemq-crl-mtls-bench
# The daemons drop root: they must reach their directories in here.
chmod 755 "$TMP"

# kib PID FIELD: a field of /proc/PID/smaps_rollup, or of status (Vm*), kB
kib() {
	case $2 in
	Vm*) f=/proc/$1/status ;;
	*) f=/proc/$1/smaps_rollup ;;
	esac
	awk -v k="$2:" '$1 == k { print $2; exit }' "$f" 2>/dev/null
}

# private PID: Private_Clean + Private_Dirty, kB
private() {
	echo $(( $(kib "$1" Private_Clean) + $(kib "$1" Private_Dirty) ))
}

# table_kib PID FIELD: FIELD summed over the CRL table mappings, kB
table_kib() {
	awk -v k="$2:" '/^[0-9a-f]+-[0-9a-f]+ / { t = ($NF ~ /crl-[0-9a-f]+\.tbl$/) }
	    t && $1 == k { s += $2 } END { print s + 0 }' "/proc/$1/smaps"
}

# --- PKI, CRL, responder ----------------------------------------------------

report_start
RESP_PORT=$(ports 1)
CRL_URL="http://127.0.0.1:$RESP_PORT/crl/intermediate.crl"
PKI=$TMP/pki
pki_make "$PKI" "$RESP_PORT"
REVOKED=$(openssl x509 -noout -serial -in "$PKI/client-revoked.pem")
REVOKED=${REVOKED#serial=}
GOOD=$(openssl x509 -noout -serial -in "$PKI/client.pem")
GOOD=${GOOD#serial=}
# A CRL number above the demo's, so it replaces the demo's CRL.
GEN_S=$(elapsed "$CRLGEN" "$PKI/intermediate.pem" "$PKI/intermediate.key" \
    "$ENTRIES" 100 "$PKI/crl/intermediate.crl" "$REVOKED")
[ -s "$PKI/crl/intermediate.crl" ] && ! grep -q '^exit' "$TMP/last.out" ||
    die "crl_gen: $(cat "$TMP/last.out")"
chmod 644 "$PKI/crl/intermediate.crl"
openssl crl -inform DER -in "$PKI/crl/intermediate.crl" -outform PEM \
    -out "$TMP/crl.pem" || die "cannot convert the CRL to PEM"
chmod 644 "$TMP/crl.pem"
# The good client must not be listed: its serial (20 octets, rand_serial)
# cannot be one of crl_gen's (16 octets); the run below proves it again.
case $GOOD in "$REVOKED") die "the good and revoked clients are one" ;; esac
CRL_BYTES=$(wc -c <"$PKI/crl/intermediate.crl")
echo "crl_mtls_bench: CRL of $ENTRIES + 1 entries, $CRL_BYTES bytes" \
    "(DER), made in ${GEN_S}s; $(openssl version | cut -d ' ' -f 1-2)," \
    "$("$MOSQUITTO" -h 2>/dev/null | head -n 1 | sed 's/ is an MQTT.*//')"

responder_start "$PKI" "$RESP_PORT"
smq_user

# --- configurations ---------------------------------------------------------

set -- $(ports 6)
CRL_PORT=$1
NOCRL_PORT=$2
CRL2_PORT=$3
NOCRL2_PORT=$4
MOSQ_PORT=$5
mkdir -p "$TMP/smq"
chmod 755 "$TMP/smq"

# smq_conf FILE CRL_PORT NOCRL_PORT
smq_conf() {
	cat >"$1" <<EOF
# staplemq for tests/bench/crl_mtls_bench.sh
node.runtime_dir = "$TMP/smq/run"
node.data_dir = "$TMP/smq/data"
node.user = "$SMQ_USER"
node.fetcher_user = "$SMQ_USER"
node.group = "$SMQ_GROUP"
log.level = notice
listeners.ssl.crl {
  bind = "127.0.0.1:$2"
  max_connections = 100000
  ssl_options {
    certfile = "$PKI/server-ec.pem"
    keyfile = "$PKI/server-ec.key"
    cacertfile = "$PKI/cacert.pem"
    versions = ["tlsv1.3"]
    verify = verify_peer
    fail_if_no_peer_cert = true
    enable_crl_check = true
  }
}
listeners.ssl.nocrl {
  bind = "127.0.0.1:$3"
  max_connections = 100000
  ssl_options {
    certfile = "$PKI/server-ec.pem"
    keyfile = "$PKI/server-ec.key"
    cacertfile = "$PKI/cacert.pem"
    versions = ["tlsv1.3"]
    verify = verify_peer
    fail_if_no_peer_cert = true
    reuse_sessions = false
  }
}
crl_cache.urls = ["$CRL_URL"]
crl_cache.max_size = 1GB
crl_cache.http_timeout = 300s
# A loaded machine may take longer than the default 10s to take in the
# CRL; the first client waits for it instead of being refused.
crl_cache.fetch_timeout = 120s
EOF
}
smq_conf "$TMP/smq.conf" "$CRL_PORT" "$NOCRL_PORT"
smq_conf "$TMP/smq2.conf" "$CRL2_PORT" "$NOCRL2_PORT"
# fetcherd --check --publish for the ingest row: directories of its own.
sed -e "s|$TMP/smq/|$TMP/check/|" -e "s|127.0.0.1:$CRL_PORT|127.0.0.1:1|" \
    -e "s|127.0.0.1:$NOCRL_PORT|127.0.0.1:2|" "$TMP/smq.conf" \
    >"$TMP/check.conf"

cat >"$TMP/mosq.conf" <<EOF
# mosquitto for tests/bench/crl_mtls_bench.sh: the same CRL, as crlfile
per_listener_settings false
allow_anonymous true
persistence false
user $(id -un)
set_tcp_nodelay true
connection_messages false
log_dest file $TMP/mosq.log
log_type error
log_type warning
listener $MOSQ_PORT 127.0.0.1
max_connections -1
cafile $PKI/cacert.pem
certfile $PKI/server-ec.pem
keyfile $PKI/server-ec.key
require_certificate true
crlfile $TMP/crl.pem
tls_version tlsv1.3
EOF

broker_start() {
	"$BROKER" -f -c "$1" >>"$TMP/broker.log" 2>&1 &
	SMQ_PID=$!
	PIDS="$PIDS $SMQ_PID"
}

fetcherd_start() {
	"$FETCHERD" -f -c "$TMP/smq.conf" >>"$TMP/fetcherd.log" 2>&1 &
	FD_PID=$!
	PIDS="$PIDS $FD_PID"
}

mosq_start() {
	"$MOSQUITTO" -c "$TMP/mosq.conf" >>"$TMP/mosq.out" 2>&1 &
	MOSQ_PID=$!
	PIDS="$PIDS $MOSQ_PID"
}

# once PORT [ARGS...]: one mTLS connection to CONNACK with the good
# client, waiting for the port; prints the generator's line.
once() {
	p=$1
	shift
	"$GEN" -connect "127.0.0.1:$p" -cert "$PKI/client-fullchain.pem" \
	    -key "$PKI/client.key" -mqtt -once -wait 60 -timeout 150 "$@"
}

# --- 1. memory: before and after the broker has the CRL -------------------

# control JSON: change the responder's behaviour (etc/demo-responder.py)
control() {
	$PYTHON -c 'import sys, urllib.request
r = urllib.request.Request(sys.argv[1], data=sys.argv[2].encode(),
    method="POST", headers={"Content-Type": "application/json"})
urllib.request.urlopen(r, timeout=10).read()' \
	    "http://127.0.0.1:$RESP_PORT/_control" "$1"
}

# The responder holds the CRL back for HOLD seconds: the broker and
# fetcherd are both up (their shared libraries shared) when "before" is
# read, and the CRL is the only thing that comes after.
HOLD=8
control "{\"crl_mode\": \"slow\", \"delay\": $HOLD}" ||
    die "cannot set the responder's crl_mode"
fetcherd_start
broker_start "$TMP/smq.conf"
HOLD_T0=$(date +%s)
# One mTLS connection on "nocrl" first: OpenSSL's lazily built state is in
# place before "before" is read.
once "$NOCRL_PORT" >/dev/null 2>"$TMP/gen.err" ||
    { cat "$TMP/gen.err" "$TMP/broker.log" >&2; die "staplemq did not start"; }
sleep 1
MEM0_PRIV=$(private "$SMQ_PID")
MEM0_ANON=$(kib "$SMQ_PID" Anonymous)
[ $(( $(date +%s) - HOLD_T0 )) -lt "$HOLD" ] ||
    note "the machine is slow: 'before' may have been read after the CRL"
# Paused in its handshake until the broker has the CRL; then the table is
# mapped and used.
once "$CRL_PORT" >/dev/null 2>"$TMP/gen.err" || {
	cat "$TMP/gen.err" >&2
	die "the good client was refused with the CRL ($TMP/broker.log)"
}
control '{"crl_mode": "normal"}' || die "cannot reset the responder"
sleep 1
MEM1_PRIV=$(private "$SMQ_PID")
MEM1_ANON=$(kib "$SMQ_PID" Anonymous)
TBL_RSS=$(table_kib "$SMQ_PID" Rss)
TBL_PRIV=$(table_kib "$SMQ_PID" Private_Clean)
GROWTH1=$((MEM1_PRIV - MEM0_PRIV))
ANON_GROWTH=$((MEM1_ANON - MEM0_ANON))
[ "$TBL_RSS" -gt 0 ] || note "no CRL table mapping found in the broker"
# A second broker on the same runtime directory maps the same table: its
# pages then count as shared in both, no longer as the first one's private.
SMQ1_PID=$SMQ_PID
broker_start "$TMP/smq2.conf"
SMQ2_PID=$SMQ_PID
SMQ_PID=$SMQ1_PID
if once "$CRL2_PORT" >/dev/null 2>"$TMP/gen.err"; then
	sleep 1
	TBL_PRIV2=$(table_kib "$SMQ_PID" Private_Clean)
	TBL_SHARED=$(table_kib "$SMQ_PID" Shared_Clean)
	MEM2_PRIV=$(private "$SMQ_PID")
	GROWTH=$((MEM2_PRIV - MEM0_PRIV))
else
	cat "$TMP/gen.err" >&2
	TBL_PRIV2=
	TBL_SHARED=
	MEM2_PRIV=?
	GROWTH=
fi
stop "$SMQ2_PID"
# Sanity: the revoked client is refused (by the CRL, not by chance).
if "$GEN" -connect "127.0.0.1:$CRL_PORT" -cert \
    "$PKI/client-revoked-fullchain.pem" -key "$PKI/client-revoked.key" \
    -mqtt -once -wait 10 -timeout 30 >/dev/null 2>"$TMP/gen.err"; then
	SMQ_REVOKED="accepted!"
else
	SMQ_REVOKED=refused
fi
alive "$SMQ_PID" || die "staplemq-broker died ($TMP/broker.log)"

# --- 2. lookups: the unit test's median of 1,000,000 ----------------------

LOOK_HIT=
LOOK_MISS=
if [ -x "$TCRL" ]; then
	: >"$TMP/lookup"
	for _ in $(seq "$BENCH_COLD"); do
		(cd tests/unit && "$TCRL") >"$TMP/tcrl.out" 2>&1 ||
		    { note "t_crl_lookup failed:"; tail -n 5 "$TMP/tcrl.out" >&2; }
		sed -n 's/.*lookup, median of [0-9]* (\(hits\|misses\)): *\([0-9.]*\) ns.*/\1 \2/p' \
		    "$TMP/tcrl.out" >>"$TMP/lookup"
	done
	LOOK_HIT=$(awk '$1 == "hits" { print $2 }' "$TMP/lookup" | median)
	LOOK_MISS=$(awk '$1 == "misses" { print $2 }' "$TMP/lookup" | median)
	LOOK_RUNS=$(awk '$1 == "hits" { printf "%s%s", s, $2; s = " " }' \
	    "$TMP/lookup")
fi

# --- 3. ingest: fetcherd --check --publish vs openssl crl -noout ----------

: >"$TMP/ingest.ossl"
: >"$TMP/ingest.fd"
for _ in $(seq "$BENCH_COLD"); do
	elapsed openssl crl -inform DER -noout \
	    -in "$PKI/crl/intermediate.crl" >>"$TMP/ingest.ossl"
	rm -rf "$TMP/check"
	mkdir "$TMP/check"
	chmod 755 "$TMP/check"
	t=$(elapsed "$FETCHERD" --check --publish -c "$TMP/check.conf")
	if grep -q "1 CRL source, 1 verified" "$TMP/last.out"; then
		echo "$t" >>"$TMP/ingest.fd"
	else
		note "fetcherd --check did not verify the CRL:"
		tail -n 5 "$TMP/last.out" >&2
	fi
done
INGEST_OSSL=$(median <"$TMP/ingest.ossl")
INGEST_FD=$(median <"$TMP/ingest.fd")

# --- 4. start-up and memory: staplemq, mosquitto -------------------------

# startup NAME PORT T0: append "accept_ms connack_ms" of the first
# connection to $TMP/start.NAME
startup() {
	if L=$(once "$2" 2>"$TMP/gen.err"); then
		echo "$L" | awk -v t0="$3" '{ for (i = 1; i < NF; i += 2)
		    v[$i] = $(i + 1); printf "%.1f %.1f\n",
		    (v["first_connect_ns"] - t0) / 1e6,
		    (v["first_done_ns"] - t0) / 1e6 }' >>"$TMP/start.$1"
		return 0
	fi
	cat "$TMP/gen.err" >&2
	return 1
}

: >"$TMP/start.smq"
: >"$TMP/start.mosq"
: >"$TMP/mem.smq"
: >"$TMP/mem.mosq"
# staplemq: the CRL persisted (runtime and data directories) and
# fetcherd up; the broker restarts.
for _ in $(seq "$BENCH_COLD"); do
	stop "$SMQ_PID"
	T0=$(date +%s%N)
	broker_start "$TMP/smq.conf"
	startup smq "$CRL_PORT" "$T0" ||
	    die "staplemq did not restart ($TMP/broker.log)"
	sleep 1
	echo "$(kib "$SMQ_PID" VmRSS) $(private "$SMQ_PID")" >>"$TMP/mem.smq"
done
MOSQ_PID=
for _ in $(seq "$BENCH_COLD"); do
	[ -z "$MOSQ_PID" ] || stop "$MOSQ_PID"
	T0=$(date +%s%N)
	mosq_start
	if ! startup mosq "$MOSQ_PORT" "$T0"; then
		tail -n 5 "$TMP/mosq.out" "$TMP/mosq.log" >&2 2>/dev/null || true
		die "mosquitto did not start or refused the good client"
	fi
	sleep 1
	echo "$(kib "$MOSQ_PID" VmRSS) $(private "$MOSQ_PID")" \
	    "$(kib "$MOSQ_PID" VmHWM)" >>"$TMP/mem.mosq"
done
if "$GEN" -connect "127.0.0.1:$MOSQ_PORT" -cert \
    "$PKI/client-revoked-fullchain.pem" -key "$PKI/client-revoked.key" \
    -mqtt -once -wait 10 -timeout 60 >/dev/null 2>"$TMP/gen.err"; then
	MOSQ_REVOKED="accepted!"
else
	MOSQ_REVOKED=refused
fi

# --- 5. handshakes: crl, nocrl, mosquitto in turn --------------------------

: >"$TMP/res.crl"
: >"$TMP/res.nocrl"
: >"$TMP/res.mosq"
# cell NAME PORT PID: one run, its line appended to $TMP/res.NAME
cell() {
	if out=$("$GEN" -connect "127.0.0.1:$2" \
	    -cert "$PKI/client-fullchain.pem" -key "$PKI/client.key" -mqtt \
	    -time "$BENCH_TIME" -warmup "$BENCH_WARMUP" -conc "$BENCH_CONC" \
	    -threads "$BENCH_THREADS" -timeout 20 -pid "$3" \
	    2>"$TMP/gen.err"); then
		echo "round $r $out" >>"$TMP/res.$1"
		[ ! -s "$TMP/gen.err" ] || sed "s/^/$ME: $1: /" \
		    "$TMP/gen.err" >&2
		return 0
	fi
	sed "s/^/$ME: $1: /" "$TMP/gen.err" >&2
	return 1
}

# settle PID: wait (10 s at most) until PID stops using CPU: mosquitto
# goes on with the handshakes of connections the generator gave up at
# the end of a cell, which would fall on the next cell.
settle() {
	a=-1
	for _ in $(seq 50); do
		b=$(awk '{ sub(/.*\) /, ""); print $12 + $13 }' \
		    "/proc/$1/stat" 2>/dev/null) || return 0
		[ "$a" != "$b" ] || return 0
		a=$b
		sleep 0.2
	done
}

CELLS="crl nocrl mosq"
r=1
while [ "$r" -le "$BENCH_REPEAT" ]; do
	for c in $CELLS; do
		case $c in
		crl) cell crl "$CRL_PORT" "$SMQ_PID" ||
		    note "staplemq with the CRL, round $r failed" ;;
		nocrl) cell nocrl "$NOCRL_PORT" "$SMQ_PID" ||
		    note "staplemq without the CRL, round $r failed" ;;
		mosq) cell mosq "$MOSQ_PORT" "$MOSQ_PID" || FAILED_REF=1 ;;
		esac
		settle "$MOSQ_PID"
		settle "$SMQ_PID"
		alive "$SMQ_PID" || die "staplemq-broker died ($TMP/broker.log)"
		alive "$MOSQ_PID" || die "mosquitto died ($TMP/mosq.log)"
	done
	# The next round runs them backwards: a drift of the machine's load
	# over a round falls on both sides of each pair alike.
	CELLS=$(echo "$CELLS" | tr ' ' '\n' | sed -n '1!G;h;$p' | tr '\n' ' ')
	r=$((r + 1))
done

# --- 6. cost per handshake without the noise: callgrind --------------------

# The broker's own instructions (user space, main thread) under valgrind
# --tool=callgrind over BENCH_CALLGRIND_N mTLS connections to CONNACK on
# each listener, after a warm-up that maps the table.  The other load of
# the machine changes how long an instruction takes, not how many there
# are: these numbers hold from run to run.  The kernel's share is not in
# them.  (mosquitto is left out: at 100 ms a handshake natively, callgrind
# would take minutes.)

# cg_count PORT: N connections to CONNACK on PORT; CG_PER: millions of
# the broker's instructions per connection.
cg_count() {
	l=$("$GEN" -connect "127.0.0.1:$1" -cert "$PKI/client-fullchain.pem" \
	    -key "$PKI/client.key" -mqtt -n "$BENCH_CALLGRIND_N" -time 900 \
	    -warmup 0 -conc 4 -timeout 120 2>>"$TMP/cg/gen.err") &&
	    [ "$(val "$l" total)" = "$BENCH_CALLGRIND_N" ] &&
	    [ "$(val "$l" failed)" = 0 ] && cg_dump "$BENCH_CALLGRIND_N"
}

CG_CRL=
CG_NOCRL=
if have_callgrind; then
	mkdir -p "$TMP/cg"
	set -- $(ports 2)
	# The same configuration on other ports and the same runtime
	# directory (the table is there); no sandbox under valgrind (it
	# costs no instruction in a handshake).
	smq_conf "$TMP/cg/staplemq.conf" "$1" "$2"
	echo "node.sandbox = false" >>"$TMP/cg/staplemq.conf"
	CG_OUT=$TMP/cg/broker.out
	cg_run "$TMP/cg/broker.log" "$BROKER" -f -c "$TMP/cg/staplemq.conf"
	if once "$1" -timeout 300 >/dev/null 2>>"$TMP/cg/gen.err" &&
	    once "$2" -timeout 300 >/dev/null 2>>"$TMP/cg/gen.err" &&
	    cg_dump && cg_count "$1" && CG_CRL=$CG_PER &&
	    cg_count "$2" && CG_NOCRL=$CG_PER; then
		:
	else
		note "the callgrind runs failed ($TMP/cg)"
	fi
	stop_now "$CG_PID"
fi

# --- the table -------------------------------------------------------------

# col FILE N: the median of column N of FILE
col() {
	awk -v n="$2" '{ print $n }' "$1" | median
}

mib() {
	[ -n "$1" ] && awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'
}

S_CRL=$(med crl rate)
S_NOCRL=$(med nocrl rate)
M_RATE=$(med mosq rate)

ROW_W=50
ROW_RULE=108
ROW_RATIO=near1
echo
row_head "scenario (unit)" staplemq reference ratio target result note
RATIO=$(paired crl nocrl) row "mTLS to CONNACK, CRL check on/off (conn/s)" \
    "$S_CRL" "$S_NOCRL" ge:0.95 "cpu% $(cpu_pair crl nocrl)"
RATIO=$(paired crl nocrl cpu) row "  per broker CPU-second, on/off" \
    "$(per_cpu crl)" "$(per_cpu nocrl)" info
row "  instructions per connection, on/off (M)" "$CG_CRL" "$CG_NOCRL" info \
    "callgrind, user space; lower is better"
row "broker private memory growth for the CRL (KiB)" "$GROWTH" "" max:1024 \
    "Private_Clean+Dirty, $MEM0_PRIV -> $MEM2_PRIV, 2 brokers"
row "  the same with one broker (KiB)" "$GROWTH1" "" info \
    "$MEM0_PRIV -> $MEM1_PRIV: its table pages count as private"
row "  of which the CRL table mapping (KiB)" "$TBL_PRIV" "" info \
    "clean file pages no other process maps; Rss $TBL_RSS"
row "  anonymous memory growth (KiB)" "$ANON_GROWTH" "" info \
    "heap, stacks: $MEM0_ANON -> $MEM1_ANON"
row "  table private once a 2nd broker maps it (KiB)" "$TBL_PRIV2" "" info \
    "its Shared_Clean: ${TBL_SHARED:-?} KiB"
row "CRL lookup, 1M entries, median, miss (ns)" "$LOOK_MISS" "" below:1000 \
    "a good client; t_crl_lookup"
row "CRL lookup, 1M entries, median, hit (ns)" "$LOOK_HIT" "" below:1000 \
    "a revoked one; runs: ${LOOK_RUNS:-none}"
row "ingest: fetcherd vs openssl crl -noout (s)" "$INGEST_FD" \
    "$INGEST_OSSL" le:1.5 "download+verify+table+publish vs parse"
echo
row_head "staplemq vs mosquitto, same CRL" staplemq mosquitto ratio
row "mTLS to CONNACK with the CRL (conn/s)" "$S_CRL" "$M_RATE" info \
    "cpu% $(cpu_pair crl mosq)"
row "  per server CPU-second" "$(per_cpu crl)" "$(per_cpu mosq)" info
row "start-up, exec to port accepting (ms)" "$(col "$TMP/start.smq" 1)" \
    "$(col "$TMP/start.mosq" 1)" info "staplemq: CRL persisted"
row "start-up, exec to first mTLS CONNACK (ms)" "$(col "$TMP/start.smq" 2)" \
    "$(col "$TMP/start.mosq" 2)" info
row "memory after start, VmRSS (MiB)" "$(mib "$(col "$TMP/mem.smq" 1)")" \
    "$(mib "$(col "$TMP/mem.mosq" 1)")" info \
    "mosquitto peak VmHWM $(mib "$(col "$TMP/mem.mosq" 3)") MiB"
row "memory after start, private (MiB)" "$(mib "$(col "$TMP/mem.smq" 2)")" \
    "$(mib "$(col "$TMP/mem.mosq" 2)")" info \
    "Private_Clean+Dirty; staplemq's counts the table mapping"
row "the revoked client" "$SMQ_REVOKED" "$MOSQ_REVOKED" info
echo
echo "ratio: on/off rows, the median of the rounds' own ratios; others," \
    "staplemq/reference."
echo "cpu%: the servers' CPU over the measured seconds (100 = one core);" \
    "generator CPU (median, crl/nocrl/mosquitto):" \
    "$(med crl client_cpu)/$(med nocrl client_cpu)/$(med mosq client_cpu)"
report_end
[ -n "$M_RATE" ] || FAILED_REF=1
[ -n "$INGEST_OSSL" ] || FAILED_REF=1
[ "$FAILED_REF" = 0 ] || die "a reference cell (mosquitto, openssl) failed"
exit 0
