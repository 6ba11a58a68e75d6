"""The names in fishshop_operator.constants are the CRD's own: the API the operator
talks to is the one manifests/crd defines."""

from __future__ import annotations

from pathlib import Path

import yaml

from fishshop_operator import constants

CRD = Path(__file__).parents[3] / "manifests" / "crd" / "fishshops.fishshop.dev.yaml"


def test_group_version_kind_and_plural_are_the_crds() -> None:
    crd = yaml.safe_load(CRD.read_text())
    spec = crd["spec"]
    assert spec["group"] == constants.GROUP
    assert spec["names"]["kind"] == constants.KIND
    assert spec["names"]["plural"] == constants.PLURAL
    assert crd["metadata"]["name"] == f"{constants.PLURAL}.{constants.GROUP}"
    assert [v["name"] for v in spec["versions"] if v["storage"]] == [constants.VERSION]
    assert constants.API_VERSION == "fishshop.dev/v1alpha1"


def test_the_finalizer_and_labels_live_under_the_group() -> None:
    assert constants.FINALIZER == "fishshop.dev/delete-topics"
    assert constants.SHOP_LABEL == "fishshop.dev/shop"
    assert constants.MANAGED_BY == constants.FIELD_MANAGER == "fishshop-operator"
