"""The Unusual Whales REST API: the flow alerts after a time (the back-fill after a socket gap)
and the market tide of a day. httpx, `Authorization: Bearer <token>`; the token never appears in
an error (errors name the path and the status only).

    GET /api/option-trades/flow-alerts?newer_than=<ISO 8601 UTC>&limit=<n>   -> {"data": [alert, ...]}
    GET /api/market/market-tide?date=YYYY-MM-DD&otm_only=<bool>              -> {"data": [row, ...]}

Rows are returned as the JSON text of each item (`msgspec.Raw`), so the parsers keep their
numbers exact, as for socket frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import httpx
import msgspec

USER_AGENT = "data-pipeline (unusual-whales client)"
FLOW_ALERTS_PATH = "/api/option-trades/flow-alerts"
MARKET_TIDE_PATH = "/api/market/market-tide"
# UW pages flow alerts at most this many per request.
FLOW_ALERTS_LIMIT = 200


class UWRestError(Exception):
    """A request that did not give data: the path and the status or transport error, never the token."""


class _Page(msgspec.Struct):
    data: list[msgspec.Raw]


_page = msgspec.json.Decoder(_Page)


@dataclass(frozen=True)
class UWRestClient:
    base_url: str
    token: str = field(repr=False)
    timeout: float = 10.0

    def _get(self, path: str, params: dict[str, str]) -> list[msgspec.Raw]:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json", "User-Agent": USER_AGENT}
        try:
            response = httpx.get(f"{self.base_url}{path}", params=params, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as error:
            raise UWRestError(f"GET {path}: {type(error).__name__}") from None
        if response.status_code != 200:
            raise UWRestError(f"GET {path}: HTTP {response.status_code}")
        try:
            return _page.decode(response.content).data
        except (msgspec.ValidationError, msgspec.DecodeError) as error:
            raise UWRestError(f"GET {path}: not a data page ({error})") from None

    def flow_alerts_newer_than(self, *, after_ms: int, limit: int = FLOW_ALERTS_LIMIT) -> list[bytes]:
        """The flow alerts UW created after `after_ms` (epoch ms), as JSON texts."""
        newer_than = datetime.fromtimestamp(after_ms / 1000, tz=UTC).isoformat(timespec="milliseconds")
        return [bytes(raw) for raw in self._get(FLOW_ALERTS_PATH, {"newer_than": newer_than, "limit": str(limit)})]

    def market_tide(self, *, day: date, otm_only: bool) -> list[bytes]:
        params = {"date": day.isoformat(), "otm_only": "true" if otm_only else "false"}
        return [bytes(raw) for raw in self._get(MARKET_TIDE_PATH, params)]
