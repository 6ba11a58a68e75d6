"""Unit tests for ``fishshop operator``'s options; the operator itself never starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fishshop.commands import operator as operator_command
from fishshop.main import build_parser
from fishshop_operator import main as operator_main
from fishshop_operator.settings import DEFAULT_IMAGE, OperatorConfig


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No FISHSHOP_* variable from the machine running the tests leaks in."""
    for name in list(os.environ):
        if name.startswith("FISHSHOP_"):
            monkeypatch.delenv(name)


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[OperatorConfig]:
    """Stands in for run_operator: records the configuration it would have run with."""
    configs: list[OperatorConfig] = []

    def run_operator(config: OperatorConfig) -> int:
        configs.append(config)
        return 0

    monkeypatch.setattr(operator_main, "run_operator", run_operator)
    return configs


def _namespaces(argv: list[str], started: list[OperatorConfig]) -> tuple[str, ...]:
    assert operator_command.run(build_parser().parse_args(["operator", *argv])) == 0
    [config] = started
    return config.namespaces


def test_defaults() -> None:
    args = build_parser().parse_args(["operator"])
    assert args.command == "operator"
    assert args.watch_namespace is None
    assert args.worker_image == DEFAULT_IMAGE
    assert (args.metrics_port, args.health_port) == (8000, 8080)
    assert (args.resync_seconds, args.retry_seconds, args.delete_patience) == (30.0, 10.0, 60.0)


def test_defaults_match_the_operator_config(started: list[OperatorConfig]) -> None:
    assert operator_command.run(build_parser().parse_args(["operator"])) == 0
    assert started == [OperatorConfig()]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--watch-namespace", "a"], ["a"]),
        (["--watch-namespace", "a", "--watch-namespace", "b"], ["a", "b"]),
        (["--watch-namespace", "fs-*"], ["fs-*"]),
    ],
)
def test_watch_namespace_repeats(argv: list[str], expected: list[str]) -> None:
    assert build_parser().parse_args(["operator", *argv]).watch_namespace == expected


def test_watch_namespace_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FISHSHOP_WATCH_NAMESPACE", "a,b")
    assert build_parser().parse_args(["operator"]).watch_namespace == ["a,b"]


@pytest.mark.parametrize(
    ("variable", "expected"),
    [
        ("a,b", ("a", "b")),
        (" fs-* , team-a ,, ", ("fs-*", "team-a")),
        ("only", ("only",)),
        ("", ()),
        (" , ", ()),
    ],
)
def test_the_variable_is_a_comma_separated_list(
    monkeypatch: pytest.MonkeyPatch,
    started: list[OperatorConfig],
    variable: str,
    expected: tuple[str, ...],
) -> None:
    monkeypatch.setenv("FISHSHOP_WATCH_NAMESPACE", variable)
    assert _namespaces([], started) == expected


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], ()),
        (["--watch-namespace", "a", "--watch-namespace", "b"], ("a", "b")),
        (["--watch-namespace", "a,b", "--watch-namespace", "c"], ("a", "b", "c")),
    ],
)
def test_namespaces_reach_the_operator(
    started: list[OperatorConfig], argv: list[str], expected: tuple[str, ...]
) -> None:
    assert _namespaces(argv, started) == expected


def test_command_line_namespaces_beat_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FISHSHOP_WATCH_NAMESPACE", "from-env")
    args = build_parser().parse_args(["operator", "--watch-namespace", "a"])
    assert args.watch_namespace == ["a"]


def test_options_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, started: list[OperatorConfig]
) -> None:
    monkeypatch.setenv("FISHSHOP_WORKER_IMAGE", "registry.example/fishshop:9")
    monkeypatch.setenv("FISHSHOP_METRICS_PORT", "9100")
    monkeypatch.setenv("FISHSHOP_HEALTH_PORT", "9101")
    monkeypatch.setenv("FISHSHOP_RESYNC_SECONDS", "3")
    monkeypatch.setenv("FISHSHOP_RETRY_SECONDS", "2.5")
    monkeypatch.setenv("FISHSHOP_DELETE_PATIENCE", "8")
    monkeypatch.setenv("FISHSHOP_OPERATOR_CONCURRENCY", "5")
    operator_command.run(build_parser().parse_args(["operator"]))
    assert started == [
        OperatorConfig(
            worker_image="registry.example/fishshop:9",
            metrics_port=9100,
            health_port=9101,
            resync=3.0,
            retry=2.5,
            delete_patience=8.0,
            concurrency=5,
        )
    ]


def test_command_line_options(started: list[OperatorConfig]) -> None:
    argv = ["--worker-image", "img:1", "--metrics-port", "0", "--health-port", "18080"]
    argv += ["--resync-seconds", "1", "--retry-seconds", "0.5", "--delete-patience", "0"]
    argv += ["--operator-concurrency", "64"]
    operator_command.run(build_parser().parse_args(["operator", *argv]))
    [config] = started
    assert (config.worker_image, config.metrics_port, config.health_port) == ("img:1", 0, 18080)
    assert (config.resync, config.retry, config.delete_patience) == (1.0, 0.5, 0.0)
    assert config.concurrency == 64


def test_a_concurrency_below_one_is_refused(
    started: list[OperatorConfig], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["operator", "--operator-concurrency", "0"])
    assert exited.value.code == 2
    assert started == []
    assert "a whole number of at least 1, not 0" in capsys.readouterr().err


def test_command_line_beats_the_environment_for_single_options(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FISHSHOP_WORKER_IMAGE", "from-env:1")
    monkeypatch.setenv("FISHSHOP_RESYNC_SECONDS", "99")
    args = build_parser().parse_args(["operator", "--worker-image", "cli:1"])
    assert args.worker_image == "cli:1"
    assert args.resync_seconds == 99.0


@pytest.mark.parametrize(
    ("variable", "value"),
    [("FISHSHOP_HEALTH_PORT", "eighty"), ("FISHSHOP_RESYNC_SECONDS", "soon")],
)
def test_bad_number_in_the_environment_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(["operator"])
    assert caught.value.code == 2
    assert value in capsys.readouterr().err


def test_help_names_the_environment_variables(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(["operator", "--help"])
    assert caught.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    for name in (
        "FISHSHOP_WATCH_NAMESPACE",
        "FISHSHOP_WORKER_IMAGE",
        "FISHSHOP_METRICS_PORT",
        "FISHSHOP_HEALTH_PORT",
        "FISHSHOP_RESYNC_SECONDS",
        "FISHSHOP_RETRY_SECONDS",
        "FISHSHOP_DELETE_PATIENCE",
    ):
        assert f"env {name}" in out


def test_no_cluster_is_one_line_and_exit_3(tmp_path: Path) -> None:
    """No kubeconfig and no pod: said at once, instead of kopf retrying every minute."""
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("KUBERNETES_")
    }
    environment |= {"KUBECONFIG": str(tmp_path / "none"), "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "fishshop", "operator", "--metrics-port", "0", "--health-port", "0"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 3
    assert done.stderr.strip().splitlines() == [
        "fishshop: cannot find a Kubernetes cluster: no service account (not in a pod) and "
        "no usable kubeconfig. Set KUBECONFIG or write ~/.kube/config (kind and `make "
        "cluster` print one)"
    ]
