"""The API server itself refuses invalid FishShops, with messages a person understands."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest

from tests.support.cluster import Cluster, ClusterError
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
    copy: dict[str, Any] = json.loads(json.dumps(shop))
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
        "fishshop.spec.kafka.tls",
        "fishshop.spec.kafka.caSecret",
        "fishshop.spec.kafka.sasl",
        "fishshop.spec.kafka.sasl.mechanism",
        "fishshop.spec.kafka.sasl.secret",
        "fishshop.spec.kafka.sasl.username",
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
SASL_NAME = "sasl.secret must be the name of a Secret in the shop's own namespace"
SASL = {"mechanism": "SCRAM-SHA-512", "secret": "kafka-user"}


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("kafka.tlsSecret", "../../other-ns/secrets/x", TLS_NAME),
        ("kafka.tlsSecret", "kafka-tls/../x", TLS_NAME),
        ("kafka.tlsSecret", "Kafka-TLS", TLS_NAME),
        ("kafka.tlsSecret", "kafka-tls?watch=true", TLS_NAME),
        ("kafka.tlsSecret", "a" * 254, "may not be more than 253"),
        ("kafka.caSecret", "cluster-ca-cert", "caSecret goes with a tlsSecret"),
        ("kafka.caSecret", "../ca", "caSecret must be the name of a Secret"),
        ("kafka.sasl", {**SASL, "mechanism": "GSSAPI"}, 'Unsupported value: "GSSAPI"'),
        ("kafka.sasl", {**SASL, "mechanism": "scram-sha-512"}, "PLAIN"),
        ("kafka.sasl", {**SASL, "secret": "../secrets/x"}, SASL_NAME),
        ("kafka.sasl", {**SASL, "secret": "Kafka_User"}, SASL_NAME),
        ("kafka.sasl", {"mechanism": "PLAIN"}, "spec.kafka.sasl.secret: Required value"),
        ("kafka.sasl", {**SASL, "username": "two words"}, "sasl.username must be one word"),
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
    shop["spec"]["kafka"]["sasl"] = {"mechanism": "PLAIN", "secret": "s" * 253, "username": "u"}
    out = _apply(cluster, namespace, shop)
    assert "created" in out, out


# -- spec.hotCabinet -------------------------------------------------------------------

REDIS_URL = "redisUrl must be redis://HOST:PORT, or rediss://HOST:PORT for TLS"
CREDENTIALS = "credentialsSecret must be the name of a Secret in the shop's own namespace"
THRESHOLD = "must not be above {}Batch: one batch must bring the cabinet back up to the threshold"


def _cabinet(**fields: Any) -> dict[str, Any]:
    shop = sample_shop(BOOTSTRAP)
    shop["spec"]["hotCabinet"] = {"redisUrl": "redis://redis.redis.svc:6379", **fields}
    return shop


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"redisUrl": KeyError}, "spec.hotCabinet.redisUrl: Required value"),
        ({"redisUrl": ""}, "should be at least 1 chars long"),
        ({"redisUrl": "redis.redis.svc:6379"}, REDIS_URL),
        ({"redisUrl": "redis://redis"}, REDIS_URL),
        ({"redisUrl": "redis://redis:0"}, REDIS_URL),
        ({"redisUrl": "redis://redis:65536"}, REDIS_URL),
        ({"redisUrl": "http://redis:6379"}, REDIS_URL),
        ({"redisUrl": "redis://:s3cret@redis:6379"}, REDIS_URL),
        ({"redisUrl": "redis://redis:6379/zero"}, REDIS_URL),
        ({"credentialsSecret": "../../other-ns/secrets/x"}, CREDENTIALS),
        ({"credentialsSecret": "Redis-Auth"}, CREDENTIALS),
        ({"credentialsSecret": "a" * 254}, "may not be more than 253"),
        ({"codBatch": 0}, "spec.hotCabinet.codBatch in body should be greater than or equal to 1"),
        ({"chipsBatch": 1001}, "spec.hotCabinet.chipsBatch in body should be less than or equal to 1000"),
        ({"codThreshold": -1}, "spec.hotCabinet.codThreshold in body should be greater than or equal to 0"),
        ({"codBatch": "ten"}, "spec.hotCabinet.codBatch in body must be of type integer"),
        ({"codBatch": 5, "codThreshold": 6}, "hotCabinet.codThreshold " + THRESHOLD.format("cod")),
        ({"chipsBatch": 5}, "hotCabinet.chipsThreshold " + THRESHOLD.format("chips")),  # default 8
        ({"colour": "red"}, 'unknown field "spec.hotCabinet.colour"'),
    ],
)  # fmt: skip
def test_invalid_hot_cabinets_are_refused_with_a_readable_message(
    cluster: Cluster, namespace: str, fields: dict[str, Any], message: str
) -> None:
    shop = _cabinet(**{k: v for k, v in fields.items() if v is not KeyError})
    for key in [k for k, v in fields.items() if v is KeyError]:
        del shop["spec"]["hotCabinet"][key]
    out = _apply(cluster, namespace, shop)
    assert message in out, out
    assert "created" not in out


def test_a_hot_cabinet_gets_the_workers_defaults(cluster: Cluster, namespace: str) -> None:
    assert "created" in _apply(cluster, namespace, _cabinet())
    stored = json.loads(cluster.kubectl("get", "shop", "harbour", "-n", namespace, "-o", "json"))
    assert stored["spec"]["hotCabinet"] == {
        "redisUrl": "redis://redis.redis.svc:6379",
        "codBatch": 10,
        "chipsBatch": 20,
        "codThreshold": 4,
        "chipsThreshold": 8,
    }


def test_a_hot_cabinet_at_its_limits_is_accepted(cluster: Cluster, namespace: str) -> None:
    shop = _cabinet(
        redisUrl="rediss://[fe80::1]:65535/15",
        credentialsSecret="redis.auth-" + "a" * 242,
        codBatch=1000,
        chipsBatch=1,
        codThreshold=1000,
        chipsThreshold=0,
    )
    out = _apply(cluster, namespace, shop)
    assert "created" in out, out
    # And it can be switched off again.
    del shop["spec"]["hotCabinet"]
    assert "configured" in _apply(cluster, namespace, shop)


def _explain(cluster: Cluster, path: str) -> str:
    """``kubectl explain``, once the API server publishes the CRD's schema (a moment
    after the CRD is established, when this test runs first)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return cluster.kubectl("explain", path)
        except ClusterError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_kubectl_explain_documents_the_hot_cabinet(cluster: Cluster) -> None:
    out = _explain(cluster, "fishshop.spec.hotCabinet")
    assert "Redis" in out.split("FIELDS:")[0]
    for field in (
        "redisUrl",
        "credentialsSecret",
        "codBatch",
        "chipsBatch",
        "codThreshold",
        "chipsThreshold",
    ):
        assert field in out, field
        described = _explain(cluster, f"fishshop.spec.hotCabinet.{field}")
        assert len(described.split("DESCRIPTION:")[1].strip()) > 20, field
    assert re.search(r"redisUrl\s+<string>\s+-required-", out), out


