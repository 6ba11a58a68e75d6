"""The Prometheus alerts: promtool accepts the rules, and its unit tests prove each
alert fires on trouble and stays quiet on a healthy shop.

promtool is Debian's (scripts/install-test-deps.sh installs it). No broker needed.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.prometheus import ALERT_RULE_TESTS, ALERT_RULES, binary, exported_series

ALERTS = {
    "FishShopLagGrowing",
    "FishShopUnservedGrowing",
    "FishShopRecordsToDeadLetter",
    "FishShopNotReady",
    "FishShopOperatorReconcileErrors",
}


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    try:
        promtool = binary("promtool")
    except FileNotFoundError as error:
        pytest.fail(str(error))
    return subprocess.run(
        [promtool, *args], capture_output=True, text=True, timeout=60, check=False
    )


def _rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(ALERT_RULES.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_the_rules_file_is_a_plain_rules_file_the_chart_can_wrap() -> None:
    # The chart puts the file under a PrometheusRule's spec as it is.
    assert set(yaml.safe_load(ALERT_RULES.read_text())) == {"groups"}
    assert {rule["alert"] for rule in _rules()} == ALERTS


def test_promtool_check_rules_passes() -> None:
    result = _promtool("check", "rules", str(ALERT_RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in result.stdout


def test_each_alert_fires_on_trouble_and_stays_quiet_on_a_healthy_shop() -> None:
    result = _promtool("test", "rules", str(ALERT_RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_rule_tests_cover_every_alert_firing_and_quiet() -> None:
    tests = yaml.safe_load(ALERT_RULE_TESTS.read_text())["tests"]
    checks = [check for test in tests for check in test["alert_rule_test"]]
    for alert in ALERTS:
        mine = [check for check in checks if check["alertname"] == alert]
        assert any(check["exp_alerts"] for check in mine), f"{alert} never expected to fire"
        assert any(not check["exp_alerts"] for check in mine), f"{alert} never expected quiet"


def test_each_alert_says_how_bad_it_is_and_what_to_do() -> None:
    for rule in _rules():
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"].strip(), rule["alert"]
        assert len(rule["annotations"]["description"]) > 200, rule["alert"]


def test_alerts_use_only_series_the_code_exports() -> None:
    series = exported_series()
    for rule in _rules():
        names = set(re.findall(r"\bfishshop_\w+", rule["expr"]))
        assert names, rule["alert"]
        assert names <= set(series), (rule["alert"], names - set(series))


def test_promtool_rejects_a_broken_rule_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "groups:\n"
        "  - name: broken\n"
        "    rules:\n"
        "      - alert: Unbalanced\n"
        "        expr: sum by (shop) (rate(fishshop_orders_served_total[5m])\n"
        "        labels: {severity: warning}\n"
    )
    result = _promtool("check", "rules", str(broken))
    assert result.returncode != 0
    assert '"Unbalanced": could not parse expression' in result.stdout + result.stderr


def test_promtool_test_rules_fails_when_an_alert_fires_unexpectedly(tmp_path: Path) -> None:
    # The same rules, and a test that expects a shop not Ready for 20 minutes to be quiet.
    wrong = {
        "rule_files": [str(ALERT_RULES)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {
                        "series": 'fishshop_operator_shop_ready{namespace="fs-a", shop="harbour"}',
                        "values": "0x30",
                    }
                ],
                "alert_rule_test": [
                    {
                        "eval_time": "20m",
                        "alertname": "FishShopNotReady",
                        "exp_alerts": [],
                    }
                ],
            }
        ],
    }
    path = tmp_path / "wrong.test.yaml"
    path.write_text(yaml.safe_dump(wrong))
    result = _promtool("test", "rules", str(path))
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "FAILED" in output and 'alertname="FishShopNotReady"' in output
