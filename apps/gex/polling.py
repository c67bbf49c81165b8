"""GEX polling: which tickers and categories are due now, at what session-aware interval, from
which source — and the per-ticker, per-metric rate limit that holds across every worker.

Each poller group (the default group and the NQ group, which keeps its own intervals as the seed
did) has one chain of `apps.gex.tasks.gex_poll` runs, each sent for when the next ticker and
category fall due (apps/gex/poll_chain.py); a run polls only what is due.
Intervals follow the NYSE calendar (apps/core/sessions.py): regular hours fast, extended hours
slow, closed days and nights off. The simulated source follows the simulator's market instead,
which the demo keeps open, so it always polls at the regular interval.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cache
from pathlib import Path

import redis
import structlog
from django.conf import settings

from apps.core import keys
from apps.core.clock import utc_now
from apps.core.redis import get_redis
from apps.core.runtime_config import runtime_value
from apps.core.sessions import Session, session_at
from apps.gex.runtime_settings import SessionIntervals
from apps.gex.services.snapshots import snapshot_record
from apps.gex.snapshots import GEXSnapshot
from apps.gex.sources import GEXDataSource, GEXPayloadError, GEXSourceError, GEXSourceUnavailable
from apps.monitoring import metrics

log = structlog.get_logger(__name__)

# GEXBot: "Requests should not exceed one request per second per ticker per metric."
RATE_LIMIT_MS = 1000
# Longest a request (with the client's own retries) may hold its ticker and metric.
REQUEST_HOLD_MS = 30_000
TICKERS_CACHE_SECONDS = 3600
TICKERS_RETRY_SECONDS = 60
_tickers_failed_at: dict[str, float] = {}


class PollGroup(StrEnum):
    DEFAULT = "default"
    NQ = "nq"


class Outcome(StrEnum):
    STORED = "stored"
    UNCHANGED = "unchanged"  # the source repeated a timestamp already recorded
    RATE_LIMITED = "rate_limited"
    BREAKER_OPEN = "breaker_open"
    MALFORMED = "malformed"
    FAILED = "failed"


def poll_interval(*, moment: datetime, intervals: SessionIntervals, always_open: bool = False) -> float | None:
    """Seconds between polls at `moment`, or None when polling is off in that session."""
    session = Session.REGULAR if always_open else session_at(moment)
    seconds = {Session.REGULAR: intervals.regular, Session.EXTENDED: intervals.extended}.get(session, intervals.closed)
    return seconds or None


def rate_limit_acquire(*, client: redis.Redis, ticker: str, metric: str) -> bool:
    """Take the request slot of a ticker and metric; False while another worker (or this one)
    has a request in flight or finished one less than a second ago.

    The slot is held for the whole request (at most REQUEST_HOLD_MS, should the worker die)
    and then for one more second from its end (`rate_limit_release`): held only for a second
    from the start, a request sent late after taking the slot would reach GEXBot less than a
    second before the next one.
    """
    return bool(client.set(keys.gex_rate_limit(ticker, metric), "1", nx=True, px=REQUEST_HOLD_MS))


def rate_limit_release(*, client: redis.Redis, ticker: str, metric: str) -> None:
    client.set(keys.gex_rate_limit(ticker, metric), "1", px=RATE_LIMIT_MS)


@dataclass
class PollReport:
    group: str
    session_interval: float | None
    outcomes: dict[str, str] = field(default_factory=dict)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for value in self.outcomes.values() if value == outcome)


def _group_tickers(group: PollGroup, configured: list[str]) -> list[str]:
    nq = set(runtime_value("gex.nq_tickers"))
    excluded = set(runtime_value("gex.excluded_tickers"))
    chosen = [ticker for ticker in configured if (ticker in nq) == (group is PollGroup.NQ)]
    return [ticker for ticker in chosen if ticker not in excluded]


def available_tickers(*, source: GEXDataSource, client: redis.Redis) -> set[str] | None:
    """The tickers the source lists (refreshed from it at most hourly), or None if unknown."""
    key = keys.gex_available_tickers(source.name)
    cached = client.smembers(key)
    if cached:
        return {item.decode() if isinstance(item, bytes) else str(item) for item in cached}
    return tickers_refresh(source=source, client=client)


def tickers_refresh(*, source: GEXDataSource, client: redis.Redis) -> set[str] | None:
    """Ask the source which tickers it serves and remember the answer for an hour. After a
    failure the list stays unknown (every configured ticker is polled) and the source is not
    asked again for a minute."""
    if time.monotonic() - _tickers_failed_at.get(source.name, -TICKERS_RETRY_SECONDS) < TICKERS_RETRY_SECONDS:
        return None
    try:
        tickers = set(source.tickers())
    except GEXSourceError as error:
        _tickers_failed_at[source.name] = time.monotonic()
        log.warning("gex.tickers_refresh_failed", source=source.name, error=str(error))
        return None
    key = keys.gex_available_tickers(source.name)
    with client.pipeline() as pipe:
        pipe.delete(key)
        if tickers:
            pipe.sadd(key, *sorted(tickers))
            pipe.expire(key, TICKERS_CACHE_SECONDS)
        pipe.execute()
    return tickers


def _due(client: redis.Redis, field_name: str, interval: float, now: float) -> bool:
    last = client.hget(keys.GEX_POLL_LAST, field_name)
    return last is None or now - float(last) >= interval


def group_labels(*, group: PollGroup, source: GEXDataSource, client: redis.Redis) -> list[str]:
    """`TICKER:package:category` of every poll `group` makes with `source` (in any session)."""
    package = runtime_value("gex.package") if source.name != "simulated" else "local"
    available = available_tickers(source=source, client=client)
    return [
        f"{ticker}:{package}:{category}"
        for ticker in _group_tickers(group, runtime_value("gex.tickers"))
        if available is None or ticker in available
        for category in runtime_value("gex.categories")
    ]


def poll_once(
    *,
    group: PollGroup,
    source: GEXDataSource,
    fallback: GEXDataSource | None = None,
    moment: datetime | None = None,
    client: redis.Redis | None = None,
    on_snapshot: Callable[[GEXSnapshot], None] | None = None,
) -> PollReport:
    """Poll every ticker and category of `group` that is due, record new snapshots, and say what
    happened to each. A source whose breaker is open is skipped (and counted) or replaced by
    `fallback` when one is given."""
    client = client or get_redis()
    moment = moment or utc_now()
    intervals = runtime_value("gex.nq_intervals" if group is PollGroup.NQ else "gex.intervals")
    interval = poll_interval(moment=moment, intervals=intervals, always_open=source.name == "simulated")
    report = PollReport(group=group.value, session_interval=interval)
    if interval is None:
        return report
    package = runtime_value("gex.package") if source.name != "simulated" else "local"
    tickers = _group_tickers(group, runtime_value("gex.tickers"))
    available = available_tickers(source=source, client=client)
    now = time.time()
    for ticker in tickers:
        if available is not None and ticker not in available:
            continue
        for category in runtime_value("gex.categories"):
            label = f"{ticker}:{package}:{category}"
            if not _due(client, label, interval, now):
                continue
            if not rate_limit_acquire(client=client, ticker=ticker, metric=f"{package}-{category}"):
                report.outcomes[label] = Outcome.RATE_LIMITED
                metrics.GEX_POLLS.labels(source.name, ticker, category, Outcome.RATE_LIMITED).inc()
                continue
            client.hset(keys.GEX_POLL_LAST, label, now)
            try:
                outcome = _poll_one(
                    client=client,
                    source=source,
                    fallback=fallback,
                    ticker=ticker,
                    package=package,
                    category=category,
                    on_snapshot=on_snapshot,
                )
            finally:
                rate_limit_release(client=client, ticker=ticker, metric=f"{package}-{category}")
            report.outcomes[label] = outcome
            metrics.GEX_POLLS.labels(source.name, ticker, category, outcome).inc()
    return report


def _poll_one(
    *,
    client: redis.Redis,
    source: GEXDataSource,
    fallback: GEXDataSource | None,
    ticker: str,
    package: str,
    category: str,
    on_snapshot: Callable[[GEXSnapshot], None] | None,
) -> Outcome:
    try:
        snapshot = source.chain(ticker=ticker, package=package, category=category)
    except GEXSourceUnavailable:
        client.hincrby(keys.GEX_POLL_SKIPPED, f"{ticker}:{category}", 1)
        if fallback is None:
            return Outcome.BREAKER_OPEN
        try:
            snapshot = fallback.chain(ticker=ticker, package="local", category=category)
        except GEXSourceError as error:
            log.warning("gex.fallback_failed", ticker=ticker, category=category, error=str(error))
            return Outcome.BREAKER_OPEN
    except GEXPayloadError as error:
        # The client logged the body; nothing of it is stored.
        log.error("gex.poll_malformed", ticker=ticker, category=category, error=str(error))
        return Outcome.MALFORMED
    except GEXSourceError as error:
        log.warning("gex.poll_failed", ticker=ticker, category=category, error=str(error))
        return Outcome.FAILED
    if snapshot_record(snapshot=snapshot, client=client) is None:
        return Outcome.UNCHANGED
    if on_snapshot is not None:
        on_snapshot(snapshot)
    return Outcome.STORED


def sierra_files_write(snapshot: GEXSnapshot) -> None:
    """Keep the Sierra Chart level and history files of the snapshot's ticker current."""
    if not runtime_value("gex.sierra_files"):
        return
    from apps.gex.sierra import HistoryLayout, sierra_snapshot_write

    try:
        sierra_snapshot_write(
            snapshot=snapshot,
            directory=Path(settings.SIERRA_CHART_DIR),
            layout=HistoryLayout(runtime_value("gex.sierra_history_layout")),
            mode=settings.SIERRA_FILE_MODE,
        )
    except OSError as error:
        log.error("gex.sierra_write_failed", ticker=snapshot.ticker, error=str(error))


@cache
def primary_source() -> GEXDataSource:
    """GEXBot when it is switched on (GEXBOT_ENABLED with a key), else the simulated source."""
    if settings.GEXBOT_ENABLED:
        from apps.gex.config import GEXBotConfig
        from apps.gex.gexbot import GEXBotAPISource

        return GEXBotAPISource(GEXBotConfig.from_env())
    return simulated_source()


@cache
def simulated_source() -> GEXDataSource:
    from apps.gex.local_source import SimulatedGEXSource

    return SimulatedGEXSource()


def fallback_source() -> GEXDataSource | None:
    if runtime_value("gex.fallback") == "simulated" and settings.GEXBOT_ENABLED:
        return simulated_source()
    return None
