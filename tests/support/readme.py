"""The README's commands, so that the tests run them as written.

A test that runs one names it with ``readme_command("...")``, which fails when the
README no longer says it; ``tests/unit/test_readme.py`` fails when the README says
a command that no test or CI step runs.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"

_SHELL_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)


def readme_commands(text: str | None = None) -> list[str]:
    """Every command in the README's ``sh`` blocks, in order, each as one line
    without its comment (continued lines joined), said once."""
    text = README.read_text(encoding="utf-8") if text is None else text
    commands: list[str] = []
    for block in _SHELL_BLOCK.findall(text):
        for line in block.replace("\\\n", " ").splitlines():
            command = " ".join(_without_comment(line).split())
            if command and command not in commands:
                commands.append(command)
    return commands


def _without_comment(line: str) -> str:
    """The line up to a ``#`` that starts a word outside quotes."""
    quote = ""
    for at, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (at == 0 or line[at - 1].isspace()):
            return line[:at]
    return line


def readme_command(command: str) -> str:
    """``command``, which the README must say as written (split it with ``shlex``, or
    give it to a shell)."""
    commands = readme_commands()
    if command not in commands:
        raise AssertionError(
            f"the README no longer says {command!r}; its commands are:\n" + "\n".join(commands)
        )
    return command


def fishshop_words(command: str) -> list[str]:
    """A README ``fishshop ...`` command's words after ``fishshop``, checked as
    ``readme_command`` does: run them with ``python -m fishshop`` (the same entry point
    as the installed script, from the code under test)."""
    words = shlex.split(readme_command(command))
    assert words[0] == "fishshop", command
    return words[1:]
