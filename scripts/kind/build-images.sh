#!/usr/bin/env bash
# Build, on this machine, every image the kind path needs where no image registry can
# be reached: from Debian's packages (debootstrap), the Go module proxy and Maven
# Central only, with Podman. scripts/kind-up.sh calls it when FISHSHOP_KIND_IMAGES=local
# (chosen there when kind's node image cannot be pulled).
#
#   localhost/fishshop/debian:bookworm     debootstrap --variant=minbase
#   registry.k8s.io/{kube-apiserver,...}   the control plane at KUBECTL_VERSION, from
#                                          scripts/build-kube.sh; etcd, pause, CoreDNS
#   localhost/fishshop/kind-node:<kube>    kind's node (scripts/kind/node/Containerfile)
#   localhost/fishshop/python:3.11         Debian's Python 3.11, the Dockerfile's base
#   apache/kafka:<KAFKA_VERSION>           Kafka's jars on Debian's JRE (images/kafka)
#   redis:<tag>, postgres:16-bookworm      Debian's Redis and PostgreSQL (images/)
#   quay.io/prometheus-operator/...        the Prometheus Operator and its config reloader
#                                          (scripts/build-prometheus-operator.sh)
#   localhost/fishshop/prometheus:<v>      Prometheus (the same script)
#
# Each image is kept in podman's storage and as an archive under
# ~/.cache/fishshop/kind-images, named by a digest of its inputs, so a second run
# builds nothing. The fishshop image itself is built by kind-up.sh every time.
# Prints the node image's name.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=scripts/versions.env
source "$root/scripts/versions.env"
# shellcheck source=scripts/kind/engine.sh
source "$here/engine.sh"
kind_choose_engine

CACHE_DIR="${FISHSHOP_CACHE_DIR:-$HOME/.cache/fishshop}"
ARCHIVES="$CACHE_DIR/kind-images"
KUBE_VERSION="$KUBECTL_VERSION"
ETCD_TAG=3.6.5-0    # kubeadm v1.34's DefaultEtcdVersion
PAUSE_VERSION=3.10.1 # kubeadm v1.34's PauseVersion
COREDNS_VERSION=v1.12.1
REDIS_TAG="$(sed -n '/^redis:/,/^[a-z]/ s/^ *tag: *\([^ ]*\).*/\1/p' "$root/charts/fishshop/values.yaml" | head -n 1)"
POSTGRES_IMAGE="$(sed -n 's/^ *image: *\(postgres:[^ ]*\).*/\1/p' "$root/manifests/analyst/analyst.yaml" | head -n 1)"
mkdir -p "$ARCHIVES"

