"""Unit tests for fishshop_operator.cabinet.spec and the Redis names in names.py: what
``spec.hotCabinet`` may hold, checked again by the operator with the CRD's words."""

from __future__ import annotations

from typing import Any

import pytest

from fishshop_operator.cabinet.spec import read_hot_cabinet
from fishshop_operator.shop.names import CREDENTIALS_NAME_MESSAGE, REDIS_URL_MESSAGE
from fishshop_workers.cabinet.decisions import CabinetSettings
from fishshop_workers.shop.spec import ShopSpecError
from tests.support.operator_bodies import shop_resource

URL = "redis://redis.redis.svc:6379/0"


def _read(**section: Any) -> Any:
    return read_hot_cabinet({"hotCabinet": {"redisUrl": URL, **section}})


def test_no_section_means_no_cabinet() -> None:
    assert read_hot_cabinet({}) is None
    assert read_hot_cabinet({"hotCabinet": None}) is None
    assert shop_resource().hot_cabinet is None


def test_defaults_are_the_workers_own() -> None:
    cabinet = _read()
    assert cabinet.redis_url == URL
    assert cabinet.credentials_secret == ""
    assert cabinet.settings == CabinetSettings()
    assert not cabinet.tls


def test_every_field_is_read() -> None:
    cabinet = _read(
        redisUrl="rediss://[fe80::1]:6380",
        credentialsSecret="redis.auth",
        codBatch=12,
        chipsBatch=1000,
        codThreshold=0,
        chipsThreshold=1000,
    )
    assert cabinet.tls
    assert cabinet.credentials_secret == "redis.auth"
    assert cabinet.settings == CabinetSettings(
        cod_batch=12, chips_batch=1000, cod_threshold=0, chips_threshold=1000
    )


def test_a_shop_resource_carries_its_cabinet() -> None:
    shop = shop_resource(hotCabinet={"redisUrl": URL, "codBatch": 6})
    assert shop.hot_cabinet is not None
    assert shop.hot_cabinet.settings.cod_batch == 6


@pytest.mark.parametrize(
    "url",
    [
        "redis://redis:6379",
        "redis://redis:6379/0",
        "rediss://redis.redis.svc.cluster.local:65535/15",
        "redis://10.0.0.1:1",
        "redis://[::1]:6379/3",
    ],
)
def test_redis_urls_that_are_accepted(url: str) -> None:
    assert _read(redisUrl=url).redis_url == url


@pytest.mark.parametrize(
    "url",
    [
        "redis",
        "redis://redis",  # no port
        "redis://redis:0",
        "redis://redis:65536",
        "redis://redis:6379/",
        "redis://redis:6379/zero",
        "http://redis:6379",
        "unix:///var/run/redis.sock",
        "redis://user:s3cret@redis:6379",
        "redis://:s3cret@redis:6379",
        "redis://redis:6379/0?password=s3cret",
        "redis://redis:6379,other:6379",
        " redis://redis:6379",
        "redis://" + "r" * 1020 + ":6379",
    ],
)
def test_redis_urls_that_are_refused_never_quote_the_url(url: str) -> None:
    with pytest.raises(ShopSpecError) as caught:
        _read(redisUrl=url)
    message = str(caught.value)
    assert message == f"spec.hotCabinet.redisUrl: {REDIS_URL_MESSAGE}"
    assert "s3cret" not in message


@pytest.mark.parametrize("section", [{}, {"redisUrl": ""}, {"redisUrl": 6379}])
def test_the_url_is_required(section: dict[str, Any]) -> None:
    with pytest.raises(ShopSpecError, match=r"spec\.hotCabinet\.redisUrl"):
        read_hot_cabinet({"hotCabinet": section})


def test_a_section_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(ShopSpecError, match="must be a mapping"):
        read_hot_cabinet({"hotCabinet": URL})


@pytest.mark.parametrize(
    "name",
    ["../../other-ns/secrets/x", "redis/../x", "Redis-Auth", "redis?watch=true", "a" * 254, "-x"],
)
def test_credentials_secret_is_a_name_never_a_path(name: str) -> None:
    with pytest.raises(ShopSpecError) as caught:
        _read(credentialsSecret=name)
    assert CREDENTIALS_NAME_MESSAGE in str(caught.value)
    assert "spec.hotCabinet.credentialsSecret" in str(caught.value)


def test_credentials_secret_must_be_a_string() -> None:
    with pytest.raises(ShopSpecError, match="credentialsSecret must be a Secret's name"):
        _read(credentialsSecret=["redis-auth"])


@pytest.mark.parametrize(
    ("field", "value", "lowest"),
    [
        ("codBatch", 0, 1),
        ("chipsBatch", 1001, 1),
        ("codThreshold", -1, 0),
        ("chipsThreshold", 1001, 0),
        ("codBatch", 2.5, 1),
        ("codBatch", "10", 1),
        ("chipsBatch", True, 1),
    ],
)
def test_batch_numbers_out_of_range_are_refused(field: str, value: Any, lowest: int) -> None:
    with pytest.raises(ShopSpecError) as caught:
        _read(**{field: value})
    assert str(caught.value) == (
        f"spec.hotCabinet.{field} must be a whole number from {lowest} to 1000, not {value!r}"
    )


@pytest.mark.parametrize("item", ["cod", "chips"])
def test_a_threshold_above_its_batch_is_refused(item: str) -> None:
    with pytest.raises(ShopSpecError) as caught:
        _read(**{f"{item}Batch": 5, f"{item}Threshold": 6})
    assert str(caught.value) == (
        f"spec.hotCabinet.{item}Threshold (6) must not be above {item}Batch (5): one batch "
        "must bring the cabinet back up to the threshold"
    )


def test_a_threshold_equal_to_its_batch_is_accepted() -> None:
    assert _read(codBatch=5, codThreshold=5).settings.cod_threshold == 5


def test_a_default_threshold_above_a_small_batch_is_refused() -> None:
    """The CRD fills in the default threshold; a batch below it must say so."""
    with pytest.raises(ShopSpecError, match=r"codThreshold \(4\) must not be above codBatch \(2\)"):
        _read(codBatch=2)
