"""Unit tests for the autoscale's pure parts: the spec, the decisions, the workloads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from fishshop_operator.autoscale.decisions import (
    Recommendations,
    bounds,
    decide,
    first_sight,
    recommend,
)
from fishshop_operator.autoscale.spec import (
    AutoscaleSpec,
    read_autoscale,
    read_decided_replicas,
)
from fishshop_operator.shop.resource import read_resource
from fishshop_operator.shop.workloads import shop_workloads
from fishshop_workers.shop.spec import ShopSpecError
from tests.support.operator_bodies import shop_body, shop_resource

CRD = Path(__file__).parents[4] / "manifests" / "crd" / "fishshops.fishshop.dev.yaml"

SPEC = AutoscaleSpec(min_replicas=1, max_replicas=5, orders_per_replica=10, window_seconds=60)


# -- the spec ------------------------------------------------------------------------


def test_no_autoscale_section_means_none() -> None:
    assert shop_resource().autoscale == {}


def test_an_autoscale_section_is_read_with_its_defaults() -> None:
    shop = shop_resource(
        preparers={"autoscale": {"maxReplicas": 4}},
        cooks={"autoscale": {"maxReplicas": 2, "ordersPerCook": 3, "minReplicas": 2}},
    )
    assert shop.autoscale == {
        "preparer": AutoscaleSpec(1, 4, 10, 60),
        "cook": AutoscaleSpec(2, 2, 3, 60),
    }


def test_every_field_is_read() -> None:
    section = {
        "minReplicas": 0,
        "maxReplicas": 9,
        "ordersPerPreparer": 25,
        "stabilizationWindowSeconds": 5,
    }
    assert read_autoscale({"preparers": {"autoscale": section}}, "preparer") == AutoscaleSpec(
        0, 9, 25, 5
    )


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("yes", "spec.preparers.autoscale must be a mapping"),
        ({}, "spec.preparers.autoscale.maxReplicas is required"),
        ({"maxReplicas": 0}, "maxReplicas must be a whole number from 1 to 100, not 0"),
        ({"maxReplicas": 101}, "maxReplicas must be a whole number from 1 to 100"),
        ({"maxReplicas": True}, "maxReplicas must be a whole number"),
        ({"maxReplicas": 2.5}, "maxReplicas must be a whole number"),
        ({"maxReplicas": 3, "minReplicas": -1}, "minReplicas must be a whole number from 0 to 100"),
        ({"maxReplicas": 3, "minReplicas": 4}, "minReplicas (4) must not be above maxReplicas (3)"),
        ({"maxReplicas": 3, "ordersPerPreparer": 0}, "ordersPerPreparer must be a whole"),
        ({"maxReplicas": 3, "stabilizationWindowSeconds": -1}, "stabilizationWindowSeconds must"),
        ({"maxReplicas": 3, "stabilizationWindowSeconds": 3601}, "from 0 to 3600"),
    ],
)  # fmt: skip
def test_a_bad_preparers_autoscale_is_refused(section: Any, message: str) -> None:
    with pytest.raises(ShopSpecError) as raised:
        read_autoscale({"preparers": {"autoscale": section}}, "preparer")
    assert message in str(raised.value)


def test_cooks_keep_at_least_one_and_at_most_twenty() -> None:
    with pytest.raises(ShopSpecError, match="minReplicas must be a whole number from 1 to 20"):
        read_autoscale({"cooks": {"autoscale": {"maxReplicas": 2, "minReplicas": 0}}}, "cook")
    with pytest.raises(ShopSpecError, match="maxReplicas must be a whole number from 1 to 20"):
        read_autoscale({"cooks": {"autoscale": {"maxReplicas": 21}}}, "cook")


def test_cooks_that_autoscale_need_plaice_on_the_menu() -> None:
    with pytest.raises(ShopSpecError, match=r"needs spec\.cooks\.replicas of at least 1"):
        shop_resource(cooks={"replicas": 0, "autoscale": {"maxReplicas": 2}})


def test_the_last_decision_is_read_from_the_status() -> None:
    status = {
        "preparers": {"replicas": 3, "autoscale": {"desiredReplicas": 3, "queue": 40}},
        "cooks": {"replicas": 1},
    }
    assert read_decided_replicas(status) == {"preparer": 3}
    assert read_decided_replicas(None) == {}
    assert read_decided_replicas({"preparers": {"autoscale": {"desiredReplicas": "3"}}}) == {}
    body = shop_body(preparers={"autoscale": {"maxReplicas": 4}})
    body["status"] = status
    assert read_resource(body).decided_replicas == {"preparer": 3}


# -- recommendations -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("queue", "partitions", "replicas"),
    [
        (0, 6, 1),  # minReplicas
        (1, 6, 1),
        (10, 6, 1),
        (11, 6, 2),  # rounded up
        (30, 6, 3),
        (31, 6, 4),
        (50, 6, 5),
        (51, 6, 5),  # maxReplicas
        (10_000, 6, 5),
        (40, 3, 3),  # never more than partitions
        (40, 1, 1),
        (-3, 6, 1),  # a count that went negative is no queue
    ],
)
def test_one_replica_per_orders_per_replica_within_bounds(
    queue: int, partitions: int, replicas: int
) -> None:
    assert recommend(queue, SPEC, partitions, "preparer")[0] == replicas


def test_the_reason_says_the_queue_the_rule_and_the_bound_that_held() -> None:
    assert recommend(25, SPEC, 6, "preparer")[1] == "25 orders wait, 10 per preparer: 3 preparers"
    assert recommend(1, SPEC, 6, "preparer")[1] == "1 order waits, 10 per preparer: 1 preparer"
    assert recommend(0, SPEC, 6, "preparer")[1].endswith("kept at minReplicas 1")
    assert recommend(500, SPEC, 6, "preparer")[1].endswith("capped at maxReplicas 5")
    assert recommend(500, SPEC, 3, "cook")[1] == (
        "500 orders wait, 10 per cook: 50 cooks, capped at the topic's 3 partitions"
    )


def test_partitions_cap_the_minimum_too() -> None:
    spec = AutoscaleSpec(4, 8, 10, 60)
    assert bounds(spec, 2) == (2, 2)
    assert recommend(0, spec, 2, "preparer")[0] == 2


def test_zero_preparers_while_nothing_waits_when_min_is_zero() -> None:
    spec = AutoscaleSpec(0, 4, 10, 60)
    assert recommend(0, spec, 4, "preparer")[0] == 0
    assert recommend(1, spec, 4, "preparer")[0] == 1


# -- decisions over time -------------------------------------------------------------


def _look(memory: Recommendations, queue: int, at: float, partitions: int = 6) -> Recommendations:
    return decide(memory, queue, partitions, SPEC, at).memory


def test_first_sight_keeps_what_runs_within_bounds() -> None:
    assert first_sight(3, SPEC, 6, now=0).replicas == 3
    assert first_sight(9, SPEC, 6, now=0).replicas == 5
    assert first_sight(0, SPEC, 6, now=0).replicas == 1
    assert first_sight(5, SPEC, 2, now=0).replicas == 2


def test_scales_up_at_once() -> None:
    decision = decide(first_sight(1, SPEC, 6, now=0), 45, 6, SPEC, now=1)
    assert decision.replicas == 5
    assert decision.scaled and decision.previous == 1
    assert decision.memory.last_scale == 1


def test_scales_down_only_after_the_window() -> None:
    memory = decide(first_sight(1, SPEC, 6, now=0), 45, 6, SPEC, now=1).memory
    for at in (10, 30, 60):  # the queue is gone, but 5 were wanted within the window
        decision = decide(memory, 0, 6, SPEC, now=at)
        assert decision.replicas == 5, at
        assert not decision.scaled
        assert "5 preparers kept for the 60s window before scaling down" in decision.reason
        memory = decision.memory
    decision = decide(memory, 0, 6, SPEC, now=61.5)
    assert decision.replicas == 1
    assert decision.scaled and decision.memory.last_scale == 61.5


def test_scales_down_to_the_highest_recommendation_of_the_window() -> None:
    memory = first_sight(1, SPEC, 6, now=0)
    memory = _look(memory, 50, 0)  # 5
    memory = _look(memory, 30, 40)  # 3, while 5 still holds
    assert memory.replicas == 5
    memory = _look(memory, 0, 70)  # 5 has left the window; 3 (at 40) has not
    assert memory.replicas == 3
    memory = _look(memory, 0, 101)
    assert memory.replicas == 1


def test_a_burst_that_pauses_does_not_flap() -> None:
    memory = first_sight(1, SPEC, 6, now=0)
    seen = []
    for second in range(0, 120, 5):
        queue = 40 if (second // 15) % 2 == 0 else 0  # 15 s busy, 15 s idle
        memory = _look(memory, queue, second)
        seen.append(memory.replicas)
    assert seen[0] == 4
    assert set(seen) == {4}


def test_a_fresh_look_does_not_scale_down_before_a_window() -> None:
    """A restarted operator counts what runs as wanted now."""
    memory = first_sight(4, SPEC, 6, now=100)
    assert _look(memory, 0, 130).replicas == 4
    assert _look(_look(memory, 0, 130), 0, 161).replicas == 1


def test_a_zero_window_follows_the_queue_both_ways() -> None:
    spec = AutoscaleSpec(1, 5, 10, 0)
    memory = first_sight(1, spec, 6, now=0)
    memory = decide(memory, 50, 6, spec, now=1).memory
    assert memory.replicas == 5
    memory = decide(memory, 0, 6, spec, now=2).memory
    assert memory.replicas == 1


def test_smaller_bounds_hold_at_once() -> None:
    memory = _look(first_sight(1, SPEC, 6, now=0), 50, 1)
    assert memory.replicas == 5
    smaller = AutoscaleSpec(1, 2, 10, 60)
    decision = decide(memory, 50, 6, smaller, now=2)
    assert decision.replicas == 2
    assert "capped at maxReplicas 2" in decision.reason


def test_fewer_partitions_than_replicas_hold_at_once() -> None:
    memory = _look(first_sight(1, SPEC, 6, now=0), 50, 1)
    decision = decide(memory, 0, 2, SPEC, now=2)
    assert decision.replicas == 2
    assert "bounds are now 1..2" in decision.reason


def test_a_larger_minimum_holds_at_once() -> None:
    memory = first_sight(1, SPEC, 6, now=0)
    decision = decide(memory, 0, 6, AutoscaleSpec(3, 5, 10, 60), now=1)
    assert decision.replicas == 3
    assert decision.scaled


def test_history_keeps_only_the_window() -> None:
    memory = first_sight(1, SPEC, 6, now=0)
    for second in range(0, 600, 5):
        memory = _look(memory, 0, second)
    assert len(memory.history) <= 60 // 5 + 1
    assert all(595 - when < 60 for when, _ in memory.history)


def test_history_stays_short_with_a_long_window() -> None:
    spec = AutoscaleSpec(1, 100, 1, 3600)
    memory = first_sight(1, spec, 100, now=0)
    for second in range(0, 3600, 3):
        memory = decide(memory, (second * 7) % 101, 100, spec, now=second).memory
        assert len(memory.history) <= 100
    assert memory.replicas == 100


def test_the_same_queue_keeps_the_same_replicas_and_last_scale_time() -> None:
    memory = _look(first_sight(1, SPEC, 6, now=0), 25, 1)
    again = decide(memory, 25, 6, SPEC, now=6)
    assert again.replicas == 3 and not again.scaled
    assert again.memory.last_scale == 1


# -- workloads -----------------------------------------------------------------------


def _replicas(manifests: list[dict[str, Any]]) -> dict[str, int]:
    return {
        m["metadata"]["labels"]["app.kubernetes.io/component"]: m["spec"]["replicas"]
        for m in manifests
        if m["kind"] != "Service"
    }


def test_decided_replicas_win_over_the_spec() -> None:
    shop = shop_resource(preparers={"autoscale": {"maxReplicas": 4}})
    assert _replicas(shop_workloads(shop, "img")) == {"till": 3, "preparer": 2, "cook": 1}
    decided = shop_workloads(shop, "img", replicas={"preparer": 4, "cook": 3})
    assert _replicas(decided) == {"till": 3, "preparer": 4, "cook": 3}
    only = shop_workloads(shop, "img", replicas={"preparer": 0})
    assert _replicas(only) == {"till": 3, "preparer": 0, "cook": 1}


def test_decided_replicas_change_nothing_else() -> None:
    shop = shop_resource()
    plain = shop_workloads(shop, "img")
    decided = shop_workloads(shop, "img", replicas={"preparer": 5})
    for before, after in zip(plain, decided, strict=True):
        if before["kind"] == "Deployment":
            before = {**before, "spec": {**before["spec"], "replicas": None}}
            after = {**after, "spec": {**after["spec"], "replicas": None}}
        assert before == after


def test_a_queue_taken_from_offsets_says_so_in_the_reason() -> None:
    counted = decide(first_sight(1, SPEC, 6, 0.0), 45, 6, SPEC, 1.0)
    estimated = decide(first_sight(1, SPEC, 6, 0.0), 45, 6, SPEC, 1.0, estimated=True)
    assert counted.replicas == estimated.replicas == 5
    assert "estimated" not in counted.reason
    assert estimated.reason.startswith("about 45 orders wait (estimated from offsets)")


# -- the CRD's words ------------------------------------------------------------------


def _role_schema(section: str) -> dict[str, Any]:
    crd = yaml.safe_load(CRD.read_text())
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    role: dict[str, Any] = schema["properties"]["spec"]["properties"][section]
    return role


@pytest.mark.parametrize(("section", "default"), [("preparers", 2), ("cooks", 1)])
def test_a_refused_replicas_says_that_leaving_it_out_sets_its_default(
    section: str, default: int
) -> None:
    role = _role_schema(section)
    assert role["properties"]["replicas"]["default"] == default
    refusal = next(
        rule["message"]
        for rule in role["x-kubernetes-validations"]
        if "oldSelf.replicas" in rule["rule"]
    )
    assert f"leaves replicas out sets its default ({default})" in refusal


def test_cooks_replicas_says_0_is_refused_while_cooks_autoscale() -> None:
    described = " ".join(_role_schema("cooks")["properties"]["replicas"]["description"].split())
    assert "0 still takes plaice off the menu" not in described
    assert "refused as 0" in described
