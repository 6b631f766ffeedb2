"""In-memory object store with an etcd-like revision history, for the nfqwall
test API server (tests/k8s/apiserver.py).

* One global, monotonically increasing resourceVersion (optionally advancing
  by random gaps, as a busy cluster's etcd revision does).
* An event log (ADDED/MODIFIED/DELETED with the previous object) that serves
  watches, exact-resourceVersion lists and paged lists at a snapshot.
* Two compaction floors, as in a real cluster: the watch cache window
  (--watch-cache-size events or --watch-cache-seconds, whichever keeps more;
  older watch RVs get "too old resource version") and etcd compaction (older
  continue tokens and exact-RV lists get 410 Expired).
* Create/update/patch/delete semantics of the generic registry: uid,
  creationTimestamp, generation, resourceVersion preconditions, finalizers,
  no-op updates that do not bump the RV, namespaces that must exist and that
  terminate (deleting their content), status subresources.  What the
  built-in kinds add is in k8s_kinds.py, deletion in k8s_delete.py.
"""

import base64
import bisect
import copy
import json
import random
import threading
import time
import uuid

import k8s_delete
import k8s_kinds
from k8s_errors import (DNS_LABEL, DNS_SUBDOMAIN, ApiError, _details,
                        bad_request, conflict, expired, field_err, invalid,
                        invalid_errs, not_found, now_ts)
from k8s_patch import (PatchError, apply_patch, json_patch, merge_patch,
                       strategic_merge_patch)
from k8s_select import Filter


# -------------------------------------------------------------------- store

def objkey(ns, name):
    return "%s/%s" % (ns, name) if ns else name


