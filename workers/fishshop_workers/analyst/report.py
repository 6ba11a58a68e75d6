"""The analyst's report over time, decided from served rows: pure, no database.

Intervals and percentiles: docs/design/workers.md.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from fishshop_workers.errors import InputError
from fishshop_workers.shop.menu import MENU

__all__ = [
    "MAX_INTERVALS",
    "PERCENTILES",
    "PERCENTILE_METHOD",
    "IntervalFigures",
    "Report",
    "ReportError",
    "ReportRow",
    "Window",
    "build_report",
    "nearest_rank",
    "parse_duration",
    "report_window",
]

#: The wait percentiles the report gives, in percent.
PERCENTILES = (50, 95, 99)
PERCENTILE_METHOD = "nearest-rank"
#: More lines than a person reads; a longer --every says the same in fewer.
MAX_INTERVALS = 10_000

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ReportError(InputError, ValueError):
    """A report that cannot be asked for as given (a bad duration, a window too
    long for its interval); the message says what to give instead."""


@dataclass(frozen=True)
class ReportRow:
    """One served order as the report needs it (a row of ``served_orders``)."""

    shop: str
    till: int
    portions: Mapping[str, int]
    """Portions of each item on the menu the order held."""
    created_at: datetime
    served_at: datetime
    cooked_by: str | None
    """The cook who cooked for the order; None when it needed no cook."""
    wait_seconds: float
    """What the customer waited: created to served."""


@dataclass(frozen=True)
class Window:
    """The stretch of time a report covers: ``start`` inclusive, ``end`` exclusive."""

    start: datetime
    end: datetime
    every: timedelta

    @property
    def starts(self) -> list[datetime]:
        count = (self.end - self.start) // self.every
        return [self.start + i * self.every for i in range(count)]


@dataclass(frozen=True)
class IntervalFigures:
    """What the shop served in one interval (or in the whole window, for totals)."""

    start: datetime
    end: datetime
    orders: int
    waits: Mapping[int, float | None]
    """Wait in seconds at each of ``PERCENTILES``; None when no order was served."""
    items: Mapping[str, int]
    """Portions sold of each item on the menu, zeros included."""
    tills: Mapping[str, int]
    """Orders served per till, every till of the window included (zeros too)."""
    cooked: int
    """Orders that needed the cook."""

    @property
    def cook_share(self) -> float | None:
        """The fraction of orders that needed the cook; None with no order."""
        return self.cooked / self.orders if self.orders else None


@dataclass(frozen=True)
class Report:
    shop: str | None
    """The shop reported on; None for every shop in the table."""
    window: Window
    intervals: Sequence[IntervalFigures]
    totals: IntervalFigures
    tills: Sequence[str] = field(default_factory=tuple)
    """The tills that served in the window, in order."""


def parse_duration(text: str, *, option: str = "duration") -> timedelta:
    """Read ``90s``, ``30m``, ``1h`` or ``2d``: a whole positive number and a unit."""
    found = _DURATION.match(text or "")
    if found is None:
        raise ReportError(
            f"{option} {text!r} is not a duration: give a whole number and a unit "
            "s, m, h or d (for example 90s, 30m, 1h, 2d)"
        )
    amount = int(found.group(1))
    if amount == 0:
        raise ReportError(f"{option} {text!r} must be longer than zero")
    return timedelta(seconds=amount * _UNITS[found.group(2)])


def report_window(now: datetime, since: timedelta, every: timedelta) -> Window:
    """The aligned window that holds the last ``since`` up to ``now``."""
    if now.tzinfo is None:
        raise ReportError("the report's clock must carry a time zone")
    if every > since:
        raise ReportError(
            f"--every ({_said(every)}) is longer than --since ({_said(since)}): "
            "an interval cannot be longer than the report; give a shorter --every"
        )
    first = _floor(now - since, every)
    last = _floor(now, every)
    count = (last - first) // every + 1
    if count > MAX_INTERVALS:
        raise ReportError(
            f"--since {_said(since)} in intervals of {_said(every)} makes {count} lines, "
            f"more than {MAX_INTERVALS}: give a longer --every or a shorter --since"
        )
    return Window(first, last + every, every)


def nearest_rank(sorted_values: Sequence[float], percent: float) -> float | None:
    """The nearest-rank percentile of values already in ascending order."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(percent / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def build_report(rows: Iterable[ReportRow], window: Window, shop: str | None) -> Report:
    """The report of ``rows`` over ``window``; rows served outside it are left out.

    Tills are named by number for one shop, and ``shop/number`` when the report
    covers every shop (till 1 of two shops is two tills).
    """
    starts = window.starts
    buckets: list[list[ReportRow]] = [[] for _ in starts]
    inside: list[ReportRow] = []
    for row in rows:
        if not window.start <= row.served_at < window.end:
            continue
        index = (row.served_at - window.start) // window.every
        buckets[index].append(row)
        inside.append(row)
    tills = sorted({(r.shop, r.till) for r in inside})
    names = [_till_name(s, t, shop) for s, t in tills]

    def figures(start: datetime, end: datetime, chosen: list[ReportRow]) -> IntervalFigures:
        waits = sorted(r.wait_seconds for r in chosen)
        items: Counter[str] = Counter(dict.fromkeys(sorted(MENU), 0))
        for r in chosen:
            items.update({item: count for item, count in r.portions.items() if count})
        served = Counter(_till_name(r.shop, r.till, shop) for r in chosen)
        return IntervalFigures(
            start=start,
            end=end,
            orders=len(chosen),
            waits={p: nearest_rank(waits, p) for p in PERCENTILES},
            items=dict(items),
            tills={name: served[name] for name in names},
            cooked=sum(1 for r in chosen if r.cooked_by is not None),
        )

    intervals = [
        figures(start, start + window.every, bucket)
        for start, bucket in zip(starts, buckets, strict=True)
    ]
    return Report(
        shop=shop,
        window=window,
        intervals=intervals,
        totals=figures(window.start, window.end, inside),
        tills=tuple(names),
    )


def _till_name(shop_of_row: str, till: int, shop: str | None) -> str:
    return str(till) if shop is not None else f"{shop_of_row}/{till}"


def _floor(moment: datetime, every: timedelta) -> datetime:
    # timedelta arithmetic is exact to the microsecond; floats of epoch seconds are not.
    return _EPOCH + ((moment - _EPOCH) // every) * every


def _said(duration: timedelta) -> str:
    """A duration the way the options take it."""
    seconds = int(duration.total_seconds())
    for unit, size in sorted(_UNITS.items(), key=lambda kv: -kv[1]):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
