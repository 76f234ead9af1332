#!/bin/sh
# run.sh BUILD: `make bench`: staplemq-broker and mosquitto side by side on
# 127.0.0.1, measured one at a time by tests/bench/mqtt_bench, and a table
# of both with the ratio staplemq/mosquitto (see BENCHMARKS.md).
#
# Both brokers run with the same certificate, limits and listeners, on
# ports picked at run time; each cell of the table is one bounded run of
# the load generator against one broker while the other sits idle.  This
# is a report, not a test: it exits 0 when every cell could be measured,
# whatever the ratios; non-zero when the bench itself could not run (the
# build, the PKI, a broker that does not start, or a cell that fails on
# mosquitto, the reference).  A cell that fails on staplemq is a MISS.
#
# Knobs (environment):
#   BENCH_TIME            seconds measured per cell                (3)
#   BENCH_WARMUP          seconds of load before each measurement  (1)
#   BENCH_CONNS           idle TLS connections of the memory row   (10000)
#   BENCH_REPEAT          runs per throughput cell, median kept    (1)
#                         (latency and handshakes: at least 3)
#   BENCH_ONLY            run only rows whose name contains this   (all)
#                         (and none of the other suites)
#   BENCH_SUITES          the other suites run after the MQTT table
#                         (psk stapling crl-ingest crl-mtls)
#   BENCH_KEEP=1          keep the temporary directory (configs, logs)
#   BENCH_STAPLEMQ_CONF   extra lines for staplemq's configuration
#   BENCH_MOSQUITTO_CONF  extra lines for mosquitto's configuration
#   MOSQUITTO             the mosquitto binary        (/usr/sbin/mosquitto)
#   CC                    the compiler of the load generator       (cc)
set -eu
ME=bench
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$ROOT"
BUILD=$(cd "${1:-build}" && pwd -P)
BENCH_TIME=${BENCH_TIME:-3}
BENCH_WARMUP=${BENCH_WARMUP:-1}
BENCH_CONNS=${BENCH_CONNS:-10000}
BENCH_ONLY=${BENCH_ONLY:-}
BENCH_REPEAT=${BENCH_REPEAT:-1}
BENCH_KEEP=${BENCH_KEEP:-0}
MOSQUITTO=${MOSQUITTO:-/usr/sbin/mosquitto}
CC=${CC:-cc}
BROKER=$BUILD/staplemq-broker
GEN=$BUILD/bench/mqtt_bench
PYTHON=/usr/bin/python3

need seconds BENCH_TIME BENCH_WARMUP
need counts BENCH_REPEAT
NEAR_REPEAT=$BENCH_REPEAT
[ "$NEAR_REPEAT" -ge 3 ] || NEAR_REPEAT=3
case $BENCH_CONNS in
''|*[!0-9]*) die "BENCH_CONNS is a number" ;;
esac
[ -x "$BROKER" ] || die "$BROKER is missing; run make first"
[ -x "$MOSQUITTO" ] || die "$MOSQUITTO is missing (apt-get install mosquitto)"

# --- the load generator -----------------------------------------------------

bench_cc "$GEN" -Ibroker -Icommon tests/bench/mqtt_bench.c \
    tests/bench/mqtt_bench_client.c tests/bench/mqtt_bench_msgs.c \
    tests/bench/mqtt_bench_conns.c tests/bench/bench_client.c \
    broker/mqtt_codec.c broker/mqtt_encode.c ||
    die "cannot build the load generator"

# --- temporary directory, processes, cleanup --------------------------------

bench_begin staplemq-bench

# --- PKI and limits ---------------------------------------------------------

./etc/demo-pki.sh "$TMP/pki" >"$TMP/pki.log" 2>&1 ||
    { cat "$TMP/pki.log" >&2; die "etc/demo-pki.sh failed"; }
