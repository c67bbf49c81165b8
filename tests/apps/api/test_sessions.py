"""`/api/bars?session=` and `/api/sessions`: days of the exchange calendar, and the contract and its
roll, as a trader's chart labels them. Each test stands on named days with the clock set."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine

from apps.storage.lake_bars import INTERVAL_NS
from tests.apps.api.conftest import Caller
from tests.factories import trade, write

pytestmark = pytest.mark.calendar


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_daily_bars_are_exchange_days_eth_by_default_and_rth_on_request(reader: Caller, lake: Path) -> None:
    """Monday 23 and Tuesday 24 November 2026: a trade at 18:30 New York on Monday evening opens
    Tuesday's ETH bar (18:00 the evening before) and is in no RTH bar."""
    write([[trade(0, 6000.0, base=at("2026-11-23T20:00")), trade(0, 6010.0, base=at("2026-11-23T23:30"))]])
    write([[trade(0, 6020.0, base=at("2026-11-24T15:00"))]])
    with time_machine.travel(at("2026-11-25T12:00")):
        params = {"symbol": "ESZ26", "interval": "1d", "start": "2026-11-23T00:00:00Z", "end": "2026-11-25T00:00:00Z"}
        eth = reader.get("/api/bars", **params).json()
        rth = reader.get("/api/bars", **params, session="rth").json()
        refused = reader.get("/api/bars", **params, session="globex")
    assert eth["session"] == "eth"
    assert [(bar["time"], bar["close"], bar["volume"]) for bar in eth["bars"]] == [
        ("2026-11-22T23:00:00Z", 6000.0, 1),
        ("2026-11-23T23:00:00Z", 6020.0, 2),
    ]
    assert [(bar["time"], bar["close"]) for bar in rth["bars"]] == [
        ("2026-11-23T14:30:00Z", 6000.0),
        ("2026-11-24T14:30:00Z", 6020.0),
    ]
    assert refused.status_code == 422
    assert "session" in refused.content.decode()


def test_the_sessions_of_a_roll_week_name_the_contract_and_the_roll(reader: Caller) -> None:
    """Roll week of December 2026: ES rolls from ESZ26 to ESH27 at the Globex open of Wednesday 9
    December (18:00 New York, 23:00 UTC), eight days before the third Friday."""
    with time_machine.travel(at("2026-12-11T15:00")):
        before = reader.get("/api/sessions", symbol="ES", start="2026-12-07T00:00:00Z", end="2026-12-09T12:00:00Z")
        week = reader.get("/api/sessions", symbol="ES", start="2026-12-07T00:00:00Z", end="2026-12-11T23:00:00Z")
        contract = reader.get("/api/sessions", symbol="ESZ26", start="2026-12-07T00:00:00Z", end="2026-12-11T23:00:00Z")
    assert before.status_code == 200
    assert before.json()["contract"] == "ESZ26"
    assert before.json()["rolls"] == [{"at": "2026-12-09T23:00:00Z", "before": "ESZ26", "after": "ESH27"}]
    body = week.json()
    assert body["contract"] == "ESH27"
    assert body["rolls"][0] == {"at": "2026-12-09T23:00:00Z", "before": "ESZ26", "after": "ESH27"}
    assert body["rolls"][-1]["before"] == "ESH27", "and the next roll after the range"
    assert [day["trade_date"] for day in body["sessions"]] == [
        "2026-12-07", "2026-12-08", "2026-12-09", "2026-12-10", "2026-12-11",
    ]  # fmt: skip
    assert body["sessions"][0]["open"] == "2026-12-06T23:00:00Z"
    assert not any(day["early_close"] for day in body["sessions"])
    assert contract.json()["rolls"] == [], "a contract does not roll"


def test_holidays_and_early_closes_in_the_sessions(reader: Caller) -> None:
    """Christmas 2026: Thursday 24 closes at 13:00 New York (Globex and RTH), Friday 25 has no session."""
    with time_machine.travel(at("2026-12-30T12:00")):
        eth = reader.get("/api/sessions", symbol="ES", start="2026-12-23T00:00:00Z", end="2026-12-28T22:30:00Z").json()
        rth = reader.get(
            "/api/sessions", symbol="ES", session="rth", start="2026-12-23T00:00:00Z", end="2026-12-28T22:30:00Z"
        ).json()
    assert [(day["trade_date"], day["close"], day["early_close"]) for day in eth["sessions"]] == [
        ("2026-12-23", "2026-12-23T22:00:00Z", False),
        ("2026-12-24", "2026-12-24T18:00:00Z", True),
        ("2026-12-28", "2026-12-28T22:00:00Z", False),
    ]
    assert [(day["open"], day["close"]) for day in rth["sessions"]] == [
        ("2026-12-23T14:30:00Z", "2026-12-23T21:00:00Z"),
        ("2026-12-24T14:30:00Z", "2026-12-24T18:00:00Z"),
        ("2026-12-28T14:30:00Z", "2026-12-28T21:00:00Z"),
    ]


def test_every_interval_the_readme_lists_is_accepted_and_no_other(reader: Caller, lake: Path) -> None:
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    listed = readme.split("`interval`: ", 1)[1].split("\n", 1)[0]
    assert [word.strip("`,. ") for word in listed.split(", ")][: len(INTERVAL_NS)] == list(INTERVAL_NS)
    with time_machine.travel(at("2026-11-25T12:00")):
        for interval in INTERVAL_NS:
            assert reader.get("/api/bars", symbol="ESZ26", interval=interval).status_code == 200, interval
        assert reader.get("/api/bars", symbol="ESZ26", interval="2h").status_code == 422


def test_daily_bars_of_es_in_the_roll_week_are_the_lead_contracts_trade_dates(reader: Caller, lake: Path) -> None:
    """Roll week of December 2026: ESZ26 leads until the Globex open of Wednesday 9 December
    (18:00 New York), ESH27 from then on, which is the open of trade date Thursday 10."""
    write(
        [
            [
                trade(0, 6000.0, base=at("2026-12-08T15:00"), symbol="ESZ26"),  # Tuesday 8
                trade(0, 6010.0, base=at("2026-12-09T15:00"), symbol="ESZ26"),  # Wednesday 9
                trade(0, 6050.0, base=at("2026-12-09T15:00"), symbol="ESH27"),  # Wednesday 9, the next contract
                trade(0, 6060.0, base=at("2026-12-09T23:30"), symbol="ESH27"),  # Thursday 10's, after the roll
                trade(0, 6070.0, base=at("2026-12-10T15:00"), symbol="ESH27"),
            ]
        ]
    )
    with time_machine.travel(at("2026-12-11T12:00")):
        before = reader.get(
            "/api/bars", symbol="ES", interval="1d", start="2026-12-07T00:00:00Z", end="2026-12-09T22:00:00Z"
        ).json()
        after = reader.get(
            "/api/bars", symbol="ES", interval="1d", start="2026-12-07T00:00:00Z", end="2026-12-11T00:00:00Z"
        ).json()
    assert before["symbol"] == "ESZ26"
    assert [(bar["time"], bar["close"]) for bar in before["bars"]] == [
        ("2026-12-07T23:00:00Z", 6000.0),
        ("2026-12-08T23:00:00Z", 6010.0),
    ]
    assert after["symbol"] == "ESH27"
    assert [(bar["time"], bar["close"], bar["volume"]) for bar in after["bars"]] == [
        ("2026-12-08T23:00:00Z", 6050.0, 1),
        ("2026-12-09T23:00:00Z", 6070.0, 2),
    ]
