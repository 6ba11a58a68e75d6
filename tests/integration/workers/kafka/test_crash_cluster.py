"""The messaging promise on three brokers: the broker that coordinates the
preparers' group dies, another broker dies, a preparer and the cook freeze past
their session and wake up as zombies, a till and a preparer are SIGKILLed; no
order is lost and none is served twice, as ``fishshop audit`` and Kafka's own
console consumer both read it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from aiokafka.errors import KafkaError

from fishshop_workers.embedded.kafka_cluster import EmbeddedCluster
from fishshop_workers.kafka.admin import ensure_topics
from fishshop_workers.kafka.settings import KafkaSettings
from fishshop_workers.shop.topics import ShopTopics, cooks_group, default_prefix, preparers_group
from tests.support.console_consumer import console_books
from tests.support.processes import Worker, audit_json
from tests.support.shops import group_members

pytestmark = [pytest.mark.broker, pytest.mark.slow]

SESSION_TIMEOUT = 10.0
"""The workers' consumer session (exactly_once.py): a pause past it makes a zombie."""


class Timeline:
    """What the chaos did and when, for the report and for a failure message."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.events: list[str] = []

    def note(self, what: str) -> None:
        self.events.append(f"{time.monotonic() - self.started:6.1f}s {what}")

    def __str__(self) -> str:
        return "\n".join(self.events)


def wait_until(what: str, probe: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout:.0f}s")
        time.sleep(0.5)


def all_alive(workers: list[Worker]) -> bool:
    """True, or fails with the log of the first worker found down."""
    for worker in workers:
        assert worker.alive, f"{worker.name} is down:\n{worker.log()[-4000:]}"
    return True


def members(bootstrap: str, group: str) -> int | None:
    try:
        return group_members(bootstrap, group)
    except (KafkaError, OSError):
        return None  # the coordinator is moving


def replication_of(bootstrap: str, names: list[str]) -> set[int]:
    from aiokafka.admin import AIOKafkaAdminClient

    async def read() -> set[int]:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            described = await admin.describe_topics(names)
        finally:
            await admin.close()
        return {len(p["replicas"]) for topic in described for p in topic["partitions"]}

    return asyncio.run(read())


def test_three_brokers_dead_coordinators_zombies_and_killed_workers_lose_and_double_nothing(
    kafka_cluster: EmbeddedCluster, shop_name: str, tmp_path: Path
) -> None:
    cluster = kafka_cluster
    bootstrap = cluster.bootstrap_servers
    prefix = default_prefix(shop_name)
    topics = ShopTopics.from_prefix(prefix)
    shop_topics = [topics.orders, topics.cook, topics.served, topics.dlq]
    asyncio.run(ensure_topics(KafkaSettings(bootstrap), topics, 3, replication_factor=3))
    assert replication_of(bootstrap, shop_topics) == {3}

    def hire(role: str, name: str, **variables: str) -> Worker:
        return Worker(
            role,
            tmp_path,
            name,
            environment=None,  # named, so that no variable is taken for it
            shop=shop_name,
            bootstrap_servers=bootstrap,
            metrics_port="0",
            **variables,
        )

    tills = [
        hire("till", f"till-{n}", till=str(n), orders_per_minute="180", plaice="true")
        for n in (1, 2, 3)
    ]
    preparers = [
        hire("preparer", f"preparer-{n}", prep_min="0.01", prep_max="0.05") for n in (1, 2)
    ]
    cook = hire("cook", "cook-1", cook_min="0.1", cook_max="0.2")
    everyone = [*tills, *preparers, cook]
    timeline = Timeline()
    try:
        for worker in [*preparers, cook, *tills]:
            worker.start()
        timeline.note("shop open: 3 tills (plaice on), 2 preparers, 1 cook")
        wait_until(
            "full preparers' group",
            lambda: members(bootstrap, preparers_group(prefix)) == 2,
            60,
        )
        time.sleep(5)

        # 1. The broker that coordinates the preparers' group dies.
        coordinator = cluster.group_coordinator(preparers_group(prefix))
        cluster.kill_node(coordinator)
        timeline.note(f"SIGKILL node {coordinator}, the preparers' group coordinator")
        wait_until(
            "a new coordinator for the preparers' group",
            lambda: cluster.group_coordinator(preparers_group(prefix)) != coordinator,
            40,
        )
        timeline.note(
            f"node {cluster.group_coordinator(preparers_group(prefix))} coordinates the preparers"
        )
        cluster.start_node(coordinator, wait=False)
        timeline.note(f"node {coordinator} starting again")

        # 2. While it comes back, a preparer and the cook freeze past their
        #    session: the group goes on without them, and they will wake up as
        #    zombies holding old work.
        zombies = [preparers[0], cook]
        for zombie in zombies:
            zombie.pause()
        paused_at = time.monotonic()
        timeline.note("SIGSTOP preparer-1 and cook-1")
        wait_until(
            "eviction of the frozen preparer",
            lambda: members(bootstrap, preparers_group(prefix)) == 1,
            SESSION_TIMEOUT + 30,
        )
        timeline.note("the preparers' group goes on with preparer-2 alone")
        cluster.wait_node(coordinator)
        timeline.note(f"node {coordinator} serves again")
        cluster.wait_in_sync(60)
        timeline.note("every replica in sync")

        # 3. Another broker dies; the zombies wake up while it is down.
        cooks_coordinator = cluster.group_coordinator(cooks_group(prefix))
        other = (
            cooks_coordinator
            if cooks_coordinator != coordinator
            else min(n for n in cluster.nodes if n != coordinator)
        )
        cluster.kill_node(other)
        timeline.note(f"SIGKILL node {other} (the cooks' coordinator was {cooks_coordinator})")
        time.sleep(max(3.0, paused_at + SESSION_TIMEOUT + 5 - time.monotonic()))
        for zombie in zombies:
            zombie.resume()
        timeline.note(f"SIGCONT after {time.monotonic() - paused_at:.0f}s: zombies awake")
        cluster.start_node(other)
        timeline.note(f"node {other} serves again")

        # 4. A till and a preparer are killed and started again, while leaders
        #    (and so coordinators) move back to the node that returned: the
        #    restarted preparer's group rebalances as its coordinator moves.
        victims = [tills[1], preparers[1]]
        for victim in victims:
            victim.kill()
        killed_at = time.monotonic()
        timeline.note("SIGKILL till-2 and preparer-2")
        time.sleep(1)
        for victim in victims:
            victim.start()
        timeline.note("till-2 and preparer-2 started again")
        cluster.wait_in_sync(60)
        timeline.note("every replica in sync")
        # The killed preparer counts as a member until its session ends.
        time.sleep(max(0.0, killed_at + SESSION_TIMEOUT + 2 - time.monotonic()))
        wait_until(
            "both preparers in their group",
            lambda: all_alive(everyone) and members(bootstrap, preparers_group(prefix)) == 2,
            60,
        )
        timeline.note(
            "both preparers in their group, coordinated by node "
            f"{cluster.group_coordinator(preparers_group(prefix))}"
        )

        all_alive(everyone)
        for till in tills:
            assert till.terminate() == 0, till.log()[-3000:]
        timeline.note("tills closed")
        report = audit_json(bootstrap, shop_name, wait=90)
        timeline.note(f"fishshop audit: {report}")
        books = console_books(
            bootstrap, topics.orders, topics.served, topics.dlq, tmp_path / "console"
        )
        timeline.note(f"console consumer: {books}")
    finally:
        for worker in everyone:
            worker.terminate(timeout=30)
        print("crash test on three brokers:\n" + str(timeline))

    assert report["orders_created"] > 100, str(timeline)
    assert report["unserved"] == 0, str(timeline)
    assert report["duplicates"] == 0, str(timeline)
    assert report["served_unknown"] == 0, str(timeline)
    assert report["rejected"] == 0, str(timeline)
    assert books.created == report["orders_created"], str(timeline)
    assert books.unserved == 0, str(timeline)
    assert books.duplicates == 0, str(timeline)
    assert books.served_unknown == 0, str(timeline)
    assert books.dlq == 0, str(timeline)
