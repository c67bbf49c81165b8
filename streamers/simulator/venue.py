"""`run_streamer simulator`: its options, its config, its client."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from streamers.feed import FeedClient
from streamers.simulator.config import SimulatorConfig
from streamers.venue import Venue


def add_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("--rate", type=float, default=SimulatorConfig.rate, help="mean trades per second per symbol")
    parser.add_argument("--seed", type=int, default=SimulatorConfig.seed)
    parser.add_argument("--url", help="read from a simulator server (ws://...) instead of in-process")
    parser.add_argument(
        "--always-open",
        action="store_true",
        help="trade around the clock instead of following Globex hours (quiet overnight, closed weekends)",
    )


def config_from_options(options: dict[str, Any]) -> SimulatorConfig:
    return SimulatorConfig(
        rate=options["rate"], seed=options["seed"], url=options.get("url"), always_open=options["always_open"]
    )


def client(config: SimulatorConfig) -> FeedClient[Any]:
    from streamers.simulator.client import SimulatorClient

    return SimulatorClient(seed=config.seed, rate=config.rate, url=config.url, sessions=not config.always_open)


VENUE = Venue(
    name="simulator",
    help="realistic ES and NQ trades, quotes and a 10-level book",
    metrics_port=9101,
    config=SimulatorConfig,
    add_arguments=add_arguments,
    config_from_options=config_from_options,
    client=client,
    needs="nothing: a market made in-process (or --url ws://... of `python -m streamers.simulator.server`)",
)
