# lib.sh: what the benchmark scripts share.  Sourced (POSIX sh) by run.sh
# and the *_bench.sh scripts, which set before they call anything here:
#   ME      the name their messages start with ("psk_bench")
#   ROOT    the source tree; PYTHON, the python3 to run helpers with
# and use, as the functions below set and read them:
#   TMP         the temporary directory, removed at exit (bench_begin)
#   PIDS        what is still to be stopped at exit: a script appends
#               each process it starts; stop and stop_now take it out
#   BENCH_KEEP  1: keep TMP at exit
#   FAILED_REF  1: a reference cell failed (the script exits non-zero)
#   START, TICKS0, PASSES, MISSES: the clock, the machine's CPU ticks and
#               the verdicts of row(), for the last lines (report_end)
# Result lines, of tests/bench/psk_hs and tls_hs, are "key value" pairs;
# each cell of a script appends "round R" and its line to $TMP/res.NAME.

# --- processes --------------------------------------------------------------

# Is PID running (and not a zombie)?
alive() {
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

# Stop what a script started, by pid, and wait for it to go.
stop_pid() {
	kill "$1" 2>/dev/null || return 0
	i=0
	while alive "$1" && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -9 "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# forget PID: take it out of PIDS.
forget() {
	PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ')
}

# stop PID...: stop them and forget them.
stop() {
	for s in "$@"; do
		stop_pid "$s"
		forget "$s"
	done
}

# stop_now PID: SIGKILL (valgrind's own exit may take long; the counts
# are dumped already), and forget it.
stop_now() {
	[ -n "$1" ] || return 0
	kill -9 "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	forget "$1"
}

# children PID: "pid:starttime" of each process whose parent is PID
# (nginx's workers); the start time tells a left-behind worker from a
# later process that got its pid.
children() {
	for f in /proc/[0-9]*/stat; do
		awk -v p="$1" '{ pid = $1; sub(/.*\) /, "")
		    if ($2 == p) print pid ":" $20 }' "$f" 2>/dev/null || true
	done
}

# stop_child PID:STARTTIME: stop it if it is still that process.
stop_child() {
	st=$(awk '{ sub(/.*\) /, ""); print $20 }' "/proc/${1%%:*}/stat" \
	    2>/dev/null) || return 0
	[ "$st" = "${1#*:}" ] || return 0
	kill "${1%%:*}" 2>/dev/null || return 0
	sleep 0.5
	st=$(awk '{ sub(/.*\) /, ""); print $20 }' "/proc/${1%%:*}/stat" \
	    2>/dev/null) || return 0
	[ "$st" != "${1#*:}" ] || kill -9 "${1%%:*}" 2>/dev/null || true
}

# --- messages, knobs, the build ---------------------------------------------

die() {
	echo "$ME: $*" >&2
	exit 1
}

note() {
	echo "$ME: $*" >&2
}

# need seconds|counts VAR...: die unless each VAR holds seconds (digits
# and dots) or counts (whole numbers above 0, one or more, blank-separated).
need() {
	kind=$1
	shift
	bad=0
	for n in "$@"; do
		eval "v=\${$n:-}"
		[ -n "$v" ] || bad=1
		for x in $v; do
			case $kind:$x in
			seconds:*[!0-9.]*|counts:*[!0-9]*|counts:0) bad=1 ;;
			esac
		done
	done
	[ "$bad" = 0 ] && return 0
	list=
	i=0
	for n in "$@"; do
		i=$((i + 1))
		if [ "$i" = 1 ]; then
			list=$n
		elif [ "$i" = $# ]; then
			list="$list and $n"
		else
			list="$list, $n"
		fi
	done
	case $kind:$# in
	seconds:1) die "$list is seconds" ;;
	seconds:*) die "$list are seconds" ;;
	counts:1) die "$list is a number above 0" ;;
	*) die "$list are numbers above 0" ;;
	esac
}

# bench_cc OUT ARGS...: build a bench program (sources and flags in ARGS)
# with the project's warnings, against OpenSSL, threaded.
bench_cc() {
	out=$1
	shift
	mkdir -p "$(dirname "$out")"
	${CC:-cc} -std=c11 -O2 -g -D_GNU_SOURCE -Wall -Wextra -Werror \
	    -Wshadow -Wpointer-arith -Wstrict-prototypes \
	    -Wmissing-prototypes -Wmissing-declarations -Wformat=2 -Wundef \
	    -Wvla -Wimplicit-fallthrough -o "$out" "$@" \
	    $(pkg-config --libs libssl libcrypto) -pthread
}

