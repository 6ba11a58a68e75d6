"""Writing a transaction's records to Kafka: one batch per partition, not one call
per record.

``AIOKafkaProducer.send`` costs, per record, a metadata look-up, a murmur2 hash of
the key in pure Python, a future and a trip through the accumulator. A worker
writes up to thousands of records per transaction, nearly all with the same few
keys (till numbers), so it builds each partition's batch itself: a partition is
worked out once per key and batch, and Kafka confirms (or fails) whole batches.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import MessageSizeTooLargeError
from aiokafka.partitioner import DefaultPartitioner

from fishshop_workers.shop.outgoing import Outgoing

__all__ = ["send_all"]

_PARTITIONER = DefaultPartitioner()


async def send_all(
    producer: AIOKafkaProducer, outputs: Sequence[Outgoing]
) -> list[asyncio.Future[Any]]:
    """Queue every record, in order within each partition, and return the futures of
    the batches that carry them: all done without error means all written.

    A record without a partition goes where ``send`` would put it: the producer's
    default partitioner over the topic's partitions (murmur2 of the key; a record
    without a key to a partition drawn at random).
    """
    layouts: dict[str, list[int]] = {}
    chosen: dict[tuple[str, bytes | None], int] = {}
    open_batches: dict[tuple[str, int], Any] = {}
    deliveries: list[asyncio.Future[Any]] = []
    stamp_ms = int(time.time() * 1000)  # one timestamp for the transaction's records
    for out in outputs:
        partition = out.partition
        if partition is None:
            partition = chosen.get((out.topic, out.key))
            if partition is None:
                layout = layouts.get(out.topic)
                if layout is None:
                    layout = layouts[out.topic] = sorted(await producer.partitions_for(out.topic))
                partition = chosen[(out.topic, out.key)] = _PARTITIONER(out.key, layout, layout)
        where = (out.topic, partition)
        batch = open_batches.get(where)
        if batch is None:
            batch = open_batches[where] = producer.create_batch()
        headers = list(out.headers)  # aiokafka's record builder takes a list only
        if batch.append(timestamp=stamp_ms, key=out.key, value=out.value, headers=headers):
            continue
        # Full: send it, and start the partition's next batch with this record.
        deliveries.append(await producer.send_batch(batch, out.topic, partition=partition))
        batch = open_batches[where] = producer.create_batch()
        if not batch.append(timestamp=stamp_ms, key=out.key, value=out.value, headers=headers):
            raise MessageSizeTooLargeError(f"a record of {len(out.value)} bytes fits no batch")
    for (topic, partition), batch in open_batches.items():
        deliveries.append(await producer.send_batch(batch, topic, partition=partition))
    return deliveries
