"""Consume, transform and produce with every input handled exactly once.

Each input partition gets its own transactional producer whose id names the
partition. When a partition moves to another worker (a rebalance, a crash, a
restart), the new owner's producer takes the same transactional id: Kafka then
aborts whatever the previous owner left open and fences it, so a worker that was
killed, or that only thinks it still owns the partition, can never commit again.
Offsets are committed inside the same transaction as the outputs, and every
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
from typing import Any, NamedTuple, TypeAlias

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.errors import IllegalOperation, IllegalStateError, KafkaError
from aiokafka.structs import ConsumerRecord, TopicPartition

from fishshop_workers.errors import ServiceError
from fishshop_workers.kafka.backlog import Backlog, records_waiting
from fishshop_workers.kafka.committed import committed_offset
from fishshop_workers.kafka.sending import send_all
from fishshop_workers.kafka.settings import KafkaSettings
from fishshop_workers.shop.outgoing import Outgoing

__all__ = ["BatchHandler", "ExactlyOnceLoop", "LoopTimeouts", "StoreUnavailable"]

log = logging.getLogger(__name__)

SETUP_TIMEOUT = 30.0
"""Seconds for starting a producer, fetching an offset or leaving the group."""
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
    ) -> None:
        self.settings = settings
        self.topic = topic
        self.group_id = group_id
        self.handler = handler
        self.on_committed = on_committed
        self.max_records = max_records
        self.on_lag = on_lag
        self.on_aborted = on_aborted
        self.timeouts = LoopTimeouts.for_work(work_seconds)
        self._consumer: AIOKafkaConsumer | None = None
        self._producers: dict[TopicPartition, AIOKafkaProducer] = {}
        self._next_offset: dict[TopicPartition, int] = {}
        self._backlog: Backlog[TopicPartition, Record] = Backlog(
            max(BACKLOG_LIMIT, 2 * max_records)
        )
        self._held_back: set[TopicPartition] = set()
        """Owned partitions paused because their backlog is full."""
        self._batch_lock = asyncio.Lock()
        self._to_take: set[TopicPartition] = set()
        self.connected = False
        self.on_assigned: Callable[[list[TopicPartition]], None] | None = None
        """Optional: told the partitions owned after each rebalance step (the live
        view shows them)."""

    @property
    def assignment(self) -> list[TopicPartition]:
        return sorted(self._producers)

    def _transactional_id(self, tp: TopicPartition) -> str:
        return f"{self.group_id}-{tp.topic}-{tp.partition}"

    async def partitions_of(self, topic: str) -> int:
        """How many partitions ``topic`` has, from a producer's metadata."""
        for producer in self._producers.values():
            partitions = await producer.partitions_for(topic)
            return len(partitions)
        raise KafkaError(f"no producer to look up {topic}")

    def claim(self, assigned: list[TopicPartition]) -> None:
        """Note newly assigned partitions, paused until the main loop takes them.

        aiokafka sends no heartbeat while a rebalance listener runs, so a take done
        there that outlasts the session (a slow coordinator after a broker restart, a
        worker woken from a pause) would get the member evicted, again and again.
        """
        consumer = self._consumer
        new = [tp for tp in assigned if tp not in self._producers]
        if consumer is not None and new:
            consumer.pause(*new)
        self._to_take.update(new)

    async def take_claimed(self) -> None:
        """Start a producer per claimed partition, then read from its committed offset.

        Starting the producer fences the partition's previous owner and settles
        its open transaction, so the committed offset read afterwards is final.
        A failure raises, and the main loop rebuilds the session.
        """
        consumer = self._consumer
        if consumer is None:
            raise KafkaError("the consumer stopped while taking partitions")
        async with self._batch_lock:
            owned = set(consumer.assignment())
            claimed, self._to_take = self._to_take & owned, set()
            new = sorted(tp for tp in claimed if tp not in self._producers)
            results = await asyncio.gather(
                *(self._take_one(tp) for tp in new), return_exceptions=True
            )
            failures = [r for r in results if isinstance(r, BaseException)]
            if failures:
                log.warning("%s could not take partitions: %r", self.group_id, failures[0])
                raise KafkaError(f"taking partitions failed: {failures[0]!r}")
            if new:
                consumer.resume(*new)
        if new:
            log.info("%s took partitions %s", self.group_id, _names(new))
            self._tell_assigned()

    async def _take_one(self, tp: TopicPartition) -> None:
        consumer = self._consumer
        if consumer is None:
            raise KafkaError("the consumer stopped while taking partitions")
        producer = AIOKafkaProducer(
            transactional_id=self._transactional_id(tp),
            transaction_timeout_ms=self.timeouts.transaction_ms,
            enable_idempotence=True,
            linger_ms=5,
            max_batch_size=256 * 1024,
            **self.settings.client_options(),
        )
        try:
            await asyncio.wait_for(producer.start(), SETUP_TIMEOUT)
            committed = await asyncio.wait_for(committed_offset(consumer, tp), SETUP_TIMEOUT)
        except BaseException:
            await _quietly(producer.stop())
            raise
        if committed is None:  # Kafka said plainly that the group has no offset here
            await consumer.seek_to_beginning(tp)
            self._next_offset[tp] = 0
        else:
            consumer.seek(tp, committed)
            self._next_offset[tp] = committed
        self._backlog.drop(tp)
        self._producers[tp] = producer

    async def release(self, revoked: list[TopicPartition]) -> None:
        """Let the batch in hand commit, then give the partitions back."""
        async with self._batch_lock:
            for tp in revoked:
                self._to_take.discard(tp)
                producer = self._producers.pop(tp, None)
                self._next_offset.pop(tp, None)
                self._backlog.drop(tp)
                self._held_back.discard(tp)
                if self.on_lag is not None:
                    self.on_lag(tp, None)
                if producer is not None:
                    await _quietly(producer.stop())
        log.info("%s released partitions %s", self.group_id, _names(revoked))
        self._tell_assigned()

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
                if self._to_take:
                    await self.take_claimed()
                # Everything fetched is taken (no max_records): aiokafka moves the
                # position past a marker only when it reads on past the record
                # before it. A held backlog means work to do now, not a long poll.
                fetched = await consumer.getmany(timeout_ms=0 if len(self._backlog) else 200)
                self._hold(consumer, fetched)
                batches = self._backlog.take(self.max_records, self._next_offset)
                if batches:
                    await self._handle(batches)
                self._release_held_back(consumer)
                await self._report_lag(consumer)
        finally:
            self.connected = False
            await _quietly(asyncio.wait_for(consumer.stop(), SETUP_TIMEOUT))
            async with self._batch_lock:
                producers, self._producers = self._producers, {}
                self._next_offset.clear()
                self._to_take.clear()
                self._backlog.clear()
                self._held_back.clear()
            for producer in producers.values():
                await _quietly(producer.stop())
            self._consumer = None

    async def _handle(self, batches: dict[TopicPartition, list[Record]]) -> None:
        async with self._batch_lock:
            work = []
            for tp, records in batches.items():
                producer = self._producers.get(tp)
                start = self._next_offset.get(tp)
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
            await _quietly(producer.abort_transaction())
            if self.on_aborted is not None:
                self.on_aborted()
            if isinstance(error, IllegalOperation):
                # A producer fenced while its transaction began (a zombie woken from
                # a pause) refuses to send with this error, which is not a KafkaError:
                # the session must be rebuilt, never the worker ended.
                raise KafkaError(f"{tp.topic}[{tp.partition}] cannot transact: {error}") from error
            raise
        self._next_offset[tp] = next_offset
        self.on_committed(outputs)

    def _hold(
        self, consumer: AIOKafkaConsumer, fetched: dict[TopicPartition, list[Record]]
    ) -> None:
        """Keep what was fetched for owned partitions; pause those whose backlog is full."""
        for tp, records in fetched.items():
            if tp not in self._producers:
                continue  # fetched before the partition moved away
            self._backlog.add(tp, records)
            if self._backlog.full(tp) and tp not in self._held_back:
                consumer.pause(tp)
                self._held_back.add(tp)

    def _release_held_back(self, consumer: AIOKafkaConsumer) -> None:
        """Fetch again for a paused partition once half its backlog is handled."""
        ready = [
            tp
            for tp in self._held_back
            if self._backlog.held(tp) <= self._backlog.limit // 2 and tp in self._producers
        ]
        if ready:
            self._held_back.difference_update(ready)
            consumer.resume(*ready)

    async def _report_lag(self, consumer: AIOKafkaConsumer) -> None:
        """Records waiting per owned partition: held here, plus any not yet fetched.

        Reported between batches, when every record taken is handled and committed.
        """
        if self.on_lag is None:
            return
        for tp in list(self._producers):
            position = await _known_position(consumer, tp)
            if position is None or tp not in self._producers:
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


async def _quietly(step: Awaitable[Any]) -> None:
    try:
        await step
    except Exception as error:  # noqa: BLE001 - cleanup must go on
        log.debug("ignored during cleanup: %r", error)
    except asyncio.CancelledError:
        # aiokafka's stop() can let its own tasks' cancellation escape; only a
        # cancellation of this task itself may end the worker.
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
        log.debug("ignored a cancellation from inside a client's stop()")


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


def _names(tps: list[TopicPartition]) -> str:
    return ", ".join(f"{tp.topic}[{tp.partition}]" for tp in sorted(tps)) or "none"
