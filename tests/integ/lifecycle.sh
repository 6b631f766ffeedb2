#!/bin/sh
# The deployment lifecycle, with the test API server (tests/k8s/apiserver.py) and the
# real kubectl. nfqwall runs as a DaemonSet's pod would (--kubernetes --daemonset
# kube-system/nfqwall) under a policy of the reference article's kind: a "*" host
# endpoint that allows only what it names, loopback included. Shown with real packets:
#  - the daemon's own probe port on loopback stays reachable (the kubelet would restart
#    a pod whose probes fail), while other loopback ports are policed;
#  - a stop while the DaemonSet exists (a rolling update, an eviction, a drain) and a
#    crash leave the rules: the node stays closed as configured, established flows ride
#    the connmark fast path through the gap and survive the restart;
#  - deleting the DaemonSet (background, as helm uninstall and kubectl delete do;
#    foreground with a pod still owned; orphan) removes the rules when the pod stops;
#  - a DaemonSet never seen (a wrong name, a missing Role) never reads as a deletion;
#  - the daemon's own API connections pass a policy that does not allow them (their
#    socket mark), so a restart over the old rules can still load the policy;
#  - a refused token at stop (401: a force-deleted pod, an expired token) is never taken
#    for a deletion: the rules stay.
. "$(dirname "$0")/lib.sh"
need_root
command -v kubectl >/dev/null || skip "kubectl is not installed"
command -v openssl >/dev/null || skip "openssl is not installed (make deps)"
setup_net
API_DIR=$WORK/api
# The API server listens on the node: nfqwall reaches it on 127.0.0.1, kubectl (the
# operator) from the client namespace on the node's address.
# not through nn(): $! must be the server itself (ip netns exec execs it), for SIGUSR1
ip netns exec "$NODE" $PY "$ROOT/tests/k8s/apiserver.py" --state-dir "$API_DIR" --port 0 \
	--admin-port 0 --groups v1 --bookmark-interval 1 --bind 127.0.0.1 --bind $NODE4 \
	--san $NODE4 > "$WORK/api.out" 2> "$WORK/api.err" &
API_PID=$!
PIDS="$PIDS $API_PID"
wait_api() { grep -q '^ready' "$WORK/api.out"; }
wait_for wait_api || wait_for wait_api || { cat "$WORK/api.err"; exit 1; }
PORT=$(cat "$API_DIR/port")
kc() { nc_ kubectl --kubeconfig "$API_DIR/kubeconfig" --server "https://$NODE4:$PORT" "$@"; }

hep_yaml crd.projectcalico.org/v1 "$NODE4" > "$WORK/policy.yaml"
cat >> "$WORK/policy.yaml" <<EOT
---
apiVersion: crd.projectcalico.org/v1
kind: GlobalNetworkPolicy
metadata:
  name: default.node-ingress
spec:
  tier: default
  order: 10
  selector: role == 'node'
  types: [Ingress, Egress]
  # the API server allows the operator only; nfqwall's own API connections
  # (to 127.0.0.1:$PORT) pass its rules by their socket mark
  ingress:
    - action: Allow
      protocol: TCP
      destination: {ports: [8080]}
    - action: Allow
      protocol: TCP
      source: {nets: [$CLI4/32]}
      destination: {ports: [$PORT]}
  egress:
    - action: Allow
EOT
cat > "$WORK/ds.yaml" <<EOT
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: nfqwall
  namespace: kube-system
spec:
  selector:
    matchLabels: {app.kubernetes.io/name: nfqwall}
  template:
    metadata:
      labels: {app.kubernetes.io/name: nfqwall}
    spec:
      hostNetwork: true
      containers:
        - name: nfqwall
          image: nfqwall:test
EOT
kc create namespace kube-system > /dev/null 2>&1
check "kubectl applies the policy" kc apply -f "$WORK/policy.yaml"
check "kubectl applies the DaemonSet" kc apply -f "$WORK/ds.yaml"
serve_node --tcp 8080,9090
NFQ_SOURCE="--kubernetes --api-server https://127.0.0.1:$PORT --token-file $API_DIR/serviceaccount/token --ca-file $API_DIR/ca.crt"
DS_OPT="--daemonset kube-system/nfqwall"
rules() { nn iptables-save | grep -q -- '-A INPUT -j NFQWALL-INPUT'; }
no_rules() { ! nn iptables-save | grep -q NFQWALL && ! nn ip6tables-save | grep -q NFQWALL; }
allowed() { nc_ $PEER tcp $NODE4 "$1" --timeout 0.5; }
denied() { ! nc_ $PEER tcp $NODE4 "$1" --timeout 0.5; }

