"""The autoscaler's loop: each autoscaled shop's queue counted, replicas decided, told why.

It looks and tells; the decisions are in ``decisions``. It never writes a workload
itself: a changed decision is applied by a reconcile of the shop (``replicas`` is the
reconciler's hook), so two writers never fight over a Deployment. Each shop is looked
at on a task of its own. Design: docs/design/operator.md, "autoscale/".
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from fishshop_operator.autoscale.decisions import Decision, bounds, decide, first_sight
from fishshop_operator.autoscale.memory import AutoscaledShop, AutoscaleMemory
from fishshop_operator.autoscale.spec import AUTOSCALED_ROLES
from fishshop_operator.kafka.topics import KafkaUnreachable, queue_state
from fishshop_operator.kube.api import KubeApi, KubeApiError
from fishshop_operator.kube.secrets import KAFKA_SECRET_ERRORS
from fishshop_operator.metrics import OperatorMetrics
from fishshop_operator.reconcile.memory import ShopMemory
from fishshop_operator.reconcile.shops import Key, ShopMemories, stop_looking
from fishshop_operator.shop.resource import ShopResource
from fishshop_workers.shop.roles import COOK, PREPARER

__all__ = ["INTERVAL", "TLS_RECHECK", "Autoscaler"]

log = logging.getLogger("fishshop_operator")

INTERVAL = 3.0
"""Seconds between looks at each shop's queue: with the count and the apply, the
preparers follow a burst within 10 s (KEDA's Kafka scaler polls every 30 s)."""

TLS_RECHECK = 30.0
"""Seconds a shop's TLS Secret, as last read, serves the autoscaler before it is read
again: a GET at every look would be 100 a second for 300 shops; a renewed certificate
is taken up within this (or at the next reconcile, whichever reads it first)."""


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


class Autoscaler:
    def __init__(
        self,
        api: KubeApi,
        metrics: OperatorMetrics,
        certs_root: Path,
        interval: float = INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        *,
        shops: ShopMemories | None = None,
    ) -> None:
        self.api = api
        self.metrics = metrics
        self.certs_root = certs_root
        self.interval = interval
        self.clock = clock
        self._own_shops = shops is None
        self.shops = shops if shops is not None else ShopMemories(api, certs_root, clock=clock)
        """The shops' memories, Kafka clients and Secrets: the Reconciler's own (the
        operator gives both the same), so a shop's autoscale state is part of its one
        memory record, and its TLS context and Kafka clients are the reconciler's."""

    # -- the reconciler's hook ---------------------------------------------------

    def replicas(self, shop: ShopResource, memory: ShopMemory | None = None) -> Mapping[str, int]:
        """Role -> replicas to apply for ``shop`` (only roles that autoscale); also how
        the autoscaler learns which shops to look at and what their spec says now.
        ``memory``: the shop's record the reconcile holds."""
        key = (shop.namespace, shop.name)
        state = (memory if memory is not None else self.shops.of(key)).autoscale
        stale = {role for role in shop.decided_replicas if role not in shop.autoscale}
        if stale:
            state.stale = stale
        # A role that autoscales (again) keeps its status: turned off and on between
        # two looks, clearing it would wipe what the next look writes.
        state.stale -= shop.autoscale.keys()
        if not shop.autoscale:
            if state.watched is not None:
                self._stop(state)
            return {}
        watched = state.watched
        if watched is None or watched.shop.uid != shop.uid:
            watched = state.watched = AutoscaledShop(shop)
        watched.shop = shop
        now = self.clock()
        partitions = watched.partitions or shop.spec.partitions
        decided: dict[str, int] = {}
        for role in list(watched.roles):
            if role not in shop.autoscale:
                del watched.roles[role]
                self.metrics.forget_desired(shop.namespace, shop.name, [role])
        for role, spec in shop.autoscale.items():
            recommendations = watched.roles.get(role)
            if recommendations is None:
                # A restarted operator starts from its last decision, not from the spec.
                start = shop.decided_replicas.get(role, _spec_replicas(shop, role))
                recommendations = watched.roles[role] = first_sight(start, spec, partitions, now)
            # Bounds changed in the spec hold at once, before the next look.
            low, high = bounds(spec, partitions)
            decided[role] = min(max(recommendations.replicas, low), high)
        return decided

    def watched(self) -> set[Key]:
        """The shops whose queues are looked at: (namespace, name)."""
        return {key for key, memory in self.shops.items() if memory.autoscale.watched}

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
            tasks = [
                memory.autoscale.looking
                for _, memory in self.shops.items()
                if memory.autoscale.looking is not None
            ]
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if self._own_shops:
                await self.shops.close()

    async def look(self, shops: Shops) -> None:
        """Start a look at each autoscaled shop whose last look has ended; forget the
        shops that the reconciler forgot (deleted ones)."""
        known = shops.remembered()
        for key, memory in self.shops.items():
            if key not in known:  # only where the autoscaler holds shops of its own
                self._stop(memory.autoscale)
                self.metrics.forget_desired(*key, AUTOSCALED_ROLES)
                self.shops.forget(key)
        for key, memory in self.shops.items():
            if memory.autoscale.stale:
                await self._clear_status(key, memory.autoscale.stale)
        for key, memory in self.shops.items():
            state = memory.autoscale
            if state.looking is not None and state.looking.done():
                state.looking = None
            if state.watched is not None and state.looking is None:
                state.looking = asyncio.create_task(self._look_safely(shops, key))

    async def _look_safely(self, shops: Shops, key: Key) -> None:
        try:
            await self.look_at(shops, key)
        except Exception as error:  # noqa: BLE001 - one shop must not stop the others
            log.warning("action=autoscale shop=%s/%s error=%r", *key, error)

    async def look_at(self, shops: Shops, key: Key) -> dict[str, Decision]:
        """Count one shop's queues, decide, apply a change and write the status."""
        memory = self.shops.get(key)
        watched = memory.autoscale.watched if memory is not None else None
        if memory is None or watched is None:
            return {}
        shop = watched.shop
        try:
            settings = await self.shops.secrets.kafka_settings(
                shop, memory.secrets, recheck=TLS_RECHECK
            )
            state = await queue_state(settings, shop, clients=self.shops.kafka)
        except (KafkaUnreachable, *KAFKA_SECRET_ERRORS) as error:
            log.warning("action=autoscale shop=%s/%s error=%s", *key, error)
            return {}
        finally:
            if self.shops.get(key) is not memory:
                self.shops.kafka.release(key)  # forgotten while Kafka was asked
        if memory.autoscale.watched is not watched or state.partitions < 1:
            return {}  # forgotten meanwhile, or the topic is not there (yet) to count
        shop = watched.shop  # the spec may have changed while Kafka was asked
        watched.partitions = state.partitions
        now = self.clock()
        decisions: dict[str, Decision] = {}
        queues = {PREPARER: state.queued_orders, COOK: state.queued_for_cook}
        estimated = {PREPARER: state.orders_estimated, COOK: state.cook_estimated}
        for role, spec in shop.autoscale.items():
            recommendations = watched.roles.get(role) or first_sight(
                _spec_replicas(shop, role), spec, state.partitions, now
            )
            decision = decide(
                recommendations,
                queues[role],
                state.partitions,
                spec,
                now,
                role,
                estimated=estimated[role],
            )
            watched.roles[role] = decision.memory
            decisions[role] = decision
            self.metrics.desired_replicas.labels(shop.namespace, shop.name, role).set(
                decision.replicas
            )
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

    async def _apply(self, shops: Shops, key: Key, watched: AutoscaledShop) -> None:
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
    def _role_status(watched: AutoscaledShop, role: str, decision: Decision, queue: int) -> Any:
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
        memory = self.shops.get(key)
        if memory is not None:
            memory.autoscale.stale = set()
            if memory.autoscale.watched is not None:
                # The status changed under it: write it whole again.
                memory.autoscale.watched.written = None

    # -- letting go ----------------------------------------------------------------

    def _stop(self, state: AutoscaleMemory) -> None:
        """The shop's roles no longer autoscale: its state, series and look go."""
        watched, state.watched = state.watched, None
        if watched is not None:
            shop = watched.shop
            self.metrics.forget_desired(shop.namespace, shop.name, AUTOSCALED_ROLES)
        stop_looking(state)
