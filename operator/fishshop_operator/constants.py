"""Names the operator shares with the cluster, written once.

Its API (group, version, kind, plural), finalizer, annotation prefix, label keys and
the name it manages things by. The CRD (manifests/crd/fishshops.fishshop.dev.yaml)
spells the same; tests/unit/operator/test_constants.py holds the two together.
"""

from __future__ import annotations

from typing import Final

from fishshop_workers.shop.spec import API_VERSION, GROUP, KIND, VERSION

__all__ = [
    "ANNOTATION_PREFIX",
    "API_VERSION",
    "DIFF_BASE_KEY",
    "FIELD_MANAGER",
    "FINALIZER",
    "GROUP",
    "INSTANCE_LABEL",
    "KIND",
    "MANAGED_BY",
    "MANAGED_BY_LABEL",
    "NAME_LABEL",
    "PART_OF",
    "PART_OF_LABEL",
    "PLURAL",
    "ROLE_LABEL",
    "SHOP_LABEL",
    "VERSION",
]

PLURAL: Final = "fishshops"

FINALIZER: Final = f"{GROUP}/delete-topics"
"""Held by a shop whose topics or connector go with it, until they are gone."""
ANNOTATION_PREFIX: Final = GROUP
"""kopf keeps its progress and the last handled spec in annotations under this prefix."""
DIFF_BASE_KEY: Final = "last-handled-configuration"

MANAGED_BY: Final = "fishshop-operator"
"""The ``app.kubernetes.io/managed-by`` value of every object the operator makes."""
FIELD_MANAGER: Final = MANAGED_BY
"""Who owns the fields of a server-side apply, and who posts the shop's events."""

SHOP_LABEL: Final = f"{GROUP}/shop"
ROLE_LABEL: Final = "app.kubernetes.io/component"
"""till, preparer or cook (``fishshop_workers.shop.roles``)."""
NAME_LABEL: Final = "app.kubernetes.io/name"
INSTANCE_LABEL: Final = "app.kubernetes.io/instance"
MANAGED_BY_LABEL: Final = "app.kubernetes.io/managed-by"
PART_OF_LABEL: Final = "app.kubernetes.io/part-of"
PART_OF: Final = "fishshop"
"""The value of the name and part-of labels."""
