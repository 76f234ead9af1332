#!/bin/sh
# stapling_bench.sh [BUILD]: what OCSP stapling costs staplemq-broker, and
# staplemq next to nginx (Debian's, its http module's ssl_stapling), on
# 127.0.0.1, measured by tests/bench/tls_hs.
#
# Every connection is a TCP connect and a full TLS 1.3 handshake (ECDSA
# P-256 certificate of the demo PKI, X25519, never resumed) whose
# ClientHello asks for a staple (status_request), then a close: no MQTT,
# no HTTP request, so both servers are compared on the handshake alone.
#
# Two parts:
#  1. Cold starts (BENCH_COLD times): everything starts afresh with
#     nothing persisted or cached, the first handshake goes out as soon
#     as the port takes a TCP connection, then BENCH_TIME seconds of load;
#     every handshake from the first on counts for the stapled share:
#       - staplemq-fetcherd and staplemq-broker together (the broker's
#         stapling listener accepts once fetcherd published its staple);
#       - nginx, worker_processes 1, then worker_processes auto.
#  2. Throughput: one staplemq-broker with two ssl listeners on the same
#     certificate pair, "staple" (enable_ocsp_stapling = true) and
#     "plain" (false), fetcherd, nginx with 1 worker (staplemq is
#     single-threaded) and nginx with "auto" (for information), all
#     running; one under load at a time, in turn, every other round in
#     the opposite order, BENCH_REPEAT rounds.  The rates shown are
#     medians; the ratios are the medians of each round's own ratio
#     (paired() below): short cells taking turns within seconds spread the
#     other load of a shared machine over both sides of each ratio.
#  3. Instructions per handshake (valgrind --tool=callgrind, when
#     installed): staplemq with and without stapling, nginx with: the
#     servers' cost without the noise of a shared machine (user space
#     only; see part 3 below).  No target: for reading the rates.
# nginx: ssl_stapling on, ssl_stapling_verify on, ssl_trusted_certificate
# the CA bundle, ssl_stapling_responder the demo responder
# (etc/demo-responder.py), which also answers fetcherd.
#
# Targets: stapling on/off >= 0.97 (same broker); staplemq/nginx (1
# worker) >= 1.0; staplemq staples every handshake from the first.  The
# lines "per CPU-second" divide each rate by the server's CPU share: on
# two cores the generator's side of a handshake costs more than the
# server's, so the rate is set by the machine as much as by the server;
# those lines compare the servers' cost per handshake.  This is a report,
# not a test: it exits 0 when every cell was measured (whatever the
# results); non-zero when the bench could not run (build, PKI, responder,
# a server that does not start, or an nginx cell, the reference, that
# fails).  A staplemq cell that fails is a MISS.  tests/bench/run.sh may
# call it; it also runs on its own (about 2.5 minutes).
#
# Knobs (environment):
#   BENCH_TIME       seconds measured per cell                     (2)
#   BENCH_WARMUP     seconds of load before each throughput cell   (0.5)
#   BENCH_REPEAT     throughput rounds, the median is kept         (9)
#   BENCH_COLD       cold starts of each server                    (3)
#   BENCH_CALLGRIND  0: no instruction counts (part 3)              (1)
#   BENCH_CALLGRIND_N  handshakes counted under callgrind          (200)
#   BENCH_CONC       handshakes in flight                          (32)
#   BENCH_THREADS    generator threads                             (2)
#   BENCH_KEEP=1     keep the temporary directory (configs, logs)
#   NGINX            the nginx binary                 (/usr/sbin/nginx)
#   CC               the compiler of the generator                 (cc)
set -eu
ME=stapling_bench
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$ROOT"
BUILD=$(cd "${1:-build}" && pwd -P)
BENCH_TIME=${BENCH_TIME:-2}
BENCH_WARMUP=${BENCH_WARMUP:-0.5}
BENCH_REPEAT=${BENCH_REPEAT:-9}
BENCH_COLD=${BENCH_COLD:-3}
BENCH_CALLGRIND=${BENCH_CALLGRIND:-1}
BENCH_CALLGRIND_N=${BENCH_CALLGRIND_N:-200}
BENCH_CONC=${BENCH_CONC:-32}
BENCH_THREADS=${BENCH_THREADS:-2}
BENCH_KEEP=${BENCH_KEEP:-0}
NGINX=${NGINX:-/usr/sbin/nginx}
CC=${CC:-cc}
BROKER=$BUILD/staplemq-broker
FETCHERD=$BUILD/staplemq-fetcherd
GEN=$BUILD/bench/tls_hs
PYTHON=/usr/bin/python3

