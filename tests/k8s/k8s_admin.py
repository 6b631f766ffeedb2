"""Test-side machinery of the nfqwall test API server: the test CA and
serving certificate (made with openssl), bearer tokens (a re-read token file
plus a kubelet-style service-account directory), runtime fault injection,
request statistics, and the plain-HTTP admin endpoint that controls them."""

import json
import os
import secrets
import shutil
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _write_atomic(path, data, mode=0o644):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


# -------------------------------------------------------------------- certs

class Certs:
    """A test CA and a serving certificate with SANs for the loopback
    addresses (plus --san extras), in state-dir: ca.crt, ca.key, tls.crt,
    tls.key.  Existing files are reused so that a restarted server keeps its
    CA."""

    def __init__(self, state_dir, sans):
        self.dir = state_dir
        self.sans = ["IP:127.0.0.1", "IP:::1", "DNS:localhost",
                     "DNS:kubernetes", "DNS:kubernetes.default",
                     "DNS:kubernetes.default.svc",
                     "DNS:kubernetes.default.svc.cluster.local"]
        for s in sans:
            self.sans.append(s if ":" in s and s.split(":", 1)[0] in
                             ("IP", "DNS") else
                             ("IP:" + s if s[0].isdigit() or ":" in s
                              else "DNS:" + s))
        self.ca = os.path.join(state_dir, "ca.crt")
        self.ca_key = os.path.join(state_dir, "ca.key")
        self.crt = os.path.join(state_dir, "tls.crt")
        self.key = os.path.join(state_dir, "tls.key")
        self.generation = 0

    def _openssl(self, *args):
        subprocess.run(["openssl"] + list(args), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def ensure(self, new_ca=False, new_cert=False):
        tmp = os.path.join(self.dir, ".certgen")
        os.makedirs(tmp, exist_ok=True)
        ca, ca_key = self.ca, self.ca_key
        if new_ca or not (os.path.exists(ca) and os.path.exists(ca_key)):
            ca, ca_key = os.path.join(tmp, "ca.crt"), os.path.join(tmp,
                                                                  "ca.key")
            self._openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                          "ec_paramgen_curve:prime256v1", "-nodes",
                          "-keyout", ca_key, "-out", ca, "-days", "3650",
                          "-subj", "/CN=nfqwall-test-ca-%s" %
                          secrets.token_hex(4),
                          "-addext", "basicConstraints=critical,CA:TRUE",
                          "-addext", "keyUsage=critical,keyCertSign,cRLSign")
            new_cert = True
        if new_cert or not (os.path.exists(self.crt) and
                            os.path.exists(self.key)):
            ext = os.path.join(tmp, "ext.cnf")
            with open(ext, "w") as f:
                f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\n"
                        "keyUsage=critical,digitalSignature,keyEncipherment\n"
                        "extendedKeyUsage=serverAuth\n" % ",".join(self.sans))
            csr, key, crt = (os.path.join(tmp, n) for n in
                             ("tls.csr", "tls.key", "tls.crt"))
            self._openssl("req", "-new", "-newkey", "ec", "-pkeyopt",
                          "ec_paramgen_curve:prime256v1", "-nodes",
                          "-keyout", key, "-out", csr, "-subj",
                          "/CN=kube-apiserver")
            self._openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey",
                          ca_key, "-set_serial",
                          str(int.from_bytes(os.urandom(8), "big")),
                          "-days", "365", "-extfile", ext, "-out", crt)
            for src, dst in ((ca_key, self.ca_key), (key, self.key),
                             (crt, self.crt), (ca, self.ca)):
                if src != dst:
                    os.replace(src, dst)
        shutil.rmtree(tmp, ignore_errors=True)
        self.generation += 1

    def context(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.crt, self.key)
        ctx.set_alpn_protocols(["http/1.1"])
        return ctx


# ------------------------------------------------------------------- tokens

