"""Unit tests for fishshop_workers.roles.metrics: each event lands on the right series."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from fishshop_workers.roles.metrics import WAIT_BUCKETS, ShopMetrics
from fishshop_workers.shop.order import REJECTION_REASONS
from fishshop_workers.shop.outgoing import Outgoing

SHOP = "harbour"


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def metrics(registry: CollectorRegistry) -> ShopMetrics:
    return ShopMetrics(SHOP, "preparer", "preparer-0", registry)


def _value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, {"shop": SHOP, **labels})


def _out(event: str, reason: str | None = None, wait: float | None = None) -> Outgoing:
    return Outgoing("t", b"v", b"1", event, reason=reason, wait_seconds=wait)


def test_worker_info(registry: CollectorRegistry, metrics: ShopMetrics) -> None:
    info = _value(registry, "fishshop_worker_info", role="preparer", worker="preparer-0")
    assert info == 1.0


def test_series_start_at_zero(registry: CollectorRegistry, metrics: ShopMetrics) -> None:
    for reason in REJECTION_REASONS:
        assert _value(registry, "fishshop_records_rejected_total", reason=reason) == 0.0
    for result in ("committed", "aborted"):
        assert _value(registry, "fishshop_transactions_total", result=result) == 0.0
    assert _value(registry, "fishshop_orders_served_total") == 0.0
    assert _value(registry, "fishshop_orders_sent_to_cook_total") == 0.0
    assert _value(registry, "fishshop_orders_cooked_total") == 0.0
    assert _value(registry, "fishshop_order_wait_seconds_count") == 0.0
    # Created orders are labelled by till, so appear only once a till counts one.
    assert _value(registry, "fishshop_orders_created_total", till="1") is None


def test_count_committed_served(registry: CollectorRegistry, metrics: ShopMetrics) -> None:
    metrics.count_committed([_out("served", wait=1.5), _out("served", wait=12.0)])
    assert _value(registry, "fishshop_orders_served_total") == 2.0
    assert _value(registry, "fishshop_order_wait_seconds_count") == 2.0
    assert _value(registry, "fishshop_order_wait_seconds_sum") == 13.5
    bucket = "fishshop_order_wait_seconds_bucket"
    assert _value(registry, bucket, le="1.0") == 0.0
    assert _value(registry, bucket, le="2.0") == 1.0
    assert _value(registry, bucket, le="15.0") == 2.0
    assert _value(registry, bucket, le="+Inf") == 2.0
    assert _value(registry, "fishshop_transactions_total", result="committed") == 1.0
    assert _value(registry, "fishshop_orders_sent_to_cook_total") == 0.0


def test_served_without_wait_is_counted_but_not_timed(
    registry: CollectorRegistry, metrics: ShopMetrics
) -> None:
    metrics.count_committed([_out("served")])
    assert _value(registry, "fishshop_orders_served_total") == 1.0
    assert _value(registry, "fishshop_order_wait_seconds_count") == 0.0


def test_zero_wait_is_timed(registry: CollectorRegistry, metrics: ShopMetrics) -> None:
    # serve_order clamps waits at 0.0: such an order was still served and timed.
    metrics.count_committed([_out("served", wait=0.0)])
    assert _value(registry, "fishshop_order_wait_seconds_count") == 1.0
    assert _value(registry, "fishshop_order_wait_seconds_bucket", le="0.1") == 1.0


def test_count_committed_each_event(registry: CollectorRegistry, metrics: ShopMetrics) -> None:
    metrics.count_committed(
        [
            _out("to_cook"),
            _out("to_cook"),
            _out("cooked"),
            _out("rejected", reason="not_json"),
            _out("rejected", reason="not_json"),
            _out("rejected", reason="unknown_item"),
            _out("rejected", reason=None),
            _out("something_else"),
        ]
    )
    assert _value(registry, "fishshop_orders_sent_to_cook_total") == 2.0
    assert _value(registry, "fishshop_orders_cooked_total") == 1.0
    assert _value(registry, "fishshop_orders_served_total") == 0.0
    rejected = "fishshop_records_rejected_total"
    assert _value(registry, rejected, reason="not_json") == 2.0
    assert _value(registry, rejected, reason="unknown_item") == 1.0
    for reason in set(REJECTION_REASONS) - {"not_json", "unknown_item"}:
        assert _value(registry, rejected, reason=reason) == 0.0
    assert _value(registry, "fishshop_transactions_total", result="committed") == 1.0


def test_each_commit_is_one_transaction(registry: CollectorRegistry, metrics: ShopMetrics) -> None:
    metrics.count_committed([])
    metrics.count_committed(iter([_out("cooked")]))
    metrics.count_aborted()
    assert _value(registry, "fishshop_transactions_total", result="committed") == 2.0
    assert _value(registry, "fishshop_transactions_total", result="aborted") == 1.0
    assert _value(registry, "fishshop_orders_cooked_total") == 1.0


def test_set_lag_sets_updates_and_forgets(
    registry: CollectorRegistry, metrics: ShopMetrics
) -> None:
    lag = "fishshop_consumer_lag"
    metrics.set_lag("fishshop.harbour.orders", 0, 12)
    metrics.set_lag("fishshop.harbour.orders", 1, 0)
    assert _value(registry, lag, topic="fishshop.harbour.orders", partition="0") == 12.0
    assert _value(registry, lag, topic="fishshop.harbour.orders", partition="1") == 0.0
    metrics.set_lag("fishshop.harbour.orders", 0, 3)
    assert _value(registry, lag, topic="fishshop.harbour.orders", partition="0") == 3.0
    metrics.set_lag("fishshop.harbour.orders", 0, None)
    assert _value(registry, lag, topic="fishshop.harbour.orders", partition="0") is None
    assert _value(registry, lag, topic="fishshop.harbour.orders", partition="1") == 0.0


def test_forgetting_an_unknown_partition_is_harmless(
    registry: CollectorRegistry, metrics: ShopMetrics
) -> None:
    metrics.set_lag("fishshop.harbour.orders", 7, None)
    metrics.set_lag("fishshop.harbour.orders", 7, None)
    assert _value(registry, "fishshop_consumer_lag", topic="x", partition="7") is None


def test_shops_do_not_share_series() -> None:
    registry = CollectorRegistry()
    metrics = ShopMetrics("harbour", "cook", "cook-0", registry)
    metrics.count_committed([_out("cooked")])
    other = CollectorRegistry()
    ShopMetrics("pier", "cook", "cook-0", other)
    cooked = "fishshop_orders_cooked_total"
    assert registry.get_sample_value(cooked, {"shop": "harbour"}) == 1.0
    assert other.get_sample_value(cooked, {"shop": "pier"}) == 0.0
    assert other.get_sample_value(cooked, {"shop": "harbour"}) is None
    assert registry.get_sample_value(cooked, {"shop": "pier"}) is None


def test_wait_buckets_are_increasing() -> None:
    assert list(WAIT_BUCKETS) == sorted(set(WAIT_BUCKETS))
    assert WAIT_BUCKETS[0] > 0
