"""Series computed at scrape time by the web process: what Celery workers leave in Redis, the hot
store's streams, the lake directory, and the health checks. Workers serve no /metrics, so their
work reaches Prometheus here. Every collector reads with bounded effort (SCAN, one round trip per
stream, Parquet footers cached by file) and yields nothing for a source that does not answer,
rather than a wrong number: the health checks name that failure."""

from __future__ import annotations

import os
import shutil
import threading
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import redis
import structlog
from django.conf import settings
from prometheus_client import REGISTRY
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from apps.core import keys
from apps.core.clock import utc_now
from apps.core.codec import text
from apps.core.queue_depths import queue_depths
from apps.core.queues import Queue
from apps.core.redis import get_redis
from apps.core.runtime_config import runtime_value
from apps.core.sessions import Session, session_at
from apps.marketdata.streamer_names import streamer_names
from apps.monitoring import metrics, store
from apps.monitoring.checks import GEXBOT_BREAKER, breaker_state_stored, market_open
from apps.monitoring.health import checks_run
from apps.monitoring.registry import health_checks
from apps.storage.registry import lake_tables

log = structlog.get_logger(__name__)


class ScrapedCollector(Collector, ABC):
    """A collector of catalogue series; `describe` names them without reading anything (the
    registry would otherwise run `collect` when it is registered)."""

    series: tuple[metrics.Scraped, ...] = ()

    def describe(self) -> Iterator[Metric]:
        return iter([series.described() for series in self.series])

    def collect(self) -> Iterator[Metric]:
        # A collector that raised would fail the whole scrape: its series go empty instead.
        try:
            families = list(self.gather())
        except Exception as error:  # noqa: BLE001 - whatever a source raises
            log.error(
                "monitoring.collector_failed", collector=type(self).__name__, error=f"{type(error).__name__}: {error}"
            )
            families = [series.described() for series in self.series]
        return iter(families)

    @abstractmethod
    def gather(self) -> Iterator[Metric]:
        """The series' samples, read now (each subclass reads its own source)."""


def _id_ms(entry_id: Any) -> int:
    return int(text(entry_id).split("-", 1)[0])


def oldest_unacked_ms(*, client: redis.Redis, key: str, group: dict[Any, Any]) -> int | None:
    """The id time (ms) of the oldest entry `group` has not acknowledged: its oldest pending
    entry, else the first entry it has not read yet; None when it is caught up."""
    name = text(group["name"])
    if int(group.get("pending") or 0):
        summary: Any = client.xpending(key, name)
        if summary and summary.get("min"):
            return _id_ms(summary["min"])
    after = text(group.get("last-delivered-id") or "0-0")
    entries: Any = client.xrange(key, min=f"({after}", max="+", count=1)
    return _id_ms(entries[0][0]) if entries else None


class HotStoreCollector(ScrapedCollector):
    series = (
        metrics.HOT_STREAM_LENGTH,
        metrics.HOT_STREAM_LAST_ENTRY_AGE,
        metrics.HOT_STREAM_BYTES,
        metrics.HOT_STREAM_OLDEST_UNACKED_AGE,
        metrics.DEAD_LETTERS,
        metrics.REDIS_MEMORY_USED,
        metrics.REDIS_MEMORY_MAX,
    )

    def gather(self) -> Iterator[Metric]:
        length, last = metrics.HOT_STREAM_LENGTH.family(), metrics.HOT_STREAM_LAST_ENTRY_AGE.family()
        size = metrics.HOT_STREAM_BYTES.family()
        lag = metrics.HOT_STREAM_OLDEST_UNACKED_AGE.family()
        dead = metrics.DEAD_LETTERS.family()
        used, cap = metrics.REDIS_MEMORY_USED.family(), metrics.REDIS_MEMORY_MAX.family()
        try:
            client = get_redis()
            now_ms = utc_now().timestamp() * 1000
            for table in lake_tables():
                for raw_key in client.scan_iter(match=table.stream_glob, count=1000, _type="stream"):
                    key = text(raw_key)
                    symbol = table.symbol_of(key)
                    if symbol is None:
                        continue
                    length.add_metric([table.name, symbol], float(client.xlen(key)))
                    newest: Any = client.xrevrange(key, count=1)
                    if newest:
                        last.add_metric([table.name, symbol], max(0.0, (now_ms - _id_ms(newest[0][0])) / 1000))
                    size.add_metric([table.name, symbol], float(client.memory_usage(key) or 0))
                    groups: Any = client.xinfo_groups(key)
                    for group in groups:
                        oldest = oldest_unacked_ms(client=client, key=key, group=group)
                        age = max(0.0, (now_ms - oldest) / 1000) if oldest is not None else 0.0
                        lag.add_metric([table.name, symbol, text(group["name"])], age)
            for raw_key in client.scan_iter(match=keys.DEAD_LETTER_PATTERN, count=1000, _type="stream"):
                dead.add_metric([text(raw_key).split(":", 1)[1]], float(client.xlen(raw_key)))
            memory: Any = client.info("memory")
            used.add_metric([], float(memory.get("used_memory", 0)))
            cap.add_metric([], float(memory.get("maxmemory", 0)))
        except redis.RedisError as error:
            log.warning("monitoring.hot_store_unread", error=f"{type(error).__name__}: {error}")
        yield from (length, last, size, lag, dead, used, cap)


