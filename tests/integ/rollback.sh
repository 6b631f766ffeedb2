#!/bin/sh
# The lockout guard's second line (issue 12): after a policy change, real connections from the
# node to its lifelines. An edit the first line cannot see cutting a lifeline (a rule on the
# node's source ports: the first line judges one representative port, the node's connections
# use its ephemeral range) is enforced, found by the connection within --confirm-timeout, and
# rolled back to the last confirmed policy; it stays rolled back while the file keeps that
# content, also when other objects change; a good edit afterwards is enforced. A lifeline
# that was down already causes no rollback, and one that goes down by itself is not blamed on
# the policy for long: the restored policy cannot reach it either, so the edit is enforced
# again and no loop follows. The first line judges a lifeline's answers too: a doNotTrack
# rule that drops them is refused before it is enforced.
. "$(dirname "$0")/lib.sh"
need_root
setup_net
nn sysctl -qw net.ipv4.ip_local_port_range="50000 50100"	# the node's ephemeral ports
veth_hep_yaml v3 "$NODE4" "$NODE6" > "$POLICY/hep.yaml"
nc_ $PEER serve --tcp 7000,7001 > "$WORK/life.log" 2>&1 &
PIDS="$PIDS $!"
sleep 0.5
policy() {	# policy EGRESS_PORTS [untracked|sport]: egress to these client ports; with
		# "untracked", a doNotTrack rule that drops every packet from the client;
		# with "sport", a rule that drops the node's ephemeral ports to port 7000
	egress_yaml v3 "$1" > "$POLICY/policy.yaml.tmp"
	case "${2:-}" in
	untracked) { echo ---; raw_drop_yaml v3; } >> "$POLICY/policy.yaml.tmp" ;;
	sport) { echo ---; sport_drop_yaml v3; } >> "$POLICY/policy.yaml.tmp" ;;
	esac
	mv "$POLICY/policy.yaml.tmp" "$POLICY/policy.yaml"
}
out() { nn $PEER tcp $CLI4 "$1" --timeout 0.5; }	# the node connects out
confirmed() { grep -c 'lockout guard: policy confirmed' "$WORK/nfqwall.err"; }

policy "7000, 7001"
# the lifeline, and one that is down from the start (no route to it)
start_nfqwall --lifeline tcp:$CLI4:7000 --lifeline tcp:198.51.100.7:7000 --confirm-timeout 2 ||
	exit 1
check "the first policy is confirmed by real connections" wait_for grep -q 'lockout guard: policy confirmed' "$WORK/nfqwall.err"
check "the node reaches its lifeline" out 7000

# a change while the second lifeline is down: confirmed, not rolled back
n=$(confirmed)
policy "7000"
WAIT_TRIES=60 check "a change with a lifeline down already is confirmed" wait_for sh -c "[ \$(grep -c 'lockout guard: policy confirmed' '$WORK/nfqwall.err') -gt $n ]"
check "... saying that lifeline is not reached, and was down" grep -q "lockout guard: a lifeline is not reached under the new policy\" lifeline=tcp:198.51.100.7:7000 result=\"Network is unreachable\" was=down" "$WORK/nfqwall.err"
check "... nothing rolled back" [ "$(metric nfqwall_policy_rollbacks_total)" = 0 ]
check "... and it is enforced: 7001 denied" wait_for sh -c "! ip netns exec $NODE $PEER tcp $CLI4 7001 --timeout 0.3"

# the first line judges the answers too: a doNotTrack rule that drops them is refused
gen0=$(metric nfqwall_ruleset_generation)
policy "7000" untracked
check "a doNotTrack rule dropping the lifeline's answers is refused by the first line" wait_for grep -q "lockout guard: the new table would cut a lifeline; the current one stays\" lifeline=tcp:$CLI4:7000 before=\"allowed by policy default/node-egress rule 2\" after=\"its answer denied by policy default/raw-drop rule 0\"" "$WORK/nfqwall.err"
check "... never enforced: the generation did not move" [ "$(metric nfqwall_ruleset_generation)" = "$gen0" ]
check "... counted" [ "$(metric nfqwall_policy_rollbacks_total)" = 1 ]
check "... the lifeline still reached" out 7000

