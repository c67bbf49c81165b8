"""Writes of the core app: runtime settings, the admin user, the default schedules."""

from __future__ import annotations

import json
import secrets
from typing import Any
from zoneinfo import ZoneInfo

import redis
import structlog
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from apps.core import keys
from apps.core.models import RuntimeSetting
from apps.core.redis import get_redis
from apps.core.runtime_settings import all_specs, spec_for
from apps.core.schedules import Crontab, ScheduleSpec, all_schedules, retired_schedules

log = structlog.get_logger(__name__)


def runtime_config_announce() -> int | None:
    """Tell every running process that runtime configuration changed; returns the new version.

    Processes also reload on their own after a minute, so a Redis outage delays a change
    instead of losing it.
    """
    try:
        client = get_redis()
        version = int(client.incr(keys.RUNTIME_CONFIG_VERSION))
        client.publish(keys.RUNTIME_CONFIG_CHANNEL, str(version))
    except redis.RedisError as error:
        log.warning("runtime_config.announce_failed", error=str(error))
        return None
    return version


@transaction.atomic
def runtime_setting_update(*, key: str, value: Any, actor: AbstractBaseUser | None = None) -> RuntimeSetting:
    """Validate and store a runtime setting; running processes pick it up within seconds."""
    spec = spec_for(key)
    clean = spec.to_json(spec.validate(value))
    setting, _ = RuntimeSetting.objects.select_for_update().get_or_create(key=key)
    setting.value = clean
    setting.updated_by = actor if actor is not None and actor.pk else None  # type: ignore[assignment]
    setting.save()
    transaction.on_commit(runtime_config_announce)
    log.info("runtime_setting.updated", key=key, value=clean, actor=str(actor) if actor else None)
    return setting


def runtime_settings_sync() -> list[str]:
    """Create a row, with its default, for each registered setting that has none. Never
    overwrites a value someone set. Returns the keys created."""
    existing = set(RuntimeSetting.objects.values_list("key", flat=True))
    created = [spec.key for spec in all_specs() if spec.key not in existing]
    RuntimeSetting.objects.bulk_create(
        [RuntimeSetting(key=key, value=spec_for(key).to_json(spec_for(key).default)) for key in created],
        ignore_conflicts=True,
    )
    return created


def admin_user_ensure(*, username: str, email: str, password: str) -> str | None:
    """Create the superuser if no user of that name exists.

    Returns the password when one was generated (the caller shows it once), else None.
    """
    user_model = get_user_model()
    if user_model._default_manager.filter(username=username).exists():
        return None
    generated = None
    if not password:
        password = generated = secrets.token_urlsafe(12)
    user_model._default_manager.create_superuser(username=username, email=email, password=password)
    log.info("admin_user.created", username=username, generated_password=generated is not None)
    return generated


def _interval(every_seconds: int) -> IntervalSchedule:
    interval, _ = IntervalSchedule.objects.get_or_create(every=every_seconds, period=IntervalSchedule.SECONDS)
    return interval


def _crontab(spec: Crontab) -> CrontabSchedule:
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute=spec.minute,
        hour=spec.hour,
        day_of_week=spec.day_of_week,
        day_of_month="*",
        month_of_year="*",
        timezone=ZoneInfo(spec.timezone),
    )
    return crontab


def _schedule_of(spec: ScheduleSpec) -> dict[str, Any]:
    if spec.crontab is not None:
        return {"crontab": _crontab(spec.crontab), "interval": None}
    # ScheduleSpec has one of the two: no crontab means an interval.
    return {"interval": _interval(spec.every_seconds or 0), "crontab": None}


@transaction.atomic
def periodic_tasks_seed() -> dict[str, list[str]]:
    """Create the default periodic tasks that are missing, by name.

    Rows are edited in the admin, so an existing row keeps its schedule and on/off state;
    only the task path, queue and expiry (code facts, not preferences) are brought up to date.
    """
    created, updated = [], []
    retired = sorted(retired_schedules() - {spec.name for spec in all_schedules()})
    deleted, _ = PeriodicTask.objects.filter(name__in=retired).delete()
    if deleted:
        log.info("periodic_tasks.retired", names=retired)
    for spec in all_schedules():
        task = PeriodicTask.objects.filter(name=spec.name).first()
        code_facts = {
            "task": spec.task,
            "queue": spec.queue.value,
            "expire_seconds": spec.expire_seconds,
            "description": spec.description,
            "kwargs": json.dumps(spec.kwargs),
        }
        if task is None:
            PeriodicTask.objects.create(name=spec.name, **_schedule_of(spec), **code_facts)
            created.append(spec.name)
            continue
        changed: dict[str, Any] = {name: value for name, value in code_facts.items() if getattr(task, name) != value}
        unedited_old_default = (
            spec.replaces_every_seconds is not None
            and task.crontab is None
            and task.interval is not None
            and task.interval.every == spec.replaces_every_seconds
            and task.interval.period == IntervalSchedule.SECONDS
        )
        if unedited_old_default:
            changed.update(_schedule_of(spec))
        if changed:
            for name, value in changed.items():
                setattr(task, name, value)
            task.save(update_fields=list(changed))
            updated.append(spec.name)
    return {"created": created, "updated": updated}