need seconds BENCH_TIME BENCH_WARMUP
need counts BENCH_REPEAT BENCH_COLD BENCH_CONC BENCH_THREADS BENCH_CALLGRIND_N
[ -x "$BROKER" ] && [ -x "$FETCHERD" ] ||
    die "$BROKER or $FETCHERD is missing; run make first"
[ -x "$NGINX" ] || die "$NGINX is missing (apt-get install nginx)"
bench_cc "$GEN" tests/bench/tls_hs.c tests/bench/bench_client.c ||
    die "cannot build the generator"

# --- temporary directory, processes, cleanup --------------------------------

bench_begin staplemq-stapling-bench
# The daemons drop root: they must reach their directories in here.
chmod 755 "$TMP"

# nginx_stop MASTER: the master, then any worker it left behind.
nginx_stop() {
	kids=$(children "$1")
	stop "$1"
	for k in $kids; do
		stop_child "$k"
	done
}

# --- PKI, responder ---------------------------------------------------------

RESP_PORT=$(ports 1)
pki_make "$TMP/pki" "$RESP_PORT"
responder_start "$TMP/pki" "$RESP_PORT"

smq_user
NGINX_USER=""
[ "$(id -u)" != 0 ] || NGINX_USER="user nobody $SMQ_GROUP;"

# --- servers ----------------------------------------------------------------

# smq_start NAME STAPLE_PORT PLAIN_PORT: fetcherd and the broker, in
# $TMP/NAME with nothing persisted; sets SMQ_PID and FD_PID.
smq_start() {
	d=$TMP/$1
	rm -rf "$d"
	mkdir -p "$d"
	chmod 755 "$d"
	cat >"$d/staplemq.conf" <<EOF
# staplemq for tests/bench/stapling_bench.sh
node.runtime_dir = "$d/run"
node.data_dir = "$d/data"
node.user = "$SMQ_USER"
node.fetcher_user = "$SMQ_USER"
node.group = "$SMQ_GROUP"
log.level = notice
listeners.ssl.staple {
  bind = "127.0.0.1:$2"
  max_connections = 100000
  ssl_options {
    certfile = "$TMP/pki/server-ec.pem"
    keyfile = "$TMP/pki/server-ec.key"
    versions = ["tlsv1.3"]
    ocsp.enable_ocsp_stapling = true
  }
}
listeners.ssl.plain {
  bind = "127.0.0.1:$3"
  max_connections = 100000
  ssl_options {
    certfile = "$TMP/pki/server-ec.pem"
    keyfile = "$TMP/pki/server-ec.key"
    versions = ["tlsv1.3"]
    ocsp.enable_ocsp_stapling = false
  }
}
EOF
	"$FETCHERD" -f -c "$d/staplemq.conf" >"$d/fetcherd.log" 2>&1 &
	FD_PID=$!
	PIDS="$PIDS $FD_PID"
	"$BROKER" -f -c "$d/staplemq.conf" >"$d/broker.log" 2>&1 &
	SMQ_PID=$!
	PIDS="$PIDS $SMQ_PID"
}