class Tokens:
    """Valid bearer tokens: every non-empty line of the token file, re-read
    whenever the file changes.  A service-account directory in the kubelet's
    layout (token, ca.crt, namespace behind a ..data symlink, swapped
    atomically) mirrors the first token and the CA."""

    def __init__(self, path, sa_dir, ca_path):
        self.path, self.sa_dir, self.ca_path = path, sa_dir, ca_path
        self.lock = threading.Lock()
        self._stamp, self._tokens = None, set()
        if not os.path.exists(path):
            _write_atomic(path, secrets.token_urlsafe(32) + "\n", 0o600)
        self.reload()

    def reload(self):
        try:
            st = os.stat(self.path)
            stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = None
        with self.lock:
            if stamp == self._stamp:
                return
            self._stamp = stamp
            try:
                with open(self.path) as f:
                    lines = [ln.strip() for ln in f]
            except OSError:
                lines = []
            self._tokens = {ln for ln in lines if ln}
            self._first = next((ln for ln in lines if ln), "")

    def valid(self, tok):
        self.reload()
        with self.lock:
            return bool(tok) and tok in self._tokens

    def first(self):
        self.reload()
        with self.lock:
            return self._first

    def write_sa_dir(self, namespace="kube-system"):
        """kubelet's AtomicWriter: files in a timestamped dir, ..data points
        at it, the visible names are symlinks through ..data."""
        os.makedirs(self.sa_dir, exist_ok=True)
        stamp = "..%s.%s" % (time.strftime("%Y_%m_%d_%H_%M_%S"),
                             secrets.token_hex(4))
        d = os.path.join(self.sa_dir, stamp)
        os.mkdir(d)
        with open(self.ca_path) as f:
            ca = f.read()
        for name, data in (("token", self.first() + "\n"), ("ca.crt", ca),
                           ("namespace", namespace)):
            with open(os.path.join(d, name), "w") as f:
                f.write(data.rstrip("\n") if name == "token" else data)
        link = os.path.join(self.sa_dir, "..data_tmp")
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(stamp, link)
        old = os.path.realpath(os.path.join(self.sa_dir, "..data"))
        os.replace(link, os.path.join(self.sa_dir, "..data"))
        for name in ("token", "ca.crt", "namespace"):
            p = os.path.join(self.sa_dir, name)
            if not os.path.lexists(p):
                os.symlink(os.path.join("..data", name), p)
        if os.path.isdir(old) and os.path.basename(old) != stamp:
            shutil.rmtree(old, ignore_errors=True)

    def rotate(self, new=None, grace=0.0):
        """New token; the old one stays valid for grace seconds."""
        old = self.first()
        new = new or secrets.token_urlsafe(32)
        lines = [new] + ([old] if grace > 0 and old else [])
        _write_atomic(self.path, "\n".join(lines) + "\n", 0o600)
        self.reload()
        self.write_sa_dir()
        if grace > 0:
            def expire():
                if self.first() == new:
                    _write_atomic(self.path, new + "\n", 0o600)
                    self.reload()
            t = threading.Timer(grace, expire)
            t.daemon = True
            t.start()
        return new


# ------------------------------------------------------------------- faults

FAULT_DEFAULTS = {
    "fail_with": 0,            # HTTP status to fail API requests with
    "fail_count": 0,           # how many (-1: until cleared)
    "fail_paths": [],          # only paths containing one of these
    "fail_verbs": [],          # only these verbs (list, watch, get, ...)
    "retry_after": 1,          # Retry-After for 429 (and 503)
    "fail_429_body": "text",   # APF's plain text, or "status"
    "stall_until": 0.0,        # monotonic time; set through stall_seconds
    "stall_verbs": [],         # only these verbs stall (default all)
    "latency_ms": 0,           # added to every API response
    "drop_next_watch": 0,      # next N watches: headers, then RST
    "drop_mid_event": 0,       # next N event writes: half written, RST
    "split_chunks": False,     # write watch bytes as tiny chunks
    "chunk_size": 7,
    "split_delay_ms": 1.0,
    "merge_events": False,     # pending events in one chunk
    "watch_410_mode": "event",  # "event" (200 + ERROR) or "http" (410)
    "watch_410_reason": "Expired",
    "bookmark_interval": 60.0,  # seconds; 0 disables periodic bookmarks
    "bookmark_before_deadline": 2.0,
    "watch_cap_seconds": 0,    # server-side cap on every watch (clean end)
    "rv_jump": 1000,           # restart_history jumps the RV this far
    # a broken or hostile server (only on paths containing one of
    # hostile_paths, when set):
    "expire_next_continue": 0,  # next N lists with a continue token: 410
    "watch_endless_line": 0,   # next N watches: 200, then a line without end
    "endless_list": 0,         # next N lists: 200, then a body without end
    "hostile_paths": [],
    "endless_bytes": 256 << 20,  # an endless body stops here (clean end)
}
COUNTERS = ("drop_next_watch", "drop_mid_event", "expire_next_continue",
            "watch_endless_line", "endless_list")
