"""The shop's books: which orders were taken, which served, and how often.

Pure: fed with records by ``audit``; it never talks to Kafka.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from fishshop_workers.analyst.comparison import TableBooks
from fishshop_workers.cabinet.decisions import portions
from fishshop_workers.shop.menu import needs_cooking
from fishshop_workers.shop.order import Order, Rejection, parse_order, parse_time

__all__ = ["Ledger", "Summary", "percentile", "with_cabinet"]


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile; None when there is nothing to rank."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Summary:
    orders_created: int
    orders_served: int
    unserved: int
    duplicates: int
    served_unknown: int
    rejected: int
    wait_p50_s: float | None
    wait_p99_s: float | None
    served_uncooked: int = 0
    """Served orders with plaice that no cook made ready: the cook was skipped."""
    unreadable: int = 0
    """Records in orders or served that are not orders (someone else wrote them)."""
    cabinet: dict[str, dict[str, int]] | None = None
    """With a hot cabinet: per item, portions fried, served and left (in the cabinet
    or set aside for an order)."""
    cabinet_gaps: dict[str, int] = field(default_factory=dict)
    """Per item, fried minus (served + in the cabinet + set aside): empty when the
    cabinet's books balance."""
    cabinet_kafka_gaps: dict[str, int] = field(default_factory=dict)
    """Per item, portions Redis counts as served minus portions of the orders Kafka
    has in served: empty when the two stores agree (once the shop has drained)."""
    analyst: TableBooks | None = None
    """With the analyst's table: its rows, and rows missing, extra or different
    from the served topic."""

    @property
    def clean(self) -> bool:
        """Every order served exactly once, every plaice cooked first, and the second
        stores (cabinet, analyst table) agree with Kafka."""
        return (
            self.unserved == 0
            and self.duplicates == 0
            and self.served_unknown == 0
            and self.served_uncooked == 0
            and not self.cabinet_gaps
            and not self.cabinet_kafka_gaps
            and (self.analyst is None or self.analyst.clean)
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "orders_created": self.orders_created,
            "orders_served": self.orders_served,
            "unserved": self.unserved,
            "duplicates": self.duplicates,
            "served_unknown": self.served_unknown,
            "rejected": self.rejected,
            "wait_p50_s": _round(self.wait_p50_s),
            "wait_p99_s": _round(self.wait_p99_s),
            "served_uncooked": self.served_uncooked,
            "unreadable": self.unreadable,
            **(
                {
                    "cabinet": self.cabinet,
                    "cabinet_gaps": self.cabinet_gaps,
                    "cabinet_kafka_gaps": self.cabinet_kafka_gaps,
                }
                if self.cabinet is not None
                else {}
            ),
            **({"analyst": self.analyst.as_dict()} if self.analyst is not None else {}),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


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
