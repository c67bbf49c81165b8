"""`run_streamer tastytrade`: its options, its config, its client."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from streamers.feed import FeedClient
from streamers.tastytrade.config import TRADES_FROM, TastytradeConfig
from streamers.venue import Venue


def add_arguments(parser: ArgumentParser) -> None:
    parser.add_argument(
        "--api-url", help="REST root of the tastytrade API (default TASTYTRADE_API_URL, e.g. a local fake)"
    )
    parser.add_argument("--no-depth", action="store_true", help="do not subscribe to Order events (depth of book)")
    parser.add_argument(
        "--trades-from",
        choices=TRADES_FROM,
        default=TastytradeConfig.trades_from,
        help="DXLink event the trades come from: every print (TimeAndSale) or the conflated last sale (Trade)",
    )
    parser.add_argument(
        "--subscription-chunk",
        type=int,
        default=TastytradeConfig.subscription_chunk,
        help="symbols per FEED_SUBSCRIPTION message (the server closes on an over-long one)",
    )
    parser.add_argument("--keepalive-interval", type=float, default=TastytradeConfig.keepalive_interval)
    parser.add_argument(
        "--server-keepalive",
        type=int,
        default=TastytradeConfig.server_keepalive,
        help="seconds the server may stay silent (SETUP acceptKeepaliveTimeout); keep it under the heartbeat timeout",
    )


def config_from_options(options: dict[str, Any]) -> TastytradeConfig:
    from django.conf import settings

    env = settings.ENV
    return TastytradeConfig(
        api_url=options.get("api_url") or env.TASTYTRADE_API_URL,
        client_secret=env.TASTYTRADE_CLIENT_SECRET.get_secret_value(),
        refresh_token=env.TASTYTRADE_REFRESH_TOKEN.get_secret_value(),
        depth=not options.get("no_depth", False),
        trades_from=options.get("trades_from") or TastytradeConfig.trades_from,
        subscription_chunk=options.get("subscription_chunk") or TastytradeConfig.subscription_chunk,
        keepalive_interval=options.get("keepalive_interval") or TastytradeConfig.keepalive_interval,
        server_keepalive=options.get("server_keepalive") or TastytradeConfig.server_keepalive,
    )


def client(config: TastytradeConfig) -> FeedClient[Any]:
    from streamers.tastytrade.client import TastytradeClient
    from streamers.tastytrade.token_store import BrokerTokenSessionStore

    BrokerTokenSessionStore.check_key()
    return TastytradeClient(config, store=BrokerTokenSessionStore())


def _enabled() -> bool:
    from django.conf import settings

    return bool(settings.ENV.TASTYTRADE_ENABLED)


VENUE = Venue(
    name="tastytrade",
    help="tastytrade's DXLink feed: time and sales, quotes, summaries, greeks and depth (TASTYTRADE_* credentials)",
    metrics_port=9104,
    symbols_setting="brokers.tastytrade_symbols",
    config=TastytradeConfig,
    add_arguments=add_arguments,
    config_from_options=config_from_options,
    client=client,
    needs=(
        "TASTYTRADE_ENABLED=true, TASTYTRADE_CLIENT_SECRET, TASTYTRADE_REFRESH_TOKEN and BROKER_TOKEN_KEY; "
        "depth needs an account entitled to DXLink Order events"
    ),
    configured=_enabled,
)
