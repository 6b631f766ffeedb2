# tests/integ/lib.sh - shared helpers of the integration tests (sourced).
#
# Every test builds its own pair of network namespaces joined by a veth:
#   $NODE  (nfqwall runs here)  veth-n  192.0.2.1/24   2001:db8:1::1/64
#   $CLI   (the client)         veth-c  192.0.2.2/24   2001:db8:1::2/64
# on documentation address ranges, and removes everything on exit (trap).
# Traffic goes only between these namespaces. Exit 77 = skip (with a reason).

set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
NFQWALL=${NFQWALL:-$ROOT/${O:-build}/nfqwall}
case "$NFQWALL" in /*) ;; *) NFQWALL=$ROOT/$NFQWALL ;; esac
PY=$(command -v python3 || echo /usr/bin/python3)
PEER="$PY $ROOT/tests/integ/peer.py"
ID=$$
NODE=nfqw-n$ID
CLI=nfqw-c$ID
NODE4=192.0.2.1
CLI4=192.0.2.2
NODE6=2001:db8:1::1
CLI6=2001:db8:1::2
WORK=$(mktemp -d /tmp/nfqwall-integ.XXXXXX)
POLICY=$WORK/policy
mkdir -p "$POLICY"
PIDS=""
NFQ_PID=""
FAILS=0

skip() { echo "SKIP: $*"; exit 77; }
note() { echo "# $*"; }
pass() { echo "ok - $*"; }
fail() { echo "not ok - $*"; FAILS=$((FAILS + 1)); }
check() {	# check NAME CMD...: pass when CMD succeeds (its output goes to $WORK/check.log)
	name=$1; shift
	if "$@" >> "$WORK/check.log" 2>&1; then pass "$name"; else fail "$name"; fi
}
check_not() {
	name=$1; shift
	if "$@" >> "$WORK/check.log" 2>&1; then fail "$name"; else pass "$name"; fi
}

cleanup() {
	for p in $PIDS $NFQ_PID; do kill "$p" 2>/dev/null; done
	sleep 0.2
	for p in $PIDS $NFQ_PID; do kill -9 "$p" 2>/dev/null; done
	# whatever still runs in our namespaces (servers started through nn/nc_) goes too
	for ns in "$NODE" "$CLI"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
	done
	ip netns del "$NODE" 2>/dev/null
	ip netns del "$CLI" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

need_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, NFQUEUE)"
	ip netns add "nfqw-probe$ID" 2>/dev/null || skip "cannot create network namespaces"
	ip netns del "nfqw-probe$ID"
	command -v iptables-restore >/dev/null || skip "iptables is not installed (make deps)"
	[ -x "$NFQWALL" ] || { echo "no binary $NFQWALL (make)"; exit 1; }
}

setup_net() {
	ip netns add "$NODE"
	ip netns add "$CLI"
	ip link add veth-n netns "$NODE" type veth peer name veth-c netns "$CLI"
	nn ip addr add $NODE4/24 dev veth-n
	nc_ ip addr add $CLI4/24 dev veth-c
	nn ip -6 addr add $NODE6/64 dev veth-n nodad
	nc_ ip -6 addr add $CLI6/64 dev veth-c nodad
	nn ip link set lo up
	nc_ ip link set lo up
	nn ip link set veth-n up
	nc_ ip link set veth-c up
	# NFQUEUE must exist in this kernel
	nn iptables -t filter -N NFQW-PROBE 2>/dev/null
	if ! nn iptables -t filter -A NFQW-PROBE -j NFQUEUE --queue-num 9 2>/dev/null; then
		skip "the kernel has no NFQUEUE target"
	fi
	nn iptables -t filter -F NFQW-PROBE
	nn iptables -t filter -X NFQW-PROBE
}

nn() { ip netns exec "$NODE" "$@"; }
nc_() { ip netns exec "$CLI" "$@"; }

# serve_node ARGS...: echo servers in the node namespace
serve_node() {
	nn $PEER serve "$@" > "$WORK/serve.$$.log" 2>&1 &
	PIDS="$PIDS $!"
	sleep 0.5
}

# start_nfqwall ARGS...: nfqwall run in the node namespace; waits for /readyz
start_nfqwall() {
	# not through nn(): $! must be nfqwall itself (ip netns exec execs it)
	# shellcheck disable=SC2086 # NFQ_SOURCE holds several words on purpose
	ip netns exec "$NODE" env NFQWALL_HTTP_ADDR=127.0.0.1:9417 "$NFQWALL" run ${NFQ_SOURCE:---policy-dir $POLICY} \
		--node node-1 --queues 2 "$@" > "$WORK/verdicts.log" 2>> "$WORK/nfqwall.err" &
	NFQ_PID=$!
	for _ in $(seq 1 ${READY_TRIES:-50}); do
		if nn curl -sf http://127.0.0.1:9417/readyz >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$NFQ_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "nfqwall did not become ready:"; cat "$WORK/nfqwall.err"
	return 1
}

stop_nfqwall() {	# SIGTERM, wait
	[ -n "$NFQ_PID" ] || return 0
	kill -TERM "$NFQ_PID" 2>/dev/null
	wait "$NFQ_PID" 2>/dev/null
	rc=$?
	NFQ_PID=""
	return $rc
}

metric() {	# metric NAME_WITH_LABELS: its value (sum over matching lines)
	nn curl -sf http://127.0.0.1:9417/metrics | awk -v m="$1" 'index($0, m) == 1 { s += $NF } END { print s + 0 }'
}

# hep_yaml GROUP ADDR...: the node's host endpoint (every interface, labelled role=node,
# these expected IPs) in API group GROUP (projectcalico.org/v3 or crd.projectcalico.org/v1).
hep_yaml() {
	group=$1; shift
	ips=$(printf '"%s", ' "$@")
	cat <<EOT
apiVersion: $group
kind: HostEndpoint
metadata:
  name: node-1
  labels: {role: node}
spec:
  node: node-1
  interfaceName: "*"
  expectedIPs: [${ips%, }]
EOT
}

# start_api ARGS...: tests/k8s/apiserver.py in the node namespace (state in $API_DIR, every
# request in $WORK/requests.log, bookmarks every second), with ARGS; waits until it answers.
# Sets PORT and APORT, and kc() runs the real kubectl against it.
start_api() {
	API_DIR=$WORK/api
	nn $PY "$ROOT/tests/k8s/apiserver.py" --state-dir "$API_DIR" --port 0 --admin-port 0 \
		--groups v1 --bookmark-interval 1 --log-file "$WORK/requests.log" "$@" \
		> "$WORK/api.out" 2> "$WORK/api.err" &
	PIDS="$PIDS $!"
	wait_api() { grep -q '^ready' "$WORK/api.out"; }
	wait_for wait_api || wait_for wait_api || { cat "$WORK/api.err"; exit 1; }
	PORT=$(cat "$API_DIR/port")
	APORT=$(cat "$API_DIR/admin-port")
}
kc() { nn kubectl --kubeconfig "$API_DIR/kubeconfig" "$@"; }

# kube_node_policy PORTS [EXTRA_RULES]: the node's ingress policy in its stored (v1) form,
# applied with kubectl: loopback, TCP to PORTS (a YAML list body), EXTRA_RULES, then Deny.
kube_node_policy() {
	cat > "$WORK/gnp.yaml" <<EOT
apiVersion: crd.projectcalico.org/v1
kind: GlobalNetworkPolicy
metadata:
  name: default.node-ingress
spec:
  tier: default
  order: 10
  selector: role == 'node'
  types: [Ingress]
  ingress:
    - action: Allow
      source: {nets: [127.0.0.0/8]}
    - action: Allow
      protocol: TCP
      destination: {ports: [$1]}
${2:-}
    - action: Deny
EOT
	kc apply -f "$WORK/gnp.yaml" > /dev/null
}

# egress_yaml FORM PORTS: the node's policy "node-egress" (the lockout guard's tests): every
# ingress; egress to loopback (rule 0), ICMPv6 (rule 1), TCP to the client's PORTS (rule 2, a
# YAML list body), and nothing else (rule 3). FORM v3 (projectcalico.org/v3) or v1 (the stored
# crd.projectcalico.org/v1 form: default.node-egress in tier default).
egress_yaml() {
	head_yaml "$1" GlobalNetworkPolicy node-egress
	cat <<EOT
  selector: role == 'node'
  order: 10
  ingress:
    - action: Allow
  egress:
    - action: Allow
      destination: {nets: [127.0.0.0/8]}
    - action: Allow
      protocol: ICMPv6
    - action: Allow
      protocol: TCP
      destination: {ports: [$2]}
    - action: Deny
EOT
}

# head_yaml FORM KIND NAME: the start of an object in projectcalico.org/v3 (FORM v3) or in
# the stored crd.projectcalico.org/v1 form (FORM v1, where a policy NAME is default.NAME in
# tier default), up to and including "spec:".
head_yaml() {
	if [ "$1" = v1 ]; then
		printf 'apiVersion: crd.projectcalico.org/v1\nkind: %s\nmetadata:\n' "$2"
		if [ "$2" = GlobalNetworkPolicy ]; then
			printf '  name: default.%s\nspec:\n  tier: default\n' "$3"
		else
			printf '  name: %s\nspec:\n' "$3"
		fi
	else
		printf 'apiVersion: projectcalico.org/v3\nkind: %s\nmetadata:\n  name: %s\nspec:\n' \
			"$2" "$3"
	fi
}

# veth_hep_yaml FORM ADDR...: the node's host endpoint by interface name, veth-n (untracked
# and preDNAT policy apply to named interfaces only), labelled role=node.
veth_hep_yaml() {
	form=$1; shift
	ips=$(printf '"%s", ' "$@")
	head_yaml "$form" HostEndpoint node-1-veth | sed 's/^metadata:$/metadata:\n  labels: {role: node}/'
	printf '  node: node-1\n  interfaceName: veth-n\n  expectedIPs: [%s]\n' "${ips%, }"
}

# raw_drop_yaml FORM: policy "raw-drop", doNotTrack: every packet from the client address is
# dropped before conntrack, answers included.
raw_drop_yaml() {
	head_yaml "$1" GlobalNetworkPolicy raw-drop
	cat <<EOT
  selector: role == 'node'
  order: 5
  doNotTrack: true
  applyOnForward: true
  types: [Ingress]
  ingress:
    - action: Deny
      source: {nets: [$CLI4/32]}
EOT
}

# sport_drop_yaml FORM: policy "sport-drop": the node's TCP to the client's port 7000 from
# source ports 50000-50100 is dropped. With the node's ephemeral ports there
# (net.ipv4.ip_local_port_range), that cuts every real connection to it, which the lockout
# guard's first line, judging one representative source port (40000), cannot see.
sport_drop_yaml() {
	head_yaml "$1" GlobalNetworkPolicy sport-drop
	cat <<EOT
  selector: role == 'node'
  order: 5
  types: [Egress]
  egress:
    - action: Deny
      protocol: TCP
      source: {ports: ["50000:50100"]}
      destination: {nets: [$CLI4/32], ports: [7000]}
EOT
}

# The node's host endpoint in the policy directory.
write_hep() {
	hep_yaml projectcalico.org/v3 "$NODE4" "$NODE6" > "$POLICY/hep.yaml"
}

# wait_for CMD...: retry for up to WAIT_TRIES/10 s (default 3 s: a policy change takes a
# debounce and a compile)
wait_for() {
	for _ in $(seq 1 "${WAIT_TRIES:-30}"); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# sanitizer_clean: no AddressSanitizer, UBSan, LeakSanitizer or ThreadSanitizer report in
# any nfqwall run of this test (the sanitizer suites of make check run these tests with
# instrumented builds; a report there is a failure even when the test's checks passed).
sanitizer_clean() {
	! grep -qE 'ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error:' \
		"$WORK/nfqwall.err" 2>/dev/null
}

finish() {
	# stop it first: leak checks and shutdown races report at exit
	if [ -n "$NFQ_PID" ]; then
		stop_nfqwall
	fi
	if ! sanitizer_clean; then
		fail "nfqwall ran without sanitizer reports"
		grep -A25 -E 'ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error:' \
			"$WORK/nfqwall.err" | head -80
	fi
	if [ "$FAILS" -gt 0 ]; then
		echo "--- nfqwall stderr"; tail -30 "$WORK/nfqwall.err" 2>/dev/null
		exit 1
	fi
	exit 0
}
