#!/bin/sh
# install-deps.sh: the one place that lists the Debian packages staplemq needs
# to build, test, benchmark and run its demo.  It installs only what is
# missing, without prompts and without reading standard input, so it is safe
# in CI (CI=true, no stdin) and a no-op on a prepared machine.
set -eu

PKGS="
	make gcc pkg-config clang libclang-rt-14-dev
	libssl-dev libevent-dev libcurl4-openssl-dev libnng-dev libseccomp-dev
	libcmocka-dev
	openssl ca-certificates
	python3 python3-pytest python3-paho-mqtt python3-cryptography
	mosquitto mosquitto-clients nginx
	procps psmisc
	systemd strace man-db util-linux
"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = "installed" ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing (run as root to install)" >&2
	exit 1
fi
echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq </dev/null
# Debian's mosquitto and nginx packages start their own services on install;
# the benchmarks start their own instances, so keep the packaged ones quiet.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y -qq --no-install-recommends $missing </dev/null
