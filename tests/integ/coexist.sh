#!/bin/sh
# Living beside Calico Felix and kube-proxy (docs/coexistence.md). The node namespace
# gets rule sets shaped like theirs -- kube-proxy's iptables mode (a ClusterIP and two
# NodePorts DNATed to a pod, the masquerade bit 0x4000 set in nat PREROUTING/OUTPUT and
# read in POSTROUTING and FORWARD, FORWARD policy DROP) and Felix's (its jumps at the top,
# its bits 0xf0000 set and cleared in mangle and filter, pod interfaces cali*) -- and two
# "pods" behind it in namespaces of their own. With nfqwall enforcing a "*" host endpoint
# (a preDNAT policy denying one NodePort, a normal policy allowing one host port), real
# connections show: NodePort and ClusterIP traffic reach the pod and are masqueraded
# (kube-proxy's bit survived nfqwall), pod-to-pod and pod-to-service forwarding work,
# the host policy still holds, and Felix moving its jumps above nfqwall's changes none
# of it. A mask on Felix's or kube-proxy's bits is refused at start; forced with
# --mark-check off, it breaks kube-proxy's masquerade (so these checks can fail).
. "$(dirname "$0")/lib.sh"
need_root
setup_net
POD1=nfqw-p1$ID
POD2=nfqw-p2$ID
trap 'for ns in $POD1 $POD2; do ip netns pids $ns 2>/dev/null | xargs -r kill -9 2>/dev/null; ip netns del $ns 2>/dev/null; done; cleanup' EXIT INT TERM
add_pod() {	# add_pod NS IFACE N: pod 10.244.N.2 behind the node's IFACE 10.244.N.1
	ip netns add "$1"
	ip link add "$2" netns "$NODE" type veth peer name eth0 netns "$1"
	nn ip addr add "10.244.$3.1/24" dev "$2"
	nn ip link set "$2" up
	ip netns exec "$1" ip addr add "10.244.$3.2/24" dev eth0
	ip netns exec "$1" ip link set lo up
	ip netns exec "$1" ip link set eth0 up
	ip netns exec "$1" ip route add default via "10.244.$3.1"
}
add_pod "$POD1" cali1a2b3c 1
add_pod "$POD2" cali4d5e6f 2
nn sysctl -qw net.ipv4.ip_forward=1
nn ip route add default via $CLI4	# a node has one: ClusterIPs are routed before DNAT
ip netns exec "$POD1" $PEER serve --tcp 8080,8081 --peers "$WORK/peers" > /dev/null 2>&1 &
PIDS="$PIDS $!"
serve_node --tcp 8080,9090

