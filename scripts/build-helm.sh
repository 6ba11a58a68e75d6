#!/usr/bin/env bash
# Build helm from the Go module proxy into the fishshop cache; print its folder.
set -euo pipefail
HELM_VERSION="${FISHSHOP_HELM_VERSION:-v3.19.0}"
exec bash "$(dirname "$0")/build-go-tool.sh" helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION" \
    "a few minutes, once"
