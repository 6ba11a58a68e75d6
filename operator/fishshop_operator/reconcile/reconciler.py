"""The Reconciler: the operator's entry to one shop, one call at a time per shop.

``reconcile``, ``reconcile_by_name``, ``delete``, and the bookkeeping of which shops
exist. What a reconcile does is in ``pipeline`` and its steps; a deletion in
``deletion``; the loop that visits every shop in ``resync``; what is held about each
shop in ``shops``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from fishshop_operator.constants import API_VERSION, KIND
from fishshop_operator.kafka.clients import KafkaClients
from fishshop_operator.kube.api import KubeApi, object_path
from fishshop_operator.metrics import OperatorMetrics
from fishshop_operator.reconcile.deletion import delete_shop
from fishshop_operator.reconcile.memory import ShopMemory
from fishshop_operator.reconcile.pipeline import DELETING, Outcome, reconcile_shop
from fishshop_operator.reconcile.schedule import due_retries, next_look, retry_times
from fishshop_operator.reconcile.shops import Key, ShopMemories
from fishshop_operator.reconcile.tools import WorkloadReplicas
from fishshop_operator.reconcile.workloads import role_count
from fishshop_operator.shop.index import ShopIndex, prefix_owner

__all__ = ["Outcome", "Reconciler", "Visited", "prefix_owner", "resync_loop", "resync_round"]

log = logging.getLogger("fishshop_operator")


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
        workload_replicas: WorkloadReplicas | None = None,
        shops: ShopMemories | None = None,
        any_prefix: bool = False,
    ) -> None:
        self.api = api
        self.image = image
        self.metrics = metrics
        self.certs_root = certs_root
        """Scratch space for a client key, only where in-memory files are missing."""
        self.delete_patience = delete_patience
        self.concurrency = concurrency
        """Shops reconciled at the same time (by kopf's handlers and the resync loop
        together): hundreds of shops applied at once do not open hundreds of
        connections."""
        self._reconciling = asyncio.Semaphore(max(1, concurrency))
        self.workload_replicas = workload_replicas
        """Role -> replicas the autoscaler decided for a shop, which win over its spec."""
        self.any_prefix = any_prefix
        """A shop may choose any topic prefix, not only one of its namespace's."""
        self.index = ShopIndex()
        """Every shop the watch has shown, by topic prefix: who owns which topics."""
        self.shops = shops if shops is not None else ShopMemories(api, certs_root)
        """Every shop's memory, the Kafka clients and the Secret cache (the operator
        shares them with its Autoscaler)."""

    @property
    def kafka(self) -> KafkaClients:
        """Kafka clients shared by the shops of one Kafka, across reconciles."""
        return self.shops.kafka

    @kafka.setter
    def kafka(self, clients: KafkaClients) -> None:
        self.shops.kafka = clients

    async def close(self) -> None:
        """Close what the Reconciler holds open (the operator stops)."""
        await self.shops.close()

    # -- which shops exist -----------------------------------------------------------

    def remembered(self) -> set[Key]:
        """The shops the operator holds state for: (namespace, name)."""
        return self.shops.keys()

    def watched(self) -> list[Key]:
        """The shops the watch has shown, which the resync loop visits, in order."""
        return sorted(key for key, memory in self.shops.items() if memory.watched)

    def failing(self) -> dict[Key, float]:
        """The shops the watch has shown whose last reconcile ended in error -> when it
        ended (the event loop's clock), in order."""
        failed = {
            key: memory.failed_at
            for key, memory in self.shops.items()
            if memory.watched and memory.failed_at is not None
        }
        return {key: failed[key] for key in sorted(failed)}

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
            self.shops.of((namespace, name)).watched = True
            if body is not None:
                self.know(body)

    def saw_workload(self, namespace: str, shop: str, body: dict[str, Any], gone: bool) -> None:
        """Note a watch event on one of the shop's workloads: who it is (uid, generation)
        and its pods, or that it is gone (so the next reconcile applies it again)."""
        memory = self.shops.get((namespace, shop))
        if memory is None:
            return
        meta = body.get("metadata") or {}
        key = (str(body.get("kind")), str(meta.get("name")))
        if gone:
            memory.seen.pop(key, None)
        else:
            seen = (str(meta.get("uid")), int(meta.get("generation") or 0))
            memory.seen[key] = (seen, role_count(body))

    def forget(self, namespace: str, name: str, *, uid: str | None = None) -> None:
        """Let go of everything held for the shop: its memory (lock, caches, Secrets,
        the autoscaler's state), its claim on Kafka clients, its place in the index
        (``uid``'s only, when known: a new shop of the same name may be there already)
        and its metrics' series."""
        self.shops.forget((namespace, name))
        if uid is not None:
            self.index.discard(uid)
        else:
            self.index.discard_named(namespace, name)
        self.metrics.forget(namespace, name)

    # -- the resync loop ---------------------------------------------------------------

    async def resync(self, interval: float, retry: float | None = None) -> None:
        """Reconcile every known shop every ``interval`` seconds, and a shop whose last
        reconcile failed ``retry`` seconds after that failure, until cancelled."""
        await resync_loop(self, interval, retry)

    async def resync_round(self) -> None:
        """Reconcile every known shop once, ``concurrency`` at a time."""
        await resync_round(self)

    # -- one shop ----------------------------------------------------------------------

    async def reconcile_by_name(
        self, namespace: str, name: str, check_kafka: bool = False
    ) -> Outcome | None:
        """Reconcile the shop as it is now (after an event on something it owns).

        Events come in bursts while pods start; one waiting reconcile covers them all.
        The shop is read once this reconcile has its slot and the shop's lock, so a
        reconcile that queued behind others applies the spec as it is when it runs,
        not as it was when it queued. Without ``check_kafka``, topics already found
        ready for this generation of the spec are not asked about again (the resync
        loop does that).
        """
        key = (namespace, name)
        memory = self.shops.of(key)
        if memory.pending:
            return None
        memory.pending = True
        try:
            async with self._reconciling, memory.lock:
                try:
                    body = await self.api.get(object_path(API_VERSION, KIND, namespace, name))
                except Exception:
                    memory.failed_at = asyncio.get_running_loop().time()
                    raise
                finally:
                    memory.pending = False
                if self.shops.get(key) is not memory:
                    # Forgotten while this waited: the shop it was for is gone, and a
                    # new one of the same name is reconciled through its own memory.
                    return None
                if body is not None:
                    if body.get("metadata", {}).get("deletionTimestamp"):
                        return None
                    return await self._reconcile_held(key, memory, body, check_kafka)
        finally:
            memory.pending = False
        if not memory.lock.locked() and (check_kafka or not memory.watched):
            # An owner that is long gone, or (found by the resync loop) a shop whose
            # DELETED the watch missed: a watch that relists never says it.
            self.forget(namespace, name)
        return None

    async def reconcile(self, body: dict[str, Any], check_kafka: bool = True) -> Outcome:
        meta = body.get("metadata") or {}
        key = (str(meta.get("namespace")), str(meta.get("name")))
        memory = self.shops.of(key)
        async with self._reconciling, memory.lock:
            return await self._reconcile_held(key, memory, body, check_kafka)

    async def _reconcile_held(
        self, key: Key, memory: ShopMemory, body: dict[str, Any], check_kafka: bool
    ) -> Outcome:
        """Reconcile ``body`` while holding a slot and the shop's lock."""
        meta = body.get("metadata") or {}
        try:
            # Checked under the lock: a deletion that began while this reconcile
            # waited must not see its topics made again behind it.
            if meta.get("deletionTimestamp") or (
                memory.deleting is not None and memory.deleting == meta.get("uid")
            ):
                return DELETING
            started = time.monotonic()
            try:
                outcome = await reconcile_shop(self, body, memory, check_kafka)
            except Exception:
                memory.failed_at = asyncio.get_running_loop().time()
                self.metrics.reconciliations.labels("error").inc()
                raise
            finally:
                self.metrics.reconcile_seconds.observe(time.monotonic() - started)
            failed = outcome.result == "error"
            memory.failed_at = asyncio.get_running_loop().time() if failed else None
            self.metrics.reconciliations.labels(outcome.result).inc()
            return outcome
        finally:
            if self.shops.get(key) is not memory:
                # The shop was forgotten while this reconcile ran: the Kafka clients it
                # claimed and the series it set since then go as well.
                self.kafka.release(key)
                self.metrics.forget(*key)

    async def delete(self, body: dict[str, Any]) -> None:
        """Delete the shop's connector and topics, retrying for a bounded time.

        Once begun, no reconcile of this shop acts again, so nothing makes the topics
        anew behind the deletion.
        """
        meta = body.get("metadata") or {}
        memory = self.shops.of((str(meta.get("namespace")), str(meta.get("name"))))
        memory.deleting = str(meta.get("uid"))
        async with memory.lock:
            await delete_shop(self, body, memory)


