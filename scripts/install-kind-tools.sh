#!/usr/bin/env bash
# Install the kind path's tools at the versions in scripts/versions.env, cached in
# ~/.cache/fishshop: kind (built from the Go module proxy), helm (scripts/build-helm.sh)
# and kubectl (the release binary, checked against its published sha256; where that
# cannot be downloaded, built from the Go module proxy by scripts/build-kube.sh).
# Prints the folders to put first on PATH, one a line:
#   export PATH="$(bash scripts/install-kind-tools.sh | paste -sd:):$PATH"
set -euo pipefail
here="$(dirname "$0")"
# shellcheck source=scripts/versions.env
source "$here/versions.env"

CACHE_DIR="${FISHSHOP_CACHE_DIR:-$HOME/.cache/fishshop}"
say() { echo "install-kind-tools: $*" >&2; }
command -v go >/dev/null || {
    say "Go is needed to build kind and helm; install Go 1.24 or newer"
    exit 1
}

kind_bin="$(bash "$here/build-go-tool.sh" kind sigs.k8s.io/kind "$KIND_VERSION")"
helm_bin="$(FISHSHOP_HELM_VERSION="$HELM_VERSION" bash "$here/build-helm.sh")"

download_kubectl() {
    local folder="$1" tmp="$2" os arch url
    os="$(uname -s | tr '[:upper:]' '[:lower:]')"
    case "$(uname -m)" in
        x86_64 | amd64) arch=amd64 ;;
        aarch64 | arm64) arch=arm64 ;;
        *) return 1 ;;
    esac
    command -v curl >/dev/null && command -v sha256sum >/dev/null || return 1
    url="https://dl.k8s.io/release/$KUBECTL_VERSION/bin/$os/$arch/kubectl"
    curl -fsSL --retry 3 --connect-timeout 10 -o "$tmp/kubectl" "$url" &&
        curl -fsSL --retry 3 --connect-timeout 10 -o "$tmp/kubectl.sha256" "$url.sha256" || return 1
    echo "$(cat "$tmp/kubectl.sha256")  $tmp/kubectl" | sha256sum --check --status || {
        say "kubectl $KUBECTL_VERSION does not match its published sha256; not using it"
        return 1
    }
    mkdir -p "$folder"
    install -m 0755 "$tmp/kubectl" "$folder/kubectl"
}

kubectl_bin="$CACHE_DIR/kubectl-$KUBECTL_VERSION/bin"
# The same release built by scripts/build-kube.sh for the tests will do.
for built in "$CACHE_DIR/kube-$KUBECTL_VERSION"-r*/bin; do
    if [[ ! -x "$kubectl_bin/kubectl" && -x "$built/kubectl" ]]; then
        kubectl_bin="$built"
    fi
done
if [[ ! -x "$kubectl_bin/kubectl" ]]; then
    say "downloading kubectl $KUBECTL_VERSION"
    tmp="$(mktemp -d)"
    if download_kubectl "$kubectl_bin" "$tmp"; then
        rm -rf "$tmp"
    else
        rm -rf "$tmp"
        say "no kubectl download here: building it from the Go module proxy (several minutes, once)"
        kubectl_bin="$(FISHSHOP_KUBE_VERSION="$KUBECTL_VERSION" bash "$here/build-kube.sh")"
    fi
fi

printf '%s\n' "$kind_bin" "$kubectl_bin" "$helm_bin"
