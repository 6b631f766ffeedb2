# tests/k8s/test_workloads.sh - sourced by test_kubectl.sh (its server, its
# helpers: k, c, check, has, jget, wait_for, logged, admin, fault): the
# built-in kinds the daemon needs - apps/v1 DaemonSet, Pod, ServiceAccount -
# driven with the real kubectl (apply, get and its printers, get -w, field
# selectors, delete with each cascade mode) and checked on the wire with
# curl (the daemon's own DaemonSet watch, DELETE bodies and options).
# shellcheck shell=sh

admin DELETE /faults >/dev/null
NS=nfq
# cbg ARGS...: curl in the background, BG_PID its own pid (killing a
# backgrounded shell function would leave its curl running)
cbg() { curl -sS --cacert "$CA" -H "Authorization: Bearer $TOKEN" "$@" & BG_PID=$!; }
DS=daemonsets.apps
DSB=$API/apis/apps/v1/namespaces/$NS/daemonsets
PB=$API/api/v1/namespaces/$NS/pods

# -------------------------------------------------------- discovery, accounts
k api-resources -o wide >"$T/out" 2>"$T/err"
check "discovery: daemonsets (ds, apps/v1), pods (po), serviceaccounts (sa)" \
	sh -c "grep -Eq '^daemonsets +ds +apps/v1 +true +DaemonSet' '$T/out' && grep -Eq '^pods +po +v1 +true +Pod' '$T/out' && grep -Eq '^serviceaccounts +sa +v1 +true +ServiceAccount' '$T/out'"
k create namespace $NS >"$T/out" 2>"$T/err"
k get sa -n $NS >"$T/out" 2>"$T/err"
check "a new namespace gets its default ServiceAccount (NAME SECRETS AGE)" \
	sh -c "head -1 '$T/out' | grep -Eq '^NAME +SECRETS +AGE$' && grep -Eq '^default +0 +[0-9]+s$' '$T/out'"
k create sa nfqwall -n $NS >"$T/out" 2>"$T/err"
check "create serviceaccount (protobuf request body): created" has "$T/out" "serviceaccount/nfqwall created"

# -------------------------------------------------------- DaemonSet: apply, printers
ds_yaml() {	# IMAGE [SELECTOR-VALUE]
	cat <<EOF
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: nfqwall
  namespace: $NS
  labels: {app.kubernetes.io/name: nfqwall}
spec:
  selector:
    matchLabels: {app.kubernetes.io/name: ${2:-nfqwall}}
  template:
    metadata:
      labels: {app.kubernetes.io/name: nfqwall}
    spec:
      serviceAccountName: nfqwall
      hostNetwork: true
      nodeSelector: {kubernetes.io/os: linux}
      containers:
      - name: nfqwall
        image: $1
        args: [run, --kubernetes]
        ports: [{name: metrics, containerPort: 9417}]
        env: [{name: NODE_NAME, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}]
        livenessProbe: {httpGet: {path: /livez, port: 9417}}
        securityContext: {capabilities: {add: [NET_ADMIN]}}
EOF
}
ds_yaml example.org/nfqwall:1.0 >"$T/ds.yaml"
k apply -f "$T/ds.yaml" >"$T/out" 2>"$T/err"
check "apply DaemonSet: created, validated on the server" \
	sh -c "grep -q 'daemonset.apps/nfqwall created' '$T/out' && grep -Eq 'create POST /apis/apps/v1/namespaces/$NS/daemonsets\?fieldManager=kubectl-client-side-apply&fieldValidation=Strict.* -> 201' '$T/requests.log'"
c "$DSB" -o "$T/dsl.json"
check "DaemonSet list items carry no kind (a built-in list)" \
	test "$(jget "$T/dsl.json" "(d['kind'], d['apiVersion'], 'kind' in d['items'][0])")" = "('DaemonSetList', 'apps/v1', False)"
