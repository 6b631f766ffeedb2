#!/bin/sh
# bench/run.sh - what `make bench` runs (O = the build directory): the lookup bench, then
# the data-path bench (root only: network namespaces, iptables, NFQUEUE). Every figure is
# printed with the command that produced it; bench/RESULTS.md records them.
set -u
cd "$(dirname "$0")/.." || exit 2
O=${O:-build}
export O
rc=0

echo "== $O/bench/lookup"
"$O/bench/lookup" || rc=1

echo
echo "== bench/datapath.sh"
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: bench/datapath.sh needs root (network namespaces, iptables, NFQUEUE);" \
	     "run: sudo make bench (or sudo O=$O bench/datapath.sh)"
else
	bench/datapath.sh
	st=$?
	if [ $st -eq 77 ]; then
		echo "(bench/datapath.sh skipped)"
	elif [ $st -ne 0 ]; then
		rc=1
	fi
fi
exit $rc
