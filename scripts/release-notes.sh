#!/usr/bin/env bash
# The release notes of VERSION (a tag such as v0.1.0, or 0.1.0): its section of
# CHANGELOG.md, printed. Fails, saying what to fix, when the tag is not the version
# pyproject.toml and the chart give, or when CHANGELOG.md has no section for it.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$#" -ne 1 ]; then
    echo "usage: scripts/release-notes.sh VERSION (for example v0.1.0)" >&2
    exit 2
fi
version="${1#v}"
project="$(sed -n 's/^version = "\(.*\)"$/\1/p' pyproject.toml | head -n 1)"
chart="$(sed -n 's/^version: *\(.*\)$/\1/p' charts/fishshop/Chart.yaml | head -n 1)"
app="$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' charts/fishshop/Chart.yaml | head -n 1)"
for pair in "pyproject.toml:$project" "charts/fishshop/Chart.yaml version:$chart" \
    "charts/fishshop/Chart.yaml appVersion:$app"; do
    if [ "${pair##*:}" != "$version" ]; then
        echo "release: the tag says $version but ${pair%:*} says ${pair##*:}; make them agree" >&2
        exit 1
    fi
done
notes="$(awk -v want="## $version" '
    $0 == want || index($0, want " ") == 1 { found = 1; next }
    found && /^## / { exit }
    found { print }
' CHANGELOG.md)"
if [ -z "${notes//[[:space:]]/}" ]; then
    echo "release: CHANGELOG.md has no section '## $version'; rename '## Unreleased' to it" >&2
    exit 1
fi
printf '%s\n' "$notes"
