#!/bin/sh
# The connmark fast path: after a flow's first packet, later packets are accepted in
# the kernel and never reach userspace (checked with nfqwall's queue counters and the
# kernel's per-queue id sequence).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/common_policy.sh"
need_root
setup_net
write_hep
write_policy 8080
serve_node --tcp 8080 --udp 5353
start_nfqwall || exit 1
queued() { metric 'nfqwall_packets_total'; }
# A metric read is itself a loopback connection that is judged: measure what one costs.
a=$(queued); b=$(queued); read_cost=$((b - a))
note "one /metrics read puts $read_cost packets through the queue"
before=$(queued)
got=$(nc_ $PEER udpflow $NODE4 5353 --count 200)
after=$(queued)
flow=$((after - before - read_cost))
note "udp flow: 200 datagrams sent, $got echoed, $flow packets reached userspace"
check "every datagram of the UDP flow was answered" [ "$got" -eq 200 ]
check "the UDP flow reached userspace at most 4 times of 400 packets (first datagram, first reply; a metric read varies by 1 or 2)" [ "$flow" -le 4 ]
before=$(queued)
nc_ $PEER hold $NODE4 8080 --status "$WORK/hold" --interval 0.01 --duration 2
after=$(queued)
flow=$((after - before - read_cost))
n=$(tail -1 "$WORK/hold" | awk '{print $2}')
note "tcp connection: $n exchanges, $flow packets reached userspace"
check "the TCP connection exchanged data all along" [ "$(cut -d' ' -f1 < "$WORK/hold" | tail -1)" = done ]
check "the TCP connection reached userspace at most 6 times of $((n * 2)) packets" [ "$flow" -le 6 ]
check "the flow's connmark carries the generation" sh -c "ip netns exec $NODE conntrack -L -p tcp --dport 8080 2>/dev/null | grep -q mark="
finish
