"""Consume, transform and produce with every input handled exactly once.

Each input partition has its own transactional producer (``ownership``), so a
worker that was killed, or only thinks it still owns a partition, can never commit
again. Offsets are committed inside the same transaction as the outputs, and every
reader uses ``read_committed``, so outputs and progress appear together or not
at all.

The consumer's fetches are taken in whole and held in a ``Backlog`` that hands
out a batch at a time, so the consumer has read past every transaction marker
among them and the records held are a true count of what waits (see
``fishshop_workers.kafka.backlog``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import NamedTuple, TypeAlias

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.errors import IllegalOperation, IllegalStateError, KafkaError
from aiokafka.structs import ConsumerRecord, TopicPartition

from fishshop_workers.errors import ServiceError
from fishshop_workers.kafka.backlog import Backlog, records_waiting
from fishshop_workers.kafka.ownership import SETUP_TIMEOUT, Ownership, quietly
from fishshop_workers.kafka.sending import send_all
from fishshop_workers.kafka.settings import KafkaSettings
from fishshop_workers.shop.outgoing import Outgoing

__all__ = ["BatchHandler", "ExactlyOnceLoop", "LoopTimeouts", "StoreUnavailable"]

log = logging.getLogger(__name__)

TRANSACTION_TIMEOUT_MS = 60_000
BACKLOG_LIMIT = 2_000
"""Records held per partition (at least two batches): past it the partition is
paused, so a worker far behind holds a bounded amount in memory. A backlog deeper
than this counts the markers beyond what is held, until the worker reads there."""
POSITION_PATIENCE = 0.05
"""Seconds a lag report waits for a position the consumer is still resetting."""

Record: TypeAlias = ConsumerRecord  # aiokafka ships no type hints
BatchHandler = Callable[[TopicPartition, Sequence[Record]], Awaitable[list[Outgoing]]]
"""Turns one partition's records into what to produce, in order."""


class StoreUnavailable(ServiceError, RuntimeError):
    """A store the handler needs besides Kafka (the hot cabinet's Redis) is away.

    The transaction in hand is aborted, the worker leaves the group and takes no
    orders until the store answers again; nothing is lost, since nothing committed.
    """

    retriable = True


class LoopTimeouts(NamedTuple):
    """Kafka's timeouts for a loop whose batch of work takes up to some seconds."""

    poll_interval_ms: int
    """The group evicts a member that does not poll again within this."""
    rebalance_ms: int
    """A rebalance waits this long for members to give their partitions back."""
    transaction_ms: int
    """The transaction coordinator aborts a transaction open longer than this."""

    @classmethod
    def for_work(cls, work_seconds: float) -> LoopTimeouts:
        """Room for the slowest batch twice over, never below Kafka's defaults.

        The transaction's timeout stays at one minute whatever the work: a transaction
        opens with its first record, once the batch's work is done, and a longer one
        would hold back every ``read_committed`` reader for longer when a worker
        pauses, and could exceed a broker's ``transaction.max.timeout.ms``.
        """
        room_ms = int((2 * max(0.0, work_seconds) + 30) * 1000)
        return cls(
            poll_interval_ms=max(300_000, room_ms),
            rebalance_ms=max(60_000, room_ms),
            transaction_ms=TRANSACTION_TIMEOUT_MS,
        )


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, loop: ExactlyOnceLoop) -> None:
        self._loop = loop

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self._loop.release(revoked)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self._loop.claim(assigned)


