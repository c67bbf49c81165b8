"""GEX history imports: a download URL, a vendor history file (a JSON array of snapshots) or one
day of GEXBot's history, recorded like live snapshots and landed in the lake.

A job runs once however often it is submitted (`source_hash` is unique). A run reads and parses
the whole source before recording anything, so a bad file leaves nothing behind; history files are
one trading day, a few tens of thousands of snapshots at most. Snapshots are then recorded in
chunks; after each chunk the ticker's stream is flushed to the lake, so an import of a whole day
never outgrows the stream's length cap before the lake has it, and "completed" means "in the lake".
A run that dies half-way is simply run again: `snapshots_record_many` skips what was recorded.

Errors: a bad source (payload, file, configuration) fails the job at once, with a reason naming
the file and element or the URL; a transient one (network, 5xx, Redis, the lake) raises
GEXImportRetryableError for the task to retry, and fails the job on the last attempt.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import redis
import structlog
from django.conf import settings
from django.db import transaction

from apps.batch.services import job_submit
from apps.core import keys
from apps.core.clock import to_exchange, utc_now
from apps.core.exceptions import ApplicationError
from apps.core.redis import get_redis
from apps.core.sessions import is_trading_day
from apps.gex.config import GEXBotConfig
from apps.gex.gexbot import GEXBotAPISource, GEXBotHTTPError, shown_url
from apps.gex.models import GEXImportJob
from apps.gex.parsing import is_greek_category, parse_history
from apps.gex.services.snapshots import snapshots_record_many
from apps.gex.snapshots import CATEGORIES, GEXSnapshot, category_canonical
from apps.gex.sources import GEXPayloadError, GEXSourceError
from apps.marketdata.symbols import canonical_check
from apps.storage.flush import stream_flush
from pipeline_project.env import ConfigError

log = structlog.get_logger(__name__)

Kind = GEXImportJob.Kind
State = GEXImportJob.State

# Snapshots recorded (and flushed to the lake) between two progress reports.
CHUNK_SNAPSHOTS = 1000
# The progress hash outlives the job's end by this much, for the API to show the outcome.
PROGRESS_TTL_SECONDS = 7 * 86_400
# How long a chunk waits for a flush of the same stream that another worker is running.
FLUSH_WAIT_SECONDS = 60.0
HISTORY_PACKAGES = ("classic", "state")
# A run retries a transient failure (network, 5xx, Redis, the lake) after a random wait of up
# to 2, 4, then 8 s (exponential, full jitter, capped); the job fails with the reason after the
# last retry, and the admin can queue it again. The GEXBot client has already retried each
# request a few times by then.
GEX_IMPORT_MAX_RETRIES = 3
GEX_IMPORT_BACKOFF_SECONDS = 2
GEX_IMPORT_BACKOFF_MAX_SECONDS = 60
# GEXBot keeps history for 90 days.
HISTORY_DAYS = 90
# Raised while fetching or recording, and worth another attempt later.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    GEXSourceError,
    httpx.TransportError,
    redis.ConnectionError,
    redis.TimeoutError,
    OSError,
)


class GEXImportError(ApplicationError):
    """A submission or source that cannot be imported as it is; retrying will not help."""


class GEXImportRetryableError(Exception):
    """A run failed for a reason that may pass (network, 5xx, Redis, the lake); run it again later."""


@dataclass(frozen=True)
class Target:
    ticker: str
    package: str
    category: str

    def __str__(self) -> str:
        return f"{self.ticker}/{self.package}/{self.category}"


def _target(*, ticker: str, package: str, category: str) -> Target:
    try:
        keys.gex_snapshots(ticker)
        canonical_check(ticker)  # the ticker is the lake partition its snapshots land in
    except ValueError as error:
        raise GEXImportError(f"ticker: {error}", extra={"field": "ticker"}) from None
    if package not in HISTORY_PACKAGES:
        raise GEXImportError(
            f"package {package!r} has no history; use one of {', '.join(HISTORY_PACKAGES)}", extra={"field": "package"}
        )
    canonical = category_canonical(category)
    # The category is stored with every row; only the ones GEXBot serves for the package exist.
    greek_ok = package == "state"
    well_formed = all(character.islower() or character.isdigit() or character == "_" for character in canonical)
    if not canonical or not well_formed or not (canonical in CATEGORIES or (greek_ok and is_greek_category(canonical))):
        known = ", ".join(CATEGORIES) + (" or a greek category (gamma_zero, vanna_one, ...)" if greek_ok else "")
        raise GEXImportError(
            f"category {category!r} is not a GEXBot {package} category; known: {known}", {"field": "category"}
        )
    return Target(ticker, package, canonical)


def source_hash(*, kind: str, target: Target, content: bytes) -> str:
    """What makes two submissions the same import: the kind, the target and the URL, the file's
    bytes or the day. The target is part of it, so a file imported under the wrong ticker by
    mistake can be imported again under the right one."""
    digest = hashlib.sha256(f"{kind}\n{target}\n".encode())
    digest.update(content)
    return digest.hexdigest()


def _url(source: str) -> str:
    parts = urlsplit(source.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise GEXImportError(f"url {source!r} must be an http(s) URL", {"field": "url"})
    return source.strip()


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise GEXImportError(f"{path}: no such file", {"file": str(path)}) from None
    except IsADirectoryError:
        raise GEXImportError(f"{path}: is a directory, not a history file", {"file": str(path)}) from None
    except OSError as error:
        raise GEXImportError(f"{path}: cannot be read: {error.strerror or error}", {"file": str(path)}) from None


def history_day_check(day: date) -> None:
    """GEXImportError unless GEXBot can have history for `day`: an NYSE trading day, not in the
    future, within its 90-day window."""
    today = to_exchange(utc_now()).date()
    if day > today:
        raise GEXImportError(f"date {day.isoformat()} is in the future", {"field": "date"})
    if day < today - timedelta(days=HISTORY_DAYS):
        raise GEXImportError(
            f"date {day.isoformat()} is older than GEXBot's {HISTORY_DAYS}-day history window", {"field": "date"}
        )
    if not is_trading_day(day):
        raise GEXImportError(f"date {day.isoformat()} is not an NYSE trading day", {"field": "date"})


def trading_days(*, start: date, end: date) -> list[date]:
    """The NYSE trading days from `start` to `end`, both included."""
    if end < start:
        raise GEXImportError(f"date range {start.isoformat()}..{end.isoformat()} ends before it starts")
    return [
        start + timedelta(days=offset)
        for offset in range((end - start).days + 1)
        if is_trading_day(start + timedelta(days=offset))
    ]


def _day(source: str, target: Target) -> date:
    """The day of a date source: `YYYY-MM-DD`, or the stored form `TICKER/package/category/YYYY-MM-DD`."""
    prefix, _, text = source.strip().rpartition("/")
    if prefix and prefix != str(target):
        raise GEXImportError(f"date source {source!r} is not for {target}", {"field": "source"})
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise GEXImportError(f"date {text!r} is not a date (YYYY-MM-DD)", {"field": "date"}) from None


def _enqueue(job: GEXImportJob) -> None:
    """Run the import as a batch job (apps/gex/batch_kind.py): its unit is queued under the
    job's `task_id` in `apps.gex.tasks.gex_history_import`."""
    job_submit(kind="gex_history", params={"import_job": str(job.pk)}, who="gex import")


