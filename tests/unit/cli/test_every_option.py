"""Every option of every command, given a wrong value on the command line or in its
FISHSHOP_ variable, ends in exit 2 with one line that names it: a new option cannot
slip through with a traceback or a reinterpreted value."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from fishshop.main import _parse, build_parser
from fishshop.options import env_name


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(commands.choices)


def _checked_options() -> Iterator[tuple[str, str, argparse.Action]]:
    """(command, option, action) for every option whose value is checked: a type
    other than plain text or a path, or a fixed set of choices."""
    for command, parser in _commands().items():
        for action in parser._actions:
            if not action.option_strings or action.nargs == 0:
                continue
            if action.choices is None and action.type in (None, str, Path):
                continue
            flag = next(f for f in action.option_strings if f.startswith("--"))
            yield command, flag, action


CHECKED = sorted((c, f) for c, f, _ in _checked_options())


def _numeric(action: argparse.Action) -> bool:
    if action.type is None or action.choices is not None:
        return False
    try:
        return isinstance(action.type("1"), int | float)
    except (argparse.ArgumentTypeError, ValueError, TypeError):
        return False


def test_the_walk_finds_the_options_it_must() -> None:
    found = set(CHECKED)
    for expected in [
        ("demo", "--duration"),
        ("till", "--metrics-port"),
        ("till", "--orders-per-minute"),
        ("preparer", "--prep-min"),
        ("operator", "--resync-seconds"),
        ("audit", "--sasl-mechanism"),
    ]:
        assert expected in found
    assert len(found) > 40


@pytest.mark.parametrize(("command", "flag"), CHECKED, ids=[f"{c} {f}" for c, f in CHECKED])
def test_a_wrong_value_is_one_line_and_exit_2(
    command: str, flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    action = next(a for c, f, a in _checked_options() if (c, f) == (command, flag))
    wrong = ["nonsense!"] + (["-5"] if _numeric(action) else [])
    for value in wrong:
        with pytest.raises(SystemExit) as stopped:
            _parse(build_parser(), [command, f"{flag}={value}"])
        assert stopped.value.code == 2, (flag, value)
        said = capsys.readouterr().err.splitlines()
        assert said[0].startswith(f"fishshop {command}: error: argument {flag}"), said
        assert said[1:] == [f"Try 'fishshop {command} --help'."]


@pytest.mark.parametrize(("command", "flag"), CHECKED, ids=[f"{c} {f}" for c, f in CHECKED])
def test_a_wrong_variable_is_named(
    command: str, flag: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same value from the option's variable: the line names the variable. (Each
    command's own variable where two commands mean the option differently.)"""
    if flag == "--log-level":  # read before the command: test_the_log_level_variable
        return
    candidates = [env_name(flag), env_name(f"{command}-{flag.lstrip('-')}")]
    action = next(a for c, f, a in _checked_options() if (c, f) == (command, flag))
    named = [name for name in candidates if f"[env {name}]" in (action.help or "")]
    assert named, f"{command} {flag} reads no FISHSHOP_ variable"
    for name in list(os.environ):
        if name.startswith("FISHSHOP_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv(named[0], "nonsense!")
    with pytest.raises(SystemExit) as stopped:
        _parse(build_parser(), [command, *_required(command)])
    assert stopped.value.code == 2
    said = capsys.readouterr().err.splitlines()
    assert f"(from {named[0]})" in said[0], said
    assert said[1:] == [f"Try 'fishshop {command} --help'."]


def test_every_option_names_its_variable() -> None:
    """The README says every option also reads a FISHSHOP_ variable: each one's help
    names it (but --help and --version, which only print)."""
    silent = [
        (command, action.option_strings)
        for command, parser in _commands().items()
        for action in parser._actions
        if action.option_strings
        and not isinstance(action, argparse._HelpAction | argparse._VersionAction)
        and "[env FISHSHOP_" not in (action.help or "")
    ]
    assert silent == []


def _flags() -> Iterator[tuple[str, str, argparse.Action]]:
    """(command, option, action) for every flag: an option that takes no value and
    is not a count, --help or --version."""
    for command, parser in _commands().items():
        for action in parser._actions:
            if not action.option_strings or action.nargs != 0:
                continue
            if isinstance(action, argparse._CountAction | argparse._HelpAction):
                continue
            flag = next(f for f in action.option_strings if f.startswith("--"))
            if flag != "--version":
                yield command, flag, action


FLAGS = sorted((c, f) for c, f, _ in _flags())


def test_the_walk_finds_the_flags_it_must() -> None:
    found = set(FLAGS)
    for expected in [("demo", "--headless"), ("audit", "--json"), ("till", "--tls")]:
        assert expected in found
    assert len(found) > 10


def _flag_variable(command: str, flag: str) -> str:
    action = next(a for c, f, a in _flags() if (c, f) == (command, flag))
    candidates = [env_name(flag), env_name(f"{command}-{flag.lstrip('-')}")]
    named = [name for name in candidates if f"[env {name}]" in (action.help or "")]
    assert named, f"{command} {flag} reads no FISHSHOP_ variable"
    return named[0]


@pytest.mark.parametrize(("command", "flag"), FLAGS, ids=[f"{c} {f}" for c, f in FLAGS])
def test_a_flag_variable_neither_true_nor_false_is_refused(
    command: str, flag: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``FISHSHOP_JSON=maybe`` is neither given nor not given: exit 2, naming it."""
    variable = _flag_variable(command, flag)
    for name in list(os.environ):
        if name.startswith("FISHSHOP_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv(variable, "maybe")
    with pytest.raises(SystemExit) as stopped:
        _parse(build_parser(), [command, *_required(command)])
    assert stopped.value.code == 2
    said = capsys.readouterr().err.splitlines()
    assert said[0] == (
        f"fishshop {command}: error: argument {flag}: a true word (1, on, true, yes) or a "
        f"false word (0, false, no, off, or nothing), not 'maybe' (from {variable})"
    ), said
    assert said[1:] == [f"Try 'fishshop {command} --help'."]


@pytest.mark.parametrize(("command", "flag"), FLAGS, ids=[f"{c} {f}" for c, f in FLAGS])
def test_a_flag_variable_says_yes_or_no(
    command: str, flag: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """True words give the flag's value, false words and the empty string its
    default, and the flag on the command line wins over a nonsense variable."""
    action = next(a for c, f, a in _flags() if (c, f) == (command, flag))
    variable = _flag_variable(command, flag)
    for name in list(os.environ):
        if name.startswith("FISHSHOP_"):
            monkeypatch.delenv(name)
    default = vars(_parse(build_parser(), [command, *_required(command)]))[action.dest]
    given = vars(_parse(build_parser(), [command, *_required(command), flag]))[action.dest]
    assert default != given
    for word, expected in [("YES", given), ("on", given), ("Off", default), ("", default)]:
        monkeypatch.setenv(variable, word)
        parsed = _parse(build_parser(), [command, *_required(command)])
        assert vars(parsed)[action.dest] == expected, (variable, word)
    monkeypatch.setenv(variable, "maybe")
    parsed = _parse(build_parser(), [command, *_required(command), flag])
    assert vars(parsed)[action.dest] == given


def _required(command: str) -> list[str]:
    """Values for the command's required options, so parsing reaches the defaults."""
    given: list[str] = []
    for action in _commands()[command]._actions:
        if action.required and action.option_strings:
            given += [action.option_strings[-1], "x"]
    return given


def test_the_log_level_variable_is_named(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FISHSHOP_LOG_LEVEL", "verbose")
    with pytest.raises(SystemExit) as stopped:
        _parse(build_parser(), ["demo"])
    assert stopped.value.code == 2
    said = capsys.readouterr().err.splitlines()
    assert said[0] == (
        "fishshop: error: argument --log-level: one of DEBUG, INFO, WARNING, ERROR, "
        "not 'verbose' (from FISHSHOP_LOG_LEVEL)"
    )
