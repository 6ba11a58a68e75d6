"""Unit tests for ``fishshop broker``'s options: a node count or a port it cannot
use is a one-line usage error (exit 2) before any JVM starts."""

from __future__ import annotations

import pytest

from fishshop.main import main


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (["--nodes", "0"], "argument --nodes: a whole number from 1 to 5, not 0"),
        (["--nodes", "9"], "argument --nodes: a whole number from 1 to 5, not 9"),
        (["--nodes", "3", "--port", "65534"], "--port must leave room for 3 ports"),
        (["--port", "0"], "argument --port: a whole number from 1 to 65535, not 0"),
    ],
)
def test_a_count_or_port_it_cannot_use_is_a_usage_error(
    arguments: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code = main(["broker", *arguments])
    except SystemExit as exited:  # argparse's own check
        code = int(exited.code or 0)
    assert code == 2
    assert said in capsys.readouterr().err
