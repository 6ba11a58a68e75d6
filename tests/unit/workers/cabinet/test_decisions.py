"""The hot cabinet's rules, without Redis: portions, serving, frying, the books."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fishshop_workers.cabinet.decisions import (
    CABINET_ITEMS,
    ITEMS,
    CabinetCounts,
    CabinetSettings,
    CabinetSettingsError,
    Decision,
    FryResult,
    ItemCounts,
    Outcome,
    batches_to_fry,
    check_portions,
    conservation_gaps,
    fry_for_order,
    portions,
    take_outcome,
)
from fishshop_workers.shop.menu import COOKED_ITEMS, MENU, draw_parts

# -- portions -------------------------------------------------------------------------


def test_the_cabinet_counts_every_item_on_the_menu_and_stocks_all_but_the_cooked_ones() -> None:
    assert set(ITEMS) == MENU
    assert set(CABINET_ITEMS) == MENU - COOKED_ITEMS
    assert "plaice" not in CABINET_ITEMS


@pytest.mark.parametrize(
    ("parts", "needed"),
    [
        ([["cod", "chips"]], {"cod": 1, "chips": 1}),
        ([["chips", "chips"]], {"chips": 2}),
        ([["chips"]], {"chips": 1}),
        ([["cod", "chips"], ["chips", "chips"]], {"cod": 1, "chips": 3}),
        ([["plaice", "chips"]], {"chips": 1, "plaice": 1}),
        ([["cod", "chips"], ["plaice", "chips"], ["cod"]], {"cod": 2, "chips": 2, "plaice": 1}),
        ([], {}),
    ],
)
def test_portions_count_each_item_across_the_parts(
    parts: list[list[str]], needed: dict[str, int]
) -> None:
    assert portions(parts) == needed


def test_portions_come_in_menu_order() -> None:
    assert list(portions([["plaice"], ["chips"], ["cod"]])) == ["cod", "chips", "plaice"]


def test_portions_take_tuples_as_orders_hold_them() -> None:
    assert portions((("cod", "chips"), ("chips", "chips"))) == {"cod": 1, "chips": 3}


def test_an_item_off_the_menu_is_named_in_the_error() -> None:
    with pytest.raises(ValueError, match=r"'haddock' is not on the menu \(cod, chips, plaice\)"):
        portions([["cod", "haddock"]])


@given(st.integers(min_value=0, max_value=2**32))
def test_portions_of_a_drawn_order_add_up_to_its_parts(seed: int) -> None:
    parts = draw_parts(random.Random(seed), plaice=True)
    needed = portions(parts)
    assert sum(needed.values()) == sum(len(part) for part in parts)
    assert all(count > 0 for count in needed.values())


@pytest.mark.parametrize(
    ("needed", "message"),
    [
        ({}, "at least one portion"),
        ({"cod": 0}, "cod: 0 portions"),
        ({"chips": -2}, "chips: -2 portions"),
        ({"cod": True}, "cod: True portions"),
        ({"cod": 1.5}, "cod: 1.5 portions"),
        ({"haddock": 1}, "not on the menu"),
    ],
)
def test_bad_portions_are_refused_with_what_is_wrong(
    needed: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        check_portions(needed)  # type: ignore[arg-type]


def test_checked_portions_come_in_menu_order() -> None:
    assert list(check_portions({"plaice": 1, "chips": 2, "cod": 1})) == ["cod", "chips", "plaice"]


# -- settings -------------------------------------------------------------------------


def test_default_settings_fry_batches_of_ten_cod_and_twenty_chips() -> None:
    settings = CabinetSettings()
    assert (settings.batch_size("cod"), settings.threshold("cod")) == (10, 4)
    assert (settings.batch_size("chips"), settings.threshold("chips")) == (20, 8)


def test_settings_answer_per_item() -> None:
    settings = CabinetSettings(cod_batch=6, chips_batch=30, cod_threshold=2, chips_threshold=0)
    assert [settings.batch_size(item) for item in CABINET_ITEMS] == [6, 30]
    assert [settings.threshold(item) for item in CABINET_ITEMS] == [2, 0]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"cod_batch": 0}, "cod batch size must be a whole number from 1 to 1000, not 0"),
        ({"chips_batch": 1001}, "chips batch size must be a whole number from 1 to 1000"),
        ({"cod_batch": 2.5}, "cod batch size .* not 2.5"),
        ({"chips_batch": True}, "chips batch size .* not True"),
        ({"cod_threshold": -1}, "cod refill threshold must be a whole number, 0 or more, not -1"),
        ({"chips_threshold": "8"}, "chips refill threshold .* not '8'"),
        ({"cod_threshold": 11}, "cod refill threshold 11 is above its batch size 10"),
    ],
)
def test_settings_that_cannot_work_are_refused_readably(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(CabinetSettingsError, match=message):
        replace(CabinetSettings(), **changes)


def test_a_settings_error_is_a_value_error() -> None:
    assert issubclass(CabinetSettingsError, ValueError)


def test_a_threshold_may_equal_the_batch_or_be_zero() -> None:
    CabinetSettings(cod_batch=5, cod_threshold=5, chips_threshold=0)


# -- serving from the cabinet ---------------------------------------------------------


def test_an_order_is_served_when_every_portion_is_in_the_cabinet() -> None:
    assert take_outcome({"cod": 1, "chips": 1}, {"cod": 1, "chips": 1}) is Outcome.SERVE
    assert take_outcome({"cod": 5, "chips": 9}, {"chips": 2}) is Outcome.SERVE


def test_an_order_goes_to_the_cook_when_any_portion_is_short() -> None:
    assert take_outcome({"cod": 1, "chips": 1}, {"cod": 1, "chips": 2}) is Outcome.TO_COOK
    assert take_outcome({"chips": 10}, {"cod": 1, "chips": 1}) is Outcome.TO_COOK


def test_the_start_of_the_day_sends_everything_to_the_cook() -> None:
    empty = CabinetCounts().in_cabinet()
    assert take_outcome(empty, {"chips": 1}) is Outcome.TO_COOK


def test_plaice_always_goes_to_the_cook_whatever_the_cabinet_holds() -> None:
    # Even a cabinet that somehow held plaice: it is fried to order.
    assert take_outcome({"plaice": 9, "chips": 9}, {"plaice": 1, "chips": 1}) is Outcome.TO_COOK


def test_the_cook_fries_everything_the_order_needs() -> None:
    assert fry_for_order({"cod": 1, "chips": 3, "plaice": 1}) == {
        "cod": 1,
        "chips": 3,
        "plaice": 1,
    }


# -- batches --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("in_cabinet", "batches"),
    [
        ({}, {"cod": 10, "chips": 20}),
        ({"cod": 3, "chips": 7}, {"cod": 10, "chips": 20}),
        ({"cod": 4, "chips": 7}, {"chips": 20}),
        ({"cod": 3, "chips": 8}, {"cod": 10}),
        ({"cod": 4, "chips": 8}, {}),
        ({"cod": 50, "chips": 50, "plaice": 0}, {}),
    ],
)
def test_a_batch_is_fried_only_below_the_threshold(
    in_cabinet: dict[str, int], batches: dict[str, int]
) -> None:
    assert batches_to_fry(in_cabinet, CabinetSettings()) == batches  # type: ignore[arg-type]


def test_plaice_is_never_fried_in_batches() -> None:
    assert "plaice" not in batches_to_fry({}, CabinetSettings())


def test_a_zero_threshold_never_stocks_the_item() -> None:
    settings = CabinetSettings(cod_threshold=0)
    assert batches_to_fry({}, settings) == {"chips": 20}


# -- the books ------------------------------------------------------------------------


def test_books_that_balance_have_no_gaps() -> None:
    counts = CabinetCounts(
        {
            "cod": ItemCounts(in_cabinet=6, fried=21, served=13, set_aside=2, batches=2),
            "chips": ItemCounts(in_cabinet=0, fried=20, served=20, batches=1),
            "plaice": ItemCounts(fried=3, served=2, set_aside=1),
        }
    )
    assert conservation_gaps(counts) == {}


def test_each_gap_is_fried_minus_what_is_accounted_for() -> None:
    counts = CabinetCounts(
        {
            "cod": ItemCounts(in_cabinet=6, fried=21, served=13, set_aside=0),  # 2 missing
            "chips": ItemCounts(in_cabinet=1, fried=20, served=20),  # 1 from nowhere
            "plaice": ItemCounts(fried=1, served=1),
        }
    )
    assert conservation_gaps(counts) == {"cod": 2, "chips": -1}


def test_the_start_of_the_day_is_all_zero_and_balanced() -> None:
    counts = CabinetCounts()
    assert all(counts[item] == ItemCounts() for item in ITEMS)
    assert conservation_gaps(counts) == {}


def test_a_missing_item_counts_as_zero() -> None:
    assert CabinetCounts({"cod": ItemCounts(fried=1, in_cabinet=1)})["plaice"] == ItemCounts()


def test_the_summary_shows_fried_served_and_left_per_item() -> None:
    counts = CabinetCounts({"cod": ItemCounts(in_cabinet=6, fried=10, served=3, set_aside=1)})
    assert counts.summary() == {
        "cod": {"fried": 10, "served": 3, "left": 7},
        "chips": {"fried": 0, "served": 0, "left": 0},
        "plaice": {"fried": 0, "served": 0, "left": 0},
    }


def test_results_default_to_nothing_moved_and_not_replayed() -> None:
    assert Decision(Outcome.TO_COOK) == Decision(Outcome.TO_COOK, {}, replayed=False)
    assert FryResult({"plaice": 1}).batches == {}


# -- a day in a shop that follows the rules -------------------------------------------


class ShopBooks:
    """The rules applied to plain counts, as the Lua applies them in Redis."""

    def __init__(self, settings: CabinetSettings) -> None:
        self.settings = settings
        self.books = {item: ItemCounts() for item in ITEMS}
        self.aside: dict[str, dict[str, int]] = {}

    def add(self, item: str, **changes: int) -> None:
        books = self.books[item]  # type: ignore[index]
        self.books[item] = books._replace(  # type: ignore[index]
            **{book: getattr(books, book) + change for book, change in changes.items()}
        )

    def counts(self) -> CabinetCounts:
        return CabinetCounts(dict(self.books))

    def take(self, order: str, needed: dict[str, int]) -> Outcome:
        outcome = take_outcome(self.counts().in_cabinet(), needed)  # type: ignore[arg-type]
        if outcome is Outcome.SERVE:
            for item, count in needed.items():
                self.add(item, in_cabinet=-count, served=count)
        return outcome

    def fry(self, order: str, needed: dict[str, int]) -> None:
        for item, count in fry_for_order(needed).items():  # type: ignore[arg-type]
            self.add(item, fried=count, set_aside=count)
        self.aside[order] = dict(needed)
        for item, batch in batches_to_fry(self.counts().in_cabinet(), self.settings).items():
            self.add(item, fried=batch, in_cabinet=batch, batches=1)

    def serve_set_aside(self, order: str) -> None:
        for item, count in self.aside.pop(order, {}).items():
            self.add(item, set_aside=-count, served=count)


@given(
    seed=st.integers(min_value=0, max_value=2**32),
    settings=st.builds(
        CabinetSettings,
        cod_batch=st.integers(1, 12),
        chips_batch=st.integers(12, 30),
        cod_threshold=st.integers(0, 1),
        chips_threshold=st.integers(0, 12),
    ),
)
def test_every_order_is_served_and_the_books_balance_after_any_day(
    seed: int, settings: CabinetSettings
) -> None:
    rng = random.Random(seed)
    shop = ShopBooks(settings)
    waiting: list[tuple[str, dict[str, int]]] = []
    served = 0
    for number in range(60):
        order = f"o{number}"
        needed = portions(draw_parts(rng, plaice=True))
        if shop.take(order, needed) is Outcome.SERVE:
            served += 1
        else:
            waiting.append((order, needed))
        # The cook and the preparers catch up in their own time.
        while waiting and rng.random() < 0.5:
            cooked, cooked_needs = waiting.pop(0)
            shop.fry(cooked, cooked_needs)
            shop.serve_set_aside(cooked)
            served += 1
        assert conservation_gaps(shop.counts()) == {}
        assert all(min(books) >= 0 for books in shop.books.values())
    for order, needed in waiting:
        shop.fry(order, needed)
        shop.serve_set_aside(order)
        served += 1
    assert served == 60
    assert all(shop.counts()[item].set_aside == 0 for item in ITEMS)
    assert conservation_gaps(shop.counts()) == {}
