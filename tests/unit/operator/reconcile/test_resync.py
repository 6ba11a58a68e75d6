"""The resync loop visits shops side by side, up to the operator's concurrency, so that
one shop whose Kafka does not answer holds up only itself; the limit comes from the
environment and a bad value fails loudly. Each failing shop is retried on a deadline of
its own, and full rounds keep their schedule whatever the retries take."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any, cast

import pytest

from fishshop_operator.kube.api import KubeApi
from fishshop_operator.metrics import OperatorMetrics
from fishshop_operator.reconcile import topics as topics_step
from fishshop_operator.reconcile.reconciler import Reconciler, resync_loop
from fishshop_operator.reconcile.schedule import due_retries, next_look, retry_times
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
    """A shop whose reconcile failed is visited again ``retry`` seconds after each
    failure; the others wait for the next full round; once it works, it is left alone."""
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
    assert list(reconciler.failing()) == [("street", "shop01")]
    looping = asyncio.create_task(reconciler.resync(3600, retry=0.01))
    try:
        for _ in range(200):
            if visits.count("shop01") >= 4:
                break
            await asyncio.sleep(0.01)
        assert visits.count("shop01") >= 4
        assert visits.count("shop00") == visits.count("shop02") == 1
        monkeypatch.setattr(topics_step, "reconcile_topics", kafka.reconcile_topics)
        for _ in range(200):
            if not reconciler.failing():
                break
            await asyncio.sleep(0.01)
        assert reconciler.failing() == {}
        made = len(kafka.made())
        await asyncio.sleep(0.1)
        assert len(kafka.made()) == made
    finally:
        looping.cancel()


async def test_a_slow_failing_shop_paces_only_itself(
    kafka: FakeKafka, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each failing shop has its own deadline: a shop whose Kafka takes its time to
    refuse is retried when its own retry comes, and a shop that fails at once is
    retried ``retry`` seconds after each of its failures, not at the slow one's pace."""
    visits: list[str] = []

    async def refusing(settings: Any, shop: Any, **_: Any) -> TopicsOutcome:
        visits.append(shop.name)
        if shop.name == "shop00":
            await asyncio.sleep(0.3)
        raise RuntimeError("its Kafka refuses")

    monkeypatch.setattr(topics_step, "reconcile_topics", refusing)
    reconciler = _shops(FakeKube(), 2, concurrency=4)
    await reconciler.resync_round()
    assert list(reconciler.failing()) == [("street", "shop00"), ("street", "shop01")]
    looping = asyncio.create_task(reconciler.resync(3600, retry=0.05))
    try:
        for _ in range(300):
            if visits.count("shop01") >= 9:
                break
            await asyncio.sleep(0.01)
    finally:
        looping.cancel()
    slow, quick = visits.count("shop00") - 1, visits.count("shop01") - 1
    # In one round of retries, both would be retried as often as the slow one.
    assert quick >= 8, visits
    assert quick >= 2 * slow + 2, visits


class _Hung:
    """Shops for the loop: one failing shop whose retry never ends, and full rounds
    that take no time."""

    concurrency = 4

    def __init__(self) -> None:
        self.metrics = OperatorMetrics()
        self.failed_at = asyncio.get_running_loop().time()
        self.rounds = 0
        self.retries = 0

    def watched(self) -> list[tuple[str, str]]:
        return [("street", "shop00")]

    def failing(self) -> dict[tuple[str, str], float]:
        return {("street", "shop00"): self.failed_at}

    async def resync_round(self) -> None:
        self.rounds += 1

    async def reconcile_by_name(self, namespace: str, name: str, check_kafka: bool = False) -> None:
        self.retries += 1
        await asyncio.Event().wait()


async def test_full_rounds_keep_their_schedule_while_a_retry_hangs() -> None:
    """A retry runs beside the loop: one that never ends holds up no full round, and
    the shop is not retried again while it runs."""
    shops = _Hung()
    looping = asyncio.create_task(resync_loop(shops, 0.02, retry=0.01))
    try:
        for _ in range(200):
            if shops.rounds >= 5:
                break
            await asyncio.sleep(0.01)
    finally:
        looping.cancel()
        with pytest.raises(asyncio.CancelledError):
            await looping
    assert shops.rounds >= 5
    assert shops.retries == 1


# -- when the loop acts: the decisions alone --------------------------------------------

SHOP_A, SHOP_B = ("street", "a"), ("street", "b")


def test_each_failing_shop_is_retried_retry_seconds_after_its_own_failure() -> None:
    times = retry_times({SHOP_A: 100.0, SHOP_B: 103.5}, retry=10.0, answered={}, busy=())
    assert times == {SHOP_A: 110.0, SHOP_B: 113.5}
    assert due_retries(times, 109.9) == []
    assert due_retries(times, 110.0) == [SHOP_A]
    assert due_retries(times, 120.0) == [SHOP_A, SHOP_B]


def test_a_shop_being_retried_or_retried_for_its_failure_has_no_retry_time() -> None:
    failed = {SHOP_A: 100.0, SHOP_B: 100.0}
    assert retry_times(failed, retry=10.0, answered={}, busy={SHOP_A}) == {SHOP_B: 110.0}
    assert retry_times(failed, retry=10.0, answered={SHOP_A: 100.0}, busy=()) == {SHOP_B: 110.0}
    # It failed again since: that failure has a retry of its own.
    failed[SHOP_A] = 107.0
    assert retry_times(failed, retry=10.0, answered={SHOP_A: 100.0}, busy=()) == {
        SHOP_A: 117.0,
        SHOP_B: 110.0,
    }


def test_the_loop_looks_again_at_the_first_retry_or_full_round() -> None:
    times = {SHOP_A: 112.0, SHOP_B: 104.0}
    assert next_look(times, now=100.0, retry=10.0, full_at=130.0) == 104.0
    assert next_look({}, now=100.0, retry=10.0, full_at=103.0) == 103.0
    # A shop that fails after this look is due no sooner than ``retry`` from now.
    assert next_look({}, now=100.0, retry=10.0, full_at=130.0) == 110.0
    # While a full round runs (full_at None), its end wakes the loop.
    assert next_look({}, now=100.0, retry=None, full_at=None) == math.inf
    assert next_look({}, now=100.0, retry=None, full_at=130.0) == 130.0


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
