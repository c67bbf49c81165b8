"""DuckDB over the lake: every process opens its own in-memory DuckDB over the Parquet files (no
shared DuckDB database file, which would allow only one writer process), with a view per
registered lake table that has files (apps/storage/registry.py), named after the table:
`tick_data`, `quote_data`, `depth_data`, `gex_snapshots`, ...

One database per lake and process, and a cursor of it per thread: the web process runs each
request's sync code in a thread of its own, and a new database per thread paid for its views
(a glob of the lake and a Parquet schema read) on every request. Cursors of one database share
its views and run queries concurrently.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
from django.conf import settings

from apps.core.clock import to_epoch_ms
from apps.core.exceptions import ApplicationError
from apps.storage.lake_migrations import lake_version_check
from apps.storage.registry import lake_tables

_local = threading.local()
_databases_lock = threading.Lock()
_databases: dict[str, duckdb.DuckDBPyConnection] = {}


class LakeQueryError(ApplicationError):
    pass


def _glob(lake: Path, table: str) -> str:
    return str(lake / table / "**" / "*.parquet")


def lake_connection(lake: Path | None = None, *, views: bool = True) -> duckdb.DuckDBPyConnection:
    """This thread's DuckDB connection, with a view per lake table that has files (unless `views`
    is false: for a query that names its files itself, which need not look for new tables).
    LakeVersionError when the lake is newer than this code (apps/storage/lake_migrations.py)."""
    lake = lake or settings.LAKE_DIR
    lake_version_check(Path(lake))
    cached = getattr(_local, "connections", None)
    if cached is None:
        cached = _local.connections = {}
    database = _database(str(lake))
    found = cached.get(str(lake))
    if found is None or found[0] is not database:
        if found is not None:  # a cursor of a database another thread replaced (_forget_connection)
            found[1].close()
        connection = database.cursor()
        connection.execute("SET TimeZone = 'UTC'")
        cached[str(lake)] = (database, connection)
    else:
        connection = found[1]
    if views:
        _refresh_views(connection, lake)
    return connection


def _database(lake: str) -> duckdb.DuckDBPyConnection:
    database = _databases.get(lake)
    if database is None:
        with _databases_lock:
            database = _databases.get(lake)
            if database is None:
                database = _databases[lake] = duckdb.connect()
    return database


def _refresh_views(connection: duckdb.DuckDBPyConnection, lake: Path) -> None:
    # A view over a glob with no file fails when queried, so tables without files get none;
    # the glob is read at query time, so files flushed later are seen without a refresh.
    for table in lake_tables():
        if not view_exists(connection, table.name) and any((lake / table.name).rglob("*.parquet")):
            # One schema per table (its registration): no union_by_name, which would open every
            # file of every partition to read its schema.
            source = f"read_parquet('{_glob(lake, table.name)}', hive_partitioning = true)"
            with _databases_lock:  # another thread's cursor may be creating the same view
                if not view_exists(connection, table.name):
                    _create_view(connection, table.name, table.view.replace("{source}", source))


def _create_view(connection: duckdb.DuckDBPyConnection, name: str, select: str, attempts: int = 10) -> None:
    """Creating the view opens a file for the schema: compaction may swap its partition between
    the glob and the open. The glob is read again on each attempt."""
    for attempt in range(attempts):
        try:
            connection.execute(f"create view {name} as {select}")
            return
        except duckdb.IOException:
            if attempt == attempts - 1:
                raise
            time.sleep(0.01 * (attempt + 1))


def fetch(lake: Path | None, sql: str, params: list[Any], attempts: int = 10) -> list[Any]:
    """The rows of `sql` on this thread's connection, retried while compaction swaps a partition."""
    for attempt in range(attempts):
        try:
            return lake_connection(lake).execute(sql, params).fetchall()
        except duckdb.IOException as error:
            # Every file of the table was purged since its view was made: nothing to read.
            if "No files found" in str(error):
                return []
            # Compaction swapped a partition between listing its files and reading them. A new
            # database (no cached listing or metadata) reads a consistent state again.
            _forget_connection(lake)
            if attempt == attempts - 1:
                raise
            time.sleep(0.01 * (attempt + 1))
    return []


def duckdb_rows(lake: Path | None, sql: str, params: list[Any]) -> list[Any]:
    """The rows of `sql` that names its Parquet files itself (no view) on this thread's connection.
    A duckdb.IOException (a file compaction swapped away) is the caller's to retry: only it can
    list the files again."""
    return lake_connection(lake, views=False).execute(sql, params).fetchall()


def _forget_connection(lake: Path | None) -> None:
    """A new database for `lake`: this thread's next query opens it; the other threads move to it
    at their next query (their current one finishes on the old)."""
    key = str(lake or settings.LAKE_DIR)
    with _databases_lock:
        _databases[key] = duckdb.connect()
    found = getattr(_local, "connections", {}).pop(key, None)
    if found is not None:
        found[1].close()


def view_exists(connection: duckdb.DuckDBPyConnection, table: str) -> bool:
    row = connection.execute("select count(*) from duckdb_views() where view_name = ?", [table]).fetchone()
    return bool(row and row[0])


def has_view(table: str, lake: Path | None = None) -> bool:
    """Whether the lake has a view of `table` (it has files)."""
    return view_exists(lake_connection(lake), table)


def ns_range(start: datetime, end: datetime) -> tuple[int, int]:
    """[start, end] to the millisecond, in nanoseconds: the same bounds the hot store uses."""
    return to_epoch_ms(start) * 1_000_000, (to_epoch_ms(end) + 1) * 1_000_000 - 1
