"""Lake reads of GEX snapshots (`gex_snapshots`): the one in force at a time, a range, and trades
enriched with the GEX levels prevailing when they printed (DuckDB ASOF JOIN).

GEX tickers (`SPX`, `ES_SPX`) are the `symbol` partition of `gex_snapshots`; the futures a trader
enriches are contract codes (`ESZ26`) in `tick_data`, so the join names both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apps.core.clock import to_epoch_ms
from apps.gex.snapshots import GEXSnapshot, snapshot_decode
from apps.marketdata.events import Side, Trade
from apps.storage.connection import fetch, has_view, lake_connection, ns_range, view_exists


def lake_gex_at(*, ticker: str, category: str, at: datetime, lake: Path | None = None) -> GEXSnapshot | None:
    """The newest lake snapshot of `ticker` and `category` with timestamp ≤ `at` (that day or the
    one before: a snapshot older than that is not "in force")."""
    if not has_view("gex_snapshots", lake):
        return None
    day = at.astimezone(UTC).date()
    rows = fetch(
        lake,
        """
        select data from gex_snapshots
        where symbol = ? and category = ? and epoch_ns(ts_event) <= ? and date between ?::date and ?::date
        order by ts_event desc, stream_id desc limit 1
        """,
        [ticker, category, ns_range(at, at)[1], day - timedelta(days=1), day],
    )
    return snapshot_decode(rows[0][0]) if rows else None


def lake_gex_between(
    *, ticker: str, category: str, start: datetime, end: datetime, lake: Path | None = None
) -> list[tuple[str, GEXSnapshot]]:
    """(stream id, snapshot) of every lake snapshot with timestamp in [start, end]."""
    if not has_view("gex_snapshots", lake):
        return []
    start_s, end_s = to_epoch_ms(start) // 1000, to_epoch_ms(end) // 1000
    rows = fetch(
        lake,
        """
        select stream_id, data from gex_snapshots
        where symbol = ? and category = ? and epoch_ns(ts_event) between ? and ?
          and date between ?::date and ?::date
        """,
        [
            ticker,
            category,
            start_s * 1_000_000_000,
            end_s * 1_000_000_000,
            start.astimezone(UTC).date(),
            end.astimezone(UTC).date(),
        ],
    )
    return [(stream_id, snapshot_decode(data)) for stream_id, data in rows]


@dataclass(frozen=True)
class TradeWithGEX:
    trade: Trade
    gex_time: datetime | None
    spot: float | None
    zero_gamma: float | None
    major_pos_vol: float | None
    major_neg_vol: float | None
    sum_gex_vol: float | None


def trades_with_gex(
    *, symbol: str, ticker: str, category: str, start: datetime, end: datetime, lake: Path | None = None
) -> list[TradeWithGEX]:
    """Each lake trade of `symbol` in [start, end] with the `ticker` GEX snapshot in force when it
    printed (the latest at or before its exchange time), in time order; None fields where no
    snapshot came before it."""
    connection = lake_connection(lake)
    if not view_exists(connection, "tick_data"):
        return []
    low, high = ns_range(start, end)
    days = [start.astimezone(UTC).date() - timedelta(days=1), end.astimezone(UTC).date()]
    if view_exists(connection, "gex_snapshots"):
        gex = """select ts_event as gex_ts, spot, zero_gamma, major_pos_vol, major_neg_vol, sum_gex_vol
                 from gex_snapshots where symbol = ? and category = ? and epoch_ns(ts_event) <= ?
                 and date between ?::date and ?::date"""
        gex_params: list[object] = [ticker, category, high, *days]
    else:
        gex = """select null::timestamptz as gex_ts, null::double as spot, null::double as zero_gamma,
                 null::double as major_pos_vol, null::double as major_neg_vol, null::double as sum_gex_vol
                 where false"""
        gex_params = []
    rows = fetch(
        lake,
        f"""
        with t as (
            select ts_event, ts_recv, price, size, side, feed, seq from tick_data
            where symbol = ? and epoch_ns(ts_event) between ? and ? and date between ?::date and ?::date
        ), g as ({gex})
        select epoch_ns(t.ts_event), epoch_ns(t.ts_recv), t.price, t.size, t.side, t.feed, t.seq,
               epoch_ns(g.gex_ts), g.spot, g.zero_gamma, g.major_pos_vol, g.major_neg_vol, g.sum_gex_vol
        from t asof left join g on t.ts_event >= g.gex_ts
        order by t.ts_event, t.seq
        """,  # noqa: S608 - the interpolated SQL is ours, values are parameters
        [symbol, low, high, *days, *gex_params],
    )
    return [
        TradeWithGEX(
            Trade(symbol, int(row[0]), int(row[1]), row[2], int(row[3]), Side(row[4]), row[5] or "", int(row[6])),
            datetime.fromtimestamp(row[7] / 1e9, tz=UTC) if row[7] is not None else None,
            *row[8:13],
        )
        for row in rows
    ]
