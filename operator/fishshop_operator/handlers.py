"""kopf handlers: thin, each hands the shop to the Reconciler.

The shop is reconciled when it is created, changed or found on start-up, every
``resync`` seconds (to repair drift in Kafka), and whenever a workload it owns
changes or disappears.
"""

from __future__ import annotations

import logging
from typing import Any

import kopf

from fishshop_operator.constants import GROUP, KIND, MANAGED_BY, MANAGED_BY_LABEL, PLURAL, VERSION
from fishshop_operator.reconcile.reconciler import Reconciler
from fishshop_operator.settings import OperatorConfig

__all__ = ["register", "watch_managed_only"]

log = logging.getLogger("fishshop_operator")

SHOPS = (GROUP, VERSION, PLURAL)
MANAGED = {MANAGED_BY_LABEL: MANAGED_BY}
WORKLOADS = ("deployments", "statefulsets")
"""apps/v1 kinds the shops' pods run in, watched to reconcile a shop when one changes."""


def _reconciler(memo: Any) -> Reconciler:
    reconciler: Reconciler = memo.reconciler
    return reconciler


def _deletes_things(spec: kopf.Spec, status: kopf.Status, **_: Any) -> bool:
    """Its topics (unless retained) or its analyst's connector go with the shop."""
    return bool(
        spec.get("topicDeletionPolicy", "Delete") == "Delete"
        or spec.get("analyst")
        or status.get("analyst")
    )


def watch_managed_only(settings: kopf.OperatorSettings) -> None:
    """Have the API server send the operator its own workloads only.

    A handler's ``labels=`` filters on the operator's side, after the server has
    streamed it every Deployment and StatefulSet in the cluster; a label selector on
    the watch request itself leaves the others on the server.
    """
    selector = ",".join(f"{key}={value}" for key, value in sorted(MANAGED.items()))
    for plural in WORKLOADS:
        settings.watching.label_selectors["apps", "v1", plural] = selector


def register(registry: kopf.OperatorRegistry, config: OperatorConfig) -> None:
    """Register the handlers on ``registry``."""

    async def reconcile(body: kopf.Body, memo: Any, **_: Any) -> None:
        # A shop that is not ready (the status and an event say why) is retried by the
        # resync loop every config.retry seconds, not through kopf: kopf would sleep
        # out the delay on one of its bounded workers (see reconcile/reconciler.py).
        await _reconciler(memo).reconcile(dict(body))

    for on in (kopf.on.create, kopf.on.update, kopf.on.resume):
        on(*SHOPS, registry=registry, id="reconcile", backoff=config.retry)(reconcile)

    # Both are coroutines so that kopf runs them on the event loop: a plain function
    # runs in kopf's thread pool, where forgetting a shop (closing its Kafka clients,
    # changing what the resync loop iterates) must not happen.
    @kopf.index(*SHOPS, registry=registry)
    async def shop_prefixes(body: kopf.Body, memo: Any, **_: Any) -> None:
        """Feed the index of which shop uses which topic prefix.

        kopf runs index handlers on every shop of its first listing before any other
        handler of any resource, so no shop decides who owns a prefix (and makes
        topics) before every existing shop is known. Nothing is kept in kopf's own
        index; ``track`` empties the operator's on DELETED.
        """
        _reconciler(memo).know(body)

    @kopf.on.event(*SHOPS, registry=registry)
    async def track(
        event: kopf.RawEvent, namespace: str | None, name: str | None, memo: Any, **_: Any
    ) -> None:
        """Keep the list of shops that the resync loop visits, and the index of their
        topic prefixes, up to date; forget a deleted shop.

        (A kopf timer would do, but kopf puts a finalizer on every object with a
        timer, and a shop whose topics are retained must not carry one.)
        """
        if namespace and name:
            _reconciler(memo).track(
                namespace, name, gone=event["type"] == "DELETED", body=event["object"]
            )

    async def owned_changed(
        event: kopf.RawEvent, body: kopf.Body, namespace: str | None, memo: Any, **_: Any
    ) -> None:
        for owner in body.get("metadata", {}).get("ownerReferences", []) or []:
            if owner.get("kind") == KIND and namespace:
                reconciler = _reconciler(memo)
                gone = event.get("type") == "DELETED"
                reconciler.saw_workload(namespace, owner["name"], dict(body), gone=gone)
                await reconciler.reconcile_by_name(namespace, owner["name"])

    for plural in WORKLOADS:
        kopf.on.event("apps", "v1", plural, registry=registry, labels=MANAGED)(owned_changed)

    @kopf.on.delete(*SHOPS, registry=registry, when=_deletes_things, id="delete-topics")
    async def delete_topics(body: kopf.Body, memo: Any, **_: Any) -> None:
        await _reconciler(memo).delete(dict(body))
