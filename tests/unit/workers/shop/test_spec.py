"""Unit tests for fishshop_workers.shop.spec: reading and checking a FishShop manifest."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from fishshop_workers.cabinet.decisions import CabinetSettings
from fishshop_workers.shop.spec import (
    CookSpec,
    PreparerSpec,
    ShopSpec,
    ShopSpecError,
    TillSpec,
    read_manifest,
)

MINIMAL: dict[str, Any] = {
    "apiVersion": "fishshop.dev/v1alpha1",
    "kind": "FishShop",
    "metadata": {"name": "harbour"},
}

FULL: dict[str, Any] = {
    **MINIMAL,
    "spec": {
        "open": False,
        "partitions": 6,
        "topicPrefix": "custom.harbour",
        "kafka": {"bootstrapServers": "kafka:9092"},
        "tills": {"replicas": 4, "ordersPerMinute": 120},
        "preparers": {"replicas": 3, "prepSeconds": {"min": 0.25, "max": 2}},
        "cooks": {"replicas": 2, "cookSeconds": {"min": 1, "max": 1.5}},
    },
}


def _manifest(path: str, value: Any) -> dict[str, Any]:
    """FULL with the value at a dotted path replaced (or deleted for ...)."""
    document = copy.deepcopy(FULL)
    *parents, last = path.split(".")
    node = document
    for name in parents:
        node = node[name]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return document


def test_minimal_manifest_gets_the_defaults() -> None:
    shop = read_manifest(MINIMAL)
    assert shop == ShopSpec(name="harbour")
    assert shop.open is True
    assert shop.partitions == 3
    assert shop.bootstrap_servers == ""
    assert shop.tills == TillSpec(replicas=3, orders_per_minute=40.0)
    assert shop.preparers == PreparerSpec(replicas=2, prep_min=0.5, prep_max=1.0)
    assert shop.cooks == CookSpec(replicas=1, cook_min=3.0, cook_max=3.2)
    assert shop.topic_prefix is None


def test_empty_sections_get_the_defaults() -> None:
    document = {
        **MINIMAL,
        "spec": {"tills": None, "preparers": {}, "cooks": {"cookSeconds": None}},
    }
    assert read_manifest(document) == ShopSpec(name="harbour")


def test_full_manifest() -> None:
    shop = read_manifest(FULL)
    assert shop == ShopSpec(
        name="harbour",
        open=False,
        partitions=6,
        bootstrap_servers="kafka:9092",
        tills=TillSpec(replicas=4, orders_per_minute=120.0),
        preparers=PreparerSpec(replicas=3, prep_min=0.25, prep_max=2.0),
        cooks=CookSpec(replicas=2, cook_min=1.0, cook_max=1.5),
        topic_prefix="custom.harbour",
    )
    assert isinstance(shop.tills.orders_per_minute, float)
    assert isinstance(shop.preparers.prep_max, float)


def test_only_one_end_of_a_range_keeps_the_other_default() -> None:
    shop = read_manifest(_manifest("spec.preparers.prepSeconds", {"max": 4}))
    assert (shop.preparers.prep_min, shop.preparers.prep_max) == (0.5, 4.0)
    shop = read_manifest(_manifest("spec.cooks.cookSeconds", {"min": 0}))
    assert (shop.cooks.cook_min, shop.cooks.cook_max) == (0.0, 3.2)


def test_ranges_may_be_a_single_value() -> None:
    document = _manifest("spec.preparers.prepSeconds", {"min": 0, "max": 0})
    document["spec"]["cooks"]["cookSeconds"] = {"min": 2, "max": 2}
    shop = read_manifest(document)
    assert (shop.preparers.prep_min, shop.preparers.prep_max) == (0.0, 0.0)
    assert (shop.cooks.cook_min, shop.cooks.cook_max) == (2.0, 2.0)


def test_empty_topic_prefix_means_the_default() -> None:
    assert read_manifest(_manifest("spec.topicPrefix", "")).topic_prefix is None


def test_zero_replicas_are_allowed() -> None:
    document = _manifest("spec.tills.replicas", 0)
    document["spec"]["preparers"]["replicas"] = 0
    document["spec"]["cooks"]["replicas"] = 0
    shop = read_manifest(document)
    assert (shop.tills.replicas, shop.preparers.replicas, shop.cooks.replicas) == (0, 0, 0)


def test_plaice_only_with_cooks() -> None:
    assert read_manifest(FULL).plaice is True
    assert read_manifest(MINIMAL).plaice is True
    assert read_manifest(_manifest("spec.cooks.replicas", 0)).plaice is False
    assert ShopSpec(name="x", cooks=CookSpec(replicas=0)).plaice is False
    assert ShopSpec(name="x", cooks=CookSpec(replicas=1)).plaice is True


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("kind", "Shop", "expected kind FishShop, found 'Shop'"),
        ("kind", ..., "expected kind FishShop, found None"),
        ("metadata", ..., "metadata.name is required"),
        ("metadata", "harbour", "metadata.name is required"),
        ("metadata.name", "", "metadata.name is required"),
        ("metadata.name", 5, "metadata.name is required"),
        ("spec", "big", "spec must be a mapping"),
        ("spec.tills", [1], "spec.tills must be a mapping"),
        ("spec.preparers", "two", "spec.preparers must be a mapping"),
        ("spec.cooks", 1, "spec.cooks must be a mapping"),
        ("spec.kafka", "kafka:9092", "spec.kafka must be a mapping"),
        ("spec.partitions", 0, "spec.partitions must be at least 1, not 0"),
        ("spec.partitions", -2, "spec.partitions must be at least 1, not -2"),
        ("spec.partitions", "3", "spec.partitions must be a whole number, not '3'"),
        ("spec.partitions", 2.5, "spec.partitions must be a whole number, not 2.5"),
        ("spec.partitions", True, "spec.partitions must be a whole number, not True"),
        ("spec.tills.replicas", -1, "spec.tills.replicas must be at least 0, not -1"),
        ("spec.tills.replicas", 1.0, "spec.tills.replicas must be a whole number"),
        ("spec.preparers.replicas", -1, "spec.preparers.replicas must be at least 0"),
        ("spec.cooks.replicas", -3, "spec.cooks.replicas must be at least 0, not -3"),
        ("spec.cooks.replicas", False, "spec.cooks.replicas must be a whole number"),
        ("spec.tills.ordersPerMinute", -1, "spec.tills.ordersPerMinute must not be"),
        ("spec.tills.ordersPerMinute", "fast", "spec.tills.ordersPerMinute must be a"),
        ("spec.tills.ordersPerMinute", True, "spec.tills.ordersPerMinute must be a"),
        ("spec.preparers.prepSeconds", 1, "spec.preparers.prepSeconds must be a mapping"),
        ("spec.cooks.cookSeconds", [3, 4], "spec.cooks.cookSeconds must be a mapping"),
        (
            "spec.preparers.prepSeconds",
            {"min": 3, "max": 1},
            "spec.preparers.prepSeconds.min (3.0) is above spec.preparers.prepSeconds.max",
        ),
        (
            "spec.cooks.cookSeconds",
            {"min": 5},
            "spec.cooks.cookSeconds.min (5.0) is above spec.cooks.cookSeconds.max (3.2)",
        ),
        (
            "spec.preparers.prepSeconds",
            {"min": -1, "max": 1},
            "spec.preparers.prepSeconds must not be negative",
        ),
        (
            "spec.cooks.cookSeconds",
            {"min": -2, "max": -1},
            "spec.cooks.cookSeconds must not be negative",
        ),
        (
            "spec.cooks.cookSeconds",
            {"min": "1", "max": 2},
            "spec.cooks.cookSeconds.min must be a number, not '1'",
        ),
    ],
)
def test_bad_spec_names_the_field(path: str, value: Any, message: str) -> None:
    with pytest.raises(ShopSpecError) as caught:
        read_manifest(_manifest(path, value))
    assert message in str(caught.value)


def test_shop_spec_error_is_a_value_error() -> None:
    assert issubclass(ShopSpecError, ValueError)


def test_check_catches_specs_built_in_code() -> None:
    with pytest.raises(ShopSpecError, match=r"spec\.partitions must be at least 1"):
        ShopSpec(name="x", partitions=0).check()
    with pytest.raises(ShopSpecError, match=r"spec\.preparers\.replicas"):
        ShopSpec(name="x", preparers=PreparerSpec(replicas=-1)).check()
    with pytest.raises(ShopSpecError, match=r"spec\.cooks\.cookSeconds\.min"):
        ShopSpec(name="x", cooks=CookSpec(cook_min=4.0, cook_max=3.0)).check()
    ShopSpec(name="x").check()


def test_a_shop_has_no_hot_cabinet_unless_asked() -> None:
    assert read_manifest(FULL).hot_cabinet is None
    assert ShopSpec(name="harbour").hot_cabinet is None


def test_a_hot_cabinet_needs_a_cook() -> None:
    cabinet = CabinetSettings()
    ShopSpec(name="harbour", hot_cabinet=cabinet).check()
    with pytest.raises(ShopSpecError, match=r"spec.hotCabinet needs at least one cook"):
        ShopSpec(name="harbour", cooks=CookSpec(replicas=0), hot_cabinet=cabinet).check()
