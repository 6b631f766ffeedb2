"""Label and field selectors (labels.Parse / fields.ParseSelector semantics)
for the test API server (tests/k8s/apiserver.py)."""

import re

from k8s_errors import bad_request


_QNAME = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*"
                    r"[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*"
                    r"[A-Za-z0-9])?$")
_LVALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def _split_top(s):
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


def parse_label_selector(s):
    """labels.Parse: =, ==, !=, in, notin, exists, !exists, <, >."""
    reqs = []
    if not s:
        return reqs
    for part in _split_top(s):
        part = part.strip()
        if not part:
            raise ValueError("found '', expected: identifier")
        m = re.match(r"^(\S+)\s+(in|notin)\s*\((.*)\)$", part)
        if m:
            key, op = m.group(1), m.group(2)
            vals = {v.strip() for v in m.group(3).split(",")}
            for v in vals:
                if not _LVALUE.match(v):
                    raise ValueError("invalid label value: %r" % v)
        elif part.startswith("!"):
            key, op, vals = part[1:].strip(), "!", None
        else:
            m = re.match(r"^([^=!<>\s]+)\s*(==|=|!=|<|>)\s*(\S*)$", part)
            if m:
                key, op, vals = m.group(1), m.group(2), m.group(3)
                if op in "<>":
                    int(vals)
                elif not _LVALUE.match(vals):
                    raise ValueError("invalid label value: %r" % vals)
            elif re.match(r"^[^=!<>\s(),]+$", part):
                key, op, vals = part, "exists", None
            else:
                raise ValueError("unable to parse requirement: %r" % part)
        if not _QNAME.match(key):
            raise ValueError("invalid label key %r" % key)
        reqs.append((key, op, vals))
    return reqs


def match_labels(reqs, labels):
    labels = labels or {}
    for key, op, vals in reqs:
        have = key in labels
        v = labels.get(key)
        if op in ("=", "=="):
            ok = have and v == vals
        elif op == "!=":
            ok = not have or v != vals
        elif op == "in":
            ok = have and v in vals
        elif op == "notin":
            ok = not have or v not in vals
        elif op == "exists":
            ok = have
        elif op == "!":
            ok = not have
        else:
            try:
                ok = have and (int(v) > int(vals) if op == ">" else
                               int(v) < int(vals))
            except ValueError:
                ok = False
        if not ok:
            return False
    return True


def _unescape_field(v):
    out, esc = "", False
    for ch in v:
        if esc:
            out += ch
            esc = False
        elif ch == "\\":
            esc = True
        else:
            out += ch
    return out


FIELD_ALIASES = {"spec.host": "spec.nodeName"}    # old v1 clients (Pod)


def _unknown_field(res, key):
    """The 400 for a field the kind cannot select on: worded by the kind's
    own field-label conversion (Node, Namespace, Pod), else by the default
    one (DefaultMetaV1FieldSelectorConversion)."""
    if res.field_conv:
        return bad_request("field label not supported: %s" % key)
    return bad_request('"%s" is not a known field selector: only %s' % (
        key, ", ".join('"%s"' % f for f in sorted(res.field_labels))))


def parse_field_selector(s, res):
    reqs = []
    if not s:
        return reqs
    for term in re.split(r"(?<!\\),", s):
        if not term:
            continue
        m = re.match(r"^(.*?)(==|!=|=)(.*)$", term)
        if not m:
            raise bad_request("invalid selector: '%s'; can't understand '%s'"
                              % (s, term))
        key, op, val = m.group(1), m.group(2), _unescape_field(m.group(3))
        if key not in res.field_labels:
            raise _unknown_field(res, key)
        reqs.append((FIELD_ALIASES.get(key, key), op != "!=", val))
    return reqs


def _path(obj, dotted):
    for part in dotted.split("."):
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def _field_value(obj, key):
    """The value of a selectable field, as the kind's ToSelectableFields
    spells it."""
    if key in ("spec.unschedulable", "spec.hostNetwork"):
        return "true" if _path(obj, key) else "false"
    if key == "status.podIP":      # from podIPs[0], as the v1 conversion
        ips = _path(obj, "status.podIPs") or []
        return (ips[0] or {}).get("ip", "") if ips else \
            _path(obj, key) or ""
    if key == "status.podIPs":     # accepted, never in the field set
        return ""
    if key == "source":            # an Event's: its source's component
        return _path(obj, "source.component") or ""
    v = _path(obj, key)
    return "" if v is None else str(v)


def match_fields(reqs, obj):
    for key, eq, val in reqs:
        if (_field_value(obj, key) == val) != eq:
            return False
    return True


class Filter:
    """Namespace + label + field selection for a list or a watch."""

    def __init__(self, res, ns, label_sel, field_sel):
        self.res, self.ns = res, ns
        try:
            self.labels = parse_label_selector(label_sel)
        except ValueError as e:
            raise bad_request("unable to parse requirement: %s" % e)
        self.fields = parse_field_selector(field_sel, res)
        self.selective = bool(self.labels or self.fields)

    def match(self, obj):
        if obj is None:
            return False
        md = obj.get("metadata") or {}
        if self.ns and md.get("namespace") != self.ns:
            return False
        return match_labels(self.labels, md.get("labels")) and \
            match_fields(self.fields, obj)
