"""The analyst's part of a shop's status: ``status.analyst`` and AnalystReady. Pure.

AnalystReady stands beside Ready rather than inside it: the shop serves whether or
not its orders reach PostgreSQL, and the sink catches up from Kafka once it runs.
"""

from __future__ import annotations

from typing import Any

from fishshop_operator.analyst.decisions import AnalystOutcome

__all__ = ["CONDITION", "add_analyst", "previous_analyst"]

CONDITION = "AnalystReady"


def _condition(
    outcome: AnalystOutcome, before: dict[str, Any] | None, generation: int, now: str
) -> dict[str, Any]:
    status = "True" if outcome.ready else "False"
    moved = before is None or before.get("status") != status
    return {
        "type": CONDITION,
        "status": status,
        "reason": outcome.reason,
        "message": outcome.message,
        "lastTransitionTime": now
        if moved or before is None
        else before.get("lastTransitionTime", now),
        "observedGeneration": generation,
    }


def _analyst(outcome: AnalystOutcome) -> dict[str, Any]:
    section: dict[str, Any] = {
        "connector": outcome.connector,
        "connectUrl": outcome.connect_url,
        "restarts": outcome.restarts,
    }
    if outcome.state is not None:
        section["state"] = outcome.state.state
        section["tasks"] = [{"id": task.id, "state": task.state} for task in outcome.state.tasks]
    return section


def add_analyst(
    status: dict[str, Any],
    outcome: AnalystOutcome | None,
    previous_conditions: list[dict[str, Any]],
    *,
    generation: int,
    now: str,
) -> dict[str, Any]:
    """``status`` with the analyst's section and condition, or with neither (None)."""
    if outcome is None:
        # A merge patch keeps what it is not told about: null removes the section.
        return {**status, "analyst": None}
    before = next(
        (c for c in previous_conditions if isinstance(c, dict) and c.get("type") == CONDITION),
        None,
    )
    conditions = [*status.get("conditions", []), _condition(outcome, before, generation, now)]
    return {**status, "conditions": conditions, "analyst": _analyst(outcome)}


def previous_analyst(status: dict[str, Any] | None) -> tuple[str, str, int]:
    """(connectUrl, connector, restarts) that the last status recorded; ("", "", 0)."""
    section = (status or {}).get("analyst") or {}
    if not isinstance(section, dict):
        return "", "", 0
    restarts = section.get("restarts")
    return (
        str(section.get("connectUrl") or ""),
        str(section.get("connector") or ""),
        restarts if isinstance(restarts, int) and restarts >= 0 else 0,
    )
