#!/bin/sh
# psk_bench.sh [BUILD]: TLS-PSK connections, staplemq-broker and mosquitto
# (its psk_file listener) side by side on 127.0.0.1, with the same
# identity file, measured by tests/bench/psk_hs.
#
# A connection is a full handshake (never resumed) with a rotating
# identity, then MQTT CONNECT, the CONNACK and DISCONNECT: the CONNACK
# proves the server finished its side.  TLS 1.2 PSK-AES128-GCM-SHA256 and
# TLS 1.3 external PSK (TLS_AES_128_GCM_SHA256, psk_dhe_ke with X25519,
# the same client, so the same group and suite, for both).  Two parts:
#  1. Throughput: both servers up; for each row (version, client
#     threads), staplemq and mosquitto take turns, one under load at a
#     time, every other round in the opposite order, BENCH_REPEAT rounds.
#     The rates shown are medians; the ratios are the medians of each
#     round's own ratio (paired() below).  Short cells, many rounds: the
#     other load of a shared machine comes and goes within seconds; the
#     two cells of a pair, a second apart, mostly see the same, and the
#     median drops the pairs that did not.  "per server CPU-second"
#     divides each rate by the server's CPU share (user + system): the
#     cost of a handshake to the server, where the rate is set by the
#     client's side as much (both sides do the same X25519 work) and by
#     how much CPU the server gets next to its clients on 2 cores.
#  2. Instructions per handshake (valgrind --tool=callgrind, when
#     installed): each server alone, BENCH_CALLGRIND_N connections per
#     version after a warm-up, user space of the main thread.  The
#     machine's other load changes how long an instruction takes, not
#     how many there are: these hold from run to run.  The kernel's share
#     (accept, read, write, close) is not in them.
# Targets: staplemq/mosquitto >= 1.0 for every rate and per CPU-second
# row, <= 1.0 for instructions.  mosquitto sends two TLS 1.3 session
# tickets per handshake (it cannot be told not to); staplemq sends none to
# PSK clients (a ticket would outlive a reload that removed the identity):
# that work is in mosquitto's numbers, its client side (parsing them) in
# the rates.  This is a report, not a test: it exits 0 when every cell was
# measured (whatever the results), non-zero when the bench could not run
# or a mosquitto cell (the reference) failed; a staplemq cell that fails
# is a MISS.  tests/bench/run.sh calls it; it also runs on its own (about
# 2 minutes).
#
# Knobs (environment):
#   BENCH_TIME          seconds measured per cell                  (1)
#   BENCH_WARMUP        seconds of load before each measurement    (0.3)
#   BENCH_REPEAT        rounds, the median is kept                 (9)
#   BENCH_PSK_IDS       identities in the file                     (10000)
#   BENCH_PSK_CLIENTS   client thread counts, one row each         ("1 4")
#   BENCH_CALLGRIND     0: no instruction counts (part 2)           (1)
#   BENCH_CALLGRIND_N   connections counted under callgrind        (200)
#   BENCH_KEEP=1        keep the temporary directory (configs, logs)
#   MOSQUITTO           the mosquitto binary       (/usr/sbin/mosquitto)
#   CC                  the compiler of the client                (cc)
set -eu
ME=psk_bench
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$ROOT"
BUILD=$(cd "${1:-build}" && pwd -P)
BENCH_TIME=${BENCH_TIME:-1}
BENCH_WARMUP=${BENCH_WARMUP:-0.3}
BENCH_REPEAT=${BENCH_REPEAT:-9}
BENCH_PSK_IDS=${BENCH_PSK_IDS:-10000}
BENCH_PSK_CLIENTS=${BENCH_PSK_CLIENTS:-1 4}
BENCH_CALLGRIND=${BENCH_CALLGRIND:-1}
BENCH_CALLGRIND_N=${BENCH_CALLGRIND_N:-200}
BENCH_KEEP=${BENCH_KEEP:-0}
MOSQUITTO=${MOSQUITTO:-/usr/sbin/mosquitto}
CC=${CC:-cc}
BROKER=$BUILD/staplemq-broker
CLIENT=$BUILD/bench/psk_hs
PYTHON=/usr/bin/python3

need seconds BENCH_TIME BENCH_WARMUP
need counts BENCH_PSK_IDS BENCH_REPEAT BENCH_CALLGRIND_N BENCH_PSK_CLIENTS
[ -x "$BROKER" ] || die "$BROKER is missing; run make first"
[ -x "$MOSQUITTO" ] || die "$MOSQUITTO is missing (apt-get install mosquitto)"
bench_cc "$CLIENT" tests/bench/psk_hs.c tests/bench/bench_client.c ||
    die "cannot build the client"

# --- temporary directory, processes, cleanup -----------------------------------

bench_begin staplemq-psk-bench

# wait_port PORT [SECONDS]: until 127.0.0.1:PORT takes a TCP connection
wait_port() {
	$PYTHON - "$1" "${2:-10}" <<'EOF' || return 1
import socket, sys, time
deadline = time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
EOF
}

# --- identities, certificate, configurations --------------------------------------

