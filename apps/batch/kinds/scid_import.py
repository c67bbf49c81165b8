"""`import_scid`: Sierra Chart intraday files (`.scid`) into the lake, one unit per UTC day of
each file. Trades go to `tick_data`, bid/ask-only updates to `quote_data`, bars to `bar_data`,
every row with `feed='sierra'` and `stream_id` = `sierra:{source}:{index}`; a trade stores its
record index as `seq` and the prefix `sierra:{source}:` as `stream_id`, the reader joining the two
(apps/storage/tables.py), so the file holds no string per row.

Incremental: a file's checkpoint (next record index, raw time of the last record) is advanced
when a job over the whole file finishes, so importing a grown file again plans only the new
records, and the same file twice imports nothing the second time. A unit writes one file per
partition named after the file's identity and the unit's first record: run again, it replaces
that file with the same rows (or, the file having grown since a failed run, with more).
"""

from __future__ import annotations

import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from apps.batch.jobs import JobKind, Plan, Progress, job_kind_register
from apps.batch.kinds.sierra_common import (
    UnitWriter,
    check_times,
    constant_strings,
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
    SCID_RECORD,
    FileLayout,
    RecordMap,
    float_prices,
    scid_classify,
    scid_layout,
    trade_sides,
    unix_us,
)
from apps.storage.lake_write import LakeWrite

KIND = "import_scid"
FEED = "sierra"
PARTS = 2  # files per partition a unit writes at once: one per core


def scid_tables(
    records: np.ndarray, *, first: int, layout: FileLayout, source: str, multiplier: float
) -> dict[str, tuple[np.ndarray, dict[str, Any]]]:
    """A chunk's rows by lake table: (unix µs of the rows, columns in the table's schema)."""
    check_times(layout, first, records["datetime"])
    times = unix_us(records["datetime"], legacy=layout.legacy_times)
    kinds = scid_classify(records)
    tables: dict[str, tuple[np.ndarray, dict[str, Any]]] = {}
    count = len(records)
    if kinds.trades.any():
        every = bool(kinds.trades.all())  # a file of trades only, the usual case: no copies
        trades = records if every else records[kinds.trades]
        at = times if every else times[kinds.trades]
        index = np.arange(first, first + count, dtype=np.int64)
        ts = ts_column(at)
        tables["tick_data"] = (at, {
            "ts_event": ts, "ts_recv": ts,
            "price": float_prices(trades["close"], multiplier), "size": trades["total_volume"].astype(np.int64),
            "side": trade_sides(trades), "feed": constant_strings(FEED, len(trades)),
            "seq": index if every else index[kinds.trades],
            "stream_id": constant_strings(f"{FEED}:{source}:", len(trades)),
        })  # fmt: skip
    if kinds.quotes.any():
        quotes, at = records[kinds.quotes], times[kinds.quotes]
        ts = ts_column(at)
        tables["quote_data"] = (at, {
            "ts_event": ts, "ts_recv": ts,
            "bid_price": float_prices(quotes["low"], multiplier), "bid_size": quotes["bid_volume"].astype(np.int64),
            "ask_price": float_prices(quotes["high"], multiplier), "ask_size": quotes["ask_volume"].astype(np.int64),
            "feed": pa.repeat(pa.scalar("sierra"), len(quotes)),
            "stream_id": stream_ids(source, first, count, kinds.quotes),
        })  # fmt: skip
    if kinds.bars.any():
        bars, at = records[kinds.bars], times[kinds.bars]
        tables["bar_data"] = (at, {
            "ts_event": ts_column(at), "open": float_prices(bars["open"], multiplier),
            "high": float_prices(bars["high"], multiplier), "low": float_prices(bars["low"], multiplier),
            "close": float_prices(bars["close"], multiplier), "volume": bars["total_volume"].astype(np.int64),
            "num_trades": bars["num_trades"].astype(np.int64), "bid_volume": bars["bid_volume"].astype(np.int64),
            "ask_volume": bars["ask_volume"].astype(np.int64), "feed": pa.repeat(pa.scalar("sierra"), len(bars)),
            "stream_id": stream_ids(source, first, count, kinds.bars),
        })  # fmt: skip
    return tables


class ScidImport(JobKind):
    name = KIND
    help = (
        "Sierra Chart .scid files into the lake (trades, bid/ask updates, bars), one unit per day; "
        "params: file=PATH[,PATH], symbol=, from=/to=YYYY-MM-DD, price_multiplier=, full=1"
    )
    progress_unit = "records"

    def parse_params(self, *, params: dict[str, str]) -> dict[str, Any]:
        return parse_file_params(params=params, suffix=".scid")

    def plan(self, *, params: dict[str, Any]) -> Plan:
        return plan_files(kind=KIND, params=params, layout_of=scid_layout, dtype=SCID_RECORD)

    def run_unit(self, *, params: dict[str, Any], unit: dict[str, Any], progress: Progress, attempt: int) -> JobReport:
        layout = scid_layout(Path(unit["file"]))
        start, stop = unit_layout(layout, unit)
        report = JobReport()
        records = RecordMap(layout, SCID_RECORD)
        day = date.fromisoformat(unit["day"])
        names = {"tick_data": "trades", "quote_data": "quotes", "bar_data": "bars"}

        counting = threading.Lock()

        def import_chunk(part: int, first: int, chunk: np.ndarray) -> int:
            tables = scid_tables(
                chunk, first=first, layout=layout, source=unit["source"], multiplier=params["price_multiplier"]
            )
            for table, (at, columns) in tables.items():
                split_by_symbol(
                    writer, table=table, day=day, symbol=unit["symbol"], unix_us=at, columns=columns, part=part
                )
                with counting:
                    report.count(names[table], len(at))
            return first + len(chunk)

        # Chunk k is decoded and written by thread k % PARTS into that part's file of each
        # partition: numpy and Parquet encoding release the GIL, so the parts use both cores; one
        # thread per part keeps each file's rows in record order (and a rerun's files identical).
        # The threads end before the LakeWrite does (an error: before its files are removed).
        with LakeWrite(lake=lake_dir()) as write:
            writer = UnitWriter(source=unit["source"], start=start, write=write, parts=PARTS)
            pools = [ThreadPoolExecutor(max_workers=1) for _ in range(PARTS)]
            try:
                pending: deque[Future[int]] = deque()
                for number, (first, chunk) in enumerate(records.chunks(start, stop)):
                    pending.append(pools[number % PARTS].submit(import_chunk, number % PARTS, first, chunk))
                    if len(pending) > PARTS:  # at most PARTS + 1 chunks decoded at once
                        progress(pending.popleft().result() - start)
                while pending:
                    progress(pending.popleft().result() - start)
            finally:
                for pool in pools:
                    pool.shutdown(wait=True, cancel_futures=True)
        report.count("records", stop - start)
        if writer.skipped:
            report.count("already_in_lake", writer.skipped)
        for path in write.published:
            report.output(path)
        return report

    def finish(self, *, params: dict[str, Any], units: list[dict[str, Any]], report: JobReport) -> None:
        finish_files(KIND, units)


job_kind_register(ScidImport())
