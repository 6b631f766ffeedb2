#!/bin/sh
# scripts/demo.sh - nfqwall filtering real traffic (make demo; root).
#
# Three network namespaces joined by veth pairs, on documentation ranges:
#
#   demo-priv 198.51.100.10 --- 198.51.100.1 [ demo-node ] 203.0.113.1 --- 203.0.113.10 demo-pub
#   ("the private network")          nfqwall runs here            ("the internet")
#
# The node enforces the reference article's waf-rules, adapted to these
# addresses: kubelet/API/NodePort ports from the private range, ICMP, SSH by
# failsafe, everything else denied. Traffic is sent, the verdict log is
# shown as it happens, the policy is edited while a connection is open, and a
# summary is printed. Everything is removed at the end, also on Ctrl-C.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
O=${O:-build}
NFQWALL=$ROOT/$O/nfqwall
PY=$(command -v python3 || echo /usr/bin/python3)
PEER="$PY $ROOT/tests/integ/peer.py"
NODE=demo-node PRIV=demo-priv PUB=demo-pub
WORK=$(mktemp -d /tmp/nfqwall-demo.XXXXXX)
PIDS=""
SENT=0 OK=0 BLOCKED=0 SURPRISES=0

bold() { printf '\033[1m%s\033[0m\n' "$*"; }

cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	sleep 0.3
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	for ns in $NODE $PRIV $PUB; do
		ip netns pids $ns 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del $ns 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo; echo "interrupted: cleaning up"; exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || { echo "make demo needs root (network namespaces, NFQUEUE)"; exit 1; }
[ -x "$NFQWALL" ] || { echo "no $NFQWALL: run make first"; exit 1; }
for ns in $NODE $PRIV $PUB; do ip netns del $ns 2>/dev/null; done

n() { ip netns exec $NODE "$@"; }

bold "== network: three namespaces, two veth pairs"
ip netns add $NODE && ip netns add $PRIV && ip netns add $PUB
ip link add veth-priv netns $NODE type veth peer name eth0 netns $PRIV
ip link add veth-pub netns $NODE type veth peer name eth0 netns $PUB
n ip addr add 198.51.100.1/24 dev veth-priv
n ip addr add 203.0.113.1/24 dev veth-pub
ip netns exec $PRIV ip addr add 198.51.100.10/24 dev eth0
ip netns exec $PUB ip addr add 203.0.113.10/24 dev eth0
for ns in $NODE $PRIV $PUB; do ip netns exec $ns ip link set lo up; done
n ip link set veth-priv up && n ip link set veth-pub up
ip netns exec $PRIV ip link set eth0 up && ip netns exec $PUB ip link set eth0 up
echo "  demo-priv 198.51.100.10 <-> 198.51.100.1 demo-node 203.0.113.1 <-> 203.0.113.10 demo-pub"

mkdir -p "$WORK/policy"
cat > "$WORK/policy/hostendpoint.yaml" <<'EOF'
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata:
  name: demo-node-auto-hep
  labels: {lke.linode.com/pool-id: "demo"}
spec:
  node: demo-node
  interfaceName: "*"
  expectedIPs: [198.51.100.1, 203.0.113.1]
  profiles: [projectcalico-default-allow]
EOF
write_policy() {	# $1: extra ports for the private range
	cat > "$WORK/policy/waf-rules.yaml.tmp" <<EOF
# The article's waf-rules, with 198.51.100.0/24 as the private range.
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: waf-rules
spec:
  order: 20
  selector: has(lke.linode.com/pool-id)
  egress:
    - action: Allow
  ingress:
    - action: Allow                 # loopback: kubelet health checks, /metrics
      source: {nets: [127.0.0.0/8]}
    - action: Allow
      protocol: ICMP
    - action: Allow
      protocol: TCP
      source: {nets: [198.51.100.0/24]}
      destination:
        ports: [${1}179, "30000:32767", 6443, 6666, 6667, "2379:2380"]
    - action: Allow
      protocol: UDP
      source: {nets: [198.51.100.0/24]}
      destination:
        ports: ["30000:32767", 51820]
    - action: Deny
    - action: Log
EOF
	mv "$WORK/policy/waf-rules.yaml.tmp" "$WORK/policy/waf-rules.yaml"
}
write_policy "10250, 10259, 10257, "

bold "== the policy (nfqwall check)"
"$NFQWALL" check --node demo-node "$WORK/policy" | sed 's/^/  /'

bold "== starting nfqwall in demo-node"
# not through n(): $! must be nfqwall itself (ip netns exec execs it), so cleanup stops it
ip netns exec $NODE env NFQWALL_HTTP_ADDR=127.0.0.1:9417 "$NFQWALL" run --policy-dir "$WORK/policy" \
	--node demo-node --queues 2 --log-rate 0 > "$WORK/verdicts.log" 2> "$WORK/nfqwall.err" &
PIDS="$PIDS $!"
for _ in $(seq 1 50); do
	n curl -sf http://127.0.0.1:9417/readyz >/dev/null 2>&1 && break
	sleep 0.1
