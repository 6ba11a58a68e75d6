"""What the analyst's sink connector is: its name and its config, decided from a shop.

Why its config looks as it does: docs/design/workers.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fishshop_workers.analyst.database import DatabaseAddress
from fishshop_workers.shop.menu import MENU
from fishshop_workers.shop.topics import ShopTopics

__all__ = [
    "SERVED_SCHEMA",
    "SHOP_LABEL_KEY",
    "SINK_CONNECTOR_CLASS",
    "analyst_dead_letter_topic",
    "belongs_to",
    "connector_name",
    "shop_label",
    "sink_connector_config",
]

SINK_CONNECTOR_CLASS = "io.debezium.connector.jdbc.JdbcSinkConnector"

_RENAMES = {
    "order": "order_number",
    **{f"portions_{item}": item for item in sorted(MENU)},
    "createdAt": "created_at",
    "servedAt": "served_at",
    "preparedBy": "prepared_by",
    "cookedBy": "cooked_by",
}


def _field(name: str, kind: str, *, optional: bool = False, **extra: Any) -> dict[str, Any]:
    return {"field": name, "type": kind, "optional": optional, **extra}


#: The served order as Connect sees it: what the row needs, nothing more (other
#: fields of the record are left out by the converter).
SERVED_SCHEMA: Mapping[str, Any] = {
    "type": "struct",
    "name": "fishshop.ServedOrder",
    "optional": False,
    "fields": [
        _field("id", "string"),
        _field("order", "int64"),
        _field("till", "int32"),
        _field(
            "portions",
            "struct",
            fields=[_field(item, "int32") for item in sorted(MENU)],
        ),
        _field("createdAt", "string"),
        _field("servedAt", "string"),
        _field("preparedBy", "string", optional=True),
        _field("cookedBy", "string", optional=True),
    ],
}


def shop_label(name: str, namespace: str | None = None) -> str:
    """The ``shop`` column: the shop's name, ``namespace/name`` on Kubernetes (two
    namespaces may each have a shop of the same name)."""
    return f"{namespace}/{name}" if namespace else name


#: The config key that carries the shop's label: whose connector it is.
SHOP_LABEL_KEY = "transforms.shop.static.value"


def belongs_to(config: Mapping[str, str] | None, label: str) -> bool:
    """A connector's config (None: there is none) is free for or already this shop's.
    Two shops never take each other's connector, even with names that collide."""
    return config is None or config.get(SHOP_LABEL_KEY) == label


def connector_name(topic_prefix: str) -> str:
    """One connector per shop, named after its topics: ``<prefix>.analyst``."""
    return f"{topic_prefix}.analyst"


def analyst_dead_letter_topic(topic_prefix: str) -> str:
    """Where Connect puts served records its converter or transforms refuse (a write
    PostgreSQL refuses fails the task instead: Debezium's sink reports no errant
    records)."""
    return f"{topic_prefix}.analyst-dlq"


def sink_connector_config(
    *,
    shop: str,
    topic_prefix: str,
    database: DatabaseAddress,
    replication_factor: int = 1,
    tasks: int = 1,
) -> dict[str, str]:
    """The config of the connector of the shop labelled ``shop`` whose topics start
    with ``topic_prefix``: every value a string, as Connect's REST API wants.
    ``replication_factor`` is its dead-letter topic's (-1: the broker's default)."""
    served_topic = ShopTopics.from_prefix(topic_prefix).served
    dead_letter_topic = analyst_dead_letter_topic(topic_prefix)
    renames = ",".join(f"{old}:{new}" for old, new in _RENAMES.items())
    return {
        "connector.class": SINK_CONNECTOR_CLASS,
        "tasks.max": str(tasks),
        "topics": served_topic,
        # Only committed orders: an aborted transaction never reaches the table.
        "consumer.override.isolation.level": "read_committed",
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "true",
        "value.converter.schema.content": json.dumps(SERVED_SCHEMA, separators=(",", ":")),
        "transforms": "portions,names,shop",
        "transforms.portions.type": "org.apache.kafka.connect.transforms.Flatten$Value",
        "transforms.portions.delimiter": "_",
        "transforms.names.type": "org.apache.kafka.connect.transforms.ReplaceField$Value",
        "transforms.names.renames": renames,
        "transforms.shop.type": "org.apache.kafka.connect.transforms.InsertField$Value",
        "transforms.shop.static.field": "shop",
        SHOP_LABEL_KEY: shop,
        "connection.url": database.jdbc_url,
        "connection.username": database.user,
        "connection.password": database.password,
        "insert.mode": "upsert",
        "delete.enabled": "false",
        "primary.key.mode": "record_value",
        "primary.key.fields": "shop,id",
        "schema.evolution": "none",
        "collection.name.format": database.table,
        "database.time_zone": "UTC",
        "errors.tolerance": "all",
        "errors.log.enable": "true",
        "errors.deadletterqueue.topic.name": dead_letter_topic,
        "errors.deadletterqueue.topic.replication.factor": str(replication_factor),
        "errors.deadletterqueue.context.headers.enable": "true",
        # A database that goes away for a while (a restart) is waited for, batch
        # kept, rather than failing the task: 60 flushes 2 s apart, each asking the
        # pool for a connection 5 times a second apart (seven minutes or more in all).
        "flush.max.retries": "60",
        "flush.retry.delay.ms": "2000",
        "connection.restart.on.errors": "true",
        # The pool checks a connection before lending it: after a database restart
        # it hands out new connections, not ones the server has closed.
        "hibernate.c3p0.testConnectionOnCheckout": "true",
        # Five tries a second apart, not c3p0's thirty: a task (re)started while the
        # database is away fails in seconds, so its failure is seen and the restart
        # backoff runs on the operator's clock, not the pool's.
        "hibernate.c3p0.acquireRetryAttempts": "5",
        "hibernate.c3p0.acquireRetryDelay": "1000",
    }
