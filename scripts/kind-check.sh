#!/usr/bin/env bash
# The kind stage CI runs after the other tests (.ci/run; `make kind-check` by hand): a
# new cluster with every sample (the hot cabinet and the analyst too), the end-to-end
# checks with no skip allowed, the logs when anything failed (in kind-logs/, with the
# operator's last lines printed), and the cluster deleted whatever happened, even when
# the run is stopped. The cluster has a name and a kubeconfig of its own
# (fishshop-check-<pid>), so a cluster someone is using on the machine is left alone.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
# shellcheck source=scripts/kind/env.sh
source scripts/kind/env.sh || exit 1
export FISHSHOP_KIND_REDIS=1 FISHSHOP_KIND_ANALYST=1 FISHSHOP_KIND_NO_SKIP=1
export FISHSHOP_KIND_CLUSTER="fishshop-check-$$"
KUBECONFIG="$(mktemp)"
export KUBECONFIG
started=$SECONDS
timed() {
    local began=$SECONDS
    "$@"
    local status=$?
    echo "kind-check: $* took $((SECONDS - began)) s" >&2
    return $status
}
# shellcheck disable=SC2317  # called by the EXIT trap
finish() {
    timed make kind-down
    rm -f "$KUBECONFIG"
}
trap finish EXIT
trap 'exit 130' INT TERM

# A check's cluster that a killed run (which no trap outlives) left behind.
for stale in $(kind get clusters 2>/dev/null | grep '^fishshop-check-'); do
    echo "kind-check: deleting $stale, left by an earlier check" >&2
    kind delete cluster --name "$stale" >/dev/null 2>&1
done
status=0
timed make kind-up && timed make kind-e2e || status=$?
if [ "$status" != 0 ]; then
    bash scripts/kind-logs.sh kind-logs
    echo "kind-check: failed; the operator's last lines:" >&2
    kubectl -n fishshop-system logs deployment/fishshop --tail=60 >&2 || true
    echo "kind-check: pods (events and every pod's logs are in kind-logs/):" >&2
    kubectl get pods -A -o wide >&2 || true
fi
echo "kind-check: $([ "$status" = 0 ] && echo passed || echo failed) in $((SECONDS - started)) s" >&2
exit "$status"
