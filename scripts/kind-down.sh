#!/usr/bin/env bash
# Delete the kind cluster `make kind-up` made.
set -euo pipefail
CLUSTER="${FISHSHOP_KIND_CLUSTER:-fishshop}"
cd "$(dirname "$0")/.."
# shellcheck source=scripts/kind/env.sh
source scripts/kind/env.sh
kind delete cluster --name "$CLUSTER"
