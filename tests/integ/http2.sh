#!/bin/sh
# The Kubernetes source over HTTP/2 (issue 10, scale): nghttpx (Debian nghttp2-proxy), a
# real HTTP/2 server, terminates TLS in front of tests/k8s/apiserver.py, as a kube-apiserver
# speaking HTTP/2 would. nfqwall lists and watches every kind through it and must hold ONE
# connection, every list and watch a stream of it (client-go's behaviour), while the same
# daemon pointed at the HTTP/1.1 server holds one per watched kind. Policy changes made
# with kubectl still reach the verdicts of real packets; after the proxy restarts (every
# stream dies at once) the watches come back on a new connection.
. "$(dirname "$0")/lib.sh"
need_root
command -v kubectl >/dev/null || skip "kubectl is not installed"
command -v openssl >/dev/null || skip "openssl is not installed (make deps)"
command -v nghttpx >/dev/null || skip "nghttpx is not installed (make deps: nghttp2-proxy)"
setup_net
start_api

H2PORT=$((20000 + $$ % 20000))
proxy() {	# nghttpx: TLS + HTTP/2 (and HTTP/1.1) in front, HTTP/1.1 + TLS to the server
	nn nghttpx --frontend="127.0.0.1,$H2PORT" --backend="127.0.0.1,$PORT;;tls" --insecure \
		--workers=1 --no-ocsp --frontend-read-timeout=10m --backend-read-timeout=10m \
		--stream-read-timeout=10m --accesslog-file="$WORK/h2-access.log" \
		--errorlog-file="$WORK/h2-error.log" "$API_DIR/tls.key" "$API_DIR/tls.crt" &
	H2PID=$!
	PIDS="$PIDS $H2PID"
	h2_up() { nn curl -sf --http2 --cacert "$API_DIR/ca.crt" "https://127.0.0.1:$H2PORT/version" >/dev/null; }
	wait_for h2_up
}
check "nghttpx serves HTTP/2 in front of the test API server" proxy
check "... it speaks HTTP/2 (ALPN h2)" sh -c "ip netns exec $NODE curl -sf -o /dev/null -w '%{http_version}' --http2 --cacert $API_DIR/ca.crt https://127.0.0.1:$H2PORT/version | grep -qx 2"

{ hep_yaml crd.projectcalico.org/v1 "$NODE4"; echo "  profiles: [projectcalico-default-allow]"; } \
	> "$WORK/hep.yaml"
policy() { kube_node_policy "$1"; }	# policy PORTS
check "kubectl applies a HostEndpoint" kc apply -f "$WORK/hep.yaml"
policy 8080
serve_node --tcp 8080,9090,9091
allowed() { nc_ $PEER tcp $NODE4 "$1" --timeout 0.5; }
denied() { ! nc_ $PEER tcp $NODE4 "$1" --timeout 0.5; }
# conns PORT: nfqwall's established TCP connections to the API on PORT
conns() {
	nn ss -Htnp state established "( dport = :$1 )" | grep -c "pid=$NFQ_PID,"
}
KINDS=11	# the 7 Calico kinds, Nodes, Pods, Namespaces, ServiceAccounts

# ---- HTTP/1.1, straight to the server: a connection per watch ----
NFQ_SOURCE="--kubernetes --api-server https://127.0.0.1:$PORT --token-file $API_DIR/serviceaccount/token --ca-file $API_DIR/ca.crt"
READY_TRIES=150 start_nfqwall || exit 1
watching() { [ "$(conns "$1")" -ge "$2" ]; }
check "HTTP/1.1: one connection per watched kind ($KINDS)" wait_for watching "$PORT" "$KINDS"
note "HTTP/1.1 connections: $(conns "$PORT")"
check "SIGTERM exits 0" stop_nfqwall
# the proxy runs on this node here, and its own connection to the server is no daemon's:
# a restart under fail-closed rules would hold it until a table exists. Start clean.
nn "$NFQWALL" uninstall > /dev/null

# ---- HTTP/2 through nghttpx: one connection, every watch a stream of it ----
NFQ_SOURCE="--kubernetes --api-server https://127.0.0.1:$H2PORT --token-file $API_DIR/serviceaccount/token --ca-file $API_DIR/ca.crt"
READY_TRIES=150 start_nfqwall || exit 1
check "HTTP/2: ready through nghttpx" true
all_listed() { grep -q 'synced with the Kubernetes API: ready' "$WORK/nfqwall.err"; }
check "every kind listed and watched through the proxy" wait_for all_listed
active_watches() {	# watches open at the server: every one came through the proxy
	nn curl -sf "http://127.0.0.1:$APORT/stats" | $PY -c 'import json,sys; print(json.load(sys.stdin)["active_watches"])'
}
all_watching() { [ "$(active_watches)" -ge "$KINDS" ]; }
check "the server has a watch open for every kind ($KINDS)" wait_for all_watching
check "... and nfqwall holds exactly one connection to the API server" [ "$(conns "$H2PORT")" -eq 1 ]
note "watches open: $(active_watches); nfqwall's connections: $(conns "$H2PORT")"
sleep 1
check "... it stays one" [ "$(conns "$H2PORT")" -eq 1 ]
check "the lists went as HTTP/2 requests" grep -q 'GET /api/v1/pods?limit=500.* HTTP/2' "$WORK/h2-access.log"
check "policy from the API over HTTP/2: 8080 allowed" allowed 8080
check "policy from the API over HTTP/2: 9090 denied" denied 9090
policy "8080, 9090"
check "a kubectl change reaches the verdicts through an HTTP/2 watch" wait_for allowed 9090

# every stream dies at once: the proxy goes away and comes back
kill "$H2PID"
wait "$H2PID" 2>/dev/null
check "nghttpx restarted" proxy
policy "8080, 9091"
WAIT_TRIES=400
check "after the connection died, the watches come back and a change arrives" wait_for allowed 9091
WAIT_TRIES=30
one_again() { [ "$(conns "$H2PORT")" -eq 1 ]; }
check "... on one new connection" wait_for one_again
check "... carrying a watch for every kind again" wait_for all_watching
check "SIGTERM exits 0" stop_nfqwall
nn "$NFQWALL" uninstall > /dev/null
finish