# nginx_start NAME PORT WORKERS: nginx in $TMP/NAME, nothing cached;
# sets NGINX_PID (the master).
nginx_start() {
	d=$TMP/$1
	rm -rf "$d"
	mkdir -p "$d/tmp"
	cat >"$d/nginx.conf" <<EOF
# nginx for tests/bench/stapling_bench.sh
$NGINX_USER
worker_processes $3;
error_log $d/error.log warn;
lock_file $d/nginx.lock;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $d/tmp/body;
  proxy_temp_path $d/tmp/proxy;
  fastcgi_temp_path $d/tmp/fastcgi;
  uwsgi_temp_path $d/tmp/uwsgi;
  scgi_temp_path $d/tmp/scgi;
  server {
    listen 127.0.0.1:$2 ssl;
    ssl_certificate $TMP/pki/server-ec.pem;
    ssl_certificate_key $TMP/pki/server-ec.key;
    ssl_protocols TLSv1.3;
    ssl_stapling on;
    ssl_stapling_verify on;
    ssl_trusted_certificate $TMP/pki/cacert.pem;
    ssl_stapling_responder http://127.0.0.1:$RESP_PORT/;
    location / { return 204; }
  }
}
EOF
	"$NGINX" -p "$d" -c "$d/nginx.conf" -e "$d/error.log" \
	    -g "daemon off; pid $d/nginx.pid;" >"$d/nginx.out" 2>&1 &
	NGINX_PID=$!
	PIDS="$PIDS $NGINX_PID"
}

# --- cells ------------------------------------------------------------------

# cell NAME PORT GENERATOR-ARGS...: one run, its line appended to
# $TMP/res.NAME; returns non-zero when the generator measured nothing.
cell() {
	n=$1
	p=$2
	shift 2
	if out=$("$GEN" -connect "127.0.0.1:$p" -status -time "$CELL_TIME" \
	    -warmup "$CELL_WARMUP" -conc "$BENCH_CONC" \
	    -threads "$BENCH_THREADS" -timeout 20 "$@" 2>"$TMP/gen.err"); then
		echo "round $r $out" >>"$TMP/res.$n"
		if [ -s "$TMP/gen.err" ]; then
			sed "s/^/$ME: $n: /" "$TMP/gen.err" >&2
		fi
		return 0
	fi
	sed "s/^/$ME: $n: /" "$TMP/gen.err" >&2
	return 1
}

# sum NAME KEY: the sum of KEY over NAME's runs
sum() {
	[ -s "$TMP/res.$1" ] || { echo 0; return 0; }
	awk -v k="$2" '{ for (i = 1; i < NF; i += 2) if ($i == k) s += $(i + 1)
	    } END { print s + 0 }' "$TMP/res.$1"
}

# count NAME KEY VALUE: runs of NAME whose KEY is VALUE
count() {
	[ -s "$TMP/res.$1" ] || { echo 0; return 0; }
	awk -v k="$2" -v want="$3" '{ for (i = 1; i < NF; i += 2)
	    if ($i == k && $(i + 1) == want) n++ } END { print n + 0 }' \
	    "$TMP/res.$1"
}

# first_ms NAME: median of (first_done_ns - first_connect_ns) in ms
first_ms() {
	[ -s "$TMP/res.$1" ] || return 0
	awk '{ for (i = 1; i < NF; i += 2) v[$i] = $(i + 1)
	    printf "%.1f\n", (v["first_done_ns"] - v["first_connect_ns"]) / 1e6
	    }' "$TMP/res.$1" | median
}

# cg_start NAME smq|nginx: the server under callgrind (its pid: CG_PID),
# warmed up: the first handshake (which also brings nginx its staple)
# and 20 more, then a dump that the counts start from.
cg_start() {
	CG_OUT=$TMP/cg/$1.out
	case $2 in
	smq)
		cg_run "$TMP/cg/$1.log" "$BROKER" -f -c "$TMP/cg/staplemq.conf"
		warm=$CG_STAPLE
		;;
	nginx)
		cg_run "$TMP/cg/$1.log" "$NGINX" -p "$TMP/cg" \
		    -c "$TMP/cg/nginx.conf" -e "$TMP/cg/error.log" \
		    -g "daemon off; master_process off; pid $TMP/cg/nginx.pid;"
		warm=$CG_NGINX_PORT
		;;
	esac
	"$GEN" -connect "127.0.0.1:$warm" -status -once -wait 120 \
	    -timeout 120 >/dev/null 2>>"$TMP/cg/gen.err" &&
	    "$GEN" -connect "127.0.0.1:$warm" -status -n 20 -time 600 \
	    -warmup 0 -conc 4 -timeout 120 >/dev/null 2>>"$TMP/cg/gen.err" &&
	    cg_dump
}

