"""Unit tests for fishshop_workers.shop.routing: partitions, routes, till numbers, timings."""

from __future__ import annotations

import random

import pytest

from fishshop_workers.shop.order import Order
from fishshop_workers.shop.routing import (
    Route,
    draw_seconds,
    partition_for_till,
    route_order,
    till_number_from_hostname,
)


def _order(*parts: tuple[str, ...], ready: bool = False) -> Order:
    return Order("id", 1, 1, parts, "2026-11-25T12:00:00.000Z", ready=ready)


# ---------------------------------------------------------------- partition_for_till


@pytest.mark.parametrize(
    ("till", "partitions", "expected"),
    [
        (1, 1, 0),
        (2, 1, 0),
        (1, 3, 0),
        (2, 3, 1),
        (3, 3, 2),
        (4, 3, 0),
        (5, 3, 1),
        (7, 6, 0),
        (12, 5, 1),
        (100, 7, 1),
        (1, 100, 0),
    ],
)
def test_partition_for_till(till: int, partitions: int, expected: int) -> None:
    assert partition_for_till(till, partitions) == expected


@pytest.mark.parametrize("partitions", [1, 2, 3, 4, 6, 10, 32])
def test_tills_spread_over_every_partition(partitions: int) -> None:
    for till in range(1, 4 * partitions + 1):
        partition = partition_for_till(till, partitions)
        assert 0 <= partition < partitions
        assert partition == (till - 1) % partitions
    # The first P tills each get their own partition.
    firsts = [partition_for_till(till, partitions) for till in range(1, partitions + 1)]
    assert firsts == list(range(partitions))


@pytest.mark.parametrize("till", [0, -1, -10])
def test_till_numbers_start_at_one(till: int) -> None:
    with pytest.raises(ValueError, match=f"till numbers start at 1, not {till}"):
        partition_for_till(till, 3)


@pytest.mark.parametrize("partitions", [0, -1])
def test_a_topic_has_at_least_one_partition(partitions: int) -> None:
    with pytest.raises(ValueError, match=f"at least one partition, not {partitions}"):
        partition_for_till(1, partitions)


# ---------------------------------------------------------------- route_order


@pytest.mark.parametrize(
    ("parts", "ready", "route"),
    [
        ((("cod", "chips"),), False, Route.SERVE),
        ((("chips",), ("chips", "chips")), False, Route.SERVE),
        ((("cod", "chips"), ("plaice", "chips")), False, Route.COOK),
        ((("plaice", "chips"),), False, Route.COOK),
        ((("cod", "chips"), ("plaice", "chips")), True, Route.SERVE),
        ((("cod", "chips"),), True, Route.SERVE),
    ],
)
def test_route_order(parts: tuple[tuple[str, ...], ...], ready: bool, route: Route) -> None:
    assert route_order(_order(*parts, ready=ready)) is route


# ---------------------------------------------------------------- till_number_from_hostname


@pytest.mark.parametrize(
    ("hostname", "expected"),
    [
        ("harbour-till-0", 1),
        ("harbour-till-1", 2),
        ("harbour-till-11", 12),
        ("till-007", 8),
        ("a-b-c-2", 3),
        ("laptop", None),
        ("", None),
        ("harbour-till-", None),
        ("harbour-till-1a", None),
        ("till2", None),
        ("harbour-till-0.harbour.svc", None),
    ],
)
def test_till_number_from_hostname(hostname: str, expected: int | None) -> None:
    assert till_number_from_hostname(hostname) == expected


# ---------------------------------------------------------------- draw_seconds


@pytest.mark.parametrize(("low", "high"), [(0.5, 1.0), (3.0, 3.2), (0.0, 10.0)])
def test_draw_seconds_stays_in_range_and_covers_it(low: float, high: float) -> None:
    rng = random.Random(11)
    draws = [draw_seconds(rng, low, high) for _ in range(3000)]
    assert all(low <= d <= high for d in draws)
    width = high - low
    assert min(draws) < low + 0.01 * width
    assert max(draws) > high - 0.01 * width
    mean = sum(draws) / len(draws)
    assert abs(mean - (low + high) / 2) < 0.03 * width


def test_draw_seconds_is_reproducible_with_a_seed() -> None:
    first = [draw_seconds(random.Random(4), 1.0, 2.0) for _ in range(3)]
    assert len(set(first)) == 1


@pytest.mark.parametrize("value", [0.0, 0.75, 3.0])
def test_draw_seconds_with_equal_bounds_is_exact(value: float) -> None:
    assert draw_seconds(random.Random(1), value, value) == value


def test_draw_seconds_refuses_minimum_above_maximum() -> None:
    with pytest.raises(ValueError, match=r"minimum 2\.0 is above maximum 1\.0"):
        draw_seconds(random.Random(1), 2.0, 1.0)
