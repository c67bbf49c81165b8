"""Instants as integer nanoseconds since the Unix epoch (the `ts_event` of market data), exact to
the microsecond a datetime holds: no float on the way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_epoch_ns(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1) * 1000


def from_epoch_ns(ns: int) -> datetime:
    """The instant of `ns`, truncated to the microsecond."""
    return EPOCH + timedelta(microseconds=ns // 1000)
