"""A thin asynchronous Kubernetes API client: the operator's only door to the API.

It reuses kopf's login (in-cluster service account, else kubeconfig) and speaks
JSON over aiohttp. Workloads are written with server-side apply, so the operator
owns exactly the fields it sets and puts them back when someone edits them.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import logging
import os
import ssl
import urllib.parse
from collections.abc import Callable
from typing import Any

import aiohttp
import kopf

from fishshop_operator.tls import load_client_chain

__all__ = ["FIELD_MANAGER", "KubeApi", "KubeApiError", "object_path"]

log = logging.getLogger(__name__)

FIELD_MANAGER = "fishshop-operator"

_PLURALS = {"Service": "services", "Secret": "secrets", "Pod": "pods", "Event": "events"}
_APPS_PLURALS = {"StatefulSet": "statefulsets", "Deployment": "deployments"}


class KubeApiError(RuntimeError):
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
    elif kind == "FishShop":
        base = f"/apis/{api_version}/namespaces/{space}/fishshops"
    else:
        raise ValueError(f"unknown kind {api_version}/{kind}")
    return f"{base}/{_segment(name, kind + ' name')}" if name else base


def _pem(data: str | bytes) -> bytes:
    raw = data.encode() if isinstance(data, str) else data
    try:  # kubeconfig data is base64; PEM text is not
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return raw


def _read(path: str | bytes | os.PathLike[str] | os.PathLike[bytes]) -> bytes:
    with open(path, "rb") as file:  # kopf's paths may be bytes
        return file.read()


def _ssl_context(info: kopf.ConnectionInfo) -> ssl.SSLContext | bool:
    """The API server's TLS, from files or from kubeconfig data held in memory."""
    if info.insecure:
        return False
    context = ssl.create_default_context()
    if info.ca_path:
        context.load_verify_locations(cafile=str(info.ca_path))
    elif info.ca_data:
        context.load_verify_locations(cadata=_pem(info.ca_data).decode("ascii"))
    if info.certificate_path and info.private_key_path:
        context.load_cert_chain(str(info.certificate_path), str(info.private_key_path))
        return context
    certificate = _pem(info.certificate_data) if info.certificate_data else None
    if certificate is None and info.certificate_path:
        certificate = _read(info.certificate_path)
    key = _pem(info.private_key_data) if info.private_key_data else None
    if key is None and info.private_key_path:
        key = _read(info.private_key_path)
    if certificate and key:
        load_client_chain(context, certificate, key)
    return context


def login(settings: kopf.OperatorSettings) -> kopf.ConnectionInfo:
    """In a pod, its service account; outside, the kubeconfig (KUBECONFIG or ~/.kube)."""
    info = kopf.login_with_service_account(settings=settings) or kopf.login_with_kubeconfig(
        settings=settings
    )
    if info is None:
        raise kopf.LoginError(
            "no Kubernetes credentials: run in a pod with a service account, "
            "or set KUBECONFIG (or ~/.kube/config)"
        )
    return info


class KubeApi:
    """JSON requests to the API server with the operator's credentials.

    ``relogin`` is called once when the server answers 401 (a rotated service
    account token, an expired certificate), and the request is tried again.
    """

    def __init__(
        self, info: kopf.ConnectionInfo, relogin: Callable[[], kopf.ConnectionInfo] | None = None
    ) -> None:
        self._info = info
        self._relogin = relogin
        self._ssl = _ssl_context(info)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> KubeApi:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                base_url=self._info.server.rstrip("/") + "/",
                headers={"Accept": "application/json", **self._info.as_http_headers()},
                connector=aiohttp.TCPConnector(ssl=self._ssl, limit=20),
                timeout=aiohttp.ClientTimeout(total=30),
            )
        return self._session

    async def close_session(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def close(self) -> None:
        await self.close_session()

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        content_type: str = "application/json",
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        try:
            return await self._request(method, path, body, content_type, params)
        except KubeApiError as error:
            if error.status != 401 or self._relogin is None:
                raise
            log.info("action=relogin reason=%s", error)
            await self.close_session()
            self._info = self._relogin()
            self._ssl = _ssl_context(self._info)
            return await self._request(method, path, body, content_type, params)

    async def _request(
        self,
        method: str,
        path: str,
        body: Any,
        content_type: str,
        params: dict[str, str] | None,
    ) -> dict[str, Any]:
        data = None if body is None else json.dumps(body)
        async with self._client().request(
            method,
            path.lstrip("/"),
            data=data,
            params=params,
            headers={"Content-Type": content_type},
        ) as response:
            text = await response.text()
            if response.status >= 400:
                try:
                    message = json.loads(text).get("message", text)
                except ValueError:
                    message = text
                raise KubeApiError(response.status, message)
            result: dict[str, Any] = json.loads(text) if text else {}
            return result

    async def get(self, path: str) -> dict[str, Any] | None:
        try:
            return await self.request("GET", path)
        except KubeApiError as error:
            if error.status == 404:
                return None
            raise

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
        path = object_path("fishshop.dev/v1alpha1", "FishShop", namespace, name) + "/status"
        await self.request(
            "PATCH", path, {"status": status}, content_type="application/merge-patch+json"
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
        items: list[dict[str, Any]] = (await self.request("GET", path)).get("items", [])
        return items
