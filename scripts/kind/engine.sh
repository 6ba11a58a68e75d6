#!/usr/bin/env bash
# Sourced by scripts/kind-up.sh and the other kind scripts: choose the container engine
# kind runs its nodes with, and set what it needs. kind always runs its nodes
# privileged, and a privileged container keeps every capability of the bounding set:
# Docker refuses to start one when CAP_SYS_RESOURCE is missing from it ("unable to apply
# caps"), Podman with runc starts it. So the engine is chosen by what can run a
# privileged node here, not by what is on PATH. FISHSHOP_KIND_ENGINE=docker|podman
# overrides the choice. Sets ENGINE (docker or podman) and, for Podman,
# KIND_EXPERIMENTAL_PROVIDER and CONTAINERS_CONF (scripts/kind/containers.conf).

kind_engine_say() { echo "kind: $*" >&2; }

# kind_apt_install PACKAGE...: install Debian packages that are missing, where apt-get
# runs as root; 1 otherwise (the caller says what to install).
kind_apt_install() {
    command -v apt-get >/dev/null && [[ "$(id -u)" = 0 ]] || return 1
    kind_engine_say "installing $* from Debian's packages"
    apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# 0 when the bounding set holds CAP_SYS_RESOURCE (capability 24).
kind_full_capabilities() {
    local bounding
    bounding="$(awk '/^CapBnd:/ {print $2}' /proc/self/status 2>/dev/null)"
    [[ -n "$bounding" ]] || return 0 # not Linux: Docker Desktop runs its own VM
    (((16#$bounding >> 24) & 1))
}

kind_choose_engine() {
    local here
    here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
    ENGINE="${FISHSHOP_KIND_ENGINE:-}"
    if [[ -z "$ENGINE" ]]; then
        if kind_full_capabilities && command -v docker >/dev/null && docker info >/dev/null 2>&1; then
            ENGINE=docker
            kind_engine_say "engine: docker (it runs here and can start privileged nodes)"
        elif command -v podman >/dev/null && command -v runc >/dev/null ||
            { ! kind_full_capabilities && kind_apt_install podman runc; }; then
            ENGINE=podman
            if kind_full_capabilities; then
                kind_engine_say "engine: podman (no running Docker engine here)"
            else
                kind_engine_say "engine: podman with runc (CAP_SYS_RESOURCE is not in this" \
                    "machine's capability bounding set, so Docker cannot start kind's privileged nodes)"
            fi
        else
            kind_engine_say "no container engine that can run kind's nodes: install Docker" \
                "(https://docs.docker.com/get-docker/) or, on Debian, apt-get install podman runc"
            return 1
        fi
    fi
    case "$ENGINE" in
        docker)
            docker info >/dev/null 2>&1 || {
                kind_engine_say "the Docker engine is not running; start it and try again"
                return 1
            }
            ;;
        podman)
            command -v podman >/dev/null || {
                kind_engine_say "podman is needed (on Debian: apt-get install podman runc)"
                return 1
            }
            command -v runc >/dev/null || {
                kind_engine_say "runc is needed beside podman (on Debian: apt-get install runc)"
                return 1
            }
            export KIND_EXPERIMENTAL_PROVIDER=podman
            export CONTAINERS_CONF="$here/containers.conf"
            # kind mounts the host's /lib/modules into its nodes; a kernel without
            # modules has no such folder.
            if [[ ! -d /lib/modules ]]; then
                mkdir -p /lib/modules 2>/dev/null || {
                    kind_engine_say "kind mounts /lib/modules and there is none here: run" \
                        "sudo mkdir -p /lib/modules and try again"
                    return 1
                }
            fi
            ;;
        *)
            kind_engine_say "FISHSHOP_KIND_ENGINE must be docker or podman, not '$ENGINE'"
            return 1
            ;;
    esac
    export ENGINE
}
