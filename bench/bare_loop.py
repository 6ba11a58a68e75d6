"""The baseline: the least code that gives the same promise as fishshop.

``produce`` writes N orders as fast as an idempotent producer can; ``relay`` is a
consume-transform-produce loop with one transactional producer, offsets in the
transaction and ``read_committed``, the textbook aiokafka pattern.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer


async def produce(bootstrap: str, topic: str, count: int, partition: int) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        max_batch_size=256 * 1024,
    )
    await producer.start()
    try:
        for n in range(count):
            order = {
                "v": 1,
                "id": uuid.uuid4().hex,
                "order": n + 1,
                "till": partition + 1,
                "parts": [["cod", "chips"]],
                "ready": False,
                "createdAt": "2026-11-25T12:00:00.000Z",
            }
            await producer.send(topic, json.dumps(order).encode(), key=b"1", partition=partition)
        await producer.flush()
    finally:
        await producer.stop()


async def relay(bootstrap: str, source: str, target: str, group: str) -> None:
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        max_poll_records=2000,
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        transactional_id=f"{group}-relay",
        linger_ms=5,
        max_batch_size=256 * 1024,
    )
    await consumer.start()
    await producer.start()
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=200, max_records=2000)
            if not batches:
                continue
            async with producer.transaction():
                offsets = {}
                for tp, records in batches.items():
                    for record in records:
                        order = json.loads(record.value)
                        order["servedAt"] = "2026-11-25T12:00:01.000Z"
                        await producer.send(target, json.dumps(order).encode(), key=record.key)
                    offsets[tp] = records[-1].offset + 1
                await producer.send_offsets_to_transaction(offsets, group)
    finally:
        await consumer.stop()
        await producer.stop()


if __name__ == "__main__":
    role = sys.argv[1]
    started = time.monotonic()
    if role == "produce":
        asyncio.run(produce(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])))
    else:
        asyncio.run(relay(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]))
