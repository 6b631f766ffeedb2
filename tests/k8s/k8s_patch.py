"""Patch formats the test API server accepts: JSON merge patch (RFC 7386),
JSON patch (RFC 6902), strategic merge patch (for the built-in kinds only,
with the merge keys of the built-in kinds' lists that have them) and a
simplified server-side apply."""

import copy


class PatchError(Exception):
    def __init__(self, msg, code=400):
        super().__init__(msg)
        self.code = code


def merge_patch(target, patch):
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError("invalid JSON pointer %r" % path)
    return [p.replace("~1", "/").replace("~0", "~")
            for p in path[1:].split("/")]


def _walk(doc, parts):
    cur = doc
    for p in parts:
        if isinstance(cur, dict):
            if p not in cur:
                raise PatchError("missing path /%s" % "/".join(parts), 422)
            cur = cur[p]
        elif isinstance(cur, list):
            try:
                cur = cur[int(p)]
            except (ValueError, IndexError):
                raise PatchError("bad index %r" % p, 422)
        else:
            raise PatchError("cannot walk into a scalar", 422)
    return cur


def _get(doc, path):
    return _walk(doc, _pointer(path))


def _add(doc, path, value):
    parts = _pointer(path)
    if not parts:
        return value
    parent = _walk(doc, parts[:-1])
    last = parts[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            parent.append(value)
        else:
            i = int(last)
            if i < 0 or i > len(parent):
                raise PatchError("index out of range", 422)
            parent.insert(i, value)
    else:
        raise PatchError("cannot add to a scalar", 422)
    return doc


def _remove(doc, path):
    parts = _pointer(path)
    parent = _walk(doc, parts[:-1])
    last = parts[-1]
    try:
        if isinstance(parent, dict):
            return parent.pop(last)
        return parent.pop(int(last))
    except (KeyError, ValueError, IndexError, AttributeError):
        raise PatchError("unable to remove nonexistent key: %s" % last, 422)


def json_patch(target, ops):
    """RFC 6902."""
    if not isinstance(ops, list):
        raise PatchError("json patch must be an array")
    doc = copy.deepcopy(target)
    for op in ops:
        kind, path = op.get("op"), op.get("path", "")
        if kind == "add":
            doc = _add(doc, path, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            _remove(doc, path)
        elif kind == "replace":
            _remove(doc, path)
            doc = _add(doc, path, copy.deepcopy(op.get("value")))
        elif kind == "move":
            v = _remove(doc, op["from"])
            doc = _add(doc, path, v)
        elif kind == "copy":
            doc = _add(doc, path, copy.deepcopy(_get(doc, op["from"])))
        elif kind == "test":
            if _get(doc, path) != op.get("value"):
                raise PatchError("testing value %s failed" % path, 422)
        else:
            raise PatchError("Unexpected kind: %s" % kind)
    return doc


# Lists that strategic merge patches merge by key (patchMergeKey), for the
# built-in kinds this server serves, by the last two elements of their path
# (a one-element path: a top-level field); other lists are replaced.  The
# OpenAPI schemas in k8s_schemas.py declare the same keys to kubectl.
MERGE_KEYS = {
    ("status", "addresses"): "type",
    ("status", "conditions"): "type",
    ("status", "podIPs"): "ip",
    ("status", "hostIPs"): "ip",
    ("metadata", "ownerReferences"): "uid",
    ("spec", "volumes"): "name",
    ("spec", "imagePullSecrets"): "name",
    ("spec", "hostAliases"): "ip",
    ("secrets",): "name",
}
for _c in ("containers", "initContainers", "ephemeralContainers"):
    MERGE_KEYS[("spec", _c)] = "name"
    MERGE_KEYS[(_c, "env")] = "name"
    MERGE_KEYS[(_c, "ports")] = "containerPort"
    MERGE_KEYS[(_c, "volumeMounts")] = "mountPath"
SET_LISTS = {("metadata", "finalizers"), ("spec", "finalizers"),
             ("spec", "podCIDRs")}


def _merge_list(cur, patch, key, path):
    out = [copy.deepcopy(x) for x in cur]
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            out.append(copy.deepcopy(item))
            continue
        idx = next((i for i, x in enumerate(out)
                    if isinstance(x, dict) and x.get(key) == item[key]),
                   None)
        if item.get("$patch") == "delete":
            if idx is not None:
                del out[idx]
        elif idx is None:
            out.append({k: v for k, v in item.items() if k != "$patch"})
        else:
            out[idx] = strategic_merge_patch(out[idx], item, path)
    return out


def strategic_merge_patch(target, patch, path=()):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items()
                if k != "$patch"}
    out = dict(target) if isinstance(target, dict) else {}
    retain = patch.get("$retainKeys")
    for k, v in patch.items():
        if k in ("$patch", "$retainKeys") or \
                k.startswith("$setElementOrder/"):
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            name = k.split("/", 1)[1]
            out[name] = [x for x in out.get(name) or [] if x not in v]
            continue
        p = path + (k,)
        cur = out.get(k)
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict):
            if v.get("$patch") == "delete":
                out.pop(k, None)
            else:
                out[k] = strategic_merge_patch(cur, v, p)
        elif isinstance(v, list) and p[-2:] in SET_LISTS:
            merged = list(cur or [])
            merged += [x for x in v if x not in merged]
            out[k] = merged
        elif isinstance(v, list) and MERGE_KEYS.get(p[-2:]) and \
                isinstance(cur, list):
            out[k] = _merge_list(cur, v, MERGE_KEYS[p[-2:]], p)
        else:
            out[k] = copy.deepcopy(v)
    if retain is not None:
        out = {k: v for k, v in out.items() if k in retain}
    return out


def _remove_dropped(live, old_cfg, new_cfg):
    """Delete from live what the manager applied before and no longer
    applies."""
    if not isinstance(live, dict) or not isinstance(old_cfg, dict):
        return
    for k, v in old_cfg.items():
        if k not in (new_cfg or {}):
            live.pop(k, None)
        elif isinstance(v, dict) and isinstance(new_cfg.get(k), dict):
            _remove_dropped(live.get(k), v, new_cfg[k])


def _deep_merge(live, cfg):
    if not isinstance(cfg, dict):
        return copy.deepcopy(cfg)
    out = dict(live) if isinstance(live, dict) else {}
    for k, v in cfg.items():
        out[k] = _deep_merge(out.get(k), v)
    return out


def apply_patch(live, old_cfg, new_cfg):
    """Server-side apply for a single manager: fields the manager applied
    before but not now are removed, the new configuration is merged in (maps
    recursively, lists atomically)."""
    live = copy.deepcopy(live)
    _remove_dropped(live, old_cfg, new_cfg)
    return _deep_merge(live, new_cfg)