class Store:
    def __init__(self, cat, initial_rv=1000, rv_gap=1, watch_cache_size=100,
                 watch_cache_seconds=75.0, max_log=200000,
                 namespace_finalize_seconds=0.2, too_large_wait=3.0):
        self.cat = {r.key: r for r in cat}
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.rv = initial_rv
        self.rv_gap = rv_gap
        self.objects = {r.key: {} for r in cat}
        self.log, self.log_rvs, self.log_times = [], [], []
        self.log_trim_rv = initial_rv       # events <= this are gone
        self.watch_floor = initial_rv       # watch cache start / compaction
        self.etcd_floor = 0                 # etcd compaction revision
        self.watch_cache_size = watch_cache_size
        self.watch_cache_seconds = watch_cache_seconds
        self.max_log = max_log
        self.ns_finalize = namespace_finalize_seconds
        self.too_large_wait = too_large_wait
        self.epoch = 0                      # bumped on restart_history
        self.applied = {}                   # server-side apply, per manager
        self.gc_waiting = set()             # (res key, key): GC finalizers
        self._last_tick_rv = initial_rv

    def res_by_plural(self, group, version, plural):
        return self.cat.get((group, version, plural))

    # ------------------------------------------------------------ history

    def _next_rv(self):
        self.rv += random.randint(1, self.rv_gap) if self.rv_gap > 1 else 1
        return self.rv

    def bump(self):
        """An unrelated write elsewhere in the cluster: the RV moves on."""
        with self.lock:
            self._next_rv()
            self.cond.notify_all()
            return self.rv

    def _record(self, etype, res, key, obj, prev):
        rv = int(obj["metadata"]["resourceVersion"])
        ev = (rv, etype, res.key, key, obj, prev)
        self.log.append(ev)
        self.log_rvs.append(rv)
        self.log_times.append(time.monotonic())
        if len(self.log) > self.max_log * 1.25:
            cut = len(self.log) - self.max_log
            self.log_trim_rv = self.log_rvs[cut - 1]
            del self.log[:cut], self.log_rvs[:cut], self.log_times[:cut]
        self.cond.notify_all()

    def watch_min_rv(self):
        """Smallest RV a watch may start from.  Like the watch cache, keep
        the last watch_cache_size events or watch_cache_seconds of events,
        whichever is more (capped at 102400); a start RV older than the
        oldest kept event - 1 is "too old"."""
        n = len(self.log)
        idx = max(0, n - self.watch_cache_size)
        tidx = bisect.bisect_left(self.log_times,
                                  time.monotonic() - self.watch_cache_seconds)
        idx = max(min(idx, tidx), n - 102400, 0)
        floor = self.log_trim_rv if idx == 0 else self.log_rvs[idx] - 1
        return max(self.watch_floor, floor)

    def etcd_min_rv(self):
        return max(self.etcd_floor, self.log_trim_rv)

    def compact(self):
        """Compact both histories now: every RV issued so far is too old."""
        with self.lock:
            self._next_rv()
            self.watch_floor = self.etcd_floor = self.rv
            self.cond.notify_all()

    def restart_history(self, jump=1000):
        """A new resourceVersion history (etcd restored / apiserver restarted
        with a fresh watch cache): old RVs and continue tokens are 410 and
        every open watch ends."""
        with self.lock:
            self.rv += jump
            self.watch_floor = self.etcd_floor = self.rv
            self.log_trim_rv = self.rv
            self.log, self.log_rvs, self.log_times = [], [], []
            self.epoch += 1
            self.cond.notify_all()

    def compaction_tick(self):
        """What kube-apiserver's compactor does every interval: compact etcd
        to the revision seen at the previous tick."""
        with self.lock:
            self.etcd_floor = max(self.etcd_floor, self._last_tick_rv)
            self._last_tick_rv = self.rv

    def events_after(self, pos):
        """(events with rv > pos, ok).  ok is False when some were trimmed."""
        if pos < self.log_trim_rv:
            return [], False
        i = bisect.bisect_right(self.log_rvs, pos)
        return self.log[i:], True

    def snapshot(self, res, at_rv=None):
        """{objkey: obj} of one resource at a past revision."""
        cur = dict(self.objects[res.key])
        if at_rv is None or at_rv >= self.rv:
            return cur
        i = bisect.bisect_right(self.log_rvs, at_rv)
        for ev in reversed(self.log[i:]):
            _, etype, rk, key, obj, prev = ev
            if rk != res.key:
                continue
            if etype == "ADDED":
                cur.pop(key, None)
            else:
                cur[key] = prev
        return cur

    def wait_for_rv(self, want, what="list"):
        deadline = time.monotonic() + self.too_large_wait
        while self.rv < want:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ApiError(504, "Timeout", "Too large resource version: "
                               "%d, current: %d" % (want, self.rv),
                               {"causes": [{"reason":
                                            "ResourceVersionTooLarge",
                                            "message":
                                            "Too large resource version"}],
                                "retryAfterSeconds": 1})
            self.cond.wait(left)

    # -------------------------------------------------------------- writes

    def commit(self, res, key, etype, obj, prev):
        obj["metadata"]["resourceVersion"] = str(self._next_rv())
        if etype == "DELETED":
            self.objects[res.key].pop(key, None)
        else:
            self.objects[res.key][key] = obj
        if etype != "DELETED" and k8s_delete.waits_for_gc(obj):
            self.gc_waiting.add((res.key, key))
        else:
            self.gc_waiting.discard((res.key, key))
        self._record(etype, res, key, obj, prev)
        return obj

    def write(self, res, key, new, old):
        """Commit an update, or the deletion it completes: no finalizers
        left on an object marked deleting with no grace period pending
        (ShouldDeleteDuringUpdate).  Then the stored object is deleted as
        it was (deleteWithoutFinalizers): the DELETED event and the answer
        still show the last finalizers."""
        md, omd = new["metadata"], old["metadata"]
        if omd.get("deletionTimestamp") and not md.get("finalizers") and \
                not omd.get("deletionGracePeriodSeconds") and \
                not (res.kind == "Namespace" and
                     (new.get("spec") or {}).get("finalizers")):
            return self.commit(res, key, "DELETED", copy.deepcopy(old), old)
        return self.commit(res, key, "MODIFIED", new, old)

    def gc(self):
        """The garbage collector's turn after a write (k8s_delete.py)."""
        if self.gc_waiting:
            k8s_delete.gc_pass(self)

    @staticmethod
    def key_of(res, ns, name):
        return objkey(ns if res.namespaced else None, name)

    def _check_ns(self, res, ns):
        if not res.namespaced:
            return
        nsobj = self.objects[("", "v1", "namespaces")].get(ns)
        if nsobj is None:
            raise ApiError(404, "NotFound", 'namespaces "%s" not found' % ns,
                           {"name": ns, "kind": "namespaces"})
        if (nsobj.get("metadata") or {}).get("deletionTimestamp"):
            raise ApiError(403, "Forbidden", '%s "%s" is forbidden: unable to'
                           ' create new content in namespace %s because it '
                           'is being terminated' % (res.qualified, "", ns),
                           {"kind": res.plural, "causes": [{
                               "reason": "NamespaceTerminating",
                               "message": "namespace %s is being terminated"
                               % ns, "field": "metadata.namespace"}]})

    def _check_kind(self, res, body):
        if not isinstance(body, dict):
            raise bad_request("the object provided is unrecognized (must be "
                              "of type %s)" % res.kind)
        kind, av = body.get("kind"), body.get("apiVersion")
        if not kind:
            raise bad_request("Object 'Kind' is missing in '%s'" %
                              json.dumps(body)[:200])
        if av != res.gv:
            raise bad_request("the API version in the data (%s) does not "
                              "match the expected API version (%s)" %
                              (av, res.gv))
        if kind != res.kind:
            raise bad_request("the kind in the data (%s) does not match the "
                              "expected kind (%s)" % (kind, res.kind))
        if not isinstance(body.get("metadata", {}), dict):
            raise bad_request("metadata must be an object")

    def _validate_name(self, res, name):
        rx = DNS_LABEL if res.kind == "Namespace" else DNS_SUBDOMAIN
        if not rx.match(name) or len(name) > (63 if rx is DNS_LABEL
                                              else 253):
            raise invalid(res, name, "metadata.name",
                          "a lowercase RFC 1123 %s must consist of lower "
                          "case alphanumeric characters, '-' or '.', and "
                          "must start and end with an alphanumeric character"
                          % ("label" if rx is DNS_LABEL else "subdomain"),
                          name)

    def _new_meta(self, res, ns, md):
        """ObjectMeta of an object to be created: namespace, name (or
        generateName), the server-owned fields."""
        if res.namespaced:
            if md.get("namespace") and md["namespace"] != ns:
                raise bad_request("the namespace of the provided object does"
                                  " not match the namespace sent on the "
                                  "request")
            md["namespace"] = ns
        else:
            md.pop("namespace", None)
        if not md.get("name") and md.get("generateName"):
            md["name"] = md["generateName"] + "".join(
                random.choice("bcdfghjklmnpqrstvwxz2456789")
                for _ in range(5))
        if not md.get("name"):
            raise invalid(res, "", "metadata.name", "Required value: name or"
                          " generateName is required")
        self._validate_name(res, md["name"])
        if md.get("resourceVersion"):
            msg = "resourceVersion should not be set on objects to be created"
            raise ApiError(500, "InternalError", "Internal error occurred: "
                           + msg, {"causes": [{"message": msg}]})
        for f in ("uid", "deletionTimestamp", "deletionGracePeriodSeconds",
                  "managedFields", "selfLink", "generation"):
            md.pop(f, None)
        md["uid"] = str(uuid.uuid4())
        md["creationTimestamp"] = now_ts()
        if res.generation:
            md["generation"] = 1

    def create(self, res, ns, body, dry_run=False):
        self._check_kind(res, body)
        obj = copy.deepcopy(body)
        md = obj.setdefault("metadata", {})
        self._new_meta(res, ns, md)
        name = md["name"]
        with self.lock:
            self._check_ns(res, ns)
            k8s_kinds.prepare_create(self, res, ns, obj)
            key = objkey(ns if res.namespaced else None, name)
            if key in self.objects[res.key]:
                raise ApiError(409, "AlreadyExists", '%s "%s" already exists'
                               % (res.qualified, name), _details(res, name))
            if dry_run:
                return obj
            self.commit(res, key, "ADDED", obj, None)
            if res.kind == "Namespace":
                self._default_service_account(name)
            return obj

    def _default_service_account(self, ns):
        """The service account controller: every namespace gets one named
        default (Pods fall back to it, see k8s_kinds)."""
        sa = self.cat.get(("", "v1", "serviceaccounts"))
        if sa and ns + "/default" not in self.objects[sa.key]:
            self.create(sa, ns, {"apiVersion": "v1", "kind": "ServiceAccount",
                                 "metadata": {"name": "default"}})

    def get(self, res, ns, name):
        with self.lock:
            obj = self.objects[res.key].get(objkey(ns if res.namespaced
                                                   else None, name))
            if obj is None:
                raise not_found(res, name)
            return obj

    def _check_target(self, res, ns, name, old, md, require_rv):
        """An update's name, namespace, resourceVersion and uid."""
        if md.get("name") != name:
            raise bad_request("the name of the object (%s) does not match the"
                              " name on the URL (%s)" % (md.get("name"),
                                                         name))
        if res.namespaced and md.get("namespace", ns) != ns:
            raise bad_request("the namespace of the provided object does not"
                              " match the namespace sent on the request")
        want_rv, omd = md.get("resourceVersion"), old["metadata"]
        if not want_rv and require_rv:
            raise invalid(res, name, "metadata.resourceVersion",
                          "must be specified for an update", 0)
        if want_rv and want_rv != omd["resourceVersion"]:
            raise conflict(res, name)
        if md.get("uid") and md["uid"] != omd["uid"]:
            raise conflict(res, name, "Precondition failed: UID in "
                           "precondition: %s, UID in object meta: %s" %
                           (md["uid"], omd["uid"]))

    @staticmethod
    def _settle(res, ns, old, new, subresource):
        """Server-owned metadata from the stored object; status only
        through the status subresource, nothing else through it."""
        md, omd = new["metadata"], old["metadata"]
        for f in ("uid", "creationTimestamp", "deletionTimestamp",
                  "deletionGracePeriodSeconds", "generation"):
            if f in omd:
                md[f] = omd[f]
            else:
                md.pop(f, None)
        if res.namespaced:
            md["namespace"] = ns
        else:
            md.pop("namespace", None)
        if not res.status:
            return new
        if subresource == "status":
            keep = copy.deepcopy({k: v for k, v in old.items()
                                  if k != "status"})
            if new.get("status") is not None:
                keep["status"] = new["status"]
            return keep
        if "status" in old:
            new["status"] = old["status"]
        else:
            new.pop("status", None)
        return new

    @staticmethod
    def _bump_generation(res, old, new):
        """CRs: any change but metadata (and status, with a status
        subresource); a DaemonSet: a spec change."""
        if res.generation == "cr":
            strip = ("metadata", "status") if res.status else ("metadata",)
            changed = {k: v for k, v in old.items() if k not in strip} != \
                {k: v for k, v in new.items() if k not in strip}
        else:
            changed = res.generation == "spec" and \
                old.get("spec") != new.get("spec")
        if changed:
            new["metadata"]["generation"] = \
                old["metadata"].get("generation", 1) + 1

    def _finish_update(self, res, ns, name, old, new, subresource, dry_run,
                       require_rv):
        """Common tail of update and patch: preconditions, server-owned
        fields, status subresource, the kind's strategy, generation, no-op
        detection.  Returns (object, written)."""
        self._check_kind(res, new)
        self._check_target(res, ns, name, old, new.setdefault("metadata", {}),
                           require_rv)
        new = self._settle(res, ns, old, new, subresource)
        k8s_kinds.prepare_update(res, old, new, subresource)
        omd = old["metadata"]
        extra = sorted(set(new["metadata"].get("finalizers") or []) -
                       set(omd.get("finalizers") or []))
        if omd.get("deletionTimestamp") and extra:
            raise invalid_errs(res, name, [field_err(
                "Forbidden", "metadata.finalizers", "no new finalizers can "
                "be added if the object is being deleted, found new "
                "finalizers []string{%s}" % ", ".join(
                    '"%s"' % f for f in extra))])
        new["metadata"]["resourceVersion"] = omd["resourceVersion"]
        if new == old:
            return old, False                   # no-op: no write, same RV
        self._bump_generation(res, old, new)
        if dry_run:
            return new, False
        out = self.write(res, objkey(ns if res.namespaced else None, name),
                         new, old)
        self.gc()
        return out, True

    def update(self, res, ns, name, body, subresource=None, dry_run=False):
        with self.lock:
            old = self.get(res, ns, name)
            new = copy.deepcopy(body)
            return self._finish_update(res, ns, name, old, new, subresource,
                                       dry_run, require_rv=res.is_cr)[0]

    def patch(self, res, ns, name, ctype, raw, manager=None, force=False,
              subresource=None, dry_run=False):
        with self.lock:
            try:
                old = self.get(res, ns, name)
            except ApiError:
                if ctype != "application/apply-patch+yaml":
                    raise
                old = None
            try:
                if ctype == "application/apply-patch+yaml":
                    return self._apply(res, ns, name, old, raw, manager,
                                       dry_run)
                body = old
                if ctype == "application/merge-patch+json":
                    new = merge_patch(body, json.loads(raw))
                elif ctype == "application/json-patch+json":
                    new = json_patch(body, json.loads(raw))
                elif ctype == "application/strategic-merge-patch+json":
                    if res.is_cr:
                        raise ApiError(415, "UnsupportedMediaType",
                                       "the body of the request was in an "
                                       "unknown format - accepted media "
                                       "types include: application/json-"
                                       "patch+json, application/merge-patch"
                                       "+json, application/apply-patch+yaml")
                    new = strategic_merge_patch(body, json.loads(raw))
                else:
                    raise ApiError(415, "UnsupportedMediaType",
                                   "the body of the request was in an unknown"
                                   " format - accepted media types include: "
                                   "application/json-patch+json, application"
                                   "/merge-patch+json, application/apply-"
                                   "patch+yaml" + (
                                       "" if res.is_cr else ", application/"
                                       "strategic-merge-patch+json"))
            except (ValueError, PatchError) as e:
                if isinstance(e, PatchError) and e.code == 422:
                    raise ApiError(422, "Invalid", str(e))
                raise bad_request("error decoding patch: %s" % e)
            new = copy.deepcopy(new)
            if not isinstance(new, dict):
                raise bad_request("patch result is not an object")
            return self._finish_update(res, ns, name, old, new, subresource,
                                       dry_run, require_rv=False)[0]

    def _apply(self, res, ns, name, old, raw, manager, dry_run):
        """Server-side apply, simplified: one set of fields per manager, no
        conflict detection between managers (see README)."""
        if not manager:
            raise bad_request("PATCH requests with apply content type must "
                              "have a fieldManager")
        try:
            cfg = json.loads(raw)
        except ValueError:
            raise ApiError(415, "UnsupportedMediaType", "apply patches in "
                           "YAML syntax are not supported by this test "
                           "server; send JSON")
        key = (res.key, objkey(ns if res.namespaced else None, name),
               manager)
        if old is None:
            cfg.setdefault("metadata", {})["name"] = name
            obj = self.create(res, ns, cfg, dry_run)
            if not dry_run:
                self.applied[key] = cfg
            return obj
        new = apply_patch(old, self.applied.get(key, {}), cfg)
        obj, _ = self._finish_update(res, ns, name, old, new, None, dry_run,
                                     require_rv=False)
        if not dry_run:
            self.applied[key] = cfg
        return obj

    def delete(self, res, ns, name, opts=None, dry_run=False):
        """Returns (object, deleted now); the rules are in k8s_delete.py.
        opts: the request's DeleteOptions (k8s_delete.parse_options)."""
        opts = copy.deepcopy(opts or {})
        with self.lock:
            if res.kind == "Namespace" and res.builtin:
                old = self.get(res, ns, name)
                k8s_delete.check_preconditions(res, old, opts)
                return k8s_delete.delete_namespace(self, res, name, old,
                                                   dry_run)
            out = k8s_delete.delete(self, res, ns, name, opts, dry_run)
            if not dry_run:
                self.gc()
            return out

    def schedule_namespace_finalize(self, name):
        t = threading.Timer(self.ns_finalize, self._finalize_namespace,
                            (name,))
        t.daemon = True
        t.start()

    def _finalize_namespace(self, name):
        """The namespace controller: delete the content, then the
        namespace.  Content with finalizers other than the garbage
        collector's is left behind (see README)."""
        with self.lock:
            for rkey, objs in self.objects.items():
                res = self.cat[rkey]
                if not res.namespaced:
                    continue
                for key in [k for k in objs if k.startswith(name + "/")]:
                    o = objs[key]
                    if o["metadata"].get("finalizers"):
                        continue
                    self.commit(res, key, "DELETED", copy.deepcopy(o), o)
            self.gc()
            nsres = self.cat[("", "v1", "namespaces")]
            old = self.objects[nsres.key].get(name)
            if old is not None:
                self.commit(nsres, name, "DELETED", copy.deepcopy(old), old)

    # ---------------------------------------------------------------- list

    @staticmethod
    def encode_continue(rv, start):
        tok = json.dumps({"v": "meta.k8s.io/v1", "rv": rv,
                          "start": start + "\x00"}, separators=(",", ":"))
        return base64.urlsafe_b64encode(tok.encode()).decode().rstrip("=")

    @staticmethod
    def decode_continue(tok):
        try:
            raw = base64.urlsafe_b64decode(tok + "=" * (-len(tok) % 4))
            d = json.loads(raw)
            if d.get("v") != "meta.k8s.io/v1":
                raise ValueError("unsupported version")
            return int(d["rv"]), d["start"].rstrip("\x00")
        except (ValueError, KeyError, TypeError) as e:
            raise bad_request("continue key is not valid: %s" % e)

    def continue_expired(self, cont):
        """The 410 for a continue token whose snapshot was compacted, with
        the inconsistent-continue token the real server offers."""
        _, start = self.decode_continue(cont)
        return expired(
            "The provided continue parameter is too old to display a "
            "consistent list result. You can start a new list without the "
            "continue parameter, or use the continue token in this response "
            "to retrieve the remainder of the results. Continuing with the "
            "provided token results in an inconsistent list - objects that "
            "were created, modified, or deleted between the time the first "
            "chunk was returned and now may show up in the list.",
            {"continue": self.encode_continue(-1, start)})

    def list(self, res, ns, q, cache_ignores_limit=True):
        """Returns (list RV, [objs], continue token or None,
        remainingItemCount or None)."""
        rvp = q.get("resourceVersion", "")
        match = q.get("resourceVersionMatch", "")
        cont = q.get("continue", "")
        try:
            limit = int(q.get("limit") or 0)
        except ValueError:
            raise bad_request("limit: Invalid value")
        flt = Filter(res, ns, q.get("labelSelector", ""),
                     q.get("fieldSelector", ""))
        if cont and rvp not in ("", "0"):
            # "0" is let through: tightening that would break old clients
            # (apiserver storage ValidateListOptions)
            raise bad_request("specifying resource version is not allowed "
                              "when using continue")
        if match and not rvp:
            raise ApiError(422, "Invalid", "resourceVersionMatch: Forbidden:"
                           " resourceVersionMatch is forbidden unless "
                           "resourceVersion is provided")
        if match == "Exact" and rvp == "0":
            raise ApiError(422, "Invalid", 'resourceVersionMatch: Forbidden:'
                           ' resourceVersionMatch "exact" is forbidden for '
                           'resourceVersion "0"')
        if match not in ("", "Exact", "NotOlderThan"):
            raise ApiError(422, "Invalid", "resourceVersionMatch: Unsupported"
                           ' value: "%s"' % match)
        with self.lock:
            start = ""
            if cont:
                snap_rv, start = self.decode_continue(cont)
                if snap_rv == -1:
                    snap_rv = self.rv
                elif snap_rv < self.etcd_min_rv():
                    raise self.continue_expired(cont)
            elif rvp == "":
                snap_rv = self.rv
            elif rvp == "0" and match != "Exact":
                snap_rv = self.rv
                if cache_ignores_limit:
                    limit = 0
            else:
                try:
                    want = int(rvp)
                except ValueError:
                    raise bad_request('resourceVersion: Invalid value: "%s":'
                                      ' strconv.ParseUint: parsing "%s": '
                                      'invalid syntax' % (rvp, rvp))
                self.wait_for_rv(want)
                if match == "Exact" or (not match and limit > 0):
                    if want < self.etcd_min_rv():
                        raise expired("The resourceVersion for the provided "
                                      "list is too old.")
                    snap_rv = want
                else:
                    snap_rv = self.rv
            snap = self.snapshot(res, snap_rv)
        keys = sorted(snap)
        if start:
            keys = keys[bisect.bisect_right(keys, start):]
        items, token, remaining = [], None, None
        for i, k in enumerate(keys):
            o = snap[k]
            if not flt.match(o):
                continue
            items.append(o)
            if limit and len(items) >= limit:
                if i + 1 < len(keys):
                    token = self.encode_continue(snap_rv, k)
                    if not flt.selective:
                        remaining = len(keys) - i - 1
                break
        return snap_rv, items, token, remaining

    def delete_collection(self, res, ns, q, opts=None, dry_run=False):
        _, items, _, _ = self.list(res, ns, {
            "labelSelector": q.get("labelSelector", ""),
            "fieldSelector": q.get("fieldSelector", "")})
        out = []
        for o in items:
            md = o["metadata"]
            try:
                obj, _ = self.delete(res, md.get("namespace"), md["name"],
                                     opts, dry_run)
                out.append(obj)
            except ApiError:
                pass
        return out

    # ---------------------------------------------------------------- watch

    def watch_start(self, res, flt, rvp, send_initial=False):
        """Returns (start position, [initial objects], epoch)."""
        with self.lock:
            if rvp in ("", "0") or send_initial:
                snap = self.objects[res.key]
                if rvp not in ("", "0"):
                    self.wait_for_rv(int(rvp))
                init = [snap[k] for k in sorted(snap) if flt.match(snap[k])]
                return self.rv, init, self.epoch
            try:
                want = int(rvp)
            except ValueError:
                raise bad_request('resourceVersion: Invalid value: "%s"' % rvp)
            floor = self.watch_min_rv()
            if want < floor:
                raise expired("too old resource version: %d (%d)" %
                              (want, floor))
            self.wait_for_rv(want, "watch")
            return want, [], self.epoch
