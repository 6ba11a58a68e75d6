"""The examples that end each command's ``--help``: one place, each checked by a test
to parse as written."""

from __future__ import annotations

__all__ = ["EXAMPLES"]

_WORKER = "--bootstrap-servers 127.0.0.1:9092 --shop harbour"

EXAMPLES: dict[str, list[tuple[str, str]]] = {
    "demo": [
        ("fishshop demo", "the two-preparers shop, live; q quits"),
        ("fishshop demo --scenario cook", "plaice through the cook"),
        ("fishshop demo --headless --duration 60 --json", "a minute, drained, as JSON"),
        ("fishshop demo -f manifests/samples/harbour.yaml", "your own FishShop"),
    ],
    "broker": [
        ("fishshop broker", "one Kafka node on 127.0.0.1:9092 until Ctrl-C"),
        ("fishshop broker --nodes 3", "the three-node KRaft cluster of the crash tests"),
    ],
    "connect": [
        (
            "fishshop connect --bootstrap-servers 127.0.0.1:9092",
            "a Connect worker with Debezium's JDBC sink",
        ),
    ],
    "report": [
        (
            "fishshop report --postgres-url postgresql://fishshop:PASSWORD@127.0.0.1/fishshop",
            "the last hour, a line a minute",
        ),
        (
            "fishshop report --postgres-url postgresql://127.0.0.1/fishshop"
            " --since 1d --every 1h --csv",
            "a day by the hour, as CSV",
        ),
    ],
    "till": [
        (f"fishshop till {_WORKER} --till 1 --create-topics", "till 1, 40 orders a minute"),
        (f"fishshop till {_WORKER} --till 2 --orders-per-minute 120", "a busier till 2"),
    ],
    "preparer": [
        (f"fishshop preparer {_WORKER} --metrics-port 8001", "one preparer of the group"),
        (
            f"fishshop preparer {_WORKER} --redis-url redis://127.0.0.1:6379/0",
            "with the hot cabinet",
        ),
    ],
    "cook": [
        (f"fishshop cook {_WORKER} --metrics-port 8002", "the cook, frying plaice"),
    ],
    "audit": [
        (f"fishshop audit {_WORKER}", "every order served once? exit 0 if so, 1 if not"),
        (f"fishshop audit {_WORKER} --wait 30 --json", "after waiting for the queue, as JSON"),
    ],
    "operator": [
        ("fishshop operator", "every namespace, with the kubeconfig or the pod's account"),
        ("fishshop operator --watch-namespace shops-a,shops-b", "two namespaces only"),
    ],
}
"""Command -> (command line, what it does)."""