done
grep -E 'table published|running' "$WORK/nfqwall.err" | head -2 | sed 's/^/  /'

# the services on the node
ip netns exec $NODE $PEER serve --tcp 22,6443,8443,10250,30080 --udp 30053,51820 > /dev/null 2>&1 &
PIDS="$PIDS $!"
sleep 0.5

# show verdict lines as they happen
tail -n +1 -f "$WORK/verdicts.log" 2>/dev/null | $PY -u -c '
import json, sys
for line in sys.stdin:
    try:
        o = json.loads(line)
    except ValueError:
        continue
    port = o["dport"] if o["dport"] is not None else "icmp"
    print("    [verdict] %-5s %s %s -> %s:%s  %s rule %s (%s)" % (o["action"], o["proto"], o["src"],
          o["dst"], port, o["policy"] or "-", o["rule"], o["stage"]), flush=True)
' &
PIDS="$PIDS $!"

try() {	# try EXPECT WHO DESCRIPTION CMD...
	expect=$1 who=$2 what=$3; shift 3
	SENT=$((SENT + 1))
	if ip netns exec "$who" "$@" >/dev/null 2>&1; then got=allowed; OK=$((OK + 1)); else got=blocked; BLOCKED=$((BLOCKED + 1)); fi
	mark="as expected"
	[ "$got" = "$expect" ] || { mark="UNEXPECTED"; SURPRISES=$((SURPRISES + 1)); }
	printf '  %-44s %-8s (%s)\n' "$what" "$got" "$mark"
	sleep 0.2
}

bold "== traffic from the private range (198.51.100.10)"
try allowed $PRIV "kubelet tcp/10250" $PEER tcp 198.51.100.1 10250
try allowed $PRIV "API server tcp/6443" $PEER tcp 198.51.100.1 6443
try allowed $PRIV "NodePort tcp/30080" $PEER tcp 198.51.100.1 30080
try allowed $PRIV "NodePort udp/30053" $PEER udp 198.51.100.1 30053
try blocked $PRIV "tcp/8443 (not in the policy)" $PEER tcp 198.51.100.1 8443 --timeout 1

bold "== traffic from the internet (203.0.113.10)"
try blocked $PUB "kubelet tcp/10250" $PEER tcp 203.0.113.1 10250 --timeout 1
try blocked $PUB "NodePort tcp/30080" $PEER tcp 203.0.113.1 30080 --timeout 1
try blocked $PUB "WireGuard udp/51820" $PEER udp 203.0.113.1 51820 --timeout 1
try allowed $PUB "SSH tcp/22 (failsafe, despite the Deny)" $PEER tcp 203.0.113.1 22
try allowed $PUB "ping (ICMP allowed)" ping -c 1 -W 1 203.0.113.1

bold "== a policy edit while a connection is open"
ip netns exec $PRIV $PEER hold 198.51.100.1 10250 --status "$WORK/hold" --interval 0.2 --duration 6 &
HOLD=$!
sleep 1
echo "  a kubelet connection from 198.51.100.10 is open: $(tail -1 "$WORK/hold")"
echo "  editing waf-rules: tcp/10250 removed from the allowed ports"
write_policy ""
sleep 1.5
wait $HOLD 2>/dev/null
echo "  the open connection: $(tail -1 "$WORK/hold") (re-judged against the new table)"
grep 'table published' "$WORK/nfqwall.err" | tail -1 | sed 's/^/  /'
try blocked $PRIV "kubelet tcp/10250 after the edit" $PEER tcp 198.51.100.1 10250 --timeout 1
try allowed $PRIV "API server tcp/6443 after the edit" $PEER tcp 198.51.100.1 6443

sleep 0.5
bold "== summary"
printf '  sent %d: %d allowed, %d blocked, %d unexpected\n' $SENT $OK $BLOCKED $SURPRISES
echo "  per rule (nfqwall_rule_hits_total):"
n curl -sf http://127.0.0.1:9417/metrics | $PY -c '
import re, sys
rows = []
for line in sys.stdin:
    if line.startswith("nfqwall_rule_hits_total{"):
        labels = dict(re.findall(r"(\w+)=\"([^\"]*)\"", line))
        rows.append((labels.get("policy") or labels.get("action"), labels.get("rule"),
                     labels.get("action"), labels.get("stage"), int(float(line.split()[-1]))))
print("    %-20s %-12s %-8s %-8s %s" % ("policy/profile", "rule", "action", "stage", "hits"))
for r in sorted(rows):
    print("    %-20s %-12s %-8s %-8s %d" % r)
'
echo "  queue counters:"
n curl -sf http://127.0.0.1:9417/metrics | grep -E '^nfqwall_packets_total' | awk '$NF > 0' | sed 's/^/    /'
n "$NFQWALL" uninstall | sed 's/^/  /'
[ $SURPRISES -eq 0 ] && bold "== demo done: every verdict as expected" || bold "== demo done: $SURPRISES unexpected verdicts"
exit $((SURPRISES > 0))
