"""An order on the wire: its fields, how it is written, how it is read back.

Reading never raises on bad input: ``parse_order`` returns a ``Rejection`` whose
reason is one of ``REJECTION_REASONS``, which is what goes to the dead-letter
topic and into ``fishshop_records_rejected_total{reason}``.
"""

from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Final

from fishshop_workers.menu import MENU, Part

__all__ = [
    "MAX_ORDER_BYTES",
    "REJECTION_REASONS",
    "SCHEMA_VERSION",
    "Order",
    "Rejection",
    "encode_order",
    "format_time",
    "new_order_id",
    "parse_order",
    "parse_time",
]

SCHEMA_VERSION: Final = 1
MAX_ORDER_BYTES: Final = 16 * 1024
"""No honest order comes near this; anything larger is refused unread."""

REJECTION_REASONS: Final = (
    "oversized",
    "not_json",
    "unknown_version",
    "missing_field",
    "invalid_field",
    "unknown_item",
)

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_FROM_RFC4648 = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _CROCKFORD)


@dataclass(frozen=True)
class Order:
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

    def served(self, at: str, by: str) -> Order:
        return replace(self, served_at=at, prepared_by=by)

    def cooked(self, by: str) -> Order:
        return replace(self, ready=True, cooked_by=by)


@dataclass(frozen=True)
class Rejection:
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
    # 2 zero bits, the 128-bit value, 6 padding bits: base32 then reads 26 digits.
    digits = base64.b32encode((value << 6).to_bytes(17, "big"))[:26]
    return digits.decode().translate(_FROM_RFC4648)


def format_time(moment: datetime) -> str:
    """``2026-11-25T12:00:00.123Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def encode_order(order: Order) -> bytes:
    document: dict[str, Any] = {
        "v": SCHEMA_VERSION,
        "id": order.id,
        "order": order.number,
        "till": order.till,
        "parts": [list(part) for part in order.parts],
        "ready": order.ready,
        "createdAt": order.created_at,
    }
    if order.cooked_by is not None:
        document["cookedBy"] = order.cooked_by
    if order.served_at is not None:
        document["servedAt"] = order.served_at
    if order.prepared_by is not None:
        document["preparedBy"] = order.prepared_by
    return json.dumps(document, separators=(",", ":")).encode()


_REQUIRED = ("v", "id", "order", "till", "parts", "ready", "createdAt")


def parse_order(raw: bytes | None) -> Order | Rejection:
    """Read one record's value as an order, or say why it is not one."""
    if raw is None:
        return Rejection("missing_field", "the record has no value")
    if len(raw) > MAX_ORDER_BYTES:
        return Rejection("oversized", f"{len(raw)} bytes, limit {MAX_ORDER_BYTES}")
    try:
        document = json.loads(raw.decode("utf-8"))
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


def _validate(document: dict[str, Any]) -> Order | Rejection:
    problems = []
    if not isinstance(document["id"], str) or not document["id"]:
        problems.append("id must be a non-empty string")
    for name in ("order", "till"):
        value = document[name]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            problems.append(f"{name} must be a positive integer")
    if not isinstance(document["ready"], bool):
        problems.append("ready must be true or false")
    created_at = document["createdAt"]
    if not isinstance(created_at, str) or not _is_time(created_at):
        problems.append("createdAt must be an ISO 8601 time")
    for name in ("servedAt",):
        if name in document and not (isinstance(document[name], str) and _is_time(document[name])):
            problems.append(f"{name} must be an ISO 8601 time")
    parts = document["parts"]
    if (
        not isinstance(parts, list)
        or not parts
        or not all(
            isinstance(part, list) and part and all(isinstance(i, str) for i in part)
            for part in parts
        )
    ):
        problems.append("parts must be a non-empty list of non-empty lists of items")
    if problems:
        return Rejection("invalid_field", "; ".join(problems))
    unknown = sorted({item for part in parts for item in part} - MENU)
    if unknown:
        return Rejection("unknown_item", "not on the menu: " + ", ".join(unknown))
    return Order(
        id=document["id"],
        number=document["order"],
        till=document["till"],
        parts=tuple(tuple(part) for part in parts),
        created_at=created_at,
        ready=document["ready"],
        served_at=document.get("servedAt"),
        prepared_by=_optional_str(document.get("preparedBy")),
        cooked_by=_optional_str(document.get("cookedBy")),
    )


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _is_time(text: str) -> bool:
    """An ISO 8601 date and time with its offset: ``2026-11-25T12:00:00.123Z``."""
    if "T" not in text:
        return False
    try:
        moment = parse_time(text)
    except ValueError:
        return False
    return moment.tzinfo is not None
