"""The backtest: a rule run over the lake's history through the live engine's evaluation code
(the same decoders, `RuleBook.evaluate`, cooldown, dedup and session filter), day by day.

It reads what the flush landed: `tick_data` (market-data trades and the bars built from them),
`gex_snapshots`, and the Unusual Whales tables (`uw_option_trades`, `uw_flow_alerts`,
`uw_market_agg`), each in stream order and with the hot store's positions, so a match found here
names the same input the live engine matched.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from apps.alerts.engine import gex_lookup_live
from apps.alerts.inputs import AlertInput
from apps.alerts.models import AlertRule, Source
from apps.alerts.rules import RuleBook
from apps.alerts.selectors import rule_compiled
from apps.alerts.sources import BarBuilder, InputError, gex_input, trade_input, uw_inputs
from apps.alerts.tape import Tape
from apps.core import keys
from apps.core.codec import dumps
from apps.core.exceptions import BadInputError
from apps.gex.snapshots import snapshot_decode
from apps.marketdata.events import Side, Trade
from apps.storage.connection import fetch, has_view
from apps.storage.stream_order import position_sql

MAX_DAYS = 366
SHOWN = 100
UW_TABLES = {
    Source.UW_OPTION_TRADES: ("uw_option_trades", keys.UW_OPTION_TRADES),
    Source.UW_FLOW_ALERTS: ("uw_flow_alerts", keys.UW_FLOW_ALERTS),
    Source.UW_MARKET_TIDE: ("uw_market_agg", keys.UW_MARKET_AGGS),
}
Progress = Callable[[int, int], None]


@dataclass
class BacktestReport:
    rule: str
    start: date
    end: date
    inputs: int = 0
    matches: int = 0
    per_day: dict[str, int] = field(default_factory=dict)
    first: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0  # lake rows no decoder could read
    missing: list[str] = field(default_factory=list)  # lake tables the source needs and the lake lacks

    def csv(self) -> str:
        """The first matches as CSV: day, time, symbol, position, key, then the input as JSON."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["day", "event_time", "symbol", "position", "key", "input"])
        for match in self.first:
            writer.writerow(
                [
                    match["day"],
                    match["event_time"],
                    match["symbol"],
                    match["position"],
                    match["key"],
                    match["input_json"],
                ]
            )
        return out.getvalue()


def _days(start: date, end: date) -> list[date]:
    if end < start:
        raise BadInputError("to", f"--to {end} is before --from {start}")
    if (end - start).days >= MAX_DAYS:
        raise BadInputError("to", f"a backtest covers at most {MAX_DAYS} days")
    return [start + timedelta(days=offset) for offset in range((end - start).days + 1)]


def _ordered(table: str, columns: str, day: date, lake: Path | None) -> list[Any]:
    return fetch(
        lake,
        # The table and column names are this module's constants, never input.
        f"select symbol, {columns}, {position_sql('epoch_ns(ts_event)')} from {table} "  # noqa: S608
        "where date = ?::date order by symbol, e_ms, e_seq, e_index, stream_id",
        [day],
    )


def _trade_inputs(day: date, lake: Path | None) -> Iterator[AlertInput]:
    columns = "epoch_ns(ts_event), epoch_ns(ts_recv), price, size, side, feed, seq, stream_id"
    for row in _ordered("tick_data", columns, day, lake):
        symbol = row[0]
        trade = Trade(
            symbol, int(row[1]), int(row[2]), float(row[3]), int(row[4]), Side(row[5]), row[6] or "", int(row[7])
        )
        yield trade_input(f"md:trades:{{{symbol}}}", row[8], trade)


def _gex_inputs(day: date, lake: Path | None) -> Iterator[AlertInput]:
    for row in _ordered("gex_snapshots", "data, stream_id", day, lake):
        yield gex_input(f"gex:snapshots:{{{row[0]}}}", row[2], snapshot_decode(row[1]))


def _uw_inputs(source: Source, day: date, lake: Path | None, skipped: list[int]) -> Iterator[AlertInput]:
    table, stream = UW_TABLES[source]
    # The rows carry the events' fields (apps/uw/lake_tables.py); times as ns like the stream's.
    select = f"select * replace (epoch_ns(ts_event) as ts_event) from {table}"  # noqa: S608 - a constant
    names = [column[0] for column in fetch(lake, f"describe {select}", [])]
    rows = fetch(lake, f"{select} where date = ?::date order by stream_id", [day])
    for values in rows:
        # Decimals and dates as the stream's JSON has them (exact strings), so the input and
        # what an alert records are the same as live.
        payload = {name: _plain(value) for name, value in zip(names, values, strict=True)}
        try:
            yield from uw_inputs(source, stream, [(str(payload["stream_id"]), payload)])
        except InputError:
            skipped[0] += 1


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")  # the lake's 10 places, trailing zeros dropped
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def _table_of(source: Source) -> str:
    if source in UW_TABLES:
        return UW_TABLES[source][0]
    return "gex_snapshots" if source == Source.GEX_SNAPSHOTS else "tick_data"


def backtest_run(
    *, rule: AlertRule, start: date, end: date, lake: Path | None = None, progress: Progress | None = None
) -> BacktestReport:
    """Run `rule` (enabled or not) over the lake days `start`..`end` (UTC), and report its matches."""
    days = _days(start, end)
    compiled = rule_compiled(rule, restore=False)
    source = compiled.source
    book = RuleBook(source=source, rules=[compiled], tape=Tape(gex_lookup=gex_lookup_live))
    report = BacktestReport(rule=rule.name, start=start, end=end)
    table = _table_of(source)
    if not has_view(table, lake):
        report.missing.append(table)
        if progress:
            progress(len(days), len(days))
        return report
    bars = BarBuilder()
    skipped = [0]
    for done, day in enumerate(days, 1):
        if source in (Source.MD_TRADES, Source.MD_BARS):
            items: Iterator[AlertInput] = _trade_inputs(day, lake)
        elif source == Source.GEX_SNAPSHOTS:
            items = _gex_inputs(day, lake)
        else:
            items = _uw_inputs(source, day, lake, skipped)
        listed = list(items)
        report.inputs += len(listed)
        if source == Source.MD_BARS:
            listed = [bar for bar in map(bars.add, listed) if bar is not None]
        for fire in book.evaluate(listed):
            report.matches += 1
            moment = fire.item.event_time
            report.per_day[moment.date().isoformat()] = report.per_day.get(moment.date().isoformat(), 0) + 1
            if len(report.first) < SHOWN:
                record = fire.item.record()
                report.first.append(
                    {
                        "day": moment.date().isoformat(),
                        "event_time": moment.isoformat(),
                        "symbol": fire.item.symbol,
                        "stream": fire.item.stream,
                        "position": fire.item.position,
                        "key": fire.key,
                        "input": record,
                        "input_json": _json(record),
                    }
                )
        if progress:
            progress(done, len(days))
    report.skipped = skipped[0]
    return report


def _json(value: Any) -> str:
    return dumps(value).decode()
