"""Watch streams of the test API server (tests/k8s/apiserver.py): chunked
HTTP/1.1 event lines as the watch cache sends them, bookmarks, the 410 and
504 start errors (as an ERROR event or an HTTP status), server-side
timeouts, and the stream faults (split chunks, merged events, resets,
stalls, history restarts)."""

import json
import random
import time

import k8s_kinds
import k8s_resources as kr
from k8s_errors import ApiError, bad_request
from k8s_select import Filter


def compact(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


class Abort(Exception):
    """End the connection without a response (already aborted)."""


class WatchMixin:
    """Methods of the request handler that serve ?watch=true."""

    def event_bytes(self, etype, obj, res, form):
        f, v = form
        if etype in ("BOOKMARK", "ERROR"):
            o = obj
        elif f == "table":
            o = kr.to_table(res, [obj], {"resourceVersion": obj["metadata"]
                                         .get("resourceVersion", "")}, v,
                            self.q.get("includeObject", "Metadata"))
        elif f == "pom":
            o = kr.partial_metadata(obj, "meta.k8s.io/" + v)
        else:
            o = obj
        return compact({"type": etype, "object": o}) + b"\n"

    def bookmark(self, res, rv, initial_end=False):
        o = {"kind": res.kind, "apiVersion": res.gv,
             "metadata": {"resourceVersion": str(rv)}}
        if res.builtin:         # a typed empty object, as Go encodes it
            o["metadata"]["creationTimestamp"] = None
            o.update(k8s_kinds.empty_object(res))
        if initial_end:
            o["metadata"]["annotations"] = {"k8s.io/initial-events-end":
                                            "true"}
        return o

    def write_events(self, lines):
        fl = self.api.faults
        if not lines:
            return
        if fl.take("drop_mid_event"):
            first = lines[0]
            self._chunk(first[:max(1, len(first) // 2)])
            self._rst()
            raise Abort()
        if fl.get("split_chunks"):
            data, n = b"".join(lines), max(1, int(fl.get("chunk_size")))
            delay = float(fl.get("split_delay_ms")) / 1000.0
            for i in range(0, len(data), n):
                self._chunk(data[i:i + n])
                if delay:
                    time.sleep(delay)
        elif fl.get("merge_events"):
            self._chunk(b"".join(lines))
        else:
            for ln in lines:
                self._chunk(ln)

    def endless_body(self, head, filler):
        """A broken or hostile server: `head`, then filler(i) for i = 0,
        1, ... in chunks, without end: until the client hangs up, or
        endless_bytes have gone (then a clean end)."""
        limit, sent, i = int(self.api.faults.get("endless_bytes")), 0, 0
        self._chunk(head)
        while sent < limit:
            data = filler(i)
            self._chunk(data)
            sent, i = sent + len(data), i + 1
        if self.chunked:
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.close_connection = True

    def endless_list(self, res):
        """A list that never ends: a list head, then items by the
        thousand."""
        self.chunked = self.request_version == "HTTP/1.1"
        self._headers(200, "application/json", chunked=self.chunked)
        head = compact({"apiVersion": res.gv, "kind": res.list_kind,
                        "metadata": {"resourceVersion": str(
                            self.api.store.rv)}})[:-1] + b',"items":['
        return self.endless_body(head, lambda i: b"".join(
            b'{"metadata":{"name":"flood-%d"}},' % (i * 1000 + j)
            for j in range(1000)))

    def watch_error(self, e, form):
        """A watch that cannot start: 200 + one ERROR event (what the watch
        cache does) or the HTTP status itself."""
        fl = self.api.faults
        if e.code == 410:
            e.reason = fl.get("watch_410_reason")
        if e.code not in (410, 504) or fl.get("watch_410_mode") == "http":
            raise e
        self.chunked = self.request_version == "HTTP/1.1"
        self._headers(200, "application/json", chunked=self.chunked)
        self._chunk(compact({"type": "ERROR", "object": e.status()}) + b"\n")
        if self.chunked:
            self.wfile.write(b"0\r\n\r\n")
        if not self.chunked:
            self.close_connection = True

    def serve_watch(self, res, ns, name):
        api, st, fl, q = self.api, self.api.store, self.api.faults, self.q
        form = self.form({"json", "table", "pom"})
        fs = q.get("fieldSelector", "")
        if name is not None:
            fs = "metadata.name=%s%s" % (name, "," + fs if fs else "")
        flt = Filter(res, ns, q.get("labelSelector", ""), fs)
        bookmarks = q.get("allowWatchBookmarks") in ("true", "1")
        send_initial = q.get("sendInitialEvents") == "true"
        try:
            timeout = float(q.get("timeoutSeconds") or 0)
        except ValueError:
            raise bad_request("timeoutSeconds: invalid value")
        if timeout <= 0:    # the apiserver's default: minRequestTimeout x [1,2)
            timeout = api.args.min_request_timeout * (1 + random.random())
        cap = fl.get("watch_cap_seconds")
        if cap:
            timeout = min(timeout, float(cap))
        try:
            pos, init, epoch = st.watch_start(res, flt, q.get(
                "resourceVersion", ""), send_initial)
        except ApiError as e:
            return self.watch_error(e, form)
        self.chunked = self.request_version == "HTTP/1.1"
        ctype = "application/json" if form[0] == "json" else \
            "application/json;as=%s;g=meta.k8s.io;v=%s" % (
                "Table" if form[0] == "table" else "PartialObjectMetadata",
                form[1])
        self._headers(200, ctype, chunked=self.chunked)
        if fl.take("drop_next_watch"):
            self._rst()
            raise Abort()
        if fl.take_hostile("watch_endless_line", self.upath):
            return self.endless_body(
                b'{"type":"ADDED","object":{"metadata":{"name":"endless",'
                b'"annotations":{"a":"', lambda i: b"x" * 65536)
        self.abort = None
        api.watches.add(self)
        try:
            self.watch_loop(res, flt, form, pos, init, epoch, timeout,
                            bookmarks, send_initial)
        finally:
            api.watches.discard(self)

    def watch_loop(self, res, flt, form, pos, init, epoch, timeout,
                   bookmarks, send_initial):
        api, st, fl = self.api, self.api.store, self.api.faults
        start = time.monotonic()
        deadline = start + timeout
        lines = [self.event_bytes("ADDED", o, res, form) for o in init]
        if send_initial and bookmarks:
            lines.append(self.event_bytes("BOOKMARK", self.bookmark(
                res, pos, True), res, form))
        interval = float(fl.get("bookmark_interval"))
        next_bm = start + interval if interval > 0 else float("inf")
        final_bm = deadline - float(fl.get("bookmark_before_deadline"))
        final_sent = not bookmarks or final_bm <= start
        while True:
            now = time.monotonic()
            if now >= deadline:
                break
            stall = fl.stall_left("watch")
            if stall > 0:       # silence: events and bookmarks held back
                time.sleep(min(stall, deadline - now, 0.5))
                if self.abort == "rst":
                    self._rst()
                    raise Abort()
                if self.abort:
                    break
                continue
            if lines:
                self.write_events(lines)
                lines = []
            wake = deadline
            if bookmarks:
                wake = min(wake, next_bm, final_bm if not final_sent
                           else wake)
            with st.cond:
                while True:
                    if self.abort or st.epoch != epoch:
                        break
                    evs, ok = st.events_after(pos)
                    if evs or not ok:
                        break
                    left = wake - time.monotonic()
                    if left <= 0 or fl.stall_left("watch") > 0:
                        break
                    st.cond.wait(min(left, 1.0))
                cur = st.rv
                evs, ok = st.events_after(pos)
            if self.abort == "rst" or (st.epoch != epoch):
                if st.epoch != epoch:
                    break       # server history restarted: stream ends
                self._rst()
                raise Abort()
            if self.abort == "end":
                break
            if not ok:
                break           # fell behind the event log: end the stream
            for ev in evs:
                t = self.filter_event(ev, res, flt)
                if t:
                    lines.append(self.event_bytes(t[0], t[1], res, form))
            if evs:
                pos = evs[-1][0]
            now = time.monotonic()
            if bookmarks and (now >= next_bm or
                              (not final_sent and now >= final_bm)):
                if now >= final_bm:
                    final_sent = True
                next_bm = now + interval if interval > 0 else float("inf")
                pos = max(pos, cur)
                lines.append(self.event_bytes("BOOKMARK", self.bookmark(
                    res, pos), res, form))
        if lines and fl.stall_left("watch") <= 0:
            self.write_events(lines)
        if self.chunked:
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.close_connection = True

    @staticmethod
    def filter_event(ev, res, flt):
        rv, etype, rk, key, obj, prev = ev
        if rk != res.key:
            return None
        if etype == "ADDED":
            return ("ADDED", obj) if flt.match(obj) else None
        if etype == "DELETED":
            return ("DELETED", obj) if flt.match(obj) else None
        now_m, was_m = flt.match(obj), flt.match(prev)
        if now_m and was_m:
            return ("MODIFIED", obj)
        if now_m:
            return ("ADDED", obj)
        if was_m:
            gone = dict(prev)
            gone["metadata"] = dict(prev["metadata"], resourceVersion=obj[
                "metadata"]["resourceVersion"])
            return ("DELETED", gone)
        return None