class FlushCollector(ScrapedCollector):
    """The flush's outcome, from the record each run leaves in `lake:flush:health`."""

    series = (
        metrics.LAKE_FLUSH_FAILING,
        metrics.LAKE_FLUSH_FAILURES,
        metrics.LAKE_FLUSH_LAST_FAILURE,
        metrics.LAKE_FLUSH_LAST_SUCCESS,
    )

    def gather(self) -> Iterator[Metric]:
        failing = metrics.LAKE_FLUSH_FAILING.family()
        failures = metrics.LAKE_FLUSH_FAILURES.family()
        last_failure = metrics.LAKE_FLUSH_LAST_FAILURE.family()
        last_success = metrics.LAKE_FLUSH_LAST_SUCCESS.family()
        try:
            record = {text(k): text(v) for k, v in get_redis().hgetall(keys.LAKE_FLUSH_HEALTH).items()}
        except redis.RedisError:
            record = None
        if record is not None:
            failing.add_metric([], float(record.get("failing") == "1"))
            failures.add_metric([], float(record.get("failures") or 0))
            if record.get("failed_at"):
                last_failure.add_metric([], datetime.fromisoformat(record["failed_at"]).timestamp())
            if record.get("ok_at"):
                last_success.add_metric([], datetime.fromisoformat(record["ok_at"]).timestamp())
        yield from (failing, failures, last_failure, last_success)


class LakeCollector(ScrapedCollector):
    """Bytes, files and rows per table and UTC day; rows from each file's Parquet footer, cached
    by path, size and modification time (compaction replaces files, the cache follows)."""

    series = (metrics.LAKE_BYTES, metrics.LAKE_FILES, metrics.LAKE_ROWS, metrics.LAKE_DISK_FREE_RATIO)

    def __init__(self) -> None:
        super().__init__()
        self._rows: dict[tuple[str, int, int], int] = {}
        self._lock = threading.Lock()

    def _file_rows(self, path: Path, stat: os.stat_result) -> int:
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        with self._lock:
            if key in self._rows:
                return self._rows[key]
        rows = pq.read_metadata(path).num_rows
        with self._lock:
            self._rows[key] = rows
        return rows

    def gather(self) -> Iterator[Metric]:
        size, files, rows = metrics.LAKE_BYTES.family(), metrics.LAKE_FILES.family(), metrics.LAKE_ROWS.family()
        free = metrics.LAKE_DISK_FREE_RATIO.family()
        lake = Path(settings.LAKE_DIR)
        seen: set[tuple[str, int, int]] = set()
        for table in lake_tables():
            totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
            for path in (lake / table.name).glob("date=*/symbol=*/*.parquet"):
                try:
                    stat = path.stat()
                    count = self._file_rows(path, stat)
                except OSError:
                    continue  # replaced by compaction between the listing and the read
                except Exception as error:  # noqa: BLE001 - a bad file must not hide every other series
                    log.warning("monitoring.lake_file_unread", path=str(path), error=f"{type(error).__name__}: {error}")
                    continue
                seen.add((str(path), stat.st_size, stat.st_mtime_ns))
                day = path.parent.parent.name.removeprefix("date=")
                totals[day][0] += stat.st_size
                totals[day][1] += 1
                totals[day][2] += count
            for day, (day_bytes, day_files, day_rows) in sorted(totals.items()):
                size.add_metric([table.name, day], float(day_bytes))
                files.add_metric([table.name, day], float(day_files))
                rows.add_metric([table.name, day], float(day_rows))
        with self._lock:
            self._rows = {key: value for key, value in self._rows.items() if key in seen}
        try:
            usage = shutil.disk_usage(lake)
            free.add_metric([], usage.free / usage.total if usage.total else 0.0)
        except OSError:
            pass
        yield from (size, files, rows, free)


