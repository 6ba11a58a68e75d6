"""Unit tests for fishshop_workers.shop.order: ids, times, and reading orders off the wire."""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from fishshop_workers.shop.order import (
    MAX_ORDER_BYTES,
    REJECTION_REASONS,
    SCHEMA_VERSION,
    Order,
    Rejection,
    encode_order,
    format_time,
    new_order_id,
    parse_order,
    parse_time,
)

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

ORDER = Order(
    id="01JDQ5X3Y8ZK4M2N6P7R9S0T1V",
    number=42,
    till=2,
    parts=(("cod", "chips"), ("plaice", "chips")),
    created_at="2026-11-25T12:00:00.123Z",
)


def _decode(ulid: str) -> int:
    value = 0
    for char in ulid:
        value = value * 32 + CROCKFORD.index(char)
    return value


def _document(**changes: Any) -> dict[str, Any]:
    document = json.loads(encode_order(ORDER))
    document.update(changes)
    return document


def _raw(document: Any) -> bytes:
    return json.dumps(document).encode()


def _without(name: str) -> bytes:
    document = _document()
    del document[name]
    return _raw(document)


# ---------------------------------------------------------------- new_order_id


def test_order_id_is_26_crockford_characters() -> None:
    for _ in range(200):
        order_id = new_order_id()
        assert len(order_id) == 26
        assert set(order_id) <= set(CROCKFORD)
        assert not set(order_id) & set("ILOU")
        # 128 bits in 130: the first character carries only 3 bits.
        assert order_id[0] in "01234567"


def test_order_id_matches_the_ulid_specification_example() -> None:
    # https://github.com/ulid/spec: 1469918176385 ms is 01ARYZ6S41.
    assert new_order_id(1469918176385, bytes(10)).startswith("01ARYZ6S41")


def test_order_id_layout_time_then_entropy() -> None:
    assert new_order_id(0, bytes(10)) == "0" * 26
    assert new_order_id(0, b"\xff" * 10) == "0" * 10 + "Z" * 16
    assert new_order_id(1, bytes(10)) == "0" * 9 + "1" + "0" * 16
    assert new_order_id(2**48 - 1, b"\xff" * 10) == "7" + "Z" * 25
    value = _decode(new_order_id(123_456_789, bytes(range(10))))
    assert value >> 80 == 123_456_789
    assert value & (2**80 - 1) == int.from_bytes(bytes(range(10)))


def test_order_id_uses_the_clock_by_default() -> None:
    before = int(time.time() * 1000)
    order_id = new_order_id()
    after = int(time.time() * 1000)
    assert before <= _decode(order_id) >> 80 <= after


def test_order_ids_sort_by_time_whatever_their_entropy() -> None:
    # The latest possible id of one millisecond sorts before the earliest of the next.
    assert new_order_id(1_000, b"\xff" * 10) < new_order_id(1_001, bytes(10))
    rng = random.Random(5)
    moments = sorted(rng.randrange(0, 2**48) for _ in range(500))
    ids = [new_order_id(ms, rng.randbytes(10)) for ms in moments]
    assert sorted(ids) == ids
    now = int(time.time() * 1000)
    nearby = [new_order_id(now + step) for step in range(300)]
    assert sorted(nearby) == nearby


def test_order_ids_are_unique() -> None:
    ids = [new_order_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    same_ms = [new_order_id(1_700_000_000_000) for _ in range(5_000)]
    assert len(set(same_ms)) == len(same_ms)


# ---------------------------------------------------------------- times


def test_format_time_milliseconds_and_z() -> None:
    moment = datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=UTC)
    assert format_time(moment) == "2026-11-25T12:00:00.123Z"
    assert format_time(moment.replace(microsecond=0)) == "2026-11-25T12:00:00.000Z"
    # Truncated, never rounded up into the next second.
    assert format_time(moment.replace(microsecond=999_999)) == "2026-11-25T12:00:00.999Z"


def test_format_time_converts_to_utc() -> None:
    paris = timezone(timedelta(hours=1))
    moment = datetime(2026, 11, 25, 13, 30, 5, 7000, tzinfo=paris)
    assert format_time(moment) == "2026-11-25T12:30:05.007Z"
    new_york = timezone(timedelta(hours=-5))
    late = datetime(2026, 12, 31, 22, 0, 0, tzinfo=new_york)
    assert format_time(late) == "2027-01-01T03:00:00.000Z"