# The resync loop: every known shop reconciled against Kafka at an interval, side by
# side up to the operator's concurrency, so that a shop whose Kafka does not answer
# (20 s per call) holds up only itself; and each failing shop retried on a deadline of
# its own (``schedule``).
class Visited(Protocol):
    """What the loop needs of the Reconciler."""

    metrics: OperatorMetrics
    concurrency: int

    def watched(self) -> list[Key]: ...

    def failing(self) -> dict[Key, float]: ...

    async def resync_round(self) -> None: ...

    async def reconcile_by_name(
        self, namespace: str, name: str, check_kafka: bool = False
    ) -> object: ...


async def resync_loop(shops: Visited, interval: float, retry: float | None = None) -> None:
    """``shops.resync_round`` every ``interval`` seconds and, with ``retry``, each shop
    whose last reconcile failed ``retry`` seconds after that failure, until cancelled.

    A failing shop is retried here, not by kopf: kopf sleeps out a handler's retry
    delay on the object's own worker, and its workers are bounded, so a few shops that
    stay broken (a wrong address, a missing Secret) would hold every worker and leave
    new shops unseen. Rounds and retries run beside the loop, so a slow one delays no
    other: retries due together run side by side (bounded by the Reconciler's slots),
    and a full round starts on time unless the one before still runs.
    """
    loop = asyncio.get_running_loop()
    woken = asyncio.Event()
    full: asyncio.Task[None] | None = None
    full_at = loop.time() + interval
    retrying: dict[Key, asyncio.Task[None]] = {}
    answered: dict[Key, float] = {}

    async def full_round() -> None:
        began = loop.time()
        try:
            await shops.resync_round()
        except Exception as error:  # the loop must outlive any round
            log.error("action=resync error=%r", error, exc_info=True)
        shops.metrics.resync_round_seconds.observe(loop.time() - began)
        woken.set()

    async def retry_shop(namespace: str, name: str) -> None:
        try:
            await shops.reconcile_by_name(namespace, name, check_kafka=True)
        except Exception as error:  # noqa: BLE001 - the loop must outlive any one shop
            log.warning("action=retry shop=%s/%s error=%r", namespace, name, error)
        finally:
            retrying.pop((namespace, name), None)

    try:
        while True:
            woken.clear()
            now = loop.time()
            if full is not None and full.done():
                full = None
            if full is None and now >= full_at:
                full = asyncio.create_task(full_round())
                full_at = now + interval
            times: dict[Key, float] = {}
            if retry is not None:
                failed = shops.failing()
                for key in answered.keys() - failed.keys():
                    del answered[key]
                times = retry_times(failed, retry=retry, answered=answered, busy=retrying)
                for key in due_retries(times, now):
                    answered[key] = failed[key]
                    del times[key]
                    retrying[key] = asyncio.create_task(retry_shop(*key))
            look = next_look(
                times, now=now, retry=retry, full_at=None if full is not None else full_at
            )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(None if math.isinf(look) else max(0.0, look - now)):
                    await woken.wait()
    finally:
        running = [task for task in (full, *retrying.values()) if task is not None]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)


async def resync_round(shops: Visited) -> None:
    """Reconcile every shop the watch has shown once, ``concurrency`` at a time."""
    visits = asyncio.Semaphore(max(1, shops.concurrency))

    async def visit(namespace: str, name: str) -> None:
        async with visits:
            try:
                await shops.reconcile_by_name(namespace, name, check_kafka=True)
            except Exception as error:  # noqa: BLE001 - the loop must outlive any one shop
                log.warning("action=resync shop=%s/%s error=%r", namespace, name, error)

    shown = shops.watched()
    await asyncio.gather(*(visit(namespace, name) for namespace, name in shown))
