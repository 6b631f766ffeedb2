#!/bin/sh
# bench/churn.sh - established flows under address churn (root; about 2 minutes per binary).
#
# FLOWS TCP connections (default 10,000) from a client namespace to an echo server in the
# node namespace, each sending one byte a second, all allowed by a rule whose source
# selector matches a GlobalNetworkSet of the client subnet. Meanwhile a second set with the
# same label changes EVENTS times a second (default 50): each event adds an address of
# 10.99.0.0/16 or removes one, as pod events move pod IPs in and out of a rule selector's
# set. The policy directory is watched, so the table changes about once a second (the
# debounce: 100 ms, at most 1,000 ms). Measured over CHURN_SECONDS (default 30) of churn, after
# 10 quiet seconds: packets queued to nfqwall per second, re-judged packets per second,
# tables published, widened and carried, and whether every flow lived.
#
#   sudo bench/churn.sh                       this build
#   sudo BASE=/path/to/older/nfqwall bench/churn.sh   the same for an older binary too
#
# Traffic stays between the two namespaces it creates; all removed on exit.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
O=${O:-build}
NFQWALL=${NFQWALL:-$ROOT/$O/nfqwall}
PY=$(command -v python3 || echo /usr/bin/python3)
FLOWS=${FLOWS:-10000}
SECONDS_=${CHURN_SECONDS:-30}
EVENTS=${EVENTS:-50}
N=nfqwc-n$$ C=nfqwc-c$$
W=$(mktemp -d /tmp/nfqwall-churn.XXXXXX)
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	sleep 0.3
	ip netns exec $N "$NFQWALL" uninstall > /dev/null 2>&1
	for ns in $N $C; do ip netns pids $ns 2>/dev/null | xargs -r kill -9 2>/dev/null; done
	ip netns del $N 2>/dev/null
	ip netns del $C 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT INT TERM
[ "$(id -u)" -eq 0 ] || { echo "bench/churn.sh needs root (network namespaces)"; exit 0; }

ip netns add $N && ip netns add $C
ip link add veth-n netns $N type veth peer name veth-c netns $C
ip netns exec $N ip addr add 192.0.2.1/24 dev veth-n
ip netns exec $C ip addr add 192.0.2.2/24 dev veth-c
for ns in $N $C; do ip netns exec $ns ip link set lo up; done
ip netns exec $N ip link set veth-n up
ip netns exec $C ip link set veth-c up
ip netns exec $N sysctl -qw net.core.somaxconn=8192 net.ipv4.tcp_max_syn_backlog=8192
ip netns exec $C sysctl -qw net.ipv4.ip_local_port_range="10000 65000"

mkdir -p "$W/policy"
cat > "$W/policy/node.yaml" <<'EOF'
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: node-1, labels: {role: node}}
spec: {node: node-1, interfaceName: "*", expectedIPs: [192.0.2.1]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: node-ingress}
spec:
  selector: role == 'node'
  ingress:
  - {action: Allow, source: {nets: [127.0.0.0/8]}}
  - {action: Allow, protocol: TCP, source: {selector: set == 'clients'}, destination: {ports: [8080]}}
  - action: Deny
  egress:
  - action: Allow
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: client-subnet, labels: {set: clients}}
spec: {nets: [192.0.2.0/24]}
EOF
churn_set() {	# the churning set's file, from a Python list of addresses on stdin
	cat > "$W/policy/churn.yaml.tmp"
	mv "$W/policy/churn.yaml.tmp" "$W/policy/churn.yaml"
}
printf 'apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata: {name: churn, labels: {set: clients}}\nspec: {nets: [10.99.0.1/32]}\n' | churn_set

ip netns exec $N $PY "$ROOT/bench/churn_flows.py" serve 8080 &
PIDS="$PIDS $!"
sleep 0.5

