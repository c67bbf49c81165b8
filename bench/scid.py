"""SCID import benchmark: Sierra Chart records -> lake Parquet (the `import_scid` unit's own code:
read the memory map in chunks, classify, build the Arrow columns, write LZ4 Parquet, publish)
against the same run's plain numpy memory-map copy of the same file, on a generated file.

    .venv/bin/python -m bench.scid [--records 50000000] [--dir /tmp] [--keep]

Peak memory is sampled from /proc/self/status while each part runs: private memory (RssAnon)
and the whole resident set (VmRSS, which also counts the file's pages mapped from the page cache).
Results go to stdout as a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pipeline_project.settings.local")
django.setup()

import numpy as np  # noqa: E402
from django.conf import settings  # noqa: E402

from apps.batch.kinds.scid_import import ScidImport  # noqa: E402
from apps.batch.kinds.sierra_common import first_record_bytes, source_id  # noqa: E402
from apps.batch.sierra_files import CHUNK_RECORDS, SCID_RECORD, scid_layout  # noqa: E402
from bench.scid_gen import generate_scid  # noqa: E402

START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)


def _status() -> dict[str, int]:
    values = {}
    with open("/proc/self/status") as handle:
        for line in handle:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "RssAnon", "RssFile"):
                values[name] = int(rest.split()[0]) * 1024
    return values


def measured(work: Callable[[], Any]) -> tuple[float, dict[str, int]]:
    """(seconds, peak of each memory figure) of `work()`."""
    peaks: dict[str, int] = {}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            for name, value in _status().items():
                peaks[name] = max(peaks.get(name, 0), value)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    work()
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    return elapsed, peaks


def numpy_copy(path: Path, records: int) -> None:
    """The reference: copy every record out of a numpy memory map, chunk by chunk."""
    mapped = np.memmap(path, dtype=SCID_RECORD, mode="r", offset=56, shape=(records,))
    total = 0
    for first in range(0, records, CHUNK_RECORDS):
        chunk = np.array(mapped[first : first + CHUNK_RECORDS])
        total += len(chunk)
    assert total == records
    del mapped


def scid_to_lake(path: Path, records: int, lake: Path) -> None:
    """The import unit's code on the whole file as one unit (one UTC day)."""
    settings.LAKE_DIR = lake
    layout = scid_layout(path)
    unit = {"file": str(path), "source": source_id(layout, first_record_bytes(layout)), "symbol": "ESH26",
            "day": START.date().isoformat(), "start": 0, "stop": records}  # fmt: skip
    report = ScidImport().run_unit(params={"price_multiplier": 1.0}, unit=unit, progress=lambda done: None, attempt=1)
    assert report.counts["trades"] == records, report.counts


def warm(path: Path) -> None:
    with path.open("rb") as handle:
        while handle.read(64 << 20):
            pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=50_000_000)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--keep", action="store_true", help="keep the generated file and lake")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-scid-", dir=args.dir))
    path = work / "ESH26_FUT_CME.scid"
    try:
        generated = time.perf_counter()
        records = generate_scid(path, start=START, days=1, per_day=args.records)
        generated = time.perf_counter() - generated
        warm(path)
        rows = []
        for run in (1, 2):
            ref_seconds, ref_memory = measured(lambda: numpy_copy(path, records))
            lake = work / f"lake-{run}"
            our_seconds, our_memory = measured(lambda lake=lake: scid_to_lake(path, records, lake))
            parquet_bytes = sum(file.stat().st_size for file in lake.rglob("*.parquet"))
            rows.append((run, records / our_seconds, records / ref_seconds, our_memory, ref_memory, parquet_bytes))
            shutil.rmtree(lake)
        size = path.stat().st_size
        print(
            f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        )
        print(f"file: {records:,} records, {size / 1e9:.2f} GB (generated in {generated:.1f} s)\n")
        print("| run | SCID -> lake Parquet, records/s | numpy memmap copy, records/s | ratio | "
              "peak private memory (RssAnon) | peak VmRSS | reference peak RssAnon | Parquet size |")  # fmt: skip
        print("|---|---|---|---|---|---|---|---|")
        for run, ours, reference, our_memory, ref_memory, parquet_bytes in rows:
            print(
                f"| {run} | {ours:,.0f} | {reference:,.0f} | {ours / reference:.2f} | "
                f"{our_memory.get('RssAnon', 0) / 1e6:,.0f} MB | {our_memory.get('VmRSS', 0) / 1e6:,.0f} MB | "
                f"{ref_memory.get('RssAnon', 0) / 1e6:,.0f} MB | {parquet_bytes / 1e6:,.0f} MB |"
            )
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
