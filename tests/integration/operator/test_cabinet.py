"""The operator and the hot cabinet against a real redis-server, a real API server and
a real broker (the harness runs the pods): Redis's answer in the status, the
credentials Secret reaching Redis and the workers, and a cook that stocks the cabinet
from the variables the operator gave it."""

from __future__ import annotations

import asyncio
import base64
import re
import socket
import threading
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest
from redis.asyncio import Redis

from fishshop_operator.cabinet.check import check_cabinet
from fishshop_operator.cabinet.credentials import RedisCredentials
from fishshop_operator.cabinet.spec import read_hot_cabinet
from fishshop_operator.endpoints import allow_local_endpoints
from fishshop_workers.cabinet.acl import acl_setuser
from fishshop_workers.cabinet.connection import CabinetConnection
from fishshop_workers.cabinet.keys import CabinetKeys
from fishshop_workers.cabinet.store import HotCabinet
from fishshop_workers.embedded.kafka import EmbeddedBroker, free_port
from fishshop_workers.embedded.redis import EmbeddedRedis
from tests.support.cluster import Cluster
from tests.support.kubelet import ProcessKubelet
from tests.support.processes import Worker
from tests.support.shops import apply, condition, get, small_shop, wait_for, wait_ready

PASSWORD = "fish-and-chips-4-2"
PREFIX = "fishshop.test.cabinet"


@pytest.fixture(scope="module")
def locked_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    """A redis-server of this module's own that wants a password."""
    pytest.importorskip("redis")
    server = EmbeddedRedis(tmp_path_factory.mktemp("locked-redis"), password=PASSWORD)
    try:
        server.start()
    except Exception as error:  # noqa: BLE001 - say why instead of an error
        pytest.skip(f"redis-server could not start: {error}")
    yield server
    server.stop()


def _check(url: str, credentials: RedisCredentials | None = None, *, local: bool = True) -> Any:
    """The operator's ping, in this process; ``local``: as ``--local-endpoints allow``
    (every server of the tests is on 127.0.0.1)."""
    spec = read_hot_cabinet({"hotCabinet": {"redisUrl": url}})
    assert spec is not None
    allow_local_endpoints(local)
    try:
        return asyncio.run(check_cabinet(spec, PREFIX, credentials))
    finally:
        allow_local_endpoints(False)


def _connections_received(server: EmbeddedRedis) -> int:
    async def read() -> int:
        client = Redis.from_url(server.url)
        try:
            info = await client.info("stats")
            return int(info["total_connections_received"])
        finally:
            await client.aclose()

    return asyncio.run(read())


def test_a_redis_on_loopback_is_refused_before_any_connection(
    redis_server: EmbeddedRedis,
) -> None:
    """A tenant naming the operator's own loopback gets a reason, and Redis not a
    single connection (the read of the count is one: hence the + 1)."""
    before = _connections_received(redis_server)
    port = redis_server.url.rsplit(":", 1)[1]
    for url in (redis_server.url, f"redis://localhost:{port}"):
        outcome = _check(url, local=False)
        assert (outcome.ready, outcome.reason) == (False, "EndpointRefused")
        assert "loopback" in outcome.message and "--local-endpoints allow" in outcome.message
    assert _connections_received(redis_server) == before + 1


# -- the operator's ping, against redis-server itself ---------------------------------


def test_a_redis_that_answers_is_ready(redis_server: EmbeddedRedis) -> None:
    outcome = _check(redis_server.url)
    assert (outcome.ready, outcome.reason) == (True, "CabinetReady")
    assert outcome.message == f"Redis at {redis_server.url} answers"


def test_a_dead_port_is_unreachable_and_says_where(redis_server: EmbeddedRedis) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    outcome = _check(url)
    assert (outcome.ready, outcome.reason) == (False, "RedisUnreachable")
    assert f"Redis at {url} cannot be used" in outcome.message
    assert "Check that Redis runs there" in outcome.message


