#!/usr/bin/env python3
"""bench/k8s_scale.py - the scale scenario of bench/k8s.sh (SCALE=1): a cluster
of realistic Nodes and Pods in tests/k8s/apiserver.py, and churn over it.

Subcommands (run inside the API server's network namespace):

  load     Namespaces (labelled), ServiceAccounts, NODES Nodes (~10 KB each:
           cloud labels, Calico annotations, addresses, conditions, images,
           nodeInfo, capacity) and PODS Pods (~4 KB each: labels,
           ownerReferences, 1-2 containers with env, resources and named
           ports, volumes, tolerations) in bulk through the admin port
           (POST /objects, in batches), then each Pod's status (Running,
           podIP/podIPs, conditions, containerStatuses) through the API with
           a PATCH of pods/NAME/status, as the kubelet writes it: the test
           server's bulk load goes through the Pod create strategy, which
           resets status to Pending.
  churn    For SECONDS: POD_RATE pod events/s (create + status, delete with
           grace 0, label change: a third each) and NODE_RATE node events/s
           (heartbeat annotation, status heartbeat, label change), through
           the API over keep-alive TLS connections; meanwhile CHANGES
           GlobalNetworkPolicy merge-patches, each followed by TCP connects
           every 5 ms from the client namespace until the verdict flips; and
           per-thread CPU of the nfqwall process, its reloads and compile
           times from its log, its RSS, and the bytes the API sent it.

Figures are printed as "key: value" lines (prefixed "  ") for bench/k8s.sh.
"""
import argparse
import ctypes
import hashlib
import http.client
import json
import os
import queue
import random
import re
import socket
import ssl
import subprocess
import sys
import threading
import time

GROUP = "crd.projectcalico.org/v1"
CLIENT_SRC = "127.0.0.2"   # the helpers' source address: the API bytes to
                           # 127.0.0.1 are then nfqwall's alone
ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"]
TYPES = ["g6-standard-8", "g6-dedicated-16", "g6-standard-16"]
TEAMS = ["payments", "search", "ads", "platform", "data", "ml", "web", "obs"]
APPS = ["web", "api", "worker", "redis", "cart", "checkout", "search",
        "indexer", "ads-server", "recommender", "prometheus"]


def h(s, n=12):
    return hashlib.sha1(s.encode()).hexdigest()[:n]


def node_name(i):
    return "node-%d" % (i + 1)


