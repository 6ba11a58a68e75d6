"""What the demo shows of the analyst: orders per minute and the customers' wait
over time as terminal charts, the best sellers, and the cook's share.

Pure: the live view reads the analyst's table in PostgreSQL and hands the rows
here; nothing in this module talks to PostgreSQL, Kafka or the terminal.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from fishshop_workers.audit.summary import percentile

__all__ = [
    "BUCKETS",
    "AnalystSnapshot",
    "Bucket",
    "ServedPoint",
    "analyst_lines",
    "best_seller_lines",
    "bucketed",
    "choose_bucket",
    "column_chart",
    "cook_share_line",
    "nice_top",
    "span_words",
]

BUCKETS = (10, 30, 60, 300, 900, 3600)
"""Seconds a chart column may stand for: the smallest that fits the whole day."""

_EIGHTHS = " ▁▂▃▄▅▆▇█"
BAR_WIDTH = 20


@dataclass(frozen=True)
class ServedPoint:
    """One row of the table, as the charts need it."""

    served_at: datetime
    wait_seconds: float


@dataclass(frozen=True)
class AnalystSnapshot:
    """What the table says about one shop at ``now``.

    ``points`` are the rows served since ``since`` (the charts' window), the rest
    covers every row of the shop.
    """

    now: datetime
    rows: int = 0
    cooked: int = 0
    """Rows with plaice that a cook made ready."""
    first_served: datetime | None = None
    portions: Mapping[str, int] = field(default_factory=dict)
    points: Sequence[ServedPoint] = ()
    bucket_seconds: int = BUCKETS[0]


@dataclass(frozen=True)
class Bucket:
    """One column of the charts: orders served in it and their median wait."""

    start: datetime
    orders: int | None
    """None before the first order of the day was served: nothing to draw."""
    wait_p50_s: float | None


def choose_bucket(first_served: datetime | None, now: datetime, columns: int) -> int:
    """The seconds one column stands for: the smallest step in ``BUCKETS`` that
    fits the day so far into ``columns`` (the largest when nothing fits)."""
    if first_served is None:
        return BUCKETS[0]
    span = max(0.0, (now - first_served).total_seconds())
    for seconds in BUCKETS:
        if span <= seconds * max(1, columns):
            return seconds
    return BUCKETS[-1]


def _floor(moment: datetime, seconds: int) -> datetime:
    epoch = moment.timestamp()
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=moment.tzinfo)


def bucketed(
    points: Iterable[ServedPoint],
    *,
    now: datetime,
    seconds: int,
    columns: int,
    first_served: datetime | None,
) -> list[Bucket]:
    """``columns`` buckets of ``seconds`` each, oldest first, ending with the last
    whole bucket before ``now`` (the one still filling would look like a dip)."""
    end = _floor(now, seconds)
    starts = [end - timedelta(seconds=seconds * n) for n in range(columns, 0, -1)]
    waits: dict[datetime, list[float]] = {start: [] for start in starts}
    for point in points:
        start = _floor(point.served_at, seconds)
        if start in waits:
            waits[start].append(point.wait_seconds)
    opened = None if first_served is None else _floor(first_served, seconds)
    return [
        Bucket(
            start,
            None if opened is None or start < opened else len(waits[start]),
            percentile(waits[start], 0.5),
        )
        for start in starts
    ]


def nice_top(value: float) -> float:
    """The top of a chart's scale: 1, 2 or 5 times a power of ten, at least ``value``."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def _label(value: float) -> str:
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def column_chart(values: Sequence[float | None], height: int, gutter: int = 4) -> list[str]:
    """A column chart ``height`` rows high, one column per value, in eighths of a
    row; None leaves a column blank. The top row is labelled with the scale's top,
    the bottom row with 0."""
    height = max(1, height)
    top = nice_top(max((v for v in values if v is not None), default=0.0))
    levels = [
        None if v is None else (max(1, round(v / top * height * 8)) if v > 0 else 0) for v in values
    ]
    lines = []
    for row in range(height):
        base = (height - 1 - row) * 8
        cells = "".join(
            " " if level is None else _EIGHTHS[min(8, max(0, level - base))] for level in levels
        )
        label = _label(top) if row == 0 else ("0" if row == height - 1 else "")
        lines.append(f"{label:>{gutter}}│{cells}")
    return lines


def span_words(seconds: float) -> str:
    """``40s``, ``6m40s``, ``2h30m``: how far back a chart reaches."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        minutes, rest = divmod(whole, 60)
        return f"{minutes}m{rest:02d}s" if rest else f"{minutes}m"
    hours, rest = divmod(whole // 60, 60)
    return f"{hours}h{rest:02d}m" if rest else f"{hours}h"


def time_axis(columns: int, span_seconds: float, gutter: int = 4) -> str:
    """The line under a chart of ``columns`` columns reaching ``span_seconds`` back:
    ``-2m10s`` under its first column, ``now`` under its last."""
    left, right = f"-{span_words(span_seconds)}", "now"
    inner = columns - len(left) - len(right)
    if inner < 1:
        return f"{'':>{gutter}} {right:>{columns}}"
    return f"{'':>{gutter}} {left}{' ' * inner}{right}"


def best_seller_lines(portions: Mapping[str, int], width: int = BAR_WIDTH) -> list[str]:
    """Portions sold per item, the best seller first, as bars against the best."""
    ranked = sorted(portions.items(), key=lambda item: (-item[1], item[0]))
    best = ranked[0][1] if ranked else 0
    lines = []
    for item, count in ranked:
        filled = round(width * count / best) if best else 0
        filled = max(1, filled) if count else 0
        lines.append(f"{item:<7}{'█' * filled}{'░' * (width - filled)} {count:>5}")
    return lines


def cook_share_line(rows: int, cooked: int) -> str:
    """``cook's share: 23% of orders (41 of 178)``."""
    if rows <= 0:
        return "cook's share: no orders yet"
    return f"cook's share: {100 * cooked / rows:.0f}% of orders ({cooked} of {rows})"


def analyst_lines(snapshot: AnalystSnapshot, *, width: int, height: int) -> list[str]:
    """The analyst panel, line by line, for ``width`` columns and ``height`` rows:
    two charts that share the rest of the height, the best sellers, the cook's share."""
    if snapshot.rows == 0:
        return ["no rows yet: Kafka Connect writes served orders to PostgreSQL soon"]
    gutter = 4
    columns = max(4, width - gutter - 1)
    seconds = snapshot.bucket_seconds
    buckets = bucketed(
        snapshot.points,
        now=snapshot.now,
        seconds=seconds,
        columns=columns,
        first_served=snapshot.first_served,
    )
    # The charts span the data they hold: no blank columns from before the first order.
    opened = next((i for i, b in enumerate(buckets) if b.orders is not None), len(buckets) - 1)
    buckets = buckets[opened:]
    held = len(buckets) * seconds
    items = len(snapshot.portions)
    chart_height = max(2, (height - 6 - items) // 2)
    rate = [None if b.orders is None else b.orders * 60 / seconds for b in buckets]
    waits = [b.wait_p50_s for b in buckets]
    latest_rate = next((r for r in reversed(rate) if r is not None), None)
    latest_wait = next((w for w in reversed(waits) if w is not None), None)
    window = f"last {span_words(held)}"
    axis = time_axis(len(buckets), held, gutter)
    lines = [
        f"orders per minute · {window}"
        + ("" if latest_rate is None else f" · now {latest_rate:.0f}"),
        *column_chart(rate, chart_height, gutter),
        axis,
        "customers' wait, p50 in s" + ("" if latest_wait is None else f" · now {latest_wait:.1f}"),
        *column_chart(waits, chart_height, gutter),
        axis,
        "best sellers (portions)",
        *best_seller_lines(snapshot.portions, max(4, min(BAR_WIDTH, width - 14))),
        cook_share_line(snapshot.rows, snapshot.cooked),
    ]
    return lines
