"""Records a worker has fetched and not yet handled, and how many still wait.

Kafka's offsets also number the markers that end transactions (and the records of
aborted ones), so an end offset minus a position is not a count of orders: an idle
transactional topic would show one waiting per transaction. The consumer skips
markers as it reads, so once a worker has taken in everything up to the partition's
end, the records it holds are exactly the ones waiting. The worker therefore takes
in all that its consumer has fetched, holds it here and hands it out batch by
batch; the count costs no read that the work does not do anyway.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable
from typing import Generic, Protocol, TypeVar, overload

__all__ = ["Backlog", "HasOffset", "first_waiting", "read_to_the_end", "records_waiting"]


class HasOffset(Protocol):
    @property
    def offset(self) -> int: ...


P = TypeVar("P", bound=Hashable)
R = TypeVar("R", bound=HasOffset)


@overload
def records_waiting(held: int, end: int, position: int) -> int: ...


@overload
def records_waiting(held: int, end: int | None, position: int | None) -> int | None: ...


def records_waiting(held: int, end: int | None, position: int | None) -> int | None:
    """Records of a partition not yet handled, or None while its end is unknown.

    ``held`` are read and counted one by one (fetched and waiting in a worker, or
    counted by a reader of the queue); ``end`` is the last stable offset (what
    ``read_committed`` may read up to); ``position`` the next offset to read. Past
    the position only offsets are known, so any marker among them still counts
    until the reader gets that far. The one rule for what waits: the workers' lag,
    the operator's status and autoscaler, and the live view all count by it.
    """
    if end is None or position is None:
        return None
    return held + max(0, end - position)


def first_waiting(committed: int | None, beginning: int) -> int:
    """The first offset of a partition that waits for a group: its committed offset,
    or the partition's beginning when the group has none (nobody has taken anything
    from it yet) or the log no longer holds it."""
    return committed if committed is not None and committed >= beginning else beginning


def read_to_the_end(position: int, end: int, quiet: float, marker_patience: float) -> bool:
    """Whether a reader at ``position`` has read every record before ``end``.

    One offset short of the end with nothing fetched for ``quiet`` seconds (longer
    than ``marker_patience``, itself longer than a fetch's long poll): what is left
    is a transaction marker, not a record. A fetch merely still in flight waits.
    """
    return position >= end or (position >= end - 1 and quiet > marker_patience)


class Backlog(Generic[P, R]):
    """Per partition, the records fetched in offset order and not yet handed out.

    ``limit`` bounds what one partition holds: a worker far behind stops fetching
    that partition (the caller pauses it) instead of filling its memory.
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"a backlog holds at least one record, not {limit}")
        self.limit = limit
        self._held: dict[P, deque[R]] = {}
        self._turn = 0

    def add(self, partition: P, records: Iterable[R]) -> None:
        self._held.setdefault(partition, deque()).extend(records)

    def held(self, partition: P) -> int:
        waiting = self._held.get(partition)
        return len(waiting) if waiting is not None else 0

    def __len__(self) -> int:
        return sum(len(waiting) for waiting in self._held.values())

    def full(self, partition: P) -> bool:
        return self.held(partition) >= self.limit

    def drop(self, partition: P) -> None:
        """Forget a partition: it moved away, or its consumer read from elsewhere."""
        self._held.pop(partition, None)

    def clear(self) -> None:
        self._held.clear()

    def take(self, most: int, since: dict[P, int]) -> dict[P, list[R]]:
        """Up to ``most`` records in all, oldest first within each partition.

        Only partitions in ``since`` are served, from the offset it gives on: older
        records were handled already (a batch read again after the consumer moved
        back) and are let go. The partition served first changes every call, so a
        deep partition cannot starve the others.
        """
        batches: dict[P, list[R]] = {}
        order = [p for p in self._held if p in since]
        if not order:
            return batches
        self._turn = (self._turn + 1) % len(order)
        budget = most
        for partition in order[self._turn :] + order[: self._turn]:
            if budget <= 0:
                break
            waiting = self._held[partition]
            start = since[partition]
            while waiting and waiting[0].offset < start:
                waiting.popleft()
            batch = [waiting.popleft() for _ in range(min(budget, len(waiting)))]
            if batch:
                batches[partition] = batch
                budget -= len(batch)
        return batches