def gex_import_submit(
    *, kind: str, source: str, ticker: str, package: str, category: str, enqueue: bool = True
) -> tuple[GEXImportJob, bool]:
    """Create an import job and queue its task once the transaction commits; `(job, created)`.

    The same import submitted again returns the existing job, in whatever state it is, and queues
    nothing. `source` is the URL, the file's path, or the day (`YYYY-MM-DD`). `enqueue=False`
    leaves the job for the caller to run (`manage.py import_gex_history --wait`)."""
    try:
        kind = Kind(kind)
    except ValueError:
        raise GEXImportError(f"kind {kind!r} must be one of {', '.join(Kind.values)}", {"field": "kind"}) from None
    target = _target(ticker=ticker, package=package, category=category)
    if kind == Kind.URL:
        source = _url(source)
        content = source.encode()
    elif kind == Kind.FILE:
        path = Path(source).expanduser().resolve()
        source, content = str(path), _read_file(path)
    else:
        day = _day(source, target)
        history_day_check(day)
        source = f"{target}/{day.isoformat()}"
        content = source.encode()
    digest = source_hash(kind=kind, target=target, content=content)
    with transaction.atomic():
        job, created = GEXImportJob.objects.get_or_create(
            source_hash=digest,
            defaults={
                "kind": kind,
                "source": source,
                "ticker": target.ticker,
                "package": target.package,
                "category": target.category,
                "task_id": str(uuid.uuid4()) if enqueue else "",
            },
        )
        if created and enqueue:
            transaction.on_commit(lambda: _enqueue(job))
    log.info("gex_import.submitted", job=job.pk, created=created, kind=kind, source=_shown_source(job))
    return job, created


