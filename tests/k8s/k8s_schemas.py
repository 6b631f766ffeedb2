"""OpenAPI v3 component schemas of the built-in kinds, for the test API
server (tests/k8s/apiserver.py).  Only the parts kubectl reads when it
computes a strategic merge patch: the list merge keys and strategies
(x-kubernetes-patch-merge-key / -patch-strategy), which k8s_patch.MERGE_KEYS
mirrors on the server side.  Everything not described is a plain field."""

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

META_REF = {"$ref": "#/components/schemas/"
            "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}

# ------------------------------------------------------------ shapes
# The built-in workload types are written as shapes: a dict is an object
# (kubectl needs every struct on the way to a nested map described, or it
# warns "unable to find api field"), [key, shape] a list merged by key,
# and the leaves below (a leaf's "type" is a string, a shape's a leaf).
S = {"type": "string"}
I = {"type": "integer", "format": "int64"}              # noqa: E741
B = {"type": "boolean"}
M = {"type": "object", "additionalProperties": {"type": "string"}}
A = {"type": "array", "items": {"type": "object",
                                "x-kubernetes-preserve-unknown-fields":
                                True}, "x-kubernetes-list-type": "atomic"}
X = {"x-kubernetes-int-or-string": True}
META = {"allOf": [META_REF], "default": {}}


def schema(shape, strategy=None):
    """An OpenAPI v3 schema from a shape."""
    if isinstance(shape, list):
        key, item = shape
        out = _keyed(key, schema(item)["properties"])
        if strategy:
            out["x-kubernetes-patch-strategy"] = strategy
        return out
    if isinstance(shape, dict) and not isinstance(shape.get("type"), str) \
            and "allOf" not in shape and \
            "x-kubernetes-int-or-string" not in shape:
        out = {"type": "object", "properties": {
            k: schema(v, STRATEGIES.get(k)) for k, v in shape.items()}}
        if strategy:
            out["x-kubernetes-patch-strategy"] = strategy
        return out
    return shape


STRATEGIES = {"volumes": "merge,retainKeys", "updateStrategy": "retainKeys"}
_REF = {"key": S, "name": S, "optional": B}
_PORTREF = {"path": S, "port": X, "host": S, "scheme": S, "httpHeaders": A}
_HANDLER = {"exec": {"command": A}, "httpGet": _PORTREF,
            "tcpSocket": {"port": X, "host": S}, "sleep": {"seconds": I}}
_PROBE = dict(_HANDLER, grpc={"port": I, "service": S},
              initialDelaySeconds=I, timeoutSeconds=I, periodSeconds=I,
              successThreshold=I, failureThreshold=I,
              terminationGracePeriodSeconds=I)
_PROFILE = {"type": S, "localhostProfile": S}
_SELINUX = {"user": S, "role": S, "type": S, "level": S}
_SEC = {"capabilities": {"add": A, "drop": A}, "privileged": B,
        "runAsUser": I, "runAsGroup": I, "runAsNonRoot": B,
        "readOnlyRootFilesystem": B, "allowPrivilegeEscalation": B,
        "procMount": S, "seLinuxOptions": _SELINUX,
        "seccompProfile": _PROFILE, "appArmorProfile": _PROFILE}
_CONTAINER = {
    "name": S, "image": S, "imagePullPolicy": S, "command": A, "args": A,
    "workingDir": S, "stdin": B, "tty": B, "restartPolicy": S,
    "env": ["name", {"name": S, "value": S, "valueFrom": {
        "fieldRef": {"apiVersion": S, "fieldPath": S},
        "resourceFieldRef": {"containerName": S, "resource": S,
                             "divisor": X},
        "configMapKeyRef": _REF, "secretKeyRef": _REF}}],
    "envFrom": A,
    "ports": ["containerPort", {"containerPort": I, "hostPort": I,
                                "name": S, "protocol": S, "hostIP": S}],
    "volumeMounts": ["mountPath", {"name": S, "mountPath": S,
                                   "readOnly": B, "subPath": S,
                                   "mountPropagation": S}],
    "resources": {"limits": M, "requests": M, "claims": A},
    "securityContext": _SEC, "livenessProbe": _PROBE,
    "readinessProbe": _PROBE, "startupProbe": _PROBE,
    "lifecycle": {"postStart": _HANDLER, "preStop": _HANDLER},
    "terminationMessagePath": S, "terminationMessagePolicy": S}
_AFFINITY = {"requiredDuringSchedulingIgnoredDuringExecution": A,
             "preferredDuringSchedulingIgnoredDuringExecution": A}
POD_SPEC = {
    "containers": ["name", _CONTAINER], "initContainers": ["name",
                                                           _CONTAINER],
    "ephemeralContainers": ["name", _CONTAINER],
    "volumes": ["name", {
        "name": S, "hostPath": {"path": S, "type": S},
        "emptyDir": {"medium": S, "sizeLimit": X},
        "configMap": {"name": S, "items": A, "defaultMode": I,
                      "optional": B},
        "secret": {"secretName": S, "items": A, "defaultMode": I,
                   "optional": B},
        "projected": {"sources": A, "defaultMode": I},
        "downwardAPI": {"items": A, "defaultMode": I},
        "persistentVolumeClaim": {"claimName": S, "readOnly": B}}],
    "imagePullSecrets": ["name", {"name": S}],
    "hostAliases": ["ip", {"ip": S, "hostnames": A}],
    "tolerations": A, "nodeSelector": M, "nodeName": S,
    "serviceAccountName": S, "serviceAccount": S,
    "automountServiceAccountToken": B, "hostNetwork": B, "hostPID": B,
    "hostIPC": B, "dnsPolicy": S, "restartPolicy": S, "schedulerName": S,
    "priorityClassName": S, "priority": I, "preemptionPolicy": S,
    "enableServiceLinks": B, "terminationGracePeriodSeconds": I,
    "activeDeadlineSeconds": I, "runtimeClassName": S, "hostname": S,
    "subdomain": S, "shareProcessNamespace": B, "readinessGates": A,
    "topologySpreadConstraints": A, "schedulingGates": A,
    "dnsConfig": {"nameservers": A, "searches": A, "options": A},
    "securityContext": {"runAsUser": I, "runAsGroup": I,
                        "runAsNonRoot": B, "fsGroup": I,
                        "fsGroupChangePolicy": S, "supplementalGroups": A,
                        "sysctls": A, "seLinuxOptions": _SELINUX,
                        "seccompProfile": _PROFILE,
                        "appArmorProfile": _PROFILE},
    "affinity": {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": A},
        "preferredDuringSchedulingIgnoredDuringExecution": A},
        "podAffinity": _AFFINITY, "podAntiAffinity": _AFFINITY}}
