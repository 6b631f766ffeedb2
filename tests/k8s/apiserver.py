#!/usr/bin/env python3
"""A faithful test API server for nfqwall: the Kubernetes API wire protocol
(as kube-apiserver v1.32 speaks it over HTTP/1.1 + TLS) for Node, Namespace
and the Calico policy kinds, in memory, with runtime fault injection.

    apiserver.py --state-dir DIR --port N --admin-port N [--groups v1,v3]
                 [--token-file F] [--bind ADDR]... [--san NAME]...

Prints "ready port=N admin_port=M" on stdout once both listeners are up.
State-dir gets ca.crt (the test CA), tls.crt/tls.key, token (unless
--token-file), serviceaccount/ (kubelet layout), kubeconfig, port,
admin-port.  See tests/k8s/README.md for the admin fault API and the gaps.
Python 3 standard library only (plus the openssl command for the CA).
"""

import argparse
import gzip
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import k8s_delete  # noqa: E402
import k8s_proto  # noqa: E402
import k8s_resources as kr  # noqa: E402
from k8s_admin import Certs, Faults, Stats, Tokens, start_admin  # noqa: E402
from k8s_errors import ApiError, bad_request  # noqa: E402
from k8s_store import Store  # noqa: E402
from k8s_watch import Abort, WatchMixin, compact  # noqa: E402

PUBLIC_PATHS = ("/version", "/version/", "/healthz", "/livez", "/readyz")
PATCH_TYPES = ("application/merge-patch+json", "application/json-patch+json",
               "application/strategic-merge-patch+json",
               "application/apply-patch+yaml")


def negotiate(accept, allowed):
    """First media range of Accept that the endpoint can produce.  allowed:
    set of "json", "table", "pom", "pomlist", "agg".  Returns (form,
    version) or None (406)."""
    if not accept.strip():
        return ("json", None)
    for media in accept.split(","):
        parts = [p.strip() for p in media.split(";")]
        mt = parts[0].lower()
        params = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        if mt not in ("application/json", "*/*", "application/*"):
            continue
        a, g, v = params.get("as"), params.get("g"), params.get("v")
        if not a:
            if "json" in allowed:
                return ("json", None)
            continue
        if a == "Table" and g == "meta.k8s.io" and \
                v in ("v1", "v1beta1") and "table" in allowed:
            return ("table", v)
        if a == "PartialObjectMetadata" and g == "meta.k8s.io" and \
                v in ("v1", "v1beta1") and "pom" in allowed:
            return ("pom", v)
        if a == "PartialObjectMetadataList" and g == "meta.k8s.io" and \
                v in ("v1", "v1beta1") and "pomlist" in allowed:
            return ("pomlist", v)
        if a == "APIGroupDiscoveryList" and g == "apidiscovery.k8s.io" and \
                v in ("v2", "v2beta1") and "agg" in allowed:
            return ("agg", v)
    return None


