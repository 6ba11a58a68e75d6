"""Unit tests for fishshop_workers.roles.preparer.batch_size_for."""

from __future__ import annotations

import pytest

from fishshop_workers.roles.preparer import batch_size_for


@pytest.mark.parametrize(
    ("slowest", "budget", "expected"),
    [
        (1.0, 5.0, 5),
        (0.5, 5.0, 10),
        (2.0, 5.0, 2),
        (3.0, 5.0, 1),
        (5.0, 5.0, 1),
        (60.0, 5.0, 1),
        (0.01, 5.0, 500),
        (0.001, 5.0, 2000),
        (0.0, 5.0, 2000),
        (-1.0, 5.0, 2000),
        (1.0, 30.0, 30),
        (0.3, 1.0, 3),
    ],
)
def test_batch_size_for(slowest: float, budget: float, expected: int) -> None:
    assert batch_size_for(slowest, budget) == expected


def test_default_budget_is_five_seconds() -> None:
    assert batch_size_for(1.0) == 5
    assert batch_size_for(0.5) == 10


def test_batch_of_slowest_orders_fits_the_budget() -> None:
    for tenths in range(1, 60):
        slowest = tenths / 10
        size = batch_size_for(slowest)
        assert 1 <= size <= 2000
        assert size == 1 or size * slowest <= 5.0 + 1e-9
        assert isinstance(size, int)


@pytest.mark.parametrize(
    ("work", "poll", "rebalance", "transaction"),
    [
        (0.0, 300_000, 60_000, 60_000),
        (5.0, 300_000, 60_000, 60_000),
        (60.0, 300_000, 150_000, 60_000),
        (600.0, 1_230_000, 1_230_000, 60_000),
        (3600.0, 7_230_000, 7_230_000, 60_000),
    ],
)
def test_kafka_timeouts_follow_how_long_a_batch_may_take(
    work: float, poll: int, rebalance: int, transaction: int
) -> None:
    """A preparer slower than Kafka's defaults is not evicted again and again."""
    from fishshop_workers.kafka.exactly_once import LoopTimeouts

    assert LoopTimeouts.for_work(work) == LoopTimeouts(poll, rebalance, transaction)


def test_preparers_and_cooks_give_their_loop_the_time_their_work_takes() -> None:
    from prometheus_client import CollectorRegistry

    from fishshop_workers.kafka.settings import KafkaSettings
    from fishshop_workers.roles.cook import Cook, CookSettings
    from fishshop_workers.roles.metrics import ShopMetrics
    from fishshop_workers.roles.options import WorkerOptions
    from fishshop_workers.roles.preparer import Preparer, PreparerSettings

    options = WorkerOptions("harbour", "fishshop.harbour", KafkaSettings("kafka:9092"), "w")

    def metrics(role: str) -> ShopMetrics:
        return ShopMetrics("harbour", role, "w", CollectorRegistry())

    slow_hands = Preparer(options, PreparerSettings(55.0, 60.0), metrics("preparer"))
    assert slow_hands.loop.max_records == 1  # one order at a time: 60 s of work
    assert slow_hands.loop.timeouts.rebalance_ms == 150_000
    slow_fryer = Cook(options, CookSettings(50.0, 60.0), metrics("cook"))
    assert slow_fryer.loop.timeouts.rebalance_ms == 150_000
    quick = Preparer(options, PreparerSettings(0.5, 1.0), metrics("preparer"))
    assert quick.loop.timeouts.rebalance_ms == 60_000