# smq_user: the user and group staplemq's daemons run as (SMQ_USER,
# SMQ_GROUP): as shipped, sandbox on, so that as root they become nobody
# (after opening their keys and files); else the caller.
smq_user() {
	if [ "$(id -u)" = 0 ]; then
		SMQ_USER=nobody
		SMQ_GROUP=$(id -gn nobody)
	else
		SMQ_USER=$(id -un)
		SMQ_GROUP=$(id -gn)
	fi
}

# --- temporary directory, cleanup, the machine ------------------------------

# bench_begin PREFIX: a temporary directory TMP named after PREFIX, no
# process yet, no verdict yet, the clock and the machine's CPU ticks from
# now; at exit (or on a signal) the processes still in PIDS, and any child
# they left behind, are stopped and TMP is removed.
bench_begin() {
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
	PIDS=""
	FAILED_REF=0
	PASSES=0
	MISSES=0
	START=$(date +%s)
	TICKS0=$(cpu_ticks)
	trap cleanup EXIT
	trap 'exit 1' HUP INT TERM
}

cleanup() {
	for p in $PIDS; do
		kids=$(children "$p")
		stop_pid "$p"
		for k in $kids; do
			stop_child "$k"	# nginx workers left behind, if any
		done
	done
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "$ME: kept $TMP" >&2
	else
		rm -rf "$TMP"
	fi
}

# cpu_ticks: "busy steal total" ticks of the machine, from /proc/stat.
# On a virtual machine the hypervisor may run others on our CPUs (steal):
# numbers measured then are lower and noisier (cpu_share says how much).
cpu_ticks() {
	awk '/^cpu / { b = $2 + $3 + $4 + $7 + $8
	    print b, $9, b + $5 + $6 + $9 }' /proc/stat
}

# cpu_share: how busy the machine was since TICKS0, and how much of it
# the hypervisor took.
cpu_share() {
	echo "$TICKS0 $(cpu_ticks)" | awk '{ t = $6 - $3; if (t > 0)
	printf "CPU time of the machine: %.0f%% busy, %.0f%% stolen by the" \
	    " hypervisor\n", 100 * ($4 - $1) / t, 100 * ($5 - $2) / t }'
}

# report_start: the first line, when and on what.
report_start() {
	echo "$ME: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(nproc) CPUs," \
	    "load $(cut -d ' ' -f 1-3 /proc/loadavg)"
}

# report_end: the verdicts, the time taken and the machine's CPU time.
report_end() {
	echo "results: $PASSES PASS, $MISSES MISS; total time:" \
	    "$(( $(date +%s) - START ))s, load at the end" \
	    "$(cut -d ' ' -f 1-3 /proc/loadavg)"
	cpu_share
}

# elapsed CMD...: seconds (float) that CMD takes; its output in
# $TMP/last.out, its exit status appended there when not 0.
elapsed() {
	$PYTHON -c 'import subprocess, sys, time
with open(sys.argv[1], "wb") as out:
    t0 = time.monotonic()
    rc = subprocess.call(sys.argv[2:], stdout=out, stderr=out)
    t = time.monotonic() - t0
    if rc:
        out.write(b"exit %d\n" % rc)
print("%.3f" % t)' "$TMP/last.out" "$@"
}

# --- ports, the demo PKI and its responder ----------------------------------

# ports N: N distinct free ports of 127.0.0.1
ports() {
	$PYTHON -c 'import socket, sys
ss = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in ss:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))' "$1"
}

# pki_make DIR PORT: the demo PKI (etc/demo-pki.sh) in DIR, its OCSP and
# CRL URLs on the responder at 127.0.0.1:PORT; DIR readable by daemons
# that dropped root.
pki_make() {
	OCSP_URL="http://127.0.0.1:$2" CRL_BASE_URL="http://127.0.0.1:$2/crl" \
	    "$ROOT/etc/demo-pki.sh" "$1" >"$TMP/pki.log" 2>&1 ||
	    { cat "$TMP/pki.log" >&2; die "etc/demo-pki.sh failed"; }
	chmod 755 "$1"
}

