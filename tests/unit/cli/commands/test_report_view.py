"""How `fishshop report` shows a report: JSON, CSV, plain tables, charts; and its
option errors, which need no database."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from fishshop.commands.report_view import (
    charts_available,
    csv_text,
    json_text,
    plain_text,
    terminal_text,
)
from fishshop.main import main
from fishshop_workers.analyst.report import Report, ReportRow, Window, build_report

ANSI = re.compile(r"\x1b\[")
START = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
WINDOW = Window(START, START + timedelta(minutes=3), timedelta(minutes=1))


def _row(second: float, *, till: int, wait: float, cook: str | None = None) -> ReportRow:
    served = START + timedelta(seconds=second)
    return ReportRow(
        shop="harbour",
        till=till,
        portions={"chips": 2, "cod": 1, "plaice": 1 if cook else 0},
        created_at=served - timedelta(seconds=wait),
        served_at=served,
        cooked_by=cook,
        wait_seconds=wait,
    )


@pytest.fixture
def report() -> Report:
    rows = [
        _row(5, till=1, wait=2.0),
        _row(6, till=2, wait=4.5, cook="cook-1"),
        _row(130, till=1, wait=3.25),
    ]
    return build_report(rows, WINDOW, "harbour")


def test_json_holds_window_intervals_and_totals(report: Report) -> None:
    document = json.loads(json_text(report, since="3m", every="1m"))
    assert document["shop"] == "harbour"
    assert document["window"] == {
        "start": "2026-11-29T12:00:00Z",
        "end": "2026-11-29T12:03:00Z",
        "since": "3m",
    }
    assert document["every"] == "1m"
    assert document["percentile_method"] == "nearest-rank"
    assert [i["orders"] for i in document["intervals"]] == [2, 0, 1]
    first, quiet, _ = document["intervals"]
    assert first["wait_p50_s"] == 2.0
    assert first["wait_p99_s"] == 4.5
    assert first["items"] == {"chips": 4, "cod": 2, "plaice": 1}
    assert first["tills"] == {"1": 1, "2": 1}
    assert first["cook_share"] == 0.5
    assert quiet["wait_p50_s"] is None
    assert quiet["cook_share"] is None
    assert quiet["tills"] == {"1": 0, "2": 0}
    assert document["totals"]["orders"] == 3
    assert document["totals"]["tills"] == {"1": 2, "2": 1}


def test_csv_has_a_header_and_a_line_per_interval(report: Report) -> None:
    lines = list(csv.DictReader(io.StringIO(csv_text(report))))
    assert [line["start"] for line in lines] == [
        "2026-11-29T12:00:00Z",
        "2026-11-29T12:01:00Z",
        "2026-11-29T12:02:00Z",
    ]
    assert lines[0]["orders"] == "2"
    assert lines[0]["till_2"] == "1"
    assert lines[0]["plaice"] == "1"
    assert lines[1]["wait_p95_s"] == ""  # no order, no wait
    assert lines[1]["cook_share"] == ""
    assert lines[2]["wait_p50_s"] == "3.25"


def test_plain_tables_are_aligned_and_colourless(report: Report) -> None:
    text = plain_text(report, since="3m", every="1m")
    assert not ANSI.search(text)
    assert "every shop" not in text and "shop harbour" in text
    table = text.split("\n\n")[1].splitlines()
    header, *rows = table
    assert header.split("  ")[0].strip() == "start (UTC)"
    assert rows[0].startswith("2026-11-29 12:00 ")
    assert rows[-1].startswith("total")
    # Figures are right-aligned: every line of the table ends in the same column.
    assert len({len(line) for line in table}) == 1
    assert rows[1].endswith("-")  # the quiet interval's cook share
    assert "50%" in rows[0]


def test_no_rows_still_show_every_interval() -> None:
    text = plain_text(build_report([], WINDOW, None), since="3m", every="1m")
    assert "every shop" in text
    assert text.count("2026-11-29 12:0") >= 3


@pytest.mark.skipif(
    not charts_available(),
    reason="charts are drawn with plotext 5 (pyproject pins plotext>=5.3,<6); "
    "the installed plotext has another API",
)
def test_terminal_charts_show_orders_and_waits(report: Report) -> None:
    text = terminal_text(report, since="3m", every="1m", width=80)
    plain = ANSI.sub("", re.sub(r"\x1b\[[0-9;]*m", "", text))
    assert "orders served per 1m" in plain
    assert "customers' wait in seconds" in plain
    assert "p95" in plain
    assert "█" in plain  # the bars are drawn
    assert "portions sold" in plain


def test_a_bad_since_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["report", "--postgres-url", "postgresql://u@127.0.0.1:1/db", "--since", "1w"])
    assert code == 2
    said = capsys.readouterr().err
    assert "--since '1w' is not a duration" in said
    assert "Traceback" not in said


def test_every_longer_than_since_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql://u@127.0.0.1:1/db"
    code = main(["report", "--postgres-url", url, "--since", "30m", "--every", "1h"])
    assert code == 2
    assert "longer than --since" in capsys.readouterr().err


def test_a_url_that_is_not_postgresql_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--postgres-url", "mysql://u@h/db"]) == 2
    assert "postgresql://" in capsys.readouterr().err
