"""The operator's Kafka calls for one shop: topics, queue length, deletion.

Every call is bounded in time, so an unreachable Kafka becomes a clear
``KafkaUnreachable`` for the status instead of a reconcile that hangs.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TypeVar

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.conn import create_conn
from aiokafka.errors import (
    AuthenticationFailedError,
    KafkaError,
    SaslAuthenticationFailed,
    UnsupportedSaslMechanismError,
)

from fishshop_operator.kafka.clients import KafkaClients
from fishshop_operator.kafka.sasl import KafkaSasl
from fishshop_operator.shop.conditions import TopicsOutcome
from fishshop_operator.shop.resource import ShopResource
from fishshop_workers.analyst.sink import analyst_dead_letter_topic
from fishshop_workers.errors import ServiceError, remote_text
from fishshop_workers.kafka.admin import (
    TopicCreationError,
    TopicDeletionError,
    delete_topics,
    ensure_topics,
)
from fishshop_workers.kafka.queues import committed_offsets, count_waiting, topic_partitions, total
from fishshop_workers.kafka.settings import KafkaSettings
from fishshop_workers.shop.topics import (
    PartitionDecreaseError,
    TopicPlan,
    desired_partitions,
    plan_topics,
)

__all__ = [
    "KafkaUnreachable",
    "QueueState",
    "ShopKafkaSettings",
    "TopicDeletionError",
    "delete_shop_topics",
    "kafka_cluster_id",
    "queue_state",
    "reconcile_topics",
    "shop_settings",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

TIMEOUT = 20.0
"""Seconds any one of these calls may take before Kafka counts as unreachable."""


PROBE_TIMEOUT = 5.0
"""Seconds for the one connection that asks why Kafka refused a login."""


class KafkaUnreachable(ServiceError, RuntimeError):
    """Kafka did not answer in time or refused; the status says which address."""

    retriable = True
    reason = "KafkaUnreachable"


class KafkaAuthenticationFailed(KafkaUnreachable):
    """Kafka answered but did not let the shop's identity in: a SASL user or password
    it does not know, or a certificate one side could not verify."""

    reason = "KafkaAuthenticationFailed"


_REFUSED_LOGIN = (
    SaslAuthenticationFailed,
    AuthenticationFailedError,
    UnsupportedSaslMechanismError,
)


def _refusal(error: BaseException, settings: KafkaSettings) -> str | None:
    """Why Kafka refused this identity, if ``error`` (or what caused it) says it did."""
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, UnsupportedSaslMechanismError):
            return (
                f"Kafka's listener does not offer SASL {settings.sasl_mechanism} "
                f"({remote_text(cause)}): set spec.kafka.sasl.mechanism to one it offers"
            )
        if isinstance(cause, _REFUSED_LOGIN):
            return (
                f"Kafka refused SASL {settings.sasl_mechanism} user "
                f"{settings.sasl_username!r}: a wrong password or an unknown user "
                f"({type(cause).__name__}: {remote_text(cause)}). Check the Secret of "
                "spec.kafka.sasl and the user on Kafka's side"
            )
        if isinstance(cause, ssl.SSLCertVerificationError):
            return (
                f"Kafka's certificate could not be verified ({remote_text(cause)}): "
                "check the CA in spec.kafka.tlsSecret"
            )
        if isinstance(cause, ssl.SSLError) and "certificate" in str(cause).lower():
            return (
                f"Kafka refused the client certificate ({remote_text(cause)}): check "
                "spec.kafka.tlsSecret's certificate and key"
            )
        cause = cause.__cause__ or cause.__context__
    return None


@dataclass(frozen=True)
class ShopKafkaSettings(KafkaSettings):
    """A shop's connection settings with a TLS context the operator holds in memory.

    Workers read certificates from a mounted folder; the operator builds the context
    from the shop's Secret instead, so no Secret is ever written to its disk.
    """

    tls_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)

    @property
    def security_protocol(self) -> str:
        if self.tls_context is None:
            return super().security_protocol
        return "SASL_SSL" if self.sasl_mechanism else "SSL"

    def ssl_context(self) -> ssl.SSLContext | None:
        return self.tls_context


def shop_settings(
    shop: ShopResource, tls: ssl.SSLContext | None, sasl: KafkaSasl | None = None
) -> ShopKafkaSettings:
    """How the operator reaches the shop's Kafka: its TLS context, its SASL identity."""
    if sasl is None:
        return ShopKafkaSettings(shop.spec.bootstrap_servers, tls_context=tls)
    return ShopKafkaSettings(
        shop.spec.bootstrap_servers,
        sasl_mechanism=sasl.mechanism,
        sasl_username=sasl.username,
        sasl_password=sasl.password,
        tls_context=tls,
    )


