#!/bin/sh
# Cluster-wide endpoints (issue 10) end to end: rule selectors that see every Node and
# every Pod. tests/k8s/apiserver.py runs in the node namespace; Nodes, Namespaces, Pods
# and ServiceAccounts are created, relabelled and deleted with the real kubectl; the
# client namespace plays the other nodes and the pods, each from its own address, and
# real packets show the verdicts follow: a rule selector on Node labels admits another
# node's address (from Calico's address annotation or its InternalIP, never its
# ExternalIP) and follows a label change, a node joining and a node leaving; a pod
# selector with a namespaceSelector admits the pod's IP and not the same labels in
# another namespace, follows pod deletion and namespace relabelling; serviceAccounts
# resolve against pods; a pod joining an Allow keeps the generation (no flow is judged
# again); host-network and finished pods are not workload endpoints;
# a policy change lands promptly while pods churn; KubeControllersConfiguration templates
# make the endpoints kube-controllers would; --no-cluster-endpoints turns it off.
. "$(dirname "$0")/lib.sh"
need_root
command -v kubectl >/dev/null || skip "kubectl is not installed"
command -v openssl >/dev/null || skip "openssl is not installed (make deps)"
setup_net
# the addresses the client namespace speaks from: other nodes and pods
SUB=192.0.2
for i in 11 12 13 14 21 22 23 24; do nc_ ip addr add $SUB.$i/24 dev veth-c; done
start_api

{ hep_yaml crd.projectcalico.org/v1 "$NODE4"; echo "  profiles: [projectcalico-default-allow]"; } \
	> "$WORK/hep.yaml"
policy() {	# policy EXTRA_RULES: the node's ingress policy, with EXTRA_RULES before the Deny
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
      source: {selector: has(pool-id)}
      destination: {ports: [8080]}
    - action: Allow
      protocol: TCP
      source: {selector: app == 'prometheus', namespaceSelector: team == 'obs'}
      destination: {ports: [9100]}
    - action: Allow
      protocol: TCP
      source: {serviceAccounts: {names: [scraper]}}
      destination: {ports: [9200]}
$1
    - action: Deny
EOT
	kc apply -f "$WORK/gnp.yaml" > /dev/null
}
check "kubectl applies a HostEndpoint" kc apply -f "$WORK/hep.yaml"
policy ""
serve_node --tcp 8080,9100,9200,9300,9301
NFQ_SOURCE="--kubernetes --api-server https://127.0.0.1:$PORT --token-file $API_DIR/serviceaccount/token --ca-file $API_DIR/ca.crt"
READY_TRIES=150 start_nfqwall --auto-host-endpoint || exit 1

from() {	# from ADDR PORT: a TCP exchange from this client address to the node
	nc_ $PEER tcp $NODE4 "$2" --source "$SUB.$1" --timeout 0.5
}
refused() { ! from "$@"; }
# the issue's bound: a node joining or leaving, a label change, within 2 s
within2s() { WAIT_TRIES=20 wait_for "$@"; }

# ---- Nodes ---------------------------------------------------------------------------------
node() {	# node NAME LABELS_YAML ANNOTATIONS_YAML
	cat <<EOT | kc apply -f - > /dev/null
apiVersion: v1
kind: Node
metadata:
  name: $1
  labels: {$2}
  annotations: {$3}
EOT
}
node_addresses() {	# node_addresses NAME JSON_ADDRESSES: the status subresource, as the kubelet
	kc patch node "$1" --subresource=status --type=merge \
		-p "{\"status\":{\"addresses\":$2}}" > /dev/null
}
check "before any other node: $SUB.11 is denied" refused 11 8080
node node-2 "pool-id: p1, kubernetes.io/hostname: node-2" "projectcalico.org/IPv4Address: $SUB.11/24"
check "another node's address (Calico's IPv4Address annotation) is admitted by has(pool-id)" \
	within2s from 11 8080
node node-3 "pool-id: p1" ""
node_addresses node-3 "[{\"type\":\"InternalIP\",\"address\":\"$SUB.12\"},{\"type\":\"ExternalIP\",\"address\":\"$SUB.13\"},{\"type\":\"Hostname\",\"address\":\"node-3\"}]"
check "a node joining: its InternalIP is admitted within 2 s" within2s from 12 8080
check "... its ExternalIP is not (Calico's expectedIPs take InternalIP only)" refused 13 8080
node node-4 "zone: b" "projectcalico.org/IPv4Address: $SUB.14/24"
check "a node without the label is not admitted" refused 14 8080
kc label node node-4 pool-id=p2 > /dev/null
check "a label added to a node admits it within 2 s" within2s from 14 8080
kc label node node-2 pool-id- > /dev/null
check "a label removed from a node denies it within 2 s" within2s refused 11 8080
kc delete node node-3 > /dev/null
check "a node leaving: its address is denied within 2 s" within2s refused 12 8080
check "a node's pod addresses never become its own: $SUB.14 still admitted" from 14 8080
nodes_kept() { [ "$(metric 'nfqwall_api_kind_objects{kind="Node"}')" = 2 ]; }
check "every Node is watched: the store holds node-2 and node-4" nodes_kept
# the rule selectors' addresses are kept between reloads and updated by the changes
check "the selector cache answers reloads" [ "$(metric nfqwall_selector_cache_hits_total)" -gt 0 ]