# ---- probes under a policy that polices loopback
READY_TRIES=150 start_nfqwall $DS_OPT || exit 1
check "the policy is enforced: 8080 allowed" allowed 8080
check "the policy is enforced: 9090 denied" denied 9090
check "loopback is policed: 127.0.0.1:9090 denied" sh -c "! ip netns exec $NODE $PEER tcp 127.0.0.1 9090 --timeout 0.5"
check "the daemon's probe port on loopback answers (/livez)" nn curl -sf --max-time 2 http://127.0.0.1:9417/livez
check "the daemon's probe port on loopback answers (/readyz)" nn curl -sf --max-time 2 http://127.0.0.1:9417/readyz
check "the kernel accepts it before the queue" sh -c "ip netns exec $NODE iptables-save | grep -q -- '-A NFQWALL-INPUT -s 127.0.0.0/8 -d 127.0.0.1/32 -i lo -p tcp -m tcp --dport 9417 -j NFQWALL-FAILSAFE'"
check "explain says so" sh -c "$NFQWALL explain --node node-1 --path local-in --proto tcp --src 127.0.0.1 --dst 127.0.0.1 --sport 40000 --dport 9417 --in lo $WORK/policy.yaml | grep -q \"nfqwall's own HTTP port tcp 9417\""
check "explain --no-allow-self shows the policy would block it" sh -c "$NFQWALL explain --node node-1 --path local-in --proto tcp --src 127.0.0.1 --dst 127.0.0.1 --sport 40000 --dport 9417 --in lo --no-allow-self $WORK/policy.yaml | grep -q '^verdict: deny'"
check "the DaemonSet watch is logged" wait_for grep -q 'daemonset=kube-system/nfqwall state=present' "$WORK/nfqwall.err"
check "the daemon's API connections pass by their socket mark" sh -c "ip netns exec $NODE iptables-save | grep -q -- '-A NFQWALL-OUTPUT -m mark --mark 0x8/0x1fff -j NFQWALL-FAILSAFE'"
check "the policy does not allow the API on 127.0.0.1 to anyone else (curl)" \
	sh -c "! ip netns exec $NODE curl -sk --max-time 1 https://127.0.0.1:$PORT/version -o /dev/null"
kc label hostendpoint node-1 probe=1 > /dev/null
check "a change through the API still arrives under a policy that does not allow the API" \
	wait_for grep -q 'trigger=change' "$WORK/nfqwall.err"

# ---- a stop while the DaemonSet exists, with a flow established through it
nc_ $PEER hold $NODE4 8080 --status "$WORK/hold" --interval 0.1 --duration 14 > /dev/null 2>&1 &
HOLD=$!
PIDS="$PIDS $HOLD"
sleep 1
alive() { grep -c alive "$WORK/hold" 2>/dev/null || echo 0; }
check "SIGTERM with the DaemonSet present exits 0" stop_nfqwall
check "... and leaves the rules (a restart, not a removal)" rules
check "the log says why" grep -q 'rules left in place' "$WORK/nfqwall.err"
check "while nfqwall is down the node stays closed: a new connection to 8080 fails" denied 8080
a0=$(alive); sleep 1.5; a1=$(alive)
note "held flow: $a0 exchanges before, $a1 after 1.5 s with no daemon"
check "while nfqwall is down the established flow goes on (fast path)" [ "$a1" -gt "$a0" ]
READY_TRIES=150 start_nfqwall $DS_OPT || exit 1
check "a restart over the old rules syncs with the API (its connections pass them)" \
	grep -q 'synced with the Kubernetes API: ready' "$WORK/nfqwall.err"
a2=$(alive); sleep 1; a3=$(alive)
check "after the restart the established flow goes on" [ "$a3" -gt "$a2" ]
check "the established flow was never cut" sh -c "! grep -q cut $WORK/hold"
kill "$HOLD" 2>/dev/null
check "after the restart new connections are judged again: 8080 allowed" allowed 8080

# ---- a crash: the rules stay, the node stays closed
kill -KILL "$NFQ_PID"; wait "$NFQ_PID" 2>/dev/null; NFQ_PID=""
check "after a crash the rules stay" rules
check "after a crash the node stays closed: 8080 fails" denied 8080

# ---- kubectl delete (background propagation, as helm uninstall): the rules go at stop
READY_TRIES=150 start_nfqwall $DS_OPT || exit 1
check "kubectl delete daemonset" kc delete daemonset nfqwall -n kube-system
check "the deletion is seen and logged" wait_for grep -q 'DaemonSet is being deleted' "$WORK/nfqwall.err"
check "the node is still enforced until the pod stops: 9090 denied" denied 9090
check "SIGTERM after the deletion exits 0" stop_nfqwall
check "... and removes every rule (IPv4 and IPv6)" no_rules
check "the log says the rules were removed" grep -q 'netfilter rules removed' "$WORK/nfqwall.err"
check "the node is open again: 9090 connects" allowed 9090

