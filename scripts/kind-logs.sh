#!/usr/bin/env bash
# Save what explains a failed kind run into a folder (default kind-logs/): every shop
# as YAML (kubectl get shop -A -o yaml), the operator's and the workers' logs (every
# pod outside kube-system, each container, with the previous run of one that
# restarted), pods, events, and kind's own node logs. CI uploads the folder when the
# kind job fails; by hand: bash scripts/kind-logs.sh /tmp/why
# Best effort: a part that cannot be read is noted in its file, and the rest is saved.
set -uo pipefail

CLUSTER="${FISHSHOP_KIND_CLUSTER:-fishshop}"
OUT="${1:-kind-logs}"
CONTEXT="kind-$CLUSTER"
mkdir -p "$OUT/pods"
# shellcheck source=scripts/kind/env.sh
source "$(dirname "$0")/kind/env.sh" || echo "kind-logs: kind's tools or engine are missing" >&2
k() { kubectl --context "$CONTEXT" "$@"; }

k get shop -A -o yaml >"$OUT/shops.yaml" 2>&1
k get pods,deployments,statefulsets,services,jobs -A -o wide >"$OUT/workloads.txt" 2>&1
k get events -A --sort-by=.lastTimestamp >"$OUT/events.txt" 2>&1
k describe pods -A >"$OUT/pods-described.txt" 2>&1

k get pods -A --no-headers \
    -o custom-columns=NS:.metadata.namespace,NAME:.metadata.name,RESTARTS:.status.containerStatuses[*].restartCount |
    while read -r namespace pod restarts; do
        [ "$namespace" = kube-system ] && continue
        k logs -n "$namespace" "$pod" --all-containers --prefix --timestamps \
            >"$OUT/pods/$namespace.$pod.log" 2>&1
        if [[ "$restarts" =~ [1-9] ]]; then
            k logs -n "$namespace" "$pod" --all-containers --prefix --timestamps --previous \
                >"$OUT/pods/$namespace.$pod.previous.log" 2>&1
        fi
    done

if command -v kind >/dev/null 2>&1; then
    kind export logs "$OUT/kind" --name "$CLUSTER" >/dev/null 2>&1 ||
        echo "kind export logs failed" >"$OUT/kind-export-failed.txt"
fi
echo "kind-logs: saved in $OUT" >&2
