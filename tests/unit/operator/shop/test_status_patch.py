"""A status patch is sent only when it would change the shop's status."""

from __future__ import annotations

from typing import Any

import pytest

from fishshop_operator.shop.status_patch import changes

STATUS: dict[str, Any] = {
    "observedGeneration": 3,
    "conditions": [{"type": "Ready", "status": "True"}],
    "preparers": {"replicas": 2, "readyReplicas": 2, "autoscale": {"queue": 0}},
    "queuedOrders": 0,
}


def test_the_same_status_changes_nothing() -> None:
    assert not changes(STATUS, STATUS)


def test_a_part_of_the_status_changes_nothing_when_it_matches() -> None:
    # The autoscaler's own field is left out of the reconcile's patch: merged, kept.
    assert not changes(STATUS, {"preparers": {"replicas": 2}, "queuedOrders": 0})


@pytest.mark.parametrize(
    "patch",
    [
        {"observedGeneration": 4},
        {"conditions": [{"type": "Ready", "status": "False"}]},
        {"conditions": []},
        {"preparers": {"readyReplicas": 1}},
        {"preparers": {"selector": "app=x"}},
        {"preparers": {"autoscale": None}},
        {"queuedForCook": 0},
        {"queuedOrders": None},
        {"preparers": None},
        {"analyst": {"state": "RUNNING"}},
    ],
)
def test_any_difference_is_a_change(patch: dict[str, Any]) -> None:
    assert changes(STATUS, patch)


def test_a_null_for_a_missing_key_changes_nothing() -> None:
    assert not changes(STATUS, {"analyst": None})


def test_a_mapping_where_there_was_none_or_something_else_is_a_change() -> None:
    assert changes({"preparers": 2}, {"preparers": {}})
    assert changes(None, {"queuedOrders": 0})
    assert not changes(None, {})
