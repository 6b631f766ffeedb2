"""Resource catalogue, discovery documents and OpenAPI v3 documents for the
nfqwall test API server (tests/k8s/apiserver.py).

Everything here mirrors what a kube-apiserver v1.32 sends for the same
resources: legacy discovery (APIVersions, APIGroupList, APIGroup,
APIResourceList), aggregated discovery (apidiscovery.k8s.io/v2 and v2beta1),
and an OpenAPI v3 index plus one document per group-version.  The schemas
are in k8s_schemas.py, the server-side Tables in k8s_tables.py.
"""

import base64
import hashlib
import json

from k8s_schemas import META_REF, META_SCHEMAS, kind_props
from k8s_tables import partial_metadata, to_table  # noqa: F401 (re-export)

BUILTIN_GROUPS = ("", "apps")
VERBS = ["delete", "deletecollection", "get", "list", "patch", "create",
         "update", "watch"]


class Res:
    """One served resource (a group/version/plural)."""

    def __init__(self, group, version, plural, kind, namespaced,
                 short_names=(), status=False, categories=(),
                 field_labels=(), field_conv=False, return_deleted=False,
                 generation=None):
        self.group = group
        self.version = version
        self.plural = plural
        self.kind = kind
        self.singular = kind.lower()
        self.namespaced = namespaced
        self.short_names = list(short_names)
        self.status = status            # has a /status subresource
        self.categories = list(categories)
        self.core = group == ""         # the legacy group: /api/v1
        self.builtin = group in BUILTIN_GROUPS
        # a field-label conversion of its own (Node, Namespace, Pod): an
        # unknown field selector is worded "field label not supported", and
        # a cluster-scoped kind with one (Node, Namespace) has no
        # metadata.namespace
        self.field_conv = field_conv
        self.field_labels = {"metadata.name"} | set(field_labels)
        if namespaced or not field_conv:
            self.field_labels.add("metadata.namespace")
        # DELETE answers the object (CRs, Pod), not a Status
        self.return_deleted = return_deleted or not self.builtin
        # metadata.generation: "cr" bumps on any change but metadata and
        # status, "spec" on a spec change (DaemonSet), None: no generation
        self.generation = "cr" if not self.builtin else generation

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
        """Custom resources: list items carry kind/apiVersion, unconditional
        update is refused, strategic merge is refused."""
        return not self.builtin

    def storage_version_hash(self):
        h = hashlib.sha256(("%s/%s/%s" % self.key).encode()).digest()
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
    ("kubecontrollersconfigurations", "KubeControllersConfiguration", False),
]

# pkg/apis/core/v1/conversion.go: the Pod field labels (spec.host is an
# alias of spec.nodeName; status.podIPs is accepted and is always "")
POD_FIELDS = ["spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
              "spec.serviceAccountName", "spec.hostNetwork", "status.phase",
              "status.podIP", "status.podIPs", "status.nominatedNodeName",
              "spec.host"]

# core/v1 Event's selectable fields (pkg/apis/core/v1 conversion)
EVENT_FIELDS = ["involvedObject.kind", "involvedObject.namespace",
                "involvedObject.name", "involvedObject.uid",
                "involvedObject.apiVersion", "involvedObject.resourceVersion",
                "involvedObject.fieldPath", "reason", "reportingComponent",
                "source", "type"]

CALICO_GROUPS = {"v1": ("crd.projectcalico.org", "v1"),
                 "v3": ("projectcalico.org", "v3")}


