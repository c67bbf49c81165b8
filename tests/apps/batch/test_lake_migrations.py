"""Lake migrations: a versioned change of a table's files, run as a job partition by partition
with compaction's atomic swap, resumable; the lake records its version and readers and writers
refuse a lake newer than they know."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from apps.batch.models import BatchJob
from apps.batch.services import job_dispatch, job_resume, job_run_here, job_submit, unit_run
from apps.storage.connection import lake_connection
from apps.storage.lake_migrations import (
    VERSION_FILE,
    LakeMigration,
    LakeVersionError,
    lake_migration_register,
    lake_migration_unregister,
    lake_version,
)
from apps.storage.lake_write import LakeWrite
from tests.apps.batch.conftest import lake_rows
from tests.apps.batch.sierra_writer import trade, write_scid

T0 = datetime(2025, 12, 15, 14, 30, tzinfo=UTC)
DAYS = 3


def add_notional(table: str, rows: pa.Table) -> pa.Table:
    """Version 2 (a test migration): tick_data gains `notional` = price x size. Idempotent."""
    if "notional" in rows.column_names:
        return rows
    return rows.append_column("notional", pc.multiply(rows["price"], pc.cast(rows["size"], pa.float64())))


@pytest.fixture
def notional_migration() -> Iterator[LakeMigration]:
    migration = LakeMigration(version=2, name="tick_data.notional", tables=("tick_data",), transform=add_notional)
    lake_migration_register(migration)
    yield migration
    lake_migration_unregister(version=2)


@pytest.fixture
def three_days(lake: Path, tmp_path: Path) -> Path:
    path = write_scid(
        tmp_path / "ESH26_FUT_CME.scid",
        [trade(T0 + timedelta(days=d, seconds=i), 6000.0 + i, bid=6000.0, ask=6000.25, size=i + 1, at_ask=True)
         for d in range(DAYS) for i in range(2)],
    )  # fmt: skip
    call_command("import_scid", str(path), "--here", stdout=StringIO())
    return lake


def notional_of_every_file(lake: Path) -> list[list[float]]:
    return [pq.read_table(path)["notional"].to_pylist() for path in sorted((lake / "tick_data").rglob("*.parquet"))]


@pytest.mark.django_db
def test_a_migration_rewrites_every_partition_and_records_the_version(
    three_days: Path, notional_migration: object
) -> None:
    lake = three_days
    assert lake_version(lake) == 1
    out = StringIO()
    call_command("jobs", "run", "lake_migrate", "--here", stdout=out)

    assert lake_version(lake) == 2
    assert json.loads((lake / VERSION_FILE).read_text())["applied"] == ["2: tick_data.notional"]
    assert notional_of_every_file(lake) == [[6000.0, 12002.0]] * DAYS
    assert len(lake_rows(lake, "tick_data")) == 2 * DAYS
    assert all(path.name.startswith("migrated-v2-") for path in (lake / "tick_data").rglob("*.parquet"))

    again = StringIO()
    call_command("jobs", "run", "lake_migrate", "--here", stdout=again)
    assert "the lake is at version 2: nothing to migrate" in again.getvalue()


@pytest.mark.django_db
def test_a_stopped_migration_resumes_and_partitions_done_twice_are_left_alone(
    three_days: Path, notional_migration: object
) -> None:
    lake = three_days
    job = job_submit(kind="lake_migrate", params={}, enqueue=False)
    queued = job_dispatch(job_id=job.pk, send=None)
    unit_run(unit_id=queued[0][0], token=queued[0][1], dispatch_next=False)
    # The worker died with the second unit; the version is not recorded yet.
    assert lake_version(lake) == 1
    job_resume(job_id=job.pk, enqueue=False)
    job = job_run_here(job_id=job.pk)

    assert job.state == BatchJob.State.DONE
    assert lake_version(lake) == 2
    assert notional_of_every_file(lake) == [[6000.0, 12002.0]] * DAYS
    assert len(lake_rows(lake, "tick_data")) == 2 * DAYS


@pytest.mark.django_db
def test_readers_and_writers_refuse_a_lake_newer_than_they_know(three_days: Path, tmp_path: Path) -> None:
    lake = three_days
    (lake / VERSION_FILE).write_text(json.dumps({"version": 7, "applied": []}))

    with pytest.raises(LakeVersionError, match=r"has schema version 7, newer than this code knows \(1\)"):
        lake_connection(lake)
    with pytest.raises(LakeVersionError, match="schema version 7"):
        LakeWrite(lake=lake)
    newer = write_scid(tmp_path / "ESM26_FUT_CME.scid", [trade(T0, 1.0, bid=1.0, ask=1.25, size=1, at_ask=True)])
    with pytest.raises(CommandError, match="schema version 7"):
        call_command("import_scid", str(newer), "--here", stdout=StringIO())
    assert not list((lake / "tick_data").glob("*/symbol=ESM26"))

    (lake / VERSION_FILE).write_text("{not json")
    with pytest.raises(LakeVersionError, match="the lake's version file cannot be read"):
        lake_connection(lake)
