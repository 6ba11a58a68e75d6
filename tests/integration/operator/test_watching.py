"""On the real API server, the operator is sent its own Deployments and StatefulSets
only: the label selector goes with the watch request, so others' workloads stay on the
server instead of being streamed to the operator and dropped there.

The operator's own registry runs in this process with one more handler, which hears
every workload event that reaches the operator, whatever its labels."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import kopf
import pytest
from kubernetes.config import kube_config

from fishshop_operator.main import build_registry
from fishshop_operator.settings import OperatorConfig
from tests.support.cluster import Cluster


def _workload(kind: str, name: str, labels: dict[str, str]) -> dict[str, Any]:
    pod_labels = {"app": name}
    spec: dict[str, Any] = {
        "replicas": 0,
        "selector": {"matchLabels": pod_labels},
        "template": {
            "metadata": {"labels": pod_labels},
            "spec": {"containers": [{"name": "main", "image": "busybox"}]},
        },
    }
    if kind == "StatefulSet":
        spec["serviceName"] = name
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": name, "labels": labels},
        "spec": spec,
    }


def _apply(cluster: Cluster, namespace: str, manifest: dict[str, Any]) -> None:
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(manifest))


MANAGED = {"app.kubernetes.io/managed-by": "fishshop-operator"}


async def test_the_operator_is_sent_its_own_workloads_only(
    cluster: Cluster, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(cluster.kubeconfig))
    # The kubernetes client reads KUBECONFIG once, when it is imported.
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(cluster.kubeconfig))
    # Present before the operator starts (its first listing) ...
    for kind in ("Deployment", "StatefulSet"):
        _apply(cluster, namespace, _workload(kind, f"early-other-{kind.lower()}", {"x": "y"}))
        _apply(cluster, namespace, _workload(kind, f"early-ours-{kind.lower()}", MANAGED))
    config = OperatorConfig(namespaces=(namespace,), metrics_port=0, resync=3600, concurrency=7)
    registry = build_registry(config)
    heard: list[str] = []
    limits: list[int | None] = []

    @kopf.on.startup(registry=registry)
    def after_ours(settings: kopf.OperatorSettings, **_: Any) -> None:
        limits.append(settings.queueing.worker_limit)

    def hear(name: str | None, **_: Any) -> None:
        heard.append(str(name))

    for plural in ("deployments", "statefulsets"):
        kopf.on.event("apps", "v1", plural, registry=registry, id=f"test-{plural}")(hear)
    stop = asyncio.Event()
    operator = asyncio.create_task(
        kopf.operator(
            registry=registry,
            standalone=True,
            clusterwide=False,
            namespaces=[namespace],
            memo=kopf.Memo(),
            stop_flag=stop,
        )
    )
    try:
        # ... and made while it runs: each other workload before one of ours, so that
        # hearing ours means the other's events would have come first.
        await _until_heard(heard, {"early-ours-deployment", "early-ours-statefulset"}, operator)
        for kind in ("Deployment", "StatefulSet"):
            other = _workload(kind, f"late-other-{kind.lower()}", {"x": "y"})
            await asyncio.to_thread(_apply, cluster, namespace, other)
            ours = _workload(kind, f"late-ours-{kind.lower()}", MANAGED)
            await asyncio.to_thread(_apply, cluster, namespace, ours)
        await _until_heard(heard, {"late-ours-deployment", "late-ours-statefulset"}, operator)
    finally:
        stop.set()
        await asyncio.wait_for(operator, 60)
    assert not [name for name in heard if "other" in name], heard
    # kopf's per-object workers stay unbounded: each waits until every object of the
    # first listing is indexed, so a limit below a namespace's shops would never start
    # (test_lifecycle). The Reconciler bounds what they do (unit: test_resync).
    assert limits == [None]


async def _until_heard(heard: list[str], names: set[str], operator: asyncio.Task[None]) -> None:
    for _ in range(600):
        if names <= set(heard):
            return
        if operator.done():
            operator.result()  # its failure, said plainly
            raise AssertionError("the operator stopped")
        await asyncio.sleep(0.1)
    raise AssertionError(f"the operator never heard of {names - set(heard)}; heard {heard}")