metric() {	# the sum of every sample of metric family $1
	ip netns exec $N curl -sf http://127.0.0.1:9417/metrics |
		awk -v m="$1" '$1 == m || index($1, m "{") == 1 { s += $NF } END { printf "%d\n", s }'
}

# run BINARY LABEL: one measurement
run() {
	bin=$1 label=$2
	ip netns exec $N env NFQWALL_HTTP_ADDR=127.0.0.1:9417 "$bin" run --policy-dir "$W/policy" \
		--node node-1 --queues 2 > /dev/null 2> "$W/nfqwall-$label.err" &
	NFQ=$!
	for _ in $(seq 1 100); do
		ip netns exec $N curl -sf http://127.0.0.1:9417/readyz > /dev/null 2>&1 && break
		sleep 0.1
	done
	total=$((10 + SECONDS_ + 20))
	ip netns exec $C $PY "$ROOT/bench/churn_flows.py" flows 192.0.2.1 8080 --flows "$FLOWS" \
		--seconds "$total" > "$W/flows-$label.json" &
	FL=$!
	sleep 15			# connect and settle
	q0=$(metric nfqwall_packets_total)
	sleep 10
	q1=$(metric nfqwall_packets_total)
	r1=$(metric nfqwall_rejudged_total)
	p1=$(metric nfqwall_tables_published_total)
	wd1=$(metric nfqwall_tables_widened_total)
	c1=$(metric nfqwall_tables_carried_total)
	# churn: EVENTS address events a second, each one add or remove
	$PY - "$EVENTS" "$SECONDS_" "$W/policy" <<'EOF' &
import os, random, sys, time
rate, secs, d = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
addrs, nxt, t0, n = ["10.99.0.1"], 2, time.monotonic(), 0
while time.monotonic() - t0 < secs:
    if len(addrs) > 20 or (addrs and random.random() < 0.5):
        addrs.pop(random.randrange(len(addrs)))
    else:
        addrs.append("10.99.%d.%d" % (nxt >> 8 & 255, nxt & 255)); nxt += 1
    nets = ", ".join(a + "/32" for a in addrs) or "10.99.255.255/32"
    with open(d + "/churn.yaml.tmp", "w") as f:
        f.write("apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\n"
                "metadata: {name: churn, labels: {set: clients}}\nspec: {nets: [%s]}\n" % nets)
    os.rename(d + "/churn.yaml.tmp", d + "/churn.yaml")
    n += 1
    time.sleep(max(0, t0 + n / rate - time.monotonic()))
EOF
	CH=$!
	wait $CH
	q2=$(metric nfqwall_packets_total)
	r2=$(metric nfqwall_rejudged_total)
	p2=$(metric nfqwall_tables_published_total)
	wd2=$(metric nfqwall_tables_widened_total)
	c2=$(metric nfqwall_tables_carried_total)
	wait $FL
	cpu=$(awk '{ print $14 + $15 }' /proc/$NFQ/stat)
	kill $NFQ; wait $NFQ 2>/dev/null
	ip netns exec $N "$bin" uninstall > /dev/null 2>&1
	printf '%-8s quiet: %6d queued/s | churn: %6d queued/s, %6d re-judged/s; %d tables (%d widened, %d carried) | flows: %s | nfqwall CPU %ss\n' \
		"$label" $(( (q1 - q0) / 10 )) $(( (q2 - q1) / SECONDS_ )) $(( (r2 - r1) / SECONDS_ )) \
		$((p2 - p1)) $((wd2 - wd1)) $((c2 - c1)) "$(cat "$W/flows-$label.json")" \
		"$(awk -v t="$cpu" 'BEGIN { printf "%.1f", t / 100 }')"
}

echo "bench/churn.sh: FLOWS=$FLOWS CHURN_SECONDS=$SECONDS_ EVENTS=$EVENTS ($(date -u +%Y-%m-%d))"
run "$NFQWALL" this
[ -n "${BASE:-}" ] && run "$BASE" base
exit 0
