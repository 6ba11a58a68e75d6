"""The operator's calls for a shop's analyst: its table in PostgreSQL, its sink connector.

The connector is created or updated, restarted and deleted in Kafka Connect. Every
call is bounded in time, so an unreachable Connect or PostgreSQL becomes a reason in
AnalystReady, never a reconcile that hangs. A connector is only changed or deleted
when its shop label is this shop's: two shops never take each other's.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fishshop_operator.analyst.decisions import (
    AnalystMemory,
    AnalystOutcome,
    ConnectorState,
    TaskState,
    connector_outcome,
    trace_reason,
)
from fishshop_operator.analyst.spec import AnalystSpec, check_connect_url
from fishshop_operator.analyst.status import previous_analyst
from fishshop_operator.endpoints import EndpointRefused, GuardedResolver, check_endpoint
from fishshop_workers.analyst.connect_client import ConnectClient, ConnectError, ConnectorStatus
from fishshop_workers.analyst.connector import keep_connector
from fishshop_workers.analyst.database import DatabaseAddress
from fishshop_workers.analyst.sink import (
    SHOP_LABEL_KEY,
    belongs_to,
    connector_name,
    sink_connector_config,
)
from fishshop_workers.analyst.store import AnalystStoreError, make_table
from fishshop_workers.shop.spec import ShopSpecError

__all__ = [
    "CONNECT_SECONDS",
    "AnalystShop",
    "ConnectError",
    "delete_connector",
    "placed_connector",
    "reconcile_analyst",
]

log = logging.getLogger(__name__)

CONNECT_SECONDS = 10.0
"""How long one call to Connect's REST API may take."""
TABLE_SECONDS = 30.0
"""Making the table: the connect (psycopg's own 10 s) and two statements."""
REPLICATION_FACTOR = -1
"""The dead-letter topic takes the broker's default, as the shop's own topics do."""
CONNECTOR_NAME = re.compile(r"[A-Za-z0-9._-]{1,200}\.analyst")


def placed_connector(status: dict[str, Any] | None) -> tuple[str, str] | None:
    """(connectUrl, connector) where the shop's last status says its connector is.

    Read back from the status, so a connector is found and deleted after an operator
    restart too; checked like the spec, since the status is only data.
    """
    connect_url, connector, _ = previous_analyst(status)
    if not connect_url or not CONNECTOR_NAME.fullmatch(connector):
        return None
    try:
        return check_connect_url(connect_url, "status.analyst.connectUrl"), connector
    except ShopSpecError:
        return None


@dataclass(frozen=True)
class AnalystShop:
    """What the analyst needs to know about its shop."""

    label: str
    """namespace/name: the shop column of its rows, and the connector's owner."""
    topic_prefix: str
    served_topic: str
    kafka_cluster: str | None = None
    """The id of the shop's own Kafka cluster: its connector is put only on a Connect
    that works with that cluster, never one that would read another Kafka's topics of
    the same name."""

    @property
    def connector(self) -> str:
        return connector_name(self.topic_prefix)


def _state(status: ConnectorStatus | None) -> ConnectorState | None:
    if status is None:
        return None
    return ConnectorState(
        status.state,
        tuple(TaskState(task.id, task.state, trace_reason(task.trace)) for task in status.tasks),
        trace_reason(status.trace),
    )


async def _make_table(address: DatabaseAddress, secret: str) -> None:
    hint = f"Check the url in Secret {secret} (postgresql://USER:PASSWORD@HOST:PORT/DATABASE)."
    await make_table(address.libpq_url, hint, seconds=TABLE_SECONDS)


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


def _connect(url: str) -> ConnectClient:
    """A client for a shop's Connect: bounded in time, resolving through the guard."""
    return ConnectClient(url, timeout=CONNECT_SECONDS, resolver=GuardedResolver())


def _connect_failed(error: ConnectError, shop: AnalystShop, url: str) -> AnalystOutcome:
    if error.status is None:
        reason = "ConnectUnreachable"
        message = f"{error}. Check spec.analyst.connectUrl and that Connect is up"
    else:
        reason = "ConnectRefused"
        message = str(error)
    return AnalystOutcome(False, reason, message, shop.connector, url)


