"""Unit tests for fishshop_operator.shop.resource, and reconcile.prefix_owner: one shop's
identity, topics and ownership, read from a FishShop object."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from fishshop_operator.reconcile.reconciler import prefix_owner
from fishshop_operator.shop.resource import ShopResource, read_resource
from fishshop_workers.kafka.settings import KafkaSettings
from fishshop_workers.roles.options import WorkerOptions
from fishshop_workers.shop.spec import ShopSpecError
from fishshop_workers.shop.topics import ShopTopics
from tests.support.operator_bodies import shop_body, shop_resource

SAMPLE = Path(__file__).parents[4] / "manifests" / "samples" / "harbour.yaml"


def test_reads_identity_from_metadata() -> None:
    shop = read_resource(shop_body("harbour", "seaside", generation=7))
    assert shop.name == "harbour"
    assert shop.namespace == "seaside"
    assert shop.uid == "uid-seaside-harbour"
    assert shop.generation == 7


def test_reads_the_spec() -> None:
    shop = shop_resource(partitions=6, tills={"replicas": 4}, open=False)
    assert shop.spec.name == "harbour"
    assert shop.spec.bootstrap_servers == "kafka.kafka.svc:9092"
    assert shop.spec.partitions == 6
    assert shop.spec.tills.replicas == 4
    assert shop.spec.open is False


def test_reads_the_sample_manifest() -> None:
    body: dict[str, Any] = yaml.safe_load(SAMPLE.read_text())
    body["metadata"].update(namespace="seaside", uid="u1", generation=2)
    shop = read_resource(body)
    assert (shop.name, shop.namespace, shop.uid, shop.generation) == (
        "harbour",
        "seaside",
        "u1",
        2,
    )
    assert (shop.spec.tills.replicas, shop.spec.preparers.replicas) == (3, 2)
    assert shop.deletes_topics is True
    assert shop.tls_secret == ""


def test_missing_generation_and_namespace() -> None:
    body = shop_body()
    del body["metadata"]["generation"]
    del body["metadata"]["namespace"]
    shop = read_resource(body)
    assert shop.generation == 0
    assert shop.namespace == "default"
    assert shop.topic_prefix == "fishshop.default.harbour"


@pytest.mark.parametrize(
    ("name", "namespace", "expected"),
    [
        ("harbour", "seaside", "fishshop.seaside.harbour"),
        ("harbour", "default", "fishshop.default.harbour"),
        ("pier", "fs-1a2b", "fishshop.fs-1a2b.pier"),
    ],
)
def test_default_topic_prefix_names_namespace_and_shop(
    name: str, namespace: str, expected: str
) -> None:
    assert shop_resource(name, namespace).topic_prefix == expected


@pytest.mark.parametrize("prefix", ["custom.harbour", "team-a.fish"])
def test_explicit_topic_prefix(prefix: str) -> None:
    assert shop_resource(topicPrefix=prefix).topic_prefix == prefix


def test_empty_topic_prefix_means_the_default() -> None:
    assert shop_resource(topicPrefix="").topic_prefix == "fishshop.seaside.harbour"


@pytest.mark.parametrize(
    ("spec", "prefix"),
    [
        ({}, "fishshop.seaside.harbour"),
        ({"topicPrefix": "custom.harbour"}, "custom.harbour"),
    ],
)
def test_topics_and_preparers_group_follow_the_prefix(spec: dict[str, Any], prefix: str) -> None:
    shop = shop_resource(**spec)
    assert shop.topics == ShopTopics.from_prefix(prefix)
    assert shop.preparers_group == f"{prefix}.preparers"


def test_preparers_group_is_the_group_the_preparers_join() -> None:
    """The operator counts queued orders as this group's lag."""
    shop = shop_resource(topicPrefix="custom.harbour")
    worker = WorkerOptions("harbour", shop.topic_prefix, KafkaSettings("k:9092"), "w")
    assert shop.preparers_group == worker.preparers_group
    assert shop.topics == worker.topics


@pytest.mark.parametrize(
    ("policy", "deletes"),
    [("Delete", True), ("Retain", False), (None, True), ("", True)],
)
def test_deletes_topics(policy: str | None, deletes: bool) -> None:
    assert shop_resource(topicDeletionPolicy=policy).deletes_topics is deletes


@pytest.mark.parametrize(
    ("kafka", "secret"),
    [
        ({"bootstrapServers": "k:9093", "tlsSecret": "kafka-certs"}, "kafka-certs"),
        ({"bootstrapServers": "k:9092", "tlsSecret": ""}, ""),
        ({"bootstrapServers": "k:9092"}, ""),
    ],
)
def test_tls_secret(kafka: dict[str, Any], secret: str) -> None:
    body = shop_body()
    body["spec"]["kafka"] = kafka
    assert read_resource(body).tls_secret == secret


def test_owner_reference_points_at_the_shop() -> None:
    assert shop_resource("pier", "seaside").owner_reference() == {
        "apiVersion": "fishshop.dev/v1alpha1",
        "kind": "FishShop",
        "name": "pier",
        "uid": "uid-seaside-pier",
        "controller": True,
        "blockOwnerDeletion": True,
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({**shop_body(), "kind": "Shop"}, "expected kind FishShop"),
        ({**shop_body(), "metadata": {"namespace": "seaside"}}, "metadata.name is required"),
        (shop_body(partitions=0), "spec.partitions must be at least 1"),
        (shop_body(tills={"replicas": -1}), "spec.tills.replicas must be at least 0"),
        (shop_body(open="yes"), "spec.open must be true or false"),
        (shop_body(kafka="k:9092"), "spec.kafka must be a mapping"),
    ],
    ids=["kind", "name", "partitions", "tills", "open", "kafka"],
)
def test_unrunnable_shop_is_a_spec_error(body: dict[str, Any], message: str) -> None:
    with pytest.raises(ShopSpecError, match=message):
        read_resource(body)


