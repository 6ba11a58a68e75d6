#!/usr/bin/env bash
# A fish shop on a kind cluster: the cluster from kind-config.yaml, the fishshop image,
# a single-node Kafka, Prometheus and Grafana (kube-prometheus-stack), the fishshop
# chart with its monitoring on, and the sample shop. Needs docker, kind, kubectl, helm.
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
need() {
    command -v "$1" >/dev/null 2>&1 || {
        echo "kind-up: $1 is needed ($2)" >&2
        exit 1
    }
}
need docker "https://docs.docker.com/get-docker/"
need kind "https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
need kubectl "https://kubernetes.io/docs/tasks/tools/"
need helm "https://helm.sh/docs/intro/install/"
docker info >/dev/null 2>&1 || {
    echo "kind-up: the Docker engine is not running; start it and try again" >&2
    exit 1
}
# Another kind usually works, but the node image is the one this kind release was built
# and tested with; say so rather than fail.
kind_version="$(kind version 2>/dev/null | awk '{print $2}')"
if [ "$kind_version" != "$KIND_VERSION" ]; then
    echo "kind-up: kind $kind_version here, fishshop is tested with $KIND_VERSION" \
        "(bash scripts/install-kind-tools.sh installs it)" >&2
fi

if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
    step "kind cluster $CLUSTER already exists"
else
    step "creating kind cluster $CLUSTER from kind-config.yaml ($NODE_IMAGE)"
    kind create cluster --name "$CLUSTER" --config kind-config.yaml --image "$NODE_IMAGE" \
        --wait 120s
fi
kubectl config use-context "kind-$CLUSTER" >/dev/null

step "building $IMAGE from the Dockerfile and loading it into the cluster"
docker build --tag "$IMAGE" .
kind load docker-image "$IMAGE" --name "$CLUSTER"

step "installing a single-node Kafka (manifests/kafka)"
kubectl apply -f manifests/kafka/kafka.yaml
kubectl -n kafka rollout status statefulset/kafka --timeout=300s

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

redis_values=(--set redis.enabled=false)
if [ "$REDIS" = 1 ]; then
    redis_values=(--set redis.enabled=true)
fi
step "installing the fishshop chart with its monitoring$([ "$REDIS" = 1 ] && echo ' and its Redis')"
helm upgrade --install fishshop charts/fishshop \
    --namespace fishshop-system --create-namespace \
    --set image.repository="${IMAGE%:*}" --set image.tag="${IMAGE##*:}" \
    --set monitoring.podMonitor.enabled=true \
    --set monitoring.prometheusRule.enabled=true \
    --set monitoring.dashboards.enabled=true \
    "${redis_values[@]}" \
    --wait --timeout 5m
helm test fishshop --namespace fishshop-system

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
    kubectl apply -f manifests/analyst/analyst.yaml
    kubectl -n analyst rollout status statefulset/postgres --timeout=300s
    kubectl -n analyst rollout status deployment/connect --timeout=600s
    step "opening the sample shop with an analyst (manifests/samples/harbour-analyst.yaml)"
    kubectl apply -f manifests/samples/harbour-analyst.yaml
    kubectl wait --for=condition=AnalystReady fishshop/harbour-analyst --timeout=300s
    kubectl get fishshop/harbour-analyst \
        -o jsonpath='{.status.conditions[?(@.type=="AnalystReady")].message}{"\n"}'
fi
kubectl get shop -o wide

cat >&2 <<DONE

The shop is open. Grafana: http://localhost:3000 (user admin, password prom-operator),
dashboards "Fish shop" and "Fish shop operator" in the folder "Fish shop".

  kubectl scale fishshop/harbour --replicas=4     # more preparers
  FISHSHOP_KIND_REDIS=1 make kind-up              # also Redis and a shop with a hot cabinet
  FISHSHOP_KIND_ANALYST=1 make kind-up            # also Connect, PostgreSQL, a shop with an analyst
  make kind-e2e                                   # the end-to-end checks
  make kind-down                                  # delete the cluster
DONE
