"""Kill test: SIGKILL the worker in the middle of a multi-day import, `jobs resume` on a new
worker, and the lake holds every record exactly once."""

from __future__ import annotations

import signal
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from apps.batch.models import BatchJob, BatchUnit
from apps.batch.services import job_submit
from bench.scid_gen import generate_scid
from tests.apps.batch.conftest import lake_rows, start_worker, wait_for
from tests.conftest import ProcessGroup

DAYS = 6
PER_DAY = 200_000


@pytest.mark.slow
def test_sigkill_mid_import_then_resume_holds_every_record_exactly_once(
    tmp_path: Path, lake: Path, processes: ProcessGroup, process_env: dict[str, str]
) -> None:
    path = tmp_path / "ESH26_FUT_CME.scid"
    total = generate_scid(path, start=datetime(2026, 1, 5, 0, 30, tzinfo=UTC), days=DAYS, per_day=PER_DAY)
    env = {**process_env, "LAKE_DIR": str(lake)}
    first = start_worker(processes, env, "worker-a")

    job = job_submit(kind="import_scid", params={"file": str(path)}, who="tests")
    assert job.units.count() == DAYS

    def mid_import() -> bool:
        units = BatchUnit.objects.filter(job=job)
        return (
            units.filter(state=BatchUnit.State.DONE).exists() and units.filter(state=BatchUnit.State.RUNNING).exists()
        )

    wait_for(mid_import, what="one unit done and another running")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    killed = BatchUnit.objects.get(job=job, state=BatchUnit.State.RUNNING)
    done_before = set(BatchUnit.objects.filter(job=job, state=BatchUnit.State.DONE).values_list("index", flat=True))
    job.refresh_from_db()
    assert job.state == BatchJob.State.RUNNING
    assert len(done_before) < DAYS

    start_worker(processes, env, "worker-b")
    out = StringIO()
    call_command("jobs", "resume", str(job.pk), stdout=out)

    job.refresh_from_db()
    assert job.state == BatchJob.State.DONE, out.getvalue()
    assert set(job.checkpoint["units_done"]) == set(range(DAYS))
    # Units done before the kill were not run again; the killed one ran again.
    for index in done_before:
        assert BatchUnit.objects.get(job=job, index=index).attempts == 1
    assert BatchUnit.objects.get(pk=killed.pk).attempts >= 2
    # The killed unit's temporaries (never visible) were removed when it ran again.
    assert not [path.name for path in lake.rglob(".*.tmp-*") if path.is_file()]
    counts = lake_rows(
        lake, "tick_data", "count(*), count(distinct stream_id), min(seq), max(seq), sum(seq)", order="1"
    )
    assert counts == [(total, total, 0, total - 1, total * (total - 1) // 2)]
