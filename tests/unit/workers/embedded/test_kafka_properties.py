"""server.properties for one node alone and for a node of a three-node cluster."""

from __future__ import annotations

from pathlib import Path

from fishshop_workers.embedded.kafka_properties import (
    QuorumSeat,
    broker_properties,
    min_insync_replicas,
)


def parse(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines())


def test_a_node_alone_is_its_own_quorum_with_one_copy_of_everything() -> None:
    settings = parse(broker_properties(9092, 9093, Path("/data/logs")))
    assert settings["node.id"] == "1"
    assert settings["controller.quorum.voters"] == "1@127.0.0.1:9093"
    for key in (
        "default.replication.factor",
        "min.insync.replicas",
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
    ):
        assert settings[key] == "1", key


def test_a_node_of_three_knows_every_voter_and_keeps_three_copies_two_in_sync() -> None:
    seat = QuorumSeat(2, {1: 9101, 2: 9102, 3: 9103}, "cluster-id")
    settings = parse(broker_properties(9002, seat.controller_port, Path("/d"), seat=seat))
    assert settings["node.id"] == "2"
    assert settings["controller.quorum.voters"] == (
        "1@127.0.0.1:9101,2@127.0.0.1:9102,3@127.0.0.1:9103"
    )
    assert settings["listeners"] == "PLAINTEXT://127.0.0.1:9002,CONTROLLER://127.0.0.1:9102"
    assert settings["advertised.listeners"] == "PLAINTEXT://127.0.0.1:9002"
    for key in (
        "default.replication.factor",
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
    ):
        assert settings[key] == "3", key
    for key in ("min.insync.replicas", "transaction.state.log.min.isr"):
        assert settings[key] == "2", key


def test_extra_properties_win() -> None:
    text = broker_properties(1, 2, Path("/d"), extra_properties={"min.insync.replicas": "3"})
    assert parse(text)["min.insync.replicas"] == "3"


def test_one_node_may_die_and_writes_go_on() -> None:
    assert [min_insync_replicas(n) for n in (1, 2, 3, 5)] == [1, 1, 2, 4]
