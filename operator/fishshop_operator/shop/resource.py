"""A FishShop resource as the operator reads it. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fishshop_operator.analyst.spec import AnalystSpec, read_analyst
from fishshop_operator.autoscale.spec import (
    AUTOSCALED_ROLES,
    AutoscaleSpec,
    read_autoscale,
    read_decided_replicas,
)
from fishshop_operator.cabinet.spec import HotCabinetSpec, read_hot_cabinet
from fishshop_operator.constants import API_VERSION, KIND
from fishshop_operator.kafka.sasl import KafkaSaslSpec, read_sasl_spec
from fishshop_operator.shop.names import (
    check_bootstrap_servers,
    check_namespace,
    check_secret_name,
    check_shop_name,
    check_topic_prefix,
)
from fishshop_workers.shop.roles import COOK
from fishshop_workers.shop.spec import ShopSpec, ShopSpecError, read_manifest
from fishshop_workers.shop.topics import ShopTopics, cooks_group, preparers_group, topic_prefix

__all__ = ["ShopResource", "read_resource"]

DELETE = "Delete"
RETAIN = "Retain"


@dataclass(frozen=True)
class ShopResource:
    """One FishShop: its identity in Kubernetes and what its spec asks for."""

    name: str
    namespace: str
    uid: str
    generation: int
    spec: ShopSpec
    tls_secret: str
    topic_deletion_policy: str
    sasl: KafkaSaslSpec | None = None
    """SASL to Kafka, when ``spec.kafka.sasl`` asks for it."""
    ca_secret: str = ""
    """spec.kafka.caSecret: the CA that signed Kafka's certificate, over tlsSecret's own."""
    system_tls: bool = False
    """TLS with the system's CAs: ``spec.kafka.tls`` without a ``tlsSecret``."""
    hot_cabinet: HotCabinetSpec | None = None
    """The hot cabinet, when ``spec.hotCabinet`` turns it on."""
    analyst: AnalystSpec | None = None
    """The analyst's sink connector, when ``spec.analyst`` asks for one."""
    autoscale: Mapping[str, AutoscaleSpec] = field(default_factory=dict, hash=False)
    """Role (preparer, cook) -> its autoscale, for each role whose spec turns it on."""
    decided_replicas: Mapping[str, int] = field(default_factory=dict, hash=False, compare=False)
    """Role -> replicas the operator last decided for it, as the status says."""

    @property
    def label(self) -> str:
        """namespace/name: how the shop's rows and its connector name it."""
        return f"{self.namespace}/{self.name}"

    @property
    def topic_prefix(self) -> str:
        return topic_prefix(self.name, self.namespace, self.spec.topic_prefix)

    @property
    def topics(self) -> ShopTopics:
        return ShopTopics.from_prefix(self.topic_prefix)

    @property
    def preparers_group(self) -> str:
        return preparers_group(self.topic_prefix)

    @property
    def cooks_group(self) -> str:
        return cooks_group(self.topic_prefix)

    @property
    def deletes_topics(self) -> bool:
        return self.topic_deletion_policy == DELETE

    def owner_reference(self) -> dict[str, Any]:
        """Makes the shop own a workload, so that deleting the shop removes it."""
        return {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "name": self.name,
            "uid": self.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }


def read_resource(body: dict[str, Any]) -> ShopResource:
    """A ShopResource from a FishShop object; raises ShopSpecError if it cannot run.

    Every name that the operator puts into a request path, an object name or a Kafka
    connection is checked here, before anything is created.
    """
    metadata = body.get("metadata") or {}
    spec = body.get("spec") or {}
    kafka = spec.get("kafka") or {}
    name = str(metadata.get("name", ""))
    namespace = str(metadata.get("namespace", "default"))
    shop_spec = read_manifest(body)
    check_shop_name(name)
    check_namespace(namespace)
    tls_secret = kafka.get("tlsSecret") or ""
    if not isinstance(tls_secret, str):
        raise ShopSpecError("spec.kafka.tlsSecret must be a Secret's name")
    check_secret_name(tls_secret)
    ca_secret = kafka.get("caSecret") or ""
    if not isinstance(ca_secret, str):
        raise ShopSpecError("spec.kafka.caSecret must be a Secret's name")
    check_secret_name(ca_secret)
    if ca_secret and not tls_secret:
        raise ShopSpecError(
            "spec.kafka.caSecret goes with a tlsSecret (the client certificate); for a CA "
            "alone, name its Secret as tlsSecret"
        )
    sasl = read_sasl_spec(kafka)
    if sasl is not None:
        check_secret_name(sasl.secret)
    check_bootstrap_servers(shop_spec.bootstrap_servers)
    check_topic_prefix(shop_spec.topic_prefix)
    hot_cabinet = read_hot_cabinet(spec)
    analyst = read_analyst(spec)
    autoscale = {
        role: found
        for role in AUTOSCALED_ROLES
        if (found := read_autoscale(spec, role)) is not None
    }
    if COOK in autoscale and shop_spec.cooks.replicas < 1:
        raise ShopSpecError(
            "spec.cooks.autoscale needs spec.cooks.replicas of at least 1: with no cook, "
            "plaice is off the menu and nothing reaches the cook topic"
        )
    return ShopResource(
        name=name,
        namespace=namespace,
        uid=str(metadata.get("uid", "")),
        generation=int(metadata.get("generation") or 0),
        spec=shop_spec,
        tls_secret=tls_secret,
        sasl=sasl,
        ca_secret=ca_secret,
        system_tls=kafka.get("tls") is True and not tls_secret,
        topic_deletion_policy=str(spec.get("topicDeletionPolicy") or DELETE),
        hot_cabinet=hot_cabinet,
        analyst=analyst,
        autoscale=autoscale,
        decided_replicas=read_decided_replicas(body.get("status")),
    )