class ExactlyOnceLoop:
    """One worker's membership in a consumer group, with per-partition producers."""

    def __init__(
        self,
        settings: KafkaSettings,
        topic: str,
        group_id: str,
        handler: BatchHandler,
        on_committed: Callable[[list[Outgoing]], None],
        max_records: int = 500,
        on_lag: Callable[[TopicPartition, int | None], None] | None = None,
        on_aborted: Callable[[], None] | None = None,
        work_seconds: float = 5.0,
        after_commit: Callable[[TopicPartition, int], Awaitable[None]] | None = None,
    ) -> None:
        self.settings = settings
        self.topic = topic
        self.group_id = group_id
        self.handler = handler
        self.on_committed = on_committed
        self.max_records = max_records
        self.on_lag = on_lag
        self.on_aborted = on_aborted
        self.after_commit = after_commit
        """Optional: told a partition's new committed offset after each commit (the hot
        cabinet forgets the decisions below it); its failure is logged, never raised."""
        self.timeouts = LoopTimeouts.for_work(work_seconds)
        self._consumer: AIOKafkaConsumer | None = None
        self._backlog: Backlog[TopicPartition, Record] = Backlog(
            max(BACKLOG_LIMIT, 2 * max_records)
        )
        self._owned = Ownership(
            settings,
            group_id,
            self._backlog,
            transaction_ms=self.timeouts.transaction_ms,
            on_released=self._released,
        )
        self.connected = False
        self.on_assigned: Callable[[list[TopicPartition]], None] | None = None
        """Optional: told the partitions owned after each rebalance step (the live
        view shows them)."""

    @property
    def assignment(self) -> list[TopicPartition]:
        return self._owned.assignment

    async def partitions_of(self, topic: str) -> int:
        """How many partitions ``topic`` has, from a producer's metadata."""
        for producer in self._owned.producers.values():
            partitions = await producer.partitions_for(topic)
            return len(partitions)
        raise KafkaError(f"no producer to look up {topic}")

    def claim(self, assigned: list[TopicPartition]) -> None:
        """Note newly assigned partitions, paused until the main loop takes them."""
        self._owned.claim(self._consumer, assigned)

    async def take_claimed(self) -> None:
        """Take the claimed partitions (see ``Ownership.take_claimed``)."""
        consumer = self._consumer
        if consumer is None:
            raise KafkaError("the consumer stopped while taking partitions")
        if await self._owned.take_claimed(consumer):
            self._tell_assigned()

    async def release(self, revoked: list[TopicPartition]) -> None:
        """Let the batch in hand commit, then give the partitions back."""
        await self._owned.release(revoked)
        self._tell_assigned()

    def _released(self, tp: TopicPartition) -> None:
        if self.on_lag is not None:
            self.on_lag(tp, None)

    def _tell_assigned(self) -> None:
        if self.on_assigned is not None:
            self.on_assigned(self.assignment)

    async def run(self, stop: asyncio.Event) -> None:
        """Handle records until ``stop`` is set; survive broker restarts."""
        backoff = 0.5
        while not stop.is_set():
            try:
                await self._run_session(stop)
                backoff = 0.5
            except (KafkaError, StoreUnavailable) as error:
                self.connected = False
                lost = "Kafka" if isinstance(error, KafkaError) else "a store it needs"
                log.warning(
                    "%s lost %s (%s); rejoining in %.1fs",
                    self.group_id,
                    lost,
                    error,
                    backoff,
                )
                await _sleep_unless(stop, backoff)
                backoff = min(backoff * 2, 10.0)

    async def _run_session(self, stop: asyncio.Event) -> None:
        consumer = AIOKafkaConsumer(
            group_id=self.group_id,
            isolation_level="read_committed",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            # No max_poll_records: every fetched record goes to the backlog, which
            # hands out max_records at a time.
            session_timeout_ms=10_000,
            # A rebalance waits for the batch in hand to commit, and the next poll
            # comes only after it: both follow how long a batch's work may take.
            rebalance_timeout_ms=self.timeouts.rebalance_ms,
            max_poll_interval_ms=self.timeouts.poll_interval_ms,
            heartbeat_interval_ms=1_000,
            **self.settings.client_options(),
        )
        self._consumer = consumer
        await consumer.start()
        try:
            consumer.subscribe([self.topic], listener=_Listener(self))
            self.connected = True
            while not stop.is_set():
                if self._owned.to_take:
                    await self.take_claimed()
                # Everything fetched is taken (no max_records): aiokafka moves the
                # position past a marker only when it reads on past the record
                # before it. A held backlog means work to do now, not a long poll.
                fetched = await consumer.getmany(timeout_ms=0 if len(self._backlog) else 200)
                self._hold(consumer, fetched)
                batches = self._backlog.take(self.max_records, self._owned.next_offset)
                if batches:
                    await self._handle(batches)
                self._release_held_back(consumer)
                await self._report_lag(consumer)
        finally:
            self.connected = False
            await quietly(asyncio.wait_for(consumer.stop(), SETUP_TIMEOUT))
            await self._owned.release_all()
            self._consumer = None

    async def _handle(self, batches: dict[TopicPartition, list[Record]]) -> None:
        async with self._owned.lock:
            work = []
            for tp, records in batches.items():
                producer = self._owned.producers.get(tp)
                start = self._owned.next_offset.get(tp)
                if producer is None or start is None:
                    continue  # fetched before the partition moved away
                # Offsets only grow within a batch: copy it only if it starts too early.
                fresh = (
                    records
                    if records[0].offset >= start
                    else [r for r in records if r.offset >= start]
                )
                if fresh:
                    work.append(self._transact(tp, producer, fresh))
            results = await asyncio.gather(*work, return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise failures[0]

    async def _transact(
        self, tp: TopicPartition, producer: AIOKafkaProducer, records: list[Record]
    ) -> None:
        outputs: list[Outgoing] = []
        offsets_added: asyncio.Future[None] | None = None
        try:
            await producer.begin_transaction()
            outputs = await self.handler(tp, records)
            deliveries = await send_all(producer, outputs)
            next_offset = records[-1].offset + 1
            # The offsets travel to the group's coordinator while the records travel
            # to their partitions (one wait instead of two); like the records, they
            # count only if the transaction commits.
            offsets_added = asyncio.ensure_future(
                producer.send_offsets_to_transaction({tp: next_offset}, self.group_id)
            )
            # aiokafka would commit even if a record failed: check every one first.
            # flush() resolves every batch's future as the batch completes.
            await producer.flush()
            for delivery in deliveries:
                error = delivery.exception() if delivery.done() else KafkaError("not sent")
                if error is not None:
                    raise error
            await offsets_added
            await producer.commit_transaction()
        except BaseException as error:
            if offsets_added is not None:
                _let_go(offsets_added)
            # Whatever was sent is discarded; the records are read again.
            await quietly(producer.abort_transaction())
            if self.on_aborted is not None:
                self.on_aborted()
            if isinstance(error, IllegalOperation):
                # A producer fenced while its transaction began (a zombie woken from
                # a pause) refuses to send with this error, which is not a KafkaError:
                # the session must be rebuilt, never the worker ended.
                raise KafkaError(f"{tp.topic}[{tp.partition}] cannot transact: {error}") from error
            raise
        self._owned.next_offset[tp] = next_offset
        self.on_committed(outputs)
        if self.after_commit is not None:
            try:
                await self.after_commit(tp, next_offset)
            except Exception as error:  # noqa: BLE001 - the transaction has committed
                log.warning("%s after the commit of %s: %s", self.group_id, tp, error)

    def _hold(
        self, consumer: AIOKafkaConsumer, fetched: dict[TopicPartition, list[Record]]
    ) -> None:
        """Keep what was fetched for owned partitions; pause those whose backlog is full."""
        for tp, records in fetched.items():
            if tp not in self._owned.producers:
                continue  # fetched before the partition moved away
            self._backlog.add(tp, records)
            if self._backlog.full(tp) and tp not in self._owned.held_back:
                consumer.pause(tp)
                self._owned.held_back.add(tp)

    def _release_held_back(self, consumer: AIOKafkaConsumer) -> None:
        """Fetch again for a paused partition once half its backlog is handled."""
        held_back = self._owned.held_back
        ready = [
            tp
            for tp in held_back
            if self._backlog.held(tp) <= self._backlog.limit // 2 and tp in self._owned.producers
        ]
        if ready:
            held_back.difference_update(ready)
            consumer.resume(*ready)

    async def _report_lag(self, consumer: AIOKafkaConsumer) -> None:
        """Records waiting per owned partition: held here, plus any not yet fetched.

        Reported between batches, when every record taken is handled and committed.
        """
        if self.on_lag is None:
            return
        for tp in list(self._owned.producers):
            position = await _known_position(consumer, tp)
            if position is None or tp not in self._owned.producers:
                continue
            end = consumer.last_stable_offset(tp)
            if end is None:  # a broker without transactions' fetch fields
                end = consumer.highwater(tp)
            waiting = records_waiting(self._backlog.held(tp), end, position)
            if waiting is not None:
                self.on_lag(tp, waiting)


async def _known_position(consumer: AIOKafkaConsumer, tp: TopicPartition) -> int | None:
    """The consumer's next offset in ``tp``, or None while it is being reset or the
    partition is no longer assigned (a lag report never holds up the work)."""
    try:
        async with asyncio.timeout(POSITION_PATIENCE):
            position: int = await consumer.position(tp)
    except (TimeoutError, IllegalStateError):
        return None
    return position


def _let_go(step: asyncio.Future[None]) -> None:
    """Stop waiting for a step of an abandoned transaction, and read its error (if it
    has one) so that asyncio does not report it as never retrieved."""
    if step.done():
        if not step.cancelled():
            step.exception()
    else:
        step.cancel()


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
