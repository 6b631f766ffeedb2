#!/bin/sh
# The lockout guard (issue 12): a policy edit that would cut the node's own connection to a
# lifeline is refused before it is enforced, and the last table stays, with real packets to
# show it; the same edit again is not counted again; a good edit afterwards is enforced; a
# lifeline the current table already denies causes no refusal; --no-lockout-guard publishes
# the edit.
. "$(dirname "$0")/lib.sh"
need_root
setup_net
write_hep
LIFE=7000	# the lifeline: a server in the client namespace the node connects to
nc_ $PEER serve --tcp 7000,7001,7002 > "$WORK/life.log" 2>&1 &
PIDS="$PIDS $!"
sleep 0.5
egress() {	# egress PORTS: the node's policy, egress only to these client ports
	egress_yaml v3 "$1" > "$POLICY/policy.yaml.tmp"
	mv "$POLICY/policy.yaml.tmp" "$POLICY/policy.yaml"
}
out() { nn $PEER tcp $CLI4 "$1" --timeout 0.5; }	# the node connects out
egress "7000, 7001"
start_nfqwall --lifeline tcp:$CLI4:$LIFE --lifeline tcp:$CLI4:7002 || exit 1
check "the lifelines are logged" grep -q "lockout guard: lifeline\" lifeline=tcp:$CLI4:$LIFE resolved=yes" "$WORK/nfqwall.err"
check "the node reaches its lifeline" out 7000
check "... and 7001" out 7001
check_not "... not 7002 (the table denies it: that lifeline is down already)" out 7002
gen0=$(metric nfqwall_ruleset_generation)

# a bad edit: egress to 7001 only, which cuts the lifeline
t0=$(date +%s%N)
egress "7001"
check "the edit is refused and logged, naming the lifeline and the rule" wait_for grep -q \
	"lockout guard: the new table would cut a lifeline; the current one stays\" lifeline=tcp:$CLI4:$LIFE before=\"allowed by policy default/node-egress rule 2\" after=\"denied by policy default/node-egress rule 3\"" "$WORK/nfqwall.err"
t1=$(date +%s%N)
note "bad edit to refusal logged: $(( (t1 - t0) / 1000000 )) ms (the bad table is never enforced)"
check "counted in nfqwall_policy_rollbacks_total" [ "$(metric nfqwall_policy_rollbacks_total)" = 1 ]
check "the generation did not move" [ "$(metric nfqwall_ruleset_generation)" = "$gen0" ]
check "the node still reaches its lifeline" out 7000
check "/readyz says why" sh -c "ip netns exec $NODE curl -s http://127.0.0.1:9417/readyz | grep -q 'would cut lifeline tcp:$CLI4:$LIFE'"
# the same edit written again: refused again, not counted again
touch "$POLICY/policy.yaml"
sleep 0.5
check "the same refusal is not counted twice" [ "$(metric nfqwall_policy_rollbacks_total)" = 1 ]

# a good edit: the lifeline kept, 7001 dropped
egress "7000"
check "a good edit afterwards is enforced: 7001 denied" wait_for sh -c "! ip netns exec $NODE $PEER tcp $CLI4 7001 --timeout 0.3"
check "... the lifeline still reached" out 7000
check "... under a new generation" [ "$(metric nfqwall_ruleset_generation)" != "$gen0" ]
check "... and /readyz no longer speaks of a refusal" sh -c "ip netns exec $NODE curl -s http://127.0.0.1:9417/readyz | grep -q 'enforcing generation' && ! ip netns exec $NODE curl -s http://127.0.0.1:9417/readyz | grep -q refused"
check "SIGTERM exits 0" stop_nfqwall

# without the guard the bad edit is enforced
egress "7000, 7001"
start_nfqwall --no-lockout-guard --lifeline tcp:$CLI4:$LIFE || exit 1
check "--no-lockout-guard: the lifeline reached first" out 7000
egress "7001"
check "--no-lockout-guard: the edit is enforced and cuts it" wait_for sh -c "! ip netns exec $NODE $PEER tcp $CLI4 7000 --timeout 0.3"
check "--no-lockout-guard: nothing counted" [ "$(metric nfqwall_policy_rollbacks_total)" = 0 ]
check "SIGTERM exits 0" stop_nfqwall
check "bad lifelines are usage errors" sh -c "! nn $NFQWALL run --policy-dir $POLICY --lifeline udp:1.2.3.4:5 2>/dev/null"
nn "$NFQWALL" uninstall > /dev/null
finish
