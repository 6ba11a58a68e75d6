"""The index of shops by topic prefix: fed from the watch, it decides the same owner
as the rules on a full list (the oldest shop keeps a prefix, a shop being deleted does
not count, specs read leniently), and forgets a deleted shop."""

from __future__ import annotations

from typing import Any

from fishshop_operator.shop.index import ShopIndex, prefix_owner
from fishshop_operator.shop.resource import read_resource
from tests.support.operator_bodies import shop_body

OLD, MIDDLE, NEW = "2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z"


def _index(*bodies: dict[str, Any]) -> ShopIndex:
    index = ShopIndex()
    for body in bodies:
        index.put(body)
    return index


def _owner(index: ShopIndex, body: dict[str, Any]) -> str | None:
    card = index.owner(body, read_resource(body).topic_prefix)
    return card.ref if card is not None else None


def test_the_oldest_shop_keeps_a_shared_prefix() -> None:
    oldest = shop_body("zander", "docks", created=OLD, topicPrefix="shared")
    middle = shop_body("pier", "docks", created=MIDDLE, topicPrefix="shared")
    newest = shop_body("harbour", "seaside", created=NEW, topicPrefix="shared")
    index = _index(newest, middle, oldest)
    assert _owner(index, newest) == "docks/zander"
    assert _owner(index, middle) == "docks/zander"
    assert _owner(index, oldest) is None


def test_a_shop_not_yet_in_the_index_is_judged_by_its_own_body() -> None:
    owner = shop_body("pier", "docks", created=OLD, topicPrefix="shared")
    newcomer = shop_body("harbour", "seaside", created=NEW, topicPrefix="shared")
    assert _owner(_index(owner), newcomer) == "docks/pier"
    assert _owner(_index(newcomer), owner) is None


def test_ties_go_to_the_first_by_namespace_and_name() -> None:
    first = shop_body("a", "docks", created=OLD, topicPrefix="shared")
    second = shop_body("b", "docks", created=OLD, topicPrefix="shared")
    index = _index(second, first)
    assert _owner(index, second) == "docks/a"
    assert _owner(index, first) is None


def test_a_shop_being_deleted_does_not_keep_its_prefix() -> None:
    leaving = shop_body("pier", "docks", created=OLD, topicPrefix="shared", deleting=True)
    body = shop_body("harbour", "seaside", created=NEW, topicPrefix="shared")
    assert _owner(_index(leaving, body), body) is None


def test_a_deleted_shop_is_forgotten() -> None:
    owner = shop_body("pier", "docks", created=OLD, topicPrefix="shared")
    body = shop_body("harbour", "seaside", created=NEW, topicPrefix="shared")
    index = _index(owner, body)
    index.discard(owner["metadata"]["uid"])
    assert _owner(index, body) is None
    assert len(index) == 1
    index.discard(body["metadata"]["uid"])
    assert len(index) == 0
    assert index._by_prefix == {}


def test_a_shop_with_a_spec_this_operator_refuses_still_keeps_its_prefix() -> None:
    broken = shop_body("pier", "docks", created=OLD, topicPrefix="shared", partitions="many")
    broken["spec"]["tills"] = "not a mapping"
    body = shop_body("harbour", "seaside", created=NEW, topicPrefix="shared")
    assert _owner(_index(broken, body), body) == "docks/pier"


def test_a_default_prefix_is_shared_with_an_explicit_one() -> None:
    by_default = shop_body("harbour", "seaside", created=OLD)
    explicit = shop_body(
        "copy", "docks", created=NEW, topicPrefix=read_resource(by_default).topic_prefix
    )
    assert _owner(_index(by_default, explicit), explicit) == "seaside/harbour"


def test_a_dot_and_an_underscore_twin_is_the_same_prefix() -> None:
    """Kafka refuses fishshop_seaside_harbour.orders beside fishshop.seaside.harbour.orders:
    a twin must not take a prefix it could only half use, nor squat the default."""
    by_default = shop_body("harbour", "seaside", created=OLD)
    twin = shop_body(
        "copy",
        "docks",
        created=NEW,
        topicPrefix=read_resource(by_default).topic_prefix.replace(".", "_"),
    )
    index = _index(by_default, twin)
    assert _owner(index, twin) == "seaside/harbour"
    assert prefix_owner(read_resource(twin), [by_default, twin]) == "seaside/harbour"
    index.discard(read_resource(by_default).uid)
    assert _owner(index, twin) is None


def test_other_prefixes_do_not_count() -> None:
    other = shop_body("pier", "docks", created=OLD, topicPrefix="elsewhere")
    body = shop_body("harbour", "seaside", created=NEW, topicPrefix="shared")
    assert _owner(_index(other, body), body) is None


def test_a_changed_body_replaces_the_old_one() -> None:
    owner = shop_body("pier", "docks", created=OLD, topicPrefix="shared")
    body = shop_body("harbour", "seaside", created=NEW, topicPrefix="shared")
    index = _index(owner, body)
    index.put(shop_body("pier", "docks", created=OLD, topicPrefix="shared", deleting=True))
    assert _owner(index, body) is None
    assert len(index) == 2


def test_the_index_and_the_rules_on_a_list_agree() -> None:
    bodies = [
        shop_body(f"shop{i}", f"ns{i % 3}", created=f"2024-01-{1 + i % 5:02d}T00:00:00Z",
                  topicPrefix=f"p{i % 4}", deleting=i % 7 == 0)
        for i in range(40)
    ]  # fmt: skip
    index = _index(*bodies)
    for body in bodies:
        assert _owner(index, body) == prefix_owner(read_resource(body), bodies), body["metadata"]
