"""Unit tests for when ``fishshop demo`` opens the live view and when it runs headless."""

from __future__ import annotations

import io
import sys

import pytest

from fishshop.commands.demo import wants_live_view
from fishshop.main import build_parser


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _at_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Standard input, output and error all become a terminal. Called in the test
    itself: pytest puts its own capture back on sys.stdout between setup and call."""
    for name in ("stdin", "stdout", "stderr"):
        monkeypatch.setattr(sys, name, _Terminal())
    monkeypatch.setenv("TERM", "xterm-256color")


def test_a_terminal_gets_the_live_view(monkeypatch: pytest.MonkeyPatch) -> None:
    _at_a_terminal(monkeypatch)
    assert wants_live_view(build_parser().parse_args(["demo"]))
    assert wants_live_view(build_parser().parse_args(["demo", "--scenario", "cook"]))


@pytest.mark.parametrize("flag", ["--headless", "--json"])
def test_headless_and_json_never_open_the_view(monkeypatch: pytest.MonkeyPatch, flag: str) -> None:
    _at_a_terminal(monkeypatch)
    assert not wants_live_view(build_parser().parse_args(["demo", flag]))


@pytest.mark.parametrize("stream", ["stdin", "stdout", "stderr"])
def test_a_pipe_or_a_redirect_runs_headless(monkeypatch: pytest.MonkeyPatch, stream: str) -> None:
    _at_a_terminal(monkeypatch)
    monkeypatch.setattr(sys, stream, io.StringIO())  # not a terminal
    assert not wants_live_view(build_parser().parse_args(["demo"]))


def test_a_dumb_terminal_runs_headless(monkeypatch: pytest.MonkeyPatch) -> None:
    _at_a_terminal(monkeypatch)
    monkeypatch.setenv("TERM", "dumb")
    assert not wants_live_view(build_parser().parse_args(["demo"]))
