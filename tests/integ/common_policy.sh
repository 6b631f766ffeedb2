# tests/integ/common_policy.sh - write_policy PORTS: the node allows TCP to PORTS
# (a YAML list body, e.g. "8080, 8081") from the client subnet, loopback, ICMPv6 (NDP),
# UDP 5353, and denies the rest. Sourced after lib.sh.
write_policy() {
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
      source: {nets: [127.0.0.0/8]}
    - action: Allow
      protocol: ICMPv6
    - action: Allow
      protocol: TCP
      source: {nets: [192.0.2.0/24]}
      destination: {ports: [$1]}
    - action: Allow
      protocol: UDP
      destination: {ports: [5353]}
    - action: Deny
  egress:
    - action: Allow
EOT
	mv "$POLICY/policy.yaml.tmp" "$POLICY/policy.yaml"
}
