"""Kubernetes Status errors as the test API server (tests/k8s/apiserver.py)
returns them: the reasons, codes and message wording of kube-apiserver."""

import json
import re
import time


class ApiError(Exception):
    """A Kubernetes Status error."""

    def __init__(self, code, reason, message, details=None, headers=None,
                 list_meta=None):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message
        self.details, self.headers = details, headers or {}
        self.list_meta = list_meta

    def status(self):
        s = {"kind": "Status", "apiVersion": "v1", "metadata":
             self.list_meta or {}, "status": "Failure",
             "message": self.message, "reason": self.reason,
             "code": self.code}
        if self.details:
            s["details"] = self.details
        if not self.reason:
            del s["reason"]
        return s


def now_ts():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _details(res, name):
    d = {"name": name, "kind": res.plural}
    if res.group:
        d["group"] = res.group
    return d


def not_found(res, name):
    return ApiError(404, "NotFound", '%s "%s" not found' % (res.qualified,
                                                            name),
                    _details(res, name))


def bad_request(msg):
    return ApiError(400, "BadRequest", msg)


def invalid(res, name, field, msg, value=None):
    cause = {"reason": "FieldValueInvalid", "field": field,
             "message": "Invalid value: %s: %s" % (json.dumps(value), msg)
             if value is not None else msg}
    d = {"name": name, "kind": res.kind, "causes": [cause]}
    if res.group:
        d["group"] = res.group
    return ApiError(422, "Invalid", '%s "%s" is invalid: %s: %s' % (
        res.kind_qualified, name, field, cause["message"]), d)


class GoRaw(str):
    """A bad value already spelled the way Go prints it."""


def go_value(v):
    """A bad value as field.Error prints it (%q, %v or Go syntax)."""
    if isinstance(v, GoRaw):
        return v
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, dict):
        return "map[string]string{%s}" % ", ".join(
            "%s:%s" % (json.dumps(k), json.dumps(x))
            for k, x in sorted(v.items()))
    return json.dumps(v, sort_keys=True)


def field_err(kind, field, detail="", value=None):
    """One field.Error: (cause type, field, body).  kind: Required,
    Invalid, Forbidden or NotSupported (detail: the supported values)."""
    if kind == "Required":
        body = "Required value" + (": " + detail if detail else "")
    elif kind == "Invalid":
        body = "Invalid value: %s: %s" % (go_value(value), detail)
    elif kind == "Forbidden":
        body = "Forbidden: " + detail
    else:
        body = "Unsupported value: %s: supported values: %s" % (
            go_value(value), ", ".join('"%s"' % x for x in detail))
    return ("FieldValue" + kind, field, body)


def invalid_errs(res, name, errs):
    """errors.NewInvalid over a list of field_err()s (none: None)."""
    if not errs:
        return None
    msgs = ["%s: %s" % (f, b) for _, f, b in errs]
    d = {"name": name, "kind": res.kind, "causes": [
        {"reason": t, "message": b, "field": f} for t, f, b in errs]}
    if res.group:
        d["group"] = res.group
    return ApiError(422, "Invalid", '%s "%s" is invalid: %s' % (
        res.kind_qualified, name,
        msgs[0] if len(msgs) == 1 else "[%s]" % ", ".join(msgs)), d)


def forbidden(res, name, msg):
    """errors.NewForbidden, as admission plugins answer."""
    return ApiError(403, "Forbidden", '%s "%s" is forbidden: %s' % (
        res.qualified, name, msg), _details(res, name))


def conflict(res, name, msg=None):
    return ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s '
                    '"%s": %s' % (res.qualified, name, msg or
                                  "the object has been modified; please "
                                  "apply your changes to the latest version "
                                  "and try again"), _details(res, name))


def expired(msg, list_meta=None):
    return ApiError(410, "Expired", msg, list_meta=list_meta)


DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?"
                           r"(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