PSK=$TMP/init.psk
umask 077
openssl rand -hex $((32 * BENCH_PSK_IDS)) | fold -w 64 |
    awk '{ printf "dev%07d:%s\n", NR, $0 }' >"$PSK"
[ "$(wc -l <"$PSK")" -eq "$BENCH_PSK_IDS" ] || die "cannot make $PSK"
# staplemq's ssl listeners need a certificate (RSA-PSK suites use it).
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 2 \
    -keyout "$TMP/server.key" -out "$TMP/server.pem" >"$TMP/req.log" 2>&1 ||
    die "openssl req failed"

smq_user

# smq_conf FILE DIR PORT [EXTRA]: staplemq's configuration
smq_conf() {
	mkdir -p "$2/run" "$2/data"
	cat >"$1" <<EOF
# staplemq-broker for tests/bench/psk_bench.sh
node.runtime_dir = "$2/run"
node.data_dir = "$2/data"
node.user = "$SMQ_USER"
node.group = "$SMQ_GROUP"
log.level = notice
listeners.ssl.psk {
  bind = "127.0.0.1:$3"
  max_connections = 100000
  ssl_options {
    certfile = "$TMP/server.pem"
    keyfile = "$TMP/server.key"
  }
}
psk_authentication {
  enable = true
  init_file = "$PSK"
}
${4:-}
EOF
}

# mosq_conf FILE LOG PORT: mosquitto's, a psk_file listener as staplemq's
mosq_conf() {
	cat >"$1" <<EOF
# mosquitto for tests/bench/psk_bench.sh
per_listener_settings false
allow_anonymous true
persistence false
user $(id -un)
set_tcp_nodelay true
connection_messages false
log_dest file $2
log_type error
log_type warning
psk_file $PSK
listener $3 127.0.0.1
max_connections -1
psk_hint staplemq
use_identity_as_username true
EOF
}

set -- $(ports 4)
SMQ_PORT=$1
MOSQ_PORT=$2
CG_SMQ_PORT=$3
CG_MOSQ_PORT=$4
smq_conf "$TMP/smq.conf" "$TMP/smq" "$SMQ_PORT"
mosq_conf "$TMP/mosq.conf" "$TMP/mosq.log" "$MOSQ_PORT"

"$BROKER" -f -c "$TMP/smq.conf" >"$TMP/smq.log" 2>&1 &
SMQ_PID=$!
PIDS="$PIDS $SMQ_PID"
"$MOSQUITTO" -c "$TMP/mosq.conf" >"$TMP/mosq.out" 2>&1 &
MOSQ_PID=$!
PIDS="$PIDS $MOSQ_PID"
if ! wait_port "$SMQ_PORT" || ! alive "$SMQ_PID"; then
	tail -n 20 "$TMP/smq.log" >&2
	die "staplemq did not start ($TMP/smq.conf)"
fi
if ! wait_port "$MOSQ_PORT" || ! alive "$MOSQ_PID"; then
	tail -n 20 "$TMP/mosq.out" "$TMP/mosq.log" >&2 2>/dev/null || true
	die "mosquitto did not start ($TMP/mosq.conf)"
fi
LOADED=$(sed -n 's/.*: \([0-9]* PSK identities loaded in [0-9]* ms\).*/\1/p' \
    "$TMP/smq.log" | head -n 1)

report_start
echo "psk_bench: $("$MOSQUITTO" -h 2>/dev/null | sed -n 's/^mosquitto //p' |
    head -n 1), $(openssl version | cut -d ' ' -f 1-2); $BENCH_PSK_IDS" \
    "identities; ${BENCH_TIME}s per cell after ${BENCH_WARMUP}s," \
    "medians of $BENCH_REPEAT rounds"

# --- 1. throughput ----------------------------------------------------------------

# cell NAME PORT PID VERSION CLIENTS: one run, its line appended to
# $TMP/res.NAME; non-zero when the client measured nothing or failed.
cell() {
	if out=$("$CLIENT" -p "$2" -P "$3" -f "$PSK" -v "$4" -c "$5" \
	    -t "$BENCH_TIME" -w "$BENCH_WARMUP" 2>"$TMP/client.err"); then
		echo "round $r $out" >>"$TMP/res.$1"
		return 0
	fi
	note "$1, round $r: $out $(head -c 300 "$TMP/client.err")"
	return 1
}

ROWS=""
for v in 1.2 1.3; do
	for c in $BENCH_PSK_CLIENTS; do
		ROWS="$ROWS ${v#1.}_$c"
	done
done
ORDER="smq mosq"
r=1
while [ "$r" -le "$BENCH_REPEAT" ]; do
	for row in $ROWS; do
		v=1.${row%_*}
		c=${row#*_}
		for who in $ORDER; do
			case $who in
			smq) cell "smq_$row" "$SMQ_PORT" "$SMQ_PID" "$v" "$c" ||
			    true ;;
			mosq) cell "mosq_$row" "$MOSQ_PORT" "$MOSQ_PID" "$v" \
			    "$c" || FAILED_REF=1 ;;
			esac
		done
		alive "$SMQ_PID" || die "staplemq died ($TMP/smq.log)"
		alive "$MOSQ_PID" || die "mosquitto died ($TMP/mosq.log)"
	done
	# The other one first next round: a drift of the machine's load
	# within a pair falls on each side as often.
	if [ "$ORDER" = "smq mosq" ]; then
		ORDER="mosq smq"
	else
		ORDER="smq mosq"
	fi
	r=$((r + 1))
