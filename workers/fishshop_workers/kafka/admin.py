"""Create and grow a shop's topics in Kafka. Idempotent: safe to call again."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, UnknownTopicOrPartitionError, for_code

from fishshop_workers.errors import ServiceError
from fishshop_workers.kafka.settings import KafkaSettings
from fishshop_workers.shop.topics import (
    ShopTopics,
    TopicPlan,
    desired_partitions,
    plan_topics,
)

__all__ = [
    "TopicCreationError",
    "TopicDeletionError",
    "delete_topics",
    "describe_partitions",
    "ensure_topics",
]

log = logging.getLogger(__name__)


async def describe_partitions(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, int]:
    """Partitions of each named topic that exists."""
    existing = set(await admin.list_topics())
    present = [name for name in names if name in existing]
    if not present:
        return {}
    described = await admin.describe_topics(present)
    return {item["topic"]: len(item["partitions"]) for item in described}


async def ensure_topics(
    settings: KafkaSettings,
    topics: ShopTopics,
    partitions: int,
    replication_factor: int = -1,
) -> TopicPlan:
    """Make the shop's topics exist with at least ``partitions`` partitions.

    Raises ``PartitionDecreaseError`` when a topic already has more partitions
    than asked for. ``replication_factor`` -1 takes the broker's default.
    """
    admin = AIOKafkaAdminClient(**settings.client_options())
    await admin.start()
    try:
        desired = desired_partitions(topics, partitions)
        existing = await describe_partitions(admin, list(desired))
        plan = plan_topics(desired, existing)
        if plan.create:
            # aiokafka accepts the broker's default factor (-1) only beside an
            # explicit, empty replica assignment.
            assignments: dict[int, list[int]] | None = {} if replication_factor == -1 else None
            new = [
                NewTopic(name, count, replication_factor, assignments)
                for name, count in plan.create.items()
            ]
            response = await admin.create_topics(new)
            _raise_refusals(response.topic_errors)
            log.info("created topics %s", plan.create)
        if plan.grow:
            await admin.create_partitions(
                {name: NewPartitions(count) for name, count in plan.grow.items()}
            )
            log.info("grew topics %s", plan.grow)
        await _wait_visible(admin, desired)
        return plan
    finally:
        await admin.close()


ALREADY_EXISTS = TopicAlreadyExistsError.errno


class TopicCreationError(ServiceError, RuntimeError):
    """Kafka refused to create a topic; the message carries Kafka's reason."""


def _raise_refusals(topic_errors: list[tuple[object, ...]]) -> None:
    """Per-topic errors come back in the response, not as exceptions."""
    refused = []
    for name, code, *message in topic_errors:
        if code not in (0, ALREADY_EXISTS):  # another creator winning the race is fine
            reason = message[0] if message and message[0] else f"error code {code}"
            refused.append(f"{name}: {reason}")
    if refused:
        raise TopicCreationError("Kafka refused to create topics: " + "; ".join(refused))


async def _wait_visible(
    admin: AIOKafkaAdminClient, desired: dict[str, int], patience: float = 30.0
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    while True:
        existing = await describe_partitions(admin, list(desired))
        if all(existing.get(name, 0) >= want for name, want in desired.items()):
            return
        if loop.time() > deadline:
            raise TimeoutError(f"topics not visible after {patience}s: {desired}")
        await asyncio.sleep(0.2)


class TopicDeletionError(ServiceError, RuntimeError):
    """Kafka refused to delete a topic; the message carries Kafka's reason."""


ALREADY_GONE = UnknownTopicOrPartitionError.errno
TOPIC_DELETION_DISABLED = 73
"""aiokafka has no class for this code: the broker runs with delete.topic.enable=false."""


def _deletion_refusal(code: int) -> str:
    if code == TOPIC_DELETION_DISABLED:
        return "TopicDeletionDisabled (the broker has delete.topic.enable=false)"
    return f"{for_code(code).__name__} (error code {code})"


def _raise_deletion_refusals(topic_errors: list[tuple[str, int]]) -> None:
    """DeleteTopics answers each topic with its own error code, never as an exception."""
    refused = [
        f"{name}: {_deletion_refusal(code)}"
        for name, code in topic_errors
        if code not in (0, ALREADY_GONE)  # deleted by someone else meanwhile is fine
    ]
    if refused:
        raise TopicDeletionError("Kafka refused to delete topics: " + "; ".join(refused))


async def delete_topics(
    settings: KafkaSettings, topics: ShopTopics, also: Sequence[str] = ()
) -> list[str]:
    """Delete the shop's topics that exist, and those of ``also`` (other topics of
    the shop, such as the analyst's dead-letter topic); returns their names.

    Raises ``TopicDeletionError`` when Kafka refuses any of them (deletion disabled,
    not authorised, timed out), so that a caller never takes a refusal for success.
    """
    admin = AIOKafkaAdminClient(**settings.client_options())
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        doomed = [name for name in (*topics, *also) if name in existing]
        if doomed:
            response = await admin.delete_topics(doomed)
            _raise_deletion_refusals(response.topic_error_codes)
        return doomed
    finally:
        await admin.close()
