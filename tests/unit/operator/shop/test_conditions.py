"""Unit tests for fishshop_operator.shop.conditions: the status written after a reconcile."""

from __future__ import annotations

from typing import Any

import pytest

from fishshop_operator.shop.conditions import (
    CabinetOutcome,
    Observed,
    RoleCount,
    TopicsOutcome,
    shop_status,
)
from fishshop_operator.shop.workloads import shop_workloads
from tests.support.operator_bodies import shop_resource


def _settled(replicas: int, ready: int) -> RoleCount:
    """A workload whose rollout is done: every pod runs the current template."""
    running = max(replicas, ready)
    return RoleCount(replicas, ready, running, running, generation=2, observed_generation=2)


EARLIER = "2024-05-01T10:00:00Z"
NOW = "2024-05-01T10:05:00Z"

TOPICS_OK = TopicsOutcome(True, "TopicsCreated", "topics exist", partitions=3, queued_orders=0)
TOPICS_DOWN = TopicsOutcome(False, "KafkaUnreachable", "Kafka at k:9092 did not answer")
ALL_READY = {
    "till": _settled(3, 3),
    "preparer": _settled(2, 2),
    "cook": _settled(1, 1),
}


def _status(
    topics: TopicsOutcome = TOPICS_OK,
    roles: dict[str, RoleCount] | None = None,
    workloads_error: str | None = None,
    previous: list[dict[str, Any]] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    observed = Observed(topics, ALL_READY if roles is None else roles, workloads_error)
    return shop_status(shop_resource(generation=4, **spec), observed, previous or [], NOW)


def _conditions(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in status["conditions"]}


def _summary(status: dict[str, Any], kind: str) -> tuple[str, str]:
    condition = _conditions(status)[kind]
    return condition["status"], condition["reason"]


def test_three_conditions_ready_first() -> None:
    assert [c["type"] for c in _status()["conditions"]] == [
        "Ready",
        "TopicsReady",
        "WorkersAvailable",
    ]


def test_an_open_shop_with_everything_ready() -> None:
    conditions = _conditions(_status())
    assert conditions["Ready"]["status"] == "True"
    assert conditions["Ready"]["reason"] == "ShopOpen"
    assert conditions["Ready"]["message"] == "the shop is open and serving"
    assert _summary(_status(), "TopicsReady") == ("True", "TopicsCreated")
    assert _summary(_status(), "WorkersAvailable") == ("True", "AllPodsReady")
    assert conditions["WorkersAvailable"]["message"] == "6 workers ready"


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("KafkaUnreachable", "Kafka at k:9092 did not answer"),
        ("TopicsOwnedByAnotherShop", "the topics x.* belong to shop docks/pier"),
        ("TLSSecretInvalid", "Secret seaside/certs does not exist"),
    ],
)
def test_topics_not_ready_makes_the_shop_not_ready(reason: str, message: str) -> None:
    status = _status(TopicsOutcome(False, reason, message))
    conditions = _conditions(status)
    assert _summary(status, "TopicsReady") == ("False", reason)
    assert conditions["TopicsReady"]["message"] == message
    assert _summary(status, "Ready") == ("False", reason)
    assert conditions["Ready"]["message"] == message


def test_topics_are_reported_before_workers() -> None:
    status = _status(TOPICS_DOWN, roles={"preparer": _settled(2, 0)})
    assert _summary(status, "WorkersAvailable") == ("False", "PodsNotReady")
    assert _summary(status, "Ready") == ("False", "KafkaUnreachable")


@pytest.mark.parametrize(
    ("roles", "waiting"),
    [
        ({"till": _settled(3, 1)}, "1/3 tills ready"),
        ({"till": _settled(3, 3), "preparer": _settled(2, 0)}, "0/2 preparers ready"),
        (
            {"preparer": _settled(2, 1), "cook": _settled(1, 0)},
            "1/2 preparers ready, 0/1 cooks ready",
        ),
    ],
)
def test_pods_not_ready(roles: dict[str, RoleCount], waiting: str) -> None:
    status = _status(roles=roles)
    conditions = _conditions(status)
    assert _summary(status, "WorkersAvailable") == ("False", "PodsNotReady")
    assert conditions["WorkersAvailable"]["message"] == f"waiting for pods: {waiting}"
    assert _summary(status, "Ready") == ("False", "PodsNotReady")
    assert conditions["Ready"]["message"] == conditions["WorkersAvailable"]["message"]


