#!/bin/sh
# Soak, short (the full one is bench/soak.sh): real UDP traffic through the real queues while
# the policy changes several times a second (variants renamed into the policy directory, now
# and then an invalid file) and --log-allowed --log-rate 0 floods the verdict log. Every
# datagram is a new flow, so every one is judged, and every one is counted:
#   always-allowed ports  every variant allows them: each datagram must come back echoed
#   never-allowed ports   every variant denies them: none may reach the server
#   flipping ports        allowed by some variants, denied by others: every verdict line
#                         must equal `nfqwall explain` on the variant it names (each variant's
#                         policy is soak-vN and decides everything with an explicit rule), and
#                         each datagram's fate (server receipt, echo) must match its lines
# Also: the metrics against the log and what was sent, no thread or descriptor leak, /livez
# OK, nfqwall alive and exiting 0. Assertions are on correctness, never on timing; the rate
# is one a loaded 2-core machine sustains, and a datagram waits 8 s for its echo.
# Environment: SOAK_DURATION (s, 22), SOAK_RATE (datagrams/s, 80), SOAK_RELOADS (changes/s,
# 4), SOAK_FLOOD (flood datagrams/s, 400).
. "$(dirname "$0")/lib.sh"
need_root
SOAK="$PY $ROOT/tests/integ/soak.py"
DUR=${SOAK_DURATION:-22}
RATE=${SOAK_RATE:-80}
RELOADS=${SOAK_RELOADS:-4}
FLOOD=${SOAK_FLOOD:-400}
# kept small: `nfqwall explain` runs once per (variant, source, port) (slow under ASan)
NV=4
SRCS=192.0.2.16,192.0.2.17
FSRCS=192.0.2.64,192.0.2.65
PORTS="--always 7000-7001 --never 7100-7101 --flip 7200-7205"
T0=$(date +%s)
setup_net
for a in $(echo "$SRCS,$FSRCS" | tr , ' '); do nc_ ip addr add "$a/24" dev veth-c; done

if ! $SOAK variants --out "$WORK/variants" --n $NV --srcs $SRCS $PORTS \
	--explain "$NFQWALL" > "$WORK/variants.out" 2>&1; then
	cat "$WORK/variants.out"; fail "policy variants generated and checked with explain"; finish
fi
note "$(cat "$WORK/variants.out") ($(($(date +%s) - T0)) s)"
cp "$WORK/variants/v3/v0/hep.json" "$POLICY/hep.json"
cp "$WORK/variants/v3/v0/policy.json" "$POLICY/variant.json"

ip netns exec "$NODE" $SOAK serve --ports 7000-7001,7100-7101,7200-7205 \
	--receipts "$WORK/receipts" > "$WORK/serve.out" 2>&1 &
SERVE=$!
PIDS="$PIDS $SERVE"
start_nfqwall --log-allowed --log-rate 0 || exit 1
nn curl -sf --max-time 10 http://127.0.0.1:9417/metrics > "$WORK/metrics.start"
ip netns exec "$NODE" $SOAK sample --pid "$NFQ_PID" --out "$WORK/samples" --interval 1 \
	--metrics-every 3 > /dev/null 2>&1 &
SAMPLER=$!
PIDS="$PIDS $SAMPLER"
ip netns exec "$CLI" $SOAK flood --srcs $FSRCS --rate "$FLOOD" --duration "$DUR" \
	--out "$WORK/flood.json" > /dev/null 2> "$WORK/flood.err" &
FLOODER=$!
PIDS="$PIDS $FLOODER"
# shellcheck disable=SC2086 # PORTS holds several options
ip netns exec "$CLI" $SOAK traffic --srcs $SRCS $PORTS --rate "$RATE" --duration "$DUR" \
	--timeout 8 --out "$WORK/sent" > "$WORK/traffic.out" 2>&1 &
TRAFFIC=$!
PIDS="$PIDS $TRAFFIC"
sleep 2
$SOAK churn-dir --variants "$WORK/variants" --policy-dir "$POLICY" --n $NV --rate "$RELOADS" \
	--duration $((DUR - 8)) --invalid-every 12 --record "$WORK/churn" > "$WORK/churn.out" 2>&1
note "$(cat "$WORK/churn.out")"
wait $TRAFFIC
note "traffic: $(cat "$WORK/traffic.out") ($(($(date +%s) - T0)) s)"
wait $FLOODER
check "nfqwall is alive after the soak" kill -0 "$NFQ_PID"
check "/livez answers ok" sh -c "ip netns exec $NODE curl -sf --max-time 10 http://127.0.0.1:9417/livez | grep -qx ok"
kill "$SAMPLER"; wait "$SAMPLER"
nn curl -sf --max-time 10 http://127.0.0.1:9417/metrics > "$WORK/metrics.end"
DROPPED=$(awk '$1 == "nfqwall_log_dropped_total" { print $2 + 0 }' "$WORK/metrics.end")
check "SIGTERM exits 0" stop_nfqwall
kill "$SERVE"; wait "$SERVE"
note "stopped ($(($(date +%s) - T0)) s)"
# Sanitizer builds keep freed memory in quarantine: no RSS bound there (threads, descriptors
# and everything else are still checked).
RSS_BOUND=4096
grep -qa -e __asan_init -e __tsan_init "$NFQWALL" && RSS_BOUND=-1
$SOAK check --title "soak (policy directory, ${RELOADS} changes/s)" --variants "$WORK/variants" \
	--nfqwall "$NFQWALL" --log "$WORK/verdicts.log" --sent "$WORK/sent" \
	--receipts "$WORK/receipts" --flood "$WORK/flood.json" --metrics "$WORK/metrics.end" \
	--metrics-start "$WORK/metrics.start" \
	--log-dropped "${DROPPED:-0}" --churn "$WORK/churn" --converge 10 \
	--samples "$WORK/samples" --interval 1 --warmup 8 --rss-bound-kb $RSS_BOUND --fd-slack 2 \
	--sample 20 > "$WORK/check.out" 2>&1
rc=$?
sed 's/^/# /' "$WORK/check.out"
if [ $rc -eq 0 ]; then
	pass "every datagram accounted for, every verdict line equal to the reference"
else
	fail "the soak found violations (above)"
fi
note "took $(($(date +%s) - T0)) s"
if [ -n "${SOAK_KEEP:-}" ]; then rm -rf "$SOAK_KEEP"; cp -r "$WORK" "$SOAK_KEEP"; fi
finish
