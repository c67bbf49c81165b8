"""`import_depth`: Sierra Chart market depth files (`{symbol}.{YYYY-MM-DD}.depth`) into
`depth_data`, as the live feeds store depth: CLEAR_BOOK begins a snapshot (op 0) and each level
command is a SET of a side's price to a size (a delete sets size 0). One unit per UTC day of a
file (a Globex trade date spans two UTC days). Incremental like `import_scid`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from apps.batch.jobs import JobKind, Plan, Progress, job_kind_register
from apps.batch.kinds.sierra_common import (
    UnitWriter,
    check_times,
    finish_files,
    lake_dir,
    parse_file_params,
    plan_files,
    split_by_symbol,
    stream_ids,
    ts_column,
    unit_layout,
)
from apps.batch.report import JobReport
from apps.batch.sierra_files import (
    DEPTH_RECORD,
    FileLayout,
    RecordMap,
    depth_layout,
    float_prices,
    unix_us,
)
from apps.storage.lake_write import LakeWrite

KIND = "import_depth"
NO_COMMAND, CLEAR_BOOK = 0, 1
# Command -> (side: 1 bid, 2 ask; whether the level is removed).
LEVEL_COMMANDS = {2: (1, False), 3: (2, False), 4: (1, False), 5: (2, False), 6: (1, True), 7: (2, True)}
_SIDE = np.zeros(256, dtype=np.int8)
_DELETE = np.zeros(256, dtype=bool)
for _command, (_side, _delete) in LEVEL_COMMANDS.items():
    _SIDE[_command], _DELETE[_command] = _side, _delete


def depth_columns(
    records: np.ndarray, *, first: int, layout: FileLayout, source: str, multiplier: float, report: JobReport
) -> tuple[np.ndarray, dict[str, Any]]:
    """A chunk's depth operations (unix µs, columns of depth_data); unknown commands are warned
    about (file, byte offset, record) and skipped, NO_COMMAND records skipped."""
    check_times(layout, first, records["datetime"])
    commands = records["command"]
    unknown = np.flatnonzero(commands > 7)
    for position in unknown[:20]:
        index = first + int(position)
        report.warn(
            f"{layout.path} (byte {layout.offset_of(index)}, record {index}): unknown depth command "
            f"{int(commands[position])}; skipped"
        )
    if len(unknown) > 20:
        report.count("unknown_commands_not_listed", len(unknown) - 20)
    keep = (commands >= CLEAR_BOOK) & (commands <= 7)
    for name, count in (("no_command", (commands == NO_COMMAND).sum()), ("snapshots", (commands == CLEAR_BOOK).sum())):
        if count:
            report.count(name, int(count))
    kept = records[keep]
    at = unix_us(kept["datetime"], legacy=layout.legacy_times)
    clear = kept["command"] == CLEAR_BOOK
    removed = _DELETE[kept["command"]]
    prices = np.where(clear, 0.0, float_prices(kept["price"], multiplier))
    sizes = np.where(clear | removed, 0, kept["quantity"].astype(np.int64))
    return at, {
        "ts_event": ts_column(at),
        "op": pa.array(np.where(clear, 0, 1).astype(np.int8)),
        "side": pa.array(_SIDE[kept["command"]]),
        "price": prices,
        "size": sizes,
        "feed": pa.repeat(pa.scalar("sierra"), len(kept)),
        "stream_id": stream_ids(source, first, len(records), keep),
    }


class DepthImport(JobKind):
    name = KIND
    help = (
        "Sierra Chart .depth files into depth_data (snapshots and updates), one unit per day; "
        "params: file=PATH[,PATH], symbol=, from=/to=YYYY-MM-DD, price_multiplier=, full=1"
    )
    progress_unit = "records"

    def parse_params(self, *, params: dict[str, str]) -> dict[str, Any]:
        return parse_file_params(params=params, suffix=".depth")

    def plan(self, *, params: dict[str, Any]) -> Plan:
        return plan_files(kind=KIND, params=params, layout_of=depth_layout, dtype=DEPTH_RECORD)

    def run_unit(self, *, params: dict[str, Any], unit: dict[str, Any], progress: Progress, attempt: int) -> JobReport:
        layout = depth_layout(Path(unit["file"]))
        start, stop = unit_layout(layout, unit)
        report = JobReport()
        day = date.fromisoformat(unit["day"])
        with LakeWrite(lake=lake_dir()) as write:
            writer = UnitWriter(source=unit["source"], start=start, write=write)
            for first, chunk in RecordMap(layout, DEPTH_RECORD).chunks(start, stop):
                at, columns = depth_columns(
                    chunk, first=first, layout=layout, source=unit["source"],
                    multiplier=params["price_multiplier"], report=report,
                )  # fmt: skip
                split_by_symbol(writer, table="depth_data", day=day, symbol=unit["symbol"], unix_us=at, columns=columns)
                report.count("operations", len(at))
                progress(first + len(chunk) - start)
        report.count("records", stop - start)
        for path in write.published:
            report.output(path)
        return report

    def finish(self, *, params: dict[str, Any], units: list[dict[str, Any]], report: JobReport) -> None:
        finish_files(KIND, units)


job_kind_register(DepthImport())