done
stop "$SMQ_PID" "$MOSQ_PID"

# --- 2. instructions per handshake: callgrind -------------------------------------

# cg_start smq|mosq: that server under callgrind (CG_PID, CG_OUT,
# CG_PORT), warmed up with 20 connections of each version (lazy
# initialisation, caches), then a dump that the counts start from.
cg_start() {
	CG_OUT=$TMP/cg/$1.out
	CG_LOG=$TMP/cg/$1.log
	case $1 in
	smq)
		CG_PORT=$CG_SMQ_PORT
		# No sandbox under valgrind: it costs no instruction in a
		# handshake.
		smq_conf "$TMP/cg/smq.conf" "$TMP/cg/smq" "$CG_PORT" \
		    "node.sandbox = false"
		set -- "$BROKER" -f -c "$TMP/cg/smq.conf"
		;;
	mosq)
		CG_PORT=$CG_MOSQ_PORT
		mosq_conf "$TMP/cg/mosq.conf" "$TMP/cg/mosq.log" "$CG_PORT"
		set -- "$MOSQUITTO" -c "$TMP/cg/mosq.conf"
		;;
	esac
	cg_run "$CG_LOG" "$@"
	wait_port "$CG_PORT" 120 && alive "$CG_PID" &&
	    "$CLIENT" -p "$CG_PORT" -f "$PSK" -v 1.3 -n 20 -t 300 \
	    >/dev/null 2>>"$TMP/cg/client.err" &&
	    "$CLIENT" -p "$CG_PORT" -f "$PSK" -v 1.2 -n 20 -t 300 \
	    >/dev/null 2>>"$TMP/cg/client.err" &&
	    cg_dump
}

# cg_count VERSION: BENCH_CALLGRIND_N connections; CG_PER: millions of
# the server's instructions per connection.
cg_count() {
	l=$("$CLIENT" -p "$CG_PORT" -f "$PSK" -v "$1" -c 2 \
	    -n "$BENCH_CALLGRIND_N" -t 600 2>>"$TMP/cg/client.err") &&
	    [ "$(val "$l" ok)" = "$BENCH_CALLGRIND_N" ] &&
	    cg_dump "$BENCH_CALLGRIND_N"
}

CG_SMQ_12=
CG_SMQ_13=
CG_MOSQ_12=
CG_MOSQ_13=
if have_callgrind; then
	mkdir -p "$TMP/cg"
	for who in smq mosq; do
		if cg_start "$who" && cg_count 1.3 && c13=$CG_PER &&
		    cg_count 1.2; then
			case $who in
			smq) CG_SMQ_13=$c13 CG_SMQ_12=$CG_PER ;;
			mosq) CG_MOSQ_13=$c13 CG_MOSQ_12=$CG_PER ;;
			esac
		else
			note "callgrind run of $who failed ($TMP/cg)"
			[ "$who" = smq ] || FAILED_REF=1
		fi
		stop_now "$CG_PID"
	done
fi

# --- the table -----------------------------------------------------------------------

ROW_W=44
ROW_RULE=104
echo
row_head "scenario (unit)" staplemq mosquitto ratio target result note
for row in $ROWS; do
	c=${row#*_}
	case $row in
	2_*) name="TLS 1.2 PSK-AES128-GCM" ;;
	*) name="TLS 1.3 PSK, X25519" ;;
	esac
	name="$name, $c client$([ "$c" = 1 ] || echo s)"
	RATIO=$(paired "smq_$row" "mosq_$row") row "$name (conn/s)" \
	    "$(med "smq_$row" rate)" "$(med "mosq_$row" rate)" ge:1.0 \
	    "cpu% $(cpu_pair "smq_$row" "mosq_$row")"
	RATIO=$(paired "smq_$row" "mosq_$row" cpu) \
	    row "  per server CPU-second" "$(per_cpu "smq_$row")" \
	    "$(per_cpu "mosq_$row")" ge:1.0
done
row "instructions per handshake, TLS 1.2 (M)" "$CG_SMQ_12" "$CG_MOSQ_12" \
    le:1.0 "callgrind, user space; lower is better"
row "instructions per handshake, TLS 1.3 (M)" "$CG_SMQ_13" "$CG_MOSQ_13" \
    le:1.0 "mosquitto's include its 2 tickets"
echo
echo "ratio: the conn/s and CPU-second rows, the median of the rounds'" \
    "own ratios; instructions, staplemq/mosquitto."
echo "cpu%: the servers' CPU over the measured seconds (100 = one core)," \
    "medians."
echo "staplemq: ${LOADED:-identity load time not logged}"
report_end
[ "$FAILED_REF" = 0 ] || die "a mosquitto cell (the reference) failed"
exit 0
