"""The Kubernetes objects a shop needs: pure functions from a shop to manifests.

Tills are a StatefulSet (till numbers are the stable ordinals), preparers and cooks
Deployments; every pod runs ``fishshop <role>``, configured by ``FISHSHOP_*``
variables. A hot cabinet's credentials Secret is mounted, never put in the pod spec.
Design: docs/design/operator.md, "shop/workloads.py".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fishshop_operator.cabinet.credentials import CA_KEY, PASSWORD_KEY, USERNAME_KEY
from fishshop_operator.constants import (
    INSTANCE_LABEL,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    NAME_LABEL,
    PART_OF,
    PART_OF_LABEL,
    ROLE_LABEL,
    SHOP_LABEL,
)
from fishshop_operator.kafka.sasl import PASSWORD_KEY as SASL_PASSWORD_KEY
from fishshop_operator.shop.resource import ShopResource
from fishshop_workers.kafka.settings import CA_FILE
from fishshop_workers.shop.roles import CABINET_ROLES, COOK, PREPARER, ROLES, TILL

__all__ = [
    "CERTS_DIR",
    "METRICS_PORT",
    "REDIS_DIR",
    "ROLES",
    "labels",
    "selector",
    "shop_workloads",
    "workload_name",
]

METRICS_PORT = 8000
CERTS_DIR = "/etc/fishshop/kafka"
SASL_DIR = "/etc/fishshop/kafka-sasl"


@dataclass(frozen=True)
class PodKafka:
    """What the operator read from a shop's Kafka Secrets that shapes its pods."""

    user: str = ""
    """The SASL user (spec.kafka.sasl), as the spec or its Secret names it."""
    tls_files: tuple[tuple[str, str], ...] = ()
    """tlsSecret key -> the file the workers read, when its layout is not the talk's."""
    ca_key: str = ""
    """The key of spec.kafka.caSecret that holds the CA, once read."""


NO_KAFKA_SECRETS = PodKafka()
REDIS_DIR = "/etc/fishshop/redis"

Manifest = dict[str, Any]


def workload_name(shop: str, role: str) -> str:
    """``harbour-till``, ``harbour-preparer``, ``harbour-cook``."""
    return f"{shop}-{role}"


def selector(shop: ShopResource, role: str) -> dict[str, str]:
    return {SHOP_LABEL: shop.name, ROLE_LABEL: role}


def selector_string(shop: ShopResource, role: str) -> str:
    return ",".join(f"{key}={value}" for key, value in selector(shop, role).items())


def labels(shop: ShopResource, role: str) -> dict[str, str]:
    """Labels on every object and pod of a role; Prometheus finds pods by them."""
    return {
        NAME_LABEL: PART_OF,
        INSTANCE_LABEL: shop.name,
        MANAGED_BY_LABEL: MANAGED_BY,
        PART_OF_LABEL: PART_OF,
        **selector(shop, role),
    }


def _field(path: str) -> dict[str, Any]:
    return {"valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": path}}}


def _cabinet_env(shop: ShopResource, role: str, redis_ca: bool) -> list[dict[str, Any]]:
    cabinet = shop.hot_cabinet
    if cabinet is None or role not in CABINET_ROLES:
        return []
    env: list[dict[str, Any]] = [{"name": "FISHSHOP_REDIS_URL", "value": cabinet.redis_url}]
    if cabinet.credentials_secret:
        env.append({"name": "FISHSHOP_REDIS_PASSWORD_FILE", "value": f"{REDIS_DIR}/{PASSWORD_KEY}"})
        # The shop's ACL user when the Secret names one; Kubernetes leaves it unset if not.
        secret_key = {"name": cabinet.credentials_secret, "key": USERNAME_KEY, "optional": True}
        env.append({"name": "FISHSHOP_REDIS_USER", "valueFrom": {"secretKeyRef": secret_key}})
        if redis_ca and cabinet.tls:
            env.append({"name": "FISHSHOP_REDIS_CA_FILE", "value": f"{REDIS_DIR}/{CA_KEY}"})
    if role == COOK:
        settings = cabinet.settings
        env += [
            {"name": "FISHSHOP_COD_BATCH", "value": str(settings.cod_batch)},
            {"name": "FISHSHOP_CHIPS_BATCH", "value": str(settings.chips_batch)},
            {"name": "FISHSHOP_COD_THRESHOLD", "value": str(settings.cod_threshold)},
            {"name": "FISHSHOP_CHIPS_THRESHOLD", "value": str(settings.chips_threshold)},
        ]
    return env


