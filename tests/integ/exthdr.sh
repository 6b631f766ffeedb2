#!/bin/sh
# IPv6 extension headers never hide the ports: a SYN whose hop-by-hop, routing,
# fragment (atomic) or destination-options headers push the TCP header far past the
# start of the packet is judged on its real ports, in every legal order. A Deny on
# 9090 before a broad Allow must hold; 8080 behind the same chains must still pass
# (the ports were read, the packet was not just dropped). Real packets, built by
# peer.py syn6 on a raw socket and by the kernel itself (sticky IPV6_HOPOPTS).
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
    - action: Deny
      protocol: TCP
      destination: {ports: [9090]}
    - action: Allow
  egress:
    - action: Allow
EOT
serve_node --tcp 8080,9090
start_nfqwall || exit 1

syn() {	# syn PORT CHAIN: the node answers a raw SYN behind CHAIN
	nc_ $PEER syn6 $CLI6 $NODE6 "$1" --chain "$2" --timeout 1
}
for chain in "" hop:200 dst:200 frag hop:8,dst:240 hop:8,rt:16,frag,dst:200 \
	     dst:100,rt:40,dst:100 hop:250,dst:250,dst:250; do
	label=${chain:-none}
	check "IPv6 SYN to 8080 behind [$label] is allowed" syn 8080 "$chain"
	check_not "IPv6 SYN to 9090 behind [$label] is denied" syn 9090 "$chain"
done
check "a whole connection with 200-byte hop-by-hop options to 8080 works" \
	nc_ $PEER tcp $NODE6 8080 --hopopts 200 --dstopts 120
check_not "a whole connection with 200-byte hop-by-hop options to 9090 is denied" \
	nc_ $PEER tcp $NODE6 9090 --hopopts 200 --dstopts 120 --timeout 1
check_not "a connection with 600 bytes of destination options to 9090 is denied" \
	nc_ $PEER tcp $NODE6 9090 --dstopts 250 --hopopts 250 --timeout 1
check "the verdict log names port 9090 behind the extension headers" \
	grep -q '"action":"deny".*"dport":9090' "$WORK/verdicts.log"
check "nfqwall is still running" kill -0 "$NFQ_PID"
finish