class ApiHandler(WatchMixin, BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 90        # kube-apiserver's http.Server IdleTimeout
    api = None

    # -------------------------------------------------------- connection

    def setup(self):
        self.api.conns.add(self.request)
        try:
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        raw = self.request
        if getattr(self.server, "plain", False):     # --plain-port
            return super().setup()
        try:
            raw.settimeout(30)
            self.request = self.api.ssl_ctx.wrap_socket(raw, server_side=True)
            self.request.settimeout(None)
        except (OSError, ValueError):
            self.api.conns.discard(raw)
            raw.close()
            raise Abort()
        self.api.conns.discard(raw)
        self.api.conns.add(self.request)
        self.connection = self.request
        super().setup()

    def finish(self):
        self.api.conns.discard(self.request)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, fmt, *args):
        pass

    def _rst(self):
        """Abort the connection with a TCP RST (no TLS close_notify, no
        chunked terminator)."""
        try:
            self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                    struct.pack("ii", 1, 0))
        except OSError:
            pass
        try:
            self.request.close()
        except OSError:
            pass
        self.close_connection = True

    # ---------------------------------------------------------- writing

    def _headers(self, code, ctype, extra=None, length=None, chunked=False,
                 encoding=None):
        self.send_response_only(code)
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Cache-Control", "no-cache, private")
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Date", self.date_time_string())
        if encoding:
            self.send_header("Content-Encoding", encoding)
        self.send_header("X-Kubernetes-Pf-Flowschema-Uid", self.api.fs_uid)
        self.send_header("X-Kubernetes-Pf-Prioritylevel-Uid",
                         self.api.pl_uid)
        for k, v in (extra or {}).items():
            self.send_header(k, str(v))
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()
        self.status = code

    def _chunk(self, data):
        if self.chunked:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        else:
            self.wfile.write(data)

    def send_body(self, code, body, ctype="application/json", extra=None):
        """Like Go's net/http behind the apiserver: small bodies get a
        Content-Length, larger ones are chunked, > 128 KiB is gzipped when
        the client accepts it."""
        enc = None
        if len(body) > 128 * 1024 and "gzip" in \
                self.headers.get("Accept-Encoding", ""):
            body, enc = gzip.compress(body, 1), "gzip"
        self.chunked = len(body) > 2048 and \
            self.request_version == "HTTP/1.1"
        self._headers(code, ctype, extra, length=None if self.chunked
                      else len(body), chunked=self.chunked, encoding=enc)
        if self.command == "HEAD":
            return
        if self.chunked:
            for i in range(0, len(body), 4096):
                self._chunk(body[i:i + 4096])
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(body)
        if self.request_version != "HTTP/1.1":
            self.close_connection = True

    def send_json(self, code, obj, ctype="application/json", extra=None):
        self.send_body(code, compact(obj), ctype, extra)

    def send_error_status(self, e):
        self.send_json(e.code, e.status(), extra=e.headers)

    def send_text(self, code, text, extra=None):
        h = {"X-Content-Type-Options": "nosniff"}
        h.update(extra or {})
        self.send_body(code, text.encode(), "text/plain; charset=utf-8", h)

    # ------------------------------------------------------------ dispatch

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                n = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if n == 0:
                    self.rfile.readline()
                    return out
                out += self.rfile.read(n)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def dispatch(self):
        api = self.api
        t0 = time.monotonic()
        self.status, self.verb, self.chunked = 0, self.command.lower(), False
        u = urllib.parse.urlsplit(self.path)
        self.upath = u.path
        self.q = {k: v[-1] for k, v in urllib.parse.parse_qs(
            u.query, keep_blank_values=True).items()}
        auth = "no"
        try:
            self.body = self.read_body()
            route = self.route()
            api.stats.count(self.verb, self.upath)
            h = self.headers.get("Authorization", "")
            if h[:7].lower() == "bearer ":
                auth = "yes" if api.tokens.valid(h[7:].strip()) else "bad"
            if auth != "yes" and not (auth == "no" and
                                      self.upath in PUBLIC_PATHS):
                raise ApiError(401, "Unauthorized", "Unauthorized")
            stall = api.faults.stall_left(self.verb)
            if stall > 0 and self.verb != "watch":
                time.sleep(stall)
            code = api.faults.take_failure(self.upath, self.verb)
            if code:
                self.injected_failure(code)
            else:
                lat = api.faults.get("latency_ms")
                if lat:
                    time.sleep(lat / 1000.0)
                route()
        except ApiError as e:
            if not self.status:
                self.send_error_status(e)
        except Abort:
            self.close_connection = True
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True
            self.status = self.status or -1
        except Exception as e:  # noqa: BLE001 - turn bugs into 500s
            import traceback
            traceback.print_exc()
            if not self.status:
                self.send_error_status(ApiError(500, "InternalError",
                                                "Internal error occurred: %r"
                                                % e))
        api.record(self, t0, auth)

    def injected_failure(self, code):
        ra = self.api.faults.get("retry_after")
        if code == 429 and self.api.faults.get("fail_429_body") == "text":
            self.send_text(429, "Too many requests, please try again later.\n",
                           {"Retry-After": ra})
            return
        reasons = {429: "TooManyRequests", 500: "InternalError",
                   503: "ServiceUnavailable", 504: "Timeout",
                   502: "", 410: "Expired", 409: "Conflict",
                   403: "Forbidden"}
        msgs = {429: "Too many requests, please try again later.",
                500: "Internal error occurred: injected fault",
                503: "The server is currently unable to handle the request",
                504: "The server was unable to return a response in the time"
                     " allotted, but may still be processing the request"}
        extra = {"Retry-After": ra} if code in (429, 503) else {}
        e = ApiError(code, reasons.get(code, "InternalError"),
                     msgs.get(code, "injected fault %d" % code),
                     {"retryAfterSeconds": ra} if extra else None, extra)
        self.send_error_status(e)

    # ------------------------------------------------------------ routing

    def route(self):
        """Resolve the path; returns a callable that serves it (routing
        errors are raised after authentication, as the real server does)."""
        p = self.upath
        parts = [x for x in p.split("/") if x]
        api = self.api
        if p in ("/version", "/version/"):
            return lambda: self.send_json(200, api.version)
        if p in ("/healthz", "/livez", "/readyz"):
            return lambda: self.send_text(200, "ok")
        if p == "/api":
            return lambda: self.discovery(True)
        if p == "/apis":
            return lambda: self.discovery(False)
        if p == "/openapi/v3":
            return lambda: self.send_json(200, kr.openapi_index(api.cat))
        if p.startswith("/openapi/v3/"):
            segs = parts[2:]
            grp, ver = ("", segs[1]) if segs[:1] == ["api"] and \
                len(segs) == 2 else (segs[1], segs[2]) if len(segs) == 3 \
                else (None, None)
            doc = kr.openapi_gv(api.cat, grp, ver) if ver else None
            if doc is None:
                return lambda: self.send_text(404, "404 page not found\n")
            return lambda: self.send_json(200, doc)
        if parts[:1] == ["api"] and len(parts) >= 2:
            grp, ver, rest = "", parts[1], parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 2:
            grp = parts[1]
            if len(parts) == 2:
                d = kr.api_group(api.cat, grp)
                return (lambda: self.send_json(200, d)) if d else \
                    (lambda: self.send_text(404, "404 page not found\n"))
            ver, rest = parts[2], parts[3:]
        else:
            return lambda: self.send_text(404, "404 page not found\n")
        if not rest:
            d = kr.api_resource_list(api.cat, grp, ver)
            return (lambda: self.send_json(200, d)) if d else \
                (lambda: self.send_text(404, "404 page not found\n"))
        r = self.resolve(grp, ver, rest)
        if r is None:
            def nf():
                raise ApiError(404, "NotFound", "the server could not find "
                               "the requested resource", {"causes": [{
                                   "reason": "UnexpectedServerResponse",
                                   "message": "404 page not found"}]})
            return nf
        return lambda: self.resource(*r)

    def resolve(self, grp, ver, rest):
        st = self.api.store
        legacy_watch = rest[0] == "watch"
        if legacy_watch:
            rest = rest[1:]
        ns = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            r = st.res_by_plural(grp, ver, rest[2])
            if r is not None and r.namespaced:
                ns, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            return None
        r = st.res_by_plural(grp, ver, rest[0])
        if r is None or (r.namespaced and ns is None and len(rest) > 1):
            return None
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if sub is not None and not (sub == "status" and r.status):
            return None
        m = self.command
        if m in ("GET", "HEAD"):
            self.verb = "watch" if legacy_watch or self.q.get("watch") in (
                "true", "1") else "get" if name else "list"
        else:
            self.verb = {"POST": "create", "PUT": "update", "PATCH": "patch",
                         "DELETE": "delete" if name else "deletecollection"
                         }.get(m, m.lower())
        return r, ns, name, sub, legacy_watch

    def discovery(self, core):
        api = self.api
        form = negotiate(self.headers.get("Accept", ""), {"json", "agg"})
        if form is None:
            raise ApiError(406, "NotAcceptable", "only the following media "
                           "types are accepted: application/json")
        if form[0] == "agg":
            doc = kr.aggregated(api.cat, core, form[1])
            self.send_json(200, doc, "application/json;g=apidiscovery.k8s.io"
                           ";v=%s;as=APIGroupDiscoveryList" % form[1],
                           {"Vary": "Accept", "ETag": '"%016X"' % (
                               hash(json.dumps(doc, sort_keys=True)) &
                               0xFFFFFFFFFFFFFFFF)})
        elif core:
            self.send_json(200, kr.api_versions(api.address))
        else:
            self.send_json(200, kr.api_group_list(api.cat))

    # ----------------------------------------------------------- resources

    def resource(self, res, ns, name, sub, legacy_watch):
        st, q, m = self.api.store, self.q, self.command
        dry = q.get("dryRun", "")
        if dry not in ("", "All"):
            raise bad_request('dryRun: Unsupported value: "%s": supported '
                              'values: "All"' % dry)
        fv = q.get("fieldValidation", "")
        if fv not in ("", "Ignore", "Warn", "Strict"):
            raise bad_request("fieldValidation: Unsupported value: %r" % fv)
        dry = bool(dry)
        watch = legacy_watch or q.get("watch", "") in ("true", "1")
        if m in ("GET", "HEAD"):
            if watch:
                return self.serve_watch(res, ns, name)
            if name is None:
                return self.serve_list(res, ns)
            return self.send_obj(200, res, st.get(res, ns, name))
        if legacy_watch:
            raise self.not_allowed()
        if m == "POST":
            if name is not None or (res.namespaced and ns is None):
                raise self.not_allowed()
            return self.send_obj(201, res, st.create(res, ns, self.json_body(
                res), dry))
        if name is None and m != "DELETE":
            raise self.not_allowed()
        if m == "PUT":
            return self.send_obj(200, res, st.update(
                res, ns, name, self.json_body(res), sub, dry))
        if m == "PATCH":
            ctype = self.headers.get("Content-Type", "").split(";")[0].strip()
            if ctype not in PATCH_TYPES:
                raise ApiError(415, "UnsupportedMediaType", "the body of the"
                               " request was in an unknown format - accepted"
                               " media types include: application/json-patch"
                               "+json, application/merge-patch+json, "
                               "application/apply-patch+yaml")
            obj = st.patch(res, ns, name, ctype, self.body,
                           q.get("fieldManager"), q.get("force") == "true",
                           sub, dry)
            return self.send_obj(200, res, obj)
        if m == "DELETE":
            return self.serve_delete(res, ns, name, dry)
        raise self.not_allowed()

    def serve_delete(self, res, ns, name, dry):
        """DELETE of one object or a collection (k8s_delete.py)."""
        st = self.api.store
        opts = k8s_delete.parse_options(self.body, self.q)
        dry = dry or "All" in (opts.get("dryRun") or [])
        if name is None:
            if ns is None and res.namespaced:
                raise self.not_allowed()
            items = st.delete_collection(res, ns, self.q, opts, dry)
            return self.send_json(200, self.list_doc(res, items, {
                "resourceVersion": str(st.rv)}, ("json", None)))
        obj, deleted = st.delete(res, ns, name, opts, dry)
        code = 202 if not deleted and \
            opts.get("orphanDependents") is False else 200
        if not deleted or res.return_deleted or res.kind == "Namespace":
            return self.send_obj(code, res, obj)
        return self.send_json(code, k8s_delete.deleted_status(res, obj))

    def not_allowed(self):
        return ApiError(405, "MethodNotAllowed", "the server does not allow "
                        "this method on the requested resource")

    def json_body(self, res):
        ctype = self.headers.get("Content-Type", "application/json")
        ctype = ctype.split(";")[0].strip()
        if ctype == "application/vnd.kubernetes.protobuf" and res.builtin:
            try:
                return k8s_proto.decode(self.body)
            except (ValueError, IndexError) as e:
                raise ApiError(415, "UnsupportedMediaType", str(e))
        if ctype not in ("application/json", "application/yaml", "*/*", ""):
            raise ApiError(415, "UnsupportedMediaType", "the body of the "
                           "request was in an unknown format - accepted "
                           "media types include: application/json, "
                           "application/yaml" + (
                               ", application/vnd.kubernetes.protobuf"
                               if res.builtin else ""))
        try:
            return json.loads(self.body)
        except ValueError as e:
            raise bad_request("Object 'Kind' is missing in '%s' (this test "
                              "server reads JSON bodies only: %s)" %
                              (self.body[:100].decode("utf-8", "replace"), e))

    def form(self, allowed):
        f = negotiate(self.headers.get("Accept", ""), allowed)
        if f is None:
            raise ApiError(406, "NotAcceptable", "the server was unable to "
                           "respond with a content type that the client "
                           "supports")
        return f

    def send_obj(self, code, res, obj):
        form, v = self.form({"json", "table", "pom"})
        if form == "table":
            doc = kr.to_table(res, [obj], {"resourceVersion": obj[
                "metadata"].get("resourceVersion", "")}, v,
                self.q.get("includeObject", "Metadata"))
        elif form == "pom":
            doc = kr.partial_metadata(obj, "meta.k8s.io/" + v)
        else:
            doc = obj
        self.send_json(code, doc)

    def list_doc(self, res, items, meta, form):
        form, v = form
        if form == "table":
            return kr.to_table(res, items, meta, v,
                               self.q.get("includeObject", "Metadata"))
        if form == "pomlist":
            return {"kind": "PartialObjectMetadataList",
                    "apiVersion": "meta.k8s.io/" + v, "metadata": meta,
                    "items": [kr.partial_metadata(o, "meta.k8s.io/" + v)
                              for o in items]}
        if res.builtin:
            items = [{k: x for k, x in o.items()
                      if k not in ("kind", "apiVersion")} for o in items]
        return {"apiVersion": res.gv, "kind": res.list_kind,
                "metadata": meta, "items": items}

    def serve_list(self, res, ns):
        form = self.form({"json", "table", "pomlist"})
        fl = self.api.faults
        cont = self.q.get("continue", "")
        if cont and fl.take_hostile("expire_next_continue", self.upath):
            raise self.api.store.continue_expired(cont)
        if fl.take_hostile("endless_list", self.upath):
            return self.endless_list(res)
        rv, items, token, remaining = self.api.store.list(
            res, ns, self.q, self.api.args.cache_ignores_limit)
        meta = {"resourceVersion": str(rv)}
        if token:
            meta["continue"] = token
        if remaining is not None:
            meta["remainingItemCount"] = remaining
        self.send_json(200, self.list_doc(res, items, meta, form))


