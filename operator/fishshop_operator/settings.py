"""What the operator is told at start: where to watch, which image its pods run."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["DEFAULT_IMAGE", "OperatorConfig"]

DEFAULT_IMAGE = "fishshop:0.1.0"


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
