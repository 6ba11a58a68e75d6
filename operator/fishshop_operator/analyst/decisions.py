"""What the operator makes of the analyst's connector: ready or not, restart or not. Pure.

Connect's answer goes in, a decision comes out. Failed tasks are restarted with a
capped exponential backoff that starts over once they have run for a while (why:
docs/design/operator.md, "cabinet/, analyst/").
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fishshop_workers.analyst.restarts import (
    FIRST_DELAY,
    LONGEST_DELAY,
    STEADY_SECONDS,
    RestartBackoff,
    trace_reason,
)

__all__ = [
    "FIRST_DELAY",
    "LONGEST_DELAY",
    "STEADY_SECONDS",
    "AnalystMemory",
    "AnalystOutcome",
    "ConnectorState",
    "RestartBackoff",
    "TaskState",
    "connector_outcome",
    "steady",
    "trace_reason",
]

RUNNING = "RUNNING"
FAILED = "FAILED"


@dataclass(frozen=True)
class TaskState:
    id: int
    state: str
    """RUNNING, FAILED, PAUSED, UNASSIGNED, RESTARTING, as Connect says."""
    reason: str = ""
    """The first line of a failed task's trace."""


@dataclass(frozen=True)
class ConnectorState:
    """The connector as Connect reports it."""

    state: str
    tasks: tuple[TaskState, ...]
    reason: str = ""
    """The first line of a failed connector's trace."""


@dataclass(frozen=True)
class AnalystOutcome:
    """What the analyst's condition and status say."""

    ready: bool
    reason: str
    """ConnectorRunning, Starting, TaskFailed, ConnectorFailed, ConnectorPaused,
    ConnectUnreachable, ConnectRefused, SecretMissing, SecretInvalid,
    DatabaseUnreachable, ConnectorOwnedByAnotherShop or WaitingForTopics."""
    message: str
    connector: str = ""
    connect_url: str = ""
    state: ConnectorState | None = None
    """None when Connect was not asked or has no such connector."""
    restarts: int = 0
    """Failed tasks the operator has restarted for this shop."""

    @property
    def failed_tasks(self) -> int:
        return sum(1 for task in self.state.tasks if task.state == FAILED) if self.state else 0


def steady(state: ConnectorState | None) -> bool:
    """The connector and all its tasks run."""
    return (
        state is not None
        and state.state == RUNNING
        and bool(state.tasks)
        and all(task.state == RUNNING for task in state.tasks)
    )


def _tasks(count: int) -> str:
    return "1 task" if count == 1 else f"{count} tasks"


def connector_outcome(
    state: ConnectorState | None, *, connector: str, connect_url: str, restarts: int
) -> AnalystOutcome:
    """AnalystReady from the connector's state as Connect reported it."""

    def outcome(ready: bool, reason: str, message: str) -> AnalystOutcome:
        return AnalystOutcome(ready, reason, message, connector, connect_url, state, restarts)

    if state is None:
        return outcome(False, "Starting", f"connector {connector} is being created")
    if state.state == FAILED:
        return outcome(
            False, "ConnectorFailed", f"connector {connector} failed: {state.reason or 'no trace'}"
        )
    failed = [task for task in state.tasks if task.state == FAILED]
    if failed:
        first = failed[0]
        again = f"; restarted {restarts} times so far" if restarts else ""
        return outcome(
            False,
            "TaskFailed",
            f"task {first.id} of connector {connector} failed: {first.reason or 'no trace'}{again}",
        )
    if state.state in {"PAUSED", "STOPPED"}:
        return outcome(
            False,
            "ConnectorPaused",
            f"connector {connector} is {state.state.lower()}; resume it in Kafka Connect",
        )
    if state.state == RUNNING and state.tasks and all(t.state == RUNNING for t in state.tasks):
        return outcome(
            True,
            "ConnectorRunning",
            f"connector {connector} runs {_tasks(len(state.tasks))} at {connect_url}",
        )
    waiting = [f"task {t.id} {t.state.lower()}" for t in state.tasks if t.state != RUNNING]
    detail = ", ".join(waiting) if waiting else "no tasks yet"
    return outcome(False, "Starting", f"connector {connector} is {state.state.lower()}: {detail}")


@dataclass
class AnalystMemory:
    """What the operator remembers about one shop's analyst between reconciles."""

    backoff: RestartBackoff = field(default_factory=RestartBackoff)
    restarts: int | None = None
    """Failed tasks restarted so far; None until read back from the shop's status."""
    table_made: object | None = None
    """The PostgreSQL address the table was last made in (made again when it changes)."""
    seen: tuple[int, AnalystOutcome] | None = None
    """The spec generation the connector was last looked at for, and what was found."""
