"""The cabinet's own errors: callers catch these, never the Redis client's."""

from __future__ import annotations

from fishshop_workers.errors import ServiceError

__all__ = ["CabinetConflict", "CabinetError", "CabinetStale", "CabinetUnavailable"]


class CabinetError(ServiceError):
    """Something about the hot cabinet; the message says what and what to check."""


class CabinetUnavailable(CabinetError):
    """Redis cannot be reached or refused the work.

    Nothing was decided that the worker could see: it should stop taking orders and
    ask again later with the same record, which is safe (a decision Redis made but
    whose answer was lost is found again under the record's key).
    """

    retriable = True


class CabinetConflict(CabinetError):
    """A record's remembered decision belongs to another order: the same record key
    was used twice, which happens only when topics are made again without a reset
    of the cabinet."""


class CabinetStale(CabinetError):
    """A decision was asked for a record that its partition's owner has already
    committed: the asking worker lost the partition without knowing (a zombie). It
    must not decide again; it leaves the group and rejoins."""
