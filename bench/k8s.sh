#!/bin/sh
# bench/k8s.sh - the Kubernetes source, measured (root; bounded: about 2 minutes).
#
#  1. From an API change to the new verdict on real packets: a merge-patch of a
#     GlobalNetworkPolicy sent to tests/k8s/apiserver.py (TLS, bearer token), then a
#     client in another namespace retries TCP connects every 5 ms until the verdict
#     flips; median and p99 over CHANGES changes (alternately allowing and denying).
#  2. Syncing 10,000 policies: list time until /readyz, compile time, table size and
#     nfqwall's RSS.
# Traffic stays between the two namespaces this script creates; all removed on exit.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
O=${O:-build}
NFQWALL=$ROOT/$O/nfqwall
PY=$(command -v python3 || echo /usr/bin/python3)
CHANGES=${CHANGES:-40}
NPOL=${NPOL:-10000}
N=nfqwb-n$$ C=nfqwb-c$$
W=$(mktemp -d /tmp/nfqwall-k8sbench.XXXXXX)
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	sleep 0.3
	ip netns exec $N "$NFQWALL" uninstall > /dev/null 2>&1
	for ns in $N $C; do ip netns pids $ns 2>/dev/null | xargs -r kill -9 2>/dev/null; done
	ip netns del $N 2>/dev/null
	ip netns del $C 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT INT TERM
[ "$(id -u)" -eq 0 ] || { echo "bench/k8s.sh needs root (network namespaces)"; exit 0; }
command -v openssl > /dev/null || { echo "bench/k8s.sh: openssl missing (make deps)"; exit 0; }

ip netns add $N && ip netns add $C
ip link add veth-n netns $N type veth peer name veth-c netns $C
ip netns exec $N ip addr add 192.0.2.1/24 dev veth-n
ip netns exec $C ip addr add 192.0.2.2/24 dev veth-c
for ns in $N $C; do ip netns exec $ns ip link set lo up; done
ip netns exec $N ip link set veth-n up
ip netns exec $C ip link set veth-c up

