#!/bin/sh
# scripts/image.sh - the nfqwall container image: an OCI image layout archive that
# "podman load" and "skopeo copy oci-archive:" accept, byte-identical from one build to the
# next. Runs as root (mmdebstrap extracts packages with their owners). deploy/image/README.md
# says what is in the image and how to publish it.
#
#   scripts/image.sh [build]           build $IMAGE_DIR/nfqwall-VERSION.oci.tar, and beside
#                                      it .packages (name version) and .digest (manifest)
#   scripts/image.sh packages [BIN]    the Debian packages the image is made of, one a line
#   scripts/image.sh deps [test]       install the missing tools (mmdebstrap umoci; with
#                                      "test" also podman runc, for tests/image/run.sh)
#
# Layer 1: "mmdebstrap --variant=extract" of Debian bookworm with RUNTIME_PKGS and the
# packages that own the binary's NEEDED libraries (dpkg -S), finished by
# deploy/image/extract-hook.sh. Layer 2: the binary as /usr/bin/nfqwall (debug info
# stripped; the build ID is kept, so $O/nfqwall serves as its debug file).
#
# Environment:
#   O                  the build directory (default build); NFQWALL the binary ($O/nfqwall)
#   IMAGE_DIR          where the archive goes (default $O/image)
#   IMAGE_CACHE        apt's lists and the .deb files of the last build (default
#                      $IMAGE_DIR/cache; empty: none)
#   SOURCE_DATE_EPOCH  every timestamp (default: the last commit's, git log -1 --format=%ct)
#   VERSION            default: what "nfqwall version" prints
#   REVISION           default: git rev-parse HEAD, with "-dirty" when the tree has changes
#   IMAGE_MIRROR, IMAGE_SECURITY_MIRROR   default http://deb.debian.org/debian and
#                      .../debian-security; snapshot.debian.org URLs pin every package version
#   IMAGE_SOURCE, IMAGE_LICENSES          the labels org.opencontainers.image.{source,licenses}
set -eu
umask 022
export LC_ALL=C
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

SUITE=bookworm
# What nfqwall runs besides its own libraries: iptables-restore/-save (nft backend), the
# CA bundle, the users; base-files gives /etc/os-release, which image scanners read.
RUNTIME_PKGS="base-files base-passwd ca-certificates iptables"
# Directories PATH must include: nfqwall spawns iptables-restore by PATH (/usr/sbin).
IMAGE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

O=${O:-build}
NFQWALL=${NFQWALL:-$O/nfqwall}
IMAGE_DIR=${IMAGE_DIR:-$O/image}
IMAGE_CACHE=${IMAGE_CACHE-$IMAGE_DIR/cache}
IMAGE_SELF=$ROOT/scripts/image.sh
export IMAGE_CACHE IMAGE_SELF

die() { echo "image: $*" >&2; exit 1; }
say() { echo "image: $*"; }

# deps [test]: install the missing Debian packages (apt-get update first, only when needed)
deps() {
	want="mmdebstrap umoci binutils python3"
	[ "${1:-}" = test ] && want="$want podman runc"
	missing=""
	for p in $want; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	[ "$(id -u)" -eq 0 ] || die "missing$missing; as root: apt-get install$missing"
	say "installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086 # one word per package
	apt-get install -y -qq --no-install-recommends $missing > /dev/null
}

# candidates FILE: the names dpkg may know FILE by: as given and resolved, each with and
# without /usr (on a merged-/usr host ldd says /lib/... where the package says /usr/lib/...)
candidates() {
	for p in "$1" "$(readlink -f "$1")"; do
		printf '%s\n' "$p" "${p#/usr}" "/usr$p"
	done
}