# responder_start PKI PORT: etc/demo-responder.py for PKI on PORT, up and
# listening; RESP_PID.
responder_start() {
	$PYTHON "$ROOT/etc/demo-responder.py" --pki "$1" --port "$2" \
	    >"$TMP/responder.log" 2>&1 &
	RESP_PID=$!
	PIDS="$PIDS $RESP_PID"
	for _ in $(seq 100); do
		grep -q "listening on" "$TMP/responder.log" 2>/dev/null && break
		sleep 0.1
	done
	grep -q "listening on" "$TMP/responder.log" ||
	    { cat "$TMP/responder.log" >&2; die "the responder did not start"; }
}

# --- callgrind: a server's instructions per connection ----------------------

# The server's own instructions (user space, main thread) under valgrind
# --tool=callgrind, dumped before and after a fixed number of connections.
# The other load of the machine changes how long an instruction takes, not
# how many there are: these hold from run to run.  The kernel's share
# (accept, read, write, close) is not in them.

# have_callgrind: BENCH_CALLGRIND is not 0 and valgrind is installed.
have_callgrind() {
	[ "${BENCH_CALLGRIND:-1}" = 1 ] &&
	    command -v valgrind >/dev/null 2>&1 &&
	    command -v callgrind_control >/dev/null 2>&1
}

# cg_run LOG CMD...: CMD under callgrind, its counts in CG_OUT (set by the
# caller) and dumps, its output in LOG; CG_PID.
cg_run() {
	log=$1
	shift
	CG_DUMPS=0
	valgrind --tool=callgrind --separate-threads=yes \
	    --callgrind-out-file="$CG_OUT" "$@" >"$log" 2>&1 &
	CG_PID=$!
	PIDS="$PIDS $CG_PID"
}

# cg_dump [N]: callgrind's counts since the last dump (main thread), in
# CG_IR; with N, the connections since, CG_PER: millions per connection.
cg_dump() {
	CG_PER=
	callgrind_control -d "$CG_PID" >>"$TMP/cg/control.log" 2>&1 ||
	    return 1
	CG_DUMPS=$((CG_DUMPS + 1))
	CG_IR=$(sed -n 's/^totals: //p;s/^summary: //p' \
	    "$CG_OUT.$CG_DUMPS-01" 2>/dev/null | head -n 1)
	[ -n "$CG_IR" ] || return 1
	[ -z "${1:-}" ] || CG_PER=$(awk -v i="$CG_IR" -v n="$1" 'BEGIN {
	    printf "%.3f", i / n / 1e6 }')
}

# --- the results and the table ----------------------------------------------

# val LINE KEY: the value of KEY in a result line
val() {
	echo "$1" | awk -v k="$2" '{ for (i = 1; i < NF; i += 2)
	    if ($i == k) { print $(i + 1); exit } }'
}

# median of the numbers on stdin (the lower of two middles), "" if none
median() {
	grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR)
	    print v[int((NR + 1) / 2)] }' || true
}

# med NAME KEY: the median of KEY over NAME's runs, "" when none
med() {
	[ -s "$TMP/res.$1" ] || return 0
	awk -v k="$2" '{ for (i = 1; i < NF; i += 2) if ($i == k)
	    print $(i + 1) }' "$TMP/res.$1" | median
}

# per_cpu NAME: the median of rate * 100 / server_cpu over NAME's runs
per_cpu() {
	[ -s "$TMP/res.$1" ] || return 0
	awk '{ for (i = 1; i < NF; i += 2) v[$i] = $(i + 1)
	    if (v["server_cpu"] > 0) printf "%.0f\n",
	    v["rate"] * 100 / v["server_cpu"] }' "$TMP/res.$1" | median
}

# paired A B [cpu]: the median over rounds of A's rate / B's rate in the
# same round (with "cpu": of the rates per server CPU-second); each round
# measures both within seconds, so the machine's other load, which comes
# and goes over longer times, falls on both sides of each ratio alike.
paired() {
	[ -s "$TMP/res.$1" ] && [ -s "$TMP/res.$2" ] || return 0
	awk -v cpu="${3:-}" '{ delete v
	    for (i = 1; i < NF; i += 2) v[$i] = $(i + 1)
	    x = v["rate"]
	    if (cpu != "" && v["server_cpu"] > 0)
		x = v["rate"] * 100 / v["server_cpu"]
	    else if (cpu != "")
		x = ""
	    if (FILENAME == ARGV[1]) a[v["round"]] = x
	    else if ((v["round"] in a) && a[v["round"]] != "" && x > 0)
		printf "%.4f\n", a[v["round"]] / x }' \
	    "$TMP/res.$1" "$TMP/res.$2" 2>/dev/null | median
}