k get $DS nfqwall -n $NS -o json >"$T/ds.json" 2>"$T/err"
check "DaemonSet: generation 1, template generation annotation, apps/v1 defaults, zero status" \
	test "$(jget "$T/ds.json" "(d['metadata']['generation'], d['metadata']['annotations']['deprecated.daemonset.template.generation'], json.dumps(d['spec']['updateStrategy'], sort_keys=True), d['spec']['revisionHistoryLimit'], d['spec']['template']['spec']['restartPolicy'], sorted(d['status'].items()))")" = "(1, '1', '{\"rollingUpdate\": {\"maxSurge\": 0, \"maxUnavailable\": 1}, \"type\": \"RollingUpdate\"}', 10, 'Always', [('currentNumberScheduled', 0), ('desiredNumberScheduled', 0), ('numberMisscheduled', 0), ('numberReady', 0)])"
k get ds -n $NS >"$T/out" 2>"$T/err"
check "get ds: the DaemonSet printer's columns" \
	sh -c "head -1 '$T/out' | tr -s ' ' | grep -qx 'NAME DESIRED CURRENT READY UP-TO-DATE AVAILABLE NODE SELECTOR AGE' && grep -Eq '^nfqwall +0 +0 +0 +0 +0 +kubernetes.io/os=linux +[0-9]+s$' '$T/out'"
k get ds -n $NS -o wide >"$T/out" 2>"$T/err"
check "get ds -o wide: CONTAINERS IMAGES SELECTOR" \
	grep -Eq ' +nfqwall +example.org/nfqwall:1.0 +app.kubernetes.io/name=nfqwall$' "$T/out"

# --request-timeout=0: k's 20 s would end kubectl's watch on the client side
k get ds -n $NS -w --output-watch-events --request-timeout=0 >"$T/dsw.out" 2>"$T/dsw.err" &
WATCH3_PID=$!
check "get -w on DaemonSets prints ADDED" wait_for 15 grep -Eq '^ADDED +nfqwall ' "$T/dsw.out"

ds_yaml example.org/nfqwall:1.1 >"$T/ds2.yaml"
k apply -f "$T/ds2.yaml" >"$T/out" 2>"$T/err"
check "apply a new image: configured, as a strategic merge patch, no warnings" \
	sh -c "grep -q 'daemonset.apps/nfqwall configured' '$T/out' && test ! -s '$T/err' && grep -Eq 'patch PATCH /apis/apps/v1/namespaces/$NS/daemonsets/nfqwall\?.* -> 200 .*ctype=application/strategic-merge-patch\+json' '$T/requests.log'"
k get $DS nfqwall -n $NS -o json >"$T/ds.json" 2>"$T/err"
check "a template change: generation 2, template generation 2, the rest of the container kept" \
	test "$(jget "$T/ds.json" "(d['metadata']['generation'], d['metadata']['annotations']['deprecated.daemonset.template.generation'], [(c['image'], c['ports'][0]['containerPort'], c['env'][0]['name']) for c in d['spec']['template']['spec']['containers']])")" = "(2, '2', [('example.org/nfqwall:1.1', 9417, 'NODE_NAME')])"
k apply -f "$T/ds2.yaml" >"$T/out" 2>"$T/err"
k label ds nfqwall -n $NS tier=node >/dev/null 2>&1
check "re-apply: unchanged; a label does not bump the generation" \
	test "$(grep -c unchanged "$T/out")-$(k get ds nfqwall -n $NS -o jsonpath='{.metadata.generation}')" = "1-2"
check "get -w prints MODIFIED" wait_for 10 grep -Eq '^MODIFIED +nfqwall ' "$T/dsw.out"
ds_yaml example.org/nfqwall:1.1 other >"$T/ds3.yaml"
k apply -f "$T/ds3.yaml" >"$T/out" 2>"$T/err"
check "a new selector: spec.selector is immutable (422, kubectl's wording)" \
	has "$T/err" 'The DaemonSet "nfqwall" is invalid: '
check "... both errors: immutable and not matching the template" \
	sh -c "grep -q 'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map\[string\]string{\"app.kubernetes.io/name\":\"other\"}, MatchExpressions:\[\]v1.LabelSelectorRequirement(nil)}: field is immutable' '$T/err' && grep -q 'selector. does not match template .labels.' '$T/err'"
