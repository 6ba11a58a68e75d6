"""Unit tests for fishshop_workers.roles.till.next_gap: customers arrive at random."""

from __future__ import annotations

import math
import random

import pytest

from fishshop_workers.roles.till import next_gap

DRAWS = 20_000


@pytest.mark.parametrize("rate", [1.0, 6.0, 40.0, 600.0, 6000.0])
def test_mean_gap_is_sixty_over_the_rate(rate: float) -> None:
    rng = random.Random(42)
    gaps = [next_gap(rng, rate) for _ in range(DRAWS)]
    assert all(gap > 0 for gap in gaps)
    mean = sum(gaps) / DRAWS
    assert mean == pytest.approx(60.0 / rate, rel=0.03)


def test_gaps_are_exponential_not_regular() -> None:
    rng = random.Random(9)
    gaps = [next_gap(rng, 40.0) for _ in range(DRAWS)]
    mean = 60.0 / 40.0
    below_mean = sum(gap < mean for gap in gaps) / DRAWS
    # Exponential: P(X < mean) = 1 - 1/e (about 0.632), not 0.5 as for a uniform.
    assert below_mean == pytest.approx(1 - 1 / math.e, abs=0.015)
    assert len(set(gaps)) == DRAWS
    assert max(gaps) > 5 * mean


@pytest.mark.parametrize("rate", [0.0, -1.0, -40.0])
def test_no_rate_means_no_gap(rate: float) -> None:
    rng = random.Random(1)
    state = rng.getstate()
    assert next_gap(rng, rate) == 0.0
    assert rng.getstate() == state, "no randomness used"


def test_same_seed_same_customers() -> None:
    first = [next_gap(random.Random(3), 40.0) for _ in range(2)]
    assert first[0] == first[1]


def test_customer_numbers_roll_over_like_a_ticket_roll() -> None:
    from fishshop_workers.roles.till import next_number
    from fishshop_workers.shop.order import MAX_ORDER_NUMBER

    assert next_number(0) == 1
    assert next_number(41) == 42
    assert next_number(MAX_ORDER_NUMBER - 1) == MAX_ORDER_NUMBER
    assert next_number(MAX_ORDER_NUMBER) == 1


def test_a_till_that_finds_none_of_its_orders_never_repeats_a_number() -> None:
    from fishshop_workers.roles.till import carry_on_from
    from fishshop_workers.shop.order import MAX_ORDER_NUMBER

    assert carry_on_from(271, 5000, read_whole=False) == 271
    assert carry_on_from(271, 5000, read_whole=True) == 271
    # New to a partition it read from the start: the first customer is number 1.
    assert carry_on_from(0, 40, read_whole=True) == 0
    # Retention deleted its orders, or other tills wrote the whole tail.
    assert carry_on_from(0, 5000, read_whole=False) == 5000
    assert carry_on_from(0, 2**60, read_whole=False) == MAX_ORDER_NUMBER
