"""The operator asks the API server for its own workloads only; the shops themselves
are watched whole (every shop is needed to know who owns which topic prefix)."""

from __future__ import annotations

import kopf

from fishshop_operator.handlers import watch_managed_only


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
