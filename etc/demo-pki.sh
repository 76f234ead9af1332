#!/bin/sh
# demo-pki.sh OUTDIR: make the demo PKI that `make run` and the integration
# tests use: a root CA, an intermediate CA with an `openssl ca` database
# (index.txt) that an OCSP responder reads, server chains (RSA and ECDSA),
# a delegated OCSP signer, a good and a revoked client, and CRLs.
#
# Everything is made by the openssl CLI, into a staging directory inside
# OUTDIR that is moved into place at the end, so a failed run leaves the
# previous PKI intact, a second run regenerates everything from scratch, and
# files in OUTDIR that this script did not make are left alone.  No prompts,
# no stdin.
#
# Knobs (environment):
#   OCSP_URL      AIA OCSP URI of the leaves     (http://127.0.0.1:8888)
#   CRL_BASE_URL  base of the CRL URIs           (http://127.0.0.1:8888/crl)
#                 leaves point at $CRL_BASE_URL/intermediate.crl (DER),
#                 the intermediate at $CRL_BASE_URL/root.crl
#   DAYS          validity of the leaves         (30)
#   CA_DAYS       validity of the two CAs        (3650)
#   CRL_DAYS      nextUpdate of the CRLs, days   ($DAYS)
#   SERVER_NAMES  space-separated DNS names (or IPs) of the server
#                 certificates; 127.0.0.1 is always added   (localhost)
#   OPENSSL       the openssl binary             (openssl)
set -eu
# SERVER_NAMES is split on spaces below; "*.example.com" must stay a name.
set -f

OCSP_URL=${OCSP_URL:-http://127.0.0.1:8888}
CRL_BASE_URL=${CRL_BASE_URL:-http://127.0.0.1:8888/crl}
DAYS=${DAYS:-30}
CA_DAYS=${CA_DAYS:-3650}
CRL_DAYS=${CRL_DAYS:-$DAYS}
SERVER_NAMES=${SERVER_NAMES:-localhost}
OPENSSL=${OPENSSL:-openssl}

# What this script makes in OUTDIR; only these names are ever replaced.
PRODUCTS="ca.pem ca.key intermediate.pem intermediate.key
	server-rsa.pem server-rsa.key server-rsa-leaf.pem
	server-ec.pem server-ec.key server-ec-leaf.pem
	ocsp-signer.pem ocsp-signer.key
	client.pem client.key client-fullchain.pem
	client-revoked.pem client-revoked.key client-revoked-fullchain.pem
	cacert.pem ocsp-issuer.pem
	index.txt index.txt.attr serial crlnumber newcerts
	index.txt.old index.txt.attr.old serial.old crlnumber.old
	intermediate-ca.cnf root-ca.cnf root-db csr crl
	intermediate.crl.pem intermediate.crl.der root.crl.pem
	.demo-pki"

usage() {
	echo "usage: demo-pki.sh OUTDIR" >&2
	exit 2
}

die() {
	echo "demo-pki: $*" >&2
	exit 1
}

check_knobs() {
	for v in "$DAYS" "$CA_DAYS" "$CRL_DAYS"; do
		case $v in
		''|*[!0-9]*|0) die "DAYS, CA_DAYS and CRL_DAYS must be" \
		    "positive integers (got '$v')" ;;
		esac
	done
	for u in "$OCSP_URL" "$CRL_BASE_URL"; do
		# The URLs go into an openssl config file: refuse what could
		# break out of a value there.
		case $u in
		http://*|https://*) ;;
		*) die "not an http(s) URL: '$u'" ;;
		esac
		case $u in
		*[!A-Za-z0-9:/._~%?=@+\[\]-]*) die "unsupported character in URL '$u'" ;;
		esac
	done
	for n in $SERVER_NAMES; do
		case $n in
		*[!A-Za-z0-9.*:-]*) die "bad server name '$n'" ;;
		esac
	done
	[ -n "$(first_name)" ] || die "SERVER_NAMES is empty"
}

# Run a command with its chatter in $LOG; show the log only if it fails,
# so a normal run prints one line.
run() {
	if ! "$@" >>"$LOG" 2>&1; then
		echo "demo-pki: failed: $*" >&2
		cat "$LOG" >&2
		exit 1
	fi
}

# newkey FILE rsa|ec: a private key readable by its owner only.
newkey() {
	case $2 in
	rsa) run "$OPENSSL" genpkey -algorithm RSA \
	    -pkeyopt rsa_keygen_bits:2048 -out "$1" ;;
	ec) run "$OPENSSL" genpkey -algorithm EC \
	    -pkeyopt ec_paramgen_curve:P-256 -out "$1" ;;
	esac
	chmod 600 "$1"
}

# A start date one hour back, so a peer whose clock is a little behind
# does not see "not yet valid"; empty where date(1) cannot compute it.
startdate() {
	now=$(date -u +%s)
	date -u -d "@$((now - 3600))" +%Y%m%d%H%M%SZ 2>/dev/null || true
}

# first_name: the first of SERVER_NAMES, the CN of the server certificates.
first_name() {
	for n in $SERVER_NAMES; do
		echo "$n"
		return
	done
}

