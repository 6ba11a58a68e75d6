#!/usr/bin/env bash
# Install what `fishshop demo` needs on a Debian or Ubuntu machine, when missing, and
# say so: Java 17 or newer (runs the embedded Kafka broker and Connect worker; the
# broker takes $JAVA_HOME/bin/java, else java on the PATH), redis-server (the
# hot-cabinet scenario's local Redis) and PostgreSQL (the analyst scenario's local
# database). Safe to run again. --dry-run only says what it would do.
#
# install-demo-deps.sh [--dry-run] [SCENARIO]: only what SCENARIO needs (`make demo
# SCENARIO=hot-cabinet`: Java and redis-server; analyst: Java and PostgreSQL; any
# other: Java); without one, what every scenario needs. Where there is no apt-get it
# says what to install by hand (Homebrew's names on macOS) and exits 3.
set -euo pipefail

dry_run=false
if [ "${1:-}" = "--dry-run" ]; then
  dry_run=true
  shift
fi
scenario="${1:-all}"

# The major version of the Java the broker would run ("8" for 1.8), or nothing.
java_major() {
  local java=""
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    java="$JAVA_HOME/bin/java"
  else
    java="$(command -v java 2>/dev/null || true)"
  fi
  [ -n "$java" ] || return 0
  local said
  said="$("$java" -version 2>&1)" || true
  # Bash alone reads it: `make demo` may run where little else is installed.
  if [[ "$said" =~ version\ \"(1\.)?([0-9]+) ]]; then
    echo "${BASH_REMATCH[2]}"
  fi
}

need_apt=()
why=()
java="$(java_major)"
if [ -z "$java" ]; then
  need_apt+=(openjdk-17-jre-headless)
  why+=("Java 17 for the embedded Kafka broker (no java here)")
elif [ "$java" -lt 17 ]; then
  need_apt+=(openjdk-17-jre-headless)
  why+=("Java 17 for the embedded Kafka broker (Java $java here is too old)")
fi
need_brew=()
if [ ${#need_apt[@]} -gt 0 ]; then need_brew+=(openjdk@17); fi
if [[ "$scenario" =~ ^(all|hot-cabinet)$ ]] && ! command -v redis-server >/dev/null 2>&1; then
  need_apt+=(redis-server)
  need_brew+=(redis)
  why+=("redis-server for the hot cabinet")
fi
# PostgreSQL's server (the analyst's local database): Debian keeps it off the PATH.
postgres_root="${FISHSHOP_POSTGRES_ROOT:-/usr/lib/postgresql}"
if [[ "$scenario" =~ ^(all|analyst)$ ]] && ! compgen -G "$postgres_root/*/bin/postgres" >/dev/null &&
  ! command -v postgres >/dev/null 2>&1; then
  need_apt+=(postgresql)
  need_brew+=(postgresql@16)
  why+=("PostgreSQL for the analyst")
fi

if ((${#need_apt[@]} == 0)); then
  exit 0
fi
for reason in "${why[@]}"; do
  echo "demo: needs $reason" >&2
done
echo "demo: apt-get install ${need_apt[*]}" >&2
if $dry_run; then
  echo "demo: --dry-run, so nothing was installed" >&2
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  if [ "$(uname -s)" = Darwin ]; then
    echo "demo: no apt-get here; install them with Homebrew: brew install ${need_brew[*]}" >&2
  else
    echo "demo: no apt-get here; install them with your package manager" \
      "(Debian's names: ${need_apt[*]}; Homebrew's: ${need_brew[*]})" >&2
  fi
  exit 3
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
  "${need_apt[@]}" >/dev/null
echo "demo: installed ${need_apt[*]}" >&2
