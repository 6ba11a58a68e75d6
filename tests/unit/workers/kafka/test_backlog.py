"""Unit tests for fishshop_workers.kafka.backlog: what a worker holds and what it counts."""

from __future__ import annotations

from typing import NamedTuple

import pytest

from fishshop_workers.kafka.backlog import (
    Backlog,
    first_waiting,
    read_to_the_end,
    records_waiting,
)


class Rec(NamedTuple):
    offset: int


def _recs(*offsets: int) -> list[Rec]:
    return [Rec(o) for o in offsets]


def _offsets(batch: list[Rec]) -> list[int]:
    return [r.offset for r in batch]


def test_an_idle_transactional_partition_waits_for_nothing() -> None:
    # Orders 0-2 and 4-5, markers at 3 and 6: the consumer read past both.
    assert records_waiting(held=0, end=7, position=7) == 0


def test_held_records_are_counted_one_each_whatever_their_offsets() -> None:
    # Records 4 and 5 held; the marker at 6 was read past while fetching them.
    assert records_waiting(held=2, end=7, position=7) == 2


def test_offsets_not_yet_fetched_count_as_they_are() -> None:
    assert records_waiting(held=3, end=20, position=10) == 13


def test_a_stale_end_behind_the_position_adds_nothing() -> None:
    assert records_waiting(held=1, end=5, position=9) == 1


def test_an_unknown_end_or_position_reports_nothing() -> None:
    assert records_waiting(held=0, end=None, position=3) is None
    assert records_waiting(held=0, end=3, position=None) is None


def test_a_reader_counts_what_it_read_and_the_offsets_it_did_not() -> None:
    # A queue count cut short: 12 records counted, offsets 40 to 49 never read.
    assert records_waiting(held=12, end=50, position=40) == 22


def test_what_waits_starts_at_the_committed_offset_or_the_beginning() -> None:
    assert first_waiting(committed=30, beginning=10) == 30
    assert first_waiting(committed=None, beginning=10) == 10  # the group took nothing
    assert first_waiting(committed=4, beginning=10) == 10  # the log let it go


@pytest.mark.parametrize(
    ("position", "end", "quiet", "done"),
    [
        (10, 10, 0.0, True),  # at the end
        (9, 10, 0.1, False),  # one short: a fetch may still be in flight
        (9, 10, 2.0, True),  # one short and quiet: what is left is a marker
        (8, 10, 9.0, False),  # two short: records are missing, not a marker
    ],
)
def test_a_reader_is_done_at_the_end_or_one_marker_short_of_it(
    position: int, end: int, quiet: float, done: bool
) -> None:
    assert read_to_the_end(position, end, quiet, marker_patience=1.2) is done


def test_take_hands_out_oldest_first_up_to_the_limit() -> None:
    backlog: Backlog[str, Rec] = Backlog(limit=100)
    backlog.add("p0", _recs(0, 1, 2, 4, 5))
    batches = backlog.take(3, {"p0": 0})
    assert {p: _offsets(b) for p, b in batches.items()} == {"p0": [0, 1, 2]}
    assert backlog.held("p0") == 2
    assert _offsets(backlog.take(10, {"p0": 3})["p0"]) == [4, 5]
    assert backlog.held("p0") == 0
    assert backlog.take(10, {"p0": 6}) == {}


def test_take_lets_go_of_records_already_handled() -> None:
    backlog: Backlog[str, Rec] = Backlog(limit=100)
    backlog.add("p0", _recs(3, 4, 5, 6))
    assert _offsets(backlog.take(10, {"p0": 5})["p0"]) == [5, 6]
    assert len(backlog) == 0


def test_take_serves_only_partitions_it_is_told_of() -> None:
    backlog: Backlog[str, Rec] = Backlog(limit=100)
    backlog.add("p0", _recs(0))
    backlog.add("p1", _recs(0))
    assert set(backlog.take(10, {"p1": 0})) == {"p1"}
    assert backlog.held("p0") == 1


def test_take_counts_the_limit_across_partitions_and_takes_turns() -> None:
    backlog: Backlog[str, Rec] = Backlog(limit=100)
    backlog.add("p0", _recs(*range(10)))
    backlog.add("p1", _recs(*range(10)))
    since = {"p0": 0, "p1": 0}
    first = backlog.take(4, since)
    second = backlog.take(4, since)
    assert sum(map(len, first.values())) == 4
    assert sum(map(len, second.values())) == 4
    # A deep partition cannot keep the other waiting: each is served first in turn.
    assert list(first) != list(second)
    assert set(first) | set(second) == {"p0", "p1"}


def test_full_drop_and_clear() -> None:
    backlog: Backlog[str, Rec] = Backlog(limit=3)
    backlog.add("p0", _recs(0, 1))
    assert not backlog.full("p0")
    backlog.add("p0", _recs(2))
    assert backlog.full("p0")
    backlog.add("p1", _recs(0))
    backlog.drop("p0")
    assert backlog.held("p0") == 0
    assert len(backlog) == 1
    backlog.clear()
    assert len(backlog) == 0


def test_a_backlog_holds_at_least_one_record() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Backlog[str, Rec](limit=0)
