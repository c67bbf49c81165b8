"""The tastytrade venue's options. Credentials come from the environment (TASTYTRADE_*), the
rest from the command line; every value is checked here, before any connection."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from streamers.config import StreamerConfigError

TRADES_FROM = ("TimeAndSale", "Trade")


@dataclass(frozen=True)
class TastytradeConfig:
    # REST root of the API (the SDK's API_URL; the sandbox's CERT_URL; a local fake for a demo).
    api_url: str = "https://api.tastyworks.com"
    client_secret: str = field(default="", repr=False)
    refresh_token: str = field(default="", repr=False)
    # Subscribe to DXLink Order events (depth of book); an account not entitled to them gets an
    # ERROR on that channel and the streamer goes on without depth.
    depth: bool = True
    # Which DXLink event the trades come from (see parsing.py): every print with its aggressor
    # side (TimeAndSale), or the conflated last sale (Trade) for symbols without time and sales.
    trades_from: str = "TimeAndSale"
    # Seconds between our KEEPALIVEs (the server closes after 60 s without one).
    keepalive_interval: float = 30.0
    # SETUP's acceptKeepaliveTimeout: the server sends a KEEPALIVE at least this often when the
    # market is quiet. It must stay under the runner's heartbeat watchdog (the admin's
    # marketdata.heartbeat_timeout_seconds, 15 s by default), or a quiet feed reconnects for nothing.
    server_keepalive: int = 10
    # Items per FEED_SUBSCRIPTION message: one message with a whole option chain exceeds the
    # server's frame limit (close 1009; tastyware/tastytrade #137 saw it near 2,000 symbols).
    subscription_chunk: int = 500
    # DXLink's acceptAggregationPeriod (seconds), as the SDK's refresh_interval.
    aggregation_period: float = 0.1
    # Seconds to wait for each step of the DXLink handshake (the reference client's actionTimeout).
    handshake_timeout: float = 10.0

    def __post_init__(self) -> None:
        parts = urlsplit(self.api_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or self.api_url.endswith("/"):
            raise StreamerConfigError(
                f"TASTYTRADE_API_URL must be an http(s) URL without a trailing slash, not {self.api_url!r}"
            )
        if not self.client_secret:
            raise StreamerConfigError(
                "TASTYTRADE_CLIENT_SECRET is empty: set it to your OAuth application's client secret"
            )
        if not self.refresh_token:
            raise StreamerConfigError(
                "TASTYTRADE_REFRESH_TOKEN is empty: create a grant (tastytrade: OAuth Applications -> Manage ->"
                " Create Grant) and set it"
            )
        if self.trades_from not in TRADES_FROM:
            raise StreamerConfigError(
                f"--trades-from must be one of {', '.join(TRADES_FROM)}, not {self.trades_from!r}"
            )
        if not 1 <= self.subscription_chunk <= 5000:
            raise StreamerConfigError(f"--subscription-chunk must be 1-5000, not {self.subscription_chunk}")
        if not 0 < self.keepalive_interval < 60:
            raise StreamerConfigError(
                "--keepalive-interval must be above 0 and below 60 s (the server's timeout),"
                f" not {self.keepalive_interval:g}"
            )
        if not 1 <= self.server_keepalive <= 60:
            raise StreamerConfigError(f"--server-keepalive must be 1-60 s, not {self.server_keepalive}")
        if not 0 <= self.aggregation_period <= 60:
            raise StreamerConfigError(f"--aggregation-period must be 0-60 s, not {self.aggregation_period:g}")
