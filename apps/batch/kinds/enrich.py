"""`enrich_tick_gex`: every trade of a symbol, day by day, joined to the GEX levels in force at
its time (ASOF JOIN: zero gamma, the walls by volume and open interest, net GEX, spot, and the
trade's distance to each) into the lake table `enriched_ticks`. One unit per day; a day is
written as one file named after the GEX source, so running it again (after more trades were
imported) replaces it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from apps.batch.gex_join import contract_on, enriched_day, files_of
from apps.batch.jobs import JobKind, Plan, Progress, UnitPlan, job_kind_register
from apps.batch.kinds.gex_params import parse_gex_params
from apps.batch.kinds.sierra_common import lake_dir
from apps.batch.report import JobReport
from apps.storage.lake_write import LakeWrite

KIND = "enrich_tick_gex"


class EnrichTickGex(JobKind):
    name = KIND
    help = (
        "Trades joined to the GEX levels in force (ASOF JOIN) into enriched_ticks, a unit per day; "
        "params: symbol=, from=, to=, ticker=, package=, category="
    )
    progress_unit = "days"

    def parse_params(self, *, params: dict[str, str]) -> dict[str, Any]:
        return parse_gex_params(params=params, known=set())

    def plan(self, *, params: dict[str, Any]) -> Plan:
        report = JobReport()
        start, end = date.fromisoformat(params["from"]), date.fromisoformat(params["to"])
        units = []
        for offset in range((end - start).days + 1):
            day = start + timedelta(days=offset)
            symbol = contract_on(params["symbol"], day)
            if files_of(lake=lake_dir(), table="tick_data", day=day, symbol=symbol):
                units.append(
                    UnitPlan(label=f"{symbol} {day.isoformat()}", params={"day": day.isoformat(), "symbol": symbol})
                )
        if not units:
            report.warn(f"no trades of {params['symbol']} from {params['from']} to {params['to']}")
        return Plan(units=units, report=report)

    def run_unit(self, *, params: dict[str, Any], unit: dict[str, Any], progress: Progress, attempt: int) -> JobReport:
        report = JobReport()
        day, lake = date.fromisoformat(unit["day"]), lake_dir()
        rows = enriched_day(
            lake=lake, symbol=unit["symbol"], day=day, ticker=params["ticker"],
            package=params["package"], category=params["category"],
        )  # fmt: skip
        if rows is None:
            report.warn(f"{unit['symbol']} {unit['day']}: no trades")
            return report
        name = f"gex-{params['ticker']}-{params['package']}-{params['category']}.parquet"
        with LakeWrite(lake=lake) as write:
            write.append(table="enriched_ticks", day=day, symbol=unit["symbol"], name=name, rows=rows)
        without = rows["gex_ts"].null_count
        report.count("trades", rows.num_rows)
        if without:
            report.count("trades_without_gex", without)
            report.warn(
                f"{unit['symbol']} {unit['day']}: {without} trade(s) before any GEX snapshot of {params['ticker']}"
            )
        for path in write.published:
            report.output(path)
        return report


job_kind_register(EnrichTickGex())
