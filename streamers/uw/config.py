"""The UW venue's options. The token and URLs come from the environment (UW_API_TOKEN,
UW_SOCKET_URL, UW_API_URL); the token is never part of the config's repr."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from streamers.config import StreamerConfigError

Protocol = Literal["uw", "phoenix"]


@dataclass(frozen=True)
class UWConfig:
    socket_url: str
    api_url: str
    token: str = field(repr=False)
    redis_url: str = field(repr=False, default="redis://127.0.0.1:6379/0")
    # `uw`: UW's framing, {"channel", "msg_type": "join"} and [channel, payload] frames.
    # `phoenix`: Phoenix V2 arrays [join_ref, ref, topic, event, payload] with a heartbeat.
    protocol: Protocol = "uw"
    # Silence after which a WebSocket ping is sent, and how long its pong may take. Kept below the
    # runner's watchdog (marketdata.heartbeat_timeout_seconds, 15 s): a pong counts as a message.
    ping_after: float = 10.0
    pong_timeout: float = 5.0
    # Phoenix's heartbeat period (the JS client's 30 s); no reply by the next one drops the socket.
    heartbeat_interval: float = 30.0
    # Flow alerts fetched after a gap, at most (UW's page size).
    backfill_limit: int = 200

    def __post_init__(self) -> None:
        if not self.token:
            raise StreamerConfigError("UW_API_TOKEN is empty: set it (and UW_ENABLED=true) to run the UW streamer")
        if urlsplit(self.socket_url).scheme not in ("ws", "wss"):
            raise StreamerConfigError(f"UW_SOCKET_URL must be a WebSocket URL (wss://...), not {self.socket_url!r}")
        if urlsplit(self.api_url).scheme not in ("http", "https"):
            raise StreamerConfigError(f"UW_API_URL must be an http(s) URL, not {self.api_url!r}")
        if self.protocol not in ("uw", "phoenix"):
            raise StreamerConfigError(f"--protocol must be uw or phoenix, not {self.protocol!r}")
        for option, value in (
            ("--ping-after", self.ping_after),
            ("--pong-timeout", self.pong_timeout),
            ("--heartbeat-interval", self.heartbeat_interval),
        ):
            if not value > 0:
                raise StreamerConfigError(f"{option} must be greater than 0, not {value:g}")
        if self.backfill_limit < 1:
            raise StreamerConfigError(f"--backfill-limit must be at least 1, not {self.backfill_limit}")

    @property
    def connect_url(self) -> str:
        """The socket URL with the token: used to connect, never logged."""
        if self.protocol == "phoenix":
            return f"{self.socket_url}/websocket?vsn=2.0.0&token={self.token}"
        return f"{self.socket_url}?token={self.token}"