class ApiServer:
    def __init__(self, args):
        self.args = args
        os.makedirs(args.state_dir, exist_ok=True)
        self.cat = kr.build_catalogue(args.groups)
        self.store = Store(self.cat, args.initial_rv, args.rv_gap,
                           args.watch_cache_size, args.watch_cache_seconds,
                           namespace_finalize_seconds=args.ns_finalize)
        self.certs = Certs(args.state_dir, args.san)
        self.certs.ensure()
        self.ssl_ctx = self.certs.context()
        self.tokens = Tokens(args.token_file or os.path.join(
            args.state_dir, "token"), os.path.join(args.state_dir,
                                                   "serviceaccount"),
            self.certs.ca)
        self.tokens.write_sa_dir()
        self.faults = Faults(**({} if args.bookmark_interval is None else
                                {"bookmark_interval":
                                 args.bookmark_interval}))
        self.stats = Stats()
        self.version = kr.version_info(args.version)
        self.fs_uid, self.pl_uid = str(uuid.uuid4()), str(uuid.uuid4())
        self.watches, self.conns = set(), set()
        self.servers = []
        self.port = args.port
        self.log = open(args.log_file, "a") if args.log_file else None
        self.log_lock = threading.Lock()
        nsres = self.store.res_by_plural("", "v1", "namespaces")
        for ns in args.namespaces.split(","):
            if ns:
                self.store.create(nsres, None, {
                    "apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": ns}})
        if args.load:
            with open(args.load) as f:
                d = json.load(f)
            self.load_objects(d["items"] if isinstance(d, dict) else d)

    @property
    def address(self):
        host = self.args.bind[0]
        return "[%s]:%d" % (host, self.port) if ":" in host else \
            "%s:%d" % (host, self.port)

    def start_listeners(self):
        handler = type("Api", (ApiHandler,), {"api": self})
        listen = [(h, self.port, False) for h in self.args.bind]
        if self.args.plain_port is not None:
            listen.append(("127.0.0.1", self.args.plain_port, True))
        servers = []
        for host, port, plain in listen:
            cls = type("Srv", (ThreadingHTTPServer,), {
                "address_family": socket.AF_INET6 if ":" in host
                else socket.AF_INET, "daemon_threads": True,
                "allow_reuse_address": True, "plain": plain,
                "handle_error": lambda *a: None})
            srv = cls((host, port if plain else self.port), handler)
            if plain:
                self.args.plain_port = srv.server_address[1]
            else:
                self.port = srv.server_address[1]
            servers.append(srv)
        for srv in servers:
            threading.Thread(target=srv.serve_forever, daemon=True).start()
        self.servers = servers

    def go_down(self, seconds):
        """The server goes away: listeners closed (connections refused) and
        open connections reset before this returns; it comes back on the
        same port after `seconds`, state kept."""
        servers, self.servers = self.servers, []
        for srv in servers:
            srv.shutdown()
            srv.server_close()
        self.abort_watches(abrupt=True)
        for c in list(self.conns):
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        def back():
            time.sleep(seconds)
            self.start_listeners()
        threading.Thread(target=back, daemon=True).start()

    def abort_watches(self, abrupt):
        for h in list(self.watches):
            h.abort = "rst" if abrupt else "end"
        with self.store.cond:
            self.store.cond.notify_all()

    def write_kubeconfig(self):
        path = os.path.join(self.args.state_dir, "kubeconfig")
        host = self.args.bind[0]
        host = "[%s]" % host if ":" in host else host
        cfg = ("apiVersion: v1\nkind: Config\nclusters:\n- name: test\n"
               "  cluster:\n    server: https://%s:%d\n"
               "    certificate-authority: %s\nusers:\n- name: test\n"
               "  user:\n    token: %s\ncontexts:\n- name: test\n"
               "  context:\n    cluster: test\n    user: test\n"
               "    namespace: default\ncurrent-context: test\n" % (
                   host, self.port, os.path.abspath(self.certs.ca),
                   self.tokens.first()))
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(cfg)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)

    def load_objects(self, items):
        """Create objects directly (bulk seeding for tests and benches)."""
        bykind = {(r.gv, r.kind): r for r in self.cat}
        created, errors = 0, []
        for o in items:
            r = bykind.get((o.get("apiVersion"), o.get("kind")))
            try:
                if r is None:
                    raise ApiError(400, "BadRequest", "no resource for %s %s"
                                   % (o.get("apiVersion"), o.get("kind")))
                ns = (o.get("metadata") or {}).get("namespace") \
                    if r.namespaced else None
                self.store.create(r, ns, o)
                created += 1
            except ApiError as e:
                errors.append(e.message)
        return {"created": created, "errors": errors[:20],
                "resourceVersion": self.store.rv}

    def record(self, h, t0, auth):
        e = {"t": round(time.time(), 3), "method": h.command,
             "verb": h.verb, "path": h.upath,
             "query": h.path.partition("?")[2], "status": h.status,
             "ms": round((time.monotonic() - t0) * 1000, 1),
             "ua": h.headers.get("User-Agent", ""),
             "accept": h.headers.get("Accept", ""), "auth": auth,
             "ctype": h.headers.get("Content-Type", "")}
        self.stats.record(e)
        if self.log:
            with self.log_lock:
                self.log.write("REQ %s %s %s?%s -> %s %sms auth=%s ua=%s "
                               "accept=%s ctype=%s\n" % (
                                   e["verb"], e["method"], e["path"],
                                   e["query"], e["status"], e["ms"], auth,
                                   e["ua"], e["accept"], e["ctype"]))
                self.log.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--state-dir", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--admin-port", type=int, default=0)
    ap.add_argument("--groups", default="v1",
                    help="Calico API groups: v1 (crd.projectcalico.org/v1),"
                    " v3 (projectcalico.org/v3) or v1,v3")
    ap.add_argument("--token-file")
    ap.add_argument("--bind", action="append",
                    help="listen address (repeatable; default 127.0.0.1)")
    ap.add_argument("--plain-port", type=int,
                    help="also serve plain HTTP on 127.0.0.1:N (0: any), as"
                    " the backend of a TLS+HTTP/2 proxy such as nghttpx")
    ap.add_argument("--san", action="append", default=[],
                    help="extra subjectAltName for the serving cert")
    ap.add_argument("--version", default="v1.32.4",
                    help="gitVersion reported by /version")
    ap.add_argument("--initial-rv", type=int, default=1000)
    ap.add_argument("--rv-gap", type=int, default=1,
                    help="each write advances the RV by random 1..N")
    ap.add_argument("--watch-cache-size", type=int, default=100)
    ap.add_argument("--watch-cache-seconds", type=float, default=75.0)
    ap.add_argument("--compaction-interval", type=float, default=300.0)
    ap.add_argument("--min-request-timeout", type=float, default=1800.0)
    ap.add_argument("--bookmark-interval", type=float)
    ap.add_argument("--ns-finalize", type=float, default=0.2)
    ap.add_argument("--namespaces",
                    default="default,kube-system,kube-public,kube-node-lease")
    ap.add_argument("--no-cache-ignores-limit", dest="cache_ignores_limit",
                    action="store_false",
                    help="page resourceVersion=0 lists too")
    ap.add_argument("--load", help="JSON file of objects to create at start")
    ap.add_argument("--log-file", help="one REQ line per request")
    args = ap.parse_args()
    args.groups = [g.strip() for g in args.groups.split(",") if g.strip()]
    for g in args.groups:
        if g not in kr.CALICO_GROUPS:
            ap.error("--groups: unknown %r (v1, v3)" % g)
    args.bind = args.bind or ["127.0.0.1"]

    api = ApiServer(args)
    api.start_listeners()
    admin = start_admin(api, "127.0.0.1", args.admin_port)
    api.write_kubeconfig()
    for name, val in (("port", api.port),
                      ("admin-port", admin.server_address[1]),
                      ("plain-port", args.plain_port),
                      ("pid", os.getpid())):
        if val is not None:
            with open(os.path.join(args.state_dir, name), "w") as f:
                f.write("%d\n" % val)

    def compactor():
        while True:
            time.sleep(args.compaction_interval)
            api.store.compaction_tick()
    threading.Thread(target=compactor, daemon=True).start()
    signal.signal(signal.SIGUSR1, lambda *a: (api.tokens.rotate(),
                                               api.write_kubeconfig()))
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    print("ready port=%d admin_port=%d" % (api.port, admin.server_address[1]),
          flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
