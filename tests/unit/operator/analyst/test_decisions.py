"""Unit tests for fishshop_operator.analyst.decisions and analyst_status: AnalystReady
from what Connect says, the restart backoff, and the analyst's part of the status."""

from __future__ import annotations

from typing import Any

import pytest

from fishshop_operator.analyst.decisions import (
    FIRST_DELAY,
    LONGEST_DELAY,
    STEADY_SECONDS,
    AnalystOutcome,
    ConnectorState,
    RestartBackoff,
    TaskState,
    connector_outcome,
    steady,
    trace_reason,
)
from fishshop_operator.analyst.status import add_analyst, previous_analyst

NAME = "fishshop.seaside.harbour.analyst"
URL = "http://connect:8083"
TRACE = (
    "org.apache.kafka.connect.errors.ConnectException: Exiting WorkerSinkTask due to "
    "unrecoverable exception.\n\tat org.apache.kafka.connect.runtime.WorkerSinkTask.x(W.java:1)\n"
    "Caused by: org.apache.kafka.connect.errors.ConnectException: JDBC sink connector failure\n"
    "\tat io.debezium.y(Y.java:2)\n"
    "Caused by: org.postgresql.util.PSQLException: Connection to 127.0.0.1:5432 refused.\n"
    "\t... 12 more\n"
)


def _outcome(state: ConnectorState | None, restarts: int = 0) -> AnalystOutcome:
    return connector_outcome(state, connector=NAME, connect_url=URL, restarts=restarts)


def _running(tasks: int = 1) -> ConnectorState:
    return ConnectorState("RUNNING", tuple(TaskState(i, "RUNNING") for i in range(tasks)))


# -- AnalystReady -----------------------------------------------------------------------


def test_a_connector_whose_tasks_all_run_is_ready() -> None:
    outcome = _outcome(_running(2))
    assert (outcome.ready, outcome.reason) == (True, "ConnectorRunning")
    assert outcome.message == f"connector {NAME} runs 2 tasks at {URL}"
    assert outcome.failed_tasks == 0


def test_a_failed_task_is_named_with_its_root_cause_first_failed_first() -> None:
    state = ConnectorState(
        "RUNNING",
        (
            TaskState(0, "RUNNING"),
            TaskState(1, "FAILED", trace_reason(TRACE)),
            TaskState(2, "FAILED", "later"),
        ),
    )
    outcome = _outcome(state, restarts=3)
    assert (outcome.ready, outcome.reason) == (False, "TaskFailed")
    assert outcome.message.startswith(f"task 1 of connector {NAME} failed: org.apache")
    assert "root cause: org.postgresql.util.PSQLException: Connection to" in outcome.message
    assert outcome.message.endswith("; restarted 3 times so far")
    assert outcome.failed_tasks == 2


def test_a_failed_connector_comes_before_its_tasks() -> None:
    state = ConnectorState("FAILED", (TaskState(0, "FAILED", "x"),), "the plugin is missing")
    outcome = _outcome(state)
    assert (outcome.ready, outcome.reason) == (False, "ConnectorFailed")
    assert outcome.message == f"connector {NAME} failed: the plugin is missing"


@pytest.mark.parametrize(
    ("state", "words"),
    [
        (None, "is being created"),
        (ConnectorState("RUNNING", ()), "is running: no tasks yet"),
        (ConnectorState("UNASSIGNED", ()), "is unassigned: no tasks yet"),
        (
            ConnectorState("RUNNING", (TaskState(0, "RUNNING"), TaskState(1, "RESTARTING"))),
            "is running: task 1 restarting",
        ),
    ],
)
def test_anything_on_its_way_is_starting(state: ConnectorState | None, words: str) -> None:
    outcome = _outcome(state)
    assert (outcome.ready, outcome.reason) == (False, "Starting")
    assert words in outcome.message


def test_a_paused_connector_says_so() -> None:
    outcome = _outcome(ConnectorState("PAUSED", (TaskState(0, "PAUSED"),)))
    assert (outcome.ready, outcome.reason) == (False, "ConnectorPaused")


