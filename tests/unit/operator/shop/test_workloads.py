"""Unit tests for fishshop_operator.shop.workloads: the objects that run a shop's workers."""

from __future__ import annotations

import os
from typing import Any

import pytest

from fishshop.main import build_parser
from fishshop_operator.shop.resource import ShopResource
from fishshop_operator.shop.workloads import (
    CERTS_DIR,
    METRICS_PORT,
    REDIS_DIR,
    ROLES,
    PodKafka,
    shop_workloads,
)
from fishshop_workers.shop.spec import ShopSpecError
from tests.support.operator_bodies import shop_resource

IMAGE = "registry.example/fishshop:1.2.3"
SHOP_LABEL = "fishshop.dev/shop"
ROLE_LABEL = "app.kubernetes.io/component"
TLS = {"kafka": {"bootstrapServers": "kafka:9093", "tlsSecret": "kafka-certs"}}


def _workloads(**spec: Any) -> dict[tuple[str, str], dict[str, Any]]:
    """The shop's objects by (kind, role)."""
    return {
        (m["kind"], m["metadata"]["labels"][ROLE_LABEL]): m
        for m in shop_workloads(shop_resource(**spec), IMAGE)
    }


def _workload(role: str, **spec: Any) -> dict[str, Any]:
    kind = "StatefulSet" if role == "till" else "Deployment"
    return _workloads(**spec)[(kind, role)]


def _container(role: str, **spec: Any) -> dict[str, Any]:
    containers = _workload(role, **spec)["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    container: dict[str, Any] = containers[0]
    return container


def _env(role: str, **spec: Any) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in _container(role, **spec)["env"]}


def _values(role: str, **spec: Any) -> dict[str, str]:
    return {name: item["value"] for name, item in _env(role, **spec).items() if "value" in item}


def test_objects_in_the_order_to_apply_them() -> None:
    manifests = shop_workloads(shop_resource(), IMAGE)
    assert [(m["apiVersion"], m["kind"], m["metadata"]["name"]) for m in manifests] == [
        ("v1", "Service", "harbour-till"),
        ("apps/v1", "StatefulSet", "harbour-till"),
        ("apps/v1", "Deployment", "harbour-preparer"),
        ("apps/v1", "Deployment", "harbour-cook"),
    ]


@pytest.mark.parametrize(("name", "namespace"), [("harbour", "seaside"), ("pier", "docks")])
def test_objects_live_in_the_shop_namespace_under_its_name(name: str, namespace: str) -> None:
    for manifest in shop_workloads(shop_resource(name, namespace), IMAGE):
        assert manifest["metadata"]["namespace"] == namespace
        assert manifest["metadata"]["name"].startswith(f"{name}-")


@pytest.mark.parametrize(("tills", "preparers", "cooks"), [(3, 2, 1), (5, 0, 0), (0, 7, 2)])
def test_replicas_follow_the_spec(tills: int, preparers: int, cooks: int) -> None:
    spec = {
        "tills": {"replicas": tills},
        "preparers": {"replicas": preparers},
        "cooks": {"replicas": cooks},
    }
    assert _workload("till", **spec)["spec"]["replicas"] == tills
    assert _workload("preparer", **spec)["spec"]["replicas"] == preparers
    assert _workload("cook", **spec)["spec"]["replicas"] == cooks


def test_a_closed_shop_has_no_tills_but_keeps_preparers_and_cooks() -> None:
    assert _workload("till", open=False)["spec"]["replicas"] == 0
    assert _workload("preparer", open=False)["spec"]["replicas"] == 2
    assert _workload("cook", open=False)["spec"]["replicas"] == 1


def test_tills_are_a_statefulset_behind_a_headless_service() -> None:
    objects = _workloads()
    tills, service = objects[("StatefulSet", "till")], objects[("Service", "till")]
    assert tills["spec"]["serviceName"] == service["metadata"]["name"]
    assert tills["spec"]["podManagementPolicy"] == "Parallel"
    assert service["spec"]["clusterIP"] == "None"
    assert service["spec"]["selector"] == tills["spec"]["selector"]["matchLabels"]
    assert service["spec"]["ports"] == [
        {"name": "metrics", "port": METRICS_PORT, "targetPort": "metrics"}
    ]


