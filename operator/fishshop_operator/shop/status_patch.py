"""Whether a merge patch of a shop's status would change anything.

Most reconciles (every resync, every event from a workload that is already ready) find
the shop as its status already says; sending the same status again costs a request per
shop and round and wakes every watcher of the shop for nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["changes"]


def changes(current: Mapping[str, Any] | None, patch: Mapping[str, Any]) -> bool:
    """True when applying ``patch`` as a JSON merge patch (RFC 7386) to ``current``
    gives something other than ``current``: a null removes a key, a mapping merges
    into a mapping, anything else (lists too) replaces."""
    current = current or {}
    for key, value in patch.items():
        if value is None:
            if key in current:
                return True
        elif isinstance(value, Mapping):
            before = current.get(key)
            if not isinstance(before, Mapping) or changes(before, value):
                return True
        elif key not in current or current[key] != value:
            return True
    return False
