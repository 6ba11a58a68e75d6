"""Kafka Connect's REST API, the few calls the analyst needs, for any Connect cluster.

``PUT /connectors/NAME/config`` creates or updates a connector (idempotent);
``GET .../status`` says how it and its tasks run; ``POST .../restart`` restarts
the failed ones; ``DELETE`` removes it. A Connect may be anyone's (a tenant names
it), so every call has a deadline that cancels it, an answer is read up to a bound,
redirects are never followed, and an answer that is not Connect's is refused: every
failure is a ``ConnectError`` that says which Connect and, in one short line, what
it answered.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import quote

import aiohttp
from aiohttp.abc import AbstractResolver

from fishshop_workers.analyst.restarts import trace_reason
from fishshop_workers.errors import ServiceError, remote_text

__all__ = [
    "MAX_ANSWER_BYTES",
    "ConnectClient",
    "ConnectError",
    "ConnectorStatus",
    "TaskStatus",
    "read_status",
]

MAX_ANSWER_BYTES = 1 << 20
"""The longest answer read from Connect: a status with many tasks' Java traces fits."""
MAX_TASKS = 256
"""Tasks of one connector taken from a status (Connect runs a handful per sink)."""
MAX_TRACE = 20_000
"""Characters of a failed task's trace kept (its first line and root cause are shown)."""


class ConnectError(ServiceError, RuntimeError):
    """Connect could not be reached or refused a request."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class TaskStatus:
    id: int
    state: str
    trace: str | None = None

    @property
    def failed(self) -> bool:
        return self.state == "FAILED"

    @property
    def reason(self) -> str:
        """What went wrong, in one line: the trace's first line and its root cause."""
        return trace_reason(self.trace)


@dataclass(frozen=True)
class ConnectorStatus:
    name: str
    state: str
    tasks: tuple[TaskStatus, ...]
    trace: str | None = None

    @property
    def failed_tasks(self) -> tuple[TaskStatus, ...]:
        return tuple(task for task in self.tasks if task.failed)

    @property
    def running(self) -> bool:
        """The connector and at least one task run, and none has failed."""
        return (
            self.state == "RUNNING"
            and bool(self.tasks)
            and all(task.state == "RUNNING" for task in self.tasks)
        )


def read_status(document: object) -> ConnectorStatus:
    """Connect's status document as a ``ConnectorStatus``; ValueError when it is not
    one (any server can answer at a tenant's URL)."""
    if not isinstance(document, Mapping):
        raise ValueError("the status is not a JSON object")
    connector = document.get("connector") or {}
    tasks_found = document.get("tasks") or []
    if not isinstance(connector, Mapping) or not isinstance(tasks_found, list):
        raise ValueError("the status has no connector object and task list")
    tasks = []
    for task in tasks_found[:MAX_TASKS]:
        if not isinstance(task, Mapping) or not isinstance(task.get("id", 0), int):
            raise ValueError("a task in the status is not an object with a numeric id")
        tasks.append(
            TaskStatus(int(task.get("id", 0)), _state(task.get("state")), _trace(task.get("trace")))
        )
    return ConnectorStatus(
        name=remote_text(document.get("name", ""), 250),
        state=_state(connector.get("state")),
        tasks=tuple(sorted(tasks, key=lambda task: task.id)),
        trace=_trace(connector.get("trace")),
    )


def _state(value: object) -> str:
    return remote_text(value if value is not None else "UNKNOWN", 40)


def _trace(value: object) -> str | None:
    return None if value is None else str(value)[:MAX_TRACE]


