"""`export_bars`: bars of any interval with GEX columns and volume by aggressor side, for a
symbol and a date range, to a Parquet or CSV file (written whole under a temporary name, then
renamed). The REST endpoint `/api/bars/export` streams the same bytes."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from apps.batch.gex_join import EXPORT_FORMATS, INTERVAL_US, bars_export
from apps.batch.jobs import JobKind, Plan, Progress, UnitPlan, job_kind_register
from apps.batch.kinds.gex_params import parse_gex_params
from apps.batch.kinds.sierra_common import lake_dir
from apps.batch.report import JobReport
from apps.core.exceptions import BadInputError

KIND = "export_bars"


class ExportBars(JobKind):
    name = KIND
    help = (
        "Bars with GEX columns and buy/sell volume to a file; params: symbol=, from=, to=, interval=1m, "
        "format=parquet|csv, out=PATH, ticker=, package=, category="
    )
    progress_unit = "files"

    def parse_params(self, *, params: dict[str, str]) -> dict[str, Any]:
        parsed = parse_gex_params(params=params, known={"interval", "format", "out"})
        interval = params.get("interval", "1m").strip()
        if interval not in INTERVAL_US:
            raise BadInputError("interval", f"--param interval={interval!r} is not one of {', '.join(INTERVAL_US)}")
        fmt = params.get("format", "").strip().lower()
        out = Path(params.get("out", "").strip()).expanduser()
        if not params.get("out", "").strip():
            raise BadInputError("out", "--param out=PATH (the file to write) is required")
        fmt = fmt or out.suffix.lstrip(".").lower()
        if fmt not in EXPORT_FORMATS:
            raise BadInputError("format", f"--param format={fmt!r} must be one of {', '.join(EXPORT_FORMATS)}")
        if not out.resolve().parent.is_dir():
            raise BadInputError("out", f"--param out={out}: the directory {out.resolve().parent} does not exist")
        return {**parsed, "interval": interval, "format": fmt, "out": str(out.resolve())}

    def plan(self, *, params: dict[str, Any]) -> Plan:
        return Plan(units=[UnitPlan(label=f"{params['symbol']} {params['interval']} -> {params['out']}", params={})])

    def run_unit(self, *, params: dict[str, Any], unit: dict[str, Any], progress: Progress, attempt: int) -> JobReport:
        report = JobReport()
        start = datetime.combine(date.fromisoformat(params["from"]), datetime.min.time(), UTC)
        end = datetime.combine(date.fromisoformat(params["to"]), datetime.min.time(), UTC) + timedelta(days=1)
        stream = bars_export(
            lake=lake_dir(), symbol=params["symbol"], start=start, end=end, interval=params["interval"],
            ticker=params["ticker"], fmt=params["format"], package=params["package"], category=params["category"],
        )  # fmt: skip
        if stream is None:
            report.warn(f"no trades of {params['symbol']} from {params['from']} to {params['to']}; nothing written")
            return report
        out = Path(params["out"])
        temp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
        try:
            with temp.open("wb") as handle:
                written = sum(handle.write(chunk) for chunk in stream)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, out)
        finally:
            temp.unlink(missing_ok=True)
        report.count("bytes", written)
        report.output(str(out))
        return report


job_kind_register(ExportBars())
