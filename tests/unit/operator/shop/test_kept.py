"""The record that a retained shop keeps its topic prefix: one ConfigMap name for a
prefix and its Kafka twin, a valid name for any prefix, and it refuses only a shop of
another name."""

from __future__ import annotations

import re

from fishshop_operator.shop.kept import kept_keeper, kept_manifest, kept_message, kept_name
from fishshop_operator.shop.resource import read_resource
from tests.support.operator_bodies import shop_body

NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def test_a_prefix_and_its_kafka_twin_share_one_record() -> None:
    assert kept_name("docks.kept_1") == kept_name("docks_kept.1")
    assert kept_name("docks.kept") != kept_name("docks.kept2")


def test_the_record_name_is_an_object_name_for_any_prefix() -> None:
    for prefix in ("a", "docks." + "x" * 240, "Docks.UPPER-case_mixed"):
        name = kept_name(prefix)
        assert NAME.fullmatch(name) and len(name) <= 63, name


def test_the_record_names_the_shop_and_its_prefix() -> None:
    shop = read_resource(shop_body("pier", "docks", topicPrefix="docks.kept"))
    record = kept_manifest(shop)
    assert record["kind"] == "ConfigMap"
    assert record["metadata"]["namespace"] == "docks"
    assert record["metadata"]["name"] == kept_name("docks.kept")
    assert record["data"] == {"shop": "pier", "topicPrefix": "docks.kept"}


def test_only_a_shop_of_another_name_is_refused() -> None:
    pier = read_resource(shop_body("pier", "docks", topicPrefix="docks.kept"))
    jetty = read_resource(shop_body("jetty", "docks", topicPrefix="docks_kept"))
    record = kept_manifest(pier)
    assert kept_keeper(None, jetty) is None
    assert kept_keeper(record, pier) is None
    assert kept_keeper(record, jetty) == "pier"
    message = kept_message(jetty, "pier")
    assert "docks/pier" in message and kept_name("docks.kept") in message
    assert "name this shop pier" in message
