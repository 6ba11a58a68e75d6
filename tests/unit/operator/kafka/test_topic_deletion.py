"""Unit tests for how a DeleteTopics answer is read: Kafka answers each topic with its
own error code, and the operator must never take a refusal for a deletion."""

from __future__ import annotations

import pytest
from aiokafka.errors import (
    RequestTimedOutError,
    TopicAuthorizationFailedError,
    UnknownTopicOrPartitionError,
)

from fishshop_workers.kafka.admin import TopicDeletionError, _raise_deletion_refusals


def test_every_topic_deleted() -> None:
    _raise_deletion_refusals([("p.orders", 0), ("p.cook", 0)])


def test_a_topic_already_gone_is_deleted() -> None:
    _raise_deletion_refusals([("p.orders", 0), ("p.cook", UnknownTopicOrPartitionError.errno)])


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (73, "TopicDeletionDisabled (the broker has delete.topic.enable=false)"),
        (TopicAuthorizationFailedError.errno, "TopicAuthorizationFailedError (error code 29)"),
        (RequestTimedOutError.errno, "RequestTimedOutError (error code 7)"),
    ],
)
def test_a_refusal_names_the_topic_and_kafkas_reason(code: int, reason: str) -> None:
    with pytest.raises(TopicDeletionError) as refused:
        _raise_deletion_refusals([("p.orders", 0), ("p.cook", code)])
    assert str(refused.value) == f"Kafka refused to delete topics: p.cook: {reason}"


def test_every_refusal_is_listed() -> None:
    code = 73
    with pytest.raises(TopicDeletionError, match=r"p\.orders: .*; p\.served: "):
        _raise_deletion_refusals([("p.orders", code), ("p.cook", 0), ("p.served", code)])
