#!/usr/bin/env bash
# Build one Go command from the Go module proxy into the fishshop cache, once, and print
# its folder (~/.cache/fishshop/NAME-VERSION/bin):
#   bash scripts/build-go-tool.sh NAME PACKAGE VERSION [WHAT]
# WHAT is how long the first build takes, for the progress line ("once" by default).
# helm, actionlint, kind and CoreDNS are built this way.
set -euo pipefail
if [[ $# -lt 3 ]]; then
    echo "usage: build-go-tool.sh NAME PACKAGE VERSION [WHAT]" >&2
    exit 2
fi
name="$1" package="$2" version="$3" what="${4:-once}"
CACHE_DIR="${FISHSHOP_CACHE_DIR:-$HOME/.cache/fishshop}"
BIN="$CACHE_DIR/$name-$version/bin"

if [[ -x "$BIN/$name" ]]; then
    echo "$BIN"
    exit 0
fi
command -v go >/dev/null || {
    echo "build-go-tool: Go is needed to build $name; install Go 1.24 or newer" >&2
    exit 1
}
echo "build-go-tool: building $name $version from the Go module proxy ($what)" >&2
mkdir -p "$BIN"
CGO_ENABLED=0 GOBIN="$BIN" go install -trimpath -ldflags "-s -w" "$package@$version" >&2
echo "$BIN"
