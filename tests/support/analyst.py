"""A shop's sink connector put on (or taken off) a real Connect worker, for tests."""

from __future__ import annotations

import asyncio

from fishshop_workers.analyst.connect_client import ConnectClient
from fishshop_workers.analyst.database import DatabaseAddress
from fishshop_workers.analyst.sink import connector_name, sink_connector_config
from fishshop_workers.shop.topics import default_prefix


def put_sink(connect_url: str, postgres_url: str, shop: str) -> str:
    """Put the local shop's connector, as the demo does; its name."""
    prefix = default_prefix(shop)
    config = sink_connector_config(
        shop=shop, topic_prefix=prefix, database=DatabaseAddress.from_url(postgres_url)
    )
    name = connector_name(prefix)

    async def put() -> None:
        async with ConnectClient(connect_url) as client:
            await client.put_config(name, config)

    asyncio.run(put())
    return name


def delete_sink(connect_url: str, name: str) -> None:
    async def delete() -> None:
        async with ConnectClient(connect_url) as client:
            await client.delete(name)

    asyncio.run(delete())
