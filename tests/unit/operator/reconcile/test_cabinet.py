"""The Reconciler with a hot cabinet, against a fake of its Kubernetes client and a
stand-in for the Redis ping: the credentials Secret read from the shop's own
namespace only, kept in memory and forgotten with the shop, never shown; what the
workloads get; the status. The real API server and redis-server prove the same
paths in tests/integration/operator/test_cabinet.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest

from fishshop_operator.cabinet.credentials import RedisCredentials
from fishshop_operator.cabinet.spec import HotCabinetSpec
from fishshop_operator.kube.api import KubeApi
from fishshop_operator.kube.secrets import REDIS_CREDENTIALS
from fishshop_operator.metrics import OperatorMetrics
from fishshop_operator.reconcile import cabinet as cabinet_step
from fishshop_operator.reconcile.reconciler import Reconciler
from fishshop_operator.shop.conditions import CabinetOutcome
from tests.support.operator_bodies import secret_body, shop_body
from tests.support.operator_fakes import FakeKafka, FakeKube

NAMESPACE = "seaside"
PASSWORD = "s3cret-in-the-secret"


@dataclass
class FakeRedis:
    """Stands in for shop_cabinet.check_cabinet; records what it was given."""

    answer: CabinetOutcome = field(
        default_factory=lambda: CabinetOutcome(True, "CabinetReady", "Redis answers")
    )
    calls: list[tuple[HotCabinetSpec, str, RedisCredentials | None]] = field(default_factory=list)

    async def check_cabinet(
        self, spec: HotCabinetSpec, prefix: str, credentials: RedisCredentials | None
    ) -> CabinetOutcome:
        self.calls.append((spec, prefix, credentials))
        return self.answer


@pytest.fixture
def redis(monkeypatch: pytest.MonkeyPatch) -> FakeRedis:
    fake = FakeRedis()
    monkeypatch.setattr(cabinet_step, "check_cabinet", fake.check_cabinet)
    return fake


def _secret(
    name: str = "redis-auth", namespace: str = NAMESPACE, version: str = "1", **files: bytes
) -> dict[str, Any]:
    return secret_body(name, namespace, version, **files)


def _shop(url: str = "redis://redis:6379", secret: str | None = None, **spec: Any) -> Any:
    cabinet: dict[str, Any] = {"redisUrl": url}
    if secret is not None:
        cabinet["credentialsSecret"] = secret
    return shop_body("harbour", NAMESPACE, hotCabinet=cabinet, **spec)


def _reconciler(kube: FakeKube, tmp_path: Path) -> Reconciler:
    return Reconciler(cast(KubeApi, kube), "fishshop:test", OperatorMetrics(), tmp_path, 0.0)


def _conditions(kube: FakeKube) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in kube.statuses[-1]["conditions"]}


def _env(kube: FakeKube, role: str) -> dict[str, str]:
    (manifest,) = [
        m
        for m in kube.applied[-4:]
        if m["kind"] == "Deployment" and m["metadata"]["name"] == f"harbour-{role}"
    ]
    container = manifest["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e["value"] for e in container["env"] if "value" in e}


async def test_a_shop_without_a_cabinet_never_asks_redis(
    kafka: FakeKafka, redis: FakeRedis, tmp_path: Path
) -> None:
    body = shop_body("harbour", NAMESPACE)
    kube = FakeKube(body)
    outcome = await _reconciler(kube, tmp_path).reconcile(body)
    assert outcome.result == "ready"
    assert redis.calls == []
    assert "CabinetReady" not in _conditions(kube)


async def test_a_cabinet_that_answers_makes_a_ready_shop(
    kafka: FakeKafka, redis: FakeRedis, tmp_path: Path
) -> None:
    body = _shop()
    kube = FakeKube(body)
    outcome = await _reconciler(kube, tmp_path).reconcile(body)
    assert (outcome.result, outcome.reason) == ("ready", "ShopOpen")
    [(spec, prefix, credentials)] = redis.calls
    assert spec.redis_url == "redis://redis:6379"
    assert prefix == f"fishshop.{NAMESPACE}.harbour"  # the workers' key prefix
    assert credentials is None
    assert _conditions(kube)["CabinetReady"]["status"] == "True"
    assert _env(kube, "preparer")["FISHSHOP_REDIS_URL"] == "redis://redis:6379"


async def test_an_unreachable_redis_is_an_error_that_is_retried(
    kafka: FakeKafka, redis: FakeRedis, tmp_path: Path
) -> None:
    redis.answer = CabinetOutcome(False, "RedisUnreachable", "Redis at redis://redis:6379 ...")
    body = _shop()
    kube = FakeKube(body)
    outcome = await _reconciler(kube, tmp_path).reconcile(body)
    assert (outcome.result, outcome.reason) == ("error", "RedisUnreachable")
    assert _conditions(kube)["Ready"]["reason"] == "RedisUnreachable"
    assert ("Warning", "RedisUnreachable", redis.answer.message) in kube.events
    # The workers are there all the same: they wait for Redis themselves.
    assert {m["metadata"]["name"] for m in kube.applied} >= {"harbour-preparer", "harbour-cook"}


async def test_a_ready_cabinet_is_not_asked_again_after_each_workload_event(
    kafka: FakeKafka, redis: FakeRedis, tmp_path: Path
) -> None:
    body = _shop()
    kube = FakeKube(body)
    reconciler = _reconciler(kube, tmp_path)
    await reconciler.reconcile(body)
    await reconciler.reconcile_by_name(NAMESPACE, "harbour")  # a pod changed
    assert len(redis.calls) == 1
    await reconciler.reconcile_by_name(NAMESPACE, "harbour", check_kafka=True)  # resync
    assert len(redis.calls) == 2
    redis.answer = CabinetOutcome(False, "RedisUnreachable", "down")
    await reconciler.reconcile_by_name(NAMESPACE, "harbour", check_kafka=True)
    await reconciler.reconcile_by_name(NAMESPACE, "harbour")  # not ready: asked again
    assert len(redis.calls) == 4


async def test_the_credentials_secret_is_read_from_the_shops_namespace_only(
    kafka: FakeKafka, redis: FakeRedis, tmp_path: Path
) -> None:
    body = _shop(secret="redis-auth")
    kube = FakeKube(body, _secret(namespace="other-ns", password=PASSWORD.encode()))
    outcome = await _reconciler(kube, tmp_path).reconcile(body)
    assert outcome.reason == "CredentialsSecretInvalid"
    assert [p for p in kube.requests if "secrets" in p] == [
        f"/api/v1/namespaces/{NAMESPACE}/secrets/redis-auth"
    ]
    assert _conditions(kube)["CabinetReady"]["message"] == (
        f"Secret {NAMESPACE}/redis-auth named by spec.hotCabinet.credentialsSecret does not "
        "exist in the shop's namespace"
    )
    assert redis.calls == []


async def test_a_credentials_secret_path_is_refused_before_any_request(
    kafka: FakeKafka, redis: FakeRedis, tmp_path: Path
) -> None:
    body = _shop(secret="../../other-ns/secrets/x")
    kube = FakeKube(body, _secret("x", "other-ns", password=PASSWORD.encode()))
    outcome = await _reconciler(kube, tmp_path).reconcile(body)
    assert outcome.reason == "InvalidSpec"
    assert not [path for path in kube.requests if "secrets" in path]
    assert kafka.calls == [] and redis.calls == [] and kube.applied == []
    assert "spec.hotCabinet.credentialsSecret" in kube.statuses[-1]["conditions"][0]["message"]


async def test_the_password_reaches_redis_and_nothing_else(
    kafka: FakeKafka, redis: FakeRedis, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    redis.answer = CabinetOutcome(False, "RedisAuthenticationFailed", "wrong password")
    body = _shop(secret="redis-auth")
    kube = FakeKube(body, _secret(password=PASSWORD.encode() + b"\n"))
    reconciler = _reconciler(kube, tmp_path)
    await reconciler.reconcile(body)
    [(_, _, credentials)] = redis.calls
    assert credentials is not None and credentials.password == PASSWORD
    said = str(kube.statuses) + str(kube.events) + str(kube.applied) + caplog.text
    assert PASSWORD not in said
    assert PASSWORD not in repr(reconciler.shops)
    assert list(tmp_path.iterdir()) == []  # never on disk


async def test_the_secret_is_parsed_once_per_version_and_forgotten_with_the_shop(
    kafka: FakeKafka, redis: FakeRedis, tmp_path: Path
) -> None:
    body = _shop(secret="redis-auth")
    kube = FakeKube(body, _secret(password=b"first"))
    reconciler = _reconciler(kube, tmp_path)
    reconciler.track(NAMESPACE, "harbour", gone=False)
    await reconciler.reconcile(body)
    await reconciler.reconcile(body)
    first, second = (credentials for _, _, credentials in redis.calls)
    assert first is second
    kube.put(_secret(version="2", password=b"rotated"))
    await reconciler.reconcile(body)
    third = redis.calls[-1][2]
    assert third is not None and third.password == "rotated"
    reconciler.track(NAMESPACE, "harbour", gone=True)
    assert reconciler.remembered() == set()


async def test_a_ca_in_the_secret_reaches_the_workers_of_a_tls_redis(
    kafka: FakeKafka, redis: FakeRedis, tmp_path: Path
) -> None:
    body = _shop("rediss://redis:6380", secret="redis-auth")
    kube = FakeKube(body, _secret(password=b"pw"))
    reconciler = _reconciler(kube, tmp_path)
    await reconciler.reconcile(body)
    assert "FISHSHOP_REDIS_CA_FILE" not in _env(kube, "cook")
    assert _env(kube, "cook")["FISHSHOP_REDIS_PASSWORD_FILE"] == "/etc/fishshop/redis/password"
    kube.put(_secret(version="2", password=b"pw", ca_pem=b"-----BEGIN CERTIFICATE-----"))
    await reconciler.reconcile(body)
    assert _env(kube, "cook")["FISHSHOP_REDIS_CA_FILE"] == "/etc/fishshop/redis/ca.pem"
    assert _env(kube, "preparer")["FISHSHOP_REDIS_CA_FILE"] == "/etc/fishshop/redis/ca.pem"


async def test_a_secret_blip_rolls_no_cabinet_worker(
    kafka: FakeKafka, redis: FakeRedis, tmp_path: Path
) -> None:
    """The credentials Secret deleted and made again (or refreshed by external-secrets):
    the shop says why while it is gone, and its workers keep their CA all along."""
    body = _shop("rediss://redis:6380", secret="redis-auth")
    kube = FakeKube(body, _secret(password=b"pw", ca_pem=b"-----BEGIN CERTIFICATE-----"))
    reconciler = _reconciler(kube, tmp_path)
    await reconciler.reconcile(body)
    kube.objects.pop(f"/api/v1/namespaces/{NAMESPACE}/secrets/redis-auth")
    outcome = await reconciler.reconcile_by_name(NAMESPACE, "harbour", check_kafka=True)
    assert outcome is not None and outcome.reason == "CredentialsSecretInvalid"
    kube.put(_secret(version="2", password=b"pw", ca_pem=b"-----BEGIN CERTIFICATE-----"))
    await reconciler.reconcile_by_name(NAMESPACE, "harbour", check_kafka=True)
    assert _conditions(kube)["CabinetReady"]["status"] == "True"
    for manifest in kube.applied:
        if manifest["kind"] == "Deployment" and manifest["metadata"]["name"] != "harbour-till":
            env = manifest["spec"]["template"]["spec"]["containers"][0]["env"]
            assert {"name": "FISHSHOP_REDIS_CA_FILE", "value": "/etc/fishshop/redis/ca.pem"} in env


async def test_turning_the_cabinet_off_removes_its_condition_and_variables(
    kafka: FakeKafka, redis: FakeRedis, tmp_path: Path
) -> None:
    body = _shop(secret="redis-auth")
    kube = FakeKube(body, _secret(password=b"pw"))
    reconciler = _reconciler(kube, tmp_path)
    await reconciler.reconcile(body)
    assert "CabinetReady" in _conditions(kube)
    off = shop_body("harbour", NAMESPACE, generation=2)
    previous = {"conditions": kube.statuses[-1]["conditions"]}
    await reconciler.reconcile({**off, "status": previous})
    assert "CabinetReady" not in _conditions(kube)
    assert _conditions(kube)["Ready"]["status"] == "True"
    assert "FISHSHOP_REDIS_URL" not in _env(kube, "preparer")
    memory = reconciler.shops.get((NAMESPACE, "harbour"))
    assert memory is not None and REDIS_CREDENTIALS not in memory.secrets