cat > "$WORK/kube-proxy.rules" <<'EOT'
*nat
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-SVC-WEB - [0:0]
:KUBE-SEP-WEB - [0:0]
:KUBE-SEP-ADMIN - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-SERVICES -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-WEB
-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-A KUBE-NODEPORTS -p tcp -m tcp --dport 30080 -j KUBE-MARK-MASQ
-A KUBE-NODEPORTS -p tcp -m tcp --dport 30080 -j KUBE-SEP-WEB
-A KUBE-NODEPORTS -p tcp -m tcp --dport 30081 -j KUBE-MARK-MASQ
-A KUBE-NODEPORTS -p tcp -m tcp --dport 30081 -j KUBE-SEP-ADMIN
-A KUBE-SVC-WEB ! -s 10.244.0.0/16 -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j KUBE-MARK-MASQ
-A KUBE-SVC-WEB -j KUBE-SEP-WEB
-A KUBE-SEP-WEB -p tcp -m tcp -j DNAT --to-destination 10.244.1.2:8080
-A KUBE-SEP-ADMIN -p tcp -m tcp -j DNAT --to-destination 10.244.1.2:8081
COMMIT
*filter
:KUBE-FORWARD - [0:0]
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
EOT
cat > "$WORK/felix.rules" <<'EOT'
*mangle
:cali-PREROUTING - [0:0]
-I PREROUTING 1 -m comment --comment "cali:6gwbT8clXdHdC1b1" -j cali-PREROUTING
-A cali-PREROUTING -m comment --comment "cali:6BJqBjBC7crtA-u" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A cali-PREROUTING -m comment --comment "cali:KX7AGNd6rMcDUai6" -m mark --mark 0x10000/0x10000 -j ACCEPT
-A cali-PREROUTING -m comment --comment "cali:wNH7KsA3ILKJBsY9" -j MARK --set-xmark 0x0/0xf0000
COMMIT
*filter
:cali-INPUT - [0:0]
:cali-FORWARD - [0:0]
:cali-OUTPUT - [0:0]
-I INPUT 1 -m comment --comment "cali:Cz_u1IQiXIMmKD4c" -j cali-INPUT
-I FORWARD 1 -m comment --comment "cali:wUHhoiAYhphO9Mso" -j cali-FORWARD
-I OUTPUT 1 -m comment --comment "cali:tVnHkvAo15HuiPy0" -j cali-OUTPUT
-A cali-INPUT -i cali+ -m comment --comment "cali:workload-to-host" -j ACCEPT
-A cali-INPUT -j MARK --set-xmark 0x0/0xf0000
-A cali-FORWARD -j MARK --set-xmark 0x0/0xe0000
-A cali-FORWARD -m mark --mark 0x10000/0x10000 -j ACCEPT
-A cali-FORWARD -i cali+ -j MARK --set-xmark 0x10000/0x10000
-A cali-FORWARD -o cali+ -j MARK --set-xmark 0x10000/0x10000
-A cali-FORWARD -m mark --mark 0x10000/0x10000 -j ACCEPT
-A cali-OUTPUT -j MARK --set-xmark 0x0/0xf0000
COMMIT
EOT
check "kube-proxy-shaped rules load" nn iptables-restore --noflush "$WORK/kube-proxy.rules"
check "Felix-shaped rules load" nn iptables-restore --noflush "$WORK/felix.rules"
nn iptables -P FORWARD DROP

