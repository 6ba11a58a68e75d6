"""Demo shops for the tests of the live shop, its view and the headless demo."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from fishshop_workers.shop.spec import CookSpec, PreparerSpec, ShopSpec, TillSpec


def quick_shop(name: str, partitions: int = 2, tills: int = 1, cooks: int = 0) -> ShopSpec:
    """A shop that takes and serves orders every fraction of a second."""
    return ShopSpec(
        name=name,
        partitions=partitions,
        tills=TillSpec(replicas=tills, orders_per_minute=240),
        preparers=PreparerSpec(replicas=1, prep_min=0.02, prep_max=0.05),
        cooks=CookSpec(replicas=cooks, cook_min=0.1, cook_max=0.2),
    )


@dataclass
class RunningDemo:
    """A ``fishshop demo`` process whose shop is open and serving."""

    process: subprocess.Popen[str]
    children: list[str]
    """The demo's own child processes (the servers it started), not other demos'."""
    seen: list[str]
    """What it said on stderr until its shop was serving."""


def open_demo(*args: str, env: dict[str, str] | None = None) -> RunningDemo:
    """Start ``fishshop demo ARGS`` and return once it reports progress (the shop is
    open and serving); the caller stops it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "fishshop", "demo", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    seen = []
    for line in process.stderr:
        seen.append(line)
        if "taken" in line:  # the shop is open and serving
            break
    children = subprocess.run(
        ["pgrep", "-P", str(process.pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    return RunningDemo(process, children, seen)


def still_running(pids: list[str]) -> list[str]:
    return [pid for pid in pids if Path(f"/proc/{pid}").exists()]
