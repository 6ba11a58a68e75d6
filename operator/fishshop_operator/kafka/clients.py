"""Kafka clients shared by the shops that use the same Kafka, across reconciles.

Kept per address (servers and security settings): one admin client shared by
concurrent calls, consumers lent to one caller at a time. A client that failed as a
broken connection does is made anew; an address closes when no shop uses it any more.
Why: docs/design/operator.md, "kafka/clients.py".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaConnectionError, KafkaError

from fishshop_workers.kafka.settings import KafkaSettings

__all__ = ["IDLE_PER_ADDRESS", "LENT_PER_ADDRESS", "KafkaClients", "address_of"]

log = logging.getLogger(__name__)

LENT_PER_ADDRESS = 4
"""Consumers of one Kafka lent at once: more counts wait their turn, so many
autoscaled shops on one Kafka cannot starve the event loop or the broker."""
IDLE_PER_ADDRESS = LENT_PER_ADDRESS
"""Consumers of one Kafka kept for the next count: as many as may be lent at once, so
a steady cycle of counts makes no consumer anew and one Kafka never has more open."""
CONSUMER_FETCH = {"fetch_max_bytes": 1024 * 1024, "max_partition_fetch_bytes": 256 * 1024}
"""A count reads records to find the committed ones: at most 1 MiB a fetch (aiokafka's
default is 50 MB), so a count's memory stays small whatever the records."""

Address = tuple[Hashable, ...]
Shop = tuple[str, str]


def address_of(settings: KafkaSettings) -> Address:
    """What makes two shops' clients interchangeable: servers, protocol, credentials.

    The TLS context counts by identity: the operator builds one per version of a
    shop's Secret, so a changed Secret gets clients of its own.
    """
    options = settings.client_options()
    return tuple(sorted((key, _hashable(value)) for key, value in options.items()))


def _hashable(value: Any) -> Hashable:
    return value if isinstance(value, Hashable) else id(value)


def _broken(error: BaseException) -> bool:
    """A failure that may have left the client's connections in a bad state (as
    opposed to Kafka's answer to one request, such as a refusal)."""
    if isinstance(error, (OSError, TimeoutError, asyncio.CancelledError, KafkaConnectionError)):
        return True
    return isinstance(error, KafkaError) and bool(getattr(error, "retriable", False))


@dataclass
class _SharedAdmin:
    """An admin client and how many callers use it now: one that is let go (broken,
    or its address closed) is closed when the last of them is done, not under them."""

    client: AIOKafkaAdminClient
    users: int = 0
    let_go: bool = False


@dataclass
class _Clients:
    """The clients of one address."""

    options: dict[str, Any]
    admin: _SharedAdmin | None = None
    starting: asyncio.Lock = field(default_factory=asyncio.Lock)
    idle: list[AIOKafkaConsumer] = field(default_factory=list)
    lending: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(LENT_PER_ADDRESS))
    closed: bool = False
    """No shop uses the address any more: consumers that come back are closed."""


