"""A flush that cannot write the lake (issue 12, §5) through a real worker: the task is retried
with backoff and then fails (Flower sees FAILURE, not SUCCESS), the web's /metrics counts it,
/health/ready fails naming it, and once the lake is writable again a run flushes everything that
stayed pending and clears both."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import duckdb
import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from apps.core.redis import get_redis
from tests.factories import trade, write

pytestmark = pytest.mark.slow


def _lake_ids(lake: Path) -> list[str]:
    pattern = str(lake / "tick_data" / "**" / "*.parquet")
    rows = duckdb.sql(f"select stream_id from read_parquet('{pattern}', hive_partitioning = true)").fetchall()
    return sorted(str(row[0]) for row in rows)


def _metric(client: Client, name: str) -> float | None:
    text = client.get("/metrics").content.decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                return float(sample.value)
    return None


def test_a_flush_that_cannot_write_the_lake_is_retried_then_fails_and_shows_in_metrics_and_readiness(
    celery_worker: Any, tmp_path: Path, settings: Any, client: Client
) -> None:
    from apps.storage.tasks import FLUSH_RETRIES, flush_streams

    # Tests run as root, whom a chmod does not stop: a regular file where a directory of the lake
    # path must be is refused by the filesystem for any user (ENOTDIR), as EACCES is for others.
    blocker = tmp_path / "volume"
    blocker.write_text("a file where the lake's parent directory should be")
    settings.LAKE_DIR = blocker / "lake"
    write([[trade(0, 6000.0, seq=1), trade(1, 6000.25, seq=2)]])

    task_id = str(uuid.uuid4())
    pubsub = get_redis().pubsub()
    pubsub.subscribe(f"celery-task-meta-{task_id}")
    assert pubsub.get_message(timeout=2) is not None  # the subscription confirmation
    result = flush_streams.apply_async(queue="flush", task_id=task_id)
    with pytest.raises(Exception, match=r"flush of md:trades:\{ESZ26\} failed: NotADirectoryError") as raised:
        result.get(timeout=90)
    assert type(raised.value).__name__ == "LakeFlushError"
    states = []
    while (message := pubsub.get_message(timeout=2)) is not None:
        states.append(json.loads(message["data"])["status"])
    pubsub.close()
    outcomes = [state for state in states if state in {"RETRY", "FAILURE", "SUCCESS"}]
    assert outcomes == ["RETRY"] * FLUSH_RETRIES + ["FAILURE"], states
    assert result.state == "FAILURE"

    response = client.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["lake", "lake_flush"]  # the lake directory cannot be written either
    assert "md:trades:{ESZ26} failed: NotADirectoryError" in body["checks"]["lake_flush"]["detail"]
    assert _metric(client, "pipeline_lake_flush_failing") == 1
    assert _metric(client, "pipeline_lake_flush_failures_total") == FLUSH_RETRIES + 1

    # The lake is writable again: what stayed pending is flushed, and the alarms clear.
    blocker.unlink()
    blocker.mkdir()
    assert flush_streams.apply_async(queue="flush").get(timeout=60)["rows"] == 2
    ids = _lake_ids(settings.LAKE_DIR)
    assert len(ids) == len(set(ids)) == 2, ids
    response = client.get("/health/ready")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["lake_flush"]["detail"].startswith("last flush ok at ")
    assert _metric(client, "pipeline_lake_flush_failing") == 0
    assert _metric(client, "pipeline_lake_flush_failures_total") == FLUSH_RETRIES + 1