def gex_import_retry(*, job_ids: Iterable[int], enqueue: bool = True) -> list[int]:
    """Queue failed jobs again (the admin's "retry failed jobs"); returns the ids queued. Jobs in
    any other state are left alone. `enqueue=False` leaves them for the caller to run."""
    queued: list[GEXImportJob] = []
    with transaction.atomic():
        for job in GEXImportJob.objects.select_for_update().filter(pk__in=list(job_ids), state=State.FAILED):
            job.state, job.error, job.finished_at = State.QUEUED, "", None
            job.task_id = str(uuid.uuid4()) if enqueue else ""
            job.save(update_fields=["state", "error", "finished_at", "task_id"])
            queued.append(job)
        if enqueue:
            for job in queued:
                transaction.on_commit(lambda job=job: _enqueue(job))  # type: ignore[misc]
    for job in queued:
        _publish_quietly(get_redis(), job)
    return [job.pk for job in queued]


def _shown_source(job: GEXImportJob) -> str:
    return shown_url(job.source) if job.kind == Kind.URL else job.source


def _publish(client: redis.Redis, job: GEXImportJob) -> None:
    key = keys.gex_import(job.pk)
    pipe = client.pipeline(transaction=False)
    pipe.hset(
        key,
        mapping={
            "state": job.state,
            "done": job.progress_done,
            "total": job.progress_total,
            "rows_imported": job.rows_imported,
            "attempts": job.attempts,
            "error": job.error,
            "updated_at": utc_now().isoformat(),
        },
    )
    pipe.expire(key, PROGRESS_TTL_SECONDS)
    pipe.execute()


def _publish_quietly(client: redis.Redis, job: GEXImportJob) -> None:
    # On the failure path Redis may be the thing that failed; the database row is the record.
    try:
        _publish(client, job)
    except redis.RedisError as error:
        log.warning("gex_import.progress_not_published", job=job.pk, error=str(error))


def gex_import_progress(*, job_id: int, client: redis.Redis | None = None) -> dict[str, str] | None:
    """A job's progress as last published (`state, done, total, rows_imported, attempts, error,
    updated_at`), or None when there is none (never started, or long finished)."""
    raw = (client or get_redis()).hgetall(keys.gex_import(job_id))
    if not raw:
        return None
    return {
        (name.decode() if isinstance(name, bytes) else str(name)): (
            value.decode() if isinstance(value, bytes) else str(value)
        )
        for name, value in raw.items()
    }


def _start(job_id: int) -> GEXImportJob | None:
    """Mark the job processing and count the attempt; None when it is not runnable (completed,
    failed, or gone): a redelivered message then does nothing."""
    with transaction.atomic():
        job = GEXImportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None:
            log.warning("gex_import.missing", job=job_id)
            return None
        if job.state not in (State.QUEUED, State.PROCESSING):
            log.info("gex_import.not_runnable", job=job_id, state=job.state)
            return None
        job.state, job.attempts, job.started_at, job.finished_at = State.PROCESSING, job.attempts + 1, utc_now(), None
        job.progress_done = 0
        job.save(update_fields=["state", "attempts", "started_at", "finished_at", "progress_done"])
    return job


def _gexbot() -> GEXBotAPISource:
    try:
        return GEXBotAPISource(GEXBotConfig.from_env())
    except ConfigError as error:
        problems = "; ".join(str(problem) for problem in error.problems)
        raise GEXImportError(f"GEXBot is not configured: {problems}") from None


def _fetch(job: GEXImportJob) -> list[GEXSnapshot]:
    target = Target(job.ticker, job.package, job.category)
    if job.kind == Kind.FILE:
        path = Path(job.source)
        data = _read_file(path)
        if source_hash(kind=job.kind, target=target, content=data) != job.source_hash:
            raise GEXImportError(
                f"{path}: the file changed after it was submitted; submit it again", {"file": str(path)}
            )
        try:
            # All of it before anything is recorded: a bad element leaves nothing behind.
            return list(parse_history(data, ticker=job.ticker, package=job.package, category=job.category))
        except GEXPayloadError as error:
            raise GEXImportError(f"{path}: {error}", {"file": str(path)}) from None
    with _gexbot() as source:
        try:
            if job.kind == Kind.URL:
                return source.history_download(
                    url=job.source, ticker=job.ticker, package=job.package, category=job.category
                )
            return source.history(
                ticker=job.ticker, package=job.package, category=job.category, day=_day(job.source, target)
            )
        except ValueError as error:  # the client refused the request's arguments
            raise GEXImportError(str(error)) from None


