"""Which input partitions a worker owns, each with the transactional producer that
fences its previous owner.

A partition's producer has a transactional id that names the partition
(``<group>-<topic>-<partition>``). Starting it makes Kafka abort whatever the
previous owner left open and fence that owner for good; only then is the group's
committed offset read, so it is final. aiokafka cannot send the group's generation
with the offsets (KIP-447): this is what stops a worker that lost a partition, and
does not know it yet, from committing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord, TopicPartition

from fishshop_workers.kafka.backlog import Backlog
from fishshop_workers.kafka.committed import committed_offset
from fishshop_workers.kafka.settings import KafkaSettings

__all__ = ["SETUP_TIMEOUT", "Ownership", "partition_names", "quietly"]

log = logging.getLogger(__name__)

SETUP_TIMEOUT = 30.0
"""Seconds for starting a producer, fetching an offset or leaving the group."""

Record: TypeAlias = ConsumerRecord  # aiokafka ships no type hints


class Ownership:
    """The partitions one member of a group owns: their producers, where each one's
    next record is, and the partitions assigned but not taken yet.

    ``lock`` is held while a batch is handled: a rebalance that takes partitions
    away waits for the batch in hand to commit.
    """

    def __init__(
        self,
        settings: KafkaSettings,
        group_id: str,
        backlog: Backlog[TopicPartition, Record],
        *,
        transaction_ms: int,
        on_released: Callable[[TopicPartition], None] | None = None,
    ) -> None:
        self.settings = settings
        self.group_id = group_id
        self.backlog = backlog
        self.transaction_ms = transaction_ms
        self.on_released = on_released
        self.producers: dict[TopicPartition, AIOKafkaProducer] = {}
        self.next_offset: dict[TopicPartition, int] = {}
        """Owned partition -> offset of the next record to handle."""
        self.to_take: set[TopicPartition] = set()
        """Assigned, paused until the main loop takes them."""
        self.held_back: set[TopicPartition] = set()
        """Owned partitions paused because their backlog is full."""
        self.lock = asyncio.Lock()

    @property
    def assignment(self) -> list[TopicPartition]:
        return sorted(self.producers)

    def transactional_id(self, tp: TopicPartition) -> str:
        return f"{self.group_id}-{tp.topic}-{tp.partition}"

    def claim(self, consumer: AIOKafkaConsumer | None, assigned: list[TopicPartition]) -> None:
        """Note newly assigned partitions, paused until the main loop takes them.

        aiokafka sends no heartbeat while a rebalance listener runs, so a take done
        there that outlasts the session (a slow coordinator after a broker restart, a
        worker woken from a pause) would get the member evicted, again and again.
        """
        new = [tp for tp in assigned if tp not in self.producers]
        if consumer is not None and new:
            consumer.pause(*new)
        self.to_take.update(new)

    async def take_claimed(self, consumer: AIOKafkaConsumer) -> list[TopicPartition]:
        """Start a producer per claimed partition, then read from its committed offset;
        the partitions taken. A failure raises, and the caller rebuilds the session."""
        async with self.lock:
            owned = set(consumer.assignment())
            claimed, self.to_take = self.to_take & owned, set()
            new = sorted(tp for tp in claimed if tp not in self.producers)
            results = await asyncio.gather(
                *(self._take_one(consumer, tp) for tp in new), return_exceptions=True
            )
            failures = [r for r in results if isinstance(r, BaseException)]
            if failures:
                log.warning("%s could not take partitions: %r", self.group_id, failures[0])
                raise KafkaError(f"taking partitions failed: {failures[0]!r}")
            if new:
                consumer.resume(*new)
        if new:
            log.info("%s took partitions %s", self.group_id, partition_names(new))
        return new

    async def _take_one(self, consumer: AIOKafkaConsumer, tp: TopicPartition) -> None:
        producer = AIOKafkaProducer(
            transactional_id=self.transactional_id(tp),
            transaction_timeout_ms=self.transaction_ms,
            enable_idempotence=True,
            linger_ms=5,
            max_batch_size=256 * 1024,
            **self.settings.client_options(),
        )
        try:
            await asyncio.wait_for(producer.start(), SETUP_TIMEOUT)
            committed = await asyncio.wait_for(committed_offset(consumer, tp), SETUP_TIMEOUT)
        except BaseException:
            await quietly(producer.stop())
            raise
        if committed is None:  # Kafka said plainly that the group has no offset here
            await consumer.seek_to_beginning(tp)
            self.next_offset[tp] = 0
        else:
            consumer.seek(tp, committed)
            self.next_offset[tp] = committed
        self.backlog.drop(tp)
        self.producers[tp] = producer

    async def release(self, revoked: list[TopicPartition]) -> None:
        """Let the batch in hand commit, then give the partitions back."""
        async with self.lock:
            for tp in revoked:
                self.to_take.discard(tp)
                producer = self.producers.pop(tp, None)
                self.next_offset.pop(tp, None)
                self.backlog.drop(tp)
                self.held_back.discard(tp)
                if self.on_released is not None:
                    self.on_released(tp)
                if producer is not None:
                    await quietly(producer.stop())
        log.info("%s released partitions %s", self.group_id, partition_names(revoked))

    async def release_all(self) -> None:
        """Forget every partition at the end of a session and stop their producers."""
        async with self.lock:
            producers, self.producers = self.producers, {}
            self.next_offset.clear()
            self.to_take.clear()
            self.backlog.clear()
            self.held_back.clear()
        for producer in producers.values():
            await quietly(producer.stop())


async def quietly(step: Awaitable[Any]) -> None:
    """Await a clean-up step; its failure is logged, never raised."""
    try:
        await step
    except Exception as error:  # noqa: BLE001 - cleanup must go on
        log.debug("ignored during cleanup: %r", error)
    except asyncio.CancelledError:
        # aiokafka's stop() can let its own tasks' cancellation escape; only a
        # cancellation of this task itself may end the worker.
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
        log.debug("ignored a cancellation from inside a client's stop()")


def partition_names(tps: list[TopicPartition]) -> str:
    return ", ".join(f"{tp.topic}[{tp.partition}]" for tp in sorted(tps)) or "none"
