"""The shop's topics: their names and what must change to match a shop's spec.

Pure: the Kafka calls that carry out a plan live in ``kafka_topics``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from fishshop_workers.errors import InputError

__all__ = [
    "PartitionDecreaseError",
    "ShopTopics",
    "TopicPlan",
    "colliding_form",
    "cooks_group",
    "default_prefix",
    "plan_topics",
    "prefix_of_namespace",
    "preparers_group",
    "topic_prefix",
]


class ShopTopics(NamedTuple):
    """The four topics of one shop."""

    orders: str
    cook: str
    served: str
    dlq: str

    @classmethod
    def from_prefix(cls, prefix: str) -> ShopTopics:
        return cls(f"{prefix}.orders", f"{prefix}.cook", f"{prefix}.served", f"{prefix}.dlq")

    @property
    def prefix(self) -> str:
        """The prefix the four names share."""
        return self.orders.removesuffix(".orders")


def preparers_group(prefix: str) -> str:
    """The consumer group of a shop's preparers (on its orders topic)."""
    return f"{prefix}.preparers"


def cooks_group(prefix: str) -> str:
    """The consumer group of a shop's cooks (on its cook topic)."""
    return f"{prefix}.cooks"


def default_prefix(shop: str, namespace: str | None = None) -> str:
    """``fishshop.<namespace>.<shop>`` on Kubernetes, ``fishshop.<shop>`` locally."""
    return f"fishshop.{namespace}.{shop}" if namespace else f"fishshop.{shop}"


def topic_prefix(shop: str, namespace: str | None = None, chosen: str | None = None) -> str:
    """The prefix of a shop's topics: the one chosen for it (``spec.topicPrefix``,
    ``--topic-prefix``), else the default."""
    return chosen or default_prefix(shop, namespace)


def prefix_of_namespace(prefix: str, namespace: str) -> bool:
    """Whether a shop of ``namespace`` may use topic prefix ``prefix`` where prefixes
    are tied to namespaces: its namespace's default form (``fishshop.<namespace>.``)
    or the namespace's name as its first part (``<namespace>`` or ``<namespace>.…``).
    A namespace's name has no ``.`` or ``_``, so no two namespaces can claim one
    prefix, nor its Kafka twin (``.`` and ``_`` alike); a namespace named
    ``fishshop`` gets only its default form, which would otherwise hold everyone's."""
    if prefix.startswith(f"fishshop.{namespace}."):
        return True
    return namespace != "fishshop" and (prefix == namespace or prefix.startswith(f"{namespace}."))


class PartitionDecreaseError(InputError, ValueError):
    """Kafka cannot take partitions away from a topic."""


@dataclass(frozen=True)
class TopicPlan:
    """What to do so that a shop's topics exist with the partitions it asks for."""

    create: dict[str, int]
    """Topics to create, with their partitions."""
    grow: dict[str, int]
    """Existing topics to grow, with their new partition count."""

    @property
    def empty(self) -> bool:
        return not self.create and not self.grow


def desired_partitions(topics: ShopTopics, partitions: int) -> dict[str, int]:
    """Orders has the shop's partitions; cook and served follow it so that the
    cook and the preparers can share the work; the dead-letter topic needs one."""
    if partitions < 1:
        raise ValueError(f"a shop needs at least one partition, not {partitions}")
    return {
        topics.orders: partitions,
        topics.cook: partitions,
        topics.served: partitions,
        topics.dlq: 1,
    }


def plan_topics(desired: dict[str, int], existing: dict[str, int]) -> TopicPlan:
    """Compare wanted partitions with what Kafka has; refuse any decrease."""
    create: dict[str, int] = {}
    grow: dict[str, int] = {}
    for name, wanted in desired.items():
        have = existing.get(name)
        if have is None:
            create[name] = wanted
        elif wanted > have:
            grow[name] = wanted
        elif wanted < have and name.endswith((".orders", ".cook", ".served")):
            raise PartitionDecreaseError(
                f"topic {name} has {have} partitions and Kafka cannot remove "
                f"partitions: ask for {have} or more"
            )
    return TopicPlan(create=create, grow=grow)


def colliding_form(prefix: str) -> str:
    """The form under which Kafka compares topic names: it refuses a topic whose name
    equals an existing one's once "." and "_" are read as one character, so two
    prefixes with the same form are one prefix (``a.b`` and ``a_b`` collide)."""
    return prefix.replace(".", "_")
