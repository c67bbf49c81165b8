"""What a streamer reads from the runtime configuration (the admin's settings): its symbols,
whether it is switched on, and its heartbeat timeout. Read on a worker thread, never on the
event loop: the first read of a stale cache goes to the database."""

from __future__ import annotations

from dataclasses import dataclass

from apps.core.clock import utc_now
from apps.marketdata.symbols import canonical


@dataclass(frozen=True)
class RuntimeView:
    symbols: list[str]
    enabled: bool
    heartbeat_timeout: float


def runtime_view_read(
    *,
    name: str,
    fixed_symbols: tuple[str, ...] | None,
    symbols_setting: str | None = None,
    subscription_setting: str | None = None,
) -> RuntimeView:
    """Runs in a worker thread; closes the thread's database connection (if the cache had to
    open one) so none is left behind."""
    from django.db import connection

    try:
        return _runtime_view(name, fixed_symbols, symbols_setting, subscription_setting)
    finally:
        connection.close()


def _runtime_view(
    name: str, fixed: tuple[str, ...] | None, symbols_setting: str | None, setting: str | None
) -> RuntimeView:
    from apps.core.runtime_config import refresh_if_stale, runtime_value

    refresh_if_stale()
    now = utc_now()
    if setting is not None:
        # A venue's own subscriptions (UW's channels): validated by their setting, not symbols.
        symbols = sorted(set(fixed) if fixed else set(runtime_value(setting)))
    else:
        own = list(runtime_value(symbols_setting)) if symbols_setting and not fixed else []
        raw = list(fixed) if fixed else own or list(runtime_value("marketdata.symbols"))
        symbols = sorted({canonical(symbol, at=now) for symbol in raw})
    return RuntimeView(
        symbols=symbols,
        enabled=name not in runtime_value("marketdata.disabled_streamers"),
        heartbeat_timeout=float(runtime_value("marketdata.heartbeat_timeout_seconds")),
    )
