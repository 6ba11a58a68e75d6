"""Reconcile one FishShop: topics in Kafka, its hot cabinet's Redis (when it has one),
workloads in Kubernetes, its analyst's sink connector (when it has one), then the status.

Level-based and idempotent: every call looks at the whole shop, so a missed event,
a deleted workload, a hand edit or a restarted operator all converge the same way.
Calls for one shop are serialised.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import logging
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fishshop_operator.analyst.connector import (
    AnalystShop,
    ConnectError,
    delete_connector,
    placed_connector,
    reconcile_analyst,
)
from fishshop_operator.analyst.decisions import AnalystMemory, AnalystOutcome
from fishshop_operator.analyst.spec import AnalystSpec, PostgresSecretError, read_postgres_secret
from fishshop_operator.analyst.status import add_analyst, previous_analyst
from fishshop_operator.cabinet.check import check_cabinet
from fishshop_operator.cabinet.credentials import (
    CredentialsSecretError,
    RedisCredentials,
    read_credentials_secret,
)
from fishshop_operator.cabinet.spec import HotCabinetSpec
from fishshop_operator.constants import API_VERSION, KIND, ROLE_LABEL
from fishshop_operator.kafka.clients import KafkaClients
from fishshop_operator.kafka.tls import TLSSecretError, build_ssl_context, read_tls_secret
from fishshop_operator.kafka.topics import (
    KafkaUnreachable,
    TopicDeletionError,
    delete_shop_topics,
    queue_state,
    reconcile_topics,
    shop_settings,
)
from fishshop_operator.kube.api import KubeApi, KubeApiError, object_path
from fishshop_operator.metrics import OperatorMetrics
from fishshop_operator.reconcile.memory import ShopMemory
from fishshop_operator.shop.conditions import (
    CabinetOutcome,
    Observed,
    RoleCount,
    TopicsOutcome,
    shop_status,
)
from fishshop_operator.shop.index import ShopIndex, prefix_owner
from fishshop_operator.shop.resource import ShopResource, read_resource
from fishshop_operator.shop.status_patch import changes
from fishshop_operator.shop.workloads import shop_workloads
from fishshop_workers.kafka.settings import KafkaSettings
from fishshop_workers.shop.spec import ShopSpecError

__all__ = ["Reconciler", "prefix_owner"]

log = logging.getLogger("fishshop_operator")


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Outcome:
    result: str
    """ready, waiting or error (the metric's label); deleting when nothing was done."""
    reason: str
    replicas: Mapping[str, int] = dataclasses.field(default_factory=dict)
    """Role -> replicas of its workload as the API server returned it (applied, or read
    while the topics are not ready); empty when the apply failed. The autoscaler asks
    again while a decision is not there."""


DELETING = Outcome("deleting", "Deleting")
"""A reconcile that found the shop's deletion begun, and so did nothing."""


class Reconciler:
    """Holds the operator's connections; ``reconcile`` and ``delete`` act on one shop."""

    def __init__(
        self,
        api: KubeApi,
        image: str,
        metrics: OperatorMetrics,
        certs_root: Path,
        delete_patience: float = 60.0,
        *,
        concurrency: int = 16,
        workload_replicas: Callable[[ShopResource], Mapping[str, int]] | None = None,
    ) -> None:
        self.api = api
        self.image = image
        self.metrics = metrics
        self.certs_root = certs_root
        """Scratch space for a client key, only where in-memory files are missing."""
        self.delete_patience = delete_patience
        self.concurrency = concurrency
        """Shops the resync loop visits at the same time."""
        self.workload_replicas = workload_replicas
        """Role -> replicas the autoscaler decided for a shop, which win over its spec."""
        self.index = ShopIndex()
        """Every shop the watch has shown, by topic prefix: who owns which topics."""
        self.kafka = KafkaClients()
        """Kafka clients shared by the shops of one Kafka, across reconciles."""
        self._shops: dict[tuple[str, str], ShopMemory] = {}

    async def close(self) -> None:
        """Close what the Reconciler holds open (the operator stops)."""
        await self.kafka.close()

    def _memory(self, namespace: str, name: str) -> ShopMemory:
        return self._shops.setdefault((namespace, name), ShopMemory())

    def remembered(self) -> set[tuple[str, str]]:
        """The shops the operator holds state for: (namespace, name)."""
        return set(self._shops)

    def know(self, body: Mapping[str, Any]) -> None:
        """The shop as the watch shows it now, for deciding who owns which topics."""
        self.index.put(body)

    def track(
        self, namespace: str, name: str, gone: bool, body: Mapping[str, Any] | None = None
    ) -> None:
        """Remember which shops exist, for ``resync``; forget the ones deleted."""
        if gone:
            uid = ((body or {}).get("metadata") or {}).get("uid")
            self.forget(namespace, name, uid=str(uid) if uid else None)
        else:
            self._memory(namespace, name).watched = True
            if body is not None:
                self.know(body)

    def saw_workload(self, namespace: str, shop: str, body: dict[str, Any], gone: bool) -> None:
        """Note a watch event on one of the shop's workloads: who it is (uid, generation)
        and its pods, or that it is gone (so the next reconcile applies it again)."""
        memory = self._shops.get((namespace, shop))
        if memory is None:
            return
        meta = body.get("metadata") or {}
        key = (str(body.get("kind")), str(meta.get("name")))
        if gone:
            memory.seen.pop(key, None)
        else:
            seen = (str(meta.get("uid")), int(meta.get("generation") or 0))
            memory.seen[key] = (seen, _count(body))

    def forget(self, namespace: str, name: str, *, uid: str | None = None) -> None:
        """Let go of everything held for the shop: its memory (lock, caches, TLS
        context, credentials), its place in the index (``uid``'s only, when known: a
        new shop of the same name may be there already), its claim on Kafka clients
        and its metrics' series."""
        self._shops.pop((namespace, name), None)
        if uid is not None:
            self.index.discard(uid)
        else:
            self.index.discard_named(namespace, name)
        self.kafka.release((namespace, name))
        self.metrics.forget(namespace, name)

    async def resync(self, interval: float) -> None:
        """Reconcile every known shop every ``interval`` seconds, until cancelled."""
        loop = asyncio.get_running_loop()
        began = loop.time()
        while True:
            # A round slowed by an unreachable Kafka is not followed by a full wait.
            await asyncio.sleep(max(0.0, began + interval - loop.time()))
            began = loop.time()
            try:
                await self.resync_round()
            except Exception as error:  # the loop must outlive any round
                log.error("action=resync error=%r", error, exc_info=True)
            self.metrics.resync_round_seconds.observe(loop.time() - began)

    async def resync_round(self) -> None:
        """Reconcile every known shop once, ``concurrency`` at a time, so that a shop
        whose Kafka does not answer (20 s per call) holds up only itself."""
        watched = sorted(key for key, memory in self._shops.items() if memory.watched)
        visits = asyncio.Semaphore(max(1, self.concurrency))

        async def visit(namespace: str, name: str) -> None:
            async with visits:
                try:
                    await self.reconcile_by_name(namespace, name, check_kafka=True)
                except Exception as error:  # noqa: BLE001 - the loop must outlive any one shop
                    log.warning("action=resync shop=%s/%s error=%r", namespace, name, error)

        await asyncio.gather(*(visit(namespace, name) for namespace, name in watched))

    async def reconcile_by_name(
        self, namespace: str, name: str, check_kafka: bool = False
    ) -> Outcome | None:
        """Reconcile the shop as it is now (after an event on something it owns).

        Events come in bursts while pods start; one waiting reconcile covers them all.
        Without ``check_kafka``, topics already found ready for this generation of the
        spec are not asked about again (the resync loop does that).
        """
        memory = self._memory(namespace, name)
        if memory.pending:
            return None
        memory.pending = True
        try:
            async with memory.lock:
                pass
            body = await self.api.get(object_path(API_VERSION, KIND, namespace, name))
        finally:
            memory.pending = False
        if body is None:
            if not memory.lock.locked() and (check_kafka or not memory.watched):
                # An owner that is long gone, or (found by the resync loop) a shop whose
                # DELETED the watch missed: a watch that relists never says it.
                self.forget(namespace, name)
            return None
        if body.get("metadata", {}).get("deletionTimestamp"):
            return None
        return await self.reconcile(body, check_kafka)

    async def reconcile(self, body: dict[str, Any], check_kafka: bool = True) -> Outcome:
        meta = body.get("metadata") or {}
        key = (str(meta.get("namespace")), str(meta.get("name")))
        memory = self._memory(*key)
        try:
            async with memory.lock:
                # Checked under the lock: a deletion that began while this reconcile
                # waited must not see its topics made again behind it.
                if meta.get("deletionTimestamp") or (
                    memory.deleting is not None and memory.deleting == meta.get("uid")
                ):
                    return DELETING
                started = time.monotonic()
                try:
                    outcome = await self._reconcile(body, memory, check_kafka)
                except Exception:
                    self.metrics.reconciliations.labels("error").inc()
                    raise
                finally:
                    self.metrics.reconcile_seconds.observe(time.monotonic() - started)
                self.metrics.reconciliations.labels(outcome.result).inc()
                return outcome
        finally:
            if self._shops.get(key) is not memory:
                # The shop was forgotten while this reconcile ran: the Kafka clients it
                # claimed and the series it set since then go as well.
                self.kafka.release(key)
                self.metrics.forget(*key)

    async def _reconcile(
        self, body: dict[str, Any], memory: ShopMemory, check_kafka: bool
    ) -> Outcome:
        previous = (body.get("status") or {}).get("conditions") or []
        try:
            shop = read_resource(body)
        except ShopSpecError as error:
            return await self._invalid(body, str(error), previous)
        seen = memory.topics
        settings = None
        if not check_kafka and seen is not None and seen[0] == shop.generation and seen[1].ready:
            topics = seen[1]
        else:
            topics, settings = await self._topics(body, shop, memory)
        cabinet = await self._cabinet(shop, memory, check_kafka)
        roles: dict[str, RoleCount] = {}
        workloads_error = None
        if topics.ready:
            try:
                roles = await self._apply_workloads(
                    shop, memory, redis_ca=_redis_ca(memory), every=check_kafka
                )
            except KubeApiError as error:
                workloads_error = str(error)
            if settings is not None and topics.queued_orders is None:
                # Kafka was asked this time (and the topics were not just made, empty):
                # count the queues too.
                topics = await self._count_queues(shop, settings, topics)
        else:
            roles = await self._read_workloads(shop)
        memory.topics = (shop.generation, topics)
        analyst = await self._analyst(body, shop, memory, topics, check_kafka)
        observed = Observed(topics, roles, workloads_error, cabinet)
        now = _now()
        status = shop_status(shop, observed, previous, now)
        status = add_analyst(status, analyst, previous, generation=shop.generation, now=now)
        if changes(body.get("status"), status):
            await self.api.patch_status(shop.namespace, shop.name, status)
        ready = status["conditions"][0]
        self.metrics.shop_ready.labels(shop.namespace, shop.name).set(ready["status"] == "True")
        if topics.queued_orders is not None:
            self.metrics.shop_queued.labels(shop.namespace, shop.name).set(topics.queued_orders)
        if topics.queued_for_cook is not None:
            self.metrics.shop_queued_for_cook.labels(shop.namespace, shop.name).set(
                topics.queued_for_cook
            )
        await self._announce(body, shop, previous, ready)
        if ready["status"] == "True":
            result = "ready"
        elif topics.ready and not workloads_error and (cabinet is None or cabinet.ready):
            result = "waiting"
        else:
            result = "error"
        return Outcome(result, ready["reason"], {r: c.replicas for r, c in roles.items()})

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

    async def _tls(self, shop: ShopResource, memory: ShopMemory) -> ssl.SSLContext | None:
        """The TLS context for the shop's Secret, built once per version of the Secret.

        Only a Secret of the shop's own namespace is read (the name was checked when
        the shop was read, and the path quotes it).
        """
        if not shop.tls_secret:
            memory.tls = None
            return None
        secret = await self.api.get(object_path("v1", "Secret", shop.namespace, shop.tls_secret))
        where = f"{shop.namespace}/{shop.tls_secret}"
        meta = (secret or {}).get("metadata") or {}
        version = (str(meta.get("uid")), str(meta.get("resourceVersion")))
        if secret is not None and memory.tls is not None and memory.tls[0] == version:
            return memory.tls[1]
        memory.tls = None
        context = build_ssl_context(read_tls_secret(secret, where), self.certs_root)
        memory.tls = (version, context)
        return context

    async def _cabinet(
        self, shop: ShopResource, memory: ShopMemory, check: bool
    ) -> CabinetOutcome | None:
        """Whether the hot cabinet's Redis answers; None for a shop without a cabinet.

        Like the topics, a Redis found answering for this generation of the spec is
        not asked again after each event on a workload; the resync loop asks.
        """
        spec = shop.hot_cabinet
        if spec is None:
            memory.cabinet = None
            memory.redis_credentials = None
            return None
        seen = memory.cabinet
        if not check and seen is not None and seen[0] == shop.generation and seen[1].ready:
            return seen[1]
        try:
            credentials = await self._redis_credentials(shop, spec, memory)
        except CredentialsSecretError as error:
            outcome = CabinetOutcome(False, "CredentialsSecretInvalid", str(error))
        else:
            outcome = await check_cabinet(spec, shop.topic_prefix, credentials)
        if outcome.ready != (seen is not None and seen[1].ready):
            log.info(
                "action=cabinet shop=%s/%s ready=%s reason=%s",
                *_ids(shop),
                outcome.ready,
                outcome.reason,
            )
        memory.cabinet = (shop.generation, outcome)
        return outcome

    async def _analyst(
        self,
        body: dict[str, Any],
        shop: ShopResource,
        memory: ShopMemory,
        topics: TopicsOutcome,
        check: bool,
    ) -> AnalystOutcome | None:
        """The analyst's sink connector put where the spec says, and how it runs; None
        for a shop without one (after its connector, if it had one, is deleted).

        Like the cabinet, a connector found running for this generation of the spec is
        not asked about again after each event on a workload; the resync loop asks.
        """
        spec = shop.analyst
        placed = placed_connector(body.get("status"))
        remembered = memory.analyst
        if remembered.restarts is None:
            remembered.restarts = previous_analyst(body.get("status"))[2]
        if placed is not None and (spec is None or placed[0] != spec.connect_url):
            # The spec took the analyst away or moved it to another Connect.
            gone = await self._delete_connector(body, shop, *placed)
            if spec is None and not gone:
                # The status keeps the place until the connector there is gone, so
                # that a later reconcile (or a restarted operator) tries again.
                return AnalystOutcome(
                    False,
                    "ConnectorNotDeleted",
                    f"spec.analyst was removed, but connector {placed[1]} at {placed[0]} "
                    "could not be deleted yet; the operator tries again",
                    placed[1],
                    placed[0],
                )
            # Moved to another Connect: the shop's analyst follows the spec at once. An
            # old Connect that cannot be reached keeps its connector; the Warning event
            # (ConnectorNotDeleted) says where, for a person to delete it.
        if spec is None:
            memory.analyst = AnalystMemory()
            self.metrics.forget_analyst(shop.namespace, shop.name)
            return None
        ours = AnalystShop(shop.label, shop.topic_prefix, shop.topics.served)
        seen = remembered.seen
        if not check and seen is not None and seen[0] == shop.generation and seen[1].ready:
            return seen[1]
        if not topics.ready:
            # Its name comes from the topics' prefix: never before the shop owns it.
            outcome = AnalystOutcome(
                False,
                "WaitingForTopics",
                "the sink connector follows the shop's topics",
                ours.connector,
                spec.connect_url,
                restarts=remembered.restarts or 0,
            )
        else:
            outcome = await self._put_connector(shop, spec, ours, memory)
        before = seen[1] if seen is not None else None
        if before is None or (before.ready, before.reason) != (outcome.ready, outcome.reason):
            log.info(
                "action=analyst shop=%s/%s ready=%s reason=%s message=%r",
                *_ids(shop),
                outcome.ready,
                outcome.reason,
                outcome.message,
            )
            if before is not None or not outcome.ready:
                kind = "Normal" if outcome.ready else "Warning"
                await self._event(body, kind, f"Analyst{outcome.reason}", outcome.message)
        remembered.seen = (shop.generation, outcome)
        self.metrics.analyst_failed_tasks.labels(shop.namespace, shop.name).set(
            outcome.failed_tasks
        )
        return outcome

    async def _put_connector(
        self, shop: ShopResource, spec: AnalystSpec, ours: AnalystShop, memory: ShopMemory
    ) -> AnalystOutcome:
        """Read the PostgreSQL Secret (only from the shop's own namespace; its name was
        checked when the shop was read, and the path quotes it), then the connector."""
        restarts = memory.analyst.restarts or 0
        name = spec.postgres_secret
        try:
            secret = await self.api.get(object_path("v1", "Secret", shop.namespace, name))
            address = read_postgres_secret(secret, f"{shop.namespace}/{name}")
        except PostgresSecretError as error:
            reason = "SecretMissing" if error.missing else "SecretInvalid"
            return AnalystOutcome(
                False, reason, str(error), ours.connector, spec.connect_url, restarts=restarts
            )
        outcome, restarted = await reconcile_analyst(
            spec, ours, address, memory.analyst, now=time.monotonic()
        )
        if restarted:
            self.metrics.analyst_task_restarts.labels(shop.namespace, shop.name).inc(restarted)
        return outcome

    async def _delete_connector(
        self, body: dict[str, Any], shop: ShopResource, connect_url: str, connector: str
    ) -> bool:
        """Delete the shop's connector there; False (and an event) when Connect failed."""
        try:
            done = await delete_connector(connect_url, connector, shop.label)
        except ConnectError as error:
            message = f"connector {connector} at {connect_url} was not deleted: {error}"
            log.warning("action=delete-connector shop=%s/%s %s", *_ids(shop), message)
            await self._event(body, "Warning", "ConnectorNotDeleted", message)
            return False
        log.info("action=delete-connector shop=%s/%s %s", *_ids(shop), done)
        return True

    async def _redis_credentials(
        self, shop: ShopResource, spec: HotCabinetSpec, memory: ShopMemory
    ) -> RedisCredentials | None:
        """The credentials Secret's content, read once per version of the Secret.

        Only a Secret of the shop's own namespace is read (the name was checked when
        the shop was read, and the path quotes it); it is held in memory only.
        """
        if not spec.credentials_secret:
            memory.redis_credentials = None
            return None
        name = spec.credentials_secret
        secret = await self.api.get(object_path("v1", "Secret", shop.namespace, name))
        meta = (secret or {}).get("metadata") or {}
        version = (str(meta.get("uid")), str(meta.get("resourceVersion")))
        known = memory.redis_credentials
        if secret is not None and known is not None and known[0] == version:
            return known[1]
        memory.redis_credentials = None
        credentials = read_credentials_secret(secret, f"{shop.namespace}/{name}")
        memory.redis_credentials = (version, credentials)
        return credentials

    async def _topics(
        self, body: dict[str, Any], shop: ShopResource, memory: ShopMemory
    ) -> tuple[TopicsOutcome, KafkaSettings | None]:
        """The topics' outcome, and the Kafka settings used when Kafka was asked."""
        owner = await self._prefix_owner(body, shop)
        if owner is not None:
            return TopicsOutcome(
                False,
                "TopicsOwnedByAnotherShop",
                f"the topics {shop.topic_prefix}.* belong to shop {owner}; "
                "set spec.topicPrefix to a prefix of this shop's own",
            ), None
        try:
            tls = await self._tls(shop, memory)
        except TLSSecretError as error:
            return TopicsOutcome(False, "TLSSecretInvalid", str(error)), None
        settings = shop_settings(shop, tls)
        outcome = await reconcile_topics(settings, shop, clients=self.kafka)
        if outcome.ready and outcome.message.startswith(("created", "grew")):
            log.info("action=topics shop=%s/%s %s", shop.namespace, shop.name, outcome.message)
        return outcome, settings

    async def _prefix_owner(self, body: dict[str, Any], shop: ShopResource) -> str | None:
        """The shop that keeps this shop's topic prefix, if another one does.

        Read from the index, not from a list of every shop. An owner found there is
        read once more, since a watch that relists never says DELETED for a shop that
        went meanwhile: only a shop that still exists may keep the topics.
        """
        while (owner := self.index.owner(body, shop.topic_prefix)) is not None:
            found = await self.api.get(object_path(API_VERSION, KIND, owner.namespace, owner.name))
            uid = ((found or {}).get("metadata") or {}).get("uid")
            if uid != owner.uid:
                self.index.discard(owner.uid)
            if found is not None:
                self.index.put(found)  # as it is now: being deleted, or a new shop
            if uid == owner.uid and self.index.owner(body, shop.topic_prefix) == owner:
                return owner.ref
        return None

    async def _count_queues(
        self, shop: ShopResource, settings: KafkaSettings, topics: TopicsOutcome
    ) -> TopicsOutcome:
        """After the workloads (so a change reaches them first): partitions and queues."""
        try:
            state = await queue_state(settings, shop, clients=self.kafka)
        except KafkaUnreachable as error:
            log.warning("action=count-queue shop=%s/%s error=%s", *_ids(shop), error)
            return topics
        return dataclasses.replace(
            topics,
            partitions=state.partitions,
            queued_orders=state.queued_orders,
            queued_for_cook=state.queued_for_cook,
        )

    async def _apply_workloads(
        self, shop: ShopResource, memory: ShopMemory, *, redis_ca: bool, every: bool = True
    ) -> dict[str, RoleCount]:
        """Apply the shop's workloads and read their pods from the answers.

        Unless ``every`` (the first reconcile and each resync, which also puts back
        hand edits to labels), a workload whose manifest is the one last applied and
        whose watch event shows the object that apply made (same uid and generation:
        nobody changed its spec since) is not applied again; its event's counts serve.
        A rollout's burst of status events then costs no apply at all.
        """
        roles: dict[str, RoleCount] = {}
        decided = self.workload_replicas(shop) if self.workload_replicas else None
        manifests = shop_workloads(shop, self.image, redis_ca=redis_ca, replicas=decided)
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
        answers = await asyncio.gather(*(self.api.apply(manifest) for manifest in pending))
        for manifest, applied in zip(pending, answers, strict=True):
            self._log_change(shop, memory, applied)
            memory.manifests[(str(manifest["kind"]), str(manifest["metadata"]["name"]))] = manifest
            role = manifest["metadata"]["labels"][ROLE_LABEL]
            if manifest["kind"] != "Service":
                roles[role] = _count(applied)
        return roles

    def _log_change(self, shop: ShopResource, memory: ShopMemory, applied: dict[str, Any]) -> None:
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
                roles[meta["labels"][ROLE_LABEL]] = _count(found)
        return roles

    async def delete(self, body: dict[str, Any]) -> None:
        """Delete the shop's topics, retrying for a bounded time; never block for good.

        Only topics the shop owns: a shop refused its prefix (another, older shop
        uses it) leaves them to their owner. Once begun, no reconcile of this shop
        acts again, so nothing makes the topics anew behind the deletion.
        """
        meta = body.get("metadata") or {}
        memory = self._memory(str(meta.get("namespace")), str(meta.get("name")))
        memory.deleting = str(meta.get("uid"))
        async with memory.lock:
            try:
                shop = read_resource(body)
            except ShopSpecError as error:
                # Never act on names that did not pass: nothing was made for them.
                await self._event(
                    body,
                    "Warning",
                    "TopicsNotDeleted",
                    f"the shop's spec is invalid ({error}), so no topics were deleted; "
                    "delete by hand any that an older operator made for it",
                )
                return
            await self._delete_analyst(body, shop)
            if shop.deletes_topics:
                await self._delete_topics(body, shop, memory)

    async def _delete_analyst(self, body: dict[str, Any], shop: ShopResource) -> None:
        """The shop's sink connector goes with the shop, wherever it was last put.

        One try: a Connect that is down must not keep the shop from being deleted;
        the event says which connector to delete by hand.
        """
        where = {placed_connector(body.get("status"))}
        if shop.analyst is not None:
            where.add(
                (
                    shop.analyst.connect_url,
                    AnalystShop(shop.label, shop.topic_prefix, shop.topics.served).connector,
                )
            )
        for connect_url, connector in sorted(w for w in where if w is not None):
            await self._delete_connector(body, shop, connect_url, connector)

    async def _delete_topics(
        self, body: dict[str, Any], shop: ShopResource, memory: ShopMemory
    ) -> None:
        deadline = time.monotonic() + self.delete_patience
        delay = 1.0
        while True:
            try:
                owner = await self._prefix_owner(body, shop)
                if owner is not None:
                    message = (
                        f"the topics {shop.topic_prefix}.* belong to shop {owner}; "
                        "they were left in place"
                    )
                    await self._event(body, "Normal", "TopicsKept", message)
                    log.info("action=keep-topics shop=%s/%s %s", *_ids(shop), message)
                    return
                tls = await self._tls(shop, memory)
                deleted = await delete_shop_topics(shop_settings(shop, tls), shop)
            except (KafkaUnreachable, TopicDeletionError, TLSSecretError, KubeApiError) as error:
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
            log.info(
                "action=delete-topics shop=%s/%s prefix=%s deleted=%s",
                *_ids(shop),
                shop.topic_prefix,
                ",".join(deleted) or "none",
            )
            return


def _redis_ca(memory: ShopMemory) -> bool:
    """The credentials Secret last read holds a CA, which the workers then get."""
    known = memory.redis_credentials
    return known is not None and known[1].ca is not None


def _ids(shop: ShopResource) -> tuple[str, str]:
    return shop.namespace, shop.name


def _count(workload: dict[str, Any]) -> RoleCount:
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