k patch ds nfqwall -n $NS --subresource=status --type=merge \
	-p '{"status":{"desiredNumberScheduled":3,"currentNumberScheduled":3,"numberReady":2,"numberAvailable":2,"updatedNumberScheduled":3,"observedGeneration":2}}' >"$T/out" 2>"$T/err"
k get ds -n $NS >"$T/out" 2>"$T/err"
check "status subresource: kept as written (no controller), generation unchanged" \
	test "$(grep -Ec '^nfqwall +3 +3 +2 +3 +2 ' "$T/out")-$(k get ds nfqwall -n $NS -o jsonpath='{.metadata.generation}')" = "1-2"

# -------------------------------------------------------- Pods
DSUID=$(k get ds nfqwall -n $NS -o jsonpath='{.metadata.uid}')
pod_yaml() {	# NAME NODE
	cat <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $1
  namespace: $NS
  labels: {app.kubernetes.io/name: nfqwall}
  ownerReferences:
  - {apiVersion: apps/v1, kind: DaemonSet, name: nfqwall, uid: "$DSUID", controller: true, blockOwnerDeletion: true}
spec:
  nodeName: $2
  serviceAccountName: nfqwall
  hostNetwork: true
  containers:
  - name: nfqwall
    image: example.org/nfqwall:1.1
    ports: [{name: metrics, containerPort: 9417}]
EOF
}
pod_yaml nfqwall-aaaaa node-1 >"$T/pod1.yaml"
pod_yaml nfqwall-bbbbb node-2 >"$T/pod2.yaml"
k apply -f "$T/pod1.yaml" >"$T/out" 2>"$T/err"
k apply -f "$T/pod2.yaml" >>"$T/out" 2>>"$T/err"
check "apply two Pods owned by the DaemonSet" test "$(grep -c 'pod/nfqwall-.* created' "$T/out")" -eq 2
k get pod nfqwall-aaaaa -n $NS -o json >"$T/pod.json" 2>"$T/err"
check "a created Pod: Pending, its QoS class, ownerReferences kept, defaults (hostPort, 30 s grace, tolerations)" \
	test "$(jget "$T/pod.json" "(d['status'], d['metadata']['ownerReferences'][0]['uid'] == '$DSUID', d['spec']['containers'][0]['ports'][0]['hostPort'], d['spec']['terminationGracePeriodSeconds'], len(d['spec']['tolerations']), d['spec']['serviceAccount'])")" = "({'phase': 'Pending', 'qosClass': 'BestEffort'}, True, 9417, 30, 2, 'nfqwall')"
k patch pod nfqwall-aaaaa -n $NS --subresource=status --type=merge \
	-p '{"status":{"phase":"Running","podIP":"192.0.2.10","containerStatuses":[{"name":"nfqwall","ready":true,"restartCount":0,"image":"example.org/nfqwall:1.1","imageID":"","state":{"running":{"startedAt":"2025-01-01T00:00:00Z"}}}]}}' >"$T/out" 2>"$T/err"
k get pods -n $NS -o wide >"$T/out" 2>"$T/err"
check "get pods -o wide: the Pod printer (READY STATUS RESTARTS AGE IP NODE ...)" \
	sh -c "head -1 '$T/out' | tr -s ' ' | grep -qx 'NAME READY STATUS RESTARTS AGE IP NODE NOMINATED NODE READINESS GATES' && grep -Eq '^nfqwall-aaaaa +1/1 +Running +0 +[0-9]+s +192.0.2.10 +node-1 +<none> +<none>$' '$T/out' && grep -Eq '^nfqwall-bbbbb +0/1 +Pending +0 +[0-9]+s +<none> +node-2 ' '$T/out'"
check "status.podIP becomes status.podIPs too (the v1 conversion)" \
	test "$(k get pod nfqwall-aaaaa -n $NS -o jsonpath='{.status.podIPs[0].ip}')" = 192.0.2.10
