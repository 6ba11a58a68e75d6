"""The operator's only door to the Kubernetes API, on the official ``kubernetes`` client.

Credentials from the client's own loaders (service account, kubeconfig with exec
plugins); each call in a small thread pool of its own, so the event loop never waits
on the network; workloads written with server-side apply. Design:
docs/design/operator.md, "kube/api.py".
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime
import functools
import json
import logging
import os
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import kubernetes.client
import kubernetes.config
import urllib3

from fishshop_operator.constants import API_VERSION, FIELD_MANAGER, KIND, PLURAL
from fishshop_operator.kube.rules import next_step, retry_after_seconds, verb_of
from fishshop_workers.errors import ServiceError

if TYPE_CHECKING:
    from prometheus_client import Counter

__all__ = [
    "KubeApi",
    "KubeApiError",
    "load_configuration",
    "object_path",
]

log = logging.getLogger(__name__)

THREADS = 8
"""Requests in flight at once. Reconciles are short and mostly wait on Kafka; eight
threads keep the API server busy without one operator looking like a crowd to it."""

TIMEOUT = 30.0
"""Seconds one request may take; a reconcile that waits longer is retried by kopf."""

_PLURALS = {
    "Service": "services",
    "Secret": "secrets",
    "Pod": "pods",
    "Event": "events",
    "ConfigMap": "configmaps",
}
_APPS_PLURALS = {"StatefulSet": "statefulsets", "Deployment": "deployments"}

T = TypeVar("T")


class KubeApiError(ServiceError, RuntimeError):
    """The API server refused a request (``status`` 0: it could not be sent at all)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"Kubernetes API answered {status}: {message}")
        self.status = status


def _segment(value: str, what: str) -> str:
    """One path segment, quoted: a name never adds a segment or climbs out of one.

    Names are validated before they get here; this is the second lock on the door.
    """
    if value in ("", ".", ".."):
        raise ValueError(f"{what} {value!r} cannot name an object")
    return urllib.parse.quote(value, safe="")


def object_path(api_version: str, kind: str, namespace: str, name: str = "") -> str:
    """The REST path of a namespaced object (or of its collection when name is empty)."""
    space = _segment(namespace, "namespace")
    if api_version == "v1":
        base = f"/api/v1/namespaces/{space}/{_PLURALS[kind]}"
    elif api_version == "apps/v1":
        base = f"/apis/apps/v1/namespaces/{space}/{_APPS_PLURALS[kind]}"
    elif kind == KIND:
        base = f"/apis/{api_version}/namespaces/{space}/{PLURAL}"
    else:
        raise ValueError(f"unknown kind {api_version}/{kind}")
    return f"{base}/{_segment(name, kind + ' name')}" if name else base


def load_configuration(kubeconfig: str | None = None) -> kubernetes.client.Configuration:
    """``kubeconfig`` when given; else in a pod, its service account (the token file is
    re-read as the kubelet rotates it); else KUBECONFIG (read now, not when the client was
    imported; a list of files is merged) or ~/.kube/config.

    Runs the kubeconfig's exec plugin, if it has one, so it is called in a thread.
    """
    configuration = kubernetes.client.Configuration()
    if kubeconfig is None:
        try:
            kubernetes.config.load_incluster_config(  # type: ignore[no-untyped-call]
                client_configuration=configuration, try_refresh_token=True
            )
        except kubernetes.config.ConfigException:
            pass  # not in a pod
        else:
            return configuration
    try:
        kubernetes.config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=kubeconfig or os.environ.get("KUBECONFIG") or None,
            client_configuration=configuration,
            persist_config=False,
        )
    except kubernetes.config.ConfigException as error:
        raise KubeApiError(
            0,
            "no Kubernetes credentials: run in a pod with a service account, "
            f"or set KUBECONFIG (or ~/.kube/config): {error}",
        ) from error
    return configuration


@dataclass(eq=False)
class _Login:
    """One set of credentials and the client that sends with them.

    A fresh login gets a client of its own, so requests still in flight on the old one
    finish undisturbed; the old client is closed when the last of them is done.
    """

    client: kubernetes.client.ApiClient
    in_flight: int = 0
    refused: bool = False
    """The API server answered 401 to these credentials: no new request goes out with them."""
    retired: bool = False


