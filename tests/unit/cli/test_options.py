"""Unit tests for fishshop.main.build_parser: options and their FISHSHOP_* defaults."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fishshop.main import Parser, _parse, build_parser, main
from fishshop.options import kafka_settings, option

WORKER = ["--shop", "harbour", "--bootstrap-servers", "kafka:9092"]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No FISHSHOP_* variable from the machine running the tests leaks in."""
    for name in list(os.environ):
        if name.startswith("FISHSHOP_"):
            monkeypatch.delenv(name)


def test_till_defaults_without_environment() -> None:
    args = build_parser().parse_args(["till", *WORKER])
    assert args.command == "till"
    assert args.shop == "harbour"
    assert args.bootstrap_servers == "kafka:9092"
    assert args.orders_per_minute == 40.0
    assert args.plaice is False
    assert args.max_orders == 0
    assert args.till is None
    assert args.metrics_port == 8000
    assert args.partitions == 3
    assert args.create_topics is False
    assert args.worker_name == socket.gethostname()
    assert args.namespace is None
    assert args.topic_prefix is None
    assert args.certs_dir is None
    assert args.sasl_mechanism is None
    assert args.log_level is None  # main() picks INFO for workers, WARNING for demo


def test_till_reads_its_options_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FISHSHOP_BOOTSTRAP_SERVERS", "broker-0:9092,broker-1:9092")
    monkeypatch.setenv("FISHSHOP_ORDERS_PER_MINUTE", "12.5")
    monkeypatch.setenv("FISHSHOP_SHOP", "pier")
    monkeypatch.setenv("FISHSHOP_TILL", "2")
    monkeypatch.setenv("FISHSHOP_MAX_ORDERS", "100")
    monkeypatch.setenv("FISHSHOP_METRICS_PORT", "0")
    monkeypatch.setenv("FISHSHOP_WORKER_NAME", "pier-till-1")
    monkeypatch.setenv("FISHSHOP_NAMESPACE", "seaside")
    args = build_parser().parse_args(["till"])
    assert args.bootstrap_servers == "broker-0:9092,broker-1:9092"
    assert args.orders_per_minute == 12.5
    assert isinstance(args.orders_per_minute, float)
    assert args.shop == "pier"
    assert args.till == 2
    assert args.max_orders == 100
    assert args.metrics_port == 0
    assert args.worker_name == "pier-till-1"
    assert args.namespace == "seaside"


def test_command_line_beats_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FISHSHOP_BOOTSTRAP_SERVERS", "from-env:9092")
    monkeypatch.setenv("FISHSHOP_ORDERS_PER_MINUTE", "12.5")
    argv = ["till", "--shop", "s", "--bootstrap-servers", "cli:9092"]
    args = build_parser().parse_args([*argv, "--orders-per-minute", "3"])
    assert args.bootstrap_servers == "cli:9092"
    assert args.orders_per_minute == 3.0


def test_environment_is_read_when_the_parser_is_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parser = build_parser()
    monkeypatch.setenv("FISHSHOP_ORDERS_PER_MINUTE", "99")
    assert parser.parse_args(["till", *WORKER]).orders_per_minute == 40.0
    assert build_parser().parse_args(["till", *WORKER]).orders_per_minute == 99.0


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("true", True),
        ("True", True),
        ("YES", True),
        (" on ", True),
        ("0", False),
        ("false", False),
        ("no", False),
        ("", False),
        (" Off ", False),
    ],
)
def test_flags_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool
) -> None:
    monkeypatch.setenv("FISHSHOP_PLAICE", raw)
    monkeypatch.setenv("FISHSHOP_CREATE_TOPICS", raw)
    args = build_parser().parse_args(["till", *WORKER])
    assert args.plaice is expected
    assert args.create_topics is expected


def test_flag_on_the_command_line_without_environment() -> None:
    args = build_parser().parse_args(["till", *WORKER, "--plaice", "--create-topics"])
    assert args.plaice is True
    assert args.create_topics is True


def test_shop_is_required_unless_set_in_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(["till", "--bootstrap-servers", "k:9092"])
    assert caught.value.code == 2
    assert "--shop" in capsys.readouterr().err
    monkeypatch.setenv("FISHSHOP_SHOP", "harbour")
    args = build_parser().parse_args(["till", "--bootstrap-servers", "k:9092"])
    assert args.shop == "harbour"


