"""How ``fishshop report`` shows a report: JSON, CSV, tables for a pipe, charts for a person.

Times are UTC throughout, so two readers of the same report agree; quantities keep
their units in their names (``_s`` is seconds).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import plotext  # type: ignore[import-untyped]

from fishshop_workers.analyst.report import (
    PERCENTILE_METHOD,
    PERCENTILES,
    IntervalFigures,
    Report,
)

__all__ = ["charts_available", "csv_text", "json_text", "plain_text", "terminal_text"]


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _figures(figures: IntervalFigures) -> dict[str, Any]:
    return {
        "start": _utc(figures.start),
        "end": _utc(figures.end),
        "orders": figures.orders,
        **{f"wait_p{p}_s": figures.waits[p] for p in PERCENTILES},
        "items": dict(figures.items),
        "tills": dict(figures.tills),
        "cooked": figures.cooked,
        "cook_share": figures.cook_share,
    }


def json_text(report: Report, *, since: str, every: str) -> str:
    """One JSON object: the window, the interval, the shop, each interval, the totals."""
    document = {
        "shop": report.shop,
        "window": {
            "start": _utc(report.window.start),
            "end": _utc(report.window.end),
            "since": since,
        },
        "every": every,
        "every_s": report.window.every.total_seconds(),
        "percentile_method": PERCENTILE_METHOD,
        "intervals": [_figures(i) for i in report.intervals],
        "totals": _figures(report.totals),
    }
    return json.dumps(document, indent=2) + "\n"


def _items(report: Report) -> list[str]:
    return list(report.totals.items)


def csv_text(report: Report) -> str:
    """A header and one line per interval; an empty cell where no order was served."""
    items = _items(report)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "start",
            "end",
            "orders",
            *(f"wait_p{p}_s" for p in PERCENTILES),
            *items,
            *(f"till_{name}" for name in report.tills),
            "cooked",
            "cook_share",
        ]
    )
    for figures in report.intervals:
        writer.writerow(
            [
                _utc(figures.start),
                _utc(figures.end),
                figures.orders,
                *("" if figures.waits[p] is None else figures.waits[p] for p in PERCENTILES),
                *(figures.items[item] for item in items),
                *(figures.tills[name] for name in report.tills),
                figures.cooked,
                "" if figures.cook_share is None else figures.cook_share,
            ]
        )
    return out.getvalue()


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _clock(moment: datetime, report: Report) -> str:
    utc = moment.astimezone(UTC)
    if report.window.every.total_seconds() % 60:
        return utc.strftime("%Y-%m-%d %H:%M:%S")
    return utc.strftime("%Y-%m-%d %H:%M")


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell: the first to the left, figures to the right."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        first, *rest = cells
        padded = [first.ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(rest, widths[1:], strict=True)
        ]
        return "  ".join(padded).rstrip()

    return "\n".join([line(headers), *(line(r) for r in rows)]) + "\n"


def _heading(report: Report, since: str, every: str) -> str:
    who = f"shop {report.shop}" if report.shop else "every shop"
    return (
        f"Served orders of {who}, the last {since} in intervals of {every}: "
        f"{_clock(report.window.start, report)} to {_clock(report.window.end, report)} UTC "
        f"(wait percentiles by {PERCENTILE_METHOD})\n"
    )


def _interval_table(report: Report) -> str:
    items = _items(report)
    headers = [
        "start (UTC)",
        "orders",
        *(f"wait p{p} s" for p in PERCENTILES),
        *items,
        *(f"till {name}" for name in report.tills),
        "cook share",
    ]

    def cells(label: str, figures: IntervalFigures) -> list[str]:
        return [
            label,
            str(figures.orders),
            *(_seconds(figures.waits[p]) for p in PERCENTILES),
            *(str(figures.items[item]) for item in items),
            *(str(figures.tills[name]) for name in report.tills),
            _share(figures.cook_share),
        ]

    rows = [cells(_clock(i.start, report), i) for i in report.intervals]
    rows.append(cells("total", report.totals))
    return _table(headers, rows)


def _totals_tables(report: Report) -> str:
    totals = report.totals
    items = _table(["item", "portions sold"], [[k, str(v)] for k, v in totals.items.items()])
    tills = _table(["till", "orders served"], [[k, str(v)] for k, v in totals.tills.items()])
    cook = _table(
        ["orders", "needed the cook", "cook share"],
        [[str(totals.orders), str(totals.cooked), _share(totals.cook_share)]],
    )
    return "\n".join([items, tills, cook])


def plain_text(report: Report, *, since: str, every: str) -> str:
    """Aligned tables without colour, for a pipe or a file."""
    return "\n".join(
        [_heading(report, since, every), _interval_table(report), _totals_tables(report)]
    )


def charts_available() -> bool:
    """plotext 5's drawing functions are there (fishshop pins plotext>=5.3,<6)."""
    return all(hasattr(plotext, name) for name in ("bar", "plot", "build", "clf", "plotsize"))


def _ticks(report: Report, most: int) -> tuple[list[int], list[str]]:
    """A few interval starts to label the x axis, evenly spread."""
    count = len(report.intervals)
    step = max(1, -(-count // most))
    chosen = list(range(0, count, step))
    seconds = int(report.window.every.total_seconds())
    shape = "%m-%d" if seconds % 86_400 == 0 else "%H:%M" if seconds % 60 == 0 else "%H:%M:%S"
    labels = [report.intervals[i].start.astimezone(UTC).strftime(shape) for i in chosen]
    return [i + 1 for i in chosen], labels


def _charts(report: Report, width: int) -> str:
    plt = plotext
    xs = list(range(1, len(report.intervals) + 1))
    ticks, labels = _ticks(report, max(2, width // 14))
    height = 14
    plt.clf()
    plt.plotsize(width, height)
    plt.theme("clear")
    plt.bar(xs, [i.orders for i in report.intervals], width=0.8)
    plt.xticks(ticks, labels)
    plt.title(f"orders served per {_every_word(report)} (UTC)")
    orders = str(plt.build())
    plt.clf()
    plt.plotsize(width, height)
    plt.theme("clear")
    for p in PERCENTILES:
        # A quiet interval has no wait: its point is left out, not drawn as zero.
        points = [(x, i.waits[p]) for x, i in zip(xs, report.intervals, strict=True)]
        shown = [(x, w) for x, w in points if w is not None]
        if shown:
            plt.plot([x for x, _ in shown], [w for _, w in shown], label=f"p{p}")
    plt.xticks(ticks, labels)
    plt.xlim(0.5, len(xs) + 0.5)
    plt.title("customers' wait in seconds (UTC)")
    waits = str(plt.build())
    plt.clf()
    return orders + "\n" + waits + "\n"


def _every_word(report: Report) -> str:
    seconds = int(report.window.every.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def terminal_text(report: Report, *, since: str, every: str, width: int) -> str:
    """Charts of orders and waits over time, then the totals as tables."""
    return "\n".join(
        [_heading(report, since, every), _charts(report, width), _totals_tables(report)]
    )
