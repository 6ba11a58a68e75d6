"""What the operator is told at start: where to watch, which image its pods run."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

__all__ = ["CONCURRENCY_VARIABLE", "DEFAULT_CONCURRENCY", "DEFAULT_IMAGE", "OperatorConfig"]

DEFAULT_IMAGE = "ghcr.io/fishshop/fishshop:0.1.0"
"""What the release publishes (.github/workflows/release.yml)."""
DEFAULT_CONCURRENCY = 16
CONCURRENCY_VARIABLE = "FISHSHOP_OPERATOR_CONCURRENCY"


def _concurrency_from_environment() -> int:
    raw = os.environ.get(CONCURRENCY_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_CONCURRENCY
    try:
        return int(raw)
    except ValueError:
        raise ValueError(
            f"{CONCURRENCY_VARIABLE} must be a whole number of at least 1, not {raw!r}"
        ) from None


@dataclass(frozen=True)
class OperatorConfig:
    namespaces: tuple[str, ...] = field(default_factory=tuple)
    """Namespaces (or glob patterns) to watch; empty: the whole cluster."""
    worker_image: str = DEFAULT_IMAGE
    metrics_port: int = 8000
    health_port: int = 8080
    resync: float = 30.0
    """Seconds between full reconciles of each shop (repairs drift in Kafka)."""
    retry: float = 10.0
    """Seconds before a failed reconcile is tried again."""
    delete_patience: float = 60.0
    """Seconds to keep trying to delete a shop's topics before letting it go."""
    local_endpoints: bool = False
    """Call a shop's Connect, Redis or PostgreSQL on loopback or link-local addresses
    (a laptop, tests); refused by default (fishshop_operator.endpoints)."""
    any_prefix: bool = False
    """Let a shop choose any spec.topicPrefix; by default a custom prefix starts with
    the shop's namespace (fishshop_workers.shop.topics.prefix_of_namespace)."""
    concurrency: int = field(default_factory=_concurrency_from_environment)
    """Shops the resync loop reconciles at the same time, so that one whose Kafka does
    not answer holds up only itself (env FISHSHOP_OPERATOR_CONCURRENCY, default 16)."""

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError(
                f"the operator's concurrency ({CONCURRENCY_VARIABLE}) must be at least 1, "
                f"not {self.concurrency}"
            )
