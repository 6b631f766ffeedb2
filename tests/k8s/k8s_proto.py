"""Just enough of the Kubernetes protobuf encoding to read the request
bodies kubectl's typed clients send for built-in kinds (kubectl create
namespace and kubectl create serviceaccount send
application/vnd.kubernetes.protobuf): the "k8s\\0" magic, the
runtime.Unknown envelope, ObjectMeta and the Namespace and ServiceAccount
messages.  Other kinds raise ValueError (the server answers 415)."""

MAGIC = b"k8s\x00"


def _varint(b, i):
    shift = v = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        if not c & 0x80:
            return v, i
        shift += 7


def fields(b):
    """Yield (field number, wire type, value) of one message."""
    i = 0
    while i < len(b):
        key, i = _varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(b, i)
        elif wt == 2:
            n, i = _varint(b, i)
            v, i = b[i:i + n], i + n
        elif wt == 1:
            v, i = b[i:i + 8], i + 8
        elif wt == 5:
            v, i = b[i:i + 4], i + 4
        else:
            raise ValueError("unsupported wire type %d" % wt)
        yield num, wt, v


def _map_entry(b):
    k = v = ""
    for num, _, val in fields(b):
        if num == 1:
            k = val.decode()
        elif num == 2:
            v = val.decode()
    return k, v


def object_meta(b):
    md = {}
    names = {1: "name", 2: "generateName", 3: "namespace", 5: "uid",
             6: "resourceVersion"}
    for num, _, v in fields(b):
        if num in names:
            if v:
                md[names[num]] = v.decode()
        elif num == 7 and v:
            md["generation"] = v
        elif num in (11, 12):
            k, val = _map_entry(v)
            md.setdefault("labels" if num == 11 else "annotations", {})[k] \
                = val
        elif num == 14:
            md.setdefault("finalizers", []).append(v.decode())
    return md


def namespace(b):
    obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": {}}
    for num, _, v in fields(b):
        if num == 1:
            obj["metadata"] = object_meta(v)
        elif num == 2:
            fin = [x.decode() for n, _, x in fields(v) if n == 1]
            obj["spec"] = {"finalizers": fin} if fin else {}
        elif num == 3:
            ph = [x.decode() for n, _, x in fields(v) if n == 1]
            obj["status"] = {"phase": ph[0]} if ph else {}
    return obj


def _ref(b, names):
    return {names[n]: v.decode() for n, _, v in fields(b) if n in names}


def service_account(b):
    """ServiceAccount: metadata 1, secrets 2 (ObjectReference),
    imagePullSecrets 3 (LocalObjectReference), automountServiceAccountToken
    4."""
    obj = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {}}
    for num, _, v in fields(b):
        if num == 1:
            obj["metadata"] = object_meta(v)
        elif num == 2:
            obj.setdefault("secrets", []).append(_ref(v, {
                1: "kind", 2: "namespace", 3: "name", 4: "uid",
                5: "apiVersion", 6: "resourceVersion", 7: "fieldPath"}))
        elif num == 3:
            obj.setdefault("imagePullSecrets", []).append(
                _ref(v, {1: "name"}))
        elif num == 4:
            obj["automountServiceAccountToken"] = bool(v)
    return obj


DECODERS = {("v1", "Namespace"): namespace,
            ("v1", "ServiceAccount"): service_account}


def decode(body):
    """A protobuf request body -> the JSON-shaped object."""
    if not body.startswith(MAGIC):
        raise ValueError("missing the k8s protobuf magic number")
    api_version = kind = ""
    raw = b""
    for num, _, v in fields(body[len(MAGIC):]):
        if num == 1:
            for n, _, x in fields(v):
                if n == 1:
                    api_version = x.decode()
                elif n == 2:
                    kind = x.decode()
        elif num == 2:
            raw = v
    dec = DECODERS.get((api_version, kind))
    if dec is None:
        raise ValueError("protobuf bodies of %s %s are not supported by "
                         "this test server" % (api_version, kind))
    return dec(raw)