def build_catalogue(groups):
    """groups: iterable of "v1"/"v3". Returns the list of Res, core first."""
    out = [
        Res("", "v1", "namespaces", "Namespace", False, ["ns"], status=True,
            field_labels=["status.phase"], field_conv=True),
        Res("", "v1", "nodes", "Node", False, ["no"], status=True,
            field_labels=["spec.unschedulable"], field_conv=True),
        Res("", "v1", "pods", "Pod", True, ["po"], status=True,
            categories=["all"], field_labels=POD_FIELDS, field_conv=True,
            return_deleted=True),
        Res("", "v1", "serviceaccounts", "ServiceAccount", True, ["sa"]),
        Res("", "v1", "events", "Event", True, ["ev"],
            field_labels=EVENT_FIELDS, field_conv=True),
        Res("apps", "v1", "daemonsets", "DaemonSet", True, ["ds"],
            status=True, categories=["all"], generation="spec"),
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
    if r.builtin:
        return "io.k8s.api.%s.v1.%s" % (r.group or "core", r.kind)
    rev = ".".join(reversed(r.group.split(".")))
    return "%s.%s.%s" % (rev, r.version, r.kind)


def _param(name, desc="", kind="string"):
    return {"name": name, "in": "query", "description": desc,
            "schema": {"type": kind, "uniqueItems": True}}


WRITE_PARAMS = ["dryRun", "fieldManager", "fieldValidation"]
LIST_PARAMS = ["fieldSelector", "labelSelector", "limit", "continue",
               "resourceVersion", "resourceVersionMatch", "watch",
               "allowWatchBookmarks", "timeoutSeconds"]


def _kind_schemas(r, gvk):
    """The kind's schema and its list's, by name."""
    sname = _schema_name(r)
    ref = {"$ref": "#/components/schemas/" + sname}
    props = {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
             "metadata": {"allOf": [META_REF], "default": {}}}
    props.update(kind_props(r))
    return {sname: {"type": "object", "properties": props,
                    "x-kubernetes-group-version-kind": [gvk]},
            sname + "List": {
                "type": "object", "required": ["items"],
                "properties": {"apiVersion": {"type": "string"},
                               "kind": {"type": "string"},
                               "items": {"type": "array", "items": ref},
                               "metadata": {"type": "object"}},
                "x-kubernetes-group-version-kind": [
                    dict(gvk, kind=r.kind + "List")]}}, ref


def _kind_paths(r, gvk, ref, base):
    """The collection and item paths of one resource, with the operations
    kubectl looks at."""
    body = {"content": {"application/json": {"schema": ref}}}
    resp = {"200": {"description": "OK",
                    "content": {"application/json": {"schema": ref}}}}
    patch_types = ["application/json-patch+json",
                   "application/merge-patch+json",
                   "application/apply-patch+yaml"]
    if r.builtin:
        patch_types.insert(2, "application/strategic-merge-patch+json")

    def op(action, params, with_body=None):
        o = {"operationId": "%s%s" % (action, r.kind),
             "parameters": [_param(p) for p in params], "responses": resp,
             "x-kubernetes-action": action,
             "x-kubernetes-group-version-kind": gvk}
        if with_body:
            o["requestBody"] = with_body
        return o
    paths = {}
    coll = base + "/" + r.plural
    if r.namespaced:
        paths[coll] = {"get": op("list", LIST_PARAMS)}
        coll = base + "/namespaces/{namespace}/" + r.plural
    paths[coll] = {
        "get": op("list", LIST_PARAMS + ["sendInitialEvents"]),
        "post": op("post", WRITE_PARAMS, body),
        "delete": op("deletecollection", ["fieldSelector", "labelSelector",
                                          "dryRun"])}
    paths[coll + "/{name}"] = {
        "get": op("get", []), "put": op("put", WRITE_PARAMS, body),
        "patch": op("patch", WRITE_PARAMS + ["force"], {
            "content": {t: {"schema": {"type": "object"}}
                        for t in patch_types}}),
        "delete": op("delete", ["dryRun", "gracePeriodSeconds",
                                "propagationPolicy", "orphanDependents"])}
    return paths


def openapi_gv(cat, group, version):
    """An OpenAPI 3.0 document for one group-version.  Minimal but correct in
    the parts kubectl reads: operations carry x-kubernetes-group-version-kind
    and the fieldValidation query parameter (so kubectl validates on the
    server), PATCH lists the patch media types the server accepts (CRs: no
    strategic merge), and each kind has a schema with the merge keys of its
    lists (k8s_schemas.py).  The custom resources' spec schemas preserve
    unknown fields (the real Calico CRD schemas are not vendored here)."""
    res = [r for r in cat if r.group == group and r.version == version]
    if not res:
        return None
    paths, schemas = {}, dict(META_SCHEMAS)
    for r in res:
        gvk = {"group": r.group, "version": r.version, "kind": r.kind}
        kind_schemas, ref = _kind_schemas(r, gvk)
        schemas.update(kind_schemas)
        paths.update(_kind_paths(r, gvk, ref, "/" + _gv_path(group,
                                                             version)))
    return {"openapi": "3.0.0",
            "info": {"title": "Kubernetes" if res[0].builtin else
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
