"""What kube-apiserver v1.32 does to a built-in object before it stores it,
for the test API server (tests/k8s/apiserver.py): defaulting (the v1
SetDefaults_* functions), the default admission plugins that touch Pods
(ServiceAccount, Priority, DefaultTolerationSeconds), the registry
strategies (PrepareForCreate / PrepareForUpdate: status resets, the
DaemonSet's template generation, pod IP conversion) and the validation that
matters to clients (DaemonSet selector and template, Pod spec
immutability).  Each function works on the JSON object in place."""

import copy

from k8s_errors import GoRaw, field_err, forbidden, go_value, invalid_errs

TEMPLATE_GEN = "deprecated.daemonset.template.generation"
DS_STATUS_INTS = ("currentNumberScheduled", "numberMisscheduled",
                  "desiredNumberScheduled", "numberReady")
DS_STATUS_OMITEMPTY = ("observedGeneration", "updatedNumberScheduled",
                       "numberAvailable", "numberUnavailable")

# ------------------------------------------------------------- defaulting


def _pull_policy(image):
    """Always for :latest or no tag (parsers.ParseImageName), else
    IfNotPresent; a digest without a tag has no tag."""
    name, digest = image.split("@", 1)[0], "@" in image
    last = name.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else ("" if digest
                                                     else "latest")
    return "Always" if tag == "latest" else "IfNotPresent"


def _default_probe(p):
    if not isinstance(p, dict):
        return
    for k, v in (("timeoutSeconds", 1), ("periodSeconds", 10),
                 ("successThreshold", 1), ("failureThreshold", 3)):
        p.setdefault(k, v)
    if isinstance(p.get("httpGet"), dict):
        p["httpGet"].setdefault("scheme", "HTTP")


def _default_container(c):
    """SetDefaults_Container and the defaults of its parts."""
    c.setdefault("imagePullPolicy", _pull_policy(c.get("image") or ""))
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    c.setdefault("resources", {})
    for port in c.get("ports") or []:
        port.setdefault("protocol", "TCP")
    for k in ("livenessProbe", "readinessProbe", "startupProbe"):
        _default_probe(c.get(k))
    for e in c.get("env") or []:
        ref = (e.get("valueFrom") or {}).get("fieldRef")
        if isinstance(ref, dict):
            ref.setdefault("apiVersion", "v1")


def _containers(spec):
    return [c for k in ("initContainers", "containers")
            for c in spec.get(k) or [] if isinstance(c, dict)]


def default_pod_spec(spec):
    """SetDefaults_PodSpec (Pods and pod templates alike)."""
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for c in _containers(spec):
        _default_container(c)
    for v in spec.get("volumes") or []:
        if isinstance(v.get("hostPath"), dict):
            v["hostPath"].setdefault("type", "")
        for k in ("configMap", "secret", "projected", "downwardAPI"):
            if isinstance(v.get(k), dict):
                v[k].setdefault("defaultMode", 420)
    if spec.get("serviceAccountName"):      # the v1 conversion's mirror
        spec["serviceAccount"] = spec["serviceAccountName"]
    elif spec.get("serviceAccount"):
        spec["serviceAccountName"] = spec["serviceAccount"]


def default_pod(spec):
    """SetDefaults_Pod: what only a Pod (not a template) gets."""
    default_pod_spec(spec)
    for c in _containers(spec):
        res = c.get("resources") or {}
        if res.get("limits"):
            req = res.setdefault("requests", {})
            for k, v in res["limits"].items():
                req.setdefault(k, v)
        if spec.get("hostNetwork"):
            for port in c.get("ports") or []:
                port.setdefault("hostPort", port.get("containerPort"))
    spec.setdefault("enableServiceLinks", True)


