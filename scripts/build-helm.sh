#!/usr/bin/env bash
# Build helm from the Go module proxy into the fishshop cache; print its folder.
set -euo pipefail

HELM_VERSION="${FISHSHOP_HELM_VERSION:-v3.19.0}"
CACHE_DIR="${FISHSHOP_CACHE_DIR:-$HOME/.cache/fishshop}"
BIN="$CACHE_DIR/helm-$HELM_VERSION/bin"

if [[ -x "$BIN/helm" ]]; then
    echo "$BIN"
    exit 0
fi
command -v go >/dev/null || {
    echo "build-helm: Go is needed to build helm; install Go 1.24 or newer" >&2
    exit 1
}
echo "build-helm: building helm $HELM_VERSION from the Go module proxy (a few minutes, once)" >&2
mkdir -p "$BIN"
CGO_ENABLED=0 GOBIN="$BIN" go install -trimpath -ldflags "-s -w" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
echo "$BIN"
