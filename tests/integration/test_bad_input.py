"""Bad input never crashes a worker: it goes to the dead-letter topic with its
reason, it is counted, and good orders are still served."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from fishshop_workers.embedded.kafka import free_port
from fishshop_workers.kafka.admin import ensure_topics
from fishshop_workers.kafka.settings import KafkaSettings
from fishshop_workers.shop.order import MAX_ORDER_BYTES, Order, encode_order, format_time
from fishshop_workers.shop.topics import ShopTopics, default_prefix
from tests.support.processes import Worker, audit_json, scrape

pytestmark = pytest.mark.broker


def _order(n: int, parts: tuple[tuple[str, ...], ...]) -> dict[str, object]:
    return json.loads(
        encode_order(Order(f"bad-input-{n}", n, 1, parts, format_time(datetime.now(UTC))))
    )


def _bad_records() -> dict[str, bytes]:
    unknown_version = {**_order(1, (("cod", "chips"),)), "v": 7}
    unknown_item = _order(2, (("haddock", "chips"),))
    missing_field = _order(3, (("cod", "chips"),))
    del missing_field["id"]
    invalid_field = {**_order(4, (("cod",),)), "till": "three"}
    oversized = {**_order(5, (("cod",),)), "note": "x" * (MAX_ORDER_BYTES + 10)}
    return {
        "not_json": b"\xff\xfe this is not an order {",
        "unknown_version": json.dumps(unknown_version).encode(),
        "unknown_item": json.dumps(unknown_item).encode(),
        "missing_field": json.dumps(missing_field).encode(),
        "invalid_field": json.dumps(invalid_field).encode(),
        "oversized": json.dumps(oversized).encode(),
    }


async def _produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_request_size=2**20)
    await producer.start()
    try:
        for value in values:
            await producer.send(topic, value, key=b"1", partition=0)
        await producer.flush()
    finally:
        await producer.stop()


async def _read_dlq(bootstrap: str, topic: str, want: int) -> list[dict[str, str]]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    await consumer.start()
    found: list[dict[str, str]] = []
    try:
        deadline = time.monotonic() + 60
        while len(found) < want and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                found.extend({k: v.decode() for k, v in record.headers} for record in records)
    finally:
        await consumer.stop()
    return found


def test_each_malformed_kind_lands_in_dlq_counted_and_workers_stay_up(
    kafka: KafkaSettings, shop_name: str, tmp_path: Path
) -> None:
    bootstrap = kafka.bootstrap_servers
    topics = ShopTopics.from_prefix(default_prefix(shop_name))
    asyncio.run(ensure_topics(kafka, topics, 1))
    bad = _bad_records()
    now = format_time(datetime.now(UTC))
    good = [encode_order(Order(f"good-{n}", n, 1, (("cod", "chips"),), now)) for n in (1, 2, 3)]
    plaice = encode_order(Order("good-plaice", 4, 1, (("plaice", "chips"),), now))
    interleaved = [
        good[0],
        *list(bad.values())[:3],
        good[1],
        *list(bad.values())[3:],
        plaice,
        good[2],
    ]
    asyncio.run(_produce(bootstrap, topics.orders, interleaved))
    asyncio.run(_produce(bootstrap, topics.cook, [b"burnt {"]))

    ports = {"preparer": free_port(), "cook": free_port()}
    common = {"shop": shop_name, "bootstrap_servers": bootstrap}
    preparer = Worker(
        "preparer",
        tmp_path,
        "preparer",
        prep_min="0",
        prep_max="0",
        metrics_port=str(ports["preparer"]),
        **common,
    )
    cook = Worker(
        "cook",
        tmp_path,
        "cook",
        cook_min="0",
        cook_max="0",
        metrics_port=str(ports["cook"]),
        **common,
    )
    preparer.start()
    cook.start()
    try:
        letters = asyncio.run(_read_dlq(bootstrap, topics.dlq, len(bad) + 1))
        report = audit_json(bootstrap, shop_name, wait=60)
        assert preparer.alive, preparer.log()
        assert cook.alive, cook.log()
        _, preparer_metrics = scrape(ports["preparer"])
        _, cook_metrics = scrape(ports["cook"])
    finally:
        preparer_exit = preparer.terminate()
        cook_exit = cook.terminate()

    # SIGTERM: finish the batch in hand, commit, leave the group, exit cleanly.
    assert (preparer_exit, cook_exit) == (0, 0), preparer.log() + cook.log()

    reasons = sorted(letter["fishshop-reason"] for letter in letters)
    assert reasons == sorted([*bad, "not_json"])
    from_cook = [letter for letter in letters if letter["fishshop-source-topic"] == topics.cook]
    assert [letter["fishshop-reason"] for letter in from_cook] == ["not_json"]
    assert all(letter["fishshop-detail"] for letter in letters)
    for reason in bad:
        line = f'fishshop_records_rejected_total{{reason="{reason}",shop="{shop_name}"}} 1.0'
        assert line in preparer_metrics, reason
    assert (
        f'fishshop_records_rejected_total{{reason="not_json",shop="{shop_name}"}} 1.0'
        in cook_metrics
    )
    assert report["orders_created"] == 4
    assert report["orders_served"] == 4
    assert report["duplicates"] == 0
    assert report["rejected"] == len(bad) + 1


# -- the edges: any record, of any size the broker takes, from anyone -------------------

HUGE_BYTES = 1_048_400
"""About Kafka's default limit: too large to copy whole with dead-letter headers."""


