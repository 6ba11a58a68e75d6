#!/usr/bin/env bash
# Install what `fishshop demo` needs on a Debian or Ubuntu machine, when missing:
# Java 17 (runs the embedded Kafka broker and Connect worker), redis-server (the
# hot-cabinet scenario's local Redis) and PostgreSQL (the analyst scenario's local
# database). Safe to run again. --dry-run only says what it would do.
set -euo pipefail

dry_run=false
if [ "${1:-}" = "--dry-run" ]; then dry_run=true; fi

need_apt=()
command -v java >/dev/null 2>&1 || need_apt+=(openjdk-17-jre-headless)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
# PostgreSQL's server (the analyst's local database): Debian keeps it off the PATH.
postgres_root="${FISHSHOP_POSTGRES_ROOT:-/usr/lib/postgresql}"
compgen -G "$postgres_root/*/bin/postgres" >/dev/null || command -v postgres >/dev/null 2>&1 ||
  need_apt+=(postgresql)

if ((${#need_apt[@]} == 0)); then
  exit 0
fi
echo "demo: apt-get install ${need_apt[*]}" >&2
if $dry_run; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "demo: please install ${need_apt[*]} (no apt-get here)" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
  "${need_apt[@]}" >/dev/null
