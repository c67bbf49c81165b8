"""The Schwab venue's options: where the API is, which account's tokens, which equity book."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from streamers.config import StreamerConfigError

EquityBook = Literal["NASDAQ_BOOK", "NYSE_BOOK", "none"]
ACCOUNT_FORM = "lower-case letters, digits, '_' or '-'"


@dataclass(frozen=True)
class SchwabConfig:
    # The API root (SCHWAB_API_URL): https://api.schwabapi.com, or a fake on 127.0.0.1.
    api_url: str
    app_key: str = field(repr=False)
    app_secret: str = field(repr=False)
    # Which stored login (apps/brokers) the streamer uses.
    account: str = "default"
    # The book equities get their depth from (Schwab has no futures depth).
    equity_book: EquityBook = "NASDAQ_BOOK"
    # A command Schwab does not answer within this is a lost connection.
    response_timeout: float = 10.0
    # How often the access token is checked (refreshed 5 minutes before it ends) and the
    # refresh token's time left reported.
    token_check_interval: float = 60.0

    def __post_init__(self) -> None:
        parts = urlsplit(self.api_url)
        if parts.scheme not in ("https", "http") or not parts.netloc or self.api_url.endswith("/"):
            raise StreamerConfigError(
                f"SCHWAB_API_URL must be an http(s) URL without a trailing slash, not {self.api_url!r}"
            )
        if not self.app_key:
            raise StreamerConfigError("SCHWAB_APP_KEY is not set: the app key of your Schwab developer app")
        if not self.app_secret:
            raise StreamerConfigError("SCHWAB_APP_SECRET is not set: the secret of your Schwab developer app")
        if not self.account or not all(ch.islower() or ch.isdigit() or ch in "_-" for ch in self.account):
            raise StreamerConfigError(f"--account must be {ACCOUNT_FORM}, not {self.account!r}")
        if self.equity_book not in ("NASDAQ_BOOK", "NYSE_BOOK", "none"):
            raise StreamerConfigError(f"--equity-book must be NASDAQ_BOOK, NYSE_BOOK or none, not {self.equity_book!r}")
        if not self.response_timeout > 0:
            raise StreamerConfigError(f"--response-timeout must be above 0, not {self.response_timeout:g}")
