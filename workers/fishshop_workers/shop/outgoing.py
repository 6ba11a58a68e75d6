"""Records a worker decides to write, and the dead-letter record for bad input."""

from __future__ import annotations

from typing import NamedTuple

from fishshop_workers.shop.order import Rejection

__all__ = ["DEAD_LETTER_KEY_BYTES", "DEAD_LETTER_VALUE_BYTES", "Outgoing", "dead_letter"]

DEAD_LETTER_VALUE_BYTES = 64 * 1024
"""A dead letter keeps at most this much of the bad record's value (four times the
largest order any worker reads). A record near Kafka's size limit could not be copied
whole with its headers: the transaction would fail, the record be read again, and the
worker never get past it. ``fishshop-original-bytes`` says how large it was."""
DEAD_LETTER_KEY_BYTES = 1024


class Outgoing(NamedTuple):
    """One record to produce inside the worker's transaction.

    ``event`` says what it means for the shop (``served``, ``to_cook``,
    ``cooked``, ``rejected``) so metrics are counted once the transaction commits.
    """

    topic: str
    value: bytes
    key: bytes | None
    event: str
    partition: int | None = None
    headers: tuple[tuple[str, bytes], ...] = ()
    reason: str | None = None
    wait_seconds: float | None = None


def dead_letter(
    dlq_topic: str,
    rejection: Rejection,
    value: bytes | None,
    key: bytes | None,
    source_topic: str,
    source_partition: int,
    source_offset: int,
) -> Outgoing:
    """The bad record, unchanged unless it is huge, with why it was refused and where
    it came from."""
    value = value if value is not None else b""
    headers = [
        ("fishshop-reason", rejection.reason.encode()),
        # The detail may quote the bad input: never let it fail to encode.
        ("fishshop-detail", rejection.detail.encode(errors="backslashreplace")[:1000]),
        ("fishshop-source-topic", source_topic.encode()),
        ("fishshop-source-partition", str(source_partition).encode()),
        ("fishshop-source-offset", str(source_offset).encode()),
    ]
    if len(value) > DEAD_LETTER_VALUE_BYTES:
        headers.append(("fishshop-original-bytes", str(len(value)).encode()))
        value = value[:DEAD_LETTER_VALUE_BYTES]
    if key is not None and len(key) > DEAD_LETTER_KEY_BYTES:
        headers.append(("fishshop-original-key-bytes", str(len(key)).encode()))
        key = key[:DEAD_LETTER_KEY_BYTES]
    return Outgoing(
        topic=dlq_topic,
        value=value,
        key=key,
        event="rejected",
        reason=rejection.reason,
        headers=tuple(headers),
    )
