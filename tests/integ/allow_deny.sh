#!/bin/sh
# Allowed and denied traffic per policy, TCP, UDP, ICMP, IPv4 and IPv6, through real
# NFQUEUE in a network namespace; verdict log lines are JSON with the documented keys;
# /metrics counts what was sent; SIGTERM exits 0 and leaves the rules.
. "$(dirname "$0")/lib.sh"
need_root
setup_net
write_hep
cat > "$POLICY/policy.yaml" <<'EOT'
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: node-ingress
spec:
  selector: role == 'node'
  order: 10
  ingress:
    - action: Allow          # loopback (kubelet health checks, our own /metrics)
      source: {nets: [127.0.0.0/8]}
    - action: Allow
      source: {nets: ["::1/128"]}
    - action: Allow
      protocol: TCP
      source: {nets: [192.0.2.0/24]}
      destination: {ports: [8080]}
    - action: Allow
      protocol: TCP
      source: {nets: ["2001:db8:1::/64"]}
      destination: {ports: [8080]}
    - action: Allow
      protocol: UDP
      destination: {ports: [5353]}
    - action: Allow
      protocol: ICMP
      icmp: {type: 8}
    - action: Allow          # IPv6 needs neighbour discovery
      protocol: ICMPv6
    - action: Log
      protocol: TCP
      destination: {ports: [9090]}
    - action: Deny
  egress:
    - action: Allow
EOT
serve_node --tcp 8080,9090 --udp 5353,5354
start_nfqwall || exit 1

# only CAP_NET_ADMIN (bit 12) is left, in every set, for every thread, and no_new_privs
check "nfqwall keeps only CAP_NET_ADMIN, with no_new_privs, in every thread" sh -c '
	for st in /proc/'"$NFQ_PID"'/task/*/status; do
		grep -q "^CapEff:[[:space:]]*0000000000001000$" "$st" &&
		grep -q "^CapPrm:[[:space:]]*0000000000001000$" "$st" &&
		grep -q "^CapBnd:[[:space:]]*0000000000001000$" "$st" &&
		grep -q "^CapInh:[[:space:]]*0000000000000000$" "$st" &&
		grep -q "^NoNewPrivs:[[:space:]]*1$" "$st" || { cat "$st"; exit 1; }
	done'
check "tcp 8080 over IPv4 is allowed" nc_ $PEER tcp $NODE4 8080
check_not "tcp 9090 over IPv4 is denied" nc_ $PEER tcp $NODE4 9090 --timeout 1
check "tcp 8080 over IPv6 is allowed" nc_ $PEER tcp $NODE6 8080
check_not "tcp 9090 over IPv6 is denied" nc_ $PEER tcp $NODE6 9090 --timeout 1
check "udp 5353 is allowed" nc_ $PEER udp $NODE4 5353
check_not "udp 5354 is denied" nc_ $PEER udp $NODE4 5354 --timeout 1
check "icmp echo is allowed" nc_ ping -c 1 -W 1 $NODE4
nc_ $PEER serve --tcp 7000 > /dev/null 2>&1 &
PIDS="$PIDS $!"
sleep 0.3
check "the node reaches the client (egress allowed, replies pass)" nn $PEER tcp $CLI4 7000

# verdict log: JSON lines with the documented keys, a deny for 9090 and the Log rule
sleep 0.3
check "verdict log lines are JSON with the documented keys" $PY - "$WORK/verdicts.log" <<'EOT'
import json, sys
keys = ["ts", "node", "action", "stage", "direction", "iface_in", "iface_out", "proto",
        "src", "sport", "dst", "dport", "icmp_type", "icmp_code", "len", "tier", "policy",
        "rule", "gen", "queue"]
lines = [l for l in open(sys.argv[1]) if l.strip()]
assert lines, "no verdict lines"
seen_deny = seen_log = False
for l in lines:
    o = json.loads(l)
    assert list(o)[:len(keys)] == keys, list(o)
    if o["action"] == "deny" and o["dport"] == 9090 and o["policy"] == "node-ingress":
        seen_deny = True
    if o["action"] == "log" and o["dport"] == 9090:
        seen_log = True
assert seen_deny and seen_log, (seen_deny, seen_log)
EOT
check "/metrics counts drops at the normal stage" \
	sh -c "[ \$(ip netns exec $NODE curl -sf http://127.0.0.1:9417/metrics | awk '/^nfqwall_packets_total/ && /stage=\"normal\"/ && /verdict=\"drop\"/ { s += \$NF } END { print s + 0 }') -ge 3 ]"
check "/metrics has per-rule hits for the Deny rule" \
	sh -c "ip netns exec $NODE curl -sf http://127.0.0.1:9417/metrics | grep -q 'nfqwall_rule_hits_total{.*policy=\"node-ingress\".*rule=\"8\"'"
check "SIGTERM exits 0" stop_nfqwall
check "rules stay after SIGTERM" sh -c "ip netns exec $NODE iptables-save | grep -q NFQWALL-INPUT"
check "uninstall removes every nfqwall rule" sh -c "ip netns exec $NODE $NFQWALL uninstall >/dev/null && ! ip netns exec $NODE iptables-save | grep -q NFQWALL && ! ip netns exec $NODE ip6tables-save | grep -q NFQWALL"
finish
