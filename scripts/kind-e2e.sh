#!/usr/bin/env bash
# The end-to-end checks against the kind cluster `make kind-up` made (tests/kind), on
# whichever engine runs it. With FISHSHOP_KIND_NO_SKIP=1 (make kind-check, CI) a check
# that skips fails the run, as one that fails does: a skip means the cluster lacks what
# the check needs (the analyst's check skips unless FISHSHOP_KIND_ANALYST=1 installed
# it). The JUnit report goes to $FISHSHOP_KIND_JUNIT (default kind-e2e.xml).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/kind/env.sh
source scripts/kind/env.sh
# shellcheck source=scripts/versions.env
source scripts/versions.env
# The Kafka image whose console consumer the checks run in the cluster.
export FISHSHOP_KAFKA_IMAGE="${FISHSHOP_KAFKA_IMAGE:-$KAFKA_IMAGE}"
report="${FISHSHOP_KIND_JUNIT:-kind-e2e.xml}"
"${PYTHON:-python3}" -m pytest tests/kind -v -rs -p no:cacheprovider --junitxml="$report" "$@"
if grep -q '<testsuite[^>]* tests="0"' "$report"; then
    echo "kind-e2e: no check ran" >&2
    exit 1
fi
if [ "${FISHSHOP_KIND_NO_SKIP:-0}" = 1 ] && ! grep -q '<testsuite[^>]* skipped="0"' "$report"; then
    echo "kind-e2e: checks were skipped (see the SKIPPED lines above); every check must run" >&2
    exit 1
fi