say() { echo "kind-images: $*" >&2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# A digest of the named files' contents and of the extra words.
digest() {
    local words="$1"
    shift
    { printf '%s\n' "$words"; cat "$@"; } | sha256sum | cut -c1-16
}

# have NAME KEY: 0 when the image is in the engine's storage with this key, loading it
# from its archive when only that is there.
have() {
    local name="$1" key="$2" archive="$ARCHIVES/${1//[\/:]/_}-$2.tar"
    if [[ "$($ENGINE image inspect --format '{{index .Labels "dev.fishshop.inputs"}}' "$name" 2>/dev/null)" == "$key" ]]; then
        return 0
    fi
    if [[ -f "$archive" ]]; then
        say "loading $name from $archive"
        $ENGINE load --input "$archive" >/dev/null && return 0
        rm -f "$archive"
    fi
    return 1
}

keep() {
    local name="$1" key="$2" archive="$ARCHIVES/${1//[\/:]/_}-$2.tar"
    rm -f "$ARCHIVES/${1//[\/:]/_}"-*.tar
    $ENGINE save --quiet --format docker-archive --output "$archive.tmp" "$name"
    mv "$archive.tmp" "$archive"
}

# build NAME KEY CONTEXT CONTAINERFILE [ARGS...]
build() {
    local name="$1" key="$2" context="$3" file="$4"
    shift 4
    say "building $name"
    # --no-cache: a new key means new inputs, and Podman 4.3 can reuse a stale COPY layer.
    $ENGINE build --no-cache --network=host --label "dev.fishshop.inputs=$key" \
        --tag "$name" --file "$file" "$@" "$context" >"$work/build.log" 2>&1 || {
        tail -n 40 "$work/build.log" >&2
        say "building $name failed (the last 40 lines of the build are above)"
        exit 1
    }
    keep "$name" "$key"
}

# --- Debian ---------------------------------------------------------------------------
DEBIAN_IMAGE=localhost/fishshop/debian:bookworm
# The key names what this section does: bump its revision (r1) when it changes.
debian_key="$(digest "bookworm minbase r1")"
if ! have "$DEBIAN_IMAGE" "$debian_key"; then
    command -v debootstrap >/dev/null || kind_apt_install debootstrap || {
        say "debootstrap is needed to make the Debian base (apt-get install debootstrap)"
        exit 1
    }
    mirror="$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources \
        2>/dev/null | head -n 1 || true)"
    mirror="${mirror:-http://deb.debian.org/debian}"
    say "making the Debian bookworm base with debootstrap from $mirror (about a minute)"
    debootstrap --variant=minbase bookworm "$work/debian" "$mirror" >"$work/debootstrap.log" 2>&1 || {
        tail -n 20 "$work/debootstrap.log" >&2
        exit 1
    }
    # The release file of a dated mirror may be past its Valid-Until.
    echo 'Acquire::Check-Valid-Until "false";' >"$work/debian/etc/apt/apt.conf.d/99fishshop"
    cat >"$work/debian/usr/local/bin/clean-install" <<'SH'
#!/bin/sh
# apt-get install with no recommends, then the package lists removed.
set -eu
apt-get update
apt-get install -y --no-install-recommends "$@"
apt-get clean -y
rm -rf /var/cache/debconf/* /var/lib/apt/lists/* /var/log/* /tmp/* /var/tmp/* /usr/share/doc/* /usr/share/man/*
SH
    chmod 0755 "$work/debian/usr/local/bin/clean-install"
    rm -rf "$work/debian/var/cache/apt/archives/"*.deb "$work/debian/var/lib/apt/lists/"*
    tar -C "$work/debian" -c . |
        $ENGINE import --change "LABEL dev.fishshop.inputs=$debian_key" \
            --change 'CMD ["/bin/bash"]' - "$DEBIAN_IMAGE" >/dev/null
    rm -rf "$work/debian"
    keep "$DEBIAN_IMAGE" "$debian_key"
fi

# --- the control plane's images -------------------------------------------------------
kube_bin="$(FISHSHOP_KUBE_VERSION="$KUBE_VERSION" bash "$root/scripts/build-kube.sh" \
    etcd kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubelet kubeadm kubectl)"
coredns_bin="$(FISHSHOP_CACHE_DIR="$CACHE_DIR" bash "$root/scripts/build-go-tool.sh" \
    coredns github.com/coredns/coredns "$COREDNS_VERSION" "a few minutes, once")"
# module_dir MODULE@VERSION: the module's folder in Go's module cache, fetched if missing.
module_dir() { go mod download -json "$1" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p'; }
pause_c="$(module_dir "k8s.io/kubernetes@$KUBE_VERSION")/build/pause/linux/pause.c"
pause_bin="$CACHE_DIR/pause-$PAUSE_VERSION/bin"
if [[ ! -x "$pause_bin/pause" ]]; then
    say "compiling pause from $pause_c"
    mkdir -p "$pause_bin"
    gcc -Os -Wall -Werror -static -DVERSION="v$PAUSE_VERSION-fishshop" -o "$pause_bin/pause" "$pause_c"
    strip "$pause_bin/pause"
fi

mkdir -p "$work/node/images" "$work/node/kube" "$work/static"
# static_image NAME BINARY-PATH [FOLDER]: FROM scratch with one static binary, in FOLDER
# (default /usr/local/bin).
static_image() {
    local name="$1" binary="$2" folder="${3:-/usr/local/bin}" key
    key="$(digest "$name $KUBE_VERSION $folder" "$binary" "$here/images/static.Containerfile")"
    if ! have "$name" "$key"; then
        rm -rf "$work/static" && mkdir -p "$work/static"
        cp "$binary" "$work/static/"
        local file
        file="$(basename "$binary")"
        sed -e "s|BINARY|$file|g" -e "s|FOLDER|$folder|g" -e "s|NAME|${file%-v[0-9]*}|g" \
            "$here/images/static.Containerfile" >"$work/static/Containerfile"
        build "$name" "$key" "$work/static" "$work/static/Containerfile"
    fi
    built_key="$key"
}
# in_node NAME KEY: the node imports this image before its kubelet starts.
in_node() {
    [[ -f "$ARCHIVES/${1//[\/:]/_}-$2.tar" ]] || keep "$1" "$2"
    cp "$ARCHIVES/${1//[\/:]/_}-$2.tar" "$work/node/images/"
    node_inputs+=" $2"
}
node_inputs=""
built_key=""
static_image "registry.k8s.io/kube-apiserver:$KUBE_VERSION" "$kube_bin/kube-apiserver"
in_node "registry.k8s.io/kube-apiserver:$KUBE_VERSION" "$built_key"
static_image "registry.k8s.io/kube-controller-manager:$KUBE_VERSION" "$kube_bin/kube-controller-manager"
in_node "registry.k8s.io/kube-controller-manager:$KUBE_VERSION" "$built_key"
static_image "registry.k8s.io/kube-scheduler:$KUBE_VERSION" "$kube_bin/kube-scheduler"
in_node "registry.k8s.io/kube-scheduler:$KUBE_VERSION" "$built_key"
static_image "registry.k8s.io/etcd:$ETCD_TAG" "$kube_bin/etcd"
in_node "registry.k8s.io/etcd:$ETCD_TAG" "$built_key"
static_image "registry.k8s.io/pause:$PAUSE_VERSION" "$pause_bin/pause"
in_node "registry.k8s.io/pause:$PAUSE_VERSION" "$built_key"
static_image "registry.k8s.io/coredns/coredns:$COREDNS_VERSION" "$coredns_bin/coredns"
in_node "registry.k8s.io/coredns/coredns:$COREDNS_VERSION" "$built_key"

proxy_image="registry.k8s.io/kube-proxy:$KUBE_VERSION"
proxy_key="$(digest "$debian_key" "$kube_bin/kube-proxy" "$here"/images/kube-proxy.*)"
if ! have "$proxy_image" "$proxy_key"; then
    rm -rf "$work/static" && mkdir -p "$work/static"
    cp "$kube_bin/kube-proxy" "$here/images/kube-proxy.sh" "$work/static/"
    build "$proxy_image" "$proxy_key" "$work/static" "$here/images/kube-proxy.Containerfile" \
        --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE"
fi
in_node "$proxy_image" "$proxy_key"

# --- kind's node ----------------------------------------------------------------------
NODE_IMAGE="localhost/fishshop/kind-node:$KUBE_VERSION"
kind_source="$(module_dir "sigs.k8s.io/kind@$KIND_VERSION")"
node_key="$(digest "$debian_key $KIND_VERSION $KUBE_VERSION $PAUSE_VERSION$node_inputs" \
    "$here"/node/* "$kube_bin/kubelet" "$kube_bin/kubeadm" "$kube_bin/kubectl")"
if ! have "$NODE_IMAGE" "$node_key"; then
    cp -r "$kind_source/images/base/files" "$work/node/kind-base"
    chmod -R u+w "$work/node/kind-base"
    cp "$here"/node/* "$work/node/"
    cp "$kube_bin/kubelet" "$kube_bin/kubeadm" "$kube_bin/kubectl" "$work/node/kube/"
    build "$NODE_IMAGE" "$node_key" "$work/node" "$work/node/Containerfile" \
        --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE" --build-arg "KUBE_VERSION=$KUBE_VERSION" \
        --build-arg "PAUSE_VERSION=$PAUSE_VERSION"
fi

# --- what runs in the cluster besides fishshop ----------------------------------------
PYTHON_IMAGE=localhost/fishshop/python:3.11
python_key="$(digest "$debian_key" "$here/images/python.Containerfile")"
if ! have "$PYTHON_IMAGE" "$python_key"; then
    build "$PYTHON_IMAGE" "$python_key" "$here/images" "$here/images/python.Containerfile" \
        --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE"
fi

kafka_version="$(sed -n 's/^KAFKA_VERSION = "\(.*\)"/\1/p' "$root/workers/fishshop_workers/embedded/jars.py")"
KAFKA_IMAGE_HERE="docker.io/apache/kafka:$kafka_version"
libs="$(cd "$root" && PYTHONPATH="$root/workers" python3 -c \
    'from fishshop_workers.embedded.jars import ensure_jars; print(ensure_jars())')"
plugins="$(cd "$root" && PYTHONPATH="$root/workers" python3 -c \
    'from fishshop_workers.embedded.connect import ensure_sink_plugin; print(ensure_sink_plugin())')"
# r3: bump when the image is made differently from the same files.
kafka_key="$(digest "$debian_key $kafka_version r3" "$libs/.complete" "$plugins"/*/.complete \
    "$here"/images/kafka*)"