def _permanent(error: BaseException) -> bool:
    """An answer that will be the same next time: a bad payload, or an HTTP error the client does
    not retry (400, 401, 403 such as an expired presigned URL, 404 such as a day without data)."""
    return isinstance(error, GEXPayloadError) or (isinstance(error, GEXBotHTTPError) and not error.retryable)


def _land(client: redis.Redis, ticker: str, lake: Path) -> None:
    """Flush the ticker's GEX stream to the lake, waiting for a flush another worker is running."""
    deadline = time.monotonic() + FLUSH_WAIT_SECONDS
    while True:
        result = stream_flush(client=client, key=keys.gex_snapshots(ticker), lake=lake)
        if result.skipped is None or time.monotonic() > deadline:
            return
        time.sleep(0.2)


def _record(
    job: GEXImportJob,
    snapshots: Sequence[GEXSnapshot],
    *,
    client: redis.Redis,
    lake: Path,
    progress: Callable[[int, int], None] | None,
) -> None:
    total = len(snapshots)
    job.progress_total = total
    job.save(update_fields=["progress_total"])
    _publish(client, job)
    for start in range(0, total, CHUNK_SNAPSHOTS):
        chunk = snapshots[start : start + CHUNK_SNAPSHOTS]
        new = snapshots_record_many(snapshots=chunk, client=client)
        _land(client, job.ticker, lake)
        job.progress_done = start + len(chunk)
        job.rows_imported += new
        job.save(update_fields=["progress_done", "rows_imported"])
        _publish(client, job)
        if progress:
            progress(job.progress_done, total)


def _finish(client: redis.Redis, job: GEXImportJob, state: str, error: str = "") -> GEXImportJob:
    job.state, job.error, job.finished_at = state, error, utc_now()
    job.save(update_fields=["state", "error", "finished_at"])
    _publish_quietly(client, job)
    return job


def _reason(job: GEXImportJob, error: BaseException) -> str:
    text = getattr(error, "message", None) or str(error) or type(error).__name__
    if job.kind == Kind.FILE:
        return text  # already names the file
    where = _shown_source(job)
    return text if where in text else f"{where}: {text}"


def gex_import_run(
    *,
    job_id: int,
    progress: Callable[[int, int], None] | None = None,
    last_attempt: bool = True,
    client: redis.Redis | None = None,
    lake: Path | None = None,
) -> GEXImportJob | None:
    """Run one import job: fetch and parse, record in chunks (progress to the job row, the Redis
    hash `gex:import:{id}` and `progress(done, total)`), land in the lake, and end completed or
    failed with a reason a user can act on.

    A transient failure raises GEXImportRetryableError (the job is queued again, its error says why)
    unless `last_attempt`, when it fails the job. Returns the job, or None when it was not
    runnable (already completed or failed, or deleted)."""
    client = client or get_redis()
    lake = lake or Path(settings.LAKE_DIR)
    job = _start(job_id)
    if job is None:
        return None
    log.info("gex_import.started", job=job.pk, kind=job.kind, source=_shown_source(job), attempt=job.attempts)
    try:
        _publish(client, job)
        snapshots = _fetch(job)
        if not snapshots:
            raise GEXImportError(f"{job.source if job.kind == Kind.FILE else _shown_source(job)}: holds no snapshots")
        _record(job, snapshots, client=client, lake=lake, progress=progress)
    except GEXImportError as error:
        log.warning("gex_import.failed", job=job.pk, error=_reason(job, error))
        return _finish(client, job, State.FAILED, _reason(job, error))
    except TRANSIENT_ERRORS as error:
        reason = _reason(job, error)
        if _permanent(error):
            log.warning("gex_import.failed", job=job.pk, error=reason)
            return _finish(client, job, State.FAILED, reason)
        if last_attempt:
            log.warning("gex_import.failed", job=job.pk, error=reason, attempts=job.attempts)
            return _finish(client, job, State.FAILED, f"{reason} (job attempts: {job.attempts})")
        log.info("gex_import.will_retry", job=job.pk, error=reason, attempts=job.attempts)
        job.state, job.error = State.QUEUED, f"attempt {job.attempts} failed, will retry: {reason}"
        job.save(update_fields=["state", "error"])
        _publish_quietly(client, job)
        raise GEXImportRetryableError(reason) from error
    except Exception as error:
        # A bug, not the source: fail the job visibly and let the task record the traceback.
        _finish(client, job, State.FAILED, f"unexpected error: {type(error).__name__}: {error}")
        raise
    log.info("gex_import.completed", job=job.pk, rows=job.rows_imported, total=job.progress_total)
    return _finish(client, job, State.COMPLETED)
