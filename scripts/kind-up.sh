#!/usr/bin/env bash
# A fish shop on a kind cluster: the cluster from kind-config.yaml, the fishshop image,
# a single-node Kafka, Prometheus and Grafana (kube-prometheus-stack), the fishshop
# chart with its monitoring on, and the sample shop. Needs Go and a container engine
# (Docker, or Podman with runc: scripts/kind/engine.sh); kind, kubectl and helm are
# built or fetched once (scripts/install-kind-tools.sh). Where no registry answers, it
# builds every image here (scripts/kind/build-images.sh), with Prometheus but no Grafana.
# FISHSHOP_KIND_REDIS=1 also installs the chart's Redis (redis.enabled) and opens the
# sample shop with a hot cabinet (manifests/samples/harbour-hot-cabinet.yaml).
# FISHSHOP_KIND_ANALYST=1 also installs PostgreSQL and a Kafka Connect worker with
# Debezium's JDBC sink (manifests/analyst) and opens the sample shop with an analyst
# (manifests/samples/harbour-analyst.yaml).
# The versions of kind's node image and of kube-prometheus-stack are in
# scripts/versions.env, with those of kind, kubectl and helm
# (scripts/install-kind-tools.sh installs those three).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/versions.env
source scripts/versions.env

CLUSTER="${FISHSHOP_KIND_CLUSTER:-fishshop}"
IMAGE="${FISHSHOP_IMAGE:-fishshop:0.1.0}"
MONITORING_CHART_VERSION="${FISHSHOP_MONITORING_CHART_VERSION:-$MONITORING_CHART_VERSION}"
NODE_IMAGE="${FISHSHOP_KIND_NODE_IMAGE:-$KIND_NODE_IMAGE}"
REDIS="${FISHSHOP_KIND_REDIS:-0}"
case "$REDIS" in
    0 | 1) ;;
    *)
        echo "kind-up: FISHSHOP_KIND_REDIS must be 0 or 1, not '$REDIS'" >&2
        exit 1
        ;;
esac

ANALYST="${FISHSHOP_KIND_ANALYST:-0}"
case "$ANALYST" in
    0 | 1) ;;
    *)
        echo "kind-up: FISHSHOP_KIND_ANALYST must be 0 or 1, not '$ANALYST'" >&2
        exit 1
        ;;
esac

step() { printf '\n==> %s\n' "$*" >&2; }

# kind, kubectl and helm at the pinned versions, built or fetched once.
step "kind $KIND_VERSION, kubectl $KUBECTL_VERSION and helm $HELM_VERSION (cached in ~/.cache/fishshop)"
# shellcheck source=scripts/kind/env.sh
source scripts/kind/env.sh

# Where the images come from: the registries (upstream), or built on this machine from
# the package registries (local: scripts/kind/build-images.sh).
IMAGES="${FISHSHOP_KIND_IMAGES:-auto}"
if [ "$IMAGES" = auto ]; then
    IMAGES=upstream
    # Images are made here only with Podman (the build uses its options); Docker pulls
    # kind's node image itself. Podman takes no short name with both tag and digest.
    if [ "$ENGINE" = podman ] &&
        ! timeout 90 podman pull --quiet "docker.io/kindest/node@${NODE_IMAGE#*@}" >/dev/null 2>&1; then
        IMAGES=local
        echo "kind-up: $NODE_IMAGE cannot be pulled here, so every image is built on this" \
            "machine (FISHSHOP_KIND_IMAGES=upstream or local chooses)" >&2
    fi
fi
if [ "$IMAGES" = local ] && [ "$ENGINE" != podman ]; then
    echo "kind-up: images are built here only with Podman (FISHSHOP_KIND_ENGINE=podman)" >&2
    exit 1
fi
case "$IMAGES" in
    upstream) step "images: from their registries (kind's node $NODE_IMAGE)" ;;
    local)
        step "images: built here from Debian's packages, the Go module proxy and Maven Central"
        NODE_IMAGE="$(bash scripts/kind/build-images.sh)"
        ;;
    *)
        echo "kind-up: FISHSHOP_KIND_IMAGES must be auto, upstream or local, not '$IMAGES'" >&2
        exit 1
        ;;
esac

# load IMAGE: put an image of the engine's storage on the cluster's node.
load() {
    if [ "$ENGINE" = docker ]; then
        kind load docker-image "$1" --name "$CLUSTER"
    else
        # kind load docker-image calls the docker CLI; an archive works with any engine.
        local archive
        archive="$(mktemp --suffix=.tar)"
        local status=0
        podman save --quiet --format docker-archive --output "$archive" "$1" || status=$?
        if [ "$status" = 0 ]; then
            kind load image-archive "$archive" --name "$CLUSTER" || status=$?
        fi
        rm -f "$archive"
        return "$status"
    fi
}