# -- prefix_owner: two shops never share topics ----------------------------------------

EARLY, MIDDLE, LATE = "2024-01-01T00:00:00Z", "2024-03-01T00:00:00Z", "2024-06-01T00:00:00Z"


def _mine(created: str = MIDDLE, **spec: Any) -> tuple[ShopResource, dict[str, Any]]:
    body = shop_body("harbour", "seaside", created=created, **spec)
    return read_resource(body), body


def test_a_shop_alone_owns_its_prefix() -> None:
    shop, body = _mine()
    assert prefix_owner(shop, [body]) is None


def test_a_shop_is_never_its_own_rival() -> None:
    shop, body = _mine()
    older_copy_of_itself = shop_body("harbour", "seaside", created=EARLY)
    assert older_copy_of_itself["metadata"]["uid"] == body["metadata"]["uid"]
    assert prefix_owner(shop, [older_copy_of_itself, body]) is None


def test_an_older_shop_with_the_same_prefix_wins() -> None:
    shop, body = _mine(topicPrefix="shared")
    older = shop_body("pier", "docks", created=EARLY, topicPrefix="shared")
    assert prefix_owner(shop, [older, body]) == "docks/pier"
    assert prefix_owner(shop, [body, older]) == "docks/pier"


def test_a_newer_shop_with_the_same_prefix_loses() -> None:
    shop, body = _mine(topicPrefix="shared")
    newer = shop_body("pier", "docks", created=LATE, topicPrefix="shared")
    assert prefix_owner(shop, [newer, body]) is None
    newer_shop = read_resource(newer)
    assert prefix_owner(newer_shop, [newer, body]) == "seaside/harbour"


def test_an_explicit_prefix_can_collide_with_a_default_one() -> None:
    shop, body = _mine()  # fishshop.seaside.harbour by default
    older = shop_body("pier", "docks", created=EARLY, topicPrefix="fishshop.seaside.harbour")
    assert prefix_owner(shop, [older, body]) == "docks/pier"


@pytest.mark.parametrize(
    "other",
    [
        shop_body("pier", "seaside", created=EARLY),  # another name
        shop_body("harbour", "docks", created=EARLY),  # another namespace
        shop_body("pier", "docks", created=EARLY, topicPrefix="fishshop.seaside.harbour2"),
    ],
    ids=["name", "namespace", "explicit"],
)
def test_older_shops_with_other_prefixes_are_no_rivals(other: dict[str, Any]) -> None:
    shop, body = _mine()
    assert prefix_owner(shop, [other, body]) is None


def test_a_shop_being_deleted_is_ignored() -> None:
    shop, body = _mine(topicPrefix="shared")
    leaving = shop_body("pier", "docks", created=EARLY, topicPrefix="shared", deleting=True)
    assert prefix_owner(shop, [leaving, body]) is None


def test_an_older_rival_this_operator_cannot_run_still_keeps_its_prefix() -> None:
    """A shop made under an older CRD (a long name, say) still owns its topics: a newer
    shop with its prefix must not take them, nor delete them when it goes."""
    shop, body = _mine(topicPrefix="shared")
    broken = shop_body("pier", "docks", created=EARLY, topicPrefix="shared", partitions=0)
    assert prefix_owner(shop, [broken, body]) == "docks/pier"
    long_name = "p" * 60
    by_default = shop_body(long_name, "seaside", created=EARLY)
    mine, mine_body = _mine(topicPrefix=f"fishshop.seaside.{long_name}")
    assert prefix_owner(mine, [by_default, mine_body]) == f"seaside/{long_name}"


def test_same_creation_time_goes_to_the_first_by_namespace_and_name() -> None:
    shop, body = _mine(topicPrefix="shared")  # seaside/harbour
    same_time = {"created": MIDDLE, "topicPrefix": "shared"}
    before = shop_body("zander", "docks", **same_time)  # docks < seaside
    assert prefix_owner(shop, [body, before]) == "docks/zander"
    after = shop_body("pier", "seaside", **same_time)  # harbour < pier
    assert prefix_owner(shop, [body, after]) is None
    assert prefix_owner(read_resource(after), [body, after]) == "seaside/harbour"


def test_a_shop_missing_from_the_list_claims_nothing() -> None:
    shop, _ = _mine(topicPrefix="shared")
    older = shop_body("pier", "docks", created=EARLY, topicPrefix="shared")
    assert prefix_owner(shop, [older]) is None


def test_of_several_older_shops_the_oldest_is_named() -> None:
    shop, body = _mine(topicPrefix="shared", created=LATE)
    oldest = shop_body("zander", "docks", created=EARLY, topicPrefix="shared")
    middle = shop_body("pier", "docks", created=MIDDLE, topicPrefix="shared")
    # Kubernetes lists by namespace and name: docks/pier before docks/zander.
    assert prefix_owner(shop, [middle, oldest, body]) == "docks/zander"