async def reconcile_analyst(
    spec: AnalystSpec,
    shop: AnalystShop,
    address: DatabaseAddress,
    memory: AnalystMemory,
    *,
    now: float,
) -> tuple[AnalystOutcome, int]:
    """Make the table, put the connector, restart its failed tasks when the backoff
    allows; the outcome, and how many tasks were restarted this time."""
    restarts = memory.restarts or 0
    try:
        await check_endpoint(
            address.host, address.port, f"the PostgreSQL of Secret {spec.postgres_secret}"
        )
        await check_endpoint(*_host_port(spec.connect_url), "spec.analyst.connectUrl")
    except EndpointRefused as error:
        return AnalystOutcome(
            False, "EndpointRefused", str(error), shop.connector, spec.connect_url
        ), 0
    try:
        if memory.table_made != address:
            await _make_table(address, spec.postgres_secret)
            memory.table_made = address
    except AnalystStoreError as error:
        memory.table_made = None
        message = str(error) or f"PostgreSQL at {address.shown} did not answer in time"
        return AnalystOutcome(
            False, "DatabaseUnreachable", message, shop.connector, spec.connect_url
        ), 0
    desired = sink_connector_config(
        shop=shop.label,
        topic_prefix=shop.topic_prefix,
        database=address,
        replication_factor=REPLICATION_FACTOR,
        tasks=spec.tasks,
    )

    async def table_first() -> None:
        # A dropped table is one cause of failed writes: make it again first.
        try:
            await _make_table(address, spec.postgres_secret)
        except AnalystStoreError as error:
            log.warning("action=make-table connector=%s error=%s", shop.connector, error)

    async with _connect(spec.connect_url) as connect:
        try:
            if shop.kafka_cluster is not None:
                theirs = await connect.kafka_cluster_id()
                if theirs != shop.kafka_cluster:
                    return AnalystOutcome(
                        False,
                        "ConnectOnAnotherKafka",
                        f"Kafka Connect at {spec.connect_url} works with Kafka cluster "
                        f"{theirs}, not the shop's ({shop.kafka_cluster}): its connector "
                        "would read another Kafka's topics. Give a Connect of the shop's Kafka",
                        shop.connector,
                        spec.connect_url,
                    ), 0
            upkeep = await keep_connector(
                connect,
                shop.connector,
                desired,
                memory.backoff,
                now,
                label=shop.label,
                before_restart=table_first,
            )
        except ConnectError as error:
            return _connect_failed(error, shop, spec.connect_url), 0
    if upkeep.owner is not None:
        return AnalystOutcome(
            False,
            "ConnectorOwnedByAnotherShop",
            f"connector {shop.connector} at {spec.connect_url} belongs to shop "
            f"{upkeep.owner}; it was left alone",
            shop.connector,
            spec.connect_url,
        ), 0
    memory.backoff = upkeep.backoff
    if upkeep.put is not None:
        log.info(
            "action=%s connector=%s connect=%s tasks=%d",
            "create-connector" if upkeep.put == "created" else "update-connector",
            shop.connector,
            spec.connect_url,
            spec.tasks,
        )
    if upkeep.restarted:
        restarts += upkeep.restarted
        memory.restarts = restarts
        log.info(
            "action=restart-tasks connector=%s failed=%d in_a_row=%d next_in=%.0fs",
            shop.connector,
            upkeep.restarted,
            memory.backoff.in_a_row,
            memory.backoff.delay(),
        )
    outcome = connector_outcome(
        _state(upkeep.status),
        connector=shop.connector,
        connect_url=spec.connect_url,
        restarts=restarts,
    )
    return outcome, upkeep.restarted


async def delete_connector(connect_url: str, connector: str, label: str) -> str:
    """Delete the shop's connector; what was done, in words. Raises ConnectError.

    A connector of that name that carries another shop's label is left alone.
    """
    try:
        await check_endpoint(*_host_port(connect_url), "status.analyst.connectUrl")
    except EndpointRefused as error:
        raise ConnectError(str(error)) from None
    async with _connect(connect_url) as connect:
        current = await connect.config(connector)
        if current is None:
            return f"no connector {connector} at {connect_url}"
        if not belongs_to(current, label):
            return (
                f"connector {connector} at {connect_url} belongs to shop "
                f"{current.get(SHOP_LABEL_KEY) or '(none)'}; left alone"
            )
        await connect.delete(connector)
        return f"deleted connector {connector} at {connect_url}"