def test_the_password_from_the_secret_opens_a_locked_redis(locked_redis: EmbeddedRedis) -> None:
    right = RedisCredentials("ns/redis-auth", PASSWORD)
    assert _check(locked_redis.url, right).reason == "CabinetReady"
    wrong = RedisCredentials("ns/redis-auth", "not-the-password")
    outcome = _check(locked_redis.url, wrong)
    assert (outcome.ready, outcome.reason) == (False, "RedisAuthenticationFailed")
    assert "not-the-password" not in outcome.message
    assert _check(locked_redis.url).reason == "RedisAuthenticationFailed"


def test_a_ca_that_is_not_one_is_the_secrets_fault() -> None:
    credentials = RedisCredentials("ns/redis-auth", "pw", b"-----BEGIN CERTIFICATE-----\nno\n")
    outcome = _check(f"rediss://127.0.0.1:{free_port()}", credentials)
    assert (outcome.ready, outcome.reason) == (False, "CredentialsSecretInvalid")
    assert "ns/redis-auth: ca.pem is not a PEM certificate" in outcome.message


def test_tls_to_a_redis_without_it_is_unreachable_not_hung(redis_server: EmbeddedRedis) -> None:
    """rediss:// to a plain Redis: the handshake fails within the bound."""
    outcome = _check(f"rediss://127.0.0.1:{redis_server.port}")
    assert (outcome.ready, outcome.reason) == (False, "RedisUnreachable")


class HugeRedis:
    """A hostile "Redis" on loopback: to the first command of each connection it
    answers with the head of ``answer``, then streams ``filler`` until the client
    hangs up."""

    def __init__(self, head: bytes, filler: bytes) -> None:
        self.head, self.filler = head, filler
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.sent = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            with client:
                try:
                    client.recv(4096)
                    client.sendall(self.head)
                    chunk = self.filler * (1024 * 1024 // len(self.filler))
                    while self.sent < 160 * 1024 * 1024:
                        client.sendall(chunk)
                        self.sent += len(chunk)
                except OSError:
                    continue

    def close(self) -> None:
        self.server.close()


@pytest.mark.parametrize(
    ("head", "filler"),
    [
        (b"$157286400\r\n", b"x"),
        (b"*100000000\r\n", b":1\r\n"),
        (b"*2\r\n$-4194304\r\n$4718592\r\n", b"x"),
    ],
    ids=["a 150 MiB string", "an array of 100 million", "a negative length first"],
)
def test_a_redis_that_answers_huge_costs_the_operator_nothing(head: bytes, filler: bytes) -> None:
    """Redis answers are read through a parser with a budget: a 150 MiB answer is
    refused from its header, with a reason, and the operator's memory stays small."""
    fake = HugeRedis(head, filler)
    tracemalloc.start()
    try:
        outcome = _check(f"redis://127.0.0.1:{fake.port}")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        fake.close()
    assert (outcome.ready, outcome.reason) == (False, "RedisUnreachable")
    assert "larger than 1024 KiB" in outcome.message or "no Redis sends" in outcome.message
    assert peak < 16 * 1024 * 1024, f"{peak / 2**20:.0f} MiB held while reading the answer"


# -- a shop with a hot cabinet, reconciled by the operator ----------------------------


def _cabinet_shop(broker: EmbeddedBroker, url: str, **cabinet: Any) -> dict[str, Any]:
    return small_shop(
        broker.bootstrap_servers,
        cooks={"replicas": 1, "cookSeconds": {"min": 0.0, "max": 0.05}},
        hotCabinet={"redisUrl": url, **cabinet},
    )


def _env(workload: dict[str, Any] | None) -> dict[str, str]:
    assert workload is not None
    container = workload["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e["value"] for e in container["env"] if "value" in e}


def _secret(cluster: Cluster, namespace: str, password: str, username: str | None = None) -> None:
    data = {"password": base64.b64encode(password.encode() + b"\n").decode()}
    if username is not None:
        data["username"] = base64.b64encode(username.encode()).decode()
    manifest = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "redis-auth", "namespace": namespace},
        "data": data,
    }
    apply(cluster, namespace, manifest)


