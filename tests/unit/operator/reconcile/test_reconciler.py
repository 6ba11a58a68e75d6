"""The Reconciler's orchestration against a fake of the operator's Kubernetes client and
stand-ins for its Kafka calls: which objects it reads, what it refuses before making
anything, deletion that leaves other shops' topics and is never undone by a reconcile,
and per-shop state (TLS contexts included) forgotten with the shop."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any, cast

import pytest

from fishshop_operator.kafka import tls
from fishshop_operator.kafka.topics import QueueState, TopicDeletionError
from fishshop_operator.kube.api import KubeApi
from fishshop_operator.metrics import OperatorMetrics
from fishshop_operator.reconcile import topics as topics_step
from fishshop_operator.reconcile.reconciler import Reconciler
from fishshop_operator.shop.kept import kept_manifest, kept_name
from fishshop_operator.shop.resource import read_resource
from tests.support.certs import make_certificates
from tests.support.operator_bodies import secret_body, shop_body
from tests.support.operator_fakes import FakeKafka, FakeKafkaClient, FakeKube, fake_kafka_clients

NAMESPACE = "seaside"
SHARED = f"{NAMESPACE}.shared"
"""A prefix two shops of the namespace ask for."""


@pytest.fixture(scope="module")
def client_certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _, client = make_certificates(tmp_path_factory.mktemp("certs"))
    return client


def _secret(
    name: str, namespace: str = NAMESPACE, version: str = "1", **files: bytes
) -> dict[str, Any]:
    return secret_body(name, namespace, version, **files)


def _tls_secret(client: Path, name: str = "kafka-tls", **kwargs: Any) -> dict[str, Any]:
    return _secret(
        name,
        ca_pem=(client / "ca.pem").read_bytes(),
        service_cert=(client / "service.cert").read_bytes(),
        service_key=(client / "service.key").read_bytes(),
        **kwargs,
    )


def _tls_shop(secret: Any = "kafka-tls", name: str = "harbour", **spec: Any) -> dict[str, Any]:
    return shop_body(
        name, NAMESPACE, kafka={"bootstrapServers": "k:9093", "tlsSecret": secret}, **spec
    )


def _reconciler(kube: FakeKube, certs_root: Path, patience: float = 0.0) -> Reconciler:
    """A Reconciler that knows every shop in ``kube``, as the watch would show them."""
    reconciler = Reconciler(
        cast(KubeApi, kube), "fishshop:test", OperatorMetrics(), certs_root, patience
    )
    for item in kube.objects.values():
        if item["kind"] == "FishShop":
            meta = item["metadata"]
            reconciler.track(meta["namespace"], meta["name"], gone=False, body=item)
    return reconciler


def _files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if not path.is_dir()]


# -- names from a spec never take the operator outside the shop's namespace ------------


async def test_a_tls_secret_path_is_refused_before_any_request(
    kafka: FakeKafka, tmp_path: Path
) -> None:
    body = _tls_shop("../../other-ns/secrets/x")
    kube = FakeKube(body, _secret("x", "other-ns", ca_pem=b"stolen"))
    outcome = await _reconciler(kube, tmp_path).reconcile(body)
    assert (outcome.result, outcome.reason) == ("error", "InvalidSpec")
    assert not [path for path in kube.requests if "secrets" in path]
    assert kafka.calls == []
    assert kube.applied == []
    [status] = kube.statuses
    assert "spec.kafka.tlsSecret" in status["conditions"][0]["message"]
    assert "stolen" not in str(kube.statuses) + str(kube.events)


async def test_a_shop_reads_its_secret_from_its_own_namespace_only(
    kafka: FakeKafka, tmp_path: Path, client_certs: Path
) -> None:
    body = _tls_shop("kafka-tls")
    elsewhere = _tls_secret(client_certs)
    elsewhere["metadata"]["namespace"] = "other-ns"
    kube = FakeKube(body, elsewhere)
    outcome = await _reconciler(kube, tmp_path).reconcile(body)
    assert outcome.reason == "TLSSecretInvalid"
    assert [p for p in kube.requests if "secrets" in p] == [
        f"/api/v1/namespaces/{NAMESPACE}/secrets/kafka-tls"
    ]
    ready = kube.statuses[-1]["conditions"][0]
    assert ready["message"] == (
        f"Secret {NAMESPACE}/kafka-tls named by spec.kafka.tlsSecret does not exist in the "
        "shop's namespace"
    )
    assert kafka.calls == []


@pytest.mark.parametrize("name", ["harbour.pier", "h" * 48])
async def test_a_name_that_breaks_workloads_makes_no_topics(
    kafka: FakeKafka, tmp_path: Path, name: str
) -> None:
    body = shop_body(name, NAMESPACE)
    kube = FakeKube(body)
    outcome = await _reconciler(kube, tmp_path).reconcile(body)
    assert outcome.reason == "InvalidSpec"
    assert kafka.calls == []
    assert kube.applied == []
    assert kube.reasons() == ["InvalidSpec"]


# -- TLS material: bounded, in memory, forgotten with the shop ---------------------------


@pytest.mark.parametrize("name", ["ca_pem", "service_cert", "service_key"])
async def test_an_oversized_secret_is_refused(
    kafka: FakeKafka, tmp_path: Path, client_certs: Path, name: str
) -> None:
    secret = _tls_secret(client_certs)
    secret["data"][name.replace("_", ".")] = base64.b64encode(b"x" * (64 * 1024 + 1)).decode()
    body = _tls_shop()
    kube = FakeKube(body, secret)
    outcome = await _reconciler(kube, tmp_path).reconcile(body)
    assert outcome.reason == "TLSSecretInvalid"
    message = kube.statuses[-1]["conditions"][0]["message"]
    assert (
        f"Secret {NAMESPACE}/kafka-tls: {name.replace('_', '.')} is larger than 64 KiB" in message
    )
    assert kafka.calls == []
    assert _files(tmp_path) == []


@pytest.mark.parametrize("in_memory", [True, False], ids=["memfd", "scratch-files"])
async def test_a_tls_shop_leaves_no_file_behind(
    kafka: FakeKafka,
    tmp_path: Path,
    client_certs: Path,
    monkeypatch: pytest.MonkeyPatch,
    in_memory: bool,
) -> None:
    if in_memory and not tls.in_memory_files():
        pytest.skip("this system has no memfd_create or /proc/self/fd")
    monkeypatch.setattr(tls, "in_memory_files", lambda: in_memory)
    certs_root = tmp_path / "certs"
    body = _tls_shop()
    kube = FakeKube(body, _tls_secret(client_certs))
    reconciler = _reconciler(kube, certs_root)
    reconciler.track(NAMESPACE, "harbour", gone=False)
    outcome = await reconciler.reconcile(body)
    assert outcome.result == "ready", kube.statuses
    _, _, settings = kafka.calls[0]
    assert settings.security_protocol == "SSL"
    assert settings.ssl_context() is not None
    assert settings.client_options()["ssl_context"] is settings.ssl_context()
    assert _files(certs_root) == []

    await reconciler.delete({**body, "metadata": {**body["metadata"], "deletionTimestamp": "x"}})
    assert kafka.made() == ["topics", "count", "delete"]
    reconciler.track(NAMESPACE, "harbour", gone=True)
    assert reconciler.remembered() == set()
    assert _files(certs_root) == []


async def test_the_tls_context_is_built_once_per_version_of_the_secret(
    kafka: FakeKafka, tmp_path: Path, client_certs: Path
) -> None:
    body = _tls_shop()
    kube = FakeKube(body, _tls_secret(client_certs))
    reconciler = _reconciler(kube, tmp_path)
    await reconciler.reconcile(body)
    await reconciler.reconcile(body)
    first, second = (
        settings.ssl_context() for what, _, settings in kafka.calls if what == "topics"
    )
    assert first is second
    kube.put(_tls_secret(client_certs, version="2"))
    await reconciler.reconcile(body)
    third = kafka.calls[-2][2].ssl_context()
    assert third is not None and third is not first


async def test_a_broken_secret_is_reported_not_raised(
    kafka: FakeKafka, tmp_path: Path, client_certs: Path
) -> None:
    secret = _tls_secret(client_certs)
    secret["data"]["service.key"] = secret["data"]["ca.pem"]
    body = _tls_shop()
    kube = FakeKube(body, secret)
    outcome = await _reconciler(kube, tmp_path).reconcile(body)
    assert outcome.reason == "TLSSecretInvalid"
    assert (
        "does not hold a usable certificate or key" in kube.statuses[-1]["conditions"][0]["message"]
    )
    assert _files(tmp_path) == []


async def test_a_forgotten_shop_leaves_no_state_and_no_series(
    kafka: FakeKafka, tmp_path: Path
) -> None:
    kafka.queues = QueueState(3, 4, 2)
    body = shop_body("harbour", NAMESPACE)
    kube = FakeKube(body)
    reconciler = _reconciler(kube, tmp_path)
    reconciler.track(NAMESPACE, "harbour", gone=False)
    await reconciler.reconcile(body)
    registry = reconciler.metrics.registry
    labels = {"namespace": NAMESPACE, "shop": "harbour"}
    assert registry.get_sample_value("fishshop_operator_shop_queued_for_cook", labels) == 2
    assert registry.get_sample_value("fishshop_operator_shop_queued_orders", labels) == 4
    assert kube.statuses[-1]["queuedForCook"] == 2
    assert reconciler.remembered() == {(NAMESPACE, "harbour")}
    reconciler.track(NAMESPACE, "harbour", gone=True)
    assert reconciler.remembered() == set()
    assert registry.get_sample_value("fishshop_operator_shop_queued_for_cook", labels) is None


async def _reconciled_on_shared_clients(
    monkeypatch: pytest.MonkeyPatch,
    kafka: FakeKafka,
    kube: FakeKube,
    certs_root: Path,
    made: dict[str, list[FakeKafkaClient]],
) -> Reconciler:
    """A Reconciler that has reconciled every shop in ``kube``, its queues counted on
    pooled (fake) Kafka clients as the real queue_state does."""

    async def count_on_pool(settings: Any, shop: Any, *, clients: Any = None) -> QueueState:
        ids = (shop.namespace, shop.name)
        async with clients.admin(ids, settings), clients.consumer(ids, settings):
            return await kafka.queue_state(settings, shop)

    monkeypatch.setattr(topics_step, "queue_state", count_on_pool)
    reconciler = _reconciler(kube, certs_root)
    reconciler.kafka = fake_kafka_clients(made)
    for item in list(kube.objects.values()):
        if item["kind"] == "FishShop":
            assert (await reconciler.reconcile(item)).result == "ready", kube.statuses
    return reconciler


def _held_for(reconciler: Reconciler, namespace: str, name: str) -> list[str]:
    """Every place the Reconciler could keep something about the shop."""
    labels = {"namespace": namespace, "shop": name}
    held = []
    if (namespace, name) in reconciler.remembered():
        held.append("memory")
    if any((c.namespace, c.name) == (namespace, name) for c in reconciler.index._cards.values()):
        held.append("index")
    if (namespace, name) in reconciler.kafka.users():
        held.append("kafka clients")
    for metric in reconciler.metrics.registry.collect():
        for sample in metric.samples:
            if {k: sample.labels.get(k) for k in labels} == labels:
                held.append(sample.name)
    return held


@pytest.mark.parametrize("missed", [False, True], ids=["deleted", "deletion-missed-by-watch"])
async def test_a_deleted_shop_leaves_nothing_behind(
    monkeypatch: pytest.MonkeyPatch,
    kafka: FakeKafka,
    tmp_path: Path,
    client_certs: Path,
    missed: bool,
) -> None:
    kafka.queues = QueueState(3, 4, 2)
    body = _tls_shop()
    neighbour = _tls_shop(name="pier")
    kube = FakeKube(body, neighbour, _tls_secret(client_certs))
    made: dict[str, list[FakeKafkaClient]] = {}
    certs_root = tmp_path / "certs"
    reconciler = await _reconciled_on_shared_clients(monkeypatch, kafka, kube, certs_root, made)
    assert _held_for(reconciler, NAMESPACE, "harbour")
    assert reconciler.kafka.addresses() == 2  # each shop's own TLS context

    await reconciler.delete({**body, "metadata": {**body["metadata"], "deletionTimestamp": "x"}})
    del kube.objects[f"/apis/fishshop.dev/v1alpha1/namespaces/{NAMESPACE}/fishshops/harbour"]
    if missed:
        await reconciler.resync_round()
    else:
        reconciler.track(NAMESPACE, "harbour", gone=True, body=body)
    await asyncio.sleep(0)
    assert _held_for(reconciler, NAMESPACE, "harbour") == []
    assert reconciler.kafka.addresses() == 1
    assert [c.stopped for c in made["admin"]] == [True, False]
    assert _files(certs_root) == []
    assert "memory" in _held_for(reconciler, NAMESPACE, "pier")
    assert "index" in _held_for(reconciler, NAMESPACE, "pier")


async def test_an_event_for_a_shop_that_is_gone_leaves_no_state(
    kafka: FakeKafka, tmp_path: Path
) -> None:
    reconciler = _reconciler(FakeKube(), tmp_path)
    assert await reconciler.reconcile_by_name(NAMESPACE, "gone") is None
    assert reconciler.remembered() == set()


# -- deletion: only the shop's own topics, never undone ---------------------------------


async def test_deleting_a_shop_refused_its_prefix_leaves_the_owners_topics(
    kafka: FakeKafka, tmp_path: Path
) -> None:
    owner = shop_body("first", NAMESPACE, created="2024-01-01T00:00:00Z", topicPrefix=SHARED)
    refused = shop_body("second", NAMESPACE, created="2024-02-01T00:00:00Z", topicPrefix=SHARED)
    kube = FakeKube(owner, refused)
    reconciler = _reconciler(kube, tmp_path, patience=5)
    outcome = await reconciler.reconcile(refused)
    assert outcome.reason == "TopicsOwnedByAnotherShop"
    refused["metadata"]["deletionTimestamp"] = "2024-03-01T00:00:00Z"
    kube.put(refused)
    await reconciler.delete(refused)
    assert kafka.calls == []
    [(kind, _, message)] = [e for e in kube.events if e[1] == "TopicsKept"]
    assert kind == "Normal"
    assert f"belong to shop {NAMESPACE}/first" in message


async def test_a_shop_sharing_a_prefix_waits_for_its_owner_to_go(
    kafka: FakeKafka, tmp_path: Path
) -> None:
    owner = shop_body("first", NAMESPACE, created="2024-01-01T00:00:00Z", topicPrefix=SHARED)
    newer = shop_body("second", NAMESPACE, created="2024-02-01T00:00:00Z", topicPrefix=SHARED)
    kube = FakeKube(owner, newer)
    reconciler = _reconciler(kube, tmp_path)
    assert (await reconciler.reconcile(newer)).reason == "TopicsOwnedByAnotherShop"
    assert (await reconciler.reconcile(owner)).result == "ready"
    reconciler.track(NAMESPACE, "first", gone=True, body=owner)
    assert (await reconciler.reconcile(newer)).result == "ready"
    assert [prefix for what, prefix, _ in kafka.calls if what == "topics"] == [SHARED] * 2


async def test_an_owner_whose_deletion_the_watch_missed_keeps_no_prefix(
    kafka: FakeKafka, tmp_path: Path
) -> None:
    """A watch that relists never says DELETED for a shop that went meanwhile: the owner
    found in the index is read once more before another shop is refused its topics."""
    owner = shop_body("first", NAMESPACE, created="2024-01-01T00:00:00Z", topicPrefix=SHARED)
    newer = shop_body("second", NAMESPACE, created="2024-02-01T00:00:00Z", topicPrefix=SHARED)
    kube = FakeKube(owner, newer)
    reconciler = _reconciler(kube, tmp_path)
    del kube.objects[f"/apis/fishshop.dev/v1alpha1/namespaces/{NAMESPACE}/fishshops/first"]
    assert (await reconciler.reconcile(newer)).result == "ready"
    assert owner["metadata"]["uid"] not in reconciler.index
    # And one whose deletion has begun since the index saw it.
    third = shop_body("third", NAMESPACE, created="2024-03-01T00:00:00Z", topicPrefix=SHARED)
    kube.put(third)
    reconciler.track(NAMESPACE, "third", gone=False, body=third)
    newer["metadata"]["deletionTimestamp"] = "2024-04-01T00:00:00Z"
    kube.put(newer)
    assert (await reconciler.reconcile(third)).result == "ready"


async def test_a_reconcile_lists_no_shops(kafka: FakeKafka, tmp_path: Path) -> None:
    body = shop_body("harbour", NAMESPACE)
    kube = FakeKube(body, *(shop_body(f"shop{i}", "elsewhere") for i in range(50)))
    await _reconciler(kube, tmp_path).reconcile(body)
    assert not [path for path in kube.requests if path.endswith("/fishshops")]
    assert not [verb for verb, _ in kube.sent if verb == "list"]


async def test_deleting_the_owner_deletes_its_topics(kafka: FakeKafka, tmp_path: Path) -> None:
    owner = shop_body("first", NAMESPACE, created="2024-01-01T00:00:00Z", topicPrefix=SHARED)
    newer = shop_body("second", NAMESPACE, created="2024-02-01T00:00:00Z", topicPrefix=SHARED)
    kube = FakeKube(owner, newer)
    await _reconciler(kube, tmp_path).delete(owner)
    assert [(what, prefix) for what, prefix, _ in kafka.calls] == [("delete", SHARED)]


async def test_retained_topics_outlive_the_operator_and_go_back_only_to_their_shop(
    kafka: FakeKafka, tmp_path: Path
) -> None:
    prefix = f"{NAMESPACE}.kept.topics"
    kept = shop_body("first", NAMESPACE, topicPrefix=prefix, topicDeletionPolicy="Retain")
    kube = FakeKube(kept)
    assert (await _reconciler(kube, tmp_path).reconcile(kept)).result != "error"
    [record] = [m for m in kube.applied if m["kind"] == "ConfigMap"]
    assert record["data"] == {"shop": "first", "topicPrefix": prefix}
    kafka.calls.clear()
    # The shop is deleted (Retain: no finalizer) and the operator starts again: it
    # knows no shop, only the record, and the prefix's Kafka twin is the same prefix.
    del kube.objects[f"/apis/fishshop.dev/v1alpha1/namespaces/{NAMESPACE}/fishshops/first"]
    squatter = shop_body("second", NAMESPACE, topicPrefix=f"{NAMESPACE}.kept_topics")
    kube.put(squatter)
    reconciler = _reconciler(kube, tmp_path, patience=5)
    outcome = await reconciler.reconcile(squatter)
    assert outcome.reason == "TopicsKeptForAnotherShop"
    assert kafka.calls == []
    # Deleting the refused shop leaves the kept topics and their record.
    await reconciler.delete(squatter)
    assert kafka.calls == []
    assert any(
        e[1] == "TopicsKept" and f"kept for shop {NAMESPACE}/first" in e[2] for e in kube.events
    )
    # A shop of the same name takes them back.
    again = shop_body("first", NAMESPACE, topicPrefix=prefix)
    again["metadata"]["uid"] = "uid-again"
    kube.put(again)
    outcome = await _reconciler(kube, tmp_path).reconcile(again)
    assert outcome.result != "error", outcome.reason
    assert kafka.calls[0][:2] == ("topics", prefix)


async def test_a_deleting_shop_reads_the_record_afresh_and_leaves_anothers(
    kafka: FakeKafka, tmp_path: Path
) -> None:
    """The record appears after the deleting shop last looked (another shop took the
    prefix while this one was being deleted): its topics and the record stay."""
    prefix = f"{NAMESPACE}.taken"
    first = shop_body("first", NAMESPACE, topicPrefix=prefix)
    kube = FakeKube(first)
    reconciler = _reconciler(kube, tmp_path, patience=5)
    assert (await reconciler.reconcile(first)).result != "error"  # no record then
    second = read_resource(shop_body("second", NAMESPACE, topicPrefix=prefix))
    kube.put({**kept_manifest(second), "metadata": {**kept_manifest(second)["metadata"]}})
    kafka.calls.clear()
    await reconciler.delete({**first, "metadata": {**first["metadata"], "deletionTimestamp": "x"}})
    assert [what for what, _, _ in kafka.calls] == []
    assert any(e[1] == "TopicsKept" and "kept for shop" in e[2] for e in kube.events)
    assert (
        "delete",
        f"/api/v1/namespaces/{NAMESPACE}/configmaps/{kept_name(prefix)}",
    ) not in kube.sent


async def test_a_retained_shop_puts_its_record_back_at_every_look(
    kafka: FakeKafka, tmp_path: Path
) -> None:
    kept = shop_body(
        "first", NAMESPACE, topicPrefix=f"{NAMESPACE}.kept", topicDeletionPolicy="Retain"
    )
    kube = FakeKube(kept)
    reconciler = _reconciler(kube, tmp_path)
    await reconciler.reconcile(kept)
    path = f"/api/v1/namespaces/{NAMESPACE}/configmaps/{kept_name(f'{NAMESPACE}.kept')}"
    assert path in kube.objects
    del kube.objects[path]  # taken away (by hand, or by another shop's deletion)
    await reconciler.resync_round()
    assert path in kube.objects


async def test_a_reconcile_that_waited_for_the_deletion_does_nothing(
    monkeypatch: pytest.MonkeyPatch, kafka: FakeKafka, tmp_path: Path
) -> None:
    """A reconcile in flight finishes first; the deletion follows it; a reconcile that
    started meanwhile finds the deletion begun and makes no topics behind it."""
    gate = asyncio.Event()
    making = kafka.reconcile_topics

    async def slow_topics(settings: Any, shop: Any, **_: Any) -> Any:
        kafka.calls.append(("waiting", shop.topic_prefix, settings))
        await gate.wait()
        return await making(settings, shop)

    monkeypatch.setattr(topics_step, "reconcile_topics", slow_topics)
    body = shop_body("harbour", NAMESPACE)
    kube = FakeKube(body)
    reconciler = _reconciler(kube, tmp_path)
    in_flight = asyncio.create_task(reconciler.reconcile(body))
    while not kafka.calls:
        await asyncio.sleep(0)
    deleting = asyncio.create_task(reconciler.delete(body))
    late = asyncio.create_task(reconciler.reconcile(body))
    by_name = asyncio.create_task(reconciler.reconcile_by_name(NAMESPACE, "harbour", True))
    await asyncio.sleep(0.01)
    gate.set()
    first, _, second, third = await asyncio.gather(in_flight, deleting, late, by_name)
    assert first.result == "ready"
    assert second.reason == "Deleting"
    assert third is not None
    assert third.reason == "Deleting"
    assert kafka.made() == ["waiting", "topics", "count", "delete"]
    # And later ones too, until the shop is forgotten.
    assert (await reconciler.reconcile(body)).reason == "Deleting"
    assert kafka.made()[-1] == "delete"


async def test_a_shop_of_the_same_name_made_again_is_reconciled(
    kafka: FakeKafka, tmp_path: Path
) -> None:
    body = shop_body("harbour", NAMESPACE)
    kube = FakeKube(body)
    reconciler = _reconciler(kube, tmp_path)
    await reconciler.delete(body)
    again = shop_body("harbour", NAMESPACE)
    again["metadata"]["uid"] = "a-new-uid"
    assert (await reconciler.reconcile(again)).result == "ready"


async def test_a_shop_made_again_is_reconciled_by_name_even_if_its_deletion_was_missed(
    kafka: FakeKafka, tmp_path: Path
) -> None:
    """After a relist the watch may never say DELETED: the resync loop and workload
    events, which reconcile by name, must still look after the new shop."""
    body = shop_body("harbour", NAMESPACE)
    kube = FakeKube(body)
    reconciler = _reconciler(kube, tmp_path)
    await reconciler.delete(body)
    again = shop_body("harbour", NAMESPACE)
    again["metadata"]["uid"] = "a-new-uid"
    kube.put(again)
    outcome = await reconciler.reconcile_by_name(NAMESPACE, "harbour", check_kafka=True)
    assert outcome is not None
    assert outcome.result == "ready"


async def test_kafka_refusing_a_deletion_is_reported(kafka: FakeKafka, tmp_path: Path) -> None:
    kafka.deletion_error = TopicDeletionError(
        "Kafka refused to delete topics: fishshop.seaside.harbour.orders: "
        "TopicDeletionDisabledError"
    )
    body = shop_body("harbour", NAMESPACE)
    kube = FakeKube(body)
    await _reconciler(kube, tmp_path, patience=0).delete(body)
    [(kind, _, message)] = [e for e in kube.events if e[1] == "TopicsNotDeleted"]
    assert kind == "Warning"
    assert "TopicDeletionDisabledError" in message
    assert "Delete them by hand" in message


async def test_a_shop_with_an_invalid_spec_is_let_go_without_touching_kafka(
    kafka: FakeKafka, tmp_path: Path
) -> None:
    body = _tls_shop("../../other-ns/secrets/x")
    kube = FakeKube(body)
    await _reconciler(kube, tmp_path).delete(body)
    assert kafka.calls == []
    assert not [path for path in kube.requests if "secrets" in path]
    assert kube.reasons() == ["TopicsNotDeleted"]


# -- hundreds of shops: what one shop costs does not grow with the others --------------


async def _requests_of_one_reconcile(kube: FakeKube, tmp_path: Path) -> list[tuple[str, str]]:
    reconciler = _reconciler(kube, tmp_path)
    await reconciler.reconcile_by_name(NAMESPACE, "harbour", check_kafka=True)
    kube.sent.clear()
    await reconciler.reconcile_by_name(NAMESPACE, "harbour", check_kafka=True)
    return list(kube.sent)


async def test_the_requests_of_a_reconcile_do_not_grow_with_the_shops_known(
    kafka: FakeKafka, tmp_path: Path
) -> None:
    body = shop_body("harbour", NAMESPACE)
    alone = await _requests_of_one_reconcile(FakeKube(body), tmp_path)
    others = [shop_body(f"shop{i}", f"street{i % 20}") for i in range(200)]
    crowded = await _requests_of_one_reconcile(FakeKube(body, *others), tmp_path)
    assert crowded == alone
    assert ("get", f"/apis/fishshop.dev/v1alpha1/namespaces/{NAMESPACE}/fishshops/harbour") in alone
    assert len(alone) <= 10, alone


async def test_a_status_that_would_not_change_is_not_sent_again(
    kafka: FakeKafka, tmp_path: Path
) -> None:
    """A resync of a shop that is as its status says sends no status patch (one
    request per shop and round, and a wake-up for every watcher of the shop)."""
    kube = FakeKube()
    reconciler = _reconciler(kube, tmp_path)
    body = shop_body("harbour", "seaside")
    await reconciler.reconcile(body)
    assert len(kube.statuses) == 1
    # As the API server keeps it: a merge patch's nulls remove their keys.
    body["status"] = {k: v for k, v in kube.statuses[0].items() if v is not None}
    await reconciler.reconcile(body)
    assert len(kube.statuses) == 1
    kafka.queues = QueueState(3, 7, 0)  # seven orders queue up: the status says so
    await reconciler.reconcile(body)
    assert len(kube.statuses) == 2
    assert kube.statuses[1]["queuedOrders"] == 7


async def test_a_prefix_outside_the_shops_namespace_is_refused(
    kafka: FakeKafka, tmp_path: Path
) -> None:
    """By default a custom prefix starts with the namespace: another namespace's
    default prefix, or a bare name anyone could take, makes no topic."""
    kube = FakeKube()
    for prefix in ("fishshop.docks.pier", "harbour-shop", "seaside_x.y"):
        body = shop_body("harbour", NAMESPACE, topicPrefix=prefix)
        kube.put(body)
        outcome = await _reconciler(kube, tmp_path).reconcile(body)
        assert (outcome.result, outcome.reason) == ("error", "TopicPrefixOfAnotherNamespace")
    assert [call for call in kafka.calls if call[0] == "topics"] == []
    body = shop_body("harbour", NAMESPACE, topicPrefix=f"{NAMESPACE}.harbour-shop")
    kube.put(body)
    assert (await _reconciler(kube, tmp_path).reconcile(body)).result != "error"
    allowed = _reconciler(kube, tmp_path)
    allowed.any_prefix = True
    body = shop_body("harbour", NAMESPACE, topicPrefix="harbour-shop")
    kube.put(body)
    assert (await allowed.reconcile(body)).result != "error"


async def test_deleting_a_shop_refused_another_namespaces_prefix_deletes_nothing(
    kafka: FakeKafka, tmp_path: Path
) -> None:
    """Topics of a retained shop of another namespace stay, whoever names them."""
    body = shop_body("harbour", NAMESPACE, topicPrefix="fishshop.docks.pier")
    await _reconciler(FakeKube(body), tmp_path).delete(body)
    assert [call for call in kafka.calls if call[0] == "delete"] == []
