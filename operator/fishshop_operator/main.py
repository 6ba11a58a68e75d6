"""``fishshop operator``: run kopf with fishshop's handlers, metrics and liveness."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from pathlib import Path
from typing import Any

import kopf

from fishshop_operator.autoscale.autoscaler import Autoscaler
from fishshop_operator.constants import ANNOTATION_PREFIX, DIFF_BASE_KEY, FINALIZER
from fishshop_operator.endpoints import allow_local_endpoints
from fishshop_operator.handlers import register, watch_managed_only
from fishshop_operator.kube.api import KubeApi, KubeApiError, load_configuration
from fishshop_operator.metrics import OperatorMetrics
from fishshop_operator.reconcile.reconciler import Reconciler
from fishshop_operator.reconcile.shops import ShopMemories
from fishshop_operator.settings import OperatorConfig
from fishshop_workers.errors import ServiceError
from fishshop_workers.roles.http import MetricsServer

__all__ = ["NoCluster", "run_operator"]

log = logging.getLogger("fishshop_operator")


class NoCluster(ServiceError):
    """The operator has no cluster to talk to."""


def build_registry(config: OperatorConfig) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()
    register(registry, config)
    metrics = OperatorMetrics()

    @kopf.on.login(registry=registry)
    def credentials(
        settings: kopf.OperatorSettings, logger: kopf.Logger, **_: Any
    ) -> kopf.ConnectionInfo | None:
        # kopf's watches log in through the kubernetes client, as KubeApi does: in-cluster
        # service account, else kubeconfig with its exec plugins (EKS, GKE, AKS).
        return kopf.login_via_client(settings=settings, logger=logger)

    @kopf.on.startup(registry=registry)
    async def start(settings: kopf.OperatorSettings, memo: Any, **_: Any) -> None:
        settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(
            prefix=ANNOTATION_PREFIX
        )
        settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
            prefix=ANNOTATION_PREFIX, key=DIFF_BASE_KEY
        )
        settings.persistence.finalizer = FINALIZER
        settings.posting.level = logging.WARNING
        settings.watching.server_timeout = 300
        settings.watching.reconnect_backoff = 1.0
        # kopf's workers (one per object) stay unbounded: a worker first waits until
        # every object of the first listing is indexed, so with a limit below the
        # number of shops in a namespace the operator would wait forever at start.
        # The Reconciler bounds what the workers do instead (config.concurrency).
        watch_managed_only(settings)
        api = KubeApi(requests=metrics.api_requests)
        # Shops' TLS material stays in memory; this is scratch space only where
        # in-memory files are missing, used for a moment and left as it was.
        certs_root = Path(tempfile.gettempdir())
        # One memory record per shop, one Kafka client pool, one Secret cache: both
        # loops hold the same.
        shops = ShopMemories(api, certs_root)
        memo.api = api
        memo.autoscaler = Autoscaler(api, metrics, certs_root, shops=shops)
        memo.reconciler = Reconciler(
            api,
            config.worker_image,
            metrics,
            certs_root,
            config.delete_patience,
            concurrency=config.concurrency,
            workload_replicas=memo.autoscaler.replicas,
            shops=shops,
            any_prefix=config.any_prefix,
        )
        memo.server = MetricsServer(metrics.registry, config.metrics_port)
        await memo.server.start()
        memo.resync = asyncio.create_task(memo.reconciler.resync(config.resync, config.retry))
        memo.autoscale = asyncio.create_task(memo.autoscaler.run(memo.reconciler))
        log.info(
            "action=start watching=%s metrics_port=%d image=%s",
            ",".join(config.namespaces) or "all-namespaces",
            memo.server.port,
            config.worker_image,
        )

    @kopf.on.cleanup(registry=registry)
    async def stop(memo: Any, **_: Any) -> None:
        for loop in (memo.resync, memo.autoscale):
            loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loop
        await memo.server.stop()
        await memo.reconciler.close()
        await memo.api.close()
        log.info("action=stop")

    return registry


def run_operator(config: OperatorConfig) -> int:
    # One line per action comes from fishshop_operator; kopf's per-handler successes
    # would add a line for every event on every workload.
    logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)  # every liveness probe
    allow_local_endpoints(config.local_endpoints)
    try:
        load_configuration()  # before kopf, whose login would retry every minute
    except KubeApiError as error:
        raise NoCluster(
            "cannot find a Kubernetes cluster: no service account (not in a pod) and no "
            "usable kubeconfig. Set KUBECONFIG or write ~/.kube/config (kind and "
            "`make cluster` print one)"
        ) from error
    kopf.run(
        registry=build_registry(config),
        standalone=True,
        clusterwide=not config.namespaces,
        namespaces=config.namespaces,
        liveness_endpoint=f"http://0.0.0.0:{config.health_port}/healthz",
        memo=kopf.Memo(),
    )
    return 0
