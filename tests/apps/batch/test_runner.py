"""The batch runner: units up to the concurrency cap, a checkpoint per unit, stale messages
ignored, resume from the checkpoint, cancel, failures naming the unit, the jobs command and the
admin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from apps.batch.management.job_output import follow
from apps.batch.models import BatchJob, BatchUnit
from apps.batch.services import job_cancel, job_dispatch, job_resume, job_run_here, job_submit, unit_run
from apps.core.services import runtime_setting_update
from tests.apps.batch.conftest import lake_rows
from tests.apps.batch.sierra_writer import trade, write_scid

T0 = datetime(2025, 12, 15, 14, 30, tzinfo=UTC)
DAYS = 4
PER_DAY = 3


def multi_day_file(path: Path) -> Path:
    records = [
        trade(T0 + timedelta(days=day, seconds=i), 6000.0 + day, bid=6000.0, ask=6000.25, size=i + 1, at_ask=i % 2 == 0)
        for day in range(DAYS)
        for i in range(PER_DAY)
    ]
    return write_scid(path, records)


@pytest.fixture
def scid(tmp_path: Path) -> Path:
    return multi_day_file(tmp_path / "ESH26_FUT_CME.scid")


def submit(path: Path) -> BatchJob:
    return job_submit(kind="import_scid", params={"file": str(path)}, who="tests", enqueue=False)


@pytest.mark.django_db
def test_units_are_queued_up_to_the_cap_and_each_records_its_checkpoint(
    lake: Path, scid: Path, django_capture_on_commit_callbacks: Any
) -> None:
    runtime_setting_update(key="batch.max_parallel_units", value=2)
    job = submit(scid)
    assert (job.state, job.progress_total, job.units.count()) == (BatchJob.State.QUEUED, DAYS * PER_DAY, DAYS)
    sent: list[BatchUnit] = []

    with django_capture_on_commit_callbacks(execute=True):
        first = job_dispatch(job_id=job.pk, send=sent.append)
        assert len(first) == 2
        assert job_dispatch(job_id=job.pk, send=sent.append) == []  # the cap is full

    unit_run(unit_id=first[0][0], token=first[0][1], dispatch_next=False)
    job.refresh_from_db()
    assert job.state == BatchJob.State.RUNNING
    assert job.checkpoint["units_done"] == [0]
    assert job.progress_done == PER_DAY
    with django_capture_on_commit_callbacks(execute=True):
        assert len(job_dispatch(job_id=job.pk, send=sent.append)) == 1  # one slot freed
    assert [unit.index for unit in sent] == [0, 1, 2]

    for unit in sent[1:]:
        unit_run(unit_id=unit.pk, token=unit.token, dispatch_next=False)
    job = job_run_here(job_id=job.pk)
    assert job.state == BatchJob.State.DONE
    assert job.checkpoint["units_done"] == list(range(DAYS))
    assert len(lake_rows(lake, "tick_data")) == DAYS * PER_DAY


@pytest.mark.django_db
def test_a_stale_message_does_nothing_and_a_resumed_job_runs_every_record_once(lake: Path, scid: Path) -> None:
    job = submit(scid)
    queued = job_dispatch(job_id=job.pk, send=None)
    unit_run(unit_id=queued[0][0], token=queued[0][1], dispatch_next=False)
    # The worker that held the second unit died; the job is resumed from its checkpoint.
    job_resume(job_id=job.pk, enqueue=False)
    assert unit_run(unit_id=queued[1][0], token=queued[1][1]) is None  # the dead worker's message, redelivered

    job = job_run_here(job_id=job.pk)

    assert job.state == BatchJob.State.DONE
    assert BatchUnit.objects.get(job=job, index=0).attempts == 1  # done units were not run again
    rows = lake_rows(lake, "tick_data", "seq")
    assert [row[0] for row in rows] == list(range(DAYS * PER_DAY))


@pytest.mark.django_db
def test_a_unit_run_twice_neither_loses_nor_doubles_rows(lake: Path, scid: Path) -> None:
    job = submit(scid)
    job_run_here(job_id=job.pk)
    unit = BatchUnit.objects.get(job=job, index=1)
    # The same unit again, as a retry after a crash between its write and its bookkeeping would.
    BatchUnit.objects.filter(pk=unit.pk).update(state=BatchUnit.State.QUEUED, token="again")
    BatchJob.objects.filter(pk=job.pk).update(state=BatchJob.State.RUNNING)
    unit_run(unit_id=unit.pk, token="again", dispatch_next=False)
    assert len(lake_rows(lake, "tick_data")) == DAYS * PER_DAY


@pytest.mark.django_db
def test_a_cancelled_job_starts_no_unit(lake: Path, scid: Path) -> None:
    job = submit(scid)
    queued = job_dispatch(job_id=job.pk, send=None)
    job_cancel(job_id=job.pk)

    assert unit_run(unit_id=queued[0][0], token=queued[0][1]) is None
    job.refresh_from_db()
    assert job.state == BatchJob.State.CANCELLED
    assert lake_rows(lake, "tick_data") == []
    with pytest.raises(Exception, match="only an unfinished job can be cancelled"):
        job_cancel(job_id=job.pk)


@pytest.mark.django_db
def test_a_file_that_shrinks_fails_the_unit_naming_it_and_a_rerun_after_the_fix_completes(
    lake: Path, scid: Path
) -> None:
    job = submit(scid)
    whole = scid.read_bytes()
    scid.write_bytes(whole[: 56 + 40 * (2 * PER_DAY)])  # two days left

    job = job_run_here(job_id=job.pk)

    assert job.state == BatchJob.State.FAILED
    assert f"unit 2 ({scid.name} 2025-12-17 records 6..8): {scid} (record 8): the file holds 6 records now" in job.error
    assert len(lake_rows(lake, "tick_data")) == 2 * PER_DAY  # the whole days before it, nothing of it

    scid.write_bytes(whole)
    out = StringIO()
    call_command("jobs", "resume", str(job.pk), "--here", stdout=out)
    job.refresh_from_db()
    assert job.state == BatchJob.State.DONE
    assert len(lake_rows(lake, "tick_data")) == DAYS * PER_DAY


@pytest.mark.django_db
def test_jobs_command_in_a_pipe_prints_plain_lines_and_shows_lists_and_cancels(lake: Path, scid: Path) -> None:
    out = StringIO()
    call_command("jobs", "run", "import_scid", "--param", f"file={scid}", "--here", stdout=out)
    lines = out.getvalue().splitlines()
    job = BatchJob.objects.get()
    assert lines[0] == f"job {job.pk}: import_scid submitted"
    assert f"job {job.pk} import_scid: running 3/12 records (25.0%)" in lines
    assert lines[-1].startswith(f"job {job.pk}: done: records 12, trades 12; 0 warning(s); 4 output(s)")
    assert "\x1b[" not in out.getvalue()  # no terminal escapes in a pipe

    shown = StringIO()
    call_command("jobs", "show", str(job.pk), stdout=shown)
    assert "unit 3 ESH26_FUT_CME.scid 2025-12-18 records 9..11: done (attempts 1)" in shown.getvalue()
    assert "output: tick_data/date=2025-12-18/symbol=ESH26/sierra-" in shown.getvalue()

    listing = StringIO()
    call_command("jobs", "list", stdout=listing)
    assert listing.getvalue().startswith(f"job {job.pk} import_scid: done 12/12 records (100.0%)")

    call_command("jobs", "run", "import_scid", "--param", f"file={scid}", "--param", "full=1", "--detach", stdout=out)
    second = BatchJob.objects.latest("pk")
    call_command("jobs", "cancel", str(second.pk), stdout=out)
    second.refresh_from_db()
    assert second.state == BatchJob.State.CANCELLED


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "no_such_kind"], "unknown job kind 'no_such_kind'; known: "),
        (["run", "import_scid", "--param", "file"], "--param 'file' must be KEY=VALUE"),
        (["run", "import_scid", "--param", "file=/nowhere.scid"], "/nowhere.scid: no such file"),
        (["run", "import_scid", "--param", "colour=red"], "unknown parameter 'colour'"),
        (["resume", "99"], "no batch job 99"),
    ],
)
@pytest.mark.django_db
def test_jobs_command_refuses_bad_arguments_naming_them(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call_command("jobs", *args, stdout=StringIO())
    assert not BatchJob.objects.exists()


@pytest.mark.django_db
def test_the_admin_lists_progress_and_reports_and_resumes_and_cancels(lake: Path, scid: Path) -> None:
    failed = submit(scid)
    whole = scid.read_bytes()
    scid.write_bytes(whole[: 56 + 40 * PER_DAY])
    job_run_here(job_id=failed.pk)
    scid.write_bytes(whole)
    other = submit(scid)

    admin = get_user_model().objects.create_superuser("admin", "admin@example.com", "secret-password")
    browser = Client()
    browser.force_login(admin)
    changelist = reverse("admin:batch_batchjob_changelist")
    html = browser.get(changelist).content.decode()
    assert "3 / 12 records (25.0%)" in html
    assert "the file holds 3 records now" in html
    page = browser.get(reverse("admin:batch_batchjob_change", args=[failed.pk])).content.decode()
    assert "records 3, trades 3; 0 warning(s); 1 output(s)" in page

    response = browser.post(changelist, {"action": "cancel_jobs", "_selected_action": [other.pk]}, follow=True)
    assert [str(message) for message in response.context["messages"]] == [f"cancelled job(s) {other.pk}"]
    other.refresh_from_db()
    assert other.state == BatchJob.State.CANCELLED
    response = browser.post(changelist, {"action": "resume_jobs", "_selected_action": [failed.pk]}, follow=True)
    assert [str(message) for message in response.context["messages"]] == [f"resumed job(s) {failed.pk}"]
    failed.refresh_from_db()
    assert failed.state == BatchJob.State.QUEUED
    assert job_run_here(job_id=failed.pk).state == BatchJob.State.DONE
    assert len(lake_rows(lake, "tick_data")) == DAYS * PER_DAY


@pytest.mark.slow
def test_a_job_runs_on_a_real_worker_and_the_command_follows_it(celery_worker: Any, lake: Path, scid: Path) -> None:
    out = StringIO()
    call_command("jobs", "run", "import_scid", "--param", f"file={scid}", stdout=out)
    job = BatchJob.objects.get()
    assert out.getvalue().splitlines()[-1].startswith(f"job {job.pk}: done: records 12, trades 12")
    assert BatchUnit.objects.filter(job=job, state=BatchUnit.State.DONE).count() == DAYS
    assert len(lake_rows(lake, "tick_data")) == DAYS * PER_DAY


@pytest.mark.django_db
def test_on_a_terminal_the_job_is_followed_with_a_progress_bar(lake: Path, scid: Path) -> None:
    job = job_run_here(job_id=submit(scid).pk)
    screen = StringIO()

    follow(job.pk, out=screen, tty=True)

    shown = screen.getvalue()
    assert "\x1b[" in shown  # drawn with terminal escapes
    assert f"job {job.pk} import_scid" in shown
    assert "━" in shown  # the bar
    assert "12 records" in shown
