#!/bin/sh
# The flow journal and nfqwall replay, through real NFQUEUE in network namespaces:
# nfqwall run --flow-journal records the distinct flows it judged (allowed and denied,
# with their counts) as versioned JSON lines, serves them at /flows and counts them in
# /metrics; then nfqwall replay judges the recorded flows under a tightened policy and
# reports the allowed flow as newly denied (exit 1), and nothing under the same policy
# (exit 0).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/common_policy.sh"
need_root
setup_net
write_hep
write_policy "8080, 8081"
JOURNAL=$WORK/flows.jsonl
serve_node --tcp 8080,8081,9090
start_nfqwall --flow-journal "$JOURNAL" --flow-journal-flush-ms 200 || exit 1

check "tcp 8080 is allowed (1)" nc_ $PEER tcp $NODE4 8080
check "tcp 8080 is allowed (2)" nc_ $PEER tcp $NODE4 8080
check "tcp 8080 is allowed (3)" nc_ $PEER tcp $NODE4 8080
check "tcp 8081 is allowed" nc_ $PEER tcp $NODE4 8081
check_not "tcp 9090 is denied" nc_ $PEER tcp $NODE4 9090 --timeout 1

# journal_has FILE: the journal holds the 8080 flow (3 connections), the 9090 deny
journal_has() {
	$PY - "$@" <<'EOT'
import json, sys
keys = ["v", "node", "proto", "src", "sport", "dst", "dport", "icmp_type", "icmp_code",
        "hook", "path", "direction", "iface_in", "iface_out", "verdict", "stage", "tier",
        "policy", "rule", "count", "first", "last"]
allow = deny = 0
for l in open(sys.argv[1]):
    o = json.loads(l)
    assert list(o) == keys, list(o)
    assert o["v"] == 1 and o["node"] == "node-1"
    if o["src"] != "192.0.2.2":
        continue
    if o["dport"] == 8080:
        assert o["verdict"] == "allow" and o["policy"] == "node-ingress" and o["rule"] == 2, o
        assert o["hook"] == "input" and o["path"] == "local-in" and o["iface_in"] == "veth-n", o
        assert o["direction"] == "ingress" and o["stage"] == "normal", o
        allow += o["count"]
    if o["dport"] == 9090:
        assert o["verdict"] == "deny" and o["rule"] == 4, o
        deny += o["count"]
assert allow == 3, allow
assert deny >= 1, deny
EOT
}
check "the journal holds the allowed flow with its count and the denied one" \
	wait_for journal_has "$JOURNAL"
check "/flows serves the same flows as JSON lines" sh -c \
	"ip netns exec $NODE curl -sf -D $WORK/flows.hdr http://127.0.0.1:9417/flows > $WORK/flows.http"
check "/flows lines parse and hold the flows" journal_has "$WORK/flows.http"
check "/flows says how many flows it holds" grep -qi '^X-Nfqwall-Flows: [1-9]' "$WORK/flows.hdr"
check "/metrics counts the journal's flows and lines" sh -c \
	"[ $(metric nfqwall_flow_journal_entries) -ge 2 ] && [ $(metric nfqwall_flow_journal_lines_total) -ge 2 ] && [ $(metric nfqwall_flow_journal_dropped_total) -eq 0 ]"
# slow readers: 40 clients ask for /flows and never read; they share one snapshot, and the
# probes are still answered at once
nn $PY - <<'EOT' > "$WORK/slow.log" 2>&1 &
import socket, time
socks = []
for _ in range(40):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    s.connect(("127.0.0.1", 9417))
    s.sendall(b"GET /flows HTTP/1.1\r\nHost: x\r\n\r\n")
    socks.append(s)
time.sleep(4)
EOT
SLOW=$!
sleep 1
check "/readyz answers within 1 s while 40 clients read /flows slowly" \
	nn curl -sf -m 1 http://127.0.0.1:9417/readyz
check "the slow readers and the earlier one share at most two snapshots" sh -c \
	"[ $(metric nfqwall_flow_journal_snapshots_total) -le 2 ]"
wait $SLOW
check "the log says the journal started" grep -q '"flow journal started"' "$WORK/nfqwall.err"
check "SIGTERM exits 0" stop_nfqwall
check "the journal says it stopped alive" grep -q '"flow journal"' "$WORK/nfqwall.err"

# replay: the same policy changes nothing; dropping 8080 denies the recorded flow
mkdir -p "$WORK/before" "$WORK/after"
cp "$POLICY"/*.yaml "$WORK/before/"
write_policy "8081"
cp "$POLICY"/*.yaml "$WORK/after/"
"$NFQWALL" replay --journal "$JOURNAL" --before "$WORK/before" --after "$WORK/before" \
	--node node-1 > "$WORK/same.out" 2>&1
check "replay under the same policy exits 0" test $? -eq 0
check "replay under the same policy reports no change" grep -q ' 0 newly denied, 0 newly allowed' "$WORK/same.out"
"$NFQWALL" replay --journal "$JOURNAL" --before "$WORK/before" --after "$WORK/after" \
	--node node-1 > "$WORK/tight.out" 2>&1
check "replay under the tightened policy exits 1" test $? -eq 1
check "replay names the 8080 flow newly denied first" sh -c \
	"head -1 $WORK/tight.out | grep -q '^newly denied: tcp 192.0.2.2 -> 192.0.2.1:8080 (local-in, in veth-n), seen 3 times'"
"$NFQWALL" replay --json --journal "$JOURNAL" --before "$WORK/before" --after "$WORK/after" \
	--node node-1 > "$WORK/tight.json" 2>&1
check "replay --json reports the change and the summary" $PY - "$WORK/tight.json" <<'EOT'
import json, sys
o = json.load(open(sys.argv[1]))
assert list(o) == ["changes", "summary"], list(o)
c = o["changes"][0]
assert c["flow"]["dport"] == 8080 and c["count"] == 3, c
assert c["before"]["verdict"] == "allow" and c["after"]["verdict"] == "deny", c
assert c["before"]["rule"] == 2 and c["after"]["rule"] == 4, c
assert o["summary"]["newly_denied"] == 1 and o["summary"]["newly_allowed"] == 0, o
EOT
finish
