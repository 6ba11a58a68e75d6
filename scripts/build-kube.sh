#!/usr/bin/env bash
# Build the local Kubernetes control plane used by the tests and `make cluster`:
# etcd, kube-apiserver, kube-controller-manager and kubectl, from the Go module proxy.
# Arguments name other binaries of the same release to build instead (the kind node's
# kubelet, kubeadm, kube-scheduler, kube-proxy: scripts/kind/); each is built once.
#
# k8s.io/kubernetes cannot be `go install`ed (its go.mod replaces every k8s.io staging
# module with a local folder), so a small wrapper module requires it and replaces each
# staging module with the published v0.X.Y of the same release. The binaries are cached
# in $FISHSHOP_CACHE_DIR/kube-<version>/bin; a second run returns at once.
set -euo pipefail

KUBE_VERSION="${FISHSHOP_KUBE_VERSION:-v1.34.4}"
CACHE_DIR="${FISHSHOP_CACHE_DIR:-$HOME/.cache/fishshop}"
BUILD_REVISION=2  # bump when the way the binaries are built changes
ROOT="$CACHE_DIR/kube-$KUBE_VERSION-r$BUILD_REVISION"
BIN="$ROOT/bin"
BINARIES=(etcd kube-apiserver kube-controller-manager kubectl)
if (($#)); then
    BINARIES=("$@")
fi

have_all() {
    for name in "${BINARIES[@]}"; do
        [[ -x "$BIN/$name" ]] || return 1
    done
}

if have_all; then
    echo "$BIN"
    exit 0
fi

command -v go >/dev/null || {
    echo "build-kube: Go is needed to build the control plane; install Go 1.24 or newer" >&2
    exit 1
}

staging_version="v0.${KUBE_VERSION#v1.}"
src="$ROOT/src"
mkdir -p "$src" "$BIN"
cd "$src"

say() { echo "build-kube: $*" >&2; }

say "fetching k8s.io/kubernetes@$KUBE_VERSION from the Go module proxy"
kube_mod="$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
etcd_version="$(sed -n 's/^[[:space:]]*go.etcd.io\/etcd\/server\/v3 \(v[^ ]*\).*/\1/p' "$kube_mod" | head -1)"

{
    echo "module fishshop.dev/kube"
    echo
    echo "go 1.24.0"
    echo
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo "require go.etcd.io/etcd/server/v3 $etcd_version"
    echo
    sed -n 's/^[[:space:]]*\(k8s.io\/[a-z0-9-]*\) => \.\/staging\/.*/replace \1 => \1 '"$staging_version"'/p' "$kube_mod"
} >go.mod
cat >tools.go <<'GO'
//go:build tools

package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubeadm"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
GO

say "resolving modules (etcd $etcd_version, staging $staging_version)"
GOFLAGS=-mod=mod go mod tidy >&2

export CGO_ENABLED=0
# Stamp the release into the binaries, so `kubectl version`, helm and the API server's
# /version report v1.34.x instead of v0.0.0-master.
minor="${KUBE_VERSION#v1.}"
minor="${minor%%.*}"
stamp=""
for package in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    stamp+=" -X $package.gitVersion=$KUBE_VERSION -X $package.gitMajor=1"
    stamp+=" -X $package.gitMinor=$minor -X $package.gitTreeState=clean"
    stamp+=" -X $package.buildDate=1970-01-01T00:00:00Z"
done
build() {
    local name="$1" package="$2"
    if [[ -x "$BIN/$name" ]]; then
        return
    fi
    say "building $name (a cold build takes several minutes)"
    go build -trimpath -ldflags "-s -w$stamp" -o "$BIN/$name.tmp" "$package" >&2
    mv "$BIN/$name.tmp" "$BIN/$name"
}
for name in "${BINARIES[@]}"; do
    case "$name" in
        etcd) build etcd go.etcd.io/etcd/server/v3 ;;
        *) build "$name" "k8s.io/kubernetes/cmd/$name" ;;
    esac
done
say "${BINARIES[*]} ready in $BIN"
echo "$BIN"
