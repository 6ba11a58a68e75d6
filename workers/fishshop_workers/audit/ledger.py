"""The shop's books: which orders were taken, which served, and how often.

Pure: fed with records by ``audit``; it never talks to Kafka.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field

from fishshop_workers.audit.summary import Summary, percentile
from fishshop_workers.cabinet.decisions import portions
from fishshop_workers.shop.menu import needs_cooking
from fishshop_workers.shop.order import Order, Rejection, parse_order, parse_time

__all__ = ["Ledger", "with_cabinet"]


@dataclass
class Ledger:
    created: set[str] = field(default_factory=set)
    served: Counter[str] = field(default_factory=Counter)
    waits: list[float] = field(default_factory=list)
    rejected: int = 0
    unreadable: int = 0
    uncooked: set[str] = field(default_factory=set)
    refused: set[str] = field(default_factory=set)
    served_portions: Counter[str] = field(default_factory=Counter)
    """Portions per item of the orders served (each order once)."""
    served_orders: dict[str, Order] = field(default_factory=dict)
    """Each served order as first served: what the analyst's table must hold."""

    def add_order_record(self, value: bytes | None) -> None:
        """A record of the orders topic: a new order, or one back from the cook."""
        order = parse_order(value)
        if isinstance(order, Rejection):
            self.unreadable += 1
        elif not order.ready:
            self.created.add(order.id)

    def add_served_record(self, value: bytes | None) -> None:
        order = parse_order(value)
        if isinstance(order, Rejection):
            self.unreadable += 1
            return
        self.served[order.id] += 1
        if needs_cooking(order.parts) and order.cooked_by is None:
            self.uncooked.add(order.id)
        if self.served[order.id] == 1:
            self.served_orders[order.id] = order
            self.served_portions.update(portions(order.parts))
            wait = _wait(order)
            if wait is not None:
                self.waits.append(wait)

    def add_dead_letter(self, value: bytes | None = None, reason: str | None = None) -> None:
        """A record of the dead-letter topic. An order refused after it was taken (it
        would have grown past the size limit once stamped: reason ``oversized``, yet
        readable) is accounted for there, not lost: it no longer counts as unserved.
        Any other readable order in dlq still counts as unserved."""
        self.rejected += 1
        if reason != "oversized":
            return
        order = parse_order(value)
        if isinstance(order, Order):
            self.refused.add(order.id)

    def summary(self) -> Summary:
        served_ids = set(self.served)
        return Summary(
            orders_created=len(self.created),
            orders_served=len(served_ids & self.created),
            unserved=len(self.created - served_ids - self.refused),
            duplicates=sum(count - 1 for count in self.served.values()),
            served_unknown=len(served_ids - self.created),
            rejected=self.rejected,
            wait_p50_s=percentile(self.waits, 0.50),
            wait_p99_s=percentile(self.waits, 0.99),
            served_uncooked=len(self.uncooked),
            unreadable=self.unreadable,
        )


def with_cabinet(
    summary: Summary, books: dict[str, dict[str, int]], gaps: dict[str, int], ledger: Ledger
) -> Summary:
    """``summary`` with the cabinet's books, its own gaps, and where Redis and Kafka
    disagree on what was served."""
    kafka_gaps = {
        item: served - ledger.served_portions.get(item, 0)
        for item, counts in books.items()
        if (served := counts["served"]) != ledger.served_portions.get(item, 0)
    }
    return dataclasses.replace(
        summary, cabinet=books, cabinet_gaps=dict(gaps), cabinet_kafka_gaps=kafka_gaps
    )


def _wait(order: Order) -> float | None:
    if order.served_at is None:
        return None
    return (parse_time(order.served_at) - parse_time(order.created_at)).total_seconds()
