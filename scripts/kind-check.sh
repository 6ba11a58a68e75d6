#!/usr/bin/env bash
# The kind stage CI runs after the other tests (.ci/run; `make kind-check` by hand): a
# new cluster with every sample (the hot cabinet and the analyst too), the end-to-end
# checks with no skip allowed, the logs when anything failed (in kind-logs/, with the
# operator's last lines printed), and the cluster deleted whatever happened.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
export FISHSHOP_KIND_REDIS=1 FISHSHOP_KIND_ANALYST=1
CLUSTER="${FISHSHOP_KIND_CLUSTER:-fishshop}"
started=$SECONDS
timed() {
    local began=$SECONDS
    "$@"
    local status=$?
    echo "kind-check: $* took $((SECONDS - began)) s" >&2
    return $status
}

# A cluster an earlier run left behind is not this run's.
timed bash scripts/kind-down.sh >/dev/null 2>&1
status=0
timed bash scripts/kind-up.sh && timed bash scripts/kind-e2e.sh || status=$?
if [ "$status" != 0 ]; then
    bash scripts/kind-logs.sh kind-logs
    echo "kind-check: failed; the operator's last lines:" >&2
    kubectl --context "kind-$CLUSTER" -n fishshop-system logs deployment/fishshop --tail=60 >&2 || true
    echo "kind-check: pods and events are in kind-logs/" >&2
    kubectl --context "kind-$CLUSTER" get pods -A -o wide >&2 || true
fi
timed bash scripts/kind-down.sh
echo "kind-check: $([ "$status" = 0 ] && echo passed || echo failed) in $((SECONDS - started)) s" >&2
exit "$status"
