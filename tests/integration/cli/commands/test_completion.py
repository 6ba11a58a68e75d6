"""``fishshop completion``: each shell's script, and the completions it asks for,
answered from the parser by the installed ``fishshop`` (argcomplete's protocol, as the
scripts speak it: the command line in COMP_LINE, the answer in a file)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from fishshop.demo.scenarios import SCENARIOS
from tests.support.readme import readme_command


def _completions(line: str, tmp_path: Path) -> list[str]:
    answer = tmp_path / "answer"
    env = {
        **os.environ,
        "_ARGCOMPLETE": "1",
        "_ARGCOMPLETE_SHELL": "bash",
        "COMP_LINE": line,
        "COMP_POINT": str(len(line)),
        "COMP_TYPE": "9",
        "_ARGCOMPLETE_IFS": "\n",
        "_ARGCOMPLETE_STDOUT_FILENAME": str(answer),
    }
    result = subprocess.run(
        [sys.executable, "-m", "fishshop"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    said = answer.read_text()
    return sorted(word.strip() for word in said.split("\n")) if said else []


@pytest.mark.parametrize(
    ("shell", "says"),
    [("bash", "complete -o nospace"), ("zsh", "#compdef fishshop"), ("fish", "complete")],
)
def test_each_shell_gets_a_script_for_fishshop(shell: str, says: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fishshop", "completion", shell],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert says in result.stdout and "fishshop" in result.stdout


def test_commands_options_and_scenarios_complete_from_the_parser(tmp_path: Path) -> None:
    assert "demo" in _completions("fishshop de", tmp_path)
    assert "operator" in _completions("fishshop op", tmp_path)
    assert "--scenario" in _completions("fishshop demo --scen", tmp_path)
    scenarios = _completions("fishshop demo --scenario ", tmp_path)
    assert set(SCENARIOS) <= set(scenarios)
    assert "--sasl-mechanism" in _completions("fishshop preparer --sasl-m", tmp_path)


def test_an_unknown_shell_is_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fishshop", "completion", "tcsh"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "invalid choice: 'tcsh'" in result.stderr


def test_the_readmes_eval_line_registers_the_completion_in_bash(tmp_path: Path) -> None:
    """`eval "$(fishshop completion bash)"` as written, in bash, with a `fishshop` on
    the PATH that runs the code under test: bash then completes fishshop with it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "fishshop"
    script.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m fishshop "$@"\n')
    script.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    line = readme_command('eval "$(fishshop completion bash)"')
    result = subprocess.run(
        ["bash", "-c", f"{line} && complete -p fishshop"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(" fishshop"), result.stdout
    assert "-F " in result.stdout, result.stdout
