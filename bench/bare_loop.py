"""The baseline: the least code that gives the same promise as fishshop.

``produce`` writes N orders as fast as an idempotent producer can; ``relay`` is a
consume-transform-produce loop with one transactional producer, offsets in the
transaction and ``read_committed``, the textbook aiokafka pattern. Like a preparer,
the relay hands an order with plaice that is not ready to the cook topic; ``cook``
is the same loop on the cook topic, sending each order back ready to its till's
partition of orders.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

Order = dict[str, Any]
Transform = Callable[[Order], tuple[str, int | None]]
"""Changes an order in place and says where it goes: topic and partition (or None)."""


def fixed_order(number: int, partition: int, plaice: bool) -> bytes:
    """An order as a till writes it, but the same every time (no clock, no menu)."""
    order = {
        "v": 1,
        "id": uuid.uuid4().hex,
        "order": number,
        "till": partition + 1,
        "parts": [["plaice", "chips"]] if plaice else [["cod", "chips"]],
        "ready": False,
        "createdAt": "2026-11-25T12:00:00.000Z",
    }
    return json.dumps(order).encode()


async def produce(bootstrap: str, topic: str, count: int, partition: int, plaice: bool) -> None:
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
            order = fixed_order(n + 1, partition, plaice)
            await producer.send(topic, order, key=b"1", partition=partition)
        await producer.flush()
    finally:
        await producer.stop()


async def transform_loop(
    bootstrap: str, source: str, group: str, transactional_id: str, transform: Transform
) -> None:
    """The textbook loop: one transaction per poll, offsets inside it."""
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
        transactional_id=transactional_id,
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
                        topic, partition = transform(order)
                        await producer.send(
                            topic, json.dumps(order).encode(), key=record.key, partition=partition
                        )
                    offsets[tp] = records[-1].offset + 1
                await producer.send_offsets_to_transaction(offsets, group)
    finally:
        await consumer.stop()
        await producer.stop()


def preparing(served: str, cook: str) -> Transform:
    def prepare(order: Order) -> tuple[str, int | None]:
        if not order["ready"] and any("plaice" in part for part in order["parts"]):
            return cook, None
        order["servedAt"] = "2026-11-25T12:00:01.000Z"
        return served, None

    return prepare


def cooking(orders: str, partitions: int) -> Transform:
    def cook(order: Order) -> tuple[str, int | None]:
        order["ready"] = True
        order["cookedBy"] = "bare-cook"
        return orders, (order["till"] - 1) % partitions

    return cook


def role_arguments(description: str) -> argparse.Namespace:
    """The loop's role and its arguments, the same for every baseline."""
    parser = argparse.ArgumentParser(description=description)
    roles = parser.add_subparsers(dest="role", required=True)
    producing = roles.add_parser("produce")
    producing.add_argument("bootstrap")
    producing.add_argument("topic")
    producing.add_argument("count", type=int)
    producing.add_argument("partition", type=int)
    producing.add_argument("--plaice", action="store_true", help="every order needs the cook")
    relaying = roles.add_parser("relay")
    for name in ("bootstrap", "orders", "served", "cook", "group"):
        relaying.add_argument(name)
    relaying.add_argument("--member", type=int, default=1)
    cook = roles.add_parser("cook")
    for name in ("bootstrap", "cook", "orders", "group"):
        cook.add_argument(name)
    cook.add_argument("partitions", type=int)
    return parser.parse_args()


def main() -> None:
    args = role_arguments(__doc__.splitlines()[0])
    if args.role == "produce":
        asyncio.run(produce(args.bootstrap, args.topic, args.count, args.partition, args.plaice))
    elif args.role == "relay":
        prepare = preparing(args.served, args.cook)
        txn_id = f"{args.group}-relay-{args.member}"
        asyncio.run(transform_loop(args.bootstrap, args.orders, args.group, txn_id, prepare))
    else:
        back = cooking(args.orders, args.partitions)
        txn_id = f"{args.group}-cook"
        asyncio.run(transform_loop(args.bootstrap, args.cook, args.group, txn_id, back))


if __name__ == "__main__":
    main()
