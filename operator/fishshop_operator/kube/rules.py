"""Rules of the API door that need no connection: a request's verb, and whether to resend.

kube/api.py does the sending; these decisions stay here so they are tested in
microseconds.
"""

from __future__ import annotations

import datetime
import email.utils
from typing import Literal, NamedTuple

__all__ = [
    "API_VERBS",
    "BUSY_RETRIES",
    "LONGEST_WAIT",
    "Next",
    "next_step",
    "retry_after_seconds",
    "verb_of",
]

API_VERBS = ("get", "list", "create", "update", "apply", "patch", "delete")
"""The verbs the operator's API requests are counted by (Kubernetes' own words)."""

BUSY_RETRIES = 3
"""How often one request is sent again after 429 Too Many Requests (or a 503 that says
when to come back) before the caller gets the error: enough to ride out API Priority and
Fairness shedding load for a moment, few enough that a reconcile does not hang on it."""

LONGEST_WAIT = 30.0
"""A server's Retry-After is honoured up to this many seconds: longer waits hold a
reconcile for too long; the caller's own retry (kopf's, the resync) takes over instead."""

BUSY_WAIT = 1.0
"""The wait after a 429 without a readable Retry-After (client-go waits 1 s too)."""


def verb_of(method: str, content_type: str = "application/json") -> str:
    """The Kubernetes verb of a request that names one object (GET is ``get``).

    A server-side apply is a PATCH with its own content type; it is told apart because
    apply and merge patches cost the API server differently.
    """
    method = method.upper()
    if method == "PATCH":
        return "apply" if content_type.startswith("application/apply-patch") else "patch"
    return {"GET": "get", "POST": "create", "PUT": "update", "DELETE": "delete"}.get(
        method, method.lower()
    )


def retry_after_seconds(value: str | None, now: datetime.datetime) -> float | None:
    """Seconds to wait from a Retry-After header (RFC 9110: delay-seconds or an HTTP date).

    None when there is no header or it cannot be read; never negative.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(int(text))
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP date is always GMT
        when = when.replace(tzinfo=datetime.UTC)
    return max(0.0, (when - now).total_seconds())


class Next(NamedTuple):
    """What to do with an answer: hand it to the caller, log in again, or wait and resend."""

    action: Literal["answer", "relogin", "wait"]
    delay: float = 0.0
    """Seconds to wait before sending again (for ``wait``)."""


def next_step(
    status: int,
    retry_after: float | None,
    *,
    busy_retries: int,
    relogged: bool,
) -> Next:
    """Decide what follows an answer of ``status``.

    ``busy_retries``: how often this request was already resent after 429/503.
    ``relogged``: whether this request already made the door log in again.

    A 401 means the credentials went stale (a rotated token, an expired exec-plugin
    credential): log in again once and resend; a second 401 is real. A 429 is the API
    server shedding load: wait as it says (or a second) a bounded number of times.
    A 503 is resent only when the server said when to come back, as client-go does.
    """
    if status == 401 and not relogged:
        return Next("relogin")
    busy = status == 429 or (status == 503 and retry_after is not None)
    if busy and busy_retries < BUSY_RETRIES:
        wait = BUSY_WAIT if retry_after is None else retry_after
        return Next("wait", min(wait, LONGEST_WAIT))
    return Next("answer")
