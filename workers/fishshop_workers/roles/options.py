"""What every worker is told at start: its shop, its topics, its Kafka."""

from __future__ import annotations

from dataclasses import dataclass

from fishshop_workers.kafka.settings import KafkaSettings
from fishshop_workers.shop.topics import ShopTopics, cooks_group, preparers_group

__all__ = ["WorkerOptions"]


@dataclass(frozen=True)
class WorkerOptions:
    """The part of a worker's configuration that does not depend on its role."""

    shop: str
    topic_prefix: str
    kafka: KafkaSettings
    worker_name: str

    @property
    def topics(self) -> ShopTopics:
        return ShopTopics.from_prefix(self.topic_prefix)

    @property
    def preparers_group(self) -> str:
        return preparers_group(self.topic_prefix)

    @property
    def cooks_group(self) -> str:
        return cooks_group(self.topic_prefix)