_COND = ["type", {"type": S, "status": S, "reason": S, "message": S,
                  "lastTransitionTime": S, "lastProbeTime": S}]
_IPS = ["ip", {"ip": S}]

# kind -> the properties beside apiVersion, kind and metadata
KIND_PROPS = {
    "Node": {"spec": CORE_SPECS["Node"], "status": CORE_STATUS["Node"]},
    "Namespace": {"spec": CORE_SPECS["Namespace"],
                  "status": CORE_STATUS["Namespace"]},
    "Pod": schema({"spec": POD_SPEC, "status": {
        "phase": S, "conditions": _COND, "podIP": S, "podIPs": _IPS,
        "hostIP": S, "hostIPs": _IPS, "qosClass": S, "reason": S,
        "message": S, "nominatedNodeName": S, "startTime": S,
        "containerStatuses": A, "initContainerStatuses": A}})["properties"],
    "DaemonSet": schema({
        "spec": {"selector": {"matchLabels": M, "matchExpressions": A},
                 "template": {"metadata": META, "spec": POD_SPEC},
                 "updateStrategy": {"type": S, "rollingUpdate": {
                     "maxUnavailable": X, "maxSurge": X}},
                 "minReadySeconds": I, "revisionHistoryLimit": I},
        "status": {"currentNumberScheduled": I, "numberMisscheduled": I,
                   "desiredNumberScheduled": I, "numberReady": I,
                   "observedGeneration": I, "updatedNumberScheduled": I,
                   "numberAvailable": I, "numberUnavailable": I,
                   "collisionCount": I, "conditions": _COND}})["properties"],
    "Event": schema({
        "involvedObject": {"apiVersion": S, "kind": S, "name": S,
                           "namespace": S, "uid": S, "fieldPath": S,
                           "resourceVersion": S},
        "reason": S, "message": S, "type": S, "count": I, "action": S,
        "firstTimestamp": S, "lastTimestamp": S, "eventTime": S,
        "source": {"component": S, "host": S},
        "reportingComponent": S, "reportingInstance": S})["properties"],
    "ServiceAccount": schema({
        "secrets": ["name", {"name": S, "namespace": S, "kind": S,
                             "uid": S, "apiVersion": S}],
        "imagePullSecrets": A,
        "automountServiceAccountToken": B})["properties"],
}
# A custom resource's spec and status (the real CRD schemas are not
# vendored here).
_ANY = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
CR_PROPS = {"spec": _ANY, "status": _ANY}


def kind_props(r):
    return KIND_PROPS.get(r.kind, CR_PROPS) if r.builtin else CR_PROPS
