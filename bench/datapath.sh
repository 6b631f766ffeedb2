#!/bin/bash
# bench/datapath.sh - nfqwall's data path against its baselines (targets in bench/RESULTS.md), side by
# side in one bounded run (about 5 minutes on 2 vCPUs). Root only.
#
# Topology, rebuilt from scratch for every configuration of every round:
#   nfqb-s<pid> (sender/client)  veth-s 192.0.2.2/24  ==veth==  veth-n 192.0.2.1/24  nfqb-n<pid> (the node)
# IPv4 only (IPv6 is switched off in both namespaces so no address event reaches nfqwall).
# Traffic goes only between these two namespaces; everything is removed on exit (trap).
#
# Pinning (2 CPUs): every sender/client runs on CPU 0, where the kernel also runs the
# node's receive path up to the queue (veth delivers on the sending CPU). The node's
# receiver/server and the queue consumer (nfq_accept or the whole nfqwall process) share
# CPU 1, where the accepted packet is reinjected (in the consumer's verdict syscall) and
# delivered. The same layout is used for every configuration.
#
# Configurations (one network-namespace pair each, in this order, every round):
#   nofilter    no rule at all (conntrack not even loaded in the node namespace)
#   conntrack   one rule "-m conntrack --ctstate INVALID -j DROP": conntrack loaded and tracking
#   bare-pp     nfq_accept --per-packet: every UDP packet queued, one verdict per packet
#   bare-batch  nfq_accept --batch: every UDP packet queued, one batch verdict per recvmmsg;
#               then TCP connections with only NEW packets queued (ESTABLISHED,RELATED
#               accepted before the queue): the "bare queue-first-packet consumer"
#   nfqwall     nfqwall run --queues 1 with a generated 10,000-rule policy, where the bench
#               traffic is allowed only by the last policy: established UDP and a TCP stream
#               over the connmark fast path, new TCP connections, then every packet queued
#               (see below), saturated and paced
#   linear      the same 10,000 rules rendered as linear iptables rules (one per policy rule,
#               in order, after an ESTABLISHED,RELATED accept as Felix has): new TCP connections
#
# "Every packet queued": nfqwall's connmark fast path accepts every later packet of an
# allowed flow in the kernel, so a steady flow reaches userspace once. To put every packet
# in front of nfqwall, the bench UDP port is made untracked (raw PREROUTING -j CT --notrack):
# an untracked packet has no connmark, so it misses the fast path and is queued, judged
# against the 10,000-rule table and accepted (NF_REPEAT with the verdict mark, as for any
# first packet). The bare consumers get the very same NOTRACK rule, so both sides skip
# conntrack for this traffic and differ only in the consumer.
#
# Every figure is the median over NFQB_ROUNDS rounds (default 5), configurations
# interleaved round by round. Every figure is printed with the commands that produced it.
# Environment: O (build dir, default build), NFQB_ROUNDS, NFQB_SECONDS (measuring window,
# default 2), NFQB_PERF=FILE (perf record -g of nfqwall during the first every-packet run).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
O=${O:-build}
case "$O" in /*) BD=$O ;; *) BD=$ROOT/$O ;; esac
NFQWALL=$BD/nfqwall
UDPBLAST=$BD/bench/udpblast
TCPCONN=$BD/bench/tcpconn
NFQACCEPT=$BD/bench/nfq_accept
ROUNDS=${NFQB_ROUNDS:-5}
SECS=${NFQB_SECONDS:-2}
PERF_OUT=${NFQB_PERF:-}
NRULES=10000
CONC=64
ID=$$
S=nfqb-s$ID
N=nfqb-n$ID
SND4=192.0.2.2
NODE4=192.0.2.1
UDP_PORT=9001
TCP_PORT=9000
STREAM_PORT=9002
HTTP=127.0.0.1:9417

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "bench/datapath.sh needs root (network namespaces, iptables, NFQUEUE)"
for t in ip iptables iptables-restore taskset curl timeout awk; do
	command -v "$t" >/dev/null || skip "$t is not installed (make deps)"
done
for b in "$NFQWALL" "$UDPBLAST" "$TCPCONN" "$NFQACCEPT"; do
	[ -x "$b" ] || { echo "missing $b: run make bench (or make $b)"; exit 1; }
done
if [ "$(nproc)" -ge 2 ]; then SND_CPU=0; RCV_CPU=1; else SND_CPU=0; RCV_CPU=0; fi

WORK=$(mktemp -d /tmp/nfqb.XXXXXX)
PIDS=""
# Run private copies of the binaries, so a rebuild during the run changes nothing; commands
# are printed with the paths they were copied from.
BIN=$WORK/bin
mkdir -p "$BIN/bench"
cp "$NFQWALL" "$BIN/nfqwall" && cp "$UDPBLAST" "$TCPCONN" "$NFQACCEPT" "$BIN/bench/" || exit 1
NFQWALL=$BIN/nfqwall
UDPBLAST=$BIN/bench/udpblast
TCPCONN=$BIN/bench/tcpconn
NFQACCEPT=$BIN/bench/nfq_accept
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	sleep 0.3
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	for ns in "$S" "$N"; do ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null; done
	ip netns del "$S" 2>/dev/null
	ip netns del "$N" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

sn() { ip netns exec "$S" "$@"; }
nn() { ip netns exec "$N" "$@"; }
rel() {	# paths as the reader would type them
	case "$1" in
	"$BIN"/*) printf '%s' "$(rel "$BD")${1#"$BIN"}" ;;
	*) printf '%s' "${1#"$ROOT"/}" ;;
	esac
}
# bg OUTFILE CMD...: start CMD in the background (its pid is itself: ip netns exec and
# taskset exec), remember it for cleanup; the pid is in $BG
bg() {
	out=$1; shift
	"$@" > "$out" 2>&1 &
	BG=$!
	PIDS="$PIDS $BG"
}
stop() {	# stop PID: SIGTERM and wait (bounded)
	kill "$1" 2>/dev/null
	for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	keep=""
	for p in $PIDS; do [ "$p" = "$1" ] || keep="$keep $p"; done
	PIDS=$keep
}

ns_up() {
	ip netns add "$S" && ip netns add "$N" || exit 1
	for ns in "$S" "$N"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1
	done
	ip link add veth-s netns "$S" type veth peer name veth-n netns "$N"
	ip -n "$S" addr add $SND4/24 dev veth-s
	ip -n "$N" addr add $NODE4/24 dev veth-n
	for ns in "$S" "$N"; do ip -n "$ns" link set lo up; done
	ip -n "$S" link set veth-s up
	ip -n "$N" link set veth-n up
	# TCP connections: the client closes with an RST, so its ports are free at once
	sn sysctl -qw net.ipv4.ip_local_port_range="10000 65000"
	sleep 0.2
}
ns_down() {
	for p in $PIDS; do stop "$p"; done
	for ns in "$S" "$N"; do ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null; done
	ip netns del "$S" 2>/dev/null
	ip netns del "$N" 2>/dev/null
}

# ---- the 10,000-rule policy and its linear iptables rendering ----------------------------

# Both come from one loop, so they hold the same rules in the same order. Policies
# bench-00..09 (orders 10..19) hold 999 or 1000 ingress rules each, four kinds in turn:
#   TCP from the sender's /24 to port 10000+i    TCP from 10.a.b.0/24 to the TCP bench port
#   UDP from the sender's /24 to port 10000+i    UDP from 10.a.b.0/24 to the UDP bench port
# alternating Deny and Allow. None matches the bench traffic, which only the last policy
# (bench-allow, order 1000) allows; the source and port classifiers both select thousands
# of candidates for it, so the lookup really works.
gen_policy() {	# gen_policy DIR RULESFILE
	mkdir -p "$1"
	awk -v n=$NRULES -v dir="$1" -v rules="$2" -v snd="$SND4" -v node="$NODE4" \
	    -v tp=$TCP_PORT -v up=$UDP_PORT -v sp=$STREAM_PORT '
	BEGIN {
		y = dir "/bench.yaml"
		split(snd, o, "."); net = o[1] "." o[2] "." o[3] ".0/24"
		printf "apiVersion: projectcalico.org/v3\nkind: HostEndpoint\nmetadata:\n" \
		       "  name: bench-node\n  labels: {role: node}\nspec:\n  node: bench\n" \
		       "  interfaceName: \"*\"\n  expectedIPs: [\"%s\"]\n", node > y
		print "*filter" > rules
		print ":INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]" > rules
		print ":BENCH-IN - [0:0]" > rules
		print "-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT" > rules
		print "-A INPUT -j BENCH-IN" > rules
		body = n - 5		# bench-allow holds the last 5 rules
		per = int((body + 9) / 10)
		for (g = 0; g < body; g++) {
			if (g % per == 0)
				printf "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n" \
				       "metadata:\n  name: bench-%02d\nspec:\n  selector: role == '\''node'\''\n" \
				       "  order: %d\n  ingress:\n", g / per, 10 + g / per > y
			k = g % 4
			act = int(g / 4) % 2 ? "Allow" : "Deny"
			proto = k < 2 ? "TCP" : "UDP"
			if (k == 0 || k == 2) { src = net; port = 10000 + g }
			else { src = sprintf("10.%d.%d.0/24", int(g / 256), g % 256); port = k == 1 ? tp : up }
			printf "    - action: %s\n      protocol: %s\n      source: {nets: [%s]}\n" \
			       "      destination: {ports: [%d]}\n", act, proto, src, port > y
			printf "-A BENCH-IN -p %s -s %s -m %s --dport %d -j %s\n", tolower(proto), src,
			       tolower(proto), port, act == "Allow" ? "ACCEPT" : "DROP" > rules
		}
		printf "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n" \
		       "  name: bench-allow\nspec:\n  selector: role == '\''node'\''\n  order: 1000\n" \
		       "  ingress:\n" \
		       "    - action: Allow\n      source: {nets: [127.0.0.0/8]}\n" \
		       "    - action: Allow\n      protocol: UDP\n      source: {nets: [%s]}\n" \
		       "      destination: {ports: [%d]}\n" \
		       "    - action: Allow\n      protocol: TCP\n      source: {nets: [%s]}\n" \
		       "      destination: {ports: [%d]}\n" \
		       "    - action: Allow\n      protocol: TCP\n      source: {nets: [%s]}\n" \
		       "      destination: {ports: [%d]}\n" \
		       "    - action: Deny\n  egress:\n    - action: Allow\n", net, up, net, tp, net, sp > y
		print "-A BENCH-IN -s 127.0.0.0/8 -j ACCEPT" > rules
		printf "-A BENCH-IN -p udp -s %s -m udp --dport %d -j ACCEPT\n", net, up > rules
		printf "-A BENCH-IN -p tcp -s %s -m tcp --dport %d -j ACCEPT\n", net, tp > rules
		printf "-A BENCH-IN -p tcp -s %s -m tcp --dport %d -j ACCEPT\n", net, sp > rules
		print "-A BENCH-IN -j DROP\nCOMMIT" > rules
	}'
}

# ---- measurements -------------------------------------------------------------------------

RESULT=""
say() { printf '%s\n' "$*"; }
cmdline() { printf '    $'; for a; do printf ' %s' "$(rel "$a")"; done; printf '\n'; }

# udp_run TAG [SENDER-EXTRA-ARGS...]: receiver on CPU 1, 8 primed flows from CPU 0; sets RESULT (pps)
udp_run() {
	tag=$1; shift
	rcmd=(ip netns exec "$N" taskset -c "$RCV_CPU" "$UDPBLAST" recv "$UDP_PORT" --seconds "$SECS"
	      --skip 1 --echo-first)
	scmd=(ip netns exec "$S" taskset -c "$SND_CPU" "$UDPBLAST" send "$NODE4" "$UDP_PORT"
	      --seconds "$(awk -v s="$SECS" 'BEGIN { print s + 1.5 }')" --flows 8 --prime "$@")
	bg "$WORK/recv.out" "${rcmd[@]}"
	rpid=$BG
	sleep 0.2
	timeout -k 2 $((SECS + 15)) "${scmd[@]}" > "$WORK/send.out" 2>&1
	for _ in $(seq 1 30); do kill -0 "$rpid" 2>/dev/null || break; sleep 0.1; done
	stop "$rpid"
	RESULT=$(awk '/^recv:/ { print $(NF - 1) }' "$WORK/recv.out")
	RESULT=${RESULT:-0}
	say "[$tag] $(grep '^recv:' "$WORK/recv.out")   ($(grep '^send:' "$WORK/send.out"))"
	cmdline "${rcmd[@]}"
	cmdline "${scmd[@]}"
}

# stream_run TAG: one TCP stream for SECS seconds; sets RESULT (Gbit/s at the sink)
stream_run() {
	tag=$1
	kcmd=(ip netns exec "$N" taskset -c "$RCV_CPU" "$TCPCONN" sink "$STREAM_PORT")
	ccmd=(ip netns exec "$S" taskset -c "$SND_CPU" "$TCPCONN" stream "$NODE4" "$STREAM_PORT"
	      --seconds "$SECS")
	bg "$WORK/sink.out" "${kcmd[@]}"
	kpid=$BG
	sleep 0.2
	timeout -k 2 $((SECS + 15)) "${ccmd[@]}" > "$WORK/stream.out" 2>&1
	for _ in $(seq 1 20); do grep -q '^sink:' "$WORK/sink.out" && break; sleep 0.1; done
	stop "$kpid"
	RESULT=$(awk '/^sink:.*Gbit/ { v = $(NF - 1) } END { print v + 0 }' "$WORK/sink.out")
	say "[$tag] $(grep '^sink:' "$WORK/sink.out" | tail -1)   ($(cat "$WORK/stream.out"))"
	cmdline "${kcmd[@]}"
	cmdline "${ccmd[@]}"
}

# conn_run TAG: new TCP connections per second; sets RESULT
conn_run() {
	tag=$1
	vcmd=(ip netns exec "$N" taskset -c "$RCV_CPU" "$TCPCONN" server "$TCP_PORT")
	ccmd=(ip netns exec "$S" taskset -c "$SND_CPU" "$TCPCONN" client "$NODE4" "$TCP_PORT"
	      --seconds "$SECS" --concurrency "$CONC")
	bg "$WORK/server.out" "${vcmd[@]}"
	vpid=$BG
	sleep 0.2
	timeout -k 2 $((SECS + 15)) "${ccmd[@]}" > "$WORK/client.out" 2>&1
	stop "$vpid"
	RESULT=$(awk '/^client:/ { for (i = 2; i <= NF; i++) if ($i == "conn/s") print $(i - 1) }' \
		"$WORK/client.out")
	RESULT=${RESULT:-0}
	say "[$tag] $(cat "$WORK/client.out")"
	cmdline "${vcmd[@]}"
	cmdline "${ccmd[@]}"
}

# Kernel queue counters of queue $1 in the node: "id_sequence queue_dropped user_dropped"
qstat() {
	# shellcheck disable=SC2016
	nn awk -v q="$1" '$1 == q { print $8, $6, $7 }' /proc/net/netfilter/nfnetlink_queue |
		grep . || echo "0 0 0"
}
cputicks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
metric() {	# sum of the nfqwall metric lines starting with $1
	nn curl -s --max-time 5 "http://$HTTP/metrics" |
		awk -v m="$1" 'index($0, m) == 1 { s += $NF } END { printf "%.0f\n", s }'
}
TCK=$(getconf CLK_TCK)

# queue_window TAG QUEUE PID: report what the queue and the consumer PID did between the
# last queue_mark call and now; sets QPKTS QDROP QUDROP QCPU_US (µs of PID's CPU per packet)
queue_mark() { read -r q_id0 q_d0 q_u0 < <(qstat "$1"); q_t0=$(cputicks "$2"); }
queue_window() {
	read -r q_id1 q_d1 q_u1 < <(qstat "$2")
	q_t1=$(cputicks "$3")
	QDROP=$((q_d1 - q_d0))
	QUDROP=$((q_u1 - q_u0))
	# queue_dropped (queue full) happens before a packet gets an id, user_dropped after
	QPKTS=$((q_id1 - q_id0 - QUDROP))
	QCPU_US=$(awk -v t=$((q_t1 - q_t0)) -v hz="$TCK" -v p=$QPKTS \
		'BEGIN { printf "%.2f", (p > 0 ? t / hz * 1e6 / p : 0) }')
	say "[$1] queue $2: $QPKTS packets handed to userspace, queue_dropped +$QDROP," \
	    "user_dropped (socket full) +$QUDROP; consumer pid $3 CPU (utime+stime," \
	    "/proc/$3/stat) $(((q_t1 - q_t0) * 1000 / TCK)) ms = $QCPU_US us/packet"
}

# ---- one round ------------------------------------------------------------------------------

declare -A R		# R[key] = space-separated values, one per round
add() { R[$1]="${R[$1]:-} $2"; }

cfg_nofilter() {
	ns_up
	say "## nofilter (round $1): no rule in the node namespace"
	udp_run "udp nofilter r$1"; add udp_nofilter "$RESULT"
	stream_run "stream nofilter r$1"; add stream_nofilter "$RESULT"
	conn_run "conn nofilter r$1"; add conn_nofilter "$RESULT"
	ns_down
}

cfg_conntrack() {
	ns_up
	rule=(iptables -A INPUT -m conntrack --ctstate INVALID -j DROP)
	nn "${rule[@]}"
	say "## conntrack (round $1): ip netns exec NODE ${rule[*]}"
	udp_run "udp conntrack r$1"; add udp_conntrack "$RESULT"
	stream_run "stream conntrack r$1"; add stream_conntrack "$RESULT"
	ns_down
}

bare_rules() {
	nn iptables -t raw -A PREROUTING -p udp --dport $UDP_PORT -j CT --notrack
	nn iptables -A INPUT -p udp --dport $UDP_PORT -j NFQUEUE --queue-num 0
	nn iptables -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
	nn iptables -A INPUT -p tcp --dport $TCP_PORT -j NFQUEUE --queue-num 0
	say "   node rules: $(nn iptables-save | grep -E '^-A' | tr '\n' ';')"
}

cfg_bare() {	# cfg_bare ROUND MODE(per-packet|batch)
	ns_up
	bare_rules
	ccmd=(ip netns exec "$N" taskset -c "$RCV_CPU" "$NFQACCEPT" "--$2" --seconds 120)
	bg "$WORK/nfq_accept.out" "${ccmd[@]}"
	cpid=$BG
	sleep 0.3
	say "## bare consumer $2 (round $1):"
	cmdline "${ccmd[@]}"
	key=$([ "$2" = batch ] && echo bare_batch || echo bare_pp)
	queue_mark 0 "$cpid"
	udp_run "udp $key r$1"; add "udp_$key" "$RESULT"
	queue_window "udp $key r$1" 0 "$cpid"; add "cpu_$key" "$QCPU_US"
	if [ "$2" = batch ]; then
		LAST_BARE_BATCH=$RESULT
		queue_mark 0 "$cpid"
		conn_run "conn bare_batch r$1"; add conn_bare "$RESULT"
		queue_window "conn bare_batch r$1" 0 "$cpid"
		add qpc_bare "$(awk -v p=$QPKTS -v c="$RESULT" -v s="$SECS" 'BEGIN { printf "%.2f", (c > 0 ? p / (c * s) : 0) }')"
	fi
	stop "$cpid"
	say "   $(grep 'packets in' "$WORK/nfq_accept.out")"
	ns_down
}

start_nfqwall() {
	ncmd=(ip netns exec "$N" taskset -c "$RCV_CPU" env "NFQWALL_HTTP_ADDR=$HTTP" "$NFQWALL" run
	      --policy-dir "$WORK/policy" --node bench --queues 1)
	bg "$WORK/nfqwall.out" "${ncmd[@]}"
	NPID=$BG
	for _ in $(seq 1 150); do
		nn curl -sf --max-time 1 "http://$HTTP/readyz" >/dev/null 2>&1 && break
		kill -0 "$NPID" 2>/dev/null || break
		sleep 0.1
	done
	if ! nn curl -sf --max-time 1 "http://$HTTP/readyz" >/dev/null 2>&1; then
		echo "nfqwall did not become ready:"; tail -20 "$WORK/nfqwall.out"; exit 1
	fi
	# wait until the generation has not moved for 1.5 s (no pending recompile)
	g0=$(metric nfqwall_ruleset_generation); same=0
	for _ in $(seq 1 40); do
		sleep 0.25
		g1=$(metric nfqwall_ruleset_generation)
		if [ "$g1" = "$g0" ]; then same=$((same + 1)); else same=0; g0=$g1; fi
		[ $same -ge 6 ] && break
	done
	say "   nfqwall ready, generation $g0: $(grep 'table published' "$WORK/nfqwall.out" | tail -1 |
		sed 's/.*msg="table published" //')"
	cmdline "${ncmd[@]}"
}

cfg_nfqwall() {
	ns_up
	say "## nfqwall, $NRULES-rule policy (round $1):"
	start_nfqwall
	qn=100
	g_start=$(metric nfqwall_ruleset_generation)
	queue_mark $qn "$NPID"
	udp_run "udp nfqwall-fastpath r$1"; add udp_nfqwall "$RESULT"
	queue_window "udp nfqwall-fastpath r$1" $qn "$NPID"; add fast_queued "$QPKTS"
	queue_mark $qn "$NPID"
	stream_run "stream nfqwall-fastpath r$1"; add stream_nfqwall "$RESULT"
	queue_window "stream nfqwall-fastpath r$1" $qn "$NPID"
	queue_mark $qn "$NPID"
	conn_run "conn nfqwall r$1"; add conn_nfqwall "$RESULT"
	queue_window "conn nfqwall r$1" $qn "$NPID"
	add qpc_nfqwall "$(awk -v p=$QPKTS -v c="$RESULT" -v s="$SECS" 'BEGIN { printf "%.2f", (c > 0 ? p / (c * s) : 0) }')"

	rule=(iptables -t raw -A PREROUTING -p udp --dport "$UDP_PORT" -j CT --notrack)
	nn "${rule[@]}"
	say "   every packet queued: ip netns exec NODE ${rule[*]}"
	p0=$(metric nfqwall_packets_total); e0=$(metric nfqwall_queue_enobufs_total)
	queue_mark $qn "$NPID"
	if [ -n "$PERF_OUT" ] && [ "$1" = 1 ] && command -v perf >/dev/null; then
		perf record -g -o "$PERF_OUT" -p "$NPID" -- sleep $((SECS + 2)) > "$WORK/perf.out" 2>&1 &
		perfpid=$!
	fi
	udp_run "udp nfqwall-every-packet r$1"; add udp_every "$RESULT"
	queue_window "udp nfqwall-every-packet r$1" $qn "$NPID"; add cpu_every "$QCPU_US"
	[ -n "${perfpid:-}" ] && { wait "$perfpid"; say "   perf profile: $PERF_OUT"; perfpid=""; }
	p1=$(metric nfqwall_packets_total); e1=$(metric nfqwall_queue_enobufs_total)
	say "   nfqwall_packets_total +$((p1 - p0)), nfqwall_queue_enobufs_total +$((e1 - e0))" \
	    "(curl http://$HTTP/metrics in the node namespace)"
	add drops_every "$((QDROP + QUDROP))"

	# paced at 0.9x the bare batched consumer of this round: the rate the target names
	rate=$(awk -v r="${LAST_BARE_BATCH:-0}" 'BEGIN { printf "%d", r * 0.9 }')
	if [ "$rate" -gt 0 ]; then
		e0=$(metric nfqwall_queue_enobufs_total)
		queue_mark $qn "$NPID"
		udp_run "udp nfqwall-every-packet paced r$1" --rate "$rate"; add udp_paced "$RESULT"
		queue_window "udp nfqwall-every-packet paced r$1" $qn "$NPID"
		e1=$(metric nfqwall_queue_enobufs_total)
		add rate_paced "$rate"; add cpu_paced "$QCPU_US"
		add drops_paced "$((QDROP + QUDROP + e1 - e0))"
		say "   paced at $rate pps: queue drops +$QDROP, socket drops +$QUDROP, ENOBUFS +$((e1 - e0))"
	fi
	g_end=$(metric nfqwall_ruleset_generation)
	[ "$g_start" = "$g_end" ] || say "   NOTE: the ruleset generation moved from $g_start to $g_end during the run"
	stop "$NPID"

	# Diagnostic: the bare batch consumer on nfqwall's queue, behind nfqwall's netfilter
	# rules (SIGTERM leaves them in place): the kernel does the same work up to the queue,
	# so the gap to nfqwall is nfqwall's own (userspace and the NF_REPEAT pass).
	ccmd=(ip netns exec "$N" taskset -c "$RCV_CPU" "$NFQACCEPT" --batch --queue "$qn" --seconds 60)
	bg "$WORK/nfq_accept.out" "${ccmd[@]}"
	cpid=$BG
	sleep 0.3
	say "   diagnostic: nfqwall stopped (its rules stay), the bare consumer takes queue $qn:"
	cmdline "${ccmd[@]}"
	queue_mark $qn "$cpid"
	udp_run "udp bare_batch-behind-nfqwall-rules r$1"; add udp_bare_rules "$RESULT"
	queue_window "udp bare_batch-behind-nfqwall-rules r$1" $qn "$cpid"; add cpu_bare_rules "$QCPU_US"
	stop "$cpid"
	ns_down
}

cfg_linear() {
	ns_up
	say "## linear iptables, $NRULES rules (round $1):"
	t0=$(date +%s.%N)
	nn iptables-restore < "$WORK/linear.rules" || { echo "iptables-restore failed"; exit 1; }
	say "   ip netns exec NODE iptables-restore < linear.rules: $(nn iptables-save | grep -c '^-A BENCH-IN') rules" \
	    "in BENCH-IN, loaded in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
	conn_run "conn linear r$1"; add conn_linear "$RESULT"
	ns_down
}

# ---- main -------------------------------------------------------------------------------------

T0=$(date +%s)
say "# nfqwall data-path bench: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -r), $(nproc) CPUs" \
    "($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), tree $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
say "# binaries: $(rel "$BD")/nfqwall built $(date -u -r "$BD/nfqwall" +%Y-%m-%dT%H:%M:%SZ), copied to $BIN for the run"
say "# load average before: $(cut -d' ' -f1-3 /proc/loadavg); rounds $ROUNDS, window ${SECS} s;" \
    "senders on CPU $SND_CPU, receivers/servers/consumers on CPU $RCV_CPU"
gen_policy "$WORK/policy" "$WORK/linear.rules"
say "# policy: $NRULES rules in $(grep -c '^kind: GlobalNetworkPolicy' "$WORK/policy/bench.yaml") GlobalNetworkPolicies" \
    "($(wc -c < "$WORK/policy/bench.yaml") bytes of YAML); linear rendering: $(grep -c '^-A BENCH-IN' "$WORK/linear.rules") iptables rules"
"$NFQWALL" check "$WORK/policy" > "$WORK/check.out" 2>&1 || { echo "nfqwall check failed:"; tail "$WORK/check.out"; exit 1; }

LAST_BARE_BATCH=0
for r in $(seq 1 "$ROUNDS"); do
	say "# round $r: load average $(cut -d' ' -f1-3 /proc/loadavg)"
	cfg_nofilter "$r"
	cfg_conntrack "$r"
	cfg_bare "$r" per-packet
	cfg_bare "$r" batch
	cfg_nfqwall "$r"
	cfg_linear "$r"
done

# ---- summary --------------------------------------------------------------------------------

med() {	# med KEY: median of R[KEY]
	# shellcheck disable=SC2086
	printf '%s\n' ${R[$1]:-} | sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2];
		else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v a="$(med "$1")" -v b="$(med "$2")" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
verdict() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {
	ok = (op == ">=") ? v >= t : v <= t; print (ok ? "met" : "NOT MET") }'; }
fmt() { awk -v v="$1" -v d="$2" 'BEGIN { printf "%.*f", d, v }'; }
all() { printf '%s' "${R[$1]:-}" | sed 's/^ //'; }

say ""
say "# Summary: medians of $ROUNDS rounds (all values per round in brackets)"
say ""
say "| measurement | median | rounds |"
say "|---|---:|---|"
say "| UDP 64 B, no filter (pps) | $(med udp_nofilter) | $(all udp_nofilter) |"
say "| UDP 64 B, conntrack only (pps) | $(med udp_conntrack) | $(all udp_conntrack) |"
say "| UDP 64 B, bare consumer, per-packet verdicts, every packet queued (pps) | $(med udp_bare_pp) | $(all udp_bare_pp) |"
say "| UDP 64 B, bare consumer, batch verdicts, every packet queued (pps) | $(med udp_bare_batch) | $(all udp_bare_batch) |"
say "| UDP 64 B, nfqwall fast path, 8 established flows (pps) | $(med udp_nfqwall) | $(all udp_nfqwall) |"
say "| packets queued to nfqwall during that fast-path run | $(med fast_queued) | $(all fast_queued) |"
say "| UDP 64 B, nfqwall, every packet queued (pps) | $(med udp_every) | $(all udp_every) |"
say "| UDP 64 B, bare batch consumer behind nfqwall's rules (diagnostic, pps) | $(med udp_bare_rules) | $(all udp_bare_rules) |"
say "| TCP stream, no filter (Gbit/s) | $(med stream_nofilter) | $(all stream_nofilter) |"
say "| TCP stream, conntrack only (Gbit/s) | $(med stream_conntrack) | $(all stream_conntrack) |"
say "| TCP stream, nfqwall fast path (Gbit/s) | $(med stream_nfqwall) | $(all stream_nfqwall) |"
say "| new TCP conn/s, no filter | $(med conn_nofilter) | $(all conn_nofilter) |"
say "| new TCP conn/s, bare consumer (batch, NEW queued) | $(med conn_bare) | $(all conn_bare) |"
say "| new TCP conn/s, nfqwall, $NRULES rules | $(med conn_nfqwall) | $(all conn_nfqwall) |"
say "| new TCP conn/s, linear iptables, $NRULES rules | $(med conn_linear) | $(all conn_linear) |"
say "| packets queued per connection, bare consumer / nfqwall | $(med qpc_bare) / $(med qpc_nfqwall) | $(all qpc_bare) / $(all qpc_nfqwall) |"
say "| CPU per packet, bare batch consumer, saturated (us) | $(med cpu_bare_batch) | $(all cpu_bare_batch) |"
say "| CPU per packet, bare per-packet consumer, saturated (us) | $(med cpu_bare_pp) | $(all cpu_bare_pp) |"
say "| CPU per packet, nfqwall every packet queued, saturated (us) | $(med cpu_every) | $(all cpu_every) |"
say "| CPU per packet, bare batch consumer behind nfqwall's rules (us) | $(med cpu_bare_rules) | $(all cpu_bare_rules) |"
say "| queue + socket drops, nfqwall every packet queued, saturated | $(med drops_every) | $(all drops_every) |"
say "| nfqwall every packet queued, paced at 0.9x bare batch: rate offered (pps) | $(med rate_paced) | $(all rate_paced) |"
say "| ... delivered (pps) | $(med udp_paced) | $(all udp_paced) |"
say "| ... CPU per packet (us) | $(med cpu_paced) | $(all cpu_paced) |"
say "| ... queue + socket drops + ENOBUFS | $(med drops_paced) | $(all drops_paced) |"
say ""
# mrr KEY_A KEY_B: median over the rounds of the per-round ratio A/B
mrr() {
	for r in $(seq 1 "$ROUNDS"); do rr "$r" "$1" "$2"; echo; done | sort -g |
		awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2];
			else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
r_fast=$(ratio udp_nfqwall udp_conntrack)
r_stream=$(ratio stream_nfqwall stream_conntrack)
r_cb=$(ratio conn_nfqwall conn_bare)
r_cl=$(ratio conn_nfqwall conn_linear)
r_every=$(ratio udp_every udp_bare_batch)
cpu_e=$(med cpu_every)
cpu_p=$(med cpu_paced)
dp=$(med drops_paced)
say "Per-round ratios (same round, side by side):"
# rr ROUND KEY_A KEY_B: A/B of one round
rr() {
	# shellcheck disable=SC2086
	awk -v a="$(printf '%s\n' ${R[$2]:-} | sed -n "$1p")" -v b="$(printf '%s\n' ${R[$3]:-} | sed -n "$1p")" \
		'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'
}
for r in $(seq 1 "$ROUNDS"); do
	say "  round $r: fast UDP/conntrack $(rr "$r" udp_nfqwall udp_conntrack)," \
	    "stream/conntrack $(rr "$r" stream_nfqwall stream_conntrack)," \
	    "conn nfqwall/bare $(rr "$r" conn_nfqwall conn_bare)," \
	    "conn nfqwall/linear $(rr "$r" conn_nfqwall conn_linear)," \
	    "every-packet nfqwall/bare batch $(rr "$r" udp_every udp_bare_batch)"
done
say ""
say "# targets (bench/RESULTS.md)"
say ""
say "| target | ratio of medians (median of per-round ratios) | status (ratio of medians) |"
say "|---|---|---|"
say "| fast path, established UDP >= 0.97x conntrack only | ${r_fast}x ($(mrr udp_nfqwall udp_conntrack)x) | $(verdict "$r_fast" '>=' 0.97) |"
say "| fast path, TCP stream >= 0.97x conntrack only | ${r_stream}x ($(mrr stream_nfqwall stream_conntrack)x) | $(verdict "$r_stream" '>=' 0.97) |"
say "| new conn/s with $NRULES rules >= 0.9x bare queue consumer | ${r_cb}x ($(mrr conn_nfqwall conn_bare)x) | $(verdict "$r_cb" '>=' 0.9) |"
say "| new conn/s with $NRULES rules >= 2x linear iptables | ${r_cl}x ($(mrr conn_nfqwall conn_linear)x) | $(verdict "$r_cl" '>=' 2) |"
say "| every packet queued >= 0.9x bare batched consumer | ${r_every}x ($(mrr udp_every udp_bare_batch)x) | $(verdict "$r_every" '>=' 0.9) |"
say "| (diagnostic) nfqwall / bare batch consumer behind the same rules | $(ratio udp_every udp_bare_rules)x ($(mrr udp_every udp_bare_rules)x) | - |"
say "| <= 3 us nfqwall CPU per packet (every packet queued, saturated) | $(fmt "$cpu_e" 2) us | $(verdict "$cpu_e" '<=' 3) |"
say "| <= 3 us nfqwall CPU per packet (paced at 0.9x bare batch) | $(fmt "$cpu_p" 2) us | $(verdict "$cpu_p" '<=' 3) |"
say "| no ENOBUFS or socket drops below that rate (paced run) | $dp drops | $(verdict "$dp" '<=' 0) |"
say ""
say "# load average after: $(cut -d' ' -f1-3 /proc/loadavg); took $(($(date +%s) - T0)) s"
