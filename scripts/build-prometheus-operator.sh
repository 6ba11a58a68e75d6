#!/usr/bin/env bash
# Build the Prometheus Operator and its config reloader at PROMETHEUS_OPERATOR_VERSION
# (scripts/versions.env) from the Go module proxy, for the kind images made here
# (scripts/kind/build-images.sh). The module replaces two of its own nested modules with
# local folders, so it cannot be `go install`ed: a small wrapper module requires it and
# takes those two at the same version. Cached in
# $FISHSHOP_CACHE_DIR/prometheus-operator-<version>/bin; prints that folder.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/versions.env
source "$here/versions.env"
VERSION="${FISHSHOP_PROMETHEUS_OPERATOR_VERSION:-$PROMETHEUS_OPERATOR_VERSION}"
CACHE_DIR="${FISHSHOP_CACHE_DIR:-$HOME/.cache/fishshop}"
ROOT="$CACHE_DIR/prometheus-operator-$VERSION"
BIN="$ROOT/bin"
if [[ -x "$BIN/operator" && -x "$BIN/prometheus-config-reloader" ]]; then
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
    echo "build-prometheus-operator: building $name (a few minutes cold)" >&2
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$BIN/$name.tmp" "$module/cmd/$name" >&2
    mv "$BIN/$name.tmp" "$BIN/$name"
done
echo "$BIN"
