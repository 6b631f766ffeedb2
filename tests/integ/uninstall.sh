#!/bin/sh
# nfqwall installs only its own chains and jumps; `nfqwall uninstall` leaves
# iptables-save and ip6tables-save exactly as they were before (and is idempotent).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/common_policy.sh"
need_root
setup_net
write_hep
write_policy 8080
# some unrelated rules of "someone else" that must survive
nn iptables -A INPUT -p tcp --dport 9999 -j ACCEPT
nn iptables -t mangle -A PREROUTING -j MARK --set-xmark 0x4000/0x4000
nn ip6tables -A OUTPUT -p udp --dport 9999 -j ACCEPT
snapshot() { nn iptables-save | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//'; nn ip6tables-save | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//'; }
snapshot > "$WORK/before"
start_nfqwall || exit 1
check "rules were installed" sh -c "ip netns exec $NODE iptables-save | grep -q NFQWALL-INPUT"
stop_nfqwall
start_nfqwall || exit 1
check "a restart does not duplicate the jumps" [ "$(nn iptables-save -t filter | grep -c -- '-A INPUT -j NFQWALL-INPUT')" -eq 1 ]
stop_nfqwall
check "uninstall succeeds" nn "$NFQWALL" uninstall
snapshot > "$WORK/after"
check "iptables-save is exactly as before" cmp "$WORK/before" "$WORK/after"
check "uninstall again is a no-op" nn "$NFQWALL" uninstall
diff "$WORK/before" "$WORK/after" | head -20
finish
