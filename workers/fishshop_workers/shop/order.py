"""An order on the wire: its fields, how it is written, how it is read back.

Reading never raises on bad input: ``parse_order`` returns a ``Rejection`` whose
reason is one of ``REJECTION_REASONS``, which is what goes to the dead-letter
topic and into ``fishshop_records_rejected_total{reason}``.

Every worker reads and writes thousands of orders a second, so a record is first
decoded and checked in one pass by msgspec against the shape the shop writes; only a
record that fails there is read again, slowly, to say exactly what is wrong with it.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal, NamedTuple, TypeGuard, get_args

import msgspec

from fishshop_workers.shop.menu import MENU, Part, count_portions

__all__ = [
    "MAX_ORDER_BYTES",
    "MAX_ORDER_NUMBER",
    "MAX_TILL",
    "REJECTION_REASONS",
    "SCHEMA_VERSION",
    "Order",
    "Rejection",
    "encode_order",
    "format_time",
    "highest_number",
    "new_order_id",
    "parse_order",
    "parse_time",
]

SCHEMA_VERSION: Final = 1
MAX_ORDER_BYTES: Final = 16 * 1024
"""No honest order comes near this; anything larger is refused unread. Workers never
write a record above it either (see ``kitchen``), so the next reader can always read
what the shop wrote."""
MAX_ORDER_NUMBER: Final = 2**53 - 1
"""Customer numbers stay integers that every JSON reader holds exactly; a till that
reaches it starts again at 1, like a ticket roll."""
MAX_TILL: Final = 2**31 - 1

REJECTION_REASONS: Final = (
    "oversized",
    "not_json",
    "unknown_version",
    "missing_field",
    "invalid_field",
    "unknown_item",
)

# Compact, and an id in another script is written as UTF-8, as long as it came,
# instead of growing sixfold into \u escapes past what the next reader accepts.
_ENCODER = msgspec.json.Encoder()
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DIGIT_PAIRS = [high + low for high in _CROCKFORD for low in _CROCKFORD]


class Order(NamedTuple):
    """One customer's order.

    ``id`` is unique across the shop and across restarts; ``number`` is what the
    customer hears called out. ``ready`` is set by the cook once every cooked item
    is cooked. ``served_at`` and ``prepared_by`` are set when it is served.
    """

    id: str
    number: int
    till: int
    parts: tuple[Part, ...]
    created_at: str
    ready: bool = False
    served_at: str | None = None
    prepared_by: str | None = None
    cooked_by: str | None = None

    # Built whole rather than with _replace, which costs three times as much.
    def served(self, at: str, by: str) -> Order:
        return Order(
            self.id,
            self.number,
            self.till,
            self.parts,
            self.created_at,
            self.ready,
            at,
            by,
            self.cooked_by,
        )

    def cooked(self, by: str) -> Order:
        return Order(
            self.id,
            self.number,
            self.till,
            self.parts,
            self.created_at,
            True,
            self.served_at,
            self.prepared_by,
            by,
        )


class Rejection(NamedTuple):
    """Why a record is not an order."""

    reason: str
    detail: str


def new_order_id(now_ms: int | None = None, entropy: bytes | None = None) -> str:
    """A ULID: 48 bits of milliseconds then 80 random bits, in Crockford base32.

    Sortable by creation time and, with 80 random bits per millisecond, unique
    across tills and restarts without any coordination.
    """
    millis = int(time.time() * 1000) if now_ms is None else now_ms
    random_bits = int.from_bytes(entropy if entropy is not None else os.urandom(10))
    value = (millis << 80) | random_bits
    # 26 digits of 5 bits, read as 13 pairs of 10 bits (the top 2 bits are zero).
    return "".join([_DIGIT_PAIRS[(value >> shift) & 1023] for shift in range(120, -1, -10)])


def format_time(moment: datetime) -> str:
    """``2026-11-25T12:00:00.123Z``."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    # Tills and preparers stamp thousands of orders a second: reuse the seconds.
    global _last_second, _last_prefix
    second = moment.replace(microsecond=0)
    if second != _last_second:
        _last_second, _last_prefix = second, second.isoformat()[:-6]
    return f"{_last_prefix}.{moment.microsecond // 1000:03d}Z"


