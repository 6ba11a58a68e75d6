"""Read a consumer group's committed offset, and never mistake an error for "none".

aiokafka 0.14's ``consumer.committed()`` reads only the per-partition error codes of
an OffsetFetch answer. From version 2 on, Kafka reports group-level trouble
(``NOT_COORDINATOR``, ``COORDINATOR_LOAD_IN_PROGRESS``: a broker restart or a
coordinator moving in a multi-broker cluster) in a top-level error code instead, with
every partition's offset set to -1. Read that way, "the coordinator is busy" becomes
"this group has no offset", and a worker would read the partition again from the
beginning, serving every order a second time. Here -1 means "no offset" only when
both levels say there was no error.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka import errors as kafka_errors
from aiokafka.protocol.commit import OffsetFetchRequest
from aiokafka.structs import TopicPartition

from fishshop_workers.errors import ServiceError

__all__ = ["OffsetFetchError", "committed_offset"]

NO_OFFSET = -1
RETRY_SECONDS = 0.2


class OffsetFetchError(ServiceError, kafka_errors.KafkaError):  # type: ignore[misc]
    """Kafka could not say where the group stands; the caller must not guess."""


_COORDINATOR_MOVED = (
    kafka_errors.NotCoordinatorForGroupError,
    kafka_errors.GroupCoordinatorNotAvailableError,
)


async def committed_offset(consumer: AIOKafkaConsumer, tp: TopicPartition) -> int | None:
    """The group's committed offset for ``tp``, or None if Kafka plainly has none.

    Retriable answers (the coordinator loading or moving) are asked again until the
    caller's deadline; any other error is raised. Never returns None on an error.
    """
    coordinator: Any = consumer._coordinator  # see the module's docstring
    request = OffsetFetchRequest(coordinator.group_id, [(tp.topic, [tp.partition])])
    while True:
        await coordinator.ensure_coordinator_known()
        try:
            response = await coordinator._send_req(request)
            return read_offset(response, tp)
        except kafka_errors.KafkaError as error:
            if isinstance(error, _COORDINATOR_MOVED):
                coordinator.coordinator_dead()
            if not getattr(error, "retriable", False):
                raise
        await asyncio.sleep(RETRY_SECONDS)


def read_offset(response: Any, tp: TopicPartition) -> int | None:
    """The offset an OffsetFetch answer gives for ``tp``; raises on any error code."""
    group_error = getattr(response, "error_code", 0)
    if group_error:
        raise kafka_errors.for_code(group_error)()
    for topic, partitions in response.topics:
        for partition, offset, _metadata, error_code in partitions:
            if (topic, partition) != (tp.topic, tp.partition):
                continue
            if error_code:
                raise kafka_errors.for_code(error_code)()
            return None if offset == NO_OFFSET else int(offset)
    raise OffsetFetchError(f"the group coordinator did not answer for {tp.topic}[{tp.partition}]")