def default_daemonset(ds):
    """SetDefaults_DaemonSet (apps/v1)."""
    spec = ds.setdefault("spec", {})
    us = spec.setdefault("updateStrategy", {})
    us.setdefault("type", "RollingUpdate")
    if us["type"] == "RollingUpdate":
        ru = us.setdefault("rollingUpdate", {})
        ru.setdefault("maxUnavailable", 1)
        ru.setdefault("maxSurge", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    tmpl = spec.setdefault("template", {})
    tmpl.setdefault("metadata", {}).setdefault("creationTimestamp", None)
    default_pod_spec(tmpl.setdefault("spec", {}))


# --------------------------------------------------------------- admission

NOEXEC_TOLERATIONS = ("node.kubernetes.io/not-ready",
                      "node.kubernetes.io/unreachable")


def _admit_tolerations(spec):
    """DefaultTolerationSeconds: 300 s for not-ready and unreachable,
    unless the pod already tolerates them."""
    tols = spec.get("tolerations") or []
    for key in NOEXEC_TOLERATIONS:
        if not any(t.get("key", "") in ("", key) and
                   t.get("effect", "") in ("", "NoExecute") for t in tols):
            tols.append({"key": key, "operator": "Exists",
                         "effect": "NoExecute", "tolerationSeconds": 300})
    spec["tolerations"] = tols


def _admit_service_account(store, res, ns, obj):
    """The ServiceAccount admission plugin: the default account, which must
    exist, and its imagePullSecrets (the projected token volume it also
    mounts is left out)."""
    spec = obj["spec"]
    name = spec.get("serviceAccountName") or "default"
    spec["serviceAccountName"] = spec["serviceAccount"] = name
    sa = store.objects[("", "v1", "serviceaccounts")].get(
        "%s/%s" % (ns, name))
    if sa is None:
        raise forbidden(res, obj["metadata"]["name"], "error looking up "
                        'service account %s/%s: serviceaccount "%s" not '
                        "found" % (ns, name, name))
    if not spec.get("imagePullSecrets") and sa.get("imagePullSecrets"):
        spec["imagePullSecrets"] = copy.deepcopy(sa["imagePullSecrets"])


def _qos(spec):
    """qos.GetPodQOS: BestEffort, Guaranteed or Burstable."""
    any_set, guaranteed = False, True
    for c in _containers(spec):
        r = c.get("resources") or {}
        req, lim = r.get("requests") or {}, r.get("limits") or {}
        if any(k in req or k in lim for k in ("cpu", "memory")):
            any_set = True
        if not all(k in lim and req.get(k, lim[k]) == lim[k]
                   for k in ("cpu", "memory")):
            guaranteed = False
    return "Guaranteed" if any_set and guaranteed else \
        "Burstable" if any_set else "BestEffort"


# --------------------------------------------------------------- validation

def _check_pod_spec(spec, path):
    errs = []
    cs = spec.get("containers") or []
    if not cs:
        errs.append(field_err("Required", path + ".containers"))
    for i, c in enumerate(cs):
        for k in ("name", "image"):
            if not (c or {}).get(k):
                errs.append(field_err("Required", "%s.containers[%d].%s" % (
                    path, i, k)))
    return errs


def _selector_matches(sel, labels):
    if not sel or not (sel.get("matchLabels") or
                       sel.get("matchExpressions")):
        return False
    labels = labels or {}
    if any(labels.get(k) != v for k, v in
           (sel.get("matchLabels") or {}).items()):
        return False
    for e in sel.get("matchExpressions") or []:
        k, op, vals = e.get("key"), e.get("operator"), e.get("values") or []
        ok = {"In": k in labels and labels[k] in vals,
              "NotIn": k not in labels or labels[k] not in vals,
              "Exists": k in labels,
              "DoesNotExist": k not in labels}.get(op, False)
        if not ok:
            return False
    return True


def _go_selector(sel):
    """A LabelSelector as %#v prints it in a field error."""
    ml = sel.get("matchLabels")
    exprs = [GoRaw('v1.LabelSelectorRequirement{Key:%s, Operator:%s, '
                   'Values:[]string{%s}}' % (
                       go_value(e.get("key", "")),
                       go_value(e.get("operator", "")),
                       ", ".join(go_value(x) for x in e.get("values") or [])))
             for e in sel.get("matchExpressions") or []]
    return GoRaw("v1.LabelSelector{MatchLabels:%s, MatchExpressions:%s}" % (
        go_value(ml) if ml else "map[string]string(nil)",
        "[]v1.LabelSelectorRequirement{%s}" % ", ".join(exprs) if exprs
        else "[]v1.LabelSelectorRequirement(nil)"))


def _check_daemonset(ds, old=None):
    spec = ds.get("spec") or {}
    sel, tmpl = spec.get("selector"), spec.get("template") or {}
    errs = []
    if sel is None:
        errs.append(field_err("Required", "spec.selector"))
    elif not (sel.get("matchLabels") or sel.get("matchExpressions")):
        errs.append(field_err("Invalid", "spec.selector", "empty selector "
                              "is invalid for daemonset", _go_selector(sel)))
    labels = (tmpl.get("metadata") or {}).get("labels")
    if not _selector_matches(sel, labels):
        errs.append(field_err("Invalid", "spec.template.metadata.labels",
                              "`selector` does not match template `labels`",
                              labels or {}))
    pod = tmpl.get("spec") or {}
    errs += _check_pod_spec(pod, "spec.template.spec")
    if pod.get("restartPolicy") != "Always":
        errs.append(field_err("NotSupported", "spec.template.spec."
                              "restartPolicy", ["Always"],
                              pod.get("restartPolicy")))
    if old is not None and (old.get("spec") or {}).get("selector") != sel:
        errs.append(field_err("Invalid", "spec.selector", "field is "
                              "immutable", _go_selector(sel or {})))
    return errs


POD_UPDATE_MSG = (
    "pod updates may not change fields other than `spec.containers[*]."
    "image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
    "`spec.tolerations` (only additions to existing tolerations),`spec."
    "terminationGracePeriodSeconds` (allow it to be set to 1 if it was "
    "previously negative)")


def _mutable_masked(spec):
    """The pod spec without what an update may change."""
    s = copy.deepcopy(spec or {})
    for k in ("activeDeadlineSeconds", "tolerations",
              "terminationGracePeriodSeconds", "schedulingGates"):
        s.pop(k, None)
    for c in _containers(s):
        c.pop("image", None)
    return s


# -------------------------------------------------------------- strategies

def sync_pod_ips(st):
    """The v1 <-> internal conversion of PodStatus: podIP is podIPs[0]
    (podIP wins when both are given and differ); likewise hostIP."""
    if not isinstance(st, dict):
        return
    for one, many in (("podIP", "podIPs"), ("hostIP", "hostIPs")):
        ips = st.get(many) or []
        if st.get(one) and (not ips or ips[0].get("ip") != st[one]):
            ips = [{"ip": st[one]}]
        st.pop(one, None)
        st.pop(many, None)
        if ips:
            st[one], st[many] = ips[0].get("ip", ""), ips


def _ds_status(st):
    st = dict(st or {})
    for k in DS_STATUS_INTS:
        st.setdefault(k, 0)
    for k in DS_STATUS_OMITEMPTY:
        if not st.get(k):
            st.pop(k, None)
    return st


def _create_pod(store, res, ns, obj):
    spec = obj.setdefault("spec", {})
    default_pod(spec)
    errs = _check_pod_spec(spec, "spec")
    if errs:
        raise invalid_errs(res, obj["metadata"]["name"], errs)
    _admit_service_account(store, res, ns, obj)
    spec.setdefault("priority", 0)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    _admit_tolerations(spec)
    obj["status"] = {"phase": "Pending", "qosClass": _qos(spec)}


def _create_daemonset(store, res, ns, obj):
    default_daemonset(obj)
    err = invalid_errs(res, obj["metadata"]["name"], _check_daemonset(obj))
    if err:
        raise err
    obj["metadata"].setdefault("annotations", {})[TEMPLATE_GEN] = "1"
    obj["status"] = _ds_status({})


def _create_namespace(store, res, ns, obj):
    md = obj["metadata"]
    md.setdefault("labels", {})["kubernetes.io/metadata.name"] = md["name"]
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    obj["status"] = {"phase": "Active"}


CREATE = {"Pod": _create_pod, "DaemonSet": _create_daemonset,
          "Namespace": _create_namespace}


def prepare_create(store, res, ns, obj):
    """Defaulting, admission, PrepareForCreate and validation of a new
    built-in object (store lock held)."""
    fn = CREATE.get(res.kind) if res.builtin else None
    if fn:
        fn(store, res, ns, obj)


def _update_pod(res, old, new, sub):
    if sub == "status":
        sync_pod_ips(new.get("status"))
        return
    default_pod(new.setdefault("spec", {}))
    if _mutable_masked(new["spec"]) != _mutable_masked(old.get("spec")):
        raise invalid_errs(res, new["metadata"]["name"], [
            field_err("Forbidden", "spec", POD_UPDATE_MSG)])


def _update_daemonset(res, old, new, sub):
    ann = (old["metadata"].get("annotations") or {}).get(TEMPLATE_GEN, "1")
    if sub == "status":
        new["status"] = _ds_status(new.get("status"))
        return
    default_daemonset(new)
    err = invalid_errs(res, new["metadata"]["name"],
                       _check_daemonset(new, old))
    if err:
        raise err
    if (new.get("spec") or {}).get("template") != \
            (old.get("spec") or {}).get("template"):
        ann = str(int(ann) + 1)
    new["metadata"].setdefault("annotations", {})[TEMPLATE_GEN] = ann


UPDATE = {"Pod": _update_pod, "DaemonSet": _update_daemonset}


def prepare_update(res, old, new, subresource):
    """Defaulting, PrepareForUpdate and update validation (store lock
    held; status and server-owned metadata are already settled)."""
    fn = UPDATE.get(res.kind) if res.builtin else None
    if fn:
        fn(res, old, new, subresource)


# What a watch BOOKMARK carries for a typed kind: an empty object, with the
# fields Go serializes even when empty.
EMPTY = {
    "Pod": {"spec": {"containers": None}, "status": {}},
    "DaemonSet": {"spec": {"selector": None, "template": {
        "metadata": {"creationTimestamp": None},
        "spec": {"containers": None}}, "updateStrategy": {}},
        "status": dict.fromkeys(DS_STATUS_INTS, 0)},
    "ServiceAccount": {},
}


def empty_object(res):
    return copy.deepcopy(EMPTY.get(res.kind, {"spec": {}, "status": {}}))
