"""The summary an audit or a demo prints: aligned lines or one JSON object."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Callable

from fishshop.demo.boards.cabinet import FromCabinet, summary_lines
from fishshop_workers.audit.summary import Summary

__all__ = ["print_closing", "print_demo_summary", "print_summary"]


def print_summary(summary: Summary, as_json: bool, out: Callable[[str], None] = print) -> None:
    """Every figure on a line of its own (or one JSON object), then whether it is clean."""
    if as_json:
        out(json.dumps(summary.as_dict()))
        return
    data = summary.as_dict()
    width = max(len(k) for k in data)
    for key, value in data.items():
        if isinstance(value, dict) and all(not isinstance(v, dict) for v in value.values()):
            value = " ".join(f"{name}={figure}" for name, figure in value.items()) or "-"
        out(f"{key.ljust(width)}  {'-' if value is None else value}")
    out(
        "every order served exactly once"
        if summary.clean
        else "NOT CLEAN: some orders are unserved or were served twice"
    )


def print_demo_summary(summary: Summary, from_cabinet: FromCabinet | None, as_json: bool) -> None:
    """The audit's summary; with a hot cabinet, its books and what was served from it."""
    if summary.cabinet is None:
        print_summary(summary, as_json, print)
        return
    if as_json:
        data = summary.as_dict()
        if from_cabinet is not None:
            data["served_from_cabinet"] = from_cabinet.as_dict()
        print(json.dumps(data))
        return
    orders = dataclasses.replace(summary, cabinet=None, cabinet_gaps={}, cabinet_kafka_gaps={})
    print_summary(orders, False, print)
    if from_cabinet is not None:
        print(from_cabinet.line())
    for line in summary_lines(summary.cabinet, summary.cabinet_gaps, summary.cabinet_kafka_gaps):
        print(line)


def print_closing(shop: str, summary: Summary) -> None:
    """The live view's last words, once the terminal is back: what the day took and
    served, and what still waits in Kafka."""
    waiting = summary.unserved
    with contextlib.suppress(OSError):  # the terminal may be gone (SIGHUP)
        print(
            f"fishshop: shop {shop!r} closed: {summary.orders_created} orders taken, "
            f"{summary.orders_served} served"
            + (f", {waiting} still queued in Kafka" if waiting else "")
            + f", {summary.duplicates} served twice"
        )
        if summary.cabinet is not None:
            for line in summary_lines(summary.cabinet, summary.cabinet_gaps):
                print(f"fishshop: {line}")
