"""The resync loop visits shops side by side, up to the operator's concurrency, so that
one shop whose Kafka does not answer holds up only itself; the limit comes from the
environment and a bad value fails loudly."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast

import pytest

from fishshop_operator.kube.api import KubeApi
from fishshop_operator.metrics import OperatorMetrics
from fishshop_operator.reconcile import topics as topics_step
from fishshop_operator.reconcile.reconciler import Reconciler
from fishshop_operator.settings import OperatorConfig
from fishshop_operator.shop.conditions import TopicsOutcome
from tests.support.operator_bodies import shop_body
from tests.support.operator_fakes import FakeKafka, FakeKube


class SlowKafka:
    """Kafka that takes ``seconds`` to answer, or never for the shop ``stuck``."""

    def __init__(self, kafka: FakeKafka, seconds: float, stuck: str | None = None) -> None:
        self.kafka = kafka
        self.seconds = seconds
        self.stuck = stuck
        self.now = 0
        self.most = 0
        self.done: list[str] = []

    async def reconcile_topics(self, settings: Any, shop: Any, **_: Any) -> TopicsOutcome:
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            if shop.name == self.stuck:
                await asyncio.Event().wait()
            await asyncio.sleep(self.seconds)
        finally:
            self.now -= 1
        self.done.append(shop.name)
        return await self.kafka.reconcile_topics(settings, shop)


def _shops(kube: FakeKube, count: int, concurrency: int) -> Reconciler:
    reconciler = Reconciler(
        cast(KubeApi, kube),
        "fishshop:test",
        OperatorMetrics(),
        Path("/nonexistent"),
        concurrency=concurrency,
    )
    for i in range(count):
        body = shop_body(f"shop{i:02d}", "street")
        kube.put(body)
        reconciler.track("street", f"shop{i:02d}", gone=False, body=body)
    return reconciler


async def test_shops_are_visited_side_by_side_up_to_the_limit(
    kafka: FakeKafka, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = SlowKafka(kafka, 0.05)
    monkeypatch.setattr(topics_step, "reconcile_topics", slow.reconcile_topics)
    reconciler = _shops(FakeKube(), 40, concurrency=8)
    loop = asyncio.get_running_loop()
    began = loop.time()
    await reconciler.resync_round()
    took = loop.time() - began
    assert len(slow.done) == 40
    assert slow.most == 8
    assert took < 40 * 0.05 / 2, took  # one at a time would take 2 s


async def test_a_shop_whose_kafka_hangs_holds_up_only_itself(
    kafka: FakeKafka, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = SlowKafka(kafka, 0.01, stuck="shop00")
    monkeypatch.setattr(topics_step, "reconcile_topics", slow.reconcile_topics)
    reconciler = _shops(FakeKube(), 20, concurrency=4)
    round_ = asyncio.create_task(reconciler.resync_round())
    for _ in range(200):
        if len(slow.done) == 19:
            break
        await asyncio.sleep(0.01)
    assert sorted(slow.done) == [f"shop{i:02d}" for i in range(1, 20)]
    assert not round_.done()
    round_.cancel()
    with pytest.raises(asyncio.CancelledError):
        await round_
    assert slow.now == 0


async def test_a_failing_shop_does_not_end_the_round(
    kafka: FakeKafka, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(settings: Any, shop: Any, **_: Any) -> TopicsOutcome:
        if shop.name == "shop01":
            raise RuntimeError("a bug in one shop")
        return await kafka.reconcile_topics(settings, shop)

    monkeypatch.setattr(topics_step, "reconcile_topics", broken)
    reconciler = _shops(FakeKube(), 5, concurrency=2)
    await reconciler.resync_round()
    assert len([call for call in kafka.made() if call == "topics"]) == 4


async def test_reconciles_from_kopfs_handlers_are_bounded_by_the_concurrency(
    kafka: FakeKafka, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kopf's workers are unbounded (a limit deadlocks its first listing), so the
    Reconciler bounds them: 30 shops applied at once, 5 reconciled at a time."""
    slow = SlowKafka(kafka, 0.02)
    monkeypatch.setattr(topics_step, "reconcile_topics", slow.reconcile_topics)
    kube = FakeKube()
    reconciler = _shops(kube, 0, concurrency=5)
    bodies = [shop_body(f"shop{i:02d}", "street") for i in range(30)]
    for body in bodies:
        kube.put(body)
    await asyncio.gather(*(reconciler.reconcile(body) for body in bodies))
    assert len(slow.done) == 30
    assert slow.most == 5