k get pods -A --field-selector spec.nodeName=node-1 -o name >"$T/out" 2>"$T/err"
check "field selector spec.nodeName (all namespaces)" test "$(cat "$T/out")" = pod/nfqwall-aaaaa
k get pods -n $NS --field-selector status.phase=Pending,metadata.namespace=$NS -o name >"$T/out" 2>"$T/err"
check "field selectors status.phase and metadata.namespace" test "$(cat "$T/out")" = pod/nfqwall-bbbbb
k get pods -n $NS --field-selector status.podIP=192.0.2.10 -o name >"$T/out" 2>"$T/err"
check "field selector status.podIP" test "$(cat "$T/out")" = pod/nfqwall-aaaaa
k get pods -n $NS --field-selector spec.image=x >"$T/out" 2>"$T/err"
check "an unsupported Pod field: the Pod conversion's wording" has "$T/err" "field label not supported: spec.image"
k get ds -n $NS --field-selector spec.x=y >"$T/out" 2>"$T/err"
check "an unsupported DaemonSet field: the default conversion's wording" \
	has "$T/err" '"spec.x" is not a known field selector: only "metadata.name", "metadata.namespace"'
c "$API/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-1" -o "$T/l.json"
c -N "$API/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-1&watch=1&resourceVersion=0&timeoutSeconds=1" -o "$T/w.json"
check "curl: a cluster-wide Pod list and watch by spec.nodeName (items without kind)" \
	test "$(jget "$T/l.json" "[(i['metadata']['name'], 'kind' in i) for i in d['items']]")-$(python3 -c 'import json,sys; print([(e["type"], e["object"]["metadata"]["name"]) for e in map(json.loads, open(sys.argv[1]))])' "$T/w.json")" = "[('nfqwall-aaaaa', False)]-[('ADDED', 'nfqwall-aaaaa')]"
c "$API/apis/apps/v1/daemonsets?fieldSelector=metadata.namespace%3D$NS,metadata.name%3Dnfqwall" -o "$T/l.json"
check "curl: DaemonSets by metadata.namespace and metadata.name on the cluster-wide path" \
	test "$(jget "$T/l.json" "[i['metadata']['name'] for i in d['items']]")" = "['nfqwall']"
c "$API/api/v1/nodes?fieldSelector=metadata.namespace%3Dx" -o "$T/l.json" -w '%{http_code}' >"$T/code"
check "curl: metadata.namespace on Nodes is 400, as the Node conversion has it" \
	test "$(cat "$T/code")-$(jget "$T/l.json" "d['message']")" = "400-field label not supported: metadata.namespace"
sed 's/nodeName: node-1/nodeName: node-9/' "$T/pod1.yaml" >"$T/pod1b.yaml"
k apply -f "$T/pod1b.yaml" >"$T/out" 2>"$T/err"
check "a Pod's spec.nodeName cannot change (pod updates may not change fields...)" \
	has "$T/err" 'The Pod "nfqwall-aaaaa" is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`'
k run lone -n $NS --image=busybox --restart=Never --overrides='{"spec":{"serviceAccountName":"nosuch"}}' >"$T/out" 2>"$T/err"
check "a Pod naming a missing ServiceAccount: 403 from the ServiceAccount admission" \
	has "$T/err" "Error from server (Forbidden): pods \"lone\" is forbidden: error looking up service account $NS/nosuch: serviceaccount \"nosuch\" not found"
k get all -n $NS -o name >"$T/out" 2>"$T/err"
check "get all (category all): the pods and the DaemonSet" \
	test "$(grep -Ec '^(pod/nfqwall-|daemonset.apps/nfqwall$)' "$T/out")" -eq 3

# -------------------------------------------------------- Pod deletion
cbg -N "$PB?watch=1&timeoutSeconds=20" -o "$T/pw"
sleep 0.5
k run once -n $NS --image=busybox --restart=Never >/dev/null 2>&1
k delete pod once -n $NS >"$T/out" 2>"$T/err"
check "an unscheduled Pod (no spec.nodeName): kubectl delete returns, the Pod is gone" \
	sh -c "grep -q 'pod \"once\" deleted' '$T/out' && ! kubectl --kubeconfig '$T/kubeconfig' get pod once -n $NS >/dev/null 2>&1"
