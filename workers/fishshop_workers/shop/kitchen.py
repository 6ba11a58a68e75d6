"""What the preparer and the cook do with one record: pure decisions, no Kafka."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from fishshop_workers.shop.order import (
    MAX_ORDER_BYTES,
    Order,
    Rejection,
    encode_order,
    format_time,
    parse_order,
    parse_time,
)
from fishshop_workers.shop.outgoing import Outgoing, dead_letter
from fishshop_workers.shop.routing import Route, partition_for_till, route_order
from fishshop_workers.shop.topics import ShopTopics

__all__ = [
    "Incoming",
    "ServingStamp",
    "cook_order",
    "hand_to_cook",
    "read_incoming",
    "readable",
    "serve_order",
    "serve_stamped",
    "to_cook",
]


class Incoming(NamedTuple):
    """What a worker needs of a consumed record."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


def read_incoming(record: Incoming, topics: ShopTopics) -> Order | Outgoing:
    """The order a record carries, or its dead-letter record if it is not one."""
    parsed = parse_order(record.value)
    if isinstance(parsed, Rejection):
        return dead_letter(
            topics.dlq,
            parsed,
            record.value,
            record.key,
            record.topic,
            record.partition,
            record.offset,
        )
    return parsed


def readable(out: Outgoing, record: Incoming, topics: ShopTopics) -> Outgoing:
    """``out``, unless the next reader would refuse it as too large: then the record
    it came from goes to the dead-letter topic instead.

    Stamping an order (``cookedBy``, ``servedAt``, ``preparedBy``) makes it longer, so
    an order accepted near the limit could come out above it.
    """
    if out.topic == topics.dlq or len(out.value) <= MAX_ORDER_BYTES:
        return out
    rejection = Rejection(
        "oversized",
        f"the order would grow to {len(out.value)} bytes once {out.event.replace('_', ' ')}, "
        f"limit {MAX_ORDER_BYTES}",
    )
    return dead_letter(
        topics.dlq,
        rejection,
        record.value,
        record.key,
        record.topic,
        record.partition,
        record.offset,
    )


def _till_key(order: Order) -> bytes:
    return str(order.till).encode()


def to_cook(order: Order, topics: ShopTopics) -> Outgoing | None:
    """The record handing an order to the cook, or None if it can be served."""
    if route_order(order) is Route.SERVE:
        return None
    return hand_to_cook(order, topics)


def hand_to_cook(order: Order, topics: ShopTopics) -> Outgoing:
    """The record handing an order to the cook, whatever it holds (with a hot
    cabinet, an order goes to the cook whenever the cabinet is short)."""
    return Outgoing(topics.cook, encode_order(order), _till_key(order), "to_cook")


class ServingStamp(NamedTuple):
    """When and by whom orders are served: read and written once for a whole batch
    of orders served together."""

    moment: datetime
    at: str
    """``moment`` as the served record writes it."""
    by: str

    @classmethod
    def of(cls, now: datetime, preparer: str) -> ServingStamp:
        return cls(now, format_time(now), preparer)


def serve_order(order: Order, topics: ShopTopics, preparer: str, now: datetime) -> Outgoing:
    """The served record, stamped with when and by whom."""
    return serve_stamped(order, topics, ServingStamp.of(now, preparer))


def serve_stamped(order: Order, topics: ShopTopics, stamp: ServingStamp) -> Outgoing:
    """The served record, with a stamp shared by the orders served with it."""
    served = order.served(stamp.at, stamp.by)
    wait = (stamp.moment - parse_time(order.created_at)).total_seconds()
    return Outgoing(
        topics.served,
        encode_order(served),
        _till_key(order),
        "served",
        wait_seconds=max(0.0, wait),
    )


def cook_order(order: Order, topics: ShopTopics, cook: str, orders_partitions: int) -> Outgoing:
    """A cooked order goes back, ready, to its till's partition of orders."""
    return Outgoing(
        topics.orders,
        encode_order(order.cooked(cook)),
        _till_key(order),
        "cooked",
        partition=partition_for_till(order.till, orders_partitions),
    )
