"""Metrics from every process of a running platform: the web (django-prometheus, the WebSocket
gateway and the scrape-time collectors: hot store, lake, Celery, feeds, health), a Celery worker
(its own /metrics, fed by its pool processes) with beat, and the simulator streamer (its own
port). Once simulated data has gone through every stage (hot store, a WebSocket client, a flush
into the lake, beat's heartbeats, a GEX poll) each is scraped and the series hold sane values."""

from __future__ import annotations

import asyncio
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from prometheus_client.parser import text_string_to_metric_families

from apps.core.clock import utc_now
from apps.core.embedded_redis import free_port
from apps.core.queues import Queue
from apps.core.services import periodic_tasks_seed
from apps.gex.schedules import POLL as GEX_POLL
from apps.marketdata.symbols import canonical
from apps.monitoring import metrics
from tests.apps.realtime.support import open_ws, subscribe
from tests.conftest import ProcessGroup, celery_command

pytestmark = pytest.mark.slow

Samples = list[tuple[str, dict[str, str], float]]


def scrape(url: str) -> Samples:
    with urllib.request.urlopen(url, timeout=30) as response:
        text = response.read().decode()
    return [
        (sample.name, dict(sample.labels), float(sample.value))
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def values(samples: Samples, name: str, **labels: str) -> list[float]:
    return [
        value
        for sample, found, value in samples
        if sample == name and all(found.get(key) == wanted for key, wanted in labels.items())
    ]


def wait_for(condition: Callable[[], Any], *, timeout: float, what: str, processes: ProcessGroup) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = condition()
        except OSError:
            result = None
        if result:
            return result
        time.sleep(0.5)
    logs = {name: processes.log(name)[-3000:] for name, _ in processes.processes}
    pytest.fail(f"{what} not within {timeout} s; logs: {logs}")


def _schedule_every(seconds: int, **lookup: str) -> None:
    periodic = PeriodicTask.objects.get(**lookup)
    periodic.interval, _ = IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)
    periodic.save()


async def _watch_trades(url: str, cookie: str, symbol: str, seconds: float, *, enough: int = 3) -> int:
    """Trade frames a subscribed client receives: `enough` of them, or fewer when `seconds` pass."""
    ws = await open_ws(url, cookie=cookie)
    frames = 0
    try:
        await subscribe(ws, [symbol])
        deadline = time.monotonic() + seconds
        while frames < enough and time.monotonic() < deadline:
            try:
                await asyncio.wait_for(ws.recv(), timeout=1)
                frames += 1
            except TimeoutError:
                continue
    finally:
        await ws.close()
    return frames


def _heartbeats_and_a_flush_counted(page: Samples) -> bool:
    """What the web's page can only show after a while: two beat heartbeats and a finished flush."""
    heartbeats = values(page, "pipeline_celery_tasks_total", task="apps.core.tasks.beat_heartbeat", state="success")
    flushes = values(page, "pipeline_celery_task_runtime_seconds_count", task="apps.storage.tasks.flush_streams")
    return bool(heartbeats and heartbeats[0] >= 2 and flushes and flushes[0] >= 1)


def _gex_polls_stored(samples: Samples) -> bool:
    return any(
        name == "pipeline_gex_polls_total" and labels["outcome"] == "stored" and labels["source"] == "simulated"
        for name, labels, value in samples
        if value > 0
    )


