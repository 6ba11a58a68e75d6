"""Reconcile one FishShop: topics in Kafka, workloads in Kubernetes, then the status.

Level-based and idempotent: every call looks at the whole shop, so a missed event,
a deleted workload, a hand edit or a restarted operator all converge the same way.
Calls for one shop are serialised.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime
import logging
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fishshop_operator.conditions import Observed, RoleCount, TopicsOutcome, shop_status
from fishshop_operator.kube import KubeApi, KubeApiError, object_path
from fishshop_operator.metrics import OperatorMetrics
from fishshop_operator.resource import GROUP, PLURAL, VERSION, ShopResource, read_resource
from fishshop_operator.shop_kafka import (
    KafkaUnreachable,
    delete_shop_topics,
    orders_state,
    reconcile_topics,
    shop_settings,
)
from fishshop_operator.workloads import shop_workloads
from fishshop_workers.kafka_settings import CA_FILE, CERT_FILE, KEY_FILE, KafkaSettings
from fishshop_workers.shop import ShopSpecError

__all__ = ["Reconciler", "prefix_owner"]

log = logging.getLogger("fishshop_operator")


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def prefix_owner(shop: ShopResource, shops: list[dict[str, Any]]) -> str | None:
    """The shop that already uses this shop's topic prefix, if another one does.

    The oldest shop keeps the topics (ties go to the first by namespace and name).
    """

    def key(body: dict[str, Any]) -> tuple[str, str, str]:
        meta = body.get("metadata") or {}
        return (
            str(meta.get("creationTimestamp", "")),
            str(meta.get("namespace", "")),
            str(meta.get("name", "")),
        )

    mine: tuple[str, str, str] | None = None
    rivals = []
    for body in shops:
        meta = body.get("metadata") or {}
        if meta.get("uid") == shop.uid:
            mine = key(body)
            continue
        if meta.get("deletionTimestamp"):
            continue
        try:
            other = read_resource(body)
        except ShopSpecError:
            continue
        if other.topic_prefix == shop.topic_prefix:
            rivals.append((key(body), f"{other.namespace}/{other.name}"))
    if mine is None:
        return None
    older = sorted((k, name) for k, name in rivals if k < mine)
    return older[0][1] if older else None


@dataclass
class Outcome:
    result: str
    """ready, waiting or error (the metric's label)."""
    reason: str


class Reconciler:
    """Holds the operator's connections; ``reconcile`` and ``delete`` act on one shop."""

    def __init__(
        self,
        api: KubeApi,
        image: str,
        metrics: OperatorMetrics,
        certs_root: Path,
        delete_patience: float = 60.0,
    ) -> None:
        self.api = api
        self.image = image
        self.metrics = metrics
        self.certs_root = certs_root
        self.delete_patience = delete_patience
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._seen: dict[tuple[str, str], dict[tuple[str, str], tuple[str, int]]] = {}
        """Per shop: (kind, name) of each applied object -> (uid, generation) last seen."""
        self._pending: set[tuple[str, str]] = set()
        self._known: set[tuple[str, str]] = set()
        self._topics_seen: dict[tuple[str, str], tuple[int, TopicsOutcome]] = {}

    def track(self, namespace: str, name: str, gone: bool) -> None:
        """Remember which shops exist, for ``resync``; forget the ones deleted."""
        if gone:
            self.metrics.forget(namespace, name)
            self._known.discard((namespace, name))
            self._topics_seen.pop((namespace, name), None)
            self._seen.pop((namespace, name), None)
        else:
            self._known.add((namespace, name))

    async def resync(self, interval: float) -> None:
        """Reconcile every known shop every ``interval`` seconds, until cancelled."""
        while True:
            await asyncio.sleep(interval)
            for namespace, name in sorted(self._known):
                try:
                    await self.reconcile_by_name(namespace, name, check_kafka=True)
                except Exception as error:  # noqa: BLE001 - the loop must outlive any one shop
                    log.warning("action=resync shop=%s/%s error=%r", namespace, name, error)

    def _lock(self, namespace: str, name: str) -> asyncio.Lock:
        return self._locks.setdefault((namespace, name), asyncio.Lock())

    async def reconcile_by_name(
        self, namespace: str, name: str, check_kafka: bool = False
    ) -> Outcome | None:
        """Reconcile the shop as it is now (after an event on something it owns).

        Events come in bursts while pods start; one waiting reconcile covers them all.
        Without ``check_kafka``, topics already found ready for this generation of the
        spec are not asked about again (the resync loop does that).
        """
        key = (namespace, name)
        if key in self._pending:
            return None
        self._pending.add(key)
        try:
            async with self._lock(namespace, name):
                pass
            body = await self.api.get(
                object_path(f"{GROUP}/{VERSION}", "FishShop", namespace, name)
            )
        finally:
            self._pending.discard(key)
        if body is None or body.get("metadata", {}).get("deletionTimestamp"):
            return None
        return await self.reconcile(body, check_kafka)

    async def reconcile(self, body: dict[str, Any], check_kafka: bool = True) -> Outcome:
        meta = body.get("metadata") or {}
        async with self._lock(str(meta.get("namespace")), str(meta.get("name"))):
            started = time.monotonic()
            try:
                outcome = await self._reconcile(body, check_kafka)
            except Exception:
                self.metrics.reconciliations.labels("error").inc()
                raise
            finally:
                self.metrics.reconcile_seconds.observe(time.monotonic() - started)
            self.metrics.reconciliations.labels(outcome.result).inc()
            return outcome

    async def _reconcile(self, body: dict[str, Any], check_kafka: bool) -> Outcome:
        previous = (body.get("status") or {}).get("conditions") or []
        try:
            shop = read_resource(body)
        except ShopSpecError as error:
            return await self._invalid(body, str(error), previous)
        seen = self._topics_seen.get(_ids(shop))
        settings = None
        if not check_kafka and seen is not None and seen[0] == shop.generation and seen[1].ready:
            topics = seen[1]
        else:
            topics, settings = await self._topics(shop)
        roles: dict[str, RoleCount] = {}
        workloads_error = None
        if topics.ready:
            try:
                roles = await self._apply_workloads(shop)
            except KubeApiError as error:
                workloads_error = str(error)
            if settings is not None:  # Kafka was asked this time: count the queue too
                topics = await self._count_queue(shop, settings, topics)
        else:
            roles = await self._read_workloads(shop)
        self._topics_seen[_ids(shop)] = (shop.generation, topics)
        observed = Observed(topics, roles, workloads_error)
        status = shop_status(shop, observed, previous, _now())
        await self.api.patch_status(shop.namespace, shop.name, status)
        ready = status["conditions"][0]
        self.metrics.shop_ready.labels(shop.namespace, shop.name).set(ready["status"] == "True")
        if topics.queued_orders is not None:
            self.metrics.shop_queued.labels(shop.namespace, shop.name).set(topics.queued_orders)
        await self._announce(body, shop, previous, ready)
        if ready["status"] == "True":
            result = "ready"
        elif topics.ready and not workloads_error:
            result = "waiting"
        else:
            result = "error"
        return Outcome(result, ready["reason"])

    async def _invalid(
        self, body: dict[str, Any], message: str, previous: list[dict[str, Any]]
    ) -> Outcome:
        meta = body["metadata"]
        condition = {
            "type": "Ready",
            "status": "False",
            "reason": "InvalidSpec",
            "message": message,
            "lastTransitionTime": _now(),
            "observedGeneration": int(meta.get("generation") or 0),
        }
        await self.api.patch_status(meta["namespace"], meta["name"], {"conditions": [condition]})
        await self._event(body, "Warning", "InvalidSpec", message)
        return Outcome("error", "InvalidSpec")

    async def _announce(
        self,
        body: dict[str, Any],
        shop: ShopResource,
        previous: list[dict[str, Any]],
        ready: dict[str, Any],
    ) -> None:
        """An event and a log line when the shop's readiness or its reason changes."""
        before = next((c for c in previous if c.get("type") == "Ready"), {})
        if (before.get("status"), before.get("reason")) == (ready["status"], ready["reason"]):
            return
        kind = "Normal" if ready["status"] == "True" else "Warning"
        await self._event(body, kind, ready["reason"], ready["message"])
        log.info(
            "action=status shop=%s/%s ready=%s reason=%s message=%r",
            shop.namespace,
            shop.name,
            ready["status"],
            ready["reason"],
            ready["message"],
        )

    async def _event(self, body: dict[str, Any], kind: str, reason: str, message: str) -> None:
        """An event on the shop; failing to post one never fails a reconcile."""
        try:
            await self.api.event(body, kind, reason, message)
        except (KubeApiError, OSError) as error:
            log.warning("action=event reason=%s error=%s", reason, error)

    async def _certs_dir(self, shop: ShopResource) -> Path | None:
        """Write the shop's TLS Secret where the Kafka client can read it."""
        if not shop.tls_secret:
            return None
        secret = await self.api.get(object_path("v1", "Secret", shop.namespace, shop.tls_secret))
        if secret is None:
            raise LookupError(
                f"Secret {shop.namespace}/{shop.tls_secret} named by spec.kafka.tlsSecret "
                "does not exist"
            )
        data = secret.get("data") or {}
        if CA_FILE not in data:
            raise LookupError(
                f"Secret {shop.namespace}/{shop.tls_secret} has no {CA_FILE}; it needs "
                f"{CA_FILE}, and {CERT_FILE} with {KEY_FILE} for mutual TLS"
            )
        folder = self.certs_root / shop.namespace / shop.name
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        for name in (CA_FILE, CERT_FILE, KEY_FILE):
            path = folder / name
            if name in data:
                path.write_bytes(base64.b64decode(data[name]))
                path.chmod(0o600)
            elif path.exists():
                path.unlink()
        try:
            shop_settings(shop, folder).ssl_context()
        except (ssl.SSLError, OSError, ValueError) as error:
            raise LookupError(
                f"Secret {shop.namespace}/{shop.tls_secret} does not hold a usable "
                f"certificate or key: {error}"
            ) from error
        return folder

    async def _topics(self, shop: ShopResource) -> tuple[TopicsOutcome, KafkaSettings | None]:
        """The topics' outcome, and the Kafka settings used when Kafka was asked."""
        shops = await self.api.list_items(f"/apis/{GROUP}/{VERSION}/{PLURAL}")
        owner = prefix_owner(shop, shops)
        if owner is not None:
            return TopicsOutcome(
                False,
                "TopicsOwnedByAnotherShop",
                f"the topics {shop.topic_prefix}.* belong to shop {owner}; "
                "set spec.topicPrefix to a prefix of this shop's own",
            ), None
        try:
            certs = await self._certs_dir(shop)
        except LookupError as error:
            return TopicsOutcome(False, "TLSSecretInvalid", str(error)), None
        settings = shop_settings(shop, certs)
        outcome = await reconcile_topics(settings, shop)
        if outcome.ready and outcome.message.startswith(("created", "grew")):
            log.info("action=topics shop=%s/%s %s", shop.namespace, shop.name, outcome.message)
        return outcome, settings

    async def _count_queue(
        self, shop: ShopResource, settings: KafkaSettings, topics: TopicsOutcome
    ) -> TopicsOutcome:
        """After the workloads (so a change reaches them first): partitions and queue."""
        try:
            partitions, queued = await orders_state(settings, shop)
        except KafkaUnreachable as error:
            log.warning("action=count-queue shop=%s/%s error=%s", *_ids(shop), error)
            return topics
        return dataclasses.replace(topics, partitions=partitions, queued_orders=queued)

    async def _apply_workloads(self, shop: ShopResource) -> dict[str, RoleCount]:
        roles: dict[str, RoleCount] = {}
        for manifest in shop_workloads(shop, self.image):
            applied = await self.api.apply(manifest)
            self._log_change(shop, applied)
            role = manifest["metadata"]["labels"]["app.kubernetes.io/component"]
            if manifest["kind"] != "Service":
                roles[role] = _count(applied)
        return roles

    def _log_change(self, shop: ShopResource, applied: dict[str, Any]) -> None:
        meta = applied.get("metadata") or {}
        key = (str(applied.get("kind")), str(meta.get("name")))
        now = (str(meta.get("uid")), int(meta.get("generation") or 0))
        seen = self._seen.setdefault(_ids(shop), {})
        before = seen.get(key)
        seen[key] = now
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

    async def _read_workloads(self, shop: ShopResource) -> dict[str, RoleCount]:
        roles: dict[str, RoleCount] = {}
        for manifest in shop_workloads(shop, self.image):
            if manifest["kind"] == "Service":
                continue
            meta = manifest["metadata"]
            found = await self.api.get(
                object_path(manifest["apiVersion"], manifest["kind"], shop.namespace, meta["name"])
            )
            if found is not None:
                roles[meta["labels"]["app.kubernetes.io/component"]] = _count(found)
        return roles

    async def delete(self, body: dict[str, Any]) -> None:
        """Delete the shop's topics, retrying for a bounded time; never block for good."""
        shop = read_resource(body)
        if not shop.deletes_topics:
            return
        deadline = time.monotonic() + self.delete_patience
        delay = 1.0
        while True:
            try:
                certs = await self._certs_dir(shop)
                await delete_shop_topics(shop_settings(shop, certs), shop)
            except (KafkaUnreachable, LookupError, KubeApiError) as error:
                if time.monotonic() + delay > deadline:
                    message = (
                        f"gave up deleting topics {shop.topic_prefix}.* after "
                        f"{self.delete_patience:.0f}s: {error}. Delete them by hand."
                    )
                    await self._event(body, "Warning", "TopicsNotDeleted", message)
                    log.warning("action=delete-topics shop=%s/%s %s", *_ids(shop), message)
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            log.info("action=delete-topics shop=%s/%s prefix=%s", *_ids(shop), shop.topic_prefix)
            return


def _ids(shop: ShopResource) -> tuple[str, str]:
    return shop.namespace, shop.name


def _count(workload: dict[str, Any]) -> RoleCount:
    spec = workload.get("spec") or {}
    status = workload.get("status") or {}
    return RoleCount(int(spec.get("replicas") or 0), int(status.get("readyReplicas") or 0))
