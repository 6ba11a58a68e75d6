"""Topics made in this reconcile hold nothing yet: their queues read 0 without a count
(a count on brand-new topics waits for their metadata and their groups' coordinator,
and held up every new shop's first status by seconds)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from fishshop_operator.kafka import topics as shop_kafka
from fishshop_operator.kube.api import KubeApi
from fishshop_operator.metrics import OperatorMetrics
from fishshop_operator.reconcile import topics as topics_step
from fishshop_operator.reconcile.reconciler import Reconciler
from fishshop_operator.shop.conditions import TopicsOutcome
from fishshop_operator.shop.resource import read_resource
from fishshop_workers.kafka.settings import KafkaSettings
from fishshop_workers.shop.topics import TopicPlan
from tests.support.operator_bodies import shop_body
from tests.support.operator_fakes import FakeKafka, FakeKube


def _plan(create: list[str], grow: dict[str, int] | None = None) -> TopicPlan:
    return TopicPlan(create=dict.fromkeys(create, 3), grow=grow or {})


@pytest.mark.parametrize(
    ("made", "queued"),
    [
        (["orders", "cook", "served", "dlq"], (0, 0)),
        (["orders", "cook"], (0, 0)),
        (["served"], (None, None)),  # orders may wait in the topics that were there
        (["cook"], (None, None)),
        ([], (None, None)),
    ],
)
async def test_queues_of_topics_made_now_read_zero(
    monkeypatch: pytest.MonkeyPatch, made: list[str], queued: tuple[int | None, int | None]
) -> None:
    shop = read_resource(shop_body())
    names = {"orders": shop.topics.orders, "cook": shop.topics.cook}
    names.update(served=shop.topics.served, dlq=shop.topics.dlq)

    async def ensure(*_: Any) -> TopicPlan:
        return _plan([names[m] for m in made])

    monkeypatch.setattr(shop_kafka, "_ensure_topics", ensure)
    outcome = await shop_kafka.reconcile_topics(KafkaSettings("kafka:9092"), shop)
    assert outcome.ready
    assert (outcome.queued_orders, outcome.queued_for_cook) == queued


async def test_a_reconcile_does_not_count_queues_it_knows_are_empty(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    kafka = FakeKafka()

    async def made_now(settings: Any, shop: Any, **_: Any) -> TopicsOutcome:
        kafka.calls.append(("topics", shop.topic_prefix, settings))
        return TopicsOutcome(True, "TopicsCreated", "created", shop.spec.partitions, 0, 0)

    monkeypatch.setattr(topics_step, "reconcile_topics", made_now)
    monkeypatch.setattr(topics_step, "queue_state", kafka.queue_state)
    kube = FakeKube()
    reconciler = Reconciler(cast(KubeApi, kube), "fishshop:test", OperatorMetrics(), tmp_path)
    await reconciler.reconcile(shop_body())
    assert [call[0] for call in kafka.calls] == ["topics"]
    assert kube.statuses[-1]["queuedOrders"] == 0
    assert kube.statuses[-1]["queuedForCook"] == 0
