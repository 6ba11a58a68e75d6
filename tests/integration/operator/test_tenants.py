"""Two tenants on one operator, one Kafka, one Connect, one PostgreSQL and one Redis,
as a platform team runs them (docs/kubernetes.md, "Between tenants"): prefixes tied to
namespaces, a PostgreSQL user and a Redis ACL user per tenant. Neither tenant can take
the other's topics, connector, table or cabinet, nor stall the other's shop; and topics
kept for a deleted shop go back only to a shop of its name, after an operator restart
too. A real API server and operator; no pods run (the namespaces are not fs-*)."""

from __future__ import annotations

import asyncio
import base64
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from redis.asyncio import Redis
from redis.exceptions import NoPermissionError

from fishshop_workers.analyst.connect_client import ConnectClient
from fishshop_workers.cabinet.acl import acl_setuser
from fishshop_workers.cabinet.keys import CabinetKeys
from fishshop_workers.embedded.connect import EmbeddedConnect
from fishshop_workers.embedded.kafka import EmbeddedBroker
from fishshop_workers.embedded.postgres import EmbeddedPostgres
from fishshop_workers.embedded.redis import EmbeddedRedis
from tests.conftest import operator_process
from tests.support.cluster import Cluster
from tests.support.processes import Worker
from tests.support.shops import (
    apply,
    condition,
    get,
    namespace_of_its_own,
    small_shop,
    topic_partitions,
    wait_for,
)

pytestmark = pytest.mark.broker

ADMIN_PASSWORD = "platform-admin"


@pytest.fixture(scope="module")
def shared_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    """The platform's Redis: only its admin knows the default user's password."""
    server = EmbeddedRedis(tmp_path_factory.mktemp("tenants-redis"), password=ADMIN_PASSWORD)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def tenant_namespaces(cluster: Cluster) -> Iterator[tuple[str, str]]:
    a = namespace_of_its_own(cluster, "tn-")
    b = namespace_of_its_own(cluster, "tn-")
    yield next(a), next(b)
    for made in (a, b):
        next(made, None)


def _operator(cluster: Cluster, tmp_path: Path, name: str, *namespaces: str) -> Worker:
    """An operator of the test's own, with prefixes tied to namespaces (the default)."""
    operator = operator_process(cluster, tmp_path, name, ",".join(namespaces))
    operator.variables["topic_prefixes"] = "namespace"
    operator.start()
    return operator


def _secret(cluster: Cluster, namespace: str, name: str, **data: str) -> None:
    encoded = {key: base64.b64encode(value.encode()).decode() for key, value in data.items()}
    manifest = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "data": encoded,
    }
    apply(cluster, namespace, manifest)


def _idle(shop: dict[str, Any]) -> dict[str, Any]:
    shop["spec"]["tills"]["replicas"] = 0
    shop["spec"]["preparers"]["replicas"] = 0
    return shop


def _condition(cluster: Cluster, namespace: str, name: str, kind: str, status: str) -> Any:
    last: list[dict[str, Any]] = [{}]

    def seen() -> dict[str, Any] | None:
        last[0] = condition(get(cluster, namespace, "fishshop", name), kind)
        return last[0] if last[0].get("status") == status else None

    try:
        return wait_for(f"{namespace}/{name} {kind}={status}", seen, timeout=120)
    except AssertionError as error:
        raise AssertionError(f"{error}; it said {last[0]}") from None


def _refused(cluster: Cluster, namespace: str, name: str, reason: str) -> str:
    def seen() -> str | None:
        ready = condition(get(cluster, namespace, "fishshop", name), "Ready")
        return str(ready["message"]) if ready.get("reason") == reason else None

    return wait_for(f"{namespace}/{name} refused with {reason}", seen, timeout=60)


def _topics(prefix: str) -> list[str]:
    return [f"{prefix}.{suffix}" for suffix in ("orders", "cook", "served", "dlq")]


