"""A shop's hot cabinet as its spec asks for it. Pure.

``spec.hotCabinet`` turns the cabinet on: the Redis that holds it, an optional
Secret with its password (and the CA for ``rediss://``), and how the cook keeps it
stocked. Absent, the shop runs without a cabinet, exactly as before. The CRD
refuses a bad section with the same words; the operator checks it again because a
CRD can be older than the operator or installed without its validation rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fishshop_operator.shop.names import check_credentials_secret, check_redis_url
from fishshop_workers.cabinet.decisions import MAX_BATCH, CabinetSettings, CabinetSettingsError
from fishshop_workers.shop.spec import ShopSpecError

__all__ = ["HotCabinetSpec", "read_hot_cabinet"]

SECTION = "spec.hotCabinet"
_DEFAULTS = CabinetSettings()
# CRD field -> (CabinetSettings field, lowest value, default).
_NUMBERS = {
    "codBatch": ("cod_batch", 1, _DEFAULTS.cod_batch),
    "chipsBatch": ("chips_batch", 1, _DEFAULTS.chips_batch),
    "codThreshold": ("cod_threshold", 0, _DEFAULTS.cod_threshold),
    "chipsThreshold": ("chips_threshold", 0, _DEFAULTS.chips_threshold),
}


@dataclass(frozen=True)
class HotCabinetSpec:
    """Where the shop's cabinet lives and how the cook keeps it stocked."""

    redis_url: str
    """``redis://HOST:PORT[/DB]`` or ``rediss://...``; never holds a password."""
    credentials_secret: str
    """A Secret in the shop's namespace with ``password`` (and ``ca.pem``); "" for none."""
    settings: CabinetSettings

    @property
    def tls(self) -> bool:
        return self.redis_url.startswith("rediss://")


def _whole(section: Mapping[str, Any], key: str, lowest: int, default: int) -> int:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lowest <= value <= MAX_BATCH:
        raise ShopSpecError(
            f"{SECTION}.{key} must be a whole number from {lowest} to {MAX_BATCH}, not {value!r}"
        )
    return value


def read_hot_cabinet(spec: Mapping[str, Any]) -> HotCabinetSpec | None:
    """The cabinet ``spec`` asks for, None when it asks for none; raises ShopSpecError."""
    section = spec.get("hotCabinet")
    if section is None:
        return None
    if not isinstance(section, Mapping):
        raise ShopSpecError(f"{SECTION} must be a mapping with at least redisUrl")
    url = section.get("redisUrl")
    if not isinstance(url, str) or not url:
        raise ShopSpecError(f"{SECTION}.redisUrl is required: the Redis that holds the cabinet")
    check_redis_url(url)
    secret = section.get("credentialsSecret") or ""
    if not isinstance(secret, str):
        raise ShopSpecError(f"{SECTION}.credentialsSecret must be a Secret's name")
    check_credentials_secret(secret)
    numbers = {
        field: _whole(section, key, lowest, default)
        for key, (field, lowest, default) in _NUMBERS.items()
    }
    for item in ("cod", "chips"):
        threshold, batch = numbers[f"{item}_threshold"], numbers[f"{item}_batch"]
        if threshold > batch:
            raise ShopSpecError(
                f"{SECTION}.{item}Threshold ({threshold}) must not be above {item}Batch "
                f"({batch}): one batch must bring the cabinet back up to the threshold"
            )
    try:
        settings = CabinetSettings(**numbers)
    except CabinetSettingsError as error:  # the rules above are its own; kept in step
        raise ShopSpecError(f"{SECTION}: {error}") from None
    return HotCabinetSpec(url, secret, settings)