# cpu_pair A B: "A/B", the median server CPU of each ("-" when none)
cpu_pair() {
	a=$(med "$1" server_cpu)
	b=$(med "$2" server_cpu)
	echo "${a:--}/${b:--}"
}

# The table: ROW_W, the width of its first column; ROW_RULE, of the rule
# under its head; ROW_RATIO, how ratios are shown: a printf format
# ("%.3f", the default) or "near1" (two decimals, three within 0.005 of 1,
# so that a ratio just under 1 is never shown as "1.00").

# row_head LABEL...: the head of a table, over as many columns as labels,
# and its rule.
row_head() {
	printf "%-${ROW_W}s" "$1"
	shift
	for cw in 10 10 7 7 -5 ""; do
		[ $# -gt 0 ] || break
		printf " %${cw}s" "$1"
		shift
	done
	echo
	printf "%${ROW_RULE}s\n" "" | tr ' ' -
}

# row NAME STAPLEMQ REFERENCE KIND [NOTE]: one line of the table.  The
# ratio is $RATIO when set, else STAPLEMQ/REFERENCE when both are numbers.
# KIND: "ge:X" or "le:X", the ratio against X (n/a when the reference is
# missing, MISS when staplemq's cell is); "max:X" or "below:X", staplemq's
# value itself (<= X, < X), no ratio; "text:TARGET:RESULT", a verdict
# judged by the caller; "info", none.  Verdicts are taken on the ratio
# before it is rounded for the table.
row() {
	s=$2
	m=$3
	rr=${RATIO:-}
	tgt=-
	res=-
	if [ -z "$rr" ] && [ -n "$s" ] && [ -n "$m" ]; then
		case $s$m in
		*[!0-9.]*) ;;	# not numbers: no ratio
		*) rr=$(awk -v s="$s" -v m="$m" 'BEGIN { if (m != 0)
		    printf "%.17g", s / m }') ;;
		esac
	fi
	case $4 in
	ge:*|le:*)
		tgt=">=${4#*:}"
		[ "${4%%:*}" = le ] && tgt="<=${4#*:}"
		if [ -n "$rr" ]; then
			res=$(verdict "$rr" "$4")
		elif [ -n "$s" ] && [ -z "$m" ]; then
			res=n/a		# the reference failed
		else
			res=MISS	# a cell that could not be measured
		fi
		;;
	max:*|below:*)
		rr=
		tgt="<=${4#*:}"
		[ "${4%%:*}" = below ] && tgt="<${4#*:}"
		if [ -n "$s" ]; then
			res=$(verdict "$s" "$4")
		else
			res=MISS
		fi
		;;
	text:*)
		t=${4#text:}
		tgt=${t%%:*}
		res=${t#*:}
		;;
	esac
	ratio=-
	[ -z "$rr" ] || ratio=$(awk -v r="$rr" -v f="${ROW_RATIO:-%.3f}" '
	    BEGIN { if (f == "near1")
		f = r >= 0.995 && r < 1.005 ? "%.3f" : "%.2f"
	    printf f, r }')
	case $res in
	PASS) PASSES=$((PASSES + 1)) ;;
	MISS) MISSES=$((MISSES + 1)) ;;
	esac
	printf "%-${ROW_W}s %10s %10s %7s %7s %-5s %s\n" "$1" "${s:--}" \
	    "${m:--}" "$ratio" "$tgt" "$res" "${5:-}"
}

# verdict VALUE KIND: PASS or MISS, VALUE against KIND's target
verdict() {
	awk -v v="$1" -v k="${2%%:*}" -v t="${2#*:}" 'BEGIN {
	    if (k == "ge") ok = v >= t
	    else if (k == "le" || k == "max") ok = v <= t
	    else ok = v < t
	    print ok ? "PASS" : "MISS" }'
}
