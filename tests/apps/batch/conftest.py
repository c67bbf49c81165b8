from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest


@pytest.fixture
def lake(tmp_path: Path, settings: Any) -> Path:
    settings.LAKE_DIR = tmp_path / "lake"
    return tmp_path / "lake"


def lake_rows(lake: Path, table: str, columns: str = "*", order: str = "ts_event, stream_id") -> list[tuple[Any, ...]]:
    """Every row of a lake table, with its partition's symbol and date (a fresh DuckDB each time)."""
    files = list((lake / table).rglob("*.parquet")) if (lake / table).exists() else []
    if not files:
        return []
    source = f"read_parquet('{lake / table}/**/*.parquet', hive_partitioning = true)"
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        return connection.execute(f"select {columns} from {source} order by {order}").fetchall()


def lake_files(lake: Path) -> list[str]:
    return sorted(
        str(path.relative_to(lake)) for path in lake.rglob("*") if path.is_file() and ".locks" not in path.parts
    )
