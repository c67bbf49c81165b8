"""Replays for tests: a recorded stretch of 20 November 2026 written as the simulator's
`--record` writes it, and the real replay streamer (runner, client, sandbox) run over it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

from apps.marketdata.events import Event, Side, encode_json
from streamers.config import RunnerConfig
from streamers.replay.client import ReplayClient
from streamers.replay.progress import ReplayProgressView
from streamers.replay.sandbox import ReplaySandbox
from streamers.runner import StreamerRunner
from tests.factories import depth_snapshot, depth_update, quote, trade

# Friday 20 November 2026, 09:30 New York: the recorded day the replays replay.
DAY = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)
REPLAY_FEED = "simulator"


def day_events(count: int = 600, *, base: datetime = DAY, symbol: str = "ESZ26") -> list[Event]:
    """`count` trades a millisecond apart from `base`, each after a quote, with a book snapshot
    first and a depth update every tenth trade: a recorded session as the simulator writes it."""
    events: list[Event] = [depth_snapshot(0, symbol=symbol, feed=REPLAY_FEED, base=base)]
    for i in range(count):
        at = 0.001 * (i + 1)
        price = 5990.0 + (i % 12) * 0.25
        events.append(quote(at, price - 0.25, price, symbol=symbol, feed=REPLAY_FEED, base=base))
        events.append(
            trade(at, price, size=1 + i % 3, seq=i, side=Side(1 + i % 2), symbol=symbol, feed=REPLAY_FEED, base=base)
        )
        if i % 10 == 0:
            events.append(
                depth_update(at, Side.BUY, price - 0.5, 5 + i % 4, symbol=symbol, feed=REPLAY_FEED, base=base)
            )
    return events


def events_file(path: Path, events: Sequence[Event]) -> Path:
    path.write_bytes(b"".join(encode_json(event) + b"\n" for event in events))
    return path


def replay_runner(
    path: Path,
    *,
    replay_id: str,
    speed: float = 0.0,
    start_paused: bool = False,
    expire_seconds: int | None = 3600,
    view: ReplayProgressView | None = None,
) -> StreamerRunner:
    """The replay streamer as `run_streamer replay --file PATH --replay-id ID` builds it."""
    sandbox = ReplaySandbox(
        redis_url=settings.REDIS_URL, replay_id=replay_id, expire_seconds=expire_seconds, start_paused=start_paused
    )
    client = ReplayClient(path=path, speed=speed, sandbox=sandbox, view=view)
    config = RunnerConfig(name="replay", fixed_symbols=("ESZ26",), status_interval=0.1, backoff_initial=0.05)
    return StreamerRunner(
        client, config, redis_url=settings.REDIS_URL, keyspace=sandbox.keyspace, expire_seconds=expire_seconds
    )


def run_replay(path: Path, *, replay_id: str, **options: object) -> StreamerRunner:
    """Replay `path` to its end into sandbox `replay_id` (as fast as possible by default)."""
    runner = replay_runner(path, replay_id=replay_id, **options)  # type: ignore[arg-type]
    asyncio.run(runner.run())
    return runner
