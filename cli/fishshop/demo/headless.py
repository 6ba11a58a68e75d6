"""Run a whole shop in one process: the same tills, preparers and cooks that
pods run, as tasks, until the shop closes and every order is accounted for."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry

from fishshop.demo.boards.cabinet import FromCabinet
from fishshop.demo.cabinet_day import cabinet_books, start_of_day
from fishshop_workers.audit.auditor import Auditor
from fishshop_workers.audit.summary import Summary
from fishshop_workers.cabinet.errors import CabinetUnavailable
from fishshop_workers.cabinet.store import HotCabinet
from fishshop_workers.kafka.admin import ensure_topics
from fishshop_workers.kafka.settings import KafkaSettings
from fishshop_workers.roles.cook import Cook, CookSettings
from fishshop_workers.roles.metrics import ShopMetrics
from fishshop_workers.roles.options import WorkerOptions
from fishshop_workers.roles.preparer import Preparer, PreparerSettings
from fishshop_workers.roles.till import Till, TillSettings
from fishshop_workers.shop.spec import ShopSpec
from fishshop_workers.shop.topics import topic_prefix

__all__ = ["RunningShop", "Staffing", "build_shop", "run_shop"]

log = logging.getLogger(__name__)


@dataclass
class RunningShop:
    """The shop's workers while it runs; a live view reads this."""

    spec: ShopSpec
    prefix: str
    tills: list[Till] = field(default_factory=list)
    preparers: list[Preparer] = field(default_factory=list)
    cooks: list[Cook] = field(default_factory=list)


def _options(spec: ShopSpec, prefix: str, kafka: KafkaSettings, worker: str) -> WorkerOptions:
    host = socket.gethostname()
    return WorkerOptions(spec.name, prefix, kafka, f"{host}/{worker}")


def _metrics(spec: ShopSpec, role: str, worker: str) -> ShopMetrics:
    return ShopMetrics(spec.name, role, worker, CollectorRegistry())


@dataclass(frozen=True)
class Staffing:
    """Makes one shop's workers, each with its own metrics registry, as pods would
    have: ``build_shop`` hires the whole shop at once, the live view one at a time."""

    spec: ShopSpec
    prefix: str
    kafka: KafkaSettings
    cabinet: HotCabinet | None = None
    """The shop's hot cabinet, shared by its preparers and cooks; None: no cabinet."""

    def _parts(self, role: str, number: int) -> tuple[WorkerOptions, ShopMetrics]:
        name = f"{role}-{number}"
        return _options(self.spec, self.prefix, self.kafka, name), _metrics(self.spec, role, name)

    def till(self, number: int, rng: random.Random, plaice: bool | None = None) -> Till:
        """Till ``number``; plaice is on its menu when the shop has a cook, unless told."""
        tills = self.spec.tills
        on_menu = self.spec.plaice if plaice is None else plaice
        settings = TillSettings(number, tills.orders_per_minute, on_menu)
        options, metrics = self._parts("till", number)
        return Till(options, settings, metrics, rng)

    def preparer(self, number: int, rng: random.Random) -> Preparer:
        preparers = self.spec.preparers
        settings = PreparerSettings(preparers.prep_min, preparers.prep_max)
        options, metrics = self._parts("preparer", number)
        return Preparer(options, settings, metrics, rng, cabinet=self.cabinet)

    def cook(self, number: int, rng: random.Random) -> Cook:
        cooks = self.spec.cooks
        options, metrics = self._parts("cook", number)
        return Cook(
            options,
            CookSettings(cooks.cook_min, cooks.cook_max),
            metrics,
            rng,
            cabinet=self.cabinet,
            cabinet_settings=self.spec.hot_cabinet,
        )


def build_shop(
    spec: ShopSpec,
    kafka: KafkaSettings,
    seed: int | None = None,
    cabinet: HotCabinet | None = None,
) -> RunningShop:
    """The shop's workers, each with its own metrics registry, as pods would have."""
    prefix = topic_prefix(spec.name, chosen=spec.topic_prefix)
    rng = random.Random(seed)
    shop = RunningShop(spec, prefix)
    staffing = Staffing(spec, prefix, kafka, cabinet)
    for n in range(1, spec.tills.replicas + 1):
        shop.tills.append(staffing.till(n, random.Random(rng.random())))
    for n in range(1, spec.preparers.replicas + 1):
        shop.preparers.append(staffing.preparer(n, random.Random(rng.random())))
    for n in range(1, spec.cooks.replicas + 1):
        shop.cooks.append(staffing.cook(n, random.Random(rng.random())))
    return shop


