#!/usr/bin/env python3
"""chart_check.py - the parsed checks of tests/helm/run.sh on the chart deploy/helm/nfqwall.

  chart_check.py json RENDERED                 the rendered objects as a JSON array (for
                                               k8s-validate/validate.mjs)
  chart_check.py rules RENDERED VALUES NS      the house rules on a render made with VALUES
                                               (a values file, or - for the defaults) in NS
  chart_check.py readme [--update]             README.md's values table is values.yaml's
  chart_check.py options HELP RENDERED         every NFQWALL_* option `nfqwall run --help`
                                               lists is rendered from values-all.yaml
  chart_check.py argocd APPS OUTDIR            the Argo CD Applications of APPS have the
                                               shape deploy/argocd/README.md promises; the
                                               chart Application's helm.valuesObject goes to
                                               OUTDIR/values.json and "RELEASE NAMESPACE" to
                                               OUTDIR/release, for run.sh to render

Each command prints what is wrong, one line each, and exits 1 when anything is, else 0.
"""
import glob
import json
import re
import sys

import yaml

CHART = "deploy/helm/nfqwall"
KSTORE = "control/k8s/kstore.c"

# Calico kinds the ClusterRole grants, when control/k8s/kstore.c cannot be read.
CALICO_RESOURCES = {
    "globalnetworkpolicies", "stagedglobalnetworkpolicies", "hostendpoints",
    "globalnetworksets", "networksets", "tiers", "felixconfigurations",
    "kubecontrollersconfigurations",
}
# Core kinds (/api/v1) the daemon watches only without --no-cluster-endpoints
# (control/k8s/kapi.c kind_watched): the ClusterRole grants them only with
# daemon.clusterEndpoints. Nodes are always granted (its own Node, or every Node).
CLUSTER_ENDPOINT_RESOURCES = {"pods", "namespaces", "serviceaccounts"}
# Options of `nfqwall run --help` the chart sets another way, or must not set.
NOT_VALUES = {
    "NFQWALL_POLICY_DIR": "the chart runs --kubernetes",
    "NFQWALL_KUBERNETES": "--kubernetes is in the command",
    "NFQWALL_TOKEN_FILE": "the service account's token",
    "NFQWALL_CA_FILE": "the service account's ca.crt",
    "NFQWALL_NODE": "the daemon reads NODE_NAME (downward API)",
}
# Argo CD's sync-wave annotation, and the kinds the chart puts in wave -1 (argocd.syncWaves)
# so that Argo CD deletes them only after the DaemonSet's pods are gone.
SYNC_WAVE = "argocd.argoproj.io/sync-wave"
EARLY_KINDS = {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}
STANDARD_LABELS = ("app.kubernetes.io/name", "app.kubernetes.io/instance",
                   "app.kubernetes.io/version", "app.kubernetes.io/managed-by", "helm.sh/chart")