_last_second: datetime | None = None
_last_prefix = ""


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def encode_order(order: Order) -> bytes:
    document: dict[str, Any] = {
        "v": SCHEMA_VERSION,
        "id": order.id,
        "order": order.number,
        "till": order.till,
        "parts": order.parts,  # tuples are written as JSON arrays
        "ready": order.ready,
        "createdAt": order.created_at,
    }
    if order.cooked_by is not None:
        document["cookedBy"] = order.cooked_by
    if order.served_at is not None:
        document["servedAt"] = order.served_at
        # The receipt counts what was served, for readers that want columns.
        document["portions"] = count_portions(order.parts)
    if order.prepared_by is not None:
        document["preparedBy"] = order.prepared_by
    return _ENCODER.encode(document)


_REQUIRED = ("v", "id", "order", "till", "parts", "ready", "createdAt")


def parse_order(raw: bytes | None) -> Order | Rejection:
    """Read one record's value as an order, or say why it is not one."""
    if raw is None:
        return Rejection("missing_field", "the record has no value")
    if len(raw) > MAX_ORDER_BYTES:
        return Rejection("oversized", f"{len(raw)} bytes, limit {MAX_ORDER_BYTES}")
    order = _read_plain(raw)
    if order is not None:
        return order
    return _read_carefully(raw)


_Text = Annotated[str, msgspec.Meta(min_length=1)]
_Item = Literal["chips", "cod", "plaice"]
if frozenset(get_args(_Item)) != MENU:
    raise ImportError("the wire's items and the menu differ")


class _Wire(msgspec.Struct, rename="camel", gc=False):
    """An order as the shop writes it: what msgspec checks while it decodes."""

    v: Literal[1]
    id: _Text
    order: Annotated[int, msgspec.Meta(ge=1, le=MAX_ORDER_NUMBER)]
    till: Annotated[int, msgspec.Meta(ge=1, le=MAX_TILL)]
    parts: Annotated[
        tuple[Annotated[tuple[_Item, ...], msgspec.Meta(min_length=1)], ...],
        msgspec.Meta(min_length=1),
    ]
    ready: bool
    created_at: _Text
    cooked_by: _Text | msgspec.UnsetType = msgspec.UNSET
    served_at: _Text | msgspec.UnsetType = msgspec.UNSET
    prepared_by: _Text | msgspec.UnsetType = msgspec.UNSET


_WIRE = msgspec.json.Decoder(_Wire)


def _read_plain(raw: bytes) -> Order | None:
    """The order, if ``raw`` is one written plainly; None: read it carefully instead.

    msgspec lets a repeated key's last value win, so a record with a duplicate key
    must not pass here. Without a backslash every quote in ``raw`` opens or closes a
    string, and counting the strings decoded (keys, texts, items) finds any key that
    was repeated, unknown, or decoded away. Escapes (and so lone surrogates) go the
    careful way.
    """
    if b"\\" in raw:
        return None
    try:
        wire = _WIRE.decode(raw)
    except (msgspec.DecodeError, ValueError, RecursionError):
        return None
    cooked_by = None if wire.cooked_by is msgspec.UNSET else wire.cooked_by
    served_at = None if wire.served_at is msgspec.UNSET else wire.served_at
    prepared_by = None if wire.prepared_by is msgspec.UNSET else wire.prepared_by
    stamps = (cooked_by is not None) + (served_at is not None) + (prepared_by is not None)
    keys = 7 + stamps
    texts = 2 + stamps + sum(map(len, wire.parts))
    if raw.count(b'"') != 2 * (keys + texts):
        return None
    if wire.ready and cooked_by is None:
        return None
    if not _is_time(wire.created_at) or (served_at is not None and not _is_time(served_at)):
        return None
    return Order(
        wire.id,
        wire.order,
        wire.till,
        wire.parts,
        wire.created_at,
        wire.ready,
        served_at,
        prepared_by,
        cooked_by,
    )


