"""GEX history imports: jobs that run once, retry what may pass and fail with a reason a user can
act on, leave nothing behind from a bad file, land in the lake, and show up in the admin."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import httpx
import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from pydantic import SecretStr

from apps.core import keys
from apps.core.redis import get_redis
from apps.gex.models import GEXImportJob
from apps.gex.parsing import parse_history
from apps.gex.services.imports import (
    CHUNK_SNAPSHOTS,
    GEXImportError,
    GEXImportRetryableError,
    gex_import_progress,
    gex_import_run,
    gex_import_submit,
)
from apps.gex.services.snapshots import snapshots_record_many
from apps.storage.connection import lake_connection
from tests.fakes.gexbot import FAKE_API_KEY, HISTORY_FILE, PAYLOADS, FakeGEXBot

State = GEXImportJob.State


# Every import here is submitted on Friday 2026-12-04, 10:00 New York: GEXBot's 90-day history
# window then reaches back to 2026-09-05, and the week before holds Thanksgiving and a Saturday.
NOW = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
TODAY = date(2026, 12, 4)
DAY = "2026-12-03"  # Thursday, a trading day
SATURDAY = date(2026, 11, 28)
T0 = 1795962600  # 2026-11-24 14:30 UTC, 09:30 in New York


def snapshot_json(index: int, *, spot: float = 6700.0) -> dict[str, Any]:
    return {
        "timestamp": T0 + index,
        "ticker": "SPX",
        "min_dte": 0,
        "sec_min_dte": 1,
        "spot": spot + index / 4,
        "zero_gamma": spot - 20,
        "major_pos_vol": 6725,
        "major_pos_oi": 6750,
        "major_neg_vol": 6650,
        "major_neg_oi": 6600,
        "strikes": [[6650, -120.5, -80.25, [-118.0, -110.5]], [6725, 210.0, 95.5, [200.0, 190.5, 180.0, 170.5, 160.0]]],
        "sum_gex_vol": 1500000.5,
        "sum_gex_oi": 51000.25,
        "delta_risk_reversal": 0.12,
        "max_priors": [[6725, 1500.0], [6725, 9900.5]],
    }


def history_file(path: Path, snapshots: list[dict[str, Any]], **dump: Any) -> Path:
    path.write_text(json.dumps(snapshots, **dump))
    return path


def stream_length(ticker: str = "SPX") -> int:
    return int(get_redis().xlen(keys.gex_snapshots(ticker)))


def lake_rows(lake: Path) -> int:
    if not (lake / "gex_snapshots").exists():
        return 0
    row = lake_connection(lake).execute("select count(*) from gex_snapshots").fetchone()
    return int(row[0]) if row else 0


def wait_for(predicate: Callable[[], bool], *, timeout: float = 120.0, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.1)


def job_state(job_id: int) -> str:
    return GEXImportJob.objects.get(pk=job_id).state


@pytest.fixture(autouse=True)
def _friday() -> Iterator[None]:
    with time_machine.travel(NOW):
        yield


@pytest.fixture
def lake(tmp_path: Path, settings: Any) -> Path:
    settings.LAKE_DIR = tmp_path / "lake"
    return tmp_path / "lake"


@pytest.fixture
def gexbot(settings: Any) -> Iterator[FakeGEXBot]:
    """The fake GEXBot, configured as this process's GEXBot (the worker thread reads the same settings)."""
    with FakeGEXBot() as fake:
        settings.ENV = settings.ENV.model_copy(
            update={"GEXBOT_API_KEY": SecretStr(FAKE_API_KEY), "GEXBOT_BASE_URL": fake.base_url}
        )
        yield fake


def presigned_url(fake: FakeGEXBot, day: str = DAY) -> str:
    response = httpx.get(
        f"{fake.base_url}/hist/SPX/classic/gex_full/{day}?noredirect",
        headers={"Authorization": f"Bearer {FAKE_API_KEY}", "User-Agent": "tests", "Accept": "application/json"},
    )
    response.raise_for_status()
    return str(response.json()["url"])