def _cabinet_volume(shop: ShopResource, role: str, redis_ca: bool) -> dict[str, Any] | None:
    """The credentials Secret, only its Redis keys, for the roles that use the cabinet."""
    cabinet = shop.hot_cabinet
    if cabinet is None or not cabinet.credentials_secret or role not in CABINET_ROLES:
        return None
    keys = [PASSWORD_KEY, *([CA_KEY] if redis_ca and cabinet.tls else [])]
    return {
        "name": "redis-credentials",
        "secret": {
            "secretName": cabinet.credentials_secret,
            "defaultMode": 0o440,
            "items": [{"key": key, "path": key} for key in keys],
        },
    }


def _env(
    shop: ShopResource, role: str, redis_ca: bool = False, kafka: PodKafka = NO_KAFKA_SECRETS
) -> list[dict[str, Any]]:
    spec = shop.spec
    env: list[dict[str, Any]] = [
        {"name": "FISHSHOP_SHOP", "value": shop.name},
        {"name": "FISHSHOP_NAMESPACE", "value": shop.namespace},
        {"name": "FISHSHOP_TOPIC_PREFIX", "value": shop.topic_prefix},
        {"name": "FISHSHOP_BOOTSTRAP_SERVERS", "value": spec.bootstrap_servers},
        {"name": "FISHSHOP_WORKER_NAME", **_field("metadata.name")},
        {"name": "FISHSHOP_METRICS_HOST", **_field("status.podIP")},
        {"name": "FISHSHOP_METRICS_PORT", "value": str(METRICS_PORT)},
    ]
    if shop.tls_secret:
        env.append({"name": "FISHSHOP_CERTS_DIR", "value": CERTS_DIR})
    elif shop.system_tls:
        env.append({"name": "FISHSHOP_TLS", "value": "true"})
    if shop.sasl is not None:
        env += [
            {"name": "FISHSHOP_SASL_MECHANISM", "value": shop.sasl.mechanism},
            {"name": "FISHSHOP_SASL_USERNAME", "value": kafka.user or shop.sasl.username},
            {"name": "FISHSHOP_SASL_PASSWORD_FILE", "value": f"{SASL_DIR}/{SASL_PASSWORD_KEY}"},
        ]
    if role == TILL:
        env += [
            {"name": "FISHSHOP_ORDERS_PER_MINUTE", "value": _number(spec.tills.orders_per_minute)},
            {"name": "FISHSHOP_PLAICE", "value": "true" if spec.plaice else "false"},
        ]
    elif role == PREPARER:
        env += [
            {"name": "FISHSHOP_PREP_MIN", "value": _number(spec.preparers.prep_min)},
            {"name": "FISHSHOP_PREP_MAX", "value": _number(spec.preparers.prep_max)},
        ]
    else:
        env += [
            {"name": "FISHSHOP_COOK_MIN", "value": _number(spec.cooks.cook_min)},
            {"name": "FISHSHOP_COOK_MAX", "value": _number(spec.cooks.cook_max)},
        ]
    return env + _cabinet_env(shop, role, redis_ca)


