"""The command line's own errors: bad input at the keyboard, and Kafka's errors wrapped."""

from __future__ import annotations

from aiokafka.errors import KafkaError

from fishshop_workers.errors import InputError, ServiceError

__all__ = ["KafkaFailed", "UsageError", "kafka_failed"]


class UsageError(InputError):
    """Bad input from the person at the keyboard: printed, exit code 2."""


class KafkaFailed(ServiceError):
    """Kafka refused or failed a call (the command line's wrapping of aiokafka's errors)."""


def kafka_failed(error: KafkaError, bootstrap_servers: str | None) -> KafkaFailed:
    """aiokafka's ``error`` as fishshop's own, saying what to check."""
    return KafkaFailed(
        f"Kafka at {bootstrap_servers or 'the broker'} "
        f"refused or failed: {error}. Check the address, the credentials "
        "(--sasl-*) and the certificates (--certs-dir)."
    )
