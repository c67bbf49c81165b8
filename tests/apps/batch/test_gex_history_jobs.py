"""GEX history imports run as batch jobs: the job list shows them with their report, in the
task GEX imports always had (its tests in tests/apps/gex run unchanged)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import time_machine

from apps.batch.models import BatchJob, BatchUnit
from apps.gex.models import GEXImportJob
from apps.gex.services.imports import gex_import_submit
from tests.apps.gex.test_imports import NOW, snapshot_json


@pytest.mark.slow
@pytest.mark.calendar
def test_a_gex_history_import_is_a_batch_job_with_a_report_on_friday_2026_12_04(
    celery_worker: Any, lake: Path, tmp_path: Path
) -> None:
    path = tmp_path / "spx.json"
    path.write_text(json.dumps([snapshot_json(0), snapshot_json(1), snapshot_json(2)]))
    with time_machine.travel(NOW):
        job, created = gex_import_submit(
            kind="file", source=str(path), ticker="SPX", package="classic", category="gex_full"
        )
    assert created
    deadline = time.monotonic() + 120
    while not BatchJob.objects.filter(kind="gex_history", state=BatchJob.State.DONE).exists():
        assert time.monotonic() < deadline, list(BatchJob.objects.values("state", "error"))
        time.sleep(0.1)

    batch = BatchJob.objects.get(kind="gex_history")
    assert batch.params == {"import_job": job.pk}
    assert batch.report["counts"] == {"snapshots": 3, "snapshots_new": 3}
    unit = BatchUnit.objects.get(job=batch)
    assert (unit.state, unit.attempts, unit.label) == (BatchUnit.State.DONE, 1, "file SPX/classic/gex_full")
    assert GEXImportJob.objects.get(pk=job.pk).state == GEXImportJob.State.COMPLETED
