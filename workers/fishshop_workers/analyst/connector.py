"""The one upkeep of a shop's sink connector, on any Connect cluster: put its config
when it is missing or differs, and restart its failed tasks with backoff.

The operator calls ``keep_connector`` at each reconcile of a FishShop; ``fishshop
demo`` calls it every few seconds through ``ConnectorKeeper``. A task that lost its
database fails and stays failed until someone restarts it; it then resumes from its
last committed offsets, and the upsert makes the replay harmless.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from fishshop_workers.analyst.connect_client import ConnectClient, ConnectError, ConnectorStatus
from fishshop_workers.analyst.restarts import RestartBackoff
from fishshop_workers.analyst.sink import SHOP_LABEL_KEY, belongs_to

__all__ = ["ConnectorKeeper", "Upkeep", "failed_count", "keep_connector"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Upkeep:
    """What one look at a sink connector found and did."""

    status: ConnectorStatus | None
    """The connector as Connect reports it after the look; None when it has none."""
    backoff: RestartBackoff
    """The restart backoff to keep for the next look."""
    put: str | None = None
    """``created`` or ``updated`` when the config was put, else None."""
    restarted: int = 0
    """Failed tasks restarted (1 for a failed connector without failed tasks)."""
    failure: str = ""
    """Why the restarted tasks had failed: the first one's reason, in one line."""
    owner: str | None = None
    """Another shop's label when the connector of that name is not this shop's: then
    nothing was changed."""


def failed_count(status: ConnectorStatus | None) -> int:
    """Failed tasks, or 1 for a failed connector (a restart covers it too)."""
    if status is None:
        return 0
    return len(status.failed_tasks) or (1 if status.state == "FAILED" else 0)


async def keep_connector(
    connect: ConnectClient,
    name: str,
    config: Mapping[str, str],
    backoff: RestartBackoff,
    now: float,
    *,
    label: str | None = None,
    before_restart: Callable[[], Awaitable[None]] | None = None,
) -> Upkeep:
    """Put the connector's config if missing or different, then restart its failed
    tasks when ``backoff`` allows. With ``label``, a connector of that name that
    carries another shop's label is left alone. Raises ``ConnectError``."""
    current = await connect.config(name)
    if current is not None and label is not None and not belongs_to(current, label):
        return Upkeep(None, backoff, owner=current.get(SHOP_LABEL_KEY) or "(none)")
    put = None
    if current is None or _settings(current) != _settings(config):
        put = "created" if await connect.put_config(name, config) else "updated"
    status = await connect.status(name)
    backoff = backoff.observed(status is not None and status.running, now)
    failed = failed_count(status)
    if not failed or not backoff.due(now):
        return Upkeep(status, backoff, put)
    first = (status.failed_tasks or status.tasks or (None,))[0] if status is not None else None
    failure = first.reason if first is not None else (status.state if status else "")
    if before_restart is not None:
        await before_restart()
    await connect.restart_failed(name)
    backoff = backoff.restarted(now)
    return Upkeep(await connect.status(name), backoff, put, restarted=failed, failure=failure)


def _settings(config: Mapping[str, str]) -> dict[str, str]:
    """A connector's config without its name, which Connect adds to what it returns."""
    return {key: value for key, value in config.items() if key != "name"}


@dataclass
class ConnectorKeeper:
    """Keeps one connector in place and running while a demo shop is open."""

    client: ConnectClient
    name: str
    config: Mapping[str, str]
    poll: float = 2.0
    backoff: RestartBackoff = field(default_factory=RestartBackoff)
    restarts: int = 0
    """Restarts made by this keeper."""

    async def put(self) -> None:
        await self.client.put_config(self.name, self.config)

    async def check(self) -> ConnectorStatus | None:
        """One look: put the connector back if it is gone, restart failed tasks."""
        try:
            upkeep = await keep_connector(
                self.client,
                self.name,
                self.config,
                self.backoff,
                asyncio.get_running_loop().time(),
            )
        except ConnectError as error:
            log.warning("cannot look after the sink %s: %s", self.name, error)
            return None
        self.backoff = upkeep.backoff
        if upkeep.restarted:
            self.restarts += 1
            log.warning(
                "restarted the sink %s (restart %d in a row): %s",
                self.name,
                self.backoff.in_a_row,
                upkeep.failure,
            )
        return upkeep.status

    async def watch(self) -> None:
        """Look every ``poll`` seconds until cancelled."""
        while True:
            await asyncio.sleep(self.poll)
            await self.check()
