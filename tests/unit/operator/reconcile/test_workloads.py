"""An event from one of a shop's workloads reconciles the shop without applying again
what nobody changed: the event's own counts serve. A changed spec (new generation), a
workload gone, a changed manifest, or a resync applies again."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, cast

from fishshop_operator.kube.api import KubeApi
from fishshop_operator.metrics import OperatorMetrics
from fishshop_operator.reconcile.reconciler import Reconciler
from tests.support.operator_bodies import shop_body
from tests.support.operator_fakes import FakeKafka, FakeKube


async def _open_shop(tmp_path: Path) -> tuple[FakeKube, Reconciler, dict[str, dict[str, Any]]]:
    body = shop_body("harbour", "seaside")
    kube = FakeKube(body)
    reconciler = Reconciler(cast(KubeApi, kube), "fishshop:test", OperatorMetrics(), tmp_path)
    reconciler.track("seaside", "harbour", gone=False, body=body)
    await reconciler.reconcile(copy.deepcopy(body))
    workloads = {
        m["metadata"]["name"]: m for m in kube.applied if m["kind"] in ("Deployment", "StatefulSet")
    }
    assert set(workloads) == {"harbour-till", "harbour-preparer", "harbour-cook"}
    kube.applied.clear()
    return kube, reconciler, workloads


def _event(
    manifest: dict[str, Any], generation: int = 1, ready: int | None = None
) -> dict[str, Any]:
    """The workload as the watch shows it after the apply (FakeKube's uid)."""
    body = copy.deepcopy(manifest)
    replicas = body["spec"].get("replicas", 0)
    body["metadata"].update(uid=f"uid-{body['metadata']['name']}", generation=generation)
    body["status"] = {
        "observedGeneration": generation,
        "replicas": replicas,
        "readyReplicas": replicas if ready is None else ready,
        "updatedReplicas": replicas,
    }
    return body


async def test_status_events_apply_nothing_and_their_counts_reach_the_status(
    kafka: FakeKafka, tmp_path: Path
) -> None:
    kube, reconciler, workloads = await _open_shop(tmp_path)
    for name, manifest in workloads.items():
        ready = 0 if name == "harbour-preparer" else None
        reconciler.saw_workload("seaside", "harbour", _event(manifest, ready=ready), gone=False)
    await reconciler.reconcile_by_name("seaside", "harbour")
    assert kube.applied == []
    ready = kube.statuses[-1]["conditions"][0]
    assert (ready["status"], ready["reason"]) == ("False", "PodsNotReady")
    reconciler.saw_workload("seaside", "harbour", _event(workloads["harbour-preparer"]), gone=False)
    await reconciler.reconcile_by_name("seaside", "harbour")
    assert kube.applied == []
    assert kube.statuses[-1]["conditions"][0]["status"] == "True"


async def test_a_hand_edit_a_deletion_or_a_resync_applies_again(
    kafka: FakeKafka, tmp_path: Path
) -> None:
    kube, reconciler, workloads = await _open_shop(tmp_path)
    for manifest in workloads.values():
        reconciler.saw_workload("seaside", "harbour", _event(manifest), gone=False)

    # kubectl scale statefulset/harbour-till: a new generation.
    till = _event(workloads["harbour-till"], generation=2)
    reconciler.saw_workload("seaside", "harbour", till, gone=False)
    await reconciler.reconcile_by_name("seaside", "harbour")
    assert [m["metadata"]["name"] for m in kube.applied] == ["harbour-till"]
    kube.applied.clear()
    # The watch then shows what that apply made (FakeKube answers generation 1).
    reconciler.saw_workload("seaside", "harbour", _event(workloads["harbour-till"]), gone=False)

    # The preparers' Deployment deleted by hand.
    preparer = _event(workloads["harbour-preparer"])
    reconciler.saw_workload("seaside", "harbour", preparer, gone=True)
    await reconciler.reconcile_by_name("seaside", "harbour")
    assert [m["metadata"]["name"] for m in kube.applied] == ["harbour-preparer"]
    kube.applied.clear()

    # A resync applies everything (it also puts back hand edits to labels).
    await reconciler.reconcile_by_name("seaside", "harbour", check_kafka=True)
    assert len(kube.applied) == 4  # the tills' Service too


async def test_a_changed_shop_applies_what_changed(kafka: FakeKafka, tmp_path: Path) -> None:
    kube, reconciler, workloads = await _open_shop(tmp_path)
    for manifest in workloads.values():
        reconciler.saw_workload("seaside", "harbour", _event(manifest), gone=False)
    shop = kube.objects[next(iter(kube.objects))]
    shop["spec"]["preparers"]["replicas"] = 3
    await reconciler.reconcile_by_name("seaside", "harbour")
    assert [m["metadata"]["name"] for m in kube.applied] == ["harbour-preparer"]
    assert kube.applied[0]["spec"]["replicas"] == 3


def test_events_of_a_shop_not_known_are_ignored(tmp_path: Path) -> None:
    reconciler = Reconciler(cast(KubeApi, FakeKube()), "x:1", OperatorMetrics(), tmp_path)
    reconciler.saw_workload("seaside", "nobody", {"kind": "Deployment"}, gone=False)
    assert reconciler.remembered() == set()
