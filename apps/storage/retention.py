"""Retention: plan and carry out the removal of data past its policy, with an audit row per run.

The beat-scheduled purge and `manage.py purge` both call `purge_plan` then `purge_execute`.
A plan lists lake files (by partition date) and hot stream ranges; a dry run records the plan
and touches nothing; a real run removes exactly what the plan lists (a stream is never trimmed
past what the lake's consumer group has acknowledged).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import redis
import structlog
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser

from apps.core.clock import utc_now
from apps.core.positions import StreamPosition
from apps.core.redis import get_hot_redis
from apps.marketdata.services.trim import safe_min_id
from apps.storage import minute_bars
from apps.storage.flush import hot_streams
from apps.storage.models import PurgeRun, RetentionPolicy
from apps.storage.registry import lake_tables, retention_categories

log = structlog.get_logger(__name__)
DEFAULT_HOT_WINDOW_MINUTES = 240


@dataclass
class PlannedFile:
    path: str
    bytes: int


@dataclass
class PlannedTrim:
    key: str
    min_id: str
    entries: int


@dataclass
class PlannedCutoff:
    """The cut-offs a purge applies to one data type, and why."""

    data_type: str
    # Lake partitions dated before this day go; None keeps them all.
    lake_before: str | None
    # "policy: 30 days", "--before", or "policy keeps the lake forever".
    lake_reason: str
    # Redis entries older than this (UTC, ISO) go, unless a flush has not read them yet.
    hot_before: str
    hot_window_minutes: int


@dataclass
class PurgePlan:
    files: list[PlannedFile] = field(default_factory=list)
    trims: list[PlannedTrim] = field(default_factory=list)
    cutoffs: list[PlannedCutoff] = field(default_factory=list)

    @property
    def bytes(self) -> int:
        return sum(item.bytes for item in self.files)

    def as_json(self) -> dict[str, Any]:
        return {
            "files": [asdict(f) for f in self.files],
            "trims": [asdict(t) for t in self.trims],
            "cutoffs": [asdict(c) for c in self.cutoffs],
            "bytes": self.bytes,
        }


def hot_windows() -> dict[str, int]:
    """Minutes each data type stays in Redis, by retention category (trades, quotes, depth, ...:
    every registered lake table's)."""
    windows = dict.fromkeys(retention_categories(), DEFAULT_HOT_WINDOW_MINUTES)
    windows.update(dict(RetentionPolicy.objects.filter(enabled=True).values_list("data_type", "hot_window_minutes")))
    return windows


def _partition_date(path: Path) -> date | None:
    for part in path.parts:
        if part.startswith("date="):
            try:
                return date.fromisoformat(part[5:])
            except ValueError:
                return None
    return None


def _count_below(client: redis.Redis, key: str, min_id: str) -> int:
    count, low = 0, "-"
    while True:
        entries: Any = client.xrange(key, min=low, max=f"({min_id}", count=10_000)
        count += len(entries)
        if len(entries) < 10_000:
            return count
        last = entries[-1][0]
        low = f"({last.decode() if isinstance(last, bytes) else last}"


def purge_plan(
    *,
    client: redis.Redis,
    lake: Path,
    data_type: str | None = None,
    before: date | None = None,
    now: datetime | None = None,
) -> PurgePlan:
    """What retention would remove now. `before` limits lake files to partitions before that date."""
    now = now or utc_now()
    plan = PurgePlan()
    policies = RetentionPolicy.objects.filter(enabled=True)
    if data_type:
        policies = policies.filter(data_type=data_type)
    for policy in policies:
        category = policy.data_type
        # An explicit `before` is the operator's cutoff; otherwise the policy's (none: keep forever).
        cutoff = before
        reason = "--before" if before is not None else "policy keeps the lake forever"
        if cutoff is None and policy.cold_retention_days is not None:
            cutoff = (now - timedelta(days=policy.cold_retention_days)).date()
            reason = f"policy: {policy.cold_retention_days} days"
        window_ms = int(now.timestamp() * 1000) - policy.hot_window_minutes * 60_000
        plan.cutoffs.append(
            PlannedCutoff(
                data_type=category,
                lake_before=cutoff.isoformat() if cutoff is not None else None,
                lake_reason=reason,
                hot_before=datetime.fromtimestamp(window_ms / 1000, tz=UTC).isoformat(timespec="seconds"),
                hot_window_minutes=policy.hot_window_minutes,
            )
        )
        if cutoff is not None:
            for table in lake_tables():
                if table.retention != category:
                    continue
                # The one-minute bars kept beside the trades go with them (apps/storage/minute_bars.py),
                # and a month's roll-up of them as soon as it holds a day purged.
                derived = (
                    [minute_bars.TABLE, minute_bars.MONTHS_TABLE] if table.name == minute_bars.SOURCE_TABLE else []
                )
                for directory in (table.name, *derived):
                    for path in sorted((lake / directory).rglob("*.parquet")):
                        relative = path.relative_to(lake)
                        day = _partition_date(relative) or minute_bars.month_file_first_day(relative)
                        if day is not None and day < cutoff:
                            plan.files.append(PlannedFile(str(path.relative_to(lake)), path.stat().st_size))
        for key in hot_streams(client, retention=category):
            target = (window_ms, 0)
            group_min, _ = safe_min_id(client, key)
            if group_min is not None:
                target = min(target, StreamPosition.parse(group_min).entry)
            min_id = f"{target[0]}-{target[1]}"
            entries = _count_below(client, key, min_id)
            if entries:
                plan.trims.append(PlannedTrim(key, min_id, entries))
    return plan


def purge_execute(
    *,
    client: redis.Redis,
    lake: Path,
    plan: PurgePlan,
    dry_run: bool,
    triggered_by: str,
    user: AbstractBaseUser | None = None,
    data_type: str | None = None,
    before: date | None = None,
) -> PurgeRun:
    """Record the plan and, unless `dry_run`, remove exactly what it lists. Returns the audit row."""
    run = PurgeRun.objects.create(
        triggered_by=triggered_by,
        user=user if user is not None and user.pk else None,  # type: ignore[misc]
        dry_run=dry_run,
        data_type=data_type or "",
        before=before,
        plan=plan.as_json(),
        status=PurgeRun.Status.PLANNED,
    )
    if dry_run:
        run.finished_at = utc_now()
        run.save(update_fields=["finished_at"])
        return run
    removed_files, freed, trimmed = [], 0, {}
    try:
        for item in plan.files:
            path = lake / item.path
            if path.exists():
                path.unlink()
                removed_files.append(item.path)
                freed += item.bytes
                _remove_empty_parents(path.parent, lake)
        for trim in plan.trims:
            # Re-checked now: a group may have been created or fallen behind since the plan.
            group_min, _ = safe_min_id(client, trim.key)
            min_id = (
                trim.min_id
                if group_min is None or StreamPosition.parse(group_min) >= StreamPosition.parse(trim.min_id)
                else group_min
            )
            trimmed[trim.key] = int(client.xtrim(trim.key, minid=min_id, approximate=False))
    except (OSError, redis.RedisError) as error:
        run.status = PurgeRun.Status.FAILED
        run.result = {"error": f"{type(error).__name__}: {error}", "files": removed_files, "trimmed": trimmed}
    else:
        run.status = PurgeRun.Status.DONE
        run.result = {"files": removed_files, "trimmed": trimmed}
    run.bytes_freed = freed
    run.finished_at = utc_now()
    run.save(update_fields=["status", "result", "bytes_freed", "finished_at"])
    log.info("purge.done", run=run.pk, files=len(removed_files), bytes=freed, trimmed=trimmed, status=run.status)
    return run


def _remove_empty_parents(directory: Path, lake: Path) -> None:
    while directory != lake and directory.is_dir() and not any(directory.iterdir()):
        directory.rmdir()
        directory = directory.parent


def purge_run(
    *,
    dry_run: bool,
    triggered_by: str,
    data_type: str | None = None,
    before: date | None = None,
    user: AbstractBaseUser | None = None,
    client: redis.Redis | None = None,
    lake: Path | None = None,
) -> PurgeRun:
    """Plan a retention purge and, unless `dry_run`, carry it out: what beat, `manage.py purge`
    and the REST control endpoint all run. Returns the audit row (its `plan` lists what was or
    would be removed)."""
    client = client or get_hot_redis()
    lake = lake or settings.LAKE_DIR
    plan = purge_plan(client=client, lake=lake, data_type=data_type, before=before)
    return purge_execute(
        client=client,
        lake=lake,
        plan=plan,
        dry_run=dry_run,
        triggered_by=triggered_by,
        user=user,
        data_type=data_type,
        before=before,
    )
