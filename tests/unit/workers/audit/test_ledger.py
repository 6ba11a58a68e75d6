"""Unit tests for fishshop_workers.audit.ledger: the shop's books and their summary."""

from __future__ import annotations

import pytest

from fishshop_workers.audit.ledger import Ledger
from fishshop_workers.audit.summary import Summary, percentile
from fishshop_workers.shop.order import Order, encode_order


def _order(n: int, plaice: bool = False) -> Order:
    parts = (("plaice", "chips"),) if plaice else (("cod", "chips"),)
    return Order(f"ID{n:04d}", n, 1, parts, "2026-11-25T12:00:00.000Z")


def _served(order: Order, seconds: float, by: str = "preparer-0") -> bytes:
    whole = int(seconds)
    millis = round((seconds - whole) * 1000)
    at = f"2026-11-25T12:{whole // 60:02d}:{whole % 60:02d}.{millis:03d}Z"
    return encode_order(order.served(at, by))


# ---------------------------------------------------------------- percentile


def test_percentile_of_nothing_is_none() -> None:
    assert percentile([], 0.5) is None
    assert percentile([], 0.99) is None


@pytest.mark.parametrize(
    ("fraction", "expected"),
    [
        (0.0, 1.0),
        (0.1, 1.0),
        (0.11, 2.0),
        (0.5, 5.0),
        (0.51, 6.0),
        (0.9, 9.0),
        (0.91, 10.0),
        (0.99, 10.0),
        (1.0, 10.0),
    ],
)
def test_percentile_nearest_rank(fraction: float, expected: float) -> None:
    values = [float(v) for v in (7, 3, 10, 1, 5, 9, 2, 8, 4, 6)]
    assert percentile(values, fraction) == expected


def test_percentile_does_not_reorder_its_input() -> None:
    values = [3.0, 1.0, 2.0]
    assert percentile(values, 0.5) == 2.0
    assert values == [3.0, 1.0, 2.0]


