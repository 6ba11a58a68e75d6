"""Unit tests for fishshop_operator.kube.secrets: the one cache of a shop's Secrets,
read from the shop's own namespace, decoded once per version, held in the shop's
memory, read again only after a while for a caller that asks for that."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any, cast

import pytest

from fishshop_operator.cabinet.credentials import CredentialsSecretError
from fishshop_operator.kube.secret_data import HeldSecret
from fishshop_operator.kube.secrets import REDIS_CREDENTIALS, SecretCache, SecretReader
from fishshop_operator.shop.resource import ShopResource
from tests.support.operator_bodies import secret_body, shop_resource
from tests.support.operator_fakes import FakeKube, stand_in_for_tls

NAMESPACE = "seaside"
PATH = f"/api/v1/namespaces/{NAMESPACE}/secrets/redis-auth"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _secret(version: str = "1", password: bytes = b"pw", namespace: str = NAMESPACE) -> Any:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "redis-auth",
            "namespace": namespace,
            "uid": "s-1",
            "resourceVersion": version,
        },
        "data": {"password": base64.b64encode(password).decode()},
    }


def _shop(secret: str | None = "redis-auth") -> ShopResource:
    cabinet: dict[str, Any] = {"redisUrl": "redis://redis:6379"}
    if secret is not None:
        cabinet["credentialsSecret"] = secret
    return shop_resource("harbour", NAMESPACE, hotCabinet=cabinet)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _cache(kube: FakeKube, clock: Clock, tmp_path: Path) -> SecretCache:
    return SecretCache(cast(SecretReader, kube), tmp_path, clock=clock)


async def test_a_secret_is_decoded_once_per_version(clock: Clock, tmp_path: Path) -> None:
    kube = FakeKube(_secret())
    cache = _cache(kube, clock, tmp_path)
    held: dict[str, HeldSecret] = {}
    first = await cache.redis_credentials(_shop(), held)
    second = await cache.redis_credentials(_shop(), held)
    assert first is second and first is not None and first.password == "pw"
    assert kube.requests == [PATH, PATH]  # read every time, decoded once
    kube.put(_secret(version="2", password=b"rotated"))
    third = await cache.redis_credentials(_shop(), held)
    assert third is not None and third.password == "rotated"


async def test_a_recheck_bound_spares_the_reads_within_it(clock: Clock, tmp_path: Path) -> None:
    kube = FakeKube(_secret())
    cache = _cache(kube, clock, tmp_path)
    held: dict[str, HeldSecret] = {}
    shop = _shop()
    first = await cache.read(shop, held, "use", "redis-auth", lambda s, w: object(), recheck=30)
    clock.now += 29
    again = await cache.read(shop, held, "use", "redis-auth", lambda s, w: object(), recheck=30)
    assert again is first and kube.requests == [PATH]
    clock.now += 1
    await cache.read(shop, held, "use", "redis-auth", lambda s, w: object(), recheck=30)
    assert kube.requests == [PATH, PATH]


async def test_only_the_shops_own_namespace_is_read(clock: Clock, tmp_path: Path) -> None:
    kube = FakeKube(_secret(namespace="other-ns"))
    held: dict[str, HeldSecret] = {}
    with pytest.raises(CredentialsSecretError, match="does not exist in the shop's namespace"):
        await _cache(kube, clock, tmp_path).redis_credentials(_shop(), held)
    assert kube.requests == [PATH]
    assert held == {}


async def test_a_secret_that_breaks_raises_at_each_read_and_what_it_held_stays(
    clock: Clock, tmp_path: Path
) -> None:
    kube = FakeKube(_secret())
    cache = _cache(kube, clock, tmp_path)
    held: dict[str, HeldSecret] = {}
    good = await cache.redis_credentials(_shop(), held)
    broken = _secret(version="2")
    broken["data"] = {}
    kube.put(broken)
    for _ in range(2):  # read and decoded again each time, never served from memory
        with pytest.raises(CredentialsSecretError):
            await cache.redis_credentials(_shop(), held)
        assert held[REDIS_CREDENTIALS].value is good  # the workloads keep their mounts
    kube.put(_secret(version="3", password=b"back"))
    back = await cache.redis_credentials(_shop(), held)
    assert back is not None and back.password == "back"
    assert held[REDIS_CREDENTIALS].value is back


async def test_a_secret_that_is_gone_raises_and_what_it_held_stays(
    clock: Clock, tmp_path: Path
) -> None:
    kube = FakeKube(_secret())
    cache = _cache(kube, clock, tmp_path)
    held: dict[str, HeldSecret] = {}
    good = await cache.redis_credentials(_shop(), held)
    kube.objects.clear()
    with pytest.raises(CredentialsSecretError):
        await cache.redis_credentials(_shop(), held)
    assert held[REDIS_CREDENTIALS].value is good


async def test_a_shop_that_names_another_secret_lets_the_old_one_go(
    clock: Clock, tmp_path: Path
) -> None:
    kube = FakeKube(_secret())
    cache = _cache(kube, clock, tmp_path)
    held: dict[str, HeldSecret] = {}
    await cache.redis_credentials(_shop(), held)
    with pytest.raises(CredentialsSecretError):
        await cache.redis_credentials(_shop(secret="missing"), held)
    assert REDIS_CREDENTIALS not in held


async def test_a_shop_that_names_no_secret_holds_none(clock: Clock, tmp_path: Path) -> None:
    kube = FakeKube(_secret())
    cache = _cache(kube, clock, tmp_path)
    held: dict[str, HeldSecret] = {}
    await cache.redis_credentials(_shop(), held)
    assert await cache.redis_credentials(_shop(secret=None), held) is None
    assert await cache.kafka_tls(_shop(secret=None), held) is None
    assert held == {}


async def test_what_is_held_is_never_shown(clock: Clock, tmp_path: Path) -> None:
    held: dict[str, HeldSecret] = {}
    await _cache(FakeKube(_secret(password=b"s3cret")), clock, tmp_path).redis_credentials(
        _shop(), held
    )
    assert "s3cret" not in repr(held)


async def test_a_new_ca_secret_makes_a_new_tls_context_and_the_same_keeps_it(
    clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tlsSecret and caSecret: one context while neither changes (so the shop's Kafka
    clients are shared), a new one when only the CA's Secret does."""
    contexts = stand_in_for_tls(monkeypatch)

    def secret(name: str, version: str, **data: bytes) -> dict[str, Any]:
        body = secret_body(name, NAMESPACE, version)
        body["data"] = {k: base64.b64encode(v).decode() for k, v in data.items()}
        return body

    kube = FakeKube(
        secret("harbour", "1", **{"user.crt": b"c", "user.key": b"k"}),
        secret("cluster-ca", "1", **{"ca.crt": b"ca"}),
    )
    cache = _cache(kube, clock, tmp_path)
    shop = shop_resource(
        "harbour",
        NAMESPACE,
        kafka={"bootstrapServers": "k:9093", "tlsSecret": "harbour", "caSecret": "cluster-ca"},
    )
    held: dict[str, HeldSecret] = {}
    first = await cache.kafka_tls(shop, held)
    assert await cache.kafka_tls(shop, held) is first
    kube.put(secret("cluster-ca", "2", **{"ca.crt": b"rotated"}))
    renewed = await cache.kafka_tls(shop, held)
    assert renewed is not first and renewed is contexts[-1] and len(contexts) == 2
