"""`/api/*` with `replay=<id>`: the replay's own data with its original times (20 November stays
20 November, and range defaults end at the replay's clock); the same request without it sees only
the live data; a bad id is 422 naming `replay`, an unknown one 404 saying so."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from apps.marketdata.events import Trade
from tests.apps.api.conftest import Caller
from tests.factories import ns, trade, write
from tests.replays import DAY, day_events, events_file, run_replay

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.calendar]


@pytest.fixture
def replayed(tmp_path: Path, lake: Path) -> list[Trade]:
    """Friday 20 November 2026 replayed into sandbox `nov20`, and live trades of the same contract
    in the same minutes at other prices (6100 and up, the replay's are 5990 to 5992.75)."""
    events = day_events(300)
    run_replay(events_file(tmp_path / "day.jsonl", events), replay_id="nov20")
    write([[trade(0.0005 + i * 0.01, 6100.0 + i % 4, seq=i, base=DAY) for i in range(50)]])
    return [event for event in events if isinstance(event, Trade)]


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.content
    return response.json()


def test_ticks_of_a_replay_keep_their_times_and_live_ticks_do_not_see_it(reader: Caller, replayed: list[Trade]) -> None:
    """Without start and end, a replay's range ends at its clock (the last event it replayed) and
    `ES` is the lead contract on the replayed day; a live request for the same range has no replayed trade."""
    body = ok(reader.get("/api/ticks", symbol="ES", replay="nov20", limit=10_000))
    assert body["symbol"] == "ESZ26"
    assert [(item["ts_event"], item["price"], item["feed"]) for item in body["trades"]] == [
        (t.ts_event, t.price, t.feed) for t in replayed
    ]
    assert body["trades"][0]["time"].startswith("2026-11-20T14:30:00.001")

    span = {"start": (DAY - timedelta(minutes=1)).isoformat(), "end": (DAY + timedelta(minutes=1)).isoformat()}
    live = ok(reader.get("/api/ticks", symbol="ESZ26", limit=10_000, **span))
    assert live["trades"], "the live trades of the same minutes"
    assert all(item["price"] >= 6100.0 and item["feed"] == "test" for item in live["trades"])

    last = ok(reader.get("/api/ticks/last", symbol="ESZ26", replay="nov20", count=5))
    assert [item["ts_event"] for item in last["trades"]] == [t.ts_event for t in replayed[-5:]]
    live_last = ok(reader.get("/api/ticks/last", symbol="ESZ26", count=5))
    assert all(item["price"] >= 6100.0 for item in live_last["trades"])


def test_bars_quotes_and_book_of_a_replay_come_from_its_sandbox(reader: Caller, replayed: list[Trade]) -> None:
    bars = ok(reader.get("/api/bars", symbol="ESZ26", interval="1m", replay="nov20"))["bars"]
    assert [bar["time"] for bar in bars] == ["2026-11-20T14:30:00Z"]
    assert (bars[0]["low"], bars[0]["high"]) == (5990.0, 5992.75)
    assert bars[0]["volume"] == sum(t.size for t in replayed)
    span = {"start": (DAY - timedelta(minutes=1)).isoformat(), "end": (DAY + timedelta(minutes=1)).isoformat()}
    live_bars = ok(reader.get("/api/bars", symbol="ESZ26", interval="1m", **span))["bars"]
    assert [(bar["low"], bar["high"]) for bar in live_bars] == [(6100.0, 6103.0)], "live bars hold no replayed trade"

    quote = ok(reader.get("/api/quotes/latest", symbol="ESZ26", replay="nov20"))
    assert quote["ts_event"] == replayed[-1].ts_event
    assert reader.get("/api/quotes/latest", symbol="ESZ26").status_code == 404, "no live quote was written"

    book = ok(reader.get("/api/depth/book", symbol="ESZ26", replay="nov20"))
    assert book["feed"] == "simulator"
    assert book["asks"], book
    assert reader.get("/api/depth/book", symbol="ESZ26").status_code == 404, "no live book"

    assert ok(reader.get("/api/symbols", replay="nov20")) == {"symbols": [{"alias": None, "contract": "ESZ26"}]}


def test_the_depth_ladder_heatmap_and_profile_of_a_replay_come_from_its_sandbox(
    reader: Caller, replayed: list[Trade]
) -> None:
    """The ladder's book, the heatmap's columns (the 15 minutes before the replay's clock) and the
    volume profile (the Globex session of 20 November, from 18:00 New York the day before)."""
    live_book = ok(reader.get("/api/depth/live", symbol="ESZ26", replay="nov20"))
    assert live_book["feed"] == "simulator"
    assert live_book["last_update"].startswith("2026-11-20T14:30:00")
    assert reader.get("/api/depth/live", symbol="ESZ26").status_code == 404, "no live book"

    history = ok(reader.get("/api/depth/history", symbol="ESZ26", replay="nov20", step_ms=60_000))
    assert history["end"].startswith("2026-11-20T14:30:00.3")
    assert history["feed"] == "simulator"
    assert history["columns"][-1]["bids"], "the last column holds the replayed book"

    profile = ok(reader.get("/api/profile", symbol="ESZ26", replay="nov20"))
    assert profile["start"] == "2026-11-19T23:00:00Z"
    assert profile["volume"] == sum(t.size for t in replayed)
    live_profile = ok(
        reader.get("/api/profile", symbol="ESZ26", start=DAY.isoformat(), end=(DAY + timedelta(minutes=1)).isoformat())
    )
    assert live_profile["volume"] == sum(1 for _ in range(50)), "the live session's 50 one-lot trades, no replayed one"


def test_the_replays_endpoints_show_its_clock_and_progress(reader: Caller, replayed: list[Trade]) -> None:
    state = ok(reader.get("/api/replays/nov20"))
    assert state["state"] == "finished"
    assert state["clock"] == "2026-11-20T14:30:00.300000Z"
    assert state["symbols"] == ["ESZ26"]
    assert state["ttl_seconds"] is not None
    assert [item["replay"] for item in ok(reader.get("/api/replays"))] == ["nov20"]
    assert replayed[-1].ts_event == ns(0.3, base=DAY)


@pytest.mark.parametrize(
    "path",
    [
        "/api/ticks",
        "/api/ticks/last",
        "/api/bars",
        "/api/quotes/latest",
        "/api/depth/book",
        "/api/depth/live",
        "/api/depth/history",
        "/api/profile",
    ],
)
def test_a_bad_replay_id_is_422_and_an_unknown_one_404(reader: Caller, replayed: list[Trade], path: str) -> None:
    bad = reader.get(path, symbol="ESZ26", replay="Nov 20}")
    assert bad.status_code == 422, bad.content
    assert bad.json()["detail"][0]["loc"][-1] == "replay"
    unknown = reader.get(path, symbol="ESZ26", replay="nov21")
    assert unknown.status_code == 404, unknown.content
    assert unknown.json()["detail"].startswith("no replay 'nov21': it never ran here, or it expired or was deleted")
    assert "nov20" in unknown.json()["detail"], "the replays there are are named"


def test_gex_of_a_replay_is_404_saying_a_replay_carries_no_gex(reader: Caller, replayed: list[Trade]) -> None:
    response = reader.get("/api/gex/latest", ticker="ES_SPX", replay="nov20")
    assert response.status_code == 404
    assert "holds no GEX snapshots" in response.json()["detail"]
    assert reader.get("/api/replays/nov21").status_code == 404