def load_docs(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def merged(base, over):
    """Values as Helm merges a values file over the chart's: maps merge, the rest replaces."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = merged(base.get(k), v) if k in base else v
        return out
    return over


def chart_values(path):
    with open(f"{CHART}/values.yaml", encoding="utf-8") as f:
        values = yaml.safe_load(f)
    if path != "-":
        with open(path, encoding="utf-8") as f:
            values = merged(values, yaml.safe_load(f) or {})
    return values


def app_version():
    with open(f"{CHART}/Chart.yaml", encoding="utf-8") as f:
        return str(yaml.safe_load(f)["appVersion"])


def kstore_kinds():
    """(Calico plurals, other plurals) of the kinds control/k8s/kstore.c requests, or None."""
    try:
        with open(KSTORE, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return None
    calico, other = set(), set()
    for _kind, plural, is_calico in re.findall(
            r'\[KK_\w+\]\s*=\s*\{\s*"(\w+)"\s*,\s*"(\w+)"\s*,\s*(true|false)', text):
        (calico if is_calico == "true" else other).add(plural)
    return (calico, other) if calico else None


# The URL formats control/k8s/*.c requests, and what grants each. A new one fails the
# rules check until the chart's RBAC (and this table) know it.
KNOWN_REQUESTS = {
    '"%s/apis"': "ClusterRole: get on the non-resource URL /apis (discovery)",
    '"%s/api/v1/nodes?fieldSelector=metadata.name%%3D%s&%s"': "ClusterRole: list, watch nodes",
    '"%s/api/v1/%s?%s"': "ClusterRole: list, watch the core kinds of kstore.c (every Node; pods, "
                         "namespaces, serviceaccounts with daemon.clusterEndpoints)",
    '"%s/apis/%s/%s?%s"': "ClusterRole: list, watch the Calico kinds of kstore.c",
    '"%s/apis/apps/v1/namespaces/%s/daemonsets?"': "Role: list, watch its DaemonSet (field selector)",
    '"%s/apis/apps/v1/namespaces/%s/daemonsets/%s"': "Role: get its DaemonSet",
    '"%s/api/v1/namespaces/default/events"': "Role -events in default: create events "
                                            "(daemon.lockoutGuard)",
}


def source_requests():
    """The API URL formats in control/k8s/*.c the chart does not know, or None without them."""
    files = sorted(glob.glob("control/k8s/*.c"))
    if not files:
        return None
    found = set()
    for path in files:
        with open(path, encoding="utf-8") as f:
            found |= set(re.findall(r'"%s/api[^"]*"', f.read()))
    return sorted(found - set(KNOWN_REQUESTS))


def http_host_port(addr):
    m = re.fullmatch(r"\[(.*)\]:(\d+)", addr) or re.fullmatch(r"(.*):(\d+)", addr)
    return m.group(1), int(m.group(2))


class Checker:
    def __init__(self):
        self.errors = []

    def expect(self, cond, msg):
        if not cond:
            self.errors.append(msg)
        return cond


def check_rules(rendered, values_path, ns):
    v = chart_values(values_path)
    d = v["daemon"]
    c = Checker()
    docs = load_docs(rendered)
    kinds = {}
    for doc in docs:
        kinds.setdefault(doc["kind"], []).append(doc)
        labels = doc["metadata"].get("labels", {})
        for k in STANDARD_LABELS:
            c.expect(k in labels, f"{doc['kind']} {doc['metadata']['name']}: label {k} missing")

    want = {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "DaemonSet"}
    if v["metrics"]["service"]["enabled"] or v["serviceMonitor"]["enabled"]:
        want.add("Service")
    if v["serviceMonitor"]["enabled"]:
        want.add("ServiceMonitor")
    if not v["serviceAccount"]["create"]:
        want.discard("ServiceAccount")
    c.expect(set(kinds) == want, f"kinds rendered {sorted(kinds)}, expected {sorted(want)}")
    for kind, objs in kinds.items():
        n = 2 if kind in ("Role", "RoleBinding") and d["lockoutGuard"] else 1
        c.expect(len(objs) == n, f"{len(objs)} objects of kind {kind}, expected {n}")
    # the lockout guard's Events: create, in namespace default only
    ev = [x for x in kinds.get("Role", []) if x["metadata"]["name"].endswith("-events")]
    if d["lockoutGuard"] and c.expect(len(ev) == 1, "no Role for the lockout guard's Events"):
        c.expect(ev[0]["metadata"].get("namespace") == "default",
                 f"events Role namespace {ev[0]['metadata'].get('namespace')}, expected default")
        c.expect(ev[0]["rules"] == [{"apiGroups": [""], "resources": ["events"], "verbs": ["create"]}],
                 f"events Role rules {ev[0]['rules']}: create events only")

    # Argo CD sync waves: the identity and RBAC in -1 (or the wave set by hand on the
    # ServiceAccount), everything else in the default wave 0, never before them.
    sa_ann = v["serviceAccount"]["annotations"] or {}
    for doc in docs:
        kind, ann = doc["kind"], doc["metadata"].get("annotations") or {}
        if kind in EARLY_KINDS:
            want_wave = "-1" if v["argocd"]["syncWaves"] else None
            if kind == "ServiceAccount":
                want_wave = sa_ann.get(SYNC_WAVE, want_wave)
                c.expect(all(ann.get(k) == x for k, x in sa_ann.items()),
                         f"ServiceAccount annotations {ann}: serviceAccount.annotations {sa_ann} not all kept")
            c.expect(ann.get(SYNC_WAVE) == want_wave,
                     f"{kind} {SYNC_WAVE} {ann.get(SYNC_WAVE)!r}, expected {want_wave!r}")
        else:
            c.expect(SYNC_WAVE not in ann, f"{kind} has {SYNC_WAVE} {ann.get(SYNC_WAVE)!r}: it belongs in wave 0")

    ds = kinds.get("DaemonSet", [None])[0]
    if not c.expect(ds is not None, "no DaemonSet"):
        return c.errors
    name = ds["metadata"]["name"]
    c.expect(ds["metadata"].get("namespace") == ns, f"DaemonSet namespace {ds['metadata'].get('namespace')}")
    spec = ds["spec"]
    pod = spec["template"]["spec"]
    sel = spec["selector"]["matchLabels"]
    c.expect(set(sel) == {"app.kubernetes.io/name", "app.kubernetes.io/instance"},
             f"selector labels {sorted(sel)}: only name and instance, so they never change")
    podlabels = spec["template"]["metadata"]["labels"]
    c.expect(all(podlabels.get(k) == x for k, x in sel.items()), "pod labels do not match the selector")

    c.expect(pod.get("hostNetwork") is True, "hostNetwork is not true")
    c.expect(pod.get("dnsPolicy") == "ClusterFirstWithHostNet", f"dnsPolicy {pod.get('dnsPolicy')}")
    for k in ("hostPID", "hostIPC"):
        c.expect(not pod.get(k), f"{k} is set")
    c.expect(pod.get("priorityClassName") == (v["priorityClassName"] or None),
             f"priorityClassName {pod.get('priorityClassName')}")
    if values_path == "-":
        c.expect(pod.get("priorityClassName") == "system-node-critical", "default priorityClassName")
        c.expect(pod.get("tolerations") == [{"operator": "Exists"}],
                 f"default tolerations {pod.get('tolerations')}, expected [{{operator: Exists}}]")
    c.expect({"operator": "Exists"} in (pod.get("tolerations") or []), "no toleration of every taint")
    c.expect(pod.get("terminationGracePeriodSeconds") == v["terminationGracePeriodSeconds"],
             f"terminationGracePeriodSeconds {pod.get('terminationGracePeriodSeconds')}")
    us = spec.get("updateStrategy", {})
    c.expect(us.get("type") == "RollingUpdate", f"updateStrategy {us.get('type')}")
    c.expect(us.get("rollingUpdate", {}).get("maxUnavailable") == v["updateStrategy"]["maxUnavailable"],
             f"maxUnavailable {us.get('rollingUpdate', {}).get('maxUnavailable')}")
    c.expect(pod.get("serviceAccountName") == (v["serviceAccount"]["name"] or name),
             f"serviceAccountName {pod.get('serviceAccountName')}")
    c.expect(not pod.get("securityContext", {}).get("privileged"), "pod securityContext privileged")

    ctrs = pod["containers"]
    c.expect(len(ctrs) == 1 and not pod.get("initContainers"), "one container, no init containers")
    ctr = ctrs[0]
    c.expect(ctr.get("command") == v["command"], f"command {ctr.get('command')}")
    img = v["image"]
    want_img = (f"{img['repository']}@{img['digest']}" if img["digest"]
                else f"{img['repository']}:{img['tag'] or app_version()}")
    c.expect(ctr.get("image") == want_img, f"image {ctr.get('image')}, expected {want_img}")
    sc = ctr.get("securityContext", {})
    c.expect(sc.get("privileged") is False, "container privileged is not false")
    c.expect(sc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation is not false")
    c.expect(sc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem is not true")
    c.expect(sc.get("runAsUser") == 0, f"runAsUser {sc.get('runAsUser')}, expected 0 (netfilter)")
    caps = sc.get("capabilities", {})
    c.expect(caps.get("drop") == ["ALL"], f"capabilities drop {caps.get('drop')}, expected [ALL]")
    c.expect(caps.get("add") == ["NET_ADMIN"], f"capabilities add {caps.get('add')}, expected [NET_ADMIN]")

    mounts = {m["name"]: m for m in ctr.get("volumeMounts", [])}
    vols = {x["name"]: x for x in pod.get("volumes", [])}
    lock = [n for n, x in vols.items() if x.get("hostPath", {}).get("path") == "/run/xtables.lock"]
    if c.expect(len(lock) == 1, "no hostPath volume /run/xtables.lock"):
        c.expect(vols[lock[0]]["hostPath"].get("type") == "FileOrCreate", "xtables.lock type is not FileOrCreate")
        c.expect(mounts.get(lock[0], {}).get("mountPath") == "/run/xtables.lock",
                 "/run/xtables.lock is not mounted at /run/xtables.lock")
        c.expect(not mounts.get(lock[0], {}).get("readOnly"), "the xtables lock is mounted read-only")

    env = ctr.get("env", [])
    names = [e["name"] for e in env]
    c.expect(len(names) == len(set(names)), f"an environment variable twice: {names}")
    envd = {e["name"]: e for e in env}
    for e in env:
        c.expect("valueFrom" in e or isinstance(e.get("value"), str), f"env {e['name']}: value is not a string")
    c.expect(envd.get("NODE_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "spec.nodeName",
             "NODE_NAME is not the downward API's spec.nodeName")
    c.expect(envd.get("POD_NAMESPACE", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
             == "metadata.namespace", "POD_NAMESPACE is not the downward API's metadata.namespace")
    c.expect("NFQWALL_NODE" not in envd, "NFQWALL_NODE is set (the daemon reads NODE_NAME)")
    c.expect(envd.get("NFQWALL_DAEMONSET", {}).get("value") == f"{ns}/{name}",
             f"NFQWALL_DAEMONSET {envd.get('NFQWALL_DAEMONSET', {}).get('value')}, expected {ns}/{name}")
    c.expect(("NFQWALL_NO_ALLOW_SELF" in envd) == (d["allowSelf"] is False),
             f"NFQWALL_NO_ALLOW_SELF rendered: {'NFQWALL_NO_ALLOW_SELF' in envd}, allowSelf: {d['allowSelf']}")
    c.expect(envd.get("NFQWALL_NO_CLUSTER_ENDPOINTS", {}).get("value", "1") == "1",
             "NFQWALL_NO_CLUSTER_ENDPOINTS is not \"1\"")
    c.expect(("NFQWALL_NO_CLUSTER_ENDPOINTS" in envd) == (d["clusterEndpoints"] is False),
             f"NFQWALL_NO_CLUSTER_ENDPOINTS rendered: {'NFQWALL_NO_CLUSTER_ENDPOINTS' in envd}, "
             f"clusterEndpoints: {d['clusterEndpoints']}")
    if values_path == "-":
        extra = sorted(n for n in envd if n.startswith("NFQWALL_")
                       and n not in ("NFQWALL_DAEMONSET", "NFQWALL_HTTP_ADDR"))
        c.expect(not extra, f"defaults render {extra}: unset options must render no variable")

    addr = envd.get("NFQWALL_HTTP_ADDR", {}).get("value")
    if c.expect(addr == d["httpAddr"], f"NFQWALL_HTTP_ADDR {addr}, expected {d['httpAddr']}"):
        host, port = http_host_port(addr)
        probe_host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
        if values_path == "-":
            c.expect(probe_host == "127.0.0.1", "default probes not on 127.0.0.1")
        for probe, path in (("startupProbe", "/readyz"), ("livenessProbe", "/livez"),
                            ("readinessProbe", "/readyz")):
            g = ctr.get(probe, {}).get("httpGet")
            if not c.expect(g is not None, f"{probe} is not an httpGet"):
                continue
            c.expect(g.get("host") == probe_host, f"{probe} host {g.get('host')}, expected {probe_host}")
            c.expect(g.get("port") == port, f"{probe} port {g.get('port')}, expected {port}")
            c.expect(g.get("path") == path, f"{probe} path {g.get('path')}, expected {path}")
        c.expect(ctr["startupProbe"].get("failureThreshold", 3) * ctr["startupProbe"].get("periodSeconds", 10) >= 120,
                 "the startupProbe allows less than 2 minutes for the first sync")
        ports = {p["name"]: p for p in ctr.get("ports", [])}
        c.expect(ports.get("metrics", {}).get("containerPort") == port, f"container port metrics is not {port}")

    res = ctr.get("resources", {})
    for k in ("cpu", "memory"):
        c.expect(k in res.get("requests", {}), f"resources.requests.{k} not set")
    c.expect("memory" in res.get("limits", {}), "resources.limits.memory not set")

    # RBAC: exactly what the daemon requests, read only.
    cr = kinds.get("ClusterRole", [None])[0]
    ks = kstore_kinds()
    calico_res, other_res = ks if ks else (CALICO_RESOURCES, {"nodes", "daemonsets"} | CLUSTER_ENDPOINT_RESOURCES)
    known_other = {"nodes", "daemonsets"} | CLUSTER_ENDPOINT_RESOURCES
    c.expect(other_res <= known_other,
             f"{KSTORE} requests {sorted(other_res - known_other)}: the chart grants no such access")
    # the core kinds the ClusterRole must grant (daemonsets: the Role, by name)
    core_res = {"nodes"} | ((other_res & CLUSTER_ENDPOINT_RESOURCES) if d["clusterEndpoints"] else set())
    for fmt in source_requests() or []:
        c.errors.append(f"control/k8s requests {fmt}, which the chart's RBAC does not know: grant it "
                        "(templates/clusterrole.yaml or role.yaml) and add it to KNOWN_REQUESTS")
    if c.expect(cr is not None, "no ClusterRole"):
        pairs, nonres = set(), set()
        for r in cr["rules"]:
            verbs = set(r.get("verbs", []))
            c.expect(verbs <= {"get", "list", "watch"}, f"ClusterRole verbs {sorted(verbs)}: read only")
            c.expect("*" not in r.get("resources", []) + r.get("apiGroups", []), "ClusterRole wildcard")
            c.expect(not r.get("resourceNames"), "ClusterRole resourceNames")
            for u in r.get("nonResourceURLs", []):
                nonres.add((u, tuple(sorted(verbs))))
            for g in r.get("apiGroups", []):
                for res_ in r.get("resources", []):
                    pairs.add((g, res_, tuple(sorted(verbs))))
        lw = ("list", "watch")
        want_pairs = {("", x, lw) for x in core_res} | {(g, x, lw) for g in v["rbac"]["calicoApiGroups"]
                                                         for x in calico_res}
        def fmt(ps):
            return " ".join(f"{g or 'core'}/{x}:{','.join(vs)}" for g, x, vs in sorted(ps)) or "none"
        c.expect(pairs == want_pairs, f"ClusterRole grants more than the daemon requests: {fmt(pairs - want_pairs)}; "
                 f"less: {fmt(want_pairs - pairs)}")
        want_nonres = set() if d["calicoApiGroup"] else {("/apis", ("get",))}
        c.expect(nonres == want_nonres, f"ClusterRole nonResourceURLs {sorted(nonres)}, expected {sorted(want_nonres)}")
    role = kinds.get("Role", [None])[0]
    if c.expect(role is not None, "no Role"):
        c.expect(role["metadata"].get("namespace") == ns, "Role not in the release namespace")
        c.expect(role["rules"] == [{"apiGroups": ["apps"], "resources": ["daemonsets"], "resourceNames": [name],
                                    "verbs": ["get", "list", "watch"]}],
                 f"Role rules {role['rules']}: expected get/list/watch on apps daemonsets [{name}] only")
    sa = v["serviceAccount"]["name"] or name
    for kind, ref in (("ClusterRoleBinding", "ClusterRole"), ("RoleBinding", "Role")):
        b = kinds.get(kind, [None])[0]
        if not c.expect(b is not None, f"no {kind}"):
            continue
        c.expect(b["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": ref, "name": name},
                 f"{kind} roleRef {b['roleRef']}")
        c.expect(b["subjects"] == [{"kind": "ServiceAccount", "name": sa, "namespace": ns}],
                 f"{kind} subjects {b['subjects']}")

    svc = kinds.get("Service", [None])[0]
    if svc is not None:
        c.expect(svc["spec"]["selector"] == sel, "the Service does not select the DaemonSet's pods")
        sp = svc["spec"]["ports"]
        c.expect(len(sp) == 1 and sp[0].get("targetPort") == "metrics", f"Service ports {sp}")
        c.expect((svc["spec"].get("clusterIP") == "None") == v["metrics"]["service"]["headless"], "headless")
        host, _port = http_host_port(d["httpAddr"])
        c.expect(not (host.startswith("127.") or host == "::1"), "a Service over a loopback address")
    sm = kinds.get("ServiceMonitor", [None])[0]
    if sm is not None and svc is not None:
        c.expect(all(svc["metadata"]["labels"].get(k) == x for k, x in sm["spec"]["selector"]["matchLabels"].items()),
                 "the ServiceMonitor does not select the Service")
        c.expect(sm["spec"]["namespaceSelector"] == {"matchNames": [ns]}, "ServiceMonitor namespaceSelector")
        c.expect([e["port"] for e in sm["spec"]["endpoints"]] == [sp[0]["name"]], "ServiceMonitor endpoint port")
    return c.errors


# ---- the README's values table ---------------------------------------------------------

TABLE_BEGIN = "<!-- values table: generated from values.yaml by tests/helm/chart_check.py readme --update -->"
TABLE_END = "<!-- end of values table -->"


def values_table():
    """A markdown table of every `# --` documented key of values.yaml, in file order."""
    with open(f"{CHART}/values.yaml", encoding="utf-8") as f:
        lines = f.read().split("\n")
    with open(f"{CHART}/values.yaml", encoding="utf-8") as f:
        values = yaml.safe_load(f)
    rows, stack, doc = [], [], None
    for line in lines:
        s = line.strip()
        indent = len(line) - len(line.lstrip(" "))
        if s.startswith("# --"):
            doc = [s[4:].strip()]
            continue
        if s.startswith("#") and doc is not None:
            doc.append(s[1:].strip())
            continue
        m = re.match(r"^( *)([A-Za-z0-9_]+):", line)
        if not m:
            continue
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, m.group(2)))
        if doc is None:
            continue
        path = [k for _i, k in stack]
        val = values
        for k in path:
            val = val[k]
        default = json_flow(val)
        rows.append((".".join(path), default, " ".join(doc)))
        doc = None
    documented = {key for key, _d, _t in rows}
    undocumented = []

    def walk(node, path):
        if ".".join(path) in documented:
            return
        if isinstance(node, dict) and node:
            for k, x in node.items():
                walk(x, path + [k])
        else:
            undocumented.append(".".join(path))
    walk(values, [])
    out = [TABLE_BEGIN, "", "| key | default | description |", "|---|---|---|"]
    for key, default, text in rows:
        out.append(f"| `{key}` | `{default}` | {text.replace('|', '&#124;')} |")
    out += ["", TABLE_END]
    return "\n".join(out), undocumented


def json_flow(val):
    return json.dumps(val, separators=(", ", ": ")).replace("|", "&#124;")


def check_readme(update):
    path = f"{CHART}/README.md"
    with open(path, encoding="utf-8") as f:
        text = f.read()
    i, j = text.find(TABLE_BEGIN), text.find(TABLE_END)
    if i < 0 or j < 0:
        return [f"{path}: no values table markers"]
    table, undocumented = values_table()
    errors = [f"{CHART}/values.yaml: {k} has no '# --' description" for k in undocumented]
    new = text[:i] + table + text[j + len(TABLE_END):]
    if new == text:
        return errors
    if update:
        with open(path, "w", encoding="utf-8") as f:
            f.write(new)
        return errors
    return errors + [f"{path}: the values table differs from values.yaml; regenerate it with UPDATE=1 tests/helm/run.sh"]


# ---- every daemon option is a value ---------------------------------------------------

def check_options(help_path, rendered):
    with open(help_path, encoding="utf-8") as f:
        text = f.read()
    opts = set(re.findall(r"\bNFQWALL_[A-Z_]+[A-Z]\b", text))
    opts |= {"NFQWALL_" + o.upper().replace("-", "_") for o in re.findall(r"--(max-[a-z-]+)", text)}
    ds = [d for d in load_docs(rendered) if d["kind"] == "DaemonSet"][0]
    env = {e["name"] for e in ds["spec"]["template"]["spec"]["containers"][0]["env"]}
    errors = []
    for o in sorted(opts):
        if o in NOT_VALUES:
            continue
        if o not in env:
            errors.append(f"{o} (nfqwall run --help) is not rendered from values-all.yaml: add a value for it")
    return errors


# ---- the Argo CD Applications (deploy/argocd/application.yaml) ---------------------------

ARGO_FINALIZER = "resources-finalizer.argocd.argoproj.io"


def check_application(c, app, where):
    """What both Applications must have; returns the source (a dict) or None."""
    c.expect(app.get("apiVersion") == "argoproj.io/v1alpha1", f"{where}: apiVersion {app.get('apiVersion')}")
    c.expect(app.get("kind") == "Application", f"{where}: kind {app.get('kind')}")
    md = app.get("metadata") or {}
    c.expect(re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", str(md.get("name", ""))) is not None,
             f"{where}: metadata.name {md.get('name')!r}")
    c.expect(bool(md.get("namespace")), f"{where}: no metadata.namespace (Argo CD's namespace)")
    c.expect(ARGO_FINALIZER in (md.get("finalizers") or []),
             f"{where}: no finalizer {ARGO_FINALIZER}: deleting the Application would orphan its objects")
    spec = app.get("spec") or {}
    c.expect(bool(spec.get("project")), f"{where}: no spec.project")
    c.expect("sources" not in spec, f"{where}: spec.sources; one spec.source expected")
    dest = spec.get("destination") or {}
    c.expect(bool(dest.get("server") or dest.get("name")), f"{where}: destination has no server or name")
    auto = (spec.get("syncPolicy") or {}).get("automated") or {}
    c.expect(auto.get("prune") is True and auto.get("selfHeal") is True,
             f"{where}: syncPolicy.automated {auto}: prune and selfHeal expected")
    src = spec.get("source")
    if not c.expect(isinstance(src, dict), f"{where}: no spec.source"):
        return None
    for k in ("repoURL", "targetRevision", "path"):
        c.expect(isinstance(src.get(k), str) and src.get(k), f"{where}: source.{k} missing")
    return src


def check_argocd(path, outdir):
    c = Checker()
    try:
        docs = load_docs(path)
    except (OSError, yaml.YAMLError) as e:
        return [f"{path}: {e}"]
    charts, dirs = [], []
    for n, app in enumerate(docs):
        where = f"{path} document {n + 1} ({(app.get('metadata') or {}).get('name')})"
        src = check_application(c, app, where)
        if src is None:
            continue
        if "helm" in src or src.get("path") == CHART:
            charts.append((where, app, src))
        else:
            dirs.append((where, app, src))
    c.expect(len(docs) == 2 and len(charts) == 1 and len(dirs) == 1,
             f"{path}: {len(charts)} chart and {len(dirs)} policy-directory Applications, expected one each")

    for where, app, src in charts:
        spec = app["spec"]
        c.expect(src.get("path") == CHART, f"{where}: source.path {src.get('path')}, expected {CHART}")
        c.expect("chart" not in src, f"{where}: source.chart is for Helm repositories, not a chart in Git")
        helm = src.get("helm") or {}
        vo = helm.get("valuesObject")
        if not c.expect(isinstance(vo, dict), f"{where}: no source.helm.valuesObject"):
            continue
        c.expect(not helm.get("values") and not helm.get("parameters"),
                 f"{where}: values or parameters beside valuesObject; keep the values in one place")
        c.expect((vo.get("daemon") or {}).get("audit") is True,
                 f"{where}: valuesObject.daemon.audit is not true: the first rollout must drop nothing")
        release = helm.get("releaseName") or app["metadata"]["name"]
        c.expect(release == app["metadata"]["name"],
                 f"{where}: helm.releaseName {release} differs from the Application's name: Argo CD's "
                 "tracking label app.kubernetes.io/instance would then fight the chart's")
        ns = (spec.get("destination") or {}).get("namespace")
        c.expect(bool(ns), f"{where}: no destination.namespace")
        opts = (spec.get("syncPolicy") or {}).get("syncOptions") or []
        c.expect("CreateNamespace=true" in opts, f"{where}: syncOptions {opts}: CreateNamespace=true expected")
        if ns:
            with open(f"{outdir}/values.json", "w", encoding="utf-8") as f:
                json.dump(vo, f)    # JSON is YAML that Helm reads without guessing types
            with open(f"{outdir}/release", "w", encoding="utf-8") as f:
                f.write(f"{release} {ns}\n")

    for where, app, src in dirs:
        d = src.get("directory")
        c.expect(isinstance(d, dict), f"{where}: no source.directory (a directory of plain YAML)")
        c.expect(not (set(src) & {"helm", "kustomize", "plugin", "chart"}),
                 f"{where}: the policy Application renders nothing: plain manifests only")
        c.expect(src.get("path") != CHART, f"{where}: the policy Application points at the chart")
    return c.errors


def main(argv):
    if len(argv) == 3 and argv[1] == "json":
        json.dump(load_docs(argv[2]), sys.stdout)
        return 0
    if len(argv) == 5 and argv[1] == "rules":
        errors = check_rules(argv[2], argv[3], argv[4])
    elif len(argv) in (2, 3) and argv[1] == "readme":
        errors = check_readme(argv[2:] == ["--update"])
    elif len(argv) == 4 and argv[1] == "options":
        errors = check_options(argv[2], argv[3])
    elif len(argv) == 4 and argv[1] == "argocd":
        errors = check_argocd(argv[2], argv[3])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for e in errors:
        print(e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