def _read_carefully(raw: bytes) -> Order | Rejection:
    """Read ``raw`` with the standard library, naming every problem it has."""
    try:
        document = json.loads(
            raw.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constants
        )
    except _DuplicateKey as duplicate:
        return Rejection("invalid_field", str(duplicate))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        return Rejection("not_json", str(error)[:200] or type(error).__name__)
    if not isinstance(document, dict):
        return Rejection("not_json", "the record is JSON but not an object")
    version = document.get("v", SCHEMA_VERSION)
    if isinstance(version, bool) or version != SCHEMA_VERSION:
        return Rejection("unknown_version", f"schema version {version!r}")
    missing = [name for name in _REQUIRED if name not in document]
    if missing:
        return Rejection("missing_field", "missing " + ", ".join(missing))
    return _validate(document)


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Refuse ``{"ready": false, "ready": true}``: readers disagree on which one wins."""
    document = dict(pairs)
    if len(document) != len(pairs):
        counts = Counter(key for key, _ in pairs)
        twice = sorted(key for key, count in counts.items() if count > 1)
        raise _DuplicateKey("duplicate key " + ", ".join(twice)[:200])
    return document


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _positive_int(value: object, highest: int) -> bool:
    return type(value) is int and 1 <= value <= highest


def _text(value: object) -> TypeGuard[str]:
    """A non-empty string that UTF-8 can carry (JSON allows lone surrogates; UTF-8 not)."""
    if type(value) is not str or not value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _items(parts: object) -> tuple[Part, ...] | None:
    """Parts as tuples of item names, or None if they are not lists of strings."""
    if type(parts) is not list or not parts:
        return None
    result = []
    for part in parts:
        if type(part) is not list or not part:
            return None
        for item in part:
            if type(item) is not str:
                return None
        result.append(tuple(part))
    return tuple(result)


def _validate(document: dict[str, Any]) -> Order | Rejection:
    problems = []
    order_id = document["id"]
    if not _text(order_id):
        problems.append("id must be a non-empty string")
    if not _positive_int(document["order"], MAX_ORDER_NUMBER):
        problems.append(f"order must be a positive integer, at most {MAX_ORDER_NUMBER}")
    if not _positive_int(document["till"], MAX_TILL):
        problems.append(f"till must be a positive integer, at most {MAX_TILL}")
    ready = document["ready"]
    if type(ready) is not bool:
        problems.append("ready must be true or false")
    for name in ("preparedBy", "cookedBy"):
        if name in document and not _text(document[name]):
            problems.append(f"{name} must be a non-empty string")
    if ready is True and "cookedBy" not in document:
        problems.append("a ready order names the cook who made it ready (cookedBy)")
    created_at = document["createdAt"]
    if not _text(created_at) or not _is_time(created_at):
        problems.append("createdAt must be an ISO 8601 time")
    served_at = document.get("servedAt")
    if "servedAt" in document and not (_text(served_at) and _is_time(served_at)):
        problems.append("servedAt must be an ISO 8601 time")
    parts = _items(document["parts"])
    if parts is None:
        problems.append("parts must be a non-empty list of non-empty lists of items")
    if problems or parts is None:
        return Rejection("invalid_field", "; ".join(problems))
    for part in parts:
        for item in part:
            if item not in MENU:
                unknown = sorted({i for p in parts for i in p} - MENU)
                return Rejection("unknown_item", "not on the menu: " + ", ".join(unknown))
    return Order(
        order_id,
        document["order"],
        document["till"],
        parts,
        created_at,
        document["ready"],
        served_at,
        document.get("preparedBy"),
        document.get("cookedBy"),
    )


def highest_number(values: Iterable[bytes | None], till: int) -> int:
    """The highest customer number that ``till`` has called among these records
    (0 if none), so a restarted till carries on counting instead of starting at 1."""
    highest = 0
    for value in values:
        order = parse_order(value)
        if isinstance(order, Order) and order.till == till and order.number > highest:
            highest = order.number
    return highest


def _is_time(text: str) -> bool:
    """An ISO 8601 date and time with its offset: ``2026-11-25T12:00:00.123Z``."""
    if "T" not in text:
        return False
    try:
        moment = parse_time(text)
    except ValueError:
        return False
    return moment.tzinfo is not None