# ---- Pods, Namespaces, ServiceAccounts ----------------------------------------------------------
kc create namespace monitoring > /dev/null
kc label namespace monitoring team=obs > /dev/null
kc create namespace other > /dev/null
pod() {	# pod NS NAME LABELS_YAML IP [SA] [HOSTNET]
	cat <<EOT | kc apply -f - > /dev/null
apiVersion: v1
kind: Pod
metadata:
  name: $2
  namespace: $1
  labels: {$3}
spec:
  nodeName: node-2
  serviceAccountName: ${5:-default}
  hostNetwork: ${6:-false}
  containers:
    - name: main
      image: registry.example/app:1
      ports:
        - {name: metrics, containerPort: 9300}
        - {containerPort: 9301}
EOT
	kc patch pod "$2" -n "$1" --subresource=status --type=merge \
		-p "{\"status\":{\"phase\":\"Running\",\"podIP\":\"$4\",\"podIPs\":[{\"ip\":\"$4\"}]}}" > /dev/null
}
pod monitoring prom "app: prometheus" $SUB.21
pod other prom "app: prometheus" $SUB.22
check "a pod selected by selector + namespaceSelector is admitted" within2s from 21 9100
check "the same labels in another namespace are not" refused 22 9100
check "... nor on a port the rule does not name" refused 21 9200
kc label namespace other team=obs > /dev/null
check "relabelling the other namespace admits its pod within 2 s" within2s from 22 9100
kc label namespace other team- > /dev/null
check "... and unlabelling it denies it again" within2s refused 22 9100
# a graceful deletion keeps the pod an endpoint until the kubelet is done, as in Calico;
# the object's removal is what counts
kc delete pod prom -n monitoring --grace-period=0 --force > /dev/null 2>&1
check "a deleted pod's address is denied within 2 s" within2s refused 21 9100
# a pod that joins an Allow rule's addresses only widens the table: the generation stays,
# so established flows are not judged again; one that leaves it is a new generation
gen0=$(metric nfqwall_ruleset_generation)
widened0=$(metric nfqwall_tables_widened_total)
pod monitoring prom-2 "app: prometheus" $SUB.21
check "a pod joining the Allow's addresses is admitted" within2s from 21 9100
check "... the table only widened: same generation ($gen0)" [ "$(metric nfqwall_ruleset_generation)" = "$gen0" ]
check "... counted in nfqwall_tables_widened_total" [ "$(metric nfqwall_tables_widened_total)" -gt "$widened0" ]
check "... and logged as such" grep -q 'rejudge=none-widened' "$WORK/nfqwall.err"
kc delete pod prom-2 -n monitoring --grace-period=0 --force > /dev/null 2>&1
check "the pod leaving is denied within 2 s" within2s refused 21 9100
check "... under a new generation: flows are judged again" [ "$(metric nfqwall_ruleset_generation)" != "$gen0" ]
pod monitoring node-exporter "app: prometheus" $SUB.23 default true
check "a host-network pod is no workload endpoint: its address is not admitted" refused 23 9100
kc create serviceaccount scraper -n other > /dev/null
pod other scraper-0 "app: scraper" $SUB.24 scraper
check "serviceAccounts.names admits the pod running as that service account" within2s from 24 9200
check "... the other pods of its namespace are not" refused 22 9200
kc patch pod scraper-0 -n other --subresource=status --type=merge -p '{"status":{"phase":"Succeeded"}}' > /dev/null
check "a finished pod is no endpoint: its address is denied within 2 s" within2s refused 24 9200

# named ports: a rule port "metrics" resolves to the (address, TCP, 9300) of every pod
# that declares it; 9301 is declared without a name
policy "    - action: Allow
      protocol: TCP
      source: {nets: [$SUB.0/24]}
      destination: {ports: [metrics]}"
# the destination is the node here, whose host endpoint declares no port named metrics:
# the rule matches nothing, as in Calico (named ports resolve on the destination's side)
check "a named port of the pods does not open the node's port 9300" within2s refused 22 9300

# ---- churn: a policy change lands promptly while pods keep changing ----------------------
churn() {
	i=0
	while [ ! -e "$WORK/churn.stop" ]; do
		i=$((i + 1))
		kc label pod prom -n other churn=$i --overwrite > /dev/null 2>&1
		kc annotate namespace other churn=$i --overwrite > /dev/null 2>&1
	done
	echo "$i" > "$WORK/churn.count"
}
churn &
CHURN=$!
PIDS="$PIDS $CHURN"
sleep 2
policy "    - action: Allow
      protocol: TCP
      destination: {ports: [9301]}"