@pytest.mark.django_db
def test_a_bad_file_fails_naming_the_file_and_element_and_records_nothing(lake: Path, tmp_path: Path) -> None:
    bad = snapshot_json(1)
    bad["strikes"][1][0] = "6725"  # a strike as a string
    path = history_file(tmp_path / "spx-2026-11-24.json", [snapshot_json(0), bad, snapshot_json(2)])

    job, created = gex_import_submit(
        kind="file", source=str(path), ticker="SPX", package="classic", category="gex_full", enqueue=False
    )
    assert created
    gex_import_run(job_id=job.pk)

    job.refresh_from_db()
    assert job.state == State.FAILED
    assert str(path) in job.error
    assert "[1].strikes[1][0]" in job.error
    assert "'6725'" in job.error
    assert (job.attempts, job.rows_imported) == (1, 0)
    # Element 0 was good, but nothing of the file was recorded.
    assert stream_length() == 0
    assert get_redis().zcard(keys.gex_recorded("SPX")) == 0
    assert lake_rows(lake) == 0
    progress = gex_import_progress(job_id=job.pk)
    assert progress is not None
    assert progress["state"] == "failed"
    assert progress["error"] == job.error


@pytest.mark.django_db
def test_a_whole_day_is_recorded_in_chunks_and_lands_in_the_lake(lake: Path, tmp_path: Path) -> None:
    # More snapshots than the GEX stream keeps (its length cap): all of them must reach the lake.
    count = 12_000
    path = history_file(tmp_path / "day.json", [snapshot_json(index) for index in range(count)])
    job, _ = gex_import_submit(
        kind="file", source=str(path), ticker="SPX", package="classic", category="gex_full", enqueue=False
    )
    reports: list[tuple[int, int]] = []

    gex_import_run(job_id=job.pk, progress=lambda done, total: reports.append((done, total)))

    job.refresh_from_db()
    assert (job.state, job.error) == (State.COMPLETED, "")
    assert (job.rows_imported, job.progress_done, job.progress_total, job.progress_percent) == (
        count,
        count,
        count,
        100.0,
    )
    assert reports == [(done, count) for done in range(CHUNK_SNAPSHOTS, count + 1, CHUNK_SNAPSHOTS)]
    progress = gex_import_progress(job_id=job.pk)
    assert progress is not None
    assert progress.pop("updated_at")
    assert progress == {
        "state": "completed",
        "done": str(count),
        "total": str(count),
        "rows_imported": str(count),
        "attempts": "1",
        "error": "",
    }
    assert lake_rows(lake) == count


@pytest.mark.django_db
def test_a_run_after_a_crash_half_way_does_not_record_twice(lake: Path, tmp_path: Path) -> None:
    snapshots = [snapshot_json(index) for index in range(3)]
    path = history_file(tmp_path / "three.json", snapshots)
    job, _ = gex_import_submit(
        kind="file", source=str(path), ticker="SPX", package="classic", category="gex_full", enqueue=False
    )
    # A worker recorded the first two, saved its progress and died: the job is still "processing".
    parsed = list(parse_history(path.read_bytes(), ticker="SPX", package="classic", category="gex_full"))
    assert snapshots_record_many(snapshots=parsed[:2]) == 2
    GEXImportJob.objects.filter(pk=job.pk).update(state=State.PROCESSING, attempts=1, rows_imported=2)

    gex_import_run(job_id=job.pk)  # the redelivered message

    job.refresh_from_db()
    assert (job.state, job.attempts, job.rows_imported, job.progress_total) == (State.COMPLETED, 2, 3, 3)
    assert stream_length() == 3
    assert lake_rows(lake) == 3
    assert gex_import_run(job_id=job.pk) is None  # completed: another delivery does nothing
    assert GEXImportJob.objects.get(pk=job.pk).attempts == 2