@pytest.mark.parametrize("role", ["preparer", "cook"])
def test_deployments_roll_without_losing_a_worker(role: str) -> None:
    strategy = _workload(role)["spec"]["strategy"]
    assert strategy == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }


def test_every_object_is_owned_by_the_shop() -> None:
    shop = shop_resource()
    for manifest in shop_workloads(shop, IMAGE):
        [owner] = manifest["metadata"]["ownerReferences"]
        assert owner == shop.owner_reference()
        assert owner["uid"] == "uid-seaside-harbour"
        assert owner["controller"] is True


@pytest.mark.parametrize("role", ROLES)
def test_labels_on_objects_and_pods(role: str) -> None:
    expected = {
        "app.kubernetes.io/name": "fishshop",
        "app.kubernetes.io/instance": "harbour",
        "app.kubernetes.io/managed-by": "fishshop-operator",
        "app.kubernetes.io/part-of": "fishshop",
        ROLE_LABEL: role,
        SHOP_LABEL: "harbour",
    }
    workload = _workload(role)
    assert workload["metadata"]["labels"] == expected
    assert workload["spec"]["template"]["metadata"]["labels"] == expected


@pytest.mark.parametrize("role", ROLES)
def test_selector_picks_the_shop_and_role_from_the_pod_labels(role: str) -> None:
    workload = _workload(role)
    selector = workload["spec"]["selector"]["matchLabels"]
    pod_labels = workload["spec"]["template"]["metadata"]["labels"]
    assert selector == {SHOP_LABEL: "harbour", ROLE_LABEL: role}
    assert selector.items() <= pod_labels.items()


def _pods_and_selectors(*shops: ShopResource) -> list[tuple[dict[str, str], dict[str, str]]]:
    return [
        (m["spec"]["selector"]["matchLabels"], m["spec"]["template"]["metadata"]["labels"])
        for shop in shops
        for m in shop_workloads(shop, IMAGE)
        if m["kind"] != "Service"
    ]


def test_no_workload_selects_another_workloads_pods() -> None:
    """Not across roles, nor across two shops in one namespace."""
    pairs = _pods_and_selectors(shop_resource("harbour"), shop_resource("pier"))
    assert len(pairs) == 6
    for i, (selector, _) in enumerate(pairs):
        for j, (_, pod_labels) in enumerate(pairs):
            assert (selector.items() <= pod_labels.items()) is (i == j)


@pytest.mark.parametrize("role", ROLES)
def test_container_runs_the_role_with_the_image(role: str) -> None:
    container = _container(role)
    assert container["name"] == role
    assert container["image"] == IMAGE
    assert container["command"] == ["fishshop", role]


@pytest.mark.parametrize("role", ROLES)
def test_common_environment(role: str) -> None:
    values = _values(role, topicPrefix="custom.harbour")
    assert values["FISHSHOP_SHOP"] == "harbour"
    assert values["FISHSHOP_NAMESPACE"] == "seaside"
    assert values["FISHSHOP_TOPIC_PREFIX"] == "custom.harbour"
    assert values["FISHSHOP_BOOTSTRAP_SERVERS"] == "kafka.kafka.svc:9092"
    assert values["FISHSHOP_METRICS_PORT"] == str(METRICS_PORT)


