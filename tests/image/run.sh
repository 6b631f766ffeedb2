#!/bin/sh
# tests/image/run.sh - the container image of scripts/image.sh, tested as shipped.
#
#   1. build it twice (the second time from the apt cache the first left): byte-identical
#   2. unpack it (umoci) and, in a chroot: the binary runs and checks a policy, every library
#      resolves, iptables-restore runs (nft), the CA bundle, the users, the dpkg status
#   3. run it with podman (runc, private storage) in a network namespace of its own, NET_ADMIN
#      the only capability and a read-only root: the allowed port connects, the denied one
#      does not; podman stop exits 0; "uninstall" in a second container leaves no rule
#
# Prints "ok - image/NAME" or "not ok - image/NAME" per check and "# ..." notes (size, build
# times); exit 0 when all pass, 1 on a failure, 77 when a tool cannot be had (with a reason).
# Root. Installs mmdebstrap, umoci, podman and runc when missing (scripts/image.sh deps test).
# Traffic goes only between the two namespaces the test creates (192.0.2.0/24); everything it
# creates (namespaces, containers, podman storage, images) is removed on exit.
#
# Environment: O (build directory, default build), NFQWALL (the binary, default $O/nfqwall).
# shellcheck disable=SC2317 # the checks' functions are called through check()
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
O=${O:-build}
NFQWALL=${NFQWALL:-$O/nfqwall}
case "$NFQWALL" in /*) ;; *) NFQWALL=$ROOT/$NFQWALL ;; esac
PY=$(command -v python3 || echo /usr/bin/python3)
PEER=$ROOT/tests/integ/peer.py	# the traffic tool of the integration tests
ID=$$
NODE=nfqwi-n$ID
CLI=nfqwi-c$ID
CTR=nfqwi-$ID
NODE4=192.0.2.1
CLI4=192.0.2.2
T0=$(date +%s)
FAILS=0
PIDS=""

skip() { echo "SKIP: $*"; exit 77; }
note() { echo "# $*"; }
pass() { echo "ok - image/$1"; }
fail() { echo "not ok - image/$1"; FAILS=$((FAILS + 1)); }
check() {	# check NAME CMD...: pass when CMD succeeds (its output goes to $WORK/check.log)
	name=$1; shift
	echo "== $name: $*" >> "$WORK/check.log"
	if "$@" >> "$WORK/check.log" 2>&1; then pass "$name"; else fail "$name"; fi
}
check_not() {
	name=$1; shift
	echo "== $name (must fail): $*" >> "$WORK/check.log"
	if "$@" >> "$WORK/check.log" 2>&1; then fail "$name"; else pass "$name"; fi
}
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

[ "$(id -u)" -eq 0 ] || skip "needs root (mmdebstrap, chroot, network namespaces, podman)"
[ -x "$NFQWALL" ] || { echo "no binary $NFQWALL (make)"; exit 1; }
if ! scripts/image.sh deps test; then
	skip "cannot install mmdebstrap, umoci, podman and runc (scripts/image.sh deps test)"
fi
for tool in mmdebstrap umoci podman runc ip curl; do
	command -v "$tool" > /dev/null || skip "$tool is not installed"
done

WORK=$(mktemp -d /tmp/nfqwall-image.XXXXXX)
PODMAN_STORE=$WORK/podman

# podman, root, its own storage, state and network configuration under $WORK; runc (crun
# fails on hybrid cgroups); ulimits a process without CAP_SYS_RESOURCE may set
pod() {
	CONTAINERS_CONF=$WORK/containers.conf TMPDIR=$PODMAN_STORE/tmp \
		podman --root "$PODMAN_STORE/root" --runroot "$PODMAN_STORE/run" \
		--tmpdir "$PODMAN_STORE/libpod" --network-config-dir "$PODMAN_STORE/net" \
		--storage-driver vfs "$@"
}
mkdir -p "$PODMAN_STORE/tmp" "$PODMAN_STORE/net"
cat > "$WORK/containers.conf" <<'EOT'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOT

cleanup() {
	pod rm -f -t 0 "$CTR" "$CTR-uninstall" > /dev/null 2>&1
	pod rmi -a -f > /dev/null 2>&1
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for ns in "$NODE" "$CLI"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	# nothing of podman's may stay mounted under $WORK
	awk -v w="$WORK" 'index($2, w "/") == 1 { print $2 }' /proc/mounts | sort -r |
		xargs -r umount -l 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

VERSION=$("$NFQWALL" version | awk '{ print $2 }')
# both builds get the same inputs: the binary, the commit's time and name
SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)
REVISION=$(git rev-parse HEAD)
export SOURCE_DATE_EPOCH REVISION

# --- 1. build twice ---------------------------------------------------------------------
build() {	# build DIR: scripts/image.sh into DIR, the apt cache shared
	O=$O NFQWALL=$NFQWALL IMAGE_DIR=$1 IMAGE_CACHE=$WORK/cache scripts/image.sh \
		> "$1.log" 2>&1
}
t=$(now)
if ! build "$WORK/a"; then
	fail build; tail -30 "$WORK/a.log"; exit 1
fi
t1=$(secs "$t" "$(now)")
t=$(now)
build "$WORK/b" || { fail "build (cached)"; tail -30 "$WORK/b.log"; }
t2=$(secs "$t" "$(now)")
IMAGE=$WORK/a/nfqwall-$VERSION.oci.tar
if [ -f "$IMAGE" ]; then pass build; else fail build; cat "$WORK/a.log"; exit 1; fi
size=$(stat -c %s "$IMAGE")
note "archive $size bytes; build $t1 s, again from the apt cache $t2 s"
sha_a=$(sha256sum < "$IMAGE" | cut -d' ' -f1)
sha_b=$(sha256sum < "$WORK/b/nfqwall-$VERSION.oci.tar" 2>/dev/null | cut -d' ' -f1)
note "sha256 $sha_a and $sha_b"
check reproducible test "$sha_a" = "$sha_b"

# a library no package owns is named, and the build refuses
mkdir -p "$WORK/fake"
printf 'int nfqwi_fake(void) { return 0; }\n' > "$WORK/fake/fake.c"
printf 'int nfqwi_fake(void);\nint main(void) { return nfqwi_fake(); }\n' > "$WORK/fake/main.c"
if cc -shared -fPIC -Wl,-soname,libnfqwifake.so.1 -o "$WORK/fake/libnfqwifake.so.1" \
	"$WORK/fake/fake.c" && cc -o "$WORK/fake/main" "$WORK/fake/main.c" \
	"$WORK/fake/libnfqwifake.so.1" -Wl,-rpath,"$WORK/fake"; then
	check "unowned library refused" sh -c "
		! scripts/image.sh packages '$WORK/fake/main' 2> '$WORK/fake/err' &&
		grep -q 'libnfqwifake.so.1.*no Debian package owns' '$WORK/fake/err'"
else
	fail "unowned library refused (cc failed)"
fi

# --- 2. unpacked, in a chroot --------------------------------------------------------------
mkdir -p "$WORK/layout"
tar -xf "$IMAGE" -C "$WORK/layout"
check "umoci unpack" umoci unpack --image "$WORK/layout:nfqwall:$VERSION" "$WORK/bundle"
R=$WORK/bundle/rootfs
in_root() { env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin chroot "$R" "$@"; }

check "index names the image nfqwall:$VERSION" "$PY" - "$WORK/layout" "$VERSION" \
	"$SOURCE_DATE_EPOCH" "$REVISION" <<'EOT'
import datetime, json, os, sys
lay, version, epoch, revision = sys.argv[1:]
def blob(d):
    return json.load(open(os.path.join(lay, "blobs", *d["digest"].split(":"))))
index = json.load(open(os.path.join(lay, "index.json")))
[m] = index["manifests"]
assert m["annotations"]["org.opencontainers.image.ref.name"] == "nfqwall:" + version, m
config = blob(m)["config"]
config = blob(config)
created = datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
c = config["config"]
assert config["created"] == created, config["created"]
assert c["Entrypoint"] == ["nfqwall"], c
assert c["Cmd"] == ["run", "--kubernetes"], c
path = [e for e in c["Env"] if e.startswith("PATH=")][0][5:].split(":")
assert "/usr/sbin" in path and "/sbin" in path, path
labels = c["Labels"]
for k in ("title", "description", "version", "revision", "source", "licenses", "created"):
    assert labels.get("org.opencontainers.image." + k), k
assert labels["org.opencontainers.image.version"] == version
assert labels["org.opencontainers.image.revision"] == revision
assert labels["org.opencontainers.image.created"] == created
assert len(config["rootfs"]["diff_ids"]) == 2
EOT
version_is() { [ "$(in_root nfqwall version)" = "nfqwall $VERSION" ]; }
check "nfqwall version" version_is
check "every library of nfqwall resolves" in_root /lib64/ld-linux-x86-64.so.2 --list /usr/bin/nfqwall
check "every library of xtables-nft-multi resolves" \
	in_root /lib64/ld-linux-x86-64.so.2 --list /usr/sbin/xtables-nft-multi
mkdir -p "$R/tmp/policy"
cp examples/*.yaml "$R/tmp/policy/"
check "nfqwall check on the examples" in_root nfqwall check /tmp/policy
rm -rf "$R/tmp/policy"
is_nft() { in_root "$1" --version | grep -q 'nf_tables'; }
for tool in iptables-restore iptables-save ip6tables-restore ip6tables-save; do
	check "$tool is the nft one" is_nft "$tool"
done
check "CA bundle" sh -c "[ \$(grep -c 'BEGIN CERTIFICATE' '$R/etc/ssl/certs/ca-certificates.crt') -gt 100 ]"
check "passwd and group have root" sh -c "grep -q '^root:[^:]*:0:0:' '$R/etc/passwd' &&
	grep -q '^root:[^:]*:0:' '$R/etc/group'"
check "dpkg status lists every package" sh -c "
	while read -r pkg ver; do
		grep -q \"^Package: \$pkg\$\" '$R/var/lib/dpkg/status' || exit 1
	done < '$WORK/a/nfqwall-$VERSION.packages'
	grep -q '^Package: libc6$' '$R/var/lib/dpkg/status' &&
	grep -q '^Package: iptables$' '$R/var/lib/dpkg/status'"
check "no host files (hostname, resolv.conf, devices, apt lists)" sh -c "
	[ ! -e '$R/etc/hostname' ] && [ ! -e '$R/etc/resolv.conf' ] &&
	[ -z \"\$(ls -A '$R/dev')\" ] && [ ! -e '$R/var/lib/apt/lists' ]"

# --- 3. podman, in a network namespace ------------------------------------------------------
load_out=$(pod load -i "$IMAGE" 2>&1)
if printf '%s\n' "$load_out" | grep -q "Loaded image.*localhost/nfqwall:$VERSION"; then
	pass "podman load"
else
	fail "podman load"; printf '%s\n' "$load_out" | tail -5
fi
IMG=localhost/nfqwall:$VERSION

if ! ip netns add "$NODE" || ! ip netns add "$CLI"; then
	fail "network namespaces"; exit 1
fi
ip link add veth-n netns "$NODE" type veth peer name veth-c netns "$CLI"
ip -n "$NODE" addr add $NODE4/24 dev veth-n
ip -n "$CLI" addr add $CLI4/24 dev veth-c
for ns in "$NODE" "$CLI"; do ip -n "$ns" link set lo up; done
ip -n "$NODE" link set veth-n up
ip -n "$CLI" link set veth-c up
nn() { ip netns exec "$NODE" "$@"; }
nc_() { ip netns exec "$CLI" "$@"; }

mkdir -p "$WORK/policy"
cat > "$WORK/policy/policy.yaml" <<EOT
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata:
  name: node-1
  labels: {role: node}
spec:
  node: node-1
  interfaceName: "*"
  expectedIPs: ["$NODE4"]
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: node-ingress
spec:
  selector: role == 'node'
  ingress:
    - action: Allow
      source: {nets: [127.0.0.0/8]}
    - action: Allow
      protocol: TCP
      destination: {ports: [8080]}
    - action: Deny
  egress:
    - action: Allow
EOT
nn "$PY" "$PEER" serve --tcp 8080,9090 > "$WORK/serve.log" 2>&1 &
PIDS="$PIDS $!"
check "both ports answer before nfqwall runs" sh -c "
	sleep 0.5; ip netns exec $CLI '$PY' '$PEER' tcp $NODE4 8080 &&
	ip netns exec $CLI '$PY' '$PEER' tcp $NODE4 9090"

# the options a DaemonSet would use: only NET_ADMIN, read-only root, policy mounted read-only
RUN_OPTS="--network ns:/run/netns/$NODE --cap-drop ALL --cap-add NET_ADMIN --read-only"
# shellcheck disable=SC2086 # RUN_OPTS holds several words on purpose
if pod run -d --name "$CTR" $RUN_OPTS -v "$WORK/policy:/policy:ro" "$IMG" \
	run --policy-dir /policy --node node-1 --queues 1 > "$WORK/run.log" 2>&1; then
	pass "podman run -d (NET_ADMIN only, read-only)"
else
	fail "podman run -d (NET_ADMIN only, read-only)"; cat "$WORK/run.log"
fi
ready=no
for _ in $(seq 1 50); do
	if nn curl -sf http://127.0.0.1:9417/readyz > /dev/null 2>&1; then ready=yes; break; fi
	[ "$(pod inspect --format '{{.State.Running}}' "$CTR" 2>/dev/null)" = true ] || break
	sleep 0.1
done
if [ $ready = yes ]; then pass "the daemon in the container is ready"; else
	fail "the daemon in the container is ready"; pod logs "$CTR" 2>&1 | tail -20; fi
check "its rules are in the namespace" sh -c "ip netns exec $NODE iptables-save | grep -q NFQWALL-INPUT"
check "tcp 8080 is allowed" nc_ "$PY" "$PEER" tcp $NODE4 8080
check_not "tcp 9090 is denied" nc_ "$PY" "$PEER" tcp $NODE4 9090 --timeout 1
logged_deny() {	# the verdict log is the container's stdout
	sleep 0.3
	pod logs "$CTR" 2> /dev/null | grep '"action":"deny"' | grep -q '"dport":9090'
}
check "the verdict log (podman logs) has the deny" logged_deny

check "podman stop (SIGTERM)" pod stop -t 10 "$CTR"
code=$(pod inspect --format '{{.State.ExitCode}}' "$CTR" 2>/dev/null)
check "exit code 0 after SIGTERM (was ${code:-?})" test "$code" = 0
check "the rules stay after SIGTERM" sh -c "ip netns exec $NODE iptables-save | grep -q NFQWALL-INPUT"
# shellcheck disable=SC2086
check "podman run IMAGE uninstall" pod run --rm --name "$CTR-uninstall" $RUN_OPTS "$IMG" uninstall
check "no NFQWALL chain or rule is left (IPv4, IPv6)" sh -c "
	! ip netns exec $NODE iptables-save | grep -q NFQWALL &&
	! ip netns exec $NODE ip6tables-save | grep -q NFQWALL"
check "tcp 9090 answers again" nc_ "$PY" "$PEER" tcp $NODE4 9090

note "total $(($(date +%s) - T0)) s"
if [ "$FAILS" -gt 0 ]; then
	echo "--- checks"; tail -40 "$WORK/check.log"
	echo "--- container log"; pod logs "$CTR" 2>&1 | tail -20
	exit 1
fi
exit 0