wait_for 10 grep -q '"type":"DELETED"' "$T/pw"
kill "$BG_PID" 2>/dev/null; wait "$BG_PID" 2>/dev/null; BG_PID=""
check "... its watch: ADDED, MODIFIED (deletionTimestamp, grace 0), DELETED" \
	test "$(python3 -c 'import json,sys
ev = [json.loads(l) for l in open(sys.argv[1])]
print(" ".join("%s:%s" % (e["type"], e["object"]["metadata"].get("deletionGracePeriodSeconds", "-")) for e in ev if e["object"]["metadata"]["name"] == "once"))' "$T/pw")" = "ADDED:- MODIFIED:0 DELETED:0"
k delete pod nfqwall-bbbbb -n $NS --wait=false >"$T/out" 2>"$T/err"
k get pod nfqwall-bbbbb -n $NS >"$T/out2" 2>"$T/err"
check "a scheduled Pod: graceful deletion, Terminating with deletionGracePeriodSeconds 30" \
	sh -c "grep -Eq '^nfqwall-bbbbb +0/1 +Terminating ' '$T/out2' && test \"\$(kubectl --kubeconfig '$T/kubeconfig' get pod nfqwall-bbbbb -n $NS -o jsonpath='{.metadata.deletionGracePeriodSeconds}')\" = 30"
c -X DELETE "$PB/nfqwall-bbbbb?gracePeriodSeconds=60" -o "$T/del.json"
check "a longer grace period cannot extend it (the Pod comes back unchanged)" \
	test "$(jget "$T/del.json" "(d['kind'], d['metadata']['deletionGracePeriodSeconds'])")" = "('Pod', 30)"
k delete pod nfqwall-bbbbb -n $NS --grace-period=0 --force >"$T/out" 2>"$T/err"
check "--grace-period=0 --force: the Pod is gone (the kubelet's part, played by the test)" \
	sh -c "grep -q 'force deleted' '$T/out' && ! kubectl --kubeconfig '$T/kubeconfig' get pod nfqwall-bbbbb -n $NS >/dev/null 2>&1"

# -------------------------------------------------------- the daemon's own DaemonSet watch
ds_yaml example.org/nfqwall:1.1 | sed 's/name: nfqwall$/name: other/' >"$T/other.yaml"
k apply -f "$T/other.yaml" >/dev/null 2>&1
c "$DSB" -o "$T/dsl.json"
DRV=$(jget "$T/dsl.json" "d['metadata']['resourceVersion']")
cbg -N "$DSB?fieldSelector=metadata.name%3Dnfqwall&watch=1&allowWatchBookmarks=true&resourceVersion=$DRV&timeoutSeconds=30" -o "$T/dw"
sleep 0.5
k label ds other nfqwall -n $NS touched=yes >/dev/null 2>&1

# -------------------------------------------------------- foreground deletion
NMOD=$(grep -Ec '^MODIFIED +nfqwall ' "$T/dsw.out")
k delete ds nfqwall -n $NS --cascade=foreground --wait=false >"$T/out" 2>"$T/err"
k get ds nfqwall -n $NS -o json >"$T/ds.json" 2>"$T/err"
check "--cascade=foreground with a blocking Pod: deletionTimestamp, finalizers [foregroundDeletion], generation + 1" \
	test "$(jget "$T/ds.json" "(bool(d['metadata']['deletionTimestamp']), d['metadata']['finalizers'], d['metadata']['generation'], d['metadata']['deletionGracePeriodSeconds'])")" = "(True, ['foregroundDeletion'], 3, 0)"
