"""Volume by price and the volume-weighted average price of a range of trades (a session by
default), from the lake and the hot store together, each trade once (apps/storage/trade_queries.py).

Computed on the server: a session holds far more trades than a page should download, and the
figures must match what the REST API says the trades were. The dashboard adds the trades it then
receives live (/ws/trades after `through`) with the same arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from apps.core import keys
from apps.core.positions import IMPORTED_PREFIXES
from apps.marketdata.events import Side
from apps.storage.trade_queries import trades_in_range


@dataclass(frozen=True)
class ProfileLevel:
    price: float
    volume: int
    buy: int  # traded at the ask (buyer-initiated)
    sell: int  # traded at the bid (seller-initiated)


@dataclass(frozen=True)
class VolumeProfile:
    levels: list[ProfileLevel]  # by price, lowest first
    volume: int
    trades: int
    vwap: float | None
    through: str | None  # the last trade counted, as /ws/trades numbers it; None for imported rows or none


def volume_profile(
    *, symbol: str, start: datetime, end: datetime, lake: Path | None = None, keyspace: keys.KeySpace = keys.LIVE
) -> VolumeProfile:
    """Volume at each traded price in [start, end], split by aggressor, with the range's VWAP (of
    a replay's sandbox alone with its `keyspace`)."""
    trades = trades_in_range(symbol=symbol, start=start, end=end, lake=lake, keyspace=keyspace)
    by_price: dict[float, list[int]] = {}
    volume = 0
    notional = 0.0
    for item in trades:
        price, size = item.trade.price, item.trade.size
        level = by_price.setdefault(price, [0, 0, 0])
        level[0] += size
        if item.trade.side is Side.BUY:
            level[1] += size
        elif item.trade.side is Side.SELL:
            level[2] += size
        volume += size
        notional += price * size
    last = trades[-1].id if trades else None
    return VolumeProfile(
        levels=[ProfileLevel(price, *by_price[price]) for price in sorted(by_price)],
        volume=volume,
        trades=len(trades),
        vwap=notional / volume if volume else None,
        through=last if last is not None and not last.startswith(IMPORTED_PREFIXES) else None,
    )
