#!/usr/bin/env bash
# Sourced by the kind scripts (kind-up, kind-e2e, kind-logs, kind-down): kind, kubectl
# and helm at scripts/versions.env's versions first on PATH (scripts/install-kind-tools.sh
# builds or fetches them once), and the container engine chosen (scripts/kind/engine.sh).
kind_env_here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
kind_env_tools="$(bash "$kind_env_here/../install-kind-tools.sh" | paste -sd:)" || return 1
export PATH="$kind_env_tools:$PATH"
# shellcheck source=scripts/kind/engine.sh
source "$kind_env_here/engine.sh"
kind_choose_engine || return 1
