"""A fake of the operator's own Kubernetes client, and stand-ins for its Kafka calls,
for fast tests of the Reconciler's orchestration (locks, caches, what it asks for).
The real API server and broker prove the same paths in tests/integration."""

from __future__ import annotations

import copy
import ssl
from dataclasses import dataclass, field
from typing import Any

import pytest

from fishshop_operator.kafka.clients import KafkaClients
from fishshop_operator.kafka.tls import LAYOUTS, TLSMaterial
from fishshop_operator.kafka.topics import QueueState, ShopKafkaSettings
from fishshop_operator.kube import secrets as secrets_module
from fishshop_operator.kube.api import object_path
from fishshop_operator.reconcile import analyst as analyst_step
from fishshop_operator.reconcile import deletion
from fishshop_operator.reconcile import topics as topics_step
from fishshop_operator.shop.conditions import TopicsOutcome
from fishshop_operator.shop.resource import ShopResource


class FakeKube:
    """Objects by REST path; records what the Reconciler asked for and wrote."""

    def __init__(self, *objects: dict[str, Any]) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.requests: list[str] = []
        """Paths read (get and list)."""
        self.sent: list[tuple[str, str]] = []
        """Every request, as (verb, path or object): what the API server would serve."""
        self.statuses: list[dict[str, Any]] = []
        self.events: list[tuple[str, str, str]] = []
        self.applied: list[dict[str, Any]] = []
        for item in objects:
            self.put(item)

    def put(self, item: dict[str, Any]) -> None:
        meta = item["metadata"]
        self.objects[
            object_path(item["apiVersion"], item["kind"], meta["namespace"], meta["name"])
        ] = item

    async def get(self, path: str) -> dict[str, Any] | None:
        self.requests.append(path)
        self.sent.append(("get", path))
        found = self.objects.get(path)
        return copy.deepcopy(found) if found is not None else None

    async def list_items(self, path: str) -> list[dict[str, Any]]:
        self.requests.append(path)
        items = [copy.deepcopy(o) for o in self.objects.values() if o.get("kind") == "FishShop"]
        self.sent.append(("list", f"{path}: {len(items)} items"))
        return items

    async def apply(self, manifest: dict[str, Any]) -> dict[str, Any]:
        self.applied.append(manifest)
        self.sent.append(("apply", f"{manifest['kind']}/{manifest['metadata']['name']}"))
        replicas = (manifest.get("spec") or {}).get("replicas", 0)
        applied = copy.deepcopy(manifest)
        applied["metadata"].update(uid=f"uid-{manifest['metadata']['name']}", generation=1)
        if manifest["kind"] == "ConfigMap":
            self.put(applied)
            return applied
        applied["status"] = {
            "observedGeneration": 1,
            "replicas": replicas,
            "readyReplicas": replicas,
            "updatedReplicas": replicas,
        }
        return applied

    async def delete(self, path: str, resource_version: str | None = None) -> bool:
        self.sent.append(("delete", path))
        return self.objects.pop(path, None) is not None

    async def patch_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        self.statuses.append(status)
        self.sent.append(("patch-status", f"{namespace}/{name}"))

    async def event(self, about: dict[str, Any], kind: str, reason: str, message: str) -> None:
        self.events.append((kind, reason, message))
        self.sent.append(("event", reason))

    def reasons(self) -> list[str]:
        return [reason for _, reason, _ in self.events]


@dataclass
class FakeKafka:
    """Stands in for the operator's Kafka calls (kafka/topics.py); records each with
    the settings it was given."""

    calls: list[tuple[str, str, ShopKafkaSettings]] = field(default_factory=list)
    queues: QueueState = field(default_factory=lambda: QueueState(3, 0, 0))
    deletion_error: Exception | None = None
    cluster_id: str = "fake-cluster"

    async def kafka_cluster_id(
        self, settings: ShopKafkaSettings, shop: ShopResource, clients: object = None
    ) -> str:
        self.calls.append(("cluster", shop.topic_prefix, settings))
        return self.cluster_id

    async def reconcile_topics(
        self, settings: ShopKafkaSettings, shop: ShopResource, *, clients: object = None
    ) -> TopicsOutcome:
        self.calls.append(("topics", shop.topic_prefix, settings))
        return TopicsOutcome(True, "TopicsCreated", "created", shop.spec.partitions)

    async def queue_state(
        self, settings: ShopKafkaSettings, shop: ShopResource, *, clients: object = None
    ) -> QueueState:
        self.calls.append(("count", shop.topic_prefix, settings))
        return self.queues

    async def delete_shop_topics(
        self, settings: ShopKafkaSettings, shop: ShopResource
    ) -> list[str]:
        self.calls.append(("delete", shop.topic_prefix, settings))
        if self.deletion_error is not None:
            raise self.deletion_error
        return list(shop.topics)

    def stand_in(self, monkeypatch: pytest.MonkeyPatch) -> FakeKafka:
        """Take the place of the Kafka calls of a reconcile and of a deletion."""
        monkeypatch.setattr(topics_step, "reconcile_topics", self.reconcile_topics)
        monkeypatch.setattr(topics_step, "queue_state", self.queue_state)
        monkeypatch.setattr(deletion, "delete_shop_topics", self.delete_shop_topics)
        monkeypatch.setattr(analyst_step, "kafka_cluster_id", self.kafka_cluster_id)
        return self

    def made(self) -> list[str]:
        return [what for what, _, _ in self.calls]


class FakeKafkaClient:
    """Stands in for an aiokafka admin client or consumer in a KafkaClients pool."""

    def __init__(self, made: list[FakeKafkaClient], **options: Any) -> None:
        self.options = options
        self.started = self.stopped = False
        self.unsubscribed = 0
        made.append(self)

    async def start(self) -> None:
        self.started = True

    async def close(self) -> None:
        self.stopped = True

    async def stop(self) -> None:
        self.stopped = True

    def unsubscribe(self) -> None:
        self.unsubscribed += 1


def fake_kafka_clients(made: dict[str, list[FakeKafkaClient]]) -> KafkaClients:
    """A pool whose clients are fakes, listed in ``made`` under "admin" and "consumer"."""
    made.setdefault("admin", [])
    made.setdefault("consumer", [])
    return KafkaClients(
        admin_factory=lambda **o: FakeKafkaClient(made["admin"], **o),
        consumer_factory=lambda **o: FakeKafkaClient(made["consumer"], **o),
    )


def stand_in_for_tls(monkeypatch: pytest.MonkeyPatch) -> list[ssl.SSLContext]:
    """A TLS Secret of any content makes a new (empty) context, listed in the answer."""
    contexts: list[ssl.SSLContext] = []

    def build(material: object, root: object) -> ssl.SSLContext:
        contexts.append(ssl.create_default_context())
        return contexts[-1]

    monkeypatch.setattr(
        secrets_module,
        "read_tls_secret",
        lambda secret, where: TLSMaterial(where, b"ca", layout=LAYOUTS[0]),
    )
    monkeypatch.setattr(secrets_module, "build_ssl_context", build)
    return contexts
