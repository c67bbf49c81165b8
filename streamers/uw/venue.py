"""`run_streamer uw`: its options, its config, its client and its sink."""

from __future__ import annotations

import re
from argparse import ArgumentParser
from typing import Any, cast

from django.conf import settings

from apps.uw.runtime_settings import CHANNEL_PATTERN
from streamers.config import StreamerConfigError
from streamers.feed import FeedClient
from streamers.sinks import EventSink
from streamers.uw.client import UWClient
from streamers.uw.config import UWConfig
from streamers.uw.sink import UWSink
from streamers.venue import Venue


def add_arguments(parser: ArgumentParser) -> None:
    parser.add_argument(
        "--protocol",
        choices=["uw", "phoenix"],
        default=UWConfig.protocol,
        help="uw: UW's [channel, payload] frames (default); phoenix: Phoenix V2 arrays with a 30 s heartbeat",
    )
    parser.add_argument(
        "--ping-after", type=float, default=UWConfig.ping_after, help="seconds of silence before a WebSocket ping"
    )
    parser.add_argument(
        "--pong-timeout", type=float, default=UWConfig.pong_timeout, help="seconds a pong may take before reconnecting"
    )


def config_from_options(options: dict[str, Any]) -> UWConfig:
    env = settings.ENV
    for channel in (part.strip() for part in (options.get("symbols") or "").split(",") if part.strip()):
        if not re.match(CHANNEL_PATTERN, channel):
            raise StreamerConfigError(
                f"--symbols: {channel!r} is not a UW channel (option_trades[:T], flow-alerts, news, price:T, gex:T, "
                "gex_strike:T)"
            )
    if not env.UW_ENABLED:
        raise StreamerConfigError("UW_ENABLED is false: set UW_ENABLED=true and UW_API_TOKEN to run the UW streamer")
    return UWConfig(
        socket_url=env.UW_SOCKET_URL,
        api_url=env.UW_API_URL,
        token=env.UW_API_TOKEN.get_secret_value(),
        redis_url=settings.REDIS_URL,
        protocol=options.get("protocol") or UWConfig.protocol,
        ping_after=options.get("ping_after") or UWConfig.ping_after,
        pong_timeout=options.get("pong_timeout") or UWConfig.pong_timeout,
    )


def client(config: UWConfig) -> FeedClient[Any]:
    # Its parse yields UW events and GEX snapshots, which its own sink writes, not market-data events.
    return cast(FeedClient[Any], UWClient(config))


def sink(config: UWConfig, redis_url: str) -> EventSink:
    return cast(EventSink, UWSink(redis_url=redis_url))


VENUE = Venue(
    name="uw",
    help="Unusual Whales: option trades, flow alerts, prices, news and GEX from UW's socket (channels: uw.channels)",
    metrics_port=9105,
    config=UWConfig,
    add_arguments=add_arguments,
    config_from_options=config_from_options,
    client=client,
    sink=sink,
    subscription_setting="uw.channels",
)
