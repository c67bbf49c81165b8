"""The run command brings the whole platform up, a beat-scheduled task runs in the worker and
shows in Flower, and Ctrl-C stops every process."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import psutil
import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from apps.core.clock import utc_now
from apps.core.embedded_redis import free_port
from apps.core.services import periodic_tasks_seed
from apps.gex.schedules import POLL as GEX_POLL
from apps.marketdata.selectors import trades_last
from apps.marketdata.symbols import canonical

ROOT = Path(__file__).resolve().parent.parent


def fetch(url: str, *, auth: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError:
        return 0, b""


def wait_for(condition: Any, *, timeout: float, what: str, log: Path) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.5)
    pytest.fail(f"{what} not within {timeout} s; platform output:\n{log.read_text(errors='replace')[-6000:]}")


@pytest.mark.slow
def test_run_command_brings_up_every_process_and_ctrl_c_stops_them(process_env: dict[str, str], tmp_path: Path) -> None:
    # The default heartbeat every 2 s instead of 15 s, as an operator would set it in the admin;
    # the run command's seeding must keep that edit. The GEX poll keeper every 5 s instead of 60 s
    # likewise: beat's first send of a row is one period after it changed.
    periodic_tasks_seed()
    heartbeat = PeriodicTask.objects.get(task="apps.core.tasks.beat_heartbeat")
    heartbeat.interval, _ = IntervalSchedule.objects.get_or_create(every=2, period=IntervalSchedule.SECONDS)
    heartbeat.save()
    keeper = PeriodicTask.objects.get(name=GEX_POLL.name)
    keeper.interval, _ = IntervalSchedule.objects.get_or_create(every=5, period=IntervalSchedule.SECONDS)
    keeper.save()

    web_port, flower_port = free_port(), free_port()
    env = {
        **process_env,
        "DJANGO_SETTINGS_MODULE": "pipeline_project.settings.local",
        "PIPELINE_ENV_FILE": os.devnull,
        "DJANGO_SUPERUSER_PASSWORD": "e2e-password-1",
        "FLOWER_BASIC_AUTH": "ops:flower-pass",
        "CELERY_WORKER_CONCURRENCY": "1",
    }
    log = tmp_path / "platform.log"
    started = time.monotonic()
    with log.open("wb") as output:
        launcher = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "run_platform",
                "--web-port",
                str(web_port),
                "--flower-port",
                str(flower_port),
            ],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{web_port}"
        wait_for(lambda: fetch(f"{base}/health/ready")[0] == 200, timeout=60, what="/health/ready", log=log)
        wait_for(lambda: fetch(f"{base}/admin/login/")[0] == 200, timeout=60, what="/admin/", log=log)
        assert time.monotonic() - started < 60

        flower_status = wait_for(
            lambda: fetch(f"http://127.0.0.1:{flower_port}/api/tasks")[0], timeout=60, what="Flower", log=log
        )
        assert flower_status == 401, "Flower must require basic auth"

        def heartbeat_in_flower() -> list[dict[str, Any]]:
            status, body = fetch(f"http://127.0.0.1:{flower_port}/api/tasks", auth="ops:flower-pass")
            if status != 200:
                return []
            tasks = json.loads(body).values()
            return [
                task
                for task in tasks
                if task.get("name") == "apps.core.tasks.beat_heartbeat" and task.get("state") == "SUCCESS"
            ]

        tasks = wait_for(
            heartbeat_in_flower, timeout=90, what="a beat-scheduled heartbeat in Flower's /api/tasks", log=log
        )
        assert tasks[0]["worker"].startswith("worker@")

        output_text = log.read_text(errors="replace")
        assert f"http://127.0.0.1:{web_port}/admin/" in output_text
        assert f"http://127.0.0.1:{flower_port}/" in output_text
        heartbeat.refresh_from_db()
        assert heartbeat.interval.every == 2  # type: ignore[union-attr]
        keeper.refresh_from_db()
        assert keeper.interval.every == 5  # type: ignore[union-attr]

        lead = canonical("ES", at=utc_now())
        wait_for(
            lambda: trades_last(symbol=lead, count=10), timeout=30, what=f"simulated {lead} trades in Redis", log=log
        )

        # GEX: beat polls the simulated source, which follows the simulator's ES price.
        from apps.gex.selectors import snapshot_latest

        snapshot = wait_for(
            lambda: snapshot_latest(ticker="ES_SPX", category="gex_zero"),
            timeout=60,
            what="a simulated ES_SPX GEX snapshot",
            log=log,
        )
        assert snapshot.source == "simulated"
        assert snapshot.strikes
        assert snapshot.zero_gamma is not None
        last_price = trades_last(symbol=lead, count=1)[0].trade.price
        assert abs(snapshot.spot - last_price) < last_price * 0.01, "the profile follows the simulated price"

        children = psutil.Process(launcher.pid).children(recursive=True)
        assert len(children) >= 5
    finally:
        launcher.send_signal(signal.SIGINT)
        try:
            launcher.wait(timeout=45)
        except subprocess.TimeoutExpired:
            launcher.kill()
            pytest.fail(f"Ctrl-C did not stop the platform:\n{log.read_text(errors='replace')[-4000:]}")
    _gone, alive = psutil.wait_procs(children, timeout=15)
    assert not alive, f"still running after Ctrl-C: {[process.cmdline() for process in alive]}"
