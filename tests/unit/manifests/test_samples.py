"""The sample shops under manifests/samples are real, runnable specs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from fishshop_operator.shop.resource import read_resource
from fishshop_workers.shop.spec import read_manifest

SAMPLES = sorted((Path(__file__).parents[3] / "manifests" / "samples").glob("*.yaml"))


def _shop(path: Path) -> dict[str, Any]:
    """The FishShop of a sample (a sample may carry a Secret beside it)."""
    (shop,) = [d for d in yaml.safe_load_all(path.read_text()) if d.get("kind") == "FishShop"]
    return dict(shop)


def test_there_is_a_sample_shop() -> None:
    assert SAMPLES


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_each_sample_reads_as_a_shop(path: Path) -> None:
    spec = read_manifest(_shop(path))
    assert spec.name
    assert spec.partitions >= 1
    assert spec.bootstrap_servers


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_the_operator_accepts_each_sample(path: Path) -> None:
    body = _shop(path)
    body["metadata"].update(namespace="default", uid="u", generation=1)
    shop = read_resource(body)
    assert shop.name == body["metadata"]["name"]


def test_the_hot_cabinet_sample_turns_the_cabinet_on() -> None:
    (path,) = [p for p in SAMPLES if p.name == "harbour-hot-cabinet.yaml"]
    body = yaml.safe_load(path.read_text())
    body["metadata"].update(namespace="default", uid="u", generation=1)
    cabinet = read_resource(body).hot_cabinet
    assert cabinet is not None
    assert cabinet.redis_url.startswith("redis://")
    assert cabinet.settings.cod_batch >= cabinet.settings.cod_threshold


def test_the_analyst_sample_names_connect_and_its_own_secret() -> None:
    (path,) = [p for p in SAMPLES if p.name == "harbour-analyst.yaml"]
    documents = list(yaml.safe_load_all(path.read_text()))
    body = _shop(path)
    body["metadata"].update(namespace="default", uid="u", generation=1)
    analyst = read_resource(body).analyst
    assert analyst is not None
    assert analyst.connect_url.startswith("http://connect.analyst.svc")
    (secret,) = [d for d in documents if d["kind"] == "Secret"]
    assert secret["metadata"]["name"] == analyst.postgres_secret
    assert secret["stringData"]["url"].startswith("postgresql://")