if ! have "$KAFKA_IMAGE_HERE" "$kafka_key"; then
    rm -rf "$work/kafka" && mkdir -p "$work/kafka"
    cp -r "$libs" "$work/kafka/libs"
    mkdir -p "$work/kafka/plugins"
    cp -r "$plugins" "$work/kafka/plugins/"
    chmod -R a+rX "$work/kafka/libs" "$work/kafka/plugins" # the cache keeps its jars private
    cp "$here"/images/kafka* "$work/kafka/"
    build "$KAFKA_IMAGE_HERE" "$kafka_key" "$work/kafka" "$work/kafka/kafka.Containerfile" \
        --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE"
fi

REDIS_IMAGE_HERE="docker.io/library/redis:$REDIS_TAG"
redis_key="$(digest "$debian_key" "$here/images/redis.Containerfile")"
if ! have "$REDIS_IMAGE_HERE" "$redis_key"; then
    build "$REDIS_IMAGE_HERE" "$redis_key" "$here/images" "$here/images/redis.Containerfile" \
        --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE"
fi

POSTGRES_IMAGE_HERE="docker.io/library/$POSTGRES_IMAGE"
postgres_key="$(digest "$debian_key r2" "$here"/images/postgres*)" # r2: as kafka_key's r3
if ! have "$POSTGRES_IMAGE_HERE" "$postgres_key"; then
    build "$POSTGRES_IMAGE_HERE" "$postgres_key" "$here/images" "$here/images/postgres.Containerfile" \
        --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE"
fi

# --- monitoring: the Prometheus Operator, its config reloader, Prometheus ---------------
operator_bin="$(bash "$root/scripts/build-prometheus-operator.sh")"
static_image "quay.io/prometheus-operator/prometheus-operator:$PROMETHEUS_OPERATOR_VERSION" \
    "$operator_bin/operator" /bin
static_image "quay.io/prometheus-operator/prometheus-config-reloader:$PROMETHEUS_OPERATOR_VERSION" \
    "$operator_bin/prometheus-config-reloader" /bin
PROMETHEUS_IMAGE="localhost/fishshop/prometheus:$PROMETHEUS_VERSION"
static_image "$PROMETHEUS_IMAGE" "$operator_bin/prometheus-$PROMETHEUS_VERSION" /bin

say "images ready: $NODE_IMAGE, $PYTHON_IMAGE, $KAFKA_IMAGE_HERE, $REDIS_IMAGE_HERE," \
    "$POSTGRES_IMAGE_HERE, the Prometheus Operator $PROMETHEUS_OPERATOR_VERSION, $PROMETHEUS_IMAGE"
echo "$NODE_IMAGE"
