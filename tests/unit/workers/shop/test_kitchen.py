"""Unit tests for fishshop_workers.shop.kitchen: what preparers and cooks do with a record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fishshop_workers.shop.kitchen import (
    Incoming,
    cook_order,
    read_incoming,
    readable,
    serve_order,
    to_cook,
)
from fishshop_workers.shop.order import (
    MAX_ORDER_BYTES,
    Order,
    Rejection,
    encode_order,
    format_time,
    parse_order,
)
from fishshop_workers.shop.outgoing import (
    DEAD_LETTER_KEY_BYTES,
    DEAD_LETTER_VALUE_BYTES,
    Outgoing,
    dead_letter,
)
from fishshop_workers.shop.topics import ShopTopics

TOPICS = ShopTopics.from_prefix("fishshop.harbour")
CREATED = datetime(2026, 11, 25, 12, 0, 0, 250000, tzinfo=UTC)
COD = Order(
    id="01JDQ5X3Y8ZK4M2N6P7R9S0T1V",
    number=7,
    till=3,
    parts=(("cod", "chips"),),
    created_at=format_time(CREATED),
)
PLAICE = COD._replace(id="01JDQ5X3Y8ZK4M2N6P7R9S0T1W", parts=(("plaice", "chips"),))


def _incoming(value: bytes | None, key: bytes | None = b"3") -> Incoming:
    return Incoming(TOPICS.orders, 2, 41, key, value)


def _headers(out: Outgoing) -> dict[str, bytes]:
    names = [name for name, _ in out.headers]
    assert len(names) == len(set(names)), "no repeated headers"
    return dict(out.headers)


# ---------------------------------------------------------------- read_incoming


def test_read_incoming_returns_the_order() -> None:
    assert read_incoming(_incoming(encode_order(COD)), TOPICS) == COD
    assert read_incoming(_incoming(encode_order(PLAICE)), TOPICS) == PLAICE


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"not json", "not_json"),
        (b"\xff\xfe", "not_json"),
        (b"[]", "not_json"),
        (b"x" * (MAX_ORDER_BYTES + 1), "oversized"),
        (b'{"v": 9}', "unknown_version"),
        (b'{"v": 1}', "missing_field"),
        (encode_order(COD._replace(till=0)), "invalid_field"),
        (encode_order(COD._replace(parts=(("cod", "squid"),))), "unknown_item"),
    ],
)
def test_bad_record_becomes_a_dead_letter(value: bytes, reason: str) -> None:
    out = read_incoming(_incoming(value), TOPICS)
    assert isinstance(out, Outgoing)
    assert out.topic == TOPICS.dlq
    assert out.value == value, "the bad record goes on unchanged"
    assert out.key == b"3"
    assert out.event == "rejected"
    assert out.reason == reason
    assert out.partition is None
    assert out.wait_seconds is None
    headers = _headers(out)
    assert headers["fishshop-reason"] == reason.encode()
    assert headers["fishshop-detail"]
    assert headers["fishshop-source-topic"] == TOPICS.orders.encode()
    assert headers["fishshop-source-partition"] == b"2"
    assert headers["fishshop-source-offset"] == b"41"
    assert all(isinstance(v, bytes) for v in headers.values())


def test_record_without_value_becomes_an_empty_dead_letter() -> None:
    out = read_incoming(_incoming(None, key=None), TOPICS)
    assert isinstance(out, Outgoing)
    assert out.value == b""
    assert out.key is None
    assert out.reason == "missing_field"
    assert _headers(out)["fishshop-reason"] == b"missing_field"


def test_dead_letter_detail_is_bounded() -> None:
    unknown = tuple(f"item{n:05d}" for n in range(600))
    value = encode_order(COD._replace(parts=(unknown,)))
    assert len(value) < MAX_ORDER_BYTES
    out = read_incoming(_incoming(value), TOPICS)
    assert isinstance(out, Outgoing)
    assert out.reason == "unknown_item"
    detail = _headers(out)["fishshop-detail"]
    assert detail.startswith(b"not on the menu: item00000")
    assert len(detail) == 1000


def test_dead_letter_names_where_the_record_came_from() -> None:
    record = Incoming(TOPICS.cook, 11, 123456789, b"k", b"nope")
    out = read_incoming(record, TOPICS)
    assert isinstance(out, Outgoing)
    headers = _headers(out)
    assert headers["fishshop-source-topic"] == TOPICS.cook.encode()
    assert headers["fishshop-source-partition"] == b"11"
    assert headers["fishshop-source-offset"] == b"123456789"


# ---------------------------------------------------------------- to_cook


def test_plaice_not_ready_goes_to_the_cook() -> None:
    out = to_cook(PLAICE, TOPICS)
    assert out is not None
    assert out.topic == TOPICS.cook
    assert out.key == b"3"
    assert out.event == "to_cook"
    assert out.partition is None
    assert parse_order(out.value) == PLAICE


def test_plaice_ready_is_not_sent_to_the_cook_again() -> None:
    assert to_cook(PLAICE.cooked("cook-0"), TOPICS) is None


def test_cod_and_chips_never_go_to_the_cook() -> None:
    assert to_cook(COD, TOPICS) is None
    mixed = COD._replace(parts=(("cod", "chips"), ("chips", "chips")))
    assert to_cook(mixed, TOPICS) is None


def test_mixed_order_with_plaice_goes_to_the_cook() -> None:
    mixed = COD._replace(parts=(("cod", "chips"), ("plaice", "chips")))
    out = to_cook(mixed, TOPICS)
    assert out is not None
    assert parse_order(out.value) == mixed


# ---------------------------------------------------------------- serve_order


def test_serve_order_stamps_when_and_by_whom() -> None:
    now = CREATED + timedelta(seconds=90, milliseconds=500)
    out = serve_order(COD, TOPICS, "preparer-1", now)
    assert out.topic == TOPICS.served
    assert out.key == b"3"
    assert out.event == "served"
    assert out.partition is None
    assert out.wait_seconds == pytest.approx(90.5)
    served = parse_order(out.value)
    assert isinstance(served, Order)
    assert served.served_at == format_time(now)
    assert served.prepared_by == "preparer-1"
    assert served == COD.served(format_time(now), "preparer-1")


def test_serve_order_keeps_what_the_cook_did() -> None:
    cooked = PLAICE.cooked("cook-0")
    now = CREATED + timedelta(seconds=4)
    served = parse_order(serve_order(cooked, TOPICS, "preparer-2", now).value)
    assert isinstance(served, Order)
    assert served.ready is True
    assert served.cooked_by == "cook-0"
    assert served.prepared_by == "preparer-2"


def test_serve_order_with_another_timezone() -> None:
    now = (CREATED + timedelta(seconds=2)).astimezone(timezone(timedelta(hours=-7)))
    out = serve_order(COD, TOPICS, "p", now)
    assert out.wait_seconds == pytest.approx(2.0)
    served = parse_order(out.value)
    assert isinstance(served, Order)
    assert served.served_at == "2026-11-25T12:00:02.250Z"


def test_wait_is_never_negative() -> None:
    out = serve_order(COD, TOPICS, "p", CREATED - timedelta(seconds=3))
    assert out.wait_seconds == 0.0


def test_order_with_timezone_less_time_is_served_or_dead_lettered() -> None:
    raw = encode_order(COD._replace(created_at="2026-11-25T12:00:00"))
    result = read_incoming(_incoming(raw), TOPICS)
    if isinstance(result, Outgoing):
        assert result.reason == "invalid_field"
    else:
        serve_order(result, TOPICS, "p", CREATED + timedelta(seconds=1))


# ---------------------------------------------------------------- cook_order


@pytest.mark.parametrize(
    ("till", "partitions", "expected"),
    [(1, 3, 0), (3, 3, 2), (4, 3, 0), (5, 2, 0), (6, 4, 1), (9, 1, 0)],
)
def test_cook_order_targets_the_tills_partition(till: int, partitions: int, expected: int) -> None:
    order = PLAICE._replace(till=till)
    out = cook_order(order, TOPICS, "cook-0", partitions)
    assert out.topic == TOPICS.orders
    assert out.partition == expected
    assert out.key == str(till).encode()
    assert out.event == "cooked"


def test_cook_order_sends_it_back_ready() -> None:
    out = cook_order(PLAICE, TOPICS, "cook-0", 3)
    cooked = parse_order(out.value)
    assert isinstance(cooked, Order)
    assert cooked.ready is True
    assert cooked.cooked_by == "cook-0"
    assert cooked == PLAICE.cooked("cook-0")
    assert cooked.served_at is None
    # The cooked order, read back by a preparer, is now served rather than cooked.
    assert to_cook(cooked, TOPICS) is None


def test_cook_order_refuses_a_topic_without_partitions() -> None:
    with pytest.raises(ValueError, match="at least one partition"):
        cook_order(PLAICE, TOPICS, "cook-0", 0)


def test_an_unencodable_item_name_still_becomes_a_dead_letter() -> None:
    # JSON may carry a lone surrogate; quoting it in the reason must not crash.
    raw = (
        b'{"v":1,"id":"x","order":1,"till":1,"parts":[["\\ud800"]],'
        b'"ready":false,"createdAt":"2026-11-25T12:00:00.000Z"}'
    )
    letter = read_incoming(Incoming("shop.orders", 0, 7, b"1", raw), TOPICS)
    assert isinstance(letter, Outgoing)
    assert letter.reason == "unknown_item"
    headers = dict(letter.headers)
    assert headers["fishshop-reason"] == b"unknown_item"
    assert b"\\ud800" in headers["fishshop-detail"]


# ---------------------------------------------------------------- what the shop writes is readable

_ID_CHARACTERS = st.characters(codec="utf-8", exclude_categories=("Cs",))
_STAMP = datetime(2026, 11, 25, 12, 0, 5, tzinfo=UTC)


def _from_orders(value: bytes) -> Incoming:
    return Incoming("fishshop.t.orders", 0, 9, b"1", value)


@settings(max_examples=300, deadline=None)
@given(
    id_text=st.text(_ID_CHARACTERS, min_size=1, max_size=40),
    padding=st.integers(min_value=0, max_value=MAX_ORDER_BYTES),
    parts=st.integers(min_value=1, max_value=4),
    plaice=st.booleans(),
    worker=st.text(_ID_CHARACTERS, min_size=1, max_size=253),
)
def test_every_output_is_readable_by_the_next_stage_or_a_dead_letter(
    id_text: str, padding: int, parts: int, plaice: bool, worker: str
) -> None:
    """An order accepted near the limit, or with a non-ASCII id, grows when stamped:
    what a preparer or a cook writes is always read by the next worker, or the record
    it came from goes to dlq as oversized."""
    meal = ("plaice", "chips") if plaice else ("cod", "chips")
    order = Order(id_text + "x" * padding, 7, 2, (meal,) * parts, format_time(_STAMP))
    raw = encode_order(order)
    incoming = _from_orders(raw)
    read = read_incoming(incoming, TOPICS)
    if isinstance(read, Outgoing):
        assert read.reason == "oversized"
        assert len(raw) > MAX_ORDER_BYTES
        return
    handed = to_cook(read, TOPICS)
    stages = [
        cook_order(read, TOPICS, worker, 3),
        serve_order(read, TOPICS, worker, _STAMP + timedelta(seconds=3)),
        serve_order(read.cooked(worker), TOPICS, worker, _STAMP + timedelta(seconds=3)),
    ]
    if handed is not None:
        stages.append(handed)
    for out in stages:
        written = readable(out, incoming, TOPICS)
        if written.topic == TOPICS.dlq:
            assert written.reason == "oversized"
            assert len(out.value) > MAX_ORDER_BYTES
            assert written.value == raw
        else:
            assert written == out
            assert isinstance(parse_order(written.value), Order)


def test_an_order_that_grows_past_the_limit_says_so() -> None:
    order = Order("a" * (MAX_ORDER_BYTES - 200), 1, 1, (("cod",),), format_time(_STAMP))
    raw = encode_order(order)
    assert len(raw) <= MAX_ORDER_BYTES
    served = serve_order(order, TOPICS, "p" * 253, _STAMP)
    written = readable(served, _from_orders(raw), TOPICS)
    assert written.topic == TOPICS.dlq
    assert written.reason == "oversized"
    detail = dict(written.headers)["fishshop-detail"].decode()
    assert detail == f"the order would grow to {len(served.value)} bytes once served, limit 16384"


def test_a_huge_record_is_dead_lettered_in_part_with_its_size() -> None:
    """A record near Kafka's limit could never be copied whole with headers."""
    value, key = b"{" * 1_048_400, b"k" * 5000
    letter = dead_letter(TOPICS.dlq, Rejection("oversized", "big"), value, key, "t", 0, 1)
    headers = dict(letter.headers)
    assert letter.value == value[:DEAD_LETTER_VALUE_BYTES]
    assert letter.key == key[:DEAD_LETTER_KEY_BYTES]
    assert headers["fishshop-original-bytes"] == b"1048400"
    assert headers["fishshop-original-key-bytes"] == b"5000"
    small = dead_letter(TOPICS.dlq, Rejection("not_json", "x"), b"abc", b"1", "t", 0, 1)
    assert small.value == b"abc"
    assert "fishshop-original-bytes" not in dict(small.headers)