def test_bad_number_in_the_environment_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FISHSHOP_ORDERS_PER_MINUTE", "lots")
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(["till", *WORKER])
    assert caught.value.code == 2
    assert "lots" in capsys.readouterr().err


def test_help_names_the_environment_variables(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(["till", "--shop", "s", "--help"])
    assert caught.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # help text wraps lines
    for name in (
        "FISHSHOP_ORDERS_PER_MINUTE",
        "FISHSHOP_BOOTSTRAP_SERVERS",
        "FISHSHOP_PLAICE",
        "FISHSHOP_METRICS_PORT",
        "FISHSHOP_TOPIC_PREFIX",
    ):
        assert f"env {name}" in out


def test_preparer_and_cook_timings_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FISHSHOP_PREP_MIN", "0.1")
    monkeypatch.setenv("FISHSHOP_PREP_MAX", "0.2")
    monkeypatch.setenv("FISHSHOP_COOK_MIN", "1")
    monkeypatch.setenv("FISHSHOP_COOK_MAX", "2.5")
    preparer = build_parser().parse_args(["preparer", *WORKER])
    assert (preparer.prep_min, preparer.prep_max) == (0.1, 0.2)
    cook = build_parser().parse_args(["cook", *WORKER])
    assert (cook.cook_min, cook.cook_max) == (1.0, 2.5)


def test_preparer_and_cook_defaults() -> None:
    preparer = build_parser().parse_args(["preparer", *WORKER])
    assert (preparer.prep_min, preparer.prep_max) == (0.5, 1.0)
    cook = build_parser().parse_args(["cook", *WORKER])
    assert (cook.cook_min, cook.cook_max) == (3.0, 3.2)


def test_kafka_security_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FISHSHOP_CERTS_DIR", str(tmp_path))
    monkeypatch.setenv("FISHSHOP_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("FISHSHOP_SASL_USERNAME", "fish")
    monkeypatch.setenv("FISHSHOP_SASL_PASSWORD", "chips")
    args = build_parser().parse_args(["audit", *WORKER])
    assert args.certs_dir == tmp_path
    assert isinstance(args.certs_dir, Path)
    assert args.sasl_mechanism == "SCRAM-SHA-512"
    assert args.sasl_username == "fish"
    assert args.sasl_password == "chips"


def test_sasl_mechanism_choices_on_the_command_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(["audit", *WORKER, "--sasl-mechanism", "GSSAPI"])
    assert caught.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_audit_options(monkeypatch: pytest.MonkeyPatch) -> None:
    args = build_parser().parse_args(["audit", *WORKER])
    assert (args.wait, args.json) == (0.0, False)
    monkeypatch.setenv("FISHSHOP_WAIT", "30")
    monkeypatch.setenv("FISHSHOP_JSON", "yes")
    args = build_parser().parse_args(["audit", *WORKER])
    assert (args.wait, args.json) == (30.0, True)


def test_demo_defaults_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    args = build_parser().parse_args(["demo"])
    assert args.scenario == "two-preparers"
    assert args.file is None
    assert args.bootstrap_servers is None
    assert args.duration == 30.0
    assert args.drain_timeout == 120.0
    assert args.seed is None
    assert args.headless is False
    monkeypatch.setenv("FISHSHOP_SCENARIO", "cook")
    monkeypatch.setenv("FISHSHOP_DURATION", "5")
    monkeypatch.setenv("FISHSHOP_SEED", "7")
    monkeypatch.setenv("FISHSHOP_HEADLESS", "1")
    monkeypatch.setenv("FISHSHOP_BOOTSTRAP_SERVERS", "kafka:9092")
    args = build_parser().parse_args(["demo"])
    assert args.scenario == "cook"
    assert args.duration == 5.0
    assert args.seed == 7
    assert args.headless is True
    assert args.bootstrap_servers == "kafka:9092"


def test_demo_scenario_and_file_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(["demo", "--scenario", "cook", "-f", "shop.yaml"])
    assert caught.value.code == 2
    assert "not allowed with" in capsys.readouterr().err


def test_broker_options(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    args = build_parser().parse_args(["broker"])
    assert (args.port, args.data_dir) == (9092, None)
    monkeypatch.setenv("FISHSHOP_BROKER_PORT", "19092")
    monkeypatch.setenv("FISHSHOP_BROKER_DATA_DIR", str(tmp_path))
    args = build_parser().parse_args(["broker"])
    assert (args.port, args.data_dir) == (19092, tmp_path)
    # Connect's port and folder are its own: one variable never sets both.
    connect = build_parser().parse_args(["connect"])
    assert (connect.port, connect.data_dir) == (8083, None)
    monkeypatch.setenv("FISHSHOP_CONNECT_PORT", "18083")
    assert build_parser().parse_args(["connect"]).port == 18083
    assert build_parser().parse_args(["broker"]).port == 19092


def test_log_level_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FISHSHOP_LOG_LEVEL", "DEBUG")
    assert build_parser().parse_args(["demo"]).log_level == "DEBUG"


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args([])
    assert caught.value.code == 2
    assert "COMMAND" in capsys.readouterr().err


SASL = ["--sasl-mechanism", "PLAIN", "--sasl-username", "fish"]


def test_sasl_password_file_on_the_command_line(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("chips-and-vinegar\n")
    args = build_parser().parse_args(["audit", *WORKER, *SASL, "--sasl-password-file", str(secret)])
    assert args.sasl_password_file == secret
    settings = kafka_settings(args)
    assert settings.sasl_password == "chips-and-vinegar"
    assert "chips-and-vinegar" not in repr(settings)


def test_sasl_password_file_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = tmp_path / "password"
    secret.write_text("mushy peas")
    monkeypatch.setenv("FISHSHOP_SASL_PASSWORD_FILE", str(secret))
    args = build_parser().parse_args(["preparer", *WORKER, *SASL])
    assert isinstance(args.sasl_password_file, Path)
    assert kafka_settings(args).sasl_password == "mushy peas"


def test_sasl_password_from_the_environment_reaches_the_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FISHSHOP_SASL_PASSWORD", "tartare")
    args = build_parser().parse_args(["cook", *WORKER, *SASL])
    assert kafka_settings(args).sasl_password == "tartare"


def test_sasl_password_help_warns_about_ps(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["till", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "visible to every user of the machine in `ps`" in help_text
    assert "--sasl-password-file PATH" in help_text
    assert "FISHSHOP_SASL_PASSWORD_FILE" in help_text


def test_a_missing_sasl_password_file_is_a_readable_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "password"
    code = main(["till", *WORKER, *SASL, "--sasl-password-file", str(missing)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"fishshop: SASL password file {missing} not found" in err
    assert "Traceback" not in err


def test_sasl_password_and_password_file_together_are_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tmp_path / "password"
    secret.write_text("from-the-file")
    monkeypatch.setenv("FISHSHOP_SASL_PASSWORD", "from-the-variable")
    code = main(["till", *WORKER, *SASL, "--sasl-password-file", str(secret)])
    err = capsys.readouterr().err
    assert code == 2
    assert "give the SASL password once" in err
    assert "from-the-file" not in err
    assert "from-the-variable" not in err


def test_a_worker_starts_without_the_analysts_or_the_cabinets_clients() -> None:
    """Every pod starts through ``fishshop``: its imports are each till's start-up.
    A till needs neither Redis, PostgreSQL nor an HTTP client."""
    code = (
        "import sys, fishshop.main\n"
        "print(sorted({'redis', 'psycopg', 'aiohttp', 'kopf', 'textual'} & set(sys.modules)))"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert found == "[]"


def _exit_and_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as exited:
        code = int(exited.code or 0)
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--log-level", "nonsense", "till", *WORKER], "--log-level: one of DEBUG, INFO"),
        (["till", *WORKER, "--log-level", "verbose"], "--log-level: one of DEBUG, INFO"),
        (["till", *WORKER, "--metrics-port", "99999"], "from 0 to 65535, not 99999"),
        (["till", *WORKER, "--till", "0"], "--till: a whole number of at least 1, not 0"),
        (["till", *WORKER, "--orders-per-minute", "-5"], "orders a minute, 0 or more, not -5"),
        (["till", *WORKER, "--partitions", "0"], "--partitions: a whole number of at least 1"),
        (["preparer", *WORKER, "--prep-min", "5", "--prep-max", "1"], "--prep-min (5.0) must"),
        (["cook", *WORKER, "--cook-min", "nan"], "--cook-min: seconds, 0 or more, not nan"),
        (["demo", "--headless", "--duration", "-5"], "--duration: seconds above 0, not -5"),
        (["demo", "--drain-timeout", "-1"], "--drain-timeout: seconds, 0 or more, not -1"),
        (["audit", *WORKER, "--wait", "-5"], "--wait: seconds, 0 or more, not -5"),
        (["operator", "--operator-concurrency", "0"], "a whole number of at least 1, not 0"),
        (["operator", "--health-port", "70000"], "--health-port: a whole number from 0 to"),
        (
            ["demo", "--scenaro", "cook"],
            "unrecognized arguments: --scenaro cook (did you mean --scenario?)",
        ),
    ],
)
def test_a_mistake_is_one_line_that_says_what_is_wanted(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, error = _exit_and_error(argv, capsys)
    assert code == 2
    assert said in error
    assert "usage:" not in error and "Traceback" not in error
    assert len(error.strip().splitlines()) <= 2


def test_the_version_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("fishshop ")


def test_the_log_level_may_follow_the_command() -> None:
    args = build_parser().parse_args(["till", *WORKER, "--log-level", "debug"])
    assert args.log_level == "DEBUG"
    assert build_parser().parse_args(["--log-level", "error", "till", *WORKER]).log_level == (
        "ERROR"
    )


def test_a_manifest_that_is_not_text_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "shop.yaml"
    manifest.write_bytes(b"\xff\xfe\x00bad")
    code, error = _exit_and_error(["demo", "-f", str(manifest), "--headless"], capsys)
    assert code == 2
    assert error.strip() == (
        f"fishshop: cannot read {manifest}: it is not UTF-8 text (byte 0); "
        "a FishShop manifest is YAML"
    )


# -- option() with actions that take no value --------------------------------------------


def _one_option(**kwargs: Any) -> Parser:
    parser = Parser(prog="fishshop")
    option(parser, "--loud", **kwargs)
    return parser


@pytest.mark.parametrize(
    ("raw", "expected"), [(None, None), ("1", "LOUD"), ("yes", "LOUD"), ("0", None)]
)
def test_a_store_const_option_reads_its_variable_as_a_flag(
    monkeypatch: pytest.MonkeyPatch, raw: str | None, expected: str | None
) -> None:
    if raw is not None:
        monkeypatch.setenv("FISHSHOP_LOUD", raw)
    parser = _one_option(action="store_const", const="LOUD")
    assert parser.parse_args([]).loud == expected
    assert parser.parse_args(["--loud"]).loud == "LOUD"


@pytest.mark.parametrize(("raw", "expected"), [(None, True), ("on", False), ("no", True)])
def test_a_store_false_option_reads_its_variable_as_a_flag(
    monkeypatch: pytest.MonkeyPatch, raw: str | None, expected: bool
) -> None:
    if raw is not None:
        monkeypatch.setenv("FISHSHOP_LOUD", raw)
    parser = _one_option(action="store_false")
    assert parser.parse_args([]).loud is expected
    assert parser.parse_args(["--loud"]).loud is False


def test_a_count_option_counts_on_from_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _one_option(action="count", default=0).parse_args(["--loud", "--loud"]).loud == 2
    monkeypatch.setenv("FISHSHOP_LOUD", "2")
    parser = _one_option(action="count", default=0)
    assert parser.parse_args([]).loud == 2
    assert parser.parse_args(["--loud"]).loud == 3


@pytest.mark.parametrize("given", [[], ["--loud"]])
def test_a_count_options_wrong_variable_is_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], given: list[str]
) -> None:
    monkeypatch.setenv("FISHSHOP_LOUD", "very")
    with pytest.raises(SystemExit) as stopped:
        _one_option(action="count").parse_args(given)
    assert stopped.value.code == 2
    said = capsys.readouterr().err.splitlines()
    assert said[0] == (
        "fishshop: error: argument --loud: a whole number of at least 0, not 'very' "
        "(from FISHSHOP_LOUD)"
    )


def test_an_action_no_variable_can_give_is_refused_when_the_option_is_made() -> None:
    with pytest.raises(ValueError, match="--loud"):
        _one_option(action="append_const", const="LOUD")


@pytest.mark.parametrize("command", ["broker", "connect"])
def test_a_variable_renamed_for_its_command_is_still_read_with_a_warning(
    command: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """FISHSHOP_PORT meant both the broker's and Connect's port: each now reads its
    own (FISHSHOP_BROKER_PORT, FISHSHOP_CONNECT_PORT), and the old name for one more
    release, saying so."""
    need = ["--bootstrap-servers", "x:1"] if command == "connect" else []
    monkeypatch.setenv("FISHSHOP_PORT", "9099")
    monkeypatch.setenv("FISHSHOP_DATA_DIR", "/tmp/kept")
    args = build_parser().parse_args([command, *need])
    assert (args.port, str(args.data_dir)) == (9099, "/tmp/kept")
    said = capsys.readouterr().err
    upper = command.upper()
    assert f"FISHSHOP_PORT is read as FISHSHOP_{upper}_PORT in this release only" in said
    assert f"rename it to FISHSHOP_{upper}_DATA_DIR" in said
    monkeypatch.setenv(f"FISHSHOP_{upper}_PORT", "9100")
    assert build_parser().parse_args([command, *need]).port == 9100
    assert "FISHSHOP_PORT is read" not in capsys.readouterr().err
    build_parser().parse_args(["till", *WORKER])  # another command: no word about them
    assert capsys.readouterr().err == ""


def test_a_wrong_value_in_a_renamed_variable_names_the_old_name(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FISHSHOP_PORT", "99999")
    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args(["broker"])
    assert stopped.value.code == 2
    assert "not 99999 (from FISHSHOP_PORT)" in capsys.readouterr().err


def test_a_one_letter_value_typed_as_its_variable_holds_is_the_command_lines(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same one-letter word from the variable and the command line: what argparse
    refuses is the typed one, and a renamed variable is not warned about."""
    monkeypatch.setenv("FISHSHOP_PARTITIONS", "0")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["till", *WORKER, "--partitions", "0"])
    said = capsys.readouterr().err
    assert "argument --partitions" in said and "FISHSHOP_PARTITIONS" not in said
    monkeypatch.setenv("FISHSHOP_PORT", "9")
    assert build_parser().parse_args(["broker", "--port", "9"]).port == 9
    assert "FISHSHOP_PORT" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("variables", "argv", "expected"),
    [
        ({"FISHSHOP_JSON": "1"}, ["--csv"], (False, True)),
        ({"FISHSHOP_JSON": "1"}, ["--cs"], (False, True)),
        ({"FISHSHOP_CSV": "1"}, ["--json"], (True, False)),
        ({"FISHSHOP_JSON": "1"}, [], (True, False)),
        ({"FISHSHOP_JSON": "1", "FISHSHOP_CSV": "1"}, ["--csv"], (False, True)),
        ({"FISHSHOP_JSON": "no", "FISHSHOP_CSV": "1"}, [], (False, True)),
    ],
)
def test_in_a_one_of_group_the_typed_option_wins_over_the_others_variables(
    monkeypatch: pytest.MonkeyPatch,
    variables: dict[str, str],
    argv: list[str],
    expected: tuple[bool, bool],
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    args = _parse(build_parser(), ["report", "--postgres-url", "postgresql://x", *argv])
    assert (args.json, args.csv) == expected


def test_a_typed_scenario_wins_over_the_file_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FISHSHOP_FILE", "shop.yaml")
    args = _parse(build_parser(), ["demo", "--scenario", "analyst"])
    assert (args.scenario, args.file) == ("analyst", None)
    args = _parse(build_parser(), ["demo"])
    assert args.file == Path("shop.yaml")
    monkeypatch.setenv("FISHSHOP_SCENARIO", "cook")
    monkeypatch.delenv("FISHSHOP_FILE")
    args = _parse(build_parser(), ["demo", "-f", "mine.yaml"])
    assert (args.scenario, args.file) == ("two-preparers", Path("mine.yaml"))


def test_two_variables_of_a_one_of_group_are_refused_naming_both(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FISHSHOP_JSON", "1")
    monkeypatch.setenv("FISHSHOP_CSV", "yes")
    with pytest.raises(SystemExit) as stopped:
        _parse(build_parser(), ["report", "--postgres-url", "postgresql://x"])
    assert stopped.value.code == 2
    said = capsys.readouterr().err.splitlines()
    assert said[0] == (
        "fishshop report: error: FISHSHOP_JSON and FISHSHOP_CSV are both set, and only one "
        "of them may be: unset one, or give the option you mean on the command line"
    ), said