def test_more_ready_pods_than_asked_for_is_not_waiting() -> None:
    """Scaling down: old pods are still ready for a moment."""
    status = _status(roles={"preparer": _settled(1, 2)})
    assert _summary(status, "WorkersAvailable") == ("True", "AllPodsReady")


def test_workloads_that_cannot_be_applied() -> None:
    status = _status(roles={}, workloads_error="forbidden: cannot create statefulsets")
    conditions = _conditions(status)
    assert _summary(status, "WorkersAvailable") == ("False", "WorkloadsNotApplied")
    assert conditions["WorkersAvailable"]["message"] == "forbidden: cannot create statefulsets"
    assert _summary(status, "Ready") == ("False", "WorkloadsNotApplied")


@pytest.mark.parametrize(
    ("queued", "message"),
    [
        (7, "the shop is closed; 7 orders still queued"),
        (0, "the shop is closed; 0 orders still queued"),
        (None, "the shop is closed"),
    ],
)
def test_a_closed_shop_is_ready_and_says_what_is_queued(queued: int | None, message: str) -> None:
    topics = TopicsOutcome(True, "TopicsCreated", "ok", partitions=3, queued_orders=queued)
    roles = {**ALL_READY, "till": _settled(0, 0)}
    status = _status(topics, roles, open=False)
    conditions = _conditions(status)
    assert _summary(status, "Ready") == ("True", "ShopClosed")
    assert conditions["Ready"]["message"] == message
    assert _summary(status, "WorkersAvailable") == ("True", "ShopClosed")
    assert conditions["WorkersAvailable"]["message"] == (
        "the shop is closed; 3 workers finishing the queue"
    )
    assert status["open"] is False


def test_a_closed_shop_still_waits_for_its_pods() -> None:
    status = _status(roles={"preparer": _settled(2, 1)}, open=False)
    assert _summary(status, "Ready") == ("False", "PodsNotReady")


def test_condition_fields_and_observed_generation() -> None:
    status = _status()
    assert status["observedGeneration"] == 4
    for condition in status["conditions"]:
        assert set(condition) == {
            "type",
            "status",
            "reason",
            "message",
            "lastTransitionTime",
            "observedGeneration",
        }
        assert condition["status"] in {"True", "False"}
        assert condition["observedGeneration"] == 4
        assert condition["reason"].isalnum()
        assert condition["reason"][0].isupper()


def test_first_status_moves_every_transition_time_to_now() -> None:
    for condition in _status()["conditions"]:
        assert condition["lastTransitionTime"] == NOW


def _previous(kind: str, status: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "status": status,
        "reason": "Before",
        "message": "before",
        "lastTransitionTime": EARLIER,
        "observedGeneration": 3,
        **fields,
    }


@pytest.mark.parametrize("kind", ["Ready", "TopicsReady", "WorkersAvailable"])
def test_transition_time_is_kept_while_the_status_stays(kind: str) -> None:
    condition = _conditions(_status(previous=[_previous(kind, "True")]))[kind]
    assert condition["lastTransitionTime"] == EARLIER
    assert condition["reason"] != "Before"  # reason, message, generation are current
    assert condition["observedGeneration"] == 4


@pytest.mark.parametrize("kind", ["Ready", "TopicsReady", "WorkersAvailable"])
@pytest.mark.parametrize("before", ["False", "Unknown"])
def test_transition_time_moves_when_the_status_changes(kind: str, before: str) -> None:
    condition = _conditions(_status(previous=[_previous(kind, before)]))[kind]
    assert condition["status"] == "True"
    assert condition["lastTransitionTime"] == NOW


def test_each_condition_keeps_its_own_transition_time() -> None:
    previous = [
        _previous("Ready", "True"),
        _previous("TopicsReady", "True"),
        _previous("WorkersAvailable", "True"),
    ]
    conditions = _conditions(_status(TOPICS_DOWN, previous=previous))
    assert conditions["Ready"]["lastTransitionTime"] == NOW
    assert conditions["TopicsReady"]["lastTransitionTime"] == NOW
    assert conditions["WorkersAvailable"]["lastTransitionTime"] == EARLIER


