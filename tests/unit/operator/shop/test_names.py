"""Unit tests for fishshop_operator.shop.names and their use in read_resource: every name
that reaches a request path, an object name or a Kafka connection is checked again by
the operator, with the CRD's words, before anything is made."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from fishshop_operator.shop.names import (
    BOOTSTRAP_MESSAGE,
    CREDENTIALS_NAME_MESSAGE,
    MAX_SHOP_NAME,
    REDIS_URL_MESSAGE,
    SHOP_NAME_LENGTH_MESSAGE,
    SHOP_NAME_MESSAGE,
    TLS_NAME_MESSAGE,
)
from fishshop_operator.shop.resource import read_resource
from fishshop_operator.shop.workloads import shop_workloads
from fishshop_workers.shop.spec import ShopSpecError
from tests.support.operator_bodies import shop_body

CRD = Path(__file__).parents[4] / "manifests" / "crd" / "fishshops.fishshop.dev.yaml"


def _tls(secret: Any) -> dict[str, Any]:
    return shop_body(kafka={"bootstrapServers": "k:9092", "tlsSecret": secret})


@pytest.mark.parametrize(
    "secret",
    [
        "../../other-ns/secrets/x",
        "..",
        ".",
        "a/b",
        "kafka-tls/",
        "Kafka-TLS",
        "-tls",
        "tls-",
        "tls..certs",
        "tls%2Fx",
        "tls?watch=1",
        "tls#x",
        " tls",
        "a" * 254,
    ],
)
def test_a_tls_secret_that_is_not_one_name_is_refused(secret: str) -> None:
    with pytest.raises(ShopSpecError, match=r"spec\.kafka\.tlsSecret") as refused:
        read_resource(_tls(secret))
    assert TLS_NAME_MESSAGE in str(refused.value)


@pytest.mark.parametrize("secret", ["kafka-tls", "kafka.tls", "a", "0certs", "a" * 253])
def test_secret_names_are_accepted(secret: str) -> None:
    assert read_resource(_tls(secret)).tls_secret == secret


def test_a_tls_secret_that_is_not_text_is_refused() -> None:
    with pytest.raises(ShopSpecError, match="tlsSecret must be a Secret's name"):
        read_resource(_tls(["a"]))


@pytest.mark.parametrize(
    "name",
    ["harbour.pier", "Harbour", "1harbour", "-harbour", "harbour-", "har_bour", "a/b", ".."],
)
def test_shop_names_that_break_workloads_are_refused(name: str) -> None:
    with pytest.raises(ShopSpecError) as refused:
        read_resource(shop_body(name))
    assert SHOP_NAME_MESSAGE in str(refused.value)


def test_shop_names_longer_than_the_tills_labels_allow_are_refused() -> None:
    with pytest.raises(ShopSpecError) as refused:
        read_resource(shop_body("a" * (MAX_SHOP_NAME + 1)))
    assert SHOP_NAME_LENGTH_MESSAGE in str(refused.value)


def test_the_longest_name_fits_every_workload_label() -> None:
    """The StatefulSet's pods carry controller-revision-hash: <name>-<hash of <= 10>."""
    shop = read_resource(shop_body("a" * MAX_SHOP_NAME))
    for manifest in shop_workloads(shop, "image"):
        name = manifest["metadata"]["name"]
        assert len(name) <= 63
        if manifest["kind"] == "StatefulSet":
            assert len(f"{name}-{'h' * 10}") <= 63
        for value in manifest["metadata"]["labels"].values():
            assert len(value) <= 63


@pytest.mark.parametrize("name", ["a", "harbour", "pier-2", "h0"])
def test_good_shop_names(name: str) -> None:
    assert read_resource(shop_body(name)).name == name


@pytest.mark.parametrize("namespace", ["../x", "Seaside", "a/b", "a" * 64])
def test_a_namespace_that_is_not_one_is_refused(namespace: str) -> None:
    with pytest.raises(ShopSpecError, match=r"metadata\.namespace"):
        read_resource(shop_body(namespace=namespace))


