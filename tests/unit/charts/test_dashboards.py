"""The Grafana dashboards are what Grafana imports, and ask only for series that exist.

Whether each query parses and returns data is proved against a real Prometheus in
tests/integration/charts/test_dashboards_prometheus.py; here the structure and the names.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.prometheus import (
    DASHBOARDS,
    SCRAPE_LABELS,
    exported_series,
    load_dashboard,
    panels,
    selectors,
    targets,
    variables_in,
)

EXPECTED = {
    "fishshop.json": ("fishshop", "Fish shop"),
    "operator.json": ("fishshop-operator", "Fish shop operator"),
}
PATHS = sorted(DASHBOARDS.glob("*.json"))
GRAFANA_VARIABLES = {"__rate_interval", "__interval", "__range"}
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
PANEL_TYPES = {"row", "stat", "timeseries", "state-timeline"}


def _by(label: str, rest: str) -> str:
    """A pattern for an aggregation that keeps ``label``, followed by ``rest``."""
    return rf"by \([^)]*\b{label}\b[^)]*\) {rest}"


def _quantile(q: str, series: str) -> str:
    return rf"histogram_quantile\({q}, .*{series}_bucket"


# What the issue asks each dashboard to show: a pattern some query must match.
REQUIRED = {
    "fishshop.json": {
        "orders taken per minute by till": _by("till", r"\(rate\(fishshop_orders_created_total"),
        "orders served per minute": r"rate\(fishshop_orders_served_total",
        "customer wait p50": _quantile("0.5", "fishshop_order_wait_seconds"),
        "customer wait p95": _quantile("0.95", "fishshop_order_wait_seconds"),
        "customer wait p99": _quantile("0.99", "fishshop_order_wait_seconds"),
        "queue length by partition": _by("partition", r"\(fishshop_consumer_lag\{[^}]*orders"),
        "preparers running": r'fishshop_worker_info\{[^}]*role="preparer"',
        "cooks running": r'fishshop_worker_info\{[^}]*role="cook"',
        "cook backlog": r"fishshop_consumer_lag\{[^}]*cook",
        "records to dlq by reason": _by("reason", r"\(rate\(fishshop_records_rejected_total"),
        "operator reconciles": _by("result", r"\(rate\(fishshop_operator_reconciliations_total"),
    },
    "operator.json": {
        "reconciles by result": _by("result", r"\(rate\(fishshop_operator_reconciliations_total"),
        "reconcile duration p50": _quantile("0.5", "fishshop_operator_reconcile_duration_seconds"),
        "reconcile duration p95": _quantile("0.95", "fishshop_operator_reconcile_duration_seconds"),
        "shops ready": r"fishshop_operator_shop_ready\{[^}]*\} == 1",
        "shops not ready": r"fishshop_operator_shop_ready\{[^}]*\} == 0",
        "queued orders per shop": _by("shop", r"\(fishshop_operator_shop_queued_orders"),
    },
}


@pytest.fixture(scope="module")
def series() -> dict[str, frozenset[str]]:
    return exported_series()


def _variables(dashboard: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {variable["name"]: variable for variable in dashboard["templating"]["list"]}


def test_the_chart_ships_both_dashboards() -> None:
    assert [path.name for path in PATHS] == sorted(EXPECTED)


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_a_dashboard_has_what_grafana_imports(path: Path) -> None:
    dashboard = load_dashboard(path)
    uid, title = EXPECTED[path.name]
    assert (dashboard["uid"], dashboard["title"]) == (uid, title)
    # An id is the database's own; an exported one would clash on import.
    assert dashboard.get("id") is None
    assert "fishshop" in dashboard["tags"]
    assert dashboard["schemaVersion"] >= 36
    assert dashboard["time"]["from"].startswith("now-")
    assert isinstance(dashboard["panels"], list) and dashboard["panels"]


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_a_dashboard_asks_for_its_datasource_and_shop(
    path: Path, series: dict[str, frozenset[str]]
) -> None:
    variables = _variables(load_dashboard(path))
    datasource = variables["datasource"]
    assert (datasource["type"], datasource["query"]) == ("datasource", "prometheus")
    for name in ("namespace", "shop"):
        variable = variables[name]
        assert variable["type"] == "query"
        assert variable["datasource"] == DATASOURCE
        # "All" must work inside =~ matchers and must match series without the label.
        assert variable["includeAll"] is True and variable["allValue"] == ".*"
        query = variable["query"]["query"]
        assert query == variable["definition"]
        found = re.fullmatch(r"label_values\((\w+)(\{.*\})?, (\w+)\)", query)
        assert found, query
        metric, _, label = found.groups()
        assert label == name
        assert metric in series and name in series[metric] | SCRAPE_LABELS, query
    # The shop list follows the chosen namespaces.
    assert variables["shop"]["query"]["query"].count('namespace=~"$namespace"') == 1


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_panels_have_unique_ids_and_fit_the_grid_without_overlapping(path: Path) -> None:
    every = list(panels(load_dashboard(path)))
    ids = [panel["id"] for panel in every]
    assert all(isinstance(i, int) and i > 0 for i in ids)
    assert len(ids) == len(set(ids))
    taken: set[tuple[int, int]] = set()
    for panel in every:
        assert panel["type"] in PANEL_TYPES, panel["title"]
        assert panel["title"].strip()
        grid = panel["gridPos"]
        h, w, x, y = (grid[key] for key in ("h", "w", "x", "y"))
        assert all(isinstance(v, int) for v in (h, w, x, y)), panel["title"]
        assert h > 0 and w > 0 and x >= 0 and y >= 0 and x + w <= 24, panel["title"]
        cells = {(column, row) for column in range(x, x + w) for row in range(y, y + h)}
        assert not cells & taken, f"{panel['title']} overlaps another panel"
        taken |= cells


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_every_panel_queries_the_datasource_variable(path: Path) -> None:
    for panel in panels(load_dashboard(path)):
        if panel["type"] == "row":
            assert not panel.get("targets")
            continue
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"], panel["title"]
        refs = [target["refId"] for target in panel["targets"]]
        assert len(refs) == len(set(refs)), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE, panel["title"]
            assert isinstance(target["expr"], str) and target["expr"].strip(), panel["title"]


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_queries_use_only_exported_series_labels_and_defined_variables(
    path: Path, series: dict[str, frozenset[str]]
) -> None:
    dashboard = load_dashboard(path)
    defined = set(_variables(dashboard)) | GRAFANA_VARIABLES
    for panel, target in targets(dashboard):
        expr, where = target["expr"], f"{panel['title']}: {target['expr']}"
        assert variables_in(expr) <= defined, where
        assert expr.count("(") == expr.count(")") and expr.count("{") == expr.count("}"), where
        assert expr.count('"') % 2 == 0, where
        used = list(selectors(expr))
        assert used, where
        labels = set(SCRAPE_LABELS) | {"le"}
        for metric, matched, matchers in used:
            assert metric in series, where
            labels |= series[metric]
            assert matched <= series[metric] | SCRAPE_LABELS, where
            if "shop" in series[metric]:
                assert 'shop=~"$shop"' in matchers, where
                assert 'namespace=~"$namespace"' in matchers, where
        grouped: set[str] = set()
        for clause in re.findall(r"\bby \(([^)]*)\)", expr):
            grouped |= {label.strip() for label in clause.split(",")}
        assert grouped <= labels, where
        # A legend can only name labels the query keeps.
        assert set(re.findall(r"\{\{\s*(\w+)\s*\}\}", target["legendFormat"])) <= grouped, where


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_a_dashboard_shows_what_the_issue_asks_for(path: Path) -> None:
    exprs = [target["expr"] for _, target in targets(load_dashboard(path))]
    for what, pattern in REQUIRED[path.name].items():
        assert any(re.search(pattern, expr) for expr in exprs), what
