"""Replaying a stored day of the lake: the reader gives back what the hot store wrote (depth as
snapshots and updates again), and the replay streamer writes it to Redis once more."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from apps.core.redis import get_redis
from apps.marketdata.events import DepthSnapshot, DepthUpdate, Event, Level, Quote, Side, Trade
from apps.marketdata.selectors import book_at, quote_latest, trades_last
from apps.storage.flush import streams_flush
from apps.storage.replay import LakeDayReader, lake_day_counts, lake_days
from streamers.config import RunnerConfig
from streamers.replay.client import ReplayClient
from streamers.replay.sandbox import ReplaySandbox
from streamers.runner import StreamerRunner
from tests.factories import write

DAY = date(2026, 11, 20)
T0 = int(datetime(2026, 11, 20, 15, 0, tzinfo=UTC).timestamp()) * 1_000_000_000
MS = 1_000_000


def day_of_events() -> list[list[Event]]:
    """Three write batches of two symbols: trades, quotes, a book snapshot with updates, and a
    second snapshot followed by a late update."""
    es_book = DepthSnapshot(
        "ESZ26", T0, T0, (Level(6000.0, 5), Level(5999.75, 7)), (Level(6000.25, 4), Level(6000.5, 9)), "test"
    )
    return [
        [
            es_book,
            Trade("ESZ26", T0 + 1 * MS, T0 + 2 * MS, 6000.25, 2, Side.BUY, "test", 1),
            Quote("ESZ26", T0 + 1 * MS, T0 + 1 * MS, 6000.0, 5, 6000.25, 2, "test"),
            Trade("NQZ26", T0 + 1 * MS, T0 + 1 * MS, 21000.0, 1, Side.SELL, "test", 1),
            DepthUpdate("ESZ26", T0 + 3 * MS, T0 + 3 * MS, Side.SELL, 6000.25, 0, "test"),
        ],
        [
            Trade("ESZ26", T0 + 5 * MS, T0 + 5 * MS, 6000.5, 3, Side.BUY, "test", 2),
            DepthUpdate("ESZ26", T0 + 5 * MS, T0 + 5 * MS, Side.BUY, 6000.25, 6, "test"),
            Quote("NQZ26", T0 + 6 * MS, T0 + 6 * MS, 20999.75, 3, 21000.0, 1, "test"),
        ],
        [
            DepthSnapshot("ESZ26", T0 + 9 * MS, T0 + 9 * MS, (Level(6000.5, 1),), (Level(6000.75, 2),), "test"),
            Trade("ESZ26", T0 + 9 * MS, T0 + 10 * MS, 6000.75, 1, Side.BUY, "test", 3),
            # Late: exchange time before the snapshot the feed sent first. The book applied it
            # after the snapshot, and so must a replay.
            DepthUpdate("ESZ26", T0 + 8 * MS, T0 + 10 * MS, Side.SELL, 6001.0, 3, "test"),
        ],
    ]


def stored_day(lake: Path) -> list[Event]:
    batches = day_of_events()
    write(batches)
    streams_flush(client=get_redis(), lake=lake)
    return [event for batch in batches for event in batch]


def by_stream(events: list[Event]) -> dict[tuple[str, str], list[Event]]:
    streams: dict[tuple[str, str], list[Event]] = {}
    for event in events:
        kind = "depth" if isinstance(event, DepthSnapshot | DepthUpdate) else type(event).__name__
        streams.setdefault((kind, event.symbol), []).append(event)
    return streams


def test_the_reader_gives_back_every_stored_event_in_stream_order(tmp_path: Path) -> None:
    written = stored_day(tmp_path)
    read = [event for chunk in LakeDayReader(day=DAY, lake=tmp_path, rows_per_chunk=3).chunks() for event in chunk]

    # Depth has no receive time in the lake: it comes back as the exchange time.
    expected = [
        event.__class__(**{**{f: getattr(event, f) for f in event.__struct_fields__}, "ts_recv": event.ts_event})
        if isinstance(event, DepthSnapshot | DepthUpdate)
        else event
        for event in written
    ]
    assert by_stream(read) == by_stream(expected), "every stream's events, in stream order"
    times = [event.ts_event for event in read if event.ts_event != T0 + 8 * MS]
    assert times == sorted(times), "streams merged by time"
    assert [type(event).__name__ for event in read[-2:]] == ["DepthSnapshot", "DepthUpdate"]


def test_the_reader_keeps_to_the_symbols_asked_for(tmp_path: Path) -> None:
    stored_day(tmp_path)
    read = [event for chunk in LakeDayReader(day=DAY, symbols=["NQZ26"], lake=tmp_path).chunks() for event in chunk]
    assert [(type(event).__name__, event.symbol) for event in read] == [("Trade", "NQZ26"), ("Quote", "NQZ26")]
    assert lake_day_counts(day=DAY, symbols=["NQZ26"], lake=tmp_path) == {"tick_data": 1, "quote_data": 1}
    assert lake_day_counts(day=DAY, symbols=["CLF27"], lake=tmp_path) == {}
    assert lake_days(lake=tmp_path) == [DAY]


@pytest.mark.django_db(transaction=True)
def test_the_replay_streamer_writes_a_lake_day_back_to_redis(tmp_path: Path) -> None:
    written = stored_day(tmp_path)
    client = get_redis()
    client.delete(*client.keys("md:*"))

    sandbox = ReplaySandbox(redis_url=settings.REDIS_URL, replay_id="day", expire_seconds=None, start_paused=False)
    runner = StreamerRunner(
        ReplayClient(day=DAY, lake=tmp_path, speed=0, sandbox=sandbox),
        RunnerConfig(name="replay", fixed_symbols=("ESZ26", "NQZ26"), status_interval=0.2),
        redis_url=settings.REDIS_URL,
        keyspace=sandbox.keyspace,
    )
    asyncio.run(runner.run())

    assert runner.events_written == len(written)
    # Into the replay's sandbox, as stored: exchange times and feeds.
    replayed = [(t.trade.ts_event, t.trade.price, t.trade.size, t.trade.side, t.trade.seq, t.trade.feed)
                for t in trades_last(symbol="ESZ26", count=10, keyspace=sandbox.keyspace)]  # fmt: skip
    assert replayed == [
        (event.ts_event, event.price, event.size, event.side, event.seq, event.feed)
        for event in written
        if isinstance(event, Trade) and event.symbol == "ESZ26"
    ]
    assert client.keys("md:*") == [], "nothing live"
    quote = quote_latest(symbol="NQZ26", keyspace=sandbox.keyspace)
    assert quote is not None
    assert (quote.bid_price, quote.ask_price) == (20999.75, 21000.0)
    # The book between the two snapshots, rebuilt from what the replay wrote.
    at = datetime.fromtimestamp((T0 + 6 * MS) / 1e9, tz=UTC)
    book = book_at(symbol="ESZ26", at=at, feed="test", keyspace=sandbox.keyspace)
    assert book is not None
    assert sorted(book.bids.items(), reverse=True) == [(6000.25, 6), (6000.0, 5), (5999.75, 7)]
    assert sorted(book.asks.items()) == [(6000.5, 9)]


@pytest.mark.django_db
def test_a_day_without_data_is_refused_naming_the_days_that_have_some(settings: object, tmp_path: Path) -> None:
    settings.LAKE_DIR = tmp_path  # type: ignore[attr-defined]
    stored_day(tmp_path)
    with pytest.raises(CommandError, match=r"nothing stored in the lake .* on 2026-11-19.*days with data.*2026-11-20"):
        call_command("run_streamer", "replay", "--date", "2026-11-19")
    with pytest.raises(CommandError, match=r"nothing stored .* on 2026-11-20 for CLF27"):
        call_command("run_streamer", "replay", "--date", "2026-11-20", "--symbols", "CLF27")
    with pytest.raises(CommandError, match=r"--date '20-11-2026' is not a date"):
        call_command("run_streamer", "replay", "--date", "20-11-2026")
    with pytest.raises(CommandError, match=r"one source: --file PATH or --date YYYY-MM-DD, not both"):
        call_command("run_streamer", "replay", "--date", "2026-11-20", "--file", str(tmp_path / "x.jsonl"))


@pytest.mark.django_db(transaction=True)
def test_a_pause_in_the_replayed_day_longer_than_the_watchdog_loses_nothing_and_records_no_gap(
    tmp_path: Path,
) -> None:
    """A quiet stretch (a maintenance break, a slow night) replayed in real time: the replay
    keeps the watchdog quiet while it waits, and no frame read before the wait is dropped."""
    from apps.core.services import runtime_setting_update
    from apps.marketdata.selectors import gaps_list

    runtime_setting_update(key="marketdata.heartbeat_timeout_seconds", value=0.5)
    pause = 2 * 1_000_000_000
    batches: list[list[Event]] = [
        [Trade("ESZ26", T0 + i * MS, T0 + i * MS, 6000.0, 1, Side.BUY, "test", i) for i in range(600)],
        [Trade("ESZ26", T0 + pause + i * MS, T0 + pause + i * MS, 6000.25, 1, Side.SELL, "test", 600 + i)
         for i in range(600)],
    ]  # fmt: skip
    write(batches)
    streams_flush(client=get_redis(), lake=tmp_path)
    client = get_redis()
    client.delete(*client.keys("md:*"))

    sandbox = ReplaySandbox(redis_url=settings.REDIS_URL, replay_id="quiet", expire_seconds=None, start_paused=False)
    runner = StreamerRunner(
        ReplayClient(day=DAY, lake=tmp_path, speed=1, sandbox=sandbox),
        RunnerConfig(name="replay", fixed_symbols=("ESZ26",), status_interval=0.2),
        redis_url=settings.REDIS_URL,
        keyspace=sandbox.keyspace,
    )
    asyncio.run(runner.run())

    assert runner.events_written == 1200
    replayed = trades_last(symbol="ESZ26", count=2000, keyspace=sandbox.keyspace)
    assert sorted(t.trade.seq for t in replayed) == list(range(1200))
    assert (runner.reconnects, runner.gaps) == (0, 0)
    assert not get_redis().exists(sandbox.keyspace.gaps)
    assert gaps_list(feed="replay") == []
