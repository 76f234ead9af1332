#!/bin/sh
# run-demo.sh BUILD: what `make run` runs.  Makes the demo PKI (etc/certs,
# never committed), starts the demo OCSP/CRL responder on 127.0.0.1:8888,
# then staplemq-fetcherd and staplemq-broker in the foreground on
# etc/staplemq.conf.  Ctrl-C stops all three.
set -eu

BUILD=${1:-build}
CERTS=etc/certs
CONF=etc/staplemq.conf
PORT=8888

if [ ! -f "$CERTS/ca.pem" ]; then
	OCSP_URL="http://127.0.0.1:$PORT" CRL_BASE_URL="http://127.0.0.1:$PORT/crl" \
	    ./etc/demo-pki.sh "$CERTS"
fi
mkdir -p demo

# As root, both daemons drop to users of their own (node.sandbox, README
# "Deploying with systemd"): make the users as a package would, give the
# broker its keys (it re-reads them on SIGHUP), and make sure the users can
# reach this directory at all.
if [ "$(id -u)" = 0 ]; then
	systemd-sysusers "$(pwd)/systemd/staplemq.sysusers"
	chown staplemq:staplemq "$CERTS"/server-*.key
	if ! setpriv --reuid=staplemq --regid=staplemq --clear-groups \
	    test -r "$CONF" -a -x demo; then
		echo "run-demo: user staplemq cannot read $(pwd)/$CONF: the" \
		    "daemons drop root after start-up; use a checkout others" \
		    "can read, or set node.sandbox = false in $CONF" >&2
		exit 1
	fi
fi

pids=""
stop() {
	trap - INT TERM EXIT
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	echo "run-demo: stopped"
	exit 0
}
trap stop INT TERM EXIT

/usr/bin/python3 etc/demo-responder.py --pki "$CERTS" --port "$PORT" &
pids="$pids $!"
# fetcherd's first fetch should find the responder answering.
/usr/bin/python3 - "$PORT" <<'PY'
import socket, sys, time
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()
        break
    except OSError:
        time.sleep(0.05)
PY
"$BUILD/staplemq-fetcherd" -f -c "$CONF" &
pids="$pids $!"
"$BUILD/staplemq-broker" -f -c "$CONF" &
pids="$pids $!"

cat <<MSG
run-demo: responder on http://127.0.0.1:$PORT, MQTT on 127.0.0.1:1883,
run-demo: MQTT over TLS on 127.0.0.1:8883 (CA: $CERTS/ca.pem).  Try:
    openssl s_client -connect 127.0.0.1:8883 -status -CAfile $CERTS/ca.pem
    mosquitto_sub -h 127.0.0.1 -p 8883 --cafile $CERTS/ca.pem -t demo/# -v
    mosquitto_pub -h 127.0.0.1 -p 8883 --cafile $CERTS/ca.pem -t demo/x -m hi
run-demo: Ctrl-C stops everything.
MSG
# Any one of them exiting ends the demo.
while :; do
	for p in $pids; do
		kill -0 "$p" 2>/dev/null || exit 1
	done
	sleep 1
done