# -- spec.preparers.autoscale and spec.cooks.autoscale -----------------------------------

SCALE_REFUSED = "spec.preparers.replicas cannot be changed while spec.preparers.autoscale is on"


def _autoscaled(**roles: dict[str, Any]) -> dict[str, Any]:
    shop = sample_shop(BOOTSTRAP)
    for section, autoscale in roles.items():
        shop["spec"][section]["autoscale"] = autoscale
    return shop


@pytest.mark.parametrize(
    ("roles", "message"),
    [
        ({"preparers": {"minReplicas": 4, "maxReplicas": 2}}, "preparers.autoscale.minReplicas must not be above maxReplicas"),
        ({"cooks": {"minReplicas": 3, "maxReplicas": 2}}, "cooks.autoscale.minReplicas must not be above maxReplicas"),
        ({"preparers": {"minReplicas": 1}}, "spec.preparers.autoscale.maxReplicas: Required value"),
        ({"preparers": {"maxReplicas": 0}}, "spec.preparers.autoscale.maxReplicas in body should be greater than or equal to 1"),
        ({"preparers": {"maxReplicas": 101}}, "spec.preparers.autoscale.maxReplicas in body should be less than or equal to 100"),
        ({"preparers": {"maxReplicas": 3, "minReplicas": -1}}, "spec.preparers.autoscale.minReplicas in body should be greater than or equal to 0"),
        ({"cooks": {"maxReplicas": 3, "minReplicas": 0}}, "spec.cooks.autoscale.minReplicas in body should be greater than or equal to 1"),
        ({"preparers": {"maxReplicas": 3, "ordersPerPreparer": 0}}, "spec.preparers.autoscale.ordersPerPreparer in body should be greater than or equal to 1"),
        ({"cooks": {"maxReplicas": 3, "ordersPerCook": 0}}, "spec.cooks.autoscale.ordersPerCook in body should be greater than or equal to 1"),
        ({"preparers": {"maxReplicas": 3, "stabilizationWindowSeconds": 3601}}, "should be less than or equal to 3600"),
        ({"preparers": {"maxReplicas": 3, "ordersPerCook": 5}}, 'unknown field "spec.preparers.autoscale.ordersPerCook"'),
    ],
)  # fmt: skip
def test_invalid_autoscales_are_refused_with_a_readable_message(
    cluster: Cluster, namespace: str, roles: dict[str, dict[str, Any]], message: str
) -> None:
    out = _apply(cluster, namespace, _autoscaled(**roles))
    assert message in out, out
    assert "created" not in out


