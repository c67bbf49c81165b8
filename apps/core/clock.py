"""Time: timezone-aware UTC inside the platform, the exchange's zone only at the edges."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

EXCHANGE_TZ = ZoneInfo("America/New_York")


def utc_now() -> datetime:
    return datetime.now(tz=UTC)


def ensure_utc(moment: datetime) -> datetime:
    """The same instant in UTC; a naive datetime is an error, never silently assumed."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()} has no time zone; pass an aware one")
    return moment.astimezone(UTC)


def to_exchange(moment: datetime) -> datetime:
    return ensure_utc(moment).astimezone(EXCHANGE_TZ)


def to_epoch_ms(moment: datetime) -> int:
    return int(ensure_utc(moment).timestamp() * 1000)
