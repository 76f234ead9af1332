#!/bin/sh
# psk_bench.sh [BUILD]: TLS-PSK connections per second, staplemq-broker
# and mosquitto (its psk_file listener) side by side on 127.0.0.1, with the
# same identity file, measured one broker at a time by tests/bench/psk_hs.
#
# A connection is a full handshake (never resumed) with a rotating
# identity, then MQTT CONNECT, the CONNACK and DISCONNECT: the CONNACK
# proves the server finished its side.  Rows: TLS 1.2 PSK-AES128-GCM-SHA256
# and TLS 1.3 external PSK (TLS_AES_128_GCM_SHA256, with (EC)DHE), with one
# sequential client and with several.  The ratio is staplemq/mosquitto;
# the target is >= 1.0.  This is a report, not a test: it exits 0 when
# every cell could be measured, non-zero when the bench could not run or a
# mosquitto cell (the reference) failed; a staplemq cell that fails is a
# MISS.  tests/bench/run.sh may call it; it also runs on its own.
#
# Knobs (environment):
#   BENCH_TIME          seconds measured per cell                  (3)
#   BENCH_WARMUP        seconds of load before each measurement    (1)
#   BENCH_PSK_IDS       identities in the file                     (10000)
#   BENCH_PSK_CLIENTS   client thread counts, one row each         ("1 4")
#   BENCH_KEEP=1        keep the temporary directory (configs, logs)
#   MOSQUITTO           the mosquitto binary       (/usr/sbin/mosquitto)
#   CC                  the compiler of the client                (cc)
set -eu
. "$(dirname "$0")/lib.sh"	# alive, stop_pid

ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$ROOT"
BUILD=$(cd "${1:-build}" && pwd -P)
BENCH_TIME=${BENCH_TIME:-3}
BENCH_WARMUP=${BENCH_WARMUP:-1}
BENCH_PSK_IDS=${BENCH_PSK_IDS:-10000}
BENCH_PSK_CLIENTS=${BENCH_PSK_CLIENTS:-1 4}
BENCH_KEEP=${BENCH_KEEP:-0}
MOSQUITTO=${MOSQUITTO:-/usr/sbin/mosquitto}
CC=${CC:-cc}
BROKER=$BUILD/staplemq-broker
CLIENT=$BUILD/bench/psk_hs

die() {
	echo "psk_bench: $*" >&2
	exit 1
}

case $BENCH_TIME$BENCH_WARMUP in
*[!0-9.]*) die "BENCH_TIME and BENCH_WARMUP are seconds" ;;
esac
case $BENCH_PSK_IDS in
''|*[!0-9]*|0) die "BENCH_PSK_IDS is a number above 0" ;;
esac
[ -x "$BROKER" ] || die "$BROKER is missing; run make first"
[ -x "$MOSQUITTO" ] || die "$MOSQUITTO is missing (apt-get install mosquitto)"

mkdir -p "$BUILD/bench"
$CC -std=c11 -O2 -g -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow \
    -Wpointer-arith -Wstrict-prototypes -Wmissing-prototypes \
    -Wmissing-declarations -Wformat=2 -Wundef -Wvla -o "$CLIENT" \
    tests/bench/psk_hs.c $(pkg-config --libs libssl libcrypto) -pthread ||
    die "cannot build the client"

# --- temporary directory, processes, cleanup -----------------------------------

TMP=$(mktemp -d "${TMPDIR:-/tmp}/staplemq-psk-bench.XXXXXX")
PIDS=""
FAILED_REF=0

cleanup() {
	for p in $PIDS; do
		stop_pid "$p"
	done
	if [ "$BENCH_KEEP" = 1 ]; then
		echo "psk_bench: kept $TMP" >&2
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() {
	python3 - "$1" <<'EOF' || return 1
import socket, sys, time
deadline = time.monotonic() + 10
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

# staplemq runs as shipped, sandbox on; as root it becomes nobody after
# reading its keys and the identity file.
if [ "$(id -u)" = 0 ]; then
	SMQ_USER=nobody
	SMQ_GROUP=$(id -gn nobody)
else
	SMQ_USER=$(id -un)
	SMQ_GROUP=$(id -gn)
fi
SMQ_PORT=$(free_port)
MOSQ_PORT=$(free_port)
while [ "$MOSQ_PORT" = "$SMQ_PORT" ]; do
	MOSQ_PORT=$(free_port)
done
mkdir -p "$TMP/smq/run" "$TMP/smq/data"
cat >"$TMP/smq.conf" <<EOF
# staplemq-broker for tests/bench/psk_bench.sh
node.runtime_dir = "$TMP/smq/run"
node.data_dir = "$TMP/smq/data"
node.user = "$SMQ_USER"
node.group = "$SMQ_GROUP"
log.level = notice
listeners.ssl.psk {
  bind = "127.0.0.1:$SMQ_PORT"
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
EOF
cat >"$TMP/mosq.conf" <<EOF
# mosquitto for tests/bench/psk_bench.sh: a psk_file listener, as staplemq's
per_listener_settings false
allow_anonymous true
persistence false
user $(id -un)
set_tcp_nodelay true
connection_messages false
log_dest file $TMP/mosq.log
log_type error
log_type warning
psk_file $PSK
listener $MOSQ_PORT 127.0.0.1
max_connections -1
psk_hint staplemq
use_identity_as_username true
EOF

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

# --- cells and rows -------------------------------------------------------------------

# cell PORT VERSION CLIENTS: the rate, or "" when the client failed.
cell() {
	out=$("$CLIENT" -p "$1" -f "$PSK" -v "$2" -c "$3" -t "$BENCH_TIME" \
	    -w "$BENCH_WARMUP" 2>&1) || {
		echo "psk_bench: port $1 TLS $2, $3 clients: $out" >&2
		return 0
	}
	echo "$out" | awk '{ print $2 }'
}

printf '\nTLS-PSK connections per second (handshake + CONNECT/CONNACK),\n'
printf '%s identities, %ss per cell after %ss of warm-up\n' \
    "$BENCH_PSK_IDS" "$BENCH_TIME" "$BENCH_WARMUP"
printf '%-34s %10s %10s %6s  %s\n' row staplemq mosquitto ratio target
for v in 1.2 1.3; do
	for c in $BENCH_PSK_CLIENTS; do
		s=$(cell "$SMQ_PORT" "$v" "$c")
		m=$(cell "$MOSQ_PORT" "$v" "$c")
		[ -n "$m" ] || FAILED_REF=1
		if [ -n "$s" ] && [ -n "$m" ]; then
			r=$(awk -v s="$s" -v m="$m" 'BEGIN { printf "%.2f", s / m }')
			res=$(awk -v r="$r" 'BEGIN { print (r >= 1.0 ? "ok" : "below") }')
		else
			r=-
			res=MISS
		fi
		case $v in
		1.2) name="TLS 1.2 PSK-AES128-GCM" ;;
		*) name="TLS 1.3 PSK (ECDHE)" ;;
		esac
		printf '%-34s %10s %10s %6s  >= 1.0 %s\n' \
		    "$name, $c client$( [ "$c" = 1 ] || echo s)" \
		    "${s:-MISS}" "${m:-FAIL}" "$r" "$res"
	done
done
printf 'staplemq: %s\n' "${LOADED:-identity load time not logged}"
alive "$SMQ_PID" || die "staplemq died during the bench ($TMP/smq.log)"
alive "$MOSQ_PID" || die "mosquitto died during the bench"
[ "$FAILED_REF" = 0 ] || die "a mosquitto cell failed"
