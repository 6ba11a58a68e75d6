"""The chart's PodMonitors, as a real Prometheus applies them: a pod cannot write
another shop's or another namespace's series, the operator's per-shop gauges keep
their labels, and the label names the dashboards and alerts use come out the same.

There is no Prometheus Operator here, so the test does what it does for a
PodMonitor: one scrape job whose targets carry the pod's Kubernetes metadata
(``__meta_kubernetes_*``), the Operator's own relabelling (``namespace``, ``pod``,
``job``) and then the PodMonitor's relabelings and ``honorLabels``, as rendered by
helm from the chart.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry, Counter, start_http_server

from fishshop_operator.metrics import OperatorMetrics
from fishshop_workers.roles.metrics import ShopMetrics
from tests.support.cluster import ROOT, free_port
from tests.support.prometheus import Prometheus, ScrapeJob
from tests.support.tools import build_helm

CHART = ROOT / "charts" / "fishshop"
RELEASE_NAMESPACE = "fishshop-system"

_RELABEL_KEYS = {"sourceLabels": "source_labels", "targetLabel": "target_label"}


def _relabel_config(rule: dict[str, Any]) -> dict[str, Any]:
    """A PodMonitor relabeling (camelCase) as Prometheus reads it (snake_case)."""
    return {_RELABEL_KEYS.get(key, key): value for key, value in rule.items()}


@dataclass
class PodMonitorJob(ScrapeJob):
    """A PodMonitor endpoint as the Prometheus Operator writes it into Prometheus's
    configuration, with the pods it found given as static targets."""

    pods: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    relabelings: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, monitor: dict[str, Any], pods: list[tuple[str, dict[str, str]]]) -> PodMonitorJob:
        (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
        meta = monitor["metadata"]
        return cls(
            name=f"{meta['namespace']}/{meta['name']}",
            targets=[],
            honor_labels=bool(endpoint.get("honorLabels", False)),
            pods=pods,
            relabelings=[_relabel_config(r) for r in endpoint.get("relabelings", [])],
        )

    def config(self) -> dict[str, Any]:
        operator_rules = [
            {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
            {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
        ]
        return {
            "job_name": self.name,
            "honor_labels": self.honor_labels,
            "static_configs": [
                {"targets": [address], "labels": meta} for address, meta in self.pods
            ],
            "relabel_configs": operator_rules + self.relabelings,
        }


def _pod(namespace: str, name: str, shop_label: str | None) -> dict[str, str]:
    meta = {"__meta_kubernetes_namespace": namespace, "__meta_kubernetes_pod_name": name}
    if shop_label is not None:
        meta["__meta_kubernetes_pod_label_fishshop_dev_shop"] = shop_label
    return meta


@pytest.fixture(scope="module")
def pod_monitors() -> dict[str, dict[str, Any]]:
    helm = build_helm()
    out = subprocess.run(
        [
            str(helm), "template", "fishshop", str(CHART), "-n", RELEASE_NAMESPACE,
            "--kube-version", "v1.34.4", "--set", "monitoring.podMonitor.enabled=true",
        ],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    docs = [d for d in yaml.safe_load_all(out) if d and d["kind"] == "PodMonitor"]
    return {d["metadata"]["name"]: d for d in docs}


@contextlib.contextmanager
def _serving(registry: CollectorRegistry) -> Iterator[str]:
    """``registry`` on /metrics of a free loopback port, as a pod serves it."""
    port = free_port()
    server, thread = start_http_server(port, "127.0.0.1", registry)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _wait_for(what: str, probe: Callable[[], bool], prometheus: Prometheus) -> None:
    deadline = time.monotonic() + 60
    while not probe():
        assert time.monotonic() < deadline, f"{what}:\n{prometheus.log()}"
        time.sleep(0.5)


def test_a_pod_cannot_forge_another_shops_series(
    pod_monitors: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    honest_registry = CollectorRegistry()
    honest = ShopMetrics("harbour", "preparer", "harbour-preparer-0", honest_registry)
    for _ in range(3):
        honest.orders_served.labels("harbour").inc()
    # A pod in another namespace, pretending to be shop harbour of namespace fs-a.
    forged_registry = CollectorRegistry()
    forged = Counter(
        "fishshop_orders_served", "forged", ["namespace", "shop"], registry=forged_registry
    )
    forged.labels("fs-a", "harbour").inc(1000)
    operator = OperatorMetrics(CollectorRegistry())
    operator.shop_ready.labels("fs-a", "harbour").set(1)

    with contextlib.ExitStack() as serving:
        honest_at = serving.enter_context(_serving(honest_registry))
        forged_at = serving.enter_context(_serving(forged_registry))
        operator_at = serving.enter_context(_serving(operator.registry))
        jobs: list[ScrapeJob] = [
            PodMonitorJob.of(
                pod_monitors["fishshop-shops"],
                [
                    (honest_at, _pod("fs-a", "harbour-preparer-0", "harbour")),
                    (forged_at, _pod("mallory", "decoy-till-0", "decoy")),
                ],
            ),
            PodMonitorJob.of(
                pod_monitors["fishshop-operator"],
                [(operator_at, _pod(RELEASE_NAMESPACE, "fishshop-7d9f-abcde", None))],
            ),
        ]
        with Prometheus(tmp_path / "prometheus", jobs) as prometheus:

            def result(expr: str) -> list[dict[str, Any]]:
                answer = prometheus.query(expr)
                assert answer["status"] == "success", answer
                return list(answer["data"]["result"])

            _wait_for("every target scraped", lambda: len(result("up == 1")) == 3, prometheus)
            _wait_for(
                "the operator's gauge",
                lambda: bool(result("fishshop_operator_shop_ready")),
                prometheus,
            )

            # What the dashboards and alerts ask for shop harbour of fs-a: only the
            # honest pod's count.
            (harbour,) = result('fishshop_orders_served_total{namespace="fs-a",shop="harbour"}')
            assert harbour["value"][1] == "3"
            assert harbour["metric"]["pod"] == "harbour-preparer-0"
            assert harbour["metric"]["exported_shop"] == "harbour"
            assert "exported_namespace" not in harbour["metric"]

            # The forger's series count for its own namespace and pod label, and keep
            # what it claimed as exported_*.
            (decoy,) = result('fishshop_orders_served_total{pod="decoy-till-0"}')
            assert decoy["metric"]["namespace"] == "mallory"
            assert decoy["metric"]["shop"] == "decoy"
            assert decoy["metric"]["exported_namespace"] == "fs-a"
            assert decoy["metric"]["exported_shop"] == "harbour"

            totals = {
                (s["metric"]["namespace"], s["metric"]["shop"]): s["value"][1]
                for s in result("sum by (namespace, shop) (fishshop_orders_served_total)")
            }
            assert totals == {("fs-a", "harbour"): "3", ("mallory", "decoy"): "1000"}

            # The operator's per-shop gauges keep the shop's namespace.
            (ready,) = result("fishshop_operator_shop_ready")
            assert ready["metric"]["namespace"] == "fs-a"
            assert ready["metric"]["shop"] == "harbour"
            assert ready["value"][1] == "1"