async def _counts(url: str, prefix: str, password: str | None = None) -> Any:
    async with HotCabinet.connect(CabinetConnection(url, password=password), prefix) as cabinet:
        return await cabinet.counts()


def _deleted_and_emptied(cluster: Cluster, namespace: str, operator: Worker) -> int:
    """Delete the shop; the keys the operator then removed from its cabinet."""
    cluster.kubectl("delete", "-n", namespace, "fishshop", "harbour", "--wait=false")
    emptied = re.compile(rf"action=empty-cabinet shop={namespace}/harbour keys=(\d+)")
    found = wait_for(
        "the operator empties the cabinet", lambda: emptied.search(operator.log()), timeout=90
    )
    return int(found.group(1))


def _first_batch(
    kubelet: ProcessKubelet, namespace: str, url: str, password: str | None = None
) -> Any:
    """The shop's cabinet once its cook has fried a batch of cod into it."""
    prefix = f"fishshop.{namespace}.harbour"

    def fried() -> Any:
        counts = asyncio.run(_counts(url, prefix, password))
        return counts if counts["cod"].batches else None

    try:
        return wait_for("the cook's first batch of cod", fried, timeout=90)
    except AssertionError as error:
        raise AssertionError(f"{error}\n{kubelet.logs(namespace)}") from None


def test_a_shop_with_a_cabinet_becomes_ready_and_its_cook_stocks_the_cabinet(
    cluster: Cluster,
    kubelet: ProcessKubelet,
    broker: EmbeddedBroker,
    redis_server: EmbeddedRedis,
    namespace: str,
    fishshop_operator: Worker,
) -> None:
    apply(cluster, namespace, _cabinet_shop(broker, redis_server.url, codBatch=6, chipsBatch=12))
    wait_ready(cluster, namespace, "harbour", timeout=120)
    shop = get(cluster, namespace, "fishshop", "harbour")
    cabinet = condition(shop, "CabinetReady")
    assert (cabinet["status"], cabinet["reason"]) == ("True", "CabinetReady"), cabinet
    assert cabinet["message"] == f"Redis at {redis_server.url} answers"
    assert condition(shop, "Ready")["reason"] == "ShopOpen"

    till = _env(get(cluster, namespace, "statefulset", "harbour-till"))
    preparer = _env(get(cluster, namespace, "deployment", "harbour-preparer"))
    cook = _env(get(cluster, namespace, "deployment", "harbour-cook"))
    assert not [name for name in till if "REDIS" in name]
    assert preparer["FISHSHOP_REDIS_URL"] == cook["FISHSHOP_REDIS_URL"] == redis_server.url
    assert (cook["FISHSHOP_COD_BATCH"], cook["FISHSHOP_CHIPS_BATCH"]) == ("6", "12")

    # The pods run with what the operator gave them: the cook fries batches of six
    # into the shop's own cabinet, the one the operator pinged.
    cod = _first_batch(kubelet, namespace, redis_server.url)["cod"]
    assert cod.fried >= 6 and (cod.fried - cod.set_aside - cod.served - cod.in_cabinet) == 0

    # The shop goes, and its cabinet's keys with its topics.
    assert _deleted_and_emptied(cluster, namespace, fishshop_operator) > 0
    assert "CabinetNotEmptied" not in cluster.kubectl("get", "events", "-n", namespace)


@pytest.mark.usefixtures("fishshop_operator")
def test_a_shop_whose_redis_is_not_there_is_not_ready_and_says_why(
    cluster: Cluster, broker: EmbeddedBroker, namespace: str
) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    apply(cluster, namespace, _cabinet_shop(broker, url))

    def unreachable() -> dict[str, Any] | None:
        shop = get(cluster, namespace, "fishshop", "harbour")
        ready = condition(shop, "Ready")
        return ready if ready.get("reason") == "RedisUnreachable" else None

    ready = wait_for("Ready False, RedisUnreachable", unreachable, timeout=60)
    assert ready["status"] == "False"
    assert f"Redis at {url} cannot be used" in ready["message"]
    cabinet = condition(get(cluster, namespace, "fishshop", "harbour"), "CabinetReady")
    assert (cabinet["status"], cabinet["reason"]) == ("False", "RedisUnreachable")
    events = cluster.kubectl("get", "events", "-n", namespace, "-o", "json")
    assert "RedisUnreachable" in events


