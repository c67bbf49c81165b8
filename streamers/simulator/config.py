"""The simulator venue's options."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from streamers.config import StreamerConfigError


@dataclass(frozen=True)
class SimulatorConfig:
    # Mean trades per second per symbol.
    rate: float = 20.0
    seed: int = 7
    # A simulator server (ws://...) to read from instead of the market model in-process.
    url: str | None = None
    # Trade around the clock instead of following Globex hours.
    always_open: bool = False

    def __post_init__(self) -> None:
        if not self.rate > 0:
            raise StreamerConfigError(f"--rate must be greater than 0, not {self.rate:g}")
        if self.url is not None and urlsplit(self.url).scheme not in ("ws", "wss"):
            raise StreamerConfigError(f"--url must be a WebSocket URL (ws://HOST:PORT), not {self.url!r}")
