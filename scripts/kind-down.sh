#!/usr/bin/env bash
# Delete the kind cluster `make kind-up` made.
set -euo pipefail
CLUSTER="${FISHSHOP_KIND_CLUSTER:-fishshop}"
command -v kind >/dev/null 2>&1 || {
    echo "kind-down: kind is not installed, so there is no cluster to delete" >&2
    exit 0
}
kind delete cluster --name "$CLUSTER"