@dataclass(frozen=True)
class QueueState:
    partitions: int
    """Partitions of the orders topic."""
    queued_orders: int
    """Orders taken but not yet picked up by a preparer."""
    queued_for_cook: int
    """Plaice orders in the cook topic not yet picked up by a cook."""
    orders_estimated: bool = False
    """Some of ``queued_orders`` was taken from offsets, not counted record by record (a
    long queue, or a count that ran out of time): it may include transaction markers."""
    cook_estimated: bool = False
    """The same for ``queued_for_cook``."""


async def _why_refused(settings: KafkaSettings) -> str | None:
    """Why Kafka refused this identity, asked of the first broker on one connection.

    A client's bootstrap only says "Unable to bootstrap" and logs the cause; one
    connection of its own, with the same TLS and SASL, shows a refused login or
    certificate. Only asked after a failure, with TLS or SASL, and bounded.
    """
    if not settings.sasl_mechanism and settings.ssl_context() is None:
        return None
    host, _, port = settings.bootstrap_servers.split(",")[0].strip().rpartition(":")
    try:
        connection = await asyncio.wait_for(
            create_conn(
                host.strip("[]"),
                int(port),
                request_timeout_ms=int(PROBE_TIMEOUT * 1000),
                ssl_context=settings.ssl_context(),
                security_protocol=settings.security_protocol,
                sasl_mechanism=settings.sasl_mechanism,
                sasl_plain_username=settings.sasl_username,
                sasl_plain_password=settings.sasl_password,
            ),
            PROBE_TIMEOUT,
        )
    except (TimeoutError, KafkaError, OSError, ValueError) as error:
        return _refusal(error, settings)
    connection.close()
    return None


async def _bounded(work: Awaitable[T], what: str, settings: KafkaSettings) -> T:
    servers = settings.bootstrap_servers
    try:
        return await asyncio.wait_for(work, TIMEOUT)
    except (TimeoutError, KafkaError, OSError) as error:
        refused = _refusal(error, settings) or await _why_refused(settings)
        if refused is not None:
            raise KafkaAuthenticationFailed(
                f"cannot {what}: Kafka at {servers}: {refused}"
            ) from error
        raise KafkaUnreachable(
            f"cannot {what}: Kafka at {servers} did not answer ({type(error).__name__}: "
            f"{error or 'no reply'}). Check spec.kafka.bootstrapServers and that Kafka is up."
        ) from error


async def reconcile_topics(
    settings: KafkaSettings, shop: ShopResource, *, clients: KafkaClients | None = None
) -> TopicsOutcome:
    """Create or grow the shop's topics; with ``clients``, look first on a shared one."""
    try:
        plan = await _bounded(
            _ensure_topics(settings, shop, clients), "create the shop's topics", settings
        )
    except PartitionDecreaseError as error:
        return TopicsOutcome(False, "TopicHasMorePartitions", str(error))
    except TopicCreationError as error:
        return TopicsOutcome(False, "TopicCreationRefused", str(error))
    except KafkaUnreachable as error:
        return TopicsOutcome(False, error.reason, str(error))
    if plan.create:
        message = "created " + ", ".join(sorted(plan.create))
    elif plan.grow:
        message = "grew " + ", ".join(f"{k} to {v}" for k, v in sorted(plan.grow.items()))
    else:
        message = "topics exist with the partitions asked for"
    if {shop.topics.orders, shop.topics.cook} <= set(plan.create):
        # Made just now, so nothing waits in them yet: no need to ask Kafka to count.
        return TopicsOutcome(True, "TopicsCreated", message, shop.spec.partitions, 0, 0)
    return TopicsOutcome(True, "TopicsCreated", message, shop.spec.partitions)