@dataclass(frozen=True)
class _Answer:
    status: int
    retry_after: str | None
    data: bytes


def _send(
    client: kubernetes.client.ApiClient,
    method: str,
    path: str,
    body: Any,
    content_type: str,
    params: dict[str, str] | None,
) -> _Answer:
    """One request through the client, in a worker thread; the path is sent as given."""
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = content_type
    _, url, headers, _, _ = client.param_serialize(
        method,
        path,
        query_params=list(params.items()) if params else None,
        header_params=headers,
        auth_settings=["BearerToken"],
    )
    response = client.call_api(
        method, url, header_params=headers, body=body, _request_timeout=TIMEOUT
    )
    data: bytes | None = response.read()  # type: ignore[no-untyped-call]
    return _Answer(response.status, response.headers.get("Retry-After"), data or b"")


def _message(data: bytes) -> str:
    text = data.decode("utf-8", "replace")
    try:
        found = json.loads(text)
    except ValueError:
        return text
    return str(found.get("message", text)) if isinstance(found, dict) else text


class KubeApi:
    """JSON requests to the API server with the operator's credentials.

    ``load`` builds the client's Configuration (credentials and the cluster's CA); it is
    called at the first request and again when the server answers 401 (a rotated token,
    an expired exec-plugin credential), once for every request that met that 401.
    ``requests``, when given, counts each request sent, by verb.
    """

    def __init__(
        self,
        load: Callable[[], kubernetes.client.Configuration] = load_configuration,
        *,
        requests: Counter | None = None,
        threads: int = THREADS,
    ) -> None:
        self._load = load
        self._requests = requests
        self._size = threads
        self._slots = asyncio.Semaphore(threads)
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._login: _Login | None = None
        self._retired: list[_Login] = []
        self._login_lock = asyncio.Lock()
        self.logins = 0
        """How often credentials were loaded (the first time included)."""

    async def __aenter__(self) -> KubeApi:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        for login in [*self._retired, *([self._login] if self._login else [])]:
            login.client.close()  # type: ignore[no-untyped-call]
        self._retired.clear()
        self._login = None
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    async def _in_thread(self, call: Callable[[], T]) -> T:
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(
                self._size, thread_name_prefix="fishshop-kube"
            )
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    async def _fresh_login(self) -> _Login:
        configuration = await self._in_thread(self._load)
        # The door resends what is worth resending, for every verb; the client's and
        # urllib3's own resending of 429/503 would multiply with it. urllib3 still
        # tries a refused or dropped connection again.
        configuration.client_go_retries = False
        if configuration.retries is None:
            configuration.retries = urllib3.util.Retry(3, respect_retry_after_header=False)
        configuration.connection_pool_maxsize = self._size
        self.logins += 1
        return _Login(kubernetes.client.ApiClient(configuration))

    async def _current(self) -> _Login:
        login = self._login
        if login is None or login.refused:
            await self._login_again(login)
            login = self._login
            assert login is not None
        return login

    async def _login_again(self, stale: _Login | None) -> None:
        """New credentials, loaded once however many requests met a 401 with ``stale``."""
        async with self._login_lock:
            if self._login is not stale:
                return  # another request already logged in again
            self._login = await self._fresh_login()
            if stale is not None:
                stale.retired = True
                self._retired.append(stale)
                self._close_when_idle(stale)
                log.info("action=relogin logins=%d", self.logins)

    def _close_when_idle(self, login: _Login) -> None:
        if login.retired and login.in_flight == 0 and login in self._retired:
            self._retired.remove(login)
            login.client.close()  # type: ignore[no-untyped-call]

    async def _send_once(
        self,
        verb: str,
        method: str,
        path: str,
        body: Any,
        content_type: str,
        params: dict[str, str] | None,
    ) -> tuple[_Login, _Answer]:
        async with self._slots:
            # The login is taken once the request may go: a request that queued while
            # another met a 401 goes out with the fresh credentials, not the stale ones.
            login = await self._current()
            login.in_flight += 1
            try:
                if self._requests is not None:
                    self._requests.labels(verb).inc()
                call = functools.partial(
                    _send, login.client, method, path, body, content_type, params
                )
                answer = await self._in_thread(call)
                if answer.status == 401:
                    login.refused = True  # before the slot is free for a queued request
                return login, answer
            except kubernetes.client.ApiException as error:  # TLS refused, before HTTP
                raise KubeApiError(error.status or 0, str(error.reason)) from error
            except (urllib3.exceptions.HTTPError, OSError) as error:  # unreachable, timed out
                raise KubeApiError(0, str(error)) from error
            finally:
                login.in_flight -= 1
                self._close_when_idle(login)

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        content_type: str = "application/json",
        params: dict[str, str] | None = None,
        *,
        verb: str | None = None,
    ) -> dict[str, Any]:
        """One request, resent as ``rules.next_step`` says; ``verb`` (for the metrics)
        is the method's own unless given (a GET of a collection is ``list``)."""
        verb = verb or verb_of(method, content_type)
        relogged = False
        busy_retries = 0
        while True:
            login, answer = await self._send_once(verb, method, path, body, content_type, params)
            if answer.status < 400:
                result: dict[str, Any] = json.loads(answer.data) if answer.data else {}
                return result
            now = datetime.datetime.now(datetime.UTC)
            step = next_step(
                answer.status,
                retry_after_seconds(answer.retry_after, now),
                busy_retries=busy_retries,
                relogged=relogged,
            )
            if step.action == "relogin":
                relogged = True
                await self._login_again(login)
            elif step.action == "wait":
                busy_retries += 1
                log.info(
                    "action=api-busy status=%d verb=%s path=%s wait_s=%.1f",
                    answer.status,
                    verb,
                    path,
                    step.delay,
                )
                await asyncio.sleep(step.delay)
            else:
                raise KubeApiError(answer.status, _message(answer.data))

    async def get(self, path: str) -> dict[str, Any] | None:
        try:
            return await self.request("GET", path)
        except KubeApiError as error:
            if error.status == 404:
                return None
            raise

    async def delete(self, path: str, resource_version: str | None = None) -> bool:
        """Delete one object, only as it was at ``resource_version`` when given; False
        when it was already gone, or changed since."""
        body = None
        if resource_version:
            body = {
                "apiVersion": "v1",
                "kind": "DeleteOptions",
                "preconditions": {"resourceVersion": resource_version},
            }
        try:
            await self.request("DELETE", path, body)
        except KubeApiError as error:
            if error.status in (404, 409):
                return False
            raise
        return True

    async def apply(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply: the operator owns the fields it sets, and takes them back."""
        metadata = manifest["metadata"]
        path = object_path(
            manifest["apiVersion"], manifest["kind"], metadata["namespace"], metadata["name"]
        )
        return await self.request(
            "PATCH",
            path,
            manifest,
            content_type="application/apply-patch+yaml",
            params={"fieldManager": FIELD_MANAGER, "force": "true"},
        )

    async def patch_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        path = object_path(API_VERSION, KIND, namespace, name) + "/status"
        await self.request(
            "PATCH",
            path,
            {"status": status},
            content_type="application/merge-patch+json",
        )

    async def event(self, about: dict[str, Any], kind: str, reason: str, message: str) -> None:
        """A core/v1 Event on ``about`` (shown by ``kubectl describe`` and ``get events``)."""
        meta = about.get("metadata") or {}
        namespace = str(meta.get("namespace") or "default")
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        await self.request(
            "POST",
            object_path("v1", "Event", namespace),
            {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {
                    "generateName": f"{meta.get('name', 'fishshop')}.",
                    "namespace": namespace,
                },
                "involvedObject": {
                    "apiVersion": about.get("apiVersion"),
                    "kind": about.get("kind"),
                    "name": meta.get("name"),
                    "namespace": namespace,
                    "uid": meta.get("uid"),
                    "resourceVersion": meta.get("resourceVersion"),
                },
                "type": kind,
                "reason": reason,
                "message": message[:1024],
                "source": {"component": FIELD_MANAGER},
                "reportingComponent": FIELD_MANAGER,
                "reportingInstance": FIELD_MANAGER,
                "firstTimestamp": now,
                "lastTimestamp": now,
                "count": 1,
            },
        )

    async def list_items(self, path: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (await self.request("GET", path, verb="list")).get(
            "items", []
        )
        return items
