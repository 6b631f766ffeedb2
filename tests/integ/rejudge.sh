#!/bin/sh
# A policy change re-judges established flows: a connection allowed before a Deny is
# cut after it. With --no-rejudge (Felix's behaviour) it lives on.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/common_policy.sh"
need_root
setup_net
write_hep
write_policy "8080, 8081"
serve_node --tcp 8080,8081
start_nfqwall || exit 1
nc_ $PEER hold $NODE4 8080 --status "$WORK/hold" --interval 0.1 --duration 5 &
HOLD=$!
check "the connection is up" wait_for grep -q alive "$WORK/hold"
write_policy 8081
wait $HOLD
note "connection: $(tail -1 "$WORK/hold")"
check "revoking port 8080 cut the established connection" grep -q '^cut' "$WORK/hold"
check "the re-judging was counted" [ "$(metric nfqwall_rejudged_total)" -ge 1 ]
check_not "new connections to 8080 are denied" nc_ $PEER tcp $NODE4 8080 --timeout 1
check "8081 is still allowed" nc_ $PEER tcp $NODE4 8081
stop_nfqwall
write_policy "8080, 8081"
start_nfqwall --no-rejudge || exit 1
nc_ $PEER hold $NODE4 8080 --status "$WORK/hold2" --interval 0.1 --duration 4 &
HOLD=$!
wait_for grep -q alive "$WORK/hold2"	# established before the change
write_policy 8081
wait $HOLD
note "connection with --no-rejudge: $(tail -1 "$WORK/hold2")"
check "with --no-rejudge the established connection lives on" grep -q '^done' "$WORK/hold2"
check_not "with --no-rejudge new connections to 8080 are still denied" nc_ $PEER tcp $NODE4 8080 --timeout 1
finish
