#!/bin/sh
# tests/k8s/test_kubectl.sh - prove that tests/k8s/apiserver.py speaks the
# Kubernetes API the way the real client expects: drive it with the real
# kubectl (apply, get, get -w, delete, paging, auth, errors), then check the
# wire details the daemon relies on (bookmarks, 410 both ways, split chunks,
# dropped and stalled streams, restarts, an expired continue, an endless
# watch line or list) with curl.  test_workloads.sh, sourced near the end,
# does the same for DaemonSet, Pod and ServiceAccount and their deletion.
# Prints "ok - ..." / "not ok - ..." per check and "N passed, N failed";
# exits 1 on failure, 77 when kubectl, openssl, python3 or curl is missing.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
EXAMPLES=$HERE/../../examples

for tool in kubectl openssl python3 curl; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP: $tool not found; tests/k8s/test_kubectl.sh needs kubectl, openssl, python3 and curl"
		exit 77
	fi
done

T=$(mktemp -d "${TMPDIR:-/tmp}/nfqwall-k8s.XXXXXX")
SERVER_PID="" WATCH_PID="" WATCH2_PID="" WATCH3_PID="" BG_PID=""
cleanup() {
	for p in $WATCH_PID $WATCH2_PID $WATCH3_PID $BG_PID $SERVER_PID; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT	# KEEP=1: leave $T and the server for debugging
trap 'exit 2' INT TERM HUP

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
notok() { fail=$((fail + 1)); echo "not ok - $*"; }
# check DESCRIPTION COMMAND...: pass when the command succeeds
check() {
	d=$1; shift
	if "$@"; then ok "$d"; else notok "$d"; fi
}
# has FILE TEXT: FILE contains the fixed string TEXT
has() { grep -qF -- "$2" "$1"; }
# wait_for SECONDS COMMAND...: poll until the command succeeds
wait_for() {
	n=$(($1 * 10)); shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1; n=$((n - 1))
	done
	return 1
}
# logged ERE: the server's request log gets a matching line (it is written
# after the response, so wait a little)
logged() { wait_for 5 grep -Eq -- "$1" "$T/requests.log"; }
# jget FILE PYEXPR: evaluate a Python expression over the JSON in FILE (d)
jget() {
	python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$1" "$2" 2>/dev/null
}

# ---------------------------------------------------------------- server
TOKEN1=tok1-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
echo "$TOKEN1" > "$T/tokens"
python3 "$HERE/apiserver.py" --state-dir "$T/state" --port 0 --admin-port 0 \
	--groups v1,v3 --token-file "$T/tokens" --bookmark-interval 1 \
	--log-file "$T/requests.log" >"$T/server.out" 2>"$T/server.err" &
SERVER_PID=$!
if ! wait_for 30 grep -q '^ready' "$T/server.out"; then
	echo "Bail out! apiserver.py did not become ready"
	cat "$T/server.out" "$T/server.err"
	exit 1
fi
PORT=$(cat "$T/state/port")
APORT=$(cat "$T/state/admin-port")
API=https://127.0.0.1:$PORT
ADMIN=http://127.0.0.1:$APORT
CA=$T/state/ca.crt

write_kubeconfig() {	# TOKEN
	cat >"$T/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: $API
    certificate-authority: $CA
users:
- name: test
  user:
    token: $1
contexts:
- name: test
  context: {cluster: test, user: test, namespace: default}
current-context: test
EOF
}
write_kubeconfig "$TOKEN1"
TOKEN=$TOKEN1

k() { kubectl --kubeconfig "$T/kubeconfig" --cache-dir "$T/cache" --request-timeout=20s "$@"; }
admin() {	# METHOD PATH [JSON]
	if [ $# -ge 3 ]; then
		curl -sf -X "$1" -H 'Content-Type: application/json' "$ADMIN$2" -d "$3"
	else
		curl -sf -X "$1" "$ADMIN$2"
	fi
}
fault() { admin POST /faults "$1" >/dev/null; }
stat_count() {	# "VERB PATH"
	admin GET '/stats?log=0' >"$T/stats.json" && jget "$T/stats.json" "d['requests'].get('$1', 0)"
}
status_count() {	# CODE
	admin GET '/stats?log=0' >"$T/stats.json" && jget "$T/stats.json" "d['by_status'].get('$1', 0)"
}
c() { curl -sS --cacert "$CA" -H "Authorization: Bearer $TOKEN" "$@"; }

G1=crd.projectcalico.org
GNP=globalnetworkpolicies.$G1
HEP=hostendpoints.$G1
GNS=globalnetworksets.$G1
NSET=networksets.$G1

# -------------------------------------------------------- kubectl: basics
k version -o json >"$T/version.json" 2>"$T/err"
check "kubectl version sees server v1.32.4" \
	test "$(jget "$T/version.json" "d['serverVersion']['gitVersion']")" = v1.32.4
k get --raw /version >/dev/null 2>&1
check "the dispatcher ran the kubectl 1.32 binary (User-Agent kubectl/v1.32)" \
	logged 'ua=kubectl/v1\.32\.' 

k api-resources --api-group=$G1 -o name >"$T/out" 2>"$T/err"
check "discovery lists the 8 Calico kinds in $G1" \
	test "$(grep -c "\.$G1\$" "$T/out")" -eq 8
k api-resources --api-group=projectcalico.org -o name >"$T/out" 2>"$T/err"
check "discovery lists projectcalico.org/v3 too (--groups v1,v3)" \
	has "$T/out" globalnetworkpolicies.projectcalico.org

# -------------------------------------------------------- apply / get
k apply -f "$EXAMPLES/waf-rules.v1.yaml" >"$T/out" 2>"$T/err"
check "apply GlobalNetworkPolicy (v1 form): created" \
	has "$T/out" "globalnetworkpolicy.$G1/default.waf-rules created"
check "apply validated on the server (POST with fieldValidation=Strict, via OpenAPI v3)" \
	logged "create POST /apis/$G1/v1/globalnetworkpolicies\?fieldManager=kubectl-client-side-apply&fieldValidation=Strict.* -> 201"

sed 's#^apiVersion: projectcalico.org/v3#apiVersion: crd.projectcalico.org/v1#' \
	"$EXAMPLES/hostendpoint.yaml" >"$T/hep.v1.yaml"
k apply -f "$T/hep.v1.yaml" >"$T/out" 2>"$T/err"
check "apply HostEndpoint (v1 form): created" has "$T/out" "hostendpoint.$G1/node-1-auto-hep created"
k apply -f "$EXAMPLES/hostendpoint.yaml" >"$T/out" 2>"$T/err"
check "apply HostEndpoint (projectcalico.org/v3 form): created" \
	has "$T/out" "hostendpoint.projectcalico.org/node-1-auto-hep created"

k get $GNP default.waf-rules -o json >"$T/gnp.json" 2>"$T/err"
check "get -o json: object as stored plus server fields (uid, RV, generation 1, creationTimestamp)" \
	test "$(jget "$T/gnp.json" "(d['spec']['order'], d['metadata']['generation'], d['metadata']['resourceVersion'].isdigit(), len(d['metadata']['uid']), d['metadata']['creationTimestamp'][-1], 'kubectl.kubernetes.io/last-applied-configuration' in d['metadata']['annotations'])")" = "(20, 1, True, 36, 'Z', True)"
RV1=$(jget "$T/gnp.json" "d['metadata']['resourceVersion']")
k get $HEP -o json >"$T/heps.json" 2>"$T/err"
check "get HostEndpoints -o json: a List with the item" \
	test "$(jget "$T/heps.json" "[i['spec']['node'] for i in d['items']]")" = "['node-1']"

k get $GNP >"$T/out" 2>"$T/err"
check "get default table output: NAME AGE header (server-side Table)" \
	grep -Eq '^NAME +AGE$' "$T/out"
check "get default table output: the policy row" grep -Eq '^default\.waf-rules +[0-9]+s$' "$T/out"
check "get asked for a Table (Accept as=Table)" \
	logged "list GET /apis/$G1/v1/globalnetworkpolicies\?limit=500.* -> 200 .*accept=application/json;as=Table"

# -------------------------------------------------------- get -w
k get $GNP -w --output-watch-events >"$T/watch.out" 2>"$T/watch.err" &
WATCH_PID=$!
check "get -w prints the ADDED event" wait_for 15 grep -Eq '^ADDED +default\.waf-rules' "$T/watch.out"

sed 's/order: 20/order: 30/' "$EXAMPLES/waf-rules.v1.yaml" >"$T/waf30.yaml"
k apply -f "$T/waf30.yaml" >"$T/out" 2>"$T/err"
check "apply a change: configured" has "$T/out" "globalnetworkpolicy.$G1/default.waf-rules configured"
check "apply sent a JSON merge patch (no strategic merge for CRs)" \
	logged "patch PATCH /apis/$G1/v1/globalnetworkpolicies/default.waf-rules\?fieldManager=kubectl-client-side-apply.* -> 200 .*ctype=application/merge-patch\+json"
check "get -w prints MODIFIED after ADDED" \
	wait_for 10 sh -c "grep -E '^(ADDED|MODIFIED) +default' '$T/watch.out' | tr -s ' ' | cut -d' ' -f1 | tr '\n' ' ' | grep -q '^ADDED MODIFIED'"
k get $GNP default.waf-rules -o json >"$T/gnp.json" 2>"$T/err"
check "update bumped generation to 2 and the resourceVersion" \
	test "$(jget "$T/gnp.json" "(d['spec']['order'], d['metadata']['generation'], int(d['metadata']['resourceVersion']) > $RV1)")" = "(30, 2, True)"
k apply -f "$T/waf30.yaml" >"$T/out" 2>"$T/err"
check "apply again, same content: unchanged" has "$T/out" "globalnetworkpolicy.$G1/default.waf-rules unchanged"

k delete -f "$T/waf30.yaml" >"$T/out" 2>"$T/err"
check "delete: deleted" has "$T/out" "globalnetworkpolicy.$G1 \"default.waf-rules\" deleted"
check "get -w prints DELETED" wait_for 10 grep -Eq '^DELETED +default\.waf-rules' "$T/watch.out"
k get $GNP default.waf-rules >"$T/out" 2>"$T/err"
check "get a deleted object: kubectl's NotFound error" \
	has "$T/err" "Error from server (NotFound): $GNP \"default.waf-rules\" not found"

k create -f "$T/hep.v1.yaml" >"$T/out" 2>"$T/err"
check "create an existing object: AlreadyExists" \
	has "$T/err" "Error from server (AlreadyExists): error when creating \"$T/hep.v1.yaml\": $HEP \"node-1-auto-hep\" already exists"

# -------------------------------------------------------- patches
k label $HEP node-1-auto-hep team=edge >"$T/out" 2>"$T/err"
check "label (merge patch): labeled" has "$T/out" "hostendpoint.$G1/node-1-auto-hep labeled"
k get $HEP -l team=edge -o name >"$T/out" 2>"$T/err"
check "get -l team=edge (label selector)" test "$(cat "$T/out")" = "hostendpoint.$G1/node-1-auto-hep"
k patch $HEP node-1-auto-hep --type=strategic -p '{"spec":{"node":"x"}}' >"$T/out" 2>"$T/err"
check "strategic merge patch on a CR: 415 as a real server (kubectl's message)" \
	has "$T/err" "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
k patch $HEP node-1-auto-hep --type=json -p '[{"op":"replace","path":"/spec/node","value":"node-2"}]' >"$T/out" 2>"$T/err"
check "JSON patch: patched" has "$T/out" "hostendpoint.$G1/node-1-auto-hep patched"
k apply --server-side -f "$T/hep.v1.yaml" >"$T/out" 2>"$T/err"
check "apply --server-side: serverside-applied" has "$T/out" "hostendpoint.$G1/node-1-auto-hep serverside-applied"
check "server-side apply restored spec.node" \
	test "$(k get $HEP node-1-auto-hep -o jsonpath='{.spec.node}' 2>/dev/null)" = node-1

# -------------------------------------------------------- namespaces, NetworkSets -A
k create namespace office >"$T/out" 2>"$T/err"
check "create namespace (protobuf request body): created" has "$T/out" "namespace/office created"
for ns in default office; do
	cat >"$T/nset-$ns.yaml" <<EOF
apiVersion: $G1/v1
kind: NetworkSet
metadata:
  name: office-nets
  namespace: $ns
  labels: {role: office}
spec:
  nets: ["198.51.100.0/24"]
EOF
	k apply -f "$T/nset-$ns.yaml" >"$T/out" 2>"$T/err"
done
check "apply NetworkSets in two namespaces" has "$T/out" "networkset.$G1/office-nets created"
k get $NSET -A >"$T/out" 2>"$T/err"
check "get NetworkSets -A: NAMESPACE column and both rows" \
	test "$(grep -Ec '^(default|office) +office-nets ' "$T/out")-$(head -1 "$T/out" | tr -s ' ')" = "2-NAMESPACE NAME AGE"
check "get -A used the cluster-wide collection path" \
	logged "list GET /apis/$G1/v1/networksets\?limit=500.* -> 200"
k get $NSET -n office -o name >"$T/out" 2>"$T/err"
check "get -n office: only that namespace" test "$(cat "$T/out")" = "networkset.$G1/office-nets"
k apply -f - >"$T/out" 2>"$T/err" <<EOF
apiVersion: $G1/v1
kind: NetworkSet
metadata: {name: x, namespace: nowhere}
spec: {}
EOF
check "create in a missing namespace: NotFound" has "$T/err" 'namespaces "nowhere" not found'
k delete namespace office >"$T/out" 2>"$T/err"
check "delete namespace (lingers, then goes with its content)" has "$T/out" 'namespace "office" deleted'
k get $NSET -A -o name >"$T/out" 2>"$T/err"
check "the namespace's NetworkSet went with it" test "$(wc -l <"$T/out")" -eq 1

# -------------------------------------------------------- nodes
cat >"$T/node.yaml" <<EOF
apiVersion: v1
kind: Node
metadata:
  name: node-1
  labels: {kubernetes.io/hostname: node-1, lke.linode.com/pool-id: "12345"}
status:
  addresses: [{type: InternalIP, address: 192.168.130.10}]
  conditions: [{type: Ready, status: "True"}]
  nodeInfo: {kubeletVersion: v1.32.4}
EOF
k apply -f "$T/node.yaml" >"$T/out" 2>"$T/err"
check "apply Node: created" has "$T/out" "node/node-1 created"
k get nodes >"$T/out" 2>"$T/err"
check "get nodes: the node printer's columns" \
	grep -Eq '^node-1 +Ready +<none> +[0-9]+s +v1\.32\.4$' "$T/out"
k label node node-1 role=edge >"$T/out" 2>"$T/err"
check "label node (strategic merge patch on a built-in kind)" has "$T/out" "node/node-1 labeled"
k apply -f "$T/node.yaml" >"$T/out" 2>"$T/err"
check "re-apply Node: no OpenAPI warnings" test ! -s "$T/err"
k get nodes --field-selector metadata.name=node-1 -o name >"$T/out" 2>"$T/err"
check "field selector metadata.name on nodes" test "$(cat "$T/out")" = node/node-1
k get nodes --field-selector spec.node=x >"$T/out" 2>"$T/err"
check "unsupported field selector: BadRequest" has "$T/err" "field label not supported: spec.node"

# -------------------------------------------------------- auth
k --token=wrong get $GNP >"$T/out" 2>"$T/err"
# kubectl words it "(Unauthorized)" when the 401 Status comes from a resource
# request, "(the server has asked for the client to provide credentials)"
# when discovery is refused first - both as against a real cluster.
check "wrong token: kubectl's Unauthorized error" \
	has "$T/err" "error: You must be logged in to the server ("
TOKEN2=tok2-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
echo "$TOKEN2" >"$T/tokens.new" && mv "$T/tokens.new" "$T/tokens"
k get $HEP -o name >"$T/out" 2>"$T/err"
check "token rotated: the old token is rejected" \
	has "$T/err" "error: You must be logged in to the server ("
k --token="$TOKEN2" get $HEP -o name >"$T/out" 2>"$T/err"
check "token rotated: the new token is accepted" has "$T/out" "hostendpoint.$G1/node-1-auto-hep"
write_kubeconfig "$TOKEN2"
TOKEN=$TOKEN2
curl -sS --cacert "$CA" -o /dev/null -w '%{http_code}' "$API/apis/$G1/v1/tiers" >"$T/out"
check "no token: 401" test "$(cat "$T/out")" = 401

# -------------------------------------------------------- paging
: >"$T/sets.yaml"
i=1
while [ $i -le 25 ]; do
	printf 'apiVersion: %s/v1\nkind: GlobalNetworkSet\nmetadata: {name: set-%02d, labels: {n: "%d"}}\nspec: {nets: ["10.%d.0.0/16"]}\n---\n' \
		"$G1" $i $i $i >>"$T/sets.yaml"
	i=$((i + 1))
done
k create -f "$T/sets.yaml" >"$T/out" 2>"$T/err"
check "create 25 GlobalNetworkSets" test "$(grep -c created "$T/out")" -eq 25
admin POST /stats/reset >/dev/null
k get $GNS --chunk-size=10 -o name >"$T/out" 2>"$T/err"
check "get --chunk-size=10 lists all 25" test "$(grep -c "^globalnetworkset.$G1/set-" "$T/out")" -eq 25
check "... in exactly 3 list requests (limit/continue paging)" \
	test "$(stat_count "list /apis/$G1/v1/globalnetworksets")" = 3
check "... the 2nd and 3rd carried a continue token" \
	test "$(grep -Ec "list GET /apis/$G1/v1/globalnetworksets\?continue=.*limit=10.* -> 200" "$T/requests.log")" -eq 2

# -------------------------------------------------------- errors the client retries or reports
admin POST /stats/reset >/dev/null
fault '{"fail_with":429,"fail_count":2,"fail_verbs":["list"]}'
k get $GNS -o name >"$T/out" 2>"$T/err"
check "429 with Retry-After: kubectl retries and lists all 25" \
	test "$(grep -c set- "$T/out")-$(status_count 429)" = "25-2"
fault '{"fail_with":500,"fail_count":1,"fail_verbs":["get"],"fail_paths":["/tiers/"]}'
k get tiers.$G1 default >"$T/out" 2>"$T/err"
check "injected 500: kubectl prints the Status message" \
	has "$T/err" "Error from server (InternalError): Internal error occurred: injected fault"
admin DELETE /faults >/dev/null

# -------------------------------------------------------- watch through faults (kubectl)
k get $GNS -w --output-watch-events >"$T/watch2.out" 2>"$T/watch2.err" &
WATCH2_PID=$!
wait_for 15 sh -c "test \$(grep -c '^ADDED' '$T/watch2.out') -eq 25"
fault '{"split_chunks":true,"chunk_size":7,"split_delay_ms":0.2}'
k label $GNS set-01 set-02 set-03 touched=yes >"$T/out" 2>"$T/err"
check "get -w with events split into 7-byte chunks: 3 MODIFIED rows" \
	wait_for 15 sh -c "test \$(grep -c '^MODIFIED' '$T/watch2.out') -eq 3"
admin DELETE /faults >/dev/null
fault '{"end_watches":true}'
wait_for 10 sh -c "! kill -0 $WATCH2_PID 2>/dev/null"
wait "$WATCH2_PID"; rc=$?
WATCH2_PID=""
check "get -w exits 0 when the server ends the watch cleanly" test "$rc" -eq 0

# -------------------------------------------------------- wire details (curl)
B=$API/apis/$G1/v1
c "$B/globalnetworksets?limit=10" -o "$T/list.json"
LRV=$(jget "$T/list.json" "d['metadata']['resourceVersion']")
check "list metadata: resourceVersion, continue, remainingItemCount" \
	test "$(jget "$T/list.json" "(len(d['items']), bool(d['metadata']['continue']), d['metadata']['remainingItemCount'])")" = "(10, True, 15)"
c "$B/globalnetworksets?limit=10&resourceVersion=0" -o "$T/list0.json"
check "resourceVersion=0 is served from the cache: limit ignored, no continue" \
	test "$(jget "$T/list0.json" "(len(d['items']), 'continue' in d['metadata'])")" = "(25, False)"
c "$API/api/v1/nodes" -o "$T/nodes.json"
check "core list items carry no kind/apiVersion; CR list items do" \
	test "$(jget "$T/nodes.json" "'kind' in d['items'][0]")-$(jget "$T/list.json" "d['items'][0]['kind']")" = "False-GlobalNetworkSet"

c -N "$B/globalnetworksets?watch=true&resourceVersion=$LRV&allowWatchBookmarks=true&timeoutSeconds=3" \
	-o "$T/w1" -w '%{http_code}' >"$T/code"; rc=$?
check "watch with allowWatchBookmarks: BOOKMARK events, then a clean end at timeoutSeconds" \
	test "$rc-$(cat "$T/code")" = 0-200 -a "$(grep -c '"type":"BOOKMARK"' "$T/w1")" -ge 1
c -N "$B/globalnetworksets?watch=true&resourceVersion=5" -o "$T/w2"
check "watch from a too old RV: 200 + ERROR event with a 410 Expired Status" \
	grep -q '"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 5 (.*)","reason":"Expired","code":410}' "$T/w2"
fault '{"watch_410_mode":"http"}'
c -N "$B/globalnetworksets?watch=true&resourceVersion=5" -o "$T/w3" -w '%{http_code}' >"$T/code"
check "watch from a too old RV, http mode: HTTP 410" \
	test "$(cat "$T/code")-$(jget "$T/w3" "d['reason']")" = "410-Expired"
admin DELETE /faults >/dev/null

fault '{"split_chunks":true,"chunk_size":7,"split_delay_ms":0}'
c -N --raw "$B/globalnetworksets?watch=true&resourceVersion=0&timeoutSeconds=1" -o "$T/w4"
check "split_chunks: chunked framing with <= 7-byte chunks that reassemble into 25 events" \
	python3 - "$T/w4" <<'EOF'
import json, sys
raw, sizes, body = open(sys.argv[1], "rb").read(), [], b""
while raw:
    line, raw = raw.split(b"\r\n", 1)
    n = int(line, 16)
    sizes.append(n)
    body, raw = body + raw[:n], raw[n + 2:]
    if n == 0:
        break
events = [json.loads(l) for l in body.splitlines()]
sys.exit(0 if max(sizes) <= 7 and len(events) == 25 and sizes[-1] == 0 else 1)
EOF
admin DELETE /faults >/dev/null

fault '{"drop_next_watch":1}'
c -N "$B/globalnetworksets?watch=true&resourceVersion=0" -o /dev/null 2>/dev/null; rc=$?
check "drop_next_watch: the stream is reset (curl fails, rc=$rc)" test "$rc" -ne 0
c -N "$B/globalnetworksets?watch=true&resourceVersion=$LRV&timeoutSeconds=1" -o /dev/null; rc=$?
check "the next watch works again" test "$rc" -eq 0

c "$B/globalnetworksets?limit=10" -o "$T/p1.json"
CONT=$(jget "$T/p1.json" "d['metadata']['continue']")
fault '{"compact":true}'
c "$B/globalnetworksets?limit=10&continue=$CONT" -o "$T/p2.json" -w '%{http_code}' >"$T/code"
check "continue after compaction: 410 Expired with an inconsistent-continue token" \
	test "$(cat "$T/code")-$(jget "$T/p2.json" "(d['reason'], bool(d['metadata']['continue']))")" = "410-('Expired', True)"

# a broken or hostile server (the faults nfqwall's limits are tested with)
c "$B/globalnetworksets?limit=10" -o "$T/p1.json"
CONT=$(jget "$T/p1.json" "d['metadata']['continue']")
c "$B/globalnetworksets?limit=10&continue=$CONT&resourceVersion=0" -o "$T/p2.json" -w '%{http_code}' >"$T/code"
check "continue with resourceVersion=0 is accepted (as kube-apiserver does)" \
	test "$(cat "$T/code")-$(jget "$T/p2.json" "len(d['items'])")" = "200-10"
fault '{"expire_next_continue":1,"hostile_paths":["/globalnetworksets"]}'
c "$B/globalnetworksets?limit=10&continue=$CONT" -o "$T/p2.json" -w '%{http_code}' >"$T/code"
check "expire_next_continue: the next continue gets 410 Expired, page one does not" \
	test "$(cat "$T/code")-$(jget "$T/p2.json" "d['reason']")-$(c "$B/globalnetworksets?limit=10" -o /dev/null -w '%{http_code}')" = "410-Expired-200"
c "$B/globalnetworksets?limit=10&continue=$CONT" -o /dev/null -w '%{http_code}' >"$T/code"
check "... once: the continue after it works" test "$(cat "$T/code")" = 200
fault '{"watch_endless_line":1}'
c -N "$B/globalnetworksets?watch=true" --max-time 20 2>/dev/null | head -c 8388608 >"$T/w6"
check "watch_endless_line: 8 MiB of one event and no newline" \
	test "$(wc -c <"$T/w6")-$(tr -cd '\n' <"$T/w6" | wc -c)-$(head -c 26 "$T/w6")" = '8388608-0-{"type":"ADDED","object":{'
fault '{"endless_list":1}'
c "$B/globalnetworksets?limit=10" --max-time 20 2>/dev/null | head -c 8388608 >"$T/l6"
check "endless_list: a list body that goes on past 8 MiB" \
	sh -c "test \$(wc -c <'$T/l6') -eq 8388608 && grep -q '^{\"apiVersion\":\"$G1/v1\",\"kind\":\"GlobalNetworkSetList\"' '$T/l6'"
c "$B/globalnetworksets?limit=10" -o "$T/p1.json"
check "... once: the next list is whole" test "$(jget "$T/p1.json" "len(d['items'])")" = 10
fault '{"hostile_paths":[]}'

c "$B/globalnetworksets" -o "$T/l.json"
ORV=$(jget "$T/l.json" "d['metadata']['resourceVersion']")
fault '{"restart_history":true}'
c -N "$B/globalnetworksets?watch=true&resourceVersion=$ORV" -o "$T/w5"
check "restart_history: a watch from the old history gets 410" grep -q '"code":410' "$T/w5"

fault '{"stall_seconds":2}'
t0=$(date +%s%N)
c "$B/tiers" -o /dev/null
t1=$(date +%s%N)
check "stall_seconds=2 delays an answer by ~2 s" test $(((t1 - t0) / 1000000)) -ge 1800

fault '{"down_seconds":2}'
c "$B/tiers" -o /dev/null 2>/dev/null; rc=$?
check "down_seconds: connection refused while down (curl rc=$rc)" test "$rc" -eq 7
wait_for 10 c "$B/tiers" -o /dev/null 2>/dev/null
check "... and back on the same port afterwards" c -f "$B/tiers" -o /dev/null
k get $HEP -o name >"$T/out" 2>"$T/err"
check "kubectl works after the restart (state kept)" has "$T/out" node-1-auto-hep

# -------------------------------------------------------- DaemonSet, Pod, ServiceAccount
. "$HERE/test_workloads.sh"

# -------------------------------------------------------- the first watch is still fine?
kill "$WATCH_PID" 2>/dev/null; wait "$WATCH_PID" 2>/dev/null; WATCH_PID=""
if grep -q 'Traceback' "$T/server.err"; then
	notok "server stderr has a traceback"
	cat "$T/server.err"
else
	ok "server ran without tracebacks"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
