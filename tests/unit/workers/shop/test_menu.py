"""Unit tests for fishshop_workers.shop.menu: what customers order and how it is called."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from fishshop_workers.shop.menu import (
    COOKED_ITEMS,
    MENU,
    describe_parts,
    draw_parts,
    needs_cooking,
)

DRAWS = 4000

KNOWN_PARTS = {("cod", "chips"), ("chips", "chips"), ("chips",), ("plaice", "chips")}


Parts = list[tuple[str, ...]]


def _draw_many(plaice: bool, seed: int = 1234, n: int = DRAWS) -> list[Parts]:
    rng = random.Random(seed)
    return [draw_parts(rng, plaice) for _ in range(n)]


def test_menu_and_cooked_items() -> None:
    assert sorted(MENU) == ["chips", "cod", "plaice"]
    assert sorted(COOKED_ITEMS) == ["plaice"]
    assert COOKED_ITEMS <= MENU


@pytest.mark.parametrize("plaice", [False, True])
def test_every_part_is_a_non_empty_tuple_of_menu_items(plaice: bool) -> None:
    for parts in _draw_many(plaice):
        assert parts, "an order always has at least one part"
        for part in parts:
            assert isinstance(part, tuple)
            assert part
            assert set(part) <= MENU
            assert part in KNOWN_PARTS


def test_no_plaice_when_plaice_is_off() -> None:
    orders = _draw_many(plaice=False)
    assert not any("plaice" in part for parts in orders for part in parts)
    assert not any(needs_cooking(parts) for parts in orders)


def test_plaice_appears_about_three_times_in_ten_when_on() -> None:
    orders = _draw_many(plaice=True)
    with_plaice = [parts for parts in orders if needs_cooking(parts)]
    share = len(with_plaice) / len(orders)
    assert 0.25 < share < 0.35
    for parts in with_plaice:
        # Plaice is an extra part, added last, at most once.
        assert parts[-1] == ("plaice", "chips")
        assert sum(part == ("plaice", "chips") for part in parts) == 1
        assert len(parts) >= 2


def test_first_part_distribution() -> None:
    firsts = Counter(parts[0] for parts in _draw_many(plaice=False))
    assert set(firsts) == {("cod", "chips"), ("chips",)}
    # Half cod and chips alone plus a quarter cod and chips with large chips.
    assert 0.70 < firsts[("cod", "chips")] / DRAWS < 0.80
    assert 0.20 < firsts[("chips",)] / DRAWS < 0.30


def test_large_chips_only_come_with_cod_and_chips() -> None:
    shapes = Counter(tuple(parts) for parts in _draw_many(plaice=False))
    assert set(shapes) == {
        (("cod", "chips"),),
        (("cod", "chips"), ("chips", "chips")),
        (("chips",),),
    }
    assert 0.45 < shapes[(("cod", "chips"),)] / DRAWS < 0.55
    assert 0.20 < shapes[(("cod", "chips"), ("chips", "chips"))] / DRAWS < 0.30


def test_same_seed_same_customers() -> None:
    assert _draw_many(True, seed=7, n=200) == _draw_many(True, seed=7, n=200)
    assert _draw_many(True, seed=7, n=200) != _draw_many(True, seed=8, n=200)


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ([("cod", "chips")], False),
        ([("chips",), ("chips", "chips")], False),
        ([("cod", "chips"), ("plaice", "chips")], True),
        ([("plaice",)], True),
        ([], False),
    ],
)
def test_needs_cooking(parts: list[tuple[str, ...]], expected: bool) -> None:
    assert needs_cooking(parts) is expected


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ([("cod", "chips"), ("plaice", "chips")], "cod and chips, plaice and chips"),
        ([("chips",)], "chips"),
        ([("cod", "chips"), ("chips", "chips")], "cod and chips, chips and chips"),
        ([], ""),
    ],
)
def test_describe_parts(parts: list[tuple[str, ...]], expected: str) -> None:
    assert describe_parts(parts) == expected
