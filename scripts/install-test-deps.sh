#!/usr/bin/env bash
# Install what fishshop's tests need on a Debian or Ubuntu machine:
# Java 17 (runs the embedded Kafka broker), promtool (checks the metrics), redis-server
# (holds the hot cabinet), PostgreSQL (the analyst's database), openssl
# (makes certificates for the TLS and Kubernetes tests), shellcheck (checks the
# scripts), the Python package with its development tools, and the local Kubernetes
# control plane, helm and actionlint (built with Go from the Go module proxy, cached in
# ~/.cache/fishshop).
# Safe to run again.
set -euo pipefail

need_apt=()
command -v java >/dev/null 2>&1 || need_apt+=(openjdk-17-jre-headless)
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
# PostgreSQL's server (the analyst's local database): Debian keeps it off the PATH.
postgres_root="${FISHSHOP_POSTGRES_ROOT:-/usr/lib/postgresql}"
compgen -G "$postgres_root/*/bin/postgres" >/dev/null || command -v postgres >/dev/null 2>&1 ||
  need_apt+=(postgresql)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
command -v shellcheck >/dev/null 2>&1 || need_apt+=(shellcheck)
command -v tmux >/dev/null 2>&1 || need_apt+=(tmux)

if ((${#need_apt[@]})); then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "install: please install ${need_apt[*]} (no apt-get here)" >&2
    exit 1
  fi
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "install: apt-get install ${need_apt[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${need_apt[@]}" >/dev/null
fi

echo "install: pip install -e '.[dev]'" >&2
python3 -m pip install -q -e '.[dev]'

command -v go >/dev/null 2>&1 || {
  echo "install: Go 1.24 or newer is needed to build the Kubernetes control plane for the" >&2
  echo "install: operator tests (https://go.dev/doc/install, or your package manager)" >&2
  exit 1
}
echo "install: etcd, kube-apiserver, kube-controller-manager, kubectl (first build: ~8 minutes)" >&2
bash "$(dirname "$0")/build-kube.sh" >/dev/null
echo "install: helm, for the chart tests (first build: ~3 minutes)" >&2
bash "$(dirname "$0")/build-helm.sh" >/dev/null
echo "install: actionlint, for make lint's check of .github/workflows (first build: ~1 minute)" >&2
bash "$(dirname "$0")/build-actionlint.sh" >/dev/null
