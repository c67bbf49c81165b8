"""A large import on the batch queue does not hold up the flush: while a multi-day SCID import
runs on its own worker, every flush cycle on the flush worker completes and lands every trade
written before it started (lag bounded by one cycle, in entries, not in seconds)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from apps.batch.models import BatchJob, BatchUnit
from apps.batch.services import job_submit
from apps.storage.tasks import flush_streams
from bench.scid_gen import generate_scid
from tests.apps.batch.conftest import lake_rows, start_worker, wait_for
from tests.conftest import ProcessGroup
from tests.factories import trade, write

DAYS = 6
PER_DAY = 400_000
TRADES_PER_CYCLE = 2_000


def live_trades_in_lake(lake: Path) -> int:
    """The streamed trades (ESZ26) the lake holds."""
    files = list((lake / "tick_data").glob("date=*/symbol=ESZ26/*.parquet"))
    if not files:
        return 0
    with duckdb.connect() as connection:
        row = connection.execute("select count(*) from read_parquet(?)", [[str(path) for path in files]]).fetchone()
    return int(row[0]) if row else 0


@pytest.mark.slow
def test_flush_completes_every_cycle_while_a_large_import_runs(
    tmp_path: Path, lake: Path, processes: ProcessGroup, process_env: dict[str, str]
) -> None:
    path = tmp_path / "ESH26_FUT_CME.scid"
    imported = generate_scid(path, start=datetime(2026, 1, 5, 0, 30, tzinfo=UTC), days=DAYS, per_day=PER_DAY)
    env = {**process_env, "LAKE_DIR": str(lake)}
    start_worker(processes, env, "batch-worker")
    start_worker(processes, env, "flush-worker", queue="flush")

    job = job_submit(kind="import_scid", params={"file": str(path)}, who="tests")
    wait_for(lambda: BatchUnit.objects.filter(job=job, state=BatchUnit.State.RUNNING).exists(), what="the import")

    written, overlapping = 0, 0
    while True:
        running_before = BatchJob.objects.get(pk=job.pk).state == BatchJob.State.RUNNING
        write([[trade(written / 1000 + i / 1_000_000, 6000.25, seq=written + i) for i in range(TRADES_PER_CYCLE)]])
        written += TRADES_PER_CYCLE
        # A flush cycle on the flush worker: it must complete, and land everything written before it.
        flush_streams.apply_async().get(timeout=120)
        assert live_trades_in_lake(lake) == written
        running_after = BatchJob.objects.get(pk=job.pk).state == BatchJob.State.RUNNING
        if running_before and running_after:
            overlapping += 1
        if not running_after:
            break
    assert overlapping >= 2, "the import ended before flush cycles could run beside it; make it larger"

    wait_for(lambda: BatchJob.objects.get(pk=job.pk).finished, what="the import to end")
    assert BatchJob.objects.get(pk=job.pk).state == BatchJob.State.DONE
    total = lake_rows(lake, "tick_data", "count(*)", order="1")
    assert total == [(imported + written,)]
