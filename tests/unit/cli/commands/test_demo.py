"""Unit tests for ``fishshop demo``: when it opens the live view and when it runs
headless, and what the analyst's part refuses before starting anything."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from fishshop.commands.demo import wants_live_view
from fishshop.main import build_parser, main


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


@pytest.mark.parametrize(
    "secure", [["--certs-dir", "certs"], ["--sasl-mechanism", "PLAIN", "--sasl-username", "u"]]
)
def test_a_local_connect_worker_on_a_secured_kafka_is_refused_at_once(
    secure: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main(
        [
            "demo",
            "--scenario",
            "analyst",
            "--headless",
            "--bootstrap-servers",
            "kafka.example.com:9093",
            *secure,
        ]
    )
    said = capsys.readouterr().err
    assert code == 2
    assert "--connect-url" in said
    assert "starting" not in said, "nothing is started for a demo that cannot run"


def test_a_bad_postgres_url_is_refused_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo", "--scenario", "cook", "--headless", "--postgres-url", "mysql://db/shop"])
    said = capsys.readouterr().err
    assert code == 2
    assert "postgresql://" in said
    assert "broker" not in said