@pytest.mark.django_db
def test_a_transient_failure_queues_the_job_for_a_retry_and_a_permanent_one_fails_it_at_once(
    lake: Path, gexbot: FakeGEXBot
) -> None:
    url = presigned_url(gexbot)
    gexbot.fail(times=3, status=503, path_prefix="/presigned/")  # one run's worth of attempts
    job, _ = gex_import_submit(
        kind="url", source=url, ticker="SPX", package="classic", category="gex_full", enqueue=False
    )

    with pytest.raises(GEXImportRetryableError, match="answered 503"):
        gex_import_run(job_id=job.pk, last_attempt=False)
    job.refresh_from_db()
    assert job.state == State.QUEUED
    assert job.error.startswith("attempt 1 failed, will retry: the GEXBot history file host answered 503 for ")
    progress = gex_import_progress(job_id=job.pk)
    assert progress is not None
    assert (progress["state"], progress["attempts"]) == ("queued", "1")

    gex_import_run(job_id=job.pk, last_attempt=False)  # the retry: the host is back
    job.refresh_from_db()
    fixture = json.loads((PAYLOADS / HISTORY_FILE).read_text())
    assert (job.state, job.attempts, job.rows_imported, job.error) == (State.COMPLETED, 2, len(fixture), "")

    # GEXBot does not know the ticker (404): asking again will not help, so no retry.
    unknown, _ = gex_import_submit(
        kind="date", source=DAY, ticker="ZZZZ", package="classic", category="gex_full", enqueue=False
    )
    gex_import_run(job_id=unknown.pk, last_attempt=False)
    unknown.refresh_from_db()
    assert (unknown.state, unknown.attempts) == (State.FAILED, 1)
    assert "answered 404 for " in unknown.error
    assert "Ticker ZZZZ not found" in unknown.error


@pytest.mark.django_db
def test_import_command_file_wait_imports_then_a_second_run_imports_nothing_new(lake: Path, tmp_path: Path) -> None:
    path = history_file(tmp_path / "two.json", [snapshot_json(0), snapshot_json(1)])
    out = StringIO()
    call_command("import_gex_history", "--file", str(path), "--wait", stdout=out)
    job = GEXImportJob.objects.get()
    assert out.getvalue().splitlines() == [f"job {job.pk}: {path}: 2 new of 2 snapshots"]
    assert (job.state, job.kind, job.ticker, job.package, job.category) == (
        "completed",
        "file",
        "SPX",
        "classic",
        "gex_full",
    )
    assert stream_length() == 2
    assert lake_rows(lake) == 2

    out = StringIO()
    call_command("import_gex_history", "--file", str(path), "--wait", stdout=out)
    assert out.getvalue().splitlines() == [f"job {job.pk}: already submitted (completed), 2 new of 2 snapshots"]
    assert GEXImportJob.objects.count() == 1

    # The same snapshots in another file (other bytes: a new job) are recognised one by one.
    other = history_file(tmp_path / "two-again.json", [snapshot_json(1), snapshot_json(0)], indent=2)
    out = StringIO()
    call_command("import_gex_history", "--file", str(other), "--wait", stdout=out)
    second = GEXImportJob.objects.exclude(pk=job.pk).get()
    assert out.getvalue().splitlines() == [f"job {second.pk}: {other}: 0 new of 2 snapshots"]
    assert stream_length() == 2
    assert lake_rows(lake) == 2


@pytest.mark.django_db
def test_the_same_file_for_another_ticker_is_another_import(lake: Path, tmp_path: Path) -> None:
    path = history_file(tmp_path / "two.json", [snapshot_json(0), snapshot_json(1)])
    first, _ = gex_import_submit(
        kind="file", source=str(path), ticker="SPX", package="classic", category="gex_full", enqueue=False
    )
    again, created = gex_import_submit(
        kind="file", source=str(path), ticker="SPX", package="classic", category="full", enqueue=False
    )
    assert (again.pk, created) == (first.pk, False)  # `full` is `gex_full`
    other, created = gex_import_submit(
        kind="file", source=str(path), ticker="ES_SPX", package="classic", category="gex_full", enqueue=False
    )
    assert created
    assert other.pk != first.pk


@pytest.mark.django_db
def test_a_file_changed_after_submission_is_refused(lake: Path, tmp_path: Path) -> None:
    path = history_file(tmp_path / "two.json", [snapshot_json(0), snapshot_json(1)])
    job, _ = gex_import_submit(
        kind="file", source=str(path), ticker="SPX", package="classic", category="gex_full", enqueue=False
    )
    history_file(path, [snapshot_json(0)])
    gex_import_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == State.FAILED
    assert job.error == f"{path}: the file changed after it was submitted; submit it again"
    assert stream_length() == 0