def test_a_change_of_reason_alone_keeps_the_transition_time() -> None:
    """Open to closed: Ready stays True, its reason changes."""
    previous = [_previous("Ready", "True", reason="ShopOpen")]
    ready = _conditions(_status(previous=previous, open=False))["Ready"]
    assert ready["reason"] == "ShopClosed"
    assert ready["lastTransitionTime"] == EARLIER


def test_previous_condition_without_a_time_gets_now() -> None:
    previous = _previous("Ready", "True")
    del previous["lastTransitionTime"]
    assert _conditions(_status(previous=[previous]))["Ready"]["lastTransitionTime"] == NOW


def test_malformed_previous_conditions_are_ignored() -> None:
    previous: list[Any] = ["Ready", None, {"status": "True"}, _previous("Ready", "True")]
    conditions = _conditions(_status(previous=previous))
    assert conditions["Ready"]["lastTransitionTime"] == EARLIER
    assert conditions["TopicsReady"]["lastTransitionTime"] == NOW


@pytest.mark.parametrize(
    ("spec", "prefix"),
    [({}, "fishshop.seaside.harbour"), ({"topicPrefix": "custom.harbour"}, "custom.harbour")],
)
def test_topics_block(spec: dict[str, Any], prefix: str) -> None:
    assert _status(**spec)["topics"] == {
        "orders": f"{prefix}.orders",
        "cook": f"{prefix}.cook",
        "served": f"{prefix}.served",
        "dlq": f"{prefix}.dlq",
        "partitions": 3,
    }


def test_partitions_and_queued_orders_only_when_known() -> None:
    known = _status(TopicsOutcome(True, "TopicsCreated", "ok", partitions=6, queued_orders=12))
    assert known["topics"]["partitions"] == 6
    assert known["queuedOrders"] == 12
    unknown = _status(TOPICS_DOWN)
    assert "partitions" not in unknown["topics"]
    assert "queuedOrders" not in unknown


@pytest.mark.parametrize("is_open", [True, False])
def test_open_follows_the_spec(is_open: bool) -> None:
    assert _status(open=is_open)["open"] is is_open


def test_per_role_counts() -> None:
    roles = {"till": _settled(3, 2), "preparer": _settled(2, 2), "cook": _settled(0, 0)}
    status = _status(roles=roles)
    assert status["tills"] == {
        "replicas": 3,
        "readyReplicas": 2,
        "updatedReplicas": 3,
        "selector": "fishshop.dev/shop=harbour,app.kubernetes.io/component=till",
    }
    assert (status["preparers"]["replicas"], status["preparers"]["readyReplicas"]) == (2, 2)
    assert (status["cooks"]["replicas"], status["cooks"]["readyReplicas"]) == (0, 0)


def test_roles_not_observed_are_left_out() -> None:
    status = _status(TOPICS_DOWN, roles={"preparer": _settled(2, 2)})
    assert "preparers" in status
    assert "tills" not in status
    assert "cooks" not in status


def test_role_selector_is_the_workloads_selector() -> None:
    """The scale subresource reads .status.preparers.selector to find the pods."""
    status = _status()
    shop = shop_resource()
    for manifest in shop_workloads(shop, "image"):
        if manifest["kind"] == "Service":
            continue
        role = manifest["metadata"]["labels"]["app.kubernetes.io/component"]
        selector = status[f"{role}s"]["selector"]
        parsed = dict(term.split("=", 1) for term in selector.split(","))
        assert parsed == manifest["spec"]["selector"]["matchLabels"]


# -- a rollout counts as done only when every pod runs the current template ------------


def _rolling(
    replicas: int = 2,
    ready: int = 2,
    updated: int = 2,
    running: int = 2,
    generation: int = 5,
    observed: int = 5,
) -> dict[str, RoleCount]:
    return {
        **ALL_READY,
        "preparer": RoleCount(replicas, ready, updated, running, generation, observed),
    }


