"""The operator asks the API server for its own workloads only; the shops themselves
are watched whole (every shop is needed to know who owns which topic prefix), and
indexed before any handler runs."""

from __future__ import annotations

import inspect

import kopf

from fishshop_operator.handlers import register, watch_managed_only
from fishshop_operator.settings import OperatorConfig


def _selectors(settings: kopf.OperatorSettings, group: str, version: str, plural: str) -> list[str]:
    resource = kopf.Resource(group, version, plural)
    return list(settings.watching.label_selectors.collect(resource))


def test_workload_watches_carry_the_managed_by_selector() -> None:
    settings = kopf.OperatorSettings()
    watch_managed_only(settings)
    for plural in ("deployments", "statefulsets"):
        assert _selectors(settings, "apps", "v1", plural) == [
            "app.kubernetes.io/managed-by=fishshop-operator"
        ]


def test_shops_and_other_kinds_are_watched_whole() -> None:
    settings = kopf.OperatorSettings()
    watch_managed_only(settings)
    assert _selectors(settings, "fishshop.dev", "v1alpha1", "fishshops") == []
    assert _selectors(settings, "apps", "v1", "daemonsets") == []


def test_shops_are_indexed_so_kopf_holds_other_handlers_until_all_are_known() -> None:
    """kopf runs no handler of any resource before every object of an indexed kind's
    first listing went through its index handlers: no shop decides who owns a topic
    prefix before every shop is in the operator's index."""
    registry = kopf.OperatorRegistry()
    register(registry, OperatorConfig())
    shops = kopf.Resource("fishshop.dev", "v1alpha1", "fishshops")
    assert registry._indexing.has_handlers(resource=shops)


def test_every_handler_runs_on_the_event_loop() -> None:
    """kopf runs a plain function in a thread of its pool; forgetting a shop there
    would close its Kafka clients off the event loop (and fail: that thread has no
    loop) and change what the resync loop iterates under its feet."""
    registry = kopf.OperatorRegistry()
    register(registry, OperatorConfig())
    handlers = [
        handler
        for registries in (
            registry._indexing,
            registry._watching,
            registry._changing,
        )
        for handler in registries.get_all_handlers()
    ]
    assert len(handlers) >= 5
    for handler in handlers:
        assert inspect.iscoroutinefunction(handler.fn), handler.id
