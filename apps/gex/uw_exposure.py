"""Unusual Whales' spot gamma exposure as a GEX source beside GEXBot: the socket's `gex:<TICKER>`
payload (protocols.md §3.2) as a `GEXSnapshot`, recorded into the same stream and lake table
(`gex:snapshots:{TICKER}`, `gex_snapshots`) under its own package and category, so it never
replaces GEXBot's latest value: `package="uw"`, `category="uw_spot"`, `source="unusual_whales"`.

`gex:<T>` gives the totals of gamma exposure per 1% move by open interest and by volume (as
strings, sometimes empty) and the price: no strikes, so no zero gamma or majors. `gex_strike:<T>`
sends one strike per message; the rows of one timestamp become a snapshot with strikes and
majors (`uw_strikes_snapshot`, categories `uw_strike` / `uw_strike_expiry`). Values in dollars per
1% move (`units`), not rescaled; zero gamma is left empty (UW gives no profile across spot).
"""

from __future__ import annotations

import msgspec

from apps.gex.snapshots import UNITS_DOLLARS_PER_1PCT, GEXSnapshot, StrikeRow
from apps.gex.sources import GEXPayloadError

PACKAGE = "uw"
CATEGORY = "uw_spot"
SOURCE = "unusual_whales"


class _WireSpotExposure(msgspec.Struct, gc=False):
    ticker: str
    timestamp: int  # ms
    price: str | float
    gamma_per_one_percent_move_oi: str | None = None
    gamma_per_one_percent_move_vol: str | None = None


_decoder = msgspec.json.Decoder(_WireSpotExposure)


def _number(value: str | float | None, field: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except ValueError:
        raise GEXPayloadError(f"UW gex: {field} {value!r} is not a number") from None


def uw_spot_exposure_snapshot(raw: bytes | str, *, ticker: str) -> GEXSnapshot:
    """One `gex:<TICKER>` payload -> a snapshot; GEXPayloadError names a field that is wrong."""
    try:
        wire = _decoder.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        raise GEXPayloadError(f"UW gex: {error}") from None
    if wire.ticker != ticker:
        raise GEXPayloadError(f"UW gex: ticker {wire.ticker!r} on the channel of {ticker!r}")
    spot = _number(wire.price, "price")
    if spot is None:
        raise GEXPayloadError("UW gex: price is empty")
    return GEXSnapshot(
        ticker=ticker,
        package=PACKAGE,
        category=CATEGORY,
        timestamp=wire.timestamp // 1000,
        spot=spot,
        sum_gex_oi=_number(wire.gamma_per_one_percent_move_oi, "gamma_per_one_percent_move_oi"),
        sum_gex_vol=_number(wire.gamma_per_one_percent_move_vol, "gamma_per_one_percent_move_vol"),
        source=SOURCE,
        units=UNITS_DOLLARS_PER_1PCT,
    )


STRIKE_CATEGORIES = {"gex_strike": "uw_strike", "gex_strike_expiry": "uw_strike_expiry"}


class UWStrikeExposure(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """One strike of a `gex_strike:<T>` (or `gex_strike_expiry:<T>`) message: UW sends a strike
    per message, so a snapshot is assembled from the rows of one timestamp (`uw_strikes_snapshot`).
    Net gamma per strike is the call side plus the put side, as UW signs them."""

    ticker: str
    category: str
    timestamp: int  # seconds
    spot: float
    strike: float
    gex_oi: float | None
    gex_vol: float | None
    ts_event: int  # ns, for the streamer's latency metric


class _WireStrike(msgspec.Struct, gc=False):
    ticker: str
    timestamp: int  # ms
    strike: str | float
    price: str | float
    call_gamma_oi: str | None = None
    put_gamma_oi: str | None = None
    call_gamma_vol: str | None = None
    put_gamma_vol: str | None = None


_strike_decoder = msgspec.json.Decoder(_WireStrike)


def _net(call: str | None, put: str | None, field: str) -> float | None:
    values = [_number(call, f"call_{field}"), _number(put, f"put_{field}")]
    present = [value for value in values if value is not None]
    return sum(present) if present else None


def uw_strike_exposure(raw: bytes | str, *, ticker: str, channel_kind: str) -> UWStrikeExposure:
    try:
        wire = _strike_decoder.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        raise GEXPayloadError(f"UW {channel_kind}: {error}") from None
    if wire.ticker != ticker:
        raise GEXPayloadError(f"UW {channel_kind}: ticker {wire.ticker!r} on the channel of {ticker!r}")
    spot, strike = _number(wire.price, "price"), _number(wire.strike, "strike")
    if spot is None or strike is None:
        raise GEXPayloadError(f"UW {channel_kind}: price and strike are required")
    return UWStrikeExposure(
        ticker=ticker,
        category=STRIKE_CATEGORIES[channel_kind],
        timestamp=wire.timestamp // 1000,
        spot=spot,
        strike=strike,
        gex_oi=_net(wire.call_gamma_oi, wire.put_gamma_oi, "gamma_oi"),
        gex_vol=_net(wire.call_gamma_vol, wire.put_gamma_vol, "gamma_vol"),
        ts_event=wire.timestamp * 1_000_000,
    )


def _argmax(rows: list[StrikeRow], value: str, *, lowest: bool = False) -> float | None:
    present = [row for row in rows if getattr(row, value) is not None]
    if not present:
        return None
    pick = min if lowest else max
    return pick(present, key=lambda row: getattr(row, value)).strike


def uw_strikes_snapshot(rows: list[UWStrikeExposure]) -> GEXSnapshot:
    """The rows of one ticker, category and timestamp -> one snapshot with its strikes and majors
    (net maxima and minima by OI and by volume). Rows of a strike sent twice (one per expiry) add up."""
    first = rows[0]
    by_strike: dict[float, list[float | None]] = {}
    for row in rows:
        oi, vol = by_strike.setdefault(row.strike, [None, None])
        by_strike[row.strike] = [
            row.gex_oi if oi is None else oi + (row.gex_oi or 0.0),
            row.gex_vol if vol is None else vol + (row.gex_vol or 0.0),
        ]
    strikes = [StrikeRow(strike, vol, oi) for strike, (oi, vol) in sorted(by_strike.items())]
    oi_values = [row.gex_oi for row in strikes if row.gex_oi is not None]
    vol_values = [row.gex_vol for row in strikes if row.gex_vol is not None]
    return GEXSnapshot(
        ticker=first.ticker,
        package=PACKAGE,
        category=first.category,
        timestamp=first.timestamp,
        spot=rows[-1].spot,
        major_pos_oi=_argmax(strikes, "gex_oi"),
        major_neg_oi=_argmax(strikes, "gex_oi", lowest=True),
        major_pos_vol=_argmax(strikes, "gex_vol"),
        major_neg_vol=_argmax(strikes, "gex_vol", lowest=True),
        sum_gex_oi=sum(oi_values) if oi_values else None,
        sum_gex_vol=sum(vol_values) if vol_values else None,
        strikes=tuple(strikes),
        source=SOURCE,
        units=UNITS_DOLLARS_PER_1PCT,
    )