# ---- foreground deletion with a pod still owned: the DaemonSet is being deleted
kc apply -f "$WORK/ds.yaml" > /dev/null
: > "$WORK/nfqwall.err"
READY_TRIES=150 start_nfqwall $DS_OPT || exit 1
uid=$(kc get daemonset nfqwall -n kube-system -o jsonpath='{.metadata.uid}')
cat > "$WORK/pod.yaml" <<EOT
apiVersion: v1
kind: Pod
metadata:
  name: nfqwall-abcde
  namespace: kube-system
  ownerReferences:
    - {apiVersion: apps/v1, kind: DaemonSet, name: nfqwall, uid: "$uid", controller: true, blockOwnerDeletion: true}
spec:
  nodeName: node-1
  containers:
    - {name: nfqwall, image: "nfqwall:test"}
EOT
check "a pod owned by the DaemonSet" kc apply -f "$WORK/pod.yaml"
check "kubectl delete --cascade=foreground" kc delete daemonset nfqwall -n kube-system --cascade=foreground --wait=false
check "the DaemonSet has a deletionTimestamp" sh -c "ip netns exec $CLI kubectl --kubeconfig $API_DIR/kubeconfig --server https://$NODE4:$PORT get daemonset nfqwall -n kube-system -o jsonpath='{.metadata.deletionTimestamp}' | grep -q ."
check "nfqwall sees it being deleted" wait_for grep -q 'state=deleting' "$WORK/nfqwall.err"
check "SIGTERM then removes the rules" sh -c "kill -TERM $NFQ_PID; wait_gone() { kill -0 $NFQ_PID 2>/dev/null; }; for i in \$(seq 1 50); do wait_gone || exit 0; sleep 0.1; done; exit 1"
NFQ_PID=""
check "... every rule" no_rules
kc delete pod nfqwall-abcde -n kube-system --grace-period=0 --force > /dev/null 2>&1

# ---- orphan deletion: the pods keep running and enforcing until they are stopped
kc apply -f "$WORK/ds.yaml" > /dev/null
: > "$WORK/nfqwall.err"
READY_TRIES=150 start_nfqwall $DS_OPT || exit 1
check "kubectl delete --cascade=orphan" kc delete daemonset nfqwall -n kube-system --cascade=orphan
check "the orphan deletion is seen" wait_for grep -q 'DaemonSet is being deleted' "$WORK/nfqwall.err"
check "the orphaned daemon still enforces: 9090 denied" denied 9090
check "stopping the orphan removes the rules" stop_nfqwall
check "... every rule" no_rules

# ---- the token refused (401) at stop, the DaemonSet present: not a deletion
# (the daemon reads a copy of the token, so that the server's new one never reaches it)
kc apply -f "$WORK/ds.yaml" > /dev/null
: > "$WORK/nfqwall.err"
cp "$API_DIR/serviceaccount/token" "$WORK/token.copy"
NFQ_SOURCE_SAVED=$NFQ_SOURCE
NFQ_SOURCE="--kubernetes --api-server https://127.0.0.1:$PORT --token-file $WORK/token.copy --ca-file $API_DIR/ca.crt"
READY_TRIES=150 start_nfqwall $DS_OPT || exit 1
kill -USR1 "$API_PID"; sleep 0.5		# a new token for everyone else: ours dies
check "SIGTERM with the token refused exits 0" stop_nfqwall
check "... and leaves the rules (a refused token is no deletion)" rules
check "the log says the API did not answer the question" grep -q 'http=401 state=unknown' "$WORK/nfqwall.err"
NFQ_SOURCE=$NFQ_SOURCE_SAVED
nn "$NFQWALL" uninstall > /dev/null

# ---- a DaemonSet never seen (a wrong name): a stop is never a removal
: > "$WORK/nfqwall.err"
READY_TRIES=150 start_nfqwall --daemonset kube-system/not-this-one || exit 1
check "SIGTERM with a DaemonSet never seen exits 0" stop_nfqwall
check "... and leaves the rules" rules
check "the log says why" grep -q 'never seen: leaving the rules' "$WORK/nfqwall.err"
nn "$NFQWALL" uninstall > /dev/null
check "a bad --daemonset is a usage error" sh -c "ip netns exec $NODE $NFQWALL run --kubernetes --daemonset NoSlash; [ \$? -eq 2 ]"
finish
