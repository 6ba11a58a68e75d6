"""The shop's Prometheus series, built on a registry the caller owns."""

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

from fishshop_workers.shop.order import REJECTION_REASONS
from fishshop_workers.shop.outgoing import Outgoing

__all__ = ["WAIT_BUCKETS", "ShopMetrics"]

# A *_created sample per series doubles what Prometheus stores for nothing here.
disable_created_metrics()  # type: ignore[no-untyped-call]

WAIT_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60, 120, 300)
"""Seconds from till to counter: a customer notices every second."""


class ShopMetrics:
    """Every series a fishshop worker exports, labelled with its shop."""

    def __init__(self, shop: str, role: str, worker: str, registry: CollectorRegistry) -> None:
        self.shop = shop
        self.registry = registry
        self.worker_info = Gauge(
            "fishshop_worker_info",
            "One per running worker, labelled with its role.",
            ["shop", "role", "worker"],
            registry=registry,
        )
        self.worker_info.labels(shop, role, worker).set(1)
        self.orders_created = Counter(
            "fishshop_orders_created_total",
            "Orders a till has taken and written to the orders topic.",
            ["shop", "till"],
            registry=registry,
        )
        self.orders_served = Counter(
            "fishshop_orders_served_total",
            "Orders prepared and written to the served topic.",
            ["shop"],
            registry=registry,
        )
        self.order_wait = Histogram(
            "fishshop_order_wait_seconds",
            "Time from the till taking an order to the order being served.",
            ["shop"],
            buckets=WAIT_BUCKETS,
            registry=registry,
        )
        self.orders_sent_to_cook = Counter(
            "fishshop_orders_sent_to_cook_total",
            "Orders a preparer handed to the cook.",
            ["shop"],
            registry=registry,
        )
        self.orders_cooked = Counter(
            "fishshop_orders_cooked_total",
            "Orders the cook has cooked and sent back ready.",
            ["shop"],
            registry=registry,
        )
        self.consumer_lag = Gauge(
            "fishshop_consumer_lag",
            # Records, not offsets: transaction markers and aborted records take
            # offsets too, and an idle transactional topic must read 0.
            "Orders (records) in a partition that the worker's group has not yet handled; "
            "transaction markers and aborted records are not counted.",
            ["shop", "topic", "partition"],
            registry=registry,
        )
        self.records_rejected = Counter(
            "fishshop_records_rejected_total",
            "Records sent to the dead-letter topic, by reason.",
            ["shop", "reason"],
            registry=registry,
        )
        self.transactions = Counter(
            "fishshop_transactions_total",
            "Kafka transactions ended by this worker, by result.",
            ["shop", "result"],
            registry=registry,
        )
        self._rejected = {
            reason: self.records_rejected.labels(shop, reason) for reason in REJECTION_REASONS
        }
        for result in ("committed", "aborted"):
            self.transactions.labels(shop, result)
        # Bound once: counting a committed batch then costs no label look-ups.
        self._served = self.orders_served.labels(shop)
        self._sent_to_cook = self.orders_sent_to_cook.labels(shop)
        self._cooked = self.orders_cooked.labels(shop)
        self._wait = self.order_wait.labels(shop)
        self._committed = self.transactions.labels(shop, "committed")
        self._aborted = self.transactions.labels(shop, "aborted")

    def count_committed(self, outputs: Iterable[Outgoing]) -> None:
        """Count what a committed transaction wrote (never what it only tried)."""
        served = to_cook = cooked = 0
        for out in outputs:
            event = out.event
            if event == "served":
                served += 1
                if out.wait_seconds is not None:
                    self._wait.observe(out.wait_seconds)
            elif event == "to_cook":
                to_cook += 1
            elif event == "cooked":
                cooked += 1
            elif event == "rejected" and out.reason is not None:
                rejected = self._rejected.get(out.reason)
                if rejected is None:  # a reason outside the list still counts
                    rejected = self._rejected[out.reason] = self.records_rejected.labels(
                        self.shop, out.reason
                    )
                rejected.inc()
        if served:
            self._served.inc(served)
        if to_cook:
            self._sent_to_cook.inc(to_cook)
        if cooked:
            self._cooked.inc(cooked)
        self._committed.inc()

    def count_aborted(self) -> None:
        self._aborted.inc()

    def set_lag(self, topic: str, partition: int, lag: int | None) -> None:
        """Set one partition's lag; None forgets a partition the worker gave up."""
        if lag is None:
            with contextlib.suppress(KeyError):
                self.consumer_lag.remove(self.shop, topic, str(partition))
        else:
            self.consumer_lag.labels(self.shop, topic, str(partition)).set(lag)
