"""Every command in the README is run as written: by a test that names it with
``readme_command`` (or ``fishshop_words``), by a step CI runs, or, where nothing
here can run it, by nothing, and a test that says why."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.support.readme import readme_command, readme_commands

REPO = Path(__file__).resolve().parents[2]

RUN_BY_CI = {
    "make test": ".ci/run",
    "make kind-up": "scripts/kind-check.sh",
    "make kind-e2e": "scripts/kind-check.sh",
    "make kind-down": "scripts/kind-check.sh",
    "helm test fishshop -n fishshop-system": "scripts/kind-up.sh",
}
"""Commands that CI's own steps run as written (``.ci/run`` runs ``make test`` and
``make kind-check``), and the file that runs each."""

NOT_RUN_HERE = {
    "make image IMAGE=registry.example/fishshop:0.1.0": (
        "the Dockerfile's default base is a registry's Python image and no registry "
        "answers here; kind-up builds the same Dockerfile on a base made here"
    ),
    "docker push registry.example/fishshop:0.1.0": (
        "it needs an image registry, and none answers here"
    ),
}
"""Commands that cannot run on the machines the tests run on, and why."""


def _named_by_tests() -> set[str]:
    """The commands that tests name with ``readme_command`` or ``fishshop_words``
    (string arguments, implicit concatenation joined)."""
    named: set[str] = set()
    for path in (REPO / "tests").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("readme_command", "fishshop_words")
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                named.add(node.args[0].value)
    return named


def test_the_readme_has_commands_to_check() -> None:
    commands = readme_commands()
    assert commands[:2] == ["make demo", "make test"]
    assert "fishshop audit --wait 60" in commands
    assert len(commands) > 25


def test_every_readme_command_is_run_by_a_test_or_ci_or_says_why_not() -> None:
    claimed = _named_by_tests() | set(RUN_BY_CI) | set(NOT_RUN_HERE)
    unclaimed = [command for command in readme_commands() if command not in claimed]
    assert unclaimed == [], (
        "run each in a test with readme_command(...), or add it to RUN_BY_CI or "
        "NOT_RUN_HERE with the reason"
    )


def test_what_tests_name_is_what_the_readme_says() -> None:
    stale = sorted(_named_by_tests() - set(readme_commands()))
    assert stale == []


@pytest.mark.parametrize("command", sorted(RUN_BY_CI))
def test_ci_runs_the_command_as_written(command: str) -> None:
    script = (REPO / RUN_BY_CI[command]).read_text(encoding="utf-8")
    lines = [line.split("#")[0] for line in script.splitlines()]
    whole = re.compile(re.escape(command) + r"(?![\w-])")  # make test, not make test-unit
    assert any(whole.search(line) for line in lines), f"{RUN_BY_CI[command]} no longer runs it"
    assert readme_command(command)


@pytest.mark.parametrize("command", sorted(NOT_RUN_HERE))
def test_commands_that_cannot_run_here_say_why(command: str) -> None:
    assert readme_command(command)
    pytest.skip(f"{command!r} is not run: {NOT_RUN_HERE[command]}")


def test_a_readme_line_is_its_command_without_its_comment() -> None:
    text = (
        "```sh\n"
        "make demo    # the shop\n"
        "helm install x \\\n  --set a=b   # continued\n"
        'kubectl patch s -p \'{"a":"#b"}\'\n'
        "make demo\n"
        "```\n"
        "```\nnot a shell block\n```\n"
    )
    assert readme_commands(text) == [
        "make demo",
        "helm install x --set a=b",
        'kubectl patch s -p \'{"a":"#b"}\'',
    ]