def node_ip(i):
    if i == 0:
        return "192.0.2.1"          # node-1 is the bench's node
    return "10.0.%d.%d" % (i // 250, i % 250 + 1)


def pod_ip(j):
    v = j + 1                       # 10.128.0.1 up: 10.128.0.0/9 holds 8M pods
    return "10.%d.%d.%d" % (128 + (v >> 16), (v >> 8) & 255, v & 255)


def ns_name(k):
    return "ns-%03d" % k


IMAGES = [("registry.k8s.io/kube-proxy", "v1.32.4", 30000000),
          ("docker.io/calico/node", "v3.29.1", 140000000),
          ("docker.io/calico/cni", "v3.29.1", 95000000),
          ("registry.k8s.io/coredns/coredns", "v1.11.3", 18000000),
          ("linode/linode-blockstorage-csi-driver", "v1.0.2", 52000000),
          ("registry.k8s.io/sig-storage/csi-node-driver-registrar", "v2.12.0", 13000000),
          ("quay.io/prometheus/node-exporter", "v1.8.2", 11000000),
          ("docker.io/fluent/fluent-bit", "3.1.9", 35000000),
          ("registry.example/web", "1.42.0", 120000000),
          ("registry.example/api", "2.7.1", 98000000),
          ("registry.example/worker", "2.7.1", 143000000),
          ("docker.io/library/redis", "7.4.1", 45000000),
          ("registry.example/cart", "0.9.3", 88000000),
          ("registry.example/checkout", "3.1.0", 91000000),
          ("registry.example/search", "5.0.2", 210000000),
          ("registry.example/indexer", "5.0.2", 230000000),
          ("docker.io/istio/proxyv2", "1.24.0", 98000000),
          ("registry.k8s.io/pause", "3.10", 320000),
          ("quay.io/prometheus/prometheus", "v2.55.0", 120000000),
          ("registry.example/recommender", "4.4.4", 310000000),
          ("registry.example/ads-server", "8.1.0", 77000000),
          ("quay.io/jetstack/cert-manager-controller", "v1.16.1", 33000000),
          ("registry.k8s.io/metrics-server/metrics-server", "v0.7.2", 19000000),
          ("docker.io/grafana/promtail", "3.2.1", 80000000),
          ("registry.example/web", "1.41.3", 119000000),
          ("registry.example/api", "2.6.9", 97000000),
          ("docker.io/calico/node", "v3.28.2", 139000000),
          ("docker.io/calico/cni", "v3.28.2", 94000000)]


def make_node(i, stamp):
    name = node_name(i)
    ip = node_ip(i)
    zone = ZONES[i % 3]
    typ = TYPES[i % 3]
    pool = 100000 + i // 50
    linode_id = 50000000 + i
    labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/instance-type": typ,
        "beta.kubernetes.io/os": "linux",
        "failure-domain.beta.kubernetes.io/region": "us-east",
        "failure-domain.beta.kubernetes.io/zone": zone,
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "lke.linode.com/pool-id": str(pool),
        "node.kubernetes.io/instance-type": typ,
        "topology.kubernetes.io/region": "us-east",
        "topology.kubernetes.io/zone": zone,
        "topology.linode.com/region": "us-east",
        "node-role.kubernetes.io/worker": "",
        "nodepool": "pool-%d" % (i // 50 % 8),
    }
    ann = {
        "projectcalico.org/IPv4Address": ip + ("/24" if i == 0 else "/16"),
        "projectcalico.org/IPv4IPIPTunnelAddr": "10.2.%d.%d" % (i // 250, i % 250 + 1),
        "csi.volume.kubernetes.io/nodeid": json.dumps({"linodebs.csi.linode.com": str(linode_id)}),
        "lke.linode.com/wgip": "172.31.%d.%d" % (i // 250, i % 250 + 1),
        "lke.linode.com/wgpub": h(name + "wg", 43) + "=",
        "node.alpha.kubernetes.io/ttl": "0",
        "volumes.kubernetes.io/controller-managed-attach-detach": "true",
    }
    cond_types = [("NetworkUnavailable", "False", "CalicoIsUp", "Calico is running on this node"),
                  ("KernelDeadlock", "False", "KernelHasNoDeadlock", "kernel has no deadlock"),
                  ("ReadonlyFilesystem", "False", "FilesystemIsNotReadOnly", "Filesystem is not read-only"),
                  ("FrequentKubeletRestart", "False", "NoFrequentKubeletRestart", "kubelet is functioning properly"),
                  ("FrequentContainerdRestart", "False", "NoFrequentContainerdRestart", "containerd is functioning properly"),
                  ("CorruptDockerOverlay2", "False", "NoCorruptDockerOverlay2", "docker overlay2 is functioning properly"),
                  ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                  ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                  ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                  ("Ready", "True", "KubeletReady", "kubelet is posting ready status")]
    conds = [{"type": t, "status": s, "reason": r, "message": m,
              "lastHeartbeatTime": stamp, "lastTransitionTime": "2026-10-01T08:12:44Z"}
             for t, s, r, m in cond_types]
    images = []
    for k, (img, tag, size) in enumerate(IMAGES):
        images.append({"names": ["%s@sha256:%s" % (img, h(img + tag, 64)),
                                 "%s:%s" % (img, tag)],
                       "sizeBytes": size + (i * 7919 + k) % 100000})
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": labels, "annotations": ann},
        "spec": {"podCIDR": "10.2.%d.0/24" % (i % 256), "podCIDRs": ["10.2.%d.0/24" % (i % 256)],
                 "providerID": "linode://%d" % linode_id},
        "status": {
            "addresses": [{"type": "Hostname", "address": name},
                          {"type": "ExternalIP", "address": "172.%d.%d.%d" % (
                              16 + i // 65000, i // 250 % 256, i % 250 + 1)},
                          {"type": "InternalIP", "address": ip}],
            "allocatable": {"cpu": "8", "ephemeral-storage": "152185389384",
                            "hugepages-1Gi": "0", "hugepages-2Mi": "0",
                            "memory": "16283292Ki", "pods": "110"},
            "capacity": {"cpu": "8", "ephemeral-storage": "165131564Ki",
                         "hugepages-1Gi": "0", "hugepages-2Mi": "0",
                         "memory": "16385692Ki", "pods": "110"},
            "conditions": conds,
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "images": images,
            "nodeInfo": {"architecture": "amd64", "bootID": "%s-%s-%s-%s-%s" % (
                h(name, 8), h(name + "b", 4), h(name + "c", 4), h(name + "d", 4), h(name + "e", 12)),
                "containerRuntimeVersion": "containerd://1.7.22",
                "kernelVersion": "6.1.0-28-cloud-amd64",
                "kubeProxyVersion": "v1.32.4", "kubeletVersion": "v1.32.4",
                "machineID": h(name + "m", 32), "operatingSystem": "linux",
                "osImage": "Debian GNU/Linux 12 (bookworm)",
                "systemUUID": h(name + "u", 32)},
        },
    }


def make_namespace(k):
    team = TEAMS[k % len(TEAMS)]
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": ns_name(k), "labels": {
                "team": team, "env": ["prod", "staging", "dev"][k % 3],
                "istio-injection": "enabled" if k % 2 else "disabled",
                "app.kubernetes.io/part-of": "platform-%d" % (k % 20)}}}


def make_sa(k, name):
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": name, "namespace": ns_name(k),
                         "labels": {"app.kubernetes.io/name": name}}}