# cg_count PORT: N handshakes on PORT; CG_PER: millions of the server's
# instructions per handshake.
cg_count() {
	l=$("$GEN" -connect "127.0.0.1:$1" -status -n "$BENCH_CALLGRIND_N" \
	    -time 600 -warmup 0 -conc 4 -timeout 120 2>>"$TMP/cg/gen.err") &&
	    [ "$(val "$l" total)" = "$BENCH_CALLGRIND_N" ] &&
	    [ "$(val "$l" failed)" = 0 ] && cg_dump "$BENCH_CALLGRIND_N"
}

report_start
echo "stapling_bench: $("$NGINX" -v 2>&1 | sed 's/^nginx version: //')," \
    "$(openssl version | cut -d ' ' -f 1-2); TLS 1.3, ECDSA P-256, X25519;" \
    "$BENCH_CONC in flight from $BENCH_THREADS threads; ${BENCH_TIME}s" \
    "after ${BENCH_WARMUP}s, medians of $BENCH_REPEAT rounds;" \
    "$BENCH_COLD cold starts each"

NWORKERS=$(nproc)

# 1. Cold starts: the first handshake as soon as the port takes a TCP
# connection, then BENCH_TIME seconds of load; every handshake counts
# for the stapled share.  staplemq's fetcherd and broker start together
# with nothing persisted; each nginx starts with an empty cache.
CELL_TIME=$BENCH_TIME
CELL_WARMUP=0
r=1
while [ "$r" -le "$BENCH_COLD" ]; do
	set -- $(ports 3)
	smq_start cold-smq "$1" "$2"
	cell cold_smq "$1" -first -wait 30 -pid "$SMQ_PID" ||
	    note "staplemq cold start $r failed"
	alive "$SMQ_PID" || die "staplemq-broker died ($TMP/cold-smq)"
	stop "$SMQ_PID" "$FD_PID"
	for w in 1 auto; do
		nginx_start "cold-nginx-$w" "$3" "$w"
		cell "cold_nginx_$w" "$3" -first -wait 30 -ppid "$NGINX_PID" ||
		    FAILED_REF=1
		alive "$NGINX_PID" || die "nginx died ($TMP/cold-nginx-$w)"
		nginx_stop "$NGINX_PID"
	done
	r=$((r + 1))
done

# 2. Throughput: every server up at once, one under load at a time, the
# cells in turn (backwards every other round), so that the other
# engineers' load on the machine falls on all of them alike.
set -- $(ports 4)
SP=$1
PP=$2
N1P=$3
NAP=$4
smq_start smq "$SP" "$PP"
nginx_start nginx-1 "$N1P" 1
N1_PID=$NGINX_PID
nginx_start nginx-auto "$NAP" auto
NA_PID=$NGINX_PID
CELL_TIME=$BENCH_TIME
CELL_WARMUP=$BENCH_WARMUP
# A first handshake on each: staplemq waits for its staple, nginx fetches.
for p in "$SP" "$N1P" "$NAP"; do
	"$GEN" -connect "127.0.0.1:$p" -status -once -wait 30 >/dev/null ||
	    die "nothing accepts on 127.0.0.1:$p (logs: $TMP)"
