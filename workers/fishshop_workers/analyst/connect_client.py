"""Kafka Connect's REST API, the few calls the analyst needs, for any Connect cluster.

``PUT /connectors/NAME/config`` creates or updates a connector (idempotent);
``GET .../status`` says how it and its tasks run; ``POST .../restart`` restarts
the failed ones; ``DELETE`` removes it. Every call has a deadline, and every
failure is a ``ConnectError`` that says which Connect and what it answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import quote

import aiohttp

from fishshop_workers.analyst.restarts import trace_reason
from fishshop_workers.errors import ServiceError

__all__ = ["ConnectClient", "ConnectError", "ConnectorStatus", "TaskStatus", "read_status"]


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


def read_status(document: Mapping[str, Any]) -> ConnectorStatus:
    """Connect's status document as a ``ConnectorStatus``."""
    connector = document.get("connector") or {}
    tasks = tuple(
        TaskStatus(int(task.get("id", 0)), str(task.get("state", "UNKNOWN")), task.get("trace"))
        for task in document.get("tasks") or ()
    )
    return ConnectorStatus(
        name=str(document.get("name", "")),
        state=str(connector.get("state", "UNKNOWN")),
        tasks=tuple(sorted(tasks, key=lambda task: task.id)),
        trace=connector.get("trace"),
    )


class ConnectClient:
    """One Connect cluster's REST API (``url`` such as ``http://connect:8083``)."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
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
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._session.request(method, url, json=body) as response:
                text = await response.text()
                if response.status == 404 and missing_ok:
                    return 404, None
                if response.status >= 400:
                    raise ConnectError(
                        f"Kafka Connect at {self.url} answered {method} {url[len(self.url) :]} "
                        f"with {response.status}: {_message(text)}",
                        response.status,
                    )
                return response.status, (await response.json() if text.strip() else None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise ConnectError(
                f"Kafka Connect at {self.url} is unreachable: {error or type(error).__name__}"
            ) from error

    async def put_config(self, name: str, config: Mapping[str, str]) -> bool:
        """Create or update the connector; True when it was created."""
        status, _ = await self._call("PUT", self._path(name, "config"), dict(config))
        return status == 201

    async def config(self, name: str) -> dict[str, str] | None:
        _, body = await self._call("GET", self._path(name, "config"), missing_ok=True)
        return None if body is None else {str(k): str(v) for k, v in body.items()}

    async def status(self, name: str) -> ConnectorStatus | None:
        """How the connector runs, or None when there is no such connector."""
        _, body = await self._call("GET", self._path(name, "status"), missing_ok=True)
        return None if body is None else read_status(body)

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
        return [str(name) for name in body or ()]


def _message(text: str) -> str:
    """Connect's error body is ``{"error_code": .., "message": ..}``; else the text."""
    import json

    try:
        document = json.loads(text)
    except ValueError:
        return text.strip()[:500]
    if isinstance(document, dict) and "message" in document:
        return str(document["message"])[:500]
    return text.strip()[:500]
