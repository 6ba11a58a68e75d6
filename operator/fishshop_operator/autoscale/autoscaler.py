"""The autoscaler: every few seconds, each shop whose preparers (or cooks) autoscale
has its queue counted, its replicas decided, and its status told why.

Decisions are in ``autoscale``; this module only looks and tells. It never writes a
workload itself: when a decision differs from what the workloads were last applied
with, it asks the reconciler for the shop, whose server-side apply sends the same
manifests as always with the decided replicas (``Autoscaler.replicas`` is the
reconciler's hook), so two writers never fight over a Deployment and every reconcile
keeps the decision instead of putting ``spec.preparers.replicas`` back. What the
reconcile says it applied is kept: an apply that failed is asked again at the next
look, not left to the next resync.

Each shop is looked at on its own task, so a shop whose Kafka does not answer (a
count can take 20 s to give up) holds up only itself. What is remembered about a
shop is forgotten when the reconciler forgets the shop.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import ssl
import time
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from prometheus_client import Gauge

from fishshop_operator.autoscale.decisions import (
    Decision,
    Recommendations,
    bounds,
    decide,
    first_sight,
)
from fishshop_operator.autoscale.spec import AUTOSCALED_ROLES
from fishshop_operator.kafka.clients import KafkaClients
from fishshop_operator.kafka.tls import TLSSecretError, build_ssl_context, read_tls_secret
from fishshop_operator.kafka.topics import KafkaUnreachable, queue_state, shop_settings
from fishshop_operator.kube.api import KubeApi, KubeApiError, object_path
from fishshop_operator.metrics import OperatorMetrics
from fishshop_operator.shop.resource import ShopResource
from fishshop_workers.shop.roles import COOK, PREPARER

__all__ = ["INTERVAL", "Autoscaler"]

log = logging.getLogger("fishshop_operator")

INTERVAL = 3.0
"""Seconds between looks at each shop's queue: with the count and the apply, the
preparers follow a burst within 10 s (KEDA's Kafka scaler polls every 30 s)."""

TLS_RECHECK = 30.0
"""Seconds a shop's TLS context is used before its Secret is read again: a GET at
every look would be 100 a second for 300 shops; a renewed certificate is taken up
within this."""

Key = tuple[str, str]


class Reconciled(Protocol):
    """What a reconcile tells of its apply."""

    @property
    def replicas(self) -> Mapping[str, int]:
        """Role -> replicas of its workload as the API server returned it."""
        ...


class Shops(Protocol):
    """What the autoscaler needs of the reconciler."""

    def remembered(self) -> set[Key]: ...

    async def reconcile_by_name(self, namespace: str, name: str) -> Reconciled | None: ...


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _spec_replicas(shop: ShopResource, role: str) -> int:
    return shop.spec.preparers.replicas if role == PREPARER else shop.spec.cooks.replicas


@dataclass
class _Watched:
    """One shop whose preparers or cooks autoscale."""

    shop: ShopResource
    roles: dict[str, Recommendations] = field(default_factory=dict)
    scaled_at: dict[str, str] = field(default_factory=dict)
    """Role -> when its replicas last changed (wall clock, for the status)."""
    applied: dict[str, int] = field(default_factory=dict)
    """Role -> replicas its workload had in the last reconcile that this autoscaler
    asked for and that applied it: a decision that differs is applied (again)."""
    partitions: int | None = None
    """Partitions of the orders topic as Kafka last said (the cook topic has as many)."""
    written: dict[str, Any] | None = None
    """The status last written, so an unchanged one is not written again."""
    tls: tuple[tuple[str, str, str], ssl.SSLContext] | None = field(default=None, repr=False)
    """The TLS Secret's (name, uid, resourceVersion) and the context built from it."""
    tls_read_at: float = 0.0
    """When (the autoscaler's clock) the TLS Secret was last read."""


class Autoscaler:
    def __init__(
        self,
        api: KubeApi,
        metrics: OperatorMetrics,
        certs_root: Path,
        interval: float = INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api = api
        self.desired_replicas = Gauge(
            "fishshop_operator_desired_replicas",
            "Preparers or cooks the autoscaler decided on for a FishShop, by role",
            ["namespace", "shop", "role"],
            registry=metrics.registry,
        )
        self.certs_root = certs_root
        self.interval = interval
        self.clock = clock
        self._shops: dict[Key, _Watched] = {}
        self._stale: dict[Key, set[str]] = {}
        """Shops whose status still shows an autoscale that is off: role -> cleared."""
        self._looking: dict[Key, asyncio.Task[None]] = {}
        self.kafka = KafkaClients()
        """Kafka clients kept across looks, shared by the shops of one Kafka. Apart from
        the reconciler's: this loop builds its own TLS contexts, and one shop's claim
        moving between two contexts would close and open clients at every look."""

    # -- the reconciler's hook ---------------------------------------------------

    def replicas(self, shop: ShopResource) -> Mapping[str, int]:
        """Role -> replicas to apply for ``shop`` (only roles that autoscale); also how
        the autoscaler learns which shops to look at and what their spec says now."""
        key = (shop.namespace, shop.name)
        stale = {role for role in shop.decided_replicas if role not in shop.autoscale}
        if stale:
            self._stale[key] = stale
        self._unstale(key, shop.autoscale.keys())
        if not shop.autoscale:
            if key in self._shops:
                self._forget(key)
            return {}
        watched = self._shops.get(key)
        if watched is None or watched.shop.uid != shop.uid:
            watched = self._shops[key] = _Watched(shop)
        watched.shop = shop
        now = self.clock()
        partitions = watched.partitions or shop.spec.partitions
        decided: dict[str, int] = {}
        for role in list(watched.roles):
            if role not in shop.autoscale:
                del watched.roles[role]
                self._remove_gauge(shop, role)
        for role, spec in shop.autoscale.items():
            memory = watched.roles.get(role)
            if memory is None:
                # A restarted operator starts from its last decision, not from the spec.
                start = shop.decided_replicas.get(role, _spec_replicas(shop, role))
                memory = watched.roles[role] = first_sight(start, spec, partitions, now)
            # Bounds changed in the spec hold at once, before the next look.
            low, high = bounds(spec, partitions)
            decided[role] = min(max(memory.replicas, low), high)
        return decided

    def watched(self) -> set[Key]:
        """The shops whose queues are looked at: (namespace, name)."""
        return set(self._shops)

    def _unstale(self, key: Key, autoscaled: Set[str]) -> None:
        """A role that autoscales (again) keeps its status: turned off and on between
        two looks, clearing it would wipe what the next look writes."""
        stale = self._stale.get(key)
        if stale is None:
            return
        stale -= autoscaled
        if not stale:
            del self._stale[key]

    # -- the loop ----------------------------------------------------------------

    async def run(self, shops: Shops) -> None:
        """Look at every autoscaled shop every ``interval`` seconds, until cancelled."""
        try:
            while True:
                await asyncio.sleep(self.interval)
                try:
                    await self.look(shops)
                except Exception as error:  # noqa: BLE001 - autoscaling outlives a bad look
                    log.warning("action=autoscale error=%r", error)
        finally:
            tasks = list(self._looking.values())
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await self.kafka.close()

    async def look(self, shops: Shops) -> None:
        """Start a look at each autoscaled shop whose last look has ended; forget the
        shops that the reconciler forgot (deleted ones)."""
        known = shops.remembered()
        for key in [key for key in self._shops if key not in known]:
            self._forget(key)
        for key in [key for key in self._stale if key not in known]:
            del self._stale[key]
        for key, roles in list(self._stale.items()):
            await self._clear_status(key, roles)
        for key in self._shops:
            running = self._looking.get(key)
            if running is None or running.done():
                self._looking[key] = asyncio.create_task(self._look_safely(shops, key))
        for key in [key for key, task in self._looking.items() if task.done()]:
            del self._looking[key]

    async def _look_safely(self, shops: Shops, key: Key) -> None:
        try:
            await self.look_at(shops, key)
        except Exception as error:  # noqa: BLE001 - one shop must not stop the others
            log.warning("action=autoscale shop=%s/%s error=%r", *key, error)

    async def look_at(self, shops: Shops, key: Key) -> dict[str, Decision]:
        """Count one shop's queues, decide, apply a change and write the status."""
        watched = self._shops.get(key)
        if watched is None:
            return {}
        shop = watched.shop
        try:
            settings = shop_settings(shop, await self._tls(watched))
            state = await queue_state(settings, shop, clients=self.kafka)
        except (KafkaUnreachable, TLSSecretError) as error:
            log.warning("action=autoscale shop=%s/%s error=%s", *key, error)
            return {}
        finally:
            if self._shops.get(key) is not watched:
                self.kafka.release(key)  # forgotten while Kafka was asked
        if self._shops.get(key) is not watched or state.partitions < 1:
            return {}  # forgotten meanwhile, or the topic is not there (yet) to count
        shop = watched.shop  # the spec may have changed while Kafka was asked
        watched.partitions = state.partitions
        now = self.clock()
        decisions: dict[str, Decision] = {}
        queues = {PREPARER: state.queued_orders, COOK: state.queued_for_cook}
        estimated = {PREPARER: state.orders_estimated, COOK: state.cook_estimated}
        for role, spec in shop.autoscale.items():
            memory = watched.roles.get(role) or first_sight(
                _spec_replicas(shop, role), spec, state.partitions, now
            )
            decision = decide(
                memory,
                queues[role],
                state.partitions,
                spec,
                now,
                role,
                estimated=estimated[role],
            )
            watched.roles[role] = decision.memory
            decisions[role] = decision
            self.desired_replicas.labels(shop.namespace, shop.name, role).set(decision.replicas)
            if decision.scaled:
                watched.scaled_at[role] = _now()
                log.info(
                    "action=autoscale shop=%s/%s role=%s replicas=%d from=%d reason=%r",
                    *key,
                    role,
                    decision.replicas,
                    decision.previous,
                    decision.reason,
                )
        if any(watched.applied.get(role) != d.replicas for role, d in decisions.items()):
            await self._apply(shops, key, watched)
        status = {
            AUTOSCALED_ROLES[role].section: {
                "autoscale": self._role_status(watched, role, decision, queues[role])
            }
            for role, decision in decisions.items()
        }
        if status and status != watched.written:
            try:
                await self.api.patch_status(shop.namespace, shop.name, status)
            except KubeApiError as error:
                log.warning("action=autoscale-status shop=%s/%s error=%s", *key, error)
            else:
                watched.written = status
        return decisions

    async def _apply(self, shops: Shops, key: Key, watched: _Watched) -> None:
        """Have the reconciler apply the decisions, and keep what it applied. A reconcile
        that failed to apply (the API server refused, the topics are not ready) or that
        joined one already waiting tells nothing, so the next look asks again."""
        try:
            reconciled = await shops.reconcile_by_name(*key)
        except Exception as error:  # noqa: BLE001 - asked again at the next look
            log.warning("action=autoscale-apply shop=%s/%s error=%r", *key, error)
            return
        if reconciled is not None:
            watched.applied.update(
                (role, replicas)
                for role, replicas in reconciled.replicas.items()
                if role in AUTOSCALED_ROLES
            )

    @staticmethod
    def _role_status(watched: _Watched, role: str, decision: Decision, queue: int) -> Any:
        status: dict[str, Any] = {
            "queue": queue,
            "desiredReplicas": decision.replicas,
            "reason": decision.reason,
        }
        if role in watched.scaled_at:
            status["lastScaleTime"] = watched.scaled_at[role]
        return status

    async def _clear_status(self, key: Key, roles: set[str]) -> None:
        """Take ``status.<role>s.autoscale`` away once the spec turned autoscale off."""
        status = {AUTOSCALED_ROLES[role].section: {"autoscale": None} for role in roles}
        try:
            await self.api.patch_status(*key, status)
        except KubeApiError as error:
            if error.status != 404:
                log.warning("action=autoscale-status shop=%s/%s error=%s", *key, error)
                return
        except Exception as error:  # noqa: BLE001 - one shop must not stop the others
            log.warning("action=autoscale-status shop=%s/%s error=%r", *key, error)
            return
        self._stale.pop(key, None)
        watched = self._shops.get(key)
        if watched is not None:
            watched.written = None  # the status changed under it: write it whole again

    async def _tls(self, watched: _Watched) -> ssl.SSLContext | None:
        """The context for the shop's TLS Secret (of its own namespace), built once per
        version of the Secret, which is read again every ``TLS_RECHECK`` seconds."""
        shop = watched.shop
        if not shop.tls_secret:
            watched.tls = None
            return None
        known = watched.tls
        now = self.clock()
        if (
            known is not None
            and known[0][0] == shop.tls_secret
            and now - watched.tls_read_at < TLS_RECHECK
        ):
            return known[1]
        secret = await self.api.get(object_path("v1", "Secret", shop.namespace, shop.tls_secret))
        meta = (secret or {}).get("metadata") or {}
        version = (shop.tls_secret, str(meta.get("uid")), str(meta.get("resourceVersion")))
        if secret is not None and known is not None and known[0] == version:
            watched.tls_read_at = now
            return known[1]
        watched.tls = None  # a Secret that went or broke is read again at the next look
        where = f"{shop.namespace}/{shop.tls_secret}"
        context = build_ssl_context(read_tls_secret(secret, where), self.certs_root)
        watched.tls = (version, context)
        watched.tls_read_at = now
        return context

    # -- forgetting ----------------------------------------------------------------

    def _remove_gauge(self, shop: ShopResource, role: str) -> None:
        with contextlib.suppress(KeyError):
            self.desired_replicas.remove(shop.namespace, shop.name, role)

    def _forget(self, key: Key) -> None:
        watched = self._shops.pop(key, None)
        self.kafka.release(key)
        if watched is not None:
            for role in AUTOSCALED_ROLES:
                self._remove_gauge(watched.shop, role)
        task = self._looking.pop(key, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()
