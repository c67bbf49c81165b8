"""Schwab's REST calls the streamer needs: user preferences (the streamer's URL and ids) and
price history (minute candles to back-fill bars after a gap). Synchronous (httpx); the client
runs them on a worker thread."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from streamers.schwab.oauth import SchwabRateLimitedError, retry_after
from streamers.schwab.parsing import VendorBar

PREFERENCES_PATH = "/trader/v1/userPreference"
PRICE_HISTORY_PATH = "/marketdata/v1/pricehistory"
TIMEOUT = 15.0

# (rejected access token or None) -> a valid access token (refreshing under the token lock).
AccessToken = Callable[[str | None], str]


class SchwabRestError(ConnectionError):
    """A REST call failed in a way a later retry may fix (5xx, network, an unexpected body)."""


@dataclass(frozen=True)
class StreamerInfo:
    socket_url: str
    customer_id: str = field(repr=False)
    correl_id: str
    channel: str
    function_id: str


class SchwabRest:
    def __init__(self, *, api_url: str, access_token: AccessToken) -> None:
        self.api_url = api_url
        self.access_token = access_token

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        token = self.access_token(None)
        for attempt in (1, 2):
            try:
                response = httpx.get(
                    f"{self.api_url}{path}",
                    params=params,
                    headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                    timeout=TIMEOUT,
                )
            except httpx.HTTPError as error:
                raise SchwabRestError(f"GET {path}: {type(error).__name__}") from None
            if response.status_code == 401 and attempt == 1:
                # Refused although it had time left (revoked, or refreshed elsewhere): refresh once.
                token = self.access_token(token)
                continue
            if response.status_code == 429:
                raise SchwabRateLimitedError(f"GET {path}: Schwab rate-limited the call (429)", retry_after(response))
            if response.status_code != 200:
                raise SchwabRestError(f"GET {path}: Schwab answered {response.status_code}")
            try:
                return response.json()
            except ValueError:
                raise SchwabRestError(f"GET {path}: the answer is not JSON") from None
        raise SchwabRestError(f"GET {path}: unreachable")

    def streamer_info(self) -> StreamerInfo:
        body = self._get(PREFERENCES_PATH)
        try:
            info = body["streamerInfo"][0]
            return StreamerInfo(
                socket_url=str(info["streamerSocketUrl"]),
                customer_id=str(info["schwabClientCustomerId"]),
                correl_id=str(info["schwabClientCorrelId"]),
                channel=str(info["schwabClientChannel"]),
                function_id=str(info["schwabClientFunctionId"]),
            )
        except (KeyError, IndexError, TypeError):
            raise SchwabRestError("userPreference has no streamerInfo[0] with the streamer's URL and ids") from None

    def minute_bars(self, *, key: str, symbol: str, start_ms: int, end_ms: int) -> list[VendorBar]:
        """One-minute candles of `key` (Schwab's form) between the two instants."""
        body = self._get(
            PRICE_HISTORY_PATH,
            {
                "symbol": key,
                "periodType": "day",
                "frequencyType": "minute",
                "frequency": 1,
                "startDate": start_ms,
                "endDate": end_ms,
                "needExtendedHoursData": "true",
            },
        )
        try:
            return [
                VendorBar(
                    symbol,
                    int(candle["datetime"]),
                    float(candle["open"]),
                    float(candle["high"]),
                    float(candle["low"]),
                    float(candle["close"]),
                    float(candle["volume"]),
                )
                for candle in body.get("candles", [])
            ]
        except (KeyError, TypeError, ValueError):
            raise SchwabRestError("pricehistory: a candle lacks datetime/open/high/low/close/volume") from None
