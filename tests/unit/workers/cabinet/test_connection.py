"""Where a shop's cabinet lives in Redis, and how a worker reaches that Redis."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis.crc import key_slot

from fishshop_workers.cabinet import scripts
from fishshop_workers.cabinet.connection import CabinetConnection
from fishshop_workers.cabinet.decisions import CabinetSettingsError
from fishshop_workers.cabinet.keys import RECORD_TTL, CabinetKeys, RecordKey

# -- keys -----------------------------------------------------------------------------


def test_every_key_of_a_shop_is_in_its_hash_tag_slot() -> None:
    keys = CabinetKeys("fishshop.harbour")
    names = [*keys.all(), keys.decided(RecordKey("cook", "fishshop.harbour.cook", 2, 917))]
    assert all(name.startswith("{fishshop.harbour}:cabinet:") for name in names)
    assert {key_slot(name.encode()) for name in names} == {key_slot(b"fishshop.harbour")}
    assert len(set(names)) == len(names)


def test_two_shops_never_share_a_key() -> None:
    record = RecordKey("preparer", "orders", 0, 1)
    harbour, quay = CabinetKeys("fishshop.harbour"), CabinetKeys("fishshop.quay")
    assert not {*harbour.all(), harbour.decided(record)} & {*quay.all(), quay.decided(record)}


def test_a_records_decision_is_kept_per_role_topic_and_partition_by_offset() -> None:
    keys = CabinetKeys("fishshop.harbour")
    record = RecordKey("preparer", "fishshop.harbour.orders", 1, 42)
    assert keys.decided(record) == (
        "{fishshop.harbour}:cabinet:decided:preparer:fishshop.harbour.orders:1"
    )
    assert keys.decided(record._replace(offset=43)) == keys.decided(record)
    assert keys.record_field(record) == "42"
    assert keys.record_field(record, "o1").startswith("42:")
    assert keys.record_field(record, "o1") != keys.record_field(record, "o2")
    # The same offset read by another role is another decision.
    assert keys.decided(RecordKey("cook", "t", 0, 0)) != keys.decided(
        RecordKey("preparer", "t", 0, 0)
    )


@pytest.mark.parametrize("prefix", ["", "fishshop.{harbour}", "fish}shop", "fishshop harbour"])
def test_a_prefix_that_would_break_the_hash_tag_is_refused(prefix: str) -> None:
    with pytest.raises(ValueError, match="cannot be a Redis hash tag"):
        CabinetKeys(prefix)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (RecordKey("till", "t", 0, 0), "role 'till' is not one of preparer, cook"),  # type: ignore[arg-type]
        (RecordKey("cook", "", 0, 0), "topic '' is not a Kafka topic name"),
        (RecordKey("cook", "t", -1, 0), "partition -1"),
        (RecordKey("cook", "t", 0, -5), "offset -5"),
        (RecordKey("cook", "t", 0, True), "offset True"),
    ],
)
def test_a_record_key_that_is_no_kafka_record_is_refused(record: RecordKey, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CabinetKeys("fishshop.harbour").decided(record)


def test_decisions_are_remembered_for_days() -> None:
    assert RECORD_TTL.days >= 7


def test_the_take_script_stocks_only_cabinet_items() -> None:
    assert "local stocked = {cod = true, chips = true}" in scripts.TAKE


# -- connection -----------------------------------------------------------------------


def test_where_and_repr_never_show_the_password() -> None:
    connection = CabinetConnection("redis://fish:s3cret@redis.shop:6380/2", password="hunter2")
    assert connection.where == "redis://fish@redis.shop:6380/2"
    assert "s3cret" not in repr(connection)
    assert "hunter2" not in repr(connection)
    assert "password='***'" in repr(connection)
    assert "hunter2" not in str(connection)


def test_a_url_with_only_a_password_shows_no_user() -> None:
    assert CabinetConnection("rediss://:s3cret@redis.shop:6380").where == "rediss://redis.shop:6380"


def test_options_carry_timeouts_password_and_ca() -> None:
    connection = CabinetConnection(
        "rediss://redis.shop:6380", password="pw", tls_ca_file=Path("/ca.pem"), timeout_seconds=2
    )
    assert connection.client_options() == {
        "socket_timeout": 2,
        "socket_connect_timeout": 2,
        "driver_info": None,
        "password": "pw",
        "ssl_ca_certs": "/ca.pem",
    }


def test_no_password_sends_none() -> None:
    assert "password" not in CabinetConnection("redis://127.0.0.1:6379").client_options()


def test_the_password_file_is_read_at_connect_without_its_newline(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("first\n")
    connection = CabinetConnection("redis://redis:6379", password_file=secret)
    assert connection.client_options()["password"] == "first"
    secret.write_text(" rotated \r\n")
    assert connection.read_password() == " rotated "


def test_a_missing_password_file_is_named(tmp_path: Path) -> None:
    connection = CabinetConnection("redis://redis:6379", password_file=tmp_path / "nope")
    with pytest.raises(CabinetSettingsError, match=r"Redis password file .*nope not found"):
        connection.read_password()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"url": "http://redis:6379"}, r"must look like redis://HOST:PORT"),
        ({"url": "redis:6379"}, r"must look like redis://HOST:PORT"),
        ({"url": "redis://redis:port"}, r"is not a URL"),
        ({"url": "redis://"}, r"must look like redis://HOST:PORT"),
        (
            {"url": "redis://r:1", "password": "a", "password_file": Path("b")},
            "the Redis password or a file that holds it, not both",
        ),
        (
            {"url": "redis://r:1", "tls_ca_file": Path("ca.pem")},
            r"a CA file is for TLS: use rediss:// instead of redis://",
        ),
        ({"url": "redis://r:1", "timeout_seconds": 0}, "timeout must be above 0 seconds"),
    ],
)
def test_connection_settings_that_cannot_work_are_refused_readably(
    options: dict[str, object], message: str
) -> None:
    with pytest.raises(CabinetSettingsError, match=message):
        CabinetConnection(**options)  # type: ignore[arg-type]


def test_a_refused_url_does_not_echo_its_password() -> None:
    with pytest.raises(CabinetSettingsError) as refused:
        CabinetConnection("http://:s3cret@redis:6379")
    assert "s3cret" not in str(refused.value)


def test_an_acl_user_is_sent_and_shown() -> None:
    connection = CabinetConnection(
        "redis://redis.shop:6379/0", username="fishshop.a.b", password="pw"
    )
    assert connection.client_options()["username"] == "fishshop.a.b"
    assert connection.where == "redis://fishshop.a.b@redis.shop:6379/0"
    assert "username" not in CabinetConnection("redis://redis.shop:6379").client_options()


@pytest.mark.parametrize("username", ["", "two words", "x" * 257, "tab\there"])
def test_a_user_name_redis_cannot_have_is_refused(username: str) -> None:
    with pytest.raises(CabinetSettingsError, match="Redis user name"):
        CabinetConnection("redis://redis.shop:6379", username=username)


def test_a_user_in_the_url_and_another_given_is_refused() -> None:
    with pytest.raises(CabinetSettingsError, match="names user 'alice' and user 'bob'"):
        CabinetConnection("redis://alice@redis.shop:6379", username="bob")
