#!/bin/sh
# bench/k8s.sh - the Kubernetes source, measured (root; bounded: about 2 minutes).
#
#  1. From an API change to the new verdict on real packets: a merge-patch of a
#     GlobalNetworkPolicy sent to tests/k8s/apiserver.py (TLS, bearer token), then a
#     client in another namespace retries TCP connects every 5 ms until the verdict
#     flips; median and p99 over CHANGES changes (alternately allowing and denying).
#  2. Syncing 10,000 policies: list time until /readyz, compile time, table size and
#     nfqwall's RSS.
# bench/k8s.sh scale (or SCALE=1): only the scale scenario (#10, "Scale, measured"; about
#     10-15 minutes at the defaults): NODES realistic Nodes and PODS Pods over NAMESPACES
#     namespaces loaded in bulk (bench/k8s_scale.py), a policy with rule selectors over them
#     and --auto-host-endpoint; then start to /readyz, RSS, compile time and API bytes of the
#     sync, and CHURN_SECONDS of POD_RATE pod and NODE_RATE node events/s with CPU per
#     thread, reloads, compile times, RSS, API bytes/s and CHURN_CHANGES policy changes
#     timed to the verdict. MAX_LIST_MIB (default 64, nfqwall's) is --max-list-mib;
#     API_ARGS go to the API server (e.g. --no-cache-ignores-limit).
# Traffic stays between the two namespaces this script creates; all removed on exit.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
O=${O:-build}
NFQWALL=$ROOT/$O/nfqwall
PY=$(command -v python3 || echo /usr/bin/python3)
CHANGES=${CHANGES:-40}
NPOL=${NPOL:-10000}
MODE=${1:-}
[ "${SCALE:-0}" = 1 ] && MODE=scale
N=nfqwb-n$$ C=nfqwb-c$$
W=$(mktemp -d /tmp/nfqwall-k8sbench.XXXXXX)
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	sleep 0.3
	ip netns exec $N "$NFQWALL" uninstall > /dev/null 2>&1
	for ns in $N $C; do ip netns pids $ns 2>/dev/null | xargs -r kill -9 2>/dev/null; done
	ip netns exec $N nft delete table ip nfqwbench 2>/dev/null
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
start_nfqwall() {	# extra args
	ip netns exec $N env NFQWALL_HTTP_ADDR=127.0.0.1:9417 "$NFQWALL" run --kubernetes \
		--api-server "https://127.0.0.1:$PORT" --token-file "$W/api/serviceaccount/token" \
		--ca-file "$W/api/ca.crt" --node node-1 --queues 1 --log-rate 0 "$@" \
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

if [ "$MODE" != scale ]; then
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
print("  (includes the PATCH round trip through curl and nfqwall's 20 ms policy debounce)")
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
fi

[ "$MODE" = scale ] || exit 0

# ---- the scale scenario -------------------------------------------------------------------
NODES=${NODES:-5000} PODS=${PODS:-150000} NAMESPACES=${NAMESPACES:-500}
CHURN_SECONDS=${CHURN_SECONDS:-120} POD_RATE=${POD_RATE:-50} NODE_RATE=${NODE_RATE:-5}
CHURN_CHANGES=${CHURN_CHANGES:-100} MAX_LIST_MIB=${MAX_LIST_MIB:-64}
READY_TIMEOUT=${READY_TIMEOUT:-420} API_ARGS=${API_ARGS:-}
SUM=$W/summary
say() { echo "$*" | tee -a "$SUM"; }
now() { date +%s.%N; }
since() { $PY -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$(now)"; }
T_ALL=$(now)
echo "== scale: $NODES nodes, $PODS pods in $NAMESPACES namespaces; churn $CHURN_SECONDS s"
say "command: NODES=$NODES PODS=$PODS NAMESPACES=$NAMESPACES CHURN_SECONDS=$CHURN_SECONDS" \
	"POD_RATE=$POD_RATE NODE_RATE=$NODE_RATE CHURN_CHANGES=$CHURN_CHANGES" \
	"MAX_LIST_MIB=$MAX_LIST_MIB API_ARGS='$API_ARGS' O=$O bench/k8s.sh scale"
say "machine: $(nproc) CPUs, $(free -m | awk '/^Mem/ { print $2 }') MiB RAM; $(uname -r)"
# the helpers speak from 127.0.0.2, so what the API sends to 127.0.0.1 is nfqwall's alone
start_api --watch-cache-size 20000 $API_ARGS
ip netns exec $N ip addr add 127.0.0.2/8 dev lo 2>/dev/null
H="$PY $ROOT/bench/k8s_scale.py"
HARGS="--port $PORT --admin-port $APORT --token-file $W/api/serviceaccount/token --ca $W/api/ca.crt"
t0=$(now)
ip netns exec $N $H load $HARGS --api-pid "$API_PID" --nodes "$NODES" --pods "$PODS" \
	--namespaces "$NAMESPACES" --names-out "$W/names.json" | tee -a "$SUM" || exit 1
say "  load (generate, bulk create, status patches): $(since "$t0") s"
ip netns exec $N $H policy $HARGS > /dev/null || exit 1
ip netns exec $N $PY "$ROOT/tests/integ/peer.py" serve --tcp 8080,9090,9100 > /dev/null 2>&1 &
PIDS="$PIDS $!"
# bytes the API server sends to nfqwall (TCP payload and headers, TLS included)
ip netns exec $N nft -f - <<EOT
table ip nfqwbench {
	counter apibytes { }
	chain out {
		type filter hook output priority 0; policy accept;
		ip saddr 127.0.0.1 ip daddr 127.0.0.1 tcp sport $PORT counter name apibytes
	}
}
EOT
apibytes() { ip netns exec $N nft list counter ip nfqwbench apibytes | sed -n 's/.*packets [0-9]* bytes \([0-9]*\).*/\1/p'; }
stats_lists() {	# list and watch requests so far, by status
	ip netns exec $N curl -s "http://127.0.0.1:$APORT/stats?log=0" | $PY -c '
import json, sys
d = json.load(sys.stdin)
print("list requests %d, watch requests %d, by status %s" % (d["by_verb"].get("list", 0),
      d["by_verb"].get("watch", 0), d["by_status"]))'
}
ip netns exec $N curl -s -X POST "http://127.0.0.1:$APORT/stats/reset" > /dev/null

say "== scale: sync"
t0=$(now)
start_nfqwall --auto-host-endpoint --max-list-mib "$MAX_LIST_MIB"
ok=0
end=$(($(date +%s) + READY_TIMEOUT))
while [ "$(date +%s)" -lt "$end" ]; do
	ready && { ok=1; break; }
	kill -0 $NFQ_PID 2>/dev/null || break
	# a list over --max-list-mib fails the same way each time: three times is enough
	[ "$(grep -c 'larger than the limit' "$W/nfqwall.err")" -ge 3 ] && break
	sleep 0.1
done
t_ready=$(since "$t0")
if [ $ok = 1 ]; then
	say "  start to /readyz: $t_ready s"
else
	say "  NOT READY after $t_ready s (timeout $READY_TIMEOUT s, exited, or a list over the limit three times)"
fi
sleep 2	# let the first table settle
st=/proc/$NFQ_PID/status
say "  nfqwall RSS after sync: VmRSS $(awk '/VmRSS/ { print int($2 / 1024) }' $st) MiB, VmHWM $(awk '/VmHWM/ { print int($2 / 1024) }' $st) MiB"
pub=$(grep 'table published' "$W/nfqwall.err" | head -1)
say "  first table: $(echo "$pub" | grep -o 'policies=[0-9]*\|entries=[0-9]*\|bytes=[0-9]*\|compile_ms=[0-9.]*\|other_nodes=[0-9]*\|pods=[0-9]*' | tr '\n' ' ')"
say "  tables logged during the sync: $(grep -c 'table published' "$W/nfqwall.err") published, $(grep -c 'table unchanged' "$W/nfqwall.err") unchanged"
b=$(apibytes)
say "  bytes from the API to nfqwall during the sync: $b ($(($b / 1048576)) MiB)"
say "  API server: $(stats_lists)"
ip netns exec $N curl -s "http://127.0.0.1:$APORT/stats?log=5000" | $PY -c '
import json, sys
d = json.load(sys.stdin)
ls = [e for e in d["log"] if e["verb"] == "list" and e["path"] in ("/api/v1/pods", "/api/v1/nodes")]
for e in ls[:4]:
    print("  list %s?%s -> %s in %.0f ms" % (e["path"], e["query"][:40], e["status"], e["ms"]))
pl = [e for e in ls if e["path"] == "/api/v1/pods"]
print("  pod list requests: %d, %.1f s on the server in all" % (len(pl), sum(e["ms"] for e in pl) / 1000))' | tee -a "$SUM"
grep -E 'list failed|list expired|WARN|ERR' "$W/nfqwall.err" | head -5 | sed 's/^/  log: /' | tee -a "$SUM"
say "  api server RSS: $(awk '/VmRSS/ { print int($2 / 1024) }' /proc/$API_PID/status) MiB (VmHWM $(awk '/VmHWM/ { print int($2 / 1024) }' /proc/$API_PID/status) MiB)"
probe() { ip netns exec $C $H probe --probe-port "$1"; }
[ $ok = 1 ] || say "  (no table yet: nothing is policed, so every port below is open)"
say "  verdicts from the client (192.0.2.2 = pod bench-obs/prom-client, app=prometheus, team=obs): 9100 $(probe 9100) (want open), 8080 $(probe 8080) (want closed: no node there), 9090 $(probe 9090) (want closed)"

if [ $ok = 1 ]; then
	say "== scale: churn for $CHURN_SECONDS s"
	ip netns exec $N $H churn $HARGS --nodes "$NODES" --namespaces "$NAMESPACES" \
		--names "$W/names.json" --nfq-pid "$NFQ_PID" --log "$W/nfqwall.err" \
		--client-netns $C --seconds "$CHURN_SECONDS" --pod-rate "$POD_RATE" \
		--node-rate "$NODE_RATE" --changes "$CHURN_CHANGES" | tee -a "$SUM"
	grep -E 'list failed|list expired|relist|WARN|ERR' "$W/nfqwall.err" | tail -n +6 | head -5 | sed 's/^/  log: /' | tee -a "$SUM"
	say "  api server RSS: $(awk '/VmRSS/ { print int($2 / 1024) }' /proc/$API_PID/status) MiB (VmHWM $(awk '/VmHWM/ { print int($2 / 1024) }' /proc/$API_PID/status) MiB)"
fi
say "  whole scale scenario: $(since "$T_ALL") s"
echo
echo "==== summary (bench/k8s.sh scale) ===="
cat "$SUM"
[ -n "${KEEP_LOG:-}" ] && cp "$W/nfqwall.err" "$KEEP_LOG"
exit 0