done
sleep 1
CELLS="smq_on smq_off nginx_1 nginx_auto"
r=1
while [ "$r" -le "$BENCH_REPEAT" ]; do
	for c in $CELLS; do
		case $c in
		smq_on) cell smq_on "$SP" -pid "$SMQ_PID" ||
		    note "staplemq, stapling on, round $r failed" ;;
		smq_off) cell smq_off "$PP" -pid "$SMQ_PID" ||
		    note "staplemq, stapling off, round $r failed" ;;
		nginx_1) cell nginx_1 "$N1P" -ppid "$N1_PID" ||
		    FAILED_REF=1 ;;
		nginx_auto) cell nginx_auto "$NAP" -ppid "$NA_PID" ||
		    FAILED_REF=1 ;;
		esac
		alive "$SMQ_PID" || die "staplemq-broker died ($TMP/smq)"
	done
	# The next round runs them backwards: a drift of the machine's load
	# over a round falls on both sides of each pair alike.
	CELLS=$(echo "$CELLS" | tr ' ' '\n' | sed -n '1!G;h;$p' | tr '\n' ' ')
	r=$((r + 1))
done
# 3. Cost per handshake without the noise: the server's own instructions
# (user space, main thread) under valgrind --tool=callgrind, counted over
# BENCH_CALLGRIND_N handshakes after a warm-up.  The other load of the
# machine changes how long an instruction takes, not how many there are:
# these numbers hold from run to run.  The kernel's share (accept, read,
# write, close) is not in them.
CG_ON=
CG_OFF=
CG_NGINX=
if have_callgrind; then
	mkdir -p "$TMP/cg/tmp"
	chmod 755 "$TMP/cg"
	set -- $(ports 3)
	CG_STAPLE=$1
	CG_PLAIN=$2
	CG_NGINX_PORT=$3
	# Same configurations on other ports; the broker without its
	# sandbox under valgrind (the sandbox costs no instruction in a
	# handshake), nginx in one process (master_process off).
	sed -e "s|127.0.0.1:$SP\"|127.0.0.1:$CG_STAPLE\"|" \
	    -e "s|127.0.0.1:$PP\"|127.0.0.1:$CG_PLAIN\"|" \
	    "$TMP/smq/staplemq.conf" >"$TMP/cg/staplemq.conf"
	echo "node.sandbox = false" >>"$TMP/cg/staplemq.conf"
	sed -e "s|listen 127.0.0.1:$N1P ssl;|listen 127.0.0.1:$CG_NGINX_PORT ssl;|" \
	    -e "s|$TMP/nginx-1/|$TMP/cg/|g" "$TMP/nginx-1/nginx.conf" \
	    >"$TMP/cg/nginx.conf"
	if cg_start smq smq && cg_count "$CG_STAPLE" && CG_ON=$CG_PER &&
	    cg_count "$CG_PLAIN" && CG_OFF=$CG_PER; then
		:
	else
		note "callgrind runs of staplemq failed ($TMP/cg)"
	fi
	stop_now "$CG_PID"
	if cg_start nginx nginx && cg_count "$CG_NGINX_PORT" &&
	    CG_NGINX=$CG_PER; then
		:
	else
		note "callgrind runs of nginx failed ($TMP/cg)"
	fi
	stop_now "$CG_PID"
fi

alive "$RESP_PID" || die "the responder died ($TMP/responder.log)"

# --- the table -------------------------------------------------------------

pct() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", 100 * a / b }'
}

S_ON=$(med smq_on rate)
S_OFF=$(med smq_off rate)
N1=$(med nginx_1 rate)
NA=$(med nginx_auto rate)
S_ST=$(sum cold_smq stapled)
S_TOT=$(sum cold_smq total)
N1_ST=$(sum cold_nginx_1 stapled)
N1_TOT=$(sum cold_nginx_1 total)
NA_ST=$(sum cold_nginx_auto stapled)
NA_TOT=$(sum cold_nginx_auto total)
S_RUNS=$(cat "$TMP/res.cold_smq" 2>/dev/null | wc -l)
N1_RUNS=$(cat "$TMP/res.cold_nginx_1" 2>/dev/null | wc -l)
NA_RUNS=$(cat "$TMP/res.cold_nginx_auto" 2>/dev/null | wc -l)
S_FIRST=$(count cold_smq first yes)
N1_FIRST=$(count cold_nginx_1 first yes)
NA_FIRST=$(count cold_nginx_auto first yes)