@pytest.mark.calendar
@pytest.mark.django_db
def test_a_day_is_fetched_from_gexbot_history(lake: Path, gexbot: FakeGEXBot) -> None:
    out = StringIO()
    call_command("import_gex_history", "--date-from", DAY, "--ticker", "SPX", "--wait", stdout=out)
    job = GEXImportJob.objects.get()
    fixture = json.loads((PAYLOADS / HISTORY_FILE).read_text())
    assert job.source == f"SPX/classic/gex_full/{DAY}"
    assert out.getvalue().splitlines() == [
        f"job {job.pk}: {job.source}: {len(fixture)} new of {len(fixture)} snapshots"
    ]
    assert lake_rows(lake) == len(fixture)
    assert [request.path for request in gexbot.requests] == [
        f"/v2/hist/SPX/classic/gex_full/{DAY}",
        f"/presigned/SPX/classic/gex_full/{DAY}.json",
    ]


@pytest.mark.calendar
@pytest.mark.django_db
def test_a_date_range_submits_one_job_per_trading_day_and_prints_the_ids(
    lake: Path, django_capture_on_commit_callbacks: Any
) -> None:
    # Wednesday 2026-11-25 to Thursday 2026-12-03: Thanksgiving and a weekend are skipped, the
    # early close of Friday 2026-11-27 is a trading day.
    trading = [date(2026, 11, 25), date(2026, 11, 27), *(date(2026, 11, 30) + timedelta(days=n) for n in range(4))]
    out = StringIO()
    with django_capture_on_commit_callbacks() as enqueued:
        call_command("import_gex_history", "--date-from", "2026-11-25", "--date-to", DAY, stdout=out)
    jobs = list(GEXImportJob.objects.order_by("pk"))
    assert [job.source for job in jobs] == [f"SPX/classic/gex_full/{day.isoformat()}" for day in trading]
    assert all(job.state == State.QUEUED and job.task_id for job in jobs)
    assert len(enqueued) == len(jobs)  # one task each, sent when the submission commits
    assert out.getvalue().splitlines() == [
        "3 day(s) in the range are not NYSE trading days and are skipped",
        *(f"job {job.pk}: queued {job.source}" for job in jobs),
    ]


@pytest.mark.calendar
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--date-from", "2026-11-31"], "'2026-11-31' is not a date (YYYY-MM-DD)"),
        (
            ["--date-from", SATURDAY.isoformat(), "--date-to", (SATURDAY + timedelta(days=1)).isoformat()],
            f"no NYSE trading days from {SATURDAY} to {SATURDAY + timedelta(days=1)}",
        ),
        (
            ["--date-from", DAY, "--date-to", SATURDAY.isoformat()],
            f"date range {DAY}..{SATURDAY} ends before it starts",
        ),
        (["--date-from", str(TODAY + timedelta(days=40))], f"date {TODAY + timedelta(days=40)} is in the future"),
        (
            ["--date-from", str(TODAY - timedelta(days=120))],
            f"date {TODAY - timedelta(days=120)} is older than GEXBot's 90-day history window",
        ),
        (["--file", "/nonexistent/spx.json"], "--file /nonexistent/spx.json: no such file"),
        (["--url", "ftp://example.com/x.json"], "url 'ftp://example.com/x.json' must be an http(s) URL"),
        (
            ["--url", "https://example.com/x.json", "--package", "local"],
            "package 'local' has no history; use one of classic, state",
        ),
        (["--url", "https://example.com/x.json", "--ticker", "spx"], "ticker: symbol 'spx' is not canonical"),
    ],
)
def test_bad_arguments_are_refused_with_the_reason_and_create_no_job(arguments: list[str], message: str) -> None:
    with pytest.raises(CommandError) as caught:
        call_command("import_gex_history", *arguments)
    assert message in str(caught.value)
    assert not GEXImportJob.objects.exists()


@pytest.mark.calendar
@pytest.mark.django_db
def test_submissions_name_the_bad_field() -> None:
    with pytest.raises(GEXImportError, match="kind 'ftp' must be one of url, file, date"):
        gex_import_submit(kind="ftp", source="x", ticker="SPX", package="classic", category="gex_full")
    with pytest.raises(GEXImportError, match=f"date {SATURDAY} is not an NYSE trading day"):
        gex_import_submit(kind="date", source=str(SATURDAY), ticker="SPX", package="classic", category="gex_full")
    with pytest.raises(
        GEXImportError, match="date source 'NDX/classic/gex_full/2026-11-24' is not for SPX/classic/gex_full"
    ):
        gex_import_submit(
            kind="date", source="NDX/classic/gex_full/2026-11-24", ticker="SPX", package="classic", category="gex_full"
        )


