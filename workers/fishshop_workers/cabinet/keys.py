"""Where one shop's cabinet lives in Redis, and the key of a consumed record.

Every key starts with the shop's prefix in a hash tag, ``{fishshop.harbour}:...``,
so a Redis Cluster keeps one shop's keys in one slot: a Lua script may only touch
keys of one slot, and every decision is one script.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Final, NamedTuple

from fishshop_workers.shop.roles import KITCHEN_ROLES, KitchenRole

__all__ = ["RECORD_TTL", "ROLES", "CabinetKeys", "RecordKey", "Role", "glob_escaped"]

Role = KitchenRole
ROLES: Final[tuple[Role, ...]] = KITCHEN_ROLES

RECORD_TTL: Final = timedelta(days=7)
"""A safety net: how long a cabinet nobody uses keeps its keys. A decision is needed
only until its record's transaction commits (the worker then forgets it), so a busy
shop holds only the decisions in flight; a shop idle for a week is forgotten whole."""


class RecordKey(NamedTuple):
    """The consumed Kafka record a decision is made for.

    A decision belongs to a record, not to an order: an order passes a preparer
    twice when it needs the cook (once to be sent, once ready), and each pass is
    its own record with its own decision.
    """

    role: Role
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class CabinetKeys:
    """The Redis keys of one shop's cabinet."""

    prefix: str
    """The shop's prefix, ``fishshop.<shop>`` locally (the topics' prefix)."""

    def __post_init__(self) -> None:
        if not self.prefix or any(c in "{} " for c in self.prefix) or not self.prefix.isprintable():
            raise ValueError(
                f"shop prefix {self.prefix!r} cannot be a Redis hash tag: give a non-empty "
                "name without braces or spaces, such as fishshop.harbour"
            )

    @property
    def tag(self) -> str:
        return "{" + self.prefix + "}"

    @property
    def pattern(self) -> str:
        """A Redis glob matching every key of this cabinet and no other shop's (the
        prefix's glob characters escaped): what ``HotCabinet.empty`` deletes and what
        the shop's ACL user may touch."""
        return glob_escaped(self.tag) + ":cabinet:*"

    @property
    def counts(self) -> str:
        """A hash, ``<item>:<book>`` to a count (books: cabinet, fried, served, aside, batches)."""
        return f"{self.tag}:cabinet:counts"

    @property
    def set_aside(self) -> str:
        """A hash, order id to the JSON of the portions set aside for that order."""
        return f"{self.tag}:cabinet:aside"

    @property
    def day(self) -> str:
        """A counter raised by every reset. A remembered decision names its day, so
        none is replayed into a later day (topics made again start at offset 0)."""
        return f"{self.tag}:cabinet:day"

    def decided(self, key: RecordKey) -> str:
        """A hash per (role, topic, partition): the decisions made for its records
        whose transactions are not known to have committed, each under
        ``record_field``, and the partition's committed offset under ``committed``.

        Trimmed below the committed offset after each commit, so it holds what is in
        flight, not the shop's history."""
        role, topic, partition, offset = key
        if role not in ROLES:
            raise ValueError(f"role {role!r} is not one of {', '.join(ROLES)}")
        if not topic or any(c.isspace() for c in topic):
            raise ValueError(f"topic {topic!r} is not a Kafka topic name")
        for name, number in (("partition", partition), ("offset", offset)):
            if isinstance(number, bool) or not isinstance(number, int) or number < 0:
                raise ValueError(f"{name} {number!r} is not a Kafka {name}")
        return f"{self.tag}:cabinet:decided:{role}:{topic}:{partition}"

    @staticmethod
    def record_field(key: RecordKey, order_id: str = "") -> str:
        """The field of a record's decision: its offset, and a digest of its order's id.

        The order is named too: a replay carries the same order, while an order at the
        same topic, partition and offset that is not the same (the shop's topics were
        made again) is a new record with a decision of its own, never a conflict that
        would stop the shop."""
        if not order_id:
            return str(key.offset)
        digest = hashlib.sha256(order_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return f"{key.offset}:{digest}"

    def all(self) -> tuple[str, str, str]:
        """The keys every decision script reads and writes, besides its record's."""
        return (self.counts, self.set_aside, self.day)


def glob_escaped(text: str) -> str:
    """``text`` matched literally by Redis's glob patterns."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
