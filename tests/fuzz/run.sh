#!/bin/sh
# tests/fuzz/run.sh MODE SECONDS - run every libFuzzer target in $FUZZ_O.
#   fuzz SECONDS    fuzz each target for SECONDS from its seeds (tests/fuzz/corpus/T)
#                   plus what earlier runs found ($FUZZ_O/corpus/T)
#   replay SECONDS  run each target over every kept input once (they are regression
#                   inputs: any crash fails), then fuzz it briefly for SECONDS
# Prints TAP lines ("ok - fuzz/T: N execs") and the executions per target.
# A crash leaves its input in $FUZZ_O/artifacts/T/: keep it in tests/fuzz/corpus/T/.
set -u
cd "$(dirname "$0")/../.." || exit 2
mode=$1 secs=$2
FUZZ_O=${FUZZ_O:-build/fuzz}
rc=0
for bin in "$FUZZ_O"/fuzz_*; do
	[ -x "$bin" ] || continue
	t=$(basename "$bin")
	seeds=tests/fuzz/corpus/$t
	work=$FUZZ_O/corpus/$t
	art=$FUZZ_O/artifacts/$t/
	mkdir -p "$seeds" "$work" "$art"
	log=$FUZZ_O/$t.log
	: > "$log"
	if [ "$mode" = replay ]; then
		n=$(find "$seeds" -type f | wc -l)
		if ! "$bin" -runs=0 -rss_limit_mb=2048 -timeout=10 -artifact_prefix="$art" "$seeds" >> "$log" 2>&1; then
			echo "not ok - fuzz/$t: a kept input fails (see $log)"; tail -30 "$log"; rc=1; continue
		fi
		echo "ok - fuzz/$t: $n kept inputs replayed"
	fi
	# -max_len: packets and documents are small; -timeout: a slow input is a finding
	if "$bin" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -max_len=8192 \
		-print_final_stats=1 -artifact_prefix="$art" "$work" "$seeds" >> "$log" 2>&1; then
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
		echo "ok - fuzz/$t: ${execs:-?} execs in ${secs}s"
	else
		echo "not ok - fuzz/$t: finding in $art (see $log)"; tail -30 "$log"; rc=1
	fi
done
exit $rc
