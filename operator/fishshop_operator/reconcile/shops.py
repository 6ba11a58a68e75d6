"""All the operator holds about the shops it knows: memories, Kafka clients, Secrets.

One ShopMemory per shop, and what shops share: the Kafka client pool and the Secret
cache. The Reconciler and the Autoscaler hold the same ShopMemories, so a shop is
forgotten once, in one ``pop``, for both.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from fishshop_operator.autoscale.memory import AutoscaleMemory
from fishshop_operator.kafka.clients import KafkaClients
from fishshop_operator.kube.secrets import SecretCache, SecretReader
from fishshop_operator.reconcile.memory import ShopMemory

__all__ = ["Key", "ShopMemories", "stop_looking"]

Key = tuple[str, str]
"""(namespace, name) of a shop."""


class ShopMemories:
    """The shops' memories by (namespace, name), their Kafka clients and their Secrets."""

    def __init__(
        self,
        api: SecretReader,
        scratch: Path,
        *,
        clock: Callable[[], float] = time.monotonic,
        kafka: KafkaClients | None = None,
    ) -> None:
        self.kafka = kafka if kafka is not None else KafkaClients()
        """Kafka clients shared by the shops of one Kafka, across reconciles and looks."""
        self.secrets = SecretCache(api, scratch, clock=clock)
        self._records: dict[Key, ShopMemory] = {}

    def __repr__(self) -> str:
        return f"ShopMemories({self._records!r})"

    def __contains__(self, key: object) -> bool:
        return key in self._records

    def get(self, key: Key) -> ShopMemory | None:
        return self._records.get(key)

    def of(self, key: Key) -> ShopMemory:
        """The shop's memory, begun now if the shop was not known."""
        return self._records.setdefault(key, ShopMemory())

    def keys(self) -> set[Key]:
        return set(self._records)

    def items(self) -> list[tuple[Key, ShopMemory]]:
        """A snapshot, safe to iterate while shops are forgotten."""
        return list(self._records.items())

    def forget(self, key: Key) -> None:
        """Let go of the shop: its memory, its claim on Kafka clients, and a look at its
        queues under way (unless that look is the caller)."""
        memory = self._records.pop(key, None)
        self.kafka.release(key)
        if memory is not None:
            stop_looking(memory.autoscale)

    async def close(self) -> None:
        """Close the Kafka clients (the operator stops)."""
        await self.kafka.close()


def stop_looking(state: AutoscaleMemory) -> None:
    """Cancel the autoscaler's look at a shop, unless it is the task asking."""
    task, state.looking = state.looking, None
    if task is not None and task is not asyncio.current_task():
        task.cancel()
