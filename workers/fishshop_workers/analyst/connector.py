"""Keep a shop's sink connector in place and running, on any Connect cluster.

This is what the operator does for a FishShop on Kubernetes, for a shop run by
``fishshop demo``: create or update the connector, then watch it, restarting
failed tasks with backoff (a task that lost its database fails and stays failed
until someone restarts it; it then resumes from its last committed offsets, and
the upsert makes the replay harmless).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from fishshop_workers.analyst.connect_client import ConnectClient, ConnectError, ConnectorStatus
from fishshop_workers.analyst.restarts import RestartBackoff

__all__ = ["ConnectorKeeper"]

log = logging.getLogger(__name__)


@dataclass
class ConnectorKeeper:
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
        loop = asyncio.get_running_loop()
        try:
            status = await self.client.status(self.name)
            if status is None:
                await self.put()
                return None
            now = loop.time()
            self.backoff = self.backoff.observed(status.running, now)
            if (status.failed_tasks or status.state == "FAILED") and self.backoff.due(now):
                self.backoff = self.backoff.restarted(now)
                first = (status.failed_tasks or status.tasks or (None,))[0]
                log.warning(
                    "restarting the sink %s (restart %d in a row): %s",
                    self.name,
                    self.backoff.in_a_row,
                    first.reason if first is not None else status.state,
                )
                await self.client.restart_failed(self.name)
                self.restarts += 1
            return status
        except ConnectError as error:
            log.warning("cannot look after the sink %s: %s", self.name, error)
            return None

    async def watch(self) -> None:
        """Look every ``poll`` seconds until cancelled."""
        while True:
            await asyncio.sleep(self.poll)
            await self.check()
