"""Reads of runtime settings, through a per-process cache that follows admin changes.

Every read checks, at most once per RUNTIME_CONFIG_REFRESH_SECONDS, the version counter that
`runtime_config_announce` bumps, and reloads all rows when it moved. Web requests and Celery
tasks call `refresh_if_stale()` on entry, so `on_change` hooks (such as the log level) run in
every process within seconds of an admin change, without a restart.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import redis
import structlog
from django.conf import settings
from django.db import DatabaseError

from apps.core import keys
from apps.core.redis import get_redis
from apps.core.runtime_settings import RuntimeSettingError, all_specs, spec_for

log = structlog.get_logger(__name__)

# Reload even without a version change after this long: covers a missed announcement.
MAX_AGE_SECONDS = 60.0


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.values: dict[str, Any] | None = None
        self.version: int | None = None
        self.checked_at = 0.0
        self.loaded_at = 0.0

    def refresh_if_stale(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and self.values is not None and now - self.checked_at < settings.RUNTIME_CONFIG_REFRESH_SECONDS:
            return
        with self.lock:
            self.checked_at = now
            version = self._read_version()
            if force or self.values is None or version != self.version or now - self.loaded_at > MAX_AGE_SECONDS:
                self._reload(version)

    @staticmethod
    def _read_version() -> int | None:
        try:
            raw = get_redis().get(keys.RUNTIME_CONFIG_VERSION)
        except redis.RedisError:
            return None
        return int(raw) if raw else 0

    def _reload(self, version: int | None) -> None:
        from apps.core.models import RuntimeSetting

        try:
            stored = dict(RuntimeSetting.objects.values_list("key", "value"))
        except DatabaseError as error:
            # Keep serving what we had (or the defaults); try again at the next check.
            log.warning("runtime_config.reload_failed", error=str(error))
            if self.values is not None:
                return
            stored = {}
            version = None
        values = {}
        for spec in all_specs():
            value = spec.default
            if spec.key in stored:
                try:
                    value = spec.validate(stored[spec.key])
                except RuntimeSettingError as error:
                    log.error("runtime_setting.invalid_stored_value", key=spec.key, error=error.message)
            values[spec.key] = value
        previous = self.values or {}
        self.values, self.version, self.loaded_at = values, version, time.monotonic()
        for spec in all_specs():
            if spec.on_change is not None and (spec.key not in previous or previous[spec.key] != values[spec.key]):
                spec.on_change(values[spec.key])
        if previous:
            changed = sorted(key for key in values if previous.get(key) != values[key])
            if changed:
                log.info("runtime_config.changed", keys=changed, version=version)

    def get(self, key: str) -> Any:
        spec_for(key)  # unknown keys are an error, not None
        return self._current()[key]

    def snapshot(self) -> dict[str, Any]:
        # As JSON values: settings may be typed (pydantic models), and the snapshot crosses
        # process boundaries (a Celery result, `manage.py config show`).
        values = {key: spec_for(key).to_json(value) for key, value in self._current().items()}
        return {"version": self.version, "values": values}

    def _current(self) -> dict[str, Any]:
        self.refresh_if_stale()
        if self.values is None:  # pragma: no cover - _reload always sets values
            raise RuntimeError("runtime configuration failed to load")
        return self.values

    def clear(self) -> None:
        with self.lock:
            self.values, self.version, self.checked_at, self.loaded_at = None, None, 0.0, 0.0


_cache = _Cache()


def runtime_value(key: str) -> Any:
    """The current value of a registered runtime setting, as this process sees it."""
    return _cache.get(key)


def runtime_config_snapshot() -> dict[str, Any]:
    """Every runtime setting this process sees, with the version it loaded."""
    return _cache.snapshot()


def refresh_if_stale(*, force: bool = False) -> None:
    _cache.refresh_if_stale(force=force)


def clear_cache() -> None:
    _cache.clear()