def pod_shape(j, nnodes, nns, salt=""):
    """(namespace index, app, node index) of pod j."""
    k = j % nns
    app = APPS[(j // nns) % len(APPS)]
    return k, app, (j * 7 + len(salt)) % nnodes


def make_pod(j, nnodes, nns, name=None, extra_labels=None):
    k, app, n = pod_shape(j, nnodes, nns)
    ns = ns_name(k)
    rs = "%s-%s" % (app, h("%s%d" % (ns, j // 100), 10))
    name = name or "%s-%s" % (rs, h(str(j), 5))
    labels = {"app": app, "app.kubernetes.io/name": app,
              "app.kubernetes.io/instance": "%s-%s" % (app, ns),
              "pod-template-hash": rs.rsplit("-", 1)[1],
              "version": "v%d" % (j % 4 + 1)}
    if extra_labels:
        labels.update(extra_labels)
    img, tag, _ = IMAGES[8 + (j % 12)]
    env = [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
           {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}},
           {"name": "POD_IP", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.podIP"}}},
           {"name": "LOG_LEVEL", "value": "info"},
           {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://otel-collector.obs.svc:4317"},
           {"name": "DB_HOST", "value": "%s-db.%s.svc.cluster.local" % (app, ns)},
           {"name": "GOMAXPROCS", "valueFrom": {"resourceFieldRef": {"containerName": "main", "divisor": "0", "resource": "limits.cpu"}}}]
    containers = [{
        "name": "main", "image": "%s:%s" % (img, tag), "env": env,
        "args": ["--port=8080", "--metrics-port=9100", "--config=/etc/app/config.yaml"],
        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"},
                  {"name": "metrics", "containerPort": 9100, "protocol": "TCP"}],
        "resources": {"requests": {"cpu": "250m", "memory": "256Mi"},
                      "limits": {"cpu": "1", "memory": "512Mi"}},
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP"},
                           "periodSeconds": 10, "timeoutSeconds": 1, "successThreshold": 1,
                           "failureThreshold": 3},
        "volumeMounts": [{"name": "config", "mountPath": "/etc/app", "readOnly": True},
                         {"name": "kube-api-access", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                          "readOnly": True}]}]
    if j % 2:
        containers.append({
            "name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.24.0",
            "args": ["proxy", "sidecar", "--domain", "$(POD_NAMESPACE).svc.cluster.local"],
            "ports": [{"name": "http-envoy-prom", "containerPort": 15090, "protocol": "TCP"}],
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                          "limits": {"cpu": "2", "memory": "1Gi"}},
            "volumeMounts": [{"name": "kube-api-access", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                              "readOnly": True}]})
    vols = [{"name": "config", "configMap": {"name": "%s-config" % app, "defaultMode": 420}},
            {"name": "kube-api-access", "projected": {"defaultMode": 420, "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
                    "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}}]
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels,
                     "annotations": {"kubectl.kubernetes.io/default-container": "main",
                                     "prometheus.io/scrape": "true", "prometheus.io/port": "9100"},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs,
                                          "uid": "%s-%s-%s-%s-%s" % (h(rs, 8), h(rs + "1", 4), h(rs + "2", 4),
                                                                     h(rs + "3", 4), h(rs + "4", 12)),
                                          "controller": True, "blockOwnerDeletion": True}]},
        "spec": {"nodeName": node_name(n), "serviceAccountName": "app-%s" % app,
                 "containers": containers, "volumes": vols,
                 "tolerations": [{"key": "dedicated", "operator": "Equal", "value": app, "effect": "NoSchedule"}],
                 "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
                     "weight": 100, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname",
                                                        "labelSelector": {"matchLabels": {"app": app}}}}]}}},
    }


