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
