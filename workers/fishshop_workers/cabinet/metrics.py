"""The hot cabinet's Prometheus series, built on the worker's registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from fishshop_workers.cabinet.decisions import CABINET_ITEMS, ITEMS, CabinetCounts, FryResult

__all__ = ["CabinetMetrics"]


class CabinetMetrics:
    """What a preparer or cook with a cabinet exports, labelled with its shop.

    Counted when Redis changes (a decision that is not a replay), since that is when
    portions really move: a replayed record moves nothing and counts nothing.
    """

    def __init__(self, shop: str, registry: CollectorRegistry) -> None:
        self.shop = shop
        self.portions = Gauge(
            "fishshop_cabinet_portions",
            "Portions in the hot cabinet now, by item (plaice is fried to order).",
            ["shop", "item"],
            registry=registry,
        )
        self.portions_fried = Counter(
            "fishshop_cabinet_portions_fried_total",
            "Portions the cook fried, for orders and in batches, by item.",
            ["shop", "item"],
            registry=registry,
        )
        self.batches_fried = Counter(
            "fishshop_cabinet_batches_fried_total",
            "Standard batches the cook fried into the cabinet, by item.",
            ["shop", "item"],
            registry=registry,
        )
        self.served_from_cabinet = Counter(
            "fishshop_orders_served_from_cabinet_total",
            "Orders a preparer served with portions taken from the cabinet.",
            ["shop"],
            registry=registry,
        )
        self.short = Counter(
            "fishshop_cabinet_short_total",
            "Orders without plaice sent to the cook because the cabinet was short.",
            ["shop"],
            registry=registry,
        )
        for item in ITEMS:
            self.portions.labels(shop, item)
            self.portions_fried.labels(shop, item)
        for item in CABINET_ITEMS:
            self.batches_fried.labels(shop, item)
        self.served_from_cabinet.labels(shop)
        self.short.labels(shop)

    def count_fried(self, fried: FryResult) -> None:
        if fried.replayed:
            return
        for item, count in fried.for_order.items():
            self.portions_fried.labels(self.shop, item).inc(count)
        for item, count in fried.batches.items():
            self.portions_fried.labels(self.shop, item).inc(count)
            self.batches_fried.labels(self.shop, item).inc()

    def show(self, counts: CabinetCounts) -> None:
        for item in ITEMS:
            self.portions.labels(self.shop, item).set(counts[item].in_cabinet)