@pytest.mark.parametrize("n", [1, 2, 3, 99, 100, 101, 1000, 12345])
def test_percentile_returns_a_member_at_the_nearest_rank(n: int) -> None:
    values = [float(v) for v in range(1, n + 1)]
    # Nearest rank: the smallest value with at least p% of values at or below it.
    assert percentile(values, 0.5) == float(-(-n // 2))
    assert percentile(values, 0.99) == float(-(-99 * n // 100))


def test_percentile_of_one_value() -> None:
    assert percentile([4.2], 0.5) == 4.2
    assert percentile([4.2], 0.99) == 4.2


# ---------------------------------------------------------------- Ledger


def test_empty_ledger_is_clean() -> None:
    summary = Ledger().summary()
    assert summary == Summary(0, 0, 0, 0, 0, 0, None, None)
    assert summary.clean


def test_every_order_served_once() -> None:
    ledger = Ledger()
    for n in range(1, 6):
        ledger.add_order_record(encode_order(_order(n)))
        ledger.add_served_record(_served(_order(n), n))
    summary = ledger.summary()
    assert summary.orders_created == 5
    assert summary.orders_served == 5
    assert summary.unserved == 0
    assert summary.duplicates == 0
    assert summary.served_unknown == 0
    assert summary.wait_p50_s == 3.0
    assert summary.wait_p99_s == 5.0
    assert summary.clean


def test_unserved_orders_are_counted() -> None:
    ledger = Ledger()
    for n in range(1, 4):
        ledger.add_order_record(encode_order(_order(n)))
    ledger.add_served_record(_served(_order(2), 1.5))
    summary = ledger.summary()
    assert summary.orders_created == 3
    assert summary.orders_served == 1
    assert summary.unserved == 2
    assert not summary.clean


def test_duplicates_are_counted_and_timed_once() -> None:
    ledger = Ledger()
    ledger.add_order_record(encode_order(_order(1)))
    ledger.add_served_record(_served(_order(1), 2.0))
    ledger.add_served_record(_served(_order(1), 9.0, by="preparer-1"))
    ledger.add_served_record(_served(_order(1), 10.0))
    summary = ledger.summary()
    assert summary.orders_served == 1
    assert summary.duplicates == 2
    assert summary.unserved == 0
    assert ledger.waits == [2.0]
    assert not summary.clean


def test_served_unknown_orders_are_counted() -> None:
    ledger = Ledger()
    ledger.add_order_record(encode_order(_order(1)))
    ledger.add_served_record(_served(_order(1), 1.0))
    ledger.add_served_record(_served(_order(99), 1.0))
    summary = ledger.summary()
    assert summary.served_unknown == 1
    assert summary.orders_served == 1
    assert summary.orders_created == 1
    assert not summary.clean


def test_cooked_orders_coming_back_are_not_new_orders() -> None:
    ledger = Ledger()
    plaice = _order(1, plaice=True)
    ledger.add_order_record(encode_order(plaice))
    ledger.add_order_record(encode_order(plaice.cooked("cook-0")))
    ledger.add_order_record(encode_order(_order(2, plaice=True).cooked("cook-0")))
    ledger.add_served_record(_served(plaice.cooked("cook-0"), 4.0))
    summary = ledger.summary()
    assert summary.orders_created == 1
    assert ledger.created == {plaice.id}
    assert summary.orders_served == 1
    assert summary.clean


def test_the_same_order_record_twice_is_one_order() -> None:
    ledger = Ledger()
    ledger.add_order_record(encode_order(_order(1)))
    ledger.add_order_record(encode_order(_order(1)))
    assert ledger.summary().orders_created == 1


def test_unreadable_records_and_dead_letters() -> None:
    ledger = Ledger()
    ledger.add_order_record(b"garbage")
    ledger.add_order_record(None)
    ledger.add_served_record(b"{}")
    ledger.add_dead_letter()
    ledger.add_dead_letter()
    assert ledger.unreadable == 3
    summary = ledger.summary()
    assert summary.rejected == 2
    assert summary.orders_created == 0
    assert summary.served_unknown == 0
    assert summary.clean, "dead letters are bad input, not lost orders"


def test_served_record_without_served_at_has_no_wait() -> None:
    ledger = Ledger()
    ledger.add_order_record(encode_order(_order(1)))
    ledger.add_served_record(encode_order(_order(1)))
    assert ledger.waits == []
    summary = ledger.summary()
    assert summary.orders_served == 1
    assert summary.wait_p50_s is None


def test_summary_as_dict_rounds_waits() -> None:
    ledger = Ledger()
    order = _order(1)._replace(created_at="2026-11-25T12:00:00.000400+00:00")
    ledger.add_order_record(encode_order(order))
    ledger.add_served_record(_served(order, 1.234))
    assert ledger.waits == [pytest.approx(1.2336)]
    data = ledger.summary().as_dict()
    assert data == {
        "orders_created": 1,
        "orders_served": 1,
        "unserved": 0,
        "duplicates": 0,
        "served_unknown": 0,
        "rejected": 0,
        "wait_p50_s": 1.234,
        "wait_p99_s": 1.234,
        "served_uncooked": 0,
        "unreadable": 0,
    }
    assert Ledger().summary().as_dict()["wait_p99_s"] is None


def test_ledger_survives_a_timezone_less_created_at() -> None:
    ledger = Ledger()
    order = _order(1)._replace(created_at="2026-11-25T12:00:00")
    ledger.add_order_record(encode_order(order))
    ledger.add_served_record(_served(order, 1.0))
    assert ledger.unreadable == 2
    assert ledger.summary().orders_created == 0


def test_served_plaice_that_no_cook_made_ready_is_not_clean() -> None:
    from fishshop_workers.shop.order import Order, encode_order

    ledger = Ledger()
    plaice = Order("p1", 1, 1, (("plaice", "chips"),), "2026-11-25T12:00:00.000Z")
    ledger.add_order_record(encode_order(plaice))
    ledger.add_served_record(encode_order(plaice.served("2026-11-25T12:00:03.000Z", "preparer-1")))
    summary = ledger.summary()
    assert summary.served_uncooked == 1
    assert summary.as_dict()["served_uncooked"] == 1
    assert not summary.clean
    cooked = Ledger()
    cooked.add_order_record(encode_order(plaice))
    cooked.add_served_record(
        encode_order(plaice.cooked("cook-1").served("2026-11-25T12:00:03.000Z", "preparer-1"))
    )
    assert cooked.summary().served_uncooked == 0
    assert cooked.summary().clean


def test_records_that_are_not_orders_are_counted_as_unreadable() -> None:
    ledger = Ledger()
    ledger.add_order_record(b"not an order")
    ledger.add_served_record(b'{"v": 1}')
    assert ledger.summary().unreadable == 2
    assert ledger.summary().as_dict()["unreadable"] == 2


def test_an_order_refused_to_dlq_after_it_was_taken_is_not_unserved() -> None:
    from fishshop_workers.shop.order import Order, encode_order

    ledger = Ledger()
    taken = Order("big", 1, 1, (("cod",),), "2026-11-25T12:00:00.000Z")
    lost = Order("lost", 2, 1, (("cod",),), "2026-11-25T12:00:00.000Z")
    ledger.add_order_record(encode_order(taken))
    ledger.add_order_record(encode_order(lost))
    ledger.add_dead_letter(encode_order(taken), "oversized")
    ledger.add_dead_letter(b"garbage", "not_json")
    summary = ledger.summary()
    assert (summary.rejected, summary.unserved) == (2, 1)
    # A readable order in dlq for any other reason (an outsider wrote it there, say)
    # does not hide a loss.
    ledger.add_dead_letter(encode_order(lost), "invalid_field")
    assert ledger.summary().unserved == 1


def test_the_cabinet_books_join_the_summary_and_any_gap_makes_it_unclean() -> None:
    from fishshop_workers.audit.ledger import with_cabinet
    from fishshop_workers.shop.order import Order, encode_order

    ledger = Ledger()
    order = Order("c1", 1, 1, (("cod", "chips"), ("chips", "chips")), "2026-11-25T12:00:00.000Z")
    ledger.add_order_record(encode_order(order))
    ledger.add_served_record(encode_order(order.served("2026-11-25T12:00:01.000Z", "p")))
    assert dict(ledger.served_portions) == {"cod": 1, "chips": 3}
    books = {
        "cod": {"fried": 10, "served": 1, "left": 9},
        "chips": {"fried": 20, "served": 3, "left": 17},
        "plaice": {"fried": 0, "served": 0, "left": 0},
    }
    balanced = with_cabinet(ledger.summary(), books, {}, ledger)
    assert balanced.clean
    assert balanced.as_dict()["cabinet"] == books
    assert balanced.as_dict()["cabinet_kafka_gaps"] == {}
    redis_ahead = {**books, "chips": {"fried": 20, "served": 4, "left": 16}}
    disagreeing = with_cabinet(ledger.summary(), redis_ahead, {}, ledger)
    assert disagreeing.cabinet_kafka_gaps == {"chips": 1}
    assert not disagreeing.clean
    assert not with_cabinet(ledger.summary(), books, {"cod": 2}, ledger).clean
    assert "cabinet" not in ledger.summary().as_dict()