@pytest.mark.parametrize(
    ("roles", "message"),
    [
        (
            _rolling(observed=4),
            "rolling out: the preparers' controller has not acted on generation 5 yet "
            "(it has seen 4)",
        ),
        (_rolling(updated=1, running=3), "rolling out: 1/2 preparers updated"),
        (_rolling(updated=2, running=3), "rolling out: 1 old preparer still running"),
        (_rolling(updated=2, running=4), "rolling out: 2 old preparers still running"),
        (_rolling(updated=0, running=2), "rolling out: 0/2 preparers updated"),
    ],
    ids=["generation-not-seen", "half-updated", "old-pod-left", "old-pods-left", "stuck"],
)
def test_a_rollout_in_progress_is_not_ready(roles: dict[str, RoleCount], message: str) -> None:
    """Old pods stay ready while a stuck rollout's new pods never start: readyReplicas
    alone would say all is well."""
    status = _status(roles=roles)
    conditions = _conditions(status)
    assert _summary(status, "WorkersAvailable") == ("False", "RolloutInProgress")
    assert conditions["WorkersAvailable"]["message"] == message
    assert _summary(status, "Ready") == ("False", "RolloutInProgress")
    assert conditions["Ready"]["message"] == message


def test_a_new_workload_waits_for_its_controller() -> None:
    status = _status(roles={**ALL_READY, "cook": RoleCount(1, 0, 0, 0, 1, 0)})
    assert _summary(status, "WorkersAvailable") == ("False", "RolloutInProgress")


def test_a_rollout_is_reported_before_pods_that_are_not_ready() -> None:
    roles = {**_rolling(updated=1, running=3), "till": _settled(3, 1)}
    status = _status(roles=roles)
    assert _summary(status, "WorkersAvailable") == ("False", "RolloutInProgress")


def test_a_finished_rollout_with_ready_pods_is_ready() -> None:
    status = _status(roles=_rolling(generation=7, observed=7))
    assert _summary(status, "Ready") == ("True", "ShopOpen")


def test_updated_pods_that_are_not_ready_yet() -> None:
    status = _status(roles=_rolling(ready=1))
    assert _summary(status, "WorkersAvailable") == ("False", "PodsNotReady")
    assert _conditions(status)["Ready"]["message"] == "waiting for pods: 1/2 preparers ready"


def test_a_controller_ahead_of_the_applied_generation_is_fine() -> None:
    """The controller may have seen a newer generation than the object the operator read."""
    status = _status(roles=_rolling(generation=5, observed=6))
    assert _summary(status, "Ready") == ("True", "ShopOpen")


# -- plaice waiting for a cook ----------------------------------------------------------


def _for_cook(waiting: int | None) -> TopicsOutcome:
    return TopicsOutcome(
        True, "TopicsCreated", "ok", partitions=3, queued_orders=0, queued_for_cook=waiting
    )


NO_COOK = {**ALL_READY, "cook": _settled(0, 0)}


@pytest.mark.parametrize(
    ("waiting", "message"),
    [
        (4, "4 orders wait for a cook; scale spec.cooks.replicas"),
        (1, "1 order waits for a cook; scale spec.cooks.replicas"),
    ],
)
def test_plaice_waiting_in_a_shop_without_a_cook_is_said_plainly(
    waiting: int, message: str
) -> None:
    status = _status(_for_cook(waiting), NO_COOK, cooks={"replicas": 0})
    conditions = _conditions(status)
    assert _summary(status, "WorkersAvailable") == ("False", "NoCook")
    assert conditions["WorkersAvailable"]["message"] == message
    assert _summary(status, "Ready") == ("False", "NoCook")
    assert conditions["Ready"]["message"] == message
    assert status["queuedForCook"] == waiting


@pytest.mark.parametrize("is_open", [True, False])
def test_a_closed_shop_without_a_cook_cannot_finish_its_plaice(is_open: bool) -> None:
    roles = {**NO_COOK, "till": _settled(0, 0)}
    status = _status(_for_cook(2), roles, cooks={"replicas": 0}, open=is_open)
    assert _summary(status, "Ready") == ("False", "NoCook")


@pytest.mark.parametrize("waiting", [0, None])
def test_a_shop_without_a_cook_and_nothing_for_one_is_ready(waiting: int | None) -> None:
    status = _status(_for_cook(waiting), NO_COOK, cooks={"replicas": 0})
    assert _summary(status, "Ready") == ("True", "ShopOpen")


def test_orders_for_a_cook_that_is_there_are_just_counted() -> None:
    status = _status(_for_cook(9))
    assert _summary(status, "Ready") == ("True", "ShopOpen")
    assert status["queuedForCook"] == 9


def test_queued_for_cook_only_when_known() -> None:
    assert "queuedForCook" not in _status(TOPICS_DOWN)
    assert "queuedForCook" not in _status(_for_cook(None))