if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
    step "kind cluster $CLUSTER already exists"
else
    step "creating kind cluster $CLUSTER from kind-config.yaml ($NODE_IMAGE)"
    config=kind-config.yaml
    if [ "$IMAGES" = local ]; then
        # No Grafana here, so no port of the machine's to publish it on.
        config="$(mktemp --suffix=.yaml)"
        sed '/^    extraPortMappings:/,$d' kind-config.yaml >"$config"
    fi
    kind create cluster --name "$CLUSTER" --config "$config" --image "$NODE_IMAGE" \
        --wait 120s
fi
kubectl config use-context "kind-$CLUSTER" >/dev/null
if [ "$IMAGES" = local ]; then
    # One CoreDNS is plenty for one node, and its CPU request goes to the shops.
    kubectl -n kube-system scale deployment coredns --replicas=1 >/dev/null
fi

step "building $IMAGE from the Dockerfile and loading it into the cluster"
if [ "$ENGINE" = podman ]; then
    # Podman would name it localhost/...; the chart's fishshop:0.1.0 means docker.io.
    case "$IMAGE" in */*) ;; *) IMAGE="docker.io/library/$IMAGE" ;; esac
fi
if [ "$IMAGES" = local ]; then
    # Debian's Python made here as the base; the build reaches PyPI through the host's
    # network and certificate authorities. --no-cache: Podman 4.3 reuses a cached COPY
    # layer after its folder changed. The image it replaces is pruned.
    podman build --no-cache --network=host --volume /etc/ssl/certs:/etc/ssl/certs:ro \
        --build-arg PYTHON_IMAGE=localhost/fishshop/python:3.11 --tag "$IMAGE" .
    podman image prune --force >/dev/null
    images=("docker.io/apache/$(basename "$KAFKA_IMAGE")" "$IMAGE"
        "quay.io/prometheus-operator/prometheus-operator:$PROMETHEUS_OPERATOR_VERSION"
        "quay.io/prometheus-operator/prometheus-config-reloader:$PROMETHEUS_OPERATOR_VERSION"
        "localhost/fishshop/prometheus:$PROMETHEUS_VERSION")
    if [ "$REDIS" = 1 ]; then
        images+=("docker.io/library/redis:$(sed -n '/^redis:/,/^[a-z]/ s/^ *tag: *\([^ ]*\).*/\1/p' \
            charts/fishshop/values.yaml | head -n 1)")
    fi
    if [ "$ANALYST" = 1 ]; then
        images+=("docker.io/library/$(sed -n 's/^ *image: *\(postgres:[^ ]*\).*/\1/p' \
            manifests/analyst/analyst.yaml | head -n 1)")
    fi
    for image in "${images[@]}"; do
        load "$image"
    done
else
    "$ENGINE" build --tag "$IMAGE" .
    load "$IMAGE"
fi

step "installing a single-node Kafka (manifests/kafka)"
kubectl apply -f manifests/kafka/kafka.yaml
kubectl -n kafka rollout status statefulset/kafka --timeout=300s

monitoring_values=(--set monitoring.podMonitor.enabled=true
    --set monitoring.prometheusRule.enabled=true --set monitoring.dashboards.enabled=true)
if [ "$IMAGES" = local ]; then
    # kube-prometheus-stack's chart and images come from registries: here the Prometheus
    # Operator and Prometheus, built from the Go module proxy (no Grafana).
    step "installing Prometheus $PROMETHEUS_VERSION (the Prometheus Operator" \
        "$PROMETHEUS_OPERATOR_VERSION; Grafana needs the registries)"
    bundle="$(go mod download -json "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION" |
        sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')/bundle.yaml"
    kubectl create namespace monitoring --dry-run=client -o yaml | kubectl apply -f - >/dev/null
    sed 's/namespace: default$/namespace: monitoring/' "$bundle" |
        kubectl apply --server-side --force-conflicts -f - >/dev/null
    kubectl wait --for condition=established --timeout=120s \
        crd/prometheuses.monitoring.coreos.com crd/podmonitors.monitoring.coreos.com \
        crd/prometheusrules.monitoring.coreos.com
    kubectl -n monitoring rollout status deployment/prometheus-operator --timeout=300s
    kubectl apply -f manifests/monitoring/prometheus.yaml
    kubectl -n monitoring wait --for=condition=Available prometheus/fishshop --timeout=300s