class CeleryCollector(ScrapedCollector):
    """Tasks by name and state and their run times (written by every worker's task signals),
    queue depths, live workers per queue, and the beat heartbeat's age."""

    series = (
        metrics.CELERY_TASKS,
        metrics.CELERY_TASK_RUNTIME,
        metrics.CELERY_QUEUE_DEPTH,
        metrics.CELERY_WORKERS_UP,
        metrics.BEAT_HEARTBEAT_AGE,
    )

    def gather(self) -> Iterator[Metric]:
        tasks = metrics.CELERY_TASKS.family()
        runtime = metrics.CELERY_TASK_RUNTIME.histogram()
        depth, workers = metrics.CELERY_QUEUE_DEPTH.family(), metrics.CELERY_WORKERS_UP.family()
        beat = metrics.BEAT_HEARTBEAT_AGE.family()
        try:
            client = get_redis()
            for (task, state), count in sorted(store.task_counts(client=client).items()):
                tasks.add_metric([task, state], float(count))
            runtimes = store.task_runtimes(client=client)
            for task, count in sorted(runtimes.counts.items()):
                cumulative, buckets = 0, []
                for bound in [*map(str, metrics.TASK_BUCKETS), "+Inf"]:
                    cumulative += runtimes.buckets.get(task, {}).get(bound, 0)
                    buckets.append((bound, float(cumulative)))
                buckets[-1] = ("+Inf", float(count))
                runtime.add_metric([task], buckets, runtimes.sums.get(task, 0.0))
            for queue, waiting in queue_depths(client=get_redis(settings.CELERY_BROKER_URL)):
                depth.add_metric([queue], float(waiting))
            live = store.workers_by_queue(client=client)
            for queue in Queue.all_names():
                workers.add_metric([queue], float(len(live.get(queue, []))))
            raw = client.get(keys.BEAT_LAST_RUN)
            if raw:
                beat.add_metric([], (utc_now() - datetime.fromisoformat(text(raw))).total_seconds())
        except redis.RedisError as error:
            log.warning("monitoring.celery_unread", error=f"{type(error).__name__}: {error}")
        except Exception as error:  # noqa: BLE001 - a broker that is not Redis has no readable depths
            log.warning("monitoring.celery_unread", error=f"{type(error).__name__}: {error}")
        yield from (tasks, runtime, depth, workers, beat)


class FeedCollector(ScrapedCollector):
    """Each streamer's last-message age (from its status hash) and whether its market is open,
    so an alert can tell a stale feed from a closed market; GEX breakers and snapshot ages."""

    series = (
        metrics.STREAMER_LAST_MESSAGE_AGE,
        metrics.MARKET_REGULAR_HOURS,
        metrics.STREAMER_IN_SESSION,
        metrics.GEX_BREAKER_OPEN,
        metrics.GEX_SNAPSHOT_AGE,
    )

    def gather(self) -> Iterator[Metric]:
        age, in_session = metrics.STREAMER_LAST_MESSAGE_AGE.family(), metrics.STREAMER_IN_SESSION.family()
        regular = metrics.MARKET_REGULAR_HOURS.family()
        breaker, snapshot = metrics.GEX_BREAKER_OPEN.family(), metrics.GEX_SNAPSHOT_AGE.family()
        now = utc_now()
        regular.add_metric([], float(session_at(now) == Session.REGULAR))
        try:
            client = get_redis()
            for feed in streamer_names():
                in_session.add_metric([feed], float(market_open(feed=feed, moment=now)))
                last = client.hget(keys.streamer(feed), "last_message_ms")
                if last and text(last).isdigit():
                    age.add_metric([feed], max(0.0, now.timestamp() - int(text(last)) / 1000))
            open_ = breaker_state_stored(client=client, breaker=GEXBOT_BREAKER) == "open"
            breaker.add_metric([GEXBOT_BREAKER], float(open_))
            tickers = sorted(set(runtime_value("gex.tickers")) | set(runtime_value("gex.nq_tickers")))
            for ticker in tickers:
                newest: Any = client.xrevrange(keys.gex_snapshots(ticker), count=1)
                if newest:
                    snapshot.add_metric([ticker], max(0.0, now.timestamp() - _id_ms(newest[0][0]) / 1000))
        except redis.RedisError as error:
            log.warning("monitoring.feeds_unread", error=f"{type(error).__name__}: {error}")
        yield from (age, in_session, regular, breaker, snapshot)


class HealthCollector(ScrapedCollector):
    """The health checks' results, the same as /health/detailed, run at scrape time."""

    series = (metrics.HEALTH_CHECK_STATUS, metrics.HEALTH_CHECK_SECONDS)

    def gather(self) -> Iterator[Metric]:
        status, seconds = metrics.HEALTH_CHECK_STATUS.family(), metrics.HEALTH_CHECK_SECONDS.family()
        for result in checks_run(health_checks()):
            status.add_metric([result.name], float(result.status.level))
            seconds.add_metric([result.name], result.seconds)
        yield from (status, seconds)


_registered: list[Collector] = []
_register_lock = threading.Lock()


def collectors() -> list[ScrapedCollector]:
    """A fresh instance of every collector of this module."""
    return [
        FlushCollector(),
        HotStoreCollector(),
        LakeCollector(),
        CeleryCollector(),
        FeedCollector(),
        HealthCollector(),
    ]


def collectors_register() -> None:
    """Add the collectors to this process's default registry, once (the web's /metrics serves them)."""
    with _register_lock:
        if _registered:
            return
        for collector in collectors():
            REGISTRY.register(collector)
            _registered.append(collector)
