"""`fishshop report`."""

from __future__ import annotations

import argparse


def run_report(args: argparse.Namespace) -> int:
    raise NotImplementedError
