"""Records a worker decides to write, and the dead-letter record for bad input."""

from __future__ import annotations

from typing import NamedTuple

from fishshop_workers.order import Rejection

__all__ = ["Outgoing", "dead_letter"]


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
    """The bad record, unchanged, with why it was refused and where it came from."""
    return Outgoing(
        topic=dlq_topic,
        value=value if value is not None else b"",
        key=key,
        event="rejected",
        reason=rejection.reason,
        headers=(
            ("fishshop-reason", rejection.reason.encode()),
            # The detail may quote the bad input: never let it fail to encode.
            ("fishshop-detail", rejection.detail.encode(errors="backslashreplace")[:1000]),
            ("fishshop-source-topic", source_topic.encode()),
            ("fishshop-source-partition", str(source_partition).encode()),
            ("fishshop-source-offset", str(source_offset).encode()),
        ),
    )
