"""Sessions and holidays by the exchange calendar, at instants a trader would check."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from apps.core.clock import EXCHANGE_TZ, ensure_utc, to_exchange
from apps.core.sessions import Session, is_holiday, regular_close, session_at

pytestmark = pytest.mark.calendar


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=EXCHANGE_TZ)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (ny(2026, 11, 24, 9, 29), Session.EXTENDED),
        (ny(2026, 11, 24, 9, 30), Session.REGULAR),
        (ny(2026, 11, 24, 15, 59), Session.REGULAR),
        (ny(2026, 11, 24, 16, 0), Session.EXTENDED),
        (ny(2026, 11, 24, 20, 0), Session.CLOSED),
        (ny(2026, 11, 24, 3, 59), Session.CLOSED),
        (ny(2026, 11, 26, 11, 0), Session.CLOSED),  # Thanksgiving
        (ny(2026, 11, 27, 12, 59), Session.REGULAR),  # early close at 13:00
        (ny(2026, 11, 27, 13, 30), Session.EXTENDED),
        (ny(2026, 11, 28, 11, 0), Session.CLOSED),  # Saturday
        (ny(2026, 7, 1, 9, 30), Session.REGULAR),  # summer time: 13:30 UTC
    ],
)
def test_session_at(moment: datetime, expected: Session) -> None:
    assert session_at(moment) is expected
    assert session_at(moment.astimezone(UTC)) is expected


def test_holidays_are_weekdays_the_exchange_is_closed() -> None:
    assert is_holiday(date(2026, 11, 26))
    assert is_holiday(date(2026, 12, 25))
    assert not is_holiday(date(2026, 11, 28))  # a weekend, not a holiday
    assert not is_holiday(date(2026, 11, 24))


def test_regular_close_on_an_early_close_day() -> None:
    assert regular_close(date(2026, 11, 27)) == datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
    assert regular_close(date(2026, 11, 26)) is None


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        session_at(datetime(2026, 11, 24, 10, 0))  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="naive datetime"):
        ensure_utc(datetime(2026, 11, 24, 10, 0))  # noqa: DTZ001


def test_exchange_time_at_the_edges() -> None:
    assert to_exchange(datetime(2026, 11, 24, 14, 30, tzinfo=UTC)).hour == 9
