"""Resource catalogue, discovery documents, OpenAPI v3 documents and server-side
Table conversion for the nfqwall test API server (tests/k8s/apiserver.py).

Everything here mirrors what a kube-apiserver v1.32 sends for the same
resources: legacy discovery (APIVersions, APIGroupList, APIGroup,
APIResourceList), aggregated discovery (apidiscovery.k8s.io/v2 and v2beta1),
an OpenAPI v3 index plus one document per group-version, and meta.k8s.io
Tables (the columns a CRD without additionalPrinterColumns gets, and the
built-in printers' columns for Node and Namespace).
"""

import hashlib
import json
import time

VERBS = ["delete", "deletecollection", "get", "list", "patch", "create",
         "update", "watch"]


class Res:
    """One served resource (a group/version/plural)."""

    def __init__(self, group, version, plural, kind, namespaced,
                 short_names=(), status=False, categories=(),
                 field_labels=()):
        self.group = group
        self.version = version
        self.plural = plural
        self.kind = kind
        self.singular = kind.lower()
        self.namespaced = namespaced
        self.short_names = list(short_names)
        self.status = status            # has a /status subresource
        self.categories = list(categories)
        self.core = group == ""
        self.field_labels = {"metadata.name", "metadata.namespace"} | \
            set(field_labels)

    @property
    def gv(self):
        return self.version if self.core else self.group + "/" + self.version

    @property
    def key(self):
        return (self.group, self.version, self.plural)

    @property
    def qualified(self):
        """What error messages call it: nodes, globalnetworkpolicies.crd.projectcalico.org."""
        return self.plural if self.core else self.plural + "." + self.group

    @property
    def kind_qualified(self):
        return self.kind if self.core else self.kind + "." + self.group

    @property
    def list_kind(self):
        return self.kind + "List"

    @property
    def is_cr(self):
        """Custom resources: list items carry kind/apiVersion, generation is
        kept, unconditional update is refused, strategic merge is refused."""
        return not self.core

    def storage_version_hash(self):
        h = hashlib.sha256(("%s/%s/%s" % self.key).encode()).digest()
        import base64
        return base64.b64encode(h[:8]).decode()


CALICO_KINDS = [
    # plural, Kind, namespaced
    ("globalnetworkpolicies", "GlobalNetworkPolicy", False),
    ("stagedglobalnetworkpolicies", "StagedGlobalNetworkPolicy", False),
    ("hostendpoints", "HostEndpoint", False),
    ("globalnetworksets", "GlobalNetworkSet", False),
    ("networksets", "NetworkSet", True),
    ("tiers", "Tier", False),
    ("felixconfigurations", "FelixConfiguration", False),
]

CALICO_GROUPS = {"v1": ("crd.projectcalico.org", "v1"),
                 "v3": ("projectcalico.org", "v3")}


def build_catalogue(groups):
    """groups: iterable of "v1"/"v3". Returns the list of Res, core first."""
    out = [
        Res("", "v1", "namespaces", "Namespace", False, ["ns"], status=True,
            field_labels=["status.phase"]),
        Res("", "v1", "nodes", "Node", False, ["no"], status=True,
            field_labels=["spec.unschedulable"]),
    ]
    for g in groups:
        group, version = CALICO_GROUPS[g]
        for plural, kind, ns in CALICO_KINDS:
            out.append(Res(group, version, plural, kind, ns))
    return out


def group_order(cat):
    """Group names in discovery order (kubectl resolves ambiguity by it)."""
    seen = []
    for r in cat:
        if not r.core and r.group not in seen:
            seen.append(r.group)
    return seen


# ---------------------------------------------------------------- discovery

def api_versions(server_address):
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def _group_entry(cat, group):
    versions = []
    for r in cat:
        if r.group == group and r.version not in versions:
            versions.append(r.version)
    gvs = [{"groupVersion": group + "/" + v, "version": v} for v in versions]
    return {"name": group, "versions": gvs, "preferredVersion": gvs[0]}