check "get -w prints the MODIFIED DaemonSet" wait_for 10 sh -c "test \$(grep -Ec '^MODIFIED +nfqwall ' '$T/dsw.out') -gt $NMOD"
c -X DELETE "$DSB/nfqwall" -d '{"propagationPolicy":"Foreground"}' -H 'Content-Type: application/json' -o "$T/del.json"
check "DELETE again while it lingers: the object (not a Status), unchanged" \
	test "$(jget "$T/del.json" "(d['kind'], d['metadata']['finalizers'])")" = "('DaemonSet', ['foregroundDeletion'])"
k delete pod nfqwall-aaaaa -n $NS --grace-period=0 --force >/dev/null 2>&1
check "... removed once its last blocking Pod is gone" \
	wait_for 5 sh -c "! kubectl --kubeconfig '$T/kubeconfig' get ds nfqwall -n $NS >/dev/null 2>&1"
check "get -w prints DELETED" wait_for 10 grep -Eq '^DELETED +nfqwall ' "$T/dsw.out"
wait_for 10 grep -q '"type":"DELETED"' "$T/dw"
sleep 1.2	# one more bookmark
kill "$BG_PID" 2>/dev/null; wait "$BG_PID" 2>/dev/null; BG_PID=""
check "the daemon's watch (fieldSelector metadata.name, bookmarks, from an RV): only its DaemonSet, MODIFIED then DELETED" \
	test "$(python3 -c 'import json,sys
ev = [json.loads(l) for l in open(sys.argv[1])]
names = {e["object"]["metadata"].get("name") for e in ev if e["type"] != "BOOKMARK"}
seq = [e["type"] for e in ev if e["type"] != "BOOKMARK"]
last = [e for e in ev if e["type"] == "DELETED"][-1]["object"]["metadata"]
bm = [e for e in ev if e["type"] == "BOOKMARK"][0]["object"]
print(sorted(names), seq[0], seq[-1], last["finalizers"], bm["kind"], bm["apiVersion"])' "$T/dw")" = "['nfqwall'] MODIFIED DELETED ['foregroundDeletion'] DaemonSet apps/v1"

ds_yaml example.org/nfqwall:1.1 >"$T/ds.yaml"
k apply -f "$T/ds.yaml" >/dev/null 2>&1
k delete ds nfqwall -n $NS --cascade=foreground --timeout=20s >"$T/out" 2>"$T/err"
check "--cascade=foreground without Pods: removed at once (kubectl waits and returns)" \
	sh -c "grep -q 'daemonset.apps \"nfqwall\" deleted' '$T/out' && ! kubectl --kubeconfig '$T/kubeconfig' get ds nfqwall -n $NS >/dev/null 2>&1" || cat "$T/out" "$T/err"

k apply -f "$T/ds.yaml" >/dev/null 2>&1
DSUID=$(k get ds nfqwall -n $NS -o jsonpath='{.metadata.uid}')
pod_yaml nfqwall-ccccc node-1 | k apply -f - >/dev/null 2>&1
k delete ds nfqwall -n $NS --cascade=foreground --timeout=30s >"$T/fg.out" 2>"$T/fg.err" &
BG_PID=$!
sleep 1
check "kubectl delete --cascade=foreground (waiting) is still waiting on the Pod" kill -0 "$BG_PID"
k delete pod nfqwall-ccccc -n $NS --grace-period=0 --force >/dev/null 2>&1
wait "$BG_PID"; rc=$?; BG_PID=""
check "... and returns 0 once the Pod is deleted" \
	sh -c "test $rc -eq 0 && grep -q 'daemonset.apps \"nfqwall\" deleted' '$T/fg.out'"

k apply -f "$T/ds.yaml" >/dev/null 2>&1
DSUID=$(k get ds nfqwall -n $NS -o jsonpath='{.metadata.uid}')
pod_yaml nfqwall-ddddd node-1 | k apply -f - >/dev/null 2>&1
c -X DELETE "$DSB/nfqwall?propagationPolicy=Foreground" -o /dev/null
c -X DELETE "$DSB/nfqwall?propagationPolicy=Background" -o "$T/del.json"
k get ds nfqwall -n $NS >/dev/null 2>&1; rc=$?
check "a Background DELETE (query options) on a foreground deletion: removed at once, a Status" \
	test "$(jget "$T/del.json" "(d['kind'], d['status'], d['details']['kind'], d['details']['group'])")-$rc" = "('Status', 'Success', 'daemonsets', 'apps')-1"
