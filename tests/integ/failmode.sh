#!/bin/sh
# Fail-closed and fail-open, with the daemon killed (SIGKILL) and with a flooded queue
# (the daemon stopped with SIGSTOP while new connections pour in).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/common_policy.sh"
need_root
setup_net
write_hep
write_policy 8080
serve_node --tcp 22,8080,9090

# fail-closed (the default)
start_nfqwall || exit 1
nc_ $PEER hold $NODE4 8080 --status "$WORK/hold" --interval 0.1 --duration 4 &
HOLD=$!
wait_for grep -q alive "$WORK/hold"	# judged and flowing before the kill
kill -9 "$NFQ_PID"; wait "$NFQ_PID" 2>/dev/null; NFQ_PID=""
check_not "fail-closed, daemon killed: a new connection to an allowed port drops" nc_ $PEER tcp $NODE4 8080 --timeout 1
check "fail-closed, daemon killed: failsafe SSH still passes" nc_ $PEER tcp $NODE4 22
wait $HOLD
note "held connection: $(tail -1 "$WORK/hold")"
check "fail-closed, daemon killed: a flow judged before lives on (kernel fast path)" grep -q "^done" "$WORK/hold"
nn "$NFQWALL" uninstall >/dev/null

# fail-closed, flooded: a queue of 8 while the daemon is stopped
start_nfqwall --queue-len 8 --queues 1 || exit 1
kill -STOP "$NFQ_PID"
ok=$(nc_ $PEER flood $NODE4 8080 --count 40)
kill -CONT "$NFQ_PID"
note "fail-closed, flooded queue: $ok of 40 connections got through while stopped"
check "fail-closed, flooded queue: nothing beyond the queue gets through" [ "$ok" -le 8 ]
kill -9 "$NFQ_PID"; wait "$NFQ_PID" 2>/dev/null; NFQ_PID=""
nn "$NFQWALL" uninstall >/dev/null

# fail-open
start_nfqwall --fail-open --queue-len 8 --queues 1 || exit 1
kill -STOP "$NFQ_PID"
ok=$(nc_ $PEER flood $NODE4 9090 --count 40)
kill -CONT "$NFQ_PID"
note "fail-open, flooded queue: $ok of 40 connections to a denied port got through"
check "fail-open, flooded queue: connections beyond the queue pass" [ "$ok" -ge 20 ]
kill -9 "$NFQ_PID"; wait "$NFQ_PID" 2>/dev/null; NFQ_PID=""
check "fail-open, daemon killed: new connections pass (queue bypass)" nc_ $PEER tcp $NODE4 9090
nn "$NFQWALL" uninstall >/dev/null
finish