class KafkaClients:
    """Clients per Kafka address, for the shops that use it."""

    def __init__(
        self,
        *,
        admin_factory: Callable[..., AIOKafkaAdminClient] = AIOKafkaAdminClient,
        consumer_factory: Callable[..., AIOKafkaConsumer] = AIOKafkaConsumer,
    ) -> None:
        self._admin_factory = admin_factory
        self._consumer_factory = consumer_factory
        self._addresses: dict[Address, _Clients] = {}
        self._users: dict[Shop, Address] = {}
        self._closing: set[asyncio.Task[None]] = set()

    def addresses(self) -> int:
        """Addresses with clients kept (for tests and the curious)."""
        return len(self._addresses)

    def users(self) -> set[Shop]:
        """Shops that hold a claim on some address."""
        return set(self._users)

    def _claim(self, shop: Shop, settings: KafkaSettings) -> _Clients:
        address = address_of(settings)
        before = self._users.get(shop)
        self._users[shop] = address
        if before is not None and before != address:
            self._close_if_unused(before)  # the shop moved to another Kafka or Secret
        clients = self._addresses.get(address)
        if clients is None:
            clients = self._addresses[address] = _Clients(settings.client_options())
        return clients

    @contextlib.asynccontextmanager
    async def admin(
        self, shop: Shop, settings: KafkaSettings
    ) -> AsyncIterator[AIOKafkaAdminClient]:
        """The address's admin client, started; shared with other callers."""
        clients = self._claim(shop, settings)
        async with clients.starting:
            if clients.admin is None:
                client = self._admin_factory(**clients.options)
                await self._start(client)
                clients.admin = _SharedAdmin(client, let_go=clients.closed)
            shared = clients.admin
            shared.users += 1
        try:
            yield shared.client
        except BaseException as error:
            if _broken(error):
                self._let_go(clients, shared)
            raise
        finally:
            shared.users -= 1
            if shared.let_go and shared.users == 0:
                self._close_later(shared.client.close())

    @contextlib.asynccontextmanager
    async def consumer(
        self, shop: Shop, settings: KafkaSettings
    ) -> AsyncIterator[AIOKafkaConsumer]:
        """A started consumer of the address, for this caller alone until it is done.

        It reads committed records only and commits nothing; what the last caller
        assigned is taken away before it is lent again.
        """
        clients = self._claim(shop, settings)
        async with clients.lending, self._lent(clients) as consumer:
            yield consumer

    @contextlib.asynccontextmanager
    async def _lent(self, clients: _Clients) -> AsyncIterator[AIOKafkaConsumer]:
        if clients.idle:
            consumer = clients.idle.pop()
        else:
            consumer = self._consumer_factory(
                **clients.options,
                **CONSUMER_FETCH,
                enable_auto_commit=False,
                isolation_level="read_committed",
            )
            await self._start(consumer)
        kept = False
        try:
            yield consumer
            consumer.unsubscribe()
            kept = True
        except BaseException as error:
            if not _broken(error):
                with contextlib.suppress(Exception):
                    consumer.unsubscribe()
                    kept = True
            raise
        finally:
            if kept and not clients.closed and len(clients.idle) < IDLE_PER_ADDRESS:
                clients.idle.append(consumer)
            else:
                self._close_later(consumer.stop())

    async def _start(self, client: AIOKafkaAdminClient | AIOKafkaConsumer) -> None:
        try:
            await client.start()
        except BaseException:
            stop = client.close() if isinstance(client, AIOKafkaAdminClient) else client.stop()
            self._close_later(stop)
            raise

    def release(self, shop: Shop) -> None:
        """The shop is gone: its address's clients close when no other shop uses it."""
        address = self._users.pop(shop, None)
        if address is not None:
            self._close_if_unused(address)

    def _close_if_unused(self, address: Address) -> None:
        if address in self._users.values():
            return
        clients = self._addresses.pop(address, None)
        if clients is not None:
            self._close_clients(clients)

    def _let_go(self, clients: _Clients, shared: _SharedAdmin) -> None:
        """New callers get a new admin client; this one closes when its users are done."""
        if clients.admin is shared:
            clients.admin = None
        if not shared.let_go:
            shared.let_go = True
            if shared.users == 0:
                self._close_later(shared.client.close())

    def _close_clients(self, clients: _Clients) -> None:
        clients.closed = True
        if clients.admin is not None:
            self._let_go(clients, clients.admin)
        for consumer in clients.idle:
            self._close_later(consumer.stop())
        clients.idle.clear()  # lent ones are closed when they come back

    def _close_later(self, closing: Any) -> None:
        """Close without making the caller wait (nor a cancelled caller fail to)."""
        task = asyncio.ensure_future(closing)
        self._closing.add(task)
        task.add_done_callback(self._closed)

    def _closed(self, task: asyncio.Task[None]) -> None:
        self._closing.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.debug("closing a Kafka client failed: %r", task.exception())

    async def close(self) -> None:
        """Close every client (the operator stops)."""
        self._users.clear()
        for clients in self._addresses.values():
            self._close_clients(clients)
        self._addresses.clear()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
