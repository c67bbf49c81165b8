"""The flush's outcome as Prometheus sees it: the workers that flush expose no metrics, so the
web's /metrics reads the record each run leaves in Redis (`lake:flush:health`) at scrape time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import redis
from prometheus_client import REGISTRY
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from apps.core import keys
from apps.core.codec import text as _text
from apps.core.redis import get_redis


class FlushHealthCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        failing = GaugeMetricFamily(
            "pipeline_lake_flush_failing", "1 while the last flush run could not write the lake"
        )
        failures = CounterMetricFamily("pipeline_lake_flush_failures", "Flush runs that could not write the lake")
        last = GaugeMetricFamily(
            "pipeline_lake_flush_last_failure_timestamp_seconds", "When a flush run last failed (Unix time)"
        )
        try:
            record = {_text(k): _text(v) for k, v in get_redis().hgetall(keys.LAKE_FLUSH_HEALTH).items()}
        except redis.RedisError:
            record = None  # Redis is down: /health/ready says so; no number here beats a wrong one
        if record is not None:
            failing.add_metric([], float(record.get("failing") == "1"))
            failures.add_metric([], float(record.get("failures") or 0))
            if record.get("failed_at"):
                last.add_metric([], datetime.fromisoformat(record["failed_at"]).timestamp())
        yield failing
        yield failures
        yield last


_registered: list[FlushHealthCollector] = []


def flush_health_collector_register() -> None:
    """Add the collector to the default registry once (the web's /metrics serves it)."""
    if not _registered:
        _registered.append(FlushHealthCollector())
        REGISTRY.register(_registered[0])
