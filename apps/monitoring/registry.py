"""Which health checks the platform runs: the built-in ones, plus what other apps register
(token expiry, the bot, alert deliveries) from their AppConfig.ready(), without this app
importing them.

    from apps.monitoring.registry import health_check_register
    health_check_register(MyCheck())                     # one fixed check
    health_check_provider_register(lambda: [...])        # checks that depend on configuration

A provider must not do I/O: it runs on every request, before the concurrent, time-bounded run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from apps.marketdata.streamer_names import streamer_names
from apps.monitoring import checks
from apps.monitoring.health import HealthCheck

Provider = Callable[[], list[HealthCheck]]

_lock = threading.Lock()
_checks: dict[str, HealthCheck] = {}
_providers: list[Provider] = []


class HealthCheckError(ValueError):
    """A check registered under a name another check already has."""


def health_check_register(check: HealthCheck) -> None:
    """Add `check`; an equal check again changes nothing, a different one under a taken name is refused."""
    with _lock:
        current = _checks.get(check.name)
        if current is not None and current != check:
            raise HealthCheckError(f"health check {check.name!r} is already registered, differently")
        _checks[check.name] = check


def health_check_unregister(*, name: str) -> None:
    with _lock:
        _checks.pop(name, None)


def health_check_provider_register(provider: Provider) -> None:
    with _lock:
        if provider not in _providers:
            _providers.append(provider)


def _builtin() -> list[HealthCheck]:
    found: list[HealthCheck] = [
        checks.DatabaseCheck(),
        checks.RedisCheck(),
        checks.LakeDirectoryCheck(),
        checks.LakeFlushCheck(),
        checks.DuckDBCheck(),
        checks.BeatCheck(),
        checks.GEXBotCheck(),
    ]
    found += checks.queue_checks()
    found += [checks.StreamerCheck(feed) for feed in streamer_names()]
    found += checks.readiness_probe_checks()
    return found


def health_checks(*, critical_only: bool = False) -> list[HealthCheck]:
    """Every check, built-in first, in a stable order; names are unique."""
    with _lock:
        registered = list(_checks.values())
        providers = list(_providers)
    found = _builtin() + registered
    for provider in providers:
        found += provider()
    seen: set[str] = set()
    unique = []
    for check in found:
        if check.name in seen:
            raise HealthCheckError(f"two health checks are named {check.name!r}")
        seen.add(check.name)
        unique.append(check)
    return [check for check in unique if check.critical] if critical_only else unique
