"""The UW sink and how the streamer is started: UW events to their streams, and UW's per-strike GEX rows assembled into one GEX
snapshot per timestamp (recorded once a later timestamp arrives, or when the streamer stops);
`run_streamer uw` refused while UW is off, and started by the run command once it is on."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from apps.core import keys
from apps.core.platform import platform_processes
from apps.core.redis import get_redis
from apps.gex.snapshots import snapshot_decode
from pipeline_project.env import PipelineEnv
from streamers.uw.framing import parse
from streamers.uw.sink import UWSink
from tests.fakes.uw import option_trade


def strike_row(at_ms: int, strike: str) -> bytes:
    payload = {"ticker": "SPX", "timestamp": at_ms, "strike": strike, "price": "5912.4",
               "call_gamma_oi": "10", "put_gamma_oi": "-3", "call_gamma_vol": "1", "put_gamma_vol": "0"}  # fmt: skip
    return orjson.dumps(["gex_strike:SPX", payload])


def test_strike_rows_of_one_timestamp_become_one_snapshot() -> None:
    first, second = 1_796_000_000_000, 1_796_000_010_000
    messages = [
        *parse(strike_row(first, "5900"), ts_recv=0),
        *parse(strike_row(first, "5950"), ts_recv=0),
        *parse(orjson.dumps(["option_trades", option_trade(n=1)]), ts_recv=0),
        *parse(strike_row(second, "5900"), ts_recv=0),
    ]

    async def scenario() -> tuple[int, int]:
        sink = UWSink(redis_url=settings.REDIS_URL)
        result = await sink.write(messages)
        held = get_redis().xlen(keys.gex_snapshots("SPX"))
        await sink.close()
        return result.events, held

    events, before_close = asyncio.run(scenario())
    assert events == 2  # the trade and the first snapshot
    assert before_close == 1
    snapshots = [snapshot_decode(fields[b"d"]) for _, fields in get_redis().xrange(keys.gex_snapshots("SPX"))]
    assert [(s.timestamp, len(s.strikes), s.category) for s in snapshots] == [
        (first // 1000, 2, "uw_strike"),
        (second // 1000, 1, "uw_strike"),
    ]
    assert get_redis().xlen(keys.UW_OPTION_TRADES) == 1


def test_run_streamer_uw_refuses_to_start_while_uw_is_switched_off() -> None:
    assert not settings.ENV.UW_ENABLED
    with pytest.raises(CommandError, match="UW_ENABLED is false: set UW_ENABLED=true and UW_API_TOKEN"):
        call_command("run_streamer", "uw")


def test_the_run_command_starts_the_uw_streamer_once_uw_is_switched_on() -> None:
    def names(**values: str) -> list[str]:
        env = PipelineEnv(**values)  # type: ignore[arg-type]
        return [spec.name for spec in platform_processes(env=env, web_port=8000, flower_port=5555)]

    assert "uw" not in names()
    assert names(UW_ENABLED="true", UW_API_TOKEN="t")[-1] == "uw"


@pytest.mark.parametrize("channel", ["trades", "price:spy", "flow_alerts"])
def test_run_streamer_uw_refuses_a_channel_uw_does_not_have(channel: str, settings: object) -> None:
    env = PipelineEnv(UW_ENABLED="true", UW_API_TOKEN="t")  # type: ignore[arg-type]
    settings.ENV = env  # type: ignore[attr-defined]
    with pytest.raises(CommandError, match=f"--symbols: '{channel}' is not a UW channel"):
        call_command("run_streamer", "uw", "--symbols", f"news,{channel}")
