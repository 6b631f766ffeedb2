#!/bin/bash
# bench/soak.sh - nfqwall under load and churn for minutes, every packet counted (root only;
# issue 8, section 4). tests/integ/soak.sh is the short version that make check runs.
#
# Two phases, each in a fresh pair of network namespaces (IPv4 only):
#   nfqs-n<pid> (the node, nfqwall)  veth-n 192.0.2.1/24  ==veth==  veth-c  nfqs-c<pid> (clients)
#   clients: 192.0.2.16-23 (counted flows), 192.0.2.64-71 (the log flood)
#
#   dir  nfqwall run --policy-dir: SOAK_RELOADS times a second a new policy variant is
#        renamed into the directory (and every 25th change an invalid file appears, to be
#        removed with the next change: the last good table must stay enforced meanwhile)
#   k8s  nfqwall run --kubernetes against tests/k8s/apiserver.py (TLS, token, port 6443 in
#        the node namespace, --no-cache-ignores-limit so that every list is paged) holding
#        the HostEndpoint and 600 filler policies (two list pages). SOAK_RELOADS times a
#        second the next variant is created through the API and the previous one deleted,
#        while every SOAK_FAULT_EVERY seconds the server's fault
#        injection breaks it in another way: every list/watch answering 500 for 6 s, the
#        server down (connections refused) for 4 s, its watch history restarted (410 and a
#        relist), watches reset, 429 with Retry-After, stalled lists and watches, events split
#        into 3-byte chunks, watches cut mid-event, a compaction between list pages (410 on
#        the continue), lists answering 503. Then the faults stop, one last change is made,
#        and nfqwall must enforce it within 60 s (the reflectors back off up to 30 s).
#
# In both phases, for the whole phase (plus a settling time):
#   - counted traffic, SOAK_RATE new UDP flows a second, each from a fresh (address, port),
#     to three classes of ports: always allowed by every variant, never allowed by any,
#     and flipping between variants. After its echo a flow sends a second datagram within
#     1 s, usually under another table, so established flows are re-judged under churn;
#   - the verdict log flooded: --log-allowed --log-rate 0 and SOAK_FLOOD more new flows a
#     second (raw socket, allowed by every variant, no echo);
#   - a sampler: VmRSS, Threads, /proc/PID/fd and /livez every 2 s, some metrics.
# Then tests/integ/soak.py check: every verdict line is compared with `nfqwall explain
# --json` run on the variant the line names (each variant's policy is soak-vN and decides all
# of this traffic with explicit rules); each packet of each flow with an allow line (or no
# line: the fast path) must have arrived and each with a deny line must not (server receipts,
# client echoes, IP lengths tell the four packets of a flow apart); always: every echo back;
# never: nothing arrives; within a queue one generation names one variant; the metrics
# (packets judged, log lines, kernel queue drops) agree with the log and with what was sent;
# RSS growth after warm-up <= SOAK_RSS_BOUND_KB; threads and descriptors the same after
# warm-up as at the end; /livez 200 throughout; nfqwall alive and exiting 0 on SIGTERM.
# Prints every figure and the commands; exits 1 on any violation.
#
# Environment: O (build dir, default build), SOAK_DURATION (s per phase, 180), SOAK_RATE
# (counted flows/s, 300), SOAK_RELOADS (policy changes/s, 5), SOAK_FLOOD (flood flows/s,
# 3000), SOAK_PHASES ("dir k8s"), SOAK_VARIANTS (8), SOAK_FAULT_EVERY (s, 10), SOAK_QUEUES
# (2), SOAK_WARMUP (s, 30), SOAK_RSS_BOUND_KB (2048), SOAK_KEEP=DIR (keep logs there).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
O=${O:-build}
case "$O" in /*) BD=$O ;; *) BD=$ROOT/$O ;; esac
PY=$(command -v python3 || echo /usr/bin/python3)
SOAKPY=$ROOT/tests/integ/soak.py
DURATION=${SOAK_DURATION:-180}
RATE=${SOAK_RATE:-300}
RELOADS=${SOAK_RELOADS:-5}
FLOOD=${SOAK_FLOOD:-3000}
PHASES=${SOAK_PHASES:-dir k8s}
NV=${SOAK_VARIANTS:-8}
FAULT_EVERY=${SOAK_FAULT_EVERY:-10}
QUEUES=${SOAK_QUEUES:-2}
WARMUP=${SOAK_WARMUP:-30}
RSS_BOUND_KB=${SOAK_RSS_BOUND_KB:-2048}
KEEP=${SOAK_KEEP:-}
ID=$$
N=nfqs-n$ID
C=nfqs-c$ID
NODE4=192.0.2.1
SRCS=192.0.2.16,192.0.2.17,192.0.2.18,192.0.2.19,192.0.2.20,192.0.2.21,192.0.2.22,192.0.2.23
FSRCS=192.0.2.64,192.0.2.65,192.0.2.66,192.0.2.67,192.0.2.68,192.0.2.69,192.0.2.70,192.0.2.71
FLIP=7200-7209
HTTP=127.0.0.1:9417

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "bench/soak.sh needs root (network namespaces, iptables, NFQUEUE)"
for t in ip iptables iptables-restore curl; do
	command -v "$t" >/dev/null || skip "$t is not installed (make deps)"
done
case " $PHASES " in *" k8s "*)
	command -v openssl >/dev/null || skip "openssl is not installed (make deps)" ;;
esac
[ -x "$BD/nfqwall" ] || { echo "missing $BD/nfqwall: run make"; exit 1; }

WORK=$(mktemp -d /tmp/nfqsoak.XXXXXX)
# a private copy of the binary, so a rebuild during the run changes nothing
cp "$BD/nfqwall" "$WORK/nfqwall" || exit 1
NFQWALL=$WORK/nfqwall
SOAK="$PY $SOAKPY"
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	sleep 0.3
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	for ns in "$N" "$C"; do ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null; done
	ip netns del "$N" 2>/dev/null
	ip netns del "$C" 2>/dev/null
	if [ -n "$KEEP" ]; then
		mkdir -p "$KEEP" && cp -r "$WORK"/. "$KEEP"/ && echo "(logs kept in $KEEP)"
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

nn() { ip netns exec "$N" "$@"; }
nc_() { ip netns exec "$C" "$@"; }
say() { printf '%s\n' "$*"; }
cmdline() { printf '    $'; for a; do printf ' %s' "${a#"$ROOT"/}"; done; printf '\n'; }
bg() {	# bg OUTFILE CMD...: start CMD (its pid is itself: ip netns exec execs); pid in $BG
	out=$1; shift
	"$@" > "$out" 2>&1 &
	BG=$!
	PIDS="$PIDS $BG"
}
stop() {	# stop PID: SIGTERM, wait (bounded); sets STOP_RC
	kill "$1" 2>/dev/null
	for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	STOP_RC=$?
	keep=""
	for p in $PIDS; do [ "$p" = "$1" ] || keep="$keep $p"; done
	PIDS=$keep
}

ns_up() {
	ip netns add "$N" && ip netns add "$C" || exit 1
	for ns in "$N" "$C"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1
	done
	ip link add veth-n netns "$N" type veth peer name veth-c netns "$C"
	ip -n "$N" addr add $NODE4/24 dev veth-n
	for a in ${SRCS//,/ } ${FSRCS//,/ }; do ip -n "$C" addr add "$a/24" dev veth-c; done
	for ns in "$N" "$C"; do ip -n "$ns" link set lo up; done
	ip -n "$N" link set veth-n up
	ip -n "$C" link set veth-c up
	sleep 0.2
}
ns_down() {
	for p in $PIDS; do stop "$p"; done
	for ns in "$N" "$C"; do ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null; done
	ip netns del "$N" 2>/dev/null
	ip netns del "$C" 2>/dev/null
}

wait_ready() {	# wait_ready PID TRIES
	for _ in $(seq 1 "$2"); do
		nn curl -sf --max-time 2 "http://$HTTP/readyz" >/dev/null 2>&1 && return 0
		kill -0 "$1" 2>/dev/null || break
		sleep 0.2
	done
	echo "nfqwall did not become ready:"; tail -20 "$P/nfqwall.err"
	return 1
}

# start_load SETTLE: the sampler, the flood and the counted traffic, for DURATION + SETTLE s
start_load() {
	nn curl -s --max-time 10 "http://$HTTP/metrics" > "$P/metrics.start"
	smp=(ip netns exec "$N" $SOAK sample --pid "$NPID" --out "$P/samples" --interval 2)
	bg "$P/sample.out" "${smp[@]}"
	SPID=$BG
	fl=(ip netns exec "$C" $SOAK flood --srcs "$FSRCS" --rate "$FLOOD"
	    --duration $((DURATION + $1)) --out "$P/flood.json")
	bg "$P/flood.out" "${fl[@]}"
	FPID=$BG
	tr=(ip netns exec "$C" $SOAK traffic --srcs "$SRCS" --flip "$FLIP" --rate "$RATE"
	    --duration $((DURATION + $1)) --timeout 8 --second 1 --out "$P/sent")
	bg "$P/traffic.out" "${tr[@]}"
	TPID=$BG
	say "   sampler, flood and counted traffic:"
	cmdline "${smp[@]}"; cmdline "${fl[@]}"; cmdline "${tr[@]}"
}

# end_phase TITLE FORM CONVERGE FD_SLACK: stop everything, check, record the verdict in RC
end_phase() {
	wait "$TPID"; wait "$FPID"
	say "   traffic: $(cat "$P/traffic.out")"
	say "   flood: $(cat "$P/flood.out")"
	alive=1
	kill -0 "$NPID" 2>/dev/null || alive=0
	livez=$(nn curl -s --max-time 10 "http://$HTTP/livez")
	stop "$SPID"
	nn curl -s --max-time 10 "http://$HTTP/metrics" > "$P/metrics.end"
	dropped=$(awk '$1 == "nfqwall_log_dropped_total" { print $2 + 0 }' "$P/metrics.end")
	stop "$NPID"
	nfq_rc=$STOP_RC
	stop "$SERVE"
	say "   nfqwall alive at the end: $alive; /livez: ${livez:-no answer}; exit status on SIGTERM: $nfq_rc"
	say "   nfqwall log: $(grep -c 'table published' "$P/nfqwall.err") tables published," \
	    "$(grep -c 'policy rejected' "$P/nfqwall.err") rejected loads," \
	    "$(grep -c 'level=error' "$P/nfqwall.err") error lines," \
	    "compile_ms max $(grep -o 'compile_ms=[0-9.]*' "$P/nfqwall.err" | cut -d= -f2 | sort -n | tail -1)"
	ck=($SOAK check --title "$1" --variants "$P/variants" --form "$2" --nfqwall "$NFQWALL"
	    --log "$P/verdicts.log" --sent "$P/sent" --receipts "$P/receipts" --flood "$P/flood.json"
	    --metrics "$P/metrics.end" --metrics-start "$P/metrics.start" --log-dropped "${dropped:-0}" --churn "$P/churn"
	    --converge "$3" --samples "$P/samples" --interval 2 --warmup "$WARMUP"
	    --rss-bound-kb "$RSS_BOUND_KB" --fd-slack "$4" --sample 300 --summary "$P/summary.json")
	cmdline "${ck[@]}"
	"${ck[@]}"
	crc=$?
	[ "$alive" = 1 ] || { say "VIOLATION: nfqwall was not alive at the end"; crc=1; }
	[ "$livez" = ok ] || { say "VIOLATION: /livez at the end: ${livez:-no answer}"; crc=1; }
	[ "$nfq_rc" = 0 ] || { say "VIOLATION: nfqwall exited $nfq_rc on SIGTERM"; crc=1; }
	[ $crc -eq 0 ] || RC=1
	RESULTS="$RESULTS
$1: $([ $crc -eq 0 ] && echo 'no violation' || echo 'VIOLATIONS (above)')"
	ns_down
}

run_args=(--node node-1 --queues "$QUEUES" --log-allowed --log-rate 0)

phase_dir() {
	P=$WORK/dir
	mkdir -p "$P/policy"
	say "## phase dir: --policy-dir, $RELOADS changes/s for $DURATION s"
	$SOAK variants --out "$P/variants" --n "$NV" --srcs "$SRCS" --flip "$FLIP" \
		--explain "$NFQWALL" || { RC=1; return; }
	cp "$P/variants/v3/v0/hep.json" "$P/policy/hep.json"
	cp "$P/variants/v3/v0/policy.json" "$P/policy/variant.json"
	ns_up
	bg "$P/serve.out" ip netns exec "$N" $SOAK serve --ports "7000-7003,7100-7103,$FLIP" \
		--receipts "$P/receipts"
	SERVE=$BG
	ncmd=(ip netns exec "$N" env "NFQWALL_HTTP_ADDR=$HTTP" "$NFQWALL" run
	      --policy-dir "$P/policy" "${run_args[@]}" --log-file "$P/verdicts.log")
	"${ncmd[@]}" > "$P/nfqwall.out" 2> "$P/nfqwall.err" &
	NPID=$!
	PIDS="$PIDS $NPID"
	cmdline "${ncmd[@]}"
	wait_ready "$NPID" 150 || { RC=1; ns_down; return; }
	start_load 6
	sleep 2
	ch=($SOAK churn-dir --variants "$P/variants" --policy-dir "$P/policy" --n "$NV"
	    --rate "$RELOADS" --duration $((DURATION - 2)) --invalid-every 25 --record "$P/churn")
	cmdline "${ch[@]}"
	"${ch[@]}"
	end_phase "phase dir (policy directory, $RELOADS changes/s, $DURATION s)" v3 5 2
}

phase_k8s() {
	P=$WORK/k8s
	mkdir -p "$P"
	say "## phase k8s: --kubernetes, $RELOADS changes/s through the API, a fault every" \
	    "$FAULT_EVERY s, for $DURATION s"
	$SOAK variants --out "$P/variants" --n "$NV" --srcs "$SRCS" --flip "$FLIP" \
		--explain "$NFQWALL" --forms v1 || { RC=1; return; }
	ns_up
	api=(ip netns exec "$N" $PY "$ROOT/tests/k8s/apiserver.py" --state-dir "$P/api" --port 6443
	     --admin-port 0 --groups v1 --bookmark-interval 5 --no-cache-ignores-limit)
	bg "$P/api.out" "${api[@]}"
	APID=$BG
	cmdline "${api[@]}"
	for _ in $(seq 1 300); do grep -q '^ready' "$P/api.out" 2>/dev/null && break; sleep 0.1; done
	grep -q '^ready' "$P/api.out" || { cat "$P/api.out"; RC=1; ns_down; return; }
	nn $SOAK k8s-setup --api-dir "$P/api" --variants "$P/variants" --fillers 600 ||
		{ RC=1; ns_down; return; }
	bg "$P/serve.out" ip netns exec "$N" $SOAK serve --ports "7000-7003,7100-7103,$FLIP" \
		--receipts "$P/receipts"
	SERVE=$BG
	ncmd=(ip netns exec "$N" env "NFQWALL_HTTP_ADDR=$HTTP" "$NFQWALL" run --kubernetes
	      --api-server https://127.0.0.1:6443 --token-file "$P/api/serviceaccount/token"
	      --ca-file "$P/api/ca.crt" "${run_args[@]}" --log-file "$P/verdicts.log")
	"${ncmd[@]}" > "$P/nfqwall.out" 2> "$P/nfqwall.err" &
	NPID=$!
	PIDS="$PIDS $NPID"
	cmdline "${ncmd[@]}"
	wait_ready "$NPID" 300 || { RC=1; ns_down; return; }
	start_load 70
	sleep 2
	ch=(ip netns exec "$N" $SOAK k8s-churn --api-dir "$P/api" --variants "$P/variants"
	    --n "$NV" --rate "$RELOADS" --duration $((DURATION - 2)) --fault-every "$FAULT_EVERY"
	    --record "$P/churn")
	cmdline "${ch[@]}"
	"${ch[@]}"
	say "   faults injected: $(grep -c ' fault ' "$P/churn") ($(awk '$2 == "fault" { print $3 }' \
		"$P/churn" | sort | uniq -c | awk '{ printf "%s%s x%d", s, $2, $1; s = ", " }'))"
	nn curl -s --max-time 10 "http://127.0.0.1:$(cat "$P/api/admin-port")/stats?log=0" \
		> "$P/api-stats.json"
	say "   nfqwall's account: $(for m in 'watch ended with an error' 'watch expired (410)' \
		'list failed' 'list expired (410): listing again' 'list expired (410) again and again' \
		'synced with the Kubernetes API'; do printf '"%s" x%d; ' "$m" "$(grep -cF "$m" "$P/nfqwall.err")"; done)"
	say "   API server, requests by status: $($PY -c 'import json,sys
d = json.load(open(sys.argv[1])); print(json.dumps(d.get("by_status")), "by verb:", json.dumps(d.get("by_verb")))' "$P/api-stats.json" 2>/dev/null)"
	end_phase "phase k8s (Kubernetes API with faults, $RELOADS changes/s, $DURATION s)" v1 60 4
}

RC=0
RESULTS=""
T0=$(date +%s)
say "# bench/soak.sh $(date -u '+%Y-%m-%d %H:%M UTC'), tree $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)," \
    "$(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
say "# SOAK_DURATION=$DURATION SOAK_RATE=$RATE SOAK_RELOADS=$RELOADS SOAK_FLOOD=$FLOOD" \
    "SOAK_VARIANTS=$NV SOAK_FAULT_EVERY=$FAULT_EVERY SOAK_QUEUES=$QUEUES SOAK_WARMUP=$WARMUP" \
    "SOAK_RSS_BOUND_KB=$RSS_BOUND_KB O=$O"
for ph in $PHASES; do
	case "$ph" in
	dir) phase_dir ;;
	k8s) phase_k8s ;;
	*) echo "unknown phase $ph"; exit 2 ;;
	esac
done
say ""
say "# soak finished in $(($(date +%s) - T0)) s:$RESULTS"
exit $RC
