"""Unit tests for the API door's pure rules: verbs for the metrics, Retry-After, and
when a request is sent again."""

from __future__ import annotations

import datetime

import pytest

from fishshop_operator.kube.rules import (
    API_VERBS,
    BUSY_RETRIES,
    LONGEST_WAIT,
    Next,
    next_step,
    retry_after_seconds,
    verb_of,
)

NOW = datetime.datetime(2026, 11, 29, 6, 0, 0, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("method", "content_type", "verb"),
    [
        ("GET", "application/json", "get"),
        ("get", "application/json", "get"),
        ("POST", "application/json", "create"),
        ("PUT", "application/json", "update"),
        ("DELETE", "application/json", "delete"),
        ("PATCH", "application/apply-patch+yaml", "apply"),
        ("PATCH", "application/merge-patch+json", "patch"),
        ("PATCH", "application/json-patch+json", "patch"),
    ],
)
def test_verbs_are_kubernetes_words(method: str, content_type: str, verb: str) -> None:
    assert verb_of(method, content_type) == verb
    assert verb in API_VERBS


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("0", 0.0),
        ("3", 3.0),
        (" 12 ", 12.0),
        ("Sun, 29 Nov 2026 06:00:05 GMT", 5.0),
        ("Sun, 29 Nov 2026 05:59:00 GMT", 0.0),  # a date gone by: send now, never negative
    ],
)
def test_retry_after_reads_seconds_and_http_dates(header: str, seconds: float) -> None:
    assert retry_after_seconds(header, NOW) == seconds


@pytest.mark.parametrize("header", [None, "", "  ", "soon", "-1", "1.5", "Mon, 99 Foo 2026"])
def test_an_unreadable_retry_after_is_none(header: str | None) -> None:
    assert retry_after_seconds(header, NOW) is None


def test_a_first_401_logs_in_again_and_a_second_is_the_answer() -> None:
    assert next_step(401, None, busy_retries=0, relogged=False) == Next("relogin")
    assert next_step(401, None, busy_retries=0, relogged=True) == Next("answer")


def test_429_waits_as_told_a_bounded_number_of_times() -> None:
    for done in range(BUSY_RETRIES):
        assert next_step(429, 2.0, busy_retries=done, relogged=False) == Next("wait", 2.0)
    assert next_step(429, 2.0, busy_retries=BUSY_RETRIES, relogged=False) == Next("answer")


def test_429_without_retry_after_waits_a_second() -> None:
    assert next_step(429, None, busy_retries=0, relogged=False) == Next("wait", 1.0)


def test_a_long_retry_after_is_capped() -> None:
    assert next_step(429, 3600.0, busy_retries=0, relogged=True) == Next("wait", LONGEST_WAIT)


def test_503_is_resent_only_when_the_server_said_when() -> None:
    assert next_step(503, 1.0, busy_retries=0, relogged=False) == Next("wait", 1.0)
    assert next_step(503, None, busy_retries=0, relogged=False) == Next("answer")


@pytest.mark.parametrize("status", [400, 403, 404, 409, 422, 500, 502, 504])
def test_other_errors_are_answered_at_once(status: int) -> None:
    assert next_step(status, 1.0, busy_retries=0, relogged=False) == Next("answer")