# Judged on every cold start: one that failed is a MISS.
if [ "$S_RUNS" = "$BENCH_COLD" ] && [ "$S_TOT" -gt 0 ] &&
    [ "$S_ST" = "$S_TOT" ]; then
	SHARE_RES="text:=100 s:PASS"
else
	SHARE_RES="text:=100 s:MISS"
fi
if [ "$S_RUNS" = "$BENCH_COLD" ] && [ "$S_FIRST" = "$S_RUNS" ]; then
	FIRST_RES="text:all s:PASS"
else
	FIRST_RES="text:all s:MISS"
fi

ROW_W=48
ROW_RULE=106
echo
row_head "scenario (unit)" staplemq reference ratio target result note
RATIO=$(paired smq_on smq_off) row "stapling on/off, same broker (conn/s)" \
    "$S_ON" "$S_OFF" ge:0.97 "cpu% $(cpu_pair smq_on smq_off)"
RATIO=$(paired smq_on smq_off cpu) row "  per broker CPU-second, on/off" \
    "$(per_cpu smq_on)" "$(per_cpu smq_off)" info
RATIO=$(paired smq_on nginx_1) \
    row "staplemq vs nginx 1 worker, stapling (conn/s)" "$S_ON" "$N1" ge:1.0 \
    "cpu% $(cpu_pair smq_on nginx_1)"
RATIO=$(paired smq_on nginx_1 cpu) row "  per server CPU-second" \
    "$(per_cpu smq_on)" "$(per_cpu nginx_1)" info
RATIO=$(paired smq_on nginx_auto) \
    row "staplemq vs nginx auto ($NWORKERS workers) (conn/s)" "$S_ON" "$NA" \
    info "cpu% $(cpu_pair smq_on nginx_auto)"
row "stapled from the first, vs nginx 1 worker (%)" "$(pct "$S_ST" "$S_TOT")" \
    "$(pct "$N1_ST" "$N1_TOT")" "$SHARE_RES" \
    "$S_ST/$S_TOT vs $N1_ST/$N1_TOT handshakes"
row "stapled from the first, nginx auto (%)" "$(pct "$S_ST" "$S_TOT")" \
    "$(pct "$NA_ST" "$NA_TOT")" info "$NA_ST/$NA_TOT handshakes"
row "first handshake stapled (cold starts)" "$S_FIRST/$S_RUNS" \
    "$N1_FIRST/$N1_RUNS" "$FIRST_RES" "nginx auto: $NA_FIRST/$NA_RUNS"
row "first handshake, port open to done (ms)" "$(first_ms cold_smq)" \
    "$(first_ms cold_nginx_1)" info \
    "staplemq accepts once its staple is in"
row "instructions per handshake, on/off (M)" "$CG_ON" "$CG_OFF" info \
    "callgrind, user space; lower is better"
row "instructions per handshake vs nginx (M)" "$CG_ON" "$CG_NGINX" info \
    "both stapling"
row "cold start, load from the first (conn/s)" "$(med cold_smq rate)" \
    "$(med cold_nginx_1 rate)" info "cpu% $(cpu_pair cold_smq cold_nginx_1)"
echo
echo "ratio: the conn/s and CPU-second rows of the throughput part, the" \
    "median of the rounds' own ratios; the others, staplemq/reference."
echo "cpu%: the servers' CPU over the measured seconds (100 = one core);" \
    "generator CPU (median, staplemq on / nginx 1):" \
    "$(med smq_on client_cpu)/$(med nginx_1 client_cpu)"
report_end
[ -n "$N1" ] && [ -n "$NA" ] || FAILED_REF=1
[ "$FAILED_REF" = 0 ] || die "an nginx cell (the reference) failed"
exit 0