start_api() {	# extra args
	ip netns exec $N $PY "$ROOT/tests/k8s/apiserver.py" --state-dir "$W/api" --port 0 \
		--admin-port 0 --groups v1 "$@" > "$W/api.out" 2> "$W/api.err" &
	API_PID=$!
	PIDS="$PIDS $API_PID"
	for _ in $(seq 1 300); do grep -q '^ready' "$W/api.out" 2>/dev/null && break; sleep 0.1; done
	PORT=$(cat "$W/api/port")
	APORT=$(cat "$W/api/admin-port")
}
start_nfqwall() {
	ip netns exec $N env NFQWALL_HTTP_ADDR=127.0.0.1:9417 "$NFQWALL" run --kubernetes \
		--api-server "https://127.0.0.1:$PORT" --token-file "$W/api/serviceaccount/token" \
		--ca-file "$W/api/ca.crt" --node node-1 --queues 1 --log-rate 0 \
		> /dev/null 2> "$W/nfqwall.err" &
	NFQ_PID=$!
	PIDS="$PIDS $NFQ_PID"
}
ready() { ip netns exec $N curl -sf http://127.0.0.1:9417/readyz > /dev/null 2>&1; }

objects_json() {	# COUNT: a HostEndpoint and COUNT policies, as an /objects body
	$PY - "$1" <<'EOF'
import json, sys
n = int(sys.argv[1])
items = [{"apiVersion": "crd.projectcalico.org/v1", "kind": "HostEndpoint",
          "metadata": {"name": "node-1", "labels": {"role": "node"}},
          "spec": {"node": "node-1", "interfaceName": "*", "expectedIPs": ["192.0.2.1"],
                   "profiles": ["projectcalico-default-allow"]}}]
items.append({"apiVersion": "crd.projectcalico.org/v1", "kind": "GlobalNetworkPolicy",
              "metadata": {"name": "default.bench"},
              "spec": {"tier": "default", "order": 1, "selector": "role == 'node'",
                       "types": ["Ingress"],
                       "ingress": [{"action": "Allow", "source": {"nets": ["127.0.0.0/8"]}},
                                   {"action": "Allow", "protocol": "TCP",
                                    "destination": {"ports": [8080]}}]}})
for i in range(n - 1):
    items.append({"apiVersion": "crd.projectcalico.org/v1", "kind": "GlobalNetworkPolicy",
                  "metadata": {"name": "default.p%05d" % i},
                  "spec": {"tier": "default", "order": 100 + i, "selector": "role == 'node'",
                           "types": ["Ingress"],
                           "ingress": [{"action": "Allow", "protocol": "TCP",
                                        "source": {"nets": ["10.%d.%d.0/24" % (i // 256 % 256, i % 256)]},
                                        "destination": {"ports": [10000 + i % 20000]}}]}})
print(json.dumps({"items": items}))
EOF
}

echo "== 1. API change -> new verdict on real packets ($CHANGES changes)"
start_api
objects_json 1 > "$W/objects.json"
ip netns exec $N curl -sf -X POST --data-binary @"$W/objects.json" "http://127.0.0.1:$APORT/objects" > /dev/null
ip netns exec $N $PY "$ROOT/tests/integ/peer.py" serve --tcp 8080,9090 > /dev/null 2>&1 &
PIDS="$PIDS $!"
start_nfqwall
for _ in $(seq 1 100); do ready && break; sleep 0.1; done
ip netns exec $C $PY - "$N" "$PORT" "$W/api/serviceaccount/token" "$W/api/ca.crt" "$CHANGES" <<'EOF'
import json, socket, subprocess, sys, time
ns, port, tokfile, ca, changes = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
url = "https://127.0.0.1:%s/apis/crd.projectcalico.org/v1/globalnetworkpolicies/default.bench" % port

def patch(ports):
    body = json.dumps({"spec": {"ingress": [
        {"action": "Allow", "source": {"nets": ["127.0.0.0/8"]}},
        {"action": "Allow", "protocol": "TCP", "destination": {"ports": ports}}]}})
    tok = open(tokfile).read().strip()
    subprocess.run(["ip", "netns", "exec", ns, "curl", "-sf", "--cacert", ca, "-X", "PATCH",
                    "-H", "Authorization: Bearer " + tok,
                    "-H", "Content-Type: application/merge-patch+json", "--data", body, url],
                   check=True, stdout=subprocess.DEVNULL)

def reachable():
    s = socket.socket()
    s.settimeout(0.005)
    try:
        s.connect(("192.0.2.1", 9090))
        return True
    except OSError:
        return False
    finally:
        s.close()

lat = []
for i in range(changes):
    want = i % 2 == 0
    t0 = time.monotonic()
    patch([8080, 9090] if want else [8080])
    deadline = t0 + 5
    while time.monotonic() < deadline and reachable() != want:
        time.sleep(0.005)
    t1 = time.monotonic()
    if reachable() == want:
        lat.append((t1 - t0) * 1000)
    time.sleep(0.05)
lat.sort()
if not lat:
    print("  no change was observed")
    sys.exit(1)
p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
print("  %d/%d changes observed; latency ms: median %.1f  p90 %.1f  p99 %.1f  max %.1f"
      % (len(lat), changes, p(0.5), p(0.9), p(0.99), lat[-1]))
print("  (includes the PATCH round trip through curl and nfqwall's 100 ms debounce)")
EOF
kill $NFQ_PID $API_PID 2>/dev/null
wait $NFQ_PID $API_PID 2>/dev/null
ip netns exec $N "$NFQWALL" uninstall > /dev/null
rm -rf "$W/api"

echo "== 2. syncing $NPOL policies"
start_api --watch-cache-size 20000
objects_json "$NPOL" > "$W/objects.json"
ip netns exec $N curl -sf -X POST --data-binary @"$W/objects.json" "http://127.0.0.1:$APORT/objects" > /dev/null
t0=$(date +%s.%N)
start_nfqwall
for _ in $(seq 1 600); do ready && break; sleep 0.05; done
t1=$(date +%s.%N)
rss=$(awk '/VmRSS/ { print $2 }' /proc/$NFQ_PID/status)
compile=$(grep 'table published' "$W/nfqwall.err" | tail -1 | sed 's/.*compile_ms=\([0-9.]*\).*/\1/')
bytes=$(grep 'table published' "$W/nfqwall.err" | tail -1 | sed 's/.* bytes=\([0-9]*\).*/\1/')
pols=$(grep 'table published' "$W/nfqwall.err" | tail -1 | sed 's/.* policies=\([0-9]*\).*/\1/')
printf '  start to ready (discovery, list of every kind, compile, rules): %.2f s\n' \
	"$(echo "$t1 - $t0" | bc -l 2>/dev/null || $PY -c "print($t1 - $t0)")"
echo "  policies loaded: $pols; last compile (load + compile): ${compile} ms; table: ${bytes} bytes"
echo "  nfqwall RSS after sync: $((rss / 1024)) MiB"
