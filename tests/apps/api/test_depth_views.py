"""The ladder's live book, the heatmap's columns and the volume profile over REST: exact sizes,
an empty range, and a symbol the platform does not know (404) or cannot read (422)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from apps.core import keys
from apps.core.redis import get_redis
from apps.marketdata.events import Side
from tests.apps.api.conftest import Caller
from tests.apps.api.helpers import T0, trade, write
from tests.factories import depth_snapshot, depth_update

pytestmark = pytest.mark.django_db


def _book() -> None:
    write(
        [
            [depth_snapshot(1, bids=((6000.0, 10), (5999.75, 12)), asks=((6000.25, 8), (6000.5, 3)))],
            [depth_update(2.5, Side.BUY, 6000.0, 4), depth_update(2.5, Side.SELL, 6000.25, 0)],
        ]
    )


def test_the_live_book_with_the_position_to_follow_it_from(reader: Caller) -> None:
    _book()
    response = reader.get("/api/depth/live", symbol="ESZ26")
    assert response.status_code == 200
    body = response.json()
    last_entry = get_redis().xrevrange(keys.depth("ESZ26"), count=1)[0][0].decode()
    assert body == {
        "symbol": "ESZ26",
        "feed": "test",
        "last_update": (T0 + timedelta(seconds=2.5)).isoformat().replace("+00:00", "Z"),
        "through": f"{last_entry}:1",
        "bids": [[6000.0, 4], [5999.75, 12]],
        "asks": [[6000.5, 3]],
    }
    assert reader.get("/api/depth/live", symbol="NQZ26").status_code == 404
    assert reader.get("/api/depth/live", symbol="ESZ26", feed="schwab").status_code == 404


def test_heatmap_columns_with_exact_sizes_and_an_empty_range(reader: Caller, lake: Path) -> None:
    _book()
    response = reader.get(
        "/api/depth/history",
        symbol="ESZ26",
        start=T0.isoformat(),
        end=(T0 + timedelta(seconds=2.9)).isoformat(),
        step_ms=1000,
        levels=1,
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["feed"], body["step_ms"]) == ("test", 1000)
    base = int(T0.timestamp() * 1000)
    assert body["columns"] == [
        {"start": base, "bids": [], "asks": []},
        {"start": base + 1000, "bids": [[6000.0, 10]], "asks": [[6000.25, 8]]},
        {"start": base + 2000, "bids": [[6000.0, 4]], "asks": [[6000.5, 3]]},
    ]
    backwards = reader.get(
        "/api/depth/history", symbol="ESZ26", start=T0.isoformat(), end=(T0 - timedelta(seconds=1)).isoformat()
    )
    assert backwards.status_code == 200
    assert backwards.json()["columns"] == []


def test_the_volume_profile_and_vwap_of_a_range(reader: Caller, lake: Path) -> None:
    write([[trade(1, 6000.0, size=2, side=Side.BUY), trade(2, 6000.5, size=2, side=Side.SELL)]])
    response = reader.get(
        "/api/profile", symbol="ESZ26", start=T0.isoformat(), end=(T0 + timedelta(minutes=1)).isoformat()
    )
    assert response.status_code == 200
    body = response.json()
    last_entry = get_redis().xrevrange(keys.trades("ESZ26"), count=1)[0][0].decode()
    assert (body["volume"], body["trades"], body["vwap"], body["through"]) == (4, 2, 6000.25, f"{last_entry}:1")
    assert body["levels"] == [
        {"price": 6000.0, "volume": 2, "buy": 2, "sell": 0},
        {"price": 6000.5, "volume": 2, "buy": 0, "sell": 2},
    ]
    empty = reader.get(
        "/api/profile",
        symbol="ESZ26",
        start=(T0 - timedelta(hours=2)).isoformat(),
        end=(T0 - timedelta(hours=1)).isoformat(),
    )
    assert empty.status_code == 200
    assert (empty.json()["levels"], empty.json()["vwap"], empty.json()["through"]) == ([], None, None)
    # Without a start: the session of `end` (Monday 18:00 New York for Tuesday's open).
    session = reader.get("/api/profile", symbol="ESZ26", end=(T0 + timedelta(minutes=1)).isoformat()).json()
    assert session["start"] == "2026-11-23T23:00:00Z"
    assert session["volume"] == 4


@pytest.mark.parametrize("path", ["/api/depth/history", "/api/profile"])
def test_a_symbol_the_platform_does_not_know_is_404_and_one_it_cannot_read_is_422(
    reader: Caller, lake: Path, path: str
) -> None:
    unknown = reader.get(path, symbol="SPY", start=T0.isoformat(), end=(T0 + timedelta(minutes=1)).isoformat())
    assert unknown.status_code == 404
    assert "SPY" in unknown.json()["detail"]
    malformed = reader.get(path, symbol="ES Z26")
    assert malformed.status_code == 422
    assert "symbol" in str(malformed.json()["detail"])
