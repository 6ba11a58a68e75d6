"""The operator's own Prometheus metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics

__all__ = ["RESULTS", "OperatorMetrics"]

disable_created_metrics()  # type: ignore[no-untyped-call]

RESULTS = ("ready", "waiting", "error")
"""ready: the shop is Ready; waiting: pods are not ready yet; error: something failed."""


class OperatorMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self.reconciliations = Counter(
            "fishshop_operator_reconciliations",
            "Reconciliations of FishShops, by result",
            ["result"],
            registry=self.registry,
        )
        for result in RESULTS:
            self.reconciliations.labels(result)
        self.reconcile_seconds = Histogram(
            "fishshop_operator_reconcile_duration_seconds",
            "Time to reconcile one FishShop",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