# -- the hot cabinet: a condition of its own while it is on, part of Ready -------------

CABINET = {"hotCabinet": {"redisUrl": "redis://redis:6379"}}
REDIS_UP = CabinetOutcome(True, "CabinetReady", "Redis at redis://redis:6379 answers")
REDIS_DOWN = CabinetOutcome(
    False, "RedisUnreachable", "the hot cabinet's Redis at redis://redis:6379 cannot be used"
)


def _cabinet_status(
    cabinet: CabinetOutcome | None,
    topics: TopicsOutcome = TOPICS_OK,
    roles: dict[str, RoleCount] | None = None,
    previous: list[dict[str, Any]] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    observed = Observed(topics, ALL_READY if roles is None else roles, None, cabinet)
    shop = shop_resource(generation=4, **{**CABINET, **spec})
    return shop_status(shop, observed, previous or [], NOW)


def test_no_cabinet_condition_while_the_cabinet_is_off() -> None:
    assert "CabinetReady" not in _conditions(_status())
    # Even if something was observed: the spec decides whether the cabinet is on.
    observed = Observed(TOPICS_OK, ALL_READY, None, REDIS_DOWN)
    status = shop_status(shop_resource(generation=4), observed, [], NOW)
    assert "CabinetReady" not in _conditions(status)
    assert _summary(status, "Ready") == ("True", "ShopOpen")


def test_a_shop_with_a_cabinet_that_answers_is_ready() -> None:
    status = _cabinet_status(REDIS_UP)
    assert [c["type"] for c in status["conditions"]] == [
        "Ready",
        "TopicsReady",
        "WorkersAvailable",
        "CabinetReady",
    ]
    cabinet = _conditions(status)["CabinetReady"]
    assert (cabinet["status"], cabinet["reason"]) == ("True", "CabinetReady")
    assert cabinet["message"] == REDIS_UP.message
    assert cabinet["observedGeneration"] == 4
    assert cabinet["lastTransitionTime"] == NOW
    assert _summary(status, "Ready") == ("True", "ShopOpen")


@pytest.mark.parametrize(
    "reason", ["RedisUnreachable", "RedisAuthenticationFailed", "CredentialsSecretInvalid"]
)
def test_a_cabinet_that_does_not_answer_makes_the_shop_not_ready(reason: str) -> None:
    status = _cabinet_status(CabinetOutcome(False, reason, "what to fix"))
    assert _summary(status, "CabinetReady") == ("False", reason)
    assert _summary(status, "Ready") == ("False", reason)
    assert _conditions(status)["Ready"]["message"] == "what to fix"


def test_redis_is_reported_after_kafka_and_before_the_pods() -> None:
    """Pods that wait for Redis are a symptom; Redis is the cause. Kafka comes first."""
    waiting = {"preparer": _settled(2, 0)}
    status = _cabinet_status(REDIS_DOWN, roles=waiting)
    assert _summary(status, "WorkersAvailable") == ("False", "PodsNotReady")
    assert _summary(status, "Ready") == ("False", "RedisUnreachable")
    status = _cabinet_status(REDIS_DOWN, topics=TOPICS_DOWN, roles=waiting)
    assert _summary(status, "Ready") == ("False", "KafkaUnreachable")
    assert _summary(status, "CabinetReady") == ("False", "RedisUnreachable")


def test_a_cabinet_not_asked_yet_is_not_ready() -> None:
    status = _cabinet_status(None)
    assert _summary(status, "CabinetReady") == ("False", "CabinetNotChecked")
    assert _summary(status, "Ready") == ("False", "CabinetNotChecked")


def test_a_closed_shop_with_its_cabinet_up_is_ready_and_closed() -> None:
    assert _summary(_cabinet_status(REDIS_UP, open=False), "Ready") == ("True", "ShopClosed")


def test_the_cabinet_transition_time_moves_only_with_its_status() -> None:
    before = [
        {"type": "CabinetReady", "status": "False", "reason": "RedisUnreachable",
         "lastTransitionTime": EARLIER},
    ]  # fmt: skip
    down = _conditions(_cabinet_status(REDIS_DOWN, previous=before))["CabinetReady"]
    assert down["lastTransitionTime"] == EARLIER
    up = _conditions(_cabinet_status(REDIS_UP, previous=before))["CabinetReady"]
    assert up["lastTransitionTime"] == NOW
