"""The demo shop's crew: how its workers are hired, and each one's station."""

from __future__ import annotations

import asyncio
import random
import socket
from collections import deque
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry

from fishshop_workers.cabinet.store import HotCabinet
from fishshop_workers.kafka.settings import KafkaSettings
from fishshop_workers.roles.cook import Cook, CookSettings
from fishshop_workers.roles.metrics import ShopMetrics
from fishshop_workers.roles.options import WorkerOptions
from fishshop_workers.roles.preparer import Preparer, PreparerSettings
from fishshop_workers.roles.till import Till, TillSettings
from fishshop_workers.shop.roles import COOK, PREPARER, TILL, Role
from fishshop_workers.shop.spec import ShopSpec

__all__ = ["LINES_KEPT", "Staffing", "Station"]

LINES_KEPT = 200
"""Lines each station keeps; a panel shows the newest that fit."""


@dataclass(frozen=True)
class Staffing:
    """Makes one shop's workers, each with its own metrics registry, as pods would
    have; the live shop hires them one at a time."""

    spec: ShopSpec
    prefix: str
    kafka: KafkaSettings
    cabinet: HotCabinet | None = None
    """The shop's hot cabinet, shared by its preparers and cooks; None: no cabinet."""

    def _parts(self, role: Role, number: int) -> tuple[WorkerOptions, ShopMetrics]:
        name = f"{role}-{number}"
        # Named HOST/role-N in served records, as a pod is by its own name.
        worker = f"{socket.gethostname()}/{name}"
        options = WorkerOptions(self.spec.name, self.prefix, self.kafka, worker)
        return options, ShopMetrics(self.spec.name, role, name, CollectorRegistry())

    def till(self, number: int, rng: random.Random, plaice: bool | None = None) -> Till:
        """Till ``number``; plaice is on its menu when the shop has a cook, unless told."""
        tills = self.spec.tills
        on_menu = self.spec.plaice if plaice is None else plaice
        settings = TillSettings(number, tills.orders_per_minute, on_menu)
        options, metrics = self._parts(TILL, number)
        return Till(options, settings, metrics, rng)

    def preparer(self, number: int, rng: random.Random) -> Preparer:
        preparers = self.spec.preparers
        settings = PreparerSettings(preparers.prep_min, preparers.prep_max)
        options, metrics = self._parts(PREPARER, number)
        return Preparer(options, settings, metrics, rng, cabinet=self.cabinet)

    def cook(self, number: int, rng: random.Random) -> Cook:
        cooks = self.spec.cooks
        options, metrics = self._parts(COOK, number)
        return Cook(
            options,
            CookSettings(cooks.cook_min, cooks.cook_max),
            metrics,
            rng,
            cabinet=self.cabinet,
            cabinet_settings=self.spec.hot_cabinet,
        )


@dataclass(eq=False)
class Station:
    """One worker's place in the shop, and what its panel shows."""

    role: Role
    number: int
    worker: Till | Preparer | Cook
    lines: deque[str] = field(default_factory=lambda: deque(maxlen=LINES_KEPT))
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    leaving: bool = False
    """Sent home: finishing what it holds; the station goes when the task ends."""
    error: BaseException | None = None
    """What stopped the worker, if it failed."""
    owned: tuple[int, ...] | None = None
    """Partitions a preparer or cook owns, as last seen (None: not yet known)."""

    @property
    def failure(self) -> str | None:
        """Why the worker stopped, if it failed: ``KafkaConnectionError: ...``."""
        error = self.error
        return None if error is None else f"{type(error).__name__}: {error}"

    @property
    def working(self) -> bool:
        return self.task is not None and not self.task.done()

    @property
    def partitions(self) -> tuple[int, ...] | None:
        """What the title names: a till's partition, a kitchen worker's partitions."""
        if isinstance(self.worker, Till):
            partition = self.worker.partition
            return None if partition is None else (partition,)
        return self.owned

    @property
    def state(self) -> str:
        if self.failure is not None:
            return "stopped"
        if self.leaving:
            return "leaving"
        if not self.working:
            return "closed" if self.role == TILL else "stopped"
        return ""

    def say(self, line: str) -> None:
        self.lines.append(line)
