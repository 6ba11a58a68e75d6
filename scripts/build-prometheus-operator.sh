#!/usr/bin/env bash
# Build the Prometheus Operator and its config reloader at PROMETHEUS_OPERATOR_VERSION,
# and the Prometheus it runs by default at PROMETHEUS_VERSION (scripts/versions.env),
# from the Go module proxy, for the kind images made here (scripts/kind/build-images.sh).
# (Debian's Prometheus is built without Kubernetes service discovery, which PodMonitors
# need.) Both modules carry replace directives, so neither can be `go install`ed: a small
# wrapper module for each requires it and repeats them. Cached in
# $FISHSHOP_CACHE_DIR/prometheus-operator-<version>/bin; prints that folder.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/versions.env
source "$here/versions.env"
VERSION="${FISHSHOP_PROMETHEUS_OPERATOR_VERSION:-$PROMETHEUS_OPERATOR_VERSION}"
CACHE_DIR="${FISHSHOP_CACHE_DIR:-$HOME/.cache/fishshop}"
ROOT="$CACHE_DIR/prometheus-operator-$VERSION"
BIN="$ROOT/bin"
PROMETHEUS="${FISHSHOP_PROMETHEUS_VERSION:-$PROMETHEUS_VERSION}"
if [[ -x "$BIN/operator" && -x "$BIN/prometheus-config-reloader" && -x "$BIN/prometheus-$PROMETHEUS" ]]; then
    echo "$BIN"
    exit 0
fi
command -v go >/dev/null || {
    echo "build-prometheus-operator: Go is needed; install Go 1.24 or newer" >&2
    exit 1
}
module=github.com/prometheus-operator/prometheus-operator
mkdir -p "$ROOT/src" "$BIN"
cd "$ROOT/src"
cat >go.mod <<MOD
module fishshop.dev/monitoring

go 1.24.0

require $module $VERSION

replace $module/pkg/apis/monitoring => $module/pkg/apis/monitoring $VERSION

replace $module/pkg/client => $module/pkg/client $VERSION
MOD
cat >tools.go <<'GO'
//go:build tools

package tools

import (
	_ "github.com/prometheus-operator/prometheus-operator/cmd/operator"
	_ "github.com/prometheus-operator/prometheus-operator/cmd/prometheus-config-reloader"
)
GO
echo "build-prometheus-operator: fetching $module@$VERSION from the Go module proxy" >&2
GOFLAGS=-mod=mod go mod tidy >&2
for name in operator prometheus-config-reloader; do
    [[ -x "$BIN/$name" ]] && continue
    echo "build-prometheus-operator: building $name (a few minutes cold)" >&2
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$BIN/$name.tmp" "$module/cmd/$name" >&2
    mv "$BIN/$name.tmp" "$BIN/$name"
done

# Prometheus v3.x.y is the Go module github.com/prometheus/prometheus v0.3xx.y.
minor="${PROMETHEUS#v3.}"
prometheus_module="v0.3$(printf '%02d' "${minor%%.*}").${minor#*.}"
if [[ ! -x "$BIN/prometheus-$PROMETHEUS" ]]; then
    mkdir -p "$ROOT/prometheus-src"
    cd "$ROOT/prometheus-src"
    kept="$(go mod download -json "github.com/prometheus/prometheus@$prometheus_module" |
        sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
    {
        echo "module fishshop.dev/prometheus"
        echo
        echo "go 1.23.0"
        echo
        echo "require github.com/prometheus/prometheus $prometheus_module"
        echo
        grep '^replace ' "$kept"
    } >go.mod
    printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/prometheus/prometheus/cmd/prometheus"\n' >tools.go
    echo "build-prometheus-operator: building Prometheus $PROMETHEUS ($prometheus_module; several minutes cold)" >&2
    GOFLAGS=-mod=mod go mod tidy >&2
    CGO_ENABLED=0 go build -trimpath \
        -ldflags "-s -w -X github.com/prometheus/common/version.Version=${PROMETHEUS#v}" \
        -o "$BIN/prometheus.tmp" github.com/prometheus/prometheus/cmd/prometheus >&2
    mv "$BIN/prometheus.tmp" "$BIN/prometheus-$PROMETHEUS"
fi
echo "$BIN"
