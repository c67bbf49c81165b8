"""What a venue registers so `manage.py run_streamer NAME` can start it.

Each venue (`streamers/<venue>/`) has a frozen config validated at construction, and a
`venue.py` holding one `Venue`: the options it adds to the command line, how they become its
config, and how the config becomes a feed client. `streamers/registry.py` lists them.
"""

from __future__ import annotations

from argparse import ArgumentParser
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from streamers.feed import FeedClient
from streamers.sinks import EventSink

ConfigT = TypeVar("ConfigT")


def _always() -> bool:
    return True


@dataclass(frozen=True)
class Venue(Generic[ConfigT]):
    name: str
    help: str
    # Default Prometheus port of its process (`--metrics-port` overrides it, 0 turns it off).
    metrics_port: int
    config: type[ConfigT]
    # Adds the venue's own options to its `run_streamer NAME` subcommand.
    add_arguments: Callable[[ArgumentParser], None]
    # Parsed options (the venue's and the shared ones) -> its config; raises StreamerConfigError.
    config_from_options: Callable[[dict[str, Any]], ConfigT]
    # Builds the feed client; may check the outside world (a lake day exists) and raise
    # StreamerConfigError. It opens no connection: the runner connects.
    client: Callable[[ConfigT], FeedClient[Any]]
    # Where its batches go, from its config and the Redis URL: None is the market-data hot store.
    sink: Callable[[ConfigT, str], EventSink] | None = None
    # The runtime setting listing what it subscribes to, instead of marketdata.symbols (its
    # `--symbols` then lists such subscriptions).
    subscription_setting: str | None = None
    # What it takes to run it, in one line for `run_streamer list` (switches, secrets, commands).
    needs: str = "nothing"
    # Whether this deployment runs it (its switch is on): the dashboard lists only those, and
    # others while a process of theirs is alive. Read from settings; no connection is opened.
    configured: Callable[[], bool] = _always
    # A runtime setting with the venue's own symbol list (empty: marketdata.symbols).
    symbols_setting: str | None = None

    def client_from_options(self, options: dict[str, Any]) -> FeedClient[Any]:
        return self.client(self.config_from_options(options))
