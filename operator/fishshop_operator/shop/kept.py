"""Topics kept for a shop: a record of who owns a prefix that outlives the operator.

A shop with ``topicDeletionPolicy: Retain`` leaves its topics behind when it is
deleted; the index of live shops (shop/index.py) then forgets it, and so would a
restarted operator. So once such a shop's topics are ready, the operator writes a
ConfigMap in the shop's namespace naming the shop, and a shop of another name that
asks for the same prefix (or its ``.``/``_`` twin) is refused those topics until
the record is deleted. Only a shop of the same name takes them back. Pure.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from fishshop_operator.shop.resource import ShopResource
from fishshop_workers.shop.topics import colliding_form

__all__ = ["KEPT_REASON", "kept_keeper", "kept_manifest", "kept_message", "kept_name"]

KEPT_REASON = "TopicsKeptForAnotherShop"


def kept_name(prefix: str) -> str:
    """The record's ConfigMap name for ``prefix``: one name for a prefix and its twin,
    a valid object name whatever the prefix (up to 249 characters) is."""
    digest = hashlib.sha256(colliding_form(prefix).encode()).hexdigest()[:16]
    return f"fishshop-kept-topics-{digest}"


def kept_manifest(shop: ShopResource) -> dict[str, Any]:
    """The record that this shop keeps its topic prefix."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": kept_name(shop.topic_prefix),
            "namespace": shop.namespace,
            "labels": {
                "app.kubernetes.io/name": "fishshop",
                "app.kubernetes.io/managed-by": "fishshop-operator",
                "fishshop.dev/kept-topics": "true",
            },
        },
        "data": {"shop": shop.name, "topicPrefix": shop.topic_prefix},
    }


def kept_keeper(record: Mapping[str, Any] | None, shop: ShopResource) -> str | None:
    """The name of the shop the record keeps ``shop``'s topics for, when it is another
    shop; None when there is no record, or it is this shop's."""
    if record is None:
        return None
    data = record.get("data") or {}
    keeper = str(data.get("shop") or "")
    return keeper if keeper != shop.name else None


def kept_message(shop: ShopResource, keeper: str) -> str:
    return (
        f"the topics {shop.topic_prefix}.* are kept for shop {shop.namespace}/{keeper}, "
        "deleted with topicDeletionPolicy Retain; name this shop "
        f"{keeper} to take them back, or delete ConfigMap "
        f"{kept_name(shop.topic_prefix)} to give them to another shop"
    )