def _edge_orders() -> tuple[dict[str, list[tuple[bytes | None, bytes | None]]], list[str]]:
    """Records per topic (value, key) and the dlq reasons they must end in, sorted."""
    now = format_time(datetime.now(UTC))
    cod = (("cod", "chips"),)
    plain = json.loads(encode_order(Order("edge-plain", 1, 1, cod, now)))
    near_limit = Order("edge-near-", 2, 1, cod, now)
    room = MAX_ORDER_BYTES - len(encode_order(near_limit))
    near_limit = near_limit._replace(id="edge-near-" + "n" * (room - 10))  # 10 bytes to spare
    forged_twice = encode_order(Order("edge-forged-twice", 3, 1, (("plaice",),), now))
    forged_twice = forged_twice[:-1] + b',"ready":true}'
    orders: list[tuple[bytes | None, bytes | None]] = [
        (b'{"pad":"' + b"x" * (HUGE_BYTES - 10) + b'"}', b"1"),  # oversized
        (None, b"1"),  # a tombstone: missing_field
        (encode_order(Order("edge-no-key", 4, 1, cod, now)), None),  # served
        (forged_twice, b"1"),  # duplicate "ready": invalid_field
        (json.dumps({**plain, "id": "edge-nan", "order": float("nan")}).encode(), b"1"),
        (json.dumps({**plain, "id": "edge-\ud800"}).encode(), b"1"),  # invalid_field
        (json.dumps({**plain, "id": "edge-absurd", "order": 2**64}).encode(), b"1"),
        (json.dumps({**plain, "id": "edge-ready", "ready": True}).encode(), b"1"),
        (encode_order(Order("edge-ünïcødé-🐟", 5, 1, cod, now)), b"1"),  # served
        (encode_order(near_limit), b"1"),  # grows past the limit when served: oversized
        (encode_order(Order("edge-plaice", 6, 1, (("plaice", "chips"),), now)), b"1"),
    ]
    outsider_cooked = encode_order(Order("edge-outsider", 7, 1, (("plaice",),), now))
    outsider_served = encode_order(
        Order("edge-never-taken", 8, 1, cod, now).served(now, "someone-else")
    )
    records = {
        "orders": orders,
        "cook": [(outsider_cooked, b"1"), (b"\x00\x01", b"1")],  # cooked; not_json
        "served": [(outsider_served, b"1"), (b"scribble", b"1")],  # for the audit only
    }
    reasons = sorted(
        [
            "oversized",
            "missing_field",
            "invalid_field",
            "not_json",
            "invalid_field",
            "invalid_field",
            "invalid_field",
            "oversized",
            "not_json",
        ]
    )
    return records, reasons


async def _produce_keyed(
    bootstrap: str, topic: str, records: list[tuple[bytes | None, bytes | None]]
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_request_size=1_100_000)
    await producer.start()
    try:
        for value, key in records:
            await producer.send(topic, value, key=key, partition=0)
        await producer.flush()
    finally:
        await producer.stop()


def test_any_record_from_anyone_ends_in_dlq_or_is_served_and_workers_go_on(
    kafka: KafkaSettings, shop_name: str, tmp_path: Path
) -> None:
    bootstrap = kafka.bootstrap_servers
    topics = ShopTopics.from_prefix(default_prefix(shop_name))
    asyncio.run(ensure_topics(kafka, topics, 1))
    records, reasons = _edge_orders()
    for name, batch in records.items():
        asyncio.run(_produce_keyed(bootstrap, getattr(topics, name), batch))
    common = {"shop": shop_name, "bootstrap_servers": bootstrap, "metrics_port": "0"}
    workers = [
        Worker("preparer", tmp_path, "preparer", prep_min="0", prep_max="0", **common),
        Worker("cook", tmp_path, "cook", cook_min="0", cook_max="0", **common),
    ]
    for worker in workers:
        worker.start()
    try:
        letters = asyncio.run(_read_dlq(bootstrap, topics.dlq, len(reasons)))
        report = audit_json(bootstrap, shop_name, wait=60)
        for worker in workers:
            assert worker.alive, worker.log()
    finally:
        codes = [worker.terminate() for worker in workers]
    assert codes == [0, 0], "".join(worker.log() for worker in workers)
    assert sorted(letter["fishshop-reason"] for letter in letters) == reasons
    huge = [letter for letter in letters if "fishshop-original-bytes" in letter]
    assert [int(letter["fishshop-original-bytes"]) for letter in huge] == [HUGE_BYTES]
    rebuilt = "".join(w.log() for w in workers).count("lost Kafka")
    assert rebuilt == 0, "a record made a worker rebuild its session"
    # Served: the order without a key, the non-ASCII one, the plaice through the cook.
    assert report["orders_created"] == 4, report  # and the near-limit one, refused later
    assert report["orders_served"] == 3, report
    assert report["unserved"] == 0, report
    assert report["duplicates"] == 0, report
    assert report["served_uncooked"] == 0, report
    # What outsiders wrote is reported, never mistaken for the shop's own orders.
    assert report["served_unknown"] == 2, report  # cooked from outside; served from outside
    # Not orders at all: the seven refused unread in orders, and the scribble in served.
    assert report["unreadable"] == 8, report
