"""Does the analyst's table say what the served topic says? A pure comparison.

Kafka is the record of what was served; the table is a copy made by the sink. A
row is *missing* when an order was served but has no row, *extra* when a row has
no served order behind it, and *differs* when its columns are not what the
served record says (till, number, portions, times, who prepared and cooked).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from fishshop_workers.analyst.database import ServedRow
from fishshop_workers.shop.menu import count_portions
from fishshop_workers.shop.order import Order, parse_time

__all__ = ["TableComparison", "compare_table", "expected_row"]


@dataclass(frozen=True)
class TableComparison:
    rows: int
    missing: int
    extra: int
    differ: int
    examples: tuple[str, ...] = ()
    """A few ids of rows missing, extra or different, to look at first."""
    older: int = 0
    """Rows of orders served before the oldest record the served topic still keeps
    (gone with its retention): neither extra nor checked."""
    dead_letters: int = 0
    """Records Connect put in the analyst's dead-letter topic (it could not read or
    write them); a served order among them also counts as missing."""

    @property
    def clean(self) -> bool:
        return self.missing == 0 and self.extra == 0 and self.differ == 0

    def as_dict(self) -> dict[str, object]:
        return {
            "rows": self.rows,
            "missing": self.missing,
            "extra": self.extra,
            "differ": self.differ,
            "dead_letters": self.dead_letters,
            **({"older_than_topic": self.older} if self.older else {}),
            **({"examples": list(self.examples)} if self.examples else {}),
        }


def expected_row(order: Order) -> ServedRow:
    """The row a served order should have."""
    if order.served_at is None:
        raise ValueError(f"order {order.id} was not served")
    return ServedRow(
        id=order.id,
        till=order.till,
        order_number=order.number,
        portions=count_portions(order.parts),
        created_at=parse_time(order.created_at),
        served_at=parse_time(order.served_at),
        prepared_by=order.prepared_by,
        cooked_by=order.cooked_by,
    )


def _same_time(left: datetime, right: datetime) -> bool:
    return abs((left - right).total_seconds()) < 0.0005


def _differs(expected: ServedRow, row: ServedRow) -> bool:
    return (
        expected.till != row.till
        or expected.order_number != row.order_number
        or expected.portions != row.portions
        or not _same_time(expected.created_at, row.created_at)
        or not _same_time(expected.served_at, row.served_at)
        or expected.prepared_by != row.prepared_by
        or expected.cooked_by != row.cooked_by
    )


def compare_table(
    served: Mapping[str, Order], rows: Mapping[str, ServedRow], examples: int = 5
) -> TableComparison:
    """Compare the served orders (by id) with the table's rows (by id).

    A row served before the earliest order the topic holds is older than what
    Kafka keeps (retention took its record): it is counted apart, not as extra.
    """
    earliest = min((parse_time(o.served_at) for o in served.values() if o.served_at), default=None)
    older = {
        order_id
        for order_id, row in rows.items()
        if order_id not in served and (earliest is None or row.served_at < earliest)
    }
    missing = [order_id for order_id in served if order_id not in rows]
    extra = [order_id for order_id in rows if order_id not in served and order_id not in older]
    differ = [
        order_id
        for order_id, order in served.items()
        if order_id in rows and _differs(expected_row(order), rows[order_id])
    ]
    return TableComparison(
        rows=len(rows),
        missing=len(missing),
        extra=len(extra),
        differ=len(differ),
        examples=tuple((missing + extra + differ)[:examples]),
        older=len(older),
    )
