#!/bin/sh
# The lockout guard in Kubernetes mode (issue 12): tests/k8s/apiserver.py runs in the node
# namespace and the policy is applied with the real kubectl. An edit the first line refuses
# and one the second line rolls back (a rule on the node's source ports, which the first line
# judges by one representative port) are both told to the cluster as Warning Events about the GlobalNetworkPolicy that cut the
# lifeline, which `kubectl get events` and `kubectl describe` show; a good edit afterwards is
# enforced.
. "$(dirname "$0")/lib.sh"
need_root
command -v kubectl >/dev/null || skip "kubectl is not installed"
command -v openssl >/dev/null || skip "openssl is not installed (make deps)"
setup_net
nn sysctl -qw net.ipv4.ip_local_port_range="50000 50100"	# the node's ephemeral ports
start_api
nc_ $PEER serve --tcp 7000,7001 > "$WORK/life.log" 2>&1 &
PIDS="$PIDS $!"
veth_hep_yaml v1 "$NODE4" | kc apply -f - > /dev/null
egress() {	# egress PORTS: the node's egress, to these client ports only
	egress_yaml v1 "$1" | kc apply -f - > /dev/null
}
out() { nn $PEER tcp $CLI4 "$1" --timeout 0.5; }	# the node connects out
ev() {	# ev REASON JSONPATH: that field of the first Event with that reason
	kc get events -n default --field-selector "reason=$1" -o jsonpath="{.items[0].$2}" 2>/dev/null
}
ev_is() { [ "$(ev "$1" "$2")" = "$3" ]; }		# ev_is REASON JSONPATH VALUE
ev_has() { ev "$1" "$2" | grep -q -- "$3"; }		# ev_has REASON JSONPATH REGEX
egress "7000, 7001"
NFQ_SOURCE="--kubernetes --api-server https://127.0.0.1:$PORT --token-file $API_DIR/serviceaccount/token --ca-file $API_DIR/ca.crt"
READY_TRIES=150 start_nfqwall --lifeline tcp:$CLI4:7000 --confirm-timeout 2 || exit 1
check "the first policy is confirmed" wait_for grep -q 'lockout guard: policy confirmed' "$WORK/nfqwall.err"
check "the node reaches its lifeline" out 7000
uid=$(kc get globalnetworkpolicies.crd.projectcalico.org default.node-egress -o jsonpath='{.metadata.uid}')

# the first line refuses an edit that cuts the lifeline: an Event about that policy
egress "7001"
check "a cutting edit is refused" wait_for grep -q 'lockout guard: the new table would cut a lifeline' "$WORK/nfqwall.err"
WAIT_TRIES=50 check "... told as a Warning Event about the GlobalNetworkPolicy" wait_for ev_is LockoutGuardRefused involvedObject.name default.node-egress
check "... with its kind, API version and uid" sh -c "[ \"\$(ip netns exec $NODE kubectl --kubeconfig $API_DIR/kubeconfig get events -n default --field-selector reason=LockoutGuardRefused -o jsonpath='{.items[0].involvedObject.kind} {.items[0].involvedObject.apiVersion} {.items[0].involvedObject.uid}')\" = 'GlobalNetworkPolicy crd.projectcalico.org/v1 $uid' ]"
check "... a Warning from nfqwall on node-1" sh -c "[ \"\$(ip netns exec $NODE kubectl --kubeconfig $API_DIR/kubeconfig get events -n default --field-selector reason=LockoutGuardRefused -o jsonpath='{.items[0].type} {.items[0].source.component} {.items[0].source.host}')\" = 'Warning nfqwall node-1' ]"
check "... whose message names the lifeline and the rule" ev_has LockoutGuardRefused message "would cut lifeline tcp:$CLI4:7000 (denied by policy default/node-egress rule 3"
check "... which kubectl describe shows with the policy" sh -c "ip netns exec $NODE kubectl --kubeconfig $API_DIR/kubeconfig describe globalnetworkpolicies.crd.projectcalico.org default.node-egress | grep -q 'Warning  LockoutGuardRefused'"
check "the lifeline is still reached" out 7000

# the second line: the node's real connections to the lifeline drop; rolled back, and told
egress "7000"
sport_drop_yaml v1 | kc apply -f - > /dev/null
WAIT_TRIES=80 check "the cut found by a real connection is rolled back" wait_for grep -q 'lockout guard: the last confirmed policy is enforced again' "$WORK/nfqwall.err"
uid2=$(kc get globalnetworkpolicies.crd.projectcalico.org default.sport-drop -o jsonpath='{.metadata.uid}')
WAIT_TRIES=50 check "... told as a Warning Event about the policy that cut it" wait_for ev_is LockoutGuardRollback involvedObject.name default.sport-drop
check "... with its uid" ev_is LockoutGuardRollback involvedObject.uid "$uid2"
check "... whose message says it was rolled back and why" ev_has LockoutGuardRollback message "rolled back: .* cut lifeline tcp:$CLI4:7000 (Connection timed out: the SYN is denied by policy default/sport-drop rule 0)"
check "the log says the Events were posted" sh -c "[ \$(grep -c 'kubernetes event posted\" http=201' '$WORK/nfqwall.err') = 2 ]"
check "the node reaches its lifeline again" out 7000
check "counted: one refusal, one rollback" [ "$(metric nfqwall_policy_rollbacks_total)" = 2 ]

# a good edit afterwards: the source-port rule goes, 7001 is denied
kc delete globalnetworkpolicies.crd.projectcalico.org default.sport-drop > /dev/null
check "a good edit afterwards is enforced" wait_for sh -c "! ip netns exec $NODE $PEER tcp $CLI4 7001 --timeout 0.3"
check "... the lifeline reached" out 7000
check "SIGTERM exits 0" stop_nfqwall
nn "$NFQWALL" uninstall > /dev/null
finish
