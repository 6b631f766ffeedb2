#!/bin/sh
# Failsafe ports survive a deny policy (accepted in the kernel, before the queue);
# --failsafe-in replaces Felix's defaults.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/common_policy.sh"
need_root
setup_net
write_hep
write_policy 8080
serve_node --tcp 22,2222,8080,9090
start_nfqwall || exit 1
check "allowed port passes" nc_ $PEER tcp $NODE4 8080
check_not "denied port is dropped" nc_ $PEER tcp $NODE4 9090 --timeout 1
check "SSH (failsafe tcp:22) passes despite the Deny" nc_ $PEER tcp $NODE4 22
check "the failsafe accept is a kernel rule" sh -c "ip netns exec $NODE iptables-save -t filter | grep -q -- '-A NFQWALL-INPUT -p tcp -m tcp --dport 22 -j NFQWALL-FAILSAFE'"
stop_nfqwall
start_nfqwall --failsafe-in tcp:2222 || exit 1
check "--failsafe-in tcp:2222 opens 2222" nc_ $PEER tcp $NODE4 2222
check_not "--failsafe-in replaced the defaults: 22 is policed again" nc_ $PEER tcp $NODE4 22 --timeout 1
finish