def test_parse_time_reads_z_as_utc() -> None:
    moment = parse_time("2026-11-25T12:00:00.123Z")
    assert moment == datetime(2026, 11, 25, 12, 0, 0, 123000, tzinfo=UTC)
    assert moment.utcoffset() == timedelta(0)


def test_time_round_trip() -> None:
    rng = random.Random(3)
    start = datetime(2020, 1, 1, tzinfo=UTC)
    for _ in range(500):
        moment = start + timedelta(microseconds=rng.randrange(0, 10**16))
        text = format_time(moment)
        assert text.endswith("Z")
        assert len(text) == len("2026-11-25T12:00:00.123Z")
        back = parse_time(text)
        assert back == moment.replace(microsecond=moment.microsecond // 1000 * 1000)
        assert format_time(back) == text


def test_parse_time_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="Invalid isoformat"):
        parse_time("yesterday")


# ---------------------------------------------------------------- encode / parse


def test_encode_order_writes_the_wire_format() -> None:
    document = json.loads(encode_order(ORDER))
    assert document == {
        "v": SCHEMA_VERSION,
        "id": ORDER.id,
        "order": 42,
        "till": 2,
        "parts": [["cod", "chips"], ["plaice", "chips"]],
        "ready": False,
        "createdAt": "2026-11-25T12:00:00.123Z",
    }
    assert b" " not in encode_order(ORDER), "compact separators"


@pytest.mark.parametrize(
    "order",
    [
        ORDER,
        ORDER.cooked("cook-0"),
        ORDER.served("2026-11-25T12:00:09.876Z", "preparer-1"),
        ORDER.cooked("cook-0").served("2026-11-25T12:00:09.876Z", "preparer-1"),
        Order("x", 1, 1, (("chips",),), "2026-01-01T00:00:00.000Z"),
    ],
)
def test_encode_parse_round_trip(order: Order) -> None:
    assert parse_order(encode_order(order)) == order


def test_served_and_cooked_fields_on_the_wire() -> None:
    done = ORDER.cooked("cook-0").served("2026-11-25T12:00:09.876Z", "preparer-1")
    document = json.loads(encode_order(done))
    assert document["ready"] is True
    assert document["cookedBy"] == "cook-0"
    assert document["servedAt"] == "2026-11-25T12:00:09.876Z"
    assert document["preparedBy"] == "preparer-1"
    assert {"cookedBy", "servedAt", "preparedBy"}.isdisjoint(json.loads(encode_order(ORDER)))
    assert ORDER.ready is False, "cooked() and served() return copies"
    assert ORDER.served_at is None


def test_non_string_prepared_by_and_cooked_by_are_refused() -> None:
    parsed = parse_order(_raw(_document(preparedBy=5, cookedBy=["x"])))
    assert parsed == Rejection(
        "invalid_field",
        "preparedBy must be a non-empty string; cookedBy must be a non-empty string",
    )


def test_largest_allowed_order_is_read() -> None:
    raw = encode_order(ORDER)
    padded = raw + b" " * (MAX_ORDER_BYTES - len(raw))
    assert len(padded) == MAX_ORDER_BYTES
    assert parse_order(padded) == ORDER


# ---------------------------------------------------------------- rejections

