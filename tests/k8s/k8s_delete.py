"""Deletion as kube-apiserver v1.32 does it, for the test API server
(tests/k8s/apiserver.py), plus the part of the garbage collector that
finishes the two deletion finalizers.

The registry (staging/src/k8s.io/apiserver/pkg/registry/generic/registry/
store.go Delete, rest/delete.go BeforeDelete):
* DeleteOptions come from the body, or from the query when there is none,
  and are validated (422 DeleteOptions.meta.k8s.io).
* Graceful deletion (only Pods here, pkg/registry/core/pod/strategy.go
  CheckGracefulDelete): the grace period is the option's, else
  spec.terminationGracePeriodSeconds; 0 when the pod is not scheduled (no
  spec.nodeName) or has finished (Succeeded/Failed).  The pod is updated
  with deletionTimestamp = now + grace and deletionGracePeriodSeconds
  (MODIFIED); with 0 it is then removed (DELETED), otherwise it stays until
  a later DELETE shortens the period to 0 (that is the kubelet's part).  A
  later DELETE may only shorten the period.
* propagationPolicy / orphanDependents set the finalizers "orphan" and
  "foregroundDeletion" (Background, the default for apps/v1 and core kinds:
  neither).  An object with finalizers is marked deleting
  (deletionTimestamp, deletionGracePeriodSeconds 0, generation + 1; MODIFIED)
  and stays until they are removed; without, it is removed at once.
* DELETE answers the object while it lingers; once removed, the object
  (Pods, custom resources) or a Status{Success} (DaemonSet, ServiceAccount,
  Node).  202 instead of 200 only when orphanDependents=false left it.

The garbage collector (pkg/controller/garbagecollector), emulated for the
two finalizers it owns, right after every write:
* orphan: every dependent (an object whose ownerReferences hold the owner's
  uid) loses that reference (MODIFIED), then the finalizer goes.
* foregroundDeletion: the finalizer goes once no dependent blocks it (an
  ownerReference with the owner's uid and blockOwnerDeletion: true).  The
  real collector deletes the dependents itself; here the test does, in the
  kubelet's place too.  Background deletion leaves the dependents alone
  for the same reason.
"""

import calendar
import copy
import json
import time
import types

from k8s_errors import (bad_request, conflict, field_err, invalid_errs,
                        now_ts)

FG, ORPHAN = "foregroundDeletion", "orphan"
POLICIES = ("Foreground", "Background", "Orphan")
DELETE_OPTIONS = types.SimpleNamespace(
    kind="DeleteOptions", kind_qualified="DeleteOptions.meta.k8s.io",
    group="meta.k8s.io")

# ----------------------------------------------------------------- options


def _query_options(q):
    """DeleteOptions from query parameters (no body)."""
    opts = {}
    if q.get("gracePeriodSeconds", "") != "":
        try:
            opts["gracePeriodSeconds"] = int(q["gracePeriodSeconds"])
        except ValueError:
            raise bad_request('strconv.ParseInt: parsing "%s": invalid '
                              'syntax' % q["gracePeriodSeconds"])
    if q.get("propagationPolicy"):
        opts["propagationPolicy"] = q["propagationPolicy"]
    if q.get("orphanDependents") in ("true", "false"):
        opts["orphanDependents"] = q["orphanDependents"] == "true"
    return opts


def parse_options(body, q):
    """The request's DeleteOptions, validated (ValidateDeleteOptions)."""
    if body.strip():
        try:
            opts = json.loads(body)
        except ValueError:
            raise bad_request("invalid DeleteOptions body")
        if not isinstance(opts, dict):
            raise bad_request("invalid DeleteOptions body")
    else:
        opts = _query_options(q)
    pp, errs = opts.get("propagationPolicy"), []
    if opts.get("orphanDependents") is not None and pp is not None:
        errs.append(field_err("Invalid", "propagationPolicy", "orphan"
                              "Dependents and deletionPropagation cannot be "
                              "both set", pp))
    if pp is not None and pp not in POLICIES:
        errs.append(field_err("NotSupported", "propagationPolicy",
                              list(POLICIES) + ["nil"], pp))
    err = invalid_errs(DELETE_OPTIONS, "", errs)
    if err:
        raise err
    return opts