def test_every_process_serves_its_series_with_sane_values_once_simulated_data_went_through_every_stage(
    processes: ProcessGroup, process_env: dict[str, str], tmp_path: Path
) -> None:
    periodic_tasks_seed()
    _schedule_every(2, task="apps.core.tasks.beat_heartbeat")
    _schedule_every(10, task="apps.storage.tasks.flush_streams")
    _schedule_every(5, name=GEX_POLL.name)  # its first send is one period after the row changed
    web_port, worker_port, streamer_port = free_port(), free_port(), free_port()
    multiproc = tmp_path / "worker-metrics"
    multiproc.mkdir()
    env = {**process_env, "WORKER_HEARTBEAT_SECONDS": "1"}
    python = sys.executable
    processes.start(
        "web",
        [python, "-m", "uvicorn", "pipeline_project.asgi:application", "--host", "127.0.0.1", "--port", str(web_port)],
        env,
    )
    processes.start(
        "worker",
        celery_command("worker", "-Q", ",".join(Queue.all_names()), "-c", "1", "--hostname", "scrape@%h"),
        {**env, "WORKER_METRICS_PORT": str(worker_port), "PROMETHEUS_MULTIPROC_DIR": str(multiproc)},
    )
    processes.start("beat", celery_command("beat", "-s", str(tmp_path / "beat-schedule")), env)
    processes.start(
        "simulator",
        [python, "manage.py", "run_streamer", "simulator", "--always-open", "--metrics-port", str(streamer_port)],
        env,
    )
    web = f"http://127.0.0.1:{web_port}"
    wait_for(
        lambda: urllib.request.urlopen(f"{web}/health/live", timeout=5).status == 200,
        timeout=90,
        what="the web",
        processes=processes,
    )

    user = get_user_model().objects.create_user(username="watcher", password="not-a-real-password")
    client = Client()
    client.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    symbol = canonical("ES", at=utc_now())
    wait_for(
        lambda: values(scrape(f"{web}/metrics"), metrics.HOT_STREAM_LENGTH.name, table="tick_data", symbol=symbol),
        timeout=90,
        what="simulated trades in the hot store",
        processes=processes,
    )
    frames = asyncio.run(_watch_trades(f"ws://127.0.0.1:{web_port}/ws/trades", cookie, symbol, 15))
    assert frames > 0

    streamer = scrape(f"http://127.0.0.1:{streamer_port}/metrics")
    assert values(streamer, "pipeline_streamer_connected", feed="simulator") == [1.0]
    assert values(streamer, "pipeline_streamer_messages_total", feed="simulator")[0] > 0
    assert values(streamer, "pipeline_streamer_events_written_total", feed="simulator", kind="trade")[0] > 0
    assert values(streamer, "pipeline_streamer_latency_seconds_count", feed="simulator")[0] > 0
    assert values(streamer, "pipeline_streamer_store_up", feed="simulator") == [1.0]

    wait_for(
        lambda: values(scrape(f"{web}/metrics"), "pipeline_lake_rows", table="tick_data"),
        timeout=60,
        what="a flush into the lake",
        processes=processes,
    )
    # Waited for rather than slept on: beat sends a heartbeat every 2 s and a flush every 10 s,
    # and the GEX poll keeper (the worker polls the simulated source) every 5 s.
    wait_for(
        lambda: _heartbeats_and_a_flush_counted(scrape(f"{web}/metrics")),
        timeout=90,
        what="two heartbeats and a flush counted",
        processes=processes,
    )
    wait_for(
        lambda: values(scrape(f"{web}/metrics"), "pipeline_gex_snapshot_age_seconds", ticker="ES_SPX"),
        timeout=90,
        what="a stored ES_SPX GEX snapshot",
        processes=processes,
    )
    wait_for(
        lambda: _gex_polls_stored(scrape(f"http://127.0.0.1:{worker_port}/metrics")),
        timeout=90,
        what="a stored GEX poll counted by the worker",
        processes=processes,
    )
    page = scrape(f"{web}/metrics")
    assert values(page, "django_http_requests_total_by_method_total", method="GET")[0] > 0
    assert values(page, "pipeline_hot_stream_length", table="tick_data", symbol=symbol)[0] > 0
    assert values(page, "pipeline_hot_stream_memory_bytes", table="tick_data", symbol=symbol)[0] > 0
    lag = values(page, "pipeline_hot_stream_oldest_unacked_age_seconds", table="tick_data", symbol=symbol, group="lake")
    assert len(lag) == 1
    assert 0 <= lag[0] < 120  # the flush runs every 10 s
    assert sum(values(page, "pipeline_lake_rows", table="tick_data")) > 0
    assert sum(values(page, "pipeline_lake_bytes", table="tick_data")) > 0
    assert values(page, "pipeline_lake_flush_failing") == [0.0]
    assert values(page, "pipeline_lake_flush_last_success_timestamp_seconds")[0] > 0
    assert 0 < values(page, "pipeline_lake_disk_free_ratio")[0] <= 1
    heartbeats = values(page, "pipeline_celery_tasks_total", task="apps.core.tasks.beat_heartbeat", state="success")
    assert heartbeats
    assert heartbeats[0] >= 2
    assert values(page, "pipeline_celery_task_runtime_seconds_count", task="apps.storage.tasks.flush_streams")[0] >= 1
    assert values(page, "pipeline_celery_workers_up", queue="flush") == [1.0]
    assert len(values(page, "pipeline_celery_queue_depth")) == len(Queue.all_names())
    assert 0 <= values(page, "pipeline_beat_heartbeat_age_seconds")[0] < 30
    assert 0 <= values(page, "pipeline_streamer_last_message_age_seconds", feed="simulator")[0] < 30
    assert values(page, "pipeline_streamer_in_session", feed="simulator") == [1.0]  # --always-open
    assert values(page, "pipeline_gex_breaker_open", breaker="gexbot") == [0.0]
    assert 0 <= values(page, "pipeline_gex_snapshot_age_seconds", ticker="ES_SPX")[0] < 60
    assert values(page, "pipeline_health_check_status", check="redis") == [2.0]
    assert values(page, "pipeline_health_check_status", check="celery:flush") == [2.0]
    assert values(page, "pipeline_ws_events_sent_total", topic="trades")[0] > 0
    assert values(page, "pipeline_ws_exchange_to_send_seconds_count", topic="trades")[0] > 0
    assert values(page, "pipeline_ws_send_latency_seconds_count", topic="trades")[0] > 0

    worker = scrape(f"http://127.0.0.1:{worker_port}/metrics")
    stored = [
        value
        for name, labels, value in worker
        if name == "pipeline_gex_polls_total" and labels["outcome"] == "stored" and labels["source"] == "simulated"
    ]
    assert sum(stored) > 0
