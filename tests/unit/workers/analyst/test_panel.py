"""Unit tests for fishshop_workers.analyst.panel: the analyst panel's charts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fishshop_workers.analyst.panel import (
    AnalystSnapshot,
    ServedPoint,
    analyst_lines,
    best_seller_lines,
    bucketed,
    choose_bucket,
    column_chart,
    cook_share_line,
    nice_top,
    span_words,
)

NOON = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return NOON + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("span", "columns", "bucket"),
    [(0, 40, 10), (400, 40, 10), (401, 40, 30), (3000, 40, 300), (10**7, 40, 3600)],
)
def test_the_bucket_is_the_smallest_that_fits_the_day(span: int, columns: int, bucket: int) -> None:
    assert choose_bucket(NOON, at(span), columns) == bucket


def test_before_any_order_the_bucket_is_the_smallest() -> None:
    assert choose_bucket(None, NOON, 40) == 10


def test_buckets_end_before_the_one_still_filling_and_count_each_order_once() -> None:
    points = [ServedPoint(at(s), w) for s, w in [(1, 2.0), (5, 4.0), (9, 9.0), (12, 1.0), (25, 3)]]
    # now = 12:00:25: the bucket 20..30 still fills and is left out.
    buckets = bucketed(points, now=at(25), seconds=10, columns=3, first_served=at(1))
    assert [b.start for b in buckets] == [at(-10), at(0), at(10)]
    assert [b.orders for b in buckets] == [None, 3, 1]
    assert [b.wait_p50_s for b in buckets] == [None, 4.0, 1.0]


def test_an_empty_bucket_after_opening_counts_zero_orders() -> None:
    buckets = bucketed([], now=at(35), seconds=10, columns=2, first_served=at(0))
    assert [b.orders for b in buckets] == [0, 0]
    assert [b.wait_p50_s for b in buckets] == [None, None]


@pytest.mark.parametrize(
    ("value", "top"), [(0, 1), (0.7, 1), (3, 5), (10, 10), (11, 20), (118, 200), (480, 500)]
)
def test_the_scale_tops_at_one_two_or_five(value: float, top: float) -> None:
    assert nice_top(value) == top


def test_a_column_chart_draws_in_eighths_with_the_scale_on_the_left() -> None:
    lines = column_chart([None, 0, 5, 10, 1], height=2)
    assert lines == [
        "  10│   █ ",
        "   0│  ██▂",
    ]
    assert all(len(line) == len(lines[0]) for line in lines)


def test_a_small_value_still_shows_and_an_empty_chart_stays_blank() -> None:
    (line,) = column_chart([100, 0.01], height=1)
    assert line.endswith("█▁")
    assert column_chart([None, None], height=2) == ["   1│  ", "   0│  "]


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(40, "40s"), (400, "6m40s"), (1200, "20m"), (9000, "2h30m"), (7200, "2h")],
)
def test_spans_in_words(seconds: float, words: str) -> None:
    assert span_words(seconds) == words


def test_best_sellers_come_first_with_bars_against_the_best() -> None:
    lines = best_seller_lines({"cod": 40, "chips": 80, "plaice": 1}, width=8)
    assert lines == [
        "chips  ████████    80",
        "cod    ████░░░░    40",
        "plaice █░░░░░░░     1",
    ]


def test_the_cooks_share() -> None:
    assert cook_share_line(178, 41) == "cook's share: 23% of orders (41 of 178)"
    assert cook_share_line(0, 0) == "cook's share: no orders yet"


def test_the_panel_fits_its_width_and_height_and_says_what_it_shows() -> None:
    points = [ServedPoint(at(s), 2.0 + s % 3) for s in range(0, 300, 2)]
    snapshot = AnalystSnapshot(
        now=at(301),
        rows=150,
        cooked=30,
        first_served=at(0),
        portions={"cod": 90, "chips": 160, "plaice": 30},
        points=points,
        bucket_seconds=10,
    )
    lines = analyst_lines(snapshot, width=42, height=22)
    assert len(lines) <= 22
    assert max(len(line) for line in lines) <= 42
    text = "\n".join(lines)
    # Five minutes of orders: the charts span those, not the panel's whole width.
    assert "orders per minute · last 5m · now 30" in text  # 5 orders in 10 s
    axes = [line for line in lines if line.strip().startswith("-5m")]
    assert len(axes) == 2 and all(line.endswith("now") for line in axes)
    assert len(axes[0]) == 4 + 1 + 30  # gutter, the chart's edge, 30 columns of 10 s
    assert "customers' wait, p50 in s · now " in text
    assert lines.index("best sellers (portions)") < next(
        n for n, line in enumerate(lines) if line.startswith("chips ")
    )
    assert [line.split()[0] for line in lines if line.split()[0] in {"cod", "chips", "plaice"}] == [
        "chips",
        "cod",
        "plaice",
    ]
    assert lines[-1] == "cook's share: 20% of orders (30 of 150)"
    assert any(line.endswith("█") for line in lines[1:8]), "the rate chart draws"


def test_the_panel_before_the_first_row_says_it_waits_for_connect() -> None:
    (line,) = analyst_lines(AnalystSnapshot(now=NOON), width=44, height=20)
    assert "Kafka Connect" in line


def test_a_long_day_fills_the_panel_and_its_axis_says_how_far_back() -> None:
    points = [ServedPoint(at(s), 2.0) for s in range(0, 3600, 5)]
    snapshot = AnalystSnapshot(
        now=at(3601), rows=720, first_served=at(0), points=points, bucket_seconds=10
    )
    lines = analyst_lines(snapshot, width=42, height=22)
    assert lines[0].startswith("orders per minute · last 6m10s")  # 37 columns of 10 s
    assert any(line.startswith("     -6m10s") and line.endswith("now") for line in lines)