def pod_status(j, nnodes, nns, ip, names=("main",), stamp="2026-12-01T10:00:00Z"):
    _, _, n = pod_shape(j, nnodes, nns)
    conds = [{"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": stamp}
             for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")]
    cs = []
    for c in names:
        img = "registry.example/%s:1" % c
        cs.append({"name": c, "ready": True, "restartCount": j % 3, "started": True,
                   "image": img, "imageID": "%s@sha256:%s" % (img, h(c + str(j % 50), 64)),
                   "containerID": "containerd://" + h("%s%d" % (c, j), 64),
                   "lastState": {}, "state": {"running": {"startedAt": stamp}},
                   "volumeMounts": [{"name": "kube-api-access", "mountPath":
                                     "/var/run/secrets/kubernetes.io/serviceaccount",
                                     "readOnly": True, "recursiveReadOnly": "Disabled"}]})
    return {"phase": "Running", "conditions": conds, "hostIP": node_ip(n),
            "hostIPs": [{"ip": node_ip(n)}], "podIP": ip, "podIPs": [{"ip": ip}],
            "startTime": stamp, "containerStatuses": cs, "qosClass": "Burstable"}


# ------------------------------------------------------------------ clients

def admin_post(aport, path, body):
    c = http.client.HTTPConnection("127.0.0.1", aport, timeout=600)
    data = json.dumps(body).encode()
    c.request("POST", path, data, {"Content-Type": "application/json"})
    r = c.getresponse()
    out = json.loads(r.read())
    c.close()
    if r.status != 200:
        raise RuntimeError("admin %s: %s %s" % (path, r.status, out))
    return out, len(data)


class Api:
    """A keep-alive TLS client of the test API server, from CLIENT_SRC."""

    def __init__(self, port, token_file, ca):
        self.port, self.token_file = port, token_file
        self.ctx = ssl.create_default_context(cafile=ca)
        self.conn = None

    def req(self, method, path, body=None, ctype="application/json"):
        tok = open(self.token_file).read().strip()
        hdr = {"Authorization": "Bearer " + tok, "Accept": "application/json"}
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            hdr["Content-Type"] = ctype
        for attempt in range(3):
            if self.conn is None:
                self.conn = http.client.HTTPSConnection(
                    "127.0.0.1", self.port, context=self.ctx, timeout=60,
                    source_address=(CLIENT_SRC, 0))
            try:
                self.conn.request(method, path, data, hdr)
                r = self.conn.getresponse()
                out = r.read()
                return r.status, out
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        return 0, b""


def parallel(jobs, fn, threads):
    """Run fn(api, job) for each job on `threads` threads; returns errors."""
    q = queue.Queue()
    for j in jobs:
        q.put(j)
    errs = []

    def work():
        api = fn.__self__ if hasattr(fn, "__self__") else None
        while True:
            try:
                j = q.get_nowait()
            except queue.Empty:
                return
            try:
                fn(j)
            except Exception as e:  # noqa: BLE001
                errs.append(repr(e))
    ts = [threading.Thread(target=work) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return errs


# --------------------------------------------------------------------- load

def rss_of(pid):
    out = {}
    try:
        for ln in open("/proc/%d/status" % pid):
            if ln.startswith(("VmRSS", "VmHWM")):
                k, v = ln.split(":")
                out[k] = int(v.split()[0]) // 1024
    except OSError:
        pass
    return out


def cmd_load(a):
    rng = random.Random(1)
    stamp = "2026-12-01T10:00:00Z"
    t_all = time.monotonic()
    sent = 0
    # namespaces and service accounts (one per app in every namespace)
    t0 = time.monotonic()
    items = [make_namespace(k) for k in range(a.namespaces)]
    _, n = admin_post(a.admin_port, "/objects", {"items": items})
    sent += n
    items = [make_sa(k, "app-" + app) for k in range(a.namespaces) for app in APPS]
    res, n = admin_post(a.admin_port, "/objects", {"items": items})
    sent += n
    print("  namespaces: %d, serviceaccounts: %d (+ a default each), %.1f s"
          % (a.namespaces, len(items), time.monotonic() - t0), flush=True)
    # nodes
    t0 = time.monotonic()
    sizes = []
    for b in range(0, a.nodes, a.batch // 4):
        items = [make_node(i, stamp) for i in range(b, min(a.nodes, b + a.batch // 4))]
        sizes += [len(json.dumps(x)) for x in items[:5]]
        res, n = admin_post(a.admin_port, "/objects", {"items": items})
        sent += n
        if res["errors"]:
            print("  node load errors:", res["errors"][:3])
    t_nodes = time.monotonic() - t0
    print("  nodes: %d in %.1f s, %.1f KB each (JSON as created)"
          % (a.nodes, t_nodes, sum(sizes) / len(sizes) / 1000), flush=True)
    # pods
    t0 = time.monotonic()
    psizes = []
    names = []
    for b in range(0, a.pods, a.batch):
        items = [make_pod(j, a.nodes, a.namespaces) for j in range(b, min(a.pods, b + a.batch))]
        psizes += [len(json.dumps(x)) for x in items[:5]]
        for x in items:
            names.append((x["metadata"]["namespace"], x["metadata"]["name"],
                          [c["name"] for c in x["spec"]["containers"]]))
        res, n = admin_post(a.admin_port, "/objects", {"items": items})
        sent += n
        if res["errors"]:
            print("  pod load errors:", res["errors"][:3])
    t_pods = time.monotonic() - t0
    print("  pods (created, Pending): %d in %.1f s, %.1f KB each as created"
          % (a.pods, t_pods, sum(psizes) / len(psizes) / 1000), flush=True)
    # pod status, as the kubelet: PATCH pods/NAME/status (merge)
    t0 = time.monotonic()
    apis = threading.local()
    done = [0]

    def status(jn):
        j, (ns, name, cnames) = jn
        if not hasattr(apis, "api"):
            apis.api = Api(a.port, a.token_file, a.ca)
        st = pod_status(j, a.nodes, a.namespaces, pod_ip(j), cnames)
        code, out = apis.api.req("PATCH", "/api/v1/namespaces/%s/pods/%s/status" % (ns, name),
                                 {"status": st}, "application/merge-patch+json")
        if code != 200:
            raise RuntimeError("status %s/%s: %s %s" % (ns, name, code, out[:200]))
        done[0] += 1
        if j == 0:
            print("  a pod with status: %.1f KB" % (len(out) / 1000), flush=True)
    errs = parallel(list(enumerate(names)), status, a.threads)
    t_status = time.monotonic() - t0
    print("  pod status patches: %d in %.1f s (%.0f/s, %d threads), %d errors %s"
          % (done[0], t_status, done[0] / max(t_status, 1e-9), a.threads, len(errs), errs[:2]),
          flush=True)
    # the bench's own objects: a prometheus pod at the client's address, in an obs namespace
    p = make_pod(0, a.nodes, a.namespaces, name="prom-client")
    p["metadata"]["namespace"] = "bench-obs"
    p["metadata"]["labels"]["app"] = "prometheus"
    p["spec"]["serviceAccountName"] = "default"
    for it in ({"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": "bench-obs", "labels": {"team": "obs"}}}, p):
        res, _ = admin_post(a.admin_port, "/objects", {"items": [it]})
        if res["errors"]:
            print("  bench objects:", res["errors"])
    api = Api(a.port, a.token_file, a.ca)
    code, _ = api.req("PATCH", "/api/v1/namespaces/bench-obs/pods/prom-client/status",
                      {"status": pod_status(0, a.nodes, a.namespaces, "192.0.2.2")},
                      "application/merge-patch+json")
    assert code == 200, code
    print("  load total: %.1f s (admin bodies %.0f MB)" % (time.monotonic() - t_all, sent / 1e6))
    print("  api server RSS after load: %s MiB (VmHWM %s MiB)"
          % (rss_of(a.api_pid).get("VmRSS"), rss_of(a.api_pid).get("VmHWM")))
    with open(a.names_out, "w") as f:
        json.dump(names, f)


# -------------------------------------------------------------------- churn

libc = ctypes.CDLL("libc.so.6", use_errno=True)
CLONE_NEWNET = 0x40000000


def setns(fd):
    if libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns")


def thread_cpu(pid):
    """{tid: (comm, utime+stime ticks)}"""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            s = open("/proc/%d/task/%s/stat" % (pid, tid)).read()
        except OSError:
            continue
        comm = s[s.index("(") + 1:s.rindex(")")]
        f = s[s.rindex(")") + 2:].split()
        out[int(tid)] = (comm, int(f[11]) + int(f[12]))
    return out


def nft_bytes():
    try:
        out = subprocess.run(["nft", "list", "counter", "ip", "nfqwbench", "apibytes"],
                             capture_output=True, text=True).stdout
        return int(re.search(r"bytes (\d+)", out).group(1))
    except Exception:  # noqa: BLE001
        return -1


def log_lines(path):
    try:
        return open(path, errors="replace").read().splitlines()
    except OSError:
        return []


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))] if v else float("nan")


def cmd_churn(a):
    names = json.load(open(a.names))
    rng = random.Random(2)
    live = list(range(len(names)))          # indexes of live pods in `names`
    stop = threading.Event()
    counts = {"pod_create": 0, "pod_delete": 0, "pod_label": 0, "node_ann": 0,
              "node_status": 0, "node_label": 0, "errors": 0}
    lock = threading.Lock()
    errs = []
    nextj = [len(names) + 1000000]

    def pod_event(api, k):
        kind = k % 3
        with lock:
            idx = live[rng.randrange(len(live))]
        ns, name, cn = names[idx]
        if kind == 0:                       # create (+ status, as the kubelet)
            with lock:
                j = nextj[0]
                nextj[0] += 1
            p = make_pod(j, a.nodes, a.namespaces, name="churn-%d" % j)
            ns2 = p["metadata"]["namespace"]
            code, out = api.req("POST", "/api/v1/namespaces/%s/pods" % ns2, p)
            if code != 201:
                raise RuntimeError("create %s" % code)
            cn2 = [c["name"] for c in p["spec"]["containers"]]
            ip = "10.200.%d.%d" % (j // 250 % 250, j % 250 + 1)
            code, out = api.req("PATCH", "/api/v1/namespaces/%s/pods/%s/status" % (ns2, p["metadata"]["name"]),
                                {"status": pod_status(j, a.nodes, a.namespaces, ip, cn2)},
                                "application/merge-patch+json")
            with lock:
                names.append((ns2, p["metadata"]["name"], cn2))
                live.append(len(names) - 1)
                counts["pod_create"] += 1
        elif kind == 1:                     # delete, grace 0 (the kubelet's final delete)
            with lock:
                if idx not in live:
                    return
                live.remove(idx)
            code, out = api.req("DELETE", "/api/v1/namespaces/%s/pods/%s" % (ns, name),
                                {"gracePeriodSeconds": 0})
            if code not in (200, 404):
                raise RuntimeError("delete %s" % code)
            with lock:
                counts["pod_delete"] += 1
        else:                               # a label change (a rollout's version, a canary)
            code, out = api.req("PATCH", "/api/v1/namespaces/%s/pods/%s" % (ns, name),
                                {"metadata": {"labels": {"version": "v%d" % rng.randrange(1, 9)}}},
                                "application/merge-patch+json")
            if code not in (200, 404):
                raise RuntimeError("label %s" % code)
            with lock:
                counts["pod_label"] += 1

    def node_event(api, k):
        i = rng.randrange(1, a.nodes)       # never node-1, the bench's node
        nm = node_name(i)
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        kind = k % 10
        if kind < 5:
            code, _ = api.req("PATCH", "/api/v1/nodes/" + nm,
                              {"metadata": {"annotations": {"bench/heartbeat": now}}},
                              "application/merge-patch+json")
            key = "node_ann"
        elif kind < 8:
            code, _ = api.req("PATCH", "/api/v1/nodes/%s/status" % nm,
                              {"status": {"conditions": [{"type": "Ready", "lastHeartbeatTime": now}]}},
                              "application/strategic-merge-patch+json")
            key = "node_status"
        else:
            code, _ = api.req("PATCH", "/api/v1/nodes/" + nm,
                              {"metadata": {"labels": {"bench/rollout": "r%d" % rng.randrange(3)}}},
                              "application/merge-patch+json")
            key = "node_label"
        if code != 200:
            raise RuntimeError("%s %s" % (key, code))
        with lock:
            counts[key] += 1

    def driver(rate, fn, nthreads):
        """Event k is due at t0 + k/rate; nthreads workers take them in turn."""
        q = queue.Queue(maxsize=1000)
        lag = [0.0]

        def worker():
            api = Api(a.port, a.token_file, a.ca)
            while True:
                k = q.get()
                if k is None:
                    return
                try:
                    fn(api, k)
                except Exception as e:  # noqa: BLE001
                    with lock:
                        counts["errors"] += 1
                        errs.append(repr(e))
        ws = [threading.Thread(target=worker, daemon=True) for _ in range(nthreads)]
        for w in ws:
            w.start()
        t0 = time.monotonic()
        k = 0
        while not stop.is_set():
            due = t0 + k / rate
            d = due - time.monotonic()
            if d > 0:
                time.sleep(d)
            q.put(k)
            k += 1
        for _ in ws:
            q.put(None)
        for w in ws:
            w.join(5)

    # the start of the window
    nfq = a.nfq_pid
    hz = os.sysconf("SC_CLK_TCK")
    cpu0, b0, t_start = thread_cpu(nfq), nft_bytes(), time.monotonic()
    log0 = len(log_lines(a.log))
    pcpu0 = sum(v[1] for v in cpu0.values())
    ds = [threading.Thread(target=driver, args=(a.pod_rate, pod_event, 6), daemon=True),
          threading.Thread(target=driver, args=(a.node_rate, node_event, 2), daemon=True)]
    _ = [d.start() for d in ds]

    # policy changes under churn: patch, then TCP connects every 5 ms from
    # the client namespace until the verdict flips
    fd_n = os.open("/proc/self/ns/net", os.O_RDONLY)
    fd_c = os.open("/var/run/netns/" + a.client_netns, os.O_RDONLY)

    def reachable():
        setns(fd_c)
        try:
            s = socket.socket()
        finally:
            setns(fd_n)
        s.settimeout(0.005)
        try:
            s.connect(("192.0.2.1", 9090))
            return True
        except OSError:
            return False
        finally:
            s.close()

    papi = Api(a.port, a.token_file, a.ca)
    lat, rtt, lat_resp = [], [], []
    gap = a.seconds / (a.changes + 1)
    for i in range(a.changes):
        nxt = t_start + gap * (i + 1)
        while time.monotonic() < nxt:
            time.sleep(0.05)
        want = i % 2 == 0
        t0 = time.monotonic()
        code, _ = papi.req("PATCH", "/apis/%s/globalnetworkpolicies/default.scale" % GROUP,
                           {"spec": {"ingress": policy_rules(want)}},
                           "application/merge-patch+json")
        t_resp = time.monotonic(); rtt.append((t_resp - t0) * 1000)
        deadline = time.monotonic() + 10     # from the answer: the server may stall
        while time.monotonic() < deadline and reachable() != want:
            time.sleep(0.005)
        t1 = time.monotonic()
        if reachable() == want:  # also from the answer: stored by then, no server stall
            lat.append((t1 - t0) * 1000)
            lat_resp.append(max(0.0, t1 - t_resp) * 1000)
    while time.monotonic() < t_start + a.seconds:
        time.sleep(0.1)
    stop.set()
    _ = [d.join(10) for d in ds]
    t_end = time.monotonic()
    cpu1, b1 = thread_cpu(nfq), nft_bytes()
    win = t_end - t_start
    lines = log_lines(a.log)[log0:]
    pub = [l for l in lines if "table published" in l]
    unch = [l for l in lines if "table unchanged" in l]

    def cpu_pct(t0v, t1v):
        return (t1v - t0v) / hz / win * 100
    main = cpu_pct(cpu0.get(nfq, ("", 0))[1], cpu1.get(nfq, ("", 0))[1])
    tot = cpu_pct(pcpu0, sum(v[1] for v in cpu1.values()))
    per = []
    for tid, (comm, t) in cpu1.items():
        c0 = cpu0.get(tid, (comm, 0))[1]
        per.append((cpu_pct(c0, t), tid, comm))
    per.sort(reverse=True)
    r = rss_of(nfq)
    print("  churn window: %.1f s" % win)
    ev = counts["pod_create"] + counts["pod_delete"] + counts["pod_label"]
    nev = counts["node_ann"] + counts["node_status"] + counts["node_label"]
    print("  pod events sent: %d (%.1f/s: %d create+status, %d delete, %d label)"
          % (ev, ev / win, counts["pod_create"], counts["pod_delete"], counts["pod_label"]))
    print("  node events sent: %d (%.1f/s: %d annotation, %d status heartbeat, %d label)"
          % (nev, nev / win, counts["node_ann"], counts["node_status"], counts["node_label"]))
    print("  driver errors: %d %s" % (counts["errors"], errs[:3]))
    print("  nfqwall CPU: main thread %.1f%%, whole process %.1f%% (of one core)" % (main, tot))
    print("  busiest threads: " + ", ".join(
        "%s%s %.1f%%" % (comm, " (main)" if tid == nfq else "/%d" % tid, v)
        for v, tid, comm in per[:6]) + " (%d threads)" % len(per))
    print("  reloads: %d table published, %d table unchanged (%.2f/s)"
          % (len(pub), len(unch), (len(pub) + len(unch)) / win))
    for field in ("compile_ms", "load_ms", "rules_ms", "total_ms"):
        v = [float(m.group(1)) for l in pub + unch for m in [re.search(field + r"=([0-9.]+)", l)] if m]
        if v:
            print("  %s: median %.1f  p90 %.1f  p99 %.1f  max %.1f  (n=%d)"
                  % (field, pct(v, .5), pct(v, .9), pct(v, .99), max(v), len(v)))
    print("  nfqwall RSS at the end: VmRSS %s MiB, VmHWM %s MiB" % (r.get("VmRSS"), r.get("VmHWM")))
    if b0 >= 0 and b1 >= 0:
        print("  bytes from the API to nfqwall: %d (%.0f B/s)" % (b1 - b0, (b1 - b0) / win))
    if lat:
        print("  policy change -> verdict under churn: %d/%d observed; ms median %.1f  p90 %.1f  p99 %.1f  max %.1f"
              % (len(lat), a.changes, pct(lat, .5), pct(lat, .9), pct(lat, .99), max(lat)))
    else:
        print("  policy change -> verdict under churn: none of %d observed" % a.changes)
    if lat_resp:
        print("  policy change -> verdict under churn, from the PATCH answer: ms median %.1f  p90 %.1f"
              "  p99 %.1f  max %.1f" % tuple(pct(lat_resp, q) for q in (.5, .9, .99, 1.0)))
    if rtt:
        print("  (the PATCH round trip alone: ms median %.1f  p90 %.1f  max %.1f)" % tuple(pct(rtt, q) for q in (.5, .9, 1.0)))


def policy_rules(open9090):
    rules = [{"action": "Allow", "source": {"nets": ["127.0.0.0/8"]}},
             {"action": "Allow", "protocol": "TCP",
              "source": {"selector": "has(lke.linode.com/pool-id)"},
              "destination": {"ports": [8080]}},
             {"action": "Allow", "protocol": "TCP",
              "source": {"selector": "app == 'prometheus'", "namespaceSelector": "team == 'obs'"},
              "destination": {"ports": [9100]}}]
    if open9090:
        rules.append({"action": "Allow", "protocol": "TCP", "destination": {"ports": [9090]}})
    return rules


def cmd_policy(a):
    items = [{"apiVersion": GROUP, "kind": "HostEndpoint",
              "metadata": {"name": "node-1", "labels": {"role": "node"}},
              "spec": {"node": "node-1", "interfaceName": "*", "expectedIPs": ["192.0.2.1"],
                       "profiles": ["projectcalico-default-allow"]}},
             {"apiVersion": GROUP, "kind": "GlobalNetworkPolicy",
              "metadata": {"name": "default.scale"},
              "spec": {"tier": "default", "order": 10, "selector": "role == 'node'",
                       "types": ["Ingress"], "ingress": policy_rules(False)}}]
    print(json.dumps(admin_post(a.admin_port, "/objects", {"items": items})[0]))


def cmd_probe(a):
    """Connect from here (the client namespace) to 192.0.2.1:PORT."""
    s = socket.socket()
    s.settimeout(0.5)
    try:
        s.connect(("192.0.2.1", a.probe_port))
        print("open")
    except OSError:
        print("closed")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["load", "churn", "policy", "probe"])
    ap.add_argument("--port", type=int)
    ap.add_argument("--admin-port", type=int)
    ap.add_argument("--token-file")
    ap.add_argument("--ca")
    ap.add_argument("--api-pid", type=int, default=0)
    ap.add_argument("--nodes", type=int, default=5000)
    ap.add_argument("--pods", type=int, default=150000)
    ap.add_argument("--namespaces", type=int, default=500)
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--names-out")
    ap.add_argument("--names")
    ap.add_argument("--nfq-pid", type=int)
    ap.add_argument("--log")
    ap.add_argument("--client-netns")
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--pod-rate", type=float, default=50)
    ap.add_argument("--node-rate", type=float, default=5)
    ap.add_argument("--changes", type=int, default=15)
    ap.add_argument("--probe-port", type=int, default=9100)
    a = ap.parse_args()
    {"load": cmd_load, "churn": cmd_churn, "policy": cmd_policy, "probe": cmd_probe}[a.cmd](a)


if __name__ == "__main__":
    main()
