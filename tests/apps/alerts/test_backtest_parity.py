"""The backtest over a lake day finds exactly the matches the live engine made on that day:
market-data trades and 1-minute bars (against the GEX snapshot in force), GEX snapshots and UW
option trades.

The replay sandbox (`run_streamer replay`) has not landed on this branch, so the day is driven
into the live engine by writing its events into the hot store as the streamers do (the
HotStoreWriter's blocks, `snapshot_record`'s GEX entries); then the flush lands the same streams
in the lake, the hot streams are deleted, and the backtest reads only the lake.
"""

from __future__ import annotations

import math
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from pytest_django import Settings

from apps.alerts.backtest import backtest_run
from apps.alerts.engine import AlertEngine
from apps.alerts.models import AlertDelivery, AlertEvent, AlertRule
from apps.alerts.services import rule_save
from apps.core import keys
from apps.core.codec import dumps
from apps.core.redis import get_redis
from apps.gex.services.snapshots import snapshot_record
from apps.gex.snapshots import GEXSnapshot
from apps.marketdata.events import Side, Trade
from apps.storage.flush import streams_flush
from apps.uw.events import OptionTrade
from apps.uw.parsing import option_trade_parse
from apps.uw.services.hot_store import uw_events_write
from tests.apps.alerts.payloads import OPTION_TRADE
from tests.conftest import ProcessGroup
from tests.factories import write

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.calendar]
DAY = date(2024, 9, 18)  # a Wednesday: pre-market, the regular session and the post-market
OPEN = datetime(2024, 9, 18, 13, 30, tzinfo=UTC)


def _trades() -> list[list[Trade]]:
    """ESZ24 from 08:00 to 17:00 New York, a trade every 20 s oscillating around 5700 ± 8,
    written in batches of 30 (one hot-store entry each)."""
    start = OPEN - timedelta(hours=1, minutes=30)
    trades = []
    for index in range(9 * 180):
        at = start + timedelta(seconds=20 * index)
        price = round((5700 + 8 * math.sin(index / 9)) * 4) / 4
        ns = int(at.timestamp()) * 1_000_000_000
        trades.append(
            Trade("ESZ24", ns, ns, price, 1 + index % 5, Side.BUY if index % 3 else Side.SELL, "simulator", index)
        )
    return [trades[start : start + 30] for start in range(0, len(trades), 30)]


def _snapshots() -> list[GEXSnapshot]:
    start = int((OPEN - timedelta(hours=1, minutes=31)).timestamp())
    return [
        GEXSnapshot(
            ticker="ESZ24",
            package="classic",
            category="gex_full",
            timestamp=start + 600 * index,
            spot=5700 + 5 * math.sin(index / 2),
            zero_gamma=5695 + 7 * math.cos(index / 3),
            major_pos_vol=5705.0,
        )
        for index in range(55)
    ]


def _option_trades() -> list[OptionTrade]:
    """400 SPX and SPY option trades through the day, as the UW streamer stores them."""
    start = OPEN - timedelta(hours=2)
    trades = []
    for index in range(400):
        at = start + timedelta(seconds=90 * index)
        payload = {
            **OPTION_TRADE,
            "id": f"t{index}",
            "underlying_symbol": "SPX" if index % 2 else "SPY",
            "option_symbol": ("SPX" if index % 2 else "SPY") + "240920C00025000",
            "premium": f"{(index * 7919) % 300_000}.00",
            "tags": ["ask_side" if index % 3 else "bid_side"],
            "executed_at": int(at.timestamp() * 1000),
        }
        trades.append(option_trade_parse(dumps(payload), ts_recv=int(at.timestamp() * 1e9)))
    return trades


def _rules() -> list[AlertRule]:
    specs = [
        {
            "name": "ES buyers in the regular session",
            "source": "md_trades",
            "conditions": [{"kind": "ticker_in", "tickers": ["ESZ24"]}, {"kind": "side", "side": "ask"}],
            "session": "regular",
            "cooldown_seconds": 900,
        },
        {
            "name": "ES crosses zero gamma",
            "source": "md_trades",
            "conditions": [{"kind": "gex_cross", "level": "zero_gamma", "gex_ticker": "ESZ24"}],
            "cooldown_seconds": 120,
        },
        {
            "name": "zero gamma moved",
            "source": "gex_snapshots",
            "conditions": [{"kind": "gex_level_change", "level": "zero_gamma", "min_change": 1.5}],
        },
        {
            "name": "SPX calls bought over $200k",
            "source": "uw_option_trades",
            "conditions": [
                {"kind": "ticker_in", "tickers": ["SPX"]},
                {"kind": "side", "side": "ask"},
                {"kind": "premium_at_least", "min": "200000"},
            ],
            "session": "regular",
            "dedup_seconds": 600,
        },
        {
            "name": "ES 1-minute bars above the call wall",
            "source": "md_bars",
            "conditions": [{"kind": "gex_cross", "level": "major_pos_vol", "direction": "up", "gex_ticker": "ESZ24"}],
        },
    ]
    return [rule_save(data=spec) for spec in specs]