chmod 600 "$TMP"/pki/*.key

# Each of the 10,000 idle connections is a descriptor in the broker and one
# in the generator; a process may raise its soft limit up to the hard one.
hard=$(ulimit -Hn)
[ "$hard" = unlimited ] && hard=1048576
[ "$hard" -gt 1048576 ] && hard=1048576
ulimit -n "$hard" 2>/dev/null || true
NOFILE=$(ulimit -n)
CONNS=$BENCH_CONNS
CONNS_NOTE=""
if [ $((NOFILE - 200)) -lt "$CONNS" ]; then
	CONNS=$((NOFILE - 200))
	CONNS_NOTE="open files limited to $NOFILE:"
	CONNS_NOTE="$CONNS_NOTE $CONNS connections, not $BENCH_CONNS"
fi

# --- configurations ---------------------------------------------------------

smq_user

# smq_conf NAME TCPPORT TLSPORT KEYTYPE: staplemq's bench configuration.
smq_conf() {
	mkdir -p "$TMP/$1/run" "$TMP/$1/data"
	cat >"$TMP/$1.conf" <<EOF
# staplemq-broker for tests/bench/run.sh; mosquitto gets the same.
node.runtime_dir = "$TMP/$1/run"
node.data_dir = "$TMP/$1/data"
node.user = "$SMQ_USER"
node.group = "$SMQ_GROUP"
log.level = warning
mqtt.max_inflight = 32
mqtt.max_mqueue_len = 100000
listeners.tcp.default {
  bind = "127.0.0.1:$2"
  max_connections = 100000
}
listeners.ssl.default {
  bind = "127.0.0.1:$3"
  max_connections = 100000
  ssl_options {
    certfile = "$TMP/pki/server-$4.pem"
    keyfile = "$TMP/pki/server-$4.key"
    versions = ["tlsv1.3"]
  }
}
${BENCH_STAPLEMQ_CONF:-}
EOF
}

# mosq_conf NAME TCPPORT TLSPORT KEYTYPE: the equivalent for mosquitto.
mosq_conf() {
	cat >"$TMP/$1.conf" <<EOF
# mosquitto for tests/bench/run.sh: what staplemq's bench config says.
per_listener_settings false
allow_anonymous true
persistence false
user $(id -un)
max_inflight_messages 32
max_queued_messages 100000
set_tcp_nodelay true
log_dest file $TMP/$1.log
log_type error
log_type warning
listener $2 127.0.0.1
max_connections -1
listener $3 127.0.0.1
max_connections -1
certfile $TMP/pki/server-$4.pem
keyfile $TMP/pki/server-$4.key
tls_version tlsv1.3
${BENCH_MOSQUITTO_CONF:-}
EOF
}

# --- brokers ----------------------------------------------------------------

# start KIND NAME KEYTYPE: start a broker on fresh ports; sets the
# variables NAME_pid, NAME_tcp, NAME_tls.
start() {
	set -- "$1" "$2" "$3" $("$GEN" ports 2)
	if [ "$1" = staplemq ]; then
		smq_conf "$2" "$4" "$5" "$3"
		"$BROKER" -f -c "$TMP/$2.conf" >>"$TMP/$2.log" 2>&1 &
	else
		mosq_conf "$2" "$4" "$5" "$3"
		"$MOSQUITTO" -c "$TMP/$2.conf" >>"$TMP/$2.out" 2>&1 &
	fi
	pid=$!
	PIDS="$PIDS $pid"
	eval "${2}_pid=$pid ${2}_tcp=$4 ${2}_tls=$5 ${2}_kind=$1 ${2}_key=$3"
	if ! "$GEN" wait -p "$4" -t 10 || ! "$GEN" wait -p "$5" -t 10 ||
	    ! alive "$pid"; then
		tail -n 20 "$TMP/$2.log" "$TMP/$2.out" 2>/dev/null >&2 || true
		die "$1 did not start (configuration $TMP/$2.conf)"
	fi
}

# stop_broker NAME: the broker start() started as NAME.
stop_broker() {
	eval "p=\$${1}_pid"
	stop "$p"
}

# A broker that died during a cell is started again for the next ones.
restart_if_dead() {
	eval "p=\$${1}_pid k=\$${1}_kind key=\$${1}_key"
	alive "$p" && return 0
	wait "$p" 2>/dev/null || true
	echo "bench: $k died; last lines of $TMP/$1.log:" >&2
	tail -n 5 "$TMP/$1.log" >&2 2>/dev/null || true
	start "$k" "$1" "$key"
	return 1
}

# --- cells and rows ---------------------------------------------------------

TABLE=$TMP/table
RES=""

# cell BROKER MODE ARGS...: one generator run.  Sets RES to its key=value
# line, or to "fail" when it could not measure, or "crash" when the broker
# died (which is then started again).  Not in a subshell: a restart
# changes the broker's variables.
cell() {
	cb=$1
	cm=$2
	shift 2
	eval "cpid=\$${cb}_pid"
	if RES=$("$GEN" "$cm" --pid "$cpid" -t "$BENCH_TIME" \
	    -W "$BENCH_WARMUP" "$@" 2>"$TMP/gen.err") && [ -n "$RES" ]; then
		:
	else
		RES=fail
		echo "bench: $cb: $cm $*: $(tail -n 3 "$TMP/gen.err" |
		    tr '\n' ' ')" >&2
	fi
	restart_if_dead "$cb" || RES=crash
}

# pair N MODE PORT ARGS...: N runs on each broker, alternating, so that a
# burst of other load on the machine hits both; PORT is tcp or tls.  The
# lines go to $TMP/res.smq and $TMP/res.mosq, with per_cpu= (the rate per
# second of the broker's CPU) added.
pair() {
	pn=$1
	pm=$2
	pk=$3
	shift 3
	: >"$TMP/res.smq"
	: >"$TMP/res.mosq"
	pi=0
	while [ "$pi" -lt "$pn" ]; do
		for pb in smq mosq; do
			eval "pp=\$${pb}_$pk"
			cell "$pb" "$pm" -p "$pp" "$@"
			echo "$RES" | awk '{
				for (i = 1; i <= NF; i++) {
					split($i, kv, "="); v[kv[1]] = kv[2]
				}
				if (v["broker_cpu"] > 0 && v["rate"] != "")
					$0 = $0 sprintf(" per_cpu=%.0f",
					    v["rate"] * 100 / v["broker_cpu"])
				print
			}' >>"$TMP/res.$pb"
		done
		pi=$((pi + 1))
	done
}

# kv_med BROKER KEY: the median of KEY over the last pair's runs on BROKER
# (the lower one of an even count), or fail/crash when none measured it.
kv_med() {
	tr ' ' '\n' <"$TMP/res.$1" | sed -n "s/^$2=//p" | sort -n |
	    awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }' |
	    grep . || grep -m 1 -x 'fail\|crash' "$TMP/res.$1" || true
}

# Formats rows "name|kind|unit|staplemq|mosquitto|cpu s|cpu m" (kind:
# "high", ratio >= 1 passes; "low", ratio <= 1 passes; "info", no
# target); with summary=1 prints only the count of PASS and MISS.
FORMAT='
function num(v) { return v ~ /^[0-9.]+$/ }
{
	s = $4; m = $5; ratio = "-"; res = "-"; tgt = "-"
	if ($2 == "high") tgt = ">=1.0"
	if ($2 == "low") tgt = "<=1.0"
	if (num(s) && num(m) && m > 0) {
		r = s / m
		# Never "1.00" beside a MISS.
		ratio = sprintf(r >= 0.995 && r < 1.005 ? "%.3f" : "%.2f", r)
		if ($2 == "high") res = r >= 1.0 ? "PASS" : "MISS"
		if ($2 == "low") res = r <= 1.0 ? "PASS" : "MISS"
	} else if (!num(m))
		res = "n/a"
	else if ($2 != "info")
		res = "MISS"
	if (res == "PASS") pass++
	if (res == "MISS") miss++
	cpu = ($6 == "" && $7 == "") ? "" : $6 "/" $7
	if (!summary)
		printf "%-40s %10s %10s %7s %6s %-5s %s\n", $1 " (" $3 ")",
		    s == "" ? "-" : s, m == "" ? "-" : m, ratio, tgt, res, cpu
}
END { if (summary) printf "ratios: %d PASS, %d MISS\n", pass, miss }'

# mqtt_row NAME KIND UNIT S M SCPU MCPU: one line of the table, printed
# now and kept for the summary.
mqtt_row() {
	l="$1|$2|$3|$4|$5|$6|$7"
	echo "$l" >>"$TABLE"
	echo "$l" | awk -F'|' -v summary=0 "$FORMAT"
	case $5 in
	''|fail|crash) FAILED_REF=1 ;;
	esac
}

header() {
	printf '%-40s %10s %10s %7s %6s %-5s %s\n' "scenario (unit)" staplemq \
	    mosquitto ratio target result "cpu% s/m"
	printf '%98s\n' "" | tr ' ' -
}

wanted() {
	case $1 in
	*"$BENCH_ONLY"*) return 0 ;;
	esac
	return 1
}

# tput_row QOS TOPO SIZE TRANSPORT
tput_row() {
	case $2 in
	1-1) topo="1->1" g="-P 1 -S 1" ;;
	10-10) topo="10->10" g="-P 10 -S 1" ;;
	1-100) topo="1->100" g="-P 1 -S 100" ;;
	esac
	case $4 in
	tcp) t="" ;;
	tls) t="-T" ;;
	esac
	name="QoS $1 $topo $3 B $(echo "$4" | tr a-z A-Z)"
	wanted "$name" || return 0
	pair "$BENCH_REPEAT" tput "$4" $t $g -q "$1" -s "$3"
	mqtt_row "$name" high msg/s "$(kv_med smq rate)" "$(kv_med mosq rate)" \
	    "$(kv_med smq broker_cpu)" "$(kv_med mosq broker_cpu)"
	for b in smq mosq; do
		if grep -q 'stalls=[1-9]' "$TMP/res.$b"; then
			NOTES="${NOTES}note: $name: messages to $b stopped"
			NOTES="$NOTES arriving for a second and were written off
"
		fi
	done
}

# Latency and handshakes come out close for both brokers, where a single
# run is at the mercy of the machine: the median of three.
latency_rows() {
	wanted "latency" || return 0
	pair "$NEAR_REPEAT" latency tcp -r 1000 -s 64
	mqtt_row "latency p50, QoS 0 1->1 1000/s TCP" info us \
	    "$(kv_med smq p50_us)" "$(kv_med mosq p50_us)" "" ""
	mqtt_row "latency p99, QoS 0 1->1 1000/s TCP" info us \
	    "$(kv_med smq p99_us)" "$(kv_med mosq p99_us)" "" ""
}

# handshake_row LABEL: full TLS 1.3 handshakes with CONNECT/CONNACK.
handshake_row() {
	name="TLS 1.3 handshakes $1"
	wanted "$name" || return 0
	pair "$NEAR_REPEAT" handshake tls -T -c 32 -j 2
	mqtt_row "$name" high "conn/s" "$(kv_med smq rate)" \
	    "$(kv_med mosq rate)" "$(kv_med smq broker_cpu)" \
	    "$(kv_med mosq broker_cpu)"
	# The client's side of an ECDSA handshake costs more than the
	# server's: with two cores the generator may be the limit, so the
	# rate per second of broker CPU is shown too.
	mqtt_row "  same, per broker CPU-second" info "conn/cpu-s" \
	    "$(kv_med smq per_cpu)" "$(kv_med mosq per_cpu)" "" ""
}

# memory_row tls|tcp: idle connections on freshly started brokers, so that
# memory freed by earlier runs does not hide the cost of the new ones.
memory_row() {
	if [ "$1" = tls ]; then
		name="memory per idle TLS connection" kind=low t=-T
	else
		name="memory per idle TCP connection" kind=info t=""
	fi
	wanted "$name" || return 0
	start staplemq smq ec
	start mosquitto mosq ec
	pair 1 idle "$1" $t -n "$CONNS" -c 64 -W 2
	stop_broker smq
	stop_broker mosq
	mqtt_row "$name, $CONNS conns" "$kind" B \
	    "$(kv_med smq per_conn_bytes)" "$(kv_med mosq per_conn_bytes)" "" ""
	n="$1: connections reached: staplemq $(kv_med smq conns), mosquitto"
	n="$n $(kv_med mosq conns) of $CONNS; VmRSS kB before/after: staplemq"
	n="$n $(kv_med smq rss_before_kb)/$(kv_med smq rss_after_kb), mosquitto"
	n="$n $(kv_med mosq rss_before_kb)/$(kv_med mosq rss_after_kb)"
	MEM_NOTE="$MEM_NOTE$n
"
}

# --- the run ----------------------------------------------------------------

# The run is timed from here (not from the PKI and the configurations).
START=$(date +%s)
TICKS0=$(cpu_ticks)
MEM_NOTE=""
NOTES=""
cpu=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)
smqv=$("$BROKER" --version 2>&1 | head -n 1 | awk '{ print $NF }')
mosqv=$("$MOSQUITTO" -h 2>&1 | head -n 1)
echo "staplemq bench: $(date -u '+%Y-%m-%d %H:%M UTC')," \
    "BENCH_TIME=${BENCH_TIME}s, warm-up ${BENCH_WARMUP}s," \
    "BENCH_REPEAT=$BENCH_REPEAT"
echo "machine: $(nproc) CPUs, $cpu, Linux $(uname -r)," \
    "load $(cut -d ' ' -f 1-3 /proc/loadavg)"
echo "versions: staplemq-broker $smqv, $mosqv," \
    "$(openssl version | cut -d ' ' -f 1-2)"
echo
header

# ECDSA P-256 certificate: throughput, latency and handshakes.
start staplemq smq ec
start mosquitto mosq ec
for tr in tcp tls; do
	for q in 0 1; do
		for topo in 1-1 10-10 1-100; do
			for size in 64 1024; do
				tput_row "$q" "$topo" "$size" "$tr"
			done
		done
	done
done
latency_rows
handshake_row "ECDSA P-256"
stop_broker smq
stop_broker mosq

# RSA-2048 certificate: handshakes.
if wanted "TLS 1.3 handshakes RSA-2048"; then
	start staplemq smq rsa
	start mosquitto mosq rsa
	handshake_row "RSA-2048"
	stop_broker smq
	stop_broker mosq
fi

# The TCP row tells staplemq's own per-connection cost from OpenSSL's.
memory_row tls
memory_row tcp

echo
[ -z "$MEM_NOTE" ] || printf '%s' "$MEM_NOTE"
[ -z "$NOTES" ] || printf "%s" "$NOTES"
[ -z "$CONNS_NOTE" ] || echo "note: $CONNS_NOTE"
[ ! -s "$TABLE" ] || awk -F'|' -v summary=1 "$FORMAT" "$TABLE"
echo "total time: $(( $(date +%s) - START ))s," \
    "load at the end $(cut -d ' ' -f 1-3 /proc/loadavg)"
cpu_share

# The other suites, each side by side with its own reference: TLS-PSK
# against mosquitto's psk_file, stapling against nginx, a 1,000,000-entry
# CRL against `openssl crl` and mosquitto's crlfile.  BENCH_ONLY (a row
# filter of this script) skips them; BENCH_SUITES picks some.
EXTRA_FAILED=0
if [ -z "$BENCH_ONLY" ]; then
	for suite in ${BENCH_SUITES:-psk stapling crl-ingest crl-mtls}; do
		case $suite in
		psk)		script=psk_bench.sh ;;
		stapling)	script=stapling_bench.sh ;;
		crl-ingest)	script=crl_bench.sh ;;
		crl-mtls)	script=crl_mtls_bench.sh ;;
		*)		echo "bench: unknown suite $suite" >&2
				EXTRA_FAILED=1; continue ;;
		esac
		echo
		echo "== $suite ($script)"
		"$(dirname "$0")/$script" "$BUILD" || EXTRA_FAILED=1
	done
fi
if [ "$FAILED_REF" = 1 ] || [ "$EXTRA_FAILED" = 1 ]; then
	echo "bench: some cells could not be measured" >&2
	exit 1
fi
exit 0