def _postgres_user(server: EmbeddedPostgres, database: str, user: str) -> str:
    """A tenant's login of its own in ``database``; its URL."""
    with psycopg.connect(server.url, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {user} LOGIN PASSWORD 'pw-{user}'")
        admin.execute(f'GRANT CREATE ON DATABASE "{database}" TO {user}')
    return _postgres_url(server, database, user)


def _postgres_url(server: EmbeddedPostgres, database: str, user: str) -> str:
    host = server.url.split("@", 1)[1].rsplit("/", 1)[0]
    return f"postgresql://{user}:pw-{user}@{host}/{database}"


async def _redis(url: str, *command: str, user: str, password: str) -> Any:
    client: Redis = Redis.from_url(
        url, username=user, password=password, decode_responses=True, driver_info=None
    )
    try:
        return await client.execute_command(*command)
    finally:
        await client.aclose()


class SilentServer:
    """Accepts connections and never answers: a tenant's Connect that hangs."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.held.append(connection)

    def close(self) -> None:
        self.socket.close()
        for connection in self.held:
            connection.close()


def test_two_tenants_keep_their_topics_connector_table_and_cabinet_apart(
    cluster: Cluster,
    broker: EmbeddedBroker,
    connect_worker: EmbeddedConnect,
    postgres_server: EmbeddedPostgres,
    shared_redis: EmbeddedRedis,
    tenant_namespaces: tuple[str, str],
    tmp_path: Path,
) -> None:
    alice, bob = tenant_namespaces
    tail = uuid.uuid4().hex[:6]
    database = f"tenants_{tail}"
    with psycopg.connect(postgres_server.url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    users = {alice: f"alice_{tail}", bob: f"bob_{tail}"}
    prefixes = {namespace: f"fishshop.{namespace}.harbour" for namespace in (alice, bob)}
    for namespace in (alice, bob):
        url = _postgres_user(postgres_server, database, users[namespace])
        _secret(cluster, namespace, "analyst-pg", url=url)
        keys = CabinetKeys(prefixes[namespace])
        asyncio.run(
            _redis(
                shared_redis.url,
                *acl_setuser(keys, f"pw-{namespace}"),
                user="default",
                password=ADMIN_PASSWORD,
            )
        )
        _secret(
            cluster,
            namespace,
            "redis-auth",
            username=prefixes[namespace],
            password=f"pw-{namespace}",
        )
        shop = small_shop(
            broker.bootstrap_servers,
            hotCabinet={"redisUrl": shared_redis.url, "credentialsSecret": "redis-auth"},
            analyst={"connectUrl": connect_worker.url, "postgresSecret": "analyst-pg"},
        )
        apply(cluster, namespace, _idle(shop))

    silent = SilentServer()
    operator = _operator(cluster, tmp_path, "operator-tenants", alice, bob)
    try:
        for namespace in (alice, bob):
            _condition(cluster, namespace, "harbour", "TopicsReady", "True")
            _condition(cluster, namespace, "harbour", "CabinetReady", "True")
            _condition(cluster, namespace, "harbour", "AnalystReady", "True")

        # Bob asks for Alice's topics by her prefix, by its Kafka twin and by a prefix
        # under her namespace: each is refused, and nothing is made for them.
        squats = {
            "squat": prefixes[alice],
            "twin": prefixes[alice].replace(".", "_"),
            "under": f"{alice}.harbour",
        }
        for name, prefix in squats.items():
            apply(
                cluster, bob, _idle(small_shop(broker.bootstrap_servers, name, topicPrefix=prefix))
            )
        for name in squats:
            message = _refused(cluster, bob, name, "TopicPrefixOfAnotherNamespace")
            assert f"use {bob}.<something>" in message

        # Bob's second shop names a Connect that never answers; Alice's shop is still
        # served at once: a change of hers reaches her workload within seconds.
        hung = small_shop(
            broker.bootstrap_servers,
            "hung",
            analyst={
                "connectUrl": f"http://127.0.0.1:{silent.port}",
                "postgresSecret": "analyst-pg",
            },
        )
        apply(cluster, bob, _idle(hung))
        wait_for("the operator to call the silent Connect", lambda: silent.held, timeout=60)
        scaled = _idle(
            small_shop(
                broker.bootstrap_servers,
                hotCabinet={"redisUrl": shared_redis.url, "credentialsSecret": "redis-auth"},
                analyst={"connectUrl": connect_worker.url, "postgresSecret": "analyst-pg"},
            )
        )
        scaled["spec"]["preparers"]["replicas"] = 2
        started = time.monotonic()
        apply(cluster, alice, scaled)
        wait_for(
            "Alice's preparers scaled to 2",
            lambda: (
                (get(cluster, alice, "deployment", "harbour-preparer") or {})
                .get("spec", {})
                .get("replicas")
                == 2
            ),
            timeout=30,
        )
        assert time.monotonic() - started < 15

        # Connect: one connector per tenant, each reading its own topic into its own
        # user's table; none for the refused shops.
        async def connectors() -> dict[str, dict[str, str]]:
            async with ConnectClient(connect_worker.url) as client:
                named = [n for n in await client.connectors() if alice in n or bob in n]
                return {n: (await client.config(n)) or {} for n in named}

        configs = asyncio.run(connectors())
        assert set(configs) == {f"{prefixes[n]}.analyst" for n in (alice, bob)}
        for namespace in (alice, bob):
            config = configs[f"{prefixes[namespace]}.analyst"]
            assert config["topics"] == f"{prefixes[namespace]}.served"
            assert config["collection.name.format"] == f"{users[namespace]}.served_orders"

        # PostgreSQL: each table in its user's schema; Bob's login cannot read Alice's.
        with psycopg.connect(postgres_server.url.rsplit("/", 1)[0] + f"/{database}") as admin:
            owners = admin.execute(
                "SELECT schemaname, tableowner FROM pg_tables WHERE tablename = 'served_orders'"
            ).fetchall()
        assert sorted(owners) == sorted((users[n], users[n]) for n in (alice, bob))
        bob_url = _postgres_url(postgres_server, database, users[bob])
        with (
            psycopg.connect(bob_url, autocommit=True) as snoop,
            pytest.raises(psycopg.errors.InsufficientPrivilege),
        ):
            snoop.execute(f"SELECT * FROM {users[alice]}.served_orders")

        # Redis: Alice's cabinet holds an order; Bob's user can neither read nor delete
        # it, and deleting Bob's shop empties only Bob's cabinet.
        alice_aside = CabinetKeys(prefixes[alice]).set_aside
        asyncio.run(
            _redis(
                shared_redis.url,
                "HSET",
                alice_aside,
                "01ALICE",
                "{}",
                user=prefixes[alice],
                password=f"pw-{alice}",
            )
        )
        for command in (("HGETALL", alice_aside), ("DEL", alice_aside), ("FLUSHALL",)):
            with pytest.raises(NoPermissionError):
                asyncio.run(
                    _redis(shared_redis.url, *command, user=prefixes[bob], password=f"pw-{bob}")
                )
        cluster.kubectl("delete", "fishshop", "--all", "-n", bob, "--timeout=90s")
        left = asyncio.run(
            _redis(
                shared_redis.url,
                "HGETALL",
                alice_aside,
                user=prefixes[alice],
                password=f"pw-{alice}",
            )
        )
        assert left == {"01ALICE": "{}"}
        # Bob's shops are gone, and so is Bob's connector; Alice's topics and connector
        # stay, and her shop never stopped being served.
        assert asyncio.run(connectors()).keys() == {f"{prefixes[alice]}.analyst"}
        bootstrap = broker.bootstrap_servers
        assert topic_partitions(bootstrap, _topics(prefixes[alice])).keys() == set(
            _topics(prefixes[alice])
        )
        assert topic_partitions(bootstrap, _topics(prefixes[bob])) == {}
        _condition(cluster, alice, "harbour", "TopicsReady", "True")
    finally:
        operator.terminate(30)
        silent.close()
    log = operator.log()
    assert "Traceback" not in log


def test_kept_topics_go_back_only_to_their_shop_after_an_operator_restart(
    cluster: Cluster, broker: EmbeddedBroker, tmp_path: Path
) -> None:
    namespaces = namespace_of_its_own(cluster, "tn-")
    namespace = next(namespaces)
    prefix = f"{namespace}.kept.topics"
    try:
        kept = _idle(
            small_shop(
                broker.bootstrap_servers,
                "first",
                topicPrefix=prefix,
                topicDeletionPolicy="Retain",
            )
        )
        operator = _operator(cluster, tmp_path, "operator-kept", namespace)
        try:
            apply(cluster, namespace, kept)
            _condition(cluster, namespace, "first", "TopicsReady", "True")
            wait_for(
                "the record that first keeps its topics",
                lambda: cluster.kubectl(
                    "get", "configmap", "-n", namespace, "-l", "fishshop.dev/kept-topics",
                    "-o", "name",
                ).strip(),
            )  # fmt: skip
            cluster.kubectl("delete", "fishshop", "first", "-n", namespace, "--timeout=60s")
        finally:
            operator.terminate(30)
        assert f"{prefix}.orders" in topic_partitions(broker.bootstrap_servers, _topics(prefix))

        # A new operator, which never saw "first": another shop of the namespace asks
        # for the prefix's Kafka twin and is refused; "first" made again takes them back.
        operator = _operator(cluster, tmp_path, "operator-kept-again", namespace)
        try:
            twin = small_shop(
                broker.bootstrap_servers, "second", topicPrefix=f"{namespace}.kept_topics"
            )
            apply(cluster, namespace, _idle(twin))
            message = _refused(cluster, namespace, "second", "TopicsKeptForAnotherShop")
            assert f"kept for shop {namespace}/first" in message
            assert "name this shop first" in message
            # Deleting the refused shop (topicDeletionPolicy Delete) leaves them too.
            cluster.kubectl("delete", "fishshop", "second", "-n", namespace, "--timeout=60s")
            assert f"{prefix}.orders" in topic_partitions(broker.bootstrap_servers, _topics(prefix))
            apply(cluster, namespace, kept)
            _condition(cluster, namespace, "first", "TopicsReady", "True")
        finally:
            operator.terminate(30)
        assert "Traceback" not in operator.log()
    finally:
        next(namespaces, None)