@pytest.mark.slow
def test_the_same_import_submitted_twice_runs_once(celery_worker: Any, lake: Path, tmp_path: Path) -> None:
    from celery.worker import state as worker_state

    runs_before = worker_state.total_count.get("apps.gex.tasks.gex_history_import", 0)
    path = history_file(tmp_path / "two.json", [snapshot_json(0), snapshot_json(1)])
    first, created_first = gex_import_submit(
        kind="file", source=str(path), ticker="SPX", package="classic", category="gex_full"
    )
    second, created_second = gex_import_submit(
        kind="file", source=str(path), ticker="SPX", package="classic", category="gex_full"
    )
    assert (created_first, created_second) == (True, False)
    assert second.pk == first.pk

    wait_for(lambda: job_state(first.pk) == State.COMPLETED, what="the import to complete")
    job = GEXImportJob.objects.get()
    assert (job.attempts, job.rows_imported, job.progress_total) == (1, 2, 2)
    assert stream_length() == 2
    assert lake_rows(lake) == 2
    # Nothing else was queued: the batch queue is empty, the worker holds nothing, and it ran the task once.
    assert get_redis().llen("batch") == 0
    assert not worker_state.reserved_requests
    assert not worker_state.active_requests
    assert worker_state.total_count["apps.gex.tasks.gex_history_import"] - runs_before == 1
    from celery.result import AsyncResult

    result = AsyncResult(job.task_id).get(timeout=30)
    assert result == {"job": job.pk, "ran": True, "state": "completed", "rows_imported": 2, "total": 2, "error": ""}


@pytest.mark.slow
def test_a_failing_download_retries_then_fails_and_the_admin_shows_why_and_retries_it(
    celery_worker: Any, lake: Path, gexbot: FakeGEXBot
) -> None:
    url = presigned_url(gexbot)
    # Every download attempt of the first run fails (the client tries each one 3 times).
    attempts = 4
    gexbot.fail(times=3 * attempts, status=500, path_prefix="/presigned/")

    job, created = gex_import_submit(kind="url", source=url, ticker="SPX", package="classic", category="gex_full")
    assert created
    wait_for(lambda: job_state(job.pk) == State.FAILED, what="the import to fail")
    job.refresh_from_db()
    assert job.attempts == attempts  # the first run and 3 retries
    assert len(gexbot.requests_to("/presigned/")) == 3 * attempts
    shown = url.split("?", 1)[0]
    assert f"answered 500 for {shown}" in job.error
    assert "Service unavailable" in job.error
    assert "X-Amz-Signature" not in job.error
    assert stream_length() == 0

    User = get_user_model()  # noqa: N806 - Django's idiom
    admin = User.objects.create_superuser("admin", "admin@example.com", "secret-password")
    browser = Client()
    browser.force_login(admin)
    changelist = reverse("admin:gex_geximportjob_changelist")
    page = browser.get(changelist)
    assert page.status_code == 200
    html = page.content.decode()
    assert f"answered 500 for {shown}" in html
    assert "Failed" in html
    page = browser.get(reverse("admin:gex_geximportjob_change", args=[job.pk]))
    assert page.status_code == 200
    assert f"answered 500 for {shown}" in page.content.decode()
    assert browser.get(f"{changelist}?state__exact=failed").content.decode().count(shown) >= 1
    assert shown not in browser.get(f"{changelist}?state__exact=completed").content.decode()

    # The storage host is back: "Retry failed jobs" runs the job again, and it completes.
    response = browser.post(changelist, {"action": "retry_failed", "_selected_action": [job.pk]}, follow=True)
    assert "Queued 1 failed job(s) again." in response.content.decode()
    wait_for(lambda: job_state(job.pk) == State.COMPLETED, what="the retried import to complete")
    job.refresh_from_db()
    fixture = json.loads((PAYLOADS / HISTORY_FILE).read_text())
    assert (job.attempts, job.rows_imported, job.error) == (attempts + 1, len(fixture), "")
    assert lake_rows(lake) == len(fixture)