def api_group_list(cat):
    return {"kind": "APIGroupList", "apiVersion": "v1",
            "groups": [_group_entry(cat, g) for g in group_order(cat)]}


def api_group(cat, group):
    if group not in group_order(cat):
        return None
    d = _group_entry(cat, group)
    d.update({"kind": "APIGroup", "apiVersion": "v1"})
    return d


def api_resource_list(cat, group, version):
    res = [r for r in cat if r.group == group and r.version == version]
    if not res:
        return None
    out = []
    for r in res:
        e = {"name": r.plural, "singularName": r.singular,
             "namespaced": r.namespaced, "kind": r.kind, "verbs": VERBS,
             "storageVersionHash": r.storage_version_hash()}
        if r.short_names:
            e["shortNames"] = r.short_names
        if r.categories:
            e["categories"] = r.categories
        out.append(e)
        if r.status:
            out.append({"name": r.plural + "/status", "singularName": "",
                        "namespaced": r.namespaced, "kind": r.kind,
                        "verbs": ["get", "patch", "update"]})
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": res[0].gv, "resources": out}


def _agg_resource(r):
    e = {"resource": r.plural,
         "responseKind": {"group": r.group, "version": r.version,
                          "kind": r.kind},
         "scope": "Namespaced" if r.namespaced else "Cluster",
         "singularResource": r.singular, "verbs": VERBS}
    if r.short_names:
        e["shortNames"] = r.short_names
    if r.categories:
        e["categories"] = r.categories
    if r.status:
        e["subresources"] = [{"subresource": "status",
                              "responseKind": {"group": r.group,
                                               "version": r.version,
                                               "kind": r.kind},
                              "verbs": ["get", "patch", "update"]}]
    return e


def aggregated(cat, core, agg_version):
    """APIGroupDiscoveryList for /api (core=True) or /apis."""
    groups = [""] if core else group_order(cat)
    items = []
    for g in groups:
        versions = []
        for r in cat:
            if r.group != g:
                continue
            for v in versions:
                if v["version"] == r.version:
                    break
            else:
                v = {"version": r.version, "resources": [],
                     "freshness": "Current"}
                versions.append(v)
            v["resources"].append(_agg_resource(r))
        items.append({"metadata": {"name": g, "creationTimestamp": None},
                      "versions": versions})
    return {"kind": "APIGroupDiscoveryList",
            "apiVersion": "apidiscovery.k8s.io/" + agg_version,
            "metadata": {}, "items": items}


def version_info(git_version):
    parts = git_version.lstrip("v").split(".")
    return {"major": parts[0], "minor": parts[1] if len(parts) > 1 else "0",
            "emulationMajor": parts[0],
            "emulationMinor": parts[1] if len(parts) > 1 else "0",
            "minCompatibilityMajor": parts[0],
            "minCompatibilityMinor": str(max(0, int(parts[1]) - 1))
            if len(parts) > 1 and parts[1].isdigit() else "0",
            "gitVersion": git_version,
            "gitCommit": "0" * 40, "gitTreeState": "clean",
            "buildDate": "2025-04-22T16:00:00Z", "goVersion": "go1.23.8",
            "compiler": "gc", "platform": "linux/amd64"}


# ------------------------------------------------------------------ OpenAPI

def _gv_path(group, version):
    return "api/" + version if group == "" else "apis/%s/%s" % (group, version)


def _schema_name(r):
    if r.core:
        return "io.k8s.api.core.v1." + r.kind
    rev = ".".join(reversed(r.group.split(".")))
    return "%s.%s.%s" % (rev, r.version, r.kind)


def _param(name, desc="", kind="string"):
    return {"name": name, "in": "query", "description": desc,
            "schema": {"type": kind, "uniqueItems": True}}


WRITE_PARAMS = ["dryRun", "fieldManager", "fieldValidation"]

