"""The replay streamer writes into a sandbox of its own: the recorded events with their original
exchange times and feeds, its status and progress beside them, nothing in the live keys; it
starts paused, pauses and resumes on request, and its sandbox expires (or is kept) as asked."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from redis.crc import key_slot

from apps.core import keys
from apps.core.codec import text
from apps.core.redis import get_redis
from apps.marketdata.events import Trade
from apps.marketdata.replays import replay_get
from apps.marketdata.selectors import quote_latest, streamer_status, trades_last
from apps.marketdata.services.replays import replay_delete, replay_pause_set
from streamers.replay.progress import ReplayProgress, ReplayProgressView
from tests.factories import ns, trade
from tests.replays import DAY, day_events, events_file, replay_runner, run_replay

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.calendar]


async def until(condition: Callable[[], bool], within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def all_keys() -> set[str]:
    return {text(key) for key in get_redis().keys("*")}


def test_a_replay_of_20_november_writes_its_sandbox_with_the_original_times_and_nothing_live(
    tmp_path: Path,
) -> None:
    """Friday 20 November 2026 replayed as fast as possible (speed 0): the sandbox holds every
    trade as recorded (exchange time, price, feed), the last quote, the replay's status and state;
    not one live key exists."""
    events = day_events(600)
    run_replay(events_file(tmp_path / "day.jsonl", events), replay_id="nov20-es")

    sandbox = keys.KeySpace.replay("nov20-es")
    recorded = [event for event in events if isinstance(event, Trade)]
    replayed = [item.trade for item in trades_last(symbol="ESZ26", count=10_000, keyspace=sandbox)]
    assert [(t.ts_event, t.price, t.size, t.feed, t.seq) for t in replayed] == [
        (t.ts_event, t.price, t.size, t.feed, t.seq) for t in recorded
    ]
    assert replayed[0].ts_event == ns(0.001, base=DAY), "20 November stays 20 November"
    quote = quote_latest(symbol="ESZ26", keyspace=sandbox)
    assert quote is not None
    assert quote.ts_event == recorded[-1].ts_event

    state = replay_get(replay_id="nov20-es")
    assert state is not None
    assert (state.state, state.done, state.speed) == ("finished", len(events), 0.0)
    assert state.clock_ms == recorded[-1].ts_event // 1_000_000
    assert streamer_status(name="replay", keyspace=sandbox)["state"] == "stopped"

    present = all_keys()
    assert present, "the replay wrote something"
    assert all(key.startswith("replay:{nov20-es}") for key in present), sorted(present)
    assert trades_last(symbol="ESZ26") == [], "the live stream does not exist"
    # One hash tag for the whole sandbox: one Cluster slot, deleted with one SCAN.
    assert len({key_slot(key.encode()) for key in present}) == 1
    # Every key of the sandbox expires (an hour after its last write, as asked).
    ttls = {key: get_redis().ttl(key) for key in present}
    assert all(0 < ttl <= 3600 for ttl in ttls.values()), ttls


def test_keep_leaves_the_sandbox_until_it_is_deleted(tmp_path: Path) -> None:
    run_replay(events_file(tmp_path / "day.jsonl", day_events(50)), replay_id="kept", expire_seconds=None)
    present = all_keys()
    assert present
    assert all(get_redis().ttl(key) == -1 for key in present), "--keep: no key expires"
    state = replay_get(replay_id="kept")
    assert state is not None
    assert state.ttl_seconds is None

    # A live key beside it survives the delete.
    get_redis().set("md:untouched", "1")
    assert replay_delete(replay_id="kept") == len(present)
    assert all_keys() == {"md:untouched"}
    assert replay_get(replay_id="kept") is None


def test_a_replay_started_paused_writes_nothing_until_resumed(tmp_path: Path) -> None:
    events = day_events(100)
    runner = replay_runner(events_file(tmp_path / "day.jsonl", events), replay_id="paused", start_paused=True)
    sandbox = keys.KeySpace.replay("paused")

    async def scenario() -> None:
        task = asyncio.create_task(runner.run())
        try:
            await until(lambda: (state := replay_get(replay_id="paused")) is not None and state.state == "paused")
            # Several turns of the paused feed (each an empty frame): still nothing written.
            await until(lambda: runner.messages >= 8)
            assert runner.events_written == 0
            assert not get_redis().exists(sandbox.trades("ESZ26"))
            await asyncio.to_thread(replay_pause_set, replay_id="paused", paused=False)
            await asyncio.wait_for(task, timeout=60)
        finally:
            if not task.done():
                runner.stop()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(scenario())
    assert runner.events_written == len(events)
    state = replay_get(replay_id="paused")
    assert state is not None
    assert (state.state, state.paused) == ("finished", False)


def test_pause_and_resume_a_replay_in_real_time_and_its_eta(tmp_path: Path) -> None:
    """At speed 1, a first frame of 500 trades is sent at once and the next trade is an hour of
    replay time later: the replay waits for it. Paused meanwhile, the state says paused; resumed,
    running; the ETA is the replay time left at that speed (an hour), whatever the wall clock."""
    first = [trade(0.001 * i, 6000.0, seq=i, feed="simulator", base=DAY) for i in range(500)]
    later = trade(0.499 + 3600, 6001.0, seq=500, feed="simulator", base=DAY)
    runner = replay_runner(events_file(tmp_path / "day.jsonl", [*first, later]), replay_id="realtime", speed=1.0)

    def state_is(wanted: str) -> bool:
        state = replay_get(replay_id="realtime")
        return state is not None and state.state == wanted and state.done == len(first)

    async def scenario() -> None:
        task = asyncio.create_task(runner.run())
        try:
            await until(lambda: state_is("running"))
            await asyncio.to_thread(replay_pause_set, replay_id="realtime", paused=True)
            await until(lambda: state_is("paused"))
            await asyncio.to_thread(replay_pause_set, replay_id="realtime", paused=False)
            await until(lambda: state_is("running"))
            state = replay_get(replay_id="realtime")
            assert state is not None
            assert state.eta_seconds == pytest.approx(3600.0)
        finally:
            runner.stop()
            await asyncio.wait_for(task, timeout=30)

    asyncio.run(scenario())
    assert runner.events_written == len(first), "the trade an hour later was never due"
    state = replay_get(replay_id="realtime")
    assert state is not None
    assert state.state == "stopped", "stopped before its end"


@pytest.mark.parametrize("bad", ["", "-a", "A1", "a b", "a}b", "a{b", "a:b", "a*", "x" * 49, "../x"])
def test_a_replay_id_that_cannot_name_a_sandbox_is_refused(bad: str) -> None:
    with pytest.raises(keys.ReplayIdError, match="is not valid: use 1 to 48 lower-case letters"):
        keys.KeySpace.replay(bad)
    with pytest.raises(keys.ReplayIdError):
        keys.replay_state(bad)


def test_progress_in_a_pipe_is_plain_lines_with_the_replay_clock_and_eta() -> None:
    out = io.StringIO()
    view = ReplayProgressView(stream=out, interactive=False)
    first, last = ns(0, base=DAY), ns(3600, base=DAY)
    view.update(ReplayProgress("r1", speed=2.0, done=10, clock_ns=ns(900, base=DAY), first_ns=first, last_ns=last))
    view.update(ReplayProgress("r1", speed=2.0, done=20, clock_ns=last, first_ns=first, last_ns=last, state="finished"))
    lines = out.getvalue().splitlines()
    assert lines[0] == ("replay r1 running: clock 2026-11-20 14:45:00 UTC   25.0%  10 events  speed 2x  ETA 0:22:30"), (
        "a quarter of the hour replayed; three quarters left at twice real time"
    )
    assert lines[-1] == "replay r1 finished: clock 2026-11-20 15:30:00 UTC  100.0%  20 events  speed 2x  ETA 0:00:00"


def test_progress_on_a_terminal_is_a_rich_bar() -> None:
    out = io.StringIO()
    view = ReplayProgressView(stream=out, interactive=True)
    first, last = ns(0, base=DAY), ns(3600, base=DAY)
    view.update(ReplayProgress("r1", speed=0.0, done=5, clock_ns=last, first_ns=first, last_ns=last, state="finished"))
    view.close()
    drawn = out.getvalue()
    assert "replay r1 finished · 2026-11-20 15:30:00 UTC" in drawn
    assert "100%" in drawn
    assert "ETA 0:00:00" in drawn


def test_no_lake_table_can_take_its_streams_from_a_replay_sandbox() -> None:
    """The flush finds its streams by the registered tables' patterns: none may lie in `replay:`."""
    import dataclasses

    from apps.storage.market_tables import TRADES
    from apps.storage.registry import LakeTableError

    with pytest.raises(LakeTableError, match="is in a replay sandbox's namespace"):
        dataclasses.replace(TRADES, name="replayed_ticks", stream="replay:{SYM}:md:trades")