@pytest.mark.parametrize("role", ROLES)
def test_default_topic_prefix_is_passed_on(role: str) -> None:
    assert _values(role)["FISHSHOP_TOPIC_PREFIX"] == "fishshop.seaside.harbour"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("variable", "path"),
    [("FISHSHOP_WORKER_NAME", "metadata.name"), ("FISHSHOP_METRICS_HOST", "status.podIP")],
)
def test_pod_name_and_address_come_from_the_pod(role: str, variable: str, path: str) -> None:
    item = _env(role)[variable]
    assert "value" not in item
    assert item["valueFrom"] == {"fieldRef": {"apiVersion": "v1", "fieldPath": path}}


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("till", {"FISHSHOP_ORDERS_PER_MINUTE": "120", "FISHSHOP_PLAICE": "true"}),
        ("preparer", {"FISHSHOP_PREP_MIN": "0.25", "FISHSHOP_PREP_MAX": "2"}),
        ("cook", {"FISHSHOP_COOK_MIN": "1.5", "FISHSHOP_COOK_MAX": "4"}),
    ],
)
def test_role_environment(role: str, expected: dict[str, str]) -> None:
    values = _values(
        role,
        tills={"ordersPerMinute": 120},
        preparers={"prepSeconds": {"min": 0.25, "max": 2}},
        cooks={"cookSeconds": {"min": 1.5, "max": 4}},
    )
    assert expected.items() <= values.items()
    others = {"FISHSHOP_ORDERS_PER_MINUTE", "FISHSHOP_PREP_MIN", "FISHSHOP_COOK_MIN"}
    assert others & values.keys() == {name for name in others if name in expected}


@pytest.mark.parametrize(("cooks", "plaice"), [(1, "true"), (3, "true"), (0, "false")])
def test_plaice_only_while_there_is_a_cook(cooks: int, plaice: str) -> None:
    assert _values("till", cooks={"replicas": cooks})["FISHSHOP_PLAICE"] == plaice


@pytest.mark.parametrize("role", ROLES)
def test_environment_names_are_unique(role: str) -> None:
    names = [item["name"] for item in _container(role, **TLS)["env"]]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("role", ROLES)
def test_tls_secret_is_mounted_and_named_to_the_worker(role: str) -> None:
    pod = _workload(role, **TLS)["spec"]["template"]["spec"]
    container = pod["containers"][0]
    [volume] = [v for v in pod["volumes"] if "secret" in v]
    assert volume["secret"]["secretName"] == "kafka-certs"
    [mount] = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
    assert mount["mountPath"] == CERTS_DIR
    assert mount["readOnly"] is True
    assert _values(role, **TLS)["FISHSHOP_CERTS_DIR"] == CERTS_DIR


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("secret", ["", None])
def test_no_tls_without_a_secret(role: str, secret: str | None) -> None:
    kafka = {"kafka": {"bootstrapServers": "kafka:9092", "tlsSecret": secret}}
    pod = _workload(role, **kafka)["spec"]["template"]["spec"]
    assert not [v for v in pod["volumes"] if "secret" in v]
    assert [m["mountPath"] for m in pod["containers"][0]["volumeMounts"]] == ["/tmp"]
    assert "FISHSHOP_CERTS_DIR" not in _env(role, **kafka)


