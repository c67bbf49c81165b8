"""The UW lake tables, registered with storage in apps.py: `uw_option_trades`, `uw_flow_alerts`
and `uw_market_agg`, fed by `uw:option_trade:{UW}`, `uw:flow_alert:{UW}` and
`uw:market_agg:{UW}` (one partition, symbol=UW; filter on `underlying_symbol` / `ticker`).

Money and prices are decimal128(38, 10), exact (the parser refuses more places); model values
(implied volatility and greeks) are float64, which is what a query computes with anyway. Lists
(tags, trade ids) are list<string>. One row per event; the hot store already refused repeated
ids, and a repeat inside one flushed batch is dropped here too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

import pyarrow as pa

from apps.storage.registry import LakeTable
from apps.storage.tables import TIMESTAMP
from apps.uw.events import flow_alert_decode, market_agg_decode, option_trade_decode
from apps.uw.streams import FLOW_ALERTS, MARKET_AGGS, OPTION_TRADES

MONEY = pa.decimal128(38, 10)
NS_PER_MS = 1_000_000
_STRINGS = pa.list_(pa.string())


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _unique(entries: list[tuple[str, bytes]], decode: Callable[[bytes], Any]) -> Iterable[tuple[str, Any]]:
    seen: set[str] = set()
    for entry_id, data in entries:
        event = decode(data)
        if event.id not in seen:
            seen.add(event.id)
            yield entry_id, event


OPTION_TRADES_SCHEMA = pa.schema(
    [
        ("ts_event", TIMESTAMP),
        ("id", pa.string()),
        ("underlying_symbol", pa.string()),
        ("option_symbol", pa.string()),
        ("option_type", pa.string()),
        ("expiry", pa.date32()),
        ("strike", MONEY),
        ("price", MONEY),
        ("size", pa.int64()),
        ("premium", MONEY),
        ("side", pa.string()),
        ("nbbo_bid", MONEY),
        ("nbbo_ask", MONEY),
        ("ewma_nbbo_bid", MONEY),
        ("ewma_nbbo_ask", MONEY),
        ("underlying_price", MONEY),
        ("volume", pa.int64()),
        ("open_interest", pa.int64()),
        ("implied_volatility", pa.float64()),
        ("delta", pa.float64()),
        ("gamma", pa.float64()),
        ("theta", pa.float64()),
        ("vega", pa.float64()),
        ("rho", pa.float64()),
        ("theo", MONEY),
        ("trade_code", pa.string()),
        ("exchange", pa.string()),
        ("tags", _STRINGS),
        ("report_flags", _STRINGS),
        ("ask_vol", pa.int64()),
        ("bid_vol", pa.int64()),
        ("no_side_vol", pa.int64()),
        ("mid_vol", pa.int64()),
        ("multi_vol", pa.int64()),
        ("stock_multi_vol", pa.int64()),
        ("created_at", TIMESTAMP),
        ("ts_recv", TIMESTAMP),
        ("origin", pa.string()),
        ("stream_id", pa.string()),
    ]
)


def option_trade_rows(symbol: str, entries: list[tuple[str, bytes]]) -> pa.Table:
    rows = [
        {
            "ts_event": t.ts_event,
            "id": t.id,
            "underlying_symbol": t.underlying_symbol,
            "option_symbol": t.option_symbol,
            "option_type": t.option_type,
            "expiry": t.expiry,
            "strike": t.strike,
            "price": t.price,
            "size": t.size,
            "premium": t.premium,
            "side": t.side,
            "nbbo_bid": t.nbbo_bid,
            "nbbo_ask": t.nbbo_ask,
            "ewma_nbbo_bid": t.ewma_nbbo_bid,
            "ewma_nbbo_ask": t.ewma_nbbo_ask,
            "underlying_price": t.underlying_price,
            "volume": t.volume,
            "open_interest": t.open_interest,
            "implied_volatility": _float(t.implied_volatility),
            "delta": _float(t.delta),
            "gamma": _float(t.gamma),
            "theta": _float(t.theta),
            "vega": _float(t.vega),
            "rho": _float(t.rho),
            "theo": t.theo,
            "trade_code": t.trade_code,
            "exchange": t.exchange,
            "tags": list(t.tags),
            "report_flags": list(t.report_flags),
            "ask_vol": t.ask_vol,
            "bid_vol": t.bid_vol,
            "no_side_vol": t.no_side_vol,
            "mid_vol": t.mid_vol,
            "multi_vol": t.multi_vol,
            "stock_multi_vol": t.stock_multi_vol,
            "created_at": t.created_at * NS_PER_MS,
            "ts_recv": t.ts_recv,
            "origin": t.origin,
            "stream_id": entry_id,
        }
        for entry_id, t in _unique(entries, option_trade_decode)
    ]
    return _table(rows, OPTION_TRADES_SCHEMA)


FLOW_ALERTS_SCHEMA = pa.schema(
    [
        ("ts_event", TIMESTAMP),
        ("id", pa.string()),
        ("rule_id", pa.string()),
        ("rule_name", pa.string()),
        ("ticker", pa.string()),
        ("option_chain", pa.string()),
        ("option_type", pa.string()),
        ("expiry", pa.date32()),
        ("strike", MONEY),
        ("underlying_price", MONEY),
        ("price", MONEY),
        ("bid", MONEY),
        ("ask", MONEY),
        ("volume", pa.int64()),
        ("total_size", pa.int64()),
        ("total_premium", MONEY),
        ("total_ask_side_prem", MONEY),
        ("total_bid_side_prem", MONEY),
        ("open_interest", pa.int64()),
        ("volume_oi_ratio", pa.float64()),
        ("trade_count", pa.int64()),
        ("expiry_count", pa.int64()),
        ("has_sweep", pa.bool_()),
        ("has_floor", pa.bool_()),
        ("has_multileg", pa.bool_()),
        ("has_singleleg", pa.bool_()),
        ("all_opening_trades", pa.bool_()),
        ("ask_vol", pa.int64()),
        ("bid_vol", pa.int64()),
        ("no_side_vol", pa.int64()),
        ("mid_vol", pa.int64()),
        ("multi_vol", pa.int64()),
        ("stock_multi_vol", pa.int64()),
        ("url", pa.string()),
        ("trade_ids", _STRINGS),
        ("upstream_condition_details", _STRINGS),
        ("exchanges", _STRINGS),
        ("start_time", TIMESTAMP),
        ("end_time", TIMESTAMP),
        ("ts_recv", TIMESTAMP),
        ("origin", pa.string()),
        ("stream_id", pa.string()),
    ]
)


def flow_alert_rows(symbol: str, entries: list[tuple[str, bytes]]) -> pa.Table:
    rows = [
        {
            "ts_event": a.ts_event,
            "id": a.id,
            "rule_id": a.rule_id,
            "rule_name": a.rule_name,
            "ticker": a.ticker,
            "option_chain": a.option_chain,
            "option_type": a.option_type,
            "expiry": a.expiry,
            "strike": a.strike,
            "underlying_price": a.underlying_price,
            "price": a.price,
            "bid": a.bid,
            "ask": a.ask,
            "volume": a.volume,
            "total_size": a.total_size,
            "total_premium": a.total_premium,
            "total_ask_side_prem": a.total_ask_side_prem,
            "total_bid_side_prem": a.total_bid_side_prem,
            "open_interest": a.open_interest,
            "volume_oi_ratio": float(a.volume_oi_ratio),
            "trade_count": a.trade_count,
            "expiry_count": a.expiry_count,
            "has_sweep": a.has_sweep,
            "has_floor": a.has_floor,
            "has_multileg": a.has_multileg,
            "has_singleleg": a.has_singleleg,
            "all_opening_trades": a.all_opening_trades,
            "ask_vol": a.ask_vol,
            "bid_vol": a.bid_vol,
            "no_side_vol": a.no_side_vol,
            "mid_vol": a.mid_vol,
            "multi_vol": a.multi_vol,
            "stock_multi_vol": a.stock_multi_vol,
            "url": a.url,
            "trade_ids": list(a.trade_ids),
            "upstream_condition_details": list(a.upstream_condition_details),
            "exchanges": list(a.exchanges),
            "start_time": a.start_time * NS_PER_MS,
            "end_time": a.end_time * NS_PER_MS,
            "ts_recv": a.ts_recv,
            "origin": a.origin,
            "stream_id": entry_id,
        }
        for entry_id, a in _unique(entries, flow_alert_decode)
    ]
    return _table(rows, FLOW_ALERTS_SCHEMA)


MARKET_AGG_SCHEMA = pa.schema(
    [
        ("ts_event", TIMESTAMP),
        ("id", pa.string()),
        ("kind", pa.string()),
        ("day", pa.date32()),
        ("interval", pa.string()),
        ("otm_only", pa.bool_()),
        ("net_call_premium", MONEY),
        ("net_put_premium", MONEY),
        ("net_volume", pa.int64()),
        ("ts_recv", TIMESTAMP),
        ("origin", pa.string()),
        ("stream_id", pa.string()),
    ]
)


def market_agg_rows(symbol: str, entries: list[tuple[str, bytes]]) -> pa.Table:
    rows = [
        {
            "ts_event": m.ts_event,
            "id": m.id,
            "kind": m.kind,
            "day": m.date,
            "interval": m.interval,
            "otm_only": m.otm_only,
            "net_call_premium": m.net_call_premium,
            "net_put_premium": m.net_put_premium,
            "net_volume": m.net_volume,
            "ts_recv": m.ts_recv,
            "origin": m.origin,
            "stream_id": entry_id,
        }
        for entry_id, m in _unique(entries, market_agg_decode)
    ]
    return _table(rows, MARKET_AGG_SCHEMA)


def _table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    # Integer nanoseconds go in as int64 and are cast to the UTC timestamp type.
    as_int = pa.schema([pa.field(f.name, pa.int64()) if f.type == TIMESTAMP else f for f in schema])
    return pa.Table.from_pylist(rows, schema=as_int).cast(schema)


UW_OPTION_TRADES = LakeTable(
    name=OPTION_TRADES.lake_table,
    stream=OPTION_TRADES.stream.replace("{UW}", "{SYM}"),
    schema=OPTION_TRADES_SCHEMA,
    rows=option_trade_rows,
    retention=OPTION_TRADES.kind,
    label="UW option trades",
)
UW_FLOW_ALERTS = LakeTable(
    name=FLOW_ALERTS.lake_table,
    stream=FLOW_ALERTS.stream.replace("{UW}", "{SYM}"),
    schema=FLOW_ALERTS_SCHEMA,
    rows=flow_alert_rows,
    retention=FLOW_ALERTS.kind,
    label="UW flow alerts",
)
UW_MARKET_AGG = LakeTable(
    name=MARKET_AGGS.lake_table,
    stream=MARKET_AGGS.stream.replace("{UW}", "{SYM}"),
    schema=MARKET_AGG_SCHEMA,
    rows=market_agg_rows,
    retention=MARKET_AGGS.kind,
    label="UW market aggregates (market tide)",
)
UW_LAKE_TABLES = (UW_OPTION_TRADES, UW_FLOW_ALERTS, UW_MARKET_AGG)
