"""The workloads step of a reconcile: manifests applied (only what changed), or read."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fishshop_operator.constants import ROLE_LABEL
from fishshop_operator.kube.api import object_path
from fishshop_operator.kube.secrets import KAFKA_SASL, held_tls
from fishshop_operator.reconcile.memory import ShopMemory
from fishshop_operator.reconcile.tools import Tools
from fishshop_operator.shop.conditions import RoleCount
from fishshop_operator.shop.resource import ShopResource
from fishshop_operator.shop.workloads import PodKafka, shop_workloads

__all__ = ["apply_workloads", "pod_kafka", "read_workloads", "role_count"]

log = logging.getLogger("fishshop_operator")


def pod_kafka(shop: ShopResource, memory: ShopMemory) -> PodKafka:
    """What the shop's Kafka Secrets last held that the pods need: the SASL user (the
    spec's, else its Secret's) and the TLS Secret's layout. During a blip what they
    last held answers, so no pod is rolled."""
    tls = held_tls(memory.secrets)
    known = memory.secrets.get(KAFKA_SASL)
    user = ""
    if shop.sasl is not None:
        user = shop.sasl.username or (known.value.username if known is not None else "")
    if tls is None or not shop.tls_secret:
        return PodKafka(user)
    return PodKafka(user, tls.files, tls.ca_key)


async def apply_workloads(
    tools: Tools, shop: ShopResource, memory: ShopMemory, *, redis_ca: bool, every: bool = True
) -> dict[str, RoleCount]:
    """Apply the shop's workloads and read their pods from the answers.

    Unless ``every`` (the first reconcile and each resync, which also puts back
    hand edits to labels), a workload whose manifest is the one last applied and
    whose watch event shows the object that apply made (same uid and generation:
    nobody changed its spec since) is not applied again; its event's counts serve.
    A rollout's burst of status events then costs no apply at all.
    """
    roles: dict[str, RoleCount] = {}
    decided = tools.workload_replicas(shop, memory) if tools.workload_replicas else None
    manifests = shop_workloads(
        shop, tools.image, redis_ca=redis_ca, replicas=decided, kafka=pod_kafka(shop, memory)
    )
    pending = []
    for manifest in manifests:
        key = (str(manifest["kind"]), str(manifest["metadata"]["name"]))
        seen = memory.seen.get(key)
        unchanged = memory.manifests.get(key) == manifest
        role = manifest["metadata"]["labels"][ROLE_LABEL]
        if not every and unchanged and manifest["kind"] == "Service":
            continue  # not watched; the next resync applies it again
        if not every and unchanged and seen is not None and seen[0] == memory.applied.get(key):
            roles[role] = seen[1]
            continue
        pending.append(manifest)
    # Side by side: each is its own object, and the API door bounds what is in flight.
    answers = await asyncio.gather(*(tools.api.apply(manifest) for manifest in pending))
    for manifest, applied in zip(pending, answers, strict=True):
        _log_change(shop, memory, applied)
        memory.manifests[(str(manifest["kind"]), str(manifest["metadata"]["name"]))] = manifest
        role = manifest["metadata"]["labels"][ROLE_LABEL]
        if manifest["kind"] != "Service":
            roles[role] = role_count(applied)
    return roles


def _log_change(shop: ShopResource, memory: ShopMemory, applied: dict[str, Any]) -> None:
    meta = applied.get("metadata") or {}
    key = (str(applied.get("kind")), str(meta.get("name")))
    now = (str(meta.get("uid")), int(meta.get("generation") or 0))
    before = memory.applied.get(key)
    memory.applied[key] = now
    if before == now:
        return
    action = "created" if before is None or before[0] != now[0] else "updated"
    if before is None and now[1] > 1:
        action = "adopted"
    log.info(
        "action=%s kind=%s name=%s/%s shop=%s generation=%d",
        action,
        key[0],
        shop.namespace,
        key[1],
        shop.name,
        now[1],
    )


async def read_workloads(tools: Tools, shop: ShopResource) -> dict[str, RoleCount]:
    """The pods of the shop's workloads as they are, applying nothing."""
    roles: dict[str, RoleCount] = {}
    for manifest in shop_workloads(shop, tools.image):
        if manifest["kind"] == "Service":
            continue
        meta = manifest["metadata"]
        found = await tools.api.get(
            object_path(manifest["apiVersion"], manifest["kind"], shop.namespace, meta["name"])
        )
        if found is not None:
            roles[meta["labels"][ROLE_LABEL]] = role_count(found)
    return roles


def role_count(workload: dict[str, Any]) -> RoleCount:
    """A Deployment's or StatefulSet's pods (the API leaves zero counts out)."""
    spec = workload.get("spec") or {}
    status = workload.get("status") or {}
    meta = workload.get("metadata") or {}
    return RoleCount(
        replicas=int(spec.get("replicas") or 0),
        ready_replicas=int(status.get("readyReplicas") or 0),
        updated_replicas=int(status.get("updatedReplicas") or 0),
        running_replicas=int(status.get("replicas") or 0),
        generation=int(meta.get("generation") or 0),
        observed_generation=int(status.get("observedGeneration") or 0),
    )