class ConnectClient:
    """One Connect cluster's REST API (``url`` such as ``http://connect:8083``)."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        max_answer: int = MAX_ANSWER_BYTES,
        resolver: AbstractResolver | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._max_answer = max_answer
        self._resolver = resolver
        """Resolves Connect's host name; the operator's refuses addresses a tenant may
        not reach (loopback, link-local, cloud metadata)."""
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"ConnectClient({self.url!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def _path(self, name: str, *rest: str) -> str:
        return "/".join([self.url, "connectors", quote(name, safe=""), *rest])

    async def _call(
        self, method: str, url: str, body: Any = None, *, missing_ok: bool = False
    ) -> tuple[int, Any]:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(resolver=self._resolver) if self._resolver else None
            self._session = aiohttp.ClientSession(timeout=self._timeout, connector=connector)
        path = url[len(self.url) :]
        try:
            async with self._session.request(
                method, url, json=body, allow_redirects=False
            ) as response:
                raw = await _read_bounded(response, self._max_answer)
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            raise ConnectError(
                f"Kafka Connect at {self.url} is unreachable: "
                f"{remote_text(error) or type(error).__name__}"
            ) from error
        if len(raw) > self._max_answer:
            raise ConnectError(
                f"Kafka Connect at {self.url} answered {method} {path} with more than "
                f"{self._max_answer} bytes: not Kafka Connect's answer",
                response.status,
            )
        if 300 <= response.status < 400:
            raise ConnectError(
                f"Kafka Connect at {self.url} answered {method} {path} with a redirect "
                f"({response.status}); redirects are not followed: give Connect's own URL",
                response.status,
            )
        if response.status == 404 and missing_ok:
            return 404, None
        if response.status >= 400:
            raise ConnectError(
                f"Kafka Connect at {self.url} answered {method} {path} "
                f"with {response.status}: {_message(raw)}",
                response.status,
            )
        try:
            return response.status, (json.loads(raw) if raw.strip() else None)
        except ValueError:
            raise ConnectError(
                f"Kafka Connect at {self.url} answered {method} {path} with {len(raw)} "
                "bytes that are not JSON: not Kafka Connect's answer",
                response.status,
            ) from None

    def _not_connect(self, what: str, error: ValueError) -> ConnectError:
        return ConnectError(
            f"Kafka Connect at {self.url} answered with {what} that is not Kafka Connect's: {error}"
        )

    async def kafka_cluster_id(self) -> str:
        """The id of the Kafka cluster this Connect works with (its root answer)."""
        _, body = await self._call("GET", self.url + "/")
        found = body.get("kafka_cluster_id") if isinstance(body, dict) else None
        if not isinstance(found, str) or not 0 < len(found) <= 64:
            raise self._not_connect("a root", ValueError("no kafka_cluster_id"))
        return remote_text(found, 64)

    async def put_config(self, name: str, config: Mapping[str, str]) -> bool:
        """Create or update the connector; True when it was created."""
        status, _ = await self._call("PUT", self._path(name, "config"), dict(config))
        return status == 201

    async def config(self, name: str) -> dict[str, str] | None:
        _, body = await self._call("GET", self._path(name, "config"), missing_ok=True)
        if body is None:
            return None
        if not isinstance(body, Mapping):
            raise self._not_connect("a config", ValueError("not a JSON object"))
        return {str(k): str(v) for k, v in body.items()}

    async def status(self, name: str) -> ConnectorStatus | None:
        """How the connector runs, or None when there is no such connector."""
        _, body = await self._call("GET", self._path(name, "status"), missing_ok=True)
        if body is None:
            return None
        try:
            return read_status(body)
        except ValueError as error:
            raise self._not_connect("a status", error) from None

    async def restart_failed(self, name: str) -> None:
        """Restart the connector's failed instance and failed tasks (KIP-745)."""
        # Connect answers a POST without a JSON body with 415 Unsupported Media Type.
        query = "?includeTasks=true&onlyFailed=true"
        await self._call("POST", self._path(name, "restart") + query, {})

    async def delete(self, name: str) -> bool:
        """Remove the connector; False when there was none."""
        status, _ = await self._call("DELETE", self._path(name), missing_ok=True)
        return status != 404

    async def connectors(self) -> list[str]:
        _, body = await self._call("GET", f"{self.url}/connectors")
        if not isinstance(body, list | None):
            raise self._not_connect("a connector list", ValueError("not a JSON list"))
        return [str(name) for name in body or ()]


async def _read_bounded(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The answer's body, but no more than one byte past ``limit``."""
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = await response.content.read(limit + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _message(raw: bytes) -> str:
    """Connect's error body is ``{"error_code": .., "message": ..}``: its message, in
    one short line. Anything else is not echoed, only measured."""
    try:
        document = json.loads(raw)
    except ValueError:
        document = None
    if isinstance(document, dict) and isinstance(document.get("message"), str):
        return remote_text(document["message"])
    return f"({len(raw)} bytes that are not Kafka Connect's error document)"
