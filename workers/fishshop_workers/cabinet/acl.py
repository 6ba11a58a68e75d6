"""A Redis ACL user per shop: its own cabinet's keys and the commands the cabinet
needs, nothing else.

Shops that share a Redis share it by convention only (the prefix in the keys) unless
each connects as a user of its own: with these rules, a shop's preparers, cook and
operator can run every cabinet operation on its keys, and cannot read, change or
delete another shop's, run a command that touches every key (FLUSHALL, KEYS), or
change the server (CONFIG, ACL, SHUTDOWN). docs/kubernetes.md ("Between tenants")
shows the command an admin runs and how a shop then uses its user.
"""

from __future__ import annotations

import hashlib
from typing import Final

from fishshop_workers.cabinet.keys import CabinetKeys

__all__ = ["COMMANDS", "acl_setuser", "acl_user"]

COMMANDS: Final[tuple[str, ...]] = (
    # The cabinet's decisions are Lua scripts, run by their digest and loaded once.
    "evalsha",
    "script|load",
    # ... which call these (a script's calls are checked against the user's rules).
    "get",
    "incr",
    "hget",
    "hset",
    "hdel",
    "hincrby",
    "hgetall",
    "expire",
    "del",
    # Outside the scripts: the counts, the health check, a deleted shop's keys.
    "ping",
    "scan",
    "unlink",
    # What the client sends on connecting (AUTH and HELLO need no permission; the
    # cabinet's client sends no CLIENT SETINFO).
    "select",
)
"""Every command a shop's cabinet sends. SCAN lists key names of the whole database
(not their values): a deleted shop's keys are found with it. The user keeps shops'
data apart, not their load: a shop's scripts and memory still share the server (a
script that never ends makes Redis answer BUSY to everyone; ``noeviction`` memory is
one pool), so one Redis per trust domain stays the stronger separation."""


def acl_user(keys: CabinetKeys) -> str:
    """The ACL user of a shop: its prefix (``fishshop.<namespace>.<shop>`` on
    Kubernetes), which no two shops share."""
    return keys.prefix


def acl_setuser(keys: CabinetKeys, password: str) -> list[str]:
    """The ``ACL SETUSER`` command, as arguments, that makes (or remakes) the shop's user
    with ``password``: only the password's SHA-256 is in it, so it can be logged."""
    if not password:
        raise ValueError("a shop's Redis user needs a password")
    digest = hashlib.sha256(password.encode()).hexdigest()
    return [
        "ACL",
        "SETUSER",
        acl_user(keys),
        "reset",  # nothing from an earlier definition survives
        "on",
        f"#{digest}",
        f"~{keys.pattern}",
        "resetchannels",
        "-@all",
        *(f"+{command}" for command in COMMANDS),
    ]
