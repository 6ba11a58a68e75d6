"""parse_order's one-pass reading (msgspec) never accepts what the careful reading
refuses, and accepts the same order when both accept."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from fishshop_workers.shop.order import (
    Order,
    _read_carefully,
    _read_plain,
    encode_order,
    parse_order,
)

ORDER = Order("01JDQ5X3Y8ZK4M2N6P7R9S0T1V", 42, 2, (("cod", "chips"),), "2026-11-25T12:00:00.123Z")

_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=2**54),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "x", "cod", "chips", "plaice", "2026-11-25T12:00:00.123Z", "ready"]),
    st.text(max_size=8),
    st.lists(st.lists(st.sampled_from(["cod", "chips", "plaice", "haddock", ""]), max_size=3)),
)
_WRITTEN = ["v", "id", "order", "till", "parts", "ready", "createdAt"]
_keys = st.sampled_from([*_WRITTEN, "cookedBy", "servedAt", "preparedBy", "portions", "other"])


def _document(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(encode_order(ORDER))
    document.update(changes)
    return document


@settings(max_examples=400, deadline=None)
@given(changes=st.dictionaries(_keys, _values, max_size=4), drop=st.sets(_keys, max_size=2))
def test_the_plain_reading_agrees_with_the_careful_one(
    changes: dict[str, Any], drop: set[str]
) -> None:
    document = _document(**changes)
    for name in drop:
        document.pop(name, None)
    for raw in (json.dumps(document).encode(), encode_order(ORDER)[:-1] + b"}"):
        plain = _read_plain(raw)
        if plain is not None:
            assert _read_carefully(raw) == plain


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(_WRITTEN), value=_values, spaced=st.booleans())
def test_a_repeated_key_is_never_read_plainly(name: str, value: Any, spaced: bool) -> None:
    raw = encode_order(ORDER)
    colon = b'" :' if spaced else b'":'
    repeated = raw[:-1] + b',"' + name.encode() + colon + json.dumps(value).encode() + b"}"
    assert _read_plain(repeated) is None
    assert (
        _read_plain(b'{"' + name.encode() + colon + json.dumps(value).encode() + b"," + raw[1:])
        is None
    )


def test_an_escaped_repeat_is_never_read_plainly() -> None:
    forged = encode_order(ORDER)[:-1] + b',"re\\u0061dy":true,"cookedBy":"x"}'
    assert _read_plain(forged) is None
    assert parse_order(forged) == parse_order(forged)  # the careful reading decides
    assert not isinstance(parse_order(forged), Order)


def test_what_the_shop_writes_is_read_plainly() -> None:
    done = ORDER.cooked("cook-1").served("2026-11-25T12:00:09.876Z", "preparer-1")
    for order in (ORDER, ORDER.cooked("cook-1"), done._replace(id="заказ-ß-🐟")):
        raw = encode_order(order)
        if order.served_at is None:
            assert _read_plain(raw) == order
    # A served record carries its portions: read carefully, still the same order.
    assert parse_order(encode_order(done)) == done