def test_backtest_of_wednesday_2024_09_18_matches_the_live_engine(settings: Settings, tmp_path: Path) -> None:
    settings.LAKE_DIR = tmp_path / "lake"
    client = get_redis()
    rules = _rules()
    # The day is older than the engine: read the streams from their start.
    client.set(keys.ALERTS_ENGINE_SINCE, "0")
    for snapshot in _snapshots():
        snapshot_record(snapshot=snapshot)
    write(_trades())
    for start in range(0, 400, 50):
        uw_events_write(client=client, events=_option_trades()[start : start + 50])

    engine = AlertEngine(client=client, batch=7)
    engine.refresh_rules(force=True)
    engine.discover(force=True)
    while engine.step():
        pass
    live = {rule.name: sorted(AlertEvent.objects.filter(rule=rule).values_list("stream", "position")) for rule in rules}
    assert all(live.values()), live  # every rule fired on the day

    streams_flush(client=client, lake=settings.LAKE_DIR)
    for key in client.scan_iter(match="md:*"):
        client.delete(key)
    for pattern in ("gex:*", "uw:*"):
        for key in client.scan_iter(match=pattern):
            client.delete(key)

    for rule in rules:
        report = backtest_run(rule=rule, start=DAY, end=DAY, lake=settings.LAKE_DIR)
        assert sorted((match["stream"], match["position"]) for match in report.first) == live[rule.name][:100]
        assert report.matches == len(live[rule.name])
        assert report.per_day == {DAY.isoformat(): len(live[rule.name])}


def test_the_command_prints_the_days_and_writes_the_csv(settings: Settings, tmp_path: Path) -> None:
    settings.LAKE_DIR = tmp_path / "lake"
    rule = _rules()[0]
    write(_trades())
    streams_flush(client=get_redis(), lake=settings.LAKE_DIR)
    out = tmp_path / "matches.csv"
    call_command("alerts_backtest", rule.name, "--from", "2024-09-18", "--to", "2024-09-18", "--csv", str(out))
    lines = out.read_text().splitlines()
    assert lines[0] == "day,event_time,symbol,position,key,input"
    # 13:30 to 20:00 UTC with a 15-minute cooldown: one per quarter hour of the regular session.
    assert len(lines) - 1 == 26
    assert all(line.startswith("2024-09-18,") for line in lines[1:])


def _read_through(client: Any, stream: str) -> bool:
    """The engine's group on `stream` has read every entry and acknowledged them all."""
    groups = [group for group in client.xinfo_groups(stream) if group["name"] == keys.ALERTS_GROUP.encode()]
    return bool(groups) and groups[0]["lag"] == 0 and groups[0]["pending"] == 0


def _matched(rows: list[dict[str, object]]) -> list[tuple[object, ...]]:
    return sorted((row["symbol"], row["ts_event"], row.get("price"), row.get("size"), row.get("side")) for row in rows)


def test_backtest_of_wednesday_2024_09_18_matches_the_engine_on_that_days_replay(
    settings: Settings, tmp_path: Path, processes: ProcessGroup, process_env: dict[str, str]
) -> None:
    """The day goes to the lake; `run_streamer replay --date 2024-09-18` replays it into a
    sandbox; `run_alerts --replay` evaluates the sandbox (recording, sending nothing); the backtest
    of the lake day finds the same trades and bars."""
    settings.LAKE_DIR = tmp_path / "lake"
    client = get_redis()
    rules = [rule for rule in _rules() if rule.source in ("md_trades", "md_bars")]
    for snapshot in _snapshots():
        snapshot_record(snapshot=snapshot)
    write(_trades())
    streams_flush(client=client, lake=settings.LAKE_DIR)
    for pattern in ("md:*", "gex:*"):
        for key in client.scan_iter(match=pattern):
            client.delete(key)

    env = {**process_env, "LAKE_DIR": str(settings.LAKE_DIR)}
    replay = processes.start(
        "replay",
        [
            sys.executable,
            "manage.py",
            "run_streamer",
            "replay",
            "--date",
            "2024-09-18",
            "--replay-id",
            "alerts-parity",
            "--speed",
            "0",
            "--metrics-port",
            "0",
            "--keep",
        ],
        env,
    )
    assert replay.wait(timeout=180) == 0, processes.log("replay")
    assert client.exists("replay:{alerts-parity}:md:trades:ESZ24"), processes.log("replay")

    engine = processes.start("engine", [sys.executable, "manage.py", "run_alerts", "--replay", "alerts-parity"], env)
    stream = "replay:{alerts-parity}:md:trades:ESZ24"
    deadline = time.monotonic() + 120
    while not _read_through(client, stream):
        assert time.monotonic() < deadline, processes.log("engine")
        assert engine.poll() is None, processes.log("engine")
        time.sleep(0.2)
    engine.terminate()
    engine.wait(timeout=30)

    assert not AlertDelivery.objects.exists()  # a replay's alerts go nowhere
    for rule in rules:
        replayed = [event.input for event in AlertEvent.objects.filter(rule=rule)]
        assert replayed, rule.name
        assert all(event.stream.startswith("replay:{alerts-parity}") for event in AlertEvent.objects.filter(rule=rule))
        report = backtest_run(rule=rule, start=DAY, end=DAY, lake=settings.LAKE_DIR)
        assert report.matches == len(replayed), rule.name
        assert _matched([match["input"] for match in report.first]) == _matched(replayed)[:100], rule.name
