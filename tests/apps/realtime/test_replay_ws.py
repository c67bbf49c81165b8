"""`/ws/*?replay=<id>`: a replay's streams, with their original times, beside the live ones on the
same server; a live socket never sees them, nor a replay socket the live events. A bad id closes
the socket with 4422, an unknown one with 4404, each with the reason."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from websockets.exceptions import ConnectionClosed

from apps.core import keys
from apps.core.redis import get_async_redis
from apps.marketdata.events import Trade
from apps.marketdata.services.streams import HotStoreWriter
from tests.apps.realtime.support import SYMBOL, Writer, collect_events, open_ws, recv_json, subscribe, trades
from tests.factories import trade
from tests.replays import DAY, day_events, events_file, run_replay

pytestmark = [pytest.mark.calendar]


@pytest.fixture
def replayed(tmp_path: Path, ws_server: Any) -> list[Trade]:
    """Friday 20 November 2026 replayed into sandbox `nov20`."""
    events = day_events(200)
    run_replay(events_file(tmp_path / "day.jsonl", events), replay_id="nov20")
    return [event for event in events if isinstance(event, Trade)]


def test_a_replay_socket_gets_the_replay_with_its_times_and_a_live_socket_the_live_feed(
    ws_server: Any, session_cookie: str, replayed: list[Trade]
) -> None:
    async def scenario() -> None:
        replay_ws = await open_ws(ws_server.url("/ws/trades?replay=nov20"), cookie=session_cookie)
        live_ws = await open_ws(ws_server.url("/ws/trades"), cookie=session_cookie)
        live_writer = Writer()
        sandbox_client = get_async_redis(settings.REDIS_URL)
        try:
            # From before the replayed day's first trade: everything the sandbox holds, then live.
            reply = await subscribe(replay_ws, [SYMBOL], since={SYMBOL: f"{replayed[0].ts_event // 1_000_000 - 1}-0"})
            assert reply["type"] == "subscribed", reply
            history = await collect_events(replay_ws, count=len(replayed))
            assert [(event["ts_event"], event["price"], event["feed"]) for event in history] == [
                (t.ts_event, t.price, t.feed) for t in replayed
            ]
            assert (await subscribe(live_ws, [SYMBOL]))["type"] == "subscribed"

            # A live trade goes to the live socket only; the next event the replay socket gets is
            # the one written into the sandbox after it.
            await live_writer.write(trades(1, price=6100.0))
            live_event = (await collect_events(live_ws, count=1))[0]
            assert live_event["price"] == 6100.0
            sandbox = HotStoreWriter(sandbox_client, feed="replay", keyspace=keys.KeySpace.replay("nov20"))
            later = trade(1.0, 5995.0, seq=999, feed="simulator", base=DAY)
            assert not (await sandbox.write([later])).rejected
            after = (await collect_events(replay_ws, count=1))[0]
            assert (after["ts_event"], after["price"]) == (later.ts_event, 5995.0)
        finally:
            await replay_ws.close()
            await live_ws.close()
            await live_writer.close()
            await sandbox_client.aclose()

    asyncio.run(scenario())


async def _closed_with(url: str, cookie: str) -> tuple[int, str]:
    ws = await open_ws(url, cookie=cookie)
    with pytest.raises(ConnectionClosed) as closed:
        await recv_json(ws)
    received = closed.value.rcvd
    assert received is not None
    return received.code, received.reason


def test_a_bad_or_unknown_replay_id_closes_the_socket_with_the_reason(
    ws_server: Any, session_cookie: str, replayed: list[Trade]
) -> None:
    code, reason = asyncio.run(_closed_with(ws_server.url("/ws/trades?replay=Bad%7Did"), session_cookie))
    assert (code, reason) == (4422, "replay: 'Bad}id' is not a replay id")
    code, reason = asyncio.run(_closed_with(ws_server.url("/ws/depth?replay=nov21"), session_cookie))
    assert (code, reason) == (4404, "no replay 'nov21': it never ran, expired or was deleted")