# packages BIN: RUNTIME_PKGS and the packages (dpkg -S) that own BIN's NEEDED libraries and
# its interpreter; fails naming a library no package owns (the image could not provide it)
packages() {
	bin=$1
	[ -x "$bin" ] || die "no binary $bin (make, or set NFQWALL)"
	needed=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p')
	interp=$(readelf -l "$bin" | sed -n 's/.*program interpreter: \(.*\)\]$/\1/p')
	[ -n "$needed" ] || die "$bin has no NEEDED entries (static or not ELF?)"
	resolved=$(ldd "$bin") || die "ldd $bin failed"
	wanted=""	# "library file" pairs
	for so in $needed; do
		path=$(printf '%s\n' "$resolved" | awk -v so="$so" '$1 == so && $2 == "=>" { print $3 }')
		case $path in
		/*) wanted="$wanted $so $path" ;;
		*) die "$bin needs $so, which ldd does not find on this host" ;;
		esac
	done
	[ -n "$interp" ] && wanted="$wanted interpreter $interp"
	# one dpkg-query for every name (each call reads the whole file database);
	# its lines "pkg:arch[, pkg2:arch]: /path" become "/path pkg"
	# shellcheck disable=SC2086 # $wanted is "library file" pairs, split on purpose
	owners=$(set -- $wanted
		while [ $# -ge 2 ]; do candidates "$2"; shift 2; done | sort -u |
		xargs dpkg-query -S 2>/dev/null |
		sed -n '/^diversion /d; s/^\([^:, ]*\).*: \(\/[^ ]*\)$/\2 \1/p')
	list=$RUNTIME_PKGS
	# shellcheck disable=SC2086
	set -- $wanted
	while [ $# -ge 2 ]; do
		pkg=""
		for q in $(candidates "$2"); do
			pkg=$(printf '%s\n' "$owners" | awk -v q="$q" '$1 == q { print $2; exit }')
			[ -n "$pkg" ] && break
		done
		[ -n "$pkg" ] ||
			die "$bin needs $1 ($2), which no Debian package owns (dpkg -S), so the image cannot provide it"
		list="$list $pkg"
		shift 2
	done
	# shellcheck disable=SC2086 # one package a word
	printf '%s\n' $list | sort -u
}

# cache-in ROOT, cache-out ROOT: mmdebstrap hooks keeping apt's package lists and the .deb
# files of the last build in $IMAGE_CACHE, so that a rebuild downloads only what changed
# (apt still checks the lists against the mirror and every file against its hash)
cache_in() {
	[ -n "$IMAGE_CACHE" ] || return 0
	[ -d "$IMAGE_CACHE/archives" ] && cp -a "$IMAGE_CACHE/archives/." "$1/var/cache/apt/archives/"
	[ -d "$IMAGE_CACHE/lists" ] && cp -a "$IMAGE_CACHE/lists/." "$1/var/lib/apt/lists/"
	return 0
}
cache_out() {
	[ -n "$IMAGE_CACHE" ] || return 0
	rm -rf "$IMAGE_CACHE.new"
	mkdir -p "$IMAGE_CACHE.new/archives" "$IMAGE_CACHE.new/lists"
	for deb in $MMDEBSTRAP_ESSENTIAL; do
		cp -a "$1/${deb#/}" "$IMAGE_CACHE.new/archives/"
	done
	find "$1/var/lib/apt/lists" -maxdepth 1 -type f ! -name lock \
		-exec cp -a {} "$IMAGE_CACHE.new/lists/" \;
	rm -rf "$IMAGE_CACHE"
	mv "$IMAGE_CACHE.new" "$IMAGE_CACHE"
}

# tar_det ARGS...: GNU tar with everything that varies between builds fixed
tar_det() {
	tar --sort=name --format=posix \
		--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
		--mtime="@$SOURCE_DATE_EPOCH" --numeric-owner --no-xattrs --no-acls --no-selinux \
		"$@"
}

build() {
	start=$(date +%s.%N)
	[ "$(id -u)" -eq 0 ] || die "run as root (mmdebstrap extracts with the packages' owners)"
	deps
	[ -x "$NFQWALL" ] || die "no binary $NFQWALL (make first, or set NFQWALL)"
	SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null)} ||
		die "no SOURCE_DATE_EPOCH and no git history to take it from"
	[ -n "$SOURCE_DATE_EPOCH" ] || die "SOURCE_DATE_EPOCH is empty"
	export SOURCE_DATE_EPOCH
	created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
	VERSION=${VERSION:-$("$NFQWALL" version | awk '{ print $2 }')}
	[ -n "$VERSION" ] || die "cannot tell the version ($NFQWALL version)"
	if [ -z "${REVISION:-}" ]; then
		REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)
		git diff --quiet HEAD 2>/dev/null || REVISION=$REVISION-dirty
	fi
	source_url=${IMAGE_SOURCE:-$(git config --get remote.origin.url 2>/dev/null || echo NOASSERTION)}
	licenses=${IMAGE_LICENSES:-NOASSERTION}
	mirror=${IMAGE_MIRROR:-http://deb.debian.org/debian}
	security=${IMAGE_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
	pkgs=$(packages "$NFQWALL") || exit 1
	pkgs=$(printf '%s\n' "$pkgs" | tr '\n' ' ' | sed 's/ $//')	# one line
	arch=$(dpkg --print-architecture)

	mkdir -p "$IMAGE_DIR"
	IMAGE_DIR=$(cd "$IMAGE_DIR" && pwd)
	case $IMAGE_CACHE in
	/* | "") ;;
	*) IMAGE_CACHE=$ROOT/$IMAGE_CACHE ;;
	esac
	work=$(mktemp -d "$IMAGE_DIR/.work.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	trap 'exit 130' INT TERM
	out=$IMAGE_DIR/nfqwall-$VERSION.oci.tar

	# Layer 1: the Debian runtime
	say "rootfs: $SUITE $arch: $pkgs"
	# a snapshot's Release files are past their Valid-Until date
	set --
	case "$mirror$security" in
	*snapshot.debian.org*) set -- --aptopt='Acquire::Check-Valid-Until "false"' ;;
	esac
	# shellcheck disable=SC2016 # the hooks' $1 and $IMAGE_SELF are mmdebstrap's to expand
	mmdebstrap --quiet --variant=extract --mode=root --format=directory --architectures="$arch" \
		--include="$(echo "$pkgs" | tr ' ' ',')" \
		"$@" \
		--setup-hook='"$IMAGE_SELF" cache-in "$1"' \
		--extract-hook="$ROOT/deploy/image/extract-hook.sh" \
		--extract-hook='"$IMAGE_SELF" cache-out "$1"' \
		"$SUITE" "$work/rootfs" \
		"deb $mirror $SUITE main" \
		"deb $mirror $SUITE-updates main" \
		"deb $security $SUITE-security main" ||
		die "mmdebstrap failed"
	# What the build left that is not the image: mmdebstrap's copies of the host's
	# hostname and resolv.conf (the runtime provides its own), device nodes (idem),
	# apt's and dpkg's working files (the image has no apt). Then what dpkg's path-exclude
	# would leave out (mmdebstrap's own filter costs 25 s): manuals, translations, and the
	# documentation except the copyright files.
	r=$work/rootfs
	rm -rf "${r:?}"/dev/* "$r/etc/hostname" "$r/etc/resolv.conf" "$r/etc/fstab" \
		"$r/etc/apt/sources.list" "$r/etc/apt/sources.list.d" "$r/etc/apt/preferences.d" \
		"$r/etc/dpkg/dpkg.cfg.d" "$r/var/cache/apt" "$r/var/lib/apt" "$r/var/log/apt" \
		"$r/var/lib/dpkg/alternatives" "$r/var/lib/dpkg/triggers" "$r/var/lib/dpkg/updates" \
		"$r/usr/share/man" "$r/usr/share/info" "$r/usr/share/locale" "$r/usr/share/lintian" \
		"$r/usr/share/doc-base" "$r/usr/share/bash-completion"
	find "$r/usr/share/doc" -mindepth 2 ! -type d ! -name copyright -delete
	find "$r/usr/share/doc" -depth -type d -empty -delete
	mkdir -p "$r/run" "$r/var/tmp"
	chmod 1777 "$r/tmp" "$r/var/tmp"
	awk '/^Package:/ { p = $2 } /^Version:/ { print p, $2 }' "$r/var/lib/dpkg/status" \
		> "$work/packages"
	(cd "$r" && ls -A) > "$work/top"	# the top directories, in C order
	tar_det -C "$r" -cf "$work/layer1.tar" -T "$work/top"

	# Layer 2: nfqwall
	mkdir -p "$work/bin/usr/bin"
	strip --strip-debug -o "$work/bin/usr/bin/nfqwall" "$NFQWALL"
	chmod 755 "$work/bin/usr/bin/nfqwall"
	tar_det -C "$work/bin" -cf "$work/layer2.tar" usr

	# The OCI layout
	lay=$work/layout
	img=$lay:$VERSION
	umoci init --layout "$lay"
	umoci new --image "$img"
	umoci raw add-layer --image "$img" --history.created "$created" \
		--history.created_by "mmdebstrap --variant=extract $SUITE ($pkgs) + deploy/image/extract-hook.sh" \
		"$work/layer1.tar"
	umoci raw add-layer --image "$img" --history.created "$created" \
		--history.created_by "nfqwall $VERSION ($REVISION) as /usr/bin/nfqwall" \
		"$work/layer2.tar"
	umoci config --image "$img" --no-history --created "$created" \
		--os linux --architecture "$arch" \
		--config.entrypoint nfqwall --config.cmd run --config.cmd --kubernetes \
		--config.env "PATH=$IMAGE_PATH" --config.workingdir / \
		--config.label "org.opencontainers.image.title=nfqwall" \
		--config.label "org.opencontainers.image.description=Host firewall for Kubernetes nodes: Calico host-endpoint policy enforced in userspace through NFQUEUE" \
		--config.label "org.opencontainers.image.version=$VERSION" \
		--config.label "org.opencontainers.image.revision=$REVISION" \
		--config.label "org.opencontainers.image.source=$source_url" \
		--config.label "org.opencontainers.image.licenses=$licenses" \
		--config.label "org.opencontainers.image.created=$created"
	umoci gc --layout "$lay"
	# umoci names the image by its tag alone; podman names a loaded archive after
	# org.opencontainers.image.ref.name, so give it the repository too
	python3 - "$lay/index.json" "$VERSION" "nfqwall:$VERSION" <<'EOT'
import json, sys
path, tag, name = sys.argv[1:]
index = json.load(open(path))
refs = [m for m in index["manifests"]
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag]
assert len(refs) == 1 and len(index["manifests"]) == 1, index
refs[0]["annotations"]["org.opencontainers.image.ref.name"] = name
with open(path, "w") as f:
    json.dump(index, f, separators=(",", ":"), sort_keys=True)
EOT
	tar_det -C "$lay" --mode=u=rwX,go=rX -cf "$work/image.tar" oci-layout index.json blobs
	mv "$work/image.tar" "$out"
	mv "$work/packages" "$IMAGE_DIR/nfqwall-$VERSION.packages"
	# the manifest's digest: what a registry serves the image under when the archive is
	# copied as is (skopeo copy), for the Helm chart's image.digest
	digest=$(sed -n 's/.*"digest":"\(sha256:[0-9a-f]*\)".*/\1/p' "$lay/index.json")
	echo "$digest" > "$IMAGE_DIR/nfqwall-$VERSION.digest"

	end=$(date +%s.%N)
	say "$out"
	say "  sha256 $(sha256sum "$out" | cut -d' ' -f1), $(stat -c %s "$out") bytes," \
		"$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }') s"
	say "  created $created (SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH), revision $REVISION"
	say "  manifest digest $digest (nfqwall-$VERSION.digest)"
	say "  packages: $IMAGE_DIR/nfqwall-$VERSION.packages"
}

case "${1:-build}" in
build) build ;;
packages) packages "${2:-$NFQWALL}" ;;
deps) deps "${2:-}" ;;
cache-in) cache_in "$2" ;;
cache-out) cache_out "$2" ;;
*) echo "usage: scripts/image.sh [build | packages [BINARY] | deps [test]]" >&2; exit 2 ;;
esac
