"""`run_streamer schwab`: its options, its config, its client."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from streamers.config import StreamerConfigError
from streamers.feed import FeedClient
from streamers.schwab.config import SchwabConfig
from streamers.venue import Venue


def add_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("--api-url", help="Schwab API root (default: SCHWAB_API_URL)")
    parser.add_argument(
        "--account", default=SchwabConfig.account, help="which stored login to use (schwab_login --account)"
    )
    parser.add_argument(
        "--equity-book",
        default=SchwabConfig.equity_book,
        choices=["NASDAQ_BOOK", "NYSE_BOOK", "none"],
        help="the book equities take their depth from (Schwab has no futures depth)",
    )


def config_from_options(options: dict[str, Any]) -> SchwabConfig:
    from django.conf import settings

    env = settings.ENV
    if not env.SCHWAB_ENABLED:
        raise StreamerConfigError(
            "SCHWAB_ENABLED is off: set SCHWAB_ENABLED=true with SCHWAB_APP_KEY, SCHWAB_APP_SECRET and"
            " BROKER_TOKEN_KEY, then log in once with: python manage.py schwab_login"
        )
    return SchwabConfig(
        api_url=options.get("api_url") or env.SCHWAB_API_URL,
        app_key=env.SCHWAB_APP_KEY.get_secret_value(),
        app_secret=env.SCHWAB_APP_SECRET.get_secret_value(),
        account=options["account"],
        equity_book=options["equity_book"],
    )


def client(config: SchwabConfig) -> FeedClient[Any]:
    from django.conf import settings

    from streamers.schwab.client import SchwabClient

    return SchwabClient(config=config, redis_url=settings.REDIS_URL)


VENUE = Venue(
    name="schwab",
    help="Schwab Trader API streamer: futures and equity level one (trades derived), books, minute bars",
    metrics_port=9103,
    config=SchwabConfig,
    add_arguments=add_arguments,
    config_from_options=config_from_options,
    client=client,
    symbols_setting="brokers.schwab_symbols",
)
