"""FishShop objects as the operator receives them, for the operator's unit tests."""

from __future__ import annotations

import base64
import copy
from typing import Any

from fishshop_operator.shop.resource import ShopResource, read_resource

SPEC: dict[str, Any] = {
    "open": True,
    "kafka": {"bootstrapServers": "kafka.kafka.svc:9092"},
    "partitions": 3,
    "tills": {"replicas": 3, "ordersPerMinute": 40},
    "preparers": {"replicas": 2, "prepSeconds": {"min": 0.5, "max": 1.0}},
    "cooks": {"replicas": 1, "cookSeconds": {"min": 3.0, "max": 3.2}},
    "topicDeletionPolicy": "Delete",
}
"""The spec of manifests/samples/harbour.yaml."""


def shop_body(
    name: str = "harbour",
    namespace: str = "seaside",
    *,
    generation: int = 1,
    created: str = "2024-05-01T10:00:00Z",
    deleting: bool = False,
    **spec: Any,
) -> dict[str, Any]:
    """A FishShop with the sample spec; each of ``spec`` replaces (or, for a mapping,
    updates) that key of the spec."""
    body_spec = copy.deepcopy(SPEC)
    for key, value in spec.items():
        if isinstance(value, dict) and isinstance(body_spec.get(key), dict):
            body_spec[key].update(value)
        else:
            body_spec[key] = value
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "uid": f"uid-{namespace}-{name}",
        "generation": generation,
        "creationTimestamp": created,
    }
    if deleting:
        metadata["deletionTimestamp"] = "2024-05-02T10:00:00Z"
    return {
        "apiVersion": "fishshop.dev/v1alpha1",
        "kind": "FishShop",
        "metadata": metadata,
        "spec": body_spec,
    }


def shop_resource(name: str = "harbour", namespace: str = "seaside", **kwargs: Any) -> ShopResource:
    return read_resource(shop_body(name, namespace, **kwargs))


def secret_body(
    name: str, namespace: str = "seaside", version: str = "1", **files: bytes
) -> dict[str, Any]:
    """A Secret as the API returns it; ``ca_pem=b"..."`` becomes the key ``ca.pem``."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": f"s-{name}",
            "resourceVersion": version,
        },
        "data": {key.replace("_", "."): base64.b64encode(v).decode() for key, v in files.items()},
    }
