"""What an audit says of a shop: orders created, served, lost and doubled, the
customers' wait, and whether the second stores agree with Kafka."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from fishshop_workers.analyst.comparison import TableComparison

__all__ = ["Summary", "percentile"]


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
    analyst: TableComparison | None = None
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
