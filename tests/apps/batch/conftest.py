from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from apps.storage.registry import lake_table
from tests.conftest import ProcessGroup, celery_command


@pytest.fixture
def lake(tmp_path: Path, settings: Any) -> Path:
    settings.LAKE_DIR = tmp_path / "lake"
    return tmp_path / "lake"


def lake_rows(lake: Path, table: str, columns: str = "*", order: str = "ts_event, stream_id") -> list[tuple[Any, ...]]:
    """Every row of a lake table, with its partition's symbol and date (a fresh DuckDB each time),
    as the table's view shows it (an imported trade's stream_id whole: apps/storage/tables.py)."""
    files = list((lake / table).rglob("*.parquet")) if (lake / table).exists() else []
    if not files:
        return []
    files_sql = f"read_parquet('{lake / table}/**/*.parquet', hive_partitioning = true)"
    source = f"({lake_table(table).view.replace('{source}', files_sql)})"
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        return connection.execute(f"select {columns} from {source} order by {order}").fetchall()


def lake_files(lake: Path) -> list[str]:
    return sorted(
        str(path.relative_to(lake)) for path in lake.rglob("*") if path.is_file() and ".locks" not in path.parts
    )


def start_worker(
    processes: ProcessGroup, env: dict[str, str], name: str, *, queue: str = "batch"
) -> subprocess.Popen[bytes]:
    """A real worker on one queue, one process (solo pool): SIGKILL stops it mid-task."""
    from pipeline_project.celery import app

    process = processes.start(
        name, celery_command("worker", "-Q", queue, "-P", "solo", "--hostname", f"{name}-{os.getpid()}@%h"), env
    )
    deadline = time.monotonic() + 60
    while not any(name in host for reply in app.control.ping(timeout=0.5) for host in reply):
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"worker {name} did not start:\n{processes.log(name)}")
    return process


def wait_for(predicate: Callable[[], bool], *, what: str, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.01)