async def run_shop(
    spec: ShopSpec,
    kafka: KafkaSettings,
    duration: float,
    drain_timeout: float = 120.0,
    on_tick: Callable[[float, Summary], None] | None = None,
    tick_seconds: float = 5.0,
    seed: int | None = None,
    cabinet: HotCabinet | None = None,
    from_cabinet: FromCabinet | None = None,
) -> Summary:
    """Open the shop for ``duration`` seconds, close it, drain it, audit it.

    A shop with a hot cabinet needs ``cabinet`` (see ``open_cabinet``): it is emptied
    first, as every day starts, and the summary carries its books. ``from_cabinet``,
    if given, counts the orders preparers serve from it.
    """
    if (spec.hot_cabinet is None) != (cabinet is None):
        raise ValueError(
            f"shop {spec.name!r} "
            + ("has no hot cabinet to give" if cabinet else "needs its hot cabinet")
        )
    shop = build_shop(spec, kafka, seed, cabinet)
    if from_cabinet is not None:
        for preparer in shop.preparers:
            preparer.on_committed = from_cabinet.add
    topics = _options(spec, shop.prefix, kafka, "demo").topics
    await ensure_topics(kafka, topics, spec.partitions)
    kitchen_stop = asyncio.Event()
    tills_stop = asyncio.Event()
    kitchen: list[asyncio.Task[None]] = []
    tills: list[asyncio.Task[None]] = []
    auditor = Auditor(kafka, topics)
    await auditor.start()
    try:
        compare = not await start_of_day(cabinet, auditor)
        workers: list[Cook | Preparer] = [*shop.cooks, *shop.preparers]
        kitchen = [
            asyncio.create_task(worker.run(kitchen_stop), name=f"kitchen-{i}")
            for i, worker in enumerate(workers)
        ]
        if spec.open:
            tills = [
                asyncio.create_task(t.run(tills_stop), name=f"till-{t.settings.number}")
                for t in shop.tills
            ]
        loop = asyncio.get_running_loop()
        started = loop.time()
        while loop.time() - started < duration:
            await _watch(kitchen + tills, min(tick_seconds, duration - (loop.time() - started)))
            if on_tick is not None:
                summary = await auditor.catch_up()
                with contextlib.suppress(CabinetUnavailable):  # the workers say so
                    summary = await cabinet_books(summary, cabinet, auditor.ledger, compare)
                on_tick(loop.time() - started, summary)
        tills_stop.set()
        await _watch_until_done(tills, kitchen)
        await auditor.settle(drain_timeout)
        kitchen_stop.set()
        await asyncio.gather(*kitchen)
        return await cabinet_books(await auditor.catch_up(), cabinet, auditor.ledger, compare)
    finally:
        tills_stop.set()
        kitchen_stop.set()
        for task in kitchen + tills:
            task.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.gather(*kitchen, *tills, return_exceptions=True)
        await auditor.stop()


async def _watch(tasks: list[asyncio.Task[None]], seconds: float) -> None:
    """Wait ``seconds``; if a worker fails meanwhile, raise its error."""
    if seconds <= 0:
        return
    if not tasks:
        await asyncio.sleep(seconds)
        return
    done, _ = await asyncio.wait(tasks, timeout=seconds, return_when=asyncio.FIRST_EXCEPTION)
    for task in done:
        error = task.exception()
        if error is not None:
            raise error


async def _watch_until_done(
    finishing: list[asyncio.Task[None]], others: list[asyncio.Task[None]]
) -> None:
    pending: set[asyncio.Task[None]] = set(finishing)
    while pending:
        done, pending = await asyncio.wait(
            pending | set(others), return_when=asyncio.FIRST_COMPLETED
        )
        for task in done:
            error = task.exception()
            if error is not None:
                raise error
        pending -= set(others)