t0=$(date +%s%N)
WAIT_TRIES=50 wait_for from 22 9301
rc=$?
t1=$(date +%s%N)
touch "$WORK/churn.stop"
wait "$CHURN" 2>/dev/null
note "policy change under churn reached the verdicts in $(( (t1 - t0) / 1000000 )) ms; $(cat "$WORK/churn.count" 2>/dev/null) label changes by kubectl"
check "a policy change lands within 5 s while pods and namespaces churn" [ "$rc" -eq 0 ]

# ---- Calico 3.30+ templates: KubeControllersConfiguration "default" -------------------------
# (written while the daemon runs: a stopped one leaves the node closed, the API included)
kcc() {	# kcc NODE_SELECTOR: templates by CIDR (on the selected Nodes) and by interface name
	cat <<EOT | kc apply -f - > /dev/null
apiVersion: crd.projectcalico.org/v1
kind: KubeControllersConfiguration
metadata:
  name: default
spec:
  controllers:
    node:
      hostEndpoint:
        autoCreate: Enabled
        createDefaultHostEndpoint: Disabled
        templates:
          - generateName: internal
            interfaceCIDRs: [$SUB.0/24]
            nodeSelector: $1
            labels: {tier: internal}
          - generateName: phys
            interfacePattern: '^eth[0-9]+\$'
            labels: {tier: iface}
EOT
}
check "kubectl applies a KubeControllersConfiguration" kcc "pool-id == 'p2'"
node node-4 "zone: b, pool-id: p2" "projectcalico.org/IPv4Address: $SUB.14/24, projectcalico.org/Interfaces: '[{\"name\":\"eth0\",\"addresses\":[\"$SUB.13\"]},{\"name\":\"lo\",\"addresses\":[\"$SUB.12\"]}]'"
policy "    - action: Allow
      protocol: TCP
      source: {selector: tier == 'internal'}
      destination: {ports: [9301]}
    - action: Allow
      protocol: TCP
      source: {selector: tier == 'iface'}
      destination: {ports: [9300]}"
check "SIGTERM exits 0" stop_nfqwall
# without --auto-host-endpoint the object decides, as it does for kube-controllers
READY_TRIES=150 start_nfqwall || exit 1
check "the KubeControllersConfiguration is watched" \
	[ "$(metric 'nfqwall_api_kind_objects{kind="KubeControllersConfiguration"}')" = 1 ]
check "the settings are logged" grep -q 'msg="auto host endpoints" source=KubeControllersConfiguration/default enabled=yes default=no templates=2' "$WORK/nfqwall.err"
check "a template's endpoint carries its labels: node-4 admitted by tier == 'internal'" \
	within2s from 14 9301
check "... and the Node's labels: has(pool-id) still admits it" from 14 8080
check "a Node the nodeSelector leaves out gets no such endpoint" refused 11 9301
check "interfacePattern: eth0's address is admitted by tier == 'iface'" within2s from 13 9300
check "... lo does not match the pattern" refused 12 9300
check "an interface's address is one of the Node's (Calico's expectedIPs): in the CIDR template's endpoint too" \
	from 13 9301
kc label node node-4 pool-id=p3 --overwrite > /dev/null
check "the Node relabelled out of the nodeSelector: denied within 2 s" within2s refused 14 9301
kcc "all()"
check "the template changed to all(): admitted again within 2 s" within2s from 14 9301
check "... node-2 too (its address is in the CIDR)" within2s from 11 9301
kc delete kubecontrollersconfiguration default > /dev/null
check "the object deleted: no auto host endpoint, node-4 denied within 2 s" \
	within2s refused 14 8080
check "SIGTERM exits 0" stop_nfqwall

# ---- the switch -----------------------------------------------------------------------------
seen=$(wc -l < "$WORK/requests.log")
READY_TRIES=150 start_nfqwall --auto-host-endpoint --no-cluster-endpoints || exit 1
check "--no-cluster-endpoints: the other node is not admitted" refused 14 8080
check "--no-cluster-endpoints: the pod is not admitted" refused 22 9100
# the log has a line per request when it ends: the first daemon's watches end after $seen
lists() { tail -n +$((seen + 1)) "$WORK/requests.log" | grep "^REQ list GET /api/v1/$1"; }
no_pods() { ! lists pods | grep -q .; }
own_node() { lists nodes | grep -q 'fieldSelector=metadata.name%3Dnode-1'; }
no_other_node() { ! lists nodes | grep -v -q 'fieldSelector=metadata.name'; }
check "--no-cluster-endpoints: no Pod is listed" no_pods
check "--no-cluster-endpoints: this node's Node is listed, by name" own_node
check "--no-cluster-endpoints: no other Node" no_other_node
check "SIGTERM exits 0" stop_nfqwall
nn "$NFQWALL" uninstall > /dev/null
finish
