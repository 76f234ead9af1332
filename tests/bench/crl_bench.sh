#!/bin/sh
# crl_bench.sh [BUILD]: how long staplemq-fetcherd takes to take in a CRL
# of a million entries, next to how long `openssl crl -noout` takes just to
# parse the same file.
#
# A demo PKI (etc/demo-pki.sh), a CRL of CRL_BENCH_ENTRIES entries signed
# by its intermediate CA (tests/bench/crl_gen.c: `openssl ca -gencrl`
# over a million-line index.txt takes minutes), served over loopback by
# etc/demo-responder.py.  fetcherd is timed from start to exit with
# `--check --publish`: download, verify, table written to the runtime and
# data directories, snapshot published.  Best of CRL_BENCH_RUNS runs each.
# Prints the times, peak memory and the ratio fetcherd / openssl (target
# <= 1.5); exits 1 if fetcherd did not publish the CRL.
#
# Knobs (environment): CRL_BENCH_ENTRIES (1000000), CRL_BENCH_RUNS (3),
# CC (cc), OPENSSL (openssl), KEEP=1 keeps the work directory.
set -eu
ME=crl_bench
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
BUILD=${1:-$ROOT/build}
BUILD=$(cd "$BUILD" && pwd -P)
ENTRIES=${CRL_BENCH_ENTRIES:-1000000}
RUNS=${CRL_BENCH_RUNS:-3}
CC=${CC:-cc}
OPENSSL=${OPENSSL:-openssl}
BENCH_KEEP=${KEEP:-0}
PYTHON=/usr/bin/python3
FETCHERD=$BUILD/staplemq-fetcherd

[ -x "$FETCHERD" ] || die "no $FETCHERD: run make first"
bench_begin crl_bench
# fetcherd drops root (to node.fetcher_user): it must reach its
# directories in here.
chmod 755 "$TMP"

# the least of a list of numbers
least() {
	echo "$@" | tr ' ' '\n' | sort -g | head -n 1
}

# peak resident memory of "$@" in MiB (GNU time), or "?"
peak_mib() {
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -f '%M' -o "$TMP/rss" "$@" >/dev/null 2>&1 ||
		    true
		echo $(( $(tail -n 1 "$TMP/rss") / 1024 ))
	else
		echo "?"
	fi
}

PORT=$(ports 1)
URL="http://127.0.0.1:$PORT/crl/big.crl"

echo "crl_bench: demo PKI, $ENTRIES-entry CRL, responder on 127.0.0.1:$PORT"
pki_make "$TMP/pki" "$PORT"
"$CC" -O2 -o "$TMP/crl_gen" "$ROOT/tests/bench/crl_gen.c" -lcrypto
REVOKED=$("$OPENSSL" x509 -noout -serial -in "$TMP/pki/client-revoked.pem")
REVOKED=${REVOKED#serial=}
GEN=$(elapsed "$TMP/crl_gen" "$TMP/pki/intermediate.pem" \
    "$TMP/pki/intermediate.key" "$ENTRIES" 100 "$TMP/pki/crl/big.crl" \
    "$REVOKED")
[ -s "$TMP/pki/crl/big.crl" ] || die "crl_gen: $(cat "$TMP/last.out")"
SIZE=$(wc -c <"$TMP/pki/crl/big.crl")
echo "crl_bench: CRL of $SIZE bytes made in ${GEN}s"

responder_start "$TMP/pki" "$PORT"

cat >"$TMP/staplemq.conf" <<EOF
node.runtime_dir = "$TMP/run"
node.data_dir = "$TMP/data"
log.level = warning
listeners.ssl.bench {
  bind = "127.0.0.1:1"
  ssl_options.certfile = "$TMP/pki/server-ec.pem"
  ssl_options.keyfile = "$TMP/pki/server-ec.key"
  ssl_options.cacertfile = "$TMP/pki/cacert.pem"
  ssl_options.verify = verify_peer
  ssl_options.enable_crl_check = true
}
crl_cache.urls = ["$URL"]
crl_cache.max_size = 1GB
crl_cache.http_timeout = 300s
EOF

OSSL_TIMES= FD_TIMES=
for _ in $(seq "$RUNS"); do
	OSSL_TIMES="$OSSL_TIMES $(elapsed "$OPENSSL" crl -inform DER -noout \
	    -in "$TMP/pki/crl/big.crl")"
	rm -rf "$TMP/run" "$TMP/data"
	FD_TIMES="$FD_TIMES $(elapsed "$FETCHERD" --check --publish \
	    -c "$TMP/staplemq.conf")"
	grep -q "1 CRL source, 1 verified" "$TMP/last.out" ||
	    die "fetcherd did not verify the CRL: $(cat "$TMP/last.out")"
done
OSSL=$(least $OSSL_TIMES)
FD=$(least $FD_TIMES)

# The snapshot must name the CRL and its table must list the client.
"$PYTHON" - "$TMP/run" "$URL" "$ENTRIES" "$REVOKED" <<'EOF' ||
import hashlib, struct, sys
run, url, n, revoked = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
data = open(run + "/snapshot", "rb").read()
h = struct.unpack_from("<8sIIQqQIIIIIIII32s", data)
dp = hashlib.sha256(url.encode()).digest()
for i in range(h[9]):
    r = struct.unpack_from("<32s32sqqqQ32sII", data, h[8] + i * 136)
    if r[1] == dp and r[7] == 1:
        break
else:
    sys.exit("no CRL record for %s" % url)
t = open("%s/crl-%s.tbl" % (run, r[6].hex()), "rb").read()
assert hashlib.sha256(t).digest() == r[6], "table checksum"
count = struct.unpack_from("<Q", t, 16)[0]
assert count == r[5] == n + 1, (count, r[5], n + 1)
want = bytes.fromhex(revoked.rjust(len(revoked) + len(revoked) % 2, "0"))
want = want.lstrip(b"\0")
found = any(t[104 + 32 * i] == len(want) and
            t[105 + 32 * i:105 + 32 * i + len(want)] == want
            for i in range(count))
assert found, "the revoked client is not in the table"
EOF
    die "the published snapshot is wrong"

OSSL_MIB=$(peak_mib "$OPENSSL" crl -inform DER -noout \
    -in "$TMP/pki/crl/big.crl")
rm -rf "$TMP/run" "$TMP/data"
FD_MIB=$(peak_mib "$FETCHERD" --check --publish -c "$TMP/staplemq.conf")
RATIO=$("$PYTHON" -c "print('%.2f' % ($FD / $OSSL))")

echo "crl_bench: openssl crl -noout (parse only):      ${OSSL}s," \
    "${OSSL_MIB} MiB (runs:$OSSL_TIMES)"
echo "crl_bench: fetcherd download+verify+table+publish: ${FD}s," \
    "${FD_MIB} MiB (runs:$FD_TIMES)"
echo "crl_bench: ratio fetcherd/openssl = $RATIO (target <= 1.5)"