@pytest.mark.parametrize("role", ROLES)
def test_probes_use_the_named_metrics_port(role: str) -> None:
    container = _container(role)
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {"metrics": METRICS_PORT}
    liveness, readiness = container["livenessProbe"], container["readinessProbe"]
    assert liveness["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert readiness["httpGet"] == {"path": "/readyz", "port": "metrics"}


@pytest.mark.parametrize("role", ROLES)
def test_prometheus_scrapes_the_metrics_port(role: str) -> None:
    annotations = _workload(role)["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(METRICS_PORT)
    assert annotations["prometheus.io/path"] == "/metrics"


@pytest.mark.parametrize("role", ROLES)
def test_container_is_locked_down(role: str) -> None:
    context = _container(role)["securityContext"]
    assert context["runAsNonRoot"] is True
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}


@pytest.mark.parametrize("role", ROLES)
def test_pod_is_locked_down(role: str) -> None:
    pod = _workload(role)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False


@pytest.mark.parametrize("role", ROLES)
def test_read_only_root_still_has_a_writable_tmp(role: str) -> None:
    pod = _workload(role)["spec"]["template"]["spec"]
    [mount] = [m for m in pod["containers"][0]["volumeMounts"] if m["mountPath"] == "/tmp"]
    [volume] = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert "emptyDir" in volume
    assert not mount.get("readOnly", False)


@pytest.mark.parametrize("role", ROLES)
def test_resource_requests(role: str) -> None:
    resources = _container(role)["resources"]
    assert set(resources["requests"]) == {"cpu", "memory"}
    assert all(resources["requests"].values())
    assert resources["limits"]["memory"]


# -- the environment means to a worker what the spec says ------------------------------


def _parsed(role: str, monkeypatch: pytest.MonkeyPatch, **spec: Any) -> Any:
    """The worker's options, parsed as ``fishshop <role>`` in the pod would."""
    for name in list(os.environ):
        if name.startswith("FISHSHOP_"):
            monkeypatch.delenv(name)
    container = _container(role, **spec)
    for item in container["env"]:
        monkeypatch.setenv(item["name"], item.get("value", "from-the-pod"))
    return build_parser().parse_args(container["command"][1:])


@pytest.mark.parametrize("role", ROLES)
def test_every_variable_is_an_option_of_the_role(
    role: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = _parsed(role, monkeypatch, **TLS)
    for item in _container(role, **TLS)["env"]:
        assert hasattr(args, item["name"].removeprefix("FISHSHOP_").lower()), item["name"]


def test_worker_reads_the_common_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    args = _parsed("preparer", monkeypatch, **TLS)
    assert (args.shop, args.namespace) == ("harbour", "seaside")
    assert args.topic_prefix == "fishshop.seaside.harbour"
    assert args.bootstrap_servers == "kafka:9093"
    assert str(args.certs_dir) == CERTS_DIR
    assert args.metrics_port == METRICS_PORT
    assert (args.worker_name, args.metrics_host) == ("from-the-pod", "from-the-pod")


@pytest.mark.parametrize(("cooks", "plaice"), [(1, True), (0, False)])
@pytest.mark.parametrize("per_minute", [0, 40, 60000])
def test_till_reads_its_spec(
    monkeypatch: pytest.MonkeyPatch, cooks: int, plaice: bool, per_minute: float
) -> None:
    spec = {"cooks": {"replicas": cooks}, "tills": {"ordersPerMinute": per_minute}}
    args = _parsed("till", monkeypatch, **spec)
    assert args.plaice is plaice
    assert args.orders_per_minute == per_minute


@pytest.mark.parametrize(
    ("low", "high"),
    [
        (0, 0),
        (0.5, 1.0),
        (0.25, 60),
        (0.1234567, 59.9876543),
    ],
)
def test_preparer_and_cook_read_their_timings(
    monkeypatch: pytest.MonkeyPatch, low: float, high: float
) -> None:
    seconds = {"min": low, "max": high}
    spec = {"preparers": {"prepSeconds": seconds}, "cooks": {"cookSeconds": seconds}}
    preparer = _parsed("preparer", monkeypatch, **spec)
    assert (preparer.prep_min, preparer.prep_max) == (low, high)
    cook = _parsed("cook", monkeypatch, **spec)
    assert (cook.cook_min, cook.cook_max) == (low, high)


# -- the hot cabinet: preparers and cooks reach Redis, tills never ----------------------

REDIS = "redis://redis.redis.svc:6379/0"
CABINET = {"hotCabinet": {"redisUrl": REDIS}}
WITH_SECRET = {"hotCabinet": {"redisUrl": "rediss://redis:6380", "credentialsSecret": "redis-auth"}}
CABINET_VARIABLES = {
    "FISHSHOP_REDIS_URL",
    "FISHSHOP_REDIS_PASSWORD_FILE",
    "FISHSHOP_REDIS_CA_FILE",
    "FISHSHOP_COD_BATCH",
    "FISHSHOP_CHIPS_BATCH",
    "FISHSHOP_COD_THRESHOLD",
    "FISHSHOP_CHIPS_THRESHOLD",
}


def _pod(role: str, spec: dict[str, Any], redis_ca: bool = False) -> dict[str, Any]:
    kind = "StatefulSet" if role == "till" else "Deployment"
    for manifest in shop_workloads(shop_resource(**spec), IMAGE, redis_ca=redis_ca):
        if manifest["kind"] == kind and manifest["metadata"]["labels"][ROLE_LABEL] == role:
            pod: dict[str, Any] = manifest["spec"]["template"]["spec"]
            return pod
    raise AssertionError(role)


def _pod_env(pod: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in pod["containers"][0]["env"] if "value" in e}


@pytest.mark.parametrize("role", ROLES)
def test_no_cabinet_no_redis(role: str) -> None:
    pod = _pod(role, {})
    assert not CABINET_VARIABLES & set(_pod_env(pod))
    assert [v["name"] for v in pod["volumes"]] == ["tmp"]


def test_tills_get_nothing_of_the_cabinet() -> None:
    plain, cabinet = _pod("till", {}), _pod("till", WITH_SECRET, redis_ca=True)
    assert plain == cabinet


@pytest.mark.parametrize("role", ["preparer", "cook"])
def test_preparers_and_cooks_get_the_redis_url(role: str) -> None:
    env = _pod_env(_pod(role, CABINET))
    assert env["FISHSHOP_REDIS_URL"] == REDIS
    assert "FISHSHOP_REDIS_PASSWORD_FILE" not in env
    assert "FISHSHOP_REDIS_CA_FILE" not in env
    assert [v["name"] for v in _pod(role, CABINET)["volumes"]] == ["tmp"]


def test_only_the_cook_gets_the_batch_rules() -> None:
    spec = {
        "hotCabinet": {
            "redisUrl": REDIS,
            "codBatch": 12,
            "chipsBatch": 30,
            "codThreshold": 0,
            "chipsThreshold": 30,
        }
    }
    cook = _pod_env(_pod("cook", spec))
    assert {k: v for k, v in cook.items() if "BATCH" in k or "THRESHOLD" in k} == {
        "FISHSHOP_COD_BATCH": "12",
        "FISHSHOP_CHIPS_BATCH": "30",
        "FISHSHOP_COD_THRESHOLD": "0",
        "FISHSHOP_CHIPS_THRESHOLD": "30",
    }
    preparer = _pod_env(_pod("preparer", spec))
    assert not [k for k in preparer if "BATCH" in k or "THRESHOLD" in k]


def test_the_cook_gets_the_default_batch_rules() -> None:
    cook = _pod_env(_pod("cook", CABINET))
    assert (cook["FISHSHOP_COD_BATCH"], cook["FISHSHOP_COD_THRESHOLD"]) == ("10", "4")
    assert (cook["FISHSHOP_CHIPS_BATCH"], cook["FISHSHOP_CHIPS_THRESHOLD"]) == ("20", "8")


@pytest.mark.parametrize("role", ["preparer", "cook"])
def test_the_credentials_secret_is_mounted_read_only_and_named_to_the_worker(role: str) -> None:
    pod = _pod(role, WITH_SECRET)
    volume = next(v for v in pod["volumes"] if v["name"] == "redis-credentials")
    assert volume["secret"] == {
        "secretName": "redis-auth",
        "defaultMode": 0o440,
        "items": [{"key": "password", "path": "password"}],  # only what Redis needs
    }
    (mount,) = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == volume["name"]]
    assert mount == {"name": "redis-credentials", "mountPath": REDIS_DIR, "readOnly": True}
    env = _pod_env(pod)
    assert env["FISHSHOP_REDIS_PASSWORD_FILE"] == f"{REDIS_DIR}/password"
    assert "FISHSHOP_REDIS_CA_FILE" not in env  # the Secret was not seen holding one
    # The ACL user, when the Secret has one, is set by Kubernetes from the Secret; a
    # Secret's value is never written into the pod's spec.
    user = next(e for e in pod["containers"][0]["env"] if e["name"] == "FISHSHOP_REDIS_USER")
    assert user == {
        "name": "FISHSHOP_REDIS_USER",
        "valueFrom": {"secretKeyRef": {"name": "redis-auth", "key": "username", "optional": True}},
    }
    assert all("value" not in e for e in pod["containers"][0]["env"] if "redis-auth" in str(e))


@pytest.mark.parametrize("role", ["preparer", "cook"])
def test_a_ca_in_the_secret_reaches_the_workers_of_a_tls_redis(role: str) -> None:
    pod = _pod(role, WITH_SECRET, redis_ca=True)
    volume = next(v for v in pod["volumes"] if v["name"] == "redis-credentials")
    assert volume["secret"]["items"] == [
        {"key": "password", "path": "password"},
        {"key": "ca.pem", "path": "ca.pem"},
    ]
    assert _pod_env(pod)["FISHSHOP_REDIS_CA_FILE"] == f"{REDIS_DIR}/ca.pem"


def test_a_ca_is_never_given_to_a_redis_without_tls() -> None:
    """A worker refuses a CA file for redis://, so the CA stays out of such pods."""
    spec = {"hotCabinet": {"redisUrl": REDIS, "credentialsSecret": "redis-auth"}}
    pod = _pod("cook", spec, redis_ca=True)
    assert "FISHSHOP_REDIS_CA_FILE" not in _pod_env(pod)
    volume = next(v for v in pod["volumes"] if v["name"] == "redis-credentials")
    assert volume["secret"]["items"] == [{"key": "password", "path": "password"}]


@pytest.mark.parametrize("role", ["preparer", "cook"])
def test_cabinet_and_kafka_secrets_sit_side_by_side(role: str) -> None:
    pod = _pod(role, {**TLS, **WITH_SECRET}, redis_ca=True)
    mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
    assert mounts == {"tmp": "/tmp", "kafka-certs": CERTS_DIR, "redis-credentials": REDIS_DIR}
    names = [e["name"] for e in pod["containers"][0]["env"]]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("role", ["preparer", "cook"])
def test_every_cabinet_variable_is_an_option_of_the_role(
    role: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("FISHSHOP_"):
            monkeypatch.delenv(name)
    container = _pod(role, WITH_SECRET, redis_ca=True)["containers"][0]
    for item in container["env"]:
        monkeypatch.setenv(item["name"], item.get("value", "from-the-pod"))
    args = build_parser().parse_args(container["command"][1:])
    assert args.redis_url == "rediss://redis:6380"
    assert str(args.redis_password_file) == f"{REDIS_DIR}/password"
    assert str(args.redis_ca_file) == f"{REDIS_DIR}/ca.pem"
    for item in container["env"]:
        assert hasattr(args, item["name"].removeprefix("FISHSHOP_").lower()), item["name"]
    if role == "cook":
        assert (args.cod_batch, args.chips_batch) == (10, 20)
        assert (args.cod_threshold, args.chips_threshold) == (4, 8)


SASL = {
    "kafka": {
        "bootstrapServers": "kafka:9093",
        "tlsSecret": "kafka-certs",
        "sasl": {"mechanism": "SCRAM-SHA-512", "secret": "kafka-user"},
    }
}


@pytest.mark.parametrize("role", ["till", "preparer", "cook"])
def test_sasl_gives_every_worker_the_user_and_the_password_as_a_file_only(role: str) -> None:
    kind = "StatefulSet" if role == "till" else "Deployment"
    [manifest] = [
        m
        for m in shop_workloads(shop_resource(**SASL), IMAGE, kafka=PodKafka(user="carol"))
        if m["kind"] == kind and m["metadata"]["labels"][ROLE_LABEL] == role
    ]
    pod = manifest["spec"]["template"]["spec"]
    env = _pod_env(pod)
    assert env["FISHSHOP_SASL_MECHANISM"] == "SCRAM-SHA-512"
    assert env["FISHSHOP_SASL_USERNAME"] == "carol"
    assert env["FISHSHOP_SASL_PASSWORD_FILE"] == "/etc/fishshop/kafka-sasl/password"
    assert env["FISHSHOP_CERTS_DIR"] == CERTS_DIR
    assert not [
        e for e in pod["containers"][0]["env"] if "valueFrom" in e and "PASSWORD" in e["name"]
    ]
    volume = next(v for v in pod["volumes"] if v["name"] == "kafka-sasl")
    assert volume["secret"] == {
        "secretName": "kafka-user",
        "defaultMode": 0o440,
        "items": [{"key": "password", "path": "password"}],
    }
    mounts = {m["name"]: m for m in pod["containers"][0]["volumeMounts"]}
    assert mounts["kafka-sasl"] == {
        "name": "kafka-sasl",
        "mountPath": "/etc/fishshop/kafka-sasl",
        "readOnly": True,
    }


def test_every_sasl_variable_is_an_option_of_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("FISHSHOP_"):
            monkeypatch.delenv(name)
    container = _pod("preparer", SASL)["containers"][0]
    for item in container["env"]:
        monkeypatch.setenv(item["name"], item.get("value", "from-the-pod"))
    args = build_parser().parse_args(container["command"][1:])
    assert args.sasl_mechanism == "SCRAM-SHA-512"
    assert str(args.sasl_password_file) == "/etc/fishshop/kafka-sasl/password"


def test_a_shop_without_sasl_has_none_of_it() -> None:
    pod = _pod("preparer", TLS)
    assert not [e for e in _pod_env(pod) if "SASL" in e]
    assert "kafka-sasl" not in {v["name"] for v in pod["volumes"]}


def test_another_tls_layout_is_mounted_under_the_workers_names() -> None:
    files = (("ca.crt", "ca.pem"), ("user.crt", "service.cert"), ("user.key", "service.key"))
    [preparers] = [
        m
        for m in shop_workloads(shop_resource(**TLS), IMAGE, kafka=PodKafka(tls_files=files))
        if m["metadata"]["labels"][ROLE_LABEL] == "preparer"
    ]
    volume = next(
        v for v in preparers["spec"]["template"]["spec"]["volumes"] if v["name"] == "kafka-certs"
    )
    assert volume["secret"]["items"] == [
        {"key": "ca.crt", "path": "ca.pem"},
        {"key": "user.crt", "path": "service.cert"},
        {"key": "user.key", "path": "service.key"},
    ]
    assert (
        "items"
        not in next(v for v in _pod("preparer", TLS)["volumes"] if v["name"] == "kafka-certs")[
            "secret"
        ]
    )


def test_tls_with_the_systems_authorities_is_a_flag_not_a_mount() -> None:
    system = {"kafka": {"bootstrapServers": "kafka:9093", "tls": True}}
    pod = _pod("preparer", system)
    assert _pod_env(pod)["FISHSHOP_TLS"] == "true"
    assert "FISHSHOP_CERTS_DIR" not in _pod_env(pod)
    assert "kafka-certs" not in {v["name"] for v in pod["volumes"]}
    # A tlsSecret turns TLS on by itself and gives the CA.
    both = _pod("preparer", {"kafka": {**TLS["kafka"], "tls": True}})
    assert "FISHSHOP_TLS" not in _pod_env(both)
    assert shop_resource(**system).system_tls
    assert not shop_resource(kafka={**system["kafka"], "tls": False}).system_tls


def test_a_ca_secret_joins_the_client_certificate_in_one_folder() -> None:
    spec = {"kafka": {**TLS["kafka"], "tlsSecret": "harbour", "caSecret": "cluster-ca-cert"}}
    files = (("user.crt", "service.cert"), ("user.key", "service.key"))
    [preparers] = [
        m
        for m in shop_workloads(
            shop_resource(**spec), IMAGE, kafka=PodKafka(tls_files=files, ca_key="ca.crt")
        )
        if m["metadata"]["labels"][ROLE_LABEL] == "preparer"
    ]
    pod = preparers["spec"]["template"]["spec"]
    volume = next(v for v in pod["volumes"] if v["name"] == "kafka-certs")
    assert volume["projected"]["sources"] == [
        {"secret": {"name": "harbour", "items": [
            {"key": "user.crt", "path": "service.cert"},
            {"key": "user.key", "path": "service.key"},
        ]}},
        {"secret": {"name": "cluster-ca-cert", "items": [{"key": "ca.crt", "path": "ca.pem"}]}},
    ]  # fmt: skip
    assert _pod_env(pod)["FISHSHOP_CERTS_DIR"] == CERTS_DIR


def test_a_ca_secret_alone_is_refused() -> None:
    with pytest.raises(ShopSpecError, match="caSecret goes with a tlsSecret"):
        shop_resource(kafka={"bootstrapServers": "k:9093", "caSecret": "cluster-ca-cert"})