else
    step "installing Prometheus and Grafana (kube-prometheus-stack $MONITORING_CHART_VERSION)"
    helm repo add prometheus-community https://prometheus-community.github.io/helm-charts >/dev/null
    helm repo update prometheus-community >/dev/null
    helm upgrade --install monitoring prometheus-community/kube-prometheus-stack \
        --version "$MONITORING_CHART_VERSION" \
        --namespace monitoring --create-namespace \
        --set prometheus.prometheusSpec.podMonitorSelectorNilUsesHelmValues=false \
        --set prometheus.prometheusSpec.ruleSelectorNilUsesHelmValues=false \
        --set prometheus.prometheusSpec.scrapeInterval=15s \
        --set grafana.service.type=NodePort \
        --set grafana.service.nodePort=30300 \
        --set grafana.sidecar.dashboards.enabled=true \
        --set grafana.sidecar.dashboards.searchNamespace=ALL \
        --set grafana.sidecar.dashboards.folderAnnotation=grafana_folder \
        --set grafana.sidecar.dashboards.provider.foldersFromFilesStructure=true \
        --set alertmanager.enabled=false \
        --wait --timeout 10m
fi

redis_values=(--set redis.enabled=false)
if [ "$REDIS" = 1 ]; then
    redis_values=(--set redis.enabled=true)
fi
step "installing the fishshop chart with its monitoring$([ "$REDIS" = 1 ] && echo ' and its Redis')"
helm upgrade --install fishshop charts/fishshop \
    --namespace fishshop-system --create-namespace \
    --set image.repository="${IMAGE%:*}" --set image.tag="${IMAGE##*:}" \
    "${monitoring_values[@]}" \
    "${redis_values[@]}" \
    --wait --timeout 5m
helm test fishshop -n fishshop-system

step "opening the sample shop (manifests/samples/harbour.yaml)"
kubectl apply -f manifests/samples/harbour.yaml
kubectl wait --for=condition=Ready fishshop/harbour --timeout=300s
if [ "$REDIS" = 1 ]; then
    step "opening the sample shop with a hot cabinet (manifests/samples/harbour-hot-cabinet.yaml)"
    kubectl apply -f manifests/samples/harbour-hot-cabinet.yaml
    kubectl wait --for=condition=Ready fishshop/harbour-hot-cabinet --timeout=300s
    kubectl get fishshop/harbour-hot-cabinet \
        -o jsonpath='{.status.conditions[?(@.type=="CabinetReady")].message}{"\n"}'
fi
if [ "$ANALYST" = 1 ]; then
    step "installing PostgreSQL and Kafka Connect with Debezium's JDBC sink (manifests/analyst)"
    if [ "$IMAGES" = local ]; then
        # The Kafka image made here carries the sink plugin (scripts/kind/build-images.sh):
        # Connect's plugin path is filled from it, not from Maven Central in a pod.
        KAFKA_HERE="docker.io/apache/$(basename "$KAFKA_IMAGE")" python3 - <<'PY' | kubectl apply -f -
import os, sys
text = open("manifests/analyst/analyst.yaml").read()
fetch = """          image: fishshop:0.1.0
          imagePullPolicy: IfNotPresent
          args: ["connect", "--install-plugin", "/plugins"]"""
copy = f"""          image: {os.environ["KAFKA_HERE"]}
          imagePullPolicy: IfNotPresent
          command: ["cp", "-r", "/opt/kafka/plugins/.", "/plugins/"]"""
if fetch not in text:
    sys.exit("kind-up: manifests/analyst/analyst.yaml no longer fetches the plugin as expected")
sys.stdout.write(text.replace(fetch, copy))
PY
    else
        kubectl apply -f manifests/analyst/analyst.yaml
    fi
    kubectl -n analyst rollout status statefulset/postgres --timeout=300s
    kubectl -n analyst rollout status deployment/connect --timeout=600s
    step "opening the sample shop with an analyst (manifests/samples/harbour-analyst.yaml)"
    kubectl apply -f manifests/samples/harbour-analyst.yaml
    kubectl wait --for=condition=AnalystReady fishshop/harbour-analyst --timeout=300s
    kubectl get fishshop/harbour-analyst \
        -o jsonpath='{.status.conditions[?(@.type=="AnalystReady")].message}{"\n"}'
fi
kubectl get shop -o wide

if [ "$IMAGES" = local ]; then
    where="Prometheus: kubectl -n monitoring port-forward svc/prometheus-operated 9090
(no Grafana where the registries do not answer)."
else
    where="Grafana: http://localhost:3000 (user admin, password prom-operator),
dashboards \"Fish shop\" and \"Fish shop operator\" in the folder \"Fish shop\"."
fi
cat >&2 <<DONE

The shop is open. $where

  kubectl scale fishshop/harbour --replicas=4     # more preparers
  FISHSHOP_KIND_REDIS=1 make kind-up              # also Redis and a shop with a hot cabinet
  FISHSHOP_KIND_ANALYST=1 make kind-up            # also Connect, PostgreSQL, a shop with an analyst
  make kind-e2e                                   # the end-to-end checks
  make kind-down                                  # delete the cluster
DONE
