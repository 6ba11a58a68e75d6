"""Unit tests for fishshop.demo.boards.shop: what the live view's panels and header say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fishshop.demo.boards.shop import (
    ShopNumbers,
    Tally,
    headline,
    kitchen_line,
    order_label,
    partitions_text,
    per_minute,
    seconds_text,
    station_title,
)
from fishshop_workers.shop.kitchen import cook_order, serve_order, to_cook
from fishshop_workers.shop.order import Order, Rejection
from fishshop_workers.shop.outgoing import dead_letter
from fishshop_workers.shop.topics import ShopTopics

TOPICS = ShopTopics.from_prefix("fishshop.pier")
COD = Order("01J", 271, 3, (("cod", "chips"),), "2026-11-25T12:00:00.000Z")
PLAICE = Order("01K", 272, 2, (("plaice", "chips"), ("chips",)), "2026-11-25T12:00:00.000Z")


def _at(seconds: float) -> datetime:
    return datetime(2026, 11, 25, 12, 0, tzinfo=UTC) + timedelta(seconds=seconds)


def test_order_label_is_how_the_counter_calls_it() -> None:
    assert order_label(COD) == "till 3 · #271: cod and chips"
    assert order_label(PLAICE) == "till 2 · #272: plaice and chips, chips"


def test_a_served_order_says_its_partition_number_and_wait_first() -> None:
    served = serve_order(COD, TOPICS, "preparer-1", _at(3.25))
    # Till 3 writes partition 2 of 3.
    assert kitchen_line(served, 3) == "p2 ✓ till 3 · #271 ready in 3.2s: cod and chips"
    assert kitchen_line(served, 2) == "p0 ✓ till 3 · #271 ready in 3.2s: cod and chips"


def test_plaice_goes_to_the_cook_and_comes_back_cooked() -> None:
    handed_over = to_cook(PLAICE, TOPICS)
    assert handed_over is not None
    assert kitchen_line(handed_over, 3) == "p1 → till 2 · #272 to the cook: plaice and chips, chips"
    cooked = cook_order(PLAICE, TOPICS, "cook-1", 3)
    assert kitchen_line(cooked, 3) == "✓ till 2 · #272 cooked, back to p1: plaice and chips, chips"
    served = serve_order(PLAICE.cooked("cook-1"), TOPICS, "preparer-2", _at(9.8))
    assert kitchen_line(served, 3) == (
        "p1 ✓ till 2 · #272 ready, cooked, in 9.8s: plaice and chips, chips"
    )


def test_a_rejected_record_shows_its_reason() -> None:
    rejected = dead_letter(TOPICS.dlq, Rejection("not_json", "x"), b"{", None, TOPICS.orders, 0, 5)
    assert kitchen_line(rejected, 3) == "✗ not an order (not_json) → dlq"


def test_partitions_text() -> None:
    assert partitions_text([]) == "no partitions"
    assert partitions_text([1]) == "partition 1"
    assert partitions_text([2, 0]) == "partitions 0, 2"


@pytest.mark.parametrize(
    ("args", "title"),
    [
        (("till", 3, (2,)), "Till 3 → partition 2"),
        (("till", 3, None), "Till 3"),
        (("till", 1, (0,), "closed"), "Till 1 → partition 0 · closed"),
        (("preparer", 1, (0, 2)), "Preparer 1 · partitions 0, 2"),
        (("preparer", 2, ()), "Preparer 2 · no partitions"),
        (("preparer", 2, None), "Preparer 2 · joining"),
        (("cook", 1, (0, 1, 2), "leaving"), "Cook 1 · partitions 0, 1, 2 · leaving"),
    ],
)
def test_station_titles(args: tuple[object, ...], title: str) -> None:
    assert station_title(*args) == title  # type: ignore[arg-type]


def test_per_minute_needs_a_few_seconds_of_tallies() -> None:
    assert per_minute([], "taken") is None
    assert per_minute([Tally(10.0, 5, 0), Tally(11.0, 6, 0)], "taken") is None
    assert per_minute([Tally(10.0, 5, 0), Tally(16.0, 11, 3)], "taken") == 60.0
    assert per_minute([Tally(10.0, 5, 0), Tally(16.0, 11, 3)], "served") == 30.0


def test_per_minute_looks_back_over_the_window_only() -> None:
    tallies = [Tally(0.0, 0, 0), Tally(50.0, 100, 0), Tally(80.0, 130, 0), Tally(110.0, 160, 0)]
    # Only the tallies of the last 60 s count: 60 orders in 60 s.
    assert per_minute(tallies, "taken") == 60.0
    assert per_minute(tallies, "taken", window=200.0) == pytest.approx(160 * 60 / 110)


def test_seconds_text() -> None:
    assert seconds_text(None) == "-"
    assert seconds_text(2.04) == "2.0s"


def test_headline_shows_the_shops_numbers() -> None:
    numbers = ShopNumbers(
        shop="pier",
        is_open=True,
        tills=3,
        preparers=2,
        cooks=1,
        partitions=3,
        taken=120,
        served=110,
        waiting=10,
        taken_per_minute=119.6,
        served_per_minute=110.2,
        wait_p50=2.14,
        wait_p99=8.0,
        queue={1: 4, 0: 2, 2: 3},
        cook_queue=1,
    )
    assert headline(numbers) == [
        "pier · OPEN · 3 tills · 2 preparers · 1 cook · 3 partitions",
        "taken 120/min (120)  served 110/min (110)  waiting 10  wait p50 2.1s p99 8.0s",
        "queue p0 2  p1 4  p2 3  ·  at the cook 1  ·  served twice 0",
    ]


def test_headline_of_a_closed_shop_with_nothing_measured_yet() -> None:
    lines = headline(ShopNumbers("pier", False, 1, 0, 0, 1))
    assert lines[0] == "pier · CLOSED · 1 till · 0 preparers · 0 cooks · 1 partition"
    assert lines[1] == "taken - (0)  served - (0)  waiting 0  wait p50 - p99 -"
    assert lines[2].startswith("queue -")
