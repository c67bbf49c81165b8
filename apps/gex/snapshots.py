"""Typed GEX snapshots: what every GEX source (GEXBot, the local calculator, history files)
produces and every consumer (the cache, the stream, the lake, Sierra Chart files, the dashboard)
reads.

Field names follow GEXBot's v2 `basic_response`, `majors_response` and `maxchange_response`
(../shared/reference/gex_scid.md §1.3). Values are kept as the source gave them: GEXBot does not
document the units of its strike values and sums, so `units` says what is known and nothing is
rescaled. `timestamp` is Unix seconds UTC. A value a source did not give (or gave as null) is None.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

SCHEMA_VERSION = 1

UNITS_GEXBOT = "gexbot (undocumented)"
UNITS_DOLLARS_PER_1PCT = "$ per 1% move"

PACKAGES = ("classic", "state", "local")
CATEGORIES = ("gex_full", "gex_zero", "gex_one")
# GEXBot accepts both spellings; we store the long one.
CATEGORY_ALIASES = {"full": "gex_full", "zero": "gex_zero", "one": "gex_one"}
# The order of `max_priors` and of the `/maxchange` keys.
MAXCHANGE_WINDOWS = ("current", "one", "five", "ten", "fifteen", "thirty")


def category_canonical(category: str) -> str:
    """`zero` → `gex_zero`; other names are returned unchanged (greek categories such as `gamma_zero`)."""
    return CATEGORY_ALIASES.get(category, category)


class StrikeRow(msgspec.Struct, frozen=True, array_like=True):
    """One strike, positional as GEXBot sends it: `[strike, gex_by_volume, gex_by_oi, [priors]]`.

    `priors` holds the historical by-volume values (GEXBot's order, believed to be 1, 5, 10, 15 and
    30 minutes ago); it may be shorter than five or empty.
    """

    strike: float
    gex_vol: float | None
    gex_oi: float | None
    priors: tuple[float | None, ...] = ()


class GEXSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    ticker: str
    package: str
    category: str
    timestamp: int
    spot: float
    zero_gamma: float | None = None
    major_pos_vol: float | None = None
    major_pos_oi: float | None = None
    major_neg_vol: float | None = None
    major_neg_oi: float | None = None
    sum_gex_vol: float | None = None
    sum_gex_oi: float | None = None
    delta_risk_reversal: float | None = None
    min_dte: int | None = None
    sec_min_dte: int | None = None
    strikes: tuple[StrikeRow, ...] = ()
    # (strike, value) for the windows of MAXCHANGE_WINDOWS, in that order.
    max_priors: tuple[tuple[float, float], ...] = ()
    source: str = "gexbot"
    units: str = UNITS_GEXBOT
    # The call and put walls as SpotGamma defines them (by open interest): the strike with the
    # largest call-side GEX, and the one with the largest put-side GEX in size. Only snapshots
    # computed here have them: GEXBot's strike rows are net of calls and puts, and its net walls
    # are the majors (`major_pos_*`/`major_neg_*`, the net-GEX argmax/argmin). The descriptions
    # are the REST API's (apps/api/schemas.py derives its snapshot schema from this struct).
    call_wall: Annotated[
        float | None, msgspec.Meta(description="strike of the largest call-side GEX by OI (computed sources only)")
    ] = None
    put_wall: Annotated[
        float | None, msgspec.Meta(description="strike of the largest put-side GEX by OI (computed sources only)")
    ] = None


class GEXMajors(msgspec.Struct, frozen=True, kw_only=True):
    ticker: str
    package: str
    category: str
    timestamp: int
    spot: float
    zero_gamma: float | None = None
    mpos_vol: float | None = None
    mpos_oi: float | None = None
    mneg_vol: float | None = None
    mneg_oi: float | None = None
    net_gex_vol: float | None = None
    net_gex_oi: float | None = None
    source: str = "gexbot"
    units: str = UNITS_GEXBOT


class GEXMaxChange(msgspec.Struct, frozen=True, kw_only=True):
    ticker: str
    package: str
    category: str
    timestamp: int
    # window name (MAXCHANGE_WINDOWS) → (strike, value); a window the source left out is absent.
    windows: dict[str, tuple[float, float]] = msgspec.field(default_factory=dict)
    source: str = "gexbot"
    units: str = UNITS_GEXBOT


_encoder = msgspec.json.Encoder()
_snapshot_decoder = msgspec.json.Decoder(GEXSnapshot)


def snapshot_encode(snapshot: GEXSnapshot) -> bytes:
    return _encoder.encode(snapshot)


def snapshot_decode(data: bytes | str) -> GEXSnapshot:
    return _snapshot_decoder.decode(data)