@pytest.mark.parametrize(
    "servers",
    [
        "kafka",
        "kafka:",
        "kafka:65536",
        "kafka:70000",
        "kafka:99999",
        "kafka:0",
        "kafka:09092",
        "kafka:9092,",
        "kafka:9092,other:123456",
        "kafka:9092/path",
        "host:6:5536",
        "[::1:9092",
        "",
    ],
)
def test_bootstrap_servers_out_of_shape_or_range_are_refused(servers: str) -> None:
    with pytest.raises(ShopSpecError) as refused:
        read_resource(shop_body(kafka={"bootstrapServers": servers}))
    assert BOOTSTRAP_MESSAGE in str(refused.value)


@pytest.mark.parametrize(
    "servers",
    [
        "kafka.kafka.svc:9092",
        "k:1",
        "k:65535",
        "10.0.0.1:9092,10.0.0.2:9093",
        "[::1]:9092",
        "[fe80::1]:9092,b-1.example.com:9094",
    ],
)
def test_good_bootstrap_servers(servers: str) -> None:
    assert read_resource(shop_body(kafka={"bootstrapServers": servers})).spec.bootstrap_servers


@pytest.mark.parametrize("prefix", ["no spaces", "a/b", "x" * 201])
def test_a_topic_prefix_kafka_cannot_name_is_refused(prefix: str) -> None:
    with pytest.raises(ShopSpecError, match=r"spec\.topicPrefix"):
        read_resource(shop_body(topicPrefix=prefix))


@pytest.mark.parametrize(
    ("spec", "path"),
    [
        ({"preparers": {"prepSeconds": {"min": 0.5, "max": 61}}}, "spec.preparers.prepSeconds"),
        ({"preparers": {"prepSeconds": {"min": 61, "max": 62}}}, "spec.preparers.prepSeconds"),
        ({"cooks": {"cookSeconds": {"min": 3, "max": 3600}}}, "spec.cooks.cookSeconds"),
    ],
)
def test_work_longer_than_a_minute_is_refused(spec: dict[str, Any], path: str) -> None:
    """One order's work happens inside a Kafka transaction and between two polls."""
    with pytest.raises(ShopSpecError, match=f"{path} must be at most 60 seconds"):
        read_resource(shop_body(**spec))


def test_a_minute_of_work_is_allowed() -> None:
    shop = read_resource(shop_body(cooks={"cookSeconds": {"min": 60, "max": 60}}))
    assert shop.spec.cooks.cook_max == 60


# -- the CRD says the same -------------------------------------------------------------


def _crd_rules() -> list[dict[str, Any]]:
    """Every x-kubernetes-validations rule in the CRD, wherever it sits."""
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            found.extend(node.get("x-kubernetes-validations", []))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(yaml.safe_load(CRD.read_text()))
    return found


@pytest.mark.parametrize(
    "message",
    [
        SHOP_NAME_MESSAGE,
        SHOP_NAME_LENGTH_MESSAGE,
        TLS_NAME_MESSAGE,
        BOOTSTRAP_MESSAGE,
        CREDENTIALS_NAME_MESSAGE,
        REDIS_URL_MESSAGE,
    ],
)
def test_the_crd_and_the_operator_refuse_with_the_same_words(message: str) -> None:
    assert message in [rule["message"] for rule in _crd_rules()]


def test_the_crd_checks_with_the_operators_patterns() -> None:
    from fishshop_operator.shop import names

    rules = " ".join(rule["rule"] for rule in _crd_rules())
    assert f"^{names._SERVER}(,{names._SERVER})*$" in rules
    assert f"^{names.DNS1123_SUBDOMAIN.pattern}$" in rules
    assert f"^{names.DNS1035_LABEL.pattern}$" in rules
    assert f"^{names.REDIS_URL.pattern}$" in rules
    assert f"self.metadata.name.size() <= {MAX_SHOP_NAME}" in rules
