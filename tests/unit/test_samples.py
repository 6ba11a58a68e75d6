"""The sample shops under manifests/samples are real, runnable specs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from fishshop_workers.shop import read_manifest

SAMPLES = sorted((Path(__file__).parents[2] / "manifests" / "samples").glob("*.yaml"))


def test_there_is_a_sample_shop() -> None:
    assert SAMPLES


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_each_sample_reads_as_a_shop(path: Path) -> None:
    spec = read_manifest(yaml.safe_load(path.read_text()))
    assert spec.name
    assert spec.partitions >= 1
    assert spec.bootstrap_servers