def test_cooks_that_autoscale_keep_plaice_on_the_menu(cluster: Cluster, namespace: str) -> None:
    shop = _autoscaled(cooks={"maxReplicas": 2})
    shop["spec"]["cooks"]["replicas"] = 0
    out = _apply(cluster, namespace, shop)
    assert "spec.cooks.autoscale needs spec.cooks.replicas of at least 1" in out, out


def test_an_autoscale_gets_its_defaults(cluster: Cluster, namespace: str) -> None:
    shop = _autoscaled(preparers={"maxReplicas": 4}, cooks={"maxReplicas": 2})
    assert "created" in _apply(cluster, namespace, shop)
    stored = json.loads(cluster.kubectl("get", "shop", "harbour", "-n", namespace, "-o", "json"))
    assert stored["spec"]["preparers"]["autoscale"] == {
        "minReplicas": 1,
        "maxReplicas": 4,
        "ordersPerPreparer": 10,
        "stabilizationWindowSeconds": 60,
    }
    assert stored["spec"]["cooks"]["autoscale"] == {
        "minReplicas": 1,
        "maxReplicas": 2,
        "ordersPerCook": 5,
        "stabilizationWindowSeconds": 60,
    }


def _scale(cluster: Cluster, namespace: str, replicas: int) -> str:
    return cluster.kubectl(
        "scale", "-n", namespace, "fishshop/harbour", f"--replicas={replicas}", check=False
    )


def _replicas(cluster: Cluster, namespace: str) -> int:
    stored = json.loads(cluster.kubectl("get", "shop", "harbour", "-n", namespace, "-o", "json"))
    return int(stored["spec"]["preparers"]["replicas"])


def test_kubectl_scale_is_refused_while_autoscale_is_on_and_works_when_off(
    cluster: Cluster, namespace: str
) -> None:
    shop = sample_shop(BOOTSTRAP)
    assert "created" in _apply(cluster, namespace, shop)
    # Off: kubectl scale (what an HPA does, through the scale subresource) drives replicas.
    assert "scaled" in _scale(cluster, namespace, 4)
    assert _replicas(cluster, namespace) == 4

    autoscaled = json.loads(json.dumps(shop))
    autoscaled["spec"]["preparers"].update(replicas=4, autoscale={"maxReplicas": 3})
    assert "configured" in _apply(cluster, namespace, autoscaled)
    out = _scale(cluster, namespace, 1)
    assert SCALE_REFUSED in out, out
    assert "remove spec.preparers.autoscale to scale by hand" in out
    assert _replicas(cluster, namespace) == 4
    # An apply that changes replicas is refused the same way; one that keeps them is not.
    changed = json.loads(json.dumps(autoscaled))
    changed["spec"]["preparers"]["replicas"] = 2
    assert SCALE_REFUSED in _apply(cluster, namespace, changed)
    autoscaled["spec"]["preparers"]["autoscale"]["maxReplicas"] = 5
    assert "configured" in _apply(cluster, namespace, autoscaled)

    # Turning autoscale off may set replicas in the same change; then scale works again.
    del changed["spec"]["preparers"]["autoscale"]
    assert "configured" in _apply(cluster, namespace, changed)
    assert _replicas(cluster, namespace) == 2
    assert "scaled" in _scale(cluster, namespace, 3)
    assert _replicas(cluster, namespace) == 3


def test_kubectl_explain_documents_autoscale(cluster: Cluster) -> None:
    for role, per in (("preparers", "ordersPerPreparer"), ("cooks", "ordersPerCook")):
        out = _explain(cluster, f"fishshop.spec.{role}.autoscale")
        assert "queue" in out.split("FIELDS:")[0]
        for field in ("minReplicas", "maxReplicas", per, "stabilizationWindowSeconds"):
            assert field in out, field
        assert re.search(r"maxReplicas\s+<integer>\s+-required-", out), out