ONE_SHOT = ("restart_history", "compact", "drop_watches", "end_watches",
            "expire_continue", "stall_seconds", "bump_rv", "down_seconds")


class Faults:
    def __init__(self, **overrides):
        self.lock = threading.Lock()
        self.defaults = dict(FAULT_DEFAULTS, **overrides)
        self.state = dict(self.defaults)

    def get(self, k):
        with self.lock:
            return self.state[k]

    def snapshot(self):
        with self.lock:
            d = dict(self.state)
        d["stall_remaining"] = max(0.0, d.pop("stall_until") -
                                   time.monotonic())
        return d

    def update(self, d):
        with self.lock:
            for k, v in d.items():
                if k in ONE_SHOT:
                    continue
                if k not in self.state:
                    raise KeyError(k)
                if isinstance(v, bool) and k in COUNTERS:
                    v = int(v)
                self.state[k] = v
            if "stall_seconds" in d:
                self.state["stall_until"] = time.monotonic() + \
                    float(d["stall_seconds"])

    def clear(self):
        with self.lock:
            self.state = dict(self.defaults)

    def take_failure(self, path, verb):
        """The injected HTTP status for this request, or 0."""
        with self.lock:
            s = self.state
            if not s["fail_with"] or s["fail_count"] == 0:
                return 0
            if s["fail_paths"] and not any(p in path
                                           for p in s["fail_paths"]):
                return 0
            if s["fail_verbs"] and verb not in s["fail_verbs"]:
                return 0
            if s["fail_count"] > 0:
                s["fail_count"] -= 1
            return s["fail_with"]

    def take(self, k):
        """Decrement a counter fault; True if it fired."""
        with self.lock:
            if self.state[k] > 0:
                self.state[k] -= 1
                return True
            return False

    def take_hostile(self, k, path):
        """Decrement a hostile-server counter for a request on `path`;
        True if it fired."""
        with self.lock:
            paths = self.state["hostile_paths"]
            if paths and not any(p in path for p in paths):
                return False
            if self.state[k] > 0:
                self.state[k] -= 1
                return True
            return False

    def stall_left(self, verb):
        with self.lock:
            if self.state["stall_verbs"] and \
                    verb not in self.state["stall_verbs"]:
                return 0.0
            return self.state["stall_until"] - time.monotonic()


# -------------------------------------------------------------------- stats

class Stats:
    def __init__(self, keep=5000):
        self.lock = threading.Lock()
        self.keep = keep
        self.reset()

    def reset(self):
        with self.lock:
            self.total = 0
            self.by_key, self.by_verb, self.by_status = {}, {}, {}
            self.log = []
            self.t0 = time.time()

    def count(self, verb, path):
        """Counted when the request starts (a watch counts while open)."""
        with self.lock:
            self.total += 1
            k = "%s %s" % (verb, path)
            self.by_key[k] = self.by_key.get(k, 0) + 1
            self.by_verb[verb] = self.by_verb.get(verb, 0) + 1

    def record(self, entry):
        """Logged when the request ends, with its status."""
        with self.lock:
            s = str(entry["status"])
            self.by_status[s] = self.by_status.get(s, 0) + 1
            self.log.append(entry)
            if len(self.log) > self.keep * 1.2:
                del self.log[:len(self.log) - self.keep]

    def snapshot(self, log_tail=200):
        with self.lock:
            return {"since": self.t0, "total": self.total,
                    "requests": dict(self.by_key),
                    "by_verb": dict(self.by_verb),
                    "by_status": dict(self.by_status),
                    "log": list(self.log[-log_tail:]) if log_tail else []}