k delete pod nfqwall-ddddd -n $NS --grace-period=0 --force >/dev/null 2>&1

# -------------------------------------------------------- background and orphan
k apply -f "$T/ds.yaml" >/dev/null 2>&1
DSUID=$(k get ds nfqwall -n $NS -o jsonpath='{.metadata.uid}')
pod_yaml nfqwall-eeeee node-1 | k apply -f - >/dev/null 2>&1
k delete ds nfqwall -n $NS >"$T/out" 2>"$T/err"
check "kubectl delete (Background): the DaemonSet is gone at once" \
	sh -c "grep -q 'daemonset.apps \"nfqwall\" deleted' '$T/out' && ! kubectl --kubeconfig '$T/kubeconfig' get ds nfqwall -n $NS >/dev/null 2>&1"
check "... the Pod stays (no garbage collector here), ownerReference and all" \
	test "$(k get pod nfqwall-eeeee -n $NS -o jsonpath='{.metadata.ownerReferences[0].uid}')" = "$DSUID"
k delete pod nfqwall-eeeee -n $NS --grace-period=0 --force >/dev/null 2>&1

k apply -f "$T/ds.yaml" >/dev/null 2>&1
DSUID=$(k get ds nfqwall -n $NS -o jsonpath='{.metadata.uid}')
pod_yaml nfqwall-fffff node-1 | k apply -f - >/dev/null 2>&1
c "$DSB" -o "$T/dsl.json"
DRV=$(jget "$T/dsl.json" "d['metadata']['resourceVersion']")
k delete ds nfqwall -n $NS --cascade=orphan >"$T/out" 2>"$T/err"
check "--cascade=orphan: deleted; the Pod stays without its ownerReference" \
	sh -c "grep -q 'daemonset.apps \"nfqwall\" deleted' '$T/out' && ! kubectl --kubeconfig '$T/kubeconfig' get ds nfqwall -n $NS >/dev/null 2>&1 && test -z \"\$(kubectl --kubeconfig '$T/kubeconfig' get pod nfqwall-fffff -n $NS -o jsonpath='{.metadata.ownerReferences}')\""
c -N "$DSB?fieldSelector=metadata.name%3Dnfqwall&watch=1&resourceVersion=$DRV&timeoutSeconds=1" -o "$T/dw"
check "... its watch: MODIFIED with finalizers [orphan], then DELETED" \
	test "$(python3 -c 'import json,sys
print(" ".join("%s:%s" % (e["type"], e["object"]["metadata"].get("finalizers")) for e in map(json.loads, open(sys.argv[1]))))' "$T/dw")" = "MODIFIED:['orphan'] DELETED:['orphan']"
check "get -w printed one DELETED for each of the six deletions" \
	wait_for 10 sh -c "test \$(grep -Ec '^DELETED +nfqwall ' '$T/dsw.out') -eq 6"
c -X DELETE "$DSB/other" -d '{"propagationPolicy":"Sideways"}' -H 'Content-Type: application/json' -o "$T/del.json" -w '%{http_code}' >"$T/code"
check "an unknown propagationPolicy: 422 DeleteOptions is invalid" \
	test "$(cat "$T/code")-$(jget "$T/del.json" "d['message']")" = '422-DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "Sideways": supported values: "Foreground", "Background", "Orphan", "nil"'

k delete namespace $NS >"$T/out" 2>"$T/err"
check "deleting the namespace takes its DaemonSets, Pods and ServiceAccounts" \
	wait_for 10 sh -c "test -z \"\$(kubectl --kubeconfig '$T/kubeconfig' get ds,pods,sa -n $NS -o name 2>/dev/null)\""
kill "$WATCH3_PID" 2>/dev/null; wait "$WATCH3_PID" 2>/dev/null; WATCH3_PID=""