def test_a_trace_in_one_line() -> None:
    assert trace_reason(None) == trace_reason("  \n") == ""
    assert trace_reason("java.lang.Oops: no\n\tat x") == "java.lang.Oops: no"
    assert trace_reason(TRACE) == (
        "org.apache.kafka.connect.errors.ConnectException: Exiting WorkerSinkTask due to "
        "unrecoverable exception. (root cause: org.postgresql.util.PSQLException: "
        "Connection to 127.0.0.1:5432 refused.)"
    )
    assert len(trace_reason("x" * 1000 + "\nCaused by: " + "y" * 1000)) < 700


# -- the restart backoff ----------------------------------------------------------------


def test_the_first_restart_is_at_once_then_the_wait_doubles_up_to_a_cap() -> None:
    backoff = RestartBackoff()
    assert backoff.due(0.0)
    now, waits = 100.0, []
    for _ in range(10):
        assert backoff.due(now)
        backoff = backoff.restarted(now)
        waits.append(backoff.delay())
        assert not backoff.due(now + backoff.delay() - 0.1)
        now += backoff.delay()
    assert waits[:4] == [FIRST_DELAY, FIRST_DELAY * 2, FIRST_DELAY * 4, FIRST_DELAY * 8]
    assert max(waits) == waits[-1] == LONGEST_DELAY


def test_the_backoff_starts_over_only_after_the_tasks_ran_steadily() -> None:
    backoff = RestartBackoff().restarted(0.0).restarted(10.0).restarted(30.0)
    # Running a moment after a restart is not recovery: a task may fail again at once.
    assert backoff.observed(steady(_running()), 31.0) == backoff
    failed = ConnectorState("RUNNING", (TaskState(0, "FAILED"),))
    assert backoff.observed(steady(failed), 30.0 + STEADY_SECONDS) == backoff
    assert backoff.observed(steady(None), 30.0 + STEADY_SECONDS) == backoff
    assert backoff.observed(steady(_running()), 30.0 + STEADY_SECONDS) == RestartBackoff()
    assert RestartBackoff().observed(steady(_running()), 5.0) == RestartBackoff()


# -- status.analyst and AnalystReady ------------------------------------------------------

READY = {"type": "Ready", "status": "True"}
BASE: dict[str, Any] = {"observedGeneration": 4, "conditions": [READY]}


def test_the_status_gets_the_connector_and_the_condition_beside_ready() -> None:
    state = ConnectorState("RUNNING", (TaskState(0, "RUNNING"), TaskState(1, "FAILED", "x")))
    outcome = _outcome(state, restarts=2)
    status = add_analyst(BASE, outcome, [], generation=4, now="T1")
    assert status["analyst"] == {
        "connector": NAME,
        "connectUrl": URL,
        "state": "RUNNING",
        "tasks": [{"id": 0, "state": "RUNNING"}, {"id": 1, "state": "FAILED"}],
        "restarts": 2,
    }
    ready, analyst = status["conditions"]
    assert ready == READY
    assert analyst == {
        "type": "AnalystReady",
        "status": "False",
        "reason": "TaskFailed",
        "message": outcome.message,
        "lastTransitionTime": "T1",
        "observedGeneration": 4,
    }
    assert previous_analyst(status) == (URL, NAME, 2)


def test_the_transition_time_moves_only_when_the_status_does() -> None:
    first = add_analyst(BASE, _outcome(None), [], generation=1, now="T1")
    again = add_analyst(BASE, _outcome(ConnectorState("RUNNING", ())), first["conditions"],
                        generation=1, now="T2")  # fmt: skip
    assert again["conditions"][-1]["lastTransitionTime"] == "T1"
    ready = add_analyst(BASE, _outcome(_running()), again["conditions"], generation=1, now="T3")
    assert ready["conditions"][-1]["lastTransitionTime"] == "T3"
    assert "state" not in first["analyst"]


def test_a_shop_without_an_analyst_clears_the_section() -> None:
    status = add_analyst(BASE, None, [], generation=1, now="T1")
    assert status["analyst"] is None
    assert [c["type"] for c in status["conditions"]] == ["Ready"]


@pytest.mark.parametrize(
    "status",
    [None, {}, {"analyst": None}, {"analyst": "x"}, {"analyst": {"restarts": -3}}],
)
def test_a_previous_status_is_read_leniently(status: dict[str, object] | None) -> None:
    assert previous_analyst(status) == ("", "", 0)