_STR = {"type": "string", "default": ""}
_STRMAP = {"type": "object", "additionalProperties": _STR}
_STRSET = {"type": "array", "items": _STR, "x-kubernetes-list-type": "set"}


def _keyed(key, props):
    return {"type": "array", "items": {"type": "object", "properties": props,
                                       "required": [key]},
            "x-kubernetes-patch-merge-key": key,
            "x-kubernetes-patch-strategy": "merge",
            "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys":
            [key]}


META_SCHEMAS = {
    "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": {
        "type": "object", "properties": {
            "name": {"type": "string"}, "generateName": {"type": "string"},
            "namespace": {"type": "string"}, "uid": {"type": "string"},
            "resourceVersion": {"type": "string"},
            "generation": {"type": "integer", "format": "int64"},
            "creationTimestamp": {"type": "string", "format": "date-time"},
            "deletionTimestamp": {"type": "string", "format": "date-time"},
            "deletionGracePeriodSeconds": {"type": "integer"},
            "labels": _STRMAP, "annotations": _STRMAP,
            "finalizers": dict(_STRSET, **{
                "x-kubernetes-patch-strategy": "merge"}),
            "ownerReferences": _keyed("uid", {
                "apiVersion": _STR, "kind": _STR, "name": _STR,
                "uid": _STR, "controller": {"type": "boolean"},
                "blockOwnerDeletion": {"type": "boolean"}}),
            "managedFields": {"type": "array", "items": {
                "type": "object", "x-kubernetes-preserve-unknown-fields":
                True}},
            "selfLink": {"type": "string"}}},
}
_QTY = {"type": "object", "additionalProperties": {"type": "string"}}
CORE_SPECS = {
    "Node": {"type": "object", "properties": {
        "podCIDR": _STR, "podCIDRs": dict(_STRSET, **{
            "x-kubernetes-patch-strategy": "merge"}),
        "providerID": _STR, "unschedulable": {"type": "boolean"},
        "taints": {"type": "array", "items": {"type": "object", "properties": {
            "key": _STR, "value": _STR, "effect": _STR,
            "timeAdded": {"type": "string", "format": "date-time"}}},
            "x-kubernetes-list-type": "atomic"},
        "externalID": _STR}},
    "Namespace": {"type": "object", "properties": {
        "finalizers": {"type": "array", "items": _STR,
                       "x-kubernetes-list-type": "atomic"}}},
}
CORE_STATUS = {
    "Node": {"type": "object", "properties": {
        "addresses": _keyed("type", {"type": _STR, "address": _STR}),
        "conditions": _keyed("type", {
            "type": _STR, "status": _STR, "reason": _STR, "message": _STR,
            "lastHeartbeatTime": {"type": "string", "format": "date-time"},
            "lastTransitionTime": {"type": "string", "format": "date-time"}}),
        "capacity": _QTY, "allocatable": _QTY, "phase": _STR,
        "nodeInfo": {"type": "object", "additionalProperties": _STR},
        "daemonEndpoints": {"type": "object",
                            "x-kubernetes-preserve-unknown-fields": True},
        "images": {"type": "array", "items": {
            "type": "object", "x-kubernetes-preserve-unknown-fields": True}},
        "volumesInUse": _STRSET, "volumesAttached": {"type": "array"}}},
    "Namespace": {"type": "object", "properties": {
        "phase": _STR, "conditions": _keyed("type", {
            "type": _STR, "status": _STR, "reason": _STR,
            "message": _STR})}},
}


