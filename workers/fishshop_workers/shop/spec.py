"""A shop's specification: what a FishShop resource's ``spec`` asks for.

Pure. Both ``fishshop demo -f shop.yaml`` and the operator read specs here, so
a shop means the same thing on a laptop and in a cluster.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fishshop_workers.cabinet.decisions import CabinetSettings
from fishshop_workers.errors import InputError

__all__ = [
    "API_VERSION",
    "GROUP",
    "KIND",
    "MAX_WORK_SECONDS",
    "VERSION",
    "CookSpec",
    "PreparerSpec",
    "ShopSpec",
    "ShopSpecError",
    "TillSpec",
    "read_manifest",
]

GROUP = "fishshop.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "FishShop"
"""The custom resource, named once: the operator's constants take these."""
MAX_WORK_SECONDS = 60.0
"""Longest preparing or cooking of one order: it happens inside a Kafka transaction
and between two polls, so it must stay well inside the workers' timeouts."""


class ShopSpecError(InputError, ValueError):
    """The shop's spec cannot be run; the message names the field."""


@dataclass(frozen=True)
class TillSpec:
    replicas: int = 3
    orders_per_minute: float = 40.0


@dataclass(frozen=True)
class PreparerSpec:
    replicas: int = 2
    prep_min: float = 0.5
    prep_max: float = 1.0


@dataclass(frozen=True)
class CookSpec:
    replicas: int = 1
    cook_min: float = 3.0
    cook_max: float = 3.2


@dataclass(frozen=True)
class ShopSpec:
    name: str
    open: bool = True
    partitions: int = 3
    bootstrap_servers: str = ""
    tills: TillSpec = field(default_factory=TillSpec)
    preparers: PreparerSpec = field(default_factory=PreparerSpec)
    cooks: CookSpec = field(default_factory=CookSpec)
    topic_prefix: str | None = None
    hot_cabinet: CabinetSettings | None = None
    """The hot cabinet is on, stocked by the cook by these rules; None: no cabinet
    (preparers serve as if the food appeared from nowhere, as before)."""

    @property
    def plaice(self) -> bool:
        """Plaice is on the menu only while someone can cook it."""
        return self.cooks.replicas > 0

    def check(self) -> None:
        _at_least(self.partitions, 1, "spec.partitions")
        for name, replicas in (
            ("tills", self.tills.replicas),
            ("preparers", self.preparers.replicas),
            ("cooks", self.cooks.replicas),
        ):
            _at_least(replicas, 0, f"spec.{name}.replicas")
        if self.tills.orders_per_minute < 0:
            raise ShopSpecError("spec.tills.ordersPerMinute must not be negative")
        for path, low, high in (
            ("spec.preparers.prepSeconds", self.preparers.prep_min, self.preparers.prep_max),
            ("spec.cooks.cookSeconds", self.cooks.cook_min, self.cooks.cook_max),
        ):
            if low < 0 or high < 0:
                raise ShopSpecError(f"{path} must not be negative")
            if max(low, high) > MAX_WORK_SECONDS:
                raise ShopSpecError(
                    f"{path} must be at most {MAX_WORK_SECONDS:g} seconds, not "
                    f"{max(low, high):g}: one order's work must stay well inside the "
                    "workers' Kafka timeouts"
                )
            if low > high:
                raise ShopSpecError(f"{path}.min ({low}) is above {path}.max ({high})")
        if self.hot_cabinet is not None and self.cooks.replicas < 1:
            raise ShopSpecError(
                "spec.hotCabinet needs at least one cook (spec.cooks.replicas): an order "
                "the cabinet cannot serve goes to the cook"
            )


def _at_least(value: int, low: int, path: str) -> None:
    if value < low:
        raise ShopSpecError(f"{path} must be at least {low}, not {value}")


def _section(spec: dict[str, Any], name: str) -> dict[str, Any]:
    value = spec.get(name) or {}
    if not isinstance(value, dict):
        raise ShopSpecError(f"spec.{name} must be a mapping")
    return value


def _range(
    section: dict[str, Any], key: str, default: tuple[float, float], path: str
) -> tuple[float, float]:
    value = section.get(key) or {}
    if not isinstance(value, dict):
        raise ShopSpecError(f"{path}.{key} must be a mapping with min and max")
    return _number(value, "min", default[0], f"{path}.{key}"), _number(
        value, "max", default[1], f"{path}.{key}"
    )


def _number(section: dict[str, Any], key: str, default: float, path: str) -> float:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ShopSpecError(f"{path}.{key} must be a number, not {value!r}")
    return float(value)


def _integer(section: dict[str, Any], key: str, default: int, path: str) -> int:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ShopSpecError(f"{path}.{key} must be a whole number, not {value!r}")
    return value


def read_manifest(document: dict[str, Any]) -> ShopSpec:
    """A ShopSpec from a FishShop manifest (as parsed from YAML)."""
    if document.get("kind") != KIND:
        raise ShopSpecError(f"expected kind {KIND}, found {document.get('kind')!r}")
    metadata = document.get("metadata") or {}
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if not isinstance(name, str) or not name:
        raise ShopSpecError("metadata.name is required: it names the shop")
    spec = document.get("spec") or {}
    if not isinstance(spec, dict):
        raise ShopSpecError("spec must be a mapping")
    tills = _section(spec, "tills")
    preparers = _section(spec, "preparers")
    cooks = _section(spec, "cooks")
    kafka = _section(spec, "kafka")
    prep = _range(preparers, "prepSeconds", (0.5, 1.0), "spec.preparers")
    cook = _range(cooks, "cookSeconds", (3.0, 3.2), "spec.cooks")
    is_open = spec.get("open", True)
    if not isinstance(is_open, bool):
        raise ShopSpecError(f"spec.open must be true or false, not {is_open!r}")
    bootstrap = kafka.get("bootstrapServers") or ""
    if not isinstance(bootstrap, str):
        raise ShopSpecError("spec.kafka.bootstrapServers must be a string like host:9092")
    prefix = spec.get("topicPrefix") or None
    if prefix is not None and not isinstance(prefix, str):
        raise ShopSpecError("spec.topicPrefix must be a string")
    shop = ShopSpec(
        name=name,
        open=is_open,
        partitions=_integer(spec, "partitions", 3, "spec"),
        bootstrap_servers=bootstrap,
        tills=TillSpec(
            replicas=_integer(tills, "replicas", 3, "spec.tills"),
            orders_per_minute=_number(tills, "ordersPerMinute", 40.0, "spec.tills"),
        ),
        preparers=PreparerSpec(
            replicas=_integer(preparers, "replicas", 2, "spec.preparers"),
            prep_min=prep[0],
            prep_max=prep[1],
        ),
        cooks=CookSpec(
            replicas=_integer(cooks, "replicas", 1, "spec.cooks"),
            cook_min=cook[0],
            cook_max=cook[1],
        ),
        topic_prefix=prefix,
    )
    shop.check()
    return shop
