#!/bin/sh
# A policy change re-judges established flows: a connection allowed before a Deny is
# cut after it. With --no-rejudge (Felix's behaviour) it lives on. When the change touches
# some addresses only, only their flows are judged again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/common_policy.sh"
need_root
setup_net
write_hep
write_policy "8080, 8081"
serve_node --tcp 8080,8081
start_nfqwall || exit 1
nc_ $PEER hold $NODE4 8080 --status "$WORK/hold" --interval 0.1 --duration 5 &
HOLD=$!
check "the connection is up" wait_for grep -q alive "$WORK/hold"
write_policy 8081
wait $HOLD
note "connection: $(tail -1 "$WORK/hold")"
check "revoking port 8080 cut the established connection" grep -q '^cut' "$WORK/hold"
check "the re-judging was counted" [ "$(metric nfqwall_rejudged_total)" -ge 1 ]
check_not "new connections to 8080 are denied" nc_ $PEER tcp $NODE4 8080 --timeout 1
check "8081 is still allowed" nc_ $PEER tcp $NODE4 8081
stop_nfqwall
write_policy "8080, 8081"
start_nfqwall --no-rejudge || exit 1
nc_ $PEER hold $NODE4 8080 --status "$WORK/hold2" --interval 0.1 --duration 4 &
HOLD=$!
wait_for grep -q alive "$WORK/hold2"	# established before the change
write_policy 8081
wait $HOLD
note "connection with --no-rejudge: $(tail -1 "$WORK/hold2")"
check "with --no-rejudge the established connection lives on" grep -q '^done' "$WORK/hold2"
check_not "with --no-rejudge new connections to 8080 are still denied" nc_ $PEER tcp $NODE4 8080 --timeout 1
stop_nfqwall

# A change at some addresses: a client leaves the set an Allow rule selects. Only that
# client's flow is judged again (and cut); the kernel moves the other flows to the new
# generation without queueing them (NFQWALL-CARRY).
A=192.0.2.3 B=192.0.2.4
nc_ ip addr add $A/24 dev veth-c
nc_ ip addr add $B/24 dev veth-c
clients() {	# clients NETS: the GlobalNetworkSet the Allow rule selects
	cat > "$POLICY/clients.yaml.tmp" <<EOT
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: clients, labels: {set: clients}}
spec: {nets: [$1]}
EOT
	mv "$POLICY/clients.yaml.tmp" "$POLICY/clients.yaml"
}
cat > "$POLICY/policy.yaml" <<EOT
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: node-ingress}
spec:
  selector: role == 'node'
  ingress:
    - {action: Allow, source: {nets: [127.0.0.0/8]}}
    - {action: Allow, protocol: ICMPv6}
    - {action: Allow, protocol: TCP, source: {selector: set == 'clients'}, destination: {ports: [8080]}}
    - action: Deny
  egress:
    - action: Allow
EOT
clients "$A/32, $B/32"
start_nfqwall --log-allowed --log-rate 0 || exit 1
nc_ $PEER hold $NODE4 8080 --source $A --status "$WORK/hold-a" --interval 0.05 --duration 5 &
HA=$!
nc_ $PEER hold $NODE4 8080 --source $B --status "$WORK/hold-b" --interval 0.05 --duration 5 &
HB=$!
check "two clients' connections are up" wait_for sh -c "grep -q alive $WORK/hold-a && grep -q alive $WORK/hold-b"
sleep 0.5
judged_a() { grep -c "\"src\":\"$A\"" "$WORK/verdicts.log"; }
a0=$(judged_a)
gen0=$(metric nfqwall_ruleset_generation)
clients "$A/32"
wait $HA $HB
note "client A: $(tail -1 "$WORK/hold-a"); client B: $(tail -1 "$WORK/hold-b"); A's packets judged: $a0 before the change, $(judged_a) after"
check "the client that left the set is cut" grep -q '^cut' "$WORK/hold-b"
check "the other client's connection lives on" grep -q '^done' "$WORK/hold-a"
check "a new generation" [ "$(metric nfqwall_ruleset_generation)" != "$gen0" ]
check "... that spared the other addresses (nfqwall_tables_carried_total)" [ "$(metric nfqwall_tables_carried_total)" -ge 1 ]
check "... as the log says" grep -q 'only some addresses changed: the other flows are not judged again.*addresses=1' "$WORK/nfqwall.err"
# client A sent some 50 packets after the change: none came back to the queue (every
# allow is logged here; a full re-judging judges A's next packet again)
check "the other client's packets were not judged again" [ "$(judged_a)" -eq "$a0" ]
finish