def openapi_gv(cat, group, version):
    """An OpenAPI 3.0 document for one group-version.  Minimal but correct in
    the parts kubectl reads: operations carry x-kubernetes-group-version-kind
    and the fieldValidation query parameter (so kubectl validates on the
    server), PATCH lists the patch media types the server accepts (CRs: no
    strategic merge), and each kind has a schema.  The custom resources'
    spec schemas preserve unknown fields (the real Calico CRD schemas are not
    vendored here)."""
    res = [r for r in cat if r.group == group and r.version == version]
    if not res:
        return None
    paths, schemas = {}, {}
    meta_ref = {"$ref": "#/components/schemas/"
                "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
    schemas.update(META_SCHEMAS)
    for r in res:
        gvk = {"group": r.group, "version": r.version, "kind": r.kind}
        sname = _schema_name(r)
        ref = {"$ref": "#/components/schemas/" + sname}
        schemas[sname] = {
            "type": "object",
            "properties": {"apiVersion": {"type": "string"},
                           "kind": {"type": "string"},
                           "metadata": {"allOf": [meta_ref], "default": {}},
                           "spec": CORE_SPECS.get(r.kind, {
                               "type": "object",
                               "x-kubernetes-preserve-unknown-fields": True}),
                           "status": CORE_STATUS.get(r.kind, {
                               "type": "object",
                               "x-kubernetes-preserve-unknown-fields": True})},
            "x-kubernetes-group-version-kind": [gvk]}
        schemas[sname + "List"] = {
            "type": "object", "required": ["items"],
            "properties": {"apiVersion": {"type": "string"},
                           "kind": {"type": "string"},
                           "items": {"type": "array", "items": ref},
                           "metadata": {"type": "object"}},
            "x-kubernetes-group-version-kind": [
                dict(gvk, kind=r.kind + "List")]}
        body = {"content": {"application/json": {"schema": ref}}}
        resp = {"200": {"description": "OK",
                        "content": {"application/json": {"schema": ref}}}}
        patch_types = ["application/json-patch+json",
                       "application/merge-patch+json",
                       "application/apply-patch+yaml"]
        if r.core:
            patch_types.insert(2, "application/strategic-merge-patch+json")

        def op(action, params, with_body=None, responses=resp):
            o = {"operationId": "%s%s" % (action, r.kind),
                 "parameters": [_param(p) for p in params],
                 "responses": responses,
                 "x-kubernetes-action": action,
                 "x-kubernetes-group-version-kind": gvk}
            if with_body:
                o["requestBody"] = with_body
            return o
        base = "/" + _gv_path(group, version)
        prefixes = [base + "/" + r.plural]
        if r.namespaced:
            prefixes = [base + "/namespaces/{namespace}/" + r.plural]
            paths[base + "/" + r.plural] = {"get": op("list", [
                "fieldSelector", "labelSelector", "limit", "continue",
                "resourceVersion", "resourceVersionMatch", "watch",
                "allowWatchBookmarks", "timeoutSeconds"])}
        coll, item = prefixes[0], prefixes[0] + "/{name}"
        paths[coll] = {
            "get": op("list", ["fieldSelector", "labelSelector", "limit",
                               "continue", "resourceVersion",
                               "resourceVersionMatch", "watch",
                               "allowWatchBookmarks", "timeoutSeconds",
                               "sendInitialEvents"]),
            "post": op("post", WRITE_PARAMS, body),
            "delete": op("deletecollection", ["fieldSelector",
                                              "labelSelector", "dryRun"])}
        paths[item] = {
            "get": op("get", []),
            "put": op("put", WRITE_PARAMS, body),
            "patch": op("patch", WRITE_PARAMS + ["force"], {
                "content": {t: {"schema": {"type": "object"}}
                            for t in patch_types}}),
            "delete": op("delete", ["dryRun", "gracePeriodSeconds",
                                    "propagationPolicy"])}
    return {"openapi": "3.0.0",
            "info": {"title": "Kubernetes" if group == "" else
                     "Kubernetes CRD Swagger", "version": "v0.1.0"},
            "paths": paths, "components": {"schemas": schemas}}


def openapi_index(cat):
    out = {}
    seen = set()
    for r in cat:
        if (r.group, r.version) in seen:
            continue
        seen.add((r.group, r.version))
        p = _gv_path(r.group, r.version)
        doc = json.dumps(openapi_gv(cat, r.group, r.version), sort_keys=True)
        h = hashlib.sha512(doc.encode()).hexdigest()[:128].upper()
        out[p] = {"serverRelativeURL": "/openapi/v3/%s?hash=%s" % (p, h)}
    return {"paths": out}


# ------------------------------------------------------------------- tables

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


def _age(obj):
    t = parse_ts(obj.get("metadata", {}).get("creationTimestamp"))
    return "<unknown>" if t is None else human_duration(time.time() - t)


NAME_COL = {"name": "Name", "type": "string", "format": "name",
            "description": "Name must be unique within a namespace. Is "
            "required when creating resources, although some resources may "
            "allow a client to request the generation of an appropriate name "
            "automatically. Name is primarily intended for creation "
            "idempotence and configuration definition. Cannot be updated. "
            "More info: https://kubernetes.io/docs/concepts/overview/"
            "working-with-objects/names#names", "priority": 0}


def table_columns(r):
    if r.kind == "Node":
        return [NAME_COL,
                {"name": "Status", "type": "string", "format": "",
                 "description": "The status of the node", "priority": 0},
                {"name": "Roles", "type": "string", "format": "",
                 "description": "The roles of the node", "priority": 0},
                {"name": "Age", "type": "string", "format": "",
                 "description": "CreationTimestamp is a timestamp ...",
                 "priority": 0},
                {"name": "Version", "type": "string", "format": "",
                 "description": "Kubelet Version reported by the node.",
                 "priority": 0}]
    if r.kind == "Namespace":
        return [NAME_COL,
                {"name": "Status", "type": "string", "format": "",
                 "description": "The status of the namespace",
                 "priority": 0},
                {"name": "Age", "type": "string", "format": "",
                 "description": "CreationTimestamp is a timestamp ...",
                 "priority": 0}]
    # A CRD without additionalPrinterColumns gets a defaulted Age column.
    return [NAME_COL,
            {"name": "Age", "type": "date", "format": "",
             "description": "Custom resource definition column (in JSONPath "
             "format): .metadata.creationTimestamp", "priority": 0}]


def table_cells(r, obj):
    md = obj.get("metadata", {})
    if r.kind == "Node":
        st = obj.get("status", {}) or {}
        ready = "Unknown"
        for c in st.get("conditions", []) or []:
            if c.get("type") == "Ready":
                ready = "Ready" if c.get("status") == "True" else "NotReady"
        if (obj.get("spec") or {}).get("unschedulable"):
            ready += ",SchedulingDisabled"
        roles = sorted(k.split("/", 1)[1] for k in (md.get("labels") or {})
                       if k.startswith("node-role.kubernetes.io/"))
        return [md.get("name"), ready, ",".join(roles) or "<none>",
                _age(obj), (st.get("nodeInfo") or {}).get("kubeletVersion", "")]
    if r.kind == "Namespace":
        return [md.get("name"), (obj.get("status") or {}).get("phase", ""),
                _age(obj)]
    return [md.get("name"), _age(obj)]


def partial_metadata(obj, api_version="meta.k8s.io/v1"):
    return {"kind": "PartialObjectMetadata", "apiVersion": api_version,
            "metadata": obj.get("metadata", {})}


def to_table(r, objs, list_meta, table_version="v1", include="Metadata",
             with_columns=True):
    rows = []
    for o in objs:
        row = {"cells": table_cells(r, o)}
        if include == "Object":
            row["object"] = o
        elif include != "None":
            row["object"] = partial_metadata(o)
        rows.append(row)
    t = {"kind": "Table", "apiVersion": "meta.k8s.io/" + table_version,
         "metadata": list_meta,
         "columnDefinitions": table_columns(r) if with_columns else None,
         "rows": rows}
    return t
