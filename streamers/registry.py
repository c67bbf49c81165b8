"""The venues `manage.py run_streamer NAME` can start: one line per venue folder.

The `streamers` app registers these names with `apps.marketdata.streamer_names` when Django starts, so
the apps (which may not import `streamers`) know every streamer without a copy of the list.
"""

from __future__ import annotations

from typing import Any

from streamers.replay.venue import VENUE as REPLAY
from streamers.schwab.venue import VENUE as SCHWAB
from streamers.simulator.venue import VENUE as SIMULATOR
from streamers.tastytrade.venue import VENUE as TASTYTRADE
from streamers.uw.venue import VENUE as UW
from streamers.venue import Venue

VENUES: dict[str, Venue[Any]] = {venue.name: venue for venue in (SIMULATOR, REPLAY, SCHWAB, TASTYTRADE, UW)}