async def _ensure_topics(
    settings: KafkaSettings, shop: ShopResource, clients: KafkaClients | None
) -> TopicPlan:
    """Nearly every resync finds the topics as asked: that is seen on the shared admin
    client; only a change (rare) opens a client of its own to make it."""
    if clients is not None:
        desired = desired_partitions(shop.topics, shop.spec.partitions)
        async with clients.admin(_ids(shop), settings) as admin:
            existing = await topic_partitions(admin, list(desired))
        plan = plan_topics(desired, existing)
        if plan.empty:
            return plan
    return await ensure_topics(settings, shop.topics, shop.spec.partitions)


async def kafka_cluster_id(
    settings: KafkaSettings, shop: ShopResource, clients: KafkaClients
) -> str:
    """The shop's Kafka's cluster id; raises KafkaUnreachable."""

    async def ask() -> str:
        async with clients.admin(_ids(shop), settings) as admin:
            return str((await admin.describe_cluster()).get("cluster_id") or "")

    return await _bounded(ask(), "read the Kafka cluster's id", settings)


async def queue_state(
    settings: KafkaSettings, shop: ShopResource, *, clients: KafkaClients | None = None
) -> QueueState:
    """Partitions, and what waits for the preparers and for the cooks; on ``clients``
    (shared with other shops of that Kafka), else on clients of its own."""
    pool = clients if clients is not None else KafkaClients()
    try:
        return await _bounded(
            _queue_state(settings, shop, pool),
            "count queued orders",
            settings,
        )
    finally:
        if clients is None:
            await pool.close()


async def _queue_state(
    settings: KafkaSettings, shop: ShopResource, clients: KafkaClients
) -> QueueState:
    topics = shop.topics
    async with clients.admin(_ids(shop), settings) as admin:
        partitions = await topic_partitions(admin, [topics.orders, topics.cook])
        for_preparers = await _group_offsets(admin, shop.preparers_group)
        for_cooks = await _group_offsets(admin, shop.cooks_group)
    async with clients.consumer(_ids(shop), settings) as consumer:
        # A topic deleted by hand since has no partitions: the next reconcile makes it.
        orders, cook = partitions.get(topics.orders, 0), partitions.get(topics.cook, 0)
        queued = total(
            (await count_waiting(consumer, topics.orders, orders, for_preparers)).values()
        )
        for_cook = total((await count_waiting(consumer, topics.cook, cook, for_cooks)).values())
    return QueueState(
        orders, queued.records, for_cook.records, queued.estimated, for_cook.estimated
    )


def _ids(shop: ShopResource) -> tuple[str, str]:
    return shop.namespace, shop.name


async def _group_offsets(admin: AIOKafkaAdminClient, group: str) -> dict[TopicPartition, int]:
    """A group's committed offsets, asked again while its coordinator is not ready
    (a new cluster makes its offsets topic on first use); the caller bounds the time."""
    while True:
        try:
            return await committed_offsets(admin, group)
        except KafkaError as error:
            if not getattr(error, "retriable", False):
                raise
        await asyncio.sleep(0.2)


async def delete_shop_topics(settings: KafkaSettings, shop: ShopResource) -> list[str]:
    """Delete the shop's topics (with its analyst's dead-letter topic, which Connect
    made); raises TopicDeletionError when Kafka refuses one."""
    return await _bounded(
        delete_topics(settings, shop.topics, (analyst_dead_letter_topic(shop.topics.prefix),)),
        "delete the shop's topics",
        settings,
    )
