#!/bin/sh
# Rule usage (issue 12): nfqwall_rule_last_hit_timestamp_seconds moves when a rule matches
# real packets, keeps its time across a reload for a rule that stays, and `nfqwall rules`
# (over the daemon's /rules) lists the rules that never matched, with their file:line.
. "$(dirname "$0")/lib.sh"
need_root
setup_net
write_hep
policy() {	# policy EXTRA: two Allow rules (8080 used, 8081 never), then EXTRA, then Deny
	cat > "$POLICY/policy.yaml.tmp" <<EOT
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
      destination: {ports: [8080]}
    - action: Allow
      protocol: TCP
      destination: {ports: [8081]}
$1
    - action: Deny
  egress:
    - action: Allow
EOT
	mv "$POLICY/policy.yaml.tmp" "$POLICY/policy.yaml"
}
policy ""
serve_node --tcp 8080,8081
start_nfqwall || exit 1
last() {	# last RULE: the last-hit time of ingress rule RULE of node-ingress, in whole seconds
	nn curl -sf http://127.0.0.1:9417/metrics | awk -v m="nfqwall_rule_last_hit_timestamp_seconds{tier=\"default\",policy=\"node-ingress\",rule=\"$1\",action=\"allow\",stage=\"normal\",direction=\"ingress\"}" \
		'index($0, m) == 1 { v = $NF } END { printf "%d\n", v }'
}
check "before any packet the rule never matched" [ "$(last 0)" = 0 ]
t0=$(date +%s)
check "8080 allowed" nc_ $PEER tcp $NODE4 8080
check "the rule's last hit is now" sh -c "[ $(last 0) -ge $t0 ] && [ $(last 0) -le $(( $(date +%s) + 1 )) ]"
check "the unused rule still never matched" [ "$(last 1)" = 0 ]
nn "$NFQWALL" rules > "$WORK/rules.txt" 2>&1
check "nfqwall rules lists the rules with their file:line" grep -q "default/node-ingress ingress normal rule 1 (allow) $POLICY/policy.yaml:12 hits=0" "$WORK/rules.txt"
check "... and when each last matched" grep -q "^[0-9]*s ago .*default/node-ingress ingress normal rule 0 (allow)" "$WORK/rules.txt"
nn "$NFQWALL" rules --unused 1h > "$WORK/unused.txt" 2>&1
rc=$?
check "--unused 1h exits 1: some rule did not match" [ "$rc" = 1 ]
check "... listing the never-matched rule" grep -q "^never .*node-ingress ingress normal rule 1 (allow)" "$WORK/unused.txt"
check "... not the one that matched" sh -c "! grep -q 'ingress normal rule 0 (allow)' '$WORK/unused.txt'"
check "... nor what is not a rule (end of tier, failsafes)" sh -c "! grep -q 'end-of-tier\|failsafe' '$WORK/unused.txt'"
nn "$NFQWALL" rules --json > "$WORK/rules.json"
check "--json is the daemon's answer" python3 -c "import json,sys; d=json.load(open('$WORK/rules.json')); assert d['rules'] and d['started'] > 0"
check "/rules refuses a bad horizon" sh -c "ip netns exec $NODE curl -s -o /dev/null -w '%{http_code}' 'http://127.0.0.1:9417/rules?unused=x' | grep -q 400"
# a reload that keeps the rule keeps its time
hit=$(last 0)
gen0=$(metric nfqwall_ruleset_generation)
policy "    - action: Allow
      protocol: UDP
      destination: {ports: [9999]}"
check "a policy edit publishes a new table" wait_for sh -c "[ \$(ip netns exec $NODE curl -sf http://127.0.0.1:9417/metrics | awk '/^nfqwall_ruleset_generation /{print \$2}') != $gen0 ]"
check "the kept rule's last hit carries over" [ "$(last 0)" = "$hit" ]
check "the new rule never matched" [ "$(metric 'nfqwall_rule_last_hit_timestamp_seconds{tier="default",policy="node-ingress",rule="2",action="allow",stage="normal",direction="ingress"}')" = 0 ]
check "SIGTERM exits 0" stop_nfqwall
check "nfqwall rules without a daemon: exit 2" sh -c "ip netns exec $NODE $NFQWALL rules 2>/dev/null; [ \$? = 2 ]"
nn "$NFQWALL" uninstall > /dev/null
finish
