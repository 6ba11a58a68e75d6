"""Fast tests of KubeApi's own behaviour (resending, fresh logins, the thread pool, the
request counter and the TLS trust) against a loopback HTTP stub that answers as told.

What the API server itself does with these requests is proven on the real one in
tests/integration/operator/test_kube_credentials.py; a stub is only here because the real one
cannot be made to answer 429 or 401 at a chosen moment."""

from __future__ import annotations

import asyncio
import base64
import http.server
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import kubernetes.client
import pytest
from prometheus_client import CollectorRegistry

from fishshop_operator.kube.api import KubeApi, KubeApiError
from fishshop_operator.kube.rules import BUSY_RETRIES
from fishshop_operator.metrics import OperatorMetrics

Answer = tuple[int, dict[str, str], dict[str, Any]]


class Stub:
    """Answers each request with ``reply(method, path, token)``; records what came in."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []
        self.reply: Callable[[str, str, str], Answer] = lambda m, p, t: (200, {}, {})
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                token = self.headers.get("Authorization", "")
                stub.seen.append((self.command, self.path, token))
                status, headers, body = stub.reply(self.command, self.path, token)
                data = json.dumps(body).encode()
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PATCH = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def stub() -> Iterator[Stub]:
    server = Stub()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


class Logins:
    """A Configuration loader that hands out token-1, token-2, ... one per login."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.count = 0

    def __call__(self) -> kubernetes.client.Configuration:
        self.count += 1
        configuration = kubernetes.client.Configuration(host=self.url)
        configuration.api_key["BearerToken"] = f"Bearer token-{self.count}"
        return configuration


async def test_a_429_is_resent_after_retry_after_and_each_send_is_counted(stub: Stub) -> None:
    answers = iter([(429, {"Retry-After": "0"}, {}), (200, {}, {"kind": "Secret"})])
    stub.reply = lambda m, p, t: next(answers)
    metrics = OperatorMetrics(CollectorRegistry())
    async with KubeApi(Logins(stub.url), requests=metrics.api_requests) as api:
        assert await api.get("/api/v1/namespaces/a/secrets/b") == {"kind": "Secret"}
    assert len(stub.seen) == 2
    count = metrics.registry.get_sample_value(
        "fishshop_operator_api_requests_total", {"verb": "get"}
    )
    assert count == 2
    assert (
        metrics.registry.get_sample_value("fishshop_operator_api_requests_total", {"verb": "apply"})
        == 0
    )


async def test_429_gives_up_after_a_bounded_number_of_sends(stub: Stub) -> None:
    stub.reply = lambda m, p, t: (429, {"Retry-After": "0"}, {"message": "too many"})
    async with KubeApi(Logins(stub.url)) as api:
        with pytest.raises(KubeApiError) as raised:
            await api.list_items("/apis/fishshop.dev/v1alpha1/fishshops")
    assert raised.value.status == 429
    assert "too many" in str(raised.value)
    assert len(stub.seen) == BUSY_RETRIES + 1


async def test_a_503_without_retry_after_is_answered_at_once(stub: Stub) -> None:
    stub.reply = lambda m, p, t: (503, {}, {"message": "unavailable"})
    async with KubeApi(Logins(stub.url)) as api:
        with pytest.raises(KubeApiError) as raised:
            await api.request("POST", "/api/v1/namespaces/a/events", {"x": 1})
    assert raised.value.status == 503
    assert len(stub.seen) == 1


async def test_a_401_logs_in_once_for_every_request_in_flight(stub: Stub) -> None:
    """30 requests meet the stale token together; one fresh login serves them all."""
    stale = 0
    all_in = threading.Event()
    lock = threading.Lock()

    def reply(method: str, path: str, token: str) -> Answer:
        nonlocal stale
        if token == "Bearer token-1":
            with lock:
                stale += 1
                if stale == 8:
                    all_in.set()
            all_in.wait(5)  # the door's eight threads are all in flight before any 401
            return 401, {}, {"message": "Unauthorized"}
        return 200, {}, {"path": path}

    stub.reply = reply
    logins = Logins(stub.url)
    async with KubeApi(logins) as api:
        paths = [f"/api/v1/namespaces/a/secrets/s{i}" for i in range(30)]
        answers = await asyncio.gather(*(api.get(path) for path in paths))
    assert [answer and answer["path"] for answer in answers] == paths
    assert all_in.is_set()
    # Requests that waited for a thread went out with the fresh token.
    assert stale == 8
    assert logins.count == 2
    assert api.logins == 2


async def test_a_second_401_is_the_answer(stub: Stub) -> None:
    stub.reply = lambda m, p, t: (401, {}, {"message": "Unauthorized"})
    logins = Logins(stub.url)
    async with KubeApi(logins) as api:
        with pytest.raises(KubeApiError) as raised:
            await api.patch_status("a", "harbour", {"x": 1})
    assert raised.value.status == 401
    assert logins.count == 2
    assert len(stub.seen) == 2


async def test_the_event_loop_runs_while_requests_wait(stub: Stub) -> None:
    def slow(method: str, path: str, token: str) -> Answer:
        time.sleep(0.5)
        return 200, {}, {}

    stub.reply = slow
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    ticker = asyncio.create_task(tick())
    async with KubeApi(Logins(stub.url), threads=4) as api:
        started = time.monotonic()
        await asyncio.gather(*(api.get(f"/api/v1/namespaces/a/pods/p{i}") for i in range(8)))
        took = time.monotonic() - started
    ticker.cancel()
    assert ticks > 20  # the loop ticked all along
    assert 0.9 < took < 3.0  # eight slow requests, four at a time: two rounds


async def test_an_unreachable_server_is_a_kube_api_error() -> None:
    configuration = kubernetes.client.Configuration(host="http://127.0.0.1:9")
    configuration.retries = False
    async with KubeApi(lambda: configuration) as api:
        with pytest.raises(KubeApiError) as raised:
            await api.get("/api/v1/namespaces/a/secrets/b")
    assert raised.value.status == 0


def test_only_the_cluster_ca_is_trusted(tmp_path: Path) -> None:
    """The client is given the kubeconfig's CA and nothing else: urllib3 loads the
    system's roots only when no CA is given."""
    ca = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {
                        "name": "c",
                        "cluster": {
                            "server": "https://api.example:6443",
                            "certificate-authority-data": base64.b64encode(ca).decode(),
                        },
                    }
                ],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    configuration = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(
        str(kubeconfig), client_configuration=configuration, persist_config=False
    )
    assert configuration.verify_ssl
    assert Path(configuration.ssl_ca_cert).read_bytes() == ca
    pool = kubernetes.client.ApiClient(configuration).rest_client.pool_manager
    kw = pool.connection_pool_kw
    assert kw["ca_certs"] == configuration.ssl_ca_cert
    assert not kw.get("ca_cert_dir") and not kw.get("ca_cert_data")
    assert not kw.get("ssl_context")  # urllib3 builds one holding ca_certs alone