async def test_a_queued_reconcile_reads_the_shop_once_it_has_its_slot(
    kafka: FakeKafka, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reconcile that waits for one of the operator's slots reads the shop after it
    gets the slot, so a spec changed while it waited is the one applied."""
    holding = asyncio.Event()
    go_on = asyncio.Event()

    async def held(settings: Any, shop: Any, **_: Any) -> TopicsOutcome:
        if shop.name == "shop00":
            holding.set()
            await go_on.wait()
        return await kafka.reconcile_topics(settings, shop)

    monkeypatch.setattr(topics_step, "reconcile_topics", held)
    kube = FakeKube()
    reconciler = _shops(kube, 2, concurrency=1)
    first = asyncio.create_task(reconciler.reconcile_by_name("street", "shop00"))
    await asyncio.wait_for(holding.wait(), 5)
    queued = asyncio.create_task(reconciler.reconcile_by_name("street", "shop01"))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not [path for path in kube.requests if path.endswith("/shop01")]
    kube.put(shop_body("shop01", "street", generation=2, tills={"replicas": 5}))
    go_on.set()
    await asyncio.wait_for(first, 5)
    outcome = await asyncio.wait_for(queued, 5)
    assert [path for path in kube.requests if path.endswith("/shop01")]
    assert outcome is not None and outcome.replicas["till"] == 5


async def test_a_failing_shop_is_retried_between_full_rounds(
    kafka: FakeKafka, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shop whose reconcile failed is visited again every ``retry`` seconds; the
    others wait for the next full round."""
    visits: list[str] = []

    async def broken(settings: Any, shop: Any, **_: Any) -> TopicsOutcome:
        visits.append(shop.name)
        if shop.name == "shop01":
            raise RuntimeError("its Kafka refuses")
        return await kafka.reconcile_topics(settings, shop)

    monkeypatch.setattr(topics_step, "reconcile_topics", broken)
    reconciler = _shops(FakeKube(), 3, concurrency=2)
    await reconciler.resync_round()
    assert sorted(visits) == ["shop00", "shop01", "shop02"]
    assert reconciler.watched(failing=True) == [("street", "shop01")]
    looping = asyncio.create_task(reconciler.resync(3600, retry=0.01))
    try:
        for _ in range(200):
            if visits.count("shop01") >= 4:
                break
            await asyncio.sleep(0.01)
    finally:
        looping.cancel()
    assert visits.count("shop01") >= 4
    assert visits.count("shop00") == visits.count("shop02") == 1
    # Once it works, it is no longer retried.
    monkeypatch.setattr(topics_step, "reconcile_topics", kafka.reconcile_topics)
    await reconciler.retry_round()
    assert reconciler.watched(failing=True) == []


def test_the_concurrency_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FISHSHOP_OPERATOR_CONCURRENCY", raising=False)
    assert OperatorConfig().concurrency == 16
    monkeypatch.setenv("FISHSHOP_OPERATOR_CONCURRENCY", "3")
    assert OperatorConfig().concurrency == 3
    assert OperatorConfig(concurrency=5).concurrency == 5


@pytest.mark.parametrize("value", ["0", "-2", "many", "1.5"])
def test_a_bad_concurrency_fails_loudly(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("FISHSHOP_OPERATOR_CONCURRENCY", value)
    with pytest.raises(ValueError, match="FISHSHOP_OPERATOR_CONCURRENCY"):
        OperatorConfig()


async def test_each_round_is_timed_on_the_operators_metrics(
    kafka: FakeKafka, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fishshop_operator_resync_round_seconds: what bench/reconcile.py reads a round by."""
    slow = SlowKafka(kafka, 0.05)
    monkeypatch.setattr(topics_step, "reconcile_topics", slow.reconcile_topics)
    reconciler = _shops(FakeKube(), 4, concurrency=2)
    looping = asyncio.create_task(reconciler.resync(0.01))
    registry = reconciler.metrics.registry
    try:
        for _ in range(200):
            rounds = registry.get_sample_value("fishshop_operator_resync_round_seconds_count")
            if rounds and rounds >= 2:
                break
            await asyncio.sleep(0.02)
    finally:
        looping.cancel()
    assert rounds is not None and rounds >= 2
    took = registry.get_sample_value("fishshop_operator_resync_round_seconds_sum") or 0.0
    # Four shops two at a time take two turns of 0.05 s each: about 0.1 s a round.
    assert 0.09 * rounds <= took < 1.0 * rounds


async def test_a_reconcile_that_outlives_its_shop_leaves_no_claim_behind(
    kafka: FakeKafka, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DELETED (of a shop with no finalizer) can arrive while a resync reconciles it:
    what that reconcile claims after the shop was forgotten goes when it ends."""
    counting = asyncio.Event()
    go_on = asyncio.Event()
    reconciler = _shops(FakeKube(), 1, concurrency=1)

    async def queue_state(settings: Any, shop: Any, *, clients: Any = None) -> Any:
        counting.set()
        await go_on.wait()
        clients._claim((shop.namespace, shop.name), settings)  # as a real count does
        return kafka.queues

    monkeypatch.setattr(topics_step, "queue_state", queue_state)
    round_ = asyncio.create_task(reconciler.resync_round())
    await asyncio.wait_for(counting.wait(), 5)
    reconciler.track("street", "shop00", gone=True)
    go_on.set()
    await asyncio.wait_for(round_, 5)
    assert reconciler.remembered() == set()
    assert reconciler.kafka.users() == set()
    registry = reconciler.metrics.registry
    labels = {"namespace": "street", "shop": "shop00"}
    assert registry.get_sample_value("fishshop_operator_shop_ready", labels) is None


async def test_the_loop_outlives_a_round_that_fails(
    kafka: FakeKafka, monkeypatch: pytest.MonkeyPatch
) -> None:
    reconciler = _shops(FakeKube(), 1, concurrency=1)
    rounds = 0

    async def failing_round() -> None:
        nonlocal rounds
        rounds += 1
        raise RuntimeError("dictionary changed size during iteration")

    monkeypatch.setattr(reconciler, "resync_round", failing_round)
    looping = asyncio.create_task(reconciler.resync(0.01))
    for _ in range(100):
        if rounds >= 3:
            break
        await asyncio.sleep(0.01)
    assert not looping.done()
    looping.cancel()
    assert rounds >= 3
