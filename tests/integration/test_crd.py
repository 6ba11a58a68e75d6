"""The API server itself refuses invalid FishShops, with messages a person understands."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.cluster import Cluster
from tests.support.shops import sample_shop

BOOTSTRAP = "kafka.kafka.svc:9092"


def _apply(cluster: Cluster, namespace: str, shop: dict[str, Any] | str) -> str:
    text = shop if isinstance(shop, str) else json.dumps(shop)
    return cluster.kubectl("apply", "-n", namespace, "-f", "-", input=text, check=False)


def _with(path: str, value: Any) -> dict[str, Any]:
    shop = sample_shop(BOOTSTRAP)
    *parents, last = path.split(".")
    node = shop["spec"]
    for key in parents:
        node = node.setdefault(key, {})
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return shop


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("tills.replicas", -1, "spec.tills.replicas in body should be greater than or equal to 0"),
        ("preparers.replicas", 5000, "spec.preparers.replicas in body should be less than or equal to 100"),
        ("cooks.replicas", 21, "should be less than or equal to 20"),
        ("tills.ordersPerMinute", -5, "spec.tills.ordersPerMinute in body should be greater than or equal to 0"),
        ("preparers.prepSeconds", {"min": 2, "max": 1}, "prepSeconds.min must not be above prepSeconds.max"),
        ("cooks.cookSeconds", {"min": 9, "max": 3}, "cookSeconds.min must not be above cookSeconds.max"),
        ("partitions", 0, "spec.partitions in body should be greater than or equal to 1"),
        ("partitions", 100000, "should be less than or equal to 1000"),
        ("colour", "red", 'unknown field "spec.colour"'),
        ("tills.colour", "red", 'unknown field "spec.tills.colour"'),
        ("topicDeletionPolicy", "Sometimes", 'Unsupported value: "Sometimes": supported values: "Delete", "Retain"'),
        ("kafka.bootstrapServers", KeyError, "spec.kafka.bootstrapServers: Required value"),
        ("kafka.bootstrapServers", "", "should be at least 1 chars long"),
        ("kafka.bootstrapServers", "kafka", "bootstrapServers must be host:port"),
        ("preparers.replicas", "many", "spec.preparers.replicas in body must be of type integer"),
        ("open", "yes", "spec.open in body must be of type boolean"),
        ("topicPrefix", "no spaces/here", "spec.topicPrefix in body should match"),
    ],
)  # fmt: skip
def test_invalid_specs_are_refused_with_a_readable_message(
    cluster: Cluster, namespace: str, path: str, value: Any, message: str
) -> None:
    out = _apply(cluster, namespace, _with(path, value))
    assert message in out, out
    assert "created" not in out


def test_a_missing_kafka_section_is_refused(cluster: Cluster, namespace: str) -> None:
    shop = sample_shop(BOOTSTRAP)
    del shop["spec"]["kafka"]
    out = _apply(cluster, namespace, shop)
    assert "spec.kafka: Required value" in out


def test_partitions_never_decrease_and_the_prefix_never_changes(
    cluster: Cluster, namespace: str
) -> None:
    shop = sample_shop(BOOTSTRAP, partitions=4, topicPrefix="harbour-shop")
    assert "created" in _apply(cluster, namespace, shop)
    assert "configured" in _apply(cluster, namespace, _merge(shop, partitions=6))
    out = _apply(cluster, namespace, _merge(shop, partitions=5))
    assert "partitions can grow but never shrink" in out
    out = _apply(cluster, namespace, _merge(shop, partitions=6, topicPrefix="elsewhere"))
    assert "topicPrefix cannot be changed" in out
    removed = _merge(shop, partitions=6)
    del removed["spec"]["topicPrefix"]
    assert "topicPrefix cannot be changed" in _apply(cluster, namespace, removed)
    # kubectl scale goes through the same rules.
    out = cluster.kubectl(
        "scale", "-n", namespace, "fishshop/harbour", "--replicas=-1", check=False
    )
    assert "greater than or equal to 0" in out or "must be greater than or equal to 0" in out


def _merge(shop: dict[str, Any], **spec: Any) -> dict[str, Any]:
    copy = json.loads(json.dumps(shop))
    copy["spec"].update(spec)
    return copy


def test_defaults_fill_in_a_minimal_shop(cluster: Cluster, namespace: str) -> None:
    minimal = {
        "apiVersion": "fishshop.dev/v1alpha1",
        "kind": "FishShop",
        "metadata": {"name": "corner"},
        "spec": {"kafka": {"bootstrapServers": BOOTSTRAP}},
    }
    assert "created" in _apply(cluster, namespace, minimal)
    stored = json.loads(cluster.kubectl("get", "shop", "corner", "-n", namespace, "-o", "json"))
    assert stored["spec"] == {
        "open": True,
        "kafka": {"bootstrapServers": BOOTSTRAP, "tlsSecret": ""},
        "partitions": 3,
        "tills": {"replicas": 3, "ordersPerMinute": 40},
        "preparers": {"replicas": 2, "prepSeconds": {"min": 0.5, "max": 1.0}},
        "cooks": {"replicas": 1, "cookSeconds": {"min": 3.0, "max": 3.2}},
        "topicDeletionPolicy": "Delete",
    }


def test_kubectl_explain_documents_every_field(cluster: Cluster) -> None:
    out = cluster.kubectl("explain", "fishshop.spec", "--recursive")
    for field in (
        "open",
        "kafka",
        "bootstrapServers",
        "tlsSecret",
        "partitions",
        "topicPrefix",
        "tills",
        "ordersPerMinute",
        "preparers",
        "prepSeconds",
        "cooks",
        "cookSeconds",
        "topicDeletionPolicy",
    ):
        assert field in out, field
    for path in (
        "fishshop.spec.open",
        "fishshop.spec.kafka.tlsSecret",
        "fishshop.spec.partitions",
        "fishshop.spec.preparers.prepSeconds.min",
        "fishshop.spec.topicDeletionPolicy",
    ):
        described = cluster.kubectl("explain", path)
        assert "DESCRIPTION:" in described
        assert len(described.split("DESCRIPTION:")[1].strip()) > 20, path


# -- names that would escape the namespace or break the workloads ----------------------

SHOP_NAME = "a shop's name must start with a lowercase letter and hold only lowercase letters"
NAME_LENGTH = "a shop's name must be at most 47 characters"
TLS_NAME = "tlsSecret must be the name of a Secret in the shop's own namespace"
PORT = "bootstrapServers must be host:port with a port from 1 to 65535"


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("kafka.tlsSecret", "../../other-ns/secrets/x", TLS_NAME),
        ("kafka.tlsSecret", "kafka-tls/../x", TLS_NAME),
        ("kafka.tlsSecret", "Kafka-TLS", TLS_NAME),
        ("kafka.tlsSecret", "kafka-tls?watch=true", TLS_NAME),
        ("kafka.tlsSecret", "a" * 254, "may not be more than 253"),
        ("kafka.bootstrapServers", "kafka:70000", PORT),
        ("kafka.bootstrapServers", "kafka:65536", PORT),
        ("kafka.bootstrapServers", "kafka:0", PORT),
        ("kafka.bootstrapServers", "kafka:9092,other:99999", PORT),
        ("kafka.bootstrapServers", "host:6:5536", PORT),
        ("preparers.prepSeconds", {"min": 0.5, "max": 61}, "prepSeconds.max must be at most 60 seconds"),
        ("cooks.cookSeconds", {"min": 3, "max": 3600}, "cookSeconds.max must be at most 60 seconds"),
    ],
)  # fmt: skip
def test_references_that_escape_or_break_are_refused(
    cluster: Cluster, namespace: str, path: str, value: Any, message: str
) -> None:
    out = _apply(cluster, namespace, _with(path, value))
    assert message in out, out
    assert "created" not in out


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("harbour.pier", SHOP_NAME),
        ("1harbour", SHOP_NAME),
        ("harbour.pier.docks", SHOP_NAME),
        ("h" * 48, NAME_LENGTH),
        ("h" * 63, NAME_LENGTH),
    ],
)
def test_shop_names_that_break_workloads_are_refused(
    cluster: Cluster, namespace: str, name: str, message: str
) -> None:
    shop = sample_shop(BOOTSTRAP)
    shop["metadata"]["name"] = name
    out = _apply(cluster, namespace, shop)
    assert message in out, out
    assert "created" not in out


def test_names_and_references_at_their_limits_are_accepted(
    cluster: Cluster, namespace: str
) -> None:
    shop = sample_shop(
        "kafka-0.kafka.svc:65535,[fe80::1]:1",
        preparers={"prepSeconds": {"min": 60, "max": 60}},
        cooks={"cookSeconds": {"min": 0, "max": 60}},
    )
    shop["metadata"]["name"] = "h" * 47
    shop["spec"]["kafka"]["tlsSecret"] = "kafka.tls-certs"
    out = _apply(cluster, namespace, shop)
    assert "created" in out, out
