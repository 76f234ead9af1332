# lib.sh: what every benchmark script needs to manage the processes it
# starts.  Sourced by run.sh and the *_bench.sh scripts (POSIX sh).

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