BAD_INPUTS: list[tuple[str, bytes | None, str]] = [
    ("oversized", b"x" * (MAX_ORDER_BYTES + 1), str(MAX_ORDER_BYTES)),
    ("oversized", encode_order(ORDER) + b" " * MAX_ORDER_BYTES, "bytes"),
    ("not_json", b"not json at all", ""),
    ("not_json", b"", ""),
    ("not_json", b"\xff\xfe\x00garbage", "utf-8"),
    ("not_json", '{"id": "caf\u00e9"}'.encode("latin-1"), "utf-8"),
    ("not_json", b'{"v": 1,', ""),
    ("not_json", b"[1, 2, 3]", "not an object"),
    ("not_json", b'"an order"', "not an object"),
    ("not_json", b"42", "not an object"),
    ("not_json", b"null", "not an object"),
    ("unknown_version", _raw(_document(v=2)), "2"),
    ("unknown_version", _raw(_document(v="1")), "'1'"),
    ("unknown_version", _raw(_document(v=None)), "None"),
    ("unknown_version", _raw({"v": 99}), "99"),
    ("missing_field", None, "no value"),
    ("missing_field", b"{}", "missing v, id, order, till, parts, ready, createdAt"),
    ("invalid_field", _raw(_document(order=True)), "order must be a positive integer"),
    ("invalid_field", _raw(_document(order=0)), "order must be a positive integer"),
    ("invalid_field", _raw(_document(order=1.5)), "order must be a positive integer"),
    ("invalid_field", _raw(_document(order="7")), "order must be a positive integer"),
    ("invalid_field", _raw(_document(till=-1)), "till must be a positive integer"),
    ("invalid_field", _raw(_document(till=0)), "till must be a positive integer"),
    ("invalid_field", _raw(_document(till=False)), "till must be a positive integer"),
    ("invalid_field", _raw(_document(id="")), "id must be"),
    ("invalid_field", _raw(_document(id=7)), "id must be"),
    ("invalid_field", _raw(_document(id=None)), "id must be"),
    ("invalid_field", _raw(_document(ready="false")), "ready must be"),
    ("invalid_field", _raw(_document(ready=None)), "ready must be"),
    ("invalid_field", _raw(_document(parts=[])), "parts must be"),
    ("invalid_field", _raw(_document(parts=[[]])), "parts must be"),
    ("invalid_field", _raw(_document(parts=["cod"])), "parts must be"),
    ("invalid_field", _raw(_document(parts="cod and chips")), "parts must be"),
    ("invalid_field", _raw(_document(parts=[["cod", 1]])), "parts must be"),
    ("invalid_field", _raw(_document(parts=None)), "parts must be"),
    ("invalid_field", _raw(_document(createdAt="yesterday")), "createdAt must be"),
    ("invalid_field", _raw(_document(createdAt="")), "createdAt must be"),
    ("invalid_field", _raw(_document(createdAt=1764072000)), "createdAt must be"),
    ("invalid_field", _raw(_document(createdAt=None)), "createdAt must be"),
    ("invalid_field", _raw(_document(servedAt="soon")), "servedAt must be"),
    ("invalid_field", _raw(_document(servedAt=None)), "servedAt must be"),
    ("unknown_item", _raw(_document(parts=[["cod", "haddock"]])), "haddock"),
    ("unknown_item", _raw(_document(parts=[["Cod"]])), "Cod"),
    ("unknown_item", _raw(_document(parts=[["chips"], ["mushy peas"]])), "mushy peas"),
]


@pytest.mark.parametrize(("reason", "raw", "detail"), BAD_INPUTS)
def test_bad_input_is_rejected(reason: str, raw: bytes | None, detail: str) -> None:
    result = parse_order(raw)
    assert isinstance(result, Rejection), result
    assert result.reason == reason
    assert result.reason in REJECTION_REASONS
    assert detail in result.detail
    assert result.detail


def test_every_rejection_reason_is_exercised() -> None:
    assert {reason for reason, _, _ in BAD_INPUTS} == set(REJECTION_REASONS)


REQUIRED = ["v", "id", "order", "till", "parts", "ready", "createdAt"]


@pytest.mark.parametrize("name", REQUIRED)
def test_each_required_field_removed_is_missing_field(name: str) -> None:
    result = parse_order(_without(name))
    assert result == Rejection("missing_field", f"missing {name}")


def test_several_missing_fields_are_all_named() -> None:
    document = _document()
    del document["till"], document["ready"]
    assert parse_order(_raw(document)) == Rejection("missing_field", "missing till, ready")


def test_several_invalid_fields_are_all_named() -> None:
    result = parse_order(_raw(_document(order=True, till=-3, parts=[], createdAt="x")))
    assert isinstance(result, Rejection)
    assert result.reason == "invalid_field"
    for name in ("order", "till", "parts", "createdAt"):
        assert name in result.detail


def test_size_is_checked_before_anything_else() -> None:
    # Not JSON and too large: refused unread, as oversized.
    result = parse_order(b"\xff" * (MAX_ORDER_BYTES + 1))
    assert isinstance(result, Rejection)
    assert result.reason == "oversized"


def test_version_is_checked_before_fields() -> None:
    document = _document(v=2)
    del document["id"]
    result = parse_order(_raw(document))
    assert isinstance(result, Rejection)
    assert result.reason == "unknown_version"


