"""The demo's shop: its workers as tasks, a crew that changes while it runs, its day.

The live view and the headless demo both drive it (see docs/design/cli.md). Sending a
preparer or a cook home sets its stop event, so it commits the transaction in hand
and leaves the consumer group; nothing is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Sequence

from aiokafka.structs import TopicPartition

from fishshop.demo.analyst import Sink, sink_for_the_day
from fishshop.demo.boards.cabinet import FromCabinet, batch_lines, served_from_cabinet
from fishshop.demo.boards.shop import (
    RATE_WINDOW,
    ShopNumbers,
    Tally,
    kitchen_line,
    order_label,
    partitions_text,
    per_minute,
)
from fishshop.demo.cabinet_day import cabinet_books, open_cabinet, start_of_day
from fishshop.demo.crew import LINES_KEPT, Staffing, Station
from fishshop.demo.servers import DemoServers
from fishshop_workers.audit.auditor import Auditor
from fishshop_workers.audit.summary import Summary
from fishshop_workers.cabinet.decisions import CabinetCounts, CabinetSettings
from fishshop_workers.cabinet.errors import CabinetUnavailable
from fishshop_workers.cabinet.store import HotCabinet
from fishshop_workers.kafka.admin import ensure_topics
from fishshop_workers.kafka.queues import QueueWatch
from fishshop_workers.kafka.settings import KafkaSettings
from fishshop_workers.roles.cook import Cook
from fishshop_workers.roles.options import WorkerOptions
from fishshop_workers.roles.preparer import Preparer
from fishshop_workers.roles.till import Till
from fishshop_workers.shop.outgoing import Outgoing
from fishshop_workers.shop.roles import COOK, PREPARER, ROLES, TILL, Role
from fishshop_workers.shop.spec import ShopSpec
from fishshop_workers.shop.topics import ShopTopics, topic_prefix

__all__ = ["LiveShop", "Role", "Station", "open_shop"]

log = logging.getLogger(__name__)


class LiveShop:
    """Runs a shop's workers as tasks and changes the crew while the shop runs."""

    def __init__(
        self,
        spec: ShopSpec,
        kafka: KafkaSettings,
        seed: int | None = None,
        tally_seconds: float = RATE_WINDOW,
        *,
        cabinet: HotCabinet | None = None,
    ) -> None:
        if (spec.hot_cabinet is None) != (cabinet is None):
            raise ValueError(
                f"shop {spec.name!r} "
                + ("has no hot cabinet to give" if cabinet else "needs its hot cabinet")
            )
        self.spec = spec
        self.kafka = kafka
        self.prefix = topic_prefix(spec.name, chosen=spec.topic_prefix)
        self.topics = ShopTopics.from_prefix(self.prefix)
        self.cabinet = cabinet
        """The shop's hot cabinet (see ``demo.open_cabinet``), or None."""
        self.cabinet_settings = spec.hot_cabinet or CabinetSettings()
        self.cabinet_counts: CabinetCounts | None = None
        """The cabinet's books as last read; None until read (or without a cabinet)."""
        self.cabinet_news: deque[str] = deque(maxlen=LINES_KEPT)
        """Batches the cook fried and orders served from the cabinet, newest last."""
        self.from_cabinet = None if cabinet is None else FromCabinet()
        """Orders the preparers served from the cabinet, and their portions."""
        self.staffing = Staffing(spec, self.prefix, kafka, cabinet)
        self.stations: list[Station] = []
        self.is_open = spec.open
        self.partitions = spec.partitions
        self.notices: deque[str] = deque(maxlen=20)
        """What happened to the shop as a whole, newest last."""
        self._rng = random.Random(seed)
        self._auditor = Auditor(kafka, self.topics)
        options = WorkerOptions(spec.name, self.prefix, kafka, "live")
        self._queues = QueueWatch(
            kafka,
            {self.topics.orders: options.preparers_group, self.topics.cook: options.cooks_group},
        )
        self._tallies: deque[Tally] = deque()
        self._tally_seconds = tally_seconds
        self._looking = asyncio.Lock()
        self._started = False
        self._stopped = False
        self._summary = Summary(0, 0, 0, 0, 0, 0, None, None)
        self._queued: dict[str, dict[int, int]] = {}
        self._compare_cabinet = True
        self._closed: Summary | None = None

    @property
    def numbers(self) -> ShopNumbers:
        """The header's numbers: the crew as it is now, the books and queues as last read."""
        return self._count(self._summary, self._queued)

    # -- starting and stopping ---------------------------------------------------------

    async def start(self) -> None:
        """Make the topics, open the books, and hire the spec's crew."""
        plan = await ensure_topics(self.kafka, self.topics, self.spec.partitions)
        if plan.create:
            self.notice(f"created the shop's topics ({self.prefix}.*)")
        await self._auditor.start()
        try:
            self._compare_cabinet = not await start_of_day(self.cabinet, self._auditor)
            await self._queues.start()
        except BaseException:
            await self._auditor.stop()
            raise
        if self.cabinet is not None:
            self.cabinet_counts = CabinetCounts()
            self.cabinet_news.append("· start of the day: the cabinet is empty")
        self._started = True
        for _ in range(self.spec.cooks.replicas):
            self.hire(COOK)
        for _ in range(self.spec.preparers.replicas):
            self.hire(PREPARER)
        for _ in range(self.spec.tills.replicas):
            self.hire(TILL)
        self.notice(f"shop {self.spec.name!r} {'open' if self.is_open else 'closed'}")

    async def drain(self, patience: float) -> Summary:
        """Close, wait until the tills have finished, then until every order taken is
        served (or ``patience`` seconds pass). A worker's error is raised."""
        self.close()
        tills = [s.task for s in self.stations if s.role == TILL and s.task is not None]
        pending = {task for task in tills if not task.done()}
        while pending:
            others = {task for task in self.tasks() if task not in pending}
            await asyncio.wait(pending | others, return_when=asyncio.FIRST_COMPLETED)
            self.raise_failure()
            pending = {task for task in pending if not task.done()}
        async with self._looking:
            return await self._auditor.settle(patience)

    async def stop(self, patience: float = 30.0, *, strict: bool = False) -> Summary:
        """Close: tills stop, then every preparer and cook commits what it holds and
        leaves its group. Whatever is still queued stays, safe, in Kafka.

        Books that cannot be read at closing are logged and the summary is the one
        last read; with ``strict`` their error is raised instead. Safe to call again
        (say, after a close that was itself interrupted).
        """
        if self._closed is not None:
            return self._closed
        if not self._stopped:
            self.notice("closing: tills stop, the kitchen finishes the orders in hand")
        self._stopped = True
        self.is_open = False
        await self._send_home([s for s in self.stations if s.role == TILL], patience)
        await self._send_home([s for s in self.stations if s.role != TILL], patience)
        self._closed = await self._final_summary(strict)
        return self._closed

    async def _send_home(self, stations: Sequence[Station], patience: float) -> None:
        for station in stations:
            station.stop.set()
        tasks = [s.task for s in stations if s.task is not None and not s.task.done()]
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=patience)
        for task in late:  # only when Kafka is gone: nothing left to commit to
            task.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.gather(*late, return_exceptions=True)

    async def _final_summary(self, strict: bool) -> Summary:
        async with self._looking:
            try:
                if self._started:
                    summary = await self._auditor.catch_up(patience=10.0)
                    ledger = self._auditor.ledger
                    return await cabinet_books(summary, self.cabinet, ledger, self._compare_cabinet)
                return self._auditor.ledger.summary()
            except Exception as error:  # the books are shut regardless
                if strict:
                    raise
                log.warning("could not read the books at closing: %s", error)
                return self._auditor.ledger.summary()
            finally:
                await _quietly(self._queues.stop())
                await _quietly(self._auditor.stop())
                self._started = False

    def tasks(self) -> list[asyncio.Task[None]]:
        """The workers' tasks that still run."""
        return [s.task for s in self.stations if s.task is not None and not s.task.done()]

    def raise_failure(self) -> None:
        """Raise the error that stopped a worker, if one did."""
        for station in self.stations:
            if station.error is not None:
                raise station.error

    # -- the crew -----------------------------------------------------------------------

    def crew(self, role: Role) -> list[Station]:
        """Stations of ``role`` that are not on their way home."""
        return [s for s in self.stations if s.role == role and not s.leaving]

    def hire(self, role: Role) -> Station:
        """Add a worker of ``role`` with the lowest free number, and start it
        (a till only while the shop is open)."""
        if self._stopped:
            raise RuntimeError("the shop is closing")
        taken = {s.number for s in self.stations if s.role == role}
        number = next(n for n in range(1, len(taken) + 2) if n not in taken)
        rng = random.Random(self._rng.random())
        worker: Till | Preparer | Cook
        if role == TILL:
            worker = self.staffing.till(number, rng, plaice=self._plaice_on_menu())
        elif role == PREPARER:
            worker = self.staffing.preparer(number, rng)
        else:
            worker = self.staffing.cook(number, rng)
        station = Station(role, number, worker)
        self._watch(station)
        self.stations.append(station)
        self.stations.sort(key=lambda s: (ROLES.index(s.role), s.number))
        if role != TILL or self.is_open:
            self._start(station)
        if role == COOK:
            self._set_menu()
        return station

    def send_home(self, role: Role) -> Station | None:
        """The highest-numbered worker of ``role`` finishes what it holds and goes."""
        crew = self.crew(role)
        if not crew:
            return None
        station = crew[-1]
        station.leaving = True
        if station.working:
            station.say("· going home: finishing the orders in hand")
            station.stop.set()
        else:
            self.stations.remove(station)
        if role == COOK:
            self._set_menu()
        return station

    def open(self) -> None:
        """Tills start taking orders again, each carrying on its own numbers."""
        if self.is_open or self._stopped:
            return
        self.is_open = True
        for station in self.crew(TILL):
            if not station.working:
                self._start(station)
        self.notice("the shop is open: tills take orders")

    def close(self) -> None:
        """Tills stop taking orders; the kitchen works through the queue."""
        if not self.is_open:
            return
        self.is_open = False
        for station in self.crew(TILL):
            station.stop.set()
            station.say("· shop closed")
        self.notice("the shop is closed: the kitchen works through the queue")

    def toggle(self) -> None:
        self.close() if self.is_open else self.open()

    def notice(self, text: str) -> None:
        self.notices.append(text)

    def _plaice_on_menu(self) -> bool:
        """Plaice is on the menu only while someone can cook it."""
        return bool(self.crew(COOK))

    def _set_menu(self) -> None:
        plaice = self._plaice_on_menu()
        changed = False
        for station in self.crew(TILL):
            till = station.worker
            if isinstance(till, Till) and till.settings.plaice != plaice:
                # Read for every order, so the next customer sees the new menu.
                till.settings = dataclasses.replace(till.settings, plaice=plaice)
                changed = True
        if changed:
            self.notice("plaice is on the menu" if plaice else "no cook: plaice is off the menu")

    def _start(self, station: Station) -> None:
        station.stop = asyncio.Event()
        name = f"{station.role}-{station.number}"
        station.task = asyncio.create_task(station.worker.run(station.stop), name=name)
        station.task.add_done_callback(lambda task: self._ended(station, task))
        if station.role == TILL:
            station.say("· taking orders")
        else:
            station.owned = None
            station.say("· joining the consumer group")

    def _ended(self, station: Station, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            station.error = task.exception()
            station.say(f"· stopped: {station.failure}")
            log.warning("%s %d stopped: %s", station.role, station.number, station.failure)
        if station.leaving:
            if station in self.stations:
                self.stations.remove(station)
                self.notice(f"{station.role} {station.number} went home")
        elif station.role == TILL and self.is_open and not self._stopped and not station.failure:
            self._start(station)  # the shop reopened before this till had finished closing

    def _watch(self, station: Station) -> None:
        """Hook the worker so that what it does shows in its station."""
        worker = station.worker
        if isinstance(worker, Till):
            worker.on_taken = lambda order: station.say(order_label(order))
        else:

            def committed(outputs: Sequence[Outgoing]) -> None:
                if self.from_cabinet is not None:
                    self.from_cabinet.add(outputs)
                for out in outputs:
                    line = kitchen_line(out, self.partitions)
                    if line is not None:
                        station.say(line)
                    if self.cabinet is not None:
                        news = served_from_cabinet(out, self.partitions)
                        if news is not None:
                            self.cabinet_news.append(news)

            worker.on_committed = committed
            worker.loop.on_assigned = lambda owned: self._owns(station, owned)

    def _owns(self, station: Station, assigned: Sequence[TopicPartition]) -> None:
        """A kitchen worker's partitions change with each rebalance: say so."""
        owned = tuple(tp.partition for tp in assigned)
        if owned != station.owned:
            station.owned = owned
            station.say(f"· now owns {partitions_text(owned)}")

    # -- the numbers --------------------------------------------------------------------

    async def look(self) -> ShopNumbers:
        """Read the queues, then the books: the books then hold at least every order
        the queues have seen, so an empty queue never shows beside a short count."""
        async with self._looking:
            if not self._started:
                return self.numbers
            queues = await self._queues.read(patience=5.0)
            summary = await self._auditor.catch_up(patience=5.0)
            loop = asyncio.get_running_loop()
            now = loop.time()
            self._tallies.append(Tally(now, summary.orders_created, summary.orders_served))
            while self._tallies and now - self._tallies[0].at > self._tally_seconds + 5:
                self._tallies.popleft()
            orders = queues.get(self.topics.orders, {})
            if orders:
                self.partitions = len(orders)
            self._summary, self._queued = summary, queues
            await self._look_in_cabinet()
            return self.numbers

    async def books(self) -> Summary:
        """Read the books only (what the headless demo's progress says): lighter than
        ``look``, which also counts the queues."""
        async with self._looking:
            if self._started:
                self._summary = await self._auditor.catch_up()
            return self._summary

    async def _look_in_cabinet(self) -> None:
        """Read the cabinet's counts; a batch fried since the last look is news."""
        if self.cabinet is None:
            return
        try:
            counts = await self.cabinet.counts()
        except CabinetUnavailable as error:
            self.notice(str(error))
            return
        self.cabinet_news.extend(batch_lines(self.cabinet_counts, counts, self.cabinet_settings))
        self.cabinet_counts = counts

    def _count(self, summary: Summary, queues: dict[str, dict[int, int]]) -> ShopNumbers:
        tallies = list(self._tallies)
        return ShopNumbers(
            shop=self.spec.name,
            is_open=self.is_open,
            tills=len(self.crew(TILL)),
            preparers=len(self.crew(PREPARER)),
            cooks=len(self.crew(COOK)),
            partitions=self.partitions,
            taken=summary.orders_created,
            served=summary.orders_served,
            waiting=summary.unserved,
            taken_per_minute=per_minute(tallies, "taken", self._tally_seconds),
            served_per_minute=per_minute(tallies, "served", self._tally_seconds),
            wait_p50=summary.wait_p50_s,
            wait_p99=summary.wait_p99_s,
            queue=dict(queues.get(self.topics.orders, {})),
            cook_queue=sum(queues.get(self.topics.cook, {}).values()),
            served_twice=summary.duplicates,
        )


async def _quietly(step: Awaitable[None]) -> None:
    try:
        await step
    except Exception as error:  # noqa: BLE001 - closing goes on
        log.debug("ignored while closing: %r", error)


@contextlib.asynccontextmanager
async def open_shop(
    spec: ShopSpec, servers: DemoServers, *, seed: int | None = None
) -> AsyncIterator[tuple[LiveShop, Sink | None]]:
    """The shop open for the day on ``servers``: its hot cabinet emptied, the
    analyst's sink connector running, the spec's crew hired. When the block ends the
    shop is stopped (if it was not already); queued orders stay, safe, in Kafka."""
    async with (
        open_cabinet(spec, servers.cabinet) as cabinet,
        sink_for_the_day(servers.analyst, spec, servers.kafka) as sink,
    ):
        shop = LiveShop(spec, servers.kafka, seed=seed, cabinet=cabinet)
        await shop.start()
        try:
            yield shop, sink
        finally:
            await shop.stop()
