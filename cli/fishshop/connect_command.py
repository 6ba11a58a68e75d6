"""`fishshop connect`."""

from __future__ import annotations

import argparse


def run_connect(args: argparse.Namespace) -> int:
    raise NotImplementedError
