#!/usr/bin/env bash
# Build actionlint (checks .github/workflows; runs shellcheck on their `run:` scripts
# when shellcheck is installed) from the Go module proxy into the fishshop cache;
# print its folder.
set -euo pipefail
# shellcheck source=scripts/versions.env
source "$(dirname "$0")/versions.env"
VERSION="${FISHSHOP_ACTIONLINT_VERSION:-$ACTIONLINT_VERSION}"
exec bash "$(dirname "$0")/build-go-tool.sh" actionlint \
    github.com/rhysd/actionlint/cmd/actionlint "$VERSION"
