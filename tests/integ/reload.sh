#!/bin/sh
# Policy edits apply without a restart; an invalid policy file is reported (file, line,
# object, field) and the last good table stays enforced; fixing it applies it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/common_policy.sh"
need_root
setup_net
write_hep
write_policy 8080
serve_node --tcp 8080,8081
start_nfqwall || exit 1
check "8080 allowed" nc_ $PEER tcp $NODE4 8080
check_not "8081 denied" nc_ $PEER tcp $NODE4 8081 --timeout 1
cat > "$POLICY/broken.yaml" <<'EOT'
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: broken
spec:
  selector: role == 'node'
  order: 1
  ingress:
    - action: Allow
      destination: {ports: [8081]}
EOT
sleep 1
check "the error names file, line, object and field" grep -q 'broken.yaml:10:.*GlobalNetworkPolicy/broken: spec.ingress\[0\].*ports need protocol' "$WORK/nfqwall.err"
check "the rejection is logged" grep -q 'policy rejected, the last good table stays enforced' "$WORK/nfqwall.err"
check "the last good table stays: 8080 allowed" nc_ $PEER tcp $NODE4 8080
check_not "the last good table stays: 8081 denied" nc_ $PEER tcp $NODE4 8081 --timeout 1
check "/metrics counts the failed reload" [ "$(metric nfqwall_policy_reload_failures_total)" -ge 1 ]
check "/readyz explains" sh -c "ip netns exec $NODE curl -s http://127.0.0.1:9417/readyz | grep -q ready"
sed -i 's/      destination: {ports: \[8081\]}/      protocol: TCP\n      destination: {ports: [8081]}/' "$POLICY/broken.yaml"
check "after the fix 8081 is allowed" wait_for nc_ $PEER tcp $NODE4 8081 --timeout 0.5
rm "$POLICY/broken.yaml"
check "after removing the file 8081 is denied again" wait_for sh -c "! ip netns exec $CLI $PEER tcp $NODE4 8081 --timeout 0.3"
# A misspelt field is an error too (it used to warn, and this rule allowed every TCP port).
cat > "$POLICY/typo.yaml" <<'EOT'
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: typo
spec:
  selector: role == 'node'
  order: 1
  ingress:
    - action: Allow
      protocol: TCP
      destinaton: {ports: [9999]}
EOT
check "an unknown field is an error naming it" wait_for grep -q 'typo.yaml:11:7: error: GlobalNetworkPolicy/typo: spec.ingress\[0\].destinaton: unknown field' "$WORK/nfqwall.err"
check_not "the misspelt rule does not open 8081" nc_ $PEER tcp $NODE4 8081 --timeout 1
finish
