"""What the demo says of the hot cabinet, as text: the panel's lines and the summary's.

Pure: the live shop feeds it the cabinet's counts and what preparers committed;
it never talks to Redis or Kafka.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from fishshop.demo.boards.shop import order_name
from fishshop_workers.cabinet.decisions import (
    CABINET_ITEMS,
    ITEMS,
    CabinetCounts,
    CabinetSettings,
    portions,
)
from fishshop_workers.shop.menu import describe_parts
from fishshop_workers.shop.order import Order, Rejection, parse_order
from fishshop_workers.shop.outgoing import Outgoing
from fishshop_workers.shop.routing import partition_for_till

__all__ = [
    "BAR_WIDTH",
    "FromCabinet",
    "balance_line",
    "batch_lines",
    "books_lines",
    "served_from_cabinet",
    "stock_lines",
    "summary_lines",
]

BAR_WIDTH = 20
"""Characters of a full bar of portions in the panel."""


def _from_cabinet(out: Outgoing) -> Order | None:
    """The order, if ``out`` serves it with portions taken from the cabinet.

    With a cabinet, an order is either served from it or sent to the cook and comes
    back ready, stamped by the cook; so a served order without ``cookedBy`` came
    from the cabinet.
    """
    if out.event != "served":
        return None
    order = parse_order(out.value)
    if isinstance(order, Rejection) or order.cooked_by is not None:
        return None
    return order


def served_from_cabinet(out: Outgoing, partitions: int) -> str | None:
    """``p2 ✓ till 3 · #271 from the cabinet: cod and chips`` for an order a preparer
    served with portions taken from the cabinet; None for anything else. The
    partition is its till's, as in the preparers' panels (each till counts its own)."""
    order = _from_cabinet(out)
    if order is None:
        return None
    where = f"p{partition_for_till(order.till, partitions)} " if partitions > 0 else ""
    items = describe_parts(list(order.parts))
    return f"{where}✓ {order_name(order)} from the cabinet: {items}"


@dataclass
class FromCabinet:
    """Orders served from the cabinet, and their portions, counted from what
    preparers committed (a transaction that aborted is never counted)."""

    orders: int = 0
    portions: Counter[str] = field(default_factory=Counter)

    def add(self, outputs: Iterable[Outgoing]) -> None:
        for out in outputs:
            order = _from_cabinet(out)
            if order is not None:
                self.orders += 1
                self.portions.update(portions(order.parts))

    def as_dict(self) -> dict[str, int]:
        """``{"orders": N, "cod": N, "chips": N, "plaice": 0}``, for the demo's summary."""
        return {"orders": self.orders, **{item: self.portions[item] for item in ITEMS}}

    def line(self) -> str:
        """``served from the cabinet: 41 orders (cod 38, chips 73)``."""
        items = ", ".join(f"{item} {self.portions[item]}" for item in CABINET_ITEMS)
        return f"served from the cabinet: {self.orders} orders ({items})"


def batch_lines(
    before: CabinetCounts | None, after: CabinetCounts, settings: CabinetSettings
) -> list[str]:
    """``▲ the cook fried a batch: 20 chips``, for each batch fried between two reads
    of the counts. Nothing for the first read, or across a reset (counts fell)."""
    if before is None:
        return []
    lines = []
    for item in CABINET_ITEMS:
        batches = after[item].batches - before[item].batches
        if batches <= 0:
            continue
        what = "a batch" if batches == 1 else f"{batches} batches"
        lines.append(f"▲ the cook fried {what}: {batches * settings.batch_size(item)} {item}")
    return lines


def _bar(count: int, full: int, width: int) -> str:
    filled = min(width, round(width * count / full)) if full > 0 else 0
    if count > 0:
        filled = max(1, filled)  # one portion is not an empty cabinet
    return "█" * filled + "░" * (width - filled)


def stock_lines(
    counts: CabinetCounts, settings: CabinetSettings, width: int = BAR_WIDTH
) -> list[str]:
    """Portions in the cabinet now, one bar per item. A bar is full at a batch on top
    of the refill threshold: the most a cabinet holds just after the cook tops it up."""
    lines = []
    for item in ITEMS:
        portions = counts[item].in_cabinet
        if item in CABINET_ITEMS:
            full = settings.batch_size(item) + settings.threshold(item)
            bar = _bar(portions, max(full, portions), width)
        else:
            bar = "fried to order".ljust(width)
        lines.append(f"{item:<7}{bar} {portions:>4}")
    return lines


def books_lines(counts: CabinetCounts) -> list[str]:
    """Since the start of the day: portions fried, served, and set aside for orders
    the cook sent back that no preparer has served yet."""
    lines = [f"{'':<7}{'fried':>7}{'served':>8}{'aside':>7}"]
    for item in ITEMS:
        books = counts[item]
        lines.append(f"{item:<7}{books.fried:>7}{books.served:>8}{books.set_aside:>7}")
    return lines


def balance_line(gaps: Mapping[str, int]) -> str:
    """Whether every portion fried is accounted for: served, in the cabinet, or set aside."""
    if not gaps:
        return "✓ fried = served + cabinet + set aside"
    wrong = ", ".join(f"{item} {gap:+d}" for item, gap in sorted(gaps.items()))
    return f"✗ BOOKS DO NOT BALANCE (fried minus accounted for): {wrong}"


def summary_lines(
    books: Mapping[str, Mapping[str, int]],
    gaps: Mapping[str, int],
    kafka_gaps: Mapping[str, int] | None = None,
) -> list[str]:
    """The hot cabinet's part of ``fishshop demo``'s summary, in words:

    ``cabinet cod     fried 52  served 45  left 7``, an item a line, then the balance,
    and where Redis and Kafka disagree on portions served, if they do.
    """
    lines = []
    for item, counts in books.items():
        lines.append(
            f"cabinet {item:<7} fried {counts.get('fried', 0):>5}  "
            f"served {counts.get('served', 0):>5}  left {counts.get('left', 0):>5}"
        )
    lines.append(balance_line(gaps))
    if kafka_gaps:
        wrong = ", ".join(f"{item} {gap:+d}" for item, gap in sorted(kafka_gaps.items()))
        lines.append(f"✗ Redis and Kafka disagree on portions served (Redis minus Kafka): {wrong}")
    return lines
