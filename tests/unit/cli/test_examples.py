"""Each command's help ends with examples, and each example parses as written, so an
option renamed or a value refused breaks this test, not a reader's first try."""

from __future__ import annotations

import argparse
import os
import shlex

import pytest

from fishshop.examples import EXAMPLES
from fishshop.main import COMMANDS, build_parser


def _help(command: str, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    return capsys.readouterr().out


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_commands_help_ends_with_examples(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _help(command, capsys)
    examples = text.split("\nexamples:\n", 1)[1]
    lines = [line.strip() for line in examples.splitlines() if line.strip()]
    runs = [line for line in lines if not line.startswith("#")]
    assert runs and all(f"fishshop {command}" in line for line in runs), runs


@pytest.mark.parametrize(
    ("command", "line"),
    [(command, line) for command, pairs in EXAMPLES.items() for line, _ in pairs],
)
def test_each_example_parses_as_written(
    command: str, line: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [n for n in os.environ if n.startswith("FISHSHOP_")]:
        monkeypatch.delenv(name)
    words = shlex.split(line)
    assert words[:2] == ["fishshop", command]
    args = build_parser().parse_args(words[1:])
    assert isinstance(args, argparse.Namespace) and args.command == command
