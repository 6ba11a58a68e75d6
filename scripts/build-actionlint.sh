#!/usr/bin/env bash
# Build actionlint (checks .github/workflows; runs shellcheck on their `run:` scripts
# when shellcheck is installed) from the Go module proxy into the fishshop cache;
# print its folder.
set -euo pipefail
# shellcheck source=scripts/versions.env
source "$(dirname "$0")/versions.env"

VERSION="${FISHSHOP_ACTIONLINT_VERSION:-$ACTIONLINT_VERSION}"
CACHE_DIR="${FISHSHOP_CACHE_DIR:-$HOME/.cache/fishshop}"
BIN="$CACHE_DIR/actionlint-$VERSION/bin"

if [[ -x "$BIN/actionlint" ]]; then
    echo "$BIN"
    exit 0
fi
command -v go >/dev/null || {
    echo "build-actionlint: Go is needed to build actionlint; install Go 1.24 or newer" >&2
    exit 1
}
echo "build-actionlint: building actionlint $VERSION from the Go module proxy (once)" >&2
mkdir -p "$BIN"
CGO_ENABLED=0 GOBIN="$BIN" go install -trimpath -ldflags "-s -w" \
    "github.com/rhysd/actionlint/cmd/actionlint@$VERSION" >&2
echo "$BIN"
