"""The second baseline: ``bare_loop.py``'s textbook loops on confluent-kafka
(librdkafka), what a user would pick for speed.

``produce`` writes N orders with an idempotent producer; ``relay`` and ``cook`` are
consume-transform-produce loops with one transactional producer, the consumer's
positions sent inside the transaction and ``read_committed``, as confluent-kafka's
own exactly-once example does. The orders, and where each goes, are bare_loop's.
"""

from __future__ import annotations

import json
import signal
from types import FrameType

from confluent_kafka import Consumer, KafkaException, Producer

from bare_loop import Transform, cooking, fixed_order, preparing, role_arguments

BATCH = 2000
"""Records per poll and per transaction, as the aiokafka loop takes."""

_stopping = False


def _stop(signum: int, frame: FrameType | None) -> None:
    global _stopping
    _stopping = True


def produce(bootstrap: str, topic: str, count: int, partition: int, plaice: bool) -> None:
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "batch.size": 256 * 1024,
        }
    )
    for n in range(count):
        order = fixed_order(n + 1, partition, plaice)
        while True:
            try:
                producer.produce(topic, order, b"1", partition)
                break
            except BufferError:  # the local queue is full: let deliveries drain it
                producer.poll(0.05)
        producer.poll(0)
    if producer.flush(60) > 0:
        raise SystemExit(f"{topic}: some orders were not delivered")


def transform_loop(
    bootstrap: str, source: str, group: str, transactional_id: str, transform: Transform
) -> None:
    """One transaction per poll, the positions inside it."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "auto.offset.reset": "earliest",
        }
    )
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "transactional.id": transactional_id,
            "linger.ms": 5,
            "batch.size": 256 * 1024,
        }
    )
    producer.init_transactions()
    consumer.subscribe([source])
    try:
        while not _stopping:
            records = consumer.consume(BATCH, 0.2)
            if not records:
                continue
            producer.begin_transaction()
            for record in records:
                if record.error():
                    raise KafkaException(record.error())
                value = record.value()
                assert value is not None
                order = json.loads(value)
                topic, partition = transform(order)
                out = json.dumps(order).encode()
                if partition is None:
                    producer.produce(topic, out, record.key())
                else:
                    producer.produce(topic, out, record.key(), partition)
            producer.send_offsets_to_transaction(
                consumer.position(consumer.assignment()), consumer.consumer_group_metadata()
            )
            producer.commit_transaction()
    finally:
        consumer.close()


def main() -> None:
    args = role_arguments(__doc__.splitlines()[0])
    if args.role == "produce":  # SIGTERM ends it at once
        produce(args.bootstrap, args.topic, args.count, args.partition, args.plaice)
        return
    signal.signal(signal.SIGTERM, _stop)  # the loops finish their transaction first
    if args.role == "relay":
        prepare = preparing(args.served, args.cook)
        txn_id = f"{args.group}-relay-{args.member}"
        transform_loop(args.bootstrap, args.orders, args.group, txn_id, prepare)
    else:
        back = cooking(args.orders, args.partitions)
        transform_loop(args.bootstrap, args.cook, args.group, f"{args.group}-cook", back)


if __name__ == "__main__":
    main()
