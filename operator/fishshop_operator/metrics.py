"""The operator's own Prometheus metrics."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)

from fishshop_operator.autoscale.spec import AUTOSCALED_ROLES
from fishshop_operator.kube.rules import API_VERBS

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
        self.resync_round_seconds = Histogram(
            "fishshop_operator_resync_round_seconds",
            "Time for one resync round: every known FishShop reconciled against Kafka",
            buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300),
            registry=self.registry,
        )
        self.shop_ready = Gauge(
            "fishshop_operator_shop_ready",
            "1 while a FishShop is Ready, 0 while it is not",
            ["namespace", "shop"],
            registry=self.registry,
        )
        self.shop_queued = Gauge(
            "fishshop_operator_shop_queued_orders",
            "Orders taken but not yet picked up by a preparer, as the operator last counted",
            ["namespace", "shop"],
            registry=self.registry,
        )

        self.shop_queued_for_cook = Gauge(
            "fishshop_operator_shop_queued_for_cook",
            "Plaice orders in the cook topic not yet picked up by a cook, as the operator "
            "last counted",
            ["namespace", "shop"],
            registry=self.registry,
        )

        self.analyst_failed_tasks = Gauge(
            "fishshop_operator_analyst_failed_tasks",
            "Failed tasks of a FishShop's analyst sink connector, as Kafka Connect last said",
            ["namespace", "shop"],
            registry=self.registry,
        )
        self.analyst_task_restarts = Counter(
            "fishshop_operator_analyst_task_restarts",
            "Failed tasks of a FishShop's analyst sink connector that the operator restarted",
            ["namespace", "shop"],
            registry=self.registry,
        )
        self.desired_replicas = Gauge(
            "fishshop_operator_desired_replicas",
            "Preparers or cooks the autoscaler decided on for a FishShop, by role",
            ["namespace", "shop", "role"],
            registry=self.registry,
        )
        self.api_requests = Counter(
            "fishshop_operator_api_requests",
            "Requests the operator sent to the Kubernetes API (resent ones too), by verb",
            ["verb"],
            registry=self.registry,
        )
        for verb in API_VERBS:
            self.api_requests.labels(verb)

    def forget_analyst(self, namespace: str, shop: str) -> None:
        """A shop's analyst series go away with its spec.analyst."""
        for metric in (self.analyst_failed_tasks, self.analyst_task_restarts):
            with contextlib.suppress(KeyError):
                metric.remove(namespace, shop)

    def forget_desired(self, namespace: str, shop: str, roles: Iterable[str]) -> None:
        """The autoscaler's series of roles that no longer autoscale."""
        for role in roles:
            with contextlib.suppress(KeyError):
                self.desired_replicas.remove(namespace, shop, role)

    def forget(self, namespace: str, shop: str) -> None:
        """A deleted shop's series go away with it."""
        self.forget_desired(namespace, shop, AUTOSCALED_ROLES)
        for gauge in (
            self.shop_ready,
            self.shop_queued,
            self.shop_queued_for_cook,
            self.analyst_failed_tasks,
            self.analyst_task_restarts,
        ):
            with contextlib.suppress(KeyError):
                gauge.remove(namespace, shop)
