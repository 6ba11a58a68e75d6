"""Unit tests for the analyst's part of ``fishshop demo``: what it refuses before
starting anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from fishshop.main import main


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
