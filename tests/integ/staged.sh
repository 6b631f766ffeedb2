#!/bin/sh
# Staged policies, live (issue 12): a StagedGlobalNetworkPolicy is judged beside the
# enforced table for every judged flow and never changes a verdict. Where the staged view
# decides otherwise, the verdict log says "staged-deny" (it would drop what passes) or
# "staged-allow" (it would let through what is dropped), naming the staged view's policy
# and rule; nfqwall_staged_verdicts_total counts them. Real packets in namespaces.
. "$(dirname "$0")/lib.sh"
need_root
setup_net
write_hep
cat > "$POLICY/policy.yaml" <<'EOT'
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: block-8082
spec:
  selector: role == 'node'
  order: 5
  ingress:
    - action: Deny
      protocol: TCP
      destination: {ports: [8082]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: node-ingress
spec:
  selector: role == 'node'
  order: 10
  ingress:
    - action: Allow
      protocol: TCP
      destination: {ports: [8080, 8081, 8082]}
    - action: Allow
      protocol: ICMPv6
    - action: Deny
  egress:
    - action: Allow
EOT
serve_node --tcp 8080,8081,8082
start_nfqwall || exit 1
check "8081 allowed before anything is staged" nc_ $PEER tcp $NODE4 8081
check "no staged line without staged policies" sh -c "! grep -q staged '$WORK/verdicts.log'"
# stage a tightening of node-ingress (8081 no more) and the deletion of block-8082
cat > "$POLICY/staged.yaml" <<'EOT'
apiVersion: projectcalico.org/v3
kind: StagedGlobalNetworkPolicy
metadata:
  name: node-ingress
spec:
  selector: role == 'node'
  order: 10
  ingress:
    - action: Allow
      protocol: TCP
      destination: {ports: [8080, 8082]}
    - action: Allow
      protocol: ICMPv6
    - action: Deny
  egress:
    - action: Allow
---
apiVersion: projectcalico.org/v3
kind: StagedGlobalNetworkPolicy
metadata:
  name: block-8082
spec:
  stagedAction: Delete
EOT
check "the staged view is published" wait_for sh -c "ip netns exec $NODE curl -sf http://127.0.0.1:9417/metrics | grep -q '^nfqwall_staged_rule_hits_total{'"
check "8081 still allowed (staged policies never enforce)" nc_ $PEER tcp $NODE4 8081
check "... and logged staged-deny, naming the staged rule" wait_for grep -q '"action":"staged-deny".*"dport":8081,.*"policy":"node-ingress","rule":2,' "$WORK/verdicts.log"
check_not "8082 still denied (block-8082 enforced)" nc_ $PEER tcp $NODE4 8082 --timeout 1
check "... and logged staged-allow: the staged view deletes block-8082" wait_for grep -q '"action":"staged-allow".*"dport":8082,.*"policy":"node-ingress","rule":0,' "$WORK/verdicts.log"
check "8080: both agree, no staged line" sh -c "nc_() { ip netns exec $CLI \"\$@\"; }; nc_ $PEER tcp $NODE4 8080 && ! grep -q '\"dport\":8080' '$WORK/verdicts.log'"
check "staged-deny counted" [ "$(metric 'nfqwall_staged_verdicts_total{action="staged-deny"}')" -ge 1 ]
check "staged-allow counted" [ "$(metric 'nfqwall_staged_verdicts_total{action="staged-allow"}')" -ge 1 ]
check "the staged view's rules count their hits" [ "$(metric 'nfqwall_staged_rule_hits_total{tier="default",policy="node-ingress",rule="2"')" -ge 1 ]
rm "$POLICY/staged.yaml"
check "staged policies removed: the staged view goes" wait_for sh -c "! ip netns exec $NODE curl -sf http://127.0.0.1:9417/metrics | grep -q '^nfqwall_staged_rule_hits_total{'"
n=$(grep -c staged "$WORK/verdicts.log")
nc_ $PEER tcp $NODE4 8081 > /dev/null
sleep 0.5
check "... and no more staged lines" [ "$(grep -c staged "$WORK/verdicts.log")" = "$n" ]
check "SIGTERM exits 0" stop_nfqwall
nn "$NFQWALL" uninstall > /dev/null
finish
