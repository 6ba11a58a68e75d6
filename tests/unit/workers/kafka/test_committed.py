"""Reading an OffsetFetch answer: -1 means "no offset" only when nothing went wrong."""

from __future__ import annotations

import pytest
from aiokafka import errors as kafka_errors
from aiokafka.protocol.commit import OffsetFetchResponse_v1, OffsetFetchResponse_v3
from aiokafka.structs import TopicPartition

from fishshop_workers.kafka.committed import OffsetFetchError, read_offset

TP = TopicPartition("fishshop.harbour.orders", 2)


def _v3(offset: int, partition_error: int = 0, group_error: int = 0) -> object:
    topics = [(TP.topic, [(1, 99, "", 0), (TP.partition, offset, "", partition_error)])]
    return OffsetFetchResponse_v3(throttle_time_ms=0, topics=topics, error_code=group_error)


def test_an_offset_is_read_for_its_own_partition() -> None:
    assert read_offset(_v3(42), TP) == 42


def test_minus_one_without_errors_means_no_offset() -> None:
    assert read_offset(_v3(-1), TP) is None


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (14, kafka_errors.GroupLoadInProgressError),
        (15, kafka_errors.GroupCoordinatorNotAvailableError),
        (16, kafka_errors.NotCoordinatorForGroupError),
        (30, kafka_errors.GroupAuthorizationFailedError),
    ],
)
def test_a_group_level_error_is_raised_not_read_as_no_offset(
    code: int, error: type[Exception]
) -> None:
    with pytest.raises(error):
        read_offset(_v3(-1, group_error=code), TP)


def test_a_partition_level_error_is_raised() -> None:
    with pytest.raises(kafka_errors.UnknownTopicOrPartitionError):
        read_offset(_v3(-1, partition_error=3), TP)


def test_older_answers_without_a_group_error_field_still_read() -> None:
    answer = OffsetFetchResponse_v1(topics=[(TP.topic, [(TP.partition, 7, "", 0)])])
    assert read_offset(answer, TP) == 7


def test_an_answer_that_leaves_the_partition_out_is_an_error() -> None:
    answer = OffsetFetchResponse_v3(throttle_time_ms=0, topics=[], error_code=0)
    with pytest.raises(OffsetFetchError, match=r"did not answer for .*orders\[2\]"):
        read_offset(answer, TP)
