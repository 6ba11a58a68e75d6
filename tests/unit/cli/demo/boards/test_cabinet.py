"""Unit tests for fishshop.demo.boards.cabinet: what the demo shows of the hot cabinet."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fishshop.demo.boards.cabinet import (
    BAR_WIDTH,
    balance_line,
    batch_lines,
    books_lines,
    served_from_cabinet,
    stock_lines,
    summary_lines,
)
from fishshop_workers.cabinet.decisions import CabinetCounts, CabinetSettings, ItemCounts
from fishshop_workers.shop.kitchen import cook_order, serve_order, to_cook
from fishshop_workers.shop.order import Order
from fishshop_workers.shop.topics import ShopTopics

TOPICS = ShopTopics.from_prefix("fishshop.pier")
COD = Order("01J", 271, 3, (("cod", "chips"), ("chips", "chips")), "2026-11-25T12:00:00.000Z")
NOON = datetime(2026, 11, 25, 12, 0, 3, tzinfo=UTC)
SETTINGS = CabinetSettings(cod_batch=10, chips_batch=20, cod_threshold=4, chips_threshold=8)


def counts(
    cod: ItemCounts = ItemCounts(),  # noqa: B008 - an immutable tuple
    chips: ItemCounts = ItemCounts(),  # noqa: B008
    plaice: ItemCounts = ItemCounts(),  # noqa: B008
) -> CabinetCounts:
    return CabinetCounts({"cod": cod, "chips": chips, "plaice": plaice})


def test_an_order_served_without_the_cook_came_from_the_cabinet() -> None:
    served = serve_order(COD, TOPICS, "preparer-1", NOON)
    # Till 3 writes partition 2 of 3.
    assert served_from_cabinet(served, 3) == (
        "p2 ✓ till 3 · #271 from the cabinet: cod and chips, chips and chips"
    )
    assert served_from_cabinet(served, 0) == (
        "✓ till 3 · #271 from the cabinet: cod and chips, chips and chips"
    )


def test_an_order_the_cook_made_ready_or_on_its_way_is_not_from_the_cabinet() -> None:
    cooked = COD.cooked("cook-1")
    assert served_from_cabinet(serve_order(cooked, TOPICS, "preparer-1", NOON), 3) is None
    plaice = Order("01K", 272, 2, (("plaice", "chips"),), "2026-11-25T12:00:00.000Z")
    handed_over = to_cook(plaice, TOPICS)
    assert handed_over is not None
    assert served_from_cabinet(handed_over, 3) is None
    assert served_from_cabinet(cook_order(COD, TOPICS, "cook-1", 3), 3) is None


def test_a_batch_fried_between_two_looks_is_news() -> None:
    before = counts(cod=ItemCounts(in_cabinet=2, fried=12, served=10, batches=1))
    after = counts(
        cod=ItemCounts(in_cabinet=11, fried=22, served=11, batches=2),
        chips=ItemCounts(in_cabinet=40, fried=40, batches=2),
    )
    assert batch_lines(before, after, SETTINGS) == [
        "▲ the cook fried a batch: 10 cod",
        "▲ the cook fried 2 batches: 40 chips",
    ]


def test_no_news_at_the_first_look_nor_across_a_new_day() -> None:
    busy = counts(cod=ItemCounts(in_cabinet=10, fried=10, batches=1))
    assert batch_lines(None, busy, SETTINGS) == []
    assert batch_lines(busy, CabinetCounts(), SETTINGS) == []
    assert batch_lines(busy, busy, SETTINGS) == []


def test_the_stock_shows_a_bar_per_item_full_at_a_batch_above_the_threshold() -> None:
    lines = stock_lines(
        counts(cod=ItemCounts(in_cabinet=7), chips=ItemCounts(in_cabinet=28)), SETTINGS
    )
    assert [line.split()[0] for line in lines] == ["cod", "chips", "plaice"]
    cod, chips, plaice = lines
    assert cod.count("█") == round(BAR_WIDTH * 7 / 14) and cod.endswith("   7")
    assert chips.count("█") == BAR_WIDTH and "░" not in chips and chips.endswith("  28")
    assert "fried to order" in plaice and plaice.endswith("   0")
    assert len({len(line) for line in lines}) == 1, "the numbers line up"


def test_one_portion_shows_and_more_than_a_full_cabinet_fits() -> None:
    cod, chips, _ = stock_lines(
        counts(cod=ItemCounts(in_cabinet=1), chips=ItemCounts(in_cabinet=500)), SETTINGS
    )
    assert cod.count("█") == 1
    assert chips.count("█") == BAR_WIDTH
    empty, _, _ = stock_lines(CabinetCounts(), SETTINGS)
    assert "█" not in empty and empty.count("░") == BAR_WIDTH


def test_the_books_show_fried_served_and_set_aside() -> None:
    lines = books_lines(
        counts(
            cod=ItemCounts(in_cabinet=3, fried=40, served=36, set_aside=1),
            plaice=ItemCounts(fried=12, served=11, set_aside=1),
        )
    )
    assert lines[0].split() == ["fried", "served", "aside"]
    assert lines[1].split() == ["cod", "40", "36", "1"]
    assert lines[2].split() == ["chips", "0", "0", "0"]
    assert lines[3].split() == ["plaice", "12", "11", "1"]


def test_the_balance_says_whether_every_portion_is_accounted_for() -> None:
    assert balance_line({}) == "✓ fried = served + cabinet + set aside"
    wrong = balance_line({"cod": 2, "chips": -1})
    assert wrong.startswith("✗ BOOKS DO NOT BALANCE")
    assert "chips -1, cod +2" in wrong


@pytest.mark.parametrize("gaps", [{}, {"plaice": 1}])
def test_the_summary_gives_a_line_per_item_and_the_balance(gaps: dict[str, int]) -> None:
    books = {
        "cod": {"fried": 52, "served": 45, "left": 7},
        "chips": {"fried": 120, "served": 101, "left": 19},
        "plaice": {"fried": 12, "served": 12, "left": 0},
    }
    lines = summary_lines(books, gaps)
    assert lines[0].split() == ["cabinet", "cod", "fried", "52", "served", "45", "left", "7"]
    assert lines[1].split()[:2] == ["cabinet", "chips"]
    assert lines[2].split()[-1] == "0"
    assert lines[3] == balance_line(gaps)
    assert len(lines) == 4
