"""Tools the chart tests need, built or fetched from the Go module proxy and cached."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.support.cluster import ROOT, ClusterError

PROMETHEUS_OPERATOR = "github.com/prometheus-operator/prometheus-operator@v0.85.0"
MONITORING_CRDS = ("podmonitors", "servicemonitors", "prometheusrules")


def build_helm() -> Path:
    """helm, built by scripts/build-helm.sh (cached in ~/.cache/fishshop)."""
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "build-helm.sh")],
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise ClusterError("building helm failed (see above); it needs Go and the module proxy")
    return Path(result.stdout.strip().splitlines()[-1]) / "helm"


def monitoring_crds() -> list[Path]:
    """The Prometheus Operator's CRDs, as its Go module carries them."""
    result = subprocess.run(
        ["go", "mod", "download", "-json", PROMETHEUS_OPERATOR],
        capture_output=True,
        text=True,
        check=False,
        cwd="/",
    )
    if result.returncode != 0:
        raise ClusterError(f"go mod download {PROMETHEUS_OPERATOR} failed: {result.stderr}")
    folder = Path(json.loads(result.stdout)["Dir"]) / "example" / "prometheus-operator-crd"
    return [folder / f"monitoring.coreos.com_{name}.yaml" for name in MONITORING_CRDS]