write_hep
cat > "$POLICY/policy.yaml" <<EOT
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: nodeports
spec:
  order: 10
  selector: role == 'node'
  preDNAT: true
  applyOnForward: true
  types: [Ingress]
  ingress:
    - action: Deny
      protocol: TCP
      destination: {ports: [30081]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: host
spec:
  order: 20
  selector: role == 'node'
  types: [Ingress, Egress]
  ingress:
    - action: Allow
      protocol: TCP
      destination: {ports: [8080]}
    - action: Allow
      source: {nets: [127.0.0.0/8, 10.244.0.0/16]}
  egress:
    - action: Allow
EOT

pod_saw() {	# pod_saw ADDR PORT: the pod's last connection on PORT came from ADDR
	tail -1 "$WORK/peers" 2>/dev/null | grep -qx "$1 $2"
}
reach() {	# reach NS SAW ADDR PORT: from NS (node, cli or a pod) to ADDR:PORT, seen from SAW
	: > "$WORK/peers"
	ip netns exec "$1" $PEER tcp "$3" "$4" --timeout 1 && pod_saw "$2" 8080
}
traffic_checks() {	# traffic_checks LABEL
	check "$1: NodePort 30080 reaches the pod, masqueraded by kube-proxy (its 0x4000 survived)" \
		reach "$CLI" 10.244.1.1 $NODE4 30080
	check "$1: NodePort 30081 denied by the preDNAT policy" sh -c "! ip netns exec $CLI $PEER tcp $NODE4 30081 --timeout 0.5"
	check "$1: ClusterIP from the node reaches the pod, masqueraded" reach "$NODE" 10.244.1.1 10.96.0.10 80
	check "$1: pod to pod forwarding, not masqueraded" reach "$POD2" 10.244.2.2 10.244.1.2 8080
	check "$1: pod to ClusterIP, not masqueraded" reach "$POD2" 10.244.2.2 10.96.0.10 80
	check "$1: host policy: 8080 allowed" nc_ $PEER tcp $NODE4 8080 --timeout 1
	check "$1: host policy: 9090 denied" sh -c "! ip netns exec $CLI $PEER tcp $NODE4 9090 --timeout 0.5"
}

# ---- a mask on their bits is refused before anything is touched
nn "$NFQWALL" run --policy-dir "$POLICY" --node node-1 --mark-mask 0xfff80000 --http-addr off \
	> /dev/null 2> "$WORK/refused.err"
rc=$?
check "--mark-mask 0xfff80000 (Felix's bits) is refused at start" [ "$rc" -ne 0 ]
check "... naming Calico Felix and a free mask" sh -c "grep -q 'refusing to start' $WORK/refused.err && grep -q 'Calico Felix' $WORK/refused.err && grep -q 'mark-mask 0x1fff is free' $WORK/refused.err"
nn "$NFQWALL" run --policy-dir "$POLICY" --node node-1 --mark-mask 0x7ffc --http-addr off \
	> /dev/null 2> "$WORK/refused.err"
check "--mark-mask 0x7ffc (kube-proxy's 0x4000) is refused, naming KUBE-MARK-MASQ" sh -c "grep -q 'KUBE-MARK-MASQ\|kube-proxy' $WORK/refused.err"
check "a refused start installs nothing" sh -c "! ip netns exec $NODE iptables-save | grep -q NFQWALL"
# 200 harmless mark rules before one on nfqwall's bits: every rule counts, not the first few
{ echo "*mangle"; echo ":FILLER - [0:0]"; echo ":ZZZ-LATE - [0:0]"
  for i in $(seq 1 200); do echo "-A FILLER -m mark --mark 0x100000/0x100000 -j RETURN"; done
  echo "-A ZZZ-LATE -j MARK --set-xmark 0x1/0x1"; echo "COMMIT"; } > "$WORK/filler.rules"
nn iptables-restore --noflush "$WORK/filler.rules"
nn "$NFQWALL" run --policy-dir "$POLICY" --node node-1 --http-addr off > /dev/null 2> "$WORK/refused.err"
check "a colliding rule after 200 others is still found (ZZZ-LATE)" sh -c "grep -q 'refusing to start' $WORK/refused.err && grep -q 'ZZZ-LATE' $WORK/refused.err"
nn iptables -t mangle -F FILLER; nn iptables -t mangle -X FILLER
nn iptables -t mangle -F ZZZ-LATE; nn iptables -t mangle -X ZZZ-LATE

# ---- the default mask: everything keeps working, and nfqwall still enforces
start_nfqwall || exit 1
check "the start-time check found no collision" grep -q "no other rule uses nfqwall's mark bits" "$WORK/nfqwall.err"
check "nfqwall's jumps are first" sh -c "ip netns exec $NODE iptables -S FORWARD | sed -n 2p | grep -q NFQWALL-FORWARD"
traffic_checks "nfqwall first"
# Felix re-asserts its jumps at the top, above nfqwall's
reassert() {	# reassert TABLE CHAIN COMMENT
	nn iptables -t "$1" -D "$2" -m comment --comment "$3" -j "cali-$2" &&
		nn iptables -t "$1" -I "$2" 1 -m comment --comment "$3" -j "cali-$2"
}
reassert filter INPUT cali:Cz_u1IQiXIMmKD4c
reassert filter FORWARD cali:wUHhoiAYhphO9Mso
reassert filter OUTPUT cali:tVnHkvAo15HuiPy0
reassert mangle PREROUTING cali:6gwbT8clXdHdC1b1
check "Felix's jumps are now above nfqwall's" sh -c "ip netns exec $NODE iptables -S FORWARD | sed -n 2p | grep -q cali-FORWARD"
traffic_checks "Felix first"
check "nfqwall left Felix's jumps where they are" sh -c "ip netns exec $NODE iptables -S FORWARD | sed -n 2p | grep -q cali-FORWARD"
check "nothing leaves nfqwall's chains with its bits (NFQWALL-ACCEPT clears them)" sh -c "ip netns exec $NODE iptables -S NFQWALL-ACCEPT | grep -q -- '--set-xmark 0x0/0x1fff'"
stop_nfqwall
nn "$NFQWALL" uninstall > /dev/null

# ---- forced onto kube-proxy's bit, nfqwall breaks its masquerade: the checks above can fail
start_nfqwall --mark-mask 0x7ffc --mark-check off || exit 1
check "with --mark-mask 0x7ffc forced, kube-proxy's masquerade is broken: the pod sees the client" \
	reach "$CLI" $CLI4 $NODE4 30080
stop_nfqwall
nn "$NFQWALL" uninstall > /dev/null
finish