# the bad edit: the first line lets it through (its SYN leaves from port 40000), the node's
# real connections (from 50000-50100) drop
t0=$(date +%s%N)
policy "7000" sport
check "the bad edit is enforced first (the first line cannot see it)" wait_for sh -c "[ \$(ip netns exec $NODE curl -s http://127.0.0.1:9417/metrics | awk '/^nfqwall_ruleset_generation /{print \$2}') != $gen0 ]"
WAIT_TRIES=80 check "the connection finds the cut and the last confirmed policy comes back" wait_for grep -q 'lockout guard: the last confirmed policy is enforced again" lifeline=tcp:'$CLI4':7000' "$WORK/nfqwall.err"
t1=$(date +%s%N)
note "bad edit written to the restored table: $(( (t1 - t0) / 1000000 )) ms (confirm timeout 2 s); nfqwall: $(grep -o 'enforced again.*restored_ms=[0-9]*' "$WORK/nfqwall.err" | grep -o 'restored_ms=[0-9]*' | tail -1)"
check "the rollback is logged with the lifeline, the result and the rule" grep -q "lockout guard: the new policy cut a lifeline; rolling back to the last confirmed policy\" lifeline=tcp:$CLI4:7000 from=$NODE4:50[01][0-9][0-9] result=\"Connection timed out\" waited_ms=[0-9]* explain=\"the SYN is denied by policy default/sport-drop rule 0\"" "$WORK/nfqwall.err"
check "counted in nfqwall_policy_rollbacks_total" [ "$(metric nfqwall_policy_rollbacks_total)" = 2 ]
check "the node reaches its lifeline again" out 7000
WAIT_TRIES=40 check "the restored policy is checked and reaches it" wait_for grep -q 'lockout guard: the lifeline is reached under the restored policy' "$WORK/nfqwall.err"
check "/readyz says it was rolled back" sh -c "ip netns exec $NODE curl -s http://127.0.0.1:9417/readyz | grep -q 'rolled back: the policy enforced at generation [0-9]* cut lifeline tcp:$CLI4:7000'"

# the same content written again, and a SIGHUP: still rolled back, nothing counted again
touch "$POLICY/policy.yaml"
kill -HUP "$NFQ_PID"
sleep 1
check "the same policy again stays rolled back" out 7000
check "... not counted again" [ "$(metric nfqwall_policy_rollbacks_total)" = 2 ]
check "... /readyz still says so" sh -c "ip netns exec $NODE curl -s http://127.0.0.1:9417/readyz | grep -q 'rolled back'"

# another object changes (a new network set): the rolled-back one stays out, the rest goes on
n=$(confirmed)
cat > "$POLICY/netset.yaml" <<EOT
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: unrelated, labels: {role: other}}
spec: {nets: [203.0.113.0/24]}
EOT
WAIT_TRIES=60 check "another object's change is enforced and confirmed" wait_for sh -c "[ \$(grep -c 'lockout guard: policy confirmed' '$WORK/nfqwall.err') -gt $n ]"
check "... the rolled-back object stays out: the lifeline reached" out 7000
check "... nothing counted again" [ "$(metric nfqwall_policy_rollbacks_total)" = 2 ]
check "... /readyz still says rolled back" sh -c "ip netns exec $NODE curl -s http://127.0.0.1:9417/readyz | grep -q 'rolled back'"

# a good edit afterwards is enforced, and confirmed
n=$(confirmed)
policy "7000, 7001"
check "a good edit afterwards is enforced: 7001 reached again" wait_for out 7001
WAIT_TRIES=60 check "... and confirmed" wait_for sh -c "[ \$(grep -c 'lockout guard: policy confirmed' '$WORK/nfqwall.err') -gt $n ]"
check "... /readyz no longer speaks of a rollback" sh -c "! ip netns exec $NODE curl -s http://127.0.0.1:9417/readyz | grep -q 'rolled back'"

# the lifeline goes down by itself (its answers stop), then a harmless edit: the rollback is
# undone, since the restored policy cannot reach it either, and the edit stays
nc_ iptables -A INPUT -p tcp --dport 7000 -j DROP
policy "7000"
WAIT_TRIES=120 check "a lifeline down by itself: the edit is enforced again" wait_for grep -q 'lockout guard: the lifeline is not reached under the restored policy either' "$WORK/nfqwall.err"
check "... and stays: 7001 denied" wait_for sh -c "! ip netns exec $NODE $PEER tcp $CLI4 7001 --timeout 0.3"
sleep 3
check "... no rollback loop (the lifeline counts as down now)" [ "$(metric nfqwall_policy_rollbacks_total)" = 3 ]
nc_ iptables -D INPUT -p tcp --dport 7000 -j DROP
check "SIGTERM exits 0" stop_nfqwall
nn "$NFQWALL" uninstall > /dev/null
finish
