"""The analyst's report over time: durations, the aligned window, and the figures
per interval and in total, decided from rows without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from fishshop_workers.analyst.report import (
    MAX_INTERVALS,
    ReportError,
    ReportRow,
    Window,
    build_report,
    nearest_rank,
    parse_duration,
    report_window,
)

NOW = datetime(2026, 11, 29, 12, 0, 30, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def row(
    served: datetime,
    *,
    wait: float = 10.0,
    till: int = 1,
    shop: str = "harbour",
    cod: int = 0,
    chips: int = 0,
    plaice: int = 0,
    cook: str | None = None,
) -> ReportRow:
    return ReportRow(
        shop=shop,
        till=till,
        portions={"cod": cod, "chips": chips, "plaice": plaice},
        created_at=served - timedelta(seconds=wait),
        served_at=served,
        cooked_by=cook,
        wait_seconds=wait,
    )


def at(hour: int, minute: int, second: float = 0.0) -> datetime:
    return datetime(2026, 11, 29, hour, minute, tzinfo=UTC) + timedelta(seconds=second)


# -- durations -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("1h", 3600), ("2d", 172_800), (" 5m ", 300), ("1s", 1)],
)
def test_durations_in_each_unit(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "1", "h", "1.5h", "-1m", "1w", "1 hour", "1m30s", "1H"])
def test_bad_durations_say_what_to_give(text: str) -> None:
    with pytest.raises(ReportError, match=r"s, m, h or d \(for example 90s"):
        parse_duration(text, option="--since")


def test_a_bad_duration_names_the_option_and_the_value() -> None:
    with pytest.raises(ReportError, match=r"--since '1w' is not a duration"):
        parse_duration("1w", option="--since")


def test_zero_is_no_duration() -> None:
    with pytest.raises(ReportError, match="longer than zero"):
        parse_duration("0m", option="--every")


def test_a_report_error_is_a_value_error() -> None:
    assert issubclass(ReportError, ValueError)


# -- the window ------------------------------------------------------------------------


def test_the_window_is_aligned_on_whole_intervals_and_holds_now() -> None:
    window = report_window(NOW, timedelta(minutes=5), MINUTE)
    assert window.start == at(11, 55)  # 11:55:30 floored to the minute
    assert window.end == at(12, 1)  # the interval that holds 12:00:30 ends at 12:01
    assert window.starts == [at(11, m) for m in range(55, 60)] + [at(12, 0)]


def test_a_window_that_starts_on_a_boundary_adds_no_interval() -> None:
    window = report_window(at(12, 0), timedelta(minutes=2), MINUTE)
    assert window.starts == [at(11, 58), at(11, 59), at(12, 0)]


def test_hours_align_on_clock_hours() -> None:
    window = report_window(NOW, timedelta(hours=3), timedelta(hours=1))
    assert window.starts == [at(9, 0), at(10, 0), at(11, 0), at(12, 0)]


def test_every_equal_to_since_gives_the_interval_before_and_the_one_now() -> None:
    window = report_window(NOW, MINUTE, MINUTE)
    assert window.starts == [at(11, 59), at(12, 0)]


def test_every_longer_than_since_is_refused() -> None:
    with pytest.raises(ReportError, match=r"--every \(1h\) is longer than --since \(30m\)"):
        report_window(NOW, timedelta(minutes=30), timedelta(hours=1))


def test_too_many_intervals_are_refused() -> None:
    with pytest.raises(ReportError, match="give a longer --every"):
        report_window(NOW, timedelta(days=2), timedelta(seconds=1))
    # At the limit it still answers.
    window = report_window(at(12, 0), timedelta(seconds=MAX_INTERVALS - 1), timedelta(seconds=1))
    assert len(window.starts) == MAX_INTERVALS


def test_a_clock_without_time_zone_is_refused() -> None:
    with pytest.raises(ReportError, match="time zone"):
        report_window(NOW.replace(tzinfo=None), MINUTE, MINUTE)


def test_a_clock_in_another_zone_gives_the_same_window() -> None:
    paris = NOW.astimezone(timezone(timedelta(hours=1)))
    assert report_window(paris, timedelta(minutes=5), MINUTE).starts == (
        report_window(NOW, timedelta(minutes=5), MINUTE).starts
    )


# -- percentiles -----------------------------------------------------------------------


def test_nearest_rank_is_a_wait_someone_had() -> None:
    waits = [float(n) for n in range(1, 101)]  # 1..100
    assert nearest_rank(waits, 50) == 50.0
    assert nearest_rank(waits, 95) == 95.0
    assert nearest_rank(waits, 99) == 99.0
    assert nearest_rank([3.0, 7.0], 50) == 3.0
    assert nearest_rank([3.0, 7.0], 51) == 7.0
    assert nearest_rank([4.0], 99) == 4.0
    assert nearest_rank([4.0, 5.0], 0) == 4.0
    assert nearest_rank([], 50) is None


# -- the figures -----------------------------------------------------------------------


WINDOW = Window(at(12, 0), at(12, 3), MINUTE)


def test_no_rows_give_every_interval_with_zeros() -> None:
    report = build_report([], WINDOW, "harbour")
    assert [i.start for i in report.intervals] == [at(12, 0), at(12, 1), at(12, 2)]
    for figures in [*report.intervals, report.totals]:
        assert figures.orders == 0
        assert figures.items == {"chips": 0, "cod": 0, "plaice": 0}
        assert figures.tills == {}
        assert figures.cooked == 0
        assert figures.cook_share is None
        assert figures.waits == {50: None, 95: None, 99: None}
    assert report.tills == ()


def test_one_row_is_every_percentile_and_all_of_its_interval() -> None:
    report = build_report(
        [row(at(12, 1, 5), wait=42.0, cod=1, chips=2, cook=None)], WINDOW, "harbour"
    )
    quiet, busy, later = report.intervals
    assert (quiet.orders, busy.orders, later.orders) == (0, 1, 0)
    assert busy.waits == {50: 42.0, 95: 42.0, 99: 42.0}
    assert busy.items == {"chips": 2, "cod": 1, "plaice": 0}
    assert busy.tills == {"1": 1}
    assert quiet.tills == {"1": 0}  # every till of the window, zeros too
    assert busy.cook_share == 0.0
    assert report.totals.orders == 1
    assert report.totals.start == WINDOW.start and report.totals.end == WINDOW.end


def test_a_row_on_a_boundary_belongs_to_the_interval_it_starts() -> None:
    rows = [
        row(at(12, 0)),  # the window's first instant
        row(at(12, 0, 59.999999)),
        row(at(12, 1)),
        row(at(12, 2, 59.999999)),
    ]
    report = build_report(rows, WINDOW, "harbour")
    assert [i.orders for i in report.intervals] == [2, 1, 1]


def test_rows_outside_the_window_are_left_out() -> None:
    rows = [row(at(11, 59, 59.999999)), row(at(12, 3)), row(at(12, 1))]
    report = build_report(rows, WINDOW, "harbour")
    assert [i.orders for i in report.intervals] == [0, 1, 0]
    assert report.totals.orders == 1


def test_figures_per_interval_and_in_total() -> None:
    rows = [
        row(at(12, 0, 1), wait=5, till=1, cod=1, chips=1),
        row(at(12, 0, 2), wait=7, till=2, plaice=1, chips=1, cook="cook-1"),
        row(at(12, 0, 3), wait=30, till=2, chips=2),
        row(at(12, 2, 0), wait=9, till=3, plaice=2, cook="cook-1"),
    ]
    report = build_report(rows, WINDOW, "harbour")
    first, second, third = report.intervals
    assert first.orders == 3
    assert first.waits == {50: 7, 95: 30, 99: 30}
    assert first.items == {"chips": 4, "cod": 1, "plaice": 1}
    assert first.tills == {"1": 1, "2": 2, "3": 0}
    assert first.cooked == 1
    assert first.cook_share == pytest.approx(1 / 3)
    assert second.orders == 0 and second.tills == {"1": 0, "2": 0, "3": 0}
    assert third.cook_share == 1.0
    totals = report.totals
    assert totals.orders == 4
    assert totals.waits == {50: 7, 95: 30, 99: 30}
    assert totals.items == {"chips": 4, "cod": 1, "plaice": 3}
    assert totals.tills == {"1": 1, "2": 2, "3": 1}
    assert totals.cook_share == 0.5
    assert report.tills == ("1", "2", "3")
    # The totals are the sum of the intervals.
    assert sum(i.orders for i in report.intervals) == totals.orders


def test_tills_are_numbered_in_order_not_as_text() -> None:
    rows = [row(at(12, 0, 1), till=10), row(at(12, 0, 2), till=2)]
    assert build_report(rows, WINDOW, "harbour").tills == ("2", "10")


def test_every_shop_names_tills_by_shop() -> None:
    rows = [
        row(at(12, 0, 1), shop="harbour", till=1),
        row(at(12, 0, 2), shop="quay", till=1),
        row(at(12, 0, 3), shop="quay", till=1),
    ]
    report = build_report(rows, WINDOW, None)
    assert report.shop is None
    assert report.totals.tills == {"harbour/1": 1, "quay/1": 2}


def test_rows_in_any_order_give_the_same_report() -> None:
    rows = [row(at(12, 0, s), wait=float(s)) for s in range(1, 30)]
    forward = build_report(rows, WINDOW, "harbour")
    backward = build_report(list(reversed(rows)), WINDOW, "harbour")
    assert forward == backward
    assert forward.totals.waits == {50: 15.0, 95: 28.0, 99: 29.0}
