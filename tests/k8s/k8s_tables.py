"""Server-side Tables (meta.k8s.io/v1 and v1beta1) for the test API server
(tests/k8s/apiserver.py): the columns and cells kube-apiserver's printers
(pkg/printers/internalversion) produce for Node, Namespace, Pod, DaemonSet
and ServiceAccount, and the Age column a CRD without
additionalPrinterColumns gets.  Like the real server, rows carry the wide
(priority 1) cells too; kubectl shows them only with -o wide."""

import time

# ------------------------------------------------------------- formatting


def human_duration(seconds):
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return "%ds" % s
    m = s // 60
    if m < 10:
        return "%dm%ds" % (m, s % 60) if s % 60 else "%dm" % m
    if m < 180:
        return "%dm" % m
    h = s // 3600
    if h < 8:
        return "%dh%dm" % (h, m % 60) if m % 60 else "%dh" % h
    if h < 48:
        return "%dh" % h
    if h < 24 * 8:
        return "%dd%dh" % (h // 24, h % 24) if h % 24 else "%dd" % (h // 24)
    if h < 24 * 365 * 2:
        return "%dd" % (h // 24)
    if h < 24 * 365 * 8:
        y = h // (24 * 365)
        d = (h // 24) % 365
        return "%dy%dd" % (y, d) if d else "%dy" % y
    return "%dy" % (h // (24 * 365))


def parse_ts(ts):
    try:
        return time.mktime(time.strptime(ts, "%Y-%m-%dT%H:%M:%SZ")) - \
            time.timezone
    except (TypeError, ValueError):
        return None


def since(ts):
    """translateTimestampSince."""
    t = parse_ts(ts)
    return "<unknown>" if t is None else human_duration(time.time() - t)


def _age(obj):
    return since(obj.get("metadata", {}).get("creationTimestamp"))


def format_labels(m):
    """labels.FormatLabels: sorted k=v pairs, or <none>."""
    return ",".join("%s=%s" % kv for kv in sorted((m or {}).items())) \
        or "<none>"


def format_selector(sel):
    """metav1.FormatLabelSelector."""
    if sel is None:
        return "<none>"
    reqs = [(k, "%s=%s" % (k, v))
            for k, v in (sel.get("matchLabels") or {}).items()]
    for e in sel.get("matchExpressions") or []:
        k, op, vals = e.get("key", ""), e.get("operator"), \
            ",".join(sorted(e.get("values") or []))
        reqs.append((k, {"In": "%s in (%s)" % (k, vals),
                         "NotIn": "%s notin (%s)" % (k, vals),
                         "Exists": k, "DoesNotExist": "!" + k}.get(op, k)))
    return ",".join(s for _, s in sorted(reqs)) or "<none>"


# ---------------------------------------------------------------- columns

def _col(name, desc, kind="string", priority=0, fmt=""):
    return {"name": name, "type": kind, "format": fmt, "description": desc,
            "priority": priority}


NAME_COL = _col("Name", "Name must be unique within a namespace. Is required "
                "when creating resources, although some resources may allow "
                "a client to request the generation of an appropriate name "
                "automatically. Name is primarily intended for creation "
                "idempotence and configuration definition. Cannot be "
                "updated. More info: https://kubernetes.io/docs/concepts/"
                "overview/working-with-objects/names#names", fmt="name")
AGE_COL = _col("Age", "CreationTimestamp is a timestamp ...")

COLUMNS = {
    "Node": [NAME_COL, _col("Status", "The status of the node"),
             _col("Roles", "The roles of the node"), AGE_COL,
             _col("Version", "Kubelet Version reported by the node.")],
    "Namespace": [NAME_COL, _col("Status", "The status of the namespace"),
                  AGE_COL],
    "Pod": [NAME_COL,
            _col("Ready", "The aggregate readiness state of this pod for "
                 "accepting traffic."),
            _col("Status", "The aggregate status of the containers in this "
                 "pod."),
            _col("Restarts", "The number of times the containers in this pod"
                 " have been restarted and when the last container in this "
                 "pod has restarted."),
            AGE_COL,
            _col("IP", "podIP address allocated to the pod.", priority=1),
            _col("Node", "NodeName indicates in which node this pod is "
                 "scheduled.", priority=1),
            _col("Nominated Node", "nominatedNodeName is set only when this "
                 "pod preempts other pods on the node.", priority=1),
            _col("Readiness Gates", "If specified, all readiness gates will "
                 "be evaluated for pod readiness.", priority=1)],
    "DaemonSet": [NAME_COL,
                  _col("Desired", "The total number of nodes that should be "
                       "running the daemon pod.", "integer"),
                  _col("Current", "The number of nodes that are running at "
                       "least 1 daemon pod.", "integer"),
                  _col("Ready", "numberReady is the number of nodes that "
                       "should be running the daemon pod and have one or "
                       "more of the daemon pod running with a Ready "
                       "Condition.", "integer"),
                  _col("Up-to-date", "The total number of nodes that are "
                       "running updated daemon pod", "integer"),
                  _col("Available", "The number of nodes that should be "
                       "running the daemon pod and have one or more of the "
                       "daemon pod running and available.", "integer"),
                  _col("Node Selector", "NodeSelector is a selector which "
                       "must be true for the pod to fit on a node."),
                  AGE_COL,
                  _col("Containers", "Names of each container in the "
                       "template.", priority=1),
                  _col("Images", "Images referenced by each container in the"
                       " template.", priority=1),
                  _col("Selector", "A label query over pods that are managed "
                       "by the daemon set.", priority=1)],
    "ServiceAccount": [NAME_COL,
                       _col("Secrets", "Secrets is a list of the secrets in "
                            "the same namespace that pods running using this "
                            "ServiceAccount are allowed to use."), AGE_COL],
}
# A CRD without additionalPrinterColumns gets a defaulted Age column.
CR_COLUMNS = [NAME_COL, _col("Age", "Custom resource definition column (in "
                             "JSONPath format): .metadata.creationTimestamp",
                             "date")]


def table_columns(r):
    return COLUMNS.get(r.kind, CR_COLUMNS) if r.builtin else CR_COLUMNS


# ------------------------------------------------------------------ cells

def _node_cells(obj):
    md, st = obj.get("metadata", {}), obj.get("status") or {}
    ready = "Unknown"
    for c in st.get("conditions") or []:
        if c.get("type") == "Ready":
            ready = "Ready" if c.get("status") == "True" else "NotReady"
    if (obj.get("spec") or {}).get("unschedulable"):
        ready += ",SchedulingDisabled"
    roles = sorted(k.split("/", 1)[1] for k in (md.get("labels") or {})
                   if k.startswith("node-role.kubernetes.io/"))
    return [md.get("name"), ready, ",".join(roles) or "<none>", _age(obj),
            (st.get("nodeInfo") or {}).get("kubeletVersion", "")]


def _container_reason(cs, reason):
    """One container status's say in the pod's Status column: (reason,
    counts as ready and running)."""
    state = cs.get("state") or {}
    waiting, term = state.get("waiting"), state.get("terminated")
    if waiting and waiting.get("reason"):
        return waiting["reason"], False
    if term is not None:
        if term.get("reason"):
            return term["reason"], False
        if term.get("signal"):
            return "Signal:%d" % term["signal"], False
        return "ExitCode:%d" % term.get("exitCode", 0), False
    return reason, bool(cs.get("ready") and state.get("running") is not None)


def _pod_status(obj):
    """printPod's READY, STATUS and RESTARTS (init containers aside)."""
    st, md = obj.get("status") or {}, obj.get("metadata", {})
    phase = st.get("phase", "")
    reason, ready, restarts, last = st.get("reason") or phase, 0, 0, None
    running = False
    for cs in reversed(st.get("containerStatuses") or []):
        restarts += int(cs.get("restartCount", 0))
        fin = ((cs.get("lastState") or {}).get("terminated") or {}).get(
            "finishedAt")
        if fin and (last is None or fin > last):
            last = fin
        reason, ok = _container_reason(cs, reason)
        ready, running = ready + ok, running or ok
    if reason == "Completed" and running:
        reason = "Running" if any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in st.get("conditions") or []) else "NotReady"
    if md.get("deletionTimestamp"):
        if st.get("reason") == "NodeLost":
            reason = "Unknown"
        elif phase not in ("Succeeded", "Failed"):
            reason = "Terminating"
    rs = str(restarts)
    if restarts and last:
        rs = "%d (%s ago)" % (restarts, since(last))
    total = len((obj.get("spec") or {}).get("containers") or [])
    return "%d/%d" % (ready, total), reason, rs


def _gates(obj):
    gates = (obj.get("spec") or {}).get("readinessGates") or []
    if not gates:
        return "<none>"
    conds = {c.get("type"): c.get("status") for c in
             (obj.get("status") or {}).get("conditions") or []}
    n = sum(1 for g in gates if conds.get(g.get("conditionType")) == "True")
    return "%d/%d" % (n, len(gates))


def _pod_cells(obj):
    st, spec = obj.get("status") or {}, obj.get("spec") or {}
    ready, reason, restarts = _pod_status(obj)
    ips = st.get("podIPs") or []
    return [obj["metadata"].get("name"), ready, reason, restarts, _age(obj),
            (ips[0].get("ip") if ips else "") or "<none>",
            spec.get("nodeName") or "<none>",
            st.get("nominatedNodeName") or "<none>", _gates(obj)]


def _ds_cells(obj):
    st = obj.get("status") or {}
    spec = obj.get("spec") or {}
    pod = ((spec.get("template") or {}).get("spec")) or {}
    cs = pod.get("containers") or []
    return [obj["metadata"].get("name")] + [
        int(st.get(k, 0)) for k in (
            "desiredNumberScheduled", "currentNumberScheduled",
            "numberReady", "updatedNumberScheduled", "numberAvailable")] + [
        format_labels(pod.get("nodeSelector")), _age(obj),
        ",".join(c.get("name", "") for c in cs),
        ",".join(c.get("image", "") for c in cs),
        format_selector(spec.get("selector"))]


CELLS = {
    "Node": _node_cells,
    "Namespace": lambda o: [o["metadata"].get("name"), (o.get("status") or {})
                            .get("phase", ""), _age(o)],
    "Pod": _pod_cells,
    "DaemonSet": _ds_cells,
    "ServiceAccount": lambda o: [o["metadata"].get("name"),
                                 len(o.get("secrets") or []), _age(o)],
}
POD_ROW_CONDITIONS = {
    "Succeeded": [{"type": "Completed", "status": "True", "reason":
                   "Succeeded", "message": "The pod has completed "
                   "successfully."}],
    "Failed": [{"type": "Completed", "status": "True", "reason": "Failed",
                "message": "The pod failed."}],
}


def table_cells(r, obj):
    fn = CELLS.get(r.kind) if r.builtin else None
    return fn(obj) if fn else [obj.get("metadata", {}).get("name"),
                               _age(obj)]


def partial_metadata(obj, api_version="meta.k8s.io/v1"):
    return {"kind": "PartialObjectMetadata", "apiVersion": api_version,
            "metadata": obj.get("metadata", {})}


def _row(r, o, include):
    row = {"cells": table_cells(r, o)}
    if r.kind == "Pod" and r.builtin:
        conds = POD_ROW_CONDITIONS.get((o.get("status") or {}).get("phase"))
        if conds:
            row["conditions"] = conds
    if include == "Object":
        row["object"] = o
    elif include != "None":
        row["object"] = partial_metadata(o)
    return row


def to_table(r, objs, list_meta, table_version="v1", include="Metadata",
             with_columns=True):
    return {"kind": "Table", "apiVersion": "meta.k8s.io/" + table_version,
            "metadata": list_meta,
            "columnDefinitions": table_columns(r) if with_columns else None,
            "rows": [_row(r, o, include) for o in objs]}