def deleted_status(res, obj):
    """finalizeDelete's Status for kinds that do not return the object."""
    d = {"name": obj["metadata"].get("name"), "kind": res.plural,
         "uid": obj["metadata"].get("uid")}
    if res.group:
        d["group"] = res.group
    return {"kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Success", "details": d}


# --------------------------------------------------------------- the rules

def _ts(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _epoch(ts):
    return calendar.timegm(time.strptime(ts, "%Y-%m-%dT%H:%M:%SZ"))


def check_preconditions(res, obj, opts):
    """BeforeDelete's early precondition check."""
    pre, md = opts.get("preconditions") or {}, obj["metadata"]
    if pre.get("uid") and pre["uid"] != md.get("uid"):
        raise conflict(res, md["name"], "the UID in the precondition (%s) "
                       "does not match the UID in record (%s). The object "
                       "might have been deleted and then recreated" %
                       (pre["uid"], md.get("uid")))
    if pre.get("resourceVersion") and \
            pre["resourceVersion"] != md.get("resourceVersion"):
        raise conflict(res, md["name"], "the ResourceVersion in the "
                       "precondition (%s) does not match the ResourceVersion"
                       " in record (%s). The object might have been "
                       "modified" % (pre["resourceVersion"],
                                     md.get("resourceVersion")))


def pod_grace(obj, grace):
    """podStrategy.CheckGracefulDelete."""
    spec, phase = obj.get("spec") or {}, (obj.get("status") or {}).get(
        "phase")
    period = grace if grace is not None else \
        spec.get("terminationGracePeriodSeconds") or 0
    if not spec.get("nodeName") or phase in ("Succeeded", "Failed"):
        period = 0
    return 1 if period < 0 else period


def before_delete(res, obj, opts):
    """rest.BeforeDelete: (graceful, pending graceful).  Sets the pod's
    deletion timestamp and grace period in obj, and the period in opts."""
    md, grace = obj["metadata"], opts.get("gracePeriodSeconds")
    if grace is not None and grace < 0:
        grace = opts["gracePeriodSeconds"] = 1
    if (md.get("deletionGracePeriodSeconds") or 0) < 0:
        md["deletionGracePeriodSeconds"] = 1
    if not (res.builtin and res.kind == "Pod"):
        return False, False            # no graceful deletion strategy
    cur = md.get("deletionGracePeriodSeconds")
    if md.get("deletionTimestamp"):
        if not cur:
            return False, False
        if grace is None or grace >= cur:
            return False, True         # only a shorter period is taken
        md["deletionTimestamp"] = _ts(_epoch(md["deletionTimestamp"]) -
                                      cur + grace)
        md["deletionGracePeriodSeconds"] = grace
        return True, False
    period = opts["gracePeriodSeconds"] = pod_grace(obj, grace)
    md["deletionTimestamp"] = _ts(time.time() + period)
    md["deletionGracePeriodSeconds"] = period
    if md.get("generation"):
        md["generation"] += 1
    return True, False


def _policy_says(fins, opts, mine):
    """shouldOrphanDependents (mine: Orphan) or shouldDeleteDependents
    (mine: Foreground): the policy, else a finalizer already there, else
    the kind's default (Background for apps/v1 and the core kinds)."""
    if opts.get("orphanDependents") is not None:
        return bool(opts["orphanDependents"]) if mine == "Orphan" else False
    if opts.get("propagationPolicy") is not None:
        return opts["propagationPolicy"] == mine
    for f in fins:
        if f in (FG, ORPHAN):
            return f == (ORPHAN if mine == "Orphan" else FG)
    return False


def gc_finalizers(fins, opts):
    """deletionFinalizersForGarbageCollection: (changed, new finalizers)."""
    new = [f for f in fins if f not in (FG, ORPHAN)]
    if _policy_says(fins, opts, "Orphan"):
        new.append(ORPHAN)
    if _policy_says(fins, opts, "Foreground"):
        new.append(FG)
    if set(new) == set(fins):
        return False, fins
    return True, new


def mark_as_deleting(md):
    """store.go markAsDeleting."""
    now = now_ts()
    if not md.get("deletionTimestamp") and md.get("generation"):
        md["generation"] += 1
    if not md.get("deletionTimestamp") or md["deletionTimestamp"] > now:
        md["deletionTimestamp"] = now
    md["deletionGracePeriodSeconds"] = 0


def _set_finalizers(md, fins):
    if fins:
        md["finalizers"] = fins
    else:
        md.pop("finalizers", None)


# ------------------------------------------------------------------ delete

def delete(store, res, ns, name, opts, dry_run):
    """store.go Delete: returns (object, deleted now).  Lock held."""
    old = store.get(res, ns, name)
    check_preconditions(res, old, opts)
    key = store.key_of(res, ns, name)
    obj = copy.deepcopy(old)
    graceful, pending = before_delete(res, obj, opts)
    if pending:
        return old, False
    md = obj["metadata"]
    fins = md.get("finalizers") or []
    changed, fins = gc_finalizers(fins, opts)
    if graceful or fins or changed:
        _set_finalizers(md, fins)
        if not graceful and fins:
            mark_as_deleting(md)
        if graceful or fins:
            if dry_run:
                return obj, bool(not fins and not
                                 md["deletionGracePeriodSeconds"])
            if obj != old:
                store.commit(res, key, "MODIFIED", obj, old)
            if fins or md["deletionGracePeriodSeconds"]:
                return obj, False
            old = obj
    gone = copy.deepcopy(old)
    if not dry_run:
        store.commit(res, key, "DELETED", gone, old)
    return gone, True


# ------------------------------------------------------ garbage collector

def _dependents(store, owner):
    """(res, key, obj) of every object with an ownerReference to owner
    (namespaced owners: in the same namespace)."""
    uid, ns = owner["metadata"]["uid"], owner["metadata"].get("namespace")
    out = []
    for rkey, objs in store.objects.items():
        for k, o in objs.items():
            md = o["metadata"]
            if ns and md.get("namespace") != ns:
                continue
            if any(r.get("uid") == uid for r in
                   md.get("ownerReferences") or []):
                out.append((store.cat[rkey], k, o))
    return out


def _orphan(store, owner):
    """Drop the owner's uid from each dependent's ownerReferences."""
    uid = owner["metadata"]["uid"]
    for res, key, o in _dependents(store, owner):
        new = copy.deepcopy(o)
        refs = [r for r in new["metadata"]["ownerReferences"]
                if r.get("uid") != uid]
        if refs:
            new["metadata"]["ownerReferences"] = refs
        else:
            del new["metadata"]["ownerReferences"]
        store.commit(res, key, "MODIFIED", new, o)


def _blocked(store, owner):
    uid = owner["metadata"]["uid"]
    return any(r.get("uid") == uid and r.get("blockOwnerDeletion")
               for _, _, o in _dependents(store, owner)
               for r in o["metadata"].get("ownerReferences") or [])


def _finish_one(store, rkey, key):
    """Process one owner waiting on a GC finalizer; True if it changed."""
    res, owner = store.cat[rkey], store.objects[rkey].get(key)
    if owner is None:
        store.gc_waiting.discard((rkey, key))
        return False
    fins = owner["metadata"].get("finalizers") or []
    if ORPHAN in fins:
        _orphan(store, owner)
        fin = ORPHAN
    elif FG in fins and not _blocked(store, owner):
        fin = FG
    else:
        return False
    new = copy.deepcopy(owner)
    _set_finalizers(new["metadata"], [f for f in fins if f != fin])
    store.write(res, key, new, owner)
    return True


def gc_pass(store):
    """Run the collector until nothing more can be finished.  Lock held."""
    progress = True
    while progress and store.gc_waiting:
        progress = False
        for rkey, key in sorted(store.gc_waiting):
            if _finish_one(store, rkey, key):
                progress = True
                break


def waits_for_gc(obj):
    md = obj["metadata"]
    return bool(md.get("deletionTimestamp") and
                {FG, ORPHAN} & set(md.get("finalizers") or []))


def delete_namespace(store, res, name, old, dry_run):
    """The namespace registry: Terminating, then the namespace controller
    (Store._finalize_namespace) empties and removes it."""
    if old["metadata"].get("deletionTimestamp"):
        return old, False
    new = copy.deepcopy(old)
    new["metadata"]["deletionTimestamp"] = now_ts()
    new["metadata"]["deletionGracePeriodSeconds"] = 0
    new["status"] = dict(new.get("status") or {}, phase="Terminating")
    if not dry_run:
        store.commit(res, name, "MODIFIED", new, old)
        store.schedule_namespace_finalize(name)
    return new, False