# subject_alt_names: "DNS:a, DNS:b, IP:127.0.0.1" from SERVER_NAMES.
subject_alt_names() {
	san=""
	for n in $SERVER_NAMES; do
		case $n in
		*[!0-9.]*) case $n in *:*) t=IP ;; *) t=DNS ;; esac ;;
		*) t=IP ;;
		esac
		[ "$t:$n" = "IP:127.0.0.1" ] && continue
		san="${san}${t}:${n}, "
	done
	echo "${san}IP:127.0.0.1"
}

# write_configs DIR: the root and intermediate `openssl ca` configs, with
# their databases under DIR.  Called once for the staging directory and
# once more with the final OUTDIR, so the kept configs work in place
# (e.g. `openssl ca -config OUTDIR/intermediate-ca.cnf -revoke ...`).
write_configs() {
	d=$1
	cat >"$STAGE/root-ca.cnf" <<EOF
# root CA of the staplemq demo PKI (made by etc/demo-pki.sh)
[ ca ]
default_ca = root_ca

[ root_ca ]
dir = $d/root-db
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial
crlnumber = \$dir/crlnumber
rand_serial = yes
certificate = $d/ca.pem
private_key = $d/ca.key
default_md = sha256
default_days = $CA_DAYS
default_crl_days = $CRL_DAYS
policy = policy_any
email_in_dn = no
copy_extensions = none
unique_subject = no
crl_extensions = crl_ext

[ policy_any ]
organizationName = optional
commonName = supplied

[ req ]
distinguished_name = req_dn
prompt = no
[ req_dn ]
CN = unused

[ v3_root ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[ v3_intermediate ]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
crlDistributionPoints = URI:$CRL_BASE_URL/root.crl

[ crl_ext ]
authorityKeyIdentifier = keyid:always
EOF
	cat >"$STAGE/intermediate-ca.cnf" <<EOF
# intermediate CA of the staplemq demo PKI (made by etc/demo-pki.sh);
# index.txt here is the database the OCSP responder answers from.
[ ca ]
default_ca = intermediate_ca

[ intermediate_ca ]
dir = $d
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial
crlnumber = \$dir/crlnumber
rand_serial = yes
certificate = \$dir/intermediate.pem
private_key = \$dir/intermediate.key
default_md = sha256
default_days = $DAYS
default_crl_days = $CRL_DAYS
policy = policy_any
email_in_dn = no
copy_extensions = none
unique_subject = no
crl_extensions = crl_ext

[ policy_any ]
organizationName = optional
commonName = supplied

[ req ]
distinguished_name = req_dn
prompt = no
[ req_dn ]
CN = unused

[ server_rsa ]
basicConstraints = critical, CA:false
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
authorityInfoAccess = OCSP;URI:$OCSP_URL
crlDistributionPoints = URI:$CRL_BASE_URL/intermediate.crl
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = $SAN

[ server_ec ]
basicConstraints = critical, CA:false
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
authorityInfoAccess = OCSP;URI:$OCSP_URL
crlDistributionPoints = URI:$CRL_BASE_URL/intermediate.crl
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $SAN

[ client ]
basicConstraints = critical, CA:false
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
authorityInfoAccess = OCSP;URI:$OCSP_URL
crlDistributionPoints = URI:$CRL_BASE_URL/intermediate.crl
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth

[ ocsp_signer ]
basicConstraints = critical, CA:false
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, OCSPSigning
noCheck = ignored

[ crl_ext ]
authorityKeyIdentifier = keyid:always
EOF
}

# issue NAME KEYTYPE SECTION SUBJECT: key, CSR and certificate NAME signed
# by the intermediate with the extensions of SECTION.
issue() {
	newkey "$STAGE/$1.key" "$2"
	run "$OPENSSL" req -new -config "$STAGE/intermediate-ca.cnf" \
	    -key "$STAGE/$1.key" -subj "$4" -out "$STAGE/csr/$1.csr"
	run "$OPENSSL" ca -batch -notext -config "$STAGE/intermediate-ca.cnf" \
	    ${START:+-startdate "$START"} -extensions "$3" \
	    -in "$STAGE/csr/$1.csr" -out "$STAGE/$1.pem"
}

make_root() {
	newkey "$STAGE/ca.key" rsa
	run "$OPENSSL" req -new -config "$STAGE/root-ca.cnf" \
	    -key "$STAGE/ca.key" -subj "/O=staplemq demo/CN=staplemq demo root CA" \
	    -out "$STAGE/csr/ca.csr"
	run "$OPENSSL" ca -batch -notext -selfsign -config "$STAGE/root-ca.cnf" \
	    ${START:+-startdate "$START"} -extensions v3_root -in "$STAGE/csr/ca.csr" \
	    -out "$STAGE/ca.pem"
}

make_intermediate() {
	newkey "$STAGE/intermediate.key" rsa
	run "$OPENSSL" req -new -config "$STAGE/root-ca.cnf" \
	    -key "$STAGE/intermediate.key" \
	    -subj "/O=staplemq demo/CN=staplemq demo intermediate CA" \
	    -out "$STAGE/csr/intermediate.csr"
	run "$OPENSSL" ca -batch -notext -config "$STAGE/root-ca.cnf" \
	    ${START:+-startdate "$START"} -extensions v3_intermediate \
	    -in "$STAGE/csr/intermediate.csr" -out "$STAGE/intermediate.pem"
}

make_leaves() {
	first=$(first_name)
	issue server-rsa rsa server_rsa "/O=staplemq demo/CN=$first"
	issue server-ec ec server_ec "/O=staplemq demo/CN=$first"
	issue ocsp-signer ec ocsp_signer \
	    "/O=staplemq demo/CN=staplemq demo OCSP responder"
	issue client ec client "/O=staplemq demo/CN=device-good"
	issue client-revoked ec client "/O=staplemq demo/CN=device-revoked"
	for n in server-rsa server-ec; do
		mv "$STAGE/$n.pem" "$STAGE/$n-leaf.pem"
		cat "$STAGE/$n-leaf.pem" "$STAGE/intermediate.pem" \
		    >"$STAGE/$n.pem"
	done
	for n in client client-revoked; do
		cat "$STAGE/$n.pem" "$STAGE/intermediate.pem" \
		    >"$STAGE/$n-fullchain.pem"
	done
	cat "$STAGE/ca.pem" "$STAGE/intermediate.pem" >"$STAGE/cacert.pem"
	cp "$STAGE/intermediate.pem" "$STAGE/ocsp-issuer.pem"
}

# make_crls: revoke the bad client, then the CRLs of both CAs.  The crl/
# directory is what the demo responder serves under /crl/: DER under the
# names the certificates' distribution points give, PEM and DER beside.
make_crls() {
	run "$OPENSSL" ca -config "$STAGE/intermediate-ca.cnf" \
	    -revoke "$STAGE/client-revoked.pem" -crl_reason keyCompromise
	run "$OPENSSL" ca -gencrl -config "$STAGE/intermediate-ca.cnf" \
	    -out "$STAGE/intermediate.crl.pem"
	run "$OPENSSL" ca -gencrl -config "$STAGE/root-ca.cnf" \
	    -out "$STAGE/root.crl.pem"
	for c in intermediate root; do
		run "$OPENSSL" crl -in "$STAGE/$c.crl.pem" -outform DER \
		    -out "$STAGE/crl/$c.crl"
		cp "$STAGE/$c.crl.pem" "$STAGE/crl/$c.crl.pem"
		cp "$STAGE/crl/$c.crl" "$STAGE/crl/$c.crl.der"
	done
	cp "$STAGE/crl/intermediate.crl" "$STAGE/intermediate.crl.der"
}

# set_modes: certificates, CRLs and the index are public (the broker's
# user reads them); keys are the owner's alone.
set_modes() {
	set +f
	chmod 644 "$STAGE"/*.pem "$STAGE"/*.crl.der "$STAGE"/crl/* \
	    "$STAGE"/index.txt*
	chmod 600 "$STAGE"/*.key
	chmod 755 "$STAGE/crl"
	set -f
}

# install_products: replace our files in OUTDIR by the staged ones.
install_products() {
	write_configs "$OUTDIR"
	echo "staplemq demo PKI; regenerate with etc/demo-pki.sh" \
	    >"$STAGE/.demo-pki"
	chmod 644 "$STAGE/root-ca.cnf" "$STAGE/intermediate-ca.cnf"
	for p in $PRODUCTS; do
		rm -rf "${OUTDIR:?}/$p"
		[ ! -e "$STAGE/$p" ] || mv "$STAGE/$p" "$OUTDIR/$p"
	done
}

if [ $# -ne 1 ] || [ -z "$1" ]; then
	usage
fi
OUTDIR=$1
check_knobs
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd -P)
umask 077
STAGE=$(mktemp -d "$OUTDIR/.demo-pki.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
trap 'exit 1' HUP INT TERM
LOG=$STAGE/openssl.log
SAN=$(subject_alt_names)
START=$(startdate)

mkdir -p "$STAGE/csr" "$STAGE/crl" "$STAGE/newcerts" \
    "$STAGE/root-db/newcerts"
: >"$STAGE/index.txt"
: >"$STAGE/root-db/index.txt"
echo "unique_subject = no" >"$STAGE/index.txt.attr"
echo "unique_subject = no" >"$STAGE/root-db/index.txt.attr"
echo 01 >"$STAGE/crlnumber"
echo 01 >"$STAGE/root-db/crlnumber"
write_configs "$STAGE"

make_root
make_intermediate
make_leaves
make_crls
set_modes
rm -f "$LOG"
install_products

revoked=$("$OPENSSL" x509 -noout -serial -in "$OUTDIR/client-revoked.pem")
echo "demo-pki: $OUTDIR: root, intermediate, server-rsa, server-ec," \
    "ocsp-signer, client, client-revoked (${revoked#serial=}, revoked);" \
    "OCSP $OCSP_URL, CRL $CRL_BASE_URL/intermediate.crl, $DAYS days"
