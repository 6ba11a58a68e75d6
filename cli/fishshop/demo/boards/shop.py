"""What the live view says of the shop, as text: each worker's lines and the numbers.

Pure: the live shop feeds it orders and counts; it never talks to Kafka.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from fishshop_workers.shop.menu import describe_parts
from fishshop_workers.shop.order import Order, Rejection, parse_order
from fishshop_workers.shop.outgoing import Outgoing
from fishshop_workers.shop.routing import partition_for_till
from fishshop_workers.shop.spec import ShopSpec

__all__ = [
    "RATE_WINDOW",
    "ShopNumbers",
    "Tally",
    "counted",
    "crew_text",
    "headline",
    "kitchen_line",
    "order_label",
    "order_name",
    "partitions_text",
    "per_minute",
    "seconds_text",
    "station_title",
]

RATE_WINDOW = 60.0
"""Seconds of tallies that the per-minute rates look back over."""

ROLE_NAMES = {"till": "Till", "preparer": "Preparer", "cook": "Cook"}


class Tally(NamedTuple):
    """The shop's running totals at one moment (loop time, in seconds)."""

    at: float
    taken: int
    served: int


def per_minute(
    tallies: Sequence[Tally], pick: str, window: float = RATE_WINDOW, least: float = 2.0
) -> float | None:
    """Orders per minute over the last ``window`` seconds of tallies, by ``pick``
    (``taken`` or ``served``); None until ``least`` seconds have been seen."""
    if not tallies:
        return None
    latest = tallies[-1]
    oldest = next((t for t in tallies if latest.at - t.at <= window), latest)
    span = latest.at - oldest.at
    if span < least:
        return None
    change: int = getattr(latest, pick) - getattr(oldest, pick)
    return max(0.0, change * 60.0 / span)


def seconds_text(value: float | None) -> str:
    """``3.2s``, or ``-`` for nothing measured yet."""
    return "-" if value is None else f"{value:.1f}s"


def order_name(order: Order) -> str:
    """``till 3 · #271``: each till numbers its own orders, so the till is part of the
    name (two "#271"s from two tills are two orders, never one served twice)."""
    return f"till {order.till} · #{order.number}"


def order_label(order: Order) -> str:
    """``till 3 · #271: cod and chips``: how the counter calls an order."""
    return f"{order_name(order)}: {describe_parts(list(order.parts))}"


def kitchen_line(out: Outgoing, partitions: int) -> str | None:
    """One line for what a preparer or a cook committed; None for nothing to show.

    What happened comes first, the items last (a narrow panel cuts them short).
    A preparer's lines start with the partition the order came from, which is
    its till's partition: ``p2 ✓ till 3 · #271 ready in 3.2s: cod and chips``.
    """
    if out.event == "rejected":
        return f"✗ not an order ({out.reason}) → dlq"
    order = parse_order(out.value)
    if isinstance(order, Rejection):
        return None
    items = describe_parts(list(order.parts))
    where = f"p{partition_for_till(order.till, partitions)} " if partitions > 0 else ""
    if out.event == "served":
        how = "ready, cooked," if order.cooked_by else "ready"
        wait = "" if out.wait_seconds is None else f" in {seconds_text(out.wait_seconds)}"
        return f"{where}✓ {order_name(order)} {how}{wait}: {items}"
    if out.event == "to_cook":
        return f"{where}→ {order_name(order)} to the cook: {items}"
    if out.event == "cooked":
        back = "" if out.partition is None else f", back to p{out.partition}"
        return f"✓ {order_name(order)} cooked{back}: {items}"
    return None


def partitions_text(partitions: Iterable[int]) -> str:
    """``partitions 0, 2``, ``partition 1`` or ``no partitions``."""
    numbers = sorted(partitions)
    if not numbers:
        return "no partitions"
    word = "partition" if len(numbers) == 1 else "partitions"
    return f"{word} {', '.join(str(n) for n in numbers)}"


def station_title(role: str, number: int, partitions: Sequence[int] | None, state: str = "") -> str:
    """A panel's title: ``Till 3 → partition 2``, ``Preparer 1 · partitions 0, 2``.

    ``partitions`` is None while the worker does not know yet; ``state`` says
    what else a watcher must know (``closed``, ``leaving``, ``stopped``).
    """
    name = f"{ROLE_NAMES.get(role, role.title())} {number}"
    if partitions is None:
        where = " · joining" if role != "till" else ""
    elif role == "till":
        where = f" → {partitions_text(partitions)}"
    else:
        where = f" · {partitions_text(partitions)}"
    return f"{name}{where}{f' · {state}' if state else ''}"


@dataclass(frozen=True)
class ShopNumbers:
    """The header's numbers at one moment."""

    shop: str
    is_open: bool
    tills: int
    preparers: int
    cooks: int
    partitions: int
    taken: int = 0
    served: int = 0
    waiting: int = 0
    taken_per_minute: float | None = None
    served_per_minute: float | None = None
    wait_p50: float | None = None
    wait_p99: float | None = None
    queue: Mapping[int, int] = field(default_factory=dict)
    """Orders in each partition of ``orders`` that no preparer has committed yet."""
    cook_queue: int = 0
    """Orders handed to the cook and not cooked yet, all partitions together."""
    served_twice: int = 0


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}/min"


def counted(count: int, word: str) -> str:
    """``1 till``, ``3 tills``."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def crew_text(spec: ShopSpec, analyst: bool = False) -> str:
    """``3 tills, 2 preparers, 1 cook, 3 partitions, a hot cabinet``: the shop that opens."""
    crew = [
        counted(spec.tills.replicas, "till"),
        counted(spec.preparers.replicas, "preparer"),
        counted(spec.cooks.replicas, "cook"),
        counted(spec.partitions, "partition"),
    ]
    if spec.hot_cabinet is not None:
        crew.append("a hot cabinet")
    if analyst:
        crew.append("an analyst")
    return ", ".join(crew)


def headline(numbers: ShopNumbers) -> list[str]:
    """The header: who is working, how fast orders go, and where they wait."""
    queue = "  ".join(f"p{p} {n}" for p, n in sorted(numbers.queue.items())) or "-"
    return [
        f"{numbers.shop} · {'OPEN' if numbers.is_open else 'CLOSED'} · "
        f"{counted(numbers.tills, 'till')} · {counted(numbers.preparers, 'preparer')} · "
        f"{counted(numbers.cooks, 'cook')} · {counted(numbers.partitions, 'partition')}",
        f"taken {_rate(numbers.taken_per_minute)} ({numbers.taken})  "
        f"served {_rate(numbers.served_per_minute)} ({numbers.served})  "
        f"waiting {numbers.waiting}  "
        f"wait p50 {seconds_text(numbers.wait_p50)} p99 {seconds_text(numbers.wait_p99)}",
        f"queue {queue}  ·  at the cook {numbers.cook_queue}  ·  "
        f"served twice {numbers.served_twice}",
    ]