def _number(value: float) -> str:
    """``40`` for whole numbers, else the exact decimal (``0.1234567``)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _probe(path: str, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "metrics"},
        "periodSeconds": period,
        "timeoutSeconds": 2,
        "failureThreshold": failures,
    }


def pod_template(
    shop: ShopResource,
    role: str,
    image: str,
    redis_ca: bool = False,
    kafka: PodKafka = NO_KAFKA_SECRETS,
) -> Manifest:
    """``redis_ca``: the cabinet's credentials Secret holds a CA, which the pods then get;
    ``kafka``: what the operator read from the shop's Kafka Secrets."""
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {"medium": "Memory"}}]
    mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": "/tmp"}]  # noqa: S108
    if shop.tls_secret and shop.ca_secret:
        # Two Secrets in one folder: the client certificate's and the CA of caSecret.
        sources: list[dict[str, Any]] = []
        if kafka.tls_files:
            items = [{"key": key, "path": path} for key, path in kafka.tls_files]
            sources.append({"secret": {"name": shop.tls_secret, "items": items}})
        ca_item = {"key": kafka.ca_key or "ca.crt", "path": CA_FILE}
        sources.append({"secret": {"name": shop.ca_secret, "items": [ca_item]}})
        volumes.append(
            {"name": "kafka-certs", "projected": {"sources": sources, "defaultMode": 0o440}}
        )
        mounts.append({"name": "kafka-certs", "mountPath": CERTS_DIR, "readOnly": True})
    elif shop.tls_secret:
        certs: dict[str, Any] = {"secretName": shop.tls_secret, "defaultMode": 0o440}
        if kafka.tls_files:  # another layout's keys, under the names the workers read
            certs["items"] = [{"key": key, "path": path} for key, path in kafka.tls_files]
        volumes.append({"name": "kafka-certs", "secret": certs})
        mounts.append({"name": "kafka-certs", "mountPath": CERTS_DIR, "readOnly": True})
    if shop.sasl is not None:
        # Only the password, as a file: never an environment variable or an argument.
        volumes.append(
            {
                "name": "kafka-sasl",
                "secret": {
                    "secretName": shop.sasl.secret,
                    "defaultMode": 0o440,
                    "items": [{"key": SASL_PASSWORD_KEY, "path": SASL_PASSWORD_KEY}],
                },
            }
        )
        mounts.append({"name": "kafka-sasl", "mountPath": SASL_DIR, "readOnly": True})
    credentials = _cabinet_volume(shop, role, redis_ca)
    if credentials is not None:
        volumes.append(credentials)
        mounts.append({"name": credentials["name"], "mountPath": REDIS_DIR, "readOnly": True})
    return {
        "metadata": {
            "labels": labels(shop, role),
            "annotations": {
                "prometheus.io/scrape": "true",
                "prometheus.io/port": str(METRICS_PORT),
                "prometheus.io/path": "/metrics",
            },
        },
        "spec": {
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "terminationGracePeriodSeconds": 30,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 10001,
                "runAsGroup": 10001,
                "fsGroup": 10001,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [
                {
                    "name": role,
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["fishshop", role],
                    "env": _env(shop, role, redis_ca, kafka),
                    "ports": [
                        {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"}
                    ],
                    "livenessProbe": _probe("/healthz", 10, 3),
                    "readinessProbe": _probe("/readyz", 5, 2),
                    # A worker at the samples' rates uses 1 to 20 millicores (measured
                    # in kind); 20m lets a small node hold several shops.
                    "resources": {
                        "requests": {"cpu": "20m", "memory": "96Mi"},
                        "limits": {"memory": "256Mi"},
                    },
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "readOnlyRootFilesystem": True,
                        "runAsNonRoot": True,
                        "capabilities": {"drop": ["ALL"]},
                    },
                    "volumeMounts": mounts,
                }
            ],
            "volumes": volumes,
        },
    }


def _metadata(shop: ShopResource, role: str) -> Manifest:
    return {
        "name": workload_name(shop.name, role),
        "namespace": shop.namespace,
        "labels": labels(shop, role),
        "ownerReferences": [shop.owner_reference()],
    }


def tills(shop: ShopResource, image: str, kafka: PodKafka = NO_KAFKA_SECRETS) -> Manifest:
    """A closed shop keeps its StatefulSet with no tills, so it opens again as it was."""
    replicas = shop.spec.tills.replicas if shop.spec.open else 0
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": _metadata(shop, TILL),
        "spec": {
            "replicas": replicas,
            "serviceName": workload_name(shop.name, TILL),
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": selector(shop, TILL)},
            "template": pod_template(shop, TILL, image, kafka=kafka),
        },
    }


def tills_service(shop: ShopResource) -> Manifest:
    """The headless Service that gives each till a stable name."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(shop, TILL),
        "spec": {
            "clusterIP": "None",
            "selector": selector(shop, TILL),
            "ports": [{"name": "metrics", "port": METRICS_PORT, "targetPort": "metrics"}],
        },
    }


def deployment(
    shop: ShopResource,
    role: str,
    image: str,
    redis_ca: bool = False,
    replicas: int | None = None,
    kafka: PodKafka = NO_KAFKA_SECRETS,
) -> Manifest:
    """``replicas``: what the autoscaler decided, in place of the spec's."""
    if replicas is None:
        replicas = shop.spec.preparers.replicas if role == PREPARER else shop.spec.cooks.replicas
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(shop, role),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": selector(shop, role)},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
            },
            "template": pod_template(shop, role, image, redis_ca, kafka),
        },
    }


def shop_workloads(
    shop: ShopResource,
    image: str,
    *,
    redis_ca: bool = False,
    replicas: Mapping[str, int] | None = None,
    kafka: PodKafka = NO_KAFKA_SECRETS,
) -> list[Manifest]:
    """Every object the shop's workers need, in the order to apply them.

    ``redis_ca``: the hot cabinet's credentials Secret holds ``ca.pem`` (read by the
    operator), so the preparers and cooks get it for ``rediss://``. ``replicas``: role
    (preparer, cook) -> replicas the autoscaler decided, which win over the spec's.
    ``kafka``: the SASL user and TLS layout read from the shop's Kafka Secrets.
    """
    decided = replicas or {}
    return [
        tills_service(shop),
        tills(shop, image, kafka),
        deployment(shop, PREPARER, image, redis_ca, decided.get(PREPARER), kafka),
        deployment(shop, COOK, image, redis_ca, decided.get(COOK), kafka),
    ]
