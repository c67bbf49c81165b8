"""What a rule looks at: one `AlertInput` per event of a source, whatever its stream's format.

The decoders (`apps/alerts/sources.py`) fill the fields their source has and leave the others
None; a condition that needs a field its rule's source never has is refused when the rule is
compiled, so evaluation never meets a missing field it depends on by surprise (a field that one
event happens to lack, such as an option trade without open interest, simply does not match).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any


class AlertInput:
    __slots__ = (
        "contract",
        "expiry",
        "feed",
        "gex",
        "multileg",
        "net_call_premium",
        "net_put_premium",
        "open_interest",
        "opening",
        "option_type",
        "position",
        "premium",
        "price",
        "raw",
        "series",
        "side",
        "size",
        "stream",
        "strike",
        "sweep",
        "symbol",
        "ts_ns",
        "uid",
        "underlying_price",
        "volume",
    )

    def __init__(
        self,
        *,
        stream: str,
        position: str,
        ts_ns: int,
        symbol: str,
        uid: str,
        raw: dict[str, Any],
        contract: str | None = None,
        price: float | None = None,
        size: int | None = None,
        feed: str | None = None,
        side: str | None = None,
        premium: Decimal | None = None,
        option_type: str | None = None,
        expiry: date | None = None,
        strike: float | None = None,
        underlying_price: float | None = None,
        sweep: bool | None = None,
        multileg: bool | None = None,
        opening: bool | None = None,
        volume: int | None = None,
        open_interest: int | None = None,
        net_call_premium: Decimal | None = None,
        net_put_premium: Decimal | None = None,
        gex: Any = None,
        series: str | None = None,
    ) -> None:
        self.stream = stream
        self.position = position
        self.ts_ns = ts_ns
        self.symbol = symbol
        self.contract = contract
        self.uid = uid
        self.price = price
        self.size = size
        self.feed = feed
        self.side = side
        self.premium = premium
        self.option_type = option_type
        self.expiry = expiry
        self.strike = strike
        self.underlying_price = underlying_price
        self.sweep = sweep
        self.multileg = multileg
        self.opening = opening
        self.volume = volume
        self.open_interest = open_interest
        self.net_call_premium = net_call_premium
        self.net_put_premium = net_put_premium
        self.gex = gex
        # Which series "the previous value" of a crossing or a level change comes from: the
        # symbol for trades and bars, ticker/package/category for GEX snapshots.
        self.series = series or symbol
        # The event as its stream gave it: what an AlertEvent records as "the input that matched".
        self.raw = raw

    @property
    def event_time(self) -> datetime:
        return datetime.fromtimestamp(self.ts_ns / 1e9, tz=UTC)

    def record(self) -> dict[str, Any]:
        """The input as stored with the alert and sent to its actions (JSON-safe)."""
        return {"symbol": self.symbol, "position": self.position, "ts_event": self.ts_ns, **self.raw}