# -------------------------------------------------------------------- admin

class AdminHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    api = None          # the ApiServer, set by start_admin

    def log_message(self, fmt, *args):
        pass

    def _reply(self, code, obj):
        body = (json.dumps(obj, indent=1, sort_keys=True) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        return json.loads(raw) if raw.strip() else {}

    def do_GET(self):
        api = self.api
        path, _, query = self.path.partition("?")
        if path == "/faults":
            self._reply(200, api.faults.snapshot())
        elif path == "/stats":
            tail = 200
            if "log=" in query:
                tail = int(query.split("log=", 1)[1].split("&")[0])
            d = api.stats.snapshot(tail)
            d["active_watches"] = len(api.watches)
            d["resourceVersion"] = api.store.rv
            self._reply(200, d)
        elif path == "/state":
            st = api.store
            with st.lock:
                self._reply(200, {
                    "resourceVersion": st.rv,
                    "watch_min_rv": st.watch_min_rv(),
                    "etcd_min_rv": st.etcd_min_rv(),
                    "epoch": st.epoch, "events": len(st.log),
                    "objects": {"/".join(k): len(v)
                                for k, v in st.objects.items()},
                    "token": api.tokens.first(),
                    "port": api.port, "cert_generation":
                    api.certs.generation})
        elif path == "/dump":
            st = api.store
            with st.lock:
                self._reply(200, {"/".join(k): v
                                  for k, v in st.objects.items()})
        else:
            self._reply(404, {"error": "unknown path"})

    def do_DELETE(self):
        if self.path == "/faults":
            self.api.faults.clear()
            self._reply(200, self.api.faults.snapshot())
        elif self.path == "/stats":
            self.api.stats.reset()
            self._reply(200, {"ok": True})
        else:
            self._reply(404, {"error": "unknown path"})

    def do_POST(self):
        api = self.api
        try:
            d = self._body()
        except ValueError as e:
            return self._reply(400, {"error": "bad JSON: %s" % e})
        path = self.path.split("?")[0]
        try:
            if path == "/faults":
                api.faults.update(d)
                if d.get("compact") or d.get("expire_continue"):
                    api.store.compact()
                if d.get("bump_rv"):
                    for _ in range(int(d["bump_rv"])):
                        api.store.bump()
                if d.get("restart_history"):
                    api.store.restart_history(api.faults.get("rv_jump"))
                if d.get("drop_watches"):
                    api.abort_watches(abrupt=True)
                if d.get("end_watches"):
                    api.abort_watches(abrupt=False)
                if d.get("down_seconds"):
                    api.go_down(float(d["down_seconds"]))
                self._reply(200, api.faults.snapshot())
            elif path == "/stats/reset":
                api.stats.reset()
                self._reply(200, {"ok": True})
            elif path == "/rotate-token":
                tok = api.tokens.rotate(d.get("token"),
                                        float(d.get("grace_seconds", 0)))
                api.write_kubeconfig()
                self._reply(200, {"token": tok})
            elif path == "/rotate-cert":
                api.certs.ensure(new_ca=bool(d.get("new_ca")),
                                 new_cert=True)
                api.ssl_ctx = api.certs.context()
                api.tokens.write_sa_dir()
                self._reply(200, {"generation": api.certs.generation})
            elif path == "/objects":
                self._reply(200, api.load_objects(d.get("items", [])))
            else:
                self._reply(404, {"error": "unknown path"})
        except KeyError as e:
            self._reply(400, {"error": "unknown fault %s" % e})
        except Exception as e:  # noqa: BLE001 - report to the test
            self._reply(500, {"error": repr(e)})


def start_admin(api, host, port):
    handler = type("Admin", (AdminHandler,), {"api": api})
    srv = ThreadingHTTPServer((host, port), handler)
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    return srv