@pytest.mark.slow
@pytest.mark.usefixtures("fishshop_operator")
def test_the_credentials_secret_opens_a_locked_redis_for_the_operator_and_the_pods(
    cluster: Cluster,
    kubelet: ProcessKubelet,
    broker: EmbeddedBroker,
    locked_redis: EmbeddedRedis,
    namespace: str,
) -> None:
    _secret(cluster, namespace, "not-the-password")
    shop = _cabinet_shop(broker, locked_redis.url, credentialsSecret="redis-auth")
    apply(cluster, namespace, shop)

    def refused() -> dict[str, Any] | None:
        found = condition(get(cluster, namespace, "fishshop", "harbour"), "CabinetReady")
        return found if found.get("reason") == "RedisAuthenticationFailed" else None

    wait_for("CabinetReady False, RedisAuthenticationFailed", refused, timeout=60)

    _secret(cluster, namespace, PASSWORD)  # the resync reads the new version
    wait_ready(cluster, namespace, "harbour", timeout=120)
    # A kubelet refreshes a mounted Secret in time (the workers read the file at each
    # connect); the harness writes it only when a pod starts, so new pods it is.
    cluster.kubectl("delete", "pods", "-n", namespace, "-l", "fishshop.dev/shop=harbour")
    cook = get(cluster, namespace, "deployment", "harbour-cook")
    assert _env(cook)["FISHSHOP_REDIS_PASSWORD_FILE"] == "/etc/fishshop/redis/password"
    volumes = cook["spec"]["template"]["spec"]["volumes"] if cook else []
    assert {"name": "redis-credentials", "secret": {
        "secretName": "redis-auth", "defaultMode": 0o440,
        "items": [{"key": "password", "path": "password"}],
    }} in volumes  # fmt: skip
    shown = cluster.kubectl("get", "fishshop,deploy,events", "-n", namespace, "-o", "yaml")
    assert PASSWORD not in shown
    _first_batch(kubelet, namespace, locked_redis.url, PASSWORD)


def test_a_shops_own_redis_user_from_the_secret_runs_its_cabinet(
    cluster: Cluster,
    kubelet: ProcessKubelet,
    broker: EmbeddedBroker,
    locked_redis: EmbeddedRedis,
    namespace: str,
    fishshop_operator: Worker,
) -> None:
    """A shared Redis with an ACL user per shop (docs/kubernetes.md): the Secret names
    the shop's user; the operator checks and empties the cabinet as that user, and the
    preparers and the cook run as it."""
    prefix = f"fishshop.{namespace}.harbour"

    async def admin(*command: str) -> Any:
        client: Redis = Redis.from_url(locked_redis.url, password=PASSWORD, decode_responses=True)
        try:
            return await client.execute_command(*command)
        finally:
            await client.aclose()

    asyncio.run(admin(*acl_setuser(CabinetKeys(prefix), "shop-password")))
    _secret(cluster, namespace, "shop-password", username=prefix)
    apply(
        cluster, namespace, _cabinet_shop(broker, locked_redis.url, credentialsSecret="redis-auth")
    )
    wait_ready(cluster, namespace, "harbour", timeout=120)

    def shop_user_connected() -> bool:
        clients = asyncio.run(admin("CLIENT", "LIST"))
        return f"user={prefix} " in str(clients)

    wait_for("a worker connected as the shop's user", shop_user_connected, timeout=60)
    assert _first_batch(kubelet, namespace, locked_redis.url, PASSWORD)["cod"].fried > 0

    assert _deleted_and_emptied(cluster, namespace, fishshop_operator) > 0  # as the shop's user
    refused = [e for e in asyncio.run(admin("ACL", "LOG")) if e.get("username") == prefix]
    assert refused == [], "no command of the shop's user was refused"