def test_unknown_items_are_listed_sorted_and_once() -> None:
    raw = _raw(_document(parts=[["whelks", "cod"], ["eels", "whelks"]]))
    assert parse_order(raw) == Rejection("unknown_item", "not on the menu: eels, whelks")


def test_deeply_nested_json_is_rejected_not_raised() -> None:
    result = parse_order(b"[" * 2000)
    assert isinstance(result, Rejection)
    assert result.reason == "not_json"


def test_boolean_schema_version_is_refused() -> None:
    result = parse_order(_raw(_document(v=True)))
    assert isinstance(result, Rejection)


def test_highest_number_is_per_till_and_ignores_bad_records() -> None:
    from fishshop_workers.shop.order import highest_number

    def record(till: int, number: int) -> bytes:
        return encode_order(
            Order(new_order_id(), number, till, (("cod", "chips"),), "2026-11-25T12:00:00.000Z")
        )

    values = [record(1, 5), record(2, 90), None, b"not json", record(1, 7), record(1, 6)]
    assert highest_number(values, 1) == 7
    assert highest_number(values, 2) == 90
    assert highest_number(values, 3) == 0
    assert highest_number([], 1) == 0


# ---------------------------------------------------------------- edges of the promise


@pytest.mark.parametrize(
    ("raw", "reason", "detail"),
    [
        (b'{"ready": false, "ready": true}', "invalid_field", "duplicate key ready"),
        (b'{"v": 1, "v": 1, "id": "a", "id": "b"}', "invalid_field", "duplicate key id, v"),
        (b'{"v": NaN}', "not_json", "NaN is not JSON"),
        (b'{"order": Infinity}', "not_json", "Infinity is not JSON"),
        (b'{"order": -Infinity}', "not_json", "-Infinity is not JSON"),
    ],
)
def test_json_that_readers_disagree_on_is_refused(raw: bytes, reason: str, detail: str) -> None:
    assert parse_order(raw) == Rejection(reason, detail)


def test_a_duplicate_key_deep_inside_is_refused_too() -> None:
    raw = encode_order(ORDER).replace(b'"parts":', b'"parts":[["cod"]],"parts":')
    assert parse_order(raw) == Rejection("invalid_field", "duplicate key parts")


@pytest.mark.parametrize("field", ["id", "preparedBy", "cookedBy"])
def test_a_lone_surrogate_is_refused_not_carried(field: str) -> None:
    document = _document(ready=True, cookedBy="cook-1", preparedBy="p")
    document[field] = "a\ud800b"
    raw = json.dumps(document).encode()  # JSON allows the escape; UTF-8 cannot carry it
    parsed = parse_order(raw)
    assert isinstance(parsed, Rejection)
    assert parsed.reason == "invalid_field"
    assert f"{field} must be a non-empty string" in parsed.detail


@pytest.mark.parametrize(
    ("field", "value"),
    [("order", 2**53), ("order", 10**300), ("till", 2**31), ("till", 10**40)],
)
def test_absurd_numbers_are_refused(field: str, value: int) -> None:
    parsed = parse_order(_raw(_document(**{field: value})))
    assert isinstance(parsed, Rejection)
    assert parsed.reason == "invalid_field"
    assert f"{field} must be a positive integer, at most" in parsed.detail


def test_the_largest_numbers_are_read() -> None:
    parsed = parse_order(_raw(_document(order=2**53 - 1, till=2**31 - 1)))
    assert isinstance(parsed, Order)
    assert (parsed.number, parsed.till) == (2**53 - 1, 2**31 - 1)


def test_ready_without_a_cook_is_refused() -> None:
    """A forged ready (or one slipped in through a duplicate key) never skips the cook."""
    parsed = parse_order(_raw(_document(ready=True)))
    assert parsed == Rejection(
        "invalid_field", "a ready order names the cook who made it ready (cookedBy)"
    )
    cooked = parse_order(_raw(_document(ready=True, cookedBy="harbour-cook-1")))
    assert isinstance(cooked, Order)
    assert cooked.ready


def test_non_ascii_ids_are_written_as_utf8_not_escapes() -> None:
    order = ORDER._replace(id="заказ-ß-🐟")
    raw = encode_order(order)
    assert "заказ-ß-🐟".encode() in raw
    assert b"\\u" not in raw
    assert parse_order(raw) == order
