"""The ACL rules of a shop's Redis user (tried against a real Redis in
tests/integration/workers/cabinet/test_acl.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fishshop_workers.cabinet.acl import COMMANDS, acl_setuser, acl_user
from fishshop_workers.cabinet.keys import CabinetKeys


def test_the_command_holds_only_the_passwords_digest() -> None:
    keys = CabinetKeys("fishshop.fs-a.harbour")
    command = acl_setuser(keys, "s3cret")
    assert "s3cret" not in " ".join(command)
    assert command[:6] == ["ACL", "SETUSER", "fishshop.fs-a.harbour", "reset", "on", command[5]]
    assert command[5].startswith("#") and len(command[5]) == 65
    assert "~{fishshop.fs-a.harbour}:cabinet:*" in command
    assert command.index("-@all") < command.index("+evalsha")


def test_the_key_pattern_escapes_the_prefixs_glob_characters() -> None:
    keys = CabinetKeys("team[1]*")
    assert f"~{keys.pattern}" in acl_setuser(keys, "pw")
    assert keys.pattern == "{team\\[1\\]\\*}:cabinet:*"
    assert acl_user(keys) == "team[1]*"


def test_no_command_touches_every_key_or_the_server() -> None:
    assert not {"flushall", "flushdb", "keys", "config", "acl", "shutdown", "debug"} & set(COMMANDS)


def test_a_user_without_a_password_is_refused() -> None:
    with pytest.raises(ValueError, match="password"):
        acl_setuser(CabinetKeys("fishshop.a"), "")


def test_the_documented_command_grants_exactly_these_commands() -> None:
    docs = (Path(__file__).parents[4] / "docs" / "kubernetes.md").read_text()
    block = docs.split("redis-cli ACL SETUSER", 1)[1].split("```", 1)[0]
    granted = {word.strip("'\\").removeprefix("+") for word in block.split() if "+" in word}
    assert granted == set(COMMANDS)
